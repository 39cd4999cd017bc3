//! One application's page: its mode, its rules by kind as switches, the
//! way back to the packaged profile, and its recent denials with "Allow".
//!
//! Every change is a call to bpfboxd followed by reading the profile again:
//! a switch the daemon refused to flip goes back to where the daemon has
//! it, and the toast says why.

use adw::prelude::*;
use bpfbox_dbus::{options, zbus::Connection, RuleInfo};
use bpfbox_gui::i18n::tr;
use gtk::glib;
use relm4::prelude::*;

use super::{
    a11y,
    add_rule::{AddRule, AddRuleInput, AddRuleOutput},
    client::{self, Detail},
    factories::{
        event_row::{EventRow, EventRowOutput},
        rule_group::{RuleGroup, RuleGroupInit},
        rule_row::RuleRowOutput,
    },
    learn::{self, Answer, Learning, Review},
    model::{group_rules, mode_label, MODES},
    page_header::PageHeader,
};

pub struct ProfilePage {
    conn: Option<Connection>,
    path: Option<String>,
    detail: Option<Detail>,
    /// Why the profile could not be read, shown instead of it.
    problem: Option<String>,
    /// Bumped per shown profile: a read that finishes after the page moved
    /// on to another profile is dropped.
    generation: u64,
    folded: bool,
    add_rule: Controller<AddRule>,
    /// The rules the rows show, in file order. The rows are kept while the
    /// set of rules stays the same so that a re-read does not take the
    /// keyboard focus away.
    rules: Vec<RuleInfo>,
    rule_groups: FactoryVecDeque<RuleGroup>,
    /// The recent denials, read again with the profile.
    events: FactoryVecDeque<EventRow>,
    mode_row: adw::ComboRow,
    mode_handler: glib::SignalHandlerId,
    /// A "Learn from activity" run, of whichever profile it was started on.
    learning: Option<Learning>,
}

#[derive(Debug)]
pub enum ProfilePageInput {
    Show {
        conn: Connection,
        path: String,
    },
    Connected(Connection),
    Disconnected,
    /// Something changed in the daemon: read again.
    Refresh,
    /// A denial of this executable's process arrived.
    Denied(String),
    Folded(bool),
    Toggle {
        id: String,
        enabled: bool,
    },
    Remove {
        id: String,
        summary: String,
    },
    RemoveConfirmed(String),
    Mode(u32),
    Reset,
    Allow(u64),
    OpenAddRule,
    Back,
    LearnStart,
    LearnReview,
    LearnStop,
    LearnAnswer(Answer, Box<Review>),
}

#[derive(Debug)]
pub enum ProfilePageOutput {
    Toast(String),
    Back,
    /// A change went through: the list should read again.
    Changed,
}

#[derive(Debug)]
pub enum ProfilePageCommand {
    Loaded(u64, Result<Box<Detail>, String>),
    /// A change call returned; `Ok` carries what to say, if anything.
    Done(Result<Option<String>, String>),
    LearnStarted(Result<Learning, String>),
    LearnProposed(Result<Review, String>),
    /// Like `Done`; the run goes on if the change failed (a refused
    /// authorization, or a conflict with an edit made meanwhile).
    LearnFinished(Result<Option<String>, String>),
}

#[relm4::component(pub)]
impl Component for ProfilePage {
    type Init = ();
    type Input = ProfilePageInput;
    type Output = ProfilePageOutput;
    type CommandOutput = ProfilePageCommand;

