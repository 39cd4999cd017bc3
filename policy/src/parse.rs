//! Reading a profile from TOML text.
//!
//! The document is walked by hand rather than through serde so that every
//! problem gets the exact position of the key or value at fault, unknown
//! keys are errors, and one pass reports every problem of a file, not only
//! the first. A file with any error yields no profile at all: a rule that
//! does not parse is never silently dropped or widened.

use std::{
    collections::HashMap,
    ops::Range,
    path::{Path, PathBuf},
};

use toml_edit::{Document, Item, TableLike, Value};

use crate::{
    access::{
        Actions, Capability, Family, Vocabulary, ACTIONS, CAPABILITIES, FAMILIES, FS_ACCESS,
        NET_OPERATIONS, SIGNALS,
    },
    diagnostics::{Diagnostic, Diagnostics, LineIndex, Location, Problem, Severity},
    expiry::Expiry,
    glob::{check_plain_path, PathPattern},
    model::{
        CapName, Caps, ContextKind, FamilyName, Fs, Mode, Net, Proc, Profile, Ptrace, Rule,
        RuleKind, Signal, Target,
    },
};

type Span = Option<Range<usize>>;

/// Keys of the top-level table.
pub const TOP_KEYS: &[&str] = &[
    "profile",
    "name",
    "description",
    "desktop_id",
    "icon",
    "mode",
    "taint_on_exec",
    "io_uring",
    "mount",
    "fs",
    "net",
    "signal",
    "proc",
    "ptrace",
    "capability",
];

/// Keys every rule table may have.
pub const COMMON_KEYS: &[&str] = &["id", "action", "func", "kfunc", "enabled", "expires", "uid"];

/// Keys of one kind of rule table, before [`COMMON_KEYS`].
#[must_use]
pub const fn kind_keys(kind: RuleKind) -> &'static [&'static str] {
    match kind {
        RuleKind::Fs => &["file", "access"],
        RuleKind::Net => &["family", "operation"],
        RuleKind::Signal => &["signal", "target"],
        RuleKind::Proc => &["target", "access"],
        RuleKind::Ptrace => &["target"],
        RuleKind::Capability => &["capability"],
    }
}

/// Parses one profile. `origin` is the file name used in diagnostics and
/// stored as [`Profile::source`]. On any error, every diagnostic of the
/// file is returned (warnings included) and no profile.
pub fn parse_str(text: &str, origin: &Path) -> Result<Profile, Diagnostics> {
    let parsed = parse_document(text, origin);
    match parsed.profile {
        Some(profile) => Ok(profile),
        None => Err(Diagnostics(parsed.diagnostics)),
    }
}

/// Everything one parse learns, for the loader and the linter.
pub(crate) struct Parsed {
    /// The profile, if the file has no error.
    pub profile: Option<Profile>,
    /// The executable, if that much was readable (for reporting a rejected
    /// profile, and duplicate detection).
    pub exe: Option<(PathBuf, Location)>,
    /// Errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// Every `func`/`kfunc` value and where it was written.
    pub contexts: Vec<(ContextKind, String, Location)>,
}

