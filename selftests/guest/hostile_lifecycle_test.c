// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile netserver against joyride.ko's lifecycles: the moments when a
 * lock is dropped and the world changes.  The test attaches to
 * /dev/joyride itself and, while the application's threads (or child
 * processes) sit in a blocking call, fills the SQ and never drains it,
 * forges the reply the kernel is about to wait for, detaches, and attaches
 * again in recovery mode.  Each case was a use-after-free, a double put,
 * an endless wait or a lost socket in joyride.ko before the fix it names
 * (issue 10); with slub_debug=FZPU and init_on_free=1 on the guest's
 * command line those become BUG lines the runner fails on.
 *
 * Waiting for a thread to block reads /proc/.../wchan, so a case tests the
 * blocked state it means to, not a guess made with a sleep.
 *
 * Needs the module to itself (no netserver): selftests/guest/tests.list.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/net_tstamp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "jr/libjr.h"
#include "serve_one.h"

#define SYSCTL_DIR	"/proc/sys/net/joyride/"
#define NR_SLOTS	64
#define SQ_ENTRIES	64

/* 198.18.0.2, the netserver's address in the guest tests. */
#define OWN_ADDR	htonl(0xc6120002)
#define PEER_ADDR	htonl(0xc6120001)

static void region_attach(struct __test_metadata *_metadata, struct jr_region *r,
			  bool recover)
{
	struct jr_attach req;

	jr_attach_defaults(&req);
	req.nr_slots = NR_SLOTS;
	req.sq_entries = SQ_ENTRIES;
	req.cq_entries = 2 * SQ_ENTRIES;
	req.rx_buf_size = req.tx_buf_size = 16384;
	if (recover)
		req.flags = JR_ATTACH_F_RECOVER;
	ASSERT_EQ(0, jr_attach_kernel(NULL, &req, r));
	ASSERT_EQ(SQ_ENTRIES, r->params.sq_entries);
}

/* Write a sysctl, keeping the old value in saved (NUL-terminated). */
static int sysctl_swap(const char *name, const char *value, char *saved, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SYSCTL_DIR "%s", name);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	n = saved ? pread(fd, saved, len - 1, 0) : 0;
	if (n < 0 || pwrite(fd, value, strlen(value), 0) != (ssize_t)strlen(value)) {
		close(fd);
		return -EIO;
	}
	if (saved)
		saved[n] = '\0';
	close(fd);
	return 0;
}

/* Wait (up to 10 s) until task tid sleeps in a function whose name has fn. */
static int wait_blocked_in(pid_t pid, pid_t tid, const char *fn)
{
	struct timespec tick = { .tv_nsec = 1000000 };
	char path[64], buf[128];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", pid, tid);
	for (int i = 0; i < 10000; i++) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if (strstr(buf, fn))
				return 0;
		}
		nanosleep(&tick, NULL);
	}
	return -ETIMEDOUT;
}

/* Fill the SQ to the brim with TX notifications of a UDP socket. */
static int fill_sq(struct jr_region *r, int fd)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = PEER_ADDR,
	};
	int free_entries = (int)r->params.sq_entries - jr_ring_ready(&r->sq);

	for (int i = 0; i < free_entries; i++)
		if (sendto(fd, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) != 1)
			return -errno;
	return jr_ring_ready(&r->sq) == (int)r->params.sq_entries ? 0 : -EAGAIN;
}

/* Take every request in the SQ (answering none) and kick. */
static void drain_sq(struct jr_region *r)
{
	jr_ring_consume(&r->sq, jr_ring_ready(&r->sq));
	ioctl(r->fd, JR_IOC_KICK);
}

/* Peek at the SQ entry i places after the consumer, without taking it. */
static struct jr_sqe peek_sq(struct jr_region *r, uint32_t i)
{
	struct jr_sqe sqe;

	memcpy(&sqe, jr_ring_entry(&r->sq, r->sq.own + i), sizeof(sqe));
	return sqe;
}

/* Take requests (up to 10 s) until one for op and slot shows up. */
static int await_request(struct jr_region *r, uint16_t op, uint32_t slot,
			 struct jr_sqe *found)
{
	for (int i = 0; i < 2; i++) {
		while (take_request(r, found) == 0)
			if (found->op == op && found->slot == slot)
				return 0;
		ioctl(r->fd, JR_IOC_KICK);	/* deferred posts go on a kick */
	}
	return -ETIMEDOUT;
}

/* A UDP socket bound to OWN_ADDR:port, served honestly. */
static int bound_udp_socket(struct jr_region *r, uint16_t port, struct jr_sqe *created)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = OWN_ADDR,
	};
	int fd = honest_udp_socket(r, created), status;
	struct jr_sqe seen;
	pid_t child;

	if (fd < 0)
		return fd;
	/* bind() waits for its reply: a child makes the call, we answer. */
	child = fork();
	if (child == 0)
		_exit(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ? errno : 0);
	if (child < 0 || serve_honestly(r, &seen) || seen.op != JR_OP_BIND ||
	    waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		close(fd);
		return -EPROTO;
	}
	return fd;
}

