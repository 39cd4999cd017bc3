//! The words of bpfbox_abi.h's events: decisions, accesses, hooks and
//! devices as people read them in the log, the history and the D-Bus API.

use bpfbox_abi as abi;
use bpfbox_policy::{self as policy, RuleKind};

/// The decision bits in bpfbox's audit words: the D-Bus action words (and
/// the policy's `allow`) in capitals.
const DECISIONS: &[(&str, u32)] = &[
    ("ALLOW", abi::DECISION_ALLOW),
    ("AUDIT", abi::DECISION_AUDIT),
    ("TAINT", abi::DECISION_TAINT),
    ("DENY", abi::DECISION_DENY),
    ("COMPLAIN", abi::DECISION_COMPLAIN),
];

/// The access words are the policy's: an event names what was asked for
/// as a profile writes it.
const FS_ACCESS: &[(&str, u32)] = policy::FS_ACCESS.canonical();
const NET_ACCESS: &[(&str, u32)] = policy::NET_OPERATIONS.canonical();

/// Signal classes, and ptrace, which shares their bit space and is named
/// by its rule kind.
const IPC_ACCESS: &[(&str, u32)] = &{
    const SIGNALS: &[(&str, u32)] = policy::SIGNALS.canonical();
    let mut all = [(RuleKind::Ptrace.word(), abi::IPC_PTRACE); SIGNALS.len() + 1];
    let mut i = 0;
    while i < SIGNALS.len() {
        all[i] = SIGNALS[i];
        i += 1;
    }
    all
};

/// `a|b|c` of the names whose bits are set, or `none`. A name for several
/// bits (`fatal`) names none of them.
#[must_use]
pub fn flag_names(bits: u32, names: &[(&str, u32)]) -> String {
    let set: Vec<&str> = names
        .iter()
        .filter(|(_, bit)| bit.count_ones() == 1 && bits & bit != 0)
        .map(|(name, _)| *name)
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

/// What a mount event was: the hook that refused it.
fn mount_words(hook: u32) -> &'static str {
    match hook {
        abi::HOOK_MOVE_MOUNT => "move",
        abi::HOOK_SB_UMOUNT => "umount",
        abi::HOOK_SB_PIVOTROOT => "pivot_root",
        abi::HOOK_SB_REMOUNT => "remount",
        _ => "mount",
    }
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
        abi::EVENT_MOUNT => ("mount", mount_words(event.hook).into()),
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

    #[test]
    fn access_bits_have_the_words_profiles_use() {
        assert_eq!(flag_names(abi::NET_RECV, NET_ACCESS), "receive");
        assert_eq!(
            flag_names(abi::FS_READ | abi::FS_LINK, FS_ACCESS),
            "read|link"
        );
        assert_eq!(flag_names(abi::FS_ANY, FS_ACCESS).split('|').count(), 9);
        assert_eq!(
            flag_names(abi::IPC_SIGKILL | abi::IPC_PTRACE, IPC_ACCESS),
            "sigkill|ptrace",
            "no `fatal`, which is two bits"
        );
    }

    #[test]
    fn decision_words_are_the_wire_action_words_in_capitals() {
        for &(word, bit) in DECISIONS {
            let lower = word.to_lowercase();
            let policy_action = policy::Actions(bit).words() == [lower.as_str()];
            assert!(
                policy_action || lower.parse::<bpfbox_dbus::EventAction>().is_ok(),
                "{word}"
            );
        }
    }
}
