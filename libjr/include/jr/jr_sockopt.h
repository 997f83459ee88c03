/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Socket options below SOL_SOCKET, as Linux has them: which exist for which
 * socket type, their defaults, ranges and the value a setsockopt() stores.
 * Shared by the kernel frontend (af_joyride.c) and libjr-preload.so, so an
 * application gets the same answers from both; each keeps the values per
 * socket itself and forwards the ones marked "forward" to the netserver
 * (JR_OP_SETSOCKOPT), which needs nothing else to act on them.
 *
 * Pure functions and a table: no I/O, no locking, no allocation.
 */
#ifndef _JR_SOCKOPT_H
#define _JR_SOCKOPT_H

#include <linux/joyride.h>

#ifdef __KERNEL__
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/limits.h>
#include <linux/string.h>
#include <linux/tcp.h>
#include <linux/types.h>
#else
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
/* TCP_* as the kernel has them (and struct tcp_info with its layout),
 * unless the C library's header came first. */
#ifndef _NETINET_TCP_H
#include <linux/tcp.h>
#endif
#ifndef SOL_IP
#define SOL_IP		0
#endif
#ifndef SOL_TCP
#define SOL_TCP		6
#endif
#ifndef SOL_IPV6
#define SOL_IPV6	41
#endif
#ifndef SOL_UDP
#define SOL_UDP		17
#endif
#endif

#define JR_ECN_MASK	3	/* INET_ECN_MASK: the low bits of TOS/TCLASS */

/* The options a frontend keeps per socket (rows of jr_opts[]). */
enum {
	JR_O_IP_TOS, JR_O_IP_TTL, JR_O_IP_RECVERR, JR_O_IP_MTU_DISCOVER,
	JR_O_IP_FREEBIND, JR_O_IP_BIND_ADDRESS_NO_PORT,
	JR_O_TCP_NODELAY, JR_O_TCP_MAXSEG, JR_O_TCP_CORK, JR_O_TCP_KEEPIDLE,
	JR_O_TCP_KEEPINTVL, JR_O_TCP_KEEPCNT, JR_O_TCP_SYNCNT,
	JR_O_TCP_DEFER_ACCEPT, JR_O_TCP_QUICKACK, JR_O_TCP_USER_TIMEOUT,
	JR_O_IPV6_V6ONLY, JR_O_IPV6_TCLASS, JR_O_IPV6_UNICAST_HOPS,
	JR_O_IP_PKTINFO, JR_O_IP_RECVTOS, JR_O_IP_RECVTTL,
	JR_O_IPV6_RECVPKTINFO, JR_O_IPV6_RECVTCLASS, JR_O_IPV6_RECVHOPLIMIT,
	JR_O_TCP_INQ,
	JR_O_IP_MULTICAST_TTL, JR_O_IP_MULTICAST_LOOP, JR_O_IP_MULTICAST_ALL,
	JR_O_IPV6_MULTICAST_IF, JR_O_IPV6_MULTICAST_HOPS,
	JR_O_IPV6_MULTICAST_LOOP, JR_O_IPV6_MULTICAST_ALL,
	JR_O_NR
};

#define JR_OT_STREAM	(1U << 0)
#define JR_OT_DGRAM	(1U << 1)
#define JR_OT_ANY	(JR_OT_STREAM | JR_OT_DGRAM)

#define JR_TCP_MIN_MSS		88	/* Linux's TCP_MIN_MSS */
#define JR_TCP_MSS_DEFAULT	536	/* what an unconnected socket reports */
#define JR_MAX_TCP_WINDOW	32767	/* Linux's bound on TCP_MAXSEG */
#define JR_TCP_INFINITE_SSTHRESH 0x7fffffff	/* TCP_INFINITE_SSTHRESH */

