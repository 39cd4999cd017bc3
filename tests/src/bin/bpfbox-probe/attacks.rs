//! What a confined program that read bpfbox's code would try: other ways to
//! act on a process than kill and ptrace, terminal injection, paths outside
//! a mount's tree, core dumps. Each returns the system call's answer, so
//! the test sees EPERM from the kernel as a denial.

use std::{ffi::CString, io, os::unix::ffi::OsStrExt as _, path::Path};

fn cstr(s: &str) -> CString {
    CString::new(s).expect("no NUL in arguments")
}

fn check(rc: libc::c_long) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn pid(pid: &str) -> io::Result<libc::pid_t> {
    pid.parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid"))
}

/// prlimit(PID, RLIMIT_CPU, 1 s): a process past its CPU limit is killed.
pub fn prlimit(target: &str) -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: 1,
        rlim_max: 1,
    };
    // SAFETY: a valid rlimit; no old value asked for.
    check(
        unsafe { libc::prlimit(pid(target)?, libc::RLIMIT_CPU, &limit, std::ptr::null_mut()) }
            .into(),
    )
}

/// setpriority(PROCESS, PID, 19).
pub fn renice(target: &str) -> io::Result<()> {
    // SAFETY: plain integers.
    check(
        unsafe {
            libc::setpriority(
                libc::PRIO_PROCESS,
                u32::try_from(pid(target)?).unwrap_or(0),
                19,
            )
        }
        .into(),
    )
}

/// ioprio_set(PROCESS, PID, idle class).
pub fn ioprio(target: &str) -> io::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const IOPRIO_CLASS_IDLE: libc::c_long = 3;
    // SAFETY: plain integers.
    check(unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            libc::c_long::from(pid(target)?),
            IOPRIO_CLASS_IDLE << 13,
        )
    })
}

/// sched_setaffinity(PID, {CPU 0}).
pub fn setaffinity(target: &str) -> io::Result<()> {
    // SAFETY: a zeroed set with one CPU set, of the size passed.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        check(
            libc::sched_setaffinity(pid(target)?, std::mem::size_of::<libc::cpu_set_t>(), &set)
                .into(),
        )
    }
}

/// migrate_pages(PID, node 0 to node 0).
pub fn migrate_pages(target: &str) -> io::Result<()> {
    let nodes: libc::c_ulong = 1;
    // SAFETY: one-word node masks of 64 bits.
    check(unsafe {
        libc::syscall(
            libc::SYS_migrate_pages,
            libc::c_long::from(pid(target)?),
            64_u64,
            &nodes,
            &nodes,
        )
    })
}

/// A pipe whose owner (F_SETOWN) is PID, with SIGKILL as its signal
/// (F_SETSIG), made ready for reading: the kernel sends PID a SIGKILL
/// without task_kill. Fails if PID was not there to receive it afterwards.
pub fn sigio_kill(target: &str) -> io::Result<()> {
    /// fcntl's F_SETSIG (Linux; not in the libc crate)
    const F_SETSIG: libc::c_int = 10;
    let target = pid(target)?;
    let mut fds = [0; 2];
    // SAFETY: a two-int array for pipe; fcntl on the descriptors it made.
    unsafe {
        check(libc::pipe(fds.as_mut_ptr()).into())?;
        check(libc::fcntl(fds[0], libc::F_SETOWN, target).into())?;
        check(libc::fcntl(fds[0], F_SETSIG, libc::SIGKILL).into())?;
        let flags = libc::fcntl(fds[0], libc::F_GETFL);
        check(libc::fcntl(fds[0], libc::F_SETFL, flags | libc::O_ASYNC).into())?;
        check(libc::write(fds[1], b"x".as_ptr().cast(), 1) as libc::c_long)?;
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    // signal 0 only checks that PID exists (EPERM: it does, and we may
    // not signal it, as with bpfboxd)
    // SAFETY: plain integers.
    let gone = unsafe { libc::kill(target, 0) } != 0
        && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
    if gone {
        return Err(io::Error::other("the target is gone: SIGIO killed it"));
    }
    Ok(())
}

/// A new pseudo-terminal's other end, opened: (master, slave).
fn pty() -> io::Result<(libc::c_int, libc::c_int)> {
    // SAFETY: the libc pty calls on the descriptor they return.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        check(master.into())?;
        check(libc::grantpt(master).into())?;
        check(libc::unlockpt(master).into())?;
        let name = libc::ptsname(master);
        if name.is_null() {
            return Err(io::Error::last_os_error());
        }
        let slave = libc::open(name, libc::O_RDWR | libc::O_NOCTTY);
        check(slave.into())?;
        Ok((master, slave))
    }
}

/// TIOCSTI on a terminal: one character typed as if by its user.
pub fn tiocsti() -> io::Result<()> {
    let (master, slave) = pty()?;
    let c: libc::c_char = b'x' as libc::c_char;
    // SAFETY: TIOCSTI reads one char from the pointer.
    let rc = unsafe { libc::ioctl(slave, libc::TIOCSTI, &c) };
    let result = check(rc.into());
    // SAFETY: descriptors made above.
    unsafe {
        libc::close(slave);
        libc::close(master);
    }
    result
}

