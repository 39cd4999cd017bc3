//! bpfbox's BPF programs in the kernel: loading and adopting them, their
//! maps, and everything the daemon does there. The wing:
//!
//! - this file: load the object and attach the programs, or adopt what an
//!   earlier daemon pinned; typed handles to the maps;
//! - [`pins`]: where programs and maps are pinned, so confinement outlives
//!   the daemon, and what is pinned (`bpfboxd status`);
//! - [`apply`]: making the rule maps hold exactly a compiled policy;
//! - [`inode_filter`] and [`mapped_words`]: the arrays the daemon changes
//!   through its own mapping (the inode filter, the policy generation);
//! - [`probes`], [`kprobe_link`], [`symbols`], [`kallsyms`]: the
//!   function-context probes and finding what they attach to;
//! - [`preflight`]: can this kernel run bpfbox; [`pseudofs`]: mounting
//!   bpffs and friends.
//!
//! A restarted daemon (after a crash, `kill -9` or an upgrade with the same
//! ABI) adopts what is pinned instead of loading again, so confined
//! processes stay confined while no daemon runs. A daemon with a new ABI
//! loads its own set under its own version and only then removes older
//! versions.

pub mod apply;
pub mod inode_filter;
pub mod kallsyms;
pub mod kprobe_link;
pub mod mapped_words;
pub mod pins;
pub mod preflight;
pub mod probes;
pub mod pseudofs;
pub mod symbols;

use std::{
    collections::BTreeMap,
    io,
    path::{Path, PathBuf},
    sync::atomic::Ordering,
};

use aya::{
    maps::{Array, HashMap, Map, MapData, MapError, PerCpuArray, RingBuf},
    programs::{links::FdLink, BtfTracePoint, KProbe, Lsm, ProgramError, UProbe},
    Btf, Ebpf, EbpfLoader,
};
use bpfbox_abi::{
    CapKey, Config, FsKey, InodeKey, NetKey, PairKey, Profile, ProtectedKey, Rule, UidKey,
};
use bpfbox_ebpf::{lsm_hook, maps, probes as probe_programs, LSM_PROGRAMS, OBJECT, TRACEPOINTS};

pub use self::pins::{enforcing, is_confined, pin_dir, pinned_state, running_processes, unload};
use self::{
    inode_filter::{FilterBits, InodeFilter},
    mapped_words::MappedWords,
    pins::{
        create_dir, link_pins, map_pins, mount_bpffs, pin_link, pinned_set_complete, program_pins,
        remove_older_versions, remove_pins,
    },
    probes::Probes,
};

