//! The words of bpfbox_abi.h's events: decisions, accesses, hooks and
//! devices as people read them in the log, the history and the D-Bus API.

use bpfbox_abi as abi;

const DECISIONS: &[(u32, &str)] = &[
    (abi::DECISION_ALLOW, "ALLOW"),
    (abi::DECISION_AUDIT, "AUDIT"),
    (abi::DECISION_TAINT, "TAINT"),
    (abi::DECISION_DENY, "DENY"),
    (abi::DECISION_COMPLAIN, "COMPLAIN"),
];

const FS_ACCESS: &[(u32, &str)] = &[
    (abi::FS_READ, "read"),
    (abi::FS_WRITE, "write"),
    (abi::FS_APPEND, "append"),
    (abi::FS_EXEC, "exec"),
    (abi::FS_GETATTR, "getattr"),
    (abi::FS_SETATTR, "setattr"),
    (abi::FS_IOCTL, "ioctl"),
    (abi::FS_RM, "rm"),
    (abi::FS_LINK, "link"),
];

const NET_ACCESS: &[(u32, &str)] = &[
    (abi::NET_CONNECT, "connect"),
    (abi::NET_BIND, "bind"),
    (abi::NET_ACCEPT, "accept"),
    (abi::NET_LISTEN, "listen"),
    (abi::NET_SEND, "send"),
    (abi::NET_RECV, "recv"),
    (abi::NET_CREATE, "create"),
    (abi::NET_SHUTDOWN, "shutdown"),
];

const IPC_ACCESS: &[(u32, &str)] = &[
    (abi::IPC_SIGCHLD, "sigchld"),
    (abi::IPC_SIGKILL, "sigkill"),
    (abi::IPC_SIGSTOP, "sigstop"),
    (abi::IPC_SIGMISC, "misc"),
    (abi::IPC_SIGCHECK, "check"),
    (abi::IPC_PTRACE, "ptrace"),
];

/// `a|b|c` of the names whose bits are set, or `none`.
#[must_use]
pub fn flag_names(bits: u32, names: &[(u32, &str)]) -> String {
    let set: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    if set.is_empty() {
        "none".into()
    } else {
        set.join("|")
    }
}

/// The hooks that guard bpfboxd's process against other ways of acting on
/// it than signals and ptrace (ebpf/src/self.h): what the event says was
/// attempted.
const TASK_GUARDS: &[(u32, &str)] = &[
    (abi::HOOK_TASK_SETRLIMIT, "setrlimit"),
    (abi::HOOK_TASK_SETNICE, "setnice"),
    (abi::HOOK_TASK_SETIOPRIO, "setioprio"),
    (abi::HOOK_TASK_SETSCHEDULER, "setscheduler"),
    (abi::HOOK_TASK_MOVEMEMORY, "movememory"),
    (abi::HOOK_TASK_SETPGID, "setpgid"),
    (abi::HOOK_FILE_SEND_SIGIOTASK, "sigio"),
];

/// Whether an event came from a hook that acts on a process (a signal,
/// ptrace, or one of the other ways guarded for bpfboxd): its object is a
/// process, and its access bits, if any, are IPC words, whatever the
/// event's kind (self-protection shares hooks).
#[must_use]
pub fn is_task_hook(hook: u32) -> bool {
    matches!(
        hook,
        abi::HOOK_TASK_KILL | abi::HOOK_PTRACE | abi::HOOK_PTRACE_TRACEME
    ) || TASK_GUARDS.iter().any(|(h, _)| *h == hook)
}

/// The event's kind as a word and the names of its access bits.
#[must_use]
pub fn kind_and_access(event: &abi::Event) -> (&'static str, String) {
    match event.kind {
        abi::EVENT_FS => ("fs", flag_names(event.access, FS_ACCESS)),
        abi::EVENT_PROC => ("proc", flag_names(event.access, FS_ACCESS)),
        abi::EVENT_NET => ("net", flag_names(event.access, NET_ACCESS)),
        abi::EVENT_IPC => ("ipc", flag_names(event.access, IPC_ACCESS)),
        abi::EVENT_CAP => ("capability", event.detail.to_string()),
        abi::EVENT_BPF => ("bpf", "bpf".into()),
        abi::EVENT_SELF_PROTECT if is_task_hook(event.hook) => {
            let guarded = TASK_GUARDS.iter().find(|(h, _)| *h == event.hook);
            let access = guarded.map_or_else(
                || flag_names(event.access, IPC_ACCESS),
                |(_, word)| (*word).to_owned(),
            );
            ("self-protect", access)
        }
        abi::EVENT_SELF_PROTECT => ("self-protect", flag_names(event.access, FS_ACCESS)),
        abi::EVENT_IO_URING if event.hook == abi::HOOK_URING_OVERRIDE_CREDS => {
            ("io_uring", "personality".into())
        }
        abi::EVENT_IO_URING => ("io_uring", "setup".into()),
        _ => ("unknown", format!("{:#x}", event.access)),
    }
}

/// The decision bits as bpfbox's action words (`DENY`, `ALLOW|AUDIT`).
#[must_use]
pub fn action_words(decision: u32) -> String {
    flag_names(decision, DECISIONS)
}

/// A kernel device number (`s_dev`) as `major:minor`.
#[must_use]
pub fn dev_words(dev: u32) -> String {
    format!("{}:{}", dev >> 20, dev & 0xf_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_decisions_are_joined_like_bpfbox() {
        assert_eq!(
            flag_names(abi::DECISION_ALLOW | abi::DECISION_AUDIT, DECISIONS),
            "ALLOW|AUDIT"
        );
        assert_eq!(flag_names(0, DECISIONS), "none");
    }
}
