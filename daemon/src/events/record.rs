//! Kernel events as the daemon keeps them: owned, decoded and numbered.
//!
//! A ring-buffer [`abi::Event`] is plain bytes tied to the kernel's ABI; the
//! audit log, the in-memory history and the D-Bus API all want the same
//! decoded form, with the profile's names resolved while they are known (a
//! reload may forget a profile that an old event still refers to).

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use bpfbox_abi as abi;
use bpfbox_policy::{Capability, Family};

use crate::events::words;

/// What kind of operation an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Files and directories.
    Fs,
    /// `/proc/<pid>` of another task.
    Proc,
    /// Sockets.
    Net,
    /// A signal to another task.
    Signal,
    /// ptrace of (or by) another task.
    Ptrace,
    /// A capability check.
    Capability,
    /// The `bpf(2)` system call.
    Bpf,
    /// A confined task went for bpfboxd, its binary or its policy.
    SelfProtect,
    /// io_uring: a ring the profile does not allow, or a personality.
    IoUring,
    /// A mount, unmount, mount move or pivot_root the profile does not allow.
    Mount,
    /// A kind this daemon does not know (a newer kernel side).
    Unknown(u32),
}

impl Kind {
    /// The word the audit log uses.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fs => "fs",
            Self::Proc => "proc",
            Self::Net => "net",
            Self::Signal => "signal",
            Self::Ptrace => "ptrace",
            Self::Capability => "capability",
            Self::Bpf => "bpf",
            Self::SelfProtect => "self-protect",
            Self::IoUring => "io_uring",
            Self::Mount => "mount",
            Self::Unknown(_) => "unknown",
        }
    }

    fn of(event: &abi::Event) -> Self {
        match event.kind {
            abi::EVENT_FS => Self::Fs,
            abi::EVENT_PROC => Self::Proc,
            abi::EVENT_NET => Self::Net,
            // one kernel kind for both: the hook or the access bit tells them apart
            abi::EVENT_IPC
                if matches!(event.hook, abi::HOOK_PTRACE | abi::HOOK_PTRACE_TRACEME)
                    || event.access & abi::IPC_PTRACE != 0 =>
            {
                Self::Ptrace
            }
            abi::EVENT_IPC => Self::Signal,
            abi::EVENT_CAP => Self::Capability,
            abi::EVENT_BPF => Self::Bpf,
            abi::EVENT_SELF_PROTECT => Self::SelfProtect,
            abi::EVENT_IO_URING => Self::IoUring,
            abi::EVENT_MOUNT => Self::Mount,
            other => Self::Unknown(other),
        }
    }
}

/// How much of a file's path the kernel could give.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FilePath {
    /// The full path (`bpf_d_path`, allowed only in a few hooks).
    Full(String),
    /// Only the directory entry's name: the hook could not resolve more.
    NameOnly(String),
    /// Nothing but the inode.
    None,
}

/// What an event was about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Object {
    /// A file, directory or `/proc` entry.
    File {
        path: FilePath,
        /// Kernel encoding, see [`abi::kernel_dev`].
        dev: u32,
        ino: u64,
        /// For `/proc/<pid>` entries: whose they are.
        owner_tgid: Option<u32>,
    },
    /// A socket of this address family.
    Family(u32),
    /// Another task: the target of a signal or of ptrace.
    Task {
        tgid: u32,
        /// The target's profile id; `None` when it is unconfined.
        profile: Option<u64>,
        /// The signal number, for signals.
        signal: Option<u32>,
    },
    /// A capability by number.
    Capability(u32),
    /// Nothing beyond the operation itself (`bpf(2)`).
    None,
}

/// One kernel event, or several identical ones coalesced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// Assigned by the daemon, increasing; the first event's id when coalesced.
    pub id: u64,
    /// Wall-clock time of the (first) event, unix microseconds.
    pub time_us: u64,
    /// Wall-clock time of the last coalesced repeat; `time_us` when alone.
    pub last_time_us: u64,
    pub profile_id: u64,
    /// The profile's executable, when the policy still knew the id.
    pub profile_exe: Option<PathBuf>,
    /// The profile's display name (`name` in the profile), if it has one.
    pub profile_name: Option<String>,
    /// The thread.
    pub pid: u32,
    /// The process.
    pub tgid: u32,
    pub uid: u32,
    pub comm: String,
    pub kind: Kind,
    pub object: Object,
    /// The requested access bits, in the vocabulary of the kind.
    pub access_bits: u32,
    /// The same as words (`read|write`).
    pub access: String,
    /// `DECISION_*` bits.
    pub decision: u32,
    /// How many identical events this record stands for (at least 1).
    pub count: u32,
}

