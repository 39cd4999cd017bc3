//! Command line of bpfboxd.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// bpfboxd confines applications with BPF-LSM programs, following the
/// profiles in its policy directory.
#[derive(Debug, Parser)]
#[command(name = "bpfboxd", version, about, long_about = None)]
pub struct Cli {
    /// Directory of TOML profiles (one profile per file).
    #[arg(
        long,
        global = true,
        default_value = "/var/lib/bpfbox/policy",
        env = "BPFBOX_POLICY_DIR"
    )]
    pub policy_dir: PathBuf,

    /// Log filter for stderr (tracing syntax: error, warn, info, debug, trace).
    #[arg(long, global = true, default_value = "info", env = "BPFBOX_LOG")]
    pub log_level: String,

    /// Lock file that keeps a second daemon from starting.
    #[arg(long, global = true, default_value = "/run/bpfboxd.lock")]
    pub lock_file: PathBuf,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do; running the daemon is the default.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground (the default; systemd runs it so).
    Run,
    /// Check whether this machine can run bpfbox: root, BTF, BPF LSM active,
    /// and the kernel accepting the programs. Exits 0 when it can.
    Preflight,
    /// Say whether bpfbox is enforcing and a daemon serves it. Exits 0 when
    /// both, 1 when enforcing without a daemon, 3 when nothing is loaded.
    Status,
    /// Detach bpfbox's programs: stop confining anything. Stopping the
    /// daemon does not do this; confinement outlives it by design.
    Unload,
    /// Lint profiles without loading anything; exits 1 on any error.
    Check {
        /// Files or directories to check (default: the policy directory).
        paths: Vec<PathBuf>,
    },
}
