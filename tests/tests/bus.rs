//! The D-Bus contract end to end on a private bus: a stub daemon serves both
//! interfaces with zbus exactly as bpfboxd declares them, and the typed
//! proxies of bpfbox-dbus talk to it. Needs `dbus-daemon`, not BPF LSM.

use std::{collections::HashMap, time::Duration as StdDuration};

use bpfbox_dbus::{
    names::{self, MAX_GRANT_SECONDS},
    normalize_introspection,
    options::{self, EventFilter, Options},
    profile_path, validate, Duration, Error, EventInfo, ManagerProxy, Mode, Problem, ProfileProxy,
    ProfileSummary, RuleInfo,
};
use bpfbox_tests::bus::PrivateBus;
use futures_util::StreamExt as _;
use zbus::{message::Header, object_server::SignalEmitter, zvariant::OwnedObjectPath, Connection};

const EXE: &str = "/usr/bin/gedit";
const PROFILE_ID: u64 = 0x2a;

fn event(id: u64) -> EventInfo {
    EventInfo {
        id,
        time_usec: 1_795_946_400_000_000,
        executable: EXE.into(),
        app_id: "org.gnome.gedit.desktop".into(),
        display_name: "Text Editor".into(),
        pid: 4242,
        tgid: 4242,
        uid: 1000,
        comm: "gedit".into(),
        kind: "fs".into(),
        object: "/home/u/.ssh/id_ed25519".into(),
        access: "read".into(),
        action: "deny".into(),
        count: 3,
        reason: "no rule allows it".into(),
    }
}

/// The manager as the daemon declares it; answers come from fixed data.
struct StubManager;

#[zbus::interface(name = "org.bpfbox.Bpfbox1.Manager")]
impl StubManager {
    #[zbus(out_args("profile"))]
    async fn get_profile(
        &self,
        executable: &str,
        options: Options,
    ) -> Result<OwnedObjectPath, Error> {
        options::check_keys(&options, &[])?;
        if validate::executable(executable)? == EXE {
            Ok(profile_path(PROFILE_ID))
        } else {
            Err(Error::NoSuchProfile(format!(
                "no profile confines {executable}"
            )))
        }
    }

    #[zbus(out_args("profiles"))]
    async fn list_profiles(&self, options: Options) -> Result<Vec<ProfileSummary>, Error> {
        options::check_keys(&options, &[])?;
        Ok(vec![ProfileSummary {
            object: profile_path(PROFILE_ID),
            executable: EXE.into(),
            display_name: "Text Editor".into(),
            app_id: "org.gnome.gedit.desktop".into(),
            mode: Mode::Enforce.to_string(),
            running_processes: 1,
            rule_count: 2,
            denial_count: 3,
            last_error: String::new(),
        }])
    }

    #[zbus(out_args("events"))]
    async fn get_events(
        &self,
        after_id: u64,
        limit: u32,
        options: Options,
    ) -> Result<Vec<EventInfo>, Error> {
        let limit = validate::event_limit(limit)?;
        let filter = EventFilter::from_options(&options)?;
        Ok((after_id + 1..)
            .take(limit.min(2) as usize)
            .map(event)
            .filter(|e| filter.uid.is_none_or(|uid| uid == e.uid))
            .collect())
    }

    #[zbus(out_args("profile", "rule_id"))]
    async fn grant_temporary(
        &self,
        event_id: u64,
        duration: &str,
        options: Options,
    ) -> Result<(OwnedObjectPath, String), Error> {
        let duration = Duration::from_wire(duration, &options)?;
        if event_id != 7 {
            return Err(Error::NoSuchEvent(format!("no event {event_id}")));
        }
        let rule = match duration {
            Duration::Timed { seconds } => format!("grant-{event_id}-{seconds}s"),
            other => format!("grant-{event_id}-{}", other.as_str()),
        };
        Ok((profile_path(PROFILE_ID), rule))
    }

    #[zbus(out_args("profile", "rule_id"))]
    async fn allow_event(
        &self,
        event_id: u64,
        options: Options,
    ) -> Result<(OwnedObjectPath, String), Error> {
        options::check_keys(&options, &[])?;
        Err(Error::NotAuthorized(format!(
            "allowing event {event_id} for good needs {}",
            names::action::MANAGE
        )))
    }

    async fn reload(&self, options: Options) -> Result<(), Error> {
        options::check_keys(&options, &[])?;
        Err(Error::InteractiveAuthorizationRequired(
            "polkit would ask for a password".into(),
        ))
    }

