//! The agent's event loop: `Denied` from bpfboxd on the system bus in,
//! notifications on the session bus out, and the person's answers back to
//! bpfboxd.

use std::{
    collections::HashMap,
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use bpfbox_dbus::{options, EventInfo, ManagerProxy, ProfileProxy, BUS_NAME};
use futures_util::StreamExt as _;
use zbus::{fdo::DBusProxy, proxy::CacheProperties, Connection};

use super::{
    flood::{Decision, Flood, Key},
    notifications::{hints, NotificationsProxy},
    settings::Settings,
    wording::{self, Answer},
};
use crate::i18n::tr;

/// The app name the notification server shows (a product name: not
/// translated).
const APP_NAME: &str = "bpfbox";
/// The answer "Allow for 10 minutes".
const TEN_MINUTES: u32 = 600;
/// The app opened by a click on a notification.
const MANAGER: &str = "bpfbox-manager";

/// What a notification on screen stands for.
#[derive(Debug)]
enum Shown {
    /// One denial (the latest of its coalesced repeats).
    Denial { event: Box<EventInfo>, key: Key },
    /// The summary of an app's held-back denials.
    Summary { executable: String },
}

/// The agent: its connections and what it has on screen.
pub struct Agent {
    system: Connection,
    manager: ManagerProxy<'static>,
    notifications: NotificationsProxy<'static>,
    settings_path: Option<PathBuf>,
    flood: Flood,
    shown: HashMap<u32, Shown>,
    by_key: HashMap<Key, u32>,
    summaries: HashMap<String, u32>,
    app_names: HashMap<String, String>,
}

impl Agent {
    /// Connects to the system bus (`DBUS_SYSTEM_BUS_ADDRESS` or the
    /// default) and the session bus (`DBUS_SESSION_BUS_ADDRESS`).
    ///
    /// # Errors
    ///
    /// A bus cannot be reached.
    pub async fn connect() -> anyhow::Result<Self> {
        let system = Connection::system()
            .await
            .context("cannot connect to the system bus")?;
        let session = Connection::session()
            .await
            .context("cannot connect to the session bus")?;
        tracing::info!(
            system = %system.unique_name().map(ToString::to_string).unwrap_or_default(),
            session = %session.unique_name().map(ToString::to_string).unwrap_or_default(),
            "connected"
        );
        let manager = ManagerProxy::uncached(&system).await?;
        let notifications = NotificationsProxy::builder(&session)
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        let settings_path = Settings::default_path();
        if settings_path.is_none() {
            tracing::warn!("neither XDG_CONFIG_HOME nor HOME is set: settings are the defaults");
        }
        let settings = load(settings_path.as_ref());
        Ok(Self {
            system,
            manager,
            notifications,
            settings_path,
            flood: Flood::new(settings.limits()),
            shown: HashMap::new(),
            by_key: HashMap::new(),
            summaries: HashMap::new(),
            app_names: HashMap::new(),
        })
    }

    /// Runs until a bus connection ends.
    ///
    /// # Errors
    ///
    /// A bus connection failed.
    pub async fn run(mut self) -> anyhow::Result<()> {
        // Every stream is open before the first Subscribe and the first
        // Notify, so no signal can slip between a call and the listening.
        let mut denied = self.manager.receive_denied().await?;
        let dbus = DBusProxy::new(&self.system).await?;
        let mut owners = dbus
            .receive_name_owner_changed_with_args(&[(0, BUS_NAME)])
            .await?;
        let mut actions = self.notifications.receive_action_invoked().await?;
        let mut closed = self.notifications.receive_notification_closed().await?;

        let bus_name = zbus::names::BusName::try_from(BUS_NAME)?;
        if dbus.name_has_owner(bus_name).await? {
            self.subscribe().await;
        } else {
            tracing::info!("bpfboxd is not running; waiting for it");
        }
        loop {
            let wake = self
                .flood
                .next_due()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                Some(signal) = denied.next() => match signal.args() {
                    Ok(args) => self.on_denied(args.event).await,
                    Err(err) => tracing::warn!("malformed Denied signal: {err}"),
                },
                Some(signal) = owners.next() => {
                    let Ok(args) = signal.args() else { continue };
                    if args.new_owner().is_some() {
                        tracing::info!("bpfboxd (re)started");
                        self.subscribe().await;
                    } else {
                        tracing::info!("bpfboxd stopped");
                        self.daemon_gone().await;
                    }
                }
                Some(signal) = actions.next() => {
                    if let Ok(args) = signal.args() {
                        self.on_action(args.id, &args.action_key).await;
                    }
                }
                Some(signal) = closed.next() => {
                    if let Ok(args) = signal.args() {
                        self.on_closed(args.id, args.reason);
                    }
                }
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {
                    self.show_summaries(Instant::now()).await;
                }
                else => anyhow::bail!("a bus connection closed"),
            }
        }
    }

    async fn subscribe(&self) {
        // The daemon takes its name after serving its objects, so a
        // refusal here is polkit's answer or a dying daemon, not a race;
        // a few tries cover a polkitd that is still starting.
        for attempt in 1..=5 {
            match self.manager.subscribe(&options::none()).await {
                Ok(()) => {
                    tracing::info!("subscribed to bpfboxd");
                    return;
                }
                Err(err) => {
                    tracing::warn!(attempt, "Subscribe failed: {err}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        tracing::error!("could not subscribe to bpfboxd; waiting for it to restart");
    }

    /// The daemon's event ids die with it: answers to its notifications
    /// could only fail, so they go.
    async fn daemon_gone(&mut self) {
        let ids: Vec<u32> = self
            .shown
            .iter()
            .filter(|(_, s)| matches!(s, Shown::Denial { .. }))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(Shown::Denial { key, .. }) = self.shown.remove(&id) {
                self.by_key.remove(&key);
                self.flood.forget(&key);
            }
            if let Err(err) = self.notifications.close_notification(id).await {
                tracing::debug!(id, "CloseNotification failed: {err}");
            }
        }
    }

    async fn on_denied(&mut self, event: EventInfo) {
        if !event.action.split(',').any(|a| a == "deny") {
            return;
        }
        let settings = load(self.settings_path.as_ref());
        self.flood.set_limits(settings.limits());
        if settings.do_not_disturb {
            tracing::debug!(id = event.id, "do not disturb: not shown");
            return;
        }
        if settings.is_muted(&event.executable, &event.object) {
            tracing::debug!(id = event.id, "muted: not shown");
            return;
        }
        let now = Instant::now();
        self.show_summaries(now).await;
        let key = Key {
            executable: event.executable.clone(),
            object: event.object.clone(),
            access: event.access.clone(),
        };
        self.app_names
            .insert(event.executable.clone(), wording::app_name(&event));
        let (replaces, count) = match self.flood.denied(key.clone(), event.count, now) {
            Decision::HeldBack => {
                tracing::debug!(id = event.id, "held back by the per-app limit");
                return;
            }
            Decision::Show => (0, event.count.max(1)),
            Decision::Update { count } => (self.by_key.get(&key).copied().unwrap_or(0), count),
        };
        let icon = self.icon(&event).await;
        let actions = wording::actions();
        let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
        let sent = self
            .notifications
            .notify(
                APP_NAME,
                replaces,
                &icon,
                &wording::summary(&event, count),
                &wording::body(&event),
                &actions,
                hints(),
                -1,
            )
            .await;
        match sent {
            Ok(id) => {
                tracing::info!(id, event = event.id, count, "notified");
                if replaces != 0 && replaces != id {
                    self.shown.remove(&replaces);
                }
                self.by_key.insert(key.clone(), id);
                self.shown.insert(
                    id,
                    Shown::Denial {
                        event: Box::new(event),
                        key,
                    },
                );
            }
            Err(err) => {
                tracing::warn!("Notify failed: {err}");
                self.flood.forget(&key);
            }
        }
    }

    /// The profile's icon, else one named after the app id.
    async fn icon(&self, event: &EventInfo) -> String {
        let profile_icon = async {
            let path = self
                .manager
                .get_profile(&event.executable, &options::none())
                .await?;
            let profile = ProfileProxy::uncached(&self.system, path).await?;
            Ok::<_, anyhow::Error>(profile.icon().await?)
        }
        .await
        .unwrap_or_else(|err| {
            tracing::debug!("no profile icon: {err}");
            String::new()
        });
        wording::icon(&profile_icon, &event.app_id)
    }

    async fn show_summaries(&mut self, now: Instant) {
        for due in self.flood.due(now) {
            let app = self
                .app_names
                .get(&due.executable)
                .cloned()
                .unwrap_or_else(|| due.executable.clone());
            let replaces = self.summaries.get(&due.executable).copied().unwrap_or(0);
            let (key, label) = (Answer::Open.key(), Answer::Open.label());
            let sent = self
                .notifications
                .notify(
                    APP_NAME,
                    replaces,
                    "dialog-warning",
                    &wording::more_summary(&app, due.count),
                    &wording::more_body(),
                    &[key, label.as_str()],
                    hints(),
                    -1,
                )
                .await;
            match sent {
                Ok(id) => {
                    tracing::info!(id, count = due.count, "notified a summary");
                    self.summaries.insert(due.executable.clone(), id);
                    self.shown.insert(
                        id,
                        Shown::Summary {
                            executable: due.executable,
                        },
                    );
                }
                Err(err) => tracing::warn!("Notify failed: {err}"),
            }
        }
    }

    async fn on_action(&mut self, id: u32, action_key: &str) {
        // ids the agent did not show belong to other apps of the session
        let Some(shown) = self.shown.remove(&id) else {
            return;
        };
        let answer = Answer::from_key(action_key);
        tracing::info!(id, action = action_key, "answered");
        let (event, key) = match shown {
            Shown::Summary { executable } => {
                self.summaries.remove(&executable);
                if answer == Some(Answer::Open) {
                    open_manager(&executable);
                }
                return;
            }
            Shown::Denial { event, key } => (event, key),
        };
        self.by_key.remove(&key);
        self.flood.forget(&key);
        match answer {
            None => tracing::warn!(action = action_key, "unknown action: nothing done"),
            Some(Answer::Open) => open_manager(&event.executable),
            Some(Answer::KeepBlocking) => self.mute(&event),
            Some(grant) => {
                // Always allow may make polkit ask for a password, which
                // takes as long as the person does: off the event loop.
                let manager = self.manager.clone();
                let notifications = self.notifications.clone();
                tokio::spawn(async move {
                    if let Err(err) = apply(&manager, grant, event.id).await {
                        tracing::warn!(event = event.id, "{grant:?} failed: {err}");
                        report_failure(&notifications, &event, &err).await;
                    } else {
                        tracing::info!(event = event.id, "{grant:?} done");
                    }
                });
            }
        }
    }

    fn on_closed(&mut self, id: u32, reason: u32) {
        // A dismissed or expired notification is no answer: no rule, and
        // the next identical denial gets a new notification.
        if let Some(shown) = self.shown.remove(&id) {
            tracing::info!(id, reason, "closed without an answer");
            match shown {
                Shown::Denial { key, .. } => {
                    self.by_key.remove(&key);
                    self.flood.forget(&key);
                }
                Shown::Summary { executable } => {
                    self.summaries.remove(&executable);
                }
            }
        }
    }

    fn mute(&self, event: &EventInfo) {
        let Some(path) = &self.settings_path else {
            tracing::warn!("no settings file: cannot remember to keep blocking");
            return;
        };
        // a file that does not parse is the person's: never written over
        let mut settings = match Settings::load(path) {
            Ok(s) => s,
            Err(err) => {
                tracing::warn!("{}: {err}; not muting", path.display());
                return;
            }
        };
        if settings.add_mute(&event.executable, &event.object) {
            match settings.save(path) {
                Ok(()) => tracing::info!(object = %event.object, "muted"),
                Err(err) => tracing::warn!("cannot write {}: {err}", path.display()),
            }
        }
    }
}

fn load(path: Option<&PathBuf>) -> Settings {
    path.map_or_else(Settings::default, |p| {
        Settings::load(p).unwrap_or_else(|err| {
            tracing::warn!("{}: {err}; using the defaults", p.display());
            Settings::default()
        })
    })
}

async fn apply(manager: &ManagerProxy<'_>, answer: Answer, event: u64) -> anyhow::Result<()> {
    let grant = |d: bpfbox_dbus::Duration| {
        let (word, opts) = d.to_wire();
        async move { manager.grant_temporary(event, word, &opts).await }
    };
    let (_, rule) = match answer {
        Answer::AllowOnce => grant(bpfbox_dbus::Duration::Once).await?,
        Answer::AllowTenMinutes => {
            grant(bpfbox_dbus::Duration::Timed {
                seconds: TEN_MINUTES,
            })
            .await?
        }
        Answer::AllowUntilRestart => grant(bpfbox_dbus::Duration::Restart).await?,
        Answer::AlwaysAllow => manager.allow_event(event, &options::none()).await?,
        Answer::KeepBlocking | Answer::Open => return Ok(()),
    };
    tracing::info!(rule, "rule added");
    Ok(())
}

async fn report_failure(
    notifications: &NotificationsProxy<'_>,
    event: &EventInfo,
    err: &anyhow::Error,
) {
    let summary = tr("Could not allow this for {app}").replace("{app}", &wording::app_name(event));
    let _ = notifications
        .notify(
            APP_NAME,
            0,
            "dialog-error",
            &summary,
            &err.to_string(),
            &[],
            hints(),
            -1,
        )
        .await;
}

/// Opens the app on the profile. The app is optional (the agent works
/// without it), so failing to start it is logged, not fatal.
fn open_manager(executable: &str) {
    match Command::new(MANAGER)
        .args(["--profile", executable])
        .spawn()
    {
        // reaped on a thread of its own: the agent outlives the app
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(err) => tracing::warn!("cannot start {MANAGER}: {err}"),
    }
}
