// SPDX-License-Identifier: GPL-2.0
/*
 * static_client: a statically linked AF_INET client for the redirect's
 * compatibility tests (selftests/guest/compat/test_compat_static.sh).
 *
 *   static_client tcp IP PORT NBYTES   connect, send NBYTES, shut down the
 *                                      write side, print what comes back
 *   static_client udp IP PORT          send one datagram, print the reply
 *
 * It prints the socket's family (SO_DOMAIN) and its local and peer
 * addresses (getsockname, getpeername): a program sees 198.18.0.2, the
 * netserver's address, only when Joyride carries its socket.  Plain
 * socket(AF_INET, ...) calls into a static glibc: no libjr, no NSS, no
 * dynamic loader, nothing in user space that could divert them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "static_client: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void show(int fd)
{
	struct sockaddr_in local, peer;
	socklen_t len = sizeof(local);
	int domain = -1;
	socklen_t dlen = sizeof(domain);
	char l[INET_ADDRSTRLEN], p[INET_ADDRSTRLEN];

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen))
		die("getsockopt SO_DOMAIN");
	if (getsockname(fd, (struct sockaddr *)&local, &len))
		die("getsockname");
	len = sizeof(peer);
	if (getpeername(fd, (struct sockaddr *)&peer, &len))
		die("getpeername");
	printf("domain %d local %s:%u peer %s:%u\n", domain,
	       inet_ntop(AF_INET, &local.sin_addr, l, sizeof(l)), ntohs(local.sin_port),
	       inet_ntop(AF_INET, &peer.sin_addr, p, sizeof(p)), ntohs(peer.sin_port));
	fflush(stdout);
}

static int tcp(const struct sockaddr_in *to, long nbytes)
{
	char buf[65536];
	long sent = 0, got = 0;
	ssize_t n;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)))
		die("connect");
	show(fd);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i % 251);
	while (sent < nbytes) {
		size_t want = nbytes - sent < (long)sizeof(buf) ? (size_t)(nbytes - sent) : sizeof(buf);

		n = send(fd, buf, want, MSG_NOSIGNAL);
		if (n < 0)
			die("send");
		sent += n;
	}
	if (shutdown(fd, SHUT_WR))
		die("shutdown");
	printf("sent %ld bytes\nreply: ", sent);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		fwrite(buf, 1, n, stdout);
		got += n;
	}
	if (n < 0)
		die("recv");
	printf("\nreceived %ld bytes\n", got);
	close(fd);
	return 0;
}

static int udp(const struct sockaddr_in *to)
{
	static const char msg[] = "ping from static_client\n";
	char buf[2048];
	struct pollfd pfd;
	ssize_t n;
	int fd, tries;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)))
		die("connect");
	show(fd);
	/* The first datagram may wait for ARP on the way; resend a few times. */
	for (tries = 0; tries < 5; tries++) {
		if (send(fd, msg, sizeof(msg) - 1, 0) < 0)
			die("send");
		pfd.fd = fd;
		pfd.events = POLLIN;
		n = poll(&pfd, 1, 2000);
		if (n < 0)
			die("poll");
		if (n > 0)
			break;
	}
	if (tries == 5) {
		fprintf(stderr, "static_client: no UDP reply\n");
		return 1;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		die("recv");
	printf("reply: %.*s", (int)n, buf);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };

	if (argc < 4 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp")) ||
	    (!strcmp(argv[1], "tcp") && argc != 5)) {
		fprintf(stderr, "usage: static_client tcp IP PORT NBYTES | udp IP PORT\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1) {
		fprintf(stderr, "static_client: bad address %s\n", argv[2]);
		return 2;
	}
	to.sin_port = htons((unsigned short)atoi(argv[3]));
	if (!strcmp(argv[1], "tcp"))
		return tcp(&to, atol(argv[4]));
	return udp(&to);
}
