//! The main window: the list of confined applications beside the page of
//! the one picked (an `AdwLeaflet`, which folds into one column on narrow
//! screens), the denial history, and the page that says bpfboxd is not
//! running. It owns the bus connection and the watcher; every view reads
//! the daemon again when the watcher says something changed, so no view
//! shows a state the daemon does not have.

mod a11y;
mod add_rule;
mod client;
mod factories;
mod history;
mod learn;
mod model;
mod page_header;
mod profile_list;
mod profile_page;

use std::{
    sync::OnceLock,
    time::{Duration, Instant},
};

use adw::prelude::*;
use bpfbox_dbus::zbus::Connection;
use bpfbox_gui::i18n::tr;
use relm4::prelude::*;

use self::{
    client::Watch,
    history::{History, HistoryInput, HistoryOutput},
    model::ProfileItem,
    profile_list::{ProfileList, ProfileListInput, ProfileListOutput},
    profile_page::{ProfilePage, ProfilePageInput, ProfilePageOutput},
};

/// The application id (desktop file, D-Bus activation, settings).
pub const APP_ID: &str = "org.bpfbox.Manager";

/// When the process started: the first list is logged with the time it took
/// (`bpfbox-app-bench` reads that line).
pub static STARTED: OnceLock<Instant> = OnceLock::new();

/// What the window opens on, from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// The page of the profile confining this executable.
    Profile(String),
    /// The denial history of every app.
    History,
}

/// What the window shows as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Connecting,
    /// bpfboxd is not on the bus.
    DaemonMissing,
    /// The system bus itself is unreachable.
    NoBus,
    Ready,
}

pub struct App {
    status: Status,
    conn: Option<Connection>,
    list: Controller<ProfileList>,
    page: Controller<ProfilePage>,
    history: Controller<History>,
    /// What the content pane shows: "empty", "profile" or "history".
    content: &'static str,
    /// `--profile`: the executable whose page opens once the daemon is up.
    pending: Option<Start>,
    /// A list read is running; `reread` asks for another when it ends, so a
    /// burst of changes costs two reads, not one per change.
    listing: bool,
    reread: bool,
    listed_once: bool,
    no_bus_reason: String,
}

#[derive(Debug)]
pub enum AppInput {
    /// A profile was picked in the list.
    Open(String),
    ShowHistory,
    /// The narrow layout's back button.
    Back,
    Toast(String),
    /// A view changed something: read the list again now rather than wait
    /// for the signals.
    Reread,
}

#[derive(Debug)]
pub enum AppCommand {
    Bus(Connection),
    Watch(Watch),
    Profiles(Result<Vec<ProfileItem>, String>),
    /// `--profile`'s executable resolved to its object (or not).
    Resolved(String, Result<String, String>),
    /// Whether `Subscribe` worked, and why not.
    Subscribed(Result<(), String>),
}

#[relm4::component(pub)]
impl Component for App {
    type Init = Option<Start>;
    type Input = AppInput;
    type Output = ();
    type CommandOutput = AppCommand;

    view! {
        adw::ApplicationWindow {
            set_title: Some(&tr("bpfbox")),
            set_default_size: (1100, 720),
            set_width_request: 360,

            #[name = "toasts"]
            adw::ToastOverlay {
                gtk::Stack {
                    set_transition_type: gtk::StackTransitionType::Crossfade,

                    add_named[Some("connecting")] = &gtk::Box {
                        set_orientation: gtk::Orientation::Vertical,
                        adw::HeaderBar {},
                        gtk::Spinner {
                            set_spinning: true,
                            set_vexpand: true,
                            set_halign: gtk::Align::Center,
                            set_width_request: 32,
                        },
                    },

                    // Hidden, not only covered, when not shown: assistive
                    // technology must not read a page that is not there.
                    add_named[Some("missing")] = &gtk::Box {
                        set_orientation: gtk::Orientation::Vertical,
                        #[watch]
                        set_visible: matches!(model.status, Status::DaemonMissing | Status::NoBus),
                        adw::HeaderBar {},
                        adw::StatusPage {
                            set_vexpand: true,
                            set_icon_name: Some("dialog-warning-symbolic"),
                            #[watch]
                            set_title: &if model.status == Status::NoBus {
                                tr("The system bus cannot be reached")
                            } else {
                                tr("bpfboxd is not running")
                            },
                            #[watch]
                            set_description: Some(&if model.status == Status::NoBus {
                                tr("bpfbox talks to its daemon over the system bus, which is not available: {error}. This window retries by itself.")
                                    .replace("{error}", &model.no_bus_reason)
                            } else {
                                tr("Applications are not confined while the daemon is stopped. Start it with “systemctl start bpfboxd” as an administrator; this window reconnects by itself when it is back.")
                            }),
                        },
                    },

                    #[name = "leaflet"]
                    add_named[Some("main")] = &adw::Leaflet {
                        set_can_navigate_back: true,
                        #[watch]
                        set_visible: model.status == Status::Ready,

                        #[local_ref]
                        append = list_widget -> gtk::Box {
                            set_width_request: 340,
                        },
                        append = &gtk::Separator {
                            set_orientation: gtk::Orientation::Vertical,
                        } -> {
                            set_navigatable: false,
                        },
                        #[name = "content"]
                        append = &gtk::Stack {
                            set_hexpand: true,
                            set_width_request: 360,

                            add_named[Some("empty")] = &gtk::Box {
                                set_orientation: gtk::Orientation::Vertical,
                                adw::HeaderBar {},
                                adw::StatusPage {
                                    set_vexpand: true,
                                    set_icon_name: Some("security-high-symbolic"),
                                    set_title: &tr("No application selected"),
                                    set_description: Some(&tr("Pick a confined application to see and change what it may do.")),
                                },
                            },
                            add_named[Some("profile")] = model.page.widget(),
                            add_named[Some("history")] = model.history.widget(),
                        },
                    },

                    #[watch]
                    set_visible_child_name: match model.status {
                        Status::Ready => "main",
                        Status::Connecting => "connecting",
                        Status::DaemonMissing | Status::NoBus => "missing",
                    },
                },
            },
        }
    }

