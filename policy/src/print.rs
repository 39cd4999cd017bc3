//! Writing a profile as canonical TOML, for a profile that has no file yet
//! (a new one made from scratch). Parsing the output gives the same profile
//! back. Changes to existing files go through [`crate::ProfileEdit`], which
//! keeps what people wrote there.
//!
//! Canonical means: top-level keys first in a fixed order, then the rules
//! kind by kind (`fs`, `net`, `signal`, `proc`, `ptrace`, `capability`) in
//! their order; defaults are left out (`action = "allow"`, `enabled = true`,
//! `mode = "enforce"`, no `expires`); a one-element list is written as a
//! plain string. Comments of the original file are not kept.

use std::fmt::Write as _;

use crate::{
    expiry::Expiry,
    model::{Mode, Profile, Rule, Target},
};

/// The canonical TOML text of `profile`.
#[must_use]
pub fn print(profile: &Profile) -> String {
    let mut out = String::new();
    line(
        &mut out,
        "profile",
        &quote(&profile.profile.to_string_lossy()),
    );
    for (key, value) in [
        ("name", &profile.name),
        ("description", &profile.description),
        ("desktop_id", &profile.desktop_id),
        ("icon", &profile.icon),
    ] {
        if let Some(value) = value {
            line(&mut out, key, &quote(value));
        }
    }
    if profile.mode != Mode::Enforce {
        line(&mut out, "mode", &quote(profile.mode.word()));
    }
    if let Some(taint) = profile.taint_on_exec {
        line(
            &mut out,
            "taint_on_exec",
            if taint { "true" } else { "false" },
        );
    }
    if profile.io_uring {
        line(&mut out, "io_uring", "true");
    }
    if profile.mount {
        line(&mut out, "mount", "true");
    }
    for rule in &profile.fs {
        let files: Vec<&str> = rule.object.files.iter().map(|p| p.as_str()).collect();
        table(&mut out, "fs", rule, |out| {
            line(out, "file", &list(&files));
            line(out, "access", &list(&rule.object.access.words()));
        });
    }
    for rule in &profile.net {
        let families: Vec<String> = rule.object.families.iter().map(|f| f.word()).collect();
        table(&mut out, "net", rule, |out| {
            line(out, "family", &list(&families));
            line(out, "operation", &list(&rule.object.operations.words()));
        });
    }
    for rule in &profile.signal {
        table(&mut out, "signal", rule, |out| {
            line(out, "signal", &list(&rule.object.signals.words()));
            line(out, "target", &targets(&rule.object.targets));
        });
    }
    for rule in &profile.proc {
        table(&mut out, "proc", rule, |out| {
            line(out, "target", &targets(&rule.object.targets));
            line(out, "access", &list(&rule.object.access.words()));
        });
    }
    for rule in &profile.ptrace {
        table(&mut out, "ptrace", rule, |out| {
            line(out, "target", &targets(&rule.object.targets));
        });
    }
    for rule in &profile.capability {
        let caps: Vec<&str> = rule.object.capabilities.iter().map(|c| c.word()).collect();
        table(&mut out, "capability", rule, |out| {
            line(out, "capability", &list(&caps));
        });
    }
    out
}

fn table<T>(out: &mut String, name: &str, rule: &Rule<T>, object: impl FnOnce(&mut String)) {
    let _ = write!(out, "\n[[{name}]]\n");
    if let Some(id) = &rule.id {
        line(out, "id", &quote(id));
    }
    object(out);
    if rule.action != crate::access::Actions::default() {
        line(out, "action", &list(&rule.action.words()));
    }
    if !rule.func.is_empty() {
        line(out, "func", &list(&rule.func));
    }
    if !rule.kfunc.is_empty() {
        line(out, "kfunc", &list(&rule.kfunc));
    }
    if !rule.enabled {
        line(out, "enabled", "false");
    }
    if rule.expires != Expiry::Never {
        if let Some(text) = rule.expires.to_toml_string() {
            line(out, "expires", &quote(&text));
        }
    }
    if let Some(uid) = rule.uid {
        line(out, "uid", &uid.to_string());
    }
}

fn line(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "{key} = {value}");
}

/// A TOML string literal, escaped as needed.
fn quote(s: &str) -> String {
    toml_edit::Value::from(s).to_string()
}

/// One element as a string, more as an array.
fn list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [one] => quote(one.as_ref()),
        _ => {
            let quoted: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
            format!("[{}]", quoted.join(", "))
        }
    }
}

fn targets(targets: &[Target]) -> String {
    let words: Vec<String> = targets.iter().map(Target::word).collect();
    list(&words)
}
