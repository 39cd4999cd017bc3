//! The client side of `org.freedesktop.Notifications` (the Desktop
//! Notifications Specification 1.2) on the session bus.
//!
//! The signal streams of this proxy are opened before the first `Notify`,
//! and zbus passes on only signals whose sender is the current owner of the
//! server's name (it follows `NameOwnerChanged`), so another session client
//! cannot answer for the person (docs/notifications.md says why this is not
//! notify-rust).

use std::collections::HashMap;

use zbus::zvariant::Value;

/// The notification server.
#[zbus::proxy(
    interface = "org.freedesktop.Notifications",
    default_service = "org.freedesktop.Notifications",
    default_path = "/org/freedesktop/Notifications"
)]
pub trait Notifications {
    /// Shows a notification, or replaces `replaces_id`; returns its id.
    #[allow(clippy::too_many_arguments)] // the specification's signature
    fn notify(
        &self,
        app_name: &str,
        replaces_id: u32,
        app_icon: &str,
        summary: &str,
        body: &str,
        actions: &[&str],
        hints: HashMap<&str, Value<'_>>,
        expire_timeout: i32,
    ) -> zbus::Result<u32>;

    /// Closes notification `id`.
    fn close_notification(&self, id: u32) -> zbus::Result<()>;

    /// The person chose action `action_key` of notification `id`.
    #[zbus(signal)]
    fn action_invoked(&self, id: u32, action_key: String) -> zbus::Result<()>;

    /// Notification `id` went away: 1 expired, 2 dismissed, 3 closed by a
    /// call, 4 other.
    #[zbus(signal)]
    fn notification_closed(&self, id: u32, reason: u32) -> zbus::Result<()>;
}

/// `urgency` 1: a denial matters, but it is not an emergency that should
/// stay on screen (critical) or skip the sound of normal notifications.
#[must_use]
pub fn hints() -> HashMap<&'static str, Value<'static>> {
    HashMap::from([("urgency", Value::U8(1))])
}
