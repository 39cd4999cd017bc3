//! bpfboxd's settings: built-in defaults, overridden by the configuration
//! file, overridden by environment variables, overridden by flags.
//!
//! Flags and environment variables are one layer to us: clap reads both
//! into [`Cli`], a flag winning over its variable.

use std::{
    fmt, fs, io,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{de, Deserialize, Deserializer};

use crate::{args::Cli, events::audit, events::coalesce, events::history};

/// Read when `--config` is not given; it need not exist.
pub const DEFAULT_CONFIG: &str = "/etc/bpfbox/bpfboxd.toml";

/// Why the settings could not be worked out.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("failed to read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// The configuration file as written: every key optional.
#[derive(Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default, deserialize_with = "absolute")]
    pub policy_dir: Option<PathBuf>,
    #[serde(default, deserialize_with = "absolute")]
    pub packaged_dir: Option<PathBuf>,
    pub log_level: Option<String>,
    #[serde(default, deserialize_with = "absolute")]
    pub lock_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "audit_path")]
    pub audit_log: Option<AuditTarget>,
    pub audit_log_max_size: Option<u64>,
    pub audit_log_keep: Option<usize>,
    pub history_size: Option<usize>,
    pub coalesce_window_ms: Option<u64>,
}

/// Where audit lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditTarget {
    File(PathBuf),
    /// `none` or empty: no audit log.
    Disabled,
}

impl AuditTarget {
    fn parse(text: &str) -> Self {
        if text.is_empty() || text == "none" {
            Self::Disabled
        } else {
            Self::File(PathBuf::from(text))
        }
    }

    fn into_path(self) -> Option<PathBuf> {
        match self {
            Self::File(path) => Some(path),
            Self::Disabled => None,
        }
    }
}

/// The resolved settings the daemon runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub policy_dir: PathBuf,
    /// The profiles a package ships: what "reset to default" restores.
    pub packaged_dir: PathBuf,
    pub log_level: String,
    pub lock_file: PathBuf,
    /// `None`: no audit log.
    pub audit_log: Option<PathBuf>,
    pub audit_rotation: audit::Rotation,
    pub history_size: usize,
    pub coalesce_window: Duration,
    /// The configuration file that was read, if one was.
    pub config_file: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            policy_dir: PathBuf::from("/var/lib/bpfbox/policy"),
            packaged_dir: PathBuf::from("/usr/share/bpfbox/profiles"),
            log_level: "info".into(),
            lock_file: PathBuf::from("/run/bpfboxd.lock"),
            audit_log: Some(PathBuf::from(audit::DEFAULT_PATH)),
            audit_rotation: audit::Rotation {
                max_size: 0,
                keep: 5,
            },
            history_size: history::DEFAULT_CAPACITY,
            coalesce_window: coalesce::DEFAULT_WINDOW,
            config_file: None,
        }
    }
}

