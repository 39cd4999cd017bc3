/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The kernel types bpfbox's programs read, declared by hand with only the
 * fields used.
 *
 * Why not `bpftool btf dump … format c` of the build machine: that ties the
 * build to whatever kernel the builder runs (distribution build chroots and
 * flatpak SDKs have none with BTF), makes the object depend on it byte for
 * byte, and drags 3 MB of types into review. CO-RE makes this header enough:
 * every struct below carries preserve_access_index, so clang records each
 * field access by *name* and the loader (aya) rewrites the offsets against the
 * running kernel's BTF at load time. A field that does not exist on the
 * running kernel fails the load loudly instead of reading garbage.
 *
 * Rules: declare only what a program reads, with the kernel's field types
 * (load size matters), and keep struct names identical to the kernel's.
 */
#ifndef __BPFBOX_VMLINUX_H
#define __BPFBOX_VMLINUX_H

#include <linux/types.h>
#include <linux/bpf.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
typedef _Bool bool;
enum { false = 0, true = 1 };

typedef __u32 dev_t;
typedef unsigned short umode_t;
typedef unsigned int fmode_t;
typedef int pid_t;

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)
#endif

struct qstr {
	union {
		struct {
			u32 hash;
			u32 len;
		};
		u64 hash_len;
	};
	const unsigned char *name;
};

struct super_block {
	dev_t s_dev;
	unsigned long s_magic;
};

struct inode {
	umode_t i_mode;
	struct super_block *i_sb;
	unsigned long i_ino;
	unsigned int i_nlink; /* in an anonymous union with __i_nlink */
	u32 i_generation;
};

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
	struct inode *d_inode;
};

struct vfsmount {
	struct dentry *mnt_root;
	struct super_block *mnt_sb;
};

/* Private to fs/, reached from a vfsmount with container_of to cross mounts. */
struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct file {
	struct path f_path;
	struct inode *f_inode;
	unsigned int f_flags;
	fmode_t f_mode;
};

/* Private to fs/file_table.c (6.5+): a file opened by overlayfs on a layer. */
struct backing_file {
	struct file file;
	struct path user_path;
};

struct linux_binprm {
	struct file *file;
};

struct hlist_node {
	struct hlist_node *next;
	struct hlist_node **pprev;
};

struct hlist_head {
	struct hlist_node *first;
};

struct upid {
	int nr;
};

struct pid {
	struct hlist_head tasks[4];
	struct upid numbers[1];
};

struct task_struct {
	unsigned int flags; /* PF_* */
	pid_t pid;
	pid_t tgid;
	char comm[16];
	struct hlist_node pid_links[4];
	const struct cred *real_cred;
	const struct cred *cred;
	struct bpf_local_storage *bpf_storage; /* any BPF program's task storage */
};

/* Private to fs/proc, reached from a /proc inode with container_of. */
struct proc_inode {
	struct pid *pid;
	struct inode vfs_inode;
};

struct vm_area_struct {
	unsigned long vm_flags;
	struct file *vm_file;
};

struct sock_common {
	unsigned short skc_family;
};

struct sock {
	struct sock_common __sk_common;
};

struct socket {
	short type;
	struct sock *sk;
};

struct kernel_siginfo;
typedef struct {
	u32 val;
} kuid_t;

struct cred {
	kuid_t uid; /* the real user */
};
struct user_namespace;
struct iattr;
struct sockaddr;
struct msghdr;
struct rlimit;
struct fown_struct;
/* Only tested for existence: 6.3 added it to the setattr/xattr hooks. */
struct mnt_idmap {
	int _unused;
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

/* f_mode bits (include/linux/fs.h) */
#define FMODE_READ 0x1
#define FMODE_WRITE 0x2
#define FMODE_EXEC 0x20
#define FMODE_CREATED 0x100000
#define FMODE_BACKING (1 << 24) /* 6.5+: a struct backing_file */
/* in f_flags, not f_mode: how an exec (and uselib on 6.1) opens its files */
#define __FMODE_EXEC 0x20
/* task_struct.flags */
#define PF_IO_WORKER 0x00000010 /* io_uring's worker and SQPOLL threads */
#define PF_DUMPCORE 0x00000200 /* the thread writing its process's core dump */
/* f_flags (include/uapi/asm-generic/fcntl.h) */
#define O_APPEND 02000

#define EPERM 1
#define ENOMEM 12

#define PROC_SUPER_MAGIC 0x9fa0
#define PIPEFS_MAGIC 0x50495045
#define SOCKFS_MAGIC 0x534F434B
#define ANON_INODE_FS_MAGIC 0x09041934
#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define MAP_SHARED 0x01
#define VM_SHARED 0x00000008
#define RENAME_EXCHANGE (1 << 1)
/* i_mode file type (include/uapi/linux/stat.h) */
#define S_IFMT 00170000
#define S_IFDIR 0040000
/* include/linux/sched.h: signals sent by the kernel itself */
#define SEND_SIG_PRIV ((struct kernel_siginfo *)1)
#define SIGKILL 9
#define SIGCHLD 17
#define SIGSTOP 19

#endif /* __BPFBOX_VMLINUX_H */
