//! The D-Bus contract of `bpfboxd`, shared by the daemon and its clients (the
//! app, the notification agent, the CLI).
//!
//! The daemon owns `org.bpfbox.Bpfbox1` on the system bus. One manager object
//! ([`MANAGER_PATH`]) serves [`MANAGER_INTERFACE`] and
//! `org.freedesktop.DBus.ObjectManager`; every profile is an object of its own
//! ([`profile_path`]) serving [`PROFILE_INTERFACE`]. Every method takes a
//! trailing `a{sv}` of options so that arguments can be added without
//! breaking callers; docs/dbus.md is the reference.
//!
//! What lives here:
//! - the names: bus name, paths, interfaces, polkit actions, error names;
//! - the wire types ([`EventInfo`], [`ProfileSummary`], [`RuleInfo`],
//!   [`Problem`]) and the vocabularies of their string fields ([`Mode`],
//!   [`Kind`], [`EventAction`], [`Severity`]);
//! - [`Error`], which the daemon returns and clients get back, by name;
//! - the checks the daemon runs on every argument ([`validate`], [`options`],
//!   [`Duration`]);
//! - typed proxies: [`ManagerProxy`] and [`ProfileProxy`];
//! - with the `introspection` feature, `normalize_introspection`, to
//!   compare the committed introspection XML with what a running daemon
//!   exports.
//!
//! # Examples
//!
//! ```no_run
//! # async fn run() -> Result<(), bpfbox_dbus::Error> {
//! use bpfbox_dbus::{options, ManagerProxy};
//!
//! let bus = zbus::Connection::system().await?;
//! let manager = ManagerProxy::new(&bus).await?;
//! for profile in manager.list_profiles(&options::none()).await? {
//!     println!("{} {}", profile.executable, profile.mode);
//! }
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod duration;
mod error;
#[cfg(any(test, feature = "introspection"))]
mod introspection;
mod manager;
pub mod names;
pub mod options;
mod path;
mod profile;
mod types;
pub mod validate;

pub use duration::Duration;
pub use error::Error;
#[cfg(feature = "introspection")]
pub use introspection::{normalize_introspection, IntrospectionError};
pub use manager::{DeniedStream, ManagerProxy, PolicyReloadedStream};
pub use names::{BUS_NAME, MANAGER_INTERFACE, MANAGER_PATH, PROFILE_INTERFACE};
pub use path::{profile_id, profile_path};
pub use profile::ProfileProxy;
pub use types::{EventAction, EventInfo, Kind, Mode, Problem, ProfileSummary, RuleInfo, Severity};
/// zbus as this crate uses it, so clients need no version of their own.
pub use zbus;
