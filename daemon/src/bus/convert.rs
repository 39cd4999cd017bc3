//! The daemon's own types in the wire types of `bpfbox-dbus`, and a denial
//! turned into the rule that would have allowed it.

use bpfbox_abi as abi;
use bpfbox_dbus::{profile_path, EventInfo, Problem, ProfileSummary, RuleInfo};
use bpfbox_policy::{describe_rule, print_rule, Expiry, NewRule, RuleKind, Severity};

use crate::{
    events::record::{self, EventRecord, FilePath, Kind, Object},
    policy::source::{PolicyView, ProfileView},
};

pub fn event_info(record: &EventRecord, view: &PolicyView) -> EventInfo {
    let profile = view.profiles.get(&record.profile_id);
    EventInfo {
        id: record.id,
        time_usec: i64::try_from(record.time_us).unwrap_or(i64::MAX),
        executable: record
            .profile_exe
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        app_id: profile
            .and_then(|p| p.profile.desktop_id.clone())
            .unwrap_or_default(),
        display_name: record.profile_name.clone().unwrap_or_default(),
        pid: record.pid,
        tgid: record.tgid,
        uid: record.uid,
        comm: record.comm.clone(),
        kind: record.kind.as_str().to_owned(),
        object: object_words(record, view),
        access: access_words(record).join(","),
        action: record.action().to_lowercase().replace('|', ","),
        count: record.count,
        reason: reason(record),
    }
}

/// The object as a person reads it.
pub fn object_words(record: &EventRecord, view: &PolicyView) -> String {
    match &record.object {
        Object::File { path, ino, dev, .. } => match path {
            FilePath::Full(path) => path.clone(),
            FilePath::NameOnly(name) => format!("…/{name}"),
            FilePath::None => format!("inode {ino} on {}:{}", dev >> 20, dev & 0xf_ffff),
        },
        Object::Family(family) => record::family_name(*family),
        Object::Task { tgid, profile, .. } => {
            let who = profile.and_then(|id| view.profiles.get(&id)).map_or_else(
                || "an unconfined process".to_owned(),
                |p| p.profile.profile.display().to_string(),
            );
            format!("process {tgid} ({who})")
        }
        Object::Capability(cap) => record::capability_name(*cap),
        Object::None if record.kind == Kind::IoUring => "io_uring".into(),
        Object::None if record.kind == Kind::Mount => "mounts".into(),
        Object::None => String::new(),
    }
}

fn access_words(record: &EventRecord) -> Vec<String> {
    record
        .access
        .split(['|', ','])
        .filter(|w| !w.is_empty() && *w != "none")
        .map(str::to_owned)
        .collect()
}

/// Why the kernel decided so, in the words of bpfbox's procedure.
fn reason(record: &EventRecord) -> String {
    if record.kind == Kind::SelfProtect {
        return "bpfboxd's own process and files are out of reach of every confined process".into();
    }
    if record.kind == Kind::Mount {
        return "the profile does not allow mounts (`mount = true`)".into();
    }
    if record.kind == Kind::IoUring {
        return if record.access.contains("personality") {
            "no confined process may run io_uring requests under other credentials (a registered personality)".into()
        } else {
            "the profile does not allow io_uring (`io_uring = true`)".into()
        };
    }
    if record.decision & (abi::DECISION_DENY | abi::DECISION_COMPLAIN) != 0 {
        "no enabled rule of the profile allows this access, and the process is enforced \
         (tainted): denied by default"
            .into()
    } else if record.decision & abi::DECISION_TAINT != 0 {
        "a taint rule matched: the process is enforced from now on".into()
    } else {
        "an audit rule matched".into()
    }
}

pub fn summary(id: u64, p: &ProfileView, denials: u64, running: u32) -> ProfileSummary {
    ProfileSummary {
        object: profile_path(id),
        executable: p.profile.profile.display().to_string(),
        display_name: p.profile.name.clone().unwrap_or_default(),
        app_id: p.profile.desktop_id.clone().unwrap_or_default(),
        mode: p.profile.mode.word().to_owned(),
        installed: p.executable.is_some(),
        running_processes: running,
        rule_count: u32::try_from(p.profile.rule_count()).unwrap_or(u32::MAX),
        denial_count: denials,
        last_error: p.last_error.clone().unwrap_or_default(),
    }
}

pub fn rules(p: &ProfileView) -> Vec<RuleInfo> {
    p.profile
        .rules()
        .into_iter()
        .map(|r| RuleInfo {
            summary: describe_rule(&p.profile, r.kind, r.index).unwrap_or_default(),
            toml: print_rule(&p.profile, r.kind, r.index).unwrap_or_default(),
            kind: r.kind.word().to_owned(),
            enabled: r.enabled,
            expires: expires_words(r.expires),
            actions: r.action.words().iter().map(|w| (*w).to_owned()).collect(),
            id: r.id,
        })
        .collect()
}

fn expires_words(expires: &Expiry) -> String {
    match expires {
        Expiry::Never => String::new(),
        Expiry::Once => "once".into(),
        Expiry::UntilRestart(_) => "restart".into(),
        other => other.to_toml_string().unwrap_or_default(),
    }
}

pub fn problems(view: &PolicyView) -> Vec<Problem> {
    view.problems
        .iter()
        .map(|d| Problem {
            file: d.path.display().to_string(),
            line: d
                .location
                .map_or(0, |l| u32::try_from(l.line).unwrap_or(u32::MAX)),
            column: d
                .location
                .map_or(0, |l| u32::try_from(l.column).unwrap_or(u32::MAX)),
            severity: match d.severity {
                Severity::Error => "error".into(),
                Severity::Warning => "warning".into(),
            },
            message: d.problem.to_string(),
        })
        .collect()
}

/// The rule that allows what `record` was denied, or why there is none.
pub fn rule_for(record: &EventRecord, view: &PolicyView) -> Result<NewRule, String> {
    let access = access_words(record);
    match (&record.kind, &record.object) {
        (Kind::Fs, Object::File { path, .. }) => match path {
            FilePath::Full(path) => Ok(NewRule::new(RuleKind::Fs)
                .with("file", vec![path.clone()])
                .with("access", access)),
            _ => Err(
                "the kernel could not name this file's full path (it lies outside the \
                      process's root or under a path too long): add a rule for it by hand"
                    .into(),
            ),
        },
        (Kind::Net, Object::Family(family)) => Ok(NewRule::new(RuleKind::Net)
            .with("family", vec![record::family_name(*family)])
            .with("operation", access)),
        (Kind::Capability, Object::Capability(cap)) => Ok(NewRule::new(RuleKind::Capability)
            .with("capability", vec![record::capability_name(*cap)])),
        (Kind::Signal, Object::Task { profile, .. }) => Ok(NewRule::new(RuleKind::Signal)
            .with("signal", access)
            .with("target", vec![target(*profile, record, view)])),
        (Kind::Ptrace, Object::Task { profile, .. }) => {
            Ok(NewRule::new(RuleKind::Ptrace).with("target", vec![target(*profile, record, view)]))
        }
        _ => Err(format!(
            "a {} event cannot be turned into a rule automatically: add one with AddRule",
            record.kind.as_str()
        )),
    }
}

fn target(profile: Option<u64>, record: &EventRecord, view: &PolicyView) -> String {
    match profile {
        Some(id) if id == record.profile_id => "self".into(),
        Some(id) => view.profiles.get(&id).map_or_else(
            || "unconfined".into(),
            |p| p.profile.profile.display().to_string(),
        ),
        None => "unconfined".into(),
    }
}
