//! The oracle ([`Policy::decide`], on strings) and the compiled maps agree
//! on every existing path: random profiles are compiled for an in-memory
//! machine, and a model of the kernel's lookups (`ebpf/src/fs_rules.h`:
//! INODE, CHILD if the profile has CHILD keys, SUBTREE on the object and
//! its ancestors up to `MAX_ANCESTORS` levels; one key for sockets,
//! signals, capabilities) decides with [`decide_entry`] from what it finds.

use std::{
    path::{Path, PathBuf},
    time::{Duration, UNIX_EPOCH},
};

use bpfbox_abi::{self as abi, CapKey, FsKey, NetKey, PairKey};
use bpfbox_policy::{
    compile, decide_entry, parse_str, Capability, CompiledPolicy, ContextKind, Decision, Family,
    FsAccess, Mode, NetOps, Now, Policy, Request, Resolver, StaticResolver, TaskTarget,
};
use proptest::{collection::vec, prelude::*, sample::select};

const APP: &str = "/bin/app";
const PEER: &str = "/bin/peer";

/// Existing paths of the machine (ancestors exist too).
const PATHS: &[&str] = &[
    "/bin/app",
    "/bin/peer",
    "/etc/passwd",
    "/etc/shadow",
    "/etc/ssl/certs/ca.pem",
    "/usr/lib/libc.so",
    "/usr/lib/libm.so",
    "/usr/lib/x86_64/libz.so",
    "/usr/share/doc/readme",
    "/home/alice/docs/cv.odt",
    "/home/alice/.config/app/settings",
    "/home/bob/docs/notes",
    "/root/docs/x",
    "/tmp/a/x/b",
    "/tmp/a/b",
    "/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/d20/d21/d22/d23/d24/d25/d26/d27/d28/d29/d30/d31/d32/f",
];

/// Patterns rules are drawn from.
const PATTERNS: &[&str] = &[
    "/**",
    "/etc/**",
    "/etc/passwd",
    "/etc/*",
    "/etc/ssl/**",
    "/usr/lib/*.so",
    "/usr/lib/**",
    "/usr/lib/libc.so",
    "/usr/**/libz.so",
    "/home/*/docs/**",
    "~/docs/**",
    "~/.config/app/settings",
    "~",
    "/tmp/a/**/b",
    "/tmp/a",
    "/etc/missing.conf",
    "/d1/**",
    "/d1/d2/**",
    "/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/d20/d21/d22/d23/d24/d25/d26/d27/d28/d29/d30/d31/d32/f",
];

fn machine() -> StaticResolver {
    let mut r = StaticResolver::new();
    for p in PATHS {
        r.add(p);
    }
    r.add_home("/home/alice");
    r.add_home("/root");
    r
}

fn now() -> Now {
    Now::new(UNIX_EPOCH + Duration::from_secs(1_000)).with_instance("me")
}

/// What the kernel finds for `path`, given the compiled maps.
fn kernel_fs(
    c: &CompiledPolicy,
    r: &StaticResolver,
    id: u64,
    state: u64,
    path: &str,
) -> Option<[u32; 3]> {
    let flags = c.profiles[&id].flags;
    let rules = c.profiles[&id].rules_id;
    let mut found: Option<[u32; 3]> = None;
    let mut add = |key: FsKey| {
        if let Some(rule) = c.fs_rules.get(&key) {
            let acc = found.get_or_insert([0; 3]);
            acc[0] |= rule.allow.effective(state);
            acc[1] |= rule.taint.effective(state);
            acc[2] |= rule.audit.effective(state);
        }
    };
    let inode = |p: &Path| r.inode(p).unwrap();
    let path = Path::new(path);
    let object = inode(path);
    add(FsKey {
        rules_id: rules,
        ino: object.ino,
        name_hash: 0,
        dev: object.dev,
        scope: abi::SCOPE_INODE,
    });
    if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
        if flags & abi::PROFILE_HAS_CHILD_RULES != 0 {
            let dir = inode(parent);
            add(FsKey {
                rules_id: rules,
                ino: dir.ino,
                name_hash: abi::name_hash(name.to_str().unwrap().as_bytes()),
                dev: dir.dev,
                scope: abi::SCOPE_CHILD,
            });
        }
    }
    for ancestor in path.ancestors().take(abi::MAX_ANCESTORS as usize) {
        let dir = inode(ancestor);
        add(FsKey {
            rules_id: rules,
            ino: dir.ino,
            name_hash: 0,
            dev: dir.dev,
            scope: abi::SCOPE_SUBTREE,
        });
    }
    found
}

