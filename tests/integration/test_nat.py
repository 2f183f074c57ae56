"""NAT discovery through the media path (nat.*): rtprec behind real Linux NAT
(nftables in a router namespace) asks coturn, through its DPDK port, for its mapping
(RFC 8489) and the NAT's behaviour (RFC 5780); the external address falls back
from one source to the next; cloud metadata comes from a local fake server; a
change of the NAT's public address is seen by the recheck."""
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import ASAN_BUILD, DP_ADDR, config_yaml, eal_args, free_port
from nat_lab import INSIDE_DP, INSIDE_GW, SRC_IP, STUN_IP, STUN_PORT, NatLab
from sip_uac import Uac, answer_media

PY = "/usr/bin/python3"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("turnserver") or not shutil.which("nft"),
    reason="needs root, coturn and nftables")

STUN_LOCAL_PORT = 39999


def lab_config(tmp_path, lab, nat, sip_port=None):
    nat_yaml = "nat:\n" + "".join(f"  {k}: {v}\n" for k, v in nat.items())
    sip = f'sip:\n  listen: ["udp:127.0.0.1:{sip_port}"]\n' if sip_port else ""
    return config_yaml(
        eal=eal_args(f"net_af_packet0,iface={lab.host_if}"),
        ports=[dict(name="media0", device="net_af_packet0", ipv4=f"{INSIDE_DP}/24",
                    gateway=INSIDE_GW)],
        recording_dir=str(tmp_path / "rec"), flows=[],
        extra=f"{sip}media:\n  port_min: 30000\n  port_max: {STUN_LOCAL_PORT}\n" + nat_yaml)


def nat_event(r, start=0, timeout=30.0, complete=True):
    """The next {"event":"nat"} line; complete: only one that ends a discovery."""
    return r.wait_event(lambda e: e.get("event") == "nat" and (e["complete"] or not complete),
                        start=start, timeout=timeout)


# 50 ms RTO: a filtering test that the NAT blocks times out after 7 sends (~7 s)
STUN_NAT = {"behind_nat": "auto", "stun_server": f"{STUN_IP}:{STUN_PORT}", "stun_rto_ms": 50,
            "recheck_s": 0}


@pytest.mark.parametrize("kind,mapping,filtering", [
    ("port-restricted", "endpoint-independent", "address-and-port-dependent"),
    ("symmetric", "address-and-port-dependent", "address-and-port-dependent"),
    ("one-to-one", "endpoint-independent", "endpoint-independent"),
])
def test_discovery_behind_nat(start_rtprec, tmp_path, kind, mapping, filtering):
    with NatLab(kind) as lab:
        lab.start_coturn()
        r = start_rtprec(lab_config(tmp_path, lab, STUN_NAT))
        r.wait_ready()
        # the address is used as soon as the first binding answers, before the RFC 5780 tests
        _, first = nat_event(r, timeout=5, complete=False)
        assert first["external_ip"] == "203.0.113.1", r.diag()
        _, ev = nat_event(r)
        assert ev["external_ip"] == "203.0.113.1", r.diag()
        assert ev["source"] == "stun"
        assert (ev["mapping"], ev["filtering"]) == (mapping, filtering), ev
        if kind != "symmetric":  # these NATs keep the port when they can
            assert ev["mapped_port"] == STUN_LOCAL_PORT, ev
        st = r.stats()
        # test I and a mapping test came back through the punt ring, sent through txreq
        assert st.worker_sum("punted") >= 2 and st.worker_sum("txreq") >= 3
        nat = st.by_type("nat")[0]
        # an answer to a retransmission that comes after its transaction ended (stun_rto_ms
        # is 50 here: a loaded VM retransmits) is unmatched by design; more is a bug
        assert nat["stun_unmatched"] <= 2 and nat["tx_dropped"] == 0, nat


