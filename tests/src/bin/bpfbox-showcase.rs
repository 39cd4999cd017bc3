//! bpfbox-showcase: the desktop app against the real daemon, for figures
//! and pictures rather than verdicts. Root, in the guest (scripts/showcase).
//!
//! - `bpfbox-showcase startup [PROFILES] [ROUNDS]`: how long
//!   `bpfbox-manager` takes from its start to a populated list of PROFILES
//!   applications (default 200), over ROUNDS fresh starts (default 5) after
//!   one unmeasured start that warms the caches. The app measures it itself
//!   and logs `first list shown profiles=… elapsed_ms=…`.
//! - `bpfbox-showcase screenshots`: prints the main views as base64 PNG
//!   (tests/desktop/save-screenshots turns the output into
//!   docs/screenshots/): `list`, `profile`, `history`, and `narrow` (the
//!   window at phone width, folded into one column). `LANGUAGE` passes
//!   through to the app.

use std::{
    collections::HashSet,
    fs,
    io::{BufRead as _, BufReader},
    os::unix::fs::MetadataExt as _,
    path::{Path, PathBuf},
    process::{Command, ExitCode, Stdio},
    thread,
    time::Duration,
};

use bpfbox_tests::{
    bin_dir,
    bus::SystemBus,
    desktop::{print_screenshot, screenshot_png, session_bus, xvfb, Running, Session},
    run, Daemon, Sandbox, RUNTIME_RULES,
};

