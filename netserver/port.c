// SPDX-License-Identifier: GPL-2.0
/*
 * The DPDK port and the lwIP netif on top of it.
 *
 * Receive is zero-copy: each mbuf carries, in its private area, the
 * struct pbuf_custom that lwIP sees, whose payload points into the mbuf's
 * data; freeing the pbuf frees the mbuf.  A large frame the port coalesced
 * (LRO) arrives as an mbuf chain and becomes a pbuf chain, one custom pbuf
 * per segment.  Where the port vouches for a frame's L4 checksum, lwIP is
 * told not to check it again, for that frame only.
 *
 * Transmit copies lwIP's pbuf chain into one mbuf (the one copy on the way
 * out: TCP payload is referenced from the socket's tx ring, not copied,
 * until this point).  Checksums are left to the port when it offers them.
 *
 * TSO by coalescing.  lwIP emits MSS-sized segments; when the port offers
 * TCP segmentation, consecutive segments of one flow that lwIP sends in one
 * go (same addresses, ports, ACK and window, contiguous sequence numbers,
 * no flag but ACK and PSH) are copied into one 64 KiB mbuf and handed to
 * the port as a single TSO frame, which it cuts back into the same
 * segments on the wire.  lwIP itself is not changed: its retransmissions,
 * window checks and congestion control keep working on MSS-sized segments
 * (lwIP 2.1 would retransmit a 64 KiB segment whole, and splits one only
 * by copying it), while the NIC, the virtio device or the host kernel sees
 * one frame per 64 KiB instead of 44.  Documentation/architecture.md.
 *
 * Back-pressure.  Frames wait in tx_pending for room in the NIC's TX
 * queue; when NS_TX_QUEUE wait, lwIP gets ERR_MEM and keeps its segments
 * unsent (nothing is dropped that lwIP believes sent), and the next loop
 * turn asks every connection with unsent data to output again.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_arp.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>
#include <rte_thash.h>
#include <rte_udp.h>

/* DPDK's headers bring glibc's struct ip6_hdr and lwIP has its own: this
 * file uses neither, so lwIP's is renamed here (pointers to it keep their
 * layout). */
#define ip6_hdr lwip_ip6_hdr
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/ip6_addr.h"
#include "lwip/ip6.h"
#include "netif/ethernet.h"
#undef ip6_hdr

#include "keeper.h"
#include "netserver.h"

#define NS_NB_MBUFS	16383
#define NS_MBUF_CACHE	256
#define NS_RX_DESC	1024
#define NS_TX_DESC	1024

/* TSO frames: the most an mbuf's 16-bit buffer length allows. */
#define NS_TSO_DATA_ROOM	UINT16_MAX
#define NS_TSO_MAX_FRAME	(NS_TSO_DATA_ROOM - RTE_PKTMBUF_HEADROOM)
#define NS_TSO_MBUFS		1023
#define NS_TSO_MAX_SEGS		64
#define NS_TCP_HDRS		(sizeof(struct rte_ether_hdr) + \
				 sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_tcp_hdr))

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
static void ns_tx_offload6(struct ns_port *port, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);

	/* lwIP puts no extension header before TCP or UDP, except a
	 * fragment header, and checksums those datagrams itself
	 * (ns_udp_sendto). */
	if (!port->tx_csum_l4 || m->data_len < sizeof(*eth) + sizeof(*ip6))
		return;
	m->l2_len = sizeof(*eth);
	m->l3_len = sizeof(*ip6);
	if (ip6->proto == IPPROTO_TCP &&
	    m->data_len >= sizeof(*eth) + sizeof(*ip6) + sizeof(struct rte_tcp_hdr)) {
		struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip6 + 1);

		m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;
		tcp->cksum = rte_ipv6_phdr_cksum(ip6, m->ol_flags);
	} else if (ip6->proto == IPPROTO_UDP &&
		   m->data_len >= sizeof(*eth) + sizeof(*ip6) + sizeof(struct rte_udp_hdr)) {
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip6 + 1);

		m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
		udp->dgram_cksum = rte_ipv6_phdr_cksum(ip6, m->ol_flags);
	}
}

static void ns_tx_offload(struct ns_port *port, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip;
	uint32_t l3_len;

	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
		ns_tx_offload6(port, m);
		return;
	}
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

/*
 * A TCP segment that a TSO frame may carry: IPv4 without options, TCP
 * without options, payload, no flag but ACK and PSH, headers in the first
 * pbuf.  Returns its payload length, or 0.
 */
static uint16_t ns_tso_candidate(const struct pbuf *p)
{
	const struct rte_ether_hdr *eth = p->payload;
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_tcp_hdr *tcp = (const struct rte_tcp_hdr *)(ip + 1);
	uint16_t ip_len;

	if (p->len < NS_TCP_HDRS ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    ip->version_ihl != 0x45 || ip->next_proto_id != IPPROTO_TCP ||
	    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG |
						     RTE_IPV4_HDR_OFFSET_MASK)) ||
	    (tcp->data_off >> 4) != sizeof(*tcp) / 4 ||
	    tcp->tcp_flags != (tcp->tcp_flags & (RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG)) ||
	    !(tcp->tcp_flags & RTE_TCP_ACK_FLAG))
		return 0;
	ip_len = rte_be_to_cpu_16(ip->total_length);
	if (ip_len != p->tot_len - sizeof(*eth) ||
	    ip_len <= sizeof(*ip) + sizeof(*tcp))
		return 0;
	return ip_len - sizeof(*ip) - sizeof(*tcp);
}

