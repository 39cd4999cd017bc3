// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * bpfbox's kernel side: one object, so that every program shares the same
 * maps without static linking. Each included header is one concern; the
 * hooks live in process.h (tracking), fs.h, dir.h and attr.h (files),
 * proc.h (/proc/<pid>), ipc.h (signals, ptrace), net.h (sockets), cap.h
 * (capabilities), self.h (bpfboxd's own process: bpf(2) and every other
 * way to act on it), uring.h (io_uring), mount.h (mounts) and func.h (function contexts:
 * uprobes and kprobes).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "bpfbox_abi.h"
#include "read.h"
#include "maps.h"
#include "events.h"
#include "report.h"
#include "decide.h"
#include "storage.h"
#include "task.h"
#include "fs_rules.h"
#include "cache.h"
#include "proc.h"
#include "object.h"
#include "process.h"
#include "fs.h"
#include "dir.h"
#include "attr.h"
#include "ipc.h"
#include "net.h"
#include "cap.h"
#include "self.h"
#include "uring.h"
#include "mount.h"
#include "func.h"

/* GPL: the LSM, task storage and bpf_d_path helpers require it. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
