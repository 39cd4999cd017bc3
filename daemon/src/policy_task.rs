//! The one task that owns the policy source and the kernel's rule maps: it
//! reloads on edits of the policy directory, on SIGHUP, when a temporary
//! rule expires, and when the D-Bus API asks (after changing a file).

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use tokio::{signal::unix::Signal, sync::mpsc};

use crate::{
    apply, kernel,
    policy_source::PolicySource,
    probes::Probes,
    shared::{Control, Reloaded, Shared},
};

pub struct PolicyTask {
    pub source: PolicySource,
    pub kernel: kernel::Kernel,
    pub shared: Arc<Shared>,
    probes: Probes,
    next_expiry: Option<i64>,
}

impl PolicyTask {
    /// Loads and applies the policy once; the daemon does not start without.
    pub fn start(
        source: PolicySource,
        kernel: kernel::Kernel,
        shared: Arc<Shared>,
    ) -> anyhow::Result<Self> {
        let probes = kernel.probes()?;
        let mut task = Self {
            source,
            kernel,
            shared,
            probes,
            next_expiry: None,
        };
        task.reload()?;
        Ok(task)
    }

    pub async fn run(
        mut self,
        mut edits: mpsc::UnboundedReceiver<()>,
        mut hup: Signal,
        mut control: mpsc::Receiver<Control>,
    ) {
        loop {
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
        let policy = self.source.load(&now)?;
        // probes of new contexts first, so their rules work from the moment
        // the maps hold them; probes of contexts the maps no longer name go
        // after (see docs/kernel.md on changing contexts)
        let attached = self
            .probes
            .attach_new(&policy.contexts)
            .context("failed to attach the function-context probes")?;
        let applied = apply::apply(&mut self.kernel.rule_maps()?, &policy);
        // also after a failed apply: it may have changed some entries
        if applied.as_ref().map_or(true, |c| c.written + c.removed > 0) {
            self.kernel
                .bump_generation()
                .context("failed to bump the policy generation")?;
        }
        let changes = applied.context("failed to write the policy into the kernel maps")?;
        let detached = self.probes.detach_stale(&policy.contexts);
        let view = self.source.view().clone();
        let errors = view.problems.iter().filter(|d| d.is_error()).count();
        self.shared.set_view(view);
        self.next_expiry = policy.next_expiry;
        tracing::info!(
            profiles = policy.profiles.len(),
            entries = policy.entry_count(),
            written = changes.written,
            removed = changes.removed,
            contexts = policy.contexts.len(),
            probes_attached = attached,
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

/// How long until unix time `at`; a long while when there is none.
fn until_unix(at: Option<i64>) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    at.map_or(Duration::from_secs(24 * 3600), |at| {
        Duration::from_secs(u64::try_from(at).unwrap_or(0).saturating_sub(now) + 1)
    })
}