impl EventRecord {
    /// Decodes `event`, numbered `id`, that happened at `time_us` (see
    /// [`unix_us_from_boot_ns`]), of the profile with this executable and
    /// display name.
    #[must_use]
    pub fn new(
        id: u64,
        time_us: u64,
        event: &abi::Event,
        profile_exe: Option<&Path>,
        profile_name: Option<&str>,
    ) -> Self {
        let kind = Kind::of(event);
        let (_, access) = words::kind_and_access(event);
        Self {
            id,
            time_us,
            last_time_us: time_us,
            profile_id: event.profile_id,
            profile_exe: profile_exe.map(Path::to_path_buf),
            profile_name: profile_name.map(str::to_owned),
            pid: event.pid,
            tgid: event.tgid,
            uid: event.uid,
            comm: String::from_utf8_lossy(event.comm()).into_owned(),
            kind,
            object: object_of(kind, event),
            access_bits: event.access,
            access,
            decision: event.decision,
            // the kernel folds a thread's repeats of one access (see the ABI)
            count: event.count.max(1),
        }
    }

    /// The decision as bpfbox's action words (`DENY`, `ALLOW|AUDIT`).
    #[must_use]
    pub fn action(&self) -> String {
        words::action_words(self.decision)
    }

    /// Whether the operation was refused (complain mode only reports).
    #[must_use]
    pub fn is_denial(&self) -> bool {
        self.decision & abi::DECISION_DENY != 0
    }

    /// Whether the operation would have been refused in enforce mode.
    #[must_use]
    pub fn is_complaint(&self) -> bool {
        self.decision & abi::DECISION_COMPLAIN != 0
    }

    /// The profile as the log names it: its executable, else its id.
    #[must_use]
    pub fn profile_label(&self) -> String {
        self.profile_exe.as_ref().map_or_else(
            || format!("#{:016x}", self.profile_id),
            |exe| exe.display().to_string(),
        )
    }

    /// One `key=value` line, in the family of bpfbox's audit lines. Values
    /// that could break the line apart (spaces, quotes, control characters:
    /// a confined app chooses its file names) are quoted and escaped.
    #[must_use]
    pub fn audit_line(&self) -> String {
        let mut line = format!(
            "action={} kind={} access={} profile={}",
            self.action(),
            self.kind.as_str(),
            self.access,
            value(&self.profile_label()),
        );
        if let Some(name) = &self.profile_name {
            let _ = write!(line, " app={}", value(name));
        }
        let _ = write!(
            line,
            " pid={} tgid={} uid={} comm={}",
            self.pid,
            self.tgid,
            self.uid,
            value(&self.comm)
        );
        match &self.object {
            Object::File {
                path,
                dev,
                ino,
                owner_tgid,
            } => {
                match path {
                    FilePath::Full(path) => {
                        let _ = write!(line, " path={}", value(path));
                    }
                    // never passed off as a path: the directory is unknown
                    FilePath::NameOnly(name) => {
                        let _ = write!(line, " name={}", value(name));
                    }
                    FilePath::None => {}
                }
                let _ = write!(line, " dev={} ino={ino}", words::dev_words(*dev));
                if let Some(tgid) = owner_tgid {
                    let _ = write!(line, " target_tgid={tgid}");
                }
            }
            Object::Family(family) => {
                let _ = write!(line, " family={}", family_name(*family));
            }
            Object::Task {
                tgid,
                profile,
                signal,
            } => {
                let _ = write!(line, " target_tgid={tgid}");
                match profile {
                    Some(id) => {
                        let _ = write!(line, " target_profile=#{id:016x}");
                    }
                    None => line.push_str(" target_profile=unconfined"),
                }
                if let Some(signal) = signal {
                    let _ = write!(line, " signal={signal}");
                }
            }
            Object::Capability(cap) => {
                let _ = write!(line, " capability={}", capability_name(*cap));
            }
            Object::None => {}
        }
        if self.count > 1 {
            let _ = write!(line, " count={}", self.count);
        }
        let _ = write!(line, " id={}", self.id);
        line
    }
}