    view! {
        gtk::Box {
            set_orientation: gtk::Orientation::Vertical,

            #[template]
            PageHeader {
                #[template_child]
                back_button {
                    #[watch]
                    set_visible: model.folded,
                    connect_clicked => ProfilePageInput::Back,
                },
                #[template_child]
                title {
                    #[watch]
                    set_title: &model.detail.as_ref().map(|d| d.item.title()).unwrap_or_default(),
                    #[watch]
                    set_subtitle: &model.detail.as_ref().map(|d| d.item.executable.clone()).unwrap_or_default(),
                },
                #[name = "add_button"]
                pack_end = &gtk::Button {
                    set_icon_name: "list-add-symbolic",
                    set_tooltip_text: Some(&tr("Add rule")),
                    #[watch]
                    set_sensitive: model.detail.is_some(),
                    connect_clicked => ProfilePageInput::OpenAddRule,
                },
            },

            gtk::ScrolledWindow {
                set_vexpand: true,
                set_hscrollbar_policy: gtk::PolicyType::Never,

                adw::Clamp {
                    set_maximum_size: 760,

                    gtk::Box {
                        set_orientation: gtk::Orientation::Vertical,
                        set_spacing: 24,
                        set_margin_all: 18,

                        gtk::Label {
                            #[watch]
                            set_visible: model.problem.is_some(),
                            #[watch]
                            set_label: model.problem.as_deref().unwrap_or_default(),
                            set_wrap: true,
                            add_css_class: "error",
                        },

                        adw::PreferencesGroup {
                            #[watch]
                            set_visible: model.detail.is_some(),
                            set_title: &tr("Confinement"),

                            #[local_ref]
                            add = mode_row -> adw::ComboRow {
                                set_title: &tr("Mode"),
                                #[watch]
                                set_subtitle: &mode_help(model.mode()),
                            },
                            add = &adw::ActionRow {
                                set_title: &tr("Running processes"),
                                add_suffix = &gtk::Label {
                                    #[watch]
                                    set_label: &model.detail.as_ref().map(|d| d.item.process_count()).unwrap_or_default(),
                                },
                            },
                            add = &adw::ActionRow {
                                set_title: &tr("Denials since bpfboxd started"),
                                add_suffix = &gtk::Label {
                                    #[watch]
                                    set_label: &model.detail.as_ref().map(|d| d.item.denial_count.to_string()).unwrap_or_default(),
                                },
                            },
                            add = &adw::ActionRow {
                                #[watch]
                                set_title: &if model.learning_here() { tr("Learning from activity") } else { tr("Learn from activity") },
                                #[watch]
                                set_subtitle: &if model.learning_here() {
                                    tr("Use the app now: what its rules do not allow is allowed and recorded. Then review the rules it needed.")
                                } else if model.learning.is_some() {
                                    tr("Another app is learning: stop or review it there first")
                                } else {
                                    tr("Record what the app does in complain mode and turn it into rules")
                                },
                                #[watch]
                                set_visible: model.detail.is_some(),
                                add_suffix = &gtk::Button {
                                    set_label: &tr("Start"),
                                    set_valign: gtk::Align::Center,
                                    #[watch]
                                    set_visible: model.learning.is_none(),
                                    connect_clicked => ProfilePageInput::LearnStart,
                                },
                                add_suffix = &gtk::Button {
                                    set_label: &tr("Stop"),
                                    set_valign: gtk::Align::Center,
                                    #[watch]
                                    set_visible: model.learning_here(),
                                    connect_clicked => ProfilePageInput::LearnStop,
                                },
                                add_suffix = &gtk::Button {
                                    set_label: &tr("Review"),
                                    set_valign: gtk::Align::Center,
                                    add_css_class: "suggested-action",
                                    #[watch]
                                    set_visible: model.learning_here(),
                                    connect_clicked => ProfilePageInput::LearnReview,
                                },
                            },
                            add = &adw::ActionRow {
                                set_title: &tr("The last change of this profile failed"),
                                add_css_class: "error",
                                #[watch]
                                set_visible: model.detail.as_ref().is_some_and(|d| !d.item.last_error.is_empty()),
                                #[watch]
                                set_subtitle: &model.detail.as_ref().map(|d| glib::markup_escape_text(&d.item.last_error).to_string()).unwrap_or_default(),
                            },
                            add = &adw::ActionRow {
                                set_title: &tr("Changed from the packaged profile"),
                                set_subtitle: &tr("The package that installed this app ships its own version of this profile."),
                                #[watch]
                                set_visible: model.detail.as_ref().is_some_and(|d| d.item.packaged && d.item.modified),
                                add_suffix = &gtk::Button {
                                    set_label: &tr("Reset to packaged profile"),
                                    set_valign: gtk::Align::Center,
                                    add_css_class: "destructive-action",
                                    connect_clicked => ProfilePageInput::Reset,
                                },
                            },
                        },

                        #[local_ref]
                        rules_box -> gtk::Box {
                            set_orientation: gtk::Orientation::Vertical,
                            set_spacing: 24,
                        },

                        #[local_ref]
                        events_group -> adw::PreferencesGroup {
                            #[watch]
                            set_visible: model.detail.is_some(),
                            set_title: &tr("Recent denials"),

                            // In place of the rows while there are none.
                            add = &adw::ActionRow {
                                #[watch]
                                set_visible: model.denials_note().is_some(),
                                #[watch]
                                set_title: &model.denials_note().map(|(title, _)| title).unwrap_or_default(),
                                #[watch]
                                set_subtitle: &model.denials_note().map(|(_, subtitle)| subtitle).unwrap_or_default(),
                            },
                        },
                    },
                },
            },
        }
    }

