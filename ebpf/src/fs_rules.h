/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Finding the fs rules that cover a path: the inode itself (INODE), its name
 * in its directory (CHILD), and every directory above it up to the root
 * (SUBTREE), crossing mount points, at most BPFBOX_MAX_ANCESTORS levels.
 * The object's own rules and its directory's chain are collected apart, so
 * that the chain, shared by every entry of a directory, can be cached.
 *
 * The walks are bounded loops, not bpf_loop() callbacks: aya 0.14 does not
 * apply CO-RE relocations inside callback functions (the loads come out
 * poisoned, 0xbad2310).
 */
#ifndef __BPFBOX_FS_RULES_H
#define __BPFBOX_FS_RULES_H

/* The rule of (rules_id, scope, ino, dev, name_hash), if any, into `eff`. */
static __always_inline void add_fs_rule_of(struct effective *eff, __u64 rules_id, __u32 scope,
					   __u64 ino, __u32 dev, __u64 name_hash, __u64 state)
{
	struct bpfbox_fs_key key = {
		.rules_id = rules_id,
		.ino = ino,
		.name_hash = name_hash,
		.dev = dev,
		.scope = scope,
	};
	struct bpfbox_rule *rule = bpf_map_lookup_elem(&fs_rules, &key);

	if (rule)
		effective_add(eff, rule, state);
}

