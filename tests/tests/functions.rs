//! Function-context rules (`func`, `kfunc`) on a real kernel: a rule holds
//! only while its function runs in the acting thread, recursion keeps the
//! context until the outermost call returns, a new thread starts outside,
//! a forked child inherits it; a shared library's function and a kernel
//! function work the same. Every case is also decided by the policy crate
//! (the oracle), which must agree with the kernel.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::SystemTime,
};

use bpfbox_abi as abi;
use bpfbox_policy::{ContextKind, FsAccess, Policy, Request};
use bpfbox_tests::{bin_dir, run, Daemon, Sandbox, RUNTIME_RULES};

/// The kernel function behind fstat(2) on x86-64 (a syscall entry point,
/// so never inlined, on every kernel version).
const FSTAT_KFUNC: &str = "__x64_sys_newfstat";

struct Setup {
    sandbox: Sandbox,
    target: PathBuf,
    /// Readable only inside check_login() and its variants.
    secret: PathBuf,
    /// Readable only inside libc's qsort().
    lib_secret: PathBuf,
    /// Stat-able only inside the kernel's fstat(2).
    kernel_secret: PathBuf,
    profile: String,
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

impl Setup {
    fn new(name: &str) -> Self {
        let sandbox = Sandbox::new(name);
        let target = sandbox.path().join("target");
        std::fs::copy(bin_dir().join("bpfbox-func-target"), &target).expect("copy target");
        let secret = sandbox.file("secret", "password hashes\n");
        let lib_secret = sandbox.file("lib-secret", "sorted\n");
        let kernel_secret = sandbox.file("kernel-secret", "stat me\n");
        let profile = format!(
            "profile = \"{}\"\ntaint_on_exec = true\n{RUNTIME_RULES}\n\
             [[fs]]\nfile = \"{}\"\naccess = \"read\"\n\
             func = [\"check_login\", \"check_login_nested\", \"check_login_spawn\", \"check_login_fork\"]\n\n\
             [[fs]]\nfile = \"{}\"\naccess = \"read\"\nfunc = \"libc.so.6:qsort\"\n\n\
             [[fs]]\nfile = \"{}\"\naccess = \"getattr\"\nkfunc = \"{FSTAT_KFUNC}\"\n\n\
             [[fs]]\nfile = \"{}\"\naccess = \"read\"\nfunc = \"bench_probed\"\n",
            s(&target),
            s(&secret),
            s(&lib_secret),
            s(&kernel_secret),
            s(&secret),
        );
        sandbox.profile("target.toml", &profile);
        Self {
            sandbox,
            target,
            secret,
            lib_secret,
            kernel_secret,
            profile,
        }
    }

