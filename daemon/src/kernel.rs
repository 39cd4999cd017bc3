//! bpfbox's BPF programs in the kernel: loading, pinning, adopting, maps.
//!
//! Programs stay attached through links pinned under
//! `/sys/fs/bpf/bpfbox/v<ABI>/`, and the maps are pinned beside them. A
//! restarted daemon (after a crash, `kill -9` or an upgrade with the same
//! ABI) adopts what is pinned instead of loading again, so confined processes
//! stay confined while no daemon runs. A daemon with a new ABI loads its own
//! set under its own version and only then removes older versions.

use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::atomic::Ordering,
};

use aya::{
    maps::{Array, HashMap, Map, MapData, MapError, PerCpuArray, RingBuf},
    programs::{links::FdLink, BtfTracePoint, KProbe, Lsm, ProgramError, UProbe},
    Btf, Ebpf, EbpfLoader,
};
use bpfbox_abi::{CapKey, Config, FsKey, InodeKey, NetKey, PairKey, Profile, ProtectedKey, Rule};
use bpfbox_ebpf::{lsm_hook, maps, probes, LSM_PROGRAMS, OBJECT, TRACEPOINTS};

use crate::{
    inode_filter::{FilterBits, InodeFilter},
    probes::Probes,
    shared_words::SharedWords,
};

/// Where bpfbox pins its programs and maps.
pub const PIN_ROOT: &str = "/sys/fs/bpf/bpfbox";

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
    fs_rules: Map,
    net_rules: Map,
    ipc_rules: Map,
    proc_rules: Map,
    cap_rules: Map,
    config: Map,
    protected: Map,
    generation: SharedWords,
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
fn shared_words(name: &'static str, map: Map, len: u32) -> Result<SharedWords, KernelError> {
    let Map::Array(data) = map else {
        return Err(KernelError::Mmap {
            name,
            source: io::Error::other("not an array"),
        });
    };
    SharedWords::map(data.fd(), len as usize).map_err(|source| KernelError::Mmap { name, source })
}

fn generation(map: Map) -> Result<SharedWords, KernelError> {
    shared_words(maps::GENERATION, map, 1)
}

fn inode_filter(map: Map) -> Result<InodeFilter, KernelError> {
    shared_words(maps::INODE_FILTER, map, bpfbox_abi::FILTER_WORDS).map(InodeFilter::new)
}

/// The versioned pin directory of this build's ABI.
#[must_use]
pub fn pin_dir() -> PathBuf {
    Path::new(PIN_ROOT).join(format!("v{}", bpfbox_abi::ABI_VERSION))
}

fn map_pins(dir: &Path) -> PathBuf {
    dir.join("maps")
}

fn link_pins(dir: &Path) -> PathBuf {
    dir.join("links")
}

/// Loaded but unattached programs: the function-context probes, which the
/// daemon attaches per function.
fn program_pins(dir: &Path) -> PathBuf {
    dir.join("programs")
}

/// Every program (LSM and tracepoint) by name: the link pins to expect.
fn all_programs() -> impl Iterator<Item = &'static str> {
    TRACEPOINTS.iter().chain(LSM_PROGRAMS).copied()
}

