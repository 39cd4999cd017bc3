/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The kernel/user ABI of bpfbox: every struct and constant that crosses the
 * boundary between the BPF programs and bpfboxd lives here and nowhere else.
 *
 * Rules for this file, so that C and Rust agree byte for byte:
 *  - fixed-width types only (no bool, no enums in structs, no pointers);
 *  - explicit padding, every struct a multiple of 8 bytes;
 *  - no kernel includes: user space compiles it too (see abi/build.rs,
 *    which checks the Rust mirror in abi/src against this header).
 *
 * Bump BPFBOX_ABI_VERSION on any incompatible change: pinned maps are kept
 * under a versioned directory so that a newer daemon never reads an older
 * layout.
 */
#ifndef __BPFBOX_ABI_H
#define __BPFBOX_ABI_H

#define BPFBOX_ABI_VERSION 7

/* ---- sizes ---------------------------------------------------------- */

#define BPFBOX_COMM_LEN 16
#define BPFBOX_PATH_LEN 256
/* Distinct function contexts (`func` / `kfunc`) per profile set. */
#define BPFBOX_MAX_CONTEXTS 64
/* How many ancestors the kernel walks looking for a subtree rule. */
#define BPFBOX_MAX_ANCESTORS 32
/*
 * The longest executable path (bytes, with its NUL) the exec hook reads to
 * match a profile by path (`exe_paths`); longer paths match by identity only.
 */
#define BPFBOX_EXE_PATH_MAX 512

/* ---- profile modes -------------------------------------------------- */

#define BPFBOX_MODE_ENFORCE 0
#define BPFBOX_MODE_COMPLAIN 1
#define BPFBOX_MODE_DISABLED 2

/* bpfbox_profile.flags */
#define BPFBOX_PROFILE_TAINT_ON_EXEC (1U << 0)
/* The profile has CHILD rules: only then does the kernel hash entry names. */
#define BPFBOX_PROFILE_HAS_CHILD_RULES (1U << 1)
/*
 * The profile has function contexts (`func`) in its own executable. The
 * daemon probes a file it has identified (`exe_profiles`); a task that execs
 * a file at the profile's path that the daemon has not identified yet (it was
 * just replaced) starts tainted, with no context: the least it may do.
 */
#define BPFBOX_PROFILE_EXE_PROBED (1U << 2)
/* `io_uring = true`: its tasks may make io_uring instances */
#define BPFBOX_PROFILE_IO_URING (1U << 3)
/* `mount = true`: its tasks may mount, unmount, move mounts, pivot_root */
#define BPFBOX_PROFILE_MOUNT (1U << 4)

/* bpfbox_task.flags */
#define BPFBOX_TASK_TAINTED (1U << 0)

/* ---- decisions (a bitmask, as in bpfbox) ----------------------------- */

#define BPFBOX_DECISION_ALLOW (1U << 0)
#define BPFBOX_DECISION_AUDIT (1U << 1)
#define BPFBOX_DECISION_TAINT (1U << 2)
#define BPFBOX_DECISION_DENY (1U << 3)
#define BPFBOX_DECISION_COMPLAIN (1U << 4)

/* ---- access vocabularies -------------------------------------------- */

/* Files and /proc/<pid> (bpfbox's FS_* flags). */
#define BPFBOX_FS_READ (1U << 0)
#define BPFBOX_FS_WRITE (1U << 1)
#define BPFBOX_FS_APPEND (1U << 2)
#define BPFBOX_FS_EXEC (1U << 3)
#define BPFBOX_FS_GETATTR (1U << 4)
#define BPFBOX_FS_SETATTR (1U << 5)
#define BPFBOX_FS_IOCTL (1U << 6)
#define BPFBOX_FS_RM (1U << 7)
#define BPFBOX_FS_LINK (1U << 8)
#define BPFBOX_FS_ANY ((1U << 9) - 1)
/*
 * What a task may always do with the file whose exec gave it its profile,
 * whatever its rules: exec and the loader read, map and stat the binary.
 */
#define BPFBOX_FS_OWN_EXECUTABLE (BPFBOX_FS_READ | BPFBOX_FS_EXEC | BPFBOX_FS_GETATTR)

