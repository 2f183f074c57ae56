"""SIP torture (RFC 4475) against the real binary: every message of
tests/data/rfc4475/ sent as it is over UDP and over TCP, each to a fresh
rtprec (messages share Via branches and sent-bys, so one instance would
rightly take some as retransmissions of others), then oversized messages and
a slow-loris connection. After each case rtprec must still run and answer an
OPTIONS. What each message must get is in tests/data/rfc4475/README.md; the
table below is the same.

UDP: a response goes where the top Via says (RFC 3261 18.2.2): the sent-by
port, 5060 when there is none, on the source address. So each message is sent
from 127.0.0.1 at that port, as its sender would. TCP: on the connection,
framed by Content-Length, so a message whose length is wrong frames wrongly
(clerr waits for a body that never comes; ncl, mcl01 and dblreq's tail lose
the framing and the connection is closed, after what was framed is answered).
"""
import os
import re
import socket
import time
import uuid
from pathlib import Path

import pytest

from conftest import ASAN_BUILD, config_yaml, eal_args, free_port
from test_sip_limits import slow_loris

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (net_tap media port)")

DATA = Path(__file__).resolve().parents[1] / "data" / "rfc4475"
DROP = frozenset()  # no response at all
CLOSE = "close"     # TCP: answered as given, then the connection closed

# name: acceptable first final status over UDP, over TCP (same when one set);
# DROP: nothing comes back. Sections and reasons: tests/data/rfc4475/README.md.
EXPECT = {
    # 3.1.1 valid
    "wsinv": {481}, "intmeth": {501}, "esc01": {200}, "escnull": {405}, "esc02": {501},
    "lwsdisp": {200}, "longreq": {200}, "dblreq": ({405}, ({405}, CLOSE)), "semiuri": {200},
    "transports": {200}, "mpart01": {405}, "unreason": DROP, "noreason": DROP,
    # 3.1.2 invalid
    "badinv01": DROP, "clerr": ({400}, DROP), "ncl": ({400}, ({400}, CLOSE)), "scalar02": {400},
    "scalarlg": DROP, "quotbal": {400}, "ltgtruri": {400}, "lwsruri": {400}, "lwsstart": {400},
    "trws": {400}, "escruri": {200, 400}, "baddate": {200, 400}, "regbadct": {400, 405},
    "badaspec": {400, 200}, "baddn": {400}, "badvers": {505}, "mismatch01": {400},
    "mismatch02": {501, 400}, "bigcode": DROP,
    # 3.2 transaction layer
    "badbranch": {200, 400},
    # 3.3 application layer
    "insuf": {400}, "unkscm": {416}, "novelsc": {416, 404}, "unksm2": {405, 400},
    "bext01": {420}, "invut": {415}, "regaut01": {405}, "multi01": {400},
    "mcl01": ({400}, ({400}, CLOSE)), "bcast": DROP, "zeromf": {200}, "cparam01": {405},
    "cparam02": {405}, "regescrt": {405}, "sdp01": {406, 400},
    # 3.4 backward compatibility: rtprec requires RFC 3261 From tags (and a
    # Content-Length on streams)
    "inv2543": ({400}, ({400}, CLOSE)),
}
XFAIL = {}


def expectation(name, transport):
    e = EXPECT[name]
    e = e[transport == "tcp"] if isinstance(e, tuple) else e
    return e if isinstance(e, tuple) else (e, None)


def cases():
    for f in sorted(DATA.glob("*.dat")):
        for tp in ("udp", "tcp"):
            marks = [pytest.mark.xfail(strict=True, reason=XFAIL[f.stem])] if f.stem in XFAIL else []
            yield pytest.param(f.stem, tp, id=f"{f.stem}-{tp}", marks=marks)


