#!/usr/bin/env bash
# ./run.sh [rtprec args...] — install what is missing, build, reserve hugepages and run
# rtprec in the foreground on its embedded default config (net_tap "rtprec0"; the port
# address and the demo flow come from `rtprec --print-default-config`; the kernel side of the
# tap gets the first other host address of that subnet). Recordings: ./recordings/.
# Extra arguments go to rtprec, e.g. ./run.sh --config my.yaml. Ctrl-C stops it cleanly.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/deps.sh
source "$ROOT/tools/deps.sh"
# shellcheck source=tools/hugepages.sh
source "$ROOT/tools/hugepages.sh"

TAP=${RTPREC_TAP_IFACE:-rtprec0}

if [[ $(id -u) -ne 0 ]]; then
	rtprec_log "run.sh needs root (packages, hugepages, the tap interface)"
	exit 1
fi

rtprec_deps
(cd "$ROOT" && rtprec_build build)
rtprec_hugepages "${RTPREC_HUGEPAGES:-1024}"

BIN="$ROOT/build/app/rtprec"
# Addresses of the embedded default config: the port's ipv4 and the demo flow's dst;
# the kernel side of the tap gets .1 of the same subnet (or RTPREC_TAP_HOST_ADDR).
defcfg=$("$BIN" --print-default-config)
DP_CIDR=$(sed -nE 's/^[[:space:]]*ipv4:[[:space:]]*"?([0-9.]+\/[0-9]+)"?.*/\1/p' <<<"$defcfg" | head -n1)
DEMO_DST=$(sed -nE 's/.*dst:[[:space:]]*"?([0-9.]+:[0-9]+)"?.*/\1/p' <<<"$defcfg" | head -n1)
DP_ADDR=${DP_CIDR%/*}
DEMO_PORT=${DEMO_DST#*:}
HOST_ADDR=${RTPREC_TAP_HOST_ADDR:-$(/usr/bin/python3 -c '
import ipaddress, sys
i = ipaddress.ip_interface(sys.argv[1])
h = [a for a in i.network.hosts() if a != i.ip][0]
print(f"{h}/{i.network.prefixlen}")' "$DP_CIDR")}
SUBNET=$(/usr/bin/python3 -c 'import ipaddress,sys; print(ipaddress.ip_interface(sys.argv[1]).network)' "$HOST_ADDR")

# Never shadow a network the host already uses (e.g. the machine's own LAN).
subnet_taken_by() {
	ip -o -4 addr show | awk -v tap="$TAP" '$2 != tap {print $2, $4}' |
		while read -r dev cidr; do
			if /usr/bin/python3 -c 'import ipaddress,sys; a=ipaddress.ip_interface(sys.argv[1]).network; b=ipaddress.ip_network(sys.argv[2]); sys.exit(0 if a.overlaps(b) else 1)' "$cidr" "$SUBNET"; then
				echo "$dev ($cidr)"
			fi
		done
}

args=("$@")
custom_config=0
for a in "${args[@]}"; do
	case $a in -c | -c?* | --config | --config=*) custom_config=1 ;; --) break ;; esac
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
# tee ignores INT/TERM: a Ctrl-C must not cut the pipe before rtprec prints its last stats
setsid "$BIN" "${args[@]}" > >(trap "" INT TERM; exec tee "$outlog") &
pid=$!
# shellcheck disable=SC2317 # called from traps
forward() { kill -s "$1" "$pid" 2>/dev/null || true; }
trap 'forward INT' INT
trap 'forward TERM' TERM
trap 'forward HUP' HUP
trap 'forward USR1' USR1

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
elif ((custom_config == 0)) && taken=$(subnet_taken_by) && [[ -n $taken ]]; then
	rtprec_log "not configuring $TAP: $SUBNET overlaps $taken on this host;"
	rtprec_log "set RTPREC_TAP_HOST_ADDR and use a config whose port is in another subnet"
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
[rtprec] send RTP to $DEMO_DST, e.g. 5 s of G.711:
  /usr/bin/python3 -c 'import socket,struct,time;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);[(s.sendto(struct.pack("!BBHII",0x80,0,i,i*160,0x1234)+bytes(160),("$DP_ADDR",$DEMO_PORT)),time.sleep(0.02)) for i in range(250)]'
  echo hello | nc -u -w1 $DP_ADDR $DEMO_PORT
  ping -c 3 $DP_ADDR
[rtprec] recordings: $PWD/recordings/demo.pcap   (stats: kill -USR1 $pid; stop: Ctrl-C)
[rtprec] SIPREC: SIP on udp:127.0.0.1:5060; each call is recorded in
  $PWD/recordings/YYYY/MM/DD/<session-id>/ (media.pcap, metadata.xml, session.json);
  media for calls goes to $DP_ADDR, ports 30000-39999 (send it from the ${TAP} side)
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
