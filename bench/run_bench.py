#!/usr/bin/python3
"""Drive one dataplane benchmark point: rtprec (forward + rewrite, one worker) and
dpdk-testpmd io forwarding on the same pcap, net_pcap infinite_rx -> net_null.

usage: run_bench.py --pcap FILE --flows N --rtprec BIN --out RESULT.json
                    [--seconds 10] [--warmup 2] [--mem-args "--in-memory"] [--skip-testpmd]
Prints one summary line; writes RESULT.json.
"""
import argparse
import ipaddress
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

NULL_MAC = "02:00:00:00:00:02"


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


class Proc:
    """rtprec (or rtprec-gen --trials) with its stdout JSON lines collected by a thread."""

    def __init__(self, cmd, stderr_path, cwd, stdin=subprocess.DEVNULL):
        self.events, self.cond = [], threading.Condition()
        self.err = open(stderr_path, "w")
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err, stdin=stdin,
                                  text=True, cwd=cwd)
        self.t = threading.Thread(target=self.read, daemon=True)
        self.t.start()

    def read(self):
        for line in self.p.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.events.append(ev)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait(self, pred, start, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.events)):
                    if pred(self.events[i]):
                        return i
                if time.monotonic() > deadline or (self.p.poll() is not None and not self.t.is_alive()):
                    return None
                self.cond.wait(0.2)

    def snapshot(self, timeout=30):
        with self.cond:
            start = len(self.events)
        t = time.monotonic()
        self.p.send_signal(signal.SIGUSR1)
        end = self.wait(lambda e: e.get("event") == "stats_end", start, timeout)
        if end is None:
            raise RuntimeError("no stats after SIGUSR1")
        with self.cond:
            lines = self.events[start:end]
        w = [l for l in lines if l.get("type") == "worker"]
        drops = {}
        for x in w:
            for k, v in x.get("drops", {}).items():
                drops[k] = drops.get(k, 0) + v
        return dict(t=t, rx=sum(x["rx_packets"] for x in w), tx=sum(x["tx_packets"] for x in w),
                    busy=sum(x.get("busy_cycles", 0) for x in w), cycles=sum(x.get("cycles", 0) for x in w),
                    drops=drops)

    def stop(self, timeout=60):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait(timeout=10)


def rtprec_config(a, workdir):
    mbufs = a.packets + 32768  # infinite_rx keeps every packet of the pcap as an mbuf
    table = 1
    while table < a.flows * 2:
        table *= 2
    eal = ["--no-pci", f"--file-prefix=rtbench{uuid.uuid4().hex[:6]}"] + shlex.split(a.mem_args) + [
        f"--vdev=net_pcap0,rx_pcap={a.pcap},infinite_rx=1", "--vdev=net_null0,no-rx=1"]
    y = ["dpdk:", "  eal_args:"] + [f"    - {json.dumps(x)}" for x in eal] + [
        "ports:",
        "  - name: in", "    device: net_pcap0", '    ipv4: "192.0.2.10/24"',
        "  - name: out", "    device: net_null0", '    ipv4: "198.51.100.10/24"',
        '    gateway: "198.51.100.1"', f'    gateway_mac: "{NULL_MAC}"',
        "workers: 1",
        "recording:", f"  dir: {json.dumps(str(workdir / 'rec'))}",
        "dataplane:", f"  flow_table_size: {table}", f"  mbufs: {mbufs}",
        f"  mbuf_size: {a.mbuf_size}",
        "flows:",
    ]
    fwd = '    forward: { to: "203.0.113.7:40000", from: "198.51.100.10:40002", port: out }'
    y += ["  - name: bench",
          f'    match: {{ dst: "192.0.2.10:30000", src: "{a.src}:4000" }}',
          f"    count: {a.flows}", "    actions: [forward]", fwd]
    return "\n".join(y) + "\n"


def start_rtprec(a, workdir, name, text):
    """Write the config, have rtprec --check it, start rtprec: (Proc, stderr path)."""
    cfg = workdir / name
    cfg.write_text(text)
    chk = subprocess.run([a.rtprec, "--check", "--config", str(cfg)], capture_output=True, text=True,
                         timeout=120)
    if chk.returncode != 0:
        raise RuntimeError(f"config rejected:\n{chk.stderr}")
    errp = workdir / "rtprec.stderr"
    log(f"rtprec: {a.rtprec} --config {cfg}")
    return Proc([a.rtprec, "--config", str(cfg)], errp, str(workdir)), errp


