"""Streams as SRCs offer them (issue 10): one mixed m= line or several per-party ones,
labels echoed unchanged whatever they are, and m= lines rtprec does not record (a media
type media.kinds leaves out, non-RTP media) answered with port 0 while the call goes on."""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import DP_ADDR, NS_ADDR
from sip_uac import Uac
from test_latch import send
from test_pause import offer as poffer
from test_reinvite_cancel import TURN_PORT, VethLab, answers, send_reinvite
from test_siprec import first_session, start_srs, wait_for
from test_turn_relay import Turn, turn_entry

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                                reason="needs root and iproute2")

OFFER = (f"v=0\no=SRC 1 1 IN IP4 {NS_ADDR}\ns=-\nc=IN IP4 {NS_ADDR}\nt=0 0\n"
         "m=audio 40000 RTP/AVP 0 8\na=label:4294967296001\na=sendonly\n"
         "m=video 40010 RTP/AVP 96\na=rtpmap:96 H264/90000\na=label:vid-A\na=sendonly\n"
         "m=application 40020 UDP/BFCP *\na=label:floor\n"
         "m=audio 40002 RTP/AVP 9\na=rtpmap:9 G722/8000\na=label:callee_leg.2\n"
         # DTLS-SRTP (RFC 5763: the answer would need a=fingerprint and a=setup) and RTP
         # over TCP (RFC 4571): transports rtprec does not take, port 0 (RFC 3264 6)
         "m=audio 40030 UDP/TLS/RTP/SAVP 0\na=setup:actpass\na=fingerprint:sha-256 "
         + ":".join(["AB"] * 32) + "\na=label:dtls\n"
         "m=audio 40040 TCP/RTP/AVP 0\na=label:tcp\n")


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
    assert [m for m, _ in lines] == ["audio", "video", "application", "audio", "audio",
                                     "audio"], resp
    ports = [int(p) for _, p in lines]
    assert ports[0] and ports[3] and ports[2] == 0 and ports[4] == 0 and ports[5] == 0, resp
    assert (ports[1] != 0) == video_recorded, resp
    assert labels == ["4294967296001", "vid-A", "floor", "callee_leg.2", "dtls", "tcp"], resp
    assert uac.bye() == 200
    r.stop()
    st = first_session(tmp_path)["streams"]
    assert [s["recorded"] for s in st] == [True, video_recorded, False, True, False, False], st
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
    (st,) = first_session(tmp_path)["streams"]
    assert st["packets"] == 102 and st["rtcp_packets"] == 2, st
    # RFC 3550 A.1: the first packet may go to the source's probation
    assert st["rtp_expected"] in (99, 100) and st["lost"] == 0, st
    uac.close()


def test_media_timeout_with_a_silent_stream(start_rtprec, tmp_path, veth_ns):
    """media.timeout_s with two streams of which only one ever sends: once it stops, the
    call ends (the silent one, never latched, used to hold it up forever: ports and the
    session slot were never given back without a BYE from the SRC)."""
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, media_extra="  timeout_s: 2\n")
    uac = Uac(port)
    code, resp = uac.invite(offer(2))
    assert code == 200, resp
    send(veth_ns, DP_ADDR, int(media_lines(resp)[0][0][1]), [(40000, 10)])
    bye = uac.wait_request("BYE", timeout=6)
    uac.reply(bye, 200)
    r.stop()
    sess = first_session(tmp_path)
    assert sess["end_reason"] == "media timeout", sess
    assert [s["packets"] for s in sess["streams"]] == [10, 0], sess["streams"]
    uac.close()