const MAP_NAMES: [&str; 15] = [
    maps::PROFILES,
    maps::EXE_PROFILES,
    maps::EXE_PATHS,
    maps::FS_RULES,
    maps::NET_RULES,
    maps::IPC_RULES,
    maps::PROC_RULES,
    maps::CAP_RULES,
    maps::CONFIG,
    maps::PROTECTED,
    maps::EVENTS,
    maps::STATS,
    maps::CONFINED_PIDS,
    maps::GENERATION,
    maps::INODE_FILTER,
];

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
        for name in probes::ALL {
            let path = program_pins(dir).join(name);
            let pinned = if [probes::FUNC_ENTRY, probes::FUNC_RETURN].contains(name) {
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
        let (rename_seq, mount_seq) = crate::kallsyms::seqlock_addresses();
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

    /// Makes `keys` the objects no confined task may modify.
    pub fn protect(&mut self, keys: &[ProtectedKey]) -> Result<(), KernelError> {
        let name = maps::PROTECTED;
        let err = |source| KernelError::Map { name, source };
        // their bits before them; a stale bit only costs a lookup, and the
        // next apply clears it
        self.inode_filter.add(&FilterBits::of_protected(keys));
        let mut protected: HashMap<&mut MapData, ProtectedKey, u32> =
            HashMap::try_from(&mut self.protected).map_err(err)?;
        for key in keys {
            protected.insert(key, 1, 0).map_err(err)?;
        }
        let stale: Vec<ProtectedKey> = protected
            .keys()
            .filter_map(Result::ok)
            .filter(|k| !keys.contains(k))
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
    for name in probes::ALL {
        let info = if [probes::FUNC_ENTRY, probes::FUNC_RETURN].contains(name) {
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

/// Detaches everything: removes every pin of every version. Programs stop
/// running once no process holds them (this daemon's own handles are closed
/// when it exits).
pub fn unload() -> Result<(), KernelError> {
    remove_pins(Path::new(PIN_ROOT))
}

/// What is pinned, for `bpfboxd status`: read without loading anything.
#[derive(Debug)]
pub struct PinnedState {
    /// This build's pin directory.
    pub dir: PathBuf,
    /// Every program and map of this ABI version is pinned: enforcing.
    pub complete: bool,
    /// Pin directories of other ABI versions (`v1`, …).
    pub other_versions: Vec<String>,
    /// Entries of the `profiles` map: the profiles the kernel enforces.
    pub profiles: Option<usize>,
    /// The kernel's counters (`BPFBOX_STAT_*`), summed over CPUs, since the
    /// programs were loaded.
    pub stats: Option<Vec<u64>>,
}

/// Reads the pinned set of this ABI version, if any.
pub fn pinned_state() -> PinnedState {
    let dir = pin_dir();
    let pins = map_pins(&dir);
    let profiles = MapData::from_pin(pins.join(maps::PROFILES))
        .ok()
        .and_then(|m| HashMap::<_, u64, Profile>::try_from(Map::HashMap(m)).ok())
        .map(|m| m.keys().filter(Result::is_ok).count());
    let stats = MapData::from_pin(pins.join(maps::STATS))
        .ok()
        .and_then(|m| PerCpuArray::<_, u64>::try_from(Map::PerCpuArray(m)).ok())
        .map(|m| {
            (0..bpfbox_abi::STAT_COUNT)
                .map(|i| m.get(&i, 0).map_or(0, |v| v.iter().sum()))
                .collect()
        });
    let current = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    let mut other_versions: Vec<String> = fs::read_dir(PIN_ROOT)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| Some(n) != current.as_ref())
        .collect();
    other_versions.sort();
    PinnedState {
        complete: pinned_set_complete(&dir),
        dir,
        other_versions,
        profiles,
        stats,
    }
}

/// How many processes each profile confines now (profile id → count).
pub fn running_processes() -> std::collections::BTreeMap<u64, u32> {
    let mut out = std::collections::BTreeMap::new();
    let map = MapData::from_pin(map_pins(&pin_dir()).join(maps::CONFINED_PIDS))
        .ok()
        .and_then(|m| HashMap::<_, u32, bpfbox_abi::ConfinedPid>::try_from(Map::HashMap(m)).ok());
    if let Some(map) = map {
        for (_, entry) in map.iter().filter_map(Result::ok) {
            *out.entry(entry.profile_id).or_insert(0) += 1;
        }
    }
    out
}

/// Whether process `tgid` is confined (fails closed: true when the map
/// cannot be read).
pub fn is_confined(tgid: u32) -> bool {
    let map = MapData::from_pin(map_pins(&pin_dir()).join(maps::CONFINED_PIDS))
        .ok()
        .and_then(|m| HashMap::<_, u32, bpfbox_abi::ConfinedPid>::try_from(Map::HashMap(m)).ok());
    map.is_none_or(|m| m.get(&tgid, 0).is_ok())
}

/// Whether a complete set of this ABI version's programs is pinned: what
/// `pinned_state().complete` says, without opening any map.
pub fn enforcing() -> bool {
    pinned_set_complete(&pin_dir())
}

fn pinned_set_complete(dir: &Path) -> bool {
    all_programs().all(|p| link_pins(dir).join(p).exists())
        && probes::ALL
            .iter()
            .all(|p| program_pins(dir).join(p).exists())
        && MAP_NAMES.iter().all(|m| map_pins(dir).join(m).exists())
}

fn remove_pins(dir: &Path) -> Result<(), KernelError> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(KernelError::Pin {
            path: dir.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Once a new version is attached, older versions' programs are redundant.
fn remove_older_versions() {
    let current = pin_dir();
    let Ok(entries) = fs::read_dir(PIN_ROOT) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path != current {
            tracing::info!(path = %path.display(), "removing an older pinned version");
            let _ = fs::remove_dir_all(&path);
        }
    }
}

fn mount_bpffs() -> Result<(), KernelError> {
    let root = Path::new("/sys/fs/bpf");
    if fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("/sys/fs/bpf") && l.contains(" bpf "))
    {
        return Ok(());
    }
    crate::pseudofs::mount(c"bpf", c"/sys/fs/bpf").map_err(|source| KernelError::Pin {
        path: root.to_path_buf(),
        source,
    })
}

fn create_dir(path: &Path) -> Result<(), KernelError> {
    fs::create_dir_all(path).map_err(|source| KernelError::Pin {
        path: path.to_path_buf(),
        source,
    })
}

fn pin_link(link: FdLink, dir: &Path, name: &str) -> Result<(), KernelError> {
    let path = dir.join(name);
    link.pin(&path).map(drop).map_err(|e| KernelError::Pin {
        path,
        source: io::Error::other(e),
    })
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
