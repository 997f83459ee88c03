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

/* Without a netserver there is nothing to carry a socket: ENETDOWN. */
#endif
