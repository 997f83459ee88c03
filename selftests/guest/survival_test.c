// SPDX-License-Identifier: GPL-2.0
/*
 * Connection survival (ABI 2.1, JR_F_SURVIVAL) against joyride.ko.  The
 * netserver here is a fake: the test attaches to /dev/joyride itself,
 * answers requests by hand, keeps a checkpoint (struct jr_tcp_ckpt) and
 * the ring positions in each connection's slot as a netserver does, dies
 * by closing its file (the release path the kernel sees when a netserver
 * dies), and then plays the successor that attaches in recovery mode and
 * takes the connections back with JR_OP_RESTORE.  It pins the kernel's
 * rules without a NIC: which connections survive a death and which reset,
 * what the application can do meanwhile, what a successor is given (the
 * rings' bytes at their positions, the checkpoint, the addresses) and in
 * which order, and that a connection that cannot go on leaks nothing.
 * Nothing here moves a packet: the end-to-end tests, with the real
 * netserver, lwIP and a peer, are selftests/guest/recover/
 * test_recover_10_survive.py and test_recover_11_close.py.
 *
 * Needs the module to itself (no netserver): selftests/guest/tests.list.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "jr/libjr.h"
#include "serve_one.h"

#define NR_SLOTS	64
#define SQ_ENTRIES	64
#define RING		16384		/* both rings of every slot */
#define MAX_CONNS	24
#define ANY_SLOT	UINT32_MAX
#define WAIT_MS		5000
#define SURVIVAL_SYSCTL	"/proc/sys/net/joyride/survival"

/* 198.18.0.2, the netserver's address in the guest tests; the peer .1. */
#define OWN_ADDR	htonl(0xc6120002)
#define PEER_ADDR	htonl(0xc6120001)

/* One netserver the test plays: the fake, or its successor. */
struct fake {
	struct jr_region	r;
	bool			up;
};

/*
 * A connection as both ends of the test know it: the application's
 * descriptor and the positions it reached, the fake's slot and the
 * positions it set.
 */
struct conn {
	int		fd;
	uint32_t	slot;
	uint32_t	gen;
	uint16_t	lport;		/* 198.18.0.2:lport */
	uint16_t	pport;		/* 198.18.0.1:pport */
	uint32_t	rx_prod;	/* delivered by the fake */
	uint32_t	rx_cons;	/* read by the application */
	uint32_t	tx_prod;	/* sent by the application */
	uint32_t	tx_cons;	/* acknowledged by the fake */
};

/* Stream bytes by position, different for each connection and direction. */
static unsigned char rx_byte(const struct conn *c, uint32_t pos)
{
	return (unsigned char)(pos * 31 + c->lport);
}

static unsigned char tx_byte(const struct conn *c, uint32_t pos)
{
	return (unsigned char)(pos * 17 + 3 * c->lport + 1);
}

/*
 * Attach on engine 0 with small sizes, asking for JR_F_SURVIVAL if
 * survival, in recovery mode if recover (the successor's attach).
 */
static int fake_attach(struct fake *f, bool survival, bool recover)
{
	struct jr_attach req;
	int err;

	jr_attach_defaults(&req);
	if (survival)
		req.features |= JR_F_SURVIVAL;
	req.flags = recover ? JR_ATTACH_F_RECOVER : 0;
	req.nr_slots = NR_SLOTS;
	req.sq_entries = SQ_ENTRIES;
	req.cq_entries = 2 * SQ_ENTRIES;
	req.rx_buf_size = req.tx_buf_size = RING;
	err = jr_attach_kernel(NULL, &req, &f->r);
	f->up = !err;
	return err;
}

/* The fake dies: its file is closed, which the kernel handles at once. */
static void fake_kill(struct fake *f)
{
	if (f->up) {
		jr_region_destroy(&f->r);
		f->up = false;
	}
}

/* No checkpoint left in any slot: a death now resets every connection. */
static void fake_forget_ckpts(struct fake *f)
{
	if (!f->up)
		return;
	for (uint32_t s = 0; s < f->r.params.nr_slots; s++)
		jr_store_release(&f->r.slots[s].ckpt.seq, 0U);
}

/*
 * A fake's own recovery, when the kernel gives it one (engine 0 died
 * before, in an earlier case): served honestly until REPLAY_DONE.  The
 * number of sockets replayed (SOCKET and RESTORE requests), or -errno.
 */
static int serve_replay_honestly(struct jr_region *r)
{
	struct jr_sqe sqe;
	int n = 0, err;

	if (!(r->params.flags & JR_ATTACH_F_RECOVERING))
		return 0;
	for (;;) {
		err = serve_honestly(r, &sqe);
		if (err)
			return err;
		n += sqe.op == JR_OP_SOCKET || sqe.op == JR_OP_RESTORE;
		if (sqe.op == JR_OP_REPLAY_DONE)
			return n;
	}
}

/* The fake comes up: granted survival, and serving (nothing left over). */
static void fake_up(struct __test_metadata *_metadata, struct fake *f)
{
	ASSERT_EQ(0, fake_attach(f, true, true));
	ASSERT_EQ(RING, f->r.params.rx_buf_size);
	ASSERT_EQ(RING, f->r.params.tx_buf_size);
	ASSERT_TRUE(f->r.params.features & JR_F_SURVIVAL) {
		TH_LOG("the kernel did not grant JR_F_SURVIVAL (granted %#llx)",
		       (unsigned long long)f->r.params.features);
	}
	EXPECT_EQ(0, serve_replay_honestly(&f->r)) {
		TH_LOG("an earlier case left sockets behind");
	}
}

/*
 * Take requests until one of op for slot (ANY_SLOT: any) comes.  Data
 * notifications on the way (TX, RX_SPACE: the application's sends and
 * reads post them) are taken and left, as a netserver that reads the
 * rings anyway may.  Anything else first is -EPROTO, *sqe being it.
 */
static int await_op(struct jr_region *r, uint16_t op, uint32_t slot, struct jr_sqe *sqe)
{
	for (;;) {
		int err = take_request(r, sqe);

		if (err)
			return err;
		if (sqe->op == op && (slot == ANY_SLOT || sqe->slot == slot))
			return 0;
		if (sqe->op != JR_OP_TX && sqe->op != JR_OP_RX_SPACE)
			return -EPROTO;
	}
}

static int answer(struct jr_region *r, const struct jr_sqe *sqe, int res)
{
	struct jr_cqe cqe = reply_to(sqe, res);

	if (sqe->op == JR_OP_REPLAY_DONE)
		cqe.slot = 0;
	return post_and_kick(r, &cqe, 1);
}

static int post_event(struct fake *f, const struct conn *c, uint16_t op)
{
	struct jr_cqe ev = {
		.op = op, .flags = JR_CQE_F_EVENT, .slot = c->slot, .slot_gen = c->gen,
	};

	return post_and_kick(&f->r, &ev, 1);
}