/*
 * Serve a replay honestly until REPLAY_DONE; the number of sockets
 * replayed (SOCKET requests), or -errno.
 */
static int serve_replay(struct jr_region *r)
{
	struct jr_sqe sqe;
	int sockets = 0, err;

	for (;;) {
		err = serve_honestly(r, &sqe);
		if (err)
			return err;
		if (sqe.op == JR_OP_SOCKET)
			sockets++;
		if (sqe.op == JR_OP_REPLAY_DONE)
			return sockets;
	}
}

struct blocking_call {
	pthread_t thread;
	pid_t tid;
	int fd;
	long ret;
	int err;
	char buf[2048];
};

static void *call_close(void *arg)
{
	struct blocking_call *c = arg;

	c->tid = gettid();
	c->ret = close(c->fd);
	c->err = c->ret ? errno : 0;
	return NULL;
}

static void *call_listen(void *arg)
{
	struct blocking_call *c = arg;

	c->tid = gettid();
	c->ret = listen(c->fd, 16);
	c->err = c->ret ? errno : 0;
	return NULL;
}

static void *call_send_1000(void *arg)
{
	struct blocking_call *c = arg;
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = PEER_ADDR,
	};

	c->tid = gettid();
	memset(c->buf, 'j', 1000);
	c->ret = sendto(c->fd, c->buf, 1000, 0, (struct sockaddr *)&to, sizeof(to));
	c->err = c->ret < 0 ? errno : 0;
	return NULL;
}

static void *call_send_dontwait(void *arg)
{
	struct blocking_call *c = arg;
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = PEER_ADDR,
	};

	c->tid = gettid();
	c->ret = sendto(c->fd, "y", 1, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
	c->err = c->ret < 0 ? errno : 0;
	return NULL;
}

static void *call_recv(void *arg)
{
	struct blocking_call *c = arg;

	c->tid = gettid();
	c->ret = recv(c->fd, c->buf, sizeof(c->buf), 0);
	c->err = c->ret < 0 ? errno : 0;
	return NULL;
}

static void *call_bind_own_addr(void *arg)
{
	struct blocking_call *c = arg;
	struct sockaddr_in sin = {
		.sin_family = AF_INET, .sin_port = htons(5005), .sin_addr.s_addr = OWN_ADDR,
	};

	c->tid = gettid();
	c->ret = bind(c->fd, (struct sockaddr *)&sin, sizeof(sin));
	c->err = c->ret ? errno : 0;
	return NULL;
}

static void *call_poll_out(void *arg)
{
	struct blocking_call *c = arg;
	struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

	c->tid = gettid();
	c->ret = poll(&pfd, 1, 10000);
	c->err = c->ret < 0 ? errno : pfd.revents;
	return NULL;
}

static void *call_connect(void *arg)
{
	struct blocking_call *c = arg;
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(80), .sin_addr.s_addr = PEER_ADDR,
	};

	c->tid = gettid();
	c->ret = connect(c->fd, (struct sockaddr *)&to, sizeof(to));
	c->err = c->ret ? errno : 0;
	return NULL;
}

static void *call_inet_stream_socket(void *arg)
{
	struct blocking_call *c = arg;

	c->tid = gettid();
	c->ret = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	c->err = c->ret < 0 ? errno : 0;
	return NULL;
}

static int start(struct blocking_call *c, void *(*fn)(void *))
{
	c->tid = 0;
	if (pthread_create(&c->thread, NULL, fn, c))
		return -EAGAIN;
	for (int i = 0; i < 100000 && !__atomic_load_n(&c->tid, __ATOMIC_ACQUIRE); i++)
		sched_yield();
	return c->tid ? 0 : -ETIMEDOUT;
}

/*
 * Every thread's state and kernel stack, for the report of a thread that
 * is stuck (a thread spinning in the kernel shows state R and no stack).
 */
static void dump_stacks(void)
{
	static const char *const files[] = { "stat", "stack" };
	char path[320], buf[4096];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/task");

	while (dir && (d = readdir(dir))) {
		ssize_t n;
		int fd;

		if (d->d_name[0] == '.')
			continue;
		for (size_t i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "/proc/self/task/%s/%s",
				 d->d_name, files[i]);
			fd = open(path, O_RDONLY);
			n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
			if (fd >= 0)
				close(fd);
			if (n > 0) {
				buf[n] = '\0';
				fprintf(stderr, "# thread %s %s: %s", d->d_name, files[i], buf);
			}
		}
	}
	if (dir)
		closedir(dir);
}

/*
 * Join, giving up (and failing the test) after the given time; a thread
 * still stuck then is a finding, reported with the threads' stacks.
 */
