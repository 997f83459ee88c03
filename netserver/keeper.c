// SPDX-License-Identifier: GPL-2.0
/*
 * The port keeper (jr-netserver --keeper) and what engines look up from it.
 *
 * The keeper is the DPDK primary: it probes the NIC, creates per queue an
 * mbuf pool (and a TSO pool) and a relay ring, configures --queues queue
 * pairs with RSS over TCP, starts the port and publishes the memzone
 * NS_KEEPER_MZ (keeper.h).  Then it waits for signals, waking every
 * millisecond to drain the queues nobody serves (keeper_drain_orphans())
 * and to nudge QEMU's virtio-net when a queue may be wedged
 * (keeper_watch_queues()).  It has no lwIP, attaches to nothing and reads
 * a queue only while nobody serves it: with no data path and no untrusted
 * input it has little reason to crash, so engines can die and be replaced
 * under it without the port ever being reset.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_memzone.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "keeper.h"
#include "netserver.h"

/*
 * One queue, as keeper_watch_queues() follows it: its receive count when
 * last looked at, since when it has not moved, and when the device is to
 * be nudged next while it stays still (0: not watched, it was idle).
 */
struct ns_keeper_watch {
	uint64_t	rx;
	uint64_t	still_since_ns;
	uint64_t	nudge_at_ns;
	uint64_t	backoff_ns;
	uint64_t	owner_since_ns;	/* ns_keeper_engine.since_ns seen */
};

struct ns_keeper {
	struct ns_port		port;		/* id and offload flags only */
	uint16_t		nr_queues;
	struct rte_mempool	*pools[JR_MAX_ENGINES];
	struct rte_mempool	*tso_pools[JR_MAX_ENGINES];
	struct rte_ring		*relays[JR_MAX_ENGINES];
	const struct rte_memzone *mz;
	struct ns_keeper_info	*info;
	bool			started;
	uint64_t		drained[JR_MAX_ENGINES];	/* packets drained */
	struct ns_keeper_watch	watch[JR_MAX_ENGINES];	/* keeper_watch_queues() */
	bool			soft_rss;	/* QEMU's virtio-net: see there */
	uint64_t		watch_next_ns;
	uint64_t		nudges;		/* RSS tables sent again */
	uint64_t		nudge_errors;
};

/*
 * Descriptors the engines hand over (ns_keeper_hand_fds).  uio_pci_generic
 * clears the device's bus mastering whenever an open file of /dev/uioN is
 * released, and every DPDK process, secondaries included, opens its own:
 * one engine exiting, or killed, would stop the DMA of the whole port for
 * every engine.  The keeper keeps a reference to each engine's file, so
 * that none is released before the keeper stops the port.  One descriptor
 * per engine start, kept to the end: the price of a restart.
 */
#define NS_KEEPER_HOLD_MP	"jr_keeper_hold_fds"

static int *held_fds;		/* only the EAL's IPC thread, then teardown */
static unsigned int nr_held_fds;

static int keeper_hold_fds(const struct rte_mp_msg *msg, const void *peer)
{
	struct rte_mp_msg reply;
	int i, *more;

	memset(&reply, 0, sizeof(reply));
	snprintf(reply.name, sizeof(reply.name), "%s", msg->name);
	more = realloc(held_fds, (nr_held_fds + (unsigned int)msg->num_fds + 1) * sizeof(int));
	if (more)
		held_fds = more;
	for (i = 0; i < msg->num_fds; i++) {
		/* Out of memory: keep it open all the same, unrecorded. */
		if (more)
			held_fds[nr_held_fds++] = msg->fds[i];
	}
	reply.len_param = sizeof(int);
	memcpy(reply.param, &msg->num_fds, sizeof(int));
	return rte_mp_reply(&reply, peer);
}

