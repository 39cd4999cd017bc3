//! The audit log file: one line per event record, for admins and for
//! tools that read logs (`grep`, logrotate, log shippers).
//!
//! Writing it must never stop confinement: a full disk or a removed
//! directory is reported (once, not once per event) and the daemon goes on.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Write as _},
    os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
};

use crate::events::record::EventRecord;

/// Where the log goes unless configured otherwise.
pub const DEFAULT_PATH: &str = "/var/log/bpfbox/bpfbox.log";

/// Paths in the log say what users opened: not for everyone to read.
const FILE_MODE: u32 = 0o640;
const DIR_MODE: u32 = 0o750;

/// Size-based rotation, for machines without logrotate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate before a line would make the file larger than this; 0: never.
    pub max_size: u64,
    /// How many rotated files (`.1` newest … `.keep`) to keep.
    pub keep: usize,
}

/// An open audit log.
pub struct AuditLog {
    path: PathBuf,
    rotation: Rotation,
    /// `None` after a failed open: the next write tries again.
    file: Option<File>,
    size: u64,
    /// Lines lost since the last successful write; non-zero means the
    /// failure was already reported.
    lost: u64,
}

impl AuditLog {
    /// Opens (creating it and its directory if needed) the log at `path`.
    /// An error here is for the caller to report: at start-up a log that
    /// cannot be opened is a configuration mistake worth stopping for.
    pub fn open(path: &Path, rotation: Rotation) -> io::Result<Self> {
        let mut log = Self {
            path: path.to_path_buf(),
            rotation,
            file: None,
            size: 0,
            lost: 0,
        };
        log.reopen()?;
        Ok(log)
    }

    /// The log's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the file and opens the path again: after logrotate renamed
    /// the file (its `create` mode), lines go to the new one. Call on SIGHUP.
    pub fn reopen(&mut self) -> io::Result<()> {
        self.file = None;
        let file = open_append(&self.path)?;
        self.size = file.metadata()?.len();
        self.file = Some(file);
        Ok(())
    }

    /// Appends `record`'s line, stamped with its time. Never fails: errors
    /// go to the daemon's own log.
    pub fn write(&mut self, record: &EventRecord) {
        let line = format!("{} {}\n", rfc3339_utc(record.time_us), record.audit_line());
        match self.append(line.as_bytes()) {
            Ok(()) => {
                if self.lost > 0 {
                    tracing::warn!(
                        path = %self.path.display(),
                        lost = self.lost,
                        "audit log writable again; lines were lost meanwhile"
                    );
                    self.lost = 0;
                }
            }
            Err(err) => {
                if self.lost == 0 {
                    tracing::error!(
                        path = %self.path.display(),
                        "failed to write the audit log: {err} (further failures are counted, not logged)"
                    );
                }
                self.lost += 1;
            }
        }
    }

    fn append(&mut self, line: &[u8]) -> io::Result<()> {
        let len = line.len() as u64;
        let max = self.rotation.max_size;
        // a line longer than the limit still goes into a file of its own
        if max > 0 && self.size > 0 && self.size + len > max {
            self.rotate()?;
        }
        if self.file.is_none() {
            self.reopen()?;
        }
        let file = self.file.as_mut().expect("reopened above");
        // one write call per line: O_APPEND keeps lines whole
        file.write_all(line)?;
        self.size += len;
        Ok(())
    }

    /// `path` → `path.1` → … → `path.keep`, the oldest dropped, then a
    /// new, empty `path`.
    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        let keep = self.rotation.keep;
        if keep == 0 {
            remove_if_present(&self.path)?;
        } else {
            remove_if_present(&numbered(&self.path, keep))?;
            for n in (1..keep).rev() {
                rename_if_present(&numbered(&self.path, n), &numbered(&self.path, n + 1))?;
            }
            rename_if_present(&self.path, &numbered(&self.path, 1))?;
        }
        self.reopen()
    }
}

fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn rename_if_present(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Opens `path` for appending, creating it (0640) and its directory (0750)
/// when missing. Modes are set explicitly on creation, as the umask could
/// otherwise loosen or tighten them; existing ones are the admin's choice.
fn open_append(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)?;
            fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))?;
        }
    }
    match OpenOptions::new()
        .append(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(file) => {
            file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
            Ok(file)
        }
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            OpenOptions::new().append(true).open(path)
        }
        Err(err) => Err(err),
    }
}

