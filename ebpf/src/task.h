/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Which profile confines the current task. */
#ifndef __BPFBOX_TASK_H
#define __BPFBOX_TASK_H

/*
 * The confined task making a request, and its (enabled) profile. `rules` is
 * read from the profile once, so one hook sees one version of the rules.
 */
struct subject {
	struct task_struct *current; /* kept: finding it again is a helper call */
	struct bpfbox_task *task;
	struct bpfbox_profile *profile;
	__u64 rules;
};

/*
 * `t`'s confinement state, or NULL: the only work an unconfined task pays
 * for on every hook. A task that no BPF program gave task storage cannot
 * have ours: one load from the task, no helper call. Otherwise (a confined
 * task, or some other program's storage) one task-storage lookup.
 */
static __always_inline struct bpfbox_task *confined_task(struct task_struct *t)
{
	if (!t->bpf_storage)
		return NULL;
	return bpf_task_storage_get(&task_state, t, 0, 0);
}

static __always_inline struct bpfbox_task *current_confined(void)
{
	return confined_task(bpf_get_current_task_btf());
}

/*
 * A task's profile, or NULL when the profile is gone or disabled, looked
 * up: for a task other than the current one (whose copy only it writes).
 */
static __always_inline struct bpfbox_profile *active_profile(const struct bpfbox_task *task)
{
	struct bpfbox_profile *profile = bpf_map_lookup_elem(&profiles, &task->profile_id);

	if (profile && profile->mode == BPFBOX_MODE_DISABLED)
		return NULL;
	return profile;
}

/*
 * The current task's profile, or NULL when the profile is gone or
 * disabled: its copy in the task's storage, while the policy generation it
 * was taken at lasts and the task's real user `uid` is the same; otherwise
 * looked up and copied again. Every change of the profiles map is followed
 * by a bump of the generation, and the generation is read before the
 * profile, so a copy is never older than the map was when its generation
 * was current. Only the task itself writes its copy, and hooks do not nest
 * within a task, so no hook reads it half written. A hash lookup under
 * emulation cost about 0.3 µs per hook.
 *
 * Where the profile has rules for this user alone (`uid_rules`: temporary
 * grants), the copy's rules id is theirs, so every check of this task
 * looks its rules up there, and no other user's process ever does.
 */
static __always_inline struct bpfbox_profile *own_profile(struct bpfbox_task *task, __u32 uid)
{
	__u64 *gen = policy_generation();
	__u64 now = gen ? *(volatile __u64 *)gen : 0;
	struct bpfbox_uid_key key = {};
	struct bpfbox_profile *profile;
	__u64 *rules;

	/* generation 0 (none yet) is never a copy's */
	if (!now || task->profile_gen != now || task->profile_uid != uid) {
		profile = bpf_map_lookup_elem(&profiles, &task->profile_id);
		if (!profile)
			return NULL;
		task->profile = *profile;
		key.profile_id = task->profile_id;
		key.uid = uid;
		rules = bpf_map_lookup_elem(&uid_rules, &key);
		if (rules)
			task->profile.rules_id = *rules;
		task->profile_gen = now;
		task->profile_uid = uid;
	}
	if (task->profile.mode == BPFBOX_MODE_DISABLED)
		return NULL;
	return &task->profile;
}

#endif /* __BPFBOX_TASK_H */
