//! bpfbox-manager: the desktop app (to be built).
fn main() {
    bpfbox_gui::i18n::init(std::path::Path::new("/usr/share/locale"));
}
