//! The agent's settings: `$XDG_CONFIG_HOME/bpfbox/notifier.toml`
//! (`~/.config/bpfbox/notifier.toml` without it).
//!
//! ```toml
//! # no notifications at all; denials stay readable in the app
//! do_not_disturb = false
//!
//! [flood]
//! coalesce_seconds = 60    # identical denials this close update one notification
//! per_app = 3              # notifications per app per window…
//! app_window_seconds = 30  # …then one summary at the end of the window
//!
//! # "Keep blocking": no more notifications for this app and object
//! [[mute]]
//! executable = "/usr/bin/probe"
//! object = "/home/u/.ssh/id_ed25519"
//! ```
//!
//! The file is read again for every denial, so the app can switch
//! do-not-disturb or remove a mute without talking to the agent. Keys this
//! version does not know are kept when the agent writes the file.

use std::{
    fs, io,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, Serialize};

use super::flood::Limits;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Show no notifications.
    pub do_not_disturb: bool,
    /// Flood control.
    pub flood: FloodSettings,
    /// App and object pairs the person chose to keep blocking silently.
    pub mute: Vec<Mute>,
    /// Keys of newer versions or of the app, written back unchanged.
    #[serde(flatten)]
    pub other: toml::Table,
}

/// The `[flood]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FloodSettings {
    /// See [`Limits::coalesce`].
    pub coalesce_seconds: u64,
    /// See [`Limits::per_app`].
    pub per_app: u32,
    /// See [`Limits::app_window`].
    pub app_window_seconds: u64,
}

impl Default for FloodSettings {
    fn default() -> Self {
        let l = Limits::default();
        Self {
            coalesce_seconds: l.coalesce.as_secs(),
            per_app: l.per_app,
            app_window_seconds: l.app_window.as_secs(),
        }
    }
}

/// One "Keep blocking" answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mute {
    /// The profile's executable.
    pub executable: String,
    /// The object as the denial named it.
    pub object: String,
}

impl Settings {
    /// Where the file is: `$XDG_CONFIG_HOME/bpfbox/notifier.toml`, else under
    /// `$HOME/.config`; `None` when neither is set (absolute).
    #[must_use]
    pub fn default_path() -> Option<PathBuf> {
        let absolute = |v: std::ffi::OsString| {
            let p = PathBuf::from(v);
            p.is_absolute().then_some(p)
        };
        std::env::var_os("XDG_CONFIG_HOME")
            .and_then(absolute)
            .or_else(|| {
                std::env::var_os("HOME")
                    .and_then(absolute)
                    .map(|h| h.join(".config"))
            })
            .map(|c| c.join("bpfbox").join("notifier.toml"))
    }

    /// Reads the file; a missing file is the defaults.
    ///
    /// # Errors
    ///
    /// The file cannot be read or is not valid settings. The caller must not
    /// write over such a file: it would lose what the person wrote.
    pub fn load(path: &Path) -> io::Result<Self> {
        match fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e),
        }
    }

    /// Writes the file whole or not at all (a temporary file renamed over
    /// it), creating its directory.
    ///
    /// # Errors
    ///
    /// The directory or file cannot be written.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let text =
            toml::to_string(self).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("toml.tmp");
        fs::write(&tmp, text)?;
        fs::rename(&tmp, path)
    }

    /// Whether notifications about `object` of `executable` are muted.
    #[must_use]
    pub fn is_muted(&self, executable: &str, object: &str) -> bool {
        self.mute
            .iter()
            .any(|m| m.executable == executable && m.object == object)
    }

    /// Mutes `object` of `executable`; false if it was muted already.
    pub fn add_mute(&mut self, executable: &str, object: &str) -> bool {
        if self.is_muted(executable, object) {
            return false;
        }
        self.mute.push(Mute {
            executable: executable.to_owned(),
            object: object.to_owned(),
        });
        true
    }

    /// The flood limits, with nonsense (zero) replaced by the smallest
    /// sensible value: a limit of 0 notifications would hide every denial
    /// behind a summary.
    #[must_use]
    pub fn limits(&self) -> Limits {
        Limits {
            coalesce: Duration::from_secs(self.flood.coalesce_seconds),
            per_app: self.flood.per_app.max(1),
            app_window: Duration::from_secs(self.flood.app_window_seconds.max(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Dir {
        fn new(name: &str) -> Self {
            let d =
                std::env::temp_dir().join(format!("bpfbox-notifier-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&d);
            Self(d)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_missing_file_means_the_defaults() {
        let d = Dir::new("missing");
        let s = Settings::load(&d.0.join("notifier.toml")).unwrap();
        assert_eq!(s, Settings::default());
        assert!(!s.do_not_disturb);
        assert_eq!(s.limits(), Limits::default());
    }

    #[test]
    fn a_mute_survives_saving_and_loading_with_unknown_keys_kept() {
        let d = Dir::new("mute");
        let path = d.0.join("bpfbox/notifier.toml");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "do_not_disturb = true\nwindow_theme = \"dark\"\n").unwrap();
        let mut s = Settings::load(&path).unwrap();
        assert!(s.add_mute("/usr/bin/probe", "/home/u/.ssh/id_ed25519"));
        assert!(!s.add_mute("/usr/bin/probe", "/home/u/.ssh/id_ed25519"));
        s.save(&path).unwrap();

        let back = Settings::load(&path).unwrap();
        assert!(back.is_muted("/usr/bin/probe", "/home/u/.ssh/id_ed25519"));
        assert!(!back.is_muted("/usr/bin/probe", "/home/u/.ssh/other"));
        assert!(!back.is_muted("/usr/bin/other", "/home/u/.ssh/id_ed25519"));
        assert!(back.do_not_disturb);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("window_theme = \"dark\""), "{text}");
    }

    #[test]
    fn a_broken_file_is_an_error_not_the_defaults() {
        let d = Dir::new("broken");
        fs::create_dir_all(&d.0).unwrap();
        let path = d.0.join("notifier.toml");
        fs::write(&path, "do_not_disturb = maybe\n").unwrap();
        assert!(Settings::load(&path).is_err());
    }

    #[test]
    fn flood_settings_become_limits_and_zero_is_not_taken_literally() {
        let s: Settings = toml::from_str("[flood]\nper_app = 0\napp_window_seconds = 5\n").unwrap();
        let l = s.limits();
        assert_eq!(l.per_app, 1);
        assert_eq!(l.app_window, Duration::from_secs(5));
        assert_eq!(l.coalesce, Limits::default().coalesce, "unset keys default");
    }
}
