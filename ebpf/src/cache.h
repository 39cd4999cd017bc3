/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A confined task's recent file decisions, so that an access it repeats
 * costs one lookup instead of a walk from the object to the root; and its
 * recent directories' chains (fs_rules.h), so that a new entry of a known
 * directory (a file just created, renamed or about to be removed) costs its
 * own few lookups and no walk.
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
 * A chain is keyed like an object, by its directory: it depends on the
 * same things, less the object's own name and inode.
 *
 * The caches are in task local storage (the object cache in the task's
 * state, storage.h; the chain cache here): only the task itself reads or
 * writes its slots, so no slot is ever read half-written; a new task starts
 * empty.
 */
#ifndef __BPFBOX_CACHE_H
#define __BPFBOX_CACHE_H

/*
 * A task's chain cache and the scratch of its walks. Its object cache is in
 * its state (storage.h): a hit, most checks, then costs no second
 * task-storage lookup.
 */
struct fs_cache {
	struct fs_cache_slot chain[FS_CACHE_SLOTS]; /* keyed by the directory */
	/*
	 * The keys of a walk in progress, read before it and stored with its
	 * result after it. Kept here, not on the stack: the verifier tracks
	 * the stack's values, and a key left half-filled in a different way
	 * by each early return of fs_cache_key_of() made it explore the
	 * chain's loop once per way (4x the instructions, rename's programs
	 * over the limit). A map value's contents it does not track. Only the
	 * task itself uses its storage, and hooks do not nest within a task.
	 */
	struct fs_cache_key object_key;
	struct fs_cache_key chain_key;
	/* the object of a walk in progress, as plain values (read.h) */
	__u64 walked;
	__u64 walked_mnt;
	/* its inode, read before the walk while its pointers are known */
	struct own_id own;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fs_cache);
} fs_cache SEC(".maps");

/* The sequence of a kernel seqlock at `addr`; false when unknown or odd (a writer is in). */
static __always_inline bool read_seq(__u64 addr, __u32 *seq)
{
	if (!addr || bpf_probe_read_kernel(seq, sizeof(*seq), (void *)addr))
		return false;
	return !(*seq & 1);
}

/*
 * Everything the walk's result depends on, as of now, into `k`; `inode` is
 * the dentry's (read once by the caller), read directly or not (read.h).
 * When the object must not be cached, k->dentry stays 0, which no stored
 * key has.
 */
static __always_inline void fs_cache_key_of(struct fs_cache_key *k, const struct subject *s,
					    struct dentry *dentry, struct inode *inode,
					    struct vfsmount *mnt, bool guard, bool direct)
{
	__u32 zero = 0;
	struct bpfbox_config *c = bpf_map_lookup_elem(&config, &zero);
	__u64 *gen = policy_generation();

	k->dentry = 0;
	if (!c || !gen || !inode)
		return;
	if (!read_seq(c->rename_seq, &k->rename_seq) || !read_seq(c->mount_seq, &k->mount_seq))
		return;
	if ((KREAD(direct, inode, i_mode) & S_IFMT) != S_IFDIR && KREAD(direct, inode, i_nlink) > 1)
		return;
	k->mnt = (__u64)mnt;
	k->inode = (__u64)inode;
	k->ino = KREAD(direct, inode, i_ino);
	k->dev = KREAD2(direct, inode, i_sb, s_dev);
	k->i_generation = KREAD(direct, inode, i_generation);
	k->rules = s->rules;
	k->state = s->task->state;
	k->generation = *(volatile __u64 *)gen;
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
 * By the inode's number, a scalar wherever it is read (an address the
 * verifier knows as a pointer cannot be shifted). Numbers are handed out
 * in sequence, so the low bits spread a directory's entries.
 */
static __always_inline __u32 fs_cache_index(__u64 ino)
{
	return (ino ^ (ino >> 8)) & (FS_CACHE_SLOTS - 1);
}

/*
 * Whether what can change during a walk — the kernel's rename and mount
 * sequences and the daemon's policy generation — is still as in `k`: a walk
 * that raced with a rename, a mount change or a policy change may have seen
 * a mix of old and new, and its result is not stored.
 */
static __always_inline bool fs_cache_key_still(const struct fs_cache_key *k)
{
	__u32 zero = 0, rename_seq, mount_seq;
	struct bpfbox_config *c = bpf_map_lookup_elem(&config, &zero);
	__u64 *gen = policy_generation();

	return c && gen && *(volatile __u64 *)gen == k->generation &&
	       read_seq(c->rename_seq, &rename_seq) && rename_seq == k->rename_seq &&
	       read_seq(c->mount_seq, &mount_seq) && mount_seq == k->mount_seq;
}

