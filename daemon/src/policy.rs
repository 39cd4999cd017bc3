//! The policy as files and as the daemon keeps it in force. The wing:
//!
//! - [`source`]: reading the policy directory and compiling it against
//!   this machine, keeping each file's last good version;
//! - [`task`]: the one task that reloads (edits, SIGHUP, expiries, the
//!   D-Bus API) and makes the kernel's maps follow;
//! - [`watch`]: noticing edits of the directory and changes at the
//!   profiles' executable paths;
//! - [`identity`]: what the kernel calls a path (device and inode, the
//!   resolved path) and the machine the compiler asks about;
//! - [`store`]: writing profile files atomically, for the D-Bus API.

pub mod identity;
pub mod source;
pub mod store;
pub mod task;
pub mod watch;
