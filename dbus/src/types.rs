//! The structs that travel on the wire, and the words of their string fields.
//!
//! Word fields (mode, kind, action, severity) stay `String` in the structs:
//! a newer daemon may send a word this crate does not know yet, and a client
//! that failed to decode the whole list for it would show nothing. Parse
//! them with the enums below where the word matters.

use std::{fmt, str::FromStr};

use bpfbox_policy::{Mode as PolicyMode, RuleKind};
use serde::{Deserialize, Serialize};
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Type, Value};

use crate::Error;

/// One access report of a confined process (`GetEvents`, `Denied`).
///
/// Repeats of the same access by the same process are coalesced into one
/// event whose `count` says how many there were.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct EventInfo {
    /// Increasing id, unique for the daemon instance (`InstanceId`).
    pub id: u64,
    /// When it first happened, microseconds since the Unix epoch.
    pub time_usec: i64,
    /// The profile's executable.
    pub executable: String,
    /// The profile's desktop file id, or empty.
    pub app_id: String,
    /// The profile's display name, or empty.
    pub display_name: String,
    /// The acting thread.
    pub pid: u32,
    /// Its process (thread group).
    pub tgid: u32,
    /// Its real uid.
    pub uid: u32,
    /// Its command name as the kernel keeps it.
    pub comm: String,
    /// What was accessed: a [`Kind`] word.
    pub kind: String,
    /// The file, address, signal target…, in the words of the kind.
    pub object: String,
    /// The access words, comma-separated.
    pub access: String,
    /// What happened: an [`EventAction`] word.
    pub action: String,
    /// How many identical accesses this event stands for.
    pub count: u32,
    /// Why, in plain words (which rule or default decided).
    pub reason: String,
}

/// One profile, as `ListProfiles` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ProfileSummary {
    /// The profile's object.
    pub object: OwnedObjectPath,
    /// The confined executable.
    pub executable: String,
    /// Display name, or empty.
    pub display_name: String,
    /// Desktop file id, or empty.
    pub app_id: String,
    /// A [`Mode`] word.
    pub mode: String,
    /// A file is at the executable's path (false: not installed; the
    /// kernel confines it from its first run once it is).
    pub installed: bool,
    /// Processes confined by it now.
    pub running_processes: u32,
    /// Rules in the profile, disabled and expired ones included.
    pub rule_count: u32,
    /// Denials since the daemon started.
    pub denial_count: u64,
    /// Why the profile's last load or change failed, or empty.
    pub last_error: String,
}

/// One rule of a profile (`GetRules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct RuleInfo {
    /// The rule's id, stable while its content stays the same.
    pub id: String,
    /// A [`Kind`] word.
    pub kind: String,
    /// What the rule allows, in plain words for people.
    pub summary: String,
    /// The rule's keys as TOML, as `AddRule` takes them.
    pub toml: String,
    /// Whether the rule applies (a disabled rule stays in the file).
    pub enabled: bool,
    /// Empty for never, an RFC 3339 time, `restart` or `once`.
    pub expires: String,
    /// The rule's actions: `allow`, `audit`, `taint`.
    pub actions: Vec<String>,
}

/// One problem found while loading the policy (`PolicyProblems`).
///
/// `Value`/`OwnedValue` because it is a property's element type, which both
/// the daemon's getter and the proxy's cache convert through `Value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, Value, OwnedValue)]
pub struct Problem {
    /// The profile file.
    pub file: String,
    /// 1-based line, or 0 when the problem has no place in the file.
    pub line: u32,
    /// 1-based column, or 0.
    pub column: u32,
    /// A [`Severity`] word.
    pub severity: String,
    /// What is wrong, for people.
    pub message: String,
}

