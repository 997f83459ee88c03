/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hooks jr-netserver puts into lwIP (LWIP_HOOK_FILENAME in lwipopts.h).
 * lwIP's core is a static library; the functions live in the netserver.
 */
#ifndef JR_NS_LWIP_HOOKS_H
#define JR_NS_LWIP_HOOKS_H

struct pbuf;
struct netif;

/*
 * Every IPv4 packet, before lwIP checks it (netserver/icmp.c): looks at
 * ICMP destination-unreachable messages, which lwIP's icmp_input() only
 * counts, and reports them to the socket they concern.  Never consumes the
 * packet (returns 0): lwIP goes on as without the hook.
 */
int ns_ip4_input_hook(struct pbuf *p, struct netif *inp);

/* The same for IPv6: ICMPv6 destination unreachable (netserver/icmp.c). */
int ns_ip6_input_hook(struct pbuf *p, struct netif *inp);

/*
 * A TCP segment that matches no connection (patches/0002), whether or not
 * it reached a listener: non-zero drops it
 * without the RST lwIP would send, while the kernel is still handing us
 * connections to restore (netserver/service.c).
 */
struct tcp_hdr;
int ns_tcp_no_pcb_hook(const struct tcp_hdr *tcphdr);

/* The retransmission timer fired for a connection (patches/0003). */
struct tcp_pcb;
void ns_tcp_rto_hook(struct tcp_pcb *pcb);

/* Off-link IPv6 destinations and their next hop: the configured gateway
 * (--gateway6; netserver/port.c).  NULL: lwIP decides. */
struct ip6_addr;
struct netif *ns_ip6_route(const struct ip6_addr *src, const struct ip6_addr *dest);
const struct ip6_addr *ns_ip6_gateway(struct netif *netif, const struct ip6_addr *dest);

#endif /* JR_NS_LWIP_HOOKS_H */
