//! The access vocabulary of profiles: the words a profile may use and the
//! kernel bits they stand for.
//!
//! Every word is bpfbox's (fs accesses, socket operations, signal classes,
//! actions); families and capabilities use the kernel's own names. Parsing
//! turns words into bits with the tables here, printing turns bits back into
//! words with the same tables, so the two can never disagree.

use std::fmt;

use bpfbox_abi as abi;

/// A word of a vocabulary and the bits it stands for.
type Word = (&'static str, u32);

/// One closed vocabulary: its canonical words (in printing order), the
/// accepted aliases, and the mask that `any` stands for.
#[derive(Debug)]
pub struct Vocabulary {
    /// What a word of this vocabulary names, for error messages ("access").
    pub what: &'static str,
    words: &'static [Word],
    aliases: &'static [Word],
    any: u32,
}

impl Vocabulary {
    /// The bits of `word`, which must be written exactly (lowercase).
    #[must_use]
    pub fn bits(&self, word: &str) -> Option<u32> {
        if word == "any" {
            return Some(self.any);
        }
        self.words
            .iter()
            .chain(self.aliases)
            .find(|(w, _)| *w == word)
            .map(|&(_, bits)| bits)
    }

    /// The canonical words, `any` last: what an error lists as valid.
    #[must_use]
    pub fn valid_words(&self) -> Vec<&'static str> {
        self.words
            .iter()
            .map(|&(w, _)| w)
            .chain(std::iter::once("any"))
            .collect()
    }

    /// The words for `mask`: `["any"]` for the full set, otherwise one word
    /// per single bit, in table order.
    #[must_use]
    pub fn words(&self, mask: u32) -> Vec<&'static str> {
        if mask == self.any {
            return vec!["any"];
        }
        self.words
            .iter()
            .filter(|&&(_, bits)| bits.count_ones() == 1 && mask & bits != 0)
            .map(|&(w, _)| w)
            .collect()
    }

    /// The canonical words with their bits, in table order: no aliases and
    /// no `any`. bpfboxd names the bits of its events with them.
    #[must_use]
    pub const fn canonical(&self) -> &'static [(&'static str, u32)] {
        self.words
    }

    /// Every bit a word of this vocabulary can set.
    #[must_use]
    pub const fn all(&self) -> u32 {
        self.any
    }
}

/// File and `/proc/<pid>` accesses (`[[fs]] access`, `[[proc]] access`).
pub static FS_ACCESS: Vocabulary = Vocabulary {
    what: "access",
    words: &[
        ("read", abi::FS_READ),
        ("write", abi::FS_WRITE),
        ("append", abi::FS_APPEND),
        ("exec", abi::FS_EXEC),
        ("getattr", abi::FS_GETATTR),
        ("setattr", abi::FS_SETATTR),
        ("ioctl", abi::FS_IOCTL),
        ("rm", abi::FS_RM),
        ("link", abi::FS_LINK),
    ],
    aliases: &[],
    any: abi::FS_ANY,
};

/// Socket operations (`[[net]] operation`). bpfbox's TOML wrote `receive`,
/// its DSL `recv`: both are accepted, `receive` is printed (and names the
/// bit in bpfboxd's events).
pub static NET_OPERATIONS: Vocabulary = Vocabulary {
    what: "operation",
    words: &[
        ("connect", abi::NET_CONNECT),
        ("bind", abi::NET_BIND),
        ("accept", abi::NET_ACCEPT),
        ("listen", abi::NET_LISTEN),
        ("send", abi::NET_SEND),
        ("receive", abi::NET_RECV),
        ("create", abi::NET_CREATE),
        ("shutdown", abi::NET_SHUTDOWN),
    ],
    aliases: &[("recv", abi::NET_RECV)],
    any: abi::NET_ANY,
};

/// Every signal class, and nothing else: `any` must not include ptrace,
/// which shares the IPC bit space.
pub const SIGNALS_ANY: u32 =
    abi::IPC_SIGCHLD | abi::IPC_SIGKILL | abi::IPC_SIGSTOP | abi::IPC_SIGMISC | abi::IPC_SIGCHECK;

