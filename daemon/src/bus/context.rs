//! What every D-Bus object of the daemon works with, and the one path by
//! which the API changes policy: edit the file, write it atomically, reload,
//! answer when the kernel holds the result.

use std::{collections::BTreeMap, sync::Arc};

use bpfbox_dbus::Error;
use bpfbox_policy::{
    store::{self, StoreError},
    EditError, ProfileEdit,
};
use tokio::sync::{oneshot, Mutex};

use crate::{
    policy_source::ProfileView,
    shared::{Control, ControlSender, Reloaded, Shared},
};

/// A client that asked for `Denied` signals.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub uid: u32,
}

pub struct Context {
    pub shared: Arc<Shared>,
    pub control: ControlSender,
    /// One edit at a time: two callers changing one file would otherwise
    /// refuse each other as conflicting edits.
    edits: Mutex<()>,
    /// By unique bus name.
    pub subscribers: std::sync::Mutex<BTreeMap<String, Subscriber>>,
}

impl Context {
    pub fn new(shared: Arc<Shared>, control: ControlSender) -> Arc<Self> {
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
        StoreError::BadFileName { .. } => Error::InvalidArgument(err.to_string()),
        _ => Error::Failed(err.to_string()),
    }
}
