//! The daemon expands wildcard rules with the `glob` crate; the oracle
//! matches with `PathPattern`. On a real directory tree they must find the
//! same paths, or the kernel would hold fewer (or more) keys than the oracle
//! assumes.

use std::{collections::BTreeSet, fs, path::Path};

use bpfbox_policy::PathPattern;

const FILES: &[&str] = &[
    "a",
    "b",
    "ab",
    ".hidden",
    "dir/a",
    "dir/.hidden/b",
    "dir/sub/b",
    "dir/sub/deeper/b",
    "lib/libc.so",
    "lib/libm.so.6",
    "lib/x.so",
    "star*name",
    "q?mark",
    "br[ack]et",
    "é",
];

const PATTERNS: &[&str] = &[
    "*",
    "?",
    "a*",
    "*b",
    "[ab]",
    "[!a]",
    "[a-b]*",
    "dir/*",
    "dir/*/b",
    "dir/**/b",
    "d*/**",
    "*/sub/**",
    "**/b",
    "lib/*.so",
    "lib/lib?.so*",
    "star[*]name",
    "q[?]mark",
    "br[[]ack]et",
    "?",
];

fn walk(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        out.insert(path.to_str().unwrap().to_owned());
        if path.is_dir() {
            walk(&path, out);
        }
    }
}

#[test]
fn glob_crate_and_path_patterns_find_the_same_paths() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for f in FILES {
        let path = root.join(f);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"").unwrap();
    }
    let mut all = BTreeSet::new();
    walk(root, &mut all);
    all.insert(root.to_str().unwrap().to_owned());
    for pattern in PATTERNS {
        let text = format!("{}/{pattern}", root.display());
        let ours = PathPattern::parse(&text).unwrap();
        let expected: BTreeSet<String> = all.iter().filter(|p| ours.matches(p)).cloned().collect();
        // what the compiler hands the daemon's expansion (escaped literals)
        let glob_text = match ours.plan() {
            bpfbox_policy::Plan::Expand(g) | bpfbox_policy::Plan::ExpandSubtree(g) => g.clone(),
            other => panic!("{pattern}: {other:?}"),
        };
        let found: BTreeSet<String> = glob::glob(&glob_text)
            .unwrap()
            .map(|p| p.unwrap().to_str().unwrap().to_owned())
            .filter(|p| match ours.plan() {
                bpfbox_policy::Plan::ExpandSubtree(_) => true,
                _ => ours.matches(p),
            })
            .collect();
        if let bpfbox_policy::Plan::ExpandSubtree(prefix) = ours.plan() {
            let prefix = PathPattern::parse(prefix).unwrap();
            let expected: BTreeSet<String> =
                all.iter().filter(|p| prefix.matches(p)).cloned().collect();
            assert_eq!(found, expected, "{pattern}");
        } else {
            assert_eq!(found, expected, "{pattern}");
            let unfiltered: BTreeSet<String> = glob::glob(&glob_text)
                .unwrap()
                .map(|p| p.unwrap().to_str().unwrap().to_owned())
                .collect();
            assert_eq!(unfiltered, expected, "{pattern}: the glob crate alone");
        }
    }
}
