//! The trailing `a{sv}` options of every method.
//!
//! The daemon rejects keys it does not know rather than ignoring them: a
//! client that asks for a filter an older daemon lacks must learn so, not
//! get unfiltered results it takes for filtered ones. Clients find out what
//! a daemon understands from its `Version`.

use std::collections::HashMap;

use zbus::zvariant::{OwnedValue, Value};

use crate::{names::option, validate, Error};

/// Options as the daemon receives them.
pub type Options = HashMap<String, OwnedValue>;

/// Options as a client sends them.
pub type OptionsRef<'a> = HashMap<&'a str, Value<'a>>;

/// No options: what every method takes today unless documented otherwise.
#[must_use]
pub fn none() -> OptionsRef<'static> {
    HashMap::new()
}

/// Checks that `options` has no key outside `allowed`.
///
/// # Errors
///
/// [`Error::InvalidArgument`] naming the first unknown key (in sorted order,
/// so the message does not depend on hash order).
pub fn check_keys(options: &Options, allowed: &[&str]) -> Result<(), Error> {
    let mut unknown: Vec<&str> = options
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    unknown.sort_unstable();
    match unknown.first() {
        None => Ok(()),
        Some(key) => Err(Error::InvalidArgument(format!(
            "unknown option {:?}{}",
            validate::shorten(key),
            if allowed.is_empty() {
                String::from(": this method takes none yet")
            } else {
                format!(": expected {}", allowed.join(", "))
            }
        ))),
    }
}

/// The value of `key` as a `u32`, if present.
///
/// Any integer type that fits is accepted, because command-line tools pick
/// the type from how a number is written: `gdbus` sends `<300>` as an
/// `int32`, `busctl` sends whatever type the user typed.
///
/// # Errors
///
/// [`Error::InvalidArgument`] if the value is not an integer in `u32` range.
pub fn get_u32(options: &Options, key: &str) -> Result<Option<u32>, Error> {
    let Some(value) = options.get(key) else {
        return Ok(None);
    };
    let n: Option<u32> = match &**value {
        Value::U8(n) => Some((*n).into()),
        Value::U16(n) => Some((*n).into()),
        Value::U32(n) => Some(*n),
        Value::U64(n) => u32::try_from(*n).ok(),
        Value::I16(n) => u32::try_from(*n).ok(),
        Value::I32(n) => u32::try_from(*n).ok(),
        Value::I64(n) => u32::try_from(*n).ok(),
        _ => None,
    };
    n.map(Some).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "option {key:?} must be an unsigned 32-bit integer, not {:?} of type {}",
            validate::shorten(&value.to_string()),
            value.value_signature()
        ))
    })
}

/// The value of `key` as a string, if present.
///
/// # Errors
///
/// [`Error::InvalidArgument`] if the value is not a string.
pub fn get_str<'a>(options: &'a Options, key: &str) -> Result<Option<&'a str>, Error> {
    match options.get(key).map(|v| &**v) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(Error::InvalidArgument(format!(
            "option {key:?} must be a string, not a value of type {}",
            other.value_signature()
        ))),
    }
}

/// Which events `GetEvents` returns, from its options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events of the profile of this executable.
    pub profile: Option<String>,
    /// Only events of processes of this uid.
    pub uid: Option<u32>,
}

impl EventFilter {
    /// Reads and checks the options of `GetEvents`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an unknown key, a value of the wrong
    /// type, or a profile that is not an absolute normalized path.
    pub fn from_options(options: &Options) -> Result<Self, Error> {
        check_keys(options, &[option::PROFILE, option::UID])?;
        let profile = get_str(options, option::PROFILE)?
            .map(|p| validate::executable(p).map(ToOwned::to_owned))
            .transpose()?;
        Ok(Self {
            profile,
            uid: get_u32(options, option::UID)?,
        })
    }

    /// The options that ask for this filter.
    #[must_use]
    pub fn to_options(&self) -> OptionsRef<'_> {
        let mut options = none();
        if let Some(p) = &self.profile {
            options.insert(option::PROFILE, Value::from(p.as_str()));
        }
        if let Some(uid) = self.uid {
            options.insert(option::UID, Value::from(uid));
        }
        options
    }
}

/// Converts client-side options to the daemon's form, as the bus would.
#[must_use]
pub fn to_owned(options: &OptionsRef<'_>) -> Options {
    options
        .iter()
        .map(|(k, v)| {
            let owned = v
                .try_to_owned()
                .expect("option values never carry file descriptors");
            ((*k).to_owned(), owned)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, Value<'_>)]) -> Options {
        to_owned(&pairs.iter().map(|(k, v)| (*k, v.clone())).collect())
    }

    #[test]
    fn unknown_key_is_rejected_and_named() {
        let Err(Error::InvalidArgument(msg)) = check_keys(&opts(&[("colour", 1u32.into())]), &[])
        else {
            panic!("an unknown key must be rejected");
        };
        assert!(msg.contains("\"colour\""), "{msg}");
    }

    #[test]
    fn integers_of_any_width_that_fit_are_accepted() {
        for v in [
            Value::from(300u32),
            Value::from(300i32),
            Value::from(300u16),
            Value::from(300i64),
            Value::from(300u64),
        ] {
            assert_eq!(get_u32(&opts(&[("n", v)]), "n").unwrap(), Some(300));
        }
    }

    #[test]
    fn negative_or_too_large_or_non_integer_values_are_rejected() {
        for v in [
            Value::from(-1i32),
            Value::from(u64::from(u32::MAX) + 1),
            Value::from("300"),
            Value::from(true),
        ] {
            assert!(matches!(
                get_u32(&opts(&[("n", v)]), "n"),
                Err(Error::InvalidArgument(_))
            ));
        }
    }

    #[test]
    fn event_filter_round_trips_through_options() {
        let filter = EventFilter {
            profile: Some("/usr/bin/gedit".into()),
            uid: Some(1000),
        };
        let back = EventFilter::from_options(&to_owned(&filter.to_options())).unwrap();
        assert_eq!(back, filter);
        assert_eq!(
            EventFilter::from_options(&Options::new()).unwrap(),
            EventFilter::default()
        );
    }

    #[test]
    fn event_filter_rejects_a_relative_profile() {
        assert!(matches!(
            EventFilter::from_options(&opts(&[("profile", "gedit".into())])),
            Err(Error::InvalidArgument(_))
        ));
    }
}
