//! Reading profile files: a policy directory for the daemon, any files and
//! directories for `bpfboxd check`.
//!
//! One bad file never keeps the good ones from loading. A rejected file's
//! executable runs unconfined unless the daemon does something about it,
//! so [`LoadReport::rejected`] names it when it could be read: the daemon
//! can keep the previous version of that profile (see docs/policy.md).

use std::{
    collections::BTreeMap,
    fs,
    io::Read as _,
    path::{Path, PathBuf},
};

use crate::{
    context::{split_func, MAX_CONTEXTS},
    diagnostics::{Diagnostic, Location, Problem, Severity},
    model::{ContextKind, Profile},
    parse::{parse_document, Parsed},
};

/// Profile files larger than this are rejected unread.
pub const MAX_FILE_SIZE: u64 = 8 << 20;

/// A file that did not load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The file.
    pub file: PathBuf,
    /// Its `profile` (executable), if that much could be read.
    pub exe: Option<PathBuf>,
}

/// The result of loading a policy directory.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// The profiles of every good file, sorted by file name.
    pub profiles: Vec<Profile>,
    /// Errors (of rejected files) and warnings (of loaded files).
    pub diagnostics: Vec<Diagnostic>,
    /// The files that did not load.
    pub rejected: Vec<Rejected>,
    /// Every `func`/`kfunc` value of the loaded profiles and where it was
    /// written: what the daemon checks against the machine's binaries and
    /// kernel before attaching probes.
    pub contexts: Vec<ContextUse>,
    /// Every loaded profile's `profile` value and where it was written.
    pub executables: Vec<ExecutableUse>,
}

/// The `profile` value of a loaded profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutableUse {
    /// The profile file.
    pub file: PathBuf,
    /// The executable.
    pub exe: PathBuf,
    /// Where it was written.
    pub location: Location,
}

/// One `func`/`kfunc` value of a loaded profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextUse {
    /// The profile file.
    pub file: PathBuf,
    /// The profile's executable.
    pub exe: PathBuf,
    /// `func` or `kfunc`.
    pub kind: ContextKind,
    /// The value as written (`SYMBOL` or `LIBRARY:SYMBOL` for a `func`).
    pub name: String,
    /// Where it was written.
    pub location: Location,
}

impl LoadReport {
    /// Whether some file was rejected.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Loads every profile of directory `dir`: its files named `*.toml`, in
/// name order, except hidden ones (`.name.toml`, editors' temporary files).
/// Subdirectories are not read. A second file for an executable already
/// seen is rejected, naming the first.
#[must_use]
pub fn load_dir(dir: &Path) -> LoadReport {
    let mut loader = Loader::default();
    loader.dir(dir);
    loader.report
}

/// Loads one profile file.
pub fn load_file(path: &Path) -> Result<Profile, crate::Diagnostics> {
    let mut loader = Loader::default();
    loader.file(path);
    match loader.report.profiles.pop() {
        Some(profile) => Ok(profile),
        None => Err(crate::Diagnostics(loader.report.diagnostics)),
    }
}

/// `bpfboxd check [PATH…]`: every problem in the given files and
/// directories (as [`load_dir`] reads them), across all of them: duplicate
/// executables, too many function contexts. Nothing is compiled or loaded
/// into the kernel. Errors and warnings both come back; a caller exits
/// non-zero when [`Diagnostic::is_error`] holds for one of them.
#[must_use]
pub fn lint(paths: &[PathBuf]) -> Vec<Diagnostic> {
    lint_report(paths).diagnostics
}

/// [`lint`], with the profiles and context uses it read, for callers that
/// check more against the machine.
#[must_use]
pub fn lint_report(paths: &[PathBuf]) -> LoadReport {
    let mut loader = Loader::default();
    for path in paths {
        if path.is_dir() {
            loader.dir(path);
        } else {
            loader.file(path);
        }
    }
    loader.check_contexts();
    loader.report
}

/// Warns about every loaded profile whose executable is a symbolic link:
/// the kernel confines the file a link points to (docs/policy.md). It
/// looks at the executables' paths on this machine, so `bpfboxd check` and
/// `bpfbox check` both say it.
pub fn check_executable_links(report: &mut LoadReport) {
    for used in &report.executables {
        let is_link = fs::symlink_metadata(&used.exe).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            continue;
        }
        let target = fs::canonicalize(&used.exe)
            .or_else(|_| fs::read_link(&used.exe))
            .unwrap_or_default();
        report.diagnostics.push(Diagnostic {
            path: used.file.clone(),
            location: Some(used.location),
            severity: Severity::Warning,
            problem: Problem::ExecutableIsSymlink { target },
        });
    }
}

