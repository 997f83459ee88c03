// SPDX-License-Identifier: GPL-2.0
/*
 * Rebuilding an established TCP connection in lwIP from a checkpoint
 * (JR_OP_RESTORE, Documentation/recovery.md "Connections").
 *
 * This is what Linux's TCP_REPAIR mode lets CRIU do: make a socket, give
 * it the 4-tuple and the sequence numbers, and switch it to ESTABLISHED
 * without a handshake.  lwIP has no such call, but everything it needs is
 * a field of struct tcp_pcb and the registration of the pcb on the active
 * list, which lwIP's own private header (tcp_priv.h) exports to its
 * applications; so no patch of lwIP is needed.
 *
 * What is set, and why:
 * - snd_una = snd_nxt = snd_lbb; then every byte from snd_una on is
 *   queued again from the tx ring and counted as sent once
 *   (ns_tcp_restore_resend()), since the peer may have acknowledged more
 *   than the dead netserver had processed: what it sends is
 *   retransmission from the peer's point of view.
 * - rcv_nxt: the next byte the ring will take.  Bytes the peer sent after
 *   it and that were not acknowledged come again.
 * - the peer's window as last seen; snd_wl1 behind rcv_nxt so that the
 *   peer's first ACK replaces it.
 * - window scaling as negotiated, our window = the rx ring's free space.
 * - congestion state afresh (RFC 5681's restart after idle: the path may
 *   have changed while nobody sent), RTO estimators afresh.
 * - then duplicate ACKs, so that the peer resends at once instead of at
 *   its retransmission timeout (ns_tcp_restore_nudge_peer()).
 */
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "netserver.h"

struct tcp_pcb *ns_tcp_restore(const struct ns_tcp_restore *r)
{
	struct tcp_pcb *pcb;
	tcpwnd_size_t wnd;

	pcb = tcp_new_ip_type(IP_GET_TYPE(&r->local_ip));
	if (!pcb)
		return NULL;
	ip_addr_copy(pcb->local_ip, r->local_ip);
	ip_addr_copy(pcb->remote_ip, r->remote_ip);
	pcb->local_port = r->local_port;
	pcb->remote_port = r->remote_port;

#if LWIP_WND_SCALE
	pcb->snd_scale = r->snd_wscale;
	pcb->rcv_scale = r->rcv_wscale;
	if (r->rcv_wscale || r->snd_wscale)
		tcp_set_flags(pcb, TF_WND_SCALE);
#endif
	pcb->mss = r->mss;

	pcb->rcv_nxt = r->rcv_nxt;
	wnd = r->rcv_wnd < TCP_WND_MAX(pcb) ? r->rcv_wnd : TCP_WND_MAX(pcb);
	pcb->rcv_wnd = pcb->rcv_ann_wnd = wnd;
	pcb->rcv_ann_right_edge = pcb->rcv_nxt + wnd;

	pcb->lastack = pcb->snd_nxt = pcb->snd_lbb = r->snd_una;
	pcb->snd_wnd = pcb->snd_wnd_max = r->snd_wnd;
	pcb->snd_wl1 = r->rcv_nxt - 1;
	pcb->snd_wl2 = r->snd_una;

	pcb->cwnd = (tcpwnd_size_t)LWIP_MIN(4U * pcb->mss, LWIP_MAX(2U * pcb->mss, 4380U));
	pcb->ssthresh = TCP_SND_BUF;
	pcb->rto = 1000 / TCP_SLOW_INTERVAL;

	pcb->state = r->fin_rcvd ? CLOSE_WAIT : ESTABLISHED;
	TCP_REG_ACTIVE(pcb);
	return pcb;
}

/*
 * After the tx ring's bytes were queued (unsent): count them as sent once,
 * as lwIP's own retransmission timeout leaves a pcb (tcp_rexmit_rto(): all
 * outstanding segments on the unsent list, TF_RTO up to the last byte,
 * snd_nxt where it was).  An ACK up to any of those bytes is then
 * accepted, and the segments it covers are freed from the unsent list;
 * the rest go out from snd_una.
 */
void ns_tcp_restore_resend(struct tcp_pcb *pcb)
{
	if (!pcb->unsent)
		return;
	pcb->snd_nxt = pcb->snd_lbb;
	pcb->rto_end = pcb->snd_lbb;
	tcp_set_flags(pcb, TF_RTO);
}

/*
 * Whatever the peer had in flight when the netserver died is gone: the
 * dead engine's queue held it, and nothing here had a pcb for it.  Left
 * alone, the peer resends at its retransmission timeout, hundreds of
 * milliseconds after the death (more once it has backed off).  What a
 * receiver says when a segment is missing is a duplicate ACK (RFC 5681,
 * 4.2), and three of them make the peer retransmit from the ACK at once
 * (fast retransmit, RFC 5681 3.2; Linux does it for a connection without
 * SACK, which lwIP does not offer).  The ACK that tcp_output() sent may
 * have updated the peer's window, which is not a duplicate: these
 * follow it with the same window.  A peer that has nothing in flight,
 * or whose timeout already fired, ignores them.
 */
void ns_tcp_restore_nudge_peer(struct tcp_pcb *pcb)
{
	for (int i = 0; i < NS_RESTORE_DUPACKS; i++)
		if (tcp_send_empty_ack(pcb) != ERR_OK)
			break;
}
