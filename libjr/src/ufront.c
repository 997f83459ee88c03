// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The user frontend: a process plays the kernel's role for the netserver.
 *
 * Hand-over on an AF_UNIX SOCK_SEQPACKET connection:
 *   1. the netserver sends its struct jr_attach request;
 *   2. the owner clamps it, lays out a sealed memfd and answers with the
 *      granted struct jr_attach plus three descriptors (SCM_RIGHTS): the
 *      memfd, the SQ doorbell eventfd, the CQ doorbell eventfd.
 * The netserver trusts nothing in the answer that it cannot check: the
 * layout must be the one the ABI derives from the granted sizes, and the
 * memfd must be sealed against shrinking (else the client could make the
 * netserver fault on a truncated mapping).
 *
 * Nor does it wait for the answer: jr_ufront_accept_start() accepts and
 * sends the request without blocking, jr_ufront_accept_finish() takes the
 * answer once it is there (-EAGAIN until then), so a client that connects
 * and never answers costs the netserver's loop nothing but a descriptor
 * until the caller's deadline.  jr_ufront_accept() is the blocking
 * convenience on top, with a 2 s limit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include "jr/libjr.h"
#include "region.h"

#define UFRONT_NR_FDS	3

#define HAND_OVER_TIMEOUT_MS	2000

static int unix_address(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

int jr_ufront_listen(const char *path)
{
	struct sockaddr_un sun;
	int fd, err;

	err = unix_address(path, &sun);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 64) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int send_with_fds(int sock, const void *buf, size_t len,
			 const int *fds, int nr_fds)
{
	char control[CMSG_SPACE(sizeof(int) * UFRONT_NR_FDS)] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (nr_fds) {
		msg.msg_control = control;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nr_fds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nr_fds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nr_fds);
	}
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) != (ssize_t)len)
		return -errno ? -errno : -EIO;
	return 0;
}

/* Receive exactly len bytes and up to UFRONT_NR_FDS descriptors. */
static int recv_with_fds(int sock, void *buf, size_t len, int *fds,
			 int *nr_fds, int flags)
{
	char control[CMSG_SPACE(sizeof(int) * UFRONT_NR_FDS)];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg;
	bool too_many = false;
	ssize_t n;

	*nr_fds = 0;
	/* A wait interrupted by a signal or by io_uring task work (the
	 * netserver's own rings) fails with EINTR: try again. */
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level == SOL_SOCKET &&
		    cmsg->cmsg_type == SCM_RIGHTS) {
			int nr = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			/*
			 * CMSG_SPACE() rounds up, so the kernel can deliver
			 * more descriptors than fds[] holds: keep what fits,
			 * close the rest (they are ours now) and fail.
			 */
			for (int i = 0; i < nr; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(fd));
				if (*nr_fds < UFRONT_NR_FDS) {
					fds[(*nr_fds)++] = fd;
				} else {
					close(fd);
					too_many = true;
				}
			}
		}
	}
	if (too_many || (size_t)n != len ||
	    (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return -EPROTO;
	return 0;
}

static void close_fds(const int *fds, int nr)
{
	for (int i = 0; i < nr; i++)
		close(fds[i]);
}

/* Accept one connection and send it the request; wait: block in accept. */
static int accept_and_ask(int listen_fd, const struct jr_attach *req, bool wait)
{
	int sock, err;

	if (!wait) {
		struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };

		if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN))
			return -EAGAIN;
	}
	do
		sock = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	while (sock < 0 && errno == EINTR);
	if (sock < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* A fresh connection's send buffer is empty: this never waits. */
	err = send_with_fds(sock, req, sizeof(*req), NULL, 0);
	if (err) {
		close(sock);
		return err;
	}
	return sock;
}

int jr_ufront_accept_start(int listen_fd, const struct jr_attach *req)
{
	return accept_and_ask(listen_fd, req, false);
}

int jr_ufront_accept_finish(int conn_fd, const struct jr_attach *req,
			    struct jr_region *r)
{
	struct jr_attach granted;
	int fds[UFRONT_NR_FDS], nr_fds = 0;
	struct stat st;
	void *base;
	int seals, err;

