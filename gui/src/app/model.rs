//! What the app shows, computed from what the daemon says: no widgets here,
//! so the wording, grouping and filtering are tested on the host without a
//! display.

use bpfbox_dbus::{EventInfo, RuleInfo};
use bpfbox_gui::i18n::tr;

/// One confined application as the list and the page show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileItem {
    /// The profile's object path.
    pub path: String,
    pub executable: String,
    pub display_name: String,
    pub app_id: String,
    pub icon: String,
    pub mode: String,
    /// A file is at the executable's path.
    pub installed: bool,
    pub running_processes: u32,
    pub rule_count: u32,
    pub denial_count: u64,
    pub packaged: bool,
    pub modified: bool,
    pub last_error: String,
}

impl ProfileItem {
    /// The name people know the app by.
    pub fn title(&self) -> String {
        title(&self.display_name, &self.executable)
    }

    /// How many of its processes run confined, or that there is nothing to
    /// run: a profile for an app not installed (yet) is no "0 running".
    pub fn processes(&self) -> String {
        if !self.installed {
            return tr("not installed");
        }
        gettextrs::ngettext("{n} running", "{n} running", self.running_processes)
            .replace("{n}", &self.running_processes.to_string())
    }

    /// The number alone, for a row titled "Running processes".
    pub fn process_count(&self) -> String {
        if self.installed {
            self.running_processes.to_string()
        } else {
            tr("not installed")
        }
    }
}

/// The display name, or the executable's file name when the profile has
/// none: a path is what people least recognise, so it is only the subtitle.
pub fn title(display_name: &str, executable: &str) -> String {
    if !display_name.trim().is_empty() {
        return display_name.to_owned();
    }
    executable
        .rsplit('/')
        .find(|part| !part.is_empty())
        .unwrap_or(executable)
        .to_owned()
}

/// Whether `item` matches what was typed in the search field: every word
/// must occur (case-insensitively) in the name, the executable or the
/// desktop file id, so "text edit" finds "Text Editor".
pub fn matches_search(item: &ProfileItem, query: &str) -> bool {
    let haystack = format!("{}\n{}\n{}", item.title(), item.executable, item.app_id).to_lowercase();
    query
        .split_whitespace()
        .all(|word| haystack.contains(&word.to_lowercase()))
}

/// Where an icon for a profile comes from, best first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IconSource {
    /// An image file named by the profile's `icon`.
    File(String),
    /// A theme icon named by the profile's `icon`.
    Name(String),
    /// The icon of the installed desktop file with this id.
    DesktopId(String),
    /// Nothing known: the generic executable icon.
    Generic,
}

/// The generic icon for an app without one of its own.
pub const GENERIC_ICON: &str = "application-x-executable";

/// Picks the icon source: the profile's own `icon` wins because its author
/// chose it; the desktop file's icon is what the desktop shows otherwise.
pub fn icon_source(icon: &str, app_id: &str) -> IconSource {
    if icon.starts_with('/') {
        IconSource::File(icon.to_owned())
    } else if !icon.is_empty() {
        IconSource::Name(icon.to_owned())
    } else if !app_id.is_empty() {
        let id = if app_id.ends_with(".desktop") {
            app_id.to_owned()
        } else {
            format!("{app_id}.desktop")
        };
        IconSource::DesktopId(id)
    } else {
        IconSource::Generic
    }
}

/// The groups of the detail page, in the order they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RuleGroup {
    Files,
    Network,
    SignalsAndTracing,
    Proc,
    Capabilities,
    /// A kind this app does not know yet (a newer daemon): still shown, so
    /// no rule is hidden from the person who manages it.
    Other,
}

impl RuleGroup {
    /// The group of a rule `kind` word.
    pub fn of(kind: &str) -> Self {
        match kind {
            "fs" => Self::Files,
            "net" => Self::Network,
            "signal" | "ptrace" => Self::SignalsAndTracing,
            "proc" => Self::Proc,
            "capability" => Self::Capabilities,
            _ => Self::Other,
        }
    }

    /// The group's heading.
    pub fn title(self) -> String {
        match self {
            Self::Files => tr("Files"),
            Self::Network => tr("Network"),
            Self::SignalsAndTracing => tr("Signals and tracing"),
            Self::Proc => tr("/proc"),
            Self::Capabilities => tr("Capabilities"),
            Self::Other => tr("Other rules"),
        }
    }
}

