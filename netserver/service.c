// SPDX-License-Identifier: GPL-2.0
/*
 * Serving a frontend: requests from its SQ become lwIP calls, lwIP's
 * callbacks become replies and events on its CQ, and payload moves between
 * lwIP and the slots' byte rings.
 *
 * Rules this file keeps (Documentation/abi.md has the contract):
 * - Every request that has a reply gets exactly one.  A request that
 *   completes later (CONNECT, ACCEPT, CLOSE) keeps its tag in the slot; a
 *   CLOSE first answers a still-pending request with -ECANCELED.
 * - The owner is not trusted: entries are validated on a private copy; ring
 *   positions read from shared memory are checked against our own copies.
 *   A malformed SQE kills the frontend that wrote it (a user client loses
 *   only its own sockets); a lying ring position fails that socket.
 * - TCP receive window = what the slot's rx ring has free: lwIP is told a
 *   byte was read (tcp_recved) only when the owner consumed it, so a slow
 *   reader shrinks the advertised window and nothing is dropped.
 * - TCP transmit data is not copied here: tcp_write() references the tx
 *   ring, and tx_cons advances when the peer acknowledges, so the ring is
 *   the send buffer.  The one copy happens into the mbuf (port.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "lwip/igmp.h"
#include "lwip/ip4.h"
#include "lwip/ip4_addr.h"
#include "lwip/mld6.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#include "netserver.h"

#define NS_SQ_BUDGET	256	/* SQEs per loop iteration per frontend */
/* Groups one socket may join: the owner limits its applications (IPv4:
 * net.ipv4.igmp_max_memberships); this bounds what one can make us hold. */
#define NS_MC_PER_SOCK	1024

static void front_replay_ends(struct ns_front *front);

static struct jr_slot_ctl *slot_ctl(struct ns_sock *s)
{
	return &s->front->region.slots[s->slot];
}

static unsigned char *slot_rx(struct ns_sock *s)
{
	return jr_slot_rx(&s->front->region, s->slot);
}

static unsigned char *slot_tx(struct ns_sock *s)
{
	return jr_slot_tx(&s->front->region, s->slot);
}

static uint32_t rx_size(struct ns_sock *s)
{
	return s->front->region.params.rx_buf_size;
}

static uint32_t tx_size(struct ns_sock *s)
{
	return s->front->region.params.tx_buf_size;
}

/* ------------------------------------------------------------ posting */

static void front_post(struct ns_front *front, const struct jr_cqe *cqe)
{
	if (front->dead)
		return;
	if (!front->overflow_nr && jr_server_post(&front->region, cqe) == 0) {
		front->produced = true;
		return;
	}
	if (front->overflow_nr == front->overflow_cap) {
		/* Only an owner that stopped consuming gets here. */
		ns_warn("%s: completion queue stuck; dropping the frontend", front->name);
		front->dead = true;
		return;
	}
	front->overflow[(front->overflow_head + front->overflow_nr++) %
			front->overflow_cap] = *cqe;
}

static void flush_overflow(struct ns_front *front)
{
	while (front->overflow_nr) {
		if (jr_server_post(&front->region,
				   &front->overflow[front->overflow_head]))
			return;
		front->produced = true;
		front->overflow_head = (front->overflow_head + 1) % front->overflow_cap;
		front->overflow_nr--;
	}
}

static void reply(struct ns_front *front, uint16_t op, uint32_t slot,
		  uint64_t tag, int res, const struct jr_sockaddr *addr)
{
	struct jr_cqe cqe = {
		.op = op, .slot = slot, .tag = tag, .res = res,
	};

	if (addr && res == 0)
		cqe.u.addr = *addr;
	front_post(front, &cqe);
}

static void event(struct ns_sock *s, uint16_t op, int res)
{
	struct jr_cqe cqe = {
		.op = op, .flags = JR_CQE_F_EVENT, .slot = s->slot,
		.slot_gen = s->gen, .res = res,
	};

	front_post(s->front, &cqe);
}

/* Queue s for end-of-iteration work (events, tx). */
static void mark_work(struct ns_sock *s)
{
	if (!s->front || s->on_work_list)
		return;
	s->on_work_list = true;
	s->work_next = s->front->work;
	s->front->work = s;
}

static void complete_pending(struct ns_sock *s, int res,
			     const struct jr_sockaddr *addr)
{
	if (!s->pending_op)
		return;
	reply(s->front, s->pending_op, s->slot, s->pending_tag, res, addr);
	s->pending_op = 0;
	s->pending_tag = 0;
}

/* ------------------------------------------------------ address helpers */

/*
 * lwIP addresses <-> ABI addresses.  An IPv6 socket's wildcard (lwIP's
 * IPADDR_TYPE_ANY, which matches both families) is ::; an IPv4 address is
 * AF_INET whatever the socket's family (the owner maps it to ::ffff:a.b.c.d
 * for an IPv6 socket).  Link-local IPv6 addresses carry the zone of the
 * port, the only link there is: scope_id is lwIP's index of it.
 */
static void to_jr_addr(const ip_addr_t *ip, u16_t port, struct jr_sockaddr *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->port = htons(port);
	if (IP_IS_V4(ip)) {
		sa->family = AF_INET;
		memcpy(sa->addr, &ip_2_ip4(ip)->addr, 4);
		return;
	}
	sa->family = AF_INET6;
	if (IP_IS_V6(ip)) {
		memcpy(sa->addr, ip_2_ip6(ip)->addr, 16);
		if (ip6_addr_has_zone(ip_2_ip6(ip)))
			sa->scope_id = ip6_addr_zone(ip_2_ip6(ip));
	}
}

static void from_jr_addr(const struct jr_sockaddr *sa, ip_addr_t *ip, u16_t *port)
{
	*port = ntohs(sa->port);
	if (sa->family == AF_INET6) {
		ip_addr_set_zero_ip6(ip);
		memcpy(ip_2_ip6(ip)->addr, sa->addr, 16);
		if (netif_default && ip6_addr_lacks_zone(ip_2_ip6(ip), IP6_UNKNOWN))
			ip6_addr_assign_zone(ip_2_ip6(ip), IP6_UNKNOWN, netif_default);
		return;
	}
	{
		uint32_t a;

		memcpy(&a, sa->addr, 4);
		ip_addr_set_ip4_u32(ip, a);
	}
}

/*
 * An ACCEPT's reply: the peer, and with JR_F_ACCEPT_LOCAL the address it
 * reached, which the kernel keeps for getsockname() and for a successor's
 * RESTORE (a wildcard listener's own address would match no segment).
 */
static void complete_accept(struct ns_sock *child, const struct tcp_pcb *pcb)
{
	struct jr_sockaddr local;
	struct jr_cqe cqe = {
		.op = JR_OP_ACCEPT, .slot = child->slot, .tag = child->pending_tag,
	};

	if (child->pending_op != JR_OP_ACCEPT)
		return;
	to_jr_addr(&pcb->remote_ip, pcb->remote_port, &cqe.u.accepted.peer);
	if (child->front->region.limits.features & JR_F_ACCEPT_LOCAL) {
		to_jr_addr(&pcb->local_ip, pcb->local_port, &local);
		memcpy(cqe.u.accepted.local, local.addr, sizeof(cqe.u.accepted.local));
	}
	front_post(child->front, &cqe);
	child->pending_op = 0;
	child->pending_tag = 0;
}

/* The lwIP address type of a socket's pcb. */
static u8_t sock_ip_type(const struct ns_sock *s)
{
	if (s->family != AF_INET6)
		return IPADDR_TYPE_V4;
	return s->v6only ? IPADDR_TYPE_V6 : IPADDR_TYPE_ANY;
}

/*
 * The address a bind() to the wildcard means: 0.0.0.0; for an IPv6 socket
 * :: (IPv6 only with IPV6_V6ONLY, else both families).
 */
static void sock_wildcard(const struct ns_sock *s, ip_addr_t *ip)
{
	if (s->family != AF_INET6)
		ip_addr_set_zero_ip4(ip);
	else if (s->v6only)
		ip_addr_set_zero_ip6(ip);
	else
		ip_addr_copy(*ip, *IP_ANY_TYPE);
}

/*
 * Linux takes an unspecified destination to mean this host: 0.0.0.0 is
 * the socket's bound address if it has one, else 127.0.0.1
 * (ip_route_connect()); :: is ::1 (BSD's rule, in udpv6_sendmsg()).
 */
static void dest_any_is_local(const struct ns_sock *s, ip_addr_t *ip)
{
	if (!ip_addr_isany(ip))
		return;
	if (IP_IS_V6(ip))
		ip_addr_set_loopback(1, ip);
	else if (s->bound_addr && IP_IS_V4(&s->bind_ip))
		ip_addr_copy(*ip, s->bind_ip);
	else
		ip_addr_set_ip4_u32(ip, PP_HTONL(IPADDR_LOOPBACK));
}

static int errno_from_err(err_t err)
{
	switch (err) {
	case ERR_OK:		return 0;
	case ERR_MEM:		return -ENOBUFS;
	case ERR_BUF:		return -ENOBUFS;
	case ERR_TIMEOUT:	return -ETIMEDOUT;
	case ERR_RTE:		return -ENETUNREACH;
	case ERR_INPROGRESS:	return -EINPROGRESS;
	case ERR_VAL:		return -EINVAL;
	case ERR_WOULDBLOCK:	return -EWOULDBLOCK;
	case ERR_USE:		return -EADDRINUSE;
	case ERR_ALREADY:	return -EALREADY;
	case ERR_ISCONN:	return -EISCONN;
	case ERR_CONN:		return -ENOTCONN;
	case ERR_IF:		return -ENETDOWN;
	case ERR_ABRT:		return -ECONNABORTED;
	case ERR_RST:		return -ECONNRESET;
	case ERR_CLSD:		return -ENOTCONN;
	case ERR_ARG:		return -EINVAL;
	default:		return -EIO;
	}
}

/* ---------------------------------------------------------- multicast */

/*
 * Groups a socket joined.  lwIP counts the users of each group on the
 * netif (igmp_joingroup_netif(), mld6_joingroup_netif()), so every join
 * here is balanced by exactly one leave: on IP_DROP_MEMBERSHIP, or when
 * the slot is reset (closed, or its frontend went away).  The port is the
 * only multicast interface.
 */
static struct netif *mc_netif(const struct ns_sock *s)
{
	return &s->front->eng->port.netif;
}

/* Does an IPv4 interface operand (address, index) name the port? */
static bool mc_names_port4(const struct ns_sock *s, uint64_t v)
{
	struct netif *nif = mc_netif(s);
	uint32_t addr = (uint32_t)v, idx = (uint32_t)(v >> 32);

	if (idx)
		return idx == netif_get_index(nif);
	return !addr || addr == ip4_addr_get_u32(netif_ip4_addr(nif));
}

static bool mc_names_port6(const struct ns_sock *s, uint64_t v)
{
	return !v || v == netif_get_index(mc_netif(s));
}

static int mc_find(const struct ns_sock *s, const ip_addr_t *g)
{
	for (int i = 0; i < s->nr_mc; i++)
		if (ip_addr_cmp_zoneless(&s->mc_groups[i], g))
			return i;
	return -1;
}

static err_t mc_netif_leave(const struct ns_sock *s, const ip_addr_t *g)
{
	if (IP_IS_V4(g))
		return igmp_leavegroup_netif(mc_netif(s), ip_2_ip4(g));
	return mld6_leavegroup_netif(mc_netif(s), ip_2_ip6(g));
}

static int mc_join(struct ns_sock *s, const ip_addr_t *g)
{
	err_t err;

	if (mc_find(s, g) >= 0)
		return -EADDRINUSE;
	if (s->nr_mc == s->mc_cap) {
		uint16_t cap = s->mc_cap ? s->mc_cap * 2 : 4;
		ip_addr_t *more;

		if (s->mc_cap >= NS_MC_PER_SOCK)
			return -ENOBUFS;
		more = realloc(s->mc_groups, cap * sizeof(*more));
		if (!more)
			return -ENOBUFS;
		s->mc_groups = more;
		s->mc_cap = cap;
	}
	if (IP_IS_V4(g))
		err = igmp_joingroup_netif(mc_netif(s), ip_2_ip4(g));
	else
		err = mld6_joingroup_netif(mc_netif(s), ip_2_ip6(g));
	if (err != ERR_OK)
		return -ENOBUFS;	/* lwIP's group pool is empty */
	s->mc_groups[s->nr_mc++] = *g;
	return 0;
}

static int mc_leave(struct ns_sock *s, const ip_addr_t *g)
{
	int i = mc_find(s, g);

	if (i < 0)
		return -EADDRNOTAVAIL;
	mc_netif_leave(s, &s->mc_groups[i]);
	s->mc_groups[i] = s->mc_groups[--s->nr_mc];
	return 0;
}

static void mc_leave_all(struct ns_sock *s)
{
	while (s->nr_mc) {
		s->nr_mc--;
		mc_netif_leave(s, &s->mc_groups[s->nr_mc]);
	}
	free(s->mc_groups);
	s->mc_groups = NULL;
	s->mc_cap = 0;
}

/* Linux's defaults: TTL and hop limit 1, loopback on, IP_MULTICAST_ALL
 * and IPV6_MULTICAST_ALL on, but IPv4's off on an IPv6 socket (as the
 * owner has it: inet6_create() leaves it so). */
static void mc_defaults(struct ns_sock *s)
{
	s->mc_ttl4 = s->mc_ttl6 = 1;
	s->mc_loop4 = s->mc_loop6 = true;
	s->mc_all4 = s->family != AF_INET6;
	s->mc_all6 = true;
}

/* ------------------------------------------------------------- slots */

static void sock_reset(struct ns_sock *s)
{
	struct ns_front *front = s->front;
	uint32_t slot = s->slot;
	/* A slot freed (or reused) while on the work list stays linked: the
	 * list runs through it until ns_front_flush() takes it off. */
	bool on_work_list = s->on_work_list;
	struct ns_sock *work_next = s->work_next;

	if (front)
		mc_leave_all(s);
	memset(s, 0, sizeof(*s));
	s->front = front;
	s->slot = slot;
	s->on_work_list = on_work_list;
	s->work_next = work_next;
}

/*
 * Start a slot's rings from zero: each side resets the counters it owns
 * when a slot is (re)created; the owner did so before posting the request.
 */
static void sock_rings_reset(struct ns_sock *s)
{
	struct jr_slot_ctl *ctl = slot_ctl(s);

	s->rx_prod = s->rx_acked = 0;
	s->tx_queued = s->tx_cons = 0;
	jr_store_release(&ctl->rx_prod, 0);
	jr_store_release(&ctl->tx_cons, 0);
	memset(&ctl->ckpt, 0, sizeof(ctl->ckpt));
}

/*
 * A counted connection (CONNECTED or CLOSING, counted in tcp_connected_cb
 * and accept_into) ends other than through tcp_finish_close().
 */
