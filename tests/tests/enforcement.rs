//! First enforcement slice, on a real kernel: a profile keyed by the
//! executable's identity confines the process, its children and whatever it
//! execs; a denied open() fails with EPERM and reaches bpfboxd as an event.

use std::path::PathBuf;

use bpfbox_tests::{run, Daemon, Sandbox, RUNTIME_RULES};

const DENIED: i32 = 1;

/// A probe copy confined by a profile that allows reading `allowed` only.
struct Confined {
    sandbox: Sandbox,
    probe: PathBuf,
    secret: PathBuf,
    allowed: PathBuf,
}

impl Confined {
    fn new(name: &str) -> Self {
        let sandbox = Sandbox::new(name);
        let probe = sandbox.probe("probe");
        let secret = sandbox.file("secret", "top secret\n");
        let allowed = sandbox.file("allowed", "public\n");
        sandbox.profile(
            "probe.toml",
            &format!(
                "profile = \"{}\"\ntaint_on_exec = true\n{RUNTIME_RULES}\n\
                 [[fs]]\nfile = \"{}\"\naccess = \"read\"\n",
                probe.display(),
                allowed.display()
            ),
        );
        Self {
            sandbox,
            probe,
            secret,
            allowed,
        }
    }

    fn daemon(&self) -> Daemon {
        Daemon::start(&self.sandbox.policy_dir())
    }
}

