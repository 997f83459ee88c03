// SPDX-License-Identifier: GPL-2.0
//
// compat_go: a Go program for the redirect's compatibility tests
// (test_compat_go.sh, test_compat_go_dual_stack.sh).  Built with CGO_ENABLED=0, it is static and makes
// its system calls itself (no libc): non-blocking sockets, connect then
// SO_ERROR, epoll through Go's network poller, accept4.
//
//	compat_go client IP:PORT NBYTES  dial TCP, send NBYTES, close the write
//	                                 side, print the reply
//	compat_go udp IP:PORT            one datagram, print the reply
//	compat_go server PORT NBYTES     listen on tcp4 0.0.0.0:PORT, accept one
//	                                 connection, read until EOF, reply with
//	                                 the count, check it is NBYTES
//	compat_go dualserver PORT NBYTES N
//	                                 listen on "tcp" ":PORT", Go's default
//	                                 ([::], dual stack, where the system
//	                                 has IPv4-mapped addresses), accept N
//	                                 connections one after the other; for
//	                                 each read until EOF, reply with the
//	                                 count and the SHA-256 of the bytes,
//	                                 check the count is NBYTES
//
// It prints its sockets' local and remote addresses (getsockname,
// getpeername): 198.18.0.2 locally means Joyride carried the socket.
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "compat_go: "+format+"\n", args...)
	os.Exit(1)
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func client(addr string, nbytes int) {
	c, err := net.DialTimeout("tcp", addr, 20*time.Second)
	if err != nil {
		fail("dial %s: %v", addr, err)
	}
	tc := c.(*net.TCPConn)
	fmt.Printf("tcp local %v remote %v\n", c.LocalAddr(), c.RemoteAddr())
	buf := pattern(65536)
	sent := 0
	for sent < nbytes {
		n := nbytes - sent
		if n > len(buf) {
			n = len(buf)
		}
		w, err := tc.Write(buf[:n])
		if err != nil {
			fail("write: %v", err)
		}
		sent += w
	}
	if err := tc.CloseWrite(); err != nil {
		fail("CloseWrite: %v", err)
	}
	reply, err := io.ReadAll(tc)
	if err != nil {
		fail("read: %v", err)
	}
	tc.Close()
	fmt.Printf("sent %d bytes\nreply: %s\n", sent, reply)
}

func udp(addr string) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		fail("dial udp %s: %v", addr, err)
	}
	fmt.Printf("udp local %v remote %v\n", c.LocalAddr(), c.RemoteAddr())
	buf := make([]byte, 2048)
	// The first datagram may wait for ARP; resend a few times.
	for try := 0; try < 5; try++ {
		if _, err := c.Write([]byte("ping from compat_go\n")); err != nil {
			fail("write: %v", err)
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(buf)
		if err == nil {
			fmt.Printf("reply: %s", buf[:n])
			return
		}
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			fail("read: %v", err)
		}
	}
	fail("no UDP reply")
}

func server(port string, nbytes int) {
	// "tcp4": Go's "tcp" listener on a wildcard address is an AF_INET6
	// dual-stack socket, which the redirect (AF_INET only) leaves to Linux.
	l, err := net.Listen("tcp4", "0.0.0.0:"+port)
	if err != nil {
		fail("listen: %v", err)
	}
	fmt.Printf("listening on %v\n", l.Addr())
	c, err := l.Accept()
	if err != nil {
		fail("accept: %v", err)
	}
	fmt.Printf("accepted local %v remote %v\n", c.LocalAddr(), c.RemoteAddr())
	n, err := io.Copy(io.Discard, c)
	if err != nil {
		fail("read: %v", err)
	}
	fmt.Fprintf(c, "%d\n", n)
	c.Close()
	l.Close()
	fmt.Printf("received %d bytes\n", n)
	if int(n) != nbytes {
		fail("received %d bytes, expected %d", n, nbytes)
	}
}

func dualServer(port string, nbytes, count int) {
	l, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fail("listen: %v", err)
	}
	fmt.Printf("listening on %v\n", l.Addr())
	for i := 0; i < count; i++ {
		c, err := l.Accept()
		if err != nil {
			fail("accept: %v", err)
		}
		fmt.Printf("accepted local %v remote %v\n", c.LocalAddr(), c.RemoteAddr())
		h := sha256.New()
		n, err := io.Copy(h, c)
		if err != nil {
			fail("read: %v", err)
		}
		fmt.Fprintf(c, "%d %x\n", n, h.Sum(nil))
		c.Close()
		fmt.Printf("received %d bytes, sha256 %x\n", n, h.Sum(nil))
		if int(n) != nbytes {
			fail("received %d bytes, expected %d", n, nbytes)
		}
	}
	l.Close()
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail("not a number: %s", s)
	}
	return n
}

func main() {
	a := os.Args
	switch {
	case len(a) == 4 && a[1] == "client":
		client(a[2], atoi(a[3]))
	case len(a) == 3 && a[1] == "udp":
		udp(a[2])
	case len(a) == 4 && a[1] == "server":
		server(a[2], atoi(a[3]))
	case len(a) == 5 && a[1] == "dualserver":
		dualServer(a[2], atoi(a[3]), atoi(a[4]))
	default:
		fmt.Fprintln(os.Stderr, "usage: compat_go client IP:PORT NBYTES | udp IP:PORT | server PORT NBYTES | dualserver PORT NBYTES N")
		os.Exit(2)
	}
}
