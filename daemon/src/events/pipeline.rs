//! From ring-buffer records to what people read: each kernel event gets an
//! id and a wall-clock time, bursts of identical events are coalesced, and
//! each result goes to the history, the audit log, stdout (the journal) and
//! the D-Bus API.

use std::{sync::Arc, time::Instant};

use anyhow::Context as _;
use aya::maps::{MapData, RingBuf};
use tokio::{io::unix::AsyncFd, sync::Notify};

use crate::{
    events::audit::AuditLog,
    events::coalesce::Coalescer,
    events::record::{self, EventRecord},
    state::DaemonState,
};

/// How long the daemon lets records gather after the kernel woke it. The
/// kernel wakes the reader only for a record that finds it caught up
/// (`bpf_ringbuf_commit`); a reader that drains every record at once is
/// woken, with an interrupt, for every record, and that wake-up is paid by
/// the confined task inside its hook. Waiting a little makes one wake-up
/// serve a burst: at most 50 a second. The ring buffer (1 MiB) holds
/// thousands of records, far more than a burst fills in this time.
const BATCH: std::time::Duration = std::time::Duration::from_millis(20);

pub struct Pipeline {
    pub shared: Arc<DaemonState>,
    pub coalescer: Coalescer,
    pub audit: Option<AuditLog>,
    /// Notified on SIGHUP: reopen the audit log (log rotation).
    pub reopen: Arc<Notify>,
    /// Notified when the daemon stops: write out what is being coalesced.
    pub stop: Arc<Notify>,
    next_id: u64,
}

impl Pipeline {
    pub fn new(
        shared: Arc<DaemonState>,
        coalescer: Coalescer,
        audit: Option<AuditLog>,
        reopen: Arc<Notify>,
        stop: Arc<Notify>,
    ) -> Self {
        Self {
            shared,
            coalescer,
            audit,
            reopen,
            stop,
            next_id: 0,
        }
    }

    /// Drains the ring buffer for as long as the daemon runs, in batches:
    /// see [`BATCH`].
    pub async fn run(mut self, ring: RingBuf<MapData>) -> anyhow::Result<()> {
        // SAFETY: the ring buffer owns its fd and keeps it open, unchanged,
        // for as long as the AsyncFd (which owns the ring buffer) lives.
        let mut fd =
            unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
                .map_err(|e| e.into_parts().1)
                .context("failed to poll the event ring buffer")?;
        let reopen = Arc::clone(&self.reopen);
        let stop = Arc::clone(&self.stop);
        loop {
            let due = self.coalescer.next_due();
            tokio::select! {
                guard = fd.readable_mut() => {
                    let mut guard = guard?;
                    tokio::time::sleep(BATCH).await;
                    let ring = guard.get_inner_mut();
                    while let Some(item) = ring.next() {
                        match abi_event(&item) {
                            Some(event) => {
                                self.shared.counters.count_received(event.count.max(1));
                                self.receive(&event);
                            }
                            None => {
                                self.shared.counters.count_received(1);
                                tracing::warn!(len = item.len(), "short event record");
                            }
                        }
                    }
                    guard.clear_ready();
                }
                () = sleep_until(due) => {}
                () = reopen.notified() => self.reopen_audit(),
                () = stop.notified() => {
                    let pending = self.coalescer.flush_all();
                    self.publish(pending);
                    return Ok(());
                }
            }
            let flushed = self.coalescer.flush_due(Instant::now());
            self.publish(flushed);
        }
    }

    fn receive(&mut self, event: &bpfbox_abi::Event) {
        self.next_id += 1;
        let (exe, name) = self.shared.names(event.profile_id);
        let record = EventRecord::new(
            self.next_id,
            record::unix_us_from_boot_ns(event.ts_ns),
            event,
            exe.as_deref(),
            name.as_deref(),
        );
        let flushed = self.coalescer.push(record, Instant::now());
        self.publish(flushed);
    }

    fn publish(&mut self, records: Vec<EventRecord>) {
        for record in records {
            println!("{}", record.audit_line());
            if let Some(audit) = &mut self.audit {
                audit.write(&record);
            }
            // nobody listening is fine: the history keeps it
            let _ = self.shared.events.send(record.clone());
            self.shared.history.push(record);
        }
    }

    fn reopen_audit(&mut self) {
        if let Some(audit) = &mut self.audit {
            match audit.reopen() {
                Ok(()) => tracing::info!(path = %audit.path().display(), "audit log reopened"),
                Err(err) => {
                    tracing::error!(path = %audit.path().display(), "failed to reopen the audit log: {err}")
                }
            }
        }
    }
}

fn abi_event(bytes: &[u8]) -> Option<bpfbox_abi::Event> {
    bpfbox_abi::Event::from_bytes(bytes)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
