//! A learning run over the D-Bus API, the one flow of the app's "Learn from
//! activity" and of `bpfbox learn`: a profile in complain mode while the
//! program runs (an existing profile switched to it, or a new one created
//! for the run), then a proposal from the events of the run, then either
//! the learned text (with `previous`, so an edit made meanwhile is a
//! conflict and not lost) or the profile put back as it was.

use std::{
    fmt,
    path::Path,
    time::{Duration, Instant},
};

use bpfbox_dbus::{options, zbus::Connection, EventInfo, ManagerProxy, ProfileProxy};
use bpfbox_policy::EditError;

use crate::{homes, learn, Learned, Machine};

/// How often the events are read while waiting for them to settle.
const POLL: Duration = Duration::from_millis(250);
/// The longest wait for events to settle: a program that left children
/// behind would otherwise keep the wait going forever.
const MAX_SETTLE: Duration = Duration::from_secs(60);

/// A run in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The profile's object.
    pub path: String,
    pub executable: String,
    /// The mode to go back to when the run is stopped.
    pub previous_mode: String,
    /// The profile's text before the run, and right after it switched to
    /// complain mode: stopping puts the first back if the text is still
    /// the second, so a stopped run leaves the file as it was.
    pub text_before: String,
    pub text_learning: String,
    /// The newest event of the app before the run: later ones are its.
    pub watermark: u64,
    /// The run created the profile ([`start_new`]): stopping deletes it.
    pub created: bool,
}

/// A proposal and the text it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub learned: Learned,
    pub current: String,
    /// How many events of the run it was made from.
    pub events: usize,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// The learned profile was written (enforce mode).
    Applied,
    /// Nothing was learned: the profile is as before the run, or deleted
    /// again if the run created it.
    Stopped,
}

/// What a run was doing when a call to the daemon failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Reading the profile's properties.
    Profile,
    /// Reading the profile's text.
    Text,
    /// Reading the events.
    Events,
    /// Creating the profile to learn.
    Create,
    /// Switching the profile to complain mode.
    Complain,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Profile => "cannot read the profile",
            Self::Text => "cannot read the profile's text",
            Self::Events => "cannot read the events",
            Self::Create => "cannot create a learning profile",
            Self::Complain => "cannot switch the profile to complain mode for learning",
        })
    }
}

/// A call to the daemon that failed, and the step of the run it was for.
#[derive(Debug, thiserror::Error)]
#[error("{step}")]
pub struct StepError {
    pub step: Step,
    #[source]
    pub source: bpfbox_dbus::Error,
}

impl Step {
    /// Tags a daemon error with this step.
    fn of<E: Into<bpfbox_dbus::Error>>(self) -> impl FnOnce(E) -> StepError {
        move |e| StepError {
            step: self,
            source: e.into(),
        }
    }
}

/// Why no proposal could be made.
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    #[error(transparent)]
    Daemon(#[from] StepError),
    /// A bug in the generalisation, reported rather than written.
    #[error("the learned rules would not load: {0}")]
    Rules(#[from] EditError),
}

async fn profile(
    conn: &Connection,
    path: &str,
) -> Result<ProfileProxy<'static>, bpfbox_dbus::Error> {
    ProfileProxy::uncached(conn, path.to_owned()).await
}

async fn manager(conn: &Connection) -> Result<ManagerProxy<'static>, bpfbox_dbus::Error> {
    ManagerProxy::uncached(conn).await
}

/// The id of the newest event of `executable`, or 0.
async fn watermark(conn: &Connection, executable: &str) -> Result<u64, StepError> {
    let events = manager(conn)
        .await
        .map_err(Step::Events.of())?
        .events_after(0, Some(executable))
        .await
        .map_err(Step::Events.of())?;
    Ok(events.last().map_or(0, |e| e.id))
}

/// Puts the existing profile at `path` into complain mode and notes where
/// its events stand.
///
/// # Errors
/// The daemon's: reading events needs `read-events`, the mode `manage`.
pub async fn start(conn: &Connection, path: &str) -> Result<Run, StepError> {
    let proxy = profile(conn, path).await.map_err(Step::Profile.of())?;
    let executable = proxy.executable().await.map_err(Step::Profile.of())?;
    let previous_mode = proxy.mode().await.map_err(Step::Profile.of())?;
    let text_before = proxy
        .get_text(&options::none())
        .await
        .map_err(Step::Text.of())?;
    let watermark = watermark(conn, &executable).await?;
    if previous_mode != "complain" {
        proxy
            .set_mode("complain", &options::none())
            .await
            .map_err(Step::Complain.of())?;
    }
    Ok(Run {
        path: path.to_owned(),
        executable,
        previous_mode,
        text_learning: proxy
            .get_text(&options::none())
            .await
            .map_err(Step::Text.of())?,
        text_before,
        watermark,
        created: false,
    })
}

