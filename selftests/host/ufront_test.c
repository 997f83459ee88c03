// SPDX-License-Identifier: GPL-2.0
/*
 * The user frontend hand-over (libjr/src/ufront.c) in one process: a thread
 * plays the netserver (jr_ufront_listen + jr_ufront_accept), the main
 * thread the owner (jr_ufront_connect).  After the hand-over both map the
 * same memfd: entries posted by one side are seen by the other, and each
 * doorbell rings exactly when its consumer asked for a wake-up.
 *
 * The owner is as untrusted as the netserver is to the kernel, so the
 * other half of this file is a raw fake owner (AF_UNIX + SCM_RIGHTS by
 * hand) that sends grants a real one never would: each must be refused
 * with the documented errno and every descriptor it carried closed.  The
 * binary is built with ASan/UBSan over libjr's sources, so a grant that
 * makes libjr write out of bounds fails here even when it is refused.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jr/libjr.h>

#include "jr_test.h"

static char sock_dir[64];
static char sock_path[128];

static void make_sock_path(void)
{
	if (sock_path[0])
		return;
	strcpy(sock_dir, "/tmp/jr-ufront-XXXXXX");
	JR_ASSERT(mkdtemp(sock_dir));
	snprintf(sock_path, sizeof(sock_path), "%s/ufront.sock", sock_dir);
}

static void remove_sock_path(void)
{
	if (!sock_path[0])
		return;
	unlink(sock_path);
	rmdir(sock_dir);
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	JR_ASSERT(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3;		/* ".", ".." and the directory's own fd */
}

/* The netserver's side of the hand-over, on a thread of its own. */
struct server {
	pthread_t		thread;
	int			listen_fd;
	struct jr_attach	req;
	struct jr_region	region;
	int			err;
};

static void *server_accept(void *arg)
{
	struct server *s = arg;

	s->err = jr_ufront_accept(s->listen_fd, &s->req, &s->region);
	return NULL;
}

static void test_request(struct jr_attach *req)
{
	jr_attach_defaults(req);
	req->features = JR_F_TCP | JR_F_UDP | JR_F_IPV6;
	req->sq_entries = 256;
	req->cq_entries = 512;
	req->nr_slots = 32;
	req->rx_buf_size = 16384;
	req->tx_buf_size = 8192;
}

static void server_start(struct server *s)
{
	memset(s, 0, sizeof(*s));
	test_request(&s->req);
	make_sock_path();
	s->listen_fd = jr_ufront_listen(sock_path);
	JR_ASSERT(s->listen_fd >= 0);
	JR_ASSERT(!pthread_create(&s->thread, NULL, server_accept, s));
}

static int server_join(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
	return s->err;
}

/* Owner and netserver connected through a real hand-over. */
struct pair {
	struct server		srv;
	struct jr_region	owner;
};

static void pair_connect(struct pair *p)
{
	int err;

	server_start(&p->srv);
	err = jr_ufront_connect(sock_path, 0, 0, &p->owner);
	JR_ASSERT(err == 0);
	JR_ASSERT(server_join(&p->srv) == 0);
}

static void pair_destroy(struct pair *p)
{
	jr_region_destroy(&p->srv.region);
	jr_region_destroy(&p->owner);
}

static bool fd_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLIN);
}

