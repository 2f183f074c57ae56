"""SRTP offered as RTP/SAVP with SDES keys (a=crypto, RFC 4568) by SIPp
(tests/sipp/siprec_srtp_uac.xml; the refusal case by a plain INVITE): the answer keeps
the proto and carries one a=crypto with the offered tag and suite and a key of
rtprec's own; SRTP sent with the offered key from a namespace is recorded
decrypted (recording.srtp: decrypt, the default) or as received with the keys
in session.json (keep).

Run as a script it is the SRTP sender (libsrtp2 through ctypes):
  test_srtp.py send HOST PORT B64KEY[|MKI:LEN] COUNT [FIRST [SKIP]]
      (RTP from port 40000 to PORT from sequence number FIRST, after SKIP packets
       protected but not sent, with the MKI in each packet if given; one RTCP SR to
       PORT+1, then one RTP packet with a bad tag)"""
import base64
import ctypes
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = "/usr/bin/python3"
KEY = bytes(range(1, 31))
KEY_B64 = base64.b64encode(KEY).decode()
PAYLOAD = bytes((i * 7) & 0xFF for i in range(160))
COUNT = 10


def _srtp_sender(key, mki=b""):
    """An outbound srtp_t (AES_CM_128_HMAC_SHA1_80, any SSRC) for key (30 bytes), with
    the MKI mki in each packet if not empty: (lib, ctx, what must stay alive)."""
    lib = ctypes.CDLL("libsrtp2.so.1")
    assert lib.srtp_init() == 0
    pol = ctypes.create_string_buffer(128)  # srtp_policy_t on x86_64, libsrtp 2.x
    keybuf = ctypes.create_string_buffer(key, len(key))
    addr = ctypes.addressof(pol)
    lib.srtp_crypto_policy_set_rtp_default(ctypes.c_void_p(addr + 8))
    lib.srtp_crypto_policy_set_rtcp_default(ctypes.c_void_p(addr + 32))
    struct.pack_into("=i", pol, 0, 3)  # ssrc.type = ssrc_any_outbound
    keep = [keybuf]
    if mki:  # keys: one srtp_master_key_t {key, mki_id, mki_size}, num_master_keys 1
        mkibuf = ctypes.create_string_buffer(mki, len(mki))
        mk = ctypes.create_string_buffer(struct.pack("=QQI", ctypes.addressof(keybuf),
                                                     ctypes.addressof(mkibuf), len(mki)), 24)
        mks = (ctypes.c_void_p * 1)(ctypes.addressof(mk))
        struct.pack_into("=QQ", pol, 64, ctypes.addressof(mks), 1)
        keep += [mkibuf, mk, mks]
    else:
        struct.pack_into("=Q", pol, 56, ctypes.addressof(keybuf))  # key
    struct.pack_into("=Q", pol, 88, 128)  # window_size
    ctx = ctypes.c_void_p()
    assert lib.srtp_create(ctypes.byref(ctx), pol) == 0
    return lib, (ctx, bool(mki)), keep


def _protect(lib, ctx, pkt, rtcp=False):
    ctx, mki = ctx
    buf = ctypes.create_string_buffer(pkt, len(pkt) + 64)
    n = ctypes.c_int(len(pkt))
    fn = lib.srtp_protect_rtcp_mki if rtcp else lib.srtp_protect_mki
    assert fn(ctx, buf, ctypes.byref(n), int(mki), 0) == 0
    return buf.raw[:n.value]


def _key_params(text):
    """B64KEY[|MKI:LEN]: (key, MKI bytes)."""
    key, _, mki = text.partition("|")
    val, _, n = mki.partition(":")
    return base64.b64decode(key), (int(val).to_bytes(int(n), "big") if mki else b"")


def _rtp(seq):
    return struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF,
                       0x51515151) + PAYLOAD


def send_main(host, port, key_params, count, first=1, skip=0):
    lib, ctx, _keep = _srtp_sender(*_key_params(key_params))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", 40000))  # the offer's port: a second run is the same source (latching)
    for i in range(skip):  # the sender's rollover counter goes on past these
        _protect(lib, ctx, _rtp(first - skip + i))
    for i in range(count):
        s.sendto(_protect(lib, ctx, _rtp(first + i)), (host, port))
        time.sleep(0.004)
    sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, 0x51515151, 1, 2, 3, count, count * 160)
    s.sendto(_protect(lib, ctx, sr, rtcp=True), (host, port + 1))
    bad = bytearray(_protect(lib, ctx, _rtp(first + count)))
    bad[-1] ^= 0x5A
    s.sendto(bytes(bad), (host, port))


