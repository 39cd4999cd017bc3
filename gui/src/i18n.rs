//! Translations: gettext with the `bpfbox` domain.

/// The gettext domain of the app and the agent.
pub const DOMAIN: &str = "bpfbox";

/// Binds the text domain to `locale_dir` (where `<lang>/LC_MESSAGES/bpfbox.mo`
/// live) and selects it. Failing to set up translations is not fatal: the
/// strings stay English.
pub fn init(locale_dir: &std::path::Path) {
    use gettextrs::{
        bind_textdomain_codeset, bindtextdomain, setlocale, textdomain, LocaleCategory,
    };
    // SAFETY: called first thing in main, before any other thread exists
    // that could read the locale while it changes.
    unsafe { setlocale(LocaleCategory::LcAll, "") };
    let _ = bindtextdomain(DOMAIN, locale_dir);
    let _ = bind_textdomain_codeset(DOMAIN, "UTF-8");
    let _ = textdomain(DOMAIN);
}

/// The translation of `msgid`.
#[must_use]
pub fn tr(msgid: &str) -> String {
    gettextrs::gettext(msgid)
}