/// The rules by group, groups in page order and rules in file order
/// within each; empty groups are left out.
pub fn group_rules(rules: &[RuleInfo]) -> Vec<(RuleGroup, Vec<&RuleInfo>)> {
    let mut groups: Vec<(RuleGroup, Vec<&RuleInfo>)> = Vec::new();
    for rule in rules {
        let group = RuleGroup::of(&rule.kind);
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, members)) => members.push(rule),
            None => groups.push((group, vec![rule])),
        }
    }
    groups.sort_by_key(|(group, _)| *group);
    groups
}

/// The line under a rule's summary: what besides allowing it does and how
/// long it lasts. Empty for a plain permanent allow rule, the common case.
pub fn rule_subtitle(rule: &RuleInfo) -> String {
    let mut parts = Vec::new();
    if rule.actions.iter().any(|a| a == "audit") {
        parts.push(tr("reported when used"));
    }
    if rule.actions.iter().any(|a| a == "taint") {
        parts.push(tr("taints the process"));
    }
    match rule.expires.as_str() {
        "" => {}
        "once" => parts.push(tr("until its first use")),
        "restart" => parts.push(tr("until bpfboxd restarts")),
        time => parts.push(tr("until {time}").replace("{time}", time)),
    }
    parts.join(" · ")
}

/// A mode word in the words of the mode selector.
pub fn mode_label(mode: &str) -> String {
    match mode {
        "enforce" => tr("Enforce"),
        "complain" => tr("Complain"),
        "disabled" => tr("Disabled"),
        other => other.to_owned(),
    }
}

/// The modes in the order of the selector.
pub const MODES: [&str; 3] = ["enforce", "complain", "disabled"];

/// What a denial was about, as its row title: "read /home/a/secret".
pub fn event_title(event: &EventInfo) -> String {
    let access = event.access.replace(',', ", ");
    if access.is_empty() {
        event.object.clone()
    } else {
        format!("{access} {}", event.object)
    }
}

/// Which process and how often, as the row's subtitle; `when` is the
/// event's time already formatted for people.
pub fn event_subtitle(event: &EventInfo, when: &str) -> String {
    let mut line = tr("{when} · {comm} (pid {pid})")
        .replace("{when}", when)
        .replace("{comm}", &event.comm)
        .replace("{pid}", &event.tgid.to_string());
    if event.count > 1 {
        line.push_str(&tr(" · {count} times").replace("{count}", &event.count.to_string()));
    }
    if event.action != "deny" {
        line.push_str(" · ");
        line.push_str(&event.action);
    }
    line
}

/// An event's time in the local time zone, for people.
pub fn format_time(time_usec: i64) -> String {
    gtk::glib::DateTime::from_unix_local(time_usec / 1_000_000)
        .and_then(|t| t.format("%x %X"))
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// The events of the history page: those of `executable` (all when
/// `None`), newest first.
pub fn history_view<'a>(events: &'a [EventInfo], executable: Option<&str>) -> Vec<&'a EventInfo> {
    let mut shown: Vec<&EventInfo> = events
        .iter()
        .filter(|e| executable.is_none_or(|exe| e.executable == exe))
        .collect();
    shown.sort_by_key(|e| std::cmp::Reverse(e.id));
    shown
}

/// The apps the history can be filtered by, as (executable, title), sorted
/// by title: every app that has events, once.
pub fn history_apps(events: &[EventInfo]) -> Vec<(String, String)> {
    let mut apps: Vec<(String, String)> = Vec::new();
    for event in events {
        if !apps.iter().any(|(exe, _)| *exe == event.executable) {
            apps.push((
                event.executable.clone(),
                title(&event.display_name, &event.executable),
            ));
        }
    }
    apps.sort_by_key(|(_, title)| title.to_lowercase());
    apps
}

/// The rule kinds the add-rule dialog offers, in its order.
pub const RULE_KINDS: [bpfbox_policy::RuleKind; 6] = bpfbox_policy::RuleKind::ALL;

/// An example body per kind, so the dialog starts from something valid
/// that shows the keys the kind needs.
pub fn example_body(kind: bpfbox_policy::RuleKind) -> &'static str {
    use bpfbox_policy::RuleKind as K;
    match kind {
        K::Fs => "file = \"~/Documents/**\"\naccess = \"read\"",
        K::Net => "family = \"inet\"\noperation = \"connect\"",
        K::Signal => "signal = \"misc\"\ntarget = \"self\"",
        K::Proc => "target = \"self\"\naccess = \"read\"",
        K::Ptrace => "target = \"self\"",
        K::Capability => "capability = \"net_bind_service\"",
    }
}

