//! Accounting for every event: what the kernel counted, what reached the
//! daemon, and what the full ring buffer made the kernel drop.
//!
//! The kernel's counters live in a pinned per-CPU array that outlives
//! daemons, so everything here counts from this daemon's start.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use aya::maps::{MapData, PerCpuArray};
use bpfbox_abi as abi;

/// A snapshot, all counts since this daemon started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Reports the daemon read from the ring buffer: the sum of the events'
    /// `count`, as the kernel folds a thread's repeats of one access.
    pub received: u64,
    /// Records the kernel could not queue (ring buffer full).
    pub lost: u64,
    /// Denials the kernel enforced.
    pub denied: u64,
}

/// DaemonState between the ring-buffer reader (which counts what it receives)
/// and whoever reports.
pub struct Counters {
    received: AtomicU64,
    stats: PerCpuArray<MapData, u64>,
    lost_at_start: u64,
    denied_at_start: u64,
}

impl Counters {
    pub fn new(stats: PerCpuArray<MapData, u64>) -> Arc<Self> {
        Arc::new(Self {
            received: AtomicU64::new(0),
            lost_at_start: sum(&stats, abi::STAT_LOST),
            denied_at_start: sum(&stats, abi::STAT_DENIED),
            stats,
        })
    }

    pub fn count_received(&self, reports: u32) {
        self.received
            .fetch_add(u64::from(reports), Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            received: self.received.load(Ordering::Relaxed),
            lost: sum(&self.stats, abi::STAT_LOST).saturating_sub(self.lost_at_start),
            denied: sum(&self.stats, abi::STAT_DENIED).saturating_sub(self.denied_at_start),
        }
    }
}

/// Sums a per-CPU counter.
fn sum(stats: &PerCpuArray<MapData, u64>, index: u32) -> u64 {
    stats
        .get(&index, 0)
        .map(|values| values.iter().sum())
        .unwrap_or(0)
}

/// Logs the counters once a second while they change, and warns about
/// losses: an event is never gone without a trace.
pub async fn report(counters: Arc<Counters>) {
    let mut last = Snapshot::default();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = counters.snapshot();
        if now == last {
            continue;
        }
        if now.lost > last.lost {
            tracing::warn!(
                lost = now.lost - last.lost,
                "events lost: the ring buffer was full (counted, not recorded)"
            );
        }
        tracing::info!(
            received = now.received,
            lost = now.lost,
            denied = now.denied,
            "event counters"
        );
        last = now;
    }
}
