"""rtprec-export: call directories made here (scapy frames in a nanosecond pcap, a
session.json shaped like controlplane/cp_sess_files.c writes it) turned into WAV files,
checked with `sox --i` (rate, channels, duration) and sample by sample against the
1 kHz tone that was encoded: G.711 with Python's audioop, G.722 with spandsp's encoder
(through ctypes)."""
import ctypes
import ctypes.util
import json
import math
import os
import shutil
import struct
import subprocess
import warnings
import wave
from pathlib import Path

import pytest
from scapy.all import IP, UDP, Ether, Raw, raw
from scapy.utils import PcapWriter

from conftest import BIN

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

EXPORT_BIN = os.environ.get("RTPREC_EXPORT_BIN") or str(
    Path(BIN).resolve().parent.parent / "export" / "rtprec-export")

T0 = 1_700_000_000 * 10**9  # pcap time of the first packet, ns
PTIME_NS = 20_000_000
AMP = 8000
PHASE = 0.4  # no sample of the tone is exactly 0
SRS = "198.18.0.10"


def tone(n0, n, rate=8000, freq=1000, amp=AMP):
    """Samples n0 .. n0+n-1 of the tone, as ints."""
    return [int(round(amp * math.sin(2 * math.pi * freq * (n0 + i) / rate + PHASE)))
            for i in range(n)]


def pcm16(samples):
    return struct.pack("<%dh" % len(samples), *samples)


class G722:
    """spandsp's G.722 encoder (64 kbit/s), the library the exporter decodes with."""

    def __init__(self):
        name = ctypes.util.find_library("spandsp") or "libspandsp.so.2"
        lib = ctypes.CDLL(name)
        lib.g722_encode_init.restype = ctypes.c_void_p
        lib.g722_encode_init.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        lib.g722_encode.restype = ctypes.c_int
        lib.g722_encode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
        lib.g722_encode_free.argtypes = [ctypes.c_void_p]
        self.lib = lib
        self.st = lib.g722_encode_init(None, 64000, 0)
        assert self.st

    def encode(self, samples):
        out = ctypes.create_string_buffer(len(samples))
        n = self.lib.g722_encode(self.st, out, pcm16(samples), len(samples))
        return out.raw[:n]

    def close(self):
        self.lib.g722_encode_free(self.st)


def rtp(pt, seq, ts, ssrc, payload, marker=0):
    return struct.pack("!BBHII", 0x80, (marker << 7) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF,
                       ssrc) + payload


def frame(src, sport, dport, payload, dst=SRS):
    return raw(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
               / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(payload))


