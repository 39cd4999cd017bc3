//! One rule in plain words and as its own TOML table: what the D-Bus API
//! shows for a rule ("Read files in ~/Documents").

use crate::{
    access::Actions,
    model::{CapName, Profile, RuleKind, Target},
    print::print,
};

/// The rule of `kind` at `index` as a TOML table (`[[fs]]` and its keys),
/// canonical as [`print`] writes it. `None` if there is no such rule.
#[must_use]
pub fn print_rule(profile: &Profile, kind: RuleKind, index: usize) -> Option<String> {
    let mut one = Profile::new(profile.profile.clone());
    match kind {
        RuleKind::Fs => one.fs.push(profile.fs.get(index)?.clone()),
        RuleKind::Net => one.net.push(profile.net.get(index)?.clone()),
        RuleKind::Signal => one.signal.push(profile.signal.get(index)?.clone()),
        RuleKind::Proc => one.proc.push(profile.proc.get(index)?.clone()),
        RuleKind::Ptrace => one.ptrace.push(profile.ptrace.get(index)?.clone()),
        RuleKind::Capability => one.capability.push(profile.capability.get(index)?.clone()),
    }
    let text = print(&one);
    text.find("[[").map(|at| text[at..].trim_end().to_owned())
}

/// The rule of `kind` at `index` in plain English words, e.g. "Read, run
/// files in /usr", "Connect over inet sockets", "Send sigkill to itself".
#[must_use]
pub fn describe_rule(profile: &Profile, kind: RuleKind, index: usize) -> Option<String> {
    let (what, action, func, uid) = match kind {
        RuleKind::Fs => {
            let r = profile.fs.get(index)?;
            let files: Vec<String> = r.object.files.iter().map(|f| place(f.as_str())).collect();
            let verbs = verbs(&r.object.access.words(), FS_VERBS);
            (
                format!("{verbs} {}", files.join(", ")),
                r.action,
                &r.func,
                r.uid,
            )
        }
        RuleKind::Net => {
            let r = profile.net.get(index)?;
            let families: Vec<String> = r.object.families.iter().map(|f| f.word()).collect();
            let verbs = verbs(&r.object.operations.words(), NET_VERBS);
            (
                format!("{verbs} over {} sockets", families.join(", ")),
                r.action,
                &r.func,
                r.uid,
            )
        }
        RuleKind::Signal => {
            let r = profile.signal.get(index)?;
            (
                format!(
                    "Send {} to {}",
                    r.object.signals.words().join(", "),
                    targets(&r.object.targets)
                ),
                r.action,
                &r.func,
                r.uid,
            )
        }
        RuleKind::Proc => {
            let r = profile.proc.get(index)?;
            let verbs = verbs(&r.object.access.words(), FS_VERBS);
            (
                format!("{verbs} the /proc files of {}", targets(&r.object.targets)),
                r.action,
                &r.func,
                r.uid,
            )
        }
        RuleKind::Ptrace => {
            let r = profile.ptrace.get(index)?;
            (
                format!("Trace {}", targets(&r.object.targets)),
                r.action,
                &r.func,
                r.uid,
            )
        }
        RuleKind::Capability => {
            let r = profile.capability.get(index)?;
            let caps: Vec<&str> = r
                .object
                .capabilities
                .iter()
                .map(|c| match c {
                    CapName::Any => "any capability",
                    CapName::One(_) => c.word(),
                })
                .collect();
            (format!("Use {}", caps.join(", ")), r.action, &r.func, r.uid)
        }
    };
    let mut out = what;
    if !func.is_empty() {
        out += &format!(" while in {}()", func.join("(), "));
    }
    if action.contains(Actions::TAINT) && !action.contains(Actions::ALLOW) {
        out = format!("Enforce the profile once it may: {}", lower_first(&out));
    }
    if action.contains(Actions::AUDIT) {
        out += " (logged)";
    }
    if let Some(uid) = uid {
        out += &format!(" (only the processes of user {uid})");
    }
    Some(out)
}

const FS_VERBS: &[(&str, &str)] = &[
    ("read", "Read"),
    ("write", "Write"),
    ("append", "Append to"),
    ("exec", "Run"),
    ("getattr", "See details of"),
    ("setattr", "Change details of"),
    ("ioctl", "Control (ioctl)"),
    ("rm", "Delete"),
    ("link", "Hard-link"),
    ("any", "Do anything with"),
];