enum jr_opt_kind {
	JR_OK_BOOL,		/* stored as 0 or 1 */
	JR_OK_INT,		/* min..max, else EINVAL */
	JR_OK_TOS,		/* IP_TOS: a byte; TCP keeps the ECN bits */
	JR_OK_TTL,		/* IP_TTL: -1 (the default) or 1..255 */
	JR_OK_DEFER,		/* TCP_DEFER_ACCEPT: seconds, rounded up */
	JR_OK_TCLASS,		/* IPV6_TCLASS: -1 (0) or 0..255; TCP keeps ECN */
	JR_OK_MCTTL,		/* IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS: at
				 * least a byte; -1 (1) or 0..255 */
	JR_OK_BYTE_BOOL,	/* IP_MULTICAST_LOOP: at least a byte, any value */
	JR_OK_BYTE_01,		/* IP_MULTICAST_ALL: at least a byte, 0 or 1 */
	JR_OK_IFINDEX,		/* IPV6_MULTICAST_IF: an index; negative ones
				 * name no device (ENODEV) */
};

struct jr_opt {
	__u16		level;
	__u16		name;
	__u8		types;		/* socket types the option applies to;
					 * the others get EINVAL, as on Linux */
	__u8		kind;
	bool		forward;	/* the netserver acts on it */
	bool		min_byte;	/* a 1-byte value is accepted (IP) */
	int		def, min, max;
	__u64		feature;	/* a netserver must have been granted */
};


/* ABI 1.0 had the options without JR_F_SOCKOPTS. */
#define JR_IPOPT(id, nm, ty, kd, fw, d, lo, hi) \
	[id] = { SOL_IP, nm, ty, kd, fw, true, d, lo, hi, JR_F_SOCKOPTS }
#define JR_TCPOPT(id, nm, kd, fw, d, lo, hi) \
	[id] = { SOL_TCP, nm, JR_OT_STREAM, kd, fw, false, d, lo, hi, JR_F_SOCKOPTS }
#define JR_TCPOPT_V10(id, nm, kd, d, lo, hi) \
	[id] = { SOL_TCP, nm, JR_OT_STREAM, kd, true, false, d, lo, hi, 0 }
/* ABI 1.2: multicast, forwarded; v6 options need JR_F_IPV6 as well. */
#define JR_MCOPT(id, lv, nm, ty, kd, mb, d, lo, hi, f) \
	[id] = { lv, nm, ty, kd, true, mb, d, lo, hi, \
		 JR_F_SOCKOPTS | JR_F_MULTICAST | (f) }

