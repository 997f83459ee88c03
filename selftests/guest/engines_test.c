// SPDX-License-Identifier: GPL-2.0
/*
 * Engines (ABI 2) against joyride.ko: the test plays two netserver engines
 * and a standby, each attached on its own /dev/joyride file and served by
 * a thread that answers every request honestly and logs it, so the test
 * sees which engine the kernel sends what: where sockets go, that a
 * listener is replicated to every engine and accepts on each, that a
 * standby takes a dead engine's index and gets its survivors replayed
 * while the other engine's connection carries on, and that an engine that
 * joins gets the listeners.  The DPDK side (keeper, engines on RSS queues)
 * is tested end to end by the netserver tests; this one pins the kernel's
 * rules without a NIC.
 *
 * Needs the module to itself (no netserver): selftests/guest/tests.list.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "jr/libjr.h"
#include "serve_one.h"

/* 198.18.0.2, the netserver's address in the guest tests; the peer .1. */
#define OWN_ADDR	htonl(0xc6120002)
#define PEER_ADDR	htonl(0xc6120001)
#define MAX_LOG		1024
#define MAX_ACCEPTS	64

/* One engine the test plays: its region, its serving thread, its log. */
struct fake_engine {
	struct jr_region	r;
	bool			attached;
	bool			running;
	pthread_t		thread;
	volatile int		stop;
	pthread_mutex_t		lock;
	struct jr_sqe		log[MAX_LOG];
	int			nr_log;
	struct jr_sqe		accepts[MAX_ACCEPTS];	/* ACCEPTs not yet answered */
	int			nr_accepts;
};

static int engine_attach(struct fake_engine *e, uint16_t index, uint32_t flags)
{
	struct jr_attach req;
	int err;

	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->lock, NULL);
	jr_attach_defaults(&req);
	req.nr_slots = 64;
	req.sq_entries = 64;
	req.cq_entries = 128;
	req.rx_buf_size = req.tx_buf_size = 16384;
	req.engine = index;
	req.flags = flags;
	err = jr_attach_kernel(NULL, &req, &e->r);
	e->attached = !err;
	return err;
}

/* The engine's loop: log every request, answer all but ACCEPTs. */
static void *engine_loop(void *arg)
{
	struct fake_engine *e = arg;
	struct timespec tick = { .tv_nsec = 1000000 };
	unsigned int idle = 0;

	while (!e->stop) {
		struct jr_sqe sqe;
		struct jr_cqe cqe;

		if (jr_ring_ready(&e->r.sq) <= 0) {
			/* Deferred posts go out on a kick; give them one. */
			if (++idle % 16 == 0)
				ioctl(e->r.fd, JR_IOC_KICK);
			nanosleep(&tick, NULL);
			continue;
		}
		idle = 0;
		memcpy(&sqe, jr_ring_entry(&e->r.sq, e->r.sq.own), sizeof(sqe));
		jr_ring_consume(&e->r.sq, 1);
		pthread_mutex_lock(&e->lock);
		if (e->nr_log < MAX_LOG)
			e->log[e->nr_log++] = sqe;
		if (sqe.op == JR_OP_ACCEPT && e->nr_accepts < MAX_ACCEPTS)
			e->accepts[e->nr_accepts++] = sqe;
		pthread_mutex_unlock(&e->lock);
		if (!jr_op_has_reply(sqe.op) || sqe.op == JR_OP_ACCEPT)
			continue;
		cqe = honest_reply(&sqe);
		post_and_kick(&e->r, &cqe, 1);
	}
	return NULL;
}

static int engine_start(struct fake_engine *e)
{
	e->stop = 0;
	if (pthread_create(&e->thread, NULL, engine_loop, e))
		return -EAGAIN;
	e->running = true;
	return 0;
}

/* The engine dies: its thread stops and its file is closed. */
static void engine_kill(struct fake_engine *e)
{
	if (e->running) {
		e->stop = 1;
		pthread_join(e->thread, NULL);
		e->running = false;
	}
	if (e->attached) {
		jr_region_destroy(&e->r);
		e->attached = false;
	}
}

