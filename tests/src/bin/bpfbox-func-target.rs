//! The subject of the function-context tests: it reads files from inside
//! and outside probed functions and reports each read.
//!
//! Operations run in order in one process, so a test sees the same thread
//! enter and leave functions. Each prints one line `<op>=ok|denied|error: …`
//! (a read denied with EPERM/EACCES is `denied`); the exit status is 0 unless
//! the usage is wrong.
//!
//! ```text
//! read PATH        read outside any function
//! inside PATH      read inside check_login()
//! recurse N PATH   check_login_nested(N): the innermost of N+1 nested calls
//!                  returns, then the outermost reads
//! thread PATH      inside check_login(), a new thread reads
//! fork PATH        inside check_login(), a forked child reads
//! qsort PATH       read inside libc's qsort() (from the comparator)
//! fstat PATH       fstat(2) of an O_PATH descriptor (kernel __x64_sys_newfstat)
//! stat PATH        newfstatat(2) of the path
//! bench N          N calls of an empty probed function, then of an empty
//!                  unprobed one; prints ns per call of each
//! ```

use std::{
    ffi::CString,
    fs::File,
    io::{self, Read as _},
    os::unix::ffi::OsStrExt as _,
    path::Path,
    process::ExitCode,
    time::Instant,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut rest: &[String] = &args;
    while !rest.is_empty() {
        let used = match rest {
            [op, path, ..] if op == "read" => report(op, read(path)),
            [op, path, ..] if op == "inside" => report(op, check_login(path)),
            [op, n, path, ..] if op == "recurse" => {
                let n = n.parse().unwrap_or(1);
                report(op, check_login_nested(n, path));
                3
            }
            [op, path, ..] if op == "thread" => report(op, in_thread(path)),
            [op, path, ..] if op == "fork" => report(op, in_child(path)),
            [op, path, ..] if op == "qsort" => report(op, in_qsort(path)),
            [op, path, ..] if op == "fstat" => report(op, fstat(path)),
            [op, path, ..] if op == "stat" => report(op, stat(path)),
            [op, n, ..] if op == "bench" => {
                bench(n.parse().unwrap_or(1_000_000));
                2
            }
            _ => {
                eprintln!("usage: bpfbox-func-target OPERATION ARGS… [OPERATION ARGS…]…");
                return ExitCode::from(3);
            }
        };
        rest = &rest[used..];
    }
    ExitCode::SUCCESS
}

/// Prints one result line; returns how many arguments the operation took.
fn report(op: &str, result: io::Result<()>) -> usize {
    match result {
        Ok(()) => println!("{op}=ok"),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES)) => {
            println!("{op}=denied");
        }
        Err(e) => println!("{op}=error: {e}"),
    }
    2
}

fn read(path: &str) -> io::Result<()> {
    // open + read only: no stat, which a profile may not allow
    let mut buf = Vec::new();
    File::open(path)?.read_to_end(&mut buf).map(drop)
}

/// The function a `func = "check_login"` rule names.
#[no_mangle]
#[inline(never)]
pub fn check_login(path: &str) -> io::Result<()> {
    std::hint::black_box(read(path))
}

/// Recursion: only the outermost call reads, after every inner call has
/// returned (bpfbox's original clears the context at the first return).
#[no_mangle]
#[inline(never)]
pub fn check_login_nested(depth: u32, path: &str) -> io::Result<()> {
    if depth > 0 {
        std::hint::black_box(check_login_nested(depth - 1, "")).ok();
    }
    if path.is_empty() {
        return Ok(());
    }
    std::hint::black_box(read(path))
}

#[no_mangle]
#[inline(never)]
pub fn check_login_spawn(path: &str) -> io::Result<()> {
    let path = path.to_owned();
    std::thread::spawn(move || read(&path))
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("thread panicked")))
}

fn in_thread(path: &str) -> io::Result<()> {
    std::hint::black_box(check_login_spawn(path))
}

