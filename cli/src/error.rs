//! Exit codes, and the daemon's named D-Bus errors turned into messages
//! that say what to do.
//!
//! Commands return `anyhow::Result`; [`report`] walks the error's chain for
//! the first cause it can classify: a [`Failure`] the CLI raised itself, an
//! error of `bpfbox-dbus` (the daemon's reply, by name), or a bus error.

use std::fmt;

use bpfbox_dbus::{names::BUS_NAME, Error as DaemonError};

/// The documented exit codes (args::EXIT_STATUS, docs/cli.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Anything not listed below.
    Failure = 1,
    /// Usage error; clap exits with 2 by itself for its own checks.
    Usage = 2,
    /// bpfboxd is not running, or the system bus is unreachable.
    NoDaemon = 3,
    /// polkit said no, or the caller is confined.
    NotAuthorized = 4,
    /// No such profile, rule or event.
    NotFound = 5,
    /// An invalid argument, or a policy that would not load.
    Invalid = 6,
    /// The profile changed meanwhile, or a duplicate.
    Conflict = 7,
}

/// An error the CLI raises itself, with the exit code it means.
#[derive(Debug)]
pub struct Failure {
    /// How to exit.
    pub code: Code,
    /// What went wrong, for people.
    pub message: String,
}

impl Failure {
    /// A failure with this code.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The exit code of `err` and the message to print: the contexts the CLI
/// added, then the classified cause in plain words.
pub fn report(err: &anyhow::Error) -> (Code, String) {
    let mut parts = Vec::new();
    let mut code = Code::Failure;
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            code = f.code;
            parts.push(f.message.clone());
            break;
        }
        if let Some(e) = cause.downcast_ref::<DaemonError>() {
            let (c, message) = daemon_error(e);
            code = c;
            parts.push(message);
            break;
        }
        if let Some(e) = cause.downcast_ref::<zbus::Error>() {
            let (c, message) = bus_error(e);
            code = c;
            parts.push(message);
            break;
        }
        parts.push(cause.to_string());
    }
    (code, parts.join(": "))
}

fn daemon_error(e: &DaemonError) -> (Code, String) {
    match e {
        DaemonError::ZBus(e) => bus_error(e),
        DaemonError::NotAuthorized(m) => (
            Code::NotAuthorized,
            format!("not authorized: {m} (run it from a terminal where polkit can ask for a password, or as root)"),
        ),
        DaemonError::InteractiveAuthorizationRequired(m) => (
            Code::NotAuthorized,
            format!("not authorized: polkit needs a password but no agent can ask for it ({m}); run from a terminal, or start pkttyagent"),
        ),
        DaemonError::InvalidArgument(m) => (Code::Invalid, format!("invalid argument: {m}")),
        DaemonError::PolicyInvalid(m) => (
            Code::Invalid,
            format!("the profile would not load: {m}"),
        ),
        DaemonError::NoSuchProfile(m) => (Code::NotFound, format!("no such profile: {m}")),
        DaemonError::NoSuchRule(m) => (Code::NotFound, format!("no such rule: {m}")),
        DaemonError::NoSuchEvent(m) => (Code::NotFound, format!("no such event: {m}")),
        DaemonError::Conflict(m) => (Code::Conflict, format!("conflict: {m}")),
        DaemonError::Failed(m) => (Code::Failure, format!("bpfboxd failed: {m}")),
    }
}

/// Errors of the bus itself, by their standard names.
fn bus_error(e: &zbus::Error) -> (Code, String) {
    let (name, message) = match e {
        zbus::Error::MethodError(name, message, _) => (
            name.as_str().to_owned(),
            message.clone().unwrap_or_default(),
        ),
        zbus::Error::FDO(fdo) => (
            zbus::DBusError::name(&**fdo).as_str().to_owned(),
            zbus::DBusError::description(&**fdo)
                .unwrap_or_default()
                .to_owned(),
        ),
        zbus::Error::InputOutput(_) | zbus::Error::Address(_) | zbus::Error::Handshake(_) => {
            return (Code::NoDaemon, format!("cannot reach the system bus: {e}"))
        }
        other => return (Code::Failure, other.to_string()),
    };
    classify_bus_name(&name, &message)
}

