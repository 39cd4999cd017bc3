//! Temporary rules: when a rule stops applying, in a form that survives a
//! daemon restart.
//!
//! A grant "for 5 minutes" is stored as the absolute time it ends, so a
//! restarted daemon still knows when it ends; a grant "until restart"
//! carries the id of the daemon instance that made it, so the next instance
//! sees it is over; a grant "once" stays until the daemon retires it after
//! its first reported use.

use std::{
    fmt,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Why an `expires` value is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    /// Not one of the accepted forms.
    #[error("expected \"always\", \"once\", \"restart:<instance id>\", a time with offset such as \"2026-11-29T10:00:00Z\", or unix seconds")]
    Form,
    /// A time without a UTC offset (TOML local date-time).
    #[error("the time has no UTC offset: add `Z` or `+hh:mm`")]
    NoOffset,
    /// Before 1970 or after 9999.
    #[error("time out of range: expected 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z")]
    Range,
    /// `restart:` with a bad or missing id.
    #[error("expected \"restart:<instance id>\" where the id is 1 to 128 letters, digits, `-`, `_` or `.`")]
    Instance,
}

/// When a rule stops applying.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Expiry {
    /// Never (`expires` absent, or `"always"`).
    #[default]
    Never,
    /// After its first use: compiled with audit on, so the kernel reports
    /// each use, and the daemon retires the rule on the first report.
    Once,
    /// At this time (unix seconds, exclusive): `"2026-11-29T10:00:00Z"`.
    At(i64),
    /// When the daemon instance with this id stops: `"restart:<id>"`.
    UntilRestart(String),
}

/// The last second RFC 3339 can write: 9999-12-31T23:59:59Z.
const MAX_UNIX: i64 = 253_402_300_799;

impl Expiry {
    /// Whether a rule with this expiry still applies at `now`.
    #[must_use]
    pub fn is_live(&self, now: &Now) -> bool {
        match self {
            Self::Never | Self::Once => true,
            Self::At(at) => now.unix_seconds() < *at,
            Self::UntilRestart(id) => now.instance.as_deref() == Some(id.as_str()),
        }
    }

    /// An expiry `duration` after `now` (a grant "for N seconds"), rounded
    /// down to the second so the grant never outlives what was asked.
    #[must_use]
    pub fn after(now: SystemTime, duration: Duration) -> Self {
        let end = now
            .checked_add(duration)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(MAX_UNIX, |d| i64::try_from(d.as_secs()).unwrap_or(MAX_UNIX));
        Self::At(end.min(MAX_UNIX))
    }

    /// Parses the string forms of `expires`.
    pub fn parse(text: &str) -> Result<Self, ExpiryError> {
        match text {
            "always" => return Ok(Self::Never),
            "once" => return Ok(Self::Once),
            _ => {}
        }
        if let Some(id) = text.strip_prefix("restart:") {
            return if valid_instance_id(id) {
                Ok(Self::UntilRestart(id.to_owned()))
            } else {
                Err(ExpiryError::Instance)
            };
        }
        if text == "restart" {
            return Err(ExpiryError::Instance);
        }
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            let secs: i64 = text.parse().map_err(|_| ExpiryError::Range)?;
            return Self::from_unix(secs);
        }
        let datetime: toml_edit::Datetime = text.parse().map_err(|_| ExpiryError::Form)?;
        Self::from_datetime(&datetime)
    }

    /// From unix seconds (`expires = 1795000000`).
    pub fn from_unix(secs: i64) -> Result<Self, ExpiryError> {
        if (0..=MAX_UNIX).contains(&secs) {
            Ok(Self::At(secs))
        } else {
            Err(ExpiryError::Range)
        }
    }

    /// From a TOML date-time, which must have a date, a time and an offset.
    /// Fractions of a second are dropped: the grant ends a little early,
    /// never late.
    pub(crate) fn from_datetime(dt: &toml_edit::Datetime) -> Result<Self, ExpiryError> {
        let (Some(date), Some(time)) = (dt.date, dt.time) else {
            return Err(ExpiryError::Form);
        };
        let offset_minutes = match dt.offset {
            None => return Err(ExpiryError::NoOffset),
            Some(toml_edit::Offset::Z) => 0,
            Some(toml_edit::Offset::Custom { minutes }) => i64::from(minutes),
        };
        let days = days_from_civil(
            i64::from(date.year),
            i64::from(date.month),
            i64::from(date.day),
        );
        let secs = days * 86_400
            + i64::from(time.hour) * 3600
            + i64::from(time.minute) * 60
            + i64::from(time.second.unwrap_or(0))
            - offset_minutes * 60;
        Self::from_unix(secs)
    }

    /// The canonical `expires` string; `None` for [`Expiry::Never`], which
    /// is written by leaving `expires` out.
    #[must_use]
    pub fn to_toml_string(&self) -> Option<String> {
        match self {
            Self::Never => None,
            Self::Once => Some("once".to_owned()),
            Self::At(secs) => Some(format_rfc3339(*secs)),
            Self::UntilRestart(id) => Some(format!("restart:{id}")),
        }
    }
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_toml_string().as_deref().unwrap_or("always"))
    }
}

