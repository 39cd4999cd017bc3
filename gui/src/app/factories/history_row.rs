//! One denial in the history of every application: which app, what was
//! denied, when and to which process, and why when expanded.
//!
//! Not the profile page's `EventRow`: this row names the app, offers no
//! "Allow", and sits in a list with a placeholder rather than in a
//! preferences group.

use adw::prelude::*;
use bpfbox_dbus::EventInfo;
use bpfbox_gui::i18n::tr;
use gtk::glib;
use relm4::prelude::*;

use crate::app::model::{event_subtitle, event_title, format_time, title};

pub struct HistoryRow {
    event: EventInfo,
}

#[relm4::factory(pub)]
impl FactoryComponent for HistoryRow {
    type Init = EventInfo;
    type Input = ();
    type Output = ();
    type CommandOutput = ();
    type ParentWidget = gtk::ListBox;

    view! {
        adw::ExpanderRow {
            set_title: &glib::markup_escape_text(&format!(
                "{} — {}",
                title(&self.event.display_name, &self.event.executable),
                event_title(&self.event)
            )),
            set_subtitle: &glib::markup_escape_text(&event_subtitle(&self.event, &format_time(self.event.time_usec))),

            add_row = &adw::ActionRow {
                set_title: &tr("Why"),
                set_subtitle: &glib::markup_escape_text(&self.event.reason),
            },
        }
    }

    fn init_model(event: Self::Init, _index: &DynamicIndex, _sender: FactorySender<Self>) -> Self {
        Self { event }
    }
}
