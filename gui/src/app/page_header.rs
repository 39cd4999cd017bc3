//! The header bar of a content page (a profile, the history): the back
//! button the folded window needs, and the page's title. Each page shows
//! the back button while the window is folded, fills in the title and packs
//! its own controls at the end.

use adw::prelude::*;
use bpfbox_gui::i18n::tr;
use relm4::prelude::*;

use super::a11y;

#[relm4::widget_template(pub)]
impl WidgetTemplate for PageHeader {
    view! {
        adw::HeaderBar {
            #[name = "back_button"]
            pack_start = &gtk::Button {
                set_icon_name: "go-previous-symbolic",
                set_tooltip_text: Some(&tr("Back")),
                // An icon alone says nothing to a screen reader.
                a11y::set_label: &tr("Back"),
            },
            #[wrap(Some)]
            #[name = "title"]
            set_title_widget = &adw::WindowTitle {},
        }
    }
}
