#!/usr/bin/env bash
# bench/dataplane.sh FLOWS [FLOWS...] — dataplane throughput, one worker:
#   pcap of FLOWS RTP flows (one 218-byte G.711 packet per flow, distinct source IPs)
#   replayed by net_pcap infinite_rx=1 into rtprec (one flow entry "count: FLOWS",
#   forward + rewrite to net_null), then dpdk-testpmd io forwarding on the same pcap.
# Prints per point: rtprec Mpps, cycles/packet (busy cycles / packets), testpmd Mpps, ratio;
# with several FLOWS also the slowdown from the first to the last. JSON in bench/results/.
# Env: BENCH_SECONDS (8), BENCH_WARMUP (2), RTPREC_BIN, BENCH_SKIP_TESTPMD=1, BENCH_STAMP
# (the results file name: dataplane-FLOWS-STAMP.json; default the UTC time).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/deps.sh
source "$ROOT/tools/deps.sh"
# shellcheck source=tools/hugepages.sh
source "$ROOT/tools/hugepages.sh"

if (($# == 0)); then
	echo "usage: $0 FLOWS [FLOWS...]   e.g. $0 1000 1000000" >&2
	exit 2
fi
for n in "$@"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "FLOWS must be a positive integer: $n" >&2; exit 2; }
done

rtprec_deps
(cd "$ROOT" && rtprec_build build)
BIN=${RTPREC_BIN:-$ROOT/build/app/rtprec}

max=0
for n in "$@"; do ((n > max)) && max=$n; done
# infinite_rx preloads every packet as an mbuf (~2.5 KB each with the default data room),
# plus the flow table: reserve enough 2 MB pages for the largest point.
pages=$(((${BENCH_PACKETS:-$((max > 1000000 ? max : 1000000))} + 65536) * 2560 / 2097152 + 768))
((pages < 1024)) && pages=1024
rtprec_hugepages "$pages"

RES="$ROOT/bench/results"
DATA=${BENCH_DATA:-/tmp/rtprec-bench}
mkdir -p "$RES" "$DATA"
stamp=${BENCH_STAMP:-$(date -u +%Y%m%dT%H%M%SZ)}
lines=()
# Every point replays the same number of packets (the largest FLOWS, at least 1M by
# default), so the input's memory footprint is the same and only the flow count varies.
packets=${BENCH_PACKETS:-$((max > 1000000 ? max : 1000000))}
for n in "$@"; do
	pcap="$DATA/flows-$n-$packets.pcap"
	if [[ ! -s $pcap ]]; then
		/usr/bin/python3 "$ROOT/bench/gen_pcap.py" "$n" "$pcap.tmp" --packets "$packets"
		mv "$pcap.tmp" "$pcap"
	fi
	extra=()
	[[ ${BENCH_SKIP_TESTPMD:-0} == 1 ]] && extra+=(--skip-testpmd)
	line=$(/usr/bin/python3 "$ROOT/bench/run_bench.py" --pcap "$pcap" --flows "$n" --packets "$packets" --rtprec "$BIN" \
		--out "$RES/dataplane-$n-$stamp.json" --seconds "${BENCH_SECONDS:-8}" \
		--warmup "${BENCH_WARMUP:-2}" --mem-args="$RTPREC_EAL_MEM_ARGS" "${extra[@]}") || true
	echo "$line"
	lines+=("$line")
done
if (($# > 1)); then
	/usr/bin/python3 - "$RES" "$stamp" "$@" <<'PY'
import json, sys
res, stamp, pts = sys.argv[1], sys.argv[2], sys.argv[3:]
r = {}
for n in pts:
    try:
        r[int(n)] = json.load(open(f"{res}/dataplane-{n}-{stamp}.json"))
    except OSError:
        pass
lo, hi = min(r), max(r)
a, b = r[lo].get("rtprec", {}).get("mpps"), r[hi].get("rtprec", {}).get("mpps")
if a and b:
    print(f"slowdown {lo} -> {hi} flows: {100 * (1 - b / a):.1f}% (target <= 15%)")
PY
fi