    fn init(
        (): Self::Init,
        root: Self::Root,
        sender: ComponentSender<Self>,
    ) -> ComponentParts<Self> {
        let add_rule =
            AddRule::builder()
                .launch(())
                .forward(sender.input_sender(), |out| match out {
                    AddRuleOutput::Added => ProfilePageInput::Refresh,
                });
        let mode_row = adw::ComboRow::new();
        let labels: Vec<String> = MODES.iter().map(|m| mode_label(m)).collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        mode_row.set_model(Some(&gtk::StringList::new(&labels)));
        let mode_sender = sender.clone();
        let mode_handler = mode_row.connect_selected_notify(move |row| {
            mode_sender.input(ProfilePageInput::Mode(row.selected()));
        });
        let rule_groups = FactoryVecDeque::builder()
            .launch(gtk::Box::default())
            .forward(sender.input_sender(), |out| match out {
                RuleRowOutput::Toggle { id, enabled } => ProfilePageInput::Toggle { id, enabled },
                RuleRowOutput::Remove { id, summary } => ProfilePageInput::Remove { id, summary },
            });
        let events = FactoryVecDeque::builder()
            .launch(adw::PreferencesGroup::new())
            .forward(sender.input_sender(), |out| match out {
                EventRowOutput::Allow(id) => ProfilePageInput::Allow(id),
            });
        let model = ProfilePage {
            conn: None,
            path: None,
            detail: None,
            problem: None,
            generation: 0,
            folded: false,
            add_rule,
            rules: Vec::new(),
            rule_groups,
            events,
            mode_row: mode_row.clone(),
            mode_handler,
            learning: None,
        };
        let (rules_box, events_group) = (model.rule_groups.widget(), model.events.widget());
        let mode_row = &mode_row;
        let widgets = view_output!();
        a11y::set_label(&widgets.add_button, &tr("Add rule"));
        ComponentParts { model, widgets }
    }