@pytest.fixture
def srs(start_rtprec, tmp_path):
    """srs(sip_extra="") -> (rtprec, port): SIP on UDP and TCP 127.0.0.1:port,
    the media port a net_tap device of its own."""
    def start(sip_extra=""):
        port = free_port()
        vdev = f"net_tap0,iface=rtpt{uuid.uuid4().hex[:8]}"
        extra = f'sip:\n  listen: ["udp:127.0.0.1:{port}", "tcp:127.0.0.1:{port}"]\n{sip_extra}'
        cfg = config_yaml(eal=eal_args(vdev),
                          ports=[dict(name="media0", device="net_tap0", ipv4="198.18.0.10/24")],
                          recording_dir=str(tmp_path / "rec"), flows=[], extra=extra)
        r = start_rtprec(cfg)
        r.wait_ready()
        return r, port
    return start


def statuses(data):
    return [int(c) for c in re.findall(rb"^SIP/2\.0 (\d{3})[ \r]", data, re.M)]


def first_final(codes):
    return next((c for c in codes if c >= 200), None)


def via_port(msg):
    """The top Via's sent-by port (5060 when none), where a UDP answer goes."""
    m = re.search(rb"\r\n(?:via|v)\s*:\s*SIP\s*/\s*[\d.]+\s*/\s*\w+\s+[^\s;:,]+\s*:\s*(\d+)", msg, re.I)
    return int(m.group(1)) if m else 5060


