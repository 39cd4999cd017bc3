//! A `u64` counter the daemon shares with the BPF programs: the first value
//! of a `BPF_F_MMAPABLE` array, mapped into the daemon.
//!
//! An update through bpf(2) copies a map value with memcpy, which may store
//! it a byte at a time, so a program could read a counter half old and half
//! new. Through the mapping the daemon changes it with one atomic add, and
//! the programs read it with one 8-byte load.

use std::{
    io,
    os::fd::{AsFd, AsRawFd},
    ptr::{self, NonNull},
    sync::atomic::{AtomicU64, Ordering},
};

/// The mapped counter; unmapped on drop (the map lives on while pinned).
pub struct SharedCounter {
    cell: NonNull<AtomicU64>,
}

// SAFETY: the mapping is plain shared memory, valid until drop, and it is
// only ever accessed through the `AtomicU64`.
unsafe impl Send for SharedCounter {}
// SAFETY: as above; `AtomicU64` makes shared access sound.
unsafe impl Sync for SharedCounter {}

const LEN: usize = std::mem::size_of::<u64>();

impl SharedCounter {
    /// Maps the first value of the array map `map`, which must have been
    /// created `BPF_F_MMAPABLE` with 8-byte values; the kernel refuses any
    /// other map (EINVAL or EPERM).
    pub fn map(map: impl AsFd) -> io::Result<Self> {
        // SAFETY: a new shared mapping at an address the kernel chooses,
        // over the map's page-aligned values; nothing else is touched.
        let addr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                map.as_fd().as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let cell = NonNull::new(addr.cast::<AtomicU64>())
            .ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        Ok(Self { cell })
    }

    /// Adds one, atomically, and returns the new value.
    pub fn bump(&self) -> u64 {
        self.cell().fetch_add(1, Ordering::SeqCst).wrapping_add(1)
    }

    fn cell(&self) -> &AtomicU64 {
        // SAFETY: page-aligned (so aligned for AtomicU64), mapped
        // read-write, and valid until drop.
        unsafe { self.cell.as_ref() }
    }
}

impl Drop for SharedCounter {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once.
        unsafe { libc::munmap(self.cell.as_ptr().cast(), LEN) };
    }
}
