/* SPDX-License-Identifier: GPL-2.0 */
/*
 * jr-netserver internals.
 *
 * One engine (struct ns_engine) runs the loop on one core: DPDK port ->
 * lwIP -> frontends (struct ns_front: the kernel's region, or a user
 * frontend's) -> lwIP timers -> DPDK TX.  Each frontend has an array of
 * socket slots (struct ns_sock) that mirrors the owner's sockets; a slot's
 * lwIP pcb and byte rings are served only from the engine thread, so
 * nothing here takes a lock.
 */
#ifndef _NS_NETSERVER_H
#define _NS_NETSERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <liburing.h>

#include "lwip/netif.h"
#include "jr/libjr.h"
#include "config.h"

struct ns_engine;
struct ns_front;
struct rte_mbuf;
struct rte_mempool;
struct tcp_pcb;
struct udp_pcb;
struct pbuf;

/* ---------------------------------------------------------------- port */

#define NS_BURST	32
/* Frames waiting for room in the NIC's TX queue: when this many wait,
 * lwIP is told ERR_MEM and keeps its segments until the next turn. */
#define NS_TX_QUEUE	(8 * NS_BURST)
/* A full RX burst this long after the previous poll asks the keeper for a
 * nudge (ns_port_poll). */
#define NS_NUDGE_GAP_MS	10

/*
 * The last queued frame, while later TCP segments of the same flow may
 * still join it (TX coalescing for TSO, port.c).
 */
struct ns_tso_open {
	struct rte_mbuf		*m;		/* NULL: none open */
	uint32_t		next_seq;	/* host order */
	uint16_t		segsz;		/* payload of the first segment */
	uint16_t		nr_segs;
};

struct ns_keeper_info;
struct rte_ring;

struct ns_port {
	uint16_t		id;
	/* The queue pair this engine uses, of nr_queues (1 and 0 without a
	 * keeper); keeper: the keeper's memzone (NULL without one). */
	uint16_t		queue;
	uint16_t		nr_queues;
	struct ns_keeper_info	*keeper;
	bool			claimed;	/* ours in the keeper's table */
	/* ARP and neighbour discovery arrive on queue 0 only (RSS hashes TCP
	 * alone): engine 0 copies them to every other engine's relay ring,
	 * and each engine takes its own ring's (ns_port_poll). */
	struct rte_ring		*relay_in;
	struct rte_ring		*relay_out[JR_MAX_ENGINES];
	/* RSS: the keeper's key and RETA, for source ports whose replies come
	 * back to this queue (ns_port_rss_mine); reta_size 0: no RSS. */
	uint8_t			rss_key[64];
	uint16_t		reta_size;
	uint16_t		*reta;
	struct rte_mempool	*pool;
	struct rte_mempool	*tso_pool;	/* 64 KiB buffers, with TSO */
	struct netif		netif;
	bool			tx_csum_ip;	/* offloads in use */
	bool			tx_csum_l4;
	bool			tso;
	bool			rx_csum;
	bool			lro;
	int			rx_intr_fd;	/* -1: the PMD has no RX interrupt */
	struct rte_mbuf		*tx_pending[NS_TX_QUEUE];
	unsigned int		nr_tx_pending;
	struct ns_tso_open	tso_open;
	bool			tx_wait;	/* lwIP got ERR_MEM: retry */
	uint16_t		csum_flags;	/* the netif's NETIF_CHECKSUM_* */
	uint64_t		rx_packets, tx_packets, rx_dropped, tx_dropped;
	/* With a keeper: TSC of the last RX poll, the gap after which a full
	 * burst asks the keeper to nudge the device (NS_NUDGE_GAP_MS in TSC
	 * cycles), and how many times we asked (ns_port_poll). */
	uint64_t		rx_poll_tsc;
	uint64_t		nudge_gap_tsc;
	uint64_t		nudges;
	uint64_t		rx_bytes, tx_bytes;	/* frames, headers included */
	uint64_t		tx_segments;	/* on the wire, after TSO */
	uint64_t		tx_busy;	/* lwIP told to wait: queue full */
	uint64_t		tx_queue_dropped; /* lost in a stopped queue */
	uint64_t		no_mbuf;	/* no mbuf or pbuf, either way */
	uint64_t		tx_queue_full;	/* flushes that left frames */
	uint64_t		rx_large;	/* LRO frames (over one MTU) */
	uint64_t		rx_csum_hw;	/* L4 checksum vouched by the port */
	uint64_t		rx_csum_bad;	/* dropped: the port saw a bad sum */
	uint64_t		relayed_out, relayed_in; /* ARP/ND copies each way */
	uint64_t		relay_full;	/* copies an engine's ring refused */
	/* Incoming SYNs whose software RSS hash named another queue: the
	 * check of ns_port_rss_mine's convention against the NIC's. */
	uint64_t		rss_syn_checked, rss_syn_other_queue;
	uint64_t		rss_ports_tried;	/* candidates rejected: wrong queue */
	/* Multicast MACs of the groups lwIP joined (IGMP and MLD), as the
	 * port's filter has them; the port also receives all multicast
	 * where it can (ns_port_init), so a full table loses nothing. */
#define NS_MC_MACS	64
	struct {
		uint8_t		mac[6];
		uint32_t	users;		/* groups mapping to it */
	}			mc_macs[NS_MC_MACS];
	unsigned int		nr_mc_macs;
	bool			mc_filter_off;	/* the PMD has no list filter */
};

