# lib.sh: helpers shared by the demo and bench scripts (sourced, not run).

# step TEXT: print a visible section header.
step() { printf '\n==> %s\n' "$*"; }

# warn TEXT / die TEXT: report on stderr; die exits 1.
warn() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { warn "$@"; exit 1; }

# resolve_runtime PATH_OR_NAME: print the runtime as an absolute path, or fail when it is not an
# executable (a bare name is looked up in PATH).
resolve_runtime() {
	local rt=$1
	case $rt in
	*/*) ;;
	*) rt=$(command -v "$rt") || return 1 ;;
	esac
	[ -x "$rt" ] || return 1
	printf '%s/%s\n' "$(cd "$(dirname "$rt")" && pwd)" "$(basename "$rt")"
}

# remove_cgroups NAME: rmdir the cgroup NAME that a runtime made for a relative cgroupsPath,
# beneath this shell's own cgroup in every hierarchy (v1 controllers, named and unified). Only
# NAME itself is removed, never a parent; a cgroup still holding processes is reported and kept.
remove_cgroups() {
	local name=$1 ctrls path mnt dir
	while IFS=: read -r _ ctrls path; do
		case $ctrls in
		"") mnt=/sys/fs/cgroup/unified && [ -d "$mnt" ] || mnt=/sys/fs/cgroup ;;
		name=*) mnt=/sys/fs/cgroup/${ctrls#name=} ;;
		*) mnt=/sys/fs/cgroup/$ctrls ;;
		esac
		dir=${mnt}${path%/}/$name
		if [ -d "$dir" ] && ! rmdir "$dir" 2>/dev/null; then
			warn "could not remove cgroup $dir"
		fi
	done </proc/self/cgroup
}