	memset(r, 0, sizeof(*r));
	r->fd = r->sq_eventfd = r->cq_eventfd = r->conn_fd = -1;
	err = recv_with_fds(conn_fd, &granted, sizeof(granted), fds, &nr_fds,
			    MSG_DONTWAIT);
	if (err == -EAGAIN && !nr_fds)
		return -EAGAIN;		/* not answered yet: keep waiting */
	if (err)
		goto err_fds;
	err = -EPROTO;
	if (nr_fds != UFRONT_NR_FDS)
		goto err_fds;
	/* The owner may grant less than asked for, never more. */
	if ((granted.features & ~req->features) ||
	    granted.nr_slots > JR_SLOTS_MAX)
		goto err_fds;
	err = __jr_check_grant(&granted);
	if (err)
		goto err_fds;
	seals = fcntl(fds[0], F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fds[0], &st) < 0 ||
	    (__u64)st.st_size < granted.layout.region_size) {
		err = -EPROTO;
		goto err_fds;
	}
	base = mmap(NULL, granted.layout.region_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, fds[0], 0);
	if (base == MAP_FAILED) {
		err = -errno;
		goto err_fds;
	}
	__jr_region_setup(r, base, &granted, false);
	r->fd = fds[0];
	r->sq_eventfd = fds[1];
	r->cq_eventfd = fds[2];
	r->conn_fd = conn_fd;
	return 0;

err_fds:
	close_fds(fds, nr_fds);
	close(conn_fd);
	return err;
}

int jr_ufront_accept(int listen_fd, const struct jr_attach *req,
		     struct jr_region *r)
{
	struct timespec start, now;
	int sock, err, left;

	memset(r, 0, sizeof(*r));
	r->fd = r->sq_eventfd = r->cq_eventfd = r->conn_fd = -1;
	sock = accept_and_ask(listen_fd, req, true);
	if (sock < 0)
		return sock;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };

		err = jr_ufront_accept_finish(sock, req, r);
		if (err != -EAGAIN)
			return err;
		/* A client that never answers must not stall us for long. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = HAND_OVER_TIMEOUT_MS -
		       (int)((now.tv_sec - start.tv_sec) * 1000 +
			     (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0) {
			close(sock);
			return -ETIMEDOUT;
		}
		if (poll(&pfd, 1, left) < 0 && errno != EINTR) {
			err = -errno;
			close(sock);
			return err;
		}
	}
}

int jr_ufront_connect(const char *path, __u32 max_slots, __u32 max_buf,
		      struct jr_region *r)
{
	struct sockaddr_un sun;
	struct jr_attach req;
	int fds[UFRONT_NR_FDS] = { -1, -1, -1 };
	int sock, nr_fds, err;
	void *base;

	memset(r, 0, sizeof(*r));
	r->fd = r->sq_eventfd = r->cq_eventfd = r->conn_fd = -1;
	err = unix_address(path, &sun);
	if (err)
		return err;
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (connect(sock, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = -errno;
		goto err_sock;
	}
	err = recv_with_fds(sock, &req, sizeof(req), fds, &nr_fds, 0);
	if (err || nr_fds) {
		close_fds(fds, nr_fds);
		err = err ? err : -EPROTO;
		goto err_sock;
	}
	if (req.abi_major != JR_ABI_MAJOR) {
		err = -EPROTONOSUPPORT;
		goto err_sock;
	}
	req.abi_minor = JR_ABI_MINOR;
	req.features &= JR_F_ALL & ~JR_F_IPV6;
	req.flags = 0;
	req.sq_eventfd = -1;
	memset(req.reserved, 0, sizeof(req.reserved));
	jr_layout_compute(&req, max_slots, max_buf);
	req.epoch = 1;

	fds[0] = memfd_create("joyride-ufront", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	fds[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	fds[2] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0 ||
	    ftruncate(fds[0], req.layout.region_size) < 0 ||
	    fcntl(fds[0], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		err = -errno;
		goto err_fds;
	}
	base = mmap(NULL, req.layout.region_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fds[0], 0);
	if (base == MAP_FAILED) {
		err = -errno;
		goto err_fds;
	}
	__jr_region_setup(r, base, &req, true);
	__jr_region_init_hdr(r, req.epoch);
	err = send_with_fds(sock, &req, sizeof(req), fds, UFRONT_NR_FDS);
	if (err) {
		munmap(base, req.layout.region_size);
		goto err_fds;
	}
	r->fd = fds[0];
	r->sq_eventfd = fds[1];
	r->cq_eventfd = fds[2];
	r->conn_fd = sock;
	return 0;

err_fds:
	for (int i = 0; i < UFRONT_NR_FDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
err_sock:
	close(sock);
	memset(r, 0, sizeof(*r));
	r->fd = r->sq_eventfd = r->cq_eventfd = r->conn_fd = -1;
	return err;
}