/* The open frame takes no more segments: set its offloads. */
static void ns_tso_close(struct ns_port *port)
{
	struct ns_tso_open *o = &port->tso_open;
	struct rte_mbuf *m = o->m;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;

	if (!m)
		return;
	o->m = NULL;
	if (o->nr_segs == 1) {
		ns_tx_offload(port, m);
		return;
	}
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
	tcp = (struct rte_tcp_hdr *)(ip + 1);
	m->l2_len = sizeof(struct rte_ether_hdr);
	m->l3_len = sizeof(*ip);
	m->l4_len = sizeof(*tcp);
	m->tso_segsz = o->segsz;
	m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM;
	/* The total length grew: the header checksum lwIP wrote is stale. */
	ip->hdr_checksum = 0;
	if (port->tx_csum_ip)
		m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
	else
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	tcp->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	port->tx_segments += o->nr_segs - 1;
}

/* Append segment p (payload paylen) to the open frame, if it continues it. */
static bool ns_tso_join(struct ns_port *port, struct pbuf *p, uint16_t paylen)
{
	struct ns_tso_open *o = &port->tso_open;
	const struct rte_ipv4_hdr *nip =
		(const struct rte_ipv4_hdr *)((const char *)p->payload + sizeof(struct rte_ether_hdr));
	const struct rte_tcp_hdr *ntcp = (const struct rte_tcp_hdr *)(nip + 1);
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;
	char *dst;

	if (!o->m || paylen > o->segsz || o->nr_segs >= NS_TSO_MAX_SEGS ||
	    o->m->data_len + paylen > NS_TSO_MAX_FRAME ||
	    rte_be_to_cpu_32(ntcp->sent_seq) != o->next_seq)
		return false;
	ip = rte_pktmbuf_mtod_offset(o->m, struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
	tcp = (struct rte_tcp_hdr *)(ip + 1);
	if (nip->src_addr != ip->src_addr || nip->dst_addr != ip->dst_addr ||
	    nip->type_of_service != ip->type_of_service ||
	    nip->time_to_live != ip->time_to_live ||
	    ntcp->src_port != tcp->src_port || ntcp->dst_port != tcp->dst_port ||
	    ntcp->recv_ack != tcp->recv_ack || ntcp->rx_win != tcp->rx_win)
		return false;
	dst = rte_pktmbuf_append(o->m, paylen);
	if (!dst)
		return false;
	pbuf_copy_partial(p, dst, paylen, NS_TCP_HDRS);
	ip->total_length = rte_cpu_to_be_16(rte_be_to_cpu_16(ip->total_length) + paylen);
	/* The port puts PSH on the last segment only, as Linux's GSO does. */
	tcp->tcp_flags |= ntcp->tcp_flags & RTE_TCP_PSH_FLAG;
	o->next_seq += paylen;
	o->nr_segs++;
	if (paylen < o->segsz)		/* only the last may be short */
		ns_tso_close(port);
	return true;
}

static err_t ns_linkoutput(struct netif *netif, struct pbuf *p)
{
	struct ns_port *port = netif->state;
	struct rte_mbuf *m = NULL;
	uint16_t paylen = 0;
	char *data;

	if (p->tot_len > RTE_ETHER_MAX_LEN) {
		port->tx_dropped++;
		return ERR_BUF;
	}
	if (port->tso) {
		paylen = ns_tso_candidate(p);
		if (paylen && ns_tso_join(port, p, paylen))
			return ERR_OK;
	}
	ns_tso_close(port);
	if (port->nr_tx_pending == NS_TX_QUEUE) {
		ns_port_flush(port);
		if (port->nr_tx_pending == NS_TX_QUEUE) {
			/* lwIP keeps the segment and sends it on a later turn. */
			port->tx_busy++;
			port->tx_wait = true;
			return ERR_MEM;
		}
	}
	if (paylen)
		m = rte_pktmbuf_alloc(port->tso_pool);
	if (!m) {
		paylen = 0;
		m = rte_pktmbuf_alloc(port->pool);
	}
	if (!m) {
		port->tx_dropped++;
		port->no_mbuf++;
		return ERR_MEM;
	}
	data = rte_pktmbuf_append(m, p->tot_len);
	if (!data) {
		rte_pktmbuf_free(m);
		port->tx_dropped++;
		port->no_mbuf++;
		return ERR_MEM;
	}
	pbuf_copy_partial(p, data, p->tot_len, 0);
	port->tx_pending[port->nr_tx_pending++] = m;
	if (paylen) {
		const struct rte_tcp_hdr *tcp = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *,
			sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr));

		port->tso_open.m = m;
		port->tso_open.next_seq = rte_be_to_cpu_32(tcp->sent_seq) + paylen;
		port->tso_open.segsz = paylen;
		port->tso_open.nr_segs = 1;
	} else if (port->tx_csum_ip || port->tx_csum_l4) {
		ns_tx_offload(port, m);
	}
	if (port->nr_tx_pending >= NS_BURST)
		ns_port_flush(port);
	return ERR_OK;
}

