"""Symmetric RTP: a call's stream latches onto the first source that sends RTP,
drops other sources (latch_other) until one has sent media.relatch_packets in a row
and is latched instead; media.strict_source takes only the SDP's address and port."""
import json
import os
import re
import shutil

import pytest

from conftest import NS_ADDR, sh
from test_siprec import invite, session_dirs, sip_request, start_srs, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                                reason="needs root and iproute2")

PY = "/usr/bin/python3"
SDP_PORT = 40000
SDP = (f"v=0\no=SRC 1 1 IN IP4 {NS_ADDR}\ns=-\nc=IN IP4 {NS_ADDR}\nt=0 0\n"
       f"m=audio {SDP_PORT} RTP/AVP 0\na=label:1\na=sendonly\na=rtcp-mux\n")


def send(v, dst, port, plan):
    """plan: [(source port, count), ...] sent in order from the namespace, one RTP
    stream (one SSRC, consecutive sequence numbers) whatever the source."""
    code = ("import socket,struct,time\nsocks={}\nseq=0\n"
            f"for sp,n in {plan!r}:\n"
            "  s=socks.get(sp)\n"
            "  if s is None:\n"
            "    s=socks[sp]=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"    s.bind(('{NS_ADDR}',sp))\n"
            "  for i in range(n):\n"
            "    seq+=1\n"
            f"    s.sendto(struct.pack('!BBHII',0x80,0,seq,seq*160,0x7777)+b'\\xd5'*160,('{dst}',{port}))\n"
            "    time.sleep(0.003)\n")
    sh(["ip", "netns", "exec", v["ns"], PY, "-c", code], timeout=30)


def call(r, port, v):
    code, resp = sip_request(port, invite(SDP))
    assert code == 200, resp
    body = resp.split("\r\n\r\n", 1)[1]
    media = int(re.search(r"^m=audio (\d+) ", body, re.M).group(1))
    dst = re.search(r"^c=IN IP4 (\S+)", body, re.M).group(1)
    return dst, media


def finish(r, tmp_path):
    st = r.stop()[1]
    assert wait_for(lambda: session_dirs(tmp_path) and os.path.exists(session_dirs(tmp_path)[0] + "/session.json"))
    return json.load(open(session_dirs(tmp_path)[0] + "/session.json"))["streams"][0], st


def test_relatch_after_n_packets(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, media_extra="  relatch_packets: 5\n")
    dst, media = call(r, port, veth_ns)
    # A latched; B's 3 dropped; A again (B's run broken); B: 4 dropped, the 5th latches B
    send(veth_ns, dst, media, [(41000, 10), (41002, 3), (41000, 2), (41002, 8)])
    st, stats = finish(r, tmp_path)
    assert st["latched"] == {"ip": NS_ADDR, "port": 41002}, st
    assert st["relatches"] == 1
    assert st["packets"] == 10 + 2 + 4, st
    assert stats.worker_drops()["latch_other"] == 3 + 4


def test_no_relatch_keeps_first_source(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, media_extra="  relatch_packets: 0\n")
    dst, media = call(r, port, veth_ns)
    send(veth_ns, dst, media, [(41000, 5), (41002, 20)])
    st, stats = finish(r, tmp_path)
    assert st["latched"] == {"ip": NS_ADDR, "port": 41000} and st["relatches"] == 0, st
    assert st["packets"] == 5
    assert stats.worker_drops()["latch_other"] == 20


def test_strict_source(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, media_extra="  strict_source: true\n")
    dst, media = call(r, port, veth_ns)
    send(veth_ns, dst, media, [(41000, 6), (SDP_PORT, 5), (41000, 6)])
    st, stats = finish(r, tmp_path)
    assert st["latched"] == {"ip": NS_ADDR, "port": SDP_PORT}, st
    assert st["packets"] == 5
    assert stats.worker_drops()["no_flow"] == 12
