/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Finding the fs rules that cover a path: the inode itself (INODE), its name
 * in its directory (CHILD), and every directory above it up to the root
 * (SUBTREE), crossing mount points, at most BPFBOX_MAX_ANCESTORS levels.
 */
#ifndef __BPFBOX_FS_RULES_H
#define __BPFBOX_FS_RULES_H

/* Scratch for an entry name: too big for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[BPFBOX_NAME_MAX + 1]);
} name_scratch SEC(".maps");

static __always_inline void add_fs_rule(struct effective *eff, __u64 profile_id, __u32 scope,
					struct inode *inode, __u64 name_hash, __u64 state)
{
	struct bpfbox_fs_key key = {
		.profile_id = profile_id,
		.ino = BPF_CORE_READ(inode, i_ino),
		.name_hash = name_hash,
		.dev = BPF_CORE_READ(inode, i_sb, s_dev),
		.scope = scope,
	};
	struct bpfbox_rule *rule;

	if (!inode)
		return;
	rule = bpf_map_lookup_elem(&fs_rules, &key);
	if (rule)
		effective_add(eff, rule, state);
}

/* FNV-1a of the dentry's name, as bpfbox_abi::name_hash computes it. */
static __always_inline __u64 dentry_name_hash(struct dentry *dentry)
{
	__u32 zero = 0, len = BPF_CORE_READ(dentry, d_name.len);
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	__u64 hash = BPFBOX_FNV_OFFSET;
	char *buf = bpf_map_lookup_elem(&name_scratch, &zero);

	if (!buf || len > BPFBOX_NAME_MAX)
		return 0;
	if (bpf_probe_read_kernel(buf, len & BPFBOX_NAME_MAX, name))
		return 0;
	for (__u32 i = 0; i < BPFBOX_NAME_MAX; i++) {
		if (i >= len)
			break;
		hash ^= (__u8)buf[i];
		hash *= BPFBOX_FNV_PRIME;
	}
	return hash;
}

static __always_inline struct mount *real_mount(struct vfsmount *mnt)
{
	return (void *)mnt - bpf_core_field_offset(struct mount, mnt);
}

static __always_inline void collect_fs_rules(struct effective *eff, const struct bpfbox_task *task,
					     __u32 profile_flags, struct dentry *dentry,
					     struct vfsmount *mnt)
{
	__u64 id = task->profile_id, state = task->state;
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

	add_fs_rule(eff, id, BPFBOX_SCOPE_INODE, BPF_CORE_READ(dentry, d_inode), 0, state);
	if ((profile_flags & BPFBOX_PROFILE_HAS_CHILD_RULES) && parent != dentry)
		add_fs_rule(eff, id, BPFBOX_SCOPE_CHILD, BPF_CORE_READ(parent, d_inode),
			    dentry_name_hash(dentry), state);

	for (int i = 0; i < BPFBOX_MAX_ANCESTORS; i++) {
		add_fs_rule(eff, id, BPFBOX_SCOPE_SUBTREE, BPF_CORE_READ(dentry, d_inode), 0,
			    state);
		if (!mnt || dentry == BPF_CORE_READ(mnt, mnt_root) ||
		    dentry == BPF_CORE_READ(dentry, d_parent)) {
			/* at the root of this mount: continue at its mount point */
			struct mount *m = mnt ? real_mount(mnt) : NULL;
			struct mount *up = m ? BPF_CORE_READ(m, mnt_parent) : NULL;

			if (!up || up == m)
				break;
			dentry = BPF_CORE_READ(m, mnt_mountpoint);
			mnt = (void *)up + bpf_core_field_offset(struct mount, mnt);
			continue;
		}
		dentry = BPF_CORE_READ(dentry, d_parent);
	}
}

#endif /* __BPFBOX_FS_RULES_H */
