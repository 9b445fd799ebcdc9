#!/usr/bin/env bash
# demo.sh: run one container with ocirun from a bundle made here: a busybox rootfs
# (scripts/mkbundle.sh), the runtime's own `spec`, edited by scripts/democonfig (no terminal,
# hostname ocirun-demo, a relative cgroupsPath, a script printing what the container sees).
# RUNTIME picks the runtime (default ./ocirun; RUNTIME=/usr/sbin/runc works the same way).
# Everything it makes lives in one temp dir and one cgroup, both removed at exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
source "$here/lib.sh"

[ "$(id -u)" -eq 0 ] || die "containers need root here: run it as root"
runtime=$(resolve_runtime "${RUNTIME:-$repo/ocirun}") ||
	die "no runtime ${RUNTIME:-$repo/ocirun}: run make first, or set RUNTIME"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ocirun-demo.XXXXXX")
root=$tmp/state
bundle=$tmp/bundle
id=ocirun-demo-$$

cleanup() {
	"$runtime" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
	remove_cgroups "$id"
	rm -rf "$tmp"
}
trap cleanup EXIT

step "make a busybox bundle in $bundle"
"$here/mkbundle.sh" "$bundle"

step "cd $bundle && $runtime spec"
(cd "$bundle" && "$runtime" spec)
echo "wrote config.json ($(wc -c <"$bundle/config.json") bytes)"

step "edit config.json with scripts/democonfig"
(cd "$repo" && "${GO:-go}" run ./scripts/democonfig -config "$bundle/config.json" \
	-hostname ocirun-demo -cgroups-path "$id")

step "$runtime --root $root run -b $bundle $id"
status=0
"$runtime" --root "$root" run -b "$bundle" "$id" </dev/null || status=$?
echo "--- container exited with status $status"

step "$runtime --root $root list   (run deletes the container when it exits)"
"$runtime" --root "$root" list
exit "$status"
