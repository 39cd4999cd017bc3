//! Editing profile files for bpfboxd: each operation changes only what it
//! is about, and the whole text is compared to say so.

use std::{
    path::Path,
    time::{Duration, UNIX_EPOCH},
};

use bpfbox_policy::{EditError, Expiry, Mode, NewRule, Now, ProfileEdit, RuleKind};

const PATH: &str = "/policy/app.toml";

/// A hand-written profile: comments everywhere, odd spacing, both quote
/// styles, kinds interleaved.
const HAND: &str = r#"# Text editor, tuned by hand.
profile = "/usr/bin/app"   # the binary
name = 'App'

# what it needs to start
[[fs]]
file = ["/usr/**", "/etc/ld.so.cache"]
access = ["read", "exec"]   # no write!

# the user's documents
[[fs]]
id = "documents"
file = "~/Documents/**"
access = ["read", "write"]

[[net]]
family = "unix"
operation = ["connect", "send"]

# one more file, after the net rule
[[fs]]
file = '/etc/app.conf'
access = 'read'
# end of file
"#;

/// The same kind of profile with inline arrays of rules.
const INLINE: &str = r#"profile = "/usr/bin/app"
fs = [
  # system
  { file = "/usr/**", access = "read" },
  { id = "docs", file = "~/Documents/**", access = ["read", "write"] },
]
net = [{ family = "unix", operation = "connect" }, { family = "inet", operation = "connect" }]
"#;

fn edit(text: &str) -> ProfileEdit {
    ProfileEdit::from_text(Path::new(PATH), text).unwrap()
}

fn ids(e: &ProfileEdit) -> Vec<String> {
    e.profile().rules().into_iter().map(|r| r.id).collect()
}

fn fs_rule(file: &str, access: &str) -> NewRule {
    NewRule::new(RuleKind::Fs)
        .with("file", [file])
        .with("access", [access])
}

#[test]
fn an_untouched_edit_gives_back_the_file_byte_for_byte() {
    for text in [HAND, INLINE] {
        let e = edit(text);
        assert_eq!(e.text(), text);
        assert!(!e.is_changed());
        assert_eq!(e.original(), text);
    }
}

#[test]
fn disabling_a_rule_adds_one_line_and_keeps_every_comment() {
    let mut e = edit(HAND);
    e.set_rule_enabled("documents", false).unwrap();
    let expected = HAND.replace(
        "file = \"~/Documents/**\"\naccess = [\"read\", \"write\"]\n",
        "file = \"~/Documents/**\"\naccess = [\"read\", \"write\"]\nenabled = false\n",
    );
    assert_eq!(e.text(), expected);
    assert!(!e.profile().fs[1].enabled);
}

#[test]
fn disabling_then_enabling_restores_the_file_exactly() {
    let mut e = edit(HAND);
    for id in ids(&e) {
        e.set_rule_enabled(&id, false).unwrap();
    }
    assert!(e.profile().rules().iter().all(|r| !r.enabled));
    for id in ids(&e) {
        e.set_rule_enabled(&id, true).unwrap();
    }
    assert_eq!(e.text(), HAND);
}

#[test]
fn enabling_removes_a_written_enabled_false_with_its_comment() {
    let text = "profile = '/bin/a'\n[[fs]]\nfile = '/a'\naccess = 'read'\nenabled = false # broken on wayland\n\n[[fs]]\nfile = '/b'\naccess = 'read'\n";
    let mut e = edit(text);
    let id = ids(&e)[0].clone();
    e.set_rule_enabled(&id, true).unwrap();
    assert_eq!(
        e.text(),
        "profile = '/bin/a'\n[[fs]]\nfile = '/a'\naccess = 'read'\n\n[[fs]]\nfile = '/b'\naccess = 'read'\n"
    );
}

#[test]
fn setting_a_rule_to_its_current_state_changes_nothing() {
    let mut e = edit(HAND);
    e.set_rule_enabled("documents", true).unwrap();
    assert_eq!(e.text(), HAND);
}

#[test]
fn toggling_and_expiring_keep_every_rule_id() {
    for text in [HAND, INLINE] {
        let mut e = edit(text);
        let before = ids(&e);
        for id in &before {
            e.set_rule_enabled(id, false).unwrap();
            e.set_rule_expires(id, &Expiry::Once).unwrap();
            assert_eq!(ids(&e), before, "after changing {id}");
        }
    }
}

