//! Compiling a profile set into the entries of the kernel's maps.
//!
//! Output is a set of ordered maps, so compiling the same profiles on the
//! same machine always gives the same result, entry by entry.
//!
//! File rules (see `docs/policy.md`, "How paths are enforced"):
//!  - `dir/**` → a SUBTREE key on `dir`: the directory and everything below
//!    it, files created later included;
//!  - a plain path `/a/b/c` → a CHILD key (directory `/a/b`, name `c`), which
//!    covers whatever object carries that name, so a file created later or
//!    replaced by an editor's atomic save stays covered; and, if the object
//!    exists, an INODE key on it, which covers it under any name: needed when
//!    the path is a symlink (the kernel checks the link's target, whose
//!    name is not `c`) and for bpfbox's hard-link semantics. The cost is that
//!    the INODE key keeps naming the old object after a replacement until the
//!    next compile, which the daemon runs on every reload;
//!  - other wildcards are expanded to the existing matches at compile time,
//!    each compiled as a plain path (or, for `prefix/**`, as a subtree), and
//!    re-expanded on every reload.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    fmt,
    path::{Path, PathBuf},
    rc::Rc,
};

use bpfbox_abi::{self as abi, CapKey, FsKey, InodeKey, NetKey, PairKey};

use crate::{
    access::Actions,
    context::{ContextError, ContextProbe, ContextTable},
    entry::EntryBuilder,
    expiry::Now,
    glob::{PathPattern, Plan},
    model::{profile_id, ContextKind, Mode, Profile, Rule, Target},
    resolve::Resolver,
};

/// Why a profile set cannot be compiled at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// More function contexts than the kernel has bits.
    #[error(transparent)]
    Contexts(#[from] ContextError),
    /// Two profiles for one executable path.
    #[error("two profiles for the executable {}", .0.display())]
    DuplicateProfile(PathBuf),
    /// Two executable paths whose ids collide (astronomically unlikely).
    #[error("profile ids of {} and {} collide", .0.display(), .1.display())]
    IdCollision(PathBuf, PathBuf),
}

/// Something the compiler noticed that does not stop it: a rule covering
/// nothing on this machine, a merge it had to approximate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// The profile's executable does not exist yet: the kernel confines it
    /// by its path once it is installed.
    ExecutableMissing {
        /// The profile.
        profile: PathBuf,
    },
    /// The executable's path is too long for the kernel's path match
    /// ([`abi::EXE_PATH_MAX`]): it is confined by identity only, so a new
    /// file put at the path is confined only once the daemon has looked.
    ExecutablePathTooLong {
        /// The profile.
        profile: PathBuf,
    },
    /// Two profiles name the same file (a symlink, a hard link): the kernel
    /// knows an executable by its identity, so only `kept` confines it.
    SharedExecutable {
        /// The profile that does not get the executable.
        profile: PathBuf,
        /// The profile that does.
        kept: PathBuf,
    },
    /// A path of a rule neither exists nor has an existing directory, or a
    /// wildcard matched nothing: this part of the rule covers nothing until
    /// the next compile.
    NothingMatched {
        /// The profile.
        profile: PathBuf,
        /// The rule's id.
        rule: String,
        /// The (home-expanded) pattern.
        pattern: String,
    },
    /// A `~` rule while no home directory is known.
    NoHomes {
        /// The profile.
        profile: PathBuf,
        /// The rule's id.
        rule: String,
    },
    /// Context rules with different accesses on one object: their merge
    /// allows only what every context grants (see `entry.rs`).
    ContextMerge {
        /// The profile.
        profile: PathBuf,
        /// Which map: `fs_rules`, `net_rules`, …
        map: &'static str,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ExecutableMissing { profile } => write!(
                f,
                "{}: the executable is not installed; it is confined from its first run once it is",
                profile.display()
            ),
            Self::ExecutablePathTooLong { profile } => write!(
                f,
                "{}: the path is longer than {} bytes: the kernel matches the executable by identity only, so a file replacing it is confined only once bpfboxd has looked again",
                profile.display(),
                abi::EXE_PATH_MAX - 1
            ),
            Self::SharedExecutable { profile, kept } => write!(
                f,
                "{}: the executable is the same file as {}'s, which confines it",
                profile.display(),
                kept.display()
            ),
            Self::NothingMatched {
                profile,
                rule,
                pattern,
            } => write!(
                f,
                "{}: rule {rule}: {pattern} matches nothing on this machine",
                profile.display()
            ),
            Self::NoHomes { profile, rule } => write!(
                f,
                "{}: rule {rule}: no home directories are known for `~`",
                profile.display()
            ),
            Self::ContextMerge { profile, map } => write!(
                f,
                "{}: {map}: function-context rules grant different accesses on one object; allowed is only what all of them grant, tainting and auditing is what any of them does",
                profile.display()
            ),
        }
    }
}

/// The kernel map entries of a profile set, plus what the daemon needs
/// besides: the function contexts to probe and the notes to log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompiledPolicy {
    /// `profiles`: profile id → mode and flags.
    pub profiles: BTreeMap<u64, abi::Profile>,
    /// `exe_profiles`: executable identity → profile id.
    pub exe_profiles: BTreeMap<InodeKey, u64>,
    /// `uid_rules`: (profile, user) → the rules id of the profile's rules
    /// for that user's processes, where rules with a `uid` name the user.
    pub uid_rules: BTreeMap<abi::UidKey, u64>,
    /// `exe_paths`: [`abi::name_hash`] of an executable's path → profile
    /// id. Each profile's path as written and as the kernel names the file
    /// there (every symbolic link resolved), so that whatever file is put
    /// at the path is confined from its first exec.
    pub exe_paths: BTreeMap<u64, u64>,
    /// Profile id → the identity of the file at its executable path now;
    /// absent when nothing is there (not installed).
    pub executables: BTreeMap<u64, InodeKey>,
    /// `fs_rules`
    pub fs_rules: BTreeMap<FsKey, abi::Rule>,
    /// `net_rules`
    pub net_rules: BTreeMap<NetKey, abi::Rule>,
    /// `ipc_rules`: signals and ptrace.
    pub ipc_rules: BTreeMap<PairKey, abi::Rule>,
    /// `proc_rules`: `/proc/<pid>` of other profiles.
    pub proc_rules: BTreeMap<PairKey, abi::Rule>,
    /// `cap_rules`
    pub cap_rules: BTreeMap<CapKey, abi::Rule>,
    /// The function contexts, by bit.
    pub contexts: Vec<ContextProbe>,
    /// Profile id → executable path, for readable logs.
    pub names: BTreeMap<u64, PathBuf>,
    /// What the compiler noticed.
    pub notes: Vec<Note>,
    /// When the next temporary rule expires (unix seconds): the kernel does
    /// not expire rules, so the daemon must compile again by then.
    pub next_expiry: Option<i64>,
}

