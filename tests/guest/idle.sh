# SPDX-License-Identifier: GPL-2.0-or-later
# Guest half of host tests that drive a running guest from outside: say
# that the driver is up, then stay alive until the host is done.
test -b /dev/vssd0 || { echo "vssd.idle: no /dev/vssd0"; exit 1; }
echo "vssd.idle: ready"
sleep "${IDLE_SECONDS:-600}"
