/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Sockets: rules per (profile, address family) and operation. */
#ifndef __BPFBOX_NET_H
#define __BPFBOX_NET_H

#define AF_UNIX 1

static __always_inline __u32 sock_family(struct socket *sock)
{
	return BPF_CORE_READ(sock, sk, __sk_common.skc_family);
}

/*
 * `access` of the socket `sock`, or when it is NULL of a socket of `family`.
 * The socket is read only for a confined task: an unconfined one pays the
 * confinement check alone (the bench measured 0.8 µs per connect and
 * accept for reading the family first, under emulation).
 */
static __always_inline int check_net(__u32 hook, struct socket *sock, __u32 family,
				     __u32 access)
{
	struct bpfbox_net_key key = {};
	struct effective eff = {};
	struct bpfbox_rule *rule;
	struct bpfbox_event *e;
	struct subject s;
	__u32 decision;

	if (!current_subject(&s))
		return 0;
	if (sock)
		family = sock_family(sock);
	key.family = family;
	key.rules_id = s.rules;
	rule = bpf_map_lookup_elem(&net_rules, &key);
	if (rule)
		effective_add(&eff, rule, s.task->state);
	decision = decide(s.task, s.profile->mode, &eff, access);
	count_decision(decision);
	if (decision & BPFBOX_DECISION_REPORTED) {
		e = event_begin(s.task, BPFBOX_EVENT_NET, hook, access, decision);
		if (e) {
			e->detail = family;
			event_submit(e);
		}
	}
	return verdict(decision);
}

SEC("lsm/socket_create")
int BPF_PROG(socket_create, int family, int type, int protocol, int kern, int ret)
{
	/* sockets the kernel makes for itself are not the task's doing */
	return ret ?: kern ? 0 : check_net(BPFBOX_HOOK_SOCKET_CREATE, NULL, family, BPFBOX_NET_CREATE);
}

SEC("lsm/socket_bind")
int BPF_PROG(socket_bind, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	return ret ?: check_net(BPFBOX_HOOK_SOCKET_BIND, sock, 0, BPFBOX_NET_BIND);
}

SEC("lsm/socket_connect")
int BPF_PROG(socket_connect, struct socket *sock, struct sockaddr *address, int addrlen,
	     int ret)
{
	return ret ?: check_net(BPFBOX_HOOK_SOCKET_CONNECT, sock, 0, BPFBOX_NET_CONNECT);
}

SEC("lsm/socket_listen")
int BPF_PROG(socket_listen, struct socket *sock, int backlog, int ret)
{
	return ret ?: check_net(BPFBOX_HOOK_SOCKET_LISTEN, sock, 0, BPFBOX_NET_LISTEN);
}

SEC("lsm/socket_accept")
int BPF_PROG(socket_accept, struct socket *sock, struct socket *newsock, int ret)
{
	return ret ?: check_net(BPFBOX_HOOK_SOCKET_ACCEPT, sock, 0, BPFBOX_NET_ACCEPT);
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(socket_sendmsg, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	return ret ?: check_net(BPFBOX_HOOK_SOCKET_SENDMSG, sock, 0, BPFBOX_NET_SEND);
}

SEC("lsm/socket_recvmsg")
int BPF_PROG(socket_recvmsg, struct socket *sock, struct msghdr *msg, int size, int flags,
	     int ret)
{
	return ret ?: check_net(BPFBOX_HOOK_SOCKET_RECVMSG, sock, 0, BPFBOX_NET_RECV);
}

SEC("lsm/socket_shutdown")
int BPF_PROG(socket_shutdown, struct socket *sock, int how, int ret)
{
	return ret ?: check_net(BPFBOX_HOOK_SOCKET_SHUTDOWN, sock, 0, BPFBOX_NET_SHUTDOWN);
}

SEC("lsm/unix_stream_connect")
int BPF_PROG(unix_stream_connect, struct sock *sock, struct sock *other, struct sock *newsk,
	     int ret)
{
	return ret ?: check_net(BPFBOX_HOOK_UNIX_STREAM_CONNECT, NULL, AF_UNIX, BPFBOX_NET_CONNECT);
}

SEC("lsm/unix_may_send")
int BPF_PROG(unix_may_send, struct socket *sock, struct socket *other, int ret)
{
	return ret ?: check_net(BPFBOX_HOOK_UNIX_MAY_SEND, NULL, AF_UNIX, BPFBOX_NET_SEND);
}

#endif /* __BPFBOX_NET_H */
