// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: everything the kernel reads from the netserver goes
 * through jr_validate.h and the index checks of jr_ring.h, so those are the
 * code a hostile netserver gets to aim at.  Each input (see fuzz_input.h)
 * is a set of negotiated limits, one 64-byte entry read as an SQE, a CQE
 * and a datagram header, and ring counters as shared memory might show
 * them.
 *
 * ASan and UBSan catch reads out of bounds and undefined arithmetic.  On
 * top of that, whatever a validator accepts must have the properties the
 * callers rely on, restated here independently of the validator's code
 * (a record accepted at pos lies within fill and within the ring end, an
 * accepted entry names a slot that exists, ...), and every rejection must
 * use one of the errnos jr_validate.h documents.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jr/jr_ring.h>
#include <jr/jr_validate.h>

#include "fuzz_input.h"

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "validate_fuzz: broken: %s (line %d)\n",	\
			#cond, __LINE__);				\
		abort();						\
	}								\
} while (0)

static bool documented_errno(int err)
{
	return err == 0 || err == -EOPNOTSUPP || err == -ERANGE ||
	       err == -EINVAL || err == -EPROTO || err == -EAFNOSUPPORT ||
	       err == -EMSGSIZE;
}

static bool zero_from(const void *p, size_t from, size_t len)
{
	const unsigned char *c = p;

	for (size_t i = from; i < len; i++)
		if (c[i])
			return false;
	return true;
}

static bool addr_acceptable(const struct jr_sockaddr *sa, __u64 features)
{
	if (sa->family == AF_INET)
		return !sa->scope_id && zero_from(sa->addr, 4, sizeof(sa->addr));
	return sa->family == AF_INET6 && (features & JR_F_IPV6);
}

static size_t sqe_union_used(__u16 op)
{
	switch (op) {
	case JR_OP_BIND:
	case JR_OP_CONNECT:
		return sizeof(struct jr_sockaddr);
	case JR_OP_SETSOCKOPT:
	case JR_OP_GETSOCKOPT:
		return 16;	/* 40 for a membership: see fuzz_sqe() */
	case JR_OP_TX:
	case JR_OP_RX_SPACE:
	case JR_OP_REPLAY_DONE:
		return 0;
	case JR_OP_RESTORE:
		return sizeof(((struct jr_sqe *)0)->u.restore);	/* all 40 */
	default:
		return 8;
	}
}

