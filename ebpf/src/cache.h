/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A confined task's recent file decisions, so that an access it repeats
 * costs one lookup instead of a walk from the object to the root.
 *
 * What is cached is the walk's result (`struct effective`: the rules that
 * match the object), not the verdict: decide() still runs on every access,
 * with the task's live taint and the profile's live mode. The walk's result
 * depends on
 *  - the rules: the profile's rules_id and the daemon's generation, which it
 *    bumps after every change of the maps (rules, profiles, protected);
 *  - the task's function-context `state` bits (func/kfunc rules);
 *  - whether bpfboxd's protected objects were looked for (`guard`);
 *  - the object's path: the chain of dentries and mounts above it. A chain
 *    changes only by a rename (d_move, under the kernel's `rename_lock`) or
 *    a mount change (under `mount_lock`); a slot records both seqcounts,
 *    read before the walk, and is used only while neither has moved since;
 *  - which object it is: the slot records the dentry, mount and inode
 *    pointers, and the inode's number, device and i_generation. A dentry
 *    freed and its memory reused for another name must also have the same
 *    inode there: an inode with several names (a non-directory with
 *    i_nlink > 1) is never cached, and a reused inode must also match number
 *    and i_generation (random per new inode on ext4, tmpfs, xfs, btrfs).
 * Anything that cannot be read (no address for the seqcounts, a writer in
 * progress, a read fault) means no caching: the walk runs, fail closed.
 * docs/kernel.md argues this at length.
 *
 * The cache is in task local storage: only the task itself reads or writes
 * its slots, so no slot is ever read half-written; a new task starts empty.
 */
#ifndef __BPFBOX_CACHE_H
#define __BPFBOX_CACHE_H

#define FS_CACHE_SLOTS 8 /* direct-mapped by inode */

struct fs_cache_key {
	__u64 dentry;
	__u64 mnt;
	__u64 inode;
	__u64 ino;
	__u64 rules;
	__u64 state;
	__u64 generation;
	__u32 rename_seq;
	__u32 mount_seq;
	__u32 dev;
	__u32 i_generation;
	__u32 guard;
	__u32 _pad;
};

struct fs_cache_slot {
	struct fs_cache_key key;
	struct effective eff;
	__u32 _pad;
};

struct fs_cache {
	struct fs_cache_slot slot[FS_CACHE_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fs_cache);
} fs_cache SEC(".maps");

/* The daemon's policy generation (bpfbox_abi.h: BPFBOX_GENERATION_KEY). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u64);
} generation SEC(".maps");

/* The sequence of a kernel seqlock at `addr`; false when unknown or odd (a writer is in). */
static __always_inline bool read_seq(__u64 addr, __u32 *seq)
{
	if (!addr || bpf_probe_read_kernel(seq, sizeof(*seq), (void *)addr))
		return false;
	return !(*seq & 1);
}

/*
 * Everything the walk's result depends on, as of now, into `k`. When the
 * object must not be cached, k->dentry stays 0, which no stored key has.
 */
static __always_inline void fs_cache_key_of(struct fs_cache_key *k, const struct subject *s,
					    struct dentry *dentry, struct vfsmount *mnt, bool guard)
{
	__u32 gen_key = BPFBOX_GENERATION_KEY, zero = 0;
	struct bpfbox_config *c = bpf_map_lookup_elem(&config, &zero);
	__u64 *gen = bpf_map_lookup_elem(&generation, &gen_key);
	struct inode *inode = BPF_CORE_READ(dentry, d_inode);

	k->dentry = 0;
	if (!c || !gen || !inode)
		return;
	if (!read_seq(c->rename_seq, &k->rename_seq) || !read_seq(c->mount_seq, &k->mount_seq))
		return;
	if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFDIR &&
	    BPF_CORE_READ(inode, i_nlink) > 1)
		return;
	k->mnt = (__u64)mnt;
	k->inode = (__u64)inode;
	k->ino = BPF_CORE_READ(inode, i_ino);
	k->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k->i_generation = BPF_CORE_READ(inode, i_generation);
	k->rules = s->rules;
	k->state = s->task->state;
	k->generation = *gen;
	k->guard = guard;
	k->_pad = 0;
	k->dentry = (__u64)dentry; /* last: the key is complete */
}

static __always_inline bool fs_cache_key_eq(const struct fs_cache_key *a,
					    const struct fs_cache_key *b)
{
	return a->dentry == b->dentry && a->mnt == b->mnt && a->inode == b->inode &&
	       a->ino == b->ino && a->rules == b->rules && a->state == b->state &&
	       a->generation == b->generation && a->rename_seq == b->rename_seq &&
	       a->mount_seq == b->mount_seq && a->dev == b->dev &&
	       a->i_generation == b->i_generation && a->guard == b->guard;
}

/*
 * By the inode's address (read with BPF_CORE_READ, a plain value): some
 * hooks get the dentry as a trusted pointer, on which the verifier allows
 * no shifts. Inodes are slab objects of several hundred bytes, so the low
 * bits are skipped.
 */
static __always_inline __u32 fs_cache_index(__u64 inode)
{
	return ((inode >> 6) ^ (inode >> 12)) & (FS_CACHE_SLOTS - 1);
}

/*
 * collect_fs_rules() through the task's cache. The result is stored only if
 * the key, computed again after the walk, has not changed: a walk that raced
 * with a rename, a mount change or a policy change may have seen a mix of
 * old and new. One walk on every path, so the verifier checks it once.
 */
static __always_inline void collect_fs_rules_cached(struct effective *eff,
						    const struct subject *s,
						    struct dentry *dentry, struct vfsmount *mnt,
						    bool guard)
{
	struct task_struct *current = bpf_get_current_task_btf();
	struct fs_cache_key key = {}, after = {};
	struct fs_cache_slot *slot;
	struct fs_cache *cache;

	fs_cache_key_of(&key, s, dentry, mnt, guard);
	if (key.dentry) {
		cache = bpf_task_storage_get(&fs_cache, current, 0, 0);
		slot = cache ? &cache->slot[fs_cache_index(key.inode)] : NULL;
		if (slot && fs_cache_key_eq(&slot->key, &key)) {
			*eff = slot->eff;
			return;
		}
	}
	collect_fs_rules(eff, s, dentry, mnt, guard);
	fs_cache_key_of(&after, s, dentry, mnt, guard);
	if (!after.dentry || !fs_cache_key_eq(&after, &key))
		return;
	cache = bpf_task_storage_get(&fs_cache, current, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!cache)
		return; /* no memory: no cache, the walk's result still decides */
	slot = &cache->slot[fs_cache_index(key.inode)];
	slot->key = key;
	slot->eff = *eff;
}

#endif /* __BPFBOX_CACHE_H */