/* Sockets, per address family. */
#define BPFBOX_NET_CONNECT (1U << 0)
#define BPFBOX_NET_BIND (1U << 1)
#define BPFBOX_NET_ACCEPT (1U << 2)
#define BPFBOX_NET_LISTEN (1U << 3)
#define BPFBOX_NET_SEND (1U << 4)
#define BPFBOX_NET_RECV (1U << 5)
#define BPFBOX_NET_CREATE (1U << 6)
#define BPFBOX_NET_SHUTDOWN (1U << 7)
#define BPFBOX_NET_ANY ((1U << 8) - 1)

/* Signals and ptrace between profiles (bpfbox's IPC_* flags). */
#define BPFBOX_IPC_SIGCHLD (1U << 0)
#define BPFBOX_IPC_SIGKILL (1U << 1)
#define BPFBOX_IPC_SIGSTOP (1U << 2)
#define BPFBOX_IPC_SIGMISC (1U << 3)
#define BPFBOX_IPC_SIGCHECK (1U << 4)
#define BPFBOX_IPC_PTRACE (1U << 5)
#define BPFBOX_IPC_SIGFATAL (BPFBOX_IPC_SIGKILL | BPFBOX_IPC_SIGMISC)
#define BPFBOX_IPC_ANY ((1U << 6) - 1)

/* ---- event kinds and hooks ------------------------------------------ */

#define BPFBOX_EVENT_FS 1
#define BPFBOX_EVENT_PROC 2
#define BPFBOX_EVENT_NET 3
#define BPFBOX_EVENT_IPC 4
#define BPFBOX_EVENT_CAP 5
#define BPFBOX_EVENT_BPF 6
/* a confined task went for bpfboxd or its files (always denied) */
#define BPFBOX_EVENT_SELF_PROTECT 7
/* io_uring: a ring made without the profile's `io_uring = true`, or a
 * request under another registered personality (always denied) */
#define BPFBOX_EVENT_IO_URING 8
/* a mount, unmount, mount move or pivot_root without `mount = true` */
#define BPFBOX_EVENT_MOUNT 9

/*
 * bpfbox_event.flags. Full paths come from bpf_d_path, which the kernel
 * allows only in a few hooks; elsewhere the event carries the entry's name.
 */
#define BPFBOX_EVENT_F_FULL_PATH (1U << 0)
#define BPFBOX_EVENT_F_NAME_ONLY (1U << 1)

/* Repeats of one file access within this window become one event (1 s). */
#define BPFBOX_REPORT_WINDOW_NS 1000000000ULL

/* bpfbox_event.hook: which LSM hook decided (for "why was this blocked"). */
#define BPFBOX_HOOK_FILE_OPEN 1
#define BPFBOX_HOOK_INODE_PERMISSION 2
#define BPFBOX_HOOK_INODE_CREATE 3
#define BPFBOX_HOOK_INODE_UNLINK 4
#define BPFBOX_HOOK_INODE_RENAME 5
#define BPFBOX_HOOK_INODE_LINK 6
#define BPFBOX_HOOK_INODE_SETATTR 7
#define BPFBOX_HOOK_INODE_GETATTR 8
#define BPFBOX_HOOK_MMAP_FILE 9
#define BPFBOX_HOOK_TASK_KILL 10
#define BPFBOX_HOOK_PTRACE 11
#define BPFBOX_HOOK_SOCKET 12
#define BPFBOX_HOOK_CAPABLE 13
#define BPFBOX_HOOK_BPF 14
#define BPFBOX_HOOK_INODE_MKDIR 15
#define BPFBOX_HOOK_INODE_SYMLINK 16
#define BPFBOX_HOOK_INODE_RMDIR 17
#define BPFBOX_HOOK_INODE_XATTR 18
#define BPFBOX_HOOK_FILE_IOCTL 19
#define BPFBOX_HOOK_FILE_MPROTECT 20
#define BPFBOX_HOOK_PROC 21
#define BPFBOX_HOOK_SOCKET_CREATE 22
#define BPFBOX_HOOK_SOCKET_BIND 23
#define BPFBOX_HOOK_SOCKET_CONNECT 24
#define BPFBOX_HOOK_SOCKET_LISTEN 25
#define BPFBOX_HOOK_SOCKET_ACCEPT 26
#define BPFBOX_HOOK_SOCKET_SENDMSG 27
#define BPFBOX_HOOK_SOCKET_RECVMSG 28
#define BPFBOX_HOOK_SOCKET_SHUTDOWN 29
#define BPFBOX_HOOK_UNIX_STREAM_CONNECT 30
#define BPFBOX_HOOK_UNIX_MAY_SEND 31
#define BPFBOX_HOOK_PTRACE_TRACEME 32
#define BPFBOX_HOOK_SELF_PROTECT 33
/* other ways to act on a process, guarded for bpfboxd's (self.h) */
#define BPFBOX_HOOK_TASK_SETRLIMIT 34
#define BPFBOX_HOOK_TASK_SETNICE 35
#define BPFBOX_HOOK_TASK_SETIOPRIO 36
#define BPFBOX_HOOK_TASK_SETSCHEDULER 37
#define BPFBOX_HOOK_TASK_MOVEMEMORY 38
#define BPFBOX_HOOK_TASK_SETPGID 39
#define BPFBOX_HOOK_FILE_SEND_SIGIOTASK 40
#define BPFBOX_HOOK_IO_URING_SETUP 41 /* inode_init_security_anon of "[io_uring]" */
#define BPFBOX_HOOK_URING_OVERRIDE_CREDS 42
/* a read or write through a descriptor the task did not open itself */
#define BPFBOX_HOOK_FILE_PERMISSION 43
/* a descriptor received (SCM_RIGHTS, pidfd_getfd) */
#define BPFBOX_HOOK_FILE_RECEIVE 44
#define BPFBOX_HOOK_SB_MOUNT 45
#define BPFBOX_HOOK_MOVE_MOUNT 46
#define BPFBOX_HOOK_SB_UMOUNT 47
#define BPFBOX_HOOK_SB_PIVOTROOT 48
#define BPFBOX_HOOK_SB_REMOUNT 49

