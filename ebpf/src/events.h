/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Counters and ring-buffer events for bpfboxd. */
#ifndef __BPFBOX_EVENTS_H
#define __BPFBOX_EVENTS_H

static __always_inline void count_n(__u32 stat, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &stat);

	/* atomic: another program can preempt us on this CPU mid-update */
	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline void count(__u32 stat)
{
	count_n(stat, 1);
}

/* Decisions the daemon hears about; a plain ALLOW is not an event. */
#define BPFBOX_DECISION_REPORTED                                                                  \
	(BPFBOX_DECISION_AUDIT | BPFBOX_DECISION_TAINT | BPFBOX_DECISION_DENY |                   \
	 BPFBOX_DECISION_COMPLAIN)

static __always_inline void count_decision(__u32 decision)
{
	if (decision & BPFBOX_DECISION_DENY)
		count(BPFBOX_STAT_DENIED);
	if (decision & BPFBOX_DECISION_COMPLAIN)
		count(BPFBOX_STAT_COMPLAINED);
	if (decision & BPFBOX_DECISION_TAINT)
		count(BPFBOX_STAT_TAINTED);
}

/*
 * Reserves an event with the subject filled in, or counts it as lost: the
 * daemon reports events + lost, so a full ring buffer is never silent.
 */
static __always_inline struct bpfbox_event *event_begin(const struct bpfbox_task *task,
							 __u32 kind, __u32 hook, __u32 access,
							 __u32 decision)
{
	struct bpfbox_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	__u64 pid_tgid;

	if (!e) {
		count(BPFBOX_STAT_LOST);
		return NULL;
	}
	pid_tgid = bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->profile_id = task->profile_id;
	e->target_profile = 0;
	e->ino = 0;
	e->dev = 0;
	e->pid = (__u32)pid_tgid;
	e->tgid = pid_tgid >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->kind = kind;
	e->hook = hook;
	e->access = access;
	e->decision = decision;
	e->detail = 0;
	e->target_pid = 0;
	e->path_len = 0;
	e->flags = 0;
	e->count = 1;
	e->_pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

static __always_inline void event_submit(struct bpfbox_event *e)
{
	bpf_ringbuf_submit(e, 0);
	count(BPFBOX_STAT_EVENTS);
}

#endif /* __BPFBOX_EVENTS_H */
