//! Every kind of problem, with the exact line a user sees:
//! `path:line:col: severity: message`.

use std::{fs, path::Path};

use bpfbox_policy::{lint, load_dir, load_file, parse_str};

const ORIGIN: &str = "/policy/app.toml";

/// The diagnostics of `text`, as displayed.
fn problems(text: &str) -> Vec<String> {
    match parse_str(text, Path::new(ORIGIN)) {
        Ok(p) => panic!("parsed: {p:?}"),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

/// The one diagnostic of `text`.
fn problem(text: &str) -> String {
    let all = problems(text);
    assert_eq!(all.len(), 1, "{all:#?}");
    all.into_iter().next().unwrap()
}

const FS_KEYS: &str = "file, access, id, action, func, kfunc, enabled, expires, uid";

#[test]
fn toml_syntax_error_names_its_position() {
    assert_eq!(
        problem("profile = '/bin/ls'\naccess = read\n"),
        "/policy/app.toml:2:10: error: invalid TOML: string values must be quoted, expected literal string"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\nprofile = '/bin/ls'\n"),
        "/policy/app.toml:2:1: error: invalid TOML: duplicate key"
    );
}

#[test]
fn unknown_top_level_key_lists_the_valid_keys() {
    assert_eq!(
        problem("profile = '/bin/ls'\nprofil = 'x'\n"),
        "/policy/app.toml:2:1: error: unknown key `profil` in the top level; expected one of: \
         profile, name, description, desktop_id, icon, mode, taint_on_exec, io_uring, mount, fs, net, signal, proc, ptrace, capability"
    );
}

#[test]
fn unknown_rule_key_lists_the_keys_of_that_rule() {
    assert_eq!(
        problem("profile = '/bin/ls'\n[[fs]]\nfile = '/a'\naccess = 'read'\n  acess = 'read'\n"),
        format!("/policy/app.toml:5:3: error: unknown key `acess` in [[fs]]; expected one of: {FS_KEYS}")
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[ptrace]]\ntarget = 'self'\nfile = '/a'\n"),
        "/policy/app.toml:4:1: error: unknown key `file` in [[ptrace]]; expected one of: \
         target, id, action, func, kfunc, enabled, expires, uid"
    );
}

#[test]
fn missing_profile_is_reported_at_the_start() {
    assert_eq!(
        problem("[[fs]]\nfile = '/a'\naccess = 'read'\n"),
        "/policy/app.toml:1:1: error: missing key `profile` in the top level (the executable's absolute path)"
    );
}

#[test]
fn missing_rule_key_is_reported_at_the_table_header() {
    assert_eq!(
        problem("profile = '/bin/ls'\n\n[[fs]]\nfile = '/a'\n"),
        "/policy/app.toml:3:1: error: missing key `access` in [[fs]]"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\nnet = [{ operation = 'connect' }]\n"),
        "/policy/app.toml:2:8: error: missing key `family` in [[net]]"
    );
}

#[test]
fn wrong_types_say_what_was_expected_and_found() {
    assert_eq!(
        problem("profile = 1\n"),
        "/policy/app.toml:1:11: error: `profile` must be a string, found integer"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[fs]]\nfile = '/a'\naccess = 1\n"),
        "/policy/app.toml:4:10: error: `access` must be a string or an array of strings, found integer"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[fs]]\nfile = '/a'\naccess = ['read', 2]\n"),
        "/policy/app.toml:4:19: error: `access` must be a string or an array of strings, found integer"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\nfs = 'x'\n"),
        "/policy/app.toml:2:6: error: `fs` must be an array of tables ([[fs]]), found string"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[fs]\nfile = '/a'\n"),
        "/policy/app.toml:2:1: error: `fs` must be an array of tables ([[fs]]), found table"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\ntaint_on_exec = 'yes'\n"),
        "/policy/app.toml:2:17: error: `taint_on_exec` must be true or false, found string"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[net]]\nfamily = 'inet'\noperation = 'bind'\nenabled = 0\n"),
        "/policy/app.toml:5:11: error: `enabled` must be true or false, found integer"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[net]]\nfamily = 'inet'\noperation = 'bind'\nexpires = true\n"),
        "/policy/app.toml:5:11: error: `expires` must be a string, unix seconds or a date-time, found boolean"
    );
}

