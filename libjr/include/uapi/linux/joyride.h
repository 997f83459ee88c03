/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Joyride: the contract between joyride.ko and jr-netserver.
 *
 * The kernel module turns AF_JOYRIDE socket calls into requests on a
 * submission queue (SQ); an unprivileged user-space netserver serves them
 * with a TCP/IP stack and answers on a completion queue (CQ), which also
 * carries asynchronous events.  Socket payload never goes through the
 * queues: every socket owns a slot with a receive and a transmit byte ring,
 * so send() and recv() are copies into and out of shared memory.
 *
 * The netserver is not trusted.  Everything the kernel reads from the shared
 * region is read once, bounds-checked against values the kernel keeps
 * privately, and never used as a pointer (see jr_validate.h for the rules,
 * Documentation/abi.md for the prose).
 *
 * The same region can be provided by a user process instead of the kernel
 * (the "user frontend": a memfd plus two eventfds handed over an AF_UNIX
 * socket), so the netserver is testable without the module.
 *
 * Changelog
 * ---------
 * 1.0: initial version: attach with feature negotiation, SQ/CQ rings with
 *      wake-up flags, per-slot byte rings, TCP and UDP control operations,
 *      events, recovery replay, stats area.
 * 1.1: JR_F_SOCKOPTS: IP- and TCP-level options; u.sockopt.addr
 *      (multicast membership), struct jr_tcp_info in a TCP_INFO reply,
 *      JR_DGRAM_F_META records (struct jr_dgram_meta) for control messages.
 * 1.2: JR_F_MULTICAST: IPv4 and IPv6 multicast options and group
 *      memberships of a socket (u.sockopt.value carries the interface).
 * 2.0: engines: several netservers serve one network namespace, each on
 *      its own file and region with an engine index (jr_attach.engine,
 *      .nr_engines, from reserved space); standbys (JR_ATTACH_F_STANDBY,
 *      JR_IOC_STANDBY_WAIT) take a dead engine's index.  Major, because
 *      the kernel's behaviour changed under unchanged messages: a listener
 *      is replicated to every engine, a replay goes to the engine of the
 *      dead one's index.
 * 2.1: JR_F_SURVIVAL: established TCP connections outlive their
 *      netserver.  The netserver keeps a checkpoint of each connection in
 *      its slot (struct jr_tcp_ckpt, in what was netserver-owned padding);
 *      a successor takes a connection back with JR_OP_RESTORE.
 * 2.2: JR_F_STATS: statistics for operators: struct jr_stats grows to
 *      512 bytes (the
 *      engine's counters, in what was the rest of its page), and a TCP
 *      connection's slot shows its round-trip time, congestion window and
 *      retransmissions (struct jr_tcp_gauge, in netserver-owned padding).
 *      Display only: the kernel prints them, never acts on them.
 * 2.3: JR_F_ACCEPT_LOCAL: an ACCEPT's reply also carries the address the
 *      peer connected to (u.accepted.local), which a listener on the
 *      wildcard address does not know; a connection is restored on it.
 */
#ifndef _UAPI_LINUX_JOYRIDE_H
#define _UAPI_LINUX_JOYRIDE_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#else
#include <linux/types.h>
#include <linux/ioctl.h>
#endif

/*
 * AF_JOYRIDE.  Linux 6.1 has AF_MAX == 46; 13, 18, 19, 22, 23 and 25 were
 * never implemented in-tree.  25 (once reserved for AF_WANPIPE, which never
 * shipped a socket family) is free in Debian's kernel and far from numbers
 * that a distribution kernel may enable as a module.
 */
#define AF_JOYRIDE		25
#define PF_JOYRIDE		AF_JOYRIDE

/*
 * The family that redirected socket(AF_INET) calls enter through
 * (net.joyride.redirect_inet): Joyride sockets that report AF_INET.  22
 * (once reserved for AF_SNA, never implemented) is free in Debian's kernel.
 */
#define AF_JOYRIDE_INET		22

/*
 * The same for socket(AF_INET6) (net.joyride.redirect_inet6): Joyride
 * sockets that report AF_INET6 and take struct sockaddr_in6.  23 (AF_IRDA,
 * whose socket family left Linux in 4.17) is free in Debian's kernel.
 */
#define AF_JOYRIDE_INET6	23

/* The character device the netserver attaches through. */
#define JR_DEVICE_NAME		"joyride"
#define JR_DEVICE_PATH		"/dev/joyride"

#define JR_ABI_MAJOR		2	/* incompatible changes */
#define JR_ABI_MINOR		3	/* compatible additions */

/*
 * Engines (ABI 2).  A namespace may be served by several netserver
 * processes at once, one per core, each attached on its own open file with
 * its own region (SQ/CQ, slots, rings) and an engine index, 0 up to
 * JR_MAX_ENGINES - 1, that is also its NIC queue.  A socket belongs to one
 * engine for its life; a listener has a replica on every engine.  A
 * standby attaches with JR_ATTACH_F_STANDBY: its region is made at once,
 * and JR_IOC_STANDBY_WAIT returns when an engine of its namespace dies and
 * the standby has taken that engine's index.
 */
#define JR_MAX_ENGINES		16

#define JR_REGION_MAGIC		0x4a52494445310000ULL	/* "JRIDE1\0\0" */

/*
 * Feature flags, negotiated at attach.  The netserver asks for what it can
 * serve; the kernel clears what it does not know or does not allow and
 * writes back the granted mask.  Neither side uses a feature that was not
 * granted.  Bits are only ever added.
 */
#define JR_F_TCP		(1ULL << 0)	/* SOCK_STREAM sockets */
#define JR_F_UDP		(1ULL << 1)	/* SOCK_DGRAM sockets */
#define JR_F_IPV6		(1ULL << 2)	/* AF_INET6 addresses are served */
#define JR_F_RECOVERY		(1ULL << 3)	/* replay of bound/listening sockets
						 * to a restarted netserver */
#define JR_F_LOOPBACK		(1ULL << 4)	/* the netserver serves 127.0.0.0/8
						 * itself */
#define JR_F_SOCKOPTS		(1ULL << 5)	/* 1.1: IP- and TCP-level options
						 * (IP_TOS, IP_TTL, TCP_MAXSEG,
						 * TCP_CORK, TCP_QUICKACK,
						 * TCP_USER_TIMEOUT,
						 * TCP_DEFER_ACCEPT, TCP_INFO) */
#define JR_F_MULTICAST		(1ULL << 6)	/* 1.2: multicast options and
						 * group memberships
						 * (IP_MULTICAST_*,
						 * IP_ADD/DROP_MEMBERSHIP,
						 * IPV6_MULTICAST_*,
						 * IPV6_ADD/DROP_MEMBERSHIP);
						 * needs JR_F_SOCKOPTS */
#define JR_F_SURVIVAL		(1ULL << 7)	/* 2.1: established connections
						 * survive the netserver: it
						 * checkpoints them (struct
						 * jr_tcp_ckpt) and takes
						 * JR_OP_RESTORE; needs
						 * JR_F_RECOVERY */
#define JR_F_STATS		(1ULL << 8)	/* 2.2: the netserver publishes
						 * its engine's counters (struct
						 * jr_stats, 2.2 part) and each
						 * connection's jr_tcp_gauge;
						 * display only */
