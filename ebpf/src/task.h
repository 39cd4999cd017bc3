/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Which profile confines the current task. */
#ifndef __BPFBOX_TASK_H
#define __BPFBOX_TASK_H

/*
 * The confined task making a request, and its (enabled) profile. `rules` is
 * read from the profile once, so one hook sees one version of the rules.
 */
struct subject {
	struct bpfbox_task *task;
	struct bpfbox_profile *profile;
	__u64 rules;
};

/*
 * The only work an unconfined task pays for on every hook. A task that no
 * BPF program gave task storage cannot have ours: one load from the task,
 * no helper call. Otherwise (a confined task, or some other program's
 * storage) one task-storage lookup.
 */
static __always_inline struct bpfbox_task *current_confined(void)
{
	struct task_struct *current = bpf_get_current_task_btf();

	if (!current->bpf_storage)
		return NULL;
	return bpf_task_storage_get(&task_state, current, 0, 0);
}

/* The task's profile, or NULL when the profile is gone or disabled. */
static __always_inline struct bpfbox_profile *active_profile(const struct bpfbox_task *task)
{
	struct bpfbox_profile *profile = bpf_map_lookup_elem(&profiles, &task->profile_id);

	if (profile && profile->mode == BPFBOX_MODE_DISABLED)
		return NULL;
	return profile;
}

#endif /* __BPFBOX_TASK_H */
