"""TURN relays for call media with real coturn behind a symmetric NAT (nat_lab.py):
RTP and RTCP relays on different servers (the answer gives RTCP's own address), and a
relay lost during the call (coturn restarted: its Refresh is refused) made again and
re-offered to the SRC (with ICE: the relayed candidate moved), two streams on two
servers (a c= line each), a media port held until its relay's release is over."""
import contextlib
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import ASAN_BUILD, free_port
from nat_lab import SRC_IP, STUN_ALT_IP, STUN_IP, STUN_PORT, NatLab
from sip_uac import Uac, answer_media
from test_nat import PY, SRC_MEDIA_PORT, STUN_NAT, lab_config, nat_event

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("turnserver") or not shutil.which("nft"),
    reason="needs root, coturn and nftables")

ALT_TURN_PORT = 3490
SDP_NO_MUX = (f"v=0\no=SRC 1 1 IN IP4 {SRC_IP}\ns=-\nc=IN IP4 {SRC_IP}\nt=0 0\n"
              f"m=audio {SRC_MEDIA_PORT} RTP/AVP 0\na=label:1\na=sendonly\n")
SDP_MUX = SDP_NO_MUX + "a=rtcp-mux\n"
SDP_MUX_ICE = SDP_MUX + ("a=ice-ufrag:srcU\na=ice-pwd:srcpasswordsrcpassword1\n"
                        f"a=candidate:1 1 UDP 2130706431 {SRC_IP} {SRC_MEDIA_PORT} typ host\n")
SDP_TWO_MUX = SDP_MUX + (f"m=audio {SRC_MEDIA_PORT + 2} RTP/AVP 0\na=label:2\na=sendonly\n"
                         "a=rtcp-mux\n")


class Turn:
    """A coturn in the lab's outside namespace (test:test), stopped by stop()."""

    def __init__(self, lab, ips, port, relay_ip, *extra):
        self.lab, self.ips, self.port, self.relay_ip, self.extra = lab, ips, port, relay_ip, extra
        self.p = None
        self.start()

    def start(self):
        cmd = (["ip", "netns", "exec", self.lab.out, "turnserver", "-n"] +
               [f"--listening-ip={ip}" for ip in self.ips] +
               [f"--relay-ip={self.relay_ip}", f"--listening-port={self.port}", "--no-tls",
                "--no-dtls", "--no-cli", "--lt-cred-mech", "--user=test:test",
                "--realm=example.org", f"--pidfile=/tmp/rtprec-turn-{os.getpid()}-{self.port}.pid",
                "--no-stdout-log"] + list(self.extra))
        self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  stdin=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if f"{self.ips[0]}:{self.port}" in self.lab.nsx(self.lab.out, "ss", "-uln").stdout:
                return
            time.sleep(0.1)
        raise AssertionError("coturn did not listen in time")

    def stop(self):
        if self.p is not None and self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def relay_sockets(lab):
    """coturn's relayed sockets (one per live allocation) on STUN_IP."""
    out = lab.nsx(lab.out, "ss", "-uln").stdout
    return [p for p in re.findall(rf"{re.escape(STUN_IP)}:(\d+)\s", out) if int(p) >= 49152]


def turn_entry(ip, port):
    return f'    - {{ uri: "turn:{ip}:{port}?transport=udp", username: test, password: test }}\n'


def send_from_outside(lab, src_port, dst, port, count, rtcp=False):
    """count G.711 RTP packets (or RTCP receiver reports) from SRC_IP:src_port."""
    pkt = ("struct.pack('!BBHI',0x81,201,1,0x5151)+bytes(24)" if rtcp else
           "struct.pack('!BBHII',0x80,0,i+1,(i+1)*160,0x5151)+b'\\xd5'*160")
    code = ("import socket,struct,time\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"s.bind(('{SRC_IP}',{src_port}))\n"
            f"for i in range({count}):\n"
            f"  s.sendto({pkt},('{dst}',{port}))\n"
            "  time.sleep(0.004)\n")
    lab.nsx(lab.out, PY, "-c", code, timeout=30)


def all_streams(tmp_path):
    return json.load(open(next((tmp_path / "rec").glob("*/*/*/*/session.json"))))["streams"]


