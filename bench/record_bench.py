#!/usr/bin/python3
"""Recording throughput: rtprec with one worker and one recorder thread records a pcap of
G.711 packets replayed by net_pcap infinite_rx at a paced rate (dataplane.rx_pace_pps, a
wire at that rate: what a NIC ring would have lost while the worker was late is counted as
pace_missed) into per-flow pcap files on a tmpfs, rotated by size; the rotated files are
deleted by the on_close hook (all but each flow's second file, kept for a tshark check) so
a 60 s run at 10G (~72 GB) fits in memory. Then dpdk-testpmd io on the same input.

usage: record_bench.py --pcap FILE --flows N --files F --packets P --rtprec BIN --out R.json
                       --recdir DIR [--pps 5252100] [--seconds 60] [--warmup 2] [--mem-args ..]
Prints one summary line; writes R.json. Exit 0 when the run completed with consistent
counts (offered = written + dropped), whatever the speed.
"""
import argparse
import ipaddress
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_bench import NULL_MAC, bench_testpmd, log, start_rtprec  # noqa: E402

HOOK = """#!/bin/sh
# keep each flow's second file (<flow>.1.pcap) for the check, delete the others
case "$1" in *.1.pcap) ;; *) rm -f "$1" ;; esac
"""


def rtprec_config(a, workdir):
    pool = a.packets + a.ring + 65536
    eal = ["--no-pci", f"--file-prefix=rtrec{uuid.uuid4().hex[:6]}", "-l", "0-1"] + a.mem_args.split() + [
        f"--vdev=net_pcap0,rx_pcap={a.pcap},infinite_rx=1"] + (["--vdev=net_null0,no-rx=1"] if a.forward else [])
    hook = workdir / "hook.sh"
    hook.write_text(HOOK)
    hook.chmod(0o755)
    y = ["dpdk:", "  eal_args:"] + [f"    - {json.dumps(x)}" for x in eal] + [
        "ports:", "  - name: in", "    device: net_pcap0", '    ipv4: "192.0.2.10/24"',
        f"    rx_desc: {a.rx_desc}"] + ([
        "  - name: out", "    device: net_null0", '    ipv4: "198.51.100.10/24"',
        '    gateway: "198.51.100.1"', f'    gateway_mac: "{NULL_MAC}"'] if a.forward else []) + [
        "workers: 1",
        "recording:", f"  dir: {json.dumps(a.recdir)}", "  threads: 1",
        f"  rotate_bytes: {a.rotate_mb << 20}", f'  on_close: "{hook} {{file}}"',
        "dataplane:", f"  mbufs: {pool}", f"  mbuf_size: {a.mbuf_size}",
        f"  record_ring_size: {a.ring}", f"  rx_pace_pps: {a.pps}",
        "flows:"]
    per = a.flows // a.files
    src0 = ipaddress.IPv4Address(a.src)
    for i in range(a.files):
        y += [f"  - name: rec{i:03d}", f'    match: {{ dst: "192.0.2.10:30000", src: "{src0 + i * per}:4000" }}',
              f"    count: {per}", f"    actions: [{'record, forward' if a.forward else 'record'}]"]
        if a.forward:
            y.append('    forward: { to: "203.0.113.7:40000", from: "198.51.100.10:40002", port: out }')
    return "\n".join(y) + "\n"


def totals(lines):
    w = [x for x in lines if x.get("type") == "worker"]
    rec = next((x for x in lines if x.get("type") == "recorder"), {})
    drops = {}
    for x in w:
        for k, v in x.get("drops", {}).items():
            drops[k] = drops.get(k, 0) + v
    return dict(rx=sum(x["rx_packets"] for x in w), tx=sum(x.get("tx_packets", 0) for x in w),
                drops=drops, written=rec.get("packets", 0),
                rec_dropped=rec.get("dropped", 0), write_errors=rec.get("write_errors", 0),
                bytes=rec.get("bytes", 0), busy=sum(x.get("busy_cycles", 0) for x in w))