/// Checks a rule the way the daemon's compiler will, while it is typed:
/// `Ok` with the rule in plain words, or `Err` with what is wrong. The
/// daemon has the last word (it also resolves paths and targets), so this
/// only spares people a round trip for what is certainly wrong.
pub fn check_rule(kind: bpfbox_policy::RuleKind, body: &str) -> Result<String, String> {
    // The body is parsed as the one rule of a throwaway profile, exactly as
    // AddRule inserts it.
    let text = format!(
        "profile = \"/bpfbox-manager/check\"\n[[{}]]\n{body}\n",
        kind.word()
    );
    let profile =
        bpfbox_policy::parse_str(&text, std::path::Path::new("rule")).map_err(|diagnostics| {
            diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.problem.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })?;
    let rules = profile.fs.len()
        + profile.net.len()
        + profile.signal.len()
        + profile.proc.len()
        + profile.ptrace.len()
        + profile.capability.len();
    if rules != 1 {
        return Err(tr("The keys must describe exactly one rule."));
    }
    bpfbox_policy::describe_rule(&profile, kind, 0)
        .ok_or_else(|| tr("The keys must describe exactly one rule."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, kind: &str) -> RuleInfo {
        RuleInfo {
            id: id.into(),
            kind: kind.into(),
            summary: format!("summary of {id}"),
            toml: String::new(),
            enabled: true,
            expires: String::new(),
            actions: vec!["allow".into()],
        }
    }

    fn item(display_name: &str, executable: &str, app_id: &str) -> ProfileItem {
        ProfileItem {
            path: "/org/bpfbox/Bpfbox1/profile/0000000000000001".into(),
            executable: executable.into(),
            display_name: display_name.into(),
            app_id: app_id.into(),
            icon: String::new(),
            mode: "enforce".into(),
            installed: true,
            running_processes: 0,
            rule_count: 0,
            denial_count: 0,
            packaged: false,
            modified: false,
            last_error: String::new(),
        }
    }

    fn event(id: u64, executable: &str, display_name: &str) -> EventInfo {
        EventInfo {
            id,
            time_usec: 0,
            executable: executable.into(),
            app_id: String::new(),
            display_name: display_name.into(),
            pid: 7,
            tgid: 7,
            uid: 1000,
            comm: "probe".into(),
            kind: "fs".into(),
            object: "/tmp/secret".into(),
            access: "read,write".into(),
            action: "deny".into(),
            count: 1,
            reason: String::new(),
        }
    }

    #[test]
    fn rules_are_grouped_in_page_order_keeping_file_order_within_a_group() {
        let rules = [
            rule("c", "capability"),
            rule("f1", "fs"),
            rule("sig", "signal"),
            rule("n", "net"),
            rule("f2", "fs"),
            rule("tr", "ptrace"),
            rule("p", "proc"),
        ];
        let groups = group_rules(&rules);
        let shape: Vec<(RuleGroup, Vec<&str>)> = groups
            .iter()
            .map(|(g, rs)| (*g, rs.iter().map(|r| r.id.as_str()).collect()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (RuleGroup::Files, vec!["f1", "f2"]),
                (RuleGroup::Network, vec!["n"]),
                (RuleGroup::SignalsAndTracing, vec!["sig", "tr"]),
                (RuleGroup::Proc, vec!["p"]),
                (RuleGroup::Capabilities, vec!["c"]),
            ]
        );
    }

    #[test]
    fn a_rule_of_an_unknown_kind_is_shown_last_not_dropped() {
        let rules = [rule("x", "usb"), rule("f", "fs")];
        let groups = group_rules(&rules);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[1].0, RuleGroup::Other);
        assert_eq!(groups[1].1[0].id, "x");
    }

    #[test]
    fn title_falls_back_to_the_executables_file_name() {
        assert_eq!(title("Text Editor", "/usr/bin/gedit"), "Text Editor");
        assert_eq!(title("", "/usr/bin/gedit"), "gedit");
        assert_eq!(title("  ", "/opt/app/bin/run"), "run");
    }

    #[test]
    fn search_needs_every_word_in_name_executable_or_app_id() {
        let gedit = item("Text Editor", "/usr/bin/gedit", "org.gnome.gedit.desktop");
        assert!(matches_search(&gedit, ""));
        assert!(matches_search(&gedit, "text EDIT"));
        assert!(matches_search(&gedit, "/usr/bin"));
        assert!(matches_search(&gedit, "org.gnome"));
        assert!(!matches_search(&gedit, "text firefox"));
        let unnamed = item("", "/usr/bin/probe", "");
        assert!(matches_search(&unnamed, "probe"));
        assert!(!matches_search(&unnamed, "editor"));
    }

    #[test]
    fn icon_comes_from_the_profile_then_the_desktop_file_then_generic() {
        assert_eq!(
            icon_source("/usr/share/pixmaps/a.png", "a.desktop"),
            IconSource::File("/usr/share/pixmaps/a.png".into())
        );
        assert_eq!(
            icon_source("accessories-text-editor", "org.gnome.gedit.desktop"),
            IconSource::Name("accessories-text-editor".into())
        );
        assert_eq!(
            icon_source("", "org.gnome.gedit"),
            IconSource::DesktopId("org.gnome.gedit.desktop".into())
        );
        assert_eq!(icon_source("", ""), IconSource::Generic);
    }

    #[test]
    fn rule_subtitle_says_how_long_and_what_else_the_rule_does() {
        assert_eq!(rule_subtitle(&rule("a", "fs")), "");
        let mut r = rule("a", "fs");
        r.actions.push("audit".into());
        r.expires = "once".into();
        assert_eq!(
            rule_subtitle(&r),
            "reported when used · until its first use"
        );
        r.actions = vec!["taint".into()];
        r.expires = "2026-11-29T10:00:00Z".into();
        assert_eq!(
            rule_subtitle(&r),
            "taints the process · until 2026-11-29T10:00:00Z"
        );
        r.actions = vec!["allow".into()];
        r.expires = "restart".into();
        assert_eq!(rule_subtitle(&r), "until bpfboxd restarts");
    }

    #[test]
    fn event_rows_say_what_was_denied_to_which_process() {
        let mut e = event(3, "/usr/bin/probe", "");
        assert_eq!(event_title(&e), "read, write /tmp/secret");
        assert_eq!(event_subtitle(&e, "10:00"), "10:00 · probe (pid 7)");
        e.count = 4;
        e.action = "complain".into();
        assert_eq!(
            event_subtitle(&e, "10:00"),
            "10:00 · probe (pid 7) · 4 times · complain"
        );
    }

    #[test]
    fn history_filters_by_app_and_shows_newest_first() {
        let events = [event(1, "/a", "A"), event(2, "/b", ""), event(3, "/a", "A")];
        let ids = |v: Vec<&EventInfo>| v.iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(history_view(&events, None)), vec![3, 2, 1]);
        assert_eq!(ids(history_view(&events, Some("/a"))), vec![3, 1]);
        assert_eq!(ids(history_view(&events, Some("/c"))), Vec::<u64>::new());
        assert_eq!(
            history_apps(&events),
            vec![("/a".into(), "A".into()), ("/b".into(), "b".into())]
        );
    }
    #[test]
    fn every_example_rule_passes_the_check() {
        for kind in RULE_KINDS {
            let summary = check_rule(kind, example_body(kind))
                .unwrap_or_else(|e| panic!("example of {kind}: {e}"));
            assert!(!summary.is_empty());
        }
    }

    #[test]
    fn rule_check_names_what_is_wrong() {
        use bpfbox_policy::RuleKind;
        let err = check_rule(RuleKind::Fs, "file = \"/x\"\naccess = \"raed\"").unwrap_err();
        assert!(err.contains("raed"), "{err}");
        let err = check_rule(RuleKind::Fs, "file = \"/x\"").unwrap_err();
        assert!(err.contains("access"), "{err}");
        let err = check_rule(RuleKind::Fs, "file = \"/x").unwrap_err();
        assert!(err.contains("TOML"), "{err}");
    }

    #[test]
    fn rule_check_refuses_a_body_that_sneaks_in_a_second_rule() {
        use bpfbox_policy::RuleKind;
        let body = "file = \"/x\"\naccess = \"read\"\n[[fs]]\nfile = \"/\"\naccess = \"any\"";
        assert!(check_rule(RuleKind::Fs, body).is_err());
    }
}