    fn init(
        start: Self::Init,
        root: Self::Root,
        sender: ComponentSender<Self>,
    ) -> ComponentParts<Self> {
        let list =
            ProfileList::builder()
                .launch(())
                .forward(sender.input_sender(), |out| match out {
                    ProfileListOutput::Open(path) => AppInput::Open(path),
                    ProfileListOutput::ShowHistory => AppInput::ShowHistory,
                });
        let page =
            ProfilePage::builder()
                .launch(())
                .forward(sender.input_sender(), |out| match out {
                    ProfilePageOutput::Toast(text) => AppInput::Toast(text),
                    ProfilePageOutput::Back => AppInput::Back,
                    ProfilePageOutput::Changed => AppInput::Reread,
                });
        let history =
            History::builder()
                .launch(())
                .forward(sender.input_sender(), |out| match out {
                    HistoryOutput::Back => AppInput::Back,
                });
        let model = App {
            status: Status::Connecting,
            conn: None,
            list,
            page,
            history,
            content: "empty",
            pending: start,
            listing: false,
            reread: false,
            listed_once: false,
            no_bus_reason: String::new(),
        };
        let list_widget = model.list.widget();
        let widgets = view_output!();
        show_content(&widgets.content, model.content);

        // The back buttons only make sense while the leaflet is folded.
        let page_sender = model.page.sender().clone();
        let history_sender = model.history.sender().clone();
        widgets.leaflet.connect_folded_notify(move |leaflet| {
            page_sender.emit(ProfilePageInput::Folded(leaflet.is_folded()));
            history_sender.emit(HistoryInput::Folded(leaflet.is_folded()));
        });

        sender.command(|out, shutdown| {
            shutdown
                .register(async move {
                    loop {
                        match Connection::system().await {
                            Ok(conn) => {
                                let _ = out.send(AppCommand::Bus(conn.clone()));
                                client::watch(conn, |w| {
                                    let _ = out.send(AppCommand::Watch(w));
                                })
                                .await;
                            }
                            Err(e) => {
                                let _ = out.send(AppCommand::Watch(Watch::NoBus(e.to_string())));
                            }
                        }
                        // Without a bus there is nothing to watch: trying again
                        // now and then is the only way to notice it is back.
                        tokio::time::sleep(Duration::from_secs(3)).await;
                    }
                })
                .drop_on_shutdown()
        });

        ComponentParts { model, widgets }
    }

    fn update_with_view(
        &mut self,
        widgets: &mut Self::Widgets,
        message: Self::Input,
        sender: ComponentSender<Self>,
        root: &Self::Root,
    ) {
        match message {
            AppInput::Open(path) => {
                if let Some(conn) = &self.conn {
                    self.page.emit(ProfilePageInput::Show {
                        conn: conn.clone(),
                        path: path.clone(),
                    });
                }
                self.list.emit(ProfileListInput::Select(Some(path)));
                self.content = "profile";
                show_content(&widgets.content, self.content);
                widgets.leaflet.set_visible_child(&widgets.content);
            }
            AppInput::ShowHistory => {
                self.list.emit(ProfileListInput::Select(None));
                self.content = "history";
                show_content(&widgets.content, self.content);
                widgets.leaflet.set_visible_child(&widgets.content);
            }
            AppInput::Back => {
                widgets.leaflet.navigate(adw::NavigationDirection::Back);
            }
            AppInput::Toast(text) => {
                let toast = adw::Toast::new(&text);
                // An explanation of a refusal must stay until it was read
                // (and screen readers have announced it): dismissed by hand.
                toast.set_timeout(0);
                widgets.toasts.add_toast(toast);
            }
            AppInput::Reread => self.read_list(&sender),
        }
        self.update_view(widgets, sender);
        let _ = root;
    }

