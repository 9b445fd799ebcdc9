#!/usr/bin/env bash
# mkbundle.sh DIR: make DIR/rootfs, a small busybox root filesystem for ocirun's demo and bench:
# the static /bin/busybox (BUSYBOX overrides it), one symlink per applet where busybox says it
# belongs, /etc/passwd and /etc/group (root and nobody), and no /etc/hostname. It writes no
# config.json: run `ocirun spec` in DIR for that.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

[ $# -eq 1 ] || die "usage: mkbundle.sh DIR"
busybox=${BUSYBOX:-/bin/busybox}
rootfs=$1/rootfs

[ -x "$busybox" ] || die "no $busybox: install the busybox-static package"
if ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is dynamically linked: install the busybox-static package"
fi
if [ -e "$rootfs" ] && [ -n "$(ls -A "$rootfs")" ]; then
	die "$rootfs exists and is not empty"
fi

mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,root,run,var,tmp}
chmod 1777 "$rootfs/tmp"
chmod 700 "$rootfs/root"
cp "$busybox" "$rootfs/bin/busybox"

applets=0
while read -r applet; do
	[ -e "$rootfs/$applet" ] && continue
	ln -s /bin/busybox "$rootfs/$applet"
	applets=$((applets + 1))
done < <("$busybox" --list-full)

cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP

echo "mkbundle: $rootfs: busybox $("$busybox" | sed -n '1s/^BusyBox \(v[^ ]*\).*/\1/p'), $applets applets"