/// Why the programs could not be loaded or adopted.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The running kernel's BTF could not be read.
    #[error("failed to read the kernel's BTF from /sys/kernel/btf/vmlinux: {0}")]
    Btf(#[from] aya::BtfError),
    /// The object could not be loaded (maps created, relocations applied).
    #[error("failed to load the BPF object: {0}")]
    Object(#[from] aya::EbpfError),
    /// The kernel refused the programs although preflight passed: typically a
    /// kernel that lists `bpf` as an LSM but forbids BPF trampolines.
    #[error(
        "this kernel refuses BPF-LSM programs: loading {hook} failed with EPERM although \
         bpfboxd runs as root and `bpf` is in the active LSM list. Known causes: kernel lockdown \
         in confidentiality mode (see /sys/kernel/security/lockdown), or a virtualised kernel \
         whose hypervisor forbids BPF trampolines. Run bpfbox on a kernel that allows them \
         (e.g. Debian's 6.1 or 6.12 kernels)"
    )]
    LsmRefused {
        /// The program that failed first.
        hook: String,
    },
    /// A program failed to load or attach for another reason (verifier log kept).
    #[error("failed to load or attach {hook}: {source}")]
    Program {
        /// The program.
        hook: String,
        /// The error, with the verifier log where there is one.
        #[source]
        source: ProgramError,
    },
    /// A map is missing, has the wrong type, or an update failed.
    #[error("BPF map `{name}`: {source}")]
    Map {
        /// The map.
        name: &'static str,
        /// What went wrong.
        #[source]
        source: MapError,
    },
    /// A map could not be mapped into the daemon's memory.
    #[error("failed to map BPF map `{name}` into memory: {source}")]
    Mmap {
        /// The map.
        name: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// bpffs could not be mounted or written.
    #[error("failed to pin under {path}: {source}")]
    Pin {
        /// The pin path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// How the programs came to be attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Loaded and attached by this daemon.
    Loaded,
    /// Found pinned by an earlier daemon and adopted.
    Adopted,
}

/// The maps of the attached programs.
pub struct Kernel {
    profiles: Map,
    exe_profiles: Map,
    exe_paths: Map,
    uid_rules: Map,
    fs_rules: Map,
    net_rules: Map,
    ipc_rules: Map,
    proc_rules: Map,
    cap_rules: Map,
    config: Map,
    protected: Map,
    generation: MappedWords,
    inode_filter: InodeFilter,
    events: Option<Map>,
    stats: Option<Map>,
    /// Whether this daemon loaded the programs or adopted pinned ones.
    pub origin: Origin,
}

/// Typed handles to the rule maps, borrowed from a [`Kernel`].
pub struct RuleMaps<'a> {
    /// Profile id → mode and flags.
    pub profiles: HashMap<&'a mut MapData, u64, Profile>,
    /// Executable identity → profile id.
    pub exe_profiles: HashMap<&'a mut MapData, InodeKey, u64>,
    /// Executable path hash → profile id.
    pub exe_paths: HashMap<&'a mut MapData, u64, u64>,
    /// (profile, user) → the rules id of the profile's rules for the user.
    pub uid_rules: HashMap<&'a mut MapData, UidKey, u64>,
    /// File rules.
    pub fs_rules: HashMap<&'a mut MapData, FsKey, Rule>,
    /// Socket rules.
    pub net_rules: HashMap<&'a mut MapData, NetKey, Rule>,
    /// Signal and ptrace rules.
    pub ipc_rules: HashMap<&'a mut MapData, PairKey, Rule>,
    /// /proc/<pid> rules.
    pub proc_rules: HashMap<&'a mut MapData, PairKey, Rule>,
    /// Capability rules.
    pub cap_rules: HashMap<&'a mut MapData, CapKey, Rule>,
    /// Which inodes have rules or are protected.
    pub inode_filter: &'a InodeFilter,
    /// The filter bits of the protected objects, which the rules' bits
    /// must not clear.
    pub protected_bits: FilterBits,
}

/// An mmap-able array map's first `len` words, mapped into the daemon (see
/// `BPFBOX_GENERATION_KEY` in bpfbox_abi.h for why they are not updated
/// through bpf(2)).
fn mapped_words(name: &'static str, map: Map, len: u32) -> Result<MappedWords, KernelError> {
    let Map::Array(data) = map else {
        return Err(KernelError::Mmap {
            name,
            source: io::Error::other("not an array"),
        });
    };
    MappedWords::map(data.fd(), len as usize).map_err(|source| KernelError::Mmap { name, source })
}

fn generation(map: Map) -> Result<MappedWords, KernelError> {
    mapped_words(maps::GENERATION, map, 1)
}

fn inode_filter(map: Map) -> Result<InodeFilter, KernelError> {
    mapped_words(maps::INODE_FILTER, map, bpfbox_abi::FILTER_WORDS).map(InodeFilter::new)
}

impl Kernel {
    /// Adopts the pinned programs and maps of this ABI version if a complete
    /// set is there; otherwise loads, attaches and pins a new set.
    pub fn open() -> Result<Self, KernelError> {
        let dir = pin_dir();
        if pinned_set_complete(&dir) {
            match Self::adopt(&dir) {
                Ok(kernel) => return Ok(kernel),
                Err(err) => tracing::warn!("pinned programs unusable ({err}); loading anew"),
            }
        }
        Self::load_and_pin(&dir)
    }