int ns_port_init(struct ns_engine *eng, int argc, char **argv);
/* Standby: once the kernel named the engine, serve its queue (and bring
 * lwIP's interface up on it). */
int ns_port_take_queue(struct ns_engine *eng, unsigned int queue);
/* For the keeper: pools and the port's configuration, as ns_port_init
 * makes them for a single netserver. */
struct rte_mempool *ns_port_pool_create(const char *name, int socket);
struct rte_mempool *ns_port_tso_pool_create(const char *name, int socket);
int ns_port_configure(struct ns_port *port, bool rx_intr, uint32_t allowed,
		      uint16_t nb_queues, struct rte_mempool *const *pools);
/*
 * Whether the NIC delivers the replies of a TCP connection from local
 * (port lport) to remote (rport) to this engine's queue: always true with
 * one queue.  Ports in host order.
 */
bool ns_port_rss_mine(struct ns_port *port, const ip_addr_t *local, uint16_t lport,
		      const ip_addr_t *remote, uint16_t rport);
unsigned int ns_port_poll(struct ns_engine *eng);	/* RX burst into lwIP */
void ns_port_flush(struct ns_port *port);		/* TX burst */
void ns_port_retry_output(struct ns_port *port);
unsigned int ns_port_poll_loopback(struct ns_port *port); /* own addresses */

/* IPv6 on the port's netif (inet6.c). */
void ns_ip6_netif_init(struct netif *netif);
int ns_ip6_addresses(struct netif *netif, const struct ns_config *cfg);
void ns_port_rx_intr(struct ns_port *port, bool enable);
void ns_port_close(struct ns_port *port);

/* ------------------------------------------------------------- sockets */

enum ns_sock_state {
	NS_SOCK_FREE,
	NS_SOCK_OPEN,		/* created (and maybe bound) */
	NS_SOCK_LISTEN,
	NS_SOCK_CONNECTING,
	NS_SOCK_ACCEPTING,	/* a child slot waiting for a connection */
	NS_SOCK_CONNECTED,
	NS_SOCK_CLOSING,	/* CLOSE received; draining the tx ring */
	NS_SOCK_DEAD,		/* pcb gone (reset, error); waiting for CLOSE */
};

struct ns_sock {
	struct ns_front		*front;		/* NULL for an embryo */
	uint32_t		slot;
	uint32_t		gen;
	uint16_t		type;		/* SOCK_STREAM / SOCK_DGRAM */
	enum ns_sock_state	state;
	union {
		struct tcp_pcb	*tcp;
		struct udp_pcb	*udp;
	} pcb;

	/* Receive: lwIP -> rx ring. */
	struct pbuf		*rx_pending;	/* TCP data not yet in the ring */
	uint32_t		rx_prod;	/* our copy of slot rx_prod */
	uint32_t		rx_acked;	/* rx_cons last reported to lwIP */
	bool			fin_pending;	/* FIN after rx_pending */

	/* Transmit: tx ring -> lwIP.  TCP data stays in the ring until it is
	 * acknowledged: lwIP references it (no copy) for retransmission. */
	uint32_t		tx_queued;	/* handed to tcp_write() */
	uint32_t		tx_cons;	/* acknowledged; our copy */
	bool			shut_wr_pending;
	bool			closing_abort;

	/* Requests that complete later. */
	uint64_t		pending_tag;	/* CONNECT, ACCEPT or CLOSE */
	uint16_t		pending_op;

	/* What bind() asked for (Linux's SOCK_BINDADDR_LOCK and
	 * SOCK_BINDPORT_LOCK): a disconnect keeps these and forgets what
	 * connect() or an auto-bind chose. */
	bool			bound_addr, bound_port;
	ip_addr_t		bind_ip;
	/* AF_INET, or AF_INET6: dual stack (IPv4 peers too) unless v6only. */
	uint16_t		family;
	bool			v6only;
	uint8_t			recv_meta;	/* control messages asked for */
	uint16_t		bind_port;	/* host order */

