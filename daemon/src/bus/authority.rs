//! Who is calling, and may they? Every decision is polkit's, asked for the
//! caller's unique bus name from the message header (never for our own
//! process), and anything short of a clear yes is a no.

use std::collections::HashMap;

use bpfbox_dbus::Error;
use zbus::{
    fdo::DBusProxy,
    message::{Flags, Header},
    names::BusName,
    Connection,
};
use zbus_polkit::policykit1::{AuthorityProxy, CheckAuthorizationFlags, Subject};

/// The caller of one method call.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Its unique bus name (`:1.42`).
    pub name: String,
    /// Its uid, as the bus daemon knows it (not as it claims).
    pub uid: u32,
}

impl Caller {
    /// Root sees every user's events; others see their own.
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

async fn refuse_confined(conn: &Connection, header: &Header<'_>) -> Result<(), Error> {
    let sender = header
        .sender()
        .ok_or_else(|| Error::NotAuthorized("the call has no sender".into()))?;
    let pid = DBusProxy::new(conn)
        .await?
        .get_connection_unix_process_id(BusName::Unique(sender.clone()))
        .await
        .map_err(|e| Error::NotAuthorized(format!("cannot identify the caller: {e}")))?;
    if crate::kernel::is_confined(pid) {
        return Err(Error::NotAuthorized(
            "a confined process may not change or read bpfbox's policy and events".into(),
        ));
    }
    Ok(())
}

/// Identifies the caller of `header` through the bus daemon.
pub async fn caller(conn: &Connection, header: &Header<'_>) -> Result<Caller, Error> {
    let sender = header
        .sender()
        .ok_or_else(|| Error::NotAuthorized("the call has no sender".into()))?;
    let uid = DBusProxy::new(conn)
        .await?
        .get_connection_unix_user(BusName::Unique(sender.clone()))
        .await
        .map_err(|e| Error::NotAuthorized(format!("cannot identify the caller: {e}")))?;
    Ok(Caller {
        name: sender.to_string(),
        uid,
    })
}

/// Asks polkit whether the sender of `header` may do `action`.
///
/// A confined process is refused before polkit is asked: polkit counts an
/// app in the active session as the active user, so `allow_active=yes`
/// would otherwise let a confined app loosen its own confinement.
pub async fn authorize(conn: &Connection, header: &Header<'_>, action: &str) -> Result<(), Error> {
    refuse_confined(conn, header).await?;
    let interactive = header
        .primary()
        .flags()
        .contains(Flags::AllowInteractiveAuth);
    let subject = Subject::new_for_message_header(header)
        .map_err(|e| Error::NotAuthorized(format!("cannot identify the caller: {e}")))?;
    let unreachable =
        |e: zbus::Error| Error::NotAuthorized(format!("polkit could not be asked ({e}); refusing"));
    let authority = AuthorityProxy::new(conn).await.map_err(unreachable)?;
    let flags = if interactive {
        CheckAuthorizationFlags::AllowUserInteraction.into()
    } else {
        Default::default()
    };
    let result = authority
        .check_authorization(&subject, action, &HashMap::new(), flags, "")
        .await
        .map_err(unreachable)?;
    if result.is_authorized {
        Ok(())
    } else if result.is_challenge && !interactive {
        Err(Error::InteractiveAuthorizationRequired(format!(
            "{action} needs authentication: call again allowing interactive authorization \
             (e.g. busctl --allow-interactive-authorization=yes)"
        )))
    } else {
        Err(Error::NotAuthorized(format!(
            "not authorized for {action}; an administrator can grant it with a polkit rule"
        )))
    }
}
