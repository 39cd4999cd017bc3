//! bpfboxd's protection of itself against confined tasks, whatever their
//! profiles say (docs/kernel.md, "Self-protection").
//!
//! The kernel denies confined tasks every signal, ptrace and `/proc` access
//! to the daemon's process (its tgid in `config`) and the accesses each
//! entry of the `protected` map names on bpfboxd's places:
//! - **its own places** — the policy directory and the packaged profiles
//!   (subtrees), the configuration directory (a subtree) or file, its
//!   binary, and its pins in bpffs (a subtree): no write, append, change of
//!   attributes, removal or link ([`bpfbox_abi::PROTECT_ALL`]);
//! - **every directory above them**, and every symbolic link on the way:
//!   no removal, rename, replacement or change of owner or mode
//!   ([`bpfbox_abi::PROTECT_PLACE`]), so no one moves a place away and puts
//!   another at its path (new entries beside them stay allowed).
//!
//! A place that does not exist (no packaged profiles) has its nearest
//! existing ancestor guarded as a place.
//!
//! The daemon also refuses a policy directory or configuration file that
//! someone other than root could have changed: every directory on the way
//! must be root's and writable by no one else, unless it is sticky.

use std::{
    collections::BTreeMap,
    fs,
    os::unix::fs::{DirBuilderExt as _, MetadataExt as _},
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use bpfbox_abi::{ProtectedKey, PROTECT_ALL, PROTECT_PLACE, SCOPE_INODE, SCOPE_SUBTREE};

use crate::{
    config::{Settings, DEFAULT_CONFIG},
    kernel::{self, Kernel},
    policy::identity::{self, Mounts},
};

/// A place and how it is guarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub path: PathBuf,
    /// The whole subtree, or the object alone.
    pub subtree: bool,
}

/// bpfboxd's own places for `settings`, its binary `exe` included.
#[must_use]
pub fn places(settings: &Settings, exe: &Path) -> Vec<Place> {
    let subtree = |path: &Path| Place {
        path: path.to_path_buf(),
        subtree: true,
    };
    let object = |path: &Path| Place {
        path: path.to_path_buf(),
        subtree: false,
    };
    let mut places = vec![
        subtree(&settings.policy_dir),
        subtree(&settings.packaged_dir),
        subtree(Path::new(kernel::pins::PIN_ROOT)),
        object(exe),
    ];
    // the default configuration's directory is bpfbox's own: guarding all
    // of it keeps anyone from creating the file the next start reads
    if let Some(dir) = Path::new(DEFAULT_CONFIG).parent() {
        places.push(subtree(dir));
    }
    if let Some(file) = &settings.config_file {
        places.push(object(file));
    }
    places
}

/// The `protected` entries for `places` as this machine has them now.
fn protected_keys(places: &[Place], mounts: &Mounts) -> BTreeMap<ProtectedKey, u32> {
    let mut keys = BTreeMap::new();
    let mut add = |key: bpfbox_abi::InodeKey, scope, denied: u32| {
        *keys
            .entry(ProtectedKey {
                ino: key.ino,
                dev: key.dev,
                scope,
            })
            .or_insert(0) |= denied;
    };
    for place in places {
        let real = identity::real_path(&place.path);
        match mounts.identity(&real) {
            Ok(id) => {
                let scope = if place.subtree {
                    SCOPE_SUBTREE
                } else {
                    SCOPE_INODE
                };
                add(id, scope, PROTECT_ALL);
            }
            Err(err) => tracing::debug!(place = %place.path.display(), "not there: {err}"),
        }
        // every directory above the place, and every link on the way as
        // it is written (a link is an entry that could be replaced)
        for ancestor in real.ancestors().skip(1) {
            if let Ok(id) = mounts.identity(ancestor) {
                add(id, SCOPE_INODE, PROTECT_PLACE);
            }
        }
        for on_the_way in place.path.ancestors() {
            if fs::symlink_metadata(on_the_way).is_ok_and(|m| m.file_type().is_symlink()) {
                if let Ok(id) = mounts.link_identity(on_the_way) {
                    add(id, SCOPE_INODE, PROTECT_PLACE);
                }
            }
        }
    }
    keys
}

/// Puts bpfboxd's process and places out of reach of every confined task.
pub fn guard(kernel: &mut Kernel, settings: &Settings) -> anyhow::Result<()> {
    kernel.set_daemon(std::process::id())?;
    let exe = std::env::current_exe().context("failed to find bpfboxd's own binary")?;
    if settings.config_file.is_none() {
        // nothing to read now, but the next start reads what is put there
        if let Some(dir) = Path::new(DEFAULT_CONFIG).parent() {
            let _ = fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir);
        }
    }
    let places = places(settings, &exe);
    let mounts = Mounts::read().context("failed to read mountinfo")?;
    let keys = protected_keys(&places, &mounts);
    kernel.protect(&keys)?;
    tracing::info!(
        places = places.len(),
        entries = keys.len(),
        policy_dir = %settings.policy_dir.display(),
        exe = %exe.display(),
        "self-protection on"
    );
    Ok(())
}

