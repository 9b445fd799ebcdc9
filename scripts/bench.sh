#!/usr/bin/env bash
# bench.sh: ocirun beside runc and crun, in one run, on one busybox bundle whose process is
# /bin/true. For each runtime it measures
#   run     wall time of `run` (hyperfine when installed, else a timed loop), BENCH_RUNS runs
#           after BENCH_WARMUP warm-up runs, each with its own container id and --root
#   create, start, delete   the three steps timed apart, BENCH_RUNS times
#   rss     peak RSS of the runtime process tree during `run` (/usr/bin/time -f %M), BENCH_RSS_RUNS
# and prints a table of medians with the ratios ocirun/runc and ocirun/crun. It reports, it
# never fails on a number: a runtime that cannot run the bundle is shown as failed. Each runtime
# gets BENCH_TIMEOUT seconds (300) in all. RUNTIME picks the ocirun binary (default ./ocirun).
# Raw samples and logs are kept in bench-results/<time>/ (BENCH_OUT); the bundle, the state dirs
# and the containers' cgroup are removed at exit.
#
# crun 1.8 refuses hybrid cgroups (v1 controllers + cgroup2 at /sys/fs/cgroup/unified), so it
# runs in a private mount namespace without the unified mount; there the v1 hierarchies where
# this shell's cgroup is not the root are bind-mounted from it, as crun places a relative
# cgroupsPath under each hierarchy's root and runc and ocirun place it under their own cgroup.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
source "$here/lib.sh"

# median: the median of the numbers on stdin, one a line; nothing when there are none.
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# stamp VAR: set VAR to the wall clock in microseconds, without a fork.
stamp() { printf -v "$1" %s "${EPOCHREALTIME/./}"; }

# ---- one runtime: bench.sh --one NAME BINARY (inherits BENCH_* from the main run) ----

# wait_stopped RT ROOT ID: poll `state` until the container is stopped, for at most 10 s.
wait_stopped() {
	local now deadline
	stamp deadline
	deadline=$((deadline + 10000000))
	for (( ; ; )); do
		stamp now
		((now < deadline)) || break
		"$1" --root "$2" state "$3" 2>/dev/null | grep -q '"status": *"stopped"' && return 0
	done
	return 1
}

# time_run NAME RT: the `run` wall time, into $out/NAME.run (ms, one per run).
time_run() {
	local name=$1 rt=$2 roots=$BENCH_TMP/roots/$1
	if command -v hyperfine >/dev/null; then
		hyperfine --style basic --warmup "$BENCH_WARMUP" --runs "$BENCH_RUNS" \
			--export-json "$out/$name.run.json" --command-name "$name run /bin/true" \
			"'$rt' --root '$roots'/r\$\$ run -b '$BENCH_BUNDLE' $name-\$\$ </dev/null >/dev/null" \
			>>"$out/$name.log" 2>&1 || return 1
		# hyperfine's JSON keeps one time per run, in seconds, in "times": [...].
		tr -d ' \n' <"$out/$name.run.json" | sed -n 's/.*"times":\[\([^]]*\)\].*/\1/p' | tr , '\n' |
			awk 'NF { printf "%.3f\n", $1 * 1000 }' >"$out/$name.run"
	else
		local i t0 t1
		for ((i = 1; i <= BENCH_WARMUP + BENCH_RUNS; i++)); do
			stamp t0
			"$rt" --root "$roots/r$i" run -b "$BENCH_BUNDLE" "$name-r$i" </dev/null >/dev/null 2>>"$out/$name.log" ||
				return 1
			stamp t1
			((i > BENCH_WARMUP)) && awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f\n", d / 1000 }' >>"$out/$name.run"
		done
	fi
}

