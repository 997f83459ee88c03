// SPDX-License-Identifier: GPL-2.0
/*
 * The validation rules of jr_validate.h, table by table.  For every SQE op
 * and every CQE op and event: a well-formed entry passes, and each
 * malformed field is rejected with exactly the errno its rule documents
 * (the list at the top of jr_validate.h).  Each row breaks one rule only,
 * so the expected errno is never a matter of which check runs first.
 *
 * Also the layout that jr_layout_compute() derives from the sizes, since a
 * netserver accepts a region only if it can derive the same one.
 */
#include <arpa/inet.h>
#include <stdint.h>

#include <jr/jr_layout.h>
#include <jr/jr_validate.h>

#include "jr_test.h"

#define NR_SLOTS	64
#define GOOD_SLOT	5

static const struct jr_limits lim_v4 = {
	.nr_slots = NR_SLOTS, .rx_buf_size = 4096, .tx_buf_size = 8192,
	.features = JR_F_TCP | JR_F_UDP,
};
static const struct jr_limits lim_all = {
	.nr_slots = NR_SLOTS, .rx_buf_size = 4096, .tx_buf_size = 8192,
	.features = JR_F_ALL,
};
/* Multicast (1.2): with and without IPv6, and one where only the older
 * option feature was granted. */
static const struct jr_limits lim_mc = {
	.nr_slots = NR_SLOTS, .rx_buf_size = 4096, .tx_buf_size = 8192,
	.features = JR_F_TCP | JR_F_UDP | JR_F_SOCKOPTS | JR_F_MULTICAST,
};
static const struct jr_limits lim_sockopts = {
	.nr_slots = NR_SLOTS, .rx_buf_size = 4096, .tx_buf_size = 8192,
	.features = JR_F_TCP | JR_F_UDP | JR_F_SOCKOPTS | JR_F_IPV6,
};
static const struct jr_limits lim_udp_only = {
	.nr_slots = NR_SLOTS, .rx_buf_size = 4096, .tx_buf_size = 8192,
	.features = JR_F_UDP | JR_F_IPV6,
};
static const struct jr_limits lim_tcp_only = {
	.nr_slots = NR_SLOTS, .rx_buf_size = 4096, .tx_buf_size = 8192,
	.features = JR_F_TCP | JR_F_IPV6,
};

static const char *errname(int err)
{
	static char buf[32];

	switch (err) {
	case 0:			return "0";
	case -EOPNOTSUPP:	return "-EOPNOTSUPP";
	case -ERANGE:		return "-ERANGE";
	case -EINVAL:		return "-EINVAL";
	case -EPROTO:		return "-EPROTO";
	case -EAFNOSUPPORT:	return "-EAFNOSUPPORT";
	case -EMSGSIZE:		return "-EMSGSIZE";
	}
	snprintf(buf, sizeof(buf), "%d", err);
	return buf;
}

/* Write value into a field of an entry, at the field's own width. */
struct poke {
	size_t	off, size;		/* size 0: no poke */
	__u64	value;
};

static void apply_poke(void *entry, const struct poke *p)
{
	unsigned char *at = (unsigned char *)entry + p->off;
	__u8 v8 = p->value;
	__u16 v16 = p->value;
	__u32 v32 = p->value;

	switch (p->size) {
	case 1: memcpy(at, &v8, 1); break;
	case 2: memcpy(at, &v16, 2); break;
	case 4: memcpy(at, &v32, 4); break;
	case 8: memcpy(at, &p->value, 8); break;
	}
}

#define SQ(f, v)	{ offsetof(struct jr_sqe, f), sizeof(((struct jr_sqe *)0)->f), (__u64)(v) }
#define CQ(f, v)	{ offsetof(struct jr_cqe, f), sizeof(((struct jr_cqe *)0)->f), (__u64)(v) }

static void set_v4(struct jr_sockaddr *sa)
{
	sa->family = AF_INET;
	sa->port = htons(8080);
	sa->addr[0] = 10;
	sa->addr[3] = 1;
}

/* --- SQE --------------------------------------------------------------- */

static struct jr_sqe good_sqe(__u16 op)
{
	struct jr_sqe s;

	memset(&s, 0, sizeof(s));
	s.op = op;
	s.slot = GOOD_SLOT;
	s.tag = 0x1234;
	s.slot_gen = 3;
	switch (op) {
	case JR_OP_SOCKET:
		s.u.socket.family = AF_INET;
		s.u.socket.type = SOCK_STREAM;
		s.u.socket.protocol = IPPROTO_TCP;
		break;
	case JR_OP_BIND:
	case JR_OP_CONNECT:
		set_v4(&s.u.addr);
		break;
	case JR_OP_LISTEN:
		s.u.listen.backlog = 128;
		break;
	case JR_OP_ACCEPT:
		s.u.accept.listener_slot = GOOD_SLOT + 1;
		s.u.accept.listener_gen = 9;
		break;
	case JR_OP_SHUTDOWN:
		s.u.shutdown.how = SHUT_WR;
		break;
	case JR_OP_SETSOCKOPT:
		s.u.sockopt.level = SOL_SOCKET;
		s.u.sockopt.name = SO_REUSEADDR;
		s.u.sockopt.value = 1;
		break;
	case JR_OP_GETSOCKOPT:
		s.u.sockopt.level = IPPROTO_TCP;
		s.u.sockopt.name = TCP_NODELAY;
		break;
	case JR_OP_GETNAME:
		s.u.getname.peer = 1;
		break;
	case JR_OP_REPLAY_DONE:
		s.slot = 0;
		s.slot_gen = 0;
		break;
	}
	return s;
}

/* Bytes of the union an op gives meaning to; the rest must be zero. */
static size_t sqe_union_used(__u16 op)
{
	switch (op) {
	case JR_OP_BIND:
	case JR_OP_CONNECT:
		return sizeof(struct jr_sockaddr);
	case JR_OP_SETSOCKOPT:
	case JR_OP_GETSOCKOPT:
		return 16;
	case JR_OP_SOCKET:
	case JR_OP_LISTEN:
	case JR_OP_ACCEPT:
	case JR_OP_SHUTDOWN:
	case JR_OP_CLOSE:
	case JR_OP_GETNAME:
		return 8;
	default:
		return 0;
	}
}

static int check_sqe(const struct jr_sqe *s, const struct jr_limits *lim,
		     int want, const char *what)
{
	int got = jr_validate_sqe(s, lim);

	JR_EXPECT_MSG(got == want, "SQE op %u, %s: got %s, want %s", s->op,
		      what, errname(got), errname(want));
	return got == want;
}

/* Rules every op shares: op, flags, pad, slot range, unused union bytes. */
static void validate_sqe_common(void)
{
	static const __u16 bad_ops[] = {
		JR_OP_INVALID, JR_OP_NR, 0xff, JR_EV_FIRST, JR_EV_ACCEPTABLE, 0xffff,
	};

	for (size_t i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
		struct jr_sqe s = good_sqe(JR_OP_TX);

		s.op = bad_ops[i];
		check_sqe(&s, &lim_all, -EOPNOTSUPP, "unknown op");
	}

	for (__u16 op = JR_OP_INVALID + 1; op < JR_OP_NR; op++) {
		struct jr_sqe good = good_sqe(op), s;
		bool replay_done = op == JR_OP_REPLAY_DONE;
		char what[64];

		/* Only in a replay, only with JR_F_SURVIVAL: its own test. */
		if (op == JR_OP_RESTORE)
			continue;

		check_sqe(&good, &lim_v4, 0, "well-formed");
		check_sqe(&good, &lim_all, 0, "well-formed, all features");

		s = good;
		s.flags = JR_SQE_F_REPLAY;
		check_sqe(&s, &lim_v4, 0, "JR_SQE_F_REPLAY");
		/* MSG_MORE's hold: TX only, with JR_F_SOCKOPTS. */
		s = good;
		s.flags = JR_SQE_F_MORE;
		check_sqe(&s, &lim_all, op == JR_OP_TX ? 0 : -EINVAL, "JR_SQE_F_MORE");
		check_sqe(&s, &lim_v4, -EINVAL, "JR_SQE_F_MORE without JR_F_SOCKOPTS");
		for (int bit = 2; bit < 16; bit++) {
			s = good;
			s.flags = 1u << bit;
			snprintf(what, sizeof(what), "flag bit %d", bit);
			check_sqe(&s, &lim_v4, -EOPNOTSUPP, what);
		}

		s = good;
		s.pad = 1;
		check_sqe(&s, &lim_v4, -EINVAL, "pad");
		s.pad = 0x80000000u;
		check_sqe(&s, &lim_v4, -EINVAL, "pad high bit");

		/* REPLAY_DONE names no slot: any slot is a bad field, not a range. */
		s = good;
		s.slot = NR_SLOTS - 1;
		check_sqe(&s, &lim_v4, replay_done ? -EINVAL : 0, "last slot");
		s.slot = NR_SLOTS;
		check_sqe(&s, &lim_v4, replay_done ? -EINVAL : -ERANGE, "slot == nr_slots");
		s.slot = UINT32_MAX;
		check_sqe(&s, &lim_v4, replay_done ? -EINVAL : -ERANGE, "slot UINT32_MAX");

		/* The tag is opaque to the netserver, and so is a slot generation. */
		s = good;
		s.tag = 0;
		check_sqe(&s, &lim_v4, 0, "tag 0");
		s.tag = UINT64_MAX;
		check_sqe(&s, &lim_v4, 0, "tag ~0");
		if (!replay_done) {
			s.slot_gen = UINT32_MAX;
			check_sqe(&s, &lim_v4, 0, "slot_gen ~0");
		}

		for (size_t b = sqe_union_used(op); b < sizeof(good.u); b++) {
			for (int v = 0x01; v <= 0x80; v <<= 7) {
				s = good;
				s.u.raw[b] = v;
				snprintf(what, sizeof(what), "union tail byte %zu = %#x", b, v);
				check_sqe(&s, &lim_all, -EINVAL, what);
			}
		}
	}
}

