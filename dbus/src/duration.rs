//! How long a `GrantTemporary` lasts.

use std::fmt;

use zbus::zvariant::Value;

use crate::{
    names::{option, MAX_GRANT_SECONDS},
    options::{self, Options, OptionsRef},
    validate, Error,
};

/// The `duration` argument of `GrantTemporary`, with its `seconds` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Duration {
    /// Until the first use after the grant.
    Once,
    /// For this many seconds, 1 to [`MAX_GRANT_SECONDS`].
    Timed {
        /// How long.
        seconds: u32,
    },
    /// Until the daemon stops (the rule names the instance).
    Restart,
}

impl Duration {
    /// Parses `duration` and the method's options.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an unknown duration, `timed` without
    /// `seconds` or with seconds out of range, `seconds` with another
    /// duration, or an unknown option.
    pub fn from_wire(duration: &str, options: &Options) -> Result<Self, Error> {
        options::check_keys(options, &[option::SECONDS])?;
        let seconds = options::get_u32(options, option::SECONDS)?;
        match (duration, seconds) {
            ("once", None) => Ok(Self::Once),
            ("restart", None) => Ok(Self::Restart),
            ("timed", Some(s @ 1..=MAX_GRANT_SECONDS)) => Ok(Self::Timed { seconds: s }),
            ("timed", Some(s)) => Err(Error::InvalidArgument(format!(
                "{s} seconds is out of range: a timed grant lasts 1 to {MAX_GRANT_SECONDS} seconds"
            ))),
            ("timed", None) => Err(Error::InvalidArgument(
                "a timed grant needs the \"seconds\" option".into(),
            )),
            ("once" | "restart", Some(_)) => Err(Error::InvalidArgument(format!(
                "the \"seconds\" option only applies to \"timed\", not {duration:?}"
            ))),
            _ => Err(Error::InvalidArgument(format!(
                "unknown duration {:?}: expected once, timed, restart",
                validate::shorten(duration)
            ))),
        }
    }

    /// The `duration` argument and options that ask for this grant.
    #[must_use]
    pub fn to_wire(self) -> (&'static str, OptionsRef<'static>) {
        let mut opts = options::none();
        if let Self::Timed { seconds } = self {
            opts.insert(option::SECONDS, Value::from(seconds));
        }
        (self.as_str(), opts)
    }

    /// The `duration` word.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Once => "once",
            Self::Timed { .. } => "timed",
            Self::Restart => "restart",
        }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timed { seconds } => write!(f, "timed ({seconds} s)"),
            other => f.write_str(other.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::to_owned;

    fn parse(duration: &str, seconds: Option<Value<'static>>) -> Result<Duration, Error> {
        let mut opts = options::none();
        if let Some(s) = seconds {
            opts.insert(option::SECONDS, s);
        }
        Duration::from_wire(duration, &to_owned(&opts))
    }

    #[test]
    fn every_duration_round_trips_through_the_wire_form() {
        for d in [
            Duration::Once,
            Duration::Restart,
            Duration::Timed { seconds: 1 },
            Duration::Timed {
                seconds: MAX_GRANT_SECONDS,
            },
        ] {
            let (word, opts) = d.to_wire();
            assert_eq!(Duration::from_wire(word, &to_owned(&opts)).unwrap(), d);
        }
    }

    #[test]
    fn timed_grant_needs_seconds_within_a_week() {
        assert!(parse("timed", None).is_err());
        assert!(parse("timed", Some(0u32.into())).is_err());
        assert!(parse("timed", Some((MAX_GRANT_SECONDS + 1).into())).is_err());
        assert_eq!(
            parse("timed", Some(300i32.into())).unwrap(),
            Duration::Timed { seconds: 300 }
        );
    }

    #[test]
    fn seconds_with_once_or_restart_is_rejected_not_ignored() {
        assert!(parse("once", Some(60u32.into())).is_err());
        assert!(parse("restart", Some(60u32.into())).is_err());
    }

    #[test]
    fn unknown_duration_or_option_is_rejected() {
        assert!(parse("always", None).is_err());
        assert!(parse("Once", None).is_err());
        let mut opts = options::none();
        opts.insert("until", Value::from("tomorrow"));
        assert!(Duration::from_wire("once", &to_owned(&opts)).is_err());
    }
}
