//! The escapes an attacker who read bpfbox's code tried, closed, on a real
//! kernel: bpfboxd's places and process out of reach whatever a profile
//! says, terminal input, paths outside a mount's tree, core dumps,
//! io_uring's threads and personalities, and the exec intent of a script.
//! Each table row is one attempt and the verdict it must get; the rows
//! marked "control" show the same operation allowed where it harms nothing,
//! so a row cannot pass by everything failing.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use bpfbox_tests::{bin_dir, run, Daemon, Sandbox, RUNTIME_RULES};

const DENIED: i32 = 1;

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Denied,
}

/// Runs each row (`what`, probe arguments, expected) and prints the table;
/// fails listing every row that did not get its verdict.
fn check_table(title: &str, probe: &Path, rows: &[(&str, Vec<String>, Expect)]) {
    println!("\n{title}\n| attempt | expected | outcome |\n|---|---|---|");
    let mut wrong = Vec::new();
    for (what, args, expected) in rows {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(probe, &args);
        let got = match out.code {
            0 => Some(Expect::Allowed),
            DENIED => Some(Expect::Denied),
            _ => None,
        };
        println!(
            "| {what} | {expected:?} | {} |",
            got.map_or_else(
                || format!("error ({})", out.stdout.trim()),
                |g| format!("{g:?}")
            )
        );
        if got != Some(*expected) {
            wrong.push(format!("{what}: {:?}", out.stdout.trim()));
        }
    }
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}

