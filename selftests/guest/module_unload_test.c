// SPDX-License-Identifier: GPL-2.0
/*
 * Module life: joyride.ko cannot be unloaded while a netserver is attached
 * or a socket exists; once both are gone it unloads cleanly, the family
 * disappears (EAFNOSUPPORT, as before insmod), and it loads again.
 * Needs JR_BUILD_DIR (set by tools/jr-vm) to find joyride.ko.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <pthread.h>
#include <time.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "jr/libjr.h"
#include "serve_one.h"

static int unload(void)
{
	return syscall(SYS_delete_module, "joyride", O_NONBLOCK);
}

static int load(void)
{
	const char *build = getenv("JR_BUILD_DIR");
	char path[4096];
	int fd, ret;

	if (!build)
		return -1;
	snprintf(path, sizeof(path), "%s/kmod/joyride.ko", build);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

TEST(unload_refused_while_in_use_then_clean)
{
	struct jr_attach req;
	struct jr_region r;
	struct stat st;
	int s;

	ASSERT_NE(NULL, getenv("JR_BUILD_DIR"));

	/* An attached netserver pins the module. */
	jr_attach_defaults(&req);
	ASSERT_EQ(0, jr_attach_kernel(NULL, &req, &r));
	errno = 0;
	EXPECT_EQ(-1, unload());
	EXPECT_TRUE(errno == EBUSY || errno == EWOULDBLOCK);

	/* So does a socket, after the netserver has gone (a UDP socket
	 * survives it, waiting for the next one). */
	struct socket_call call = { .type = SOCK_DGRAM };
	struct jr_sqe sqe;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, call_socket, &call));
	ASSERT_EQ(0, serve_one(&r, JR_OP_SOCKET, 0, &sqe));
	pthread_join(t, NULL);
	s = call.fd;
	ASSERT_LE(0, s);
	jr_region_destroy(&r);
	errno = 0;
	EXPECT_EQ(-1, unload());
	EXPECT_TRUE(errno == EBUSY || errno == EWOULDBLOCK);

	close(s);
	ASSERT_EQ(0, unload());

	/* Gone: as before insmod. */
	errno = 0;
	EXPECT_EQ(-1, socket(AF_JOYRIDE, SOCK_STREAM, 0));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	EXPECT_EQ(-1, stat(JR_DEVICE_PATH, &st));

	/* And back: a fresh device, no netserver yet. */
	ASSERT_EQ(0, load());
	EXPECT_EQ(0, stat(JR_DEVICE_PATH, &st));
	errno = 0;
	EXPECT_EQ(-1, socket(AF_JOYRIDE, SOCK_STREAM, 0));
	EXPECT_EQ(ENETDOWN, errno);
}

TEST_HARNESS_MAIN
