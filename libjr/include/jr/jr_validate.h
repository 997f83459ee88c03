/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * What a well-formed entry is: the one set of rules that the kernel applies
 * to everything the netserver writes, and that the netserver applies to
 * everything a user-frontend client writes.  Documentation/abi.md lists the
 * same rules in prose; the table-driven tests in selftests/ pin them.
 *
 * Callers validate a private copy of the entry (read once from shared
 * memory), never the shared entry itself, so the peer cannot change it
 * between the check and the use.
 *
 * Each rule fails with one errno:
 *   -EOPNOTSUPP  unknown op, or a flag bit that is not defined
 *   -ERANGE      slot out of range
 *   -EINVAL      a field has a value the op does not allow, or a reserved
 *                or unused byte is not zero
 *   -EPROTO      a reply without a tag, or an event with one
 *   -EAFNOSUPPORT an address family that was not negotiated
 *   -EMSGSIZE    a datagram record that does not fit where it claims to be
 */
#ifndef _JR_VALIDATE_H
#define _JR_VALIDATE_H

#include <linux/joyride.h>

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/socket.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/net.h>
#include <linux/tcp.h>
#include <linux/string.h>
#else
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#endif

/* What the validating side knows and the peer cannot change. */
struct jr_limits {
	__u32	nr_slots;
	__u32	rx_buf_size;
	__u32	tx_buf_size;
	__u64	features;
};

/* The limits a validating side derives from the grant it keeps. */
static inline void jr_limits_init(struct jr_limits *lim, const struct jr_attach *a)
{
	lim->nr_slots = a->nr_slots;
	lim->rx_buf_size = a->rx_buf_size;
	lim->tx_buf_size = a->tx_buf_size;
	lim->features = a->features;
}

/*
 * The highest errno Linux gives user space (EHWPOISON).  Larger values are
 * the kernel's own (ERESTARTSYS, EIOCBQUEUED...) and must never reach an
 * application: an entry carrying one is malformed.
 */
#define JR_MAX_ERRNO		133
#define JR_MAX_BACKLOG		65535

static inline bool jr_bytes_zero(const void *p, size_t len)
{
	const unsigned char *c = (const unsigned char *)p;
	size_t i;

	for (i = 0; i < len; i++)
		if (c[i])
			return false;
	return true;
}

static inline int jr_validate_sockaddr(const struct jr_sockaddr *sa,
				       const struct jr_limits *lim)
{
	switch (sa->family) {
	case AF_INET:
		if (sa->scope_id || !jr_bytes_zero(sa->addr + 4, 12))
			return -EINVAL;
		return 0;
	case AF_INET6:
		if (!(lim->features & JR_F_IPV6))
			return -EAFNOSUPPORT;
		return 0;
	default:
		return -EAFNOSUPPORT;
	}
}

/*
 * Multicast options (1.2, JR_F_MULTICAST).  On the wire a membership is
 * always IP_ADD/DROP_MEMBERSHIP or IPV6_ADD/DROP_MEMBERSHIP, whichever
 * call the application made (MCAST_JOIN_GROUP...).
 */
static inline bool jr_sockopt_is_mcast(__u32 level, __u32 name)
{
	if (level == IPPROTO_IP)
		return name == IP_MULTICAST_IF || name == IP_MULTICAST_TTL ||
		       name == IP_MULTICAST_LOOP || name == IP_MULTICAST_ALL ||
		       name == IP_ADD_MEMBERSHIP || name == IP_DROP_MEMBERSHIP;
	if (level == IPPROTO_IPV6)
		return name == IPV6_MULTICAST_IF || name == IPV6_MULTICAST_HOPS ||
		       name == IPV6_MULTICAST_LOOP || name == IPV6_MULTICAST_ALL ||
		       name == IPV6_ADD_MEMBERSHIP || name == IPV6_DROP_MEMBERSHIP;
	return false;
}

/*
 * Options the netserver may be asked to set or report.  A frontend keeps
 * every option's value itself (jr_sockopt.h's jr_opts[]); these are the
 * ones the netserver acts on.
 */
