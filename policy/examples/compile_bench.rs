//! Compiles a policy of 10,000 rules and prints the median time of 21 runs.
//!
//!     cargo run --release -p bpfbox-policy --example compile_bench
//!
//! 20 profiles of 500 rules each: plain paths (existing files, and files
//! that do not exist yet in existing directories), `dir/**` subtrees, small
//! wildcards, home rules, sockets, signals and capabilities, some in function
//! contexts. The machine is in memory (`StaticResolver`), so this measures
//! the compiler itself, not `statx`. Parsing the same rules from TOML is
//! timed too.

use std::{
    fmt::Write as _,
    path::Path,
    time::{Duration, Instant, UNIX_EPOCH},
};

use bpfbox_policy::{compile, parse_str, Profile, StaticResolver};

const PROFILES: usize = 20;
const RULES_PER_PROFILE: usize = 500;
const RUNS: usize = 21;

fn main() {
    let mut machine = StaticResolver::new();
    for d in 0..200 {
        for f in 0..30 {
            machine.add(format!("/srv/d{d}/f{f}.dat"));
        }
    }
    for p in 0..PROFILES {
        machine.add(format!("/opt/app{p}/bin/app"));
    }
    for u in 0..50 {
        machine.add(format!("/home/user{u}/.config/app/settings"));
        machine.add_home(format!("/home/user{u}"));
    }

    let texts: Vec<String> = (0..PROFILES).map(profile_text).collect();
    let rules: usize = texts.iter().map(|t| t.matches("\n[[").count()).sum();

    let parse = median(|| {
        let start = Instant::now();
        let profiles = parse_all(&texts);
        let took = start.elapsed();
        assert_eq!(profiles.len(), PROFILES);
        took
    });
    let profiles = parse_all(&texts);
    let mut entries = 0;
    let compile_time = median(|| {
        let start = Instant::now();
        let compiled = compile(&profiles, &machine, UNIX_EPOCH).expect("compiles");
        let took = start.elapsed();
        entries = compiled.entry_count();
        took
    });
    println!("rules: {rules} in {PROFILES} profiles; map entries: {entries}");
    println!("parse:   median {:.2} ms of {RUNS} runs", ms(parse));
    println!("compile: median {:.2} ms of {RUNS} runs", ms(compile_time));
}

fn parse_all(texts: &[String]) -> Vec<Profile> {
    texts
        .iter()
        .map(|t| parse_str(t, Path::new("bench.toml")).expect("parses"))
        .collect()
}

fn profile_text(p: usize) -> String {
    let mut s = format!("profile = '/opt/app{p}/bin/app'\n");
    for i in 0..RULES_PER_PROFILE {
        let d = (p * 7 + i) % 200;
        let f = i % 30;
        let _ = match i % 20 {
            0..=9 => write!(s, "\n[[fs]]\nfile = '/srv/d{d}/f{f}.dat'\naccess = ['read', 'write']\n"),
            10 | 11 => write!(s, "\n[[fs]]\nfile = '/srv/d{d}/new{i}.tmp'\naccess = 'write'\naction = 'audit'\n"),
            12 | 13 => write!(s, "\n[[fs]]\nfile = '/srv/d{d}/**'\naccess = 'read'\nfunc = 'f{}'\n", i % 3),
            14 => write!(s, "\n[[fs]]\nfile = '/srv/d{d}/f1*.dat'\naccess = 'getattr'\n"),
            15 => write!(s, "\n[[fs]]\nfile = '~/.config/app/**'\naccess = 'read'\nkfunc = 'vfs_read'\n"),
            16 => write!(s, "\n[[net]]\nfamily = ['inet', 'inet6']\noperation = ['connect', 'send', 'receive']\n"),
            17 => write!(s, "\n[[signal]]\nsignal = 'fatal'\ntarget = ['self', '/opt/app{}/bin/app']\n", (p + 1) % PROFILES),
            18 => write!(s, "\n[[capability]]\ncapability = 'net_bind_service'\naction = ['allow', 'audit']\n"),
            _ => write!(s, "\n[[fs]]\nfile = '/srv/d{d}/f{f}.dat'\naccess = 'read'\naction = ['allow', 'taint']\n"),
        };
    }
    s
}

fn median(mut run: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS).map(|_| run()).collect();
    times.sort();
    times[RUNS / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