static int join_within(struct blocking_call *c, int seconds)
{
	struct timespec until;
	int err;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	err = pthread_timedjoin_np(c->thread, NULL, &until);
	if (err)
		dump_stacks();
	return err;
}

FIXTURE(lifecycle) {
	struct jr_region r;
	char saved_timeout[32];
};

FIXTURE_SETUP(lifecycle)
{
	region_attach(_metadata, &self->r, false);
	ASSERT_EQ(0, sysctl_swap("request_timeout_ms", "10000\n", self->saved_timeout,
				 sizeof(self->saved_timeout)));
}

FIXTURE_TEARDOWN(lifecycle)
{
	if (self->r.fd >= 0)
		jr_region_destroy(&self->r);
	sysctl_swap("request_timeout_ms", self->saved_timeout, NULL, 0);
}

/*
 * Item 1: close() blocked for SQ room when the netserver goes away.  The
 * server's death takes the CLOSE's reference; the failed post must not
 * put it again, nor touch the freed server.
 */
TEST_F(lifecycle, close_blocked_on_full_sq_survives_detach)
{
	struct blocking_call c = { 0 };
	struct jr_sqe sqe;

	c.fd = honest_udp_socket(&self->r, &sqe);
	ASSERT_LE(0, c.fd);
	ASSERT_EQ(0, fill_sq(&self->r, c.fd));
	ASSERT_EQ(0, start(&c, call_close));
	ASSERT_EQ(0, wait_blocked_in(getpid(), c.tid, "jr_post"));

	jr_region_destroy(&self->r);
	ASSERT_EQ(0, join_within(&c, 10));
	EXPECT_EQ(0, c.ret);
}

/*
 * Item 1, forged: while close() waits for SQ room, the netserver answers
 * the CLOSE it has not been sent yet (tags are sequential), then goes
 * away.  The forged reply took the reference; the failing post leaves it.
 */
TEST_F(lifecycle, forged_close_reply_then_detach_puts_once)
{
	struct blocking_call c = { 0 };
	struct jr_sqe sqe;
	struct jr_cqe forged;

	c.fd = honest_udp_socket(&self->r, &sqe);
	ASSERT_LE(0, c.fd);
	ASSERT_EQ(0, fill_sq(&self->r, c.fd));
	ASSERT_EQ(0, start(&c, call_close));
	ASSERT_EQ(0, wait_blocked_in(getpid(), c.tid, "jr_post"));

	forged = reply_to(&sqe, 0);
	forged.op = JR_OP_CLOSE;
	forged.tag = sqe.tag + 1;
	ASSERT_EQ(0, post_and_kick(&self->r, &forged, 1));
	/* The kernel took it for the reply: the slot is free. */
	EXPECT_EQ(0, self->r.stats->k_slots_used);

	jr_region_destroy(&self->r);
	ASSERT_EQ(0, join_within(&c, 10));
	EXPECT_EQ(0, c.ret);
}

/*
 * Item 2: listen() pre-posts ACCEPTs; the second finds the SQ full.  The
 * netserver completes that ACCEPT before it is posted (guessing its tag
 * and its child's slot), then goes away: the child now sits on the accept
 * queue and the listener reference went with it, so the failed post must
 * neither free the child nor put the listener again.
 */
TEST_F(lifecycle, forged_accept_reply_while_pre_posting)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET, .sin_port = htons(8080), .sin_addr.s_addr = OWN_ADDR,
	};
	struct socket_call sc = { .type = SOCK_STREAM };
	struct blocking_call c = { 0 };
	struct jr_sqe udp_sqe, l_sqe, seen, listen_req, accept1;
	pthread_t t;
	struct jr_cqe cqe;
	int udp, status;
	pid_t child;

	udp = honest_udp_socket(&self->r, &udp_sqe);
	ASSERT_LE(0, udp);
	ASSERT_EQ(0, pthread_create(&t, NULL, call_socket, &sc));
	ASSERT_EQ(0, serve_honestly(&self->r, &l_sqe));
	pthread_join(t, NULL);
	ASSERT_LE(0, sc.fd);
	c.fd = sc.fd;
	child = fork();
	if (child == 0)
		_exit(bind(c.fd, (struct sockaddr *)&sin, sizeof(sin)) ? errno : 0);
	ASSERT_EQ(0, serve_honestly(&self->r, &seen));
	ASSERT_EQ(JR_OP_BIND, seen.op);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));

	/* Leave room for the LISTEN and one ACCEPT. */
	for (uint32_t i = 0; i < SQ_ENTRIES - 2; i++) {
		ASSERT_EQ(1, sendto(udp, "z", 1, MSG_DONTWAIT,
				    (struct sockaddr *)&sin, sizeof(sin)));
	}
	ASSERT_EQ(SQ_ENTRIES - 2, jr_ring_ready(&self->r.sq));
	ASSERT_EQ(0, start(&c, call_listen));
	ASSERT_EQ(0, wait_blocked_in(getpid(), c.tid, "wait_woken"));
	listen_req = peek_sq(&self->r, SQ_ENTRIES - 2);
	ASSERT_EQ(JR_OP_LISTEN, listen_req.op);
	cqe = honest_reply(&listen_req);
	ASSERT_EQ(0, post_and_kick(&self->r, &cqe, 1));
	ASSERT_EQ(0, wait_blocked_in(getpid(), c.tid, "jr_post"));
	accept1 = peek_sq(&self->r, SQ_ENTRIES - 1);
	ASSERT_EQ(JR_OP_ACCEPT, accept1.op);

	/* The next ACCEPT's tag and child slot follow the first's. */
	cqe = reply_to(&accept1, 0);
	cqe.tag = accept1.tag + 1;
	cqe.slot = accept1.slot + 1;
	cqe.u.addr.family = AF_INET;
	cqe.u.addr.port = htons(40000);
	memcpy(cqe.u.addr.addr, (uint8_t[]){ 198, 18, 0, 1 }, 4);
	ASSERT_EQ(0, post_and_kick(&self->r, &cqe, 1));

	jr_region_destroy(&self->r);
	ASSERT_EQ(0, join_within(&c, 10));
	EXPECT_EQ(0, c.ret);
	close(c.fd);
	close(udp);
}

