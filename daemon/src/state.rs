//! What the daemon's tasks share: the policy in force as last loaded, the
//! event history and counters. The D-Bus API reads from here; only the
//! policy task writes the view, only the event pipeline the history.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
};

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::{
    events::counters::Counters, events::history::History, events::record::EventRecord,
    policy::source::PolicyView,
};

/// DaemonState state of one daemon run.
pub struct DaemonState {
    view: RwLock<Arc<PolicyView>>,
    /// Recent events, bounded, and per-profile totals.
    pub history: History,
    /// Kernel and daemon event counters.
    pub counters: Arc<Counters>,
    /// This run's instance id (`restart:` rules carry it).
    pub instance: String,
    /// The policy directory.
    pub policy_dir: PathBuf,
    /// Profiles shipped by packages ("reset to default").
    pub packaged_dir: PathBuf,
    /// Coalesced events, as they are recorded: the D-Bus `Denied` signal.
    pub events: broadcast::Sender<EventRecord>,
    /// Counts policy loads, so the D-Bus API can follow them.
    pub reloads: watch::Sender<u64>,
}

impl DaemonState {
    pub fn new(
        history: History,
        counters: Arc<Counters>,
        instance: String,
        policy_dir: &Path,
        packaged_dir: &Path,
    ) -> Arc<Self> {
        Arc::new(Self {
            view: RwLock::new(Arc::new(PolicyView::default())),
            history,
            counters,
            instance,
            policy_dir: policy_dir.to_path_buf(),
            packaged_dir: packaged_dir.to_path_buf(),
            events: broadcast::channel(1024).0,
            reloads: watch::channel(0).0,
        })
    }

    /// The policy in force, as of the last load.
    pub fn view(&self) -> Arc<PolicyView> {
        Arc::clone(
            &self
                .view
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    pub fn set_view(&self, view: PolicyView) {
        *self
            .view
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(view);
        self.reloads.send_modify(|n| *n += 1);
    }

    /// The executable and display name of a profile id, for event records.
    pub fn names(&self, profile_id: u64) -> (Option<PathBuf>, Option<String>) {
        let view = self.view();
        view.profiles.get(&profile_id).map_or((None, None), |p| {
            (Some(p.profile.profile.clone()), p.profile.name.clone())
        })
    }
}

/// What a reload did, for whoever asked for it.
#[derive(Debug, Clone)]
pub struct Reloaded {
    pub profiles: usize,
    /// Files rejected with errors (their last good version stays).
    pub errors: usize,
}

/// Requests to the task that owns the policy and the kernel maps.
pub enum Control {
    /// Read the directory again and apply it; answer when the kernel holds it.
    Reload(oneshot::Sender<Result<Reloaded, String>>),
}

/// The sending side, for the D-Bus API.
pub type ControlSender = mpsc::Sender<Control>;
