//! The subject of the enforcement tests: performs operations and reports the
//! outcome in its exit status, so a test can tell a kernel denial from any
//! other failure.
//!
//! Exit status: 0 done, 1 denied (EPERM or EACCES), 2 other error, 3 usage.
//! The first line on stdout is always `pid=<pid>`; each operation then prints
//! `ok`, `denied: …` or `error: …`.
//!
//! Several operations can be chained with `+`; the first one that fails
//! decides the exit status (`probe open a read + open b read`).
//!
//! ```text
//! open PATH read|write|append|rdwr      create PATH        stat PATH
//! mkdir PATH     rmdir PATH     unlink PATH     symlink TARGET PATH
//! link OLD NEW   rename OLD NEW   chmod PATH OCTAL   truncate PATH
//! setxattr PATH  getxattr PATH
//! kill PID|self SIGNAL(number)     ptrace PID         bpf
//! socket unix|inet|inet6 stream|dgram     socketpair
//! tcp-connect PORT (127.0.0.1)    unix-connect PATH   tcp-listen PORT
//! fd-reopen PATH (open O_PATH, then reopen via /proc/self/fd)
//! uring-open PATH (openat through io_uring; -worker: on an io-wq worker,
//!   -sqpoll: by the SQPOLL thread, -personality: under a registered one)
//! fork-open PATH MODE (a forked child opens)
//! thread-taint TAINT_FILE SECRET (a thread taints itself; see below)
//! exec PROGRAM [ARGS…] (replace this process; must be last)
//! sleep SECONDS
//! wait-line (until a line arrives on stdin: the test's go-ahead)
//! prlimit PID   renice PID   ioprio PID   setaffinity PID   migrate-pages PID
//! sigio-kill PID (SIGKILL through a descriptor's owner; fails if PID died)
//! tiocsti   tiocgwinsz (on a new pseudo-terminal)
//! truncate-path PATH (truncate(2))   handle-open MOUNT_DIR PATH
//! dump-core DIR (a core dump in DIR)
//! read-fd FD   sendfile-fd FD (a descriptor it did not open)
//! recv-fd SOCKET (one descriptor over SCM_RIGHTS, then read)
//! bind-mount SRC DST   umount DIR
//! ```

#[path = "bpfbox-probe/attacks.rs"]
mod attacks;

use std::{
    ffi::CString,
    fs::{self, OpenOptions},
    io,
    net::{TcpListener, TcpStream},
    os::unix::{ffi::OsStrExt, fs::PermissionsExt, net::UnixStream},
    path::Path,
    process::ExitCode,
};

const DENIED: u8 = 1;
const FAILED: u8 = 2;
const USAGE: u8 = 3;

fn main() -> ExitCode {
    println!("pid={}", std::process::id());
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprintln!("usage: bpfbox-probe OPERATION [ARGS…] [+ OPERATION [ARGS…]]…");
        return ExitCode::from(USAGE);
    }
    for op in args.split(|a| a == "+") {
        let op: Vec<&str> = op.iter().map(String::as_str).collect();
        let code = run(&op);
        if code != 0 {
            return ExitCode::from(code);
        }
    }
    ExitCode::SUCCESS
}