/// Signal classes (`[[signal]] signal`). `fatal` is bpfbox's shorthand for
/// `sigkill` + `misc`; the DSL spellings `sigmisc`, `sigcheck` are aliases.
pub static SIGNALS: Vocabulary = Vocabulary {
    what: "signal",
    words: &[
        ("sigchld", abi::IPC_SIGCHLD),
        ("sigkill", abi::IPC_SIGKILL),
        ("sigstop", abi::IPC_SIGSTOP),
        ("misc", abi::IPC_SIGMISC),
        ("check", abi::IPC_SIGCHECK),
        ("fatal", abi::IPC_SIGFATAL),
    ],
    aliases: &[
        ("sigmisc", abi::IPC_SIGMISC),
        ("sigcheck", abi::IPC_SIGCHECK),
        ("sigfatal", abi::IPC_SIGFATAL),
    ],
    any: SIGNALS_ANY,
};

/// The signal class the kernel files signal number `sig` under (bpfbox's
/// mapping: 0 is a permission check, SIGCHLD, SIGKILL and SIGSTOP have their
/// own class, every other signal is `misc`).
#[must_use]
pub fn signal_access(sig: i32) -> u32 {
    match sig {
        0 => abi::IPC_SIGCHECK,
        libc::SIGCHLD => abi::IPC_SIGCHLD,
        libc::SIGKILL => abi::IPC_SIGKILL,
        libc::SIGSTOP => abi::IPC_SIGSTOP,
        _ => abi::IPC_SIGMISC,
    }
}

macro_rules! access_set {
    ($(#[$doc:meta])* $name:ident, $vocab:expr, { $($(#[$cdoc:meta])* $c:ident = $bits:expr),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub u32);

        impl $name {
            $($(#[$cdoc])* pub const $c: Self = Self($bits);)*
            /// Every access of the vocabulary.
            pub const ANY: Self = Self($vocab.all());

            /// The kernel bits.
            #[must_use]
            pub const fn bits(self) -> u32 {
                self.0
            }

            /// Whether no bit is set.
            #[must_use]
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// The vocabulary words for these bits (`["any"]` for all).
            #[must_use]
            pub fn words(self) -> Vec<&'static str> {
                $vocab.words(self.0)
            }
        }

        impl std::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                Self(self.0 | rhs.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.words().join("|"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.words().join("|"))
            }
        }
    };
}

access_set!(
    /// A set of file accesses (bpfbox's `FS_*` bits).
    FsAccess, FS_ACCESS, {
        /// `read`
        READ = abi::FS_READ,
        /// `write`
        WRITE = abi::FS_WRITE,
        /// `append`
        APPEND = abi::FS_APPEND,
        /// `exec`
        EXEC = abi::FS_EXEC,
        /// `getattr`
        GETATTR = abi::FS_GETATTR,
        /// `setattr`
        SETATTR = abi::FS_SETATTR,
        /// `ioctl`
        IOCTL = abi::FS_IOCTL,
        /// `rm`
        RM = abi::FS_RM,
        /// `link`
        LINK = abi::FS_LINK,
    }
);

access_set!(
    /// A set of socket operations (bpfbox's `NET_*` bits).
    NetOps, NET_OPERATIONS, {
        /// `connect`
        CONNECT = abi::NET_CONNECT,
        /// `bind`
        BIND = abi::NET_BIND,
        /// `accept`
        ACCEPT = abi::NET_ACCEPT,
        /// `listen`
        LISTEN = abi::NET_LISTEN,
        /// `send`
        SEND = abi::NET_SEND,
        /// `receive` (also spelt `recv`)
        RECV = abi::NET_RECV,
        /// `create`
        CREATE = abi::NET_CREATE,
        /// `shutdown`
        SHUTDOWN = abi::NET_SHUTDOWN,
    }
);

access_set!(
    /// A set of signal classes (bpfbox's `IPC_SIG*` bits).
    Signals, SIGNALS, {
        /// `sigchld`
        SIGCHLD = abi::IPC_SIGCHLD,
        /// `sigkill`
        SIGKILL = abi::IPC_SIGKILL,
        /// `sigstop`
        SIGSTOP = abi::IPC_SIGSTOP,
        /// `misc`: every signal without a class of its own
        MISC = abi::IPC_SIGMISC,
        /// `check`: signal 0, the "may I signal it" probe
        CHECK = abi::IPC_SIGCHECK,
        /// `fatal` = `sigkill` + `misc`
        FATAL = abi::IPC_SIGFATAL,
    }
);

/// What a rule does with its access: bpfbox's actions, combinable. Bits are
/// the kernel's `DECISION_ALLOW`, `DECISION_AUDIT`, `DECISION_TAINT`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Actions(pub u32);

impl Actions {
    /// `allow`: granted to a tainted process.
    pub const ALLOW: Self = Self(abi::DECISION_ALLOW);
    /// `audit`: every use is reported.
    pub const AUDIT: Self = Self(abi::DECISION_AUDIT);
    /// `taint`: the first use taints an untainted process.
    pub const TAINT: Self = Self(abi::DECISION_TAINT);

    /// Whether every action of `other` is in `self`.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The words, in the order allow, audit, taint.
    #[must_use]
    pub fn words(self) -> Vec<&'static str> {
        ACTIONS
            .iter()
            .filter(|&&(_, bits)| self.0 & bits != 0)
            .map(|&(w, _)| w)
            .collect()
    }
}