/// A profile that allows everything a rule can: `whatever its profile says`.
fn everything(probe: &Path) -> String {
    format!(
        "profile = \"{}\"\ntaint_on_exec = true\nio_uring = true\n\
         [[fs]]\nfile = \"/**\"\naccess = \"any\"\n\
         [[capability]]\ncapability = \"any\"\n\
         [[net]]\nfamily = \"any\"\noperation = \"any\"\n\
         [[signal]]\ntarget = \"any\"\nsignal = \"any\"\n\
         [[ptrace]]\ntarget = \"any\"\n",
        probe.display()
    )
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

#[test]
fn bpfboxds_places_cannot_be_moved_replaced_or_changed_whatever_the_profile() {
    let sandbox = Sandbox::new("esc-places");
    let probe = sandbox.probe("probe");
    sandbox.profile("probe.toml", &everything(&probe));
    let daemon = Daemon::start(&sandbox.policy_dir());
    let policy = sandbox.policy_dir();
    let file = policy.join("probe.toml");
    let parent = sandbox.path();
    let moved = parent.with_extension("moved");
    let pins = PathBuf::from("/sys/fs/bpf/bpfbox").join(format!("v{}", bpfbox_abi::ABI_VERSION));
    let pin = pins.join("links/file_open");
    let exe = bin_dir().join("bpfboxd");
    let rows = vec![
        (
            "rename the policy directory's parent away",
            args(&["rename", s(parent), s(&moved)]),
            Expect::Denied,
        ),
        (
            "chmod the policy directory's parent",
            args(&["chmod", s(parent), "777"]),
            Expect::Denied,
        ),
        (
            "rmdir the policy directory",
            args(&["rmdir", s(&policy)]),
            Expect::Denied,
        ),
        (
            "truncate(2) a profile (no mount in the hook)",
            args(&["truncate-path", s(&file)]),
            Expect::Denied,
        ),
        (
            "setxattr on a profile",
            args(&["setxattr", s(&file)]),
            Expect::Denied,
        ),
        (
            "unlink a pin of bpfboxd's programs",
            args(&["unlink", s(&pin)]),
            Expect::Denied,
        ),
        (
            "rename a pin of bpfboxd's programs",
            args(&["rename", s(&pin), s(&pins.join("links/x"))]),
            Expect::Denied,
        ),
        (
            "hard-link a pin elsewhere in bpffs",
            args(&["link", s(&pin), "/sys/fs/bpf/bpfbox-pin-copy"]),
            Expect::Denied,
        ),
        (
            "rename the directory of bpfboxd's binary away",
            args(&[
                "rename",
                s(exe.parent().unwrap()),
                s(&exe.parent().unwrap().with_extension("moved")),
            ]),
            Expect::Denied,
        ),
        (
            "chmod bpfboxd's binary",
            args(&["chmod", s(&exe), "777"]),
            Expect::Denied,
        ),
        (
            "control: create a file beside the policy directory",
            args(&["create", s(&parent.join("beside"))]),
            Expect::Allowed,
        ),
    ];
    check_table("bpfboxd's places", &probe, &rows);
    assert!(
        daemon.log().iter().all(|l| !l.contains("reload failed")),
        "{:#?}",
        daemon.log()
    );
}

fn sleeper() -> Child {
    Command::new("sleep")
        .arg("60")
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn bpfboxds_process_cannot_be_limited_reniced_or_signalled_by_sigio() {
    let sandbox = Sandbox::new("esc-process");
    let probe = sandbox.probe("probe");
    sandbox.profile("probe.toml", &everything(&probe));
    let daemon = Daemon::start(&sandbox.policy_dir());
    let pid = daemon.pid().to_string();
    let mut other = sleeper();
    let other_pid = other.id().to_string();
    let mut rows = Vec::new();
    for (op, what) in [
        ("prlimit", "set RLIMIT_CPU on"),
        ("renice", "renice"),
        ("ioprio", "set the I/O priority of"),
        ("setaffinity", "set the CPU affinity of"),
        ("migrate-pages", "migrate the pages of"),
    ] {
        rows.push((format!("{what} bpfboxd"), args(&[op, &pid]), Expect::Denied));
        rows.push((
            format!("control: {what} another process"),
            args(&[op, &other_pid]),
            Expect::Allowed,
        ));
    }
    rows.push((
        "SIGKILL bpfboxd through a descriptor's owner (F_SETOWN, F_SETSIG)".into(),
        args(&["sigio-kill", &pid]),
        Expect::Allowed, // the probe sees the daemon alive afterwards
    ));
    let rows: Vec<(&str, Vec<String>, Expect)> = rows
        .iter()
        .map(|(w, a, e)| (w.as_str(), a.clone(), *e))
        .collect();
    check_table("bpfboxd's process", &probe, &rows);
    // SIGIO reaches anyone else: the same attack kills the other process
    let _ = run(&probe, &["sigio-kill", &other_pid]);
    let status = other.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL),
        "control: SIGIO killed the other process"
    );
    // the daemon still serves
    assert!(daemon.log().iter().all(|l| !l.contains("SIGTERM")));
    assert_eq!(
        // SAFETY: signal 0 to our own child only checks that it exists
        unsafe { libc::kill(daemon.pid() as i32, 0) },
        0,
        "bpfboxd is alive"
    );
}

#[test]
fn terminal_input_cannot_be_faked_whatever_the_ioctl_rules() {
    let sandbox = Sandbox::new("esc-tty");
    let probe = sandbox.probe("probe");
    sandbox.profile("probe.toml", &everything(&probe));
    // a 32-bit program comes through the compat ioctl path
    let compat = sandbox.path().join("tiocsti32");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("escapes/tiocsti32.c");
    let built = Command::new("gcc")
        .args([
            "-m32",
            "-ffreestanding",
            "-nostdlib",
            "-static",
            "-fno-pie",
            "-no-pie",
            "-O1",
        ])
        .arg(&source)
        .arg("-o")
        .arg(&compat)
        .status()
        .unwrap();
    assert!(built.success(), "gcc -m32 {}", source.display());
    let unconfined = Command::new(&compat).status().unwrap().code();
    sandbox.profile("compat.toml", &everything(&compat));
    let _daemon = Daemon::start(&sandbox.policy_dir());
    let confined = Command::new(&compat).status().unwrap().code();
    println!(
        "TIOCSTI from a 32-bit program: unconfined exit {unconfined:?}, confined exit {confined:?}"
    );
    assert_eq!(unconfined, Some(0), "control: unconfined, it types");
    assert_eq!(confined, Some(DENIED), "confined, through the compat path");
    check_table(
        "terminal input",
        &probe,
        &[
            (
                "TIOCSTI: type into a terminal",
                args(&["tiocsti"]),
                Expect::Denied,
            ),
            (
                "control: TIOCGWINSZ on the same terminal",
                args(&["tiocgwinsz"]),
                Expect::Allowed,
            ),
        ],
    );
}