    /// Answers with one unicast `Denied`, as the daemon does for each new
    /// denial of the subscriber's uid.
    async fn subscribe(
        &self,
        options: Options,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), Error> {
        options::check_keys(&options, &[])?;
        let caller = header
            .sender()
            .expect("a bus message has a sender")
            .to_owned();
        let to_caller = emitter.set_destination(caller.into());
        Self::denied(&to_caller, event(9)).await?;
        Ok(())
    }

    async fn unsubscribe(&self, options: Options) -> Result<(), Error> {
        options::check_keys(&options, &[])
    }

    #[zbus(signal)]
    async fn denied(emitter: &SignalEmitter<'_>, event: EventInfo) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn policy_reloaded(
        emitter: &SignalEmitter<'_>,
        profiles: u32,
        errors: u32,
    ) -> zbus::Result<()>;

    #[zbus(property(emits_changed_signal = "const"))]
    fn version(&self) -> String {
        "0.1.0".into()
    }

    #[zbus(property(emits_changed_signal = "const"))]
    fn abi_version(&self) -> u32 {
        1
    }

    #[zbus(property)]
    fn enforcing(&self) -> bool {
        true
    }

    #[zbus(property(emits_changed_signal = "const"))]
    fn kernel_release(&self) -> String {
        "6.12.0".into()
    }

    #[zbus(property(emits_changed_signal = "const"))]
    fn policy_directory(&self) -> String {
        "/etc/bpfbox/policy".into()
    }

    #[zbus(property(emits_changed_signal = "const"))]
    fn instance_id(&self) -> String {
        "stub".into()
    }

    #[zbus(property)]
    fn profile_count(&self) -> u32 {
        1
    }

    #[zbus(property(emits_changed_signal = "false"))]
    fn events_delivered(&self) -> u64 {
        10
    }

    #[zbus(property(emits_changed_signal = "false"))]
    fn events_lost(&self) -> u64 {
        0
    }

    #[zbus(property)]
    fn policy_problems(&self) -> Vec<Problem> {
        vec![Problem {
            file: "/etc/bpfbox/policy/x.toml".into(),
            line: 3,
            column: 1,
            severity: "warning".into(),
            message: "rule never applies".into(),
        }]
    }
}

/// One profile as the daemon declares it.
struct StubProfile;

#[zbus::interface(name = "org.bpfbox.Bpfbox1.Profile")]
impl StubProfile {
    #[zbus(out_args("rules"))]
    async fn get_rules(&self, options: Options) -> Result<Vec<RuleInfo>, Error> {
        options::check_keys(&options, &[])?;
        Ok(vec![RuleInfo {
            id: "documents".into(),
            kind: "fs".into(),
            summary: "read files in ~/Documents".into(),
            toml: "file = \"~/Documents/**\"\naccess = \"read\"\n".into(),
            enabled: true,
            expires: String::new(),
            actions: vec!["allow".into()],
        }])
    }

    async fn set_mode(&self, mode: &str, options: Options) -> Result<(), Error> {
        options::check_keys(&options, &[])?;
        mode.parse::<Mode>().map(drop)
    }

    async fn set_rule_enabled(
        &self,
        id: &str,
        enabled: bool,
        options: Options,
    ) -> Result<(), Error> {
        options::check_keys(&options, &[])?;
        let _ = enabled;
        Err(Error::NoSuchRule(format!(
            "no rule {}",
            validate::rule_id(id)?
        )))
    }

    #[zbus(out_args("rule_id"))]
    async fn add_rule(&self, kind: &str, body: &str, options: Options) -> Result<String, Error> {
        options::check_keys(&options, &[])?;
        let kind: bpfbox_dbus::Kind = kind.parse()?;
        validate::rule_body(body)?;
        Ok(format!("{kind}-added"))
    }

    async fn remove_rule(&self, id: &str, options: Options) -> Result<(), Error> {
        options::check_keys(&options, &[])?;
        Err(Error::Conflict(format!(
            "{} is the last rule",
            validate::rule_id(id)?
        )))
    }

    #[zbus(property(emits_changed_signal = "const"))]
    fn executable(&self) -> String {
        EXE.into()
    }

    #[zbus(property)]
    fn display_name(&self) -> String {
        "Text Editor".into()
    }

    #[zbus(property)]
    fn app_id(&self) -> String {
        "org.gnome.gedit.desktop".into()
    }

