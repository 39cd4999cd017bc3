//! The connection to bpfboxd: proxies without property caches, naming a
//! profile on the command line, and a polkit agent on the terminal.

use std::{
    io::{IsTerminal as _, Read as _},
    os::fd::AsRawFd as _,
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use anyhow::Context as _;
use bpfbox_dbus::{options, ManagerProxy, ProfileProxy, ProfileSummary};
use zbus::{zvariant::OwnedObjectPath, Connection};

use crate::error::{Code, Failure};

/// A connection to the system bus and the manager's proxy.
pub struct Client {
    /// The bus connection.
    pub conn: Connection,
    /// `org.bpfbox.Bpfbox1.Manager`.
    pub manager: ManagerProxy<'static>,
}

impl Client {
    /// Connects to the system bus (`DBUS_SYSTEM_BUS_ADDRESS` if set).
    pub async fn connect() -> anyhow::Result<Self> {
        let conn = Connection::system().await.map_err(|e| {
            Failure::new(
                Code::NoDaemon,
                format!("cannot connect to the system bus, so bpfboxd cannot be reached: {e}"),
            )
        })?;
        // A one-shot command reads each property once: a cache would only
        // add a GetAll round trip and a match rule.
        let manager = ManagerProxy::uncached(&conn).await?;
        Ok(Self { conn, manager })
    }

    /// The proxy of the profile object at `path`.
    pub async fn profile(&self, path: OwnedObjectPath) -> anyhow::Result<ProfileProxy<'static>> {
        Ok(ProfileProxy::uncached(&self.conn, path).await?)
    }

    /// The profile that `app` names: an executable's path, or a display
    /// name or executable file name that exactly one profile has.
    pub async fn resolve(&self, app: &str) -> anyhow::Result<Resolved> {
        if app.starts_with('/') {
            let path = self
                .manager
                .get_profile(app, &options::none())
                .await
                .with_context(|| format!("cannot find the profile of {app}"))?;
            return Ok(Resolved {
                path,
                executable: app.to_owned(),
            });
        }
        let profiles = self
            .manager
            .list_profiles(&options::none())
            .await
            .context("cannot list the profiles")?;
        let matches = matching(&profiles, app);
        match matches.as_slice() {
            [one] => Ok(Resolved {
                path: one.object.clone(),
                executable: one.executable.clone(),
            }),
            [] => Err(Failure::new(
                Code::NotFound,
                format!(
                    "no profile is named {app:?}: give the executable's absolute path, a \
                     display name or a file name from `bpfbox list`"
                ),
            )
            .into()),
            many => Err(Failure::new(
                Code::Invalid,
                format!(
                    "{app:?} names several profiles ({}): give the executable's absolute path",
                    many.iter()
                        .map(|p| p.executable.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .into()),
        }
    }
}

/// A profile found by [`Client::resolve`].
pub struct Resolved {
    /// Its object.
    pub path: OwnedObjectPath,
    /// Its executable.
    pub executable: String,
}

/// The profiles whose display name, or executable's file name, is `app`.
pub fn matching<'a>(profiles: &'a [ProfileSummary], app: &str) -> Vec<&'a ProfileSummary> {
    profiles
        .iter()
        .filter(|p| {
            p.display_name == app
                || Path::new(&p.executable)
                    .file_name()
                    .is_some_and(|n| n == app)
        })
        .collect()
}

/// `pkttyagent` running for this process, so that polkit can ask for a
/// password on the terminal; stopped on drop.
pub struct Agent(Child);

impl Agent {
    /// Starts the agent when it can help: stdin is a terminal, the caller is
    /// not root (polkit always authorizes root), and `pkttyagent` exists.
    /// Returns once the agent has registered, as systemctl does, so the
    /// call that follows finds it.
    pub fn start_if_useful(never: bool) -> Option<Self> {
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        if never || root || !std::io::stdin().is_terminal() {
            return None;
        }
        let (mut reader, writer) = std::io::pipe().ok()?;
        // The agent writes to (closes) this fd once registered; it must
        // survive exec, which std's CLOEXEC pipes do not.
        // SAFETY: F_SETFD on a descriptor this function owns.
        if unsafe { libc::fcntl(writer.as_raw_fd(), libc::F_SETFD, 0) } != 0 {
            return None;
        }
        let child = Command::new("pkttyagent")
            .arg("--process")
            .arg(process_subject())
            .arg("--notify-fd")
            .arg(writer.as_raw_fd().to_string())
            .stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .spawn()
            .ok()?;
        // our copy must close, or the read below never sees EOF
        drop(writer);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
            let _ = tx.send(());
        });
        let _ = rx.recv_timeout(Duration::from_secs(5));
        Some(Self(child))
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `PID,START_TIME` of this process: with the start time polkit cannot
/// mistake a later process that reuses the pid for this one.
fn process_subject() -> String {
    let pid = std::process::id();
    let start = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // fields after the command name, which may contain spaces; the
            // start time is field 22, the 20th after the name
            let rest = stat.rsplit_once(')')?.1;
            rest.split_whitespace().nth(19).map(str::to_owned)
        });
    match start {
        Some(start) => format!("{pid},{start}"),
        None => pid.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(exe: &str, name: &str) -> ProfileSummary {
        ProfileSummary {
            object: bpfbox_dbus::profile_path(1),
            executable: exe.into(),
            display_name: name.into(),
            app_id: String::new(),
            mode: "enforce".into(),
            installed: true,
            running_processes: 0,
            rule_count: 0,
            denial_count: 0,
            last_error: String::new(),
        }
    }

    #[test]
    fn an_app_is_found_by_display_name_or_file_name_exactly() {
        let profiles = [
            summary("/usr/bin/gedit", "Text Editor"),
            summary("/usr/bin/cat", ""),
        ];
        assert_eq!(matching(&profiles, "Text Editor").len(), 1);
        assert_eq!(matching(&profiles, "cat")[0].executable, "/usr/bin/cat");
        assert!(matching(&profiles, "ca").is_empty(), "no prefix matching");
        assert!(matching(&profiles, "text editor").is_empty());
    }

    #[test]
    fn a_file_name_shared_by_two_profiles_matches_both() {
        let profiles = [summary("/usr/bin/cat", ""), summary("/opt/x/cat", "")];
        assert_eq!(matching(&profiles, "cat").len(), 2);
    }

    #[test]
    fn the_process_subject_carries_a_start_time() {
        let subject = process_subject();
        let (pid, start) = subject.split_once(',').expect("pid,start");
        assert_eq!(pid, std::process::id().to_string());
        assert!(start.parse::<u64>().is_ok(), "{subject}");
    }
}
