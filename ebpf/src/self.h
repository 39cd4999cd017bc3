/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Self-protection: bpfboxd's process is out of reach of every confined
 * task, in any mode and whatever its profile says. Signals, ptrace and its
 * /proc are guarded where they are decided (ipc.h, proc.h); here are bpf(2)
 * and every other way to act on another process: its resource limits,
 * priority, I/O priority, scheduling and CPU affinity, memory placement,
 * process group, and SIGIO/SIGURG delivery through a descriptor's owner.
 */
#ifndef __BPFBOX_SELF_H
#define __BPFBOX_SELF_H

/*
 * A confined task may not use bpf(2) at all (it could rewrite the maps or
 * detach the programs). The hook's arguments grew between kernels (6.12 vs
 * later), so the previous program's return value is not read here: a
 * confined task is refused, and for anyone else this program has no
 * opinion (0).
 */
SEC("lsm/bpf")
int BPF_PROG(bpf)
{
	struct bpfbox_event *e;
	struct bpfbox_task *task = current_confined();

	if (!task)
		return 0;
	count(BPFBOX_STAT_DENIED);
	e = event_begin(task, BPFBOX_EVENT_BPF, BPFBOX_HOOK_BPF, 0, BPFBOX_DECISION_DENY);
	if (e)
		event_submit(e);
	return -EPERM;
}

/*
 * Refuses a confined task acting on bpfboxd's process `target` (any of its
 * threads), and reports it; anything else is not ours to judge here.
 */
static __always_inline int guard_daemon(struct task_struct *target, __u32 hook)
{
	struct bpfbox_task *task;
	struct bpfbox_event *e;
	__u32 tgid;

	task = current_confined();
	if (!task)
		return 0;
	tgid = target->tgid; /* a direct load: `target` is the hook's argument */
	if (!tgid || tgid != daemon_tgid())
		return 0;
	count(BPFBOX_STAT_DENIED);
	e = event_begin(task, BPFBOX_EVENT_SELF_PROTECT, hook, 0, BPFBOX_DECISION_DENY);
	if (e) {
		e->target_pid = tgid;
		event_submit(e);
	}
	return -EPERM;
}

/* prlimit(2) and setrlimit on another process (RLIMIT_CPU would kill it) */
SEC("lsm/task_setrlimit")
int BPF_PROG(task_setrlimit, struct task_struct *p, unsigned int resource,
	     struct rlimit *new_rlim, int ret)
{
	if (ret)
		return ret;
	return guard_daemon(p, BPFBOX_HOOK_TASK_SETRLIMIT);
}

SEC("lsm/task_setnice")
int BPF_PROG(task_setnice, struct task_struct *p, int nice, int ret)
{
	if (ret)
		return ret;
	return guard_daemon(p, BPFBOX_HOOK_TASK_SETNICE);
}

SEC("lsm/task_setioprio")
int BPF_PROG(task_setioprio, struct task_struct *p, int ioprio, int ret)
{
	if (ret)
		return ret;
	return guard_daemon(p, BPFBOX_HOOK_TASK_SETIOPRIO);
}

/* sched_setscheduler, sched_setattr, sched_setaffinity */
SEC("lsm/task_setscheduler")
int BPF_PROG(task_setscheduler, struct task_struct *p, int ret)
{
	if (ret)
		return ret;
	return guard_daemon(p, BPFBOX_HOOK_TASK_SETSCHEDULER);
}

/* migrate_pages, move_pages */
SEC("lsm/task_movememory")
int BPF_PROG(task_movememory, struct task_struct *p, int ret)
{
	if (ret)
		return ret;
	return guard_daemon(p, BPFBOX_HOOK_TASK_MOVEMEMORY);
}

SEC("lsm/task_setpgid")
int BPF_PROG(task_setpgid, struct task_struct *p, pid_t pgid, int ret)
{
	if (ret)
		return ret;
	return guard_daemon(p, BPFBOX_HOOK_TASK_SETPGID);
}

/*
 * A signal sent because a descriptor's owner (F_SETOWN) is bpfboxd, with
 * the signal F_SETSIG chose (SIGKILL too): send_sigio() does not go through
 * task_kill, and it runs in whatever task caused the I/O, not necessarily
 * the one that set the owner. bpfboxd never asks for SIGIO, so it gets
 * none, from anyone.
 */
SEC("lsm/file_send_sigiotask")
int BPF_PROG(file_send_sigiotask, struct task_struct *tsk, struct fown_struct *fown, int sig,
	     int ret)
{
	struct bpfbox_task *task;
	struct bpfbox_event *e;
	__u32 tgid;

	if (ret)
		return ret;
	tgid = tsk->tgid;
	if (!tgid || tgid != daemon_tgid())
		return 0;
	count(BPFBOX_STAT_DENIED);
	task = current_confined();
	if (task) {
		e = event_begin(task, BPFBOX_EVENT_SELF_PROTECT, BPFBOX_HOOK_FILE_SEND_SIGIOTASK,
				0, BPFBOX_DECISION_DENY);
		if (e) {
			e->target_pid = tgid;
			e->detail = sig;
			event_submit(e);
		}
	}
	return -EPERM;
}

#endif /* __BPFBOX_SELF_H */
