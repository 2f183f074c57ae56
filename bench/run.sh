#!/usr/bin/env bash
# bench/run.sh SCENARIO [--quick] — one benchmark scenario; each prints its summary
# line(s) and writes JSON under bench/results/.
#   forward   forward + rewrite at 1k, 100k and 1M flows vs dpdk-testpmd io (dataplane.sh)
#   record    recording at 10G G.711 line rate, 60 s, offered/written/dropped (record.sh)
#   scale     throughput as flows grow 1k -> 10k -> 100k -> 1M, slowdown first -> last
#   sip       SIPREC calls/s with 0 failures and memory per held call (sip.sh)
#   ndr       zero-loss rate, 1000 flows over memif from rtprec-gen in another process (ndr.py)
#   rtpengine the same forwarding through rtpengine (userspace, one core) vs rtprec's forward
#             figure at the same flow count (and the last ndr), the ratio (rtpengine.py)
# --quick: seconds and small inputs, for ./test.sh: it only shows that the scenario runs and
# that its counts are consistent, never a speed.
# Env: RTPREC_BIN (build/app/rtprec; rtprec-gen and udp-blast from the same build dir),
# BENCH_NDR_FLOWS (1000), BENCH_NDR_SECONDS (10 per trial), BENCH_NDR_LOSS (0: share of
# packets a passing trial may lose), BENCH_RTPENGINE_CALLS (1000), BENCH_RTPENGINE_SECONDS (5).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scenario=${1:-}
quick=0
[[ ${2:-} == --quick ]] && quick=1

usage() {
	sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

dataplane() {
	if ((quick)); then
		BENCH_PACKETS=20000 BENCH_SECONDS=1 BENCH_WARMUP=1 BENCH_SKIP_TESTPMD=1 \
			"$ROOT/bench/dataplane.sh" "$@"
	else
		"$ROOT/bench/dataplane.sh" "$@"
	fi
}

# For the scenarios driven from here: packages, build, hugepages; sets BIN, BDIR, RES, stamp.
setup() {
	# shellcheck source=tools/deps.sh
	source "$ROOT/tools/deps.sh"
	# shellcheck source=tools/hugepages.sh
	source "$ROOT/tools/hugepages.sh"
	rtprec_deps
	(cd "$ROOT" && rtprec_build build)
	BIN=$(realpath "${RTPREC_BIN:-$ROOT/build/app/rtprec}")
	export RTPREC_BIN=$BIN # absolute: the scripts run it from their work directories
	BDIR=$(dirname "$(dirname "$BIN")")
	rtprec_hugepages 1024
	RES=$ROOT/bench/results
	mkdir -p "$RES"
	stamp=$(date -u +%Y%m%dT%H%M%SZ)
}

case $scenario in
forward)
	if ((quick)); then dataplane 1000; else dataplane 1000 100000 1000000; fi
	;;
scale)
	if ((quick)); then dataplane 100 1000; else dataplane 1000 10000 100000 1000000; fi
	;;
record)
	if ((quick)); then exec "$ROOT/bench/record.sh" --quick; fi
	exec "$ROOT/bench/record.sh"
	;;
sip)
	if ((quick)); then
		BENCH_SIP_SECONDS=3 BENCH_SIP_HOLD=200 exec "$ROOT/bench/sip.sh" 20
	fi
	exec "$ROOT/bench/sip.sh"
	;;
ndr)
	setup
	args=(--flows "${BENCH_NDR_FLOWS:-1000}" --seconds "${BENCH_NDR_SECONDS:-10}"
		--loss-tolerance "${BENCH_NDR_LOSS:-0}")
	((quick)) && args=(--flows 100 --quick)
	exec /usr/bin/python3 "$ROOT/bench/ndr.py" --rtprec "$BIN" --gen "$BDIR/bench/gen/rtprec-gen" \
		--out "$RES/ndr-$stamp.json" --mem-args="$RTPREC_EAL_MEM_ARGS" "${args[@]}"
	;;
rtpengine)
	setup
	calls=${BENCH_RTPENGINE_CALLS:-1000}
	args=(--calls "$calls" --seconds "${BENCH_RTPENGINE_SECONDS:-5}")
	if ((quick)); then
		args=(--quick) # no rtprec run: a --quick run makes no comparison
	else
		BENCH_STAMP=$stamp BENCH_SKIP_TESTPMD=1 "$ROOT/bench/dataplane.sh" "$calls"
		args+=(--rtprec-json "$RES/dataplane-$calls-$stamp.json" --ndr-dir "$RES")
	fi
	exec /usr/bin/python3 "$ROOT/bench/rtpengine.py" --blast "$BDIR/bench/gen/udp-blast" \
		--out "$RES/rtpengine-$stamp.json" "${args[@]}"
	;;
*)
	usage
	;;
esac
