/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Directory operations, bpfbox's mapping: creating an entry needs write on
 * the directory; removing one also needs rm on the entry; linking needs link
 * on the source; renaming needs write on both directories and rm on the
 * entry moved (and on the one replaced). The path_* hooks carry the mount,
 * so subtree rules cross mount points here.
 */
#ifndef __BPFBOX_DIR_H
#define __BPFBOX_DIR_H

/* Write on the directory an entry is created in or removed from. */
static __always_inline int dir_write(__u32 hook, const struct path *dir)
{
	struct subject s;

	if (!current_subject(&s))
		return 0;
	return verdict(check_object(&s, hook, dir->dentry, dir->mnt, BPFBOX_FS_WRITE, NULL, true));
}

/* `access` on an entry of `dir` (mounted where dir is). */
static __always_inline int entry_check(__u32 hook, const struct path *dir, struct dentry *entry,
				       __u32 access)
{
	struct subject s;

	if (!current_subject(&s))
		return 0;
	return verdict(check_object(&s, hook, entry, dir->mnt, access, NULL, true));
}

/*
 * One object per program: a program that walks two paths takes the
 * verifier tens of seconds and, for rename, more than its budget. Programs
 * on one hook run in order, each passing an earlier denial through, so the
 * first object denied decides, as in the policy oracle.
 */

/* Also reached by open(O_CREAT) through may_o_create(). */
SEC("lsm/path_mknod")
int BPF_PROG(path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode,
	     unsigned int dev, int ret)
{
	return ret ?: dir_write(BPFBOX_HOOK_INODE_CREATE, dir);
}

SEC("lsm/path_mkdir")
int BPF_PROG(path_mkdir, const struct path *dir, struct dentry *dentry, umode_t mode, int ret)
{
	return ret ?: dir_write(BPFBOX_HOOK_INODE_MKDIR, dir);
}

SEC("lsm/path_symlink")
int BPF_PROG(path_symlink, const struct path *dir, struct dentry *dentry, const char *old_name,
	     int ret)
{
	return ret ?: dir_write(BPFBOX_HOOK_INODE_SYMLINK, dir);
}

SEC("lsm/path_unlink")
int BPF_PROG(path_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	return ret ?: dir_write(BPFBOX_HOOK_INODE_UNLINK, dir);
}

SEC("lsm/path_unlink")
int BPF_PROG(path_unlink__entry, const struct path *dir, struct dentry *dentry, int ret)
{
	return ret ?: entry_check(BPFBOX_HOOK_INODE_UNLINK, dir, dentry, BPFBOX_FS_RM);
}

SEC("lsm/path_rmdir")
int BPF_PROG(path_rmdir, const struct path *dir, struct dentry *dentry, int ret)
{
	return ret ?: dir_write(BPFBOX_HOOK_INODE_RMDIR, dir);
}

SEC("lsm/path_rmdir")
int BPF_PROG(path_rmdir__entry, const struct path *dir, struct dentry *dentry, int ret)
{
	return ret ?: entry_check(BPFBOX_HOOK_INODE_RMDIR, dir, dentry, BPFBOX_FS_RM);
}

SEC("lsm/path_link")
int BPF_PROG(path_link, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, int ret)
{
	return ret ?: dir_write(BPFBOX_HOOK_INODE_LINK, new_dir);
}

SEC("lsm/path_link")
int BPF_PROG(path_link__source, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, int ret)
{
	return ret ?: entry_check(BPFBOX_HOOK_INODE_LINK, new_dir, old_dentry, BPFBOX_FS_LINK);
}

/*
 * Rename: write on the old directory, rm on the entry moved, write on the
 * new directory, rm on the entry replaced (or swapped in).
 */
SEC("lsm/path_rename")
int BPF_PROG(path_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	return ret ?: dir_write(BPFBOX_HOOK_INODE_RENAME, old_dir);
}

SEC("lsm/path_rename")
int BPF_PROG(path_rename__source, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	return ret ?: entry_check(BPFBOX_HOOK_INODE_RENAME, old_dir, old_dentry, BPFBOX_FS_RM);
}

SEC("lsm/path_rename")
int BPF_PROG(path_rename__target_dir, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	return ret ?: dir_write(BPFBOX_HOOK_INODE_RENAME, new_dir);
}

SEC("lsm/path_rename")
int BPF_PROG(path_rename__target, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	struct subject s;

	if (ret)
		return ret;
	/* confinement first: an unconfined task does not read the target */
	if (!current_subject(&s))
		return 0;
	/* only an entry replaced (or swapped in) is removed */
	if (!(flags & RENAME_EXCHANGE) && !new_dentry->d_inode)
		return 0;
	return verdict(check_object(&s, BPFBOX_HOOK_INODE_RENAME, new_dentry, new_dir->mnt,
				    BPFBOX_FS_RM, NULL, true));
}

#endif /* __BPFBOX_DIR_H */