fn run(op: &[&str]) -> u8 {
    match op {
        ["open", path, mode] => report(open(path, mode)),
        ["create", path] => report(
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map(drop),
        ),
        ["stat", path] => report(fs::metadata(path).map(drop)),
        ["mkdir", path] => report(fs::create_dir(path)),
        ["rmdir", path] => report(fs::remove_dir(path)),
        ["unlink", path] => report(fs::remove_file(path)),
        ["symlink", target, path] => report(std::os::unix::fs::symlink(target, path)),
        ["link", old, new] => report(fs::hard_link(old, new)),
        ["rename", old, new] => report(fs::rename(old, new)),
        ["chmod", path, mode] => report(
            u32::from_str_radix(mode, 8)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "mode"))
                .and_then(|m| fs::set_permissions(path, fs::Permissions::from_mode(m))),
        ),
        ["truncate", path] => report(
            OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|f| f.set_len(0)),
        ),
        ["setxattr", path] => report(setxattr(path)),
        ["getxattr", path] => report(getxattr(path)),
        ["kill", "self", sig] => report(kill(&std::process::id().to_string(), sig)),
        ["kill", pid, sig] => report(kill(pid, sig)),
        ["ptrace", pid] => report(ptrace(pid)),
        ["bpf"] => report(bpf()),
        ["socket", family, kind] => report(socket(family, kind)),
        ["socketpair"] => report(UnixStream::pair().map(drop)),
        ["tcp-connect", port] => {
            report(TcpStream::connect(("127.0.0.1", port.parse().unwrap_or(0))).map(drop))
        }
        ["tcp-listen", port] => {
            report(TcpListener::bind(("127.0.0.1", port.parse().unwrap_or(0))).map(drop))
        }
        ["unix-connect", path] => report(UnixStream::connect(path).map(drop)),
        ["fd-reopen", path] => report(fd_reopen(path)),
        ["uring-open", path] => report(uring_open(path, Uring::Plain)),
        ["uring-open-worker", path] => report(uring_open(path, Uring::Worker)),
        ["uring-open-sqpoll", path] => report(uring_open(path, Uring::Sqpoll)),
        ["uring-open-personality", path] => report(uring_open(path, Uring::Personality)),
        ["flood", count, path] => flood(count.parse().unwrap_or(0), path),
        ["churn", count, dir] => report(churn(count.parse().unwrap_or(0), dir)),
        ["open-renamed", old, new] => open_renamed(old, new),
        ["fork-open", path, mode] => fork_and(|| report(open(path, mode))),
        ["thread-taint", taint, secret] => thread_taint(taint, secret),
        ["exec", program, rest @ ..] => report(exec(program, rest)),
        ["wait-line"] => report(io::stdin().read_line(&mut String::new()).map(drop)),
        ["prlimit", pid] => report(attacks::prlimit(pid)),
        ["renice", pid] => report(attacks::renice(pid)),
        ["ioprio", pid] => report(attacks::ioprio(pid)),
        ["setaffinity", pid] => report(attacks::setaffinity(pid)),
        ["migrate-pages", pid] => report(attacks::migrate_pages(pid)),
        ["sigio-kill", pid] => report(attacks::sigio_kill(pid)),
        ["tiocsti"] => report(attacks::tiocsti()),
        ["tiocgwinsz"] => report(attacks::tiocgwinsz()),
        ["truncate-path", path] => report(attacks::truncate_path(path)),
        ["handle-open", dir, path] => report(attacks::handle_open(dir, path)),
        ["dump-core", dir] => report(attacks::dump_core(dir)),
        ["read-fd", fd] => report(attacks::read_fd(fd)),
        ["sendfile-fd", fd] => report(attacks::sendfile_fd(fd)),
        ["recv-fd", path] => report(attacks::recv_fd(path)),
        ["bind-mount", src, dst] => report(attacks::bind_mount(src, dst)),
        ["umount", dir] => report(attacks::umount(dir)),
        ["sleep", secs] => {
            std::thread::sleep(std::time::Duration::from_secs(secs.parse().unwrap_or(1)));
            0
        }
        _ => {
            eprintln!("bpfbox-probe: unknown operation {op:?}");
            USAGE
        }
    }
}

fn open(path: &str, mode: &str) -> io::Result<()> {
    let mut options = OpenOptions::new();
    match mode {
        "read" => options.read(true),
        "write" => options.write(true),
        "append" => options.append(true),
        "rdwr" => options.read(true).write(true),
        _ => return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad mode")),
    };
    options.open(Path::new(path)).map(drop)
}

fn cstr(s: &str) -> CString {
    CString::new(Path::new(s).as_os_str().as_bytes()).expect("argument without NUL")
}

fn check(rc: libc::c_long) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn setxattr(path: &str) -> io::Result<()> {
    let (p, name) = (cstr(path), c"user.bpfbox");
    // SAFETY: valid C strings and a 1-byte value buffer.
    check(unsafe { libc::setxattr(p.as_ptr(), name.as_ptr(), b"1".as_ptr().cast(), 1, 0) }.into())
}