static const struct jr_opt jr_opts[JR_O_NR] = {
	JR_IPOPT(JR_O_IP_TOS, IP_TOS, JR_OT_ANY, JR_OK_TOS, true, 0, 0, 0),
	JR_IPOPT(JR_O_IP_TTL, IP_TTL, JR_OT_ANY, JR_OK_TTL, true, -1, 0, 0),
	/* Kept, not acted on: the error queue stays empty (sockets.md). */
	JR_IPOPT(JR_O_IP_RECVERR, IP_RECVERR, JR_OT_ANY, JR_OK_BOOL, false, 0, 0, 0),
	JR_IPOPT(JR_O_IP_MTU_DISCOVER, IP_MTU_DISCOVER, JR_OT_ANY, JR_OK_INT, false,
		 IP_PMTUDISC_WANT, IP_PMTUDISC_DONT, IP_PMTUDISC_OMIT),
	JR_IPOPT(JR_O_IP_FREEBIND, IP_FREEBIND, JR_OT_ANY, JR_OK_BOOL, false, 0, 0, 0),
	JR_IPOPT(JR_O_IP_BIND_ADDRESS_NO_PORT, IP_BIND_ADDRESS_NO_PORT, JR_OT_ANY,
		 JR_OK_BOOL, false, 0, 0, 0),
	JR_TCPOPT_V10(JR_O_TCP_NODELAY, TCP_NODELAY, JR_OK_BOOL, 0, 0, 0),
	JR_TCPOPT(JR_O_TCP_MAXSEG, TCP_MAXSEG, JR_OK_INT, true, 0, 0, JR_MAX_TCP_WINDOW),
	JR_TCPOPT(JR_O_TCP_CORK, TCP_CORK, JR_OK_BOOL, true, 0, 0, 0),
	JR_TCPOPT_V10(JR_O_TCP_KEEPIDLE, TCP_KEEPIDLE, JR_OK_INT, 7200, 1, 32767),
	JR_TCPOPT_V10(JR_O_TCP_KEEPINTVL, TCP_KEEPINTVL, JR_OK_INT, 75, 1, 32767),
	JR_TCPOPT_V10(JR_O_TCP_KEEPCNT, TCP_KEEPCNT, JR_OK_INT, 9, 1, 127),
	JR_TCPOPT_V10(JR_O_TCP_SYNCNT, TCP_SYNCNT, JR_OK_INT, 6, 1, 127),
	JR_TCPOPT(JR_O_TCP_DEFER_ACCEPT, TCP_DEFER_ACCEPT, JR_OK_DEFER, true, 0, 0, 0),
	JR_TCPOPT(JR_O_TCP_QUICKACK, TCP_QUICKACK, JR_OK_BOOL, true, 1, 0, 0),
	JR_TCPOPT(JR_O_TCP_USER_TIMEOUT, TCP_USER_TIMEOUT, JR_OK_INT, true, 0, 0, INT_MAX),
	/* IPv6 sockets only (the level dispatch sees to it). */
	[JR_O_IPV6_V6ONLY] = { SOL_IPV6, IPV6_V6ONLY, JR_OT_ANY, JR_OK_BOOL, true,
			       false, 0, 0, 0, JR_F_IPV6 },
	[JR_O_IPV6_TCLASS] = { SOL_IPV6, IPV6_TCLASS, JR_OT_ANY, JR_OK_TCLASS, true,
			       false, 0, 0, 0, JR_F_IPV6 },
	[JR_O_IPV6_UNICAST_HOPS] = { SOL_IPV6, IPV6_UNICAST_HOPS, JR_OT_ANY, JR_OK_INT,
				     true, false, -1, -1, 255, JR_F_IPV6 },
	/* Control messages on received datagrams: the netserver adds a
	 * struct jr_dgram_meta to their records once one is set. */
	JR_IPOPT(JR_O_IP_PKTINFO, IP_PKTINFO, JR_OT_ANY, JR_OK_BOOL, true, 0, 0, 0),
	JR_IPOPT(JR_O_IP_RECVTOS, IP_RECVTOS, JR_OT_ANY, JR_OK_BOOL, true, 0, 0, 0),
	JR_IPOPT(JR_O_IP_RECVTTL, IP_RECVTTL, JR_OT_ANY, JR_OK_BOOL, true, 0, 0, 0),
	[JR_O_IPV6_RECVPKTINFO] = { SOL_IPV6, IPV6_RECVPKTINFO, JR_OT_ANY, JR_OK_BOOL,
				    true, false, 0, 0, 0, JR_F_IPV6 },
	[JR_O_IPV6_RECVTCLASS] = { SOL_IPV6, IPV6_RECVTCLASS, JR_OT_ANY, JR_OK_BOOL,
				   true, false, 0, 0, 0, JR_F_IPV6 },
	[JR_O_IPV6_RECVHOPLIMIT] = { SOL_IPV6, IPV6_RECVHOPLIMIT, JR_OT_ANY, JR_OK_BOOL,
				     true, false, 0, 0, 0, JR_F_IPV6 },
	/* The kernel's alone: recvmsg() tells what is left in the rx ring. */
	[JR_O_TCP_INQ] = { SOL_TCP, TCP_INQ, JR_OT_STREAM, JR_OK_INT, false,
			   false, 0, 0, 1, 0 },
	/*
	 * Multicast (JR_F_MULTICAST): Linux's defaults (TTL and hop limit
	 * 1, loopback and IP_MULTICAST_ALL on).  Linux takes the loop and
	 * "all" flags from TCP sockets too, and keeps them; IPv6's hop
	 * limit and interface on TCP are ENOPROTOOPT (jr_mc_setsockopt).
	 * IP_MULTICAST_IF and the memberships are not single ints: see
	 * "multicast" below.
	 */
	JR_MCOPT(JR_O_IP_MULTICAST_TTL, SOL_IP, IP_MULTICAST_TTL, JR_OT_DGRAM,
		 JR_OK_MCTTL, true, 1, 0, 0, 0),
	JR_MCOPT(JR_O_IP_MULTICAST_LOOP, SOL_IP, IP_MULTICAST_LOOP, JR_OT_ANY,
		 JR_OK_BYTE_BOOL, true, 1, 0, 0, 0),
	JR_MCOPT(JR_O_IP_MULTICAST_ALL, SOL_IP, IP_MULTICAST_ALL, JR_OT_ANY,
		 JR_OK_BYTE_01, true, 1, 0, 0, 0),
	JR_MCOPT(JR_O_IPV6_MULTICAST_IF, SOL_IPV6, IPV6_MULTICAST_IF, JR_OT_ANY,
		 JR_OK_IFINDEX, false, 0, 0, 0, JR_F_IPV6),
	JR_MCOPT(JR_O_IPV6_MULTICAST_HOPS, SOL_IPV6, IPV6_MULTICAST_HOPS, JR_OT_ANY,
		 JR_OK_MCTTL, false, 1, 0, 0, JR_F_IPV6),
	JR_MCOPT(JR_O_IPV6_MULTICAST_LOOP, SOL_IPV6, IPV6_MULTICAST_LOOP, JR_OT_ANY,
		 JR_OK_INT, false, 1, 0, 1, JR_F_IPV6),
	JR_MCOPT(JR_O_IPV6_MULTICAST_ALL, SOL_IPV6, IPV6_MULTICAST_ALL, JR_OT_ANY,
		 JR_OK_BOOL, false, 1, 0, 0, JR_F_IPV6),
};

