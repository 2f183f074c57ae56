"""sip.limits and sip.rate_limit against the real binary: a slow-loris TCP
connection, an idle one and half-open TLS handshakes are closed after the
configured (short) times; a burst of requests from one source address gets 503
with Retry-After and then silence, while another source is served. Each wait is
bounded; the counters are read from the {"type":"sip"} stats line."""
import os
import re
import socket
import ssl
import time
import uuid

import pytest

from conftest import config_yaml, eal_args, free_port, sh

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (DPDK)")


def start_sip(start_rtprec, tmp_path, sip_extra="", listen=("udp", "tcp"), name="rtprec.yaml"):
    """rtprec with SIP on 127.0.0.1:port for each transport in listen and a
    net_null media port (no media here); (rtprec, port)."""
    port = free_port()
    lst = ", ".join(f'"{tp}:127.0.0.1:{port}"' for tp in listen)
    cfg = config_yaml(eal=eal_args("net_null0"),
                      ports=[dict(name="media0", device="net_null0", ipv4="198.18.0.10/24")],
                      recording_dir=str(tmp_path / "rec"), flows=[],
                      extra=f"sip:\n  listen: [{lst}]\n{sip_extra}")
    r = start_rtprec(cfg, name=name)
    r.wait_ready()
    return r, port


def make_cert(d, cn="localhost", ca=None):
    """A key and certificate in directory d (self-signed, or signed by ca=(cert, key));
    returns (cert, key) paths."""
    key, cert = d / f"{cn}.key", d / f"{cn}.pem"
    if ca is None:
        sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
            "-days", "1", "-keyout", str(key), "-out", str(cert)], timeout=60)
    else:
        csr = d / f"{cn}.csr"
        sh(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
            "-keyout", str(key), "-out", str(csr)], timeout=60)
        sh(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
            "-CAcreateserial", "-days", "1", "-out", str(cert)], timeout=60)
    return cert, key


def tls_extra(cert, key, more=""):
    return f'  tls_cert: "{cert}"\n  tls_key: "{key}"\n{more}'


def sip_stats(r):
    (line,) = r.stats().by_type("sip")
    return line


def options(lport, tp="UDP", method="OPTIONS"):
    cid = uuid.uuid4().hex
    return (f"{method} sip:srs@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/{tp} 127.0.0.1:{lport};branch=z9hG4bK{cid[:12]};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag={cid[:6]}\r\nTo: <sip:srs@127.0.0.1>\r\n"
            f"Call-ID: {cid}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n").encode()


def wait_closed(s, limit):
    """Seconds until the peer closes s, reading for at most limit; None if it
    stays open. Sends nothing."""
    t0 = time.monotonic()
    s.settimeout(0.2)
    while time.monotonic() - t0 < limit:
        if peer_closed(s):
            return time.monotonic() - t0
    return None


def peer_closed(s):
    """One read (s's timeout): True when the peer closed (EOF or reset)."""
    try:
        return s.recv(4096) == b""
    except socket.timeout:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


