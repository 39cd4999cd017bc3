//! The desktop app for real: `bpfbox-manager` under Xvfb, driven through
//! AT-SPI (tests/desktop/driver.py, dogtail) as assistive technology sees
//! it, against the real bpfboxd on the real system bus with polkitd.
//! Every check ends on persistent state: the daemon's rules, the kernel's
//! verdict, the switch the app shows.
//!
//! One scenario per app start: under QEMU's emulation the app needs 30-40 s
//! to appear on the accessibility bus.
//!
//! `BPFBOX_SCREENSHOTS=print` prints the screenshots as base64 between
//! `==> screenshot NAME` and `<== screenshot` lines (the guest's files do
//! not outlive it); tests/desktop/save-screenshots turns such a log into
//! docs/screenshots/.

use std::{
    fs,
    io::{BufRead as _, BufReader, Write as _},
    path::{Path, PathBuf},
    process::{ChildStdin, ChildStdout, Command, Stdio},
    time::{Duration, Instant},
};

use bpfbox_dbus::{options, ManagerProxy, ProfileProxy};
use bpfbox_tests::{
    bin_dir,
    bus::SystemBus,
    desktop::{print_screenshot, screenshot_png, session_bus, xvfb, Running, Session},
    run, Daemon, Sandbox, RUNTIME_RULES,
};

const DENIED: i32 = 1;
const USER: &str = "bpfbox-desktop";
const DRIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/desktop/driver.py");
const DISPLAY: &str = ":73";

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// One desktop session with the app and the driver.
struct Desktop(Session);

impl Desktop {
    fn command(&self, program: &str) -> Command {
        self.0.command(program)
    }

    fn app(&self, probe: &Path) -> Running {
        Running(
            self.command(s(&bin_dir().join("bpfbox-manager")))
                .args(["--profile", s(probe)])
                .spawn()
                .expect("spawn bpfbox-manager"),
        )
    }

    /// Starts the AT-SPI driver of this session.
    fn driver(&self) -> Driver {
        let mut child = self
            .command("/usr/bin/python3")
            .arg(DRIVER)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run the AT-SPI driver (apt package python3-dogtail)");
        let replies = BufReader::new(child.stdout.take().unwrap());
        let commands = child.stdin.take().unwrap();
        Driver {
            commands,
            replies,
            _child: Running(child),
        }
    }
}

/// The driver process of one session (tests/desktop/driver.py).
struct Driver {
    commands: ChildStdin,
    replies: BufReader<ChildStdout>,
    _child: Running,
}

impl Driver {
    /// Runs one command; panics with what the driver saw if it fails.
    fn drive(&mut self, args: &[&str]) {
        let started = Instant::now();
        writeln!(self.commands, "{}", args.join("\t")).expect("write to the driver");
        let mut reply = String::new();
        self.replies
            .read_line(&mut reply)
            .expect("read the driver's reply");
        assert_eq!(
            reply.trim_end(),
            "ok",
            "driver {args:?} failed after {:?}",
            started.elapsed()
        );
        eprintln!("driver {args:?}: ok after {:?}", started.elapsed());
    }
}

fn screenshot(name: &str) {
    if std::env::var("BPFBOX_SCREENSHOTS").as_deref() == Ok("print") {
        print_screenshot(name, &screenshot_png(DISPLAY, None));
    }
}

fn ensure_user(user: &str) {
    let _ = Command::new("useradd")
        .args(["-M", "-N", "-s", "/bin/sh", user])
        .status();
}

fn home(name: &str, user: Option<&str>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bpfbox-desktop-home-{name}"));
    fs::create_dir_all(&dir).unwrap();
    if let Some(user) = user {
        let ok = Command::new("chown")
            .args([user, s(&dir)])
            .status()
            .unwrap()
            .success();
        assert!(ok, "chown {}", dir.display());
    }
    dir
}