    fn adopt(dir: &Path) -> Result<Self, KernelError> {
        let pins = map_pins(dir);
        let open = |name: &'static str| {
            MapData::from_pin(pins.join(name)).map_err(|source| KernelError::Map { name, source })
        };
        let kernel = Self {
            profiles: Map::HashMap(open(maps::PROFILES)?),
            exe_profiles: Map::HashMap(open(maps::EXE_PROFILES)?),
            exe_paths: Map::HashMap(open(maps::EXE_PATHS)?),
            uid_rules: Map::HashMap(open(maps::UID_RULES)?),
            fs_rules: Map::HashMap(open(maps::FS_RULES)?),
            net_rules: Map::HashMap(open(maps::NET_RULES)?),
            ipc_rules: Map::HashMap(open(maps::IPC_RULES)?),
            proc_rules: Map::HashMap(open(maps::PROC_RULES)?),
            cap_rules: Map::HashMap(open(maps::CAP_RULES)?),
            config: Map::Array(open(maps::CONFIG)?),
            protected: Map::HashMap(open(maps::PROTECTED)?),
            generation: generation(Map::Array(open(maps::GENERATION)?))?,
            inode_filter: inode_filter(Map::Array(open(maps::INODE_FILTER)?))?,
            events: Some(Map::RingBuf(open(maps::EVENTS)?)),
            stats: Some(Map::PerCpuArray(open(maps::STATS)?)),
            origin: Origin::Adopted,
        };
        Ok(kernel)
    }

    fn load_and_pin(dir: &Path) -> Result<Self, KernelError> {
        // an incomplete set (a daemon died while pinning) is useless
        remove_pins(dir)?;
        mount_bpffs()?;
        let btf = Btf::from_sys_fs()?;
        let mut ebpf = EbpfLoader::new()
            .btf(Some(&btf))
            // task local storage has no typed wrapper in aya 0.14; only the
            // programs use it, so creating it is all we need
            .allow_unsupported_maps()
            .load(OBJECT)?;
        let links = link_pins(dir);
        create_dir(&links)?;
        create_dir(&map_pins(dir))?;
        // tracepoints first: confined_pids must be kept from the moment the
        // exec hook can confine anything
        for name in TRACEPOINTS {
            let program: &mut BtfTracePoint = program_mut(&mut ebpf, name)?;
            program.load(name, &btf).map_err(|e| classify(name, e))?;
            let id = program.attach().map_err(|e| classify(name, e))?;
            let link: FdLink = program.take_link(id).map_err(|e| classify(name, e))?.into();
            pin_link(link, &links, name)?;
        }
        for name in LSM_PROGRAMS {
            let program: &mut Lsm = program_mut(&mut ebpf, name)?;
            program
                .load(lsm_hook(name), &btf)
                .map_err(|e| classify(name, e))?;
            let id = program.attach().map_err(|e| classify(name, e))?;
            let link: FdLink = program.take_link(id).map_err(|e| classify(name, e))?.into();
            pin_link(link, &links, name)?;
            tracing::debug!(program = name, "attached and pinned");
        }
        create_dir(&program_pins(dir))?;
        for name in probe_programs::ALL {
            let path = program_pins(dir).join(name);
            let pinned = if [probe_programs::FUNC_ENTRY, probe_programs::FUNC_RETURN].contains(name)
            {
                let program: &mut UProbe = program_mut(&mut ebpf, name)?;
                program.load().map_err(|e| classify(name, e))?;
                program.pin(&path)
            } else {
                let program: &mut KProbe = program_mut(&mut ebpf, name)?;
                program.load().map_err(|e| classify(name, e))?;
                program.pin(&path)
            };
            pinned.map_err(|e| KernelError::Pin {
                path,
                source: io::Error::other(e),
            })?;
        }
        let mut take = |name: &'static str| -> Result<Map, KernelError> {
            let map = ebpf.take_map(name).ok_or(KernelError::Map {
                name,
                source: MapError::InvalidName { name: name.into() },
            })?;
            let path = map_pins(dir).join(name);
            map.pin(&path).map_err(|e| KernelError::Pin {
                path,
                source: io::Error::other(e),
            })?;
            Ok(map)
        };
        // only pinned, for whoever counts running processes
        drop(take(maps::CONFINED_PIDS)?);
        let kernel = Self {
            profiles: take(maps::PROFILES)?,
            exe_profiles: take(maps::EXE_PROFILES)?,
            exe_paths: take(maps::EXE_PATHS)?,
            uid_rules: take(maps::UID_RULES)?,
            fs_rules: take(maps::FS_RULES)?,
            net_rules: take(maps::NET_RULES)?,
            ipc_rules: take(maps::IPC_RULES)?,
            proc_rules: take(maps::PROC_RULES)?,
            cap_rules: take(maps::CAP_RULES)?,
            config: take(maps::CONFIG)?,
            protected: take(maps::PROTECTED)?,
            generation: generation(take(maps::GENERATION)?)?,
            inode_filter: inode_filter(take(maps::INODE_FILTER)?)?,
            events: Some(take(maps::EVENTS)?),
            stats: Some(take(maps::STATS)?),
            origin: Origin::Loaded,
        };
        remove_older_versions();
        Ok(kernel)
    }

    /// The rule maps, for applying a compiled policy.
    pub fn rule_maps(&mut self) -> Result<RuleMaps<'_>, KernelError> {
        let protected_bits = self.protected_bits()?;
        Ok(RuleMaps {
            profiles: typed(&mut self.profiles, maps::PROFILES)?,
            exe_profiles: typed(&mut self.exe_profiles, maps::EXE_PROFILES)?,
            exe_paths: typed(&mut self.exe_paths, maps::EXE_PATHS)?,
            uid_rules: typed(&mut self.uid_rules, maps::UID_RULES)?,
            fs_rules: typed(&mut self.fs_rules, maps::FS_RULES)?,
            net_rules: typed(&mut self.net_rules, maps::NET_RULES)?,
            ipc_rules: typed(&mut self.ipc_rules, maps::IPC_RULES)?,
            proc_rules: typed(&mut self.proc_rules, maps::PROC_RULES)?,
            cap_rules: typed(&mut self.cap_rules, maps::CAP_RULES)?,
            inode_filter: &self.inode_filter,
            protected_bits,
        })
    }

    /// The filter bits of what the `protected` map holds now (an earlier
    /// daemon's objects too, until [`Self::protect`] replaces them).
    fn protected_bits(&mut self) -> Result<FilterBits, KernelError> {
        let name = maps::PROTECTED;
        let protected: HashMap<&mut MapData, ProtectedKey, u32> =
            HashMap::try_from(&mut self.protected)
                .map_err(|source| KernelError::Map { name, source })?;
        let keys: Vec<ProtectedKey> = protected.keys().filter_map(Result::ok).collect();
        Ok(FilterBits::of_protected(&keys))
    }

    /// The function-context probe programs, to attach per function.
    pub fn probes(&self) -> Result<Probes, KernelError> {
        Probes::from_pins(&program_pins(&pin_dir())).map_err(|source| KernelError::Program {
            hook: "function-context probes".into(),
            source,
        })
    }

    /// Tells the programs which process is bpfboxd (for self-protection),
    /// and where the kernel's rename and mount seqcounts are (for caching
    /// file decisions).
    pub fn set_daemon(&mut self, tgid: u32) -> Result<(), KernelError> {
        let name = maps::CONFIG;
        let (rename_seq, mount_seq) = crate::kernel::kallsyms::seqlock_addresses();
        let mut config: Array<&mut MapData, Config> = Array::try_from(&mut self.config)
            .map_err(|source| KernelError::Map { name, source })?;
        config
            .set(
                0,
                Config {
                    daemon_tgid: tgid,
                    _pad: 0,
                    rename_seq,
                    mount_seq,
                },
                0,
            )
            .map_err(|source| KernelError::Map { name, source })?;
        self.bump_generation()
    }

    /// Makes the programs drop every file decision they cached: called after
    /// any change of the rule, profile or protected maps.
    pub fn bump_generation(&mut self) -> Result<(), KernelError> {
        let generation = self.generation.words()[0]
            .fetch_add(1, Ordering::SeqCst)
            .wrapping_add(1);
        tracing::debug!(generation, "policy generation bumped");
        Ok(())
    }

    /// Makes `keys` bpfboxd's protected places, each with the accesses it
    /// denies to confined tasks (`BPFBOX_PROTECT_*`).
    pub fn protect(&mut self, keys: &BTreeMap<ProtectedKey, u32>) -> Result<(), KernelError> {
        let name = maps::PROTECTED;
        let err = |source| KernelError::Map { name, source };
        // their bits before them; a stale bit only costs a lookup, and the
        // next apply clears it
        self.inode_filter
            .add(&FilterBits::of_protected(keys.keys()));
        let mut protected: HashMap<&mut MapData, ProtectedKey, u32> =
            HashMap::try_from(&mut self.protected).map_err(err)?;
        for (key, denied) in keys {
            protected.insert(key, denied, 0).map_err(err)?;
        }
        let stale: Vec<ProtectedKey> = protected
            .keys()
            .filter_map(Result::ok)
            .filter(|k| !keys.contains_key(k))
            .collect();
        for key in stale {
            protected.remove(&key).map_err(err)?;
        }
        self.bump_generation()
    }

    /// Takes the event ring buffer (once).
    pub fn take_events(&mut self) -> Result<RingBuf<MapData>, KernelError> {
        let name = maps::EVENTS;
        let map = self.events.take().ok_or(KernelError::Map {
            name,
            source: MapError::InvalidName { name: name.into() },
        })?;
        RingBuf::try_from(map).map_err(|source| KernelError::Map { name, source })
    }

    /// Takes the per-CPU counters (once).
    pub fn take_stats(&mut self) -> Result<PerCpuArray<MapData, u64>, KernelError> {
        let name = maps::STATS;
        let map = self.stats.take().ok_or(KernelError::Map {
            name,
            source: MapError::InvalidName { name: name.into() },
        })?;
        PerCpuArray::try_from(map).map_err(|source| KernelError::Map { name, source })
    }
}

