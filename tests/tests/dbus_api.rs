//! bpfboxd's D-Bus API for real: the daemon on the real system bus with the
//! shipped busconfig and polkit actions and a running polkitd, on a kernel
//! that enforces. What a call changes is checked where it matters: in the
//! kernel's verdicts and in the policy file.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use bpfbox_dbus::{
    names, normalize_introspection, options, profile_path, ManagerProxy, ProfileProxy,
};
use bpfbox_tests::{
    bus::{doc_recipes, SystemBus},
    run, Daemon, Sandbox, RUNTIME_RULES,
};
use futures_util::StreamExt as _;
use zbus::Connection;

const DENIED: i32 = 1;

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A probe profile whose rule `read-a` lets it read `a`.
fn profile(probe: &Path, a: &Path) -> String {
    format!(
        "profile = \"{}\"\nname = \"Probe\"\ndesktop_id = \"org.example.Probe.desktop\"\n\
         taint_on_exec = true\n{RUNTIME_RULES}\n\
         # the test toggles this one\n[[fs]]\nid = \"read-a\"\nfile = \"{}\"\naccess = \"read\"\n",
        probe.display(),
        a.display()
    )
}

struct Setup {
    sandbox: Sandbox,
    probe: PathBuf,
    a: PathBuf,
    secret: PathBuf,
    daemon: Daemon,
    bus: SystemBus,
}

impl Setup {
    fn start(name: &str) -> Self {
        let sandbox = Sandbox::new(name);
        let probe = sandbox.probe("probe");
        let a = sandbox.file("a", "a\n");
        let secret = sandbox.file("secret", "s\n");
        sandbox.profile("probe.toml", &profile(&probe, &a));
        let bus = SystemBus::start();
        let daemon = Daemon::start(&sandbox.policy_dir());
        Self {
            sandbox,
            probe,
            a,
            secret,
            daemon,
            bus,
        }
    }

    async fn conn(&self) -> Connection {
        zbus::connection::Builder::address(self.bus.address())
            .unwrap()
            .build()
            .await
            .unwrap()
    }

