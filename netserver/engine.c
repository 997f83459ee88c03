// SPDX-License-Identifier: GPL-2.0
/*
 * The engine: one run-to-completion loop.
 *
 *   RX burst -> lwIP input -> serve each frontend's SQ and tx rings ->
 *   lwIP timers -> TX burst -> post events, kick owners
 *
 * The frames go to the NIC before the kicks: a kick is a system call, and
 * the peer should not wait for it.  Under load the loop spins and makes no
 * system call per message (the only ones are the owners' kicks, one per
 * iteration that produced completions).  With --poll adaptive, after the
 * idle time (learned, at least idle_us) without work it sets NEED_WAKEUP
 * on every SQ and sleeps in io_uring on the SQ doorbells, the port's RX
 * interrupt (if the PMD has one), the user-frontend listening socket, the
 * connections of hand-overs under way, and a timeout for lwIP's next
 * timer.
 *
 * A user frontend's hand-over never blocks the loop: accepting it sends the
 * request, and its answer is picked up when it arrives (looked for every
 * NS_HANDOVER_CHECK_US), or the connection is dropped after 2 s.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_ring.h>

/* As in port.c: DPDK's headers define glibc's struct ip6_hdr. */
#define ip6_hdr lwip_ip6_hdr
#include "lwip/netif.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#undef ip6_hdr

#include "netserver.h"

int ns_front_setup(struct ns_front *front);

#define NS_EMBRYOS		4096
/* Without an RX interrupt the NIC must still be polled while we sleep. */
#define NS_SLEEP_NO_RX_INTR_US	1000
#define NS_SLEEP_MAX_US		1000000
/*
 * The idle time before sleeping is learned: twice the recent gap between
 * bursts of work (a round trip, for request/response traffic), at least
 * --idle-us, at most NS_IDLE_MAX_US.  Gaps longer than that are not
 * traffic whose latency a sleep would hurt, and are not learned from.
 */
#define NS_IDLE_MAX_US		2000
#define NS_UFRONT_CHECK_US	10000
/* A user frontend has this long to answer the hand-over; meanwhile its
 * connection is looked at every NS_HANDOVER_CHECK_US (one non-blocking
 * recvmsg), and the engine's sleep wakes when it answers. */
#define NS_HANDOVER_TIMEOUT_US	2000000
#define NS_HANDOVER_CHECK_US	200

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---------------------------------------------------------- embryos */

static int embryos_init(struct ns_engine *eng)
{
	eng->embryo_mem = calloc(NS_EMBRYOS, sizeof(struct ns_sock));
	if (!eng->embryo_mem)
		return -ENOMEM;
	for (int i = 0; i < NS_EMBRYOS; i++) {
		eng->embryo_mem[i].next = eng->embryo_pool;
		eng->embryo_pool = &eng->embryo_mem[i];
	}
	return 0;
}

struct ns_sock *ns_embryo_get(struct ns_engine *eng)
{
	struct ns_sock *e = eng->embryo_pool;

	if (e) {
		eng->embryo_pool = e->next;
		memset(e, 0, sizeof(*e));
	}
	return e;
}

void ns_embryo_put(struct ns_engine *eng, struct ns_sock *e)
{
	memset(e, 0, sizeof(*e));
	e->next = eng->embryo_pool;
	eng->embryo_pool = e;
}

/* -------------------------------------------------------- frontends */

static void front_add(struct ns_engine *eng, struct ns_front *front)
{
	front->next = eng->fronts;
	eng->fronts = front;
}

/*
 * Attach as today's single netserver (engine 0), as engine K (--engine K),
 * or as a standby (--standby: the region is made now, the engine index
 * comes from ns_engine_standby_wait).
 */
