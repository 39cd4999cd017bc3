//! The app's side of bpfboxd's API: reads that gather what a view needs,
//! the watcher that turns the daemon's signals into "read again", and the
//! words for the daemon's errors. Everything goes through the typed proxies
//! of `bpfbox-dbus`.

use std::time::Duration;

use bpfbox_dbus::{
    names, options, zbus, EventInfo, ManagerProxy, ProfileProxy, RuleInfo, BUS_NAME,
};
use bpfbox_gui::i18n::tr;
use futures_util::{FutureExt as _, StreamExt as _};
use zbus::{
    proxy::CacheProperties, zvariant::OwnedObjectPath, Connection, MatchRule, MessageStream,
};

use super::model::ProfileItem;

/// How many events one `GetEvents` call asks for (the daemon's maximum).
const PAGE: u32 = names::MAX_EVENTS;

/// The manager proxy of `conn`.
pub async fn manager(conn: &Connection) -> Result<ManagerProxy<'static>, bpfbox_dbus::Error> {
    Ok(ManagerProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

/// The proxy of the profile at `path`. Properties are not cached: the app
/// reads them again after every change, and a cache could show a value the
/// daemon no longer has.
pub async fn profile(
    conn: &Connection,
    path: &str,
) -> Result<ProfileProxy<'static>, bpfbox_dbus::Error> {
    Ok(ProfileProxy::builder(conn)
        .path(path.to_owned())?
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

/// Every profile, with the properties `ListProfiles` leaves out (icon,
/// packaged, modified).
pub async fn list_profiles(conn: &Connection) -> Result<Vec<ProfileItem>, bpfbox_dbus::Error> {
    let summaries = manager(conn).await?.list_profiles(&options::none()).await?;
    let mut items = Vec::with_capacity(summaries.len());
    for s in summaries {
        let proxy = profile(conn, s.object.as_str()).await?;
        // A profile removed between the two calls is simply not listed: the
        // InterfacesRemoved signal that follows triggers the next read.
        let Ok(icon) = proxy.icon().await else {
            continue;
        };
        items.push(ProfileItem {
            path: s.object.to_string(),
            executable: s.executable,
            display_name: s.display_name,
            app_id: s.app_id,
            icon,
            mode: s.mode,
            running_processes: s.running_processes,
            rule_count: s.rule_count,
            denial_count: s.denial_count,
            packaged: proxy.packaged().await.unwrap_or(false),
            modified: proxy.modified().await.unwrap_or(false),
            last_error: s.last_error,
        });
    }
    items.sort_by_key(|i| i.title().to_lowercase());
    Ok(items)
}

/// What the detail page shows of one profile.
#[derive(Debug, Clone)]
pub struct Detail {
    pub item: ProfileItem,
    pub rules: Vec<RuleInfo>,
    /// This app's recent events, newest first, or why they cannot be read
    /// (reading events needs polkit's `read-events`, the rest does not).
    pub events: Result<Vec<EventInfo>, String>,
}

/// How many of an app's events its page shows.
const RECENT: usize = 20;

/// Reads the profile at `path` and its rules and recent events.
pub async fn detail(conn: &Connection, path: &str) -> Result<Detail, bpfbox_dbus::Error> {
    let proxy = profile(conn, path).await?;
    let executable = proxy.executable().await?;
    let rules = proxy.get_rules(&options::none()).await?;
    let item = ProfileItem {
        path: path.to_owned(),
        display_name: proxy.display_name().await?,
        app_id: proxy.app_id().await?,
        icon: proxy.icon().await?,
        mode: proxy.mode().await?,
        running_processes: proxy.running_processes().await?,
        rule_count: proxy.rule_count().await?,
        denial_count: proxy.denial_count().await?,
        packaged: proxy.packaged().await?,
        modified: proxy.modified().await?,
        last_error: proxy.last_error().await?,
        executable,
    };
    let events = match events(conn, Some(&item.executable)).await {
        Ok(mut all) => {
            all.reverse();
            all.truncate(RECENT);
            Ok(all)
        }
        Err(e) => Err(error_text(&e)),
    };
    Ok(Detail {
        item,
        rules,
        events,
    })
}

/// Every event the daemon keeps (of `executable` only, if given), oldest
/// first, read page by page.
pub async fn events(
    conn: &Connection,
    executable: Option<&str>,
) -> Result<Vec<EventInfo>, bpfbox_dbus::Error> {
    let manager = manager(conn).await?;
    let mut filter = options::none();
    if let Some(exe) = executable {
        filter.insert(names::option::PROFILE, exe.into());
    }
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = manager.get_events(after, PAGE, &filter).await?;
        let full = page.len() == PAGE as usize;
        after = page.last().map_or(after, |e| e.id);
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

/// The object of the profile confining `executable`.
pub async fn profile_of(
    conn: &Connection,
    executable: &str,
) -> Result<OwnedObjectPath, bpfbox_dbus::Error> {
    manager(conn)
        .await?
        .get_profile(executable, &options::none())
        .await
}

/// What the daemon's side of the bus did, as the watcher reports it.
#[derive(Debug)]
pub enum Watch {
    /// bpfboxd is on the bus (again): read everything.
    Up,
    /// bpfboxd left the bus.
    Down,
    /// Something changed: read again what is shown.
    Changed,
    /// A denial arrived (for subscribers).
    Denied(Box<EventInfo>),
    /// The system bus itself cannot be reached.
    NoBus(String),
}

/// Watches bpfboxd for as long as the returned future runs: whether it owns
/// its name (NameOwnerChanged), and every signal it sends
/// (PropertiesChanged, PolicyReloaded, InterfacesAdded/Removed, Denied).
/// Returns when the connection to the bus is lost.
pub async fn watch(conn: Connection, report: impl Fn(Watch)) {
    let Ok(dbus) = zbus::fdo::DBusProxy::new(&conn).await else {
        return;
    };
    let Ok(mut owners) = dbus
        .receive_name_owner_changed_with_args(&[(0, BUS_NAME)])
        .await
    else {
        return;
    };
    // For broadcast signals the bus resolves the well-known sender, so only
    // bpfboxd's own signals arrive here; forged ones could at worst cause a
    // harmless re-read. Denied is unicast, which the bus delivers whatever
    // the match rule says: it comes through the proxy's stream instead,
    // which checks that the sender owns the name.
    let rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender(BUS_NAME)
        .map(|b| b.build())
        .ok();
    let Some(rule) = rule else { return };
    let Ok(mut signals) = MessageStream::for_match_rule(rule, &conn, Some(64)).await else {
        return;
    };
    let Ok(manager) = manager(&conn).await else {
        return;
    };
    let Ok(mut denied) = manager.receive_denied().await else {
        return;
    };
    // Asked after the streams exist, so a daemon starting in between is
    // seen by one or the other.
    let up = dbus
        .name_has_owner(BUS_NAME.try_into().expect("valid bus name"))
        .await
        .unwrap_or(false);
    report(if up { Watch::Up } else { Watch::Down });
    let is_change = |m: &zbus::Message| m.header().member().is_some_and(|m| m.as_str() != "Denied");
    loop {
        tokio::select! {
            change = owners.next() => {
                let Some(change) = change else { return };
                let Ok(args) = change.args() else { continue };
                report(if args.new_owner().is_some() { Watch::Up } else { Watch::Down });
            }
            signal = denied.next() => {
                let Some(signal) = signal else { return };
                if let Ok(args) = signal.args() {
                    report(Watch::Denied(Box::new(args.event)));
                }
            }
            message = signals.next() => {
                let Some(Ok(message)) = message else { return };
                if !is_change(&message) {
                    continue;
                }
                // A change usually comes as a burst (one PropertiesChanged per
                // object): let the burst arrive, then read once.
                tokio::time::sleep(Duration::from_millis(150)).await;
                while let Some(Some(Ok(_))) = signals.next().now_or_never() {}
                report(Watch::Changed);
            }
        }
    }
}

/// The daemon's error in words for people: refusals say why and what would
/// help; the daemon's own messages (invalid rule, …) are shown as they are.
pub fn error_text(e: &bpfbox_dbus::Error) -> String {
    use bpfbox_dbus::Error as E;
    match e {
        E::NotAuthorized(_) => tr("Not allowed: you are not authorized to change bpfbox's policy."),
        E::InteractiveAuthorizationRequired(_) => tr(
            "Not allowed: an administrator password is needed, and no authentication agent is running.",
        ),
        E::InvalidArgument(m)
        | E::NoSuchProfile(m)
        | E::NoSuchRule(m)
        | E::NoSuchEvent(m)
        | E::Conflict(m)
        | E::PolicyInvalid(m)
        | E::Failed(m) => m.clone(),
        E::ZBus(zbus::Error::MethodError(_, Some(m), _)) => m.clone(),
        E::ZBus(other) => tr("bpfboxd could not be reached: {error}")
            .replace("{error}", &other.to_string()),
    }
}