/*
 * A hit in the object cache, checked against the live values without
 * building a key first: most checks end here. The same fields as
 * fs_cache_key_of() and fs_cache_key_eq(), the cheap ones first; the
 * seqcounts, which cost a helper call each, only when all else matches.
 * The policy generation is the one this hook's own_profile() read and
 * checked the task's profile copy against: the hook then judges by one
 * version of the policy throughout, without looking the generation up
 * again. The slots are in the task's state (storage.h).
 */
static __always_inline bool fs_cache_hit(struct effective *eff, const struct subject *s,
					 struct dentry *dentry, struct inode *inode,
					 struct vfsmount *mnt, bool guard, bool direct)
{
	__u32 zero = 0, seq;
	struct bpfbox_config *c;
	struct fs_cache_slot *slot;
	struct fs_cache_key *k;
	__u64 ino;

	if (!inode)
		return false;
	ino = KREAD(direct, inode, i_ino);
	slot = &object_slots(s->task)[fs_cache_index(ino)];
	k = &slot->key;
	if (k->ino != ino || k->dentry != (__u64)dentry || k->inode != (__u64)inode ||
	    k->mnt != (__u64)mnt || k->rules != s->rules || k->state != s->task->state ||
	    k->guard != guard || k->generation != s->task->profile_gen)
		return false;
	if (k->dev != KREAD2(direct, inode, i_sb, s_dev) ||
	    k->i_generation != KREAD(direct, inode, i_generation))
		return false;
	/* a name added since (a hard link) ends the caching, as in fs_cache_key_of() */
	if ((KREAD(direct, inode, i_mode) & S_IFMT) != S_IFDIR && KREAD(direct, inode, i_nlink) > 1)
		return false;
	c = bpf_map_lookup_elem(&config, &zero);
	if (!c || !read_seq(c->rename_seq, &seq) || seq != k->rename_seq ||
	    !read_seq(c->mount_seq, &seq) || seq != k->mount_seq)
		return false;
	count(BPFBOX_STAT_CACHE_HITS);
	*eff = slot->eff;
	return true;
}

/* The slot of `slots` (a cache's objects or chains) that holds `k`'s result, if one does. */
static __always_inline struct fs_cache_slot *fs_cache_slot_in(struct fs_cache_slot *slots,
							      const struct fs_cache_key *k)
{
	struct fs_cache_slot *slot;

	if (!k->dentry)
		return NULL;
	slot = &slots[fs_cache_index(k->ino)];
	return fs_cache_key_eq(&slot->key, k) ? slot : NULL;
}

/* Stores `eff` under `k` in `slots`, if nothing `k` depends on moved since it was read. */
static __always_inline void fs_cache_store(struct fs_cache_slot *slots,
					   const struct fs_cache_key *k,
					   const struct effective *eff)
{
	struct fs_cache_slot *slot;

	if (!k->dentry || !fs_cache_key_still(k))
		return;
	slot = &slots[fs_cache_index(k->ino)];
	slot->key = *k;
	slot->eff = *eff;
}

/*
 * The task's caches. Fetched again rather than kept across the chain's
 * loop: a pointer that is NULL on one path and not on another is two
 * states of the verifier through the loop.
 */
static __always_inline struct fs_cache *fs_cache_of(const struct subject *s, __u64 flags)
{
	return bpf_task_storage_get(&fs_cache, s->current, 0, flags);
}

/*
 * The chain above an object, into an empty `eff`: from the task's chain
 * cache, or walked (and then stored, its key kept meanwhile in the
 * cache's scratch). `dir` and `mnt` are plain values (read.h).
 */
static __always_inline void collect_chain_rules_cached(struct effective *eff,
						       const struct subject *s,
						       struct dentry *dir, struct vfsmount *mnt,
						       bool guard)
{
	struct fs_cache_key key = {};
	struct fs_cache *cache = fs_cache_of(s, 0);
	struct fs_cache_slot *slot;

	fs_cache_key_of(&key, s, dir, BPF_CORE_READ(dir, d_inode), mnt, guard, false);
	slot = cache ? fs_cache_slot_in(cache->chain, &key) : NULL;
	if (slot) {
		count(BPFBOX_STAT_CHAIN_HITS);
		*eff = slot->eff;
		return;
	}
	count(BPFBOX_STAT_WALKS);
	if (cache)
		cache->chain_key = key;
	collect_chain_rules(eff, s, dir, mnt, guard);
	cache = fs_cache_of(s, 0);
	if (cache)
		fs_cache_store(cache->chain, &cache->chain_key, eff);
}

/*
 * The chain above an entry from the chain cache, found by the entry's
 * parent directory while the hook's pointers are known (read.h): a new or
 * departing entry of a known directory then costs no helper call to find
 * its chain. False when the chain is not cached, or when the entry is the
 * root of its mount (the chain then continues at the mount point, which
 * walk_up() finds).
 */