static void tcp_uncount(struct ns_sock *s)
{
	if (s->type == SOCK_STREAM &&
	    (s->state == NS_SOCK_CONNECTED || s->state == NS_SOCK_CLOSING))
		s->front->eng->tcp_conns--;
}

/*
 * The owner's ring positions lie: this socket is no longer served.
 *
 * Called from lwIP's callbacks too (recv, sent, connected), where the pcb
 * must not be freed under lwIP's feet, so the pcb is only marked: it stays
 * attached (its callbacks see a DEAD socket and do nothing) and is aborted
 * at the end of the loop turn (sock_finish_abort()).  Once DEAD, the
 * socket's data path is a no-op, so a lying owner gets one RESET, not one
 * per request.  A socket that was already CLOSING gets no event: its CLOSE
 * is answered once the pcb is gone.
 */
static void sock_bad_ring(struct ns_sock *s)
{
	s->bad_input++;
	if (s->state == NS_SOCK_DEAD)
		return;
	ns_warn("%s: slot %u: ring position out of range; failing the socket",
		s->front->name, s->slot);
	tcp_uncount(s);
	if (s->pending_op && s->pending_op != JR_OP_CLOSE)
		complete_pending(s, -EIO, NULL);
	if (s->state != NS_SOCK_CLOSING)
		event(s, JR_EV_RESET, -EIO);
	s->state = NS_SOCK_DEAD;
	if (s->type == SOCK_STREAM && s->pcb.tcp) {
		s->abort_pending = true;
		mark_work(s);
	} else if (s->pending_op == JR_OP_CLOSE) {
		mark_work(s);		/* answered in sock_finish_abort() */
		s->abort_pending = true;
	}
}

static void tcp_detach(struct tcp_pcb *pcb);

/* End of the loop turn, outside lwIP: finish what sock_bad_ring() began. */
static void sock_finish_abort(struct ns_sock *s)
{
	s->abort_pending = false;
	if (s->type == SOCK_STREAM && s->pcb.tcp) {
		tcp_detach(s->pcb.tcp);
		tcp_abort(s->pcb.tcp);
		s->pcb.tcp = NULL;
	}
	if (s->rx_pending) {
		pbuf_free(s->rx_pending);
		s->rx_pending = NULL;
	}
	s->fin_pending = false;
	if (s->pending_op == JR_OP_CLOSE) {
		/* The CLOSE that was draining the tx ring: the slot is free. */
		if (s->type == SOCK_DGRAM && s->pcb.udp)
			udp_remove(s->pcb.udp);
		reply(s->front, JR_OP_CLOSE, s->slot, s->pending_tag, 0, NULL);
		sock_reset(s);
	}
}

/* ----------------------------------------------------- TCP: checkpoint */

/*
 * A connection's checkpoint in its slot (struct jr_tcp_ckpt; abi.md,
 * "Survival").  Its sequence numbers are relative to the ring counters,
 * which move by exactly what lwIP's do: rcv_nxt by what goes into the rx
 * ring (and the FIN), snd_una by what tcp_sent_cb() releases from the tx
 * ring.  So it is written when the connection is established, when the
 * peer's FIN reaches the ring, and when acknowledged bytes wait outside
 * the ring (rx_held): a few stores per connection, nothing per packet.
 */
static uint32_t tcp_rx_held(const struct ns_sock *s)
{
	uint32_t held = s->rx_pending ? s->rx_pending->tot_len : 0;

	if (s->pcb.tcp && s->pcb.tcp->refused_data)
		held += s->pcb.tcp->refused_data->tot_len;
	return held;
}

