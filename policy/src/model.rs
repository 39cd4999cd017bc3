//! What a profile says, independent of how it is written (`parse`, `print`)
//! or enforced (`compile`, `decide`).

use std::{
    collections::HashSet,
    fmt,
    path::{Path, PathBuf},
};

use bpfbox_abi as abi;

use crate::{
    access::{Actions, Capability, Family, FsAccess, NetOps, Signals},
    expiry::{Expiry, Now},
    glob::PathPattern,
};

/// How a profile is enforced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Denials are enforced (`EPERM`) and reported.
    #[default]
    Enforce,
    /// What enforce would deny is allowed and reported (bpfbox's permissive
    /// build, per profile).
    Complain,
    /// The profile does nothing: its processes are not checked at all.
    Disabled,
}

impl Mode {
    /// Every mode, in the order the docs list them.
    pub const ALL: [Self; 3] = [Self::Enforce, Self::Complain, Self::Disabled];

    /// The TOML word.
    #[must_use]
    pub const fn word(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Complain => "complain",
            Self::Disabled => "disabled",
        }
    }

    /// The kernel's `BPFBOX_MODE_*`.
    #[must_use]
    pub const fn abi(self) -> u32 {
        match self {
            Self::Enforce => abi::MODE_ENFORCE,
            Self::Complain => abi::MODE_COMPLAIN,
            Self::Disabled => abi::MODE_DISABLED,
        }
    }

    /// From the TOML word.
    #[must_use]
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.word() == word)
    }
}

/// The other side of a signal, ptrace or proc rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// `self`: processes of this same profile, the process itself included.
    SameProfile,
    /// `unconfined`: processes that have no profile.
    Unconfined,
    /// `any`: every profile of the policy, and unconfined processes.
    Any,
    /// A profile, named by its executable path.
    Profile(PathBuf),
}

impl Target {
    /// The TOML spelling.
    #[must_use]
    pub fn word(&self) -> String {
        match self {
            Self::SameProfile => "self".to_owned(),
            Self::Unconfined => "unconfined".to_owned(),
            Self::Any => "any".to_owned(),
            Self::Profile(path) => path.display().to_string(),
        }
    }
}

/// A function context that a rule is limited to (bpfbox's `func`/`kfunc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContextKind {
    /// `func`: a function of the profile's executable (uprobe).
    Func,
    /// `kfunc`: a kernel function (kprobe).
    Kfunc,
}

impl ContextKind {
    /// The TOML key.
    #[must_use]
    pub const fn word(self) -> &'static str {
        match self {
            Self::Func => "func",
            Self::Kfunc => "kfunc",
        }
    }
}

/// `[[fs]]`: files, by path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fs {
    /// `file`: one or more patterns.
    pub files: Vec<PathPattern>,
    /// `access`
    pub access: FsAccess,
}

/// One entry of `[[net]] family`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FamilyName {
    /// `any`: every family this crate knows.
    Any,
    /// One family.
    One(Family),
}

impl FamilyName {
    /// The TOML spelling: `any`, or the family's name (its number when it
    /// has none).
    #[must_use]
    pub fn word(self) -> String {
        match self {
            Self::Any => "any".to_owned(),
            Self::One(f) => f.name().map_or_else(|| f.0.to_string(), str::to_owned),
        }
    }

    /// The families it stands for.
    #[must_use]
    pub fn families(self) -> Vec<Family> {
        match self {
            Self::Any => Family::all().collect(),
            Self::One(f) => vec![f],
        }
    }
}

/// `[[net]]`: sockets, by address family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Net {
    /// `family`: one or more.
    pub families: Vec<FamilyName>,
    /// `operation`
    pub operations: NetOps,
}

/// `[[signal]]`: signals sent to other processes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signal {
    /// `target`: one or more.
    pub targets: Vec<Target>,
    /// `signal`
    pub signals: Signals,
}

/// `[[proc]]`: `/proc/<pid>` of processes of other profiles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proc {
    /// `target`: one or more.
    pub targets: Vec<Target>,
    /// `access`
    pub access: FsAccess,
}

/// `[[ptrace]]`: tracing other processes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ptrace {
    /// `target`: one or more.
    pub targets: Vec<Target>,
}

/// One entry of `[[capability]] capability`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapName {
    /// `any`: every capability this crate knows.
    Any,
    /// One capability.
    One(Capability),
}

