// SPDX-License-Identifier: GPL-2.0
/*
 * jr-netserver: the user-space network service behind AF_JOYRIDE.
 *
 * This first version only proves the build: it links lwIP (our NO_SYS=1
 * build), DPDK and liburing, and reports their versions.  The engine loop
 * arrives with the netserver issue (Documentation/netserver.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <liburing.h>
#include <rte_version.h>

#include "lwip/init.h"
#include "jr/libjr.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: jr-netserver [OPTION]...\n"
		"Serve AF_JOYRIDE sockets with lwIP on DPDK.\n"
		"\n"
		"  -h, --help       show this help and exit\n"
		"  -V, --version    show versions (netserver, ABI, lwIP, DPDK,\n"
		"                   liburing) and exit\n");
}

/* liburing 2.3 has no version call: report what the kernel's io_uring offers. */
static void print_uring(void)
{
	struct io_uring_probe *probe = io_uring_get_probe();

	if (!probe) {
		printf("liburing: io_uring unavailable here\n");
		return;
	}
	printf("liburing: io_uring with %u opcodes\n", probe->last_op + 1);
	io_uring_free_probe(probe);
}

static void version(void)
{
	printf("jr-netserver %s\n", JR_VERSION);
	printf("joyride ABI %u.%u\n", JR_ABI_MAJOR, JR_ABI_MINOR);
	printf("lwIP %s (NO_SYS=%d)\n", LWIP_VERSION_STRING, NO_SYS);
	printf("%s\n", rte_version());
	print_uring();
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",    no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "hV", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			version();
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	fprintf(stderr, "jr-netserver: the engine is not built yet; see --help\n");
	return EXIT_FAILURE;
}