static void fuzz_sqe(const struct jr_sqe *s, const struct jr_limits *lim)
{
	struct jr_limits more = *lim;
	int err = jr_validate_sqe(s, lim);

	FUZZ_CHECK(documented_errno(err) && err != -EPROTO && err != -EMSGSIZE);
	FUZZ_CHECK(jr_validate_sqe(s, lim) == err);
	if (err)
		return;

	FUZZ_CHECK(s->op > JR_OP_INVALID && s->op < JR_OP_NR);
	FUZZ_CHECK(!(s->flags & ~(JR_SQE_F_REPLAY | JR_SQE_F_MORE)) && !s->pad);
	FUZZ_CHECK(!(s->flags & JR_SQE_F_MORE) ||
		   (s->op == JR_OP_TX && (lim->features & JR_F_SOCKOPTS)));
	if (s->op == JR_OP_REPLAY_DONE)
		FUZZ_CHECK(!s->slot && !s->slot_gen);
	else
		FUZZ_CHECK(s->slot < lim->nr_slots);
	if (s->op != JR_OP_SETSOCKOPT ||
	    !jr_sockopt_has_addr(s->u.sockopt.level, s->u.sockopt.name))
		FUZZ_CHECK(zero_from(&s->u, sqe_union_used(s->op), sizeof(s->u)));

	switch (s->op) {
	case JR_OP_SOCKET:
		FUZZ_CHECK(s->u.socket.family == AF_INET ||
			   (s->u.socket.family == AF_INET6 && (lim->features & JR_F_IPV6)));
		FUZZ_CHECK((s->u.socket.type == SOCK_STREAM && (lim->features & JR_F_TCP)) ||
			   (s->u.socket.type == SOCK_DGRAM && (lim->features & JR_F_UDP)));
		FUZZ_CHECK(!s->u.socket.pad);
		break;
	case JR_OP_BIND:
		FUZZ_CHECK(addr_acceptable(&s->u.addr, lim->features));
		break;
	case JR_OP_CONNECT:
		/* Or the disconnect: connect(AF_UNSPEC), all zero. */
		FUZZ_CHECK(addr_acceptable(&s->u.addr, lim->features) ||
			   zero_from(&s->u.addr, 0, sizeof(s->u.addr)));
		break;
	case JR_OP_LISTEN:
		FUZZ_CHECK(s->u.listen.backlog <= JR_MAX_BACKLOG && !s->u.listen.pad);
		break;
	case JR_OP_ACCEPT:
		FUZZ_CHECK(s->u.accept.listener_slot < lim->nr_slots &&
			   s->u.accept.listener_slot != s->slot);
		break;
	case JR_OP_SHUTDOWN:
		FUZZ_CHECK(s->u.shutdown.how <= SHUT_RDWR && !s->u.shutdown.pad);
		break;
	case JR_OP_CLOSE:
		FUZZ_CHECK(s->u.close.linger_on <= 1 &&
			   (s->u.close.linger_on || !s->u.close.linger_sec));
		break;
	case JR_OP_GETSOCKOPT:
		FUZZ_CHECK(!s->u.sockopt.value);
		/* fall through */
	case JR_OP_SETSOCKOPT:
		FUZZ_CHECK(jr_sockopt_known(s->u.sockopt.level, s->u.sockopt.name));
		/* Multicast only where it was granted (1.2). */
		FUZZ_CHECK(!jr_sockopt_is_mcast(s->u.sockopt.level, s->u.sockopt.name) ||
			   ((lim->features & JR_F_MULTICAST) &&
			    (lim->features & JR_F_SOCKOPTS)));
		if (s->op == JR_OP_SETSOCKOPT &&
		    jr_sockopt_has_addr(s->u.sockopt.level, s->u.sockopt.name)) {
			FUZZ_CHECK(addr_acceptable(&s->u.sockopt.addr, lim->features));
		}
		break;
	case JR_OP_GETNAME:
		FUZZ_CHECK(s->u.getname.peer <= 1 && !s->u.getname.pad);
		break;
	case JR_OP_RESTORE:
		/* 2.1: only a replay, only with JR_F_SURVIVAL; ports set. */
		FUZZ_CHECK((s->flags & JR_SQE_F_REPLAY) && (lim->features & JR_F_SURVIVAL));
		FUZZ_CHECK(s->u.restore.local_port && s->u.restore.peer_port &&
			   !s->u.restore.pad);
		FUZZ_CHECK((s->u.restore.family == AF_INET &&
			    zero_from(s->u.restore.local, 4, 16) &&
			    zero_from(s->u.restore.peer, 4, 16)) ||
			   (s->u.restore.family == AF_INET6 && (lim->features & JR_F_IPV6)));
		break;
	}

	/* More features never reject what fewer accepted. */
	more.features |= JR_F_ALL;
	FUZZ_CHECK(jr_validate_sqe(s, &more) == 0);
	/* Without the slot it names, the entry is out of range. */
	if (s->op != JR_OP_REPLAY_DONE) {
		more = *lim;
		more.nr_slots = s->slot;
		FUZZ_CHECK(jr_validate_sqe(s, &more) == -ERANGE);
	}
}

