//! `org.bpfbox.Bpfbox1.Profile`: one object per profile in force.

use std::sync::Arc;

use bpfbox_dbus::{
    names::action,
    options::{self, Options},
    validate, Error, RuleInfo,
};
use bpfbox_policy::{Expiry, Mode, NewRule, RuleKind};
use zbus::{message::Header, Connection};

use super::{authority::authorize, context::Context, convert};
use crate::kernel;

/// Option of `Replace`: the text the caller's change is based on.
const PREVIOUS: &str = "previous";

pub struct ProfileObject {
    pub id: u64,
    pub ctx: Arc<Context>,
}

#[zbus::interface(name = "org.bpfbox.Bpfbox1.Profile")]
impl ProfileObject {
    #[zbus(out_args("rules"))]
    async fn get_rules(&self, options: Options) -> Result<Vec<RuleInfo>, Error> {
        options::check_keys(&options, &[])?;
        Ok(convert::rules(&self.ctx.profile(self.id)?))
    }

    async fn set_mode(
        &self,
        mode: &str,
        options: Options,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), Error> {
        options::check_keys(&options, &[])?;
        let mode = Mode::from_word(mode).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "unknown mode {:?}: expected enforce, complain, disabled",
                validate::shorten(mode)
            ))
        })?;
        authorize(conn, &header, action::MANAGE).await?;
        self.ctx.edit(self.id, |e| e.set_mode(mode)).await?;
        tracing::info!(profile = self.id, mode = mode.word(), "mode set over D-Bus");
        Ok(())
    }

    async fn set_rule_enabled(
        &self,
        id: &str,
        enabled: bool,
        options: Options,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), Error> {
        options::check_keys(&options, &[])?;
        let id = validate::rule_id(id)?;
        self.ctx.profile(self.id)?;
        authorize(conn, &header, action::MANAGE).await?;
        self.ctx
            .edit(self.id, |e| e.set_rule_enabled(id, enabled))
            .await?;
        tracing::info!(
            profile = self.id,
            rule = id,
            enabled,
            "rule toggled over D-Bus"
        );
        Ok(())
    }

    #[zbus(out_args("rule_id"))]
    async fn add_rule(
        &self,
        kind: &str,
        body: &str,
        options: Options,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<String, Error> {
        options::check_keys(&options, &[])?;
        let rule = new_rule(kind, validate::rule_body(body)?)?;
        self.ctx.profile(self.id)?;
        authorize(conn, &header, action::MANAGE).await?;
        let id = self
            .ctx
            .edit(self.id, |e| e.add_rule(&rule, None, &Expiry::Never))
            .await?;
        tracing::info!(profile = self.id, rule = %id, "rule added over D-Bus");
        Ok(id)
    }

    async fn remove_rule(
        &self,
        id: &str,
        options: Options,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), Error> {
        options::check_keys(&options, &[])?;
        let id = validate::rule_id(id)?;
        self.ctx.profile(self.id)?;
        authorize(conn, &header, action::MANAGE).await?;
        self.ctx.edit(self.id, |e| e.remove_rule(id)).await?;
        tracing::info!(profile = self.id, rule = id, "rule removed over D-Bus");
        Ok(())
    }

    #[zbus(out_args("text"))]
    async fn get_text(&self, options: Options) -> Result<String, Error> {
        options::check_keys(&options, &[])?;
        let profile = self.ctx.profile(self.id)?;
        std::fs::read_to_string(&profile.file)
            .map_err(|e| Error::Failed(format!("cannot read {}: {e}", profile.file.display())))
    }

    /// Replaces the profile's whole text; option `previous` (s): the text
    /// the caller edited, so a change made meanwhile is refused (Conflict).
    async fn replace(
        &self,
        text: &str,
        options: Options,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), Error> {
        options::check_keys(&options, &[PREVIOUS])?;
        let previous = options::get_str(&options, PREVIOUS)?;
        validate::profile_text(text)?;
        self.ctx.profile(self.id)?;
        authorize(conn, &header, action::MANAGE).await?;
        self.ctx.replace(self.id, previous, text).await?;
        tracing::info!(profile = self.id, "profile replaced over D-Bus");
        Ok(())
    }

    /// Back to the version a package ships (see the `Packaged` property).
    async fn reset_to_default(
        &self,
        options: Options,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), Error> {
        options::check_keys(&options, &[])?;
        let profile = self.ctx.profile(self.id)?;
        let packaged = self.ctx.packaged_text(&profile.file).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "no package ships {}: there is no default to go back to",
                profile.file.display()
            ))
        })?;
        authorize(conn, &header, action::MANAGE).await?;
        self.ctx.replace(self.id, None, &packaged).await?;
        tracing::info!(profile = self.id, "profile reset to its packaged version");
        Ok(())
    }

    /// Removes the profile: its executable is no longer confined.
    async fn delete(
        &self,
        options: Options,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), Error> {
        options::check_keys(&options, &[])?;
        self.ctx.profile(self.id)?;
        authorize(conn, &header, action::MANAGE).await?;
        self.ctx.delete(self.id).await?;
        tracing::info!(profile = self.id, "profile deleted over D-Bus");
        Ok(())
    }

    /// A package ships a version of this profile (same file name).
    #[zbus(property)]
    async fn packaged(&self) -> bool {
        self.ctx
            .profile(self.id)
            .is_ok_and(|p| self.ctx.packaged_text(&p.file).is_some())
    }

    /// The profile differs from the version its package ships.
    #[zbus(property)]
    async fn modified(&self) -> bool {
        self.ctx.profile(self.id).is_ok_and(|p| {
            self.ctx
                .packaged_text(&p.file)
                .is_some_and(|packaged| std::fs::read_to_string(&p.file).ok() != Some(packaged))
        })
    }

    #[zbus(property(emits_changed_signal = "const"))]
    async fn executable(&self) -> String {
        self.read(|p| p.profile.profile.display().to_string())
    }

    #[zbus(property)]
    async fn display_name(&self) -> String {
        self.read(|p| p.profile.name.clone().unwrap_or_default())
    }

    #[zbus(property)]
    async fn app_id(&self) -> String {
        self.read(|p| p.profile.desktop_id.clone().unwrap_or_default())
    }

    #[zbus(property)]
    async fn icon(&self) -> String {
        self.read(|p| p.profile.icon.clone().unwrap_or_default())
    }

    #[zbus(property)]
    async fn mode(&self) -> String {
        self.read(|p| p.profile.mode.word().to_owned())
    }

    #[zbus(property)]
    async fn file(&self) -> String {
        self.read(|p| p.file.display().to_string())
    }

    #[zbus(property)]
    async fn rule_count(&self) -> u32 {
        self.read(|p| u32::try_from(p.profile.rule_count()).unwrap_or(u32::MAX))
    }

    /// A file is at the executable's path.
    #[zbus(property)]
    async fn installed(&self) -> bool {
        self.read(|p| p.executable.is_some())
    }

    #[zbus(property)]
    async fn running_processes(&self) -> u32 {
        kernel::running_processes()
            .get(&self.id)
            .copied()
            .unwrap_or(0)
    }

    #[zbus(property(emits_changed_signal = "false"))]
    async fn denial_count(&self) -> u64 {
        self.ctx
            .shared
            .history
            .totals()
            .get(&self.id)
            .map_or(0, |t| t.denials)
    }

    #[zbus(property)]
    async fn last_error(&self) -> String {
        self.read(|p| p.last_error.clone().unwrap_or_default())
    }
}

