//! A kprobe or kretprobe with an attach cookie. aya 0.14's `KProbe::attach`
//! passes no cookie (its uprobes do), so this opens the perf event and
//! creates the BPF link itself: `perf_event_open` on the kprobe PMU, then
//! `BPF_LINK_CREATE` with `BPF_PERF_EVENT` and the cookie (kernel 5.15+).

use std::{
    ffi::CString,
    fs, io,
    os::fd::{AsRawFd as _, BorrowedFd, FromRawFd as _, OwnedFd},
};

const PMU: &str = "/sys/bus/event_source/devices/kprobe";
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_PERF_EVENT: u32 = 41;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;

/// An attached probe; dropping it detaches it.
#[derive(Debug)]
pub struct KprobeLink {
    _link: OwnedFd,
}

fn pmu_type() -> io::Result<u32> {
    fs::read_to_string(format!("{PMU}/type"))?
        .trim()
        .parse()
        .map_err(io::Error::other)
}

/// The config bit that makes the event a return probe ("config:0").
fn retprobe_bit() -> io::Result<u64> {
    let format = fs::read_to_string(format!("{PMU}/format/retprobe"))?;
    let bit: u32 = format
        .trim()
        .strip_prefix("config:")
        .and_then(|b| b.parse().ok())
        .ok_or_else(|| io::Error::other(format!("unexpected kprobe retprobe format {format:?}")))?;
    Ok(1 << bit)
}

/// Attaches `program` (a loaded kprobe program) to the entry, or with
/// `retprobe` the return, of kernel function `function`.
pub fn attach(
    program: BorrowedFd<'_>,
    function: &str,
    retprobe: bool,
    cookie: u64,
) -> io::Result<KprobeLink> {
    let name = CString::new(function).map_err(io::Error::other)?;
    // struct perf_event_attr, PERF_ATTR_SIZE_VER7 (128 bytes): type, size,
    // config, sample_period, …, config1 (the function name), config2 (the
    // offset, 0)
    let mut attr = [0u64; 16];
    attr[0] = u64::from(pmu_type()?) | (128u64 << 32);
    attr[1] = if retprobe { retprobe_bit()? } else { 0 };
    attr[2] = 1; // sample_period
    attr[7] = name.as_ptr() as u64;
    // SAFETY: attr is a valid perf_event_attr of the size it declares, and
    // `name` outlives the call.
    let perf = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1 as libc::pid_t,
            0 as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if perf < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a new file descriptor that we own.
    let perf = unsafe { OwnedFd::from_raw_fd(perf as i32) };
    // union bpf_attr, link_create: prog_fd, target_fd, attach_type, flags,
    // then perf_event.bpf_cookie
    let mut link_attr = [0u32; 8];
    link_attr[0] = program.as_raw_fd() as u32;
    link_attr[1] = perf.as_raw_fd() as u32;
    link_attr[2] = BPF_PERF_EVENT;
    link_attr[4] = cookie as u32;
    link_attr[5] = (cookie >> 32) as u32;
    // SAFETY: link_attr is a valid link_create attribute of the given size.
    let link = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_LINK_CREATE,
            link_attr.as_ptr(),
            std::mem::size_of_val(&link_attr) as u32,
        )
    };
    if link < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above; the link holds its own reference to the perf event.
    Ok(KprobeLink {
        _link: unsafe { OwnedFd::from_raw_fd(link as i32) },
    })
}
