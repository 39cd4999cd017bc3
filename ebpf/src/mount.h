/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Mounts. A bind mount puts a file under any path, where rules on that path
 * then judge it; unmounting bpffs would drop bpfboxd's pins. So a confined
 * task may mount, unmount, move a mount, pivot_root or remount only when
 * its profile says `mount = true` (in complain mode, reported). The new
 * mount API's fsmount and open_tree make detached mounts, which only
 * move_mount attaches.
 */
#ifndef __BPFBOX_MOUNT_H
#define __BPFBOX_MOUNT_H

static __always_inline int check_mount(__u32 hook)
{
	struct bpfbox_event *e;
	struct subject s;
	__u32 decision;

	if (!current_subject(&s) || (s.profile->flags & BPFBOX_PROFILE_MOUNT))
		return 0;
	decision = s.profile->mode == BPFBOX_MODE_COMPLAIN ? BPFBOX_DECISION_COMPLAIN :
							     BPFBOX_DECISION_DENY;
	count_decision(decision);
	e = event_begin(s.task, BPFBOX_EVENT_MOUNT, hook, 0, decision);
	if (e)
		event_submit(e);
	return verdict(decision);
}

SEC("lsm/sb_mount")
int BPF_PROG(sb_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data, int ret)
{
	return ret ?: check_mount(BPFBOX_HOOK_SB_MOUNT);
}

SEC("lsm/move_mount")
int BPF_PROG(move_mount, const struct path *from_path, const struct path *to_path, int ret)
{
	return ret ?: check_mount(BPFBOX_HOOK_MOVE_MOUNT);
}

SEC("lsm/sb_umount")
int BPF_PROG(sb_umount, struct vfsmount *mnt, int flags, int ret)
{
	return ret ?: check_mount(BPFBOX_HOOK_SB_UMOUNT);
}

SEC("lsm/sb_pivotroot")
int BPF_PROG(sb_pivotroot, const struct path *old_path, const struct path *new_path, int ret)
{
	return ret ?: check_mount(BPFBOX_HOOK_SB_PIVOTROOT);
}

SEC("lsm/sb_remount")
int BPF_PROG(sb_remount, struct super_block *sb, void *mnt_opts, int ret)
{
	return ret ?: check_mount(BPFBOX_HOOK_SB_REMOUNT);
}

#endif /* __BPFBOX_MOUNT_H */
