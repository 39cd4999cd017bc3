/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Self-protection: a confined task may not use bpf(2) at all (it could
 * rewrite the maps or detach the programs), in any mode.
 *
 * The hook's arguments grew between kernels (6.12 vs later), so the previous
 * program's return value is not read here: a confined task is refused, and
 * for anyone else this program has no opinion (0).
 */
#ifndef __BPFBOX_SELF_H
#define __BPFBOX_SELF_H

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

#endif /* __BPFBOX_SELF_H */
