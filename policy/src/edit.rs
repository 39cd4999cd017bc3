//! Changing a profile file on someone's behalf without disturbing the rest
//! of it.
//!
//! bpfboxd toggles rules, adds grants and switches modes in files that
//! people also edit by hand. [`print()`](crate::print()) would rewrite such a
//! file canonically and drop its comments, so edits go through the TOML
//! document itself: only the keys and tables an operation is about change,
//! and every other byte (comments, blank lines, key order, quoting, inline
//! or `[[…]]` style) stays as written.
//!
//! Every operation re-parses the result and undoes itself if the profile
//! would no longer load, so a [`ProfileEdit`] always holds a valid profile
//! and rule ids are always looked up in the current state. Writing the file
//! is [`crate::store`]'s job.

use std::path::{Path, PathBuf};

use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

use crate::{
    diagnostics::{Diagnostic, Diagnostics, Location, Problem},
    expiry::{Expiry, Now},
    load::{read_limited, MAX_FILE_SIZE},
    model::{Mode, Profile, RuleKind},
    parse::{kind_keys, parse_str},
};

/// Rule keys a caller may set in [`NewRule`], besides [`kind_keys`].
const NEW_RULE_COMMON_KEYS: &[&str] = &["action", "func", "kfunc"];

/// Why an edit could not be made. The edit is left as it was before the
/// failed operation.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The text is not a valid profile, or the file could not be read:
    /// `path:line:col: error: …` for each problem.
    #[error("{0}")]
    Invalid(Diagnostics),
    /// The TOML library would not write the unchanged document back
    /// byte for byte, so editing it could alter parts nobody asked to change.
    #[error("{path}: this file cannot be edited without reformatting it")]
    NotPreserved {
        /// The file.
        path: PathBuf,
    },
    /// No rule of the profile has this id (written or derived).
    #[error("no rule with id `{id}`")]
    NoSuchRule {
        /// The id asked for.
        id: String,
    },
    /// A key that rules of this kind do not have.
    #[error("unknown key `{key}` in a new {kind} rule; expected one of: {}", .expected.join(", "))]
    UnknownKey {
        /// The rule's kind.
        kind: RuleKind,
        /// The key.
        key: String,
        /// The keys a new rule of this kind may have.
        expected: Vec<&'static str>,
    },
    /// `id`, `enabled` or `expires` in the body of a new rule: they are
    /// separate arguments of [`ProfileEdit::add_rule`], so that a caller
    /// cannot bypass their checks.
    #[error("`{key}` cannot be part of a new rule's keys; it is a separate argument")]
    ReservedKey {
        /// The key.
        key: String,
    },
    /// The same key twice in a new rule.
    #[error("key `{key}` is given twice")]
    RepeatedKey {
        /// The key.
        key: String,
    },
    /// A key of a new rule without any value.
    #[error("key `{key}` has no value; give at least one")]
    EmptyKey {
        /// The key.
        key: String,
    },
    /// An id that the format does not allow.
    #[error("invalid rule id `{id}`: expected 1 to 128 of A-Z a-z 0-9 - _ . :")]
    BadId {
        /// The id.
        id: String,
    },
    /// An id another rule of the profile already has.
    #[error("rule id `{id}` is already used in this profile")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// The new rule's values are not valid (an unknown access word, a bad
    /// path, a missing required key…). Each diagnostic names the key.
    #[error("the new rule is not valid:\n{0}")]
    InvalidRule(Diagnostics),
    /// A replacement text names another executable.
    #[error("the new text confines {now} instead of {was}: create a new profile for it instead")]
    OtherExecutable {
        /// The profile's executable.
        was: PathBuf,
        /// The one the new text names.
        now: PathBuf,
    },
}

