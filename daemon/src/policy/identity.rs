//! A path's identity as the BPF programs see it: (superblock `s_dev`, `i_ino`).
//!
//! `stat()`'s `st_dev` is not always the superblock's device: overlayfs
//! reports the underlying layer's device for files, btrfs a per-subvolume
//! one. The kernel keys on `inode->i_sb->s_dev`, which is what mountinfo's
//! `major:minor` column shows for the mount holding the path. So: statx gives
//! the inode number and the mount id, mountinfo maps the mount id to the
//! superblock device.

use std::{
    collections::HashMap,
    ffi::CString,
    fs, io,
    mem::MaybeUninit,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

use bpfbox_abi::{kernel_dev, InodeKey};

/// Mount id → superblock device (kernel encoding), read from mountinfo.
#[derive(Debug, Clone, Default)]
pub struct Mounts {
    devs: HashMap<u64, u32>,
}

impl Mounts {
    /// Reads `/proc/self/mountinfo`; call again after mounts may have changed.
    pub fn read() -> io::Result<Self> {
        Ok(Self::parse(&fs::read_to_string("/proc/self/mountinfo")?))
    }

    /// Parses mountinfo text (`id parent major:minor root mountpoint …`).
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let devs = text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_ascii_whitespace();
                let id = fields.next()?.parse().ok()?;
                let (major, minor) = fields.nth(1)?.split_once(':')?;
                Some((id, kernel_dev(major.parse().ok()?, minor.parse().ok()?)))
            })
            .collect();
        Self { devs }
    }

    /// The identity of the object `path` names, following symlinks (a rule
    /// names what the path resolves to, as open() would).
    pub fn identity(&self, path: &Path) -> io::Result<InodeKey> {
        self.identity_with(path, 0)
    }

    /// The identity of a symbolic link itself, not of what it points to.
    pub fn link_identity(&self, path: &Path) -> io::Result<InodeKey> {
        self.identity_with(path, libc::AT_SYMLINK_NOFOLLOW)
    }

    fn identity_with(&self, path: &Path, flags: libc::c_int) -> io::Result<InodeKey> {
        let (ino, mnt_id) = statx_ino_mnt(path, flags)?;
        let dev = self.devs.get(&mnt_id).copied().ok_or_else(|| {
            io::Error::other(format!(
                "{}: mount {mnt_id} is not in mountinfo",
                path.display()
            ))
        })?;
        Ok(InodeKey { ino, dev, _pad: 0 })
    }
}

fn statx_ino_mnt(path: &Path, flags: libc::c_int) -> io::Result<(u64, u64)> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    let mut stx = MaybeUninit::<libc::statx>::zeroed();
    // SAFETY: valid NUL-terminated path and a buffer of the right type.
    let rc = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            libc::AT_STATX_SYNC_AS_STAT | flags,
            libc::STATX_INO | libc::STATX_MNT_ID,
            stx.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statx succeeded and filled the buffer (zeroed before anyway).
    let stx = unsafe { stx.assume_init() };
    if stx.stx_mask & libc::STATX_MNT_ID == 0 {
        return Err(io::Error::other(format!(
            "{}: the kernel did not report a mount id (needs Linux 5.8+)",
            path.display()
        )));
    }
    Ok((stx.stx_ino, stx.stx_mnt_id))
}

/// `path` as the kernel names the file there (what `bpf_d_path` gives the
/// exec hook): the longest existing part with every symbolic link resolved,
/// the part that does not exist yet appended as written.
#[must_use]
pub fn real_path(path: &Path) -> PathBuf {
    let mut missing = Vec::new();
    let mut head = path;
    loop {
        if let Ok(real) = fs::canonicalize(head) {
            return missing.iter().rev().fold(real, |p, name| p.join(name));
        }
        match (head.parent(), head.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name);
                head = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 0:21 / / rw,relatime shared:1 - overlay overlay rw,lowerdir=/lower
23 22 0:5 / /dev rw,nosuid shared:2 - devtmpfs udev rw
61 22 259:3 /@home /home rw,relatime shared:30 - btrfs /dev/nvme0n1p3 rw
";

    #[test]
    fn mountinfo_device_is_encoded_like_the_kernels_s_dev() {
        let m = Mounts::parse(MOUNTINFO);
        assert_eq!(m.devs[&22], 21);
        assert_eq!(m.devs[&61], (259 << 20) | 3);
    }

    #[test]
    fn identity_of_a_real_file_uses_its_inode_and_its_mounts_device() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, b"x").unwrap();
        let key = Mounts::read().unwrap().identity(&file).unwrap();
        let meta = fs::metadata(&file).unwrap();
        assert_eq!(key.ino, std::os::unix::fs::MetadataExt::ino(&meta));
        assert_ne!(key.dev, 0);
    }

    #[test]
    fn identity_of_a_missing_path_is_an_error() {
        let m = Mounts::read().unwrap();
        assert!(m.identity(Path::new("/nonexistent/bpfbox")).is_err());
    }

    #[test]
    fn a_real_path_resolves_links_and_keeps_the_missing_rest() {
        let dir = tempfile::tempdir().unwrap();
        let real = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir(real.join("usr")).unwrap();
        std::os::unix::fs::symlink(real.join("usr"), real.join("bin")).unwrap();
        assert_eq!(real_path(&real.join("bin/app")), real.join("usr/app"));
        assert_eq!(
            real_path(&real.join("bin/opt/app/run")),
            real.join("usr/opt/app/run")
        );
    }
}
