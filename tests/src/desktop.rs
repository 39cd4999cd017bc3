//! A headless desktop session for the GUI programs: Xvfb, a session bus of
//! the user's own (which also starts the accessibility bus), and the
//! environment the app needs to find them.

use std::{
    fs,
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

/// Kills and waits for its child on drop: the guest's init reaps late.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Xvfb on `display` (e.g. `:73`) and waits for its socket.
#[must_use]
pub fn xvfb(display: &str) -> Running {
    let socket = format!("/tmp/.X11-unix/X{}", &display[1..]);
    let _ = fs::remove_file(&socket);
    // -ac: an unprivileged user's app must be able to connect too.
    let child = Command::new("Xvfb")
        .args([
            display,
            "-screen",
            "0",
            "1280x800x24",
            "-ac",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn Xvfb (apt package xvfb)");
    let running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !Path::new(&socket).exists() {
        assert!(Instant::now() < deadline, "Xvfb did not start");
        thread::sleep(Duration::from_millis(50));
    }
    running
}

/// `program` run as `user` (root when `None`).
#[must_use]
pub fn as_user(user: Option<&str>, program: &str) -> Command {
    match user {
        None => Command::new(program),
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--", program]);
            c
        }
    }
}

/// A session bus of `user`'s own, and its address.
#[must_use]
pub fn session_bus(user: Option<&str>) -> (Running, String) {
    let mut child = as_user(user, "dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn dbus-daemon --session");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("read the session bus address");
    (Running(child), line.trim().to_owned())
}

/// The environment of one desktop session.
pub struct Session {
    /// Whose session (root when `None`).
    pub user: Option<&'static str>,
    /// The X display.
    pub display: &'static str,
    /// The session bus address.
    pub session_bus: String,
    /// The system bus address.
    pub system_bus: String,
    /// `HOME` of the session.
    pub home: PathBuf,
    /// More `NAME=value` settings of the session (its language, say).
    pub env: Vec<String>,
}

impl Session {
    /// `program` in this session, with the environment a desktop gives it.
    #[must_use]
    pub fn command(&self, program: &str) -> Command {
        let mut c = as_user(self.user, "env");
        c.args([
            format!("DISPLAY={}", self.display),
            format!("DBUS_SESSION_BUS_ADDRESS={}", self.session_bus),
            format!("DBUS_SYSTEM_BUS_ADDRESS={}", self.system_bus),
            format!("HOME={}", self.home.display()),
            // Xvfb has no GL, and the cairo renderer draws the same pixels
            // on every machine.
            "GDK_BACKEND=x11".into(),
            "GSK_RENDERER=cairo".into(),
            "NO_AT_BRIDGE=0".into(),
            "LC_ALL=C.UTF-8".into(),
        ]);
        c.args(&self.env);
        c.arg(program);
        c
    }
}

/// The display's root window (or one window, by X id) as PNG bytes.
#[must_use]
pub fn screenshot_png(display: &str, window: Option<&str>) -> Vec<u8> {
    let out = Command::new("import")
        .args([
            "-display",
            display,
            "-window",
            window.unwrap_or("root"),
            "png:-",
        ])
        .output()
        .expect("run import (apt package imagemagick)");
    assert!(out.status.success(), "import failed");
    out.stdout
}

/// Prints a screenshot as base64 between `==> screenshot NAME` and
/// `<== screenshot` lines: the guest's files do not outlive it, and
/// tests/desktop/save-screenshots turns such output into PNG files.
pub fn print_screenshot(name: &str, png: &[u8]) {
    use std::io::Write as _;
    let encoded = Command::new("base64")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().expect("piped stdin").write_all(png)?;
            child.wait_with_output()
        })
        .expect("run base64");
    println!(
        "==> screenshot {name}\n{}<== screenshot",
        String::from_utf8_lossy(&encoded.stdout)
    );
}