if __name__ == "__main__" and len(sys.argv) >= 6 and sys.argv[1] == "send":
    send_main(sys.argv[2], int(sys.argv[3]), sys.argv[4], *map(int, sys.argv[5:8]))
    sys.exit(0)

import pytest  # noqa: E402

from conftest import DP_ADDR  # noqa: E402
from test_interop import sipp_messages  # noqa: E402
from sip_uac import Uac, answer_media  # noqa: E402
from test_siprec import (invite, rtp_counts, run_sipp, session_dirs, sip_request,  # noqa: E402
                         start_srs, wait_for)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("tshark"),
    reason="needs root, iproute2 and tshark")

SDP = ("v=0\no=SRC 1 1 IN IP4 198.18.0.1\ns=-\nc=IN IP4 198.18.0.1\nt=0 0\n"
       "m=audio 40000 RTP/SAVP 0\n"
       "a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:" + KEY_B64 + KEY_B64[:16] + "\n"
       "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" + KEY_B64 + "|2^31\n"
       "a=label:1\na=sendonly\n")


def call(start, tmp_path, v):
    """SIPp offers SRTP with SDES (siprec_srtp_uac.xml); the answer is checked, SRTP is
    sent from the namespace with the offered key, SIPp hangs up: (rtp port, session dir)."""
    r, port = start_srs(start, tmp_path, v)
    trace = tmp_path / "sipp_messages.log"
    sender = f"ip netns exec {v['ns']} {PY} {Path(__file__).resolve()} send {DP_ADDR}"
    p = run_sipp("siprec_srtp_uac.xml", port,
                 keys={"srtpcmd": sender, "srtpkey": KEY_B64, "srtpkey256": KEY_B64 + KEY_B64[:16],
                       "srtpcount": COUNT},
                 extra=["-trace_msg", "-message_file", str(trace)])
    assert p.returncode == 0, f"SIPp failed:\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}\n{r.diag()}"
    answers = [t for _, d, t in sipp_messages(trace)
               if d == "received" and t.startswith("SIP/2.0 200")
               and re.search(r"^CSeq:\s*\d+\s+INVITE", t, re.M)]
    lines = answers[0].split("\r\n")
    (m_line,) = [x for x in lines if x.startswith("m=audio ")]
    assert m_line.split()[2] == "RTP/SAVP"
    rtp_port = int(m_line.split()[1])
    assert rtp_port != 0
    (crypto,) = [x for x in lines if x.startswith("a=crypto:")]
    tag, suite, params = crypto[len("a=crypto:"):].split(" ")
    assert (tag, suite) == ("2", "AES_CM_128_HMAC_SHA1_80")
    assert params.startswith("inline:")
    ours = base64.b64decode(params[len("inline:"):], validate=True)
    assert len(ours) == 30 and ours != KEY
    assert [x for x in lines if x.startswith("c=IN IP4 ")] == [f"c=IN IP4 {DP_ADDR}"]
    assert wait_for(lambda: any(os.path.exists(d + "/session.json") for d in session_dirs(tmp_path))), r.diag()
    r.stop()
    (d,) = session_dirs(tmp_path)
    return rtp_port, d


def rtp_payloads(pcap):
    p = subprocess.run(["tshark", "-r", pcap, "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp",
                        "-T", "fields", "-e", "rtp.payload"],
                       capture_output=True, text=True, timeout=60)
    return [bytes.fromhex(x.replace(":", "")) for x in p.stdout.split()]


def test_srtp_decrypt(start_rtprec, tmp_path, veth_ns):
    rtp_port, d = call(start_rtprec, tmp_path, veth_ns)
    pcap = d + "/media.pcap"
    # COUNT decrypted + the bad-tag one, written as received
    assert rtp_counts(pcap) == {rtp_port: COUNT + 1}
    pl = rtp_payloads(pcap)
    assert pl.count(PAYLOAD) == COUNT, pl
    # the SR decrypted: tshark reads it as RTCP with our sender's packet count
    p = subprocess.run(["tshark", "-r", pcap, "-Y", "rtcp", "-d", f"udp.port=={rtp_port + 1},rtcp",
                        "-T", "fields", "-e", "rtcp.sender.packetcount"],
                       capture_output=True, text=True, timeout=60)
    assert p.stdout.split() == [str(COUNT)], p.stdout + p.stderr
    sess = json.load(open(d + "/session.json"))
    (st,) = sess["streams"]
    assert st["srtp"] == {"mode": "decrypt", "tag": 2, "suite": "AES_CM_128_HMAC_SHA1_80"}
    assert sess["recording"]["srtp"] == [
        {"stream": 0, "local_port": rtp_port, "decrypted": COUNT + 1, "srtp_errors": 1}]


