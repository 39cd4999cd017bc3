//! bpfbox's enforcement scenarios on a real kernel.
//!
//! Each row is a profile (added to a base profile for a private copy of the
//! probe that allows loading libraries), files set up beforehand, one probe
//! run, and the verdict expected. Rows come from bpfbox's own test suite
//! (files, directories, /proc, signals, sockets, taint), bpfcontain's
//! per-thread case, and escape attempts that must fail.
//!
//! Placeholders: `{d}` the row's scratch directory, `{sleeper}` the path of a
//! second confined program and `{sleeper_pid}` its pid, `{daemon_pid}`
//! bpfboxd's pid, `{policy}` the policy directory, `{port}` a TCP port where
//! an unconfined listener waits.
//!
//! Setup entries: `name` a file, `name/` a directory, `name->target` a
//! symlink, `name=true` a copy of /usr/bin/true.

use std::{
    fmt::Write as _,
    fs,
    net::TcpListener,
    os::unix::net::UnixListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::SystemTime,
};

use bpfbox_abi as abi;
use bpfbox_policy::{Capability, Family, FsAccess, NetOps, Now, Policy, Request, TaskTarget};
use bpfbox_tests::{run, Daemon, Sandbox, RUNTIME_RULES};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Denied,
}
use Verdict::{Allowed, Denied};

pub struct Row {
    pub name: &'static str,
    pub rules: &'static str,
    pub setup: &'static [&'static str],
    pub op: &'static [&'static str],
    pub expect: Verdict,
}

const fn row(
    name: &'static str,
    rules: &'static str,
    setup: &'static [&'static str],
    op: &'static [&'static str],
    expect: Verdict,
) -> Row {
    Row {
        name,
        rules,
        setup,
        op,
        expect,
    }
}

const TAINT_ON_EXEC: &str = "taint_on_exec = true\n";

/// Everything a row needs running around it.
struct World {
    sandbox: Sandbox,
    sleeper: Option<Child>,
    listener: Option<TcpListener>,
    unix_listener: Option<UnixListener>,
    daemon: Option<Daemon>,
}

impl World {
    fn expand(&self, text: &str) -> String {
        let d = self.sandbox.path().display().to_string();
        let mut out = text
            .replace("{d}", &d)
            .replace("{sleeper}", &format!("{d}/sleeper"))
            .replace("{policy}", &self.sandbox.policy_dir().display().to_string());
        if let Some(s) = &self.sleeper {
            out = out.replace("{sleeper_pid}", &s.id().to_string());
        }
        if let Some(l) = &self.listener {
            out = out.replace("{port}", &l.local_addr().unwrap().port().to_string());
        }
        if let Some(daemon) = &self.daemon {
            out = out.replace("{daemon_pid}", &daemon.pid().to_string());
        }
        out
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(mut s) = self.sleeper.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
    }
}

/// The policy engine's view of one row: the profiles as loaded, and the
/// requests the probe's operations make, in the kernel's order.
struct Oracle {
    policy: Policy,
    exe: PathBuf,
    sleeper: PathBuf,
    tainted_at_exec: bool,
}

impl Oracle {
    fn new(profiles: &[(PathBuf, String)], exe: &Path, sleeper: &Path) -> Self {
        let parsed: Vec<_> = profiles
            .iter()
            .map(|(path, text)| bpfbox_policy::parse_str(text, path).expect("profile parses"))
            .collect();
        let now = Now::from(SystemTime::now());
        let tainted_at_exec = parsed
            .iter()
            .find(|p| p.profile == exe)
            .is_some_and(|p| p.taints_on_exec(&now));
        Self {
            policy: Policy::new(parsed, &[], SystemTime::now()).expect("policy compiles"),
            exe: exe.to_path_buf(),
            sleeper: sleeper.to_path_buf(),
            tainted_at_exec,
        }
    }

    /// The verdict for a whole probe run, or None when a row is decided by
    /// something beyond the policy (self-protection of bpfboxd, bpf(2)).
    fn verdict(&self, args: &[String], guarded: &[String]) -> Option<Verdict> {
        if args
            .iter()
            .any(|a| a == "bpf" || guarded.iter().any(|g| a.contains(g.as_str())))
        {
            return None;
        }
        if let [op, taint, secret] = args {
            if op == "thread-taint" {
                let read = |p: &str, tainted| self.decide_seq(&[fs_req(p, abi::FS_READ)], tainted);
                let (taint_ok, tainted) = read(taint, self.tainted_at_exec);
                let (thread_secret, _) = read(secret, tainted);
                let (main_secret, _) = read(secret, self.tainted_at_exec);
                let as_expected = taint_ok && !thread_secret && main_secret;
                return Some(if as_expected { Allowed } else { Denied });
            }
        }
        let mut tainted = self.tainted_at_exec;
        for op in args.split(|a| a == "+") {
            let (allowed, after) = self.decide_seq(&self.requests(op), tainted);
            if !allowed {
                return Some(Denied);
            }
            tainted = after;
        }
        Some(Allowed)
    }

