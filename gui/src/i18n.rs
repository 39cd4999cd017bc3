//! Translations: gettext with the `bpfbox` domain.

use std::path::PathBuf;

/// The gettext domain of the app and the agent.
pub const DOMAIN: &str = "bpfbox";

/// Where the compiled catalogues (`<lang>/LC_MESSAGES/bpfbox.mo`) are: the
/// `BPFBOX_LOCALEDIR` environment variable, so an uninstalled build can be
/// run in another language; else `share/locale` next to the `bin/` the
/// program was installed in, which follows `make install prefix=…` and the
/// Flatpak's `/app` without a rebuild; else Debian's `/usr/share/locale`.
#[must_use]
pub fn locale_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BPFBOX_LOCALEDIR") {
        return dir.into();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("share/locale")))
        .filter(|dir| dir.is_dir())
        .unwrap_or_else(|| PathBuf::from("/usr/share/locale"))
}

/// Binds the text domain to [`locale_dir`] and selects it. Failing to set
/// up translations is not fatal: the strings stay English.
pub fn init() {
    use gettextrs::{
        bind_textdomain_codeset, bindtextdomain, setlocale, textdomain, LocaleCategory,
    };
    // SAFETY: called first thing in main, before any other thread exists
    // that could read the locale while it changes.
    unsafe { setlocale(LocaleCategory::LcAll, "") };
    let _ = bindtextdomain(DOMAIN, locale_dir());
    let _ = bind_textdomain_codeset(DOMAIN, "UTF-8");
    let _ = textdomain(DOMAIN);
}

/// The translation of `msgid`.
#[must_use]
pub fn tr(msgid: &str) -> String {
    gettextrs::gettext(msgid)
}
