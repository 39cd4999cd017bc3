//! `bpfboxd status`: is bpfbox enforcing, and is a daemon serving it?
//!
//! Reads only what the kernel and the lock file say, so it answers the same
//! whether or not a daemon runs (the D-Bus API gives the daemon's view).

use std::path::Path;

use bpfbox_abi as abi;

use crate::{instance, kernel};

/// Exit codes in the spirit of LSB `status`.
pub mod exit {
    /// Programs attached and a daemon serving them.
    pub const RUNNING: u8 = 0;
    /// Programs attached, still enforcing, but no daemon: no reloads,
    /// expiries or event log until one starts again.
    pub const ENFORCING_WITHOUT_DAEMON: u8 = 1;
    /// Nothing attached: nothing is confined.
    pub const NOT_LOADED: u8 = 3;
}

pub fn status(lock: &Path, policy_dir: &Path) -> u8 {
    let pins = kernel::pinned_state();
    let daemon = match instance::InstanceLock::acquire(lock) {
        Ok(_free) => None,
        Err(instance::LockError::Held { holder, .. }) => Some(holder),
        Err(err) => Some(format!("unknown ({err})")),
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    println!("enforcing:       {}", yes_no(pins.complete));
    println!(
        "daemon:          {}",
        daemon
            .as_deref()
            .map_or("not running".to_string(), |h| format!("running ({h})"))
    );
    println!("pins:            {}", pins.dir.display());
    if !pins.other_versions.is_empty() {
        println!("other versions:  {}", pins.other_versions.join(" "));
    }
    println!("policy:          {}", policy_dir.display());
    if let Some(n) = pins.profiles {
        println!("profiles:        {n} in the kernel");
    }
    if let Some(stats) = &pins.stats {
        let at = |i: u32| stats.get(i as usize).copied().unwrap_or(0);
        println!(
            "since load:      {} denied, {} complained, {} tainted, {} events, {} lost, {} errors",
            at(abi::STAT_DENIED),
            at(abi::STAT_COMPLAINED),
            at(abi::STAT_TAINTED),
            at(abi::STAT_EVENTS),
            at(abi::STAT_LOST),
            at(abi::STAT_ERRORS),
        );
        println!(
            "file checks:     {} cached, {} by cached directory, {} walks",
            at(abi::STAT_CACHE_HITS),
            at(abi::STAT_CHAIN_HITS),
            at(abi::STAT_WALKS),
        );
        // a file put at a profile's path before a daemon identified it
        println!(
            "execs confined by their path alone: {}",
            at(abi::STAT_EXEC_BY_PATH)
        );
    }
    match (pins.complete, daemon.is_some()) {
        (true, true) => exit::RUNNING,
        (true, false) => {
            println!("note: confinement stays in force; start bpfboxd to follow policy edits and log events");
            exit::ENFORCING_WITHOUT_DAEMON
        }
        (false, _) => exit::NOT_LOADED,
    }
}
