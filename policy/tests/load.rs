//! Loading a policy directory: good files load whatever the bad ones do,
//! and the bad ones are named.

use std::{fs, path::Path};

use bpfbox_policy::{lint, load_dir, Rejected};

fn write(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

#[test]
fn one_bad_file_does_not_keep_the_good_ones_from_loading() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.toml",
        "profile = '/bin/a'\n[[fs]]\nfile = '/a'\naccess = 'read'\n",
    );
    write(
        dir.path(),
        "b.toml",
        "profile = '/bin/b'\n[[fs]]\nfile = '/b'\naccess = 'raed'\n",
    );
    write(dir.path(), "c.toml", "profile = '/bin/c'\n");
    write(dir.path(), "d.toml", "this is not toml");
    let report = load_dir(dir.path());
    let loaded: Vec<_> = report
        .profiles
        .iter()
        .map(|p| p.profile.display().to_string())
        .collect();
    assert_eq!(loaded, ["/bin/a", "/bin/c"]);
    assert_eq!(report.diagnostics.len(), 2);
    assert!(report.has_errors());
    assert_eq!(
        report.rejected,
        [
            Rejected {
                file: dir.path().join("b.toml"),
                exe: Some("/bin/b".into())
            },
            Rejected {
                file: dir.path().join("d.toml"),
                exe: None
            },
        ]
    );
    assert_eq!(
        report.profiles[0].source.as_deref(),
        Some(dir.path().join("a.toml").as_path())
    );
}

#[test]
fn only_visible_toml_files_are_profiles() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.toml", "profile = '/bin/a'\n");
    write(dir.path(), ".a.toml.swp", "junk");
    write(dir.path(), ".hidden.toml", "junk");
    write(dir.path(), "a.toml~", "junk");
    write(dir.path(), "README", "junk");
    fs::create_dir(dir.path().join("sub.toml")).unwrap();
    write(&dir.path().join("sub.toml"), "x.toml", "junk");
    let report = load_dir(dir.path());
    assert_eq!(report.profiles.len(), 1);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
}

#[test]
fn a_missing_directory_is_one_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let report = load_dir(&missing);
    assert!(report.profiles.is_empty());
    assert_eq!(
        report.diagnostics[0].to_string(),
        format!(
            "{}: error: cannot read the file: No such file or directory (os error 2)",
            missing.display()
        )
    );
}

#[test]
fn lint_takes_files_and_directories_and_finds_duplicates_across_them() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    write(dir.path(), "a.toml", "profile = '/bin/a'\n");
    write(other.path(), "again.conf", "profile = '/bin/a'\n");
    let diagnostics = lint(&[dir.path().to_owned(), other.path().join("again.conf")]);
    assert_eq!(diagnostics.len(), 1);
    assert!(diagnostics[0].to_string().contains("already defined in"));
    assert!(lint(&[dir.path().to_owned()]).is_empty());
}

#[test]
fn the_fuzzer_seeds_are_valid_profiles() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let report = load_dir(&seeds);
    // the full seed grants `sys_admin` and `any` on purpose: warned about
    assert!(
        report.diagnostics.iter().all(|d| !d.is_error()
            && matches!(d.problem, bpfbox_policy::Problem::EscapeCapability { .. })),
        "{:?}",
        report.diagnostics
    );
    assert_eq!(report.profiles.len(), 3);
}