/* The fake receives n bytes for c: into the rx ring, rx_prod, JR_EV_RX. */
static int deliver(struct fake *f, struct conn *c, uint32_t n)
{
	unsigned char *ring = jr_slot_rx(&f->r, c->slot);

	for (uint32_t i = 0; i < n; i++)
		ring[(c->rx_prod + i) & (RING - 1)] = rx_byte(c, c->rx_prod + i);
	c->rx_prod += n;
	jr_store_release(&f->r.slots[c->slot].rx_prod, c->rx_prod);
	return post_event(f, c, JR_EV_RX);
}

/* The peer acknowledged c's bytes up to pos: tx_cons. */
static void ack(struct fake *f, struct conn *c, uint32_t pos)
{
	c->tx_cons = pos;
	jr_store_release(&f->r.slots[c->slot].tx_cons, pos);
}

/* Bytes of c's tx ring (on r, in c's slot) in [from, to) that are wrong. */
static int tx_ring_bad(struct jr_region *r, const struct conn *c, uint32_t from, uint32_t to)
{
	const unsigned char *ring = jr_slot_tx(r, c->slot);
	int bad = 0;

	for (uint32_t p = from; p != to; p++)
		bad += ring[p & (RING - 1)] != tx_byte(c, p);
	return bad;
}

static int rx_ring_bad(struct jr_region *r, const struct conn *c, uint32_t from, uint32_t to)
{
	const unsigned char *ring = jr_slot_rx(r, c->slot);
	int bad = 0;

	for (uint32_t p = from; p != to; p++)
		bad += ring[p & (RING - 1)] != rx_byte(c, p);
	return bad;
}

/* A valid checkpoint for c (any even, non-zero seq). */
static struct jr_tcp_ckpt ckpt_for(const struct conn *c, uint32_t seq)
{
	struct jr_tcp_ckpt ck = {
		.seq = seq, .snd_wscale = 7, .rcv_wscale = 9,
		.snd_base = 0x10000000u + c->lport, .rcv_base = 0x20000000u + c->lport,
		.snd_wnd = 262144, .mss = 1460,
	};

	return ck;
}

/* Write a checkpoint as a netserver does: seq odd, the rest, then seq. */
static void ckpt_write(struct fake *f, const struct conn *c, const struct jr_tcp_ckpt *ck)
{
	struct jr_tcp_ckpt *dst = &f->r.slots[c->slot].ckpt;
	struct jr_tcp_ckpt body = *ck;
	uint32_t odd = (jr_load_acquire(&dst->seq) + 1) | 1;

	jr_store_release(&dst->seq, odd);
	body.seq = odd;
	memcpy(dst, &body, sizeof(body));
	jr_store_release(&dst->seq, ck->seq);
}

/* The application sends n bytes of c's stream (never waiting for room). */
static ssize_t app_send(struct conn *c, uint32_t n)
{
	unsigned char buf[RING];
	ssize_t sent;

	for (uint32_t i = 0; i < n && i < sizeof(buf); i++)
		buf[i] = tx_byte(c, c->tx_prod + i);
	sent = send(c->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (sent < 0)
		return -errno;
	c->tx_prod += sent;
	return sent;
}

/* The application reads n bytes (in the ring already): n, or -errno. */
static ssize_t app_recv(struct conn *c, uint32_t n)
{
	unsigned char buf[RING];
	ssize_t got = recv(c->fd, buf, n, MSG_WAITALL);

	if (got < 0)
		return -errno;
	for (ssize_t i = 0; i < got; i++)
		if (buf[i] != rx_byte(c, c->rx_cons + i))
			return -EILSEQ;
	c->rx_cons += got;
	return got;
}

/* What the application sees of a reset connection: errno of each call. */
static void expect_reset(struct __test_metadata *_metadata, struct conn *c, const char *what)
{
	char byte;

	errno = 0;
	EXPECT_EQ(-1, recv(c->fd, &byte, 1, MSG_DONTWAIT)) TH_LOG("%s", what);
	EXPECT_EQ(ECONNRESET, errno) TH_LOG("%s: recv", what);
	/* The reset is reported once; then the stream is over. */
	EXPECT_EQ(0, recv(c->fd, &byte, 1, MSG_DONTWAIT)) TH_LOG("%s", what);
	errno = 0;
	EXPECT_EQ(-1, send(c->fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT)) TH_LOG("%s", what);
	EXPECT_EQ(EPIPE, errno) TH_LOG("%s: send", what);
}

/* ------------------------------------------------- /proc/net/joyride */

struct proc_line {
	char	state[16];
	int	slot;
	int	rxq;
	int	txq;
	char	flags[160];
};

/* Parse a socket line; false for the header or anything else. */
static bool proc_parse(const char *line, struct proc_line *pl, uint16_t *lport)
{
	char proto[8], local[64], remote[64];
	const char *colon;
	int n = 0;

	if (sscanf(line, "%7s %15s %d %d %d %63s %63s %n", proto, pl->state, &pl->slot,
		   &pl->rxq, &pl->txq, local, remote, &n) < 7 || !n)
		return false;
	colon = strrchr(local, ':');
	*lport = colon ? (uint16_t)atoi(colon + 1) : 0;
	snprintf(pl->flags, sizeof(pl->flags), "%s", line + n);
	return true;
}

/* The line of the socket with local port lport: 1, 0 if none, -errno. */
static int proc_find(uint16_t lport, struct proc_line *pl)
{
	FILE *f = fopen("/proc/net/joyride", "r");
	char line[512];
	int found = 0;

	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		uint16_t port;

		found = proc_parse(line, pl, &port) && port == lport;
	}
	fclose(f);
	return found;
}

static bool has_flag(const struct proc_line *pl, const char *flag)
{
	return strstr(pl->flags, flag) != NULL;
}

/* Socket lines listed (with flag, if not NULL), or -errno. */
static int proc_count(const char *flag)
{
	FILE *f = fopen("/proc/net/joyride", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct proc_line pl;
		uint16_t port;

		n += proc_parse(line, &pl, &port) && (!flag || has_flag(&pl, flag));
	}
	fclose(f);
	return n;
}

static void proc_dump(void)
{
	FILE *f = fopen("/proc/net/joyride", "r");
	char line[512];

	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "# /proc/net/joyride: %s", line);
	if (f)
		fclose(f);
}

/* Wait (up to WAIT_MS) until no socket is listed; what is left. */
static int await_proc_empty(void)
{
	struct timespec tick = { .tv_nsec = 1000000 };
	int n = proc_count(NULL);

	for (int i = 0; i < WAIT_MS && n; i++) {
		nanosleep(&tick, NULL);
		n = proc_count(NULL);
	}
	if (n)
		proc_dump();
	return n;
}

/* A connection the kernel keeps for a successor: listed as such. */
static void expect_surviving(struct __test_metadata *_metadata, const struct conn *c,
			     bool closing)
{
	struct proc_line pl;

	ASSERT_EQ(1, proc_find(c->lport, &pl));
	EXPECT_STREQ("ESTAB", pl.state);
	EXPECT_LE(0, pl.slot);
	EXPECT_TRUE(has_flag(&pl, "surviving")) TH_LOG("flags: %s", pl.flags);
	EXPECT_TRUE(has_flag(&pl, "server-dead")) TH_LOG("flags: %s", pl.flags);
	EXPECT_EQ(closing, has_flag(&pl, "closing")) TH_LOG("flags: %s", pl.flags);
}

