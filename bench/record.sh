#!/usr/bin/env bash
# bench/record.sh [--quick] — recording throughput, one worker and one recorder thread:
#   G.711 packets (214 B captured, 238 B on the wire) replayed by net_pcap infinite_rx,
#   paced at BENCH_RECORD_PPS (default 5252100 = 10G line rate) for BENCH_SECONDS (60),
#   recorded into BENCH_FILES (16) per-flow pcap files on a tmpfs the script mounts, rotated
#   every 128 MB (the on_close hook deletes rotated files so a minute at 10G fits in RAM).
#   Then dpdk-testpmd io on the same input. Prints packets offered, written, dropped, the
#   rate, worker cycles/packet and the ratio to testpmd; JSON in bench/results/.
#   BENCH_RECORD_PPS=0: no pacing (as fast as the worker reads; drops show the limit).
#   BENCH_SKIP_TESTPMD=1: no testpmd run.
#   BENCH_RECORD_FORWARD=1: flows [record, forward]: every packet also rewritten and sent
#   on a net_null port (static flows that record and forward), counted as forwarded.
#   In a VM that reports free memory to its hypervisor, reporting is stopped for the run
#   and BENCH_VM_WARM_MB (default: free memory less 1 GB, at most 32 GB) backed first
#   (bench/vm_memory.sh); BENCH_VM_MEMORY=0 leaves the guest as it is.
#   First, BENCH_STALL_SECONDS (10; 0 skips) of oslat on the worker's core while the
#   recorder's core writes the tmpfs (bench/core_stall.sh): the longest hold-up of a busy
#   core on this machine, against what the RX ring covers (printed, and in the JSON).
#   --quick: 5 s at 200 kpps, a small input, no testpmd: checks that the counts add up.
# Exit 0 when offered = written + dropped (never a speed check).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/deps.sh
source "$ROOT/tools/deps.sh"
# shellcheck source=tools/hugepages.sh
source "$ROOT/tools/hugepages.sh"
# shellcheck source=bench/vm_memory.sh
source "$ROOT/bench/vm_memory.sh"
# shellcheck source=bench/core_stall.sh
source "$ROOT/bench/core_stall.sh"

quick=0
[[ ${1:-} == --quick ]] && quick=1
seconds=${BENCH_SECONDS:-60}
pps=${BENCH_RECORD_PPS:-5252100}
flows=${BENCH_FLOWS:-1024}
files=${BENCH_FILES:-16}
packets=${BENCH_PACKETS:-262144}
ring=${BENCH_RECORD_RING:-2097152}
rotate=${BENCH_ROTATE_MB:-64}
extra=(--ring "$ring" --rotate-mb "$rotate")
[[ ${BENCH_SKIP_TESTPMD:-0} == 1 ]] && extra+=(--skip-testpmd)
if ((quick)); then
	seconds=5 pps=200000 packets=16384 flows=64 files=4
	extra=(--skip-testpmd --rotate-mb 1 --ring 16384)
fi
[[ ${BENCH_RECORD_FORWARD:-0} == 1 ]] && extra+=(--forward)

rtprec_deps
(cd "$ROOT" && rtprec_build build)
BIN=${RTPREC_BIN:-$ROOT/build/app/rtprec}
# preloaded pcap + pool + record ring in 512-byte mbufs (~1 KB each with headers)
rtprec_hugepages $(((packets * 2 + ring + 65536) * 1100 / 2097152 + 512))

RES="$ROOT/bench/results"
DATA=${BENCH_DATA:-/tmp/rtprec-bench}
mkdir -p "$RES" "$DATA"
pcap="$DATA/flows-$flows-$packets.pcap"
if [[ ! -s $pcap ]]; then
	/usr/bin/python3 "$ROOT/bench/gen_pcap.py" "$flows" "$pcap.tmp" --packets "$packets"
	mv "$pcap.tmp" "$pcap"
fi
recdir=$(mktemp -d /tmp/rtprec-recbench.XXXXXX)
cleanup() {
	bench_vm_memory_release
	umount "$recdir" 2>/dev/null || true
	rmdir "$recdir" 2>/dev/null || true
}
trap cleanup EXIT
mount -t tmpfs -o size="${BENCH_TMPFS:-8g}",huge="${BENCH_TMPFS_HUGE:-within_size}" rtprec-recbench "$recdir"
((quick)) || bench_vm_memory_hold "${BENCH_VM_WARM_MB:-}"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
if ((!quick)); then
	bench_core_stall "$RES/record-$stamp.oslat.json" "$recdir"
	if [[ -s $RES/record-$stamp.oslat.json ]]; then
		extra+=(--oslat "$RES/record-$stamp.oslat.json")
	fi
fi
/usr/bin/python3 "$ROOT/bench/record_bench.py" --pcap "$pcap" --flows "$flows" --files "$files" \
	--packets "$packets" --pps "$pps" --seconds "$seconds" --rtprec "$BIN" --recdir "$recdir" \
	--out "$RES/record-$stamp.json" --mem-args="$RTPREC_EAL_MEM_ARGS" "${extra[@]}"
