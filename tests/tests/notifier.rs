//! The notification agent (`bpfbox-notifier`) for real: the built binary
//! against the real bpfboxd on the real system bus with polkitd, on a kernel
//! that enforces. Only the notification server is the test's own: a
//! recording `org.freedesktop.Notifications` on a private session bus that
//! plays the person by emitting `ActionInvoked` and `NotificationClosed`.
//! What an answer does is checked where it matters: in the kernel's verdict
//! on the probe's retry and in the profile file.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Condvar, Mutex},
    time::{Duration, Instant},
};

use bpfbox_dbus::{names, options, EventInfo, ManagerProxy, ProfileProxy, RuleInfo};
use bpfbox_tests::{
    bin_dir,
    bus::{PrivateBus, SystemBus},
    run, Daemon, Sandbox, RUNTIME_RULES,
};
use zbus::{object_server::SignalEmitter, zvariant::OwnedValue, Connection};

const DENIED: i32 = 1;
const NOTIFICATIONS_PATH: &str = "/org/freedesktop/Notifications";

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// One `Notify` call as the server received it.
#[derive(Debug, Clone)]
struct Notified {
    id: u32,
    app_name: String,
    replaces_id: u32,
    app_icon: String,
    summary: String,
    body: String,
    actions: Vec<String>,
    hints: HashMap<String, OwnedValue>,
    expire_timeout: i32,
}

/// The fake notification server: records, and answers as told.
#[derive(Default)]
struct Server {
    calls: Arc<Mutex<Vec<Notified>>>,
    next_id: Mutex<u32>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)] // the specification's signature
    fn notify(
        &self,
        app_name: String,
        replaces_id: u32,
        app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, OwnedValue>,
        expire_timeout: i32,
    ) -> u32 {
        let id = if replaces_id == 0 {
            let mut next = self.next_id.lock().unwrap();
            *next += 1;
            *next
        } else {
            replaces_id
        };
        self.calls.lock().unwrap().push(Notified {
            id,
            app_name,
            replaces_id,
            app_icon,
            summary,
            body,
            actions,
            hints,
            expire_timeout,
        });
        id
    }

    fn close_notification(&self, _id: u32) {}

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "fake".into(),
            "bpfbox tests".into(),
            "0".into(),
            "1.2".into(),
        )
    }

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn notification_closed(
        emitter: &SignalEmitter<'_>,
        id: u32,
        reason: u32,
    ) -> zbus::Result<()>;
}

/// The server's side of the test: its connection and its record.
struct Notifications {
    conn: Connection,
    calls: Arc<Mutex<Vec<Notified>>>,
}

impl Notifications {
    async fn start(bus: &PrivateBus) -> Self {
        let server = Server::default();
        let calls = Arc::clone(&server.calls);
        let conn = zbus::connection::Builder::address(bus.address())
            .unwrap()
            .name("org.freedesktop.Notifications")
            .unwrap()
            .serve_at(NOTIFICATIONS_PATH, server)
            .unwrap()
            .build()
            .await
            .unwrap();
        Self { conn, calls }
    }

    fn calls(&self) -> Vec<Notified> {
        self.calls.lock().unwrap().clone()
    }

    /// Waits until a call matches `pred` and returns it.
    async fn wait(&self, what: &str, pred: impl Fn(&Notified) -> bool) -> Notified {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(n) = self.calls().into_iter().find(|n| pred(n)) {
                return n;
            }
            assert!(
                Instant::now() < deadline,
                "no notification {what}; the server got:\n{:#?}",
                self.calls()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn emitter(&self) -> SignalEmitter<'static> {
        SignalEmitter::new(&self.conn, NOTIFICATIONS_PATH).unwrap()
    }

    async fn invoke(&self, id: u32, action: &str) {
        Server::action_invoked(&self.emitter().await, id, action)
            .await
            .unwrap();
    }

    async fn close(&self, id: u32, reason: u32) {
        Server::notification_closed(&self.emitter().await, id, reason)
            .await
            .unwrap();
    }
}

/// The agent binary, run as root, with its log.
struct Agent {
    child: Child,
    log: Arc<(Mutex<Vec<String>>, Condvar)>,
}

impl Agent {
    fn start(system: &str, session: &str, config: &Path, env: &[(String, String)]) -> Self {
        let mut child = Command::new(bin_dir().join("bpfbox-notifier"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("DBUS_SYSTEM_BUS_ADDRESS", system)
            .env("DBUS_SESSION_BUS_ADDRESS", session)
            .env("XDG_CONFIG_HOME", config)
            .env("RUST_LOG", "debug,zbus=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn bpfbox-notifier (cargo build --workspace --bins)");
        let log = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let pipe = child.stderr.take().unwrap();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                eprintln!("notifier: {line}");
                lines.0.lock().unwrap().push(line);
                lines.1.notify_all();
            }
        });
        Self { child, log }
    }

