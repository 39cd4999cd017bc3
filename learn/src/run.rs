//! A learning run of an existing profile, as the app's "Learn from
//! activity" drives it over the D-Bus API: complain mode while the person
//! uses the app, then a proposal from the events of the run, then either
//! the learned text (with `previous`, so an edit made meanwhile is a
//! conflict and not lost) or the mode put back.

use std::path::Path;

use bpfbox_dbus::{options, zbus::Connection, ManagerProxy, ProfileProxy};
use bpfbox_policy::EditError;

use crate::{homes, learn, Learned, Machine};

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
}

/// A proposal and the text it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub learned: Learned,
    pub current: String,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// The learned profile was written (enforce mode).
    Applied,
    /// Nothing was written; the mode is as before the run.
    Stopped,
}

/// Why no proposal could be made.
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    #[error(transparent)]
    Daemon(#[from] bpfbox_dbus::Error),
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

/// Puts the profile at `path` into complain mode and notes where its
/// events stand.
///
/// # Errors
/// The daemon's: reading events needs `read-events`, the mode `manage`.
pub async fn start(conn: &Connection, path: &str) -> Result<Run, bpfbox_dbus::Error> {
    let proxy = profile(conn, path).await?;
    let executable = proxy.executable().await?;
    let previous_mode = proxy.mode().await?;
    let text_before = proxy.get_text(&options::none()).await?;
    let watermark = manager(conn)
        .await?
        .events_after(0, Some(&executable))
        .await?
        .last()
        .map_or(0, |e| e.id);
    if previous_mode != "complain" {
        proxy.set_mode("complain", &options::none()).await?;
    }
    Ok(Run {
        path: path.to_owned(),
        executable,
        previous_mode,
        text_learning: proxy.get_text(&options::none()).await?,
        text_before,
        watermark,
    })
}

/// The proposal from what the app did since the run started.
///
/// # Errors
/// The daemon's, or a proposal that would not load.
pub async fn propose(conn: &Connection, run: &Run) -> Result<Review, ProposeError> {
    let proxy = profile(conn, &run.path).await?;
    let events = manager(conn)
        .await?
        .events_after(run.watermark, Some(&run.executable))
        .await?;
    let current = proxy.get_text(&options::none()).await?;
    let file = proxy.file().await.map_err(bpfbox_dbus::Error::from)?;
    let machine = Machine {
        executable: run.executable.clone(),
        homes: homes(),
    };
    let learned = learn(Path::new(&file), &current, &events, &machine)?;
    Ok(Review { learned, current })
}

/// Writes the proposal, or (without one) puts the text from before the run
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