    fn oracle(&self) -> Policy {
        let parsed = bpfbox_policy::parse_str(&self.profile, Path::new("target.toml"))
            .expect("profile parses");
        Policy::new(vec![parsed], &[], SystemTime::now()).expect("policy compiles")
    }
}

/// One row: the target's operations, the function contexts the checked
/// operation runs in, the request it makes, and the expected outcome.
struct Case {
    name: &'static str,
    args: Vec<String>,
    /// Which output line is the checked one (`op=…`), the last by default.
    active: Vec<(ContextKind, &'static str)>,
    path: PathBuf,
    access: FsAccess,
    allowed: bool,
}

fn case(
    name: &'static str,
    args: &[&str],
    active: &[(ContextKind, &'static str)],
    path: &Path,
    access: FsAccess,
    allowed: bool,
) -> Case {
    Case {
        name,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        active: active.to_vec(),
        path: path.to_path_buf(),
        access,
        allowed,
    }
}

fn verdict(allowed: bool) -> &'static str {
    if allowed {
        "ALLOW"
    } else {
        "DENY"
    }
}

#[test]
fn function_context_rules_hold_only_inside_their_functions_and_the_oracle_agrees() {
    let t = Setup::new("func-cases");
    let _daemon = Daemon::start(&t.sandbox.policy_dir());
    let (secret, lib, kernel) = (s(&t.secret), s(&t.lib_secret), s(&t.kernel_secret));
    use ContextKind::{Func, Kfunc};
    let read = FsAccess::READ;
    let cases = [
        case(
            "read outside check_login",
            &["read", secret],
            &[],
            &t.secret,
            read,
            false,
        ),
        case(
            "read inside check_login",
            &["inside", secret],
            &[(Func, "check_login")],
            &t.secret,
            read,
            true,
        ),
        case(
            "read after check_login returned",
            &["inside", secret, "read", secret],
            &[],
            &t.secret,
            read,
            false,
        ),
        case(
            "recursion: read after an inner return",
            &["recurse", "3", secret],
            &[(Func, "check_login_nested")],
            &t.secret,
            read,
            true,
        ),
        case(
            "new thread inside check_login",
            &["thread", secret],
            &[],
            &t.secret,
            read,
            false,
        ),
        case(
            "forked child inside check_login",
            &["fork", secret],
            &[(Func, "check_login_fork")],
            &t.secret,
            read,
            true,
        ),
        case(
            "library: read inside libc qsort",
            &["qsort", lib],
            &[(Func, "libc.so.6:qsort")],
            &t.lib_secret,
            read,
            true,
        ),
        case(
            "library: read outside qsort",
            &["read", lib],
            &[],
            &t.lib_secret,
            read,
            false,
        ),
        case(
            "library: read after qsort returned",
            &["qsort", lib, "read", lib],
            &[],
            &t.lib_secret,
            read,
            false,
        ),
        case(
            "other context: check_login for qsort's file",
            &["inside", lib],
            &[(Func, "check_login")],
            &t.lib_secret,
            read,
            false,
        ),
        case(
            "other context: qsort for check_login's file",
            &["qsort", secret],
            &[(Func, "libc.so.6:qsort")],
            &t.secret,
            read,
            false,
        ),
        case(
            "kfunc: fstat(2) inside the kernel's fstat",
            &["fstat", kernel],
            &[(Kfunc, FSTAT_KFUNC)],
            &t.kernel_secret,
            FsAccess::GETATTR,
            true,
        ),
        case(
            "kfunc: newfstatat(2) is outside it",
            &["stat", kernel],
            &[],
            &t.kernel_secret,
            FsAccess::GETATTR,
            false,
        ),
    ];
    let oracle = t.oracle();
    let mut table = vec![format!(
        "{:<48} {:<8} {:<8} {:<8}",
        "case", "kernel", "oracle", "expected"
    )];
    let mut wrong = Vec::new();
    for c in &cases {
        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let out = run(&t.target, &args);
        assert_eq!(out.code, 0, "{}: {out:?}", c.name);
        let last = out.stdout.lines().last().unwrap_or_default();
        let kernel = match last.split_once('=').map(|(_, r)| r) {
            Some("ok") => true,
            Some("denied") => false,
            _ => panic!("{}: unexpected output {out:?}", c.name),
        };
        let state = oracle.state_in(&t.target, &c.active);
        let request = Request::Fs {
            path: c.path.clone(),
            access: c.access,
        };
        // taint_on_exec: the target is tainted from its first instruction
        let decided = oracle.decide(&t.target, true, state, &request);
        let oracle_allowed = decided.decision.bits & abi::DECISION_DENY == 0;
        table.push(format!(
            "{:<48} {:<8} {:<8} {:<8}",
            c.name,
            verdict(kernel),
            verdict(oracle_allowed),
            verdict(c.allowed)
        ));
        if kernel != c.allowed || oracle_allowed != kernel {
            wrong.push(format!("{}: {out:?}; oracle: {decided}", c.name));
        }
    }
    println!("{}", table.join("\n"));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn function_probe_overhead_per_call() {
    let t = Setup::new("func-bench");
    let _daemon = Daemon::start(&t.sandbox.policy_dir());
    let out = run(&t.target, &["bench", "20000"]);
    let figure = |key: &str| -> f64 {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {out:?}"))
    };
    let (plain, probed) = (figure("bench_plain_ns"), figure("bench_probed_ns"));
    println!(
        "function-boundary probe: {probed:.0} ns per call probed, {plain:.1} ns unprobed, \
         overhead {:.0} ns per call (20000 calls, confined process)",
        probed - plain
    );
    // the entry and return probes run on every call: a probe that never
    // fired would cost nothing
    assert!(probed > plain + 100.0, "{out:?}");
}

/// `bpfboxd check` (and the daemon's load, which uses the same check) on a
/// profile naming functions that cannot be probed.
fn check(t: &Sandbox, toml: &str) -> (i32, String) {
    t.profile("bad.toml", toml);
    let out = Command::new(bin_dir().join("bpfboxd"))
        .arg("check")
        .arg(t.policy_dir().join("bad.toml"))
        .output()
        .expect("run bpfboxd check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn functions_that_cannot_be_probed_are_policy_errors_naming_function_and_file() {
    let t = Setup::new("func-missing");
    let file = t.sandbox.policy_dir().join("bad.toml");
    let rule = |key: &str, value: &str| {
        format!(
            "profile = \"{}\"\n\n[[fs]]\nfile = \"/tmp/x\"\naccess = \"read\"\n{key} = \"{value}\"\n",
            s(&t.target)
        )
    };
    let (code, err) = check(&t.sandbox, &rule("func", "no_such_function"));
    assert_eq!(code, 1, "{err}");
    let expected = format!(
        "{}:6:8: error: func `no_such_function`: no function `no_such_function` in the binary ({})",
        file.display(),
        t.target.display()
    );
    assert!(err.contains(&expected), "{err}");

    let (code, err) = check(&t.sandbox, &rule("func", "libc.so.6:no_such_function"));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no function `no_such_function`") && err.contains("libc.so.6"),
        "{err}"
    );

    let (code, err) = check(&t.sandbox, &rule("kfunc", "no_such_kernel_function"));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(":6:9: error: kfunc `no_such_kernel_function`: no kernel function"),
        "{err}"
    );

    // Debian's /usr/bin/ls has no symbol table
    let stripped = "profile = \"/usr/bin/ls\"\n\n[[fs]]\nfile = \"/tmp/x\"\naccess = \"read\"\nfunc = \"main\"\n";
    let (code, err) = check(&t.sandbox, stripped);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("func `main`") && err.contains("stripped") && err.contains("/usr/bin/ls"),
        "{err}"
    );

    let (code, err) = check(&t.sandbox, &rule("func", "check_login"));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn the_daemon_rejects_a_profile_with_a_missing_function_and_locks_its_program_down() {
    let t = Setup::new("func-lockdown");
    t.sandbox.profile(
        "target.toml",
        &format!(
            "{}\n[[fs]]\nfile = \"/tmp/x\"\naccess = \"read\"\nfunc = \"no_such_function\"\n",
            t.profile
        ),
    );
    let daemon = Daemon::start(&t.sandbox.policy_dir());
    daemon.wait_log(1, |l| {
        l.contains("func `no_such_function`: no function `no_such_function`")
    });
    // never good: confined with nothing allowed, so it cannot even start
    match Command::new(&t.target)
        .args(["inside", s(&t.secret)])
        .output()
    {
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}"),
        Ok(out) => assert!(
            !String::from_utf8_lossy(&out.stdout).contains("inside=ok"),
            "{out:?}"
        ),
    }
}

#[test]
fn a_replaced_executable_keeps_its_function_rules_once_bpfboxd_has_seen_it() {
    let t = Setup::new("func-replaced");
    let daemon = Daemon::start(&t.sandbox.policy_dir());
    // an upgrade: a new file (new inode) renamed over the old one; the
    // daemon follows the executable's directory and probes the new file
    let new = t.sandbox.path().join("target.new");
    std::fs::copy(&t.target, &new).expect("copy");
    std::fs::rename(&new, &t.target).expect("rename");
    daemon.wait_log(1, |l| l.contains("executable replaced"));
    let out = run(&t.target, &["inside", s(&t.secret), "read", s(&t.secret)]);
    assert!(
        out.stdout.contains("inside=ok") && out.stdout.contains("read=denied"),
        "{out:?}"
    );
}

#[test]
fn a_replaced_executable_not_yet_probed_starts_with_the_least_access() {
    let sandbox = Sandbox::new("func-unprobed");
    let target = sandbox.path().join("target");
    std::fs::copy(bin_dir().join("bpfbox-func-target"), &target).expect("copy target");
    let secret = sandbox.file("secret", "password hashes\n");
    let trigger = sandbox.file("trigger", "x\n");
    // untainted until it reads `trigger`: it may read the secret outside
    // check_login too, as long as it is untainted
    sandbox.profile(
        "target.toml",
        &format!(
            "profile = \"{}\"\n{RUNTIME_RULES}\n\
             [[fs]]\nfile = \"{}\"\naccess = \"read\"\naction = \"taint\"\n\n\
             [[fs]]\nfile = \"{}\"\naccess = \"read\"\nfunc = \"check_login\"\n",
            s(&target),
            s(&trigger),
            s(&secret),
        ),
    );
    let daemon = Daemon::start(&sandbox.policy_dir());
    let reads = |target: &Path| {
        let out = run(target, &["read", s(&secret), "inside", s(&secret)]);
        (
            out.stdout.contains("read=ok"),
            out.stdout.contains("inside=ok"),
        )
    };
    assert_eq!(reads(&target), (true, true), "untainted, probed");

    // replaced while no daemon can probe the new file: the kernel confines
    // it by its path, tainted from the start and outside every context
    daemon.kill_hard();
    let new = sandbox.path().join("target.new");
    std::fs::copy(bin_dir().join("bpfbox-func-target"), &new).expect("copy");
    std::fs::rename(&new, &target).expect("rename");
    assert_eq!(reads(&target), (false, false), "unprobed: the least access");

    // a daemon identifies and probes it: back to the profile's semantics
    let _daemon = Daemon::start(&sandbox.policy_dir());
    assert_eq!(reads(&target), (true, true), "probed again");
}
