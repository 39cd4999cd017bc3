/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Checks on open files: open, ioctl, mmap, mprotect. */
#ifndef __BPFBOX_FS_H
#define __BPFBOX_FS_H

/*
 * bpfbox's open-time mapping: append is its own access, distinct from
 * write. An exec opens the program, a script's interpreter and the ELF
 * loader with __FMODE_EXEC, which the kernel keeps in f_flags (never in
 * f_mode on 6.1 or 6.12): a script is not mapped executable, so this is
 * the only place its exec shows.
 */
static __always_inline __u32 open_access(const struct file *file, fmode_t mode)
{
	__u32 flags = file->f_flags;
	__u32 access = 0;

	if (mode & FMODE_READ)
		access |= BPFBOX_FS_READ;
	if (mode & FMODE_WRITE)
		access |= (flags & O_APPEND) ? BPFBOX_FS_APPEND : BPFBOX_FS_WRITE;
	if ((mode & FMODE_EXEC) || (flags & __FMODE_EXEC))
		access |= BPFBOX_FS_EXEC;
	return access;
}

/* MAY_* of file_permission (include/linux/fs.h) */
#define MAY_WRITE 0x2
#define MAY_READ 0x4

/*
 * Decides `access` to an open `file` and, unless denied, remembers that the
 * task may use the file for it (task storage: `files`), so its reads and
 * writes through the file need no second look. `full_path`: the hook may
 * call bpf_d_path (file_open may; file_permission and file_receive may
 * not), so the event carries the whole path.
 */