/* Requests of op seen so far; for BIND, only those naming port. */
static int count_ops(struct fake_engine *e, uint16_t op, uint16_t port)
{
	int n = 0;

	pthread_mutex_lock(&e->lock);
	for (int i = 0; i < e->nr_log; i++)
		if (e->log[i].op == op &&
		    (!port || (op == JR_OP_BIND && e->log[i].u.addr.port == htons(port))))
			n++;
	pthread_mutex_unlock(&e->lock);
	return n;
}

/* Wait (up to 5 s) until the engine has seen at least n requests of op. */
static int await_ops(struct fake_engine *e, uint16_t op, uint16_t port, int n)
{
	struct timespec tick = { .tv_nsec = 1000000 };

	for (int i = 0; i < 5000; i++) {
		if (count_ops(e, op, port) >= n)
			return 0;
		nanosleep(&tick, NULL);
	}
	return -ETIMEDOUT;
}

/* Was the last SOCKET request this engine saw marked as a replay? */
static bool last_socket_replayed(struct fake_engine *e)
{
	bool replay = false;

	pthread_mutex_lock(&e->lock);
	for (int i = 0; i < e->nr_log; i++)
		if (e->log[i].op == JR_OP_SOCKET)
			replay = e->log[i].flags & JR_SQE_F_REPLAY;
	pthread_mutex_unlock(&e->lock);
	return replay;
}

/* A connection from the peer's port arrives on this engine. */
static int engine_connection(struct fake_engine *e, uint16_t peer_port)
{
	struct jr_cqe cqe;
	struct jr_sqe sqe;

	pthread_mutex_lock(&e->lock);
	if (!e->nr_accepts) {
		pthread_mutex_unlock(&e->lock);
		return -ENOENT;
	}
	sqe = e->accepts[0];
	memmove(e->accepts, e->accepts + 1, --e->nr_accepts * sizeof(sqe));
	pthread_mutex_unlock(&e->lock);
	cqe = reply_to(&sqe, 0);
	cqe.u.addr.family = AF_INET;
	cqe.u.addr.port = htons(peer_port);
	memcpy(cqe.u.addr.addr, &(uint32_t){ PEER_ADDR }, 4);
	return post_and_kick(&e->r, &cqe, 1);
}

/* Wait for ACCEPTs to be pre-posted on the engine. */
static int await_accepts(struct fake_engine *e)
{
	struct timespec tick = { .tv_nsec = 1000000 };

	for (int i = 0; i < 5000; i++) {
		pthread_mutex_lock(&e->lock);
		int n = e->nr_accepts;

		pthread_mutex_unlock(&e->lock);
		if (n)
			return 0;
		nanosleep(&tick, NULL);
	}
	return -ETIMEDOUT;
}

/*
 * The /proc/net/joyride line of the socket whose local (peer == false) or
 * peer address ends in :port, in state; its engine=N, or -1 if none.
 * *replicas gets its replicas=N (0 without).
 */
static int proc_engine(uint16_t port, bool peer, const char *state, int *replicas)
{
	FILE *f = fopen("/proc/net/joyride", "r");
	char line[512], want[16];
	int engine = -1;

	if (!f)
		return -1;
	snprintf(want, sizeof(want), ":%u", port);
	while (fgets(line, sizeof(line), f)) {
		char proto[8], st[16], local[64], remote[64];
		const char *addr = peer ? remote : local, *p;

		if (sscanf(line, "%7s %15s %*d %*d %*d %63s %63s", proto, st, local,
			   remote) != 4 || strcmp(st, state))
			continue;
		p = addr + strlen(addr) - strlen(want);
		if (p < addr || strcmp(p, want))
			continue;
		p = strstr(line, "engine=");
		engine = p ? atoi(p + 7) : -1;
		p = strstr(line, "replicas=");
		if (replicas)
			*replicas = p ? atoi(p + 9) : 0;
		break;
	}
	fclose(f);
	return engine;
}

