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

#endif /* JR_NS_LWIP_HOOKS_H */
