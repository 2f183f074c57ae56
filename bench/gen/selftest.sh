#!/usr/bin/env bash
# bench/gen/selftest.sh [BUILD_DIR] — self-test of rtprec-gen and bench/pktgen:
#   lua      luac5.3 -p on every bench/pktgen/*.lua, then each script run under a
#            stand-in pktgen (tests/bench/pktgen_mock.lua) that checks its API use
#   rx       tests/bench/test_gen_rx.c (cmocka): the receive side's accounting
#   pcap     rtprec-gen --pcap-out, read back by tshark: 10 SSRCs x 20 packets with
#            consecutive sequence numbers, timestamps +160, good checksums; RTCP SRs
#   ring     rtprec-gen over net_ring0 (TX ring = RX ring, one process): paced
#            10 kpps for 2 s, --count at full speed and two --trials runs, nothing lost
#   veth     rtprec-gen sending on af_packet on one end of a veth pair and receiving
#            on the other, in a network namespace made for the test (root only)
# BUILD_DIR (default build; or RTPREC_GEN=binary) must hold bench/gen/rtprec-gen.
# Prints PASS/FAIL/SKIP lines, then "N passed, N failed"; exits 1 on any failure.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GEN=${RTPREC_GEN:-$ROOT/${1:-build}/bench/gen/rtprec-gen}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/rtprec-gen-selftest.XXXXXX)
NS=rtprecgen$$
npass=0
nfail=0