#define JR_F_ACCEPT_LOCAL	(1ULL << 9)	/* 2.3: an ACCEPT's reply carries
						 * the local address too
						 * (u.accepted) */
#define JR_F_ALL		(JR_F_TCP | JR_F_UDP | JR_F_IPV6 | \
				 JR_F_RECOVERY | JR_F_LOOPBACK | JR_F_SOCKOPTS | \
				 JR_F_MULTICAST | JR_F_SURVIVAL | JR_F_STATS | \
				 JR_F_ACCEPT_LOCAL)

/*
 * Limits.  Sizes are powers of two so that indices wrap with a mask.
 * The kernel clamps requests to these bounds (and may clamp further by
 * module parameter); it never lets the netserver pick offsets.
 */
#define JR_RING_MIN_ENTRIES	64
#define JR_RING_MAX_ENTRIES	65536
#define JR_SLOTS_MIN		16
#define JR_SLOTS_MAX		65536
#define JR_BUF_MIN		4096		/* per-slot byte ring */
#define JR_BUF_MAX		(4U << 20)
#define JR_DGRAM_MAX		65507		/* largest UDP payload over IPv4 */

/*
 * Address as carried in entries.  Family is AF_INET (2) or AF_INET6 (10)
 * in Linux numbering; port and address are in network byte order; an IPv4
 * address occupies addr[0..3] and the rest is zero.
 */
