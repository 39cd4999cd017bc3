//! `u64` words the daemon shares with the BPF programs: the values of a
//! `BPF_F_MMAPABLE` array of 8-byte values, mapped into the daemon.
//!
//! An update through bpf(2) copies a map value with memcpy, which may store
//! it a byte at a time, so a program could read a word half old and half
//! new. Through the mapping the daemon changes each word with one atomic
//! operation, and the programs read it with one 8-byte load.

use std::{
    io,
    os::fd::{AsFd, AsRawFd},
    ptr::{self, NonNull},
    sync::atomic::AtomicU64,
};

/// The mapped words; unmapped on drop (the map lives on while pinned).
pub struct MappedWords {
    base: NonNull<AtomicU64>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory, valid until drop, and it is
// only ever accessed through `AtomicU64`s.
unsafe impl Send for MappedWords {}
// SAFETY: as above; `AtomicU64` makes shared access sound.
unsafe impl Sync for MappedWords {}

impl MappedWords {
    /// Maps the first `len` values of the array map `map`, which must have
    /// been created `BPF_F_MMAPABLE` with 8-byte values and at least `len`
    /// entries; the kernel refuses any other map (EINVAL or EPERM).
    pub fn map(map: impl AsFd, len: usize) -> io::Result<Self> {
        // SAFETY: a new shared mapping at an address the kernel chooses,
        // over the map's page-aligned values; nothing else is touched.
        let addr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                Self::bytes(len),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                map.as_fd().as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(addr.cast::<AtomicU64>())
            .ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        Ok(Self { base, len })
    }

    /// The words, in map order.
    pub fn words(&self) -> &[AtomicU64] {
        // SAFETY: page-aligned (so aligned for AtomicU64), mapped
        // read-write for `len` words, and valid until drop.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.len) }
    }

    fn bytes(len: usize) -> usize {
        len * std::mem::size_of::<u64>()
    }
}

impl Drop for MappedWords {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once.
        unsafe { libc::munmap(self.base.as_ptr().cast(), Self::bytes(self.len)) };
    }
}