#[test]
fn inline_rules_are_toggled_in_place_and_spaced_like_their_neighbours() {
    let mut e = edit(INLINE);
    e.set_rule_enabled("docs", false).unwrap();
    let net = ids(&e)[3].clone();
    e.set_rule_enabled(&net, false).unwrap();
    assert_eq!(
        e.text(),
        r#"profile = "/usr/bin/app"
fs = [
  # system
  { file = "/usr/**", access = "read" },
  { id = "docs", file = "~/Documents/**", access = ["read", "write"], enabled = false },
]
net = [{ family = "unix", operation = "connect" }, { family = "inet", operation = "connect", enabled = false }]
"#
    );
    e.set_rule_enabled("docs", true).unwrap();
    e.set_rule_enabled(&net, true).unwrap();
    assert_eq!(e.text(), INLINE);
}

#[test]
fn an_expiry_is_written_as_a_utc_time_and_never_removes_it() {
    let mut e = edit(HAND);
    e.set_rule_expires("documents", &Expiry::At(1_795_946_400))
        .unwrap();
    assert_eq!(
        e.text(),
        HAND.replace(
            "access = [\"read\", \"write\"]\n",
            "access = [\"read\", \"write\"]\nexpires = \"2026-11-29T10:00:00Z\"\n"
        )
    );
    assert_eq!(e.profile().fs[1].expires, Expiry::At(1_795_946_400));
    e.set_rule_expires("documents", &Expiry::Never).unwrap();
    assert_eq!(e.text(), HAND);
}

#[test]
fn replacing_a_written_expiry_keeps_its_comment() {
    let text = "profile = '/bin/a'\n[[fs]]\nid = 'x'\nfile = '/a'\naccess = 'read'\nexpires = 1795946400   # until the trip\n";
    let mut e = edit(text);
    e.set_rule_expires("x", &Expiry::UntilRestart("i7".into()))
        .unwrap();
    assert_eq!(
        e.text(),
        text.replace("expires = 1795946400", "expires = \"restart:i7\"")
    );
}

#[test]
fn removing_a_rule_takes_its_table_and_the_comment_above_it_only() {
    let mut e = edit(HAND);
    e.remove_rule("documents").unwrap();
    assert_eq!(
        e.text(),
        HAND.replace(
            "\n# the user's documents\n[[fs]]\nid = \"documents\"\nfile = \"~/Documents/**\"\naccess = [\"read\", \"write\"]\n",
            ""
        )
    );
    assert_eq!(e.profile().fs.len(), 2);
    assert_eq!(e.profile().find_rule("documents"), None);
}

#[test]
fn removing_the_first_inline_rule_keeps_the_array_tidy() {
    let mut e = edit(INLINE);
    let first_net = ids(&e)[2].clone();
    e.remove_rule(&first_net).unwrap();
    assert_eq!(
        e.text(),
        INLINE.replace(
            "[{ family = \"unix\", operation = \"connect\" }, { family",
            "[{ family"
        )
    );
    let first_fs = ids(&e)[0].clone();
    e.remove_rule(&first_fs).unwrap();
    assert_eq!(
        e.text(),
        r#"profile = "/usr/bin/app"
fs = [
  { id = "docs", file = "~/Documents/**", access = ["read", "write"] },
]
net = [{ family = "inet", operation = "connect" }]
"#
    );
}

#[test]
fn removing_the_last_rule_of_a_kind_lets_the_next_one_go_to_the_end() {
    let mut e = edit(HAND);
    let net = ids(&e)[3].clone();
    e.remove_rule(&net).unwrap();
    assert!(!e.text().contains("[[net]]"));
    e.add_rule(
        &NewRule::new(RuleKind::Net)
            .with("family", ["inet"])
            .with("operation", ["connect"]),
        Some("web"),
        &Expiry::Never,
    )
    .unwrap();
    assert!(
        e.text().ends_with(
            "access = 'read'\n\n[[net]]\nid = \"web\"\nfamily = \"inet\"\noperation = \"connect\"\n# end of file\n"
        ),
        "{}",
        e.text()
    );
}

#[test]
fn an_unknown_id_is_no_such_rule_and_changes_nothing() {
    let mut e = edit(HAND);
    let no = |r: Result<(), EditError>| {
        assert!(
            matches!(&r, Err(EditError::NoSuchRule { id }) if id == "nope"),
            "{r:?}"
        );
    };
    no(e.set_rule_enabled("nope", false));
    no(e.set_rule_expires("nope", &Expiry::Once));
    no(e.remove_rule("nope"));
    assert_eq!(e.text(), HAND);
    assert_eq!(
        e.set_rule_enabled("nope", false).unwrap_err().to_string(),
        "no rule with id `nope`"
    );
}

