//! Problems found in profile files, each tied to a file, line and column:
//! `path:line:col: error: message`.

use std::{fmt, ops::Range, path::PathBuf};

use crate::{expiry::ExpiryError, glob::GlobError};

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The file is rejected.
    Error,
    /// The file loads, but probably does not do what was meant.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
        })
    }
}

/// What is wrong. The message says what was found and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The file is not TOML.
    #[error("invalid TOML: {message}")]
    Syntax {
        /// The TOML parser's message.
        message: String,
    },
    /// A key the format does not have.
    #[error("unknown key `{key}` in {table}; expected one of: {}", .expected.join(", "))]
    UnknownKey {
        /// The key.
        key: String,
        /// Where: "the top level", "`[[fs]]`"…
        table: String,
        /// The keys that table may have.
        expected: Vec<&'static str>,
    },
    /// A required key is absent.
    #[error("missing key `{key}` in {table}")]
    MissingKey {
        /// The key.
        key: &'static str,
        /// Where.
        table: String,
    },
    /// A value of the wrong TOML type.
    #[error("`{key}` must be {expected}, found {found}")]
    WrongType {
        /// The key.
        key: String,
        /// What it must be ("a string", "a string or an array of strings").
        expected: &'static str,
        /// The TOML type found.
        found: &'static str,
    },
    /// A word that is not in the key's vocabulary.
    #[error("unknown {what} `{word}` in `{key}`; expected one of: {}", .expected.join(", "))]
    UnknownWord {
        /// The key.
        key: String,
        /// What the word names ("access", "family", "mode"…).
        what: &'static str,
        /// The word.
        word: String,
        /// The valid words.
        expected: Vec<&'static str>,
    },
    /// `[]` where at least one value is needed.
    #[error("`{key}` must not be empty: expected at least one {what}")]
    EmptyList {
        /// The key.
        key: String,
        /// What one element is.
        what: &'static str,
    },
    /// A path or path pattern that is not valid.
    #[error("invalid path `{value}` in `{key}`: {reason}")]
    BadPath {
        /// The key.
        key: String,
        /// The path.
        value: String,
        /// Why.
        reason: GlobError,
    },
    /// `expires` is not a valid expiry.
    #[error("invalid `expires` value `{value}`: {reason}")]
    BadExpiry {
        /// The value as written.
        value: String,
        /// Why.
        reason: ExpiryError,
    },
    /// A rule id with characters the format does not allow.
    #[error("invalid rule id `{id}`: expected 1 to 128 letters, digits, `-`, `_`, `.` or `:`")]
    BadId {
        /// The id.
        id: String,
    },
    /// Two rules with the same written id.
    #[error("duplicate rule id `{id}` (first used on line {first_line})")]
    DuplicateId {
        /// The id.
        id: String,
        /// Where it was first used.
        first_line: usize,
    },
    /// A `func`/`kfunc` value that cannot be a symbol.
    #[error("invalid function name `{value}` in `{key}`: expected a symbol name (no spaces or control characters, at most 255 bytes); a `func` may name a library function as LIBRARY:SYMBOL")]
    BadSymbol {
        /// `func` or `kfunc`.
        key: &'static str,
        /// The value.
        value: String,
    },
    /// A target that is neither a keyword nor an executable path.
    #[error("invalid target `{value}`: expected \"self\", \"unconfined\", \"any\" or an executable's absolute path ({reason})")]
    BadTarget {
        /// The value.
        value: String,
        /// Why it is not a path.
        reason: GlobError,
    },
    /// Two files define a profile for the same executable.
    #[error("profile for `{exe}` is already defined in {}; this file is ignored", .other.display())]
    DuplicateProfile {
        /// The executable.
        exe: String,
        /// The file that defined it first.
        other: PathBuf,
    },
    /// More distinct function contexts than the kernel has bits for.
    #[error("too many function contexts: `{name}` would be number {count}, the kernel has {max}")]
    TooManyContexts {
        /// The context that does not fit.
        name: String,
        /// Its number (1-based).
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A `func`/`kfunc` names a function that cannot be probed on this
    /// machine: no such symbol, a stripped binary, no such kernel function.
    #[error("{key} `{name}`: {reason}")]
    BadFunction {
        /// `func` or `kfunc`.
        key: &'static str,
        /// The value as written.
        name: String,
        /// Why it cannot be probed, naming the file searched.
        reason: String,
    },
    /// The file could not be read.
    #[error("cannot read the file: {message}")]
    Io {
        /// The system's message.
        message: String,
    },
    /// The file is not UTF-8 text.
    #[error("invalid UTF-8: profiles are UTF-8 text")]
    NotUtf8,
    /// The file is unreasonably large for a profile.
    #[error("file is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// Warning: `profile` names a symbolic link. The kernel execs, and
    /// confines, the file a link points to: a link pointed elsewhere later
    /// (`update-alternatives`) is followed only when bpfboxd looks again.
    #[error("`profile` is a symbolic link to {}: the kernel confines the file a link points to, so name that file (a link pointed elsewhere is followed only once bpfboxd has looked again)", .target.display())]
    ExecutableIsSymlink {
        /// The file the link resolves to now.
        target: PathBuf,
    },
    /// Warning: a capability that lets a process get around bpfbox itself.
    #[error("capability `{capability}` lets a confined process get around its profile: {why}")]
    EscapeCapability {
        /// The capability (or `any`).
        capability: String,
        /// What it opens.
        why: &'static str,
    },
    /// Warning: a profile that can never deny anything.
    #[error("`taint_on_exec = false` and no enabled rule has the `taint` action: this profile never denies anything")]
    NeverEnforced,
}