impl Settings {
    /// The settings for this command line: its flags (or their environment
    /// variables), then the configuration file, then the defaults. A missing
    /// configuration file is fine unless it was asked for by name.
    pub fn resolve(cli: &Cli) -> Result<Self, ConfigError> {
        let (path, explicit) = cli
            .config
            .clone()
            .map_or_else(|| (PathBuf::from(DEFAULT_CONFIG), false), |p| (p, true));
        let file = match fs::read_to_string(&path) {
            Ok(text) => Some((parse(&path, &text)?, path)),
            Err(err) if err.kind() == io::ErrorKind::NotFound && !explicit => None,
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        let (config, config_file) = file.map_or_else(
            || (FileConfig::default(), None),
            |(config, path)| (config, Some(path)),
        );
        let mut settings = Self::from_file(config);
        settings.config_file = config_file;
        settings.apply_flags(cli);
        Ok(settings)
    }

    /// The defaults, overridden by the file's keys.
    #[must_use]
    pub fn from_file(file: FileConfig) -> Self {
        let mut s = Self::default();
        set(&mut s.policy_dir, file.policy_dir);
        set(&mut s.packaged_dir, file.packaged_dir);
        set(&mut s.log_level, file.log_level);
        set(&mut s.lock_file, file.lock_file);
        set(&mut s.audit_log, file.audit_log.map(AuditTarget::into_path));
        set(&mut s.audit_rotation.max_size, file.audit_log_max_size);
        set(&mut s.audit_rotation.keep, file.audit_log_keep);
        set(&mut s.history_size, file.history_size);
        set(
            &mut s.coalesce_window,
            file.coalesce_window_ms.map(Duration::from_millis),
        );
        s
    }

    fn apply_flags(&mut self, cli: &Cli) {
        set(&mut self.policy_dir, cli.policy_dir.clone());
        set(&mut self.packaged_dir, cli.packaged_dir.clone());
        set(&mut self.log_level, cli.log_level.clone());
        set(&mut self.lock_file, cli.lock_file.clone());
        set(
            &mut self.audit_log,
            cli.audit_log
                .as_deref()
                .map(|text| AuditTarget::parse(text).into_path()),
        );
        set(&mut self.audit_rotation.max_size, cli.audit_log_max_size);
        set(&mut self.audit_rotation.keep, cli.audit_log_keep);
        set(&mut self.history_size, cli.history_size);
        set(
            &mut self.coalesce_window,
            cli.coalesce_window_ms.map(Duration::from_millis),
        );
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

/// Parses a configuration file's text; errors point at `path:line:column`.
pub fn parse(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|err| {
        let (line, column) = err
            .span()
            .map_or((1, 1), |span| line_column(text, span.start));
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: first_line(err.message()).to_owned(),
        }
    })
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message).trim_end()
}

/// Paths in the file must not depend on the daemon's working directory.
fn absolute<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let path = PathBuf::deserialize(d)?;
    if path.is_absolute() {
        Ok(Some(path))
    } else {
        Err(de::Error::custom(AbsoluteOnly(&path)))
    }
}

fn audit_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AuditTarget>, D::Error> {
    let text = String::deserialize(d)?;
    match AuditTarget::parse(&text) {
        AuditTarget::File(path) if !path.is_absolute() => {
            Err(de::Error::custom(AbsoluteOnly(&path)))
        }
        target => Ok(Some(target)),
    }
}

struct AbsoluteOnly<'a>(&'a Path);

