/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Deciding and reporting one access by a confined task to a file object. */
#ifndef __BPFBOX_OBJECT_H
#define __BPFBOX_OBJECT_H

/*
 * False for unconfined tasks and disabled profiles: nothing to check.
 *
 * Also false while overlayfs acts for the task under its mounter's
 * credentials (override_creds): it opens, stats and changes the files of
 * its layers that way, after the hooks have checked the task's own request
 * on the overlay object, and judging the layer again would judge a path the
 * task never named. Other credentials are no reason to step aside: a core
 * dump is written under a copy of the task's credentials (PF_DUMPCORE),
 * and io_uring's threads run requests under the submitter's or a
 * registered personality's (PF_IO_WORKER); both are judged like the task.
 */
static __always_inline bool current_subject(struct subject *s)
{
	struct task_struct *current = bpf_get_current_task_btf();

	/*
	 * Direct loads from the trusted task, before any helper call: a task
	 * without task storage is unconfined (task.h), and one acting under
	 * other credentials is not judged here.
	 */
	if (!current->bpf_storage)
		return false;
	if (current->cred != current->real_cred &&
	    !(current->flags & (PF_DUMPCORE | PF_IO_WORKER)))
		return false;
	s->current = current;
	s->task = bpf_task_storage_get(&task_state, current, 0, 0);
	if (!s->task)
		return false;
	/* direct loads from the trusted task: its real user */
	s->profile = own_profile(s->task, current->real_cred->uid.val);
	if (!s->profile)
		return false;
	s->rules = s->profile->rules_id;
	return true;
}

static __always_inline __u32 daemon_tgid(void)
{
	__u32 zero = 0;
	struct bpfbox_config *c = bpf_map_lookup_elem(&config, &zero);

	return c ? c->daemon_tgid : 0;
}

/*
 * Pipes, sockets and anonymous inodes (eventfd, epoll, …) have no path a
 * rule could name; sockets are judged by the socket hooks, and pipes and the
 * rest only reach a task through an fd it was given or made itself.
 */
static __always_inline bool unnameable(unsigned long magic)
{
	return magic == PIPEFS_MAGIC || magic == SOCKFS_MAGIC || magic == ANON_INODE_FS_MAGIC;
}

static __always_inline void report_object(const struct bpfbox_task *task, __u32 hook,
					  __u32 access, __u32 decision, struct dentry *dentry,
					  struct file *file, __u32 target_tgid, bool guarded)
{
	struct inode *inode = BPF_CORE_READ(dentry, d_inode);
	struct report_slot *slot = NULL;
	struct report_cache *rc;
	struct bpfbox_event *e;
	__u64 now = 0;
	long len;

	__u32 kind = guarded ? BPFBOX_EVENT_SELF_PROTECT :
			       (target_tgid ? BPFBOX_EVENT_PROC : BPFBOX_EVENT_FS);
	/*
	 * An entry removed (the decision lets the unlink, rmdir or rename go
	 * on) is never reported again; kept, it would only push a report that
	 * does repeat out of its slot. It is sent as it is.
	 */
	bool gone = access == BPFBOX_FS_RM && !(decision & BPFBOX_DECISION_DENY);

	if (kind == BPFBOX_EVENT_FS && !gone) {
		rc = bpf_task_storage_get(&reports, bpf_get_current_task_btf(), 0,
					  BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (rc) {
			slot = report_slot_of(rc, inode, hook);
			now = bpf_ktime_get_boot_ns();
			if (report_repeat(slot, task, dentry, inode, hook, access, decision, now))
				return;
		}
	}
	e = event_begin(task, kind, hook, access, decision);
	if (!e)
		return;
	if (inode) {
		e->ino = BPF_CORE_READ(inode, i_ino);
		e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	}
	e->target_pid = target_tgid;
	if (file) {
		len = bpf_d_path(&file->f_path, e->path, sizeof(e->path));
		if (len > 0) {
			e->path_len = len;
			e->flags = BPFBOX_EVENT_F_FULL_PATH;
		}
	} else {
		len = bpf_probe_read_kernel_str(e->path, sizeof(e->path),
						BPF_CORE_READ(dentry, d_name.name));
		if (len > 0) {
			e->path_len = len;
			e->flags = BPFBOX_EVENT_F_NAME_ONLY;
		}
	}
	if (slot)
		report_keep(slot, e, dentry, inode, now);
	event_submit(e);
}

/*
 * Decides `access` to the object at (dentry, mnt) — mnt may be NULL where a
 * hook has no mount, which only stops the subtree walk at the file system's
 * root — reports it, and returns the decision. `file`, when given, is used
 * for a full path in the event; only hooks where bpf_d_path is allowed pass
 * one. `dentry` and `mnt` are pointers the verifier knows (`direct`, a
 * constant: read.h) or plain values.
 */
static __always_inline __u32 check_object(struct subject *s, __u32 hook, struct dentry *dentry,
					  struct vfsmount *mnt, __u32 access, struct file *file,
					  bool direct)
{
	struct inode *inode = KREAD(direct, dentry, d_inode);
	unsigned long magic = inode ? KREAD2(direct, inode, i_sb, s_magic) : 0;
	struct effective eff = {};
	__u32 target, decision;

	if (unnameable(magic))
		return BPFBOX_DECISION_ALLOW;

	target = add_proc_rules(&eff, s, inode, magic);
	if (target && target == daemon_tgid())
		eff.guarded = BPFBOX_GUARD_ALL;
	else if (!target)
		/* an entry being removed or renamed away is never met again under
		 * this key: looking it up and storing it would be wasted work */
		collect_fs_rules_cached(&eff, s, dentry, inode, mnt, access & BPFBOX_PROTECT_ALL,
					access != BPFBOX_FS_RM, direct);

	decision = decide(s->task, s->profile->mode, &eff, access);
	count_decision(decision);
	if (decision & BPFBOX_DECISION_REPORTED)
		report_object(s->task, hook, access, decision, dentry, file, target,
			      eff.guarded & access);
	return decision;
}

#endif /* __BPFBOX_OBJECT_H */
