"""Pause and resume as SRCs signal them (issue 10): a=inactive, a=recvonly from the SRC,
or the old c=IN IP4 0.0.0.0 hold pause a stream; sendonly/sendrecv resume it. A paused
stream's packets are not recorded, its intervals land in session.json ("pauses"), and
an UPDATE with only metadata is answered 200 without SDP."""
import datetime
import os
import re
import shutil
import time

import pytest

from conftest import NS_ADDR
from sip_uac import Uac
from test_latch import send
from test_siprec import first_session, rtp_counts, session_dirs, start_srs

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
    s1, s2 = first_session(tmp_path)["streams"]
    d = session_dirs(tmp_path)[0]
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
    s1, s2 = first_session(tmp_path)["streams"]
    assert len(s1["pauses"]) == 1 and s1["pauses"][0]["end"] is not None, s1["pauses"]
    assert s2["pauses"] == []
    uac.close()


def test_resume_after_long_pause_gets_media_timeout_s(start_rtprec, tmp_path, veth_ns):
    """media.timeout_s: 2, a hold longer than that, then a resume: the call is given
    timeout_s from the resume for its media to come back (the idle report from during
    the hold used to end it at the next tick), and ends when none comes."""
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, media_extra="  timeout_s: 2\n")
    uac = Uac(port)
    code, resp = uac.invite(offer(1, "sendonly", "inactive"))
    assert code == 200, resp
    send(veth_ns, "198.18.0.10", answer_ports(resp)[0], [(40000, 10)])
    code, resp = uac.update(offer(2, "inactive", "inactive"), method="INVITE")
    assert code == 200 and answer_dirs(resp) == ["inactive", "inactive"], resp
    time.sleep(3.2)                                     # on hold: no timeout, the flow idles
    code, resp = uac.update(offer(3, "sendonly", "inactive"), method="INVITE")
    assert code == 200 and answer_dirs(resp) == ["recvonly", "inactive"], resp
    resumed = time.monotonic()
    bye = uac.wait_request("BYE", timeout=6)
    assert time.monotonic() - resumed >= 1.8, "BYE right after the resume"
    uac.reply(bye, 200)
    r.stop()
    sess = first_session(tmp_path)
    assert sess["end_reason"] == "media timeout", sess
    uac.close()


def test_stream_added_paused_starts_its_pause_then(start_rtprec, tmp_path, veth_ns):
    """A re-INVITE that adds a stream already inactive: its pause starts at the re-INVITE,
    not at the call's start (before the stream existed)."""
    r, port = start_srs(start_rtprec, tmp_path, veth_ns)
    uac = Uac(port)
    one = offer(1, "sendonly", "sendonly").split("m=audio 40002")[0]
    code, resp = uac.invite(one)
    assert code == 200, resp
    time.sleep(1.2)
    code, resp = uac.update(offer(2, "sendonly", "inactive"), method="INVITE")
    assert code == 200 and answer_dirs(resp) == ["recvonly", "inactive"], resp
    assert uac.bye() == 200
    r.stop()
    sess = first_session(tmp_path)
    (p,) = sess["streams"][1]["pauses"]
    t = lambda v: datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))  # noqa: E731
    assert (t(p["start"]) - t(sess["start"])).total_seconds() >= 1.0, (p, sess["start"])
    uac.close()