/// A closed vocabulary of a string field: an enum with `ALL`, `as_str`,
/// `Display` and a `FromStr` whose error names the valid words. The words
/// are the wire's own (`Name { Variant = "word", … }`), or, for what
/// profiles name too, the policy crate's (`Name = PolicyType { Variant,
/// … }`): the conversions between the two enums match exhaustively, so a
/// value added to the policy breaks this build until it is added here.
macro_rules! words {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        words!(@enum $(#[$doc])* $name, $what { $($(#[$vdoc])* $variant),+ });

        impl $name {
            /// The word on the wire.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word),+
                }
            }
        }
    };
    ($(#[$doc:meta])* $name:ident = $policy:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        words!(@enum $(#[$doc])* $name, $what { $($(#[$vdoc])* $variant),+ });

        impl $name {
            /// The word on the wire: the policy's.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                $policy::from(self).word()
            }
        }

        impl From<$name> for $policy {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => Self::$variant),+
                }
            }
        }

        impl From<$policy> for $name {
            fn from(value: $policy) -> Self {
                match value {
                    $($policy::$variant => Self::$variant),+
                }
            }
        }
    };
    (@enum $(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident),+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in the order listed here.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;

            /// # Errors
            ///
            /// [`Error::InvalidArgument`] naming the valid words.
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == s)
                    .ok_or_else(|| {
                        let words: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                        Error::InvalidArgument(format!(
                            "unknown {} {:?}: expected one of {}",
                            $what,
                            crate::validate::shorten(s),
                            words.join(", "),
                        ))
                    })
            }
        }
    };
}

words! {
    /// How a profile treats its processes: the profile format's modes.
    Mode = PolicyMode, "mode" {
        /// Denials are enforced and reported.
        Enforce,
        /// What enforce would deny is allowed and reported.
        Complain,
        /// The profile checks nothing.
        Disabled,
    }
}

words! {
    /// What a rule or an event is about: the profile format's rule kinds.
    Kind = RuleKind, "kind" {
        /// Files.
        Fs,
        /// Sockets.
        Net,
        /// Signals to other processes.
        Signal,
        /// `/proc/<pid>` of other processes.
        Proc,
        /// Tracing other processes.
        Ptrace,
        /// Linux capabilities.
        Capability,
    }
}

words! {
    /// What the daemon did about an access.
    EventAction, "event action" {
        /// Refused (`EPERM`).
        Deny = "deny",
        /// Would have been refused; allowed because the profile complains.
        Complain = "complain",
        /// Allowed and reported because a rule audits it.
        Audit = "audit",
        /// Allowed, and tainted the process.
        Taint = "taint",
    }
}

words! {
    /// How bad a policy problem is.
    Severity, "severity" {
        /// The profile (or the file) was not loaded.
        Error = "error",
        /// Loaded, but probably not what was meant.
        Warning = "warning",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_structs_have_the_documented_signatures() {
        assert_eq!(EventInfo::SIGNATURE.to_string(), "(txsssuuusssssus)");
        assert_eq!(ProfileSummary::SIGNATURE.to_string(), "(ossssbuuts)");
        assert_eq!(RuleInfo::SIGNATURE.to_string(), "(ssssbsas)");
        assert_eq!(Problem::SIGNATURE.to_string(), "(suuss)");
    }

    #[test]
    fn every_word_parses_back_to_its_value() {
        for m in Mode::ALL {
            assert_eq!(m.as_str().parse::<Mode>().unwrap(), *m);
        }
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), *k);
        }
        for a in EventAction::ALL {
            assert_eq!(a.as_str().parse::<EventAction>().unwrap(), *a);
        }
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>().unwrap(), *s);
        }
    }

    #[test]
    fn modes_and_kinds_are_the_policys_in_its_order() {
        let modes: Vec<&str> = Mode::ALL.iter().map(|m| m.as_str()).collect();
        let policy_modes: Vec<&str> = bpfbox_policy::Mode::ALL.map(|m| m.word()).into();
        assert_eq!(modes, policy_modes);
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        let rule_kinds: Vec<&str> = bpfbox_policy::RuleKind::ALL.map(|k| k.word()).into();
        assert_eq!(kinds, rule_kinds);
    }

    #[test]
    fn unknown_word_is_an_invalid_argument_listing_the_valid_ones() {
        let Err(Error::InvalidArgument(msg)) = "Enforce".parse::<Mode>() else {
            panic!("a capitalised mode must not parse");
        };
        assert!(msg.contains("enforce, complain, disabled"), "{msg}");
    }
}