/// Where in a file: 1-based line and column (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in characters.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` of `text`.
    #[must_use]
    pub fn of_offset(text: &str, offset: usize) -> Self {
        LineIndex::new(text).location(offset)
    }
}

/// Where each line of a text starts, so that locating many offsets in a
/// large file stays linear.
#[derive(Clone, Debug)]
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, starts }
    }

    /// The location of byte `offset` (clamped to the text).
    pub(crate) fn location(&self, offset: usize) -> Location {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        Location {
            line,
            column: self.text[start..offset].chars().count() + 1,
        }
    }

    /// The location of the start of `span` (the text's start without one).
    pub(crate) fn span(&self, span: Option<Range<usize>>) -> Location {
        self.location(span.map_or(0, |s| s.start))
    }
}

/// One problem in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub path: PathBuf,
    /// Where in it; `None` only when the file could not be read at all.
    pub location: Option<Location>,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub problem: Problem,
}

impl Diagnostic {
    /// An error at `location` of `path`.
    #[must_use]
    pub fn error(path: impl Into<PathBuf>, location: Option<Location>, problem: Problem) -> Self {
        Self {
            path: path.into(),
            location,
            severity: Severity::Error,
            problem,
        }
    }

    /// Whether this rejects the file.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(Location { line, column }) = self.location {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": {}: {}", self.severity, self.problem)
    }
}

/// The problems of one or more files, one per line when displayed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Whether any of them is an error.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// The diagnostics.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based_lines_and_character_columns() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(
            Location::of_offset(text, 0),
            Location { line: 1, column: 1 }
        );
        assert_eq!(
            Location::of_offset(text, 6),
            Location { line: 2, column: 1 }
        );
        // byte 10 is after "bé " (é is two bytes): column 4
        assert_eq!(
            Location::of_offset(text, 10),
            Location { line: 2, column: 4 }
        );
        assert_eq!(
            Location::of_offset(text, 999),
            Location { line: 3, column: 1 }
        );
    }

    #[test]
    fn display_is_path_line_column_severity_message() {
        let d = Diagnostic::error(
            "/p/ls.toml",
            Some(Location { line: 3, column: 7 }),
            Problem::MissingKey {
                key: "access",
                table: "[[fs]]".into(),
            },
        );
        assert_eq!(
            d.to_string(),
            "/p/ls.toml:3:7: error: missing key `access` in [[fs]]"
        );
        let io = Diagnostic::error(
            "/p/x.toml",
            None,
            Problem::Io {
                message: "denied".into(),
            },
        );
        assert_eq!(
            io.to_string(),
            "/p/x.toml: error: cannot read the file: denied"
        );
    }
}