def bench_rtprec(a, workdir):
    p, errp = start_rtprec(a, workdir, "rtprec-bench.yaml", rtprec_config(a, workdir))
    try:
        t0 = time.monotonic()
        if p.wait(lambda e: e.get("event") == "ready", 0, a.ready_timeout) is None:
            raise RuntimeError(f"rtprec not ready (exit code {p.p.poll()}, limit {a.ready_timeout}s); see {errp}:\n"
                               + "\n".join(errp.read_text(errors="replace").splitlines()[-20:]))
        log(f"rtprec ready after {time.monotonic() - t0:.1f}s")
        time.sleep(a.warmup)
        s1 = p.snapshot()
        time.sleep(a.seconds)
        s2 = p.snapshot()
    finally:
        rc = p.stop()
    dt = s2["t"] - s1["t"]
    drx = s2["rx"] - s1["rx"]
    dtx = s2["tx"] - s1["tx"]
    ddrops = {k: v - s1["drops"].get(k, 0) for k, v in s2["drops"].items() if v - s1["drops"].get(k, 0)}
    res = dict(mpps=drx / dt / 1e6 if dt > 0 else 0.0, tx_mpps=dtx / dt / 1e6 if dt > 0 else 0.0,
               cycles_per_pkt=(s2["busy"] - s1["busy"]) / drx if drx else None,
               seconds=dt, rx_packets=drx, tx_packets=dtx, drops=ddrops, exit_code=rc)
    if ddrops:
        log(f"rtprec drops during the window: {ddrops}")
    if drx and dtx < drx * 0.99:
        log(f"WARNING: rtprec forwarded {dtx} of {drx} packets")
    return res


def bench_testpmd(a, workdir):
    mbufs = a.packets + 32768  # infinite_rx keeps every packet of the pcap as an mbuf
    cmd = ["dpdk-testpmd", "--no-pci", f"--file-prefix=tpbench{uuid.uuid4().hex[:6]}", "-l", "0-1"] + \
        shlex.split(a.mem_args) + [f"--vdev=net_pcap0,rx_pcap={a.pcap},infinite_rx=1",
                                   "--vdev=net_null0,no-rx=1", "--", "--forward-mode=io", "-a",
                                   f"--total-num-mbufs={mbufs}", f"--mbuf-size={a.mbuf_size}",
                                   "--stats-period=1"]
    logp = workdir / "testpmd.log"
    log("testpmd: " + " ".join(cmd))
    with open(logp, "w") as f:
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        # wait for forwarding to start (preloading the pcap takes a while at 1M packets)
        deadline = time.monotonic() + a.ready_timeout
        while time.monotonic() < deadline and p.poll() is None:
            if "NIC statistics for port" in logp.read_text(errors="replace"):
                break
            time.sleep(0.5)
        time.sleep(a.warmup + a.seconds)
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
    text = logp.read_text(errors="replace")
    # per-period Tx-pps of port 1 (net_null), from testpmd's own TSC-timed rates
    samples = []
    for block in re.split(r"#+ NIC statistics for port ", text)[1:]:
        port = block.split()[0]
        m = re.search(r"Tx-pps:\s+(\d+)", block)
        if port == "1" and m:
            samples.append(int(m.group(1)))
    skip = max(1, int(a.warmup))
    use = [s for s in samples[skip:] if s > 0]
    if not use:
        raise RuntimeError(f"no testpmd rate samples; see {logp}")
    return dict(mpps=sum(use) / len(use) / 1e6, samples=len(use), exit_code=p.returncode,
                min_mpps=min(use) / 1e6, max_mpps=max(use) / 1e6)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--flows", type=int, required=True)
    ap.add_argument("--rtprec", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--ready-timeout", type=float, default=180.0)
    ap.add_argument("--mem-args", default="--in-memory")
    ap.add_argument("--src", default="100.64.0.1")
    ap.add_argument("--packets", type=int, default=0, help="packets in the pcap (default: flows)")
    ap.add_argument("--mbuf-size", type=int, default=512,
                    help="mbuf data room for both rtprec and testpmd (frames are 214 B)")
    ap.add_argument("--skip-testpmd", action="store_true")
    ap.add_argument("--skip-rtprec", action="store_true")
    a = ap.parse_args()
    a.packets = a.packets or a.flows
    a.pcap = str(Path(a.pcap).resolve())
    workdir = Path(a.out).resolve().parent / (Path(a.out).stem + ".d")
    workdir.mkdir(parents=True, exist_ok=True)

    result = dict(flows=a.flows, packets=a.packets, mbuf_size=a.mbuf_size, frame_bytes=214, wire_bytes=218, seconds=a.seconds,
                  mem_args=a.mem_args, time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    try:
        result["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                       text=True, timeout=10, cwd=Path(__file__).parent).stdout.strip()
    except Exception:
        pass
    rc = 0
    if not a.skip_rtprec:
        try:
            result["rtprec"] = bench_rtprec(a, workdir)
        except Exception as e:  # report and go on with testpmd
            log(f"rtprec failed: {e}")
            result["rtprec"] = dict(error=str(e))
            rc = 1
    if not a.skip_testpmd:
        try:
            result["testpmd"] = bench_testpmd(a, workdir)
        except Exception as e:
            log(f"testpmd failed: {e}")
            result["testpmd"] = dict(error=str(e))
            rc = 1
    r, t = result.get("rtprec", {}), result.get("testpmd", {})
    if r.get("mpps") and t.get("mpps"):
        result["ratio"] = r["mpps"] / t["mpps"]
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")

    def f(x, fmt):
        return format(x, fmt) if isinstance(x, (int, float)) else "n/a"
    print(f"flows={a.flows} rtprec={f(r.get('mpps'), '.2f')} Mpps "
          f"cycles/pkt={f(r.get('cycles_per_pkt'), '.1f')} testpmd={f(t.get('mpps'), '.2f')} Mpps "
          f"ratio={f(result.get('ratio'), '.2f')}  ({a.out})", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