static void fuzz_cqe(const struct jr_cqe *c, const struct jr_limits *lim)
{
	struct jr_limits more = *lim;
	int err = jr_validate_cqe(c, lim);
	bool event = c->op >= JR_EV_FIRST;
	size_t used = 0;

	FUZZ_CHECK(documented_errno(err) && err != -EMSGSIZE);
	FUZZ_CHECK(jr_validate_cqe(c, lim) == err);
	if (err)
		return;

	if (event) {
		FUZZ_CHECK(c->op < JR_EV_NR);
		FUZZ_CHECK(c->flags == JR_CQE_F_EVENT && !c->tag);
		if (c->op == JR_EV_RESET || c->op == JR_EV_ERROR)
			FUZZ_CHECK(c->res < 0);
		else if (c->op == JR_EV_ACCEPTABLE)
			FUZZ_CHECK(c->res >= 0 && c->res <= JR_MAX_BACKLOG);
		else
			FUZZ_CHECK(c->res == 0);
	} else {
		FUZZ_CHECK(c->op > JR_OP_INVALID && c->op < JR_OP_NR &&
			   c->op != JR_OP_TX && c->op != JR_OP_RX_SPACE);
		FUZZ_CHECK(!c->flags && c->tag && !c->slot_gen && c->res <= 0);
		if (!c->res && jr_op_reply_has_addr(c->op)) {
			FUZZ_CHECK(addr_acceptable(&c->u.addr, lim->features));
			used = sizeof(struct jr_sockaddr);
		} else if (!c->res && c->op == JR_OP_GETSOCKOPT) {
			used = sizeof(c->u);	/* a value or struct jr_tcp_info */
		}
	}
	FUZZ_CHECK(c->res >= -JR_MAX_ERRNO);
	if (c->op == JR_OP_REPLAY_DONE)
		FUZZ_CHECK(!c->slot);
	else
		FUZZ_CHECK(c->slot < lim->nr_slots);
	FUZZ_CHECK(zero_from(&c->u, used, sizeof(c->u)));

	more.features |= JR_F_ALL;
	FUZZ_CHECK(jr_validate_cqe(c, &more) == 0);
	if (c->op != JR_OP_REPLAY_DONE) {
		more = *lim;
		more.nr_slots = c->slot;
		FUZZ_CHECK(jr_validate_cqe(c, &more) == -ERANGE);
	}
}

static void fuzz_dgram(const struct jr_dgram_hdr *h, __u32 pos, __u32 fill,
		       __u32 ring_size, const struct jr_limits *lim)
{
	const __u32 off = pos & (ring_size - 1), to_end = ring_size - off;
	const __u32 untouched = 0xdeadbeef;
	struct jr_limits more = *lim;
	__u32 record = untouched, again = untouched;
	int err = jr_validate_dgram(h, pos, fill, ring_size, lim, &record);

	FUZZ_CHECK(documented_errno(err) && err != -ERANGE && err != -EPROTO);
	FUZZ_CHECK(jr_validate_dgram(h, pos, fill, ring_size, lim, &again) == err);
	if (err) {
		FUZZ_CHECK(record == untouched);
		return;
	}
	FUZZ_CHECK(record == again);

	/* What the consumer then copies stays inside the ring and the fill. */
	FUZZ_CHECK(record >= sizeof(*h));
	FUZZ_CHECK(record <= fill);
	FUZZ_CHECK(record <= to_end && (__u64)off + record <= ring_size);
	FUZZ_CHECK(off % JR_DGRAM_ALIGN == 0 && record % JR_DGRAM_ALIGN == 0);
	FUZZ_CHECK(!h->pad);
	if (h->flags & JR_DGRAM_F_PAD) {
		FUZZ_CHECK(h->flags == JR_DGRAM_F_PAD && !h->orig_len);
		FUZZ_CHECK(record == to_end && h->len == to_end - sizeof(*h));
		FUZZ_CHECK(zero_from(&h->addr, 0, sizeof(h->addr)));
	} else {
		FUZZ_CHECK(!(h->flags & ~(JR_DGRAM_F_TRUNC | JR_DGRAM_F_META)));
		FUZZ_CHECK(h->len <= JR_DGRAM_MAX && record == JR_DGRAM_RECORD(h->len));
		FUZZ_CHECK(sizeof(*h) + (__u64)h->len <= record);
		if (h->flags & JR_DGRAM_F_META)
			FUZZ_CHECK(h->len >= sizeof(struct jr_dgram_meta) &&
				   (lim->features & JR_F_SOCKOPTS));
		FUZZ_CHECK(jr_dgram_payload_off(h) + (__u64)jr_dgram_payload_len(h) <= record);
		if (h->flags & JR_DGRAM_F_TRUNC)
			FUZZ_CHECK(h->orig_len > jr_dgram_payload_len(h) &&
				   h->orig_len <= JR_DGRAM_MAX);
		else
			FUZZ_CHECK(!h->orig_len);
		FUZZ_CHECK(zero_from(&h->addr, 0, sizeof(h->addr)) ||
			   addr_acceptable(&h->addr, lim->features));
	}
	more.features |= JR_F_ALL;
	FUZZ_CHECK(jr_validate_dgram(h, pos, fill, ring_size, &more, &again) == 0);
	FUZZ_CHECK(again == record);
}

