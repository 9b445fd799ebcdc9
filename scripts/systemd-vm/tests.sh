#!/bin/sh
# systemd-vm-tests.service (see run.sh): runs the integration tests under systemd and writes to
# ttyS0, between markers run.sh parses:
#   ===SYSTEMD-VM BEGIN===  the test output follows
#   ===SYSTEMD-VM EXIT <status>===
#   ===SYSTEMD-VM END===
# then the journal's warnings, and powers off.
exec >/dev/ttyS0 2>&1 </dev/null
. /etc/systemd-vm.conf
export HOME=/root TMPDIR=/tmp PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
printf '\n===SYSTEMD-VM BEGIN===\n'
echo "kernel $(uname -r), $(systemctl --version | head -n 1), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup), own cgroup: $(tr '\n' ' ' </proc/self/cgroup)"
echo "system state: $(systemctl is-system-running); dbus: $(systemctl is-active dbus.socket)"
cd /root
if [ -n "$EXEC" ]; then
	echo "sh -c '$EXEC'"
	OCIRUN_TEST_RUNTIME=/usr/local/bin/ocirun sh -c "$EXEC" 2>&1
else
	echo "go test -run '$RUN'"
	# shellcheck disable=SC2086 # TEST_ARGS is a list of flags
	OCIRUN_TEST_RUNTIME=/usr/local/bin/ocirun /usr/local/bin/integration.test -test.v -test.count=1 \
		-test.timeout=240s -test.run "$RUN" $TEST_ARGS 2>&1
fi
status=$?
echo "===SYSTEMD-VM EXIT $status==="
echo "===SYSTEMD-VM END==="
echo "--- journal (warnings and worse) ---"
journalctl -b -p warning --no-pager 2>&1 | tail -n 60
sync
systemctl poweroff --force --force
