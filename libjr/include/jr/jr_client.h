/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The libjr client library: sockets served by jr-netserver through a user
 * frontend, without the kernel module.  The calling process plays the
 * kernel's role (it owns the region), so these calls behave like their
 * Linux namesakes, with descriptors that are small integers private to one
 * struct jr_client and errors returned as -errno.
 *
 * One struct jr_client is used by one thread at a time.
 */
#ifndef _JR_CLIENT_H
#define _JR_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <netinet/in.h>

#ifdef __cplusplus
extern "C" {
#endif

struct jr_client;

/* Flags for jr_send/jr_recv (a subset of MSG_*, same meaning). */
#define JR_MSG_DONTWAIT		0x40	/* MSG_DONTWAIT */
#define JR_MSG_PEEK		0x02	/* MSG_PEEK */
#define JR_MSG_WAITALL		0x100	/* MSG_WAITALL */
#define JR_MSG_MORE		0x8000	/* MSG_MORE: jr_send holds the tail */
#define JR_MSG_TRUNC		0x20	/* MSG_TRUNC: out, the datagram was
					 * longer; in, return a datagram's
					 * real length, drop stream bytes */

/* Events for jr_poll (same values as POLL*). */
#define JR_POLLIN		0x001
#define JR_POLLOUT		0x004
#define JR_POLLERR		0x008
#define JR_POLLHUP		0x010
#define JR_POLLRDHUP		0x2000

struct jr_pollfd {
	int	sd;
	short	events;
	short	revents;
};

/* Connect to a netserver's --listen socket; 0 or -errno. */
int jr_client_open(const char *path, struct jr_client **out);
/*
 * JR_CLIENT_SHARED: the client's state lives in a MAP_SHARED mapping, so a
 * fork()ed child shares its sockets.  Callers then serialise every call
 * across both processes themselves (libjr-preload.so: a process-shared
 * mutex).
 */
#define JR_CLIENT_SHARED	0x1
int jr_client_open_flags(const char *path, unsigned int flags,
			 struct jr_client **out);
/* Close every socket and detach. */
void jr_client_close(struct jr_client *c);

/*
 * For callers that wait on their own (libjr-preload.so): fn(arg, sd) is
 * called for every completion or event naming socket sd (and for a
 * listener when an accepted connection is queued on it), from whichever
 * call consumed it.
 */
typedef void (*jr_client_notify_fn)(void *arg, int sd);
void jr_client_set_notify(struct jr_client *c, jr_client_notify_fn fn, void *arg);
/*
 * And fn(arg, sd) replaces the client's own sleep on the CQ doorbell while
 * a request on socket sd awaits its reply (sd < 0: the SQ is full).  It
 * returns once anything may have changed (0) or with -errno to give up.
 */
typedef int (*jr_client_wait_fn)(void *arg, int sd);
void jr_client_set_wait(struct jr_client *c, jr_client_wait_fn fn, void *arg);
/* Socket numbers run from 0 to this - 1. */
unsigned int jr_client_nr_slots(const struct jr_client *c);
/* The CQ doorbell eventfd and the hand-over connection (hangs up when the
 * netserver goes away). */
int jr_client_cq_fd(const struct jr_client *c);
int jr_client_conn_fd(const struct jr_client *c);
/* Consume what is on the CQ: count, or -EIO once the netserver misbehaved. */
int jr_client_process(struct jr_client *c);
/* Ask for the CQ doorbell before sleeping on it: false if completions
 * arrived meanwhile (process them instead).  finish after the sleep. */
bool jr_client_prepare_sleep(struct jr_client *c);
void jr_client_finish_sleep(struct jr_client *c);
bool jr_client_broken(const struct jr_client *c);
void jr_client_mark_broken(struct jr_client *c);
/* Wait (at most timeout_ms) until every CLOSE posted has its reply. */
int jr_client_drain_closes(struct jr_client *c, int timeout_ms);

int jr_socket(struct jr_client *c, int type);		/* SOCK_STREAM/DGRAM */
int jr_bind(struct jr_client *c, int sd, const struct sockaddr_in *addr);
int jr_listen(struct jr_client *c, int sd, int backlog);
int jr_accept(struct jr_client *c, int sd, struct sockaddr_in *peer, int flags);
int jr_connect(struct jr_client *c, int sd, const struct sockaddr_in *addr);
/* connect(AF_UNSPEC) on a datagram socket: the association is dissolved. */
int jr_disconnect(struct jr_client *c, int sd);
/* Non-blocking connect: -EINPROGRESS (then jr_connect_result(), or
 * JR_POLLOUT from jr_poll), -EALREADY, -EISCONN or another -errno. */
int jr_connect_start(struct jr_client *c, int sd, const struct sockaddr_in *addr);
/* 0 connected, -EINPROGRESS still connecting, or why it failed. */
int jr_connect_result(struct jr_client *c, int sd);
ssize_t jr_send(struct jr_client *c, int sd, const void *buf, size_t len, int flags);
ssize_t jr_recv(struct jr_client *c, int sd, void *buf, size_t len, int flags);
ssize_t jr_sendto(struct jr_client *c, int sd, const void *buf, size_t len,
		  int flags, const struct sockaddr_in *to);
/* *flags_out gets JR_MSG_TRUNC when the datagram was cut. */
ssize_t jr_recvfrom(struct jr_client *c, int sd, void *buf, size_t len,
		    int flags, struct sockaddr_in *from, int *flags_out);
/* And what the IP header said, if the socket asked (IP_PKTINFO,
 * IP_RECVTOS, IP_RECVTTL); meta->dst.family 0 if the record has none. */
struct jr_dgram_meta;
ssize_t jr_recvfrom_meta(struct jr_client *c, int sd, void *buf, size_t len,
			 int flags, struct sockaddr_in *from, int *flags_out,
			 struct jr_dgram_meta *meta);
int jr_shutdown(struct jr_client *c, int sd, int how);
int jr_close(struct jr_client *c, int sd);
/* abort: close as SO_LINGER {1, 0} does, with a reset to the peer. */
int jr_close_abort(struct jr_client *c, int sd, bool abort);
int jr_setsockopt(struct jr_client *c, int sd, int level, int name, int value);
int jr_getsockopt(struct jr_client *c, int sd, int level, int name, int *value);
/* A multicast option (IP_MULTICAST_IF, IP_ADD/DROP_MEMBERSHIP): value as
 * the uapi's u.sockopt.value has it, group for memberships (else NULL). */
int jr_setsockopt_group(struct jr_client *c, int sd, int level, int name, uint64_t value,
			const struct in_addr *group);
int jr_getsockname(struct jr_client *c, int sd, struct sockaddr_in *addr);
struct jr_tcp_info;
/* The netserver's view of a TCP connection (GETSOCKOPT TCP_INFO). */
int jr_tcp_info(struct jr_client *c, int sd, struct jr_tcp_info *info);
/* Bytes the peer acknowledged and bytes received, for TCP_INFO. */
int jr_byte_counts(struct jr_client *c, int sd, uint64_t *acked, uint64_t *received);
int jr_getpeername(struct jr_client *c, int sd, struct sockaddr_in *addr);
/* Like poll(2); timeout_ms < 0 waits forever.  Returns ready count. */
int jr_poll(struct jr_client *c, struct jr_pollfd *fds, unsigned int nfds,
	    int timeout_ms);

/* Bytes waiting in a socket's receive ring (FIONREAD), or -errno. */
int jr_rx_avail(struct jr_client *c, int sd);
/* A datagram socket's next payload length (its FIONREAD), 0 if none. */
int jr_next_dgram_len(struct jr_client *c, int sd);
/* Bytes sent and not yet acknowledged (SIOCOUTQ), or -errno. */
int jr_tx_unacked(struct jr_client *c, int sd);
/* SOCK_STREAM or SOCK_DGRAM, or -EBADF. */
int jr_sock_type(struct jr_client *c, int sd);
bool jr_sock_listening(struct jr_client *c, int sd);
bool jr_sock_connected(struct jr_client *c, int sd);

/* Sockets currently open (for leak checks in tests). */
unsigned int jr_client_open_sockets(const struct jr_client *c);

#ifdef __cplusplus
}
#endif

#endif /* _JR_CLIENT_H */