struct jr_sockaddr {
	__u16	family;
	__u16	port;
	__u32	scope_id;		/* IPv6 link-local scope; 0 otherwise */
	__u8	addr[16];
};

/*
 * Attach: JR_IOC_ATTACH on /dev/joyride, or the first message on a user
 * frontend's AF_UNIX socket.
 *
 * in:  abi_major/minor, features, flags, requested sizes, sq_eventfd.
 * out: the kernel's abi_major/minor, granted features, flags, actual sizes,
 *      epoch, layout.  The netserver then mmap()s layout.region_size bytes
 *      at offset 0 of the same file.
 */
#define JR_ATTACH_F_RECOVER	(1U << 0)	/* in: this netserver can take a
						 * replay (it is a restart) */
#define JR_ATTACH_F_RECOVERING	(1U << 1)	/* out: the device was recovering;
						 * a replay follows on the SQ */
#define JR_ATTACH_F_STANDBY	(1U << 2)	/* in/out: park as a standby
						 * (engine is 0 on input); out of
						 * JR_IOC_STANDBY_WAIT: cleared */

struct jr_layout {
	__u64	region_size;		/* bytes to mmap at offset 0 */
	__u64	sq_off;			/* struct jr_ring_ctl, then entries */
	__u64	sq_entries_off;		/* sq_entries x struct jr_sqe */
	__u64	cq_off;			/* struct jr_ring_ctl */
	__u64	cq_entries_off;		/* cq_entries x struct jr_cqe */
	__u64	slots_off;		/* nr_slots x struct jr_slot_ctl */
	__u64	data_off;		/* nr_slots x (rx_buf_size + tx_buf_size) */
	__u64	stats_off;		/* struct jr_stats */
};

struct jr_attach {
	__u16	abi_major;
	__u16	abi_minor;
	__u32	flags;			/* JR_ATTACH_F_* */
	__u64	features;		/* JR_F_* */
	__u32	sq_entries;		/* power of two; rounded up, clamped */
	__u32	cq_entries;		/* power of two; >= sq_entries */
	__u32	nr_slots;		/* sockets that can exist at once */
	__u32	rx_buf_size;		/* per-slot receive ring, power of two */
	__u32	tx_buf_size;		/* per-slot transmit ring, power of two */
	__s32	sq_eventfd;		/* in: signalled when the SQ needs a wake-up */
	__u64	epoch;			/* out: attach counter, never reused */
	struct jr_layout layout;	/* out */
	__u16	engine;			/* in: the engine index to serve;
					 * out of JR_IOC_STANDBY_WAIT: the
					 * index taken over */
	__u16	nr_engines;		/* out: engines serving the namespace,
					 * this one included */
	__u32	reserved32;		/* must be zero */
	__u64	reserved[3];		/* must be zero */
};

/*
 * Ring control block.  One writer per cache line: the producer owns the
 * first, the consumer the second.  Indices are free-running 32-bit counters
 * (entry index = counter & (entries - 1)); prod - cons is the fill level and
 * is never more than the number of entries.
 */