/*
 * Hand the waiting frames to the NIC.  What its queue cannot take stays
 * queued, in order, for the next flush: lwIP was told these were sent.
 */
void ns_port_flush(struct ns_port *port)
{
	unsigned int sent = 0;
	uint64_t bytes = 0;
	int tries = 0;

	ns_tso_close(port);
	/* Counted before the PMD may free them; what stays is taken back. */
	for (unsigned int i = 0; i < port->nr_tx_pending; i++)
		bytes += port->tx_pending[i]->pkt_len;
	while (sent < port->nr_tx_pending && tries++ < 4)
		sent += rte_eth_tx_burst(port->id, port->queue, port->tx_pending + sent,
					 port->nr_tx_pending - sent);
	port->tx_packets += sent;
	port->tx_segments += sent;
	for (unsigned int i = sent; i < port->nr_tx_pending; i++)
		bytes -= port->tx_pending[i]->pkt_len;
	port->tx_bytes += bytes;
	if (sent < port->nr_tx_pending) {
		port->tx_queue_full++;
		memmove(port->tx_pending, port->tx_pending + sent,
			(port->nr_tx_pending - sent) * sizeof(port->tx_pending[0]));
	}
	port->nr_tx_pending -= sent;
}

/*
 * After lwIP was told to wait (ERR_MEM from a full queue): once there is
 * room again, every connection with unsent segments outputs again, so that
 * one with nothing in flight, which no ACK will wake, does not stall.
 */
void ns_port_retry_output(struct ns_port *port)
{
	if (!port->tx_wait || port->nr_tx_pending >= NS_TX_QUEUE - NS_BURST)
		return;
	port->tx_wait = false;
	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
		if (pcb->unsent)
			tcp_output(pcb);
}

/*
 * The port's multicast filter follows the groups lwIP joins: the MAC of
 * every group (IPv4 01:00:5e + the low 23 bits, IPv6 33:33 + the low 32),
 * counted, since several groups share one.  A PMD without a list filter
 * (virtio's, for one) relies on all-multicast, which ns_port_init asks for
 * anyway; a full table does the same.
 */
static void ns_port_mc_program(struct ns_port *port)
{
	struct rte_ether_addr list[NS_MC_MACS];
	int ret;

	if (port->mc_filter_off)
		return;
	/* Engines share the port: its filter is the keeper's (all-multicast),
	 * not one engine's list, which would drop the others' groups. */
	if (port->keeper) {
		port->mc_filter_off = true;
		return;
	}
	for (unsigned int i = 0; i < port->nr_mc_macs; i++)
		memcpy(list[i].addr_bytes, port->mc_macs[i].mac, 6);
	ret = rte_eth_dev_set_mc_addr_list(port->id, list, port->nr_mc_macs);
	if (ret) {
		ns_dbg("port: %u: no multicast address filter (%s); relying on all-multicast",
		       port->id, rte_strerror(-ret));
		port->mc_filter_off = true;
	}
}

static err_t ns_port_mc_mac(struct netif *netif, const uint8_t mac[6],
			    enum netif_mac_filter_action action)
{
	struct ns_port *port = netif->state;
	unsigned int i;

	for (i = 0; i < port->nr_mc_macs; i++)
		if (!memcmp(port->mc_macs[i].mac, mac, 6))
			break;
	if (action == NETIF_ADD_MAC_FILTER) {
		if (i < port->nr_mc_macs) {
			port->mc_macs[i].users++;
			return ERR_OK;
		}
		if (port->nr_mc_macs == NS_MC_MACS) {
			ns_dbg("port: %u: multicast filter full; relying on all-multicast",
			       port->id);
			return ERR_OK;
		}
		memcpy(port->mc_macs[i].mac, mac, 6);
		port->mc_macs[i].users = 1;
		port->nr_mc_macs++;
	} else {
		if (i == port->nr_mc_macs || --port->mc_macs[i].users)
			return ERR_OK;
		port->mc_macs[i] = port->mc_macs[--port->nr_mc_macs];
	}
	ns_port_mc_program(port);
	return ERR_OK;
}

static err_t ns_igmp_mac_filter(struct netif *netif, const ip4_addr_t *group,
				enum netif_mac_filter_action action)
{
	const uint8_t *g = (const uint8_t *)&group->addr;
	uint8_t mac[6] = { 0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3] };

	return ns_port_mc_mac(netif, mac, action);
}

static err_t ns_mld_mac_filter(struct netif *netif, const ip6_addr_t *group,
			       enum netif_mac_filter_action action)
{
	const uint8_t *g = (const uint8_t *)group->addr;
	uint8_t mac[6] = { 0x33, 0x33, g[12], g[13], g[14], g[15] };