def test_stream_removed_then_added_back(start_rtprec, tmp_path, veth_ns):
    """RFC 3264 8.1/8.2: a re-offer removes stream 1 (port 0), a later one gives its m= line
    a port again (same label): it is recorded again, on the port it had (it used to stay
    answered with port 0, its media lost for the rest of the call)."""
    r, port = start_srs(start_rtprec, tmp_path, veth_ns)
    uac = Uac(port)
    code, resp = uac.invite(offer(2))
    assert code == 200, resp
    ports = [int(p) for _, p in media_lines(resp)[0]]
    code, resp = uac.update(offer(2).replace("m=audio 40002 ", "m=audio 0 "), method="INVITE")
    assert code == 200 and [int(p) for _, p in media_lines(resp)[0]] == [ports[0], 0], resp
    send(veth_ns, DP_ADDR, ports[1], [(40002, 5)])       # removed: not recorded
    code, resp = uac.update(offer(2), method="INVITE")
    assert code == 200 and [int(p) for _, p in media_lines(resp)[0]] == ports, resp
    send(veth_ns, DP_ADDR, ports[1], [(40002, 7)])
    time.sleep(0.3)
    assert uac.bye() == 200
    r.stop()
    st = first_session(tmp_path)["streams"]
    assert [s["label"] for s in st] == ["0", "1"] and st[1]["packets"] == 7, st
    uac.close()


@pytest.mark.skipif(not shutil.which("turnserver"), reason="needs coturn")
def test_bye_during_pending_reinvite(start_rtprec, tmp_path, veth_ns):
    """BYE while a re-INVITE waits for its new stream's TURN relay (coturn stopped): the
    re-INVITE gets 487 (RFC 3261 15.1.2), the call ends at once (session.json written, no
    wait for the allocation), and every media port is back in the pool."""
    turn = Turn(VethLab(veth_ns["ns"]), [NS_ADDR], TURN_PORT, NS_ADDR)
    try:
        r, port = start_srs(start_rtprec, tmp_path, veth_ns,
                            media_extra="nat:\n  relay: always\n  stun_rto_ms: 100\n  turn:\n"
                            + turn_entry(NS_ADDR, TURN_PORT))
        free = r.stats().by_type("sessions")[-1]["free_media_ports"]
        uac = Uac(port)
        code, resp = uac.invite(poffer(1, "sendonly", "sendonly").split("m=audio 40002")[0])
        assert code == 200, resp + r.diag()
        os.kill(turn.p.pid, signal.SIGSTOP)
        send_reinvite(uac, poffer(2, "sendonly", "sendonly"))
        assert answers(uac, 0.5) == [(100, "INVITE")]
        uac.s.sendto((uac._head("BYE") + "Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
        got = answers(uac, 1.0)
        assert (200, "BYE") in got and (487, "INVITE") in got, got
        sess = first_session(tmp_path, 3)
        os.kill(turn.p.pid, signal.SIGCONT)
        assert wait_for(lambda: r.stats().by_type("sessions")[-1]["free_media_ports"] == free, 15)
        assert sess["end_reason"] == "bye", sess
        uac.close()
    finally:
        os.kill(turn.p.pid, signal.SIGCONT)
        turn.stop()


def test_codec_change_keeps_earlier_formats(start_rtprec, tmp_path, veth_ns):
    """A re-INVITE moves the audio from PCMU on dynamic payload type 96 to PCMA on 97: the
    pcap holds packets of both, so session.json's "formats" lists both offers' payload
    types and "codecs" the current offer's lines then the earlier rtpmap of 96 (which
    rtprec-export reads to decode the first part)."""
    def sdp(ver, pt, codec):
        return (f"v=0\no=SRC 1 {ver} IN IP4 {NS_ADDR}\ns=-\nc=IN IP4 {NS_ADDR}\nt=0 0\n"
                f"m=audio 40000 RTP/AVP {pt} 101\na=rtpmap:{pt} {codec}/8000\n"
                "a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\na=label:1\na=sendonly\n")
    r, port = start_srs(start_rtprec, tmp_path, veth_ns)
    uac = Uac(port)
    code, resp = uac.invite(sdp(1, 96, "PCMU"))
    assert code == 200, resp
    code, resp = uac.update(sdp(2, 97, "PCMA"), method="INVITE")
    assert code == 200, resp
    assert uac.bye() == 200
    r.stop()
    st = first_session(tmp_path)["streams"][0]
    assert st["formats"] == "96 101 97", st
    assert st["codecs"] == ["rtpmap:97 PCMA/8000", "rtpmap:101 telephone-event/8000",
                            "fmtp:101 0-15", "rtpmap:96 PCMU/8000"], st
    uac.close()
