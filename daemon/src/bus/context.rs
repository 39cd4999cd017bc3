//! What every D-Bus object of the daemon works with, and the one path by
//! which the API changes policy: edit the file, write it atomically, reload,
//! answer when the kernel holds the result.

use std::{collections::BTreeMap, sync::Arc};

use bpfbox_dbus::Error;
use bpfbox_policy::{EditError, ProfileEdit};
use tokio::sync::{oneshot, Mutex};

use crate::{
    policy::{
        source::ProfileView,
        store::{self, StoreError},
    },
    state::{Control, ControlSender, DaemonState, Reloaded},
};

/// A client that asked for `Denied` signals.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub uid: u32,
}

pub struct Context {
    pub shared: Arc<DaemonState>,
    pub control: ControlSender,
    /// One edit at a time: two callers changing one file would otherwise
    /// refuse each other as conflicting edits.
    edits: Mutex<()>,
    /// By unique bus name.
    pub subscribers: std::sync::Mutex<BTreeMap<String, Subscriber>>,
}

impl Context {
    pub fn new(shared: Arc<DaemonState>, control: ControlSender) -> Arc<Self> {
        Arc::new(Self {
            shared,
            control,
            edits: Mutex::new(()),
            subscribers: std::sync::Mutex::new(BTreeMap::new()),
        })
    }

    pub fn profile(&self, id: u64) -> Result<ProfileView, Error> {
        self.shared
            .view()
            .profiles
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::NoSuchProfile(format!("no profile with id {id:016x} is loaded")))
    }

    /// Reloads the policy; returns once the kernel maps hold it.
    pub async fn reload(&self) -> Result<Reloaded, Error> {
        let (tx, rx) = oneshot::channel();
        self.control
            .send(Control::Reload(tx))
            .await
            .map_err(|_| Error::Failed("the policy task is gone".into()))?;
        rx.await
            .map_err(|_| Error::Failed("the policy task is gone".into()))?
            .map_err(Error::Failed)
    }

    /// Changes profile `id`'s file with `change`, writes it atomically and
    /// reloads. The running policy stays as it was when anything fails.
    pub async fn edit<T>(
        &self,
        id: u64,
        change: impl FnOnce(&mut ProfileEdit) -> Result<T, EditError>,
    ) -> Result<T, Error> {
        let _one_at_a_time = self.edits.lock().await;
        let profile = self.profile(id)?;
        let mut edit = ProfileEdit::open(&profile.file).map_err(edit_error)?;
        let out = change(&mut edit).map_err(edit_error)?;
        store::commit(&edit).map_err(store_error)?;
        self.reload().await?;
        Ok(out)
    }
}

impl Context {
    /// The packaged version of profile file `file`, if a package ships one.
    pub fn packaged_text(&self, file: &std::path::Path) -> Option<String> {
        let name = file.file_name()?;
        std::fs::read_to_string(self.shared.packaged_dir.join(name)).ok()
    }

    /// Replaces profile `id`'s file with `text`: valid, same executable, and
    /// refused when the file no longer holds `previous` (when given).
    pub async fn replace(&self, id: u64, previous: Option<&str>, text: &str) -> Result<(), Error> {
        let _one_at_a_time = self.edits.lock().await;
        let profile = self.profile(id)?;
        let current = std::fs::read_to_string(&profile.file)
            .map_err(|e| Error::Failed(format!("cannot read {}: {e}", profile.file.display())))?;
        if previous.is_some_and(|p| p != current) {
            return Err(Error::Conflict(format!(
                "{} changed since you read it; nothing was written",
                profile.file.display()
            )));
        }
        let new = bpfbox_policy::parse_str(text, &profile.file)
            .map_err(|d| Error::PolicyInvalid(d.to_string()))?;
        if new.profile != profile.profile.profile {
            return Err(Error::InvalidArgument(format!(
                "the text confines {} instead of {}: create a new profile for it",
                new.profile.display(),
                profile.profile.profile.display()
            )));
        }
        store::replace(&profile.file, &current, text).map_err(store_error)?;
        self.reload().await?;
        Ok(())
    }

    /// Removes profile `id`'s file: the executable is no longer confined.
    pub async fn delete(&self, id: u64) -> Result<(), Error> {
        let _one_at_a_time = self.edits.lock().await;
        let profile = self.profile(id)?;
        let current = std::fs::read_to_string(&profile.file)
            .map_err(|e| Error::Failed(format!("cannot read {}: {e}", profile.file.display())))?;
        store::remove(&profile.file, &current).map_err(store_error)?;
        self.reload().await?;
        Ok(())
    }

    /// Creates a profile file from `text` (named `file_name`, or after the
    /// executable) and returns the new profile's id once it is enforced.
    pub async fn create(&self, text: &str, file_name: Option<&str>) -> Result<u64, Error> {
        let _one_at_a_time = self.edits.lock().await;
        let dir = &self.shared.policy_dir;
        let parsed = bpfbox_policy::parse_str(text, &dir.join(file_name.unwrap_or("new.toml")))
            .map_err(|d| Error::PolicyInvalid(d.to_string()))?;
        let id = parsed.id();
        if self.shared.view().profiles.contains_key(&id) {
            return Err(Error::InvalidArgument(format!(
                "{} already has a profile: change that one",
                parsed.profile.display()
            )));
        }
        let name = match file_name {
            Some(name) => name.to_owned(),
            None => {
                let stem = parsed
                    .profile
                    .file_name()
                    .map_or_else(|| "profile".into(), |n| n.to_string_lossy().into_owned());
                let stem: String = stem
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                let stem = stem.trim_start_matches('.').to_owned();
                (0..100)
                    .map(|n| {
                        if n == 0 {
                            format!("{stem}.toml")
                        } else {
                            format!("{stem}-{n}.toml")
                        }
                    })
                    .find(|name| !dir.join(name).exists())
                    .ok_or_else(|| Error::Failed("no free file name".into()))?
            }
        };
        store::create(dir, &name, text).map_err(store_error)?;
        self.reload().await?;
        Ok(id)
    }
}

pub fn edit_error(err: EditError) -> Error {
    match err {
        EditError::NoSuchRule { .. } => Error::NoSuchRule(err.to_string()),
        EditError::Invalid(_) => Error::PolicyInvalid(format!(
            "the profile's file has errors; fix them first: {err}"
        )),
        EditError::InvalidRule(_) => Error::PolicyInvalid(err.to_string()),
        EditError::NotPreserved { .. } => Error::Failed(err.to_string()),
        _ => Error::InvalidArgument(err.to_string()),
    }
}

pub fn store_error(err: StoreError) -> Error {
    match err {
        StoreError::Conflict { .. } => Error::Conflict(format!(
            "{err}: someone changed the file meanwhile; nothing was written, try again"
        )),
        StoreError::Invalid(_) => Error::PolicyInvalid(err.to_string()),
        StoreError::BadFileName { .. }
        | StoreError::AlreadyExists { .. }
        | StoreError::DuplicateProfile { .. } => Error::InvalidArgument(err.to_string()),
        _ => Error::Failed(err.to_string()),
    }
}