/*
 * Item 3: sendto() on a bound UDP socket waits for room in a full ring;
 * meanwhile the netserver dies and a new one replays the socket onto a
 * new region.  The send must go to the new region (the old one is
 * freed), and it does: the datagram is there.
 */
TEST_F(lifecycle, udp_send_waiting_for_room_resumes_on_the_new_netserver)
{
	struct blocking_call c = { 0 };
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = PEER_ADDR,
	};
	char big[1000] = { 0 };
	struct jr_sqe sqe;
	uint32_t slot;

	c.fd = bound_udp_socket(&self->r, 5001, &sqe);
	ASSERT_LE(0, c.fd);
	while (sendto(c.fd, big, sizeof(big), MSG_DONTWAIT, (struct sockaddr *)&to,
		      sizeof(to)) == sizeof(big))
		drain_sq(&self->r);
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, start(&c, call_send_1000));
	ASSERT_EQ(0, wait_blocked_in(getpid(), c.tid, "wait_woken"));

	jr_region_destroy(&self->r);
	region_attach(_metadata, &self->r, true);
	ASSERT_EQ(1, serve_replay(&self->r));
	ASSERT_EQ(0, join_within(&c, 10));
	EXPECT_EQ(1000, c.ret);

	/* The replayed socket's slot is the one SOCKET named; its ring has it. */
	slot = 0;
	for (uint32_t s = 0; s < NR_SLOTS; s++)
		if (self->r.slots[s].tx_prod)
			slot = s + 1;
	ASSERT_NE(0, slot);
	EXPECT_EQ(JR_DGRAM_RECORD(1000), self->r.slots[slot - 1].tx_prod);
	close(c.fd);
}

/*
 * Item 3: connect() on a socket with SO_REUSEADDR first sets the option
 * (a call that lets go of the socket lock), then posts CONNECT.  The
 * netserver answers the option and dies at once, many times over: connect
 * must fail cleanly, never use the dead server.
 */
TEST_F(lifecycle, connect_after_option_reply_and_detach)
{
	for (int round = 0; round < 10; round++) {
		struct socket_call sc = { .type = SOCK_STREAM };
		struct blocking_call c = { 0 };
		struct jr_sqe sqe;
		struct jr_cqe cqe;
		pthread_t t;
		int one = 1;

		ASSERT_EQ(0, pthread_create(&t, NULL, call_socket, &sc));
		ASSERT_EQ(0, serve_honestly(&self->r, &sqe));
		pthread_join(t, NULL);
		ASSERT_LE(0, sc.fd);
		ASSERT_EQ(0, setsockopt(sc.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
		c.fd = sc.fd;
		ASSERT_EQ(0, start(&c, call_connect));
		ASSERT_EQ(0, take_request(&self->r, &sqe));
		ASSERT_EQ(JR_OP_SETSOCKOPT, sqe.op);
		cqe = reply_to(&sqe, 0);
		ASSERT_EQ(0, post_and_kick(&self->r, &cqe, 1));
		jr_region_destroy(&self->r);
		ASSERT_EQ(0, join_within(&c, 20));
		EXPECT_EQ(-1, c.ret);
		if (c.err != ENETDOWN && c.err != ECONNRESET && c.err != ECONNABORTED)
			TH_LOG("connect: %s", strerror(c.err));
		EXPECT_TRUE(c.err == ENETDOWN || c.err == ECONNRESET ||
			    c.err == ECONNABORTED);
		close(c.fd);
		region_attach(_metadata, &self->r, false);
	}
}

/*
 * Item 4: a redirected stream socket reports AF_INET and IPPROTO_TCP, so
 * the core's SO_TIMESTAMPING reads tcp_sk(sk)->snd_una for OPT_ID on a
 * connecting socket.  That read must stay inside the socket (KASAN, in
 * the debug kernel, reports it otherwise); the option works as on TCP.
 */
TEST_F(lifecycle, timestamping_opt_id_on_a_redirected_connecting_socket)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = PEER_ADDR,
	};
	struct blocking_call c = { 0 };
	int val = SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_SOFTWARE, got = 0;
	socklen_t len = sizeof(got);
	struct jr_sqe sqe;
	int fd;

	/* socket(AF_INET), redirected: the netserver sees a SOCKET. */
	ASSERT_EQ(0, sysctl_swap("redirect_inet", "1\n", NULL, 0));
	ASSERT_EQ(0, start(&c, call_inet_stream_socket));
	EXPECT_EQ(0, serve_honestly(&self->r, &sqe));
	ASSERT_EQ(0, join_within(&c, 10));
	sysctl_swap("redirect_inet", "0\n", NULL, 0);
	ASSERT_EQ(JR_OP_SOCKET, sqe.op);
	fd = c.ret;
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&to, sizeof(to)));
	EXPECT_EQ(EINPROGRESS, errno);
	EXPECT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &val, sizeof(val)));
	EXPECT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &got, &len));
	EXPECT_EQ(val, got);
	close(fd);
}