    #[zbus(property)]
    fn icon(&self) -> String {
        "org.gnome.gedit".into()
    }

    #[zbus(property)]
    fn mode(&self) -> String {
        "enforce".into()
    }

    #[zbus(property)]
    fn file(&self) -> String {
        "/etc/bpfbox/policy/gedit.toml".into()
    }

    #[zbus(property)]
    fn rule_count(&self) -> u32 {
        1
    }

    #[zbus(property)]
    fn running_processes(&self) -> u32 {
        1
    }

    #[zbus(property(emits_changed_signal = "false"))]
    fn denial_count(&self) -> u64 {
        3
    }

    #[zbus(property)]
    fn last_error(&self) -> String {
        String::new()
    }
}

/// A private bus with the stub daemon on it, and a client connection.
struct Fixture {
    client: Connection,
    _daemon: Connection,
    _bus: PrivateBus,
}

async fn fixture() -> Fixture {
    let bus = PrivateBus::start();
    let daemon = zbus::connection::Builder::address(bus.address())
        .unwrap()
        .serve_at(names::MANAGER_PATH, StubManager)
        .unwrap()
        .serve_at(names::MANAGER_PATH, zbus::fdo::ObjectManager)
        .unwrap()
        .serve_at(profile_path(PROFILE_ID), StubProfile)
        .unwrap()
        // The name last, as the daemon must: a client that sees the name
        // owned finds every object in place.
        .name(names::BUS_NAME)
        .unwrap()
        .build()
        .await
        .expect("stub daemon connects");
    let client = zbus::connection::Builder::address(bus.address())
        .unwrap()
        .build()
        .await
        .expect("client connects");
    Fixture {
        client,
        _daemon: daemon,
        _bus: bus,
    }
}

async fn introspect(conn: &Connection, path: &str) -> String {
    let proxy = zbus::fdo::IntrospectableProxy::builder(conn)
        .destination(names::BUS_NAME)
        .unwrap()
        .path(path)
        .unwrap()
        .build()
        .await
        .unwrap();
    normalize_introspection(&proxy.introspect().await.unwrap()).unwrap()
}

#[tokio::test]
async fn private_bus_accepts_zbus_connections() {
    let bus = PrivateBus::start();
    let conn = zbus::connection::Builder::address(bus.address())
        .unwrap()
        .build()
        .await
        .expect("connect to the private bus");
    assert!(conn.unique_name().is_some());
}

#[test]
fn dbus_daemon_accepts_the_shipped_busconfig() {
    // dbus-daemon refuses to start on an attribute or element it does not
    // know, which the DTD Debian ships cannot check.
    let conf = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../dbus/org.bpfbox.Bpfbox1.conf"
    );
    let _bus = PrivateBus::with_config(&format!("<include>{conf}</include>"));
}