fn getxattr(path: &str) -> io::Result<()> {
    let (p, name) = (cstr(path), c"user.bpfbox");
    let mut buf = [0u8; 16];
    // SAFETY: valid C strings and a buffer of the given size.
    let rc = unsafe {
        libc::getxattr(
            p.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    match check(rc as libc::c_long) {
        // no such attribute: the kernel let us ask, which is what we test
        Err(e) if e.raw_os_error() == Some(libc::ENODATA) => Ok(()),
        other => other,
    }
}

fn kill(pid: &str, sig: &str) -> io::Result<()> {
    let (Ok(pid), Ok(sig)) = (pid.parse::<i32>(), sig.parse::<i32>()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "pid and signal are numbers",
        ));
    };
    // SAFETY: plain syscall with integer arguments.
    check(unsafe { libc::kill(pid, sig) }.into())
}

fn ptrace(pid: &str) -> io::Result<()> {
    let pid: i32 = pid
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid"))?;
    // SAFETY: PTRACE_ATTACH/DETACH with integer arguments; on success we
    // wait for the stop and detach at once.
    unsafe {
        check(libc::ptrace(libc::PTRACE_ATTACH, pid, 0, 0))?;
        let mut status = 0;
        libc::waitpid(pid, &raw mut status, 0);
        libc::ptrace(libc::PTRACE_DETACH, pid, 0, 0);
    }
    Ok(())
}

fn bpf() -> io::Result<()> {
    // BPF_PROG_GET_NEXT_ID with a zeroed attribute: harmless, needs bpf(2)
    let mut attr = [0u8; 64];
    // SAFETY: bpf(2) with a zeroed attribute buffer of the given size.
    let rc = unsafe { libc::syscall(libc::SYS_bpf, 11, attr.as_mut_ptr(), attr.len()) };
    match check(rc) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        other => other,
    }
}

fn socket(family: &str, kind: &str) -> io::Result<()> {
    let family = match family {
        "unix" => libc::AF_UNIX,
        "inet" => libc::AF_INET,
        "inet6" => libc::AF_INET6,
        _ => return Err(io::Error::new(io::ErrorKind::InvalidInput, "family")),
    };
    let kind = if kind == "dgram" {
        libc::SOCK_DGRAM
    } else {
        libc::SOCK_STREAM
    };
    // SAFETY: plain syscalls; the fd is closed right away.
    let fd = unsafe { libc::socket(family, kind, 0) };
    check(fd.into())?;
    unsafe { libc::close(fd) };
    Ok(())
}

/// Re-opening an O_PATH descriptor through /proc/self/fd must be checked
/// like opening the file itself.
fn fd_reopen(path: &str) -> io::Result<()> {
    let p = cstr(path);
    // SAFETY: valid C string; O_PATH opens never read the file.
    let fd = unsafe { libc::open(p.as_ptr(), libc::O_PATH) };
    check(fd.into())?;
    let again = format!("/proc/self/fd/{fd}");
    let result = fs::File::open(again).map(drop);
    unsafe { libc::close(fd) };
    result
}

/// How an openat goes through io_uring.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Uring {
    /// As the kernel likes: inline in the task, else on an io-wq worker.
    Plain,
    /// Always on an io-wq worker (IOSQE_ASYNC).
    Worker,
    /// Submitted by the ring's SQPOLL thread.
    Sqpoll,
    /// Under a personality registered first (IORING_REGISTER_PERSONALITY).
    Personality,
}

/// openat through io_uring: a different code path to the same hook.
fn uring_open(path: &str, how: Uring) -> io::Result<()> {
    let p = cstr(path);
    let mut ring = if how == Uring::Sqpoll {
        io_uring::IoUring::builder().setup_sqpoll(1000).build(2)?
    } else {
        io_uring::IoUring::new(2)?
    };
    let mut open = io_uring::opcode::OpenAt::new(io_uring::types::Fd(libc::AT_FDCWD), p.as_ptr())
        .flags(libc::O_RDONLY)
        .build();
    match how {
        Uring::Worker => open = open.flags(io_uring::squeue::Flags::ASYNC),
        Uring::Personality => {
            let personality = ring.submitter().register_personality()?;
            open = open.personality(personality);
        }
        Uring::Plain | Uring::Sqpoll => {}
    }
    // SAFETY: the path outlives the submission, which we wait for.
    unsafe { ring.submission().push(&open) }.map_err(io::Error::other)?;
    ring.submit_and_wait(1)?;
    let cqe = ring
        .completion()
        .next()
        .ok_or_else(|| io::Error::other("no completion"))?;
    if cqe.result() < 0 {
        return Err(io::Error::from_raw_os_error(-cqe.result()));
    }
    unsafe { libc::close(cqe.result()) };
    Ok(())
}

