//! What changes in the kernel maps between two compiled policies, grouped
//! by profile so the daemon can apply a reload one profile at a time.

use std::collections::{BTreeMap, BTreeSet};

use bpfbox_abi::{self as abi, CapKey, FsKey, InodeKey, NetKey, PairKey};

use crate::compile::CompiledPolicy;

/// The changes to one map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDiff<K: Ord, V> {
    /// Keys only in the new policy, with their values.
    pub insert: BTreeMap<K, V>,
    /// Keys in both whose value changed, with the new value.
    pub update: BTreeMap<K, V>,
    /// Keys only in the old policy.
    pub remove: BTreeSet<K>,
}

impl<K: Ord, V> Default for MapDiff<K, V> {
    fn default() -> Self {
        Self {
            insert: BTreeMap::new(),
            update: BTreeMap::new(),
            remove: BTreeSet::new(),
        }
    }
}

impl<K: Ord, V> MapDiff<K, V> {
    /// Whether nothing changes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.insert.is_empty() && self.update.is_empty() && self.remove.is_empty()
    }

    /// Inserted + updated + removed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.insert.len() + self.update.len() + self.remove.len()
    }
}

/// The changes that concern one profile. A rule entry belongs to the profile
/// whose rules id keys it (old or new); an `exe_profiles` entry to the
/// profile it points to (the old one for a removal).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileDiff {
    /// `profiles` (at most one entry: this profile's).
    pub profile: MapDiff<u64, abi::Profile>,
    /// `exe_profiles`
    pub exe_profiles: MapDiff<InodeKey, u64>,
    /// `fs_rules`
    pub fs_rules: MapDiff<FsKey, abi::Rule>,
    /// `net_rules`
    pub net_rules: MapDiff<NetKey, abi::Rule>,
    /// `ipc_rules`
    pub ipc_rules: MapDiff<PairKey, abi::Rule>,
    /// `proc_rules`
    pub proc_rules: MapDiff<PairKey, abi::Rule>,
    /// `cap_rules`
    pub cap_rules: MapDiff<CapKey, abi::Rule>,
}

impl ProfileDiff {
    /// Whether nothing changes for this profile.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of changed entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.profile.len()
            + self.exe_profiles.len()
            + self.fs_rules.len()
            + self.net_rules.len()
            + self.ipc_rules.len()
            + self.proc_rules.len()
            + self.cap_rules.len()
    }
}

/// The changes between two compiled policies.
///
/// Applying a profile's changes safely: upsert its rules, then its profile
/// entry, then its executables; then remove its stale executables, then its
/// profile entry (if removed), then its stale rules. A task then never runs
/// under a profile whose rules are half written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyDiff {
    /// Profile id → its changes; only profiles with changes are listed.
    pub profiles: BTreeMap<u64, ProfileDiff>,
    /// Whether the function contexts changed (probes must be re-attached).
    pub contexts_changed: bool,
}

impl PolicyDiff {
    /// Whether the kernel maps need no change at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty() && !self.contexts_changed
    }

    /// The number of changed entries, all profiles together.
    #[must_use]
    pub fn len(&self) -> usize {
        self.profiles.values().map(ProfileDiff::len).sum()
    }
}

/// What turns the maps holding `old` into maps holding `new`.
#[must_use]
pub fn diff(old: &CompiledPolicy, new: &CompiledPolicy) -> PolicyDiff {
    let mut out = PolicyDiff {
        profiles: BTreeMap::new(),
        contexts_changed: old.contexts != new.contexts,
    };
    macro_rules! group {
        ($map:ident, $owner:expr) => {
            for (id, d) in split(&old.$map, &new.$map, $owner) {
                out.profiles.entry(id).or_default().$map = d;
            }
        };
    }
    for (id, d) in split(&old.profiles, &new.profiles, |k, _| *k) {
        out.profiles.entry(id).or_default().profile = d;
    }
    // rules are keyed by rules id: old and new ids both lead to the profile
    let profile_of: BTreeMap<u64, u64> = old
        .profiles
        .iter()
        .chain(&new.profiles)
        .map(|(id, p)| (p.rules_id, *id))
        .collect();
    let owner = |rules_id: u64| profile_of.get(&rules_id).copied().unwrap_or(rules_id);
    group!(exe_profiles, |_, v| *v);
    group!(fs_rules, |k, _| owner(k.rules_id));
    group!(net_rules, |k, _| owner(k.rules_id));
    group!(ipc_rules, |k, _| owner(k.subject));
    group!(proc_rules, |k, _| owner(k.subject));
    group!(cap_rules, |k, _| owner(k.rules_id));
    out.profiles.retain(|_, d| !d.is_empty());
    out
}