/* Answer SOCKET and CLOSE requests until *stop; count the SOCKETs. */
struct server_loop {
	struct jr_region *r;
	pthread_t thread;
	volatile int stop;
	int sockets;
};

static void *serve_loop(void *arg)
{
	struct server_loop *s = arg;
	struct timespec tick = { .tv_nsec = 1000000 };

	while (!s->stop) {
		struct jr_sqe sqe;
		struct jr_cqe cqe;

		if (jr_ring_ready(&s->r->sq) <= 0) {
			nanosleep(&tick, NULL);
			continue;
		}
		memcpy(&sqe, jr_ring_entry(&s->r->sq, s->r->sq.own), sizeof(sqe));
		jr_ring_consume(&s->r->sq, 1);
		if (sqe.op == JR_OP_SOCKET)
			__atomic_add_fetch(&s->sockets, 1, __ATOMIC_RELAXED);
		if (!jr_op_has_reply(sqe.op) || sqe.op == JR_OP_ACCEPT)
			continue;
		cqe = honest_reply(&sqe);
		post_and_kick(s->r, &cqe, 1);
	}
	return NULL;
}

/*
 * Item 5: one user cannot take every slot.  uid 65534 gets exactly
 * net.joyride.max_slots_per_user sockets, then ENOBUFS; with the redirect
 * on, its socket(AF_INET) is then served by Linux (the netserver sees no
 * SOCKET) and works; root still gets Joyride sockets.
 */
TEST_F(lifecycle, per_user_slot_limit_and_redirect_fallback)
{
	struct server_loop loop = { .r = &self->r };
	char saved_limit[32];
	int pipefd[2], results[4] = { 0 }, status, before, fd;
	pid_t child;

	ASSERT_EQ(0, sysctl_swap("max_slots_per_user", "12\n", saved_limit,
				 sizeof(saved_limit)));
	ASSERT_EQ(0, sysctl_swap("redirect_inet", "1\n", NULL, 0));
	ASSERT_EQ(0, pthread_create(&loop.thread, NULL, serve_loop, &loop));
	ASSERT_EQ(0, pipe(pipefd));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		struct sockaddr_in lo = {
			.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		};
		int n = 0, err = 0, inet, domain = 0;
		socklen_t len = sizeof(domain);

		if (setgid(65534) || setuid(65534))
			_exit(1);
		for (int i = 0; i < 40; i++) {
			if (socket(AF_JOYRIDE, SOCK_DGRAM, 0) < 0) {
				err = errno;
				break;
			}
			n++;
		}
		results[0] = n;
		results[1] = err;
		inet = socket(AF_INET, SOCK_DGRAM, 0);
		results[2] = inet >= 0 && !getsockopt(inet, SOL_SOCKET, SO_DOMAIN, &domain, &len) &&
			     domain == AF_INET &&
			     !bind(inet, (struct sockaddr *)&lo, sizeof(lo));
		if (write(pipefd[1], results, sizeof(results)) != sizeof(results))
			_exit(1);
		/* Keep the sockets until the parent has looked. */
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	ASSERT_EQ(sizeof(results), read(pipefd[0], results, sizeof(results)));
	before = __atomic_load_n(&loop.sockets, __ATOMIC_RELAXED);
	EXPECT_EQ(12, results[0]);
	EXPECT_EQ(ENOBUFS, results[1]);
	EXPECT_EQ(1, results[2]);
	EXPECT_EQ(12, before);
	EXPECT_EQ(12, self->r.stats->k_slots_used);
	sysctl_swap("redirect_inet", "0\n", NULL, 0);

	/* Another user is not affected. */
	fd = socket(AF_JOYRIDE, SOCK_DGRAM, 0);
	EXPECT_LE(0, fd);
	close(fd);

	kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	close(pipefd[0]);
	/* Its sockets are closed; the slots come back as CLOSEs are answered. */
	for (int i = 0; i < 5000 && self->r.stats->k_slots_used; i++)
		usleep(1000);
	EXPECT_EQ(0, self->r.stats->k_slots_used);
	loop.stop = 1;
	pthread_join(loop.thread, NULL);
	sysctl_swap("max_slots_per_user", saved_limit, NULL, 0);
}

