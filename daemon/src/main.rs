//! bpfboxd: confines applications with BPF-LSM programs.
//!
//! `main` reads as the start-up sequence, one log line per step.

mod apply;
// Built ahead of their use in the event loop, which is wired up next: until
// then parts of them have no caller outside their tests.
#[allow(dead_code)]
mod audit;
mod cli;
#[allow(dead_code)]
mod coalesce;
mod config;
mod counters;
mod events;
#[allow(dead_code)]
mod history;
mod identity;
mod instance;
mod kernel;
mod notify;
mod policy_source;
mod preflight;
mod pseudofs;
#[allow(dead_code)]
mod record;
mod status;
mod watch;

use std::{
    collections::BTreeMap,
    path::PathBuf,
    process::ExitCode,
    sync::{Arc, RwLock},
};

use anyhow::Context as _;
use aya::maps::{MapData, RingBuf};
use clap::Parser as _;
use tokio::{io::unix::AsyncFd, signal::unix::SignalKind};
use tracing_subscriber::EnvFilter;

use crate::{
    cli::{Cli, Command},
    config::Settings,
};

/// Profile id → the profile's executable, for readable event lines.
type ProfileNames = Arc<RwLock<BTreeMap<u64, PathBuf>>>;

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
            return policy_source::check_command(&settings.policy_dir, paths)
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
    preflight::check()?;
    kernel::probe()?;
    println!("bpfboxd: this kernel can run bpfbox (BTF present, BPF LSM active, programs load)");
    Ok(())
}

/// Detaches bpfbox: nothing stays confined. Refused while a daemon runs.
fn unload_command(lock: &std::path::Path) -> anyhow::Result<()> {
    preflight::check()?;
    let _lock = instance::InstanceLock::acquire(lock)?;
    kernel::unload()?;
    println!("bpfboxd: programs detached; nothing is confined until bpfboxd runs again");
    Ok(())
}

fn run(settings: &Settings) -> anyhow::Result<()> {
    preflight::check()?;
    match &settings.config_file {
        Some(path) => tracing::info!(config = %path.display(), "configuration read"),
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
    guard_daemon(&mut kernel, &settings.policy_dir)?;

    let instance = policy_source::instance_id();
    tracing::info!(instance = %instance, "daemon instance");
    let mut source = policy_source::PolicySource::new(&settings.policy_dir)?;
    let names: ProfileNames = Arc::new(RwLock::new(BTreeMap::new()));
    let mut next_expiry = reload(&mut source, &mut kernel, &instance, &names)?;

    let events = kernel.take_events()?;
    let stats = kernel.take_stats()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = settings.policy_dir.clone();
    runtime.block_on(async move {
        let counters = counters::Counters::new(stats);
        let reader = tokio::spawn(read_events(
            events,
            Arc::clone(&names),
            Arc::clone(&counters),
        ));
        tokio::spawn(counters::report(counters));
        let (_watcher, mut edits) =
            watch::watch(&dir).context("failed to watch the policy directory")?;
        let mut hup = tokio::signal::unix::signal(SignalKind::hangup())?;
        tokio::spawn(async move {
            loop {
                let expiry = until_unix(next_expiry);
                tokio::select! {
                    Some(()) = edits.recv() => {}
                    _ = hup.recv() => tracing::info!("SIGHUP: reloading"),
                    () = tokio::time::sleep(expiry) => tracing::info!("a temporary rule expired"),
                }
                // let a burst of events (an editor's save) settle first
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                while edits.try_recv().is_ok() {}
                match reload(&mut source, &mut kernel, &instance, &names) {
                    Ok(next) => next_expiry = next,
                    // the maps keep the last policy that applied
                    Err(err) => tracing::error!("reload failed: {err:#}"),
                }
            }
        });
        // every signal handler is in place before anyone is told we are ready
        let mut term = tokio::signal::unix::signal(SignalKind::terminate())?;
        notify::ready().context("failed to notify systemd")?;
        tracing::info!("bpfboxd ready");
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
            res = reader => res.context("event reader panicked")?.context("event reader failed")?,
        }
        anyhow::Ok(())
    })?;
    // the programs stay attached through their pins: stopping the daemon
    // never unconfines anything (`bpfboxd unload` does, explicitly)
    Ok(())
}