static void tcp_ckpt_write(struct ns_sock *s)
{
	struct jr_tcp_ckpt *ck = &slot_ctl(s)->ckpt;
	struct tcp_pcb *pcb = s->pcb.tcp;

	if (!s->ckpt_on || !pcb)
		return;
	/* Odd while it changes: the kernel's copy must not be torn. */
	__atomic_store_n(&ck->seq, ++s->ckpt_seq, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	ck->flags = s->fin_rcvd ? JR_CKPT_F_FIN_RCVD : 0;
#if LWIP_WND_SCALE
	ck->snd_wscale = pcb->snd_scale;
	ck->rcv_wscale = pcb->rcv_scale;
#endif
	ck->snd_base = s->snd_base;
	ck->rcv_base = s->rcv_base;
	ck->snd_wnd = pcb->snd_wnd;
	ck->mss = pcb->mss;
	ck->rx_held = s->ckpt_held;
	__atomic_store_n(&ck->seq, ++s->ckpt_seq, __ATOMIC_RELEASE);
}

/* No checkpoint: the connection cannot be taken over (or is over). */
static void tcp_ckpt_clear(struct ns_sock *s)
{
	if (!s->front)
		return;
	s->ckpt_on = false;
	__atomic_store_n(&slot_ctl(s)->ckpt.seq, 0, __ATOMIC_RELEASE);
}

/*
 * The connection is established and the slot's rings start where they
 * are: fix the relation between ring counters and sequence numbers.
 * Bytes lwIP acknowledged that are not in the ring yet (an accepted
 * connection's first data) count as if they were.
 */
static void tcp_ckpt_start(struct ns_sock *s)
{
	struct tcp_pcb *pcb = s->pcb.tcp;

	if (!pcb || !(s->front->region.limits.features & JR_F_SURVIVAL))
		return;
	s->ckpt_held = tcp_rx_held(s);
	/*
	 * snd_lbb is the sequence number of the next byte handed to lwIP,
	 * tx_queued's: right whether or not the SYN is acknowledged yet (an
	 * accepted connection is given its slot from the accept callback,
	 * before lwIP counts the handshake's ACK in lastack).
	 */
	s->snd_base = pcb->snd_lbb - s->tx_queued;
	s->rcv_base = pcb->rcv_nxt - s->rx_prod - s->ckpt_held -
		      (s->fin_pending || s->fin_rcvd ? 1 : 0);
	s->ckpt_on = true;
	tcp_ckpt_write(s);
}

/* After rx bytes moved: rx_held, and the FIN once it reached the ring. */
static void tcp_ckpt_rx(struct ns_sock *s, uint32_t extra_held)
{
	uint32_t held;

	if (!s->ckpt_on)
		return;
	held = tcp_rx_held(s) + extra_held;
	if (held != s->ckpt_held) {
		s->ckpt_held = held;
		tcp_ckpt_write(s);
	}
}

/* ----------------------------------------------------------- TCP: rx */

static void tcp_rx_deliver(struct ns_sock *s)
{
	struct jr_slot_ctl *ctl = slot_ctl(s);
	uint32_t size = rx_size(s);
	int fill = jr_bytes_fill(s->rx_prod, jr_load_acquire(&ctl->rx_cons), size);
	uint32_t space, before = s->rx_prod;

	if (fill < 0) {
		sock_bad_ring(s);
		return;
	}
	space = size - (uint32_t)fill;
	while (s->rx_pending && space) {
		struct pbuf *q = s->rx_pending;
		uint32_t n = q->len < space ? q->len : space;

		jr_bytes_copy_in(slot_rx(s), size, s->rx_prod, q->payload, n);
		s->rx_prod += n;
		space -= n;
		s->rx_pending = pbuf_free_header(q, (u16_t)n);
	}
	/* Counted once per stall: the ring was full with bytes waiting. */
	if (s->rx_pending && !space && !s->rx_ring_full && s->front)
		s->front->eng->ring_full++;
	s->rx_ring_full = s->rx_pending && !space;
	if (s->rx_prod != before) {
		/* Release: the bytes are in the ring before rx_prod says so. */
		jr_store_release(&ctl->rx_prod, s->rx_prod);
		s->ev_rx = true;
		mark_work(s);
	}
	if (!s->rx_pending && s->fin_pending && s->front) {
		s->fin_pending = false;
		/* Events are posted in order: data first, then end of file. */
		if (s->ev_rx) {
			event(s, JR_EV_RX, 0);
			s->ev_rx = false;
		}
		event(s, JR_EV_RX_FIN, 0);
		s->fin_rcvd = true;
		s->ckpt_held = tcp_rx_held(s);
		tcp_ckpt_write(s);
	}
	tcp_ckpt_rx(s, 0);
}

static void embryo_undefer(struct ns_sock *e);
static void embryo_unlink_deferred(struct ns_sock *l, struct ns_sock *e);

static err_t tcp_recv_cb(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct ns_sock *s = arg;

	(void)pcb;
	if (!s || s->state == NS_SOCK_DEAD) {
		/* Detached (closing): data after close is discarded, as Linux's
		 * close() with unread data does.  Likewise for a socket failed
		 * for a bad ring whose pcb is not aborted yet. */
		if (p) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (err != ERR_OK) {
		if (p)
			pbuf_free(p);
		return ERR_OK;
	}
	if (!p) {
		s->fin_pending = true;
	} else if (s->rx_pending) {
		/* lwIP's tot_len is 16 bits: keep chains short by refusing
		 * (lwIP holds and redelivers) when one is already waiting. */
		if ((uint32_t)s->rx_pending->tot_len + p->tot_len > 0xffff) {
			/* lwIP keeps it as refused data, acknowledged. */
			tcp_ckpt_rx(s, p->tot_len);
			return ERR_MEM;
		}
		pbuf_cat(s->rx_pending, p);
	} else {
		s->rx_pending = p;
	}
	if (s->front)
		tcp_rx_deliver(s);
	else if (s->deferred)
		embryo_undefer(s);	/* its first data (or FIN) */
	return ERR_OK;
}

/* The owner consumed rx bytes: reopen the window by as much. */
/*
 * Tell lwIP what the owner has read (rx_cons): the window reopens by that
 * much.  False if the position lies.
 */
static bool tcp_rx_account(struct ns_sock *s)
{
	uint32_t cons = jr_load_acquire(&slot_ctl(s)->rx_cons);
	uint32_t delta;

	if (jr_bytes_fill(s->rx_prod, cons, rx_size(s)) < 0 ||
	    cons - s->rx_acked > s->rx_prod - s->rx_acked)
		return false;
	delta = cons - s->rx_acked;
	s->rx_acked = cons;
	while (delta && s->pcb.tcp) {
		u16_t n = delta > 0xffff ? 0xffff : (u16_t)delta;

		tcp_recved(s->pcb.tcp, n);
		delta -= n;
	}
	return true;
}

static void tcp_rx_space(struct ns_sock *s)
{
	if (!tcp_rx_account(s)) {
		sock_bad_ring(s);
		return;
	}
	tcp_rx_deliver(s);
	if (s->pcb.tcp && s->pcb.tcp->refused_data)
		tcp_process_refused_data(s->pcb.tcp);
}

/* ----------------------------------------------------------- TCP: tx */

static void tcp_finish_close(struct ns_sock *s);

/* Hand the tx ring's new bytes to lwIP, and send (output) what it can. */
static void tcp_tx_queue(struct ns_sock *s, bool output)
{
	struct tcp_pcb *pcb = s->pcb.tcp;
	uint32_t size = tx_size(s);
	uint32_t prod, avail;
	bool queued = false;
	int fill;

	if (!pcb || (s->state != NS_SOCK_CONNECTED && s->state != NS_SOCK_CLOSING))
		return;
	prod = jr_load_acquire(&slot_ctl(s)->tx_prod);
	fill = jr_bytes_fill(prod, s->tx_cons, size);
	if (fill < 0 || s->tx_queued - s->tx_cons > (uint32_t)fill) {
		sock_bad_ring(s);
		return;
	}
	avail = prod - s->tx_queued;
	/* TCP_CORK: whole segments only; the rest waits for more bytes, the
	 * uncork, a shutdown or the poll timer (tcp_conn_poll_cb). */
	if ((s->cork || s->more) && !s->cork_flush && !s->shut_wr_pending && pcb->mss) {
		uint32_t held = avail % pcb->mss;

		avail -= held;
		if (!held)
			s->cork_since_ms = 0;
		else if (!s->cork_since_ms)
			s->cork_since_ms = sys_now() | 1;
	} else {
		s->cork_since_ms = 0;
	}
	if (avail && !pcb->unacked)
		s->last_ack_ms = sys_now();
	while (avail) {
		uint32_t room = tcp_sndbuf(pcb);
		uint32_t n;
		err_t err;

		if (!room || tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN - 1)
			break;
		n = jr_bytes_chunk(size, s->tx_queued, avail < room ? avail : room);
		if (n > 0xffff)
			n = 0xffff;
		err = tcp_write(pcb, slot_tx(s) + (s->tx_queued & (size - 1)), (u16_t)n,
				n < avail ? TCP_WRITE_FLAG_MORE : 0);
		if (err == ERR_MEM)
			break;
		if (err != ERR_OK) {
			event(s, JR_EV_RESET, errno_from_err(err));
			tcp_uncount(s);
			s->state = NS_SOCK_DEAD;
			return;
		}
		s->tx_queued += n;
		avail -= n;
		queued = true;
	}
	if (queued && output)
		tcp_output(pcb);
	if (!avail && s->shut_wr_pending) {
		s->shut_wr_pending = false;
		tcp_shutdown(pcb, 0, 1);
	}
}

static void tcp_tx_drain(struct ns_sock *s)
{
	tcp_tx_queue(s, true);
}

/*
 * Whether acknowledging bytes [old_cons, new_cons) is worth a TX_SPACE
 * event: when the ring's free space crosses a third of it, as Linux wakes
 * a writer (sk_stream_write_space).  A writer sleeps only on a full ring;
 * free space measured against the producer's position now, before and
 * after this acknowledgement, crosses the threshold once on its way from
 * there, so the writer is woken once per third of the ring rather than
 * once per ACK.  A position that lies only skips the event: the drain
 * that follows fails the socket.
 */
static bool tx_space_crossed(struct ns_sock *s, uint32_t old_cons, uint32_t new_cons)
{
	uint32_t size = tx_size(s), prod = jr_load_acquire(&slot_ctl(s)->tx_prod);
	uint32_t threshold = size / 3;
	uint32_t used_before = prod - old_cons, used_after = prod - new_cons;

	if (used_before > size || used_after > size)
		return false;
	return size - used_before < threshold && size - used_after >= threshold;
}

/*
 * What jrctl sockets -i shows of a connection (struct jr_tcp_gauge in the
 * slot), refreshed with each acknowledgement: the line is the one
 * tx_cons was just written to, so it costs no extra cache miss.
 */
static void tcp_gauge_write(struct ns_sock *s, const struct tcp_pcb *pcb)
{
	struct jr_tcp_gauge *g = &slot_ctl(s)->gauge;
	uint32_t rtt_us = 0;

	if (pcb->sa > 0)
		rtt_us = (uint32_t)(pcb->sa >> 3) * TCP_SLOW_INTERVAL * 1000;
	jr_write_once(g->rtt_us, rtt_us);
	jr_write_once(g->cwnd, (uint32_t)pcb->cwnd);
	jr_write_once(g->retrans, (uint32_t)pcb->nrtx);
}

static err_t tcp_sent_cb(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct ns_sock *s = arg;
	uint32_t old_cons;

	if (!s || !s->front || s->state == NS_SOCK_DEAD)
		return ERR_OK;
	old_cons = s->tx_cons;
	s->tx_cons += len;
	s->last_ack_ms = sys_now();
	s->front->eng->tx_acks++;
	/* Release: lwIP no longer references these bytes; the owner may
	 * overwrite them. */
	jr_store_release(&slot_ctl(s)->tx_cons, s->tx_cons);
	tcp_gauge_write(s, pcb);
	if (tx_space_crossed(s, old_cons, s->tx_cons)) {
		s->ev_tx_space = true;
		mark_work(s);
	}
	if (s->state == NS_SOCK_CLOSING)
		tcp_finish_close(s);
	else
		tcp_tx_drain(s);
	return ERR_OK;
}

/* ------------------------------------------------------ TCP: lifecycle */

static void tcp_set_callbacks(struct ns_sock *s, struct tcp_pcb *pcb);
static void tcp_apply_opts(const struct ns_sock *s, struct tcp_pcb *pcb);
static err_t tcp_conn_poll_cb(void *arg, struct tcp_pcb *pcb);
static void tcp_size_window(struct tcp_pcb *pcb, uint32_t ring);

static void tcp_err_cb(void *arg, err_t err)
{
	struct ns_sock *s = arg;
	int res;

	if (!s)
		return;
	s->pcb.tcp = NULL;	/* lwIP has freed it */
	if (!s->front && s->deferred) {
		/* Reset while it waited for data: it was never acceptable. */
		embryo_unlink_deferred(s->listener, s);
		if (s->rx_pending)
			pbuf_free(s->rx_pending);
		ns_embryo_put(s->listener->front->eng, s);
		return;
	}
	if (!s->front) {
		/* An embryo nobody accepted yet: forget it. */
		struct ns_sock *l = s->listener, **pp;

		for (pp = &l->embryos_head; *pp; pp = &(*pp)->next) {
			if (*pp == s) {
				*pp = s->next;
				break;
			}
		}
		l->embryos_tail = NULL;
		for (struct ns_sock *e = l->embryos_head; e; e = e->next)
			l->embryos_tail = e;
		l->nr_embryos--;
		event(l, JR_EV_ACCEPTABLE, (int)l->nr_embryos);
		if (s->rx_pending)
			pbuf_free(s->rx_pending);
		ns_embryo_put(l->front->eng, s);
		return;
	}
	if (s->rx_pending) {
		pbuf_free(s->rx_pending);
		s->rx_pending = NULL;
	}
	tcp_ckpt_clear(s);
	switch (s->state) {
	case NS_SOCK_DEAD:
		/* Failed already (bad ring, write error): reported once. */
		break;
	case NS_SOCK_CONNECTING:
		/* A reset answering our SYN is a refusal; an abort after the
		 * SYN retries is a timeout. */
		res = err == ERR_RST ? -ECONNREFUSED :
		      err == ERR_ABRT ? -ETIMEDOUT : errno_from_err(err);
		s->state = NS_SOCK_DEAD;
		complete_pending(s, res, NULL);
		break;
	case NS_SOCK_CLOSING:
		tcp_uncount(s);		/* tcp_finish_close() sees no pcb */
		tcp_finish_close(s);
		break;
	default:
		res = err == ERR_ABRT ? -ETIMEDOUT : errno_from_err(err);
		if (err == ERR_RST)
			res = -ECONNRESET;
		s->front->eng->tcp_resets++;
		tcp_uncount(s);
		s->state = NS_SOCK_DEAD;
		event(s, JR_EV_RESET, res);
		break;
	}
}

static err_t tcp_connected_cb(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct ns_sock *s = arg;
	struct jr_sockaddr local;

	if (!s || s->state != NS_SOCK_CONNECTING)
		return ERR_OK;
	if (err != ERR_OK) {
		complete_pending(s, errno_from_err(err), NULL);
		return ERR_OK;
	}
	/* The SYN timing was ours (tcp_syn_poll_cb); data gets lwIP's. */
	tcp_poll(pcb, NULL, 0);
	/* Now: the SYN-ACK's window scale option has just reset the window. */
	tcp_size_window(pcb, rx_size(s));
	pcb->rto = 3000 / TCP_SLOW_INTERVAL;
	s->state = NS_SOCK_CONNECTED;
	tcp_apply_opts(s, pcb);
	s->front->eng->tcp_conns++;
	s->front->eng->tcp_opened++;
	tcp_ckpt_start(s);
	tcp_gauge_write(s, pcb);
	to_jr_addr(&pcb->local_ip, pcb->local_port, &local);
	complete_pending(s, 0, &local);
	tcp_tx_drain(s);
	return ERR_OK;
}

/* Give a connection to a child slot that an ACCEPT named. */
static void accept_into(struct ns_sock *child, const struct ns_sock *l,
			struct tcp_pcb *pcb, struct pbuf *rx_pending, bool fin)
{
	/* Children inherit the listener's TCP options, as on Linux. */
	child->nodelay = l->nodelay;
	child->keep_idle_ms = l->keep_idle_ms;
	child->keep_intvl_ms = l->keep_intvl_ms;
	child->keep_cnt = l->keep_cnt;
	child->syncnt = l->syncnt;
	child->tos = l->tos;
	child->ttl = l->ttl;
	child->user_mss = l->user_mss;
	child->cork = l->cork;
	child->user_timeout_ms = l->user_timeout_ms;
	child->pcb.tcp = pcb;
	child->state = NS_SOCK_CONNECTED;
	tcp_apply_opts(child, pcb);
	child->rx_pending = rx_pending;
	child->fin_pending = fin;
	child->listener = NULL;
	tcp_set_callbacks(child, pcb);
	tcp_backlog_accepted(pcb);
	child->front->eng->tcp_conns++;
	child->front->eng->tcp_accepted++;
	tcp_ckpt_start(child);
	tcp_gauge_write(child, pcb);
	complete_accept(child, pcb);
	tcp_rx_deliver(child);
}

/* An embryo becomes acceptable: an ACCEPT waiting takes it, else it queues. */
static void embryo_queue(struct ns_sock *l, struct ns_sock *e)
{
	struct ns_sock *child = l->waiting_head;

	if (child) {
		l->waiting_head = child->next;
		if (!l->waiting_head)
			l->waiting_tail = NULL;
		child->next = NULL;
		accept_into(child, l, e->pcb.tcp, e->rx_pending, e->fin_pending);
		ns_embryo_put(l->front->eng, e);
		return;
	}
	e->next = NULL;
	if (l->embryos_tail)
		l->embryos_tail->next = e;
	else
		l->embryos_head = e;
	l->embryos_tail = e;
	l->nr_embryos++;
	event(l, JR_EV_ACCEPTABLE, (int)l->nr_embryos);
}

static void embryo_unlink_deferred(struct ns_sock *l, struct ns_sock *e)
{
	for (struct ns_sock **pp = &l->deferred_head; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	e->next = NULL;
	e->deferred = false;
}

/* TCP_DEFER_ACCEPT is over for e: data came, or its time ran out. */
static void embryo_undefer(struct ns_sock *e)
{
	struct ns_sock *l = e->listener;

	embryo_unlink_deferred(l, e);
	if (e->pcb.tcp)
		tcp_poll(e->pcb.tcp, NULL, 0);
	embryo_queue(l, e);
}

static err_t tcp_defer_poll_cb(void *arg, struct tcp_pcb *pcb)
{
	struct ns_sock *e = arg;

	(void)pcb;
	if (e && !e->front && e->deferred &&
	    (int32_t)(sys_now() - e->defer_until_ms) >= 0)
		embryo_undefer(e);
	return ERR_OK;
}

static err_t tcp_accept_cb(void *arg, struct tcp_pcb *newpcb, err_t err)
{
	struct ns_sock *l = arg, *child, *e;

	if (!l || err != ERR_OK || !newpcb)
		return ERR_VAL;
	tcp_setprio(newpcb, TCP_PRIO_NORMAL);
	tcp_apply_opts(l, newpcb);
	tcp_size_window(newpcb, rx_size(l));
	child = l->defer_accept_s ? NULL : l->waiting_head;
	if (child) {
		l->waiting_head = child->next;
		if (!l->waiting_head)
			l->waiting_tail = NULL;
		child->next = NULL;
		accept_into(child, l, newpcb, NULL, false);
		return ERR_OK;
	}
	e = ns_embryo_get(l->front->eng);
	if (!e) {
		tcp_abort(newpcb);
		return ERR_ABRT;
	}
	/* Hold it against the listen backlog until an ACCEPT claims it. */
	tcp_backlog_delayed(newpcb);
	e->type = SOCK_STREAM;
	e->state = NS_SOCK_CONNECTED;
	e->listener = l;
	e->pcb.tcp = newpcb;
	tcp_set_callbacks(e, newpcb);
	if (l->defer_accept_s) {
		/* Linux keeps such a connection out of the accept queue until
		 * data comes or its SYN-ACK retries (the rounded seconds) are
		 * spent; the poll timer watches the deadline. */
		e->deferred = true;
		e->defer_until_ms = sys_now() + l->defer_accept_s * 1000;
		e->next = l->deferred_head;
		l->deferred_head = e;
		tcp_poll(newpcb, tcp_defer_poll_cb, 1);
		return ERR_OK;
	}
	embryo_queue(l, e);
	return ERR_OK;
}

/*
 * lwIP opens every window to TCP_WND (64 KiB without window scaling), the
 * largest ring a netserver may ask for; once established, each
 * connection's is cut to its own rx ring (--rx-buf), so the advertised
 * window is what the ring can take and tcp_recved() never opens it
 * further.  Bytes already received stay counted.  A window already
 * announced larger (a SYN-ACK carries up to 64 KiB) shrinks to the ring:
 * what the peer sent beyond it is trimmed, and sent again when the window
 * reopens.
 */
static void tcp_size_window(struct tcp_pcb *pcb, uint32_t ring)
{
	tcpwnd_size_t held = TCP_WND_MAX(pcb) - pcb->rcv_wnd;
	tcpwnd_size_t wnd = ring > held ? ring - held : 0;

	if (wnd >= pcb->rcv_wnd)
		return;
	pcb->rcv_wnd = wnd;
	if (pcb->rcv_ann_wnd > wnd)
		pcb->rcv_ann_wnd = wnd;
	/* lwIP keeps announcing up to the right edge it last sent; an edge
	 * past the ring would have the peer send what lwIP then drops. */
	if (TCP_SEQ_GT(pcb->rcv_ann_right_edge, pcb->rcv_nxt + wnd))
		pcb->rcv_ann_right_edge = pcb->rcv_nxt + wnd;
}

/* The owner's TCP options onto a (non-listening) pcb. */
static void tcp_apply_opts(const struct ns_sock *s, struct tcp_pcb *pcb)
{
	if (s->nodelay)
		tcp_nagle_disable(pcb);
	else
		tcp_nagle_enable(pcb);
	pcb->keep_idle = s->keep_idle_ms ? s->keep_idle_ms : TCP_KEEPIDLE_DEFAULT;
	pcb->keep_intvl = s->keep_intvl_ms ? s->keep_intvl_ms : TCP_KEEPINTVL_DEFAULT;
	pcb->keep_cnt = s->keep_cnt ? s->keep_cnt : TCP_KEEPCNT_DEFAULT;
	pcb->tos = s->tos;
	pcb->ttl = s->ttl ? s->ttl : TCP_TTL;
	/* TCP_MAXSEG caps what we send; lwIP sets pcb->mss from the peer's
	 * option when the SYN arrives, so established connections get it
	 * again (tcp_connected_cb, accept_into). */
	if (s->user_mss && pcb->mss > s->user_mss)
		pcb->mss = s->user_mss;
	/* The SYN retries own the poll callback while connecting. */
	if (s->state == NS_SOCK_CONNECTED)
		tcp_poll(pcb, s->cork || s->more || s->user_timeout_ms ? tcp_conn_poll_cb : NULL,
			 s->cork || s->more || s->user_timeout_ms ? 1 : 0);
}

#define NS_CORK_MS	200	/* Linux's TCP_CORK ceiling */

/*
 * Every slow-timer tick (500 ms) of a connection with TCP_CORK, MSG_MORE
 * or TCP_USER_TIMEOUT: corked bytes that waited 200 ms go out (after 200 to
 * 700 ms), and a connection whose oldest unacknowledged byte has waited
 * longer than the user timeout is aborted with ETIMEDOUT, as Linux does.
 */
static err_t tcp_conn_poll_cb(void *arg, struct tcp_pcb *pcb)
{
	struct ns_sock *s = arg;

	if (!s || s->state != NS_SOCK_CONNECTED)
		return ERR_OK;
	if (s->user_timeout_ms && pcb->unacked &&
	    sys_now() - s->last_ack_ms >= s->user_timeout_ms) {
		tcp_abort(pcb);		/* tcp_err_cb: ERR_ABRT is ETIMEDOUT */
		return ERR_ABRT;
	}
	if ((s->cork || s->more) && s->cork_since_ms &&
	    sys_now() - s->cork_since_ms >= NS_CORK_MS) {
		s->cork_flush = true;
		tcp_tx_drain(s);
		s->cork_flush = false;
	}
	return ERR_OK;
}

static void tcp_set_callbacks(struct ns_sock *s, struct tcp_pcb *pcb)
{
	tcp_arg(pcb, s);
	tcp_recv(pcb, tcp_recv_cb);
	tcp_sent(pcb, tcp_sent_cb);
	tcp_err(pcb, tcp_err_cb);
}

static void tcp_detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_recv(pcb, tcp_recv_cb);	/* with a NULL arg: discard */
}

/* Reset every embryo on a listener's list (queued or deferred). */
static void embryos_abort(struct ns_sock *l, struct ns_sock **head)
{
	struct ns_sock *e;

	while ((e = *head)) {
		*head = e->next;
		if (e->pcb.tcp) {
			tcp_arg(e->pcb.tcp, NULL);
			tcp_abort(e->pcb.tcp);
		}
		if (e->rx_pending)
			pbuf_free(e->rx_pending);
		ns_embryo_put(l->front->eng, e);
	}
}

/* Close a listener: queued connections are reset, waiting ACCEPTs fail. */
static void listener_close(struct ns_sock *l)
{
	struct ns_sock *c;

	embryos_abort(l, &l->embryos_head);
	l->embryos_tail = NULL;
	l->nr_embryos = 0;
	embryos_abort(l, &l->deferred_head);
	while ((c = l->waiting_head)) {
		l->waiting_head = c->next;
		c->next = NULL;
		/* A failed ACCEPT leaves its child slot free (abi.md). */
		complete_pending(c, -ECONNABORTED, NULL);
		sock_reset(c);
	}
	l->waiting_tail = NULL;
	if (l->pcb.tcp) {
		tcp_arg(l->pcb.tcp, NULL);
		tcp_accept(l->pcb.tcp, NULL);
		tcp_close(l->pcb.tcp);
		l->pcb.tcp = NULL;
	}
}

/*
 * Finish a CLOSE once lwIP no longer references the tx ring: everything
 * queued has been acknowledged, or the connection is gone.
 */
static void tcp_finish_close(struct ns_sock *s)
{
	struct tcp_pcb *pcb = s->pcb.tcp;
	uint64_t tag = s->pending_tag;

	if (pcb) {
		uint32_t prod = jr_load_acquire(&slot_ctl(s)->tx_prod);

		if (s->tx_queued != prod && !s->closing_abort) {
			tcp_tx_drain(s);
			return;
		}
		if (s->tx_cons != s->tx_queued && !s->closing_abort)
			return;		/* wait for the acknowledgements */
		tcp_detach(pcb);
		/*
		 * lwIP resets instead of closing when its window is not at
		 * TCP_WND, which it takes for data left unread; the window is
		 * the ring's here, so say what is true: everything delivered
		 * was read (Linux, too, resets only over unread data).
		 */
		if (!s->rx_pending && s->rx_acked == s->rx_prod)
			pcb->rcv_wnd = TCP_WND_MAX(pcb);
		if (s->closing_abort || tcp_close(pcb) != ERR_OK)
			tcp_abort(pcb);
		s->pcb.tcp = NULL;
		s->front->eng->tcp_conns--;
	}
	if (s->rx_pending)
		pbuf_free(s->rx_pending);
	reply(s->front, JR_OP_CLOSE, s->slot, tag, 0, NULL);
	sock_reset(s);
}

/* ------------------------------------------------------------- UDP */

/* The datagram lwIP is delivering: its destination, TOS and TTL. */
static void udp_meta(struct jr_dgram_meta *m)
{
	memset(m, 0, sizeof(*m));
	to_jr_addr(ip_current_dest_addr(), 0, &m->dst);
	if (ip_current_is_v6()) {
		m->tos = (uint8_t)IP6H_TC(ip6_current_header());
		m->ttl = IP6H_HOPLIM(ip6_current_header());
	} else {
		m->tos = IPH_TOS(ip4_current_header());
		m->ttl = IPH_TTL(ip4_current_header());
	}
}

/* One datagram lwIP is delivering into s's receive ring (p stays ours). */
static void udp_deliver(struct ns_sock *s, struct pbuf *p, const ip_addr_t *addr,
			u16_t port)
{
	struct jr_dgram_hdr h = { 0 };
	struct jr_dgram_meta meta;
	uint32_t size, pos, len, space, meta_len;
	int fill;

	if (!s || !s->front || s->state == NS_SOCK_DEAD)
		return;
	size = rx_size(s);
	fill = jr_bytes_fill(s->rx_prod, jr_load_acquire(&slot_ctl(s)->rx_cons), size);
	if (fill < 0) {
		sock_bad_ring(s);
		return;
	}
	space = size - (uint32_t)fill;
	/* The header's facts, for the owner's control messages. */
	meta_len = s->recv_meta ? sizeof(meta) : 0;
	/* A datagram larger than half the ring is cut, so one always fits. */
	len = p->tot_len;
	if (JR_DGRAM_RECORD(meta_len + len) > size / 2) {
		h.flags = JR_DGRAM_F_TRUNC;
		h.orig_len = len;
		len = size / 2 - sizeof(h) - meta_len;
		len &= ~(JR_DGRAM_ALIGN - 1);
	}
	if (jr_dgram_need(s->rx_prod, size, meta_len + len) > space) {
		/* A full receive buffer drops, as Linux's does for UDP. */
		s->front->region.stats->s_rx_dropped++;
		return;
	}
	pos = jr_dgram_begin(slot_rx(s), size, s->rx_prod, meta_len + len);
	h.len = meta_len + len;
	to_jr_addr(addr, port, &h.addr);
	if (meta_len) {
		h.flags |= JR_DGRAM_F_META;
		udp_meta(&meta);
		memcpy(slot_rx(s) + (pos & (size - 1)) + sizeof(h), &meta, sizeof(meta));
	}
	memcpy(slot_rx(s) + (pos & (size - 1)), &h, sizeof(h));
	pbuf_copy_partial(p, slot_rx(s) + (pos & (size - 1)) + sizeof(h) + meta_len,
			  (u16_t)len, 0);
	pos += JR_DGRAM_RECORD(meta_len + len);
	s->rx_prod = pos;
	jr_store_release(&slot_ctl(s)->rx_prod, pos);
	s->ev_rx = true;
	mark_work(s);
}

/* --------------------------------------------------- ephemeral ports */

/*
 * The ports the netserver picks (bind() to port 0, and the auto-binds of
 * listen(), connect() and a first send) come from
 * net.ipv4.ip_local_port_range of the netserver's network namespace, which
 * is its sockets' (it attached there).  Read at each pick, as Linux reads
 * it: a narrowed range applies to the next socket.  lwIP's own picker has
 * a fixed range (0xc000-0xffff), so the netserver picks itself.
 */
#define NS_PORT_RANGE_FILE	"/proc/sys/net/ipv4/ip_local_port_range"

static int port_range_fd = -2;		/* -2: not opened yet, -1: none */

static void local_port_range(u16_t *lo, u16_t *hi)
{
	unsigned int a, b;
	char buf[32];
	ssize_t n;

	*lo = 32768;		/* Linux's default */
	*hi = 60999;
	if (port_range_fd == -2)
		port_range_fd = open(NS_PORT_RANGE_FILE, O_RDONLY | O_CLOEXEC);
	if (port_range_fd < 0)
		return;
	n = pread(port_range_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = 0;
	if (sscanf(buf, "%u %u", &a, &b) == 2 && a >= 1 && a <= b && b <= 65535) {
		*lo = (u16_t)a;
		*hi = (u16_t)b;
	}
}

/*
 * Bind to a free port of the range, trying from a random point of it, as
 * Linux's autobind does.  An auto-bound socket gets a port nobody holds
 * (Linux shares one only under net.ipv4.ip_autobind_reuse, which Joyride
 * does not offer), so SO_REUSEADDR is set aside meanwhile.  ERR_USE when
 * every port is taken.  One loop for both protocols: bind() is lwIP's
 * tcp_bind() or udp_bind(), so_options the pcb's.
 */
/*
 * With several engines, a connect()'s port must also bring the peer's
 * replies to this engine's queue (ns_port_rss_mine): the connection the
 * NIC would steer elsewhere.
 */
struct rss_want {
	struct ns_port		*port;
	const ip_addr_t		*local, *remote;
	u16_t			rport;
};

static err_t bind_ephemeral(void *pcb, u8_t *so_options, const ip_addr_t *ip,
			    err_t (*bind)(void *pcb, const ip_addr_t *ip, u16_t port),
			    const struct rss_want *want)
{
	u8_t reuse = *so_options & SOF_REUSEADDR;
	err_t err = ERR_USE;
	u32_t n, off, i;
	u16_t lo, hi;

	local_port_range(&lo, &hi);
	n = (u32_t)(hi - lo) + 1;
	off = LWIP_RAND() % n;
	*so_options &= (u8_t)~SOF_REUSEADDR;
	for (i = 0; i < n && err == ERR_USE; i++) {
		u16_t port = (u16_t)(lo + (off + i) % n);

		if (want && !ns_port_rss_mine(want->port, want->local, port, want->remote,
					      want->rport)) {
			want->port->rss_ports_tried++;
			continue;
		}
		err = bind(pcb, ip, port);
	}
	*so_options |= reuse;
	return err;
}

static err_t tcp_bind_any_pcb(void *pcb, const ip_addr_t *ip, u16_t port)
{
	return tcp_bind(pcb, ip, port);
}

static err_t udp_bind_any_pcb(void *pcb, const ip_addr_t *ip, u16_t port)
{
	return udp_bind(pcb, ip, port);
}

static err_t tcp_bind_ephemeral(struct tcp_pcb *pcb, const ip_addr_t *ip)
{
	return bind_ephemeral(pcb, &pcb->so_options, ip, tcp_bind_any_pcb, NULL);
}

static err_t udp_bind_ephemeral(struct udp_pcb *pcb, const ip_addr_t *ip)
{
	return bind_ephemeral(pcb, &pcb->so_options, ip, udp_bind_any_pcb, NULL);
}

/*
 * connect()'s auto-bind, which knows the peer: with several engines, a
 * port whose replies RSS brings back to this engine.  Not needed for our
 * own addresses and loopback, which lwIP loops inside the engine.  (A port
 * chosen by bind(), to 0 or not, was chosen without the peer: nothing can
 * be done for it, and its replies may reach another engine.)
 */
static err_t tcp_bind_ephemeral_to(struct ns_sock *s, const ip_addr_t *dest, u16_t dport)
{
	struct ns_port *port = &s->front->eng->port;
	struct tcp_pcb *pcb = s->pcb.tcp;
	struct netif *netif = &port->netif;
	const ip_addr_t *src = &pcb->local_ip;
	struct rss_want want;
	ip_addr_t src4;

	if (!port->reta_size || ip_addr_isloopback(dest))
		return tcp_bind_ephemeral(pcb, &pcb->local_ip);
	if (IP_IS_V4(dest)) {
		if (ip4_addr_cmp(ip_2_ip4(dest), netif_ip4_addr(netif)))
			return tcp_bind_ephemeral(pcb, &pcb->local_ip);
		if (ip_addr_isany(src) || !IP_IS_V4(src)) {
			ip_addr_copy_from_ip4(src4, *netif_ip4_addr(netif));
			src = &src4;
		}
	} else {
		if (netif_get_ip6_addr_match(netif, ip_2_ip6(dest)) >= 0)
			return tcp_bind_ephemeral(pcb, &pcb->local_ip);
		if (ip_addr_isany(src) || !IP_IS_V6(src))
			src = ip6_select_source_address(netif, ip_2_ip6(dest));
		if (!src)	/* no route: tcp_connect() will say so */
			return tcp_bind_ephemeral(pcb, &pcb->local_ip);
	}
	want.port = port;
	want.local = src;
	want.remote = dest;
	want.rport = dport;
	return bind_ephemeral(pcb, &pcb->so_options, &pcb->local_ip, tcp_bind_any_pcb, &want);
}

/*
 * Does the socket of pcb take a multicast or broadcast datagram for port
 * dport from src:sport?  As Linux's __udp_is_mcast_sock(): bound to the
 * port and to the wildcard or the destination (for a broadcast, an
 * address of its subnet), connected only to the sender; for a group, one
 * the socket joined, or any while IP_MULTICAST_ALL (IPv6's for IPv6) is on.
 */
static bool udp_mc_wants(const struct ns_sock *s, const struct udp_pcb *pcb,
			 u16_t dport, const ip_addr_t *src, u16_t sport)
{
	const ip_addr_t *dst = ip_current_dest_addr();
	bool v6 = ip_current_is_v6();

	if (!s || pcb->local_port != dport)
		return false;
	if (!IP_IS_ANY_TYPE_VAL(pcb->local_ip)) {
		if (IP_IS_V6_VAL(pcb->local_ip) != v6)
			return false;
		if (!ip_addr_isany(&pcb->local_ip) &&
		    !ip_addr_cmp_zoneless(&pcb->local_ip, dst) &&
		    (v6 || ip_addr_ismulticast(dst) ||
		     !ip4_addr_netcmp(ip_2_ip4(&pcb->local_ip), ip4_current_dest_addr(),
				      netif_ip4_netmask(ip_current_input_netif()))))
			return false;
	}
	if ((pcb->flags & UDP_FLAGS_CONNECTED) &&
	    (pcb->remote_port != sport || !ip_addr_cmp_zoneless(&pcb->remote_ip, src)))
		return false;
	if (!ip_addr_ismulticast(dst))
		return true;
	if (mc_find(s, dst) >= 0)
		return true;
	return v6 ? s->mc_all6 : s->mc_all4;
}

/*
 * lwIP hands a datagram to one pcb; Linux gives every socket a multicast
 * or broadcast datagram is for a copy of its own.  The copy into each
 * ring is the one that happens anyway, so p is shared, not cloned.
 */
static void udp_recv_cb(void *arg, struct udp_pcb *pcb, struct pbuf *p,
			const ip_addr_t *addr, u16_t port)
{
	const ip_addr_t *dst = ip_current_dest_addr();

	if (ip_addr_ismulticast(dst) || ip_addr_isbroadcast(dst, ip_current_input_netif())) {
		u16_t dport = pcb->local_port;

		for (struct udp_pcb *q = udp_pcbs; q; q = q->next)
			if (q->recv == udp_recv_cb &&
			    udp_mc_wants(q->recv_arg, q, dport, addr, port))
				udp_deliver(q->recv_arg, p, addr, port);
	} else {
		udp_deliver(arg, p, addr, port);
	}
	pbuf_free(p);
}

/* A multicast datagram leaves through the port with the options of its
 * family (lwIP's pcb keeps one set). */
static void udp_mc_tx_opts(const struct ns_sock *s, const ip_addr_t *dst)
{
	struct udp_pcb *pcb = s->pcb.udp;
	bool v4 = IP_IS_V4(dst);

	udp_set_multicast_netif_index(pcb, netif_get_index(mc_netif(s)));
	udp_set_multicast_ttl(pcb, v4 ? s->mc_ttl4 : s->mc_ttl6);
	if (v4 ? s->mc_loop4 : s->mc_loop6)
		udp_setflags(pcb, udp_flags(pcb) | UDP_FLAGS_MULTICAST_LOOP);
	else
		udp_setflags(pcb, udp_flags(pcb) & (u8_t)~UDP_FLAGS_MULTICAST_LOOP);
}

/*
 * One datagram out.  One that lwIP must fragment is checksummed here, in
 * software: the port's checksum offload would see only fragments (IPv6
 * does not allow a UDP checksum of zero; IPv4 would send it unsummed).
 */
static err_t udp_send_record(struct ns_sock *s, struct pbuf *p,
			     const struct jr_dgram_hdr *h)
{
	struct netif *nif = &s->front->eng->port.netif;
	u16_t flags = nif->chksum_flags;
	ip_addr_t ip;
	u16_t port;
	err_t err;

	/* A first send auto-binds, from the namespace's range. */
	if (!s->pcb.udp->local_port &&
	    udp_bind_ephemeral(s->pcb.udp, &s->pcb.udp->local_ip) != ERR_OK)
		return ERR_USE;
	if (h->len + 8 + 40 > nif->mtu)
		NETIF_SET_CHECKSUM_CTRL(nif, flags | NETIF_CHECKSUM_GEN_UDP);
	if (h->addr.family) {
		from_jr_addr(&h->addr, &ip, &port);
		dest_any_is_local(s, &ip);
		if (ip_addr_ismulticast(&ip))
			udp_mc_tx_opts(s, &ip);
		err = udp_sendto(s->pcb.udp, p, &ip, port);
	} else {
		if (ip_addr_ismulticast(&s->pcb.udp->remote_ip))
			udp_mc_tx_opts(s, &s->pcb.udp->remote_ip);
		err = udp_send(s->pcb.udp, p);
	}
	NETIF_SET_CHECKSUM_CTRL(nif, flags);
	return err;
}

static void udp_tx_drain(struct ns_sock *s)
{
	struct jr_slot_ctl *ctl = slot_ctl(s);
	uint32_t size = tx_size(s), prod, before = s->tx_cons;
	int fill;

	prod = jr_load_acquire(&ctl->tx_prod);
	fill = jr_bytes_fill(prod, s->tx_cons, size);
	if (fill < 0) {
		sock_bad_ring(s);
		return;
	}
	while (s->tx_cons != prod) {
		uint32_t skip = jr_dgram_skip(s->tx_cons, size);
		struct jr_dgram_hdr h;
		uint32_t record;
		struct pbuf *p;
		err_t err;

		if (skip) {
			if (prod - s->tx_cons < skip) {
				sock_bad_ring(s);
				return;
			}
			s->tx_cons += skip;
			continue;
		}
		memcpy(&h, slot_tx(s) + (s->tx_cons & (size - 1)), sizeof(h));
		/* Metadata is ours to write, on the receive side only. */
		if (jr_validate_dgram(&h, s->tx_cons, prod - s->tx_cons, size,
				      &s->front->region.limits, &record) ||
		    (h.flags & JR_DGRAM_F_META)) {
			sock_bad_ring(s);
			return;
		}
		if (!(h.flags & JR_DGRAM_F_PAD) && s->pcb.udp) {
			p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)h.len, PBUF_RAM);
			if (!p) {
				s->front->region.stats->s_tx_dropped++;
			} else {
				memcpy(p->payload, slot_tx(s) + (s->tx_cons & (size - 1)) + sizeof(h),
				       h.len);
				err = udp_send_record(s, p, &h);
				pbuf_free(p);
				if (err != ERR_OK) {
					s->front->region.stats->s_tx_dropped++;
					if (err == ERR_RTE)
						event(s, JR_EV_ERROR, -ENETUNREACH);
				}
			}
		}
		s->tx_cons += record;
	}
	if (s->tx_cons != before) {
		jr_store_release(&ctl->tx_cons, s->tx_cons);
		s->ev_tx_space = true;
		mark_work(s);
	}
}

/* ------------------------------------------------------------ ICMP */

/*
 * Linux's icmp_err_convert[]: the errno a destination-unreachable code
 * stands for, and whether it is "hard" (fatal) for a connected UDP socket.
 */
static const struct {
	int	err;
	bool	fatal;
} unreach_errs[16] = {
	{ ENETUNREACH,	false },	/* 0 net unreachable */
	{ EHOSTUNREACH,	false },	/* 1 host unreachable */
	{ ENOPROTOOPT,	true },		/* 2 protocol unreachable */
	{ ECONNREFUSED,	true },		/* 3 port unreachable */
	{ EMSGSIZE,	false },	/* 4 fragmentation needed (path MTU) */
	{ EOPNOTSUPP,	false },	/* 5 source route failed */
	{ ENETUNREACH,	true },		/* 6 destination net unknown */
	{ EHOSTDOWN,	true },		/* 7 destination host unknown */
	{ ENONET,	true },		/* 8 source host isolated */
	{ ENETUNREACH,	true },		/* 9 net administratively prohibited */
	{ EHOSTUNREACH,	true },		/* 10 host administratively prohibited */
	{ ENETUNREACH,	false },	/* 11 net unreachable for TOS */
	{ EHOSTUNREACH,	false },	/* 12 host unreachable for TOS */
	{ EHOSTUNREACH,	true },		/* 13 communication prohibited */
	{ EHOSTUNREACH,	true },		/* 14 host precedence violation */
	{ EHOSTUNREACH,	true },		/* 15 precedence cut-off */
};

#define NS_ICMP_FRAG_NEEDED	4

/* Linux's icmpv6_err_convert() for destination unreachable. */
static const struct {
	int	err;
	bool	fatal;
} unreach6_errs[7] = {
	{ ENETUNREACH,	false },	/* 0 no route */
	{ EACCES,	true },		/* 1 administratively prohibited */
	{ EHOSTUNREACH,	false },	/* 2 beyond scope */
	{ EHOSTUNREACH,	false },	/* 3 address unreachable */
	{ ECONNREFUSED,	true },		/* 4 port unreachable */
	{ EACCES,	true },		/* 5 source address failed policy */
	{ EACCES,	true },		/* 6 reject route */
};

/*
 * An ICMP destination unreachable about a segment or datagram we sent
 * (icmp.c checked the message and parsed the header it quotes), handled as
 * Linux's tcp_v4_err() and __udp4_lib_err() do by default:
 *   - TCP: a connect still in SYN_SENT fails with the code's errno (net
 *     unreachable ENETUNREACH, host unreachable EHOSTUNREACH, port
 *     unreachable ECONNREFUSED, ...), if the quoted sequence number is our
 *     SYN's; established connections ignore it (Linux makes it a soft error
 *     that only matters at a timeout, which lwIP reports itself);
 *   - UDP: a connected socket whose 4-tuple matches gets the error if it is
 *     a hard one (port unreachable: ECONNREFUSED), as JR_EV_ERROR, which
 *     the owner reports on the next call; unconnected sockets ignore it.
 * "Fragmentation needed" is path-MTU information, not an error here.
 */
void ns_icmp_unreach(uint8_t proto, bool v6, uint8_t code, const ip_addr_t *local,
		     uint16_t local_port, const ip_addr_t *remote, uint16_t remote_port,
		     uint32_t tcp_seq)
{
	int err;
	bool fatal;

	if (v6) {
		if (code >= sizeof(unreach6_errs) / sizeof(unreach6_errs[0]))
			return;
		err = unreach6_errs[code].err;
		fatal = unreach6_errs[code].fatal;
	} else {
		if (code >= sizeof(unreach_errs) / sizeof(unreach_errs[0]) ||
		    code == NS_ICMP_FRAG_NEEDED)
			return;
		err = unreach_errs[code].err;
		fatal = unreach_errs[code].fatal;
	}

	if (proto == IP_PROTO_TCP) {
		struct tcp_pcb *pcb;

		for (pcb = tcp_active_pcbs; pcb; pcb = pcb->next) {
			struct ns_sock *s = pcb->callback_arg;

			if (pcb->state != SYN_SENT || pcb->local_port != local_port ||
			    pcb->remote_port != remote_port ||
			    !ip_addr_cmp(&pcb->local_ip, local) ||
			    !ip_addr_cmp(&pcb->remote_ip, remote))
				continue;
			/* The quoted segment must be our SYN (Linux: between
			 * snd_una and snd_nxt), or anyone could kill a connect
			 * by guessing ports. */
			if (tcp_seq - pcb->lastack >= pcb->snd_nxt - pcb->lastack)
				return;
			if (!s || !s->front || s->pcb.tcp != pcb ||
			    s->state != NS_SOCK_CONNECTING)
				return;
			ns_dbg("%s: slot %u: ICMP unreachable (code %u) for our SYN",
			       s->front->name, s->slot, code);
			/* Exactly one reply: take the pcb from lwIP without its
			 * err callback, then answer the CONNECT ourselves. */
			tcp_err(pcb, NULL);
			tcp_arg(pcb, NULL);
			tcp_abandon(pcb, 0);
			s->pcb.tcp = NULL;
			s->state = NS_SOCK_DEAD;
			complete_pending(s, -err, NULL);
			return;
		}
		return;
	}

	if (proto == IP_PROTO_UDP && fatal) {
		struct udp_pcb *pcb;

		for (pcb = udp_pcbs; pcb; pcb = pcb->next) {
			struct ns_sock *s = pcb->recv_arg;

			if (!(pcb->flags & UDP_FLAGS_CONNECTED) ||
			    pcb->local_port != local_port ||
			    pcb->remote_port != remote_port ||
			    !ip_addr_cmp(&pcb->remote_ip, remote) ||
			    (!ip_addr_isany(&pcb->local_ip) && !ip_addr_cmp(&pcb->local_ip, local)))
				continue;
			if (!s || !s->front || s->pcb.udp != pcb ||
			    s->state == NS_SOCK_DEAD)
				return;
			ns_dbg("%s: slot %u: ICMP unreachable (code %u) for a datagram",
			       s->front->name, s->slot, code);
			event(s, JR_EV_ERROR, -err);
			return;
		}
	}
}

/* --------------------------------------------------------- requests */

/* What bind() may name: the wildcard, loopback, an address of ours, or
 * (as Linux's inet_bind() and inet6_bind() allow) a multicast group,
 * whose datagrams alone the socket then receives. */
static bool local_addr_ok(struct ns_front *front, const ip_addr_t *ip)
{
	struct netif *nif = &front->eng->port.netif;

	if (ip_addr_isany(ip) || ip_addr_isloopback(ip) || ip_addr_ismulticast(ip))
		return true;
	if (IP_IS_V6(ip))
		return netif_get_ip6_addr_match(nif, ip_2_ip6(ip)) >= 0;
	return ip4_addr_cmp(ip_2_ip4(ip), netif_ip4_addr(nif));
}

static int op_socket(struct ns_sock *s, const struct jr_sqe *sqe)
{
	if (s->state != NS_SOCK_FREE)
		return -EBUSY;
	sock_reset(s);
	s->gen = sqe->slot_gen;
	s->type = sqe->u.socket.type;
	s->family = sqe->u.socket.family;
	mc_defaults(s);
	sock_rings_reset(s);
	if (s->type == SOCK_STREAM) {
		s->pcb.tcp = tcp_new_ip_type(sock_ip_type(s));
		if (!s->pcb.tcp)
			return -ENOBUFS;
		tcp_set_callbacks(s, s->pcb.tcp);
	} else {
		s->pcb.udp = udp_new_ip_type(sock_ip_type(s));
		if (!s->pcb.udp)
			return -ENOBUFS;
		udp_recv(s->pcb.udp, udp_recv_cb, s);
	}
	s->state = NS_SOCK_OPEN;
	return 0;
}

/*
 * RESTORE (JR_F_SURVIVAL): a connection whose netserver died, given to us
 * with its rings as they were and its checkpoint in the slot.  The kernel
 * checked the checkpoint and the positions; they are checked again here,
 * because a user frontend could post this too.  The pcb is rebuilt at the
 * checkpoint's sequence numbers (tcp_restore.c) and everything from
 * snd_una on goes out again; an ACK tells the peer our window at once,
 * and duplicates of it ask for what the peer had in flight.
 */
static int op_restore(struct ns_sock *s, const struct jr_sqe *sqe)
{
	const struct jr_slot_ctl *ctl = slot_ctl(s);
	struct ns_tcp_restore r = { 0 };
	struct jr_sockaddr local = { 0 }, peer = { 0 };
	struct jr_tcp_ckpt ck;
	uint32_t rx_cons, rx_prod, tx_prod, tx_cons;
	struct tcp_pcb *pcb;
	int fill;

	if (s->state != NS_SOCK_FREE)
		return -EBUSY;
	memcpy(&ck, &ctl->ckpt, sizeof(ck));
	if (jr_validate_ckpt(&ck))
		return -EINVAL;
	rx_cons = jr_load_acquire(&ctl->rx_cons);
	rx_prod = jr_load_acquire(&ctl->rx_prod);
	tx_prod = jr_load_acquire(&ctl->tx_prod);
	tx_cons = jr_load_acquire(&ctl->tx_cons);
	fill = jr_bytes_fill(rx_prod, rx_cons, rx_size(s));
	if (fill < 0 || jr_bytes_fill(tx_prod, tx_cons, tx_size(s)) < 0)
		return -ERANGE;

	sock_reset(s);
	s->gen = sqe->slot_gen;
	s->type = SOCK_STREAM;
	s->family = sqe->u.restore.family;
	local.family = peer.family = sqe->u.restore.family;
	local.port = sqe->u.restore.local_port;
	peer.port = sqe->u.restore.peer_port;
	memcpy(local.addr, sqe->u.restore.local, sizeof(local.addr));
	memcpy(peer.addr, sqe->u.restore.peer, sizeof(peer.addr));
	from_jr_addr(&local, &r.local_ip, &r.local_port);
	from_jr_addr(&peer, &r.remote_ip, &r.remote_port);
	r.fin_rcvd = ck.flags & JR_CKPT_F_FIN_RCVD;
	r.snd_una = ck.snd_base + tx_cons;
	r.rcv_nxt = ck.rcv_base + rx_prod + (r.fin_rcvd ? 1 : 0);
	r.snd_wnd = ck.snd_wnd;
	r.rcv_wnd = rx_size(s) - (uint32_t)fill;
	r.mss = ck.mss;
	r.snd_wscale = ck.snd_wscale;
	r.rcv_wscale = ck.rcv_wscale;
	pcb = ns_tcp_restore(&r);
	if (!pcb)
		return -ENOBUFS;

	s->pcb.tcp = pcb;
	s->rx_prod = rx_prod;
	s->rx_acked = rx_cons;
	s->tx_cons = s->tx_queued = tx_cons;
	s->fin_rcvd = r.fin_rcvd;
	s->snd_base = ck.snd_base;
	s->rcv_base = ck.rcv_base;
	s->ckpt_seq = ck.seq;
	s->ckpt_on = true;
	s->state = NS_SOCK_CONNECTED;
	tcp_set_callbacks(s, pcb);
	tcp_apply_opts(s, pcb);
	s->front->eng->tcp_conns++;
	s->front->eng->tcp_restored++;
	tcp_ckpt_write(s);
	/*
	 * Everything from snd_una on is queued, and counted as sent once:
	 * the dead netserver may have sent, and the peer acknowledged, more
	 * than tx_cons says (acknowledgements it never processed), and lwIP
	 * takes an ACK only up to snd_nxt.  Sent again from snd_una as after
	 * a retransmission timeout (tcp_restore.c).
	 */
	tcp_tx_queue(s, false);
	ns_tcp_restore_resend(pcb);
	/* What its peer sent since the death, before we answer it. */
	ns_replay_release(pcb);
	if (s->pcb.tcp != pcb)
		return 0;	/* a held RST ended it: the socket has its event */
	tcp_ack_now(pcb);
	tcp_output(pcb);
	ns_tcp_restore_nudge_peer(pcb);
	return 0;
}

static bool ip_types_overlap(u8_t a, u8_t b)
{
	return a == b || a == IPADDR_TYPE_ANY || b == IPADDR_TYPE_ANY;
}

/*
 * Whether binding ip:port would overlap a listening socket.  Linux refuses
 * that bind even when both sockets set SO_REUSEADDR (a listener's port is
 * its own: inet_csk_bind_conflict()); lwIP's tcp_bind() lets SOF_REUSEADDR
 * on both through, so the check is made here.  A v6-only socket's
 * addresses do not overlap IPv4 ones.
 */
static bool tcp_listener_overlaps(const ip_addr_t *ip, u16_t port)
{
	struct tcp_pcb_listen *l;

	for (l = tcp_listen_pcbs.listen_pcbs; l; l = l->next) {
		if (l->local_port != port ||
		    !ip_types_overlap(IP_GET_TYPE(&l->local_ip), IP_GET_TYPE(ip)))
			continue;
		if (ip_addr_isany(&l->local_ip) || ip_addr_isany(ip) ||
		    ip_addr_cmp(&l->local_ip, ip))
			return true;
	}
	return false;
}

static int op_bind(struct ns_sock *s, const struct jr_sqe *sqe,
		   struct jr_sockaddr *bound)
{
	ip_addr_t ip;
	u16_t port;
	err_t err;

	if (s->state != NS_SOCK_OPEN)
		return -EINVAL;
	/* Linux: a socket is bound once. */
	if (s->type == SOCK_STREAM ? s->pcb.tcp->local_port : s->pcb.udp->local_port)
		return -EINVAL;
	from_jr_addr(&sqe->u.addr, &ip, &port);
	if (ip_addr_isany(&ip))
		sock_wildcard(s, &ip);
	if (!local_addr_ok(s->front, &ip))
		return -EADDRNOTAVAIL;
	if (s->type == SOCK_STREAM) {
		/* A replayed bind was granted before its listener existed. */
		if (port && ip_get_option(s->pcb.tcp, SOF_REUSEADDR) &&
		    !(sqe->flags & JR_SQE_F_REPLAY) &&
		    tcp_listener_overlaps(&ip, port))
			return -EADDRINUSE;
		err = port ? tcp_bind(s->pcb.tcp, &ip, port)
			   : tcp_bind_ephemeral(s->pcb.tcp, &ip);
		if (err == ERR_OK)
			to_jr_addr(&s->pcb.tcp->local_ip, s->pcb.tcp->local_port, bound);
	} else {
		err = port ? udp_bind(s->pcb.udp, &ip, port)
			   : udp_bind_ephemeral(s->pcb.udp, &ip);
		if (err == ERR_OK)
			to_jr_addr(&s->pcb.udp->local_ip, s->pcb.udp->local_port, bound);
	}
	if (err == ERR_OK) {
		ip_addr_copy(s->bind_ip, ip);
		s->bind_port = port;
		s->bound_addr = !ip_addr_isany(&ip);
		s->bound_port = port != 0;
	}
	return errno_from_err(err);
}

static int op_listen(struct ns_sock *s, const struct jr_sqe *sqe)
{
	struct tcp_pcb *lpcb;
	/* lwIP keeps the backlog in a u8; 0 still lets one connection in. */
	u8_t backlog = sqe->u.listen.backlog > 255 ? 255 :
		       sqe->u.listen.backlog ? (u8_t)sqe->u.listen.backlog : 1;
	err_t err = ERR_OK;

	if (s->type != SOCK_STREAM)
		return -EOPNOTSUPP;
	if (s->state == NS_SOCK_LISTEN) {
		tcp_backlog_set(s->pcb.tcp, backlog);
		return 0;
	}
	if (s->state != NS_SOCK_OPEN)
		return -EINVAL;
	/* Linux binds an unbound socket to an ephemeral port on listen(). */
	if (!s->pcb.tcp->local_port) {
		ip_addr_t any;

		sock_wildcard(s, &any);
		err = tcp_bind_ephemeral(s->pcb.tcp, &any);
		if (err != ERR_OK)
			return errno_from_err(err);
	}
	lpcb = tcp_listen_with_backlog_and_err(s->pcb.tcp, backlog, &err);
	if (!lpcb)
		return errno_from_err(err);
	s->pcb.tcp = lpcb;
	tcp_arg(lpcb, s);
	tcp_accept(lpcb, tcp_accept_cb);
	s->state = NS_SOCK_LISTEN;
	return 0;
}

/* ACCEPT: s is the child slot; it completes when a connection is given. */
static int op_accept(struct ns_front *front, struct ns_sock *s,
		     const struct jr_sqe *sqe)
{
	struct ns_sock *l = &front->socks[sqe->u.accept.listener_slot];
	struct ns_sock *e;

	if (l->state != NS_SOCK_LISTEN || l->gen != sqe->u.accept.listener_gen)
		return -EINVAL;
	if (s->state != NS_SOCK_FREE)
		return -EBUSY;
	sock_reset(s);
	s->gen = sqe->slot_gen;
	s->type = SOCK_STREAM;
	sock_rings_reset(s);
	s->state = NS_SOCK_ACCEPTING;
	s->pending_op = JR_OP_ACCEPT;
	s->pending_tag = sqe->tag;
	e = l->embryos_head;
	if (e) {
		l->embryos_head = e->next;
		if (!l->embryos_head)
			l->embryos_tail = NULL;
		l->nr_embryos--;
		accept_into(s, l, e->pcb.tcp, e->rx_pending, e->fin_pending);
		ns_embryo_put(front->eng, e);
		return 1;	/* replied */
	}
	s->listener = l;
	if (l->waiting_tail)
		l->waiting_tail->next = s;
	else
		l->waiting_head = s;
	l->waiting_tail = s;
	return 1;		/* replies when a connection arrives */
}

/* ------------------------------------------------- TCP: SYN retries */

#define NS_SYNCNT_DEFAULT	6	/* Linux's net.ipv4.tcp_syn_retries */
#define NS_SYN_RTO_INIT		(1000 / TCP_SLOW_INTERVAL)	/* 1 s, in ticks */
#define NS_SYN_RTO_MAX		(120000 / TCP_SLOW_INTERVAL)	/* Linux's TCP_RTO_MAX */

static unsigned int sock_syncnt(const struct ns_sock *s)
{
	return s->syncnt ? s->syncnt : NS_SYNCNT_DEFAULT;
}

/*
 * Every slow-timer tick (500 ms) while a connect is in SYN_SENT.  lwIP's
 * own limit (TCP_SYNMAXRTX) is global, with a fixed 3 s retransmission
 * timeout; this gives each socket Linux's behaviour instead: the SYN is
 * retransmitted after 1 s, then 2, 4, ... (RFC 6298 backoff), TCP_SYNCNT
 * times, and the connect fails with ETIMEDOUT when the last one's timeout
 * runs out unanswered.  The retransmissions lwIP made are moved from
 * pcb->nrtx into syn_rtx, so lwIP's global limit never applies; after the
 * last one lwIP's timer is pushed out of reach (no further SYN) and the
 * deadline is kept here.
 */
static err_t tcp_syn_poll_cb(void *arg, struct tcp_pcb *pcb)
{
	struct ns_sock *s = arg;
	unsigned int limit, rto;

	if (!s || pcb->state != SYN_SENT || s->state != NS_SOCK_CONNECTING) {
		tcp_poll(pcb, NULL, 0);
		return ERR_OK;
	}
	limit = sock_syncnt(s);
	if (pcb->nrtx) {
		unsigned int n = s->syn_rtx + pcb->nrtx;

		s->syn_rtx = n > 255 ? 255 : (uint8_t)n;
		pcb->nrtx = 0;
		rto = (unsigned int)NS_SYN_RTO_INIT << (s->syn_rtx < 8 ? s->syn_rtx : 8);
		if (rto > NS_SYN_RTO_MAX)
			rto = NS_SYN_RTO_MAX;
		if (s->syn_rtx >= limit) {
			/* Half a tick early, so that the tick at the deadline
			 * sees it whatever the clocks' jitter. */
			s->syn_deadline = sys_now() + rto * TCP_SLOW_INTERVAL -
					  TCP_SLOW_INTERVAL / 2;
			pcb->rto = 0x7fff;
		} else {
			pcb->rto = (s16_t)rto;
		}
	}
	if (s->syn_rtx < limit && pcb->rto == 0x7fff) {
		/* TCP_SYNCNT was raised after the last retransmission. */
		rto = (unsigned int)NS_SYN_RTO_INIT << (s->syn_rtx < 8 ? s->syn_rtx : 8);
		pcb->rto = (s16_t)(rto < NS_SYN_RTO_MAX ? rto : NS_SYN_RTO_MAX);
	}
	if (s->syn_rtx > limit ||	/* lwIP's immediate resend on a stray ACK */
	    (s->syn_rtx == limit && (int32_t)(sys_now() - s->syn_deadline) >= 0)) {
		/* The err callback completes the CONNECT: ERR_ABRT in
		 * CONNECTING is -ETIMEDOUT.  No RST for a SYN nobody answered. */
		tcp_abandon(pcb, 0);
		return ERR_ABRT;
	}
	return ERR_OK;
}

/* ---------------------------------------------------------- connect */

/* A fresh pcb with old's socket-level options (the common part, which a
 * listener's struct tcp_pcb_listen has too); TCP options are applied from
 * the socket by the caller. */
static struct tcp_pcb *tcp_pcb_like(const struct ns_sock *s, const struct tcp_pcb *old)
{
	struct tcp_pcb *pcb = tcp_new_ip_type(sock_ip_type(s));

	if (!pcb || !old)
		return pcb;
	/* What setsockopt() set survives a disconnect, as on Linux. */
	pcb->so_options = old->so_options;
	pcb->tos = old->tos;
	pcb->ttl = old->ttl;
	pcb->prio = old->prio;
	return pcb;
}

/*
 * A fresh pcb for a socket whose connection is over (a disconnect, a
 * failed connect): the owner's options, and what bind() chose (Linux keeps
 * a bound address and port; one that connect() picked is released).
 */
static int tcp_renew_pcb(struct ns_sock *s, struct tcp_pcb *pcb)
{
	ip_addr_t ip;
	err_t err;

	s->pcb.tcp = pcb;
	tcp_set_callbacks(s, pcb);
	tcp_apply_opts(s, pcb);
	s->state = NS_SOCK_OPEN;
	if (s->bound_port) {
		if (s->bound_addr)
			ip_addr_copy(ip, s->bind_ip);
		else
			sock_wildcard(s, &ip);
		err = tcp_bind(pcb, &ip, s->bind_port);
		if (err != ERR_OK)
			return errno_from_err(err);
	} else if (s->bound_addr) {
		ip_addr_copy(pcb->local_ip, s->bind_ip);
	}
	return 0;
}

/*
 * TCP connect(AF_UNSPEC), as Linux's tcp_disconnect(): a connection is
 * reset, a connect in progress fails (its CONNECT gets -ECONNRESET), a
 * listener stops listening (queued connections are reset, waiting ACCEPTs
 * fail); the socket is then unconnected and may connect or listen again.
 * Options are kept, and so is what bind() chose; an address or port that
 * connect() or an auto-bind picked is released.
 */
static int tcp_disconnect_sock(struct ns_sock *s, struct jr_sockaddr *local)
{
	struct tcp_pcb *old = s->pcb.tcp, *pcb;
	int err;

	switch (s->state) {
	case NS_SOCK_OPEN:
		to_jr_addr(&old->local_ip, old->local_port, local);
		return 0;
	case NS_SOCK_CONNECTING:
	case NS_SOCK_CONNECTED:
	case NS_SOCK_LISTEN:
	case NS_SOCK_DEAD:
		break;
	default:
		return -EINVAL;
	}
	pcb = tcp_pcb_like(s, old);
	if (!pcb)
		return -ENOBUFS;
	s->abort_pending = false;	/* done here, now */
	if (s->state == NS_SOCK_LISTEN) {
		listener_close(s);
	} else if (old) {
		if (s->state == NS_SOCK_CONNECTING)
			complete_pending(s, -ECONNRESET, NULL);
		tcp_uncount(s);
		tcp_detach(old);
		/* A reset for a synchronized connection, nothing for a SYN. */
		if (old->state == SYN_SENT)
			tcp_abandon(old, 0);
		else
			tcp_abort(old);
	}
	s->pcb.tcp = NULL;
	if (s->rx_pending) {
		pbuf_free(s->rx_pending);
		s->rx_pending = NULL;
	}
	s->fin_pending = s->shut_wr_pending = false;
	/* Unsent bytes are dropped, as Linux purges the write queue. */
	{
		uint32_t prod = jr_load_acquire(&slot_ctl(s)->tx_prod);

		if (jr_bytes_fill(prod, s->tx_cons, tx_size(s)) >= 0) {
			s->tx_cons = s->tx_queued = prod;
			jr_store_release(&slot_ctl(s)->tx_cons, prod);
		}
	}
	err = tcp_renew_pcb(s, pcb);
	if (err)
		return err;
	to_jr_addr(&pcb->local_ip, pcb->local_port, local);
	return 0;
}

/*
 * UDP connect(AF_UNSPEC), as Linux's udp_disconnect(): the association is
 * dissolved, and an address or port that bind() did not ask for is
 * released (a socket auto-bound by connect() or sendto() is unbound again).
 */
static int udp_disconnect_sock(struct ns_sock *s, struct jr_sockaddr *local)
{
	struct udp_pcb *pcb = s->pcb.udp;

	if (!pcb)
		return -EINVAL;
	udp_disconnect(pcb);
	if (s->bound_addr)
		ip_addr_copy(pcb->local_ip, s->bind_ip);
	else
		sock_wildcard(s, &pcb->local_ip);
	if (!s->bound_port && pcb->local_port) {
		/* lwIP cannot unbind a pcb: take a fresh, unbound one. */
		struct udp_pcb *fresh = udp_new_ip_type(sock_ip_type(s));

		if (fresh) {
			fresh->so_options = pcb->so_options;
			fresh->tos = pcb->tos;
			fresh->ttl = pcb->ttl;
			ip_addr_copy(fresh->local_ip, pcb->local_ip);
			udp_recv(fresh, udp_recv_cb, s);
			udp_remove(pcb);
			s->pcb.udp = pcb = fresh;
		}
	}
	to_jr_addr(&pcb->local_ip, pcb->local_port, local);
	return 0;
}

/*
 * UDP connect: the reply names the address datagrams will leave from, as
 * Linux fixes it at connect (the netif's address on the route, 127.0.0.1
 * for loopback), unless bind() chose one; and the port an auto-bind took.
 */
static int udp_connect_sock(struct ns_sock *s, const ip_addr_t *ip, u16_t port,
			    struct jr_sockaddr *local)
{
	struct udp_pcb *pcb = s->pcb.udp;
	ip_addr_t before;
	struct netif *nif;
	err_t err;

	if (!pcb)
		return -EINVAL;
	nif = ip_route(&pcb->local_ip, ip);
	if (!nif)
		return -ENETUNREACH;	/* Linux fails the connect itself */
	if (!pcb->local_port && udp_bind_ephemeral(pcb, &pcb->local_ip) != ERR_OK)
		return -EAGAIN;		/* Linux's auto-bind, out of ports */
	ip_addr_copy(before, pcb->local_ip);
	if (!s->bound_addr) {
		const ip_addr_t *src = ip_netif_get_local_ip(nif, ip);

		if (!src)
			return -EADDRNOTAVAIL;
		ip_addr_copy(pcb->local_ip, *src);
	}
	err = udp_connect(pcb, ip, port);
	if (err != ERR_OK) {
		ip_addr_copy(pcb->local_ip, before);
		return errno_from_err(err);
	}
	to_jr_addr(&pcb->local_ip, pcb->local_port, local);
	return 0;
}

static int op_connect(struct ns_sock *s, const struct jr_sqe *sqe,
		      struct jr_sockaddr *local)
{
	ip_addr_t ip;
	u16_t port;
	err_t err;

	if (sqe->u.addr.family == AF_UNSPEC)	/* validated: all zero */
		return s->type == SOCK_DGRAM ? udp_disconnect_sock(s, local)
					     : tcp_disconnect_sock(s, local);
	from_jr_addr(&sqe->u.addr, &ip, &port);
	dest_any_is_local(s, &ip);
	if (s->type == SOCK_DGRAM)
		return udp_connect_sock(s, &ip, port, local);
	if (s->state == NS_SOCK_CONNECTING)
		return -EALREADY;
	if (s->state == NS_SOCK_CONNECTED)
		return -EISCONN;
	if (s->state == NS_SOCK_DEAD && !s->pcb.tcp) {
		/* Linux lets a socket whose connect failed try again. */
		struct tcp_pcb *pcb = tcp_new_ip_type(sock_ip_type(s));
		int res;

		if (!pcb)
			return -ENOBUFS;
		res = tcp_renew_pcb(s, pcb);
		if (res)
			return res;
	}
	if (s->state != NS_SOCK_OPEN)
		return -EINVAL;
	/* Linux's connect() auto-bind runs out with EADDRNOTAVAIL. */
	if (!s->pcb.tcp->local_port &&
	    tcp_bind_ephemeral_to(s, &ip, port) != ERR_OK)
		return -EADDRNOTAVAIL;
	err = tcp_connect(s->pcb.tcp, &ip, port, tcp_connected_cb);
	if (err != ERR_OK)
		return errno_from_err(err);
	s->state = NS_SOCK_CONNECTING;
	s->pending_op = JR_OP_CONNECT;
	s->pending_tag = sqe->tag;
	s->syn_rtx = 0;
	s->pcb.tcp->rto = NS_SYN_RTO_INIT;
	tcp_poll(s->pcb.tcp, tcp_syn_poll_cb, 1);
	return 1;
}

static int op_shutdown(struct ns_sock *s, const struct jr_sqe *sqe)
{
	uint32_t how = sqe->u.shutdown.how;

	if (s->type == SOCK_DGRAM)
		return 0;
	if (s->state != NS_SOCK_CONNECTED)
		return s->state == NS_SOCK_DEAD ? 0 : -ENOTCONN;
	if (how == SHUT_WR || how == SHUT_RDWR) {
		/* After the bytes already in the tx ring. */
		s->shut_wr_pending = true;
		tcp_tx_drain(s);
	}
	return 0;
}

static int op_close(struct ns_sock *s, const struct jr_sqe *sqe)
{
	if (s->state == NS_SOCK_FREE)
		return -EBADF;
	/* Every request gets one reply: a pending one is cancelled first. */
	if (s->state == NS_SOCK_ACCEPTING && s->listener) {
		struct ns_sock *l = s->listener, **pp;

		for (pp = &l->waiting_head; *pp; pp = &(*pp)->next) {
			if (*pp == s) {
				*pp = s->next;
				break;
			}
		}
		l->waiting_tail = NULL;
		for (struct ns_sock *c = l->waiting_head; c; c = c->next)
			l->waiting_tail = c;
	}
	complete_pending(s, -ECANCELED, NULL);
	s->pending_op = JR_OP_CLOSE;
	s->pending_tag = sqe->tag;

	if (s->type == SOCK_DGRAM) {
		if (s->pcb.udp)
			udp_remove(s->pcb.udp);
		s->pcb.udp = NULL;
	} else if (s->state == NS_SOCK_LISTEN) {
		listener_close(s);
	} else if (s->pcb.tcp) {
		if (s->state == NS_SOCK_CONNECTED) {
			/*
			 * The owner tells us of its reads a quarter ring at a
			 * time; the last ones count now, or lwIP would take
			 * them for unread data and close with a RST, which
			 * Linux sends only when data was really left unread.
			 * A position that lies is just not counted here.
			 */
			tcp_rx_account(s);
			s->state = NS_SOCK_CLOSING;
			s->closing_abort = sqe->u.close.linger_on &&
					   !sqe->u.close.linger_sec;
			tcp_finish_close(s);
			return 1;
		}
		tcp_detach(s->pcb.tcp);
		if (s->state == NS_SOCK_OPEN && tcp_close(s->pcb.tcp) == ERR_OK)
			;
		else
			tcp_abort(s->pcb.tcp);
		s->pcb.tcp = NULL;
	}
	if (s->rx_pending)
		pbuf_free(s->rx_pending);
	reply(s->front, JR_OP_CLOSE, s->slot, sqe->tag, 0, NULL);
	sock_reset(s);
	return 1;
}

static u8_t *sock_so_options(struct ns_sock *s)
{
	if (s->type == SOCK_STREAM)
		return s->pcb.tcp ? &s->pcb.tcp->so_options : NULL;
	return s->pcb.udp ? &s->pcb.udp->so_options : NULL;
}

/*
 * Multicast options (validated: values in range, a group of the option's
 * family).  The kernel checked what Linux checks first (a group that is
 * not one, a second join, the limit); here the interface named must be
 * the port, and lwIP must have room for the group.
 */
static int op_setsockopt_mcast(struct ns_sock *s, const struct jr_sqe *sqe)
{
	uint32_t level = sqe->u.sockopt.level, name = sqe->u.sockopt.name;
	uint64_t v = sqe->u.sockopt.value;
	ip_addr_t g;
	u16_t port;

	if (jr_sockopt_has_addr(level, name))
		from_jr_addr(&sqe->u.sockopt.addr, &g, &port);
	switch (level << 16 | name) {
	case IPPROTO_IP << 16 | IP_MULTICAST_IF:
		return mc_names_port4(s, v) ? 0 : -EADDRNOTAVAIL;
	case IPPROTO_IPV6 << 16 | IPV6_MULTICAST_IF:
		return mc_names_port6(s, v) ? 0 : -ENODEV;
	case IPPROTO_IP << 16 | IP_MULTICAST_TTL:
		s->mc_ttl4 = (uint8_t)v;
		return 0;
	case IPPROTO_IPV6 << 16 | IPV6_MULTICAST_HOPS:
		s->mc_ttl6 = (uint8_t)v;
		return 0;
	case IPPROTO_IP << 16 | IP_MULTICAST_LOOP:
		s->mc_loop4 = v != 0;
		return 0;
	case IPPROTO_IPV6 << 16 | IPV6_MULTICAST_LOOP:
		s->mc_loop6 = v != 0;
		return 0;
	case IPPROTO_IP << 16 | IP_MULTICAST_ALL:
		s->mc_all4 = v != 0;
		return 0;
	case IPPROTO_IPV6 << 16 | IPV6_MULTICAST_ALL:
		s->mc_all6 = v != 0;
		return 0;
	case IPPROTO_IP << 16 | IP_ADD_MEMBERSHIP:
		return mc_names_port4(s, v) ? mc_join(s, &g) : -ENODEV;
	case IPPROTO_IPV6 << 16 | IPV6_ADD_MEMBERSHIP:
		return mc_names_port6(s, v) ? mc_join(s, &g) : -ENODEV;
	case IPPROTO_IP << 16 | IP_DROP_MEMBERSHIP:
	case IPPROTO_IPV6 << 16 | IPV6_DROP_MEMBERSHIP:
		return mc_leave(s, &g);
	}
	return -ENOPROTOOPT;
}

static int op_setsockopt(struct ns_sock *s, const struct jr_sqe *sqe)
{
	uint32_t level = sqe->u.sockopt.level, name = sqe->u.sockopt.name;
	uint64_t v = sqe->u.sockopt.value;
	u8_t *so = sock_so_options(s);
	u8_t flag = 0;

	if (jr_sockopt_is_mcast(level, name))
		return op_setsockopt_mcast(s, sqe);

	if (level == IPPROTO_TCP && name == TCP_SYNCNT && s->type == SOCK_STREAM) {
		/* Linux: 1..MAX_TCP_SYNCNT; kept by the socket, not the pcb,
		 * so it holds for every connect the socket makes. */
		if (!v || v > 127)
			return -EINVAL;
		s->syncnt = (uint8_t)v;
		return 0;
	}
	if (!so)
		return -EINVAL;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR:	flag = SOF_REUSEADDR; break;
		case SO_KEEPALIVE:	flag = SOF_KEEPALIVE; break;
		case SO_BROADCAST:	flag = SOF_BROADCAST; break;
		default:
			/* Buffer sizes are the slot's rings; linger is the
			 * owner's business at CLOSE. */
			return 0;
		}
		if (v)
			*so |= flag;
		else
			*so &= (u8_t)~flag;
		return 0;
	}
	if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) {
		/* Before bind only (the owner checks too): the pcb's type is
		 * what decides which families it matches. */
		if (s->family != AF_INET6 || s->state != NS_SOCK_OPEN ||
		    (s->type == SOCK_STREAM ? !s->pcb.tcp || s->pcb.tcp->local_port
					    : !s->pcb.udp || s->pcb.udp->local_port))
			return -EINVAL;
		s->v6only = v != 0;
		if (s->type == SOCK_STREAM) {
			IP_SET_TYPE_VAL(s->pcb.tcp->local_ip, sock_ip_type(s));
			IP_SET_TYPE_VAL(s->pcb.tcp->remote_ip, sock_ip_type(s));
		} else {
			IP_SET_TYPE_VAL(s->pcb.udp->local_ip, sock_ip_type(s));
			IP_SET_TYPE_VAL(s->pcb.udp->remote_ip, sock_ip_type(s));
		}
		return 0;
	}
	if (level == IPPROTO_IP || level == IPPROTO_IPV6) {
		uint8_t bit = 0;

		/* Control messages the owner wants: udp_meta() for each
		 * datagram once any is on. */
		switch (level << 16 | name) {
		case IPPROTO_IP << 16 | IP_PKTINFO:		bit = 1 << 0; break;
		case IPPROTO_IP << 16 | IP_RECVTOS:		bit = 1 << 1; break;
		case IPPROTO_IP << 16 | IP_RECVTTL:		bit = 1 << 2; break;
		case IPPROTO_IPV6 << 16 | IPV6_RECVPKTINFO:	bit = 1 << 3; break;
		case IPPROTO_IPV6 << 16 | IPV6_RECVTCLASS:	bit = 1 << 4; break;
		case IPPROTO_IPV6 << 16 | IPV6_RECVHOPLIMIT:	bit = 1 << 5; break;
		}
		if (bit) {
			s->recv_meta = v ? s->recv_meta | bit : s->recv_meta & (uint8_t)~bit;
			return 0;
		}
		/* lwIP has one traffic class and one hop limit per pcb, for
		 * both families. */
		switch (level << 16 | name) {
		case IPPROTO_IP << 16 | IP_TOS:
		case IPPROTO_IPV6 << 16 | IPV6_TCLASS:
			if (v > 0xff)
				return -EINVAL;
			s->tos = (uint8_t)v;
			break;
		case IPPROTO_IP << 16 | IP_TTL:
		case IPPROTO_IPV6 << 16 | IPV6_UNICAST_HOPS:
			/* IPv6 allows a hop limit of 0 (on-link only). */
			if (v > 255 || (v < 1 && name == IP_TTL && level == IPPROTO_IP))
				return -EINVAL;
			s->ttl = (uint8_t)v;
			break;
		default:
			return -ENOPROTOOPT;
		}
		if (s->type == SOCK_DGRAM) {
			if (s->pcb.udp) {
				s->pcb.udp->tos = s->tos;
				s->pcb.udp->ttl = s->ttl ? s->ttl : UDP_TTL;
			}
			return 0;
		}
		if (s->pcb.tcp && s->state != NS_SOCK_LISTEN)
			tcp_apply_opts(s, s->pcb.tcp);
		return 0;
	}
	if (s->type != SOCK_STREAM || !s->pcb.tcp)
		return -ENOPROTOOPT;
	switch (name) {
	case TCP_NODELAY:
		s->nodelay = v != 0;
		break;
	case TCP_MAXSEG:
		if (v > 32767)
			return -EINVAL;
		s->user_mss = (uint16_t)v;
		break;
	case TCP_CORK:
		s->cork = v != 0;
		break;
	case TCP_QUICKACK:
		if (v && s->state == NS_SOCK_CONNECTED) {
			tcp_ack_now(s->pcb.tcp);
			tcp_output(s->pcb.tcp);
		}
		return 0;
	case TCP_USER_TIMEOUT:
		if (v > INT32_MAX)
			return -EINVAL;
		s->user_timeout_ms = (uint32_t)v;
		break;
	case TCP_DEFER_ACCEPT:
		/* Seconds, as the owner rounded them; a listener's. */
		s->defer_accept_s = v > 3600 ? 3600 : (uint32_t)v;
		return 0;
	case TCP_KEEPIDLE:
		if (!v || v > 32767)
			return -EINVAL;
		s->keep_idle_ms = (uint32_t)v * 1000;
		break;
	case TCP_KEEPINTVL:
		if (!v || v > 32767)
			return -EINVAL;
		s->keep_intvl_ms = (uint32_t)v * 1000;
		break;
	case TCP_KEEPCNT:
		if (!v || v > 127)
			return -EINVAL;
		s->keep_cnt = (uint32_t)v;
		break;
	default:
		return -ENOPROTOOPT;
	}
	/* A listener's pcb is a struct tcp_pcb_listen, without these
	 * fields: its children get them when they are accepted. */
	if (s->state != NS_SOCK_LISTEN)
		tcp_apply_opts(s, s->pcb.tcp);
	/* Uncorked: what was held goes now. */
	if (name == TCP_CORK && !s->cork)
		tcp_tx_drain(s);
	return 0;
}

