//! bpfboxd: confines applications with BPF-LSM programs.
//!
//! `main` reads as the start-up sequence, one log line per step.

mod args;
mod bus;
mod config;
mod events;
mod guard;
mod instance;
mod kernel;
mod notify;
mod policy;
mod state;
mod status;

use std::{process::ExitCode, sync::Arc};

use anyhow::Context as _;
use clap::Parser as _;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::EnvFilter;

use crate::{
    args::{Cli, Command},
    config::Settings,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::resolve(&cli) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("bpfboxd: {err}");
            return ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        None | Some(Command::Run) => run(&settings),
        Some(Command::Preflight) => preflight_command(),
        Some(Command::Unload) => unload_command(&settings.lock_file),
        Some(Command::Check { ref paths }) => {
            return policy::source::check_command(&settings.policy_dir, paths)
        }
        Some(Command::Status) => {
            return ExitCode::from(status::status(&settings.lock_file, &settings.policy_dir))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bpfboxd: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Everything short of serving: checks, then a real load of the programs.
fn preflight_command() -> anyhow::Result<()> {
    kernel::preflight::check()?;
    kernel::probe()?;
    println!("bpfboxd: this kernel can run bpfbox (BTF present, BPF LSM active, programs load)");
    Ok(())
}

/// Detaches bpfbox: nothing stays confined. Refused while a daemon runs.
fn unload_command(lock: &std::path::Path) -> anyhow::Result<()> {
    kernel::preflight::check()?;
    let _lock = instance::InstanceLock::acquire(lock)?;
    kernel::unload()?;
    println!("bpfboxd: programs detached; nothing is confined until bpfboxd runs again");
    Ok(())
}

fn run(settings: &Settings) -> anyhow::Result<()> {
    kernel::preflight::check()?;
    kernel::preflight::warn_about_ambiguous_overlays();
    match &settings.config_file {
        Some(path) => {
            guard::check_only_root_could_change(path).context("refusing the configuration")?;
            tracing::info!(config = %path.display(), "configuration read");
        }
        None => tracing::info!("no configuration file: built-in defaults and flags"),
    }
    let lock = instance::InstanceLock::acquire(&settings.lock_file)?;
    tracing::info!(lock = %lock.path().display(), "single instance lock held");

    let mut kernel = kernel::Kernel::open()?;
    tracing::info!(
        lsm = bpfbox_ebpf::LSM_PROGRAMS.len(),
        tracepoints = bpfbox_ebpf::TRACEPOINTS.len(),
        origin = ?kernel.origin,
        pins = %kernel::pin_dir().display(),
        "BPF programs attached"
    );
    guard::guard(&mut kernel, settings)?;

    let audit = match &settings.audit_log {
        Some(path) => Some(
            events::audit::AuditLog::open(path, settings.audit_rotation)
                .with_context(|| format!("failed to open the audit log {}", path.display()))?,
        ),
        None => None,
    };
    let instance = policy::source::instance_id();
    tracing::info!(instance = %instance, audit_log = ?settings.audit_log, "daemon instance");
    let events = kernel.take_events()?;
    let counters = events::counters::Counters::new(kernel.take_stats()?);
    let shared = state::DaemonState::new(
        events::history::History::new(settings.history_size),
        Arc::clone(&counters),
        instance,
        &settings.policy_dir,
        &settings.packaged_dir,
    );
    let source = policy::source::PolicySource::new(&settings.policy_dir)?;
    let policy = policy::task::PolicyTask::start(source, kernel, Arc::clone(&shared))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = settings.policy_dir.clone();
    let coalescer = events::coalesce::Coalescer::new(
        settings.coalesce_window,
        events::coalesce::DEFAULT_MAX_PENDING,
    );
    runtime.block_on(async move {
        let reopen = Arc::new(tokio::sync::Notify::new());
        let stop = Arc::new(tokio::sync::Notify::new());
        let pipeline = events::pipeline::Pipeline::new(
            Arc::clone(&shared),
            coalescer,
            audit,
            Arc::clone(&reopen),
            Arc::clone(&stop),
        );
        let mut reader = tokio::spawn(pipeline.run(events));
        tokio::spawn(events::counters::report(counters));
        let (watch, edits) =
            policy::watch::watch(&dir).context("failed to watch the policy directory")?;
        let (control, control_rx) = tokio::sync::mpsc::channel(16);
        tokio::spawn(policy.run(watch, edits, signal(SignalKind::hangup())?, control_rx));
        let mut hup = signal(SignalKind::hangup())?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                reopen.notify_one();
            }
        });
        // confinement does not depend on the bus: without one, it goes on
        let _bus = match bus::serve(Arc::clone(&shared), control).await {
            Ok(conn) => {
                tracing::info!(name = bpfbox_dbus::BUS_NAME, "D-Bus API on the system bus");
                Some(conn)
            }
            Err(err) => {
                tracing::warn!("no D-Bus API (confinement continues without it): {err}");
                None
            }
        };
        // every signal handler is in place before anyone is told we are ready
        let mut term = signal(SignalKind::terminate())?;
        notify::ready().context("failed to notify systemd")?;
        tracing::info!("bpfboxd ready");
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
            res = &mut reader => {
                res.context("event reader panicked")?.context("event reader failed")?;
            }
        }
        // events being coalesced still go to the log
        stop.notify_one();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), reader).await;
        anyhow::Ok(())
    })?;
    // the programs stay attached through their pins: stopping the daemon
    // never unconfines anything (`bpfboxd unload` does, explicitly)
    Ok(())
}