/// A tmpfs with `allowed/file` and `secret-dir/secret`, and `allowed`
/// bind-mounted at `mnt`: unmounted on drop.
struct BindMount {
    tmpfs: PathBuf,
    mnt: PathBuf,
}

impl BindMount {
    fn new(sandbox: &Sandbox) -> Self {
        let tmpfs = sandbox.path().join("t");
        let mnt = sandbox.path().join("mnt");
        fs::create_dir_all(&tmpfs).unwrap();
        fs::create_dir_all(&mnt).unwrap();
        let mount = |args: &[&str]| {
            let status = Command::new("mount").args(args).status().unwrap();
            assert!(status.success(), "mount {args:?}");
        };
        mount(&["-t", "tmpfs", "tmpfs", s(&tmpfs)]);
        fs::create_dir_all(tmpfs.join("allowed")).unwrap();
        fs::create_dir_all(tmpfs.join("secret-dir")).unwrap();
        fs::write(tmpfs.join("allowed/file"), "ok\n").unwrap();
        fs::write(tmpfs.join("secret-dir/secret"), "hunter2\n").unwrap();
        mount(&["--bind", s(&tmpfs.join("allowed")), s(&mnt)]);
        Self { tmpfs, mnt }
    }
}

impl Drop for BindMount {
    fn drop(&mut self) {
        for dir in [&self.mnt, &self.tmpfs] {
            let _ = Command::new("umount").arg(dir).status();
        }
    }
}

#[test]
fn a_file_outside_a_bind_mounts_tree_is_judged_where_it_is() {
    let sandbox = Sandbox::new("esc-handle");
    let probe = sandbox.probe("probe");
    let bind = BindMount::new(&sandbox);
    sandbox.profile(
        "probe.toml",
        &format!(
            "profile = \"{}\"\ntaint_on_exec = true\n{RUNTIME_RULES}\n\
             [[fs]]\nfile = \"{}/**\"\naccess = [\"read\", \"getattr\"]\n\
             [[capability]]\ncapability = \"dac_read_search\"\n",
            probe.display(),
            bind.mnt.display()
        ),
    );
    let _daemon = Daemon::start(&sandbox.policy_dir());
    check_table(
        "open_by_handle_at through a bind mount",
        &probe,
        &[
            (
                "a file outside the bind mount's tree, through its descriptor",
                args(&[
                    "handle-open",
                    s(&bind.mnt),
                    s(&bind.tmpfs.join("secret-dir/secret")),
                ]),
                Expect::Denied,
            ),
            (
                "control: a file inside it, the same way",
                args(&[
                    "handle-open",
                    s(&bind.mnt),
                    s(&bind.tmpfs.join("allowed/file")),
                ]),
                Expect::Allowed,
            ),
        ],
    );
}