impl CompiledPolicy {
    /// The number of map entries of every kind.
    #[must_use]
    pub fn entry_count(&self) -> usize {
        self.profiles.len()
            + self.exe_profiles.len()
            + self.exe_paths.len()
            + self.uid_rules.len()
            + self.fs_rules.len()
            + self.net_rules.len()
            + self.ipc_rules.len()
            + self.proc_rules.len()
            + self.cap_rules.len()
    }
}

/// Compiles `profiles` for the machine `resolver` describes, with the rules
/// that are live at `now` (a [`std::time::SystemTime`] or a [`Now`] naming
/// the daemon instance). Disabled and expired rules are left out, as are the
/// rules of disabled profiles (their processes are not checked).
pub fn compile(
    profiles: &[Profile],
    resolver: &dyn Resolver,
    now: impl Into<Now>,
) -> Result<CompiledPolicy, CompileError> {
    let now = now.into();
    let mut sorted: Vec<&Profile> = profiles.iter().collect();
    sorted.sort_by(|a, b| a.profile.cmp(&b.profile));
    let mut ids: BTreeMap<u64, &Path> = BTreeMap::new();
    for pair in sorted.windows(2) {
        if pair[0].profile == pair[1].profile {
            return Err(CompileError::DuplicateProfile(pair[0].profile.clone()));
        }
    }
    for p in &sorted {
        if let Some(other) = ids.insert(p.id(), &p.profile) {
            return Err(CompileError::IdCollision(
                other.to_owned(),
                p.profile.clone(),
            ));
        }
    }
    let contexts = ContextTable::build(profiles)?;
    let homes: Vec<String> = resolver
        .homes()
        .iter()
        .filter_map(|h| h.to_str().map(str::to_owned))
        .collect();
    let mut c = Compiler {
        resolver,
        now: &now,
        contexts: &contexts,
        homes: &homes,
        all_ids: ids.keys().copied().collect(),
        inodes: HashMap::new(),
        patterns: HashMap::new(),
        uid: None,
        fs: BTreeMap::new(),
        net: BTreeMap::new(),
        ipc: BTreeMap::new(),
        proc: BTreeMap::new(),
        cap: BTreeMap::new(),
        notes: Vec::new(),
    };
    let mut out = CompiledPolicy {
        contexts: contexts.probes().to_vec(),
        ..CompiledPolicy::default()
    };
    claim_executables(&sorted, resolver, &mut out, &mut c.notes);
    let mut child_rules: BTreeSet<u64> = BTreeSet::new();
    // owner → profile id, for the variants of users' rules
    let mut owners: BTreeMap<u64, u64> = BTreeMap::new();
    for p in &sorted {
        if p.mode == Mode::Disabled {
            continue;
        }
        let id = p.id();
        if c.profile(p, id, None) {
            child_rules.insert(id);
        }
        for uid in p.rule_uids() {
            let variant = variant_id(id, uid);
            owners.insert(variant, id);
            if c.profile(p, variant, Some(uid)) {
                child_rules.insert(id);
            }
            out.uid_rules.insert(
                abi::UidKey {
                    profile_id: id,
                    uid,
                    _pad: 0,
                },
                variant,
            );
        }
    }
    out.next_expiry = sorted
        .iter()
        .filter(|p| p.mode != Mode::Disabled)
        .filter_map(|p| p.next_expiry(&now))
        .min();
    for p in &sorted {
        let id = p.id();
        let mut flags = 0;
        if p.taints_on_exec(&now) {
            flags |= abi::PROFILE_TAINT_ON_EXEC;
        }
        if child_rules.contains(&id) {
            flags |= abi::PROFILE_HAS_CHILD_RULES;
        }
        let own = |probe: &ContextProbe| {
            probe.kind == ContextKind::Func && probe.file.as_deref() == Some(p.profile.as_path())
        };
        if out.contexts.iter().any(own) {
            flags |= abi::PROFILE_EXE_PROBED;
        }
        if p.io_uring {
            flags |= abi::PROFILE_IO_URING;
        }
        if p.mount {
            flags |= abi::PROFILE_MOUNT;
        }
        out.profiles.insert(
            id,
            abi::Profile {
                mode: p.mode.abi(),
                flags,
                rules_id: id,
            },
        );
    }
    let mut lossy: BTreeSet<(u64, &'static str)> = BTreeSet::new();
    out.fs_rules = finish(c.fs, "fs_rules", |k| k.rules_id, &mut lossy);
    out.net_rules = finish(c.net, "net_rules", |k| k.rules_id, &mut lossy);
    out.ipc_rules = finish(c.ipc, "ipc_rules", |k| k.subject, &mut lossy);
    out.proc_rules = finish(c.proc, "proc_rules", |k| k.subject, &mut lossy);
    out.cap_rules = finish(c.cap, "cap_rules", |k| k.rules_id, &mut lossy);
    key_rules_by_content(&mut out, owners.keys().copied());
    out.notes = c.notes;
    for (id, map) in lossy {
        let profile = owners.get(&id).copied().unwrap_or(id);
        out.notes.push(Note::ContextMerge {
            profile: out.names[&profile].clone(),
            map,
        });
    }
    Ok(out)
}

/// Gives each profile its executable: the identity of the file at its path
/// (`exe_profiles`) and the path itself (`exe_paths`), as written and as the
/// kernel names it. A file two profiles name (a link, a symbolic link) goes
/// to the one that names it by its real path, else to the first in order.
fn claim_executables(
    sorted: &[&Profile],
    resolver: &dyn Resolver,
    out: &mut CompiledPolicy,
    notes: &mut Vec<Note>,
) {
    let real: BTreeMap<u64, PathBuf> = sorted
        .iter()
        .map(|p| (p.id(), resolver.real_path(&p.profile)))
        .collect();
    let mut order = sorted.to_vec();
    // stable: the sorted order within each group
    order.sort_by_key(|p| real[&p.id()] != p.profile);
    for p in order {
        let id = p.id();
        out.names.insert(id, p.profile.clone());
        match resolver.inode(&p.profile) {
            Some(key) => {
                out.executables.insert(id, key);
                match out.exe_profiles.get(&key) {
                    Some(kept) => notes.push(Note::SharedExecutable {
                        profile: p.profile.clone(),
                        kept: out.names[kept].clone(),
                    }),
                    None => {
                        out.exe_profiles.insert(key, id);
                    }
                }
            }
            None => notes.push(Note::ExecutableMissing {
                profile: p.profile.clone(),
            }),
        }
        let real = &real[&id];
        // as the kernel spells paths: no `.`, no doubled or trailing `/`
        let written: PathBuf = p.profile.components().collect();
        let mut too_long = false;
        for path in [&written, real] {
            let bytes = path.as_os_str().as_encoded_bytes();
            if bytes.len() >= abi::EXE_PATH_MAX as usize {
                too_long = true;
                continue;
            }
            out.exe_paths.entry(abi::name_hash(bytes)).or_insert(id);
        }
        if too_long {
            notes.push(Note::ExecutablePathTooLong {
                profile: p.profile.clone(),
            });
        }
    }
}

/// Keys every profile's rules by a hash of the profile id and the rules'
/// content ([`abi::Profile::rules_id`]), instead of by the profile id the
/// compiler used so far.
///
/// This is what makes a reload atomic per profile: an edited profile's new
/// rules get new keys, so they can be written while the old ones are still
/// in force; then one update of the profile's entry switches every hook from
/// the old rules to the new ones, and the old ones are removed unused. A
/// profile whose rules did not change keeps its id, and nothing is written.
fn key_rules_by_content(out: &mut CompiledPolicy, variants: impl Iterator<Item = u64>) {
    use std::hash::{Hash, Hasher};

    let mut hashers: BTreeMap<u64, Fnv> = out
        .profiles
        .keys()
        .copied()
        .chain(variants)
        .map(|id| (id, Fnv::new(id)))
        .collect();
    let mut feed = |owner: u64, tag: u8, entry: &dyn Fn(&mut Fnv)| {
        if let Some(h) = hashers.get_mut(&owner) {
            tag.hash(h);
            entry(h);
        }
    };
    for (k, v) in &out.fs_rules {
        feed(k.rules_id, 1, &|h| {
            (k.ino, k.name_hash, k.dev, k.scope, v).hash(h)
        });
    }
    for (k, v) in &out.net_rules {
        feed(k.rules_id, 2, &|h| (k.family, v).hash(h));
    }
    for (k, v) in &out.ipc_rules {
        feed(k.subject, 3, &|h| (k.object, v).hash(h));
    }
    for (k, v) in &out.proc_rules {
        feed(k.subject, 4, &|h| (k.object, v).hash(h));
    }
    for (k, v) in &out.cap_rules {
        feed(k.rules_id, 5, &|h| (k.cap, v).hash(h));
    }
    let ids: BTreeMap<u64, u64> = hashers
        .into_iter()
        .map(|(id, h)| (id, h.finish()))
        .collect();
    let new_id = |owner: u64| ids.get(&owner).copied().unwrap_or(owner);
    for (id, profile) in &mut out.profiles {
        profile.rules_id = new_id(*id);
    }
    for variant in out.uid_rules.values_mut() {
        *variant = new_id(*variant);
    }
    macro_rules! rekey {
        ($map:ident, $field:ident) => {
            out.$map = std::mem::take(&mut out.$map)
                .into_iter()
                .map(|(mut k, v)| {
                    k.$field = new_id(k.$field);
                    (k, v)
                })
                .collect();
        };
    }
    rekey!(fs_rules, rules_id);
    rekey!(net_rules, rules_id);
    rekey!(ipc_rules, subject);
    rekey!(proc_rules, subject);
    rekey!(cap_rules, rules_id);
}

/// The id a profile's rules for user `uid` are compiled under, before
/// they are keyed by content: stable, and never a profile's own id.
fn variant_id(profile: u64, uid: u32) -> u64 {
    use std::hash::Hasher;
    let mut h = Fnv::new(profile);
    h.write(b"uid");
    h.write_u32(uid);
    h.finish()
}

/// FNV-1a, 64 bits: stable across runs and builds, unlike std's
/// `DefaultHasher`, so a restarted daemon computes the same rules ids and
/// rewrites nothing.
struct Fnv(u64);

impl Fnv {
    fn new(seed: u64) -> Self {
        let mut h = Self(abi::FNV_OFFSET);
        std::hash::Hasher::write_u64(&mut h, seed);
        h
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(abi::FNV_PRIME);
        }
    }
}

