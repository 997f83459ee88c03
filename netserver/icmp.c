// SPDX-License-Identifier: GPL-2.0
/*
 * ICMP and ICMPv6 destination unreachable, for the sockets they concern.
 *
 * lwIP 2.1's icmp_input() answers echo requests and only counts the rest,
 * so a connect to an unreachable network would wait for its SYN retries,
 * and a connected UDP socket would never hear of a closed port.  lwIP's
 * LWIP_HOOK_IP4_INPUT sees every IPv4 packet first (from the port and from
 * the loopback interfaces alike); this looks at ICMP type 3 messages there,
 * parses the IPv4 header and the first 8 bytes of the transport header
 * they quote, and hands them to service.c (ns_icmp_unreach()), which finds
 * the pcb and the socket.  The packet is then left to lwIP as it is.
 * LWIP_HOOK_IP6_INPUT does the same for ICMPv6 type 1 (lwIP's icmp6_input()
 * drops those too); a quote whose next header is not TCP or UDP (an
 * extension header) is ignored.
 *
 * The message comes from the network and is not trusted: every length is
 * checked against what was received before anything is read, the checksums
 * are checked as lwIP checks them for that interface, fragments are
 * ignored, and both the message and the datagram it quotes must be
 * addressed from and to this host.
 */
#include <string.h>

#include "lwip/inet_chksum.h"
#include "lwip/ip4_addr.h"
#include "lwip/ip6_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/prot/ip.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/ip6.h"

#include "ns_lwip_hooks.h"
#include "netserver.h"

#define ICMP_TYPE_DEST_UNREACH	3
#define ICMP_HDR_LEN		8
#define IP4_HDR_MIN		20
#define QUOTED_L4_LEN		8	/* what every ICMP error quotes */
#define ICMP6_TYPE_DEST_UNREACH	1
#define IP6_HDR_LEN		40
/* Linux sends at most 576 bytes; allow up to an Ethernet MTU. */
#define ICMP_MSG_MAX		1500

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Network-order address at p is one of ours (an interface that is up). */
static bool ours(const uint8_t *p, uint32_t *out)
{
	struct netif *nif;
	uint32_t a;

	memcpy(&a, p, 4);
	*out = a;
	if (!a)
		return false;
	NETIF_FOREACH(nif) {
		if (netif_is_up(nif) && ip4_addr_get_u32(netif_ip4_addr(nif)) == a)
			return true;
	}
	return false;
}

int ns_ip4_input_hook(struct pbuf *p, struct netif *inp)
{
	/* One engine thread: a static buffer is enough. */
	static uint8_t msg[ICMP_MSG_MAX];
	const uint8_t *h = p->payload;
	const uint8_t *icmp, *in, *l4;
	unsigned int ihl, tot, icmp_len, in_ihl;
	uint32_t dst, in_src, in_dst;

	if (ns_replays_pending() && ns_replay_hold(p, inp))
		return 1;	/* eaten: held until its connection is restored */
	/* The common case first, from the first buffer only: not ICMP. */
	if (p->len < IP4_HDR_MIN || (h[0] >> 4) != 4 || h[9] != IP_PROTO_ICMP)
		return 0;
	ihl = (h[0] & 0x0f) * 4u;
	tot = get16(h + 2);
	if (ihl < IP4_HDR_MIN || tot > p->tot_len || tot > sizeof(msg) ||
	    tot < ihl + ICMP_HDR_LEN + IP4_HDR_MIN + QUOTED_L4_LEN)
		return 0;
	/* A fragment: lwIP reassembles it later, and a quote that needs
	 * reassembling is not worth trusting. */
	if (get16(h + 6) & (IP_MF | IP_OFFMASK))
		return 0;
	if (pbuf_copy_partial(p, msg, (u16_t)tot, 0) != tot)
		return 0;
	if ((inp->chksum_flags & NETIF_CHECKSUM_CHECK_IP) && inet_chksum(msg, (u16_t)ihl))
		return 0;
	icmp = msg + ihl;
	icmp_len = tot - ihl;
	if (icmp[0] != ICMP_TYPE_DEST_UNREACH)
		return 0;
	if ((inp->chksum_flags & NETIF_CHECKSUM_CHECK_ICMP) &&
	    inet_chksum(icmp, (u16_t)icmp_len))
		return 0;
	/* For us, unicast (Linux ignores errors sent to broadcast); from
	 * anyone, since any router on the path may report. */
	if (!ours(msg + 16, &dst))
		return 0;

	/* The quoted datagram: ours, to someone, with its transport header. */
	in = icmp + ICMP_HDR_LEN;
	if ((in[0] >> 4) != 4)
		return 0;
	in_ihl = (in[0] & 0x0f) * 4u;
	if (in_ihl < IP4_HDR_MIN || ICMP_HDR_LEN + in_ihl + QUOTED_L4_LEN > icmp_len)
		return 0;
	if (get16(in + 6) & IP_OFFMASK)
		return 0;	/* not the first fragment: no ports in it */
	if (in[9] != IP_PROTO_TCP && in[9] != IP_PROTO_UDP)
		return 0;
	if (!ours(in + 12, &in_src))
		return 0;
	memcpy(&in_dst, in + 16, 4);
	l4 = in + in_ihl;
	{
		ip_addr_t local, remote;

		ip_addr_set_ip4_u32_val(local, in_src);
		ip_addr_set_ip4_u32_val(remote, in_dst);
		ns_icmp_unreach(in[9], false, icmp[1], &local, get16(l4), &remote,
				get16(l4 + 2), in[9] == IP_PROTO_TCP ? get32(l4 + 4) : 0);
	}
	return 0;
}