static inline bool jr_sockopt_known(__u32 level, __u32 name)
{
	if (jr_sockopt_is_mcast(level, name))
		return true;
	if (level == SOL_SOCKET)
		return name == SO_REUSEADDR || name == SO_KEEPALIVE ||
		       name == SO_RCVBUF || name == SO_SNDBUF ||
		       name == SO_LINGER || name == SO_BROADCAST;
	if (level == IPPROTO_IP)
		return name == IP_TOS || name == IP_TTL || name == IP_MTU ||
		       name == IP_PKTINFO || name == IP_RECVTOS ||
		       name == IP_RECVTTL;
	if (level == IPPROTO_IPV6)
		return name == IPV6_V6ONLY || name == IPV6_TCLASS ||
		       name == IPV6_UNICAST_HOPS || name == IPV6_RECVPKTINFO ||
		       name == IPV6_RECVTCLASS || name == IPV6_RECVHOPLIMIT;
	if (level == IPPROTO_TCP)
		return name == TCP_NODELAY || name == TCP_KEEPIDLE ||
		       name == TCP_KEEPINTVL || name == TCP_KEEPCNT ||
		       name == TCP_SYNCNT || name == TCP_MAXSEG ||
		       name == TCP_CORK || name == TCP_QUICKACK ||
		       name == TCP_USER_TIMEOUT || name == TCP_DEFER_ACCEPT ||
		       name == TCP_INFO;
	return false;
}

/* Options whose request carries an address in u.sockopt.addr. */
static inline bool jr_sockopt_has_addr(__u32 level, __u32 name)
{
	if (level == IPPROTO_IP)
		return name == IP_ADD_MEMBERSHIP || name == IP_DROP_MEMBERSHIP;
	if (level == IPPROTO_IPV6)
		return name == IPV6_ADD_MEMBERSHIP || name == IPV6_DROP_MEMBERSHIP;
	return false;
}

/* A group address: 224.0.0.0/4, or ff00::/8. */
static inline bool jr_sockaddr_is_multicast(const struct jr_sockaddr *sa)
{
	if (sa->family == AF_INET)
		return (sa->addr[0] & 0xf0) == 0xe0;
	return sa->family == AF_INET6 && sa->addr[0] == 0xff;
}

/*
 * A multicast option's operands: values in the ranges the kernel lets
 * through (a TTL or hop limit up to 255, booleans 0 or 1, an interface
 * index that fits an int; IPv6's index in the low half only), and a group
 * of the option's own family, with no port or scope.
 */
static inline int jr_validate_mcast(const struct jr_sqe *sqe,
				    const struct jr_limits *lim)
{
	__u32 level = sqe->u.sockopt.level, name = sqe->u.sockopt.name;
	__u64 v = sqe->u.sockopt.value;
	const struct jr_sockaddr *g = &sqe->u.sockopt.addr;
	int err;

	if (!(lim->features & JR_F_MULTICAST) || !(lim->features & JR_F_SOCKOPTS))
		return -EINVAL;
	if (sqe->op == JR_OP_GETSOCKOPT)
		return v || !jr_bytes_zero(g, sizeof(*g)) ? -EINVAL : 0;
	if (jr_sockopt_has_addr(level, name)) {
		err = jr_validate_sockaddr(g, lim);
		if (err)
			return err;
		if (g->family != (level == IPPROTO_IP ? AF_INET : AF_INET6) ||
		    g->port || g->scope_id || !jr_sockaddr_is_multicast(g))
			return -EINVAL;
	} else if (!jr_bytes_zero(g, sizeof(*g))) {
		return -EINVAL;
	}
	switch (level << 16 | name) {
	case IPPROTO_IP << 16 | IP_MULTICAST_IF:
	case IPPROTO_IP << 16 | IP_ADD_MEMBERSHIP:
	case IPPROTO_IP << 16 | IP_DROP_MEMBERSHIP:
		return (v >> 32) > 0x7fffffff ? -EINVAL : 0;
	case IPPROTO_IPV6 << 16 | IPV6_MULTICAST_IF:
	case IPPROTO_IPV6 << 16 | IPV6_ADD_MEMBERSHIP:
	case IPPROTO_IPV6 << 16 | IPV6_DROP_MEMBERSHIP:
		return v > 0x7fffffff ? -EINVAL : 0;
	case IPPROTO_IP << 16 | IP_MULTICAST_TTL:
	case IPPROTO_IPV6 << 16 | IPV6_MULTICAST_HOPS:
		return v > 255 ? -EINVAL : 0;
	default:	/* LOOP, ALL */
		return v > 1 ? -EINVAL : 0;
	}
}

