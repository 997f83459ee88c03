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

#include <stddef.h>
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
#define JR_MSG_TRUNC		0x20	/* recvfrom: datagram was longer */

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
/* Close every socket and detach. */
void jr_client_close(struct jr_client *c);

int jr_socket(struct jr_client *c, int type);		/* SOCK_STREAM/DGRAM */
int jr_bind(struct jr_client *c, int sd, const struct sockaddr_in *addr);
int jr_listen(struct jr_client *c, int sd, int backlog);
int jr_accept(struct jr_client *c, int sd, struct sockaddr_in *peer, int flags);
int jr_connect(struct jr_client *c, int sd, const struct sockaddr_in *addr);
ssize_t jr_send(struct jr_client *c, int sd, const void *buf, size_t len, int flags);
ssize_t jr_recv(struct jr_client *c, int sd, void *buf, size_t len, int flags);
ssize_t jr_sendto(struct jr_client *c, int sd, const void *buf, size_t len,
		  int flags, const struct sockaddr_in *to);
/* *flags_out gets JR_MSG_TRUNC when the datagram was cut. */
ssize_t jr_recvfrom(struct jr_client *c, int sd, void *buf, size_t len,
		    int flags, struct sockaddr_in *from, int *flags_out);
int jr_shutdown(struct jr_client *c, int sd, int how);
int jr_close(struct jr_client *c, int sd);
int jr_setsockopt(struct jr_client *c, int sd, int level, int name, int value);
int jr_getsockopt(struct jr_client *c, int sd, int level, int name, int *value);
int jr_getsockname(struct jr_client *c, int sd, struct sockaddr_in *addr);
int jr_getpeername(struct jr_client *c, int sd, struct sockaddr_in *addr);
/* Like poll(2); timeout_ms < 0 waits forever.  Returns ready count. */
int jr_poll(struct jr_client *c, struct jr_pollfd *fds, unsigned int nfds,
	    int timeout_ms);

/* Sockets currently open (for leak checks in tests). */
unsigned int jr_client_open_sockets(const struct jr_client *c);

#ifdef __cplusplus
}
#endif

#endif /* _JR_CLIENT_H */
