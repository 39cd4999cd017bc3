//! Writing profile files: the change lands whole, loads, and never
//! overwrites someone else's change; nothing is left behind either way.

use std::{
    fs,
    os::unix::fs::{MetadataExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
};

use bpfbox_policy::{load_dir, load_file, FsAccess, Now, Policy, ProfileEdit, Request};

use crate::policy::store::{self, StoreError};

const TEXT: &str = "# mine\nprofile = '/bin/app'\n\n# docs\n[[fs]]\nid = 'docs'\nfile = '/home/u/Documents/**'\naccess = 'read'   # only read\n";

fn dir_with(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::write(&path, text).unwrap();
    (dir, path)
}

/// Every entry of `dir`, hidden ones included, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn allows_reading(profile: bpfbox_policy::Profile, path: &str) -> bool {
    let exe = profile.profile.clone();
    let policy = Policy::new(vec![profile], &[], Now::new(std::time::UNIX_EPOCH)).unwrap();
    policy
        .decide(
            &exe,
            true,
            0,
            &Request::Fs {
                path: path.into(),
                access: FsAccess::READ,
            },
        )
        .decision
        .is_allowed()
}

#[test]
fn a_committed_edit_is_what_the_loader_reads_and_it_takes_effect() {
    let (dir, path) = dir_with("app.toml", TEXT);
    let doc = "/home/u/Documents/a.txt";
    assert!(allows_reading(load_file(&path).unwrap(), doc));
    let mut edit = ProfileEdit::open(&path).unwrap();
    edit.set_rule_enabled("docs", false).unwrap();
    let written = store::commit(&edit).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), edit.text());
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        TEXT.replace("# only read\n", "# only read\nenabled = false\n")
    );
    let loaded = load_file(&path).unwrap();
    assert_eq!(loaded, written);
    assert!(!loaded.fs[0].enabled);
    assert!(!allows_reading(loaded, doc));
    assert_eq!(entries(dir.path()), ["app.toml"]);
}

#[test]
fn a_file_changed_since_it_was_read_is_left_alone() {
    let (dir, path) = dir_with("app.toml", TEXT);
    let mut edit = ProfileEdit::open(&path).unwrap();
    edit.set_rule_enabled("docs", false).unwrap();
    let theirs = format!("{TEXT}# the user's own change\n");
    fs::write(&path, &theirs).unwrap();
    let err = store::commit(&edit).unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { path: p } if *p == path),
        "{err:?}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), theirs);
    assert_eq!(entries(dir.path()), ["app.toml"]);
}