fn kernel_key<K: Ord>(
    map: &std::collections::BTreeMap<K, abi::Rule>,
    key: &K,
    state: u64,
) -> Option<[u32; 3]> {
    map.get(key).map(|rule| {
        [
            rule.allow.effective(state),
            rule.taint.effective(state),
            rule.audit.effective(state),
        ]
    })
}

/// The kernel's decision from what it found.
fn kernel_decide(
    mode: Mode,
    tainted: bool,
    state: u64,
    found: Option<[u32; 3]>,
    requested: u32,
) -> Decision {
    let rule = found.map(|[allow, taint, audit]| {
        let plain = |access| abi::Access {
            access,
            ctx_access: 0,
            state: 0,
        };
        abi::Rule {
            allow: plain(allow),
            taint: plain(taint),
            audit: plain(audit),
        }
    });
    decide_entry(mode, tainted, state, rule.as_ref(), requested)
}

fn access_words() -> impl Strategy<Value = Vec<&'static str>> {
    vec(
        select(vec![
            "read", "write", "append", "exec", "getattr", "rm", "link", "any",
        ]),
        1..3,
    )
}

fn rule_text() -> impl Strategy<Value = String> {
    let fs = (
        vec(select(PATTERNS.to_vec()), 1..3),
        access_words(),
        select(vec![
            "'allow'",
            "'taint'",
            "'audit'",
            "['allow', 'taint']",
            "['allow', 'audit']",
        ]),
        select(vec![
            "",
            "func = 'f'\n",
            "func = 'g'\n",
            "func = ['f', 'g']\n",
            "kfunc = 'k'\n",
        ]),
        select(vec![
            "",
            "enabled = false\n",
            "expires = 10\n",
            "expires = 5000\n",
            "expires = 'once'\n",
            "expires = 'restart:me'\n",
            "expires = 'restart:old'\n",
        ]),
    )
        .prop_map(|(files, access, action, ctx, meta)| {
            format!("[[fs]]\nfile = {files:?}\naccess = {access:?}\naction = {action}\n{ctx}{meta}")
        });
    let net = (
        select(vec!["'inet'", "'inet6'", "['inet', 'unix']", "'any'"]),
        select(vec!["'connect'", "['send', 'receive']", "'any'"]),
        select(vec!["'allow'", "'taint'", "'audit'"]),
        select(vec!["", "func = 'f'\n"]),
    )
        .prop_map(|(family, op, action, ctx)| {
            format!("[[net]]\nfamily = {family}\noperation = {op}\naction = {action}\n{ctx}")
        });
    let signal = (
        select(vec![
            "'self'",
            "'/bin/peer'",
            "'unconfined'",
            "'any'",
            "'/bin/nobody'",
        ]),
        select(vec!["'sigkill'", "'misc'", "'check'", "'any'"]),
        select(vec!["'allow'", "'taint'"]),
    )
        .prop_map(|(target, signal, action)| {
            format!("[[signal]]\ntarget = {target}\nsignal = {signal}\naction = {action}\n")
        });
    let ptrace = select(vec!["'self'", "'/bin/peer'", "'any'"])
        .prop_map(|t| format!("[[ptrace]]\ntarget = {t}\n"));
    let proc = (
        select(vec!["'self'", "'/bin/peer'", "'unconfined'"]),
        access_words(),
    )
        .prop_map(|(t, a)| format!("[[proc]]\ntarget = {t}\naccess = {a:?}\n"));
    let cap = select(vec!["'net_bind_service'", "'sys_admin'", "'any'"])
        .prop_map(|c| format!("[[capability]]\ncapability = {c}\naction = ['allow', 'audit']\n"));
    prop_oneof![6 => fs, 1 => net, 1 => signal, 1 => ptrace, 1 => proc, 1 => cap]
}

