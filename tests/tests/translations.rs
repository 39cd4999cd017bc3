//! The gettext catalogue (po/) against the sources: every string the code
//! translates is in po/bpfbox.pot exactly as Rust spells it at run time,
//! and every language in po/LINGUAS translates all of them. Runs on the host.
//!
//! The sources are read with Rust's own literal rules, independently of
//! xgettext (po/update-pot runs xgettext's C parser), so a difference
//! between the two (escapes, line continuations) shows up here.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .into()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of a po/ list file without comments and blank lines.
fn list(name: &str) -> Vec<String> {
    read(&repo().join("po").join(name))
        .lines()
        .map(|l| l.split('#').next().unwrap().trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// A message as gettext looks it up: the singular, and the plural if any.
type Msg = (String, Option<String>);

// ---- Rust sources ---------------------------------------------------------

/// Reads one Rust string literal (plain or raw) at the start of `s`; returns
/// its value and the rest of `s`, or None if `s` does not start with one.
fn rust_literal(s: &str) -> Option<(String, &str)> {
    if let Some(raw) = s.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let body = raw[hashes..].strip_prefix('"')?;
        let end = format!("\"{}", "#".repeat(hashes));
        let close = body.find(&end)?;
        return Some((body[..close].to_owned(), &body[close + end.len()..]));
    }
    let mut chars = s.strip_prefix('"')?.char_indices();
    let body = &s[1..];
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0' => out.push('\0'),
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                '\'' => out.push('\''),
                // a line continuation drops the newline and the next
                // line's leading whitespace
                '\n' => {
                    let rest = &body[i + 2..];
                    let skip = rest.len() - rest.trim_start().len();
                    for _ in rest[..skip].chars() {
                        chars.next();
                    }
                }
                'u' => {
                    let rest = &body[i + 2..];
                    let close = rest.find('}')?;
                    let code = u32::from_str_radix(&rest[1..close], 16).ok()?;
                    out.push(char::from_u32(code)?);
                    for _ in rest[..=close].chars() {
                        chars.next();
                    }
                }
                other => panic!("escape \\{other} not handled by this reader"),
            },
            c => out.push(c),
        }
    }
    None
}