    fn update(&mut self, message: Self::Input, sender: ComponentSender<Self>, root: &Self::Root) {
        match message {
            ProfilePageInput::Show { conn, path } => {
                self.conn = Some(conn);
                if self.path.as_deref() != Some(path.as_str()) {
                    self.detail = None;
                    self.clear_rows();
                }
                self.path = Some(path);
                self.generation += 1;
                self.read(&sender);
            }
            ProfilePageInput::Connected(conn) => {
                self.conn = Some(conn);
                self.read(&sender);
            }
            ProfilePageInput::Disconnected => {}
            ProfilePageInput::Refresh => self.read(&sender),
            ProfilePageInput::Denied(executable) => {
                if self
                    .detail
                    .as_ref()
                    .is_some_and(|d| d.item.executable == executable)
                {
                    self.read(&sender);
                }
            }
            ProfilePageInput::Folded(folded) => self.folded = folded,
            ProfilePageInput::Back => {
                let _ = sender.output(ProfilePageOutput::Back);
            }
            ProfilePageInput::Toggle { id, enabled } => {
                self.call(&sender, move |conn, path| async move {
                    let p = client::profile(&conn, &path).await?;
                    p.set_rule_enabled(&id, enabled, &options::none()).await?;
                    Ok(None)
                });
            }
            ProfilePageInput::Remove { id, summary } => {
                let dialog = adw::MessageDialog::new(
                    root.root().and_downcast_ref::<gtk::Window>(),
                    Some(&tr("Remove this rule?")),
                    Some(
                        &tr("“{summary}” will no longer be allowed. The rule is deleted from the profile.")
                            .replace("{summary}", &summary),
                    ),
                );
                dialog.add_response("cancel", &tr("Cancel"));
                dialog.add_response("remove", &tr("Remove"));
                dialog.set_response_appearance("remove", adw::ResponseAppearance::Destructive);
                dialog.set_default_response(Some("cancel"));
                dialog.set_close_response("cancel");
                let sender = sender.clone();
                dialog.connect_response(None, move |_, response| {
                    if response == "remove" {
                        sender.input(ProfilePageInput::RemoveConfirmed(id.clone()));
                    }
                });
                dialog.present();
            }
            ProfilePageInput::RemoveConfirmed(id) => {
                self.call(&sender, move |conn, path| async move {
                    let p = client::profile(&conn, &path).await?;
                    p.remove_rule(&id, &options::none()).await?;
                    Ok(Some(tr("Rule removed")))
                });
            }
            ProfilePageInput::Mode(index) => {
                let Some(mode) = usize::try_from(index).ok().and_then(|i| MODES.get(i)) else {
                    return;
                };
                if Some(*mode) == self.mode() {
                    return;
                }
                self.call(&sender, move |conn, path| async move {
                    let p = client::profile(&conn, &path).await?;
                    p.set_mode(mode, &options::none()).await?;
                    Ok(None)
                });
            }
            ProfilePageInput::Reset => {
                self.call(&sender, move |conn, path| async move {
                    let p = client::profile(&conn, &path).await?;
                    p.reset_to_default(&options::none()).await?;
                    Ok(Some(tr("The packaged profile is back")))
                });
            }
            ProfilePageInput::Allow(event) => {
                self.call(&sender, move |conn, _| async move {
                    client::manager(&conn)
                        .await?
                        .allow_event(event, &options::none())
                        .await?;
                    Ok(Some(tr("Allowed from now on")))
                });
            }
            ProfilePageInput::LearnStart => {
                let (Some(conn), Some(path)) = (self.conn.clone(), self.path.clone()) else {
                    return;
                };
                sender.oneshot_command(async move {
                    ProfilePageCommand::LearnStarted(learn::start(conn, path).await)
                });
            }
            ProfilePageInput::LearnReview => {
                let (Some(conn), Some(run)) = (self.conn.clone(), self.learning.clone()) else {
                    return;
                };
                sender.oneshot_command(async move {
                    ProfilePageCommand::LearnProposed(learn::propose(conn, run).await)
                });
            }
            ProfilePageInput::LearnStop => self.finish_learning(&sender, None),
            ProfilePageInput::LearnAnswer(answer, review) => match answer {
                Answer::Apply => self.finish_learning(&sender, Some(*review)),
                Answer::Discard => self.finish_learning(&sender, None),
                Answer::KeepLearning => {}
            },
            ProfilePageInput::OpenAddRule => {
                if let (Some(conn), Some(path)) = (self.conn.clone(), self.path.clone()) {
                    self.add_rule.emit(AddRuleInput::Open {
                        conn,
                        path,
                        parent: root.root().and_downcast::<gtk::Window>(),
                    });
                }
            }
        }
    }

    fn update_cmd(
        &mut self,
        message: Self::CommandOutput,
        sender: ComponentSender<Self>,
        root: &Self::Root,
    ) {
        match message {
            ProfilePageCommand::Loaded(generation, result) => {
                if generation != self.generation {
                    return;
                }
                match result {
                    Ok(detail) => {
                        self.problem = None;
                        self.show(&detail);
                        self.detail = Some(*detail);
                    }
                    Err(text) => {
                        self.problem = Some(text);
                        self.detail = None;
                        self.clear_rows();
                    }
                }
            }
            ProfilePageCommand::LearnFinished(result) => {
                if result.is_ok() {
                    self.learning = None;
                }
                self.update_cmd(ProfilePageCommand::Done(result), sender, root);
            }
            ProfilePageCommand::Done(result) => {
                match result {
                    Ok(Some(text)) | Err(text) => {
                        let _ = sender.output(ProfilePageOutput::Toast(text));
                    }
                    Ok(None) => {}
                }
                // Whatever the answer, show what the daemon has now.
                let _ = sender.output(ProfilePageOutput::Changed);
                self.read(&sender);
            }
            ProfilePageCommand::LearnStarted(result) => {
                match result {
                    Ok(run) => self.learning = Some(run),
                    Err(text) => {
                        let _ = sender.output(ProfilePageOutput::Toast(text));
                    }
                }
                let _ = sender.output(ProfilePageOutput::Changed);
                self.read(&sender);
            }
            ProfilePageCommand::LearnProposed(Err(text)) => {
                let _ = sender.output(ProfilePageOutput::Toast(text));
            }
            ProfilePageCommand::LearnProposed(Ok(review)) => {
                let answer_sender = sender.clone();
                let shown = review.clone();
                learn::ask(
                    root.root().and_downcast_ref::<gtk::Window>(),
                    &shown,
                    move |answer| {
                        answer_sender.input(ProfilePageInput::LearnAnswer(
                            answer,
                            Box::new(review.clone()),
                        ));
                    },
                );
            }
        }
    }
}

