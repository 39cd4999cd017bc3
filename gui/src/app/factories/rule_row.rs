//! One rule of a profile: its summary and what qualifies it, a switch that
//! applies it or not, and a button that removes it.
//!
//! The switch shows the daemon's state, not the click: flipping it asks the
//! page to change the rule, and the switch moves once the daemon has taken
//! the change and the page has read the rules again.

use adw::prelude::*;
use bpfbox_dbus::RuleInfo;
use bpfbox_gui::i18n::tr;
use gtk::glib;
use relm4::prelude::*;

use crate::app::{a11y, model::rule_subtitle};

pub struct RuleRow {
    rule: RuleInfo,
}

#[derive(Debug)]
pub enum RuleRowOutput {
    Toggle { id: String, enabled: bool },
    Remove { id: String, summary: String },
}

impl RuleRow {
    /// Takes the rule's state from `rules`, what the daemon has now.
    pub fn follow(&mut self, rules: &[RuleInfo]) {
        if let Some(rule) = rules.iter().find(|r| r.id == self.rule.id) {
            self.rule.enabled = rule.enabled;
        }
    }
}

#[relm4::factory(pub)]
impl FactoryComponent for RuleRow {
    type Init = RuleInfo;
    type Input = ();
    type Output = RuleRowOutput;
    type CommandOutput = ();
    type ParentWidget = adw::PreferencesGroup;

    view! {
        adw::ActionRow {
            set_title: &glib::markup_escape_text(&self.rule.summary),
            set_subtitle: &glib::markup_escape_text(&rule_subtitle(&self.rule)),

            #[name = "switch"]
            add_suffix = &gtk::Switch {
                #[watch]
                #[block_signal(toggle_handler)]
                set_active: self.rule.enabled,
                #[watch]
                #[block_signal(toggle_handler)]
                set_state: self.rule.enabled,
                set_valign: gtk::Align::Center,
                set_tooltip_text: Some(&tr("Apply this rule")),
                connect_state_set[sender, id = self.rule.id.clone()] => move |_, enabled| {
                    let _ = sender.output(RuleRowOutput::Toggle { id: id.clone(), enabled });
                    // The switch keeps the daemon's state until the daemon
                    // has taken the change.
                    glib::Propagation::Stop
                } @toggle_handler,
            },
            add_suffix = &gtk::Button {
                set_icon_name: "user-trash-symbolic",
                set_valign: gtk::Align::Center,
                set_tooltip_text: Some(&tr("Remove rule")),
                // "flat" alone: this also drops the "image-button" class
                // the icon added, which would pad the button.
                set_css_classes: &["flat"],
                a11y::set_label: &tr("Remove rule: {summary}").replace("{summary}", &self.rule.summary),
                connect_clicked[sender, id = self.rule.id.clone(), summary = self.rule.summary.clone()] => move |_| {
                    let _ = sender.output(RuleRowOutput::Remove {
                        id: id.clone(),
                        summary: summary.clone(),
                    });
                },
            },
            // Also names the switch for assistive technology after the
            // row's title (the rule's summary), and lets Enter on the row
            // flip it.
            set_activatable_widget: Some(&switch),
        }
    }

    fn init_model(rule: Self::Init, _index: &DynamicIndex, _sender: FactorySender<Self>) -> Self {
        Self { rule }
    }
}