/// TIOCGWINSZ on a terminal: an ordinary ioctl, for comparison.
pub fn tiocgwinsz() -> io::Result<()> {
    let (master, slave) = pty()?;
    // SAFETY: a zeroed winsize for the kernel to fill.
    let rc = unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        libc::ioctl(slave, libc::TIOCGWINSZ, &mut size)
    };
    let result = check(rc.into());
    // SAFETY: descriptors made above.
    unsafe {
        libc::close(slave);
        libc::close(master);
    }
    result
}

/// truncate(2) by path: the kernel's inode_setattr, without a mount.
pub fn truncate_path(path: &str) -> io::Result<()> {
    let p = cstr(path);
    // SAFETY: a valid C string.
    check(unsafe { libc::truncate(p.as_ptr(), 0) }.into())
}

/// The handle of PATH (name_to_handle_at), opened for reading through a
/// descriptor of MOUNT_DIR (open_by_handle_at): the file opened on that
/// mount, wherever it lies in its file system.
pub fn handle_open(mount_dir: &str, path: &str) -> io::Result<()> {
    #[repr(C)]
    struct Handle {
        bytes: u32,
        kind: i32,
        data: [u8; 128],
    }
    let mut handle = Handle {
        bytes: 128,
        kind: 0,
        data: [0; 128],
    };
    let mut mount_id: libc::c_int = 0;
    let p = cstr(path);
    let dir = cstr(mount_dir);
    // SAFETY: the handle buffer has `bytes` bytes of room; descriptors are
    // checked and closed.
    unsafe {
        check(libc::syscall(
            libc::SYS_name_to_handle_at,
            libc::AT_FDCWD,
            p.as_ptr(),
            &mut handle,
            &mut mount_id,
            0,
        ))?;
        // not O_PATH: open_by_handle_at refuses such a descriptor (EBADF)
        let mount_fd = libc::open(dir.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
        check(mount_fd.into())?;
        let fd = libc::syscall(
            libc::SYS_open_by_handle_at,
            libc::c_long::from(mount_fd),
            &mut handle,
            libc::c_long::from(libc::O_RDONLY),
        );
        libc::close(mount_fd);
        check(fd)?;
        libc::close(fd as libc::c_int);
    }
    Ok(())
}

/// Makes a core dump in DIR: no core size limit, DIR as the working
/// directory, then SIGSEGV. Never returns unless setting up failed.
pub fn dump_core(dir: &str) -> io::Result<()> {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a valid rlimit for this process.
    check(unsafe { libc::setrlimit(libc::RLIMIT_CORE, &unlimited) }.into())?;
    // SAFETY: prctl with plain integers: a process that exec'd a file it
    // may not read is not dumpable by default
    check(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) }.into())?;
    std::env::set_current_dir(Path::new(std::ffi::OsStr::from_bytes(dir.as_bytes())))?;
    // SAFETY: the default action back (Rust's runtime handles SIGSEGV to
    // spot stack overflows), then the signal on ourselves.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        libc::raise(libc::SIGSEGV);
    }
    Err(io::Error::other("still alive after SIGSEGV"))
}

/// Reads from descriptor FD, which the process did not open (inherited).
pub fn read_fd(fd: &str) -> io::Result<()> {
    let fd: libc::c_int = fd
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "fd"))?;
    let mut buf = [0u8; 64];
    // SAFETY: a buffer of the length passed.
    check(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } as libc::c_long)
}

/// sendfile from descriptor FD (inherited) into a new pipe.
pub fn sendfile_fd(fd: &str) -> io::Result<()> {
    let fd: libc::c_int = fd
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "fd"))?;
    let mut pipe = [0; 2];
    // SAFETY: a two-int array for pipe; sendfile between descriptors.
    unsafe {
        check(libc::pipe(pipe.as_mut_ptr()).into())?;
        let sent = libc::sendfile(pipe[1], fd, std::ptr::null_mut(), 64);
        libc::close(pipe[0]);
        libc::close(pipe[1]);
        check(sent as libc::c_long)
    }
}

/// Connects to the unix socket PATH, receives one descriptor over
/// SCM_RIGHTS and reads from it.
pub fn recv_fd(path: &str) -> io::Result<()> {
    use std::os::unix::{io::AsRawFd as _, net::UnixStream};
    let stream = UnixStream::connect(path)?;
    let mut data = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // room for one descriptor
    let mut control = [0u8; 64];
    // SAFETY: a zeroed msghdr pointing at buffers that outlive the call;
    // the control message is read within the length the kernel returned.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = control.len();
        check(libc::recvmsg(stream.as_raw_fd(), &mut msg, 0) as libc::c_long)?;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() || (*cmsg).cmsg_type != libc::SCM_RIGHTS {
            // the kernel dropped the descriptor (file_receive refused it)
            return Err(io::Error::from_raw_os_error(libc::EPERM));
        }
        let fd = *(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
        let mut buf = [0u8; 64];
        let read = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
        libc::close(fd);
        check(read as libc::c_long)
    }
}

/// mount --bind SRC DST.
pub fn bind_mount(src: &str, dst: &str) -> io::Result<()> {
    let (src, dst) = (cstr(src), cstr(dst));
    // SAFETY: valid C strings; no data.
    check(
        unsafe {
            libc::mount(
                src.as_ptr(),
                dst.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        }
        .into(),
    )
}

/// umount DIR.
pub fn umount(dir: &str) -> io::Result<()> {
    let dir = cstr(dir);
    // SAFETY: a valid C string.
    check(unsafe { libc::umount(dir.as_ptr()) }.into())
}
