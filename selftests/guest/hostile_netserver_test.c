// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile netserver against joyride.ko, while an application uses its
 * sockets.  The test attaches to /dev/joyride itself and, besides answering
 * like a netserver, writes what a buggy or malicious one could: forged and
 * stale replies, events for the wrong generation, entries for slots that do
 * not exist, malformed entries, ring positions out of range, datagram
 * headers that lie, and silence.  The application's threads (in this
 * process) must get errors on the sockets concerned and nothing else; the
 * kernel must go on serving; and, as for every guest test, the runner
 * fails the run on any WARNING, BUG or Oops in the kernel log.
 *
 * Needs the module to itself (no netserver): selftests/guest/tests.list.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "jr/libjr.h"
#include "serve_one.h"

#define REQUEST_TIMEOUT_SYSCTL	"/proc/sys/net/joyride/request_timeout_ms"

FIXTURE(hostile) {
	struct jr_region r;
};

FIXTURE_SETUP(hostile)
{
	struct jr_attach req;

	jr_attach_defaults(&req);
	req.nr_slots = 64;
	req.rx_buf_size = req.tx_buf_size = 16384;
	ASSERT_EQ(0, jr_attach_kernel(NULL, &req, &self->r));
}

FIXTURE_TEARDOWN(hostile)
{
	/* The netserver goes away: whatever it still held is released. */
	jr_region_destroy(&self->r);
}

struct recv_call {
	int fd;
	ssize_t ret;
	int err;
	char buf[64];
};

static void *call_recv(void *arg)
{
	struct recv_call *c = arg;

	c->ret = recv(c->fd, c->buf, sizeof(c->buf), 0);
	c->err = c->ret < 0 ? errno : 0;
	return NULL;
}

static bool poll_out(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	return poll(&p, 1, 5000) == 1 && (p.revents & POLLOUT);
}

static int so_error(int fd)
{
	int err = -1;
	socklen_t len = sizeof(err);

	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) ? -errno : err;
}

/*
 * Replies that match the request in all but one respect (tag, op, slot)
 * are someone else's, or stale: they are dropped without a word, and the
 * genuine reply that follows completes the call; a reply is taken once, so
 * a second one for the same tag changes nothing.  Each forgery carries
 * -EACCES, so a forgery taken for the reply would show as socket()'s
 * result.
 */
TEST_F(hostile, forged_replies_are_ignored_and_the_real_one_completes)
{
	struct socket_call call = { .type = SOCK_DGRAM };
	uint64_t bad_before = self->r.stats->k_bad_entries;
	struct jr_cqe cqes[6];
	struct jr_sqe sqe;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, call_socket, &call));
	ASSERT_EQ(0, take_request(&self->r, &sqe));
	ASSERT_EQ(JR_OP_SOCKET, sqe.op);

	cqes[0] = reply_to(&sqe, -EACCES);
	cqes[0].tag ^= 1;				/* another request's tag */
	cqes[1] = reply_to(&sqe, -EACCES);
	cqes[1].tag += 1000;				/* a tag not issued yet */
	cqes[2] = reply_to(&sqe, -EACCES);
	cqes[2].op = JR_OP_BIND;			/* the wrong operation */
	cqes[3] = reply_to(&sqe, -EACCES);
	cqes[3].slot = (sqe.slot + 1) % self->r.params.nr_slots;	/* a free slot */
	cqes[4] = reply_to(&sqe, 0);			/* the real reply */
	cqes[5] = reply_to(&sqe, -EACCES);		/* and a second one */
	EXPECT_EQ(0, post_and_kick(&self->r, cqes, 6));
	pthread_join(t, NULL);

	ASSERT_LE(0, call.fd);
	EXPECT_EQ(0, so_error(call.fd));
	/* Well-formed, only not ours: stale, not malformed. */
	EXPECT_EQ(bad_before, self->r.stats->k_bad_entries);
	close(call.fd);
}