	return ns_port_mc_mac(netif, mac, action);
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
		       NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP | NETIF_FLAG_IGMP;
	netif_set_igmp_mac_filter(netif, ns_igmp_mac_filter);
	ns_ip6_netif_init(netif);
	netif_set_mld_mac_filter(netif, ns_mld_mac_filter);
	/* Generate in software only what the port cannot; check all, except
	 * per frame what the port vouched for (ns_port_poll). */
	port->csum_flags =
		(port->tx_csum_ip ? 0 : NETIF_CHECKSUM_GEN_IP) |
		(port->tx_csum_l4 ? 0 : NETIF_CHECKSUM_GEN_TCP | NETIF_CHECKSUM_GEN_UDP) |
		NETIF_CHECKSUM_GEN_ICMP | NETIF_CHECKSUM_GEN_ICMP6 |
		NETIF_CHECKSUM_CHECK_IP | NETIF_CHECKSUM_CHECK_UDP |
		NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_ICMP |
		NETIF_CHECKSUM_CHECK_ICMP6;
	NETIF_SET_CHECKSUM_CTRL(netif, port->csum_flags);
	return ERR_OK;
}

/* The pools: the private area holds the pbuf_custom lwIP sees per frame. */
struct rte_mempool *ns_port_pool_create(const char *name, int socket)
{
	return rte_pktmbuf_pool_create(name, NS_NB_MBUFS, NS_MBUF_CACHE,
		RTE_ALIGN(sizeof(struct ns_rx_pbuf), RTE_MBUF_PRIV_ALIGN),
		RTE_MBUF_DEFAULT_BUF_SIZE, socket);
}

struct rte_mempool *ns_port_tso_pool_create(const char *name, int socket)
{
	return rte_pktmbuf_pool_create(name, NS_TSO_MBUFS, 32, 0, NS_TSO_DATA_ROOM, socket);
}

/*
 * RSS hashes TCP only: every other packet (ARP, ICMP, UDP, fragments)
 * lands on queue 0, the engine that serves UDP and relays ARP/ND.
 */
#define NS_RSS_HF	(RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV6_TCP)

/*
 * Configure the port with nb_queues queue pairs, queue q filling from
 * pools[q].  Several queues need RSS from the PMD.
 */
int ns_port_configure(struct ns_port *port, bool rx_intr, uint32_t allowed,
		      uint16_t nb_queues, struct rte_mempool *const *pools)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint64_t tx_csum = RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	uint64_t rx_csum = RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	int ret;

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_info_get(port->id, &info);
	if (ret)
		return ret;
	if (nb_queues > 1) {
		if (info.max_rx_queues < nb_queues || info.max_tx_queues < nb_queues) {
			ns_err("queues: port %u (%s) has %u RX and %u TX queues; --queues %u needs as many",
			       port->id, info.driver_name, info.max_rx_queues,
			       info.max_tx_queues, nb_queues);
			return -EINVAL;
		}
		if (!(info.flow_type_rss_offloads & NS_RSS_HF)) {
			ns_err("queues: port %u (%s) offers no RSS over TCP (flow types 0x%llx); "
			       "--queues %u needs it (give the NIC several queues with RSS, "
			       "or use --queues 1)", port->id, info.driver_name,
			       (unsigned long long)info.flow_type_rss_offloads, nb_queues);
			return -ENOTSUP;
		}
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = NS_RSS_HF & info.flow_type_rss_offloads;
	}
	if (allowed & NS_OFFLOAD_TX_CSUM) {
		if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
			conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		if ((info.tx_offload_capa & tx_csum) == tx_csum)
			conf.txmode.offloads |= tx_csum;
	}
	/*
	 * net_tap's TSO is software GSO writing one frame per segment (nothing
	 * gained), and DPDK 22.11's tap counts the Ethernet header against
	 * the MTU, refusing MSS-sized segments: not used there.
	 */
	if ((allowed & NS_OFFLOAD_TSO) && (conf.txmode.offloads & tx_csum) &&
	    (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) &&
	    strcmp(info.driver_name, "net_tap"))
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	if ((allowed & NS_OFFLOAD_RX_CSUM) && (info.rx_offload_capa & rx_csum) == rx_csum)
		conf.rxmode.offloads |= rx_csum;
	if ((allowed & NS_OFFLOAD_LRO) && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO)) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_LRO;
		conf.rxmode.max_lro_pkt_size = info.max_lro_pkt_size;
	}
	conf.intr_conf.rxq = rx_intr;
	ret = rte_eth_dev_configure(port->id, nb_queues, nb_queues, &conf);
	if (ret)
		return ret;
	port->tx_csum_ip = conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	port->tx_csum_l4 = conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	port->tso = conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_TCP_TSO;
	port->rx_csum = conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	port->lro = conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_TCP_LRO;

	uint16_t nb_rx = NS_RX_DESC, nb_tx = NS_TX_DESC;

	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port->id, &nb_rx, &nb_tx);
	if (ret)
		return ret;
	struct rte_eth_rxconf rxconf = info.default_rxconf;
	struct rte_eth_txconf txconf = info.default_txconf;

	rxconf.offloads = conf.rxmode.offloads;
	txconf.offloads = conf.txmode.offloads;
	for (uint16_t q = 0; q < nb_queues; q++) {
		ret = rte_eth_rx_queue_setup(port->id, q, nb_rx, rte_eth_dev_socket_id(port->id),
					     &rxconf, pools[q]);
		if (ret)
			return ret;
		ret = rte_eth_tx_queue_setup(port->id, q, nb_tx, rte_eth_dev_socket_id(port->id),
					     &txconf);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * lwIP's interface on the port: the same address in every engine, since
 * all engines share the port's MAC and IP.
 */
static int ns_port_stack_init(struct ns_engine *eng)
{
	struct ns_port *port = &eng->port;
	struct ns_config *cfg = eng->cfg;
	ip4_addr_t ip, mask, gw;

	/* A standby ran lwip_init() before parking: its pools for thousands
	 * of connections are slow to touch the first time (page faults). */
	if (cfg->mode != NS_MODE_STANDBY)
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
	} else if (port->keeper) {
		/* What the keeper set (its --mac) or found. */
		memcpy(port->netif.hwaddr, port->keeper->mac, 6);
	}
	netif_set_default(&port->netif);
	if (ns_ip6_addresses(&port->netif, cfg))
		return -1;
	netif_set_up(&port->netif);
	netif_set_link_up(&port->netif);
	/* Announce ourselves so peers learn the MAC without asking. */
	etharp_gratuitous(&port->netif);
	/*
	 * And ask for the gateway's before the first packet needs it: a
	 * standby taking over has a connection's first ACKs to send at once.
	 */
	if (!ip4_addr_isany_val(gw))
		etharp_request(&port->netif, &gw);
	char queue[32] = "";

	/* "port N up:" as ever for the single netserver: tests look for it. */
	if (port->keeper)
		snprintf(queue, sizeof(queue), " queue %u of %u", port->queue, port->nr_queues);
	ns_info("port %u%s up: %s/%u mac %02x:%02x:%02x:%02x:%02x:%02x, offloads tx-csum ip %s l4 %s, tso %s, rx-csum %s, lro %s, rx interrupt %s",
		port->id, queue, inet_ntoa(cfg->ip), cfg->prefix,
		port->netif.hwaddr[0], port->netif.hwaddr[1], port->netif.hwaddr[2],
		port->netif.hwaddr[3], port->netif.hwaddr[4], port->netif.hwaddr[5],
		port->tx_csum_ip ? "on" : "off", port->tx_csum_l4 ? "on" : "off",
		port->tso ? "on" : "off", port->rx_csum ? "on" : "off",
		port->lro ? "on" : "off", port->rx_intr_fd >= 0 ? "yes" : "no");
	return 0;
}

