"""The recorder as a product: durability after kill -9, a disk that fills during a
call, SIGTERM with many calls, rotation by size and by time, file modes and the
on_close hook. Every pcap is checked with tshark (exit 0, packets decoded) and
with our own reader (no cut record). Media comes from a network namespace over a
veth pair into net_af_packet, or from a net_pcap file."""
import ctypes
import glob
import json
import os
import random
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import (DP_ADDR, NS_ADDR, config_yaml, eal_args, free_port, read_pcap, sh,
                      write_pcap)
from sip_uac import Uac, answer_media
from test_siprec import SDP, invite, sip_request, wait_for

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("tshark"),
    reason="needs root, iproute2 and tshark")

PY = "/usr/bin/python3"

# RTP sender run inside the namespace: PORTS get COUNT packets each (seq 0..), paced
# by GAP seconds, then "phase1" is printed; it goes on sending (seq COUNT..) until it
# is killed or LIMIT seconds pass. Payload SIZE bytes; stream i has SSRC SSRC0 + i.
SENDER = r"""
import socket, struct, sys, time
host, ports, count, size, gap, limit, ssrc0 = sys.argv[1], [int(p) for p in sys.argv[2].split(",")], \
    int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + limit
seq = 0
while time.monotonic() < end:
    for i, port in enumerate(ports):
        pkt = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160 & 0xFFFFFFFF, ssrc0 + i)
        s.sendto(pkt + bytes([seq & 0xFF]) * size, (host, port))
    seq += 1
    if seq == count:
        print("phase1", flush=True)
    if gap:
        time.sleep(gap)
"""