	/* TCP options as set by the owner, kept here rather than only in the
	 * pcb: a listener's pcb has no room for them, and its children, like
	 * a pcb made anew (disconnect, connect after a failure), inherit them.
	 * 0: lwIP's default. */
	bool			nodelay;
	uint32_t		keep_idle_ms, keep_intvl_ms, keep_cnt;
	uint8_t			tos;		/* IP_TOS */
	uint8_t			ttl;		/* IP_TTL; 0: lwIP's */
	uint16_t		user_mss;	/* TCP_MAXSEG */
	bool			cork;		/* TCP_CORK */
	bool			more;		/* the last TX had MSG_MORE */
	bool			cork_flush;	/* the poll timer sends what it held */
	uint32_t		cork_since_ms;	/* sys_now() when bytes began to
						 * wait for the cork; 0: none */
	uint32_t		user_timeout_ms; /* TCP_USER_TIMEOUT */
	uint32_t		last_ack_ms;	/* sys_now() of the last progress */

	/* TCP connect: SYN retransmissions so far and the TCP_SYNCNT limit
	 * (0: Linux's default). */
	uint8_t			syncnt;
	uint8_t			syn_rtx;
	uint32_t		syn_deadline;	/* sys_now() ms, after the last */

	/* Multicast (JR_F_MULTICAST): the groups this socket joined on the
	 * port, each counted once by lwIP per join here and left when the
	 * slot is reset; and what its multicast datagrams go out with
	 * (Linux keeps IPv4's and IPv6's apart, lwIP's pcb has one of each,
	 * set per datagram) and which groups it receives. */
	ip_addr_t		*mc_groups;
	uint16_t		nr_mc, mc_cap;
	uint8_t			mc_ttl4, mc_ttl6;
	bool			mc_loop4, mc_loop6;
	bool			mc_all4, mc_all6;	/* IP(V6)_MULTICAST_ALL */

	/* The owner's ring positions lied while lwIP was inside one of our
	 * callbacks: the pcb is aborted at the end of the loop turn. */
	bool			abort_pending;

	/* Listener: connections lwIP accepted that no ACCEPT has claimed yet,
	 * and child slots waiting for one. */
	struct ns_sock		*embryos_head, *embryos_tail;
	unsigned int		nr_embryos;
	/* TCP_DEFER_ACCEPT: seconds a connection may wait for its first
	 * data before it is accepted all the same; those still waiting. */
	uint32_t		defer_accept_s;
	struct ns_sock		*deferred_head;
	bool			deferred;	/* an embryo on deferred_head */
	uint32_t		defer_until_ms;
	struct ns_sock		*waiting_head, *waiting_tail;
	struct ns_sock		*next;		/* in one of those lists */
	struct ns_sock		*listener;	/* for an embryo or waiting child */

	/*
	 * The connection's checkpoint (JR_F_SURVIVAL; struct jr_tcp_ckpt in
	 * the slot): its fixed part, taken when the connection was
	 * established, and what it says now.
	 */
	bool			ckpt_on;
	bool			rx_ring_full;	/* delivery waits for ring room */
	bool			fin_rcvd;	/* the peer's FIN is in the ring's
						 * stream (EV_RX_FIN posted) */
	uint32_t		snd_base, rcv_base;
	uint32_t		ckpt_seq;
	uint32_t		ckpt_held;

	/* Events to post at the end of this loop iteration. */
	bool			ev_rx, ev_tx_space;
	bool			on_work_list;
	struct ns_sock		*work_next;
	uint64_t		bad_input;	/* hostile ring contents seen */
};

/* A TCP connection to rebuild from its checkpoint (tcp_restore.c). */
struct ns_tcp_restore {
	ip_addr_t	local_ip, remote_ip;
	uint16_t	local_port, remote_port;	/* host order */
	uint32_t	snd_una, rcv_nxt;
	uint32_t	snd_wnd;			/* the peer's, bytes */
	uint32_t	rcv_wnd;			/* ours: the ring's room */
	uint16_t	mss;
	uint8_t		snd_wscale, rcv_wscale;
	bool		fin_rcvd;
};

/* An ESTABLISHED (CLOSE_WAIT after the peer's FIN) pcb, or NULL. */
struct tcp_pcb *ns_tcp_restore(const struct ns_tcp_restore *r);
/* Its queued bytes count as sent once, to go out again from snd_una. */
void ns_tcp_restore_resend(struct tcp_pcb *pcb);
/* Duplicate ACKs that start the peer's fast retransmit (tcp_restore.c). */
#define NS_RESTORE_DUPACKS	3
void ns_tcp_restore_nudge_peer(struct tcp_pcb *pcb);