impl CapName {
    /// The TOML spelling: `any`, or the capability's name.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::One(cap) => cap.name().unwrap_or("?"),
        }
    }

    /// The capabilities it stands for.
    #[must_use]
    pub fn capabilities(self) -> Vec<Capability> {
        match self {
            Self::Any => Capability::all().collect(),
            Self::One(c) => vec![c],
        }
    }
}

/// `[[capability]]`: Linux capabilities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caps {
    /// `capability`: one or more.
    pub capabilities: Vec<CapName>,
}

/// The kind of a rule: its TOML table name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleKind {
    /// `[[fs]]`
    Fs,
    /// `[[net]]`
    Net,
    /// `[[signal]]`
    Signal,
    /// `[[proc]]`
    Proc,
    /// `[[ptrace]]`
    Ptrace,
    /// `[[capability]]`
    Capability,
}

impl RuleKind {
    /// Every kind, in printing order.
    pub const ALL: [Self; 6] = [
        Self::Fs,
        Self::Net,
        Self::Signal,
        Self::Proc,
        Self::Ptrace,
        Self::Capability,
    ];

    /// The TOML table name.
    #[must_use]
    pub const fn word(self) -> &'static str {
        match self {
            Self::Fs => "fs",
            Self::Net => "net",
            Self::Signal => "signal",
            Self::Proc => "proc",
            Self::Ptrace => "ptrace",
            Self::Capability => "capability",
        }
    }

    /// From the TOML table name.
    #[must_use]
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.word() == word)
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[[{}]]", self.word())
    }
}

/// A rule: what it is about (`object`) and the keys every rule has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule<T> {
    /// `id`, if written. See [`Profile::rule_ids`] for the id of a rule
    /// without one.
    pub id: Option<String>,
    /// The kind-specific part.
    pub object: T,
    /// `action` (default `allow`).
    pub action: Actions,
    /// `func`: functions of the profile's executable the rule is limited to.
    pub func: Vec<String>,
    /// `kfunc`: kernel functions the rule is limited to.
    pub kfunc: Vec<String>,
    /// `enabled` (default true). A disabled rule stays in the file and does
    /// nothing.
    pub enabled: bool,
    /// `expires` (default never).
    pub expires: Expiry,
    /// `uid`: the rule holds only for processes of this user (a temporary
    /// grant from a notification is written so: it loosens only the
    /// processes of the person who answered).
    pub uid: Option<u32>,
}

impl<T> Rule<T> {
    /// A rule that allows, always, in any context.
    #[must_use]
    pub fn new(object: T) -> Self {
        Self {
            id: None,
            object,
            action: Actions::default(),
            func: Vec::new(),
            kfunc: Vec::new(),
            enabled: true,
            expires: Expiry::Never,
            uid: None,
        }
    }

    /// Whether the rule applies at `now`: enabled and not expired.
    #[must_use]
    pub fn is_live(&self, now: &Now) -> bool {
        self.enabled && self.expires.is_live(now)
    }

    /// Whether the rule is limited to function contexts.
    #[must_use]
    pub fn has_context(&self) -> bool {
        !self.func.is_empty() || !self.kfunc.is_empty()
    }

    /// The actions the kernel gets: a `once` rule is also audited, so the
    /// daemon hears of its first use and can retire it.
    #[must_use]
    pub fn effective_actions(&self) -> Actions {
        if self.expires == Expiry::Once {
            self.action | Actions::AUDIT
        } else {
            self.action
        }
    }
}

/// A profile: one executable and what its processes may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// `profile`: the executable's absolute path. Processes that exec it are
    /// confined; the profile's id is derived from it ([`profile_id`]).
    pub profile: PathBuf,
    /// `name`: display name.
    pub name: Option<String>,
    /// `description`
    pub description: Option<String>,
    /// `desktop_id`: the application's desktop file id (`org.gnome.Foo.desktop`).
    pub desktop_id: Option<String>,
    /// `icon`: an icon name or absolute path.
    pub icon: Option<String>,
    /// `mode` (default enforce).
    pub mode: Mode,
    /// `taint_on_exec`, if written. See [`Profile::taints_on_exec`].
    pub taint_on_exec: Option<bool>,
    /// `io_uring` (default false): whether its processes may make io_uring
    /// instances at all (docs/policy.md, "Top-level keys").
    pub io_uring: bool,
    /// `mount` (default false): whether its processes may mount, unmount,
    /// move mounts and pivot_root at all.
    pub mount: bool,
    /// `[[fs]]`
    pub fs: Vec<Rule<Fs>>,
    /// `[[net]]`
    pub net: Vec<Rule<Net>>,
    /// `[[signal]]`
    pub signal: Vec<Rule<Signal>>,
    /// `[[proc]]`
    pub proc: Vec<Rule<Proc>>,
    /// `[[ptrace]]`
    pub ptrace: Vec<Rule<Ptrace>>,
    /// `[[capability]]`
    pub capability: Vec<Rule<Caps>>,
    /// The file the profile was read from (not part of the TOML).
    pub source: Option<PathBuf>,
}

