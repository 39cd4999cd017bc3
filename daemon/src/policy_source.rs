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
use bpfbox_policy::{CompiledPolicy, Resolver};

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

/// Loads every profile of `dir` and compiles it. A bad profile is reported
/// and left out; the good ones still load.
pub fn load(dir: &Path) -> anyhow::Result<Loaded> {
    if !dir.exists() {
        // policy may name other users' files: only root reads it
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("failed to create the policy directory {}", dir.display()))?;
    }
    let report = bpfbox_policy::load_dir(dir);
    for diagnostic in &report.diagnostics {
        tracing::error!("{diagnostic}");
    }
    let machine = Machine {
        mounts: identity::Mounts::read().context("failed to read mountinfo")?,
        homes: identity::homes(),
    };
    let compiled = bpfbox_policy::compile(&report.profiles, &machine, std::time::SystemTime::now())
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
    if diagnostics.is_empty() {
        println!("bpfboxd: no problems found");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
