//! The example profiles of data/profiles/, loaded unchanged into a real
//! bpfboxd and used by the real Debian 12 programs they confine: the
//! program does its job under the profile in enforce mode, and an access
//! outside the profile is denied by the kernel.
//!
//! Each test first does the allowed job, then a denied one; the denial's
//! event is the marker that every earlier event has been drained, so the
//! test can then check that the allowed job caused no denial at all.

use std::{
    io::{Read as _, Write as _},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use bpfbox_tests::{Daemon, Sandbox};

fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/profiles")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Loads the example profile `name` unchanged into a fresh daemon.
fn confine(sandbox: &Sandbox, name: &str, program: &str) -> Daemon {
    assert!(
        Path::new(program).exists(),
        "{program} is not installed: scripts/setup installs it"
    );
    sandbox.profile(name, &example(name));
    Daemon::start(&sandbox.policy_dir())
}

fn run(program: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `program` succeeded under its profile and printed `needle`.
fn assert_printed(out: &Output, program: &str, needle: &str) {
    assert!(
        out.status.success(),
        "{program} failed under its profile: {}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains(needle), "{}", text(&out.stdout));
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits for the denial of `path` to `program`'s profile, then checks that
/// every denial of the profile was about the sandbox, which only the denied
/// job touches: the allowed job ran without a single denial. (Events name
/// an object by its full path, or by its name in its directory.)
fn denied_only(daemon: &Daemon, program: &str, sandbox: &Sandbox, path: &Path) {
    let profile = format!("profile={program}");
    let name = |p: &Path| format!(" name={} ", p.file_name().unwrap().to_string_lossy());
    let by_path = format!(" path={}", path.display());
    let by_name = name(path);
    let about = |l: &str| l.starts_with("action=DENY ") && l.contains(&profile);
    daemon.wait_event(|l| about(l) && (l.contains(&by_path) || l.contains(&by_name)));
    let sandbox_path = format!(" path={}", sandbox.path().display());
    let sandbox_name = name(sandbox.path());
    let others: Vec<String> = daemon
        .events()
        .into_iter()
        .filter(|l| {
            about(l)
                && !l.contains(&sandbox_path)
                && !l.contains(&sandbox_name)
                && !l.contains(&by_name)
        })
        .collect();
    assert!(
        others.is_empty(),
        "the example profile denied what the program needs for its job: {others:#?}"
    );
}

/// A file in root's home (the guest runs the tests as root, and `~` in a
/// profile covers root's home), removed afterwards.
struct HomeFile(PathBuf);

impl HomeFile {
    fn new(relative: &str, contents: &[u8]) -> Self {
        let path = Path::new("/root").join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }
}

impl Drop for HomeFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A one-page PDF showing `line` in a standard font, with a correct
/// cross-reference table.
fn pdf(line: &str) -> Vec<u8> {
    let stream = format!("BT /F1 18 Tf 20 50 Td ({line}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{object}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for offset in offsets {
        out.push_str(&format!("{offset:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

#[test]
fn jq_filters_its_standard_input_but_cannot_open_a_file() {
    let sandbox = Sandbox::new("example-jq");
    let daemon = confine(&sandbox, "jq.toml", "/usr/bin/jq");

    let out = run(
        "/usr/bin/jq",
        &["-c", ".tools[1]"],
        r#"{"tools":["ls",{"name":"jq"}]}"#,
    );
    assert!(
        out.status.success(),
        "jq failed under its profile: {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "{\"name\":\"jq\"}\n");

    let data = sandbox.file("data.json", "{\"secret\":42}\n");
    let out = run("/usr/bin/jq", &[".secret", data.to_str().unwrap()], "");
    assert!(
        !out.status.success(),
        "jq read a file: {}",
        text(&out.stdout)
    );
    assert!(!text(&out.stdout).contains("42"));
    assert!(
        text(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out.stderr)
    );
    denied_only(&daemon, "/usr/bin/jq", &sandbox, &data);
}

#[test]
fn pdftotext_reads_pdfs_in_downloads_but_not_elsewhere() {
    let sandbox = Sandbox::new("example-pdftotext");
    // before the daemon starts: a `~/Downloads/**` rule covers the
    // directory that exists when the profile is compiled
    let download = HomeFile::new("Downloads/bpfbox-example.pdf", &pdf("Quarterly report"));
    let daemon = confine(&sandbox, "pdftotext.toml", "/usr/bin/pdftotext");

    let out = run(
        "/usr/bin/pdftotext",
        &[download.0.to_str().unwrap(), "-"],
        "",
    );
    assert_printed(&out, "pdftotext", "Quarterly report");

    let elsewhere = sandbox.path().join("elsewhere.pdf");
    std::fs::write(&elsewhere, pdf("Private letter")).unwrap();
    let out = run(
        "/usr/bin/pdftotext",
        &[elsewhere.to_str().unwrap(), "-"],
        "",
    );
    assert!(
        !out.status.success(),
        "pdftotext read {}",
        elsewhere.display()
    );
    assert!(!text(&out.stdout).contains("Private letter"));
    denied_only(&daemon, "/usr/bin/pdftotext", &sandbox, &elsewhere);
}

/// Serves one HTTP response with `body` on a loopback port.
fn serve_once(body: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = conn.read(&mut request);
        let _ = write!(
            conn,
            "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
    });
    port
}

#[test]
fn w3m_browses_a_web_page_but_cannot_open_the_users_files() {
    let sandbox = Sandbox::new("example-w3m");
    // its settings directory, which w3m creates on its first unconfined run
    std::fs::create_dir_all("/root/.w3m").unwrap();
    let daemon = confine(&sandbox, "w3m.toml", "/usr/bin/w3m");

    let port = serve_once("<html><body><h1>Welcome to bpfbox</h1><p>A page.</p></body></html>");
    let out = run(
        "/usr/bin/w3m",
        &["-dump", &format!("http://127.0.0.1:{port}/")],
        "",
    );
    assert_printed(&out, "w3m", "Welcome to bpfbox");

    let secret = sandbox.file("bank.html", "<p>account 1234</p>");
    let out = run(
        "/usr/bin/w3m",
        &["-dump", &format!("file://{}", secret.display())],
        "",
    );
    assert!(
        !text(&out.stdout).contains("1234"),
        "w3m showed {}",
        secret.display()
    );
    denied_only(&daemon, "/usr/bin/w3m", &sandbox, &secret);
}
