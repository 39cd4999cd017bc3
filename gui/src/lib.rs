//! Code shared by the app (`bpfbox-manager`) and the notification agent
//! (`bpfbox-notifier`): both are clients of bpfboxd's D-Bus API.

pub mod agent;
pub mod i18n;
pub mod logging;