/// Waits until the daemon's rule `read-a` is `enabled`; panics after a
/// minute (the app calls the daemon asynchronously after the toggle).
async fn wait_rule(profile: &ProfileProxy<'_>, enabled: bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rules = profile.get_rules(&options::none()).await.unwrap();
        if rules
            .iter()
            .any(|r| r.id == "read-a" && r.enabled == enabled)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon's rule read-a never became enabled={enabled}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A sandbox with the probe confined as "Probe", whose one rule `read-a`
/// allows reading the file `a`: the app's subject in both tests.
fn probe_sandbox(name: &str) -> (Sandbox, PathBuf, PathBuf) {
    let sandbox = Sandbox::new(name);
    let probe = sandbox.probe("probe");
    let a = sandbox.file("a", "a\n");
    sandbox.profile(
        "probe.toml",
        &format!(
            "profile = \"{}\"\nname = \"Probe\"\n{RUNTIME_RULES}\n\
             [[fs]]\nid = \"read-a\"\nfile = \"{}\"\naccess = \"read\"\n",
            probe.display(),
            a.display()
        ),
    );
    (sandbox, probe, a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_shows_the_daemons_state_changes_it_when_allowed_and_survives_a_restart() {
    let (sandbox, probe, a) = probe_sandbox("desktop");
    let bus = SystemBus::start();
    let mut daemon = Some(Daemon::start(&sandbox.policy_dir()));
    let conn = zbus::connection::Builder::address(bus.address())
        .unwrap()
        .build()
        .await
        .unwrap();
    let manager = ManagerProxy::new(&conn).await.unwrap();
    let path = manager
        .get_profile(s(&probe), &options::none())
        .await
        .unwrap();
    let profile = ProfileProxy::builder(&conn)
        .path(path)
        .unwrap()
        .build()
        .await
        .unwrap();
    // The switch's accessible label is the rule's summary, as the daemon
    // words it.
    let summary = profile
        .get_rules(&options::none())
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == "read-a")
        .expect("rule read-a")
        .summary;
    let read_a = || run(&probe, &["open", s(&a), "read"]).code;
    assert_eq!(read_a(), 0);

    let _x = xvfb(DISPLAY);

    // As root, whom polkit always authorizes.
    {
        let (_session, session) = session_bus(None);
        let desktop = Desktop(Session {
            user: None,
            display: DISPLAY,
            session_bus: session,
            system_bus: bus.address().to_owned(),
            home: home("root", None),
            env: Vec::new(),
        });
        let _app = desktop.app(&probe);
        let mut driver = desktop.driver();
        driver.drive(&["find", "Probe"]);
        driver.drive(&["checked", &summary, "true"]);
        screenshot("profile");

        driver.drive(&["toggle", &summary]);
        wait_rule(&profile, false).await;
        driver.drive(&["checked", &summary, "false"]);
        assert_eq!(
            read_a(),
            DENIED,
            "the kernel denies what the switch turned off"
        );

        // A change made elsewhere shows up by itself (PropertiesChanged).
        profile
            .set_rule_enabled("read-a", true, &options::none())
            .await
            .unwrap();
        driver.drive(&["checked", &summary, "true"]);
        assert_eq!(read_a(), 0);

        // The daemon goes away and comes back: the app says so, then
        // recovers by itself.
        drop(daemon.take());
        driver.drive(&["find", "bpfboxd is not running"]);
        screenshot("daemon-missing");
        daemon = Some(Daemon::start(&sandbox.policy_dir()));
        driver.drive(&["gone", "bpfboxd is not running"]);
        driver.drive(&["checked", &summary, "true"]);
    }

    // As a user polkit does not authorize: the switch stays where the
    // daemon has it and a toast says why.
    ensure_user(USER);
    let (_session, session) = session_bus(Some(USER));
    let desktop = Desktop(Session {
        user: Some(USER),
        display: DISPLAY,
        session_bus: session,
        system_bus: bus.address().to_owned(),
        home: home("user", Some(USER)),
        env: Vec::new(),
    });
    let _app = desktop.app(&probe);
    let mut driver = desktop.driver();
    driver.drive(&["checked", &summary, "true"]);
    driver.drive(&["toggle", &summary]);
    driver.drive(&["find-prefix", "Not allowed:"]);
    driver.drive(&["checked", &summary, "true"]);
    wait_rule(&profile, true).await;
    assert_eq!(read_a(), 0, "the refused change changed nothing");
    drop(daemon);
}

/// po/LANG.po compiled as `make` compiles it, into `<dir>/LANG/LC_MESSAGES`.
fn catalogue(dir: &Path, lang: &str) {
    let out = dir.join(lang).join("LC_MESSAGES");
    fs::create_dir_all(&out).unwrap();
    let po = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../po/{lang}.po"));
    let ok = Command::new("msgfmt")
        .arg("-o")
        .arg(out.join("bpfbox.mo"))
        .arg(po)
        .status()
        .expect("msgfmt")
        .success();
    assert!(ok, "msgfmt {lang}.po");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_speaks_german_when_language_is_de() {
    let (sandbox, probe, _) = probe_sandbox("desktop-de");
    let locale_dir = sandbox.path().join("locale");
    catalogue(&locale_dir, "de");
    let bus = SystemBus::start();
    let _daemon = Daemon::start(&sandbox.policy_dir());
    let _x = xvfb(DISPLAY);
    let (_session, session) = session_bus(None);
    let desktop = Desktop(Session {
        user: None,
        display: DISPLAY,
        session_bus: session,
        system_bus: bus.address().to_owned(),
        home: home("root-de", None),
        env: vec![
            "LANGUAGE=de".into(),
            format!("BPFBOX_LOCALEDIR={}", locale_dir.display()),
        ],
    });
    let _app = desktop.app(&probe);
    let mut driver = desktop.driver();
    driver.drive(&["find", "Probe"]);
    for german in ["Einschränkung", "Laufende Prozesse"] {
        driver.drive(&["find", german]);
    }
    driver.drive(&["gone", "Running processes"]);
    screenshot("profile-de");
}