def test_srtp_keep(start_rtprec, tmp_path, veth_ns):
    def start(cfg):
        return start_rtprec(cfg, env={"RTPREC_RECORDING_SRTP": "keep"})

    rtp_port, d = call(start, tmp_path, veth_ns)
    pcap = d + "/media.pcap"
    assert rtp_counts(pcap) == {rtp_port: COUNT + 1}
    assert PAYLOAD not in rtp_payloads(pcap)  # as received: encrypted
    sess = json.load(open(d + "/session.json"))
    (st,) = sess["streams"]
    assert st["srtp"] == {"mode": "keep", "tag": 2, "suite": "AES_CM_128_HMAC_SHA1_80",
                          "key_params": "inline:" + KEY_B64 + "|2^31"}
    assert "srtp" not in sess["recording"]


def test_savp_without_usable_crypto(start_rtprec, tmp_path, veth_ns):
    """No acceptable a=crypto: the stream is refused (port 0), so the call gets 488."""
    r, port = start_srs(start_rtprec, tmp_path, veth_ns)
    body = SDP.replace("a=crypto:2 AES_CM_128_HMAC_SHA1_80", "a=crypto:2 F8_128_HMAC_SHA1_80")
    code, data = sip_request(port, invite(body))
    assert code == 488, data
    r.stop()


def uac_call(start, tmp_path, v, sdp, media):
    """A call by hand (sip_uac) offering sdp; media(uac, send) runs between the INVITE
    and the BYE, send(key_params, first=1, skip=0) sends as the script does from the
    namespace. The decrypted payloads in media.pcap, and session.json's "srtp" counts."""
    r, port = start_srs(start, tmp_path, v)
    uac = Uac(port)
    try:
        code, resp = uac.invite(sdp)
        assert code == 200, resp
        _, rtp_port = answer_media(resp)

        def send(key_params, first=1, skip=0):
            subprocess.run(["ip", "netns", "exec", v["ns"], PY, str(Path(__file__).resolve()),
                            "send", DP_ADDR, str(rtp_port), key_params, str(COUNT), str(first),
                            str(skip)], check=True, timeout=30)

        media(uac, send)
        assert uac.bye() == 200
    finally:
        uac.close()
    assert wait_for(lambda: any(os.path.exists(d + "/session.json") for d in session_dirs(tmp_path))), r.diag()
    r.stop()
    (d,) = session_dirs(tmp_path)
    srtp = json.load(open(d + "/session.json"))["recording"]["srtp"]
    assert [(x["stream"], x["local_port"]) for x in srtp] == [(0, rtp_port)]
    return rtp_payloads(d + "/media.pcap").count(PAYLOAD), (srtp[0]["decrypted"], srtp[0]["srtp_errors"])


def test_srtp_rekey_after_wrap(start_rtprec, tmp_path, veth_ns):
    """A re-INVITE with a new key after the sequence number wrapped: the SRC goes on
    with its rollover counter (RFC 3711 3.3.1), and the recording stays decrypted."""
    key_b = base64.b64encode(bytes(range(101, 131))).decode()

    def media(uac, send):
        send(KEY_B64, 65530)  # 65530 .. 3: the counter goes to 1
        code, resp = uac.update(SDP.replace("inline:" + KEY_B64, "inline:" + key_b), method="INVITE")
        assert code == 200, resp
        send(key_b, 5, 11)  # the bad packet took 4; the new key's sender counts on

    assert uac_call(start_rtprec, tmp_path, veth_ns, SDP, media) == (2 * COUNT, (2 * (COUNT + 1), 2))


def test_srtp_mki(start_rtprec, tmp_path, veth_ns):
    """A key with an MKI (a=crypto "|2^20|1:4", RFC 4568 9.2): every SRTP and SRTCP
    packet carries it, all are recorded decrypted."""
    sdp = SDP.replace(KEY_B64 + "|2^31", KEY_B64 + "|2^20|1:4")

    def media(uac, send):
        send(KEY_B64 + "|1:4")

    assert uac_call(start_rtprec, tmp_path, veth_ns, sdp, media) == (COUNT, (COUNT + 1, 1))