/*
 * bpfbox_fs_key.scope. bpfbox resolved every path to an inode once, so a file
 * created later, or replaced by an editor's atomic save, fell out of policy.
 * CHILD and SUBTREE rules are keyed by a directory instead and cover entries
 * whatever their inode, including ones that do not exist yet.
 */
#define BPFBOX_SCOPE_INODE 0 /* this inode, under any name (hard links too) */
#define BPFBOX_SCOPE_CHILD 1 /* the entry named name_hash in directory ino */
#define BPFBOX_SCOPE_SUBTREE 2 /* directory ino itself and everything below it */

/*
 * FNV-1a, 64 bit, over the entry name's bytes (no NUL): bpfbox_fs_key.name_hash;
 * over an executable's whole path (no NUL): the key of `exe_paths`.
 */
#define BPFBOX_FNV_OFFSET 0xcbf29ce484222325ULL
#define BPFBOX_FNV_PRIME 0x100000001b3ULL
#define BPFBOX_NAME_MAX 255

/* Index of the per-CPU counters in the `stats` array map. */
#define BPFBOX_STAT_EVENTS 0 /* events written to the ring buffer */
#define BPFBOX_STAT_LOST 1 /* events dropped because the ring buffer was full */
#define BPFBOX_STAT_DENIED 2
#define BPFBOX_STAT_COMPLAINED 3
#define BPFBOX_STAT_TAINTED 4
#define BPFBOX_STAT_ERRORS 5 /* storage allocation failures (fail closed) */
/* How confined tasks' file checks found their rules (ebpf/src/cache.h): */
#define BPFBOX_STAT_CACHE_HITS 6 /* the object's result, from the task's cache */
#define BPFBOX_STAT_CHAIN_HITS 7 /* the object's own rules, its directory's chain from the cache */
#define BPFBOX_STAT_WALKS 8 /* a walk to the root */
/* execs confined by their path alone: a file the daemon had not identified yet */
#define BPFBOX_STAT_EXEC_BY_PATH 9
#define BPFBOX_STAT_COUNT 10

/* ---- map keys and values -------------------------------------------- */

/*
 * A profile's identity: the profile id is chosen by the daemon (stable per
 * profile name, never 0: 0 means "unconfined").
 */

/*
 * A task takes a profile when it execs a file that is the profile's
 * executable by identity (`exe_profiles`, what the daemon resolved the path
 * to) or by path (`exe_paths`, keyed by the FNV-1a hash of the path
 * bpf_d_path gives for the file): a file put at the path after the daemon
 * looked (a package upgrade, a late install) is confined by its path alone.
 */

/*
 * Key of `uid_rules`: a profile and a user. The value (__u64) is the rules
 * id of the profile's rules for that user's processes: its rules without a
 * `uid` and the user's own (temporary grants from a notification, which
 * loosen only the processes of the person who answered). A task takes it
 * in place of the profile's rules_id (task.h).
 */
struct bpfbox_uid_key {
	__u64 profile_id;
	__u32 uid; /* the task's real uid */
	__u32 _pad;
};