#[test]
fn a_file_removed_since_it_was_read_is_not_brought_back() {
    let (dir, path) = dir_with("app.toml", TEXT);
    let mut edit = ProfileEdit::open(&path).unwrap();
    edit.remove_rule("docs").unwrap();
    fs::remove_file(&path).unwrap();
    let err = store::commit(&edit).unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn the_file_keeps_its_permissions() {
    let (_dir, path) = dir_with("app.toml", TEXT);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let before = fs::metadata(&path).unwrap();
    let mut edit = ProfileEdit::open(&path).unwrap();
    edit.set_rule_enabled("docs", false).unwrap();
    store::commit(&edit).unwrap();
    let after = fs::metadata(&path).unwrap();
    assert_eq!(after.mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    assert_ne!(
        after.ino(),
        before.ino(),
        "replaced by rename, not rewritten"
    );
}

#[test]
fn an_edit_that_changes_nothing_writes_nothing() {
    let (_dir, path) = dir_with("app.toml", TEXT);
    let inode = fs::metadata(&path).unwrap().ino();
    let mut edit = ProfileEdit::open(&path).unwrap();
    edit.set_rule_enabled("docs", true).unwrap();
    store::commit(&edit).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
}

#[test]
fn a_symlinked_profile_is_not_replaced_by_a_file() {
    let (dir, real) = dir_with("real.toml.orig", TEXT);
    let link = dir.path().join("app.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut edit = ProfileEdit::open(&link).unwrap();
    edit.set_rule_enabled("docs", false).unwrap();
    let err = store::commit(&edit).unwrap_err();
    assert!(matches!(err, StoreError::NotAFile { .. }), "{err:?}");
    assert_eq!(fs::read_to_string(&real).unwrap(), TEXT);
    assert_eq!(entries(dir.path()), ["app.toml", "real.toml.orig"]);
}

#[test]
fn a_new_profile_is_created_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let p = store::create(dir.path(), "app.toml", TEXT).unwrap();
    let path = dir.path().join("app.toml");
    assert_eq!(fs::read_to_string(&path).unwrap(), TEXT);
    assert_eq!(
        fs::metadata(&path).unwrap().mode() & 0o7777,
        store::NEW_FILE_MODE
    );
    assert_eq!(load_file(&path).unwrap(), p);
    assert_eq!(load_dir(dir.path()).profiles, [p]);
    assert_eq!(entries(dir.path()), ["app.toml"]);
}

#[test]
fn create_never_replaces_an_existing_file() {
    let (dir, path) = dir_with("app.toml", "not even toml");
    let err = store::create(dir.path(), "app.toml", TEXT).unwrap_err();
    assert!(
        matches!(&err, StoreError::AlreadyExists { path: p } if *p == path),
        "{err:?}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "not even toml");
    assert_eq!(entries(dir.path()), ["app.toml"]);
}

#[test]
fn create_refuses_a_second_profile_for_the_same_executable() {
    let (dir, existing) = dir_with("b.toml", TEXT);
    // "a.toml" sorts first: the loader would keep it and drop b.toml.
    let err = store::create(dir.path(), "a.toml", TEXT).unwrap_err();
    assert!(
        matches!(&err, StoreError::DuplicateProfile { other, .. } if *other == existing),
        "{err:?}"
    );
    assert_eq!(entries(dir.path()), ["b.toml"]);
}

#[test]
fn create_refuses_an_invalid_profile_with_its_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let err = store::create(dir.path(), "app.toml", "profile = 'bin/app'\n").unwrap_err();
    let StoreError::Invalid(d) = &err else {
        panic!("{err:?}")
    };
    assert!(
        d.to_string().starts_with(&format!(
            "{}:1:11: error:",
            dir.path().join("app.toml").display()
        )),
        "{d}"
    );
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn profile_file_names_must_be_visible_plain_toml_names() {
    for bad in [
        "",
        ".toml",
        ".app.toml",
        "app",
        "app.toml.bak",
        "../app.toml",
        "sub/app.toml",
        "a\nb.toml",
        &format!("{}.toml", "x".repeat(200)),
    ] {
        let err = store::check_file_name(bad).unwrap_err();
        assert!(matches!(err, StoreError::BadFileName { .. }), "{bad:?}");
        let dir = tempfile::tempdir().unwrap();
        assert!(store::create(dir.path(), bad, TEXT).is_err(), "{bad:?}");
        assert!(entries(dir.path()).is_empty(), "{bad:?}");
    }
    for good in ["app.toml", "org.gnome.App.toml", "a b.toml", "ünï.toml"] {
        store::check_file_name(good).unwrap();
    }
}

#[test]
fn a_broken_file_is_fixed_by_replacing_it_and_only_if_unchanged() {
    let broken = "profile = '/usr/bin/app'\nmode = 'strict'\n";
    let (_dir, path) = dir_with("app.toml", broken);
    let fixed = "profile = '/usr/bin/app'\nmode = 'complain'\n";
    let err = store::replace(&path, "something else", fixed).unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), broken);
    let err = store::replace(&path, broken, "profile = 3\n").unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    store::replace(&path, broken, fixed).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), fixed);
    assert_eq!(
        entries(path.parent().unwrap()),
        ["app.toml"],
        "no temp file left"
    );
}

#[test]
fn a_profile_file_is_removed_only_if_unchanged() {
    let text = "profile = '/usr/bin/app'\n";
    let (_dir, path) = dir_with("app.toml", text);
    let err = store::remove(&path, "profile = '/usr/bin/other'\n").unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert!(path.exists());
    store::remove(&path, text).unwrap();
    assert!(!path.exists());
}
