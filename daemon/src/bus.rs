//! The D-Bus API on the system bus: `org.bpfbox.Bpfbox1` (docs/dbus.md).
//!
//! Reading is public; every change and every event read is authorized by
//! polkit for the calling bus name. Changes go through the policy files
//! (written atomically) and a reload, so the API never holds a state the
//! files do not.

mod authority;
mod context;
mod convert;
mod manager;
mod profile;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::{Duration, Instant},
};

use bpfbox_abi as abi;
use bpfbox_dbus::{profile_path, BUS_NAME, MANAGER_PATH};
use bpfbox_policy::{Expiry, RuleKind};
use futures_util::StreamExt as _;
use tokio::sync::broadcast::error::RecvError;
use zbus::{names::BusName, object_server::SignalEmitter, Connection};

use self::{context::Context, manager::Manager, profile::ProfileObject};
use crate::{
    events::record::{EventRecord, FilePath, Kind, Object},
    policy::source::{PolicyView, ProfileView},
    state::{ControlSender, DaemonState},
};

/// At most this many `Denied` signals per subscriber per second; the rest
/// stay in the history (`GetEvents`).
const DENIED_PER_SECOND: u32 = 10;

/// Takes the bus name and serves the API until the daemon exits.
pub async fn serve(shared: Arc<DaemonState>, control: ControlSender) -> zbus::Result<Connection> {
    let ctx = Context::new(Arc::clone(&shared), control);
    let conn = zbus::connection::Builder::system()?
        .serve_at(
            MANAGER_PATH,
            Manager {
                ctx: Arc::clone(&ctx),
            },
        )?
        .serve_at(MANAGER_PATH, zbus::fdo::ObjectManager)?
        .name(BUS_NAME)?
        .build()
        .await?;
    tokio::spawn(follow_policy(conn.clone(), Arc::clone(&ctx)));
    tokio::spawn(forward_events(conn.clone(), Arc::clone(&ctx)));
    tokio::spawn(forget_departed(conn.clone(), ctx));
    Ok(conn)
}

/// Keeps one object per profile in force, and announces changes.
async fn follow_policy(conn: Connection, ctx: Arc<Context>) {
    let mut reloads = ctx.shared.reloads.subscribe();
    let mut served: BTreeMap<u64, ProfileView> = BTreeMap::new();
    loop {
        let view = ctx.shared.view();
        if let Err(err) = sync_objects(&conn, &ctx, &view, &mut served).await {
            tracing::warn!("failed to update the D-Bus profile objects: {err}");
        }
        if reloads.changed().await.is_err() {
            return;
        }
    }
}

async fn sync_objects(
    conn: &Connection,
    ctx: &Arc<Context>,
    view: &PolicyView,
    served: &mut BTreeMap<u64, ProfileView>,
) -> zbus::Result<()> {
    let server = conn.object_server();
    let gone: Vec<u64> = served
        .keys()
        .filter(|id| !view.profiles.contains_key(id))
        .copied()
        .collect();
    for id in gone {
        server.remove::<ProfileObject, _>(profile_path(id)).await?;
        served.remove(&id);
    }
    for (id, profile) in &view.profiles {
        match served.get(id) {
            None => {
                let object = ProfileObject {
                    id: *id,
                    ctx: Arc::clone(ctx),
                };
                server.at(profile_path(*id), object).await?;
            }
            Some(old) if old != profile => {
                let iface = server
                    .interface::<_, ProfileObject>(profile_path(*id))
                    .await?;
                let emitter = iface.signal_emitter();
                let object = iface.get().await;
                // only what changed: a client's view follows each signal
                let (was, now) = (&old.profile, &profile.profile);
                if was.name != now.name {
                    object.display_name_changed(emitter).await?;
                }
                if was.desktop_id != now.desktop_id {
                    object.app_id_changed(emitter).await?;
                }
                if was.icon != now.icon {
                    object.icon_changed(emitter).await?;
                }
                if was.mode != now.mode {
                    object.mode_changed(emitter).await?;
                }
                if old.file != profile.file {
                    object.file_changed(emitter).await?;
                }
                if was.rule_count() != now.rule_count() {
                    object.rule_count_changed(emitter).await?;
                }
                if old.last_error != profile.last_error {
                    object.last_error_changed(emitter).await?;
                }
                if old.executable.is_some() != profile.executable.is_some() {
                    object.installed_changed(emitter).await?;
                }
                if was != now {
                    object.modified_changed(emitter).await?;
                }
            }
            Some(_) => {}
        }
        served.insert(*id, profile.clone());
    }
    let manager = server.interface::<_, Manager>(MANAGER_PATH).await?;
    let emitter = manager.signal_emitter();
    manager.get().await.profile_count_changed(emitter).await?;
    manager.get().await.policy_problems_changed(emitter).await?;
    let errors = view.problems.iter().filter(|d| d.is_error()).count();
    Manager::policy_reloaded(
        emitter,
        u32::try_from(view.profiles.len()).unwrap_or(u32::MAX),
        u32::try_from(errors).unwrap_or(u32::MAX),
    )
    .await
}

