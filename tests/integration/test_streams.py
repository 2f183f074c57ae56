"""Streams as SRCs offer them (issue 10): one mixed m= line or several per-party ones,
labels echoed unchanged whatever they are, and m= lines rtprec does not record (a media
type media.kinds leaves out, non-RTP media) answered with port 0 while the call goes on."""
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import DP_ADDR, NS_ADDR
from sip_uac import Uac
from test_siprec import session_dirs, start_srs, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                                reason="needs root and iproute2")

OFFER = (f"v=0\no=SRC 1 1 IN IP4 {NS_ADDR}\ns=-\nc=IN IP4 {NS_ADDR}\nt=0 0\n"
         "m=audio 40000 RTP/AVP 0 8\na=label:4294967296001\na=sendonly\n"
         "m=video 40010 RTP/AVP 96\na=rtpmap:96 H264/90000\na=label:vid-A\na=sendonly\n"
         "m=application 40020 UDP/BFCP *\na=label:floor\n"
         "m=audio 40002 RTP/AVP 9\na=rtpmap:9 G722/8000\na=label:callee_leg.2\n")


def media_lines(resp):
    body = resp.split("\r\n\r\n", 1)[1]
    return re.findall(r"^m=(\w+) (\d+) ", body, re.M), re.findall(r"^a=label:(\S+)\r?$", body, re.M)


@pytest.mark.parametrize("kinds,video_recorded", [(None, True), ("[audio]", False)])
def test_kinds_and_labels(start_rtprec, tmp_path, veth_ns, kinds, video_recorded):
    extra = f"  kinds: {kinds}\n" if kinds else ""
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, media_extra=extra)
    uac = Uac(port)
    code, resp = uac.invite(OFFER)
    assert code == 200, resp
    lines, labels = media_lines(resp)
    assert [m for m, _ in lines] == ["audio", "video", "application", "audio"], resp
    ports = [int(p) for _, p in lines]
    assert ports[0] and ports[3] and ports[2] == 0, resp
    assert (ports[1] != 0) == video_recorded, resp
    assert labels == ["4294967296001", "vid-A", "floor", "callee_leg.2"], resp
    assert uac.bye() == 200
    r.stop()
    assert wait_for(lambda: session_dirs(tmp_path) and
                    os.path.exists(session_dirs(tmp_path)[0] + "/session.json"))
    st = json.load(open(session_dirs(tmp_path)[0] + "/session.json"))["streams"]
    assert [s["recorded"] for s in st] == [True, video_recorded, False, True], st
    uac.close()


def test_bad_kind_is_a_config_error(start_rtprec, tmp_path, veth_ns):
    with pytest.raises(AssertionError, match=r"media\.kinds.*'smell'"):
        start_srs(start_rtprec, tmp_path, veth_ns, media_extra="  kinds: [audio, smell]\n")


def offer(n):
    return (f"v=0\no=SRC 1 {n} IN IP4 {NS_ADDR}\ns=-\nc=IN IP4 {NS_ADDR}\nt=0 0\n" +
            "".join(f"m=audio {40000 + 2 * i} RTP/AVP 0\na=label:{i}\na=sendonly\n"
                    for i in range(n)))


def test_reoffer_new_streams_without_ports(start_rtprec, tmp_path, veth_ns):
    """A re-INVITE adds two streams when the port pool has room for one more: both are
    answered with port 0 (none half-programmed), the call goes on, and the port taken
    for them is back in the pool: the next call gets it."""
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, ports=(30000, 30003))
    uac = Uac(port)
    code, resp = uac.invite(offer(1))
    assert code == 200, resp
    code, resp = uac.update(offer(3), method="INVITE")
    assert code == 200, resp
    ports = [int(p) for _, p in media_lines(resp)[0]]
    assert ports[0] != 0 and ports[1:] == [0, 0], resp
    second = Uac(port)
    code, resp = second.invite(offer(1))
    assert code == 200, resp
    assert [int(p) for _, p in media_lines(resp)[0]] == [30002], resp
    assert second.bye() == 200 and uac.bye() == 200
    second.close()
    uac.close()


# From the netns to the call's port: RTP seq 0..99 from the SDP's port, with an RTCP
# receiver report (packet type 201) after packet 49 and after packet 99 on the same port
MUX_SENDER = r"""
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 40000))
dst = (sys.argv[1], int(sys.argv[2]))
rr = struct.pack("!BBHI", 0x81, 201, 7, 0x1234) + struct.pack("!IIIIII", 0xabcd, 0, 0, 0, 0, 0)
for i in range(100):
    s.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 160, 0x1234) + b"\xd5" * 160, dst)
    if i in (49, 99):
        s.sendto(rr, dst)
    time.sleep(0.002)
"""


def test_rtcp_mux_kept_out_of_rtp_stats(start_rtprec, tmp_path, veth_ns):
    """rtcp-mux: RTCP on the RTP port is recorded and counted as rtcp_packets, and the
    stream's RTP figures stay whole (each RTCP packet used to restart them as a new
    source): 100 expected (99 after probation), 0 lost."""
    r, port = start_srs(start_rtprec, tmp_path, veth_ns)
    uac = Uac(port)
    code, resp = uac.invite(offer(1) + "a=rtcp-mux\n")
    assert code == 200 and "a=rtcp-mux" in resp, resp
    media = int(media_lines(resp)[0][0][1])
    subprocess.run(["ip", "netns", "exec", veth_ns["ns"], "/usr/bin/python3", "-c", MUX_SENDER,
                    DP_ADDR, str(media)], check=True, timeout=30)
    time.sleep(0.3)
    assert uac.bye() == 200
    r.stop()
    assert wait_for(lambda: session_dirs(tmp_path) and
                    os.path.exists(session_dirs(tmp_path)[0] + "/session.json"))
    (st,) = json.load(open(session_dirs(tmp_path)[0] + "/session.json"))["streams"]
    assert st["packets"] == 102 and st["rtcp_packets"] == 2, st
    # RFC 3550 A.1: the first packet may go to the source's probation
    assert st["rtp_expected"] in (99, 100) and st["lost"] == 0, st
    uac.close()
