//! What a notification says: one sentence a person can act on, built from
//! the event's kind, access and object.
//!
//! Every sentence is one translatable string with named placeholders, so a
//! translator can move the app and the object where their language wants
//! them (gettext cannot reorder `format!` arguments).

use bpfbox_dbus::EventInfo;

use crate::i18n::tr;

/// The name a person knows the app by: the profile's display name, else the
/// executable's file name.
#[must_use]
pub fn app_name(event: &EventInfo) -> String {
    if !event.display_name.trim().is_empty() {
        return event.display_name.clone();
    }
    std::path::Path::new(&event.executable)
        .file_name()
        .map_or_else(
            || event.executable.clone(),
            |n| n.to_string_lossy().into_owned(),
        )
}

/// Replaces `{name}` placeholders; values are inserted once, so a file
/// name that contains `{object}` is not expanded again.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        match values.iter().find(|(key, _)| {
            after
                .strip_prefix('{')
                .and_then(|a| a.strip_prefix(key))
                .is_some_and(|a| a.starts_with('}'))
        }) {
            Some((key, value)) => {
                out.push_str(value);
                rest = &after[key.len() + 2..];
            }
            None => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn has(access: &str, word: &str) -> bool {
    access.split([',', '|']).any(|w| w.trim() == word)
}

/// The sentence template for the event's kind and access; `{app}` and
/// `{object}` are filled in by [`summary`]. Of several accesses the one
/// that changes most is named: "writing to" says more about the risk than
/// "reading" when a file was opened for both.
fn template(kind: &str, access: &str) -> String {
    let a = |w| has(access, w);
    match kind {
        "fs" | "proc" => {
            if a("write") || a("append") {
                if a("read") {
                    tr("{app} was blocked from reading and writing {object}")
                } else {
                    tr("{app} was blocked from writing to {object}")
                }
            } else if a("rm") {
                tr("{app} was blocked from deleting {object}")
            } else if a("exec") {
                tr("{app} was blocked from running {object}")
            } else if a("setattr") {
                tr("{app} was blocked from changing the attributes of {object}")
            } else if a("link") {
                tr("{app} was blocked from linking {object}")
            } else if a("read") {
                tr("{app} was blocked from reading {object}")
            } else if a("ioctl") {
                tr("{app} was blocked from controlling {object}")
            } else if a("getattr") {
                tr("{app} was blocked from looking at {object}")
            } else {
                tr("{app} was blocked from using {object}")
            }
        }
        "net" => {
            if a("connect") || a("send") {
                tr("{app} was blocked from connecting to the network ({object})")
            } else if a("bind") || a("listen") || a("accept") || a("receive") {
                tr("{app} was blocked from accepting network connections ({object})")
            } else {
                tr("{app} was blocked from opening a network connection ({object})")
            }
        }
        "signal" => {
            if a("sigkill") {
                tr("{app} was blocked from killing {object}")
            } else if a("sigstop") {
                tr("{app} was blocked from stopping {object}")
            } else {
                tr("{app} was blocked from sending a signal to {object}")
            }
        }
        "ptrace" => tr("{app} was blocked from inspecting {object}"),
        "capability" => tr("{app} was blocked from using the privilege {object}"),
        _ => tr("{app} was blocked from using {object}"),
    }
}

/// The notification's title: "Probe was blocked from reading /home/u/x",
/// with the number of times when there were more than one.
#[must_use]
pub fn summary(event: &EventInfo, count: u32) -> String {
    let app = app_name(event);
    let object = if event.object.is_empty() {
        tr("something")
    } else {
        event.object.clone()
    };
    let sentence = fill(
        &template(&event.kind, &event.access),
        &[("app", &app), ("object", &object)],
    );
    if count > 1 {
        fill(
            &tr("{sentence} ({count} times)"),
            &[("sentence", &sentence), ("count", &count.to_string())],
        )
    } else {
        sentence
    }
}

/// The notification's body: why it already happened and what the answers do.
#[must_use]
pub fn body(event: &EventInfo) -> String {
    fill(
        &tr(
            "{app} was denied already: BPF-LSM cannot hold the request while you decide. \
             If you allow it, try again in {app}.",
        ),
        &[("app", &app_name(event))],
    )
}

/// The title of the note that stands for the notifications the per-app
/// limit held back: "12 more blocked actions from Probe".
#[must_use]
pub fn more_summary(app: &str, count: u32) -> String {
    fill(
        &tr("{count} more blocked actions from {app}"),
        &[("count", &count.to_string()), ("app", app)],
    )
}

/// The body of that note.
#[must_use]
pub fn more_body() -> String {
    tr("They were denied. Open bpfbox to review them and change the app's rules.")
}

/// The answer a notification action stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `GrantTemporary(event, "once")`.
    AllowOnce,
    /// `GrantTemporary(event, "timed", seconds = 600)`.
    AllowTenMinutes,
    /// `GrantTemporary(event, "restart")`.
    AllowUntilRestart,
    /// `AllowEvent(event)`: a permanent rule.
    AlwaysAllow,
    /// No rule; the agent stops notifying about this app and object.
    KeepBlocking,
    /// The notification itself was clicked: open the app on the profile.
    Open,
}

impl Answer {
    /// The answers offered as buttons, in the order shown.
    pub const BUTTONS: [Self; 5] = [
        Self::AllowOnce,
        Self::AllowTenMinutes,
        Self::AllowUntilRestart,
        Self::AlwaysAllow,
        Self::KeepBlocking,
    ];