/* A zombie still answers kill(0): look at its state too. */
static bool pid_alive(int32_t pid)
{
	char path[32], buf[128], *p;
	FILE *f;
	bool alive;

	if (pid <= 0 || (kill(pid, 0) && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	alive = fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ' &&
		p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return alive;
}

/* The key and RETA the PMD actually uses, for the engines' source ports. */
static int keeper_query_rss(struct ns_keeper *k)
{
	struct ns_keeper_info *ki = k->info;
	struct rte_eth_rss_reta_entry64 reta[NS_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
	struct rte_eth_rss_conf rc;
	struct rte_eth_dev_info info;
	int ret;

	ret = rte_eth_dev_info_get(k->port.id, &info);
	if (ret)
		return ret;
	if (!info.hash_key_size || info.hash_key_size > NS_RSS_KEY_MAX ||
	    !info.reta_size || info.reta_size > NS_RETA_MAX ||
	    info.reta_size % RTE_ETH_RETA_GROUP_SIZE) {
		ns_err("queues: port %u (%s) reports RSS key size %u and RETA size %u; "
		       "--queues %u needs both (key up to %u bytes, RETA up to %u entries)",
		       k->port.id, info.driver_name, info.hash_key_size, info.reta_size,
		       k->nr_queues, NS_RSS_KEY_MAX, NS_RETA_MAX);
		return -ENOTSUP;
	}
	memset(&rc, 0, sizeof(rc));
	rc.rss_key = ki->rss_key;
	rc.rss_key_len = NS_RSS_KEY_MAX;
	ret = rte_eth_dev_rss_hash_conf_get(k->port.id, &rc);
	if (ret) {
		ns_err("queues: port %u: cannot read the RSS key: %s (--queues %u needs it)",
		       k->port.id, rte_strerror(-ret), k->nr_queues);
		return ret;
	}
	memset(reta, 0, sizeof(reta));
	for (unsigned int i = 0; i < info.reta_size / RTE_ETH_RETA_GROUP_SIZE; i++)
		reta[i].mask = ~0ULL;
	ret = rte_eth_dev_rss_reta_query(k->port.id, reta, info.reta_size);
	if (ret) {
		ns_err("queues: port %u: cannot read the RSS redirection table: %s "
		       "(--queues %u needs it)", k->port.id, rte_strerror(-ret), k->nr_queues);
		return ret;
	}
	ki->rss_key_len = info.hash_key_size;
	ki->rss_hf = rc.rss_hf;
	/* keeper_watch_queues(): QEMU's, the only one known to wedge. */
	k->soft_rss = !strcmp(info.driver_name, "net_virtio");
	ki->reta_size = info.reta_size;
	for (unsigned int i = 0; i < info.reta_size; i++) {
		uint16_t q = reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];

		if (q >= k->nr_queues) {
			ns_err("queues: port %u: RETA entry %u names queue %u of %u", k->port.id,
			       i, q, k->nr_queues);
			return -EPROTO;
		}
		ki->reta[i] = q;
	}
	return 0;
}

static int keeper_setup(struct ns_keeper *k, const struct ns_config *cfg)
{
	struct ns_port *port = &k->port;
	int socket, ret;
	char name[RTE_MEMZONE_NAMESIZE];

	port->id = cfg->port;
	if (!rte_eth_dev_is_valid_port(port->id)) {
		ns_err("port: no DPDK port %u (ports available: %u; check --eal)",
		       port->id, rte_eth_dev_count_avail());
		return -1;
	}
	socket = rte_eth_dev_socket_id(port->id);
	k->mz = rte_memzone_reserve(NS_KEEPER_MZ, sizeof(*k->info), socket, 0);
	if (!k->mz) {
		ns_err("keeper: cannot reserve the memzone %s: %s (another keeper with "
		       "this --file-prefix?)", NS_KEEPER_MZ, rte_strerror(rte_errno));
		return -1;
	}
	k->info = k->mz->addr;
	memset(k->info, 0, sizeof(*k->info));
	for (unsigned int q = 0; q < k->nr_queues; q++) {
		snprintf(name, sizeof(name), NS_KEEPER_POOL_FMT, q);
		k->pools[q] = ns_port_pool_create(name, socket);
		if (!k->pools[q]) {
			ns_err("port: cannot create the mbuf pool of queue %u: %s (more huge "
			       "pages, or fewer --queues)", q, rte_strerror(rte_errno));
			return -1;
		}
		snprintf(name, sizeof(name), NS_KEEPER_RELAY_FMT, q);
		/* One producer (engine 0), one consumer (engine q). */
		k->relays[q] = rte_ring_create(name, NS_RELAY_RING_SIZE, socket,
					       RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!k->relays[q]) {
			ns_err("keeper: cannot create the relay ring of queue %u: %s", q,
			       rte_strerror(rte_errno));
			return -1;
		}
	}
	/* No RX interrupts: their descriptors would be this process's, and
	 * engines (other processes) poll. */
	ret = ns_port_configure(port, false, cfg->offloads, k->nr_queues, k->pools);
	if (ret) {
		ns_err("port: cannot configure port %u with %u queue%s: %s", port->id,
		       k->nr_queues, k->nr_queues == 1 ? "" : "s", rte_strerror(-ret));
		return -1;
	}
	for (unsigned int q = 0; port->tso && q < k->nr_queues; q++) {
		snprintf(name, sizeof(name), NS_KEEPER_TSO_FMT, q);
		k->tso_pools[q] = ns_port_tso_pool_create(name, socket);
		if (!k->tso_pools[q]) {
			/* Segments still go out, one frame each. */
			ns_warn("port: no memory for TSO buffers of queue %u (%s); TSO off",
				q, rte_strerror(rte_errno));
			port->tso = false;
		}
	}
	if (cfg->mac_set) {
		struct rte_ether_addr mac;

		memcpy(mac.addr_bytes, cfg->mac, 6);
		if (rte_eth_dev_default_mac_addr_set(port->id, &mac)) {
			ns_err("mac: port %u cannot change its address; leave --mac out "
			       "to use its own", port->id);
			return -1;
		}
	}
	ret = rte_eth_dev_start(port->id);
	if (ret) {
		ns_err("port: cannot start port %u: %s", port->id, rte_strerror(-ret));
		return -1;
	}
	k->started = true;
	/* Multicast (IPv6 neighbour discovery, groups sockets join in any
	 * engine) arrives on queue 0 whatever the groups: the engines do not
	 * program the port's filter. */
	if (rte_eth_allmulticast_enable(port->id))
		ns_warn("port: %u: all-multicast not supported; multicast groups may be missed",
			port->id);
	if (k->nr_queues > 1 && keeper_query_rss(k))
		return -1;
	/*
	 * Starting the port filled the RX rings through this lcore's mempool
	 * caches; what stayed in them would be stranded, since the keeper
	 * allocates nothing more.
	 */
	for (unsigned int q = 0; q < k->nr_queues; q++)
		rte_mempool_cache_flush(rte_mempool_default_cache(k->pools[q], rte_lcore_id()),
					k->pools[q]);
	return 0;
}

static void keeper_publish(struct ns_keeper *k)
{
	struct ns_keeper_info *ki = k->info;
	struct rte_ether_addr mac;

	rte_eth_macaddr_get(k->port.id, &mac);
	ki->magic = NS_KEEPER_MAGIC;
	ki->version = NS_KEEPER_VERSION;
	ki->keeper_pid = getpid();
	ki->port_id = k->port.id;
	ki->nr_queues = k->nr_queues;
	memcpy(ki->mac, mac.addr_bytes, 6);
	ki->tx_csum_ip = k->port.tx_csum_ip;
	ki->tx_csum_l4 = k->port.tx_csum_l4;
	ki->tso = k->port.tso;
	ki->rx_csum = k->port.rx_csum;
	ki->lro = k->port.lro;
	/* Engines check ready first: everything above is visible then. */
	__atomic_store_n(&ki->ready, 1, __ATOMIC_RELEASE);
}

static void keeper_print_stats(struct ns_keeper *k, FILE *out)
{
	struct ns_keeper_info *ki = k->info;
	struct rte_eth_stats st;

	fprintf(out, "jr-netserver keeper statistics\n");
	if (k->soft_rss)
		fprintf(out, "  queues gone still: RSS table sent again %llu time%s (%llu failed)\n",
			(unsigned long long)k->nudges, k->nudges == 1 ? "" : "s",
			(unsigned long long)k->nudge_errors);
	if (rte_eth_stats_get(k->port.id, &st) == 0) {
		fprintf(out, "  port %u: rx %llu packets (%llu missed, %llu errors, %llu no mbuf), "
			"tx %llu packets (%llu errors)\n", k->port.id,
			(unsigned long long)st.ipackets, (unsigned long long)st.imissed,
			(unsigned long long)st.ierrors, (unsigned long long)st.rx_nombuf,
			(unsigned long long)st.opackets, (unsigned long long)st.oerrors);
		for (unsigned int q = 0; q < k->nr_queues && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; q++)
			fprintf(out, "  queue %u: rx %llu tx %llu packets, pool %u of %u free, "
				"relay %u waiting\n", q,
				(unsigned long long)st.q_ipackets[q],
				(unsigned long long)st.q_opackets[q],
				rte_mempool_avail_count(k->pools[q]), k->pools[q]->size,
				rte_ring_count(k->relays[q]));
	}
	for (unsigned int e = 0; e < k->nr_queues; e++) {
		const struct ns_keeper_engine *ke = &ki->engines[e];
		int32_t pid = __atomic_load_n(&ke->pid, __ATOMIC_ACQUIRE);

		if (pid == NS_KEEPER_DRAINING)
			fprintf(out, "  engine %u: nobody serves it; the keeper drains its queue "
				"(%llu packets so far), %u takeover%s\n", e,
				(unsigned long long)k->drained[e], ke->takeovers,
				ke->takeovers == 1 ? "" : "s");
		else
			fprintf(out, "  engine %u: %s pid %d lcore %u, %u takeover%s\n", e,
				!pid ? "none," : pid < 0 ? "being handed to" :
				pid_alive(pid) ? "served by" : "dead,",
				pid < 0 ? -pid : pid, ke->lcore, ke->takeovers,
				ke->takeovers == 1 ? "" : "s");
	}
	fflush(out);
}

/*
 * Queues nobody serves: before their engine starts, after it stopped, and
 * from its death until a standby or a new engine claims the queue.  Such a
 * queue fills, and a full queue can stall the others (QEMU's software RSS
 * holds the tap queue a packet came from until the full queue's own index
 * is kicked), so the keeper reads it empty and frees what it read.  The
 * queue's owner word decides who may touch it; the keeper hands it to a
 * claimant only between two bursts (ns_keeper_claim()).
 */
static void keeper_drain_orphans(struct ns_keeper *k)
{
	struct ns_keeper_info *ki = k->info;

	for (uint16_t q = 0; q < k->nr_queues; q++) {
		struct ns_keeper_engine *ke = &ki->engines[q];
		int32_t pid = __atomic_load_n(&ke->pid, __ATOMIC_ACQUIRE);
		struct rte_mbuf *pkts[32];
		uint16_t n;

		if (pid == 0 || (pid > 0 && !pid_alive(pid))) {
			int32_t old = pid;

			if (!__atomic_compare_exchange_n(&ke->pid, &old, NS_KEEPER_DRAINING,
							 false, __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE))
				continue;
			if (pid > 0) {
				ke->dead_pid = pid;
				ns_info("keeper: engine %u (pid %d) died; draining queue %u until it is claimed",
					q, pid, q);
			}
			pid = NS_KEEPER_DRAINING;
		}
		if (pid < NS_KEEPER_DRAINING) {
			/* A claimant waits: the queue is its now. */
			__atomic_compare_exchange_n(&ke->pid, &pid, -pid, false,
						    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
			continue;
		}
		if (pid != NS_KEEPER_DRAINING)
			continue;
		do {
			n = rte_eth_rx_burst(k->port.id, q, pkts, RTE_DIM(pkts));
			if (n)
				rte_pktmbuf_free_bulk(pkts, n);
			k->drained[q] += n;
		} while (n == RTE_DIM(pkts) &&
			 __atomic_load_n(&ke->pid, __ATOMIC_ACQUIRE) == NS_KEEPER_DRAINING);
	}
}

/*
 * QEMU's virtio-net, when it spreads packets over the queues itself
 * (software RSS), can wedge a tap queue for good.  A packet read from tap
 * queue A for virtio queue B while B has no buffers is held on A, and A
 * is read again only when the driver kicks virtio queue A (QEMU flushes
 * the tap queue of the queue kicked) or sets the device status again.
 * When B's buffers are back, a packet for B from another tap queue turns
 * B's notifications off, so nobody kicks anything and A's flows stop.  It
 * takes a queue left full: what a killed engine leaves until its
 * successor polls.  Measured: 7 of 16 connections streaming into the
 * killed engine's queue stopped for good, their retransmissions held in
 * QEMU while the successor polled a queue with 255 free buffers (QEMU's
 * `info virtio-queue-status`).
 *
 * No ethdev call kicks a queue.  Sending the same RSS table again makes
 * QEMU set the status again, which flushes every tap queue, and changes
 * nothing else.  The keeper does it when a server asks (it found its queue
 * full after a gap: ns_port_poll()), and, as a backstop, when a queue that
 * was receiving goes still (or changes hands), for as long as it stays
 * still: after 50 ms, then at intervals doubling up to 1.28 s, for 10 s.
 * A queue merely idle costs some control commands per pause; only
 * virtio-net gets them.
 */
#define NS_MSEC			1000000ULL
#define NS_WATCH_PERIOD_NS	(5 * NS_MSEC)
#define NS_WATCH_STILL_NS	(50 * NS_MSEC)
#define NS_WATCH_BACKOFF_MAX_NS	(1280 * NS_MSEC)
#define NS_WATCH_GIVE_UP_NS	(10000 * NS_MSEC)

static uint64_t keeper_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 * NS_MSEC + (uint64_t)ts.tv_nsec;
}

static void keeper_watch_arm(struct ns_keeper_watch *w, uint64_t now)
{
	w->still_since_ns = now;
	w->backoff_ns = NS_WATCH_STILL_NS;
	w->nudge_at_ns = now + NS_WATCH_STILL_NS;
}

/* The same RSS table again: QEMU flushes what its tap queues hold. */
static void keeper_nudge(struct ns_keeper *k)
{
	struct ns_keeper_info *ki = k->info;
	struct rte_eth_rss_reta_entry64 reta[NS_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
	int ret;

	memset(reta, 0, sizeof(reta));
	for (unsigned int i = 0; i < ki->reta_size; i++) {
		reta[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ULL << (i % RTE_ETH_RETA_GROUP_SIZE);
		reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = ki->reta[i];
	}
	ret = rte_eth_dev_rss_reta_update(k->port.id, reta, ki->reta_size);
	if (ret) {
		/* Said once: the next ones would say the same. */
		if (!k->nudge_errors++)
			ns_warn("keeper: sending the RSS table again failed: %s; a queue "
				"QEMU wedged stays wedged", rte_strerror(-ret));
		return;
	}
	k->nudges++;
}

static void keeper_watch_queues(struct ns_keeper *k)
{
	struct ns_keeper_info *ki = k->info;
	struct rte_eth_stats st;
	uint64_t now;
	bool nudge = false;

	if (!k->soft_rss)
		return;
	/* Asked for by a server that found its queue full (ns_port_poll). */
	for (uint16_t q = 0; q < k->nr_queues; q++)
		if (__atomic_exchange_n(&ki->engines[q].nudge, 0, __ATOMIC_ACQ_REL))
			nudge = true;
	now = keeper_now_ns();
	if (now >= k->watch_next_ns && !rte_eth_stats_get(k->port.id, &st)) {
		k->watch_next_ns = now + NS_WATCH_PERIOD_NS;
		for (uint16_t q = 0; q < k->nr_queues && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; q++) {
			struct ns_keeper_watch *w = &k->watch[q];
			uint64_t owner = __atomic_load_n(&ki->engines[q].since_ns,
							 __ATOMIC_ACQUIRE);

			if (st.q_ipackets[q] != w->rx || owner != w->owner_since_ns) {
				w->rx = st.q_ipackets[q];
				w->owner_since_ns = owner;
				keeper_watch_arm(w, now);
				continue;
			}
			if (!w->nudge_at_ns || now < w->nudge_at_ns)
				continue;
			if (now - w->still_since_ns >= NS_WATCH_GIVE_UP_NS) {
				w->nudge_at_ns = 0;	/* idle: watched again once it moves */
				continue;
			}
			nudge = true;
			w->backoff_ns = w->backoff_ns * 2 < NS_WATCH_BACKOFF_MAX_NS ?
					w->backoff_ns * 2 : NS_WATCH_BACKOFF_MAX_NS;
			w->nudge_at_ns = now + w->backoff_ns;
		}
	}
	if (nudge)
		keeper_nudge(k);
}

static void keeper_teardown(struct ns_keeper *k)
{
	rte_mp_action_unregister(NS_KEEPER_HOLD_MP);
	if (k->started) {
		rte_eth_dev_stop(k->port.id);
		rte_eth_dev_close(k->port.id);
	}
	/* The port is stopped: its DMA may end now. */
	while (nr_held_fds)
		close(held_fds[--nr_held_fds]);
	free(held_fds);
	held_fds = NULL;
	/* Relayed copies nobody took, first: they are queue 0's mbufs, and
	 * a freed pool's memory may be unmapped at once. */
	for (unsigned int q = 0; q < k->nr_queues; q++) {
		struct rte_mbuf *m;

		while (k->relays[q] && rte_ring_dequeue(k->relays[q], (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(k->relays[q]);
	}
	for (unsigned int q = 0; q < k->nr_queues; q++) {
		rte_mempool_free(k->tso_pools[q]);
		rte_mempool_free(k->pools[q]);
	}
	if (k->mz)
		rte_memzone_free(k->mz);
}

int ns_keeper_main(struct ns_config *cfg, int eal_argc, char **eal_argv)
{
	static struct ns_keeper k;
	sigset_t set;
	int ret, sig;

	/* Signals are taken synchronously: the keeper has nothing else to do. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = rte_eal_init(eal_argc, eal_argv);
	if (ret < 0) {
		ns_err("eal: rte_eal_init failed: %s", rte_strerror(rte_errno));
		return -1;
	}
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		ns_err("keeper: must be the DPDK primary (no --proc-type=secondary in --eal)");
		rte_eal_cleanup();
		return -1;
	}
	k.nr_queues = cfg->queues;
	if (rte_mp_action_register(NS_KEEPER_HOLD_MP, keeper_hold_fds) < 0) {
		ns_err("keeper: cannot register for the engines' descriptors: %s",
		       rte_strerror(rte_errno));
		rte_eal_cleanup();
		return -1;
	}
	if (keeper_setup(&k, cfg)) {
		keeper_teardown(&k);
		rte_eal_cleanup();
		return -1;
	}
	keeper_publish(&k);
	ns_info("keeper: port %u started with %u queue%s%s, memzone %s, lcore %u",
		k.port.id, k.nr_queues, k.nr_queues == 1 ? "" : "s",
		k.nr_queues > 1 ? ", RSS over TCP" : "", NS_KEEPER_MZ, rte_lcore_id());
	if (k.nr_queues > 1)
		ns_info("keeper: RSS key %u bytes, RETA %u entries, hash functions 0x%llx",
			k.info->rss_key_len, k.info->reta_size,
			(unsigned long long)k.info->rss_hf);
	/* Tests wait for this line on stdout. */
	printf("jr-netserver: ready\n");
	fflush(stdout);

	for (;;) {
		/* Every millisecond: queues nobody serves are drained. */
		struct timespec tick = { .tv_nsec = 1000000 };

		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGHUP) {
			keeper_print_stats(&k, stdout);
			continue;
		}
		if (sig == SIGINT || sig == SIGTERM)
			break;
		keeper_drain_orphans(&k);
		keeper_watch_queues(&k);
	}
	ns_info("keeper: stopping");
	keeper_print_stats(&k, stdout);
	keeper_teardown(&k);
	rte_eal_cleanup();
	return 0;
}

/* ---------------------------------------------------------- engines */

struct ns_keeper_info *ns_keeper_lookup(void)
{
	const struct rte_memzone *mz = rte_memzone_lookup(NS_KEEPER_MZ);
	struct ns_keeper_info *ki;

	if (!mz) {
		ns_err("engine: no keeper (memzone %s not found): start jr-netserver --keeper "
		       "first, with the same --file-prefix in --eal", NS_KEEPER_MZ);
		return NULL;
	}
	ki = mz->addr;
	if (!__atomic_load_n(&ki->ready, __ATOMIC_ACQUIRE) || ki->magic != NS_KEEPER_MAGIC ||
	    ki->version != NS_KEEPER_VERSION) {
		ns_err("engine: the keeper is not ready, or of another version (memzone %s)",
		       NS_KEEPER_MZ);
		return NULL;
	}
	return ki;
}

/*
 * Take the queue's owner word from `old` (nobody, a dead server, or the
 * keeper draining it): from the keeper only through a hand-over between
 * two of its bursts, so that no two processes ever read one queue.
 */
static int keeper_take_queue(struct ns_keeper_engine *ke, int32_t old, int32_t me)
{
	if (old != NS_KEEPER_DRAINING)
		return __atomic_compare_exchange_n(&ke->pid, &old, me, false,
						   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ? 0 : -EBUSY;
	if (!__atomic_compare_exchange_n(&ke->pid, &old, -me, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return -EBUSY;
	/* The keeper looks every millisecond; give it a second. */
	for (int i = 0; i < 20000; i++) {
		if (__atomic_load_n(&ke->pid, __ATOMIC_ACQUIRE) == me)
			return 0;
		usleep(50);
	}
	ns_err("engine: the keeper did not hand the queue over within a second (is it alive?)");
	old = -me;
	__atomic_compare_exchange_n(&ke->pid, &old, NS_KEEPER_DRAINING, false,
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	return -ETIMEDOUT;
}

int ns_keeper_claim(struct ns_keeper_info *ki, unsigned int engine, const int32_t *dead_pid)
{
	struct ns_keeper_engine *ke = &ki->engines[engine];
	int32_t me = getpid(), old = __atomic_load_n(&ke->pid, __ATOMIC_ACQUIRE);
	unsigned int lcore = rte_lcore_id();
	bool takeover = dead_pid != NULL;
	struct timespec now;
	int err;

	/*
	 * A takeover replaces exactly the server that died, whether or not
	 * it looks dead yet (the kernel sees a death before the process is
	 * a zombie), or the keeper draining its queue since; two standbys
	 * racing for one engine: one wins.
	 */
	if (takeover && old != NS_KEEPER_DRAINING)
		old = *dead_pid;
	else if (!takeover && old > 0 && old != me && pid_alive(old)) {
		ns_err("engine: %u is served by pid %d already", engine, old);
		return -EBUSY;
	} else if (old < NS_KEEPER_DRAINING) {
		ns_err("engine: %u is being claimed by pid %d", engine, -old);
		return -EBUSY;
	}
	/*
	 * Mempool caches are per lcore id, unlocked: two live engines with
	 * one id would corrupt them.
	 */
	for (unsigned int e = 0; e < JR_MAX_ENGINES; e++) {
		int32_t pid = __atomic_load_n(&ki->engines[e].pid, __ATOMIC_ACQUIRE);

		if (e != engine && pid > 0 && pid != me && pid_alive(pid) &&
		    ki->engines[e].lcore == lcore) {
			ns_err("engine: lcore id %u is engine %u's (pid %d): give each engine "
			       "its own with --eal \"--lcores ID@CPU\"", lcore, e, pid);
			return -EBUSY;
		}
	}
	err = keeper_take_queue(ke, old, me);
	if (err == -EBUSY && old != NS_KEEPER_DRAINING &&
	    __atomic_load_n(&ke->pid, __ATOMIC_ACQUIRE) == NS_KEEPER_DRAINING)
		/* The keeper saw the death first and drains: take it from it. */
		err = keeper_take_queue(ke, NS_KEEPER_DRAINING, me);
	if (err) {
		if (err == -EBUSY)
			ns_err("engine: %u was claimed by pid %d meanwhile", engine,
			       __atomic_load_n(&ke->pid, __ATOMIC_ACQUIRE));
		return err;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	ke->lcore = lcore;
	ke->dead_pid = 0;
	ke->since_ns = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
	if (takeover)
		ke->takeovers++;
	return 0;
}

void ns_keeper_release(struct ns_keeper_info *ki, unsigned int engine)
{
	int32_t me = getpid();

	__atomic_compare_exchange_n(&ki->engines[engine].pid, &me, 0, false,
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

unsigned int ns_keeper_reclaim_caches(struct ns_keeper_info *ki, unsigned int dead)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	unsigned int n = 0;

	if (dead == rte_lcore_id())
		return 0;
	/*
	 * The dead engine allocated from its own queue's pools and freed into
	 * every pool (relayed copies come from queue 0's): its caches in all
	 * of them hold mbufs no live process will take out.
	 */
	for (unsigned int q = 0; q < ki->nr_queues; q++) {
		const char *fmts[] = { NS_KEEPER_POOL_FMT, NS_KEEPER_TSO_FMT };

		for (unsigned int f = 0; f < 2; f++) {
			struct rte_mempool *mp;
			struct rte_mempool_cache *c;

			snprintf(name, sizeof(name), fmts[f], q);
			mp = rte_mempool_lookup(name);
			c = mp ? rte_mempool_default_cache(mp, dead) : NULL;
			if (!c || !c->len)
				continue;
			n += c->len;
			rte_mempool_cache_flush(c, mp);
		}
	}
	return n;
}

/*
 * Hand the keeper this process's open files of /dev/uioN (see
 * keeper_hold_fds): found in /proc/self/fd, since the EAL does not export
 * its PCI interrupt handle to applications.
 */
void ns_keeper_hand_fds(void)
{
	struct rte_mp_msg msg;
	struct rte_mp_reply reply;
	struct timespec ts = { .tv_sec = 5 };
	struct dirent *d;
	char path[sizeof(d->d_name) + 16], target[64];
	DIR *dir = opendir("/proc/self/fd");

	if (!dir)
		return;
	memset(&msg, 0, sizeof(msg));
	snprintf(msg.name, sizeof(msg.name), "%s", NS_KEEPER_HOLD_MP);
	while ((d = readdir(dir)) && msg.num_fds < RTE_MP_MAX_FD_NUM) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strncmp(target, "/dev/uio", 8))
			msg.fds[msg.num_fds++] = atoi(d->d_name);
	}
	closedir(dir);
	if (!msg.num_fds)
		return;		/* vfio, or a vdev: nothing to hold */
	memset(&reply, 0, sizeof(reply));
	if (rte_mp_request_sync(&msg, &reply, &ts) || reply.nb_received != 1)
		ns_warn("engine: the keeper did not take our /dev/uio descriptors (%s): "
			"when this process ends, uio_pci_generic stops the port's DMA",
			rte_strerror(rte_errno));
	else
		ns_info("engine: the keeper holds our %d /dev/uio descriptor%s, so that our "
			"exit leaves the port's DMA on", msg.num_fds, msg.num_fds == 1 ? "" : "s");
	free(reply.msgs);
}

int ns_keeper_dead_engine(struct ns_keeper_info *ki)
{
	for (unsigned int e = 0; e < ki->nr_queues; e++) {
		int32_t pid = __atomic_load_n(&ki->engines[e].pid, __ATOMIC_ACQUIRE);

		if ((pid > 0 && !pid_alive(pid)) ||
		    (pid == NS_KEEPER_DRAINING && ki->engines[e].dead_pid))
			return (int)e;
	}
	return -1;
}