static __always_inline bool chain_of_parent_cached(struct effective *eff,
						   const struct subject *s,
						   struct fs_cache *objects,
						   struct dentry *dentry, struct vfsmount *mnt,
						   bool guard)
{
	struct dentry *dir = dentry->d_parent;
	struct fs_cache_slot *slot;

	if (!mnt || dentry == mnt->mnt_root || dentry == dir)
		return false;
	fs_cache_key_of(&objects->chain_key, s, dir, dir->d_inode, mnt, guard, true);
	slot = fs_cache_slot_in(objects->chain, &objects->chain_key);
	if (!slot)
		return false;
	count(BPFBOX_STAT_CHAIN_HITS);
	*eff = slot->eff;
	return true;
}

/*
 * The rules that cover the object at (dentry, mnt), whose inode is `inode`,
 * into an empty `eff`: from the task's cache, or its directory's chain
 * (itself maybe cached) plus its own rules. The chain is collected first:
 * with one `effective` live across the loop the verifier's states stay few.
 * The chain's loop is the only loop, on every path, so the verifier checks
 * it once. Without memory for the caches the rules are collected all the
 * same, and nothing is stored. `object_cached` false skips the object
 * cache (not the chain's) for objects that are on their way out.
 *
 * `dentry`, `inode` and `mnt` are read as read.h's `direct` says, and a
 * hit in the object cache is all those reads: that is most checks. The key
 * is built in task storage, whose contents the verifier does not track, so
 * the pointers stored in it are plain values when read back; past the
 * object cache only plain values go on. Known pointers on the stack or
 * live across the chain's loop made the verifier explore it once per kind
 * of value (file_open went from 118 k instructions to 574 k on 6.12).
 */
static __always_inline void collect_fs_rules_cached(struct effective *eff,
						    const struct subject *s,
						    struct dentry *dentry, struct inode *inode,
						    struct vfsmount *mnt, bool guard,
						    bool object_cached, bool direct)
{
	struct fs_cache *objects;
	struct own_id own = {};
	struct dentry *dir;
	struct vfsmount *dir_mnt;
	bool chained = false;

	if (object_cached && fs_cache_hit(eff, s, dentry, inode, mnt, guard, direct))
		return;
	objects = fs_cache_of(s, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (objects) {
		/* a miss: the key to store the walk's result under; key.dentry
		 * stays 0 when the object is not to be cached: no store */
		objects->object_key.dentry = 0;
		if (object_cached)
			fs_cache_key_of(&objects->object_key, s, dentry, inode, mnt, guard,
					direct);
		if (direct)
			chained = chain_of_parent_cached(eff, s, objects, dentry, mnt, guard);
		objects->own.inode = (__u64)inode;
		objects->own.ino = inode ? KREAD(direct, inode, i_ino) : 0;
		objects->own.dev = inode ? KREAD2(direct, inode, i_sb, s_dev) : 0;
		objects->walked = (__u64)dentry;
		objects->walked_mnt = (__u64)mnt;
		/* volatile: read back from memory, not forwarded from the store */
		dentry = (void *)*(volatile __u64 *)&objects->walked;
		mnt = (void *)*(volatile __u64 *)&objects->walked_mnt;
	} else if (direct) {
		dentry = plain(dentry);
		mnt = plain(mnt);
	}
	/*
	 * On a chain miss the walk reads the parent again and keys the chain
	 * by what it read, not by chain_of_parent_cached()'s key: the entry may
	 * have moved in between, and a chain must be stored under the very
	 * directory that was walked.
	 */
	dir = dentry;
	dir_mnt = mnt;
	if (!chained && walk_up(&dir, &dir_mnt))
		collect_chain_rules_cached(eff, s, dir, dir_mnt, guard);
	/*
	 * Its inode as read before the walk, from storage (live across the
	 * chain's loop, the pointer multiplied the verifier's states past its
	 * limit), if this walk's object is the one there; else read again.
	 */
	objects = fs_cache_of(s, 0);
	if (objects && *(volatile __u64 *)&objects->walked == (__u64)dentry) {
		own.inode = *(volatile __u64 *)&objects->own.inode;
		own.ino = *(volatile __u64 *)&objects->own.ino;
		own.dev = *(volatile __u32 *)&objects->own.dev;
	} else {
		own_id_of(&own, dentry);
	}
	collect_own_rules(eff, s, dentry, &own, guard);
	if (object_cached && objects)
		fs_cache_store(object_slots(s->task), &objects->object_key, eff);
}

#endif /* __BPFBOX_CACHE_H */
