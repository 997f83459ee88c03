/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * struct sockaddr_in <-> struct jr_sockaddr, for the two owners of a
 * region (joyride.ko and the client library), which take sockaddr_in from
 * applications.  IPv4 only, as the ABI's addresses are today.
 */
#ifndef _JR_SOCKADDR_H
#define _JR_SOCKADDR_H

#include <linux/joyride.h>

#ifdef __KERNEL__
#include <linux/in.h>
#include <linux/socket.h>
#include <linux/string.h>
#else
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

static inline void jr_sockaddr_from_sin(const struct sockaddr_in *sin,
					struct jr_sockaddr *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->family = AF_INET;
	sa->port = sin->sin_port;
	memcpy(sa->addr, &sin->sin_addr, 4);
}

static inline void jr_sockaddr_to_sin(const struct jr_sockaddr *sa,
				      struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = sa->port;
	memcpy(&sin->sin_addr, sa->addr, 4);
}

#endif /* _JR_SOCKADDR_H */
