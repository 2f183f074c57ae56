"""rtprec on net_af_packet over a veth pair; the kernel side lives in a network namespace.
ARP for the port address is answered, ping gets replies, and a forward flow without
gateway_mac resolves its next hop by ARP."""
import json
import os
import shutil
import subprocess
import uuid

import pytest

from conftest import NS_ADDR, DP_ADDR, config_yaml, eal_args, sh

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                                reason="needs root and iproute2 (netns, veth)")

PY = "/usr/bin/python3"


def start_on_veth(start_rtprec, tmp_path, v, flows):
    cfg = config_yaml(
        eal=eal_args(f"net_af_packet0,iface={v['host_if']}"),
        ports=[dict(name="media0", device="net_af_packet0", ipv4=f"{DP_ADDR}/24")],
        recording_dir=str(tmp_path / "rec"), flows=flows)
    r = start_rtprec(cfg)
    r.wait_ready()
    return r


def test_arp_and_ping(start_rtprec, tmp_path, veth_ns):
    v = veth_ns
    r = start_on_veth(start_rtprec, tmp_path, v, [])
    p = sh(["ip", "netns", "exec", v["ns"], "ping", "-c", "3", "-W", "2", DP_ADDR], timeout=30, check=False)
    assert p.returncode == 0, f"{p.stdout}\n{p.stderr}\n{r.diag()}"
    assert "3 received" in p.stdout, p.stdout
    n = sh(["ip", "netns", "exec", v["ns"], "ip", "neigh", "show", DP_ADDR])
    assert v["host_mac"].lower() in n.stdout.lower(), (n.stdout, v["host_mac"])
    rc, final = r.stop()
    assert rc == 0, r.diag()
    assert final is not None
    assert final.ports["media0"]["tx_packets"] >= 4  # >= 1 ARP reply + 3 echo replies
    assert final.ports["media0"]["drops"].get("icmp_malformed", 0) == 0


RECEIVER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("{ns_addr}", 5000))
s.settimeout(0.5)
print("listening", flush=True)
want, got, srcs, deadline = {n}, [], set(), time.monotonic() + 15
while len(got) < want and time.monotonic() < deadline:
    try:
        d, a = s.recvfrom(2048)
    except socket.timeout:
        continue
    got.append(d); srcs.add(a)
import json
print(json.dumps([len(got), sorted(srcs), [int.from_bytes(d[2:4], "big") for d in got]]), flush=True)
"""

SENDER = r"""
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 11, 1)  # SO_NO_CHECK: UDP checksum 0, no offload games
s.bind(("{ns_addr}", 4000))
for i in range({n}):
    s.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 160, 0x5151) + bytes(160), ("{dp_addr}", 30000))
    time.sleep(0.01)
"""


def test_forward_resolves_next_hop(start_rtprec, tmp_path, veth_ns):
    v, n = veth_ns, 20
    flows = [dict(name="to-ns", match=dict(dst=f"{DP_ADDR}:30000"), actions=["forward", "record"],
                  forward={"to": f"{NS_ADDR}:5000", "from": f"{DP_ADDR}:40002", "port": "media0"})]
    r = start_on_veth(start_rtprec, tmp_path, v, flows)
    rx = subprocess.Popen(["ip", "netns", "exec", v["ns"], PY, "-c",
                           RECEIVER.format(ns_addr=NS_ADDR, n=n)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert rx.stdout.readline().strip() == "listening"
        sh(["ip", "netns", "exec", v["ns"], PY, "-c",
            SENDER.format(ns_addr=NS_ADDR, dp_addr=DP_ADDR, n=n)], timeout=30)
        out, err = rx.communicate(timeout=25)
    finally:
        if rx.poll() is None:
            rx.kill()
            rx.wait(timeout=5)
    assert rx.returncode == 0, err
    count, srcs, seqs = json.loads(out.strip().splitlines()[-1])
    assert count == n, f"received {count}/{n}: {out}\n{r.diag()}"
    assert srcs == [[DP_ADDR, 40002]], srcs
    assert seqs == list(range(n)), seqs
    rc, final = r.stop()
    assert rc == 0, r.diag()
    fl = final.flows["to-ns"]
    assert fl["packets"] == n and fl["rtp_lost"] == 0, fl
    assert final.worker_drops().get("neigh_hold_full", 0) == 0