/* A connection that reset: closed, slotless, not surviving. */
static void expect_listed_reset(struct __test_metadata *_metadata, const struct conn *c,
				const char *what)
{
	struct proc_line pl;

	ASSERT_EQ(1, proc_find(c->lport, &pl)) TH_LOG("%s", what);
	EXPECT_STREQ("CLOSE", pl.state) TH_LOG("%s", what);
	EXPECT_EQ(-1, pl.slot) TH_LOG("%s", what);
	EXPECT_FALSE(has_flag(&pl, "surviving")) TH_LOG("%s: %s", what, pl.flags);
	/* Nor waiting for a replay: a connection is not rebuilt as a socket. */
	EXPECT_FALSE(has_flag(&pl, "recovering")) TH_LOG("%s: %s", what, pl.flags);
}

/* A connection the successor serves: as any live one. */
static void expect_served(struct __test_metadata *_metadata, const struct conn *c)
{
	struct proc_line pl;

	ASSERT_EQ(1, proc_find(c->lport, &pl));
	EXPECT_STREQ("ESTAB", pl.state);
	EXPECT_EQ((int)c->slot, pl.slot);
	EXPECT_FALSE(has_flag(&pl, "surviving")) TH_LOG("flags: %s", pl.flags);
	EXPECT_FALSE(has_flag(&pl, "recovering")) TH_LOG("flags: %s", pl.flags);
	EXPECT_FALSE(has_flag(&pl, "server-dead")) TH_LOG("flags: %s", pl.flags);
}

