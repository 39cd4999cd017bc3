//! Noticing what a reload must follow (inotify): edits in the policy
//! directory, and changes at the profiles' executable paths (a package
//! upgrade renames a new file over the old one; an app installed later
//! creates its directories).
//!
//! The kernel already confines whatever file is at a profile's path by the
//! path alone (docs/kernel.md, "Who is confined"); the reload that follows
//! such a change gives the new file its identity key, its function probes
//! and its place in the D-Bus API.

use std::{
    collections::{BTreeMap, BTreeSet},
    os::unix::fs::MetadataExt as _,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

/// The watches: the policy directory, and every existing directory on the
/// way to an executable path.
pub struct Watch {
    watcher: RecommendedWatcher,
    policy_dir: PathBuf,
    /// The directories watched for executables, with the (device, inode)
    /// each was when its watch was set.
    watched: BTreeMap<PathBuf, (u64, u64)>,
    /// Executable paths and their ancestors: an event naming one of them
    /// may have changed what file is at a profile's path.
    on_the_way: Arc<Mutex<BTreeSet<PathBuf>>>,
}

/// Watches the policy directory `dir`; every change to a file in it sends
/// one `()`, as does every change on the way to an executable that
/// [`Watch::follow_executables`] names. Editors save by writing a temporary
/// file and renaming it over the profile, and package managers install the
/// same way, which arrives as several events: the receiver debounces.
pub fn watch(dir: &Path) -> notify::Result<(Watch, mpsc::UnboundedReceiver<()>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let on_the_way: Arc<Mutex<BTreeSet<PathBuf>>> = Arc::default();
    let policy_dir = dir.to_path_buf();
    let (paths, in_policy) = (Arc::clone(&on_the_way), policy_dir.clone());
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            // a reload is the safe answer to "something happened"
            let _ = tx.send(());
            return;
        };
        if event.kind.is_access() {
            return;
        }
        let paths = paths.lock().unwrap_or_else(PoisonError::into_inner);
        let relevant = event.paths.is_empty()
            || event
                .paths
                .iter()
                .any(|p| p.parent() == Some(&in_policy) || p == &in_policy || paths.contains(p));
        if relevant {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok((
        Watch {
            watcher,
            policy_dir,
            watched: BTreeMap::new(),
            on_the_way,
        },
        rx,
    ))
}

impl Watch {
    /// Follows changes at `executables` (each profile's path as written
    /// and as the kernel names it): a watch on every existing directory
    /// above each, so a file replaced, removed or created, and a directory
    /// on the way renamed, removed or created, all send a reload.
    pub fn follow_executables(&mut self, executables: &[PathBuf]) {
        let on_the_way: BTreeSet<PathBuf> = executables
            .iter()
            .flat_map(|exe| exe.ancestors().map(Path::to_path_buf))
            .collect();
        let wanted: BTreeMap<PathBuf, (u64, u64)> = on_the_way
            .iter()
            .filter(|dir| !executables.contains(dir) && **dir != self.policy_dir)
            .filter_map(|dir| {
                let meta = std::fs::metadata(dir)
                    .ok()
                    .filter(std::fs::Metadata::is_dir)?;
                Some((dir.clone(), (meta.dev(), meta.ino())))
            })
            .collect();
        *self
            .on_the_way
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = on_the_way;
        // a watch belongs to the directory's inode: one renamed away or
        // created anew at the same path is watched again; an unchanged one
        // keeps its watch, so no event is missed in between
        let stale: Vec<PathBuf> = self
            .watched
            .iter()
            .filter(|(dir, id)| wanted.get(*dir) != Some(id))
            .map(|(dir, _)| dir.clone())
            .collect();
        for dir in stale {
            let _ = self.watcher.unwatch(&dir);
            self.watched.remove(&dir);
        }
        for (dir, id) in wanted {
            if self.watched.contains_key(&dir) {
                continue;
            }
            match self.watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watched.insert(dir, id);
                }
                Err(err) => tracing::warn!(
                    dir = %dir.display(),
                    "cannot watch a directory on the way to a profile's executable: {err}"
                ),
            }
        }
    }
}