/// A rule of any kind, borrowed from its profile, with its final id.
#[derive(Clone, Debug)]
pub struct RuleRef<'a> {
    /// The rule's id: written, or derived ([`Profile::rule_ids`]).
    pub id: String,
    /// Its kind.
    pub kind: RuleKind,
    /// Its position among the rules of its kind.
    pub index: usize,
    /// Whether it is enabled.
    pub enabled: bool,
    /// When it expires.
    pub expires: &'a Expiry,
    /// Its actions.
    pub action: Actions,
}

impl Profile {
    /// An empty enforcing profile for `exe`.
    #[must_use]
    pub fn new(exe: impl Into<PathBuf>) -> Self {
        Self {
            profile: exe.into(),
            name: None,
            description: None,
            desktop_id: None,
            icon: None,
            mode: Mode::Enforce,
            taint_on_exec: None,
            io_uring: false,
            mount: false,
            fs: Vec::new(),
            net: Vec::new(),
            signal: Vec::new(),
            proc: Vec::new(),
            ptrace: Vec::new(),
            capability: Vec::new(),
            source: None,
        }
    }

    /// The profile id the kernel knows it by: see [`profile_id`].
    #[must_use]
    pub fn id(&self) -> u64 {
        profile_id(&self.profile)
    }

    /// Whether processes start tainted (enforced) at exec. Written
    /// `taint_on_exec` wins; otherwise bpfbox's DSL default applies: true
    /// iff no live rule of the profile has the `taint` action — a profile
    /// without taint rules is enforced from exec, one with taint rules only
    /// once one of them fires. (bpfbox's TOML loader always used false,
    /// which made such profiles never enforce anything.)
    #[must_use]
    pub fn taints_on_exec(&self, now: &Now) -> bool {
        self.taint_on_exec
            .unwrap_or_else(|| !self.has_live_taint_rule(now))
    }

    fn has_live_taint_rule(&self, now: &Now) -> bool {
        let taints = |live: bool, action: Actions| live && action.contains(Actions::TAINT);
        self.fs.iter().any(|r| taints(r.is_live(now), r.action))
            || self.net.iter().any(|r| taints(r.is_live(now), r.action))
            || self.signal.iter().any(|r| taints(r.is_live(now), r.action))
            || self.proc.iter().any(|r| taints(r.is_live(now), r.action))
            || self.ptrace.iter().any(|r| taints(r.is_live(now), r.action))
            || self
                .capability
                .iter()
                .any(|r| taints(r.is_live(now), r.action))
    }

