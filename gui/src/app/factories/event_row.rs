//! One recent denial on a profile's page: what was denied, when and to
//! which process, why when expanded, and "Allow", which adds a rule that
//! allows it from now on.

use adw::prelude::*;
use bpfbox_dbus::EventInfo;
use bpfbox_gui::i18n::tr;
use gtk::glib;
use relm4::prelude::*;

use crate::app::{
    a11y,
    model::{event_subtitle, event_title, format_time},
};

pub struct EventRow {
    event: EventInfo,
}

#[derive(Debug)]
pub enum EventRowOutput {
    /// Allow the event with this id from now on.
    Allow(u64),
}

#[relm4::factory(pub)]
impl FactoryComponent for EventRow {
    type Init = EventInfo;
    type Input = ();
    type Output = EventRowOutput;
    type CommandOutput = ();
    type ParentWidget = adw::PreferencesGroup;

    view! {
        adw::ExpanderRow {
            set_title: &glib::markup_escape_text(&event_title(&self.event)),
            set_subtitle: &glib::markup_escape_text(&event_subtitle(&self.event, &format_time(self.event.time_usec))),

            add_action = &gtk::Button {
                set_label: &tr("Allow"),
                set_valign: gtk::Align::Center,
                set_tooltip_text: Some(&tr("Add a rule that allows this from now on")),
                a11y::set_label: &tr("Allow {what}").replace("{what}", &event_title(&self.event)),
                connect_clicked[sender, id = self.event.id] => move |_| {
                    let _ = sender.output(EventRowOutput::Allow(id));
                },
            },
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
