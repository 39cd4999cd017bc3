/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Capabilities (bpfcontain had them, bpfbox did not): one rule per
 * (profile, capability); a capability is granted by bit 0 of `allow`.
 */
#ifndef __BPFBOX_CAP_H
#define __BPFBOX_CAP_H

#define CAP_OPT_NOAUDIT (1 << 1)

SEC("lsm/capable")
int BPF_PROG(capable, const struct cred *cred, struct user_namespace *ns, int cap,
	     unsigned int opts, int ret)
{
	struct bpfbox_cap_key key = { .cap = cap };
	struct effective eff = {};
	struct bpfbox_rule *rule;
	struct bpfbox_event *e;
	struct subject s;
	__u32 decision;

	if (ret)
		return ret;
	if (!current_subject(&s))
		return 0;
	key.rules_id = s.rules;
	rule = bpf_map_lookup_elem(&cap_rules, &key);
	if (rule)
		effective_add(&eff, rule, s.task->state);
	decision = decide(s.task, s.profile->mode, &eff, 1);
	count_decision(decision);
	/* "noaudit" checks only ask whether the task could: stay quiet */
	if ((decision & BPFBOX_DECISION_REPORTED) && !(opts & CAP_OPT_NOAUDIT)) {
		e = event_begin(s.task, BPFBOX_EVENT_CAP, BPFBOX_HOOK_CAPABLE, 1, decision);
		if (e) {
			e->detail = cap;
			event_submit(e);
		}
	}
	return verdict(decision);
}

#endif /* __BPFBOX_CAP_H */