#[test]
fn unknown_words_list_the_valid_ones() {
    assert_eq!(
        problem("profile = '/bin/ls'\n[[fs]]\nfile = '/a'\naccess = ['read', 'reed']\n"),
        "/policy/app.toml:4:19: error: unknown access `reed` in `access`; expected one of: \
         read, write, append, exec, getattr, setattr, ioctl, rm, link, any"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\nmode = 'strict'\n"),
        "/policy/app.toml:2:8: error: unknown mode `strict` in `mode`; expected one of: enforce, complain, disabled"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[fs]]\nfile = '/a'\naccess = 'read'\naction = 'deny'\n"),
        "/policy/app.toml:5:10: error: unknown action `deny` in `action`; expected one of: allow, audit, taint"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[net]]\nfamily = 'inet'\noperation = 'sendmsg'\n"),
        "/policy/app.toml:4:13: error: unknown operation `sendmsg` in `operation`; expected one of: \
         connect, bind, accept, listen, send, receive, create, shutdown, any"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[signal]]\nsignal = 'sigterm'\ntarget = 'self'\n"),
        "/policy/app.toml:3:10: error: unknown signal `sigterm` in `signal`; expected one of: \
         sigchld, sigkill, sigstop, misc, check, fatal, any"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[capability]]\ncapability = 'root'\n"),
        format!(
            "/policy/app.toml:3:14: error: unknown capability `root` in `capability`; expected one of: {}, any",
            bpfbox_policy::CAPABILITIES.join(", ")
        )
    );
    let family = problem("profile = '/bin/ls'\n[[net]]\nfamily = 'inet4'\noperation = 'bind'\n");
    assert!(
        family.starts_with(
            "/policy/app.toml:3:10: error: unknown family `inet4` in `family`; expected one of: unix, inet, ax25,"
        ),
        "{family}"
    );
    assert!(family.ends_with("xdp, mctp, any"), "{family}");
}

#[test]
fn empty_lists_are_errors_not_no_ops() {
    assert_eq!(
        problem("profile = '/bin/ls'\n[[fs]]\nfile = []\naccess = 'read'\n"),
        "/policy/app.toml:3:8: error: `file` must not be empty: expected at least one path"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[fs]]\nfile = '/a'\naccess = []\n"),
        "/policy/app.toml:4:10: error: `access` must not be empty: expected at least one access"
    );
}

#[test]
fn bad_paths_say_why() {
    assert_eq!(
        problem("profile = 'ls'\n"),
        "/policy/app.toml:1:11: error: invalid path `ls` in `profile`: \
         expected an absolute path (starting with `/`) or `~/` for the home directories"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[fs]]\nfile = ['/a', '/b/../c']\naccess = 'read'\n"),
        "/policy/app.toml:3:15: error: invalid path `/b/../c` in `file`: \
         `.` and `..` components are not allowed; write the normalized path"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[fs]]\nfile = '/tmp/'\naccess = 'read'\n"),
        "/policy/app.toml:3:8: error: invalid path `/tmp/` in `file`: empty path component (`//` or a trailing `/`); \
         write `dir` for a directory itself, `dir/**` for everything in it"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[fs]]\nfile = '/a/b**'\naccess = 'read'\n"),
        "/policy/app.toml:3:8: error: invalid path `/a/b**` in `file`: \
         `**` must be a whole path component (`dir/**`, `dir/**/name`)"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[fs]]\nfile = '~bob/x'\naccess = 'read'\n"),
        "/policy/app.toml:3:8: error: invalid path `~bob/x` in `file`: \
         `~` must stand alone as the first component (`~/…`); `~user` is not supported"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\n[[fs]]\nfile = '/a/[bc'\naccess = 'read'\n"),
        "/policy/app.toml:3:8: error: invalid path `/a/[bc` in `file`: unclosed `[` character class"
    );
}