static __always_inline int judge_file(struct subject *s, __u32 hook, struct file *file,
				      __u32 access, bool full_path)
{
	struct inode *inode = file->f_inode;
	struct file_slot *slot;
	__u32 decision;

	decision = check_object(s, hook, file->f_path.dentry, file->f_path.mnt, access,
				full_path ? file : NULL, true);
	if ((decision & BPFBOX_DECISION_DENY) || !inode)
		return verdict(decision);
	slot = file_slot(s->task, inode->i_ino);
	if (slot->file != (__u64)file) {
		slot->file = (__u64)file;
		slot->allowed = 0;
	}
	slot->allowed |= access;
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(file_open, struct file *file, int ret)
{
	struct subject s;
	fmode_t mode;
	__u32 access;

	if (ret)
		return ret;
	if (!current_subject(&s))
		return 0;
	mode = file->f_mode; /* a direct load: `file` is the hook's trusted argument */
	/* created by this very open: path_mknod judged the creation, and the
	 * VFS too skips permission checks on a file it just created */
	if (mode & FMODE_CREATED)
		return 0;
	/* overlayfs opening a layer's file (6.5+) for an open of its own
	 * object, which was judged (io_uring's threads get here too) */
	if (bpf_core_type_exists(struct backing_file) && (mode & FMODE_BACKING))
		return 0;
	access = open_access(file, mode);
	if (!access)
		return 0;
	return judge_file(&s, BPFBOX_HOOK_FILE_OPEN, file, access, true);
}

/*
 * Reads and writes through a descriptor the task did not open itself:
 * one inherited across the exec that confined it, received over
 * SCM_RIGHTS or with pidfd_getfd, or whose slot another file took since.
 * A file the task opened (or received, or used before) hits its slot,
 * which is what nearly every read and write does. kernel_read()s of an
 * exec, sendfile, splice and io_uring's reads and writes come here too;
 * pipes and sockets have nothing to judge. The verdict is the open's: the
 * access the descriptor is used for, on the file where it is now.
 */
SEC("lsm/file_permission")
int BPF_PROG(file_permission, struct file *file, int mask, int ret)
{
	struct file_slot *slot;
	struct subject s;
	struct inode *inode;
	__u32 access = 0;

	if (ret)
		return ret;
	if (!current_subject(&s))
		return 0;
	if (mask & MAY_READ)
		access |= BPFBOX_FS_READ;
	if (mask & MAY_WRITE)
		access |= (file->f_flags & O_APPEND) ? BPFBOX_FS_APPEND : BPFBOX_FS_WRITE;
	inode = file->f_inode;
	if (!access || !inode || unnameable(inode->i_sb->s_magic))
		return 0;
	slot = file_slot(s.task, inode->i_ino);
	if (slot->file == (__u64)file && !(access & ~slot->allowed))
		return 0;
	return judge_file(&s, BPFBOX_HOOK_FILE_PERMISSION, file, access, false);
}

/* A descriptor received (SCM_RIGHTS, pidfd_getfd): judged as an open would be. */
SEC("lsm/file_receive")
int BPF_PROG(file_receive, struct file *file, int ret)
{
	struct subject s;
	__u32 access;

	if (ret)
		return ret;
	if (!current_subject(&s))
		return 0;
	access = open_access(file, file->f_mode) & ~BPFBOX_FS_EXEC;
	if (!access || !file->f_inode || unnameable(file->f_inode->i_sb->s_magic))
		return 0;
	return judge_file(&s, BPFBOX_HOOK_FILE_RECEIVE, file, access, false);
}

#define TIOCSTI 0x5412
#define TIOCLINUX 0x541C
#define KDSKBENT 0x4B47
#define KDSKBSENT 0x4B49

/*
 * An ioctl; `cmd` as the caller gave it. A 32-bit caller comes through
 * file_ioctl_compat instead, which both kernels have (6.1.192 carries it):
 * the same check there, or a 32-bit binary would get around every ioctl rule.
 */
static __always_inline int check_ioctl(struct file *file, unsigned int cmd)
{
	struct subject s;

	if (!current_subject(&s))
		return 0;
	/*
	 * Faking input on a terminal (TIOCSTI, the console's paste of
	 * TIOCLINUX) types commands into whatever reads it: the unconfined
	 * shell that started the program; so does rebinding the console's
	 * keys to strings (KDSKBENT, KDSKBSENT) for whoever presses them.
	 * Denied in every mode, whatever the ioctl rules say; 6.1 still
	 * allows TIOCSTI by default.
	 */
	if (cmd == TIOCSTI || cmd == TIOCLINUX || cmd == KDSKBENT || cmd == KDSKBSENT) {
		count(BPFBOX_STAT_DENIED);
		report_object(s.task, BPFBOX_HOOK_FILE_IOCTL, BPFBOX_FS_IOCTL, BPFBOX_DECISION_DENY,
			      file->f_path.dentry, NULL, 0, false);
		return -EPERM;
	}
	return verdict(check_object(&s, BPFBOX_HOOK_FILE_IOCTL, file->f_path.dentry,
				    file->f_path.mnt, BPFBOX_FS_IOCTL, NULL, true));
}

SEC("lsm/file_ioctl")
int BPF_PROG(file_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	return ret ?: check_ioctl(file, cmd);
}

SEC("lsm/file_ioctl_compat")
int BPF_PROG(file_ioctl_compat, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	return ret ?: check_ioctl(file, cmd);
}

/* PROT_READ → read, PROT_EXEC → exec, PROT_WRITE of a shared mapping → write. */
static __always_inline __u32 map_access(unsigned long prot, bool shared)
{
	__u32 access = 0;

	if (prot & PROT_READ)
		access |= BPFBOX_FS_READ;
	if ((prot & PROT_WRITE) && shared)
		access |= BPFBOX_FS_WRITE;
	if (prot & PROT_EXEC)
		access |= BPFBOX_FS_EXEC;
	return access;
}

SEC("lsm/mmap_file")
int BPF_PROG(mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	struct subject s;
	__u32 access;

	if (ret)
		return ret;
	if (!file)
		return 0; /* anonymous memory is not a file */
	if (!current_subject(&s))
		return (prot & PROT_EXEC) ? confine_mapped(file) : 0;
	access = map_access(prot, flags & MAP_SHARED);
	if (!access)
		return 0;
	return verdict(check_object(&s, BPFBOX_HOOK_MMAP_FILE, file->f_path.dentry,
				    file->f_path.mnt, access, NULL, true));
}

/*
 * overlayfs maps a layer's file in place of its own: judge the path the
 * task opened (6.5+ keeps it in the backing file; 6.1's f_path already is).
 */
static __always_inline struct path *user_path(struct file *file)
{
	struct backing_file *backing;

	if (bpf_core_type_exists(struct backing_file) &&
	    (BPF_CORE_READ(file, f_mode) & FMODE_BACKING)) {
		backing = (void *)file - bpf_core_field_offset(struct backing_file, file);
		return &backing->user_path;
	}
	return &file->f_path;
}

SEC("lsm/file_mprotect")
int BPF_PROG(file_mprotect, struct vm_area_struct *vma, unsigned long reqprot,
	     unsigned long prot, int ret)
{
	struct file *file;
	struct path *path;
	struct subject s;
	__u32 access;

	if (ret)
		return ret;
	if (!current_subject(&s))
		return 0;
	file = BPF_CORE_READ(vma, vm_file);
	if (!file)
		return 0;
	access = map_access(prot, BPF_CORE_READ(vma, vm_flags) & VM_SHARED);
	if (!access)
		return 0;
	/* a backing file's user_path is past a container_of: plain values */
	path = user_path(file);
	return verdict(check_object(&s, BPFBOX_HOOK_FILE_MPROTECT, BPF_CORE_READ(path, dentry),
				    BPF_CORE_READ(path, mnt), access, NULL, false));
}

#endif /* __BPFBOX_FS_H */
