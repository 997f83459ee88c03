// SPDX-License-Identifier: GPL-2.0
/*
 * IPv6 on the port's netif.  Kept apart from port.c because lwIP's and
 * DPDK's headers both define struct ip6_hdr.
 */
#include <string.h>

#include "lwip/ethip6.h"
#include "lwip/ip6_addr.h"
#include "lwip/netif.h"

#include "ns_lwip_hooks.h"
#include "netserver.h"

/* Output and MLD: neighbour discovery needs the solicited-node groups,
 * sockets their own (port.c sets the MAC filter that follows them). */
void ns_ip6_netif_init(struct netif *netif)
{
	netif->output_ip6 = ethip6_output;
	netif->flags |= NETIF_FLAG_MLD6;
}

/*
 * IPv6 on the port: the link-local address from the MAC (RFC 4291's
 * modified EUI-64) and the configured static address, both usable at once:
 * duplicate address detection is left out (the addresses are the
 * operator's), and peers find us by neighbour solicitation.  Off-link
 * destinations go to the configured gateway (ns_ip6_route/_gateway).
 */
static ip6_addr_t ns_gateway6;

int ns_ip6_addresses(struct netif *netif, const struct ns_config *cfg)
{
	s8_t idx = 0;

	netif_create_ip6_linklocal_address(netif, 1);
	netif_ip6_addr_set_state(netif, 0, IP6_ADDR_PREFERRED);
	if (cfg->prefix6) {
		ip6_addr_t a;

		memcpy(a.addr, &cfg->ip6, 16);
		ip6_addr_clear_zone(&a);
		if (netif_add_ip6_address(netif, &a, &idx) != ERR_OK) {
			ns_err("port: lwIP refused the IPv6 address");
			return -1;
		}
		netif_ip6_addr_set_state(netif, idx, IP6_ADDR_PREFERRED);
	}
	memcpy(ns_gateway6.addr, &cfg->gateway6, 16);
	ip6_addr_clear_zone(&ns_gateway6);
	return 0;
}

/* LWIP_HOOK_ND6_GET_GW: off-link destinations go through the gateway. */
const ip6_addr_t *ns_ip6_gateway(struct netif *netif, const ip6_addr_t *dest)
{
	(void)netif;
	if (ip6_addr_isany(&ns_gateway6) || ip6_addr_islinklocal(dest))
		return NULL;
	return &ns_gateway6;
}

/* LWIP_HOOK_IP6_ROUTE: with a gateway, every global destination that no
 * on-link prefix matched leaves through the port. */
struct netif *ns_ip6_route(const ip6_addr_t *src, const ip6_addr_t *dest)
{
	(void)src;
	if (ip6_addr_isany(&ns_gateway6) || !ip6_addr_isglobal(dest))
		return NULL;
	return netif_default;
}