/* Linux's tcp_info states, from lwIP's. */
static uint8_t linux_tcp_state(enum tcp_state st)
{
	switch (st) {
	case SYN_SENT:		return 2;	/* TCP_SYN_SENT */
	case SYN_RCVD:		return 3;	/* TCP_SYN_RECV */
	case ESTABLISHED:	return 1;	/* TCP_ESTABLISHED */
	case FIN_WAIT_1:	return 4;
	case FIN_WAIT_2:	return 5;
	case TIME_WAIT:		return 6;
	case CLOSE_WAIT:	return 8;
	case LAST_ACK:		return 9;
	case LISTEN:		return 10;
	case CLOSING:		return 11;
	default:		return 7;	/* TCP_CLOSE */
	}
}

static unsigned int seg_count(const struct tcp_seg *seg)
{
	unsigned int n = 0;

	for (; seg; seg = seg->next)
		n++;
	return n;
}

/*
 * TCP_INFO from the pcb.  lwIP measures round trips in slow-timer ticks
 * (500 ms): rtt and rttvar are as coarse as that, and zero until the
 * first measurement.  It counts no retransmissions per connection beyond
 * the current run of timeouts (nrtx).
 */
static int tcp_info_of(const struct ns_sock *s, struct jr_tcp_info *ti)
{
	const struct tcp_pcb *pcb = s->pcb.tcp;

	if (!pcb || s->state == NS_SOCK_LISTEN)
		return -ENOTCONN;
	memset(ti, 0, sizeof(*ti));
	ti->state = linux_tcp_state(pcb->state);
	ti->ca_state = (pcb->flags & TF_INFR) ? 3 : pcb->nrtx ? 4 : 0;
	ti->retransmits = pcb->nrtx;
#if LWIP_WND_SCALE
	if (pcb->flags & TF_WND_SCALE) {
		ti->options |= 4;	/* TCPI_OPT_WSCALE */
		ti->wscale = (uint8_t)(pcb->snd_scale << 4 | pcb->rcv_scale);
	}
#endif
	ti->snd_mss = pcb->mss;
	ti->rto_us = (uint32_t)pcb->rto * TCP_SLOW_INTERVAL * 1000;
	if (pcb->sa >= 0 && pcb->sa != 0) {
		ti->rtt_us = (uint32_t)(pcb->sa >> 3) * TCP_SLOW_INTERVAL * 1000;
		ti->rttvar_us = (uint32_t)(pcb->sv >> 2) * TCP_SLOW_INTERVAL * 1000;
	}
	ti->snd_cwnd = pcb->cwnd;
	ti->snd_ssthresh = pcb->ssthresh;
	ti->snd_wnd = pcb->snd_wnd;
	ti->unacked = seg_count(pcb->unacked);
	return 0;
}

