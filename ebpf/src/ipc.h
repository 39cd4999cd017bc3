/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Signals and ptrace between profiles: rules are keyed by (subject profile,
 * target profile), the target's being 0 when it is unconfined. Nothing
 * confined may signal or trace bpfboxd, in any mode.
 */
#ifndef __BPFBOX_IPC_H
#define __BPFBOX_IPC_H

/* bpfbox's signal classes. */
static __always_inline __u32 signal_access(int sig)
{
	switch (sig) {
	case 0:
		return BPFBOX_IPC_SIGCHECK;
	case SIGCHLD:
		return BPFBOX_IPC_SIGCHLD;
	case SIGKILL:
		return BPFBOX_IPC_SIGKILL;
	case SIGSTOP:
		return BPFBOX_IPC_SIGSTOP;
	default:
		return BPFBOX_IPC_SIGMISC;
	}
}

/* Decides `access` by confined subject `s` (acting task `actor`) on `target`. */
static __always_inline __u32 check_task(struct subject *s, __u32 hook, struct task_struct *target,
					__u32 access, __u32 detail)
{
	struct bpfbox_task *other = bpf_task_storage_get(&task_state, target, 0, 0);
	struct bpfbox_pair_key key = { .subject = s->rules };
	__u32 tgid = BPF_CORE_READ(target, tgid);
	struct effective eff = {};
	struct bpfbox_rule *rule;
	struct bpfbox_event *e;
	__u32 decision;

	key.object = other ? other->profile_id : 0;
	if (tgid == daemon_tgid()) {
		eff.guarded = BPFBOX_GUARD_ALL;
	} else {
		rule = bpf_map_lookup_elem(&ipc_rules, &key);
		if (rule)
			effective_add(&eff, rule, s->task->state);
	}
	decision = decide(s->task, s->profile->mode, &eff, access);
	count_decision(decision);
	if (decision & BPFBOX_DECISION_REPORTED) {
		e = event_begin(s->task,
				eff.guarded ? BPFBOX_EVENT_SELF_PROTECT : BPFBOX_EVENT_IPC, hook,
				access, decision);
		if (e) {
			e->target_profile = key.object;
			e->target_pid = tgid;
			e->detail = detail;
			event_submit(e);
		}
	}
	return decision;
}

SEC("lsm/task_kill")
int BPF_PROG(task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	struct subject s;

	if (ret)
		return ret;
	/* signals the kernel sends itself are not the task's doing */
	if (info == SEND_SIG_PRIV || !current_subject(&s))
		return 0;
	return verdict(check_task(&s, BPFBOX_HOOK_TASK_KILL, p, signal_access(sig), sig));
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(ptrace_access_check, struct task_struct *child, unsigned int mode, int ret)
{
	struct subject s;

	if (ret)
		return ret;
	if (!current_subject(&s))
		return 0;
	return verdict(check_task(&s, BPFBOX_HOOK_PTRACE, child, BPFBOX_IPC_PTRACE, mode));
}

/*
 * PTRACE_TRACEME makes the parent the tracer: check the parent's profile for
 * tracing us, and refuse a confined task offering itself to bpfboxd.
 */
SEC("lsm/ptrace_traceme")
int BPF_PROG(ptrace_traceme, struct task_struct *parent, int ret)
{
	struct bpfbox_task *tracer;
	struct subject s;

	if (ret)
		return ret;
	tracer = bpf_task_storage_get(&task_state, parent, 0, 0);
	if (!tracer) {
		if (!current_subject(&s))
			return 0;
		return verdict(check_task(&s, BPFBOX_HOOK_PTRACE_TRACEME, parent,
					  BPFBOX_IPC_PTRACE, 0));
	}
	s.current = parent; /* the subject here is the tracer */
	s.task = tracer;
	s.profile = active_profile(tracer);
	if (!s.profile)
		return 0;
	s.rules = s.profile->rules_id;
	return verdict(check_task(&s, BPFBOX_HOOK_PTRACE_TRACEME, bpf_get_current_task_btf(),
				  BPFBOX_IPC_PTRACE, 0));
}

#endif /* __BPFBOX_IPC_H */
