//! Folding bursts of identical events into one record with a count.
//!
//! A confined app that retries a denied open in a loop would otherwise fill
//! the audit log and push everything else out of the history. The first
//! event of a burst is held for the window; repeats within it only raise
//! its count, and the record leaves when the window closes.
//!
//! Time is passed in by the caller, so the event loop decides when to look
//! (after each read, and at [`Coalescer::next_due`]) and tests need no sleep.

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

use crate::events::record::{EventRecord, Kind, Object};

/// Default window: long enough for a retry loop, short enough for a human
/// watching the log.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(2);

/// Default bound on bursts held at once.
pub const DEFAULT_MAX_PENDING: usize = 4096;

/// What makes two events "the same": who, what, how and the outcome. The
/// thread, comm and uid of the first event stand for the burst.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    profile_id: u64,
    tgid: u32,
    kind: Kind,
    object: Object,
    access: u32,
    decision: u32,
}

impl Key {
    fn of(record: &EventRecord) -> Self {
        Self {
            profile_id: record.profile_id,
            tgid: record.tgid,
            kind: record.kind,
            object: record.object.clone(),
            access: record.access_bits,
            decision: record.decision,
        }
    }
}

struct Pending {
    record: EventRecord,
    since: Instant,
}

/// Holds records for up to a window, counting identical ones.
pub struct Coalescer {
    window: Duration,
    max_pending: usize,
    pending: HashMap<Key, Pending>,
    /// Pending keys, oldest first. As the window is the same for all, the
    /// oldest is also the first due, and records leave in arrival (id) order.
    order: VecDeque<Key>,
}

impl Coalescer {
    /// A coalescer with this window (zero: no coalescing) holding at most
    /// `max_pending` bursts (at least 1).
    #[must_use]
    pub fn new(window: Duration, max_pending: usize) -> Self {
        Self {
            window,
            max_pending: max_pending.max(1),
            pending: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Takes `record`, seen at `now`. Returns the records that are done:
    /// those whose window closed by `now`, and the oldest ones when too many
    /// are held. Their order is the order they arrived in.
    pub fn push(&mut self, record: EventRecord, now: Instant) -> Vec<EventRecord> {
        // bursts that ended before this event are out before it is counted,
        // so a repeat after the window starts a new record
        let mut done = self.flush_due(now);
        if self.window.is_zero() {
            done.push(record);
            return done;
        }
        let key = Key::of(&record);
        if let Some(held) = self.pending.get_mut(&key) {
            held.record.count = held.record.count.saturating_add(record.count);
            held.record.last_time_us = held.record.last_time_us.max(record.last_time_us);
            return done;
        }
        if self.pending.len() >= self.max_pending {
            done.extend(self.pop_oldest());
        }
        self.order.push_back(key.clone());
        self.pending.insert(key, Pending { record, since: now });
        done
    }

    /// The records whose window has closed by `now`.
    pub fn flush_due(&mut self, now: Instant) -> Vec<EventRecord> {
        let mut done = Vec::new();
        while let Some(key) = self.order.front() {
            let since = self.pending[key].since;
            if now.saturating_duration_since(since) < self.window {
                break;
            }
            done.extend(self.pop_oldest());
        }
        done
    }

    /// Every held record, as at shutdown.
    pub fn flush_all(&mut self) -> Vec<EventRecord> {
        let mut done = Vec::with_capacity(self.order.len());
        while let Some(record) = self.pop_oldest() {
            done.push(record);
        }
        done
    }

    /// When the oldest held record is due: the event loop's next wake-up.
    #[must_use]
    pub fn next_due(&self) -> Option<Instant> {
        self.order
            .front()
            .map(|key| self.pending[key].since + self.window)
    }

    #[cfg(test)]
    /// How many bursts are held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    #[cfg(test)]
    /// Whether nothing is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    fn pop_oldest(&mut self) -> Option<EventRecord> {
        let key = self.order.pop_front()?;
        self.pending.remove(&key).map(|held| held.record)
    }
}

impl Default for Coalescer {
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW, DEFAULT_MAX_PENDING)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::record::tests::record;

    const MS: Duration = Duration::from_millis(1);

    fn ids(records: &[EventRecord]) -> Vec<(u64, u32)> {
        records.iter().map(|r| (r.id, r.count)).collect()
    }

