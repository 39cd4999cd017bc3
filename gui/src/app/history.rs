//! The denial history of every application: what the daemon keeps (read
//! page by page with `GetEvents`), then each `Denied` as it arrives,
//! filterable by application.

use adw::prelude::*;
use bpfbox_dbus::{zbus::Connection, EventInfo};
use bpfbox_gui::i18n::tr;
use gtk::glib;
use relm4::prelude::*;

use super::{
    client,
    factories::history_row::HistoryRow,
    model::{history_apps, history_view},
    page_header::PageHeader,
};

/// Rows shown at most: older events stay readable in the daemon, but a list
/// of thousands of rows would make the window slow.
const SHOWN: usize = 500;

pub struct History {
    conn: Option<Connection>,
    events: Vec<EventInfo>,
    /// Why the history cannot be read, if it cannot.
    problem: Option<String>,
    /// Why live updates are off, if they are.
    live_problem: Option<String>,
    /// The executable the list is filtered by.
    filter: Option<String>,
    /// The executables of the filter menu after "All applications".
    apps: Vec<String>,
    folded: bool,
    loading: bool,
    /// The rows of the events shown, rebuilt whenever the events or the
    /// filter change.
    rows: FactoryVecDeque<HistoryRow>,
    apps_model: gtk::StringList,
    dropdown: gtk::DropDown,
    dropdown_handler: glib::SignalHandlerId,
}

#[derive(Debug)]
pub enum HistoryInput {
    Connected(Connection),
    Disconnected,
    Refresh,
    Denied(Box<EventInfo>),
    /// Whether `Subscribe` worked (`None`) or why not.
    Live(Option<String>),
    Filter(u32),
    Folded(bool),
    Back,
}

#[derive(Debug)]
pub enum HistoryOutput {
    Back,
}

#[derive(Debug)]
pub enum HistoryCommand {
    Loaded(Result<Vec<EventInfo>, String>),
}

#[relm4::component(pub)]
impl Component for History {
    type Init = ();
    type Input = HistoryInput;
    type Output = HistoryOutput;
    type CommandOutput = HistoryCommand;