/// Creates a profile for `executable` to learn it from nothing: complain
/// mode, `taint_on_exec = true` and no rules, so every access but reading
/// its own executable is reported. `file_name` names its file in the
/// policy directory (by default the daemon names it after the executable).
///
/// The events are read before the profile exists, so nothing can fail
/// once it does: a failed start leaves no profile behind.
///
/// # Errors
/// The daemon's: reading events needs `read-events`, creating `manage`;
/// a profile for `executable` that already exists is refused.
pub async fn start_new(
    conn: &Connection,
    executable: &str,
    file_name: Option<&str>,
) -> Result<Run, StepError> {
    let watermark = watermark(conn, executable).await?;
    let text = new_profile_text(executable);
    let mut opts = options::none();
    if let Some(name) = file_name {
        opts.insert("file_name", name.into());
    }
    let path = manager(conn)
        .await
        .map_err(Step::Create.of())?
        .create_profile(&text, &opts)
        .await
        .map_err(Step::Create.of())?;
    Ok(Run {
        path: path.to_string(),
        executable: executable.to_owned(),
        previous_mode: "complain".to_owned(),
        text_before: text.clone(),
        text_learning: text,
        watermark,
        created: true,
    })
}

/// The text of a new learning profile.
#[must_use]
pub fn new_profile_text(executable: &str) -> String {
    format!(
        "# learned with `bpfbox learn`\nprofile = {}\nmode = \"complain\"\ntaint_on_exec = true\n",
        toml_edit::Value::from(executable)
    )
}

/// The proposal from what the app did since the run started.
///
/// # Errors
/// The daemon's, or a proposal that would not load.
pub async fn propose(conn: &Connection, run: &Run) -> Result<Review, ProposeError> {
    let events = manager(conn)
        .await
        .map_err(Step::Events.of())?
        .events_after(run.watermark, Some(&run.executable))
        .await
        .map_err(Step::Events.of())?;
    review(conn, run, &events).await
}

/// The proposal once the daemon has reported nothing new about the run
/// for `quiet`, counted from now (at most a minute): bpfboxd holds repeats
/// of an event for its coalescing window before reporting them, so a
/// proposal made right after the program exits would miss its last
/// accesses.
///
/// # Errors
/// The daemon's, or a proposal that would not load.
pub async fn propose_settled(
    conn: &Connection,
    run: &Run,
    quiet: Duration,
) -> Result<Review, ProposeError> {
    let manager = manager(conn).await.map_err(Step::Events.of())?;
    let start = Instant::now();
    let mut events: Vec<EventInfo> = Vec::new();
    let mut last_new = start;
    loop {
        let after = events.last().map_or(run.watermark, |e| e.id);
        let more = manager
            .events_after(after, Some(&run.executable))
            .await
            .map_err(Step::Events.of())?;
        if !more.is_empty() {
            last_new = Instant::now();
            events.extend(more);
        }
        if last_new.elapsed() >= quiet || start.elapsed() >= MAX_SETTLE {
            return review(conn, run, &events).await;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The proposal from `events` against the profile's current text.
async fn review(
    conn: &Connection,
    run: &Run,
    events: &[EventInfo],
) -> Result<Review, ProposeError> {
    let proxy = profile(conn, &run.path).await.map_err(Step::Profile.of())?;
    let current = proxy
        .get_text(&options::none())
        .await
        .map_err(Step::Text.of())?;
    let file = proxy.file().await.map_err(Step::Profile.of())?;
    let machine = Machine {
        executable: run.executable.clone(),
        homes: homes(),
    };
    let learned = learn(Path::new(&file), &current, events, &machine)?;
    Ok(Review {
        learned,
        current,
        events: events.len(),
    })
}

/// Writes the proposal, or (without one) takes back what the run changed:
/// deletes the profile it created, or puts the text from before the run
/// back (only the mode, if the profile was edited during the run).
///
/// # Errors
/// The daemon's; `Conflict` when the profile changed since the proposal.
pub async fn finish(
    conn: &Connection,
    run: &Run,
    review: Option<&Review>,
) -> Result<Finished, bpfbox_dbus::Error> {
    let proxy = profile(conn, &run.path).await?;
    if let Some(review) = review {
        let mut opts = options::none();
        opts.insert("previous", review.current.as_str().into());
        proxy.replace(&review.learned.text, &opts).await?;
        return Ok(Finished::Applied);
    }
    if run.created {
        proxy.delete(&options::none()).await?;
        return Ok(Finished::Stopped);
    }
    if run.text_before == run.text_learning {
        // It was in complain mode already: nothing to put back.
        return Ok(Finished::Stopped);
    }
    let mut opts = options::none();
    opts.insert("previous", run.text_learning.as_str().into());
    match proxy.replace(&run.text_before, &opts).await {
        Ok(()) => {}
        // Edited during the run: keep the edit, put only the mode back.
        Err(bpfbox_dbus::Error::Conflict(_)) if run.previous_mode != "complain" => {
            proxy.set_mode(&run.previous_mode, &options::none()).await?;
        }
        Err(bpfbox_dbus::Error::Conflict(_)) => {}
        Err(e) => return Err(e),
    }
    Ok(Finished::Stopped)
}

#[cfg(test)]
mod tests {
    use bpfbox_policy::Mode;

    use super::*;

    #[test]
    fn the_learning_profile_complains_about_everything_from_exec() {
        let text = new_profile_text("/usr/bin/gzip");
        let profile = bpfbox_policy::parse_str(&text, Path::new("gzip.toml")).unwrap();
        assert_eq!(profile.mode, Mode::Complain);
        assert_eq!(profile.taint_on_exec, Some(true));
        assert_eq!(profile.rule_count(), 0);
    }
}
