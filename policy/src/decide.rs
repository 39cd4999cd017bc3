//! bpfbox's decision procedure as pure functions: the reference the kernel
//! tests compare the BPF programs against.
//!
//! Two levels:
//!  - [`decide_entry`] takes what the kernel has in hand — the task's taint
//!    and context state, the merged map value found for the object (if any)
//!    — and does exactly what `ebpf/src/decide.h` does;
//!  - [`Policy::decide`] starts from profiles and a request (a path, a
//!    socket family, a signal…), finds the rules that cover it the way the
//!    compiled keys would, and explains the result with rule ids.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    path::{Path, PathBuf},
};

use bpfbox_abi as abi;

use crate::{
    access::{signal_access, Capability, Family, FsAccess, NetOps},
    compile::CompileError,
    context::{ContextProbe, ContextTable},
    entry::{effective, EntryBuilder},
    expiry::Now,
    glob::MatchKey,
    model::{profile_id, ContextKind, Mode, Profile, Rule, RuleKind, Target},
};

/// The outcome of one check: `DECISION_*` bits as the kernel reports them,
/// and whether the task is tainted afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decision {
    /// `bpfbox_abi::DECISION_*` bits.
    pub bits: u32,
    /// The task's taint after the check.
    pub tainted_after: bool,
}

impl Decision {
    /// Whether the access goes through (allowed, or complained about).
    #[must_use]
    pub const fn is_allowed(self) -> bool {
        self.bits & abi::DECISION_DENY == 0
    }

    /// Whether the hook fails with `EPERM`.
    #[must_use]
    pub const fn is_denied(self) -> bool {
        self.bits & abi::DECISION_DENY != 0
    }

    /// Whether an audit event is reported.
    #[must_use]
    pub const fn is_audited(self) -> bool {
        self.bits & abi::DECISION_AUDIT != 0
    }

    /// Whether this access tainted the task.
    #[must_use]
    pub const fn tainted(self) -> bool {
        self.bits & abi::DECISION_TAINT != 0
    }

    /// Whether complain mode let a denial through.
    #[must_use]
    pub const fn complained(self) -> bool {
        self.bits & abi::DECISION_COMPLAIN != 0
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(u32, &str); 5] = [
            (abi::DECISION_ALLOW, "ALLOW"),
            (abi::DECISION_AUDIT, "AUDIT"),
            (abi::DECISION_TAINT, "TAINT"),
            (abi::DECISION_DENY, "DENY"),
            (abi::DECISION_COMPLAIN, "COMPLAIN"),
        ];
        let names: Vec<&str> = NAMES
            .iter()
            .filter(|(bit, _)| self.bits & bit != 0)
            .map(|&(_, name)| name)
            .collect();
        f.write_str(&names.join("|"))
    }
}

/// The kernel's decision for a task of a profile in `mode`, `tainted` or
/// not, in context `state`, asking for `requested` on an object whose map
/// value is `entry` (`None`: no rule covers the object).
///
/// 1. disabled mode: allowed, nothing else happens;
/// 2. no entry: allowed if untainted, denied if tainted;
/// 3. requested ∩ audit ≠ ∅: AUDIT;
/// 4. untainted: requested ∩ taint ≠ ∅ taints the task (ALLOW|TAINT);
///    otherwise ALLOW;
/// 5. tainted: requested ⊆ allow: ALLOW, else DENY;
/// 6. complain mode turns DENY into COMPLAIN.
///
/// Access sets apply as [`abi::Access::effective`] says: `access` always,
/// `ctx_access` while a bit of its `state` is set in the task's state.
#[must_use]
pub fn decide_entry(
    mode: Mode,
    tainted: bool,
    state: u64,
    entry: Option<&abi::Rule>,
    requested: u32,
) -> Decision {
    decide_effective(
        mode,
        tainted,
        entry.map(|rule| effective(rule, state)),
        requested,
    )
}

