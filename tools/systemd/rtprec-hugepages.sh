#!/bin/bash
# rtprec-hugepages — reserve hugepages for rtprec before it starts (systemd ExecStartPre,
# installed as <libexecdir>/rtprec/rtprec-hugepages). Run as root.
#
# Environment (the unit sets them; `systemctl edit rtprec` to change):
#   RTPREC_HUGEPAGES_2M=N     2 MB pages wanted in all (default 1024 = 2 GiB)
#   RTPREC_HUGEPAGES_1G=N     1 GB pages wanted in all (default 0; usually only reservable
#                             at boot: hugepagesz=1G hugepages=N on the kernel command line)
#   RTPREC_HUGEPAGES_NODE=K   reserve on NUMA node K only (the NIC's node, see
#                             docs/bare-metal.md); default: the kernel spreads them
#   RTPREC_HUGEPAGES_MOUNT=D  hugetlbfs mount point made when none is mounted
#                             (default /dev/hugepages; not needed with EAL --in-memory,
#                             harmless otherwise)
# A reservation already larger is never lowered. Prints what it got on stderr (the
# journal). Exit 0 when every wanted page is there, 1 when fewer could be reserved
# (rtprec would fail to create its pools; the unit does not start), 2 on bad input.
set -u

log() { printf 'rtprec-hugepages: %s\n' "$*" >&2; }

num() { # num NAME VALUE: a non-negative integer or exit 2
	[[ $2 =~ ^[0-9]+$ ]] && return 0
	log "$1 must be a non-negative integer, got '$2'"
	exit 2
}

want2m=${RTPREC_HUGEPAGES_2M:-1024}
want1g=${RTPREC_HUGEPAGES_1G:-0}
node=${RTPREC_HUGEPAGES_NODE:-}
mnt=${RTPREC_HUGEPAGES_MOUNT:-/dev/hugepages}
num RTPREC_HUGEPAGES_2M "$want2m"
num RTPREC_HUGEPAGES_1G "$want1g"
[[ -z $node ]] || num RTPREC_HUGEPAGES_NODE "$node"

# pages_dir SIZE_KB: the sysfs directory holding nr_hugepages for that page size
pages_dir() {
	if [[ -n $node ]]; then
		echo "/sys/devices/system/node/node$node/hugepages/hugepages-$1kB"
	else
		echo "/sys/kernel/mm/hugepages/hugepages-$1kB"
	fi
}

# reserve SIZE_KB WANT: raise nr_hugepages to WANT; 0 when WANT pages are reserved
reserve() {
	local kb=$1 want=$2 dir have
	dir=$(pages_dir "$kb")
	((want > 0)) || return 0
	if [[ ! -w $dir/nr_hugepages ]]; then
		log "no ${kb} kB pages on this kernel/CPU ($dir missing or read-only)"
		return 1
	fi
	have=$(<"$dir/nr_hugepages")
	if ((have < want)); then
		echo "$want" >"$dir/nr_hugepages" 2>/dev/null
		have=$(<"$dir/nr_hugepages")
		if ((have < want)); then
			# fragmented memory: free the page cache, compact, ask again
			sync
			echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
			echo 1 >/proc/sys/vm/compact_memory 2>/dev/null
			echo "$want" >"$dir/nr_hugepages" 2>/dev/null
			have=$(<"$dir/nr_hugepages")
		fi
	fi
	log "${kb} kB pages${node:+ on node $node}: $have reserved ($want wanted), $(<"$dir/free_hugepages") free"
	((have >= want))
}

rc=0
reserve 2048 "$want2m" || rc=1
reserve 1048576 "$want1g" || rc=1

if ! awk '$3 == "hugetlbfs" {found = 1} END {exit !found}' /proc/mounts; then
	if ! { mkdir -p "$mnt" && mount -t hugetlbfs nodev "$mnt"; }; then
		log "cannot mount hugetlbfs on $mnt (EAL without --in-memory needs one)"
	fi
fi
exit "$rc"