/// Unix microseconds as RFC 3339 in UTC: `2024-03-01T12:00:00.000001Z`.
#[must_use]
pub fn rfc3339_utc(time_us: u64) -> String {
    let secs = time_us / 1_000_000;
    let micros = time_us % 1_000_000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Gregorian (year, month, day) of a count of days since 1970-01-01.
fn civil_date(days: u64) -> (u64, u64, u64) {
    let (y, m, d) = bpfbox_policy::civil_from_days(i64::try_from(days).unwrap_or(i64::MAX));
    let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
    (unsigned(y), unsigned(m), unsigned(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::record::tests::record;

    fn lines(path: &Path) -> Vec<String> {
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn each_record_is_one_timestamped_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bpfbox.log");
        let mut log = AuditLog::open(&path, Rotation::default()).unwrap();
        let mut r = record(42);
        r.time_us = 1_709_294_400_000_001;
        log.write(&r);
        log.write(&record(43));
        let lines = lines(&path);
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            format!("2024-03-01T12:00:00.000001Z {}", r.audit_line())
        );
        assert!(lines[1].ends_with(" id=43"));
    }

    #[test]
    fn missing_directory_and_file_are_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log/bpfbox/bpfbox.log");
        AuditLog::open(&path, Rotation::default()).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&path), 0o640);
        assert_eq!(mode(path.parent().unwrap()), 0o750);
    }

    #[test]
    fn reopen_after_rename_writes_to_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bpfbox.log");
        let rotated = dir.path().join("bpfbox.log.1");
        let mut log = AuditLog::open(&path, Rotation::default()).unwrap();
        log.write(&record(1));
        // what logrotate does in `create` mode, then SIGHUP
        fs::rename(&path, &rotated).unwrap();
        log.write(&record(2));
        log.reopen().unwrap();
        log.write(&record(3));
        let old = lines(&rotated);
        assert_eq!(old.len(), 2, "before reopen, lines follow the renamed file");
        assert!(old[1].ends_with(" id=2"));
        let new = lines(&path);
        assert_eq!(new.len(), 1);
        assert!(new[0].ends_with(" id=3"));
    }

    #[test]
    fn size_limit_rotates_and_keeps_the_newest_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bpfbox.log");
        let one_line = format!("{} {}\n", rfc3339_utc(1_000), record(1).audit_line()).len();
        // two lines fit in a file (ids stay one digit long)
        let rotation = Rotation {
            max_size: (2 * one_line) as u64,
            keep: 2,
        };
        let mut log = AuditLog::open(&path, rotation).unwrap();
        for id in 1..=7 {
            log.write(&record(id));
        }
        let ids = |p: &Path| -> Vec<String> {
            lines(p)
                .iter()
                .map(|l| l.rsplit(' ').next().unwrap().to_owned())
                .collect()
        };
        assert_eq!(ids(&path), ["id=7"]);
        assert_eq!(ids(&numbered(&path, 1)), ["id=5", "id=6"]);
        assert_eq!(ids(&numbered(&path, 2)), ["id=3", "id=4"]);
        assert!(!numbered(&path, 3).exists(), "only `keep` rotated files");
    }

    #[test]
    fn rotation_without_kept_files_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bpfbox.log");
        let rotation = Rotation {
            max_size: 10,
            keep: 0,
        };
        let mut log = AuditLog::open(&path, rotation).unwrap();
        log.write(&record(1));
        log.write(&record(2));
        assert_eq!(lines(&path).len(), 1);
        assert!(!numbered(&path, 1).exists());
    }

    #[test]
    fn write_errors_are_counted_not_fatal_and_recovered_from() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/bpfbox.log");
        let mut log = AuditLog::open(&path, Rotation::default()).unwrap();
        // the directory goes and a file takes its place: no reopen can work
        fs::remove_dir_all(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub"), b"").unwrap();
        log.file = None;
        log.write(&record(1));
        log.write(&record(2));
        assert_eq!(log.lost, 2);
        fs::remove_file(dir.path().join("sub")).unwrap();
        log.write(&record(3));
        assert_eq!(log.lost, 0);
        assert_eq!(lines(&path).len(), 1);
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00.000000Z");
        // a leap day, and the last microsecond of a leap year
        assert_eq!(
            rfc3339_utc(951_782_400_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            rfc3339_utc(1_735_689_599_999_999),
            "2024-12-31T23:59:59.999999Z"
        );
        assert_eq!(
            rfc3339_utc(4_107_542_400_000_000),
            "2100-03-01T00:00:00.000000Z"
        );
    }
}