int ns_engine_attach_kernel(struct ns_engine *eng)
{
	struct ns_config *cfg = eng->cfg;
	struct ns_front *front = ns_front_create(eng, "kernel");
	const char *setting = "device", *what = cfg->device;
	struct jr_attach req;
	char fd_name[32];
	int err;

	if (!front)
		return -ENOMEM;
	if (cfg->device_fd >= 0) {
		setting = "device-fd";
		snprintf(fd_name, sizeof(fd_name), "descriptor %d", cfg->device_fd);
		what = fd_name;
	}
	jr_attach_defaults(&req);
	req.features |= JR_F_IPV6;	/* lwIP is dual stack */
	req.features |= JR_F_MULTICAST;	/* IGMP, MLD */
	req.features |= JR_F_SURVIVAL;	/* connections outlive us */
	req.features |= JR_F_STATS;	/* publish_stats(), tcp_gauge_write() */
	req.features |= JR_F_ACCEPT_LOCAL;	/* complete_accept() */
	req.nr_slots = cfg->slots;
	req.rx_buf_size = cfg->rx_buf;
	req.tx_buf_size = cfg->tx_buf;
	req.sq_entries = cfg->sq_entries;
	req.cq_entries = cfg->cq_entries;
	req.flags = JR_ATTACH_F_RECOVER;
	if (cfg->mode == NS_MODE_ENGINE)
		req.engine = cfg->engine;
	else if (cfg->mode == NS_MODE_STANDBY)
		req.flags |= JR_ATTACH_F_STANDBY;
	/*
	 * An inherited descriptor was opened by a privileged launcher: the
	 * kernel checks CAP_NET_ADMIN of whoever opened the device, so this
	 * process may attach on it with no privilege of its own.
	 */
	if (cfg->device_fd >= 0)
		err = jr_attach_kernel_fd(cfg->device_fd, &req, &front->region);
	else
		err = jr_attach_kernel(cfg->device, &req, &front->region);
	if (!err)
		err = ns_front_setup(front);
	if (err) {
		ns_err("%s: cannot attach to %s%s: %s", setting, what,
		       cfg->mode == NS_MODE_STANDBY ? " as a standby" : "", strerror(-err));
		if (err == -EBUSY)
			ns_err("engine %u of this network namespace is served already "
			       "(another jr-netserver; give another --engine), or this "
			       "joyride.ko serves one engine per namespace", req.engine);
		if (err == -EINVAL && cfg->mode == NS_MODE_STANDBY)
			ns_err("this joyride.ko takes no standbys (JR_ATTACH_F_STANDBY)");
		if (err == -EPERM)
			ns_err("the kernel lets only a device file opened with "
			       "CAP_NET_ADMIN attach (Documentation/operations.md)");
		ns_front_destroy(front);
		return err;
	}
	ns_info("attached to %s%s: %u slots, %u/%u byte rings, features 0x%llx%s",
		what, cfg->mode == NS_MODE_STANDBY ? " as a standby" : "",
		req.nr_slots, req.rx_buf_size, req.tx_buf_size,
		(unsigned long long)req.features,
		req.flags & JR_ATTACH_F_RECOVERING ? ", recovering" : "");
	if (cfg->mode != NS_MODE_STANDBY)
		ns_info("engine %u of %u serving this namespace", req.engine, req.nr_engines);
	if (req.flags & JR_ATTACH_F_RECOVERING)
		ns_front_replay_begins(front);
	front_add(eng, front);
	return 0;
}

/*
 * A standby sleeps in the kernel until an engine of its namespace dies;
 * then the kernel has made this region that engine's, and a replay of the
 * dead engine's sockets follows on the SQ.  Returns the engine index, or
 * -EINTR if SIGINT/SIGTERM asked us to stop meanwhile.
 */
int ns_engine_standby_wait(struct ns_engine *eng, struct jr_attach *out)
{
	struct ns_front *front = eng->fronts;

	for (;;) {
		memset(out, 0, sizeof(*out));
		if (ioctl(front->region.fd, JR_IOC_STANDBY_WAIT, out) == 0)
			break;
		if (errno != EINTR) {
			ns_err("standby: waiting for an engine to take over failed: %s",
			       strerror(errno));
			return -errno;
		}
		if (eng->stop)
			return -EINTR;
	}
	if (out->engine >= JR_MAX_ENGINES) {
		ns_err("standby: the kernel handed over engine %u (at most %u)", out->engine,
		       JR_MAX_ENGINES - 1);
		return -EPROTO;
	}
	front->region.params.epoch = out->epoch;
	front->region.params.engine = out->engine;
	front->region.params.nr_engines = out->nr_engines;
	if (out->flags & JR_ATTACH_F_RECOVERING)
		ns_front_replay_begins(front);
	return out->engine;
}

