# shellcheck shell=bash
# Sourced. rtprec_hugepages [N]: mount hugetlbfs at /dev/hugepages (pagesize=2M) when
# no hugetlbfs is mounted, reserve N (default 1024) 2 MB pages without lowering a
# larger reservation, and check that pages are free. Exports RTPREC_EAL_MEM_ARGS:
#   "--in-memory"                  hugepages usable
#   "--no-huge -m 1024"            fallback (slower), with a message on stderr
# RTPREC_HUGE=1|0 and RTPREC_HUGEPAGES_FREE (free hugepage memory of every page size, in
# 2 MB pages: EAL --in-memory takes any size, e.g. 1 GB pages reserved at boot).

# Free hugepage memory in 2 MB units, from sysfs (not /proc/meminfo's HugePages_Free,
# which counts pages of the default size only: 1 GB with default_hugepagesz=1G).
rtprec_hugepages_free() {
	local d kb n total=0
	for d in /sys/kernel/mm/hugepages/hugepages-*kB; do
		[[ -r $d/free_hugepages ]] || continue
		kb=${d##*hugepages-}
		kb=${kb%kB}
		n=$(<"$d/free_hugepages")
		((total += n * kb / 2048))
	done
	echo "$total"
}

rtprec_hugepages() {
	local want=${1:-1024}
	local nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
	local ok=1 cur free

	if ! grep -qs ' hugetlbfs ' /proc/mounts; then
		mkdir -p /dev/hugepages 2>/dev/null || true
		mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages 2>/dev/null || ok=0
	fi
	if ((ok)) && [[ -w $nr ]]; then
		cur=$(cat "$nr")
		if ((cur < want)); then
			echo "$want" >"$nr" 2>/dev/null || true
			# the kernel may give fewer pages than asked when memory is fragmented
			if (($(cat "$nr") < want)); then
				echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
				echo 1 >/proc/sys/vm/compact_memory 2>/dev/null || true
				echo "$want" >"$nr" 2>/dev/null || true
			fi
		fi
	elif ((ok)); then
		ok=0
	fi
	free=$(rtprec_hugepages_free)
	if ((ok)) && ((${free:-0} >= 64)); then
		export RTPREC_HUGE=1
		export RTPREC_EAL_MEM_ARGS="--in-memory"
		export RTPREC_HUGEPAGES_FREE=$free
		if ((free < want)); then
			echo "[rtprec] hugepages: only $free of $want 2 MB pages free" >&2
		fi
	else
		echo "hugepages unavailable: falling back to --no-huge (slower)" >&2
		export RTPREC_HUGE=0
		export RTPREC_EAL_MEM_ARGS="--no-huge -m 1024"
		export RTPREC_HUGEPAGES_FREE=0
	fi
}
