"""A minimal ICE agent (RFC 8445, SDP per RFC 8839) over UDP, IPv4, for tests that
play the SRC against rtprec: STUN (RFC 8489) encoding and decoding with short-term
credentials, connectivity checks, the answers to the other side's checks, and the
ICE lines of SDP. Standard library only.

    peer = IcePeer("198.18.0.1", [40000], ns="rtpnsXXXX")   # sockets bound in that netns
    code, resp = uac.invite(peer.offer())
    peer.set_answer(resp.split("\\r\\n\\r\\n", 1)[1])
    peer.connect(timeout=10)           # full controlling: check, nominate (USE-CANDIDATE)
    peer.send_rtp(0, 50)               # media from the nominated socket to the selected pair
    peer.close()

Roles: full controlling (the offerer's default), full controlled (controlling=False)
and lite (lite=True: a=ice-lite, no checks of its own, waits for the other side's
nomination). A receive thread answers every Binding request that carries our ufrag
(MESSAGE-INTEGRITY checked with our pwd; 401/400/487 otherwise), matches responses to
our checks and keeps everything it saw (requests, media) for the tests to inspect.
Sockets are bound in a network namespace (ns=) by a short-lived thread that enters
it (setns), or in the caller's namespace (e.g. on 127.0.0.1). Every wait is bounded."""
import ctypes
import hashlib
import hmac
import os
import re
import selectors
import socket
import struct
import threading
import time
import zlib
from collections import namedtuple

# ---------------------------------------------------------------- STUN (RFC 8489)
MAGIC = 0x2112A442
FP_XOR = 0x5354554E

BINDING_REQUEST = 0x0001
BINDING_INDICATION = 0x0011
BINDING_SUCCESS = 0x0101
BINDING_ERROR = 0x0111

MAPPED_ADDRESS = 0x0001
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
ERROR_CODE = 0x0009
UNKNOWN_ATTRIBUTES = 0x000A
XOR_MAPPED_ADDRESS = 0x0020
PRIORITY = 0x0024
USE_CANDIDATE = 0x0025
SOFTWARE = 0x8022
FINGERPRINT = 0x8028
ICE_CONTROLLED = 0x8029
ICE_CONTROLLING = 0x802A

REASONS = {400: "Bad Request", 401: "Unauthenticated", 420: "Unknown Attribute",
           487: "Role Conflict"}


def attr(atype, value, pad=b"\0"):
    """One attribute: type, length, value padded to 4 bytes (pad: the padding byte;
    RFC 5769's vectors pad with spaces, RFC 8489 says any value)."""
    value = bytes(value)
    return struct.pack("!HH", atype, len(value)) + value + pad * (-len(value) % 4)


def encode(mtype, tid, attrs, key=None, fingerprint=True, pad=b"\0"):
    """A STUN message. attrs: [(type, value bytes)] in order; key: MESSAGE-INTEGRITY
    (HMAC-SHA1, the header's length counting up to the MI attribute); FINGERPRINT last."""
    assert len(tid) == 12
    body = b"".join(attr(t, v, pad) for t, v in attrs)
    if key is not None:
        head = struct.pack("!HHI", mtype, len(body) + 24, MAGIC) + tid
        body += attr(MESSAGE_INTEGRITY, hmac.new(_key(key), head + body, hashlib.sha1).digest())
    if fingerprint:
        head = struct.pack("!HHI", mtype, len(body) + 8, MAGIC) + tid
        body += attr(FINGERPRINT, struct.pack("!I", (zlib.crc32(head + body) ^ FP_XOR) & 0xFFFFFFFF))
    return struct.pack("!HHI", mtype, len(body), MAGIC) + tid + body


def _key(k):
    return k.encode() if isinstance(k, str) else bytes(k)