    async fn profile(&self, conn: &Connection) -> ProfileProxy<'static> {
        let manager = ManagerProxy::new(conn).await.unwrap();
        let path = manager
            .get_profile(s(&self.probe), &options::none())
            .await
            .unwrap();
        ProfileProxy::builder(conn)
            .path(path)
            .unwrap()
            .build()
            .await
            .unwrap()
    }

    fn file_text(&self) -> String {
        std::fs::read_to_string(self.sandbox.policy_dir().join("probe.toml")).unwrap()
    }

    /// A denial of reading `secret` by the probe, run as `user` (root if
    /// none); returns the daemon's event id for it.
    /// The probe's exit status reading `secret`, run as `user` (root if none).
    fn read_secret_as(&self, user: Option<&str>) -> i32 {
        self.run_as(user).code
    }

    fn run_as(&self, user: Option<&str>) -> bpfbox_tests::Outcome {
        match user {
            None => run(&self.probe, &["open", s(&self.secret), "read"]),
            Some(user) => {
                let out = Command::new("runuser")
                    .args([
                        "-u",
                        user,
                        "--",
                        s(&self.probe),
                        "open",
                        s(&self.secret),
                        "read",
                    ])
                    .output()
                    .unwrap();
                bpfbox_tests::Outcome {
                    code: out.status.code().unwrap_or(-1),
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                }
            }
        }
    }

    fn denial(&self, user: Option<&str>) -> u64 {
        let out = self.run_as(user);
        assert_eq!(out.code, DENIED, "{out:?}");
        let pid = out.pid();
        let line = self
            .daemon
            .wait_event(|l| l.starts_with("action=DENY ") && l.contains(&format!(" pid={pid} ")));
        line.split_whitespace()
            .find_map(|w| w.strip_prefix("id="))
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("no id in {line}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toggling_a_rule_over_dbus_changes_the_kernels_verdict_and_the_file() {
    let setup = Setup::start("dbus-toggle");
    let conn = setup.conn().await;
    let profile = setup.profile(&conn).await;
    let read_a = || run(&setup.probe, &["open", s(&setup.a), "read"]).code;
    assert_eq!(read_a(), 0);

    profile
        .set_rule_enabled("read-a", false, &options::none())
        .await
        .unwrap();
    assert_eq!(
        read_a(),
        DENIED,
        "the call returns once the kernel holds it"
    );
    let text = setup.file_text();
    assert!(text.contains("enabled = false"), "{text}");
    assert!(
        text.contains("# the test toggles this one"),
        "comments survive: {text}"
    );
    let rules = profile.get_rules(&options::none()).await.unwrap();
    let rule = rules.iter().find(|r| r.id == "read-a").unwrap();
    assert!(!rule.enabled);
    assert_eq!(rule.summary, format!("Read {}", setup.a.display()));

    profile
        .set_rule_enabled("read-a", true, &options::none())
        .await
        .unwrap();
    assert_eq!(read_a(), 0);
    assert_eq!(
        setup.file_text(),
        profile_text(&setup),
        "toggled back byte for byte"
    );
}

fn profile_text(setup: &Setup) -> String {
    profile(&setup.probe, &setup.a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_calls_get_named_errors_and_change_nothing() {
    let setup = Setup::start("dbus-errors");
    let conn = setup.conn().await;
    let manager = ManagerProxy::new(&conn).await.unwrap();
    let profile = setup.profile(&conn).await;
    let before = setup.file_text();
    let name = |e: bpfbox_dbus::Error| zbus::DBusError::name(&e).to_string();

    let err = profile
        .set_rule_enabled("no-such-rule", false, &options::none())
        .await
        .unwrap_err();
    assert_eq!(name(err), names::error::NO_SUCH_RULE);
    let err = profile
        .set_mode("strict", &options::none())
        .await
        .unwrap_err();
    assert_eq!(name(err), names::error::INVALID_ARGUMENT);
    let err = profile
        .add_rule("fs", "file = \"/x\"\naccess = \"raed\"", &options::none())
        .await
        .unwrap_err();
    assert_eq!(
        name(err),
        names::error::POLICY_INVALID,
        "a rule that would not load"
    );
    let err = profile
        .add_rule("fs", "file = \"/x\"\naccess = 1", &options::none())
        .await
        .unwrap_err();
    assert_eq!(name(err), names::error::INVALID_ARGUMENT);
    let err = manager
        .get_profile("relative/path", &options::none())
        .await
        .unwrap_err();
    assert_eq!(name(err), names::error::INVALID_ARGUMENT);
    let err = manager
        .get_profile("/usr/bin/nothing-confines-this", &options::none())
        .await
        .unwrap_err();
    assert_eq!(name(err), names::error::NO_SUCH_PROFILE);
    let err = manager
        .grant_temporary(999_999, "once", &options::none())
        .await
        .unwrap_err();
    assert_eq!(name(err), names::error::NO_SUCH_EVENT);
    let err = manager
        .grant_temporary(1, "forever", &options::none())
        .await
        .unwrap_err();
    assert_eq!(name(err), names::error::INVALID_ARGUMENT);
    let mut unknown = options::none();
    unknown.insert("colour", zbus::zvariant::Value::from("red"));
    let err = manager.reload(&unknown).await.unwrap_err();
    assert_eq!(name(err), names::error::INVALID_ARGUMENT);
    assert_eq!(setup.file_text(), before, "no bad call changed the file");
    assert_eq!(run(&setup.probe, &["open", s(&setup.a), "read"]).code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_each_get_their_change() {
    let setup = Setup::start("dbus-concurrent");
    let conn = setup.conn().await;
    let profile = setup.profile(&conn).await;
    let adds = (0..4).map(|i| {
        let profile = profile.clone();
        async move {
            let body = format!("file = \"/tmp/concurrent-{i}\"\naccess = \"read\"");
            profile.add_rule("fs", &body, &options::none()).await
        }
    });
    let ids: Vec<String> = futures_util::future::join_all(adds)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let rules = profile.get_rules(&options::none()).await.unwrap();
    for id in &ids {
        assert!(rules.iter().any(|r| &r.id == id), "{id} is in the profile");
    }
    let text = setup.file_text();
    for i in 0..4 {
        assert!(text.contains(&format!("/tmp/concurrent-{i}")), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_reaches_its_subscriber_only_and_a_once_grant_lasts_one_use() {
    let setup = Setup::start("dbus-denied");
    let subscriber = setup.conn().await;
    let bystander = setup.conn().await;
    let manager = ManagerProxy::new(&subscriber).await.unwrap();
    let mut denied = manager.receive_denied().await.unwrap();
    manager.subscribe(&options::none()).await.unwrap();
    // listening without subscribing: a match rule is not enough
    let mut overheard = ManagerProxy::new(&bystander)
        .await
        .unwrap()
        .receive_denied()
        .await
        .unwrap();

    let id = setup.denial(None);
    let signal = tokio::time::timeout(Duration::from_secs(20), denied.next())
        .await
        .expect("Denied arrives")
        .unwrap();
    let event = signal.args().unwrap().event;
    assert_eq!(event.id, id);
    assert_eq!(event.object, s(&setup.secret));
    assert_eq!(event.action, "deny");
    assert_eq!(event.display_name, "Probe");
    assert_eq!(event.app_id, "org.example.Probe.desktop");
    assert!(
        tokio::time::timeout(Duration::from_secs(3), overheard.next())
            .await
            .is_err(),
        "Denied is unicast: a bystander hears nothing"
    );

    let (path, rule) = manager
        .grant_temporary(id, "once", &options::none())
        .await
        .unwrap();
    assert_eq!(
        path.as_str(),
        profile_path(bpfbox_policy::profile_id(&setup.probe)).as_str()
    );
    let read = || run(&setup.probe, &["open", s(&setup.secret), "read"]).code;
    assert_eq!(read(), 0, "the grant lets the app retry");
    setup
        .daemon
        .wait_log(1, |l| l.contains("a once rule was used and is gone"));
    setup.daemon.wait_log(3, |l| l.contains("policy applied"));
    assert!(
        !setup.file_text().contains(&rule),
        "the once rule left the file"
    );
    assert_eq!(read(), DENIED, "and the next try is denied again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_introspection_xml_is_what_the_daemon_exports() {
    let setup = Setup::start("dbus-xml");
    let conn = setup.conn().await;
    let introspect = |path: String| {
        let conn = conn.clone();
        async move {
            let proxy = zbus::fdo::IntrospectableProxy::builder(&conn)
                .destination(names::BUS_NAME)
                .unwrap()
                .path(path)
                .unwrap()
                .build()
                .await
                .unwrap();
            normalize_introspection(&proxy.introspect().await.unwrap()).unwrap()
        }
    };
    let profile = profile_path(bpfbox_policy::profile_id(&setup.probe)).to_string();
    let mut lines: Vec<String> = [
        introspect(names::MANAGER_PATH.to_owned()).await,
        introspect(profile).await,
    ]
    .iter()
    .flat_map(|n| n.lines().map(str::to_owned).collect::<Vec<_>>())
    .collect();
    lines.sort_unstable();
    let committed = include_str!("../../dbus/org.bpfbox.Bpfbox1.xml");
    assert_eq!(
        lines.join("\n"),
        normalize_introspection(committed).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_busctl_recipe_of_the_docs_works_against_the_daemon() {
    let setup = Setup::start("dbus-recipes");
    let event = setup.denial(None);
    let recipes = doc_recipes();
    assert!(recipes.len() >= 9, "only {} recipes found", recipes.len());
    for (name, script) in recipes {
        let out = Command::new("sh")
            .args(["-euc", &script])
            .env("EXE", s(&setup.probe))
            .env("RULE", "read-a")
            .env("EVENT", event.to_string())
            .output()
            .expect("run sh");
        assert!(
            out.status.success(),
            "recipe {name} failed:\n{script}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("recipe {name}: ok");
    }
}

/// Runs `gdbus call` on the system bus as `user` (root when `None`) and
/// returns the D-Bus error name, or `None` when the call succeeded.
fn gdbus(user: Option<&str>, path: &str, method: &str, args: &[&str]) -> Option<String> {
    let (interactive, args) = match args.split_first() {
        Some((&"--interactive", rest)) => (true, rest),
        _ => (false, args),
    };
    let mut cmd = match user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--", "gdbus"]);
            c
        }
        None => Command::new("gdbus"),
    };
    let out = cmd
        .args([
            "call",
            "--system",
            "--dest",
            names::BUS_NAME,
            "--object-path",
            path,
        ])
        .args(["--method", method])
        .args(interactive.then_some("--interactive"))
        .args(args)
        .output()
        .expect("run gdbus (apt package libglib2.0-bin)");
    if out.status.success() {
        return None;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Some(
        stderr
            .split("GDBus.Error:")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .unwrap_or(&stderr)
            .trim()
            .to_owned(),
    )
}

fn ensure_user(user: &str, group: Option<&str>) {
    if let Some(group) = group {
        let _ = Command::new("groupadd").arg(group).status();
    }
    let mut cmd = Command::new("useradd");
    cmd.args(["-M", "-N", "-s", "/bin/sh"]);
    if let Some(group) = group {
        cmd.args(["-G", group]);
    }
    let _ = cmd.arg(user).status();
}

const POLKIT_RULE: &str = "/etc/polkit-1/rules.d/50-bpfbox-test.rules";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_as_polkit_decides_it() {
    ensure_user("bpfbox-user", None);
    ensure_user("bpfbox-admin", Some("bpfbox-admins"));
    // the way an administrator delegates bpfbox: a polkit rule for a group
    std::fs::create_dir_all("/etc/polkit-1/rules.d").unwrap();
    std::fs::write(
        POLKIT_RULE,
        "polkit.addRule(function(action, subject) {\n\
         \x20   if (action.id.indexOf(\"org.bpfbox.bpfbox1.\") == 0 &&\n\
         \x20       subject.isInGroup(\"bpfbox-admins\"))\n\
         \x20       return polkit.Result.YES;\n\
         });\n",
    )
    .unwrap();
    let setup = Setup::start("dbus-matrix");
    let own_event = setup.denial(Some("bpfbox-user"));
    let profile = profile_path(bpfbox_policy::profile_id(&setup.probe)).to_string();
    let manager = names::MANAGER_PATH;
    let iface = |m: &str| format!("{}.{m}", names::MANAGER_INTERFACE);
    let piface = |m: &str| format!("{}.{m}", names::PROFILE_INTERFACE);
    let event = own_event.to_string();
    // (what, object, method, args): reads first, then changes that leave the
    // policy as it was when they succeed
    let calls: Vec<(&str, &str, String, Vec<&str>)> = vec![
        (
            "read a property",
            manager,
            "org.freedesktop.DBus.Properties.Get".into(),
            vec![names::MANAGER_INTERFACE, "Version"],
        ),
        (
            "ListProfiles",
            manager,
            iface("ListProfiles"),
            vec!["@a{sv} {}"],
        ),
        ("GetRules", &profile, piface("GetRules"), vec!["@a{sv} {}"]),
        (
            "GetEvents",
            manager,
            iface("GetEvents"),
            vec!["0", "10", "@a{sv} {}"],
        ),
        ("Subscribe", manager, iface("Subscribe"), vec!["@a{sv} {}"]),
        ("Reload", manager, iface("Reload"), vec!["@a{sv} {}"]),
        (
            "SetMode",
            &profile,
            piface("SetMode"),
            vec!["enforce", "@a{sv} {}"],
        ),
        (
            "SetRuleEnabled",
            &profile,
            piface("SetRuleEnabled"),
            vec!["read-a", "true", "@a{sv} {}"],
        ),
        (
            "SetRuleEnabled, interactive, no agent",
            &profile,
            piface("SetRuleEnabled"),
            vec!["--interactive", "read-a", "true", "@a{sv} {}"],
        ),
        (
            "GrantTemporary (own process)",
            manager,
            iface("GrantTemporary"),
            vec![&event, "timed", "{'seconds': <uint32 60>}"],
        ),
    ];
    let callers = [
        ("root", None),
        ("bpfbox-user", Some("bpfbox-user")),
        ("bpfbox-admins member", Some("bpfbox-admin")),
    ];
    let mut table = String::from(
        "| call | root | user | group granted by a polkit rule |\n|---|---|---|---|\n",
    );
    let mut results: HashMap<(&str, &str), String> = HashMap::new();
    for (what, path, method, args) in &calls {
        table += &format!("| {what} |");
        for (caller, user) in &callers {
            let before = setup.file_text();
            let result = gdbus(*user, path, method, args).unwrap_or_else(|| "ok".into());
            if result != "ok" {
                assert_eq!(
                    setup.file_text(),
                    before,
                    "{caller}: a refused {what} changed nothing"
                );
            }
            table += &format!(
                " {} |",
                result.trim_start_matches("org.bpfbox.Bpfbox1.Error.")
            );
            results.insert((what, caller), result);
        }
        table += "\n";
    }
    eprintln!("authorization matrix, as observed:\n{table}");
    let ok = |what: &str, caller: &str| results[&(what, caller)] == "ok";
    for (what, ..) in &calls {
        assert!(ok(what, "root"), "root may {what}: {table}");
        assert!(
            ok(what, "bpfbox-admins member"),
            "the group may {what}: {table}"
        );
    }
    for what in ["read a property", "ListProfiles", "GetRules"] {
        assert!(ok(what, "bpfbox-user"), "reading is public: {table}");
    }
    // a user without a session gets nothing that needs authentication: told
    // to allow interactive authorization, and when it does, with no agent
    // to ask, refused
    for what in [
        "GetEvents",
        "Subscribe",
        "Reload",
        "SetMode",
        "SetRuleEnabled",
        "GrantTemporary (own process)",
    ] {
        assert_eq!(
            results[&(what, "bpfbox-user")],
            names::error::INTERACTIVE_AUTHORIZATION_REQUIRED,
            "bpfbox-user: {what}\n{table}"
        );
    }
    assert_eq!(
        results[&("SetRuleEnabled, interactive, no agent", "bpfbox-user")],
        names::error::NOT_AUTHORIZED,
        "{table}"
    );
    let _ = std::fs::remove_file(POLKIT_RULE);
    drop(setup);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confined_process_cannot_use_the_api_to_loosen_itself() {
    let setup = Setup::start("dbus-confined");
    // a D-Bus client confined in complain mode: it may do anything the
    // kernel checks, yet it is confined, and root
    let gdbus_copy = setup.sandbox.path().join("gdbus");
    std::fs::copy("/usr/bin/gdbus", &gdbus_copy).unwrap();
    setup.sandbox.profile(
        "gdbus.toml",
        &format!(
            "profile = \"{}\"\nmode = \"complain\"\n",
            gdbus_copy.display()
        ),
    );
    setup.daemon.wait_log(2, |l| l.contains("policy applied"));
    let profile = profile_path(bpfbox_policy::profile_id(&setup.probe)).to_string();
    let call = |program: &Path| {
        let out = Command::new(program)
            .args([
                "call",
                "--system",
                "--dest",
                names::BUS_NAME,
                "--object-path",
                &profile,
            ])
            .args([
                "--method",
                &format!("{}.SetRuleEnabled", names::PROFILE_INTERFACE),
            ])
            .args(["read-a", "false", "@a{sv} {}"])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stderr) = call(&gdbus_copy);
    assert!(!ok, "a confined caller was obeyed");
    assert!(stderr.contains(names::error::NOT_AUTHORIZED), "{stderr}");
    assert!(stderr.contains("confined process"), "{stderr}");
    assert_eq!(run(&setup.probe, &["open", s(&setup.a), "read"]).code, 0);
    let (ok, stderr) = call(Path::new("/usr/bin/gdbus"));
    assert!(
        ok,
        "the same call from an unconfined root process works: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_are_created_replaced_reset_and_deleted_over_dbus() {
    let sandbox = Sandbox::new("dbus-lifecycle");
    let probe = sandbox.probe("probe");
    let a = sandbox.file("a", "a\n");
    let packaged = sandbox.path().join("packaged");
    std::fs::create_dir_all(&packaged).unwrap();
    let shipped = profile(&probe, &a);
    std::fs::write(packaged.join("probe.toml"), &shipped).unwrap();
    let bus = SystemBus::start();
    let _daemon = Daemon::start_with(&sandbox.policy_dir(), &["--packaged-dir", s(&packaged)]);
    let conn = zbus::connection::Builder::address(bus.address())
        .unwrap()
        .build()
        .await
        .unwrap();
    let manager = ManagerProxy::new(&conn).await.unwrap();
    let read_a = || run(&probe, &["open", s(&a), "read"]).code;
    assert_eq!(read_a(), 0, "no profile yet: unconfined");

    // created without read-a: confined, reading a is denied
    let bare = format!(
        "profile = \"{}\"\ntaint_on_exec = true\n{RUNTIME_RULES}",
        probe.display()
    );
    let path = manager
        .create_profile(&bare, &options::none())
        .await
        .unwrap();
    assert_eq!(read_a(), DENIED);
    let file = sandbox.policy_dir().join("probe.toml");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        bare,
        "named after the executable"
    );
    let err = manager
        .create_profile(&bare, &options::none())
        .await
        .unwrap_err();
    assert_eq!(
        zbus::DBusError::name(&err).as_str(),
        names::error::INVALID_ARGUMENT
    );

    let profile = ProfileProxy::builder(&conn)
        .path(path)
        .unwrap()
        .build()
        .await
        .unwrap();
    assert!(profile.packaged().await.unwrap());
    assert!(
        profile.modified().await.unwrap(),
        "differs from what the package ships"
    );
    assert_eq!(profile.get_text(&options::none()).await.unwrap(), bare);

    // a replacement based on an outdated text is refused
    let mut stale = options::none();
    stale.insert(
        "previous",
        zbus::zvariant::Value::from("profile = \"/old\"\n"),
    );
    let err = profile.replace(&shipped, &stale).await.unwrap_err();
    assert_eq!(zbus::DBusError::name(&err).as_str(), names::error::CONFLICT);
    assert_eq!(read_a(), DENIED, "nothing changed");

    profile.reset_to_default(&options::none()).await.unwrap();
    assert_eq!(read_a(), 0, "the packaged version grants read-a");
    assert!(!profile.modified().await.unwrap());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), shipped);

    profile.delete(&options::none()).await.unwrap();
    assert!(!file.exists());
    assert_eq!(
        run(&probe, &["open", s(&sandbox.file("b", "b\n")), "read"]).code,
        0,
        "deleted: no longer confined"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_temporary_grant_loosens_only_the_processes_of_the_user_who_answered() {
    ensure_user("bpfbox-ann", None);
    ensure_user("bpfbox-bob", None);
    // ann may answer her own denials, as the person at the seat may
    std::fs::create_dir_all("/etc/polkit-1/rules.d").unwrap();
    std::fs::write(
        POLKIT_RULE,
        format!(
            "polkit.addRule(function(action, subject) {{\n\
             \x20   if (action.id == \"{}\" && subject.user == \"bpfbox-ann\")\n\
             \x20       return polkit.Result.YES;\n\
             }});\n",
            names::action::GRANT_TEMPORARY
        ),
    )
    .unwrap();
    let setup = Setup::start("dbus-grant-uid");
    let event = setup.denial(Some("bpfbox-ann")).to_string();
    let grant = |method: &str| {
        gdbus(
            Some("bpfbox-ann"),
            names::MANAGER_PATH,
            &format!("{}.{method}", names::MANAGER_INTERFACE),
            &[&event, "restart", "@a{sv} {}"],
        )
    };
    // a permanent rule stays an administrator's
    let allow = gdbus(
        Some("bpfbox-ann"),
        names::MANAGER_PATH,
        &format!("{}.AllowEvent", names::MANAGER_INTERFACE),
        &[&event, "@a{sv} {}"],
    );
    assert!(allow.is_some(), "AllowEvent needs `manage`");
    let before = setup.file_text();
    assert_eq!(grant("GrantTemporary"), None, "ann answers her own denial");
    assert_ne!(setup.file_text(), before);
    assert!(
        setup.file_text().contains("uid = "),
        "{}",
        setup.file_text()
    );
    // the reply came once the kernel held the rule
    setup.daemon.wait_log(2, |l| l.contains("policy applied"));
    let rows = [
        ("bpfbox-ann, who answered", Some("bpfbox-ann"), 0),
        ("bpfbox-bob", Some("bpfbox-bob"), DENIED),
        ("root", None, DENIED),
    ];
    eprintln!(
        "| the same profile's process, run by | reads the secret after ann's grant |\n|---|---|"
    );
    for (who, user, expected) in rows {
        let got = setup.read_secret_as(user);
        eprintln!(
            "| {who} | {} |",
            if got == 0 { "yes" } else { "no (EPERM)" }
        );
        assert_eq!(got, expected, "{who}");
    }
    let _ = std::fs::remove_file(POLKIT_RULE);
}