/// Loads every program into the kernel without attaching or pinning
/// anything: proof that this kernel accepts them (`bpfboxd preflight`).
pub fn probe() -> Result<(), KernelError> {
    let btf = Btf::from_sys_fs()?;
    let mut ebpf = EbpfLoader::new()
        .btf(Some(&btf))
        .allow_unsupported_maps()
        .load(OBJECT)?;
    for name in TRACEPOINTS {
        let program: &mut BtfTracePoint = program_mut(&mut ebpf, name)?;
        program.load(name, &btf).map_err(|e| classify(name, e))?;
        log_verified(name, program.info());
    }
    for name in LSM_PROGRAMS {
        let program: &mut Lsm = program_mut(&mut ebpf, name)?;
        program
            .load(lsm_hook(name), &btf)
            .map_err(|e| classify(name, e))?;
        log_verified(name, program.info());
    }
    for name in probe_programs::ALL {
        let info = if [probe_programs::FUNC_ENTRY, probe_programs::FUNC_RETURN].contains(name) {
            let program: &mut UProbe = program_mut(&mut ebpf, name)?;
            program.load().map_err(|e| classify(name, e))?;
            program.info()
        } else {
            let program: &mut KProbe = program_mut(&mut ebpf, name)?;
            program.load().map_err(|e| classify(name, e))?;
            program.info()
        };
        log_verified(name, info);
    }
    Ok(())
}

