//! The recent events, kept in memory for the D-Bus API to page through.
//!
//! Bounded: the oldest records go when it is full. Per-profile totals are
//! kept apart from the records, so "how often was this app blocked" stays
//! right after the records themselves are gone.

use std::{
    collections::{BTreeMap, VecDeque},
    path::PathBuf,
    sync::{Arc, PoisonError, RwLock},
};

use crate::events::record::EventRecord;

/// Default number of records kept.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// Which records a page holds; `None` fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only events of the profile of this executable.
    pub exe: Option<PathBuf>,
    /// Only events of tasks running as this user.
    pub uid: Option<u32>,
}

impl Filter {
    fn matches(&self, record: &EventRecord) -> bool {
        self.exe
            .as_deref()
            .is_none_or(|exe| record.profile_exe.as_deref() == Some(exe))
            && self.uid.is_none_or(|uid| record.uid == uid)
    }
}

/// Events of one profile since the daemon started, coalesced repeats
/// counted one by one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileTotals {
    /// The executable, as last seen in an event.
    pub exe: Option<PathBuf>,
    pub events: u64,
    pub denials: u64,
    pub complaints: u64,
}

struct Ring {
    capacity: usize,
    /// Ordered by id.
    records: VecDeque<EventRecord>,
    totals: BTreeMap<u64, ProfileTotals>,
}

impl Ring {
    fn push(&mut self, record: EventRecord) {
        let totals = self.totals.entry(record.profile_id).or_default();
        let count = u64::from(record.count);
        totals.events += count;
        if record.is_denial() {
            totals.denials += count;
        }
        if record.is_complaint() {
            totals.complaints += count;
        }
        if record.profile_exe.is_some() {
            totals.exe.clone_from(&record.profile_exe);
        }
        if self.capacity == 0 {
            return;
        }
        if self.records.len() == self.capacity {
            self.records.pop_front();
        }
        // ids arrive in order from the coalescer; the insert keeps lookups
        // right even if a caller ever breaks that
        match self.records.back() {
            Some(last) if last.id >= record.id => {
                let at = self.records.partition_point(|r| r.id < record.id);
                self.records.insert(at, record);
            }
            _ => self.records.push_back(record),
        }
    }
}

/// The history, shared between the event loop (writing) and the D-Bus
/// layer (reading); clones share the same records.
#[derive(Clone)]
pub struct History {
    ring: Arc<RwLock<Ring>>,
}