def slow_loris(port, limit, meanwhile=None):
    """Trickle a byte every 0.3 s into headers that never end, for at most limit
    seconds: when the connection was closed (s after the first byte), or None.
    meanwhile(elapsed) is called between the bytes."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.settimeout(0.3)
        s.sendall(b"OPTIONS sip:srs@127.0.0.1 SIP/2.0\r\nX-Slow: ")
        while time.monotonic() - t0 < limit:
            try:
                s.sendall(b"z")
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - t0
            if peer_closed(s):
                return time.monotonic() - t0
            if meanwhile:
                meanwhile(time.monotonic() - t0)
    return None


@pytest.mark.timeout_s(40)
def test_slow_loris_message_timeout(start_rtprec, tmp_path):
    """message_timeout_s: 2: a connection that trickles a byte every 0.3 s and
    never ends its headers is closed about 2 s after its first byte, though the
    bytes keep it from ever being idle; others are served meanwhile."""
    r, port = start_sip(start_rtprec, tmp_path, "  limits:\n    message_timeout_s: 2\n")
    closed_at = slow_loris(port, 10)
    assert closed_at is not None, "the slow connection was never closed"
    assert 1.5 <= closed_at <= 4.0, f"closed after {closed_at:.1f} s"
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.settimeout(3)
        s.sendall(options(9, "TCP"))
        assert s.recv(4096).startswith(b"SIP/2.0 200 "), r.diag()
    st = sip_stats(r)
    assert st["message_timeouts"] == 1 and st["idle_closed"] == 0, st
    r.stop()


@pytest.mark.timeout_s(40)
def test_tcp_idle(start_rtprec, tmp_path):
    """tcp_idle_s: 2: a connection that sends nothing is closed after ~2 s."""
    r, port = start_sip(start_rtprec, tmp_path, "  limits: {tcp_idle_s: 2}\n")
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        t = wait_closed(s, 8)
    assert t is not None and 1.5 <= t <= 4.0, t
    assert sip_stats(r)["idle_closed"] == 1
    r.stop()


def partial_client_hello():
    """The first half of a real ClientHello."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = out.read()
    assert hello[0] == 0x16 and len(hello) > 40
    return hello[:len(hello) // 2]


@pytest.mark.timeout_s(60)
def test_tls_handshake_timeout(start_rtprec, tmp_path):
    """tls_handshake_s: 2: a TLS connection that sends nothing, and one that
    sends half a ClientHello and stops, are closed ~2 s after the connect
    (tcp_idle_s and message_timeout_s are longer); a whole handshake still works."""
    cert, key = make_cert(tmp_path)
    extra = tls_extra(cert, key, "  limits: {tls_handshake_s: 2, tcp_idle_s: 30, message_timeout_s: 30}\n")
    r, port = start_sip(start_rtprec, tmp_path, extra, listen=("tls",))
    for first in (b"", partial_client_hello()):
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            if first:
                s.sendall(first)
            t = wait_closed(s, 8)
        assert t is not None and 1.5 <= t <= 4.0, (first[:8], t)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(options(9, "TLS"))
        assert s.recv(4096).startswith(b"SIP/2.0 200 "), r.diag()
    st = sip_stats(r)
    assert st["tls_timeouts"] == 2 and st["idle_closed"] == 0, st
    r.stop()


def udp_from(src_ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src_ip, 0))
    s.settimeout(0.2)
    return s


def replies(s, wait=1.0):
    """Every datagram until wait passes with none: a list of texts."""
    out, end = [], time.monotonic() + wait
    while time.monotonic() < end:
        try:
            out.append(s.recv(65535).decode(errors="replace"))
            end = time.monotonic() + wait
        except socket.timeout:
            pass
    return out


def codes(msgs):
    return [int(m.split(" ", 2)[1]) for m in msgs if m.startswith("SIP/2.0 ")]


@pytest.mark.timeout_s(60)
def test_rate_limit_per_source(start_rtprec, tmp_path):
    """requests_per_s: 1, burst: 5: from 127.0.0.1 the first 5 OPTIONS are
    answered, the next requests (an INVITE too) get 503 with Retry-After until
    the 503s are over the limit as well, then nothing comes back; an ACK is never
    answered nor counted; 127.0.0.2 is served all along."""
    r, port = start_sip(start_rtprec, tmp_path, "  rate_limit: {requests_per_s: 1, burst: 5}\n")
    a, b = udp_from("127.0.0.1"), udp_from("127.0.0.2")
    try:
        for _ in range(5):
            a.sendto(options(a.getsockname()[1]), ("127.0.0.1", port))
        got = replies(a, 0.3)
        assert codes(got) == [200] * 5, got
        a.sendto(options(a.getsockname()[1], method="INVITE"), ("127.0.0.1", port))
        (busy,) = replies(a, 0.3)
        assert busy.startswith("SIP/2.0 503 "), busy
        m = re.search(r"^Retry-After: (\d+)", busy, re.M)
        assert m and int(m.group(1)) == 1, busy
        for _ in range(30):
            a.sendto(options(a.getsockname()[1]), ("127.0.0.1", port))
        a.sendto(options(a.getsockname()[1], method="ACK"), ("127.0.0.1", port))
        flood = codes(replies(a, 0.3))
        # a 503 per token of the reply bucket (4 left, and what 1/s adds meanwhile)
        assert set(flood) <= {503, 200} and 4 <= flood.count(503) <= 5, flood
        assert flood.count(200) <= 1, flood
        for _ in range(5):
            b.sendto(options(b.getsockname()[1]), ("127.0.0.1", port))
        assert codes(replies(b, 0.3)) == [200] * 5
        st = sip_stats(r)
        n503 = 1 + flood.count(503)
        assert st["rate_limited"] == n503, st
        assert st["rate_dropped"] == 30 - flood.count(503) - flood.count(200), st
        assert st["rate_sources"] == 2, st
    finally:
        a.close()
        b.close()
    r.stop()


