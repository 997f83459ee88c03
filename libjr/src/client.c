// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The client library: the kernel's half of the ABI, in a process.
 *
 * The process owns a user-frontend region: it allocates slots, posts
 * requests with tags, consumes replies and events, and copies payload into
 * and out of the slots' byte rings, exactly as joyride.ko does for
 * AF_JOYRIDE sockets.  The netserver is not trusted here either: every CQE
 * is validated on a private copy, and ring positions are checked.
 *
 * Waiting spins briefly on the CQ (cheap when the netserver is busy), then
 * flags NEED_WAKEUP and sleeps on the CQ doorbell eventfd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "jr/jr_client.h"
#include "jr/jr_sockaddr.h"
#include "jr/libjr.h"

#define CLIENT_ACCEPT_PREPOST	8	/* ACCEPTs kept posted per listener */
#define CLIENT_SPIN_NS		50000
#define CLIENT_CLOSE_WAIT_NS	(5 * 1000000000ull)	/* jr_client_close() */

enum csock_state {
	CS_FREE,
	CS_OPEN,
	CS_LISTEN,
	CS_CONNECTING,
	CS_CONNECTED,
	CS_ACCEPT_POSTED,	/* child slot named in an outstanding ACCEPT */
	CS_ACCEPT_READY,	/* accepted, waiting in the listener's queue */
	CS_CLOSING,		/* CLOSE posted; slot reusable after its reply */
};

struct csock {
	enum csock_state	state;
	int			type;
	uint32_t		gen;
	/* The one outstanding request that has a reply. */
	uint64_t		tag;
	uint16_t		op;
	bool			done;
	int			res;
	struct jr_cqe		reply;
	/* Our own ring positions (never read back from shared memory). */
	uint32_t		rx_cons;
	uint32_t		rx_cons_told;	/* in the last RX_SPACE */
	uint32_t		tx_prod;
	uint32_t		rx_prod_seen;	/* validated server position */
	uint32_t		tx_cons_seen;
	bool			rx_fin;
	bool			shut_rd, shut_wr;
	bool			connect_failed;	/* a CONNECT's reply was an error */
	bool			connect_seen;	/* its outcome was reported */
	int			err;		/* pending error (reset) */
	struct sockaddr_in	local, peer;
	struct in_addr		bound_ip;	/* what bind() named */
	uint64_t		tx_bytes, rx_bytes;	/* through the rings */
	/* Listener: accepted children in arrival order. */
	int			acceptq[64];
	unsigned int		acceptq_head, acceptq_nr;
	unsigned int		accepts_posted;
	int			backlog;
	int			listener;	/* for a child: its listener */
};

struct jr_client {
	struct jr_region	r;
	struct csock		*socks;
	uint64_t		next_tag;
	int			*free_slots;
	unsigned int		nr_free;
	bool			broken;		/* the netserver misbehaved or left */
	size_t			shared_size;	/* JR_CLIENT_SHARED: the mapping */
	jr_client_notify_fn	notify;
	void			*notify_arg;
	jr_client_wait_fn	wait;
	void			*wait_arg;
};