fn finish<K: Ord>(
    builders: BTreeMap<K, EntryBuilder>,
    map: &'static str,
    owner: impl Fn(&K) -> u64,
    lossy: &mut BTreeSet<(u64, &'static str)>,
) -> BTreeMap<K, abi::Rule> {
    builders
        .into_iter()
        .map(|(key, builder)| {
            let (rule, approximated) = builder.build();
            if approximated {
                lossy.insert((owner(&key), map));
            }
            (key, rule)
        })
        .collect()
}

/// What every process may do with its own executable, whatever its rules:
/// exec and the loader read, map and stat the binary. Without it a profile
/// that forgot its own path could not start.
pub const OWN_EXECUTABLE: u32 = abi::FS_OWN_EXECUTABLE;

struct Compiler<'a> {
    resolver: &'a dyn Resolver,
    now: &'a Now,
    contexts: &'a ContextTable,
    homes: &'a [String],
    all_ids: Vec<u64>,
    /// Identities already asked for: parents repeat a lot.
    inodes: HashMap<String, Option<InodeKey>>,
    /// Keys of each distinct `file` pattern.
    patterns: HashMap<String, Rc<PatternKeys>>,
    /// The user whose variant is being compiled (none: the base rules).
    uid: Option<u32>,
    fs: BTreeMap<FsKey, EntryBuilder>,
    net: BTreeMap<NetKey, EntryBuilder>,
    ipc: BTreeMap<PairKey, EntryBuilder>,
    proc: BTreeMap<PairKey, EntryBuilder>,
    cap: BTreeMap<CapKey, EntryBuilder>,
    notes: Vec<Note>,
}

