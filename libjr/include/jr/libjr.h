/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * libjr: user-space side of the Joyride ABI.
 *
 * A region is the shared memory of one frontend: the kernel's (/dev/joyride)
 * or a user frontend's (a memfd that a process hands to the netserver over
 * an AF_UNIX socket, playing the kernel's role).  Both sides of a region use
 * struct jr_region; `owner` tells which role this process plays:
 *
 *   owner (kernel role): produces SQEs, consumes CQEs, lays out the region;
 *   server (netserver):  consumes SQEs, produces CQEs, maps what it is given.
 *
 * Functions return 0 or a negative errno; they never set errno for the
 * caller to read.
 */
#ifndef _JR_LIBJR_H
#define _JR_LIBJR_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/joyride.h>
#include "jr_ring.h"
#include "jr_layout.h"
#include "jr_validate.h"

#ifdef __cplusplus
extern "C" {
#endif

struct jr_region {
	void			*base;
	size_t			size;
	struct jr_attach	params;		/* negotiated; private copy */
	struct jr_limits	limits;		/* derived from params */
	struct jr_region_hdr	*hdr;
	struct jr_stats		*stats;
	struct jr_slot_ctl	*slots;
	unsigned char		*data;
	struct jr_ring		sq;		/* owner produces, server consumes */
	struct jr_ring		cq;		/* server produces, owner consumes */
	bool			owner;
	bool			kernel;		/* attached to /dev/joyride */
	int			fd;		/* /dev/joyride or the memfd */
	int			sq_eventfd;	/* owner -> server doorbell */
	int			cq_eventfd;	/* server -> owner doorbell (user
						 * frontend only; the kernel
						 * takes JR_IOC_KICK) */
	int			conn_fd;	/* user frontend: the hand-over
						 * connection, kept open so each
						 * side sees the other go away */
};

/* Defaults a netserver asks for when it has no configuration. */
#define JR_DEFAULT_SQ_ENTRIES	4096
#define JR_DEFAULT_CQ_ENTRIES	8192
#define JR_DEFAULT_SLOTS	1024
#define JR_DEFAULT_BUF		(256 * 1024)

/* Fill a request with the defaults and this library's ABI version. */
void jr_attach_defaults(struct jr_attach *req);

/* Server: attach to /dev/joyride (or another path for tests). */
int jr_attach_kernel(const char *path, struct jr_attach *req,
		     struct jr_region *r);

/*
 * Server: attach on a descriptor of /dev/joyride that is already open,
 * typically one inherited from a privileged launcher: the kernel grants the
 * attach by the credentials that opened the device (CAP_NET_ADMIN), not by
 * the caller's, so an unprivileged server can attach on it.  The region
 * takes fd over, made close-on-exec: jr_region_destroy() closes it, and so
 * does a failed attach.
 */
int jr_attach_kernel_fd(int fd, struct jr_attach *req, struct jr_region *r);

/*
 * Server: a standby (attached with JR_ATTACH_F_STANDBY) sleeps until it
 * takes a dead engine's place; then r->params says which (engine, epoch,
 * nr_engines, and JR_ATTACH_F_RECOVERING when a replay follows).
 * -EINTR on a signal: call again.
 */
int jr_standby_wait(struct jr_region *r);

/* Server: listen for user frontends on an AF_UNIX path. */
int jr_ufront_listen(const char *path);

/*
 * Server: take one user frontend from a listening socket, without waiting
 * for it (a client that connects and never answers must not stall a
 * server's loop):
 *
 * jr_ufront_accept_start() accepts a pending connection and sends it req.
 * Returns the connection's descriptor, -EAGAIN if nobody is waiting, or
 * another -errno (that connection is gone; try the next).
 *
 * jr_ufront_accept_finish() takes the owner's answer on that descriptor,
 * with the same req: 0 with r set up (the descriptor is now r->conn_fd),
 * -EAGAIN while no answer is there (poll the descriptor for POLLIN and call
 * again), or another -errno, the grant refused and the descriptor closed.
 * A caller that gives up on a connection closes the descriptor itself.
 *
 * jr_ufront_accept() does both, waiting for a connection and then at most
 * 2 s for its answer (-ETIMEDOUT).
 */
int jr_ufront_accept_start(int listen_fd, const struct jr_attach *req);
int jr_ufront_accept_finish(int conn_fd, const struct jr_attach *req,
			    struct jr_region *r);
int jr_ufront_accept(int listen_fd, const struct jr_attach *req,
		     struct jr_region *r);

/*
 * Owner: connect to a netserver's AF_UNIX path and become a user frontend.
 * max_slots/max_buf cap what the netserver may ask for (0: ABI limits).
 */
int jr_ufront_connect(const char *path, __u32 max_slots, __u32 max_buf,
		      struct jr_region *r);

/*
 * Owner role on a private region, without any netserver: lays out and maps
 * an anonymous region.  For tests and benchmarks of the rings.
 */
int jr_region_create_local(struct jr_attach *req, struct jr_region *r);

/* Map the server's view of a region the owner created (same process). */
int jr_region_server_view(const struct jr_region *owner, struct jr_region *r);

void jr_region_destroy(struct jr_region *r);

/* Server: tell the owner that CQEs were produced (if it asked for it). */
int jr_server_kick(struct jr_region *r);

/* Owner: tell the server that SQEs were produced (if it sleeps). */
int jr_owner_doorbell(struct jr_region *r);

/* Byte rings of a slot. */
static inline unsigned char *jr_slot_rx(const struct jr_region *r, __u32 slot)
{
	return (unsigned char *)r->base + jr_slot_rx_off(&r->params, slot);
}

static inline unsigned char *jr_slot_tx(const struct jr_region *r, __u32 slot)
{
	return (unsigned char *)r->base + jr_slot_tx_off(&r->params, slot);
}

/* Server: produce one CQE (copy); -EAGAIN when the CQ is full. */
static inline int jr_server_post(struct jr_region *r, const struct jr_cqe *cqe)
{
	int space = jr_ring_space(&r->cq, 1);

	if (space < 0)
		return space;
	if (space == 0)
		return -EAGAIN;
	memcpy(jr_ring_entry(&r->cq, r->cq.own), cqe, sizeof(*cqe));
	jr_ring_produce(&r->cq, 1);
	return 0;
}

/* Owner: produce one SQE (copy); -EAGAIN when the SQ is full. */
static inline int jr_owner_post(struct jr_region *r, const struct jr_sqe *sqe)
{
	int space = jr_ring_space(&r->sq, 1);

	if (space < 0)
		return space;
	if (space == 0)
		return -EAGAIN;
	memcpy(jr_ring_entry(&r->sq, r->sq.own), sqe, sizeof(*sqe));
	jr_ring_produce(&r->sq, 1);
	return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* _JR_LIBJR_H */