fn request() -> impl Strategy<Value = Request> {
    let fs = (select(PATHS.to_vec()), 1u32..512).prop_map(|(p, a)| Request::Fs {
        path: p.into(),
        access: FsAccess(a),
    });
    // every ancestor of an existing path exists too
    let dir = (select(PATHS.to_vec()), 1usize..4, 1u32..512).prop_map(|(p, up, a)| Request::Fs {
        path: Path::new(p)
            .ancestors()
            .nth(up)
            .unwrap_or(Path::new("/"))
            .to_owned(),
        access: FsAccess(a),
    });
    let target = select(vec![
        TaskTarget::SameProcess,
        TaskTarget::Profile(PEER.into()),
        TaskTarget::Profile("/bin/nobody".into()),
        TaskTarget::Unconfined,
    ]);
    let net = (select(vec![1u32, 2, 10, 16]), 1u32..256).prop_map(|(f, o)| Request::Net {
        family: Family(f),
        operations: NetOps(o),
    });
    let signal = (
        target.clone(),
        select(vec![0, libc::SIGKILL, libc::SIGTERM, libc::SIGCHLD]),
    )
        .prop_map(|(target, signal)| Request::Signal { target, signal });
    let ptrace = target.clone().prop_map(|target| Request::Ptrace { target });
    let proc = (target, 1u32..512).prop_map(|(target, a)| Request::Proc {
        target,
        access: FsAccess(a),
    });
    let cap = select(vec![10u32, 21, 7]).prop_map(|c| Request::Capability { cap: Capability(c) });
    prop_oneof![4 => fs, 2 => dir, 1 => net, 1 => signal, 1 => ptrace, 1 => proc, 1 => cap, 1 => Just(Request::IoUring), 1 => Just(Request::Mount)]
}

