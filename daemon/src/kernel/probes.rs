//! The function-context probes of the policy in force: one entry and one
//! return probe per `func`/`kfunc`, each carrying the context's bit as its
//! attach cookie (see ebpf/src/func.h).
//!
//! The probes are held by this daemon, not pinned: when it exits they
//! detach, and function-context rules stop applying until a daemon attaches
//! them again (docs/kernel.md says what that means for allow and taint
//! rules).

use std::{
    collections::{BTreeMap, BTreeSet},
    os::{fd::AsFd as _, unix::fs::MetadataExt as _},
    path::{Path, PathBuf},
};

use aya::programs::{
    uprobe::{UProbeAttachLocation, UProbeAttachPoint, UProbeLink, UProbeScope},
    KProbe, ProbeKind, ProgramError, UProbe,
};
use bpfbox_policy::{ContextKind, ContextProbe};

use crate::{kernel::kprobe_link, kernel::symbols};

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

impl ProbeError {
    /// The context that could not be probed.
    pub fn probe(&self) -> &ContextProbe {
        match self {
            Self::Function { probe, .. } | Self::Attach { probe, .. } => probe,
        }
    }
}

/// One attached probe; dropping it detaches it.
#[derive(Debug)]
#[expect(dead_code, reason = "held only so that the probe stays attached")]
enum Link {
    User(UProbeLink),
    Kernel(kprobe_link::KprobeLink),
}

/// Where a context's probes go.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// A function of an executable or library: the file (by path and by
    /// identity, which changes when the file is replaced) and the offset.
    User {
        file: PathBuf,
        identity: (u64, u64),
        offset: u64,
    },
    /// A kernel function (by name, the probe's).
    Kernel,
}

impl Target {
    fn resolve(probe: &ContextProbe) -> Result<Self, ProbeError> {
        let function = |source| ProbeError::Function {
            probe: probe.clone(),
            source,
        };
        match probe.kind {
            ContextKind::Func => {
                // the executable, or the library as the rule wrote it
                let file = probe.file.as_deref().unwrap_or(Path::new(""));
                let file = symbols::locate(file).map_err(function)?;
                let meta = std::fs::metadata(&file).map_err(|e| {
                    function(symbols::FunctionError(format!(
                        "cannot read {}: {e}",
                        file.display()
                    )))
                })?;
                let offset = symbols::function_offset(&file, &probe.name).map_err(function)?;
                Ok(Self::User {
                    identity: (meta.dev(), meta.ino()),
                    file,
                    offset,
                })
            }
            ContextKind::Kfunc => {
                symbols::kernel_function(&probe.name).map_err(function)?;
                Ok(Self::Kernel)
            }
        }
    }
}

/// A context's attached probes, and where.
#[derive(Debug)]
struct Attached {
    target: Target,
    _links: [Link; 2],
}

/// What [`Probes::attach_new`] did.
#[derive(Debug, Default)]
pub struct Attachment {
    /// Contexts whose probes it attached (new, or moved to a new file).
    pub attached: usize,
    /// Functions of profiles' own executables it could not probe.
    pub unattached: Vec<ProbeError>,
}

impl Attachment {
    /// The executables with a function it could not probe.
    pub fn unprobed_files(&self) -> BTreeSet<&Path> {
        self.unattached
            .iter()
            .filter_map(|e| e.probe().file.as_deref())
            .collect()
    }
}

/// The probe programs and what they are attached to.
pub struct Probes {
    func_entry: UProbe,
    func_return: UProbe,
    kfunc_entry: KProbe,
    kfunc_return: KProbe,
    attached: BTreeMap<ContextProbe, Attached>,
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

    /// Attaches the probes of `wanted` that are not attached yet, or are
    /// attached to a file that has since been replaced (a uprobe belongs to
    /// an inode). Nothing changes when one fails: the probes this call made
    /// are dropped, which detaches them, and the attached ones stay those
    /// of the rules still in the maps.
    ///
    /// A function of a profile's own executable (one of `executables`) is
    /// the exception: its failure is returned in the report and the others
    /// go on. The daemon then withholds that executable's identity from the
    /// kernel, which starts its processes tainted and outside every context
    /// (`BPFBOX_PROFILE_EXE_PROBED`): a missing or changed executable never
    /// blocks the policy of every other profile, and never runs with a
    /// context that cannot be set.
    pub fn attach_new(
        &mut self,
        wanted: &[ContextProbe],
        executables: &BTreeSet<PathBuf>,
    ) -> Result<Attachment, ProbeError> {
        let mut fresh = Vec::new();
        let mut unattached = Vec::new();
        for probe in wanted {
            let own = probe.kind == ContextKind::Func
                && probe.file.as_ref().is_some_and(|f| executables.contains(f));
            let attached = Target::resolve(probe).and_then(|target| {
                if self.attached.get(probe).is_some_and(|a| a.target == target) {
                    return Ok(None);
                }
                let links = self.attach(probe, &target)?;
                Ok(Some(Attached {
                    target,
                    _links: links,
                }))
            });
            match attached {
                Ok(Some(attached)) => fresh.push((probe.clone(), attached)),
                Ok(None) => {}
                Err(err) if own => {
                    // the old file's probes are of no use to the new one
                    self.attached.remove(probe);
                    unattached.push(err);
                }
                Err(err) => return Err(err),
            }
        }
        let attached = fresh.len();
        // replacing an entry drops, so detaches, the probes on the old file
        self.attached.extend(fresh);
        Ok(Attachment {
            attached,
            unattached,
        })
    }

    /// Detaches the probes of contexts not in `wanted`.
    pub fn detach_stale(&mut self, wanted: &[ContextProbe]) -> usize {
        let before = self.attached.len();
        self.attached.retain(|probe, _| wanted.contains(probe));
        before - self.attached.len()
    }

    fn attach(&mut self, probe: &ContextProbe, target: &Target) -> Result<[Link; 2], ProbeError> {
        let cookie = u64::from(probe.bit);
        match target {
            Target::User { file, offset, .. } => {
                let offset = *offset;
                let one = |program: &mut UProbe, what| {
                    let point = UProbeAttachPoint {
                        location: UProbeAttachLocation::AbsoluteOffset(offset),
                        cookie: Some(cookie),
                    };
                    program
                        .attach(point, file, UProbeScope::AllProcesses)
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
            Target::Kernel => {
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
