//! `org.bpfbox.Bpfbox1.Manager` at `/org/bpfbox/Bpfbox1`.

use std::sync::Arc;

use bpfbox_dbus::{
    names::action,
    options::{self, EventFilter, Options},
    profile_path, validate, Duration, Error, EventInfo, Problem, ProfileSummary,
};
use bpfbox_policy::{Expiry, ProfileEdit};
use zbus::{message::Header, object_server::SignalEmitter, zvariant::OwnedObjectPath, Connection};

use super::{
    authority::{authorize, caller},
    context::{Context, Subscriber},
    convert,
};
use crate::{events::history::Filter, kernel};

/// Option of `CreateProfile`: the new file's name.
const FILE_NAME: &str = "file_name";

pub struct Manager {
    pub ctx: Arc<Context>,
}

#[zbus::interface(name = "org.bpfbox.Bpfbox1.Manager")]
impl Manager {
    #[zbus(out_args("profile"))]
    async fn get_profile(
        &self,
        executable: &str,
        options: Options,
    ) -> Result<OwnedObjectPath, Error> {
        options::check_keys(&options, &[])?;
        let exe = validate::executable(executable)?;
        let view = self.ctx.shared.view();
        view.profiles
            .iter()
            .find(|(_, p)| p.profile.profile.as_os_str() == exe)
            .map(|(id, _)| profile_path(*id))
            .ok_or_else(|| Error::NoSuchProfile(format!("no profile confines {exe}")))
    }