/// The kernel's view of one request.
fn kernel(
    c: &CompiledPolicy,
    r: &StaticResolver,
    mode: Mode,
    tainted: bool,
    state: u64,
    request: &Request,
) -> Decision {
    let id = bpfbox_policy::profile_id(Path::new(APP));
    // the kernel looks rules up by the profile's rules id
    let rules = c.profiles.get(&id).map_or(id, |p| p.rules_id);
    let target_id = |t: &TaskTarget| match t {
        TaskTarget::SameProcess => id,
        TaskTarget::Profile(p) if c.names.values().any(|n| n == p) => bpfbox_policy::profile_id(p),
        _ => 0,
    };
    let (found, requested) = match request {
        // ebpf/src/uring.h, mount.h: the profile's flag, whatever the taint
        Request::IoUring | Request::Mount => {
            let flag = if *request == Request::IoUring {
                abi::PROFILE_IO_URING
            } else {
                abi::PROFILE_MOUNT
            };
            let allowed = c.profiles.get(&id).is_some_and(|p| p.flags & flag != 0);
            let bits = match (allowed, mode) {
                (true, _) | (_, Mode::Disabled) => abi::DECISION_ALLOW,
                (false, Mode::Complain) => abi::DECISION_COMPLAIN,
                (false, Mode::Enforce) => abi::DECISION_DENY,
            };
            return Decision {
                bits,
                tainted_after: tainted,
            };
        }
        Request::Fs { path, access } => (
            kernel_fs(c, r, id, state, path.to_str().unwrap()),
            access.bits(),
        ),
        Request::Net { family, operations } => (
            kernel_key(
                &c.net_rules,
                &NetKey {
                    rules_id: rules,
                    family: family.0,
                    _pad: 0,
                },
                state,
            ),
            operations.bits(),
        ),
        Request::Signal { target, signal } => (
            kernel_key(
                &c.ipc_rules,
                &PairKey {
                    subject: rules,
                    object: target_id(target),
                },
                state,
            ),
            bpfbox_policy::signal_access(*signal),
        ),
        Request::Ptrace { target } => (
            kernel_key(
                &c.ipc_rules,
                &PairKey {
                    subject: rules,
                    object: target_id(target),
                },
                state,
            ),
            abi::IPC_PTRACE,
        ),
        Request::Proc {
            target: TaskTarget::SameProcess,
            access,
        } => (Some([0x3f, 0, 0]), access.bits()),
        Request::Proc { target, access } => (
            Some(
                kernel_key(
                    &c.proc_rules,
                    &PairKey {
                        subject: rules,
                        object: target_id(target),
                    },
                    state,
                )
                .unwrap_or([0; 3]),
            ),
            access.bits(),
        ),
        Request::Capability { cap } => (
            kernel_key(
                &c.cap_rules,
                &CapKey {
                    rules_id: rules,
                    cap: cap.0,
                    _pad: 0,
                },
                state,
            ),
            1,
        ),
    };
    kernel_decide(mode, tainted, state, found, requested)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn oracle_and_compiled_maps_agree(
        rules in vec(rule_text(), 0..6),
        mode in select(vec!["enforce", "complain", "disabled"]),
        io_uring in any::<bool>(),
        mount in any::<bool>(),
        requests in vec((request(), any::<bool>(), 0u8..8), 1..8),
    ) {
        let text = format!("profile = '{APP}'\nmode = '{mode}'\nio_uring = {io_uring}\nmount = {mount}\n{}", rules.concat());
        let app = parse_str(&text, Path::new("app.toml")).unwrap();
        let peer = parse_str(&format!("profile = '{PEER}'\n[[fs]]\nfile = '/x'\naccess = 'read'\nfunc = 'h'\n"), Path::new("peer.toml")).unwrap();
        let mode = app.mode;
        let r = machine();
        let compiled = compile(&[app.clone(), peer.clone()], &r, now()).unwrap();
        let homes: Vec<PathBuf> = r.homes();
        let policy = Policy::new(vec![app, peer], &homes, now()).unwrap();
        let app_path = Path::new(APP);
        for (request, tainted, ctx) in &requests {
            let mut active = Vec::new();
            if ctx & 1 != 0 { active.push((ContextKind::Func, "f")); }
            if ctx & 2 != 0 { active.push((ContextKind::Func, "g")); }
            if ctx & 4 != 0 { active.push((ContextKind::Kfunc, "k")); }
            let state = policy.state_in(app_path, &active);
            let oracle = policy.decide(app_path, *tainted, state, request).decision;
            let kernel = kernel(&compiled, &r, mode, *tainted, state, request);
            prop_assert_eq!(oracle, kernel, "{}\nrequest {:?} tainted {} state {:#x}", text, request, tainted, state);
        }
    }
}

#[test]
fn the_kernel_walk_stops_at_max_ancestors() {
    // `/d1/**` is 33 levels above the deep file: out of the kernel's reach,
    // and the oracle says so too
    let deep = PATHS.last().unwrap();
    let app = parse_str(
        &format!("profile = '{APP}'\n[[fs]]\nfile = ['/d1/**']\naccess = 'read'\n"),
        Path::new("a.toml"),
    )
    .unwrap();
    let r = machine();
    let compiled = compile(std::slice::from_ref(&app), &r, now()).unwrap();
    let policy = Policy::new(vec![app], &[], now()).unwrap();
    let request = Request::Fs {
        path: (*deep).into(),
        access: FsAccess::READ,
    };
    let oracle = policy.decide(Path::new(APP), true, 0, &request).decision;
    assert!(oracle.is_denied());
    assert_eq!(
        oracle,
        kernel(&compiled, &r, Mode::Enforce, true, 0, &request)
    );
}
