#!/usr/bin/env bash
# run.sh: boot a cgroup-v2-only Linux under qemu and run the integration tests inside it
# (`make test-cgroup2`). The host may be cgroup v1 or hybrid; the VM mounts cgroup2 alone at
# /sys/fs/cgroup, as a systemd host in unified mode does, so this is where ocirun meets pure v2.
#
# As root it installs what it needs with apt-get (qemu-system-x86, busybox-static, cpio) and fetches
# Debian's cloud kernel (the package linux-image-cloud-amd64 depends on) with `apt-get download`
# into build/cgroup2-vm/cache. It builds ocirun and the integration test binary, packs them with
# a static busybox, their shared libraries, the kernel modules in MODULES and /init (./init) into
# an initramfs, boots it (KVM when /dev/kvm is usable, TCG otherwise), prints the test output
# and exits with the test binary's status: 0 only when the tests ran and passed.
#
# Environment:
#   CGROUP2_VM_RUN      the -test.run filter (default below: every test of issue 5's cgroup
#                       work: limits, devices, pause/resume, events, update, ps, kill --all,
#                       delete, plus the lifecycle basics; "." runs the whole suite)
#   CGROUP2_VM_ARGS     more test flags, e.g. "-test.skip TestX -test.parallel 4"
#   CGROUP2_VM_TIMEOUT  seconds before the VM is killed (default 600, 3600 without KVM)
#   CGROUP2_VM_OCIRUN   use this ocirun binary instead of building one
#   CGROUP2_VM_ACCEL    auto (default), kvm or tcg
#   CGROUP2_VM_OUT      work directory (default build/cgroup2-vm), so that several runs can
#                       share a machine; the downloaded kernel stays in build/cgroup2-vm/cache
#   CGROUP2_VM_EXEC     a shell command to run in the VM instead of the tests (its status is
#                       the result), e.g. 'ocirun --version; cat /sys/fs/cgroup/cgroup.controllers'
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${CGROUP2_VM_OUT:-$repo/build/cgroup2-vm}
cache=$repo/build/cgroup2-vm/cache

# The default: what `make test-cgroup2` has to prove on v2 (tests/integration/cgroups_test.go,
# pause_test.go (pause, ps, kill --all), events_test.go, update_test.go, the delete and lifecycle
# basics; cgroupfiles_test.go reads each value from the file v2 keeps it in).
RUN=${CGROUP2_VM_RUN:-'^(TestCgroup|TestPause|TestPs|TestKillAll|TestEvents|TestUpdate|TestDelete|TestCreateStartDelete|TestRun|TestPidNamespace)'}
ARGS=${CGROUP2_VM_ARGS:-}
# Modules the tests use that the cloud kernel builds as modules: overlay (ocirun's read-only
# view of its own binary, TestMountsOverlay), ifb (the net-device tests' interfaces) and loop
# (the device-cgroup tests open loop-control and loop7: without the driver every open fails).
MODULES="overlay ifb loop"
# Host tools copied in with their libraries, ahead of busybox's applets in PATH, as tool:package:
# iproute2's ip (busybox ip lacks `addr add ... nodad`, which the net-device tests use) and
# procps' ps (`ocirun ps` runs `ps -ef` as runc does; busybox ps ignores -ef and prints no UID).
TOOLS="ip:iproute2 ps:procps"
# Kernel options the VM cannot do without (cgroup2 itself comes with CONFIG_CGROUPS).
KCONFIG="CGROUPS MEMCG CGROUP_PIDS CGROUP_SCHED CPUSETS CGROUP_BPF BPF_SYSCALL CGROUP_FREEZER
	BLK_DEV_INITRD RD_GZIP DEVTMPFS TMPFS SERIAL_8250_CONSOLE NAMESPACES PID_NS NET_NS UTS_NS
	IPC_NS USER_NS SECCOMP_FILTER"

step() { printf '==> %s\n' "$*" >&2; }
die() {
	printf 'cgroup2-vm: %s\n' "$*" >&2
	exit 1
}

command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin

# --- host packages and the kernel --------------------------------------------------------------
static_busybox() { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
static_busybox || missing+=(busybox-static)
command -v cpio >/dev/null || missing+=(cpio)
for tool in $TOOLS; do command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}"); done
kernel_dir=$(ls -d "$cache"/linux-image-*/ 2>/dev/null | grep -v '\.tmp/$' | tail -n 1 || true)
if [ ${#missing[@]} -gt 0 ] || [ -z "$kernel_dir" ]; then
	[ "$(id -u)" -eq 0 ] || die "as root, this installs ${missing[*]:-} and downloads a kernel; run it as root"
	step "apt-get update"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	if [ ${#missing[@]} -gt 0 ]; then
		step "apt-get install ${missing[*]}"
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
fi
if [ -z "$kernel_dir" ]; then
	pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ {print $2; exit}')
	[ -n "$pkg" ] || die "cannot find the kernel package linux-image-cloud-amd64 depends on"
	step "apt-get download $pkg"
	mkdir -p "$cache/deb"
	# _apt cannot write into a directory under the repository: the download runs as root.
	(cd "$cache/deb" && apt-get download -q "$pkg" 2>&1 | grep -v 'unsandboxed as root' || true)
	deb=$(ls "$cache/deb/${pkg}"_*.deb 2>/dev/null | tail -n 1)
	[ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
	rm -rf "$cache/$pkg.tmp"
	dpkg-deb -x "$deb" "$cache/$pkg.tmp"
	mv "$cache/$pkg.tmp" "$cache/$pkg"
	rm -f "$deb"
	kernel_dir=$cache/$pkg/
fi
kernel_dir=${kernel_dir%/}
vmlinuz=$(ls "$kernel_dir"/boot/vmlinuz-* | head -n 1)
kconfig=$(ls "$kernel_dir"/boot/config-* | head -n 1)
for opt in $KCONFIG; do
	grep -q "^CONFIG_$opt=y" "$kconfig" || die "$(basename "$vmlinuz") lacks CONFIG_$opt=y (built in)"
done

# --- binaries ----------------------------------------------------------------------------------
mkdir -p "$out"
if [ -n "${CGROUP2_VM_OCIRUN:-}" ]; then
	ocirun=$CGROUP2_VM_OCIRUN
	[ -x "$ocirun" ] || die "CGROUP2_VM_OCIRUN=$ocirun is not an executable"
else
	step "go build ocirun"
	ocirun=$out/ocirun
	ldflags="-X main.version=$(cat "$repo/VERSION" 2>/dev/null || echo unknown)"
	ldflags+=" -X main.gitCommit=$(git -C "$repo" rev-parse --verify -q HEAD || echo unknown)"
	(cd "$repo" && CGO_ENABLED=1 go build -trimpath -tags urfave_cli_no_docs -ldflags "$ldflags" -o "$ocirun" .)
fi
step "go test -c ./tests/integration/"
(cd "$repo" && CGO_ENABLED=1 go test -c -o "$out/integration.test" ./tests/integration/)

# --- initramfs ---------------------------------------------------------------------------------
step "initramfs"
stage=$out/initramfs
rm -rf "$stage"
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc,root,proc,sys,dev,tmp,run,lib/modules}
chmod 1777 "$stage/tmp"
cp /bin/busybox "$stage/bin/busybox"
for applet in $(/bin/busybox --list-full); do
	[ -e "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
done
cp "$ocirun" "$stage/bin/ocirun"
cp "$out/integration.test" "$stage/bin/integration.test"
cp "$here/init" "$stage/init"
chmod 755 "$stage/init"
mkdir -p "$stage/usr/local/bin"
for tool in $TOOLS; do
	tool=${tool%%:*}
	path=$(command -v "$tool") || die "the host has no $tool"
	cp -L "$path" "$stage/usr/local/bin/$tool"
done
# The shared libraries and the dynamic loader, at the paths the binaries name.
for lib in $(for b in "$stage"/bin/{ocirun,integration.test} "$stage"/usr/local/bin/*; do ldd "$b" || true; done |
	awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u); do
	mkdir -p "$stage$(dirname "$lib")"
	cp -L "$lib" "$stage$lib"
done
# The modules, each after what it depends on (read from the .ko's modinfo).
mods=$(ls -d "$kernel_dir"/lib/modules/*/kernel)
declare -A added=()
n=0
add_module() {
	local name=$1 ko dep
	[ -n "${added[$name]:-}" ] && return
	ko=$(find "$mods" -name "$name.ko" -print -quit)
	[ -n "$ko" ] || die "module $name.ko is not in $(basename "$kernel_dir")"
	for dep in $(grep -ao 'depends=[a-z0-9_,-]*' "$ko" | head -n 1 | cut -d= -f2 | tr , ' '); do
		add_module "$dep"
	done
	n=$((n + 1))
	cp "$ko" "$stage/lib/modules/$(printf %02d $n)-$name.ko"
	added[$name]=1
}
for m in $MODULES; do
	# A module the kernel has built in needs no file.
	grep -q "/$m.ko$" "$(dirname "$mods")/modules.builtin" || add_module "$m"
done
cat >"$stage/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$stage/etc/group" <<'EOF'
root:x:0:
tty:x:5:
nogroup:x:65534:
EOF
echo "127.0.0.1 localhost cgroup2-vm" >"$stage/etc/hosts"

# KVM when /dev/kvm can run this kernel, else TCG (software emulation: slower, not skipped).
accel=(-enable-kvm -cpu host)
why_tcg=
case ${CGROUP2_VM_ACCEL:-auto} in
kvm) ;;
tcg) why_tcg="CGROUP2_VM_ACCEL=tcg" ;;
auto)
	if ! { [ -r /dev/kvm ] && [ -w /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; }; then
		why_tcg="/dev/kvm is missing or cannot be opened"
	elif [ -d /sys/module/kvm_pvm ] && [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; then
		# Seen on Firecracker hosts with nested_pvm=1: qemu -cpu host aborts (MSR 0x10a), and
		# with -cpu host,-arch-capabilities the kernel hangs after "Probing EDD".
		why_tcg="/dev/kvm is PVM (kvm_pvm, no VMX/SVM): it runs only kernels built as PVM guests, not Debian's (CGROUP2_VM_ACCEL=kvm forces it)"
	fi
	;;
*) die "CGROUP2_VM_ACCEL=${CGROUP2_VM_ACCEL} (want auto, kvm or tcg)" ;;
esac
if [ -n "$why_tcg" ]; then
	echo "cgroup2-vm: $why_tcg: running under TCG software emulation (slower)" >&2
	accel=(-accel tcg -cpu max)
fi
timeout=${CGROUP2_VM_TIMEOUT:-$([ -n "$why_tcg" ] && echo 3600 || echo 600)}
boot_timeout=${CGROUP2_VM_BOOT_TIMEOUT:-$([ -n "$why_tcg" ] && echo 300 || echo 60)}
# The test binary's own timeout fires first, so that a hung test still reports which one it is.
{
	printf 'RUN=%q\n' "$RUN"
	printf 'TEST_ARGS=%q\n' "$ARGS"
	printf 'EXEC=%q\n' "${CGROUP2_VM_EXEC:-}"
	printf 'TEST_TIMEOUT=%ss\n' $((timeout > 60 ? timeout - 30 : timeout))
} >"$stage/etc/cgroup2-vm.conf"
initrd=$out/initramfs.cpio.gz
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 >"$initrd")

# --- boot --------------------------------------------------------------------------------------
step "boot $(basename "$vmlinuz") ($(du -h "$initrd" | cut -f1) initramfs, ${accel[*]}, timeout ${timeout}s)"
raw=$out/console.raw
log=$out/console.log
booted=$out/booted
rm -f "$raw" "$log" "$booted"
: >"$raw"
start=$(date +%s.%N)
timeout -k 10 "$timeout" qemu-system-x86_64 "${accel[@]}" -m 2G -smp 2 \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-append "console=ttyS0 loglevel=2 panic=-1 rdinit=/init" \
	-nographic -monitor none -serial "file:$raw" -no-reboot -nic none </dev/null &
qemu=$!
# Boot watchdog: a kernel that never reaches /init fails in boot_timeout, not in timeout.
(
	deadline=$((SECONDS + boot_timeout))
	until grep -q '===CGROUP2-VM BEGIN' "$raw"; do
		kill -0 "$qemu" 2>/dev/null || exit 0
		if [ $SECONDS -ge $deadline ]; then
			echo "cgroup2-vm: the VM did not reach the tests in ${boot_timeout}s: stopping it" >&2
			kill "$qemu"
			exit 0
		fi
		sleep 0.2
	done
	date +%s.%N >"$booted"
) &
watchdog=$!
# The test output, as it comes.
tail -c +1 -f --pid="$qemu" "$raw" | tr -d '\r' |
	sed -un '/===CGROUP2-VM BEGIN/,/^===CGROUP2-VM END/{/^===CGROUP2-VM /!p}'
qemu_status=0
wait "$qemu" || qemu_status=$?
kill "$watchdog" 2>/dev/null || true
wait "$watchdog" 2>/dev/null || true
end=$(date +%s.%N)
tr -d '\r' <"$raw" >"$log"

begin=$(sed -n 's/^.*===CGROUP2-VM BEGIN uptime=\([0-9.]*\)===$/\1/p' "$log" | head -n 1)
finish=$(sed -n 's/^===CGROUP2-VM END uptime=\([0-9.]*\)===$/\1/p' "$log" | head -n 1)
status=$(sed -n 's/^===CGROUP2-VM EXIT \([0-9]*\)===$/\1/p' "$log" | head -n 1)
if [ -z "$status" ] || [ -z "$finish" ]; then
	why="qemu exit status $qemu_status"
	[ "$qemu_status" = 124 ] && why="timed out after ${timeout}s"
	echo "cgroup2-vm: no result from the VM ($why); the console's last lines ($log):" >&2
	tail -n 40 "$log" >&2
	exit 1
fi
awk -v b="$begin" -v f="$finish" -v s="$start" -v h="$(cat "$booted" 2>/dev/null || echo "$start")" -v e="$end" -v l="$log" 'BEGIN {
	printf "cgroup2-vm: boot %.1fs (qemu start to the tests; kernel uptime %.1fs), tests %.1fs, qemu %.1fs in all; console: %s\n", h - s, b, f - b, e - s, l
}' >&2
echo "cgroup2-vm: integration tests exited $status" >&2
exit "$status"