const DISPLAY: &str = ":74";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| -> usize {
        args.get(i).map_or(default, |a| {
            a.parse().unwrap_or_else(|_| panic!("not a number: {a}"))
        })
    };
    match args.first().map(String::as_str) {
        Some("startup") => startup(number(1, 200), number(2, 5)),
        Some("screenshots") => screenshots(),
        _ => {
            eprintln!("usage: bpfbox-showcase startup [PROFILES] [ROUNDS] | screenshots");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

/// Everything the app needs: the system bus with polkitd, bpfboxd on the
/// sandbox's policy, Xvfb and a session bus.
struct Stage {
    // Dropped in this order: the apps' world first, the files last.
    daemon: Daemon,
    _x: Running,
    _session_bus: Running,
    _system_bus: SystemBus,
    session: Session,
    sandbox: Sandbox,
}

impl Stage {
    fn new(sandbox: Sandbox) -> Self {
        let system_bus = SystemBus::start();
        let daemon = Daemon::start(&sandbox.policy_dir());
        let x = xvfb(DISPLAY);
        let (session_bus, address) = session_bus(None);
        let home = sandbox.path().join("home");
        fs::create_dir_all(&home).expect("create home");
        let session = Session {
            user: None,
            display: DISPLAY,
            session_bus: address,
            system_bus: system_bus.address().to_owned(),
            home,
            env: Vec::new(),
        };
        Self {
            daemon,
            _x: x,
            _session_bus: session_bus,
            _system_bus: system_bus,
            session,
            sandbox,
        }
    }

    /// Starts the app with `args` and waits for its first list; returns the
    /// running app and the line it logged.
    fn app(&self, args: &[&str]) -> (Running, String) {
        let mut command = self.session.command(s(&bin_dir().join("bpfbox-manager")));
        // After `env`'s own settings: the language of the pictures.
        if let Ok(language) = std::env::var("LANGUAGE") {
            command.env("LANGUAGE", language);
        }
        let mut child = command
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn bpfbox-manager");
        let stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        let running = Running(child);
        for line in stderr.lines() {
            let line = line.expect("read the app's log");
            if line.contains("first list shown") {
                // Keep draining the app's log, or it blocks on a full pipe.
                return (running, line);
            }
            eprintln!("bpfbox-manager: {line}");
        }
        panic!("bpfbox-manager exited before showing its list");
    }
}

fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// `key=value` from a tracing line.
fn field(line: &str, key: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
}

/// The first `count` executables of /usr/bin, one path per file.
fn executables(count: usize) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    let mut paths: Vec<PathBuf> = fs::read_dir("/usr/bin")
        .expect("read /usr/bin")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter(|p| {
            fs::symlink_metadata(p).is_ok_and(|m| {
                m.file_type().is_file() && m.mode() & 0o111 != 0 && seen.insert((m.dev(), m.ino()))
            })
        })
        .take(count)
        .collect()
}

fn write_profiles(sandbox: &Sandbox, exes: &[PathBuf]) {
    for (i, exe) in exes.iter().enumerate() {
        // Disabled: the profiles are listed and confine nothing, so the
        // programs the stage itself runs stay free.
        sandbox.profile(
            &format!("app{i:04}.toml"),
            &format!(
                "profile = \"{}\"\nmode = \"disabled\"\n{RUNTIME_RULES}\n\
                 [[fs]]\nfile = \"~/Documents/**\"\naccess = [\"read\", \"write\"]\n\
                 [[net]]\nfamily = \"inet\"\noperation = \"connect\"\n",
                exe.display()
            ),
        );
    }
}

/// Milliseconds to the first list over `rounds` starts, sorted.
fn starts(stage: &Stage, profiles: usize, rounds: usize) -> Vec<u64> {
    let mut times = Vec::new();
    for round in 1..=rounds {
        let (_app, line) = stage.app(&[]);
        let shown = field(&line, "profiles").expect("profiles= in the app's line");
        assert_eq!(shown, profiles as u64, "the app listed {shown} profiles");
        let ms = field(&line, "elapsed_ms").expect("elapsed_ms= in the app's line");
        println!("{profiles} profiles, start {round}: {ms} ms");
        times.push(ms);
    }
    times.sort_unstable();
    times
}

/// The same app starts with one profile and with `profiles`: the
/// difference is what the list costs, the rest is GTK's own start.
fn startup(profiles: usize, rounds: usize) {
    let sandbox = Sandbox::new("showcase-startup");
    let exes = executables(profiles);
    assert_eq!(exes.len(), profiles, "not enough executables in /usr/bin");
    write_profiles(&sandbox, &exes[..1]);
    let stage = Stage::new(sandbox);
    // The first start of a boot fills the page cache and font caches.
    let (app, line) = stage.app(&[]);
    println!(
        "warm-up start: {} ms (not counted)",
        field(&line, "elapsed_ms").unwrap_or(0)
    );
    drop(app);
    let one = starts(&stage, 1, rounds);
    write_profiles(&stage.sandbox, &exes);
    stage.daemon.wait_log(1, |l| {
        l.contains(&format!("policy applied profiles={profiles} "))
    });
    let many = starts(&stage, profiles, rounds);
    let median = |t: &[u64]| t[t.len() / 2];
    println!(
        "| profiles | median ms | min–max |\n|---|---|---|\n| 1 | {} | {}–{} |\n| {profiles} | {} | {}–{} |",
        median(&one),
        one[0],
        one[one.len() - 1],
        median(&many),
        many[0],
        many[many.len() - 1],
    );
}

/// The X id of the app's window (`xdotool`, by its process id).
fn window_of(app: &Running) -> String {
    let out = Command::new("xdotool")
        .args(["search", "--sync", "--onlyvisible", "--pid"])
        .arg(app.0.id().to_string())
        .env("DISPLAY", DISPLAY)
        .output()
        .expect("run xdotool (apt package xdotool)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().last().expect("the app's window").to_owned()
}

/// Shows the window at `width`×`height`, lets the app settle, and prints it.
fn shoot(app: &Running, name: &str, size: (u32, u32)) {
    let window = window_of(app);
    let ok = Command::new("xdotool")
        .args([
            "windowsize",
            &window,
            &size.0.to_string(),
            &size.1.to_string(),
        ])
        .env("DISPLAY", DISPLAY)
        .status()
        .expect("run xdotool")
        .success();
    assert!(ok, "xdotool windowsize failed");
    // The pages read the daemon asynchronously after the list: give them
    // and the resize time to draw (seconds under emulation).
    thread::sleep(Duration::from_secs(8));
    print_screenshot(name, &screenshot_png(DISPLAY, Some(&window)));
}

fn screenshots() {
    let sandbox = Sandbox::new("showcase-shots");
    let notes = sandbox.probe("notes");
    let documents = sandbox.path().join("home/Documents");
    fs::create_dir_all(&documents).expect("create Documents");
    let letter = sandbox.file("home/Documents/letter.txt", "Dear …\n");
    let secret = sandbox.file("home/.ssh-key", "secret\n");
    sandbox.profile(
        "notes.toml",
        &format!(
            "profile = \"{}\"\nname = \"Notes\"\nicon = \"accessories-text-editor\"\n{RUNTIME_RULES}\n\
             [[fs]]\nid = \"documents\"\nfile = \"{}/**\"\naccess = [\"read\", \"write\", \"getattr\"]\n\
             [[fs]]\nid = \"fonts\"\nfile = \"/etc/fonts/**\"\naccess = \"read\"\n\
             [[net]]\nid = \"unix\"\nfamily = \"unix\"\noperation = [\"create\", \"connect\"]\n\
             [[net]]\nid = \"web\"\nfamily = \"inet\"\noperation = \"connect\"\nenabled = false\n\
             [[signal]]\nid = \"signals\"\ntarget = \"self\"\nsignal = \"any\"\n\
             [[proc]]\nid = \"proc\"\ntarget = \"self\"\naccess = \"read\"\n",
            notes.display(),
            documents.display()
        ),
    );
    for (file, name, mode) in [
        ("/usr/bin/gzip", "gzip", "enforce"),
        ("/usr/bin/curl", "curl", "complain"),
        ("/usr/bin/python3", "Python", "disabled"),
    ] {
        if Path::new(file).exists() {
            sandbox.profile(
                &format!("{name}.toml"),
                &format!(
                    "profile = \"{file}\"\nname = \"{name}\"\nmode = \"{mode}\"\n{RUNTIME_RULES}"
                ),
            );
        }
    }
    let stage = Stage::new(sandbox);
    // Something for the history: the notes app reads a file it may and two
    // it may not.
    assert_eq!(run(&notes, &["open", s(&letter), "read"]).code, 0);
    for _ in 0..2 {
        assert_ne!(run(&notes, &["open", s(&secret), "read"]).code, 0);
    }
    assert_ne!(run(&notes, &["open", "/etc/shadow", "read"]).code, 0);
    stage.daemon.wait_event(|l| l.contains("/etc/shadow"));

    let (app, _) = stage.app(&[]);
    shoot(&app, "list", (1000, 700));
    drop(app);
    let (app, _) = stage.app(&["--profile", s(&notes)]);
    shoot(&app, "profile", (1000, 700));
    drop(app);
    let (app, _) = stage.app(&["--history"]);
    shoot(&app, "history", (1000, 700));
    drop(app);
    let (app, _) = stage.app(&[]);
    shoot(&app, "narrow", (360, 700));
    drop(app);
}
