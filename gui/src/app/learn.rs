//! "Learn from activity" on an application's page: the profile goes into
//! complain mode while the person uses the app, then the accesses it made
//! become proposed rules (the same proposal as `bpfbox learn`, from
//! `bpfbox-learn`), shown as a diff to apply, discard, or keep learning.

use std::path::Path;

use adw::prelude::*;
use bpfbox_dbus::{options, zbus::Connection};
use bpfbox_gui::i18n::tr;
use bpfbox_learn::{homes, Learned, Machine};

use super::client;

/// A learning run of one profile.
#[derive(Debug, Clone)]
pub struct Learning {
    /// The profile's object.
    pub path: String,
    pub executable: String,
    /// The mode to go back to when the run is discarded.
    pub previous_mode: String,
    /// The newest event of the app before the run: later ones are its.
    pub watermark: u64,
}

/// A proposal and the text it was made from (`Replace`'s `previous`, so a
/// change made meanwhile is a conflict, not lost).
#[derive(Debug, Clone)]
pub struct Review {
    pub learned: Learned,
    pub current: String,
}

/// What the person answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Apply,
    Discard,
    KeepLearning,
}

/// Puts the profile at `path` into complain mode and notes where its
/// events stand.
pub async fn start(conn: Connection, path: String) -> Result<Learning, bpfbox_dbus::Error> {
    let profile = client::profile(&conn, &path).await?;
    let executable = profile.executable().await?;
    let previous_mode = profile.mode().await?;
    let watermark = client::manager(&conn)
        .await?
        .events_after(0, Some(&executable))
        .await?
        .last()
        .map_or(0, |e| e.id);
    if previous_mode != "complain" {
        profile.set_mode("complain", &options::none()).await?;
    }
    Ok(Learning {
        path,
        executable,
        previous_mode,
        watermark,
    })
}

/// The proposal from what the app did since the run started.
pub async fn propose(conn: Connection, run: Learning) -> Result<Review, String> {
    let read = async {
        let profile = client::profile(&conn, &run.path).await?;
        let events = client::manager(&conn)
            .await?
            .events_after(run.watermark, Some(&run.executable))
            .await?;
        let current = profile.get_text(&options::none()).await?;
        let file = profile.file().await?;
        Ok::<_, bpfbox_dbus::Error>((events, current, file))
    };
    let (events, current, file) = read.await.map_err(|e| client::error_text(&e))?;
    let machine = Machine {
        executable: run.executable,
        homes: homes(),
    };
    let learned =
        bpfbox_learn::learn(Path::new(&file), &current, &events, &machine).map_err(|e| {
            tr("The learned rules would not load: {error}").replace("{error}", &e.to_string())
        })?;
    Ok(Review { learned, current })
}

/// Writes the proposal, or puts the mode back.
pub async fn finish(
    conn: Connection,
    run: Learning,
    review: Option<Review>,
) -> Result<Option<String>, bpfbox_dbus::Error> {
    let profile = client::profile(&conn, &run.path).await?;
    if let Some(review) = review {
        let mut opts = options::none();
        opts.insert("previous", review.current.as_str().into());
        profile.replace(&review.learned.text, &opts).await?;
        return Ok(Some(tr("Learned rules applied: the app is enforced")));
    }
    if run.previous_mode != "complain" {
        profile
            .set_mode(&run.previous_mode, &options::none())
            .await?;
    }
    Ok(Some(tr("Learning stopped: nothing was changed")))
}

/// Asks what to do with `review`.
pub fn ask(parent: Option<&gtk::Window>, review: &Review, answer: impl Fn(Answer) + 'static) {
    let learned = &review.learned;
    let (heading, body) = if learned.rules == 0 {
        (
            tr("Nothing to learn yet"),
            tr("The app has done nothing its profile does not already allow. Use it some more, then review again."),
        )
    } else {
        (
            tr("Apply the learned rules?"),
            tr("{complaints} accesses the profile did not allow became {rules} rules. Applying them also switches the app to enforce mode.")
                .replace("{complaints}", &learned.complaints.to_string())
                .replace("{rules}", &learned.rules.to_string()),
        )
    };
    let dialog = adw::MessageDialog::new(parent, Some(&heading), Some(&body));
    let mut text = learned.diff.clone();
    for note in &learned.skipped {
        text.push_str(&format!("\n# {}: {note}", tr("not learned")));
    }
    if !text.is_empty() {
        let view = gtk::TextView::builder()
            .editable(false)
            .monospace(true)
            .wrap_mode(gtk::WrapMode::WordChar)
            .build();
        view.buffer().set_text(&text);
        super::a11y::set_label(&view, &tr("Proposed change to the profile"));
        let scrolled = gtk::ScrolledWindow::builder()
            .min_content_height(240)
            .min_content_width(480)
            .child(&view)
            .build();
        dialog.set_extra_child(Some(&scrolled));
    }
    dialog.add_response("keep", &tr("Keep learning"));
    dialog.add_response("discard", &tr("Stop and discard"));
    if learned.rules > 0 {
        dialog.add_response("apply", &tr("Apply"));
        dialog.set_response_appearance("apply", adw::ResponseAppearance::Suggested);
        dialog.set_default_response(Some("apply"));
    }
    dialog.set_response_appearance("discard", adw::ResponseAppearance::Destructive);
    dialog.set_close_response("keep");
    dialog.connect_response(None, move |_, response| {
        answer(match response {
            "apply" => Answer::Apply,
            "discard" => Answer::Discard,
            _ => Answer::KeepLearning,
        });
    });
    dialog.present();
}