/// [`decide_entry`] on accesses already evaluated in the task's state and
/// united over every key that covers the object: [allow, taint, audit].
fn decide_effective(
    mode: Mode,
    tainted: bool,
    found: Option<[u32; 3]>,
    requested: u32,
) -> Decision {
    if mode == Mode::Disabled {
        return Decision {
            bits: abi::DECISION_ALLOW,
            tainted_after: tainted,
        };
    }
    let mut tainted_after = tainted;
    let bits = match found {
        None if tainted => abi::DECISION_DENY,
        None => abi::DECISION_ALLOW,
        Some([allow, taint, audit]) => {
            let mut d = 0;
            if requested & audit != 0 {
                d |= abi::DECISION_AUDIT;
            }
            if !tainted {
                if requested & taint != 0 {
                    tainted_after = true;
                    d |= abi::DECISION_TAINT;
                }
                d | abi::DECISION_ALLOW
            } else if requested & allow == requested {
                d | abi::DECISION_ALLOW
            } else {
                d | abi::DECISION_DENY
            }
        }
    };
    let bits = if bits & abi::DECISION_DENY != 0 && mode == Mode::Complain {
        (bits & !abi::DECISION_DENY) | abi::DECISION_COMPLAIN
    } else {
        bits
    };
    Decision {
        bits,
        tainted_after,
    }
}

/// The process on the other end of a signal, ptrace or `/proc` access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskTarget {
    /// The acting process itself (for `/proc`: bpfbox's automatic grant on
    /// its own `/proc/<pid>`; for signals and ptrace: its own profile).
    SameProcess,
    /// A process confined by the profile of this executable. An executable
    /// without a profile in the policy means an unconfined process.
    Profile(PathBuf),
    /// An unconfined process.
    Unconfined,
}

/// An access to decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// A file, by normalized absolute path (not under `/proc/<pid>`, which
    /// is [`Request::Proc`]).
    Fs {
        /// The path, as the rules' patterns are matched against it: no
        /// symlink is resolved.
        path: PathBuf,
        /// What is asked.
        access: FsAccess,
    },
    /// `/proc/<pid>/…` of another process.
    Proc {
        /// Whose.
        target: TaskTarget,
        /// What is asked.
        access: FsAccess,
    },
    /// A socket operation.
    Net {
        /// Address family.
        family: Family,
        /// What is asked.
        operations: NetOps,
    },
    /// Sending signal number `signal` (0 = the existence check).
    Signal {
        /// To whom.
        target: TaskTarget,
        /// The signal number.
        signal: i32,
    },
    /// Attaching to a process with ptrace.
    Ptrace {
        /// Whom.
        target: TaskTarget,
    },
    /// Using a capability.
    Capability {
        /// Which.
        cap: Capability,
    },
    /// Making an io_uring instance (`io_uring_setup`).
    IoUring,
    /// Mounting, unmounting, moving a mount, pivot_root.
    Mount,
}

/// Why a decision came out as it did, in terms of rule ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The process has no profile: nothing is checked.
    Unconfined,
    /// The profile's mode is `disabled`.
    ProfileDisabled,
    /// No rule covers the object: allowed while untainted, denied once
    /// tainted ("default: no rule, process tainted").
    NoRule,
    /// The process's own `/proc/<pid>`: bpfbox's automatic grant.
    OwnProc,
    /// Rules cover the object, the process is not tainted and nothing
    /// taints it: allowed.
    NotTainted {
        /// Every live rule covering the object.
        matched: Vec<String>,
    },
    /// The access tainted the process (and was allowed).
    Tainted {
        /// The rules whose `taint` action fired.
        by: Vec<String>,
    },
    /// Tainted process, every requested access granted.
    Allowed {
        /// The rules granting some of it.
        by: Vec<String>,
    },
    /// Tainted process, something requested is not granted.
    Denied {
        /// Every live rule covering the object.
        matched: Vec<String>,
        /// The requested bits no rule grants.
        missing: u32,
    },
    /// io_uring: the profile's `io_uring` key decides, whatever the taint.
    IoUring {
        /// `io_uring = true`.
        allowed: bool,
    },
    /// Mounts: the profile's `mount` key decides, whatever the taint.
    Mount {
        /// `mount = true`.
        allowed: bool,
    },
}