#[test]
fn a_mode_is_replaced_where_it_is_written_keeping_its_comment() {
    let text = "profile = '/bin/a'\nmode = 'complain' # while testing\n\n[[fs]]\nfile = '/a'\naccess = 'read'\n";
    let mut e = edit(text);
    e.set_mode(Mode::Enforce).unwrap();
    assert_eq!(
        e.text(),
        text.replace("mode = 'complain'", "mode = \"enforce\"")
    );
    assert_eq!(e.profile().mode, Mode::Enforce);
}

#[test]
fn a_new_mode_goes_after_the_top_level_keys() {
    let mut e = edit(HAND);
    e.set_mode(Mode::Enforce).unwrap();
    assert_eq!(e.text(), HAND, "enforce is the default: nothing to write");
    e.set_mode(Mode::Disabled).unwrap();
    assert_eq!(
        e.text(),
        HAND.replace("name = 'App'\n", "name = 'App'\nmode = \"disabled\"\n")
    );
    assert_eq!(e.profile().mode, Mode::Disabled);
}

#[test]
fn a_new_rule_follows_the_last_rule_of_its_kind_with_a_generated_id() {
    let mut e = edit(HAND);
    let before = ids(&e);
    let id = e
        .add_rule(&fs_rule("~/Downloads/a.pdf", "read"), None, &Expiry::Once)
        .unwrap();
    assert_eq!(id, "user-fs-1");
    assert_eq!(
        e.text(),
        HAND.replace(
            "access = 'read'\n# end of file\n",
            "access = 'read'\n\n[[fs]]\nid = \"user-fs-1\"\nfile = \"~/Downloads/a.pdf\"\naccess = \"read\"\nexpires = \"once\"\n# end of file\n"
        )
    );
    let after = ids(&e);
    assert_eq!(after[..3], before[..3]);
    assert_eq!(after[3], "user-fs-1");
    assert_eq!(after[4..], before[3..]);
    assert_eq!(e.profile().fs[3].expires, Expiry::Once);
}

#[test]
fn a_new_rule_in_a_file_that_has_none_of_its_kind_goes_at_the_end() {
    let mut e = edit(HAND);
    e.add_rule(
        &NewRule::new(RuleKind::Capability).with("capability", ["net_raw", "net_admin"]),
        Some("raw"),
        &Expiry::Never,
    )
    .unwrap();
    assert_eq!(
        e.text(),
        HAND.replace(
            "# end of file\n",
            "\n[[capability]]\nid = \"raw\"\ncapability = [\"net_raw\", \"net_admin\"]\n# end of file\n"
        )
    );
}

#[test]
fn a_new_inline_rule_follows_the_array_layout() {
    let mut e = edit(INLINE);
    e.add_rule(&fs_rule("/opt/app/**", "read"), None, &Expiry::Never)
        .unwrap();
    e.add_rule(
        &NewRule::new(RuleKind::Net)
            .with("family", ["inet6"])
            .with("operation", ["connect"])
            .with("action", ["allow", "audit"]),
        Some("v6"),
        &Expiry::Never,
    )
    .unwrap();
    assert_eq!(
        e.text(),
        r#"profile = "/usr/bin/app"
fs = [
  # system
  { file = "/usr/**", access = "read" },
  { id = "docs", file = "~/Documents/**", access = ["read", "write"] },
  { id = "user-fs-1", file = "/opt/app/**", access = "read" },
]
net = [{ family = "unix", operation = "connect" }, { family = "inet", operation = "connect" }, { id = "v6", family = "inet6", operation = "connect", action = ["allow", "audit"] }]
"#
    );
}

#[test]
fn generated_ids_skip_ids_in_use() {
    let text = "profile = '/bin/a'\n[[fs]]\nid = 'user-fs-1'\nfile = '/a'\naccess = 'read'\n";
    let mut e = edit(text);
    let a = e
        .add_rule(&fs_rule("/b", "read"), None, &Expiry::Never)
        .unwrap();
    let b = e
        .add_rule(&fs_rule("/c", "read"), None, &Expiry::Never)
        .unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("user-fs-2", "user-fs-3"));
}