/* What the netserver asks every user frontend for. */
static void ufront_request(const struct ns_engine *eng, struct jr_attach *req)
{
	const struct ns_config *cfg = eng->cfg;

	jr_attach_defaults(req);
	/* IPv4 multicast for libjr-preload.so's sockets; the user frontend
	 * has no IPv6 (jr_ufront_accept_start() drops it). */
	req->features |= JR_F_MULTICAST;
	req->nr_slots = cfg->slots;
	req->rx_buf_size = cfg->rx_buf;
	req->tx_buf_size = cfg->tx_buf;
	req->sq_entries = cfg->sq_entries;
	req->cq_entries = cfg->cq_entries;
}

/*
 * The first half of a hand-over: accept and send the request, without
 * waiting for the answer (a client that never answers must not stall
 * every other frontend); poll_handovers() takes the answers.
 */
static void accept_ufronts(struct ns_engine *eng, uint64_t now)
{
	struct jr_attach req;

	ufront_request(eng, &req);
	/* Bounded: a listening socket that keeps failing must not spin. */
	for (int tries = 0; tries < NS_MAX_HANDOVERS &&
			    eng->nr_handovers < NS_MAX_HANDOVERS; tries++) {
		int fd = jr_ufront_accept_start(eng->ufront_listen_fd, &req);

		if (fd == -EAGAIN)
			return;
		if (fd < 0) {
			ns_warn("user frontend: cannot accept: %s", strerror(-fd));
			/* Out of descriptors or memory: try again later. */
			if (fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM ||
			    fd == -ENOBUFS)
				return;
			continue;
		}
		eng->handovers[eng->nr_handovers].fd = fd;
		eng->handovers[eng->nr_handovers].deadline_us = now + NS_HANDOVER_TIMEOUT_US;
		eng->nr_handovers++;
	}
}

static void handover_drop(struct ns_engine *eng, unsigned int i)
{
	eng->handovers[i] = eng->handovers[--eng->nr_handovers];
}

/* The second half: answers that arrived, and hand-overs out of time. */
static void poll_handovers(struct ns_engine *eng, uint64_t now)
{
	struct jr_attach req;
	unsigned int i = 0;

	ufront_request(eng, &req);
	while (i < eng->nr_handovers) {
		struct ns_handover *h = &eng->handovers[i];
		struct jr_region region;
		struct ns_front *front;
		int err;

		err = jr_ufront_accept_finish(h->fd, &req, &region);
		if (err == -EAGAIN) {
			if ((int64_t)(now - h->deadline_us) < 0) {
				i++;
				continue;
			}
			ns_warn("user frontend refused: no answer to the hand-over within %u s",
				NS_HANDOVER_TIMEOUT_US / 1000000);
			close(h->fd);
			handover_drop(eng, i);
			continue;
		}
		handover_drop(eng, i);	/* the descriptor is region's or closed */
		if (err) {
			ns_warn("user frontend refused: %s", strerror(-err));
			continue;
		}
		front = ns_front_create(eng, "user frontend");
		if (!front) {
			jr_region_destroy(&region);
			ns_warn("user frontend refused: %s", strerror(ENOMEM));
			continue;
		}
		front->region = region;
		err = ns_front_setup(front);
		if (err) {
			ns_warn("user frontend refused: %s", strerror(-err));
			ns_front_destroy(front);
			continue;
		}
		ns_info("user frontend attached: %u slots", front->region.params.nr_slots);
		front_add(eng, front);
	}
}

/* A user frontend whose process went away, or one that misbehaved. */
static void reap_fronts(struct ns_engine *eng)
{
	struct ns_front **pp = &eng->fronts;

	while (*pp) {
		struct ns_front *front = *pp;
		bool gone = front->dead;

		if (!gone && front->region.conn_fd >= 0) {
			struct pollfd pfd = { .fd = front->region.conn_fd, .events = POLLIN };

			gone = poll(&pfd, 1, 0) == 1 &&
			       (pfd.revents & (POLLHUP | POLLERR | POLLIN));
		}
		if (!gone) {
			pp = &front->next;
			continue;
		}
		ns_info("%s detached", front->name);
		*pp = front->next;
		ns_front_destroy(front);
	}
}

