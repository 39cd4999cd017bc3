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

/* Checks `dir_access` on dir, then, if allowed, `entry_access` on entry. */
static __always_inline int dir_op(__u32 hook, const struct path *dir, struct dentry *entry,
				  __u32 entry_access)
{
	struct vfsmount *mnt = BPF_CORE_READ(dir, mnt);
	struct subject s;
	__u32 decision;

	if (!current_subject(&s))
		return 0;
	decision = check_object(&s, hook, BPF_CORE_READ(dir, dentry), mnt, BPFBOX_FS_WRITE, NULL);
	if (!(decision & BPFBOX_DECISION_DENY) && entry_access)
		decision |= check_object(&s, hook, entry, mnt, entry_access, NULL);
	return verdict(decision);
}

/* Also reached by open(O_CREAT) through may_o_create(). */
SEC("lsm/path_mknod")
int BPF_PROG(path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode,
	     unsigned int dev, int ret)
{
	return ret ?: dir_op(BPFBOX_HOOK_INODE_CREATE, dir, dentry, 0);
}

SEC("lsm/path_mkdir")
int BPF_PROG(path_mkdir, const struct path *dir, struct dentry *dentry, umode_t mode, int ret)
{
	return ret ?: dir_op(BPFBOX_HOOK_INODE_MKDIR, dir, dentry, 0);
}

SEC("lsm/path_symlink")
int BPF_PROG(path_symlink, const struct path *dir, struct dentry *dentry, const char *old_name,
	     int ret)
{
	return ret ?: dir_op(BPFBOX_HOOK_INODE_SYMLINK, dir, dentry, 0);
}

SEC("lsm/path_unlink")
int BPF_PROG(path_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	return ret ?: dir_op(BPFBOX_HOOK_INODE_UNLINK, dir, dentry, BPFBOX_FS_RM);
}

SEC("lsm/path_rmdir")
int BPF_PROG(path_rmdir, const struct path *dir, struct dentry *dentry, int ret)
{
	return ret ?: dir_op(BPFBOX_HOOK_INODE_RMDIR, dir, dentry, BPFBOX_FS_RM);
}

SEC("lsm/path_link")
int BPF_PROG(path_link, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, int ret)
{
	return ret ?: dir_op(BPFBOX_HOOK_INODE_LINK, new_dir, old_dentry, BPFBOX_FS_LINK);
}

/*
 * Rename checks up to four objects. Two programs share the hook, each the
 * size of unlink's, because one with all four walks exceeds the verifier's
 * budget. The second runs after the first and passes its denial through.
 */
SEC("lsm/path_rename")
int BPF_PROG(path_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	return ret ?: dir_op(BPFBOX_HOOK_INODE_RENAME, old_dir, old_dentry, BPFBOX_FS_RM);
}

SEC("lsm/path_rename")
int BPF_PROG(path_rename_target, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	/* the entry replaced (or swapped in) is removed from its place too */
	bool replaced = (flags & RENAME_EXCHANGE) || BPF_CORE_READ(new_dentry, d_inode);

	return ret ?: dir_op(BPFBOX_HOOK_INODE_RENAME, new_dir, new_dentry,
			     replaced ? BPFBOX_FS_RM : 0);
}

#endif /* __BPFBOX_DIR_H */
