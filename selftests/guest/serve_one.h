/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest tests that play a minimal netserver against joyride.ko: attach
 * with libjr, take requests off the SQ and answer them by hand.
 */
#ifndef _JR_SERVE_ONE_H
#define _JR_SERVE_ONE_H

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "jr/libjr.h"

/* Take the next request off the SQ, waiting at most 5 s for one. */
static inline int take_request(struct jr_region *r, struct jr_sqe *sqe)
{
	struct timespec delay = { .tv_nsec = 1000000 };

	for (int i = 0; i < 5000 && jr_ring_ready(&r->sq) <= 0; i++)
		nanosleep(&delay, NULL);
	if (jr_ring_ready(&r->sq) <= 0)
		return -ETIMEDOUT;
	memcpy(sqe, jr_ring_entry(&r->sq, r->sq.own), sizeof(*sqe));
	jr_ring_consume(&r->sq, 1);
	return 0;
}

/*
 * The test plays a minimal netserver: take one request from the SQ, check
 * its op, answer it with res, kick the kernel.
 */
static inline int serve_one(struct jr_region *r, uint16_t want_op, int res,
		     struct jr_sqe *seen)
{
	struct jr_cqe cqe = { 0 };
	int err = take_request(r, seen);

	if (err)
		return err;
	if (seen->op != want_op)
		return -EPROTO;
	cqe.op = seen->op;
	cqe.slot = seen->slot;
	cqe.tag = seen->tag;
	cqe.res = res;
	if (jr_server_post(r, &cqe))
		return -ENOSPC;
	return ioctl(r->fd, JR_IOC_KICK) ? -errno : 0;
}

struct socket_call {
	int type;
	int fd;
	int err;
};

static inline void *call_socket(void *arg)
{
	struct socket_call *c = arg;

	c->fd = socket(AF_JOYRIDE, c->type, 0);
	c->err = c->fd < 0 ? errno : 0;
	return NULL;
}

static inline int post_and_kick(struct jr_region *r, const struct jr_cqe *cqes, int n)
{
	for (int i = 0; i < n; i++)
		if (jr_server_post(r, &cqes[i]))
			return -ENOSPC;
	return ioctl(r->fd, JR_IOC_KICK) ? -errno : 0;
}

static inline struct jr_cqe reply_to(const struct jr_sqe *sqe, int res)
{
	struct jr_cqe cqe = {
		.op = sqe->op, .slot = sqe->slot, .tag = sqe->tag, .res = res,
	};

	return cqe;
}

static inline struct jr_cqe event_for(const struct jr_sqe *sqe, uint16_t op, int res)
{
	struct jr_cqe cqe = {
		.op = op, .flags = JR_CQE_F_EVENT, .slot = sqe->slot,
		.slot_gen = sqe->slot_gen, .res = res,
	};

	return cqe;
}

/*
 * The reply an honest netserver gives to a request: success, with the
 * address asked for where the reply carries one (the port a wildcard
 * asked for stays 0, which the kernel accepts from a netserver).
 */
static inline struct jr_cqe honest_reply(const struct jr_sqe *sqe)
{
	struct jr_cqe cqe = reply_to(sqe, 0);

	if (sqe->op == JR_OP_REPLAY_DONE)
		cqe.slot = 0;
	if (sqe->op == JR_OP_BIND || sqe->op == JR_OP_CONNECT ||
	    sqe->op == JR_OP_GETNAME) {
		cqe.u.addr = sqe->u.addr;
		cqe.u.addr.family = AF_INET;
	}
	return cqe;
}

/* Answer one request honestly (requests without a reply are just taken). */
static inline int serve_honestly(struct jr_region *r, struct jr_sqe *seen)
{
	struct jr_cqe cqe;
	int err = take_request(r, seen);

	if (err || !jr_op_has_reply(seen->op) || seen->op == JR_OP_ACCEPT)
		return err;
	cqe = honest_reply(seen);
	return post_and_kick(r, &cqe, 1);
}

/* An AF_JOYRIDE socket served honestly; *created is its SOCKET request. */
static inline int honest_socket(struct jr_region *r, int type, struct jr_sqe *created)
{
	struct socket_call call = { .type = type };
	struct jr_cqe ok;
	pthread_t t;
	int err;

	if (pthread_create(&t, NULL, call_socket, &call))
		return -EAGAIN;
	err = take_request(r, created);
	if (!err && created->op != JR_OP_SOCKET)
		err = -EPROTO;
	if (!err) {
		ok = reply_to(created, 0);
		err = post_and_kick(r, &ok, 1);
	}
	pthread_join(t, NULL);
	if (err)
		return err;
	return call.fd < 0 ? -call.err : call.fd;
}

static inline int honest_udp_socket(struct jr_region *r, struct jr_sqe *created)
{
	return honest_socket(r, SOCK_DGRAM, created);
}

#endif
