#!/usr/bin/python3
"""RTP forwarding through Debian's rtpengine in userspace (no kernel module: --table=-1
--no-fallback), pinned to one core with one worker thread, against rtprec's figure.

Each trial starts a fresh rtpengine listening for the ng protocol (bencode over UDP) on
127.0.0.1 and creates CALLS calls with offer + answer (PCMU, caller at 127.0.0.1:SRC,
callee at 127.0.0.1:RECV for every call); udp-blast (bench/gen/udp_blast.c, on the other
core) sends each call's caller-to-callee RTP (172-byte UDP payloads: the 214-byte frames of
rtprec-gen) to the port rtpengine gave that call, for SECONDS, and counts what rtpengine
forwards to RECV. rtpengine's CPU time over the blast comes from /proc/PID/stat.
A fresh rtpengine per trial because an overloaded rtpengine stops reading a socket for
good: after 5 wake-ups that found more than 50 packets queued on it, stream_fd_readable
returns at once ("UDP receive queue exceeded 5 times: discarding packet").
The first trial is unpaced (the sender's top rate); then the rate is binary-searched for
the highest with no loss (--loss-tolerance), to --resolution of the top rate.

usage: rtpengine.py --blast BIN --calls N --out RESULT.json [--seconds 5]
                    [--rtprec-json dataplane-N.json] [--ndr-dir bench/results] [--quick]
Prints one summary line; writes RESULT.json. Exit 1 when counts do not add up (sent !=
received + lost, or a call got nothing through) or rtpengine could not be driven.
"""
import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path


def log(*a):
    print("[rtpengine]", *a, file=sys.stderr, flush=True)


def benc(x):
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, list):
        return b"l" + b"".join(map(benc, x)) + b"e"
    return b"d" + b"".join(benc(k) + benc(v) for k, v in sorted(x.items())) + b"e"


def bdec(b, i=0):
    """Decodes one bencoded value at b[i:]: (value, next index); strings come back as str."""
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c in (b"l", b"d"):
        out, i = [], i + 1
        while b[i:i + 1] != b"e":
            v, i = bdec(b, i)
            out.append(v)
        return (out if c == b"l" else dict(zip(out[::2], out[1::2]))), i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n].decode(errors="replace"), j + 1 + n