    /// The earliest time after `now` at which an enabled rule expires
    /// (unix seconds): the daemon recompiles then, since the kernel does not
    /// expire anything by itself.
    #[must_use]
    pub fn next_expiry(&self, now: &Now) -> Option<i64> {
        fn next<T>(rules: &[Rule<T>], now: i64) -> Option<i64> {
            rules
                .iter()
                .filter(|r| r.enabled)
                .filter_map(|r| match r.expires {
                    Expiry::At(t) if t > now => Some(t),
                    _ => None,
                })
                .min()
        }
        let now = now.unix_seconds();
        [
            next(&self.fs, now),
            next(&self.net, now),
            next(&self.signal, now),
            next(&self.proc, now),
            next(&self.ptrace, now),
            next(&self.capability, now),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The number of rules of every kind.
    #[must_use]
    pub fn rule_count(&self) -> usize {
        self.fs.len()
            + self.net.len()
            + self.signal.len()
            + self.proc.len()
            + self.ptrace.len()
            + self.capability.len()
    }

    /// The id of every rule, per kind in file order (fs, net, signal, proc,
    /// ptrace, capability).
    ///
    /// A rule without `id` gets `<kind>-<12 hex digits>`: a hash (FNV-1a) of
    /// its content — object, access, action, func, kfunc, but not `enabled`
    /// or `expires`, so toggling or extending a rule keeps its id. Identical
    /// rules get `-2`, `-3`… suffixes in file order, as does a derived id that
    /// a written id already uses.
    #[must_use]
    pub fn rule_ids(&self) -> Vec<(RuleKind, Vec<String>)> {
        let mut used: HashSet<String> = self.written_ids().into_iter().collect();
        let mut out = Vec::new();
        for kind in RuleKind::ALL {
            let derived = self.derived_ids(kind);
            let written = self.written_ids_of(kind);
            let ids = derived
                .into_iter()
                .zip(written)
                .map(|(base, written)| match written {
                    Some(id) => id,
                    None => {
                        let mut id = base.clone();
                        let mut n = 2;
                        while used.contains(&id) {
                            id = format!("{base}-{n}");
                            n += 1;
                        }
                        used.insert(id.clone());
                        id
                    }
                })
                .collect();
            out.push((kind, ids));
        }
        out
    }

    /// The users some rule is written for (`uid`), each once, sorted.
    #[must_use]
    pub fn rule_uids(&self) -> Vec<u32> {
        let mut uids: Vec<u32> = self
            .fs
            .iter()
            .map(|r| r.uid)
            .chain(self.net.iter().map(|r| r.uid))
            .chain(self.signal.iter().map(|r| r.uid))
            .chain(self.proc.iter().map(|r| r.uid))
            .chain(self.ptrace.iter().map(|r| r.uid))
            .chain(self.capability.iter().map(|r| r.uid))
            .flatten()
            .collect();
        uids.sort_unstable();
        uids.dedup();
        uids
    }

    /// Every rule with its final id, in [`Profile::rule_ids`] order.
    #[must_use]
    pub fn rules(&self) -> Vec<RuleRef<'_>> {
        let mut out = Vec::with_capacity(self.rule_count());
        for (kind, ids) in self.rule_ids() {
            for (index, id) in ids.into_iter().enumerate() {
                let (enabled, expires, action) = self.rule_meta(kind, index);
                out.push(RuleRef {
                    id,
                    kind,
                    index,
                    enabled,
                    expires,
                    action,
                });
            }
        }
        out
    }

    /// The kind and index of the rule with id `id`.
    #[must_use]
    pub fn find_rule(&self, id: &str) -> Option<(RuleKind, usize)> {
        self.rules()
            .into_iter()
            .find(|r| r.id == id)
            .map(|r| (r.kind, r.index))
    }

    /// Enables or disables the rule `id`; false if there is none.
    pub fn set_enabled(&mut self, id: &str, enabled: bool) -> bool {
        self.with_rule(id, |meta| *meta.enabled = enabled)
    }

    /// Sets the expiry of rule `id`; false if there is none.
    pub fn set_expires(&mut self, id: &str, expires: Expiry) -> bool {
        self.with_rule(id, |meta| *meta.expires = expires)
    }

    /// Removes the rule `id` (for instance a `once` rule after its use, or
    /// an expired one); false if there is none.
    pub fn remove_rule(&mut self, id: &str) -> bool {
        let Some((kind, index)) = self.find_rule(id) else {
            return false;
        };
        match kind {
            RuleKind::Fs => {
                self.fs.remove(index);
            }
            RuleKind::Net => {
                self.net.remove(index);
            }
            RuleKind::Signal => {
                self.signal.remove(index);
            }
            RuleKind::Proc => {
                self.proc.remove(index);
            }
            RuleKind::Ptrace => {
                self.ptrace.remove(index);
            }
            RuleKind::Capability => {
                self.capability.remove(index);
            }
        }
        true
    }

    /// Removes every rule that has expired at `now` (not disabled ones: the
    /// user keeps those); returns how many went.
    pub fn remove_expired(&mut self, now: &Now) -> usize {
        let before = self.rule_count();
        self.fs.retain(|r| r.expires.is_live(now));
        self.net.retain(|r| r.expires.is_live(now));
        self.signal.retain(|r| r.expires.is_live(now));
        self.proc.retain(|r| r.expires.is_live(now));
        self.ptrace.retain(|r| r.expires.is_live(now));
        self.capability.retain(|r| r.expires.is_live(now));
        before - self.rule_count()
    }

    fn with_rule(&mut self, id: &str, f: impl FnOnce(&mut MetaMut<'_>)) -> bool {
        let Some((kind, index)) = self.find_rule(id) else {
            return false;
        };
        let mut meta = match kind {
            RuleKind::Fs => MetaMut::of(&mut self.fs[index]),
            RuleKind::Net => MetaMut::of(&mut self.net[index]),
            RuleKind::Signal => MetaMut::of(&mut self.signal[index]),
            RuleKind::Proc => MetaMut::of(&mut self.proc[index]),
            RuleKind::Ptrace => MetaMut::of(&mut self.ptrace[index]),
            RuleKind::Capability => MetaMut::of(&mut self.capability[index]),
        };
        f(&mut meta);
        true
    }

    fn rule_meta(&self, kind: RuleKind, i: usize) -> (bool, &Expiry, Actions) {
        fn meta<T>(r: &Rule<T>) -> (bool, &Expiry, Actions) {
            (r.enabled, &r.expires, r.action)
        }
        match kind {
            RuleKind::Fs => meta(&self.fs[i]),
            RuleKind::Net => meta(&self.net[i]),
            RuleKind::Signal => meta(&self.signal[i]),
            RuleKind::Proc => meta(&self.proc[i]),
            RuleKind::Ptrace => meta(&self.ptrace[i]),
            RuleKind::Capability => meta(&self.capability[i]),
        }
    }

    fn written_ids(&self) -> Vec<String> {
        RuleKind::ALL
            .into_iter()
            .flat_map(|k| self.written_ids_of(k))
            .flatten()
            .collect()
    }

    fn written_ids_of(&self, kind: RuleKind) -> Vec<Option<String>> {
        fn ids<T>(rules: &[Rule<T>]) -> Vec<Option<String>> {
            rules.iter().map(|r| r.id.clone()).collect()
        }
        match kind {
            RuleKind::Fs => ids(&self.fs),
            RuleKind::Net => ids(&self.net),
            RuleKind::Signal => ids(&self.signal),
            RuleKind::Proc => ids(&self.proc),
            RuleKind::Ptrace => ids(&self.ptrace),
            RuleKind::Capability => ids(&self.capability),
        }
    }

    fn derived_ids(&self, kind: RuleKind) -> Vec<String> {
        fn ids<T>(
            kind: RuleKind,
            rules: &[Rule<T>],
            content: impl Fn(&T) -> String,
        ) -> Vec<String> {
            rules
                .iter()
                .map(|r| {
                    // fields joined with separators that TOML strings cannot
                    // hold unescaped, so the text is unambiguous; no Debug
                    // formatting, whose escaping may change between releases
                    let text = [
                        kind.word().to_owned(),
                        content(&r.object),
                        r.action.words().join(SEP),
                        r.func.join(SEP),
                        r.kfunc.join(SEP),
                    ]
                    .join(RECORD);
                    let hash = abi::name_hash(text.as_bytes()) & 0xffff_ffff_ffff;
                    format!("{}-{hash:012x}", kind.word())
                })
                .collect()
        }
        const SEP: &str = "\u{1f}";
        const RECORD: &str = "\u{1e}";
        let targets = |t: &[Target]| t.iter().map(Target::word).collect::<Vec<_>>().join(SEP);
        match kind {
            RuleKind::Fs => ids(kind, &self.fs, |o| {
                let files: Vec<_> = o.files.iter().map(PathPattern::as_str).collect();
                format!("{}{RECORD}{}", files.join(SEP), o.access.bits())
            }),
            RuleKind::Net => ids(kind, &self.net, |o| {
                let fams: Vec<_> = o
                    .families
                    .iter()
                    .map(|f| match f {
                        FamilyName::Any => "any".to_owned(),
                        FamilyName::One(f) => f.0.to_string(),
                    })
                    .collect();
                format!("{}{RECORD}{}", fams.join(SEP), o.operations.bits())
            }),
            RuleKind::Signal => ids(kind, &self.signal, |o| {
                format!("{}{RECORD}{}", targets(&o.targets), o.signals.bits())
            }),
            RuleKind::Proc => ids(kind, &self.proc, |o| {
                format!("{}{RECORD}{}", targets(&o.targets), o.access.bits())
            }),
            RuleKind::Ptrace => ids(kind, &self.ptrace, |o| targets(&o.targets)),
            RuleKind::Capability => ids(kind, &self.capability, |o| {
                let caps: Vec<_> = o
                    .capabilities
                    .iter()
                    .map(|c| match c {
                        CapName::Any => "any".to_owned(),
                        CapName::One(c) => c.0.to_string(),
                    })
                    .collect();
                caps.join(SEP)
            }),
        }
    }
}

/// The kind-independent keys of a rule, borrowed mutably.
struct MetaMut<'a> {
    enabled: &'a mut bool,
    expires: &'a mut Expiry,
}

impl<'a> MetaMut<'a> {
    fn of<T>(rule: &'a mut Rule<T>) -> Self {
        Self {
            enabled: &mut rule.enabled,
            expires: &mut rule.expires,
        }
    }
}

/// The kernel's id of the profile for executable `exe`: FNV-1a (64 bit) of
/// the path's bytes, 1 if that is 0 (0 means "unconfined"). Deterministic
/// across runs and machines; depends only on the path as written.
#[must_use]
pub fn profile_id(exe: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    match abi::name_hash(exe.as_os_str().as_bytes()) {
        0 => 1,
        id => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::FsAccess;

    fn fs_rule(path: &str, access: FsAccess) -> Rule<Fs> {
        Rule::new(Fs {
            files: vec![PathPattern::parse(path).unwrap()],
            access,
        })
    }

    #[test]
    fn mode_and_kind_words_parse_back() {
        for mode in Mode::ALL {
            assert_eq!(Mode::from_word(mode.word()), Some(mode));
        }
        for kind in RuleKind::ALL {
            assert_eq!(RuleKind::from_word(kind.word()), Some(kind));
        }
        assert_eq!(
            RuleKind::from_word("[[fs]]"),
            None,
            "the word, not the table"
        );
    }

    #[test]
    fn profile_id_is_a_stable_nonzero_hash_of_the_path() {
        let id = profile_id(Path::new("/bin/ls"));
        assert_ne!(id, 0);
        assert_eq!(id, abi::name_hash(b"/bin/ls"));
        assert_ne!(id, profile_id(Path::new("/usr/bin/ls")));
    }

    #[test]
    fn taint_on_exec_defaults_to_true_without_taint_rules() {
        let now = Now::new(std::time::UNIX_EPOCH);
        let mut p = Profile::new("/bin/x");
        p.fs.push(fs_rule("/etc/**", FsAccess::READ));
        assert!(p.taints_on_exec(&now));
        p.fs[0].action = Actions::ALLOW | Actions::TAINT;
        assert!(!p.taints_on_exec(&now));
        p.fs[0].enabled = false;
        assert!(
            p.taints_on_exec(&now),
            "a disabled taint rule does not count"
        );
        p.taint_on_exec = Some(false);
        assert!(!p.taints_on_exec(&now), "written value wins");
    }

    #[test]
    fn derived_ids_ignore_enabled_and_expiry_and_disambiguate_twins() {
        let mut p = Profile::new("/bin/x");
        p.fs.push(fs_rule("/a", FsAccess::READ));
        p.fs.push(fs_rule("/a", FsAccess::READ));
        p.fs.push(fs_rule("/b", FsAccess::READ));
        let ids = p.rule_ids()[0].1.clone();
        assert!(ids[0].starts_with("fs-") && ids[0].len() == 15, "{ids:?}");
        assert_eq!(ids[1], format!("{}-2", ids[0]));
        assert_ne!(ids[2], ids[0]);
        assert!(p.set_enabled(&ids[2], false));
        p.fs[2].expires = Expiry::Once;
        assert_eq!(p.rule_ids()[0].1, ids);
        assert!(!p.fs[2].enabled);
    }

    #[test]
    fn written_ids_are_kept_and_addressable() {
        let mut p = Profile::new("/bin/x");
        p.fs.push(fs_rule("/a", FsAccess::READ));
        p.fs[0].id = Some("docs".into());
        assert_eq!(p.find_rule("docs"), Some((RuleKind::Fs, 0)));
        assert!(p.remove_rule("docs"));
        assert!(p.fs.is_empty());
        assert!(!p.remove_rule("docs"));
    }

    #[test]
    fn remove_expired_keeps_disabled_rules() {
        let now = Now::new(std::time::UNIX_EPOCH + std::time::Duration::from_secs(10));
        let mut p = Profile::new("/bin/x");
        p.fs.push(fs_rule("/a", FsAccess::READ));
        p.fs.push(fs_rule("/b", FsAccess::READ));
        p.fs.push(fs_rule("/c", FsAccess::READ));
        p.fs[0].expires = Expiry::At(5);
        p.fs[1].enabled = false;
        assert_eq!(p.remove_expired(&now), 1);
        assert_eq!(p.fs.len(), 2);
    }
}