def bench_record(a, workdir):
    p, errp = start_rtprec(a, workdir, "rtprec-record.yaml", rtprec_config(a, workdir))
    try:
        if p.wait(lambda e: e.get("event") == "ready", 0, a.ready_timeout) is None:
            raise RuntimeError(f"rtprec not ready; see {errp}")
        time.sleep(a.warmup)
        s1 = p.snapshot()
        time.sleep(a.seconds)
        s2 = p.snapshot()
    finally:
        rc = p.stop(timeout=120)
    with p.cond:
        ends = [i for i, e in enumerate(p.events) if e.get("event") == "stats_end"]
        final = p.events[ends[-2] + 1 if len(ends) > 1 else 0:ends[-1]] if ends else []
    t = totals(final)
    dt = s2["t"] - s1["t"]
    drx = s2["rx"] - s1["rx"]
    by_recorder = sum(t["drops"].get(k, 0) for k in ("record_ring_full", "record_no_mbuf")) + t["rec_dropped"]
    by_wire = t["drops"].get("pace_missed", 0)
    offered = t["rx"] + t["drops"].get("pace_missed", 0)
    return dict(pps_target=a.pps, seconds=dt, mpps=drx / dt / 1e6 if dt > 0 else 0.0,
                cycles_per_pkt=(s2["busy"] - s1["busy"]) / drx if drx else None,
                offered=offered, written=t["written"], dropped=by_recorder + by_wire, forwarded=t["tx"],
                dropped_recorder=by_recorder, dropped_wire=by_wire, drops=t["drops"],
                write_errors=t["write_errors"], bytes=t["bytes"], exit_code=rc,
                window_drops={k: v - s1["drops"].get(k, 0) for k, v in s2["drops"].items()
                              if v - s1["drops"].get(k, 0)})


OSLAT_BUCKETS = 1024  # bench/core_stall.sh: --bucket-size


def core_stall(path, rx_desc, pps):
    """oslat's JSON (bench/core_stall.sh): the longest hold-up of the busy core and how many
    lasted at least as long as the RX ring covers (up to the histogram's last bucket)."""
    t = json.loads(Path(path).read_text())["thread"]["0"]
    ring_us = rx_desc / pps * 1e6 if pps else None
    hist = {int(k): v for k, v in t.get("histogram", {}).items()}
    top = OSLAT_BUCKETS  # bucket k: k us; the last one holds every longer hold-up too
    over = sum(v for k, v in hist.items() if k >= min(ring_us, top)) if ring_us else None
    return dict(cpu=t.get("cpu"), seconds=t.get("duration"), max_us=t.get("max"), ring_us=ring_us,
                over_ring=over, over_ring_exact=bool(ring_us and ring_us <= top))


def check_kept(recdir):
    """tshark reads each kept file to its end as RTP: returns (files, packets)."""
    files = sorted(Path(recdir).glob("*.1.pcap"))
    n = 0
    for f in files[:4]:
        out = subprocess.run(["tshark", "-n", "-r", str(f), "-d", "udp.port==30000,rtp", "-T", "fields",
                              "-e", "rtp.seq"], capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"tshark cannot read {f}: {out.stderr[-400:]}")
        n += sum(1 for line in out.stdout.splitlines() if line.strip())
    return len(files), n