def stream_connect(port, tp):
    """A TCP, or TLS (no certificate check), connection to rtprec's SIP port."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=3)
    if tp == "tcp":
        return raw
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(raw, server_hostname="localhost")


def read_for(s, wait, until=None):
    """Every byte the peer sends within wait seconds, or until the bytes end with until."""
    out, end = b"", time.monotonic() + wait
    s.settimeout(0.05)
    while time.monotonic() < end and not (until and out.endswith(until)):
        try:
            out += s.recv(4096)
        except (socket.timeout, ssl.SSLWantReadError):
            pass
    return out


@pytest.mark.timeout_s(60)
@pytest.mark.parametrize("tp", ["tcp", "tls"])
def test_crlf_keepalive_split(start_rtprec, tmp_path, tp):
    """RFC 5626 3.5.1: a CRLFCRLF ping gets one CRLF pong, whole or split in two
    reads 50 ms apart at any byte. A lone CRLF between messages gets nothing, starts
    no message (message_timeout_s: 1 passes without a close) and the next message is
    answered."""
    extra = "  limits: {message_timeout_s: 1}\n"
    if tp == "tls":
        extra = tls_extra(*make_cert(tmp_path), extra)
    r, port = start_sip(start_rtprec, tmp_path, extra, listen=(tp,))
    ping = b"\r\n\r\n"
    with stream_connect(port, tp) as s:
        for k in range(4):  # 0: whole
            s.sendall(ping[:k or 4])
            if k:
                time.sleep(0.05)
                s.sendall(ping[k:])
            # a second pong would show up in the next read, or in the quiet 1.5 s below
            assert read_for(s, 1.0, until=b"\r\n") == b"\r\n", (k, r.diag())
        s.sendall(b"\r\n")
        assert read_for(s, 1.5) == b""
        s.sendall(options(9, tp.upper()))
        assert read_for(s, 2.0, until=b"\r\n\r\n").startswith(b"SIP/2.0 200 "), r.diag()
    st = sip_stats(r)
    assert st["message_timeouts"] == 0, st
    r.stop()


def request(tp, method, cid, cseq=1, to_tag=None, body=""):
    """A request of call cid over tp (an SDP body when given), CRLF-ended."""
    to = f";tag={to_tag}" if to_tag else ""
    ctype = "Content-Type: application/sdp\r\nRequire: siprec\r\n" if body else ""
    return (f"{method} sip:srs@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/{tp} 127.0.0.1:9;branch=z9hG4bK{uuid.uuid4().hex[:12]};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=f{cid[:6]}\r\n"
            f"To: <sip:srs@127.0.0.1>{to}\r\nCall-ID: {cid}\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sip:t@127.0.0.1:9;transport={tp.lower()}>\r\n{ctype}"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


@pytest.mark.timeout_s(60)
def test_tcp_lf_only_and_2xx_until_ack(start_rtprec, tmp_path):
    """Over TCP: header lines ending in a bare LF (RFC 3261 7.5) are framed at their
    empty line (not answered after message_timeout_s: 10 and a close); the 2xx to an
    INVITE is sent again (T1 500 ms, doubling: at 0.5 and 1.5 s) until its ACK, as over
    UDP (RFC 3261 13.3.1.4: a proxy on the way may forward it on UDP), then no more."""
    r, port = start_sip(start_rtprec, tmp_path, "  limits: {message_timeout_s: 10}\n",
                        listen=("tcp",))
    sdp = ("v=0\r\no=SRC 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           "m=audio 40000 RTP/AVP 0\r\na=label:1\r\na=sendonly\r\n")
    cid = uuid.uuid4().hex
    with stream_connect(port, "tcp") as s:
        s.sendall(options(9, "TCP").replace(b"\r\n", b"\n"))
        assert read_for(s, 2.0, until=b"\r\n\r\n").startswith(b"SIP/2.0 200 "), r.diag()
        s.sendall(request("TCP", "INVITE", cid, body=sdp))
        got = read_for(s, 2.0)
        assert got.count(b"SIP/2.0 200 ") >= 2, (got, r.diag())
        tag = re.search(rb"\r\nTo: [^\r]*;tag=([^;\r]+)", got).group(1).decode()
        s.sendall(request("TCP", "ACK", cid, to_tag=tag))
        assert b"SIP/2.0 200 " not in read_for(s, 2.5), r.diag()  # next one was due at 3.5 s
        s.sendall(request("TCP", "BYE", cid, cseq=2, to_tag=tag))
        assert read_for(s, 2.0, until=b"\r\n\r\n").startswith(b"SIP/2.0 200 "), r.diag()
    r.stop()
