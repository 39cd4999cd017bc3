//! The sidebar: every confined application with its mode, processes,
//! denials and whether its profile was changed from the packaged one, and
//! a search field that filters them.

use adw::prelude::*;
use bpfbox_gui::i18n::tr;
use gtk::{gio, glib};
use relm4::prelude::*;

use super::{
    a11y,
    model::{icon_source, matches_search, mode_label, IconSource, ProfileItem, GENERIC_ICON},
};

pub struct ProfileList {
    items: Vec<ProfileItem>,
    /// The rows, in the order of `items`.
    rows: Vec<adw::ActionRow>,
    query: String,
    selected: Option<String>,
    list_box: gtk::ListBox,
}

#[derive(Debug)]
pub enum ProfileListInput {
    /// What the daemon listed, read again.
    Set(Vec<ProfileItem>),
    Search(String),
    /// Highlight this profile (or none, when the history is shown).
    Select(Option<String>),
    Activated(usize),
}

#[derive(Debug)]
pub enum ProfileListOutput {
    Open(String),
    ShowHistory,
}

#[relm4::component(pub)]
impl SimpleComponent for ProfileList {
    type Init = ();
    type Input = ProfileListInput;
    type Output = ProfileListOutput;

    view! {
        gtk::Box {
            set_orientation: gtk::Orientation::Vertical,

            adw::HeaderBar {
                set_show_end_title_buttons: false,
                #[wrap(Some)]
                set_title_widget = &adw::WindowTitle {
                    set_title: &tr("Applications"),
                },
                #[name = "search_button"]
                pack_start = &gtk::ToggleButton {
                    set_icon_name: "system-search-symbolic",
                    set_tooltip_text: Some(&tr("Search")),
                    set_active: true,
                },
                #[name = "history_button"]
                pack_end = &gtk::Button {
                    set_icon_name: "document-open-recent-symbolic",
                    set_tooltip_text: Some(&tr("Denial history")),
                    connect_clicked[sender] => move |_| {
                        let _ = sender.output(ProfileListOutput::ShowHistory);
                    },
                },
            },

            #[name = "search_bar"]
            gtk::SearchBar {
                set_search_mode: true,
                #[wrap(Some)]
                #[name = "search_entry"]
                set_child = &gtk::SearchEntry {
                    set_placeholder_text: Some(&tr("Search applications")),
                    set_hexpand: true,
                    connect_search_changed[sender] => move |entry| {
                        sender.input(ProfileListInput::Search(entry.text().to_string()));
                    },
                },
            },

            gtk::ScrolledWindow {
                set_vexpand: true,
                set_hscrollbar_policy: gtk::PolicyType::Never,

                #[local_ref]
                list_box -> gtk::ListBox {
                    add_css_class: "navigation-sidebar",
                    set_selection_mode: gtk::SelectionMode::Single,
                    connect_row_activated[sender] => move |_, row| {
                        if let Ok(index) = usize::try_from(row.index()) {
                            sender.input(ProfileListInput::Activated(index));
                        }
                    },
                    #[wrap(Some)]
                    set_placeholder = &gtk::Label {
                        set_margin_all: 24,
                        set_wrap: true,
                        add_css_class: "dim-label",
                        set_label: &tr("No confined application matches."),
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
        let list_box = gtk::ListBox::new();
        let model = ProfileList {
            items: Vec::new(),
            rows: Vec::new(),
            query: String::new(),
            selected: None,
            list_box: list_box.clone(),
        };
        let list_box = &list_box;
        let widgets = view_output!();
        a11y::set_label(&widgets.history_button, &tr("Denial history"));
        a11y::set_label(&widgets.search_button, &tr("Search"));
        widgets
            .search_button
            .bind_property("active", &widgets.search_bar, "search-mode-enabled")
            .bidirectional()
            .sync_create()
            .build();
        // Typing anywhere in the sidebar goes to the search field.
        widgets.search_bar.set_key_capture_widget(Some(&root));
        ComponentParts { model, widgets }
    }

    fn update(&mut self, message: Self::Input, sender: ComponentSender<Self>) {
        match message {
            ProfileListInput::Set(items) => {
                if items != self.items {
                    self.items = items;
                    self.rebuild();
                }
            }
            ProfileListInput::Search(query) => {
                self.query = query;
                self.filter();
            }
            ProfileListInput::Select(path) => {
                self.selected = path;
                self.show_selection();
            }
            ProfileListInput::Activated(index) => {
                if let Some(item) = self.items.get(index) {
                    let _ = sender.output(ProfileListOutput::Open(item.path.clone()));
                }
            }
        }
    }
}

impl ProfileList {
    fn rebuild(&mut self) {
        while let Some(child) = self.list_box.first_child() {
            self.list_box.remove(&child);
        }
        // Installed apps, looked up once per list rather than once per row.
        let installed = gio::AppInfo::all();
        self.rows = self
            .items
            .iter()
            .map(|item| {
                let row = row(item, &installed);
                self.list_box.append(&row);
                row
            })
            .collect();
        self.filter();
        self.show_selection();
    }

    fn filter(&self) {
        for (item, row) in self.items.iter().zip(&self.rows) {
            row.set_visible(matches_search(item, &self.query));
        }
    }

    fn show_selection(&self) {
        let index = self
            .selected
            .as_ref()
            .and_then(|path| self.items.iter().position(|i| i.path == *path));
        match index.and_then(|i| self.rows.get(i)) {
            Some(row) => self.list_box.select_row(Some(row)),
            None => self.list_box.unselect_all(),
        }
    }
}

fn row(item: &ProfileItem, installed: &[gio::AppInfo]) -> adw::ActionRow {
    let row = adw::ActionRow::builder()
        .title(glib::markup_escape_text(&item.title()))
        .subtitle(glib::markup_escape_text(&item.executable))
        .activatable(true)
        .build();
    let image = gtk::Image::builder().pixel_size(32).build();
    match icon_source(&item.icon, &item.app_id) {
        IconSource::File(path) => image.set_from_file(Some(path)),
        IconSource::Name(name) => image.set_icon_name(Some(&name)),
        IconSource::DesktopId(id) => {
            match installed
                .iter()
                .find(|app| app.id().is_some_and(|i| i == id))
                .and_then(AppInfoExt::icon)
            {
                Some(icon) => image.set_from_gicon(&icon),
                None => image.set_icon_name(Some(GENERIC_ICON)),
            }
        }
        IconSource::Generic => image.set_icon_name(Some(GENERIC_ICON)),
    }
    row.add_prefix(&image);

    let badges = gtk::Box::builder()
        .orientation(gtk::Orientation::Vertical)
        .valign(gtk::Align::Center)
        .halign(gtk::Align::End)
        .spacing(2)
        .build();
    let mode = gtk::Label::builder()
        .label(mode_label(&item.mode))
        .halign(gtk::Align::End)
        .css_classes(["caption-heading", mode_class(&item.mode)])
        .build();
    badges.append(&mode);
    let mut counts = vec![
        item.processes(),
        gettextrs::ngettext(
            "{n} denial",
            "{n} denials",
            u32::try_from(item.denial_count).unwrap_or(u32::MAX),
        )
        .replace("{n}", &item.denial_count.to_string()),
    ];
    if item.modified {
        counts.push(tr("modified"));
    }
    let details = gtk::Label::builder()
        .label(counts.join(" · "))
        .halign(gtk::Align::End)
        .css_classes(["caption", "dim-label"])
        .build();
    if item.modified {
        details.set_tooltip_text(Some(&tr("Changed from the packaged profile")));
    }
    badges.append(&details);
    if !item.last_error.is_empty() {
        let error = gtk::Image::from_icon_name("dialog-error-symbolic");
        error.add_css_class("error");
        error.set_tooltip_text(Some(&item.last_error));
        a11y::set_label(&error, &item.last_error);
        row.add_suffix(&error);
    }
    row.add_suffix(&badges);
    row
}

/// Colours the mode badge: complaining or disabled profiles do not protect,
/// which should catch the eye.
fn mode_class(mode: &str) -> &'static str {
    match mode {
        "enforce" => "success",
        "complain" => "warning",
        _ => "error",
    }
}
