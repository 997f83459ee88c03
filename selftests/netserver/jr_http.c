// SPDX-License-Identifier: GPL-2.0
/*
 * jr-ns-http: the smallest HTTP/1.0 both ways, over the client library.
 *
 *   jr-ns-http serve --sock P --port PORT --bytes N --seed S --count K
 *		      [--ready FILE]
 *	answer K requests, one connection each, with a 200 whose body is
 *	bytes [0, N) of the deterministic stream; the request must be a GET
 *	with a complete header block.
 *   jr-ns-http get --sock P --url http://A.B.C.D:PORT/PATH
 *	fetch PATH, check the status is 200 and the body length matches
 *	Content-Length, and write the body to stdout.
 */
#include "nstest.h"

#include <getopt.h>

#define HDR_MAX		8192

struct opts {
	const char	*sock, *url, *ready;
	unsigned int	port, count;
	uint64_t	bytes, seed;
};

/* Read until the blank line that ends the header block; returns its length. */
static size_t read_header(struct jr_client *c, int sd, char *buf, size_t cap,
			  size_t *got)
{
	size_t len = 0;

	for (;;) {
		char *end;
		ssize_t n;

		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end) {
			*got = len;
			return (size_t)(end - buf) + 4;
		}
		if (len + 1 >= cap)
			ns_die("header block longer than %zu bytes", cap);
		n = jr_recv(c, sd, buf + len, cap - 1 - len, 0);
		if (n < 0)
			ns_die("recv of the header: %s", strerror((int)-n));
		if (n == 0)
			ns_die("end of file inside the header block (%zu bytes)", len);
		len += (size_t)n;
	}
}

static void serve(struct jr_client *c, const struct opts *o)
{
	static unsigned char body[64 * 1024];
	char req[HDR_MAX], hdr[256];
	int l = ns_jr_listen(c, o->port, 16);

	ns_ready(o->ready);
	for (unsigned int i = 0; i < o->count; i++) {
		struct sockaddr_in peer;
		size_t got;
		int sd = (int)NS_CHECK(jr_accept(c, l, &peer, 0));
		int hlen;

		read_header(c, sd, req, sizeof(req), &got);
		if (strncmp(req, "GET /", 5))
			ns_die("request %u is not a GET: %.40s", i, req);
		hlen = snprintf(hdr, sizeof(hdr),
				"HTTP/1.0 200 OK\r\n"
				"Server: jr-ns-http\r\n"
				"Content-Type: application/octet-stream\r\n"
				"Content-Length: %llu\r\n\r\n",
				(unsigned long long)o->bytes);
		if (ns_jr_send_all(c, sd, hdr, (size_t)hlen) < 0)
			ns_die("send of the response header failed");
		for (uint64_t off = 0; off < o->bytes; ) {
			size_t n = o->bytes - off < sizeof(body) ?
				   (size_t)(o->bytes - off) : sizeof(body);
			ssize_t r;

			ns_stream_fill(o->seed, off, body, n);
			r = ns_jr_send_all(c, sd, body, n);
			if (r < 0)
				ns_die("send of the body at %llu: %s",
				       (unsigned long long)off, strerror((int)-r));
			off += n;
		}
		/* HTTP/1.0 ends the body with the connection; close() sends
		 * the FIN after everything queued. */
		NS_CHECK(jr_close(c, sd));
		ns_note("served request %u from %s:%u", i, inet_ntoa(peer.sin_addr),
			ntohs(peer.sin_port));
	}
	NS_CHECK(jr_close(c, l));
}

static void get(struct jr_client *c, const struct opts *o)
{
	static char buf[64 * 1024];
	char hostport[64], req[512], hdr[HDR_MAX];
	const char *path, *cl;
	unsigned long long want, body = 0;
	struct sockaddr_in to;
	size_t hlen, got;
	int sd, status;

	if (strncmp(o->url, "http://", 7))
		ns_die("only http:// URLs: %s", o->url);
	path = strchr(o->url + 7, '/');
	if (!path)
		path = "/";
	snprintf(hostport, sizeof(hostport), "%.*s",
		 (int)(path - (o->url + 7)), o->url + 7);
	if (!strchr(hostport, ':'))
		strcat(hostport, ":80");
	to = ns_addr(hostport);
	sd = ns_jr_connect(c, &to);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n"
		 "User-Agent: jr-ns-http\r\n\r\n", path, hostport);
	if (ns_jr_send_all(c, sd, req, strlen(req)) < 0)
		ns_die("send of the request failed");

	hlen = read_header(c, sd, hdr, sizeof(hdr), &got);
	if (sscanf(hdr, "HTTP/1.%*d %d", &status) != 1 || status != 200)
		ns_die("status line is not 200: %.60s", hdr);
	cl = strcasestr(hdr, "\r\nContent-Length:");
	if (!cl || cl > hdr + hlen)
		ns_die("no Content-Length in the response");
	want = strtoull(cl + 17, NULL, 10);
	/* Bytes after the header block in the same read are body. */
	ns_write_all(STDOUT_FILENO, hdr + hlen, got - hlen);
	body = got - hlen;
	for (;;) {
		ssize_t n = jr_recv(c, sd, buf, sizeof(buf), 0);

		if (n < 0)
			ns_die("recv of the body at %llu: %s", body, strerror((int)-n));
		if (n == 0)
			break;
		ns_write_all(STDOUT_FILENO, buf, (size_t)n);
		body += (unsigned long long)n;
	}
	if (body != want)
		ns_die("body has %llu bytes, Content-Length says %llu", body, want);
	ns_note("fetched %s: %llu bytes", o->url, body);
	NS_CHECK(jr_close(c, sd));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sock", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 'S' },
		{ "count", required_argument, NULL, 'n' },
		{ "url", required_argument, NULL, 'u' },
		{ "ready", required_argument, NULL, 'r' },
		{ 0 }
	};
	struct opts o = { .port = 80, .count = 1, .bytes = 1000, .seed = 1 };
	struct jr_client *c;
	int opt;

	ns_prog = "jr-ns-http";
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': o.sock = optarg; break;
		case 'p': o.port = (unsigned int)ns_number(optarg); break;
		case 'b': o.bytes = ns_number(optarg); break;
		case 'S': o.seed = ns_number(optarg); break;
		case 'n': o.count = (unsigned int)ns_number(optarg); break;
		case 'u': o.url = optarg; break;
		case 'r': o.ready = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: jr-ns-http serve|get [options]\n");
		return 2;
	}
	c = ns_jr_open(o.sock);
	if (!strcmp(argv[optind], "serve")) {
		serve(c, &o);
	} else if (!strcmp(argv[optind], "get")) {
		if (!o.url)
			ns_die("get needs --url");
		get(c, &o);
	} else {
		ns_die("unknown mode '%s'", argv[optind]);
	}
	ns_jr_settle(c, 0, 10000, "every socket closed at the end");
	jr_client_close(c);
	return 0;
}
