// SPDX-License-Identifier: GPL-2.0
/*
 * The DPDK port and the lwIP netif on top of it.
 *
 * Receive is zero-copy: each mbuf carries, in its private area, the
 * struct pbuf_custom that lwIP sees, whose payload points into the mbuf's
 * data; freeing the pbuf frees the mbuf.  Transmit copies lwIP's pbuf chain
 * into one mbuf (the one copy on the way out: TCP payload is referenced
 * from the socket's tx ring, not copied, until this point).  IPv4 and
 * TCP/UDP checksums are left to the port when it offers the offloads.
 */
#include <errno.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#include "netserver.h"

#define NS_NB_MBUFS	16383
#define NS_MBUF_CACHE	256
#define NS_RX_DESC	1024
#define NS_TX_DESC	1024

struct ns_rx_pbuf {
	struct pbuf_custom	pc;
	struct rte_mbuf		*m;
};

static void ns_rx_pbuf_free(struct pbuf *p)
{
	struct ns_rx_pbuf *rp = (struct ns_rx_pbuf *)p;

	rte_pktmbuf_free(rp->m);
}

/*
 * Offloads need the pseudo-header checksum in the L4 header and the header
 * lengths in the mbuf; lwIP left the checksum fields zero because the
 * netif said the port computes them.
 */
static void ns_tx_offload(struct ns_port *port, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip;
	uint32_t l3_len;

	if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    m->data_len < sizeof(*eth) + sizeof(*ip))
		return;
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	l3_len = rte_ipv4_hdr_len(ip);
	m->l2_len = sizeof(*eth);
	m->l3_len = l3_len;
	if (port->tx_csum_ip) {
		ip->hdr_checksum = 0;
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	}
	if (!port->tx_csum_l4 ||
	    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG |
						     RTE_IPV4_HDR_OFFSET_MASK)))
		return;
	if (ip->next_proto_id == IPPROTO_TCP &&
	    m->data_len >= sizeof(*eth) + l3_len + sizeof(struct rte_tcp_hdr)) {
		struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)((char *)ip + l3_len);

		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
		tcp->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else if (ip->next_proto_id == IPPROTO_UDP &&
		   m->data_len >= sizeof(*eth) + l3_len + sizeof(struct rte_udp_hdr)) {
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)((char *)ip + l3_len);

		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
		udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	}
}

static err_t ns_linkoutput(struct netif *netif, struct pbuf *p)
{
	struct ns_port *port = netif->state;
	struct rte_mbuf *m;
	char *data;

	if (p->tot_len > RTE_ETHER_MAX_LEN) {
		port->tx_dropped++;
		return ERR_BUF;
	}
	m = rte_pktmbuf_alloc(port->pool);
	if (!m) {
		port->tx_dropped++;
		return ERR_MEM;
	}
	data = rte_pktmbuf_append(m, p->tot_len);
	if (!data) {
		rte_pktmbuf_free(m);
		port->tx_dropped++;
		return ERR_MEM;
	}
	pbuf_copy_partial(p, data, p->tot_len, 0);
	if (port->tx_csum_ip || port->tx_csum_l4)
		ns_tx_offload(port, m);
	port->tx_pending[port->nr_tx_pending++] = m;
	if (port->nr_tx_pending == NS_BURST)
		ns_port_flush(port);
	return ERR_OK;
}

void ns_port_flush(struct ns_port *port)
{
	unsigned int sent = 0;
	int tries = 0;

	while (sent < port->nr_tx_pending && tries++ < 4)
		sent += rte_eth_tx_burst(port->id, 0, port->tx_pending + sent,
					 port->nr_tx_pending - sent);
	port->tx_packets += sent;
	/* A full TX ring drops, as a NIC would; TCP retransmits. */
	for (unsigned int i = sent; i < port->nr_tx_pending; i++) {
		rte_pktmbuf_free(port->tx_pending[i]);
		port->tx_dropped++;
	}
	port->nr_tx_pending = 0;
}