#define JR_RING_NEED_WAKEUP	(1U << 0)	/* consumer sleeps: after
						 * producing, ring its doorbell */

struct jr_ring_ctl {
	__u32	prod;			/* producer-owned */
	__u32	prod_pad[15];
	__u32	cons;			/* consumer-owned */
	__u32	cons_flags;		/* consumer-owned: JR_RING_NEED_WAKEUP */
	__u32	cons_pad[14];
};

/*
 * Operations.  On the SQ they are requests (kernel -> netserver); on the CQ
 * a reply carries the request's op and tag, and an event carries a JR_EV_*
 * op and tag 0.  Codes are only ever added.
 */
enum {
	JR_OP_INVALID = 0,
	JR_OP_SOCKET,		/* create the socket for slot; u.socket */
	JR_OP_BIND,		/* u.addr; reply u.addr = bound address */
	JR_OP_LISTEN,		/* u.listen */
	JR_OP_ACCEPT,		/* slot is the child to fill; u.accept names the
				 * listener; reply when a connection arrives,
				 * u.addr = peer address (u.accepted with
				 * JR_F_ACCEPT_LOCAL) */
	JR_OP_CONNECT,		/* u.addr; reply when established or failed,
				 * u.addr = local address */
	JR_OP_SHUTDOWN,		/* u.shutdown */
	JR_OP_CLOSE,		/* u.close; reply when the slot is free again */
	JR_OP_SETSOCKOPT,	/* u.sockopt */
	JR_OP_GETSOCKOPT,	/* u.sockopt; reply u.sockopt.value */
	JR_OP_GETNAME,		/* u.getname; reply u.addr */
	JR_OP_TX,		/* new bytes or datagrams in the transmit ring;
				 * no reply */
	JR_OP_RX_SPACE,		/* the kernel consumed receive-ring bytes; the
				 * window may reopen; no reply */
	JR_OP_REPLAY_DONE,	/* recovery: every replayed socket precedes
				 * this; reply to end recovery */
	JR_OP_RESTORE,		/* 2.1 recovery: create the socket for slot
				 * as the established TCP connection u.restore
				 * names, at the ring positions and with the
				 * checkpoint now in its slot control block;
				 * reply 0, or -errno (the kernel resets it) */
	JR_OP_NR,
};

enum {
	JR_EV_FIRST = 0x100,
	JR_EV_RX = JR_EV_FIRST,	/* receive ring advanced */
	JR_EV_TX_SPACE,		/* transmit ring drained; writers may go on */
	JR_EV_RX_FIN,		/* peer closed its half: after the last byte
				 * already in the receive ring, end of file */
	JR_EV_RESET,		/* connection reset; res = -ECONNRESET or
				 * another -errno from the table in abi.md */
	JR_EV_ERROR,		/* soft error (ICMP etc.); res = -errno */
	JR_EV_ACCEPTABLE,	/* listener: res = connections waiting in the
				 * netserver for an ACCEPT */
	JR_EV_NR,
};

/* SQE flags */
#define JR_SQE_F_REPLAY		(1U << 0)	/* recovery replay of existing
						 * socket state */
#define JR_SQE_F_MORE		(1U << 1)	/* TX (1.1): send() had MSG_MORE:
						 * hold a partial segment as
						 * TCP_CORK does, until a TX
						 * without it or 200 ms */

/* CQE flags */
#define JR_CQE_F_EVENT		(1U << 0)	/* an event, not a reply */

