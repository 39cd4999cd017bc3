//! The decision procedure, as a table: bpfbox's rules (anchors §1.4) and
//! the scenarios of bpfbox's own tests (§1.11) that a policy can express,
//! plus this format's extensions. Each row: a situation, the profile, the
//! task's taint before, the active function contexts, the request, and the
//! expected decision and taint after.
//!
//! The kernel tests run the same kind of rows against the real BPF
//! programs; `agreement.rs` checks the oracle against the compiled maps.

use std::{
    path::{Path, PathBuf},
    time::{Duration, UNIX_EPOCH},
};

use bpfbox_policy::{
    parse_str, Capability, ContextKind, Family, FsAccess, NetOps, Now, Policy, Request, TaskTarget,
    FS_ACCESS, NET_OPERATIONS,
};

const PROBE: &str = "/bin/probe";
const SLEEP: &str = "/bin/sleep";

/// The task's taint before the request.
#[derive(Clone, Copy, Debug)]
enum Start {
    /// As its profile leaves it at exec (`taint_on_exec`).
    Exec,
    /// Not tainted.
    Clean,
    /// Tainted.
    Tainted,
}
use Start::{Clean, Exec, Tainted};

struct Row {
    situation: &'static str,
    /// Rules and keys of the probe's profile (after its `profile =` line).
    profile: &'static str,
    start: Start,
    /// `func` names of the probe (or `k:name` for a kfunc) active now.
    inside: &'static [&'static str],
    request: Request,
    decision: &'static str,
    tainted_after: bool,
}

fn fs(path: &str, access: &str) -> Request {
    Request::Fs {
        path: path.into(),
        access: FsAccess(bits(&FS_ACCESS, access)),
    }
}

fn net(family: Family, ops: &str) -> Request {
    Request::Net {
        family,
        operations: NetOps(bits(&NET_OPERATIONS, ops)),
    }
}

fn proc(target: TaskTarget, access: &str) -> Request {
    Request::Proc {
        target,
        access: FsAccess(bits(&FS_ACCESS, access)),
    }
}

fn kill(target: TaskTarget, signal: i32) -> Request {
    Request::Signal { target, signal }
}

fn sleep() -> TaskTarget {
    TaskTarget::Profile(SLEEP.into())
}

fn bits(vocab: &bpfbox_policy::Vocabulary, words: &str) -> u32 {
    words
        .split('|')
        .map(|w| vocab.bits(w).expect(w))
        .fold(0, |a, b| a | b)
}

fn now() -> Now {
    Now::new(UNIX_EPOCH + Duration::from_secs(2_000_000_000)).with_instance("boot-1")
}

