//! Compile-time proof that every mirror has the C layout.
//!
//! For each struct: its size, its number of fields and each field's offset
//! must equal what the C compiler computed from `bpfbox_abi.h` (see build.rs).

use core::mem::{offset_of, size_of};

use crate::consts as c;

macro_rules! same_layout {
    ($rust:ty, $size:expr, $count:expr, [$($field:ident => $offset:expr),+ $(,)?]) => {
        const _: () = {
            assert!(size_of::<$rust>() == $size, concat!("size of ", stringify!($rust), " differs from C"));
            assert!([$(stringify!($field)),+].len() == $count, concat!("field count of ", stringify!($rust), " differs from C"));
            $(assert!(offset_of!($rust, $field) == $offset, concat!("offset of ", stringify!($rust), ".", stringify!($field), " differs from C"));)+
        };
    };
}

same_layout!(crate::InodeKey, c::SIZEOF_BPFBOX_INODE_KEY, c::FIELDS_BPFBOX_INODE_KEY, [
    ino => c::OFFSETOF_BPFBOX_INODE_KEY_INO,
    dev => c::OFFSETOF_BPFBOX_INODE_KEY_DEV,
    _pad => c::OFFSETOF_BPFBOX_INODE_KEY__PAD,
]);

same_layout!(crate::UidKey, c::SIZEOF_BPFBOX_UID_KEY, c::FIELDS_BPFBOX_UID_KEY, [
    profile_id => c::OFFSETOF_BPFBOX_UID_KEY_PROFILE_ID,
    uid => c::OFFSETOF_BPFBOX_UID_KEY_UID,
    _pad => c::OFFSETOF_BPFBOX_UID_KEY__PAD,
]);

same_layout!(crate::Profile, c::SIZEOF_BPFBOX_PROFILE, c::FIELDS_BPFBOX_PROFILE, [
    mode => c::OFFSETOF_BPFBOX_PROFILE_MODE,
    flags => c::OFFSETOF_BPFBOX_PROFILE_FLAGS,
    rules_id => c::OFFSETOF_BPFBOX_PROFILE_RULES_ID,
]);

same_layout!(crate::Task, c::SIZEOF_BPFBOX_TASK, c::FIELDS_BPFBOX_TASK, [
    profile_id => c::OFFSETOF_BPFBOX_TASK_PROFILE_ID,
    state => c::OFFSETOF_BPFBOX_TASK_STATE,
    flags => c::OFFSETOF_BPFBOX_TASK_FLAGS,
    _pad => c::OFFSETOF_BPFBOX_TASK__PAD,
    depth => c::OFFSETOF_BPFBOX_TASK_DEPTH,
    profile_gen => c::OFFSETOF_BPFBOX_TASK_PROFILE_GEN,
    profile => c::OFFSETOF_BPFBOX_TASK_PROFILE,
    exe_ino => c::OFFSETOF_BPFBOX_TASK_EXE_INO,
    exe_dev => c::OFFSETOF_BPFBOX_TASK_EXE_DEV,
    profile_uid => c::OFFSETOF_BPFBOX_TASK_PROFILE_UID,
]);

same_layout!(crate::Access, c::SIZEOF_BPFBOX_ACCESS, c::FIELDS_BPFBOX_ACCESS, [
    access => c::OFFSETOF_BPFBOX_ACCESS_ACCESS,
    ctx_access => c::OFFSETOF_BPFBOX_ACCESS_CTX_ACCESS,
    state => c::OFFSETOF_BPFBOX_ACCESS_STATE,
]);

same_layout!(crate::Rule, c::SIZEOF_BPFBOX_RULE, c::FIELDS_BPFBOX_RULE, [
    allow => c::OFFSETOF_BPFBOX_RULE_ALLOW,
    taint => c::OFFSETOF_BPFBOX_RULE_TAINT,
    audit => c::OFFSETOF_BPFBOX_RULE_AUDIT,
]);

same_layout!(crate::FsKey, c::SIZEOF_BPFBOX_FS_KEY, c::FIELDS_BPFBOX_FS_KEY, [
    rules_id => c::OFFSETOF_BPFBOX_FS_KEY_RULES_ID,
    ino => c::OFFSETOF_BPFBOX_FS_KEY_INO,
    name_hash => c::OFFSETOF_BPFBOX_FS_KEY_NAME_HASH,
    dev => c::OFFSETOF_BPFBOX_FS_KEY_DEV,
    scope => c::OFFSETOF_BPFBOX_FS_KEY_SCOPE,
]);