/// Sends `Denied` to subscribers, and retires `once` rules on first use.
async fn forward_events(conn: Connection, ctx: Arc<Context>) {
    let mut events = ctx.shared.events.subscribe();
    let mut budget: BTreeMap<String, (Instant, u32)> = BTreeMap::new();
    let retiring = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    loop {
        let record = match events.recv().await {
            Ok(record) => record,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(
                    skipped = n,
                    "D-Bus fell behind the events; they are in the history"
                );
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if record.decision & abi::DECISION_DENY != 0 {
            deny_signal(&conn, &ctx, &record, &mut budget).await;
        } else if record.decision & abi::DECISION_AUDIT != 0 {
            retire_once(&ctx, &record, &retiring);
        }
    }
}

async fn deny_signal(
    conn: &Connection,
    ctx: &Context,
    record: &EventRecord,
    budget: &mut BTreeMap<String, (Instant, u32)>,
) {
    let subscribers: Vec<String> = ctx
        .subscribers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter(|(_, s)| s.uid == 0 || s.uid == record.uid)
        .map(|(name, _)| name.clone())
        .collect();
    if subscribers.is_empty() {
        return;
    }
    let info = convert::event_info(record, &ctx.shared.view());
    let now = Instant::now();
    budget.retain(|name, _| subscribers.contains(name));
    for name in subscribers {
        let (since, sent) = budget.entry(name.clone()).or_insert((now, 0));
        if now.duration_since(*since) >= Duration::from_secs(1) {
            *since = now;
            *sent = 0;
        }
        if *sent >= DENIED_PER_SECOND {
            continue;
        }
        *sent += 1;
        let Ok(destination) = BusName::try_from(name.as_str()) else {
            continue;
        };
        let sent = async {
            let emitter = SignalEmitter::new(conn, MANAGER_PATH)?.set_destination(destination);
            Manager::denied(&emitter, info.clone()).await
        };
        if let Err(err) = sent.await {
            tracing::debug!(subscriber = %name, "failed to send Denied: {err}");
        }
    }
}

/// A `once` rule lasts until its first use: the kernel audits its uses, and
/// the first report removes it from its file.
fn retire_once(
    ctx: &Arc<Context>,
    record: &EventRecord,
    retiring: &Arc<std::sync::Mutex<BTreeSet<String>>>,
) {
    let view = ctx.shared.view();
    let Some(profile) = view.profiles.get(&record.profile_id) else {
        return;
    };
    let Some(id) = used_once_rule(profile, record) else {
        return;
    };
    let key = format!("{}/{id}", record.profile_id);
    if !retiring
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key.clone())
    {
        return;
    }
    let ctx = Arc::clone(ctx);
    let retiring = Arc::clone(retiring);
    let profile_id = record.profile_id;
    tokio::spawn(async move {
        match ctx.edit(profile_id, |e| e.remove_rule(&id)).await {
            Ok(()) => tracing::info!(rule = %id, "a once rule was used and is gone"),
            Err(err) => tracing::warn!(rule = %id, "failed to retire a once rule: {err}"),
        }
        retiring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&key);
    });
}

/// The `once` rule that `record` reports a use of, if any.
fn used_once_rule(profile: &ProfileView, record: &EventRecord) -> Option<String> {
    let kind = match record.kind {
        Kind::Fs => RuleKind::Fs,
        Kind::Net => RuleKind::Net,
        Kind::Signal => RuleKind::Signal,
        Kind::Ptrace => RuleKind::Ptrace,
        Kind::Proc => RuleKind::Proc,
        Kind::Capability => RuleKind::Capability,
        _ => return None,
    };
    profile
        .profile
        .rules()
        .into_iter()
        .filter(|r| r.kind == kind && *r.expires == Expiry::Once && r.enabled)
        .find(|r| match (&record.object, kind) {
            (
                Object::File {
                    path: FilePath::Full(path),
                    ..
                },
                RuleKind::Fs,
            ) => profile.profile.fs[r.index]
                .object
                .files
                .iter()
                .any(|f| f.as_str() == path),
            // other kinds name few objects: the first once rule of the kind
            (_, RuleKind::Fs) => false,
            _ => true,
        })
        .map(|r| r.id)
}

/// Drops the subscriptions of clients that left the bus.
async fn forget_departed(conn: Connection, ctx: Arc<Context>) {
    let Ok(dbus) = zbus::fdo::DBusProxy::new(&conn).await else {
        return;
    };
    let Ok(mut changes) = dbus.receive_name_owner_changed().await else {
        return;
    };
    while let Some(change) = changes.next().await {
        let Ok(args) = change.args() else { continue };
        if args.new_owner().is_none() {
            ctx.subscribers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(args.name().as_str());
        }
    }
}
