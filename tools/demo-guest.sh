#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The guest half of `tools/joyride demo`: runs inside the VM (tools/jr-vm),
# with joyride.ko loaded, and says in plain words what it sees.
set -eu

AF_JOYRIDE=25

try_socket() {
	python3 - "$AF_JOYRIDE" <<'PY'
import errno, socket, sys
fam = int(sys.argv[1])
try:
    s = socket.socket(fam, socket.SOCK_STREAM)
    print("  socket(AF_JOYRIDE, SOCK_STREAM) -> fd %d" % s.fileno())
    s.close()
except OSError as e:
    print("  socket(AF_JOYRIDE, SOCK_STREAM) -> %s (%s)" % (errno.errorcode[e.errno], e.strerror))
PY
}

echo "== Guest: Linux $(uname -r) under QEMU"
echo
echo "== joyride.ko is loaded:"
grep '^joyride ' /proc/modules | sed 's/^/  /'
dmesg | grep 'joyride:' | sed 's/^/  kernel: /'
echo
echo "== The netserver's device node:"
ls -l /dev/joyride | sed 's/^/  /'
echo
echo "== The AF_JOYRIDE family ($AF_JOYRIDE) is registered; with no netserver"
echo "   attached a socket has nothing to carry it, so the kernel says so:"
try_socket
echo
echo "== Unloading the module takes the family away again:"
rmmod joyride
try_socket
echo
echo "== And loading it brings it back:"
insmod "$JR_BUILD_DIR/kmod/joyride.ko"
try_socket
echo
echo "Demo done: the module loads, registers AF_JOYRIDE and /dev/joyride,"
echo "and unloads cleanly."