static struct csock *csock(struct jr_client *c, int sd)
{
	if (sd < 0 || (uint32_t)sd >= c->r.params.nr_slots)
		return NULL;
	if (c->socks[sd].state == CS_FREE || c->socks[sd].state == CS_CLOSING)
		return NULL;
	return &c->socks[sd];
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ CQ side */

static int post(struct jr_client *c, struct jr_sqe *sqe);
static void post_accept(struct jr_client *c, int listener);

static void slot_release(struct jr_client *c, int sd)
{
	c->socks[sd].state = CS_FREE;
	c->free_slots[c->nr_free++] = sd;
}

static void handle_reply(struct jr_client *c, const struct jr_cqe *cqe)
{
	struct csock *s = &c->socks[cqe->slot];

	if (!s->op || s->tag != cqe->tag || s->op != cqe->op)
		return;		/* stale or forged: nobody waits for it */
	s->op = 0;
	s->done = true;
	s->res = cqe->res;
	s->reply = *cqe;

	switch (cqe->op) {
	case JR_OP_CLOSE:
		slot_release(c, (int)cqe->slot);
		break;
	case JR_OP_ACCEPT: {
		struct csock *l = &c->socks[s->listener];

		s->done = false;
		l->accepts_posted--;
		if (cqe->res < 0 || l->state != CS_LISTEN ||
		    l->acceptq_nr == sizeof(l->acceptq) / sizeof(l->acceptq[0])) {
			/* The listener went away: close the child quietly. */
			struct jr_sqe close = {
				.op = JR_OP_CLOSE, .slot = cqe->slot, .slot_gen = s->gen,
			};

			if (cqe->res < 0) {
				slot_release(c, (int)cqe->slot);
			} else {
				s->state = CS_CLOSING;
				close.tag = s->tag = ++c->next_tag;
				s->op = JR_OP_CLOSE;
				post(c, &close);
			}
			break;
		}
		s->state = CS_ACCEPT_READY;
		s->type = SOCK_STREAM;
		if (c->notify)
			c->notify(c->notify_arg, s->listener);
		jr_sockaddr_to_sin(&cqe->u.addr, &s->peer);
		s->local = l->local;
		l->acceptq[(l->acceptq_head + l->acceptq_nr++) %
			   (sizeof(l->acceptq) / sizeof(l->acceptq[0]))] = (int)cqe->slot;
		break;
	}
	case JR_OP_CONNECT:
		if (cqe->res == 0) {
			s->state = CS_CONNECTED;
			jr_sockaddr_to_sin(&cqe->u.addr, &s->local);
		} else if (s->type == SOCK_STREAM) {
			s->state = CS_OPEN;
			s->err = -cqe->res;
			s->connect_failed = true;
		}
		break;
	case JR_OP_BIND:
		if (cqe->res == 0)
			jr_sockaddr_to_sin(&cqe->u.addr, &s->local);
		break;
	default:
		break;
	}
}

static void handle_event(struct jr_client *c, const struct jr_cqe *cqe)
{
	struct csock *s = &c->socks[cqe->slot];

	if (s->state == CS_FREE || s->gen != cqe->slot_gen)
		return;		/* an old socket's event */
	switch (cqe->op) {
	case JR_EV_RX_FIN:
		s->rx_fin = true;
		break;
	case JR_EV_RESET:
		s->err = -cqe->res;
		s->rx_fin = true;
		/* Sticky, unlike err (which recv() reports once): every
		 * later send() fails with EPIPE, as on Linux. */
		s->shut_wr = true;
		break;
	case JR_EV_ERROR:
		s->err = -cqe->res;
		break;
	default:
		/* RX, TX_SPACE, ACCEPTABLE: readiness is read from the rings
		 * and queues themselves when needed. */
		break;
	}
}

/* Consume every available CQE.  Returns how many, or -EIO. */
static int process_cq(struct jr_client *c)
{
	struct jr_cqe cqe;
	int ready, i;

	if (c->broken)
		return -EIO;
	ready = jr_ring_ready(&c->r.cq);
	if (ready < 0) {
		c->broken = true;
		return -EIO;
	}
	for (i = 0; i < ready; i++) {
		memcpy(&cqe, jr_ring_entry(&c->r.cq, c->r.cq.own + i), sizeof(cqe));
		if (jr_validate_cqe(&cqe, &c->r.limits))
			continue;	/* counted as the kernel would */
		if (cqe.flags & JR_CQE_F_EVENT)
			handle_event(c, &cqe);
		else
			handle_reply(c, &cqe);
		if (c->notify)
			c->notify(c->notify_arg, (int)cqe.slot);
	}
	jr_ring_consume(&c->r.cq, (uint32_t)i);
	return ready;
}

/*
 * Wait for anything on the CQ, at most timeout_ms (< 0: forever).
 * Returns 0, -ETIMEDOUT, or -EIO if the netserver went away.
 */
static int wait_cq(struct jr_client *c, int timeout_ms)
{
	uint64_t start = now_ns();
	struct pollfd pfd[2] = {
		{ .fd = c->r.cq_eventfd, .events = POLLIN },
		{ .fd = c->r.conn_fd, .events = POLLIN },
	};
	int ret;

	for (;;) {
		ret = process_cq(c);
		if (ret)
			return ret < 0 ? ret : 0;
		if (now_ns() - start < CLIENT_SPIN_NS)
			continue;
		if (jr_ring_prepare_sleep(&c->r.cq)) {
			jr_ring_finish_sleep(&c->r.cq);
			continue;
		}
		ret = poll(pfd, 2, timeout_ms);
		jr_ring_finish_sleep(&c->r.cq);
		if (pfd[0].revents & POLLIN) {
			uint64_t v;

			if (read(c->r.cq_eventfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return -errno;
		}
		if (pfd[1].revents) {
			process_cq(c);
			c->broken = true;
			return -EIO;
		}
		if (ret == 0)
			return process_cq(c) > 0 ? 0 : -ETIMEDOUT;
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (timeout_ms >= 0) {
			uint64_t spent = (now_ns() - start) / 1000000;

			if (spent >= (uint64_t)timeout_ms)
				return process_cq(c) > 0 ? 0 : -ETIMEDOUT;
		}
	}
}

/* ------------------------------------------------------------ SQ side */

static int post(struct jr_client *c, struct jr_sqe *sqe)
{
	int err;

	if (c->broken)
		return -EIO;
	while ((err = jr_owner_post(&c->r, sqe)) == -EAGAIN) {
		/* SQ full: the netserver is behind; let it catch up. */
		jr_owner_doorbell(&c->r);
		err = c->wait ? c->wait(c->wait_arg, -1) : wait_cq(c, 10);
		if (err && err != -ETIMEDOUT)
			return err;
	}
	if (err)
		return err;
	return jr_owner_doorbell(&c->r);
}

/* Post a request on s and wait for its reply. */
static int call(struct jr_client *c, int sd, struct jr_sqe *sqe)
{
	struct csock *s = &c->socks[sd];
	int err;

	sqe->slot = (uint32_t)sd;
	sqe->slot_gen = s->gen;
	sqe->tag = s->tag = ++c->next_tag;
	s->op = sqe->op;
	s->done = false;
	err = post(c, sqe);
	if (err)
		return err;
	while (!s->done) {
		err = c->wait ? c->wait(c->wait_arg, sd) : wait_cq(c, -1);
		if (err)
			return err;
	}
	s->done = false;
	return s->res;
}

static void post_notify_flags(struct jr_client *c, int sd, uint16_t op, uint16_t flags)
{
	struct jr_sqe sqe = {
		.op = op, .flags = flags, .slot = (uint32_t)sd, .slot_gen = c->socks[sd].gen,
	};

	post(c, &sqe);
}

static void post_notify(struct jr_client *c, int sd, uint16_t op)
{
	post_notify_flags(c, sd, op, 0);
}

static int slot_alloc(struct jr_client *c)
{
	uint32_t gen;
	int sd;

	if (!c->nr_free) {
		/* Slots closing may come back with the next replies. */
		process_cq(c);
		if (!c->nr_free)
			return -EMFILE;
	}
	sd = c->free_slots[--c->nr_free];
	/* A new generation, so events for the slot's last socket are ignored. */
	gen = c->socks[sd].gen + 1;
	memset(&c->socks[sd], 0, sizeof(c->socks[sd]));
	c->socks[sd].gen = gen ? gen : 1;
	/* Each side resets the ring counters it owns when a slot is made. */
	jr_store_release(&c->r.slots[sd].rx_cons, 0);
	jr_store_release(&c->r.slots[sd].tx_prod, 0);
	return sd;
}

static bool closes_pending(const struct jr_client *c)
{
	for (uint32_t i = 0; i < c->r.params.nr_slots; i++)
		if (c->socks[i].state == CS_CLOSING)
			return true;
	return false;
}

/* ------------------------------------------------------------- public */

int jr_client_open_flags(const char *path, unsigned int flags,
			 struct jr_client **out)
{
	struct jr_region r;
	struct jr_client *c;
	size_t size;
	char *mem;
	int err;

	if (flags & ~JR_CLIENT_SHARED)
		return -EINVAL;
	err = jr_ufront_connect(path, 0, 0, &r);
	if (err)
		return err;
	/* One allocation: with JR_CLIENT_SHARED it is a shared mapping, so
	 * that a fork()ed child sees the same sockets (the region itself is
	 * a MAP_SHARED memfd already). */
	size = sizeof(*c) + r.params.nr_slots * (sizeof(*c->socks) + sizeof(*c->free_slots));
	if (flags & JR_CLIENT_SHARED) {
		mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			mem = NULL;
	} else {
		mem = calloc(1, size);
	}
	if (!mem) {
		jr_region_destroy(&r);
		return -ENOMEM;
	}
	c = (struct jr_client *)mem;
	c->r = r;
	c->shared_size = flags & JR_CLIENT_SHARED ? size : 0;
	c->socks = (struct csock *)(mem + sizeof(*c));
	c->free_slots = (int *)(mem + sizeof(*c) + r.params.nr_slots * sizeof(*c->socks));
	for (uint32_t i = c->r.params.nr_slots; i-- > 0;)
		c->free_slots[c->nr_free++] = (int)i;
	*out = c;
	return 0;
}

int jr_client_open(const char *path, struct jr_client **out)
{
	return jr_client_open_flags(path, 0, out);
}

void jr_client_set_notify(struct jr_client *c, jr_client_notify_fn fn, void *arg)
{
	c->notify = fn;
	c->notify_arg = arg;
}

unsigned int jr_client_nr_slots(const struct jr_client *c)
{
	return c->r.params.nr_slots;
}

void jr_client_set_wait(struct jr_client *c, jr_client_wait_fn fn, void *arg)
{
	c->wait = fn;
	c->wait_arg = arg;
}

int jr_client_cq_fd(const struct jr_client *c)
{
	return c->r.cq_eventfd;
}

int jr_client_conn_fd(const struct jr_client *c)
{
	return c->r.conn_fd;
}

int jr_client_process(struct jr_client *c)
{
	return process_cq(c);
}

bool jr_client_prepare_sleep(struct jr_client *c)
{
	return !jr_ring_prepare_sleep(&c->r.cq);
}

void jr_client_finish_sleep(struct jr_client *c)
{
	jr_ring_finish_sleep(&c->r.cq);
}

bool jr_client_broken(const struct jr_client *c)
{
	return c->broken;
}

void jr_client_mark_broken(struct jr_client *c)
{
	c->broken = true;
}

int jr_client_drain_closes(struct jr_client *c, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000;

	while (!c->broken && closes_pending(c)) {
		if (now_ns() >= deadline)
			return -ETIMEDOUT;
		if (wait_cq(c, 100) == -EIO)
			return -EIO;
	}
	return 0;
}

void jr_client_close(struct jr_client *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->r.params.nr_slots; i++)
		if (csock(c, (int)i))
			jr_close(c, (int)i);
	/*
	 * Like close(2), a CLOSE lets the netserver deliver what is still in
	 * the tx ring; detaching now would reset those connections.  Wait
	 * for the replies, within a bound.
	 */
	jr_client_drain_closes(c, CLIENT_CLOSE_WAIT_NS / 1000000);
	jr_region_destroy(&c->r);
	if (c->shared_size)
		munmap(c, c->shared_size);
	else
		free(c);
}

/* Sockets the application holds: not pre-posted accept slots, not
 * accepted connections still queued, not closed ones awaiting a reply. */
unsigned int jr_client_open_sockets(const struct jr_client *c)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < c->r.params.nr_slots; i++) {
		switch (c->socks[i].state) {
		case CS_OPEN:
		case CS_LISTEN:
		case CS_CONNECTING:
		case CS_CONNECTED:
			n++;
			break;
		default:
			break;
		}
	}
	return n;
}