static int op_getsockopt(struct ns_sock *s, const struct jr_sqe *sqe, uint64_t *value)
{
	uint32_t level = sqe->u.sockopt.level, name = sqe->u.sockopt.name;
	u8_t *so = sock_so_options(s);

	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR: *value = so && (*so & SOF_REUSEADDR); return 0;
		case SO_KEEPALIVE: *value = so && (*so & SOF_KEEPALIVE); return 0;
		case SO_BROADCAST: *value = so && (*so & SOF_BROADCAST); return 0;
		case SO_RCVBUF:    *value = rx_size(s); return 0;
		case SO_SNDBUF:    *value = tx_size(s); return 0;
		default:	   return -ENOPROTOOPT;
		}
	}
	if (s->type == SOCK_STREAM && name == TCP_SYNCNT) {
		*value = sock_syncnt(s);
		return 0;
	}
	if (level != IPPROTO_TCP || s->type != SOCK_STREAM || !s->pcb.tcp)
		return -ENOPROTOOPT;
	switch (name) {
	case TCP_NODELAY:
		*value = s->nodelay;
		return 0;
	case TCP_KEEPIDLE:
		*value = (s->keep_idle_ms ? s->keep_idle_ms : TCP_KEEPIDLE_DEFAULT) / 1000;
		return 0;
	case TCP_KEEPINTVL:
		*value = (s->keep_intvl_ms ? s->keep_intvl_ms : TCP_KEEPINTVL_DEFAULT) / 1000;
		return 0;
	case TCP_KEEPCNT:
		*value = s->keep_cnt ? s->keep_cnt : TCP_KEEPCNT_DEFAULT;
		return 0;
	}
	return -ENOPROTOOPT;
}