struct sqe_case {
	const char		*what;
	__u16			op;
	const struct jr_limits	*lim;
	struct poke		pokes[4];
	int			want;
};

#define ADDR_ROWS(op)							\
	{ "family 0", op, &lim_all, { SQ(u.addr.family, 0) }, -EAFNOSUPPORT }, \
	{ "family AF_UNIX", op, &lim_all, { SQ(u.addr.family, AF_UNIX) }, -EAFNOSUPPORT }, \
	{ "family 0xffff", op, &lim_all, { SQ(u.addr.family, 0xffff) }, -EAFNOSUPPORT }, \
	{ "AF_INET, any port", op, &lim_v4, { SQ(u.addr.port, 0xffff) }, 0 }, \
	{ "AF_INET, wildcard", op, &lim_v4,				\
	  { SQ(u.addr.addr[0], 0), SQ(u.addr.addr[3], 0), SQ(u.addr.port, 0) }, 0 }, \
	{ "AF_INET with scope_id", op, &lim_all, { SQ(u.addr.scope_id, 1) }, -EINVAL }, \
	{ "AF_INET, addr[4] set", op, &lim_all, { SQ(u.addr.addr[4], 1) }, -EINVAL }, \
	{ "AF_INET, addr[15] set", op, &lim_all, { SQ(u.addr.addr[15], 0x80) }, -EINVAL }, \
	{ "AF_INET6 not negotiated", op, &lim_v4, { SQ(u.addr.family, AF_INET6) }, -EAFNOSUPPORT }, \
	{ "AF_INET6 negotiated", op, &lim_all,				\
	  { SQ(u.addr.family, AF_INET6), SQ(u.addr.scope_id, 2), SQ(u.addr.addr[15], 1) }, 0 }

/* Two pokes that zero the whole address good_sqe() set (family, port,
 * scope_id, then the IPv4 bytes). */
#define SQ_ADDR_ZERO							\
	{ offsetof(struct jr_sqe, u.addr), 8, 0 },			\
	{ offsetof(struct jr_sqe, u.addr.addr), 4, 0 }

#define SOCKOPT_ROWS(op)						\
	{ "SOL_SOCKET SO_TYPE", op, &lim_v4,				\
	  { SQ(u.sockopt.level, SOL_SOCKET), SQ(u.sockopt.name, SO_TYPE) }, -EINVAL }, \
	{ "SOL_SOCKET name 0", op, &lim_v4,				\
	  { SQ(u.sockopt.level, SOL_SOCKET), SQ(u.sockopt.name, 0) }, -EINVAL }, \
	{ "IPPROTO_TCP TCP_ULP", op, &lim_v4,				\
	  { SQ(u.sockopt.level, IPPROTO_TCP), SQ(u.sockopt.name, TCP_ULP) }, -EINVAL }, \
	{ "IPPROTO_IP IP_HDRINCL", op, &lim_v4,				\
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_HDRINCL) }, -EINVAL }, \
	{ "IPPROTO_IP IP_TOS", op, &lim_v4,				\
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_TOS) }, 0 }, \
	{ "IP_TOS with an address", op, &lim_v4,			\
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_TOS),	\
	    SQ(u.sockopt.addr.family, AF_INET) }, -EINVAL },		\
	{ "level ~0", op, &lim_v4, { SQ(u.sockopt.level, UINT32_MAX) }, -EINVAL }