static err_t ns_netif_init(struct netif *netif)
{
	struct ns_port *port = netif->state;
	struct rte_ether_addr mac;

	netif->name[0] = 'j';
	netif->name[1] = 'r';
	netif->output = etharp_output;
	netif->linkoutput = ns_linkoutput;
	netif->mtu = 1500;
	netif->hwaddr_len = ETH_HWADDR_LEN;
	rte_eth_macaddr_get(port->id, &mac);
	memcpy(netif->hwaddr, mac.addr_bytes, ETH_HWADDR_LEN);
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP |
		       NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
	/* Generate in software only what the port cannot; check all. */
	NETIF_SET_CHECKSUM_CTRL(netif,
		(port->tx_csum_ip ? 0 : NETIF_CHECKSUM_GEN_IP) |
		(port->tx_csum_l4 ? 0 : NETIF_CHECKSUM_GEN_TCP | NETIF_CHECKSUM_GEN_UDP) |
		NETIF_CHECKSUM_GEN_ICMP | NETIF_CHECKSUM_GEN_ICMP6 |
		NETIF_CHECKSUM_CHECK_IP | NETIF_CHECKSUM_CHECK_UDP |
		NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_ICMP |
		NETIF_CHECKSUM_CHECK_ICMP6);
	return ERR_OK;
}

static int ns_port_configure(struct ns_port *port, bool rx_intr)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	int ret;

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_info_get(port->id, &info);
	if (ret)
		return ret;
	if ((info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM))
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	if ((info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) &&
	    (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM))
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
					RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	conf.intr_conf.rxq = rx_intr;
	ret = rte_eth_dev_configure(port->id, 1, 1, &conf);
	if (ret)
		return ret;
	port->tx_csum_ip = conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	port->tx_csum_l4 = conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM;

	uint16_t nb_rx = NS_RX_DESC, nb_tx = NS_TX_DESC;

	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port->id, &nb_rx, &nb_tx);
	if (ret)
		return ret;
	ret = rte_eth_rx_queue_setup(port->id, 0, nb_rx,
				     rte_eth_dev_socket_id(port->id), NULL, port->pool);
	if (ret)
		return ret;
	struct rte_eth_txconf txconf = info.default_txconf;

	txconf.offloads = conf.txmode.offloads;
	return rte_eth_tx_queue_setup(port->id, 0, nb_tx,
				      rte_eth_dev_socket_id(port->id), &txconf);
}

