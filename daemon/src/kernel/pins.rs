//! Where bpfbox's programs and maps live while no daemon holds them: pinned
//! under `/sys/fs/bpf/bpfbox/v<ABI>/` (links, unattached probe programs,
//! maps), so that confinement outlives the daemon; and what is pinned, read
//! without loading anything (`bpfboxd status`, running processes).

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use aya::{
    maps::{HashMap, Map, MapData, PerCpuArray},
    programs::links::FdLink,
};
use bpfbox_abi::Profile;
use bpfbox_ebpf::{maps, probes, LSM_PROGRAMS, TRACEPOINTS};

use super::KernelError;

/// Where bpfbox pins its programs and maps.
pub const PIN_ROOT: &str = "/sys/fs/bpf/bpfbox";

/// The versioned pin directory of this build's ABI.
#[must_use]
pub fn pin_dir() -> PathBuf {
    Path::new(PIN_ROOT).join(format!("v{}", bpfbox_abi::ABI_VERSION))
}

pub(super) fn map_pins(dir: &Path) -> PathBuf {
    dir.join("maps")
}

pub(super) fn link_pins(dir: &Path) -> PathBuf {
    dir.join("links")
}

/// Loaded but unattached programs: the function-context probes, which the
/// daemon attaches per function.
pub(super) fn program_pins(dir: &Path) -> PathBuf {
    dir.join("programs")
}

/// Every program (LSM and tracepoint) by name: the link pins to expect.
fn all_programs() -> impl Iterator<Item = &'static str> {
    TRACEPOINTS.iter().chain(LSM_PROGRAMS).copied()
}

const MAP_NAMES: [&str; 16] = [
    maps::PROFILES,
    maps::EXE_PROFILES,
    maps::EXE_PATHS,
    maps::UID_RULES,
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

pub(super) fn pinned_set_complete(dir: &Path) -> bool {
    all_programs().all(|p| link_pins(dir).join(p).exists())
        && probes::ALL
            .iter()
            .all(|p| program_pins(dir).join(p).exists())
        && MAP_NAMES.iter().all(|m| map_pins(dir).join(m).exists())
}

pub(super) fn remove_pins(dir: &Path) -> Result<(), KernelError> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(KernelError::Pin {
            path: dir.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Once a new version is attached, older versions' programs are redundant.
pub(super) fn remove_older_versions() {
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

pub(super) fn mount_bpffs() -> Result<(), KernelError> {
    let root = Path::new("/sys/fs/bpf");
    if fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("/sys/fs/bpf") && l.contains(" bpf "))
    {
        return Ok(());
    }
    crate::kernel::pseudofs::mount(c"bpf", c"/sys/fs/bpf").map_err(|source| KernelError::Pin {
        path: root.to_path_buf(),
        source,
    })
}

pub(super) fn create_dir(path: &Path) -> Result<(), KernelError> {
    fs::create_dir_all(path).map_err(|source| KernelError::Pin {
        path: path.to_path_buf(),
        source,
    })
}

pub(super) fn pin_link(link: FdLink, dir: &Path, name: &str) -> Result<(), KernelError> {
    let path = dir.join(name);
    link.pin(&path).map(drop).map_err(|e| KernelError::Pin {
        path,
        source: io::Error::other(e),
    })
}