static const struct sqe_case sqe_cases[] = {
	{ "AF_INET6 stream, negotiated", JR_OP_SOCKET, &lim_all,
	  { SQ(u.socket.family, AF_INET6) }, 0 },
	{ "AF_INET6 not negotiated", JR_OP_SOCKET, &lim_v4,
	  { SQ(u.socket.family, AF_INET6) }, -EAFNOSUPPORT },
	{ "family 0", JR_OP_SOCKET, &lim_all, { SQ(u.socket.family, 0) }, -EAFNOSUPPORT },
	{ "family AF_UNIX", JR_OP_SOCKET, &lim_all,
	  { SQ(u.socket.family, AF_UNIX) }, -EAFNOSUPPORT },
	{ "family AF_JOYRIDE", JR_OP_SOCKET, &lim_all,
	  { SQ(u.socket.family, AF_JOYRIDE) }, -EAFNOSUPPORT },
	{ "stream, protocol 0", JR_OP_SOCKET, &lim_v4, { SQ(u.socket.protocol, 0) }, 0 },
	{ "stream, IPPROTO_UDP", JR_OP_SOCKET, &lim_v4,
	  { SQ(u.socket.protocol, IPPROTO_UDP) }, -EINVAL },
	{ "stream, protocol 255", JR_OP_SOCKET, &lim_v4, { SQ(u.socket.protocol, 255) }, -EINVAL },
	{ "stream without JR_F_TCP", JR_OP_SOCKET, &lim_udp_only, { { 0 } }, -EINVAL },
	{ "dgram, IPPROTO_UDP", JR_OP_SOCKET, &lim_v4,
	  { SQ(u.socket.type, SOCK_DGRAM), SQ(u.socket.protocol, IPPROTO_UDP) }, 0 },
	{ "dgram, protocol 0", JR_OP_SOCKET, &lim_v4,
	  { SQ(u.socket.type, SOCK_DGRAM), SQ(u.socket.protocol, 0) }, 0 },
	{ "dgram, IPPROTO_TCP", JR_OP_SOCKET, &lim_v4,
	  { SQ(u.socket.type, SOCK_DGRAM) }, -EINVAL },
	{ "dgram without JR_F_UDP", JR_OP_SOCKET, &lim_tcp_only,
	  { SQ(u.socket.type, SOCK_DGRAM), SQ(u.socket.protocol, IPPROTO_UDP) }, -EINVAL },
	{ "type 0", JR_OP_SOCKET, &lim_all, { SQ(u.socket.type, 0) }, -EINVAL },
	{ "type SOCK_RAW", JR_OP_SOCKET, &lim_all, { SQ(u.socket.type, SOCK_RAW) }, -EINVAL },
	{ "type SOCK_SEQPACKET", JR_OP_SOCKET, &lim_all,
	  { SQ(u.socket.type, SOCK_SEQPACKET) }, -EINVAL },
	{ "socket.pad", JR_OP_SOCKET, &lim_all, { SQ(u.socket.pad, 1) }, -EINVAL },

	ADDR_ROWS(JR_OP_BIND),
	ADDR_ROWS(JR_OP_CONNECT),

	/* connect(AF_UNSPEC): an all-zero address is a disconnect, for
	 * CONNECT only; a single other byte makes it a bad family again. */
	{ "AF_UNSPEC, all zero (disconnect)", JR_OP_CONNECT, &lim_v4,
	  { SQ_ADDR_ZERO }, 0 },
	{ "AF_UNSPEC, all zero (disconnect), all features", JR_OP_CONNECT, &lim_all,
	  { SQ_ADDR_ZERO }, 0 },
	{ "AF_UNSPEC with a port", JR_OP_CONNECT, &lim_all,
	  { SQ_ADDR_ZERO, SQ(u.addr.port, 80) }, -EAFNOSUPPORT },
	{ "AF_UNSPEC with scope_id", JR_OP_CONNECT, &lim_all,
	  { SQ_ADDR_ZERO, SQ(u.addr.scope_id, 1) }, -EAFNOSUPPORT },
	{ "AF_UNSPEC with addr[0]", JR_OP_CONNECT, &lim_all,
	  { SQ_ADDR_ZERO, SQ(u.addr.addr[0], 1) }, -EAFNOSUPPORT },
	{ "AF_UNSPEC with addr[15]", JR_OP_CONNECT, &lim_all,
	  { SQ_ADDR_ZERO, SQ(u.addr.addr[15], 0x80) }, -EAFNOSUPPORT },
	{ "AF_UNSPEC, all zero, on BIND", JR_OP_BIND, &lim_all,
	  { SQ_ADDR_ZERO }, -EAFNOSUPPORT },

	{ "backlog 0", JR_OP_LISTEN, &lim_v4, { SQ(u.listen.backlog, 0) }, 0 },
	{ "backlog 65535", JR_OP_LISTEN, &lim_v4, { SQ(u.listen.backlog, 65535) }, 0 },
	{ "backlog 65536", JR_OP_LISTEN, &lim_v4, { SQ(u.listen.backlog, 65536) }, -EINVAL },
	{ "backlog ~0", JR_OP_LISTEN, &lim_v4, { SQ(u.listen.backlog, UINT32_MAX) }, -EINVAL },
	{ "listen.pad", JR_OP_LISTEN, &lim_v4, { SQ(u.listen.pad, 1) }, -EINVAL },

	{ "listener slot 0", JR_OP_ACCEPT, &lim_v4, { SQ(u.accept.listener_slot, 0) }, 0 },
	{ "listener last slot", JR_OP_ACCEPT, &lim_v4,
	  { SQ(u.accept.listener_slot, NR_SLOTS - 1) }, 0 },
	{ "listener gen ~0", JR_OP_ACCEPT, &lim_v4,
	  { SQ(u.accept.listener_gen, UINT32_MAX) }, 0 },
	{ "listener == nr_slots", JR_OP_ACCEPT, &lim_v4,
	  { SQ(u.accept.listener_slot, NR_SLOTS) }, -ERANGE },
	{ "listener ~0", JR_OP_ACCEPT, &lim_v4,
	  { SQ(u.accept.listener_slot, UINT32_MAX) }, -ERANGE },
	{ "listener is the child", JR_OP_ACCEPT, &lim_v4,
	  { SQ(u.accept.listener_slot, GOOD_SLOT) }, -EINVAL },

	{ "SHUT_RD", JR_OP_SHUTDOWN, &lim_v4, { SQ(u.shutdown.how, SHUT_RD) }, 0 },
	{ "SHUT_RDWR", JR_OP_SHUTDOWN, &lim_v4, { SQ(u.shutdown.how, SHUT_RDWR) }, 0 },
	{ "how 3", JR_OP_SHUTDOWN, &lim_v4, { SQ(u.shutdown.how, 3) }, -EINVAL },
	{ "how ~0", JR_OP_SHUTDOWN, &lim_v4, { SQ(u.shutdown.how, UINT32_MAX) }, -EINVAL },
	{ "shutdown.pad", JR_OP_SHUTDOWN, &lim_v4, { SQ(u.shutdown.pad, 1) }, -EINVAL },

	{ "linger on, 0 s (abort)", JR_OP_CLOSE, &lim_v4, { SQ(u.close.linger_on, 1) }, 0 },
	{ "linger on, 30 s", JR_OP_CLOSE, &lim_v4,
	  { SQ(u.close.linger_on, 1), SQ(u.close.linger_sec, 30) }, 0 },
	{ "linger off with seconds", JR_OP_CLOSE, &lim_v4,
	  { SQ(u.close.linger_sec, 1) }, -EINVAL },
	{ "linger_on 2", JR_OP_CLOSE, &lim_v4, { SQ(u.close.linger_on, 2) }, -EINVAL },
	{ "linger_on ~0", JR_OP_CLOSE, &lim_v4,
	  { SQ(u.close.linger_on, UINT32_MAX), SQ(u.close.linger_sec, 5) }, -EINVAL },

	SOCKOPT_ROWS(JR_OP_SETSOCKOPT),
	SOCKOPT_ROWS(JR_OP_GETSOCKOPT),
	{ "set value ~0", JR_OP_SETSOCKOPT, &lim_v4, { SQ(u.sockopt.value, UINT64_MAX) }, 0 },
	{ "get with a value", JR_OP_GETSOCKOPT, &lim_v4, { SQ(u.sockopt.value, 1) }, -EINVAL },

	/* Multicast (1.2): only with JR_F_MULTICAST; a group of the
	 * option's family, multicast, without port or scope; values in
	 * range. */
	{ "IP_ADD_MEMBERSHIP, AF_INET group", JR_OP_SETSOCKOPT, &lim_mc,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_ADD_MEMBERSHIP),
	    SQ(u.sockopt.addr.family, AF_INET), SQ(u.sockopt.addr.addr[0], 239) }, 0 },
	{ "IP_ADD_MEMBERSHIP without JR_F_MULTICAST", JR_OP_SETSOCKOPT, &lim_sockopts,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_ADD_MEMBERSHIP),
	    SQ(u.sockopt.addr.family, AF_INET), SQ(u.sockopt.addr.addr[0], 239) }, -EINVAL },
	{ "IP_ADD_MEMBERSHIP, group with scope_id", JR_OP_SETSOCKOPT, &lim_mc,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_ADD_MEMBERSHIP),
	    SQ(u.sockopt.addr.family, AF_INET), SQ(u.sockopt.addr.scope_id, 1) }, -EINVAL },
	{ "IP_ADD_MEMBERSHIP, unicast group", JR_OP_SETSOCKOPT, &lim_mc,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_ADD_MEMBERSHIP),
	    SQ(u.sockopt.addr.family, AF_INET), SQ(u.sockopt.addr.addr[0], 198) }, -EINVAL },
	{ "IP_ADD_MEMBERSHIP, group with a port", JR_OP_SETSOCKOPT, &lim_mc,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_ADD_MEMBERSHIP),
	    SQ(u.sockopt.addr.family, AF_INET), SQ(u.sockopt.addr.port, 1) }, -EINVAL },
	{ "IP_ADD_MEMBERSHIP, IPv6 group", JR_OP_SETSOCKOPT, &lim_all,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_ADD_MEMBERSHIP),
	    SQ(u.sockopt.addr.family, AF_INET6), SQ(u.sockopt.addr.addr[0], 0xff) }, -EINVAL },
	{ "IP_DROP_MEMBERSHIP, family 0", JR_OP_SETSOCKOPT, &lim_mc,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_DROP_MEMBERSHIP) },
	  -EAFNOSUPPORT },
	{ "IPV6_ADD_MEMBERSHIP, ff00::/8 group", JR_OP_SETSOCKOPT, &lim_all,
	  { SQ(u.sockopt.level, IPPROTO_IPV6), SQ(u.sockopt.name, IPV6_ADD_MEMBERSHIP),
	    SQ(u.sockopt.addr.family, AF_INET6), SQ(u.sockopt.addr.addr[0], 0xff) }, 0 },
	{ "IPV6_DROP_MEMBERSHIP, unicast group", JR_OP_SETSOCKOPT, &lim_all,
	  { SQ(u.sockopt.level, IPPROTO_IPV6), SQ(u.sockopt.name, IPV6_DROP_MEMBERSHIP),
	    SQ(u.sockopt.addr.family, AF_INET6), SQ(u.sockopt.addr.addr[0], 0x20) }, -EINVAL },
	{ "IPV6_ADD_MEMBERSHIP without JR_F_IPV6", JR_OP_SETSOCKOPT, &lim_mc,
	  { SQ(u.sockopt.level, IPPROTO_IPV6), SQ(u.sockopt.name, IPV6_ADD_MEMBERSHIP),
	    SQ(u.sockopt.addr.family, AF_INET6), SQ(u.sockopt.addr.addr[0], 0xff) },
	  -EAFNOSUPPORT },
	{ "IPV6_ADD_MEMBERSHIP, AF_INET group", JR_OP_SETSOCKOPT, &lim_all,
	  { SQ(u.sockopt.level, IPPROTO_IPV6), SQ(u.sockopt.name, IPV6_ADD_MEMBERSHIP),
	    SQ(u.sockopt.addr.family, AF_INET), SQ(u.sockopt.addr.addr[0], 239) }, -EINVAL },
	{ "IP_MULTICAST_IF, address and index", JR_OP_SETSOCKOPT, &lim_mc,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_MULTICAST_IF),
	    SQ(u.sockopt.value, 0x7fffffff0100000aULL) }, 0 },
	{ "IP_MULTICAST_IF, index over INT_MAX", JR_OP_SETSOCKOPT, &lim_mc,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_MULTICAST_IF),
	    SQ(u.sockopt.value, 0x800000000100000aULL) }, -EINVAL },
	{ "IP_MULTICAST_IF with an address operand", JR_OP_SETSOCKOPT, &lim_mc,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_MULTICAST_IF),
	    SQ(u.sockopt.addr.family, AF_INET) }, -EINVAL },
	{ "IPV6_MULTICAST_IF, index over INT_MAX", JR_OP_SETSOCKOPT, &lim_all,
	  { SQ(u.sockopt.level, IPPROTO_IPV6), SQ(u.sockopt.name, IPV6_MULTICAST_IF),
	    SQ(u.sockopt.value, 0x80000000ULL) }, -EINVAL },
	{ "IP_MULTICAST_TTL 255", JR_OP_SETSOCKOPT, &lim_mc,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_MULTICAST_TTL),
	    SQ(u.sockopt.value, 255) }, 0 },
	{ "IP_MULTICAST_TTL 256", JR_OP_SETSOCKOPT, &lim_mc,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_MULTICAST_TTL),
	    SQ(u.sockopt.value, 256) }, -EINVAL },
	{ "IPV6_MULTICAST_HOPS 256", JR_OP_SETSOCKOPT, &lim_all,
	  { SQ(u.sockopt.level, IPPROTO_IPV6), SQ(u.sockopt.name, IPV6_MULTICAST_HOPS),
	    SQ(u.sockopt.value, 256) }, -EINVAL },
	{ "IP_MULTICAST_LOOP 2", JR_OP_SETSOCKOPT, &lim_mc,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_MULTICAST_LOOP),
	    SQ(u.sockopt.value, 2) }, -EINVAL },
	{ "IPV6_MULTICAST_ALL 1", JR_OP_SETSOCKOPT, &lim_all,
	  { SQ(u.sockopt.level, IPPROTO_IPV6), SQ(u.sockopt.name, IPV6_MULTICAST_ALL),
	    SQ(u.sockopt.value, 1) }, 0 },
	{ "get IP_MULTICAST_TTL", JR_OP_GETSOCKOPT, &lim_mc,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_MULTICAST_TTL) }, 0 },
	{ "get IP_MULTICAST_TTL with a value", JR_OP_GETSOCKOPT, &lim_mc,
	  { SQ(u.sockopt.level, IPPROTO_IP), SQ(u.sockopt.name, IP_MULTICAST_TTL),
	    SQ(u.sockopt.value, 1) }, -EINVAL },

	{ "local name", JR_OP_GETNAME, &lim_v4, { SQ(u.getname.peer, 0) }, 0 },
	{ "peer 2", JR_OP_GETNAME, &lim_v4, { SQ(u.getname.peer, 2) }, -EINVAL },
	{ "getname.pad", JR_OP_GETNAME, &lim_v4, { SQ(u.getname.pad, 1) }, -EINVAL },

	{ "slot_gen set", JR_OP_REPLAY_DONE, &lim_v4, { SQ(slot_gen, 1) }, -EINVAL },
	{ "slot 1", JR_OP_REPLAY_DONE, &lim_v4, { SQ(slot, 1) }, -EINVAL },
};

