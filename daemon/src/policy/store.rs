//! Writing profile files: atomically, only valid profiles, and never over
//! a change someone else made in the meantime.
//!
//! A file is replaced by writing a hidden temporary file next to it
//! (`.NAME.tmp-<pid>-<random>`, which [`load_dir`] skips),
//! syncing it, and renaming it over the original, so a reader (the daemon's
//! reload, a crash at any point) sees the old file or the new one, never a
//! mix. The directory is synced afterwards so the rename survives a power
//! loss.
//!
//! Conflicts: [`commit`] writes only if the file still holds exactly the
//! text the edit started from, checked before the temporary file is written
//! and again right before the rename. A change that lands between that last
//! check and the rename (a window of two system calls) is still lost:
//! editors do not lock files, so nothing shorter than a rename can close it.
//! The daemon should treat [`StoreError::Conflict`] by opening the file
//! again and re-applying its change, which also covers the user's edit
//! having removed or changed the rule.

use std::{
    ffi::CString,
    fs::{self, File, OpenOptions},
    hash::{BuildHasher as _, Hasher as _},
    io::{self, Read as _, Write as _},
    os::unix::{
        ffi::OsStrExt as _,
        fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _},
    },
    path::{Path, PathBuf},
};

use bpfbox_policy::{check_text, load_dir, Diagnostics, Profile, ProfileEdit, MAX_FILE_SIZE};

/// The mode of files made by [`create`]: the daemon reads them as root,
/// and users may look at what their applications are allowed.
pub const NEW_FILE_MODE: u32 = 0o644;

/// Longest file name [`create`] accepts: the temporary file's name adds
/// about 30 bytes, and must stay within the usual 255-byte limit.
pub const MAX_FILE_NAME: usize = 200;

