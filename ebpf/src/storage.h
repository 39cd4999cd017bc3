/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What a confined task keeps in task local storage under `task_state`: its
 * state (struct bpfbox_task, bpfbox_abi.h) and, after it, its object cache
 * (cache.h). Kept in one value so that a check that hits the cache makes one
 * task-storage lookup, not two: under emulation a lookup was an eighth of a
 * cached check (docs/performance.md). A task without an entry is
 * unconfined; bpfboxd reads and writes none of these values.
 */
#ifndef __BPFBOX_STORAGE_H
#define __BPFBOX_STORAGE_H

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

#define FILE_SLOTS 16 /* direct-mapped by inode */

/*
 * An open file the task may use for `allowed` (BPFBOX_FS_*): judged when
 * the task opened it, received it, or first read or wrote it.
 */
struct file_slot {
	__u64 file; /* struct file *, 0: none */
	__u32 allowed;
	__u32 _pad;
};

struct task_storage {
	struct bpfbox_task task; /* first: a pointer to the one is one to the other */
	struct fs_cache_slot object[FS_CACHE_SLOTS];
	struct file_slot files[FILE_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_storage);
} task_state SEC(".maps");

/* The object cache of `task`, a value of task_state. */
static __always_inline struct fs_cache_slot *object_slots(struct bpfbox_task *task)
{
	return ((struct task_storage *)task)->object;
}

/* The slot of `task`'s judged files where a file of inode number `ino` goes. */
static __always_inline struct file_slot *file_slot(struct bpfbox_task *task, __u64 ino)
{
	return &((struct task_storage *)task)->files[(ino ^ (ino >> 8)) & (FILE_SLOTS - 1)];
}

#endif /* __BPFBOX_STORAGE_H */