/// What one rule puts into each key it covers.
#[derive(Clone, Copy)]
struct Grant {
    actions: Actions,
    access: u32,
    state: u64,
}

impl Compiler<'_> {
    /// Compiles one profile's live rules for the processes of user `uid`
    /// (none: the rules without a `uid`; a user: those and the user's),
    /// keyed by `owner` (the profile's id, or its variant's for that user);
    /// returns whether it has CHILD keys.
    fn profile(&mut self, p: &Profile, owner: u64, uid: Option<u32>) -> bool {
        self.uid = uid;
        let id = owner;
        let mut ids = LazyIds {
            profile: p,
            fs: None,
        };
        let mut has_child = false;
        for (index, rule) in p.fs.iter().enumerate() {
            let Some(grant) = self.grant(p, rule, rule.object.access.bits()) else {
                continue;
            };
            for pattern in &rule.object.files {
                has_child |= self.fs_pattern(id, &mut ids, index, pattern, grant);
            }
        }
        if let Some(exe) = p.profile.to_str().and_then(|exe| self.inode(exe)) {
            add(
                &mut self.fs,
                FsKey {
                    rules_id: id,
                    ino: exe.ino,
                    name_hash: 0,
                    dev: exe.dev,
                    scope: abi::SCOPE_INODE,
                },
                Grant {
                    actions: Actions::ALLOW,
                    access: OWN_EXECUTABLE,
                    state: 0,
                },
            );
        }
        for rule in &p.net {
            let Some(grant) = self.grant(p, rule, rule.object.operations.bits()) else {
                continue;
            };
            for family in rule.object.families.iter().flat_map(|f| f.families()) {
                let key = NetKey {
                    rules_id: id,
                    family: family.0,
                    _pad: 0,
                };
                add(&mut self.net, key, grant);
            }
        }
        for rule in &p.signal {
            if let Some(grant) = self.grant(p, rule, rule.object.signals.bits()) {
                for object in self.objects(p.id(), &rule.object.targets) {
                    add(
                        &mut self.ipc,
                        PairKey {
                            subject: id,
                            object,
                        },
                        grant,
                    );
                }
            }
        }
        for rule in &p.ptrace {
            if let Some(grant) = self.grant(p, rule, abi::IPC_PTRACE) {
                for object in self.objects(p.id(), &rule.object.targets) {
                    add(
                        &mut self.ipc,
                        PairKey {
                            subject: id,
                            object,
                        },
                        grant,
                    );
                }
            }
        }
        for rule in &p.proc {
            if let Some(grant) = self.grant(p, rule, rule.object.access.bits()) {
                for object in self.objects(p.id(), &rule.object.targets) {
                    add(
                        &mut self.proc,
                        PairKey {
                            subject: id,
                            object,
                        },
                        grant,
                    );
                }
            }
        }
        for rule in &p.capability {
            let Some(grant) = self.grant(p, rule, 1) else {
                continue;
            };
            for cap in rule
                .object
                .capabilities
                .iter()
                .flat_map(|c| c.capabilities())
            {
                let key = CapKey {
                    rules_id: id,
                    cap: cap.0,
                    _pad: 0,
                };
                add(&mut self.cap, key, grant);
            }
        }
        has_child
    }

    fn grant<T>(&self, p: &Profile, rule: &Rule<T>, access: u32) -> Option<Grant> {
        let for_this_user = rule.uid.is_none() || rule.uid == self.uid;
        (rule.is_live(self.now) && for_this_user).then(|| Grant {
            actions: rule.effective_actions(),
            access,
            state: self.contexts.state(p, rule),
        })
    }

    /// The profile ids a target stands for.
    fn objects(&self, subject: u64, targets: &[Target]) -> Vec<u64> {
        let mut out = BTreeSet::new();
        for target in targets {
            match target {
                Target::SameProfile => {
                    out.insert(subject);
                }
                Target::Unconfined => {
                    out.insert(0);
                }
                Target::Any => {
                    out.extend(self.all_ids.iter().copied());
                    out.insert(0);
                }
                Target::Profile(path) => {
                    out.insert(profile_id(path));
                }
            }
        }
        out.into_iter().collect()
    }

    /// Compiles one `file` pattern of fs rule `index`; returns whether it
    /// made CHILD keys.
    fn fs_pattern(
        &mut self,
        id: u64,
        ids: &mut LazyIds<'_>,
        index: usize,
        pattern: &PathPattern,
        grant: Grant,
    ) -> bool {
        let keys = match self.patterns.get(pattern.as_str()) {
            Some(keys) => Rc::clone(keys),
            None => {
                let keys = Rc::new(self.pattern_keys(pattern));
                self.patterns
                    .insert(pattern.as_str().to_owned(), Rc::clone(&keys));
                keys
            }
        };
        for &(ino, name_hash, dev, scope) in &keys.keys {
            let key = FsKey {
                rules_id: id,
                ino,
                name_hash,
                dev,
                scope,
            };
            add(&mut self.fs, key, grant);
        }
        if keys.no_homes {
            self.notes.push(Note::NoHomes {
                profile: ids.profile.profile.clone(),
                rule: ids.fs(index),
            });
        }
        for pattern in &keys.unmatched {
            self.notes.push(Note::NothingMatched {
                profile: ids.profile.profile.clone(),
                rule: ids.fs(index),
                pattern: pattern.clone(),
            });
        }
        keys.keys.iter().any(|k| k.3 == abi::SCOPE_CHILD)
    }

    /// The keys (less the profile id) one pattern compiles to on this
    /// machine. Worked out once per distinct pattern: the same patterns
    /// (`/usr/**`, `~/…`) recur across rules and profiles, and each lookup
    /// is a system call in the daemon.
    fn pattern_keys(&mut self, pattern: &PathPattern) -> PatternKeys {
        let mut out = PatternKeys::default();
        if !pattern.is_home() {
            self.concrete_keys(pattern, &mut out);
        } else if self.homes.is_empty() {
            out.no_homes = true;
        } else {
            for concrete in pattern.expand_home(self.homes) {
                self.concrete_keys(&concrete, &mut out);
            }
        }
        out.keys.sort_unstable();
        out.keys.dedup();
        out
    }

    /// Adds the keys of one absolute pattern.
    fn concrete_keys(&mut self, concrete: &PathPattern, out: &mut PatternKeys) {
        let before = out.keys.len();
        match concrete.plan() {
            Plan::Exact(path) => self.exact(path, out),
            Plan::Subtree(dir) => self.subtree(dir, out),
            Plan::ExpandSubtree(prefix) => {
                let matcher = PathPattern::parse(prefix).ok();
                for m in self.expand(prefix, matcher.as_ref()) {
                    self.subtree(&m, out);
                }
            }
            Plan::Expand(glob) => {
                for m in self.expand(glob, Some(concrete)) {
                    self.exact(&m, out);
                }
            }
        }
        if out.keys.len() == before {
            out.unmatched.push(concrete.as_str().to_owned());
        }
    }

    /// Existing matches of `glob` that `matcher` also accepts, sorted.
    fn expand(&self, glob: &str, matcher: Option<&PathPattern>) -> Vec<String> {
        let Some(matcher) = matcher else {
            return Vec::new();
        };
        let mut found: Vec<String> = self
            .resolver
            .expand(glob)
            .into_iter()
            .filter_map(|p| p.to_str().map(str::to_owned))
            .filter(|p| matcher.matches(p) && is_normal(p))
            .collect();
        found.sort();
        found.dedup();
        found
    }

    fn inode(&mut self, path: &str) -> Option<InodeKey> {
        if let Some(known) = self.inodes.get(path) {
            return *known;
        }
        let key = self.resolver.inode(Path::new(path));
        self.inodes.insert(path.to_owned(), key);
        key
    }

    /// CHILD key in the parent directory, INODE key if the object exists.
    fn exact(&mut self, path: &str, out: &mut PatternKeys) {
        if let Some((parent, name)) = split_parent(path) {
            if let Some(dir) = self.inode(parent) {
                let hash = abi::name_hash(name.as_bytes());
                out.keys.push((dir.ino, hash, dir.dev, abi::SCOPE_CHILD));
            }
        }
        if let Some(object) = self.inode(path) {
            out.keys.push((object.ino, 0, object.dev, abi::SCOPE_INODE));
        }
    }

    /// SUBTREE key on the directory, if it exists.
    fn subtree(&mut self, dir: &str, out: &mut PatternKeys) {
        if let Some(object) = self.inode(dir) {
            out.keys
                .push((object.ino, 0, object.dev, abi::SCOPE_SUBTREE));
        }
    }
}