/// The differences of one map, per owning profile (`owner` says which
/// profile an entry belongs to).
fn split<K, V>(
    old: &BTreeMap<K, V>,
    new: &BTreeMap<K, V>,
    owner: impl Fn(&K, &V) -> u64,
) -> BTreeMap<u64, MapDiff<K, V>>
where
    K: Ord + Copy,
    V: PartialEq + Copy,
{
    let mut out: BTreeMap<u64, MapDiff<K, V>> = BTreeMap::new();
    for (k, v) in new {
        match old.get(k) {
            None => {
                out.entry(owner(k, v)).or_default().insert.insert(*k, *v);
            }
            Some(was) if was != v => {
                out.entry(owner(k, v)).or_default().update.insert(*k, *v);
            }
            Some(_) => {}
        }
    }
    for (k, v) in old {
        if !new.contains_key(k) {
            out.entry(owner(k, v)).or_default().remove.insert(*k);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::{path::Path, time::UNIX_EPOCH};

    use super::*;
    use crate::{compile::compile, parse::parse_str, resolve::StaticResolver};

    fn compiled(texts: &[&str], r: &StaticResolver) -> CompiledPolicy {
        let profiles: Vec<_> = texts
            .iter()
            .map(|t| parse_str(t, Path::new("t.toml")).unwrap())
            .collect();
        compile(&profiles, r, UNIX_EPOCH).unwrap()
    }

    #[test]
    fn identical_policies_have_an_empty_diff() {
        let mut r = StaticResolver::new();
        r.add("/bin/a");
        let a = compiled(
            &["profile = '/bin/a'\n[[fs]]\nfile = '/**'\naccess = 'read'\n"],
            &r,
        );
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn changes_are_grouped_per_profile() {
        let mut r = StaticResolver::new();
        r.add("/bin/a");
        r.add("/bin/b");
        r.add("/etc/x");
        let old = compiled(
            &[
                "profile = '/bin/a'\n[[fs]]\nfile = '/etc/**'\naccess = 'read'\n",
                "profile = '/bin/b'\n[[net]]\nfamily = 'inet'\noperation = 'connect'\n",
            ],
            &r,
        );
        let new = compiled(
            &[
                "profile = '/bin/a'\n[[fs]]\nfile = '/etc/**'\naccess = ['read', 'write']\n",
                "profile = '/bin/c'\n",
            ],
            &r,
        );
        let d = diff(&old, &new);
        let a = crate::model::profile_id(Path::new("/bin/a"));
        let b = crate::model::profile_id(Path::new("/bin/b"));
        let c = crate::model::profile_id(Path::new("/bin/c"));
        assert_eq!(
            d.profiles.keys().copied().collect::<BTreeSet<_>>(),
            [a, b, c].into()
        );
        // all of an edited profile's rules (/etc/** and its own executable)
        // move to new keys, its new rules id, and its entry switches to
        // them: no rule is updated in place
        assert_eq!(d.profiles[&a].fs_rules.insert.len(), 2);
        assert_eq!(d.profiles[&a].fs_rules.remove.len(), 2);
        assert!(d.profiles[&a].fs_rules.update.is_empty());
        assert_eq!(d.profiles[&a].profile.update.len(), 1);
        assert_eq!(d.profiles[&a].len(), 5);
        assert_eq!(d.profiles[&b].net_rules.remove.len(), 1);
        assert_eq!(d.profiles[&b].profile.remove.len(), 1);
        assert_eq!(d.profiles[&b].exe_profiles.remove.len(), 1);
        assert_eq!(d.profiles[&c].profile.insert.len(), 1);
        assert!(
            d.profiles[&c].exe_profiles.is_empty(),
            "/bin/c does not exist"
        );
        assert!(!d.contexts_changed);
    }
}
