//! bpfbox's sample profile (`sample_policy/ls.toml`, byte for byte) loads
//! unchanged and means what it meant: `ls` runs freely until, inside
//! `main`, its first `getattr` taints it; from then on only `getattr`
//! inside `main` is allowed, and `getattr` of the sensitive directory is
//! reported.

use std::{
    path::{Path, PathBuf},
    time::UNIX_EPOCH,
};

use bpfbox_abi as abi;
use bpfbox_policy::{
    compile, load_file, Actions, ContextKind, Family, FsAccess, NetOps, Now, Policy, Request,
    Resolver as _, StaticResolver,
};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ls.toml")
}

#[test]
fn sample_loads_unchanged_with_bpfbox_meaning() {
    let p = load_file(&sample()).unwrap();
    assert_eq!(p.profile, Path::new("/bin/ls"));
    assert_eq!(p.fs.len(), 2);
    assert_eq!(p.fs[0].action, Actions::ALLOW | Actions::TAINT);
    assert_eq!(p.fs[0].object.access, FsAccess::GETATTR);
    assert_eq!(p.fs[0].object.files[0].as_str(), "/**");
    assert_eq!(p.fs[0].func, ["main"]);
    assert_eq!(p.fs[1].action, Actions::AUDIT);
    assert_eq!(
        p.fs[1].object.files[0].as_str(),
        "/path/to/sensitive/directory/**"
    );
    // it has a taint rule, so ls starts untainted (bpfbox DSL semantics)
    assert!(!p.taints_on_exec(&Now::new(UNIX_EPOCH)));
}

#[test]
fn sample_compiles_to_two_subtree_entries_in_one_context() {
    let p = load_file(&sample()).unwrap();
    let mut machine = StaticResolver::new();
    machine.add("/bin/ls");
    machine.add("/path/to/sensitive/directory");
    let c = compile(std::slice::from_ref(&p), &machine, UNIX_EPOCH).unwrap();
    assert_eq!(c.contexts.len(), 1);
    assert_eq!(c.contexts[0].name, "main");
    assert_eq!(c.contexts[0].file.as_deref(), Some(Path::new("/bin/ls")));
    // the two subtree rules, and ls's implicit grant on its own binary
    assert_eq!(c.fs_rules.len(), 3);
    let own = machine.inode(Path::new("/bin/ls")).unwrap();
    let (exe_keys, rule_keys): (Vec<_>, Vec<_>) = c
        .fs_rules
        .iter()
        .partition(|(k, _)| k.scope == abi::SCOPE_INODE && k.ino == own.ino);
    assert_eq!(exe_keys.len(), 1);
    assert_eq!(exe_keys[0].1.allow.access, bpfbox_policy::OWN_EXECUTABLE);
    for (key, rule) in rule_keys {
        assert_eq!(key.scope, abi::SCOPE_SUBTREE);
        // context rules only: nothing holds outside main
        assert_eq!(rule.allow.access | rule.taint.access | rule.audit.access, 0);
    }
    let flags = c.profiles[&p.id()].flags;
    assert_eq!(flags & abi::PROFILE_TAINT_ON_EXEC, 0);
}

/// The decisions of the sample profile, one row per situation.
#[test]
fn sample_decision_table() {
    let p = load_file(&sample()).unwrap();
    let policy = Policy::new(vec![p], &[], UNIX_EPOCH).unwrap();
    let ls = Path::new("/bin/ls");
    let main = policy.state_in(ls, &[(ContextKind::Func, "main")]);
    assert_ne!(main, 0);
    let fs = |path: &str, access: FsAccess| Request::Fs {
        path: path.into(),
        access,
    };
    let sensitive = "/path/to/sensitive/directory/secret";
    #[rustfmt::skip]
    let rows: &[(&str, bool, u64, Request, &str, bool)] = &[
        // (situation, tainted, state, request, decision, tainted after)
        ("before main: loading libraries is allowed", false, 0, fs("/usr/lib/libc.so.6", FsAccess::READ), "ALLOW", false),
        ("before main: getattr does not taint", false, 0, fs("/etc", FsAccess::GETATTR), "ALLOW", false),
        ("in main: first getattr taints", false, main, fs("/home/alice", FsAccess::GETATTR), "ALLOW|TAINT", true),
        ("in main, tainted: getattr anywhere is allowed", true, main, fs("/usr/bin", FsAccess::GETATTR), "ALLOW", true),
        ("in main, tainted: read is denied", true, main, fs("/etc/passwd", FsAccess::READ), "DENY", true),
        ("in main, tainted: getattr+read is denied", true, main, fs("/etc/passwd", FsAccess::GETATTR | FsAccess::READ), "DENY", true),
        ("outside main, tainted: getattr is denied", true, 0, fs("/usr/bin", FsAccess::GETATTR), "DENY", true),
        ("in main, tainted: sensitive getattr is allowed and audited", true, main, fs(sensitive, FsAccess::GETATTR), "ALLOW|AUDIT", true),
        ("in main, untainted: sensitive getattr taints and is audited", false, main, fs(sensitive, FsAccess::GETATTR), "ALLOW|AUDIT|TAINT", true),
        ("outside main: sensitive getattr is not audited", false, 0, fs(sensitive, FsAccess::GETATTR), "ALLOW", false),
        ("in main, tainted: the sensitive directory itself is audited", true, main, fs("/path/to/sensitive/directory", FsAccess::GETATTR), "ALLOW|AUDIT", true),
        ("untainted: a socket (no rule) is allowed", false, main, Request::Net { family: Family::INET, operations: NetOps::CONNECT }, "ALLOW", false),
        ("tainted: a socket (no rule) is denied", true, main, Request::Net { family: Family::INET, operations: NetOps::CONNECT }, "DENY", true),
    ];
    for (situation, tainted, state, request, expected, tainted_after) in rows {
        let v = policy.decide(ls, *tainted, *state, request);
        assert_eq!(v.decision.to_string(), *expected, "{situation}: {v}");
        assert_eq!(v.decision.tainted_after, *tainted_after, "{situation}: {v}");
    }
}

#[test]
fn derived_rule_ids_are_stable() {
    // ids are derived from content; the GUI stores them, so they must not
    // change between releases
    let p = load_file(&sample()).unwrap();
    let ids: Vec<String> = p.rules().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["fs-6dde23cce6c9", "fs-0ef2250b378d"]);
}

#[test]
fn sample_verdicts_name_the_deciding_rules() {
    let p = load_file(&sample()).unwrap();
    let ids: Vec<String> = p.rules().into_iter().map(|r| r.id).collect();
    let policy = Policy::new(vec![p], &[], UNIX_EPOCH).unwrap();
    let ls = Path::new("/bin/ls");
    let main = policy.state_in(ls, &[(ContextKind::Func, "main")]);
    let v = policy.decide(
        ls,
        true,
        main,
        &Request::Fs {
            path: "/path/to/sensitive/directory/x".into(),
            access: FsAccess::GETATTR,
        },
    );
    assert_eq!(v.audited_by, [ids[1].clone()]);
    assert_eq!(
        v.reason,
        bpfbox_policy::Reason::Allowed {
            by: vec![ids[0].clone()]
        }
    );
    let denied = policy.decide(
        ls,
        true,
        main,
        &Request::Fs {
            path: "/etc/passwd".into(),
            access: FsAccess::READ,
        },
    );
    assert_eq!(
        denied.to_string(),
        format!("DENY: rules {} cover it but none grants bits 0x1", ids[0])
    );
}