int ns_port_init(struct ns_engine *eng, int argc, char **argv)
{
	struct ns_port *port = &eng->port;
	struct ns_config *cfg = eng->cfg;
	ip4_addr_t ip, mask, gw;
	bool rx_intr = true;
	int ret;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		ns_err("eal: rte_eal_init failed: %s", rte_strerror(rte_errno));
		return -1;
	}
	port->id = cfg->port;
	port->rx_intr_fd = -1;
	if (!rte_eth_dev_is_valid_port(port->id)) {
		ns_err("port: no DPDK port %u (ports available: %u; check --eal)",
		       port->id, rte_eth_dev_count_avail());
		return -1;
	}
	/* The private area holds the pbuf_custom lwIP sees for each frame. */
	port->pool = rte_pktmbuf_pool_create("jr_mbufs", NS_NB_MBUFS, NS_MBUF_CACHE,
		RTE_ALIGN(sizeof(struct ns_rx_pbuf), RTE_MBUF_PRIV_ALIGN),
		RTE_MBUF_DEFAULT_BUF_SIZE, rte_eth_dev_socket_id(port->id));
	if (!port->pool) {
		ns_err("port: cannot create the mbuf pool: %s", rte_strerror(rte_errno));
		return -1;
	}
	ret = ns_port_configure(port, rx_intr);
	if (ret) {
		/* Not every PMD has RX interrupts; poll-only still works. */
		rx_intr = false;
		ret = ns_port_configure(port, rx_intr);
	}
	if (ret) {
		ns_err("port: cannot configure port %u: %s", port->id, rte_strerror(-ret));
		return -1;
	}
	ret = rte_eth_dev_start(port->id);
	if (ret) {
		ns_err("port: cannot start port %u: %s", port->id, rte_strerror(-ret));
		return -1;
	}
	if (rx_intr && rte_eth_dev_rx_intr_ctl_q_get_fd(port->id, 0) >= 0)
		port->rx_intr_fd = rte_eth_dev_rx_intr_ctl_q_get_fd(port->id, 0);

	lwip_init();
	ip.addr = cfg->ip.s_addr;
	mask.addr = cfg->prefix ? htonl(~0U << (32 - cfg->prefix)) : 0;
	gw.addr = cfg->gateway.s_addr;
	if (!netif_add(&port->netif, &ip, &mask, &gw, port, ns_netif_init,
		       ethernet_input)) {
		ns_err("port: lwIP refused the interface");
		return -1;
	}
	if (cfg->mac_set) {
		struct rte_ether_addr mac;

		memcpy(mac.addr_bytes, cfg->mac, 6);
		if (rte_eth_dev_default_mac_addr_set(port->id, &mac))
			/* Some vdevs cannot change it; receive it anyway. */
			rte_eth_promiscuous_enable(port->id);
		memcpy(port->netif.hwaddr, cfg->mac, 6);
	}
	netif_set_default(&port->netif);
	netif_set_up(&port->netif);
	netif_set_link_up(&port->netif);
	/* Announce ourselves so peers learn the MAC without asking. */
	etharp_gratuitous(&port->netif);
	ns_info("port %u up: %s/%u mac %02x:%02x:%02x:%02x:%02x:%02x, offloads ip %s l4 %s, rx interrupt %s",
		port->id, inet_ntoa(cfg->ip), cfg->prefix,
		port->netif.hwaddr[0], port->netif.hwaddr[1], port->netif.hwaddr[2],
		port->netif.hwaddr[3], port->netif.hwaddr[4], port->netif.hwaddr[5],
		port->tx_csum_ip ? "on" : "off", port->tx_csum_l4 ? "on" : "off",
		port->rx_intr_fd >= 0 ? "yes" : "no");
	return 0;
}

unsigned int ns_port_poll(struct ns_engine *eng)
{
	struct ns_port *port = &eng->port;
	struct rte_mbuf *pkts[NS_BURST];
	uint16_t n = rte_eth_rx_burst(port->id, 0, pkts, NS_BURST);

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct ns_rx_pbuf *rp = rte_mbuf_to_priv(m);
		struct pbuf *p;

		/* Frames arrive in one segment: the pool's buffers hold 2 KiB. */
		if (m->nb_segs != 1) {
			rte_pktmbuf_free(m);
			port->rx_dropped++;
			continue;
		}
		rte_prefetch0(rte_pktmbuf_mtod(m, void *));
		rp->m = m;
		rp->pc.custom_free_function = ns_rx_pbuf_free;
		p = pbuf_alloced_custom(PBUF_RAW, m->data_len, PBUF_REF, &rp->pc,
					rte_pktmbuf_mtod(m, void *), m->data_len);
		if (!p || port->netif.input(p, &port->netif) != ERR_OK) {
			if (p)
				pbuf_free(p);
			else
				rte_pktmbuf_free(m);
			port->rx_dropped++;
			continue;
		}
	}
	port->rx_packets += n;
	return n;
}

void ns_port_rx_intr(struct ns_port *port, bool enable)
{
	if (port->rx_intr_fd < 0)
		return;
	if (enable)
		rte_eth_dev_rx_intr_enable(port->id, 0);
	else
		rte_eth_dev_rx_intr_disable(port->id, 0);
}

void ns_port_close(struct ns_port *port)
{
	ns_port_flush(port);
	rte_eth_dev_stop(port->id);
	rte_eth_dev_close(port->id);
}