/// Taint is per thread: a thread that reads TAINT_FILE is tainted and then
/// denied SECRET, while the main thread, untainted, may still read it.
/// Prints `thread: …` and `main: …`; exit 0 only if exactly that happened.
fn thread_taint(taint: &str, secret: &str) -> u8 {
    let (t, s) = (taint.to_string(), secret.to_string());
    let thread = std::thread::spawn(move || {
        print!("thread taint: ");
        let tainted = report(open(&t, "read"));
        print!("thread secret: ");
        let secret = report(open(&s, "read"));
        (tainted, secret)
    })
    .join()
    .expect("thread");
    print!("main secret: ");
    let main = report(open(secret, "read"));
    if thread == (0, DENIED) && main == 0 {
        0
    } else {
        FAILED
    }
}

fn exec(program: &str, args: &[&str]) -> io::Result<()> {
    let program = cstr(program);
    let mut argv: Vec<CString> = vec![program.clone()];
    argv.extend(args.iter().map(|a| cstr(a)));
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: NUL-terminated strings in a NULL-terminated array, alive here.
    unsafe { libc::execv(program.as_ptr(), ptrs.as_ptr()) };
    Err(io::Error::last_os_error())
}

/// Runs `child` in a forked child and returns the child's exit status.
fn fork_and(child: impl FnOnce() -> u8) -> u8 {
    // SAFETY: the child only runs `child` and exits.
    match unsafe { libc::fork() } {
        -1 => report(Err(io::Error::last_os_error())),
        0 => {
            println!("child pid={}", std::process::id());
            std::process::exit(i32::from(child()));
        }
        pid => {
            let mut status = 0;
            // SAFETY: waiting for our own child with a valid status pointer.
            unsafe { libc::waitpid(pid, &raw mut status, 0) };
            if libc::WIFEXITED(status) {
                u8::try_from(libc::WEXITSTATUS(status)).unwrap_or(FAILED)
            } else {
                FAILED
            }
        }
    }
}

/// Tries to open `path` for reading `count` times and prints how often the
/// kernel said EPERM: the source of a denial flood.
fn flood(count: u64, path: &str) -> u8 {
    let mut denied = 0u64;
    for _ in 0..count {
        match fs::File::open(path) {
            Err(err) if err.raw_os_error() == Some(libc::EPERM) => denied += 1,
            _ => {}
        }
    }
    println!("denied={denied}");
    if denied == count {
        DENIED
    } else {
        FAILED
    }
}

/// Creates and removes `count` files in `dir`, one after the other.
fn churn(count: u64, dir: &str) -> io::Result<()> {
    for i in 0..count {
        let path = Path::new(dir).join(format!("churn-{i}"));
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        fs::remove_file(&path)?;
    }
    Ok(())
}

/// Reads `old` (a decision the kernel may cache), waits until someone
/// renames it to `new`, then reports reading `new`.
fn open_renamed(old: &str, new: &str) -> u8 {
    if let Err(err) = fs::File::open(old) {
        eprintln!("bpfbox-probe: first open of {old}: {err}");
        return USAGE;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while Path::new(old).exists() {
        if std::time::Instant::now() > deadline {
            eprintln!("bpfbox-probe: {old} was not renamed");
            return USAGE;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    report(fs::File::open(new).map(drop))
}

fn report(result: io::Result<()>) -> u8 {
    match result {
        Ok(()) => {
            println!("ok");
            0
        }
        Err(err) if matches!(err.raw_os_error(), Some(libc::EPERM | libc::EACCES)) => {
            println!("denied: {err}");
            DENIED
        }
        Err(err) => {
            println!("error: {err}");
            FAILED
        }
    }
}