/*
 * RESTORE (2.1): a replay of an established connection.  Ports are set,
 * an IPv4 address leaves the rest of its 16 bytes zero.
 */
static inline int jr_validate_restore(const struct jr_sqe *sqe,
				      const struct jr_limits *lim)
{
	const typeof(sqe->u.restore) *r = &sqe->u.restore;

	if (!(lim->features & JR_F_SURVIVAL) || !(sqe->flags & JR_SQE_F_REPLAY))
		return -EINVAL;
	if (r->pad || !r->local_port || !r->peer_port)
		return -EINVAL;
	if (r->family == AF_INET)
		return jr_bytes_zero(r->local + 4, 12) && jr_bytes_zero(r->peer + 4, 12) ?
		       0 : -EINVAL;
	if (r->family == AF_INET6)
		return lim->features & JR_F_IPV6 ? 0 : -EAFNOSUPPORT;
	return -EAFNOSUPPORT;
}

/*
 * A connection's checkpoint as the kernel copied it at its netserver's
 * death (struct jr_tcp_ckpt): 0 if a successor may take the connection
 * over, -ENOENT if there is none (or it was being written), -EAGAIN if
 * acknowledged bytes were not in the ring yet, -EINVAL if it is malformed.
 * Ring positions are the caller's to check against its own.
 */
#define JR_CKPT_MSS_MIN		64
#define JR_CKPT_MSS_MAX		65495	/* IPv4 MTU 65535 */
#define JR_CKPT_WSCALE_MAX	14	/* RFC 7323 */

static inline int jr_validate_ckpt(const struct jr_tcp_ckpt *ck)
{
	if (!ck->seq || (ck->seq & 1))
		return -ENOENT;
	if ((ck->flags & ~JR_CKPT_F_FIN_RCVD) || ck->pad || ck->pad2 || ck->reserved)
		return -EINVAL;
	if (ck->snd_wscale > JR_CKPT_WSCALE_MAX || ck->rcv_wscale > JR_CKPT_WSCALE_MAX)
		return -EINVAL;
	if (ck->mss < JR_CKPT_MSS_MIN || ck->mss > JR_CKPT_MSS_MAX)
		return -EINVAL;
	return ck->rx_held ? -EAGAIN : 0;
}

/* The tail of the union after the first used bytes must be zero. */
#define JR_UNION_TAIL_ZERO(u, used) \
	jr_bytes_zero((const unsigned char *)&(u) + (used), sizeof(u) - (used))

/*
 * A request from the kernel (or a user-frontend client).  Checked by the
 * netserver before it acts on it.
 */