/// A rule to add, as a D-Bus caller sends it: the kind, and its keys with
/// their values as strings (every key a rule may get from a caller takes a
/// string or a list of strings). A key with one value is written as a
/// string, one with several as an array.
///
/// Values are never spliced into TOML text: the document encodes them, so
/// a value cannot smuggle in other keys or tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRule {
    /// The kind: which `[[table]]` it goes to.
    pub kind: RuleKind,
    /// Keys in the order to write them, each with its values.
    pub keys: Vec<(String, Vec<String>)>,
    /// `uid`: only for this user's processes.
    pub uid: Option<u32>,
}

impl NewRule {
    /// A rule of `kind` with no keys yet.
    #[must_use]
    pub const fn new(kind: RuleKind) -> Self {
        Self {
            kind,
            keys: Vec::new(),
            uid: None,
        }
    }

    /// The rule holds only for processes of user `uid`.
    #[must_use]
    pub const fn for_uid(mut self, uid: u32) -> Self {
        self.uid = Some(uid);
        self
    }

    /// Adds `key` with `values`.
    #[must_use]
    pub fn with<V: Into<String>>(
        mut self,
        key: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.keys
            .push((key.into(), values.into_iter().map(Into::into).collect()));
        self
    }

    /// The keys a new rule of `kind` may have.
    #[must_use]
    pub fn allowed_keys(kind: RuleKind) -> Vec<&'static str> {
        kind_keys(kind)
            .iter()
            .chain(NEW_RULE_COMMON_KEYS)
            .copied()
            .collect()
    }

    fn check(&self) -> Result<(), EditError> {
        let allowed = Self::allowed_keys(self.kind);
        for (i, (key, values)) in self.keys.iter().enumerate() {
            if matches!(key.as_str(), "id" | "enabled" | "expires") {
                return Err(EditError::ReservedKey { key: key.clone() });
            }
            if !allowed.contains(&key.as_str()) {
                return Err(EditError::UnknownKey {
                    kind: self.kind,
                    key: key.clone(),
                    expected: allowed,
                });
            }
            if self.keys[..i].iter().any(|(k, _)| k == key) {
                return Err(EditError::RepeatedKey { key: key.clone() });
            }
            if values.is_empty() {
                return Err(EditError::EmptyKey { key: key.clone() });
            }
        }
        Ok(())
    }
}

/// A profile file being edited: the text it was read as, the TOML document
/// with the edits so far, and the profile that document parses to.
#[derive(Clone, Debug)]
pub struct ProfileEdit {
    path: PathBuf,
    original: String,
    doc: DocumentMut,
    profile: Profile,
    /// Whether the file ends its last line; the document always does.
    final_newline: bool,
}

impl ProfileEdit {
    /// Reads `path` for editing. The file must be a valid profile.
    pub fn open(path: &Path) -> Result<Self, EditError> {
        let text = read_limited(path).map_err(|problem| {
            let location = match problem {
                Problem::NotUtf8 | Problem::TooLarge { .. } => {
                    Some(Location { line: 1, column: 1 })
                }
                _ => None,
            };
            EditError::Invalid(Diagnostics(vec![Diagnostic::error(
                path, location, problem,
            )]))
        })?;
        Self::from_text(path, text)
    }

    /// Edits `text`, the content of the file at `path` (which is not read;
    /// it names the file in diagnostics and for [`crate::store::commit`]).
    pub fn from_text(path: &Path, text: impl Into<String>) -> Result<Self, EditError> {
        let original = text.into();
        let profile = parse_str(&original, path).map_err(EditError::Invalid)?;
        // parse_str accepted it, so the same parser cannot fail here.
        let doc: DocumentMut = original.parse().map_err(|_| EditError::NotPreserved {
            path: path.to_owned(),
        })?;
        let final_newline = original.is_empty() || original.ends_with('\n');
        let rendered = doc.to_string();
        let same = if final_newline {
            rendered == original
        } else {
            rendered.strip_suffix('\n') == Some(original.as_str())
        };
        if !same {
            return Err(EditError::NotPreserved {
                path: path.to_owned(),
            });
        }
        Ok(Self {
            path: path.to_owned(),
            original,
            doc,
            profile,
            final_newline,
        })
    }