static void validate_sqe_ops(void)
{
	for (size_t i = 0; i < sizeof(sqe_cases) / sizeof(sqe_cases[0]); i++) {
		const struct sqe_case *c = &sqe_cases[i];
		struct jr_sqe s = good_sqe(c->op);

		for (int p = 0; p < 4; p++)
			apply_poke(&s, &c->pokes[p]);
		check_sqe(&s, c->lim, c->want, c->what);
	}
}

/* Every option the netserver serves is accepted, for set and get. */
static void validate_sqe_sockopts(void)
{
	static const struct { __u32 level, name; } known[] = {
		{ SOL_SOCKET, SO_REUSEADDR }, { SOL_SOCKET, SO_KEEPALIVE },
		{ SOL_SOCKET, SO_RCVBUF }, { SOL_SOCKET, SO_SNDBUF },
		{ SOL_SOCKET, SO_LINGER }, { SOL_SOCKET, SO_BROADCAST },
		{ IPPROTO_TCP, TCP_NODELAY }, { IPPROTO_TCP, TCP_KEEPIDLE },
		{ IPPROTO_TCP, TCP_KEEPINTVL }, { IPPROTO_TCP, TCP_KEEPCNT },
		{ IPPROTO_TCP, TCP_SYNCNT },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		for (__u16 op = JR_OP_SETSOCKOPT; op <= JR_OP_GETSOCKOPT; op++) {
			struct jr_sqe s = good_sqe(op);
			char what[48];

			s.u.sockopt.level = known[i].level;
			s.u.sockopt.name = known[i].name;
			snprintf(what, sizeof(what), "option %u/%u", known[i].level,
				 known[i].name);
			check_sqe(&s, &lim_v4, 0, what);
		}
	}
}

/* --- CQE --------------------------------------------------------------- */

static bool is_event(__u16 op)
{
	return op >= JR_EV_FIRST;
}

static struct jr_cqe good_cqe(__u16 op)
{
	struct jr_cqe c;

	memset(&c, 0, sizeof(c));
	c.op = op;
	c.slot = GOOD_SLOT;
	if (is_event(op)) {
		c.flags = JR_CQE_F_EVENT;
		c.slot_gen = 7;
		if (op == JR_EV_RESET || op == JR_EV_ERROR)
			c.res = -ECONNRESET;
		else if (op == JR_EV_ACCEPTABLE)
			c.res = 3;
		return c;
	}
	c.tag = 0x77;
	if (jr_op_reply_has_addr(op))
		set_v4(&c.u.addr);
	else if (op == JR_OP_GETSOCKOPT)
		c.u.sockopt.value = 42;
	else if (op == JR_OP_REPLAY_DONE)
		c.slot = 0;
	return c;
}

static size_t cqe_union_used(__u16 op)
{
	if (is_event(op))
		return 0;
	if (jr_op_reply_has_addr(op))
		return sizeof(struct jr_sockaddr);
	if (op == JR_OP_GETSOCKOPT)	/* a value or struct jr_tcp_info */
		return sizeof(((struct jr_cqe *)0)->u);
	return 0;
}

/* The ops that appear on the CQ: replies to requests, then events. */
static const __u16 cqe_ops[] = {
	JR_OP_SOCKET, JR_OP_BIND, JR_OP_LISTEN, JR_OP_ACCEPT, JR_OP_CONNECT,
	JR_OP_SHUTDOWN, JR_OP_CLOSE, JR_OP_SETSOCKOPT, JR_OP_GETSOCKOPT,
	JR_OP_GETNAME, JR_OP_REPLAY_DONE, JR_OP_RESTORE,
	JR_EV_RX, JR_EV_TX_SPACE, JR_EV_RX_FIN, JR_EV_RESET, JR_EV_ERROR,
	JR_EV_ACCEPTABLE,
};

#define NR_CQE_OPS	(sizeof(cqe_ops) / sizeof(cqe_ops[0]))

static int check_cqe(const struct jr_cqe *c, const struct jr_limits *lim,
		     int want, const char *what)
{
	int got = jr_validate_cqe(c, lim);

	JR_EXPECT_MSG(got == want, "CQE op %#x, %s: got %s, want %s", c->op,
		      what, errname(got), errname(want));
	return got == want;
}

