//! bpfboxd as a service, on a real kernel: it follows edits of the policy
//! directory live, keeps a profile's last good version when an edit breaks
//! it, and its death leaves confined processes confined.

use std::path::{Path, PathBuf};

use bpfbox_tests::{run, Daemon, Sandbox, RUNTIME_RULES};

const DENIED: i32 = 1;

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn profile(probe: &Path, readable: &[&PathBuf]) -> String {
    let mut text = format!(
        "profile = \"{}\"\ntaint_on_exec = true\n{RUNTIME_RULES}",
        probe.display()
    );
    for file in readable {
        text += &format!(
            "\n[[fs]]\nfile = \"{}\"\naccess = \"read\"\n",
            file.display()
        );
    }
    text
}

/// `bpfboxd status` for the daemon of `sandbox`.
fn status(sandbox: &Sandbox) -> bpfbox_tests::Outcome {
    let lock = sandbox.policy_dir().join("bpfboxd.lock");
    run(
        &bpfbox_tests::bin_dir().join("bpfboxd"),
        &["status", "--lock-file", s(&lock)],
    )
}

fn applied(line: &str) -> bool {
    line.contains("policy applied")
}

#[test]
fn editing_a_profile_changes_verdicts_without_a_restart() {
    let sandbox = Sandbox::new("live-edit");
    let probe = sandbox.probe("probe");
    let (a, b) = (sandbox.file("a", "a\n"), sandbox.file("b", "b\n"));
    sandbox.profile("probe.toml", &profile(&probe, &[&a]));
    let daemon = Daemon::start(&sandbox.policy_dir());
    assert_eq!(run(&probe, &["open", s(&a), "read"]).code, 0);
    assert_eq!(run(&probe, &["open", s(&b), "read"]).code, DENIED);

    sandbox.save_profile("probe.toml", &profile(&probe, &[&b]));
    daemon.wait_log(2, applied);
    assert_eq!(
        run(&probe, &["open", s(&a), "read"]).code,
        DENIED,
        "a was taken away"
    );
    assert_eq!(
        run(&probe, &["open", s(&b), "read"]).code,
        0,
        "b was granted"
    );
}

#[test]
fn a_broken_edit_keeps_the_last_good_version_and_says_where() {
    let sandbox = Sandbox::new("broken-edit");
    let probe = sandbox.probe("probe");
    let a = sandbox.file("a", "a\n");
    sandbox.profile("probe.toml", &profile(&probe, &[&a]));
    let daemon = Daemon::start(&sandbox.policy_dir());

    let broken = format!(
        "profile = \"{}\"\n[[fs]]\nfile = \"{}\"\naccess = \"raed\"\n",
        probe.display(),
        a.display()
    );
    sandbox.save_profile("probe.toml", &broken);
    daemon.wait_log(2, applied);
    let file = sandbox.policy_dir().join("probe.toml");
    let expected = format!("{}:4:10: error: unknown access `raed`", file.display());
    assert!(
        daemon.log().iter().any(|l| l.contains(&expected)),
        "{:#?}",
        daemon.log()
    );
    // the last good version is still in force
    assert_eq!(run(&probe, &["open", s(&a), "read"]).code, 0);
    let other = sandbox.file("other", "x\n");
    assert_eq!(run(&probe, &["open", s(&other), "read"]).code, DENIED);
}

#[test]
fn a_profile_removed_from_the_directory_stops_confining() {
    let sandbox = Sandbox::new("removed");
    let probe = sandbox.probe("probe");
    let secret = sandbox.file("secret", "x\n");
    sandbox.profile("probe.toml", &profile(&probe, &[]));
    let daemon = Daemon::start(&sandbox.policy_dir());
    assert_eq!(run(&probe, &["open", s(&secret), "read"]).code, DENIED);
    std::fs::remove_file(sandbox.policy_dir().join("probe.toml")).unwrap();
    daemon.wait_log(2, applied);
    assert_eq!(run(&probe, &["open", s(&secret), "read"]).code, 0);
}

