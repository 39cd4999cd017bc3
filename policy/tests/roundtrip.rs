//! `parse(print(p)) == p` for every valid profile, and printing is a fixed
//! point: printing what was parsed from printed text gives the same text.

use std::path::{Path, PathBuf};

use bpfbox_policy::{
    parse_str, print, Actions, CapName, Capability, Caps, Expiry, Family, FamilyName, Fs, FsAccess,
    Mode, Net, NetOps, PathPattern, Proc, Profile, Ptrace, Rule, Signal, Signals, Target,
    CAPABILITIES, FAMILIES,
};
use proptest::{collection::vec, option, prelude::*, sample::select};

const ORIGIN: &str = "/policy/p.toml";

fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_.-]{1,8}".prop_filter("not . or ..", |s| s != "." && s != ".."),
        Just("dir with space".to_owned()),
        Just("ünïcødé".to_owned()),
        Just("quote'\"".to_owned()),
    ]
}

fn exe() -> impl Strategy<Value = PathBuf> {
    vec(component(), 1..4).prop_map(|c| PathBuf::from(format!("/{}", c.join("/"))))
}

fn pattern() -> impl Strategy<Value = PathPattern> {
    let glob_component = prop_oneof![
        4 => component(),
        1 => Just("*".to_owned()),
        1 => Just("*.so".to_owned()),
        1 => Just("lib?".to_owned()),
        1 => Just("[a-c]x".to_owned()),
        1 => Just("[!.]*".to_owned()),
        1 => Just("**".to_owned()),
    ];
    (any::<bool>(), vec(glob_component, 0..5)).prop_map(|(home, comps)| {
        let text = match (home, comps.is_empty()) {
            (true, true) => "~".to_owned(),
            (true, false) => format!("~/{}", comps.join("/")),
            (false, _) => format!("/{}", comps.join("/")),
        };
        PathPattern::parse(&text).unwrap()
    })
}

fn mask(all: u32) -> impl Strategy<Value = u32> {
    (1..=all)
        .prop_map(move |m| m & all)
        .prop_filter("non-empty", |m| *m != 0)
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        Just(Target::SameProfile),
        Just(Target::Unconfined),
        Just(Target::Any),
        exe().prop_map(Target::Profile),
    ]
}

fn symbol() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_.@$]{0,12}"
}

fn expiry() -> impl Strategy<Value = Expiry> {
    prop_oneof![
        3 => Just(Expiry::Never),
        1 => Just(Expiry::Once),
        1 => (0i64..=253_402_300_799).prop_map(Expiry::At),
        1 => "[a-zA-Z0-9._-]{1,20}".prop_map(Expiry::UntilRestart),
    ]
}

fn rule<T: std::fmt::Debug + Clone>(
    object: impl Strategy<Value = T>,
) -> impl Strategy<Value = Rule<T>> {
    (
        object,
        option::of("[a-zA-Z0-9_.:-]{1,16}"),
        1u32..8,
        vec(symbol(), 0..3),
        vec(symbol(), 0..2),
        any::<bool>(),
        expiry(),
        option::of(0u32..70_000),
    )
        .prop_map(
            |(object, id, action, func, kfunc, enabled, expires, uid)| Rule {
                id,
                object,
                action: Actions(action),
                func,
                kfunc,
                enabled,
                expires,
                uid,
            },
        )
}

fn family() -> impl Strategy<Value = FamilyName> {
    prop_oneof![
        1 => Just(FamilyName::Any),
        5 => select(FAMILIES).prop_map(|(_, n)| FamilyName::One(Family(n))),
    ]
}

fn capability() -> impl Strategy<Value = CapName> {
    prop_oneof![
        1 => Just(CapName::Any),
        5 => (0..CAPABILITIES.len() as u32).prop_map(|n| CapName::One(Capability(n))),
    ]
}

fn text() -> impl Strategy<Value = Option<String>> {
    option::of(any::<String>())
}