    /// Replaces the whole text (a user's or a tool's new version of the
    /// profile), keeping what the edit started from, so that committing
    /// still refuses a file changed meanwhile. The new text must be a valid
    /// profile of the same executable: a different executable is a
    /// different profile.
    pub fn replace_text(&mut self, text: &str) -> Result<(), EditError> {
        let next = Self::from_text(&self.path, text)?;
        if next.profile.profile != self.profile.profile {
            return Err(EditError::OtherExecutable {
                was: self.profile.profile.clone(),
                now: next.profile.profile,
            });
        }
        self.doc = next.doc;
        self.profile = next.profile;
        self.final_newline = next.final_newline;
        Ok(())
    }

    /// The file being edited.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The text the edit started from: [`crate::store::commit`] writes only
    /// if the file still holds exactly this.
    #[must_use]
    pub fn original(&self) -> &str {
        &self.original
    }

    /// The edited text.
    #[must_use]
    pub fn text(&self) -> String {
        let mut text = self.doc.to_string();
        if !self.final_newline && text.ends_with('\n') {
            text.pop();
        }
        text
    }

    /// Whether the edits changed the text.
    #[must_use]
    pub fn is_changed(&self) -> bool {
        self.text() != self.original
    }

    /// The profile as edited so far.
    #[must_use]
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Parses the edited text again and returns its profile: what the
    /// daemon's loader will get from the written file. Errors carry
    /// `path:line:col` diagnostics of the edited text.
    pub fn validate(&self) -> Result<Profile, EditError> {
        check_text(&self.text(), &self.path).map_err(EditError::Invalid)
    }

    /// Sets `mode`. Switching to `enforce` in a file without `mode` writes
    /// nothing, since it is the default.
    pub fn set_mode(&mut self, mode: Mode) -> Result<(), EditError> {
        self.apply(|doc| {
            let root = doc.as_table_mut();
            match root.get_mut("mode").and_then(Item::as_value_mut) {
                Some(slot) => replace_value(slot, mode.word().into()),
                None if mode == Mode::Enforce => {}
                None => {
                    root.insert("mode", toml_edit::value(mode.word()));
                }
            }
        })
        .map_err(EditError::Invalid)
    }

    /// Enables or disables rule `id`. Disabling writes `enabled = false`;
    /// enabling removes `enabled` (true is the default), so disabling and
    /// enabling again gives back the file as it was. A rule that is already
    /// in the asked state is left alone. The rule keeps its id: derived ids
    /// do not depend on `enabled`.
    pub fn set_rule_enabled(&mut self, id: &str, enabled: bool) -> Result<(), EditError> {
        let (kind, index) = self.locate(id)?;
        if self.rule_enabled(kind, index) == enabled {
            return Ok(());
        }
        self.apply(|doc| {
            if let Some(mut rule) = rule_table(doc, kind, index) {
                if enabled {
                    rule.remove("enabled");
                } else {
                    rule.set("enabled", false.into());
                }
            }
        })
        .map_err(EditError::Invalid)
    }

    /// Sets when rule `id` expires; [`Expiry::Never`] removes `expires`.
    /// Times are written as `YYYY-MM-DDTHH:MM:SSZ` strings. A rule that
    /// already expires then is left as written. The rule keeps its id.
    pub fn set_rule_expires(&mut self, id: &str, expires: &Expiry) -> Result<(), EditError> {
        let (kind, index) = self.locate(id)?;
        let current = self
            .profile
            .rules()
            .into_iter()
            .find(|r| r.kind == kind && r.index == index)
            .map(|r| r.expires.clone());
        if current.as_ref() == Some(expires) {
            return Ok(());
        }
        self.apply(|doc| {
            if let Some(mut rule) = rule_table(doc, kind, index) {
                match expires.to_toml_string() {
                    Some(text) => rule.set("expires", text.into()),
                    None => rule.remove("expires"),
                }
            }
        })
        .map_err(EditError::Invalid)
    }