impl ProfileObject {
    /// A property of the profile as last loaded; empty once it is gone
    /// (its object is being removed).
    fn read<T: Default>(&self, get: impl FnOnce(&crate::policy::source::ProfileView) -> T) -> T {
        self.ctx
            .profile(self.id)
            .map(|p| get(&p))
            .unwrap_or_default()
    }
}

/// `body` (the rule's keys as TOML: strings or lists of strings) as a rule
/// of `kind`. Values are handed on as data, never as TOML text, so a
/// caller cannot smuggle in keys or tables.
fn new_rule(kind: &str, body: &str) -> Result<NewRule, Error> {
    let kind = RuleKind::ALL
        .into_iter()
        .find(|k| k.word() == kind)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "unknown rule kind {:?}: expected fs, net, signal, proc, ptrace, capability",
                validate::shorten(kind)
            ))
        })?;
    let table: toml::Table = body.parse().map_err(|e: toml::de::Error| {
        Error::InvalidArgument(format!("the rule body is not TOML: {}", e.message()))
    })?;
    let mut rule = NewRule::new(kind);
    for (key, value) in table {
        let values = match value {
            toml::Value::String(s) => vec![s],
            toml::Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s),
                    other => Err(other),
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|other| {
                    Error::InvalidArgument(format!(
                        "`{key}` must be a string or a list of strings, not {}",
                        other.type_str()
                    ))
                })?,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "`{key}` must be a string or a list of strings, not {}",
                    other.type_str()
                )))
            }
        };
        rule = rule.with(key, values);
    }
    Ok(rule)
}