@pytest.mark.skipif(ASAN_BUILD, reason="control-plane logic, unit-tested as well (CI time)")
def test_recheck_keeps_filtering(start_rtprec, tmp_path):
    """An address-restricted cone NAT (endpoint-independent mapping, address-dependent
    filtering) rechecked 5 s on: the first discovery's mapping tests sent to the STUN
    server's other address, which the NAT now lets in, so the recheck's filtering test
    would see endpoint-independent filtering. The recheck finds the same mapping and
    keeps the first filtering. (The router forgets refused flows after 1 s: Linux would
    otherwise keep the first discovery's refused answer from the other address as a flow
    of its own for 30 s and refuse the recheck's answer as well.)"""
    behaviour = ("endpoint-independent", "address-dependent")
    with NatLab("address-restricted") as lab:
        lab.nsx(lab.rt, "sysctl", "-qw", "net.netfilter.nf_conntrack_udp_timeout=1")
        lab.start_coturn()
        r = start_rtprec(lab_config(tmp_path, lab, dict(STUN_NAT, recheck_s=5)))
        r.wait_ready()
        i, ev = nat_event(r)
        assert (ev["mapping"], ev["filtering"]) == behaviour, ev
        _, again = nat_event(r, start=i + 1)
        assert again["checks"] == 2 and again["mapped_port"] == ev["mapped_port"], again
        assert (again["mapping"], again["filtering"]) == behaviour, again
        assert "filtering address-dependent (as found before" in r.stderr_text(), r.diag()


def test_address_change_seen_by_recheck(start_rtprec, tmp_path):
    """The NAT's public address changes: the recheck sees it, and with
    nat.reinvite_on_change the call in progress gets a re-INVITE with the new address."""
    with NatLab("port-restricted") as lab:
        lab.start_coturn()
        sip_port = free_port()
        cfg = dict(STUN_NAT, recheck_s=5, behaviour="no", reinvite_on_change="true",
                   keepalive="off")
        r = start_rtprec(lab_config(tmp_path, lab, cfg, sip_port))
        r.wait_ready()
        i, ev = nat_event(r)
        assert ev["external_ip"] == "203.0.113.1" and ev["changes"] == 0, r.diag()
        uac = Uac(sip_port)
        code, resp = uac.invite(SIPREC_SDP)
        assert code == 200 and answer_media(resp)[0] == "203.0.113.1", resp
        lab.change_outside("203.0.113.2")
        _, ev = nat_event(r, start=i + 1, timeout=15)
        assert ev["external_ip"] == "203.0.113.2" and ev["changes"] == 1, ev
        assert "external address changed from 203.0.113.1 to 203.0.113.2" in r.stderr_text()
        reinvite = uac.wait_request("INVITE")
        assert answer_media(reinvite)[0] == "203.0.113.2", reinvite
        cseq = re.search(r"^CSeq: (\d+) INVITE", reinvite, re.M).group(1)
        uac.reply(reinvite, 200, SIPREC_SDP)
        ack = uac.wait_request("ACK")
        assert re.search(rf"^CSeq: {cseq} ACK", ack, re.M), ack
        assert r.stats().by_type("sessions")[0]["reoffers"] == 1
        uac.close()


def test_stun_unreachable_falls_back_to_static(start_rtprec, tmp_path):
    with NatLab("port-restricted") as lab:  # no coturn: nothing answers
        cfg = dict(STUN_NAT, stun_rto_ms=50, sources="[stun, static]", external_ip="198.51.100.9")
        r = start_rtprec(lab_config(tmp_path, lab, cfg))
        r.wait_ready()
        _, ev = nat_event(r, timeout=30)
        assert ev["external_ip"] == "198.51.100.9" and ev["source"] == "static", ev
        assert "nat: source stun failed: no-server" in r.stderr_text()