/// Why a profile file was not written. The file is then untouched, and no
/// temporary file is left behind.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The text would not load: `path:line:col: error: …` for each problem.
    #[error("{0}")]
    Invalid(Diagnostics),
    /// The file no longer holds the text the edit started from (someone
    /// changed, replaced or removed it): nothing was written.
    #[error("{path}: changed since it was read; not overwriting it")]
    Conflict {
        /// The file.
        path: PathBuf,
    },
    /// [`create`] found a file of that name.
    #[error("{path}: already exists")]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// The path is a symlink, a directory or some other non-file: replacing
    /// it with a regular file would change what it is.
    #[error("{path}: not a regular file")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// A file name a profile cannot have.
    #[error("invalid profile file name `{name}`: {reason}")]
    BadFileName {
        /// The name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Another file of the directory already has a profile for this
    /// executable: the loader would reject one of the two.
    #[error("a profile for `{exe}` already exists in {other}")]
    DuplicateProfile {
        /// The executable.
        exe: PathBuf,
        /// The file that has it.
        other: PathBuf,
    },
    /// A system call failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Checks that `name` can be the file name of a profile the loader reads:
/// ends in `.toml`, not hidden, no `/`, no control characters, at most
/// [`MAX_FILE_NAME`] bytes.
pub fn check_file_name(name: &str) -> Result<(), StoreError> {
    let bad = |reason| {
        Err(StoreError::BadFileName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.contains('/') {
        return bad("it must be a plain file name, without `/`");
    }
    if name.starts_with('.') {
        return bad("hidden files are not loaded");
    }
    if name.len() <= ".toml".len() || !name.ends_with(".toml") {
        return bad("it must end in `.toml`, after at least one character");
    }
    if name.chars().any(char::is_control) {
        return bad("it must not contain control characters");
    }
    if name.len() > MAX_FILE_NAME {
        return bad("it is longer than 200 bytes");
    }
    Ok(())
}

/// Writes `edit` to its file and returns the profile the file now holds.
///
/// Refuses ([`StoreError::Conflict`]) if the file's bytes are no longer
/// [`ProfileEdit::original`], and ([`StoreError::Invalid`]) if the edited
/// text would not load. Keeps the file's permission bits, owner and group
/// (not its ACLs, extended attributes or security label). An edit that
/// changed nothing writes nothing.
pub fn commit(edit: &ProfileEdit) -> Result<Profile, StoreError> {
    commit_with(edit, || {})
}

/// [`commit`], calling `before_recheck` once the temporary file is written:
/// tests use it to change the file at the last moment.
fn commit_with(edit: &ProfileEdit, before_recheck: impl FnOnce()) -> Result<Profile, StoreError> {
    write_over(edit.path(), edit.original(), &edit.text(), before_recheck)
}

/// Replaces the file at `path`, which must still hold `original` (it may be
/// an invalid profile: this is how a broken file gets fixed), with `text`,
/// which must be valid. Atomic and conflict-checked like [`commit`].
pub fn replace(path: &Path, original: &str, text: &str) -> Result<Profile, StoreError> {
    write_over(path, original, text, || {})
}

/// Removes the profile file at `path` if it still holds `original`.
pub fn remove(path: &Path, original: &str) -> Result<(), StoreError> {
    ensure_unchanged(path, original)?;
    fs::remove_file(path).map_err(io_error(path))?;
    let (dir, _) = split(path)?;
    sync_dir(&dir)
}

fn write_over(
    path: &Path,
    original: &str,
    text: &str,
    before_recheck: impl FnOnce(),
) -> Result<Profile, StoreError> {
    let profile = check_text(text, path).map_err(StoreError::Invalid)?;
    if text == original {
        return Ok(profile);
    }
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(StoreError::Conflict {
                path: path.to_owned(),
            })
        }
        Err(err) => return Err(io_error(path)(err)),
    };
    if !meta.file_type().is_file() {
        return Err(StoreError::NotAFile {
            path: path.to_owned(),
        });
    }
    ensure_unchanged(path, original)?;
    let (dir, name) = split(path)?;
    // Set-id and sticky bits mean nothing on a profile; not carrying them
    // over keeps a stray one from spreading.
    let tmp = TempFile::write(&dir, &name, text, meta.mode() & 0o777)?;
    let written = tmp.file.metadata().map_err(io_error(&tmp.path))?;
    if (written.uid(), written.gid()) != (meta.uid(), meta.gid()) {
        std::os::unix::fs::fchown(&tmp.file, Some(meta.uid()), Some(meta.gid()))
            .map_err(io_error(&tmp.path))?;
    }
    tmp.file.sync_all().map_err(io_error(&tmp.path))?;
    before_recheck();
    ensure_unchanged(path, original)?;
    fs::rename(&tmp.path, path).map_err(io_error(path))?;
    tmp.keep();
    sync_dir(&dir)?;
    Ok(profile)
}

/// Creates profile file `file_name` in `dir` with `text`, and returns its
/// profile. Refuses an invalid text, a bad file name, a name that exists
/// ([`StoreError::AlreadyExists`], also when it appears concurrently), and
/// an executable that another file of `dir` already has a profile for.
pub fn create(dir: &Path, file_name: &str, text: &str) -> Result<Profile, StoreError> {
    check_file_name(file_name)?;
    let path = dir.join(file_name);
    let profile = check_text(text, &path).map_err(StoreError::Invalid)?;
    if fs::symlink_metadata(&path).is_ok() {
        return Err(StoreError::AlreadyExists { path });
    }
    // Loading order is by name, so a newcomer could displace the file that
    // confines the executable today.
    let existing = load_dir(dir);
    let other = existing
        .profiles
        .iter()
        .filter(|p| p.profile == profile.profile)
        .filter_map(|p| p.source.clone())
        .chain(
            existing
                .rejected
                .iter()
                .filter(|r| r.exe.as_ref() == Some(&profile.profile))
                .map(|r| r.file.clone()),
        )
        .next();
    if let Some(other) = other {
        return Err(StoreError::DuplicateProfile {
            exe: profile.profile,
            other,
        });
    }
    let tmp = TempFile::write(dir, file_name, text, NEW_FILE_MODE)?;
    tmp.file.sync_all().map_err(io_error(&tmp.path))?;
    rename_noreplace(&tmp.path, &path)?;
    tmp.keep();
    sync_dir(dir)?;
    Ok(profile)
}

/// Fails with `Conflict` unless `path` holds exactly `expected`.
fn ensure_unchanged(path: &Path, expected: &str) -> Result<(), StoreError> {
    let conflict = || StoreError::Conflict {
        path: path.to_owned(),
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(conflict()),
        Err(err) => return Err(io_error(path)(err)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error(path))?;
    if bytes == expected.as_bytes() {
        Ok(())
    } else {
        Err(conflict())
    }
}

fn split(path: &Path) -> Result<(PathBuf, String), StoreError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| StoreError::NotAFile {
            path: path.to_owned(),
        })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name.to_owned()))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// `rename`, failing if `to` exists, even if it appears at the last moment.
