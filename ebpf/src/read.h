/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Reading kernel objects.
 *
 * A pointer the verifier knows by its BTF type (a hook's argument, or a
 * pointer loaded from one) is read with a direct load: one instruction,
 * which the JIT guards against faults, so a NULL or stale pointer reads 0.
 * A plain value (from bpf_get_func_arg(), or past a container_of the
 * verifier cannot follow) can only be read with bpf_probe_read_kernel(), a
 * helper call per field. Those calls were most of what a cached file check
 * cost, so the checks read directly wherever their pointers allow.
 *
 * `direct` must be a constant at every call site (the checks are inlined
 * into each program): a program keeps one of the two reads, and the
 * verifier never sees a direct load from a plain value.
 */
#ifndef __BPFBOX_READ_H
#define __BPFBOX_READ_H

#define KREAD(direct, p, field) ((direct) ? (p)->field : BPF_CORE_READ(p, field))
/* p->a->b (BPF_CORE_READ cannot nest) */
#define KREAD2(direct, p, a, b) ((direct) ? (p)->a->b : BPF_CORE_READ(p, a, b))

/*
 * A pointer as a plain value. The verifier keeps a pointer's type through
 * every move; a loop whose variable is a known pointer on entry and a plain
 * value after a step is a different state on each path, and the walks'
 * loops went past the verifier's limit that way. One helper call.
 */
static __always_inline void *plain(void *p)
{
	void *value = NULL;

	bpf_probe_read_kernel(&value, sizeof(value), &p);
	return value;
}

#endif /* __BPFBOX_READ_H */