static void get_ip6(const uint8_t *p, ip_addr_t *ip)
{
	ip_addr_set_zero_ip6(ip);
	memcpy(ip_2_ip6(ip)->addr, p, 16);
}

/* An IPv6 address (16 bytes at p) of an interface that is up. */
static bool ours6(const uint8_t *p, ip_addr_t *out)
{
	struct netif *nif;

	get_ip6(p, out);
	NETIF_FOREACH(nif) {
		if (netif_is_up(nif) && netif_get_ip6_addr_match(nif, ip_2_ip6(out)) >= 0) {
			if (ip6_addr_islinklocal(ip_2_ip6(out)))
				ip6_addr_assign_zone(ip_2_ip6(out), IP6_UNICAST, nif);
			return true;
		}
	}
	return false;
}

/* The ICMPv6 checksum: over the pseudo-header (RFC 8200, 8.1) and the message. */
static bool icmp6_sum_ok(const uint8_t *ip6, const uint8_t *icmp, unsigned int len)
{
	uint32_t sum = 0;
	unsigned int i;

	for (i = 8; i < 40; i += 2)
		sum += get16(ip6 + i);
	sum += len >> 16;
	sum += len & 0xffff;
	sum += IP6_NEXTH_ICMP6;
	for (i = 0; i + 1 < len; i += 2)
		sum += get16(icmp + i);
	if (len & 1)
		sum += (uint32_t)icmp[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

int ns_ip6_input_hook(struct pbuf *p, struct netif *inp)
{
	static uint8_t msg[ICMP_MSG_MAX];
	const uint8_t *h = p->payload;
	const uint8_t *icmp, *in, *l4;
	unsigned int tot, icmp_len;
	ip_addr_t dst, in_src, in_dst;

	if (ns_replays_pending() && ns_replay_hold(p, inp))
		return 1;
	if (p->len < IP6_HDR_LEN || (h[0] >> 4) != 6 || h[6] != IP6_NEXTH_ICMP6)
		return 0;
	tot = IP6_HDR_LEN + get16(h + 4);
	if (tot > p->tot_len || tot > sizeof(msg) ||
	    tot < IP6_HDR_LEN + ICMP_HDR_LEN + IP6_HDR_LEN + QUOTED_L4_LEN)
		return 0;
	if (pbuf_copy_partial(p, msg, (u16_t)tot, 0) != tot)
		return 0;
	icmp = msg + IP6_HDR_LEN;
	icmp_len = tot - IP6_HDR_LEN;
	if (icmp[0] != ICMP6_TYPE_DEST_UNREACH)
		return 0;
	if ((inp->chksum_flags & NETIF_CHECKSUM_CHECK_ICMP6) &&
	    !icmp6_sum_ok(msg, icmp, icmp_len))
		return 0;
	if (!ours6(msg + 24, &dst))
		return 0;
	in = icmp + ICMP_HDR_LEN;
	if ((in[0] >> 4) != 6 || (in[6] != IP_PROTO_TCP && in[6] != IP_PROTO_UDP))
		return 0;
	if (!ours6(in + 8, &in_src))
		return 0;
	get_ip6(in + 24, &in_dst);
	if (ip6_addr_islinklocal(ip_2_ip6(&in_dst)))
		ip6_addr_assign_zone(ip_2_ip6(&in_dst), IP6_UNICAST, inp);
	l4 = in + IP6_HDR_LEN;
	ns_icmp_unreach(in[6], true, icmp[1], &in_src, get16(l4), &in_dst, get16(l4 + 2),
			in[6] == IP_PROTO_TCP ? get32(l4 + 4) : 0);
	return 0;
}