/// How much work the verifier did for a program (the kernel reports it
/// since 5.16): how close the program is to the 1M-instruction limit.
fn log_verified(name: &str, info: Result<aya::programs::ProgramInfo, ProgramError>) {
    let count = info.ok().and_then(|i| i.verified_instruction_count());
    tracing::debug!(program = name, verified_insns = ?count, "verified");
}

fn program_mut<'a, P>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut P, KernelError>
where
    &'a mut P: TryFrom<&'a mut aya::programs::Program, Error = ProgramError>,
{
    ebpf.program_mut(name)
        .ok_or_else(|| ProgramError::InvalidName { name: name.into() })
        .and_then(TryInto::try_into)
        .map_err(|source| KernelError::Program {
            hook: name.into(),
            source,
        })
}

fn typed<'a, K: aya::Pod, V: aya::Pod>(
    map: &'a mut Map,
    name: &'static str,
) -> Result<HashMap<&'a mut MapData, K, V>, KernelError> {
    HashMap::try_from(map).map_err(|source| KernelError::Map { name, source })
}

/// EPERM from loading an LSM program as root means the kernel forbids them.
fn classify(hook: &str, source: ProgramError) -> KernelError {
    let eperm = match &source {
        ProgramError::LoadError { io_error, .. } => io_error.raw_os_error() == Some(libc::EPERM),
        ProgramError::SyscallError(e) => e.io_error.raw_os_error() == Some(libc::EPERM),
        _ => false,
    };
    if eperm {
        KernelError::LsmRefused { hook: hook.into() }
    } else {
        KernelError::Program {
            hook: hook.into(),
            source,
        }
    }
}
