//! Support for bpfbox's guest tests: a real `bpfboxd` per test, a scratch
//! directory with its own copy of the probe binary, and helpers to run
//! confined and unconfined commands.
//!
//! Tests panic (no `Result`) so failures keep their stack traces, and a
//! missing kernel feature is a failure, never a silent skip: these tests only
//! run where scripts/test put them, inside the guest.

pub mod bus;
pub mod desktop;
pub mod floor;

use std::{
    fs,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread,
    time::{Duration, Instant},
};

/// One daemon at a time: its instance lock and the LSM hooks are global.
static SERIAL: Mutex<()> = Mutex::new(());

/// The directory holding the workspace's built binaries (`target/<profile>`).
#[must_use]
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BPFBOX_BIN_DIR") {
        return dir.into();
    }
    // test executables live in target/<profile>/deps/
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

/// Panics unless the running kernel has BPF LSM active.
pub fn require_bpf_lsm() {
    let lsm = fs::read_to_string("/sys/kernel/security/lsm").unwrap_or_default();
    assert!(
        lsm.split(',').any(|l| l.trim() == "bpf"),
        "BPF LSM is not active here (lsm list: {lsm:?}): run guest tests with scripts/test"
    );
}

/// A running `bpfboxd` and the event lines it printed.
pub struct Daemon {
    child: Child,
    lines: Arc<(Mutex<Vec<String>>, Condvar)>,
    log: Arc<(Mutex<Vec<String>>, Condvar)>,
    _serial: MutexGuard<'static, ()>,
}

impl Daemon {
    /// Starts bpfboxd on `policy_dir` and waits until it is ready.
    pub fn start(policy_dir: &Path) -> Self {
        Self::start_with(policy_dir, &[])
    }

    /// [`Daemon::start`] with more command-line arguments.
    pub fn start_with(policy_dir: &Path, args: &[&str]) -> Self {
        require_bpf_lsm();
        let serial = SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut child = Command::new(bin_dir().join("bpfboxd"))
            .arg("--policy-dir")
            .arg(policy_dir)
            .arg("--lock-file")
            .arg(policy_dir.join("bpfboxd.lock"))
            .arg("--log-level")
            .arg("info")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn bpfboxd");
        let lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        collect(child.stdout.take().unwrap(), Arc::clone(&lines), "");
        let stderr = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        collect(
            child.stderr.take().unwrap(),
            Arc::clone(&stderr),
            "bpfboxd: ",
        );
        let daemon = Self {
            child,
            lines,
            log: Arc::clone(&stderr),
            _serial: serial,
        };
        // The first daemon of a boot verifies every program (about a minute
        // under QEMU's emulation); later ones adopt the pinned programs.
        if wait_line(
            &stderr,
            |l| l.contains("bpfboxd ready"),
            Duration::from_secs(400),
        )
        .is_none()
        {
            let log = stderr.0.lock().unwrap().join("\n");
            panic!("bpfboxd did not become ready; its log:\n{log}");
        }
        daemon
    }

    /// Waits for an event line matching `pred` and returns it.
    pub fn wait_event(&self, pred: impl Fn(&str) -> bool) -> String {
        wait_line(&self.lines, pred, Duration::from_secs(20)).unwrap_or_else(|| {
            panic!(
                "no matching event; the daemon printed:\n{}",
                self.lines.0.lock().unwrap().join("\n")
            )
        })
    }

    /// Waits until the daemon's log has `count` lines matching `pred`
    /// (its log is the place where reloads and errors show).
    pub fn wait_log(&self, count: usize, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = self.log.0.lock().unwrap();
        while seen.iter().filter(|l| pred(l)).count() < count {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| {
                    panic!(
                        "the daemon's log never showed it; its log:\n{}",
                        seen.join("\n")
                    )
                });
            seen = self.log.1.wait_timeout(seen, left).unwrap().0;
        }
    }

    /// Every log line so far.
    #[must_use]
    pub fn log(&self) -> Vec<String> {
        self.log.0.lock().unwrap().clone()
    }

    /// Kills the daemon with SIGKILL, as a crash or `kill -9` would.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The daemon's pid.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every event line so far.
    #[must_use]
    pub fn events(&self) -> Vec<String> {
        self.lines.0.lock().unwrap().clone()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.child.id().cast_signed(), libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(
    pipe: impl std::io::Read + Send + 'static,
    lines: Arc<(Mutex<Vec<String>>, Condvar)>,
    echo: &'static str,
) {
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if !echo.is_empty() {
                eprintln!("{echo}{line}");
            }
            lines.0.lock().unwrap().push(line);
            lines.1.notify_all();
        }
    });
}

fn wait_line(
    lines: &(Mutex<Vec<String>>, Condvar),
    pred: impl Fn(&str) -> bool,
    timeout: Duration,
) -> Option<String> {
    let deadline = Instant::now() + timeout;
    let mut seen = lines.0.lock().unwrap();
    loop {
        if let Some(line) = seen.iter().find(|l| pred(l)) {
            return Some(line.clone());
        }
        let left = deadline.checked_duration_since(Instant::now())?;
        seen = lines.1.wait_timeout(seen, left).unwrap().0;
    }
}

/// A scratch directory for one test, removed on drop.
pub struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    /// Creates `/tmp/bpfbox-<name>-<pid>` with an empty `policy/` inside.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("bpfbox-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("policy")).expect("create sandbox");
        Self { dir }
    }

    /// The sandbox directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The policy directory to give the daemon.
    #[must_use]
    pub fn policy_dir(&self) -> PathBuf {
        self.dir.join("policy")
    }

    /// A private copy of the probe binary: its own inode, so a profile for it
    /// confines nothing else.
    pub fn probe(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        fs::copy(bin_dir().join("bpfbox-probe"), &path).expect("copy probe");
        path
    }

    /// Writes a file with `contents`.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.join(name);
        fs::write(&path, contents).expect("write file");
        path
    }

    /// Writes a profile into the policy directory.
    pub fn profile(&self, file_name: &str, toml: &str) {
        fs::write(self.policy_dir().join(file_name), toml).expect("write profile");
    }

    /// Replaces a profile the way editors save: a temporary file renamed
    /// over the old one.
    pub fn save_profile(&self, file_name: &str, toml: &str) {
        let tmp = self.policy_dir().join(format!(".{file_name}.swp"));
        fs::write(&tmp, toml).expect("write temporary profile");
        fs::rename(&tmp, self.policy_dir().join(file_name)).expect("rename profile");
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// What a probe run reported.
#[derive(Debug)]
pub struct Outcome {
    /// Exit status (probe: 0 done, 1 denied, 2 other error).
    pub code: i32,
    /// Its standard output.
    pub stdout: String,
}

impl Outcome {
    /// The pid the probe printed first.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix("pid="))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no pid in {:?}", self.stdout))
    }
}

/// Runs `program` with `args` and captures its outcome.
pub fn run(program: &Path, args: &[&str]) -> Outcome {
    let out = Command::new(program)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

/// Rules every dynamically linked program needs to start: its loader and
/// libraries (read, exec) and the linker cache.
pub const RUNTIME_RULES: &str = r#"
[[fs]]
file = ["/usr/**", "/lib/**", "/lib64/**", "/etc/ld.so.cache"]
access = ["read", "exec", "getattr"]
"#;
