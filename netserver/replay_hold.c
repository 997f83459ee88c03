// SPDX-License-Identifier: GPL-2.0
/*
 * Segments held while connections are being handed over.
 *
 * When an engine dies, its successor (a standby, or a netserver started in
 * recovery) takes its queue before the kernel has replayed the dead
 * engine's sockets to it: the connections it is about to RESTORE are
 * unknown to lwIP for 100-200 ms under load.  Their peers' segments
 * arrive meanwhile: what the NIC's queue held at the takeover (the data in
 * flight at the death, in order, right after what the dead engine had
 * acknowledged), and the peers' retransmissions.  Dropped (service.c,
 * ns_tcp_no_pcb_hook()), all of it must be sent again: the peers wait
 * for their retransmission timeout, or for the duplicate ACKs that a
 * RESTORE sends (tcp_restore.c), and recover a window of losses one
 * segment per round trip (lwIP offers no SACK).  A retransmission timeout
 * whose segment was dropped this way backs off to twice as long.
 *
 * So while a replay is pending, a TCP segment that matches no connection
 * is held here instead (a bounded number of them), with its 4-tuple; a
 * RESTORE of that 4-tuple feeds its held segments to lwIP before it sends
 * its first ACK, and the end of the replay feeds the rest, which meet
 * lwIP's usual answer to a segment of no connection (a RST: the kernel
 * did not keep that connection).  A SYN for a port with a listener goes
 * on as usual: the listener was replayed first.
 *
 * Held segments are mbufs of the port's pool (up to NS_REPLAY_HOLD_MAX of
 * its 16383), for at most the length of a replay.  Under 16 streams a
 * takeover's replay saw up to 779 segments (512 held, the rest dropped,
 * when that was the bound).
 */
#include <string.h>

#include "lwip/ip.h"
#include "lwip/ip4.h"
#include "lwip/ip6.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/ip6.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"

#include "netserver.h"

#define NS_REPLAY_HOLD_MAX	2048

struct held_segment {
	struct pbuf	*p;		/* from the IP header on */
	struct netif	*inp;
	u16_t		chksum_flags;	/* inp's, for this segment (below) */
	ip_addr_t	src, dst;	/* zoneless */
	u16_t		sport, dport;	/* host order */
};

static struct held_segment held[NS_REPLAY_HOLD_MAX];
static unsigned int nr_held;
/* Those being fed (feeding may hold segments again, in held[]). */
static struct held_segment feeding[NS_REPLAY_HOLD_MAX];
/* For the log line at the end of a replay. */
static unsigned int held_total, held_restored, held_dropped;

/*
 * The 4-tuple and TCP flags of an IPv4 or IPv6 TCP segment; false if p is
 * not one (another protocol, a fragment, an IPv6 extension header, too
 * short): those go on to lwIP as usual.  The headers are copied out: they
 * may span pbufs.
 */
static bool parse_tcp(struct pbuf *p, struct held_segment *h, u8_t *flags)
{
	union {
		struct ip_hdr	ip4;
		struct ip6_hdr	ip6;
	} ip;
	struct tcp_hdr tcp;
	u16_t l3;

	if (pbuf_copy_partial(p, &ip, IP_HLEN, 0) != IP_HLEN)
		return false;
	if (IPH_V(&ip.ip4) == 4) {
		l3 = IPH_HL_BYTES(&ip.ip4);
		if (IPH_PROTO(&ip.ip4) != IP_PROTO_TCP || l3 < IP_HLEN ||
		    (IPH_OFFSET(&ip.ip4) & PP_HTONS(IP_MF | IP_OFFMASK)))
			return false;
		ip4_addr_copy(*ip_2_ip4(&h->src), ip.ip4.src);
		ip4_addr_copy(*ip_2_ip4(&h->dst), ip.ip4.dest);
		IP_SET_TYPE_VAL(h->src, IPADDR_TYPE_V4);
		IP_SET_TYPE_VAL(h->dst, IPADDR_TYPE_V4);
	} else if (IPH_V(&ip.ip4) == 6) {
		l3 = IP6_HLEN;
		if (pbuf_copy_partial(p, &ip, IP6_HLEN, 0) != IP6_HLEN ||
		    IP6H_NEXTH(&ip.ip6) != IP_PROTO_TCP)
			return false;
		ip6_addr_copy_from_packed(*ip_2_ip6(&h->src), ip.ip6.src);
		ip6_addr_copy_from_packed(*ip_2_ip6(&h->dst), ip.ip6.dest);
		IP_SET_TYPE_VAL(h->src, IPADDR_TYPE_V6);
		IP_SET_TYPE_VAL(h->dst, IPADDR_TYPE_V6);
	} else {
		return false;
	}
	if (pbuf_copy_partial(p, &tcp, TCP_HLEN, l3) != TCP_HLEN)
		return false;
	h->sport = lwip_ntohs(tcp.src);
	h->dport = lwip_ntohs(tcp.dest);
	*flags = TCPH_FLAGS(&tcp);
	return true;
}

