/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * bpfbox's decision procedure. The policy crate's `decide_entry` is the
 * reference (the oracle the guest tests compare against); keep the two in
 * step.
 */
#ifndef __BPFBOX_DECIDE_H
#define __BPFBOX_DECIDE_H

/* The accesses that every matching rule grants, per action, in this state. */
struct effective {
	__u32 allow;
	__u32 taint;
	__u32 audit;
	__u32 found; /* at least one rule matched the object */
	/* bpfboxd's own process or places: these accesses are denied in every mode */
	__u32 guarded;
};

/* Every access: bpfboxd's process, its /proc, a signal or ptrace to it. */
#define BPFBOX_GUARD_ALL 0xffffffffU

static __always_inline __u32 access_in_state(const struct bpfbox_access *a, __u64 state)
{
	return a->access | ((a->state & state) ? a->ctx_access : 0);
}

static __always_inline void effective_add(struct effective *eff, const struct bpfbox_rule *rule,
					  __u64 state)
{
	eff->allow |= access_in_state(&rule->allow, state);
	eff->taint |= access_in_state(&rule->taint, state);
	eff->audit |= access_in_state(&rule->audit, state);
	eff->found = 1;
}

/*
 * Returns BPFBOX_DECISION_* bits and taints the task when a taint rule
 * matches. In complain mode a denial becomes COMPLAIN: logged, not enforced.
 */
static __always_inline __u32 decide(struct bpfbox_task *task, __u32 mode,
				    const struct effective *eff, __u32 requested)
{
	__u32 d = 0;

	if (eff->guarded & requested)
		return BPFBOX_DECISION_DENY;
	if (!eff->found) {
		d = (task->flags & BPFBOX_TASK_TAINTED) ? BPFBOX_DECISION_DENY :
							  BPFBOX_DECISION_ALLOW;
		goto out;
	}
	if (requested & eff->audit)
		d |= BPFBOX_DECISION_AUDIT;
	if (!(task->flags & BPFBOX_TASK_TAINTED)) {
		if (requested & eff->taint) {
			task->flags |= BPFBOX_TASK_TAINTED;
			d |= BPFBOX_DECISION_TAINT;
		}
		d |= BPFBOX_DECISION_ALLOW;
		goto out;
	}
	if ((requested & eff->allow) == requested)
		d |= BPFBOX_DECISION_ALLOW;
	else
		d |= BPFBOX_DECISION_DENY;
out:
	if ((d & BPFBOX_DECISION_DENY) && mode == BPFBOX_MODE_COMPLAIN)
		d = (d & ~BPFBOX_DECISION_DENY) | BPFBOX_DECISION_COMPLAIN;
	return d;
}

/* What the hook returns for a decision. */
static __always_inline int verdict(__u32 decision)
{
	return (decision & BPFBOX_DECISION_DENY) ? -EPERM : 0;
}

#endif /* __BPFBOX_DECIDE_H */