/// Why a path is not one only root could have changed.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// It or a directory above it cannot be examined.
    #[error("cannot examine {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Someone other than root owns it.
    #[error("{} belongs to uid {uid}, not root: anyone who owns it can change what is under it", .path.display())]
    NotRoots { path: PathBuf, uid: u32 },
    /// Someone other than root may write it.
    #[error("{} is writable by {who}: they could replace what is under it", .path.display())]
    Writable { path: PathBuf, who: &'static str },
}

/// Whether only root could have changed `path`: it and every directory
/// above it (symbolic links resolved) are root's, and none is writable by
/// its group or others unless it is sticky (as `/tmp`: others cannot
/// rename or remove root's entries there).
pub fn check_only_root_could_change(path: &Path) -> Result<(), TrustError> {
    let real = fs::canonicalize(path).map_err(|source| TrustError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    for each in real.ancestors() {
        let meta = fs::metadata(each).map_err(|source| TrustError::Io {
            path: each.to_path_buf(),
            source,
        })?;
        if meta.uid() != 0 {
            return Err(TrustError::NotRoots {
                path: each.to_path_buf(),
                uid: meta.uid(),
            });
        }
        let mode = meta.mode();
        let sticky = mode & 0o1000 != 0 && meta.is_dir();
        let who = if mode & 0o002 != 0 {
            Some("everyone")
        } else if mode & 0o020 != 0 && meta.gid() != 0 {
            Some("its group")
        } else {
            None
        };
        if let (Some(who), false) = (who, sticky && each != real) {
            return Err(TrustError::Writable {
                path: each.to_path_buf(),
                who,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(policy: &str) -> Settings {
        let mut s = Settings::from_file(crate::config::FileConfig::default());
        s.policy_dir = policy.into();
        s
    }

    #[test]
    fn bpfboxds_places_are_its_policy_packages_configuration_pins_and_binary() {
        let places = places(
            &settings("/var/lib/bpfbox/policy"),
            Path::new("/usr/sbin/bpfboxd"),
        );
        let subtrees: Vec<&Path> = places
            .iter()
            .filter(|p| p.subtree)
            .map(|p| p.path.as_path())
            .collect();
        assert_eq!(
            subtrees,
            [
                Path::new("/var/lib/bpfbox/policy"),
                Path::new("/usr/share/bpfbox/profiles"),
                Path::new("/sys/fs/bpf/bpfbox"),
                Path::new("/etc/bpfbox"),
            ]
        );
        assert!(places.contains(&Place {
            path: "/usr/sbin/bpfboxd".into(),
            subtree: false
        }));
    }

    #[test]
    fn every_directory_above_a_place_is_guarded_as_a_place() {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("a/policy");
        fs::create_dir_all(&policy).unwrap();
        let mounts = Mounts::read().unwrap();
        let keys = protected_keys(
            &[Place {
                path: policy.clone(),
                subtree: true,
            }],
            &mounts,
        );
        let key = |path: &Path, scope| {
            let id = mounts.identity(path).unwrap();
            ProtectedKey {
                ino: id.ino,
                dev: id.dev,
                scope,
            }
        };
        assert_eq!(keys[&key(&policy, SCOPE_SUBTREE)], PROTECT_ALL);
        assert_eq!(
            keys[&key(&dir.path().join("a"), SCOPE_INODE)],
            PROTECT_PLACE
        );
        assert_eq!(keys[&key(Path::new("/"), SCOPE_INODE)], PROTECT_PLACE);
    }

    #[test]
    fn a_missing_place_guards_its_nearest_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let mounts = Mounts::read().unwrap();
        let keys = protected_keys(
            &[Place {
                path: dir.path().join("not/yet"),
                subtree: true,
            }],
            &mounts,
        );
        let id = mounts.identity(dir.path()).unwrap();
        let key = ProtectedKey {
            ino: id.ino,
            dev: id.dev,
            scope: SCOPE_INODE,
        };
        assert_eq!(keys.get(&key), Some(&PROTECT_PLACE));
    }

    #[test]
    fn a_directory_others_may_write_is_refused_and_a_sticky_one_is_not() {
        use std::os::unix::fs::PermissionsExt as _;
        // the check is about root's files: only meaningful as root
        // SAFETY: geteuid has no preconditions
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        let inner = open.join("policy");
        fs::create_dir_all(&inner).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_only_root_could_change(&inner).unwrap_err();
        assert!(
            matches!(
                err,
                TrustError::Writable {
                    who: "everyone",
                    ..
                }
            ),
            "{err}"
        );
        fs::set_permissions(&open, fs::Permissions::from_mode(0o1777)).unwrap();
        check_only_root_could_change(&inner).unwrap();
    }
}
