//! Reading the policy directory and compiling it against this machine.
//!
//! The policy crate is pure; this module gives it the machine: real paths
//! (statx + mountinfo for identities, glob expansion) and the users' homes.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    os::unix::fs::DirBuilderExt,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context as _;
use bpfbox_abi::InodeKey;
use bpfbox_policy::{CompiledPolicy, Now, Profile, Resolver};

use crate::policy::identity;

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

    fn real_path(&self, path: &Path) -> PathBuf {
        identity::real_path(path)
    }
}

/// The policy directory, as last read: every file's last good profile.
pub struct PolicySource {
    dir: PathBuf,
    last_good: BTreeMap<PathBuf, Profile>,
    view: PolicyView,
}

/// What the last load found, for the D-Bus API: the profiles in force, the
/// file each came from, and every problem.
#[derive(Debug, Clone, Default)]
pub struct PolicyView {
    /// The profiles in force, by profile id.
    pub profiles: BTreeMap<u64, ProfileView>,
    /// Errors and warnings of the last load, all files.
    pub problems: Vec<bpfbox_policy::Diagnostic>,
}

/// One profile in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileView {
    /// The profile as its file says (its last good version).
    pub profile: Profile,
    /// The file it came from.
    pub file: PathBuf,
    /// The file was never good: its executable is confined with nothing
    /// allowed until the file is fixed.
    pub lockdown: bool,
    /// The first error of its file, when the file's current text is
    /// rejected (the last good version is in force).
    pub last_error: Option<String>,
    /// The identity of the file at its executable path as of the last
    /// load; none: not installed.
    pub executable: Option<InodeKey>,
}

impl PolicySource {
    /// The policy in `dir`, created (root-only) if missing.
    pub fn new(dir: &Path) -> anyhow::Result<Self> {
        if !dir.exists() {
            // policy may name other users' files: only root reads it
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| {
                    format!("failed to create the policy directory {}", dir.display())
                })?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            last_good: BTreeMap::new(),
            view: PolicyView::default(),
        })
    }

    /// What the last [`load`](Self::load) found.
    pub fn view(&self) -> &PolicyView {
        &self.view
    }

    /// Reads the directory and compiles it at `now`. A directory that
    /// anyone but root could have changed (it or a directory above it) is
    /// refused.
    ///
    /// A file with errors is reported, and its last good version stays in
    /// force; a bad file never seen good confines its executable (when its
    /// `profile` key could be read) with nothing allowed until it is fixed:
    /// a typo must not unconfine an app. A deleted file's profile goes.
    pub fn load(&mut self, now: &Now) -> anyhow::Result<CompiledPolicy> {
        // a directory someone else could have filled is no policy: the
        // last one applied stays in force (at start, the daemon stops)
        crate::guard::check_only_root_could_change(&self.dir)
            .context("refusing the policy directory")?;
        let mut report = bpfbox_policy::load_dir(&self.dir);
        crate::kernel::symbols::check(&mut report);
        bpfbox_policy::check_executable_links(&mut report);
        for diagnostic in &report.diagnostics {
            if diagnostic.is_error() {
                tracing::error!("{diagnostic}");
            } else {
                tracing::warn!("{diagnostic}");
            }
        }
        let mut present: BTreeSet<PathBuf> = BTreeSet::new();
        for profile in report.profiles {
            let file = profile
                .source
                .clone()
                .unwrap_or_else(|| profile.profile.clone());
            present.insert(file.clone());
            self.last_good.insert(file, profile);
        }
        let mut lockdowns = Vec::new();
        for rejected in &report.rejected {
            present.insert(rejected.file.clone());
            if self.last_good.contains_key(&rejected.file) {
                tracing::error!(
                    file = %rejected.file.display(),
                    "profile rejected: its last good version stays in force"
                );
            } else if let Some(exe) = &rejected.exe {
                tracing::error!(
                    file = %rejected.file.display(),
                    exe = %exe.display(),
                    "profile rejected: its executable is confined with nothing allowed until it is fixed"
                );
                let mut lockdown = Profile::new(exe.clone());
                lockdown.taint_on_exec = Some(true);
                lockdown.source = Some(rejected.file.clone());
                lockdowns.push(lockdown);
            }
        }
        self.last_good.retain(|file, _| present.contains(file));
        // a lockdown never replaces a good profile of the same executable
        lockdowns.retain(|l| !self.last_good.values().any(|p| p.profile == l.profile));
        let profiles: Vec<Profile> = self
            .last_good
            .values()
            .cloned()
            .chain(lockdowns.iter().cloned())
            .collect();
        self.view = view(&profiles, &lockdowns, report.diagnostics);

        let machine = Machine {
            mounts: identity::Mounts::read().context("failed to read mountinfo")?,
            homes: bpfbox_users::homes(),
        };
        let compiled = bpfbox_policy::compile(&profiles, &machine, now.clone())
            .context("failed to compile the policy")?;
        for note in &compiled.notes {
            tracing::info!("{note}");
        }
        Ok(compiled)
    }
}

fn view(
    profiles: &[Profile],
    lockdowns: &[Profile],
    problems: Vec<bpfbox_policy::Diagnostic>,
) -> PolicyView {
    let first_error = |file: &Path| {
        problems
            .iter()
            .find(|d| d.is_error() && d.path == file)
            .map(ToString::to_string)
    };
    let profiles = profiles
        .iter()
        .map(|p| {
            let file = p.source.clone().unwrap_or_else(|| p.profile.clone());
            let view = ProfileView {
                lockdown: lockdowns.iter().any(|l| l.source == p.source),
                last_error: first_error(&file),
                executable: None,
                file,
                profile: p.clone(),
            };
            (p.id(), view)
        })
        .collect();
    PolicyView { profiles, problems }
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
pub fn check_command(policy_dir: &Path, paths: &[PathBuf]) -> ExitCode {
    let paths = if paths.is_empty() {
        vec![policy_dir.to_path_buf()]
    } else {
        paths.to_vec()
    };
    let mut report = bpfbox_policy::lint_report(&paths);
    crate::kernel::symbols::check(&mut report);
    bpfbox_policy::check_executable_links(&mut report);
    let diagnostics = report.diagnostics;
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
