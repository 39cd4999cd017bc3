//! Object paths of profile objects.

use zbus::zvariant::{ObjectPath, OwnedObjectPath};

use crate::names::PROFILE_PATH_PREFIX;

/// The object path of the profile with id `id`: the prefix plus exactly 16
/// lowercase hex digits, so every id has one path and paths sort by id.
#[must_use]
pub fn profile_path(id: u64) -> OwnedObjectPath {
    ObjectPath::try_from(format!("{PROFILE_PATH_PREFIX}{id:016x}"))
        .expect("a prefix of valid elements plus hex digits is a valid object path")
        .into()
}

/// The profile id of a path made by [`profile_path`], or `None` for any other
/// path (including one with uppercase or missing digits, which
/// [`profile_path`] never makes).
#[must_use]
pub fn profile_id(path: &ObjectPath<'_>) -> Option<u64> {
    let digits = path.as_str().strip_prefix(PROFILE_PATH_PREFIX)?;
    let canonical = digits.len() == 16
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    canonical
        .then(|| u64::from_str_radix(digits, 16).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_path_pads_the_id_to_sixteen_hex_digits() {
        assert_eq!(
            profile_path(0x2a).as_str(),
            "/org/bpfbox/Bpfbox1/profile/000000000000002a"
        );
    }

    #[test]
    fn profile_id_inverts_profile_path() {
        for id in [0, 1, 0xdead_beef, u64::MAX] {
            assert_eq!(profile_id(&profile_path(id)), Some(id));
        }
    }

    #[test]
    fn profile_id_rejects_paths_profile_path_never_makes() {
        for path in [
            "/org/bpfbox/Bpfbox1",
            "/org/bpfbox/Bpfbox1/profile/2a",
            "/org/bpfbox/Bpfbox1/profile/000000000000002A",
            "/org/bpfbox/Bpfbox1/profile/000000000000002a0",
            "/org/bpfbox/Bpfbox1/profile/000000000000002a/x",
            "/org/bpfbox/Bpfbox1/other/000000000000002a",
        ] {
            let path = ObjectPath::try_from(path).unwrap();
            assert_eq!(profile_id(&path), None, "{path}");
        }
    }
}
