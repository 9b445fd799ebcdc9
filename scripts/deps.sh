#!/usr/bin/env bash
# deps.sh [build] [bench]: check for what ocirun's build and tests (build) or the benchmark
# (bench) need. Missing Debian packages are installed with apt-get when running as root; otherwise
# the script names them and fails. Go itself is not installed here: it must be in PATH.
set -euo pipefail

missing=()

# need PACKAGE CHECK...: add PACKAGE to the install list when the command CHECK... fails.
need() {
	local pkg=$1
	shift
	"$@" >/dev/null 2>&1 || missing+=("$pkg")
}

# static_busybox: /bin/busybox exists and is statically linked (it is copied into rootfs dirs).
static_busybox() { [ -x /bin/busybox ] && ! ldd /bin/busybox; }

for what in "${@:-build}"; do
	case $what in
	build)
		command -v go >/dev/null || {
			echo "deps: go not found in PATH (Go $(sed -n 's/^go //p' go.mod 2>/dev/null) is needed)" >&2
			exit 1
		}
		need gcc command -v gcc
		need pkg-config command -v pkg-config
		need libseccomp-dev sh -c 'pkg-config --exists libseccomp && test -e /usr/include/seccomp.h'
		need busybox-static static_busybox
		;;
	bench)
		need runc command -v runc
		need crun command -v crun
		need hyperfine command -v hyperfine
		need time test -x /usr/bin/time
		need util-linux command -v unshare
		;;
	*)
		echo "deps: unknown group $what (want build or bench)" >&2
		exit 2
		;;
	esac
done

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages: ${missing[*]}" >&2
	echo "deps: install them as root: apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
