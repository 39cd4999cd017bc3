// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The floor for the benchmarks: programs that return at once, attached to
 * exactly the hooks bpfbox uses, as many per hook and with the same names
 * (bpfbox_ebpf::LSM_PROGRAMS, TRACEPOINTS). What they cost is what any
 * BPF-LSM confinement pays for the trampolines alone; bpfbox's own cost is
 * what it adds on top.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define FLOOR(hook, name)                                                                          \
	SEC("lsm/" #hook)                                                                          \
	int BPF_PROG(name)                                                                         \
	{                                                                                          \
		return 0;                                                                          \
	}

FLOOR(bprm_check_security, bprm_check_security)
FLOOR(task_alloc, task_alloc)
FLOOR(file_open, file_open)
FLOOR(file_ioctl, file_ioctl)
FLOOR(file_ioctl_compat, file_ioctl_compat)
FLOOR(file_permission, file_permission)
FLOOR(file_receive, file_receive)
FLOOR(mmap_file, mmap_file)
FLOOR(file_mprotect, file_mprotect)
FLOOR(path_mknod, path_mknod)
FLOOR(path_mkdir, path_mkdir)
FLOOR(path_symlink, path_symlink)
FLOOR(path_unlink, path_unlink)
FLOOR(path_unlink, path_unlink__entry)
FLOOR(path_rmdir, path_rmdir)
FLOOR(path_rmdir, path_rmdir__entry)
FLOOR(path_link, path_link)
FLOOR(path_link, path_link__source)
FLOOR(path_rename, path_rename)
FLOOR(path_rename, path_rename__source)
FLOOR(path_rename, path_rename__target_dir)
FLOOR(path_rename, path_rename__target)
FLOOR(inode_getattr, inode_getattr)
FLOOR(inode_setattr, inode_setattr)
FLOOR(inode_setxattr, inode_setxattr)
FLOOR(inode_removexattr, inode_removexattr)
FLOOR(inode_getxattr, inode_getxattr)
FLOOR(inode_listxattr, inode_listxattr)
FLOOR(task_kill, task_kill)
FLOOR(ptrace_access_check, ptrace_access_check)
FLOOR(ptrace_traceme, ptrace_traceme)
FLOOR(socket_create, socket_create)
FLOOR(socket_bind, socket_bind)
FLOOR(socket_connect, socket_connect)
FLOOR(socket_listen, socket_listen)
FLOOR(socket_accept, socket_accept)
FLOOR(socket_sendmsg, socket_sendmsg)
FLOOR(socket_recvmsg, socket_recvmsg)
FLOOR(socket_shutdown, socket_shutdown)
FLOOR(unix_stream_connect, unix_stream_connect)
FLOOR(unix_may_send, unix_may_send)
FLOOR(capable, capable)
FLOOR(bpf, bpf)
FLOOR(task_setrlimit, task_setrlimit)
FLOOR(task_setnice, task_setnice)
FLOOR(task_setioprio, task_setioprio)
FLOOR(task_setscheduler, task_setscheduler)
FLOOR(task_movememory, task_movememory)
FLOOR(task_setpgid, task_setpgid)
FLOOR(file_send_sigiotask, file_send_sigiotask)
FLOOR(inode_init_security_anon, inode_init_security_anon)
FLOOR(uring_override_creds, uring_override_creds)
FLOOR(sb_mount, sb_mount)
FLOOR(move_mount, move_mount)
FLOOR(sb_umount, sb_umount)
FLOOR(sb_pivotroot, sb_pivotroot)
FLOOR(sb_remount, sb_remount)

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit)
{
	return 0;
}
