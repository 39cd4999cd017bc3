//! Turning the accesses a learning run reported into rules that will still
//! fit the next run, the way aa-logprof proposes globs rather than the
//! exact files one run happened to touch:
//!
//! - libraries, locale data, fonts… (shared, versioned, read-only trees)
//!   become their directory's glob: `/usr/lib/**`, `/usr/share/locale/**`;
//! - a path in a person's home becomes `~/…`, so the profile fits every
//!   user, and a cache directory there becomes `~/.cache/<dir>/**`;
//! - a temporary file becomes its directory under the temporary root
//!   (`/tmp/<dir>/**`), and the whole root (`/tmp/**`) only for files
//!   directly in it, whose names change on every run;
//! - terminals: `/dev/pts/**`;
//! - everything else stays the exact path;
//! - a path the kernel could only name by its last component (`…/name`)
//!   is the one full path of the run with that name, if there is one.
//!
//! Accesses are merged per resulting pattern, a pattern a glob already
//! covers with at least its accesses is dropped, and patterns with the same
//! accesses share one rule.

use std::collections::{BTreeMap, BTreeSet};

use bpfbox_dbus::{EventInfo, Kind};
use bpfbox_policy::{NewRule, RuleKind, FS_ACCESS, OWN_EXECUTABLE};

/// Trees whose files are shared by every program and change with package
/// updates: a rule for one file in them would break on the next update.
const GROUPED: &[&str] = &[
    "/usr/lib",
    "/usr/lib64",
    "/usr/lib32",
    "/usr/libexec",
    "/usr/local/lib",
    "/lib",
    "/lib64",
    "/lib32",
    "/usr/share/locale",
    "/usr/share/i18n",
    "/usr/share/zoneinfo",
    "/usr/share/fonts",
    "/usr/share/icons",
    "/usr/share/mime",
    "/usr/share/X11",
    "/usr/share/glib-2.0",
    "/usr/share/terminfo",
    "/usr/share/ca-certificates",
    "/usr/share/themes",
    "/etc/fonts",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/dev/pts",
];

/// Roots of temporary files.
const TEMP_ROOTS: &[&str] = &["/tmp", "/var/tmp", "/dev/shm"];

/// What the proposal depends on besides the events.
pub struct Machine {
    /// The profile's executable: reading and mapping it needs no rule.
    pub executable: String,
    /// Home directories of people (root and uid ≥ 1000), as the daemon
    /// expands `~`.
    pub homes: Vec<String>,
}

/// The rules proposed, and what could not be turned into a rule.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Proposal {
    /// New rules, in a stable order.
    pub rules: Vec<NewRule>,
    /// Events left out, with why.
    pub skipped: Vec<String>,
}

