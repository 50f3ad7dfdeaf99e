# SPDX-License-Identifier: GPL-2.0-or-later
# Guest half of host tests that resize a running guest from outside
# (tests/e2e/libvirt.sh): say that the driver is up, then print a line
# "vssd.plugged BYTES MAP" on the console whenever the driver's plugged
# size changes, until the host is done.
P=/proc/vssd/vssd0
test -b /dev/vssd0 || { echo "vssd.idle: no /dev/vssd0"; exit 1; }
echo "vssd.idle: ready"
last=
end=$(($(cut -d. -f1 /proc/uptime) + ${IDLE_SECONDS:-600}))
while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
	now="$(sed -n 's/^plugged_size: *//p' $P/status) $(cat $P/map)"
	if [ "$now" != "$last" ]; then
		echo "vssd.plugged $now"
		last=$now
	fi
	sleep 0.2
done
