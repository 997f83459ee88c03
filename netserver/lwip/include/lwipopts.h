/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lwIP configuration for jr-netserver.
 *
 * One thread, run to completion (NO_SYS=1, raw API): no lwIP locking, no
 * sequential API.  Memory comes from fixed pools sized at start-up, so the
 * hot path never calls malloc.  Sizes aim at 10,000+ concurrent TCP
 * connections and high bandwidth-delay products (window scaling).
 */
#ifndef JR_LWIPOPTS_H
#define JR_LWIPOPTS_H

/* Threading model: the engine loop is the only lwIP caller. */
#define NO_SYS				1
#define LWIP_SOCKET			0
#define LWIP_NETCONN			0
#define SYS_LIGHTWEIGHT_PROT		0
#define LWIP_TIMERS			1

/* Memory: pools, never the C heap. */
#define MEM_LIBC_MALLOC			0
#define MEMP_MEM_MALLOC			0
#define MEM_ALIGNMENT			8
#define MEM_SIZE			(64 * 1024 * 1024)	/* PBUF_RAM heap */
#define MEMP_NUM_TCP_PCB		12288
#define MEMP_NUM_TCP_PCB_LISTEN		1024
#define MEMP_NUM_UDP_PCB		4096
#define MEMP_NUM_TCP_SEG		32768	/* lwIP counts pool elements in a u16 */
#define MEMP_NUM_PBUF			32768	/* PBUF_REF/ROM headers */
#define MEMP_NUM_REASSDATA		32
#define IP_REASS_MAX_PBUFS		128
#define MEMP_NUM_FRAG_PBUF		256
#define MEMP_NUM_ARP_QUEUE		256
#define PBUF_POOL_SIZE			8192
#define PBUF_POOL_BUFSIZE		LWIP_MEM_ALIGN_SIZE(TCP_MSS + 40 + PBUF_LINK_ENCAPSULATION_HLEN + PBUF_LINK_HLEN)
/* Received frames stay in DPDK mbufs, wrapped as custom pbufs. */
#define LWIP_SUPPORT_CUSTOM_PBUF	1

/* Protocols. */
#define LWIP_ARP			1
#define ARP_TABLE_SIZE			512
#define ARP_QUEUEING			1
/*
 * Packets held for one next hop while its address is resolved.  lwIP's
 * default, 3, drops all but the last three: an engine that takes over
 * sends an ACK and duplicates for every restored connection through the
 * one gateway before its first ARP reply (tcp_restore.c).
 */
#define ARP_QUEUE_LEN			MEMP_NUM_ARP_QUEUE
#define ETHARP_SUPPORT_STATIC_ENTRIES	1
#define LWIP_ETHERNET			1
#define LWIP_IPV4			1
#define LWIP_IPV6			1	/* dual stack: JR_F_IPV6 */
#define LWIP_IPV6_NUM_ADDRESSES		3	/* link-local, --ip6, spare */
#define LWIP_IPV6_SCOPES		1
#define LWIP_IPV6_MLD			1	/* solicited-node groups for ND,
						 * and sockets' groups */
/* Groups joined on the port, each counted once however many sockets
 * joined it (service.c keeps who did). */
