/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Function contexts (`func`, `kfunc`): while a probed function runs in a
 * confined thread, that thread's state has the function's context bit.
 *
 * One program per probe kind is attached once per function; the attach
 * cookie (bpf_get_attach_cookie, kernel 5.15+) is the context bit, so adding
 * a function never means loading a program. Entry counts up the depth of the
 * bit and sets it; return counts down and clears it when the outermost call
 * returns, so recursion and re-entry keep the context until the end.
 *
 * Only confined tasks are touched: an unconfined task has no storage, and the
 * lookup does not create any.
 */
#ifndef __BPFBOX_FUNC_H
#define __BPFBOX_FUNC_H

/* depth is a __u8: deeper nesting stops counting (see context_leave). */
#define BPFBOX_DEPTH_MAX 255

static __always_inline void context_enter(__u64 bit)
{
	struct bpfbox_task *task = current_confined();

	if (!task || bit >= BPFBOX_MAX_CONTEXTS)
		return;
	if (task->depth[bit] < BPFBOX_DEPTH_MAX)
		task->depth[bit]++;
	task->state |= 1ULL << bit;
}

/*
 * A return without a counted entry (the probe was attached while the
 * function ran) finds depth 0 and changes nothing. Beyond 255 nested calls
 * the count saturates, so the bit is cleared before the outermost call
 * returns: the error is toward less access, never more.
 */
static __always_inline void context_leave(__u64 bit)
{
	struct bpfbox_task *task = current_confined();

	if (!task || bit >= BPFBOX_MAX_CONTEXTS || !task->depth[bit])
		return;
	if (--task->depth[bit] == 0)
		task->state &= ~(1ULL << bit);
}

SEC("uprobe")
int func_entry(void *ctx)
{
	context_enter(bpf_get_attach_cookie(ctx));
	return 0;
}

SEC("uretprobe")
int func_return(void *ctx)
{
	context_leave(bpf_get_attach_cookie(ctx));
	return 0;
}

SEC("kprobe")
int kfunc_entry(void *ctx)
{
	context_enter(bpf_get_attach_cookie(ctx));
	return 0;
}

SEC("kretprobe")
int kfunc_return(void *ctx)
{
	context_leave(bpf_get_attach_cookie(ctx));
	return 0;
}

#endif /* __BPFBOX_FUNC_H */
