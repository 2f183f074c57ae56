"""Pause and resume as SRCs signal them (issue 10): a=inactive, a=recvonly from the SRC,
or the old c=IN IP4 0.0.0.0 hold pause a stream; sendonly/sendrecv resume it. A paused
stream's packets are not recorded, its intervals land in session.json ("pauses"), and
an UPDATE with only metadata is answered 200 without SDP."""
import json
import os
import re
import shutil
import time

import pytest

from conftest import NS_ADDR
from sip_uac import Uac
from test_latch import send
from test_siprec import rtp_counts, session_dirs, start_srs, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                                reason="needs root and iproute2")


def offer(ver, d1, d2, c2=NS_ADDR):
    return (f"v=0\no=SRC 1 {ver} IN IP4 {NS_ADDR}\ns=-\nc=IN IP4 {NS_ADDR}\nt=0 0\n"
            f"m=audio 40000 RTP/AVP 0\na=label:1\na={d1}\na=rtcp-mux\n"
            f"m=audio 40002 RTP/AVP 8\nc=IN IP4 {c2}\na=label:2\na={d2}\na=rtcp-mux\n")


def answer_dirs(resp):
    body = resp.split("\r\n\r\n", 1)[1]
    return re.findall(r"^a=(sendrecv|sendonly|recvonly|inactive)\r?$", body, re.M)


def answer_ports(resp):
    return [int(p) for p in re.findall(r"^m=audio (\d+) ", resp.split("\r\n\r\n", 1)[1], re.M)]


MD = ('<?xml version="1.0"?><recording xmlns="urn:ietf:params:xml:ns:recording:1">'
      '<datamode>complete</datamode><session session_id="s1"/></recording>')


def test_pause_styles_and_intervals(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns)
    uac = Uac(port)
    # stream 2 starts on hold (c=0.0.0.0): answered inactive, but with a port
    code, resp = uac.invite(offer(1, "sendonly", "sendonly", c2="0.0.0.0"))
    assert code == 200, resp
    assert answer_dirs(resp) == ["recvonly", "inactive"], resp
    p1, p2 = answer_ports(resp)
    assert p1 and p2, resp
    send(veth_ns, "198.18.0.10", p1, [(40000, 10)])
    send(veth_ns, "198.18.0.10", p2, [(40002, 7)])     # not recorded: paused
    # the SRC stops sending on 1 (a=recvonly) and resumes 2
    code, resp = uac.update(offer(2, "recvonly", "sendonly"), method="INVITE")
    assert code == 200 and answer_dirs(resp) == ["inactive", "recvonly"], resp
    send(veth_ns, "198.18.0.10", p1, [(40000, 5)])     # not recorded
    send(veth_ns, "198.18.0.10", p2, [(40002, 9)])
    # metadata alone in an UPDATE: 200 with no SDP, nothing changes
    code, resp = uac.update(MD, ctype="application/rs-metadata+xml")
    assert code == 200 and "application/sdp" not in resp and "m=audio" not in resp, resp
    # both sending: 1 resumes
    code, resp = uac.update(offer(3, "sendrecv", "sendonly"), method="INVITE")
    assert code == 200 and answer_dirs(resp) == ["recvonly", "recvonly"], resp
    send(veth_ns, "198.18.0.10", p1, [(40000, 6)])
    time.sleep(0.3)
    assert uac.bye() == 200
    r.stop()
    assert wait_for(lambda: session_dirs(tmp_path) and
                    os.path.exists(session_dirs(tmp_path)[0] + "/session.json"))
    d = session_dirs(tmp_path)[0]
    s1, s2 = json.load(open(d + "/session.json"))["streams"]
    assert rtp_counts(d + "/media.pcap") == {p1: 10 + 6, p2: 9}
    assert len(s1["pauses"]) == 1 and len(s2["pauses"]) == 1, (s1["pauses"], s2["pauses"])
    (a,), (b,) = s1["pauses"], s2["pauses"]
    assert a["start"] and a["end"] and a["start"] < a["end"], a
    assert b["start"] and b["end"] and b["start"] < b["end"] <= a["end"], (a, b)
    uac.close()


def test_pause_held_to_the_end(start_rtprec, tmp_path, veth_ns):
    """A stream paused when the call ends: its interval ends with the call."""
    r, port = start_srs(start_rtprec, tmp_path, veth_ns)
    uac = Uac(port)
    code, resp = uac.invite(offer(1, "inactive", "sendonly"))
    assert code == 200 and answer_dirs(resp) == ["inactive", "recvonly"], resp
    assert uac.bye() == 200
    r.stop()
    assert wait_for(lambda: session_dirs(tmp_path) and
                    os.path.exists(session_dirs(tmp_path)[0] + "/session.json"))
    sess = json.load(open(session_dirs(tmp_path)[0] + "/session.json"))
    s1, s2 = sess["streams"]
    assert len(s1["pauses"]) == 1 and s1["pauses"][0]["end"] is not None, s1["pauses"]
    assert s2["pauses"] == []
    uac.close()
