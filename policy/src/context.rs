//! Function contexts (`func`, `kfunc`): each distinct one gets a bit of the
//! task's `state`; the daemon attaches a probe per context that sets its bit
//! while the function runs.
//!
//! A `func` is a function of the profile's executable, so `main` in two
//! profiles are two contexts, or, written `LIBRARY:SYMBOL`, a function of a
//! shared library, one context whatever profile names it; a `kfunc` is a
//! kernel function, one context whatever profile names it. Bits are numbered in sorted order (func before
//! kfunc, then by file, then by name) over every rule of the profile set,
//! enabled or not, so toggling a rule never renumbers the others.

use std::{
    collections::{BTreeSet, HashMap},
    path::PathBuf,
};

use bpfbox_abi as abi;

use crate::model::{ContextKind, Profile, Rule};

/// The kernel's limit on distinct contexts per profile set.
pub const MAX_CONTEXTS: usize = abi::MAX_CONTEXTS as usize;

/// Why contexts cannot be assigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// More contexts than bits.
    #[error("{count} distinct function contexts (func/kfunc), the kernel has bits for {MAX_CONTEXTS}; first one over: {kind} `{name}`", kind = .first_over.0.word(), name = .first_over.1)]
    TooMany {
        /// How many there are.
        count: usize,
        /// The first that gets no bit.
        first_over: (ContextKind, String),
    },
}

/// A context the daemon must probe: set bit `bit` of the task state while
/// `name` runs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContextProbe {
    /// Bit number in the task state (0 ..= 63).
    pub bit: u32,
    /// Uprobe (`func`) or kprobe (`kfunc`).
    pub kind: ContextKind,
    /// The function's symbol.
    pub name: String,
    /// `func`: the executable, or the library as written (a path or a file
    /// name to look up in the library directories), holding the symbol;
    /// `kfunc`: none.
    pub file: Option<PathBuf>,
}

/// Splits a `func` value: `LIBRARY:SYMBOL` names a function of a shared
/// library, a bare `SYMBOL` one of the profile's executable. ELF symbol
/// names (C, mangled C++ and Rust) have no `:`, so the split is unambiguous.
#[must_use]
pub fn split_func(spec: &str) -> (Option<&str>, &str) {
    match spec.rsplit_once(':') {
        Some((library, symbol)) => (Some(library), symbol),
        None => (None, spec),
    }
}

/// The context a rule's `func`/`kfunc` value names in `profile`.
fn context_id(profile: &Profile, kind: ContextKind, spec: &str) -> ContextId {
    match kind {
        ContextKind::Kfunc => (kind, None, spec.to_owned()),
        ContextKind::Func => match split_func(spec) {
            (Some(library), symbol) => (kind, Some(PathBuf::from(library)), symbol.to_owned()),
            (None, symbol) => (kind, Some(profile.profile.clone()), symbol.to_owned()),
        },
    }
}

type ContextId = (ContextKind, Option<PathBuf>, String);

/// Context bits of a profile set.
#[derive(Clone, Debug, Default)]
pub(crate) struct ContextTable {
    probes: Vec<ContextProbe>,
    bits: HashMap<ContextId, u32>,
}

impl ContextTable {
    pub(crate) fn build(profiles: &[Profile]) -> Result<Self, ContextError> {
        let mut all: BTreeSet<ContextId> = BTreeSet::new();
        for p in profiles {
            let mut add = |func: &[String], kfunc: &[String]| {
                for name in func {
                    all.insert(context_id(p, ContextKind::Func, name));
                }
                for name in kfunc {
                    all.insert(context_id(p, ContextKind::Kfunc, name));
                }
            };
            p.fs.iter().for_each(|r| add(&r.func, &r.kfunc));
            p.net.iter().for_each(|r| add(&r.func, &r.kfunc));
            p.signal.iter().for_each(|r| add(&r.func, &r.kfunc));
            p.proc.iter().for_each(|r| add(&r.func, &r.kfunc));
            p.ptrace.iter().for_each(|r| add(&r.func, &r.kfunc));
            p.capability.iter().for_each(|r| add(&r.func, &r.kfunc));
        }
        if all.len() > MAX_CONTEXTS {
            let (kind, _, name) = all.iter().nth(MAX_CONTEXTS).cloned().unwrap_or((
                ContextKind::Func,
                None,
                String::new(),
            ));
            return Err(ContextError::TooMany {
                count: all.len(),
                first_over: (kind, name),
            });
        }
        let mut table = Self::default();
        for (bit, (kind, file, name)) in all.into_iter().enumerate() {
            let bit = bit as u32;
            table.bits.insert((kind, file.clone(), name.clone()), bit);
            table.probes.push(ContextProbe {
                bit,
                kind,
                name,
                file,
            });
        }
        Ok(table)
    }