class Ng:
    def __init__(self, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.settimeout(2.0)
        self.addr = ("127.0.0.1", port)

    def call(self, msg, tries=3):
        for _ in range(tries):
            cookie = uuid.uuid4().hex[:12]
            self.s.sendto(cookie.encode() + b" " + benc(msg), self.addr)
            try:
                while True:
                    data = self.s.recv(65535)
                    c, _, body = data.partition(b" ")
                    if c.decode() == cookie:
                        return bdec(body)[0]
            except socket.timeout:
                continue
        raise RuntimeError(f"no ng answer to {msg.get('command')}")


def sdp(port, sess):
    return (f"v=0\r\no=- {sess} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")


def media_port(text):
    return int(next(l for l in text.splitlines() if l.startswith("m=audio ")).split()[1])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nofile_max():
    """rtpengine opens 4 sockets a call: let it have the hard limit of descriptors."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def udp_drops(lo, hi):
    """Datagrams the kernel dropped (receive buffer full) on UDP sockets bound to lo..hi."""
    n = 0
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        f = line.split()
        if lo <= int(f[1].split(":")[1], 16) <= hi:
            n += int(f[-1])
    return n


def core_s(core):
    """Non-idle seconds of one CPU so far (/proc/stat: all but idle and iowait, softirq
    included: loopback delivery of what rtpengine sends runs there, not charged to it)."""
    f = next(l for l in Path("/proc/stat").read_text().splitlines() if l.startswith(f"cpu{core} ")).split()
    v = [int(x) for x in f[1:9]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def setup_calls(ng, n, src, recv):
    """offer + answer per call; returns the port rtpengine gave each call's caller side."""
    ports = []
    for i in range(n):
        cid, ft, tt = f"bench-{i}", f"from{i}", f"to{i}"
        r = ng.call({"command": "offer", "call-id": cid, "from-tag": ft, "sdp": sdp(src, i)})
        if r.get("result") != "ok":
            raise RuntimeError(f"offer {i}: {r}")
        r = ng.call({"command": "answer", "call-id": cid, "from-tag": ft, "to-tag": tt, "sdp": sdp(recv, i)})
        if r.get("result") != "ok":
            raise RuntimeError(f"answer {i}: {r}")
        ports.append(media_port(r["sdp"]))
    return ports


def load(path):
    try:
        return json.loads(Path(path).read_text()) if path else {}
    except (OSError, ValueError):
        return {}


def trial(a, work, rate):
    """A fresh rtpengine (a socket that overflowed stays dead: see the module doc), CALLS
    calls, one blast at rate (0: unpaced). Returns the trial's record."""
    ngp, src, recv = free_port(), free_port(), free_port()
    cmd = ["taskset", "-c", a.core, "rtpengine", "--config-file=none", "--foreground", "--log-stderr",
           "--log-level=4", "--interface=127.0.0.1", f"--listen-ng=127.0.0.1:{ngp}", "--table=-1",
           "--no-fallback", "--num-threads=1", f"--port-min={a.port_min}",
           f"--port-max={a.port_min + 4 * a.calls + 400}"]
    errf = open(work / "rtpengine.stderr", "a")
    p = subprocess.Popen(cmd, stdout=errf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         preexec_fn=nofile_max)
    try:
        ng = Ng(ngp)
        for _ in range(50):
            try:
                if ng.call({"command": "ping"}, tries=1).get("result") == "pong":
                    break
            except (RuntimeError, OSError):
                time.sleep(0.2)
        else:
            raise RuntimeError("rtpengine does not answer ping")
        ports = setup_calls(ng, a.calls, src, recv)
        (work / "ports").write_text("\n".join(map(str, ports)) + "\n")
        c0, k0 = cpu_s(p.pid), core_s(a.core)
        b = subprocess.run(["taskset", "-c", a.sender_core, a.blast, "127.0.0.1", str(work / "ports"), str(src),
                            str(recv), str(rate), str(a.seconds), "500"],
                           capture_output=True, text=True, timeout=a.seconds + 30)
        c1, k1 = cpu_s(p.pid), core_s(a.core)
        if b.returncode != 0 or not b.stdout.strip():
            raise RuntimeError(f"udp-blast exit {b.returncode}: {b.stderr.strip()[-500:]}")
        u = json.loads(b.stdout.strip().splitlines()[-1])
        stats = ng.call({"command": "statistics"}, tries=1)
        drops = udp_drops(a.port_min, a.port_min + 4 * a.calls + 400)
    finally:
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
        errf.close()
    busy = (c1 - c0) / (u["elapsed_s"] + 0.5)  # the blast plus its drain
    t = dict(rate=rate, cmd=cmd, blast=u, cpu_s=c1 - c0, core_busy=busy, rtpengine_socket_drops=drops,
             core_all_busy=(k1 - k0) / (u["elapsed_s"] + 0.5),
             pps_per_core=u["rx_pps"] / busy if busy > 0 else None,
             passed=u["lost"] <= u["sent"] * a.loss_tolerance and u["tx_pps"] >= rate * 0.99,
             consistent=u["sent"] == u["received"] + u["lost"],
             statistics=stats.get("statistics", stats))
    log(f"trial rate={rate or 'max'}: sent {u['tx_pps'] / 1e3:.1f} kpps, forwarded {u['rx_pps'] / 1e3:.1f} kpps, "
        f"lost {u['lost']} (kernel drops: rtpengine sockets {drops}, receiver {u['recv_socket_drops']}), "
        f"rtpengine busy {busy:.0%} (core {a.core}: {t['core_all_busy']:.0%}) -> {'pass' if t['passed'] else 'fail'}")
    return t


def search(a, work):
    """Unpaced first (the sender's top rate), then binary search of the zero-loss rate."""
    if a.quick:
        return [trial(a, work, a.quick_rate)], a.quick_rate
    trials = [trial(a, work, 0)]
    top = int(trials[0]["blast"]["tx_pps"])
    lo, hi, rate = 0, top, top
    while len(trials) < a.max_trials:
        t = trial(a, work, rate)
        trials.append(t)
        lo, hi = (rate, hi) if t["passed"] else (lo, rate)
        if hi - lo <= a.resolution * top:
            break
        rate = (lo + hi) // 2
    return trials, top


def summary(a, trials, top):
    """The summary line and the figures for the JSON. Two rtpengine figures: the zero-loss
    rate (wall clock, what it got of its core) and packets per second of CPU it used."""
    best = max((t for t in trials if t["passed"] and t["rate"]), key=lambda t: t["rate"], default=None)
    rate = best["rate"] if best else 0
    per_core = (best or {}).get("pps_per_core") or 0
    r = dict(sender_top_pps=top, zero_loss_pps=rate, busy_at_zero_loss=best["core_busy"] if best else None,
             core_busy_at_zero_loss=best["core_all_busy"] if best else None, pps_per_cpu_s=per_core)
    line = (f"rtpengine: {a.calls} calls, zero-loss {rate / 1e3:.1f} kpps on core {a.core} (rtpengine's CPU "
            f"{r['busy_at_zero_loss'] or 0:.0%} of it, core busy {r['core_busy_at_zero_loss'] or 0:.0%}: "
            f"{per_core / 1e3:.1f} kpps per rtpengine CPU-second; "
            f"{len(trials)} trials of {a.seconds:g} s, sender top {top / 1e3:.1f} kpps); kernel UDP on "
            "loopback, userspace rtpengine")
    ndrs = [load(f) for f in sorted(Path(a.ndr_dir).glob("ndr-*.json"))] if a.ndr_dir else []
    ndrs = [n for n in ndrs if n.get("flows") == a.calls and not n.get("quick") and n.get("ndr_pps")]
    ndr = ndrs[-1]["ndr_pps"] / 1e6 if ndrs else None  # the newest NDR of as many flows
    fwd = load(a.rtprec_json).get("rtprec", {}).get("mpps")
    for key, name, mpps in (("ratio", "forward (net_pcap -> net_null)", fwd), ("ratio_ndr", "NDR over memif", ndr)):
        if mpps and rate and per_core and not a.quick:
            r[key] = dict(rtprec_mpps=mpps, to_zero_loss=mpps * 1e6 / rate, to_per_cpu_s=mpps * 1e6 / per_core)
            line += (f"; rtprec {name} {mpps:.2f} Mpps on one worker core: {r[key]['to_zero_loss']:.0f}x the "
                     f"zero-loss rate, {r[key]['to_per_cpu_s']:.0f}x its rate per rtpengine CPU-second "
                     "(target >= 20x)")
    return r, line + (" (--quick: no speed claim)" if a.quick else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--blast", required=True, help="udp-blast binary")
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=5.0, help="per trial")
    ap.add_argument("--resolution", type=float, default=0.05)
    ap.add_argument("--loss-tolerance", type=float, default=0.0)
    ap.add_argument("--max-trials", type=int, default=10)
    ap.add_argument("--port-min", type=int, default=20000, help="below the ephemeral range")
    ap.add_argument("--core", default="1", help="rtpengine's core (taskset -c)")
    ap.add_argument("--sender-core", default="0")
    ap.add_argument("--out", required=True)
    ap.add_argument("--rtprec-json", help="bench/dataplane.sh result for the same flow count")
    ap.add_argument("--ndr-dir", help="where bench/ndr.py results are: ratio to the newest NDR of CALLS flows too")
    ap.add_argument("--quick", action="store_true", help="10 calls, one 1 s trial at 5 kpps")
    a = ap.parse_args()
    a.quick_rate = 5000
    if a.quick:
        a.calls, a.seconds = min(a.calls, 10), 1.0
    work = Path(a.out).resolve().parent / (Path(a.out).stem + ".d")
    work.mkdir(parents=True, exist_ok=True)
    res = dict(calls=a.calls, seconds=a.seconds, udp_payload=172, quick=a.quick, resolution=a.resolution,
               loss_tolerance=a.loss_tolerance, cores=f"rtpengine {a.core} (--num-threads=1), sender {a.sender_core}",
               compared="rtpengine: kernel UDP sockets on loopback, userspace forwarding, one core; "
                        "rtprec: DPDK vdev (net_pcap in memory -> net_null), one worker core",
               time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               git=subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                  cwd=Path(__file__).parent).stdout.strip())
    rc = 1
    try:
        trials, top = search(a, work)
        fig, line = summary(a, trials, top)
        res.update(fig, trials=trials)
        bad = [t["rate"] for t in trials if not t["consistent"]]
        if bad:
            log(f"counts do not add up (sent != received + lost, or a call got nothing) at rates {bad}")
        rc = 1 if bad else 0
        if a.rtprec_json and "ratio" not in fig and not a.quick:
            log(f"no ratio: no rtprec figure in {a.rtprec_json} or no zero-loss rtpengine trial")
            rc = 1
        print(line + f"  ({a.out})", flush=True)
    except Exception as e:  # noqa: BLE001 - report and fail; trial() stopped rtpengine
        log(f"failed: {e}")
        res["error"] = str(e)
    finally:
        Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