#[test]
fn a_core_dump_is_written_only_where_the_profile_may_write() {
    let sandbox = Sandbox::new("esc-core");
    let probe = sandbox.probe("probe");
    let closed = sandbox.path().join("closed");
    let open = sandbox.path().join("open");
    fs::create_dir_all(&closed).unwrap();
    fs::create_dir_all(&open).unwrap();
    sandbox.profile(
        "probe.toml",
        &format!(
            "profile = \"{}\"\ntaint_on_exec = true\n{RUNTIME_RULES}\n\
             [[fs]]\nfile = [\"{}\", \"{}/**\"]\n\
             access = [\"read\", \"write\", \"getattr\", \"setattr\", \"rm\"]\n\
             [[fs]]\nfile = \"{}\"\naccess = [\"read\", \"getattr\"]\n\
             [[signal]]\ntarget = \"self\"\nsignal = \"misc\"\n",
            probe.display(),
            open.display(),
            open.display(),
            closed.display()
        ),
    );
    let _daemon = Daemon::start(&sandbox.policy_dir());
    // the kernel writes the core to "core" in the working directory
    let pattern = fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    fs::write("/proc/sys/kernel/core_pattern", "core").unwrap();
    let dumped = |dir: &Path| {
        let out = run(&probe, &["dump-core", s(dir)]);
        println!("dump-core {}: {out:?}", dir.display());
        fs::read_dir(dir).unwrap().count()
    };
    let in_closed = dumped(&closed);
    let in_open = dumped(&open);
    fs::write("/proc/sys/kernel/core_pattern", pattern).unwrap();
    println!("core files: {in_closed} where the profile may not write, {in_open} where it may");
    assert_eq!(in_closed, 0, "a core where the profile may not write");
    assert_eq!(in_open, 1, "control: a core where it may");
}

#[test]
fn io_uring_needs_the_profile_and_its_threads_act_with_the_least_access() {
    let sandbox = Sandbox::new("esc-uring");
    let probe = sandbox.probe("probe");
    let notes = sandbox.file("notes", "n\n");
    let trigger = sandbox.file("trigger", "t\n");
    // untainted until it reads `trigger`: any file may be read directly
    let profile = |io_uring: bool| {
        format!(
            "profile = \"{}\"\nio_uring = {io_uring}\n\
             [[fs]]\nfile = \"{}\"\naccess = \"read\"\naction = \"taint\"\n",
            probe.display(),
            trigger.display()
        )
    };
    sandbox.profile("probe.toml", &profile(false));
    let daemon = Daemon::start(&sandbox.policy_dir());
    check_table(
        "io_uring without `io_uring = true`",
        &probe,
        &[
            (
                "control: open directly, untainted",
                args(&["open", s(&notes), "read"]),
                Expect::Allowed,
            ),
            (
                "make a ring",
                args(&["uring-open", s(&notes)]),
                Expect::Denied,
            ),
        ],
    );
    sandbox.save_profile("probe.toml", &profile(true));
    daemon.wait_log(2, |l| l.contains("policy applied"));
    check_table(
        "io_uring with `io_uring = true`, untainted",
        &probe,
        &[
            (
                "control: open through a ring, in the task",
                args(&["uring-open", s(&notes)]),
                Expect::Allowed,
            ),
            (
                "open on an io-wq worker (acts tainted: no rule)",
                args(&["uring-open-worker", s(&notes)]),
                Expect::Denied,
            ),
            (
                "open by the SQPOLL thread (acts tainted: no rule)",
                args(&["uring-open-sqpoll", s(&notes)]),
                Expect::Denied,
            ),
            (
                "open under a registered personality",
                args(&["uring-open-personality", s(&notes)]),
                Expect::Denied,
            ),
        ],
    );
}