pub(crate) fn parse_document(text: &str, origin: &Path) -> Parsed {
    let mut d = Decoder {
        lines: LineIndex::new(text),
        origin,
        diagnostics: Vec::new(),
        contexts: Vec::new(),
        ids: HashMap::new(),
    };
    let doc = match Document::parse(text) {
        Ok(doc) => doc,
        Err(err) => {
            let message = err.message().trim().to_owned();
            d.error(err.span(), Problem::Syntax { message });
            return d.finish(None, None);
        }
    };
    let root = doc.as_table();
    let mut profile = Profile::new("");
    let mut exe = None;
    let mut taint_on_exec_span = None;
    for (key, item) in root.iter() {
        let key_span = root.key(key).and_then(toml_edit::Key::span);
        match key {
            "profile" => {
                if let Some((path, span)) = d.string(key, item) {
                    match check_plain_path(&path) {
                        Ok(()) => exe = Some((PathBuf::from(path), d.location(span))),
                        Err(reason) => d.error(
                            span,
                            Problem::BadPath {
                                key: key.to_owned(),
                                value: path,
                                reason,
                            },
                        ),
                    }
                }
            }
            "name" => profile.name = d.string(key, item).map(|(s, _)| s),
            "description" => profile.description = d.string(key, item).map(|(s, _)| s),
            "desktop_id" => profile.desktop_id = d.string(key, item).map(|(s, _)| s),
            "icon" => profile.icon = d.string(key, item).map(|(s, _)| s),
            "mode" => {
                if let Some((word, span)) = d.string(key, item) {
                    match Mode::from_word(&word) {
                        Some(mode) => profile.mode = mode,
                        None => d.error(
                            span,
                            Problem::UnknownWord {
                                key: key.to_owned(),
                                what: "mode",
                                word,
                                expected: vec!["enforce", "complain", "disabled"],
                            },
                        ),
                    }
                }
            }
            "taint_on_exec" => {
                profile.taint_on_exec = d.boolean(key, item);
                taint_on_exec_span = key_span;
            }
            "io_uring" => profile.io_uring = d.boolean(key, item).unwrap_or(false),
            "mount" => profile.mount = d.boolean(key, item).unwrap_or(false),
            "fs" => profile.fs = d.rules(RuleKind::Fs, item, fs_object),
            "net" => profile.net = d.rules(RuleKind::Net, item, net_object),
            "signal" => profile.signal = d.rules(RuleKind::Signal, item, signal_object),
            "proc" => profile.proc = d.rules(RuleKind::Proc, item, proc_object),
            "ptrace" => profile.ptrace = d.rules(RuleKind::Ptrace, item, ptrace_object),
            "capability" => {
                profile.capability = d.rules(RuleKind::Capability, item, capability_object);
            }
            _ => d.error(
                key_span,
                Problem::UnknownKey {
                    key: key.to_owned(),
                    table: "the top level".to_owned(),
                    expected: TOP_KEYS.to_vec(),
                },
            ),
        }
    }
    if exe.is_none() && !root.contains_key("profile") {
        d.error(
            Some(0..0),
            Problem::MissingKey {
                key: "profile",
                table: "the top level (the executable's absolute path)".to_owned(),
            },
        );
    }
    if profile.taint_on_exec == Some(false) && !has_enabled_taint_rule(&profile) {
        d.diagnostics.push(Diagnostic {
            path: origin.to_owned(),
            location: Some(d.location(taint_on_exec_span)),
            severity: Severity::Warning,
            problem: Problem::NeverEnforced,
        });
    }
    if let Some((path, _)) = &exe {
        path.clone_into(&mut profile.profile);
    }
    profile.source = Some(origin.to_owned());
    d.finish(Some(profile), exe)
}

fn has_enabled_taint_rule(p: &Profile) -> bool {
    let taints = |enabled: bool, a: Actions| enabled && a.contains(Actions::TAINT);
    p.fs.iter().any(|r| taints(r.enabled, r.action))
        || p.net.iter().any(|r| taints(r.enabled, r.action))
        || p.signal.iter().any(|r| taints(r.enabled, r.action))
        || p.proc.iter().any(|r| taints(r.enabled, r.action))
        || p.ptrace.iter().any(|r| taints(r.enabled, r.action))
        || p.capability.iter().any(|r| taints(r.enabled, r.action))
}

struct Decoder<'a> {
    lines: LineIndex<'a>,
    origin: &'a Path,
    diagnostics: Vec<Diagnostic>,
    contexts: Vec<(ContextKind, String, Location)>,
    /// Written rule ids and the line each was first used on.
    ids: HashMap<String, usize>,
}

/// The kind-specific keys of one rule table, taken one by one by the
/// object builder; a required key that is absent is reported at the table.
struct Fields<'t> {
    kind: RuleKind,
    span: Span,
    items: Vec<(&'t str, &'t Item)>,
}