struct jr_sqe {
	__u16	op;			/* JR_OP_* */
	__u16	flags;			/* JR_SQE_F_* */
	__u32	slot;			/* socket slot */
	__u64	tag;			/* echoed in the reply; opaque */
	__u32	slot_gen;		/* generation of the slot, for events */
	__u32	pad;
	union {
		struct {
			__u16	family;		/* AF_INET or AF_INET6 */
			__u16	type;		/* SOCK_STREAM or SOCK_DGRAM */
			__u16	protocol;	/* IPPROTO_TCP / IPPROTO_UDP */
			__u16	pad;
		} socket;
		struct jr_sockaddr addr;
		struct {
			__u32	backlog;
			__u32	pad;
		} listen;
		struct {
			__u32	listener_slot;
			__u32	listener_gen;
		} accept;
		struct {
			__u32	how;		/* SHUT_RD/SHUT_WR/SHUT_RDWR */
			__u32	pad;
		} shutdown;
		struct {
			__u32	linger_on;	/* abort (RST) if on with 0 s */
			__u32	linger_sec;
		} close;
		/*
		 * Multicast (1.2, JR_F_MULTICAST): IP_MULTICAST_IF and
		 * IP_ADD/DROP_MEMBERSHIP carry the interface's address in
		 * value's low 32 bits (network order) and an interface index
		 * in its high 32 bits; IPV6_MULTICAST_IF and
		 * IPV6_ADD/DROP_MEMBERSHIP an interface index.  Indexes are
		 * the netserver's (lwIP's), 0 for "the default".
		 */
		struct {
			__u32	level;		/* SOL_SOCKET, IPPROTO_IP,
						 * IPPROTO_IPV6, IPPROTO_TCP */
			__u32	name;		/* SO_*, IP_*, IPV6_*, TCP_* */
			__u64	value;		/* an address: network order
						 * in the low 32 bits */
			struct jr_sockaddr addr; /* IP_ADD/DROP_MEMBERSHIP,
						  * IPV6_ADD/DROP_MEMBERSHIP:
						  * the group; else zero */
		} sockopt;
		struct {
			__u32	peer;		/* 0 local, 1 peer */
			__u32	pad;
		} getname;
		/* RESTORE: the connection's addresses (scope: the only
		 * interface), network order; IPv4 in the first 4 bytes. */
		struct {
			__u16	family;		/* AF_INET or AF_INET6 */
			__u16	local_port;
			__u16	peer_port;
			__u16	pad;
			__u8	local[16];
			__u8	peer[16];
		} restore;
		__u8	raw[40];
	} u;
};

/*
 * The reply to GETSOCKOPT(IPPROTO_TCP, TCP_INFO): what the netserver's TCP
 * knows of the connection, in Linux's units (struct tcp_info); the kernel
 * adds what it counts itself (bytes acknowledged and received).  Zero
 * where the stack keeps no such value.
 */
struct jr_tcp_info {
	__u8	state;			/* TCP_ESTABLISHED... (Linux numbering) */
	__u8	ca_state;		/* TCP_CA_Open, _Recovery, _Loss */
	__u8	retransmits;		/* timeouts of the oldest segment */
	__u8	options;		/* TCPI_OPT_* */
	__u8	wscale;			/* snd_wscale << 4 | rcv_wscale */
	__u8	pad;
	__u16	snd_mss;		/* bytes */
	__u32	rto_us;
	__u32	rtt_us;			/* smoothed */
	__u32	rttvar_us;
	__u32	snd_cwnd;		/* bytes */
	__u32	snd_ssthresh;		/* bytes */
	__u32	snd_wnd;		/* the peer's window, bytes */
	__u32	unacked;		/* segments in flight */
	__u32	total_retrans;		/* segments retransmitted */
};

struct jr_cqe {
	__u16	op;			/* request's JR_OP_*, or JR_EV_* */
	__u16	flags;			/* JR_CQE_F_* */
	__u32	slot;
	__u64	tag;			/* request's tag; 0 for events */
	__u32	slot_gen;		/* events: generation of the slot */
	__s32	res;			/* 0 or a positive count, or -errno */
	union {
		struct jr_sockaddr addr;
		/*
		 * ACCEPT with JR_F_ACCEPT_LOCAL: the peer as in addr, then
		 * the local address in the peer's family (an IPv4 one in
		 * local[0..3]); the port is the listener's.
		 */
		struct {
			struct jr_sockaddr peer;
			__u8	local[16];
		} accepted;
		struct {
			__u64	value;
		} sockopt;
		struct jr_tcp_info tcp_info;	/* GETSOCKOPT TCP_INFO */
		__u8	raw[40];
	} u;
};