/// Whether `id` can name a daemon instance in `restart:<id>`.
#[must_use]
pub fn valid_instance_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The moment rules are evaluated at: the time, and the id of the running
/// daemon instance (for `restart:` rules; `None` makes them all expired).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Now {
    /// Wall-clock time.
    pub time: SystemTime,
    /// The running daemon instance's id.
    pub instance: Option<String>,
}

impl Now {
    /// `time`, with no daemon instance.
    #[must_use]
    pub const fn new(time: SystemTime) -> Self {
        Self {
            time,
            instance: None,
        }
    }

    /// Names the running daemon instance.
    #[must_use]
    pub fn with_instance(mut self, id: impl Into<String>) -> Self {
        self.instance = Some(id.into());
        self
    }

    /// Whole seconds since the epoch (0 before it).
    #[must_use]
    pub fn unix_seconds(&self) -> i64 {
        self.time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

impl From<SystemTime> for Now {
    fn from(time: SystemTime) -> Self {
        Self::new(time)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian (year, month, day) of a count of days since
/// 1970-01-01 (the inverse of `days_from_civil`).
#[must_use]
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn format_rfc3339(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_become_unix_seconds_and_print_back_in_utc() {
        let e = Expiry::parse("2026-11-29T10:00:00Z").unwrap();
        assert_eq!(e, Expiry::At(1_795_946_400));
        assert_eq!(e.to_toml_string().unwrap(), "2026-11-29T10:00:00Z");
        let offset = Expiry::parse("2026-11-29T12:00:00+02:00").unwrap();
        assert_eq!(offset, e);
    }

    #[test]
    fn unix_seconds_are_accepted() {
        assert_eq!(Expiry::parse("0").unwrap(), Expiry::At(0));
        assert_eq!(
            Expiry::parse("0").unwrap().to_toml_string().unwrap(),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn fractions_of_a_second_end_the_grant_early() {
        assert_eq!(
            Expiry::parse("2026-11-29T10:00:00.999Z").unwrap(),
            Expiry::At(1_795_946_400)
        );
    }

    #[test]
    fn times_without_offset_are_rejected() {
        assert_eq!(
            Expiry::parse("2026-11-29T10:00:00"),
            Err(ExpiryError::NoOffset)
        );
        assert_eq!(Expiry::parse("2026-11-29"), Err(ExpiryError::Form));
        assert_eq!(
            Expiry::parse("1969-12-31T23:59:59Z"),
            Err(ExpiryError::Range)
        );
        assert_eq!(Expiry::parse("soon"), Err(ExpiryError::Form));
    }

    #[test]
    fn restart_needs_an_instance_id() {
        assert_eq!(
            Expiry::parse("restart:6f1c-2a"),
            Ok(Expiry::UntilRestart("6f1c-2a".into()))
        );
        assert_eq!(Expiry::parse("restart"), Err(ExpiryError::Instance));
        assert_eq!(Expiry::parse("restart:"), Err(ExpiryError::Instance));
        assert_eq!(Expiry::parse("restart:a b"), Err(ExpiryError::Instance));
    }

    #[test]
    fn liveness_follows_time_and_instance() {
        let now = Now::new(UNIX_EPOCH + Duration::from_secs(100)).with_instance("i1");
        assert!(Expiry::Never.is_live(&now));
        assert!(Expiry::Once.is_live(&now));
        assert!(Expiry::At(101).is_live(&now));
        assert!(!Expiry::At(100).is_live(&now), "the end time is exclusive");
        assert!(Expiry::UntilRestart("i1".into()).is_live(&now));
        assert!(!Expiry::UntilRestart("i0".into()).is_live(&now));
        assert!(!Expiry::UntilRestart("i1".into()).is_live(&Now::new(now.time)));
    }

    #[test]
    fn after_rounds_down() {
        let t = UNIX_EPOCH + Duration::from_millis(10_500);
        assert_eq!(Expiry::after(t, Duration::from_secs(300)), Expiry::At(310));
    }

    #[test]
    fn calendar_conversion_round_trips() {
        for days in [-1, 0, 59, 60, 365, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_rfc3339(MAX_UNIX), "9999-12-31T23:59:59Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