    /// Removes rule `id`, with the comment lines directly above it (in a
    /// TOML document they belong to the rule's table).
    pub fn remove_rule(&mut self, id: &str) -> Result<(), EditError> {
        let (kind, index) = self.locate(id)?;
        self.apply(|doc| remove_rules(doc, kind, &[index]))
            .map_err(EditError::Invalid)
    }

    /// Removes every rule whose expiry has passed at `now` (disabled rules
    /// that have not expired stay: the user keeps those). `until restart`
    /// rules of other daemon instances count as expired, so `now` should
    /// name the running instance. Returns the ids removed.
    pub fn remove_expired(&mut self, now: &Now) -> Result<Vec<String>, EditError> {
        let expired: Vec<_> = self
            .profile
            .rules()
            .into_iter()
            .filter(|r| !r.expires.is_live(now))
            .map(|r| (r.kind, r.index, r.id))
            .collect();
        if expired.is_empty() {
            return Ok(Vec::new());
        }
        self.apply(|doc| {
            for kind in RuleKind::ALL {
                let indexes: Vec<usize> = expired
                    .iter()
                    .filter(|(k, _, _)| *k == kind)
                    .map(|&(_, i, _)| i)
                    .collect();
                if !indexes.is_empty() {
                    remove_rules(doc, kind, &indexes);
                }
            }
        })
        .map_err(EditError::Invalid)?;
        Ok(expired.into_iter().map(|(_, _, id)| id).collect())
    }

    /// Adds `rule` after the last rule of its kind (as a `[[kind]]` table,
    /// or into the `kind = [ … ]` array if the file writes its rules that
    /// way; at the end of the file if there is none of its kind yet), with
    /// an explicit id: `id`, or `user-<kind>-<n>` with the smallest free n.
    /// Returns the id.
    ///
    /// Checked before anything is written: only keys of the kind (and
    /// `action`, `func`, `kfunc`), each once and with a value; a valid id
    /// that no rule of the profile has. The values themselves are checked
    /// by parsing the result, with diagnostics that name the key.
    pub fn add_rule(
        &mut self,
        rule: &NewRule,
        id: Option<&str>,
        expires: &Expiry,
    ) -> Result<String, EditError> {
        rule.check()?;
        let ids_before = self.profile.rule_ids();
        let in_use = |candidate: &str| {
            ids_before
                .iter()
                .any(|(_, ids)| ids.iter().any(|i| i == candidate))
        };
        let id = match id {
            Some(id) => {
                if !valid_rule_id(id) {
                    return Err(EditError::BadId { id: id.to_owned() });
                }
                if in_use(id) {
                    return Err(EditError::DuplicateId { id: id.to_owned() });
                }
                id.to_owned()
            }
            None => (1..)
                .map(|n| format!("user-{}-{n}", rule.kind.word()))
                .find(|candidate| !in_use(candidate))
                .unwrap_or_default(),
        };
        let mut values = vec![("id".to_owned(), Value::from(id.as_str()))];
        for (key, words) in &rule.keys {
            values.push((key.clone(), string_or_array(words)));
        }
        if let Some(text) = expires.to_toml_string() {
            values.push(("expires".to_owned(), text.into()));
        }
        if let Some(uid) = rule.uid {
            values.push(("uid".to_owned(), Value::from(i64::from(uid))));
        }
        let saved = (self.doc.clone(), self.profile.clone());
        self.apply(|doc| append_rule(doc, rule.kind, values))
            .map_err(EditError::InvalidRule)?;
        // A written id can change which derived id another rule gets; the
        // check above should rule that out, and this makes sure of it.
        let mut ids_after = self.profile.rule_ids();
        for (kind, ids) in &mut ids_after {
            if *kind == rule.kind && ids.last() == Some(&id) {
                ids.pop();
            }
        }
        if ids_after != ids_before {
            (self.doc, self.profile) = saved;
            return Err(EditError::DuplicateId { id });
        }
        Ok(id)
    }

