#!/usr/bin/env bash
# ./run.sh [rtprec args...] — install what is missing, build, reserve hugepages and run
# rtprec in the foreground on its embedded default config (net_tap "rtprec0",
# 192.0.2.10/24, flow "demo": UDP to 192.0.2.10:30000 recorded in ./recordings/demo.pcap).
# Extra arguments go to rtprec, e.g. ./run.sh --config my.yaml. Ctrl-C stops it cleanly.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/deps.sh
source "$ROOT/tools/deps.sh"
# shellcheck source=tools/hugepages.sh
source "$ROOT/tools/hugepages.sh"

TAP=${RTPREC_TAP_IFACE:-rtprec0}
HOST_ADDR=${RTPREC_TAP_HOST_ADDR:-192.0.2.1/24}
DP_ADDR=192.0.2.10

if [[ $(id -u) -ne 0 ]]; then
	rtprec_log "run.sh needs root (packages, hugepages, the tap interface)"
	exit 1
fi

rtprec_deps
(cd "$ROOT" && rtprec_build build)
rtprec_hugepages "${RTPREC_HUGEPAGES:-1024}"

args=("$@")
custom_config=0
for a in "${args[@]}"; do
	case $a in --config | --config=*) custom_config=1 ;; --) break ;; esac
done
if [[ $RTPREC_HUGE == 0 ]]; then
	# shellcheck disable=SC2206
	mem=($RTPREC_EAL_MEM_ARGS)
	has_dd=0
	for a in "${args[@]}"; do [[ $a == -- ]] && has_dd=1; done
	((has_dd)) || args+=(--)
	args+=("${mem[@]}")
fi

# Own process group: Ctrl-C reaches run.sh, which forwards one signal to rtprec.
# stdout (JSON lines) goes to the terminal and to a log that tells when rtprec is ready.
outlog=$(mktemp /tmp/rtprec-run.XXXXXX)
trap 'rm -f "$outlog"' EXIT
setsid "$ROOT/build/app/rtprec" "${args[@]}" > >(tee "$outlog") &
pid=$!
forward() { kill -s "$1" "$pid" 2>/dev/null || true; }
trap 'forward INT' INT
trap 'forward TERM' TERM
trap 'forward HUP' HUP

is_up() { ip -o link show "$1" 2>/dev/null | grep -q '<[^>]*[<,]UP[,>]'; }

ready=0
for _ in $(seq 1 100); do # ~20 s
	kill -0 "$pid" 2>/dev/null || break
	if grep -qE '"event": ?"ready"' "$outlog"; then
		ready=1
		break
	fi
	sleep 0.2
done
if ((ready == 0)); then
	if kill -0 "$pid" 2>/dev/null; then
		rtprec_log "rtprec is not ready after 20 s; still waiting for it (pid $pid)"
	fi
elif ((custom_config == 0)); then
	up=0
	for _ in $(seq 1 100); do # ~20 s
		kill -0 "$pid" 2>/dev/null || break
		if ip link show "$TAP" >/dev/null 2>&1; then
			ip addr replace "$HOST_ADDR" dev "$TAP"
			ip link set "$TAP" up
			if is_up "$TAP"; then
				up=1
				break
			fi
		fi
		sleep 0.2
	done
	if ((up)); then
		cat >&2 <<MSG
[rtprec] ready: $TAP is up, kernel side ${HOST_ADDR}, rtprec at $DP_ADDR
[rtprec] send RTP to $DP_ADDR:30000, e.g.
  /usr/bin/python3 -c 'import socket,struct,time;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);[(s.sendto(struct.pack("!BBHII",0x80,0,i,i*160,0x1234)+bytes(160),("$DP_ADDR",30000)),time.sleep(0.02)) for i in range(250)]'
  echo hello | nc -u -w1 $DP_ADDR 30000
  ping -c 3 $DP_ADDR
[rtprec] recordings: $PWD/recordings/demo.pcap   (stats: kill -USR1 $pid; stop: Ctrl-C)
MSG
	elif kill -0 "$pid" 2>/dev/null; then
		rtprec_log "interface $TAP did not come up within 20 s; rtprec still runs (pid $pid)"
	fi
else
	rtprec_log "rtprec runs with your config (pid $pid); stats: kill -USR1 $pid; stop: Ctrl-C"
fi

rc=0
while :; do
	set +e
	wait "$pid"
	rc=$?
	set -e
	kill -0 "$pid" 2>/dev/null || break
done
exit "$rc"