/* ----------------------------------------------------------- frontends */

struct ns_front {
	struct ns_engine	*eng;
	struct jr_region	region;
	struct ns_sock		*socks;		/* nr_slots entries */
	struct ns_sock		*work;		/* sockets with events/tx to do */
	/* Replies that did not fit the CQ; the SQ is not served while any
	 * wait, so this never holds more than the SQ could. */
	struct jr_cqe		*overflow;
	unsigned int		overflow_head, overflow_nr, overflow_cap;
	bool			produced;	/* CQEs since the last kick */
	bool			dead;		/* protocol violation: drop it */
	bool			sleeping;
	bool			replaying;	/* told RECOVERING, no REPLAY_DONE yet */
	const char		*name;
	struct ns_front		*next;
};

struct ns_front *ns_front_create(struct ns_engine *eng, const char *name);
void ns_front_destroy(struct ns_front *front);
unsigned int ns_front_serve(struct ns_front *front);	/* SQ + tx rings */
void ns_front_flush(struct ns_front *front);		/* events + kick */
void ns_front_shutdown(struct ns_front *front);		/* close everything */
/* The kernel replays (and may RESTORE connections) to this front. */
void ns_front_replay_begins(struct ns_front *front);
bool ns_replays_pending(void);
/* replay_hold.c: segments of connections not restored yet. */
int ns_replay_hold(struct pbuf *p, struct netif *inp);
void ns_replay_release(const struct tcp_pcb *pcb);
void ns_replay_release_all(void);
void ns_replay_drop_all(void);

/* ICMP or ICMPv6 (v6) destination unreachable for one of our datagrams
 * or segments (icmp.c parsed it; ports in host order). */
void ns_icmp_unreach(uint8_t proto, bool v6, uint8_t code, const ip_addr_t *local,
		     uint16_t local_port, const ip_addr_t *remote, uint16_t remote_port,
		     uint32_t tcp_seq);

/* ------------------------------------------------------------- engine */

/* A user frontend whose hand-over is under way (engine.c). */
struct ns_handover {
	int			fd;		/* the accepted connection */
	uint64_t		deadline_us;	/* dropped if not answered by then */
};

#define NS_MAX_HANDOVERS	32

struct ns_engine {
	struct ns_config	*cfg;
	struct ns_port		port;
	struct ns_front		*fronts;
	int			ufront_listen_fd;
	struct ns_handover	handovers[NS_MAX_HANDOVERS];
	unsigned int		nr_handovers;
	struct io_uring		ring;
	bool			ring_ready;
	struct ns_sock		*embryo_pool;	/* free embryos */
	struct ns_sock		*embryo_mem;
	uint64_t		loops, sleeps, wakeups;
	uint64_t		tcp_conns;
	uint64_t		tcp_restored;	/* connections taken over (RESTORE) */
	/* For jrctl stats (struct jr_stats, published by engine.c). */
	uint64_t		tcp_opened, tcp_accepted, tcp_resets;
	uint64_t		tcp_timeouts;	/* retransmission timer expiries */
	uint64_t		ring_full;	/* receive rings found full */
	uint64_t		loops_idle;
	/* Notifications each way (jr-netserver statistics). */
	uint64_t		ev_rx, ev_tx_space, op_tx, op_rx_space;
	uint64_t		tx_acks;	/* lwIP's sent callbacks */
	uint64_t		idle_us;	/* learned; engine.c */
	uint64_t		gap_avg_us;
	uint64_t		kick_value;	/* 1: what a kick writes */
	/* A takeover's priority (engine.c, ns_engine_boost()). */
	bool			boosted;
	int			nice_normal;	/* to go back to */
	uint64_t		boost_quiet_us;	/* no replay pending since; 0: one is */
	unsigned int		kicks_queued;
#define NS_MAX_SLEEP_FDS	256
	uint64_t		doorbell_buf[NS_MAX_SLEEP_FDS];
	volatile int		stop;
	volatile int		print_stats;
};

int ns_engine_run(struct ns_engine *eng);
void ns_engine_boost(struct ns_engine *eng);
void ns_engine_kick(struct ns_engine *eng, struct ns_front *front);
void ns_engine_print_stats(struct ns_engine *eng, FILE *out);

struct ns_sock *ns_embryo_get(struct ns_engine *eng);
void ns_embryo_put(struct ns_engine *eng, struct ns_sock *s);

#endif /* _NS_NETSERVER_H */