/*
 * Per-slot control block: where the byte rings of a socket stand.  The
 * kernel owns the first cache line, the netserver the second.  Counters are
 * free-running byte counts, as for the queues.
 *
 * Receive ring: the netserver produces (rx_prod), the kernel consumes.
 * Transmit ring: the kernel produces (tx_prod), the netserver consumes.
 *
 * Stream sockets carry raw bytes that wrap around the ring end.  Datagram
 * sockets carry records (struct jr_dgram_hdr, then the payload, the whole
 * padded to 8 bytes); a record never wraps: tail bytes too short for a
 * header are skipped, else a JR_DGRAM_F_PAD record fills the rest of the
 * ring, and the next record starts at offset 0.
 */
/*
 * A TCP connection's checkpoint (2.1, JR_F_SURVIVAL): what a successor
 * needs, beyond the rings and the addresses the kernel keeps, to go on
 * with the connection at the same sequence numbers.  Sequence numbers are
 * kept relative to the ring counters, so the checkpoint changes only when
 * the connection's shape does (established, FIN received), not per byte:
 *   snd_una = snd_base + tx_cons  (unacknowledged data starts at tx_cons)
 *   rcv_nxt = rcv_base + rx_prod  (+ 1 after the peer's FIN)
 * This holds only while every byte the netserver acknowledged is in the
 * rx ring: rx_held counts those that are not (held in the stack), and a
 * connection with rx_held != 0 cannot be taken over.  The netserver
 * writes `seq` odd before a change and even (non-zero) after it; the
 * kernel copies the whole at the netserver's death and resets the
 * connection if the copy is torn or fails validation (jr_validate.h).
 */
#define JR_CKPT_F_FIN_RCVD	(1U << 0)	/* the peer's FIN is acknowledged:
						 * end of file after the ring */

struct jr_tcp_ckpt {
	__u32	seq;			/* 0: none; odd: being written */
	__u8	flags;			/* JR_CKPT_F_* */
	__u8	snd_wscale;		/* the peer's window shift */
	__u8	rcv_wscale;		/* ours */
	__u8	pad;
	__u32	snd_base;
	__u32	rcv_base;
	__u32	snd_wnd;		/* the peer's last window, bytes */
	__u16	mss;			/* the peer's (what we send) */
	__u16	pad2;
	__u32	rx_held;		/* acknowledged, not in the rx ring */
	__u32	reserved;
};

/*
 * What the netserver last knew of a TCP connection's transmit side (2.2),
 * for /proc/net/joyride and jrctl sockets -i.  Updated as acknowledgements
 * arrive; the kernel only prints it.
 */
struct jr_tcp_gauge {
	__u32	rtt_us;			/* smoothed; 0: not measured yet */
	__u32	cwnd;			/* bytes */
	__u32	retrans;		/* timeouts of the oldest segment */
	__u32	reserved;
};

struct jr_slot_ctl {
	/* kernel-owned */
	__u32	rx_cons;
	__u32	tx_prod;
	__u32	k_pad[14];
	/* netserver-owned */
	__u32	rx_prod;
	__u32	tx_cons;
	struct jr_tcp_ckpt ckpt;	/* 2.1; zero before */
	struct jr_tcp_gauge gauge;	/* 2.2; zero before */
	__u32	s_pad[2];
};

#define JR_DGRAM_F_PAD		(1U << 0)	/* filler to the ring end */
#define JR_DGRAM_F_TRUNC	(1U << 1)	/* netserver cut the payload */
#define JR_DGRAM_F_META		(1U << 2)	/* rx: a struct jr_dgram_meta
						 * precedes the payload; len
						 * counts both (ABI 1.1) */