#[tokio::test]
async fn committed_introspection_xml_is_what_zbus_exports_for_the_interfaces() {
    let f = fixture().await;
    let mut lines: Vec<String> = [
        introspect(&f.client, names::MANAGER_PATH).await,
        introspect(&f.client, profile_path(PROFILE_ID).as_str()).await,
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

#[tokio::test]
async fn proxies_carry_results_and_typed_errors_across_the_bus() {
    let f = fixture().await;
    let manager = ManagerProxy::new(&f.client).await.unwrap();
    let none = options::none();

    let path = manager.get_profile(EXE, &none).await.unwrap();
    assert_eq!(path, profile_path(PROFILE_ID));
    assert!(matches!(
        manager.get_profile("/usr/bin/vim", &none).await,
        Err(Error::NoSuchProfile(_))
    ));
    assert!(matches!(
        manager.get_profile("bin/vim", &none).await,
        Err(Error::InvalidArgument(_))
    ));

    let profiles = manager.list_profiles(&none).await.unwrap();
    assert_eq!(profiles[0].executable, EXE);

    let filter = EventFilter {
        profile: Some(EXE.into()),
        uid: Some(1000),
    };
    let events = manager
        .get_events(5, 1000, &filter.to_options())
        .await
        .unwrap();
    assert_eq!(events, vec![event(6), event(7)]);
    assert!(matches!(
        manager.get_events(0, 1001, &none).await,
        Err(Error::InvalidArgument(_))
    ));

    let (word, opts) = Duration::Timed { seconds: 300 }.to_wire();
    let (object, rule) = manager.grant_temporary(7, word, &opts).await.unwrap();
    assert_eq!((object, rule.as_str()), (path.clone(), "grant-7-300s"));
    let (word, opts) = Duration::Timed {
        seconds: MAX_GRANT_SECONDS + 1,
    }
    .to_wire();
    assert!(matches!(
        manager.grant_temporary(7, word, &opts).await,
        Err(Error::InvalidArgument(_))
    ));
    let (word, opts) = Duration::Once.to_wire();
    assert!(matches!(
        manager.grant_temporary(8, word, &opts).await,
        Err(Error::NoSuchEvent(_))
    ));
    assert!(matches!(
        manager.allow_event(7, &none).await,
        Err(Error::NotAuthorized(_))
    ));
    assert!(matches!(
        manager.reload(&none).await,
        Err(Error::InteractiveAuthorizationRequired(_))
    ));
    let mut unknown = options::none();
    unknown.insert("colour", "blue".into());
    assert!(matches!(
        manager.list_profiles(&unknown).await,
        Err(Error::InvalidArgument(_))
    ));

    assert_eq!(manager.version().await.unwrap(), "0.1.0");
    assert_eq!(manager.events_lost().await.unwrap(), 0);
    assert_eq!(manager.policy_problems().await.unwrap()[0].line, 3);

    let profile = ProfileProxy::builder(&f.client)
        .path(path)
        .unwrap()
        .build()
        .await
        .unwrap();
    assert_eq!(profile.executable().await.unwrap(), EXE);
    assert_eq!(profile.get_rules(&none).await.unwrap()[0].id, "documents");
    profile.set_mode("complain", &none).await.unwrap();
    assert!(matches!(
        profile.set_mode("off", &none).await,
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(
        profile
            .add_rule("fs", "file = \"~/x\"\naccess = \"read\"\n", &none)
            .await
            .unwrap(),
        "fs-added"
    );
    assert!(matches!(
        profile.set_rule_enabled("documents", false, &none).await,
        Err(Error::NoSuchRule(_))
    ));
    assert!(matches!(
        profile.remove_rule("documents", &none).await,
        Err(Error::Conflict(_))
    ));
}

#[tokio::test]
async fn subscriber_receives_unicast_denied_signals() {
    let f = fixture().await;
    let manager = ManagerProxy::new(&f.client).await.unwrap();
    let mut denied = manager.receive_denied().await.unwrap();
    manager.subscribe(&options::none()).await.unwrap();
    let signal = tokio::time::timeout(StdDuration::from_secs(10), denied.next())
        .await
        .expect("a Denied signal within 10 s")
        .expect("the stream stays open");
    assert_eq!(signal.args().unwrap().event, event(9));
}

#[tokio::test]
async fn object_manager_lists_the_profile_objects() {
    let f = fixture().await;
    let om = zbus::fdo::ObjectManagerProxy::builder(&f.client)
        .destination(names::BUS_NAME)
        .unwrap()
        .path(names::MANAGER_PATH)
        .unwrap()
        .build()
        .await
        .unwrap();
    let objects: HashMap<_, _> = om.get_managed_objects().await.unwrap();
    let ifaces = objects
        .get(&profile_path(PROFILE_ID))
        .expect("the profile object is managed");
    assert!(ifaces
        .keys()
        .any(|i| i.as_str() == names::PROFILE_INTERFACE));
}

/// The `<!-- recipe: NAME -->` blocks of docs/dbus.md, as (name, script).
fn doc_recipes() -> Vec<(String, String)> {
    let doc = include_str!("../../docs/dbus.md");
    let mut recipes = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("<!-- recipe: ")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        assert_eq!(lines.next(), Some("```sh"), "recipe {name} has no sh block");
        let script: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        recipes.push((name.to_owned(), script.join("\n")));
    }
    recipes
}

// Multi-threaded: each recipe blocks this thread while the stub answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_busctl_recipe_of_the_docs_reaches_the_daemon() {
    let f = fixture().await;
    let recipes = doc_recipes();
    assert!(recipes.len() >= 9, "only {} recipes found", recipes.len());
    for (name, script) in recipes {
        let out = std::process::Command::new("sh")
            .args(["-euc", &script])
            .env("DBUS_SYSTEM_BUS_ADDRESS", f._bus.address())
            .env("EXE", EXE)
            .env("RULE", "documents")
            .env("EVENT", "7")
            .output()
            .expect("run sh");
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The stub refuses these two on purpose; any other failure means the
        // recipe itself is wrong (signature, arguments, quoting).
        let deliberate = stderr.contains("no rule documents")
            || stderr.contains("polkit would ask for a password");
        assert!(
            out.status.success() || deliberate,
            "recipe {name} failed:\n{script}\n{stderr}"
        );
    }
}

/// The shipped busconfig and polkit actions on the real system bus with
/// polkitd: root only, so it runs in the guest.
#[cfg(feature = "guest")]
mod system {
    use std::{collections::HashMap, process::Command};

    use bpfbox_dbus::names;
    use bpfbox_tests::bus::SystemBus;

    /// polkit's `ImplicitAuthorization` values.
    const AUTH_ADMIN: u32 = 2;
    const AUTH_ADMIN_KEEP: u32 = 4;
    const YES: u32 = 5;

    type ActionDescription = (
        String,
        String,
        String,
        String,
        String,
        String,
        u32,
        u32,
        u32,
        HashMap<String, String>,
    );

    #[tokio::test]
    async fn polkit_loads_every_action_with_its_documented_defaults() {
        let bus = SystemBus::start();
        let conn = zbus::connection::Builder::address(bus.address())
            .unwrap()
            .build()
            .await
            .unwrap();
        let reply = conn
            .call_method(
                Some("org.freedesktop.PolicyKit1"),
                "/org/freedesktop/PolicyKit1/Authority",
                Some("org.freedesktop.PolicyKit1.Authority"),
                "EnumerateActions",
                &("",),
            )
            .await
            .unwrap();
        let actions: Vec<ActionDescription> = reply.body().deserialize().unwrap();
        let defaults = |id: &str| {
            let a = actions
                .iter()
                .find(|a| a.0 == id)
                .unwrap_or_else(|| panic!("polkit does not know {id}"));
            ((a.6, a.7, a.8), a.9.clone())
        };
        use names::action;
        assert_eq!(
            defaults(action::READ_EVENTS).0,
            (AUTH_ADMIN, AUTH_ADMIN, YES)
        );
        assert_eq!(
            defaults(action::GRANT_TEMPORARY).0,
            (AUTH_ADMIN_KEEP, AUTH_ADMIN_KEEP, YES)
        );
        let keep = (AUTH_ADMIN_KEEP, AUTH_ADMIN_KEEP, AUTH_ADMIN_KEEP);
        assert_eq!(defaults(action::MANAGE).0, keep);
        assert_eq!(
            defaults(action::RELOAD).0,
            (AUTH_ADMIN_KEEP, AUTH_ADMIN_KEEP, YES)
        );
        let (all, annotations) = defaults(action::ALL);
        assert_eq!(all, keep);
        let mut implied: Vec<&str> = annotations["org.freedesktop.policykit.imply"]
            .split_whitespace()
            .collect();
        implied.sort_unstable();
        let mut expected = [
            action::GRANT_TEMPORARY,
            action::MANAGE,
            action::READ_EVENTS,
            action::RELOAD,
        ];
        expected.sort_unstable();
        assert_eq!(implied, expected);
    }

    // Multi-threaded: dbus-send blocks this thread while the stub answers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_root_may_own_the_name_and_anyone_may_call_it() {
        let bus = SystemBus::start();
        let daemon = zbus::connection::Builder::address(bus.address())
            .unwrap()
            .serve_at(names::MANAGER_PATH, super::StubManager)
            .unwrap()
            .name(names::BUS_NAME)
            .unwrap()
            .build()
            .await
            .expect("root owns org.bpfbox.Bpfbox1");
        let as_nobody = |args: &[&str]| {
            Command::new("runuser")
                .args([
                    "-u",
                    "nobody",
                    "--",
                    "dbus-send",
                    "--system",
                    "--print-reply",
                ])
                .args(args)
                .output()
                .expect("run dbus-send as nobody")
        };
        let own = as_nobody(&[
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.RequestName",
            "string:org.bpfbox.Bpfbox1",
            "uint32:0",
        ]);
        assert!(!own.status.success(), "nobody must not own the name");
        assert!(String::from_utf8_lossy(&own.stderr).contains("AccessDenied"));
        let call = as_nobody(&[
            "--dest=org.bpfbox.Bpfbox1",
            names::MANAGER_PATH,
            "org.freedesktop.DBus.Properties.Get",
            "string:org.bpfbox.Bpfbox1.Manager",
            "string:Version",
        ]);
        assert!(
            call.status.success(),
            "nobody may read a property: {}",
            String::from_utf8_lossy(&call.stderr)
        );
        drop(daemon);
    }
}
