#!/usr/bin/env bash
# run.sh RUNTIME: run the OCI runtime-tools validation suite against RUNTIME (an absolute path).
#
# Builds the 58 validation programs (validation/<name>/<name>.go) and a static cmd/runtimetest from
# the runtime-tools module at the commit pinned below, then runs each program alone, in its own
# private mount namespace (some start containers without a mount namespace: their mounts must
# not land in ours), with a timeout, cleaning up containers, mounts and cgroups after each. It
# prints one line per program and a final "N passed, M failed" line counting programs, then
# compares the failures with expected-failures (next to this script): the run fails when a
# program outside that list fails, and when a listed one passes (so the list stays true). A
# program listed as "flaky" (a race in the suite itself, argued in the list) counts for neither.
#
# How a program's output is judged (TAP):
#   timed out  still running after CONFORMANCE_TIMEOUT seconds (default 120)
#   failed     a "not ok" line; or, in a program with no test point at all, an "error" in a YAML
#              diagnostic (the hook and *_fail programs report failure only that way, success
#              by silence)
#   crashed    exit status != 0 otherwise (util.Fatal: the *_fail programs fail this way too)
#   skipped    every test point is a skip: counted as failed, never as passed
#   passed     otherwise (exit 0, nothing failed; the *_fail programs may print no TAP at all)
#
# Environment: CONFORMANCE_WORK (default build/conformance), CONFORMANCE_TIMEOUT,
# CONFORMANCE_ONLY (space-separated program names to run instead of all).
set -uo pipefail

RT_MODULE=github.com/opencontainers/runtime-tools
# A recent commit of the default branch (2025-12-05); `@master` is refused by the proxy.
RT_VERSION=v0.9.1-0.20251205004911-5e639034dcdc