/*
 * Item 8: a process waiting for a reply the netserver never sends can be
 * killed; it does not sit out request_timeout_ms (10 s here).
 */
TEST_F(lifecycle, process_waiting_for_a_reply_can_be_killed)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET, .sin_port = htons(5002), .sin_addr.s_addr = OWN_ADDR,
	};
	struct jr_sqe sqe;
	int fd, status = 0;
	pid_t child, done = 0;

	fd = honest_udp_socket(&self->r, &sqe);
	ASSERT_LE(0, fd);
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0)
		_exit(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ? 1 : 0);
	ASSERT_EQ(0, take_request(&self->r, &sqe));
	ASSERT_EQ(JR_OP_BIND, sqe.op);
	ASSERT_EQ(0, wait_blocked_in(child, child, "wait_woken"));
	ASSERT_EQ(0, kill(child, SIGKILL));
	/* Well within request_timeout_ms. */
	for (int i = 0; i < 3000 && !done; i++) {
		done = waitpid(child, &status, WNOHANG);
		if (!done)
			usleep(1000);
	}
	EXPECT_EQ(child, done);
	if (!done)
		waitpid(child, &status, 0);
	EXPECT_TRUE(WIFSIGNALED(status));
	close(fd);
}

/*
 * Item 8: with the SQ full, a MSG_DONTWAIT send does not wait for room
 * (it used to poll until the netserver drained the SQ); its notification
 * is owed and reaches the netserver once there is room.
 */
TEST_F(lifecycle, dontwait_send_with_full_sq_returns_and_notifies_later)
{
	struct blocking_call c = { 0 };
	struct jr_sqe sqe, seen;

	c.fd = honest_udp_socket(&self->r, &sqe);
	ASSERT_LE(0, c.fd);
	ASSERT_EQ(0, fill_sq(&self->r, c.fd));
	ASSERT_EQ(0, start(&c, call_send_dontwait));
	ASSERT_EQ(0, join_within(&c, 3));
	EXPECT_EQ(1, c.ret);

	drain_sq(&self->r);
	ASSERT_EQ(0, await_request(&self->r, JR_OP_TX, sqe.slot, &seen));
	close(c.fd);
}

/*
 * Item 10: close() when the SQ stays full past request_timeout_ms returns,
 * but the slot is not given back as if closed: the netserver still holds
 * it.  The CLOSE is owed and posted once there is room; its reply frees
 * the slot.
 */
TEST_F(lifecycle, close_that_finds_no_room_is_posted_later)
{
	struct jr_sqe sqe, seen;
	struct jr_cqe cqe;
	int fd;

	ASSERT_EQ(0, sysctl_swap("request_timeout_ms", "300\n", NULL, 0));
	fd = honest_udp_socket(&self->r, &sqe);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fill_sq(&self->r, fd));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(1, self->r.stats->k_slots_used);

	drain_sq(&self->r);
	ASSERT_EQ(0, await_request(&self->r, JR_OP_CLOSE, sqe.slot, &seen));
	EXPECT_EQ(sqe.slot_gen, seen.slot_gen);
	cqe = reply_to(&seen, 0);
	ASSERT_EQ(0, post_and_kick(&self->r, &cqe, 1));
	EXPECT_EQ(0, self->r.stats->k_slots_used);
}

struct attacher {
	pthread_t thread;
	struct jr_region r;
	int err;
	int tries;
};

/* Attach in recovery mode as soon as the device lets us. */
static void *attach_asap(void *arg)
{
	struct attacher *a = arg;
	struct jr_attach req;

	do {
		jr_attach_defaults(&req);
		req.nr_slots = NR_SLOTS;
		req.sq_entries = SQ_ENTRIES;
		req.cq_entries = 2 * SQ_ENTRIES;
		req.rx_buf_size = req.tx_buf_size = 16384;
		req.flags = JR_ATTACH_F_RECOVER;
		a->err = jr_attach_kernel(NULL, &req, &a->r);
		a->tries++;
	} while (a->err == -EBUSY && a->tries < 1000000);
	return NULL;
}

/*
 * Item 9: a netserver that attaches while its predecessor's sockets are
 * still being failed must still be given every survivor: 48 bound UDP
 * sockets, the netserver dies, a new one attaches as fast as it can, and
 * the replay brings back all 48, three times over.
 */