/* Key of `exe_profiles`: the executable's identity as the kernel sees it. */
struct bpfbox_inode_key {
	__u64 ino;
	__u32 dev; /* kernel encoding: (major << 20) | minor */
	__u32 _pad;
};

/* Value of `profiles`, keyed by __u64 profile id. */
struct bpfbox_profile {
	__u32 mode; /* BPFBOX_MODE_* */
	__u32 flags; /* BPFBOX_PROFILE_* */
	/*
	 * The id this profile's rules are keyed by in every rule map. It is a
	 * hash of the rules' content, so an edited profile's new rules go in
	 * under a new id without touching the old ones, and one update of this
	 * entry switches the profile from all old rules to all new ones.
	 */
	__u64 rules_id;
};

/* Per-task state, in task local storage; inherited on fork and exec. */
struct bpfbox_task {
	__u64 profile_id; /* 0 = unconfined */
	__u64 state; /* function contexts active in this thread (bit per context) */
	__u32 flags; /* BPFBOX_TASK_* */
	__u32 _pad;
	/* Nesting depth per context, so recursion does not clear a bit early. */
	__u8 depth[BPFBOX_MAX_CONTEXTS];
	/*
	 * The task's own copy of its profile, taken at policy generation
	 * `profile_gen` (0: no copy) and used while that generation lasts, so
	 * a hook does not look the profile up (ebpf/src/task.h). Kernel-only.
	 */
	__u64 profile_gen;
	struct bpfbox_profile profile;
	/*
	 * The file whose exec gave the task its profile: it may always read,
	 * map and stat it (the own-executable grant), whatever is at the
	 * profile's path now. Kernel-only.
	 */
	__u64 exe_ino;
	__u32 exe_dev;
	/* the real uid the copy of `profile` was taken for (uid_rules) */
	__u32 profile_uid;
};

/*
 * One action's access set. `access` holds in any state; `ctx_access` only
 * while one of the function contexts in `state` is active (bpfbox's
 * #[func]/#[kfunc] rules). Keeping the two apart means an unconditional rule
 * and a context rule on the same object merge without widening each other.
 */
struct bpfbox_access {
	__u32 access; /* BPFBOX_FS_* / NET_* / IPC_* bits; capability rules use bit 0 */
	__u32 ctx_access;
	__u64 state; /* context bits for ctx_access */
};

/* Value of every rule map: bpfbox's (allow, taint, audit) triple. */
struct bpfbox_rule {
	struct bpfbox_access allow;
	struct bpfbox_access taint;
	struct bpfbox_access audit;
};

/* Key of `fs_rules`. */
struct bpfbox_fs_key {
	__u64 rules_id; /* the owning profile's bpfbox_profile.rules_id */
	__u64 ino; /* INODE: the object; CHILD, SUBTREE: the directory */
	__u64 name_hash; /* CHILD: FNV-1a of the entry name; otherwise 0 */
	__u32 dev;
	__u32 scope; /* BPFBOX_SCOPE_* */
};

/* Key of `net_rules`. */
struct bpfbox_net_key {
	__u64 rules_id;
	__u32 family; /* AF_* */
	__u32 _pad;
};

/* Key of `ipc_rules` (signals, ptrace) and `proc_rules` (/proc/<pid>). */
struct bpfbox_pair_key {
	__u64 subject; /* rules_id of the acting task's profile */
	__u64 object; /* profile id of the target task; 0 = unconfined */
};

/* Key of `cap_rules`: one entry per capability number. */
struct bpfbox_cap_key {
	__u64 rules_id;
	__u32 cap;
	__u32 _pad;
};

/*
 * Value of the one-entry `config` array. Confined tasks may never signal,
 * ptrace or open the /proc of daemon_tgid, whatever their profile or mode.
 *
 * rename_seq and mount_seq are the kernel addresses of `rename_lock` and
 * `mount_lock` (from /proc/kallsyms; their first 32 bits are the seqcount):
 * a cached file decision is used only while neither has moved, i.e. no
 * rename and no mount change happened since the path was walked. 0 = not
 * known: the kernel then caches nothing. Both stay the same for a boot, so
 * a restarted daemon writes the same bytes.
 */
struct bpfbox_config {
	__u32 daemon_tgid;
	__u32 _pad;
	__u64 rename_seq;
	__u64 mount_seq;
};