static bool addr_eq(const ip_addr_t *pcb_addr, const ip_addr_t *raw)
{
	if (IP_IS_V6_VAL(*raw))
		return IP_IS_V6_VAL(*pcb_addr) &&
		       ip6_addr_cmp_zoneless(ip_2_ip6(pcb_addr), ip_2_ip6(raw));
	return IP_IS_V4_VAL(*pcb_addr) && ip4_addr_cmp(ip_2_ip4(pcb_addr), ip_2_ip4(raw));
}

static bool pcb_is(const struct tcp_pcb *pcb, const struct held_segment *h)
{
	return pcb->local_port == h->dport && pcb->remote_port == h->sport &&
	       addr_eq(&pcb->local_ip, &h->dst) && addr_eq(&pcb->remote_ip, &h->src);
}

static bool has_connection(const struct held_segment *h)
{
	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
		if (pcb_is(pcb, h))
			return true;
	for (struct tcp_pcb *pcb = tcp_tw_pcbs; pcb; pcb = pcb->next)
		if (pcb_is(pcb, h))
			return true;
	return false;
}

static bool has_listener(u16_t port)
{
	for (struct tcp_pcb_listen *l = tcp_listen_pcbs.listen_pcbs; l; l = l->next)
		if (l->local_port == port)
			return true;
	return false;
}

int ns_replay_hold(struct pbuf *p, struct netif *inp)
{
	struct held_segment h;
	u8_t flags;

	if (!parse_tcp(p, &h, &flags) || has_connection(&h))
		return 0;
	if ((flags & (TCP_SYN | TCP_ACK)) == TCP_SYN && has_listener(h.dport))
		return 0;
	if (nr_held == NS_REPLAY_HOLD_MAX) {
		held_dropped++;
		return 0;	/* dropped without a RST, as before holding */
	}
	h.p = p;
	h.inp = inp;
	h.chksum_flags = inp->chksum_flags;
	held[nr_held++] = h;
	held_total++;
	return 1;
}

/*
 * To lwIP, as if they came now; in the order they came.  With the checks
 * the port set for each when it came (port.c, the NIC's checksum verdict):
 * a segment from a sender on this machine may carry a partial checksum,
 * which the NIC said to skip and lwIP would find wrong.
 */
static void feed(struct held_segment *segs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct netif *inp = segs[i].inp;
		u16_t now = inp->chksum_flags;

		NETIF_SET_CHECKSUM_CTRL(inp, segs[i].chksum_flags);
		if (IP_IS_V6_VAL(segs[i].src))
			ip6_input(segs[i].p, inp);
		else
			ip4_input(segs[i].p, inp);
		NETIF_SET_CHECKSUM_CTRL(inp, now);
	}
}

void ns_replay_release(const struct tcp_pcb *pcb)
{
	unsigned int n = 0, kept = 0;

	for (unsigned int i = 0; i < nr_held; i++) {
		if (pcb_is(pcb, &held[i]))
			feeding[n++] = held[i];
		else
			held[kept++] = held[i];
	}
	nr_held = kept;
	held_restored += n;
	feed(feeding, n);
}

void ns_replay_release_all(void)
{
	unsigned int n = nr_held;

	memcpy(feeding, held, n * sizeof(feeding[0]));
	nr_held = 0;
	if (held_total || held_dropped)
		ns_info("replay over: %u segments held meanwhile, %u went to restored "
			"connections, %u for none (%u not held: too many)",
			held_total, held_restored, n, held_dropped);
	held_total = held_restored = held_dropped = 0;
	feed(feeding, n);
}

/*
 * A frontend destroyed while its replay is pending (an orderly stop, a user
 * frontend gone): what was held is dropped, as segments of no connection
 * were before holding.  Fed now, after the replay, they would get lwIP's
 * RST, and end connections the kernel keeps for the next netserver.
 */
void ns_replay_drop_all(void)
{
	if (nr_held)
		ns_info("replay cut short: %u held segments dropped", nr_held);
	for (unsigned int i = 0; i < nr_held; i++)
		pbuf_free(held[i].p);
	nr_held = 0;
	held_total = held_restored = held_dropped = 0;
}