/*
 * An engine's view of the keeper's port: the pools and relay ring of its
 * queue and the offloads the keeper configured.  No RX interrupt: its
 * descriptors are the primary's, so an engine polls (at most
 * NS_SLEEP_NO_RX_INTR_US between looks when idle, engine.c).
 */
static int ns_port_use_queue(struct ns_port *port, unsigned int queue)
{
	struct ns_keeper_info *ki = port->keeper;
	char name[RTE_MEMPOOL_NAMESIZE];

	if (queue >= ki->nr_queues) {
		ns_err("engine: %u: the keeper's port has %u queue%s (engines 0 to %u; "
		       "start the keeper with more --queues)", queue, ki->nr_queues,
		       ki->nr_queues == 1 ? "" : "s", ki->nr_queues - 1);
		return -1;
	}
	port->queue = (uint16_t)queue;
	snprintf(name, sizeof(name), NS_KEEPER_POOL_FMT, queue);
	port->pool = rte_mempool_lookup(name);
	if (port->tso) {
		snprintf(name, sizeof(name), NS_KEEPER_TSO_FMT, queue);
		port->tso_pool = rte_mempool_lookup(name);
		/* Segments still go out, one frame each. */
		port->tso = port->tso_pool != NULL;
	}
	snprintf(name, sizeof(name), NS_KEEPER_RELAY_FMT, queue);
	port->relay_in = rte_ring_lookup(name);
	if (!port->pool || !port->relay_in) {
		ns_err("engine: %u: the keeper's pool or relay ring for queue %u is missing "
		       "(a keeper of another version?)", queue, queue);
		return -1;
	}
	if (queue == 0) {
		for (unsigned int k = 1; k < ki->nr_queues; k++) {
			snprintf(name, sizeof(name), NS_KEEPER_RELAY_FMT, k);
			port->relay_out[k] = rte_ring_lookup(name);
		}
	}
	return 0;
}

/* Engine and standby: the keeper's port, as it configured it. */
static int ns_port_from_keeper(struct ns_port *port)
{
	struct ns_keeper_info *ki = ns_keeper_lookup();

	if (!ki)
		return -1;
	ns_keeper_hand_fds();
	port->keeper = ki;
	port->nudge_gap_tsc = rte_get_tsc_hz() / 1000 * NS_NUDGE_GAP_MS;
	port->id = ki->port_id;
	port->nr_queues = ki->nr_queues;
	port->tx_csum_ip = ki->tx_csum_ip;
	port->tx_csum_l4 = ki->tx_csum_l4;
	port->tso = ki->tso;
	port->rx_csum = ki->rx_csum;
	port->lro = ki->lro;
	port->reta_size = ki->nr_queues > 1 ? ki->reta_size : 0;
	port->reta = ki->reta;
	memcpy(port->rss_key, ki->rss_key, sizeof(port->rss_key));
	if (!rte_eth_dev_is_valid_port(port->id)) {
		ns_err("engine: the keeper's port %u is not visible here (check --eal: "
		       "the same --file-prefix as the keeper's, and its -a)", port->id);
		return -1;
	}
	return 0;
}

