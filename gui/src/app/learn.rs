//! "Learn from activity" on an application's page: the profile goes into
//! complain mode while the person uses the app, then the accesses it made
//! become proposed rules (the same proposal as `bpfbox learn`, from
//! `bpfbox-learn`), shown as a diff to apply, discard, or keep learning.

use adw::prelude::*;
use bpfbox_gui::i18n::tr;
use bpfbox_learn::run::{self, Finished, ProposeError};
pub use bpfbox_learn::run::{Review, Run as Learning};

use super::client;

/// What the person answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Apply,
    Discard,
    KeepLearning,
}

/// Starts a run on the profile at `path` (complain mode).
pub async fn start(conn: bpfbox_dbus::zbus::Connection, path: String) -> Result<Learning, String> {
    run::start(&conn, &path)
        .await
        .map_err(|e| client::error_text(&e.source))
}

/// The proposal from what the app did since the run started.
pub async fn propose(
    conn: bpfbox_dbus::zbus::Connection,
    learning: Learning,
) -> Result<Review, String> {
    run::propose(&conn, &learning).await.map_err(|e| match e {
        ProposeError::Daemon(e) => client::error_text(&e.source),
        ProposeError::Rules(e) => {
            tr("The learned rules would not load: {error}").replace("{error}", &e.to_string())
        }
    })
}

/// Writes the proposal, or puts the mode back; says which.
pub async fn finish(
    conn: bpfbox_dbus::zbus::Connection,
    learning: Learning,
    review: Option<Review>,
) -> Result<Option<String>, String> {
    match run::finish(&conn, &learning, review.as_ref()).await {
        Ok(Finished::Applied) => Ok(Some(tr("Learned rules applied: the app is enforced"))),
        Ok(Finished::Stopped) => Ok(Some(tr("Learning stopped: nothing was changed"))),
        Err(e) => Err(client::error_text(&e)),
    }
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