def start_sender(ns, ports, count, size=160, gap=0.001, limit=60, ssrc0=0x1000):
    return subprocess.Popen(
        ["ip", "netns", "exec", ns, PY, "-c", SENDER, DP_ADDR, ",".join(map(str, ports)),
         str(count), str(size), str(gap), str(limit), str(ssrc0)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_phase1(p, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = p.stdout.readline()
        if line.strip() == "phase1":
            return
        if not line and p.poll() is not None:
            break
    raise AssertionError(f"sender did not finish phase 1: {p.stderr.read() if p.poll() is not None else ''}")


def stop_sender(p):
    if p.poll() is None:
        p.kill()
    p.wait(timeout=10)


def tshark_rtp(pcap, key="rtp.ssrc"):
    """tshark must read the whole file (exit 0); returns the RTP (key, seq) it decodes, key
    the SSRC or another numeric field."""
    # the media ports as RTP (tshark would take some of them for other protocols)
    p = subprocess.run(["tshark", "-r", str(pcap), "-d", "udp.port==30000-32999,rtp", "-Y", "rtp",
                        "-T", "fields", "-e", key, "-e", "rtp.seq"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"tshark -r {pcap}: exit {p.returncode}\n{p.stderr[-1000:]}"
    out = []
    for line in p.stdout.splitlines():
        k, seq = line.split("\t")
        out.append((int(k, 0), int(seq)))
    return out


def check_pcap(pcap):
    """Our reader (asserts no truncated record) and tshark agree; returns tshark's RTP list."""
    _, link, recs = read_pcap(pcap)
    assert link == 1
    rtp = tshark_rtp(pcap)
    assert len(rtp) == len(recs), (pcap, len(rtp), len(recs))
    return rtp


def rec_config(v, tmp_path, rec_dir, recording="", flows=None, sip_port=None, media="", sip=""):
    sip_port = sip_port or free_port()
    extra = (f'sip:\n  listen: ["udp:127.0.0.1:{sip_port}"]\n{sip}'
             f"media:\n  port_min: 32000\n  port_max: 32999\n  timeout_s: 0\n{media}"
             f"recording:\n  dir: {json.dumps(str(rec_dir))}\n{recording}")
    cfg = config_yaml(
        eal=eal_args(f"net_af_packet0,iface={v['host_if']}"),
        ports=[dict(name="media0", device="net_af_packet0", ipv4=f"{DP_ADDR}/24")],
        flows=flows or [], extra=extra)
    return cfg, sip_port


def call(port, sdp=SDP):
    """A new call (INVITE over UDP): (status, our RTP port from the answer)."""
    code, data = sip_request(port, invite(sdp))
    m = re.search(r"m=audio (\d+) ", data)
    return code, (int(m.group(1)) if m else None)


def session_dirs(rec_dir):
    return sorted(glob.glob(str(Path(rec_dir) / "*" / "*" / "*" / "*")))


def recorder_line(stats):
    (line,) = [l for l in stats.lines if l.get("type") == "recorder"]
    return line


STATIC = [dict(name="static", match=dict(dst=f"{DP_ADDR}:30000"), actions=["record"])]


@pytest.mark.timeout_s(180)
def test_kill9_every_pcap_readable(start_rtprec, tmp_path, veth_ns):
    """kill -9 at a random moment while RTP flows into a static flow and a call: each
    pcap reads to its end, and holds every packet sent before the last flush; a
    restart keeps the static flow's pcaps."""
    v = veth_ns
    for rnd in range(3):
        rec_dir = tmp_path / f"rec{rnd}"
        cfg, sip = rec_config(v, tmp_path, rec_dir, flows=STATIC,
                              recording="  sync: interval\n  sync_interval_ms: 100\n"
                                        "  rotate_bytes: 200000\n")
        r = start_rtprec(cfg, name=f"kill{rnd}.yaml")
        r.wait_ready()
        code, port = call(sip)
        assert code == 200 and port, r.diag()
        sender = start_sender(v["ns"], [30000, port], count=300)
        try:
            wait_phase1(sender)
            # 300 packets per stream are out; give the dataplane and one flush time
            time.sleep(0.5 + random.uniform(0, 0.5))
            r.proc.send_signal(signal.SIGKILL)
            r.proc.wait(timeout=10)
        finally:
            stop_sender(sender)
        pcaps = sorted(glob.glob(str(rec_dir / "static*.pcap")))
        (d,) = session_dirs(rec_dir)
        call_pcaps = sorted(glob.glob(d + "/media*.pcap"))
        assert pcaps and call_pcaps, (pcaps, call_pcaps)
        for group, ssrc in ((pcaps, 0x1000), (call_pcaps, 0x1001)):
            seqs = set()
            for f in group:
                rtp = check_pcap(f)
                seqs |= {s for (x, s) in rtp if x == ssrc}
            # everything sent more than a flush interval before the kill is there
            assert set(range(300)) <= seqs, (group, sorted(set(range(300)) - seqs)[:10])
        # no session.json (the call never ended), only its reserved space
        assert not os.path.exists(d + "/session.json")
    # restarted after the crash (as systemd's Restart=on-failure does): the static
    # flow's pcaps of the killed run are kept as they were, the new run writes beside
    before = {f: os.path.getsize(f) for f in pcaps}
    r = start_rtprec(cfg, name="restart.yaml")
    r.wait_ready()
    r.stop()
    assert {f: os.path.getsize(f) for f in pcaps} == before
    fresh = set(glob.glob(str(rec_dir / "static.*Z.pcap"))) - set(pcaps)
    assert len(fresh) == 1, (sorted(fresh), pcaps)


@pytest.fixture
def tiny_tmpfs(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {p.stderr}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.parametrize("refuse", [True, False])
def test_disk_full(start_rtprec, tmp_path, veth_ns, tiny_tmpfs, refuse):
    """A 1 MiB tmpfs fills during a call: rtprec keeps running and answering, the
    counters show the error, a new INVITE gets 503 with refuse_when_full (else 200),
    and after SIGTERM session.json says recording_error with a readable pcap."""
    v = veth_ns
    rec_dir = tiny_tmpfs / "rec"
    cfg, sip = rec_config(v, tmp_path, rec_dir,
                          recording=f"  sync_interval_ms: 100\n  refuse_when_full: {str(refuse).lower()}\n")
    r = start_rtprec(cfg)
    r.wait_ready()
    code, port = call(sip)
    assert code == 200, r.diag()
    # 1200 x 1000-byte payloads: about 1.25 MB of pcap, more than the file system holds
    sender = start_sender(v["ns"], [port], count=1200, size=1000, gap=0.0005, limit=10)
    try:
        wait_phase1(sender)
    finally:
        stop_sender(sender)

    def failing():
        rl = recorder_line(r.stats())
        return rl["write_errors"] > 0 and rl["storage_error"] is not None
    assert wait_for(failing, timeout=10), r.diag()
    rl = recorder_line(r.stats())
    assert rl["storage_error"] == "No space left on device", rl
    assert rl["threads"][0]["write_errors"] == rl["write_errors"]
    assert r.stderr_text().count("cannot write") == 1, r.stderr_text()  # once per file
    code2, _ = call(sip)
    assert code2 == (503 if refuse else 200), r.diag()
    assert r.proc.poll() is None
    rc, final = r.stop()
    assert rc == 0, r.diag()
    sessions = [l for l in final.lines if l.get("type") == "sessions"]
    if refuse:
        assert sessions[0]["refused"] == {"503": 1}, sessions
    # the first call's (the second one, if any, started on a full disk)
    (d,) = [x for x in session_dirs(rec_dir) if os.path.getsize(x + "/media.pcap") > 24]
    sess = json.load(open(d + "/session.json"))
    assert sess["recording_error"] is True, sess
    rec = sess["recording"]
    assert rec["error"] == "No space left on device" and rec["write_errors"] >= 1, rec
    assert rec["packets"] > 0 and rec["dropped"] > 0, rec
    assert rec["packets"] + rec["dropped"] == sess["streams"][0]["packets"], sess
    assert sess["record_drops"] == 0
    rtp = check_pcap(d + "/media.pcap")
    assert len(rtp) == rec["packets"]


@pytest.mark.timeout_s(240)
def test_sigterm_many_calls(start_rtprec, tmp_path, veth_ns):
    """100 calls with media, then SIGTERM: every session.json written, every pcap read
    whole (our reader, then Wireshark's mergecap) and its RTP decoded by tshark, as many
    packets as session.json says were recorded (one tshark over the merged calls, told
    apart by their media ports: 100 tshark starts took 20 s)."""
    v = veth_ns
    n = int(os.environ.get("RTPREC_REC_CALLS", "100"))
    rec_dir = tmp_path / "rec"
    cfg, sip = rec_config(v, tmp_path, rec_dir, recording="  threads: 2\n")
    r = start_rtprec(cfg)
    r.wait_ready()
    ports = []
    for _ in range(n):
        code, port = call(sip)
        assert code == 200, r.diag()
        ports.append(port)
    sender = start_sender(v["ns"], ports, count=20, gap=0.002, limit=20)
    try:
        wait_phase1(sender)
    finally:
        stop_sender(sender)
    r.wait_rx(20 * n)
    rc, final = r.stop(timeout=30)
    assert rc == 0, r.diag()
    rl = recorder_line(final)
    assert rl["write_errors"] == 0 and rl["open_files"] == 0 and rl["buffer_bytes"] == 0, rl
    assert len(rl["threads"]) == 2 and all(t["packets"] > 0 for t in rl["threads"]), rl
    dirs = session_dirs(rec_dir)
    assert len(dirs) == n
    pcaps = [d + "/media.pcap" for d in dirs]
    merged = tmp_path / "all.pcapng"
    sh(["mergecap", "-w", str(merged)] + pcaps, timeout=60)
    rtp_to = {}  # media port -> RTP packets tshark decoded there
    for port, _ in tshark_rtp(merged, "udp.dstport"):
        rtp_to[port] = rtp_to.get(port, 0) + 1
    recorded = 0
    for d, pcap in zip(dirs, pcaps):
        sess = json.load(open(d + "/session.json"))
        assert sess["end_reason"] == "shutdown"
        assert sess["recording_error"] is False and sess["record_drops"] == 0, sess
        assert sess["recording"]["files"] == ["media.pcap"]
        assert not os.path.exists(d + "/session.json.tmp")
        n_recs = len(read_pcap(pcap)[2])
        rtp = rtp_to.pop(sess["streams"][0]["local_port"], 0)
        assert rtp == n_recs == sess["recording"]["packets"] == sess["streams"][0]["packets"], sess
        recorded += rtp
    assert not rtp_to, rtp_to
    assert recorded >= 20 * n and recorded == rl["packets"], (recorded, rl)


class ThreadHold:
    """Hold one thread of a running process still (ptrace seize + interrupt), as a
    slow disk or a lost core would hold it, while the process's other threads run."""

    def __init__(self, pid, comm):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                                     ctypes.c_void_p]
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")
                if Path(f"/proc/{pid}/task/{t}/comm").read_text().strip() == comm]
        assert len(tids) == 1, (comm, tids)
        self.tid = tids[0]
        self.held = False

    def _ptrace(self, req):
        if self.libc.ptrace(req, self.tid, None, None) == -1:
            err = ctypes.get_errno()
            raise OSError(err, f"ptrace({req:#x}, {self.tid}): {os.strerror(err)}")

    def hold(self):
        self._ptrace(0x4206)  # PTRACE_SEIZE
        self.held = True
        self._ptrace(0x4207)  # PTRACE_INTERRUPT
        _, status = os.waitpid(self.tid, 0x40000000)  # __WALL: until it has stopped
        assert os.WIFSTOPPED(status), status

    def release(self):
        if self.held:
            self.held = False
            self._ptrace(17)  # PTRACE_DETACH: it runs on


def _send_rtp(v, port, ssrc):
    sender = start_sender(v["ns"], [port], count=20, gap=0.002, limit=10, ssrc0=ssrc)
    try:
        wait_phase1(sender)
    finally:
        stop_sender(sender)


def _answered_call(sip, deadline=5.0):
    """A call answered 200 (retrying while the previous one is still being freed)."""
    end, last = time.monotonic() + deadline, None
    while time.monotonic() < end:
        u = Uac(sip)
        code, resp = u.invite(SDP)
        if code == 200:
            return u, answer_media(resp)[1]
        u.close()
        last = resp
        time.sleep(0.1)
    raise AssertionError(f"no 200 within {deadline}s; last: {last}")


@pytest.mark.timeout_s(120)
def test_ended_call_id_not_reused_while_closing(start_rtprec, tmp_path, veth_ns):
    """sip.max_sessions 1 and the recorder thread held still while calls end and begin:
    a new call must not get the recording id of one whose close is still queued, or its
    first packets would go into the ended call's pcap. B gets another id; C, with both
    ids still closing, gets 503; once the thread runs again, each call's pcap holds its
    own packets, all of them, and nothing else."""
    v = veth_ns
    rec_dir = tmp_path / "rec"
    cfg, sip = rec_config(v, tmp_path, rec_dir, sip="  max_sessions: 1\n")
    r = start_rtprec(cfg)
    r.wait_ready()
    a, port_a = _answered_call(sip)
    _send_rtp(v, port_a, 0xA000)
    r.wait_rx(20)
    rec = ThreadHold(r.proc.pid, "rtprec-rec0")
    rec.hold()
    try:
        assert a.bye() == 200
        b, port_b = _answered_call(sip)
        _send_rtp(v, port_b, 0xB000)
        r.wait_rx(40)
        assert b.bye() == 200
        end, why = time.monotonic() + 5, ""
        while "recorder still closing" not in why and time.monotonic() < end:
            c = Uac(sip)
            code, resp = c.invite(SDP)
            c.close()
            assert code == 503, f"call C answered {code} while A and B were closing\n{resp}"
            why = re.search(r"^Warning: (.*)$", resp, re.M | re.I).group(1)
            time.sleep(0.05)
        assert "recorder still closing" in why, why
    finally:
        rec.release()
    c, port_c = _answered_call(sip)
    _send_rtp(v, port_c, 0xC000)
    assert c.bye() == 200
    assert wait_for(lambda: len(glob.glob(str(rec_dir / "*/*/*/*/session.json"))) == 3), \
        session_dirs(rec_dir)
    rc, _ = r.stop(timeout=30)
    assert rc == 0, r.diag()
    seen = {}
    for d in session_dirs(rec_dir):
        sess = json.load(open(d + "/session.json"))
        rtp = check_pcap(d + "/media.pcap")
        ssrcs = {x for x, _ in rtp}
        assert len(ssrcs) == 1, (d, sorted(hex(x) for x in ssrcs))
        assert [q for _, q in rtp] == list(range(len(rtp))), d
        assert len(rtp) == sess["recording"]["packets"] == sess["streams"][0]["packets"], sess
        seen[ssrcs.pop()] = len(rtp)
    assert set(seen) == {0xA000, 0xB000, 0xC000} and min(seen.values()) >= 20, seen


HOOK = """#!/bin/sh
# $1: the directory, $2: the file. Record what the hook saw, outside the directory.
out="{out}/$(basename "$1")-$(basename "$2").txt"
ls "$1" > "$out.tmp"
mv "$out.tmp" "$out"
"""


def write_hook(tmp_path):
    out = tmp_path / "hooked"
    out.mkdir()
    hook = tmp_path / "hook.sh"
    hook.write_text(HOOK.replace("{out}", str(out)))
    hook.chmod(0o755)
    return hook, out


def test_rotation_static_flow(start_rtprec, tmp_path):
    """net_pcap into a static record flow with rotate_bytes: flow.pcap, flow.1.pcap, ...
    each within the limit, each read by tshark, together every packet in order; the
    hook runs once per closed file; modes from the config."""
    frames = []
    for i in range(500):
        rtp = bytes([0x80, 0]) + i.to_bytes(2, "big") + (i * 160).to_bytes(4, "big") + \
            (0x4242).to_bytes(4, "big") + bytes([i & 0xFF]) * 160
        frames.append(_udp4("198.51.100.5", 4000, "192.0.2.10", 30000, rtp))
    write_pcap(tmp_path / "in.pcap", frames)
    hook, out = write_hook(tmp_path)
    rec = tmp_path / "rec"
    cfg = config_yaml(
        eal=eal_args(f"net_pcap0,rx_pcap={tmp_path}/in.pcap,tx_pcap={tmp_path}/out.pcap"),
        ports=[dict(name="media0", device="net_pcap0", ipv4="192.0.2.10/24")],
        flows=[dict(name="flow", match=dict(dst="192.0.2.10:30000"), actions=["record"])],
        extra=f"recording:\n  dir: {json.dumps(str(rec))}\n  rotate_bytes: 20000\n"
              f"  file_mode: \"0600\"\n  dir_mode: \"0750\"\n  on_close: {hook} {{dir}} {{file}}\n")
    r = start_rtprec(cfg)
    r.wait_ready()
    r.wait_rx(500)
    rc, final = r.stop()
    assert rc == 0, r.diag()
    files = [rec / "flow.pcap"] + [rec / f"flow.{i}.pcap" for i in range(1, 100)
                                   if (rec / f"flow.{i}.pcap").exists()]
    # 230-byte records: 86 per 20000-byte file
    assert len(files) == 6, files
    seqs = []
    for f in files:
        assert f.stat().st_size <= 20000
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        seqs += [s for (_, s) in check_pcap(f)]
    assert seqs == list(range(500))
    assert stat.S_IMODE(rec.stat().st_mode) == 0o750
    hooked = sorted(p.name for p in out.iterdir())
    assert hooked == sorted(f"rec-{f.name}.txt" for f in files), hooked
    rl = recorder_line(final)
    assert rl["hooks"] == {"started": 6, "failed": 0, "killed": 0}, rl
    assert rl["threads"][0]["files_opened"] == 6


def _udp4(src, sport, dst, dport, payload):
    def ip2b(a):
        return bytes(int(x) for x in a.split("."))
    udp = sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + (8 + len(payload)).to_bytes(2, "big") + b"\0\0"
    hdr = bytearray(b"\x45\x00" + (20 + len(udp) + len(payload)).to_bytes(2, "big") +
                    b"\x10\x00\x00\x00\x40\x11\x00\x00" + ip2b(src) + ip2b(dst))
    s = sum(int.from_bytes(hdr[i:i + 2], "big") for i in range(0, 20, 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    hdr[10:12] = (~s & 0xFFFF).to_bytes(2, "big")
    eth = bytes.fromhex("027063617000") + bytes.fromhex("020000000001") + b"\x08\x00"
    return eth + bytes(hdr) + udp + payload


def test_rotation_call_and_hook(start_rtprec, tmp_path, veth_ns):
    """A call whose media lasts about 3 s with rotate_seconds: 1 -> media.pcap,
    media.1.pcap, ... all read by tshark, listed in session.json; on_close runs once
    with the session's directory, after session.json is there."""
    v = veth_ns
    hook, out = write_hook(tmp_path)
    rec_dir = tmp_path / "rec"
    cfg, sip = rec_config(v, tmp_path, rec_dir,
                          recording=f"  rotate_seconds: 1\n  on_close: {hook} {{dir}} {{file}}\n"
                                    "  file_mode: \"0640\"\n")
    r = start_rtprec(cfg)
    r.wait_ready()
    code, port = call(sip)
    assert code == 200, r.diag()
    sender = start_sender(v["ns"], [port], count=300, gap=0.01, limit=20)
    try:
        wait_phase1(sender)
    finally:
        stop_sender(sender)
    rc, final = r.stop()
    assert rc == 0, r.diag()
    (d,) = session_dirs(rec_dir)
    sess = json.load(open(d + "/session.json"))
    files = sess["recording"]["files"]
    assert len(files) >= 3 and files[:2] == ["media.pcap", "media.1.pcap"], files
    assert sorted(os.listdir(d)) == sorted(files + ["session.json"])
    seqs = []
    for name in files:
        assert stat.S_IMODE(os.stat(f"{d}/{name}").st_mode) == 0o640
        seqs += [s for (_, s) in check_pcap(f"{d}/{name}")]
    assert seqs[:300] == list(range(300)) and len(seqs) == sess["recording"]["packets"]
    assert stat.S_IMODE(os.stat(f"{d}/session.json").st_mode) == 0o640
    (hooked,) = list(out.iterdir())
    assert hooked.name == f"{os.path.basename(d)}-{files[-1]}.txt"
    assert sorted(hooked.read_text().split()) == sorted(files + ["session.json"])