struct jr_dgram_hdr {
	__u32	len;			/* payload bytes that follow */
	__u32	flags;			/* JR_DGRAM_F_* */
	__u32	orig_len;		/* length on the wire if truncated */
	__u32	pad;
	struct jr_sockaddr addr;	/* rx: source; tx: destination or
					 * family 0 for the connected peer */
};

/*
 * What a received datagram's IP header said, for IP_PKTINFO, IP_RECVTOS,
 * IP_RECVTTL and IPV6_RECVPKTINFO, IPV6_RECVTCLASS, IPV6_RECVHOPLIMIT:
 * written only for sockets that set one of them.
 */
struct jr_dgram_meta {
	struct jr_sockaddr dst;		/* the destination address; port 0 */
	__u8	tos;			/* IPv4 TOS, or IPv6 traffic class */
	__u8	ttl;			/* TTL, or hop limit */
	__u8	pad[6];
};

#define JR_DGRAM_ALIGN		8
#define JR_DGRAM_RECORD(len)	\
	((sizeof(struct jr_dgram_hdr) + (len) + JR_DGRAM_ALIGN - 1) & \
	 ~(__u64)(JR_DGRAM_ALIGN - 1))

/*
 * Statistics.  Each side writes only its own fields; the kernel prints
 * both in /proc/net/joyride_stat (jrctl stats), and never acts on the
 * netserver's.  The engine's counters (2.2) are copied in by the
 * netserver a few times a second, not per packet, so reading them costs
 * the data path nothing.  All count from the attach, except the gauges
 * (k_slots_used, s_tcp_conns).
 */
struct jr_stats {
	/* kernel-owned */
	__u64	k_sqes;			/* requests posted */
	__u64	k_cqes;			/* completions consumed */
	__u64	k_doorbells;		/* SQ wake-ups signalled */
	__u64	k_bad_entries;		/* CQEs rejected by validation */
	__u64	k_tx_bytes;		/* copied into transmit rings */
	__u64	k_rx_bytes;		/* copied out of receive rings */
	__u64	k_sockets;		/* sockets created */
	__u64	k_slots_used;		/* slots the kernel holds now */
	__u64	k_timeouts;		/* requests that got no reply in time */
	__u64	k_pad[7];
	/* netserver-owned */
	__u64	s_rx_packets;
	__u64	s_tx_packets;
	__u64	s_rx_dropped;
	__u64	s_tx_dropped;
	__u64	s_kicks;		/* CQ doorbells rung */
	__u64	s_sleeps;		/* times the netserver went idle */
	__u64	s_loops;		/* engine loop iterations */
	__u64	s_tcp_conns;		/* TCP connections now open */
	__u64	s_pad[8];
	/* netserver-owned, 2.2: the engine's counters */
	__u64	s_rx_bytes;		/* frames' bytes received */
	__u64	s_tx_bytes;		/* frames' bytes sent */
	__u64	s_drop_rx_queue;	/* the NIC's receive queue was full */
	__u64	s_drop_tx_queue;	/* frames a full transmit queue lost */
	__u64	s_drop_no_mbuf;		/* no packet buffer, either way */
	__u64	s_drop_bad_csum;	/* frames with a bad checksum */
	__u64	s_tcp_retransmits;	/* fast retransmissions and timeouts */
	__u64	s_tcp_timeouts;		/* retransmission timer expiries */
	__u64	s_tcp_opened;		/* connect()s that got established */
	__u64	s_tcp_accepted;		/* connections accepted */
	__u64	s_tcp_resets;		/* connections ended by a reset */
	__u64	s_tcp_restored;		/* taken over with JR_OP_RESTORE */
	__u64	s_ring_full;		/* receive ring full: delivery paused */
	__u64	s_wakeups;		/* woken from a sleep */
	__u64	s_loops_idle;		/* loop turns that found no work */
	__u64	s_published_ns;		/* CLOCK_MONOTONIC of this copy */
	__u64	s_tx_busy;		/* transmit queue full: the stack
					 * waited (no loss) */
	__u64	s_pad2[15];
};