#[derive(Default)]
struct Loader {
    report: LoadReport,
    /// Executable → the file that defined it.
    seen: BTreeMap<PathBuf, PathBuf>,
}

impl Loader {
    fn dir(&mut self, dir: &Path) {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) => {
                self.io_error(dir, &err);
                return;
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.ends_with(".toml") && !name.starts_with('.') && !p.is_dir()
            })
            .collect();
        files.sort();
        for file in files {
            self.file(&file);
        }
    }

    fn file(&mut self, path: &Path) {
        let text = match read_limited(path) {
            Ok(text) => text,
            Err(problem) => {
                let location = match &problem {
                    Problem::NotUtf8 | Problem::TooLarge { .. } => {
                        Some(Location { line: 1, column: 1 })
                    }
                    _ => None,
                };
                self.report
                    .diagnostics
                    .push(Diagnostic::error(path, location, problem));
                self.report.rejected.push(Rejected {
                    file: path.to_owned(),
                    exe: None,
                });
                return;
            }
        };
        let Parsed {
            profile,
            exe,
            diagnostics,
            contexts,
        } = parse_document(&text, path);
        self.report.diagnostics.extend(diagnostics);
        if let Some((exe, location)) = &exe {
            if let Some(other) = self.seen.get(exe) {
                self.report.diagnostics.push(Diagnostic {
                    path: path.to_owned(),
                    location: Some(*location),
                    severity: Severity::Error,
                    problem: Problem::DuplicateProfile {
                        exe: exe.display().to_string(),
                        other: other.clone(),
                    },
                });
                self.report.rejected.push(Rejected {
                    file: path.to_owned(),
                    exe: Some(exe.clone()),
                });
                return;
            }
        }
        match profile {
            Some(profile) => {
                self.seen.insert(profile.profile.clone(), path.to_owned());
                if let Some((_, location)) = exe {
                    self.report.executables.push(ExecutableUse {
                        file: path.to_owned(),
                        exe: profile.profile.clone(),
                        location,
                    });
                }
                for (kind, name, location) in contexts {
                    self.report.contexts.push(ContextUse {
                        file: path.to_owned(),
                        exe: profile.profile.clone(),
                        kind,
                        name,
                        location,
                    });
                }
                self.report.profiles.push(profile);
            }
            None => self.report.rejected.push(Rejected {
                file: path.to_owned(),
                exe: exe.map(|(e, _)| e),
            }),
        }
    }

    /// Reports the first context use beyond the kernel's limit, counting
    /// distinct contexts in load order.
    fn check_contexts(&mut self) {
        let mut distinct = std::collections::HashSet::new();
        for ContextUse {
            file,
            exe,
            kind,
            name,
            location,
        } in &self.report.contexts
        {
            let key = match (kind, split_func(name)) {
                (ContextKind::Func, (Some(library), symbol)) => {
                    (Some(PathBuf::from(library)), *kind, symbol.to_owned())
                }
                (ContextKind::Func, (None, _)) => (Some(exe.clone()), *kind, name.clone()),
                (ContextKind::Kfunc, _) => (None, *kind, name.clone()),
            };
            if distinct.insert(key) && distinct.len() > MAX_CONTEXTS {
                self.report.diagnostics.push(Diagnostic::error(
                    file,
                    Some(*location),
                    Problem::TooManyContexts {
                        name: name.clone(),
                        count: distinct.len(),
                        max: MAX_CONTEXTS,
                    },
                ));
                return;
            }
        }
    }

    fn io_error(&mut self, path: &Path, err: &std::io::Error) {
        self.report.diagnostics.push(Diagnostic::error(
            path,
            None,
            Problem::Io {
                message: err.to_string(),
            },
        ));
    }
}

pub(crate) fn read_limited(path: &Path) -> Result<String, Problem> {
    let io = |err: std::io::Error| Problem::Io {
        message: err.to_string(),
    };
    let file = fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(Problem::TooLarge { max: MAX_FILE_SIZE });
    }
    String::from_utf8(bytes).map_err(|_| Problem::NotUtf8)
}
