//! The app speaks the language that `LANGUAGE` names, from the catalogues
//! compiled from po/ (as `make` compiles them), and English without one.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// po/LANG.po compiled with msgfmt into `<dir>/LANG/LC_MESSAGES/bpfbox.mo`.
fn compile_catalogues(dir: &Path) -> PathBuf {
    let po = Path::new(env!("CARGO_MANIFEST_DIR")).join("../po");
    for lang in ["de", "fr"] {
        let out = dir.join(lang).join("LC_MESSAGES");
        std::fs::create_dir_all(&out).unwrap();
        let status = Command::new("msgfmt")
            .arg("--check")
            .arg("-o")
            .arg(out.join("bpfbox.mo"))
            .arg(po.join(format!("{lang}.po")))
            .status()
            .expect("msgfmt (gettext) is installed by scripts/setup");
        assert!(status.success(), "msgfmt {lang}.po");
    }
    dir.to_path_buf()
}

fn usage(language: Option<&str>) -> String {
    let dir = std::env::temp_dir().join(format!(
        "bpfbox-language-{}-{}",
        std::process::id(),
        language.unwrap_or("none")
    ));
    let locale_dir = compile_catalogues(&dir);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bpfbox-manager"));
    cmd.arg("--help")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        // gettext ignores LANGUAGE in the "C" locale, not in C.UTF-8
        .env("LANG", "C.UTF-8")
        .env("BPFBOX_LOCALEDIR", &locale_dir);
    match language {
        Some(l) => cmd.env("LANGUAGE", l),
        None => cmd.env_remove("LANGUAGE"),
    };
    let out = cmd.output().expect("run bpfbox-manager");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_app_speaks_the_language_named_by_language() {
    assert_eq!(
        usage(Some("de")),
        "Aufruf: bpfbox-manager [--profile PROGRAMM | --history]\n"
    );
    assert_eq!(
        usage(Some("fr")),
        "Utilisation : bpfbox-manager [--profile EXÉCUTABLE | --history]\n"
    );
    // a language without a catalogue falls back to the next one named
    assert_eq!(
        usage(Some("sv:fr")),
        "Utilisation : bpfbox-manager [--profile EXÉCUTABLE | --history]\n"
    );
}

#[test]
fn the_app_speaks_english_without_a_language() {
    assert_eq!(
        usage(None),
        "Usage: bpfbox-manager [--profile EXECUTABLE | --history]\n"
    );
}