/// Proposes rules for the complaints among `events`.
pub fn propose(events: &[EventInfo], machine: &Machine) -> Proposal {
    let mut proposal = Proposal::default();
    // pattern → accesses
    let mut files: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // family → operations
    let mut net: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // (kind, target) → signals (empty for ptrace)
    let mut tasks: BTreeMap<(RuleKind, String), BTreeSet<String>> = BTreeMap::new();
    let mut caps: BTreeSet<String> = BTreeSet::new();

    let paths: Vec<String> = events
        .iter()
        .filter(|e| is_complaint(e) && e.kind == Kind::Fs.as_str())
        .map(|e| clean_path(&e.object))
        .filter(|p| p.starts_with('/'))
        .collect();
    let temp_dirs = temp_dirs(&paths);
    let by_name = by_file_name(&paths);

    for e in events.iter().filter(|e| is_complaint(e)) {
        let access: Vec<String> = e
            .access
            .split(',')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        match e.kind.parse::<Kind>() {
            Ok(Kind::Fs) => {
                let mut path = clean_path(&e.object);
                if !path.starts_with('/') {
                    // Some hooks only see the entry's name (`…/libc.so.6`,
                    // for a stat or an executable mapping). The same run
                    // nearly always opened that file by its full path too;
                    // if exactly one such path has the name, it is that file.
                    match path.strip_prefix("…/").and_then(|name| by_name.get(name)) {
                        Some(full) if full.len() == 1 => {
                            path = full.iter().next().cloned().unwrap_or_default();
                        }
                        _ => {
                            proposal.skipped.push(format!(
                                "{} {}: the kernel could not name the full path; add a rule by hand",
                                e.access, e.object
                            ));
                            continue;
                        }
                    }
                }
                if path == machine.executable
                    && access.iter().all(|a| {
                        FS_ACCESS
                            .bits(a)
                            .is_some_and(|bits| bits & !OWN_EXECUTABLE == 0)
                    })
                {
                    continue; // every profile may read and map its own executable
                }
                let pattern = generalise(&path, machine, &temp_dirs);
                files.entry(pattern).or_default().extend(access);
            }
            Ok(Kind::Net) => {
                net.entry(e.object.clone()).or_default().extend(access);
            }
            Ok(kind @ (Kind::Signal | Kind::Ptrace)) => {
                let Some(target) = task_target(&e.object, &machine.executable) else {
                    proposal
                        .skipped
                        .push(format!("{} {}: unknown target", e.kind, e.object));
                    continue;
                };
                let kind = RuleKind::from(kind);
                let set = tasks.entry((kind, target)).or_default();
                if kind == RuleKind::Signal {
                    set.extend(access);
                }
            }
            Ok(Kind::Capability) => {
                caps.insert(e.object.clone());
            }
            // `/proc` of other processes, and kinds no rule has
            Ok(Kind::Proc) | Err(_) => proposal.skipped.push(format!(
                "{} {} ({}): not learned; add a rule by hand if the program needs it",
                e.kind, e.object, e.access
            )),
        }
    }

    drop_covered(&mut files);
    // patterns with the same accesses share one rule
    let mut by_access: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    let fs_order = FS_ACCESS.valid_words();
    for (pattern, access) in files {
        by_access
            .entry(ordered(&access, &fs_order))
            .or_default()
            .push(pattern);
    }
    let mut fs_rules: Vec<(Vec<String>, Vec<String>)> = by_access
        .into_iter()
        .map(|(access, patterns)| (patterns, access))
        .collect();
    fs_rules.sort();
    for (patterns, access) in fs_rules {
        proposal.rules.push(
            NewRule::new(RuleKind::Fs)
                .with("file", patterns)
                .with("access", access),
        );
    }
    for (family, ops) in net {
        proposal.rules.push(
            NewRule::new(RuleKind::Net)
                .with("family", [family])
                .with("operation", ops),
        );
    }
    for ((kind, target), signals) in tasks {
        let mut rule = NewRule::new(kind);
        if kind == RuleKind::Signal {
            rule = rule.with("signal", signals);
        }
        proposal.rules.push(rule.with("target", [target]));
    }
    if !caps.is_empty() {
        proposal
            .rules
            .push(NewRule::new(RuleKind::Capability).with("capability", caps));
    }
    proposal
}

/// Whether the event is something enforce mode would have denied. A
/// complaint may come with other words (`complain,taint`).
pub fn is_complaint(e: &EventInfo) -> bool {
    e.action.split(',').any(|w| w == "complain")
}

/// The path as the kernel named it, without the mark of a deleted file
/// (temporary files are often unlinked while still open).
fn clean_path(object: &str) -> String {
    object
        .strip_suffix(" (deleted)")
        .unwrap_or(object)
        .to_owned()
}

/// Full paths by their last component.
fn by_file_name(paths: &[String]) -> BTreeMap<String, BTreeSet<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in paths {
        if let Some((_, name)) = path.rsplit_once('/') {
            map.entry(name.to_owned()).or_default().insert(path.clone());
        }
    }
    map
}

/// `dir` is `path` or one of its ancestors.
fn within(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// First-level directories under a temporary root that held a seen file:
/// a file directly in the root with such a name is that directory itself.
fn temp_dirs(paths: &[String]) -> BTreeSet<String> {
    let mut dirs = BTreeSet::new();
    for path in paths {
        for root in TEMP_ROOTS {
            if let Some(rest) = path.strip_prefix(&format!("{root}/")) {
                if let Some((first, _)) = rest.split_once('/') {
                    dirs.insert(format!("{root}/{first}"));
                }
            }
        }
    }
    dirs
}

fn generalise(path: &str, machine: &Machine, temp_dirs: &BTreeSet<String>) -> String {
    if let Some(dir) = GROUPED.iter().find(|d| within(path, d)) {
        return format!("{dir}/**");
    }
    let mut homes: Vec<&String> = machine.homes.iter().collect();
    homes.sort_by_key(|h| std::cmp::Reverse(h.len()));
    for home in homes {
        if path == home {
            return "~".into();
        }
        if let Some(rest) = path.strip_prefix(&format!("{home}/")) {
            if let Some(cache) = rest
                .strip_prefix(".cache/")
                .and_then(|r| r.split_once('/'))
                .map(|(dir, _)| dir)
            {
                return format!("~/.cache/{}/**", literal(cache));
            }
            return format!("~/{}", literal(rest));
        }
    }
    for root in TEMP_ROOTS {
        if path == *root {
            return literal(path);
        }
        if let Some(rest) = path.strip_prefix(&format!("{root}/")) {
            return match rest.split_once('/') {
                Some((first, _)) => format!("{root}/{}/**", literal(first)),
                None if temp_dirs.contains(path) => format!("{}/**", literal(path)),
                None => format!("{root}/**"),
            };
        }
    }
    literal(path)
}

/// `text` as a pattern matching only itself: the format has no escapes, so
/// wildcard characters go into one-character sets.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            c => out.push(c),
        }
    }
    out
}