fn classify_bus_name(name: &str, message: &str) -> (Code, String) {
    let no_owner = [
        "org.freedesktop.DBus.Error.ServiceUnknown",
        "org.freedesktop.DBus.Error.NameHasNoOwner",
        "org.freedesktop.DBus.Error.NoReply",
    ];
    // a bus that tries to start the daemon on demand fails with these
    let activation = [
        "org.freedesktop.DBus.Error.Spawn.",
        "org.freedesktop.systemd1.",
    ];
    if no_owner.contains(&name) || activation.iter().any(|p| name.starts_with(p)) {
        return (
            Code::NoDaemon,
            format!(
                "bpfboxd is not running (nothing owns {BUS_NAME} on the system bus: {message})"
            ),
        );
    }
    match name {
        "org.freedesktop.DBus.Error.AccessDenied" => (
            Code::NotAuthorized,
            format!("not authorized by the bus policy: {message}"),
        ),
        "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired" => (
            Code::NotAuthorized,
            format!(
                "not authorized: polkit needs a password but no agent can ask for it ({message})"
            ),
        ),
        "org.freedesktop.DBus.Error.InvalidArgs" => {
            (Code::Invalid, format!("invalid argument: {message}"))
        }
        "org.freedesktop.DBus.Error.UnknownMethod"
        | "org.freedesktop.DBus.Error.UnknownObject"
        | "org.freedesktop.DBus.Error.UnknownInterface"
        | "org.freedesktop.DBus.Error.UnknownProperty" => (
            Code::Failure,
            format!("bpfboxd does not know this call (an older daemon?): {message}"),
        ),
        _ => (Code::Failure, format!("{name}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(e: DaemonError) -> Code {
        report(&anyhow::Error::new(e).context("doing it")).0
    }

    #[test]
    fn each_named_daemon_error_has_its_documented_exit_code() {
        let m = || String::from("m");
        assert_eq!(
            code_of(DaemonError::NotAuthorized(m())),
            Code::NotAuthorized
        );
        assert_eq!(
            code_of(DaemonError::InteractiveAuthorizationRequired(m())),
            Code::NotAuthorized
        );
        assert_eq!(code_of(DaemonError::NoSuchProfile(m())), Code::NotFound);
        assert_eq!(code_of(DaemonError::NoSuchRule(m())), Code::NotFound);
        assert_eq!(code_of(DaemonError::NoSuchEvent(m())), Code::NotFound);
        assert_eq!(code_of(DaemonError::InvalidArgument(m())), Code::Invalid);
        assert_eq!(code_of(DaemonError::PolicyInvalid(m())), Code::Invalid);
        assert_eq!(code_of(DaemonError::Conflict(m())), Code::Conflict);
        assert_eq!(code_of(DaemonError::Failed(m())), Code::Failure);
    }

    #[test]
    fn a_missing_bus_name_means_the_daemon_is_not_running() {
        let fdo = zbus::fdo::Error::ServiceUnknown("The name is not activatable".into());
        assert_eq!(code_of(DaemonError::from(fdo)), Code::NoDaemon);
        let (code, _) = classify_bus_name("org.freedesktop.systemd1.NoSuchUnit", "x");
        assert_eq!(code, Code::NoDaemon);
    }

    #[test]
    fn the_message_keeps_the_context_and_the_daemons_words() {
        let err = anyhow::Error::new(DaemonError::NoSuchRule(
            "no rule `x` in /usr/bin/cat".into(),
        ))
        .context("cannot disable rule x");
        let (code, message) = report(&err);
        assert_eq!(code, Code::NotFound);
        assert_eq!(
            message,
            "cannot disable rule x: no such rule: no rule `x` in /usr/bin/cat"
        );
    }
}