same_layout!(crate::NetKey, c::SIZEOF_BPFBOX_NET_KEY, c::FIELDS_BPFBOX_NET_KEY, [
    rules_id => c::OFFSETOF_BPFBOX_NET_KEY_RULES_ID,
    family => c::OFFSETOF_BPFBOX_NET_KEY_FAMILY,
    _pad => c::OFFSETOF_BPFBOX_NET_KEY__PAD,
]);

same_layout!(crate::PairKey, c::SIZEOF_BPFBOX_PAIR_KEY, c::FIELDS_BPFBOX_PAIR_KEY, [
    subject => c::OFFSETOF_BPFBOX_PAIR_KEY_SUBJECT,
    object => c::OFFSETOF_BPFBOX_PAIR_KEY_OBJECT,
]);

same_layout!(crate::CapKey, c::SIZEOF_BPFBOX_CAP_KEY, c::FIELDS_BPFBOX_CAP_KEY, [
    rules_id => c::OFFSETOF_BPFBOX_CAP_KEY_RULES_ID,
    cap => c::OFFSETOF_BPFBOX_CAP_KEY_CAP,
    _pad => c::OFFSETOF_BPFBOX_CAP_KEY__PAD,
]);

same_layout!(crate::Event, c::SIZEOF_BPFBOX_EVENT, c::FIELDS_BPFBOX_EVENT, [
    ts_ns => c::OFFSETOF_BPFBOX_EVENT_TS_NS,
    profile_id => c::OFFSETOF_BPFBOX_EVENT_PROFILE_ID,
    target_profile => c::OFFSETOF_BPFBOX_EVENT_TARGET_PROFILE,
    ino => c::OFFSETOF_BPFBOX_EVENT_INO,
    dev => c::OFFSETOF_BPFBOX_EVENT_DEV,
    pid => c::OFFSETOF_BPFBOX_EVENT_PID,
    tgid => c::OFFSETOF_BPFBOX_EVENT_TGID,
    uid => c::OFFSETOF_BPFBOX_EVENT_UID,
    kind => c::OFFSETOF_BPFBOX_EVENT_KIND,
    hook => c::OFFSETOF_BPFBOX_EVENT_HOOK,
    access => c::OFFSETOF_BPFBOX_EVENT_ACCESS,
    decision => c::OFFSETOF_BPFBOX_EVENT_DECISION,
    detail => c::OFFSETOF_BPFBOX_EVENT_DETAIL,
    target_pid => c::OFFSETOF_BPFBOX_EVENT_TARGET_PID,
    path_len => c::OFFSETOF_BPFBOX_EVENT_PATH_LEN,
    flags => c::OFFSETOF_BPFBOX_EVENT_FLAGS,
    count => c::OFFSETOF_BPFBOX_EVENT_COUNT,
    _pad => c::OFFSETOF_BPFBOX_EVENT__PAD,
    comm => c::OFFSETOF_BPFBOX_EVENT_COMM,
    path => c::OFFSETOF_BPFBOX_EVENT_PATH,
]);

same_layout!(crate::Config, c::SIZEOF_BPFBOX_CONFIG, c::FIELDS_BPFBOX_CONFIG, [
    daemon_tgid => c::OFFSETOF_BPFBOX_CONFIG_DAEMON_TGID,
    _pad => c::OFFSETOF_BPFBOX_CONFIG__PAD,
    rename_seq => c::OFFSETOF_BPFBOX_CONFIG_RENAME_SEQ,
    mount_seq => c::OFFSETOF_BPFBOX_CONFIG_MOUNT_SEQ,
]);

same_layout!(crate::ProtectedKey, c::SIZEOF_BPFBOX_PROTECTED_KEY, c::FIELDS_BPFBOX_PROTECTED_KEY, [
    ino => c::OFFSETOF_BPFBOX_PROTECTED_KEY_INO,
    dev => c::OFFSETOF_BPFBOX_PROTECTED_KEY_DEV,
    scope => c::OFFSETOF_BPFBOX_PROTECTED_KEY_SCOPE,
]);

same_layout!(crate::ConfinedPid, c::SIZEOF_BPFBOX_CONFINED_PID, c::FIELDS_BPFBOX_CONFINED_PID, [
    profile_id => c::OFFSETOF_BPFBOX_CONFINED_PID_PROFILE_ID,
    leader => c::OFFSETOF_BPFBOX_CONFINED_PID_LEADER,
]);
