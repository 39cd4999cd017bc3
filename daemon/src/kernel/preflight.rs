//! Checks that this machine can run bpfboxd, before anything is loaded.
//!
//! Each failure names the exact missing piece and how to get it, because
//! "permission denied" from the bpf() syscall tells an administrator nothing.

use std::{fs, io, path::Path};

/// Why bpfboxd cannot confine anything on this machine.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// Not running as root.
    #[error("bpfboxd must run as root: it loads BPF-LSM programs (running as uid {0})")]
    NotRoot(u32),
    /// The kernel has no BTF, so CO-RE cannot adapt the programs to it.
    #[error(
        "this kernel has no BTF ({0} is missing): bpfbox needs a kernel built with \
         CONFIG_DEBUG_INFO_BTF=y (Debian, Fedora and Ubuntu kernels have it)"
    )]
    NoBtf(String),
    /// securityfs is not mounted and could not be mounted.
    #[error("cannot read the active LSM list: {path} is missing and mounting securityfs failed: {source}")]
    NoSecurityFs {
        /// The file that was looked for.
        path: String,
        /// Why mounting failed.
        #[source]
        source: io::Error,
    },
    /// BPF is not in the active LSM list.
    #[error(
        "BPF LSM is not active: the active LSMs are `{active}`. Boot with `lsm={active},bpf` \
         (e.g. add it to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub and reboot); \
         the kernel also needs CONFIG_BPF_LSM=y"
    )]
    BpfLsmInactive {
        /// The contents of the LSM list.
        active: String,
    },
}

const BTF: &str = "/sys/kernel/btf/vmlinux";
const LSM_LIST: &str = "/sys/kernel/security/lsm";

/// Runs every check; the first failure is returned.
pub fn check() -> Result<(), PreflightError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if uid != 0 {
        return Err(PreflightError::NotRoot(uid));
    }
    if !Path::new(BTF).exists() {
        return Err(PreflightError::NoBtf(BTF.into()));
    }
    let active = read_lsm_list()?;
    if !lsm_list_has_bpf(&active) {
        return Err(PreflightError::BpfLsmInactive { active });
    }
    Ok(())
}

fn read_lsm_list() -> Result<String, PreflightError> {
    if let Ok(list) = fs::read_to_string(LSM_LIST) {
        return Ok(list.trim().to_string());
    }
    // Minimal systems (and containers) may not mount securityfs; we are root.
    mount_securityfs().map_err(|source| PreflightError::NoSecurityFs {
        path: LSM_LIST.into(),
        source,
    })?;
    fs::read_to_string(LSM_LIST)
        .map(|s| s.trim().to_string())
        .map_err(|source| PreflightError::NoSecurityFs {
            path: LSM_LIST.into(),
            source,
        })
}

fn mount_securityfs() -> io::Result<()> {
    crate::kernel::pseudofs::mount(c"securityfs", c"/sys/kernel/security")
}

/// Mount points of overlay file systems without unique inode numbers.
///
/// bpfbox names a file by (device, inode). An overlay whose layers are on
/// different file systems reports a file of one layer and a directory of
/// the overlay under the same device, and without `xino=on` their inode
/// numbers can be equal: a rule on the one would then match the other. The
/// daemon warns about each such mount at start (fail closed is not possible
/// here: the files are the system's, not ours).
#[must_use]
pub fn ambiguous_overlays(mountinfo: &str) -> Vec<String> {
    mountinfo
        .lines()
        .filter_map(|line| {
            // "id parent maj:min root mountpoint opts [optional…] - fstype source superopts"
            let (left, right) = line.split_once(" - ")?;
            let mut right = right.split_whitespace();
            let fstype = right.next()?;
            let super_options = right.nth(1).unwrap_or_default();
            let mount_point = left.split_whitespace().nth(4)?;
            (fstype == "overlay" && !super_options.split(',').any(|o| o == "xino=on"))
                .then(|| mount_point.replace("\\040", " "))
        })
        .collect()
}

/// Warns about every overlay mount of [`ambiguous_overlays`].
pub fn warn_about_ambiguous_overlays() {
    let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    for mount_point in ambiguous_overlays(&mountinfo) {
        tracing::warn!(
            mount_point,
            "overlay file system without xino=on: a file and a directory there can share \
             a (device, inode) pair, so a rule on one may match the other; mount it with xino=on"
        );
    }
}

/// Whether `bpf` is one of the comma-separated active LSMs.
#[must_use]
pub fn lsm_list_has_bpf(list: &str) -> bool {
    list.trim().split(',').any(|lsm| lsm == "bpf")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlays_without_xino_are_reported_by_mount_point() {
        let mountinfo = "\
22 1 0:26 / / rw,relatime - overlay overlay rw,lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work,uuid=on\n\
23 22 0:27 / /home rw - ext4 /dev/vda2 rw\n\
24 22 0:28 / /var/lib/c rw shared:5 - overlay overlay rw,lowerdir=/a,upperdir=/b,workdir=/c,xino=on\n";
        assert_eq!(ambiguous_overlays(mountinfo), ["/"]);
        assert!(ambiguous_overlays("").is_empty());
    }

    #[test]
    fn bpf_lsm_is_found_only_as_a_whole_list_entry() {
        assert!(lsm_list_has_bpf(
            "lockdown,capability,landlock,yama,apparmor,bpf\n"
        ));
        assert!(lsm_list_has_bpf("bpf"));
        assert!(!lsm_list_has_bpf("lockdown,capability,bpfx,apparmor"));
        assert!(!lsm_list_has_bpf(""));
    }

    #[test]
    fn inactive_bpf_lsm_error_says_how_to_enable_it() {
        let msg = PreflightError::BpfLsmInactive {
            active: "capability,apparmor".into(),
        }
        .to_string();
        assert!(msg.contains("lsm=capability,apparmor,bpf"), "{msg}");
        assert!(msg.contains("CONFIG_BPF_LSM"), "{msg}");
    }
}
