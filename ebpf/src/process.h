/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Process tracking: a task takes a profile when it execs a profiled
 * executable, keeps it across later execs, and passes it on to every task it
 * creates. State lives in task local storage and dies with the task.
 */
#ifndef __BPFBOX_PROCESS_H
#define __BPFBOX_PROCESS_H

#define CLONE_THREAD 0x00010000

/*
 * bprm_check_security runs once per binary handler: for a script, first with
 * the script, then with its interpreter. The first profiled file wins, so a
 * profile can name a script or the interpreter that runs it. It can fail the
 * exec, which is what fail-closed needs when storage cannot be allocated.
 */
SEC("lsm/bprm_check_security")
int BPF_PROG(bprm_check_security, struct linux_binprm *bprm, int ret)
{
	struct task_struct *current;
	struct bpfbox_inode_key key = {};
	struct bpfbox_profile *profile;
	struct bpfbox_task *task;
	struct inode *inode;
	__u64 *profile_id;

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
	inode = bprm->file->f_inode;
	key.ino = inode->i_ino;
	key.dev = inode->i_sb->s_dev;
	profile_id = bpf_map_lookup_elem(&exe_profiles, &key);
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
	list_confined(current, *profile_id);
	return 0;
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