static inline int jr_validate_sqe(const struct jr_sqe *sqe,
				  const struct jr_limits *lim)
{
	if (sqe->op == JR_OP_INVALID || sqe->op >= JR_OP_NR)
		return -EOPNOTSUPP;
	if (sqe->flags & ~(JR_SQE_F_REPLAY | JR_SQE_F_MORE))
		return -EOPNOTSUPP;
	if ((sqe->flags & JR_SQE_F_MORE) &&
	    (sqe->op != JR_OP_TX || !(lim->features & JR_F_SOCKOPTS)))
		return -EINVAL;
	if (sqe->pad)
		return -EINVAL;
	if (sqe->op != JR_OP_REPLAY_DONE && sqe->slot >= lim->nr_slots)
		return -ERANGE;

	switch (sqe->op) {
	case JR_OP_SOCKET:
		if (sqe->u.socket.pad || !JR_UNION_TAIL_ZERO(sqe->u, sizeof(sqe->u.socket)))
			return -EINVAL;
		if (sqe->u.socket.family != AF_INET && sqe->u.socket.family != AF_INET6)
			return -EAFNOSUPPORT;
		if (sqe->u.socket.family == AF_INET6 && !(lim->features & JR_F_IPV6))
			return -EAFNOSUPPORT;
		if (sqe->u.socket.type == SOCK_STREAM) {
			if (!(lim->features & JR_F_TCP))
				return -EINVAL;
			if (sqe->u.socket.protocol != 0 && sqe->u.socket.protocol != IPPROTO_TCP)
				return -EINVAL;
		} else if (sqe->u.socket.type == SOCK_DGRAM) {
			if (!(lim->features & JR_F_UDP))
				return -EINVAL;
			if (sqe->u.socket.protocol != 0 && sqe->u.socket.protocol != IPPROTO_UDP)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
		return 0;
	case JR_OP_BIND:
	case JR_OP_CONNECT:
		if (!JR_UNION_TAIL_ZERO(sqe->u, sizeof(sqe->u.addr)))
			return -EINVAL;
		/*
		 * connect(AF_UNSPEC) dissolves an association: a CONNECT whose
		 * address is all zero (family AF_UNSPEC, nothing else) is a
		 * disconnect.  Any other byte set is an address of an
		 * unsupported family, as before.
		 */
		if (sqe->op == JR_OP_CONNECT && sqe->u.addr.family == AF_UNSPEC &&
		    jr_bytes_zero(&sqe->u.addr, sizeof(sqe->u.addr)))
			return 0;
		return jr_validate_sockaddr(&sqe->u.addr, lim);
	case JR_OP_LISTEN:
		if (sqe->u.listen.pad || sqe->u.listen.backlog > JR_MAX_BACKLOG ||
		    !JR_UNION_TAIL_ZERO(sqe->u, sizeof(sqe->u.listen)))
			return -EINVAL;
		return 0;
	case JR_OP_ACCEPT:
		if (sqe->u.accept.listener_slot >= lim->nr_slots)
			return -ERANGE;
		if (sqe->u.accept.listener_slot == sqe->slot ||
		    !JR_UNION_TAIL_ZERO(sqe->u, sizeof(sqe->u.accept)))
			return -EINVAL;
		return 0;
	case JR_OP_SHUTDOWN:
		if (sqe->u.shutdown.how > 2 || sqe->u.shutdown.pad ||
		    !JR_UNION_TAIL_ZERO(sqe->u, sizeof(sqe->u.shutdown)))
			return -EINVAL;
		return 0;
	case JR_OP_CLOSE:
		if (sqe->u.close.linger_on > 1 ||
		    (!sqe->u.close.linger_on && sqe->u.close.linger_sec) ||
		    !JR_UNION_TAIL_ZERO(sqe->u, sizeof(sqe->u.close)))
			return -EINVAL;
		return 0;
	case JR_OP_SETSOCKOPT:
	case JR_OP_GETSOCKOPT:
		if (!jr_sockopt_known(sqe->u.sockopt.level, sqe->u.sockopt.name))
			return -EINVAL;
		if (jr_sockopt_is_mcast(sqe->u.sockopt.level, sqe->u.sockopt.name))
			return jr_validate_mcast(sqe, lim);
		if (sqe->op == JR_OP_GETSOCKOPT && sqe->u.sockopt.value)
			return -EINVAL;
		return jr_bytes_zero(&sqe->u.sockopt.addr, sizeof(sqe->u.sockopt.addr)) ?
		       0 : -EINVAL;
	case JR_OP_GETNAME:
		if (sqe->u.getname.peer > 1 || sqe->u.getname.pad ||
		    !JR_UNION_TAIL_ZERO(sqe->u, sizeof(sqe->u.getname)))
			return -EINVAL;
		return 0;
	case JR_OP_RESTORE:
		return jr_validate_restore(sqe, lim);
	case JR_OP_TX:
	case JR_OP_RX_SPACE:
	case JR_OP_REPLAY_DONE:
		if (!jr_bytes_zero(&sqe->u, sizeof(sqe->u)))
			return -EINVAL;
		if (sqe->op == JR_OP_REPLAY_DONE && (sqe->slot || sqe->slot_gen))
			return -EINVAL;
		return 0;
	}
	return -EOPNOTSUPP;
}

/* Requests that are answered on the CQ; TX and RX_SPACE are not. */
static inline bool jr_op_has_reply(__u16 op)
{
	return op > JR_OP_INVALID && op < JR_OP_NR &&
	       op != JR_OP_TX && op != JR_OP_RX_SPACE;
}

/* Replies whose u.addr carries an address when res == 0. */
static inline bool jr_op_reply_has_addr(__u16 op)
{
	return op == JR_OP_BIND || op == JR_OP_CONNECT ||
	       op == JR_OP_ACCEPT || op == JR_OP_GETNAME;
}

/*
 * A reply or event from the netserver.  Checked by the kernel (or the
 * process playing its role) on its private copy.  This checks the entry on
 * its own; whether the tag matches an outstanding request and the slot
 * generation is current is the caller's state to check.
 */
static inline int jr_validate_cqe(const struct jr_cqe *cqe,
				  const struct jr_limits *lim)
{
	bool event = cqe->op >= JR_EV_FIRST;

	if (event ? cqe->op >= JR_EV_NR : !jr_op_has_reply(cqe->op))
		return -EOPNOTSUPP;
	if (cqe->flags & ~JR_CQE_F_EVENT)
		return -EOPNOTSUPP;
	if (!!(cqe->flags & JR_CQE_F_EVENT) != event)
		return -EPROTO;
	if (event ? cqe->tag != 0 : cqe->tag == 0)
		return -EPROTO;
	if (cqe->op != JR_OP_REPLAY_DONE && cqe->slot >= lim->nr_slots)
		return -ERANGE;
	if (cqe->res < -JR_MAX_ERRNO)
		return -EINVAL;

	if (event) {
		if (!jr_bytes_zero(&cqe->u, sizeof(cqe->u)))
			return -EINVAL;
		switch (cqe->op) {
		case JR_EV_RESET:
		case JR_EV_ERROR:
			return cqe->res < 0 ? 0 : -EINVAL;
		case JR_EV_ACCEPTABLE:
			return cqe->res >= 0 && cqe->res <= JR_MAX_BACKLOG ? 0 : -EINVAL;
		default:
			return cqe->res == 0 ? 0 : -EINVAL;
		}
	}

	/* Replies: results are 0 or -errno; no op returns a count. */
	if (cqe->res > 0)
		return -EINVAL;
	if (cqe->slot_gen)
		return -EINVAL;
	if (cqe->op == JR_OP_REPLAY_DONE && cqe->slot)
		return -EINVAL;
	if (cqe->res == 0 && cqe->op == JR_OP_ACCEPT &&
	    (lim->features & JR_F_ACCEPT_LOCAL)) {
		/* The local address is the peer's family: IPv4 in 4 bytes. */
		if (cqe->u.accepted.peer.family == AF_INET &&
		    !jr_bytes_zero(cqe->u.accepted.local + 4, 12))
			return -EINVAL;
		return jr_validate_sockaddr(&cqe->u.accepted.peer, lim);
	}
	if (cqe->res == 0 && jr_op_reply_has_addr(cqe->op)) {
		if (!JR_UNION_TAIL_ZERO(cqe->u, sizeof(cqe->u.addr)))
			return -EINVAL;
		return jr_validate_sockaddr(&cqe->u.addr, lim);
	}
	/* A value, or a struct jr_tcp_info: numbers the requester reads as
	 * such, whatever their bytes. */
	if (cqe->res == 0 && cqe->op == JR_OP_GETSOCKOPT)
		return 0;
	return jr_bytes_zero(&cqe->u, sizeof(cqe->u)) ? 0 : -EINVAL;
}

/*
 * Bytes to skip at ring position pos before a datagram record: when fewer
 * than a header's worth remain before the ring end, both sides skip them
 * (no filler record fits there).  Call before reading a header at pos.
 */
static inline __u32 jr_dgram_skip(__u32 pos, __u32 ring_size)
{
	__u32 to_end = ring_size - (pos & (ring_size - 1));

	return to_end < sizeof(struct jr_dgram_hdr) ? to_end : 0;
}

/*
 * Producer side of datagram records.  jr_dgram_need(): ring bytes that a
 * record of len payload bytes takes at position pos, counting the skipped
 * tail and the filler record it may need first.  jr_dgram_begin(): write
 * that filler (if any) and return the position where the record's header
 * goes; the caller writes header and payload there and advances by
 * JR_DGRAM_RECORD(len).
 */
static inline __u32 jr_dgram_need(__u32 pos, __u32 ring_size, __u32 len)
{
	__u32 skip = jr_dgram_skip(pos, ring_size);
	__u32 to_end = ring_size - ((pos + skip) & (ring_size - 1));
	__u32 record = (__u32)JR_DGRAM_RECORD(len);

	return skip + (record > to_end ? to_end : 0) + record;
}

static inline __u32 jr_dgram_begin(unsigned char *ring, __u32 ring_size,
				   __u32 pos, __u32 len)
{
	__u32 to_end;

	pos += jr_dgram_skip(pos, ring_size);
	to_end = ring_size - (pos & (ring_size - 1));
	if (JR_DGRAM_RECORD(len) > to_end) {
		struct jr_dgram_hdr pad;

		memset(&pad, 0, sizeof(pad));
		pad.len = to_end - (__u32)sizeof(pad);
		pad.flags = JR_DGRAM_F_PAD;
		memcpy(ring + (pos & (ring_size - 1)), &pad, sizeof(pad));
		pos += to_end;
	}
	return pos;
}

/*
 * A datagram record header (private copy) at ring position pos, with fill
 * bytes available to the consumer, in a ring of ring_size bytes.  On
 * success, *record is the number of ring bytes the record occupies (header,
 * payload and padding, or the filler to the ring end).
 */
/* Payload bytes of a (validated, not filler) record, after any metadata. */
static inline __u32 jr_dgram_payload_len(const struct jr_dgram_hdr *h)
{
	return (h->flags & JR_DGRAM_F_META) ? h->len - (__u32)sizeof(struct jr_dgram_meta)
					    : h->len;
}

/* Where its payload starts, from the header. */
static inline __u32 jr_dgram_payload_off(const struct jr_dgram_hdr *h)
{
	return (__u32)sizeof(*h) +
	       ((h->flags & JR_DGRAM_F_META) ? (__u32)sizeof(struct jr_dgram_meta) : 0);
}

static inline int jr_validate_dgram(const struct jr_dgram_hdr *h, __u32 pos,
				    __u32 fill, __u32 ring_size,
				    const struct jr_limits *lim, __u32 *record)
{
	__u32 to_end = ring_size - (pos & (ring_size - 1));
	__u64 need;

	if ((pos & (JR_DGRAM_ALIGN - 1)) || fill < sizeof(*h) ||
	    to_end < sizeof(*h))
		return -EMSGSIZE;
	if (h->flags & ~(JR_DGRAM_F_PAD | JR_DGRAM_F_TRUNC | JR_DGRAM_F_META))
		return -EOPNOTSUPP;
	if (h->pad)
		return -EINVAL;
	if (h->flags & JR_DGRAM_F_PAD) {
		/* A filler runs exactly to the ring end and carries nothing. */
		if (h->flags != JR_DGRAM_F_PAD || h->orig_len ||
		    h->len != to_end - sizeof(*h) || fill < to_end ||
		    !jr_bytes_zero(&h->addr, sizeof(h->addr)))
			return -EMSGSIZE;
		*record = to_end;
		return 0;
	}
	if (h->len > JR_DGRAM_MAX)
		return -EMSGSIZE;
	need = JR_DGRAM_RECORD(h->len);
	if (need > to_end || need > fill)
		return -EMSGSIZE;
	if ((h->flags & JR_DGRAM_F_META) &&
	    (h->len < sizeof(struct jr_dgram_meta) || !(lim->features & JR_F_SOCKOPTS)))
		return -EINVAL;
	if (h->flags & JR_DGRAM_F_TRUNC) {
		if (h->orig_len <= jr_dgram_payload_len(h) || h->orig_len > JR_DGRAM_MAX)
			return -EINVAL;
	} else if (h->orig_len) {
		return -EINVAL;
	}
	if (h->addr.family || h->addr.port || h->addr.scope_id ||
	    !jr_bytes_zero(h->addr.addr, sizeof(h->addr.addr))) {
		int err = jr_validate_sockaddr(&h->addr, lim);

		if (err)
			return err;
	}
	*record = (__u32)need;
	return 0;
}

#endif /* _JR_VALIDATE_H */
