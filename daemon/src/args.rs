//! Command line of bpfboxd.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// bpfboxd confines applications with BPF-LSM programs, following the
/// profiles in its policy directory.
#[derive(Debug, Parser)]
#[command(name = "bpfboxd", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (default /etc/bpfbox/bpfboxd.toml, which may be
    /// absent). Flags and environment variables override its keys.
    #[arg(long, global = true, env = "BPFBOX_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory of TOML profiles, one profile per file
    /// [default: /var/lib/bpfbox/policy].
    #[arg(long, global = true, env = "BPFBOX_POLICY_DIR", value_name = "DIR")]
    pub policy_dir: Option<PathBuf>,

    /// Log filter for stderr (tracing syntax: error, warn, info, debug,
    /// trace) [default: info].
    #[arg(long, global = true, env = "BPFBOX_LOG", value_name = "FILTER")]
    pub log_level: Option<String>,

    /// Lock file that keeps a second daemon from starting
    /// [default: /run/bpfboxd.lock].
    #[arg(long, global = true, env = "BPFBOX_LOCK_FILE", value_name = "FILE")]
    pub lock_file: Option<PathBuf>,

    /// Audit log file, or "none" (or empty) for no audit log
    /// [default: /var/log/bpfbox/bpfbox.log].
    #[arg(long, global = true, env = "BPFBOX_AUDIT_LOG", value_name = "FILE")]
    pub audit_log: Option<String>,

    /// Rotate the audit log when it would grow past this many bytes; 0
    /// leaves rotation to logrotate [default: 0].
    #[arg(
        long,
        global = true,
        env = "BPFBOX_AUDIT_LOG_MAX_SIZE",
        value_name = "BYTES"
    )]
    pub audit_log_max_size: Option<u64>,

    /// Rotated audit logs to keep with --audit-log-max-size [default: 5].
    #[arg(long, global = true, env = "BPFBOX_AUDIT_LOG_KEEP", value_name = "N")]
    pub audit_log_keep: Option<usize>,

    /// Profiles shipped by packages: a profile whose file name is also
    /// here can be reset to this version [default: /usr/share/bpfbox/profiles].
    #[arg(long, global = true, env = "BPFBOX_PACKAGED_DIR", value_name = "DIR")]
    pub packaged_dir: Option<PathBuf>,

    /// Recent events kept in memory for clients [default: 10000].
    #[arg(long, global = true, env = "BPFBOX_HISTORY_SIZE", value_name = "N")]
    pub history_size: Option<usize>,

    /// Identical events within this many milliseconds are logged once, with
    /// a count; 0 logs every event [default: 2000].
    #[arg(
        long,
        global = true,
        env = "BPFBOX_COALESCE_WINDOW_MS",
        value_name = "MS"
    )]
    pub coalesce_window_ms: Option<u64>,

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