impl fmt::Display for AbsoluteOnly<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not an absolute path", self.0.display())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    const SHIPPED: &str = include_str!("../../data/bpfboxd.toml");

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("bpfboxd").chain(args.iter().copied())).unwrap()
    }

    fn config_file(text: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bpfboxd.toml");
        fs::write(&path, text).unwrap();
        let path = path.to_str().unwrap().to_owned();
        (dir, path)
    }

    #[test]
    fn shipped_config_parses_and_states_the_defaults() {
        let path = Path::new("data/bpfboxd.toml");
        // every key, commented out: the file as shipped changes nothing
        assert_eq!(parse(path, SHIPPED).unwrap(), FileConfig::default());
        // and uncommented, each states its default
        let uncommented: String = SHIPPED
            .lines()
            .map(|l| {
                l.strip_prefix('#')
                    .filter(|l| l.contains(" = "))
                    .unwrap_or(l)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let config = parse(path, &uncommented).unwrap();
        assert!(config.policy_dir.is_some() && config.coalesce_window_ms.is_some());
        assert!(config.history_size.is_some() && config.audit_log_keep.is_some());
        assert_eq!(Settings::from_file(config), Settings::default());
    }

    #[test]
    fn flag_help_states_the_built_in_defaults() {
        use clap::CommandFactory as _;

        let d = Settings::default();
        let audit_log = d.audit_log.as_ref().unwrap().display().to_string();
        let expected = [
            ("policy_dir", d.policy_dir.display().to_string()),
            ("packaged_dir", d.packaged_dir.display().to_string()),
            ("log_level", d.log_level.clone()),
            ("lock_file", d.lock_file.display().to_string()),
            ("audit_log", audit_log),
            ("audit_log_max_size", d.audit_rotation.max_size.to_string()),
            ("audit_log_keep", d.audit_rotation.keep.to_string()),
            ("history_size", d.history_size.to_string()),
            (
                "coalesce_window_ms",
                d.coalesce_window.as_millis().to_string(),
            ),
        ];
        let command = Cli::command();
        for (id, value) in expected {
            let arg = command.get_arguments().find(|a| a.get_id() == id).unwrap();
            let help = arg.get_help().unwrap().to_string();
            assert!(
                help.contains(&format!("[default: {value}]")),
                "--{id}: {help}"
            );
        }
    }

    #[test]
    fn flag_beats_config_file_beats_default() {
        let (_dir, path) = config_file(
            "policy_dir = \"/etc/bpfbox/policy\"\nhistory_size = 50\naudit_log = \"none\"\n",
        );
        let s = Settings::resolve(&cli(&["--config", &path, "--history-size", "7"])).unwrap();
        assert_eq!(s.history_size, 7, "the flag wins");
        assert_eq!(
            s.policy_dir,
            Path::new("/etc/bpfbox/policy"),
            "then the file"
        );
        assert_eq!(s.audit_log, None, "`none` turns the log off");
        assert_eq!(
            s.lock_file,
            Settings::default().lock_file,
            "then the default"
        );
        assert_eq!(s.config_file.as_deref(), Some(Path::new(&path)));
    }

    #[test]
    fn environment_beats_config_file_but_not_flag() {
        // the only test that reads this variable: others may run alongside
        std::env::set_var("BPFBOX_COALESCE_WINDOW_MS", "300");
        let (_dir, path) = config_file("coalesce_window_ms = 5000\n");
        let from_env = Settings::resolve(&cli(&["--config", &path]));
        let from_flag = Settings::resolve(&cli(&["--config", &path, "--coalesce-window-ms", "0"]));
        std::env::remove_var("BPFBOX_COALESCE_WINDOW_MS");
        assert_eq!(
            from_env.unwrap().coalesce_window,
            Duration::from_millis(300)
        );
        assert_eq!(from_flag.unwrap().coalesce_window, Duration::ZERO);
    }

    #[test]
    fn empty_audit_log_flag_disables_the_log() {
        let (_dir, path) = config_file("audit_log = \"/srv/log/bpfbox.log\"\n");
        let s = Settings::resolve(&cli(&["--config", &path])).unwrap();
        assert_eq!(
            s.audit_log.as_deref(),
            Some(Path::new("/srv/log/bpfbox.log"))
        );
        let s = Settings::resolve(&cli(&["--config", &path, "--audit-log", ""])).unwrap();
        assert_eq!(s.audit_log, None);
    }

    #[test]
    fn missing_explicit_config_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.toml");
        let err = Settings::resolve(&cli(&["--config", path.to_str().unwrap()])).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }), "{err}");
        assert!(err.to_string().contains("absent.toml"), "{err}");
    }

    #[test]
    fn unknown_key_is_reported_at_its_line_and_column() {
        let text = "history_size = 5\n  audit_log_max = 10\n";
        let err = parse(Path::new("/etc/bpfbox/bpfboxd.toml"), text).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("/etc/bpfbox/bpfboxd.toml:2:3: unknown field `audit_log_max`"),
            "{message}"
        );
    }

    #[test]
    fn wrong_type_is_reported_at_the_value() {
        let err = parse(Path::new("c.toml"), "\nhistory_size = \"lots\"\n").unwrap_err();
        let ConfigError::Parse { line, column, .. } = err else {
            panic!("{err}");
        };
        assert_eq!((line, column), (2, 16));
    }

    #[test]
    fn relative_paths_are_refused_where_they_are_written() {
        let err = parse(Path::new("c.toml"), "lock_file = \"run/x.lock\"\n").unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("c.toml:1:13: `run/x.lock` is not an absolute path"),
            "{message}"
        );
        assert!(parse(Path::new("c.toml"), "audit_log = \"log\"\n").is_err());
        assert!(parse(Path::new("c.toml"), "audit_log = \"\"\n").is_ok());
    }

    #[test]
    fn syntax_errors_carry_a_location() {
        let err = parse(Path::new("c.toml"), "history_size = \n").unwrap_err();
        assert!(matches!(err, ConfigError::Parse { line: 1, .. }), "{err}");
    }
}