/* ------------------------------------------------------------ sleep */

#define NS_SLEEP_TAG	0x534c454550ULL		/* every SQE of one sleep */
#define NS_KICK_TAG	0x4b49434bULL		/* user-frontend kicks */

/*
 * Kick a user frontend through io_uring rather than write(2), for the same
 * reason the doorbells are read that way: the descriptor is the client's.
 * Submitted once per loop turn with the others (ns_engine_submit_kicks).
 */
void ns_engine_kick(struct ns_engine *eng, struct ns_front *front)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&eng->ring);

	if (!sqe) {
		io_uring_submit(&eng->ring);
		sqe = io_uring_get_sqe(&eng->ring);
		if (!sqe)
			return;
	}
	io_uring_prep_write(sqe, front->region.cq_eventfd, &eng->kick_value,
			    sizeof(eng->kick_value), 0);
	io_uring_sqe_set_data64(sqe, NS_KICK_TAG);
	eng->kicks_queued++;
}

static void submit_kicks(struct ns_engine *eng)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0;

	if (eng->kicks_queued) {
		io_uring_submit(&eng->ring);
		eng->kicks_queued = 0;
	}
	/* Reaping is a memory read: no system call unless something is there. */
	io_uring_for_each_cqe(&eng->ring, head, cqe)
		seen++;
	io_uring_cq_advance(&eng->ring, seen);
}

static bool work_pending(struct ns_engine *eng)
{
	for (struct ns_front *f = eng->fronts; f; f = f->next)
		if (!f->dead && jr_ring_prepare_sleep(&f->region.sq))
			return true;
	if (eng->port.relay_in && eng->port.queue && rte_ring_count(eng->port.relay_in))
		return true;
	return rte_eth_rx_queue_count(eng->port.id, eng->port.queue) > 0;
}

static void finish_sleep(struct ns_engine *eng)
{
	for (struct ns_front *f = eng->fronts; f; f = f->next)
		jr_ring_finish_sleep(&f->region.sq);
	ns_port_rx_intr(&eng->port, false);
}