fn object_of(kind: Kind, event: &abi::Event) -> Object {
    match kind {
        Kind::Net => Object::Family(event.detail),
        Kind::Capability => Object::Capability(event.detail),
        Kind::Signal | Kind::Ptrace => task_object(event),
        Kind::SelfProtect if words::is_task_hook(event.hook) => task_object(event),
        Kind::Bpf | Kind::IoUring | Kind::Mount => Object::None,
        Kind::Fs | Kind::Proc | Kind::SelfProtect | Kind::Unknown(_) => {
            let text = event
                .path()
                .map(|bytes| String::from_utf8_lossy(bytes).into_owned());
            let path = match text {
                Some(text) if event.flags & abi::EVENT_F_FULL_PATH != 0 => FilePath::Full(text),
                // a path without a flag saying it is whole is taken as partial
                Some(text) => FilePath::NameOnly(text),
                None => FilePath::None,
            };
            Object::File {
                path,
                dev: event.dev,
                ino: event.ino,
                owner_tgid: (event.target_pid != 0).then_some(event.target_pid),
            }
        }
    }
}

fn task_object(event: &abi::Event) -> Object {
    Object::Task {
        tgid: event.target_pid,
        profile: (event.target_profile != 0).then_some(event.target_profile),
        signal: (event.hook == abi::HOOK_TASK_KILL).then_some(event.detail),
    }
}

pub fn family_name(family: u32) -> String {
    Family(family)
        .name()
        .map_or_else(|| family.to_string(), str::to_owned)
}

pub fn capability_name(cap: u32) -> String {
    Capability(cap)
        .name()
        .map_or_else(|| cap.to_string(), str::to_owned)
}

