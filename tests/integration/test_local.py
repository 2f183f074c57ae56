"""net_pcap: what the dataplane answers itself (ARP, ICMP echo), signals, env overrides."""
import signal

from scapy.all import ARP, ICMP, IP, UDP, Ether, Raw, raw

from conftest import (DROP_REASONS, config_yaml, eal_args, pcap_frames, port_mac, read_pcap,
                      write_empty_pcap, write_pcap)

PORT_MAC = "02:70:63:61:70:00"
PEER_MAC = "02:00:00:00:00:01"
DP = "192.0.2.10"
PEER = "192.0.2.1"


def one_port_config(tmp_path, rec_dir, flows=()):
    return config_yaml(
        eal=eal_args(f"net_pcap0,rx_pcap={tmp_path}/in.pcap,tx_pcap={tmp_path}/out0.pcap"),
        ports=[dict(name="media0", device="net_pcap0", ipv4=f"{DP}/24", gateway=PEER,
                    gateway_mac=PEER_MAC)],
        recording_dir=str(rec_dir), flows=list(flows))


def test_arp_and_icmp_answered(start_rtprec, tmp_path):
    echo_payload = bytes(range(48))
    frames = [
        raw(Ether(src=PEER_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=PEER_MAC, psrc=PEER, pdst=DP)),
        raw(Ether(src=PEER_MAC, dst=PORT_MAC) / IP(src=PEER, dst=DP, ttl=64)
            / ICMP(type=8, id=0x77, seq=3) / Raw(echo_payload)),
        # not for us / malformed / unhandled: one each
        raw(Ether(src=PEER_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=PEER_MAC, psrc=PEER,
                                                                pdst="192.0.2.99")),
        raw(Ether(src=PEER_MAC, dst="ff:ff:ff:ff:ff:ff", type=0x0806)) + bytes(10),
        raw(Ether(src=PEER_MAC, dst=PORT_MAC) / IP(src=PEER, dst="192.0.2.99") / ICMP(type=8) / Raw(b"x" * 8)),
        raw(Ether(src=PEER_MAC, dst=PORT_MAC) / IP(src=PEER, dst=DP, proto=1) / Raw(b"\x08\x00")),
        raw(Ether(src=PEER_MAC, dst=PORT_MAC) / IP(src=PEER, dst=DP) / ICMP(type=13) / Raw(bytes(12))),
    ]
    write_pcap(tmp_path / "in.pcap", frames)
    r = start_rtprec(one_port_config(tmp_path, tmp_path / "rec"))
    ready = r.wait_ready()
    r.wait_rx(len(frames))
    rc, st = r.stop()
    assert rc == 0, r.diag()
    mac = port_mac(ready, "media0", PORT_MAC).lower()
    out = [Ether(f) for f in pcap_frames(tmp_path / "out0.pcap")]
    arps = [p for p in out if ARP in p]
    icmps = [p for p in out if ICMP in p]
    assert len(out) == 2 and len(arps) == 1 and len(icmps) == 1, [p.summary() for p in out]
    a = arps[0]
    assert a.src == mac and a.dst == PEER_MAC
    assert (a[ARP].op, a[ARP].hwsrc, a[ARP].psrc, a[ARP].hwdst, a[ARP].pdst) == (2, mac, DP, PEER_MAC, PEER)
    e = icmps[0]
    assert e.src == mac and e.dst == PEER_MAC
    assert (e[IP].src, e[IP].dst, e[ICMP].type, e[ICMP].code) == (DP, PEER, 0, 0)
    assert (e[ICMP].id, e[ICMP].seq, bytes(e[ICMP].payload)) == (0x77, 3, echo_payload)
    c = e.copy()
    del c[IP].chksum
    del c[ICMP].chksum
    c = Ether(raw(c))
    assert (c[IP].chksum, c[ICMP].chksum) == (e[IP].chksum, e[ICMP].chksum), "bad checksums in echo reply"
    expected = {k: 0 for k in DROP_REASONS}
    expected.update(arp_not_for_us=1, arp_malformed=1, icmp_not_for_us=1, icmp_malformed=1,
                    icmp_unhandled=1)
    assert st.worker_drops() == expected, st
    assert st.ports["media0"]["tx_packets"] == 2, st


def test_signals_and_env_override(start_rtprec, tmp_path):
    frames = [raw(Ether(src=PEER_MAC, dst=PORT_MAC) / IP(src="198.51.100.5", dst=DP)
                  / UDP(sport=4000, dport=30000) / Raw(bytes([0x80, 0, 0, i]) + bytes(168)))
              for i in range(7)]
    write_pcap(tmp_path / "in.pcap", frames)
    flows = [dict(name="f1", match=dict(dst=f"{DP}:30000"), actions=["record"])]
    other = tmp_path / "from-env"
    r = start_rtprec(one_port_config(tmp_path, tmp_path / "rec-yaml", flows),
                     env={"RTPREC_RECORDING_DIR": str(other)})
    r.wait_ready()
    st = r.wait_rx(len(frames))
    assert st.end.get("reason") == "signal", st.end
    st2 = r.stats()
    assert st2.flows["f1"]["packets"] == 7
    rc, final = r.stop(sig=signal.SIGINT)
    assert rc == 0, r.diag()
    assert final is not None and final.end["reason"] == "exit"
    assert final.flows["f1"]["packets"] == 7
    magic, _, recs = read_pcap(other / "f1.pcap")
    assert [x[3] for x in recs] == frames
    assert not (tmp_path / "rec-yaml" / "f1.pcap").exists()


def test_no_traffic_clean_stop(start_rtprec, tmp_path):
    write_empty_pcap(tmp_path / "in.pcap")
    flows = [dict(name="idle", match=dict(dst=f"{DP}:30000"), actions=["record"])]
    r = start_rtprec(one_port_config(tmp_path, tmp_path / "rec", flows))
    r.wait_ready()
    rc, final = r.stop()
    assert rc == 0, r.diag()
    assert final.worker_sum("rx_packets") == 0
    assert final.flows["idle"]["packets"] == 0
    assert pcap_frames(tmp_path / "out0.pcap") == []
