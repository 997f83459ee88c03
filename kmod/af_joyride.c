// SPDX-License-Identifier: GPL-2.0
/*
 * AF_JOYRIDE: sockets served by a user-space network stack.
 *
 * Implementation notes
 * --------------------
 * Joyride moves the TCP/IP stack out of the kernel into one unprivileged
 * process, jr-netserver (lwIP on DPDK).  This module keeps only the dispatch
 * path: it registers the AF_JOYRIDE socket family, turns socket calls into
 * requests on a shared-memory submission queue, copies payload into and out
 * of per-socket byte rings in the same region, and wakes waiters when the
 * netserver reports events on the completion queue.  It never parses a
 * packet.
 *
 * The code is split like vsock's: this file is the socket family (what an
 * application sees: proto_ops, socket state, wait queues); jr_dev.c is the
 * transport (the /dev/joyride character device, the shared region, the
 * rings and doorbells, the netserver's life cycle).
 *
 * Objects and ownership
 *   struct jr_sock   - one per socket; struct sock first (jr_sk()/sk_jr()).
 *                      Owned by the socket layer; freed through sk_free().
 *   struct jr_dev    - the one device (global); owns the attached server.
 *   struct jr_server - one attached netserver: its region (vmalloc_user),
 *                      the kernel's private copy of the negotiated geometry,
 *                      its doorbell.  Freed when its file is released.
 *
 * Trust
 *   The netserver is an unprivileged process.  Every value read from the
 *   shared region is read once into a private copy, validated by the rules
 *   in libjr/include/jr/jr_validate.h (shared with user space) and never
 *   used as a pointer.  A bad entry fails the socket it names with -EIO and
 *   a rate-limited warning; it never reaches a WARN/BUG.
 *
 * Locking (outer to inner)
 *   jr_dev.lock (mutex)      - device state and the server pointer.
 *   lock_sock(sk)            - per-socket state, as in every family.
 *   jr_server.cq_lock (mutex)- one CQ consumer at a time.
 *   jr_server.sq_lock (spin) - one SQ producer at a time.
 *
 * Socket life without a netserver
 *   socket() fails with ENETDOWN while no netserver is attached: there is
 *   nothing that could carry the socket, and failing early is clearer than
 *   a socket whose every call fails.
 *
 * Module life
 *   Each socket pins the module through its proto_ops owner, so rmmod is
 *   refused (EBUSY) while sockets exist; an attached netserver pins it
 *   through its open file.
 */
#include <linux/module.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <net/sock.h>

#include "joyride.h"

struct jr_sock {
	struct sock	sk;		/* must be first */
};

static inline struct jr_sock *jr_sk(const struct sock *sk)
{
	return container_of(sk, struct jr_sock, sk);
}

static inline struct sock *sk_jr(struct jr_sock *jsk)
{
	return &jsk->sk;
}

static struct proto jr_proto = {
	.name		= "JOYRIDE",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct jr_sock),
};

static int jr_release(struct socket *sock)
{
	struct sock *sk = sock->sk;

	if (!sk)
		return 0;
	lock_sock(sk);
	sock_orphan(sk);
	sk->sk_shutdown = SHUTDOWN_MASK;
	release_sock(sk);
	sock_put(sk);
	sock->sk = NULL;
	return 0;
}

static const struct proto_ops jr_stream_ops = {
	.family		= PF_JOYRIDE,
	.owner		= THIS_MODULE,
	.release	= jr_release,
	.bind		= sock_no_bind,
	.connect	= sock_no_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= sock_no_getname,
	.poll		= datagram_poll,
	.ioctl		= sock_no_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= sock_no_shutdown,
	.sendmsg	= sock_no_sendmsg,
	.recvmsg	= sock_no_recvmsg,
	.mmap		= sock_no_mmap,
	.sendpage	= sock_no_sendpage,
};

static const struct proto_ops jr_dgram_ops = {
	.family		= PF_JOYRIDE,
	.owner		= THIS_MODULE,
	.release	= jr_release,
	.bind		= sock_no_bind,
	.connect	= sock_no_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= sock_no_getname,
	.poll		= datagram_poll,
	.ioctl		= sock_no_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= sock_no_shutdown,
	.sendmsg	= sock_no_sendmsg,
	.recvmsg	= sock_no_recvmsg,
	.mmap		= sock_no_mmap,
	.sendpage	= sock_no_sendpage,
};

/*
 * socket(AF_JOYRIDE, type, protocol).  Types and protocols are checked
 * first, with the errno inet_create() gives, so a program probing for
 * support sees the same answers as on AF_INET.
 */
static int jr_create(struct net *net, struct socket *sock, int protocol,
		     int kern)
{
	const struct proto_ops *ops;
	struct sock *sk;

	switch (sock->type) {
	case SOCK_STREAM:
		if (protocol && protocol != IPPROTO_TCP)
			return -EPROTONOSUPPORT;
		ops = &jr_stream_ops;
		break;
	case SOCK_DGRAM:
		if (protocol && protocol != IPPROTO_UDP)
			return -EPROTONOSUPPORT;
		ops = &jr_dgram_ops;
		break;
	default:
		return -ESOCKTNOSUPPORT;
	}
	if (!net_eq(net, &init_net))
		return -EAFNOSUPPORT;
	if (!jr_dev_attached())
		return -ENETDOWN;

	sk = sk_alloc(net, PF_JOYRIDE, GFP_KERNEL, &jr_proto, kern);
	if (!sk)
		return -ENOMEM;
	sock_init_data(sock, sk);
	sock->ops = ops;
	sk->sk_protocol = sock->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
	return 0;
}

static const struct net_proto_family jr_family_ops = {
	.family	= PF_JOYRIDE,
	.create	= jr_create,
	.owner	= THIS_MODULE,
};

static int __init jr_init(void)
{
	int err;

	err = proto_register(&jr_proto, 1);
	if (err)
		goto err_out;
	err = sock_register(&jr_family_ops);
	if (err)
		goto err_proto;
	err = jr_dev_init();
	if (err)
		goto err_sock;
	pr_info("joyride: AF_JOYRIDE (%d) registered, ABI %u.%u\n",
		AF_JOYRIDE, JR_ABI_MAJOR, JR_ABI_MINOR);
	return 0;

err_sock:
	sock_unregister(PF_JOYRIDE);
err_proto:
	proto_unregister(&jr_proto);
err_out:
	return err;
}

static void __exit jr_exit(void)
{
	jr_dev_exit();
	sock_unregister(PF_JOYRIDE);
	proto_unregister(&jr_proto);
}

module_init(jr_init);
module_exit(jr_exit);

MODULE_DESCRIPTION("Joyride: AF_JOYRIDE sockets served by a user-space network stack");
MODULE_LICENSE("GPL");
MODULE_ALIAS_NETPROTO(PF_JOYRIDE);