def udp_socket(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    end = time.monotonic() + 5
    while True:
        try:
            s.bind(("127.0.0.1", port))
            return s
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def collect(recv, want_final, wait=1.0, grace=0.3):
    """Read until a final response came (and grace more) or wait passed;
    (bytes, closed)."""
    data, closed = b"", False
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            d = recv()
        except socket.timeout:
            continue
        if d == b"":
            closed = True
            break
        data += d
        if want_final and first_final(statuses(data)) is not None:
            end = min(end, time.monotonic() + grace)
    return data, closed


def send_udp(port, msg, wait):
    with udp_socket(via_port(msg)) as s:
        s.settimeout(0.1)
        s.sendto(msg, ("127.0.0.1", port))
        return collect(lambda: s.recv(70000), True, wait)[0]


def options(tp, lport=None):
    cid = uuid.uuid4().hex
    return (f"OPTIONS sip:srs@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/{tp.upper()} 127.0.0.1:{lport or 9};branch=z9hG4bK{cid[:12]};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag={cid[:6]}\r\nTo: <sip:srs@127.0.0.1>\r\n"
            f"Call-ID: {cid}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()


def assert_alive(r, port, tp):
    """rtprec runs and answers an OPTIONS over tp (the first final answer is all it
    looks at, so it does not wait for more)."""
    assert r.proc.poll() is None, f"rtprec died\n{r.diag()}"
    if tp == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.settimeout(0.1)
            s.sendto(options(tp, s.getsockname()[1]), ("127.0.0.1", port))
            data = collect(lambda: s.recv(70000), True, 3.0, grace=0)[0]
    else:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.settimeout(0.1)
            s.sendall(options(tp))
            data = collect(lambda: s.recv(70000), True, 3.0, grace=0)[0]
    assert first_final(statuses(data)) == 200, f"no 200 to OPTIONS: {data[:300]!r}\n{r.diag()}"


@pytest.mark.timeout_s(30)
@pytest.mark.parametrize("name,tp", list(cases()))
def test_rfc4475(srs, name, tp):
    msg = (DATA / f"{name}.dat").read_bytes()
    want, after = expectation(name, tp)
    r, port = srs()
    wait = 1.0 if want is DROP else 5.0
    if tp == "udp":
        data, closed = send_udp(port, msg, wait), False
    else:
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        s.settimeout(0.1)
        s.sendall(msg)
        data, closed = collect(lambda: s.recv(70000), True, wait)
        if after == CLOSE and not closed:
            closed = collect(lambda: s.recv(70000), False, 3.0)[1]
        s.close()
    codes = statuses(data)
    if want is DROP:
        assert codes == [], f"{name}: expected no answer, got {data[:500]!r}"
    else:
        assert first_final(codes) in want, f"{name}: got {codes}, want {sorted(want)}\n{data[:800]!r}"
    if tp == "tcp":
        assert closed == (after == CLOSE), f"{name}: connection closed={closed}"
    if 420 in want:
        assert re.search(rb"\r\nUnsupported: nothingSupportsThis, nothingSupportsThisEither\r\n", data)
    if first_final(codes) in (405, 501):
        assert re.search(rb"\r\nAllow: [^\r]*INVITE", data), data
    if first_final(codes) == 200 and msg.startswith(b"INVITE"):
        assert b"+sip.srs" in data and b"m=audio " in data, data
    assert_alive(r, port, tp)


def big_invite(body_len, tp="UDP", lport=9, ctype="text/plain"):
    cid = uuid.uuid4().hex
    head = (f"INVITE sip:srs@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/{tp} 127.0.0.1:{lport};branch=z9hG4bK{cid[:12]};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag={cid[:6]}\r\nTo: <sip:srs@127.0.0.1>\r\n"
            f"Call-ID: {cid}\r\nCSeq: 1 INVITE\r\nContact: <sip:t@127.0.0.1:{lport}>\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {body_len}\r\n\r\n").encode()
    return head + b"x" * body_len


@pytest.mark.timeout_s(30)
def test_oversized_tcp(srs):
    """70 KB over TCP (sip.max_message 65535 by default): 513, the body is
    skipped and the connection goes on with the next message."""
    r, port = srs()
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.settimeout(0.1)
        s.sendall(big_invite(70 * 1024, "TCP"))
        data = collect(lambda: s.recv(70000), True, 5.0)[0]
        assert first_final(statuses(data)) == 513, data[:500]
        s.sendall(options("tcp"))
        data = collect(lambda: s.recv(70000), True, 5.0)[0]
        assert first_final(statuses(data)) == 200, data[:500]
    assert_alive(r, port, "tcp")


@pytest.mark.timeout_s(30)
@pytest.mark.parametrize("max_message,want", [(None, 415), (16384, 513)])
def test_oversized_udp(srs, max_message, want):
    """The largest UDP datagram (65507 bytes): under the default
    sip.max_message it is a whole INVITE (415: text/plain); over a smaller
    one it is refused with 513 from its headers."""
    r, port = srs(f"  max_message: {max_message}\n" if max_message else "")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.1)
        lport = s.getsockname()[1]
        head_len = len(big_invite(10000, lport=lport)) - 10000  # with a 5-digit length
        msg = big_invite(65507 - head_len, lport=lport)
        assert len(msg) == 65507
        s.sendto(msg, ("127.0.0.1", port))
        data = collect(lambda: s.recv(70000), True, 5.0)[0]
    assert first_final(statuses(data)) == want, data[:500]
    assert_alive(r, port, "udp")


@pytest.mark.timeout_s(60)
@pytest.mark.skipif(ASAN_BUILD, reason="the default's 20 s are checked on the normal build; "
                    "test_sip_limits runs the same attack with 2 s under ASan")
def test_slow_loris(srs):
    """A TCP connection that trickles bytes and never ends its headers is
    closed sip.limits.message_timeout_s (set to 8 s here; 20 by default) after its
    first byte, though the bytes keep it from ever being idle; meanwhile others are
    served."""
    limit_s = 8
    r, port = srs(f"  limits:\n    message_timeout_s: {limit_s}\n")
    alive = []

    def meanwhile(t):
        if 5 < t < 7 and not alive:
            assert_alive(r, port, "tcp")
            alive.append(t)

    closed_at = slow_loris(port, limit_s + 10, meanwhile)
    assert alive, "not checked while the slow connection was open"
    assert closed_at is not None, "the slow connection was never closed"
    assert limit_s - 2 <= closed_at <= limit_s + 3, f"closed after {closed_at:.1f} s"
    assert_alive(r, port, "tcp")