    /// Creates a profile from its whole text; option `file_name` (s) names
    /// its file in the policy directory (default: after the executable).
    #[zbus(out_args("profile"))]
    async fn create_profile(
        &self,
        text: &str,
        options: Options,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath, Error> {
        options::check_keys(&options, &[FILE_NAME])?;
        let file_name = options::get_str(&options, FILE_NAME)?;
        validate::profile_text(text)?;
        authorize(conn, &header, action::MANAGE).await?;
        let id = self.ctx.create(text, file_name).await?;
        tracing::info!(profile = id, "profile created over D-Bus");
        Ok(profile_path(id))
    }

    #[zbus(out_args("profiles"))]
    async fn list_profiles(&self, options: Options) -> Result<Vec<ProfileSummary>, Error> {
        options::check_keys(&options, &[])?;
        let view = self.ctx.shared.view();
        let totals = self.ctx.shared.history.totals();
        let running = kernel::running_processes();
        Ok(view
            .profiles
            .iter()
            .map(|(id, p)| {
                let denials = totals.get(id).map_or(0, |t| t.denials);
                convert::summary(*id, p, denials, running.get(id).copied().unwrap_or(0))
            })
            .collect())
    }

    #[zbus(out_args("events"))]
    async fn get_events(
        &self,
        after_id: u64,
        limit: u32,
        options: Options,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<Vec<EventInfo>, Error> {
        let limit = validate::event_limit(limit)?;
        let wanted = EventFilter::from_options(&options)?;
        authorize(conn, &header, action::READ_EVENTS).await?;
        let who = caller(conn, &header).await?;
        // other users' activity is theirs: only root sees every uid
        let uid = if who.is_root() {
            wanted.uid
        } else {
            Some(who.uid)
        };
        if wanted.uid.is_some_and(|u| Some(u) != uid) {
            return Ok(Vec::new());
        }
        let filter = Filter {
            exe: wanted.profile.map(Into::into),
            uid,
        };
        let view = self.ctx.shared.view();
        Ok(self
            .ctx
            .shared
            .history
            .after(after_id, limit as usize, &filter)
            .iter()
            .map(|r| convert::event_info(r, &view))
            .collect())
    }

    #[zbus(out_args("profile", "rule_id"))]
    async fn grant_temporary(
        &self,
        event_id: u64,
        duration: &str,
        options: Options,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(OwnedObjectPath, String), Error> {
        let duration = Duration::from_wire(duration, &options)?;
        let record = self.event(event_id)?;
        let who = caller(conn, &header).await?;
        // a user may let their own app retry; anyone else's needs `manage`
        let needed = if who.uid == record.uid {
            action::GRANT_TEMPORARY
        } else {
            action::MANAGE
        };
        authorize(conn, &header, needed).await?;
        let expiry = match duration {
            Duration::Once => Expiry::Once,
            Duration::Restart => Expiry::UntilRestart(self.ctx.shared.instance.clone()),
            Duration::Timed { seconds } => Expiry::At(unix_now() + i64::from(seconds)),
        };
        // it loosens only the processes of the user whose access was denied
        // (the caller's own, unless an administrator answered for them)
        self.allow(&record, &expiry, Some(record.uid)).await
    }

    #[zbus(out_args("profile", "rule_id"))]
    async fn allow_event(
        &self,
        event_id: u64,
        options: Options,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(OwnedObjectPath, String), Error> {
        options::check_keys(&options, &[])?;
        let record = self.event(event_id)?;
        authorize(conn, &header, action::MANAGE).await?;
        self.allow(&record, &Expiry::Never, None).await
    }

    async fn reload(
        &self,
        options: Options,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), Error> {
        options::check_keys(&options, &[])?;
        authorize(conn, &header, action::RELOAD).await?;
        let done = self.ctx.reload().await?;
        tracing::info!(
            profiles = done.profiles,
            errors = done.errors,
            "policy reloaded on request over D-Bus"
        );
        Ok(())
    }

    async fn subscribe(
        &self,
        options: Options,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), Error> {
        options::check_keys(&options, &[])?;
        authorize(conn, &header, action::READ_EVENTS).await?;
        let who = caller(conn, &header).await?;
        self.ctx
            .subscribers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(who.name, Subscriber { uid: who.uid });
        Ok(())
    }

    async fn unsubscribe(
        &self,
        options: Options,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), Error> {
        options::check_keys(&options, &[])?;
        if let Some(sender) = header.sender() {
            self.ctx
                .subscribers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(sender.as_str());
        }
        Ok(())
    }

    /// Sent only to subscribers, each only for its own uid's processes
    /// (root: every process), so other users' denials never cross the bus.
    #[zbus(signal)]
    pub async fn denied(emitter: &SignalEmitter<'_>, event: EventInfo) -> zbus::Result<()>;

    #[zbus(signal)]
    pub async fn policy_reloaded(
        emitter: &SignalEmitter<'_>,
        profiles: u32,
        errors: u32,
    ) -> zbus::Result<()>;

    #[zbus(property(emits_changed_signal = "const"))]
    async fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    #[zbus(property(emits_changed_signal = "const"))]
    async fn abi_version(&self) -> u32 {
        bpfbox_abi::ABI_VERSION
    }

    #[zbus(property)]
    async fn enforcing(&self) -> bool {
        kernel::enforcing()
    }

    #[zbus(property(emits_changed_signal = "const"))]
    async fn kernel_release(&self) -> String {
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    }

    #[zbus(property(emits_changed_signal = "const"))]
    async fn policy_directory(&self) -> String {
        self.ctx.shared.policy_dir.display().to_string()
    }

    #[zbus(property(emits_changed_signal = "const"))]
    async fn instance_id(&self) -> String {
        self.ctx.shared.instance.clone()
    }

    #[zbus(property)]
    async fn profile_count(&self) -> u32 {
        u32::try_from(self.ctx.shared.view().profiles.len()).unwrap_or(u32::MAX)
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn events_delivered(&self) -> u64 {
        self.ctx.shared.counters.snapshot().received
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn events_lost(&self) -> u64 {
        self.ctx.shared.counters.snapshot().lost
    }

    #[zbus(property)]
    async fn policy_problems(&self) -> Vec<Problem> {
        convert::problems(&self.ctx.shared.view())
    }
}

impl Manager {
    fn event(&self, id: u64) -> Result<crate::events::record::EventRecord, Error> {
        self.ctx.shared.history.get(id).ok_or_else(|| {
            Error::NoSuchEvent(format!(
                "no event {id} in the recent history (it holds the last events only)"
            ))
        })
    }

    /// Adds the rule that allows what `record` was denied to its profile.
    /// Adds a rule allowing what `record` reports, until `expiry`, for the
    /// processes of `uid` (none: every process of the profile).
    async fn allow(
        &self,
        record: &crate::events::record::EventRecord,
        expiry: &Expiry,
        uid: Option<u32>,
    ) -> Result<(OwnedObjectPath, String), Error> {
        if record.decision & (bpfbox_abi::DECISION_DENY | bpfbox_abi::DECISION_COMPLAIN) == 0 {
            return Err(Error::InvalidArgument(format!(
                "event {} was not a denial: nothing to allow",
                record.id
            )));
        }
        let view = self.ctx.shared.view();
        let mut rule = convert::rule_for(record, &view).map_err(Error::InvalidArgument)?;
        if let Some(uid) = uid {
            rule = rule.for_uid(uid);
        }
        let id = self
            .ctx
            .edit(record.profile_id, |edit: &mut ProfileEdit| {
                edit.add_rule(&rule, None, expiry)
            })
            .await?;
        tracing::info!(event = record.id, rule = %id, expires = ?expiry, "rule added from a denial");
        Ok((profile_path(record.profile_id), id))
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