int ns_port_take_queue(struct ns_engine *eng, unsigned int queue)
{
	if (ns_port_use_queue(&eng->port, queue))
		return -1;
	return ns_port_stack_init(eng);
}

int ns_port_init(struct ns_engine *eng, int argc, char **argv)
{
	struct ns_port *port = &eng->port;
	struct ns_config *cfg = eng->cfg;
	bool rx_intr = true;
	int ret;

	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		ns_err("eal: rte_eal_init failed: %s%s", rte_strerror(rte_errno),
		       cfg->mode == NS_MODE_SINGLE ? "" :
		       " (an engine or standby needs a running keeper and its --file-prefix)");
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns_info("eal: initialised in %ld ms (lcore %u)",
		(long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000),
		rte_lcore_id());
	port->rx_intr_fd = -1;
	port->nr_queues = 1;
	if (cfg->mode == NS_MODE_ENGINE) {
		if (ns_port_from_keeper(port))
			return -1;
		/* Before anything touches the queue: two processes on one TX
		 * queue would corrupt it. */
		if (cfg->engine < port->nr_queues &&
		    ns_keeper_claim(port->keeper, cfg->engine, NULL))
			return -1;
		port->claimed = cfg->engine < port->nr_queues;
		if (ns_port_use_queue(port, cfg->engine))
			return -1;
		return ns_port_stack_init(eng);
	}
	if (cfg->mode == NS_MODE_STANDBY) {
		/* The queue and lwIP's interface come with the takeover. */
		if (ns_port_from_keeper(port))
			return -1;
		lwip_init();
		return 0;
	}

	port->id = cfg->port;
	if (!rte_eth_dev_is_valid_port(port->id)) {
		ns_err("port: no DPDK port %u (ports available: %u; check --eal)",
		       port->id, rte_eth_dev_count_avail());
		return -1;
	}
	port->pool = ns_port_pool_create("jr_mbufs", rte_eth_dev_socket_id(port->id));
	if (!port->pool) {
		ns_err("port: cannot create the mbuf pool: %s", rte_strerror(rte_errno));
		return -1;
	}
	ret = ns_port_configure(port, rx_intr, cfg->offloads, 1, &port->pool);
	if (ret) {
		/* Not every PMD has RX interrupts; poll-only still works. */
		rx_intr = false;
		ret = ns_port_configure(port, rx_intr, cfg->offloads, 1, &port->pool);
	}
	if (ret) {
		ns_err("port: cannot configure port %u: %s", port->id, rte_strerror(-ret));
		return -1;
	}
	if (port->tso) {
		port->tso_pool = ns_port_tso_pool_create("jr_tso", rte_eth_dev_socket_id(port->id));
		if (!port->tso_pool) {
			/* Segments still go out, one frame each. */
			ns_warn("port: no memory for TSO buffers (%s); TSO off",
				rte_strerror(rte_errno));
			port->tso = false;
		}
	}
	ret = rte_eth_dev_start(port->id);
	if (ret) {
		ns_err("port: cannot start port %u: %s", port->id, rte_strerror(-ret));
		return -1;
	}
	/* IPv6 neighbour discovery lives on multicast (solicited-node and
	 * all-nodes groups), and sockets join groups of their own; a vdev
	 * that cannot filter by group (ns_port_mc_program) still delivers
	 * them. */
	if (rte_eth_allmulticast_enable(port->id))
		ns_dbg("port: %u: all-multicast not supported; relying on the default filter",
		       port->id);
	if (rx_intr && rte_eth_dev_rx_intr_ctl_q_get_fd(port->id, 0) >= 0)
		port->rx_intr_fd = rte_eth_dev_rx_intr_ctl_q_get_fd(port->id, 0);
	return ns_port_stack_init(eng);
}

/*
 * One received frame as lwIP sees it: a custom pbuf per mbuf segment, each
 * freeing its own segment.  NULL (everything freed) if lwIP has no room.
 */
static struct pbuf *ns_rx_pbuf(struct rte_mbuf *m)
{
	struct pbuf *head = NULL;

	while (m) {
		struct rte_mbuf *next = m->next;
		struct ns_rx_pbuf *rp = rte_mbuf_to_priv(m);
		struct pbuf *p;

		/* Each segment stands alone from here on. */
		m->next = NULL;
		m->nb_segs = 1;
		m->pkt_len = m->data_len;
		rp->m = m;
		rp->pc.custom_free_function = ns_rx_pbuf_free;
		p = pbuf_alloced_custom(PBUF_RAW, m->data_len, PBUF_REF, &rp->pc,
					rte_pktmbuf_mtod(m, void *), m->data_len);
		if (!p) {
			rte_pktmbuf_free(m);
			rte_pktmbuf_free(next);
			if (head)
				pbuf_free(head);
			return NULL;
		}
		if (head)
			pbuf_cat(head, p);
		else
			head = p;
		m = next;
	}
	return head;
}

