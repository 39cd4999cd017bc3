//! Mounting the kernel's pseudo file systems bpfboxd needs (securityfs for
//! the LSM list, bpffs for pins) on systems that did not mount them.

use std::{ffi::CStr, io};

/// Mounts the pseudo file system `fstype` on `target` (source = fstype).
pub fn mount(fstype: &CStr, target: &CStr) -> io::Result<()> {
    // SAFETY: valid NUL-terminated strings; no data argument.
    let rc = unsafe {
        libc::mount(
            fstype.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