cleanup() {
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

pass() { echo "PASS: $*"; npass=$((npass + 1)); }
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
skip() { echo "SKIP: $*"; }
# same NAME GOT WANT
same() { if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1: got '$2'"; fi; }

# check NAME JSON EXPR...: every Python expression holds over the JSON line's fields.
check() {
	local name=$1 json=$2 out
	shift 2
	if out=$("$PY" - "$json" "$@" <<'PYEOF' 2>&1
import json, sys
d = json.loads(sys.argv[1])
bad = [e for e in sys.argv[2:] if not eval(e, {}, dict(d))]
if bad:
    sys.exit("not true: " + "; ".join(bad))
PYEOF
	); then
		pass "$name"
	else
		fail "$name: $out -- $json"
	fi
}

# run NAME CMD...: runs CMD (60 s at most), prints its last stdout line; its stderr
# goes to our stderr when it printed nothing.
run() {
	local name=$1 out
	shift
	out=$(timeout -k 5 60 "$@" 2>"$TMP/$name.err" | tail -n 1)
	[[ -n $out ]] || tail -n 5 "$TMP/$name.err" >&2
	echo "$out"
}

gen() {
	local name=$1
	shift
	run "$name" "$GEN" "$@"
}

test_lua() {
	local f s ok=1
	for f in "$ROOT"/bench/pktgen/*.lua; do
		if ! luac5.3 -p "$f" 2>"$TMP/luac.err"; then
			ok=0
			fail "lua syntax $(basename "$f"): $(cat "$TMP/luac.err")"
		fi
	done
	((ok)) && pass "lua syntax (luac5.3 -p bench/pktgen/*.lua)"
	for s in g711_range pcap_replay rate_sweep; do
		if RTPREC_PG_SECONDS=1 timeout 30 lua5.3 "$ROOT/tests/bench/pktgen_mock.lua" \
			"$ROOT/bench/pktgen/$s.lua" >"$TMP/$s.out" 2>&1 && grep -q '^rtprec-pktgen: ' "$TMP/$s.out"; then
			pass "lua $s.lua under the mock pktgen"
		else
			fail "lua $s.lua under the mock pktgen: $(tail -n 3 "$TMP/$s.out")"
		fi
	done
	# newer Pktgen's portStats shape; the mock receiver tops out at 3 Mpps
	if MOCK_PORTSTATS=new RTPREC_PG_SECONDS=1 RTPREC_PG_SWEEP=port RTPREC_PG_STREAMS=2000 \
		timeout 30 lua5.3 "$ROOT/tests/bench/pktgen_mock.lua" "$ROOT/bench/pktgen/rate_sweep.lua" \
		>"$TMP/sweep.out" 2>&1 &&
		grep -q '^rtprec-pktgen: best range streams=2000 pps=3000000 ' "$TMP/sweep.out"; then
		pass "lua rate_sweep.lua finds the mock's 3 Mpps (new portStats API)"
	else
		fail "lua rate_sweep.lua under the new portStats API: $(tail -n 3 "$TMP/sweep.out")"
	fi
}

test_rx_unit() {
	local t
	t=$(dirname "$GEN")/test_gen_rx
	if [[ ! -x $t ]]; then
		skip "rx accounting: no $t (built when cmocka is found)"
		return
	fi
	if timeout 60 "$t" >"$TMP/unit.out" 2>&1; then
		pass "rx accounting: loss, reordering, duplicates, latency (test_gen_rx)"
	else
		fail "rx accounting (test_gen_rx): $(tail -n 5 "$TMP/unit.out")"
	fi
}

test_pcap() {
	local j out
	j=$(gen pcap --pcap-out "$TMP/s.pcap" --streams 10 --count 200)
	check "pcap: rtprec-gen wrote 200 packets" "$j" 'sent == 200' 'rtcp_sent == 0' 'frame_len == 214'
	out=$(timeout 60 tshark -r "$TMP/s.pcap" -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE \
		-d udp.port==30000,rtp -T fields -e rtp.ssrc -e rtp.seq -e rtp.timestamp \
		-e ip.checksum.status -e udp.checksum.status 2>/dev/null | "$PY" -c '
import sys, collections
s = collections.defaultdict(list)
for line in sys.stdin:
    ssrc, seq, ts, ipck, udpck = line.split()
    if ipck != "1" or udpck != "1":
        sys.exit("bad checksum: " + line.strip())
    s[ssrc].append((int(seq), int(ts)))
if len(s) != 10:
    sys.exit("%d SSRCs, not 10" % len(s))
for k, v in s.items():
    if len(v) != 20:
        sys.exit("%s: %d packets" % (k, len(v)))
    for (a, ta), (b, tb) in zip(v, v[1:]):
        if b != (a + 1) % 65536 or tb != (ta + 160) % 2**32:
            sys.exit("%s: %d/%d then %d/%d" % (k, a, ta, b, tb))
print("ok")' 2>&1)
	same "pcap: tshark sees 10 SSRCs x 20, seq +1, timestamp +160, checksums good" "$out" ok
	j=$(gen pcap-rtcp --pcap-out "$TMP/r.pcap" --streams 3 --count 300 --rtcp --rtcp-interval 1)
	check "pcap: 6 RTCP SRs announced" "$j" 'sent == 300' 'rtcp_sent == 6'
	out=$(timeout 60 tshark -r "$TMP/r.pcap" -o udp.check_checksum:TRUE -d udp.port==30001,rtcp \
		-Y 'rtcp.pt == 200 && udp.checksum.status == 1' -T fields -e rtcp.sender.packetcount \
		2>/dev/null | sort -n | tr '\n' ' ')
	same "pcap: tshark sees the SRs (packet counts 50, 100)" "$out" "50 50 50 100 100 100 "
}

# eal NAME: EAL arguments of one run (word-split on purpose by the callers)
eal() {
	# shellcheck disable=SC2086
	echo -l "$($PY -c 'import os; print(min(os.sched_getaffinity(0)))')" --no-pci \
		$RTPREC_EAL_MEM_ARGS --file-prefix "rtprec-gen-selftest-$$-$1" --log-level=error
}

# What a lossless loop shows. "sent" may fall short of rate x duration by a few percent
# when the shared VM holds the sender back more than 10 ms (pace_late): hence >= 90 %.
LOSSLESS=('sent == received + lost' 'lost == 0' 'duplicates == 0' 'reordered == 0'
	'latency_us is not None')

test_ring() {
	local j
	# shellcheck disable=SC2046
	j=$(gen ring $(eal ring) --vdev=net_ring0 -- --streams 10 --rate 10000 --duration 2 \
		--rtcp --rtcp-interval 1)
	check "ring: 10 streams at 10 kpps for 2 s, nothing lost" "$j" "${LOSSLESS[@]}" \
		'sent >= 18000' 'rtcp_received == rtcp_sent > 0' 'rx_other == 0'
	# shellcheck disable=SC2046
	j=$(gen ring-max $(eal ringmax) --vdev=net_ring0 -- --streams 1000 --rate max --count 200000)
	check "ring: --count 200000 at full speed, all back" "$j" "${LOSSLESS[@]}" \
		'sent == 200000' 'received == 200000'
	# shellcheck disable=SC2046
	j=$(printf '10000 0.5\nmax 0.5\n' | gen ring-trials $(eal ringtr) --vdev=net_ring0 -- \
		--streams 100 --trials)
	check "ring: --trials, a paced run then a full-speed one on the same port" "$j" \
		"${LOSSLESS[@]}" 'rate_pps == "max"' 'sent > 100000' 'rx_other == 0'
}

test_veth() {
	local j
	if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null; then
		skip "veth: needs root and iproute2"
		return
	fi
	if ! { ip netns add "$NS" && ip -n "$NS" link add ga type veth peer name gb &&
		ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 &&
		ip -n "$NS" link set ga up && ip -n "$NS" link set gb up; } 2>"$TMP/ns.err"; then
		fail "veth: cannot make the namespace: $(cat "$TMP/ns.err")"
		return
	fi
	# shellcheck disable=SC2046
	j=$(run veth ip netns exec "$NS" "$GEN" $(eal veth) --vdev=net_af_packet0,iface=ga \
		--vdev=net_af_packet1,iface=gb -- --tx-port net_af_packet0 --rx-port net_af_packet1 \
		--streams 10 --rate 10000 --duration 2)
	check "veth: af_packet ga -> gb, 10 kpps for 2 s, nothing lost" "$j" "${LOSSLESS[@]}" \
		'sent >= 18000'
}

if [[ ! -x $GEN ]]; then
	fail "no rtprec-gen at $GEN (meson setup ${1:-build} && ninja -C ${1:-build})"
	echo "$npass passed, $nfail failed"
	exit 1
fi
for t in luac5.3 lua5.3 tshark; do
	command -v "$t" >/dev/null || fail "$t missing (apt-get install lua5.3 tshark)"
done
# shellcheck source=tools/hugepages.sh
source "$ROOT/tools/hugepages.sh"
rtprec_hugepages 1024
test_lua
test_rx_unit
test_pcap
test_ring
test_veth
echo "$npass passed, $nfail failed"
((nfail == 0))