# time_steps NAME RT: create, start and delete timed apart, into $out/NAME.{create,start,delete}.
time_steps() {
	local name=$1 rt=$2 i id root t0 t1 t2 t3 t4
	for ((i = 1; i <= BENCH_WARMUP + BENCH_RUNS; i++)); do
		id=$name-s$i root=$BENCH_TMP/roots/$name/s$i
		stamp t0
		"$rt" --root "$root" create -b "$BENCH_BUNDLE" "$id" </dev/null >/dev/null 2>>"$out/$name.log" || return 1
		stamp t1
		"$rt" --root "$root" start "$id" >/dev/null 2>>"$out/$name.log" || return 1
		stamp t2
		wait_stopped "$rt" "$root" "$id" || {
			echo "$id did not stop within 10 s" >>"$out/$name.log"
			return 1
		}
		stamp t3
		"$rt" --root "$root" delete "$id" >/dev/null 2>>"$out/$name.log" || return 1
		stamp t4
		((i > BENCH_WARMUP)) || continue
		awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f\n", d / 1000 }' >>"$out/$name.create"
		awk -v d=$((t2 - t1)) 'BEGIN { printf "%.3f\n", d / 1000 }' >>"$out/$name.start"
		awk -v d=$((t4 - t3)) 'BEGIN { printf "%.3f\n", d / 1000 }' >>"$out/$name.delete"
	done
}

# peak_rss NAME RT: the peak RSS of `run`'s process tree (KiB), into $out/NAME.rss.
peak_rss() {
	local name=$1 rt=$2 i
	for ((i = 1; i <= BENCH_RSS_RUNS; i++)); do
		/usr/bin/time -f %M -a -o "$out/$name.rss" \
			"$rt" --root "$BENCH_TMP/roots/$name/m$i" run -b "$BENCH_BUNDLE" "$name-m$i" \
			</dev/null >/dev/null 2>>"$out/$name.log" || {
			rm -f "$out/$name.rss"
			return 1
		}
	done
}

# bench_one NAME RT: all measures of one runtime; a failing one is logged and the rest go on.
bench_one() {
	local name=$1 rt=$2 what status=0
	out=$BENCH_OUT
	"$rt" --root "$BENCH_TMP/roots/$name/check" run -b "$BENCH_BUNDLE" "$name-check" \
		</dev/null >/dev/null 2>>"$out/$name.log" || status=$?
	if [ "$status" -ne 0 ]; then
		echo "$name: failed: run exited with status $status: $(tail -n 1 "$out/$name.log")"
		return 0
	fi
	for what in time_run time_steps peak_rss; do
		if [ "$what" = peak_rss ] && [ ! -x /usr/bin/time ]; then
			echo "$name: no /usr/bin/time, peak RSS not measured"
			continue
		fi
		echo "$name: ${what#*_} ..."
		"$what" "$name" "$rt" || echo "$name: ${what#*_} failed: $(tail -n 1 "$out/$name.log")"
		if [ "$what" = time_run ] && [ -s "$out/$name.run.json" ]; then
			sed -n 's/^ *\(Time\|Range\)/  hyperfine: \1/p' "$out/$name.log"
		fi
	done
}