fn rename_noreplace(from: &Path, to: &Path) -> Result<(), StoreError> {
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(io::Error::from);
    let (cfrom, cto) = (c(from).map_err(io_error(to))?, c(to).map_err(io_error(to))?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            cfrom.as_ptr(),
            libc::AT_FDCWD,
            cto.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EEXIST) => Err(StoreError::AlreadyExists {
            path: to.to_owned(),
        }),
        // File systems without RENAME_NOREPLACE: a hard link also refuses
        // to replace anything, and the temporary name is dropped after.
        Some(libc::EINVAL | libc::ENOSYS) => match fs::hard_link(from, to) {
            Ok(()) => fs::remove_file(from).map_err(io_error(from)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                Err(StoreError::AlreadyExists {
                    path: to.to_owned(),
                })
            }
            Err(err) => Err(io_error(to)(err)),
        },
        _ => Err(io_error(to)(err)),
    }
}

/// A hidden file next to the target, removed on drop unless kept.
struct TempFile {
    path: PathBuf,
    file: File,
    keep: bool,
}

impl TempFile {
    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> Result<Self, StoreError> {
        let mut attempt = 0;
        let (path, file) = loop {
            let path = dir.join(format!(
                ".{name}.tmp-{}-{:016x}",
                std::process::id(),
                random()
            ));
            // Created unreadable to others until the final mode is set, and
            // never through an existing file or link of the same name.
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(file) => break (path, file),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists && attempt < 16 => {
                    attempt += 1;
                }
                Err(err) => return Err(io_error(&path)(err)),
            }
        };
        let mut tmp = Self {
            path,
            file,
            keep: false,
        };
        tmp.file
            .write_all(text.as_bytes())
            .map_err(io_error(&tmp.path))?;
        tmp.file
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_error(&tmp.path))?;
        Ok(tmp)
    }

    /// The file was renamed into place: nothing to clean up.
    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Unpredictable enough for a temporary name that `create_new` guards
/// anyway: the standard library seeds each `RandomState` from the OS.
fn random() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos())),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_while_the_new_text_is_written_is_caught_and_the_temporary_file_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.toml");
        let text = "profile = '/bin/app'\n[[fs]]\nid = 'a'\nfile = '/a'\naccess = 'read'\n";
        fs::write(&path, text).unwrap();
        let mut edit = ProfileEdit::open(&path).unwrap();
        edit.set_rule_enabled("a", false).unwrap();
        let theirs = format!("{text}# theirs\n");
        let mut temporaries = Vec::new();
        let err = commit_with(&edit, || {
            temporaries = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".app.toml.tmp-"))
                .collect();
            fs::write(&path, &theirs).unwrap();
        })
        .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        assert_eq!(
            temporaries.len(),
            1,
            "the new text was staged in a hidden file"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), theirs);
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only app.toml is left");
    }
}

/// The whole behaviour, on real files.
#[cfg(test)]
mod writes;