    fn locate(&self, id: &str) -> Result<(RuleKind, usize), EditError> {
        self.profile
            .find_rule(id)
            .ok_or_else(|| EditError::NoSuchRule { id: id.to_owned() })
    }

    fn rule_enabled(&self, kind: RuleKind, index: usize) -> bool {
        self.profile
            .rules()
            .iter()
            .find(|r| r.kind == kind && r.index == index)
            .is_some_and(|r| r.enabled)
    }

    /// Runs `change` on the document and re-parses it; on failure the
    /// document is restored and the diagnostics returned.
    fn apply(&mut self, change: impl FnOnce(&mut DocumentMut)) -> Result<(), Diagnostics> {
        let saved = self.doc.clone();
        change(&mut self.doc);
        match check_text(&self.text(), &self.path) {
            Ok(profile) => {
                self.profile = profile;
                Ok(())
            }
            Err(diagnostics) => {
                self.doc = saved;
                Err(diagnostics)
            }
        }
    }
}

/// The profile `text` loads as, or why it would not load.
pub fn check_text(text: &str, path: &Path) -> Result<Profile, Diagnostics> {
    if text.len() as u64 > MAX_FILE_SIZE {
        return Err(Diagnostics(vec![Diagnostic::error(
            path,
            Some(Location { line: 1, column: 1 }),
            Problem::TooLarge { max: MAX_FILE_SIZE },
        )]));
    }
    parse_str(text, path)
}

/// The parser's rule for written ids.
fn valid_rule_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn string_or_array(words: &[String]) -> Value {
    match words {
        [one] => one.as_str().into(),
        many => many
            .iter()
            .map(String::as_str)
            .collect::<toml_edit::Array>()
            .into(),
    }
}

/// Replaces a value, keeping the whitespace and comments around it.
fn replace_value(slot: &mut Value, new: Value) {
    let decor = slot.decor().clone();
    *slot = new;
    *slot.decor_mut() = decor;
}

/// One rule's table, in whichever form the file writes it.
enum RuleTable<'a> {
    Std(&'a mut Table),
    Inline(&'a mut InlineTable),
}

impl RuleTable<'_> {
    fn set(&mut self, key: &str, value: Value) {
        match self {
            Self::Std(table) => match table.get_mut(key).and_then(Item::as_value_mut) {
                Some(slot) => replace_value(slot, value),
                None => {
                    table.insert(key, Item::Value(value));
                }
            },
            Self::Inline(table) => match table.get_mut(key) {
                Some(slot) => replace_value(slot, value),
                None => {
                    // The space before `}` belongs to the last value: hand
                    // it on, or the new pair would be written after it.
                    let closing = last_inline_value(table).map(|last| {
                        let suffix = last.decor().suffix().cloned();
                        last.decor_mut().set_suffix("");
                        suffix
                    });
                    table.insert(key, value);
                    if let (Some(Some(suffix)), Some(new)) = (closing, table.get_mut(key)) {
                        new.decor_mut().set_suffix(suffix);
                    }
                }
            },
        }
    }

    fn remove(&mut self, key: &str) {
        match self {
            Self::Std(table) => {
                table.remove(key);
            }
            Self::Inline(table) => {
                let was_last = table.iter().last().is_some_and(|(k, _)| k == key);
                if let Some(removed) = table.remove(key) {
                    if was_last {
                        if let (Some(suffix), Some(last)) =
                            (removed.decor().suffix(), last_inline_value(table))
                        {
                            last.decor_mut().set_suffix(suffix.clone());
                        }
                    }
                }
            }
        }
    }
}

