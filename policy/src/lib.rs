//! bpfbox profiles: parse, print, decide, compile.
//!
//! Pure: nothing here touches the kernel or writes anything; the only I/O
//! is reading profile files ([`load_dir`], [`load_file`], [`lint`]) and,
//! for a warning, whether a profile's executable is a symbolic link
//! ([`check_executable_links`]). The machine the policy is compiled for
//! comes in through the [`Resolver`] trait.
//!
//! The daemon's path through the crate:
//!  1. [`load_dir`] → [`LoadReport`]: the good profiles, diagnostics for the
//!     bad files (`path:line:col: error: message`);
//!  2. [`compile`] the profiles for this machine → [`CompiledPolicy`], the
//!     kernel map entries, which the daemon makes the kernel's maps hold
//!     (comparing them with what the maps hold, not with what it compiled
//!     before: after a restart they hold an earlier daemon's policy);
//!  3. to change a profile file (toggling a rule by id, adding a
//!     temporary grant, switching the mode), [`ProfileEdit`] edits its TOML
//!     keeping the user's comments and layout; [`check_text`] says whether a
//!     text loads, and the daemon writes the file. [`print()`] writes a
//!     [`Profile`] canonically, for files no person has touched.
//!
//! [`Policy::decide`] answers "would this be allowed, and by which rule"
//! without a kernel; [`decide_entry`] is the exact kernel procedure, the
//! oracle of the enforcement tests. The format is documented in
//! `docs/policy.md`.

mod access;
mod compile;
mod context;
mod decide;
mod describe;
mod diagnostics;
mod edit;
mod entry;
mod expiry;
mod glob;
mod load;
mod model;
mod parse;
mod print;
mod resolve;

pub use access::{
    signal_access, Actions, Capability, Family, FsAccess, NetOps, Signals, Vocabulary,
    CAPABILITIES, FAMILIES, FS_ACCESS, NET_OPERATIONS, SIGNALS,
};
pub use compile::{compile, CompileError, CompiledPolicy, Note, OWN_EXECUTABLE};
pub use context::{split_func, ContextError, ContextProbe, MAX_CONTEXTS};
pub use decide::{
    decide_entry, Decision, Policy, Reason, Request, TaskTarget, Verdict, OWN_EXECUTABLE_RULE,
};
pub use describe::{describe_rule, print_rule};
pub use diagnostics::{Diagnostic, Diagnostics, Location, Problem, Severity};
pub use edit::{check_text, EditError, NewRule, ProfileEdit};
pub use expiry::{civil_from_days, valid_instance_id, Expiry, ExpiryError, Now};
pub use glob::{GlobError, MatchKey, PathPattern, Plan, MAX_SUBTREE_DEPTH};
pub use load::{
    check_executable_links, lint, lint_report, load_dir, load_file, ContextUse, ExecutableUse,
    LoadReport, Rejected, MAX_FILE_SIZE,
};
pub use model::{
    profile_id, CapName, Caps, ContextKind, FamilyName, Fs, Mode, Net, Proc, Profile, Ptrace, Rule,
    RuleKind, RuleRef, Signal, Target,
};
pub use parse::parse_str;
pub use print::print;
pub use resolve::{Resolver, StaticResolver, STATIC_DEV};
