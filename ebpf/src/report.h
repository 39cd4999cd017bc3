/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Folding a task's repeats of one file access into one event.
 *
 * A confined task that retries a denied open in a loop, or a complain-mode
 * build that touches the same directory thousands of times, would resolve
 * the path and queue an event each time, only for bpfboxd to fold them
 * into one record (coalesce.rs). The kernel folds them first: the first
 * report of (object, hook, access, decision) is sent and kept in one of
 * the thread's slots; identical reports within BPFBOX_REPORT_WINDOW_NS of
 * it only count as pending. Pending repeats leave as one event with
 * `count` = their number, a copy of the kept one, when
 *  - the access recurs after the window (then a new event starts a window),
 *  - the slot is needed for another object, or
 *  - the thread exits (sched_process_exit).
 * No report is dropped: the sum of `count` over events, plus STAT_LOST
 * (raised by `count` when a pending event finds the ring buffer full),
 * is every report. The decision itself, its counters (STAT_DENIED, …) and
 * the verdict are untouched, on every access.
 */
#ifndef __BPFBOX_REPORT_H
#define __BPFBOX_REPORT_H

#define REPORT_SLOTS 4 /* direct-mapped by inode and hook */

struct report_slot {
	__u64 dentry;
	__u64 inode;
	__u64 first_ns; /* when the kept event was sent */
	__u32 pending; /* repeats since then, not yet sent */
	__u32 _pad;
	struct bpfbox_event event; /* as sent */
};

struct report_cache {
	struct report_slot slot[REPORT_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct report_cache);
} reports SEC(".maps");

/*
 * By the inode's address (a slab object: the low bits are skipped) and the
 * hook: a directory reported by two hooks in turn, as a build's creates and
 * unlinks do, would otherwise push its own report out of its one slot on
 * every access and be sent each time.
 */
static __always_inline struct report_slot *report_slot_of(struct report_cache *rc,
							  struct inode *inode, __u32 hook)
{
	__u64 i = (__u64)inode;

	return &rc->slot[((i >> 6) ^ (i >> 12) ^ hook) & (REPORT_SLOTS - 1)];
}

/* Sends the slot's pending repeats as one event, or counts them as lost. */
static __always_inline void report_flush(struct report_slot *slot)
{
	struct bpfbox_event *e;
	__u32 pending = slot->pending;

	if (!pending)
		return;
	slot->pending = 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_n(BPFBOX_STAT_LOST, pending);
		return;
	}
	__builtin_memcpy(e, &slot->event, sizeof(*e));
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->count = pending;
	event_submit(e);
}

/*
 * True when this report is a repeat within the window of `slot`'s: it is
 * then counted there and must not be sent. Otherwise the slot's pending
 * repeats are sent, and the caller sends the new report and keeps it with
 * report_keep().
 */
static __always_inline bool report_repeat(struct report_slot *slot, const struct bpfbox_task *task,
					  struct dentry *dentry, struct inode *inode, __u32 hook,
					  __u32 access, __u32 decision, __u64 now)
{
	if (slot->dentry == (__u64)dentry && slot->inode == (__u64)inode &&
	    slot->event.hook == hook && slot->event.access == access &&
	    slot->event.decision == decision && slot->event.profile_id == task->profile_id &&
	    now - slot->first_ns < BPFBOX_REPORT_WINDOW_NS) {
		slot->pending++;
		return true;
	}
	report_flush(slot);
	return false;
}

static __always_inline void report_keep(struct report_slot *slot, const struct bpfbox_event *e,
					struct dentry *dentry, struct inode *inode, __u64 now)
{
	slot->dentry = (__u64)dentry;
	slot->inode = (__u64)inode;
	slot->first_ns = now;
	slot->pending = 0;
	__builtin_memcpy(&slot->event, e, sizeof(*e));
}

/* A thread's last pending repeats leave with it. */
static __always_inline void report_flush_all(struct task_struct *task)
{
	struct report_cache *rc = bpf_task_storage_get(&reports, task, 0, 0);

	if (!rc)
		return;
	for (int i = 0; i < REPORT_SLOTS; i++)
		report_flush(&rc->slot[i]);
}

#endif /* __BPFBOX_REPORT_H */
