/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Attributes: stat → getattr; chmod, chown, truncate, utimes → setattr;
 * xattrs read → getattr, written or removed → setattr.
 *
 * Linux 6.3 added an idmap argument in front of inode_setattr's; whether
 * the running kernel's BTF knows `struct mnt_idmap` tells which (CO-RE
 * resolves that at load time). The xattr hooks kept their shape.
 */
#ifndef __BPFBOX_ATTR_H
#define __BPFBOX_ATTR_H

/* `direct`: as read.h, for `dentry` */
static __always_inline int dentry_check(__u32 hook, struct dentry *dentry, __u32 access,
					bool direct)
{
	struct subject s;

	if (!current_subject(&s))
		return 0;
	return verdict(check_object(&s, hook, dentry, NULL, access, NULL, direct));
}

SEC("lsm/inode_getattr")
int BPF_PROG(inode_getattr, const struct path *path, int ret)
{
	struct subject s;

	if (ret)
		return ret;
	if (!current_subject(&s))
		return 0;
	return verdict(check_object(&s, BPFBOX_HOOK_INODE_GETATTR, path->dentry, path->mnt,
				    BPFBOX_FS_GETATTR, NULL, true));
}

/*
 * Which argument is the dentry depends on the kernel, so it is fetched with
 * bpf_get_func_arg() at an index chosen at load time; the verifier refuses a
 * computed context offset. The previous program's verdict sits after a
 * variable number of arguments and is not read: this program decides only
 * for confined tasks.
 */
SEC("lsm/inode_setattr")
int inode_setattr(unsigned long long *ctx)
{
	__u32 index = bpf_core_type_exists(struct mnt_idmap) ? 1 : 0;
	__u64 dentry = 0;

	if (bpf_get_func_arg(ctx, index, &dentry))
		return 0;
	return dentry_check(BPFBOX_HOOK_INODE_SETATTR, (struct dentry *)dentry, BPFBOX_FS_SETATTR,
			    false);
}

/* (userns or idmap, dentry, name, value, size, flags): same shape on 6.1 and 6.12 */
SEC("lsm/inode_setxattr")
int inode_setxattr(unsigned long long *ctx)
{
	int ret = (int)ctx[6];

	return ret ?: dentry_check(BPFBOX_HOOK_INODE_XATTR, (void *)ctx[1], BPFBOX_FS_SETATTR, true);
}

SEC("lsm/inode_removexattr")
int inode_removexattr(unsigned long long *ctx)
{
	int ret = (int)ctx[3];

	return ret ?: dentry_check(BPFBOX_HOOK_INODE_XATTR, (void *)ctx[1], BPFBOX_FS_SETATTR, true);
}

SEC("lsm/inode_getxattr")
int BPF_PROG(inode_getxattr, struct dentry *dentry, const char *name, int ret)
{
	return ret ?: dentry_check(BPFBOX_HOOK_INODE_XATTR, dentry, BPFBOX_FS_GETATTR, true);
}

SEC("lsm/inode_listxattr")
int BPF_PROG(inode_listxattr, struct dentry *dentry, int ret)
{
	return ret ?: dentry_check(BPFBOX_HOOK_INODE_XATTR, dentry, BPFBOX_FS_GETATTR, true);
}

#endif /* __BPFBOX_ATTR_H */
