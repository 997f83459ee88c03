/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The calling process's capability sets, without libcap: jrctl decides
 * what it may hand over (it opens /dev/joyride with CAP_NET_ADMIN for an
 * unprivileged netserver), and the guest tests check what a child kept.
 */
#ifndef _JR_CAPS_H
#define _JR_CAPS_H

#include <errno.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

static inline int jr_get_caps(struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3])
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return syscall(SYS_capget, &hdr, data) ? -errno : 0;
}

/* Is cap in the effective set? */
static inline bool jr_has_cap(int cap)
{
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	return !jr_get_caps(data) &&
	       (data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap));
}

#endif
