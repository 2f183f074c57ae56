"""rtprec on net_pcap: flows (record, forward, record+forward, drop), malformed packets,
recordings byte for byte, forwarded packets rewritten with valid checksums."""
import os
import struct
import subprocess

import pytest
from scapy.all import IP, TCP, UDP, Dot1Q, Ether, IPOption_EOL, IPOption_NOP, Raw, raw

from conftest import (BIN, DROP_REASONS, PCAP_MAGIC_NS, config_yaml, eal_args, pcap_frames, port_mac,
                      read_pcap, run_until_rx, write_empty_pcap, write_pcap)

PCAP0_MAC = "02:70:63:61:70:00"  # net_pcap's MAC for its first/second port (DPDK 22.11)
PCAP1_MAC = "02:70:63:61:70:01"
GW0_MAC = "02:00:00:00:00:01"
GW1_MAC = "02:00:00:00:00:02"
DP0 = "192.0.2.10"
DP1 = "198.51.100.10"


def rtp(seq, ts, ssrc, pt=0, n=160):
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + bytes([seq & 0xFF]) * n


def udp_frame(src, sport, dst, dport, payload, chksum=None, **ipkw):
    u = UDP(sport=sport, dport=dport) if chksum is None else UDP(sport=sport, dport=dport, chksum=chksum)
    return raw(Ether(src=GW0_MAC, dst=PCAP0_MAC) / IP(src=src, dst=dst, ttl=64, id=0x1000, **ipkw) / u
               / Raw(payload))


