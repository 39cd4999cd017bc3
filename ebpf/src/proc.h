/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * /proc/<pid>: a confined task may use its own; another process's follows
 * the `proc` rules for (own profile, target's profile). Task storage of the
 * target cannot be reached from a /proc inode on every kernel we support, so
 * confined processes are also listed by tgid in `confined_pids`.
 */
#ifndef __BPFBOX_PROC_H
#define __BPFBOX_PROC_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* tgid */
	__type(value, struct bpfbox_confined_pid);
} confined_pids SEC(".maps");

static __always_inline void list_confined(struct task_struct *task, __u64 profile_id)
{
	struct bpfbox_confined_pid value = { .profile_id = profile_id, .leader = (__u64)task };
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (BPF_CORE_READ(task, pid) != tgid)
		return; /* threads share their process's entry */
	if (bpf_map_update_elem(&confined_pids, &tgid, &value, BPF_ANY))
		count(BPFBOX_STAT_ERRORS);
}

/* Forks and new threads: the child's pid exists only after task_alloc. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct bpfbox_task *task = confined_task(child);

	if (task)
		list_confined(child, task->profile_id);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *exiting)
{
	struct bpfbox_confined_pid *entry;
	__u32 tgid;

	/*
	 * Every exit passes here. A task with no task storage at all was never
	 * confined (list_confined() lists only tasks with task_state, which
	 * lives until the task is freed), and has no pending reports: one load.
	 */
	if (!exiting->bpf_storage)
		return 0;
	tgid = BPF_CORE_READ(exiting, tgid);
	report_flush_all(exiting);
	if (BPF_CORE_READ(exiting, pid) != tgid)
		return 0;
	entry = bpf_map_lookup_elem(&confined_pids, &tgid);
	if (entry && entry->leader == (__u64)exiting)
		bpf_map_delete_elem(&confined_pids, &tgid);
	return 0;
}

/*
 * If the object is /proc/<pid>/… of some process, returns that process's
 * tgid and adds its rules: self gets bpfbox's automatic grant, another
 * process only the proc rules for its profile (object 0 when unconfined) -
 * never fs rules, or a broad rule on all of /proc would expose every process's
 * environ and memory. Returns 0 for any other object.
 */
static __always_inline __u32 add_proc_rules(struct effective *eff, const struct subject *s,
					    struct inode *inode, unsigned long magic)
{
	struct proc_inode *pinode;
	struct bpfbox_pair_key key = {};
	struct bpfbox_confined_pid *target;
	struct hlist_node *first;
	struct task_struct *owner;
	struct bpfbox_rule *rule;
	struct pid *pid;
	__u32 tgid;

	if (!inode || magic != PROC_SUPER_MAGIC)
		return 0;
	pinode = (void *)inode - bpf_core_field_offset(struct proc_inode, vfs_inode);
	pid = BPF_CORE_READ(pinode, pid);
	if (!pid)
		return 0; /* /proc/meminfo and friends: ordinary fs rules */
	first = BPF_CORE_READ(pid, tasks[0].first);
	if (!first)
		return 0; /* the process is gone */
	owner = (void *)first - bpf_core_field_offset(struct task_struct, pid_links);
	tgid = BPF_CORE_READ(owner, tgid);
	eff->found = 1;
	if (tgid == bpf_get_current_pid_tgid() >> 32) {
		eff->allow |= BPFBOX_FS_READ | BPFBOX_FS_WRITE | BPFBOX_FS_APPEND |
			      BPFBOX_FS_EXEC | BPFBOX_FS_GETATTR | BPFBOX_FS_SETATTR;
		return tgid;
	}
	target = bpf_map_lookup_elem(&confined_pids, &tgid);
	key.subject = s->rules;
	key.object = target ? target->profile_id : 0;
	rule = bpf_map_lookup_elem(&proc_rules, &key);
	if (rule)
		effective_add(eff, rule, s->task->state);
	return tgid;
}

#endif /* __BPFBOX_PROC_H */