#[test]
fn killing_the_daemon_leaves_processes_confined_and_a_new_one_adopts_them() {
    let sandbox = Sandbox::new("kill9");
    let probe = sandbox.probe("probe");
    let secret = sandbox.file("secret", "x\n");
    sandbox.profile("probe.toml", &profile(&probe, &[]));
    let daemon = Daemon::start(&sandbox.policy_dir());
    daemon.kill_hard();

    let out = run(&probe, &["open", s(&secret), "read"]);
    assert_eq!(
        out.code, DENIED,
        "no daemon runs, and the probe is still confined: {out:?}"
    );
    assert_eq!(
        status(&sandbox).code,
        1,
        "status: enforcing without a daemon"
    );

    let daemon = Daemon::start(&sandbox.policy_dir());
    assert!(
        daemon.log().iter().any(|l| l.contains("origin=Adopted")),
        "{:#?}",
        daemon.log()
    );
    let out = run(&probe, &["open", s(&secret), "read"]);
    assert_eq!(out.code, DENIED);
    let running = status(&sandbox);
    assert_eq!(running.code, 0, "status: running: {running:?}");
    assert!(running
        .stdout
        .contains(&format!("running (pid {})", daemon.pid())));
    let line = daemon.wait_event(|l| l.contains(&format!(" pid={} ", out.pid())));
    assert!(
        line.starts_with("action=DENY "),
        "events flow again: {line}"
    );
}

/// Unix time `secs` from now, as the policy's `expires` takes it.
fn unix_in(secs: u64) -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + secs
}

#[test]
fn a_temporary_rule_expires_on_time_even_across_a_restart() {
    let sandbox = Sandbox::new("expiry");
    let probe = sandbox.probe("probe");
    let a = sandbox.file("a", "a\n");
    sandbox.profile("probe.toml", &profile(&probe, &[]));
    let daemon = Daemon::start(&sandbox.policy_dir());
    // the grant is made once the daemon runs, so that its slow first start
    // (verifying every program under emulation) does not eat the window
    let until = unix_in(25);
    let grant = format!(
        "{}\n[[fs]]\nfile = \"{}\"\naccess = \"read\"\nexpires = {until}\n",
        profile(&probe, &[]),
        a.display()
    );
    sandbox.save_profile("probe.toml", &grant);
    daemon.wait_log(2, applied);
    assert_eq!(run(&probe, &["open", s(&a), "read"]).code, 0, "granted");

    daemon.kill_hard();
    let daemon = Daemon::start(&sandbox.policy_dir());
    assert!(unix_in(0) < until, "the restart took too long to test this");
    assert_eq!(
        run(&probe, &["open", s(&a), "read"]).code,
        0,
        "the new daemon keeps the unexpired grant"
    );
    daemon.wait_log(1, |l| l.contains("a temporary rule expired"));
    assert!(unix_in(0) >= until, "expired on time, not early");
    daemon.wait_log(2, applied);
    assert_eq!(
        run(&probe, &["open", s(&a), "read"]).code,
        DENIED,
        "the grant ended without anyone touching the policy"
    );
}

#[test]
fn a_flood_of_a_million_denials_is_fully_accounted_for_and_the_daemon_stays_responsive() {
    const FLOOD: u64 = 1_000_000;
    let sandbox = Sandbox::new("flood");
    let probe = sandbox.probe("probe");
    let secret = sandbox.file("secret", "x\n");
    let other = sandbox.file("other", "y\n");
    sandbox.profile("probe.toml", &profile(&probe, &[]));
    let daemon = Daemon::start(&sandbox.policy_dir());

    let out = run(&probe, &["flood", &FLOOD.to_string(), s(&secret)]);
    assert!(
        out.stdout.contains(&format!("denied={FLOOD}")),
        "every open was denied: {out:?}"
    );
    // every denial reached the daemon or was counted as lost by the kernel
    let counters = |l: &str| {
        let field = |name: &str| -> u64 {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("received"), field("lost"), field("denied"))
    };
    daemon.wait_log(1, |l| {
        l.contains("event counters") && {
            let (received, lost, denied) = counters(l);
            denied == FLOOD && received + lost == FLOOD
        }
    });
    // responsive: an edit made right after the flood is applied
    sandbox.save_profile("probe.toml", &profile(&probe, &[&other]));
    daemon.wait_log(2, applied);
    assert_eq!(run(&probe, &["open", s(&other), "read"]).code, 0);
    // bounded: the flood's events were coalesced, not kept one by one
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid())).unwrap();
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(rss_kib < 128 * 1024, "peak memory {rss_kib} KiB");
}