#[test]
fn a_script_runs_only_where_the_profile_allows_exec() {
    let sandbox = Sandbox::new("esc-script");
    let probe = sandbox.probe("probe");
    let dir = sandbox.path().join("bin");
    fs::create_dir_all(&dir).unwrap();
    let script = dir.join("script");
    fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let elf = dir.join("true");
    fs::copy("/usr/bin/true", &elf).unwrap();
    let profile = |access: &str| {
        format!(
            "profile = \"{}\"\ntaint_on_exec = true\n{RUNTIME_RULES}\n\
             [[fs]]\nfile = \"{}/**\"\naccess = {access}\n",
            probe.display(),
            dir.display()
        )
    };
    sandbox.profile("probe.toml", &profile("[\"read\", \"getattr\"]"));
    let daemon = Daemon::start(&sandbox.policy_dir());
    let exec = |file: &Path| run(&probe, &["exec", s(file)]).code;
    let (script_read_only, elf_read_only) = (exec(&script), exec(&elf));
    sandbox.save_profile("probe.toml", &profile("[\"read\", \"getattr\", \"exec\"]"));
    daemon.wait_log(2, |l| l.contains("policy applied"));
    let (script_exec, elf_exec) = (exec(&script), exec(&elf));
    println!(
        "| where the profile allows | script | ELF |\n|---|---|---|\n\
         | read | {script_read_only} | {elf_read_only} |\n| read, exec | {script_exec} | {elf_exec} |"
    );
    assert_eq!(
        (script_read_only, elf_read_only),
        (DENIED, DENIED),
        "read only"
    );
    assert_eq!((script_exec, elf_exec), (0, 0), "control: with exec");
}