def relay_candidates(sdp):
    """[(ip, port)] of the a=candidate lines of type relay."""
    return [(ip, int(port)) for ip, port in
            re.findall(r"^a=candidate:\S+ \d \S+ \d+ (\S+) (\d+) typ relay", sdp, re.M)]


def checks_from(lab, seconds, want):
    """Sources (ip, port) of the STUN Binding requests the SRC's media address gets within
    seconds, or until one comes from want (ip, port)."""
    code = ("import socket,time\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"s.bind(('{SRC_IP}',{SRC_MEDIA_PORT}))\n"
            "s.settimeout(0.2)\n"
            f"end=time.monotonic()+{seconds}\n"
            "while time.monotonic()<end:\n"
            "  try:\n"
            "    d,a=s.recvfrom(2048)\n"
            "  except socket.timeout:\n"
            "    continue\n"
            "  if d[:2]==b'\\x00\\x01':\n"
            "    print(a[0],a[1],flush=True)\n"
            f"    if a=={tuple(want)!r}: break\n")
    out = lab.nsx(lab.out, PY, "-c", code, timeout=seconds + 20).stdout.split()
    return {(out[i], int(out[i + 1])) for i in range(0, len(out), 2)}


def first_stream(tmp_path):
    return all_streams(tmp_path)[0]


def media_sections(resp):
    """[(address, port, own c= line?)] of each m= section of a 200's SDP: the address of its
    own c= line, else the session-level one."""
    head, *sections = re.split(r"^(?=m=)", resp.split("\r\n\r\n", 1)[1], flags=re.M)
    sess = re.search(r"^c=IN IP4 (\S+)", head, re.M).group(1)
    out = []
    for sec in sections:
        c = re.search(r"^c=IN IP4 (\S+)", sec, re.M)
        out.append((c.group(1) if c else sess, int(re.match(r"m=\S+ (\d+) ", sec).group(1)),
                    c is not None))
    return out


def pcap_sources(tmp_path, dst_port):
    """(ip.src, udp.srcport) of the recorded packets to our dst_port."""
    pcap = str(next((tmp_path / "rec").glob("*/*/*/*/media.pcap")))
    out = subprocess.run(["tshark", "-n", "-r", pcap, "-Y", f"udp.dstport=={dst_port}", "-T",
                          "fields", "-e", "ip.src", "-e", "udp.srcport"],
                         capture_output=True, text=True, timeout=60).stdout.split("\n")
    return [tuple(line.split("\t")) for line in out if line]


@contextlib.contextmanager
def relayed_call(start_rtprec, tmp_path, turns, sdp, media_ports=None):
    """rtprec behind the lab's symmetric NAT relaying through coturns made of turns
    ((listening ips, port, relay ip, extra args...) each, in nat.turn order), one call
    answered: yields (lab, [Turn], rtprec, uac, its 200). media_ports: (port_min,
    port_max) instead of the lab's."""
    with NatLab("symmetric") as lab:
        servers = []
        try:
            for ips, port, relay_ip, *extra in turns:
                servers.append(Turn(lab, ips, port, relay_ip, *extra))
            sip_port = free_port()
            cfg = lab_config(tmp_path, lab, dict(STUN_NAT, keepalive="off"), sip_port)
            if media_ports:
                cfg = re.sub(r"port_min: \d+\n  port_max: \d+",
                             "port_min: %d\n  port_max: %d" % media_ports, cfg)
            r = start_rtprec(cfg + "  turn:\n" + "".join(turn_entry(t[0][0], t[1]) for t in turns)
                             + "  relay: auto\n")
            r.wait_ready()
            assert nat_event(r)[1]["mapping"] == "address-and-port-dependent"
            uac = Uac(sip_port)
            code, resp = uac.invite(sdp)
            assert code == 200, resp + r.diag()
            yield lab, servers, r, uac, resp
            uac.close()
        finally:
            for t in servers:
                t.stop()


@pytest.mark.skipif(ASAN_BUILD, reason="answer shapes: checked on the normal build (CI time); "
                    "the relay lost and made again runs under ASan too")