/* Ring counters as a lying peer might leave them. */
static void fuzz_ring(const struct fuzz_input *in, __u32 ring_size)
{
	static struct jr_ring_ctl ctl;
	static unsigned char entries[64 * sizeof(struct jr_sqe)];
	const __u32 nr = JR_RING_MIN_ENTRIES << (in->entry_shift % 11);
	const __u32 lead = in->peer - in->own;
	struct jr_ring r;
	int n;

	/* Consumer: own is cons, the peer claims prod. */
	memset(&ctl, 0, sizeof(ctl));
	ctl.cons = in->own;
	ctl.prod = in->peer;
	jr_ring_init(&r, &ctl, entries, nr, sizeof(struct jr_sqe), false);
	n = jr_ring_ready(&r);
	FUZZ_CHECK(lead > nr ? n == -EOVERFLOW : n == (int)lead);
	FUZZ_CHECK(ctl.cons == in->own);

	/* Producer: own is prod, the peer claims cons. */
	memset(&ctl, 0, sizeof(ctl));
	ctl.prod = in->own;
	ctl.cons = in->peer;
	jr_ring_init(&r, &ctl, entries, nr, sizeof(struct jr_sqe), true);
	for (int round = 0; round < 2; round++) {
		__u32 used = in->own - in->peer;

		n = jr_ring_space(&r, in->want);
		FUZZ_CHECK(n == -EOVERFLOW || (n >= 0 && (__u32)n <= nr));
		if (in->want && in->want <= nr)
			FUZZ_CHECK(used > nr ? n == -EOVERFLOW : n == (int)(nr - used));
	}
	FUZZ_CHECK(ctl.prod == in->own);

	/* Byte rings: the same counter checks, and copies that stay inside. */
	n = jr_bytes_fill(in->peer, in->own, ring_size);
	FUZZ_CHECK(lead > ring_size ? n == -EOVERFLOW : n == (int)lead);
	n = jr_bytes_chunk(ring_size, in->pos, in->len);
	FUZZ_CHECK((__u32)n <= in->len);
	FUZZ_CHECK((in->pos & (ring_size - 1)) + (__u64)n <= ring_size);
	FUZZ_CHECK((__u32)n == in->len || (in->pos & (ring_size - 1)) + n == ring_size);
}

/* Copies across the wrap of a small heap ring, where ASan sees every byte. */
static void fuzz_copy(const struct fuzz_input *in)
{
	enum { SIZE = 256 };
	static unsigned char src[SIZE], dst[SIZE];
	unsigned char *ring = malloc(SIZE);
	__u32 len = in->len % (SIZE + 1);

	FUZZ_CHECK(ring);
	for (int i = 0; i < SIZE; i++)
		src[i] = (unsigned char)(i * 7 + in->pos);
	jr_bytes_copy_in(ring, SIZE, in->pos, src, len);
	jr_bytes_copy_out(ring, SIZE, in->pos, dst, len);
	FUZZ_CHECK(!memcmp(src, dst, len));
	free(ring);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	struct jr_limits lim;
	__u32 ring_size;

	memset(&in, 0, sizeof(in));
	memcpy(&in, data, size < sizeof(in) ? size : sizeof(in));
	ring_size = JR_BUF_MIN << (in.ring_shift % 11);
	lim.nr_slots = in.nr_slots;
	lim.rx_buf_size = ring_size;
	lim.tx_buf_size = ring_size;
	lim.features = in.features;

	fuzz_sqe(&in.e.sqe, &lim);
	fuzz_cqe(&in.e.cqe, &lim);
	fuzz_dgram(&in.e.dgram, in.pos, in.fill, ring_size, &lim);
	fuzz_ring(&in, ring_size);
	fuzz_copy(&in);
	return 0;
}