/// What one `file` pattern compiles to, for any profile.
#[derive(Default)]
struct PatternKeys {
    /// (ino, name_hash, dev, scope) of each `fs_rules` key.
    keys: Vec<(u64, u64, u32, u32)>,
    /// Home-expanded patterns that matched nothing.
    unmatched: Vec<String>,
    /// A `~` pattern while no home is known.
    no_homes: bool,
}

/// Rule ids, worked out only when a note needs one.
struct LazyIds<'p> {
    profile: &'p Profile,
    fs: Option<Vec<String>>,
}

impl LazyIds<'_> {
    fn fs(&mut self, index: usize) -> String {
        let profile = self.profile;
        self.fs.get_or_insert_with(|| {
            profile
                .rule_ids()
                .into_iter()
                .next()
                .map(|(_, ids)| ids)
                .unwrap_or_default()
        })[index]
            .clone()
    }
}

fn add<K: Ord>(map: &mut BTreeMap<K, EntryBuilder>, key: K, grant: Grant) {
    map.entry(key)
        .or_default()
        .add(grant.actions, grant.access, grant.state);
}

/// `("/a/b", "c")` for `/a/b/c`, `("/", "a")` for `/a`, `None` for `/`.
fn split_parent(path: &str) -> Option<(&str, &str)> {
    let (parent, name) = path.rsplit_once('/')?;
    if name.is_empty() {
        return None;
    }
    Some((if parent.is_empty() { "/" } else { parent }, name))
}

