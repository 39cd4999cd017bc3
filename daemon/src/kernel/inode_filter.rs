//! The kernel's `inode_filter`: one bit per hash of an inode, set for every
//! inode that an fs rule is keyed by or that is protected, so that the
//! programs skip the hash lookups of every other inode (bpfbox_abi.h,
//! `BPFBOX_FILTER_WORDS`).
//!
//! A clear bit makes the programs skip rules, so the bits must cover the
//! maps at every moment: a key's bit is set before the key is inserted
//! ([`InodeFilter::add`]), and bits are cleared only after their keys were
//! removed ([`InodeFilter::set`]).

use std::sync::atomic::Ordering;

use bpfbox_abi::{filter_bit, FsKey, ProtectedKey, FILTER_WORDS};

use crate::kernel::mapped_words::MappedWords;

/// A set of filter bits, built in the daemon.
#[derive(Clone, PartialEq, Eq)]
pub struct FilterBits(Vec<u64>);

impl Default for FilterBits {
    fn default() -> Self {
        Self(vec![0; FILTER_WORDS as usize])
    }
}

impl std::fmt::Debug for FilterBits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FilterBits({} set)", self.count())
    }
}

impl FilterBits {
    /// The bits of every inode an fs rule is keyed by (a CHILD rule's key
    /// is its directory).
    pub fn of_fs_keys<'k>(keys: impl IntoIterator<Item = &'k FsKey>) -> Self {
        Self::of_inodes(keys.into_iter().map(|k| (k.ino, k.dev)))
    }

    /// The bits of protected objects.
    pub fn of_protected<'k>(keys: impl IntoIterator<Item = &'k ProtectedKey>) -> Self {
        Self::of_inodes(keys.into_iter().map(|k| (k.ino, k.dev)))
    }

    fn of_inodes(inodes: impl Iterator<Item = (u64, u32)>) -> Self {
        let mut bits = Self::default();
        for (ino, dev) in inodes {
            bits.insert(ino, dev);
        }
        bits
    }

    /// Adds the bit of (ino, dev).
    pub fn insert(&mut self, ino: u64, dev: u32) {
        let bit = filter_bit(ino, dev) as usize;
        self.0[bit / 64] |= 1 << (bit % 64);
    }

    /// Whether the bit of (ino, dev) is set.
    #[cfg(test)]
    #[must_use]
    pub fn contains(&self, ino: u64, dev: u32) -> bool {
        let bit = filter_bit(ino, dev) as usize;
        self.0[bit / 64] & (1 << (bit % 64)) != 0
    }

    /// Adds every bit of `other`.
    pub fn union(&mut self, other: &Self) {
        for (word, more) in self.0.iter_mut().zip(&other.0) {
            *word |= more;
        }
    }

    /// How many bits are set.
    #[must_use]
    pub fn count(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }
}

/// The kernel's filter, mapped into the daemon.
pub struct InodeFilter(MappedWords);

impl InodeFilter {
    /// The filter in `words`, the mapping of the `inode_filter` map.
    pub fn new(words: MappedWords) -> Self {
        Self(words)
    }

    /// Sets `bits`, keeping every bit already set: before the keys they
    /// stand for are inserted.
    pub fn add(&self, bits: &FilterBits) {
        for (word, more) in self.0.words().iter().zip(&bits.0) {
            if *more != 0 {
                word.fetch_or(*more, Ordering::SeqCst);
            }
        }
    }

    /// Makes the filter exactly `bits`: only once every key whose bit this
    /// clears is gone from the maps. Word by word; each word is at every
    /// moment either its old or its new value, and a bit of a key still in
    /// the maps is in both.
    pub fn set(&self, bits: &FilterBits) {
        for (word, value) in self.0.words().iter().zip(&bits.0) {
            word.store(*value, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs_key(ino: u64, dev: u32, scope: u32) -> FsKey {
        FsKey {
            ino,
            dev,
            scope,
            ..FsKey::default()
        }
    }

    #[test]
    fn every_rule_and_protected_inode_has_its_bit() {
        let keys = [fs_key(12, 0x80_0001, 0), fs_key(2, 0x80_0001, 2)];
        let protected = [ProtectedKey {
            ino: 99,
            dev: 0x1e,
            scope: 2,
        }];
        let mut bits = FilterBits::of_fs_keys(&keys);
        bits.union(&FilterBits::of_protected(&protected));
        assert!(bits.contains(12, 0x80_0001));
        assert!(bits.contains(2, 0x80_0001));
        assert!(bits.contains(99, 0x1e));
        assert_eq!(bits.count(), 3);
    }

    #[test]
    fn an_inode_without_rules_mostly_has_no_bit() {
        let keys: Vec<FsKey> = (0..1000).map(|ino| fs_key(ino, 0x80_0001, 0)).collect();
        let bits = FilterBits::of_fs_keys(&keys);
        let others = (1000..11_000)
            .filter(|&ino| bits.contains(ino, 0x80_0001))
            .count();
        // 1000 of 2^18 bits set: about 0.4 % of other inodes share one
        assert!(
            others < 100,
            "{others} of 10000 other inodes pass the filter"
        );
    }

    #[test]
    fn the_same_inode_on_another_device_is_another_bit() {
        let bits = FilterBits::of_fs_keys(&[fs_key(12, 0x80_0001, 0)]);
        assert!(!bits.contains(12, 0x80_0002));
    }
}
