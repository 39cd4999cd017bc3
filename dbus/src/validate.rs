//! Checks the daemon runs on arguments before acting on them.
//!
//! Each returns [`Error::InvalidArgument`] with a message that says what is
//! accepted; a message quotes at most a short prefix of the bad value, so a
//! hostile caller cannot make the daemon log or echo megabytes.

use std::path::{Component, Path};

use crate::{
    names::{MAX_EVENTS, MAX_PATH, MAX_RULE_BODY, MAX_RULE_ID},
    Error,
};

/// At most the first 64 characters of `s`, marked when cut.
#[must_use]
pub fn shorten(s: &str) -> String {
    const KEEP: usize = 64;
    match s.char_indices().nth(KEEP) {
        None => s.to_owned(),
        Some((end, _)) => format!("{}…", &s[..end]),
    }
}

fn invalid(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

fn no_nul(what: &str, s: &str) -> Result<(), Error> {
    if s.contains('\0') {
        return Err(invalid(format!("{what} contains a NUL byte")));
    }
    Ok(())
}

/// Checks an executable path: absolute, normalized (no `.`, `..`, empty
/// component or trailing slash), no NUL, at most `PATH_MAX`.
///
/// Profiles are keyed by normalized paths, so anything else could never name
/// one; rejecting it says so instead of answering `NoSuchProfile`.
///
/// # Errors
///
/// [`Error::InvalidArgument`] saying which rule the path breaks.
pub fn executable(path: &str) -> Result<&str, Error> {
    no_nul("executable path", path)?;
    if path.len() > MAX_PATH {
        return Err(invalid(format!(
            "executable path is {} bytes long; the limit is {MAX_PATH}",
            path.len()
        )));
    }
    if !path.starts_with('/') {
        return Err(invalid(format!(
            "executable path {:?} is not absolute",
            shorten(path)
        )));
    }
    // Path::components() hides `//`, `/./` and a trailing `/`, so compare
    // the path with its own rebuilt form instead of only inspecting them.
    let mut rebuilt = String::with_capacity(path.len());
    for component in Path::new(path).components() {
        match component {
            Component::RootDir => {}
            Component::Normal(part) => {
                rebuilt.push('/');
                rebuilt.push_str(&part.to_string_lossy());
            }
            Component::CurDir | Component::ParentDir | Component::Prefix(_) => {
                rebuilt.clear();
                break;
            }
        }
    }
    if rebuilt != path {
        return Err(invalid(format!(
            "executable path {:?} is not normalized: no '.', '..', '//' or trailing '/'",
            shorten(path)
        )));
    }
    Ok(path)
}

/// Checks a rule id: 1 to 128 bytes of `A-Z a-z 0-9 - _ . :`.
///
/// # Errors
///
/// [`Error::InvalidArgument`] if it is empty, too long or has another byte.
pub fn rule_id(id: &str) -> Result<&str, Error> {
    if id.is_empty() || id.len() > MAX_RULE_ID {
        return Err(invalid(format!(
            "rule id must be 1 to {MAX_RULE_ID} bytes long, not {}",
            id.len()
        )));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
    {
        return Err(invalid(format!(
            "rule id {:?} has {bad:?}; allowed are A-Z a-z 0-9 - _ . :",
            shorten(id)
        )));
    }
    Ok(id)
}

/// Checks the body of `AddRule`: at most 4096 bytes and no NUL. Whether it is
/// a valid rule is for the policy parser to say.
///
/// # Errors
///
/// [`Error::InvalidArgument`] if it is empty, too long or has a NUL.
pub fn rule_body(body: &str) -> Result<&str, Error> {
    no_nul("rule body", body)?;
    if body.trim().is_empty() {
        return Err(invalid("rule body is empty".into()));
    }
    if body.len() > MAX_RULE_BODY {
        return Err(invalid(format!(
            "rule body is {} bytes long; the limit is {MAX_RULE_BODY}",
            body.len()
        )));
    }
    Ok(body)
}

/// Checks a whole profile's text for `CreateProfile` and `Replace`: no NUL,
/// not empty, at most [`MAX_PROFILE_TEXT`](crate::names::MAX_PROFILE_TEXT)
/// bytes. Whether it is a valid profile is the daemon's policy parser's call.
///
/// # Errors
///
/// [`Error::InvalidArgument`] saying which limit.
pub fn profile_text(text: &str) -> Result<&str, Error> {
    use crate::names::MAX_PROFILE_TEXT;
    no_nul("profile text", text)?;
    if text.trim().is_empty() {
        return Err(invalid("profile text is empty".into()));
    }
    if text.len() > MAX_PROFILE_TEXT {
        return Err(invalid(format!(
            "profile text is {} bytes long; the limit is {MAX_PROFILE_TEXT}",
            text.len()
        )));
    }
    Ok(text)
}

/// Checks the `limit` of `GetEvents`: 1 to 1000.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for 0 or more than 1000.
pub fn event_limit(limit: u32) -> Result<u32, Error> {
    if (1..=MAX_EVENTS).contains(&limit) {
        Ok(limit)
    } else {
        Err(invalid(format!(
            "limit must be 1 to {MAX_EVENTS}, not {limit}; page with after_id for more"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalized_absolute_paths_are_executables() {
        for p in ["/usr/bin/gedit", "/opt/app name/bin/x", "/a"] {
            assert_eq!(executable(p).unwrap(), p);
        }
    }

    #[test]
    fn relative_unnormalized_or_nul_paths_are_not_executables() {
        for p in [
            "",
            "/",
            "usr/bin/gedit",
            "./gedit",
            "/usr//bin/gedit",
            "/usr/bin/gedit/",
            "/usr/./bin/gedit",
            "/usr/lib/../bin/gedit",
            "/usr/bin/ged\0it",
        ] {
            assert!(executable(p).is_err(), "{p:?}");
        }
        assert!(executable(&format!("/{}", "a".repeat(MAX_PATH))).is_err());
    }

    #[test]
    fn rule_ids_allow_exactly_the_documented_charset_and_length() {
        for id in [
            "documents",
            "fs-6dde23cce6c9",
            "grant:42.a_b",
            &"x".repeat(128),
        ] {
            assert!(rule_id(id).is_ok(), "{id}");
        }
        for id in ["", "a b", "ä", "a/b", "a\0", &"x".repeat(129)] {
            assert!(rule_id(id).is_err(), "{id:?}");
        }
    }

    #[test]
    fn rule_bodies_are_bounded_and_free_of_nul() {
        assert!(rule_body("file = \"~/x\"\naccess = \"read\"\n").is_ok());
        assert!(rule_body(&"#".repeat(MAX_RULE_BODY)).is_ok());
        assert!(rule_body(&format!("{}\n", "#".repeat(MAX_RULE_BODY))).is_err());
        assert!(rule_body("file = \"a\0\"").is_err());
        assert!(rule_body(" \n").is_err());
    }

    #[test]
    fn event_limit_is_one_to_a_thousand() {
        assert!(event_limit(0).is_err());
        assert_eq!(event_limit(1).unwrap(), 1);
        assert_eq!(event_limit(1000).unwrap(), 1000);
        assert!(event_limit(1001).is_err());
    }

    #[test]
    fn error_messages_quote_only_a_prefix_of_huge_values() {
        let Err(Error::InvalidArgument(msg)) = executable(&"ö".repeat(2000)) else {
            panic!("a relative path must be rejected");
        };
        assert!(msg.len() < 200, "{}", msg.len());
    }
}