#[test]
fn a_new_rule_with_a_key_of_another_kind_is_refused_naming_the_key() {
    let mut e = edit(HAND);
    let err = e
        .add_rule(
            &fs_rule("/a", "read").with("family", ["inet"]),
            None,
            &Expiry::Never,
        )
        .unwrap_err();
    assert!(
        matches!(&err, EditError::UnknownKey { key, kind: RuleKind::Fs, .. } if key == "family"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "unknown key `family` in a new [[fs]] rule; expected one of: file, access, action, func, kfunc"
    );
    assert_eq!(e.text(), HAND);
}

#[test]
fn id_enabled_and_expires_cannot_hide_in_a_new_rules_keys() {
    let mut e = edit(HAND);
    for key in ["id", "enabled", "expires"] {
        let err = e
            .add_rule(
                &fs_rule("/a", "read").with(key, ["x"]),
                None,
                &Expiry::Never,
            )
            .unwrap_err();
        assert!(
            matches!(&err, EditError::ReservedKey { key: k } if k == key),
            "{err:?}"
        );
    }
    assert_eq!(e.text(), HAND);
}

#[test]
fn repeated_and_empty_keys_are_refused() {
    let mut e = edit(HAND);
    let err = e
        .add_rule(
            &fs_rule("/a", "read").with("access", ["write"]),
            None,
            &Expiry::Never,
        )
        .unwrap_err();
    assert!(matches!(&err, EditError::RepeatedKey { key } if key == "access"));
    let err = e
        .add_rule(
            &NewRule::new(RuleKind::Fs)
                .with("file", Vec::<String>::new())
                .with("access", ["read"]),
            None,
            &Expiry::Never,
        )
        .unwrap_err();
    assert!(matches!(&err, EditError::EmptyKey { key } if key == "file"));
    assert_eq!(e.text(), HAND);
}

#[test]
fn an_invalid_value_is_refused_with_a_diagnostic_naming_the_key() {
    let mut e = edit(HAND);
    let err = e
        .add_rule(&fs_rule("/a", "reed"), None, &Expiry::Never)
        .unwrap_err();
    let EditError::InvalidRule(d) = &err else {
        panic!("{err:?}")
    };
    let message = d.to_string();
    assert!(
        message.starts_with("/policy/app.toml:")
            && message.contains("unknown access `reed` in `access`"),
        "{message}"
    );
    assert_eq!(e.text(), HAND);
    assert_eq!(e.profile().rule_count(), 4);
}

#[test]
fn a_missing_required_key_is_refused_naming_it() {
    let mut e = edit(HAND);
    let err = e
        .add_rule(
            &NewRule::new(RuleKind::Fs).with("file", ["/a"]),
            None,
            &Expiry::Never,
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("missing key `access` in [[fs]]"),
        "{err}"
    );
    assert_eq!(e.text(), HAND);
}

#[test]
fn a_value_cannot_inject_toml() {
    let mut e = edit(HAND);
    let sneaky = "/tmp/x\"\n[[fs]]\nfile = \"/**\"\naccess = \"any";
    let result = e.add_rule(&fs_rule(sneaky, "read"), Some("sneaky"), &Expiry::Never);
    // Either the path is refused, or it is one odd path: never a new rule.
    match result {
        Ok(_) => {
            assert_eq!(e.profile().fs.len(), 4);
            assert_eq!(e.profile().fs[3].object.files[0].as_str(), sneaky);
        }
        Err(err) => {
            assert!(matches!(err, EditError::InvalidRule(_)), "{err:?}");
            assert_eq!(e.text(), HAND);
        }
    }
}

#[test]
fn written_and_derived_ids_cannot_be_reused() {
    let mut e = edit(HAND);
    let derived = ids(&e)[0].clone();
    for id in ["documents", derived.as_str()] {
        let err = e
            .add_rule(&fs_rule("/a", "read"), Some(id), &Expiry::Never)
            .unwrap_err();
        assert!(
            matches!(&err, EditError::DuplicateId { id: i } if i == id),
            "{err:?}"
        );
    }
    for id in ["", "has space", "quote\"", &"x".repeat(129)] {
        let err = e
            .add_rule(&fs_rule("/a", "read"), Some(id), &Expiry::Never)
            .unwrap_err();
        assert!(matches!(err, EditError::BadId { .. }), "{id:?}: {err:?}");
    }
    assert_eq!(e.text(), HAND);
}

#[test]
fn expired_rules_are_removed_and_the_others_stay() {
    let text = r#"profile = "/bin/a"
# past
[[fs]]
id = "past"
file = "/a"
access = "read"
expires = 100

# keep: future
[[fs]]
id = "future"
file = "/b"
access = "read"
expires = 1000

[[net]]
id = "old-daemon"
family = "inet"
operation = "connect"
expires = "restart:i0"

[[net]]
id = "this-daemon"
family = "inet"
operation = "bind"
expires = "restart:i1"

[[net]]
id = "once"
family = "unix"
operation = "connect"
expires = "once"
enabled = false
"#;
    let mut e = edit(text);
    let now = Now::new(UNIX_EPOCH + Duration::from_secs(500)).with_instance("i1");
    let gone = e.remove_expired(&now).unwrap();
    assert_eq!(gone, ["past", "old-daemon"]);
    assert_eq!(
        e.text(),
        r#"profile = "/bin/a"

# keep: future
[[fs]]
id = "future"
file = "/b"
access = "read"
expires = 1000

[[net]]
id = "this-daemon"
family = "inet"
operation = "bind"
expires = "restart:i1"

[[net]]
id = "once"
family = "unix"
operation = "connect"
expires = "once"
enabled = false
"#
    );
    assert!(e.remove_expired(&now).unwrap().is_empty());
}

#[test]
fn an_invalid_profile_cannot_be_opened_and_its_problems_are_located() {
    let err = ProfileEdit::from_text(
        Path::new(PATH),
        "profile = '/bin/a'\n[[fs]]\nfile = '/a'\naccess = 'raed'\n",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "/policy/app.toml:4:10: error: unknown access `raed` in `access`; expected one of: read, write, append, exec, getattr, setattr, ioctl, rm, link, any"
    );
    let missing = ProfileEdit::open(Path::new("/nonexistent/dir/x.toml")).unwrap_err();
    assert!(matches!(missing, EditError::Invalid(_)), "{missing:?}");
}

#[test]
fn a_file_without_a_final_newline_keeps_that_style() {
    let text = "profile = '/bin/a'\n[[fs]]\nid = 'a'\nfile = '/a'\naccess = 'read'";
    let mut e = edit(text);
    assert_eq!(e.text(), text);
    e.set_rule_enabled("a", false).unwrap();
    assert_eq!(e.text(), format!("{text}\nenabled = false"));
    e.set_rule_enabled("a", true).unwrap();
    assert_eq!(e.text(), text);
}

#[test]
fn validate_returns_the_edited_profile() {
    let mut e = edit(HAND);
    e.set_rule_enabled("documents", false).unwrap();
    e.set_mode(Mode::Complain).unwrap();
    let p = e.validate().unwrap();
    assert_eq!(p.mode, Mode::Complain);
    assert!(!p.fs[1].enabled);
    assert_eq!(p.source.as_deref(), Some(Path::new(PATH)));
    assert_eq!(&p, e.profile());
}

#[test]
fn an_unchanged_expiry_keeps_the_users_spelling() {
    let text = "profile = '/bin/a'\n[[fs]]\nid = 'x'\nfile = '/a'\naccess = 'read'\nexpires = 1795946400\n";
    let mut e = edit(text);
    e.set_rule_expires("x", &Expiry::At(1_795_946_400)).unwrap();
    assert_eq!(e.text(), text);
}

#[test]
fn replacing_the_text_keeps_the_original_for_conflict_checks_and_the_executable() {
    let before = "profile = '/usr/bin/app'\n";
    let mut e = edit(before);
    e.replace_text("profile = '/usr/bin/app'\nmode = 'complain'\n# new\n")
        .unwrap();
    assert_eq!(e.original(), before, "commit compares the disk with this");
    assert_eq!(
        e.text(),
        "profile = '/usr/bin/app'\nmode = 'complain'\n# new\n"
    );
    assert_eq!(e.profile().mode, Mode::Complain);
    let err = e.replace_text("profile = '/usr/bin/other'\n").unwrap_err();
    assert!(matches!(err, EditError::OtherExecutable { .. }), "{err}");
    let err = e
        .replace_text("profile = '/usr/bin/app'\nmode = 'strict'\n")
        .unwrap_err();
    assert!(matches!(err, EditError::Invalid(_)), "{err}");
    assert_eq!(
        e.profile().mode,
        Mode::Complain,
        "a refused text changes nothing"
    );
}