TEST_F(lifecycle, fast_reattach_replays_every_survivor)
{
	enum { N = 48 };
	int fds[N];
	struct jr_sqe sqe;

	for (int i = 0; i < N; i++) {
		fds[i] = bound_udp_socket(&self->r, 6000 + i, &sqe);
		ASSERT_LE(0, fds[i]);
	}
	for (int round = 0; round < 3; round++) {
		struct attacher a = { 0 };

		ASSERT_EQ(0, pthread_create(&a.thread, NULL, attach_asap, &a));
		jr_region_destroy(&self->r);
		pthread_join(a.thread, NULL);
		ASSERT_EQ(0, a.err);
		self->r = a.r;
		EXPECT_EQ(N, serve_replay(&self->r));
	}
	for (int i = 0; i < N; i++)
		close(fds[i]);
}

/*
 * Item 10: a recv() blocked on a bound UDP socket waits through the
 * netserver's death and the replay (Documentation/recovery.md), and gets
 * the datagram the new netserver delivers.
 */
TEST_F(lifecycle, blocked_udp_recv_waits_through_recovery)
{
	static const char payload[] = "after recovery";
	struct jr_dgram_hdr h = { .len = sizeof(payload) };
	struct blocking_call c = { 0 };
	struct jr_sqe sqe, replayed;
	struct jr_cqe ev;
	struct timeval tv = { .tv_sec = 20 };
	unsigned char *rx;
	uint32_t slot;

	c.fd = bound_udp_socket(&self->r, 5003, &sqe);
	ASSERT_LE(0, c.fd);
	ASSERT_EQ(0, setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	ASSERT_EQ(0, start(&c, call_recv));
	ASSERT_EQ(0, wait_blocked_in(getpid(), c.tid, "wait_woken"));

	jr_region_destroy(&self->r);
	region_attach(_metadata, &self->r, true);
	/* SOCKET, BIND, REPLAY_DONE: keep the socket's slot. */
	ASSERT_EQ(0, serve_honestly(&self->r, &replayed));
	ASSERT_EQ(JR_OP_SOCKET, replayed.op);
	slot = replayed.slot;
	ev = event_for(&replayed, JR_EV_RX, 0);
	ASSERT_EQ(0, serve_honestly(&self->r, &replayed));
	ASSERT_EQ(JR_OP_BIND, replayed.op);
	ASSERT_EQ(0, serve_honestly(&self->r, &replayed));
	ASSERT_EQ(JR_OP_REPLAY_DONE, replayed.op);
	h.addr.family = AF_INET;
	h.addr.port = htons(9);
	memcpy(h.addr.addr, (uint8_t[]){ 198, 18, 0, 1 }, 4);
	rx = jr_slot_rx(&self->r, slot);
	memcpy(rx, &h, sizeof(h));
	memcpy(rx + sizeof(h), payload, sizeof(payload));
	jr_store_release(&self->r.slots[slot].rx_prod, (uint32_t)JR_DGRAM_RECORD(h.len));
	ASSERT_EQ(0, post_and_kick(&self->r, &ev, 1));

	ASSERT_EQ(0, join_within(&c, 10));
	EXPECT_EQ((long)sizeof(payload), c.ret);
	EXPECT_EQ(0, memcmp(c.buf, payload, sizeof(payload)));
	close(c.fd);
}

/*
 * Item 10: a surviving UDP socket has no ring while the netserver is
 * away, so it is not writable; a poll() for POLLOUT made then wakes when
 * the replay gives it one.
 */
TEST_F(lifecycle, pollout_on_a_udp_survivor_wakes_after_replay)
{
	struct blocking_call c = { 0 };
	struct jr_sqe sqe;

	c.fd = bound_udp_socket(&self->r, 5004, &sqe);
	ASSERT_LE(0, c.fd);
	jr_region_destroy(&self->r);
	ASSERT_EQ(0, start(&c, call_poll_out));
	ASSERT_EQ(0, wait_blocked_in(getpid(), c.tid, "poll"));

	region_attach(_metadata, &self->r, true);
	ASSERT_EQ(1, serve_replay(&self->r));
	ASSERT_EQ(0, join_within(&c, 12));
	EXPECT_EQ(1, c.ret);
	EXPECT_TRUE(c.err & POLLOUT);
	close(c.fd);
}

/*
 * Found by hostile_random: the replay's request for a socket waits for its
 * reply while the application closes that socket.  sock_orphan() takes the
 * socket's wait queue away; the replay worker must not be sleeping on it,
 * and must leave the slot to the close.
 */
TEST_F(lifecycle, close_while_the_replay_waits_for_its_socket)
{
	struct jr_sqe sqe, replayed;
	struct jr_cqe ok;
	bool closed = false, done = false;
	int fd;

	fd = bound_udp_socket(&self->r, 5006, &sqe);
	ASSERT_LE(0, fd);
	jr_region_destroy(&self->r);
	region_attach(_metadata, &self->r, true);
	ASSERT_EQ(0, take_request(&self->r, &replayed));
	ASSERT_EQ(JR_OP_SOCKET, replayed.op);

	/* The replay worker waits for that reply; the socket closes now. */
	EXPECT_EQ(0, close(fd));
	ok = reply_to(&replayed, 0);
	ASSERT_EQ(0, post_and_kick(&self->r, &ok, 1));
	/* Then its CLOSE and the end of the replay, in either order. */
	for (int i = 0; i < 4 && !(closed && done); i++) {
		ASSERT_EQ(0, serve_honestly(&self->r, &sqe));
		EXPECT_NE(JR_OP_LISTEN, sqe.op);
		closed |= sqe.op == JR_OP_CLOSE;
		done |= sqe.op == JR_OP_REPLAY_DONE;
	}
	EXPECT_TRUE(closed);
	EXPECT_TRUE(done);
	EXPECT_EQ(0, self->r.stats->k_slots_used);
}

/*
 * Found by hostile_random: a connect() ends with a reset, the socket
 * listens, and then the netserver answers the old CONNECT.  The late
 * reply must not turn the listener into a connection (whose close would
 * leave the accept queue's children and their slots behind).
 */
TEST_F(lifecycle, late_connect_reply_leaves_a_listener_listening)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(80), .sin_addr.s_addr = PEER_ADDR,
	};
	struct blocking_call c = { 0 };
	struct jr_sqe created, connect_req, sqe;
	struct jr_cqe reset, late;
	int acceptconn = 0;
	socklen_t len = sizeof(acceptconn);

	c.fd = honest_socket(&self->r, SOCK_STREAM | SOCK_NONBLOCK, &created);
	ASSERT_LE(0, c.fd);
	ASSERT_EQ(-1, connect(c.fd, (struct sockaddr *)&to, sizeof(to)));
	ASSERT_EQ(EINPROGRESS, errno);
	ASSERT_EQ(0, take_request(&self->r, &connect_req));
	ASSERT_EQ(JR_OP_CONNECT, connect_req.op);
	reset = event_for(&created, JR_EV_RESET, -ECONNREFUSED);
	ASSERT_EQ(0, post_and_kick(&self->r, &reset, 1));
	/* The next connect() reports the failure, as on Linux. */
	ASSERT_EQ(-1, connect(c.fd, (struct sockaddr *)&to, sizeof(to)));
	ASSERT_EQ(ECONNREFUSED, errno);

	ASSERT_EQ(0, start(&c, call_listen));
	ASSERT_EQ(0, serve_honestly(&self->r, &sqe));
	ASSERT_EQ(JR_OP_LISTEN, sqe.op);
	ASSERT_EQ(0, serve_honestly(&self->r, &sqe));
	ASSERT_EQ(JR_OP_GETNAME, sqe.op);
	ASSERT_EQ(0, join_within(&c, 10));
	ASSERT_EQ(0, c.ret);

	late = honest_reply(&connect_req);
	ASSERT_EQ(0, post_and_kick(&self->r, &late, 1));
	ASSERT_EQ(0, getsockopt(c.fd, SOL_SOCKET, SO_ACCEPTCONN, &acceptconn, &len));
	EXPECT_EQ(1, acceptconn);
	EXPECT_EQ(-1, accept4(c.fd, NULL, NULL, SOCK_NONBLOCK));
	EXPECT_EQ(EAGAIN, errno);
	close(c.fd);
}