#[test]
fn bad_targets_say_what_a_target_is() {
    assert_eq!(
        problem("profile = '/bin/ls'\n[[signal]]\nsignal = 'sigkill'\ntarget = 'sleep'\n"),
        "/policy/app.toml:4:10: error: invalid target `sleep`: expected \"self\", \"unconfined\", \"any\" \
         or an executable's absolute path (expected an absolute path (starting with `/`) or `~/` for the home directories)"
    );
}

#[test]
fn bad_expiries_say_which_forms_are_valid() {
    let rule = "profile = '/bin/ls'\n[[fs]]\nfile = '/a'\naccess = 'read'\n";
    assert_eq!(
        problem(&format!("{rule}expires = 'tomorrow'\n")),
        "/policy/app.toml:5:11: error: invalid `expires` value `tomorrow`: expected \"always\", \"once\", \
         \"restart:<instance id>\", a time with offset such as \"2026-11-29T10:00:00Z\", or unix seconds"
    );
    assert_eq!(
        problem(&format!("{rule}expires = 2026-11-29T10:00:00\n")),
        "/policy/app.toml:5:11: error: invalid `expires` value `2026-11-29T10:00:00`: \
         the time has no UTC offset: add `Z` or `+hh:mm`"
    );
    assert_eq!(
        problem(&format!("{rule}expires = -5\n")),
        "/policy/app.toml:5:11: error: invalid `expires` value `-5`: \
         time out of range: expected 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z"
    );
    assert_eq!(
        problem(&format!("{rule}expires = 'restart'\n")),
        "/policy/app.toml:5:11: error: invalid `expires` value `restart`: expected \"restart:<instance id>\" \
         where the id is 1 to 128 letters, digits, `-`, `_` or `.`"
    );
}

#[test]
fn rule_ids_must_be_valid_and_unique() {
    assert_eq!(
        problem("profile = '/bin/ls'\n[[fs]]\nid = 'my rule'\nfile = '/a'\naccess = 'read'\n"),
        "/policy/app.toml:3:6: error: invalid rule id `my rule`: \
         expected 1 to 128 letters, digits, `-`, `_`, `.` or `:`"
    );
    assert_eq!(
        problem(
            "profile = '/bin/ls'\n[[fs]]\nid = 'r1'\nfile = '/a'\naccess = 'read'\n\
             [[net]]\nid = 'r1'\nfamily = 'inet'\noperation = 'bind'\n"
        ),
        "/policy/app.toml:7:6: error: duplicate rule id `r1` (first used on line 3)"
    );
}

#[test]
fn function_names_must_be_symbols() {
    assert_eq!(
        problem("profile = '/bin/ls'\n[[fs]]\nfile = '/a'\naccess = 'read'\nfunc = 'do it'\n"),
        "/policy/app.toml:5:8: error: invalid function name `do it` in `func`: \
         expected a symbol name (no spaces or control characters, at most 255 bytes); \
         a `func` may name a library function as LIBRARY:SYMBOL"
    );
}

