//! The client proxy of `org.bpfbox.Bpfbox1.Profile`.

use crate::{options::OptionsRef, RuleInfo};

/// One profile object. It has no default path: build it with the path from
/// `GetProfile`, `ListProfiles` or [`crate::profile_path`].
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), bpfbox_dbus::Error> {
/// use bpfbox_dbus::{options, ManagerProxy, ProfileProxy};
///
/// let bus = zbus::Connection::system().await?;
/// let manager = ManagerProxy::new(&bus).await?;
/// let path = manager.get_profile("/usr/bin/gedit", &options::none()).await?;
/// let profile = ProfileProxy::builder(&bus).path(path)?.build().await?;
/// profile.set_mode("complain", &options::none()).await?;
/// # Ok(())
/// # }
/// ```
#[zbus::proxy(
    interface = "org.bpfbox.Bpfbox1.Profile",
    default_service = "org.bpfbox.Bpfbox1"
)]
pub trait Profile {
    /// The profile's rules, in file order.
    fn get_rules(&self, options: &OptionsRef<'_>) -> Result<Vec<RuleInfo>, crate::Error>;

    /// Sets the mode: `enforce`, `complain` or `disabled`.
    #[zbus(allow_interactive_auth)]
    fn set_mode(&self, mode: &str, options: &OptionsRef<'_>) -> Result<(), crate::Error>;

    /// Enables or disables rule `id`.
    #[zbus(allow_interactive_auth)]
    fn set_rule_enabled(
        &self,
        id: &str,
        enabled: bool,
        options: &OptionsRef<'_>,
    ) -> Result<(), crate::Error>;

    /// Adds a rule of `kind` whose keys are the TOML text `body`; returns
    /// its id.
    #[zbus(allow_interactive_auth)]
    fn add_rule(
        &self,
        kind: &str,
        body: &str,
        options: &OptionsRef<'_>,
    ) -> Result<String, crate::Error>;

    /// Removes rule `id`.
    #[zbus(allow_interactive_auth)]
    fn remove_rule(&self, id: &str, options: &OptionsRef<'_>) -> Result<(), crate::Error>;

    /// The profile file's text, comments and all.
    fn get_text(&self, options: &OptionsRef<'_>) -> Result<String, crate::Error>;

    /// Replaces the whole text; option `previous` (the text the change is
    /// based on) makes a concurrent change a `Conflict`.
    #[zbus(allow_interactive_auth)]
    fn replace(&self, text: &str, options: &OptionsRef<'_>) -> Result<(), crate::Error>;

    /// Goes back to the packaged version.
    #[zbus(allow_interactive_auth)]
    fn reset_to_default(&self, options: &OptionsRef<'_>) -> Result<(), crate::Error>;

    /// Removes the profile: its executable is no longer confined.
    #[zbus(allow_interactive_auth)]
    fn delete(&self, options: &OptionsRef<'_>) -> Result<(), crate::Error>;

    /// A package ships a version of this profile.
    #[zbus(property)]
    fn packaged(&self) -> zbus::Result<bool>;

    /// The profile differs from its packaged version.
    #[zbus(property)]
    fn modified(&self) -> zbus::Result<bool>;

    /// The confined executable.
    #[zbus(property(emits_changed_signal = "const"))]
    fn executable(&self) -> zbus::Result<String>;

    /// Display name, or empty.
    #[zbus(property)]
    fn display_name(&self) -> zbus::Result<String>;

    /// Desktop file id, or empty.
    #[zbus(property)]
    fn app_id(&self) -> zbus::Result<String>;

    /// Icon name or absolute path, or empty.
    #[zbus(property)]
    fn icon(&self) -> zbus::Result<String>;

    /// `enforce`, `complain` or `disabled`.
    #[zbus(property)]
    fn mode(&self) -> zbus::Result<String>;

    /// The profile's file.
    #[zbus(property)]
    fn file(&self) -> zbus::Result<String>;

    /// Rules in the profile.
    #[zbus(property)]
    fn rule_count(&self) -> zbus::Result<u32>;

    /// A file is at the executable's path (false: not installed).
    #[zbus(property)]
    fn installed(&self) -> zbus::Result<bool>;

    /// Processes confined by it now.
    #[zbus(property)]
    fn running_processes(&self) -> zbus::Result<u32>;

    /// Denials since the daemon started.
    #[zbus(property(emits_changed_signal = "false"))]
    fn denial_count(&self) -> zbus::Result<u64>;

    /// Why its last load or change failed, or empty.
    #[zbus(property)]
    fn last_error(&self) -> zbus::Result<String>;
}

impl ProfileProxy<'static> {
    /// The profile object at `path` without a property cache (see
    /// [`crate::ManagerProxy::uncached`]).
    ///
    /// # Errors
    /// When `path` is not an object path or the proxy cannot be built.
    pub async fn uncached<P>(conn: &zbus::Connection, path: P) -> Result<Self, crate::Error>
    where
        P: TryInto<zbus::zvariant::ObjectPath<'static>>,
        P::Error: Into<zbus::Error>,
    {
        Ok(Self::builder(conn)
            .path(path)?
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await?)
    }
}
