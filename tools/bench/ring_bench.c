// SPDX-License-Identifier: GPL-2.0
/*
 * jr-ring-bench: what the shared-memory rings buy over the kernel's own
 * IPC for 64-byte messages between two threads, pinned to two CPUs.
 *
 *   one-way  the sender streams, the receiver counts.  On the rings the
 *            sender writes as many entries as there is room for and
 *            publishes them with one index store: batching is the point.
 *            Sockets and pipes pay a system call per message.
 *   rr       request/response ping-pong, one message in flight; on the
 *            rings both sides busy-poll (SQ one way, CQ back).
 *
 * Each case runs JR_BENCH_SECONDS (default 2).  Receivers check every
 * message's sequence number, so a fast but wrong ring does not win.  The
 * last line is the headline, in a fixed format for scripts:
 *   ring: <msgs/s> msgs/s, <x>x socketpair
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jr/libjr.h>

#define MSG_SIZE	64
#define END_TAG		UINT64_MAX	/* the sender's last message */
#define RING_ENTRIES	JR_DEFAULT_SQ_ENTRIES
#define RING_BATCH	256		/* at most this many entries per publish */

_Static_assert(sizeof(struct jr_sqe) == MSG_SIZE, "an SQE is one message");
_Static_assert(sizeof(struct jr_cqe) == MSG_SIZE, "a CQE is one message");