    #[test]
    fn repeats_within_the_window_become_one_record_with_a_count() {
        let mut c = Coalescer::new(2000 * MS, 16);
        let t0 = Instant::now();
        assert!(c.push(record(1), t0).is_empty());
        assert!(c.push(record(2), t0 + 500 * MS).is_empty());
        assert!(c.push(record(3), t0 + 1999 * MS).is_empty());
        assert!(c.flush_due(t0 + 1999 * MS).is_empty());
        assert_eq!(ids(&c.flush_due(t0 + 2000 * MS)), [(1, 3)]);
        assert!(c.is_empty());
    }

    #[test]
    fn a_repeat_after_the_window_starts_a_new_record() {
        let mut c = Coalescer::new(2000 * MS, 16);
        let t0 = Instant::now();
        c.push(record(1), t0);
        c.push(record(2), t0 + 100 * MS);
        // nobody called flush_due in between: push does it first
        let done = c.push(record(3), t0 + 2500 * MS);
        assert_eq!(ids(&done), [(1, 2)]);
        assert_eq!(ids(&c.flush_all()), [(3, 1)]);
    }

    #[test]
    fn coalesced_record_keeps_the_first_time_and_the_last() {
        let mut c = Coalescer::new(2000 * MS, 16);
        let t0 = Instant::now();
        let mut later = record(2);
        later.time_us = 1_700;
        later.last_time_us = 1_700;
        c.push(record(1), t0);
        c.push(later, t0 + MS);
        let r = &c.flush_all()[0];
        assert_eq!((r.time_us, r.last_time_us), (1_000, 1_700));
    }

    #[test]
    fn different_objects_access_or_process_are_not_coalesced() {
        let mut c = Coalescer::new(2000 * MS, 16);
        let t0 = Instant::now();
        let mut other_access = record(2);
        other_access.access_bits |= 2;
        let mut other_process = record(3);
        other_process.tgid += 1;
        let mut other_object = record(4);
        other_object.object = Object::Capability(21);
        let mut other_action = record(5);
        other_action.decision = bpfbox_abi::DECISION_COMPLAIN;
        for r in [
            record(1),
            other_access,
            other_process,
            other_object,
            other_action,
        ] {
            c.push(r, t0);
        }
        assert_eq!(c.len(), 5);
        assert_eq!(
            ids(&c.flush_all()),
            [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]
        );
    }

    #[test]
    fn threads_of_one_process_are_one_burst() {
        let mut c = Coalescer::new(2000 * MS, 16);
        let t0 = Instant::now();
        let mut other_thread = record(2);
        other_thread.pid += 1;
        c.push(record(1), t0);
        c.push(other_thread, t0);
        assert_eq!(ids(&c.flush_all()), [(1, 2)]);
    }

    #[test]
    fn overflow_flushes_the_oldest_burst() {
        let mut c = Coalescer::new(2000 * MS, 2);
        let t0 = Instant::now();
        let distinct = |id: u64| {
            let mut r = record(id);
            r.tgid = u32::try_from(id).unwrap();
            r
        };
        assert!(c.push(distinct(1), t0).is_empty());
        assert!(c.push(distinct(2), t0).is_empty());
        assert_eq!(ids(&c.push(distinct(3), t0)), [(1, 1)]);
        assert_eq!(c.len(), 2);
        // a repeat of a held burst takes no room
        assert!(c.push(distinct(2), t0).is_empty());
        assert_eq!(ids(&c.flush_all()), [(2, 2), (3, 1)]);
    }

    #[test]
    fn zero_window_passes_every_record_through() {
        let mut c = Coalescer::new(Duration::ZERO, 16);
        let t0 = Instant::now();
        assert_eq!(ids(&c.push(record(1), t0)), [(1, 1)]);
        assert_eq!(ids(&c.push(record(2), t0)), [(2, 1)]);
        assert!(c.is_empty());
    }

    #[test]
    fn next_due_is_the_oldest_burst_end() {
        let mut c = Coalescer::new(2000 * MS, 16);
        let t0 = Instant::now();
        assert_eq!(c.next_due(), None);
        c.push(record(1), t0);
        let mut other = record(2);
        other.tgid += 1;
        c.push(other, t0 + 300 * MS);
        assert_eq!(c.next_due(), Some(t0 + 2000 * MS));
        c.flush_due(t0 + 2000 * MS);
        assert_eq!(c.next_due(), Some(t0 + 2300 * MS));
    }
}