/*
 * ARP, and ICMPv6 neighbour discovery (router solicitation to redirect,
 * types 133-137, right after a fixed header as RFC 4861 sends them): what
 * every engine's lwIP must see to resolve neighbours, though only queue 0
 * receives it.
 */
static bool ns_is_neighbour_msg(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv6_hdr *ip6;
	const struct rte_icmp_hdr *icmp;

	if (m->data_len < sizeof(*eth))
		return false;
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
		return true;
	if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) ||
	    m->data_len < sizeof(*eth) + sizeof(*ip6) + sizeof(*icmp))
		return false;
	ip6 = (const struct rte_ipv6_hdr *)(eth + 1);
	icmp = (const struct rte_icmp_hdr *)(ip6 + 1);
	return ip6->proto == IPPROTO_ICMPV6 && icmp->icmp_type >= 133 && icmp->icmp_type <= 137;
}

/* Engine 0: a copy of m for every other engine (before lwIP has it). */
static void ns_port_relay(struct ns_port *port, struct rte_mbuf *m)
{
	for (unsigned int k = 1; k < port->nr_queues; k++) {
		struct rte_mbuf *c;

		if (!port->relay_out[k])
			continue;
		c = rte_pktmbuf_copy(m, port->pool, 0, UINT32_MAX);
		if (!c) {
			port->relay_full++;
			continue;
		}
		if (rte_ring_enqueue(port->relay_out[k], c)) {
			/* That engine is gone or behind; it asks again. */
			rte_pktmbuf_free(c);
			port->relay_full++;
			continue;
		}
		port->relayed_out++;
	}
}

/*
 * Incoming SYN: does our software hash put it on the queue the NIC did?
 * Counted only, as the evidence that the ports ns_port_rss_mine picks
 * get their replies here.
 */
static void ns_port_rss_check(struct ns_port *port, const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_tcp_hdr *tcp;
	ip_addr_t local, remote;

	if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    m->data_len < sizeof(*eth) + sizeof(*ip) + sizeof(*tcp) ||
	    ip->next_proto_id != IPPROTO_TCP || ip->version_ihl != 0x45)
		return;
	tcp = (const struct rte_tcp_hdr *)(ip + 1);
	if ((tcp->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) != RTE_TCP_SYN_FLAG)
		return;
	ip_addr_set_ip4_u32_val(local, ip->dst_addr);
	ip_addr_set_ip4_u32_val(remote, ip->src_addr);
	port->rss_syn_checked++;
	if (!ns_port_rss_mine(port, &local, rte_be_to_cpu_16(tcp->dst_port), &remote,
			      rte_be_to_cpu_16(tcp->src_port))) {
		if (!port->rss_syn_other_queue++)
			ns_warn("rss: a SYN arrived on queue %u that the software hash sends "
				"elsewhere: source ports picked for this queue may not get "
				"their replies here", port->queue);
	}
}

/* One received frame (or relayed copy) into lwIP. */
static void ns_port_input(struct ns_port *port, struct rte_mbuf *m)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	uint16_t skip = 0;
	struct pbuf *p;
	err_t err;

	if (port->rx_csum) {
		if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
			rte_pktmbuf_free(m);
			port->rx_csum_bad++;
			port->rx_dropped++;
			return;
		}
		/* GOOD: verified; NONE: a partial sum from a local sender,
		 * whose data no wire has touched (virtio's NEEDS_CSUM). */
		if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD || l4 == RTE_MBUF_F_RX_L4_CKSUM_NONE)
			skip |= NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_UDP;
		if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
			skip |= NETIF_CHECKSUM_CHECK_IP;
	}
	port->rx_bytes += m->pkt_len;
	if (m->pkt_len > RTE_ETHER_MAX_LEN)
		port->rx_large++;
	p = ns_rx_pbuf(m);
	if (!p) {
		port->rx_dropped++;
		port->no_mbuf++;
		return;
	}
	/* lwIP handles the frame before input() returns: the relaxed
	 * checks apply to this frame only. */
	if (skip) {
		port->rx_csum_hw++;
		NETIF_SET_CHECKSUM_CTRL(&port->netif, port->csum_flags & ~skip);
	}
	err = port->netif.input(p, &port->netif);
	if (skip)
		NETIF_SET_CHECKSUM_CTRL(&port->netif, port->csum_flags);
	if (err != ERR_OK) {
		pbuf_free(p);
		port->rx_dropped++;
	}
}