impl ProfilePage {
    /// Whether the profile shown is the one learning.
    fn learning_here(&self) -> bool {
        self.learning
            .as_ref()
            .is_some_and(|run| Some(&run.path) == self.path.as_ref())
    }

    /// Ends the learning run: writes `review`, or puts the mode back.
    fn finish_learning(&mut self, sender: &ComponentSender<Self>, review: Option<Review>) {
        let (Some(conn), Some(run)) = (self.conn.clone(), self.learning.clone()) else {
            return;
        };
        sender.oneshot_command(async move {
            ProfilePageCommand::LearnFinished(learn::finish(conn, run, review).await)
        });
    }

    fn mode(&self) -> Option<&'static str> {
        let mode = &self.detail.as_ref()?.item.mode;
        MODES.iter().copied().find(|m| m == mode)
    }

    fn read(&mut self, sender: &ComponentSender<Self>) {
        let (Some(conn), Some(path)) = (self.conn.clone(), self.path.clone()) else {
            return;
        };
        let generation = self.generation;
        sender.oneshot_command(async move {
            ProfilePageCommand::Loaded(
                generation,
                client::detail(&conn, &path)
                    .await
                    .map(Box::new)
                    .map_err(|e| client::error_text(&e)),
            )
        });
    }

    /// Runs a change on the daemon; the page reads the profile again when
    /// it returns, whatever the answer.
    fn call<F, Fut>(&self, sender: &ComponentSender<Self>, change: F)
    where
        F: FnOnce(Connection, String) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<Option<String>, bpfbox_dbus::Error>> + Send,
    {
        let (Some(conn), Some(path)) = (self.conn.clone(), self.path.clone()) else {
            return;
        };
        sender.oneshot_command(async move {
            ProfilePageCommand::Done(change(conn, path).await.map_err(|e| client::error_text(&e)))
        });
    }

    fn show(&mut self, detail: &Detail) {
        // The mode selector follows the daemon without calling it back.
        if let Some(index) = MODES.iter().position(|m| *m == detail.item.mode) {
            self.mode_row.block_signal(&self.mode_handler);
            self.mode_row
                .set_selected(u32::try_from(index).unwrap_or_default());
            self.mode_row.unblock_signal(&self.mode_handler);
        }

        let same_rules = self.rules.len() == detail.rules.len()
            && self.rules.iter().zip(&detail.rules).all(|(shown, rule)| {
                RuleInfo {
                    enabled: rule.enabled,
                    ..shown.clone()
                } == *rule
            });
        if same_rules {
            for group in self.rule_groups.guard().iter_mut() {
                group.follow(&detail.rules);
            }
        } else {
            self.build_rules(&detail.rules);
        }
        self.rules.clone_from(&detail.rules);

        let mut rows = self.events.guard();
        rows.clear();
        if let Ok(events) = &detail.events {
            for event in events {
                rows.push_back(event.clone());
            }
        }
    }

    /// What the denials group says while it has no rows: a title and a
    /// subtitle (markup).
    fn denials_note(&self) -> Option<(String, String)> {
        match &self.detail.as_ref()?.events {
            Err(why) => Some((
                tr("Denials cannot be shown"),
                glib::markup_escape_text(why).to_string(),
            )),
            Ok(events) if events.is_empty() => Some((tr("No denials"), String::new())),
            Ok(_) => None,
        }
    }

    fn clear_rows(&mut self) {
        self.rule_groups.guard().clear();
        self.rules.clear();
        self.events.guard().clear();
    }

    fn build_rules(&mut self, rules: &[RuleInfo]) {
        let mut groups = self.rule_groups.guard();
        groups.clear();
        if rules.is_empty() {
            groups.push_back(RuleGroupInit {
                title: tr("Rules"),
                description: Some(tr(
                    "This profile has no rules: the app may do only what every profile allows.",
                )),
                rules: Vec::new(),
            });
        }
        for (group, members) in group_rules(rules) {
            groups.push_back(RuleGroupInit {
                title: group.title(),
                description: None,
                rules: members.into_iter().cloned().collect(),
            });
        }
    }
}

/// What each mode means, under the selector.
fn mode_help(mode: Option<&str>) -> String {
    match mode {
        Some("enforce") => tr("What no rule allows is denied"),
        Some("complain") => tr("What no rule allows is allowed and reported"),
        Some("disabled") => tr("Nothing is checked"),
        _ => String::new(),
    }
}
