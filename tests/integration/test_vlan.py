"""Ports with `vlan:` on net_pcap: a port takes frames of its VLAN only (others counted as
vlan_other); forwarded frames leave tagged with the output port's VLAN (tag replaced with
its priority kept, put in with the priority of the DSCP class, or taken out for a port
without one); ARP and ICMP replies keep the tag; ARP requests for a next hop go out
tagged; recordings hold the frames exactly as received, whatever the forward did to them.
(No real Linux peer on a VLAN here: this kernel has no 802.1Q, CONFIG_VLAN_8021Q unset.)"""
import os
import struct
import subprocess

import pytest
from scapy.all import ARP, ICMP, IP, UDP, Dot1Q, Ether, Raw, raw

from conftest import (BIN, config_yaml, eal_args, pcap_frames, port_mac, run_until_rx, write_empty_pcap,
                      write_pcap)

PCAP_MAC = ["02:70:63:61:70:%02x" % i for i in range(3)]  # net_pcap's MACs (DPDK 22.11)
GW_MAC = "02:00:00:00:00:01"
GW1_MAC = "02:00:00:00:00:11"
GW2_MAC = "02:00:00:00:00:12"
DP0, DP1, DP2 = "192.0.2.10", "198.51.100.10", "203.0.113.10"
N = 10

FLOWS = [
    # VLAN 100 -> VLAN 200: the tag's id replaced
    dict(name="retag", match=dict(dst=f"{DP0}:30000"), actions=["record", "forward"],
         forward={"to": "10.9.0.1:40000", "from": f"{DP1}:41000", "port": "media1"}),
    # VLAN 100 -> untagged port: the tag taken out
    dict(name="untag", match=dict(dst=f"{DP0}:30002"), actions=["record", "forward"],
         forward={"to": "10.9.0.2:40002", "from": f"{DP2}:41002", "port": "media2"}),
    # untagged port -> VLAN 200: a tag put in
    dict(name="tag", match=dict(dst=f"{DP2}:30004"), actions=["record", "forward"],
         forward={"to": "10.9.0.3:40004", "from": f"{DP1}:41004", "port": "media1"}),
    # a next hop on VLAN 200 nobody answers for: the ARP request goes out tagged
    dict(name="unresolved", match=dict(dst=f"{DP0}:30006"), actions=["forward"],
         forward={"to": "198.51.100.77:40006", "from": f"{DP1}:41006", "port": "media1"}),
]


def rtp(seq, ssrc):
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + bytes([seq]) * 160


def frame(dst, dport, seq, ssrc, tags=(), port=0, tos=0):
    l2 = Ether(src=GW_MAC, dst=PCAP_MAC[port])
    for vid, prio in tags:
        l2 = l2 / Dot1Q(vlan=vid, prio=prio)
    return raw(l2 / IP(src="100.64.0.9", dst=dst, ttl=64, tos=tos) / UDP(sport=5004, dport=dport)
               / Raw(rtp(seq, ssrc)))


@pytest.fixture(scope="module")
def vlan_run(tmp_path_factory):
    if not os.access(BIN, os.X_OK):
        pytest.fail(f"rtprec binary not found at {BIN}")
    tmp = tmp_path_factory.mktemp("vlan")
    per = {
        "retag": [frame(DP0, 30000, s, 0x100, [(100, 5)]) for s in range(1, N + 1)],
        "untag": [frame(DP0, 30002, s, 0x200, [(100, 3)]) for s in range(1, N + 1)],
        # DSCP EF (46) on odd sequence numbers: a tag put in gets priority 5 for them
        "tag": [frame(DP2, 30004, s, 0x300, port=2, tos=0xB8 * (s % 2)) for s in range(1, N + 1)],
    }
    other = [frame(DP0, 30000, 50, 0x100),                    # untagged
             frame(DP0, 30000, 51, 0x100, [(300, 0)]),        # another VLAN
             frame(DP0, 30000, 52, 0x100, [(0, 5)])]          # priority-tagged, no VLAN
    arp = raw(Ether(src=GW_MAC, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=100)
              / ARP(op=1, hwsrc=GW_MAC, psrc="192.0.2.1", pdst=DP0))
    ping = raw(Ether(src=GW_MAC, dst=PCAP_MAC[0]) / Dot1Q(vlan=100, prio=6)
               / IP(src="192.0.2.1", dst=DP0) / ICMP(id=7, seq=1) / Raw(b"vlan-ping"))
    held = [frame(DP0, 30006, s, 0x400, [(100, 0)]) for s in (1, 2)]
    in0 = [f for pair in zip(per["retag"], per["untag"]) for f in pair] + other + [arp, ping] + held
    write_pcap(tmp / "in0.pcap", in0)
    write_pcap(tmp / "in2.pcap", per["tag"])
    write_empty_pcap(tmp / "empty.pcap")
    rec = tmp / "rec"
    cfg = config_yaml(
        eal=eal_args(f"net_pcap0,rx_pcap={tmp}/in0.pcap,tx_pcap={tmp}/out0.pcap",
                     f"net_pcap1,rx_pcap={tmp}/empty.pcap,tx_pcap={tmp}/out1.pcap",
                     f"net_pcap2,rx_pcap={tmp}/in2.pcap,tx_pcap={tmp}/out2.pcap"),
        ports=[dict(name="media0", device="net_pcap0", ipv4=f"{DP0}/24", vlan=100),
               dict(name="media1", device="net_pcap1", ipv4=f"{DP1}/24", gateway="198.51.100.1",
                    gateway_mac=GW1_MAC, vlan=200),
               dict(name="media2", device="net_pcap2", ipv4=f"{DP2}/24", gateway="203.0.113.1",
                    gateway_mac=GW2_MAC)],
        recording_dir=str(rec), flows=FLOWS)
    r, ready, _, rc, final = run_until_rx(cfg, tmp, len(in0) + len(per["tag"]))
    assert rc == 0, r.diag()
    assert final is not None, r.diag()
    yield dict(tmp=tmp, rec=rec, per=per, final=final, ready=ready)


