#!/usr/bin/env bash
# run.sh: boot a minimal Debian with systemd (and dbus) as PID 1 under qemu and run the
# --systemd-cgroup integration tests inside it, where ocirun's systemd cgroup driver meets a
# real systemd. The host needs no systemd.
#
# As root it installs mmdebstrap if missing and builds the Debian root (bookworm, minbase plus
# systemd, dbus, busybox-static, iproute2) once into build/systemd-vm/rootfs. It boots the kernel
# scripts/cgroup2-vm/run.sh downloads (build/cgroup2-vm/cache: run that script once first), with
# the root, ocirun and the integration test binary packed into an initramfs: ./init copies it
# into a tmpfs (containers pivot_root, which the initial rootfs refuses) and switch_roots into
# systemd, which starts systemd-vm-tests.service (./tests.sh). That prints the test output to
# ttyS0 between markers and powers off; this script prints it and exits with the tests' status.
#
# Environment:
#   SYSTEMD_VM_RUN      the -test.run filter (default TestSystemdCgroup)
#   SYSTEMD_VM_ARGS     more test flags
#   SYSTEMD_VM_CGROUP   unified (default: cgroup v2 alone, the fs2 driver under systemd) or
#                       hybrid (systemd.unified_cgroup_hierarchy=0: v1 hierarchies, the fs driver)
#   SYSTEMD_VM_TIMEOUT  seconds before the VM is killed (default 300, 1800 without KVM)
#   SYSTEMD_VM_OCIRUN   use this ocirun binary instead of building one
#   SYSTEMD_VM_EXEC     a shell command to run in the VM instead of the tests
#   SYSTEMD_VM_OUT      work directory (default build/systemd-vm); the root stays in
#                       build/systemd-vm/rootfs
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${SYSTEMD_VM_OUT:-$repo/build/systemd-vm}
rootfs=$repo/build/systemd-vm/rootfs
cache=$repo/build/cgroup2-vm/cache
RUN=${SYSTEMD_VM_RUN:-TestSystemdCgroup}
ARGS=${SYSTEMD_VM_ARGS:-}
MODE=${SYSTEMD_VM_CGROUP:-unified}

step() { printf '==> %s\n' "$*" >&2; }
die() {
	printf 'systemd-vm: %s\n' "$*" >&2
	exit 1
}
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
command -v qemu-system-x86_64 >/dev/null || die "no qemu-system-x86_64: run scripts/cgroup2-vm/run.sh once (it installs it)"

kernel_dir=$(ls -d "$cache"/linux-image-*/ 2>/dev/null | grep -v '\.tmp/$' | tail -n 1 || true)
[ -n "$kernel_dir" ] || die "no kernel in $cache: run scripts/cgroup2-vm/run.sh once (it downloads it)"
vmlinuz=$(ls "${kernel_dir%/}"/boot/vmlinuz-* | head -n 1)

case $MODE in
unified) cgroup_opts="systemd.unified_cgroup_hierarchy=1" ;;
hybrid) cgroup_opts="systemd.unified_cgroup_hierarchy=0 SYSTEMD_CGROUP_ENABLE_LEGACY_FORCE=1" ;;
*) die "SYSTEMD_VM_CGROUP=$MODE (want unified or hybrid)" ;;
esac

# --- the Debian root, built once ---------------------------------------------------------------
if [ ! -x "$rootfs/lib/systemd/systemd" ]; then
	[ "$(id -u)" -eq 0 ] || die "building the Debian root needs root"
	if ! command -v mmdebstrap >/dev/null; then
		step "apt-get install mmdebstrap"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
	fi
	# The Debian mirror is the one this host's apt uses (deb822 or one-line sources).
	mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '$1 == "URIs:" { print $2; exit }')
	[ -n "$mirror" ] || mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }')
	[ -n "$mirror" ] || die "no Debian mirror found in this host's apt sources"
	step "mmdebstrap bookworm (systemd, dbus, busybox-static) from $mirror into $rootfs"
	rm -rf "$rootfs.tmp"
	mkdir -p "$(dirname "$rootfs")"
	mmdebstrap --quiet --variant=minbase --include=systemd,dbus,busybox-static,iproute2 \
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' bookworm "$rootfs.tmp" "$mirror"
	mv "$rootfs.tmp" "$rootfs"
fi

# --- binaries ----------------------------------------------------------------------------------
mkdir -p "$out"
if [ -n "${SYSTEMD_VM_OCIRUN:-}" ]; then
	ocirun=$SYSTEMD_VM_OCIRUN
	[ -x "$ocirun" ] || die "SYSTEMD_VM_OCIRUN=$ocirun is not an executable"