/// Whether `rule` holds for a process of user `uid`: a rule without a
/// `uid` for everyone, one with a `uid` for that user's processes only.
fn for_user<T>(rule: &Rule<T>, uid: Option<u32>) -> bool {
    rule.uid.is_none() || rule.uid == uid
}

/// A decision and its explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// What the kernel does.
    pub decision: Decision,
    /// Why.
    pub reason: Reason,
    /// The rules whose `audit` action made this reported.
    pub audited_by: Vec<String>,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.decision)?;
        match &self.reason {
            Reason::Unconfined => write!(f, "the process is not confined"),
            Reason::ProfileDisabled => write!(f, "the profile is disabled"),
            Reason::NoRule if self.decision.tainted_after => {
                write!(f, "default: no rule covers it and the process is tainted")
            }
            Reason::NoRule => write!(
                f,
                "default: no rule covers it and the process is not tainted"
            ),
            Reason::OwnProc => write!(f, "a process's own /proc entry"),
            Reason::IoUring { allowed: true } => write!(f, "the profile allows io_uring"),
            Reason::IoUring { allowed: false } => {
                write!(f, "the profile does not allow io_uring (`io_uring = true`)")
            }
            Reason::Mount { allowed: true } => write!(f, "the profile allows mounts"),
            Reason::Mount { allowed: false } => {
                write!(f, "the profile does not allow mounts (`mount = true`)")
            }
            Reason::NotTainted { matched } => {
                write!(
                    f,
                    "the process is not tainted (rules {})",
                    matched.join(", ")
                )
            }
            Reason::Tainted { by } => write!(f, "tainted by rules {}", by.join(", ")),
            Reason::Allowed { by } => write!(f, "allowed by rules {}", by.join(", ")),
            Reason::Denied { matched, missing } if matched.is_empty() => {
                write!(f, "no rule grants bits {missing:#x}")
            }
            Reason::Denied { matched, missing } => write!(
                f,
                "rules {} cover it but none grants bits {missing:#x}",
                matched.join(", ")
            ),
        }
    }
}

/// The id reported for the implicit grant on a profile's own executable
/// ([`crate::compile::OWN_EXECUTABLE`]).
pub const OWN_EXECUTABLE_RULE: &str = "own-executable";

/// Profiles ready to answer requests at a fixed moment, on strings alone.
#[derive(Clone, Debug)]
pub struct Policy {
    profiles: BTreeMap<PathBuf, Profile>,
    ids: BTreeSet<u64>,
    contexts: ContextTable,
    homes: Vec<String>,
    now: Now,
}

/// One live rule covering the request: its id, and what it contributes.
struct Hit {
    id: String,
    actions: crate::access::Actions,
    access: u32,
    state: u64,
}

impl Policy {
    /// The oracle for `profiles`, with `homes` standing for `~`, evaluated
    /// at `now`. Fails where [`crate::compile`] would.
    pub fn new(
        profiles: Vec<Profile>,
        homes: &[PathBuf],
        now: impl Into<Now>,
    ) -> Result<Self, CompileError> {
        let contexts = ContextTable::build(&profiles)?;
        let mut map = BTreeMap::new();
        let mut ids = BTreeSet::new();
        for p in profiles {
            if !ids.insert(p.id()) {
                return Err(match map.values().find(|o: &&Profile| o.id() == p.id()) {
                    Some(o) if o.profile != p.profile => {
                        CompileError::IdCollision(o.profile.clone(), p.profile)
                    }
                    _ => CompileError::DuplicateProfile(p.profile),
                });
            }
            map.insert(p.profile.clone(), p);
        }
        Ok(Self {
            profiles: map,
            ids,
            contexts,
            homes: homes
                .iter()
                .filter_map(|h| h.to_str().map(str::to_owned))
                .collect(),
            now: now.into(),
        })
    }