static void engine_sleep(struct ns_engine *eng)
{
	struct io_uring *ring = &eng->ring;
	struct __kernel_timespec ts;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	uint64_t sleep_us;
	u32_t timer_ms;
	unsigned int armed = 0;

	/* Flag first, then look once more: a doorbell rung in between is
	 * seen either by the owner (flag set) or by us (entries present). */
	ns_port_rx_intr(&eng->port, true);
	if (work_pending(eng)) {
		finish_sleep(eng);
		return;
	}
	timer_ms = sys_timeouts_sleeptime();
	sleep_us = timer_ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE ? NS_SLEEP_MAX_US
							       : (uint64_t)timer_ms * 1000;
	if (eng->port.rx_intr_fd < 0 && sleep_us > NS_SLEEP_NO_RX_INTR_US)
		sleep_us = NS_SLEEP_NO_RX_INTR_US;
	if (eng->nr_handovers) {
		uint64_t now = now_us();

		for (unsigned int i = 0; i < eng->nr_handovers; i++) {
			uint64_t d = eng->handovers[i].deadline_us;
			uint64_t left = d > now ? d - now : 0;

			if (left < sleep_us)
				sleep_us = left;
		}
	}
	if (sleep_us > NS_SLEEP_MAX_US)
		sleep_us = NS_SLEEP_MAX_US;

	for (struct ns_front *f = eng->fronts; f; f = f->next) {
		/*
		 * The doorbell is read by io_uring, never by read(2): a user
		 * frontend could hand us a descriptor that blocks, and only an
		 * io_uring worker would wait on it, not the engine.
		 */
		if (f->region.sq_eventfd >= 0 && armed < NS_MAX_SLEEP_FDS &&
		    (sqe = io_uring_get_sqe(ring))) {
			io_uring_prep_read(sqe, f->region.sq_eventfd,
					   &eng->doorbell_buf[armed], sizeof(uint64_t), 0);
			io_uring_sqe_set_data64(sqe, NS_SLEEP_TAG);
			armed++;
		}
		if (f->region.conn_fd >= 0 && (sqe = io_uring_get_sqe(ring))) {
			io_uring_prep_poll_add(sqe, f->region.conn_fd, POLLIN);
			io_uring_sqe_set_data64(sqe, NS_SLEEP_TAG);
			armed++;
		}
	}
	if (eng->port.rx_intr_fd >= 0 && (sqe = io_uring_get_sqe(ring))) {
		io_uring_prep_poll_add(sqe, eng->port.rx_intr_fd, POLLIN);
		io_uring_sqe_set_data64(sqe, NS_SLEEP_TAG);
		armed++;
	}
	if (eng->ufront_listen_fd >= 0 && (sqe = io_uring_get_sqe(ring))) {
		io_uring_prep_poll_add(sqe, eng->ufront_listen_fd, POLLIN);
		io_uring_sqe_set_data64(sqe, NS_SLEEP_TAG);
		armed++;
	}
	/* Hand-overs under way: their answer wakes us. */
	for (unsigned int i = 0; i < eng->nr_handovers; i++) {
		sqe = io_uring_get_sqe(ring);
		if (!sqe)
			break;
		io_uring_prep_poll_add(sqe, eng->handovers[i].fd, POLLIN);
		io_uring_sqe_set_data64(sqe, NS_SLEEP_TAG);
		armed++;
	}
	ts.tv_sec = (long long)(sleep_us / 1000000);
	ts.tv_nsec = (long long)(sleep_us % 1000000) * 1000;
	eng->sleeps++;
	for (struct ns_front *f = eng->fronts; f; f = f->next)
		f->region.stats->s_sleeps++;
	io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);

	/* Whatever woke us, withdraw the rest of this sleep's polls. */
	if (armed && (sqe = io_uring_get_sqe(ring))) {
		io_uring_prep_cancel64(sqe, NS_SLEEP_TAG, IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data64(sqe, 0);
		io_uring_submit(ring);
	}
	for (;;) {
		unsigned int head, seen = 0;
		bool cancel_done = false;

		io_uring_for_each_cqe(ring, head, cqe) {
			seen++;
			if (cqe->user_data == 0)
				cancel_done = true;
		}
		io_uring_cq_advance(ring, seen);
		if (cancel_done || !armed)
			break;
		if (io_uring_wait_cqe(ring, &cqe))
			break;
	}
	/* Requests that completed after the cancel may still trail; they
	 * carry our tag, write only into the engine's doorbell buffer, and are
	 * reaped with the next completions. */
	/* The RX interrupt fd is not drained: for some PMDs (tap) it is the
	 * queue itself, and reading it would eat a frame. */
	eng->wakeups++;
	finish_sleep(eng);
}

/* ------------------------------------------------------------ stats */