static int op_getname(struct ns_sock *s, const struct jr_sqe *sqe,
		      struct jr_sockaddr *addr)
{
	bool peer = sqe->u.getname.peer;

	if (s->type == SOCK_STREAM) {
		struct tcp_pcb *pcb = s->pcb.tcp;

		if (!pcb)
			return -ENOTCONN;
		if (peer && s->state != NS_SOCK_CONNECTED)
			return -ENOTCONN;
		if (peer)
			to_jr_addr(&pcb->remote_ip, pcb->remote_port, addr);
		else
			to_jr_addr(&pcb->local_ip, pcb->local_port, addr);
		return 0;
	}
	if (!s->pcb.udp)
		return -ENOTCONN;
	if (peer) {
		if (!(s->pcb.udp->flags & UDP_FLAGS_CONNECTED))
			return -ENOTCONN;
		to_jr_addr(&s->pcb.udp->remote_ip, s->pcb.udp->remote_port, addr);
	} else {
		to_jr_addr(&s->pcb.udp->local_ip, s->pcb.udp->local_port, addr);
	}
	return 0;
}

static void dispatch(struct ns_front *front, const struct jr_sqe *sqe)
{
	struct ns_sock *s = sqe->op == JR_OP_REPLAY_DONE ? NULL : &front->socks[sqe->slot];
	struct jr_sockaddr addr = { 0 };
	struct jr_cqe cqe;
	uint64_t value = 0;
	int res;

	/* Requests for an existing socket must name its generation. */
	if (s && sqe->op != JR_OP_SOCKET && sqe->op != JR_OP_ACCEPT && sqe->op != JR_OP_RESTORE &&
	    (s->state == NS_SOCK_FREE || s->gen != sqe->slot_gen)) {
		if (jr_op_has_reply(sqe->op))
			reply(front, sqe->op, sqe->slot, sqe->tag, -EBADF, NULL);
		return;
	}

	switch (sqe->op) {
	case JR_OP_SOCKET:
		res = op_socket(s, sqe);
		break;
	case JR_OP_BIND:
		res = op_bind(s, sqe, &addr);
		break;
	case JR_OP_LISTEN:
		res = op_listen(s, sqe);
		break;
	case JR_OP_ACCEPT:
		res = op_accept(front, s, sqe);
		break;
	case JR_OP_CONNECT:
		res = op_connect(s, sqe, &addr);
		break;
	case JR_OP_SHUTDOWN:
		res = op_shutdown(s, sqe);
		break;
	case JR_OP_CLOSE:
		res = op_close(s, sqe);
		break;
	case JR_OP_SETSOCKOPT:
		res = op_setsockopt(s, sqe);
		break;
	case JR_OP_GETSOCKOPT:
		memset(&cqe, 0, sizeof(cqe));
		if (sqe->u.sockopt.level == IPPROTO_TCP && sqe->u.sockopt.name == TCP_INFO &&
		    s->type == SOCK_STREAM)
			res = tcp_info_of(s, &cqe.u.tcp_info);
		else
			res = op_getsockopt(s, sqe, &value);
		if (res == 0) {
			cqe.op = sqe->op;
			cqe.slot = sqe->slot;
			cqe.tag = sqe->tag;
			if (sqe->u.sockopt.name != TCP_INFO || sqe->u.sockopt.level != IPPROTO_TCP)
				cqe.u.sockopt.value = value;
			front_post(front, &cqe);
			return;
		}
		break;
	case JR_OP_GETNAME:
		res = op_getname(s, sqe, &addr);
		break;
	/*
	 * The data path: no reply, and nothing to do for a socket that has
	 * failed (DEAD), so a lying owner is told once (one RESET), however
	 * many TX and RX_SPACE it posts afterwards.
	 */
	case JR_OP_TX:
		front->eng->op_tx++;
		if (s->state == NS_SOCK_DEAD)
			return;
		if (s->type == SOCK_STREAM) {
			/* MSG_MORE corks until a send without it. */
			s->more = sqe->flags & JR_SQE_F_MORE;
			if (s->more && s->pcb.tcp && s->state == NS_SOCK_CONNECTED)
				tcp_poll(s->pcb.tcp, tcp_conn_poll_cb, 1);
			tcp_tx_drain(s);
		} else {
			udp_tx_drain(s);
		}
		return;
	case JR_OP_RX_SPACE:
		front->eng->op_rx_space++;
		if (s->type == SOCK_STREAM && (s->state == NS_SOCK_CONNECTED ||
					       s->state == NS_SOCK_CLOSING))
			tcp_rx_space(s);
		return;
	case JR_OP_REPLAY_DONE:
		front_replay_ends(front);
		res = 0;
		break;
	case JR_OP_RESTORE:
		res = op_restore(s, sqe);
		break;
	default:
		res = -EOPNOTSUPP;
		break;
	}
	ns_dbg("%s: op %u slot %u gen %u -> %d (state %d)", front->name, sqe->op,
	       sqe->slot, sqe->slot_gen, res, s ? (int)s->state : -1);
	if (res <= 0)
		reply(front, sqe->op, sqe->slot, sqe->tag, res,
		      jr_op_reply_has_addr(sqe->op) ? &addr : NULL);
}