def test_rtp_and_rtcp_relays_on_two_servers(start_rtprec, tmp_path):
    """The first server takes one allocation per user (--user-quota=1): of RTP's and RTCP's
    allocations one fails over to the second server, whose relayed address is another.
    The answer gives RTCP's relay with its own address (a=rtcp:PORT IN IP4 ADDR), and the
    SRC's RTCP sent there is recorded."""
    turns = [([STUN_IP, STUN_ALT_IP], STUN_PORT, STUN_IP, "--user-quota=1"),
             ([STUN_ALT_IP], ALT_TURN_PORT, STUN_ALT_IP)]
    with relayed_call(start_rtprec, tmp_path, turns, SDP_NO_MUX) as (lab, _, r, uac, resp):
        ip, port = answer_media(resp)
        m = re.search(r"^a=rtcp:(\d+)(?: IN IP4 (\S+))?\r?$", resp, re.M)
        rtcp_ip, rtcp_port = (m.group(2) or ip, int(m.group(1))) if m else (ip, port + 1)
        assert {ip, rtcp_ip} == {STUN_IP, STUN_ALT_IP}, resp  # one relay on each server
        nat = r.stats().by_type("nat")[0]
        assert nat["relays"] == 2 and nat["relays_failed"] == 0, nat
        assert nat["relay_failovers"] == 1, nat
        send_from_outside(lab, SRC_MEDIA_PORT, ip, port, 20)
        send_from_outside(lab, SRC_MEDIA_PORT + 1, rtcp_ip, rtcp_port, 5, rtcp=True)
        time.sleep(0.5)
        r.stop()
        st = first_stream(tmp_path)
        assert st["packets"] == 20 and st["turn"] == "allocated", st
        rtcp_from = (SRC_IP, str(SRC_MEDIA_PORT + 1))
        assert pcap_sources(tmp_path, st["local_port"] + 1) == [rtcp_from] * 5


@pytest.mark.skipif(ASAN_BUILD, reason="answer shapes: checked on the normal build (CI time); "
                    "the relay lost and made again runs under ASan too")
def test_streams_relayed_on_two_servers_have_their_own_addresses(start_rtprec, tmp_path):
    """Two streams (rtcp-mux), one allocation each; the first server takes one per user:
    the other stream's relay fails over to the second server, another relayed address.
    Each m= section carries its own c= line with its relay's address (RFC 4566 5.7; one
    session-level c= sent one stream's media to the other's relay), and the SRC's RTP sent
    to each stream's address and port is recorded in that stream."""
    turns = [([STUN_IP, STUN_ALT_IP], STUN_PORT, STUN_IP, "--user-quota=1"),
             ([STUN_ALT_IP], ALT_TURN_PORT, STUN_ALT_IP)]
    with relayed_call(start_rtprec, tmp_path, turns, SDP_TWO_MUX) as (lab, _, r, uac, resp):
        media = media_sections(resp)
        assert len(media) == 2 and {m[0] for m in media} == {STUN_IP, STUN_ALT_IP}, resp
        assert all(own for _, _, own in media), resp
        nat = r.stats().by_type("nat")[0]
        assert nat["relays"] == 2 and nat["relay_failovers"] == 1, nat
        for k, (ip, port, _) in enumerate(media):
            send_from_outside(lab, SRC_MEDIA_PORT + 2 * k, ip, port, 10 + 10 * k)
        time.sleep(0.5)
        r.stop()
        streams = all_streams(tmp_path)
        assert [st["packets"] for st in streams] == [10, 20], streams
        assert [st["relay"]["ip"] for st in streams] == [m[0] for m in media], streams


@pytest.mark.skipif(ASAN_BUILD, reason="answer shapes: checked on the normal build (CI time); "
                    "the relay lost and made again runs under ASan too")
