//! Every name the API is addressed by, and the limits it enforces.

/// The well-known name `bpfboxd` owns on the system bus.
pub const BUS_NAME: &str = "org.bpfbox.Bpfbox1";
/// The manager object; it also serves `org.freedesktop.DBus.ObjectManager`
/// for the profile objects below it.
pub const MANAGER_PATH: &str = "/org/bpfbox/Bpfbox1";
/// Profile objects are this prefix plus 16 lowercase hex digits of the
/// profile id (see [`crate::profile_path`]).
pub const PROFILE_PATH_PREFIX: &str = "/org/bpfbox/Bpfbox1/profile/";
/// The interface of the manager object.
pub const MANAGER_INTERFACE: &str = "org.bpfbox.Bpfbox1.Manager";
/// The interface of every profile object.
pub const PROFILE_INTERFACE: &str = "org.bpfbox.Bpfbox1.Profile";
/// The prefix of bpfbox's own error names.
pub const ERROR_PREFIX: &str = "org.bpfbox.Bpfbox1.Error";

/// D-Bus error names, as [`crate::Error`] sends them.
pub mod error {
    /// polkit (or the caller's identity) does not allow the call.
    pub const NOT_AUTHORIZED: &str = "org.bpfbox.Bpfbox1.Error.NotAuthorized";
    /// An argument or option is malformed or out of range.
    pub const INVALID_ARGUMENT: &str = "org.bpfbox.Bpfbox1.Error.InvalidArgument";
    /// No profile has that executable or object path.
    pub const NO_SUCH_PROFILE: &str = "org.bpfbox.Bpfbox1.Error.NoSuchProfile";
    /// The profile has no rule with that id.
    pub const NO_SUCH_RULE: &str = "org.bpfbox.Bpfbox1.Error.NoSuchRule";
    /// The event id is unknown or no longer kept.
    pub const NO_SUCH_EVENT: &str = "org.bpfbox.Bpfbox1.Error.NoSuchEvent";
    /// The change collides with the current state (duplicate rule id, …).
    pub const CONFLICT: &str = "org.bpfbox.Bpfbox1.Error.Conflict";
    /// The change would leave a profile that does not compile.
    pub const POLICY_INVALID: &str = "org.bpfbox.Bpfbox1.Error.PolicyInvalid";
    /// Anything else went wrong inside the daemon.
    pub const FAILED: &str = "org.bpfbox.Bpfbox1.Error.Failed";
    /// polkit wants to ask the user, but the caller did not allow interaction.
    pub const INTERACTIVE_AUTHORIZATION_REQUIRED: &str =
        "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired";
}

/// polkit action ids (data/polkit/org.bpfbox.bpfbox1.policy).
///
/// polkit only accepts lowercase action ids, hence `bpfbox1` where the bus
/// name has `Bpfbox1`.
pub mod action {
    /// `GetEvents` and `Subscribe`.
    pub const READ_EVENTS: &str = "org.bpfbox.bpfbox1.read-events";
    /// `GrantTemporary` for an event of the caller's own uid.
    pub const GRANT_TEMPORARY: &str = "org.bpfbox.bpfbox1.grant-temporary";
    /// Every lasting policy change, and grants for other users' processes.
    pub const MANAGE: &str = "org.bpfbox.bpfbox1.manage";
    /// `Reload`.
    pub const RELOAD: &str = "org.bpfbox.bpfbox1.reload";
    /// Implies every other action, for polkit rules that trust a group.
    pub const ALL: &str = "org.bpfbox.bpfbox1.all";
}

/// Keys of the `a{sv}` options the daemon understands.
pub mod option {
    /// `GetEvents`: only events of this executable (`s`).
    pub const PROFILE: &str = "profile";
    /// `GetEvents`: only events of processes of this uid (`u`).
    pub const UID: &str = "uid";
    /// `GrantTemporary` with duration `timed`: how long (`u`, seconds).
    pub const SECONDS: &str = "seconds";
}

/// Most events one `GetEvents` call returns.
pub const MAX_EVENTS: u32 = 1000;
/// Longest timed grant: a week. Longer belongs in a permanent rule, which
/// needs the `manage` action.
pub const MAX_GRANT_SECONDS: u32 = 7 * 24 * 60 * 60;
/// Longest rule body (`AddRule`), in bytes.
pub const MAX_RULE_BODY: usize = 4096;
/// Longest whole profile text (`CreateProfile`, `Replace`), in bytes.
pub const MAX_PROFILE_TEXT: usize = 1 << 20;
/// Longest rule id, in bytes (the policy format's limit).
pub const MAX_RULE_ID: usize = 128;
/// Longest executable path, in bytes (Linux's `PATH_MAX` with its NUL).
pub const MAX_PATH: usize = 4095;