void ns_engine_print_stats(struct ns_engine *eng, FILE *out)
{
	struct ns_port *p = &eng->port;
	unsigned int nr_fronts = 0;
	uint64_t kicks = 0;
	char queue[32] = "";

	/* "port N:" as ever for the single netserver: tests look for it. */
	if (p->keeper)
		snprintf(queue, sizeof(queue), " queue %u of %u", p->queue, p->nr_queues);

	for (struct ns_front *f = eng->fronts; f; f = f->next) {
		nr_fronts++;
		kicks += f->region.stats->s_kicks;
	}
	fprintf(out,
		"jr-netserver statistics\n"
		"  port %u%s: rx %llu packets (%llu dropped), tx %llu packets (%llu dropped)\n"
		"  tcp: %llu connections open\n"
		"  engine: %llu loops, %llu sleeps, %llu wake-ups\n"
		"  counters: rx_frames=%llu rx_bytes=%llu rx_large=%llu rx_csum_hw=%llu"
		" rx_csum_bad=%llu tx_frames=%llu tx_bytes=%llu tx_segments=%llu"
		" tx_busy=%llu tx_queue_full=%llu"
		" loops=%llu sleeps=%llu kicks=%llu ev_rx=%llu ev_tx_space=%llu"
		" op_tx=%llu op_rx_space=%llu tx_acks=%llu idle_us=%llu mbufs_free=%u"
		" relayed_out=%llu relayed_in=%llu relay_full=%llu rss_syn_checked=%llu"
		" rss_syn_other_queue=%llu rss_ports_tried=%llu tcp_restored=%llu nudges=%llu\n"
		"  frontends: %u\n",
		p->id, queue, (unsigned long long)p->rx_packets, (unsigned long long)p->rx_dropped,
		(unsigned long long)p->tx_packets, (unsigned long long)p->tx_dropped,
		(unsigned long long)eng->tcp_conns, (unsigned long long)eng->loops,
		(unsigned long long)eng->sleeps, (unsigned long long)eng->wakeups,
		(unsigned long long)p->rx_packets, (unsigned long long)p->rx_bytes,
		(unsigned long long)p->rx_large, (unsigned long long)p->rx_csum_hw,
		(unsigned long long)p->rx_csum_bad, (unsigned long long)p->tx_packets,
		(unsigned long long)p->tx_bytes, (unsigned long long)p->tx_segments,
		(unsigned long long)p->tx_busy, (unsigned long long)p->tx_queue_full,
		(unsigned long long)eng->loops, (unsigned long long)eng->sleeps,
		(unsigned long long)kicks, (unsigned long long)eng->ev_rx,
		(unsigned long long)eng->ev_tx_space, (unsigned long long)eng->op_tx,
		(unsigned long long)eng->op_rx_space, (unsigned long long)eng->tx_acks,
		(unsigned long long)eng->idle_us, p->pool ? rte_mempool_avail_count(p->pool) : 0,
		(unsigned long long)p->relayed_out, (unsigned long long)p->relayed_in,
		(unsigned long long)p->relay_full, (unsigned long long)p->rss_syn_checked,
		(unsigned long long)p->rss_syn_other_queue, (unsigned long long)p->rss_ports_tried,
		(unsigned long long)eng->tcp_restored, (unsigned long long)p->nudges, nr_fronts);
	for (struct ns_front *f = eng->fronts; f; f = f->next) {
		struct jr_region *r = &f->region;
		unsigned int open = 0;

		for (uint32_t i = 0; i < r->params.nr_slots; i++)
			open += f->socks[i].state != NS_SOCK_FREE;
		fprintf(out,
			"  %s: %u/%u slots in use, sq %u/%u queued, cq %u/%u queued, kicks %llu\n",
			f->name, open, r->params.nr_slots,
			jr_read_once(r->sq.ctl->prod) - r->sq.own, r->params.sq_entries,
			r->cq.own - jr_read_once(r->cq.ctl->cons), r->params.cq_entries,
			(unsigned long long)r->stats->s_kicks);
	}
	fflush(out);
}

/*
 * The engine's counters into every frontend's region (struct jr_stats),
 * where the kernel shows them in /proc/net/joyride_stat: every
 * NS_UFRONT_CHECK_US, never per packet.  The NIC's own drop counters are
 * the port's, read here when this process owns the port; an engine of a
 * keeper leaves them to the keeper (its log, on SIGHUP).
 */