else
	step "go build ocirun"
	ocirun=$out/ocirun
	(cd "$repo" && CGO_ENABLED=1 go build -trimpath -tags urfave_cli_no_docs -o "$ocirun" .)
fi
step "go test -c ./tests/integration/"
(cd "$repo" && CGO_ENABLED=1 go test -c -o "$out/integration.test" ./tests/integration/)

# --- initramfs: the root, our files, the test unit ---------------------------------------------
step "initramfs"
stage=$out/initramfs
rm -rf "$stage"
cp -a "$rootfs" "$stage"
install -m 755 "$ocirun" "$stage/usr/local/bin/ocirun"
install -m 755 "$out/integration.test" "$stage/usr/local/bin/integration.test"
install -m 755 "$here/init" "$stage/init"
install -m 755 "$here/tests.sh" "$stage/usr/local/bin/systemd-vm-tests"
cat >"$stage/etc/systemd/system/systemd-vm-tests.service" <<'UNIT'
[Unit]
Description=ocirun --systemd-cgroup integration tests
Wants=dbus.socket
After=dbus.socket basic.target
[Service]
Type=oneshot
ExecStart=/usr/local/bin/systemd-vm-tests
Delegate=yes
UNIT
mkdir -p "$stage/etc/systemd/system/multi-user.target.wants"
ln -sf ../systemd-vm-tests.service "$stage/etc/systemd/system/multi-user.target.wants/"
# Nobody logs in, and the console belongs to the tests.
for u in serial-getty@ttyS0.service getty@tty1.service getty.target systemd-networkd.service \
	systemd-resolved.service systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer; do
	ln -sf /dev/null "$stage/etc/systemd/system/$u"
done
echo systemd-vm >"$stage/etc/hostname"
echo "127.0.0.1 localhost systemd-vm" >"$stage/etc/hosts"
: >"$stage/etc/machine-id"
{
	printf 'RUN=%q\n' "$RUN"
	printf 'TEST_ARGS=%q\n' "$ARGS"
	printf 'EXEC=%q\n' "${SYSTEMD_VM_EXEC:-}"
} >"$stage/etc/systemd-vm.conf"
initrd=$out/initramfs.cpio.gz
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 >"$initrd")
rm -rf "$stage"

# --- boot --------------------------------------------------------------------------------------
accel=(-enable-kvm -cpu host)
if ! { [ -r /dev/kvm ] && [ -w /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; } ||
	{ [ -d /sys/module/kvm_pvm ] && [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; }; then
	echo "systemd-vm: no usable KVM: running under TCG software emulation (slower)" >&2
	accel=(-accel tcg -cpu max)
fi
timeout=${SYSTEMD_VM_TIMEOUT:-$([ "${accel[0]}" = -accel ] && echo 1800 || echo 300)}
step "boot $(basename "$vmlinuz") ($(du -h "$initrd" | cut -f1) initramfs, $MODE cgroups, ${accel[*]}, timeout ${timeout}s)"
raw=$out/console.raw
log=$out/console.log
rm -f "$raw" "$log"
: >"$raw"
timeout -k 10 "$timeout" qemu-system-x86_64 "${accel[@]}" -m 3G -smp 2 \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-append "console=ttyS0 loglevel=2 panic=-1 rdinit=/init quiet systemd.show_status=0 $cgroup_opts" \
	-nographic -monitor none -serial "file:$raw" -no-reboot -nic none </dev/null &
qemu=$!
tail -c +1 -f --pid="$qemu" "$raw" | tr -d '\r' |
	sed -un '/===SYSTEMD-VM BEGIN/,/^===SYSTEMD-VM END/{/^===SYSTEMD-VM /!p}'
qemu_status=0
wait "$qemu" || qemu_status=$?
tr -d '\r' <"$raw" >"$log"
status=$(sed -n 's/^===SYSTEMD-VM EXIT \([0-9]*\)===$/\1/p' "$log" | head -n 1)
if [ -z "$status" ] || ! grep -q '^===SYSTEMD-VM END' "$log"; then
	why="qemu exit status $qemu_status"
	[ "$qemu_status" = 124 ] && why="timed out after ${timeout}s"
	echo "systemd-vm: no result from the VM ($why); the console's last lines ($log):" >&2
	tail -n 40 "$log" >&2
	exit 1
fi
echo "systemd-vm: integration tests exited $status (console: $log)" >&2
exit "$status"