def main():
    ap = argparse.ArgumentParser()
    for k in ("--pcap", "--rtprec", "--out", "--recdir"):
        ap.add_argument(k, required=True)
    ap.add_argument("--flows", type=int, required=True)
    ap.add_argument("--files", type=int, default=16)
    ap.add_argument("--packets", type=int, required=True)
    ap.add_argument("--pps", type=int, default=5252100)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--ready-timeout", type=float, default=180.0)
    ap.add_argument("--mem-args", default="--in-memory")
    ap.add_argument("--src", default="100.64.0.1")
    ap.add_argument("--mbuf-size", type=int, default=512)
    ap.add_argument("--ring", type=int, default=65536)
    ap.add_argument("--rx-desc", type=int, default=int(os.environ.get("BENCH_RX_DESC", 4096)), help="the port's RX ring (what pacing may owe)")
    ap.add_argument("--rotate-mb", type=int, default=128)
    ap.add_argument("--skip-testpmd", action="store_true")
    ap.add_argument("--forward", action="store_true",
                    help="flows [record, forward]: each packet also rewritten and sent to net_null")
    ap.add_argument("--oslat", help="oslat's JSON from bench/core_stall.sh, reported as core_stall")
    a = ap.parse_args()
    if a.flows % a.files:
        sys.exit("--flows must be a multiple of --files")
    workdir = Path(a.out).resolve().parent / (Path(a.out).stem + ".d")
    workdir.mkdir(parents=True, exist_ok=True)
    res = dict(scenario="record+forward" if a.forward else "record", flows=a.flows, files=a.files, packets=a.packets, frame_bytes=214,
               wire_bytes=238, time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    res["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent).stdout.strip()
    ok = True
    try:
        r = res["rtprec"] = bench_record(a, workdir)
        res["kept_files"], res["kept_checked_packets"] = check_kept(a.recdir)
        # tshark reads the kept files as RTP to port 30000: the frames as received
        ok = (r["offered"] == r["written"] + r["dropped"] and r["write_errors"] == 0 and res["kept_files"] > 0
              and res["kept_checked_packets"] > 0)
        if a.forward:  # every packet read is forwarded (net_null takes all)
            ok = ok and r["forwarded"] == r["offered"] - r["dropped_wire"]
    except Exception as e:
        log(f"rtprec failed: {e}")
        r = res["rtprec"] = dict(error=str(e))
        ok = False
    if not a.skip_testpmd:
        try:
            res["testpmd"] = bench_testpmd(argparse.Namespace(**{**vars(a), "seconds": min(a.seconds, 8)}),
                                           workdir)
        except Exception as e:
            log(f"testpmd failed: {e}")
            res["testpmd"] = dict(error=str(e))
    tp = res.get("testpmd", {}).get("mpps")
    if r.get("mpps") and tp:
        res["ratio"] = r["mpps"] / tp
    res["consistent"] = ok
    if a.oslat:
        res["core_stall"] = core_stall(a.oslat, a.rx_desc, a.pps)
    Path(a.out).write_text(json.dumps(res, indent=2) + "\n")

    def f(x, fmt):
        return format(x, fmt) if isinstance(x, (int, float)) else "n/a"
    fwd = f" forwarded={r.get('forwarded', 'n/a')}" if a.forward else ""
    print(f"{res['scenario']}: offered={r.get('offered', 'n/a')} written={r.get('written', 'n/a')}{fwd} "
          f"dropped={r.get('dropped', 'n/a')} (recorder {r.get('dropped_recorder', 'n/a')}, "
          f"wire {r.get('dropped_wire', 'n/a')}) rate={f(r.get('mpps'), '.3f')} Mpps "
          f"(target {a.pps / 1e6:.3f}) cycles/pkt={f(r.get('cycles_per_pkt'), '.0f')} "
          f"testpmd={f(tp, '.2f')} Mpps ratio={f(res.get('ratio'), '.3f')} "
          f"{'consistent' if ok else 'INCONSISTENT'} ({a.out})", flush=True)
    cs = res.get("core_stall")
    if cs and cs.get("ring_us"):
        ring = f"{cs['ring_us']:.0f} us"
        what = (f">= {ring}, what the RX ring covers at this rate" if cs["over_ring_exact"] else
                f">= {OSLAT_BUCKETS} us (the RX ring covers {ring} at this rate)")
        print(f"core: lcore {cs['cpu']} spinning alone (oslat, {f(cs['seconds'], '.0f')} s, lcore 0 "
              f"writing the tmpfs): held up at most {cs['max_us']} us; {cs['over_ring']} hold-ups "
              f"of {what}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