    /// Every context, by bit.
    pub(crate) fn probes(&self) -> &[ContextProbe] {
        &self.probes
    }

    /// The bit of one context of `profile`.
    pub(crate) fn bit(&self, profile: &Profile, kind: ContextKind, name: &str) -> Option<u32> {
        self.bits.get(&context_id(profile, kind, name)).copied()
    }

    /// The state mask of a rule: the OR of its contexts' bits, 0 if it has
    /// none (it then holds in every state).
    pub(crate) fn state<T>(&self, profile: &Profile, rule: &Rule<T>) -> u64 {
        let func = rule.func.iter().map(|n| (ContextKind::Func, n));
        let kfunc = rule.kfunc.iter().map(|n| (ContextKind::Kfunc, n));
        func.chain(kfunc)
            .filter_map(|(kind, name)| self.bit(profile, kind, name))
            .fold(0, |mask, bit| mask | (1u64 << bit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        access::FsAccess,
        glob::PathPattern,
        model::{Fs, Rule},
    };

    fn profile(exe: &str, funcs: &[&str], kfuncs: &[&str]) -> Profile {
        let mut p = Profile::new(exe);
        let mut rule = Rule::new(Fs {
            files: vec![PathPattern::parse("/x").unwrap()],
            access: FsAccess::READ,
        });
        rule.func = funcs.iter().map(|s| (*s).to_owned()).collect();
        rule.kfunc = kfuncs.iter().map(|s| (*s).to_owned()).collect();
        p.fs.push(rule);
        p
    }

    #[test]
    fn func_contexts_are_per_executable_and_kfuncs_are_shared() {
        let a = profile("/bin/a", &["main"], &["vfs_read"]);
        let b = profile("/bin/b", &["main"], &["vfs_read"]);
        let table = ContextTable::build(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(table.probes().len(), 3);
        assert_ne!(
            table.bit(&a, ContextKind::Func, "main"),
            table.bit(&b, ContextKind::Func, "main")
        );
        assert_eq!(
            table.bit(&a, ContextKind::Kfunc, "vfs_read"),
            table.bit(&b, ContextKind::Kfunc, "vfs_read")
        );
        assert_eq!(table.state(&a, &a.fs[0]).count_ones(), 2);
    }

    #[test]
    fn library_functions_are_one_context_for_every_profile() {
        let a = profile("/bin/a", &["libc.so.6:qsort", "qsort"], &[]);
        let b = profile("/bin/b", &["libc.so.6:qsort"], &[]);
        let table = ContextTable::build(&[a.clone(), b.clone()]).unwrap();
        // a's own qsort and libc's, shared with b
        assert_eq!(table.probes().len(), 2);
        assert_eq!(
            table.bit(&a, ContextKind::Func, "libc.so.6:qsort"),
            table.bit(&b, ContextKind::Func, "libc.so.6:qsort")
        );
        let lib = table
            .probes()
            .iter()
            .find(|p| p.file.as_deref() == Some(std::path::Path::new("libc.so.6")))
            .unwrap();
        assert_eq!(lib.name, "qsort");
    }

    #[test]
    fn sixty_five_contexts_do_not_fit() {
        let names: Vec<String> = (0..65).map(|i| format!("f{i:02}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let err = ContextTable::build(&[profile("/bin/a", &refs, &[])]).unwrap_err();
        assert_eq!(
            err,
            ContextError::TooMany {
                count: 65,
                first_over: (ContextKind::Func, "f64".into())
            }
        );
        assert!(ContextTable::build(&[profile("/bin/a", &refs[..64], &[])]).is_ok());
    }
}