/* ------------------------------------------------------- frontends */

/*
 * While a frontend is being replayed to, the connections it is about to
 * RESTORE are unknown to lwIP, and their peers go on sending: lwIP would
 * answer each segment with a RST and end the very connection the kernel
 * is handing over.  So until every such frontend has had its REPLAY_DONE,
 * segments that match no connection are dropped without one (the peer
 * sends them again; a SYN to a port with no listener yet is retried, not
 * refused).  That includes a segment that reaches its connection's
 * listener, replayed before it: an ACK there would get a RST as well.
 */
static unsigned int replays_pending;

void ns_front_replay_begins(struct ns_front *front)
{
	if (front->replaying)
		return;
	front->replaying = true;
	replays_pending++;
}

static void front_replay_ends(struct ns_front *front)
{
	if (!front->replaying)
		return;
	front->replaying = false;
	if (!--replays_pending)
		ns_replay_release_all();
}

bool ns_replays_pending(void)
{
	return replays_pending;
}

int ns_tcp_no_pcb_hook(const struct tcp_hdr *tcphdr)
{
	if (replays_pending)
		return 1;
	/* tcp_input() has the ports in host order by now. */
	ns_dbg("tcp: reset: a segment from port %u to port %u (flags %#x) matches no connection",
	       tcphdr->src, tcphdr->dest, TCPH_FLAGS(tcphdr));
	return 0;
}

