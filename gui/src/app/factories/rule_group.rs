//! A titled group of rule rows (files, network, …), or the note that a
//! profile has no rules: a group with a description and no rows.

use adw::prelude::*;
use bpfbox_dbus::RuleInfo;
use relm4::{factory::FactoryView, prelude::*};

use super::rule_row::{RuleRow, RuleRowOutput};

pub struct RuleGroup {
    rows: FactoryVecDeque<RuleRow>,
}

pub struct RuleGroupInit {
    pub title: String,
    pub description: Option<String>,
    pub rules: Vec<RuleInfo>,
}

impl RuleGroup {
    /// Sets every row's switch to the state of its rule in `rules`, what
    /// the daemon has now.
    pub fn follow(&mut self, rules: &[RuleInfo]) {
        for row in self.rows.guard().iter_mut() {
            row.follow(rules);
        }
    }
}

// Written out rather than with `#[relm4::factory]`: the root is the group
// the rows were put in, which the model creates before the root exists.
impl FactoryComponent for RuleGroup {
    type Init = RuleGroupInit;
    type Input = ();
    type Output = RuleRowOutput;
    type CommandOutput = ();
    type ParentWidget = gtk::Box;
    type Root = adw::PreferencesGroup;
    type Widgets = ();
    type Index = DynamicIndex;

    fn init_model(init: Self::Init, _index: &DynamicIndex, sender: FactorySender<Self>) -> Self {
        let group = adw::PreferencesGroup::builder().title(init.title).build();
        group.set_description(init.description.as_deref());
        let mut rows = FactoryVecDeque::builder()
            .launch(group)
            .forward(sender.output_sender(), |output| output);
        rows.extend(init.rules);
        Self { rows }
    }

    fn init_root(&self) -> Self::Root {
        self.rows.widget().clone()
    }

    fn init_widgets(
        &mut self,
        _index: &DynamicIndex,
        _root: Self::Root,
        _returned_widget: &<Self::ParentWidget as FactoryView>::ReturnedWidget,
        _sender: FactorySender<Self>,
    ) -> Self::Widgets {
    }
}