/* Scratch for an entry name: too big for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[BPFBOX_NAME_MAX + 1]);
} name_scratch SEC(".maps");

/* FNV-1a of the dentry's name, as bpfbox_abi::name_hash computes it. */
static __always_inline __u64 dentry_name_hash(struct dentry *dentry)
{
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	__u32 zero = 0, len = BPF_CORE_READ(dentry, d_name.len);
	char *buf = bpf_map_lookup_elem(&name_scratch, &zero);
	__u64 hash = BPFBOX_FNV_OFFSET;

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

/*
 * One step up from (dentry, mnt): to the parent directory, or from the root
 * of a mount to the directory it is mounted on, as the kernel's own path
 * walk (d_path) goes. False at the top. Hooks without a mount (the inode_*
 * hooks) walk up to the root of the object's file system.
 *
 * A dentry can lie outside its mount's tree (open_by_handle_at through a
 * bind mount of a directory, a file opened before a bind mount was made):
 * its walk reaches the file system's root without passing the mount's
 * root. That path goes through no mount point, so the walk stops there;
 * crossing to the mount point would judge the file as if it were inside
 * the mount's tree.
 */
static __always_inline bool walk_up(struct dentry **dentry, struct vfsmount **mnt)
{
	struct dentry *d = *dentry, *parent;
	struct mount *m, *up;

	/* each read is a helper call: d_parent once */
	if (!*mnt || d != BPF_CORE_READ(*mnt, mnt_root)) {
		parent = BPF_CORE_READ(d, d_parent);
		if (d == parent)
			return false;
		*dentry = parent;
		return true;
	}
	m = real_mount(*mnt);
	up = BPF_CORE_READ(m, mnt_parent);
	if (!up || up == m)
		return false;
	*dentry = BPF_CORE_READ(m, mnt_mountpoint);
	*mnt = (void *)up + bpf_core_field_offset(struct mount, mnt);
	return true;
}

/*
 * Which inode an object is, read where its pointers are known (read.h)
 * when the caller can: `inode` is its address, 0 for a negative dentry.
 */
struct own_id {
	__u64 inode;
	__u64 ino;
	__u32 dev;
	__u32 _pad;
};

/* The same, read with helper calls from a plain dentry. */
static __always_inline void own_id_of(struct own_id *id, struct dentry *dentry)
{
	struct inode *inode = BPF_CORE_READ(dentry, d_inode);

	id->inode = (__u64)inode;
	id->ino = inode ? BPF_CORE_READ(inode, i_ino) : 0;
	id->dev = inode ? BPF_CORE_READ(inode, i_sb, s_dev) : 0;
}

/*
 * The SUBTREE rule of a directory, and (`guard`) what bpfboxd's protection
 * of the subtree denies.
 */
static __always_inline void add_subtree_rules(struct effective *eff, const struct subject *s,
					      __u64 ino, __u32 dev, bool guard)
{
	struct bpfbox_protected_key pkey = {
		.ino = ino,
		.dev = dev,
		.scope = BPFBOX_SCOPE_SUBTREE,
	};
	__u32 *denied;

	if (!inode_may_have_rules(ino, dev))
		return;
	add_fs_rule_of(eff, s->rules, BPFBOX_SCOPE_SUBTREE, ino, dev, 0, s->task->state);
	if (!guard)
		return;
	denied = bpf_map_lookup_elem(&protected, &pkey);
	if (denied)
		eff->guarded |= *denied;
}

/*
 * The rules of the object itself: its inode (INODE, and SUBTREE when it is
 * a directory with a subtree rule), its name in its directory (CHILD), and,
 * for modifying accesses (`guard`), what bpfboxd's protection of it denies.
 * `id` is the object's inode, `dentry` a plain value.
 */
static __always_inline void collect_own_rules(struct effective *eff, const struct subject *s,
					      struct dentry *dentry, const struct own_id *id,
					      bool guard)
{
	__u64 rules = s->rules, state = s->task->state;
	struct bpfbox_protected_key pkey = {
		.ino = id->ino,
		.dev = id->dev,
		.scope = BPFBOX_SCOPE_INODE,
	};
	struct inode *dir;
	struct dentry *parent;
	__u32 *denied;
	__u64 dir_ino;
	__u32 dir_dev;

	/*
	 * The file whose exec gave the task its profile, as an allow rule on
	 * its inode would grant: this one holds for the very file exec'd, with
	 * no daemon in the loop (a file just put at the profile's path). The
	 * daemon keys the same grant by the identity it resolved
	 * (policy/src/compile.rs) for the profile's other processes. Fixed for
	 * the task's life, so cached results keep it.
	 */
	if (id->inode && id->ino == s->task->exe_ino && id->dev == s->task->exe_dev) {
		eff->allow |= BPFBOX_FS_OWN_EXECUTABLE;
		eff->found = 1;
	}
	if (id->inode && inode_may_have_rules(id->ino, id->dev)) {
		add_fs_rule_of(eff, rules, BPFBOX_SCOPE_INODE, id->ino, id->dev, 0, state);
		/* the INODE scope here; the SUBTREE scope as at each level of a
		 * walk. add_subtree_rules() asks the filter again: without that
		 * branch between the two protected lookups clang ORs their
		 * results, two pointers, which the verifier refuses */
		denied = guard ? bpf_map_lookup_elem(&protected, &pkey) : NULL;
		if (denied)
			eff->guarded |= *denied;
		add_subtree_rules(eff, s, id->ino, id->dev, guard);
	}
	if (!(s->profile->flags & BPFBOX_PROFILE_HAS_CHILD_RULES))
		return;
	/* the parent only for CHILD rules: each read is a helper call */
	parent = BPF_CORE_READ(dentry, d_parent);
	dir = parent != dentry ? BPF_CORE_READ(parent, d_inode) : NULL;
	if (!dir)
		return;
	dir_ino = BPF_CORE_READ(dir, i_ino);
	dir_dev = BPF_CORE_READ(dir, i_sb, s_dev);
	/* hashing the name is a loop over it: only for a directory with rules */
	if (inode_may_have_rules(dir_ino, dir_dev))
		add_fs_rule_of(eff, rules, BPFBOX_SCOPE_CHILD, dir_ino, dir_dev,
			       dentry_name_hash(dentry), state);
}

/*
 * The chain above an object: the SUBTREE rules of the directory (dentry,
 * mnt) — the object's parent, or the mount point it is mounted on — and of
 * every directory above it up to the root, crossing mount points; with
 * the object, BPFBOX_MAX_ANCESTORS levels in all. `dentry` and `mnt` are
 * plain values (read with BPF_CORE_READ).
 */
static __always_inline void collect_chain_rules(struct effective *eff, const struct subject *s,
						struct dentry *dentry, struct vfsmount *mnt,
						bool guard)
{
	struct inode *inode;

	for (int i = 1; i < BPFBOX_MAX_ANCESTORS; i++) {
		inode = BPF_CORE_READ(dentry, d_inode);
		if (inode)
			add_subtree_rules(eff, s, BPF_CORE_READ(inode, i_ino),
					  BPF_CORE_READ(inode, i_sb, s_dev), guard);
		if (!walk_up(&dentry, &mnt))
			break;
	}
}

#endif /* __BPFBOX_FS_RULES_H */
