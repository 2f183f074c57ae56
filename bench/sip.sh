#!/usr/bin/env bash
# bench/sip.sh [RATE...] — SIPREC call rate and memory per call.
#   For each RATE (calls/s, default "200 300 400 500 1000 2000") SIPp runs the SIPREC load scenario
#   (INVITE with two streams + rs-metadata, ACK, 0.5 s, BYE) for BENCH_SIP_SECONDS (30)
#   against one rtprec; the highest rate with 0 failed calls is printed.
#   Before that, on a fresh rtprec, BENCH_SIP_HOLD calls (default 50000; two streams take
#   four media ports, so one media address holds about 16k calls: media.addresses gives
#   rtprec four; and four flows: the flow table has 262144 entries) are set up and held
#   (counted as active sessions by rtprecctl, so a refused call does not count), and
#   rtprec's resident memory is read: total and per call. The rate runs get a new rtprec.
# The media port is net_null (no RTP is sent: this measures the control plane), and the
# worker sleeps when idle (dataplane.idle_sleep_us) instead of spinning on a vCPU.
# Results: one summary line, JSON in bench/results/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/deps.sh
source "$ROOT/tools/deps.sh"
# shellcheck source=tools/hugepages.sh
source "$ROOT/tools/hugepages.sh"

rates=("$@")
((${#rates[@]})) || rates=(200 300 400 500 1000 2000)
secs=${BENCH_SIP_SECONDS:-30}
hold=${BENCH_SIP_HOLD:-50000}

rtprec_deps
(cd "$ROOT" && rtprec_build build)
rtprec_hugepages 1024
BIN=${RTPREC_BIN:-$ROOT/build/app/rtprec}
work=$(mktemp -d /tmp/rtprec-sipbench.XXXXXX)
freeport() { /usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(freeport)
cat >"$work/rtprec.yaml" <<YAML
dpdk:
  eal_args: ["--no-pci", "--file-prefix=sipbench$$", "--vdev=net_null0,no-rx=1"$(for a in $RTPREC_EAL_MEM_ARGS; do printf ', "%s"' "$a"; done)]
ports:
  - { name: media0, device: net_null0, ipv4: 198.18.0.10/24 }
# the worker has nothing to receive here: let it sleep when idle so that the vCPU it
# would spin on is left to SIPp and the control plane being measured
dataplane: { idle_sleep_us: 200, flow_table_size: 262144 }
control: { socket: "$work/ctl.sock" }
recording: { dir: "$work/rec" }
log: { level: warning }
sip:
  listen: ["udp:127.0.0.1:$port"]
  max_sessions: 60000
media:
  addresses: [198.18.0.10, 198.18.0.11, 198.18.0.12, 198.18.0.13]
  port_min: 1024
  port_max: 65535
  timeout_s: 0
YAML
pid=
start_rtprec() {
	: >"$work/rtprec.out"
	"$BIN" --config "$work/rtprec.yaml" >"$work/rtprec.out" 2>"$work/rtprec.err" &
	pid=$!
	for _ in $(seq 1 100); do grep -q '"ready"' "$work/rtprec.out" && return 0; sleep 0.2; done
	cat "$work/rtprec.err" >&2
	exit 1
}
stop_rtprec() {
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
trap 'stop_rtprec; rm -rf "$work"' EXIT

sipp_run() { # SCENARIO RATE CALLS LIMIT TIMEOUT
	timeout $(($5 + 30)) sipp -sf "$ROOT/tests/sipp/$1" -r "$2" -m "$3" -l "$4" -t u1 -nostdin \
		-timeout "${5}s" -timeout_error -max_recv_loops 1000 -p "$(freeport)" "127.0.0.1:$port" \
		>"$work/sipp.out" 2>&1
}

# memory first, on a fresh process: HOLD calls set up and held
start_rtprec
rss0=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
sed 's/<pause milliseconds="500"\/>/<pause milliseconds="600000"\/>/' \
	"$ROOT/tests/sipp/siprec_load_uac.xml" >"$work/hold_uac.xml"
timeout 900 sipp -sf "$work/hold_uac.xml" -r 500 -m "$hold" -l "$hold" -t u1 -nostdin \
	-max_recv_loops 1000 -p "$(freeport)" "127.0.0.1:$port" >"$work/hold.out" 2>&1 &
spid=$!
active() { "$(dirname "$BIN")/rtprecctl" -s "$work/ctl.sock" status 2>/dev/null |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions_active"])' 2>/dev/null ||
	echo 0; }
for _ in $(seq 1 $((hold / 250 + 60))); do
	n=$(active)
	((n >= hold)) && break
	sleep 1
done
sleep 2
held=$(active)
rss1=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
kill $spid 2>/dev/null || true
wait $spid 2>/dev/null || true
stop_rtprec

# CPU time (ms) of rtprec's control-plane thread (the main thread: SIP, sessions)
cp_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$pid/task/$pid/stat"; }

start_rtprec
best=0
best_us=0
results=()
for r in "${rates[@]}"; do
	c0=$(cp_cpu_ms)
	if sipp_run siprec_load_uac.xml "$r" $((r * secs)) 60000 $((secs + 60)); then
		sleep 3 # the BYEs' last answers
		us=$((($(cp_cpu_ms) - c0) * 1000 / (r * secs)))
		echo "rate $r calls/s for ${secs}s: 0 failed calls; control-plane thread ${us} us CPU per call (one dedicated core: ~$((1000000 / (us > 0 ? us : 1))) calls/s)"
		best=$r
		best_us=$us
		results+=("{\"rate\":$r,\"ok\":true,\"cp_us_per_call\":$us}")
	else
		failed=$(grep -E "Failed call" "$work/sipp.out" | tail -1 | awk -F'|' '{print $3}' | tr -d ' ')
		echo "rate $r calls/s: failed calls: ${failed:-?}"
		results+=("{\"rate\":$r,\"ok\":false}")
		break
	fi
	sleep 3 # let every session finish
done

per=$(((rss1 - rss0) * 1024 / (held > 0 ? held : 1)))
line="sip: highest rate with 0 failures ${best} calls/s (target >= 2000; the control-plane thread used ${best_us} us per call there, ~$((1000000 / (best_us > 0 ? best_us : 1))) calls/s on a core of its own); ${held} calls held (active sessions): RSS ${rss1} kB (+$((rss1 - rss0)) kB, ${per} B per call; 50k calls would take ~$((per * 50000 / 1048576)) MiB, target <= 4096)"
echo "$line"
mkdir -p "$ROOT/bench/results"
printf '{"rates":[%s],"best_cps":%s,"cp_us_per_call":%s,"held_calls":%s,"rss_kb":%s,"bytes_per_call":%s}\n' \
	"$(IFS=,; echo "${results[*]}")" "$best" "$best_us" "$held" "$rss1" "$per" \
	>"$ROOT/bench/results/sip-$(date -u +%Y%m%dT%H%M%SZ).json"