/// Drops patterns that a `dir/**` pattern covers with all their accesses.
fn drop_covered(files: &mut BTreeMap<String, BTreeSet<String>>) {
    let globs: Vec<(String, BTreeSet<String>)> = files
        .iter()
        .filter_map(|(p, a)| p.strip_suffix("/**").map(|d| (d.to_owned(), a.clone())))
        .collect();
    files.retain(|pattern, access| {
        let base = pattern.strip_suffix("/**").unwrap_or(pattern);
        !globs.iter().any(|(dir, glob_access)| {
            format!("{dir}/**") != *pattern && within(base, dir) && access.is_subset(glob_access)
        })
    });
}

fn ordered(words: &BTreeSet<String>, order: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = words.iter().cloned().collect();
    v.sort_by_key(|w| order.iter().position(|o| o == w).unwrap_or(order.len()));
    v
}

/// The target of a signal or ptrace event, from the daemon's words
/// `process 123 (/usr/bin/x)` or `process 123 (an unconfined process)`.
fn task_target(object: &str, executable: &str) -> Option<String> {
    let who = object.rsplit_once('(')?.1.strip_suffix(')')?;
    Some(if who == "an unconfined process" {
        "unconfined".into()
    } else if who == executable {
        "self".into()
    } else if who.starts_with('/') {
        who.to_owned()
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, object: &str, access: &str) -> EventInfo {
        EventInfo {
            id: 1,
            time_usec: 0,
            executable: "/usr/bin/cat".into(),
            app_id: String::new(),
            display_name: String::new(),
            pid: 10,
            tgid: 10,
            uid: 1000,
            comm: "cat".into(),
            kind: kind.into(),
            object: object.into(),
            access: access.into(),
            action: "complain".into(),
            count: 1,
            reason: String::new(),
        }
    }

    fn machine() -> Machine {
        Machine {
            executable: "/usr/bin/cat".into(),
            homes: vec!["/root".into(), "/home/alice".into()],
        }
    }

    fn files(p: &Proposal) -> Vec<(Vec<String>, Vec<String>)> {
        p.rules
            .iter()
            .filter(|r| r.kind == RuleKind::Fs)
            .map(|r| (r.keys[0].1.clone(), r.keys[1].1.clone()))
            .collect()
    }

    type Keys = Vec<(String, Vec<String>)>;

    fn v(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn libraries_and_locale_data_become_directory_globs() {
        let p = propose(
            &[
                event("fs", "/usr/lib/x86_64-linux-gnu/libc.so.6", "read,exec"),
                event("fs", "/usr/lib/x86_64-linux-gnu/libc.so.6", "getattr"),
                event("fs", "/usr/lib/locale/locale-archive", "read"),
                event(
                    "fs",
                    "/usr/share/locale/de/LC_MESSAGES/coreutils.mo",
                    "read",
                ),
            ],
            &machine(),
        );
        assert_eq!(
            files(&p),
            vec![
                (v(&["/usr/lib/**"]), v(&["read", "exec", "getattr"])),
                (v(&["/usr/share/locale/**"]), v(&["read"])),
            ]
        );
    }

    #[test]
    fn paths_in_a_home_become_tilde_paths_and_caches_their_directory() {
        let p = propose(
            &[
                event("fs", "/home/alice/Notes/todo.txt", "read"),
                event("fs", "/root/.cache/app/x/y.bin", "read"),
            ],
            &machine(),
        );
        assert_eq!(
            files(&p),
            vec![(v(&["~/.cache/app/**", "~/Notes/todo.txt"]), v(&["read"]))]
        );
    }

    #[test]
    fn temporary_files_become_their_directory_and_the_root_only_when_needed() {
        let p = propose(
            &[
                event("fs", "/tmp/build-1234/obj/a.o", "read,write"),
                event("fs", "/tmp/build-1234", "getattr"),
                event("fs", "/tmp/tmpXYZ (deleted)", "write"),
            ],
            &machine(),
        );
        assert_eq!(
            files(&p),
            vec![
                (v(&["/tmp/**"]), v(&["write"])),
                (v(&["/tmp/build-1234/**"]), v(&["read", "write", "getattr"])),
            ]
        );
    }

    #[test]
    fn a_temporary_root_without_files_directly_in_it_is_not_opened_up() {
        let p = propose(&[event("fs", "/tmp/job/out.txt", "write")], &machine());
        assert_eq!(files(&p), vec![(v(&["/tmp/job/**"]), v(&["write"]))]);
    }

    #[test]
    fn other_paths_stay_exact_and_wildcards_in_them_stay_literal() {
        let p = propose(
            &[
                event("fs", "/etc/ld.so.cache", "read"),
                event("fs", "/srv/data/we*rd[1].txt", "read"),
            ],
            &machine(),
        );
        assert_eq!(
            files(&p),
            vec![(
                v(&["/etc/ld.so.cache", "/srv/data/we[*]rd[[]1].txt"]),
                v(&["read"])
            )]
        );
    }

    #[test]
    fn a_path_a_glob_covers_with_its_accesses_is_dropped_but_not_one_needing_more() {
        let p = propose(
            &[
                event("fs", "/tmp", "getattr"),
                event("fs", "/tmp/a", "read,getattr"),
                event("fs", "/dev/pts", "write"),
                event("fs", "/dev/pts/3", "read"),
            ],
            &machine(),
        );
        assert_eq!(
            files(&p),
            vec![
                (v(&["/dev/pts/**"]), v(&["read", "write"])),
                (v(&["/tmp/**"]), v(&["read", "getattr"])),
            ],
            "/dev/pts itself is inside /dev/pts/**, so they merge"
        );
    }

    #[test]
    fn only_complaints_are_learned_and_the_own_executable_needs_no_rule() {
        let mut denied = event("fs", "/etc/shadow", "read");
        denied.action = "deny".into();
        let p = propose(
            &[denied, event("fs", "/usr/bin/cat", "read,exec")],
            &machine(),
        );
        assert!(p.rules.is_empty(), "{p:?}");
    }

    #[test]
    fn sockets_signals_and_capabilities_become_rules_of_their_kinds() {
        let p = propose(
            &[
                event("net", "unix", "create,connect"),
                event("net", "unix", "send"),
                event("signal", "process 7 (an unconfined process)", "check"),
                event("signal", "process 8 (/usr/bin/cat)", "misc"),
                event("capability", "dac_override", ""),
            ],
            &machine(),
        );
        let words: Vec<(RuleKind, Keys)> =
            p.rules.iter().map(|r| (r.kind, r.keys.clone())).collect();
        assert_eq!(
            words,
            vec![
                (
                    RuleKind::Net,
                    vec![
                        ("family".into(), v(&["unix"])),
                        ("operation".into(), v(&["connect", "create", "send"]))
                    ]
                ),
                (
                    RuleKind::Signal,
                    vec![
                        ("signal".into(), v(&["misc"])),
                        ("target".into(), v(&["self"]))
                    ]
                ),
                (
                    RuleKind::Signal,
                    vec![
                        ("signal".into(), v(&["check"])),
                        ("target".into(), v(&["unconfined"]))
                    ]
                ),
                (
                    RuleKind::Capability,
                    vec![("capability".into(), v(&["dac_override"]))]
                ),
            ]
        );
    }

    #[test]
    fn a_name_only_path_is_the_one_full_path_of_the_run_with_that_name() {
        let p = propose(
            &[
                event("fs", "/usr/lib/x86_64-linux-gnu/libc.so.6", "read"),
                event("fs", "…/libc.so.6", "exec"),
                event("fs", "/root/notes.txt", "read"),
                event("fs", "…/notes.txt", "getattr"),
            ],
            &machine(),
        );
        assert_eq!(
            files(&p),
            vec![
                (v(&["/usr/lib/**"]), v(&["read", "exec"])),
                (v(&["~/notes.txt"]), v(&["read", "getattr"])),
            ]
        );
        assert!(p.skipped.is_empty());
    }

    #[test]
    fn a_name_only_path_without_one_matching_full_path_is_reported_not_guessed() {
        let p = propose(
            &[
                event("fs", "…/x.txt", "read"),
                event("fs", "/a/y.txt", "read"),
                event("fs", "/b/y.txt", "read"),
                event("fs", "…/y.txt", "getattr"),
            ],
            &machine(),
        );
        assert_eq!(p.skipped.len(), 2, "{p:?}");
        assert_eq!(
            files(&p),
            vec![(v(&["/a/y.txt", "/b/y.txt"]), v(&["read"]))]
        );
    }
}