static void validate_cqe_common(void)
{
	/* Not a reply (no reply exists for TX/RX_SPACE) and not an event. */
	static const __u16 bad_ops[] = {
		JR_OP_INVALID, JR_OP_TX, JR_OP_RX_SPACE, JR_OP_NR, 0xff,
		JR_EV_NR, 0x1ff, 0xffff,
	};

	JR_EXPECT_EQ(NR_CQE_OPS, (JR_OP_NR - 3) + (JR_EV_NR - JR_EV_FIRST));
	for (size_t i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
		struct jr_cqe c = good_cqe(JR_OP_SOCKET);

		c.op = bad_ops[i];
		check_cqe(&c, &lim_all, -EOPNOTSUPP, "unknown op as reply");
		c = good_cqe(JR_EV_RX);
		c.op = bad_ops[i];
		check_cqe(&c, &lim_all, -EOPNOTSUPP, "unknown op as event");
	}

	for (size_t i = 0; i < NR_CQE_OPS; i++) {
		__u16 op = cqe_ops[i];
		struct jr_cqe good = good_cqe(op), c;
		bool event = is_event(op), replay_done = op == JR_OP_REPLAY_DONE;
		char what[64];

		check_cqe(&good, &lim_v4, 0, "well-formed");
		check_cqe(&good, &lim_all, 0, "well-formed, all features");

		for (int bit = 1; bit < 16; bit++) {
			c = good;
			c.flags |= 1u << bit;
			snprintf(what, sizeof(what), "flag bit %d", bit);
			check_cqe(&c, &lim_v4, -EOPNOTSUPP, what);
		}

		c = good;
		c.flags ^= JR_CQE_F_EVENT;
		check_cqe(&c, &lim_v4, -EPROTO,
			  event ? "event without the event flag" : "reply with the event flag");
		c = good;
		c.tag = event ? 1 : 0;
		check_cqe(&c, &lim_v4, -EPROTO, event ? "event with a tag" : "reply without a tag");
		if (event) {
			c.tag = UINT64_MAX;
			check_cqe(&c, &lim_v4, -EPROTO, "event with tag ~0");
		}

		c = good;
		c.slot = NR_SLOTS - 1;
		check_cqe(&c, &lim_v4, replay_done ? -EINVAL : 0, "last slot");
		c.slot = NR_SLOTS;
		check_cqe(&c, &lim_v4, replay_done ? -EINVAL : -ERANGE, "slot == nr_slots");
		c.slot = UINT32_MAX;
		check_cqe(&c, &lim_v4, replay_done ? -EINVAL : -ERANGE, "slot ~0");

		c = good;
		c.res = -JR_MAX_ERRNO - 1;
		check_cqe(&c, &lim_v4, -EINVAL, "res below -MAX_ERRNO");
		c.res = INT32_MIN;
		check_cqe(&c, &lim_v4, -EINVAL, "res INT32_MIN");

		if (event) {
			c = good;
			c.slot_gen = UINT32_MAX;
			check_cqe(&c, &lim_v4, 0, "event slot_gen ~0");
		} else {
			c = good;
			c.res = 1;
			check_cqe(&c, &lim_v4, -EINVAL, "reply with a count");
			c.res = INT32_MAX;
			check_cqe(&c, &lim_v4, -EINVAL, "reply res INT32_MAX");
			c = good;
			c.slot_gen = 1;
			check_cqe(&c, &lim_v4, -EINVAL, "reply with a slot_gen");
			/* A failed request carries nothing but its errno. */
			c = good;
			memset(&c.u, 0, sizeof(c.u));
			c.res = -ECONNREFUSED;
			check_cqe(&c, &lim_v4, 0, "error reply");
			c.res = -JR_MAX_ERRNO;
			check_cqe(&c, &lim_v4, 0, "error reply -MAX_ERRNO");
			c.u.raw[0] = 1;
			check_cqe(&c, &lim_v4, -EINVAL, "error reply with payload");
			c = good;
			c.res = -EINVAL;
			if (cqe_union_used(op))
				check_cqe(&c, &lim_v4, -EINVAL, "error reply keeping its payload");
		}

		for (size_t b = cqe_union_used(op); b < sizeof(good.u); b++) {
			for (int v = 0x01; v <= 0x80; v <<= 7) {
				c = good;
				c.u.raw[b] = v;
				snprintf(what, sizeof(what), "%s byte %zu = %#x",
					 event ? "event payload" : "union tail", b, v);
				/* An ACCEPT's tail is its local address when
				 * JR_F_ACCEPT_LOCAL was granted (rows below). */
				check_cqe(&c, op == JR_OP_ACCEPT ? &lim_v4 : &lim_all,
					  -EINVAL, what);
			}
		}
	}
}

struct cqe_case {
	const char		*what;
	__u16			op;
	const struct jr_limits	*lim;
	struct poke		pokes[3];
	int			want;
};

#define ADDR_REPLY_ROWS(op)						\
	{ "family 0", op, &lim_all, { CQ(u.addr.family, 0) }, -EAFNOSUPPORT }, \
	{ "family AF_UNIX", op, &lim_all, { CQ(u.addr.family, AF_UNIX) }, -EAFNOSUPPORT }, \
	{ "AF_INET with scope_id", op, &lim_all, { CQ(u.addr.scope_id, 1) }, -EINVAL }, \
	{ "AF_INET, addr[15] set", op, &lim_all, { CQ(u.addr.addr[15], 1) }, -EINVAL }, \
	{ "AF_INET6 not negotiated", op, &lim_v4, { CQ(u.addr.family, AF_INET6) }, -EAFNOSUPPORT }, \
	{ "AF_INET6 negotiated", op, &lim_all,				\
	  { CQ(u.addr.family, AF_INET6), CQ(u.addr.scope_id, 3), CQ(u.addr.addr[15], 1) }, 0 }

#define RES_ZERO_EVENT_ROWS(op)						\
	{ "res 1", op, &lim_v4, { CQ(res, 1) }, -EINVAL },		\
	{ "res -1", op, &lim_v4, { CQ(res, -1) }, -EINVAL }

static const struct cqe_case cqe_cases[] = {
	ADDR_REPLY_ROWS(JR_OP_BIND),
	ADDR_REPLY_ROWS(JR_OP_ACCEPT),
	{ "local address, JR_F_ACCEPT_LOCAL", JR_OP_ACCEPT, &lim_all,
	  { CQ(u.accepted.local[0], 198), CQ(u.accepted.local[3], 2) }, 0 },
	{ "local address, not negotiated", JR_OP_ACCEPT, &lim_v4,
	  { CQ(u.accepted.local[0], 198) }, -EINVAL },
	{ "AF_INET local, local[4] set", JR_OP_ACCEPT, &lim_all,
	  { CQ(u.accepted.local[4], 1) }, -EINVAL },
	{ "AF_INET local, local[15] set", JR_OP_ACCEPT, &lim_all,
	  { CQ(u.accepted.local[15], 0x80) }, -EINVAL },
	{ "AF_INET6 local", JR_OP_ACCEPT, &lim_all,
	  { CQ(u.accepted.peer.family, AF_INET6), CQ(u.accepted.local[15], 1) }, 0 },
	{ "AF_INET6 local, bad peer family", JR_OP_ACCEPT, &lim_all,
	  { CQ(u.accepted.peer.family, AF_UNIX), CQ(u.accepted.local[15], 1) }, -EAFNOSUPPORT },
	ADDR_REPLY_ROWS(JR_OP_CONNECT),
	ADDR_REPLY_ROWS(JR_OP_GETNAME),

	{ "value ~0", JR_OP_GETSOCKOPT, &lim_v4, { CQ(u.sockopt.value, UINT64_MAX) }, 0 },
	{ "value 0", JR_OP_GETSOCKOPT, &lim_v4, { CQ(u.sockopt.value, 0) }, 0 },
	{ "slot 1", JR_OP_REPLAY_DONE, &lim_v4, { CQ(slot, 1) }, -EINVAL },

	RES_ZERO_EVENT_ROWS(JR_EV_RX),
	RES_ZERO_EVENT_ROWS(JR_EV_TX_SPACE),
	RES_ZERO_EVENT_ROWS(JR_EV_RX_FIN),
	{ "res 0", JR_EV_RESET, &lim_v4, { CQ(res, 0) }, -EINVAL },
	{ "res 1", JR_EV_RESET, &lim_v4, { CQ(res, 1) }, -EINVAL },
	{ "res -1", JR_EV_RESET, &lim_v4, { CQ(res, -1) }, 0 },
	{ "res -MAX_ERRNO", JR_EV_RESET, &lim_v4, { CQ(res, -JR_MAX_ERRNO) }, 0 },
	{ "res 0", JR_EV_ERROR, &lim_v4, { CQ(res, 0) }, -EINVAL },
	{ "res 7", JR_EV_ERROR, &lim_v4, { CQ(res, 7) }, -EINVAL },
	{ "res -EHOSTUNREACH", JR_EV_ERROR, &lim_v4, { CQ(res, -EHOSTUNREACH) }, 0 },
	{ "res 0", JR_EV_ACCEPTABLE, &lim_v4, { CQ(res, 0) }, 0 },
	{ "res 65535", JR_EV_ACCEPTABLE, &lim_v4, { CQ(res, 65535) }, 0 },
	{ "res 65536", JR_EV_ACCEPTABLE, &lim_v4, { CQ(res, 65536) }, -EINVAL },
	{ "res -1", JR_EV_ACCEPTABLE, &lim_v4, { CQ(res, -1) }, -EINVAL },
};