def test_other_vlans_dropped(vlan_run):
    ports = {p["name"]: p["vlan"] for p in vlan_run["ready"]["ports"]}
    assert ports == {"media0": 100, "media1": 200, "media2": 0}, vlan_run["ready"]
    st = vlan_run["final"]
    drops = {k: int(v) for k, v in st.ports["media0"]["drops"].items() if int(v)}
    assert drops == {"vlan_other": 3}, st.ports["media0"]
    for name in ("media1", "media2"):
        assert not any(int(v) for v in st.ports[name]["drops"].values()), st.ports[name]
    for name, frames in vlan_run["per"].items():
        assert st.flows[name]["packets"] == len(frames), (name, st.flows[name])


def tshark_rows(path, *fields):
    p = subprocess.run(["tshark", "-n", "-r", str(path), "-o", "ip.check_checksum:TRUE",
                        "-o", "udp.check_checksum:TRUE", "-T", "fields", "-E", "separator=,"]
                       + [a for f in fields for a in ("-e", f)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [line.split(",") for line in p.stdout.splitlines() if line.strip()]


def test_forwarded_tags(vlan_run):
    """What tshark decodes on each output port: VLAN, priority, addresses, good checksums."""
    tmp = vlan_run["tmp"]
    src1 = port_mac(vlan_run["ready"], "media1", PCAP_MAC[1]).lower()
    rows = tshark_rows(tmp / "out1.pcap", "vlan.id", "vlan.priority", "eth.dst", "eth.src",
                       "ip.src", "udp.dstport", "ip.checksum.status", "udp.checksum.status")
    rows = [r for r in rows if r[5] != ""]  # the ARP requests: test_arp_request_tagged
    assert len(rows) == 2 * N, rows
    by_port = {}
    for vid, prio, dst, src, ip_src, dport, ipst, udpst in rows:
        assert (vid, dst, src, ip_src) == ("200", GW1_MAC, src1, DP1), rows
        assert ipst == "1" and udpst == "1", rows
        by_port.setdefault(dport, []).append(prio)
    assert by_port == {"40000": ["5"] * N, "40004": ["5", "0"] * (N // 2)}, by_port
    rows = tshark_rows(tmp / "out2.pcap", "vlan.id", "eth.dst", "ip.src", "udp.dstport",
                       "ip.checksum.status", "udp.checksum.status")
    assert rows == [["", GW2_MAC, DP2, "40002", "1", "1"]] * N, rows


def test_payload_and_lengths(vlan_run):
    """Only the tag changes the length; the RTP goes through untouched."""
    tmp, per = vlan_run["tmp"], vlan_run["per"]
    out1 = [q for q in map(Ether, pcap_frames(tmp / "out1.pcap")) if UDP in q]
    out2 = [Ether(f) for f in pcap_frames(tmp / "out2.pcap")]
    got = {"retag": [q for q in out1 if q[UDP].dport == 40000],
           "tag": [q for q in out1 if q[UDP].dport == 40004], "untag": out2}
    delta = {"retag": 0, "tag": 4, "untag": -4}
    for name, frames in per.items():
        assert len(got[name]) == len(frames), name
        for o, q in zip(frames, got[name]):
            assert len(raw(q)) == len(o) + delta[name], name
            assert bytes(q[UDP].payload) == bytes(Ether(o)[UDP].payload), name


def test_local_replies_tagged(vlan_run):
    rows = tshark_rows(vlan_run["tmp"] / "out0.pcap", "vlan.id", "vlan.priority", "arp.opcode",
                       "arp.src.proto_ipv4", "icmp.type", "ip.src")
    assert sorted(rows) == sorted([["100", "0", "2", DP0, "", ""], ["100", "6", "", "", "0", DP0]]), rows


def test_arp_request_tagged(vlan_run):
    src1 = port_mac(vlan_run["ready"], "media1", PCAP_MAC[1]).lower()
    rows = tshark_rows(vlan_run["tmp"] / "out1.pcap", "vlan.id", "eth.dst", "eth.src", "arp.opcode",
                       "arp.src.proto_ipv4", "arp.dst.proto_ipv4")
    arps = [r for r in rows if r[3] != ""]
    assert arps, rows
    assert set(map(tuple, arps)) == {("200", "ff:ff:ff:ff:ff:ff", src1, "1", DP1, "198.51.100.77")}, arps


def test_recordings_as_received(vlan_run):
    rec, per = vlan_run["rec"], vlan_run["per"]
    for name, frames in per.items():
        assert pcap_frames(rec / f"{name}.pcap") == frames, f"{name}: recorded bytes differ"