fn last_inline_value(table: &mut InlineTable) -> Option<&mut Value> {
    table.iter_mut().last().map(|(_, v)| v)
}

/// The table of rule `index` of `kind`. The profile was parsed from this
/// document, one rule per element, so the element exists.
fn rule_table(doc: &mut DocumentMut, kind: RuleKind, index: usize) -> Option<RuleTable<'_>> {
    match doc.as_table_mut().get_mut(kind.word())? {
        Item::ArrayOfTables(tables) => tables.get_mut(index).map(RuleTable::Std),
        Item::Value(Value::Array(array)) => array
            .get_mut(index)
            .and_then(Value::as_inline_table_mut)
            .map(RuleTable::Inline),
        _ => None,
    }
}

/// Removes the rules of `kind` at `indexes`; the key goes when no rule of
/// `[[kind]]` form is left (an empty AoT would have no place in the file to
/// put the next rule of its kind).
fn remove_rules(doc: &mut DocumentMut, kind: RuleKind, indexes: &[usize]) {
    let root = doc.as_table_mut();
    let mut sorted = indexes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    match root.get_mut(kind.word()) {
        Some(Item::ArrayOfTables(tables)) => {
            for &i in sorted.iter().rev() {
                if i < tables.len() {
                    tables.remove(i);
                }
            }
            if tables.is_empty() {
                root.remove(kind.word());
            }
        }
        Some(Item::Value(Value::Array(array))) => {
            for &i in sorted.iter().rev() {
                if i < array.len() {
                    let removed = array.remove(i);
                    // Without this, `[{a}, {b}]` minus `{a}` would become
                    // `[ {b}]`: the first element gives its leading space to
                    // the next, unless it carries a comment.
                    if i == 0 {
                        let prefix = removed.decor().prefix().and_then(|p| p.as_str());
                        if let (Some(prefix), Some(next)) = (prefix, array.get_mut(0)) {
                            if !prefix.contains('#') {
                                next.decor_mut().set_prefix(prefix.to_owned());
                            }
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// Appends a rule with `values` after the last rule of `kind`.
fn append_rule(doc: &mut DocumentMut, kind: RuleKind, values: Vec<(String, Value)>) {
    let end = last_table_position(doc).map_or(1, |p| p + 1);
    let root = doc.as_table_mut();
    match root.get_mut(kind.word()) {
        Some(Item::ArrayOfTables(tables)) => {
            // A table without a position is written right after the one
            // before it in the document tree: the last of its kind.
            tables.push(values.into_iter().collect());
        }
        Some(Item::Value(Value::Array(array))) => {
            let mut table: InlineTable = values.into_iter().collect();
            table.fmt();
            let mut value = Value::InlineTable(table);
            // Multi-line arrays put each element on its own line: follow
            // the indentation of the last one (not its comments).
            if let Some(last) = array.iter().last() {
                let prefix = last.decor().prefix().and_then(|p| p.as_str()).unwrap_or("");
                let new_prefix = match prefix.rfind('\n') {
                    Some(nl) => format!("\n{}", &prefix[nl + 1..]),
                    None => " ".to_owned(),
                };
                value.decor_mut().set_prefix(new_prefix);
            }
            array.push_formatted(value);
        }
        _ => {
            let mut table: Table = values.into_iter().collect();
            table.set_position(Some(end));
            let mut tables = ArrayOfTables::new();
            tables.push(table);
            root.insert(kind.word(), Item::ArrayOfTables(tables));
        }
    }
}

/// The position of the last table header in the document.
fn last_table_position(doc: &DocumentMut) -> Option<isize> {
    doc.as_table()
        .iter()
        .flat_map(|(_, item)| match item {
            Item::Table(t) => vec![t.position()],
            Item::ArrayOfTables(tables) => tables.iter().map(Table::position).collect(),
            _ => Vec::new(),
        })
        .flatten()
        .max()
}