    /// The profile for `exe`.
    #[must_use]
    pub fn profile(&self, exe: &Path) -> Option<&Profile> {
        self.profiles.get(exe)
    }

    /// The function contexts, by bit (the same as the compiler's).
    #[must_use]
    pub fn contexts(&self) -> &[ContextProbe] {
        self.contexts.probes()
    }

    /// The task state of a process of `exe` inside the given functions
    /// (`func` names of its executable, `kfunc` names): for building
    /// requests in tests.
    #[must_use]
    pub fn state_in(&self, exe: &Path, active: &[(ContextKind, &str)]) -> u64 {
        let Some(p) = self.profiles.get(exe) else {
            return 0;
        };
        active
            .iter()
            .filter_map(|&(kind, name)| self.contexts.bit(p, kind, name))
            .fold(0, |m, b| m | (1u64 << b))
    }

    /// Decides `request` by a process of the profile for `exe`, `tainted`
    /// or not, in context `state`, whose user no rule names (`uid`).
    #[must_use]
    pub fn decide(&self, exe: &Path, tainted: bool, state: u64, request: &Request) -> Verdict {
        self.decide_as(exe, None, tainted, state, request)
    }

    /// [`Policy::decide`] for a process of user `uid`: rules written for
    /// that user (`uid = …`) hold too, rules for other users never.
    #[must_use]
    pub fn decide_as(
        &self,
        exe: &Path,
        uid: Option<u32>,
        tainted: bool,
        state: u64,
        request: &Request,
    ) -> Verdict {
        let Some(p) = self.profiles.get(exe) else {
            return verdict(
                decide_effective(Mode::Disabled, tainted, None, 0),
                Reason::Unconfined,
            );
        };
        if p.mode == Mode::Disabled {
            return verdict(
                decide_effective(Mode::Disabled, tainted, None, 0),
                Reason::ProfileDisabled,
            );
        }
        let id = p.id();
        let (requested, keys): (u32, BTreeMap<MatchKey, Vec<Hit>>) = match request {
            Request::Fs { path, access } => {
                (access.bits(), self.fs_hits(p, uid, &path.to_string_lossy()))
            }
            Request::IoUring | Request::Mount => {
                // the profile's key alone, whatever the taint
                // (ebpf/src/uring.h, ebpf/src/mount.h)
                let allowed = if *request == Request::IoUring {
                    p.io_uring
                } else {
                    p.mount
                };
                let bits = match (allowed, p.mode) {
                    (true, _) => abi::DECISION_ALLOW,
                    (false, Mode::Complain) => abi::DECISION_COMPLAIN,
                    (false, _) => abi::DECISION_DENY,
                };
                let decision = Decision {
                    bits,
                    tainted_after: tainted,
                };
                let reason = if *request == Request::IoUring {
                    Reason::IoUring { allowed }
                } else {
                    Reason::Mount { allowed }
                };
                return verdict(decision, reason);
            }
            Request::Proc {
                target: TaskTarget::SameProcess,
                access,
            } => {
                // the kernel's automatic grant, no rule involved
                let own = abi::FS_READ
                    | abi::FS_WRITE
                    | abi::FS_APPEND
                    | abi::FS_EXEC
                    | abi::FS_GETATTR
                    | abi::FS_SETATTR;
                let d = decide_effective(p.mode, tainted, Some([own, 0, 0]), access.bits());
                return verdict(d, Reason::OwnProc);
            }
            Request::Proc { target, access } => {
                let object = self.object(id, target);
                let hits = self.hits(
                    p,
                    uid,
                    RuleKind::Proc,
                    &p.proc,
                    |r| r.object.access.bits(),
                    |r| self.covers(id, &r.object.targets, object),
                );
                // the kernel treats every /proc/<pid> object as covered
                (
                    access.bits(),
                    BTreeMap::from([(MatchKey::Exact(String::new()), hits)]),
                )
            }
            Request::Net { family, operations } => {
                let hits = self.hits(
                    p,
                    uid,
                    RuleKind::Net,
                    &p.net,
                    |r| r.object.operations.bits(),
                    |r| {
                        r.object
                            .families
                            .iter()
                            .any(|f| f.families().contains(family))
                    },
                );
                (operations.bits(), single(hits))
            }
            Request::Signal { target, signal } => {
                let object = self.object(id, target);
                let hits = self.hits(
                    p,
                    uid,
                    RuleKind::Signal,
                    &p.signal,
                    |r| r.object.signals.bits(),
                    |r| self.covers(id, &r.object.targets, object),
                );
                let mut all = hits;
                // ptrace rules share the kernel key: they make it exist
                all.extend(self.hits(
                    p,
                    uid,
                    RuleKind::Ptrace,
                    &p.ptrace,
                    |_| abi::IPC_PTRACE,
                    |r| self.covers(id, &r.object.targets, object),
                ));
                (signal_access(*signal), single(all))
            }
            Request::Ptrace { target } => {
                let object = self.object(id, target);
                let mut all = self.hits(
                    p,
                    uid,
                    RuleKind::Ptrace,
                    &p.ptrace,
                    |_| abi::IPC_PTRACE,
                    |r| self.covers(id, &r.object.targets, object),
                );
                all.extend(self.hits(
                    p,
                    uid,
                    RuleKind::Signal,
                    &p.signal,
                    |r| r.object.signals.bits(),
                    |r| self.covers(id, &r.object.targets, object),
                ));
                (abi::IPC_PTRACE, single(all))
            }
            Request::Capability { cap } => {
                let hits = self.hits(
                    p,
                    uid,
                    RuleKind::Capability,
                    &p.capability,
                    |_| 1,
                    |r| {
                        r.object
                            .capabilities
                            .iter()
                            .any(|c| c.capabilities().contains(cap))
                    },
                );
                (1, single(hits))
            }
        };
        self.explain(p, tainted, state, requested, &keys)
    }

