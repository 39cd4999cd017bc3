//! The kernel/user ABI of bpfbox, mirrored from `ebpf/include/bpfbox_abi.h`.
//!
//! Constants are generated from the header by `build.rs`; the structs below
//! are written by hand and [`layout`] proves at compile time that each has the
//! C size and field offsets. Field names are the C names.

#![no_std]

mod layout;

/// Every `#define BPFBOX_*` of the header, `BPFBOX_` prefix removed.
#[allow(missing_docs, clippy::unreadable_literal)]
pub mod consts {
    include!(concat!(env!("OUT_DIR"), "/c_abi.rs"));
}
pub use consts::*;

/// Key of `exe_profiles`: an executable as the kernel identifies it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InodeKey {
    pub ino: u64,
    /// Kernel encoding `(major << 20) | minor`, see [`kernel_dev`].
    pub dev: u32,
    pub _pad: u32,
}

/// Value of `profiles`, keyed by profile id.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Profile {
    pub mode: u32,
    pub flags: u32,
    /// What this profile's rules are keyed by: a hash of their content, so
    /// that one update of the profile switches all its rules at once.
    pub rules_id: u64,
}

/// Per-task state kept in task local storage.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    pub profile_id: u64,
    pub state: u64,
    pub flags: u32,
    pub _pad: u32,
    pub depth: [u8; MAX_CONTEXTS as usize],
    /// The policy generation of `profile`, the kernel's own copy (0: none).
    pub profile_gen: u64,
    pub profile: Profile,
    /// The file whose exec gave the task its profile (own-executable grant).
    pub exe_ino: u64,
    pub exe_dev: u32,
    /// The real uid the kernel's profile copy was taken for.
    pub profile_uid: u32,
}

/// Key of `uid_rules`: a profile and a user.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UidKey {
    pub profile_id: u64,
    pub uid: u32,
    pub _pad: u32,
}

/// One action's access set of a rule.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Access {
    /// Holds in any state.
    pub access: u32,
    /// Holds only while a context bit of `state` is set on the task.
    pub ctx_access: u32,
    pub state: u64,
}

impl Access {
    /// The accesses this set grants to a task whose context bits are `task_state`.
    #[must_use]
    pub const fn effective(&self, task_state: u64) -> u32 {
        if self.state & task_state != 0 {
            self.access | self.ctx_access
        } else {
            self.access
        }
    }
}

/// Value of every rule map: bpfbox's (allow, taint, audit) triple.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rule {
    pub allow: Access,
    pub taint: Access,
    pub audit: Access,
}

/// Key of `fs_rules`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FsKey {
    /// The owning profile's [`Profile::rules_id`].
    pub rules_id: u64,
    /// The object ([`SCOPE_INODE`]) or the directory ([`SCOPE_CHILD`], [`SCOPE_SUBTREE`]).
    pub ino: u64,
    /// [`SCOPE_CHILD`]: [`name_hash`] of the entry's name; otherwise 0.
    pub name_hash: u64,
    pub dev: u32,
    pub scope: u32,
}

/// Key of `net_rules`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetKey {
    /// The owning profile's [`Profile::rules_id`].
    pub rules_id: u64,
    pub family: u32,
    pub _pad: u32,
}

/// Key of `ipc_rules` and `proc_rules`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PairKey {
    /// The acting profile's [`Profile::rules_id`].
    pub subject: u64,
    /// 0 = an unconfined target.
    pub object: u64,
}

/// Key of `cap_rules`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CapKey {
    /// The owning profile's [`Profile::rules_id`].
    pub rules_id: u64,
    pub cap: u32,
    pub _pad: u32,
}

/// Value of the `config` array (one entry).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub daemon_tgid: u32,
    pub _pad: u32,
    /// Kernel address of `rename_lock` (0 = unknown: no decision caching).
    pub rename_seq: u64,
    /// Kernel address of `mount_lock` (0 = unknown: no decision caching).
    pub mount_seq: u64,
}

/// Key of `protected`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtectedKey {
    pub ino: u64,
    pub dev: u32,
    /// [`SCOPE_INODE`] or [`SCOPE_SUBTREE`].
    pub scope: u32,
}

/// Value of `confined_pids`, keyed by tgid.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConfinedPid {
    pub profile_id: u64,
    /// The group leader's task pointer (guards against pid reuse); opaque.
    pub leader: u64,
}

