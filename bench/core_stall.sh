# shellcheck shell=bash
# Sourced by bench/record.sh. How long this machine holds up a busy core while another
# core writes GBs into a tmpfs, as rtprec's recorder thread does: oslat (rt-tests) spins on
# the worker's core (1) for BENCH_STALL_SECONDS (default 10; 0 skips) while dd writes on
# the recorder's core (0). A core held up longer than its RX ring lasts at the bench rate
# (rx_desc / pps: 0.78 ms for 4096 descriptors at 10G of G.711) loses packets whatever
# the program on it does. On the development VM, with nothing but oslat on core 1: at most
# 0.26 ms with core 0 idle, 3.5-8 ms with core 0 writing (also under SCHED_FIFO, so not
# the guest's scheduler); a dedicated core on bare metal stays in microseconds.
#
#   bench_core_stall OUT_JSON DIR   writes oslat's JSON to OUT_JSON (the writer's file goes
#                                   in DIR, removed after); record_bench.py reports it

bench_core_stall() {
	local out=$1 dir=$2 secs=${BENCH_STALL_SECONDS:-10} writer
	((secs > 0)) || return 0
	if ! command -v oslat >/dev/null; then
		echo "[bench] oslat (rt-tests) not found: the cores' hold-ups are not measured"
		return 0
	fi
	(
		end=$((SECONDS + secs + 2))
		while ((SECONDS < end)); do
			taskset -c 0 dd if=/dev/zero of="$dir/core-stall.tmp" bs=1M count=1024 status=none
			rm -f "$dir/core-stall.tmp"
		done
	) &
	writer=$!
	sleep 1
	oslat --cpu-list 1 --cpu-main-thread 0 --duration "$secs" --quiet --zero-omit \
		--bucket-size 1024 --json="$out" >/dev/null 2>&1 ||
		echo "[bench] oslat failed: the cores' hold-ups are not measured"
	wait "$writer" || true
	rm -f "$dir/core-stall.tmp"
}