static void validate_cqe_ops(void)
{
	for (size_t i = 0; i < sizeof(cqe_cases) / sizeof(cqe_cases[0]); i++) {
		const struct cqe_case *k = &cqe_cases[i];
		struct jr_cqe c = good_cqe(k->op);

		for (int p = 0; p < 3; p++)
			apply_poke(&c, &k->pokes[p]);
		check_cqe(&c, k->lim, k->want, k->what);
	}
}

/* --- datagram records -------------------------------------------------- */

#define RING	4096
#define HDR	((__u32)sizeof(struct jr_dgram_hdr))

struct dgram_case {
	const char		*what;
	struct jr_dgram_hdr	h;
	__u32			pos, fill, ring;
	const struct jr_limits	*lim;
	int			want;
	__u32			record;		/* when want == 0 */
};

#define V4	{ .family = AF_INET, .port = 0x5000, .addr = { 10, 0, 0, 1 } }
#define V6	{ .family = AF_INET6, .port = 0x5000, .addr = { 0xfe, 0x80, [15] = 1 } }

static const struct dgram_case dgram_cases[] = {
	{ "100 bytes at 0", { .len = 100 }, 0, RING, RING, &lim_v4, 0, 144 },
	{ "empty datagram", { .len = 0 }, 0, RING, RING, &lim_v4, 0, HDR },
	{ "one byte, padded to 8", { .len = 1 }, 0, RING, RING, &lim_v4, 0, 48 },
	{ "record exactly the fill", { .len = 100 }, 8, 144, RING, &lim_v4, 0, 144 },
	{ "record ends at the ring end", { .len = 100 }, RING - 144, RING, RING, &lim_v4, 0, 144 },
	{ "position past the counter wrap", { .len = 100 }, 0xfffff000u + 8, RING, RING,
	  &lim_v4, 0, 144 },
	{ "largest datagram", { .len = JR_DGRAM_MAX }, 0, 1u << 17, 1u << 17, &lim_v4, 0, 65552 },
	{ "record fills the whole ring", { .len = RING - HDR }, 0, RING, RING, &lim_v4, 0, RING },

	{ "payload not all there", { .len = 100 }, 0, 143, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "padding not all there", { .len = 100 }, 0, 141, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "header not all there", { .len = 0 }, 0, HDR - 1, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "nothing there", { .len = 0 }, 0, 0, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "misaligned position", { .len = 0 }, 4, RING, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "odd position", { .len = 0 }, 1, RING, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "header across the ring end", { .len = 0 }, RING - 32, RING, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "record across the ring end", { .len = 100 }, RING - 136, RING, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "larger than a datagram", { .len = JR_DGRAM_MAX + 1 }, 0, 1u << 17, 1u << 17,
	  &lim_v4, -EMSGSIZE, 0 },
	{ "len ~0", { .len = UINT32_MAX }, 0, RING, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "len wraps the record size", { .len = UINT32_MAX - 40 }, 0, RING, RING, &lim_v4, -EMSGSIZE, 0 },

	{ "unknown flag", { .len = 0, .flags = 1u << 3 }, 0, RING, RING, &lim_v4, -EOPNOTSUPP, 0 },
	{ "metadata", { .len = 32 + 100, .flags = JR_DGRAM_F_META }, 0, RING, RING,
	  &lim_all, 0, 176 },
	{ "metadata, nothing else", { .len = 32, .flags = JR_DGRAM_F_META }, 0, RING, RING,
	  &lim_all, 0, 72 },
	{ "metadata cut short", { .len = 31, .flags = JR_DGRAM_F_META }, 0, RING, RING,
	  &lim_all, -EINVAL, 0 },
	{ "metadata not negotiated", { .len = 32, .flags = JR_DGRAM_F_META }, 0, RING, RING,
	  &lim_v4, -EINVAL, 0 },
	{ "metadata, truncated", { .len = 32 + 100, .flags = JR_DGRAM_F_META | JR_DGRAM_F_TRUNC,
	  .orig_len = 101 }, 0, RING, RING, &lim_all, 0, 176 },
	{ "metadata, truncated, orig_len == payload", { .len = 32 + 100,
	  .flags = JR_DGRAM_F_META | JR_DGRAM_F_TRUNC, .orig_len = 100 }, 0, RING, RING,
	  &lim_all, -EINVAL, 0 },
	{ "flag bit 31", { .len = 0, .flags = 1u << 31 }, 0, RING, RING, &lim_v4, -EOPNOTSUPP, 0 },
	{ "pad", { .len = 0, .pad = 1 }, 0, RING, RING, &lim_v4, -EINVAL, 0 },

	{ "truncated", { .len = 100, .flags = JR_DGRAM_F_TRUNC, .orig_len = 1400 }, 0, RING, RING,
	  &lim_v4, 0, 144 },
	{ "truncated to nothing", { .len = 0, .flags = JR_DGRAM_F_TRUNC, .orig_len = 1 }, 0,
	  RING, RING, &lim_v4, 0, HDR },
	{ "truncated, orig_len == len", { .len = 100, .flags = JR_DGRAM_F_TRUNC, .orig_len = 100 },
	  0, RING, RING, &lim_v4, -EINVAL, 0 },
	{ "truncated, orig_len < len", { .len = 100, .flags = JR_DGRAM_F_TRUNC, .orig_len = 50 },
	  0, RING, RING, &lim_v4, -EINVAL, 0 },
	{ "truncated, orig_len 0", { .len = 100, .flags = JR_DGRAM_F_TRUNC }, 0, RING, RING,
	  &lim_v4, -EINVAL, 0 },
	{ "truncated, orig_len too large",
	  { .len = 100, .flags = JR_DGRAM_F_TRUNC, .orig_len = JR_DGRAM_MAX + 1 }, 0, RING, RING,
	  &lim_v4, -EINVAL, 0 },
	{ "orig_len without TRUNC", { .len = 100, .orig_len = 200 }, 0, RING, RING, &lim_v4, -EINVAL, 0 },

	{ "AF_INET address", { .len = 8, .addr = V4 }, 0, RING, RING, &lim_v4, 0, 48 },
	{ "AF_INET address with scope", { .len = 8, .addr = { .family = AF_INET, .scope_id = 1 } },
	  0, RING, RING, &lim_v4, -EINVAL, 0 },
	{ "AF_INET6 not negotiated", { .len = 8, .addr = V6 }, 0, RING, RING, &lim_v4,
	  -EAFNOSUPPORT, 0 },
	{ "AF_INET6 negotiated", { .len = 8, .addr = V6 }, 0, RING, RING, &lim_all, 0, 48 },
	{ "no family but a port", { .len = 8, .addr = { .port = 80 } }, 0, RING, RING, &lim_v4,
	  -EAFNOSUPPORT, 0 },
	{ "no family but an address", { .len = 8, .addr = { .addr = { 1 } } }, 0, RING, RING,
	  &lim_v4, -EAFNOSUPPORT, 0 },
	{ "family AF_UNIX", { .len = 8, .addr = { .family = AF_UNIX } }, 0, RING, RING, &lim_all,
	  -EAFNOSUPPORT, 0 },

	/* Fillers: exactly to the ring end, nothing in them. */
	{ "filler", { .len = 64 - HDR, .flags = JR_DGRAM_F_PAD }, RING - 64, 64, RING,
	  &lim_v4, 0, 64 },
	{ "filler, more data after it", { .len = 64 - HDR, .flags = JR_DGRAM_F_PAD }, RING - 64,
	  RING, RING, &lim_v4, 0, 64 },
	{ "filler of only a header", { .len = 0, .flags = JR_DGRAM_F_PAD }, RING - HDR, HDR, RING,
	  &lim_v4, 0, HDR },
	{ "filler of the whole ring", { .len = RING - HDR, .flags = JR_DGRAM_F_PAD }, 0, RING,
	  RING, &lim_v4, 0, RING },
	{ "filler not all there", { .len = 64 - HDR, .flags = JR_DGRAM_F_PAD }, RING - 64, 63,
	  RING, &lim_v4, -EMSGSIZE, 0 },
	{ "filler short of the end", { .len = 64 - HDR - 8, .flags = JR_DGRAM_F_PAD }, RING - 64,
	  RING, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "filler past the end", { .len = 64 - HDR + 8, .flags = JR_DGRAM_F_PAD }, RING - 64,
	  RING, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "filler also truncated", { .len = 64 - HDR, .flags = JR_DGRAM_F_PAD | JR_DGRAM_F_TRUNC,
	  .orig_len = 100 }, RING - 64, RING, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "filler with orig_len", { .len = 64 - HDR, .flags = JR_DGRAM_F_PAD, .orig_len = 1 },
	  RING - 64, RING, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "filler with an address", { .len = 64 - HDR, .flags = JR_DGRAM_F_PAD, .addr = V4 },
	  RING - 64, RING, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "filler with a stray address byte",
	  { .len = 64 - HDR, .flags = JR_DGRAM_F_PAD, .addr = { .addr = { [15] = 1 } } },
	  RING - 64, RING, RING, &lim_v4, -EMSGSIZE, 0 },
	{ "filler with pad", { .len = 64 - HDR, .flags = JR_DGRAM_F_PAD, .pad = 1 }, RING - 64,
	  RING, RING, &lim_v4, -EINVAL, 0 },
	{ "filler with an unknown flag", { .len = 64 - HDR, .flags = JR_DGRAM_F_PAD | 8 },
	  RING - 64, RING, RING, &lim_v4, -EOPNOTSUPP, 0 },
	{ "filler with metadata", { .len = 64 - HDR, .flags = JR_DGRAM_F_PAD | JR_DGRAM_F_META },
	  RING - 64, RING, RING, &lim_v4, -EMSGSIZE, 0 },
};