#[rustfmt::skip]
fn rows() -> Vec<Row> {
    let r = |situation, profile, start, inside, request, decision, tainted_after| Row {
        situation, profile, start, inside, request, decision, tainted_after,
    };
    // a taint rule that never fires, so that the probe starts clean
    const CLEAN: &str = "[[fs]]\nfile = '/never'\naccess = 'read'\naction = 'taint'\n";
    vec![
        // ---- bpfbox's decision procedure (§1.4) ----
        r("no rule, untainted: allowed", CLEAN, Clean, &[], fs("/etc/x", "read"), "ALLOW", false),
        r("no rule, tainted: denied", CLEAN, Tainted, &[], fs("/etc/x", "read"), "DENY", true),
        r("audit rule: allowed and reported", "[[fs]]\nfile = '/var/log/**'\naccess = 'getattr'\naction = 'audit'\n", Clean, &[], fs("/var/log/syslog", "getattr"), "ALLOW|AUDIT", false),
        r("audit rule, tainted, not allowed: denied and reported", "[[fs]]\nfile = '/var/log/**'\naccess = 'getattr'\naction = 'audit'\n", Tainted, &[], fs("/var/log/syslog", "getattr"), "AUDIT|DENY", true),
        r("taint rule, untainted: allowed, and the task is tainted", "[[fs]]\nfile = '/etc/shadow'\naccess = 'read'\naction = 'taint'\n", Clean, &[], fs("/etc/shadow", "read"), "ALLOW|TAINT", true),
        r("taint rule, already tainted: only allow rules count", "[[fs]]\nfile = '/etc/shadow'\naccess = 'read'\naction = 'taint'\n", Tainted, &[], fs("/etc/shadow", "read"), "DENY", true),
        r("allow+taint rule, already tainted: allowed", "[[fs]]\nfile = '/etc/shadow'\naccess = 'read'\naction = ['allow', 'taint']\n", Tainted, &[], fs("/etc/shadow", "read"), "ALLOW", true),
        r("untainted: a rule that lacks the access still allows", CLEAN, Clean, &[], fs("/never", "write"), "ALLOW", false),
        r("tainted, requested within allowed: allowed", "[[fs]]\nfile = '/a'\naccess = ['read', 'write']\n", Tainted, &[], fs("/a", "read"), "ALLOW", true),
        r("tainted, part of the request not allowed: denied", "[[fs]]\nfile = '/a'\naccess = 'read'\n", Tainted, &[], fs("/a", "read|write"), "DENY", true),
        r("context rule outside its function: not granted", "[[fs]]\nfile = '/a'\naccess = 'read'\nfunc = 'load'\n", Tainted, &[], fs("/a", "read"), "DENY", true),
        r("context rule inside its function: granted", "[[fs]]\nfile = '/a'\naccess = 'read'\nfunc = 'load'\n", Tainted, &["load"], fs("/a", "read"), "ALLOW", true),
        r("kfunc context rule inside the kernel function: granted", "[[fs]]\nfile = '/a'\naccess = 'read'\nkfunc = 'vfs_read'\n", Tainted, &["k:vfs_read"], fs("/a", "read"), "ALLOW", true),
        r("taint rule in a context, outside it: does not taint", "[[fs]]\nfile = '/a'\naccess = 'read'\naction = 'taint'\nfunc = 'f'\n", Clean, &[], fs("/a", "read"), "ALLOW", false),
        r("complain mode: a denial is let through and reported", "mode = 'complain'\n", Tainted, &[], fs("/etc/x", "read"), "COMPLAIN", true),
        r("complain mode keeps the audit bit", "mode = 'complain'\n[[fs]]\nfile = '/a'\naccess = 'read'\naction = 'audit'\n", Tainted, &[], fs("/a", "read"), "AUDIT|COMPLAIN", true),
        r("complain mode: what enforce allows stays ALLOW", "mode = 'complain'\n[[fs]]\nfile = '/a'\naccess = 'read'\n", Tainted, &[], fs("/a", "read"), "ALLOW", true),
        r("disabled profile: allowed, nothing reported", "mode = 'disabled'\n", Tainted, &[], fs("/etc/x", "read"), "ALLOW", true),
        r("disabled rule: as if absent", "[[fs]]\nfile = '/a'\naccess = 'read'\nenabled = false\n", Tainted, &[], fs("/a", "read"), "DENY", true),
        r("expired rule: as if absent", "[[fs]]\nfile = '/a'\naccess = 'read'\nexpires = '2020-01-01T00:00:00Z'\n", Tainted, &[], fs("/a", "read"), "DENY", true),
        r("rule expiring later: applies", "[[fs]]\nfile = '/a'\naccess = 'read'\nexpires = '2099-01-01T00:00:00Z'\n", Tainted, &[], fs("/a", "read"), "ALLOW", true),
        r("until-restart rule of this daemon instance: applies", "[[fs]]\nfile = '/a'\naccess = 'read'\nexpires = 'restart:boot-1'\n", Tainted, &[], fs("/a", "read"), "ALLOW", true),
        r("until-restart rule of an earlier instance: expired", "[[fs]]\nfile = '/a'\naccess = 'read'\nexpires = 'restart:boot-0'\n", Tainted, &[], fs("/a", "read"), "DENY", true),
        r("once rule: allowed and reported, so the daemon can retire it", "[[fs]]\nfile = '/a'\naccess = 'read'\nexpires = 'once'\n", Tainted, &[], fs("/a", "read"), "ALLOW|AUDIT", true),

        // ---- taint at exec ----
        r("no taint rules: tainted from exec (implicit taint)", "[[fs]]\nfile = '/usr/**'\naccess = 'read'\n", Exec, &[], fs("/etc/passwd", "read"), "DENY", true),
        r("no taint rules: what the profile allows still runs", "[[fs]]\nfile = '/usr/**'\naccess = 'read'\n", Exec, &[], fs("/usr/lib/libc.so.6", "read"), "ALLOW", true),
        r("taint_on_exec = false without taint rules: never enforced", "taint_on_exec = false\n", Exec, &[], fs("/etc/passwd", "read"), "ALLOW", false),
        r("a taint rule: starts clean", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'read'\naction = 'taint'\n", Exec, &[], fs("/etc/passwd", "read"), "ALLOW", false),
        r("taint_on_exec = true with taint rules: enforced from exec", "taint_on_exec = true\n[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'read'\naction = 'taint'\n", Exec, &[], fs("/etc/passwd", "read"), "DENY", true),

        // ---- bpfbox test scenarios (§1.11) ----
        r("taint rule triggers enforcement: the tainting read", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'read'\naction = 'taint'\n", Exec, &[], fs("/tmp/bpfbox/a", "read"), "ALLOW|TAINT", true),
        r("taint rule triggers enforcement: the next operation", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'read'\naction = 'taint'\n", Tainted, &[], fs("/tmp/bpfbox/b", "read"), "DENY", true),
        r("read-only: simple-read", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'read'\n", Exec, &[], fs("/tmp/bpfbox/a", "read"), "ALLOW", true),
        r("read-only: read-and-write", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'read'\n", Exec, &[], fs("/tmp/bpfbox/a", "write"), "DENY", true),
        r("read-only: read-and-readwrite", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'read'\n", Exec, &[], fs("/tmp/bpfbox/a", "read|write"), "DENY", true),
        r("read|write: readwrite", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = ['read', 'write']\n", Exec, &[], fs("/tmp/bpfbox/a", "read|write"), "ALLOW", true),
        r("append-only: O_APPEND write", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'append'\n", Exec, &[], fs("/tmp/bpfbox/a", "append"), "ALLOW", true),
        r("append-only: plain write", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'append'\n", Exec, &[], fs("/tmp/bpfbox/a", "write"), "DENY", true),
        r("write-only: plain write", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'write'\n", Exec, &[], fs("/tmp/bpfbox/a", "write"), "ALLOW", true),
        r("write-only: O_APPEND write", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'write'\n", Exec, &[], fs("/tmp/bpfbox/a", "append"), "DENY", true),
        r("write|append: O_APPEND write", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = ['write', 'append']\n", Exec, &[], fs("/tmp/bpfbox/a", "append"), "ALLOW", true),
        r("multi-file: a read+write", MULTI, Exec, &[], fs("/tmp/bpfbox/a", "read|write"), "ALLOW", true),
        r("multi-file: b append", MULTI, Exec, &[], fs("/tmp/bpfbox/b", "append"), "ALLOW", true),
        r("multi-file: c read", MULTI, Exec, &[], fs("/tmp/bpfbox/c", "read"), "ALLOW", true),
        r("multi-file: d exec", MULTI, Exec, &[], fs("/tmp/bpfbox/d", "exec"), "ALLOW", true),
        r("multi-file: invalid op, c write", MULTI, Exec, &[], fs("/tmp/bpfbox/c", "write"), "DENY", true),
        r("multi-file: invalid op, d read", MULTI, Exec, &[], fs("/tmp/bpfbox/d", "read"), "DENY", true),
        r("procfs: /proc/self is always the process's own", "", Exec, &[], proc(TaskTarget::SameProcess, "read"), "ALLOW", true),
        r("procfs: /proc/1 (unconfined) is denied", "", Exec, &[], proc(TaskTarget::Unconfined, "read"), "DENY", true),
        r("procfs: another profile without a proc rule is denied", "", Exec, &[], proc(sleep(), "read"), "DENY", true),
        r("procfs: proc(sleep, read|exec) allows reading it", "[[proc]]\ntarget = '/bin/sleep'\naccess = ['read', 'exec']\n", Exec, &[], proc(sleep(), "read"), "ALLOW", true),
        r("procfs: proc(sleep, read|exec) does not allow writing", "[[proc]]\ntarget = '/bin/sleep'\naccess = ['read', 'exec']\n", Exec, &[], proc(sleep(), "write"), "DENY", true),
        r("procfs: fs rules on /proc do not reach other processes", "[[fs]]\nfile = '/proc/**'\naccess = 'any'\n", Exec, &[], proc(sleep(), "read"), "DENY", true),
        r("setattr: chown with SETATTR", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'setattr'\n", Exec, &[], fs("/tmp/bpfbox/a", "setattr"), "ALLOW", true),
        r("setattr: chown without SETATTR", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = ['read', 'write']\n", Exec, &[], fs("/tmp/bpfbox/a", "setattr"), "DENY", true),
        r("create a file: WRITE on the directory", "[[fs]]\nfile = '/tmp/bpfbox'\naccess = ['write', 'exec']\n", Exec, &[], fs("/tmp/bpfbox", "write"), "ALLOW", true),
        r("create a file: no WRITE on the directory", "[[fs]]\nfile = '/tmp/bpfbox'\naccess = 'exec'\n", Exec, &[], fs("/tmp/bpfbox", "write"), "DENY", true),
        r("unlink: RM on the target", "[[fs]]\nfile = '/tmp/bpfbox'\naccess = 'write'\n[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'rm'\n", Exec, &[], fs("/tmp/bpfbox/a", "rm"), "ALLOW", true),
        r("unlink: no RM on the target", "[[fs]]\nfile = '/tmp/bpfbox'\naccess = 'write'\n[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'read'\n", Exec, &[], fs("/tmp/bpfbox/a", "rm"), "DENY", true),
        r("link: LINK on the source", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'link'\n", Exec, &[], fs("/tmp/bpfbox/a", "link"), "ALLOW", true),
        r("link: no LINK on the source", "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = 'read'\n", Exec, &[], fs("/tmp/bpfbox/a", "link"), "DENY", true),
        r("rename: WRITE on the new directory", "[[fs]]\nfile = ['/tmp/bpfbox/old', '/tmp/bpfbox/new']\naccess = 'write'\n", Exec, &[], fs("/tmp/bpfbox/new", "write"), "ALLOW", true),
        r("rename: no WRITE on the new directory", "[[fs]]\nfile = '/tmp/bpfbox/old'\naccess = 'write'\n", Exec, &[], fs("/tmp/bpfbox/new", "write"), "DENY", true),
        r("signal: sigkill to self with its rule", "[[signal]]\nsignal = 'sigkill'\ntarget = 'self'\n", Exec, &[], kill(TaskTarget::SameProcess, libc::SIGKILL), "ALLOW", true),
        r("signal: check (0) to self needs its own rule", "[[signal]]\nsignal = 'sigkill'\ntarget = 'self'\n", Exec, &[], kill(TaskTarget::SameProcess, 0), "DENY", true),
        r("signal: check to sleep with its rule", "[[signal]]\nsignal = 'check'\ntarget = '/bin/sleep'\n", Exec, &[], kill(sleep(), 0), "ALLOW", true),
        r("signal: sigkill to sleep with only a check rule", "[[signal]]\nsignal = 'check'\ntarget = '/bin/sleep'\n", Exec, &[], kill(sleep(), libc::SIGKILL), "DENY", true),
        r("signal: sigstop with its rule", "[[signal]]\nsignal = 'sigstop'\ntarget = '/bin/sleep'\n", Exec, &[], kill(sleep(), libc::SIGSTOP), "ALLOW", true),
        r("signal: sigchld with its rule", "[[signal]]\nsignal = 'sigchld'\ntarget = '/bin/sleep'\n", Exec, &[], kill(sleep(), libc::SIGCHLD), "ALLOW", true),
        r("signal: SIGUSR1 is misc", "[[signal]]\nsignal = 'misc'\ntarget = '/bin/sleep'\n", Exec, &[], kill(sleep(), libc::SIGUSR1), "ALLOW", true),
        r("signal: SIGUSR1 without a misc rule", "[[signal]]\nsignal = ['sigkill', 'sigstop', 'sigchld', 'check']\ntarget = '/bin/sleep'\n", Exec, &[], kill(sleep(), libc::SIGUSR1), "DENY", true),
        r("signal: fatal covers SIGTERM", "[[signal]]\nsignal = 'fatal'\ntarget = '/bin/sleep'\n", Exec, &[], kill(sleep(), libc::SIGTERM), "ALLOW", true),
        r("signal: fatal does not cover SIGSTOP", "[[signal]]\nsignal = 'fatal'\ntarget = '/bin/sleep'\n", Exec, &[], kill(sleep(), libc::SIGSTOP), "DENY", true),
        r("signal: a rule for sleep does not reach an unconfined process", "[[signal]]\nsignal = 'any'\ntarget = '/bin/sleep'\n", Exec, &[], kill(TaskTarget::Unconfined, libc::SIGTERM), "DENY", true),
        r("signal: target unconfined", "[[signal]]\nsignal = 'any'\ntarget = 'unconfined'\n", Exec, &[], kill(TaskTarget::Unconfined, libc::SIGTERM), "ALLOW", true),
        r("signal: target any reaches every profile", "[[signal]]\nsignal = 'any'\ntarget = 'any'\n", Exec, &[], kill(sleep(), libc::SIGKILL), "ALLOW", true),
        r("net: inet6 create without a rule", "", Exec, &[], net(Family::INET6, "create"), "DENY", true),
        r("net: inet6 create with its rule", "[[net]]\nfamily = 'inet6'\noperation = 'create'\n", Exec, &[], net(Family::INET6, "create"), "ALLOW", true),
        r("net: unix create+connect needs both", "[[net]]\nfamily = 'unix'\noperation = 'create'\n", Exec, &[], net(Family::UNIX, "connect"), "DENY", true),
        r("net: rules are per family", "[[net]]\nfamily = 'inet'\noperation = 'any'\n", Exec, &[], net(Family::INET6, "connect"), "DENY", true),
        r("net: taint on inet create", "[[net]]\nfamily = 'inet'\noperation = 'create'\naction = 'taint'\n", Exec, &[], net(Family::INET, "create"), "ALLOW|TAINT", true),
        r("net: family any", "[[net]]\nfamily = 'any'\noperation = 'create'\n", Exec, &[], net(Family::NETLINK, "create"), "ALLOW", true),

        // ---- this format's extensions ----
        r("ptrace: self with its rule", "[[ptrace]]\ntarget = 'self'\n", Exec, &[], Request::Ptrace { target: TaskTarget::SameProcess }, "ALLOW", true),
        r("ptrace: a signal rule does not allow ptrace", "[[signal]]\nsignal = 'any'\ntarget = 'self'\n", Exec, &[], Request::Ptrace { target: TaskTarget::SameProcess }, "DENY", true),
        r("ptrace: another profile without a rule", "[[ptrace]]\ntarget = 'self'\n", Exec, &[], Request::Ptrace { target: sleep() }, "DENY", true),
        r("capability: with its rule", "[[capability]]\ncapability = 'net_bind_service'\n", Exec, &[], Request::Capability { cap: Capability::NET_BIND_SERVICE }, "ALLOW", true),
        r("capability: another one", "[[capability]]\ncapability = 'net_bind_service'\n", Exec, &[], Request::Capability { cap: Capability::SYS_ADMIN }, "DENY", true),
        r("capability: any", "[[capability]]\ncapability = 'any'\n", Exec, &[], Request::Capability { cap: Capability::SYS_ADMIN }, "ALLOW", true),
        r("subtree: a file created after loading is covered", "[[fs]]\nfile = '/srv/data/**'\naccess = 'write'\n", Exec, &[], fs("/srv/data/new/file.tmp", "write"), "ALLOW", true),
        r("subtree: covers the directory itself", "[[fs]]\nfile = '/srv/data/**'\naccess = 'read'\n", Exec, &[], fs("/srv/data", "read"), "ALLOW", true),
        r("plain path: does not cover its siblings", "[[fs]]\nfile = '/srv/data/a'\naccess = 'read'\n", Exec, &[], fs("/srv/data/b", "read"), "DENY", true),
        r("plain path: not the things below it", "[[fs]]\nfile = '/srv/data'\naccess = 'read'\n", Exec, &[], fs("/srv/data/a", "read"), "DENY", true),
        r("wildcard: * stays in one component", "[[fs]]\nfile = '/usr/lib/*.so'\naccess = 'read'\n", Exec, &[], fs("/usr/lib/x/libc.so", "read"), "DENY", true),
        r("home placeholder: a user's home", "[[fs]]\nfile = '~/Documents/**'\naccess = 'read'\n", Exec, &[], fs("/home/alice/Documents/cv.odt", "read"), "ALLOW", true),
        r("home placeholder: not a directory that is no home", "[[fs]]\nfile = '~/Documents/**'\naccess = 'read'\n", Exec, &[], fs("/srv/bob/Documents/cv.odt", "read"), "DENY", true),
        r("rules OR together", "[[fs]]\nfile = '/a'\naccess = 'read'\n[[fs]]\nfile = '/**'\naccess = 'write'\n", Exec, &[], fs("/a", "read|write"), "ALLOW", true),
    ]
}

const MULTI: &str = "[[fs]]\nfile = '/tmp/bpfbox/a'\naccess = ['read', 'write']\n\
                     [[fs]]\nfile = '/tmp/bpfbox/b'\naccess = 'append'\n\
                     [[fs]]\nfile = '/tmp/bpfbox/c'\naccess = 'read'\n\
                     [[fs]]\nfile = '/tmp/bpfbox/d'\naccess = 'exec'\n";

#[test]
fn decision_table() {
    let homes = [PathBuf::from("/home/alice")];
    let mut failures = Vec::new();
    for row in rows() {
        let text = format!("profile = '{PROBE}'\n{}", row.profile);
        let probe = parse_str(&text, Path::new("probe.toml")).expect(row.situation);
        let sleep = parse_str(&format!("profile = '{SLEEP}'\n"), Path::new("sleep.toml")).unwrap();
        let tainted = match row.start {
            Exec => probe.taints_on_exec(&now()),
            Clean => false,
            Tainted => true,
        };
        let policy = Policy::new(vec![probe, sleep], &homes, now()).unwrap();
        let active: Vec<(ContextKind, &str)> = row
            .inside
            .iter()
            .map(|name| match name.strip_prefix("k:") {
                Some(k) => (ContextKind::Kfunc, k),
                None => (ContextKind::Func, *name),
            })
            .collect();
        let state = policy.state_in(Path::new(PROBE), &active);
        let v = policy.decide(Path::new(PROBE), tainted, state, &row.request);
        if v.decision.to_string() != row.decision || v.decision.tainted_after != row.tainted_after {
            failures.push(format!(
                "{}: expected {} (tainted after: {}), got {v} (tainted after: {})",
                row.situation, row.decision, row.tainted_after, v.decision.tainted_after
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unconfined_processes_are_not_checked() {
    let policy = Policy::new(Vec::new(), &[], now()).unwrap();
    let v = policy.decide(
        Path::new("/bin/free"),
        false,
        0,
        &fs("/etc/shadow", "write"),
    );
    assert_eq!(v.decision.to_string(), "ALLOW");
    assert_eq!(v.reason, bpfbox_policy::Reason::Unconfined);
}

#[test]
fn denials_without_rules_say_so() {
    let p = parse_str("profile = '/bin/p'\n", Path::new("p.toml")).unwrap();
    let policy = Policy::new(vec![p], &[], now()).unwrap();
    let v = policy.decide(Path::new("/bin/p"), true, 0, &fs("/etc/shadow", "read"));
    assert_eq!(
        v.to_string(),
        "DENY: default: no rule covers it and the process is tainted"
    );
}

#[test]
fn a_rule_for_one_user_holds_for_that_users_processes_only() {
    let p = bpfbox_policy::parse_str(
        "profile = '/bin/app'\ntaint_on_exec = true\n\
         [[fs]]\nfile = '/home/ann/report.pdf'\naccess = 'read'\nuid = 1000\n",
        std::path::Path::new("app.toml"),
    )
    .unwrap();
    let policy = bpfbox_policy::Policy::new(vec![p], &[], std::time::SystemTime::now()).unwrap();
    let read = bpfbox_policy::Request::Fs {
        path: "/home/ann/report.pdf".into(),
        access: bpfbox_policy::FsAccess::READ,
    };
    let exe = std::path::Path::new("/bin/app");
    let denied = |uid| {
        policy
            .decide_as(exe, uid, true, 0, &read)
            .decision
            .is_denied()
    };
    assert!(!denied(Some(1000)), "the user it names");
    assert!(denied(Some(1001)), "another user");
    assert!(denied(Some(0)), "root");
    assert!(denied(None), "a process whose user no rule names");
}
