//! The notification agent (`bpfbox-notifier`): tells the person in real time
//! that bpfbox denied one of their apps something, and lets them answer
//! from the notification (docs/notifications.md).
//!
//! The pure parts — the wording, flood control and the settings file — are
//! modules of their own with unit tests; [`service`] wires them to the two
//! buses.

pub mod flood;
pub mod notifications;
pub mod service;
pub mod settings;
pub mod wording;
