//! The `bpfbox` command line against the real bpfboxd on the real system
//! bus with polkitd: what each command prints, what it changes (checked in
//! the kernel's verdicts), and its exit codes. Then learning a profile for a
//! real Debian program and enforcing it.

use std::{
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use bpfbox_dbus::{options, ManagerProxy, ProfileProxy};
use bpfbox_tests::{bin_dir, bus::SystemBus, run, Daemon, Sandbox, RUNTIME_RULES};
use serde_json::Value;

const DENIED: i32 = 1;

/// The CLI's documented exit codes (docs/cli.md).
mod exit {
    pub const OK: i32 = 0;
    pub const USAGE: i32 = 2;
    pub const NO_DAEMON: i32 = 3;
    pub const NOT_AUTHORIZED: i32 = 4;
    pub const NOT_FOUND: i32 = 5;
    pub const INVALID: i32 = 6;
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn bpfbox_bin() -> PathBuf {
    bin_dir().join("bpfbox")
}

/// Runs `bpfbox ARGS` (stdin not a terminal, so it never asks).
fn bpfbox(args: &[&str]) -> Output {
    let out = Command::new(bpfbox_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run bpfbox (cargo build -p bpfbox-cli)");
    eprintln!(
        "$ bpfbox {}\n{}{}-> {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code().unwrap_or(-1)
    );
    out
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

fn ensure_user(user: &str) {
    let _ = Command::new("useradd")
        .args(["-M", "-N", "-s", "/bin/sh", user])
        .status();
}

struct Setup {
    sandbox: Sandbox,
    probe: PathBuf,
    a: PathBuf,
    secret: PathBuf,
    daemon: Option<Daemon>,
    bus: SystemBus,
}

impl Setup {
    fn start(name: &str) -> Self {
        let sandbox = Sandbox::new(name);
        let probe = sandbox.probe("probe");
        let a = sandbox.file("a", "a\n");
        let secret = sandbox.file("secret", "s\n");
        sandbox.profile(
            "probe.toml",
            &format!(
                "profile = \"{}\"\nname = \"Probe\"\ntaint_on_exec = true\n{RUNTIME_RULES}\n\
                 [[fs]]\nid = \"read-a\"\nfile = \"{}\"\naccess = \"read\"\n",
                probe.display(),
                a.display()
            ),
        );
        let bus = SystemBus::start();
        // a short window: events reach GetEvents (and learning) quickly
        let daemon = Daemon::start_with(&sandbox.policy_dir(), &["--coalesce-window-ms", "100"]);
        Self {
            sandbox,
            probe,
            a,
            secret,
            daemon: Some(daemon),
            bus,
        }
    }

    fn read(&self, file: &Path) -> i32 {
        run(&self.probe, &["open", s(file), "read"]).code
    }
}

/// Events of `app` from `bpfbox --json log`, one JSON object per line.
fn logged(app: &str) -> Vec<Value> {
    let out = bpfbox(&["--json", "log", "--app", app]);
    assert_eq!(code(&out), exit::OK);
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Polls `bpfbox log` until an event matches (the daemon reports after its
/// coalescing window).
fn wait_logged(app: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(e) = logged(app).into_iter().find(&pred) {
            return e;
        }
        assert!(Instant::now() < deadline, "no such event was logged");
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn cli_reads_and_changes_profiles_and_the_kernel_follows() {
    let setup = Setup::start("cli-basics");
    let probe = s(&setup.probe);

    let out = bpfbox(&["status"]);
    assert_eq!(code(&out), exit::OK);
    assert!(stdout(&out).contains(": enforcing"), "{}", stdout(&out));
    let status = json(&bpfbox(&["--json", "status"]));
    assert_eq!(status["enforcing"], true);
    assert_eq!(status["profiles"], 1);

    let out = bpfbox(&["list"]);
    assert!(
        stdout(&out).starts_with("PROFILE "),
        "a table with a header"
    );
    assert!(stdout(&out).contains(probe) && stdout(&out).contains("enforce"));
    let list = json(&bpfbox(&["--json", "list"]));
    assert_eq!(list[0]["executable"], probe);
    assert_eq!(list[0]["display_name"], "Probe");

    // by display name and by file name
    let out = bpfbox(&["show", "Probe"]);
    assert_eq!(code(&out), exit::OK);
    assert!(stdout(&out).contains("read-a"), "{}", stdout(&out));
    let shown = json(&bpfbox(&["--json", "show", "probe"]));
    let rule = |shown: &Value| {
        shown["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "read-a")
            .cloned()
            .expect("rule read-a")
    };
    assert_eq!(rule(&shown)["enabled"], true);

    assert_eq!(setup.read(&setup.a), 0);
    assert_eq!(code(&bpfbox(&["disable", "Probe", "read-a"])), exit::OK);
    assert_eq!(setup.read(&setup.a), DENIED, "disabled in the kernel");
    assert_eq!(
        rule(&json(&bpfbox(&["--json", "show", probe])))["enabled"],
        false
    );
    assert_eq!(code(&bpfbox(&["enable", "Probe", "read-a"])), exit::OK);
    assert_eq!(setup.read(&setup.a), 0);

    // a rule in the policy vocabulary, then taken away again
    assert_eq!(setup.read(&setup.secret), DENIED);
    let file_key = format!("file={}", s(&setup.secret));
    let added = json(&bpfbox(&[
        "--json",
        "allow",
        probe,
        "fs",
        &file_key,
        "access=read,getattr",
    ]));
    let id = added["rule"]
        .as_str()
        .expect("the new rule's id")
        .to_owned();
    assert_eq!(setup.read(&setup.secret), 0);
    assert_eq!(code(&bpfbox(&["remove", probe, &id])), exit::OK);
    assert_eq!(setup.read(&setup.secret), DENIED);

    assert_eq!(code(&bpfbox(&["mode", "probe", "complain"])), exit::OK);
    assert_eq!(setup.read(&setup.secret), 0, "complain mode allows");
    assert_eq!(
        json(&bpfbox(&["--json", "show", "probe"]))["mode"],
        "complain"
    );
    assert_eq!(code(&bpfbox(&["mode", "probe", "enforce"])), exit::OK);
    assert_eq!(setup.read(&setup.secret), DENIED);

    let denial = wait_logged(probe, |e| {
        e["action"] == "deny" && e["object"] == s(&setup.secret)
    });
    assert_eq!(denial["kind"], "fs");
    assert_eq!(denial["executable"], probe);
    let out = bpfbox(&["log", "--app", "Probe", "-n", "1"]);
    assert_eq!(stdout(&out).lines().count(), 2, "a header and one event");

    assert_eq!(code(&bpfbox(&["reload"])), exit::OK);
    assert_eq!(setup.read(&setup.a), 0, "the same policy after a reload");
}

#[test]
fn cli_exit_codes_name_what_went_wrong() {
    let mut setup = Setup::start("cli-codes");
    let probe = s(&setup.probe).to_owned();

    assert_eq!(
        code(&bpfbox(&["show", "/no/such/program"])),
        exit::NOT_FOUND
    );
    assert_eq!(code(&bpfbox(&["show", "no-such-name"])), exit::NOT_FOUND);
    assert_eq!(
        code(&bpfbox(&["disable", &probe, "no-such-rule"])),
        exit::NOT_FOUND
    );
    assert_eq!(code(&bpfbox(&["mode", &probe, "strict"])), exit::USAGE);
    let out = bpfbox(&["allow", &probe, "fs", "file=/x", "access=raed"]);
    assert_eq!(code(&out), exit::INVALID, "a rule that would not load");
    assert!(String::from_utf8_lossy(&out.stderr).contains("raed"));

    // an unprivileged user: status is public, changes need polkit, which
    // says no to a user outside an active session without an agent
    ensure_user("bpfbox-user");
    let cli = setup.sandbox.path().join("bpfbox");
    std::fs::copy(bpfbox_bin(), &cli).unwrap();
    let as_user = |args: &[&str]| {
        let out = Command::new("runuser")
            .args(["-u", "bpfbox-user", "--"])
            .arg(&cli)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        eprintln!(
            "$ (bpfbox-user) bpfbox {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    assert_eq!(code(&as_user(&["list"])), exit::OK);
    let out = as_user(&["mode", &probe, "complain"]);
    assert_eq!(code(&out), exit::NOT_AUTHORIZED);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not authorized"));
    assert_eq!(
        json(&bpfbox(&["--json", "show", &probe]))["mode"],
        "enforce",
        "nothing changed"
    );

    // with bpfboxd gone the bus has no owner for its name
    setup.daemon.take();
    let out = bpfbox(&["status"]);
    assert_eq!(code(&out), exit::NO_DAEMON);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not running"));
    drop(setup.bus);
    assert_eq!(
        code(&bpfbox(&["list"])),
        exit::NO_DAEMON,
        "no system bus at all"
    );
}

#[test]
fn cli_log_follow_prints_denials_as_they_happen() {
    let setup = Setup::start("cli-follow");
    let mut follow = Command::new(bpfbox_bin())
        .args(["--json", "log", "-f", "--app", "Probe"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let pipe = follow.stdout.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Subscribing takes a moment the test cannot see: deny until a denial
    // shows up (each from a new process, so none is coalesced away).
    let deadline = Instant::now() + Duration::from_secs(20);
    let line = loop {
        assert_eq!(setup.read(&setup.secret), DENIED);
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
            break line;
        }
        assert!(Instant::now() < deadline, "log -f printed nothing");
    };
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["action"], "deny");
    assert_eq!(event["object"], s(&setup.secret));
    let _ = follow.kill();
    let _ = follow.wait();
}

/// The first `{` line on: `--json learn` prints its JSON after whatever the
/// learned program wrote to the same stdout.
fn learn_json(out: &Output, program_output: &str) -> Value {
    let text = stdout(out);
    let rest = text
        .strip_prefix(program_output)
        .unwrap_or_else(|| panic!("the program's output comes first: {text}"));
    serde_json::from_str(rest).unwrap_or_else(|e| panic!("{e}: {rest}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learning_a_profile_for_cat_enforces_what_it_needed_and_nothing_else() {
    let setup = Setup::start("cli-learn");
    // in root's home, so the learned rule shows the `~` placeholder
    let home = PathBuf::from("/root");
    let notes_dir = home.join(format!("bpfbox-learn-{}", std::process::id()));
    let other_dir = home.join(format!("bpfbox-other-{}", std::process::id()));
    std::fs::create_dir_all(&notes_dir).unwrap();
    std::fs::create_dir_all(&other_dir).unwrap();
    let notes = notes_dir.join("notes.txt");
    let secret = other_dir.join("secret.txt");
    std::fs::write(&notes, "learned notes\n").unwrap();
    std::fs::write(&secret, "never read while learning\n").unwrap();
    let cat = |file: &Path| {
        Command::new("/usr/bin/cat")
            .arg(file)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };

    // rejecting leaves no profile behind
    let out = bpfbox(&["--json", "learn", "--no", "--", "cat", s(&notes)]);
    assert_eq!(code(&out), exit::OK);
    let rejected = learn_json(&out, "learned notes\n");
    assert_eq!(rejected["applied"], false);
    assert_eq!(code(&bpfbox(&["show", "/usr/bin/cat"])), exit::NOT_FOUND);

    let started = Instant::now();
    let out = bpfbox(&[
        "--json",
        "learn",
        "--yes",
        "--settle-ms",
        "1500",
        "--",
        "cat",
        s(&notes),
    ]);
    let took = started.elapsed();
    assert_eq!(code(&out), exit::OK);
    let learned = learn_json(&out, "learned notes\n");
    assert_eq!(learned["applied"], true);
    let text = learned["profile"].as_str().unwrap().to_owned();
    println!(
        "learned in {:.1} s from {} events:\n{text}",
        took.as_secs_f64(),
        learned["events"]
    );
    let notes_rule = format!("~/{}", notes.strip_prefix(&home).unwrap().to_str().unwrap());
    assert!(text.contains(&notes_rule), "{text}");
    assert!(
        text.contains("\"/usr/lib/**\""),
        "libraries grouped: {text}"
    );
    assert!(!text.contains("secret"), "{text}");

    // what the daemon holds is what was proposed, in enforce mode
    let conn = zbus::connection::Builder::address(setup.bus.address())
        .unwrap()
        .build()
        .await
        .unwrap();
    let manager = ManagerProxy::new(&conn).await.unwrap();
    let path = manager
        .get_profile("/usr/bin/cat", &options::none())
        .await
        .unwrap();
    let profile = ProfileProxy::builder(&conn)
        .path(path)
        .unwrap()
        .build()
        .await
        .unwrap();
    assert_eq!(profile.get_text(&options::none()).await.unwrap(), text);
    assert_eq!(profile.mode().await.unwrap(), "enforce");

    // the same run again, enforced: it has everything it needs
    let again = cat(&notes);
    assert!(again.status.success(), "{again:?}");
    assert_eq!(again.stdout, b"learned notes\n");

    // a file it never read while learning, in another directory: denied
    let denied = cat(&secret);
    assert_eq!(denied.status.code(), Some(1), "{denied:?}");
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
    wait_logged("/usr/bin/cat", |e| {
        e["action"] == "deny" && e["object"] == s(&secret)
    });

    // no profile for cat outlives the test: the kernel keeps enforcing
    // after bpfboxd stops
    profile.delete(&options::none()).await.unwrap();
    let _ = std::fs::remove_dir_all(&notes_dir);
    let _ = std::fs::remove_dir_all(&other_dir);
}

/// The app's "Learn from activity" (bpfbox_learn::run, which the app calls
/// as is): complain mode while the app runs, a proposal from the run's
/// events, then the learned profile enforced, or the mode put back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learning_from_activity_enforces_what_the_run_needed_and_stopping_changes_nothing() {
    use bpfbox_learn::run::{self, Finished};

    let setup = Setup::start("learn-run");
    // Outside the sandbox, which is in /tmp: learning turns a temporary
    // file into its directory's glob.
    let other = PathBuf::from(format!("/root/bpfbox-learn-other-{}", std::process::id()));
    std::fs::write(&other, "never read while learning\n").unwrap();
    let conn = zbus::connection::Builder::address(setup.bus.address())
        .unwrap()
        .build()
        .await
        .unwrap();
    let manager = ManagerProxy::new(&conn).await.unwrap();
    let path = manager
        .get_profile(s(&setup.probe), &options::none())
        .await
        .unwrap()
        .to_string();
    let profile = ProfileProxy::builder(&conn)
        .path(path.clone())
        .unwrap()
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .unwrap();
    assert_eq!(setup.read(&setup.secret), DENIED);

    // Stopped: the file as before.
    let text_before = profile.get_text(&options::none()).await.unwrap();
    let learning = run::start(&conn, &path).await.unwrap();
    assert_eq!(profile.mode().await.unwrap(), "complain");
    assert_eq!(
        run::finish(&conn, &learning, None).await.unwrap(),
        Finished::Stopped
    );
    assert_eq!(profile.mode().await.unwrap(), "enforce");
    assert_eq!(
        profile.get_text(&options::none()).await.unwrap(),
        text_before
    );

    // Applied: the run's accesses become rules, and only they.
    let learning = run::start(&conn, &path).await.unwrap();
    assert_eq!(setup.read(&setup.secret), 0, "complain mode allows");
    let deadline = Instant::now() + Duration::from_secs(30);
    let review = loop {
        let review = run::propose(&conn, &learning).await.unwrap();
        if review.learned.rules > 0 {
            break review;
        }
        assert!(Instant::now() < deadline, "the run's event never arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!("proposed:\n{}", review.learned.diff);
    let diff = &review.learned.diff;
    assert!(diff.contains(s(setup.sandbox.path())), "{diff}");
    assert!(!diff.contains("bpfbox-learn-other"), "{diff}");

    // An edit made meanwhile is a conflict, not overwritten; the run goes on.
    profile
        .set_rule_enabled("read-a", false, &options::none())
        .await
        .unwrap();
    let err = run::finish(&conn, &learning, Some(&review))
        .await
        .unwrap_err();
    assert!(matches!(err, bpfbox_dbus::Error::Conflict(_)), "{err:?}");
    let review = run::propose(&conn, &learning).await.unwrap();
    assert_eq!(
        run::finish(&conn, &learning, Some(&review)).await.unwrap(),
        Finished::Applied
    );
    assert_eq!(profile.mode().await.unwrap(), "enforce");
    assert_eq!(setup.read(&setup.secret), 0, "learned");
    assert_eq!(setup.read(&other), DENIED, "never touched while learning");
    assert_eq!(
        setup.read(&setup.a),
        0,
        "the learned glob covers the sandbox"
    );
    assert!(
        profile
            .get_rules(&options::none())
            .await
            .unwrap()
            .iter()
            .any(|r| r.id == "read-a" && !r.enabled),
        "the edit made meanwhile is kept"
    );
    let _ = std::fs::remove_file(&other);
}
