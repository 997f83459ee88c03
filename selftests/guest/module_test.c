// SPDX-License-Identifier: GPL-2.0
/*
 * joyride.ko as loaded, before any netserver: the family is registered,
 * /dev/joyride exists as documented, and the attach ioctl hands out a
 * region laid out as the ABI says.  Runs in the guest with the module
 * loaded (tools/jr-vm run -- selftests/.../module_test).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>
#include <time.h>

#include "kselftest_harness.h"
#include "jr/libjr.h"
#include "serve_one.h"

TEST(socket_without_netserver_is_enetdown)
{
	int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_STREAM | SOCK_NONBLOCK,
			SOCK_DGRAM | SOCK_CLOEXEC };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, socket(AF_JOYRIDE, types[i], 0));
		EXPECT_EQ(ENETDOWN, errno);
	}
}

/* Type and protocol are checked first, with inet_create()'s errno. */
TEST(socket_bad_type_or_protocol)
{
	errno = 0;
	EXPECT_EQ(-1, socket(AF_JOYRIDE, SOCK_RAW, 0));
	EXPECT_EQ(ESOCKTNOSUPPORT, errno);
	errno = 0;
	EXPECT_EQ(-1, socket(AF_JOYRIDE, SOCK_STREAM, IPPROTO_UDP));
	EXPECT_EQ(EPROTONOSUPPORT, errno);
	errno = 0;
	EXPECT_EQ(-1, socket(AF_JOYRIDE, SOCK_DGRAM, IPPROTO_TCP));
	EXPECT_EQ(EPROTONOSUPPORT, errno);
	/* The same answers as the Linux stack gives for these. */
	errno = 0;
	EXPECT_EQ(-1, socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	EXPECT_EQ(EPROTONOSUPPORT, errno);
}

TEST(device_node_owner_and_mode)
{
	struct stat st;

	ASSERT_EQ(0, stat(JR_DEVICE_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0660, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
}

TEST(attach_grants_region_and_rejects_second)
{
	struct jr_attach req, again;
	struct jr_region r;
	int fd2;

	jr_attach_defaults(&req);
	req.features |= 1ULL << 63;		/* unknown: must be masked */
	ASSERT_EQ(0, jr_attach_kernel(NULL, &req, &r));
	EXPECT_EQ(JR_ABI_MAJOR, req.abi_major);
	EXPECT_EQ(0, req.features & (1ULL << 63));
	EXPECT_TRUE(req.features & JR_F_TCP);
	EXPECT_EQ(JR_REGION_MAGIC, r.hdr->magic);
	EXPECT_EQ(JR_STATE_LIVE, r.hdr->state);
	EXPECT_EQ(req.epoch, r.hdr->epoch);
	EXPECT_EQ(0, memcmp(&req.layout, &r.hdr->layout, sizeof(req.layout)));
	/* The kernel consumes the CQ only when kicked. */
	EXPECT_TRUE(r.cq.ctl->cons_flags & JR_RING_NEED_WAKEUP);

	/* One netserver at a time. */
	fd2 = open(JR_DEVICE_PATH, O_RDWR);
	ASSERT_LE(0, fd2);
	jr_attach_defaults(&again);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd2, JR_IOC_ATTACH, &again));
	EXPECT_EQ(EBUSY, errno);
	close(fd2);

	jr_region_destroy(&r);
}

/*
 * With a netserver attached, socket() is a SOCKET request carrying the
 * type, a slot and a tag; its reply's result is what socket() returns, and
 * close() sends CLOSE for the same slot.
 */
TEST(socket_is_a_request_to_the_netserver)
{
	struct socket_call call = { .type = SOCK_DGRAM };
	struct jr_attach req;
	struct jr_region r;
	struct jr_sqe sqe;
	pthread_t t;

	jr_attach_defaults(&req);
	ASSERT_EQ(0, jr_attach_kernel(NULL, &req, &r));

	ASSERT_EQ(0, pthread_create(&t, NULL, call_socket, &call));
	ASSERT_EQ(0, serve_one(&r, JR_OP_SOCKET, 0, &sqe));
	pthread_join(t, NULL);
	ASSERT_LE(0, call.fd);
	EXPECT_EQ(SOCK_DGRAM, sqe.u.socket.type);
	EXPECT_EQ(AF_INET, sqe.u.socket.family);
	EXPECT_EQ(IPPROTO_UDP, sqe.u.socket.protocol);
	EXPECT_NE(0, sqe.tag);
	EXPECT_NE(0, sqe.slot_gen);
	EXPECT_EQ(0, jr_validate_sqe(&sqe, &r.limits));

	/* close() does not wait: the CLOSE request is posted at once. */
	uint32_t slot = sqe.slot;

	close(call.fd);
	ASSERT_EQ(0, serve_one(&r, JR_OP_CLOSE, 0, &sqe));
	EXPECT_EQ(slot, sqe.slot);

	/* The netserver's answer is what socket() returns. */
	call.type = SOCK_STREAM;
	ASSERT_EQ(0, pthread_create(&t, NULL, call_socket, &call));
	ASSERT_EQ(0, serve_one(&r, JR_OP_SOCKET, -ENOBUFS, &sqe));
	pthread_join(t, NULL);
	EXPECT_EQ(-1, call.fd);
	EXPECT_EQ(ENOBUFS, call.err);
	jr_region_destroy(&r);
}

TEST(attach_rejects_bad_requests)
{
	struct jr_attach req;
	int fd = open(JR_DEVICE_PATH, O_RDWR);

	ASSERT_LE(0, fd);
	jr_attach_defaults(&req);
	req.abi_major = JR_ABI_MAJOR + 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, JR_IOC_ATTACH, &req));
	EXPECT_EQ(EPROTONOSUPPORT, errno);

	jr_attach_defaults(&req);
	req.reserved[2] = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, JR_IOC_ATTACH, &req));
	EXPECT_EQ(EINVAL, errno);

	/* Kick and mmap before attach. */
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, JR_IOC_KICK));
	EXPECT_EQ(ENOTCONN, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0));
	EXPECT_EQ(ENOTCONN, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, _IO(JR_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

/*
 * A hostile CQ: garbage entries and a lying producer index are counted or
 * refused, never trusted.
 */
TEST(kick_survives_garbage_cq)
{
	struct jr_attach req;
	struct jr_region r;
	struct jr_cqe cqe;

	jr_attach_defaults(&req);
	ASSERT_EQ(0, jr_attach_kernel(NULL, &req, &r));

	memset(&cqe, 0xa5, sizeof(cqe));
	ASSERT_EQ(0, jr_server_post(&r, &cqe));
	EXPECT_EQ(0, ioctl(r.fd, JR_IOC_KICK));
	EXPECT_EQ(1, r.stats->k_bad_entries);
	EXPECT_EQ(1, r.stats->k_cqes);

	/* A producer index claiming more than the ring holds. */
	r.cq.ctl->prod += r.params.cq_entries * 2;
	errno = 0;
	EXPECT_EQ(-1, ioctl(r.fd, JR_IOC_KICK));
	EXPECT_EQ(EIO, errno);
	jr_region_destroy(&r);
}

/*
 * The region's size is bounded by the module parameter max_region_mb
 * (4096 by default): 4096 slots of 1 MiB rings each way would be 8 GiB.
 * The kernel says E2BIG, and its log names the parameter.
 */
TEST(attach_beyond_max_region_mb_is_e2big)
{
	struct jr_attach req;
	struct jr_region r;

	jr_attach_defaults(&req);
	req.nr_slots = 4096;
	req.rx_buf_size = req.tx_buf_size = 1U << 20;
	EXPECT_EQ(-E2BIG, jr_attach_kernel(NULL, &req, &r));
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

#define CGROUP_ROOT	"/sys/fs/cgroup"
#define CGROUP_TEST	CGROUP_ROOT "/joyride-attach-test"

/*
 * The region is charged to the memory cgroup of the process that
 * attaches: in a cgroup limited to 64 MiB, a 256 MiB region cannot be had
 * (ENOMEM), where outside it the same attach succeeds.  Repeated attaches
 * cannot escape the netserver's limit.
 */
TEST(region_is_charged_to_the_attaching_cgroup)
{
	struct jr_attach req;
	struct jr_region r;
	int status, err;
	pid_t child;

	if (access(CGROUP_ROOT "/cgroup.controllers", F_OK))
		mount("none", CGROUP_ROOT, "cgroup2", 0, NULL);
	if (write_file(CGROUP_ROOT "/cgroup.subtree_control", "+memory"))
		SKIP(return, "no cgroup v2 memory controller in this guest");
	rmdir(CGROUP_TEST);
	ASSERT_EQ(0, mkdir(CGROUP_TEST, 0755));
	ASSERT_EQ(0, write_file(CGROUP_TEST "/memory.max", "67108864"));

	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		char pid[32];

		snprintf(pid, sizeof(pid), "%d", getpid());
		if (write_file(CGROUP_TEST "/cgroup.procs", pid))
			_exit(100);
		jr_attach_defaults(&req);
		req.nr_slots = 512;
		req.rx_buf_size = req.tx_buf_size = 256 * 1024;	/* 256 MiB */
		err = jr_attach_kernel(NULL, &req, &r);
		if (!err)
			jr_region_destroy(&r);
		_exit(-err);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(ENOMEM, WEXITSTATUS(status));
	EXPECT_EQ(0, rmdir(CGROUP_TEST));

	/* Outside the limit, the same region is granted. */
	jr_attach_defaults(&req);
	req.nr_slots = 512;
	req.rx_buf_size = req.tx_buf_size = 256 * 1024;
	ASSERT_EQ(0, jr_attach_kernel(NULL, &req, &r));
	jr_region_destroy(&r);
}

TEST_HARNESS_MAIN