#[test]
fn every_problem_of_a_file_is_reported_in_one_pass() {
    let all = problems(
        "profile = 'ls'\n[[fs]]\nfile = '/a'\naccess = 'reed'\n[[net]]\nfamily = 'inet'\n",
    );
    assert_eq!(all.len(), 3, "{all:#?}");
    assert!(all[0].starts_with("/policy/app.toml:1:11: error: invalid path `ls`"));
    assert!(all[1].starts_with("/policy/app.toml:4:10: error: unknown access `reed`"));
    assert_eq!(
        all[2],
        "/policy/app.toml:5:1: error: missing key `operation` in [[net]]"
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    assert_eq!(
        problem("name = 'é'\nprofile = '/bin/ls'\nmode = 'é'\n"),
        "/policy/app.toml:3:8: error: unknown mode `é` in `mode`; expected one of: enforce, complain, disabled"
    );
    assert_eq!(
        problem("profile = '/bin/ls'\ndescription = 'ééé'  ;\n"),
        "/policy/app.toml:2:22: error: invalid TOML: unexpected key or value, expected newline, `#`"
    );
}

#[test]
fn file_level_problems() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let err = load_file(&missing).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: error: cannot read the file: No such file or directory (os error 2)",
            missing.display()
        )
    );

    let binary = dir.path().join("binary.toml");
    fs::write(&binary, b"profile = '\xff'\n").unwrap();
    assert_eq!(
        load_file(&binary).unwrap_err().to_string(),
        format!(
            "{}:1:1: error: invalid UTF-8: profiles are UTF-8 text",
            binary.display()
        )
    );

    let huge = dir.path().join("huge.toml");
    fs::File::create(&huge)
        .unwrap()
        .set_len(bpfbox_policy::MAX_FILE_SIZE + 1)
        .unwrap();
    assert_eq!(
        load_file(&huge).unwrap_err().to_string(),
        format!(
            "{}:1:1: error: file is larger than 8388608 bytes",
            huge.display()
        )
    );
}

#[test]
fn duplicate_profile_names_both_files() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.toml"), "profile = '/bin/ls'\n").unwrap();
    fs::write(dir.path().join("b.toml"), "# again\nprofile = '/bin/ls'\n").unwrap();
    let report = load_dir(dir.path());
    assert_eq!(report.profiles.len(), 1);
    assert_eq!(
        report.diagnostics[0].to_string(),
        format!(
            "{}:2:11: error: profile for `/bin/ls` is already defined in {}; this file is ignored",
            dir.path().join("b.toml").display(),
            dir.path().join("a.toml").display()
        )
    );
}

#[test]
fn too_many_function_contexts_is_reported_where_the_65th_appears() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("profile = '/bin/app'\n");
    for i in 0..65 {
        text.push_str(&format!(
            "[[fs]]\nfile = '/a'\naccess = 'read'\nfunc = 'f{i:02}'\n"
        ));
    }
    let file = dir.path().join("app.toml");
    fs::write(&file, text).unwrap();
    let diagnostics = lint(&[dir.path().to_owned()]);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    // the 65th func is on line 1 + 64 * 4 + 4
    assert_eq!(
        diagnostics[0].to_string(),
        format!(
            "{}:261:8: error: too many function contexts: `f64` would be number 65, the kernel has 64",
            file.display()
        )
    );
}

#[test]
fn a_profile_that_can_never_deny_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lax.toml");
    fs::write(
        &file,
        "profile = '/bin/lax'\ntaint_on_exec = false\n[[fs]]\nfile = '/**'\naccess = 'read'\n",
    )
    .unwrap();
    let diagnostics = lint(std::slice::from_ref(&file));
    assert_eq!(
        diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [format!(
            "{}:2:1: warning: `taint_on_exec = false` and no enabled rule has the `taint` action: \
             this profile never denies anything",
            file.display()
        )]
    );
    assert!(!diagnostics[0].is_error());
    // a warning does not reject the file
    assert_eq!(load_dir(dir.path()).profiles.len(), 1);
}

#[test]
fn a_capability_that_gets_around_bpfbox_is_a_warning_where_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.toml");
    fs::write(
        &file,
        "profile = '/bin/app'\n[[capability]]\ncapability = ['net_bind_service', 'dac_read_search']\n",
    )
    .unwrap();
    let diagnostics: Vec<String> = lint(std::slice::from_ref(&file))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        diagnostics,
        [format!(
            "{}:3:35: warning: capability `dac_read_search` lets a confined process get around its profile: \
             open_by_handle_at opens files by handle, and the file permission bits no longer stop reads",
            file.display()
        )]
    );
    assert!(load_file(&file).is_ok(), "a warning, not an error");
}