int jr_socket(struct jr_client *c, int type)
{
	struct jr_sqe sqe = { .op = JR_OP_SOCKET };
	int sd, err;

	if (type != SOCK_STREAM && type != SOCK_DGRAM)
		return -ESOCKTNOSUPPORT;
	sd = slot_alloc(c);
	if (sd < 0)
		return sd;
	c->socks[sd].state = CS_OPEN;
	c->socks[sd].type = type;
	sqe.u.socket.family = AF_INET;
	sqe.u.socket.type = (uint16_t)type;
	err = call(c, sd, &sqe);
	if (err) {
		slot_release(c, sd);
		return err;
	}
	return sd;
}

int jr_bind(struct jr_client *c, int sd, const struct sockaddr_in *addr)
{
	struct jr_sqe sqe = { .op = JR_OP_BIND };
	int err;

	if (!csock(c, sd))
		return -EBADF;
	if (addr->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	jr_sockaddr_from_sin(addr, &sqe.u.addr);
	err = call(c, sd, &sqe);
	if (!err)
		c->socks[sd].bound_ip = addr->sin_addr;
	return err;
}

/*
 * Where a connect goes, as the kernel frontend's jr_connect_dest() and
 * Linux's ip_route_connect(): 0.0.0.0 means this host, the bound address
 * if there is one, else the loopback.  The netserver makes the same
 * choice; the peer address a socket reports must agree with it.
 */
static struct sockaddr_in connect_dest(const struct csock *s, const struct sockaddr_in *addr)
{
	struct sockaddr_in dest = *addr;

	if (dest.sin_addr.s_addr == htonl(INADDR_ANY))
		dest.sin_addr.s_addr = s->bound_ip.s_addr ? s->bound_ip.s_addr
							  : htonl(INADDR_LOOPBACK);
	return dest;
}

static void post_accept(struct jr_client *c, int listener)
{
	struct csock *l = &c->socks[listener];
	struct jr_sqe sqe = { .op = JR_OP_ACCEPT };
	struct csock *child;
	int sd;

	sd = slot_alloc(c);
	if (sd < 0)
		return;
	child = &c->socks[sd];
	child->state = CS_ACCEPT_POSTED;
	child->listener = listener;
	sqe.slot = (uint32_t)sd;
	sqe.slot_gen = child->gen;
	sqe.tag = child->tag = ++c->next_tag;
	sqe.u.accept.listener_slot = (uint32_t)listener;
	sqe.u.accept.listener_gen = l->gen;
	child->op = JR_OP_ACCEPT;
	if (post(c, &sqe)) {
		slot_release(c, sd);
		return;
	}
	l->accepts_posted++;
}

int jr_listen(struct jr_client *c, int sd, int backlog)
{
	struct jr_sqe sqe = { .op = JR_OP_LISTEN };
	struct csock *s = csock(c, sd);
	int err, want;

	if (!s)
		return -EBADF;
	if (s->type != SOCK_STREAM)
		return -EOPNOTSUPP;
	if (backlog < 0)
		backlog = 0;
	sqe.u.listen.backlog = (uint32_t)(backlog > 4096 ? 4096 : backlog);
	err = call(c, sd, &sqe);
	if (err)
		return err;
	s->state = CS_LISTEN;
	s->backlog = backlog;
	if (!s->local.sin_port) {
		struct jr_sqe name = { .op = JR_OP_GETNAME };

		if (call(c, sd, &name) == 0)
			jr_sockaddr_to_sin(&s->reply.u.addr, &s->local);
	}
	want = backlog < CLIENT_ACCEPT_PREPOST ? (backlog ? backlog : 1)
					       : CLIENT_ACCEPT_PREPOST;
	while ((int)s->accepts_posted < want)
		post_accept(c, sd);
	return 0;
}

int jr_accept(struct jr_client *c, int sd, struct sockaddr_in *peer, int flags)
{
	struct csock *l = csock(c, sd);
	int child, err;

	if (!l)
		return -EBADF;
	if (l->state != CS_LISTEN)
		return -EINVAL;
	while (!l->acceptq_nr) {
		if (flags & JR_MSG_DONTWAIT) {
			process_cq(c);
			if (!l->acceptq_nr)
				return -EAGAIN;
			break;
		}
		err = wait_cq(c, -1);
		if (err)
			return err;
	}
	child = l->acceptq[l->acceptq_head];
	l->acceptq_head = (l->acceptq_head + 1) % (sizeof(l->acceptq) / sizeof(l->acceptq[0]));
	l->acceptq_nr--;
	c->socks[child].state = CS_CONNECTED;
	c->socks[child].connect_seen = true;
	if (peer)
		*peer = c->socks[child].peer;
	post_accept(c, sd);
	return child;
}

int jr_connect_start(struct jr_client *c, int sd, const struct sockaddr_in *addr)
{
	struct jr_sqe sqe = { .op = JR_OP_CONNECT };
	struct csock *s = csock(c, sd);
	int err;

	if (!s)
		return -EBADF;
	if (addr->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	if (s->state == CS_CONNECTING)
		return -EALREADY;
	/*
	 * As __inet_stream_connect(): the first connect() after a
	 * non-blocking one completed reports its outcome (0, or the error
	 * unless SO_ERROR took it: ECONNABORTED); only the next one is
	 * EISCONN or a new attempt.
	 */
	if (s->state == CS_CONNECTED && s->type == SOCK_STREAM) {
		if (!s->connect_seen) {
			s->connect_seen = true;
			return 0;
		}
		return -EISCONN;
	}
	if (s->type == SOCK_STREAM && s->connect_failed && !s->connect_seen) {
		int err = s->err ? s->err : ECONNABORTED;

		s->connect_seen = true;
		s->err = 0;
		return -err;
	}
	if (s->state == CS_LISTEN)
		return -EISCONN;
	if (s->type == SOCK_DGRAM)
		return jr_connect(c, sd, addr);
	jr_sockaddr_from_sin(addr, &sqe.u.addr);
	sqe.slot = (uint32_t)sd;
	sqe.slot_gen = s->gen;
	sqe.tag = s->tag = ++c->next_tag;
	s->op = JR_OP_CONNECT;
	s->done = false;
	s->err = 0;
	s->connect_failed = false;
	s->connect_seen = false;
	s->state = CS_CONNECTING;
	s->peer = connect_dest(s, addr);
	err = post(c, &sqe);
	if (err) {
		s->op = 0;
		s->state = CS_OPEN;
		return err;
	}
	return -EINPROGRESS;
}

int jr_connect_result(struct jr_client *c, int sd)
{
	struct csock *s = csock(c, sd);

	if (!s)
		return -EBADF;
	process_cq(c);
	if (s->state == CS_CONNECTING)
		return -EINPROGRESS;
	s->done = false;
	/* A blocking connect reports the outcome itself. */
	s->connect_seen = true;
	if (s->state == CS_CONNECTED)
		return 0;
	/* Reported here, so SO_ERROR is clear afterwards, as on Linux. */
	int err = s->err ? s->err : ECONNREFUSED;

	s->err = 0;
	return -err;
}

int jr_connect(struct jr_client *c, int sd, const struct sockaddr_in *addr)
{
	struct jr_sqe sqe = { .op = JR_OP_CONNECT };
	struct csock *s = csock(c, sd);
	int err;

	if (!s)
		return -EBADF;
	if (addr->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	if (s->state == CS_CONNECTED && s->type == SOCK_STREAM)
		return -EISCONN;
	jr_sockaddr_from_sin(addr, &sqe.u.addr);
	s->state = CS_CONNECTING;
	err = call(c, sd, &sqe);
	if (err) {
		s->state = CS_OPEN;
		return err;
	}
	s->state = CS_CONNECTED;
	s->connect_seen = true;
	s->peer = connect_dest(s, addr);
	return 0;
}

int jr_disconnect(struct jr_client *c, int sd)
{
	struct jr_sqe sqe = { .op = JR_OP_CONNECT };	/* family 0 */
	struct csock *s = csock(c, sd);
	int err;

	if (!s)
		return -EBADF;
	if (s->type != SOCK_DGRAM)
		return -EOPNOTSUPP;
	err = call(c, sd, &sqe);
	if (err)
		return err;
	s->state = CS_OPEN;
	memset(&s->peer, 0, sizeof(s->peer));
	return 0;
}

int jr_tx_unacked(struct jr_client *c, int sd)
{
	struct csock *s = csock(c, sd);
	int fill;

	if (!s)
		return -EBADF;
	fill = jr_bytes_fill(s->tx_prod, jr_load_acquire(&c->r.slots[sd].tx_cons),
			     c->r.params.tx_buf_size);
	return fill < 0 ? -EIO : fill;
}

int jr_rx_avail(struct jr_client *c, int sd)
{
	struct csock *s = csock(c, sd);
	uint32_t prod;
	int fill;

	if (!s)
		return -EBADF;
	prod = jr_load_acquire(&c->r.slots[sd].rx_prod);
	fill = jr_bytes_fill(prod, s->rx_cons, c->r.params.rx_buf_size);
	return fill < 0 ? -EIO : fill;
}

int jr_sock_type(struct jr_client *c, int sd)
{
	struct csock *s = csock(c, sd);

	return s ? s->type : -EBADF;
}

bool jr_sock_listening(struct jr_client *c, int sd)
{
	struct csock *s = csock(c, sd);

	return s && s->state == CS_LISTEN;
}

bool jr_sock_connected(struct jr_client *c, int sd)
{
	struct csock *s = csock(c, sd);

	return s && s->state == CS_CONNECTED;
}

/* Bytes the netserver has put in the rx ring, or -EIO if it lies. */
static int rx_ready(struct jr_client *c, struct csock *s, int sd)
{
	uint32_t prod = jr_load_acquire(&c->r.slots[sd].rx_prod);
	int fill = jr_bytes_fill(prod, s->rx_cons, c->r.params.rx_buf_size);

	if (fill < 0) {
		s->err = EIO;
		return -EIO;
	}
	s->rx_prod_seen = prod;
	return fill;
}

/* Free bytes in the tx ring, or -EIO. */
static int tx_space(struct jr_client *c, struct csock *s, int sd)
{
	uint32_t cons = jr_load_acquire(&c->r.slots[sd].tx_cons);
	int fill = jr_bytes_fill(s->tx_prod, cons, c->r.params.tx_buf_size);

	if (fill < 0) {
		s->err = EIO;
		return -EIO;
	}
	s->tx_cons_seen = cons;
	return (int)c->r.params.tx_buf_size - fill;
}

ssize_t jr_send(struct jr_client *c, int sd, const void *buf, size_t len, int flags)
{
	struct csock *s = csock(c, sd);
	uint32_t size;
	size_t done = 0;
	int err;

	if (!s)
		return -EBADF;
	if (s->type == SOCK_DGRAM)
		return jr_sendto(c, sd, buf, len, flags, NULL);
	/* As tcp_sendmsg(): a connect under way is waited for (or EAGAIN),
	 * any other state that is not a connection is a broken pipe. */
	if (s->state == CS_CONNECTING)
		return flags & JR_MSG_DONTWAIT ? -EAGAIN : -ENOTCONN;
	if (s->state != CS_CONNECTED)
		return s->err ? -s->err : -EPIPE;
	size = c->r.params.tx_buf_size;
	while (done < len) {
		int space;

		process_cq(c);
		if (s->err)
			return done ? (ssize_t)done : -(ssize_t)(s->err == ECONNRESET ? EPIPE : s->err);
		if (s->shut_wr)
			return done ? (ssize_t)done : -EPIPE;
		space = tx_space(c, s, sd);
		if (space < 0)
			return space;
		if (!space) {
			if (flags & JR_MSG_DONTWAIT)
				return done ? (ssize_t)done : -EAGAIN;
			err = wait_cq(c, -1);
			if (err)
				return done ? (ssize_t)done : err;
			continue;
		}
		uint32_t n = len - done < (size_t)space ? (uint32_t)(len - done) : (uint32_t)space;

		jr_bytes_copy_in(jr_slot_tx(&c->r, (uint32_t)sd), size, s->tx_prod,
				 (const char *)buf + done, n);
		s->tx_prod += n;
		s->tx_bytes += n;
		/* Release: the bytes are in the ring before tx_prod says so. */
		jr_store_release(&c->r.slots[sd].tx_prod, s->tx_prod);
		/* MSG_MORE holds only the call's last bytes, as Linux's
		 * corked tail (and the kernel frontend). */
		post_notify_flags(c, sd, JR_OP_TX,
				  (flags & JR_MSG_MORE) && done + n == len ? JR_SQE_F_MORE : 0);
		done += n;
	}
	return (ssize_t)done;
}

ssize_t jr_recv(struct jr_client *c, int sd, void *buf, size_t len, int flags)
{
	struct csock *s = csock(c, sd);
	uint32_t size;
	size_t done = 0;
	int err;

	if (!s)
		return -EBADF;
	if (s->type == SOCK_DGRAM)
		return jr_recvfrom(c, sd, buf, len, flags, NULL, NULL);
	if (s->state != CS_CONNECTED)
		return -ENOTCONN;
	size = c->r.params.rx_buf_size;
	while (done < len || !len) {
		int avail;

		process_cq(c);
		avail = rx_ready(c, s, sd);
		if (avail < 0)
			return avail;
		if (avail) {
			uint32_t n = len - done < (size_t)avail ? (uint32_t)(len - done) : (uint32_t)avail;

			/* MSG_TRUNC on a stream: the bytes are dropped. */
			if (!(flags & JR_MSG_TRUNC))
				jr_bytes_copy_out(jr_slot_rx(&c->r, (uint32_t)sd), size,
						  s->rx_cons, (char *)buf + done, n);
			if (flags & JR_MSG_PEEK)
				return (ssize_t)n;
			s->rx_cons += n;
			s->rx_bytes += n;
			/* Release: we are done reading before the space is reused. */
			jr_store_release(&c->r.slots[sd].rx_cons, s->rx_cons);
			if (jr_rx_space_due(s->rx_cons, s->rx_cons_told, size)) {
				s->rx_cons_told = s->rx_cons;
				post_notify(c, sd, JR_OP_RX_SPACE);
			}
			done += n;
			if (!(flags & JR_MSG_WAITALL) || !len)
				break;
			continue;
		}
		if (done)
			break;
		if (s->err && s->err != EPIPE) {
			int e = s->err;

			s->err = 0;
			return -e;
		}
		if (s->rx_fin || s->shut_rd)
			return 0;
		if (flags & JR_MSG_DONTWAIT)
			return -EAGAIN;
		err = wait_cq(c, -1);
		if (err)
			return err;
	}
	return (ssize_t)done;
}

ssize_t jr_sendto(struct jr_client *c, int sd, const void *buf, size_t len,
		  int flags, const struct sockaddr_in *to)
{
	struct csock *s = csock(c, sd);
	uint32_t size, pos;
	struct jr_dgram_hdr h;
	int err;

	if (!s)
		return -EBADF;
	if (s->type != SOCK_DGRAM)
		return to ? -EISCONN : jr_send(c, sd, buf, len, flags);
	size = c->r.params.tx_buf_size;
	if (len > JR_DGRAM_MAX || JR_DGRAM_RECORD(len) > size / 2)
		return -EMSGSIZE;
	if (!to && s->state != CS_CONNECTED)
		return -EDESTADDRREQ;
	for (;;) {
		int space = tx_space(c, s, sd);

		if (space < 0)
			return space;
		if (jr_dgram_need(s->tx_prod, size, (uint32_t)len) <= (uint32_t)space)
			break;
		if (flags & JR_MSG_DONTWAIT)
			return -EAGAIN;
		err = wait_cq(c, -1);
		if (err)
			return err;
	}
	memset(&h, 0, sizeof(h));
	h.len = (uint32_t)len;
	if (to)
		jr_sockaddr_from_sin(to, &h.addr);
	pos = jr_dgram_begin(jr_slot_tx(&c->r, (uint32_t)sd), size, s->tx_prod, (uint32_t)len);
	memcpy(jr_slot_tx(&c->r, (uint32_t)sd) + (pos & (size - 1)), &h, sizeof(h));
	memcpy(jr_slot_tx(&c->r, (uint32_t)sd) + (pos & (size - 1)) + sizeof(h), buf, len);
	s->tx_prod = pos + (uint32_t)JR_DGRAM_RECORD(len);
	jr_store_release(&c->r.slots[sd].tx_prod, s->tx_prod);
	post_notify(c, sd, JR_OP_TX);
	return (ssize_t)len;
}

/*
 * The datagram at *pos in socket sd's rx ring, or the first after it: the
 * wrap's skip and padding records are stepped over (*pos moves past them).
 * 1 with its header (validated) and record length, 0 if none has come,
 * -EIO if the netserver's positions or records are nonsense.
 */
static int dgram_at(struct jr_client *c, int sd, uint32_t *pos, struct jr_dgram_hdr *h,
		    uint32_t *record)
{
	uint32_t size = c->r.params.rx_buf_size;

	for (;;) {
		int avail = jr_bytes_fill(jr_load_acquire(&c->r.slots[sd].rx_prod), *pos, size);
		uint32_t skip;

		if (avail <= 0)
			return avail < 0 ? -EIO : 0;
		skip = jr_dgram_skip(*pos, size);
		if (skip) {
			if ((uint32_t)avail < skip)
				return -EIO;
			*pos += skip;
			continue;
		}
		memcpy(h, jr_slot_rx(&c->r, (uint32_t)sd) + (*pos & (size - 1)), sizeof(*h));
		if (jr_validate_dgram(h, *pos, (uint32_t)avail, size, &c->r.limits, record))
			return -EIO;
		if (!(h->flags & JR_DGRAM_F_PAD))
			return 1;
		*pos += *record;
	}
}

ssize_t jr_recvfrom(struct jr_client *c, int sd, void *buf, size_t len,
		    int flags, struct sockaddr_in *from, int *flags_out)
{
	return jr_recvfrom_meta(c, sd, buf, len, flags, from, flags_out, NULL);
}

ssize_t jr_recvfrom_meta(struct jr_client *c, int sd, void *buf, size_t len,
			 int flags, struct sockaddr_in *from, int *flags_out,
			 struct jr_dgram_meta *meta)
{
	struct csock *s = csock(c, sd);
	uint32_t size;
	int err;

	if (!s)
		return -EBADF;
	if (s->type != SOCK_DGRAM)
		return jr_recv(c, sd, buf, len, flags);
	size = c->r.params.rx_buf_size;
	if (flags_out)
		*flags_out = 0;
	if (meta)
		memset(meta, 0, sizeof(*meta));
	for (;;) {
		int avail = rx_ready(c, s, sd), got;
		struct jr_dgram_hdr h;
		uint32_t record;

		if (avail < 0)
			return avail;
		if (!avail) {
			if (s->err) {
				int e = s->err;

				s->err = 0;
				return -e;
			}
			if (flags & JR_MSG_DONTWAIT)
				return -EAGAIN;
			err = wait_cq(c, -1);
			if (err)
				return err;
			continue;
		}
		got = dgram_at(c, sd, &s->rx_cons, &h, &record);
		if (got < 0)
			return got;
		if (!got)
			continue;	/* only padding had come */
		/* Control messages (JR_DGRAM_F_META) precede the payload. */
		size_t payload = jr_dgram_payload_len(&h);
		size_t real = (h.flags & JR_DGRAM_F_TRUNC) ? h.orig_len : payload;
		size_t n = payload < len ? payload : len;

		if (n)
			memcpy(buf, jr_slot_rx(&c->r, (uint32_t)sd) + (s->rx_cons & (size - 1)) +
			       jr_dgram_payload_off(&h), n);
		if (from)
			jr_sockaddr_to_sin(&h.addr, from);
		if (meta && (h.flags & JR_DGRAM_F_META))
			memcpy(meta, jr_slot_rx(&c->r, (uint32_t)sd) +
			       ((s->rx_cons + (uint32_t)sizeof(h)) & (size - 1)), sizeof(*meta));
		if (flags_out && (n < payload || (h.flags & JR_DGRAM_F_TRUNC)))
			*flags_out = JR_MSG_TRUNC;
		if (!(flags & JR_MSG_PEEK)) {
			s->rx_cons += record;
			jr_store_release(&c->r.slots[sd].rx_cons, s->rx_cons);
			post_notify(c, sd, JR_OP_RX_SPACE);
		}
		/* MSG_TRUNC asks for the datagram's real length, as on Linux. */
		return (ssize_t)(flags & JR_MSG_TRUNC ? real : n);
	}
}

int jr_next_dgram_len(struct jr_client *c, int sd)
{
	struct csock *s = csock(c, sd);
	struct jr_dgram_hdr h;
	uint32_t pos, record;
	int got;

	if (!s)
		return -EBADF;
	if (s->type != SOCK_DGRAM)
		return -EINVAL;
	pos = s->rx_cons;	/* a look only: nothing is consumed */
	got = dgram_at(c, sd, &pos, &h, &record);
	return got > 0 ? (int)jr_dgram_payload_len(&h) : got;
}

int jr_shutdown(struct jr_client *c, int sd, int how)
{
	struct jr_sqe sqe = { .op = JR_OP_SHUTDOWN };
	struct csock *s = csock(c, sd);
	int err;

	if (!s)
		return -EBADF;
	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	if (s->type == SOCK_STREAM && s->state != CS_CONNECTED)
		return -ENOTCONN;
	sqe.u.shutdown.how = (uint32_t)how;
	err = call(c, sd, &sqe);
	if (err)
		return err;
	if (how != SHUT_WR)
		s->shut_rd = true;
	if (how != SHUT_RD)
		s->shut_wr = true;
	/* As inet_shutdown(): an unconnected datagram socket is shut all
	 * the same (its waiters wake), and the call says ENOTCONN. */
	if (s->type == SOCK_DGRAM && s->state != CS_CONNECTED)
		return -ENOTCONN;
	return 0;
}

int jr_close(struct jr_client *c, int sd)
{
	return jr_close_abort(c, sd, false);
}

int jr_close_abort(struct jr_client *c, int sd, bool abort)
{
	struct jr_sqe sqe = { .op = JR_OP_CLOSE };
	struct csock *s = csock(c, sd);

	if (!s)
		return -EBADF;
	if (s->state == CS_LISTEN) {
		/* Queued children were never handed out: close them too. */
		while (s->acceptq_nr) {
			int child = s->acceptq[s->acceptq_head];

			s->acceptq_head = (s->acceptq_head + 1) %
					  (sizeof(s->acceptq) / sizeof(s->acceptq[0]));
			s->acceptq_nr--;
			c->socks[child].state = CS_CONNECTED;
			jr_close(c, child);
		}
		s->state = CS_OPEN;	/* late ACCEPT replies close themselves */
	}
	/* Like close(2), this does not wait for the netserver: the slot is
	 * reused only after the CLOSE reply arrives. */
	sqe.slot = (uint32_t)sd;
	sqe.slot_gen = s->gen;
	sqe.tag = s->tag = ++c->next_tag;
	/* SO_LINGER on with 0 s: the peer gets a reset. */
	sqe.u.close.linger_on = abort;
	s->op = JR_OP_CLOSE;
	s->state = CS_CLOSING;
	post(c, &sqe);
	return 0;
}

int jr_setsockopt(struct jr_client *c, int sd, int level, int name, int value)
{
	struct jr_sqe sqe = { .op = JR_OP_SETSOCKOPT };

	if (!csock(c, sd))
		return -EBADF;
	if (!jr_sockopt_known((uint32_t)level, (uint32_t)name))
		return -ENOPROTOOPT;
	sqe.u.sockopt.level = (uint32_t)level;
	sqe.u.sockopt.name = (uint32_t)name;
	sqe.u.sockopt.value = (uint64_t)(int64_t)value;
	return call(c, sd, &sqe);
}

int jr_setsockopt_group(struct jr_client *c, int sd, int level, int name, uint64_t value,
			const struct in_addr *group)
{
	struct jr_sqe sqe = { .op = JR_OP_SETSOCKOPT };

	if (!csock(c, sd))
		return -EBADF;
	if (!jr_sockopt_is_mcast((uint32_t)level, (uint32_t)name))
		return -ENOPROTOOPT;
	sqe.u.sockopt.level = (uint32_t)level;
	sqe.u.sockopt.name = (uint32_t)name;
	sqe.u.sockopt.value = value;
	if (group) {
		sqe.u.sockopt.addr.family = AF_INET;
		memcpy(sqe.u.sockopt.addr.addr, group, 4);
	}
	return call(c, sd, &sqe);
}

int jr_getsockopt(struct jr_client *c, int sd, int level, int name, int *value)
{
	struct jr_sqe sqe = { .op = JR_OP_GETSOCKOPT };
	struct csock *s = csock(c, sd);
	int err;

	if (!s)
		return -EBADF;
	if (level == SOL_SOCKET && name == SO_ERROR) {
		process_cq(c);
		*value = s->err;
		s->err = 0;
		return 0;
	}
	if (level == SOL_SOCKET && name == SO_TYPE) {
		*value = s->type;
		return 0;
	}
	/* An int-valued call: TCP_INFO's reply is a structure. */
	if (!jr_sockopt_known((uint32_t)level, (uint32_t)name) ||
	    (level == IPPROTO_TCP && name == TCP_INFO))
		return -ENOPROTOOPT;
	sqe.u.sockopt.level = (uint32_t)level;
	sqe.u.sockopt.name = (uint32_t)name;
	err = call(c, sd, &sqe);
	if (!err)
		*value = (int)s->reply.u.sockopt.value;
	return err;
}

int jr_tcp_info(struct jr_client *c, int sd, struct jr_tcp_info *info)
{
	struct jr_sqe sqe = { .op = JR_OP_GETSOCKOPT };
	struct csock *s = csock(c, sd);
	int err;

	if (!s)
		return -EBADF;
	if (s->type != SOCK_STREAM)
		return -ENOPROTOOPT;
	sqe.u.sockopt.level = IPPROTO_TCP;
	sqe.u.sockopt.name = TCP_INFO;
	err = call(c, sd, &sqe);
	if (!err)
		*info = s->reply.u.tcp_info;
	return err;
}

int jr_byte_counts(struct jr_client *c, int sd, uint64_t *acked, uint64_t *received)
{
	struct csock *s = csock(c, sd);
	int unacked = jr_tx_unacked(c, sd), unread = jr_rx_avail(c, sd);

	if (!s)
		return -EBADF;
	if (unacked < 0 || unread < 0)
		return -EIO;
	*acked = s->tx_bytes - (uint64_t)unacked;
	*received = s->rx_bytes + (uint64_t)unread;
	return 0;
}

int jr_getsockname(struct jr_client *c, int sd, struct sockaddr_in *addr)
{
	struct jr_sqe sqe = { .op = JR_OP_GETNAME };
	struct csock *s = csock(c, sd);
	int err;

	if (!s)
		return -EBADF;
	err = call(c, sd, &sqe);
	if (!err)
		jr_sockaddr_to_sin(&s->reply.u.addr, addr);
	return err;
}

int jr_getpeername(struct jr_client *c, int sd, struct sockaddr_in *addr)
{
	struct csock *s = csock(c, sd);

	if (!s)
		return -EBADF;
	if (s->state != CS_CONNECTED)
		return -ENOTCONN;
	*addr = s->peer;
	return 0;
}

static short revents_of(struct jr_client *c, int sd, short events)
{
	struct csock *s = csock(c, sd);
	short rev = 0;

	if (!s)
		return 0x020;	/* POLLNVAL */
	if (s->state == CS_LISTEN)
		return s->acceptq_nr ? (events & JR_POLLIN) : 0;
	if (s->err)
		rev |= JR_POLLERR;
	if (s->type == SOCK_STREAM && s->connect_failed && s->state == CS_OPEN)
		/* As tcp_poll() after a refused connect: closed both ways. */
		return rev | JR_POLLHUP |
		       (events & (JR_POLLIN | JR_POLLOUT | JR_POLLRDHUP));
	if (s->state == CS_CONNECTED || s->type == SOCK_DGRAM) {
		int avail = rx_ready(c, s, sd);
		int space = tx_space(c, s, sd);

		if (avail > 0 || s->rx_fin)
			rev |= events & JR_POLLIN;
		if (s->rx_fin)
			rev |= events & JR_POLLRDHUP;
		/* Shut for sending: writable, as tcp_poll() has it, since a
		 * send fails at once (EPIPE) rather than block. */
		if (space > 0 || s->shut_wr)
			rev |= events & JR_POLLOUT;
		if (s->rx_fin && (s->shut_wr || s->err))
			rev |= JR_POLLHUP;
	} else if (s->type == SOCK_STREAM && s->state == CS_OPEN) {
		/* Never connected: TCP_CLOSE, hung up and "writable". */
		rev |= JR_POLLHUP | (events & JR_POLLOUT);
	}
	return rev;
}

int jr_poll(struct jr_client *c, struct jr_pollfd *fds, unsigned int nfds,
	    int timeout_ms)
{
	uint64_t deadline = timeout_ms < 0 ? UINT64_MAX
					   : now_ns() + (uint64_t)timeout_ms * 1000000;

	for (;;) {
		int ready = 0, err;

		process_cq(c);
		for (unsigned int i = 0; i < nfds; i++) {
			fds[i].revents = revents_of(c, fds[i].sd, fds[i].events);
			ready += fds[i].revents != 0;
		}
		if (ready)
			return ready;
		if (c->broken)
			return -EIO;
		uint64_t now = now_ns();

		if (now >= deadline)
			return 0;
		err = wait_cq(c, deadline == UINT64_MAX ? -1
				 : (int)((deadline - now + 999999) / 1000000));
		if (err && err != -ETIMEDOUT)
			return err;
	}
}