fn s(path: &std::path::Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn confined_process_is_denied_reading_a_file_its_profile_does_not_allow() {
    let c = Confined::new("deny-read");
    let _daemon = c.daemon();
    let out = run(&c.probe, &["open", s(&c.secret), "read"]);
    assert_eq!(out.code, DENIED, "{out:?}");
    assert!(out.stdout.contains("Operation not permitted"), "{out:?}");
}

#[test]
fn confined_process_may_read_a_file_its_profile_allows() {
    let c = Confined::new("allow-read");
    let _daemon = c.daemon();
    let out = run(&c.probe, &["open", s(&c.allowed), "read"]);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn read_rule_does_not_allow_writing_the_same_file() {
    let c = Confined::new("read-not-write");
    let _daemon = c.daemon();
    let out = run(&c.probe, &["open", s(&c.allowed), "write"]);
    assert_eq!(out.code, DENIED, "{out:?}");
}

#[test]
fn unconfined_process_may_read_the_file_the_profile_denies() {
    let c = Confined::new("unconfined");
    let _daemon = c.daemon();
    // same program, other inode: the profile is keyed by the executable's identity
    let other = c.sandbox.probe("unprofiled-probe");
    let out = run(&other, &["open", s(&c.secret), "read"]);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn child_of_a_confined_process_is_denied_too() {
    let c = Confined::new("child");
    let _daemon = c.daemon();
    let out = run(&c.probe, &["fork-open", s(&c.secret), "read"]);
    assert_eq!(out.code, DENIED, "{out:?}");
    assert!(out.stdout.contains("child pid="), "{out:?}");
}

#[test]
fn confined_process_that_execs_an_unprofiled_binary_stays_confined() {
    let c = Confined::new("exec");
    let _daemon = c.daemon();
    let other = c.sandbox.probe("unprofiled-probe");
    // the confined probe replaces itself with an unprofiled copy…
    let out = run(&c.probe, &["exec", s(&other), "open", s(&c.secret), "read"]);
    // …which keeps the profile: denied
    assert_eq!(out.code, DENIED, "{out:?}");
    let out = run(&c.probe, &["exec", "/usr/bin/cat", s(&c.secret)]);
    assert_ne!(
        out.code, 0,
        "cat under the inherited profile must fail: {out:?}"
    );
}

#[test]
fn denial_reaches_the_daemon_with_the_denied_pid_and_path() {
    let c = Confined::new("event");
    let daemon = c.daemon();
    let out = run(&c.probe, &["open", s(&c.secret), "read"]);
    assert_eq!(out.code, DENIED, "{out:?}");
    let pid = out.pid();
    let line = daemon.wait_event(|l| l.contains(&format!(" pid={pid} ")));
    assert!(
        line.starts_with("action=DENY kind=fs access=read "),
        "{line}"
    );
    assert!(
        line.contains(&format!("path={}", c.secret.display())),
        "{line}"
    );
    assert!(
        line.contains(&format!("profile={}", c.probe.display())),
        "{line}"
    );
    assert!(line.contains("comm=probe"), "{line}");
}

#[test]
fn allowed_open_produces_no_event() {
    let c = Confined::new("quiet");
    let daemon = c.daemon();
    let out = run(&c.probe, &["open", s(&c.allowed), "read"]);
    assert_eq!(out.code, 0, "{out:?}");
    // a later denial is the marker that every earlier event has been drained
    let denied = run(&c.probe, &["open", s(&c.secret), "read"]);
    daemon.wait_event(|l| l.contains(&format!(" pid={} ", denied.pid())));
    let allowed_pid = format!(" pid={} ", out.pid());
    assert!(
        !daemon.events().iter().any(|l| l.contains(&allowed_pid)),
        "{:?}",
        daemon.events()
    );
}

#[test]
fn complain_mode_allows_and_reports_what_enforce_would_deny() {
    let sandbox = Sandbox::new("complain");
    let probe = sandbox.probe("probe");
    let secret = sandbox.file("secret", "x\n");
    sandbox.profile(
        "probe.toml",
        &format!(
            "profile = \"{}\"\nmode = \"complain\"\ntaint_on_exec = true\n{RUNTIME_RULES}",
            probe.display()
        ),
    );
    let daemon = Daemon::start(&sandbox.policy_dir());
    let out = run(&probe, &["open", s(&secret), "read"]);
    assert_eq!(out.code, 0, "{out:?}");
    let line = daemon.wait_event(|l| l.contains(&format!(" pid={} ", out.pid())));
    assert!(
        line.starts_with("action=COMPLAIN kind=fs access=read "),
        "{line}"
    );
    assert!(
        line.contains(&format!("path={}", secret.display())),
        "{line}"
    );
}

/// The kernel's counters, from `bpfboxd status`: (events, lost, complained).
fn kernel_counters() -> (u64, u64, u64) {
    let out = run(&bpfbox_tests::bin_dir().join("bpfboxd"), &["status"]);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("since load:"))
        .unwrap_or_else(|| panic!("no counters in {out:?}"))
        .to_string();
    let before = |word: &str| -> u64 {
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words
            .iter()
            .position(|w| w.trim_end_matches(',') == word)
            .unwrap_or_else(|| panic!("no {word} in {line}"));
        words[at - 1].parse().unwrap()
    };
    (before("events"), before("lost"), before("complained"))
}

/// In complain mode a build's create/unlink loop reports the directory to
/// two hooks in turn and every file once as it goes. The kernel folds the
/// directory's repeats (one slot per hook) and does not let the files,
/// gone once reported, push them out: about one event per file, not three.
#[test]
fn complain_mode_folds_a_directorys_repeated_reports_and_sends_each_removed_file_once() {
    const FILES: u64 = 300;
    let sandbox = Sandbox::new("complain-churn");
    let probe = sandbox.probe("probe");
    let dir = sandbox.path().join("work");
    std::fs::create_dir(&dir).unwrap();
    sandbox.profile(
        "probe.toml",
        &format!(
            "profile = \"{}\"\nmode = \"complain\"\ntaint_on_exec = true\n{RUNTIME_RULES}",
            probe.display()
        ),
    );
    let _daemon = Daemon::start(&sandbox.policy_dir());
    let (events, lost, complained) = kernel_counters();
    let out = run(&probe, &["churn", &FILES.to_string(), s(&dir)]);
    assert_eq!(out.code, 0, "{out:?}");
    let (events_after, lost_after, complained_after) = kernel_counters();

    let (sent, complaints) = (events_after - events, complained_after - complained);
    println!("{FILES} files created and removed: {complaints} complaints, {sent} events");
    assert_eq!(lost_after, lost, "no report was lost");
    // each file: write on the directory twice (create, unlink), rm on the file
    assert!(complaints >= 3 * FILES, "{complaints}");
    // every removed file is reported; the directory's repeats only once a window
    assert!(sent >= FILES, "{sent}");
    assert!(sent < FILES + FILES / 2, "{sent} events for {FILES} files");
}

#[test]
fn audited_access_is_allowed_and_reported() {
    let sandbox = Sandbox::new("audit");
    let probe = sandbox.probe("probe");
    let watched = sandbox.file("watched", "x\n");
    sandbox.profile(
        "probe.toml",
        &format!(
            "profile = \"{}\"\ntaint_on_exec = true\n{RUNTIME_RULES}\n\
             [[fs]]\nfile = \"{}\"\naccess = \"read\"\naction = [\"allow\", \"audit\"]\n",
            probe.display(),
            watched.display()
        ),
    );
    let daemon = Daemon::start(&sandbox.policy_dir());
    let out = run(&probe, &["open", s(&watched), "read"]);
    assert_eq!(out.code, 0, "{out:?}");
    let line = daemon.wait_event(|l| l.contains(&format!(" pid={} ", out.pid())));
    assert!(
        line.starts_with("action=ALLOW|AUDIT kind=fs access=read "),
        "{line}"
    );
}

#[test]
fn taint_is_reported_when_it_happens() {
    let sandbox = Sandbox::new("taint-event");
    let probe = sandbox.probe("probe");
    let trigger = sandbox.file("trigger", "x\n");
    sandbox.profile(
        "probe.toml",
        &format!(
            "profile = \"{}\"\n{RUNTIME_RULES}\n\
             [[fs]]\nfile = \"{}\"\naccess = \"read\"\naction = [\"allow\", \"taint\"]\n",
            probe.display(),
            trigger.display()
        ),
    );
    let daemon = Daemon::start(&sandbox.policy_dir());
    let out = run(&probe, &["open", s(&trigger), "read"]);
    assert_eq!(out.code, 0, "{out:?}");
    let line = daemon.wait_event(|l| l.contains(&format!(" pid={} ", out.pid())));
    assert!(
        line.starts_with("action=ALLOW|TAINT kind=fs access=read "),
        "{line}"
    );
}

/// Confines `probe`, tainted from its start, to reading under `dir`.
fn allow_reading_under(sandbox: &Sandbox, probe: &std::path::Path, dir: &std::path::Path) {
    sandbox.profile(
        "probe.toml",
        &format!(
            "profile = \"{}\"\ntaint_on_exec = true\n{RUNTIME_RULES}\n\
             [[fs]]\nfile = \"{}/**\"\naccess = [\"read\", \"getattr\"]\n",
            probe.display(),
            dir.display()
        ),
    );
}

/// Runs the probe's `open-renamed FIRST THEN`: its open of `first` is
/// allowed (and cached) before `from` is moved to `to` under it, then it
/// opens `then`. Returns its exit code, and its output for messages.
fn open_across_a_move(
    probe: &std::path::Path,
    first: &std::path::Path,
    then: &std::path::Path,
    from: &std::path::Path,
    to: &std::path::Path,
) -> (Option<i32>, String) {
    let child = std::process::Command::new(probe)
        .args(["open-renamed", s(first), s(then)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // the probe's first open was allowed once it polls
    std::thread::sleep(std::time::Duration::from_secs(3));
    std::fs::rename(from, to).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// The directory-chain cache (ebpf/src/cache.h): after the probe read
/// `inside/d/a`, the chain above `d` is cached. Once `d` is moved out of the
/// allowed tree, a file of `d` the probe never opened — its own rules plus
/// that cached chain — must be judged by where `d` is now.
#[test]
fn a_new_file_in_a_directory_moved_out_of_an_allowed_tree_is_denied_to_a_task_that_worked_there() {
    let sandbox = Sandbox::new("rename-chain");
    let probe = sandbox.probe("probe");
    let inside = sandbox.path().join("inside");
    let outside = sandbox.path().join("outside");
    std::fs::create_dir_all(inside.join("d")).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(inside.join("d").join("a"), "x\n").unwrap();
    std::fs::write(inside.join("d").join("b"), "x\n").unwrap();
    allow_reading_under(&sandbox, &probe, &inside);
    let _daemon = Daemon::start(&sandbox.policy_dir());
    let (code, out) = open_across_a_move(
        &probe,
        &inside.join("d").join("a"),
        &outside.join("d").join("b"),
        &inside.join("d"),
        &outside.join("d"),
    );
    assert_eq!(code, Some(DENIED), "{out}");
}

#[test]
fn a_file_renamed_out_of_an_allowed_directory_is_denied_to_a_task_that_read_it_there() {
    let sandbox = Sandbox::new("rename-cache");
    let probe = sandbox.probe("probe");
    let inside = sandbox.path().join("inside");
    let outside = sandbox.path().join("outside");
    std::fs::create_dir(&inside).unwrap();
    std::fs::create_dir(&outside).unwrap();
    let old = inside.join("f");
    let new = outside.join("f");
    std::fs::write(&old, "x\n").unwrap();
    allow_reading_under(&sandbox, &probe, &inside);
    let _daemon = Daemon::start(&sandbox.policy_dir());
    // same dentry, same inode, a path outside every rule
    let (code, out) = open_across_a_move(&probe, &old, &new, &old, &new);
    assert_eq!(code, Some(DENIED), "{out}");
}

/// The policy generation (ebpf/src/cache.h): a task's cached file decisions
/// last only until bpfboxd changes its maps. Here the change is the set of
/// protected places. A daemon restarted on a policy directory the task has
/// been writing in protects that directory at once, and the task's next
/// write there — the same file, under the same rules, a decision it has
/// cached — is denied.
#[test]
fn a_write_the_task_has_cached_is_denied_once_the_daemon_protects_the_file() {
    use std::io::{BufRead, Write};

    let sandbox = Sandbox::new("generation");
    let probe = sandbox.probe("probe");
    let work = sandbox.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let file = work.join("f");
    std::fs::write(&file, "x\n").unwrap();
    let toml = format!(
        "profile = \"{}\"\ntaint_on_exec = true\n{RUNTIME_RULES}\n\
         [[fs]]\nfile = \"{}/**\"\naccess = [\"read\", \"write\", \"getattr\"]\n",
        probe.display(),
        work.display()
    );
    sandbox.profile("probe.toml", &toml);
    let daemon = Daemon::start(&sandbox.policy_dir());
    let open = ["open", s(&file), "write"];
    let mut child = std::process::Command::new(&probe)
        .args(open)
        .args(["+", "wait-line", "+"])
        .args(open)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(next().starts_with("pid="));
    assert_eq!(next(), "ok", "the first write is allowed");

    drop(daemon);
    // the same profile, in the directory it lets the task write to
    std::fs::write(work.join("probe.toml"), &toml).unwrap();
    let _daemon = Daemon::start(&work);
    writeln!(child.stdin.take().unwrap(), "go").unwrap();
    let out = [next(), next()];
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(DENIED), "{out:?}");
}
