//! Any text through the whole pipeline: parse, print and re-parse (must give
//! the same profile), compile for a small machine (twice: must be the same),
//! and decide a few requests. Also every line as a path pattern and as
//! an expiry. Any panic is a bug.

#![no_main]

use std::{path::Path, time::UNIX_EPOCH};

use bpfbox_policy::{
    compile, parse_str, print, ContextKind, Expiry, Family, FsAccess, NetOps, Now,
    PathPattern, Policy, Request, Resolver, StaticResolver, TaskTarget,
};
use libfuzzer_sys::fuzz_target;

const PATHS: &[&str] = &[
    "/bin/ls",
    "/etc/passwd",
    "/usr/lib/libc.so",
    "/home/alice/.config/x",
    "/tmp/a/b/c",
    "/path/to/sensitive/directory/f",
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

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines().take(16) {
        if let Ok(pattern) = PathPattern::parse(line) {
            let homes = ["/home/alice".to_owned()];
            for concrete in pattern.expand_home(&homes) {
                let _ = concrete.plan();
                for path in PATHS {
                    let _ = concrete.matches(path);
                    let _ = concrete.match_keys(path);
                }
            }
        }
        if let Ok(expiry) = Expiry::parse(line) {
            if let Some(s) = expiry.to_toml_string() {
                assert_eq!(Expiry::parse(&s).unwrap(), expiry, "{line:?}");
            }
        }
    }
    let origin = Path::new("/policy/fuzz.toml");
    let profile = match parse_str(text, origin) {
        Ok(p) => p,
        Err(d) => {
            let _ = d.to_string();
            return;
        }
    };
    let printed = print(&profile);
    let again = parse_str(&printed, origin)
        .unwrap_or_else(|d| panic!("printed profile does not parse: {d}\n{printed}"));
    assert_eq!(again, profile, "parse(print(p)) != p\n{printed}");
    let _ = profile.rules();

    let r = machine();
    let now = Now::new(UNIX_EPOCH).with_instance("fuzz");
    let first = compile(std::slice::from_ref(&profile), &r, now.clone());
    let second = compile(std::slice::from_ref(&profile), &r, now.clone());
    assert_eq!(first, second, "compile is not deterministic");
    let Ok(policy) = Policy::new(vec![profile.clone()], &r.homes(), now) else {
        return;
    };
    let exe = profile.profile.as_path();
    let state = policy.state_in(exe, &[(ContextKind::Func, "main")]);
    for tainted in [false, true] {
        for path in PATHS {
            let request = Request::Fs {
                path: (*path).into(),
                access: FsAccess::ANY,
            };
            let _ = policy.decide(exe, tainted, state, &request).to_string();
        }
        let others = [
            Request::Net {
                family: Family::INET,
                operations: NetOps::CONNECT,
            },
            Request::Signal {
                target: TaskTarget::SameProcess,
                signal: 9,
            },
            Request::Ptrace {
                target: TaskTarget::Unconfined,
            },
            Request::Proc {
                target: TaskTarget::Profile("/bin/ls".into()),
                access: FsAccess::READ,
            },
            Request::Capability {
                cap: bpfbox_policy::Capability(21),
            },
        ];
        for request in &others {
            let _ = policy.decide(exe, tainted, state, request);
        }
    }
});