/*
 * Found by hostile_random: errnos beyond user space's (ERESTARTSYS is
 * 512) came through to the application.  Such a reply is malformed: the
 * call gets EIO, and a CLOSE answered that way still frees its slot.
 */
TEST_F(lifecycle, kernel_internal_errno_in_a_reply_becomes_eio)
{
	struct blocking_call c = { 0 };
	struct jr_sqe created, sqe;
	struct jr_cqe weird;

	c.fd = honest_udp_socket(&self->r, &created);
	ASSERT_LE(0, c.fd);
	ASSERT_EQ(0, start(&c, call_bind_own_addr));
	ASSERT_EQ(0, take_request(&self->r, &sqe));
	ASSERT_EQ(JR_OP_BIND, sqe.op);
	weird = reply_to(&sqe, -512);
	ASSERT_EQ(0, post_and_kick(&self->r, &weird, 1));
	ASSERT_EQ(0, join_within(&c, 10));
	EXPECT_EQ(-1, c.ret);
	EXPECT_EQ(EIO, c.err);

	ASSERT_EQ(0, close(c.fd));
	ASSERT_EQ(0, await_request(&self->r, JR_OP_CLOSE, created.slot, &sqe));
	weird = reply_to(&sqe, -600);
	ASSERT_EQ(0, post_and_kick(&self->r, &weird, 1));
	EXPECT_EQ(0, self->r.stats->k_slots_used);
}

TEST_HARNESS_MAIN