unsigned int ns_port_poll(struct ns_engine *eng)
{
	struct ns_port *port = &eng->port;
	struct rte_mbuf *pkts[NS_BURST];
	bool relay = port->queue == 0 && port->nr_queues > 1;
	uint16_t n = rte_eth_rx_burst(port->id, port->queue, pkts, NS_BURST);
	unsigned int relayed = 0;

	/*
	 * A full burst after a long gap (or our first: a takeover): the queue
	 * may have been full, and QEMU may hold, on another tap queue, a
	 * packet for it that nothing will flush (keeper_watch_queues()).  The
	 * burst just gave the queue buffers again; the keeper, asked, makes
	 * the device look.  The single netserver has no keeper and no cost.
	 */
	if (port->keeper) {
		uint64_t tsc = rte_get_tsc_cycles();

		if (n == NS_BURST && tsc - port->rx_poll_tsc > port->nudge_gap_tsc) {
			__atomic_store_n(&port->keeper->engines[port->queue].nudge, 1,
					 __ATOMIC_RELEASE);
			port->nudges++;
		}
		port->rx_poll_tsc = tsc;
	}

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		rte_prefetch0(rte_pktmbuf_mtod(m, void *));
		if (relay && ns_is_neighbour_msg(m))
			ns_port_relay(port, m);
		else if (port->reta_size)
			ns_port_rss_check(port, m);
		ns_port_input(port, m);
	}
	port->rx_packets += n;
	/* ARP/ND engine 0 passed on to us. */
	if (port->relay_in && port->queue != 0) {
		relayed = rte_ring_dequeue_burst(port->relay_in, (void **)pkts, NS_BURST, NULL);
		for (unsigned int i = 0; i < relayed; i++)
			ns_port_input(port, pkts[i]);
		port->relayed_in += relayed;
	}
	return n + relayed;
}

/*
 * Packets lwIP sent to one of the port's own addresses (netif_loop_output)
 * come back through netif_poll() without touching the wire, so the
 * checksums left to the NIC's offload were never filled in: they are taken
 * as verified, as Linux's loopback does (CHECKSUM_UNNECESSARY).  Polls the
 * loopback interface (127.0.0.1) too; returns whether anything was queued.
 */
unsigned int ns_port_poll_loopback(struct ns_port *port)
{
	const u16_t checks = NETIF_CHECKSUM_CHECK_IP | NETIF_CHECKSUM_CHECK_TCP |
			     NETIF_CHECKSUM_CHECK_UDP | NETIF_CHECKSUM_CHECK_ICMP |
			     NETIF_CHECKSUM_CHECK_ICMP6;
	struct netif *netif;
	unsigned int queued = 0;

	NETIF_FOREACH(netif)
		queued += netif->loop_first != NULL;
	if (!queued)
		return 0;
	NETIF_SET_CHECKSUM_CTRL(&port->netif, port->csum_flags & ~checks);
	netif_poll_all();
	NETIF_SET_CHECKSUM_CTRL(&port->netif, port->csum_flags);
	return queued;
}

void ns_port_rx_intr(struct ns_port *port, bool enable)
{
	if (port->rx_intr_fd < 0)
		return;
	if (enable)
		rte_eth_dev_rx_intr_enable(port->id, port->queue);
	else
		rte_eth_dev_rx_intr_disable(port->id, port->queue);
}

void ns_port_close(struct ns_port *port)
{
	ns_port_flush(port);
	/* Stopping: what the queue still holds goes nowhere. */
	for (unsigned int i = 0; i < port->nr_tx_pending; i++)
		rte_pktmbuf_free(port->tx_pending[i]);
	port->tx_dropped += port->nr_tx_pending;
	port->tx_queue_dropped += port->nr_tx_pending;
	port->nr_tx_pending = 0;
	/* An engine leaves the port to the keeper, running for the others. */
	if (port->keeper)
		return;
	rte_eth_dev_stop(port->id);
	rte_eth_dev_close(port->id);
}

/*
 * RSS-aware source ports.  The NIC hashes a received segment's
 * (source address, destination address, source port, destination port)
 * with the Toeplitz function and the port's key, and takes the queue from
 * the RETA at the hash's low bits.  For the replies of our connection the
 * source is the peer.  rte_softrss() wants the tuple in host order and the
 * key as the PMD holds it, which is the standard (Microsoft) Toeplitz
 * convention that virtio's RSS and most NICs follow; ns_port_rss_check()
 * counts incoming SYNs for which this disagrees with the NIC.
 */
bool ns_port_rss_mine(struct ns_port *port, const ip_addr_t *local, uint16_t lport,
		      const ip_addr_t *remote, uint16_t rport)
{
	union rte_thash_tuple t;
	uint32_t len, hash;

	if (!port->reta_size)
		return true;
	memset(&t, 0, sizeof(t));
	if (IP_IS_V4(remote) && IP_IS_V4(local)) {
		t.v4.src_addr = rte_be_to_cpu_32(ip_2_ip4(remote)->addr);
		t.v4.dst_addr = rte_be_to_cpu_32(ip_2_ip4(local)->addr);
		t.v4.sport = rport;
		t.v4.dport = lport;
		len = RTE_THASH_V4_L4_LEN;
	} else if (IP_IS_V6(remote) && IP_IS_V6(local)) {
		uint32_t *src = (uint32_t *)t.v6.src_addr, *dst = (uint32_t *)t.v6.dst_addr;

		/* Each 32-bit word in host order, as rte_thash_load_v6_addrs. */
		for (int i = 0; i < 4; i++) {
			src[i] = rte_be_to_cpu_32(ip_2_ip6(remote)->addr[i]);
			dst[i] = rte_be_to_cpu_32(ip_2_ip6(local)->addr[i]);
		}
		t.v6.sport = rport;
		t.v6.dport = lport;
		len = RTE_THASH_V6_L4_LEN;
	} else {
		return true;
	}
	hash = rte_softrss((uint32_t *)&t, len, port->rss_key);
	return port->reta[hash % port->reta_size] == port->queue;
}