    /// Decides requests in order, carrying taint; stops at the first denial.
    fn decide_seq(&self, requests: &[Request], mut tainted: bool) -> (bool, bool) {
        for request in requests {
            let v = self.policy.decide(&self.exe, tainted, 0, request);
            if v.decision.bits & abi::DECISION_DENY != 0 {
                return (false, v.decision.tainted_after);
            }
            tainted = v.decision.tainted_after;
        }
        (true, tainted)
    }

    fn target(&self, pid: &str) -> TaskTarget {
        match pid {
            "self" => TaskTarget::SameProcess,
            "1" => TaskTarget::Unconfined,
            _ => TaskTarget::Profile(self.sleeper.clone()),
        }
    }

    fn requests(&self, op: &[String]) -> Vec<Request> {
        let op: Vec<&str> = op.iter().map(String::as_str).collect();
        let net = |family: &str, ops: u32| Request::Net {
            family: Family::from_name(family).expect("family"),
            operations: NetOps(ops),
        };
        match op.as_slice() {
            ["open" | "fork-open", path, mode] => vec![self.open_req(path, open_bits(mode))],
            ["uring-open" | "fd-reopen", path] => vec![self.open_req(path, abi::FS_READ)],
            ["create" | "mkdir", path] | ["symlink", _, path] => {
                vec![fs_req(&parent(path), abi::FS_WRITE)]
            }
            ["unlink" | "rmdir", path] => {
                vec![
                    fs_req(&parent(path), abi::FS_WRITE),
                    fs_req(path, abi::FS_RM),
                ]
            }
            ["link", old, new] => vec![
                fs_req(&parent(new), abi::FS_WRITE),
                fs_req(old, abi::FS_LINK),
            ],
            ["rename", old, new] => {
                let mut r = vec![
                    fs_req(&parent(old), abi::FS_WRITE),
                    fs_req(old, abi::FS_RM),
                    fs_req(&parent(new), abi::FS_WRITE),
                ];
                if Path::new(new).exists() {
                    r.push(fs_req(new, abi::FS_RM));
                }
                r
            }
            ["chmod", path, _] | ["truncate", path] | ["setxattr", path] => {
                vec![fs_req(path, abi::FS_SETATTR)]
            }
            ["stat", path] | ["getxattr", path] => vec![fs_req(path, abi::FS_GETATTR)],
            ["kill", pid, sig] => vec![Request::Signal {
                target: self.target(pid),
                signal: sig.parse().expect("signal number"),
            }],
            ["ptrace", pid] => vec![Request::Ptrace {
                target: self.target(pid),
            }],
            ["socket", family, _] => vec![net(family, abi::NET_CREATE)],
            ["socketpair"] => vec![net("unix", abi::NET_CREATE)],
            ["tcp-connect", _] => vec![net("inet", abi::NET_CREATE), net("inet", abi::NET_CONNECT)],
            // socket, bind (its hook runs before inet_bind asks for the
            // capability a port below 1024 needs), listen
            ["tcp-listen", port] => {
                let mut r = vec![net("inet", abi::NET_CREATE), net("inet", abi::NET_BIND)];
                if port.parse::<u16>().is_ok_and(|p| p > 0 && p < 1024) {
                    r.push(Request::Capability {
                        cap: Capability::from_name("net_bind_service").expect("capability"),
                    });
                }
                r.push(net("inet", abi::NET_LISTEN));
                r
            }
            ["unix-connect", _] => {
                vec![net("unix", abi::NET_CREATE), net("unix", abi::NET_CONNECT)]
            }
            ["exec", program, rest @ ..] => {
                let mut r = vec![fs_req(program, abi::FS_READ | abi::FS_EXEC)];
                if program.ends_with("/cat") {
                    r.extend(rest.iter().map(|f| self.open_req(f, abi::FS_READ)));
                } else if !rest.is_empty() {
                    let rest: Vec<String> = rest.iter().map(|s| (*s).to_string()).collect();
                    r.extend(self.requests(&rest));
                }
                r
            }
            ["sleep", _] => vec![],
            other => panic!("no oracle translation for {other:?}"),
        }
    }

    /// An open: `/proc/<pid>/…` is about that process; other paths are
    /// decided as the kernel sees them, symlinks resolved.
    fn open_req(&self, path: &str, bits: u32) -> Request {
        if let Some(rest) = path.strip_prefix("/proc/") {
            let pid = rest.split('/').next().unwrap_or_default();
            if pid == "self" || pid.parse::<u32>().is_ok() {
                return Request::Proc {
                    target: self.target(pid),
                    access: FsAccess(bits),
                };
            }
        }
        fs_req(path, bits)
    }
}

fn open_bits(mode: &str) -> u32 {
    match mode {
        "read" => abi::FS_READ,
        "write" => abi::FS_WRITE,
        "append" => abi::FS_APPEND,
        _ => abi::FS_READ | abi::FS_WRITE,
    }
}

