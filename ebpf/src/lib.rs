//! bpfbox's BPF-LSM programs, compiled from C by `build.rs`.
//!
//! The object holds every program and map; the daemon loads it with aya.
//! Program and map names are listed here so that user space never spells
//! them twice.

#![no_std]

/// ELF objects must be 8-byte aligned for the loader's parser.
#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

static ALIGNED: &Aligned<[u8]> = &Aligned(*include_bytes!(env!("BPFBOX_BPF_OBJECT")));

/// The compiled BPF object (ELF, with BTF and CO-RE relocations).
pub static OBJECT: &[u8] = &ALIGNED.0;

/// LSM programs, each named after the hook it attaches to; where a hook has
/// several, the others are `<hook>__<part>` (see [`lsm_hook`]). Programs of
/// one hook are attached, and run, in this order.
pub const LSM_PROGRAMS: &[&str] = &[
    "bprm_check_security",
    "task_alloc",
    "file_open",
    "file_ioctl",
    "file_ioctl_compat",
    "file_permission",
    "file_receive",
    "mmap_file",
    "file_mprotect",
    "path_mknod",
    "path_mkdir",
    "path_symlink",
    "path_unlink",
    "path_unlink__entry",
    "path_rmdir",
    "path_rmdir__entry",
    "path_link",
    "path_link__source",
    "path_rename",
    "path_rename__source",
    "path_rename__target_dir",
    "path_rename__target",
    "inode_getattr",
    "inode_setattr",
    "inode_setxattr",
    "inode_removexattr",
    "inode_getxattr",
    "inode_listxattr",
    "task_kill",
    "ptrace_access_check",
    "ptrace_traceme",
    "socket_create",
    "socket_bind",
    "socket_connect",
    "socket_listen",
    "socket_accept",
    "socket_sendmsg",
    "socket_recvmsg",
    "socket_shutdown",
    "unix_stream_connect",
    "unix_may_send",
    "capable",
    "bpf",
    "task_setrlimit",
    "task_setnice",
    "task_setioprio",
    "task_setscheduler",
    "task_movememory",
    "task_setpgid",
    "file_send_sigiotask",
    "inode_init_security_anon",
    "uring_override_creds",
    "sb_mount",
    "move_mount",
    "sb_umount",
    "sb_pivotroot",
    "sb_remount",
];

/// The LSM hook a program of [`LSM_PROGRAMS`] attaches to.
#[must_use]
pub fn lsm_hook(program: &str) -> &str {
    program.split_once("__").map_or(program, |(hook, _)| hook)
}

/// BTF tracepoints (`tp_btf/`), each named after its tracepoint.
pub const TRACEPOINTS: &[&str] = &["sched_process_fork", "sched_process_exit"];

/// Function-context probes (`func.h`): attached by the daemon once per
/// probed function, with the context bit as the attach cookie.
pub mod probes {
    /// uprobe at a `func`'s entry.
    pub const FUNC_ENTRY: &str = "func_entry";
    /// uretprobe at a `func`'s return.
    pub const FUNC_RETURN: &str = "func_return";
    /// kprobe at a `kfunc`'s entry.
    pub const KFUNC_ENTRY: &str = "kfunc_entry";
    /// kretprobe at a `kfunc`'s return.
    pub const KFUNC_RETURN: &str = "kfunc_return";
    /// Every probe program.
    pub const ALL: &[&str] = &[FUNC_ENTRY, FUNC_RETURN, KFUNC_ENTRY, KFUNC_RETURN];
}

/// Map names in the object.
pub mod maps {
    /// Task local storage of confined tasks.
    pub const TASK_STATE: &str = "task_state";
    /// Profile id → `bpfbox_abi::Profile`.
    pub const PROFILES: &str = "profiles";
    /// `bpfbox_abi::InodeKey` of an executable → profile id.
    pub const EXE_PROFILES: &str = "exe_profiles";
    /// `bpfbox_abi::name_hash` of an executable's path → profile id.
    pub const EXE_PATHS: &str = "exe_paths";
    /// `bpfbox_abi::UidKey` → the rules id of a profile's rules for a user.
    pub const UID_RULES: &str = "uid_rules";
    /// `bpfbox_abi::FsKey` → `bpfbox_abi::Rule`.
    pub const FS_RULES: &str = "fs_rules";
    /// `bpfbox_abi::NetKey` → `bpfbox_abi::Rule`.
    pub const NET_RULES: &str = "net_rules";
    /// `bpfbox_abi::PairKey` → `bpfbox_abi::Rule` (signals, ptrace).
    pub const IPC_RULES: &str = "ipc_rules";
    /// `bpfbox_abi::PairKey` → `bpfbox_abi::Rule` (/proc/<pid> of others).
    pub const PROC_RULES: &str = "proc_rules";
    /// `bpfbox_abi::CapKey` → `bpfbox_abi::Rule`.
    pub const CAP_RULES: &str = "cap_rules";
    /// Ring buffer of `bpfbox_abi::Event`.
    pub const EVENTS: &str = "events";
    /// Per-CPU `u64` counters indexed by `bpfbox_abi::STAT_*`.
    pub const STATS: &str = "stats";
    /// One `bpfbox_abi::Config`.
    pub const CONFIG: &str = "config";
    /// `bpfbox_abi::ProtectedKey` → `u32`: bpfboxd's own files.
    pub const PROTECTED: &str = "protected";
    /// tgid → `bpfbox_abi::ConfinedPid`: every confined process.
    pub const CONFINED_PIDS: &str = "confined_pids";
    /// Array (mmap-able), index `bpfbox_abi::GENERATION_KEY` → `u64`: the
    /// policy generation.
    pub const GENERATION: &str = "generation";
    /// Array (mmap-able) of `bpfbox_abi::FILTER_WORDS` `u64`s: which
    /// inodes may have fs rules or be protected.
    pub const INODE_FILTER: &str = "inode_filter";
}

#[cfg(test)]
mod tests {
    extern crate std;

    #[test]
    fn object_is_a_bpf_elf_with_every_listed_program() {
        let obj = super::OBJECT;
        assert_eq!(&obj[..4], b"\x7fELF");
        // e_machine 247 = EM_BPF
        assert_eq!(u16::from_le_bytes([obj[18], obj[19]]), 247);
        let text = std::string::String::from_utf8_lossy(obj);
        for prog in super::LSM_PROGRAMS {
            let hook = super::lsm_hook(prog);
            assert!(
                text.contains(&std::format!("lsm/{hook}")),
                "missing section lsm/{hook}"
            );
            assert!(text.contains(prog), "missing program {prog}");
        }
        for (section, prog) in [
            ("uprobe", super::probes::FUNC_ENTRY),
            ("uretprobe", super::probes::FUNC_RETURN),
            ("kprobe", super::probes::KFUNC_ENTRY),
            ("kretprobe", super::probes::KFUNC_RETURN),
        ] {
            assert!(text.contains(section), "missing section {section}");
            assert!(text.contains(prog), "missing program {prog}");
        }
        for tp in super::TRACEPOINTS {
            assert!(
                text.contains(&std::format!("tp_btf/{tp}")),
                "missing section tp_btf/{tp}"
            );
        }
    }
}