/// A ring-buffer record.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub ts_ns: u64,
    pub profile_id: u64,
    pub target_profile: u64,
    pub ino: u64,
    pub dev: u32,
    pub pid: u32,
    pub tgid: u32,
    pub uid: u32,
    pub kind: u32,
    pub hook: u32,
    pub access: u32,
    pub decision: u32,
    pub detail: u32,
    pub target_pid: u32,
    pub path_len: u32,
    /// [`EVENT_F_FULL_PATH`] or [`EVENT_F_NAME_ONLY`] when `path` is set.
    pub flags: u32,
    /// How many accesses this event stands for (≥ 1; see the header).
    pub count: u32,
    pub _pad: u32,
    pub comm: [u8; COMM_LEN as usize],
    pub path: [u8; PATH_LEN as usize],
}

impl Event {
    /// Reads an event from ring-buffer bytes; `None` if the record is short.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < core::mem::size_of::<Self>() {
            return None;
        }
        // SAFETY: the length is checked, `Event` is plain old data for which
        // every bit pattern is valid, and `read_unaligned` needs no alignment.
        Some(unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<Self>()) })
    }

    /// The task's command name, up to its NUL.
    #[must_use]
    pub fn comm(&self) -> &[u8] {
        until_nul(&self.comm)
    }

    /// The object's path, if the kernel could give one.
    #[must_use]
    pub fn path(&self) -> Option<&[u8]> {
        let len = (self.path_len as usize).min(self.path.len());
        (len > 0).then(|| until_nul(&self.path[..len]))
    }
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// FNV-1a (64 bit) of a directory entry's name, as the kernel computes it
/// for [`SCOPE_CHILD`] rules; of an executable's whole path, the key of
/// `exe_paths`.
#[must_use]
pub const fn name_hash(name: &[u8]) -> u64 {
    let mut hash = FNV_OFFSET;
    let mut i = 0;
    while i < name.len() {
        hash ^= name[i] as u64;
        hash = hash.wrapping_mul(FNV_PRIME);
        i += 1;
    }
    hash
}

/// The `inode_filter` bit of an inode (bpfbox_abi.h: `bpfbox_filter_bit`):
/// set for every inode an fs rule is keyed by or that is protected, so that
/// the kernel skips the lookups of every other inode.
#[must_use]
pub const fn filter_bit(ino: u64, dev: u32) -> u32 {
    let h = (ino ^ ((dev as u64) << 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> (64 - FILTER_BITS_LOG2)) as u32
}

/// A user-space device number (`st_dev`, or `major:minor` from mountinfo)
/// in the kernel's `s_dev` encoding, which is what the programs see.
#[must_use]
pub const fn kernel_dev(major: u32, minor: u32) -> u32 {
    (major << 20) | (minor & 0xf_ffff)
}

#[cfg(feature = "aya")]
mod pod {
    // SAFETY (all): `#[repr(C)]`, no implicit padding (layout.rs proves the
    // sizes), and every bit pattern is a valid value.
    unsafe impl aya::Pod for super::InodeKey {}
    unsafe impl aya::Pod for super::UidKey {}
    unsafe impl aya::Pod for super::Profile {}
    unsafe impl aya::Pod for super::Task {}
    unsafe impl aya::Pod for super::Rule {}
    unsafe impl aya::Pod for super::FsKey {}
    unsafe impl aya::Pod for super::NetKey {}
    unsafe impl aya::Pod for super::PairKey {}
    unsafe impl aya::Pod for super::CapKey {}
    unsafe impl aya::Pod for super::Event {}
    unsafe impl aya::Pod for super::Config {}
    unsafe impl aya::Pod for super::ProtectedKey {}
    unsafe impl aya::Pod for super::ConfinedPid {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_hash_is_fnv1a_64() {
        // reference values of FNV-1a 64
        assert_eq!(name_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(name_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(name_hash(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn filter_bit_agrees_with_the_c_header() {
        for (ino, dev, c_bit) in FILTER_SAMPLES {
            assert_eq!(filter_bit(ino, dev), c_bit, "ino {ino} dev {dev:#x}");
        }
        assert!(FILTER_SAMPLES.iter().all(|s| s.2 < FILTER_WORDS * 64));
    }

    #[test]
    fn kernel_dev_packs_major_above_twenty_minor_bits() {
        assert_eq!(kernel_dev(8, 1), 0x0080_0001);
        assert_eq!(kernel_dev(0, 21), 21);
    }

    #[test]
    fn event_from_short_bytes_is_rejected() {
        assert!(Event::from_bytes(&[0u8; 16]).is_none());
        let bytes = [0u8; core::mem::size_of::<Event>()];
        let event = Event::from_bytes(&bytes).unwrap();
        assert!(event.path().is_none());
        assert!(event.comm().is_empty());
    }
}
