#!/usr/bin/env bash
# bench/pktgen/make_pcaps.sh [OUT_DIR] [-- rtprec-gen options...]
# Writes, for each stream count in PCAP_STREAMS, OUT_DIR/g711-<N>x<R>.pcap: N G.711 RTP
# streams (src 100.64.0.1 + i, dst 192.0.2.10:30000 unless the options say otherwise),
# R packets each (PCAP_ROUNDS, 50 = one second of media), written by
# rtprec-gen --pcap-out, for `pktgen -s PORT:FILE` (see README.md). Pass the device
# under test's addresses after "--", e.g. -- --dst 198.51.100.7:40000 --dst-mac 3c:fd:fe:00:00:01
# Env: RTPREC_GEN (default build*/bench/gen/rtprec-gen), PCAP_STREAMS ("1000 10000"),
# PCAP_ROUNDS (50).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=/tmp/rtprec-pktgen
if (($# > 0)) && [[ $1 != -- ]]; then
	OUT=$1
	shift
fi
[[ ${1:-} == -- ]] && shift
GEN=${RTPREC_GEN:-}
if [[ -z $GEN ]]; then
	for b in "$ROOT"/build "$ROOT"/build-*; do
		[[ -x $b/bench/gen/rtprec-gen ]] && { GEN=$b/bench/gen/rtprec-gen; break; }
	done
fi
if [[ -z $GEN || ! -x $GEN ]]; then
	echo "no rtprec-gen: meson setup build && ninja -C build" >&2
	exit 2
fi
rounds=${PCAP_ROUNDS:-50}
mkdir -p "$OUT"
for n in ${PCAP_STREAMS:-1000 10000}; do
	f="$OUT/g711-${n}x${rounds}.pcap"
	"$GEN" --pcap-out "$f" --streams "$n" --count $((n * rounds)) "$@" >/dev/null
	echo "$f: $n streams x $rounds packets ($(du -h "$f" | cut -f1))"
done