/*
 * The region starts with this header (kernel-written, read-only for the
 * netserver by convention; the kernel never reads it back).
 */
#define JR_STATE_LIVE		1
#define JR_STATE_RECOVERING	2

struct jr_region_hdr {
	__u64	magic;			/* JR_REGION_MAGIC */
	__u16	abi_major;
	__u16	abi_minor;
	__u32	state;			/* JR_STATE_* */
	__u64	epoch;
	__u64	features;
	__u32	sq_entries;
	__u32	cq_entries;
	__u32	nr_slots;
	__u32	rx_buf_size;
	__u32	tx_buf_size;
	__u32	pad;
	struct jr_layout layout;
	__u64	reserved[16];
};

/*
 * ioctls on /dev/joyride.
 *
 * JR_IOC_ATTACH: become the netserver of engine `engine` of the caller's
 *                network namespace (EBUSY if that engine is attached), or
 *                a standby (JR_ATTACH_F_STANDBY).
 * JR_IOC_KICK:   the netserver produced CQEs; the kernel consumes them in
 *                this call.  Needed only while the CQ consumer has
 *                JR_RING_NEED_WAKEUP set (always, so far).
 * JR_IOC_STANDBY_WAIT: a standby sleeps (interruptibly) until it serves:
 *                it returns the attach's output again, with engine, epoch,
 *                nr_engines and flags (JR_ATTACH_F_RECOVERING: a replay
 *                follows) of the engine taken over; at once if it has
 *                taken one already.  EINVAL on a file that did not
 *                attach as a standby.
 */
#define JR_IOC_MAGIC		0xB7
#define JR_IOC_ATTACH		_IOWR(JR_IOC_MAGIC, 0x00, struct jr_attach)
#define JR_IOC_KICK		_IO(JR_IOC_MAGIC, 0x01)
#define JR_IOC_STANDBY_WAIT	_IOR(JR_IOC_MAGIC, 0x02, struct jr_attach)

/* Sizes are part of the ABI. */
#ifdef __cplusplus
#define JR_STATIC_ASSERT(e, m)	static_assert(e, m)
#else
#define JR_STATIC_ASSERT(e, m)	_Static_assert(e, m)
#endif
JR_STATIC_ASSERT(sizeof(struct jr_sockaddr) == 24, "jr_sockaddr size");
JR_STATIC_ASSERT(sizeof(struct jr_layout) == 64, "jr_layout size");
JR_STATIC_ASSERT(sizeof(struct jr_attach) == 144, "jr_attach size");
JR_STATIC_ASSERT(sizeof(struct jr_ring_ctl) == 128, "jr_ring_ctl size");
JR_STATIC_ASSERT(sizeof(struct jr_sqe) == 64, "jr_sqe size");
JR_STATIC_ASSERT(sizeof(struct jr_cqe) == 64, "jr_cqe size");
JR_STATIC_ASSERT(sizeof(struct jr_tcp_info) == 40, "jr_tcp_info size");
JR_STATIC_ASSERT(sizeof(struct jr_tcp_ckpt) == 32, "jr_tcp_ckpt size");
JR_STATIC_ASSERT(sizeof(struct jr_slot_ctl) == 128, "jr_slot_ctl size");
JR_STATIC_ASSERT(sizeof(struct jr_dgram_hdr) == 40, "jr_dgram_hdr size");
JR_STATIC_ASSERT(sizeof(struct jr_dgram_meta) == 32, "jr_dgram_meta size");
JR_STATIC_ASSERT(sizeof(struct jr_stats) == 512, "jr_stats size");
JR_STATIC_ASSERT(sizeof(struct jr_tcp_gauge) == 16, "jr_tcp_gauge size");
JR_STATIC_ASSERT(sizeof(struct jr_region_hdr) == 248, "jr_region_hdr size");
#undef JR_STATIC_ASSERT

#endif /* _UAPI_LINUX_JOYRIDE_H */
