/* SPDX-License-Identifier: GPL-2.0 */
/* lwIP port for jr-netserver: x86-64 Linux user space. */
#ifndef JR_LWIP_ARCH_CC_H
#define JR_LWIP_ARCH_CC_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>	/* struct timeval for lwIP's headers */

#define LWIP_TIMEVAL_PRIVATE	0
#define LWIP_ERRNO_STDINCLUDE	1
#define LWIP_RAND()		((u32_t)random())

#define LWIP_PLATFORM_DIAG(x)	do { printf x; } while (0)
/* An lwIP assertion is a netserver bug: stop, a supervisor restarts us. */
#define LWIP_PLATFORM_ASSERT(x) \
	do { \
		fprintf(stderr, "lwIP assertion \"%s\" failed at %s:%d\n", \
			x, __FILE__, __LINE__); \
		abort(); \
	} while (0)

#endif /* JR_LWIP_ARCH_CC_H */