/// Absolute, without `.`, `..` or empty components (expansion results).
fn is_normal(path: &str) -> bool {
    crate::glob::check_plain_path(path).is_ok()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::{parse::parse_str, resolve::StaticResolver};

    fn profile(text: &str) -> Profile {
        parse_str(text, Path::new("test.toml")).unwrap()
    }

    fn now() -> Now {
        Now::new(UNIX_EPOCH + Duration::from_secs(1_000_000)).with_instance("i1")
    }

    fn machine() -> StaticResolver {
        let mut r = StaticResolver::new();
        r.add("/bin/app");
        r.add("/etc/passwd");
        r.add("/usr/lib/libc.so");
        r.add("/usr/lib/libm.so");
        r.add("/usr/lib/readme.txt");
        r.add("/home/alice/.config/app/settings");
        r.add_home("/home/alice");
        r.add_home("/root");
        r
    }

    fn key(r: &StaticResolver, path: &str) -> InodeKey {
        r.inode(Path::new(path)).unwrap()
    }

    /// The policy without each profile's implicit own-executable key, for
    /// tests about what the rules compile to.
    fn rules_only(mut c: CompiledPolicy, r: &StaticResolver) -> CompiledPolicy {
        let exes: Vec<(u64, InodeKey)> = c
            .names
            .iter()
            .filter_map(|(id, exe)| r.inode(exe).map(|k| (c.profiles[id].rules_id, k)))
            .collect();
        c.fs_rules.retain(|k, _| {
            !exes.iter().any(|(rules, exe)| {
                k.rules_id == *rules
                    && k.scope == abi::SCOPE_INODE
                    && (k.ino, k.dev) == (exe.ino, exe.dev)
            })
        });
        c
    }

    #[test]
    fn rules_id_changes_with_the_rules_and_only_with_them() {
        let r = machine();
        let a = profile("profile = '/bin/app'\n[[fs]]\nfile = '/etc/passwd'\naccess = 'read'\n");
        let b =
            profile("profile = '/bin/other'\n[[net]]\nfamily = 'inet'\noperation = 'connect'\n");
        let edited = profile(
            "profile = '/bin/app'\n[[fs]]\nfile = '/etc/passwd'\naccess = ['read', 'write']\n",
        );
        let mut complain = a.clone();
        complain.mode = Mode::Complain;
        let before = compile(&[a.clone(), b.clone()], &r, now()).unwrap();
        let after = compile(&[edited.clone(), b.clone()], &r, now()).unwrap();
        let moded = compile(&[complain, b.clone()], &r, now()).unwrap();
        let rules = |c: &CompiledPolicy, p: &Profile| c.profiles[&p.id()].rules_id;
        assert_ne!(
            rules(&before, &a),
            rules(&after, &a),
            "edited rules get new keys"
        );
        assert_eq!(
            rules(&before, &b),
            rules(&after, &b),
            "untouched profile keeps its keys"
        );
        assert_eq!(
            rules(&before, &a),
            rules(&moded, &a),
            "a mode change rewrites no rule"
        );
        assert!(after
            .fs_rules
            .keys()
            .all(|k| k.rules_id != rules(&before, &a)));
        assert_eq!(before.net_rules, after.net_rules);
    }

    #[test]
    fn a_profile_may_always_read_map_and_stat_its_own_executable() {
        let r = machine();
        let p = profile("profile = '/bin/app'\n");
        let c = compile(std::slice::from_ref(&p), &r, now()).unwrap();
        let exe = key(&r, "/bin/app");
        let own = FsKey {
            rules_id: c.profiles[&p.id()].rules_id,
            ino: exe.ino,
            name_hash: 0,
            dev: exe.dev,
            scope: abi::SCOPE_INODE,
        };
        assert_eq!(c.fs_rules.len(), 1);
        assert_eq!(c.fs_rules[&own].allow.access, OWN_EXECUTABLE);
        assert_eq!(c.fs_rules[&own].taint.access, 0);
    }

    #[test]
    fn plain_path_compiles_to_child_of_its_directory_and_its_inode() {
        let r = machine();
        let p = profile("profile = '/bin/app'\n[[fs]]\nfile = '/etc/passwd'\naccess = 'read'\n");
        let c = rules_only(compile(std::slice::from_ref(&p), &r, now()).unwrap(), &r);
        let etc = key(&r, "/etc");
        let passwd = key(&r, "/etc/passwd");
        let child = FsKey {
            rules_id: c.profiles[&p.id()].rules_id,
            ino: etc.ino,
            name_hash: abi::name_hash(b"passwd"),
            dev: etc.dev,
            scope: abi::SCOPE_CHILD,
        };
        let inode = FsKey {
            rules_id: c.profiles[&p.id()].rules_id,
            ino: passwd.ino,
            name_hash: 0,
            dev: passwd.dev,
            scope: abi::SCOPE_INODE,
        };
        assert_eq!(c.fs_rules.keys().copied().collect::<Vec<_>>(), {
            let mut v = vec![child, inode];
            v.sort();
            v
        });
        assert_eq!(c.fs_rules[&child].allow.access, abi::FS_READ);
        assert_eq!(c.fs_rules[&child], c.fs_rules[&inode]);
        let flags = c.profiles[&p.id()].flags;
        assert_eq!(
            flags,
            abi::PROFILE_TAINT_ON_EXEC | abi::PROFILE_HAS_CHILD_RULES
        );
        assert_eq!(c.exe_profiles[&key(&r, "/bin/app")], p.id());
    }

    #[test]
    fn a_file_that_does_not_exist_yet_is_covered_through_its_directory() {
        let r = machine();
        let p = profile("profile = '/bin/app'\n[[fs]]\nfile = '/etc/new.conf'\naccess = 'write'\n");
        let c = rules_only(compile(&[p], &r, now()).unwrap(), &r);
        let scopes: Vec<u32> = c.fs_rules.keys().map(|k| k.scope).collect();
        assert_eq!(scopes, [abi::SCOPE_CHILD]);
        assert!(c.notes.is_empty(), "{:?}", c.notes);
    }

    #[test]
    fn double_star_compiles_to_one_subtree_key() {
        let r = machine();
        let p =
            profile("profile = '/bin/app'\n[[fs]]\nfile = '/usr/**'\naccess = ['read', 'exec']\n");
        let c = rules_only(compile(std::slice::from_ref(&p), &r, now()).unwrap(), &r);
        let usr = key(&r, "/usr");
        let (k, v) = c.fs_rules.iter().next().unwrap();
        assert_eq!(c.fs_rules.len(), 1);
        assert_eq!(
            (k.scope, k.ino, k.dev),
            (abi::SCOPE_SUBTREE, usr.ino, usr.dev)
        );
        assert_eq!(v.allow.access, abi::FS_READ | abi::FS_EXEC);
        assert_eq!(c.profiles[&p.id()].flags & abi::PROFILE_HAS_CHILD_RULES, 0);
    }

    #[test]
    fn wildcards_expand_to_existing_matches() {
        let r = machine();
        let p = profile("profile = '/bin/app'\n[[fs]]\nfile = '/usr/lib/*.so'\naccess = 'read'\n");
        let c = rules_only(compile(&[p], &r, now()).unwrap(), &r);
        // libc.so and libm.so: CHILD + INODE each
        assert_eq!(c.fs_rules.len(), 4);
        let names: BTreeSet<u64> = c.fs_rules.keys().map(|k| k.name_hash).collect();
        assert!(names.contains(&abi::name_hash(b"libc.so")));
        assert!(!names.contains(&abi::name_hash(b"readme.txt")));
    }

    #[test]
    fn home_placeholder_compiles_for_every_home() {
        let r = machine();
        let p =
            profile("profile = '/bin/app'\n[[fs]]\nfile = '~/.config/app/**'\naccess = 'read'\n");
        let c = rules_only(compile(std::slice::from_ref(&p), &r, now()).unwrap(), &r);
        // alice's exists, root's does not
        assert_eq!(c.fs_rules.len(), 1);
        assert_eq!(
            c.notes,
            [Note::NothingMatched {
                profile: "/bin/app".into(),
                rule: p.rule_ids()[0].1[0].clone(),
                pattern: "/root/.config/app/**".into()
            }]
        );
    }

    #[test]
    fn disabled_and_expired_rules_are_not_compiled() {
        let r = machine();
        let p = profile(
            "profile = '/bin/app'\n\
             [[fs]]\nfile = '/etc/passwd'\naccess = 'read'\nenabled = false\n\
             [[fs]]\nfile = '/usr/**'\naccess = 'read'\nexpires = 0\n\
             [[fs]]\nfile = '/bin/**'\naccess = 'read'\nexpires = 'restart:i0'\n\
             [[net]]\nfamily = 'inet'\noperation = 'connect'\nexpires = 'restart:i1'\n",
        );
        let c = rules_only(compile(&[p], &r, now()).unwrap(), &r);
        assert!(c.fs_rules.is_empty());
        assert_eq!(c.net_rules.len(), 1);
        assert_eq!(c.next_expiry, None);
    }

    #[test]
    fn the_next_expiry_tells_the_daemon_when_to_compile_again() {
        let r = machine();
        let p = profile(
            "profile = '/bin/app'\n\
             [[fs]]\nfile = '/etc/passwd'\naccess = 'read'\nexpires = 1000300\n\
             [[net]]\nfamily = 'inet'\noperation = 'connect'\nexpires = 1000200\n\
             [[net]]\nfamily = 'inet'\noperation = 'bind'\nexpires = 1000100\nenabled = false\n",
        );
        let c = compile(&[p], &r, now()).unwrap();
        assert_eq!(c.next_expiry, Some(1_000_200));
    }

    #[test]
    fn once_rules_are_audited_so_the_daemon_sees_their_use() {
        let r = machine();
        let p = profile("profile = '/bin/app'\n[[net]]\nfamily = 'inet'\noperation = 'connect'\nexpires = 'once'\n");
        let c = compile(&[p], &r, now()).unwrap();
        let rule = c.net_rules.values().next().unwrap();
        assert_eq!(rule.allow.access, abi::NET_CONNECT);
        assert_eq!(rule.audit.access, abi::NET_CONNECT);
    }

    #[test]
    fn rules_on_one_key_are_or_merged() {
        let r = machine();
        let p = profile(
            "profile = '/bin/app'\n\
             [[net]]\nfamily = ['inet', 'inet6']\noperation = 'connect'\n\
             [[net]]\nfamily = 'AF_INET'\noperation = 'send'\naction = ['allow', 'taint']\n",
        );
        let c = compile(std::slice::from_ref(&p), &r, now()).unwrap();
        let inet = NetKey {
            rules_id: c.profiles[&p.id()].rules_id,
            family: 2,
            _pad: 0,
        };
        assert_eq!(
            c.net_rules[&inet].allow.access,
            abi::NET_CONNECT | abi::NET_SEND
        );
        assert_eq!(c.net_rules[&inet].taint.access, abi::NET_SEND);
        assert_eq!(c.net_rules.len(), 2);
        assert_eq!(c.profiles[&p.id()].flags & abi::PROFILE_TAINT_ON_EXEC, 0);
    }

    #[test]
    fn signal_targets_compile_to_profile_pairs() {
        let r = machine();
        let app = profile(
            "profile = '/bin/app'\n\
             [[signal]]\nsignal = 'sigkill'\ntarget = ['self', '/bin/other', 'unconfined']\n\
             [[ptrace]]\ntarget = 'any'\n",
        );
        let other = profile("profile = '/bin/other'\n");
        let c = compile(&[app.clone(), other.clone()], &r, now()).unwrap();
        let pair = |object| PairKey {
            subject: c.profiles[&app.id()].rules_id,
            object,
        };
        assert_eq!(
            c.ipc_rules[&pair(app.id())].allow.access,
            abi::IPC_SIGKILL | abi::IPC_PTRACE
        );
        assert_eq!(
            c.ipc_rules[&pair(other.id())].allow.access,
            abi::IPC_SIGKILL | abi::IPC_PTRACE
        );
        assert_eq!(
            c.ipc_rules[&pair(0)].allow.access,
            abi::IPC_SIGKILL | abi::IPC_PTRACE
        );
        assert_eq!(c.ipc_rules.len(), 3);
        assert_eq!(
            c.notes,
            [Note::ExecutableMissing {
                profile: "/bin/other".into()
            }]
        );
    }

    #[test]
    fn capability_any_compiles_to_every_known_capability() {
        let r = machine();
        let p = profile("profile = '/bin/app'\n[[capability]]\ncapability = 'any'\n[[capability]]\ncapability = 'net_bind_service'\naction = 'audit'\n");
        let c = compile(std::slice::from_ref(&p), &r, now()).unwrap();
        assert_eq!(c.cap_rules.len(), 41);
        let bind = CapKey {
            rules_id: c.profiles[&p.id()].rules_id,
            cap: 10,
            _pad: 0,
        };
        assert_eq!(c.cap_rules[&bind].allow.access, 1);
        assert_eq!(c.cap_rules[&bind].audit.access, 1);
    }

    #[test]
    fn func_rules_use_context_bits() {
        let r = machine();
        let p = profile("profile = '/bin/app'\n[[fs]]\nfile = '/usr/**'\naccess = 'read'\nfunc = 'main'\n[[fs]]\nfile = '/usr/**'\naccess = 'exec'\n");
        let c = rules_only(compile(&[p], &r, now()).unwrap(), &r);
        assert_eq!(c.contexts.len(), 1);
        assert_eq!(c.contexts[0].file.as_deref(), Some(Path::new("/bin/app")));
        let rule = c.fs_rules.values().next().unwrap();
        assert_eq!(rule.allow.access, abi::FS_EXEC);
        assert_eq!(rule.allow.ctx_access, abi::FS_READ);
        assert_eq!(rule.allow.state, 1);
    }

    #[test]
    fn disabled_profiles_keep_their_executable_but_no_rules() {
        let r = machine();
        let p = profile(
            "profile = '/bin/app'\nmode = 'disabled'\n[[fs]]\nfile = '/usr/**'\naccess = 'read'\n",
        );
        let c = compile(std::slice::from_ref(&p), &r, now()).unwrap();
        assert!(c.fs_rules.is_empty());
        assert_eq!(c.profiles[&p.id()].mode, abi::MODE_DISABLED);
        assert_eq!(c.exe_profiles.len(), 1);
    }

    #[test]
    fn two_profiles_for_one_file_confine_it_once() {
        let mut r = machine();
        r.alias("/usr/bin/app", "/bin/app");
        let a = profile("profile = '/bin/app'\n");
        let b = profile("profile = '/usr/bin/app'\n");
        let c = compile(&[b, a.clone()], &r, now()).unwrap();
        assert_eq!(
            c.exe_profiles.values().copied().collect::<Vec<_>>(),
            [a.id()]
        );
        assert_eq!(
            c.notes,
            [Note::SharedExecutable {
                profile: "/usr/bin/app".into(),
                kept: "/bin/app".into()
            }]
        );
    }

    #[test]
    fn every_profile_keys_its_path_as_written_and_as_the_kernel_names_it() {
        let mut r = machine();
        r.add("/usr/bin/cat");
        r.symlink("/bin", "/usr/bin");
        let p = profile("profile = '/bin/cat'\n");
        let c = compile(std::slice::from_ref(&p), &r, now()).unwrap();
        let paths: BTreeMap<u64, u64> = [
            (abi::name_hash(b"/bin/cat"), p.id()),
            (abi::name_hash(b"/usr/bin/cat"), p.id()),
        ]
        .into();
        assert_eq!(c.exe_paths, paths);
        assert_eq!(c.executables[&p.id()], key(&r, "/usr/bin/cat"));
    }

    #[test]
    fn a_missing_executable_is_keyed_by_its_path_for_when_it_arrives() {
        let r = machine();
        let p = profile("profile = '/opt/later/bin/app'\n");
        let c = compile(std::slice::from_ref(&p), &r, now()).unwrap();
        assert!(c.exe_profiles.is_empty() && c.executables.is_empty());
        assert_eq!(
            c.exe_paths.get(&abi::name_hash(b"/opt/later/bin/app")),
            Some(&p.id())
        );
        assert_eq!(
            c.notes,
            [Note::ExecutableMissing {
                profile: "/opt/later/bin/app".into()
            }]
        );
    }

    #[test]
    fn a_file_named_through_a_link_goes_to_the_profile_naming_its_real_path() {
        let mut r = machine();
        r.add("/opt/app/app");
        r.symlink("/usr/bin/app", "/opt/app/app");
        let link = profile("profile = '/usr/bin/app'\n");
        let real = profile("profile = '/opt/app/app'\n");
        let c = compile(&[link.clone(), real.clone()], &r, now()).unwrap();
        assert_eq!(c.exe_profiles[&key(&r, "/opt/app/app")], real.id());
        assert_eq!(c.exe_paths[&abi::name_hash(b"/opt/app/app")], real.id());
        assert_eq!(c.exe_paths[&abi::name_hash(b"/usr/bin/app")], link.id());
    }

    #[test]
    fn functions_of_its_own_executable_mark_a_profile_as_probed() {
        let r = machine();
        let own = profile(
            "profile = '/bin/app'\n[[fs]]\nfile = '/etc/passwd'\naccess = 'read'\nfunc = 'main'\n",
        );
        let library = profile(
            "profile = '/bin/other'\n[[fs]]\nfile = '/etc/passwd'\naccess = 'read'\nfunc = 'libc.so.6:qsort'\nkfunc = 'vfs_read'\n",
        );
        let c = compile(&[own.clone(), library.clone()], &r, now()).unwrap();
        let probed = |p: &Profile| c.profiles[&p.id()].flags & abi::PROFILE_EXE_PROBED != 0;
        assert!(probed(&own));
        assert!(
            !probed(&library),
            "a library's or the kernel's functions are not its file's"
        );
    }

    #[test]
    fn a_rule_for_one_user_is_in_that_users_rules_only() {
        let r = machine();
        let p = profile(
            "profile = '/bin/app'\n[[fs]]\nfile = '/etc/passwd'\naccess = 'read'\n\
             [[fs]]\nfile = '/usr/lib/libc.so'\naccess = 'read'\nuid = 1000\n",
        );
        let c = compile(std::slice::from_ref(&p), &r, now()).unwrap();
        let base = c.profiles[&p.id()].rules_id;
        let user_key = abi::UidKey {
            profile_id: p.id(),
            uid: 1000,
            _pad: 0,
        };
        let users = c.uid_rules[&user_key];
        assert_eq!(
            c.uid_rules.len(),
            1,
            "only user 1000 has rules of their own"
        );
        assert_ne!(users, base);
        let lib = key(&r, "/usr/lib/libc.so");
        let has_lib = |rules_id: u64| {
            c.fs_rules
                .keys()
                .any(|k| k.rules_id == rules_id && k.scope == abi::SCOPE_INODE && k.ino == lib.ino)
        };
        assert!(has_lib(users) && !has_lib(base));
        let passwd = key(&r, "/etc/passwd");
        let has_passwd = |rules_id: u64| {
            c.fs_rules
                .keys()
                .any(|k| k.rules_id == rules_id && k.ino == passwd.ino)
        };
        assert!(
            has_passwd(users) && has_passwd(base),
            "the user's rules are the profile's and theirs"
        );
    }

    #[test]
    fn compiling_twice_gives_the_same_result_whatever_the_input_order() {
        let r = machine();
        let a = profile("profile = '/bin/app'\n[[fs]]\nfile = ['/usr/lib/*.so', '~/**']\naccess = 'read'\nfunc = 'f'\n");
        let b =
            profile("profile = '/bin/b'\n[[fs]]\nfile = '/etc/**'\naccess = 'read'\nkfunc = 'k'\n");
        let one = compile(&[a.clone(), b.clone()], &r, now()).unwrap();
        let two = compile(&[b, a], &r, now()).unwrap();
        assert_eq!(one, two);
    }

    #[test]
    fn duplicate_profiles_do_not_compile() {
        let r = machine();
        let a = profile("profile = '/bin/app'\n");
        assert_eq!(
            compile(&[a.clone(), a], &r, now()),
            Err(CompileError::DuplicateProfile("/bin/app".into()))
        );
    }
}
