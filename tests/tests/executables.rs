//! A profile confines whatever file is at its executable path, on a real
//! kernel: a package upgrade's rename, a rewrite in place, `install`, a
//! removal and reinstall, an app installed after its profile, a directory
//! on the way renamed — each confined from the first run after the change,
//! with the daemon running and with no daemon at all. Beside them: what a
//! symbolic link, a hard link and a copy elsewhere mean, a process still
//! running from the old file, a profiled script, and how the daemon and the
//! D-Bus API say that an executable changed or is not installed.

use std::{
    fs,
    io::Write as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use bpfbox_dbus::{options, ManagerProxy, ProfileProxy};
use bpfbox_tests::{bin_dir, bus::SystemBus, run, Daemon, Sandbox, RUNTIME_RULES};
use futures_util::StreamExt as _;

const DENIED: i32 = 1;

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A profile for `exe` that may read `notes` and nothing else of its own.
fn profile(exe: &Path, notes: &Path) -> String {
    format!(
        "profile = \"{}\"\ntaint_on_exec = true\n{RUNTIME_RULES}\n\
         [[fs]]\nfile = \"{}\"\naccess = \"read\"\n",
        exe.display(),
        notes.display()
    )
}

struct Setup {
    sandbox: Sandbox,
    /// `bin/app`: a copy of the probe, with a profile.
    app: PathBuf,
    /// `opt/late/bin/app`: its profile is loaded before any of it exists.
    late: PathBuf,
    notes: PathBuf,
    secret: PathBuf,
}

impl Setup {
    fn new(name: &str) -> Self {
        let sandbox = Sandbox::new(name);
        let notes = sandbox.file("notes.txt", "meeting at noon\n");
        let secret = sandbox.file("secret.txt", "hunter2\n");
        let app = sandbox.path().join("bin/app");
        let late = sandbox.path().join("opt/late/bin/app");
        fs::create_dir_all(app.parent().unwrap()).unwrap();
        install_probe(&app);
        sandbox.profile("app.toml", &profile(&app, &notes));
        sandbox.profile("late.toml", &profile(&late, &notes));
        Self {
            sandbox,
            app,
            late,
            notes,
            secret,
        }
    }

    /// What running `exe` shows: it starts and reads its notes, and is
    /// denied the secret.
    fn verdict(&self, exe: &Path) -> Verdict {
        let notes = run(exe, &["open", s(&self.notes), "read"]).code;
        let secret = run(exe, &["open", s(&self.secret), "read"]).code;
        match (notes, secret) {
            (0, DENIED) => Verdict::Confined,
            (0, 0) => Verdict::Unconfined,
            _ => Verdict::Broken { notes, secret },
        }
    }

    /// A fresh copy of the probe (a new inode), written next to `at`.
    fn new_file(&self, at: &Path, suffix: &str) -> PathBuf {
        let new = at.with_extension(suffix);
        install_probe(&new);
        new
    }
}

fn install_probe(at: &Path) {
    fs::copy(bin_dir().join("bpfbox-probe"), at).expect("copy the probe");
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Verdict {
    /// It ran, read its notes and was denied the secret.
    Confined,
    /// It read the secret.
    Unconfined,
    /// It could not even do what its profile allows.
    Broken { notes: i32, secret: i32 },
}

/// Waits until the daemon has applied the policy more often than `before`
/// times (a change on the way to an executable reloads it), or 5 s.
fn wait_for_reload(daemon: &Daemon, before: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while applied(daemon) <= before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn applied(daemon: &Daemon) -> usize {
    daemon
        .log()
        .iter()
        .filter(|l| l.contains("policy applied"))
        .count()
}

type Change = fn(&Setup);

/// The ways a file comes to be at a profile's path, in the order the table
/// runs them (each starts from the previous one's result).
const CHANGES: &[(&str, &str, Change)] = &[
    ("nothing (baseline)", "app", |_| {}),
    (
        "replaced as dpkg and rpm do (x.dpkg-new renamed over x)",
        "app",
        |t| {
            let new = t.new_file(&t.app, "dpkg-new");
            fs::rename(new, &t.app).unwrap();
        },
    ),
    ("rewritten in place (cp over the same inode)", "app", |t| {
        install_probe(&t.app);
    }),
    (
        "installed with install -m755 (unlink, then create)",
        "app",
        |t| {
            let status = Command::new("install")
                .args(["-m755", s(&bin_dir().join("bpfbox-probe")), s(&t.app)])
                .status()
                .unwrap();
            assert!(status.success());
        },
    ),
    ("removed, then installed again", "app", |t| {
        fs::remove_file(&t.app).unwrap();
        install_probe(&t.app);
    }),
    ("its directory renamed away and back", "app", |t| {
        let dir = t.app.parent().unwrap();
        let away = dir.with_extension("away");
        fs::rename(dir, &away).unwrap();
        fs::rename(&away, dir).unwrap();
    }),
    (
        "its directory renamed away, a new one made in its place",
        "app",
        |t| {
            let dir = t.app.parent().unwrap();
            fs::rename(dir, dir.with_extension("old")).unwrap();
            fs::create_dir(dir).unwrap();
            install_probe(&t.app);
        },
    ),
    (
        "installed after its profile was loaded (the whole tree created later)",
        "late",
        |t| {
            fs::create_dir_all(t.late.parent().unwrap()).unwrap();
            install_probe(&t.late);
        },
    ),
];

#[test]
fn whatever_file_is_at_a_profiles_path_is_confined_from_its_first_run() {
    let t = Setup::new("exe-path");
    let daemon = Daemon::start(&t.sandbox.policy_dir());
    let mut rows = Vec::new();
    for (what, which, change) in CHANGES {
        let exe = if *which == "late" { &t.late } else { &t.app };
        let before = applied(&daemon);
        change(&t);
        let at_once = t.verdict(exe);
        wait_for_reload(&daemon, before);
        let later = t.verdict(exe);
        rows.push((*what, at_once, later));
    }
    println!("| what happened to the executable | at once | after bpfboxd looked |");
    println!("|---|---|---|");
    for (what, at_once, later) in &rows {
        println!("| {what} | {at_once:?} | {later:?} |");
    }
    for (what, at_once, later) in rows {
        assert_eq!(at_once, Verdict::Confined, "{what}, at once");
        assert_eq!(later, Verdict::Confined, "{what}, after bpfboxd looked");
    }
    // the new files are known by identity now, not only by path
    let log = daemon.log();
    assert!(
        log.iter().any(|l| l.contains("executable replaced")),
        "{log:#?}"
    );
    assert!(
        log.iter().any(|l| l.contains("executable installed")),
        "{log:#?}"
    );
}

#[test]
fn with_no_daemon_running_the_kernel_alone_confines_a_replaced_or_new_executable() {
    let t = Setup::new("exe-no-daemon");
    let daemon = Daemon::start(&t.sandbox.policy_dir());
    daemon.kill_hard();

    let new = t.new_file(&t.app, "dpkg-new");
    fs::rename(new, &t.app).unwrap();
    assert_eq!(t.verdict(&t.app), Verdict::Confined, "replaced");
    fs::create_dir_all(t.late.parent().unwrap()).unwrap();
    install_probe(&t.late);
    assert_eq!(t.verdict(&t.late), Verdict::Confined, "installed late");

    // the kernel counts execs it confined by their path alone
    let status = Command::new(bin_dir().join("bpfboxd"))
        .args(["status", "--lock-file"])
        .arg(t.sandbox.policy_dir().join("bpfboxd.lock"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    let by_path: u64 = text
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("execs confined by their path alone: ")
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in the status:\n{text}"));
    assert!(by_path >= 4, "{text}");
}

#[test]
fn a_process_started_from_the_old_file_stays_confined_after_an_upgrade() {
    let t = Setup::new("exe-running");
    let _daemon = Daemon::start(&t.sandbox.policy_dir());
    let mut child = Command::new(&t.app)
        .args(["wait-line", "+", "open", s(&t.secret), "read"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // it runs: its pid line is out
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("pid="), "{line}");
    let new = t.new_file(&t.app, "dpkg-new");
    fs::rename(new, &t.app).unwrap();
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(DENIED),
        "the old process keeps its profile"
    );
}

#[test]
fn a_hard_link_elsewhere_is_confined_and_a_copy_elsewhere_is_not() {
    let t = Setup::new("exe-links");
    let _daemon = Daemon::start(&t.sandbox.policy_dir());
    let linked = t.sandbox.path().join("linked-app");
    fs::hard_link(&t.app, &linked).unwrap();
    let copied = t.sandbox.path().join("copied-app");
    fs::copy(&t.app, &copied).unwrap();
    println!("| the same program | run as | confined? |");
    println!("|---|---|---|");
    for (what, exe, expected) in [
        ("the profiled file", &t.app, Verdict::Confined),
        (
            "a hard link to it elsewhere (the same inode)",
            &linked,
            Verdict::Confined,
        ),
        (
            "a copy of it elsewhere (another file at another path)",
            &copied,
            Verdict::Unconfined,
        ),
    ] {
        let verdict = t.verdict(exe);
        println!("| {what} | {} | {verdict:?} |", exe.display());
        assert_eq!(verdict, expected, "{what}");
    }
}

#[test]
fn a_profile_names_the_file_a_symlink_chain_ends_at_and_a_link_gets_a_warning() {
    let t = Setup::new("exe-symlinks");
    // /usr/bin/x -> /etc/alternatives/x -> /usr/lib/x/x, in the sandbox
    let root = t.sandbox.path();
    let chain = |name: &str| {
        let real = root.join(format!("usr/lib/{name}/{name}"));
        fs::create_dir_all(real.parent().unwrap()).unwrap();
        install_probe(&real);
        let alternative = root.join(format!("etc/alternatives/{name}"));
        let link = root.join(format!("usr/bin/{name}"));
        for dir in [&alternative, &link] {
            fs::create_dir_all(dir.parent().unwrap()).unwrap();
        }
        std::os::unix::fs::symlink(&real, &alternative).unwrap();
        std::os::unix::fs::symlink(&alternative, &link).unwrap();
        (real, link)
    };
    let (real_x, link_x) = chain("x");
    let (real_y, link_y) = chain("y");
    t.sandbox.profile("x.toml", &profile(&real_x, &t.notes));
    t.sandbox.profile("y.toml", &profile(&link_y, &t.notes));

    // `bpfboxd check` says where, and what to name instead
    let out = Command::new(bin_dir().join("bpfboxd"))
        .arg("check")
        .arg(t.sandbox.policy_dir())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    let y_file = t.sandbox.policy_dir().join("y.toml");
    let expected = format!(
        "{}:1:11: warning: `profile` is a symbolic link to {}",
        y_file.display(),
        real_y.display()
    );
    assert!(said.contains(&expected), "{said}");
    assert!(
        !said.contains("x.toml"),
        "the real file gets no warning: {said}"
    );
    assert_eq!(out.status.code(), Some(0), "a warning, not an error");

    let daemon = Daemon::start(&t.sandbox.policy_dir());
    assert!(
        daemon.log().iter().any(|l| l.contains(&expected)),
        "{:#?}",
        daemon.log()
    );
    for (what, exe) in [
        ("x run through its link chain", &link_x),
        ("x run by its real path", &real_x),
        ("y (the profile names the link) run through it", &link_y),
        ("y run by its real path", &real_y),
    ] {
        assert_eq!(t.verdict(exe), Verdict::Confined, "{what}");
    }
}

#[test]
fn a_profiled_script_replaced_by_a_new_file_is_still_confined() {
    let t = Setup::new("exe-script");
    let script = t.sandbox.path().join("bin/show");
    let text = "#!/bin/sh\nexec cat \"$1\"\n";
    let write_script = |at: &Path| {
        fs::write(at, text).unwrap();
        fs::set_permissions(at, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    };
    write_script(&script);
    // cat reads and stats its input
    t.sandbox.profile(
        "show.toml",
        &format!(
            "{}\n[[fs]]\nfile = [\"/etc/**\", \"{}\"]\naccess = [\"read\", \"getattr\"]\n",
            profile(&script, &t.notes),
            t.notes.display()
        ),
    );
    let _daemon = Daemon::start(&t.sandbox.policy_dir());
    let show = |file: &Path| run(&script, &[s(file)]).code;
    assert_eq!((show(&t.notes), show(&t.secret)), (0, DENIED));

    let new = script.with_extension("new");
    write_script(&new);
    fs::rename(&new, &script).unwrap();
    assert_eq!(
        (show(&t.notes), show(&t.secret)),
        (0, DENIED),
        "the new script, at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_executable_is_shown_as_not_installed_until_it_arrives() {
    let t = Setup::new("exe-installed");
    let bus = SystemBus::start();
    let _daemon = Daemon::start(&t.sandbox.policy_dir());

    let listed = || {
        let out = Command::new(bin_dir().join("bpfbox"))
            .arg("list")
            .env("DBUS_SYSTEM_BUS_ADDRESS", bus.address())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.starts_with(s(&t.late)))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    assert!(listed().contains("not installed"), "{}", listed());

    let conn = zbus::connection::Builder::address(bus.address())
        .unwrap()
        .build()
        .await
        .unwrap();
    let manager = ManagerProxy::new(&conn).await.unwrap();
    let path = manager
        .get_profile(s(&t.late), &options::none())
        .await
        .unwrap();
    let profile = ProfileProxy::builder(&conn)
        .path(path)
        .unwrap()
        .build()
        .await
        .unwrap();
    assert!(!profile.installed().await.unwrap());
    let mut changes = profile.receive_installed_changed().await;

    fs::create_dir_all(t.late.parent().unwrap()).unwrap();
    install_probe(&t.late);
    // the stream starts with the value it has; then each change
    let turned_true = async {
        while let Some(change) = changes.next().await {
            if change.get().await.unwrap() {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), turned_true)
        .await
        .expect("Installed turns true, and it is signalled");
    assert!(!listed().contains("not installed"), "{}", listed());
}