static void publish_stats(struct ns_engine *eng)
{
	const struct ns_port *p = &eng->port;
	struct rte_eth_stats nic = { 0 };
	struct timespec ts;
	uint64_t retrans;

	if (!p->keeper)
		rte_eth_stats_get(p->id, &nic);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	retrans = (uint64_t)lwip_stats.mib2.tcpretranssegs + eng->tcp_timeouts;
	for (struct ns_front *f = eng->fronts; f; f = f->next) {
		struct jr_stats *st = f->region.stats;

		jr_write_once(st->s_rx_packets, p->rx_packets);
		jr_write_once(st->s_tx_packets, p->tx_packets);
		jr_write_once(st->s_rx_bytes, p->rx_bytes);
		jr_write_once(st->s_tx_bytes, p->tx_bytes);
		jr_write_once(st->s_drop_rx_queue, nic.imissed);
		jr_write_once(st->s_drop_tx_queue, p->tx_queue_dropped);
		jr_write_once(st->s_drop_no_mbuf, nic.rx_nombuf + p->no_mbuf);
		jr_write_once(st->s_tx_busy, p->tx_busy);
		jr_write_once(st->s_drop_bad_csum, p->rx_csum_bad);
		jr_write_once(st->s_loops, eng->loops);
		jr_write_once(st->s_loops_idle, eng->loops_idle);
		jr_write_once(st->s_wakeups, eng->wakeups);
		jr_write_once(st->s_tcp_conns, eng->tcp_conns);
		jr_write_once(st->s_tcp_opened, eng->tcp_opened);
		jr_write_once(st->s_tcp_accepted, eng->tcp_accepted);
		jr_write_once(st->s_tcp_resets, eng->tcp_resets);
		jr_write_once(st->s_tcp_restored, eng->tcp_restored);
		jr_write_once(st->s_tcp_retransmits, retrans);
		jr_write_once(st->s_tcp_timeouts, eng->tcp_timeouts);
		jr_write_once(st->s_ring_full, eng->ring_full);
		jr_write_once(st->s_published_ns,
			      (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
	}
}

/* ------------------------------------------------------------- loop */

int ns_engine_init(struct ns_engine *eng)
{
	int err;

	err = embryos_init(eng);
	if (err)
		return err;
	eng->kick_value = 1;
	err = io_uring_queue_init(512, &eng->ring, 0);
	if (err) {
		ns_err("io_uring: cannot set up: %s", strerror(-err));
		return err;
	}
	eng->ring_ready = true;
	return 0;
}

/* A gap of gap_us between two bursts of work: learn the idle time. */
static void learn_idle(struct ns_engine *eng, uint64_t gap_us)
{
	uint64_t idle;

	if (gap_us > NS_IDLE_MAX_US)
		return;
	/* EWMA, 1/8 weight per sample, in microseconds. */
	eng->gap_avg_us = (7 * eng->gap_avg_us + gap_us) / 8;
	idle = 2 * eng->gap_avg_us;
	if (idle > NS_IDLE_MAX_US)
		idle = NS_IDLE_MAX_US;
	eng->idle_us = idle > eng->cfg->idle_us ? idle : eng->cfg->idle_us;
}

/*
 * A takeover (a netserver starting in recovery, a standby promoted) races
 * the peers' retransmission timers, and under load it shares the CPUs
 * with the applications, the other engines and the dead engine's exit
 * (its address space and region going away): in the guest a promoted
 * standby's first 64 loop turns took 470 ms, preempted.  With the
 * segments of a takeover held (replay_hold.c), survival's blackout was
 * 142-344 ms at nice -10 (9 kills) and 271-1105 ms at nice 0 (3 kills;
 * Documentation/benchmarks.md).  So an engine runs at cfg->takeover_nice
 * from its start (a standby: from when it parks) until NS_BOOST_HOLD_US
 * after the last replay ended (the peers' retransmissions arrive then),
 * and then goes back to the nice it had.  Raising one's priority needs CAP_SYS_NICE or an RLIMIT_NICE that
 * allows it (jrctl supervise grants one); without, the takeover runs at
 * the nice it has, said once.  Only this thread (the lcore's) is raised:
 * DPDK's own threads were made before and keep theirs.
 */
#define NS_BOOST_HOLD_US	1000000

void ns_engine_boost(struct ns_engine *eng)
{
	int want = eng->cfg->takeover_nice, now;

	if (eng->boosted)
		return;
	errno = 0;
	now = getpriority(PRIO_PROCESS, 0);
	if (now == -1 && errno)
		return;
	if (want >= now)
		return;
	if (setpriority(PRIO_PROCESS, 0, want)) {
		ns_info("takeover-nice: staying at nice %d, not %d: %s (needs CAP_SYS_NICE "
			"or RLIMIT_NICE)", now, want, strerror(errno));
		return;
	}
	eng->boosted = true;
	eng->nice_normal = now;
	eng->boost_quiet_us = 0;
	ns_info("takeover-nice: nice %d until 1 s after the replay", want);
}

/* Back to the normal nice once no replay was pending for NS_BOOST_HOLD_US. */
static void boost_check(struct ns_engine *eng, uint64_t now)
{
	if (ns_replays_pending()) {
		eng->boost_quiet_us = 0;
		return;
	}
	if (!eng->boost_quiet_us)
		eng->boost_quiet_us = now;
	if (now - eng->boost_quiet_us < NS_BOOST_HOLD_US)
		return;
	eng->boosted = false;
	/* Lowering one's own priority needs no privilege. */
	if (setpriority(PRIO_PROCESS, 0, eng->nice_normal))
		ns_warn("takeover-nice: cannot go back to nice %d: %s", eng->nice_normal,
			strerror(errno));
	else
		ns_info("takeover over: back to nice %d", eng->nice_normal);
}

int ns_engine_run(struct ns_engine *eng)
{
	uint64_t last_work = now_us(), last_check = 0, last_handover = 0, now;
	unsigned int work;
	bool was_idle = false;

	eng->idle_us = eng->cfg->idle_us;
	while (!eng->stop) {
		ns_port_retry_output(&eng->port);
		work = ns_port_poll(eng);
		work += ns_port_poll_loopback(&eng->port);
		for (struct ns_front *f = eng->fronts; f; f = f->next)
			work += ns_front_serve(f);
		sys_check_timeouts();
		ns_port_flush(&eng->port);
		for (struct ns_front *f = eng->fronts; f; f = f->next)
			ns_front_flush(f);
		submit_kicks(eng);
		/* Closing sockets above may have sent a RST; cheap when empty. */
		ns_port_flush(&eng->port);
		eng->loops++;

		now = now_us();
		if (eng->nr_handovers && now - last_handover >= NS_HANDOVER_CHECK_US) {
			last_handover = now;
			poll_handovers(eng, now);
		}
		if (now - last_check >= NS_UFRONT_CHECK_US) {
			last_check = now;
			if (eng->ufront_listen_fd >= 0) {
				accept_ufronts(eng, now);
				/* A client that answers at once is served now. */
				if (eng->nr_handovers)
					poll_handovers(eng, now);
			}
			reap_fronts(eng);
			publish_stats(eng);
			if (eng->boosted)
				boost_check(eng, now);
		}
		if (eng->print_stats) {
			eng->print_stats = 0;
			ns_engine_print_stats(eng, stdout);
		}
		if (work || eng->port.nr_tx_pending) {
			if (was_idle)
				learn_idle(eng, now - last_work);
			was_idle = false;
			last_work = now;
			continue;
		}
		was_idle = true;
		eng->loops_idle++;
		if (eng->cfg->poll == NS_POLL_ADAPTIVE &&
		    now - last_work >= eng->idle_us) {
			engine_sleep(eng);
			last_check = 0;		/* look at frontends on waking */
			last_handover = 0;
		}
	}
	return 0;
}

/*
 * Orderly stop: every frontend's sockets are closed (connections reset,
 * listeners closed), lwIP gets a moment to send those segments, then the
 * frontends detach.
 */
void ns_engine_shutdown(struct ns_engine *eng)
{
	uint64_t until;

	for (struct ns_front *f = eng->fronts; f; f = f->next)
		ns_front_shutdown(f);
	/* A standby that never took a queue has no port to poll: queue 0
	 * would be engine 0's. */
	until = eng->port.pool ? now_us() + 100000 : 0;
	while (now_us() < until) {
		ns_port_poll(eng);
		sys_check_timeouts();
		ns_port_flush(&eng->port);
	}
	while (eng->fronts) {
		struct ns_front *f = eng->fronts;

		eng->fronts = f->next;
		ns_front_destroy(f);
	}
	while (eng->nr_handovers)
		close(eng->handovers[--eng->nr_handovers].fd);
	if (eng->ring_ready)
		io_uring_queue_exit(&eng->ring);
	free(eng->embryo_mem);
}