/*
 * The one entry of the `generation` array (a __u64 at index 0): bumped by
 * the daemon after every change of the rule, profile or protected maps, so
 * the kernel drops every cached decision taken before. The array is
 * BPF_F_MMAPABLE and the daemon bumps the counter in its shared mapping
 * with one atomic 8-byte add, which hooks read with one 8-byte load: never
 * a half-written counter, which could equal an old one. (An update through
 * bpf(2) copies the value with memcpy, which gives no such promise.)
 */
#define BPFBOX_GENERATION_KEY 0

/*
 * The `inode_filter` array: BPFBOX_FILTER_WORDS __u64 words, one bit per
 * hash of an inode's (ino, dev), set for every inode that an fs rule is
 * keyed by (a CHILD rule's directory included) and every protected object.
 * A clear bit means no rule and no protection for that inode, so the
 * kernel skips its hash lookups; a set bit may be another inode's (the
 * kernel then looks, as without the filter). The daemon keeps the bits a
 * superset of the maps at every moment: it sets a key's bit before it
 * inserts the key, and clears bits only after it removed their keys. The
 * array is BPF_F_MMAPABLE and the daemon changes words in its mapping with
 * atomic 8-byte operations.
 */
#define BPFBOX_FILTER_BITS_LOG2 18
#define BPFBOX_FILTER_WORDS 4096 /* 2^18 bits / 64 */

/* The filter bit of (ino, dev): Fibonacci hashing, the top 18 bits. */
static inline __attribute__((always_inline)) __u32 bpfbox_filter_bit(__u64 ino, __u32 dev)
{
	__u64 h = (ino ^ ((__u64)dev << 32)) * 0x9e3779b97f4a7c15ULL;

	return (__u32)(h >> (64 - BPFBOX_FILTER_BITS_LOG2));
}

/*
 * Value of `confined_pids`, keyed by __u32 tgid: every confined process, so
 * that /proc/<pid> rules can find the profile of a process from its pid, and
 * the daemon can count each profile's running processes.
 */
struct bpfbox_confined_pid {
	__u64 profile_id;
	__u64 leader; /* the group leader's task pointer: guards against pid reuse */
};

/*
 * Key of `protected`: bpfboxd's places, which no confined task may change
 * whatever its profile says. scope is INODE or SUBTREE. The value (__u32)
 * is the set of BPFBOX_FS_* accesses denied: BPFBOX_PROTECT_ALL for the
 * policy and packaged directories, the configuration, the daemon's binary
 * and its pins in bpffs; BPFBOX_PROTECT_PLACE for every directory above
 * them, which may not be removed, renamed, replaced or changed in owner or
 * mode (so no one can move a place away and put another at its path), but
 * may still get new entries.
 */
#define BPFBOX_PROTECT_ALL                                                                        \
	(BPFBOX_FS_WRITE | BPFBOX_FS_APPEND | BPFBOX_FS_SETATTR | BPFBOX_FS_RM | BPFBOX_FS_LINK)
#define BPFBOX_PROTECT_PLACE (BPFBOX_FS_SETATTR | BPFBOX_FS_RM)

struct bpfbox_protected_key {
	__u64 ino;
	__u32 dev;
	__u32 scope;
};

/* Ring-buffer record: one per deny, complain, audit or taint. */
struct bpfbox_event {
	__u64 ts_ns; /* bpf_ktime_get_boot_ns() */
	__u64 profile_id;
	__u64 target_profile; /* IPC / proc: the target's profile id */
	__u64 ino;
	__u32 dev;
	__u32 pid; /* thread id */
	__u32 tgid;
	__u32 uid;
	__u32 kind; /* BPFBOX_EVENT_* */
	__u32 hook; /* BPFBOX_HOOK_* */
	__u32 access; /* requested access bits */
	__u32 decision; /* BPFBOX_DECISION_* bits */
	__u32 detail; /* net: family; ipc: signal number; cap: capability */
	__u32 target_pid;
	__u32 path_len; /* bytes of path used, 0 = no path */
	__u32 flags; /* BPFBOX_EVENT_F_* */
	/*
	 * How many accesses this event stands for, ≥ 1. The kernel folds a
	 * task's repeats of one file access within BPFBOX_REPORT_WINDOW_NS
	 * into one later event (sent when the access recurs after the window,
	 * when its slot is needed for another, or when the thread exits), so
	 * summing `count` over events, plus STAT_LOST, gives every report.
	 */
	__u32 count;
	__u32 _pad;
	char comm[BPFBOX_COMM_LEN];
	char path[BPFBOX_PATH_LEN];
};

#endif /* __BPFBOX_ABI_H */