/* The state /proc/net/joyride_engines gives engine index (or a standby: -1). */
static int engines_proc_state(int engine, char *state, size_t len)
{
	FILE *f = fopen("/proc/net/joyride_engines", "r");
	char line[256], idx[16], st[32];
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%15s %31s", idx, st) != 2 || !strcmp(idx, "Engine"))
			continue;
		if (engine < 0 ? strcmp(idx, "-") : atoi(idx) != engine || idx[0] == '-')
			continue;
		snprintf(state, len, "%s", st);
		found = 0;
		break;
	}
	fclose(f);
	return found;
}

static int listen_on(uint16_t port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = OWN_ADDR,
	};
	int fd = socket(AF_JOYRIDE, SOCK_STREAM, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 8)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* accept() a connection that is (or is about to be) queued. */
static int accept_within(int lfd, int ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return -ETIMEDOUT;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* A TCP socket connected to the peer; *engine says which engine made it. */
static int connected_socket(struct fake_engine *e, int nr, int *engine)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(80), .sin_addr.s_addr = PEER_ADDR,
	};
	int before[2], fd;

	for (int i = 0; i < nr; i++)
		before[i] = count_ops(&e[i], JR_OP_SOCKET, 0);
	fd = socket(AF_JOYRIDE, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	*engine = -1;
	for (int i = 0; i < nr; i++)
		if (count_ops(&e[i], JR_OP_SOCKET, 0) > before[i])
			*engine = i;
	if (connect(fd, (struct sockaddr *)&to, sizeof(to))) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int so_error(int fd)
{
	int err = -1;
	socklen_t len = sizeof(err);

	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	return err;
}

struct standby_waiter {
	struct fake_engine	*e;
	pthread_t		thread;
	volatile int		done;
	int			err;
};

static void *standby_wait_fn(void *arg)
{
	struct standby_waiter *w = arg;

	do
		w->err = jr_standby_wait(&w->e->r);
	while (w->err == -EINTR);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

FIXTURE(engines) {
	struct fake_engine e[2];
	struct fake_engine standby;
};

/*
 * Two engines serving at once.  Without JR_ATTACH_F_RECOVER an engine
 * takes no replay, so it serves from its attach on (the previous case's
 * engines left no sockets behind).
 */
FIXTURE_SETUP(engines)
{
	ASSERT_EQ(0, engine_attach(&self->e[0], 0, 0));
	ASSERT_EQ(0, engine_start(&self->e[0]));
	ASSERT_EQ(0, engine_attach(&self->e[1], 1, 0));
	ASSERT_EQ(0, engine_start(&self->e[1]));
}

FIXTURE_TEARDOWN(engines)
{
	engine_kill(&self->standby);
	engine_kill(&self->e[1]);
	engine_kill(&self->e[0]);
}

/* Each index once; a standby names none; only a standby waits. */
TEST_F(engines, attach_rules)
{
	struct fake_engine other;
	struct jr_attach a;

	EXPECT_EQ(0, self->e[0].r.params.engine);
	EXPECT_EQ(1, self->e[1].r.params.engine);
	EXPECT_EQ(2, self->e[1].r.params.nr_engines);
	EXPECT_NE(self->e[0].r.params.epoch, self->e[1].r.params.epoch);
	EXPECT_EQ(-EBUSY, engine_attach(&other, 1, 0));
	EXPECT_EQ(-EINVAL, engine_attach(&other, JR_MAX_ENGINES, 0));
	EXPECT_EQ(-EINVAL, engine_attach(&other, 3, JR_ATTACH_F_STANDBY));
	EXPECT_EQ(-1, ioctl(self->e[0].r.fd, JR_IOC_STANDBY_WAIT, &a));
	EXPECT_EQ(EINVAL, errno);

	char state[32];

	ASSERT_EQ(0, engines_proc_state(0, state, sizeof(state)));
	EXPECT_STREQ("live", state);
	ASSERT_EQ(0, engines_proc_state(1, state, sizeof(state)));
	EXPECT_STREQ("live", state);
	EXPECT_EQ(-ENOENT, engines_proc_state(-1, state, sizeof(state)));

	/* A parked standby has no engine to kick, and leaving changes nothing. */
	ASSERT_EQ(0, engine_attach(&self->standby, 0, JR_ATTACH_F_STANDBY));
	ASSERT_EQ(0, engines_proc_state(-1, state, sizeof(state)));
	EXPECT_STREQ("standby", state);
	EXPECT_EQ(JR_ATTACH_F_STANDBY, self->standby.r.params.flags);
	EXPECT_EQ(2, self->standby.r.params.nr_engines);
	EXPECT_EQ(-1, ioctl(self->standby.r.fd, JR_IOC_KICK));
	EXPECT_EQ(ENOTCONN, errno);
	engine_kill(&self->standby);
	EXPECT_EQ(-ENOENT, engines_proc_state(-1, state, sizeof(state)));
	int fd = socket(AF_JOYRIDE, SOCK_STREAM, 0);

	EXPECT_LE(0, fd);
	close(fd);
}

/* TCP sockets take turns; UDP sockets all go to engine 0 (RSS hashes TCP only). */
TEST_F(engines, tcp_spreads_udp_stays_on_engine_0)
{
	int tcp[8], udp[4], s0, s1;

	s0 = count_ops(&self->e[0], JR_OP_SOCKET, 0);
	s1 = count_ops(&self->e[1], JR_OP_SOCKET, 0);
	for (int i = 0; i < 8; i++)
		ASSERT_LE(0, tcp[i] = socket(AF_JOYRIDE, SOCK_STREAM, 0));
	EXPECT_EQ(s0 + 4, count_ops(&self->e[0], JR_OP_SOCKET, 0));
	EXPECT_EQ(s1 + 4, count_ops(&self->e[1], JR_OP_SOCKET, 0));
	for (int i = 0; i < 4; i++)
		ASSERT_LE(0, udp[i] = socket(AF_JOYRIDE, SOCK_DGRAM, 0));
	EXPECT_EQ(s0 + 8, count_ops(&self->e[0], JR_OP_SOCKET, 0));
	EXPECT_EQ(s1 + 4, count_ops(&self->e[1], JR_OP_SOCKET, 0));
	for (int i = 0; i < 8; i++)
		close(tcp[i]);
	for (int i = 0; i < 4; i++)
		close(udp[i]);
	EXPECT_EQ(0, await_ops(&self->e[1], JR_OP_CLOSE, 0, 4));
	EXPECT_EQ(0, await_ops(&self->e[0], JR_OP_CLOSE, 0, 8));
}

/*
 * listen() makes the socket listen on every engine: the other engine gets
 * the replica (SOCKET marked replay, BIND to the same port, LISTEN), and
 * a connection that arrives on either is accepted, on that engine.
 */
TEST_F(engines, listener_on_every_engine_accepts_on_each)
{
	int lfd, c0, c1, replicas = -1;
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);

	ASSERT_LE(0, lfd = listen_on(7000));
	ASSERT_EQ(0, await_ops(&self->e[0], JR_OP_LISTEN, 0, 1));
	ASSERT_EQ(0, await_ops(&self->e[1], JR_OP_LISTEN, 0, 1));
	EXPECT_EQ(1, count_ops(&self->e[0], JR_OP_BIND, 7000));
	EXPECT_EQ(1, count_ops(&self->e[1], JR_OP_BIND, 7000));
	/* One line, the application's socket, saying where its replica is. */
	EXPECT_LE(0, proc_engine(7000, false, "LISTEN", &replicas));
	EXPECT_EQ(1, replicas);

	ASSERT_EQ(0, await_accepts(&self->e[1]));
	ASSERT_EQ(0, engine_connection(&self->e[1], 40001));
	ASSERT_LE(0, c1 = accept_within(lfd, 5000));
	ASSERT_EQ(0, getpeername(c1, (struct sockaddr *)&peer, &len));
	EXPECT_EQ(htons(40001), peer.sin_port);
	EXPECT_EQ(1, proc_engine(40001, true, "ESTAB", NULL));

	ASSERT_EQ(0, await_accepts(&self->e[0]));
	ASSERT_EQ(0, engine_connection(&self->e[0], 40002));
	ASSERT_LE(0, c0 = accept_within(lfd, 5000));
	EXPECT_EQ(0, proc_engine(40002, true, "ESTAB", NULL));

	/* Closing the listener closes it on both engines. */
	int closes0 = count_ops(&self->e[0], JR_OP_CLOSE, 0);
	int closes1 = count_ops(&self->e[1], JR_OP_CLOSE, 0);

	close(lfd);
	EXPECT_EQ(0, await_ops(&self->e[0], JR_OP_CLOSE, 0, closes0 + 1));
	EXPECT_EQ(0, await_ops(&self->e[1], JR_OP_CLOSE, 0, closes1 + 1));
	EXPECT_EQ(-1, proc_engine(7000, false, "LISTEN", NULL));
	close(c0);
	close(c1);
}

/*
 * Engine 1 dies with a standby parked: the standby takes index 1 and gets
 * the replica replayed; engine 1's connection resets, engine 0's carries
 * on, and new sockets go to engine 0 and the standby in turn.
 */
TEST_F(engines, standby_takes_a_dead_engines_place)
{
	struct standby_waiter w = { .e = &self->standby };
	int lfd, conn[2], eng[2], on0, on1, fd, s0, s1;
	struct jr_attach again;

	ASSERT_EQ(0, engine_attach(&self->standby, 0,
				   JR_ATTACH_F_STANDBY | JR_ATTACH_F_RECOVER));
	ASSERT_EQ(0, pthread_create(&w.thread, NULL, standby_wait_fn, &w));
	ASSERT_LE(0, lfd = listen_on(7001));
	ASSERT_EQ(0, await_ops(&self->e[1], JR_OP_LISTEN, 0, 1));
	for (int i = 0; i < 2; i++)
		ASSERT_LE(0, conn[i] = connected_socket(self->e, 2, &eng[i]));
	ASSERT_NE(eng[0], eng[1]);
	on0 = eng[0] == 0 ? conn[0] : conn[1];
	on1 = eng[0] == 1 ? conn[0] : conn[1];
	/* The standby is still parked: nothing has died. */
	EXPECT_EQ(0, __atomic_load_n(&w.done, __ATOMIC_ACQUIRE));

	engine_kill(&self->e[1]);
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	ASSERT_EQ(0, w.err);
	EXPECT_EQ(1, self->standby.r.params.engine);
	EXPECT_TRUE(self->standby.r.params.flags & JR_ATTACH_F_RECOVERING);
	ASSERT_EQ(0, engine_start(&self->standby));
	/* The replay: the listener's replica, then the end of recovery. */
	ASSERT_EQ(0, await_ops(&self->standby, JR_OP_REPLAY_DONE, 0, 1));
	EXPECT_EQ(1, count_ops(&self->standby, JR_OP_BIND, 7001));
	EXPECT_EQ(1, count_ops(&self->standby, JR_OP_LISTEN, 0));
	EXPECT_TRUE(last_socket_replayed(&self->standby));

	/* Engine 1's connection died with it; engine 0's did not. */
	EXPECT_EQ(ECONNRESET, so_error(on1));
	EXPECT_EQ(0, so_error(on0));
	int tx = count_ops(&self->e[0], JR_OP_TX, 0);

	EXPECT_EQ(1, send(on0, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(0, await_ops(&self->e[0], JR_OP_TX, 0, tx + 1));

	/* The standby is engine 1 now: it accepts and takes new sockets. */
	ASSERT_EQ(0, await_accepts(&self->standby));
	ASSERT_EQ(0, engine_connection(&self->standby, 40003));
	ASSERT_LE(0, fd = accept_within(lfd, 5000));
	EXPECT_EQ(1, proc_engine(40003, true, "ESTAB", NULL));
	close(fd);
	s0 = count_ops(&self->e[0], JR_OP_SOCKET, 0);
	s1 = count_ops(&self->standby, JR_OP_SOCKET, 0);
	int a = socket(AF_JOYRIDE, SOCK_STREAM, 0), b = socket(AF_JOYRIDE, SOCK_STREAM, 0);

	EXPECT_LE(0, a);
	EXPECT_LE(0, b);
	EXPECT_EQ(s0 + 1, count_ops(&self->e[0], JR_OP_SOCKET, 0));
	EXPECT_EQ(s1 + 1, count_ops(&self->standby, JR_OP_SOCKET, 0));
	close(a);
	close(b);

	/* Waiting again returns at once: it serves. */
	ASSERT_EQ(0, ioctl(self->standby.r.fd, JR_IOC_STANDBY_WAIT, &again));
	EXPECT_EQ(1, again.engine);
	close(on0);
	close(on1);
	close(lfd);
}

/*
 * An engine that attaches while a listener exists gets a replica of it:
 * engine 1 dies with no standby (new sockets go to engine 0 meanwhile, the
 * listener among them), and a fresh engine 1 gets the listener and
 * accepts.
 */
TEST_F(engines, a_new_engine_gets_the_listeners)
{
	int lfd, fd, s0, replicas = -1;

	engine_kill(&self->e[1]);
	char state[32];

	ASSERT_EQ(0, engines_proc_state(1, state, sizeof(state)));
	EXPECT_STREQ("awaited", state);
	s0 = count_ops(&self->e[0], JR_OP_SOCKET, 0);
	int a = socket(AF_JOYRIDE, SOCK_STREAM, 0);

	EXPECT_LE(0, a);
	close(a);
	ASSERT_LE(0, lfd = listen_on(7002));
	EXPECT_EQ(s0 + 2, count_ops(&self->e[0], JR_OP_SOCKET, 0));
	EXPECT_EQ(0, proc_engine(7002, false, "LISTEN", &replicas));
	EXPECT_EQ(0, replicas);

	ASSERT_EQ(0, engine_attach(&self->e[1], 1, 0));
	EXPECT_FALSE(self->e[1].r.params.flags & JR_ATTACH_F_RECOVERING);
	ASSERT_EQ(0, engine_start(&self->e[1]));
	ASSERT_EQ(0, await_ops(&self->e[1], JR_OP_LISTEN, 0, 1));
	EXPECT_EQ(1, count_ops(&self->e[1], JR_OP_BIND, 7002));
	EXPECT_TRUE(last_socket_replayed(&self->e[1]));
	ASSERT_EQ(0, await_accepts(&self->e[1]));
	ASSERT_EQ(0, engine_connection(&self->e[1], 40004));
	ASSERT_LE(0, fd = accept_within(lfd, 5000));
	EXPECT_EQ(1, proc_engine(40004, true, "ESTAB", NULL));
	EXPECT_EQ(0, proc_engine(7002, false, "LISTEN", &replicas));
	EXPECT_EQ(1, replicas);
	close(fd);
	close(lfd);
}

/*
 * An engine process killed with SIGKILL: the kernel hears of it when the
 * process's address space goes (before its files close) and the parked
 * standby takes its index, as with a closed file.
 */
TEST_F(engines, a_killed_engine_process_is_replaced)
{
	struct standby_waiter w = { .e = &self->standby };
	int lfd, status, pipefd[2];
	pid_t child;
	char c;

	engine_kill(&self->e[1]);
	ASSERT_EQ(0, pipe(pipefd));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		struct fake_engine *e = &self->e[1];

		if (engine_attach(e, 1, JR_ATTACH_F_RECOVER) || engine_start(e))
			_exit(1);
		if (write(pipefd[1], "a", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	ASSERT_EQ(0, engine_attach(&self->standby, 0,
				   JR_ATTACH_F_STANDBY | JR_ATTACH_F_RECOVER));
	ASSERT_EQ(0, pthread_create(&w.thread, NULL, standby_wait_fn, &w));
	ASSERT_LE(0, lfd = listen_on(7003));

	ASSERT_EQ(0, kill(child, SIGKILL));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	ASSERT_EQ(0, w.err);
	EXPECT_EQ(1, self->standby.r.params.engine);
	ASSERT_EQ(0, engine_start(&self->standby));
	ASSERT_EQ(0, await_ops(&self->standby, JR_OP_REPLAY_DONE, 0, 1));
	EXPECT_EQ(1, count_ops(&self->standby, JR_OP_BIND, 7003));
	close(lfd);
	close(pipefd[0]);
	close(pipefd[1]);
}

TEST_HARNESS_MAIN