/// bpfbox's default: a rule without `action` allows.
impl Default for Actions {
    fn default() -> Self {
        Self::ALLOW
    }
}

impl std::ops::BitOr for Actions {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl fmt::Debug for Actions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Actions({})", self.words().join("|"))
    }
}

/// The action words.
pub const ACTIONS: &[Word] = &[
    ("allow", abi::DECISION_ALLOW),
    ("audit", abi::DECISION_AUDIT),
    ("taint", abi::DECISION_TAINT),
];

/// An address family, by its Linux `AF_*` number (what the kernel hook sees).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Family(pub u32);

impl Family {
    /// `AF_UNIX`
    pub const UNIX: Self = Self(1);
    /// `AF_INET`
    pub const INET: Self = Self(2);
    /// `AF_INET6`
    pub const INET6: Self = Self(10);
    /// `AF_NETLINK`
    pub const NETLINK: Self = Self(16);

    /// Parses `inet`, `AF_INET`, `af_inet`… (case does not matter).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        let bare = lower.strip_prefix("af_").unwrap_or(&lower);
        FAMILIES
            .iter()
            .chain(FAMILY_ALIASES)
            .find(|(w, _)| *w == bare)
            .map(|&(_, n)| Self(n))
    }

    /// The canonical lowercase name, if the number has one.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        FAMILIES
            .iter()
            .find(|&&(_, n)| n == self.0)
            .map(|&(w, _)| w)
    }

    /// Every family this crate knows, in number order.
    pub fn all() -> impl Iterator<Item = Self> {
        FAMILIES.iter().map(|&(_, n)| Self(n))
    }
}

impl fmt::Debug for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Family({name})"),
            None => write!(f, "Family({})", self.0),
        }
    }
}

/// Linux address families by number (`include/linux/socket.h`), without
/// the `AF_` prefix.
pub const FAMILIES: &[Word] = &[
    ("unix", 1),
    ("inet", 2),
    ("ax25", 3),
    ("ipx", 4),
    ("appletalk", 5),
    ("netrom", 6),
    ("bridge", 7),
    ("atmpvc", 8),
    ("x25", 9),
    ("inet6", 10),
    ("rose", 11),
    ("decnet", 12),
    ("netbeui", 13),
    ("security", 14),
    ("key", 15),
    ("netlink", 16),
    ("packet", 17),
    ("ash", 18),
    ("econet", 19),
    ("atmsvc", 20),
    ("rds", 21),
    ("sna", 22),
    ("irda", 23),
    ("pppox", 24),
    ("wanpipe", 25),
    ("llc", 26),
    ("ib", 27),
    ("mpls", 28),
    ("can", 29),
    ("tipc", 30),
    ("bluetooth", 31),
    ("iucv", 32),
    ("rxrpc", 33),
    ("isdn", 34),
    ("phonet", 35),
    ("ieee802154", 36),
    ("caif", 37),
    ("alg", 38),
    ("nfc", 39),
    ("vsock", 40),
    ("kcm", 41),
    ("qipcrtr", 42),
    ("smc", 43),
    ("xdp", 44),
    ("mctp", 45),
];

/// Other names the kernel headers give the same numbers.
const FAMILY_ALIASES: &[Word] = &[("local", 1), ("file", 1), ("route", 16)];

/// A capability by number (`include/uapi/linux/capability.h`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Capability(pub u32);

impl Capability {
    /// `CAP_NET_BIND_SERVICE`
    pub const NET_BIND_SERVICE: Self = Self(10);
    /// `CAP_SYS_ADMIN`
    pub const SYS_ADMIN: Self = Self(21);

