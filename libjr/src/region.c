// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Regions: mapping the shared memory of a frontend and setting up each
 * side's view of its rings.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "jr/libjr.h"
#include "region.h"

void jr_attach_defaults(struct jr_attach *req)
{
	memset(req, 0, sizeof(*req));
	req->abi_major = JR_ABI_MAJOR;
	req->abi_minor = JR_ABI_MINOR;
	req->features = JR_F_TCP | JR_F_UDP | JR_F_RECOVERY | JR_F_SOCKOPTS;
	req->sq_entries = JR_DEFAULT_SQ_ENTRIES;
	req->cq_entries = JR_DEFAULT_CQ_ENTRIES;
	req->nr_slots = JR_DEFAULT_SLOTS;
	req->rx_buf_size = JR_DEFAULT_BUF;
	req->tx_buf_size = JR_DEFAULT_BUF;
	req->sq_eventfd = -1;
}

/*
 * The layout must be exactly what the ABI computes from the granted sizes:
 * a server never accepts offsets it could not have derived itself.
 */
int __jr_check_grant(const struct jr_attach *granted)
{
	struct jr_attach expect = *granted;

	if (granted->abi_major != JR_ABI_MAJOR)
		return -EPROTONOSUPPORT;
	if (granted->features & ~JR_F_ALL)
		return -EPROTO;
	jr_layout_compute(&expect, 0, 0);
	if (expect.sq_entries != granted->sq_entries ||
	    expect.cq_entries != granted->cq_entries ||
	    expect.nr_slots != granted->nr_slots ||
	    expect.rx_buf_size != granted->rx_buf_size ||
	    expect.tx_buf_size != granted->tx_buf_size ||
	    memcmp(&expect.layout, &granted->layout, sizeof(expect.layout)))
		return -EPROTO;
	return 0;
}

void __jr_region_setup(struct jr_region *r, void *base,
		       const struct jr_attach *params, bool owner)
{
	const struct jr_layout *l = &params->layout;
	unsigned char *b = base;

	r->base = base;
	r->size = l->region_size;
	r->params = *params;
	jr_limits_init(&r->limits, params);
	r->owner = owner;
	r->hdr = base;
	r->stats = (struct jr_stats *)(b + l->stats_off);
	r->slots = (struct jr_slot_ctl *)(b + l->slots_off);
	r->data = b + l->data_off;
	jr_ring_init(&r->sq, (struct jr_ring_ctl *)(b + l->sq_off),
		     b + l->sq_entries_off, params->sq_entries,
		     sizeof(struct jr_sqe), owner);
	jr_ring_init(&r->cq, (struct jr_ring_ctl *)(b + l->cq_off),
		     b + l->cq_entries_off, params->cq_entries,
		     sizeof(struct jr_cqe), !owner);
}

/* Owner: a fresh region's header, as the kernel writes it. */
void __jr_region_init_hdr(struct jr_region *r, __u64 epoch)
{
	r->params.epoch = epoch;
	jr_region_hdr_init(r->hdr, &r->params);
}

static void region_reset(struct jr_region *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->sq_eventfd = -1;
	r->cq_eventfd = -1;
	r->conn_fd = -1;
}

int jr_attach_kernel_fd(int fd, struct jr_attach *req, struct jr_region *r)
{
	void *base;
	int err;

	region_reset(r);
	r->fd = fd;
	/*
	 * An inherited descriptor was handed over without close-on-exec.  The
	 * region owns it now: a program this server starts must not keep the
	 * device file open, or the kernel would not notice the server's death
	 * and would never start recovery.
	 */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		err = -errno;
		goto err_close;
	}
	r->sq_eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->sq_eventfd < 0) {
		err = -errno;
		goto err_close;
	}
	req->sq_eventfd = r->sq_eventfd;
	if (ioctl(r->fd, JR_IOC_ATTACH, req) < 0) {
		err = -errno;
		goto err_close;
	}
	err = __jr_check_grant(req);
	if (err)
		goto err_close;
	/*
	 * Not populated: pages are mapped as they are first touched, so a
	 * region whose slots are mostly unused costs little to map here and
	 * to unmap when this process exits, which is in a recovery's path.
	 */
	base = mmap(NULL, req->layout.region_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, r->fd, 0);
	if (base == MAP_FAILED) {
		err = -errno;
		goto err_close;
	}
	__jr_region_setup(r, base, req, false);
	r->kernel = true;
	return 0;

err_close:
	jr_region_destroy(r);
	return err;
}

int jr_attach_kernel(const char *path, struct jr_attach *req,
		     struct jr_region *r)
{
	int fd = open(path ? path : JR_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		region_reset(r);
		return -errno;
	}
	return jr_attach_kernel_fd(fd, req, r);
}

int jr_standby_wait(struct jr_region *r)
{
	struct jr_attach a;

	if (ioctl(r->fd, JR_IOC_STANDBY_WAIT, &a) < 0)
		return -errno;
	/* The geometry is the attach's; what changes is whom it serves. */
	r->params.engine = a.engine;
	r->params.nr_engines = a.nr_engines;
	r->params.epoch = a.epoch;
	r->params.flags = a.flags;
	return 0;
}

int jr_region_create_local(struct jr_attach *req, struct jr_region *r)
{
	void *base;

	region_reset(r);
	jr_layout_compute(req, 0, 0);
	base = mmap(NULL, req->layout.region_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	__jr_region_setup(r, base, req, true);
	__jr_region_init_hdr(r, 1);
	return 0;
}

int jr_region_server_view(const struct jr_region *owner, struct jr_region *r)
{
	region_reset(r);
	__jr_region_setup(r, owner->base, &owner->params, false);
	/* The mapping belongs to the owner; this view must not unmap it. */
	r->size = 0;
	return 0;
}

void jr_region_destroy(struct jr_region *r)
{
	if (r->base && r->size)
		munmap(r->base, r->size);
	if (r->fd >= 0)
		close(r->fd);
	if (r->sq_eventfd >= 0)
		close(r->sq_eventfd);
	if (r->cq_eventfd >= 0)
		close(r->cq_eventfd);
	if (r->conn_fd >= 0)
		close(r->conn_fd);
	region_reset(r);
}

static int eventfd_signal(int fd)
{
	__u64 one = 1;

	if (fd < 0)
		return 0;
	/* EAGAIN: the counter is saturated, so the peer will wake anyway. */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int jr_server_kick(struct jr_region *r)
{
	if (!jr_ring_needs_wakeup(&r->cq))
		return 0;
	if (r->kernel)
		return ioctl(r->fd, JR_IOC_KICK) < 0 ? -errno : 0;
	return eventfd_signal(r->cq_eventfd);
}

int jr_owner_doorbell(struct jr_region *r)
{
	if (!jr_ring_needs_wakeup(&r->sq))
		return 0;
	return eventfd_signal(r->sq_eventfd);
}