static void validate_dgram(void)
{
	for (size_t i = 0; i < sizeof(dgram_cases) / sizeof(dgram_cases[0]); i++) {
		const struct dgram_case *c = &dgram_cases[i];
		__u32 record = 0xdeadbeef;
		int got = jr_validate_dgram(&c->h, c->pos, c->fill, c->ring, c->lim, &record);

		JR_EXPECT_MSG(got == c->want, "dgram %s: got %s, want %s", c->what,
			      errname(got), errname(c->want));
		if (!got && !c->want)
			JR_EXPECT_MSG(record == c->record, "dgram %s: record %u, want %u",
				      c->what, record, c->record);
		if (got)
			JR_EXPECT_MSG(record == 0xdeadbeef,
				      "dgram %s: record written on failure", c->what);
	}
}

/*
 * Every aligned position and every payload length up to a few hundred
 * bytes: a plain record is accepted exactly when it fits before both the
 * ring end and the fill, and then it is JR_DGRAM_RECORD(len) long.
 */
static void validate_dgram_sweep(void)
{
	const __u32 ring = 1024;

	for (__u32 pos = 0; pos < ring; pos += JR_DGRAM_ALIGN) {
		for (__u32 len = 0; len < 600; len++) {
			struct jr_dgram_hdr h = { .len = len };
			__u32 to_end = ring - pos, need = JR_DGRAM_RECORD(len), record = 0;
			__u32 fill = (len * 7) % (ring + 1);
			int want = need <= to_end && need <= fill ? 0 : -EMSGSIZE;
			int got = jr_validate_dgram(&h, pos + 3 * ring, fill, ring, &lim_v4,
						    &record);

			JR_EXPECT_MSG(got == want, "pos %u len %u fill %u: got %s want %s",
				      pos, len, fill, errname(got), errname(want));
			if (!got)
				JR_EXPECT_MSG(record == need && record <= fill &&
					      pos + record <= ring,
					      "pos %u len %u: record %u", pos, len, record);
		}
	}
}

/* --- layout ------------------------------------------------------------ */

struct span {
	const char	*what;
	__u64		start, end;
};

static void check_layout(const struct jr_attach *a, const char *what)
{
	const struct jr_layout *l = &a->layout;
	const __u64 data_len = (__u64)a->nr_slots * (a->rx_buf_size + a->tx_buf_size);
	struct span spans[] = {
		{ "header", 0, sizeof(struct jr_region_hdr) },
		{ "stats", l->stats_off, l->stats_off + sizeof(struct jr_stats) },
		{ "sq ctl", l->sq_off, l->sq_off + sizeof(struct jr_ring_ctl) },
		{ "sq entries", l->sq_entries_off,
		  l->sq_entries_off + (__u64)a->sq_entries * sizeof(struct jr_sqe) },
		{ "cq ctl", l->cq_off, l->cq_off + sizeof(struct jr_ring_ctl) },
		{ "cq entries", l->cq_entries_off,
		  l->cq_entries_off + (__u64)a->cq_entries * sizeof(struct jr_cqe) },
		{ "slots", l->slots_off,
		  l->slots_off + (__u64)a->nr_slots * sizeof(struct jr_slot_ctl) },
		{ "data", l->data_off, l->data_off + data_len },
	};
	const size_t nr = sizeof(spans) / sizeof(spans[0]);

	JR_EXPECT_MSG(l->region_size % JR_LAYOUT_PAGE == 0, "%s: region size %llu",
		      what, (unsigned long long)l->region_size);
	JR_EXPECT_MSG(l->stats_off % JR_LAYOUT_PAGE == 0 && l->sq_off % JR_LAYOUT_PAGE == 0 &&
		      l->cq_off % JR_LAYOUT_PAGE == 0 && l->slots_off % JR_LAYOUT_PAGE == 0 &&
		      l->data_off % JR_LAYOUT_PAGE == 0, "%s: an area is not page-aligned", what);
	/* Entries right after their control block, cache-line aligned. */
	JR_EXPECT(l->sq_entries_off == l->sq_off + sizeof(struct jr_ring_ctl));
	JR_EXPECT(l->cq_entries_off == l->cq_off + sizeof(struct jr_ring_ctl));
	for (size_t i = 0; i < nr; i++) {
		JR_EXPECT_MSG(spans[i].end <= l->region_size, "%s: %s ends at %llu, region %llu",
			      what, spans[i].what, (unsigned long long)spans[i].end,
			      (unsigned long long)l->region_size);
		for (size_t j = i + 1; j < nr; j++)
			JR_EXPECT_MSG(spans[i].end <= spans[j].start ||
				      spans[j].end <= spans[i].start,
				      "%s: %s overlaps %s", what, spans[i].what, spans[j].what);
	}
	/* Byte rings tile the data area: the last slot's tx ring ends it. */
	JR_EXPECT(jr_slot_rx_off(a, 0) == l->data_off);
	JR_EXPECT(jr_slot_tx_off(a, 0) == l->data_off + a->rx_buf_size);
	JR_EXPECT(jr_slot_rx_off(a, 1) == jr_slot_tx_off(a, 0) + a->tx_buf_size);
	JR_EXPECT(jr_slot_tx_off(a, a->nr_slots - 1) + a->tx_buf_size == l->data_off + data_len);
}

static bool pow2_within(__u32 v, __u32 lo, __u32 hi)
{
	return v && !(v & (v - 1)) && v >= lo && v <= hi;
}

