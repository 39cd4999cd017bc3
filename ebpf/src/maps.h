/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Every map of bpfbox but task_state (storage.h: its value holds a cache
 * whose types come later). Keys and values are defined in bpfbox_abi.h.
 */
#ifndef __BPFBOX_MAPS_H
#define __BPFBOX_MAPS_H

/*
 * profile id -> mode, flags and rules id. Not preallocated: an update then
 * swaps in a new element and frees the old one only after every program
 * that may hold it has finished, so a hook never reads a half-replaced
 * profile (a preallocated element can be reused at once).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct bpfbox_profile);
} profiles SEC(".maps");

/* executable (dev, ino) -> profile id */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct bpfbox_inode_key);
	__type(value, __u64);
} exe_profiles SEC(".maps");

/* (profile, real uid) -> the rules id of the profile's rules for that user */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct bpfbox_uid_key);
	__type(value, __u64);
} uid_rules SEC(".maps");

/* FNV-1a of an executable's path -> profile id (bpfbox_abi.h) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u64);
} exe_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__type(key, struct bpfbox_fs_key);
	__type(value, struct bpfbox_rule);
} fs_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct bpfbox_net_key);
	__type(value, struct bpfbox_rule);
} net_rules SEC(".maps");

/* signals and ptrace: (subject profile, target profile) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct bpfbox_pair_key);
	__type(value, struct bpfbox_rule);
} ipc_rules SEC(".maps");

/* /proc/<pid> of another profile: (subject profile, target profile) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct bpfbox_pair_key);
	__type(value, struct bpfbox_rule);
} proc_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct bpfbox_cap_key);
	__type(value, struct bpfbox_rule);
} cap_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpfbox_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct bpfbox_protected_key);
	__type(value, __u32);
} protected SEC(".maps");

/* deny / complain / audit / taint events for bpfboxd (1 MiB) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* BPFBOX_STAT_* counters, per CPU, summed by the daemon */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BPFBOX_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/*
 * The daemon's policy generation (bpfbox_abi.h: BPFBOX_GENERATION_KEY),
 * read with one 8-byte load. An array: the verifier inlines its lookup,
 * where a hash lookup was a helper call that cost a cached check about
 * 0.3 µs under emulation. Read by the file cache (cache.h) and by each
 * task's copy of its profile (task.h).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} generation SEC(".maps");

/* The generation's one value (read it with one volatile 8-byte load). */
static __always_inline __u64 *policy_generation(void)
{
	__u32 key = BPFBOX_GENERATION_KEY;

	return bpf_map_lookup_elem(&generation, &key);
}

/*
 * Which inodes may have fs rules or be protected (bpfbox_abi.h,
 * BPFBOX_FILTER_WORDS): an array, so its lookup is inlined, where each
 * fs_rules or protected lookup is a hash computed over a 32-byte key. Most
 * inodes a walk meets have neither, and cost one load instead of up to
 * four lookups.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBOX_FILTER_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} inode_filter SEC(".maps");

/* False only when no fs rule is keyed by (ino, dev) and it is not protected. */
static __always_inline bool inode_may_have_rules(__u64 ino, __u32 dev)
{
	__u32 bit = bpfbox_filter_bit(ino, dev);
	__u32 word = bit / 64;
	__u64 *w = bpf_map_lookup_elem(&inode_filter, &word);

	/* no word (cannot happen: the bit is in range): look, fail closed */
	return !w || ((*(volatile __u64 *)w >> (bit % 64)) & 1);
}

#endif /* __BPFBOX_MAPS_H */