impl History {
    /// Keeps the last `capacity` records (0: totals only).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            ring: Arc::new(RwLock::new(Ring {
                capacity,
                // a large capacity need not be paid for before it is used
                records: VecDeque::with_capacity(capacity.min(1024)),
                totals: BTreeMap::new(),
            })),
        }
    }

    /// Adds a record, dropping the oldest when full.
    pub fn push(&self, record: EventRecord) {
        self.write().push(record);
    }

    #[cfg(test)]
    /// Adds records (as the coalescer hands them out) under one lock.
    pub fn extend(&self, records: impl IntoIterator<Item = EventRecord>) {
        let mut ring = self.write();
        for record in records {
            ring.push(record);
        }
    }

    /// The record numbered `id`, if it is still kept.
    #[must_use]
    pub fn get(&self, id: u64) -> Option<EventRecord> {
        let ring = self.read();
        let at = ring.records.partition_point(|r| r.id < id);
        ring.records.get(at).filter(|r| r.id == id).cloned()
    }

    /// Up to `limit` records numbered above `after` that match `filter`,
    /// oldest first. Paging: pass the last id of a page to get the next;
    /// `after = 0` starts at the oldest kept record (ids start at 1).
    #[must_use]
    pub fn after(&self, after: u64, limit: usize, filter: &Filter) -> Vec<EventRecord> {
        let ring = self.read();
        let start = ring.records.partition_point(|r| r.id <= after);
        ring.records
            .range(start..)
            .filter(|r| filter.matches(r))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Totals per profile id, kept past eviction.
    #[must_use]
    pub fn totals(&self) -> BTreeMap<u64, ProfileTotals> {
        self.read().totals.clone()
    }

    #[cfg(test)]
    /// The totals of the profile of executable `exe`.
    #[must_use]
    pub fn totals_of(&self, exe: &std::path::Path) -> Option<ProfileTotals> {
        self.read()
            .totals
            .values()
            .find(|t| t.exe.as_deref() == Some(exe))
            .cloned()
    }

    #[cfg(test)]
    /// The oldest and newest ids kept.
    #[must_use]
    pub fn id_range(&self) -> Option<(u64, u64)> {
        let ring = self.read();
        Some((ring.records.front()?.id, ring.records.back()?.id))
    }

    #[cfg(test)]
    /// How many records are kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.read().records.len()
    }

    #[cfg(test)]
    /// Whether no record is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A panic while holding the lock cannot leave a record half-written
    // (each change is one push), so a poisoned lock is still good data.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Ring> {
        self.ring.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Ring> {
        self.ring.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for History {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::record::tests::record;

    fn ids(records: &[EventRecord]) -> Vec<u64> {
        records.iter().map(|r| r.id).collect()
    }

    fn filled(capacity: usize, count: u64) -> History {
        let h = History::new(capacity);
        h.extend((1..=count).map(record));
        h
    }

    #[test]
    fn pages_follow_each_other_without_gaps_or_repeats() {
        let h = filled(100, 10);
        let all = Filter::default();
        let first = h.after(0, 4, &all);
        assert_eq!(ids(&first), [1, 2, 3, 4]);
        let second = h.after(4, 4, &all);
        assert_eq!(ids(&second), [5, 6, 7, 8]);
        assert_eq!(ids(&h.after(8, 4, &all)), [9, 10]);
        assert!(h.after(10, 4, &all).is_empty());
    }

    #[test]
    fn full_history_drops_the_oldest_records() {
        let h = filled(3, 5);
        assert_eq!(h.len(), 3);
        assert_eq!(h.id_range(), Some((3, 5)));
        assert_eq!(h.get(2), None);
        assert_eq!(h.get(3).map(|r| r.id), Some(3));
        // paging from an evicted id goes on from what is left
        assert_eq!(ids(&h.after(1, 10, &Filter::default())), [3, 4, 5]);
    }

    #[test]
    fn get_finds_records_across_id_gaps() {
        let h = History::new(10);
        h.extend([record(2), record(5), record(9)]);
        assert_eq!(h.get(5).map(|r| r.id), Some(5));
        assert_eq!(h.get(4), None);
        assert_eq!(h.get(10), None);
    }

    #[test]
    fn filters_select_by_executable_and_user() {
        let h = History::new(10);
        let mut other_app = record(2);
        other_app.profile_exe = Some(PathBuf::from("/usr/bin/curl"));
        let mut other_user = record(3);
        other_user.uid = 0;
        h.extend([record(1), other_app, other_user, record(4)]);

        let cat = Filter {
            exe: Some(PathBuf::from("/usr/bin/cat")),
            uid: None,
        };
        assert_eq!(ids(&h.after(0, 10, &cat)), [1, 3, 4]);
        let cat_as_alice = Filter {
            uid: Some(1000),
            ..cat
        };
        assert_eq!(ids(&h.after(0, 10, &cat_as_alice)), [1, 4]);
        // the limit counts matches, not records looked at
        assert_eq!(ids(&h.after(0, 1, &cat_as_alice)), [1]);
        assert_eq!(ids(&h.after(1, 1, &cat_as_alice)), [4]);
    }

    #[test]
    fn totals_survive_eviction_and_count_coalesced_repeats() {
        let h = History::new(1);
        let mut burst = record(1);
        burst.count = 5;
        let mut complaint = record(2);
        complaint.decision = bpfbox_abi::DECISION_COMPLAIN;
        h.extend([burst, complaint, record(3)]);
        assert_eq!(h.len(), 1);
        let totals = h.totals_of(std::path::Path::new("/usr/bin/cat")).unwrap();
        assert_eq!(
            (totals.events, totals.denials, totals.complaints),
            (7, 6, 1)
        );
        assert_eq!(h.totals()[&7], totals);
    }

    #[test]
    fn zero_capacity_keeps_only_totals() {
        let h = filled(0, 3);
        assert!(h.is_empty());
        assert_eq!(h.totals()[&7].denials, 3);
    }

    #[test]
    fn out_of_order_ids_are_still_found() {
        let h = History::new(10);
        h.extend([record(1), record(3), record(2)]);
        assert_eq!(ids(&h.after(0, 10, &Filter::default())), [1, 2, 3]);
        assert_eq!(h.get(2).map(|r| r.id), Some(2));
    }

    #[test]
    fn readers_on_other_threads_see_pushed_records() {
        let h = History::new(1000);
        let reader = h.clone();
        let writer = std::thread::spawn(move || {
            for id in 1..=500 {
                h.push(record(id));
            }
        });
        let mut last = 0;
        while last < 500 {
            for r in reader.after(last, 50, &Filter::default()) {
                assert_eq!(r.id, last + 1, "pages skip nothing");
                last = r.id;
            }
        }
        writer.join().unwrap();
    }
}
