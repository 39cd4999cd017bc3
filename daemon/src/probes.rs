//! The function-context probes of the policy in force: one entry and one
//! return probe per `func`/`kfunc`, each carrying the context's bit as its
//! attach cookie (see ebpf/src/func.h).
//!
//! The probes are held by this daemon, not pinned: when it exits they
//! detach, and function-context rules stop applying until a daemon attaches
//! them again (fewer accesses, never more).

use std::{collections::BTreeMap, os::fd::AsFd as _, path::Path};

use aya::programs::{
    uprobe::{UProbeAttachLocation, UProbeAttachPoint, UProbeLink, UProbeScope},
    KProbe, ProbeKind, ProgramError, UProbe,
};
use bpfbox_policy::{ContextKind, ContextProbe};

use crate::{kprobe_link, symbols};

/// Why a context's probes could not be attached.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The function could not be found.
    #[error("{kind} `{name}`: {source}", kind = .probe.kind.word(), name = .probe.name)]
    Function {
        /// The context.
        probe: ContextProbe,
        /// Why.
        #[source]
        source: symbols::FunctionError,
    },
    /// The kernel refused the probe.
    #[error("{kind} `{name}`: failed to attach the {what} probe: {source}", kind = .probe.kind.word(), name = .probe.name)]
    Attach {
        /// The context.
        probe: ContextProbe,
        /// Entry or return.
        what: &'static str,
        /// The kernel's answer.
        #[source]
        source: anyhow::Error,
    },
}

/// One attached probe; dropping it detaches it.
#[derive(Debug)]
#[expect(dead_code, reason = "held only so that the probe stays attached")]
enum Link {
    User(UProbeLink),
    Kernel(kprobe_link::KprobeLink),
}

/// The probe programs and what they are attached to.
pub struct Probes {
    func_entry: UProbe,
    func_return: UProbe,
    kfunc_entry: KProbe,
    kfunc_return: KProbe,
    attached: BTreeMap<ContextProbe, [Link; 2]>,
}

impl Probes {
    /// The loaded probe programs pinned in `programs` (see `kernel.rs`).
    pub fn from_pins(programs: &Path) -> Result<Self, ProgramError> {
        use bpfbox_ebpf::probes::{FUNC_ENTRY, FUNC_RETURN, KFUNC_ENTRY, KFUNC_RETURN};
        Ok(Self {
            func_entry: UProbe::from_pin(programs.join(FUNC_ENTRY), ProbeKind::Entry)?,
            func_return: UProbe::from_pin(programs.join(FUNC_RETURN), ProbeKind::Return)?,
            kfunc_entry: KProbe::from_pin(programs.join(KFUNC_ENTRY), ProbeKind::Entry)?,
            kfunc_return: KProbe::from_pin(programs.join(KFUNC_RETURN), ProbeKind::Return)?,
            attached: BTreeMap::new(),
        })
    }

    /// Attaches the probes of `wanted` that are not attached yet. Nothing
    /// changes when one fails: the ones this call attached are detached
    /// again, so the probes stay those of the rules still in the maps.
    pub fn attach_new(&mut self, wanted: &[ContextProbe]) -> Result<usize, ProbeError> {
        let mut new = Vec::new();
        for probe in wanted {
            if self.attached.contains_key(probe) {
                continue;
            }
            match self.attach(probe) {
                Ok(links) => {
                    self.attached.insert(probe.clone(), links);
                    new.push(probe.clone());
                }
                Err(err) => {
                    for probe in new {
                        self.attached.remove(&probe);
                    }
                    return Err(err);
                }
            }
        }
        Ok(new.len())
    }

    /// Detaches the probes of contexts not in `wanted`.
    pub fn detach_stale(&mut self, wanted: &[ContextProbe]) -> usize {
        let before = self.attached.len();
        self.attached.retain(|probe, _| wanted.contains(probe));
        before - self.attached.len()
    }

    fn attach(&mut self, probe: &ContextProbe) -> Result<[Link; 2], ProbeError> {
        let cookie = u64::from(probe.bit);
        match probe.kind {
            ContextKind::Func => {
                let function = |source| ProbeError::Function {
                    probe: probe.clone(),
                    source,
                };
                // the executable, or the library as the rule wrote it
                let file = probe.file.as_deref().unwrap_or(Path::new(""));
                let file = symbols::locate(file).map_err(function)?;
                let offset = symbols::function_offset(&file, &probe.name).map_err(function)?;
                let one = |program: &mut UProbe, what| {
                    let point = UProbeAttachPoint {
                        location: UProbeAttachLocation::AbsoluteOffset(offset),
                        cookie: Some(cookie),
                    };
                    program
                        .attach(point, &file, UProbeScope::AllProcesses)
                        .and_then(|id| program.take_link(id))
                        .map(Link::User)
                        .map_err(|e| ProbeError::Attach {
                            probe: probe.clone(),
                            what,
                            source: e.into(),
                        })
                };
                let entry = one(&mut self.func_entry, "entry")?;
                let ret = one(&mut self.func_return, "return")?;
                Ok([entry, ret])
            }
            ContextKind::Kfunc => {
                symbols::kernel_function(&probe.name).map_err(|source| ProbeError::Function {
                    probe: probe.clone(),
                    source,
                })?;
                let one = |program: &KProbe, retprobe, what| {
                    program
                        .fd()
                        .map_err(anyhow::Error::from)
                        .and_then(|fd| {
                            kprobe_link::attach(fd.as_fd(), &probe.name, retprobe, cookie)
                                .map_err(anyhow::Error::from)
                        })
                        .map(Link::Kernel)
                        .map_err(|source| ProbeError::Attach {
                            probe: probe.clone(),
                            what,
                            source,
                        })
                };
                let entry = one(&self.kfunc_entry, false, "entry")?;
                let ret = one(&self.kfunc_return, true, "return")?;
                Ok([entry, ret])
            }
        }
    }
}