static __u64 eventfd_take(int fd)
{
	__u64 v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static struct jr_sqe getname_sqe(__u32 slot, __u64 tag)
{
	struct jr_sqe s = { .op = JR_OP_GETNAME, .slot = slot, .tag = tag };

	return s;
}

static struct jr_cqe getname_reply(const struct jr_sqe *req)
{
	struct jr_cqe c = {
		.op = req->op, .slot = req->slot, .tag = req->tag,
		.u.addr = { .family = AF_INET, .port = 0x5000, .addr = { 10, 0, 0, 2 } },
	};

	return c;
}

static void ufront_handover(void)
{
	int fds_before = count_open_fds();
	struct jr_region *srv, *own;
	struct pair p;
	unsigned char *tx_own, *tx_srv;

	pair_connect(&p);
	srv = &p.srv.region;
	own = &p.owner;

	/* Both sides agree on what was granted: what was asked, minus IPv6. */
	JR_EXPECT(!memcmp(&srv->params, &own->params, sizeof(own->params)));
	JR_EXPECT_EQ(own->params.features, JR_F_TCP | JR_F_UDP);
	JR_EXPECT_EQ(own->params.sq_entries, 256);
	JR_EXPECT_EQ(own->params.cq_entries, 512);
	JR_EXPECT_EQ(own->params.nr_slots, 32);
	JR_EXPECT_EQ(own->params.rx_buf_size, 16384);
	JR_EXPECT_EQ(own->params.tx_buf_size, 8192);
	JR_EXPECT(own->owner && !srv->owner);
	JR_EXPECT(!srv->kernel);
	JR_EXPECT_EQ(srv->limits.nr_slots, 32);

	/* The header the owner wrote is what the netserver reads. */
	JR_EXPECT(srv->hdr->magic == JR_REGION_MAGIC);
	JR_EXPECT_EQ(srv->hdr->abi_major, JR_ABI_MAJOR);
	JR_EXPECT_EQ(srv->hdr->state, JR_STATE_LIVE);
	JR_EXPECT_EQ(srv->hdr->sq_entries, 256);
	JR_EXPECT(!memcmp(&srv->hdr->layout, &own->params.layout, sizeof(struct jr_layout)));

	/* Two mappings of one memfd. */
	JR_EXPECT(srv->base != own->base);
	own->stats->k_sqes = 0x1122334455667788ULL;
	JR_EXPECT(srv->stats->k_sqes == 0x1122334455667788ULL);
	tx_own = jr_slot_tx(own, 31);
	tx_srv = jr_slot_tx(srv, 31);
	memset(tx_own, 0x5a, own->params.tx_buf_size);
	JR_EXPECT(tx_srv[0] == 0x5a && tx_srv[own->params.tx_buf_size - 1] == 0x5a);
	JR_EXPECT(jr_slot_rx(srv, 31)[0] == 0);

	/* The doorbells are the same eventfds on both ends. */
	JR_EXPECT(srv->fd >= 0 && srv->sq_eventfd >= 0 && srv->cq_eventfd >= 0);
	JR_EXPECT(!fd_readable(srv->sq_eventfd, 0));
	JR_EXPECT(write(own->sq_eventfd, &(__u64){ 3 }, 8) == 8);
	JR_EXPECT_EQ(eventfd_take(srv->sq_eventfd), 3);

	/* The region cannot be shrunk under the netserver. */
	JR_EXPECT(ftruncate(own->fd, 4096) < 0);

	pair_destroy(&p);
	JR_EXPECT_EQ(count_open_fds(), fds_before);
}

/* Requests one way, replies the other, each validated on arrival. */
static void ufront_entries(void)
{
	struct jr_region *srv, *own;
	struct pair p;
	int posted = 0, n;

	pair_connect(&p);
	srv = &p.srv.region;
	own = &p.owner;

	for (__u64 tag = 1; tag <= 5; tag++) {
		struct jr_sqe s = getname_sqe(tag, tag * 100);

		JR_EXPECT_EQ(jr_owner_post(own, &s), 0);
	}
	JR_EXPECT_EQ(jr_ring_ready(&srv->sq), 5);
	for (int i = 0; i < 5; i++) {
		struct jr_sqe s;
		struct jr_cqe c;

		memcpy(&s, jr_ring_entry(&srv->sq, srv->sq.own + i), sizeof(s));
		JR_EXPECT_EQ(jr_validate_sqe(&s, &srv->limits), 0);
		JR_EXPECT_EQ(s.tag, (i + 1) * 100);
		c = getname_reply(&s);
		JR_EXPECT_EQ(jr_server_post(srv, &c), 0);
	}
	jr_ring_consume(&srv->sq, 5);
	JR_EXPECT_EQ(jr_ring_ready(&own->cq), 5);
	for (int i = 0; i < 5; i++) {
		struct jr_cqe c;

		memcpy(&c, jr_ring_entry(&own->cq, own->cq.own + i), sizeof(c));
		JR_EXPECT_EQ(jr_validate_cqe(&c, &own->limits), 0);
		JR_EXPECT_EQ(c.tag, (i + 1) * 100);
		JR_EXPECT_EQ(c.slot, i + 1);
	}
	jr_ring_consume(&own->cq, 5);

	/* A full SQ says so instead of overwriting. */
	for (;;) {
		struct jr_sqe s = getname_sqe(0, 1);

		n = jr_owner_post(own, &s);
		if (n)
			break;
		posted++;
	}
	JR_EXPECT_EQ(n, -EAGAIN);
	JR_EXPECT_EQ(posted, own->params.sq_entries);
	JR_EXPECT_EQ(jr_ring_ready(&srv->sq), own->params.sq_entries);

	/* And a netserver that lies about the SQ is caught by the owner. */
	jr_ring_consume(&srv->sq, own->params.sq_entries);
	srv->sq.ctl->cons += 1;
	{
		struct jr_sqe s = getname_sqe(0, 1);

		own->sq.peer = own->sq.own - own->sq.nr;	/* force a refresh */
		JR_EXPECT_EQ(jr_owner_post(own, &s), -EOVERFLOW);
	}
	pair_destroy(&p);
}

/*
 * Each doorbell rings when, and only when, its consumer set NEED_WAKEUP:
 * an unconditional doorbell would cost a syscall per batch on the hot path.
 */
static void ufront_doorbells(void)
{
	struct jr_region *srv, *own;
	struct jr_sqe s = getname_sqe(1, 1);
	struct jr_cqe c;
	struct pair p;

	pair_connect(&p);
	srv = &p.srv.region;
	own = &p.owner;

	/* Netserver busy: no SQ doorbell. */
	JR_EXPECT_EQ(jr_owner_post(own, &s), 0);
	JR_EXPECT_EQ(jr_owner_doorbell(own), 0);
	JR_EXPECT(!fd_readable(srv->sq_eventfd, 0));
	JR_EXPECT_EQ(jr_ring_ready(&srv->sq), 1);
	jr_ring_consume(&srv->sq, 1);

	/* Netserver asleep: the owner rings once per produce. */
	JR_EXPECT(!jr_ring_prepare_sleep(&srv->sq));
	JR_EXPECT(own->sq.ctl->cons_flags & JR_RING_NEED_WAKEUP);
	JR_EXPECT_EQ(jr_owner_post(own, &s), 0);
	JR_EXPECT_EQ(jr_owner_doorbell(own), 0);
	JR_EXPECT(fd_readable(srv->sq_eventfd, 1000));
	JR_EXPECT_EQ(eventfd_take(srv->sq_eventfd), 1);
	jr_ring_finish_sleep(&srv->sq);
	JR_EXPECT_EQ(jr_ring_ready(&srv->sq), 1);
	jr_ring_consume(&srv->sq, 1);
	JR_EXPECT_EQ(jr_owner_doorbell(own), 0);
	JR_EXPECT(!fd_readable(srv->sq_eventfd, 0));

	/* The same on the CQ, the netserver kicking the owner. */
	c = getname_reply(&s);
	JR_EXPECT_EQ(jr_server_post(srv, &c), 0);
	JR_EXPECT_EQ(jr_server_kick(srv), 0);
	JR_EXPECT(!fd_readable(own->cq_eventfd, 0));
	/* An unconsumed CQE forbids the owner to sleep. */
	JR_EXPECT(jr_ring_prepare_sleep(&own->cq));
	jr_ring_finish_sleep(&own->cq);
	JR_EXPECT_EQ(jr_ring_ready(&own->cq), 1);
	jr_ring_consume(&own->cq, 1);

	JR_EXPECT(!jr_ring_prepare_sleep(&own->cq));
	JR_EXPECT_EQ(jr_server_post(srv, &c), 0);
	JR_EXPECT_EQ(jr_server_kick(srv), 0);
	JR_EXPECT(fd_readable(own->cq_eventfd, 1000));
	JR_EXPECT_EQ(eventfd_take(own->cq_eventfd), 1);
	jr_ring_finish_sleep(&own->cq);
	JR_EXPECT_EQ(jr_server_kick(srv), 0);
	JR_EXPECT(!fd_readable(own->cq_eventfd, 0));
	pair_destroy(&p);
}

/*
 * A netserver thread that serves requests until told to stop, sleeping on
 * its doorbell whenever the SQ is empty, as the real engine loop does.
 */
struct echo {
	struct jr_region	*srv;
	unsigned long long	served, bad, sleeps, lost;
};

/* Long enough that only a lost wake-up explains sleeping through it. */
#define ECHO_TIMEOUT_MS		10000
#define ECHO_STOP_TAG		UINT64_MAX

static void *echo_server(void *arg)
{
	struct echo *e = arg;
	struct jr_region *srv = e->srv;

	for (;;) {
		int ready = jr_ring_ready(&srv->sq);

		if (ready < 0) {
			e->bad++;
			return NULL;
		}
		if (!ready) {
			if (jr_ring_prepare_sleep(&srv->sq)) {
				jr_ring_finish_sleep(&srv->sq);
				continue;
			}
			e->sleeps++;
			if (!fd_readable(srv->sq_eventfd, ECHO_TIMEOUT_MS) &&
			    jr_ring_ready(&srv->sq) > 0) {
				e->lost++;
				return NULL;
			}
			eventfd_take(srv->sq_eventfd);
			jr_ring_finish_sleep(&srv->sq);
			continue;
		}
		for (int i = 0; i < ready; i++) {
			struct jr_sqe s;
			struct jr_cqe c;

			memcpy(&s, jr_ring_entry(&srv->sq, srv->sq.own), sizeof(s));
			jr_ring_consume(&srv->sq, 1);
			if (s.tag == ECHO_STOP_TAG)
				return NULL;
			if (jr_validate_sqe(&s, &srv->limits)) {
				e->bad++;
				continue;
			}
			c = getname_reply(&s);
			/* The owner keeps at most an SQ's worth in flight. */
			if (jr_server_post(srv, &c))
				e->bad++;
			e->served++;
		}
		if (jr_server_kick(srv))
			e->bad++;
	}
}

static void ufront_echo_threads(void)
{
	const unsigned long long total = 200000;
	unsigned long long sent = 0, answered = 0, bad = 0, sleeps = 0, lost = 0;
	struct jr_region *own;
	struct echo e = { 0 };
	pthread_t thread;
	struct pair p;

	pair_connect(&p);
	own = &p.owner;
	e.srv = &p.srv.region;
	JR_ASSERT(!pthread_create(&thread, NULL, echo_server, &e));

	while (answered < total) {
		int ready;

		/* Keep a window of requests in flight, no more than the SQ. */
		while (sent < total && sent - answered < own->params.sq_entries) {
			__u64 tag = sent + 1;
			struct jr_sqe s = getname_sqe(tag % 32, tag);

			if (jr_owner_post(own, &s))
				break;
			sent++;
		}
		JR_ASSERT(jr_owner_doorbell(own) == 0);

		ready = jr_ring_ready(&own->cq);
		JR_ASSERT(ready >= 0);
		if (!ready) {
			if (jr_ring_prepare_sleep(&own->cq)) {
				jr_ring_finish_sleep(&own->cq);
				continue;
			}
			sleeps++;
			if (!fd_readable(own->cq_eventfd, ECHO_TIMEOUT_MS) &&
			    jr_ring_ready(&own->cq) > 0) {
				lost++;
				break;
			}
			eventfd_take(own->cq_eventfd);
			jr_ring_finish_sleep(&own->cq);
			continue;
		}
		for (int i = 0; i < ready; i++) {
			struct jr_cqe c;

			memcpy(&c, jr_ring_entry(&own->cq, own->cq.own + i), sizeof(c));
			bad += jr_validate_cqe(&c, &own->limits) != 0 ||
			       c.tag != answered + 1 || c.slot != (answered + 1) % 32;
			answered++;
		}
		jr_ring_consume(&own->cq, ready);
	}
	{
		struct jr_sqe stop = getname_sqe(0, ECHO_STOP_TAG);

		while (jr_owner_post(own, &stop) == -EAGAIN)
			sched_yield();
		jr_owner_doorbell(own);
	}
	pthread_join(thread, NULL);
	printf("  %llu round trips; owner slept %llu times, netserver %llu\n",
	       answered, sleeps, e.sleeps);
	JR_EXPECT_EQ(lost, 0);
	JR_EXPECT_EQ(e.lost, 0);
	JR_EXPECT_EQ(answered, total);
	JR_EXPECT_EQ(e.served, total);
	JR_EXPECT_EQ(bad, 0);
	JR_EXPECT_EQ(e.bad, 0);
	pair_destroy(&p);
}

/* --- hostile owners ---------------------------------------------------- */

static int send_fds(int sock, const void *buf, size_t len, const int *fds, int nr)
{
	char control[CMSG_SPACE(sizeof(int) * 8)] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (nr) {
		msg.msg_control = control;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nr);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nr);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nr);
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