# cleanup_one NAME RT: delete the containers that a failed or timed-out bench_one left behind.
cleanup_one() {
	local name=$1 rt=$2 root id
	for root in "$BENCH_TMP/roots/$name"/*/; do
		[ -d "$root" ] || continue
		for id in $("$rt" --root "$root" list -q 2>/dev/null); do
			"$rt" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
		done
	done
}

case ${1:-} in
--one)
	bench_one "$2" "$3"
	exit 0
	;;
--cleanup)
	cleanup_one "$2" "$3"
	exit 0
	;;
esac

# ---- main run ----

[ "$(id -u)" -eq 0 ] || die "containers need root here: run it as root"
: "${BENCH_RUNS:=50}" "${BENCH_WARMUP:=5}" "${BENCH_RSS_RUNS:=10}" "${BENCH_TIMEOUT:=300}"
"$here/deps.sh" bench || warn "some bench tools are missing: their columns or methods are skipped"

ocirun=$(resolve_runtime "${RUNTIME:-$repo/ocirun}") || ocirun=${RUNTIME:-$repo/ocirun}
runc=$(resolve_runtime runc) || runc=runc
crun=$(resolve_runtime crun) || crun=crun
BENCH_OUT=${BENCH_OUT:-$repo/bench-results/$(date +%Y%m%d-%H%M%S)}
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ocirun-bench.XXXXXX")
BENCH_BUNDLE=$BENCH_TMP/bundle
cgroup=ocirun-bench-$$
export BENCH_RUNS BENCH_WARMUP BENCH_RSS_RUNS BENCH_OUT BENCH_TMP BENCH_BUNDLE
mkdir -p "$BENCH_OUT"

cleanup() {
	remove_cgroups "$cgroup"
	rm -rf "$BENCH_TMP"
}
trap cleanup EXIT

step "bundle: busybox rootfs, config from runc spec, process /bin/true"
"$here/mkbundle.sh" "$BENCH_BUNDLE"
# One config.json for all three runtimes, written by the reference runtime.
spec_rt=$runc
[ -x "$spec_rt" ] || spec_rt=$ocirun
(cd "$BENCH_BUNDLE" && "$spec_rt" spec)
(cd "$repo" && "${GO:-go}" run ./scripts/democonfig -config "$BENCH_BUNDLE/config.json" \
	-hostname ocirun-bench -cgroups-path "$cgroup" -- /bin/true)

step "machine and runtimes"
echo "kernel $(uname -r), $(nproc) cpus; runs $BENCH_RUNS after $BENCH_WARMUP warm-up, rss runs $BENCH_RSS_RUNS"
if command -v hyperfine >/dev/null; then
	echo "run timed by $(hyperfine --version)"
else
	echo "run timed by a loop (no hyperfine)"
fi
for rt in "$ocirun" "$runc" "$crun"; do
	printf '%-24s %s\n' "$rt" "$(timeout 10 "$rt" --version 2>/dev/null | sed -n 1p || echo 'not runnable')"
done

# crun_env CMD...: run CMD in a private mount namespace that crun 1.8 accepts (see the top).
crun_env() {
	if ! mountpoint -q /sys/fs/cgroup/unified; then
		"$@"
		return
	fi
	unshare -m --propagation private bash -c '
		umount /sys/fs/cgroup/unified || exit 1
		while IFS=: read -r _ ctrls path; do
			[ -n "$ctrls" ] && [ "$path" != / ] || continue
			mnt=/sys/fs/cgroup/${ctrls#name=}
			mount --bind "$mnt$path" "$mnt" || exit 1
		done </proc/self/cgroup
		exec "$@"' crun-env "$@"
}

# measure NAME RT [WRAPPER...]: bench one runtime, bounded by BENCH_TIMEOUT seconds, then delete
# what it left behind; WRAPPER... runs both (crun_env for crun).
measure() {
	local name=$1 rt=$2 status=0
	shift 2
	if [ ! -x "$rt" ]; then
		echo "$name: failed: no binary $rt"
		return
	fi
	"$@" timeout -k 10 "$BENCH_TIMEOUT" "$here/bench.sh" --one "$name" "$rt" || status=$?
	case $status in
	0) ;;
	124 | 137) echo "$name: failed: not finished within $BENCH_TIMEOUT s" ;;
	*) echo "$name: failed: bench.sh --one exited with status $status" ;;
	esac
	"$@" timeout -k 10 60 "$here/bench.sh" --cleanup "$name" "$rt" || echo "$name: cleanup failed"
}

step "ocirun ($ocirun)"
measure ocirun "$ocirun"
step "runc ($runc)"
measure runc "$runc"
step "crun ($crun, private mount namespace without the cgroup2 mount)"
measure crun "$crun" crun_env

# cell NAME METRIC: the median of a runtime's samples, or "-".
cell() {
	local m=""
	[ -s "$BENCH_OUT/$1.$2" ] && m=$(median <"$BENCH_OUT/$1.$2")
	if [ -z "$m" ]; then
		echo -
	elif [ "$2" = rss ]; then
		printf '%.0f\n' "$m"
	else
		printf '%.2f\n' "$m"
	fi
}
# ratio A B: A/B, or "-".
ratio() {
	[ "$1" != - ] && [ "$2" != - ] || {
		echo -
		return
	}
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx\n", a / b; else print "-" }'
}

step "medians (ms; peak RSS in KiB)  RUNTIME=$ocirun"
{
	printf '%-16s %10s %10s %10s %12s %12s\n' metric ocirun runc crun ocirun/runc ocirun/crun
	for metric in run create start delete rss; do
		o=$(cell ocirun $metric) r=$(cell runc $metric) c=$(cell crun $metric)
		case $metric in
		run) label="run /bin/true" ;;
		rss) label="peak RSS (KiB)" ;;
		*) label=$metric ;;
		esac
		printf '%-16s %10s %10s %10s %12s %12s\n' "$label" "$o" "$r" "$c" "$(ratio "$o" "$r")" "$(ratio "$o" "$c")"
	done
} | tee "$BENCH_OUT/table.txt"
echo "raw samples and logs: $BENCH_OUT"