/* One run of one case: shared by the two threads and main. */
struct bench {
	atomic_bool		stop;
	pthread_barrier_t	start;
	double			t_start, t_end;		/* main / the receiver */
	unsigned long long	count;			/* messages or round trips */
	unsigned long long	errors;			/* out of sequence */
	__u64			sink;			/* keeps the reads real */
	/* transport */
	struct jr_region	owner, server;
	int			fd[4];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static bool stopped(struct bench *b)
{
	return atomic_load_explicit(&b->stop, memory_order_relaxed);
}

/* The receiver reads every byte of a message, as a real consumer would. */
static inline __u64 fold(const void *msg)
{
	__u64 w[MSG_SIZE / 8], x = 0;

	memcpy(w, msg, sizeof(w));
	for (size_t i = 0; i < MSG_SIZE / 8; i++)
		x ^= w[i];
	return x;
}

static void receiver_done(struct bench *b, unsigned long long count)
{
	b->t_end = now();
	b->count = count;
}

/* --- rings ------------------------------------------------------------- */

static void *ring_oneway_send(void *arg)
{
	struct bench *b = arg;
	struct jr_ring *sq = &b->owner.sq;
	struct jr_sqe msg = { .op = JR_OP_TX };
	__u64 seq = 0;

	memset(msg.u.raw, 0x5a, sizeof(msg.u.raw));	/* a payload to carry */

	pthread_barrier_wait(&b->start);
	for (;;) {
		bool last = stopped(b);
		int space = jr_ring_space(sq, 1);
		__u32 n;

		if (space <= 0) {
			cpu_relax();
			continue;
		}
		n = last ? 1 : space < RING_BATCH ? space : RING_BATCH;
		for (__u32 i = 0; i < n; i++) {
			msg.tag = last ? END_TAG : seq++;
			memcpy(jr_ring_entry(sq, sq->own + i), &msg, sizeof(msg));
		}
		/* One release store publishes the whole batch. */
		jr_ring_produce(sq, n);
		if (last)
			return NULL;
	}
}

static void *ring_oneway_recv(void *arg)
{
	struct bench *b = arg;
	struct jr_ring *sq = &b->server.sq;
	__u64 expect = 0, sum = 0;

	pthread_barrier_wait(&b->start);
	for (;;) {
		int ready = jr_ring_ready(sq);

		if (ready <= 0) {
			b->errors += ready < 0;
			cpu_relax();
			continue;
		}
		for (int i = 0; i < ready; i++) {
			struct jr_sqe msg;

			memcpy(&msg, jr_ring_entry(sq, sq->own + i), sizeof(msg));
			if (msg.tag == END_TAG) {
				jr_ring_consume(sq, i + 1);
				b->sink = sum;
				receiver_done(b, expect);
				return NULL;
			}
			sum += fold(&msg);
			b->errors += msg.tag != expect++;
		}
		jr_ring_consume(sq, ready);
	}
}

static void *ring_rr_client(void *arg)
{
	struct bench *b = arg;
	struct jr_region *r = &b->owner;
	struct jr_sqe req = { .op = JR_OP_GETNAME };
	__u64 seq = 0;

	pthread_barrier_wait(&b->start);
	for (;;) {
		struct jr_cqe reply;
		bool last = stopped(b);

		req.tag = last ? END_TAG : seq;
		while (jr_owner_post(r, &req))
			cpu_relax();
		if (last) {
			receiver_done(b, seq);
			return NULL;
		}
		while (jr_ring_ready(&r->cq) <= 0)
			cpu_relax();
		memcpy(&reply, jr_ring_entry(&r->cq, r->cq.own), sizeof(reply));
		jr_ring_consume(&r->cq, 1);
		b->errors += reply.tag != seq++;
	}
}

static void *ring_rr_server(void *arg)
{
	struct bench *b = arg;
	struct jr_region *r = &b->server;
	struct jr_cqe reply = { .op = JR_OP_GETNAME };

	pthread_barrier_wait(&b->start);
	for (;;) {
		struct jr_sqe req;

		while (jr_ring_ready(&r->sq) <= 0)
			cpu_relax();
		memcpy(&req, jr_ring_entry(&r->sq, r->sq.own), sizeof(req));
		jr_ring_consume(&r->sq, 1);
		if (req.tag == END_TAG)
			return NULL;
		reply.tag = req.tag;
		while (jr_server_post(r, &reply))
			cpu_relax();
	}
}

static int ring_setup(struct bench *b)
{
	struct jr_attach req;
	int err;

	jr_attach_defaults(&req);
	req.sq_entries = RING_ENTRIES;
	req.cq_entries = RING_ENTRIES;
	req.nr_slots = JR_SLOTS_MIN;
	req.rx_buf_size = req.tx_buf_size = JR_BUF_MIN;
	err = jr_region_create_local(&req, &b->owner);
	if (!err)
		err = jr_region_server_view(&b->owner, &b->server);
	return err;
}

static void ring_teardown(struct bench *b)
{
	jr_region_destroy(&b->server);
	jr_region_destroy(&b->owner);
}

/* --- sockets and pipes: one system call per message --------------------- */

static bool write_msg(int fd, const void *buf)
{
	return write(fd, buf, MSG_SIZE) == MSG_SIZE;
}

/* Pipes are byte streams: a read may in principle return less. */
static bool read_msg(int fd, void *buf)
{
	size_t got = 0;

	while (got < MSG_SIZE) {
		ssize_t n = read(fd, (char *)buf + got, MSG_SIZE - got);

		if (n <= 0)
			return false;
		got += n;
	}
	return true;
}

/* fd[0]: sender's end, fd[1]: receiver's end. */
static void *fd_oneway_send(void *arg)
{
	struct bench *b = arg;
	unsigned char msg[MSG_SIZE] = { 0 };
	__u64 seq = 0;

	pthread_barrier_wait(&b->start);
	while (!stopped(b)) {
		memcpy(msg, &seq, sizeof(seq));
		seq++;
		if (!write_msg(b->fd[0], msg))
			break;
	}
	close(b->fd[0]);		/* end of stream */
	b->fd[0] = -1;
	return NULL;
}

static void *fd_oneway_recv(void *arg)
{
	struct bench *b = arg;
	unsigned char msg[MSG_SIZE];
	__u64 expect = 0, seq, sum = 0;

	pthread_barrier_wait(&b->start);
	while (read_msg(b->fd[1], msg)) {
		memcpy(&seq, msg, sizeof(seq));
		sum += fold(msg);
		b->errors += seq != expect++;
	}
	b->sink = sum;
	receiver_done(b, expect);
	return NULL;
}

/* fd[0]/fd[1]: client writes / reads; fd[2]/fd[3]: server reads / writes. */
static void *fd_rr_client(void *arg)
{
	struct bench *b = arg;
	unsigned char msg[MSG_SIZE] = { 0 };
	__u64 seq = 0, got;

	pthread_barrier_wait(&b->start);
	while (!stopped(b)) {
		memcpy(msg, &seq, sizeof(seq));
		if (!write_msg(b->fd[0], msg) || !read_msg(b->fd[1], msg))
			break;
		memcpy(&got, msg, sizeof(got));
		b->errors += got != seq++;
	}
	receiver_done(b, seq);
	/* End of stream for the server; a pipe has no half-close. */
	if (shutdown(b->fd[0], SHUT_WR)) {
		close(b->fd[0]);
		b->fd[0] = -1;
	}
	return NULL;
}

static void *fd_rr_server(void *arg)
{
	struct bench *b = arg;
	unsigned char msg[MSG_SIZE];

	pthread_barrier_wait(&b->start);
	while (read_msg(b->fd[2], msg))
		if (!write_msg(b->fd[3], msg))
			break;
	return NULL;
}

enum transport { T_RING, T_SOCKETPAIR, T_PIPE };

static int fd_setup(struct bench *b, enum transport t, bool rr)
{
	int a[2], c[2];

	if (t == T_SOCKETPAIR) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, a))
			return -errno;
		/* One connected pair carries both directions. */
		b->fd[0] = a[0];	/* client / sender */
		b->fd[1] = rr ? a[0] : a[1];
		b->fd[2] = a[1];	/* server */
		b->fd[3] = a[1];
		return 0;
	}
	if (pipe2(a, O_CLOEXEC))
		return -errno;
	if (!rr) {
		b->fd[0] = a[1];
		b->fd[1] = a[0];
		b->fd[2] = b->fd[3] = -1;
		return 0;
	}
	if (pipe2(c, O_CLOEXEC)) {
		close(a[0]);
		close(a[1]);
		return -errno;
	}
	b->fd[0] = a[1];		/* client writes requests */
	b->fd[2] = a[0];		/* server reads them */
	b->fd[3] = c[1];		/* server writes replies */
	b->fd[1] = c[0];		/* client reads them */
	return 0;
}

