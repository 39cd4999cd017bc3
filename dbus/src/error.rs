//! The errors of the API, one D-Bus error name per variant.

use zbus::DBusError;

/// An error the daemon returns, and that a client gets back from a proxy.
///
/// Each variant carries a message for people; clients branch on the variant
/// (the D-Bus error name), never on the message. A reply whose name is not
/// one of these (a bus error, a timeout, a newer daemon's error) arrives as
/// [`Error::ZBus`].
//
// The prefix is only `org` because one error lives outside bpfbox's own
// namespace: `InteractiveAuthorizationRequired` must carry the standard
// name, which clients such as busctl and GLib recognise.
#[derive(Debug, DBusError)]
#[zbus(prefix = "org")]
pub enum Error {
    /// The call failed before reaching the daemon or its reply was not one
    /// of bpfbox's errors.
    #[zbus(error)]
    ZBus(zbus::Error),
    /// polkit (or the caller's identity) does not allow the call.
    #[zbus(name = "bpfbox.Bpfbox1.Error.NotAuthorized")]
    NotAuthorized(String),
    /// An argument or option is malformed or out of range.
    #[zbus(name = "bpfbox.Bpfbox1.Error.InvalidArgument")]
    InvalidArgument(String),
    /// No profile has that executable or object path.
    #[zbus(name = "bpfbox.Bpfbox1.Error.NoSuchProfile")]
    NoSuchProfile(String),
    /// The profile has no rule with that id.
    #[zbus(name = "bpfbox.Bpfbox1.Error.NoSuchRule")]
    NoSuchRule(String),
    /// The event id is unknown or no longer kept.
    #[zbus(name = "bpfbox.Bpfbox1.Error.NoSuchEvent")]
    NoSuchEvent(String),
    /// The change collides with the current state (duplicate rule id, …).
    #[zbus(name = "bpfbox.Bpfbox1.Error.Conflict")]
    Conflict(String),
    /// The change would leave a profile that does not compile.
    #[zbus(name = "bpfbox.Bpfbox1.Error.PolicyInvalid")]
    PolicyInvalid(String),
    /// Anything else went wrong inside the daemon.
    #[zbus(name = "bpfbox.Bpfbox1.Error.Failed")]
    Failed(String),
    /// polkit would ask for a password, but the call did not carry the
    /// `ALLOW_INTERACTIVE_AUTHORIZATION` flag.
    #[zbus(name = "freedesktop.DBus.Error.InteractiveAuthorizationRequired")]
    InteractiveAuthorizationRequired(String),
}

impl From<zbus::fdo::Error> for Error {
    fn from(e: zbus::fdo::Error) -> Self {
        zbus::Error::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use zbus::DBusError as _;

    use super::*;
    use crate::names::error as name;

    fn every_variant() -> Vec<(Error, &'static str)> {
        let m = String::new;
        vec![
            (Error::NotAuthorized(m()), name::NOT_AUTHORIZED),
            (Error::InvalidArgument(m()), name::INVALID_ARGUMENT),
            (Error::NoSuchProfile(m()), name::NO_SUCH_PROFILE),
            (Error::NoSuchRule(m()), name::NO_SUCH_RULE),
            (Error::NoSuchEvent(m()), name::NO_SUCH_EVENT),
            (Error::Conflict(m()), name::CONFLICT),
            (Error::PolicyInvalid(m()), name::POLICY_INVALID),
            (Error::Failed(m()), name::FAILED),
            (
                Error::InteractiveAuthorizationRequired(m()),
                name::INTERACTIVE_AUTHORIZATION_REQUIRED,
            ),
        ]
    }

    #[test]
    fn each_variant_sends_its_documented_name() {
        for (error, expected) in every_variant() {
            assert_eq!(error.name().as_str(), expected);
        }
    }

    #[test]
    fn bpfbox_errors_share_the_error_prefix() {
        for (error, _) in every_variant() {
            let name = error.name();
            if !matches!(error, Error::InteractiveAuthorizationRequired(_)) {
                let prefix = format!("{}.", crate::names::ERROR_PREFIX);
                assert!(name.as_str().starts_with(&prefix), "{name}");
            }
        }
    }

    #[test]
    fn standard_interactive_authorization_error_maps_to_its_variant() {
        let fdo = zbus::fdo::Error::InteractiveAuthorizationRequired("ask".into());
        assert!(matches!(
            Error::from(fdo),
            Error::InteractiveAuthorizationRequired(m) if m == "ask"
        ));
    }

    #[test]
    fn other_standard_errors_stay_zbus_errors() {
        let fdo = zbus::fdo::Error::ServiceUnknown("no daemon".into());
        assert!(matches!(Error::from(fdo), Error::ZBus(_)));
    }
}