    fn update_cmd(
        &mut self,
        message: Self::CommandOutput,
        sender: ComponentSender<Self>,
        _root: &Self::Root,
    ) {
        match message {
            AppCommand::Bus(conn) => {
                self.conn = Some(conn);
            }
            AppCommand::Watch(Watch::Up) => {
                let Some(conn) = self.conn.clone() else {
                    return;
                };
                self.status = Status::Ready;
                self.read_list(&sender);
                self.history.emit(HistoryInput::Connected(conn.clone()));
                self.page.emit(ProfilePageInput::Connected(conn.clone()));
                sender.oneshot_command(async move {
                    let result = match client::manager(&conn).await {
                        Ok(m) => m.subscribe(&bpfbox_dbus::options::none()).await,
                        Err(e) => Err(e),
                    };
                    AppCommand::Subscribed(result.map_err(|e| client::error_text(&e)))
                });
                if self.pending == Some(Start::History) {
                    self.pending = None;
                    sender.input(AppInput::ShowHistory);
                }
                if let Some(Start::Profile(exe)) = self.pending.take() {
                    let conn = self.conn.clone().expect("connected");
                    sender.oneshot_command(async move {
                        let path = client::profile_of(&conn, &exe)
                            .await
                            .map(|p| p.to_string())
                            .map_err(|e| client::error_text(&e));
                        AppCommand::Resolved(exe, path)
                    });
                }
            }
            AppCommand::Watch(Watch::Down) => {
                self.status = Status::DaemonMissing;
                self.page.emit(ProfilePageInput::Disconnected);
                self.history.emit(HistoryInput::Disconnected);
            }
            AppCommand::Watch(Watch::NoBus(reason)) => {
                self.conn = None;
                self.status = Status::NoBus;
                self.no_bus_reason = reason;
            }
            AppCommand::Watch(Watch::Changed) => {
                self.read_list(&sender);
                self.page.emit(ProfilePageInput::Refresh);
                self.history.emit(HistoryInput::Refresh);
            }
            AppCommand::Watch(Watch::Denied(event)) => {
                self.page
                    .emit(ProfilePageInput::Denied(event.executable.clone()));
                self.history.emit(HistoryInput::Denied(event));
            }
            AppCommand::Profiles(result) => {
                self.listing = false;
                match result {
                    Ok(items) => {
                        let count = items.len();
                        self.list.emit(ProfileListInput::Set(items));
                        if !std::mem::replace(&mut self.listed_once, true) {
                            log_first_list(count);
                        }
                    }
                    // Mostly the daemon leaving mid-read, which the status
                    // page already says; otherwise the next change reads
                    // again. A toast would only repeat the status page.
                    Err(text) => tracing::warn!("reading the profiles failed: {text}"),
                }
                if std::mem::take(&mut self.reread) {
                    self.read_list(&sender);
                }
            }
            AppCommand::Resolved(exe, result) => match result {
                Ok(path) => sender.input(AppInput::Open(path)),
                Err(text) => sender.input(AppInput::Toast(
                    tr("No profile confines {executable}: {error}")
                        .replace("{executable}", &exe)
                        .replace("{error}", &text),
                )),
            },
            AppCommand::Subscribed(result) => {
                self.history.emit(HistoryInput::Live(result.err()));
            }
        }
    }
}

/// Shows page `name` of the content stack and hides the others: a stack
/// only covers them, and assistive technology would still read them.
fn show_content(stack: &gtk::Stack, name: &str) {
    let mut child = stack.first_child();
    while let Some(page) = child {
        page.set_visible(stack.page(&page).name().as_deref() == Some(name));
        child = page.next_sibling();
    }
    stack.set_visible_child_name(name);
}

/// Logs how long the first list took once the main loop is idle again,
/// that is after the list has built its rows.
fn log_first_list(count: usize) {
    relm4::gtk::glib::idle_add_local_once(move || {
        let elapsed = STARTED.get().map(Instant::elapsed).unwrap_or_default();
        tracing::info!(
            profiles = count,
            elapsed_ms = elapsed.as_millis() as u64,
            "first list shown"
        );
    });
}

impl App {
    fn read_list(&mut self, sender: &ComponentSender<Self>) {
        let Some(conn) = self.conn.clone() else {
            return;
        };
        if self.listing {
            self.reread = true;
            return;
        }
        self.listing = true;
        sender.oneshot_command(async move {
            AppCommand::Profiles(
                client::list_profiles(&conn)
                    .await
                    .map_err(|e| client::error_text(&e)),
            )
        });
    }
}