    /// Merges the hits per key as the compiler would, evaluates each key in
    /// `state`, unites the keys and decides; then names the rules.
    fn explain(
        &self,
        p: &Profile,
        tainted: bool,
        state: u64,
        requested: u32,
        keys: &BTreeMap<MatchKey, Vec<Hit>>,
    ) -> Verdict {
        let mut found = None;
        for hits in keys.values() {
            let mut builder = EntryBuilder::default();
            for hit in hits {
                builder.add(hit.actions, hit.access, hit.state);
            }
            let eff = effective(&builder.build().0, state);
            let acc: &mut [u32; 3] = found.get_or_insert([0; 3]);
            for (a, e) in acc.iter_mut().zip(eff) {
                *a |= e;
            }
        }
        let decision = decide_effective(p.mode, tainted, found, requested);
        // per-rule explanation: a rule contributes in this state if it has
        // no context or one of its contexts is active
        let mut ids: Vec<&Hit> = keys.values().flatten().collect();
        ids.sort_by(|a, b| a.id.cmp(&b.id));
        ids.dedup_by(|a, b| a.id == b.id);
        let active = |h: &Hit| h.state == 0 || h.state & state != 0;
        let with = |action: crate::access::Actions| -> Vec<String> {
            ids.iter()
                .filter(|h| active(h) && h.actions.contains(action) && h.access & requested != 0)
                .map(|h| h.id.clone())
                .collect()
        };
        let matched: Vec<String> = ids.iter().map(|h| h.id.clone()).collect();
        let audited_by = if decision.is_audited() {
            with(crate::access::Actions::AUDIT)
        } else {
            Vec::new()
        };
        let reason = match found {
            None => Reason::NoRule,
            Some(_) if decision.tainted() => Reason::Tainted {
                by: with(crate::access::Actions::TAINT),
            },
            Some(_) if !tainted => Reason::NotTainted { matched },
            Some([allow, ..]) if requested & allow == requested => Reason::Allowed {
                by: with(crate::access::Actions::ALLOW),
            },
            Some([allow, ..]) => Reason::Denied {
                matched,
                missing: requested & !allow,
            },
        };
        Verdict {
            decision,
            reason,
            audited_by,
        }
    }