/* Whether option o exists for a socket of this type (else EINVAL). */
static inline bool jr_opt_applies(const struct jr_opt *o, bool stream)
{
	return o->types & (stream ? JR_OT_STREAM : JR_OT_DGRAM);
}

static inline int jr_opt_find(int level, int name)
{
	int i;

	for (i = 0; i < JR_O_NR; i++)
		if (jr_opts[i].level == level && jr_opts[i].name == name)
			return i;
	return -1;
}

/*
 * TCP_DEFER_ACCEPT as Linux keeps it: the seconds become a number of SYN-ACK
 * retransmissions (1 s doubling, at most 120 s apart), and reading it back
 * gives the time those take.
 */
static inline int jr_defer_accept_secs(int secs)
{
	int retrans = 0, timeout = 1, period = 1, total = 0;

	if (secs <= 0)
		return 0;
	retrans = 1;
	while (secs > period && retrans < 255) {
		retrans++;
		timeout = (timeout << 1 < 120 ? timeout << 1 : 120);
		period += timeout;
	}
	for (timeout = 1, total = 1; --retrans; ) {
		timeout = (timeout << 1 < 120 ? timeout << 1 : 120);
		total += timeout;
	}
	return total;
}

/*
 * The value to store for val, read from optlen bytes (jr_opt_read's
 * rules), or -errno.  stream: a TCP socket; prev: the option's value now
 * (TCP keeps the ECN bits of IP_TOS and IPV6_TCLASS).
 */