def ip_bytes_fix(frame, mutate):
    """Apply mutate(bytearray ip_header_and_rest) to a frame's IP part, fix the IP checksum."""
    b = bytearray(frame)
    ip = b[14:]
    mutate(ip)
    ihl = (ip[0] & 0x0F) * 4
    if 20 <= ihl <= len(ip):
        ip[10:12] = b"\0\0"
        s = sum(struct.unpack("!%dH" % (ihl // 2), bytes(ip[:ihl])))
        while s >> 16:
            s = (s & 0xFFFF) + (s >> 16)
        ip[10:12] = struct.pack("!H", ~s & 0xFFFF)
    return bytes(b[:14] + ip)


FLOWS = [
    dict(name="rec-only", match=dict(dst=f"{DP0}:30000", src="198.51.100.5:4000"), actions=["record"]),
    dict(name="fwd-only", match=dict(dst=f"{DP0}:30002"), actions=["forward"],
         forward={"to": "203.0.113.7:40000", "from": f"{DP1}:40002", "port": "media1"}),
    dict(name="rec-fwd", match=dict(dst=f"{DP0}:30004", src="198.51.100.7:6000"),
         actions=["record", "forward"],
         forward={"to": "203.0.113.8:40004", "from": f"{DP1}:40004", "port": "media1"}),
    dict(name="dropped", match=dict(dst=f"{DP0}:30006"), actions=["drop"]),
]


def build_traffic():
    """Return (frames, per-flow frames, expected drops, forwarded [(frame, flow)])."""
    per = {"rec-only": [], "fwd-only": [], "rec-fwd": [], "dropped": []}
    # rec-only: seq 100..109 with 105 and 107 lost
    for s in [x for x in range(100, 110) if x not in (105, 107)]:
        per["rec-only"].append(udp_frame("198.51.100.5", 4000, DP0, 30000, rtp(s, s * 160, 0x1111)))
    # fwd-only: 12 in order, from a source the flow does not name, UDP checksum 0
    for s in range(500, 512):
        per["fwd-only"].append(udp_frame("198.51.100.6", 5000, DP0, 30002, rtp(s, s * 160, 0x2222),
                                         chksum=0))
    # rec-fwd: 1 2 3 5 4 6 .. 10 (one reordered), valid UDP checksums
    for s in [1, 2, 3, 5, 4, 6, 7, 8, 9, 10]:
        per["rec-fwd"].append(udp_frame("198.51.100.7", 6000, DP0, 30004, rtp(s, s * 160, 0x3333)))
    for s in range(5):
        per["dropped"].append(udp_frame("198.51.100.9", 7000, DP0, 30006, rtp(s, s * 160, 0x4444)))

    good = []
    queues = {k: list(v) for k, v in per.items()}
    while any(queues.values()):  # interleave flows, order kept inside each flow
        for k in per:
            if queues[k]:
                good.append((k, queues[k].pop(0)))

    ok = udp_frame("198.51.100.5", 4000, DP0, 30000, rtp(999, 0, 0x1111))
    bad = {
        "no_flow": [
            udp_frame("198.51.100.99", 4000, DP0, 30000, rtp(1, 0, 9)),  # wrong src for rec-only
            udp_frame("198.51.100.5", 4001, DP0, 30000, rtp(2, 0, 9)),   # wrong src port
            udp_frame("198.51.100.5", 4000, DP0, 31000, rtp(3, 0, 9)),   # no flow on that port
        ],
        "eth_truncated": [bytes(10), bytes.fromhex("0270636170000200000000")],
        "vlan_truncated": [raw(Ether(src=GW0_MAC, dst=PCAP0_MAC, type=0x8100)) + b"\x00\x07"] * 2,
        "not_ipv4": [raw(Ether(src=GW0_MAC, dst=PCAP0_MAC) / Dot1Q(vlan=7, type=0x88B5)
                         / Raw(b"vlan-tagged junk" * 3)),
                     raw(Ether(src=GW0_MAC, dst=PCAP0_MAC, type=0x1234) / Raw(b"junk" * 12))],
        "ip_truncated": [raw(Ether(src=GW0_MAC, dst=PCAP0_MAC, type=0x0800)) + b"\x45" + bytes(9)] * 2,
        "ip_bad_version": [ip_bytes_fix(ok, lambda ip: ip.__setitem__(0, 0x65))] * 2,
        "ip_bad_ihl": [ip_bytes_fix(ok, lambda ip: ip.__setitem__(0, 0x44))] * 2,
        "ip_options": [raw(Ether(src=GW0_MAC, dst=PCAP0_MAC)
                           / IP(src="198.51.100.5", dst=DP0,
                                options=[IPOption_NOP(), IPOption_NOP(), IPOption_NOP(), IPOption_EOL()])
                           / UDP(sport=4000, dport=30000) / Raw(rtp(7, 0, 0x1111)))] * 2,
        "ip_bad_length": [ip_bytes_fix(ok, lambda ip: ip.__setitem__(slice(2, 4), b"\x00\x0a")),
                          ip_bytes_fix(ok, lambda ip: ip.__setitem__(slice(2, 4), b"\x00\x13"))],
        "ip_fragment": [udp_frame("198.51.100.5", 4000, DP0, 30000, rtp(8, 0, 0x1111), flags="MF"),
                        raw(Ether(src=GW0_MAC, dst=PCAP0_MAC)
                            / IP(src="198.51.100.5", dst=DP0, proto=17, frag=100) / Raw(b"x" * 40))],
        "not_udp": [raw(Ether(src=GW0_MAC, dst=PCAP0_MAC) / IP(src="198.51.100.5", dst=DP0)
                        / TCP(sport=4000, dport=30000) / Raw(b"x" * 20)),
                    raw(Ether(src=GW0_MAC, dst=PCAP0_MAC) / IP(src="198.51.100.5", dst=DP0, proto=47)
                        / Raw(b"\0" * 24))],
        "udp_truncated": [raw(Ether(src=GW0_MAC, dst=PCAP0_MAC)
                              / IP(src="198.51.100.5", dst=DP0, proto=17) / Raw(b"\x0f\xa0\x75"))] * 2,
        "udp_bad_length": [raw(Ether(src=GW0_MAC, dst=PCAP0_MAC) / IP(src="198.51.100.5", dst=DP0)
                               / UDP(sport=4000, dport=30000, len=4) / Raw(rtp(9, 0, 0x1111))),
                           raw(Ether(src=GW0_MAC, dst=PCAP0_MAC) / IP(src="198.51.100.5", dst=DP0)
                               / UDP(sport=4000, dport=30000, len=400) / Raw(rtp(10, 0, 0x1111)))],
    }
    frames = []
    bad_list = [(k, f) for k, fs in bad.items() for f in fs]
    # spread the bad ones through the good ones
    step = max(1, len(good) // len(bad_list))
    gi = 0
    for k, f in bad_list:
        frames.extend(x[1] for x in good[gi:gi + step])
        gi += step
        frames.append(f)
    frames.extend(x[1] for x in good[gi:])
    drops = {r: 0 for r in DROP_REASONS}
    for k, fs in bad.items():
        drops[k] += len(fs)
    drops["flow_drop"] = len(per["dropped"])
    forwarded = [(f, name) for name, f in good if name in ("fwd-only", "rec-fwd")]
    return frames, per, drops, forwarded


def ones_sum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def check_ip_csum(ipb):
    ihl = (ipb[0] & 0xF) * 4
    return ones_sum(bytes(ipb[:ihl])) == 0xFFFF


def check_udp_csum(ipb):
    ihl = (ipb[0] & 0xF) * 4
    udp = bytes(ipb[ihl:])
    ulen = struct.unpack("!H", udp[4:6])[0]
    if struct.unpack("!H", udp[6:8])[0] == 0:
        return True
    pseudo = bytes(ipb[12:20]) + struct.pack("!BBH", 0, 17, ulen)
    return ones_sum(pseudo + udp[:ulen]) == 0xFFFF


@pytest.fixture(scope="module")
def pcap_run(tmp_path_factory):
    if not os.access(BIN, os.X_OK):
        pytest.fail(f"rtprec binary not found at {BIN}")
    tmp_path = tmp_path_factory.mktemp("pcap")
    frames, per, drops, forwarded = build_traffic()
    write_pcap(tmp_path / "in.pcap", frames)
    write_empty_pcap(tmp_path / "empty.pcap")
    rec = tmp_path / "rec"
    cfg = config_yaml(
        eal=eal_args(f"net_pcap0,rx_pcap={tmp_path}/in.pcap,tx_pcap={tmp_path}/out0.pcap",
                     f"net_pcap1,rx_pcap={tmp_path}/empty.pcap,tx_pcap={tmp_path}/out1.pcap"),
        ports=[dict(name="media0", device="net_pcap0", ipv4=f"{DP0}/24", gateway="192.0.2.1",
                    gateway_mac=GW0_MAC),
               dict(name="media1", device="net_pcap1", ipv4=f"{DP1}/24", gateway="198.51.100.1",
                    gateway_mac=GW1_MAC)],
        recording_dir=str(rec), flows=FLOWS)
    r, ready, live, rc, final = run_until_rx(cfg, tmp_path, len(frames))
    assert rc == 0, r.diag()
    assert final is not None, f"no exit stats\n{r.diag()}"
    assert not r.bad_lines, f"non-JSON lines on stdout: {r.bad_lines[:5]}"
    yield dict(tmp=tmp_path, rec=rec, frames=frames, per=per, drops=drops, forwarded=forwarded,
               ready=ready, live=live, final=final, r=r)


def test_counters(pcap_run):
    st, n = pcap_run["final"], len(pcap_run["frames"])
    fwd = len(pcap_run["forwarded"])
    assert set(st.ports) == {"media0", "media1"}, st
    assert st.worker_sum("rx_packets") == n, st
    assert st.worker_sum("tx_packets") == fwd, st
    assert st.ports["media0"]["rx_packets"] == n, st
    assert st.ports["media1"]["rx_packets"] == 0, st
    assert st.ports["media0"]["tx_packets"] == 0, st
    assert st.ports["media1"]["tx_packets"] == fwd, st
    for reason in DROP_REASONS:
        assert reason in st.ports["media0"]["drops"], reason
    assert st.worker_drops() == pcap_run["drops"], st
    # live SIGUSR1 snapshot after all rx agrees with the exit one
    assert pcap_run["live"].worker_drops() == pcap_run["drops"]


def test_port_drops_by_reason(pcap_run):
    st = pcap_run["final"]
    got = {k: int(v) for k, v in st.ports["media0"]["drops"].items()}
    assert got == pcap_run["drops"], st.ports["media0"]
    assert all(int(v) == 0 for v in st.ports["media1"]["drops"].values()), st.ports["media1"]


def test_flow_stats(pcap_run):
    st, per = pcap_run["final"], pcap_run["per"]
    assert set(st.flows) == {f["name"] for f in FLOWS}, st
    for name, frames in per.items():
        fl = st.flows[name]
        assert fl["packets"] == len(frames), (name, fl)
        assert fl["bytes"] == sum(len(f) for f in frames), (name, fl)
        assert fl["record_drops"] == 0, (name, fl)
    lost = {"rec-only": 2, "fwd-only": 0, "rec-fwd": 0}
    for name, n in lost.items():
        fl = st.flows[name]
        assert fl["rtp_lost"] == n, (name, fl)
        assert fl["rtp_expected"] - fl["rtp_received"] == n, (name, fl)
        assert fl["rtp_duplicate"] == 0, (name, fl)
    # RFC 3550 A.1 probation may leave the first packet out of "received"
    assert st.flows["rec-only"]["rtp_received"] in (8, 7), st.flows["rec-only"]
    assert st.flows["rec-only"]["rtp_expected"] in (10, 9), st.flows["rec-only"]
    assert st.flows["rec-fwd"]["rtp_reordered"] == 1, st.flows["rec-fwd"]
    assert st.flows["rec-only"]["rtp_reordered"] == 0
    assert st.flows["fwd-only"]["rtp_reordered"] == 0
    # constant 20 ms spacing in ts but pcap arrival times are all ~equal: jitter is a number
    assert isinstance(st.flows["fwd-only"]["jitter"], (int, float))


def test_recordings_byte_for_byte(pcap_run):
    rec, per = pcap_run["rec"], pcap_run["per"]
    for name in ("rec-only", "rec-fwd"):
        magic, link, recs = read_pcap(rec / f"{name}.pcap")
        assert magic == PCAP_MAGIC_NS, f"{name}: magic {magic:#x}"
        assert link == 1
        got = [r[3] for r in recs]
        assert len(got) == len(per[name]), name
        assert got == per[name], f"{name}: recorded bytes differ"
        assert all(r[2] == len(r[3]) for r in recs)
        ts = [(r[0], r[1]) for r in recs]
        assert ts == sorted(ts) and all(r[1] < 10**9 for r in recs)
    for name in ("fwd-only", "dropped"):
        p = rec / f"{name}.pcap"
        assert not p.exists() or len(pcap_frames(p)) == 0, name


def test_forwarded_rewritten(pcap_run):
    out0 = pcap_frames(pcap_run["tmp"] / "out0.pcap")
    out1 = pcap_frames(pcap_run["tmp"] / "out1.pcap")
    assert out0 == []
    fwd = pcap_run["forwarded"]
    assert len(out1) == len(fwd)
    src_mac = port_mac(pcap_run["ready"], "media1", PCAP1_MAC).lower()
    spec = {f["name"]: f["forward"] for f in FLOWS if f.get("forward")}
    for i, (orig, name) in enumerate(fwd):
        out = out1[i]
        o, q = Ether(orig), Ether(out)
        to_ip, to_port = spec[name]["to"].split(":")
        from_ip, from_port = spec[name]["from"].split(":")
        assert len(out) == len(orig), i
        assert q.dst == GW1_MAC and q.src == src_mac, (i, q.summary(), q.src, q.dst)
        assert q[IP].src == from_ip and q[IP].dst == to_ip, (i, q.summary())
        assert q[UDP].sport == int(from_port) and q[UDP].dport == int(to_port), (i, q.summary())
        assert q[IP].ttl in (o[IP].ttl, o[IP].ttl - 1), i
        for fld in ("id", "tos", "len", "flags", "frag", "proto"):
            assert getattr(q[IP], fld) == getattr(o[IP], fld), (i, fld)
        assert q[UDP].len == o[UDP].len
        assert bytes(q[UDP].payload) == bytes(o[UDP].payload), i
        ipb = out[14:]
        assert check_ip_csum(ipb), (i, "IP checksum")
        assert check_udp_csum(ipb), (i, "UDP checksum")
        if o[UDP].chksum == 0:
            assert q[UDP].chksum == 0, (i, "UDP checksum 0 must stay 0")
        else:
            assert q[UDP].chksum != 0, i
        # scapy's own recomputation agrees
        c = q.copy()
        del c[IP].chksum
        del c[UDP].chksum
        c = Ether(raw(c))
        assert c[IP].chksum == q[IP].chksum
        if q[UDP].chksum != 0:
            assert c[UDP].chksum == q[UDP].chksum


def test_forwarded_tshark(pcap_run):
    out1 = pcap_run["tmp"] / "out1.pcap"
    p = subprocess.run(
        ["tshark", "-n", "-r", str(out1), "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
         "-d", "udp.port==40000,rtp", "-d", "udp.port==40004,rtp", "-T", "fields", "-E", "separator=,",
         "-e", "ip.checksum.status", "-e", "udp.checksum.status", "-e", "udp.dstport", "-e", "rtp.seq"],
        capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    rows = [l.split(",") for l in p.stdout.splitlines() if l.strip()]
    assert len(rows) == len(pcap_run["forwarded"])
    seqs = {"40000": [], "40004": []}
    for ipst, udpst, dport, seq in rows:
        assert ipst == "1", rows  # 1 = good
        assert udpst in ("1", "3"), rows  # good, or not present (checksum 0 kept)
        assert seq != "", "not decoded as RTP"
        seqs[dport].append(int(seq))
    assert seqs["40000"] == list(range(500, 512))
    assert seqs["40004"] == [1, 2, 3, 5, 4, 6, 7, 8, 9, 10]
