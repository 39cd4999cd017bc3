//! The people of this machine, as a profile's `~` sees them: the home
//! directories of root and of every person with a login shell.
//!
//! The daemon expands `~` in rules with these homes, and learning writes
//! `~` for them, so both must agree on who counts: this crate is that one
//! rule. Accounts are read through NSS (`getpwent`), not `/etc/passwd`,
//! so LDAP, SSSD and systemd-homed users get their `~` too.

use std::{
    ffi::CStr,
    path::{Path, PathBuf},
    sync::Mutex,
};

/// The first uid of people (Debian's `FIRST_UID`). There is no last one:
/// systemd-homed gives 60001–60513, and LDAP and SSSD's ID mapping hand
/// out uids in the millions.
pub const PEOPLE_START: u32 = 1000;

/// Uids above [`PEOPLE_START`] that are never people: systemd's dynamic
/// service users, `nobody`, and the two values that mean "no uid".
const NOT_PEOPLE: [std::ops::RangeInclusive<u32>; 3] =
    [61184..=65519, 65534..=65535, u32::MAX - 1..=u32::MAX];

/// One account, as NSS gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub home: PathBuf,
    pub shell: PathBuf,
}

impl Account {
    /// Root, or a person: a uid of people and a shell one can log in
    /// with; and a home that is an absolute directory other than `/`.
    #[must_use]
    pub fn is_person(&self) -> bool {
        let uid = self.uid == 0
            || (self.uid >= PEOPLE_START && !NOT_PEOPLE.iter().any(|r| r.contains(&self.uid)));
        let shell = self.shell.file_name().and_then(|n| n.to_str());
        let login = !matches!(shell, Some("nologin" | "false"));
        uid && login && self.home.is_absolute() && self.home != Path::new("/")
    }
}

/// The home directories `~` stands for: of root and of every person,
/// sorted, each once, without a trailing `/`.
#[must_use]
pub fn homes() -> Vec<PathBuf> {
    homes_of(accounts())
}

/// The homes of the people among `accounts`.
#[must_use]
pub fn homes_of(accounts: impl IntoIterator<Item = Account>) -> Vec<PathBuf> {
    let mut homes: Vec<PathBuf> = accounts
        .into_iter()
        .filter(Account::is_person)
        .map(|a| a.home.components().collect())
        .collect();
    homes.sort();
    homes.dedup();
    homes
}

/// getpwent's position is process-wide: one enumeration at a time.
static ENUMERATION: Mutex<()> = Mutex::new(());

/// Every account NSS knows (`passwd` in nsswitch.conf: files, LDAP,
/// SSSD, systemd's userdb…).
#[must_use]
pub fn accounts() -> Vec<Account> {
    let _one = ENUMERATION
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 4096];
    // SAFETY: setpwent/getpwent_r/endpwent under the lock above, so no
    // other thread of this process moves the position; getpwent_r writes
    // the entry's strings into `buf`, which outlives their use here.
    unsafe {
        libc::setpwent();
        loop {
            let mut entry: libc::passwd = std::mem::zeroed();
            let mut found: *mut libc::passwd = std::ptr::null_mut();
            let rc = libc::getpwent_r(&mut entry, buf.as_mut_ptr().cast(), buf.len(), &mut found);
            if rc == libc::ERANGE && buf.len() < 1 << 20 {
                // the same entry again, with room for it
                buf.resize(buf.len() * 2, 0);
                continue;
            }
            if rc != 0 || found.is_null() {
                break;
            }
            let text = |p: *const libc::c_char| {
                if p.is_null() {
                    PathBuf::new()
                } else {
                    PathBuf::from(std::ffi::OsStr::from_encoded_bytes_unchecked(
                        CStr::from_ptr(p).to_bytes(),
                    ))
                }
            };
            out.push(Account {
                uid: entry.pw_uid,
                home: text(entry.pw_dir),
                shell: text(entry.pw_shell),
            });
        }
        libc::endpwent();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(uid: u32, home: &str, shell: &str) -> Account {
        Account {
            uid,
            home: home.into(),
            shell: shell.into(),
        }
    }

    // the accounts the daemon's and learning's own parsers were tested on
    #[test]
    fn homes_are_root_and_login_users() {
        let accounts = [
            account(0, "/root", "/bin/bash"),
            account(1, "/usr/sbin", "/usr/sbin/nologin"),
            account(1000, "/home/alice", "/bin/bash"),
            account(1001, "/srv/svc", "/usr/sbin/nologin"),
            account(65534, "/nonexistent", "/usr/sbin/nologin"),
        ];
        assert_eq!(
            homes_of(accounts),
            [PathBuf::from("/home/alice"), PathBuf::from("/root")]
        );
    }

    #[test]
    fn homes_are_root_and_people_with_a_login_shell() {
        let accounts = [
            account(0, "/root", "/bin/bash"),
            account(1, "/usr/sbin", "/usr/sbin/nologin"),
            account(1000, "/home/ann/", "/bin/zsh"),
            account(1001, "/srv/svc", "/bin/false"),
            account(65534, "/nonexistent", "/usr/sbin/nologin"),
        ];
        assert_eq!(
            homes_of(accounts),
            [PathBuf::from("/home/ann"), PathBuf::from("/root")]
        );
    }

    #[test]
    fn system_ranges_and_the_root_directory_are_nobodys_home() {
        let accounts = [
            account(1002, "/", "/bin/sh"),
            account(61184, "/run/systemd", "/bin/sh"),
            account(65534, "/nonexistent", "/bin/sh"),
        ];
        assert!(homes_of(accounts).is_empty());
    }

    #[test]
    fn homed_ldap_and_sssd_people_have_homes() {
        let accounts = [
            account(60001, "/home/homed", "/bin/bash"),
            account(1_868_400_001, "/home/ad.example/bob", "/bin/bash"),
        ];
        assert_eq!(homes_of(accounts).len(), 2);
    }

    #[test]
    fn nss_knows_root() {
        assert!(accounts().iter().any(|a| a.uid == 0));
        assert!(homes().contains(&PathBuf::from("/root")));
    }
}