enum hostile {
	H_UNSEALED,		/* memfd that can still be shrunk */
	H_SEALED_GROW_ONLY,	/* sealed, but not against shrinking */
	H_MEMFD_TOO_SMALL,	/* sealed, but shorter than the layout */
	H_NOT_A_MEMFD,		/* a pipe where the region should be */
	H_LAYOUT_SHIFTED,	/* the SQ entries moved by a cache line */
	H_REGION_TOO_LARGE,	/* region_size not what the sizes give */
	H_SIZE_NOT_POW2,	/* sq_entries 100 with a layout made for it */
	H_CQ_BELOW_SQ,		/* cq_entries smaller than sq_entries */
	H_SLOTS_OVER_MAX,	/* more slots than the ABI allows */
	H_MORE_FEATURES,	/* a feature the netserver did not ask for */
	H_UNKNOWN_FEATURE,	/* a feature bit the ABI does not define */
	H_ABI_MAJOR,		/* an incompatible ABI */
	H_NO_FDS,
	H_TWO_FDS,
	H_FOUR_FDS,		/* more descriptors than the hand-over has */
	H_EIGHT_FDS,
	H_SHORT_MESSAGE,	/* a truncated struct jr_attach */
	H_LONG_MESSAGE,		/* more bytes than a struct jr_attach */
	H_HANG_UP,		/* closes without answering */
	H_NR,
};