fn fs_req(path: &str, bits: u32) -> Request {
    let path = fs::canonicalize(path).unwrap_or_else(|_| PathBuf::from(path));
    Request::Fs {
        path,
        access: FsAccess(bits),
    }
}

fn parent(path: &str) -> String {
    let p = Path::new(path);
    let parent = fs::canonicalize(p.parent().unwrap()).unwrap();
    parent.display().to_string()
}

/// Runs one row; returns the kernel's verdict and the oracle's.
fn verdicts(r: &Row, slug: &str) -> (Verdict, Option<Verdict>) {
    let sandbox = Sandbox::new(slug);
    let probe = sandbox.probe("probe");
    let mut world = World {
        sandbox,
        sleeper: None,
        listener: None,
        unix_listener: None,
        daemon: None,
    };
    let d = world.sandbox.path().to_path_buf();
    for entry in r.setup {
        setup_entry(&d, entry);
    }
    let wants = |p: &str| r.rules.contains(p) || r.op.iter().any(|o| o.contains(p));
    let mut profiles = Vec::new();
    if wants("{sleeper") {
        world.sandbox.probe("sleeper");
        let text = world.expand(&format!("profile = \"{{sleeper}}\"\n{RUNTIME_RULES}"));
        world.sandbox.profile("sleeper.toml", &text);
        profiles.push((world.sandbox.policy_dir().join("sleeper.toml"), text));
    }
    if wants("{port}") {
        world.listener = Some(TcpListener::bind("127.0.0.1:0").unwrap());
    }
    if r.op.iter().any(|o| o.ends_with("/sock")) {
        world.unix_listener = Some(UnixListener::bind(d.join("sock")).unwrap());
    }
    let taint = if r.rules.contains("taint_on_exec") || r.rules.contains("action") {
        ""
    } else {
        TAINT_ON_EXEC
    };
    let profile = format!(
        "profile = \"{}\"\n{taint}{}\n{RUNTIME_RULES}",
        probe.display(),
        r.rules
    );
    let text = world.expand(&profile);
    world.sandbox.profile("probe.toml", &text);
    profiles.push((world.sandbox.policy_dir().join("probe.toml"), text));
    world.daemon = Some(Daemon::start(&world.sandbox.policy_dir()));
    if wants("{sleeper") {
        // a pipe for its output: writing to an inherited /dev/null would
        // need a rule (docs/kernel.md, "Descriptors")
        let child = Command::new(d.join("sleeper"))
            .args(["sleep", "60"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        world.sleeper = Some(child);
        // let the sleeper pass exec so it is listed as confined
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let args: Vec<String> = r.op.iter().map(|a| world.expand(a)).collect();
    let guarded = vec![
        world.daemon.as_ref().unwrap().pid().to_string(),
        world.sandbox.policy_dir().display().to_string(),
    ];
    let oracle = Oracle::new(&profiles, &probe, &d.join("sleeper")).verdict(&args, &guarded);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&probe, &args);
    let kernel = match out.code {
        0 => Allowed,
        1 => Denied,
        _ => panic!("{}: probe failed for another reason: {out:?}", r.name),
    };
    (kernel, oracle)
}

fn setup_entry(d: &Path, entry: &str) {
    if let Some(dir) = entry.strip_suffix('/') {
        fs::create_dir_all(d.join(dir)).unwrap();
    } else if let Some((link, target)) = entry.split_once("->") {
        std::os::unix::fs::symlink(d.join(target), d.join(link)).unwrap();
    } else if let Some(name) = entry.strip_suffix("=true") {
        fs::copy("/usr/bin/true", d.join(name)).unwrap();
    } else {
        if let Some(parent) = d.join(entry).parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(d.join(entry), "data\n").unwrap();
    }
}

/// Runs every row, prints the table (scenario, expected, kernel, oracle),
/// and fails listing every row where the kernel missed the expectation or
/// the policy engine disagreed with the kernel.
fn check_table(table: &str, rows: &[Row]) {
    let mut report = format!(
        "\n[{table}] kernel {}\n{:<70} {:<8} {:<8} {:<8}\n",
        kernel_release(),
        "scenario",
        "expected",
        "kernel",
        "oracle"
    );
    let mut failures = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let (kernel, oracle) = verdicts(r, &format!("{table}-{i}"));
        let oracle_word = oracle.map_or("n/a".to_string(), |o| format!("{o:?}"));
        let _ = writeln!(
            report,
            "{:<70} {:<8} {:<8} {:<8}",
            r.name,
            format!("{:?}", r.expect),
            format!("{kernel:?}"),
            oracle_word
        );
        if kernel != r.expect || oracle.is_some_and(|o| o != kernel) {
            failures.push(r.name);
        }
    }
    println!("{report}");
    assert!(
        failures.is_empty(),
        "scenarios that failed: {failures:#?}\n{report}"
    );
}

fn kernel_release() -> String {
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn access_masks_on_one_file() {
    const READ: &str = "[[fs]]\nfile = \"{d}/a\"\naccess = \"read\"\n";
    const RW: &str = "[[fs]]\nfile = \"{d}/a\"\naccess = [\"read\", \"write\"]\n";
    const APPEND: &str = "[[fs]]\nfile = \"{d}/a\"\naccess = \"append\"\n";
    const WRITE: &str = "[[fs]]\nfile = \"{d}/a\"\naccess = \"write\"\n";
    const WA: &str = "[[fs]]\nfile = \"{d}/a\"\naccess = [\"write\", \"append\"]\n";
    check_table(
        "access-masks",
        &[
            row(
                "read rule: read is allowed",
                READ,
                &["a"],
                &["open", "{d}/a", "read"],
                Allowed,
            ),
            row(
                "read rule: read-write is denied",
                READ,
                &["a"],
                &["open", "{d}/a", "rdwr"],
                Denied,
            ),
            row(
                "read rule: write is denied",
                READ,
                &["a"],
                &["open", "{d}/a", "write"],
                Denied,
            ),
            row(
                "read|write rule: read-write is allowed",
                RW,
                &["a"],
                &["open", "{d}/a", "rdwr"],
                Allowed,
            ),
            row(
                "read|write rule: write is allowed",
                RW,
                &["a"],
                &["open", "{d}/a", "write"],
                Allowed,
            ),
            row(
                "append rule: O_APPEND write is allowed",
                APPEND,
                &["a"],
                &["open", "{d}/a", "append"],
                Allowed,
            ),
            row(
                "append rule: plain write is denied",
                APPEND,
                &["a"],
                &["open", "{d}/a", "write"],
                Denied,
            ),
            row(
                "write rule: plain write is allowed",
                WRITE,
                &["a"],
                &["open", "{d}/a", "write"],
                Allowed,
            ),
            row(
                "write rule: O_APPEND write is denied",
                WRITE,
                &["a"],
                &["open", "{d}/a", "append"],
                Denied,
            ),
            row(
                "write|append rule: plain write is allowed",
                WA,
                &["a"],
                &["open", "{d}/a", "write"],
                Allowed,
            ),
            row(
                "write|append rule: O_APPEND write is allowed",
                WA,
                &["a"],
                &["open", "{d}/a", "append"],
                Allowed,
            ),
            row(
                "no rule: the file is denied",
                "",
                &["a"],
                &["open", "{d}/a", "read"],
                Denied,
            ),
        ],
    );
}

#[test]
fn multi_file_policy() {
    const POLICY: &str = "[[fs]]\nfile = \"{d}/a\"\naccess = [\"read\", \"write\"]\n\
        [[fs]]\nfile = \"{d}/b\"\naccess = \"append\"\n\
        [[fs]]\nfile = \"{d}/c\"\naccess = \"read\"\n\
        [[fs]]\nfile = \"{d}/d\"\naccess = [\"read\", \"exec\"]\n";
    const FILES: &[&str] = &["a", "b", "c", "d=true"];
    check_table(
        "multi-file",
        &[
            row(
                "a read-write",
                POLICY,
                FILES,
                &["open", "{d}/a", "rdwr"],
                Allowed,
            ),
            row(
                "b append",
                POLICY,
                FILES,
                &["open", "{d}/b", "append"],
                Allowed,
            ),
            row("c read", POLICY, FILES, &["open", "{d}/c", "read"], Allowed),
            row("d exec", POLICY, FILES, &["exec", "{d}/d"], Allowed),
            row(
                "all allowed operations in one run",
                POLICY,
                FILES,
                &[
                    "open", "{d}/a", "rdwr", "+", "open", "{d}/b", "append", "+", "open", "{d}/c",
                    "read",
                ],
                Allowed,
            ),
            row(
                "extra operation: c write is denied",
                POLICY,
                FILES,
                &["open", "{d}/c", "write"],
                Denied,
            ),
            row(
                "invalid operation: b plain write is denied",
                POLICY,
                FILES,
                &["open", "{d}/b", "write"],
                Denied,
            ),
            row(
                "invalid operation: a exec is denied",
                POLICY,
                FILES,
                &["exec", "{d}/a"],
                Denied,
            ),
        ],
    );
}

#[test]
fn taint_semantics() {
    const TAINT_RULE: &str =
        "[[fs]]\nfile = \"{d}/taint\"\naccess = \"read\"\naction = \"taint\"\n";
    const FILES: &[&str] = &["taint", "secret"];
    check_table(
        "taint",
        &[
            row(
                "implicit taint: a profile without taint rules is enforced from exec",
                "",
                FILES,
                &["open", "{d}/secret", "read"],
                Denied,
            ),
            row(
                "no taint: a profile with a taint rule starts untainted",
                TAINT_RULE,
                FILES,
                &["open", "{d}/secret", "read"],
                Allowed,
            ),
            row(
                "the tainting access itself is allowed",
                TAINT_RULE,
                FILES,
                &["open", "{d}/taint", "read"],
                Allowed,
            ),
            row(
                "after the taint rule fires, unlisted files are denied",
                TAINT_RULE,
                FILES,
                &[
                    "open",
                    "{d}/taint",
                    "read",
                    "+",
                    "open",
                    "{d}/secret",
                    "read",
                ],
                Denied,
            ),
            row(
                "the child of a tainted parent is confined",
                TAINT_RULE,
                FILES,
                &[
                    "open",
                    "{d}/taint",
                    "read",
                    "+",
                    "fork-open",
                    "{d}/secret",
                    "read",
                ],
                Denied,
            ),
            row(
                "taint is per thread: the main thread stays untainted",
                TAINT_RULE,
                FILES,
                &["thread-taint", "{d}/taint", "{d}/secret"],
                Allowed,
            ),
            row(
                "complain mode: a denial is logged and allowed",
                "mode = \"complain\"\n",
                FILES,
                &["open", "{d}/secret", "read"],
                Allowed,
            ),
            row(
                "disabled profile: nothing is checked",
                "mode = \"disabled\"\n",
                FILES,
                &["open", "{d}/secret", "read"],
                Allowed,
            ),
        ],
    );
}

#[test]
fn directory_operations() {
    const W: &str = "[[fs]]\nfile = \"{d}/dir\"\naccess = \"write\"\n";
    const W_RM_F: &str = "[[fs]]\nfile = \"{d}/dir\"\naccess = \"write\"\n[[fs]]\nfile = \"{d}/dir/f\"\naccess = \"rm\"\n";
    const RM_F: &str = "[[fs]]\nfile = \"{d}/dir/f\"\naccess = \"rm\"\n";
    const W_RM_S: &str = "[[fs]]\nfile = \"{d}/dir\"\naccess = \"write\"\n[[fs]]\nfile = \"{d}/dir/s\"\naccess = \"rm\"\n";
    const RM_S: &str = "[[fs]]\nfile = \"{d}/dir/s\"\naccess = \"rm\"\n";
    const W_LINK: &str = "[[fs]]\nfile = \"{d}/dir\"\naccess = \"write\"\n[[fs]]\nfile = \"{d}/dir/f\"\naccess = \"link\"\n";
    const LINK: &str = "[[fs]]\nfile = \"{d}/dir/f\"\naccess = \"link\"\n";
    const RENAME: &str = "[[fs]]\nfile = [\"{d}/src\", \"{d}/dst\"]\naccess = \"write\"\n[[fs]]\nfile = \"{d}/src/f\"\naccess = \"rm\"\n";
    const RENAME_NO_SRC: &str = "[[fs]]\nfile = \"{d}/dst\"\naccess = \"write\"\n[[fs]]\nfile = \"{d}/src/f\"\naccess = \"rm\"\n";
    const RENAME_NO_DST: &str = "[[fs]]\nfile = \"{d}/src\"\naccess = \"write\"\n[[fs]]\nfile = \"{d}/src/f\"\naccess = \"rm\"\n";
    const RENAME_NO_RM: &str = "[[fs]]\nfile = [\"{d}/src\", \"{d}/dst\"]\naccess = \"write\"\n";
    const DIR: &[&str] = &["dir/", "dir/f", "dir/s/"];
    const TWO: &[&str] = &["src/", "src/f", "dst/"];
    check_table(
        "directories",
        &[
            row(
                "create a file: allowed with write on the directory",
                W,
                DIR,
                &["create", "{d}/dir/new"],
                Allowed,
            ),
            row(
                "create a file: denied without write on the directory",
                "",
                DIR,
                &["create", "{d}/dir/new"],
                Denied,
            ),
            row(
                "mkdir: allowed with write on the directory",
                W,
                DIR,
                &["mkdir", "{d}/dir/new"],
                Allowed,
            ),
            row(
                "mkdir: denied without write on the directory",
                "",
                DIR,
                &["mkdir", "{d}/dir/new"],
                Denied,
            ),
            row(
                "symlink: allowed with write on the directory",
                W,
                DIR,
                &["symlink", "{d}/dir/f", "{d}/dir/ln"],
                Allowed,
            ),
            row(
                "symlink: denied without write on the directory",
                "",
                DIR,
                &["symlink", "{d}/dir/f", "{d}/dir/ln"],
                Denied,
            ),
            row(
                "unlink: allowed with write on the directory and rm on the file",
                W_RM_F,
                DIR,
                &["unlink", "{d}/dir/f"],
                Allowed,
            ),
            row(
                "unlink: denied without write on the directory",
                RM_F,
                DIR,
                &["unlink", "{d}/dir/f"],
                Denied,
            ),
            row(
                "unlink: denied without rm on the file",
                W,
                DIR,
                &["unlink", "{d}/dir/f"],
                Denied,
            ),
            row(
                "rmdir: allowed with write on the directory and rm on the subdirectory",
                W_RM_S,
                DIR,
                &["rmdir", "{d}/dir/s"],
                Allowed,
            ),
            row(
                "rmdir: denied without write on the directory",
                RM_S,
                DIR,
                &["rmdir", "{d}/dir/s"],
                Denied,
            ),
            row(
                "rmdir: denied without rm on the subdirectory",
                W,
                DIR,
                &["rmdir", "{d}/dir/s"],
                Denied,
            ),
            row(
                "link: allowed with write on the directory and link on the source",
                W_LINK,
                DIR,
                &["link", "{d}/dir/f", "{d}/dir/g"],
                Allowed,
            ),
            row(
                "link: denied without write on the directory",
                LINK,
                DIR,
                &["link", "{d}/dir/f", "{d}/dir/g"],
                Denied,
            ),
            row(
                "link: denied without link on the source",
                W,
                DIR,
                &["link", "{d}/dir/f", "{d}/dir/g"],
                Denied,
            ),
            row(
                "rename: allowed with write on both directories and rm on the file",
                RENAME,
                TWO,
                &["rename", "{d}/src/f", "{d}/dst/f"],
                Allowed,
            ),
            row(
                "rename: denied without write on the old directory",
                RENAME_NO_SRC,
                TWO,
                &["rename", "{d}/src/f", "{d}/dst/f"],
                Denied,
            ),
            row(
                "rename: denied without write on the new directory",
                RENAME_NO_DST,
                TWO,
                &["rename", "{d}/src/f", "{d}/dst/f"],
                Denied,
            ),
            row(
                "rename: denied without rm on the file",
                RENAME_NO_RM,
                TWO,
                &["rename", "{d}/src/f", "{d}/dst/f"],
                Denied,
            ),
            row(
                "setattr: chmod allowed with setattr",
                "[[fs]]\nfile = \"{d}/a\"\naccess = \"setattr\"\n",
                &["a"],
                &["chmod", "{d}/a", "600"],
                Allowed,
            ),
            row(
                "setattr: chmod denied without setattr",
                "[[fs]]\nfile = \"{d}/a\"\naccess = \"read\"\n",
                &["a"],
                &["chmod", "{d}/a", "600"],
                Denied,
            ),
            row(
                "getattr: stat allowed with getattr",
                "[[fs]]\nfile = \"{d}/a\"\naccess = \"getattr\"\n",
                &["a"],
                &["stat", "{d}/a"],
                Allowed,
            ),
            row(
                "getattr: stat denied without getattr",
                "[[fs]]\nfile = \"{d}/a\"\naccess = \"read\"\n",
                &["a"],
                &["stat", "{d}/a"],
                Denied,
            ),
            row(
                "subtree rule covers a file created after the policy loaded",
                "[[fs]]\nfile = \"{d}/dir/**\"\naccess = [\"read\", \"write\"]\n",
                DIR,
                &[
                    "create",
                    "{d}/dir/later",
                    "+",
                    "open",
                    "{d}/dir/later",
                    "read",
                ],
                Allowed,
            ),
        ],
    );
}

#[test]
fn symlinks_cannot_widen_access() {
    const DIR_ONLY: &str = "[[fs]]\nfile = \"{d}/dir/**\"\naccess = \"read\"\n";
    const WITH_TARGET: &str = "[[fs]]\nfile = \"{d}/dir/**\"\naccess = \"read\"\n[[fs]]\nfile = \"{d}/secret\"\naccess = \"read\"\n";
    const FILES: &[&str] = &["dir/", "secret", "dir/ln->secret"];
    check_table(
        "symlinks",
        &[
            row(
                "reading through a symlink in an allowed directory is denied",
                DIR_ONLY,
                FILES,
                &["open", "{d}/dir/ln", "read"],
                Denied,
            ),
            row(
                "reading through a symlink is allowed with read on the target",
                WITH_TARGET,
                FILES,
                &["open", "{d}/dir/ln", "read"],
                Allowed,
            ),
            row(
                "creating a symlink to a secret needs write on the directory",
                DIR_ONLY,
                FILES,
                &["symlink", "{d}/secret", "{d}/dir/ln2"],
                Denied,
            ),
        ],
    );
}

#[test]
fn proc_self_and_others() {
    check_table(
        "proc",
        &[
            row(
                "own /proc/self is always allowed",
                "",
                &[],
                &["open", "/proc/self/status", "read"],
                Allowed,
            ),
            row(
                "/proc/1 of an unconfined process is denied",
                "",
                &[],
                &["open", "/proc/1/status", "read"],
                Denied,
            ),
            row(
                "another profile's /proc is denied without a proc rule",
                "",
                &[],
                &["open", "/proc/{sleeper_pid}/status", "read"],
                Denied,
            ),
            row(
                "another profile's /proc is allowed with a proc rule",
                "[[proc]]\ntarget = \"{sleeper}\"\naccess = \"read\"\n",
                &[],
                &["open", "/proc/{sleeper_pid}/status", "read"],
                Allowed,
            ),
            row(
                "a broad /proc rule does not open other processes' /proc",
                "[[fs]]\nfile = \"/proc/**\"\naccess = \"read\"\n",
                &[],
                &["open", "/proc/1/environ", "read"],
                Denied,
            ),
        ],
    );
}

#[test]
fn signals_between_profiles() {
    const fn sig(class: &str) -> &'static str {
        match class.as_bytes() {
            b"check" => "[[signal]]\nsignal = \"check\"\ntarget = \"{sleeper}\"\n",
            b"sigkill" => "[[signal]]\nsignal = \"sigkill\"\ntarget = \"{sleeper}\"\n",
            b"sigstop" => "[[signal]]\nsignal = \"sigstop\"\ntarget = \"{sleeper}\"\n",
            _ => "[[signal]]\nsignal = \"misc\"\ntarget = \"{sleeper}\"\n",
        }
    }
    const SELF_CHECK: &str = "[[signal]]\nsignal = \"check\"\ntarget = \"self\"\n";
    const SELF_CHLD: &str = "[[signal]]\nsignal = \"sigchld\"\ntarget = \"self\"\n";
    check_table(
        "signals",
        &[
            row(
                "signal 0 to self: allowed with a check rule",
                SELF_CHECK,
                &[],
                &["kill", "self", "0"],
                Allowed,
            ),
            row(
                "signal 0 to self: denied without",
                "",
                &[],
                &["kill", "self", "0"],
                Denied,
            ),
            row(
                "SIGCHLD to self: allowed with a sigchld rule",
                SELF_CHLD,
                &[],
                &["kill", "self", "17"],
                Allowed,
            ),
            row(
                "SIGCHLD to self: denied with only a check rule",
                SELF_CHECK,
                &[],
                &["kill", "self", "17"],
                Denied,
            ),
            row(
                "signal 0 to another profile: allowed with check",
                sig("check"),
                &[],
                &["kill", "{sleeper_pid}", "0"],
                Allowed,
            ),
            row(
                "signal 0 to another profile: denied without",
                "",
                &[],
                &["kill", "{sleeper_pid}", "0"],
                Denied,
            ),
            row(
                "SIGKILL to another profile: allowed with sigkill",
                sig("sigkill"),
                &[],
                &["kill", "{sleeper_pid}", "9"],
                Allowed,
            ),
            row(
                "SIGKILL to another profile: denied with only check",
                sig("check"),
                &[],
                &["kill", "{sleeper_pid}", "9"],
                Denied,
            ),
            row(
                "SIGSTOP to another profile: allowed with sigstop",
                sig("sigstop"),
                &[],
                &["kill", "{sleeper_pid}", "19"],
                Allowed,
            ),
            row(
                "SIGSTOP to another profile: denied with only sigkill",
                sig("sigkill"),
                &[],
                &["kill", "{sleeper_pid}", "19"],
                Denied,
            ),
            row(
                "SIGUSR1 to another profile: allowed with misc",
                sig("misc"),
                &[],
                &["kill", "{sleeper_pid}", "10"],
                Allowed,
            ),
            row(
                "SIGUSR1 to another profile: denied with only check",
                sig("check"),
                &[],
                &["kill", "{sleeper_pid}", "10"],
                Denied,
            ),
        ],
    );
}

#[test]
fn sockets_per_family() {
    const INET6: &str = "[[net]]\nfamily = \"inet6\"\noperation = \"create\"\n";
    const UNIX: &str = "[[net]]\nfamily = \"unix\"\noperation = \"create\"\n";
    const INET_CREATE: &str = "[[net]]\nfamily = \"inet\"\noperation = \"create\"\n";
    const INET_CONNECT: &str =
        "[[net]]\nfamily = \"inet\"\noperation = [\"create\", \"connect\"]\n";
    const TAINT_ON_CREATE: &str =
        "[[net]]\nfamily = \"inet\"\noperation = \"create\"\naction = [\"allow\", \"taint\"]\n";
    check_table(
        "sockets",
        &[
            row(
                "inet6 socket: allowed with inet6 create",
                INET6,
                &[],
                &["socket", "inet6", "stream"],
                Allowed,
            ),
            row(
                "inet6 socket: denied without",
                "",
                &[],
                &["socket", "inet6", "stream"],
                Denied,
            ),
            row(
                "inet6 socket: denied with only inet create",
                INET_CREATE,
                &[],
                &["socket", "inet6", "stream"],
                Denied,
            ),
            row(
                "unix socket: allowed with unix create",
                UNIX,
                &[],
                &["socket", "unix", "stream"],
                Allowed,
            ),
            row(
                "unix socket: denied without",
                "",
                &[],
                &["socket", "unix", "stream"],
                Denied,
            ),
            row(
                "socketpair: allowed with unix create",
                UNIX,
                &[],
                &["socketpair"],
                Allowed,
            ),
            row(
                "socketpair: denied without",
                "",
                &[],
                &["socketpair"],
                Denied,
            ),
            row(
                "tcp connect: allowed with inet create and connect",
                INET_CONNECT,
                &[],
                &["tcp-connect", "{port}"],
                Allowed,
            ),
            row(
                "tcp connect: denied with only inet create",
                INET_CREATE,
                &[],
                &["tcp-connect", "{port}"],
                Denied,
            ),
            row(
                "unix stream connect: allowed with unix create and connect",
                "[[net]]\nfamily = \"unix\"\noperation = [\"create\", \"connect\"]\n",
                &[],
                &["unix-connect", "{d}/sock"],
                Allowed,
            ),
            row(
                "unix stream connect: denied with only unix create",
                UNIX,
                &[],
                &["unix-connect", "{d}/sock"],
                Denied,
            ),
            row(
                "taint on inet create: later unlisted accesses are denied",
                TAINT_ON_CREATE,
                &["secret"],
                &[
                    "socket",
                    "inet",
                    "stream",
                    "+",
                    "open",
                    "{d}/secret",
                    "read",
                ],
                Denied,
            ),
            row(
                "taint on inet create: before it, everything is allowed",
                TAINT_ON_CREATE,
                &["secret"],
                &["open", "{d}/secret", "read"],
                Allowed,
            ),
        ],
    );
}

#[test]
fn capabilities() {
    const NET: &str =
        "[[net]]\nfamily = \"inet\"\noperation = [\"create\", \"bind\", \"listen\"]\n";
    const WITH_CAP: &str =
        "[[net]]\nfamily = \"inet\"\noperation = [\"create\", \"bind\", \"listen\"]\n\
        [[capability]]\ncapability = \"net_bind_service\"\n";
    const OTHER_CAP: &str =
        "[[net]]\nfamily = \"inet\"\noperation = [\"create\", \"bind\", \"listen\"]\n\
        [[capability]]\ncapability = \"sys_admin\"\n";
    check_table(
        "capabilities",
        &[
            row(
                "binding port 80: allowed with net_bind_service",
                WITH_CAP,
                &[],
                &["tcp-listen", "80"],
                Allowed,
            ),
            row(
                "binding port 80: denied without the capability rule",
                NET,
                &[],
                &["tcp-listen", "80"],
                Denied,
            ),
            row(
                "binding port 80: denied with another capability only",
                OTHER_CAP,
                &[],
                &["tcp-listen", "80"],
                Denied,
            ),
            row(
                "binding a high port needs no capability",
                NET,
                &[],
                &["tcp-listen", "0"],
                Allowed,
            ),
        ],
    );
}

#[test]
fn escape_attempts_fail() {
    const ALLOWED_DIR: &str = "[[fs]]\nfile = [\"{d}/dir\", \"{d}/dir/**\"]\naccess = [\"read\", \"write\", \"rm\", \"link\"]\n";
    const FILES: &[&str] = &["dir/", "secret"];
    check_table(
        "escapes",
        &[
            row(
                "hard-linking a denied file into an allowed directory",
                ALLOWED_DIR,
                FILES,
                &["link", "{d}/secret", "{d}/dir/x"],
                Denied,
            ),
            row(
                "renaming a denied file into an allowed directory",
                ALLOWED_DIR,
                FILES,
                &["rename", "{d}/secret", "{d}/dir/x"],
                Denied,
            ),
            row(
                "re-opening a denied file through /proc/self/fd",
                ALLOWED_DIR,
                FILES,
                &["fd-reopen", "{d}/secret"],
                Denied,
            ),
            row(
                "opening a denied file through io_uring",
                ALLOWED_DIR,
                FILES,
                &["uring-open", "{d}/secret"],
                Denied,
            ),
            row(
                "exec of an unconfined helper to read a denied file",
                ALLOWED_DIR,
                FILES,
                &["exec", "/usr/bin/cat", "{d}/secret"],
                Denied,
            ),
            row(
                "calling bpf(2), even untainted",
                "[[fs]]\nfile = \"{d}/t\"\naccess = \"read\"\naction = \"taint\"\n",
                FILES,
                &["bpf"],
                Denied,
            ),
            row(
                "killing bpfboxd, even untainted",
                "[[fs]]\nfile = \"{d}/t\"\naccess = \"read\"\naction = \"taint\"\n",
                FILES,
                &["kill", "{daemon_pid}", "9"],
                Denied,
            ),
            row(
                "ptracing bpfboxd, even untainted",
                "[[fs]]\nfile = \"{d}/t\"\naccess = \"read\"\naction = \"taint\"\n",
                FILES,
                &["ptrace", "{daemon_pid}"],
                Denied,
            ),
            row(
                "reading bpfboxd's memory, even untainted",
                "[[fs]]\nfile = \"{d}/t\"\naccess = \"read\"\naction = \"taint\"\n",
                FILES,
                &["open", "/proc/{daemon_pid}/mem", "read"],
                Denied,
            ),
            row(
                "writing the policy directory, even untainted",
                "[[fs]]\nfile = \"{d}/t\"\naccess = \"read\"\naction = \"taint\"\n",
                FILES,
                &["create", "{policy}/evil.toml"],
                Denied,
            ),
            row(
                "untainted control: the same profile may write elsewhere",
                "[[fs]]\nfile = \"{d}/t\"\naccess = \"read\"\naction = \"taint\"\n",
                FILES,
                &["create", "{d}/dir/ok"],
                Allowed,
            ),
        ],
    );
}
