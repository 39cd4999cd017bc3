//! The client proxy of `org.bpfbox.Bpfbox1.Manager`.

use zbus::zvariant::OwnedObjectPath;

use crate::{options::OptionsRef, EventInfo, Problem, ProfileSummary};

/// The manager object: daemon status, profiles, events and grants.
///
/// Methods that polkit guards carry `ALLOW_INTERACTIVE_AUTHORIZATION`, so a
/// polkit agent may ask the user for a password: call them with a generous
/// timeout. Signal streams only yield signals whose sender owns
/// [`crate::BUS_NAME`], so another bus client cannot forge denials.
#[zbus::proxy(
    interface = "org.bpfbox.Bpfbox1.Manager",
    default_service = "org.bpfbox.Bpfbox1",
    default_path = "/org/bpfbox/Bpfbox1"
)]
pub trait Manager {
    /// The object path of the profile of `executable`.
    fn get_profile(
        &self,
        executable: &str,
        options: &OptionsRef<'_>,
    ) -> Result<OwnedObjectPath, crate::Error>;

    /// Every profile with its status.
    fn list_profiles(&self, options: &OptionsRef<'_>) -> Result<Vec<ProfileSummary>, crate::Error>;

    /// Creates a profile from its whole TOML text; option `file_name` names
    /// its file. Returns the new profile's object.
    #[zbus(allow_interactive_auth)]
    fn create_profile(
        &self,
        text: &str,
        options: &OptionsRef<'_>,
    ) -> Result<OwnedObjectPath, crate::Error>;

    /// Events with ids above `after_id`, oldest first, at most `limit`
    /// (1–1000); options: see [`crate::options::EventFilter`].
    #[zbus(allow_interactive_auth)]
    fn get_events(
        &self,
        after_id: u64,
        limit: u32,
        options: &OptionsRef<'_>,
    ) -> Result<Vec<EventInfo>, crate::Error>;

    /// Allows the access of event `event_id` for a while (see
    /// [`crate::Duration::to_wire`]); returns the profile and the new rule.
    #[zbus(allow_interactive_auth)]
    fn grant_temporary(
        &self,
        event_id: u64,
        duration: &str,
        options: &OptionsRef<'_>,
    ) -> Result<(OwnedObjectPath, String), crate::Error>;

    /// Allows the access of event `event_id` for good; returns the profile
    /// and the new rule.
    #[zbus(allow_interactive_auth)]
    fn allow_event(
        &self,
        event_id: u64,
        options: &OptionsRef<'_>,
    ) -> Result<(OwnedObjectPath, String), crate::Error>;

    /// Re-reads the policy directory.
    #[zbus(allow_interactive_auth)]
    fn reload(&self, options: &OptionsRef<'_>) -> Result<(), crate::Error>;

    /// Starts sending `Denied` to this connection.
    #[zbus(allow_interactive_auth)]
    fn subscribe(&self, options: &OptionsRef<'_>) -> Result<(), crate::Error>;

    /// Stops sending `Denied` to this connection.
    fn unsubscribe(&self, options: &OptionsRef<'_>) -> Result<(), crate::Error>;

    /// An access was denied (sent only to subscribers, for their own uid's
    /// processes unless they are root; coalesced and rate-limited).
    #[zbus(signal)]
    fn denied(&self, event: EventInfo) -> zbus::Result<()>;

    /// The policy was loaded again.
    #[zbus(signal)]
    fn policy_reloaded(&self, profiles: u32, errors: u32) -> zbus::Result<()>;

    /// The daemon's version.
    #[zbus(property(emits_changed_signal = "const"))]
    fn version(&self) -> zbus::Result<String>;

    /// The version of the kernel-side ABI the daemon was built with.
    #[zbus(property(emits_changed_signal = "const"))]
    fn abi_version(&self) -> zbus::Result<u32>;

    /// Whether the BPF programs are attached and deciding.
    #[zbus(property)]
    fn enforcing(&self) -> zbus::Result<bool>;

    /// The running kernel's release.
    #[zbus(property(emits_changed_signal = "const"))]
    fn kernel_release(&self) -> zbus::Result<String>;

    /// Where the profiles are read from.
    #[zbus(property(emits_changed_signal = "const"))]
    fn policy_directory(&self) -> zbus::Result<String>;

    /// Unique per daemon start; rules that last until restart name it.
    #[zbus(property(emits_changed_signal = "const"))]
    fn instance_id(&self) -> zbus::Result<String>;

    /// How many profiles are loaded.
    #[zbus(property)]
    fn profile_count(&self) -> zbus::Result<u32>;

    /// Events read from the kernel since start.
    #[zbus(property(emits_changed_signal = "false"))]
    fn events_delivered(&self) -> zbus::Result<u64>;

    /// Events the kernel dropped since start (ring buffer full).
    #[zbus(property(emits_changed_signal = "false"))]
    fn events_lost(&self) -> zbus::Result<u64>;

    /// Problems of the last policy load.
    #[zbus(property)]
    fn policy_problems(&self) -> zbus::Result<Vec<Problem>>;
}

impl ManagerProxy<'static> {
    /// The manager of `conn`'s bpfboxd without a property cache: every
    /// client reads properties again after a change, and a cache would only
    /// add a `GetAll` round trip and a match rule, or show a stale value.
    ///
    /// # Errors
    /// When the proxy cannot be built.
    pub async fn uncached(conn: &zbus::Connection) -> Result<Self, crate::Error> {
        Ok(Self::builder(conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await?)
    }
}

impl ManagerProxy<'_> {
    /// Every event after `after` the daemon still keeps, oldest first, of
    /// the executable `profile` or of all: `GetEvents` page by page.
    ///
    /// # Errors
    /// The daemon's error for the first page that failed.
    pub async fn events_after(
        &self,
        mut after: u64,
        profile: Option<&str>,
    ) -> Result<Vec<EventInfo>, crate::Error> {
        let mut filter = crate::options::none();
        if let Some(exe) = profile {
            filter.insert(crate::names::option::PROFILE, exe.into());
        }
        let mut all = Vec::new();
        loop {
            let page = self
                .get_events(after, crate::names::MAX_EVENTS, &filter)
                .await?;
            let full = page.len() == crate::names::MAX_EVENTS as usize;
            after = page.last().map_or(after, |e| e.id);
            all.extend(page);
            if !full {
                return Ok(all);
            }
        }
    }
}