def test_rtcp_relay_refused_answers_without_relay(start_rtprec, tmp_path):
    """Only one server, one allocation per user: RTP's or RTCP's allocation fails. The
    stream is relayed with both or with neither: the answer carries rtprec's own public
    address for RTP and RTCP, the relay that worked is released (coturn closes its
    relayed socket)."""
    turns = [([STUN_IP, STUN_ALT_IP], STUN_PORT, STUN_IP, "--user-quota=1")]
    with relayed_call(start_rtprec, tmp_path, turns, SDP_NO_MUX) as (lab, _, r, uac, resp):
        ip, _ = answer_media(resp)
        assert ip == "203.0.113.1" and not re.search(r"^a=rtcp:", resp, re.M), resp
        assert r.stats().by_type("nat")[0]["relays_failed"] == 1
        end = time.monotonic() + 5
        while relay_sockets(lab) and time.monotonic() < end:
            time.sleep(0.2)
        assert relay_sockets(lab) == [], lab.nsx(lab.out, "ss", "-uln").stdout
        assert "released too" in r.stderr_text()
        r.stop()
        st = first_stream(tmp_path)
        assert st["turn"] == "failed" and st["relay"] is None, st


def test_relay_lost_is_made_again_and_reoffered(start_rtprec, tmp_path):
    """coturn grants 10 s allocations and is restarted during the call: the Refresh at 5 s
    is refused (the new process knows no allocation). rtprec logs the loss once, counts
    it, allocates again and offers the new relayed address in a re-INVITE; the SRC's RTP
    sent there is recorded. The SRC offered ICE: the re-offer's relayed candidate is the
    new address (not the lost one), and rtprec's checks now leave from it (through the
    new allocation)."""
    turns = [([STUN_IP, STUN_ALT_IP], STUN_PORT, STUN_IP, "--max-allocate-lifetime=10")]
    with relayed_call(start_rtprec, tmp_path, turns, SDP_MUX_ICE) as (lab, servers, r, uac,
                                                                      resp):
        ip, port = answer_media(resp)
        assert ip == STUN_IP and relay_candidates(resp) == [(ip, port)], resp
        servers[0].stop()
        servers[0].start()
        reinvite = uac.wait_request("INVITE", timeout=30)
        new_ip, new_port = answer_media(reinvite)
        assert new_ip == STUN_IP and new_port != port, reinvite
        assert relay_candidates(reinvite) == [(new_ip, new_port)], reinvite
        uac.reply(reinvite, 200, SDP_MUX_ICE)
        uac.wait_request("ACK")
        assert (new_ip, new_port) in checks_from(lab, 5, (new_ip, new_port)), r.diag()
        send_from_outside(lab, SRC_MEDIA_PORT, new_ip, new_port, 30)
        time.sleep(0.5)
        nat = r.stats().by_type("nat")[0]
        assert nat["relays"] == 1 and nat["relays_failed"] == 1, nat
        assert r.stats().by_type("sessions")[0]["reoffers"] == 1
        log = r.stderr_text()
        assert log.count("lost on") == 1 and "allocated again" in log, log
        r.stop()
        st = first_stream(tmp_path)
        assert st["relay"] == {"ip": STUN_IP, "port": new_port}, st
        assert st["packets"] == 30 and st["turn"] == "allocated", st


def test_port_held_until_relay_release(start_rtprec, tmp_path):
    """One media port pair; the call's relay is released after its BYE but coturn is gone
    (stopped during the call), so no answer confirms the release. Until rtprec gives up
    on it, the port stays out of the pool: ChannelData of the old allocation may still
    reach it, and an Allocate from it to the same server would be refused (437). A new
    call is refused for want of a port (before, it got the port at once); once the
    release is given up (its Refresh retransmissions timed out), a call gets it again."""
    turns = [([STUN_IP, STUN_ALT_IP], STUN_PORT, STUN_IP)]
    with relayed_call(start_rtprec, tmp_path, turns, SDP_MUX, media_ports=(30000, 30001)) as (
            lab, servers, r, uac, resp):
        assert answer_media(resp)[0] == STUN_IP, resp
        servers[0].stop()
        assert uac.bye() == 200
        second = Uac(uac.port)
        code, resp = second.invite(SDP_MUX)
        second.close()
        assert code == 503 and "no free media port" in resp, resp
        end = time.monotonic() + 20
        while True:
            third = Uac(uac.port)
            code, resp = third.invite(SDP_MUX)
            third.close()
            if code == 200 or time.monotonic() > end:
                break
            time.sleep(1)
        assert code == 200, resp + r.diag()