here=$(cd "$(dirname "$0")" && pwd)
runtime=${1:?usage: run.sh RUNTIME}
case $runtime in /*) ;; *) echo "run.sh: RUNTIME must be an absolute path" >&2; exit 2 ;; esac
[ -x "$runtime" ] || { echo "run.sh: $runtime is not executable" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run.sh: must run as root" >&2; exit 2; }
work=${CONFORMANCE_WORK:-$PWD/build/conformance}
limit=${CONFORMANCE_TIMEOUT:-120}
expected_file=$here/expected-failures

build() {
	local dir
	dir=$(go mod download -json "$RT_MODULE@$RT_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] || { echo "run.sh: cannot download $RT_MODULE@$RT_VERSION" >&2; return 1; }
	if [ ! -f "$work/.built-$RT_VERSION" ]; then
		rm -rf "$work" && mkdir -p "$work/bin"
		# The module cache is read-only and its vendor/ is pruned: build in a copy.
		cp -r "$dir" "$work/src" && chmod -R u+w "$work/src" && rm -rf "$work/src/vendor"
		(cd "$work/src" && go build -o "$work/bin/" ./validation/... &&
			CGO_ENABLED=0 go build -ldflags '-extldflags -static' -o "$work/runtimetest" ./cmd/runtimetest) || return 1
		cp "$dir/rootfs-amd64.tar.gz" "$work/" && chmod 644 "$work/rootfs-amd64.tar.gz"
		touch "$work/.built-$RT_VERSION"
	fi
}


# cleanup: delete containers the program left, unmount and remove its bundles, remove the
# absolute cgroups the suite uses. Everything the suite makes is named by it: bundles are
# /tmp/ocitest*, cgroups /cgrouptest and, relative to the caller's own cgroup, cgrouptest and
# testdir/cgrouptest/... (a runtime that removes only the leaf leaves testdir behind).
cleanup() {
	local id
	for id in $("$runtime" list -q 2>/dev/null); do
		grep -qx "$id" "$work/ids-before" 2>/dev/null || "$runtime" delete --force "$id" >/dev/null 2>&1
	done
	grep -o ' /tmp/ocitest[^ ]*' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf /tmp/ocitest* 2>/dev/null
	local d own
	for d in /sys/fs/cgroup/*/cgrouptest; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	# relative cgroupsPaths nest under our own cgroup in each hierarchy
	while IFS=: read -r _ ctrl own; do
		ctrl=${ctrl#name=}
		for d in /sys/fs/cgroup/"${ctrl:-unified}""$own"/cgrouptest /sys/fs/cgroup/"${ctrl:-unified}""$own"/testdir; do
			[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
		done
	done </proc/self/cgroup
}

# errors_without_points OUTFILE: the "error" lines of a program that has no test point at all:
# how the hook and *_fail programs report a failure (an "error" under an "ok" line is detail).
errors_without_points() {
	grep -qE '^(not )?ok ' "$1" && return
	grep -E '^[[:space:]]*"?error"?:' "$1"
}

# judge STATUS OUTFILE: prints the verdict word and, for failures, the reasons.
judge() {
	local status=$1 out=$2
	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		echo "timed out"
		return
	fi
	local notok points skips errs
	notok=$(grep -c '^not ok' "$out")
	points=$(grep -cE '^(not )?ok ' "$out")
	skips=$(grep -ciE '^ok [0-9]* *# skip' "$out")
	errs=$(errors_without_points "$out")
	if [ "$notok" -gt 0 ]; then
		echo "failed"
		grep -A12 '^not ok' "$out" | sed 's/^/      /' | head -40
	elif [ "$status" -ne 0 ]; then
		echo "crashed (exit $status)"
		tail -5 "$out" | sed 's/^/      /'
	elif [ -n "$errs" ]; then
		echo "failed"
		sed 's/^/      /' <<<"$errs" | head -10
	elif [ "$points" -gt 0 ] && [ "$skips" -eq "$points" ]; then
		echo "skipped"
		grep -iE '# skip' "$out" | sed 's/^/      /' | head -5
	else
		echo "passed"
	fi
}

build || exit 1
mapfile -t programs < <(ls "$work/bin")
if [ -n "${CONFORMANCE_ONLY:-}" ]; then
	read -r -a programs <<<"$CONFORMANCE_ONLY"
fi
mapfile -t expected < <(grep -vE '^[[:space:]]*(#|$)' "$expected_file" | awk '$2 != "flaky" {print $1}')
mapfile -t flaky < <(grep -vE '^[[:space:]]*(#|$)' "$expected_file" | awk '$2 == "flaky" {print $1}')

mkdir -p "$work/out"
passed=0 failed=0 unexpected=() unexpected_pass=()
"$runtime" list -q >"$work/ids-before" 2>/dev/null
for name in "${programs[@]}"; do
	out=$work/out/$name.tap
	(cd "$work" && RUNTIME=$runtime timeout -k 5 "$limit" \
		unshare -m --propagation private "$work/bin/$name" >"$out" 2>&1)
	status=$?
	cleanup
	verdict=$(judge "$status" "$out")
	word=$(head -1 <<<"$verdict")
	listed=no
	printf '%s\n' "${expected[@]}" | grep -qx "$name" && listed=yes
	printf '%s\n' "${flaky[@]}" | grep -qx "$name" && listed=flaky
	if [ "$word" = passed ]; then
		passed=$((passed + 1))
		[ $listed = yes ] && unexpected_pass+=("$name")
		tag=""
		[ $listed = flaky ] && tag=" (flaky: see expected-failures)"
		printf '%-40s passed%s\n' "$name" "$tag"
	else
		failed=$((failed + 1))
		[ $listed = no ] && unexpected+=("$name")
		tag=""
		[ $listed = yes ] && tag=" (expected: see expected-failures)"
		[ $listed = flaky ] && tag=" (flaky: see expected-failures)"
		printf '%-40s %s%s\n' "$name" "$word" "$tag"
		tail -n +2 <<<"$verdict"
	fi
done
echo "$passed passed, $failed failed"
rc=0
if [ ${#unexpected[@]} -gt 0 ]; then
	echo "unexpected failures: ${unexpected[*]}"
	rc=1
fi
if [ ${#unexpected_pass[@]} -gt 0 ]; then
	echo "listed in expected-failures but passed (remove them from the list): ${unexpected_pass[*]}"
	rc=1
fi
exit $rc