/// Runs `probe ARGS` with `file` open as its descriptor 3: opened by this
/// unconfined test and inherited across the exec that confines the probe.
fn run_with_inherited(probe: &Path, file: &Path, words: &[&str]) -> i32 {
    use std::os::unix::{io::AsRawFd as _, process::CommandExt as _};
    let open = fs::File::open(file).unwrap();
    let raw = open.as_raw_fd();
    let mut command = Command::new(probe);
    // a pipe for its output: writing to /dev/null would need a rule
    command.args(words).stdout(Stdio::piped());
    // SAFETY: dup2 is async-signal-safe; nothing else runs in the child.
    unsafe {
        command.pre_exec(move || {
            if libc::dup2(raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.output().unwrap().status.code().unwrap_or(-1)
}

/// Serves one connection on a new unix socket in `dir`, sending `file`'s
/// descriptor over SCM_RIGHTS, from this unconfined test.
fn fd_server(dir: &Path, name: &str, file: &Path) -> (PathBuf, std::thread::JoinHandle<()>) {
    use std::os::unix::{io::AsRawFd as _, net::UnixListener};
    let socket = dir.join(name);
    let listener = UnixListener::bind(&socket).unwrap();
    let file = file.to_path_buf();
    let thread = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let open = fs::File::open(&file).unwrap();
        let fd: libc::c_int = open.as_raw_fd();
        let mut data = [b'x'];
        let mut iov = libc::iovec {
            iov_base: data.as_mut_ptr().cast(),
            iov_len: 1,
        };
        let mut control = [0u8; 64];
        // SAFETY: a zeroed msghdr with one SCM_RIGHTS message in a buffer
        // large enough for it, all alive for the call.
        unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(4) as usize;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(4) as usize;
            *(libc::CMSG_DATA(cmsg).cast::<libc::c_int>()) = fd;
            libc::sendmsg(stream.as_raw_fd(), &msg, 0);
        }
        // until the probe has read it, or gone
        let _ = std::io::Read::read(&mut &stream, &mut [0u8; 1]);
    });
    (socket, thread)
}

#[test]
fn a_descriptor_from_outside_is_judged_like_an_open() {
    let sandbox = Sandbox::new("esc-fds");
    let probe = sandbox.probe("probe");
    let notes = sandbox.file("notes", "meeting at noon\n");
    let secret = sandbox.file("secret", "hunter2\n");
    sandbox.profile(
        "probe.toml",
        &format!(
            "profile = \"{}\"\ntaint_on_exec = true\n{RUNTIME_RULES}\n\
             [[fs]]\nfile = \"{}\"\naccess = \"read\"\n\
             [[net]]\nfamily = \"unix\"\noperation = \"any\"\n",
            probe.display(),
            notes.display()
        ),
    );
    let _daemon = Daemon::start(&sandbox.policy_dir());
    let mut rows = Vec::new();
    for (what, file, expected) in [
        ("the secret", &secret, DENIED),
        ("control: the notes", &notes, 0),
    ] {
        for op in ["read-fd", "sendfile-fd"] {
            let got = run_with_inherited(&probe, file, &[op, "3"]);
            rows.push((
                format!("{op} of {what}, inherited across the confining exec"),
                got,
                expected,
            ));
        }
        let (socket, server) = fd_server(sandbox.path(), &format!("sock-{expected}"), file);
        let got = run(&probe, &["recv-fd", s(&socket)]).code;
        let _ = server.join();
        rows.push((
            format!("{what}, received over SCM_RIGHTS and read"),
            got,
            expected,
        ));
    }
    println!("\ndescriptors from outside\n| attempt | expected | outcome |\n|---|---|---|");
    for (what, got, expected) in &rows {
        println!("| {what} | {expected} | {got} |");
    }
    for (what, got, expected) in rows {
        assert_eq!(got, expected, "{what}");
    }
}

#[test]
fn mounts_need_the_profile_and_bpffs_stays_mounted() {
    let sandbox = Sandbox::new("esc-mount");
    let probe = sandbox.probe("probe");
    let secret = sandbox.file("secret", "hunter2\n");
    let allowed = sandbox.path().join("allowed");
    fs::create_dir_all(&allowed).unwrap();
    let target = allowed.join("x");
    fs::write(&target, "").unwrap();
    sandbox.profile("probe.toml", &everything(&probe));
    let daemon = Daemon::start(&sandbox.policy_dir());
    check_table(
        "mounts without `mount = true` (a profile that allows everything else)",
        &probe,
        &[
            (
                "bind-mount the secret over an allowed file",
                args(&["bind-mount", s(&secret), s(&target)]),
                Expect::Denied,
            ),
            (
                "unmount bpffs",
                args(&["umount", "/sys/fs/bpf"]),
                Expect::Denied,
            ),
        ],
    );
    sandbox.save_profile(
        "probe.toml",
        &everything(&probe).replace("io_uring = true\n", "io_uring = true\nmount = true\n"),
    );
    daemon.wait_log(2, |l| l.contains("policy applied"));
    check_table(
        "mounts with `mount = true`",
        &probe,
        &[(
            "control: bind-mount, then unmount",
            args(&[
                "bind-mount",
                s(&secret),
                s(&target),
                "+",
                "umount",
                s(&target),
            ]),
            Expect::Allowed,
        )],
    );
}

#[test]
fn running_a_profiled_program_through_the_loader_confines_it() {
    let sandbox = Sandbox::new("esc-ldso");
    let probe = sandbox.probe("probe");
    let notes = sandbox.file("notes", "n\n");
    let secret = sandbox.file("secret", "hunter2\n");
    sandbox.profile(
        "probe.toml",
        &format!(
            "profile = \"{}\"\ntaint_on_exec = true\n{RUNTIME_RULES}\n\
             [[fs]]\nfile = \"{}\"\naccess = \"read\"\n",
            probe.display(),
            notes.display()
        ),
    );
    let _daemon = Daemon::start(&sandbox.policy_dir());
    let loader = Path::new("/lib64/ld-linux-x86-64.so.2");
    check_table(
        "the dynamic loader",
        loader,
        &[
            (
                "the profiled program through the loader reads the secret",
                args(&[s(&probe), "open", s(&secret), "read"]),
                Expect::Denied,
            ),
            (
                "control: ... and its notes",
                args(&[s(&probe), "open", s(&notes), "read"]),
                Expect::Allowed,
            ),
            (
                "control: an unprofiled copy through the loader reads the secret",
                args(&[
                    s(&bin_dir().join("bpfbox-probe")),
                    "open",
                    s(&secret),
                    "read",
                ]),
                Expect::Allowed,
            ),
        ],
    );
}