fn profile() -> impl Strategy<Value = Profile> {
    let meta = (exe(), text(), text(), text(), text());
    let modes = select(vec![Mode::Enforce, Mode::Complain, Mode::Disabled]);
    let fs = vec(
        rule(
            (vec(pattern(), 1..4), mask(FsAccess::ANY.bits())).prop_map(|(files, a)| Fs {
                files,
                access: FsAccess(a),
            }),
        ),
        0..4,
    );
    let net = vec(
        rule(
            (vec(family(), 1..3), mask(NetOps::ANY.bits())).prop_map(|(families, o)| Net {
                families,
                operations: NetOps(o),
            }),
        ),
        0..3,
    );
    let signal = vec(
        rule(
            (vec(target(), 1..3), mask(Signals::ANY.bits())).prop_map(|(targets, s)| Signal {
                targets,
                signals: Signals(s),
            }),
        ),
        0..3,
    );
    let proc = vec(
        rule(
            (vec(target(), 1..3), mask(FsAccess::ANY.bits())).prop_map(|(targets, a)| Proc {
                targets,
                access: FsAccess(a),
            }),
        ),
        0..2,
    );
    let ptrace = vec(
        rule(vec(target(), 1..3).prop_map(|targets| Ptrace { targets })),
        0..2,
    );
    let caps = vec(
        rule(vec(capability(), 1..4).prop_map(|capabilities| Caps { capabilities })),
        0..2,
    );
    (
        meta,
        modes,
        (option::of(any::<bool>()), any::<bool>(), any::<bool>()),
        fs,
        net,
        signal,
        proc,
        ptrace,
        caps,
    )
        .prop_map(
            |(
                (exe, name, description, desktop_id, icon),
                mode,
                (taint_on_exec, io_uring, mount),
                fs,
                net,
                signal,
                proc,
                ptrace,
                capability,
            )| {
                let mut p = Profile {
                    profile: exe,
                    name,
                    description,
                    desktop_id,
                    icon,
                    mode,
                    taint_on_exec,
                    io_uring,
                    mount,
                    fs,
                    net,
                    signal,
                    proc,
                    ptrace,
                    capability,
                    source: Some(ORIGIN.into()),
                };
                dedup_ids(&mut p);
                p
            },
        )
}

/// Written ids must be unique: later duplicates lose theirs.
fn dedup_ids(p: &mut Profile) {
    let mut seen = std::collections::HashSet::new();
    let mut keep = |id: &mut Option<String>| {
        if let Some(i) = id {
            if !seen.insert(i.clone()) {
                *id = None;
            }
        }
    };
    p.fs.iter_mut().for_each(|r| keep(&mut r.id));
    p.net.iter_mut().for_each(|r| keep(&mut r.id));
    p.signal.iter_mut().for_each(|r| keep(&mut r.id));
    p.proc.iter_mut().for_each(|r| keep(&mut r.id));
    p.ptrace.iter_mut().for_each(|r| keep(&mut r.id));
    p.capability.iter_mut().for_each(|r| keep(&mut r.id));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_of_print_is_identity(p in profile()) {
        let text = print(&p);
        let back = parse_str(&text, Path::new(ORIGIN));
        prop_assert!(back.is_ok(), "{}\n---\n{}", back.unwrap_err(), text);
        let back = back.unwrap();
        prop_assert_eq!(&back, &p, "{}", text);
        prop_assert_eq!(print(&back), text);
        prop_assert_eq!(back.rule_ids(), p.rule_ids());
    }
}

#[test]
fn printing_is_canonical() {
    let text = "profile = \"/bin/ls\"\n\
                [[fs]]\n  file = ['/**']\n  access = ['getattr']\n  action = ['taint', 'allow']\n  func = 'main'\n\
                [[net]]\nfamily = ['AF_INET', 'inet6']\noperation = ['recv', 'send']\nexpires = 2026-11-29T11:00:00+01:00\n";
    let p = parse_str(text, Path::new(ORIGIN)).unwrap();
    assert_eq!(
        print(&p),
        "profile = \"/bin/ls\"\n\
         \n[[fs]]\nfile = \"/**\"\naccess = \"getattr\"\naction = [\"allow\", \"taint\"]\nfunc = \"main\"\n\
         \n[[net]]\nfamily = [\"inet\", \"inet6\"]\noperation = [\"send\", \"receive\"]\nexpires = \"2026-11-29T10:00:00Z\"\n"
    );
}