static int sysctl_write(const char *value)
{
	int fd = open(SURVIVAL_SYSCTL, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -EIO;
}

static int sysctl_read(void)
{
	char buf[16] = { 0 };
	int fd = open(SURVIVAL_SYSCTL, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -EIO;
}

/* ------------------------------------------- the application's calls */

struct app_call {
	pthread_t	thread;
	int		fd;
	uint16_t	port;		/* connect: the peer's */
	int		name;		/* setsockopt: IPPROTO_TCP's */
	int		value;
	int		ret;
	int		err;
};

static void *call_connect(void *arg)
{
	struct app_call *c = arg;
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(c->port), .sin_addr.s_addr = PEER_ADDR,
	};

	c->ret = connect(c->fd, (struct sockaddr *)&to, sizeof(to));
	c->err = c->ret ? errno : 0;
	return NULL;
}

static void *call_setsockopt(void *arg)
{
	struct app_call *c = arg;

	c->ret = setsockopt(c->fd, IPPROTO_TCP, c->name, &c->value, sizeof(c->value));
	c->err = c->ret ? errno : 0;
	return NULL;
}

/* ------------------------------------------------------------ fixture */

FIXTURE(survival) {
	struct fake	a;		/* the fake netserver */
	struct fake	b;		/* its successor */
	struct conn	conns[MAX_CONNS];
	int		nr_conns;
};

/*
 * Whatever a case left, even one that failed half way: its sockets are
 * closed, its fakes die with no checkpoint for the kernel to keep, the
 * sysctl is on again, and a connection still kept for a successor (closed
 * in an outage) is taken by one and closed, so the next case starts with
 * no socket.
 */
static void sweep(FIXTURE_DATA(survival) *self)
{
	struct fake s = { 0 };

	for (int i = 0; i < self->nr_conns; i++)
		if (self->conns[i].fd >= 0)
			close(self->conns[i].fd);
	self->nr_conns = 0;
	fake_forget_ckpts(&self->a);
	fake_forget_ckpts(&self->b);
	fake_kill(&self->a);
	fake_kill(&self->b);
	sysctl_write("1\n");
	if (proc_count("surviving") <= 0 || fake_attach(&s, true, true))
		return;
	serve_replay_honestly(&s.r);
	fake_forget_ckpts(&s);
	fake_kill(&s);
}

FIXTURE_SETUP(survival)
{
	self->nr_conns = 0;
	ASSERT_EQ(1, sysctl_read()) TH_LOG("net.joyride.survival is on by default");
	EXPECT_EQ(0, proc_count(NULL)) {
		TH_LOG("sockets left by an earlier test:");
		proc_dump();
	}
}

FIXTURE_TEARDOWN(survival)
{
	sweep(self);
}

/*
 * An established connection through fake f: SOCKET answered, connect()
 * to 198.18.0.1:pport answered with the local address 198.18.0.2:lport
 * (a CONNECT reply carries the address the netserver bound).
 */
static struct conn *open_conn(struct __test_metadata *_metadata, FIXTURE_DATA(survival) *self,
			      struct fake *f, uint16_t lport, uint16_t pport)
{
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	struct app_call call = { 0 };
	struct jr_slot_ctl *ctl;
	struct jr_sqe created, sqe;
	struct jr_cqe cqe;
	struct conn *c;
	uint32_t own = OWN_ADDR, peer = PEER_ADDR;
	int err;

	if (self->nr_conns >= MAX_CONNS)
		return NULL;
	c = &self->conns[self->nr_conns];
	memset(c, 0, sizeof(*c));
	c->fd = honest_socket(&f->r, SOCK_STREAM, &created);
	if (c->fd < 0)
		return NULL;
	self->nr_conns++;
	c->slot = created.slot;
	c->gen = created.slot_gen;
	c->lport = lport;
	c->pport = pport;
	/* Each side resets the counters it owns when a slot is made. */
	ctl = &f->r.slots[c->slot];
	ctl->tx_cons = 0;
	memset(&ctl->ckpt, 0, sizeof(ctl->ckpt));
	jr_store_release(&ctl->rx_prod, 0U);
	/* No call of the application may hang the test. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return NULL;

	call.fd = c->fd;
	call.port = pport;
	if (pthread_create(&call.thread, NULL, call_connect, &call))
		return NULL;
	err = await_op(&f->r, JR_OP_CONNECT, c->slot, &sqe);
	if (!err && (sqe.u.addr.family != AF_INET || sqe.u.addr.port != htons(pport) ||
		     memcmp(sqe.u.addr.addr, &peer, 4)))
		err = -EPROTO;
	if (!err) {
		cqe = reply_to(&sqe, 0);
		cqe.u.addr.family = AF_INET;
		cqe.u.addr.port = htons(lport);
		memcpy(cqe.u.addr.addr, &own, 4);
		err = post_and_kick(&f->r, &cqe, 1);
	}
	pthread_join(call.thread, NULL);
	EXPECT_EQ(0, err) TH_LOG("CONNECT for port %u", lport);
	EXPECT_EQ(0, call.ret) TH_LOG("connect(): %s", strerror(call.err));
	return err || call.ret ? NULL : c;
}

/* An IPPROTO_TCP option set while the netserver lives: forwarded at once. */
static void set_opt_live(struct __test_metadata *_metadata, struct fake *f, struct conn *c,
			 int name, int value)
{
	struct app_call call = { .fd = c->fd, .name = name, .value = value };
	struct jr_sqe sqe;
	int err;

	ASSERT_EQ(0, pthread_create(&call.thread, NULL, call_setsockopt, &call));
	err = await_op(&f->r, JR_OP_SETSOCKOPT, c->slot, &sqe);
	if (!err && (sqe.u.sockopt.level != IPPROTO_TCP || sqe.u.sockopt.name != (uint32_t)name ||
		     sqe.u.sockopt.value != (uint64_t)value))
		err = -EPROTO;
	if (!err)
		err = answer(&f->r, &sqe, 0);
	pthread_join(call.thread, NULL);
	ASSERT_EQ(0, err);
	ASSERT_EQ(0, call.ret);
}

/* The application closes c; the fake answers its CLOSE. */
static void close_served(struct __test_metadata *_metadata, struct fake *f, struct conn *c)
{
	struct jr_sqe sqe;

	ASSERT_EQ(0, close(c->fd));
	c->fd = -1;
	ASSERT_EQ(0, await_op(&f->r, JR_OP_CLOSE, c->slot, &sqe));
	EXPECT_EQ(0, sqe.u.close.linger_on);
	ASSERT_EQ(0, answer(&f->r, &sqe, 0));
}

static void close_app(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
}

/* The successor comes up in recovery mode; it is given a replay. */
static void successor_up(struct __test_metadata *_metadata, struct fake *f, bool survival)
{
	ASSERT_EQ(0, fake_attach(f, survival, true));
	ASSERT_TRUE(f->r.params.flags & JR_ATTACH_F_RECOVERING);
	ASSERT_EQ(survival, !!(f->r.params.features & JR_F_SURVIVAL)) {
		TH_LOG("granted %#llx", (unsigned long long)f->r.params.features);
	}
}

/*
 * A RESTORE for connection c as the kernel must send it: a replay,
 * valid as the netserver validates it, naming the connection's addresses;
 * its slot on the successor holding the positions (the kernel's own and
 * the dead netserver's), the checkpoint, the received bytes not read yet
 * and the sent bytes not acknowledged yet, each at its position.  Then c
 * lives in that slot.
 */
static void check_restore(struct __test_metadata *_metadata, struct fake *f, struct conn *c,
			  const struct jr_sqe *sqe, const struct jr_tcp_ckpt *ck)
{
	static const uint8_t zero[12];
	uint32_t own = OWN_ADDR, peer = PEER_ADDR;
	struct jr_slot_ctl *ctl;

	ASSERT_EQ(JR_OP_RESTORE, sqe->op);
	ASSERT_GT(NR_SLOTS, sqe->slot);
	EXPECT_EQ(JR_SQE_F_REPLAY, sqe->flags);
	EXPECT_NE(0, sqe->tag);
	EXPECT_NE(0, sqe->slot_gen);
	EXPECT_EQ(0, jr_validate_sqe(sqe, &f->r.limits));
	EXPECT_EQ(AF_INET, sqe->u.restore.family);
	EXPECT_EQ(htons(c->lport), sqe->u.restore.local_port);
	EXPECT_EQ(htons(c->pport), sqe->u.restore.peer_port);
	EXPECT_EQ(0, sqe->u.restore.pad);
	EXPECT_EQ(0, memcmp(sqe->u.restore.local, &own, 4));
	EXPECT_EQ(0, memcmp(sqe->u.restore.peer, &peer, 4));
	EXPECT_EQ(0, memcmp(sqe->u.restore.local + 4, zero, sizeof(zero)));
	EXPECT_EQ(0, memcmp(sqe->u.restore.peer + 4, zero, sizeof(zero)));

	ctl = &f->r.slots[sqe->slot];
	EXPECT_EQ(c->rx_cons, jr_load_acquire(&ctl->rx_cons));
	EXPECT_EQ(c->rx_prod, jr_load_acquire(&ctl->rx_prod));
	EXPECT_EQ(c->tx_prod, jr_load_acquire(&ctl->tx_prod));
	EXPECT_EQ(c->tx_cons, jr_load_acquire(&ctl->tx_cons));
	EXPECT_EQ(0, memcmp(&ctl->ckpt, ck, sizeof(*ck))) {
		TH_LOG("checkpoint in the new slot: seq %u flags %u mss %u",
		       ctl->ckpt.seq, ctl->ckpt.flags, ctl->ckpt.mss);
	}
	c->slot = sqe->slot;
	c->gen = sqe->slot_gen;
	EXPECT_EQ(0, rx_ring_bad(&f->r, c, c->rx_cons, c->rx_prod));
	EXPECT_EQ(0, tx_ring_bad(&f->r, c, c->tx_cons, c->tx_prod));
}

/* ---------------------------------------------------------------- cases */

/*
 * The whole of it.  An established connection, whose rings have carried
 * data, dies with its netserver holding a valid checkpoint: the kernel
 * keeps it (listed "surviving", ESTAB); the application reads what was in
 * the rx ring, sends into the tx ring and sets an option without any
 * netserver.  The successor is given the connection (RESTORE, with both
 * rings wrapping across the outage), then its options, then the end of
 * the replay; after that it serves the connection like any other.
 */
TEST_F(survival, survives_and_is_restored)
{
	struct jr_tcp_ckpt ck;
	struct proc_line pl;
	struct pollfd pfd;
	struct jr_sqe sqe;
	struct conn *c;
	int val = 1, outq = -1, nodelay = 0, keepidle = 0, other = 0;
	char byte;

	fake_up(_metadata, &self->a);
	ASSERT_NE(NULL, c = open_conn(_metadata, self, &self->a, 40101, 5101));

	/*
	 * Traffic first, so that no position the successor must keep is 0
	 * and both rings wrap across the outage: the application sent 16360
	 * bytes, of which the peer acknowledged all but 20, and read the
	 * 16300 it was given.
	 */
	ASSERT_EQ(16360, app_send(c, 16360));
	ASSERT_EQ(0, await_op(&self->a.r, JR_OP_TX, c->slot, &sqe));
	ack(&self->a, c, 16340);
	ASSERT_EQ(0, deliver(&self->a, c, 16300));
	ASSERT_EQ(16300, app_recv(c, 16300));
	set_opt_live(_metadata, &self->a, c, TCP_KEEPIDLE, 100);
	/* 100 bytes received (16300..16400: the ring's end) and not read. */
	ASSERT_EQ(0, deliver(&self->a, c, 100));
	ck = ckpt_for(c, 4);
	ckpt_write(&self->a, c, &ck);

	fake_kill(&self->a);

	expect_surviving(_metadata, c, false);
	ASSERT_EQ(1, proc_find(c->lport, &pl));
	EXPECT_EQ(100, pl.rxq);
	EXPECT_EQ(20, pl.txq);
	pfd = (struct pollfd){ .fd = c->fd, .events = POLLIN | POLLOUT | POLLRDHUP };
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLIN | POLLOUT, pfd.revents);
	/* Received before the death: readable during the outage. */
	EXPECT_EQ(100, app_recv(c, 100));
	/* Then nothing until a successor: neither end of file nor a reset. */
	errno = 0;
	EXPECT_EQ(-1, recv(c->fd, &byte, 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	/* Sent during the outage: queued in the tx ring (16360..16410). */
	EXPECT_EQ(50, app_send(c, 50));
	ASSERT_EQ(0, ioctl(c->fd, SIOCOUTQ, &outq));
	EXPECT_EQ(70, outq);
	/* Kept for the successor. */
	EXPECT_EQ(0, setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &val, sizeof(val)));
	expect_surviving(_metadata, c, false);

	successor_up(_metadata, &self->b, true);
	/* The connection comes first, alone. */
	ASSERT_EQ(0, take_request(&self->b.r, &sqe));
	ASSERT_EQ(JR_OP_RESTORE, sqe.op) TH_LOG("op %u", sqe.op);
	EXPECT_EQ(16400, c->rx_prod);
	EXPECT_EQ(16410, c->tx_prod);
	check_restore(_metadata, &self->b, c, &sqe, &ck);
	ASSERT_EQ(0, answer(&self->b.r, &sqe, 0));
	/* Then its options (set before and during the outage), then the end. */
	for (;;) {
		ASSERT_EQ(0, take_request(&self->b.r, &sqe));
		if (sqe.op == JR_OP_REPLAY_DONE)
			break;
		ASSERT_EQ(JR_OP_SETSOCKOPT, sqe.op) TH_LOG("op %u", sqe.op);
		EXPECT_EQ(c->slot, sqe.slot);
		if (sqe.u.sockopt.level == IPPROTO_TCP && sqe.u.sockopt.name == TCP_NODELAY &&
		    sqe.u.sockopt.value == 1)
			nodelay++;
		else if (sqe.u.sockopt.level == IPPROTO_TCP &&
			 sqe.u.sockopt.name == TCP_KEEPIDLE && sqe.u.sockopt.value == 100)
			keepidle++;
		else
			other++;
		ASSERT_EQ(0, answer(&self->b.r, &sqe, 0));
	}
	ASSERT_EQ(0, answer(&self->b.r, &sqe, 0));
	EXPECT_EQ(1, nodelay);
	EXPECT_EQ(1, keepidle);
	EXPECT_EQ(0, other);
	expect_served(_metadata, c);
	EXPECT_EQ(1, self->b.r.stats->k_slots_used);

	/* The successor's data reaches the application... */
	ASSERT_EQ(0, deliver(&self->b, c, 64));
	EXPECT_EQ(64, app_recv(c, 64));
	/* ...and the application's reaches the successor. */
	ASSERT_EQ(10, app_send(c, 10));
	ASSERT_EQ(0, await_op(&self->b.r, JR_OP_TX, c->slot, &sqe));
	EXPECT_EQ(16420, jr_load_acquire(&self->b.r.slots[c->slot].tx_prod));
	EXPECT_EQ(0, tx_ring_bad(&self->b.r, c, 16340, 16420));

	close_served(_metadata, &self->b, c);
	EXPECT_EQ(0, await_proc_empty());
	EXPECT_EQ(0, self->b.r.stats->k_slots_used);
	fake_kill(&self->b);
	EXPECT_EQ(0, proc_count(NULL));
}

/* One defect each in what a dying netserver left in a connection's slot. */
enum defect {
	D_NONE,
	D_NO_CKPT,		/* seq 0 */
	D_TORN,			/* seq odd: died while writing it */
	D_RX_HELD,		/* acknowledged bytes not in the ring */
	D_MSS_0,
	D_MSS_BIG,		/* 65496 */
	D_SND_WSCALE,		/* 15 */
	D_RCV_WSCALE,		/* 15 */
	D_FLAGS,		/* an unknown flag */
	D_PAD,
	D_PAD2,
	D_RESERVED,
	D_TX_CONS_AHEAD,	/* tx_cons beyond the kernel's tx_prod */
	D_RX_PROD_TOO_FAR,	/* rx_prod more than a ring ahead of rx_cons */
	D_FIN_UNRECORDED,	/* the kernel was told of a FIN the checkpoint lacks */
	D_NR
};

static const char *const defect_names[D_NR] = {
	"valid", "no checkpoint", "torn", "rx_held", "mss 0", "mss 65496",
	"snd_wscale 15", "rcv_wscale 15", "unknown flag", "pad", "pad2",
	"reserved", "tx_cons ahead of tx_prod", "rx_prod a ring ahead",
	"FIN told, not in the checkpoint",
};

static int leave_defect(struct fake *f, struct conn *c, enum defect d)
{
	struct jr_tcp_ckpt ck = ckpt_for(c, 2);
	struct jr_slot_ctl *ctl = &f->r.slots[c->slot];
	int err = 0;

	switch (d) {
	case D_NO_CKPT:		ck.seq = 0; break;
	case D_TORN:		ck.seq = 3; break;
	case D_RX_HELD:		ck.rx_held = 1; break;
	case D_MSS_0:		ck.mss = 0; break;
	case D_MSS_BIG:		ck.mss = 65496; break;
	case D_SND_WSCALE:	ck.snd_wscale = 15; break;
	case D_RCV_WSCALE:	ck.rcv_wscale = 15; break;
	case D_FLAGS:		ck.flags = 2; break;
	case D_PAD:		ck.pad = 1; break;
	case D_PAD2:		ck.pad2 = 1; break;
	case D_RESERVED:	ck.reserved = 1; break;
	case D_TX_CONS_AHEAD:
		jr_store_release(&ctl->tx_cons, c->tx_prod + 1);
		break;
	case D_RX_PROD_TOO_FAR:
		jr_store_release(&ctl->rx_prod, c->rx_cons + RING + 1);
		break;
	case D_FIN_UNRECORDED:
		err = post_event(f, c, JR_EV_RX_FIN);
		break;
	default:
		break;
	}
	ckpt_write(f, c, &ck);
	return err;
}

/*
 * Connections on one netserver, one with a valid checkpoint and each of
 * the others with one defect.  At the death each defective one resets
 * (what its rx ring held is gone with it: recv() says ECONNRESET, then
 * end of file; send() EPIPE) and leaves its slot; the valid one survives,
 * and the successor is given it and nothing else.
 */
TEST_F(survival, hostile_checkpoints_reset_only_their_connection)
{
	struct conn *c[D_NR];
	struct jr_sqe sqe;
	int restores = 0, other = 0;

	fake_up(_metadata, &self->a);
	for (int d = 0; d < D_NR; d++) {
		ASSERT_NE(NULL, c[d] = open_conn(_metadata, self, &self->a, 40200 + d, 5200 + d));
		ASSERT_EQ(0, deliver(&self->a, c[d], 10));
	}
	for (int d = 0; d < D_NR; d++)
		ASSERT_EQ(0, leave_defect(&self->a, c[d], d));

	fake_kill(&self->a);

	expect_surviving(_metadata, c[D_NONE], false);
	EXPECT_EQ(10, app_recv(c[D_NONE], 10));
	for (int d = 1; d < D_NR; d++) {
		expect_listed_reset(_metadata, c[d], defect_names[d]);
		expect_reset(_metadata, c[d], defect_names[d]);
	}
	EXPECT_EQ(1, proc_count("surviving"));

	successor_up(_metadata, &self->b, true);
	for (;;) {
		ASSERT_EQ(0, take_request(&self->b.r, &sqe));
		if (sqe.op == JR_OP_REPLAY_DONE)
			break;
		if (sqe.op == JR_OP_RESTORE) {
			restores++;
			EXPECT_EQ(htons(c[D_NONE]->lport), sqe.u.restore.local_port) {
				TH_LOG("RESTORE for port %u", ntohs(sqe.u.restore.local_port));
			}
		} else {
			other++;
			TH_LOG("unexpected request: op %u slot %u", sqe.op, sqe.slot);
		}
		ASSERT_EQ(0, answer(&self->b.r, &sqe, 0));
	}
	ASSERT_EQ(0, answer(&self->b.r, &sqe, 0));
	EXPECT_EQ(1, restores);
	EXPECT_EQ(0, other);
	EXPECT_EQ(1, self->b.r.stats->k_slots_used);

	/* The valid one lives on the successor now. */
	ASSERT_EQ(5, app_send(c[D_NONE], 5));
	EXPECT_EQ(0, await_op(&self->b.r, JR_OP_TX, ANY_SLOT, &sqe));
	/* The reset ones have nothing left to close on any netserver. */
	for (int d = 1; d < D_NR; d++)
		close_app(c[d]);
	EXPECT_EQ(0, jr_ring_ready(&self->b.r.sq));
	expect_served(_metadata, c[D_NONE]);
	close_served(_metadata, &self->b, c[D_NONE]);
	EXPECT_EQ(0, await_proc_empty());
	fake_kill(&self->b);
}

/*
 * The successor refuses the connection (RESTORE answered -EINVAL): it
 * resets, the slot the kernel took for it on the successor comes back,
 * and its close asks nothing of anyone.
 */
TEST_F(survival, restore_refused_resets)
{
	struct jr_tcp_ckpt ck;
	struct jr_sqe sqe;
	struct conn *c;

	fake_up(_metadata, &self->a);
	ASSERT_NE(NULL, c = open_conn(_metadata, self, &self->a, 40301, 5301));
	ASSERT_EQ(0, deliver(&self->a, c, 30));
	ck = ckpt_for(c, 2);
	ckpt_write(&self->a, c, &ck);
	fake_kill(&self->a);
	expect_surviving(_metadata, c, false);

	successor_up(_metadata, &self->b, true);
	ASSERT_EQ(0, take_request(&self->b.r, &sqe));
	check_restore(_metadata, &self->b, c, &sqe, &ck);
	ASSERT_EQ(0, answer(&self->b.r, &sqe, -EINVAL));
	ASSERT_EQ(0, take_request(&self->b.r, &sqe));
	ASSERT_EQ(JR_OP_REPLAY_DONE, sqe.op) TH_LOG("op %u", sqe.op);
	ASSERT_EQ(0, answer(&self->b.r, &sqe, 0));

	expect_listed_reset(_metadata, c, "refused");
	expect_reset(_metadata, c, "refused");
	EXPECT_EQ(0, self->b.r.stats->k_slots_used);
	close_app(c);
	EXPECT_EQ(0, jr_ring_ready(&self->b.r.sq));
	EXPECT_EQ(0, await_proc_empty());
	fake_kill(&self->b);
}

/*
 * A successor that recovers but cannot take connections over (no
 * JR_F_SURVIVAL) is sent no RESTORE: an open connection resets, and one
 * the application closed during the outage is freed.
 */
TEST_F(survival, successor_without_survival_resets)
{
	struct jr_tcp_ckpt ck;
	struct jr_sqe sqe;
	struct conn *c, *closed;

	fake_up(_metadata, &self->a);
	ASSERT_NE(NULL, c = open_conn(_metadata, self, &self->a, 40401, 5401));
	ASSERT_NE(NULL, closed = open_conn(_metadata, self, &self->a, 40402, 5402));
	ASSERT_EQ(0, deliver(&self->a, c, 30));
	ck = ckpt_for(c, 2);
	ckpt_write(&self->a, c, &ck);
	ck = ckpt_for(closed, 2);
	ckpt_write(&self->a, closed, &ck);
	fake_kill(&self->a);
	expect_surviving(_metadata, c, false);
	close_app(closed);
	expect_surviving(_metadata, closed, true);

	successor_up(_metadata, &self->b, false);
	ASSERT_EQ(0, take_request(&self->b.r, &sqe));
	ASSERT_EQ(JR_OP_REPLAY_DONE, sqe.op) TH_LOG("op %u", sqe.op);
	ASSERT_EQ(0, answer(&self->b.r, &sqe, 0));

	expect_listed_reset(_metadata, c, "no survival");
	expect_reset(_metadata, c, "no survival");
	EXPECT_EQ(0, self->b.r.stats->k_slots_used);
	EXPECT_EQ(1, proc_count(NULL)) proc_dump();
	close_app(c);
	EXPECT_EQ(0, jr_ring_ready(&self->b.r.sq));
	EXPECT_EQ(0, await_proc_empty());
	fake_kill(&self->b);
}

/*
 * net.joyride.survival = 0: a connection resets at its netserver's death
 * whatever its checkpoint, as before 2.1; the successor gets nothing.
 * (The teardown turns the sysctl on again, whatever happens here.)
 */
TEST_F(survival, survival_sysctl_off)
{
	struct jr_tcp_ckpt ck;
	struct jr_sqe sqe;
	struct conn *c;

	fake_up(_metadata, &self->a);
	ASSERT_NE(NULL, c = open_conn(_metadata, self, &self->a, 40501, 5501));
	ASSERT_EQ(0, deliver(&self->a, c, 30));
	ck = ckpt_for(c, 2);
	ckpt_write(&self->a, c, &ck);
	/* Read at the death, not at the attach. */
	ASSERT_EQ(0, sysctl_write("0\n"));
	ASSERT_EQ(0, sysctl_read());
	fake_kill(&self->a);

	expect_listed_reset(_metadata, c, "sysctl off");
	expect_reset(_metadata, c, "sysctl off");
	EXPECT_EQ(0, proc_count("surviving"));
	ASSERT_EQ(0, sysctl_write("1\n"));

	successor_up(_metadata, &self->b, true);
	ASSERT_EQ(0, take_request(&self->b.r, &sqe));
	ASSERT_EQ(JR_OP_REPLAY_DONE, sqe.op) TH_LOG("op %u", sqe.op);
	ASSERT_EQ(0, answer(&self->b.r, &sqe, 0));
	close_app(c);
	EXPECT_EQ(0, jr_ring_ready(&self->b.r.sq));
	EXPECT_EQ(0, await_proc_empty());
	fake_kill(&self->b);
}

/*
 * Connections closed with bytes still to send, one just before the death
 * (its CLOSE taken, not answered) and one during the outage: close()
 * returns at once, the kernel keeps both ("surviving", "closing"), and
 * the successor is given each (RESTORE, with the bytes) and then told to
 * close it gracefully (CLOSE, no linger), so that the bytes still go out,
 * then the FIN.  A SHUT_WR between the two is allowed (the close shut the
 * socket down for sending; the netserver sends its FIN after the ring's
 * bytes either way); nothing else is.
 */
TEST_F(survival, closed_during_outage_is_closed_after_restore)
{
	struct jr_tcp_ckpt ck_x, ck_y;
	struct jr_sqe sqe;
	struct conn *x, *y;
	bool restored_x = false, restored_y = false, closed_x = false, closed_y = false;
	int restores = 0, closes = 0, shutdowns = 0, other = 0;

	fake_up(_metadata, &self->a);
	ASSERT_NE(NULL, x = open_conn(_metadata, self, &self->a, 40601, 5601));
	ASSERT_NE(NULL, y = open_conn(_metadata, self, &self->a, 40602, 5602));
	/* x: 200 bytes not sent yet; y: 100 sent, 40 of them acknowledged. */
	ASSERT_EQ(200, app_send(x, 200));
	ASSERT_EQ(0, await_op(&self->a.r, JR_OP_TX, x->slot, &sqe));
	ASSERT_EQ(100, app_send(y, 100));
	ASSERT_EQ(0, await_op(&self->a.r, JR_OP_TX, y->slot, &sqe));
	ack(&self->a, y, 40);
	ck_x = ckpt_for(x, 2);
	ckpt_write(&self->a, x, &ck_x);
	ck_y = ckpt_for(y, 6);
	ckpt_write(&self->a, y, &ck_y);
	/* y closes while the netserver lives; it dies before answering. */
	ASSERT_EQ(0, close(y->fd));
	y->fd = -1;
	ASSERT_EQ(0, await_op(&self->a.r, JR_OP_CLOSE, y->slot, &sqe));
	EXPECT_EQ(0, sqe.u.close.linger_on);

	fake_kill(&self->a);

	expect_surviving(_metadata, x, false);
	expect_surviving(_metadata, y, true);
	ASSERT_EQ(30, app_send(x, 30));
	ASSERT_EQ(0, close(x->fd));
	x->fd = -1;
	expect_surviving(_metadata, x, true);

	successor_up(_metadata, &self->b, true);
	for (;;) {
		struct conn *c = NULL;

		ASSERT_EQ(0, take_request(&self->b.r, &sqe));
		if (sqe.op == JR_OP_REPLAY_DONE)
			break;
		if (sqe.op == JR_OP_RESTORE) {
			restores++;
			if (sqe.u.restore.local_port == htons(x->lport) && !restored_x) {
				check_restore(_metadata, &self->b, x, &sqe, &ck_x);
				restored_x = true;
			} else if (sqe.u.restore.local_port == htons(y->lport) && !restored_y) {
				check_restore(_metadata, &self->b, y, &sqe, &ck_y);
				restored_y = true;
			} else {
				other++;
			}
		} else {
			if (restored_x && !closed_x && sqe.slot == x->slot)
				c = x;
			else if (restored_y && !closed_y && sqe.slot == y->slot)
				c = y;
			if (c && sqe.op == JR_OP_CLOSE) {
				closes++;
				EXPECT_EQ(0, sqe.u.close.linger_on);
				/* Not consumed: the successor sends what is left. */
				EXPECT_EQ(c->tx_cons,
					  jr_load_acquire(&self->b.r.slots[c->slot].tx_cons));
				*(c == x ? &closed_x : &closed_y) = true;
			} else if (c && sqe.op == JR_OP_SHUTDOWN &&
				   sqe.u.shutdown.how == SHUT_WR) {
				shutdowns++;
			} else {
				other++;
				TH_LOG("unexpected request: op %u slot %u", sqe.op, sqe.slot);
			}
		}
		ASSERT_EQ(0, answer(&self->b.r, &sqe, 0));
	}
	ASSERT_EQ(0, answer(&self->b.r, &sqe, 0));
	EXPECT_EQ(2, restores);
	EXPECT_TRUE(closed_x);
	EXPECT_TRUE(closed_y);
	EXPECT_EQ(2, closes);
	EXPECT_GE(2, shutdowns);
	EXPECT_EQ(0, other);
	EXPECT_EQ(0, await_proc_empty());
	EXPECT_EQ(0, self->b.r.stats->k_slots_used);
	fake_kill(&self->b);
}

/*
 * The peer's FIN recorded in the checkpoint (JR_CKPT_F_FIN_RCVD; the
 * netserver died before its JR_EV_RX_FIN): during the outage the
 * application reads the data, then end of file, and poll() says so as
 * after JR_EV_RX_FIN; its own half stays open (it sends), and a shutdown
 * it makes meanwhile reaches the successor after the RESTORE.
 */
TEST_F(survival, fin_in_checkpoint_is_end_of_file)
{
	struct jr_tcp_ckpt ck;
	struct pollfd pfd;
	struct jr_sqe sqe;
	struct conn *c;
	char byte;

	fake_up(_metadata, &self->a);
	ASSERT_NE(NULL, c = open_conn(_metadata, self, &self->a, 40701, 5701));
	ASSERT_EQ(0, deliver(&self->a, c, 20));
	ck = ckpt_for(c, 2);
	ck.flags = JR_CKPT_F_FIN_RCVD;
	ckpt_write(&self->a, c, &ck);
	fake_kill(&self->a);

	expect_surviving(_metadata, c, false);
	EXPECT_EQ(20, app_recv(c, 20));
	EXPECT_EQ(0, recv(c->fd, &byte, 1, MSG_DONTWAIT));
	pfd = (struct pollfd){ .fd = c->fd, .events = POLLIN | POLLRDHUP };
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLIN | POLLRDHUP, pfd.revents & (POLLIN | POLLRDHUP | POLLERR | POLLHUP));
	EXPECT_EQ(5, app_send(c, 5));
	EXPECT_EQ(0, shutdown(c->fd, SHUT_WR));
	expect_surviving(_metadata, c, false);

	successor_up(_metadata, &self->b, true);
	ASSERT_EQ(0, take_request(&self->b.r, &sqe));
	check_restore(_metadata, &self->b, c, &sqe, &ck);
	ASSERT_EQ(0, answer(&self->b.r, &sqe, 0));
	ASSERT_EQ(0, take_request(&self->b.r, &sqe));
	ASSERT_EQ(JR_OP_SHUTDOWN, sqe.op) TH_LOG("op %u", sqe.op);
	EXPECT_EQ(c->slot, sqe.slot);
	EXPECT_EQ(SHUT_WR, sqe.u.shutdown.how);
	EXPECT_EQ(JR_SQE_F_REPLAY, sqe.flags);
	ASSERT_EQ(0, answer(&self->b.r, &sqe, 0));
	ASSERT_EQ(0, take_request(&self->b.r, &sqe));
	ASSERT_EQ(JR_OP_REPLAY_DONE, sqe.op) TH_LOG("op %u", sqe.op);
	ASSERT_EQ(0, answer(&self->b.r, &sqe, 0));

	expect_served(_metadata, c);
	EXPECT_EQ(0, recv(c->fd, &byte, 1, MSG_DONTWAIT));
	errno = 0;
	EXPECT_EQ(-1, send(c->fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
	EXPECT_EQ(EPIPE, errno);
	close_served(_metadata, &self->b, c);
	EXPECT_EQ(0, await_proc_empty());
	fake_kill(&self->b);
}

/*
 * The successor dies while it is being given a connection (RESTORE taken,
 * not answered; the slot as the kernel wrote it): that connection
 * survives again, now on the successor's slot, and the one not reached
 * yet stays on the first netserver's; the application reads meanwhile,
 * and the next successor is given both, each as it was.
 */
TEST_F(survival, successor_dies_during_restore)
{
	struct jr_tcp_ckpt ck_x, ck_y;
	struct jr_sqe sqe;
	struct conn *x, *y;
	int restores = 0, other = 0;

	fake_up(_metadata, &self->a);
	ASSERT_NE(NULL, x = open_conn(_metadata, self, &self->a, 40901, 5901));
	ASSERT_NE(NULL, y = open_conn(_metadata, self, &self->a, 40902, 5902));
	ASSERT_EQ(0, deliver(&self->a, x, 10));
	ASSERT_EQ(0, deliver(&self->a, y, 12));
	ASSERT_EQ(7, app_send(y, 7));
	ck_x = ckpt_for(x, 2);
	ckpt_write(&self->a, x, &ck_x);
	ck_y = ckpt_for(y, 8);
	ckpt_write(&self->a, y, &ck_y);
	fake_kill(&self->a);

	successor_up(_metadata, &self->b, true);
	ASSERT_EQ(0, take_request(&self->b.r, &sqe));
	ASSERT_EQ(JR_OP_RESTORE, sqe.op) TH_LOG("op %u", sqe.op);
	if (sqe.u.restore.local_port == htons(x->lport))
		check_restore(_metadata, &self->b, x, &sqe, &ck_x);
	else
		check_restore(_metadata, &self->b, y, &sqe, &ck_y);
	fake_kill(&self->b);

	expect_surviving(_metadata, x, false);
	expect_surviving(_metadata, y, false);
	EXPECT_EQ(10, app_recv(x, 10));
	EXPECT_EQ(5, app_recv(y, 5));
	EXPECT_EQ(3, app_send(x, 3));

	/* The third netserver. */
	successor_up(_metadata, &self->a, true);
	for (;;) {
		ASSERT_EQ(0, take_request(&self->a.r, &sqe));
		if (sqe.op == JR_OP_REPLAY_DONE)
			break;
		if (sqe.op == JR_OP_RESTORE && sqe.u.restore.local_port == htons(x->lport)) {
			check_restore(_metadata, &self->a, x, &sqe, &ck_x);
			restores++;
		} else if (sqe.op == JR_OP_RESTORE &&
			   sqe.u.restore.local_port == htons(y->lport)) {
			check_restore(_metadata, &self->a, y, &sqe, &ck_y);
			restores++;
		} else {
			other++;
			TH_LOG("unexpected request: op %u slot %u", sqe.op, sqe.slot);
		}
		ASSERT_EQ(0, answer(&self->a.r, &sqe, 0));
	}
	ASSERT_EQ(0, answer(&self->a.r, &sqe, 0));
	EXPECT_EQ(2, restores);
	EXPECT_EQ(0, other);
	expect_served(_metadata, x);
	expect_served(_metadata, y);
	EXPECT_EQ(7, app_recv(y, 7));
	ASSERT_EQ(1, app_send(y, 1));
	EXPECT_EQ(0, await_op(&self->a.r, JR_OP_TX, y->slot, &sqe));
	close_served(_metadata, &self->a, x);
	close_served(_metadata, &self->a, y);
	EXPECT_EQ(0, await_proc_empty());
	fake_kill(&self->a);
}

/*
 * The successor dies while being given a connection, having begun to
 * rewrite the checkpoint in its slot (seq odd, as a netserver taking the
 * connection over does): there is no whole checkpoint now, so the
 * connection resets at that death.  A reset connection is over: the next
 * successor must not be given it again, neither as a connection nor as a
 * fresh socket bound to its port.
 */
TEST_F(survival, reset_during_restore_is_not_replayed)
{
	struct jr_tcp_ckpt ck;
	struct jr_sqe sqe;
	struct conn *x;
	int pending;

	fake_up(_metadata, &self->a);
	ASSERT_NE(NULL, x = open_conn(_metadata, self, &self->a, 41001, 6001));
	ASSERT_EQ(0, deliver(&self->a, x, 10));
	ck = ckpt_for(x, 2);
	ckpt_write(&self->a, x, &ck);
	fake_kill(&self->a);
	expect_surviving(_metadata, x, false);

	successor_up(_metadata, &self->b, true);
	ASSERT_EQ(0, take_request(&self->b.r, &sqe));
	check_restore(_metadata, &self->b, x, &sqe, &ck);
	jr_store_release(&self->b.r.slots[x->slot].ckpt.seq, ck.seq + 1);
	fake_kill(&self->b);
	expect_reset(_metadata, x, "reset at the successor's death");

	successor_up(_metadata, &self->a, true);
	EXPECT_EQ(0, serve_replay_honestly(&self->a.r)) {
		TH_LOG("the reset connection was replayed to the next netserver");
	}
	expect_listed_reset(_metadata, x, "after the next replay");
	close_app(x);
	pending = jr_ring_ready(&self->a.r.sq);
	EXPECT_EQ(0, pending);
	/* If it was replayed, its close is owed to this netserver: answer it. */
	for (int i = 0; i < pending; i++)
		serve_honestly(&self->a.r, &sqe);
	EXPECT_EQ(0, await_proc_empty());
	fake_kill(&self->a);
}

/*
 * A successor that takes no replay (attached without JR_ATTACH_F_RECOVER):
 * the surviving connections cannot be restored.  An open one resets at
 * its attach; one the application closed during the outage is freed, not
 * kept for ever.  Last in the file: a socket this leaked would stay for
 * the rest of the boot.
 */
TEST_F(survival, closed_survivor_is_freed_without_a_replay)
{
	struct jr_tcp_ckpt ck;
	struct conn *c, *closed;

	fake_up(_metadata, &self->a);
	ASSERT_NE(NULL, c = open_conn(_metadata, self, &self->a, 40801, 5801));
	ASSERT_NE(NULL, closed = open_conn(_metadata, self, &self->a, 40802, 5802));
	ASSERT_EQ(20, app_send(closed, 20));
	ck = ckpt_for(c, 2);
	ckpt_write(&self->a, c, &ck);
	ck = ckpt_for(closed, 2);
	ckpt_write(&self->a, closed, &ck);
	fake_kill(&self->a);
	expect_surviving(_metadata, c, false);
	close_app(closed);
	expect_surviving(_metadata, closed, true);

	ASSERT_EQ(0, fake_attach(&self->b, true, false));
	EXPECT_FALSE(self->b.r.params.flags & JR_ATTACH_F_RECOVERING);
	/* Decided in the attach: no RESTORE, no replay at all. */
	expect_listed_reset(_metadata, c, "no replay");
	expect_reset(_metadata, c, "no replay");
	EXPECT_EQ(0, jr_ring_ready(&self->b.r.sq));
	EXPECT_EQ(0, self->b.r.stats->k_slots_used);
	close_app(c);
	EXPECT_EQ(0, await_proc_empty());
	fake_kill(&self->b);
}

TEST_HARNESS_MAIN