#[no_mangle]
#[inline(never)]
pub fn check_login_fork(path: &str) -> io::Result<()> {
    // SAFETY: the child only reads a file and exits; nothing else runs in
    // this process while it forks.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            let code = match read(path) {
                Ok(()) => 0,
                Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES)) => 1,
                Err(_) => 2,
            };
            // SAFETY: leave at once, without running the parent's exit work
            unsafe { libc::_exit(code) }
        }
        child => {
            let mut status = 0;
            // SAFETY: waits for our own child
            if unsafe { libc::waitpid(child, &mut status, 0) } < 0 {
                return Err(io::Error::last_os_error());
            }
            match libc::WEXITSTATUS(status) {
                0 => Ok(()),
                1 => Err(io::Error::from_raw_os_error(libc::EPERM)),
                _ => Err(io::Error::other("child failed")),
            }
        }
    }
}

fn in_child(path: &str) -> io::Result<()> {
    std::hint::black_box(check_login_fork(path))
}

thread_local! {
    static QSORT_PATH: std::cell::RefCell<(String, Option<io::Result<()>>)> =
        const { std::cell::RefCell::new((String::new(), None)) };
}

extern "C" fn compare(a: *const libc::c_void, b: *const libc::c_void) -> libc::c_int {
    QSORT_PATH.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.1.is_none() {
            let result = read(&cell.0);
            cell.1 = Some(result);
        }
    });
    // SAFETY: qsort passes pointers to elements of the u32 array below
    let (a, b) = unsafe { (*(a as *const u32), *(b as *const u32)) };
    a.cmp(&b) as libc::c_int
}

fn in_qsort(path: &str) -> io::Result<()> {
    QSORT_PATH.with(|cell| *cell.borrow_mut() = (path.to_owned(), None));
    let mut items = [3u32, 1, 2];
    // SAFETY: a valid array of three u32 and a comparator for u32
    unsafe {
        libc::qsort(
            items.as_mut_ptr().cast(),
            items.len(),
            std::mem::size_of::<u32>(),
            Some(compare),
        );
    }
    QSORT_PATH
        .with(|cell| cell.borrow_mut().1.take())
        .unwrap_or_else(|| Err(io::Error::other("qsort never called the comparator")))
}

fn c_path(path: &str) -> io::Result<CString> {
    CString::new(Path::new(path).as_os_str().as_bytes()).map_err(io::Error::other)
}

/// fstat(2) itself, not glibc's fstat (which is newfstatat on this glibc).
fn fstat(path: &str) -> io::Result<()> {
    let c = c_path(path)?;
    // SAFETY: a valid C string; O_PATH opens without the open hook's check
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fd is ours, st is large enough
    let rc = unsafe { libc::syscall(libc::SYS_fstat, fd, st.as_mut_ptr()) };
    let result = if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    };
    // SAFETY: fd is ours
    unsafe { libc::close(fd) };
    result
}

fn stat(path: &str) -> io::Result<()> {
    let c = c_path(path)?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a valid C string, st is large enough
    let rc = unsafe {
        libc::syscall(
            libc::SYS_newfstatat,
            libc::AT_FDCWD,
            c.as_ptr(),
            st.as_mut_ptr(),
            0,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The benchmark's probed function: `func = "bench_probed"`.
#[no_mangle]
#[inline(never)]
pub fn bench_probed(x: u64) -> u64 {
    std::hint::black_box(x)
}

/// The same, left unprobed.
#[no_mangle]
#[inline(never)]
pub fn bench_plain(x: u64) -> u64 {
    std::hint::black_box(x)
}

/// Each loop runs once untimed (the emulator translates the code, the
/// kernel installs the breakpoint), then the best of three timed rounds.
fn bench(n: u64) {
    let round = |f: fn(u64) -> u64| {
        let start = Instant::now();
        for i in 0..n {
            std::hint::black_box(f(std::hint::black_box(i)));
        }
        start.elapsed().as_nanos() as f64 / n as f64
    };
    let best = |f: fn(u64) -> u64| {
        round(f);
        (0..3).map(|_| round(f)).fold(f64::INFINITY, f64::min)
    };
    let plain = best(bench_plain);
    let probed = best(bench_probed);
    println!("bench_plain_ns={plain:.1}");
    println!("bench_probed_ns={probed:.1}");
}
