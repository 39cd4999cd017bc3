//! Making the kernel's maps hold exactly a compiled policy.
//!
//! The maps are compared with what they hold now, not with what this daemon
//! last wrote: after a restart they hold an earlier daemon's policy.

use std::collections::BTreeMap;

use aya::maps::{HashMap, MapData, MapError};
use bpfbox_policy::CompiledPolicy;

use crate::{kernel::inode_filter::FilterBits, kernel::RuleMaps};

/// Counts of what one apply changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Changes {
    /// Entries inserted or updated.
    pub written: usize,
    /// Entries removed.
    pub removed: usize,
}

/// Makes the maps hold exactly `policy`.
///
/// Each profile switches atomically. Rules are keyed by their profile's rules
/// id, a hash of their content (see `bpfbox_policy::compile`), so an edited
/// profile's new rules are written under keys no hook looks up yet; then the
/// single update of the profile's entry makes every hook see all new rules
/// at once; then the old rules, no longer looked up, are removed. New
/// profiles get their rules before their entry and executables; removed
/// ones lose their executables first. No task ever sees a profile half
/// written, a mix of two versions, or no profile in between.
///
/// The inode filter covers the new rules' inodes before the first is
/// written, and drops the old ones' only after the last is removed.
pub fn apply(maps: &mut RuleMaps<'_>, policy: &CompiledPolicy) -> Result<Changes, MapError> {
    let mut changes = Changes::default();
    let mut filter = FilterBits::of_fs_keys(policy.fs_rules.keys());
    maps.inode_filter.add(&filter);
    upsert(&mut maps.fs_rules, &policy.fs_rules, &mut changes)?;
    upsert(&mut maps.net_rules, &policy.net_rules, &mut changes)?;
    upsert(&mut maps.ipc_rules, &policy.ipc_rules, &mut changes)?;
    upsert(&mut maps.proc_rules, &policy.proc_rules, &mut changes)?;
    upsert(&mut maps.cap_rules, &policy.cap_rules, &mut changes)?;
    // a user's variant of a profile's rules, once its rules are there
    upsert(&mut maps.uid_rules, &policy.uid_rules, &mut changes)?;
    upsert(&mut maps.profiles, &policy.profiles, &mut changes)?;
    upsert(&mut maps.exe_profiles, &policy.exe_profiles, &mut changes)?;
    upsert(&mut maps.exe_paths, &policy.exe_paths, &mut changes)?;
    remove_others(&mut maps.exe_profiles, &policy.exe_profiles, &mut changes)?;
    remove_others(&mut maps.exe_paths, &policy.exe_paths, &mut changes)?;
    remove_others(&mut maps.profiles, &policy.profiles, &mut changes)?;
    remove_others(&mut maps.uid_rules, &policy.uid_rules, &mut changes)?;
    remove_others(&mut maps.fs_rules, &policy.fs_rules, &mut changes)?;
    remove_others(&mut maps.net_rules, &policy.net_rules, &mut changes)?;
    remove_others(&mut maps.ipc_rules, &policy.ipc_rules, &mut changes)?;
    remove_others(&mut maps.proc_rules, &policy.proc_rules, &mut changes)?;
    remove_others(&mut maps.cap_rules, &policy.cap_rules, &mut changes)?;
    filter.union(&maps.protected_bits);
    maps.inode_filter.set(&filter);
    Ok(changes)
}

fn upsert<K, V>(
    map: &mut HashMap<&mut MapData, K, V>,
    wanted: &BTreeMap<K, V>,
    changes: &mut Changes,
) -> Result<(), MapError>
where
    K: aya::Pod + Ord,
    V: aya::Pod + PartialEq,
{
    for (key, value) in wanted {
        if map.get(key, 0).ok().as_ref() != Some(value) {
            map.insert(key, value, 0)?;
            changes.written += 1;
        }
    }
    Ok(())
}

fn remove_others<K, V>(
    map: &mut HashMap<&mut MapData, K, V>,
    wanted: &BTreeMap<K, V>,
    changes: &mut Changes,
) -> Result<(), MapError>
where
    K: aya::Pod + Ord,
    V: aya::Pod,
{
    let stale: Vec<K> = map
        .keys()
        .filter_map(Result::ok)
        .filter(|k| !wanted.contains_key(k))
        .collect();
    for key in stale {
        map.remove(&key)?;
        changes.removed += 1;
    }
    Ok(())
}