    /// The action key sent to the notification server and back.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::AllowOnce => "allow-once",
            Self::AllowTenMinutes => "allow-10min",
            Self::AllowUntilRestart => "allow-restart",
            Self::AlwaysAllow => "allow-always",
            Self::KeepBlocking => "keep-blocking",
            // the spec's name for the click on the notification body
            Self::Open => "default",
        }
    }

    /// The answer of an action key; `None` for keys the agent never sent.
    #[must_use]
    pub fn from_key(key: &str) -> Option<Self> {
        [Self::Open]
            .into_iter()
            .chain(Self::BUTTONS)
            .find(|a| a.key() == key)
    }

    /// The button's label.
    #[must_use]
    pub fn label(self) -> String {
        match self {
            Self::AllowOnce => tr("Allow once"),
            Self::AllowTenMinutes => tr("Allow for 10 minutes"),
            Self::AllowUntilRestart => tr("Allow until restart"),
            Self::AlwaysAllow => tr("Always allow"),
            Self::KeepBlocking => tr("Keep blocking"),
            Self::Open => tr("Open bpfbox"),
        }
    }
}

/// The `actions` argument of `Notify`: key, label, key, label…, the default
/// action first.
#[must_use]
pub fn actions() -> Vec<String> {
    [Answer::Open]
        .into_iter()
        .chain(Answer::BUTTONS)
        .flat_map(|a| [a.key().to_owned(), a.label()])
        .collect()
}

/// The icon: the profile's `Icon`, else its desktop file id without
/// `.desktop` (icon themes name app icons by app id), else a generic one.
#[must_use]
pub fn icon(profile_icon: &str, app_id: &str) -> String {
    if !profile_icon.is_empty() {
        return profile_icon.to_owned();
    }
    let id = app_id.strip_suffix(".desktop").unwrap_or(app_id);
    if id.is_empty() {
        "dialog-warning".to_owned()
    } else {
        id.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, access: &str, object: &str) -> EventInfo {
        EventInfo {
            id: 7,
            time_usec: 0,
            executable: "/opt/probe/bin/probe".into(),
            app_id: "org.example.Probe.desktop".into(),
            display_name: "Probe".into(),
            pid: 1,
            tgid: 1,
            uid: 1000,
            comm: "probe".into(),
            kind: kind.into(),
            object: object.into(),
            access: access.into(),
            action: "deny".into(),
            count: 1,
            reason: String::new(),
        }
    }

    #[test]
    fn a_read_denial_reads_as_one_plain_sentence() {
        let e = event("fs", "read", "/home/u/.ssh/id_ed25519");
        assert_eq!(
            summary(&e, 1),
            "Probe was blocked from reading /home/u/.ssh/id_ed25519"
        );
    }

    #[test]
    fn without_a_display_name_the_executable_name_is_used() {
        let mut e = event("fs", "read", "/etc/shadow");
        e.display_name = String::new();
        assert_eq!(summary(&e, 1), "probe was blocked from reading /etc/shadow");
    }

    #[test]
    fn the_verb_names_the_access_that_changes_most() {
        let cases = [
            (
                "fs",
                "read,write",
                "Probe was blocked from reading and writing /f",
            ),
            ("fs", "append", "Probe was blocked from writing to /f"),
            ("fs", "exec,read", "Probe was blocked from running /f"),
            ("fs", "rm", "Probe was blocked from deleting /f"),
            ("fs", "getattr", "Probe was blocked from looking at /f"),
            (
                "net",
                "connect",
                "Probe was blocked from connecting to the network (/f)",
            ),
            (
                "net",
                "listen",
                "Probe was blocked from accepting network connections (/f)",
            ),
            ("signal", "sigkill", "Probe was blocked from killing /f"),
            ("ptrace", "ptrace", "Probe was blocked from inspecting /f"),
            ("future-kind", "x", "Probe was blocked from using /f"),
        ];
        for (kind, access, want) in cases {
            assert_eq!(
                summary(&event(kind, access, "/f"), 1),
                want,
                "{kind} {access}"
            );
        }
    }

    #[test]
    fn repeats_show_their_count() {
        let e = event("fs", "read", "/f");
        assert_eq!(
            summary(&e, 3),
            "Probe was blocked from reading /f (3 times)"
        );
    }

    #[test]
    fn placeholders_inside_values_are_not_expanded() {
        let mut e = event("fs", "read", "/tmp/{app}");
        e.display_name = "{object}".into();
        assert_eq!(
            summary(&e, 1),
            "{object} was blocked from reading /tmp/{app}"
        );
    }

    #[test]
    fn the_body_says_the_app_must_retry() {
        let b = body(&event("fs", "read", "/f"));
        assert!(b.contains("cannot hold the request"), "{b}");
        assert!(b.contains("try again in Probe"), "{b}");
    }

    #[test]
    fn actions_pair_each_key_with_its_label_and_every_key_maps_back() {
        let a = actions();
        assert_eq!(
            a,
            [
                "default",
                "Open bpfbox",
                "allow-once",
                "Allow once",
                "allow-10min",
                "Allow for 10 minutes",
                "allow-restart",
                "Allow until restart",
                "allow-always",
                "Always allow",
                "keep-blocking",
                "Keep blocking",
            ]
        );
        for key in a.iter().step_by(2) {
            assert_eq!(Answer::from_key(key).unwrap().key(), key);
        }
        assert_eq!(Answer::from_key("allow-forever"), None);
    }

    #[test]
    fn the_icon_falls_back_from_profile_icon_to_app_id() {
        assert_eq!(
            icon("/usr/share/x.svg", "org.a.B.desktop"),
            "/usr/share/x.svg"
        );
        assert_eq!(icon("", "org.a.B.desktop"), "org.a.B");
        assert_eq!(icon("", ""), "dialog-warning");
    }

    #[test]
    fn the_summary_of_held_back_notifications_counts_them() {
        assert_eq!(
            more_summary("Probe", 12),
            "12 more blocked actions from Probe"
        );
    }
}
