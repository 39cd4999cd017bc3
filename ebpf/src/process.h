/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Process tracking: a task takes a profile when it execs a profiled
 * executable, keeps it across later execs, and passes it on to every task it
 * creates. State lives in task local storage and dies with the task.
 */
#ifndef __BPFBOX_PROCESS_H
#define __BPFBOX_PROCESS_H

#define CLONE_THREAD 0x00010000

/* Scratch for an executable's path: too big for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[BPFBOX_EXE_PATH_MAX]);
} exe_path_scratch SEC(".maps");

/*
 * The profile whose executable path `path` is, or NULL: the path as
 * bpf_d_path gives it (from the task's root, through its mounts), hashed as
 * the daemon hashes the profile's path. A path that does not fit is no
 * profile's: the daemon keys no path that long.
 */
static __always_inline __u64 *profile_by_path(struct path *path)
{
	__u64 hash = BPFBOX_FNV_OFFSET;
	__u32 zero = 0;
	char *buf;
	long len;

	buf = bpf_map_lookup_elem(&exe_path_scratch, &zero);
	if (!buf)
		return NULL;
	/* the length includes the NUL */
	len = bpf_d_path(path, buf, BPFBOX_EXE_PATH_MAX);
	if (len <= 1)
		return NULL;
	for (__u32 i = 0; i < BPFBOX_EXE_PATH_MAX - 1; i++) {
		if (i >= len - 1)
			break;
		hash ^= (__u8)buf[i];
		hash *= BPFBOX_FNV_PRIME;
	}
	return bpf_map_lookup_elem(&exe_paths, &hash);
}

/*
 * bprm_check_security runs once per binary handler: for a script, first with
 * the script, then with its interpreter. The first profiled file wins, so a
 * profile can name a script or the interpreter that runs it. It can fail the
 * exec, which is what fail-closed needs when storage cannot be allocated.
 *
 * A file is a profile's executable by identity (what the daemon resolved
 * the profile's path to) or, failing that, by its path: whatever file is at
 * the path when it is exec'd is confined, with no daemon in the loop (a
 * package upgrade renames a new file over the old one).
 */
/*
 * Gives the current task the profile whose executable `file` is (by
 * identity, or by path), if one is: `file` is being exec'd, or mapped to
 * run. Fails (ENOMEM) when storage for the task cannot be allocated, which
 * is what fail-closed needs. `file` is a pointer the verifier knows.
 */
static __always_inline int confine(struct task_struct *current, struct file *file)
{
	struct bpfbox_inode_key key = {};
	struct bpfbox_profile *profile;
	struct bpfbox_task *task;
	struct inode *inode;
	__u64 *profile_id;
	bool by_path = false;

	inode = file->f_inode;
	key.ino = inode->i_ino;
	key.dev = inode->i_sb->s_dev;
	profile_id = bpf_map_lookup_elem(&exe_profiles, &key);
	if (!profile_id) {
		profile_id = profile_by_path(&file->f_path);
		by_path = true;
	}
	if (!profile_id)
		return 0;
	profile = bpf_map_lookup_elem(&profiles, profile_id);
	if (!profile)
		return 0;

	task = bpf_task_storage_get(&task_state, current, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!task) {
		count(BPFBOX_STAT_ERRORS);
		return -ENOMEM;
	}
	task->profile_id = *profile_id;
	task->profile_gen = 0; /* no copy of it yet (task.h) */
	task->state = 0;
	task->flags = (profile->flags & BPFBOX_PROFILE_TAINT_ON_EXEC) ? BPFBOX_TASK_TAINTED : 0;
	task->exe_ino = key.ino;
	task->exe_dev = key.dev;
	if (by_path) {
		count(BPFBOX_STAT_EXEC_BY_PATH);
		/* the daemon has not probed this file's functions: no context
		 * will ever be set, and the task starts with the least access */
		if (profile->flags & BPFBOX_PROFILE_EXE_PROBED)
			task->flags |= BPFBOX_TASK_TAINTED;
	}
	list_confined(current, *profile_id);
	return 0;
}

/*
 * bprm_check_security runs once per binary handler: for a script, first with
 * the script, then with its interpreter. The first profiled file wins, so a
 * profile can name a script or the interpreter that runs it. It can fail the
 * exec, which is what fail-closed needs when storage cannot be allocated.
 *
 * A file is a profile's executable by identity (what the daemon resolved
 * the profile's path to) or, failing that, by its path: whatever file is at
 * the path when it is exec'd is confined, with no daemon in the loop (a
 * package upgrade renames a new file over the old one).
 */
SEC("lsm/bprm_check_security")
int BPF_PROG(bprm_check_security, struct linux_binprm *bprm, int ret)
{
	struct task_struct *current;
	struct bpfbox_task *task;

	if (ret)
		return ret;
	current = bpf_get_current_task_btf();
	task = current_confined();
	if (task) {
		/*
		 * already confined: the profile sticks across exec, but the new
		 * image runs none of the old image's functions (their return
		 * probes will never fire)
		 */
		task->state = 0;
		__builtin_memset(task->depth, 0, sizeof(task->depth));
		return 0;
	}
	/* direct loads: `bprm` is the hook's trusted argument */
	return confine(current, bprm->file);
}

/*
 * Running a profiled program through the dynamic loader
 * (`ld-linux-x86-64.so.2 /usr/bin/app`) execs the loader, which then maps
 * the program to run it: the task takes the program's profile at that
 * mapping, as at an exec. Only files someone may execute are looked up
 * (libraries are not, on Debian); a profile for the loader itself would
 * confine every dynamically linked program, as the kernel maps it for each.
 */
static __always_inline int confine_mapped(struct file *file)
{
	struct task_struct *current = bpf_get_current_task_btf();

	if (current->bpf_storage && confined_task(current))
		return 0;
	if (!(file->f_inode->i_mode & 0111))
		return 0;
	return confine(current, file);
}

/* Children and threads inherit the profile and taint of their creator. */
SEC("lsm/task_alloc")
int BPF_PROG(task_alloc, struct task_struct *new, unsigned long clone_flags, int ret)
{
	struct bpfbox_task *parent, *child;

	if (ret)
		return ret;
	parent = current_confined();
	if (!parent)
		return 0;
	child = bpf_task_storage_get(&task_state, new, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!child) {
		/* an unconfined child of a confined task would be an escape */
		count(BPFBOX_STAT_ERRORS);
		return -ENOMEM;
	}
	child->profile_id = parent->profile_id;
	child->profile_gen = 0; /* it takes its own copy (task.h) */
	child->flags = parent->flags;
	child->exe_ino = parent->exe_ino;
	child->exe_dev = parent->exe_dev;
	/*
	 * io_uring's worker and SQPOLL threads run requests of every thread of
	 * the process, for as long as the ring lives: whatever their creator's
	 * taint and contexts were then, they act with the least access the
	 * profile allows (tainted, outside every context), so a ring never
	 * does more than its submitters could after tainting.
	 */
	if (new->flags & PF_IO_WORKER) {
		child->flags |= BPFBOX_TASK_TAINTED;
		child->state = 0;
		__builtin_memset(child->depth, 0, sizeof(child->depth));
		return 0;
	}
	if (clone_flags & CLONE_THREAD) {
		/* a new thread starts outside the functions its creator is in */
		child->state = 0;
		__builtin_memset(child->depth, 0, sizeof(child->depth));
	} else {
		/* a forked process continues on a copy of its parent's stack */
		child->state = parent->state;
		__builtin_memcpy(child->depth, parent->depth, sizeof(child->depth));
	}
	return 0;
}

#endif /* __BPFBOX_PROCESS_H */