def xor_address(ip, port, tid=None):
    """XOR-MAPPED-ADDRESS value for an IPv4 (or, with tid, IPv6) address."""
    if ":" in ip:
        raw = socket.inet_pton(socket.AF_INET6, ip)
        mask = struct.pack("!I", MAGIC) + tid
        return struct.pack("!BBH", 0, 2, port ^ (MAGIC >> 16)) + bytes(a ^ b for a, b in zip(raw, mask))
    raw = struct.unpack("!I", socket.inet_aton(ip))[0]
    return struct.pack("!BBHI", 0, 1, port ^ (MAGIC >> 16), raw ^ MAGIC)


def decode_xor_address(value, tid):
    fam, xport = struct.unpack("!xBH", value[:4])
    port = xport ^ (MAGIC >> 16)
    if fam == 1 and len(value) == 8:
        return socket.inet_ntoa(struct.pack("!I", struct.unpack("!I", value[4:8])[0] ^ MAGIC)), port
    if fam == 2 and len(value) == 20:
        mask = struct.pack("!I", MAGIC) + tid
        return socket.inet_ntop(socket.AF_INET6, bytes(a ^ b for a, b in zip(value[4:20], mask))), port
    raise ValueError(f"bad address family {fam} / length {len(value)}")


def error_code(code, reason=None):
    reason = REASONS.get(code, "") if reason is None else reason
    return struct.pack("!HBB", 0, code // 100, code % 100) + reason.encode()


class Msg:
    """A decoded STUN message: mtype, tid, attrs [(type, value, offset)], raw."""

    def __init__(self, raw):
        if len(raw) < 20:
            raise ValueError("shorter than a header")
        mtype, length, magic = struct.unpack("!HHI", raw[:8])
        if mtype & 0xC000 or magic != MAGIC:
            raise ValueError("not STUN")
        if length % 4 or 20 + length != len(raw):
            raise ValueError(f"length {length} for {len(raw)} bytes")
        self.raw, self.mtype, self.tid, self.attrs = bytes(raw), mtype, bytes(raw[8:20]), []
        off = 20
        while off < len(raw):
            if off + 4 > len(raw):
                raise ValueError("truncated attribute header")
            t, n = struct.unpack("!HH", raw[off:off + 4])
            if off + 4 + n > len(raw):
                raise ValueError(f"attribute {t:#x} overruns the message")
            self.attrs.append((t, bytes(raw[off + 4:off + 4 + n]), off))
            off += 4 + n + (-n % 4)

    def get(self, atype):
        """The value of the first attribute of this type (before MI, or FP after it), or None."""
        for t, v, _ in self._counted():
            if t == atype:
                return v
        return None

    def has(self, atype):
        return self.get(atype) is not None

    def _counted(self):
        """RFC 8489 14.5: after MESSAGE-INTEGRITY only FINGERPRINT counts."""
        out, seen_mi = [], False
        for a in self.attrs:
            if seen_mi and a[0] != FINGERPRINT:
                continue
            out.append(a)
            seen_mi = seen_mi or a[0] == MESSAGE_INTEGRITY
        return out

    @property
    def cls(self):
        return {0x0000: "request", 0x0010: "indication", 0x0100: "success",
                0x0110: "error"}[self.mtype & 0x0110]

    @property
    def method(self):
        m = self.mtype & ~0x0110 & 0x3FFF
        return (m & 0xF) | ((m >> 1) & 0x70) | ((m >> 2) & 0xF80)

    @property
    def username(self):
        v = self.get(USERNAME)
        return None if v is None else v.decode(errors="replace")

    @property
    def software(self):
        v = self.get(SOFTWARE)
        return None if v is None else v.decode(errors="replace")

    @property
    def priority(self):
        v = self.get(PRIORITY)
        return None if v is None else struct.unpack("!I", v)[0]

    @property
    def role(self):
        """("controlling"|"controlled", tie-breaker) or (None, None)."""
        for t, name in ((ICE_CONTROLLING, "controlling"), (ICE_CONTROLLED, "controlled")):
            v = self.get(t)
            if v is not None:
                return name, struct.unpack("!Q", v)[0]
        return None, None

    @property
    def use_candidate(self):
        return self.has(USE_CANDIDATE)

    @property
    def error(self):
        """(code, reason) of an ERROR-CODE, or None."""
        v = self.get(ERROR_CODE)
        if v is None:
            return None
        return (v[2] & 7) * 100 + v[3], v[4:].decode(errors="replace")

    @property
    def xor_mapped(self):
        v = self.get(XOR_MAPPED_ADDRESS)
        return None if v is None else decode_xor_address(v, self.tid)

    def _offset(self, atype):
        for t, _, off in self.attrs:
            if t == atype:
                return off
        return None

    def integrity_ok(self, key):
        """MESSAGE-INTEGRITY (HMAC-SHA1) verified with key; False when absent."""
        off = self._offset(MESSAGE_INTEGRITY)
        if off is None or off + 24 > len(self.raw):
            return False
        head = self.raw[:2] + struct.pack("!H", off + 24 - 20) + self.raw[4:20]
        want = hmac.new(_key(key), head + self.raw[20:off], hashlib.sha1).digest()
        return hmac.compare_digest(want, self.raw[off + 4:off + 24])

    def fingerprint_ok(self):
        """FINGERPRINT present, last, and right."""
        off = self._offset(FINGERPRINT)
        if off is None or off + 8 != len(self.raw):
            return False
        head = self.raw[:2] + struct.pack("!H", off + 8 - 20) + self.raw[4:20]
        crc = (zlib.crc32(head + self.raw[20:off]) ^ FP_XOR) & 0xFFFFFFFF
        return struct.pack("!I", crc) == self.raw[off + 4:off + 8]

    def __repr__(self):
        names = {v: k for k, v in globals().items() if k.isupper() and isinstance(v, int)
                 and k not in ("MAGIC", "FP_XOR") and not k.startswith("BINDING")}
        return (f"<STUN {self.cls} method={self.method:#x} tid={self.tid.hex()} "
                f"attrs={[names.get(t, hex(t)) for t, _, _ in self.attrs]}>")


def decode(data):
    """A Msg, or None when data is not STUN (RTP, RTCP, garbage)."""
    try:
        return Msg(data)
    except (ValueError, struct.error):
        return None


def binding_request(username=None, key=None, priority=None, controlling=None,
                    tiebreaker=0, use_candidate=False, tid=None, fingerprint=True, extra=()):
    """An ICE check: USERNAME, PRIORITY, ICE-CONTROLLING (controlling True) or
    ICE-CONTROLLED (False; None: neither) with the tie-breaker, USE-CANDIDATE,
    extra [(type, value)], MESSAGE-INTEGRITY with key (the remote pwd), FINGERPRINT."""
    tid = tid or os.urandom(12)
    attrs = []
    if username is not None:
        attrs.append((USERNAME, username.encode()))
    if priority is not None:
        attrs.append((PRIORITY, struct.pack("!I", priority)))
    if controlling is not None:
        attrs.append((ICE_CONTROLLING if controlling else ICE_CONTROLLED, struct.pack("!Q", tiebreaker)))
    if use_candidate:
        attrs.append((USE_CANDIDATE, b""))
    attrs += list(extra)
    return tid, encode(BINDING_REQUEST, tid, attrs, key=key, fingerprint=fingerprint)


def binding_success(tid, addr, key):
    return encode(BINDING_SUCCESS, tid, [(XOR_MAPPED_ADDRESS, xor_address(*addr, tid))], key=key)


def binding_error(tid, code, key=None):
    return encode(BINDING_ERROR, tid, [(ERROR_CODE, error_code(code))], key=key)


# ---------------------------------------------------------------- ICE numbers and SDP
TYPE_PREF = {"host": 126, "prflx": 110, "srflx": 100, "relay": 0}


def priority(typ, component, local_pref=65535):
    """RFC 8445 5.1.2.1."""
    return (TYPE_PREF[typ] << 24) + (local_pref << 8) + (256 - component)


def split_priority(p):
    """(type preference, local preference, component) of a candidate priority."""
    return p >> 24, (p >> 8) & 0xFFFF, 256 - (p & 0xFF)


ICE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def ice_chars(n):
    return "".join(ICE_CHARS[b % 64] for b in os.urandom(n))


Cand = namedtuple("Cand", "foundation component transport priority ip port typ raddr rport")


def parse_candidate(value):
    """'candidate:...' (or 'a=candidate:...') -> Cand; ValueError when malformed."""
    value = value.strip()
    value = value[2:] if value.startswith("a=") else value
    if not value.startswith("candidate:"):
        raise ValueError(value)
    f = value[len("candidate:"):].split()
    if len(f) < 8 or f[6] != "typ":
        raise ValueError(value)
    ext = dict(zip(f[8::2], f[9::2]))
    return Cand(f[0], int(f[1]), f[2], int(f[3]), f[4], int(f[5]), f[7],
                ext.get("raddr"), int(ext["rport"]) if "rport" in ext else None)


def format_candidate(c):
    s = f"candidate:{c.foundation} {c.component} {c.transport} {c.priority} {c.ip} {c.port} typ {c.typ}"
    if c.raddr is not None:
        s += f" raddr {c.raddr} rport {c.rport}"
    return s


ICE_LINE = re.compile(r"^a=(ice-|candidate:|end-of-candidates|remote-candidates)", re.M)


def ice_lines(sdp):
    """Every ICE attribute line of an SDP (session and media level)."""
    return [l.strip() for l in sdp.replace("\r\n", "\n").split("\n") if ICE_LINE.match(l.strip())]


Media = namedtuple("Media", "port ip ufrag pwd cands rtcp_mux lite lines")


def parse_sdp(sdp):
    """(session-level ICE dict, [Media]) of an SDP, the media inheriting the session's
    ufrag, pwd and ice-lite (RFC 8839 5.4). Media.lines: the m= section's own lines."""
    sess = {"ufrag": None, "pwd": None, "lite": False, "ip": None}
    media, cur = [], None
    for line in sdp.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if line.startswith("m="):
            cur = {"port": int(line.split()[1]), "ip": None, "ufrag": None, "pwd": None,
                   "cands": [], "rtcp_mux": False, "lines": [line]}
            media.append(cur)
            continue
        scope = cur if cur is not None else sess
        if cur is not None:
            cur["lines"].append(line)
        if line.startswith("c=IN IP4 "):
            scope["ip"] = line.split()[2]
        elif line.startswith("a=ice-ufrag:"):
            scope["ufrag"] = line.split(":", 1)[1]
        elif line.startswith("a=ice-pwd:"):
            scope["pwd"] = line.split(":", 1)[1]
        elif line == "a=ice-lite":
            scope["lite"] = True
        elif line.startswith("a=candidate:") and cur is not None:
            cur["cands"].append(parse_candidate(line))
        elif line == "a=rtcp-mux" and cur is not None:
            cur["rtcp_mux"] = True
    out = [Media(m["port"], m["ip"] or sess["ip"], m["ufrag"] or sess["ufrag"], m["pwd"] or sess["pwd"],
                 m["cands"], m["rtcp_mux"], sess["lite"] or m.get("lite", False), m["lines"])
           for m in media]
    return sess, out


# ---------------------------------------------------------------- sockets in a namespace
CLONE_NEWNET = 0x40000000


def ns_socket(ns, ip, port):
    """A UDP socket bound to ip:port inside network namespace ns (None: ours). A
    thread of its own enters the namespace, so this process's threads never move."""
    if ns is None:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((ip, port))
        return s
    out = {}

    def enter():
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {ns}")
            finally:
                os.close(fd)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((ip, port))
            out["sock"] = s
        except Exception as e:  # handed to the caller
            out["error"] = e

    t = threading.Thread(target=enter, daemon=True)
    t.start()
    t.join(10)
    if "error" in out:
        raise out["error"]
    if "sock" not in out:
        raise TimeoutError(f"could not bind in {ns}")
    return out["sock"]


# ---------------------------------------------------------------- the agent
class Txn:
    """One check of ours: sent (and retransmitted) until a response or a deadline."""

    def __init__(self, stream, comp, dst, data, tid, key, cand=None, use_candidate=False):
        self.stream, self.comp, self.dst, self.data, self.tid = stream, comp, dst, data, tid
        self.key, self.cand, self.use_candidate = key, cand, use_candidate
        self.resp = None       # the response Msg
        self.resp_src = None
        self.send_error = None
        self.sent = 0
        self.next_send = 0.0

    @property
    def done(self):
        return self.resp is not None or self.send_error is not None

    @property
    def ok(self):
        """A success response, integrity and fingerprint right, from where we sent."""
        r = self.resp
        return (r is not None and r.cls == "success" and r.fingerprint_ok() and r.integrity_ok(self.key)
                and self.resp_src == self.dst)


Seen = namedtuple("Seen", "time stream comp src msg answer")  # answer: 200, 4xx, None (ignored)


class IcePeer:
    """One ICE agent for a session of len(ports) media streams (one per m= line).
    Component 1 on each port; component 2 on port+1 unless rtcp_mux."""

    def __init__(self, ip, ports, ns=None, rtcp_mux=True, lite=False, controlling=True,
                 ufrag=None, pwd=None, tiebreaker=None, rto=0.1):
        self.ip, self.ns, self.rtcp_mux, self.lite = ip, ns, rtcp_mux, lite
        self.controlling = controlling and not lite
        self.ufrag = ufrag or ice_chars(8)
        self.pwd = pwd or ice_chars(24)
        self.tiebreaker = int.from_bytes(os.urandom(8), "big") if tiebreaker is None else tiebreaker
        self.rto = rto
        self.answering = True           # False: ignore the other side's checks (consent)
        self.conflicts = True           # False: no role-conflict repair (7.3.1.1) in answers
        self.comps = (1,) if rtcp_mux else (1, 2)
        self.socks = {}                 # (stream, comp) -> socket
        self.remote = []                # Media per stream, from the answer
        self.remote_lite = False
        self.requests = []              # Seen: Binding requests received
        self.media = []                 # (stream, comp, src, bytes) non-STUN datagrams
        self.stray = []                 # (stream, comp, src, Msg) unmatched responses etc.
        self.selected = {}              # (stream, comp) -> dict(cand, addr, typ, mapped)
        self.nominated_remote = {}      # (stream, comp) -> src addr: the other side's USE-CANDIDATE
        self.role_switches = 0
        self._txns = {}
        self._cond = threading.Condition()
        self._sel = selectors.DefaultSelector()
        try:
            for i, port in enumerate(ports):
                for comp in self.comps:
                    s = ns_socket(ns, ip, port + comp - 1)
                    s.setblocking(False)
                    self.socks[(i, comp)] = s
                    self._sel.register(s, selectors.EVENT_READ, (i, comp))
        except Exception:
            self.close()
            raise
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ SDP
    def local_addr(self, stream, comp=1):
        return self.socks[(stream, comp)].getsockname()

    def local_cands(self, stream):
        return [Cand(f"H{stream + 1}", comp, "UDP", priority("host", comp), self.ip,
                     self.local_addr(stream, comp)[1], "host", None, None) for comp in self.comps]

    def session_lines(self):
        return "a=ice-lite\n" if self.lite else ""

    def media_lines(self, stream):
        """ufrag, pwd and host candidates of one m= line (RFC 8839), '\\n'-separated."""
        out = [f"a=ice-ufrag:{self.ufrag}", f"a=ice-pwd:{self.pwd}", "a=ice-options:ice2"]
        out += ["a=" + format_candidate(c) for c in self.local_cands(stream)]
        if self.rtcp_mux:
            out.append("a=rtcp-mux")
        return "".join(l + "\n" for l in out)

    def offer(self, extra_media=None, ip=None):
        """A whole SIPREC-style SDP offer: one sendonly audio m= line per stream
        (PCMU, a=label:N), the ICE lines; extra_media(stream) adds lines to each."""
        ip = ip or self.ip
        sdp = (f"v=0\no=SRC 1 1 IN IP4 {ip}\ns=-\nc=IN IP4 {ip}\nt=0 0\n" + self.session_lines())
        for i in range(len(self.socks) // len(self.comps)):
            sdp += (f"m=audio {self.local_addr(i)[1]} RTP/AVP 0\na=label:{i + 1}\na=sendonly\n"
                    + self.media_lines(i) + (extra_media(i) if extra_media else ""))
        return sdp

    def set_answer(self, sdp):
        """The other side's ICE attributes, one Media per stream (in m= order)."""
        sess, media = parse_sdp(sdp)
        self.remote = media
        self.remote_lite = sess["lite"]
        if self.remote_lite and not self.lite:
            self.controlling = True  # RFC 8445 6.1.1: the full agent controls a lite one
        return media

    # ------------------------------------------------------------ receiving
    def _loop(self):
        while not self._stop.is_set():
            try:
                events = self._sel.select(0.05)
            except (OSError, ValueError):
                return
            for key, _ in events:
                stream, comp = key.data
                try:
                    data, src = key.fileobj.recvfrom(65535)
                except (BlockingIOError, ConnectionRefusedError):
                    continue
                except OSError:
                    continue
                try:
                    self._input(stream, comp, src, data)
                except Exception as e:  # never let the thread die silently
                    with self._cond:
                        self.stray.append((stream, comp, src, e))

    def _input(self, stream, comp, src, data):
        msg = decode(data)
        if msg is None:
            with self._cond:
                self.media.append((stream, comp, src, data))
                self._cond.notify_all()
            return
        if msg.cls == "request" and msg.method == 1:
            self._answer(stream, comp, src, msg)
        elif msg.cls in ("success", "error"):
            with self._cond:
                t = self._txns.get(msg.tid)
                if t is not None and t.resp is None:
                    t.resp, t.resp_src = msg, src
                else:
                    self.stray.append((stream, comp, src, msg))
                self._cond.notify_all()
        else:
            with self._cond:
                self.stray.append((stream, comp, src, msg))

    def _answer(self, stream, comp, src, msg):
        """RFC 8445 7.3 for a Binding request on one of our sockets."""
        sock = self.socks[(stream, comp)]
        verdict, reply = None, None
        if not msg.fingerprint_ok():
            verdict = None  # not ICE's: ignored
        elif not self.answering:
            verdict = None
        elif msg.username is None or not msg.has(MESSAGE_INTEGRITY):
            verdict, reply = 400, binding_error(msg.tid, 400)
        elif not msg.username.startswith(self.ufrag + ":") or not msg.integrity_ok(self.pwd):
            verdict, reply = 401, binding_error(msg.tid, 401)
        else:
            verdict = 200
            role, tb = msg.role
            ours = None if self.lite else ("controlling" if self.controlling else "controlled")
            if self.conflicts and role is not None and role == ours:  # 7.3.1.1 role conflict
                mine_wins = self.tiebreaker >= tb
                if (ours == "controlling") == mine_wins:
                    verdict = 487
                else:
                    self.controlling = not self.controlling
                    self.role_switches += 1
            if verdict == 487:
                reply = binding_error(msg.tid, 487, key=self.pwd)
            else:
                reply = binding_success(msg.tid, src, self.pwd)
                if msg.use_candidate and not self.controlling:
                    with self._cond:
                        self.nominated_remote[(stream, comp)] = src
        with self._cond:
            self.requests.append(Seen(time.monotonic(), stream, comp, src, msg, verdict))
            self._cond.notify_all()
        if reply is not None:
            try:
                sock.sendto(reply, src)
            except OSError:
                pass

    # ------------------------------------------------------------ checks
    def start_check(self, stream, comp, dst, use_candidate=False, cand=None, **kw):
        """Send one check to dst (retransmitted by pump()); kw overrides any field of
        binding_request (username, key, controlling, tiebreaker, priority, fingerprint,
        extra). Returns its Txn."""
        r = self.remote[stream] if stream < len(self.remote) else None
        key = kw.pop("key", r.pwd if r else None)
        args = dict(username=f"{r.ufrag if r else ''}:{self.ufrag}", key=key,
                    priority=priority("prflx", comp),
                    controlling=None if self.lite else self.controlling,
                    tiebreaker=self.tiebreaker, use_candidate=use_candidate)
        args.update(kw)
        tid, data = binding_request(**args)
        t = Txn(stream, comp, tuple(dst), data, tid, key, cand, use_candidate)
        with self._cond:
            self._txns[tid] = t
        self._send(t)
        return t

    def _send(self, t):
        try:
            self.socks[(t.stream, t.comp)].sendto(t.data, t.dst)
        except OSError as e:  # e.g. no route to a host candidate from outside a NAT
            t.send_error = e
        t.sent += 1
        t.next_send = time.monotonic() + self.rto

    def pump(self, txns, timeout, until=None):
        """Retransmit the unanswered txns every rto until until(txns) (default: all
        done) or timeout; returns txns."""
        until = until or (lambda ts: all(t.done for t in ts))
        end = time.monotonic() + timeout
        while True:
            with self._cond:
                if until(txns):
                    return txns
                now = time.monotonic()
                if now >= end:
                    return txns
                wake = min([t.next_send for t in txns if not t.done] + [end])
                self._cond.wait(max(0.0, min(wake - now, 0.05)))
            now = time.monotonic()
            for t in txns:
                if not t.done and now >= t.next_send:
                    self._send(t)

    def check(self, stream, comp, dst, timeout=3.0, **kw):
        """One check, waited for: the response Msg or None."""
        t = self.pump([self.start_check(stream, comp, dst, **kw)], timeout)[0]
        return t.resp

    def connect(self, timeout=10.0):
        """Full mode: check every candidate of the answer (per stream and component),
        and, as triggered checks (RFC 8445 7.3.1.4), the source of every check of the
        other side we answered that is no candidate of its answer (a peer-reflexive
        one, e.g. a NAT that gave it another port). Controlling: then nominate, per
        component, the highest-priority pair that succeeded, with USE-CANDIDATE.
        Controlled or lite: wait for the other side's nomination.
        Returns self.selected; raises AssertionError when a component gets none."""
        end = time.monotonic() + timeout
        keys = [(i, c) for i in range(len(self.remote)) for c in self.comps if self.remote[i].port]
        if not self.lite:
            txns = [self.start_check(i, c, (cand.ip, cand.port), cand=cand)
                    for i, c in keys for cand in self.remote[i].cands
                    if cand.component == c and cand.transport.upper() == "UDP" and "." in cand.ip]

            def triggers():
                known = {(t.stream, t.comp, t.dst) for t in txns}
                return [s for s in self.requests if s.answer == 200 and (s.stream, s.comp) in keys
                        and (s.stream, s.comp, s.src) not in known]

            def each_ok(ts):
                return all(any(t.ok for t in ts if (t.stream, t.comp) == k) for k in keys) or triggers()

            while True:
                self.pump(txns, max(0.0, end - time.monotonic()), until=each_ok)
                with self._cond:
                    new = triggers()
                if not new:
                    break
                for s in new:
                    if (s.stream, s.comp, s.src) not in {(t.stream, t.comp, t.dst) for t in txns}:
                        cand = Cand("P", s.comp, "UDP", s.msg.priority or priority("prflx", s.comp),
                                    s.src[0], s.src[1], "prflx", None, None)
                        txns.append(self.start_check(s.stream, s.comp, s.src, cand=cand))
            if self.controlling:
                for k in keys:
                    ok = sorted((t for t in txns if (t.stream, t.comp) == k and t.ok),
                                key=lambda t: -t.cand.priority)
                    if not ok:
                        raise AssertionError(f"no check succeeded for stream {k[0]} component {k[1]}: "
                                             f"{[(t.dst, t.sent, t.resp, t.send_error) for t in txns]}; "
                                             f"requests seen {self._seen()}")
                    t = self.pump([self.start_check(*k, ok[0].dst, use_candidate=True, cand=ok[0].cand)],
                                  max(0.5, end - time.monotonic()))[0]
                    if not t.ok:
                        raise AssertionError(f"nomination of {t.dst} failed: {t.resp!r} {t.send_error}")
                    with self._cond:
                        self.selected[k] = dict(cand=t.cand, addr=t.dst, typ=t.cand.typ,
                                                mapped=t.resp.xor_mapped)
                return self.selected
        self.wait_nominated(max(0.0, end - time.monotonic()))
        return self.selected

    def wait_nominated(self, timeout=10.0):
        """Controlled or lite: every component nominated by the other side
        (a USE-CANDIDATE check we answered with success)."""
        keys = [(i, c) for i in range(len(self.remote)) for c in self.comps if self.remote[i].port]
        ok = self.wait(lambda: all(k in self.nominated_remote for k in keys), timeout)
        if not ok:
            raise AssertionError(f"not nominated within {timeout}s: {self.nominated_remote} "
                                 f"requests {[(s.src, s.msg.use_candidate, s.answer) for s in self.requests]}")
        with self._cond:
            for k in keys:
                src = self.nominated_remote[k]
                cand = next((c for c in self.remote[k[0]].cands
                             if c.component == k[1] and (c.ip, c.port) == src), None)
                self.selected[k] = dict(cand=cand, addr=src, typ=cand.typ if cand else "prflx", mapped=None)
        return self.selected

    def wait(self, pred, timeout):
        """Wait (bounded) until pred() holds under the lock; True/False."""
        end = time.monotonic() + timeout
        with self._cond:
            while not pred():
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
            return True

    def _seen(self):
        with self._cond:
            return [(s.stream, s.comp, s.src, s.answer, s.msg.use_candidate) for s in self.requests]

    def requests_from(self, stream=None):
        with self._cond:
            return [s for s in self.requests if stream is None or s.stream == stream]

    # ------------------------------------------------------------ media
    def send_rtp(self, stream, count, seq0=1, ssrc=None, pt=0, pace=0.004, dst=None):
        """count G.711 packets (rtp_send.py's layout: 12-byte header, 160 bytes) from
        the stream's component-1 socket to the selected pair (or dst)."""
        dst = dst or self.selected[(stream, 1)]["addr"]
        ssrc = 0x1111 * (stream + 1) if ssrc is None else ssrc
        s = self.socks[(stream, 1)]
        for i in range(count):
            seq = (seq0 + i) & 0xFFFF
            s.sendto(struct.pack("!BBHII", 0x80, pt, seq, (seq0 + i) * 160 & 0xFFFFFFFF, ssrc)
                     + b"\xd5" * 160, dst)
            time.sleep(pace)

    def close(self):
        """Stop the thread and close the sockets (the ports are free again)."""
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
            self._thread.join(5)
        for s in self.socks.values():
            try:
                self._sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
        self._sel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