    /// Waits until `count` log lines contain `text`; returns the last.
    fn wait_log(&self, count: usize, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(40);
        let mut seen = self.log.0.lock().unwrap();
        loop {
            let matching: Vec<&String> = seen.iter().filter(|l| l.contains(text)).collect();
            if matching.len() >= count {
                return matching[count - 1].clone();
            }
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| {
                    panic!(
                        "the agent never logged {text:?} {count}×; its log:\n{}",
                        seen.join("\n")
                    )
                });
            seen = self.log.1.wait_timeout(seen, left).unwrap().0;
        }
    }

    /// The agent's unique name on the system or session bus, from its log.
    fn unique_name(&self, bus: &str) -> String {
        let line = self.wait_log(1, "connected");
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{bus}=")))
            .unwrap_or_else(|| panic!("no {bus} name in {line}"))
            .to_owned()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn profile_toml(probe: &Path) -> String {
    format!(
        "profile = \"{}\"\nname = \"Probe\"\ndesktop_id = \"org.example.Probe.desktop\"\n\
         icon = \"org.example.ProbeIcon\"\ntaint_on_exec = true\n{RUNTIME_RULES}",
        probe.display()
    )
}

/// Fields drop in order: the agent before the buses it talks to.
struct Setup {
    agent: Option<Agent>,
    /// More environment for the agent (its language).
    agent_env: Vec<(String, String)>,
    server: Notifications,
    daemon: Option<Daemon>,
    session: PrivateBus,
    bus: SystemBus,
    probe: PathBuf,
    sandbox: Sandbox,
}

impl Setup {
    /// Everything runs and the agent has subscribed; `settings` is written
    /// to notifier.toml first.
    async fn start(name: &str, settings: &str) -> Self {
        Self::start_with_env(name, settings, Vec::new()).await
    }

    async fn start_with_env(name: &str, settings: &str, agent_env: Vec<(String, String)>) -> Self {
        let sandbox = Sandbox::new(name);
        let probe = sandbox.probe("probe");
        sandbox.profile("probe.toml", &profile_toml(&probe));
        std::fs::create_dir_all(sandbox.path().join("config/bpfbox")).unwrap();
        std::fs::write(sandbox.path().join("config/bpfbox/notifier.toml"), settings).unwrap();
        let bus = SystemBus::start();
        let daemon = Daemon::start(&sandbox.policy_dir());
        let session = PrivateBus::start();
        let server = Notifications::start(&session).await;
        let mut setup = Self {
            agent: None,
            agent_env,
            server,
            daemon: Some(daemon),
            session,
            bus,
            probe,
            sandbox,
        };
        setup.start_agent();
        setup
    }

    fn start_agent(&mut self) {
        self.agent = None;
        let agent = Agent::start(
            self.bus.address(),
            self.session.address(),
            &self.sandbox.path().join("config"),
            &self.agent_env,
        );
        agent.wait_log(1, "subscribed to bpfboxd");
        self.agent = Some(agent);
    }

    fn agent(&self) -> &Agent {
        self.agent.as_ref().unwrap()
    }

    fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().unwrap()
    }

    fn settings_text(&self) -> String {
        std::fs::read_to_string(self.sandbox.path().join("config/bpfbox/notifier.toml"))
            .unwrap_or_default()
    }

    fn profile_text(&self) -> String {
        std::fs::read_to_string(self.sandbox.policy_dir().join("probe.toml")).unwrap()
    }

    /// A file the probe has no rule for.
    fn secret(&self, name: &str) -> PathBuf {
        self.sandbox.file(name, "s\n")
    }

    fn read(&self, file: &Path) -> i32 {
        run(&self.probe, &["open", s(file), "read"]).code
    }

    /// The probe is denied reading `file`; returns the daemon's event id.
    fn denial(&self, file: &Path) -> u64 {
        let out = run(&self.probe, &["open", s(file), "read"]);
        assert_eq!(out.code, DENIED, "{out:?}");
        let pid = out.pid();
        let line = self
            .daemon()
            .wait_event(|l| l.starts_with("action=DENY ") && l.contains(&format!(" pid={pid} ")));
        line.split_whitespace()
            .find_map(|w| w.strip_prefix("id="))
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("no id in {line}"))
    }

    /// The first notification about `file` that is not an update.
    async fn notified(&self, file: &Path) -> Notified {
        let object = s(file).to_owned();
        self.server
            .wait(&format!("about {object}"), |n| {
                n.replaces_id == 0 && n.summary.ends_with(&object)
            })
            .await
    }

    async fn rules(&self) -> Vec<RuleInfo> {
        let conn = zbus::connection::Builder::address(self.bus.address())
            .unwrap()
            .build()
            .await
            .unwrap();
        let manager = ManagerProxy::new(&conn).await.unwrap();
        let path = manager
            .get_profile(s(&self.probe), &options::none())
            .await
            .unwrap();
        ProfileProxy::builder(&conn)
            .path(path)
            .unwrap()
            .build()
            .await
            .unwrap()
            .get_rules(&options::none())
            .await
            .unwrap()
    }

    /// Waits until the profile has a rule for `file` and returns it.
    async fn rule_for(&self, file: &Path) -> RuleInfo {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(rule) = self
                .rules()
                .await
                .into_iter()
                .find(|r| r.toml.contains(s(file)))
            {
                return rule;
            }
            assert!(
                Instant::now() < deadline,
                "no rule for {} appeared; the profile:\n{}",
                file.display(),
                self.profile_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_is_notified_in_plain_words_with_the_five_answers() {
    let setup = Setup::start("notifier-payload", "").await;
    let secret = setup.secret("id_ed25519");
    setup.denial(&secret);
    let n = setup.notified(&secret).await;
    assert_eq!(n.app_name, "bpfbox");
    assert_eq!(n.replaces_id, 0);
    assert_eq!(n.app_icon, "org.example.ProbeIcon", "the profile's icon");
    assert_eq!(
        n.summary,
        format!("Probe was blocked from reading {}", secret.display())
    );
    assert_eq!(
        n.body,
        "Probe was denied already: BPF-LSM cannot hold the request while you decide. \
         If you allow it, try again in Probe."
    );
    assert_eq!(
        n.actions,
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
    assert_eq!(n.hints.len(), 1, "{:?}", n.hints);
    assert_eq!(
        u8::try_from(&n.hints["urgency"]).unwrap(),
        1,
        "normal urgency"
    );
    assert_eq!(n.expire_timeout, -1, "the server's default timeout");
}

/// po/de.po compiled as `make` does, in `<dir>/de/LC_MESSAGES/bpfbox.mo`.
fn german_catalogue(dir: &Path) {
    let out = dir.join("de/LC_MESSAGES");
    std::fs::create_dir_all(&out).unwrap();
    let po = Path::new(env!("CARGO_MANIFEST_DIR")).join("../po/de.po");
    let status = Command::new("msgfmt")
        .arg("-o")
        .arg(out.join("bpfbox.mo"))
        .arg(po)
        .status()
        .expect("msgfmt");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_is_notified_in_the_language_named_by_language() {
    let locale_dir =
        std::env::temp_dir().join(format!("bpfbox-notifier-de-{}", std::process::id()));
    german_catalogue(&locale_dir);
    let env = [
        ("LANG", "C.UTF-8"),
        ("LANGUAGE", "de"),
        ("BPFBOX_LOCALEDIR", s(&locale_dir)),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec();
    let setup = Setup::start_with_env("notifier-german", "", env).await;
    let secret = setup.secret("id_ed25519");
    setup.denial(&secret);
    // German puts the object mid-sentence, so not `notified`'s suffix match
    let n = setup
        .server
        .wait("the German notification", |n| {
            n.replaces_id == 0 && n.summary.contains(s(&secret))
        })
        .await;
    let _ = std::fs::remove_dir_all(&locale_dir);
    assert_eq!(
        n.summary,
        format!("Probe wurde daran gehindert, {} zu lesen", secret.display())
    );
    assert_eq!(
        n.body,
        "Probe wurde bereits abgewiesen: BPF-LSM kann die Anfrage nicht anhalten, während Sie \
         entscheiden. Wenn Sie es erlauben, versuchen Sie es in Probe erneut."
    );
    assert_eq!(
        n.actions,
        [
            "default",
            "bpfbox öffnen",
            "allow-once",
            "Einmal erlauben",
            "allow-10min",
            "10 Minuten lang erlauben",
            "allow-restart",
            "Bis zum Neustart erlauben",
            "allow-always",
            "Immer erlauben",
            "keep-blocking",
            "Weiter blockieren",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_denials_update_one_notification_with_their_count() {
    let setup = Setup::start("notifier-coalesce", "").await;
    let secret = setup.secret("secret");
    for _ in 0..3 {
        setup.denial(&secret);
    }
    let last = setup
        .server
        .wait("counting 3", |n| n.summary.ends_with("(3 times)"))
        .await;
    let first = setup.notified(&secret).await;
    assert_eq!(
        last.summary,
        format!(
            "Probe was blocked from reading {} (3 times)",
            secret.display()
        )
    );
    let calls = setup.server.calls();
    assert!(
        calls.iter().all(|n| n.id == first.id),
        "one notification, updated in place: {calls:#?}"
    );
    assert!(
        calls.iter().skip(1).all(|n| n.replaces_id == first.id),
        "{calls:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_denied_many_things_gets_three_notifications_then_a_summary() {
    // a short window so the test need not wait the default 30 s
    let setup = Setup::start("notifier-limit", "[flood]\napp_window_seconds = 20\n").await;
    let files: Vec<PathBuf> = (0..5).map(|i| setup.secret(&format!("f{i}"))).collect();
    let started = Instant::now();
    for f in &files {
        setup.denial(f);
    }
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the denials must fall into one window for this test to mean anything"
    );
    let summary = setup
        .server
        .wait("summing up", |n| n.summary.contains("more blocked"))
        .await;
    assert_eq!(summary.summary, "2 more blocked actions from Probe");
    assert_eq!(summary.actions, ["default", "Open bpfbox"]);
    let calls = setup.server.calls();
    let denials: Vec<&Notified> = calls
        .iter()
        .filter(|n| n.summary.starts_with("Probe was blocked"))
        .collect();
    assert_eq!(denials.len(), 3, "{calls:#?}");
    for (n, f) in denials.iter().zip(&files) {
        assert!(n.summary.ends_with(s(f)), "in order: {calls:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_once_lets_the_retry_succeed_and_then_the_rule_is_gone() {
    let setup = Setup::start("notifier-once", "").await;
    let secret = setup.secret("secret");
    setup.denial(&secret);
    let n = setup.notified(&secret).await;
    setup.server.invoke(n.id, "allow-once").await;
    let rule = setup.rule_for(&secret).await;
    assert_eq!(rule.expires, "once");
    assert_eq!(setup.read(&secret), 0, "the retry succeeds");
    setup
        .daemon()
        .wait_log(1, |l| l.contains("a once rule was used and is gone"));
    setup.daemon().wait_log(3, |l| l.contains("policy applied"));
    assert!(!setup.profile_text().contains(&rule.id), "the rule left");
    assert_eq!(setup.read(&secret), DENIED, "the next try is denied again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_and_until_restart_answers_add_rules_that_expire_so() {
    let setup = Setup::start("notifier-timed", "").await;
    let (a, b) = (setup.secret("a"), setup.secret("b"));
    setup.denial(&a);
    let n = setup.notified(&a).await;
    setup.server.invoke(n.id, "allow-10min").await;
    let rule = setup.rule_for(&a).await;
    assert!(
        rule.expires.starts_with("20") && rule.expires.contains('T'),
        "an RFC 3339 expiry: {rule:?}"
    );
    assert_eq!(setup.read(&a), 0);
    assert_eq!(setup.read(&a), 0, "it lasts beyond one use");

    setup.denial(&b);
    let n = setup.notified(&b).await;
    setup.server.invoke(n.id, "allow-restart").await;
    let rule = setup.rule_for(&b).await;
    assert_eq!(rule.expires, "restart");
    assert_eq!(setup.read(&b), 0);
    assert_eq!(setup.read(&b), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_allow_writes_a_permanent_rule_into_the_profile_file() {
    let setup = Setup::start("notifier-always", "").await;
    let secret = setup.secret("secret");
    setup.denial(&secret);
    let n = setup.notified(&secret).await;
    setup.server.invoke(n.id, "allow-always").await;
    let rule = setup.rule_for(&secret).await;
    assert_eq!(rule.expires, "", "permanent");
    assert!(setup.profile_text().contains(s(&secret)));
    assert_eq!(setup.read(&secret), 0);
    assert_eq!(setup.read(&secret), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_blocking_silences_that_object_for_good_and_adds_no_rule() {
    let mut setup = Setup::start("notifier-mute", "").await;
    let (secret, other, third) = (
        setup.secret("secret"),
        setup.secret("other"),
        setup.secret("third"),
    );
    let before = setup.profile_text();
    setup.denial(&secret);
    let n = setup.notified(&secret).await;
    setup.server.invoke(n.id, "keep-blocking").await;
    setup.agent().wait_log(1, "muted");
    assert!(
        setup.settings_text().contains(s(&secret)),
        "{}",
        setup.settings_text()
    );

    // the muted denial goes first; the other one proves the agent has
    // handled both
    setup.denial(&secret);
    setup.denial(&other);
    setup.notified(&other).await;
    // and a new agent remembers
    setup.start_agent();
    setup.denial(&secret);
    setup.denial(&third);
    setup.notified(&third).await;
    let about_secret = setup
        .server
        .calls()
        .into_iter()
        .filter(|c| c.summary.contains(s(&secret)))
        .count();
    assert_eq!(about_secret, 1, "{:#?}", setup.server.calls());
    assert_eq!(setup.profile_text(), before, "no rule");
    assert_eq!(setup.read(&secret), DENIED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dismissed_or_expired_notification_creates_no_rule() {
    let setup = Setup::start("notifier-dismiss", "").await;
    let secret = setup.secret("secret");
    let before = setup.profile_text();
    setup.denial(&secret);
    let first = setup.notified(&secret).await;
    setup.server.close(first.id, 2).await; // dismissed by the person
    setup.agent().wait_log(1, "closed without an answer");
    // the same denial again is a new notification, not an update of the
    // closed one
    setup.denial(&secret);
    let second = setup
        .server
        .wait("after the dismissal", |n| {
            n.replaces_id == 0 && n.id != first.id
        })
        .await;
    setup.server.close(second.id, 1).await; // expired
    setup.agent().wait_log(2, "closed without an answer");
    assert_eq!(setup.profile_text(), before);
    assert!(
        setup
            .rules()
            .await
            .iter()
            .all(|r| !r.toml.contains(s(&secret))),
        "no rule"
    );
    assert_eq!(setup.read(&secret), DENIED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_denials_and_forged_answers_are_ignored() {
    let setup = Setup::start("notifier-forged", "").await;
    let secret = setup.secret("secret");
    let before = setup.profile_text();

    // a root process on the system bus that is not bpfboxd sends the agent
    // a Denied of its own
    let forger = zbus::connection::Builder::address(setup.bus.address())
        .unwrap()
        .build()
        .await
        .unwrap();
    let agent_system = setup.agent().unique_name("system");
    let fake = EventInfo {
        id: 1,
        time_usec: 0,
        executable: s(&setup.probe).to_owned(),
        app_id: String::new(),
        display_name: "Probe".into(),
        pid: 1,
        tgid: 1,
        uid: 0,
        comm: "probe".into(),
        kind: "fs".into(),
        object: "/forged".into(),
        access: "read".into(),
        action: "deny".into(),
        count: 1,
        reason: String::new(),
    };
    forger
        .emit_signal(
            Some(agent_system.as_str()),
            names::MANAGER_PATH,
            names::MANAGER_INTERFACE,
            "Denied",
            &(fake,),
        )
        .await
        .unwrap();
    setup.denial(&secret);
    let n = setup.notified(&secret).await;
    assert!(
        setup
            .server
            .calls()
            .iter()
            .all(|c| !c.summary.contains("/forged")),
        "{:#?}",
        setup.server.calls()
    );

    // another session client answers "Always allow" in the person's place,
    // to the agent directly and to everyone
    let session_forger = zbus::connection::Builder::address(setup.session.address())
        .unwrap()
        .build()
        .await
        .unwrap();
    let agent_session = setup.agent().unique_name("session");
    for destination in [Some(agent_session.as_str()), None] {
        session_forger
            .emit_signal(
                destination,
                NOTIFICATIONS_PATH,
                "org.freedesktop.Notifications",
                "ActionInvoked",
                &(n.id, "allow-always"),
            )
            .await
            .unwrap();
    }
    // the real server's dismissal is still news to the agent: the forged
    // answers did not take the notification
    setup.server.close(n.id, 2).await;
    setup.agent().wait_log(1, "closed without an answer");
    assert_eq!(setup.profile_text(), before, "no rule");
    assert_eq!(setup.read(&secret), DENIED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_subscribes_again_when_bpfboxd_restarts() {
    let mut setup = Setup::start("notifier-restart", "").await;
    let (a, b) = (setup.secret("a"), setup.secret("b"));
    setup.denial(&a);
    setup.notified(&a).await;
    setup.daemon.take().unwrap().kill_hard();
    setup.agent().wait_log(1, "bpfboxd stopped");
    setup.daemon = Some(Daemon::start(&setup.sandbox.policy_dir()));
    setup.agent().wait_log(2, "subscribed to bpfboxd");
    setup.denial(&b);
    setup.notified(&b).await;
}