static const char *const hostile_names[H_NR] = {
	"unsealed memfd", "memfd sealed against growing only", "memfd too small",
	"pipe as the region", "layout shifted", "region size too large",
	"size not a power of two", "cq smaller than sq", "slots over the ABI maximum",
	"feature not asked for", "unknown feature bit", "ABI major 2", "no descriptors",
	"two descriptors", "four descriptors", "eight descriptors", "short message",
	"long message", "hang-up",
};

static int hostile_want(enum hostile h)
{
	return h == H_ABI_MAJOR ? -EPROTONOSUPPORT : -EPROTO;
}

/* Play a broken owner: answer the netserver's request with grant h. */
static void hostile_owner(enum hostile h)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct jr_attach req, grant;
	unsigned char msg[sizeof(grant) + 8];
	size_t msg_len = sizeof(grant);
	int memfd, doorbells[7], pipe_fds[2], fds[8], nr_fds, sock, seals;
	__u64 memfd_size;

	strcpy(sun.sun_path, sock_path);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	JR_ASSERT(sock >= 0);
	JR_ASSERT(connect(sock, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	JR_ASSERT(recv(sock, &req, sizeof(req), 0) == sizeof(req));
	if (h == H_HANG_UP) {
		close(sock);
		return;
	}

	grant = req;
	grant.features &= JR_F_TCP | JR_F_UDP;
	grant.sq_eventfd = -1;
	memset(grant.reserved, 0, sizeof(grant.reserved));
	switch (h) {
	case H_SIZE_NOT_POW2:
		/* Self-consistent offsets for a ring the ABI cannot have. */
		jr_layout_compute(&grant, 0, 0);
		grant.sq_entries = 100;
		grant.layout.cq_off = jr_align_up(grant.layout.sq_entries_off +
						  100 * sizeof(struct jr_sqe), 4096);
		break;
	case H_CQ_BELOW_SQ:
		jr_layout_compute(&grant, 0, 0);
		grant.cq_entries = grant.sq_entries / 2;
		break;
	case H_SLOTS_OVER_MAX:
		grant.nr_slots = JR_SLOTS_MAX * 2;
		grant.rx_buf_size = grant.tx_buf_size = JR_BUF_MIN;
		jr_layout_compute(&grant, 0, 0);
		grant.nr_slots = JR_SLOTS_MAX * 2;
		break;
	default:
		jr_layout_compute(&grant, 0, 0);
		break;
	}
	memfd_size = grant.layout.region_size;
	switch (h) {
	case H_LAYOUT_SHIFTED:
		grant.layout.sq_entries_off += 64;
		break;
	case H_REGION_TOO_LARGE:
		grant.layout.region_size += 4096;
		memfd_size = grant.layout.region_size;
		break;
	case H_MEMFD_TOO_SMALL:
		memfd_size -= 4096;
		break;
	case H_MORE_FEATURES:
		grant.features |= JR_F_LOOPBACK;
		break;
	case H_UNKNOWN_FEATURE:
		grant.features |= 1ULL << 40;
		break;
	case H_ABI_MAJOR:
		grant.abi_major = JR_ABI_MAJOR + 1;
		break;
	default:
		break;
	}

	memfd = memfd_create("jr-hostile", MFD_CLOEXEC |
			     (h == H_UNSEALED ? 0 : MFD_ALLOW_SEALING));
	JR_ASSERT(memfd >= 0);
	JR_ASSERT(ftruncate(memfd, memfd_size) == 0);
	seals = h == H_SEALED_GROW_ONLY ? F_SEAL_GROW :
		F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	if (h != H_UNSEALED)
		JR_ASSERT(fcntl(memfd, F_ADD_SEALS, seals) == 0);
	for (int i = 0; i < 7; i++) {
		doorbells[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		JR_ASSERT(doorbells[i] >= 0);
	}
	JR_ASSERT(pipe2(pipe_fds, O_CLOEXEC) == 0);
	fds[0] = h == H_NOT_A_MEMFD ? pipe_fds[1] : memfd;
	memcpy(fds + 1, doorbells, sizeof(doorbells));

	nr_fds = h == H_NO_FDS ? 0 : h == H_TWO_FDS ? 2 : h == H_FOUR_FDS ? 4 :
		 h == H_EIGHT_FDS ? 8 : 3;
	if (h == H_SHORT_MESSAGE)
		msg_len = sizeof(grant) - 8;
	if (h == H_LONG_MESSAGE)
		msg_len = sizeof(grant) + 8;
	memset(msg, 0, sizeof(msg));
	memcpy(msg, &grant, sizeof(grant));
	JR_EXPECT_EQ(send_fds(sock, msg, msg_len, fds, nr_fds), 0);

	/* Everything this owner made is closed: what is left open leaked. */
	close(sock);
	close(memfd);
	for (int i = 0; i < 7; i++)
		close(doorbells[i]);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

static void ufront_rejects_hostile_grant(void)
{
	for (int h = 0; h < H_NR; h++) {
		struct server s;
		int fds_before = count_open_fds(), err;

		server_start(&s);
		hostile_owner(h);
		err = server_join(&s);
		JR_EXPECT_MSG(err == hostile_want(h), "%s: accept returned %d, want %d",
			      hostile_names[h], err, hostile_want(h));
		if (!err)
			jr_region_destroy(&s.region);
		JR_EXPECT_MSG(count_open_fds() == fds_before, "%s: %d descriptors leaked",
			      hostile_names[h], count_open_fds() - fds_before);
	}
}

/*
 * The other direction: a fake netserver talking to jr_ufront_connect.  The
 * owner must refuse a request that carries descriptors (it never should)
 * or an ABI it does not speak.
 */
struct fake_server {
	pthread_t	thread;
	int		listen_fd;
	int		nr_fds;
	__u16		abi_major;
};

static void *fake_server_run(void *arg)
{
	struct fake_server *f = arg;
	struct jr_attach req;
	int sock, fds[8];
	char buf[16];

	jr_attach_defaults(&req);
	req.abi_major = f->abi_major;
	for (int i = 0; i < f->nr_fds; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	sock = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (sock >= 0) {
		send_fds(sock, &req, sizeof(req), fds, f->nr_fds);
		/* Wait for the owner to hang up, so it never sees our close first. */
		while (recv(sock, buf, sizeof(buf), 0) > 0)
			;
		close(sock);
	}
	for (int i = 0; i < f->nr_fds; i++)
		close(fds[i]);
	return NULL;
}

static void ufront_connect_rejects_hostile_server(void)
{
	static const struct { int nr_fds; __u16 abi_major; int want; } rows[] = {
		{ 1, JR_ABI_MAJOR, -EPROTO },
		{ 4, JR_ABI_MAJOR, -EPROTO },
		{ 8, JR_ABI_MAJOR, -EPROTO },
		{ 0, JR_ABI_MAJOR + 1, -EPROTONOSUPPORT },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct fake_server f = { .nr_fds = rows[i].nr_fds,
					 .abi_major = rows[i].abi_major };
		struct jr_region r;
		int fds_before = count_open_fds(), err;

		make_sock_path();
		f.listen_fd = jr_ufront_listen(sock_path);
		JR_ASSERT(f.listen_fd >= 0);
		JR_ASSERT(!pthread_create(&f.thread, NULL, fake_server_run, &f));
		err = jr_ufront_connect(sock_path, 0, 0, &r);
		pthread_join(f.thread, NULL);
		close(f.listen_fd);
		JR_EXPECT_MSG(err == rows[i].want, "row %zu: connect returned %d, want %d",
			      i, err, rows[i].want);
		if (!err)
			jr_region_destroy(&r);
		JR_EXPECT_MSG(count_open_fds() == fds_before, "row %zu: %d descriptors leaked",
			      i, count_open_fds() - fds_before);
	}
}

/* --------------------------------------------- the hand-over in halves */

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct owner {
	pthread_t		thread;
	struct jr_region	region;
	int			err;
};

static void *owner_connect(void *arg)
{
	struct owner *o = arg;

	o->err = jr_ufront_connect(sock_path, 0, 0, &o->region);
	return NULL;
}

/* The start half for a client that has connected (it may take a moment). */
static int start_when_connected(int listen_fd, const struct jr_attach *req)
{
	double deadline = mono_now() + 5;
	int fd;

	while ((fd = jr_ufront_accept_start(listen_fd, req)) == -EAGAIN &&
	       mono_now() < deadline)
		usleep(1000);
	return fd;
}

/* A plain AF_UNIX client that connects and then does what the test says. */
static int raw_client(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	JR_ASSERT(fd >= 0);
	JR_ASSERT(strlen(sock_path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, sock_path, strlen(sock_path));
	JR_ASSERT(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	return fd;
}

/*
 * Start and finish never wait: nobody connected is -EAGAIN, a request sent
 * and not answered yet is -EAGAIN, and the answer, whenever it comes,
 * completes the hand-over exactly as jr_ufront_accept() would.
 */
static void ufront_accept_async(void)
{
	int fds_before = count_open_fds(), listen_fd, fd, err = -EAGAIN;
	struct jr_attach req;
	struct jr_region srv;
	struct owner o = { 0 };
	double t0;

	test_request(&req);
	make_sock_path();
	listen_fd = jr_ufront_listen(sock_path);
	JR_ASSERT(listen_fd >= 0);
	t0 = mono_now();
	JR_EXPECT_EQ(jr_ufront_accept_start(listen_fd, &req), -EAGAIN);
	JR_EXPECT(mono_now() - t0 < 0.1);

	JR_ASSERT(!pthread_create(&o.thread, NULL, owner_connect, &o));
	fd = start_when_connected(listen_fd, &req);
	JR_ASSERT(fd >= 0);
	while (err == -EAGAIN) {
		err = jr_ufront_accept_finish(fd, &req, &srv);
		if (err == -EAGAIN)
			JR_ASSERT(fd_readable(fd, 5000));
	}
	pthread_join(o.thread, NULL);
	JR_EXPECT_EQ(err, 0);
	JR_EXPECT_EQ(o.err, 0);
	if (!err && !o.err) {
		JR_EXPECT(!memcmp(&srv.params, &o.region.params, sizeof(srv.params)));
		JR_EXPECT_EQ(srv.conn_fd, fd);
		JR_EXPECT(!srv.owner);
		jr_region_destroy(&srv);
		jr_region_destroy(&o.region);
	}
	close(listen_fd);
	JR_EXPECT_MSG(count_open_fds() == fds_before, "%d descriptors leaked",
		      count_open_fds() - fds_before);
}

/*
 * A client that connects and never answers: finish says -EAGAIN at once,
 * as often as asked; when it hangs up, the hand-over fails (-EPROTO) and
 * the descriptor is closed.  A caller that gives up closes it itself.
 */
static void ufront_accept_async_silent(void)
{
	int fds_before = count_open_fds(), listen_fd, client, fd;
	struct jr_attach req, got;
	struct jr_region srv;
	double t0;

	test_request(&req);
	make_sock_path();
	listen_fd = jr_ufront_listen(sock_path);
	JR_ASSERT(listen_fd >= 0);

	client = raw_client();
	fd = start_when_connected(listen_fd, &req);
	JR_ASSERT(fd >= 0);
	/* The request arrived, whole. */
	JR_EXPECT_EQ(recv(client, &got, sizeof(got), 0), (ssize_t)sizeof(got));
	JR_EXPECT(!memcmp(&got, &req, sizeof(req)));
	t0 = mono_now();
	for (int i = 0; i < 1000; i++)
		JR_ASSERT(jr_ufront_accept_finish(fd, &req, &srv) == -EAGAIN);
	JR_EXPECT_MSG(mono_now() - t0 < 0.5, "1000 finishes took %.3f s",
		      mono_now() - t0);
	JR_EXPECT(!fd_readable(fd, 0));
	close(client);
	JR_EXPECT(fd_readable(fd, 1000));
	JR_EXPECT_EQ(jr_ufront_accept_finish(fd, &req, &srv), -EPROTO);
	JR_EXPECT_EQ(srv.fd, -1);
	JR_EXPECT_EQ(srv.conn_fd, -1);

	/* Given up on by the caller. */
	client = raw_client();
	fd = start_when_connected(listen_fd, &req);
	JR_ASSERT(fd >= 0);
	JR_EXPECT_EQ(jr_ufront_accept_finish(fd, &req, &srv), -EAGAIN);
	close(fd);
	close(client);

	close(listen_fd);
	JR_EXPECT_MSG(count_open_fds() == fds_before, "%d descriptors leaked",
		      count_open_fds() - fds_before);
}

/* The blocking convenience gives a silent client 2 s, not forever. */
static void ufront_accept_times_out(void)
{
	int fds_before = count_open_fds(), client;
	struct server s;
	double t0;

	server_start(&s);
	t0 = mono_now();
	client = raw_client();
	JR_EXPECT_EQ(server_join(&s), -ETIMEDOUT);
	JR_EXPECT_MSG(mono_now() - t0 >= 1.9 && mono_now() - t0 < 4,
		      "gave up after %.2f s, want 2 s", mono_now() - t0);
	close(client);
	JR_EXPECT_MSG(count_open_fds() == fds_before, "%d descriptors leaked",
		      count_open_fds() - fds_before);
}

static void ufront_path_too_long(void)
{
	char path[200];
	struct jr_region r;

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	JR_EXPECT_EQ(jr_ufront_listen(path), -ENAMETOOLONG);
	JR_EXPECT_EQ(jr_ufront_connect(path, 0, 0, &r), -ENAMETOOLONG);
	JR_EXPECT_EQ(r.fd, -1);
}

static void ufront_no_server(void)
{
	struct jr_region r;

	make_sock_path();
	unlink(sock_path);
	JR_EXPECT_EQ(jr_ufront_connect(sock_path, 0, 0, &r), -ENOENT);
}

static const struct jr_test_case cases[] = {
	{ "ufront_handover", ufront_handover },
	{ "ufront_entries", ufront_entries },
	{ "ufront_doorbells", ufront_doorbells },
	{ "ufront_echo_threads", ufront_echo_threads },
	{ "ufront_rejects_hostile_grant", ufront_rejects_hostile_grant },
	{ "ufront_connect_rejects_hostile_server", ufront_connect_rejects_hostile_server },
	{ "ufront_accept_async", ufront_accept_async },
	{ "ufront_accept_async_silent", ufront_accept_async_silent },
	{ "ufront_accept_times_out", ufront_accept_times_out },
	{ "ufront_path_too_long", ufront_path_too_long },
	{ "ufront_no_server", ufront_no_server },
};

int main(int argc, char **argv)
{
	int rc = jr_test_main(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);

	remove_sock_path();
	return rc;
}
