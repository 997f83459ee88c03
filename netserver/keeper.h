/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The port keeper and its engines (Documentation/netserver.md, "Engines").
 *
 * The keeper (jr-netserver --keeper, the DPDK primary) configures the port
 * with one RX/TX queue pair per engine and RSS over TCP, creates one mbuf
 * pool and one relay ring per queue, and publishes in the memzone
 * NS_KEEPER_MZ what an engine (a DPDK secondary) needs to use its queue:
 * the port, the offloads the port was configured with, the RSS key and
 * RETA, and which process serves which engine.  Engines and standbys only
 * look things up; they never reconfigure the port.
 *
 * Everything here lives in DPDK's shared memory and is written by the
 * keeper before `ready`, except engines[], which each engine writes for its
 * own index (a standby for the index it takes over).
 */
#ifndef _NS_KEEPER_H
#define _NS_KEEPER_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/joyride.h>

#define NS_KEEPER_MZ		"jr_keeper"
#define NS_KEEPER_MAGIC		0x4a524b4545504552ULL	/* "JRKEEPER" */
#define NS_KEEPER_VERSION	3

/* Per queue K: "jr_mbufs_K", "jr_tso_K" (only with TSO), "jr_relay_K". */
#define NS_KEEPER_POOL_FMT	"jr_mbufs_%u"
#define NS_KEEPER_TSO_FMT	"jr_tso_%u"
#define NS_KEEPER_RELAY_FMT	"jr_relay_%u"
#define NS_RELAY_RING_SIZE	1024

#define NS_RSS_KEY_MAX		64
#define NS_RETA_MAX		512	/* RTE_ETH_RSS_RETA_SIZE_512 */

/*
 * Who serves an engine index: pid > 0, the engine; 0, nobody;
 * NS_KEEPER_DRAINING, the keeper, which drains the queue (rx burst and
 * free) while nobody serves it, because a full queue nobody reads can
 * stall the others (Documentation/netserver.md, Engines); below that,
 * -pid of an engine waiting for the keeper to hand the queue over between
 * two bursts.
 */
#define NS_KEEPER_DRAINING	(-1)

struct ns_keeper_engine {
	int32_t		pid;		/* see above */
	uint32_t	lcore;		/* its EAL lcore id: its mempool caches */
	uint64_t	since_ns;	/* CLOCK_MONOTONIC when it took the index */
	uint32_t	takeovers;	/* standbys that took it after a death */
	int32_t		dead_pid;	/* the last server, if it died (keeper) */
	/* Set by the server after it found its queue full (ns_port_poll):
	 * the keeper clears it and makes the device look again
	 * (keeper_watch_queues). */
	uint32_t	nudge;
};

struct ns_keeper_info {
	uint64_t	magic;
	uint32_t	version;
	uint32_t	ready;		/* written last (release) */
	int32_t		keeper_pid;
	uint16_t	port_id;
	uint16_t	nr_queues;
	uint8_t		mac[6];
	/* Offloads the port was configured with (ns_port's flags). */
	bool		tx_csum_ip, tx_csum_l4, tso, rx_csum, lro;
	/* RSS as the PMD reported it after start; reta_size 0: no RSS. */
	uint8_t		rss_key_len;
	uint8_t		rss_key[NS_RSS_KEY_MAX];
	uint64_t	rss_hf;
	uint16_t	reta_size;
	uint16_t	reta[NS_RETA_MAX];
	struct ns_keeper_engine engines[JR_MAX_ENGINES];
};

struct ns_config;

/* jr-netserver --keeper: the whole life of the keeper process. */
int ns_keeper_main(struct ns_config *cfg, int eal_argc, char **eal_argv);

/* Engines: the keeper's memzone, or NULL after an error naming the cause. */
struct ns_keeper_info *ns_keeper_lookup(void);

/*
 * Record this process as the server of engine `engine` (-EBUSY naming the
 * live pid if another one has it), and release it on orderly exit.  A
 * standby taking over passes the pid of the server that died.
 */
int ns_keeper_claim(struct ns_keeper_info *ki, unsigned int engine, const int32_t *dead_pid);
void ns_keeper_release(struct ns_keeper_info *ki, unsigned int engine);

/*
 * A standby that took over an engine: give back to the pools the mbufs the
 * dead engine's caches (those of its lcore id) held.  Returns how many.
 */
unsigned int ns_keeper_reclaim_caches(struct ns_keeper_info *ki, unsigned int dead_lcore);

/*
 * A standby without the kernel: the first engine whose recorded server has
 * died, or -1.
 */
int ns_keeper_dead_engine(struct ns_keeper_info *ki);

/*
 * Engines and standbys: give the keeper a reference to this process's
 * /dev/uioN files, whose release would turn off the port's bus mastering.
 */
void ns_keeper_hand_fds(void);

#endif /* _NS_KEEPER_H */