/* The engine of this process (one per process), for lwIP's hooks. */
static struct ns_engine *hook_engine;

void ns_tcp_rto_hook(struct tcp_pcb *pcb)
{
	(void)pcb;
	if (hook_engine)
		hook_engine->tcp_timeouts++;
}

struct ns_front *ns_front_create(struct ns_engine *eng, const char *name)
{
	struct ns_front *front = calloc(1, sizeof(*front));

	if (!front)
		return NULL;
	front->eng = eng;
	front->name = name;
	hook_engine = eng;
	front->region.fd = front->region.sq_eventfd = front->region.cq_eventfd = -1;
	return front;
}

/* After the region is mapped: per-slot state and the overflow queue. */
int ns_front_setup(struct ns_front *front)
{
	uint32_t nr = front->region.params.nr_slots;

	front->socks = calloc(nr, sizeof(*front->socks));
	front->overflow_cap = front->region.params.sq_entries + nr;
	front->overflow = calloc(front->overflow_cap, sizeof(*front->overflow));
	if (!front->socks || !front->overflow)
		return -ENOMEM;
	for (uint32_t i = 0; i < nr; i++) {
		front->socks[i].front = front;
		front->socks[i].slot = i;
	}
	return 0;
}

unsigned int ns_front_serve(struct ns_front *front)
{
	struct jr_sqe sqe;
	int ready, i, err;

	if (front->dead)
		return 0;
	flush_overflow(front);
	if (front->overflow_nr)
		return 0;	/* back-pressure: answer before taking more */
	ready = jr_ring_ready(&front->region.sq);
	if (ready < 0) {
		ns_warn("%s: submission queue index out of range; dropping the frontend",
			front->name);
		front->dead = true;
		return 0;
	}
	if (ready > NS_SQ_BUDGET)
		ready = NS_SQ_BUDGET;
	for (i = 0; i < ready; i++) {
		/* Read once: validate and act on our own copy. */
		memcpy(&sqe, jr_ring_entry(&front->region.sq, front->region.sq.own + i),
		       sizeof(sqe));
		err = jr_validate_sqe(&sqe, &front->region.limits);
		if (err) {
			ns_warn("%s: malformed request (op %u slot %u): %s; dropping the frontend",
				front->name, sqe.op, sqe.slot, strerror(-err));
			front->dead = true;
			break;
		}
		dispatch(front, &sqe);
	}
	jr_ring_consume(&front->region.sq, (uint32_t)i);
	return (unsigned int)ready;
}

void ns_front_flush(struct ns_front *front)
{
	struct ns_sock *s = front->work, *next;

	front->work = NULL;
	for (; s; s = next) {
		next = s->work_next;
		s->on_work_list = false;
		s->work_next = NULL;
		if (s->abort_pending) {
			/* Its RESET is already posted; no RX after it. */
			s->ev_rx = s->ev_tx_space = false;
			sock_finish_abort(s);
			continue;
		}
		if (s->ev_rx) {
			event(s, JR_EV_RX, 0);
			s->ev_rx = false;
			front->eng->ev_rx++;
		}
		if (s->ev_tx_space) {
			event(s, JR_EV_TX_SPACE, 0);
			s->ev_tx_space = false;
			front->eng->ev_tx_space++;
		}
	}
	if (front->produced && !front->dead) {
		front->produced = false;
		if (!front->region.kernel) {
			if (jr_ring_needs_wakeup(&front->region.cq)) {
				front->region.stats->s_kicks++;
				ns_engine_kick(front->eng, front);
			}
		} else if (jr_ring_needs_wakeup(&front->region.cq)) {
			front->region.stats->s_kicks++;
			if (jr_server_kick(&front->region) < 0) {
				ns_warn("%s: kick failed; dropping the frontend", front->name);
				front->dead = true;
			}
		}
	}
}

/* Close every socket of a frontend (it went away, or we stop). */
void ns_front_shutdown(struct ns_front *front)
{
	uint32_t nr = front->socks ? front->region.params.nr_slots : 0;

	front->dead = true;
	for (uint32_t i = 0; i < nr; i++) {
		struct ns_sock *s = &front->socks[i];

		if (s->state == NS_SOCK_FREE)
			continue;
		if (s->type == SOCK_STREAM) {
			if (s->state == NS_SOCK_LISTEN) {
				listener_close(s);
			} else if (s->pcb.tcp) {
				tcp_detach(s->pcb.tcp);
				/* Established connections end with a reset:
				 * their data lived in this frontend's rings. */
				tcp_abort(s->pcb.tcp);
				if (s->state == NS_SOCK_CONNECTED ||
				    s->state == NS_SOCK_CLOSING)
					front->eng->tcp_conns--;
			}
		} else if (s->pcb.udp) {
			udp_remove(s->pcb.udp);
		}
		if (s->rx_pending)
			pbuf_free(s->rx_pending);
		sock_reset(s);
	}
}

void ns_front_destroy(struct ns_front *front)
{
	if (front->replaying)
		ns_replay_drop_all();
	front_replay_ends(front);
	ns_front_shutdown(front);
	jr_region_destroy(&front->region);
	free(front->socks);
	free(front->overflow);
	free(front);
}
