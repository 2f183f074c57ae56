#!/usr/bin/env bash
# bench/run.sh SCENARIO [--quick] — one benchmark scenario; each prints its summary
# line(s) and writes JSON under bench/results/.
#   forward   forward + rewrite at 1k, 100k and 1M flows vs dpdk-testpmd io (dataplane.sh)
#   record    recording at 10G G.711 line rate, 60 s, offered/written/dropped (record.sh)
#   scale     throughput as flows grow 1k -> 10k -> 100k -> 1M, slowdown first -> last
#   sip       SIPREC calls/s with 0 failures and memory per held call (sip.sh)
#   ndr, rtpengine   not written yet (exit 2)
# --quick: seconds and small inputs, for ./test.sh: it only shows that the scenario runs and
# that its counts are consistent, never a speed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scenario=${1:-}
quick=0
[[ ${2:-} == --quick ]] && quick=1

usage() {
	sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
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
ndr | rtpengine)
	echo "bench/run.sh $scenario: not written yet" >&2
	exit 2
	;;
*)
	usage
	;;
esac