    fn fs_hits(&self, p: &Profile, uid: Option<u32>, path: &str) -> BTreeMap<MatchKey, Vec<Hit>> {
        let ids = &p.rule_ids()[0].1;
        let mut keys: BTreeMap<MatchKey, Vec<Hit>> = BTreeMap::new();
        if Path::new(path) == p.profile {
            keys.entry(MatchKey::Exact(path.to_owned()))
                .or_default()
                .push(Hit {
                    id: OWN_EXECUTABLE_RULE.to_owned(),
                    actions: crate::access::Actions::ALLOW,
                    access: crate::compile::OWN_EXECUTABLE,
                    state: 0,
                });
        }
        for (rule, id) in p.fs.iter().zip(ids) {
            if !rule.is_live(&self.now) || !for_user(rule, uid) {
                continue;
            }
            let mut rule_keys = BTreeSet::new();
            for pattern in &rule.object.files {
                for concrete in pattern.expand_home(&self.homes) {
                    rule_keys.extend(concrete.match_keys(path));
                }
            }
            for key in rule_keys {
                keys.entry(key).or_default().push(Hit {
                    id: id.clone(),
                    actions: rule.effective_actions(),
                    access: rule.object.access.bits(),
                    state: self.contexts.state(p, rule),
                });
            }
        }
        keys
    }

    /// The live rules of one kind (`rules` is one of `p`'s rule lists) that
    /// `covers` the request, with their contribution.
    fn hits<T>(
        &self,
        p: &Profile,
        uid: Option<u32>,
        kind: RuleKind,
        rules: &[Rule<T>],
        access: impl Fn(&Rule<T>) -> u32,
        covers: impl Fn(&Rule<T>) -> bool,
    ) -> Vec<Hit> {
        let kind_ids = p
            .rule_ids()
            .into_iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, ids)| ids)
            .unwrap_or_default();
        rules
            .iter()
            .zip(kind_ids)
            .filter(|(r, _)| r.is_live(&self.now) && for_user(r, uid) && covers(r))
            .map(|(r, id)| Hit {
                id,
                actions: r.effective_actions(),
                access: access(r),
                state: self.contexts.state(p, r),
            })
            .collect()
    }

    /// The profile id the kernel would see for the target task.
    fn object(&self, subject: u64, target: &TaskTarget) -> u64 {
        match target {
            TaskTarget::SameProcess => subject,
            TaskTarget::Profile(exe) if self.profiles.contains_key(exe) => profile_id(exe),
            TaskTarget::Profile(_) | TaskTarget::Unconfined => 0,
        }
    }

    fn covers(&self, subject: u64, targets: &[Target], object: u64) -> bool {
        targets.iter().any(|t| match t {
            Target::SameProfile => object == subject,
            Target::Unconfined => object == 0,
            Target::Any => object == 0 || self.ids.contains(&object),
            Target::Profile(exe) => profile_id(exe) == object,
        })
    }
}

fn single(hits: Vec<Hit>) -> BTreeMap<MatchKey, Vec<Hit>> {
    if hits.is_empty() {
        BTreeMap::new()
    } else {
        BTreeMap::from([(MatchKey::Exact(String::new()), hits)])
    }
}

const fn verdict(decision: Decision, reason: Reason) -> Verdict {
    Verdict {
        decision,
        reason,
        audited_by: Vec::new(),
    }
}