static void fd_teardown(struct bench *b)
{
	for (int i = 0; i < 4; i++) {
		bool dup = false;

		for (int j = 0; j < i; j++)
			dup |= b->fd[j] == b->fd[i];
		if (b->fd[i] >= 0 && !dup)
			close(b->fd[i]);
	}
}

/* --- running a case ---------------------------------------------------- */

static int cpus[2] = { -1, -1 };

static void pick_cpus(void)
{
	cpu_set_t set;
	int found = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++)
		if (CPU_ISSET(cpu, &set))
			cpus[found++] = cpu;
	if (found < 2)
		cpus[0] = cpus[1] = -1;
}

static int start_pinned(pthread_t *t, void *(*fn)(void *), void *arg, int cpu)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int err;

	pthread_attr_init(&attr);
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	err = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return -err;
}

struct result {
	double		rate;
	bool		ok;
};

static struct result run_case(enum transport t, bool rr, double seconds)
{
	static void *(*const fns[3][2][2])(void *) = {
		[T_RING] = { { ring_oneway_send, ring_oneway_recv },
			     { ring_rr_client, ring_rr_server } },
		[T_SOCKETPAIR] = { { fd_oneway_send, fd_oneway_recv },
				   { fd_rr_client, fd_rr_server } },
		[T_PIPE] = { { fd_oneway_send, fd_oneway_recv },
			     { fd_rr_client, fd_rr_server } },
	};
	struct result res = { 0, false };
	struct bench *b = calloc(1, sizeof(*b));
	struct timespec nap;
	pthread_t th[2];
	int err;

	if (!b)
		return res;
	for (int i = 0; i < 4; i++)
		b->fd[i] = -1;
	err = t == T_RING ? ring_setup(b) : fd_setup(b, t, rr);
	if (err) {
		fprintf(stderr, "jr-ring-bench: setup: %s\n", strerror(-err));
		free(b);
		return res;
	}
	pthread_barrier_init(&b->start, NULL, 3);
	if (start_pinned(&th[0], fns[t][rr][0], b, cpus[0]) ||
	    start_pinned(&th[1], fns[t][rr][1], b, cpus[1])) {
		fprintf(stderr, "jr-ring-bench: cannot start threads\n");
		exit(1);
	}
	pthread_barrier_wait(&b->start);
	b->t_start = now();
	nap.tv_sec = (time_t)seconds;
	nap.tv_nsec = (long)((seconds - nap.tv_sec) * 1e9);
	nanosleep(&nap, NULL);
	atomic_store(&b->stop, true);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);

	res.rate = b->count / (b->t_end - b->t_start);
	res.ok = !b->errors && b->count > 0;
	if (b->errors)
		fprintf(stderr, "jr-ring-bench: %llu messages out of sequence\n", b->errors);
	if (t == T_RING)
		ring_teardown(b);
	else
		fd_teardown(b);
	pthread_barrier_destroy(&b->start);
	free(b);
	return res;
}

int main(void)
{
	static const char *const names[] = { "ring", "socketpair", "pipe" };
	const char *env = getenv("JR_BENCH_SECONDS");
	double seconds = env ? strtod(env, NULL) : 2.0;
	struct result oneway[3], rr[3];
	bool ok = true;

	if (!(seconds > 0) || seconds > 600) {
		fprintf(stderr, "jr-ring-bench: JR_BENCH_SECONDS must be in (0, 600]\n");
		return 2;
	}
	pick_cpus();
	printf("jr-ring-bench: %d-byte messages, %.2g s per case, ", MSG_SIZE, seconds);
	if (cpus[0] >= 0)
		printf("threads pinned to CPUs %d and %d\n", cpus[0], cpus[1]);
	else
		printf("threads not pinned (fewer than two CPUs available)\n");
	printf("(socketpair: AF_UNIX SOCK_SEQPACKET; one syscall per message on sockets and pipes)\n\n");

	for (int t = T_RING; t <= T_PIPE; t++) {
		oneway[t] = run_case(t, false, seconds);
		rr[t] = run_case(t, true, seconds);
		ok &= oneway[t].ok && rr[t].ok;
	}

	printf("%-12s %16s %10s %18s %10s\n", "transport", "one-way msgs/s", "vs sockp",
	       "rr round-trips/s", "vs sockp");
	for (int t = T_RING; t <= T_PIPE; t++)
		printf("%-12s %16.0f %9.1fx %18.0f %9.1fx\n", names[t], oneway[t].rate,
		       oneway[t].rate / oneway[T_SOCKETPAIR].rate, rr[t].rate,
		       rr[t].rate / rr[T_SOCKETPAIR].rate);
	printf("\nring: %.0f msgs/s, %.1fx socketpair\n", oneway[T_RING].rate,
	       oneway[T_RING].rate / oneway[T_SOCKETPAIR].rate);
	return ok ? 0 : 1;
}
