//! The "Add rule" dialog: a kind and the rule's keys as TOML, checked with
//! the daemon's own parser as they are typed, then sent with `AddRule`. The
//! daemon's answer (a rule that does not compile, a refusal) is shown in the
//! dialog, which stays open so nothing typed is lost.

use adw::prelude::*;
use bpfbox_dbus::{options, zbus::Connection};
use bpfbox_gui::i18n::tr;
use relm4::prelude::*;

use super::{
    client,
    model::{check_rule, example_body, RULE_KINDS},
};

pub struct AddRule {
    conn: Option<Connection>,
    path: Option<String>,
    kind: usize,
    body: String,
    /// The local check: the rule in words, or what is wrong.
    check: Result<String, String>,
    /// The daemon's refusal of the last attempt.
    daemon_error: Option<String>,
    busy: bool,
    buffer: gtk::TextBuffer,
}

#[derive(Debug)]
pub enum AddRuleInput {
    Open {
        conn: Connection,
        path: String,
        parent: Option<gtk::Window>,
    },
    Kind(u32),
    Body(String),
    Submit,
    Cancel,
}

#[derive(Debug)]
pub enum AddRuleOutput {
    Added,
}

#[derive(Debug)]
pub enum AddRuleCommand {
    Done(Result<String, String>),
}

#[relm4::component(pub)]
impl Component for AddRule {
    type Init = ();
    type Input = AddRuleInput;
    type Output = AddRuleOutput;
    type CommandOutput = AddRuleCommand;

    view! {
        adw::Window {
            set_modal: true,
            set_hide_on_close: true,
            set_default_size: (560, 520),
            set_title: Some(&tr("Add rule")),

            gtk::Box {
                set_orientation: gtk::Orientation::Vertical,

                adw::HeaderBar {
                    set_show_end_title_buttons: false,
                    set_show_start_title_buttons: false,
                    pack_start = &gtk::Button {
                        set_label: &tr("Cancel"),
                        connect_clicked => AddRuleInput::Cancel,
                    },
                    pack_end = &gtk::Button {
                        set_label: &tr("Add"),
                        add_css_class: "suggested-action",
                        #[watch]
                        set_sensitive: model.check.is_ok() && !model.busy,
                        connect_clicked => AddRuleInput::Submit,
                    },
                },

                adw::Clamp {
                    set_vexpand: true,
                    gtk::Box {
                        set_orientation: gtk::Orientation::Vertical,
                        set_spacing: 12,
                        set_margin_all: 18,

                        adw::PreferencesGroup {
                            #[name = "kind_row"]
                            add = &adw::ComboRow {
                                set_title: &tr("Kind"),
                                set_model: Some(&gtk::StringList::new(&RULE_KINDS.map(|k| k.word()))),
                                connect_selected_notify[sender] => move |row| {
                                    sender.input(AddRuleInput::Kind(row.selected()));
                                },
                            },
                        },

                        gtk::Label {
                            set_label: &tr("Keys of the rule, one per line (see “Profiles” in bpfbox's documentation):"),
                            set_xalign: 0.0,
                            set_wrap: true,
                        },
                        gtk::Frame {
                            gtk::ScrolledWindow {
                                set_min_content_height: 140,
                                set_vexpand: true,
                                #[name = "text_view"]
                                gtk::TextView {
                                    set_monospace: true,
                                    set_buffer: Some(&model.buffer),
                                    set_top_margin: 8,
                                    set_bottom_margin: 8,
                                    set_left_margin: 8,
                                    set_right_margin: 8,
                                },
                            },
                        },

                        gtk::Label {
                            #[watch]
                            set_label: &match (&model.daemon_error, &model.check) {
                                (Some(e), _) => tr("bpfboxd refused the rule: {error}").replace("{error}", e),
                                (None, Ok(summary)) => tr("This rule allows: {summary}").replace("{summary}", summary),
                                (None, Err(e)) => e.clone(),
                            },
                            #[watch]
                            set_css_classes: if model.daemon_error.is_some() || model.check.is_err() { &["error"] } else { &["dim-label"] },
                            set_xalign: 0.0,
                            set_wrap: true,
                            set_selectable: true,
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
        let buffer = gtk::TextBuffer::new(None);
        let body_sender = sender.clone();
        buffer.connect_changed(move |b| {
            let text = b.text(&b.start_iter(), &b.end_iter(), false);
            body_sender.input(AddRuleInput::Body(text.to_string()));
        });
        let model = AddRule {
            conn: None,
            path: None,
            kind: 0,
            body: String::new(),
            check: Err(String::new()),
            daemon_error: None,
            busy: false,
            buffer,
        };
        let widgets = view_output!();
        let _ = &widgets.kind_row;
        let _ = &widgets.text_view;
        ComponentParts { model, widgets }
    }

    fn update(&mut self, message: Self::Input, sender: ComponentSender<Self>, root: &Self::Root) {
        match message {
            AddRuleInput::Open { conn, path, parent } => {
                self.conn = Some(conn);
                self.path = Some(path);
                self.daemon_error = None;
                self.busy = false;
                root.set_transient_for(parent.as_ref());
                self.buffer.set_text(example_body(RULE_KINDS[self.kind]));
                root.present();
            }
            AddRuleInput::Kind(index) => {
                let index = usize::try_from(index).unwrap_or_default();
                if index < RULE_KINDS.len() && index != self.kind {
                    self.kind = index;
                    // A new kind needs other keys: start from its example.
                    self.buffer.set_text(example_body(RULE_KINDS[index]));
                }
            }
            AddRuleInput::Body(body) => {
                self.check = check_rule(RULE_KINDS[self.kind], &body);
                self.body = body;
                self.daemon_error = None;
            }
            AddRuleInput::Submit => {
                let (Some(conn), Some(path)) = (self.conn.clone(), self.path.clone()) else {
                    return;
                };
                if self.check.is_err() {
                    return;
                }
                self.busy = true;
                let kind = RULE_KINDS[self.kind].word();
                let body = self.body.clone();
                sender.oneshot_command(async move {
                    let result = async {
                        client::profile(&conn, &path)
                            .await?
                            .add_rule(kind, &body, &options::none())
                            .await
                    }
                    .await;
                    AddRuleCommand::Done(result.map_err(|e| client::error_text(&e)))
                });
            }
            AddRuleInput::Cancel => root.close(),
        }
    }

    fn update_cmd(
        &mut self,
        message: Self::CommandOutput,
        sender: ComponentSender<Self>,
        root: &Self::Root,
    ) {
        let AddRuleCommand::Done(result) = message;
        self.busy = false;
        match result {
            Ok(_) => {
                root.close();
                let _ = sender.output(AddRuleOutput::Added);
            }
            Err(e) => self.daemon_error = Some(e),
        }
    }
}