static inline int jr_opt_value(const struct jr_opt *o, bool stream, int prev,
			       unsigned int optlen, int val, int *out)
{
	switch (o->kind) {
	case JR_OK_BOOL:
		*out = !!val;
		return 0;
	case JR_OK_TOS:
		if (stream)
			val = (val & ~JR_ECN_MASK) | (prev & JR_ECN_MASK);
		*out = val & 0xff;
		return 0;
	case JR_OK_TTL:
		if (optlen < 1 || (val != -1 && (val < 1 || val > 255)))
			return -EINVAL;
		*out = val;
		return 0;
	case JR_OK_MCTTL:
		if (optlen < 1 || val < -1 || val > 255)
			return -EINVAL;
		*out = val == -1 ? 1 : val;
		return 0;
	case JR_OK_BYTE_BOOL:
		if (optlen < 1)
			return -EINVAL;
		*out = !!val;
		return 0;
	case JR_OK_BYTE_01:
		if (optlen < 1 || (val != 0 && val != 1))
			return -EINVAL;
		*out = val;
		return 0;
	case JR_OK_IFINDEX:
		if (val < 0)
			return -ENODEV;
		*out = val;
		return 0;
	case JR_OK_DEFER:
		*out = jr_defer_accept_secs(val);
		return 0;
	case JR_OK_TCLASS:
		if (val < -1 || val > 0xff)
			return -EINVAL;
		if (val == -1)
			val = 0;
		if (stream)
			val = (val & ~JR_ECN_MASK) | (prev & JR_ECN_MASK);
		*out = val;
		return 0;
	}
	if (o->name == TCP_MAXSEG && o->level == SOL_TCP && val &&
	    val < JR_TCP_MIN_MSS)
		return -EINVAL;
	if (val < o->min || val > o->max)
		return -EINVAL;
	*out = val;
	return 0;
}

/*
 * TCP_INFO: a struct tcp_info (the kernel's layout) for a socket in state
 * (TCP_*), with Linux's figures for a connection that has not started;
 * then what the netserver reported, if it did (ji->state != 0).  The
 * caller adds the byte counts it keeps.
 */
static inline void jr_tcp_info_init(struct tcp_info *ti, __u8 state)
{
	memset(ti, 0, sizeof(*ti));
	ti->tcpi_state = state;
	ti->tcpi_rto = 1000000;			/* TCP_TIMEOUT_INIT, in us */
	ti->tcpi_snd_mss = ti->tcpi_rcv_mss = ti->tcpi_advmss = JR_TCP_MSS_DEFAULT;
	ti->tcpi_snd_ssthresh = JR_TCP_INFINITE_SSTHRESH;
	ti->tcpi_snd_cwnd = 10;			/* TCP_INIT_CWND */
	ti->tcpi_reordering = 3;		/* TCP_FASTRETRANS_THRESH */
}

static inline void jr_tcp_info_add(struct tcp_info *ti, const struct jr_tcp_info *ji)
{
	__u32 mss;

	if (!ji->state)
		return;
	mss = ji->snd_mss ? ji->snd_mss : JR_TCP_MSS_DEFAULT;
	ti->tcpi_ca_state = ji->ca_state;
	ti->tcpi_retransmits = ji->retransmits;
	ti->tcpi_backoff = ji->retransmits;
	ti->tcpi_options = ji->options;
	ti->tcpi_snd_wscale = ji->wscale >> 4;
	ti->tcpi_rcv_wscale = ji->wscale & 0xf;
	ti->tcpi_rto = ji->rto_us;
	ti->tcpi_snd_mss = ti->tcpi_rcv_mss = ti->tcpi_advmss = mss;
	ti->tcpi_rtt = ji->rtt_us;
	ti->tcpi_rttvar = ji->rttvar_us;
	ti->tcpi_snd_cwnd = ji->snd_cwnd / mss;
	ti->tcpi_snd_ssthresh = ji->snd_ssthresh >= 0x7fffffffU / 2 ?
				JR_TCP_INFINITE_SSTHRESH : ji->snd_ssthresh / mss;
	ti->tcpi_snd_wnd = ji->snd_wnd;
	ti->tcpi_unacked = ji->unacked;
	ti->tcpi_total_retrans = ji->total_retrans;
	ti->tcpi_pmtu = mss + 40;
}

#endif /* _JR_SOCKOPT_H */