/// Every `tr("…")`, `gettext("…")` and `ngettext("…", "…", n)` in `text`.
/// A call whose argument is not a literal cannot be extracted: an error.
fn translatable(text: &str, file: &str) -> Vec<Msg> {
    let mut found = Vec::new();
    for name in ["tr(", "gettext(", "ngettext("] {
        let mut from = 0;
        while let Some(at) = text[from..].find(name) {
            let start = from + at;
            from = start + name.len();
            let before = text[..start].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                || text[..start].ends_with("fn ")
            {
                continue;
            }
            let args = text[from..].trim_start();
            let Some((singular, rest)) = rust_literal(args) else {
                let line = text[..start].lines().count();
                panic!("{file}:{line}: {name}…) has no string literal: xgettext cannot see it");
            };
            let plural = (name == "ngettext(").then(|| {
                let rest = rest.trim_start().strip_prefix(',').unwrap().trim_start();
                rust_literal(rest)
                    .expect("ngettext's plural is a literal")
                    .0
            });
            found.push((singular, plural));
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crates whose binaries a person sees (the app, the agent); the
/// daemon and the CLI speak English only, by design (logs, scripts).
fn translated_sources() -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&repo().join("gui/src"), &mut files);
    let mut names: Vec<String> = files
        .iter()
        .map(|f| {
            f.strip_prefix(repo())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        // the module that defines tr() translates no literal of its own
        .filter(|f| f != "gui/src/i18n.rs")
        .collect();
    names.sort();
    names
}

fn source_messages() -> BTreeSet<Msg> {
    list("POTFILES")
        .iter()
        .filter(|f| f.ends_with(".rs"))
        .flat_map(|f| translatable(&read(&repo().join(f)), f))
        .collect()
}

// ---- PO files -------------------------------------------------------------

#[derive(Debug, Default)]
struct Entry {
    /// The files of its `#:` references.
    files: Vec<String>,
    plural: Option<String>,
    translations: Vec<String>,
    fuzzy: bool,
}

fn c_unquote(line: &str, file: &str) -> String {
    let inner = line
        .trim()
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{file}: not a quoted string: {line}"));
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                other => panic!("{file}: escape \\{other:?} not handled by this reader"),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The entries of a .po/.pot file by msgid (the header, msgid "", left out).
fn po(path: &Path) -> BTreeMap<String, Entry> {
    let file = path.display().to_string();
    let mut entries = BTreeMap::new();
    for block in read(path).split("\n\n") {
        let mut entry = Entry::default();
        let mut has_msgid = false;
        let mut id = String::new();
        let mut plural = String::new();
        let mut strs: Vec<String> = Vec::new();
        let mut current = 0usize; // 0 msgid, 1 plural, 2.. msgstr[n-2]
        for line in block.lines() {
            if line.starts_with("#,") && line.contains("fuzzy") {
                entry.fuzzy = true;
            }
            if let Some(refs) = line.strip_prefix("#:") {
                entry.files.extend(
                    refs.split_whitespace()
                        .map(|r| r.rsplit_once(':').map_or(r, |(f, _)| f).to_owned()),
                );
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (key, value) = if line.starts_with('"') {
                (None, line)
            } else {
                let (k, v) = line.split_once(' ').unwrap();
                (Some(k), v)
            };
            match key {
                Some("msgid") => {
                    current = 0;
                    has_msgid = true;
                }
                Some("msgid_plural") => {
                    current = 1;
                    entry.plural = Some(String::new());
                }
                Some(k) if k.starts_with("msgstr") => {
                    strs.push(String::new());
                    current = 1 + strs.len();
                }
                Some(k) => panic!("{file}: unknown keyword {k}"),
                None => {}
            }
            // a bare string line continues the last keyword's value
            let field = match current {
                0 => &mut id,
                1 => &mut plural,
                n => &mut strs[n - 2],
            };
            field.push_str(&c_unquote(value, &file));
        }
        if !has_msgid || id.is_empty() {
            continue;
        }
        if entry.plural.is_some() {
            entry.plural = Some(plural);
        }
        entry.translations = strs;
        entries.insert(id, entry);
    }
    entries
}

fn pot_messages() -> BTreeSet<Msg> {
    po(&repo().join("po/bpfbox.pot"))
        .into_iter()
        .map(|(id, e)| (id, e.plural))
        .collect()
}

/// The template's messages that come from Rust sources (the others come
/// from the desktop files and the metainfo).
fn pot_rust_messages() -> BTreeSet<Msg> {
    po(&repo().join("po/bpfbox.pot"))
        .into_iter()
        .filter(|(_, e)| e.files.iter().any(|f| f.ends_with(".rs")))
        .map(|(id, e)| (id, e.plural))
        .collect()
}

/// The `{name}` placeholders of a message, which the code replaces.
fn placeholders(s: &str) -> BTreeSet<&str> {
    s.match_indices('{')
        .filter_map(|(i, _)| s[i..].find('}').map(|j| &s[i..=i + j]))
        .collect()
}

// ---- tests ----------------------------------------------------------------

#[test]
fn every_translatable_string_in_the_sources_is_in_the_pot() {
    let pot = pot_messages();
    let missing: Vec<_> = source_messages().difference(&pot).cloned().collect();
    assert!(
        missing.is_empty(),
        "not in po/bpfbox.pot (run po/update-pot): {missing:#?}"
    );
}

#[test]
fn the_pot_has_no_string_the_sources_no_longer_translate() {
    let sources = source_messages();
    let stale: Vec<_> = pot_rust_messages().difference(&sources).cloned().collect();
    assert!(
        stale.is_empty(),
        "stale in po/bpfbox.pot (run po/update-pot): {stale:#?}"
    );
}

#[test]
fn every_source_file_with_translatable_strings_is_listed_in_potfiles() {
    let listed: BTreeSet<String> = list("POTFILES").into_iter().collect();
    for file in translated_sources() {
        let has_strings = !translatable(&read(&repo().join(&file)), &file).is_empty();
        assert_eq!(
            has_strings,
            listed.contains(&file),
            "{file}: po/POTFILES must list exactly the files with translatable strings"
        );
    }
}

#[test]
fn every_language_in_linguas_translates_every_string_of_the_pot() {
    let languages = list("LINGUAS");
    assert!(
        languages.len() >= 2,
        "at least two translations: {languages:?}"
    );
    let pot = pot_messages();
    for lang in languages {
        let path = repo().join(format!("po/{lang}.po"));
        let entries = po(&path);
        for (id, plural) in &pot {
            let entry = entries
                .get(id)
                .unwrap_or_else(|| panic!("{lang}.po lacks {id:?} (run po/update-pot)"));
            assert!(!entry.fuzzy, "{lang}.po: {id:?} is fuzzy");
            assert_eq!(&entry.plural, plural, "{lang}.po: {id:?}");
            let wanted = if plural.is_some() { 2 } else { 1 };
            assert!(
                entry.translations.len() >= wanted
                    && entry.translations.iter().all(|t| !t.is_empty()),
                "{lang}.po: {id:?} is not translated: {:?}",
                entry.translations
            );
        }
    }
}

#[test]
fn translations_keep_every_placeholder_the_code_fills_in() {
    for lang in list("LINGUAS") {
        for (id, entry) in po(&repo().join(format!("po/{lang}.po"))) {
            for t in &entry.translations {
                assert_eq!(
                    placeholders(&id),
                    placeholders(t),
                    "{lang}.po: {id:?} → {t:?}"
                );
            }
        }
    }
}

#[test]
fn the_literal_reader_follows_rust_escapes_and_line_continuations() {
    let src =
        "tr(\"a \\\n      b\\u{2019}\\\"c\\\"\") ngettext(\"{n} x\", \"{n} xs\", n) tr(r#\"raw\"#)";
    assert_eq!(
        translatable(src, "t.rs"),
        [
            ("a b\u{2019}\"c\"".to_owned(), None),
            ("raw".to_owned(), None),
            ("{n} x".to_owned(), Some("{n} xs".to_owned())),
        ]
    );
}
