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

/// The manager proxy of `conn`.
pub async fn manager(conn: &Connection) -> Result<ManagerProxy<'static>, bpfbox_dbus::Error> {
    ManagerProxy::uncached(conn).await
}

/// The proxy of the profile at `path`. Properties are not cached: the app
/// reads them again after every change, and a cache could show a value the
/// daemon no longer has.
pub async fn profile(
    conn: &Connection,
    path: &str,
) -> Result<ProfileProxy<'static>, bpfbox_dbus::Error> {
    ProfileProxy::uncached(conn, path.to_owned()).await
}

/// Every profile with all its properties, in one round trip: the
/// ObjectManager's `GetManagedObjects` (a call per profile made the first
/// list of a few hundred apps take seconds).
pub async fn list_profiles(conn: &Connection) -> Result<Vec<ProfileItem>, bpfbox_dbus::Error> {
    let objects = zbus::fdo::ObjectManagerProxy::builder(conn)
        .destination(BUS_NAME)?
        .path(names::MANAGER_PATH)?
        .cache_properties(CacheProperties::No)
        .build()
        .await?
        .get_managed_objects()
        .await?;
    let mut items: Vec<ProfileItem> = objects
        .into_iter()
        .filter_map(|(path, interfaces)| {
            let props = interfaces
                .into_iter()
                .find(|(name, _)| name.as_str() == names::PROFILE_INTERFACE)?
                .1;
            profile_item(path.to_string(), &props)
        })
        .collect();
    items.sort_by_key(|i| i.title().to_lowercase());
    Ok(items)
}

/// A list item from a profile object's properties; `None` if one is missing
/// or of another type (a daemon of another version), which leaves the
/// profile out rather than showing made-up values.
fn profile_item(
    path: String,
    props: &std::collections::HashMap<String, zbus::zvariant::OwnedValue>,
) -> Option<ProfileItem> {
    fn get<T: TryFrom<zbus::zvariant::OwnedValue>>(
        props: &std::collections::HashMap<String, zbus::zvariant::OwnedValue>,
        name: &str,
    ) -> Option<T> {
        T::try_from(props.get(name)?.try_clone().ok()?).ok()
    }
    Some(ProfileItem {
        path,
        executable: get(props, "Executable")?,
        display_name: get(props, "DisplayName")?,
        app_id: get(props, "AppId")?,
        icon: get(props, "Icon")?,
        mode: get(props, "Mode")?,
        installed: get(props, "Installed")?,
        running_processes: get(props, "RunningProcesses")?,
        rule_count: get(props, "RuleCount")?,
        denial_count: get(props, "DenialCount")?,
        packaged: get(props, "Packaged")?,
        modified: get(props, "Modified")?,
        last_error: get(props, "LastError")?,
    })
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
        installed: proxy.installed().await?,
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
    manager(conn).await?.events_after(0, executable).await
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use zbus::zvariant::{OwnedValue, Value};

    use super::*;

    fn props() -> HashMap<String, OwnedValue> {
        let mut p = HashMap::new();
        let mut put = |k: &str, v: Value<'static>| {
            p.insert(k.to_owned(), OwnedValue::try_from(v).unwrap());
        };
        put("Executable", "/usr/bin/gzip".into());
        put("DisplayName", "gzip".into());
        put("AppId", "".into());
        put("Icon", "".into());
        put("Mode", "enforce".into());
        put("Installed", true.into());
        put("RunningProcesses", 2u32.into());
        put("RuleCount", 3u32.into());
        put("DenialCount", 4u64.into());
        put("Packaged", true.into());
        put("Modified", false.into());
        put("LastError", "".into());
        p
    }

    #[test]
    fn a_profile_objects_properties_make_its_list_item() {
        let item = profile_item("/p".into(), &props()).expect("complete properties");
        assert_eq!(item.executable, "/usr/bin/gzip");
        assert_eq!(
            (item.running_processes, item.rule_count, item.denial_count),
            (2, 3, 4)
        );
        assert!(item.packaged && !item.modified);
    }

    #[test]
    fn a_missing_or_mistyped_property_leaves_the_profile_out() {
        let mut p = props();
        p.remove("Mode");
        assert!(profile_item("/p".into(), &p).is_none());
        let mut p = props();
        p.insert("DenialCount".into(), OwnedValue::from(4u32));
        assert!(profile_item("/p".into(), &p).is_none());
    }
}