#define MEMP_NUM_MLD6_GROUP		256
#define LWIP_IPV6_AUTOCONFIG		0	/* addresses are configured */
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS	0
#define LWIP_IPV6_SEND_ROUTER_SOLICIT	0
#define LWIP_ND6_NUM_NEIGHBORS		120	/* lwIP indexes both caches */
#define LWIP_ND6_NUM_DESTINATIONS	120	/* with an s8_t: under 128 */
#define LWIP_ND6_QUEUEING		1
#define MEMP_NUM_ND6_QUEUE		256
#define LWIP_IPV6_REASS			1
#define LWIP_IPV6_FRAG			1
#define IPV6_FRAG_COPYHEADER		1	/* 64-bit pointers do not fit the header */
#define LWIP_ICMP6			1
#define LWIP_ICMP			1
#define LWIP_RAW			0
#define LWIP_UDP			1
#define LWIP_TCP			1
#define LWIP_DHCP			0
#define LWIP_AUTOIP			0
#define LWIP_IGMP			1	/* sockets' IPv4 groups */
#define MEMP_NUM_IGMP_GROUP		256
#define LWIP_MULTICAST_TX_OPTIONS	1	/* per-pcb TTL, loop, interface */
#define LWIP_DNS			0
#define IP_REASSEMBLY			1
#define IP_FRAG				1
#define LWIP_HAVE_LOOPIF		1
#define LWIP_NETIF_LOOPBACK		1
#define LWIP_LOOPBACK_MAX_PBUFS		1024
#define SO_REUSE			1

/* TCP: large windows for high bandwidth-delay products. */
#define TCP_MSS				1460
#define LWIP_WND_SCALE			1
#define TCP_RCV_SCALE			7
/* The largest rx ring (--rx-buf); service.c cuts each connection's window
 * to its own ring, so the advertised window is what the ring can take. */
#define TCP_WND				(4 * 1024 * 1024)
#define TCP_SND_BUF			(1024 * 1024)
#define TCP_SND_QUEUELEN		((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
#define TCP_SNDLOWAT			32768	/* lwIP keeps this in a u16 */
#define TCP_SNDQUEUELOWAT		(TCP_SND_QUEUELEN / 4)
#define TCP_OVERSIZE			TCP_MSS
#define TCP_LISTEN_BACKLOG		1
#define TCP_DEFAULT_LISTEN_BACKLOG	128
#define LWIP_TCP_KEEPALIVE		1
#define LWIP_TCP_TIMESTAMPS		0
#define TCP_QUEUE_OOSEQ			1
#define LWIP_TCP_SACK_OUT		0
#define LWIP_CALLBACK_API		1
#define LWIP_EVENT_API			0

/*
 * Checksums: per netif, so ports with offloads skip the software sums (and
 * port.c relaxes the receive checks per frame the port vouched for).  No
 * checksum-on-copy: with it lwIP sums every byte tcp_write() references,
 * even where the port then computes the checksum itself.
 */
#define LWIP_CHECKSUM_CTRL_PER_NETIF	1
#define LWIP_CHECKSUM_ON_COPY		0

/* Interfaces. */
#define LWIP_NETIF_STATUS_CALLBACK	0
#define LWIP_NETIF_LINK_CALLBACK	0
#define LWIP_SINGLE_NETIF		0
#define LWIP_NETIF_TX_SINGLE_PBUF	0

/* Hooks (netserver/lwip/include/ns_lwip_hooks.h): ICMP destination
 * unreachable reaches the sockets, which lwIP 2.1's icmp_input() does not
 * do. */
#define LWIP_HOOK_FILENAME		"ns_lwip_hooks.h"
#define LWIP_HOOK_IP4_INPUT(p, inp)	ns_ip4_input_hook((p), (inp))
#define LWIP_HOOK_IP6_INPUT(p, inp)	ns_ip6_input_hook((p), (inp))
#define LWIP_HOOK_TCP_NO_PCB(tcphdr)	ns_tcp_no_pcb_hook(tcphdr)	/* patches/0002 */
#define LWIP_HOOK_TCP_RTO(pcb)		ns_tcp_rto_hook(pcb)		/* patches/0003 */
#define LWIP_HOOK_IP6_ROUTE(src, dest)	ns_ip6_route((src), (dest))
#define LWIP_HOOK_ND6_GET_GW(netif, dest) ns_ip6_gateway((netif), (dest))

/* Diagnostics; MIB2 for its TCP counters (fast retransmissions). */
#define LWIP_STATS			1
#define LWIP_STATS_DISPLAY		0
#define MIB2_STATS			1
#define LWIP_DEBUG			0

#endif /* JR_LWIPOPTS_H */