const NET_VERBS: &[(&str, &str)] = &[
    ("connect", "Connect"),
    ("bind", "Bind"),
    ("accept", "Accept"),
    ("listen", "Listen"),
    ("send", "Send"),
    ("receive", "Receive"),
    ("create", "Create"),
    ("shutdown", "Shut down"),
    ("any", "Do anything"),
];

/// "Read, run": the first verb capitalised, the others lower case.
fn verbs(words: &[&str], table: &[(&str, &str)]) -> String {
    let phrases: Vec<String> = words
        .iter()
        .map(|w| {
            table
                .iter()
                .find(|(word, _)| word == w)
                .map_or_else(|| (*w).to_owned(), |(_, phrase)| (*phrase).to_owned())
        })
        .enumerate()
        .map(|(i, p)| if i == 0 { p } else { lower_first(&p) })
        .collect();
    phrases.join(", ")
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_lowercase().collect::<String>() + chars.as_str()
    })
}

/// `dir/**` → "files in dir"; `dir/*` → "files directly in dir"; a plain
/// path stays as it is.
fn place(pattern: &str) -> String {
    if let Some(dir) = pattern.strip_suffix("/**") {
        format!("files in {}", if dir.is_empty() { "/" } else { dir })
    } else if let Some(dir) = pattern.strip_suffix("/*") {
        format!(
            "files directly in {}",
            if dir.is_empty() { "/" } else { dir }
        )
    } else {
        pattern.to_owned()
    }
}

fn targets(targets: &[Target]) -> String {
    let words: Vec<String> = targets
        .iter()
        .map(|t| match t {
            Target::SameProfile => "itself".to_owned(),
            Target::Unconfined => "unconfined processes".to_owned(),
            Target::Any => "any process".to_owned(),
            Target::Profile(path) => format!("{}", path.display()),
        })
        .collect();
    words.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(text: &str) -> Profile {
        crate::parse_str(text, std::path::Path::new("t.toml")).unwrap()
    }

    #[test]
    fn file_rules_read_as_verbs_and_places() {
        let p = profile(
            "profile = '/bin/app'\n[[fs]]\nfile = ['/usr/**', '~/Documents/**']\naccess = ['read', 'exec']\n\
             [[fs]]\nfile = '/etc/shadow'\naccess = 'read'\naction = ['allow', 'audit']\nfunc = 'check_login'\n",
        );
        assert_eq!(
            describe_rule(&p, RuleKind::Fs, 0).unwrap(),
            "Read, run files in /usr, files in ~/Documents"
        );
        assert_eq!(
            describe_rule(&p, RuleKind::Fs, 1).unwrap(),
            "Read /etc/shadow while in check_login() (logged)"
        );
        assert_eq!(describe_rule(&p, RuleKind::Fs, 2), None);
    }

    #[test]
    fn other_kinds_read_as_sentences() {
        let p = profile(
            "profile = '/bin/app'\n[[net]]\nfamily = 'inet'\noperation = ['connect', 'send']\n\
             [[signal]]\nsignal = 'sigkill'\ntarget = 'self'\n[[ptrace]]\ntarget = 'unconfined'\n\
             [[capability]]\ncapability = 'net_bind_service'\naction = 'taint'\n",
        );
        assert_eq!(
            describe_rule(&p, RuleKind::Net, 0).unwrap(),
            "Connect, send over inet sockets"
        );
        assert_eq!(
            describe_rule(&p, RuleKind::Signal, 0).unwrap(),
            "Send sigkill to itself"
        );
        assert_eq!(
            describe_rule(&p, RuleKind::Ptrace, 0).unwrap(),
            "Trace unconfined processes"
        );
        assert_eq!(
            describe_rule(&p, RuleKind::Capability, 0).unwrap(),
            "Enforce the profile once it may: use net_bind_service"
        );
    }

    #[test]
    fn a_printed_rule_is_its_own_table_and_parses_back() {
        let p = profile(
            "profile = '/bin/app'\n[[fs]]\nid = 'docs'\nfile = '~/Documents/**'\naccess = 'read'\nenabled = false\n",
        );
        let table = print_rule(&p, RuleKind::Fs, 0).unwrap();
        assert!(table.starts_with("[[fs]]\nid = \"docs\"\n"), "{table}");
        let back = profile(&format!("profile = '/bin/app'\n{table}\n"));
        assert_eq!(back.fs, p.fs);
    }
}