impl<'t> Fields<'t> {
    fn take(&mut self, d: &mut Decoder<'_>, key: &'static str) -> Option<&'t Item> {
        let found = self
            .items
            .iter()
            .find(|(k, _)| *k == key)
            .map(|&(_, item)| item);
        if found.is_none() {
            d.error(
                self.span.clone(),
                Problem::MissingKey {
                    key,
                    table: self.kind.to_string(),
                },
            );
        }
        found
    }
}

type Build<T> = fn(&mut Decoder<'_>, &mut Fields<'_>) -> Option<T>;

impl Decoder<'_> {
    fn location(&self, span: Span) -> Location {
        self.lines.span(span)
    }

    fn error(&mut self, span: Span, problem: Problem) {
        self.diagnostics.push(Diagnostic {
            path: self.origin.to_owned(),
            location: Some(self.location(span)),
            severity: Severity::Error,
            problem,
        });
    }

    fn warning(&mut self, span: Span, problem: Problem) {
        self.diagnostics.push(Diagnostic {
            path: self.origin.to_owned(),
            location: Some(self.location(span)),
            severity: Severity::Warning,
            problem,
        });
    }

    fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    fn finish(self, profile: Option<Profile>, exe: Option<(PathBuf, Location)>) -> Parsed {
        let failed = self.errors() > 0;
        Parsed {
            profile: if failed { None } else { profile },
            exe,
            diagnostics: self.diagnostics,
            contexts: self.contexts,
        }
    }

    fn wrong_type(&mut self, key: &str, item: &Item, expected: &'static str) {
        self.error(
            item.span(),
            Problem::WrongType {
                key: key.to_owned(),
                expected,
                found: item.type_name(),
            },
        );
    }

    fn string(&mut self, key: &str, item: &Item) -> Option<(String, Span)> {
        match item.as_value() {
            Some(Value::String(s)) => Some((s.value().clone(), s.span())),
            _ => {
                self.wrong_type(key, item, "a string");
                None
            }
        }
    }

    fn boolean(&mut self, key: &str, item: &Item) -> Option<bool> {
        if let Some(b) = item.as_bool() {
            Some(b)
        } else {
            self.wrong_type(key, item, "true or false");
            None
        }
    }

    /// A string or a non-empty array of strings, each with its span.
    fn strings(
        &mut self,
        key: &str,
        item: &Item,
        what: &'static str,
    ) -> Option<Vec<(String, Span)>> {
        const EXPECTED: &str = "a string or an array of strings";
        match item.as_value() {
            Some(Value::String(s)) => Some(vec![(s.value().clone(), s.span())]),
            Some(Value::Array(array)) => {
                if array.is_empty() {
                    self.error(
                        array.span(),
                        Problem::EmptyList {
                            key: key.to_owned(),
                            what,
                        },
                    );
                    return None;
                }
                let mut out = Vec::with_capacity(array.len());
                let mut ok = true;
                for value in array {
                    if let Value::String(s) = value {
                        out.push((s.value().clone(), s.span()));
                    } else {
                        self.error(
                            value.span(),
                            Problem::WrongType {
                                key: key.to_owned(),
                                expected: EXPECTED,
                                found: value.type_name(),
                            },
                        );
                        ok = false;
                    }
                }
                ok.then_some(out)
            }
            _ => {
                self.wrong_type(key, item, EXPECTED);
                None
            }
        }
    }

    /// Words of a vocabulary, OR-ed.
    fn words(&mut self, key: &str, item: &Item, vocab: &Vocabulary) -> Option<u32> {
        let words = self.strings(key, item, vocab.what)?;
        let mut bits = 0;
        let mut ok = true;
        for (word, span) in words {
            match vocab.bits(&word) {
                Some(b) => bits |= b,
                None => {
                    self.error(
                        span,
                        Problem::UnknownWord {
                            key: key.to_owned(),
                            what: vocab.what,
                            word,
                            expected: vocab.valid_words(),
                        },
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(bits)
    }

    fn targets(&mut self, item: &Item) -> Option<Vec<Target>> {
        let values = self.strings("target", item, "target")?;
        let mut out = Vec::with_capacity(values.len());
        let mut ok = true;
        for (value, span) in values {
            let target = match value.as_str() {
                "self" => Target::SameProfile,
                "unconfined" => Target::Unconfined,
                "any" => Target::Any,
                path => match check_plain_path(path) {
                    Ok(()) => Target::Profile(PathBuf::from(path)),
                    Err(reason) => {
                        self.error(span, Problem::BadTarget { value, reason });
                        ok = false;
                        continue;
                    }
                },
            };
            out.push(target);
        }
        ok.then_some(out)
    }

    /// Every table of `[[kind]]` (or `kind = [{…}, …]`), parsed; rules with
    /// errors are reported and left out (the caller rejects the file).
    fn rules<T>(&mut self, kind: RuleKind, item: &Item, build: Build<T>) -> Vec<Rule<T>> {
        let mut out = Vec::new();
        match item {
            Item::ArrayOfTables(tables) => {
                for table in tables {
                    out.extend(self.rule(kind, table, table.span(), build));
                }
            }
            Item::Value(Value::Array(array)) => {
                for value in array {
                    if let Value::InlineTable(table) = value {
                        out.extend(self.rule(kind, table, table.span(), build));
                    } else {
                        self.error(
                            value.span(),
                            Problem::WrongType {
                                key: kind.word().to_owned(),
                                expected: "an array of tables",
                                found: value.type_name(),
                            },
                        );
                    }
                }
            }
            _ => self.error(
                item.span(),
                Problem::WrongType {
                    key: kind.word().to_owned(),
                    expected: match kind {
                        RuleKind::Fs => "an array of tables ([[fs]])",
                        RuleKind::Net => "an array of tables ([[net]])",
                        RuleKind::Signal => "an array of tables ([[signal]])",
                        RuleKind::Proc => "an array of tables ([[proc]])",
                        RuleKind::Ptrace => "an array of tables ([[ptrace]])",
                        RuleKind::Capability => "an array of tables ([[capability]])",
                    },
                    found: item.type_name(),
                },
            ),
        }
        out
    }

    fn rule<T>(
        &mut self,
        kind: RuleKind,
        table: &dyn TableLike,
        span: Span,
        build: Build<T>,
    ) -> Option<Rule<T>> {
        let errors_before = self.errors();
        let own_keys = kind_keys(kind);
        let mut fields = Fields {
            kind,
            span,
            items: Vec::new(),
        };
        let mut id = None;
        let mut action = Actions::default();
        let mut func = Vec::new();
        let mut kfunc = Vec::new();
        let mut enabled = true;
        let mut expires = Expiry::Never;
        let mut uid = None;
        for (key, item) in table.iter() {
            let key_span = table.key(key).and_then(toml_edit::Key::span);
            match key {
                "id" => id = self.rule_id(item),
                "action" => action = self.actions(item).unwrap_or_default(),
                "func" => func = self.symbols(ContextKind::Func, item),
                "kfunc" => kfunc = self.symbols(ContextKind::Kfunc, item),
                "enabled" => enabled = self.boolean(key, item).unwrap_or(true),
                "expires" => expires = self.expires(item).unwrap_or_default(),
                "uid" => uid = self.uid(key, item),
                k if own_keys.contains(&k) => fields.items.push((k, item)),
                _ => self.error(
                    key_span,
                    Problem::UnknownKey {
                        key: key.to_owned(),
                        table: kind.to_string(),
                        expected: own_keys.iter().chain(COMMON_KEYS).copied().collect(),
                    },
                ),
            }
        }
        let object = build(self, &mut fields);
        if self.errors() > errors_before {
            return None;
        }
        Some(Rule {
            id,
            object: object?,
            action,
            func,
            kfunc,
            enabled,
            expires,
            uid,
        })
    }

    /// A user id: an integer from 0 to 2^32 - 2 (the last is "no uid").
    fn uid(&mut self, key: &str, item: &Item) -> Option<u32> {
        match item.as_integer().map(u32::try_from) {
            Some(Ok(uid)) if uid != u32::MAX => Some(uid),
            _ => {
                self.wrong_type(key, item, "a user id (an integer from 0 to 4294967294)");
                None
            }
        }
    }

    fn rule_id(&mut self, item: &Item) -> Option<String> {
        let (id, span) = self.string("id", item)?;
        let valid = (1..=128).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if !valid {
            self.error(span, Problem::BadId { id });
            return None;
        }
        let line = self.location(span.clone()).line;
        if let Some(&first_line) = self.ids.get(&id) {
            self.error(span, Problem::DuplicateId { id, first_line });
            return None;
        }
        self.ids.insert(id.clone(), line);
        Some(id)
    }

    fn actions(&mut self, item: &Item) -> Option<Actions> {
        let words = self.strings("action", item, "action")?;
        let mut bits = 0;
        let mut ok = true;
        for (word, span) in words {
            match ACTIONS.iter().find(|(w, _)| *w == word) {
                Some(&(_, b)) => bits |= b,
                None => {
                    self.error(
                        span,
                        Problem::UnknownWord {
                            key: "action".to_owned(),
                            what: "action",
                            word,
                            expected: ACTIONS.iter().map(|&(w, _)| w).collect(),
                        },
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(Actions(bits))
    }

    fn symbols(&mut self, kind: ContextKind, item: &Item) -> Vec<String> {
        let key = kind.word();
        let Some(values) = self.strings(key, item, "function name") else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(values.len());
        for (value, span) in values {
            let (library, symbol) = match kind {
                ContextKind::Func => crate::context::split_func(&value),
                ContextKind::Kfunc => (None, value.as_str()),
            };
            let valid = !symbol.is_empty()
                && library != Some("")
                && value.len() <= 255
                && !value.chars().any(|c| c.is_whitespace() || c.is_control());
            if valid {
                let location = self.location(span);
                self.contexts.push((kind, value.clone(), location));
                out.push(value);
            } else {
                self.error(span, Problem::BadSymbol { key, value });
            }
        }
        out
    }

    fn expires(&mut self, item: &Item) -> Option<Expiry> {
        let (result, value) = match item.as_value() {
            Some(Value::String(s)) => (Expiry::parse(s.value()), s.value().clone()),
            Some(Value::Integer(i)) => (Expiry::from_unix(*i.value()), i.value().to_string()),
            Some(Value::Datetime(dt)) => {
                (Expiry::from_datetime(dt.value()), dt.value().to_string())
            }
            _ => {
                self.wrong_type("expires", item, "a string, unix seconds or a date-time");
                return None;
            }
        };
        match result {
            Ok(expiry) => Some(expiry),
            Err(reason) => {
                self.error(item.span(), Problem::BadExpiry { value, reason });
                None
            }
        }
    }
}

fn fs_object(d: &mut Decoder<'_>, f: &mut Fields<'_>) -> Option<Fs> {
    let files = f.take(d, "file").and_then(|item| {
        let values = d.strings("file", item, "path")?;
        let mut out = Vec::with_capacity(values.len());
        for (value, span) in values {
            match PathPattern::parse(&value) {
                Ok(p) => out.push(p),
                Err(reason) => d.error(
                    span,
                    Problem::BadPath {
                        key: "file".to_owned(),
                        value,
                        reason,
                    },
                ),
            }
        }
        Some(out)
    });
    let access = f
        .take(d, "access")
        .and_then(|i| d.words("access", i, &FS_ACCESS));
    Some(Fs {
        files: files?,
        access: crate::access::FsAccess(access?),
    })
}

fn net_object(d: &mut Decoder<'_>, f: &mut Fields<'_>) -> Option<Net> {
    let families = f.take(d, "family").and_then(|item| {
        let values = d.strings("family", item, "family")?;
        let mut out = Vec::with_capacity(values.len());
        for (value, span) in values {
            if value == "any" {
                out.push(FamilyName::Any);
            } else if let Some(family) = Family::from_name(&value) {
                out.push(FamilyName::One(family));
            } else {
                d.error(
                    span,
                    Problem::UnknownWord {
                        key: "family".to_owned(),
                        what: "family",
                        word: value,
                        expected: FAMILIES.iter().map(|&(w, _)| w).chain(["any"]).collect(),
                    },
                );
            }
        }
        Some(out)
    });
    let operations = f
        .take(d, "operation")
        .and_then(|i| d.words("operation", i, &NET_OPERATIONS));
    Some(Net {
        families: families?,
        operations: crate::access::NetOps(operations?),
    })
}

fn signal_object(d: &mut Decoder<'_>, f: &mut Fields<'_>) -> Option<Signal> {
    let signals = f
        .take(d, "signal")
        .and_then(|i| d.words("signal", i, &SIGNALS));
    let targets = f.take(d, "target").and_then(|i| d.targets(i));
    Some(Signal {
        targets: targets?,
        signals: crate::access::Signals(signals?),
    })
}

fn proc_object(d: &mut Decoder<'_>, f: &mut Fields<'_>) -> Option<Proc> {
    let targets = f.take(d, "target").and_then(|i| d.targets(i));
    let access = f
        .take(d, "access")
        .and_then(|i| d.words("access", i, &FS_ACCESS));
    Some(Proc {
        targets: targets?,
        access: crate::access::FsAccess(access?),
    })
}

fn ptrace_object(d: &mut Decoder<'_>, f: &mut Fields<'_>) -> Option<Ptrace> {
    let targets = f.take(d, "target").and_then(|i| d.targets(i));
    Some(Ptrace { targets: targets? })
}

/// What a capability opens that bpfbox's rules cannot close: the
/// capabilities that amount to leaving the profile (docs/kernel.md,
/// "Threat model").
fn escape_capability(name: &str) -> Option<&'static str> {
    Some(match name {
        "any" => "every capability, sys_admin and dac_read_search among them",
        "sys_admin" => "mounts (refused unless the profile has `mount = true`), namespaces, and many kernel interfaces no rule names",
        "dac_read_search" => "open_by_handle_at opens files by handle, and the file permission bits no longer stop reads",
        "dac_override" => "the file permission bits no longer stop anything: only rules do",
        "sys_ptrace" => "tracing and reading the memory of processes of other users",
        "sys_module" => "loading kernel modules: the kernel itself",
        "bpf" | "perfmon" => "BPF and perf programs (bpf(2) itself is refused to confined processes)",
        "sys_rawio" => "raw I/O to disks and memory, under every file system",
        "mknod" => "device nodes for disks and memory in any writable directory",
        "setuid" | "setgid" => "becoming any other user, whose files the rules then judge as if they were the app's",
        "setfcap" => "giving executables capabilities",
        "sys_chroot" => "chroot: paths the kernel reports then differ from the rules'",
        _ => return None,
    })
}

fn capability_object(d: &mut Decoder<'_>, f: &mut Fields<'_>) -> Option<Caps> {
    let item = f.take(d, "capability")?;
    let values = d.strings("capability", item, "capability")?;
    let mut out = Vec::with_capacity(values.len());
    let mut ok = true;
    for (value, span) in values {
        if let Some(why) = escape_capability(&value) {
            d.warning(
                span.clone(),
                Problem::EscapeCapability {
                    capability: value.clone(),
                    why,
                },
            );
        }
        if value == "any" {
            out.push(CapName::Any);
        } else if let Some(cap) = Capability::from_name(&value) {
            out.push(CapName::One(cap));
        } else {
            d.error(
                span,
                Problem::UnknownWord {
                    key: "capability".to_owned(),
                    what: "capability",
                    word: value,
                    expected: CAPABILITIES.iter().copied().chain(["any"]).collect(),
                },
            );
            ok = false;
        }
    }
    ok.then_some(Caps { capabilities: out })
}