static void layout_compute(void)
{
	static const struct {
		__u32	sq, cq, slots, rx, tx, max_slots, max_buf;
		__u32	want_sq, want_cq, want_slots, want_rx, want_tx;
	} rows[] = {
		/* Nothing asked: the ABI minimums. */
		{ 0, 0, 0, 0, 0, 0, 0, 64, 64, 16, 4096, 4096 },
		/* Rounded up to a power of two. */
		{ 100, 1000, 17, 5000, 70000, 0, 0, 128, 1024, 32, 8192, 131072 },
		/* Powers of two are kept. */
		{ 4096, 8192, 1024, 262144, 262144, 0, 0, 4096, 8192, 1024, 262144, 262144 },
		/* Everything at the top is clamped to the ABI maximums. */
		{ UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, 0, 0,
		  65536, 65536, 65536, 4u << 20, 4u << 20 },
		/* The CQ is never smaller than the SQ. */
		{ 1024, 64, 16, 4096, 4096, 0, 0, 1024, 1024, 16, 4096, 4096 },
		{ 65536, 0, 16, 4096, 4096, 0, 0, 65536, 65536, 16, 4096, 4096 },
		/* The owner's caps. */
		{ 64, 64, 4096, 1u << 20, 1u << 20, 256, 65536, 64, 64, 256, 65536, 65536 },
		/* A cap that is not a power of two: the power of two below it. */
		{ 64, 64, 4096, 1u << 20, 1u << 20, 100, 100000, 64, 64, 64, 65536, 65536 },
		/* A cap below the ABI minimum does not break the minimum. */
		{ 64, 64, 4096, 1u << 20, 1u << 20, 8, 1024, 64, 64, 16, 4096, 4096 },
		/* A cap above the ABI maximum is the ABI maximum. */
		{ 64, 64, UINT32_MAX, UINT32_MAX, 0, UINT32_MAX, UINT32_MAX,
		  64, 64, 65536, 4u << 20, 4096 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct jr_attach a, again;
		char what[32];

		memset(&a, 0, sizeof(a));
		a.sq_entries = rows[i].sq;
		a.cq_entries = rows[i].cq;
		a.nr_slots = rows[i].slots;
		a.rx_buf_size = rows[i].rx;
		a.tx_buf_size = rows[i].tx;
		jr_layout_compute(&a, rows[i].max_slots, rows[i].max_buf);
		snprintf(what, sizeof(what), "row %zu", i);

		JR_EXPECT_MSG(a.sq_entries == rows[i].want_sq, "%s: sq %u", what, a.sq_entries);
		JR_EXPECT_MSG(a.cq_entries == rows[i].want_cq, "%s: cq %u", what, a.cq_entries);
		JR_EXPECT_MSG(a.nr_slots == rows[i].want_slots, "%s: slots %u", what, a.nr_slots);
		JR_EXPECT_MSG(a.rx_buf_size == rows[i].want_rx, "%s: rx %u", what, a.rx_buf_size);
		JR_EXPECT_MSG(a.tx_buf_size == rows[i].want_tx, "%s: tx %u", what, a.tx_buf_size);
		JR_EXPECT(pow2_within(a.sq_entries, JR_RING_MIN_ENTRIES, JR_RING_MAX_ENTRIES));
		JR_EXPECT(pow2_within(a.cq_entries, JR_RING_MIN_ENTRIES, JR_RING_MAX_ENTRIES));
		JR_EXPECT(pow2_within(a.nr_slots, JR_SLOTS_MIN, JR_SLOTS_MAX));
		JR_EXPECT(pow2_within(a.rx_buf_size, JR_BUF_MIN, JR_BUF_MAX));
		JR_EXPECT(pow2_within(a.tx_buf_size, JR_BUF_MIN, JR_BUF_MAX));
		JR_EXPECT(a.cq_entries >= a.sq_entries);
		check_layout(&a, what);

		/*
		 * A grant is a fixed point: a netserver re-deriving the layout
		 * from the granted sizes (without the owner's caps) gets the
		 * same one, or it would reject a legitimate grant.
		 */
		again = a;
		jr_layout_compute(&again, 0, 0);
		JR_EXPECT_MSG(!memcmp(&again, &a, sizeof(a)), "%s: not a fixed point", what);
	}
}

/* Every combination of sizes in the ABI range lays out without overlap. */
static void layout_sweep(void)
{
	for (__u32 sq = JR_RING_MIN_ENTRIES; sq <= JR_RING_MAX_ENTRIES; sq <<= 2) {
		for (__u32 slots = JR_SLOTS_MIN; slots <= JR_SLOTS_MAX; slots <<= 3) {
			for (__u32 buf = JR_BUF_MIN; buf <= JR_BUF_MAX; buf <<= 5) {
				struct jr_attach a = {
					.sq_entries = sq, .cq_entries = sq / 2,
					.nr_slots = slots, .rx_buf_size = buf,
					.tx_buf_size = buf * 2,
				};
				char what[64];

				jr_layout_compute(&a, 0, 0);
				snprintf(what, sizeof(what), "sq %u slots %u buf %u", sq, slots, buf);
				check_layout(&a, what);
				JR_EXPECT(a.cq_entries == sq);
			}
		}
	}
}

/*
 * RESTORE (2.1): only as a replay, only with JR_F_SURVIVAL; an IPv4
 * connection leaves the rest of its addresses zero; ports are set.
 */
static void validate_sqe_restore(void)
{
	static const struct jr_limits lim_surv = {
		.nr_slots = NR_SLOTS, .rx_buf_size = 4096, .tx_buf_size = 8192,
		.features = JR_F_TCP | JR_F_RECOVERY | JR_F_SURVIVAL,
	};
	struct jr_sqe good = { .op = JR_OP_RESTORE, .flags = JR_SQE_F_REPLAY,
			       .slot = GOOD_SLOT, .slot_gen = 3, .tag = 9 }, s;

	good.u.restore.family = AF_INET;
	good.u.restore.local_port = htons(80);
	good.u.restore.peer_port = htons(40000);
	memcpy(good.u.restore.local, "\xc6\x12\x00\x02", 4);
	memcpy(good.u.restore.peer, "\xc6\x12\x01\x02", 4);
	check_sqe(&good, &lim_surv, 0, "RESTORE well-formed");
	check_sqe(&good, &lim_all, 0, "RESTORE, all features");
	check_sqe(&good, &lim_v4, -EINVAL, "RESTORE without JR_F_SURVIVAL");
	s = good;
	s.flags = 0;
	check_sqe(&s, &lim_surv, -EINVAL, "RESTORE outside a replay");
	s = good;
	s.u.restore.local_port = 0;
	check_sqe(&s, &lim_surv, -EINVAL, "RESTORE, local port 0");
	s = good;
	s.u.restore.peer_port = 0;
	check_sqe(&s, &lim_surv, -EINVAL, "RESTORE, peer port 0");
	s = good;
	s.u.restore.pad = 1;
	check_sqe(&s, &lim_surv, -EINVAL, "RESTORE, pad");
	s = good;
	s.u.restore.peer[4] = 1;
	check_sqe(&s, &lim_surv, -EINVAL, "RESTORE, IPv4 peer with bytes past 4");
	s = good;
	s.u.restore.local[15] = 1;
	check_sqe(&s, &lim_surv, -EINVAL, "RESTORE, IPv4 local with bytes past 4");
	s = good;
	s.u.restore.family = AF_INET6;
	s.u.restore.peer[15] = 1;
	check_sqe(&s, &lim_surv, -EAFNOSUPPORT, "RESTORE, IPv6 not negotiated");
	check_sqe(&s, &lim_all, 0, "RESTORE, IPv6");
	s = good;
	s.u.restore.family = AF_UNIX;
	check_sqe(&s, &lim_all, -EAFNOSUPPORT, "RESTORE, AF_UNIX");
}

/* A checkpoint as the kernel copies it at a netserver's death. */
static void validate_ckpt(void)
{
	const struct jr_tcp_ckpt good = {
		.seq = 2, .snd_wscale = 7, .rcv_wscale = 7, .snd_base = 0xfffffff0u,
		.rcv_base = 12345, .snd_wnd = 65535, .mss = 1460,
	};
	struct jr_tcp_ckpt c;

	JR_EXPECT_EQ(jr_validate_ckpt(&good), 0);
	c = good;
	c.flags = JR_CKPT_F_FIN_RCVD;
	JR_EXPECT_EQ(jr_validate_ckpt(&c), 0);
	c = good;
	c.seq = 0;
	JR_EXPECT_EQ(jr_validate_ckpt(&c), -ENOENT);	/* never written */
	c.seq = 3;
	JR_EXPECT_EQ(jr_validate_ckpt(&c), -ENOENT);	/* torn */
	c = good;
	c.rx_held = 1;
	JR_EXPECT_EQ(jr_validate_ckpt(&c), -EAGAIN);	/* a byte outside the ring */
	c = good;
	c.flags = 2;
	JR_EXPECT_EQ(jr_validate_ckpt(&c), -EINVAL);
	c = good;
	c.snd_wscale = 15;
	JR_EXPECT_EQ(jr_validate_ckpt(&c), -EINVAL);
	c = good;
	c.rcv_wscale = 255;
	JR_EXPECT_EQ(jr_validate_ckpt(&c), -EINVAL);
	c = good;
	c.mss = 63;
	JR_EXPECT_EQ(jr_validate_ckpt(&c), -EINVAL);
	c.mss = 65496;
	JR_EXPECT_EQ(jr_validate_ckpt(&c), -EINVAL);
	c = good;
	c.pad = 1;
	JR_EXPECT_EQ(jr_validate_ckpt(&c), -EINVAL);
	c = good;
	c.pad2 = 1;
	JR_EXPECT_EQ(jr_validate_ckpt(&c), -EINVAL);
	c = good;
	c.reserved = 1;
	JR_EXPECT_EQ(jr_validate_ckpt(&c), -EINVAL);
}

static const struct jr_test_case cases[] = {
	{ "validate_sqe_common", validate_sqe_common },
	{ "validate_sqe_restore", validate_sqe_restore },
	{ "validate_ckpt", validate_ckpt },
	{ "validate_sqe_ops", validate_sqe_ops },
	{ "validate_sqe_sockopts", validate_sqe_sockopts },
	{ "validate_cqe_common", validate_cqe_common },
	{ "validate_cqe_ops", validate_cqe_ops },
	{ "validate_dgram", validate_dgram },
	{ "validate_dgram_sweep", validate_dgram_sweep },
	{ "layout_compute", layout_compute },
	{ "layout_sweep", layout_sweep },
};

JR_TEST_MAIN(cases)