/*
 * Events carry the slot's generation: a RESET for the previous socket of
 * the slot does not touch this one, which then receives a datagram the
 * netserver delivers properly.
 */
TEST_F(hostile, events_for_another_generation_are_ignored)
{
	static const char payload[] = "after the forgery";
	struct jr_sockaddr from = { .family = AF_INET, .port = htons(7) };
	struct jr_dgram_hdr h = { .len = sizeof(payload) };
	struct jr_cqe cqes[2];
	struct jr_slot_ctl *ctl;
	struct jr_sqe sqe;
	unsigned char *rx;
	char buf[64];
	uint32_t pos, mask;
	int fd;

	fd = honest_udp_socket(&self->r, &sqe);
	ASSERT_LE(0, fd);

	cqes[0] = event_for(&sqe, JR_EV_RESET, -ECONNRESET);
	cqes[0].slot_gen = sqe.slot_gen - 1;
	cqes[1] = event_for(&sqe, JR_EV_ERROR, -EHOSTUNREACH);
	cqes[1].slot_gen = sqe.slot_gen + 1;
	EXPECT_EQ(0, post_and_kick(&self->r, cqes, 2));
	EXPECT_EQ(0, so_error(fd));
	errno = 0;
	EXPECT_EQ(-1, recv(fd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* A well-formed datagram still arrives. */
	ctl = &self->r.slots[sqe.slot];
	rx = jr_slot_rx(&self->r, sqe.slot);
	memcpy(from.addr, (uint8_t[]){ 198, 18, 0, 1 }, 4);
	h.addr = from;
	pos = jr_dgram_begin(rx, self->r.params.rx_buf_size, ctl->rx_prod, h.len);
	mask = self->r.params.rx_buf_size - 1;
	memcpy(rx + (pos & mask), &h, sizeof(h));
	memcpy(rx + (pos & mask) + sizeof(h), payload, sizeof(payload));
	jr_store_release(&ctl->rx_prod, pos + (uint32_t)JR_DGRAM_RECORD(h.len));
	cqes[0] = event_for(&sqe, JR_EV_RX, 0);
	EXPECT_EQ(0, post_and_kick(&self->r, cqes, 1));
	EXPECT_EQ((ssize_t)sizeof(payload), recv(fd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(buf, payload, sizeof(payload)));
	close(fd);
}

/*
 * A malformed entry naming a live socket fails that socket with EIO: a
 * reader blocked in recv() wakes with it.  The entry is counted as bad.
 */
TEST_F(hostile, malformed_entry_fails_the_socket_it_names_with_eio)
{
	uint64_t bad_before = self->r.stats->k_bad_entries;
	struct recv_call rc = { 0 };
	struct jr_cqe bad[3];
	struct jr_sqe sqe;
	pthread_t t;

	rc.fd = honest_udp_socket(&self->r, &sqe);
	ASSERT_LE(0, rc.fd);
	ASSERT_EQ(0, pthread_create(&t, NULL, call_recv, &rc));

	bad[0] = event_for(&sqe, 0x7777, 0);		/* no such op */
	bad[1] = event_for(&sqe, JR_EV_RX, 0);
	bad[1].res = -100000;				/* not an errno */
	bad[2] = reply_to(&sqe, 0);
	bad[2].flags = 0x8000;				/* unknown flag */
	EXPECT_EQ(0, post_and_kick(&self->r, bad, 3));
	pthread_join(t, NULL);

	EXPECT_EQ(-1, rc.ret);
	EXPECT_EQ(EIO, rc.err);
	EXPECT_EQ(bad_before + 3, self->r.stats->k_bad_entries);
	close(rc.fd);
}

/*
 * Entries for slots that do not exist, or that no socket holds, are
 * dropped; the sockets that do exist are untouched.
 */
TEST_F(hostile, entries_for_missing_slots_are_dropped)
{
	uint64_t bad_before = self->r.stats->k_bad_entries;
	struct jr_cqe cqes[4];
	struct jr_sqe sqe;
	int fd;

	fd = honest_udp_socket(&self->r, &sqe);
	ASSERT_LE(0, fd);

	cqes[0] = event_for(&sqe, JR_EV_RESET, -ECONNRESET);
	cqes[0].slot = self->r.params.nr_slots;		/* one past the end */
	cqes[1] = event_for(&sqe, JR_EV_RESET, -ECONNRESET);
	cqes[1].slot = UINT32_MAX;
	cqes[2] = reply_to(&sqe, -EACCES);
	cqes[2].slot = self->r.params.nr_slots + 7;
	/* In range, but no socket holds it: nothing to deliver to. */
	cqes[3] = event_for(&sqe, JR_EV_RESET, -ECONNRESET);
	cqes[3].slot = (sqe.slot + 1) % self->r.params.nr_slots;
	EXPECT_EQ(0, post_and_kick(&self->r, cqes, 4));

	EXPECT_EQ(bad_before + 3, self->r.stats->k_bad_entries);
	EXPECT_EQ(0, so_error(fd));
	close(fd);
}

/*
 * Ring positions the netserver writes are compared with the kernel's own:
 * a receive producer more than a ring ahead, or a transmit consumer ahead
 * of what the kernel produced, fails the socket with EIO (and poll says
 * EPOLLERR); nothing is read or written outside the slot's rings.
 */
TEST_F(hostile, receive_producer_beyond_the_ring_fails_with_eio)
{
	struct pollfd pfd = { .events = POLLIN };
	struct jr_cqe ev;
	struct jr_sqe sqe;
	char buf[64];
	int fd;

	fd = honest_udp_socket(&self->r, &sqe);
	ASSERT_LE(0, fd);
	jr_store_release(&self->r.slots[sqe.slot].rx_prod,
			 self->r.slots[sqe.slot].rx_cons + self->r.params.rx_buf_size + 16);
	ev = event_for(&sqe, JR_EV_RX, 0);
	EXPECT_EQ(0, post_and_kick(&self->r, &ev, 1));

	pfd.fd = fd;
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_TRUE(pfd.revents & POLLERR);
	errno = 0;
	EXPECT_EQ(-1, recv(fd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EIO, errno);
	close(fd);
}

TEST_F(hostile, transmit_consumer_ahead_of_producer_fails_with_eio)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(9),
		.sin_addr.s_addr = htonl(0xc6120001),		/* 198.18.0.1 */
	};
	struct jr_sqe sqe;
	int fd;

	fd = honest_udp_socket(&self->r, &sqe);
	ASSERT_LE(0, fd);
	jr_store_release(&self->r.slots[sqe.slot].tx_cons,
			 self->r.slots[sqe.slot].tx_prod + 4096);
	errno = 0;
	EXPECT_EQ(-1, sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	EXPECT_EQ(EIO, errno);
	close(fd);
}

/* Put header h at the start of the slot's rx ring, fill bytes produced. */
static int lie_in_rx_ring(struct jr_region *r, const struct jr_sqe *sqe,
			  const struct jr_dgram_hdr *h, uint32_t fill)
{
	struct jr_cqe ev = event_for(sqe, JR_EV_RX, 0);

	memcpy(jr_slot_rx(r, sqe->slot), h, sizeof(*h));
	jr_store_release(&r->slots[sqe->slot].rx_prod, fill);
	return post_and_kick(r, &ev, 1);
}

/*
 * Datagram headers in the receive ring are validated before use: one that
 * claims more payload than the ring holds fails the socket with EIO, and
 * so does a filler record that does not run to the ring's end.
 */
TEST_F(hostile, lying_datagram_headers_fail_with_eio)
{
	const uint32_t fill = (uint32_t)sizeof(struct jr_dgram_hdr) + 64;
	struct jr_dgram_hdr too_long = { .len = 1000 };
	struct jr_dgram_hdr mid_filler = { .len = 64, .flags = JR_DGRAM_F_PAD };
	const struct jr_dgram_hdr *lies[] = { &too_long, &mid_filler };
	struct jr_sqe sqe[2];
	char buf[64];
	int fd[2];

	/* Both sockets first: a close() would post a CLOSE before the SOCKET. */
	for (size_t i = 0; i < 2; i++) {
		fd[i] = honest_udp_socket(&self->r, &sqe[i]);
		ASSERT_LE(0, fd[i]);
	}
	for (size_t i = 0; i < 2; i++) {
		EXPECT_EQ(0, lie_in_rx_ring(&self->r, &sqe[i], lies[i], fill));
		errno = 0;
		EXPECT_EQ(-1, recv(fd[i], buf, sizeof(buf), MSG_DONTWAIT));
		EXPECT_EQ(EIO, errno);
	}
	close(fd[0]);
	close(fd[1]);
}

/* One datagram record at the start of the socket's receive ring. */
static int put_record(struct jr_region *r, const struct jr_sqe *sqe,
		      const struct jr_dgram_hdr *h, const void *body, uint32_t body_len)
{
	struct jr_cqe ev = event_for(sqe, JR_EV_RX, 0);
	unsigned char *ring = jr_slot_rx(r, sqe->slot);

	memcpy(ring, h, sizeof(*h));
	memcpy(ring + sizeof(*h), body, body_len);
	jr_store_release(&r->slots[sqe->slot].rx_prod, JR_DGRAM_RECORD(h->len));
	return post_and_kick(r, &ev, 1);
}

struct setopt_call {
	int fd, level, name, val, ret, err;
};

static void *call_setopt(void *arg)
{
	struct setopt_call *c = arg;

	c->ret = setsockopt(c->fd, c->level, c->name, &c->val, sizeof(c->val));
	c->err = c->ret ? errno : 0;
	return NULL;
}

/* setsockopt() on fd, its SETSOCKOPT request answered honestly. */
static int honest_setopt(struct jr_region *r, int fd, int level, int name, int val)
{
	struct setopt_call c = { fd, level, name, val, -1, 0 };
	struct jr_sqe sqe;
	pthread_t t;
	int err;

	if (pthread_create(&t, NULL, call_setopt, &c))
		return -EAGAIN;
	err = serve_honestly(r, &sqe);
	pthread_join(t, NULL);
	if (!err && sqe.op != JR_OP_SETSOCKOPT)
		err = -EPROTO;
	return err ? err : c.ret ? -c.err : 0;
}

/*
 * Metadata records (struct jr_dgram_meta, for IP_PKTINFO and its kin) are
 * the netserver's word too.  One too short for its metadata fails the
 * socket with EIO; a destination of a family that was never negotiated is
 * dropped, so the datagram arrives without IP_PKTINFO; and metadata on a
 * socket that never asked for it is skipped, the payload intact.
 */
TEST_F(hostile, forged_datagram_metadata_misleads_only_its_socket)
{
	struct jr_dgram_hdr h = { .flags = JR_DGRAM_F_META };
	struct jr_dgram_meta meta = { .ttl = 7 };
	unsigned char body[sizeof(meta) + 5];
	char buf[64], cbuf[256];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct jr_sqe sqe[3];
	int fd[3];

	for (size_t i = 0; i < 3; i++) {
		fd[i] = honest_udp_socket(&self->r, &sqe[i]);
		ASSERT_LE(0, fd[i]);
	}
	ASSERT_EQ(0, honest_setopt(&self->r, fd[0], SOL_IP, IP_PKTINFO, 1));
	ASSERT_EQ(0, honest_setopt(&self->r, fd[1], SOL_IP, IP_PKTINFO, 1));

	/* Shorter than the metadata it claims. */
	h.len = sizeof(meta) - 1;
	h.addr.family = AF_INET;
	memset(body, 0, sizeof(body));
	ASSERT_EQ(0, put_record(&self->r, &sqe[0], &h, body, h.len));
	errno = 0;
	EXPECT_EQ(-1, recv(fd[0], buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EIO, errno);

	/* A destination family nobody negotiated: no IP_PKTINFO. */
	meta.dst.family = 99;
	memcpy(body, &meta, sizeof(meta));
	memcpy(body + sizeof(meta), "hello", 5);
	h.len = sizeof(body);
	ASSERT_EQ(0, put_record(&self->r, &sqe[1], &h, body, h.len));
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	ASSERT_EQ(5, recvmsg(fd[1], &msg, MSG_DONTWAIT))
		TH_LOG("recvmsg: %s", strerror(errno));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	EXPECT_EQ(NULL, CMSG_FIRSTHDR(&msg));

	/* Metadata nobody asked for: skipped, the payload as sent. */
	meta.dst.family = AF_INET;
	memcpy(body, &meta, sizeof(meta));
	ASSERT_EQ(0, put_record(&self->r, &sqe[2], &h, body, h.len));
	msg.msg_controllen = sizeof(cbuf);
	ASSERT_EQ(5, recvmsg(fd[2], &msg, MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	EXPECT_EQ(NULL, CMSG_FIRSTHDR(&msg));

	for (size_t i = 0; i < 3; i++)
		close(fd[i]);
}

struct tcp_info_call {
	int fd, ret, err;
	struct tcp_info ti;
};

static void *call_tcp_info(void *arg)
{
	struct tcp_info_call *c = arg;
	socklen_t len = sizeof(c->ti);

	c->ret = getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &c->ti, &len);
	c->err = c->ret ? errno : 0;
	return NULL;
}

/*
 * TCP_INFO's figures come from the netserver and are only numbers: a
 * reply with an MSS of 0 (a divisor), windows and times at their maximum
 * and a nonsense state gives the caller those numbers, with the state and
 * the byte counts the kernel's own; a malformed reply (a positive result)
 * fails the call with EIO.
 */
TEST_F(hostile, forged_tcp_info_reaches_only_its_caller)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(80),
		.sin_addr.s_addr = htonl(0xc6120001),	/* 198.18.0.1 */
	};
	struct tcp_info_call c = { 0 };
	struct jr_sqe created, sqe;
	struct jr_cqe forged;
	pthread_t t;
	int fd;

	fd = honest_socket(&self->r, SOCK_STREAM | SOCK_NONBLOCK, &created);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, connect(fd, (struct sockaddr *)&to, sizeof(to)));
	ASSERT_EQ(EINPROGRESS, errno);
	ASSERT_EQ(0, serve_honestly(&self->r, &sqe));
	ASSERT_EQ(JR_OP_CONNECT, sqe.op);
	ASSERT_TRUE(poll_out(fd));

	c.fd = fd;
	ASSERT_EQ(0, pthread_create(&t, NULL, call_tcp_info, &c));
	ASSERT_EQ(0, take_request(&self->r, &sqe));
	ASSERT_EQ(JR_OP_GETSOCKOPT, sqe.op);
	forged = reply_to(&sqe, 0);
	memset(&forged.u.tcp_info, 0xff, sizeof(forged.u.tcp_info));
	forged.u.tcp_info.snd_mss = 0;
	ASSERT_EQ(0, post_and_kick(&self->r, &forged, 1));
	pthread_join(t, NULL);
	ASSERT_EQ(0, c.ret) TH_LOG("getsockopt(TCP_INFO): %s", strerror(c.err));
	EXPECT_EQ(TCP_ESTABLISHED, c.ti.tcpi_state);
	EXPECT_EQ(536, c.ti.tcpi_snd_mss);
	EXPECT_EQ(0xffffffffU, c.ti.tcpi_rtt);

	ASSERT_EQ(0, pthread_create(&t, NULL, call_tcp_info, &c));
	ASSERT_EQ(0, take_request(&self->r, &sqe));
	ASSERT_EQ(JR_OP_GETSOCKOPT, sqe.op);
	forged = reply_to(&sqe, 0);
	forged.res = 5;
	ASSERT_EQ(0, post_and_kick(&self->r, &forged, 1));
	pthread_join(t, NULL);
	EXPECT_EQ(-1, c.ret);
	EXPECT_EQ(EIO, c.err);
	close(fd);
}

/*
 * A silent netserver: socket() gives up after net.joyride.request_timeout_ms
 * with ETIMEDOUT.  The netserver may have made the socket meanwhile, so the
 * kernel closes it there (a CLOSE for the slot) and keeps the slot until
 * that is answered; the reply that comes late is stale and dropped; the
 * next socket works.
 */
TEST_F(hostile, silent_netserver_times_out_and_late_reply_is_dropped)
{
	struct socket_call call = { .type = SOCK_STREAM };
	char saved[32] = "", shorter[] = "300\n";
	struct jr_sqe sqe, next;
	struct jr_cqe late;
	int sysctl_fd, fd;
	ssize_t n;
	pthread_t t;

	sysctl_fd = open(REQUEST_TIMEOUT_SYSCTL, O_RDWR);
	ASSERT_LE(0, sysctl_fd);
	n = read(sysctl_fd, saved, sizeof(saved) - 1);
	ASSERT_LT(0, n);
	ASSERT_EQ((ssize_t)strlen(shorter), pwrite(sysctl_fd, shorter, strlen(shorter), 0));

	ASSERT_EQ(0, pthread_create(&t, NULL, call_socket, &call));
	EXPECT_EQ(0, take_request(&self->r, &sqe));
	pthread_join(t, NULL);		/* unanswered: bounded by the sysctl */
	EXPECT_EQ((ssize_t)n, pwrite(sysctl_fd, saved, (size_t)n, 0));
	close(sysctl_fd);
	EXPECT_EQ(-1, call.fd);
	EXPECT_EQ(ETIMEDOUT, call.err);

	late = reply_to(&sqe, 0);
	EXPECT_EQ(0, post_and_kick(&self->r, &late, 1));
	EXPECT_EQ(1, self->r.stats->k_slots_used);
	ASSERT_EQ(0, serve_one(&self->r, JR_OP_CLOSE, 0, &next));
	EXPECT_EQ(sqe.slot, next.slot);
	EXPECT_EQ(sqe.slot_gen, next.slot_gen);
	EXPECT_EQ(0, self->r.stats->k_slots_used);

	fd = honest_udp_socket(&self->r, &next);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, so_error(fd));
	close(fd);
}

/*
 * A flood of random bytes, a whole CQ at a time: every entry is consumed
 * and nearly all are rejected; afterwards the kernel serves a new socket
 * as if nothing had happened.
 */
TEST_F(hostile, random_flood_leaves_the_kernel_serving)
{
	uint64_t bad_before = self->r.stats->k_bad_entries;
	uint64_t cqes_before = self->r.stats->k_cqes;
	const uint32_t rounds = 4, per_round = self->r.params.cq_entries;
	unsigned int seed = 0x10ad;
	struct jr_sqe sqe;
	int fd;

	for (uint32_t round = 0; round < rounds; round++) {
		for (uint32_t i = 0; i < per_round; i++) {
			struct jr_cqe cqe;
			unsigned char *b = (unsigned char *)&cqe;

			for (size_t j = 0; j < sizeof(cqe); j++)
				b[j] = (unsigned char)rand_r(&seed);
			ASSERT_EQ(0, jr_server_post(&self->r, &cqe));
		}
		ASSERT_EQ(0, ioctl(self->r.fd, JR_IOC_KICK));
	}
	EXPECT_EQ(cqes_before + rounds * per_round, self->r.stats->k_cqes);
	/* Random bytes pass every rule only by a rare accident. */
	EXPECT_LE(bad_before + rounds * per_round * 99 / 100, self->r.stats->k_bad_entries);

	fd = honest_udp_socket(&self->r, &sqe);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, so_error(fd));
	close(fd);
}

TEST_HARNESS_MAIN
