//! The one task that owns the policy source and the kernel's rule maps: it
//! reloads on edits of the policy directory, on SIGHUP, when a temporary
//! rule expires, and when the D-Bus API asks (after changing a file).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use anyhow::Context as _;
use bpfbox_abi::InodeKey;
use bpfbox_policy::CompiledPolicy;
use tokio::{signal::unix::Signal, sync::mpsc};

use crate::{
    kernel,
    kernel::apply,
    kernel::probes::{Attachment, Probes},
    policy::identity,
    policy::source::PolicySource,
    policy::watch::Watch,
    state::{Control, DaemonState, Reloaded},
};

pub struct PolicyTask {
    pub source: PolicySource,
    pub kernel: kernel::Kernel,
    pub shared: Arc<DaemonState>,
    probes: Probes,
    next_expiry: Option<i64>,
    /// Each profile's executable as of the last load: its path and the
    /// identity of the file there (none: not installed).
    executables: BTreeMap<u64, (PathBuf, Option<InodeKey>)>,
}

impl PolicyTask {
    /// Loads and applies the policy once; the daemon does not start without.
    pub fn start(
        source: PolicySource,
        kernel: kernel::Kernel,
        shared: Arc<DaemonState>,
    ) -> anyhow::Result<Self> {
        let probes = kernel.probes()?;
        let mut task = Self {
            source,
            kernel,
            shared,
            probes,
            next_expiry: None,
            executables: BTreeMap::new(),
        };
        task.reload()?;
        Ok(task)
    }

    pub async fn run(
        mut self,
        mut watch: Watch,
        mut edits: mpsc::UnboundedReceiver<()>,
        mut hup: Signal,
        mut control: mpsc::Receiver<Control>,
    ) {
        loop {
            watch.follow_executables(&self.watched_paths());
            let mut reply = None;
            tokio::select! {
                Some(()) = edits.recv() => {
                    // let a burst of events (an editor's save) settle first
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
                _ = hup.recv() => tracing::info!("SIGHUP: reloading"),
                () = tokio::time::sleep(until_unix(self.next_expiry)) => {
                    tracing::info!("a temporary rule expired");
                }
                Some(Control::Reload(answer)) = control.recv() => reply = Some(answer),
            }
            while edits.try_recv().is_ok() {}
            let result = self.reload();
            if let Err(err) = &result {
                // the maps keep the last policy that applied
                tracing::error!("reload failed: {err:#}");
            }
            if let Some(reply) = reply {
                let _ = reply.send(result.map_err(|e| format!("{e:#}")));
            }
        }
    }

    /// Reads and compiles the policy directory and makes the kernel maps
    /// hold it.
    fn reload(&mut self) -> anyhow::Result<Reloaded> {
        let started = std::time::Instant::now();
        let now = bpfbox_policy::Now::new(std::time::SystemTime::now())
            .with_instance(&self.shared.instance);
        let mut policy = self.source.load(&now)?;
        // probes of new contexts first, so their rules work from the moment
        // the maps hold them; probes of contexts the maps no longer name go
        // after (see docs/kernel.md on changing contexts)
        let executables: BTreeSet<PathBuf> = policy.names.values().cloned().collect();
        let attachment = self
            .probes
            .attach_new(&policy.contexts, &executables)
            .context("failed to attach the function-context probes")?;
        withhold_unprobed(&mut policy, &attachment);
        let applied = apply::apply(&mut self.kernel.rule_maps()?, &policy);
        // also after a failed apply: it may have changed some entries
        if applied.as_ref().map_or(true, |c| c.written + c.removed > 0) {
            self.kernel
                .bump_generation()
                .context("failed to bump the policy generation")?;
        }
        let changes = applied.context("failed to write the policy into the kernel maps")?;
        let detached = self.probes.detach_stale(&policy.contexts);
        self.note_executables(&policy);
        let mut view = self.source.view().clone();
        for (id, profile) in &mut view.profiles {
            profile.executable = policy.executables.get(id).copied();
        }
        let errors = view.problems.iter().filter(|d| d.is_error()).count();
        self.shared.set_view(view);
        self.next_expiry = policy.next_expiry;
        tracing::info!(
            profiles = policy.profiles.len(),
            entries = policy.entry_count(),
            written = changes.written,
            removed = changes.removed,
            contexts = policy.contexts.len(),
            probes_attached = attachment.attached,
            probes_detached = detached,
            elapsed_ms = started.elapsed().as_millis(),
            "policy applied"
        );
        Ok(Reloaded {
            profiles: policy.profiles.len(),
            errors,
        })
    }
}

impl PolicyTask {
    /// The paths whose changes may change which file a profile confines:
    /// each executable's path as written and as the kernel names it.
    fn watched_paths(&self) -> Vec<PathBuf> {
        self.executables
            .values()
            .flat_map(|(path, _)| [path.clone(), identity::real_path(path)])
            .collect()
    }

    /// Logs every profile whose executable changed since the last load,
    /// and remembers what each is now.
    fn note_executables(&mut self, policy: &CompiledPolicy) {
        let now: BTreeMap<u64, (PathBuf, Option<InodeKey>)> = policy
            .names
            .iter()
            .map(|(id, path)| (*id, (path.clone(), policy.executables.get(id).copied())))
            .collect();
        for (id, (path, new)) in &now {
            let Some((_, old)) = self.executables.get(id) else {
                continue;
            };
            let profile = path.display();
            match (old, new) {
                (Some(old), Some(new)) if old != new => tracing::info!(
                    %profile,
                    old = %identity_words(old),
                    new = %identity_words(new),
                    "executable replaced: the new file is confined"
                ),
                (None, Some(new)) => tracing::info!(
                    %profile,
                    new = %identity_words(new),
                    "executable installed: it is confined"
                ),
                (Some(old), None) => tracing::info!(
                    %profile,
                    old = %identity_words(old),
                    "executable removed: not installed"
                ),
                _ => {}
            }
        }
        self.executables = now;
    }
}

/// `dev:ino` as mountinfo and `stat` spell a device (major:minor).
fn identity_words(key: &InodeKey) -> String {
    format!("{}:{}:{}", key.dev >> 20, key.dev & 0xf_ffff, key.ino)
}

/// Takes the identity of every executable whose own functions could not be
/// probed out of `exe_profiles`: the kernel then knows it by path only and
/// starts its processes tainted, outside every context, the least they may
/// do (`BPFBOX_PROFILE_EXE_PROBED`), until a reload can probe it.
fn withhold_unprobed(policy: &mut CompiledPolicy, attachment: &Attachment) {
    let files = attachment.unprobed_files();
    if files.is_empty() {
        return;
    }
    let ids: BTreeSet<u64> = policy
        .names
        .iter()
        .filter(|(_, path)| files.contains(path.as_path()))
        .map(|(id, _)| *id)
        .collect();
    policy.exe_profiles.retain(|_, id| !ids.contains(id));
    for err in &attachment.unattached {
        let installed = ids.iter().any(|id| {
            policy.executables.contains_key(id) && err.probe().file.as_ref() == policy.names.get(id)
        });
        if installed {
            tracing::error!(
                "{err:#}: its processes start tainted, outside every function context, until it can be probed"
            );
        } else {
            tracing::debug!("{err:#}: the executable is not installed");
        }
    }
}

/// How long until unix time `at`; a long while when there is none.
fn until_unix(at: Option<i64>) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    at.map_or(Duration::from_secs(24 * 3600), |at| {
        Duration::from_secs(u64::try_from(at).unwrap_or(0).saturating_sub(now) + 1)
    })
}
