"""Security against the real binary: TLS 1.2 at least, sip.tls_ciphers /
tls_ciphersuites, client certificates checked against sip.tls_ca with
sip.tls_verify_client; no TURN password nor SRTP key in the logs at debug level
during a relayed SRTP call; media.strict_source leaves no open relay (RTP to an
unallocated port or from a wrong source is neither recorded nor sent on)."""
import json
import os
import shutil
import socket
import ssl
import time
import warnings
from pathlib import Path

import pytest

from conftest import DP_ADDR, NS_ADDR, free_port, sh
from test_sip_limits import make_cert, options, start_sip, tls_extra

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("openssl"),
                                reason="needs root and openssl")

HERE = Path(__file__).resolve().parent
PY = "/usr/bin/python3"


def client_ctx(cert=None, version=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ctx.maximum_version = version
    if ciphers:
        ctx.set_ciphers(ciphers)
    if cert:
        ctx.load_cert_chain(*cert)
    return ctx


def tls_options(port, ctx):
    """An OPTIONS over TLS: ("ok", status line, cipher) or ("refused", error text).
    In TLS 1.3 a client certificate is refused after the client's handshake is
    done, so the refusal shows at the read."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.settimeout(5)
            s.sendall(options(9, "TLS"))
            data = s.recv(4096)
            if not data.startswith(b"SIP/2.0 "):
                return ("refused", f"no answer: {data[:60]!r}")
            return ("ok", data.split(b"\r\n")[0].decode(), s.cipher()[0], s.version())
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError, socket.timeout) as e:
        return ("refused", repr(e))


@pytest.fixture
def certs(tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    ca = make_cert(d, "testca")
    return dict(server=make_cert(d, "localhost", ca=ca), ca=ca,
                client=make_cert(d, "client", ca=ca), rogue=make_cert(d, "rogue"))


@pytest.mark.timeout_s(60)
def test_tls_min_version_and_ciphers(start_rtprec, tmp_path, certs):
    """A TLS 1.1 client is refused (protocol version) even when it would take any
    cipher; TLS 1.2 gets only the cipher of sip.tls_ciphers, TLS 1.3 only the
    suite of sip.tls_ciphersuites; a 1.2 client offering none of them is refused."""
    extra = tls_extra(*certs["server"], '  tls_ciphers: "ECDHE-RSA-AES128-GCM-SHA256"\n'
                      '  tls_ciphersuites: "TLS_AES_128_GCM_SHA256"\n')
    r, port = start_sip(start_rtprec, tmp_path, extra, listen=("tls",))
    old = tls_options(port, client_ctx(version=ssl.TLSVersion.TLSv1_1,
                                       ciphers="DEFAULT:@SECLEVEL=0"))
    assert old[0] == "refused" and "VERSION" in old[1].upper(), old
    got = tls_options(port, client_ctx(version=ssl.TLSVersion.TLSv1_2))
    assert got[0] == "ok" and got[1].startswith("SIP/2.0 200"), got
    assert got[2:] == ("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2"), got
    got = tls_options(port, client_ctx())
    assert got[0] == "ok" and got[2:] == ("TLS_AES_128_GCM_SHA256", "TLSv1.3"), got
    other = tls_options(port, client_ctx(version=ssl.TLSVersion.TLSv1_2,
                                         ciphers="ECDHE-RSA-AES256-GCM-SHA384"))
    assert other[0] == "refused", other
    st = r.stats().by_type("sip")[0]
    assert st["tls_failures"] == 2, st
    r.stop()


def test_tls_bad_cipher_list(start_rtprec, tmp_path, certs):
    """A cipher list OpenSSL matches nothing in: rtprec says so and does not start."""
    extra = tls_extra(*certs["server"], '  tls_ciphers: "NO-SUCH-CIPHER"\n')
    with pytest.raises(AssertionError, match="no matching event"):
        start_sip(start_rtprec, tmp_path, extra, listen=("tls",))
    (r,) = [p for p in start_rtprec.started]
    assert r.proc.wait(timeout=10) != 0
    assert "sip.tls_ciphers NO-SUCH-CIPHER" in r.stderr_text(), r.diag()


@pytest.mark.timeout_s(60)
def test_tls_client_certificate(start_rtprec, tmp_path, certs):
    """tls_ca + tls_verify_client: a client certificate signed by that CA gets
    in; no certificate, or a self-signed one, fails the handshake (TLS 1.2 and 1.3)."""
    extra = tls_extra(*certs["server"], f'  tls_ca: "{certs["ca"][0]}"\n'
                      "  tls_verify_client: true\n")
    r, port = start_sip(start_rtprec, tmp_path, extra, listen=("tls",))
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        got = tls_options(port, client_ctx(certs["client"], version))
        assert got[0] == "ok" and got[1].startswith("SIP/2.0 200"), got
        for cert in (None, certs["rogue"]):
            got = tls_options(port, client_ctx(cert, version))
            assert got[0] == "refused", (version, cert, got)
    assert r.stats().by_type("sip")[0]["tls_failures"] == 4
    r.stop()


# ---------------------------------------------------------------- credentials
TURN_PW = "S3cretTurnPw"


@pytest.mark.timeout_s(120)
@pytest.mark.skipif(not shutil.which("turnserver") or not shutil.which("nft"),
                    reason="needs coturn and nftables")
def test_no_credentials_in_logs(start_rtprec, tmp_path):
    """log.level debug, a TURN server with a password, an SRTP call through the
    relay recorded decrypted: neither the password nor any SRTP key (the offered
    one, rtprec's own) appears on stdout or stderr."""
    from nat_lab import SRC_IP, STUN_IP, STUN_PORT, NatLab
    from sip_uac import Uac, answer_media
    from test_nat import STUN_NAT, lab_config
    import test_srtp

    sdp = (f"v=0\no=SRC 1 1 IN IP4 {SRC_IP}\ns=-\nc=IN IP4 {SRC_IP}\nt=0 0\n"
           "m=audio 40000 RTP/SAVP 0\n"
           f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{test_srtp.KEY_B64}|2^31\n"
           "a=label:1\na=sendonly\na=rtcp-mux\n")
    with NatLab("symmetric") as lab:
        lab.start_coturn(user=f"rtprec:{TURN_PW}")
        sip_port, cert = free_port(), make_cert(tmp_path)
        udp = f'  listen: ["udp:127.0.0.1:{sip_port}"]\n'
        text = lab_config(tmp_path, lab, STUN_NAT, sip_port).replace(
            udp, udp[:-2] + f', "tls:127.0.0.1:{sip_port}"]\n' + tls_extra(*cert)) + (
            f'  turn:\n    - {{ uri: "turn:{STUN_IP}:{STUN_PORT}?transport=udp", username: rtprec, '
            f'password: "{TURN_PW}" }}\n  relay: auto\nlog:\n  level: debug\n')
        assert "tls:" in text
        r = start_rtprec(text)
        r.wait_ready()
        with socket.create_connection(("127.0.0.1", sip_port), timeout=5) as s:
            s.sendall(b"OPTIONS sip:x SIP/2.0\r\n\r\n")  # not TLS: a debug line
            s.settimeout(5)
            try:
                assert s.recv(100) == b""
            except ConnectionResetError:
                pass
        r.wait_event(lambda e: e.get("event") == "nat" and e["complete"], timeout=30)
        uac = Uac(sip_port)
        code, resp = uac.invite(sdp)
        assert code == 200, resp + r.diag()
        ip, port = answer_media(resp)
        assert ip == STUN_IP, resp
        ours = [l.split("inline:", 1)[1].split("|")[0] for l in resp.split("\r\n")
                if l.startswith("a=crypto:")]
        assert len(ours) == 1 and ours[0] != test_srtp.KEY_B64, resp
        code = ("import socket,struct,sys,time\n"
                f"sys.path.insert(0,{str(HERE)!r})\nimport test_srtp as t\n"
                "lib,ctx,keep=t._srtp_sender(t.KEY)\n"
                f"s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('{SRC_IP}',40000))\n"
                "for i in range(20):\n"
                "  p=struct.pack('!BBHII',0x80,0,i+1,(i+1)*160,0x5151)+t.PAYLOAD\n"
                f"  s.sendto(t._protect(lib,ctx,p),('{ip}',{port}))\n"
                "  time.sleep(0.004)\n")
        lab.nsx(lab.out, PY, "-c", code, timeout=30)
        time.sleep(0.5)
        nat = r.stats().by_type("nat")[0]
        assert nat["relays"] == 1, nat
        assert uac.bye() == 200
        r.stop()
        uac.close()
    sess = json.load(open(next((tmp_path / "rec").glob("*/*/*/*/session.json"))))
    assert sess["recording"]["srtp"][0]["decrypted"] == 20, sess
    out = "\n".join([json.dumps(e) for e in r.events] + r.bad_lines)
    err = r.stderr_text()
    assert "debug: sip: TLS handshake from 127.0.0.1" in err  # the debug level was on
    for secret in (TURN_PW, test_srtp.KEY_B64, test_srtp.KEY_B64[:20], ours[0], ours[0][:20]):
        assert secret not in out, f"{secret} on stdout"
        assert secret not in err, f"{secret} on stderr"
    assert "inline:" not in err and "inline:" not in out


# ---------------------------------------------------------------- no open relay
@pytest.mark.timeout_s(90)
@pytest.mark.skipif(not shutil.which("ip") or not shutil.which("tshark"),
                    reason="needs iproute2 and tshark")
def test_strict_source_no_open_relay(start_rtprec, tmp_path, veth_ns):
    """media.strict_source with a call up: RTP (a) to media ports no call holds,
    (b) to the call's port from a wrong port and from a wrong address, is dropped
    (no_flow), neither recorded nor sent anywhere; (c) from the SDP's address and
    port is recorded."""
    from test_latch import SDP_PORT, call, send
    from test_siprec import rtp_counts, session_dirs, start_srs, wait_for

    v = veth_ns
    other = "198.18.0.2"
    sh(["ip", "netns", "exec", v["ns"], "ip", "addr", "add", f"{other}/24", "dev", v["ns_if"]])
    r, port = start_srs(start_rtprec, tmp_path, v, media_extra="  strict_source: true\n")
    dst, media = call(r, port, v)
    assert dst == DP_ADDR
    # ARP for DP_ADDR from both addresses first: its replies are the only frames sent
    for src in (NS_ADDR, other):
        sh(["ip", "netns", "exec", v["ns"], "ping", "-c", "1", "-W", "2", "-I", src, DP_ADDR],
           check=False)
    st0 = r.stats()
    send(v, dst, media + 100, [(SDP_PORT, 10)])        # (a) a free port of the range
    send(v, dst, 5004, [(SDP_PORT, 10)])               # (a) outside the range
    send(v, dst, media, [(41000, 10)])                  # (b) wrong port
    code = ("import socket,struct,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"s.bind(('{other}',{SDP_PORT}))\n"
            "for i in range(10):\n"
            f"  s.sendto(struct.pack('!BBHII',0x80,0,i+1,(i+1)*160,0x7777)+b'\\xd5'*160,('{dst}',{media}))\n"
            "  time.sleep(0.003)\n")
    sh(["ip", "netns", "exec", v["ns"], PY, "-c", code], timeout=30)  # (b) wrong address
    time.sleep(0.3)
    st1 = r.stats()
    d0, d1 = st0.worker_drops(), st1.worker_drops()
    assert d1.get("no_flow", 0) - d0.get("no_flow", 0) == 40, (d0, d1)
    assert st1.worker_sum("tx_packets") == st0.worker_sum("tx_packets"), (st0, st1)
    send(v, dst, media, [(SDP_PORT, 10)])               # (c) the SDP's source
    time.sleep(0.3)
    st2 = r.stats()
    assert st2.worker_sum("tx_packets") == st0.worker_sum("tx_packets"), (st0, st2)
    assert st2.worker_drops().get("no_flow", 0) == d1.get("no_flow", 0)
    r.stop()
    assert wait_for(lambda: session_dirs(tmp_path) and
                    os.path.exists(session_dirs(tmp_path)[0] + "/session.json"))
    (d,) = session_dirs(tmp_path)
    stream = json.load(open(d + "/session.json"))["streams"][0]
    assert stream["packets"] == 10 and stream["latched"] == {"ip": NS_ADDR, "port": SDP_PORT}, stream
    assert rtp_counts(d + "/media.pcap") == {media: 10}
