//! Reading the policy directory and compiling it against this machine.
//!
//! The policy crate is pure; this module gives it the machine: real paths
//! (statx + mountinfo for identities, glob expansion) and the users' homes.

use std::{
    collections::HashMap,
    fs,
    os::unix::fs::DirBuilderExt,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context as _;
use bpfbox_abi::InodeKey;
use bpfbox_policy::{CompiledPolicy, Now, Profile, Resolver};

use crate::{cli::Cli, identity};

/// A compiled policy and the names to print for its profiles.
pub struct Loaded {
    /// The kernel map entries.
    pub policy: CompiledPolicy,
    /// Profile id → the profile's executable, for event lines.
    pub names: HashMap<u64, String>,
}

/// The machine, as the policy compiler needs to see it.
struct Machine {
    mounts: identity::Mounts,
    homes: Vec<PathBuf>,
}

impl Resolver for Machine {
    fn inode(&self, path: &Path) -> Option<InodeKey> {
        self.mounts.identity(path).ok()
    }

    fn expand(&self, pattern: &str) -> Vec<PathBuf> {
        glob::glob(pattern)
            .map(|paths| paths.filter_map(Result::ok).collect())
            .unwrap_or_default()
    }

    fn homes(&self) -> Vec<PathBuf> {
        self.homes.clone()
    }
}

/// Loads every profile of `dir` and compiles it at `now`. A bad profile is
/// reported, and the good ones still load; the executable of a rejected
/// profile (when its `profile` key could be read) is confined with nothing
/// allowed until the file is fixed: a typo must not unconfine an app.
pub fn load(dir: &Path, now: &Now) -> anyhow::Result<Loaded> {
    if !dir.exists() {
        // policy may name other users' files: only root reads it
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("failed to create the policy directory {}", dir.display()))?;
    }
    let mut report = bpfbox_policy::load_dir(dir);
    for diagnostic in &report.diagnostics {
        if diagnostic.is_error() {
            tracing::error!("{diagnostic}");
        } else {
            tracing::warn!("{diagnostic}");
        }
    }
    for rejected in &report.rejected {
        if let Some(exe) = &rejected.exe {
            tracing::error!(
                file = %rejected.file.display(),
                exe = %exe.display(),
                "profile rejected: its executable is confined with nothing allowed until it is fixed"
            );
            let mut lockdown = Profile::new(exe.clone());
            lockdown.taint_on_exec = Some(true);
            lockdown.source = Some(rejected.file.clone());
            report.profiles.push(lockdown);
        }
    }
    let machine = Machine {
        mounts: identity::Mounts::read().context("failed to read mountinfo")?,
        homes: identity::homes(),
    };
    let compiled = bpfbox_policy::compile(&report.profiles, &machine, now.clone())
        .context("failed to compile the policy")?;
    for note in &compiled.notes {
        tracing::info!("{note}");
    }
    let names = compiled
        .names
        .iter()
        .map(|(id, exe)| (*id, exe.display().to_string()))
        .collect();
    Ok(Loaded {
        policy: compiled,
        names,
    })
}

/// A fresh id for this daemon run: rules that last `until restart` carry
/// the id of the run that granted them.
pub fn instance_id() -> String {
    let mut bytes = [0u8; 8];
    if fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .is_err()
    {
        // no randomness: time and pid still differ between runs
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        bytes = (t.as_nanos() as u64 ^ u64::from(std::process::id())).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `bpfboxd check [PATH…]`: lint, print every diagnostic, exit 1 on errors.
pub fn check_command(cli: &Cli, paths: &[PathBuf]) -> ExitCode {
    let paths = if paths.is_empty() {
        vec![cli.policy_dir.clone()]
    } else {
        paths.to_vec()
    };
    let diagnostics = bpfbox_policy::lint(&paths);
    for d in &diagnostics {
        eprintln!("{d}");
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    if errors == 0 {
        println!("bpfboxd: no errors ({warnings} warnings)");
        ExitCode::SUCCESS
    } else {
        eprintln!("bpfboxd: {errors} errors, {warnings} warnings");
        ExitCode::FAILURE
    }
}