class FakeMetadata(http.server.BaseHTTPRequestHandler):
    """GCP answers 404 (not on GCP); AWS IMDSv2 gives a token, then the address."""
    TOKEN = "tok-123"

    def do_PUT(self):
        ok = self.path == "/latest/api/token" and self.headers.get(
            "X-aws-ec2-metadata-token-ttl-seconds")
        self._answer(200 if ok else 400, self.TOKEN if ok else "")

    def do_GET(self):
        if self.path == "/latest/meta-data/public-ipv4":
            ok = self.headers.get("X-aws-ec2-metadata-token") == self.TOKEN
            self._answer(200 if ok else 401, "198.51.100.77" if ok else "")
        else:
            self._answer(404, "")

    def _answer(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


def test_cloud_metadata_source(start_rtprec, tmp_path, veth_ns):
    srv = http.server.HTTPServer(("127.0.0.1", 0), FakeMetadata)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        cfg = config_yaml(
            eal=eal_args(f"net_af_packet0,iface={veth_ns['host_if']}"),
            ports=[dict(name="media0", device="net_af_packet0", ipv4=f"{DP_ADDR}/24")],
            recording_dir=str(tmp_path / "rec"), flows=[],
            extra=("nat:\n  behind_nat: auto\n  sources: [cloud]\n  cloud:\n"
                   f"    providers: [gcp, aws]\n    gcp_url: {base}\n    aws_url: {base}\n"))
        r = start_rtprec(cfg)
        r.wait_ready()
        _, ev = nat_event(r, timeout=15)
        assert ev["external_ip"] == "198.51.100.77" and ev["source"] == "cloud", ev
        assert "HTTP 404" in r.stderr_text()  # gcp's refusal is logged before aws answers
    finally:
        srv.shutdown()
        srv.server_close()


# ---------------------------------------------------------------- hole punching
SRC_MEDIA_PORT = 40000
SIPREC_SDP = (f"v=0\no=SRC 1 1 IN IP4 {SRC_IP}\ns=-\nc=IN IP4 {SRC_IP}\nt=0 0\n"
              f"m=audio {SRC_MEDIA_PORT} RTP/AVP 0\na=label:1\na=sendonly\na=rtcp-mux\n")


def send_rtp_from_outside(lab, dst, port, count):
    """count G.711 packets from SRC_IP:SRC_MEDIA_PORT (the SDP's address) in the outside ns."""
    code = ("import socket,struct,time\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"s.bind(('{SRC_IP}',{SRC_MEDIA_PORT}))\n"
            f"for i in range({count}):\n"
            f"  s.sendto(struct.pack('!BBHII',0x80,0,i+1,(i+1)*160,0x5151)+b'\\xd5'*160,('{dst}',{port}))\n"
            "  time.sleep(0.004)\n")
    lab.nsx(lab.out, PY, "-c", code, timeout=30)


@pytest.mark.parametrize("keepalive", ["rtp", "stun", "off"])
def test_keepalive_opens_port_restricted_nat(start_rtprec, tmp_path, keepalive):
    """An SRC outside sends RTP to the address and port of rtprec's answer. A
    port-restricted NAT lets it in only after rtprec's port has sent to that SRC
    address and port: with keepalives every packet is recorded, without them none."""
    with NatLab("port-restricted") as lab:
        sip_port = free_port()
        cfg = {"behind_nat": "yes", "external_ip": "203.0.113.1", "keepalive": keepalive}
        r = start_rtprec(lab_config(tmp_path, lab, cfg, sip_port))
        r.wait_ready()
        uac = Uac(sip_port)
        code, resp = uac.invite(SIPREC_SDP)
        assert code == 200, resp
        ip, port = answer_media(resp)
        assert ip == "203.0.113.1", resp
        time.sleep(0.3)  # the keepalive leaves right after the answer
        send_rtp_from_outside(lab, "203.0.113.1", port, 50)
        time.sleep(0.5)
        r.stop()
        sess = json.load(open(next((tmp_path / "rec").glob("*/*/*/*/session.json"))))
        st = sess["streams"][0]
        if keepalive == "off":
            assert st["packets"] == 0, st  # the NAT dropped the SRC's media
        else:
            assert st["packets"] == 50 and st["lost"] == 0, st
            assert st["latched"]["ip"] == SRC_IP and st["latched"]["port"] == SRC_MEDIA_PORT
        uac.close()


def test_port_forwarding_offset(start_rtprec, tmp_path):
    """nat.external_port_min: behind a 1:1 port-forwarding NAT the answer carries the
    public ports, at the same offsets in the range."""
    with NatLab("one-to-one") as lab:
        sip_port = free_port()
        cfg = {"behind_nat": "yes", "external_ip": "203.0.113.1", "external_port_min": 50000,
               "keepalive": "off"}
        r = start_rtprec(lab_config(tmp_path, lab, cfg, sip_port))
        r.wait_ready()
        uac = Uac(sip_port)
        code, resp = uac.invite(SIPREC_SDP)
        ip, port = answer_media(resp)
        assert code == 200 and ip == "203.0.113.1" and 50000 <= port < 50000 + 10000, resp
        r.stop()
        st = json.load(open(next((tmp_path / "rec").glob("*/*/*/*/session.json"))))["streams"][0]
        assert st["local_port"] == port - 50000 + 30000, st
        uac.close()


def test_sip_external_address(start_rtprec, tmp_path, veth_ns):
    """sip.external_address: the Contact of rtprec's answers (and the Via of its own
    requests) carry the address the SRC must reach, not the listener's."""
    from test_siprec import SDP as PLAIN_SDP, invite, sip_request, start_srs
    r, port = start_srs(start_rtprec, tmp_path, veth_ns,
                        sip_extra="  external_address: 198.51.100.50:5099\n")
    code, resp = sip_request(port, invite(PLAIN_SDP))
    assert code == 200, resp
    assert re.search(r"^Contact: <sip:rtprec@198\.51\.100\.50:5099;transport=udp>", resp,
                     re.M | re.I), resp


def test_per_port_discovery(start_rtprec, tmp_path):
    """An endpoint-independent NAT that moves port numbers (masquerade into 20000-29999):
    before answering, each media port learns its public port with a Binding from itself;
    the answer carries it, and the SRC's media sent there is recorded."""
    with NatLab("port-remapping") as lab:
        lab.start_coturn()
        sip_port = free_port()
        r = start_rtprec(lab_config(tmp_path, lab, dict(STUN_NAT, keepalive="rtp"), sip_port))
        r.wait_ready()
        _, ev = nat_event(r)
        assert ev["mapping"] == "endpoint-independent", ev
        assert 20000 <= ev["mapped_port"] < 30000, ev
        uac = Uac(sip_port)
        code, resp = uac.invite(SIPREC_SDP)
        assert code == 200, resp
        ip, port = answer_media(resp)
        assert ip == "203.0.113.1" and 20000 <= port < 30000, resp
        time.sleep(0.3)
        send_rtp_from_outside(lab, "203.0.113.1", port, 50)
        time.sleep(0.5)
        nat = r.stats().by_type("nat")[0]
        assert nat["port_lookups"] == 1 and nat["port_failures"] == 0, nat
        # the STUN server stops answering: a second call waits for its public port when
        # rtprec is stopped; it gets 503 (try another SRS) at once, and both calls get
        # their session.json without waiting for the lookup (at the default RTO it runs
        # 39.5 s, far past the shutdown's 5 s)
        os.kill(lab.coturn.pid, signal.SIGSTOP)
        second, got = Uac(sip_port), []
        th = threading.Thread(target=lambda: got.append(second.invite(SIPREC_SDP)))
        th.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        r.stop()
        took = time.monotonic() - t0
        th.join(10)
        os.kill(lab.coturn.pid, signal.SIGCONT)
        assert got and got[0][0] == 503 and "Retry-After" in got[0][1], got
        assert took < 3, took
        docs = [json.load(open(p)) for p in (tmp_path / "rec").glob("*/*/*/*/session.json")]
        assert sorted(d["end_reason"] for d in docs) == ["shutdown", "shutdown"], docs
        st = next(d for d in docs if d["call_id"] == uac.cid)["streams"][0]
        assert 30000 <= st["local_port"] < 40000 and st["packets"] == 50, st
        uac.close()
        second.close()


@pytest.mark.parametrize("failover", [False, True])
def test_symmetric_nat_media_via_turn(start_rtprec, tmp_path, failover):
    """Behind a symmetric NAT (masquerade fully-random) the SRC cannot reach a mapping:
    with nat.relay auto each media port allocates a TURN relay on coturn (through the
    dataplane), the answer carries the relayed address, and the SRC's RTP sent to it
    comes back as ChannelData that the worker unwraps: the recording holds the SRC's
    own packets. failover: the first server of nat.turn refuses the credentials and the
    allocation starts again on the second."""
    with NatLab("symmetric") as lab:
        lab.start_coturn()
        sip_port = free_port()
        cfg = dict(STUN_NAT, keepalive="rtp")
        server = f'{{ uri: "turn:{STUN_IP}:{STUN_PORT}?transport=udp", username: test, password: %s }}'
        servers = ([server % "wrong"] if failover else []) + [server % "test"]
        text = lab_config(tmp_path, lab, cfg, sip_port) + "  turn:\n" + "".join(
            f"    - {s}\n" for s in servers) + "  relay: auto\n"
        r = start_rtprec(text)
        r.wait_ready()
        _, ev = nat_event(r)
        assert ev["mapping"] == "address-and-port-dependent", ev
        uac = Uac(sip_port)
        code, resp = uac.invite(SIPREC_SDP)
        assert code == 200, resp + r.diag()
        ip, port = answer_media(resp)
        assert ip == STUN_IP, resp  # coturn's relay address
        send_rtp_from_outside(lab, ip, port, 50)
        time.sleep(0.5)
        nat = r.stats().by_type("nat")[0]
        assert nat["relays"] == 1 and nat["relays_failed"] == 0, nat
        assert nat["relay_failovers"] == (1 if failover else 0), nat
        r.stop()
        sess = json.load(open(next((tmp_path / "rec").glob("*/*/*/*/session.json"))))
        st = sess["streams"][0]
        assert st["relay"] == {"ip": STUN_IP, "port": port}, st
        assert st["packets"] == 50 and st["lost"] == 0, st
        assert st["turn"] == "allocated" and st["relay_bytes"] == st["bytes"] > 0, st
        assert st["latched"] == {"ip": SRC_IP, "port": SRC_MEDIA_PORT}, st  # the peer, not the relay
        pcap = str(next((tmp_path / "rec").glob("*/*/*/*/media.pcap")))
        out = subprocess.run(["tshark", "-n", "-r", pcap, "-o", "udp.check_checksum:TRUE",
                              "-d", f"udp.port=={st['local_port']},rtp", "-T", "fields", "-e", "ip.src",
                              "-e", "udp.srcport", "-e", "rtp.seq", "-e", "udp.checksum.status"],
                             capture_output=True, text=True, timeout=60).stdout.split("\n")
        rows = [line.split("\t") for line in out if line]
        assert len(rows) == 50 and all(row[:2] == [SRC_IP, str(SRC_MEDIA_PORT)] for row in rows), rows[:3]
        assert [int(row[2]) for row in rows] == list(range(1, 51))
        assert all(row[3] == "1" for row in rows), rows[:3]  # 1: checksum verified good
        uac.close()


def test_turn_refused_everywhere_answers_without_relay(start_rtprec, tmp_path):
    """Every nat.turn server refuses the credentials: the call is still answered (with
    rtprec's own public address), the allocation counted as failed, and session.json
    says so per stream ("turn": "failed")."""
    with NatLab("symmetric") as lab:
        lab.start_coturn()
        sip_port = free_port()
        text = lab_config(tmp_path, lab, dict(STUN_NAT, keepalive="off"), sip_port) + (
            f'  turn:\n    - {{ uri: "turn:{STUN_IP}:{STUN_PORT}?transport=udp", username: test, '
            'password: wrong }\n  relay: auto\n')
        r = start_rtprec(text)
        r.wait_ready()
        nat_event(r)
        uac = Uac(sip_port)
        code, resp = uac.invite(SIPREC_SDP)
        assert code == 200, resp + r.diag()
        ip, _ = answer_media(resp)
        assert ip == "203.0.113.1", resp
        nat = r.stats().by_type("nat")[0]
        assert nat["relays_failed"] == 1, nat
        r.stop()
        st = json.load(open(next((tmp_path / "rec").glob("*/*/*/*/session.json"))))["streams"][0]
        assert st["turn"] == "failed" and st["relay"] is None and st["relay_bytes"] == 0, st
        uac.close()