def write_pcaps(paths, packets):
    """packets: [(ns, frame)], sorted by time, spread over the files in paths in order."""
    packets = sorted(packets, key=lambda p: p[0])
    per = max(1, math.ceil(len(packets) / len(paths)))
    for k, path in enumerate(paths):
        w = PcapWriter(str(path), linktype=1, nano=True, sync=True)
        w.write_header(None)
        for ns, f in packets[k * per:(k + 1) * per]:
            w.write_packet(f, sec=ns // 10**9, usec=ns % 10**9)
        w.close()


def g711_stream(enc, pt, ssrc, src, sport, dport, t0, n, seq0=1000, ts0=50000,
                drop=(), pause_after=None, pause_ns=0, ts_jump=True, dup=(), swap=()):
    """n 20 ms packets of the tone (encode with enc(pcm16) -> bytes). After packet
    pause_after the sender pauses pause_ns (its timestamps jump by as much when ts_jump).
    Returns [(ns, frame)] and the tone's sample index of each packet."""
    out, starts = [], []
    pause_ticks = pause_ns * 8000 // 10**9
    for i in range(n):
        late = i > pause_after if pause_after is not None else False
        n0 = i * 160 + (pause_ticks if late and ts_jump else 0)
        ns = t0 + i * PTIME_NS + (pause_ns if late else 0)
        starts.append(n0)
        if i in drop:
            continue
        pkt = frame(src, sport, dport, rtp(pt, seq0 + i, ts0 + n0, ssrc, enc(pcm16(tone(n0, 160)))))
        out.append((ns, pkt))
        if i in dup:
            out.append((ns + 3_000_000, pkt))
    for a, b in swap:  # arrival order of two packets exchanged
        ia = next(k for k, (_, f) in enumerate(out) if f is not None and _seq(f) == (seq0 + a) & 0xFFFF)
        ib = next(k for k, (_, f) in enumerate(out) if f is not None and _seq(f) == (seq0 + b) & 0xFFFF)
        out[ia], out[ib] = (out[ia][0], out[ib][1]), (out[ib][0], out[ia][1])
    return out, starts


def _seq(f):
    return struct.unpack("!H", f[14 + 20 + 8 + 2:14 + 20 + 8 + 4])[0]


def ulaw(b):
    return audioop.lin2ulaw(b, 2)


def alaw(b):
    return audioop.lin2alaw(b, 2)


def session_json(streams, participants=("Alice", "Bob")):
    """streams: [dict(label, local_port, src, sport, codecs)] -> the shape of cp_sess_files.c."""
    return {
        "session_id": "exp-test", "call_id": "call-1@src", "from": "<sip:src@example.com>",
        "to": "<sip:srs@example.com>", "source": "198.18.0.1:5060", "siprec": True,
        "metadata": True, "recording_session_id": "sess-1", "group_id": "",
        "participants": [{"id": f"p{i}", "name": n, "aor": f"sip:{n.lower()}@example.com"}
                         for i, n in enumerate(participants)],
        "streams": [{
            "label": s["label"], "media": "audio",
            "formats": " ".join(c.split()[0].split(":")[1] for c in s["codecs"] if c.startswith("rtpmap:")),
            "codecs": s["codecs"], "recorded": True, "local_port": s["local_port"], "rtcp_mux": True,
            "negotiated": {"ip": s["src"], "port": s["sport"]},
            "latched": {"ip": s["src"], "port": s["sport"]},
            "packets": 0, "bytes": 0, "rtp_expected": 0, "lost": 0, "jitter": 0,
            "first": "2023-11-14T22:13:20.000Z", "last": "2023-11-14T22:13:24.000Z",
        } for s in streams],
        "start": "2023-11-14T22:13:19.000Z", "end": "2023-11-14T22:13:25.000Z", "end_reason": "bye",
    }


def run_export(*args, timeout=60):
    return subprocess.run([EXPORT_BIN] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout)


def sox_info(path):
    """(rate, channels, duration in samples) from `sox --i`."""
    def q(opt):
        p = subprocess.run(["sox", "--i", opt, str(path)], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        return p.stdout.strip()
    return int(q("-r")), int(q("-c")), int(q("-s"))


def read_wav(path):
    """Per channel lists of int16 samples."""
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2 and w.getcomptype() == "NONE"
        ch = w.getnchannels()
        data = w.readframes(w.getnframes())
    s = struct.unpack("<%dh" % (len(data) // 2), data)
    return [list(s[c::ch]) for c in range(ch)]


def zero_crossings(x):
    return sum(1 for a, b in zip(x, x[1:]) if (a < 0) != (b < 0))


def assert_tone(x, a, b, n0, rate=8000, tol=0.06, name=""):
    """x[a:b] is the tone from its sample n0 on: sample by sample within tol * AMP (codec
    error), full peak amplitude, and 2 zero crossings per cycle."""
    seg = x[a:b]
    want = tone(n0, b - a, rate)
    worst = max(abs(g - w) for g, w in zip(seg, want))
    assert worst <= tol * AMP, f"{name}[{a}:{b}]: off the tone by up to {worst}"
    peak = max(abs(v) for v in seg)
    assert 0.9 * AMP <= peak <= 1.1 * AMP, f"{name}[{a}:{b}]: peak {peak}"
    zc = zero_crossings(seg)
    cycles = (b - a) * 1000 / rate
    assert abs(zc - 2 * cycles) <= 2, f"{name}[{a}:{b}]: {zc} zero crossings for {cycles} cycles"


def assert_silence(x, a, b, name=""):
    assert any(x[a:b]) is False, f"{name}[{a}:{b}] not silent: {[v for v in x[a:b] if v][:5]}"


@pytest.fixture
def export_bin():
    if not os.access(EXPORT_BIN, os.X_OK):
        pytest.fail(f"rtprec-export not found at {EXPORT_BIN} (build it or set RTPREC_EXPORT_BIN)")
    if shutil.which("sox") is None:
        pytest.fail("sox not installed (tools/deps.sh installs it)")
    return EXPORT_BIN


def test_export_pcmu_pcma_call(export_bin, tmp_path):
    """Stream 1 PCMU, 3 s of tone with packets 20-22 lost and a 1 s pause after 1.5 s (the
    sender's timestamps go on), plus telephone-event and RTCP; stream 2 PCMA, starting
    0.5 s later, 3 s with packet 100 lost, a duplicate and two packets swapped."""
    d = tmp_path / "call"
    d.mkdir()
    s1, starts1 = g711_stream(ulaw, 0, 0x11111111, "198.18.0.1", 40000, 20000, T0, 150,
                              drop=(20, 21, 22), pause_after=74, pause_ns=10**9)
    s2, starts2 = g711_stream(alaw, 8, 0x22222222, "198.18.0.2", 40002, 20002, T0 + 500_000_000,
                              150, seq0=65500, ts0=0xFFFFF000, drop=(100,), dup=(50,), swap=((60, 61),))
    extra = [
        # DTMF on stream 1, RTCP (mux) on both: reported, skipped
        (T0 + 10 * PTIME_NS + 1000, frame("198.18.0.1", 40000, 20000,
                                          rtp(101, 5000, 50000 + 1600, 0x11111111, b"\x01\x0a\x00\xa0"))),
        (T0 + 30 * PTIME_NS + 1000, frame("198.18.0.1", 40000, 20000,
                                          struct.pack("!BBHI", 0x80, 200, 6, 0x11111111) + bytes(20))),
        (T0 + 40 * PTIME_NS + 1000, frame("198.18.0.2", 40002, 20002,
                                          struct.pack("!BBHI", 0x80, 201, 1, 0x22222222))),
    ]
    write_pcaps([d / "media.pcap"], s1 + s2 + extra)
    (d / "session.json").write_text(json.dumps(session_json([
        dict(label="1", local_port=20000, src="198.18.0.1", sport=40000,
             codecs=["rtpmap:0 PCMU/8000", "rtpmap:101 telephone-event/8000", "fmtp:101 0-15", "ptime:20"]),
        dict(label="2", local_port=20002, src="198.18.0.2", sport=40002, codecs=["rtpmap:8 PCMA/8000"]),
    ])))
    p = run_export(d)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [str(d / "1.wav"), str(d / "2.wav"), str(d / "call.wav")]
    assert "skipped 1 telephone-event" in p.stderr, p.stderr
    assert "skipped 2 RTCP" in p.stderr, p.stderr

    # sox: rate, channels, length (stream 1: 3 s of packets + 1 s pause)
    assert sox_info(d / "1.wav") == (8000, 1, 32000)
    assert sox_info(d / "2.wav") == (8000, 1, 24000)
    assert sox_info(d / "call.wav") == (8000, 2, 32000)

    (x1,) = read_wav(d / "1.wav")
    # packets 0-19 tone, 20-22 lost, 23-74 tone, 1 s pause, 75-149 tone
    assert_tone(x1, 0, 20 * 160, 0, name="1.wav")
    assert_silence(x1, 20 * 160, 23 * 160, name="1.wav")
    assert_tone(x1, 23 * 160, 75 * 160, 23 * 160, name="1.wav")
    assert_silence(x1, 75 * 160, 75 * 160 + 8000, name="1.wav")
    assert_tone(x1, 75 * 160 + 8000, 32000, starts1[75], name="1.wav")

    (x2,) = read_wav(d / "2.wav")
    assert_tone(x2, 0, 100 * 160, 0, name="2.wav")  # the duplicate and the swap change nothing
    assert_silence(x2, 100 * 160, 101 * 160, name="2.wav")
    assert_tone(x2, 101 * 160, 24000, 101 * 160, name="2.wav")

    left, right = read_wav(d / "call.wav")
    assert left == x1
    assert_silence(right, 0, 4000, name="right")  # stream 2 starts 0.5 s later
    assert right[4000:28000] == x2
    assert_silence(right, 28000, 32000, name="right")

    # --channels swaps them, -o writes elsewhere
    out = tmp_path / "out" / "sub"
    p = run_export("-q", "-o", out, "--channels", "2,1", d)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    left, right = read_wav(out / "call.wav")
    assert left[4000:28000] == x2 and right == x1
    assert sorted(os.listdir(out)) == ["1.wav", "2.wav", "call.wav"]


def test_export_g722_and_pcmu(export_bin, tmp_path):
    """A G.722 stream (16 kHz) and a PCMU stream: call.wav runs at 16 kHz with the PCMU
    side linearly interpolated."""
    d = tmp_path / "call"
    d.mkdir()
    enc = G722()
    pkts = []
    for i in range(100):  # 2 s, 20 ms = 320 samples = 160 bytes, RTP clock 8000
        payload = enc.encode(tone(i * 320, 320, rate=16000))
        pkts.append((T0 + i * PTIME_NS, frame("198.18.0.1", 40000, 20000,
                                              rtp(9, 7 + i, 1234 + i * 160, 0xAAAA0001, payload))))
    enc.close()
    s2, _ = g711_stream(ulaw, 0, 0xBBBB0002, "198.18.0.2", 40002, 20002, T0 + 250_000_000, 100)
    write_pcaps([d / "media.pcap"], pkts + s2)
    (d / "session.json").write_text(json.dumps(session_json([
        dict(label="caller", local_port=20000, src="198.18.0.1", sport=40000, codecs=["rtpmap:9 G722/8000"]),
        dict(label="callee", local_port=20002, src="198.18.0.2", sport=40002, codecs=["rtpmap:0 PCMU/8000"]),
    ])))
    p = run_export(d)
    assert p.returncode == 0, p.stderr
    assert sox_info(d / "caller.wav") == (16000, 1, 32000)
    assert sox_info(d / "callee.wav") == (8000, 1, 16000)
    assert sox_info(d / "call.wav") == (16000, 2, 36000)  # 0.25 s later + 2 s

    (g,) = read_wav(d / "caller.wav")
    # G.722's QMF filters delay the signal by 22 samples and its start needs to settle:
    # compare from 10 ms on, against the tone shifted by that delay
    delay = 22
    assert_tone(g, 160 + delay, 32000, 160, rate=16000, tol=0.08, name="caller.wav")
    (u,) = read_wav(d / "callee.wav")
    left, right = read_wav(d / "call.wav")
    assert left[:32000] == g and not any(left[32000:])
    assert not any(right[:4000])
    r = right[4000:]
    assert r[0::2] == u  # the 8 kHz samples themselves
    for k in range(len(u) - 1):  # and linear interpolation between them (C rounds to zero)
        assert r[2 * k + 1] == u[k] + math.trunc((u[k + 1] - u[k]) / 2), k
    # (the very last sample is held, not interpolated)
    assert_tone(r, 0, 31999, 0, rate=16000, tol=0.1, name="right")


def test_export_without_session_json(export_bin, tmp_path):
    """No session.json: streams by SSRC with static payload types, read from media.pcap and
    its rotation file; a pause whose timestamps did not advance, timestamp and sequence
    wrap, an unknown payload type, RTCP and non-RTP datagrams."""
    d = tmp_path / "call"
    d.mkdir()
    # PCMA: 2 s of packets, 1 s arrival gap after packet 49, timestamps contiguous
    a, _ = g711_stream(alaw, 8, 0x0000000A, "198.18.0.1", 40000, 20000, T0, 100,
                       pause_after=49, pause_ns=10**9, ts_jump=False)
    # PCMU across the sequence and timestamp wrap
    b, _ = g711_stream(ulaw, 0, 0x0000000B, "198.18.0.2", 40002, 20002, T0, 50,
                       seq0=65530, ts0=0xFFFFFF00)
    other = [(T0 + i * PTIME_NS + 5, frame("198.18.0.3", 40004, 20004, rtp(96, i, i * 960, 0xC, bytes(60))))
             for i in range(5)]
    other.append((T0 + 7, frame("198.18.0.3", 40005, 20005, struct.pack("!BBHI", 0x81, 200, 6, 0xC) + bytes(24))))
    other.append((T0 + 9, frame("198.18.0.3", 3478, 20006, b"\x00\x01\x00\x00" + bytes(16))))
    write_pcaps([d / "media.pcap", d / "media.1.pcap"], a + b + other)
    p = run_export(d)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [str(d / n) for n in ("ssrc-0000000a.wav", "ssrc-0000000b.wav", "call.wav")]
    assert "no session.json" in p.stderr
    assert "skipped 5 packet(s) of payload type 96" in p.stderr, p.stderr
    assert "skipped 1 RTCP" in p.stderr and "not RTP" in p.stderr, p.stderr

    assert sox_info(d / "ssrc-0000000a.wav") == (8000, 1, 24000)  # 2 s + the 1 s gap
    (xa,) = read_wav(d / "ssrc-0000000a.wav")
    assert_tone(xa, 0, 50 * 160, 0, name="a")
    assert_silence(xa, 50 * 160, 50 * 160 + 8000, name="a")
    assert_tone(xa, 50 * 160 + 8000, 24000, 50 * 160, name="a")

    assert sox_info(d / "ssrc-0000000b.wav") == (8000, 1, 8000)
    (xb,) = read_wav(d / "ssrc-0000000b.wav")
    assert_tone(xb, 0, 8000, 0, name="b")
    assert sox_info(d / "call.wav") == (8000, 2, 24000)


def test_export_nothing_and_errors(export_bin, tmp_path):
    p = run_export("--help")
    assert p.returncode == 0
    for words in ("linear interpolation", "session.json order", "Exit status", "-c, --channels"):
        assert words in p.stdout
    assert run_export().returncode == 2
    assert run_export("--bogus", tmp_path).returncode == 2
    assert run_export(tmp_path / "missing").returncode == 2
    assert run_export(tmp_path).returncode == 2  # a directory without media.pcap

    # only a codec we do not decode: reported, nothing exported
    d = tmp_path / "video"
    d.mkdir()
    write_pcaps([d / "media.pcap"], [(T0 + i * PTIME_NS, frame("198.18.0.3", 40004, 20004,
                                                               rtp(96, i, i * 960, 0xC, bytes(60))))
                                     for i in range(3)])
    (d / "session.json").write_text(json.dumps(session_json([
        dict(label="v", local_port=20004, src="198.18.0.3", sport=40004, codecs=["rtpmap:96 opus/48000/2"])])))
    p = run_export(d)
    assert p.returncode == 1, p.stderr
    assert "payload type 96" in p.stderr and "nothing to export" in p.stderr
    assert not list(d.glob("*.wav"))

    # a broken session.json is reported and the SSRC grouping used; --channels that names
    # no stream is a usage error
    s, _ = g711_stream(ulaw, 0, 0x5, "198.18.0.1", 40000, 20000, T0, 10)
    write_pcaps([d / "media.pcap"], s)
    (d / "session.json").write_text("{\"streams\": [")
    p = run_export(d)
    assert p.returncode == 0 and "ignored" in p.stderr, p.stderr
    assert sox_info(d / "ssrc-00000005.wav") == (8000, 1, 1600)
    assert sox_info(d / "call.wav") == (8000, 2, 1600)
    assert run_export("-c", "x,y", d).returncode == 2
    assert run_export("-c", "x", d).returncode == 2

    # a pcap cut inside its last record (kill -9) is used up to there
    data = (d / "media.pcap").read_bytes()
    (d / "media.pcap").write_bytes(data[:-50])
    p = run_export(d)
    assert p.returncode == 0 and "using the 9 frames before it" in p.stderr, p.stderr
    assert sox_info(d / "ssrc-00000005.wav") == (8000, 1, 9 * 160)
    # an empty rotation file is reported and skipped
    (d / "media.1.pcap").write_bytes(b"")
    p = run_export(d)
    assert p.returncode == 0 and "media.1.pcap" in p.stderr and "skipped" in p.stderr, p.stderr