    /// Parses `net_bind_service`, `CAP_NET_BIND_SERVICE`… (any case).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        let bare = lower.strip_prefix("cap_").unwrap_or(&lower);
        CAPABILITIES
            .iter()
            .position(|&w| w == bare)
            .map(|n| Self(n as u32))
    }

    /// The canonical lowercase name, if the number has one.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        CAPABILITIES.get(self.0 as usize).copied()
    }

    /// Every capability this crate knows, in number order.
    pub fn all() -> impl Iterator<Item = Self> {
        (0..CAPABILITIES.len() as u32).map(Self)
    }
}

impl fmt::Debug for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Capability({name})"),
            None => write!(f, "Capability({})", self.0),
        }
    }
}

/// Capability names by number, without the `CAP_` prefix (0 ..= 40).
pub const CAPABILITIES: &[&str] = &[
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fs_words_are_bpfbox_words_with_kernel_bits() {
        assert_eq!(FS_ACCESS.bits("read"), Some(abi::FS_READ));
        assert_eq!(FS_ACCESS.bits("link"), Some(abi::FS_LINK));
        assert_eq!(FS_ACCESS.bits("any"), Some(abi::FS_ANY));
        assert_eq!(FS_ACCESS.bits("Read"), None, "words are lowercase");
        assert_eq!(FS_ACCESS.valid_words().len(), 10);
    }

    #[test]
    fn receive_and_recv_are_the_same_operation() {
        assert_eq!(NET_OPERATIONS.bits("receive"), NET_OPERATIONS.bits("recv"));
        assert_eq!(NetOps::RECV.words(), ["receive"]);
    }

    #[test]
    fn signal_any_never_includes_ptrace() {
        assert_eq!(SIGNALS.bits("any").unwrap() & abi::IPC_PTRACE, 0);
        assert_eq!(Signals::ANY.words(), ["any"]);
    }

    #[test]
    fn fatal_prints_as_its_two_classes() {
        assert_eq!(Signals::FATAL.words(), ["sigkill", "misc"]);
    }

    #[test]
    fn canonical_words_name_every_bit_without_aliases() {
        assert!(NET_OPERATIONS
            .canonical()
            .contains(&("receive", abi::NET_RECV)));
        assert!(NET_OPERATIONS.canonical().iter().all(|&(w, _)| w != "recv"));
        for vocabulary in [&FS_ACCESS, &NET_OPERATIONS, &SIGNALS] {
            let union = vocabulary
                .canonical()
                .iter()
                .filter(|(_, bits)| bits.count_ones() == 1)
                .fold(0, |all, (_, bit)| all | bit);
            assert_eq!(
                union,
                vocabulary.all(),
                "{} has a word per bit",
                vocabulary.what
            );
        }
    }

    #[test]
    fn signal_numbers_map_to_bpfbox_classes() {
        assert_eq!(signal_access(0), abi::IPC_SIGCHECK);
        assert_eq!(signal_access(libc::SIGKILL), abi::IPC_SIGKILL);
        assert_eq!(signal_access(libc::SIGCHLD), abi::IPC_SIGCHLD);
        assert_eq!(signal_access(libc::SIGSTOP), abi::IPC_SIGSTOP);
        assert_eq!(signal_access(libc::SIGUSR1), abi::IPC_SIGMISC);
        assert_eq!(signal_access(libc::SIGTERM), abi::IPC_SIGMISC);
    }

    #[test]
    fn families_accept_af_prefix_and_any_case() {
        assert_eq!(Family::from_name("inet6"), Some(Family::INET6));
        assert_eq!(Family::from_name("AF_INET6"), Some(Family::INET6));
        assert_eq!(Family::from_name("af_unix"), Some(Family::UNIX));
        assert_eq!(Family::from_name("local"), Some(Family::UNIX));
        assert_eq!(Family::from_name("inet7"), None);
        assert_eq!(FAMILIES.len(), 45);
        assert_eq!(Family(45).name(), Some("mctp"));
    }

    #[test]
    fn capabilities_have_kernel_numbers() {
        assert_eq!(
            Capability::from_name("net_bind_service"),
            Some(Capability(10))
        );
        assert_eq!(Capability::from_name("CAP_SYS_ADMIN"), Some(Capability(21)));
        assert_eq!(
            Capability::from_name("checkpoint_restore"),
            Some(Capability(40))
        );
        assert_eq!(Capability::all().count(), 41);
    }

    #[test]
    fn actions_default_to_allow() {
        assert_eq!(Actions::default(), Actions::ALLOW);
        assert_eq!(
            (Actions::ALLOW | Actions::TAINT).words(),
            ["allow", "taint"]
        );
    }
}
