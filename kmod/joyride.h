/* SPDX-License-Identifier: GPL-2.0 */
/*
 * joyride.ko internals shared by the socket family (af_joyride.c) and the
 * transport to the netserver (jr_dev.c).
 */
#ifndef _JR_KMOD_JOYRIDE_H
#define _JR_KMOD_JOYRIDE_H

#include <linux/eventfd.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <net/sock.h>

#include <linux/joyride.h>
#include "jr/jr_ring.h"
#include "jr/jr_validate.h"

#define JR_MODULE_NAME	"joyride"

/* Device states (the transport's view of the netserver). */
enum jr_dev_state {
	JR_DEV_DETACHED,	/* no netserver has attached since load */
	JR_DEV_LIVE,		/* a netserver is attached and serving */
	JR_DEV_RECOVERING,	/* the netserver went away; waiting for a new one */
};

/*
 * One attached netserver: the region it maps and the kernel's private view
 * of it.  Everything here that describes geometry is the kernel's own copy;
 * the region itself is writable by the netserver and is never trusted.
 */
struct jr_server {
	struct file		*file;		/* the /dev/joyride open file */
	void			*region;	/* vmalloc_user() memory */
	struct jr_attach	params;		/* granted values */
	struct jr_limits	limits;
	struct jr_stats		*stats;
	struct jr_ring		sq;		/* kernel produces */
	struct jr_ring		cq;		/* kernel consumes */
	spinlock_t		sq_lock;	/* serialises SQ producers */
	struct mutex		cq_lock;	/* serialises CQ consumers */
	struct eventfd_ctx	*sq_doorbell;	/* NULL: never signal */
	/* Counters kept privately; the stats area only receives copies. */
	u64			cqes;
	u64			bad_entries;
};

/*
 * The device: at most one attached netserver.
 * jr_dev.lock protects state, server and epoch; socket code takes it only
 * to look the server up, never while sleeping on a reply.
 */
struct jr_dev {
	struct mutex		lock;
	enum jr_dev_state	state;
	struct jr_server	*server;
	u64			epoch;		/* attaches so far */
};

extern struct jr_dev jr_dev;

int jr_dev_init(void);
void jr_dev_exit(void);
bool jr_dev_attached(void);

/* Module parameters and sysctls. */
extern unsigned int jr_max_slots;
extern unsigned int jr_max_buf;

#endif /* _JR_KMOD_JOYRIDE_H */
