/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * io_uring. A ring runs requests on the kernel's own threads (io-wq
 * workers, the SQPOLL thread), possibly long after its creator made it and
 * under credentials registered earlier, and it is a large attack surface of
 * its own. So:
 * - a confined task may make a ring only when its profile says
 *   `io_uring = true` (in complain mode, reported);
 * - a request may not run under a registered personality (other
 *   credentials), in any mode;
 * - the ring's threads act with the least access the profile allows
 *   (process.h), and are judged whatever credentials they run requests
 *   under (object.h).
 */
#ifndef __BPFBOX_URING_H
#define __BPFBOX_URING_H

static __always_inline void report_uring(const struct bpfbox_task *task, __u32 hook,
					 __u32 decision)
{
	struct bpfbox_event *e = event_begin(task, BPFBOX_EVENT_IO_URING, hook, 0, decision);

	if (e)
		event_submit(e);
}

/*
 * io_uring_setup() makes the ring's file with an inode of its own, named
 * "[io_uring]" (6.1: anon_inode_getfile_secure, 6.12:
 * anon_inode_create_getfile): refusing it here fails the setup with EPERM.
 * userfaultfd and secretmem come here too, under their own names.
 */
SEC("lsm/inode_init_security_anon")
int BPF_PROG(inode_init_security_anon, struct inode *inode, const struct qstr *name,
	     const struct inode *context_inode, int ret)
{
	/* "[io_uring]", compared as 8 + 2 little-endian bytes */
	const __u64 head = 0x6e6972755f6f695bULL; /* "[io_urin" */
	const __u16 tail = 0x5d67; /* "g]" */
	struct {
		__u64 head;
		__u16 tail;
	} seen = {};
	struct subject s;
	__u32 decision;

	if (ret)
		return ret;
	if (!current_subject(&s))
		return 0;
	if (name->len != 10 || bpf_probe_read_kernel(&seen, 10, name->name))
		return 0;
	if (seen.head != head || seen.tail != tail)
		return 0;
	if (s.profile->flags & BPFBOX_PROFILE_IO_URING)
		return 0;
	decision = s.profile->mode == BPFBOX_MODE_COMPLAIN ? BPFBOX_DECISION_COMPLAIN :
							     BPFBOX_DECISION_DENY;
	count_decision(decision);
	report_uring(s.task, BPFBOX_HOOK_IO_URING_SETUP, decision);
	return verdict(decision);
}

/* A request under a personality registered with IORING_REGISTER_PERSONALITY. */
SEC("lsm/uring_override_creds")
int BPF_PROG(uring_override_creds, const struct cred *new, int ret)
{
	struct subject s;

	if (ret)
		return ret;
	if (!current_subject(&s))
		return 0;
	count(BPFBOX_STAT_DENIED);
	report_uring(s.task, BPFBOX_HOOK_URING_OVERRIDE_CREDS, BPFBOX_DECISION_DENY);
	return -EPERM;
}

#endif /* __BPFBOX_URING_H */