    view! {
        gtk::Box {
            set_orientation: gtk::Orientation::Vertical,

            #[template]
            PageHeader {
                #[template_child]
                back_button {
                    #[watch]
                    set_visible: model.folded,
                    connect_clicked => HistoryInput::Back,
                },
                #[template_child]
                title {
                    set_title: &tr("Denial history"),
                },
                #[local_ref]
                pack_end = dropdown -> gtk::DropDown {
                    set_tooltip_text: Some(&tr("Show the denials of one application")),
                },
            },

            gtk::ScrolledWindow {
                set_vexpand: true,
                set_hscrollbar_policy: gtk::PolicyType::Never,
                adw::Clamp {
                    set_maximum_size: 760,
                    gtk::Box {
                        set_orientation: gtk::Orientation::Vertical,
                        set_spacing: 12,
                        set_margin_all: 18,

                        gtk::Label {
                            #[watch]
                            set_visible: model.problem.is_some() || model.live_problem.is_some(),
                            #[watch]
                            set_label: &model.problem.clone().map(|p| tr("The history cannot be read: {error}").replace("{error}", &p))
                                .or_else(|| model.live_problem.clone().map(|p| tr("New denials do not show up by themselves: {error}").replace("{error}", &p)))
                                .unwrap_or_default(),
                            set_wrap: true,
                            set_xalign: 0.0,
                            add_css_class: "error",
                        },

                        #[local_ref]
                        list -> gtk::ListBox {
                            add_css_class: "boxed-list",
                            set_selection_mode: gtk::SelectionMode::None,
                            #[wrap(Some)]
                            set_placeholder = &gtk::Label {
                                set_margin_all: 24,
                                add_css_class: "dim-label",
                                // Hidden while there are rows: GTK 4.8 draws
                                // the last row's separator when the
                                // placeholder, a child too, comes after it.
                                #[watch]
                                set_visible: model.rows.is_empty(),
                                #[watch]
                                set_label: &if model.loading { tr("Reading the history…") } else { tr("No denials") },
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
        let apps_model = gtk::StringList::new(&[&tr("All applications")]);
        let dropdown = gtk::DropDown::new(Some(apps_model.clone()), gtk::Expression::NONE);
        let filter_sender = sender.clone();
        let dropdown_handler = dropdown.connect_selected_notify(move |d| {
            filter_sender.input(HistoryInput::Filter(d.selected()));
        });
        let rows = FactoryVecDeque::builder()
            .launch(gtk::ListBox::new())
            .detach();
        let model = History {
            conn: None,
            events: Vec::new(),
            problem: None,
            live_problem: None,
            filter: None,
            apps: Vec::new(),
            folded: false,
            loading: false,
            rows,
            apps_model,
            dropdown: dropdown.clone(),
            dropdown_handler,
        };
        let (list, dropdown) = (model.rows.widget(), &dropdown);
        let widgets = view_output!();
        super::a11y::set_label(&model.dropdown, &tr("Application"));
        ComponentParts { model, widgets }
    }

    fn update(&mut self, message: Self::Input, sender: ComponentSender<Self>, _root: &Self::Root) {
        match message {
            HistoryInput::Connected(conn) => {
                self.conn = Some(conn);
                self.read(&sender);
            }
            HistoryInput::Disconnected => {}
            HistoryInput::Refresh => {
                // Profiles changing do not change past events; only a new
                // daemon (other ids) does, and that comes as Connected.
            }
            HistoryInput::Denied(event) => {
                match self.events.iter_mut().find(|e| e.id == event.id) {
                    // A repeat coalesced into an event already shown.
                    Some(known) => *known = *event,
                    None => self.events.push(*event),
                }
                self.show();
            }
            HistoryInput::Live(problem) => self.live_problem = problem,
            HistoryInput::Filter(index) => {
                self.filter = usize::try_from(index)
                    .ok()
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| self.apps.get(i).cloned());
                self.show();
            }
            HistoryInput::Folded(folded) => self.folded = folded,
            HistoryInput::Back => {
                let _ = sender.output(HistoryOutput::Back);
            }
        }
    }

    fn update_cmd(
        &mut self,
        message: Self::CommandOutput,
        _sender: ComponentSender<Self>,
        _root: &Self::Root,
    ) {
        let HistoryCommand::Loaded(result) = message;
        self.loading = false;
        match result {
            Ok(events) => {
                self.problem = None;
                self.events = events;
            }
            Err(e) => {
                self.problem = Some(e);
                self.events.clear();
            }
        }
        self.show();
    }
}

impl History {
    fn read(&mut self, sender: &ComponentSender<Self>) {
        let Some(conn) = self.conn.clone() else {
            return;
        };
        self.loading = true;
        sender.oneshot_command(async move {
            HistoryCommand::Loaded(
                client::events(&conn, None)
                    .await
                    .map_err(|e| client::error_text(&e)),
            )
        });
    }

    fn show(&mut self) {
        // The filter menu: every app with events; the chosen one stays
        // chosen while its position moves.
        let apps = history_apps(&self.events);
        let executables: Vec<String> = apps.iter().map(|(exe, _)| exe.clone()).collect();
        if executables != self.apps {
            self.dropdown.block_signal(&self.dropdown_handler);
            let titles: Vec<&str> = apps.iter().map(|(_, t)| t.as_str()).collect();
            self.apps_model
                .splice(1, self.apps_model.n_items() - 1, &titles);
            let selected = self
                .filter
                .as_ref()
                .and_then(|f| executables.iter().position(|e| e == f))
                .map_or(0, |i| i + 1);
            self.dropdown
                .set_selected(u32::try_from(selected).unwrap_or_default());
            self.dropdown.unblock_signal(&self.dropdown_handler);
            self.apps = executables;
        }

        let mut rows = self.rows.guard();
        rows.clear();
        for event in history_view(&self.events, self.filter.as_deref())
            .into_iter()
            .take(SHOWN)
        {
            rows.push_back(event.clone());
        }
    }
}