/// Reads and compiles the policy directory and makes the kernel maps hold
/// it. Returns when the next temporary rule expires (unix seconds).
fn reload(
    source: &mut policy_source::PolicySource,
    kernel: &mut kernel::Kernel,
    instance: &str,
    names: &ProfileNames,
) -> anyhow::Result<Option<i64>> {
    let now = bpfbox_policy::Now::new(std::time::SystemTime::now()).with_instance(instance);
    let policy = source.load(&now)?;
    let changes = apply::apply(&mut kernel.rule_maps()?, &policy)
        .context("failed to write the policy into the kernel maps")?;
    names
        .write()
        .expect("profile names lock")
        .clone_from(&policy.names);
    tracing::info!(
        profiles = policy.profiles.len(),
        entries = policy.entry_count(),
        written = changes.written,
        removed = changes.removed,
        "policy applied"
    );
    Ok(policy.next_expiry)
}

/// How long until unix time `at`; a long while when there is none.
fn until_unix(at: Option<i64>) -> std::time::Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    at.map_or(std::time::Duration::from_secs(24 * 3600), |at| {
        std::time::Duration::from_secs(u64::try_from(at).unwrap_or(0).saturating_sub(now) + 1)
    })
}

/// Puts bpfboxd's process, policy directory and binary out of reach of every
/// confined task.
fn guard_daemon(kernel: &mut kernel::Kernel, policy_dir: &std::path::Path) -> anyhow::Result<()> {
    use bpfbox_abi::{ProtectedKey, SCOPE_INODE, SCOPE_SUBTREE};

    kernel.set_daemon(std::process::id())?;
    let mounts = identity::Mounts::read().context("failed to read mountinfo")?;
    let exe = std::env::current_exe().context("failed to find bpfboxd's own binary")?;
    let mut keys = Vec::new();
    for (path, scope) in [(policy_dir, SCOPE_SUBTREE), (exe.as_path(), SCOPE_INODE)] {
        let id = mounts
            .identity(path)
            .with_context(|| format!("failed to identify {}", path.display()))?;
        keys.push(ProtectedKey {
            ino: id.ino,
            dev: id.dev,
            scope,
        });
    }
    kernel.protect(&keys)?;
    tracing::info!(policy_dir = %policy_dir.display(), exe = %exe.display(), "self-protection on");
    Ok(())
}

/// Drains the ring buffer and prints one line per event.
async fn read_events(
    ring: RingBuf<MapData>,
    names: ProfileNames,
    counters: Arc<counters::Counters>,
) -> anyhow::Result<()> {
    // SAFETY: the ring buffer owns its fd and keeps it open, unchanged, for
    // as long as the AsyncFd (which owns the ring buffer) lives.
    let mut fd = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
        .map_err(|e| e.into_parts().1)
        .context("failed to poll the event ring buffer")?;
    loop {
        let mut guard = fd.readable_mut().await?;
        let ring = guard.get_inner_mut();
        while let Some(item) = ring.next() {
            counters.count_received();
            let Some(event) = bpfbox_abi::Event::from_bytes(&item) else {
                tracing::warn!(len = item.len(), "short event record");
                continue;
            };
            let profile = names
                .read()
                .expect("profile names lock")
                .get(&event.profile_id)
                .map_or_else(
                    || format!("#{:016x}", event.profile_id),
                    |exe| exe.display().to_string(),
                );
            println!("{}", events::describe(&event, &profile));
        }
        guard.clear_ready();
    }
}