/// `text` as a log value: bare when that is unambiguous, else in double
/// quotes with `"`, `\` and control characters escaped.
fn value(text: &str) -> String {
    let plain = !text.is_empty()
        && !text
            .chars()
            .any(|c| c == ' ' || c == '"' || c == '\\' || c == '=' || c.is_control());
    if plain {
        return text.to_owned();
    }
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(quoted, "\\u{{{:x}}}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The wall-clock time (unix µs) of a kernel timestamp taken with
/// `bpf_ktime_get_boot_ns`. Events wait in the ring buffer, so the time
/// they are read is not the time they happened; boot time also counts
/// suspend, as the wall clock does.
#[must_use]
pub fn unix_us_from_boot_ns(ts_ns: u64) -> u64 {
    let now_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    let mut boot = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `boot` is a valid timespec for the call to fill in.
    if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut boot) } != 0 {
        return now_us;
    }
    let boot_now_ns = u64::try_from(boot.tv_sec).unwrap_or(0) * 1_000_000_000
        + u64::try_from(boot.tv_nsec).unwrap_or(0);
    now_us.saturating_sub(boot_now_ns.saturating_sub(ts_ns) / 1000)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A denied read of a file by `cat` (pid 41, tgid 40, uid 1000).
    pub(crate) fn event() -> abi::Event {
        let mut e = abi::Event {
            ts_ns: 1,
            profile_id: 7,
            target_profile: 0,
            ino: 1234,
            dev: abi::kernel_dev(8, 1),
            pid: 41,
            tgid: 40,
            uid: 1000,
            kind: abi::EVENT_FS,
            hook: abi::HOOK_FILE_OPEN,
            access: abi::FS_READ,
            decision: abi::DECISION_DENY,
            detail: 0,
            target_pid: 0,
            path_len: 0,
            flags: 0,
            count: 1,
            _pad: 0,
            comm: [0; 16],
            path: [0; 256],
        };
        e.comm[..3].copy_from_slice(b"cat");
        e
    }

    pub(crate) fn with_path(mut e: abi::Event, path: &[u8], flags: u32) -> abi::Event {
        e.path = [0; 256];
        e.path[..path.len()].copy_from_slice(path);
        // the kernel counts the NUL
        e.path_len = u32::try_from(path.len() + 1).unwrap();
        e.flags = flags;
        e
    }

    /// A record of `event()` for `/usr/bin/cat`, numbered `id`.
    pub(crate) fn record(id: u64) -> EventRecord {
        EventRecord::new(id, 1_000, &event(), Some(Path::new("/usr/bin/cat")), None)
    }

    #[test]
    fn full_path_event_reads_as_a_path_with_its_inode_and_id() {
        let e = with_path(
            event(),
            b"/home/alice/.ssh/id_ed25519",
            abi::EVENT_F_FULL_PATH,
        );
        let r = EventRecord::new(5, 0, &e, Some(Path::new("/usr/bin/cat")), Some("Cat"));
        assert_eq!(
            r.audit_line(),
            "action=DENY kind=fs access=read profile=/usr/bin/cat app=Cat pid=41 tgid=40 \
             uid=1000 comm=cat path=/home/alice/.ssh/id_ed25519 dev=8:1 ino=1234 id=5"
        );
        assert!(r.is_denial());
        assert_eq!(r.count, 1);
    }

    #[test]
    fn name_only_event_is_never_shown_as_a_path() {
        let e = with_path(event(), b"id_ed25519", abi::EVENT_F_NAME_ONLY);
        let r = EventRecord::new(1, 0, &e, None, None);
        assert_eq!(
            r.object,
            Object::File {
                path: FilePath::NameOnly("id_ed25519".into()),
                dev: abi::kernel_dev(8, 1),
                ino: 1234,
                owner_tgid: None,
            }
        );
        let line = r.audit_line();
        assert!(line.contains(" name=id_ed25519 dev=8:1"), "{line}");
        assert!(!line.contains("path="), "{line}");
        assert!(line.contains("profile=#0000000000000007"), "{line}");
    }

    #[test]
    fn an_event_standing_for_repeats_the_kernel_folded_keeps_their_count() {
        let mut e = event();
        e.count = 250;
        assert_eq!(EventRecord::new(1, 0, &e, None, None).count, 250);
        // an event from a kernel side that never sets it still counts once
        e.count = 0;
        assert_eq!(EventRecord::new(1, 0, &e, None, None).count, 1);
    }

    #[test]
    fn repeated_events_show_their_count() {
        let mut r = record(9);
        r.count = 3;
        assert!(
            r.audit_line().ends_with(" count=3 id=9"),
            "{}",
            r.audit_line()
        );
    }

    #[test]
    fn file_names_cannot_forge_extra_fields_or_lines() {
        let e = with_path(
            event(),
            b"/tmp/x\naction=ALLOW kind=fs",
            abi::EVENT_F_FULL_PATH,
        );
        let line = EventRecord::new(1, 0, &e, None, None).audit_line();
        assert!(!line.contains('\n'));
        assert!(
            line.contains(r#" path="/tmp/x\naction=ALLOW kind=fs" "#),
            "{line}"
        );
    }

    #[test]
    fn socket_event_names_its_family() {
        let mut e = event();
        e.kind = abi::EVENT_NET;
        e.hook = abi::HOOK_SOCKET_CONNECT;
        e.access = abi::NET_CONNECT;
        e.detail = 10;
        let r = EventRecord::new(1, 0, &e, None, None);
        assert_eq!(r.object, Object::Family(10));
        assert!(r.audit_line().contains("kind=net access=connect "));
        assert!(r.audit_line().contains(" family=inet6 "));
    }

    #[test]
    fn ipc_events_split_into_signal_and_ptrace() {
        let mut e = event();
        e.kind = abi::EVENT_IPC;
        e.hook = abi::HOOK_TASK_KILL;
        e.access = abi::IPC_SIGKILL;
        e.detail = 9;
        e.target_pid = 77;
        let signal = EventRecord::new(1, 0, &e, None, None);
        assert_eq!(signal.kind, Kind::Signal);
        assert!(signal
            .audit_line()
            .contains("target_tgid=77 target_profile=unconfined signal=9"));

        e.hook = abi::HOOK_PTRACE;
        e.access = abi::IPC_PTRACE;
        e.target_profile = 3;
        let ptrace = EventRecord::new(1, 0, &e, None, None);
        assert_eq!(ptrace.kind, Kind::Ptrace);
        assert_eq!(
            ptrace.object,
            Object::Task {
                tgid: 77,
                profile: Some(3),
                signal: None
            }
        );
    }

    #[test]
    fn capability_event_names_the_capability() {
        let mut e = event();
        e.kind = abi::EVENT_CAP;
        e.hook = abi::HOOK_CAPABLE;
        e.access = 1;
        e.detail = 21;
        let line = EventRecord::new(1, 0, &e, None, None).audit_line();
        assert!(line.contains("kind=capability "), "{line}");
        assert!(line.contains(" capability=sys_admin "), "{line}");
    }

    #[test]
    fn complain_is_not_a_denial() {
        let mut e = event();
        e.decision = abi::DECISION_COMPLAIN;
        let r = EventRecord::new(1, 0, &e, None, None);
        assert!(!r.is_denial());
        assert!(r.is_complaint());
        assert_eq!(r.action(), "COMPLAIN");
    }

    #[test]
    fn boot_timestamps_map_to_the_recent_past() {
        let now_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros() as u64;
        let mut boot = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid timespec to fill in.
        assert_eq!(
            unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut boot) },
            0
        );
        let boot_ns = boot.tv_sec as u64 * 1_000_000_000 + boot.tv_nsec as u64;
        // an event one second before now
        let t = unix_us_from_boot_ns(boot_ns - 1_000_000_000);
        let ago = now_us.abs_diff(t);
        assert!((900_000..1_500_000).contains(&ago), "{ago} µs");
    }
}
