#!/usr/bin/python3
"""Zero-loss throughput (RFC 2544 style NDR) of rtprec forward + NAT rewrite over net_memif.

rtprec (memif server, worker on lcore 1, control plane on lcore 0) forwards FLOWS static
flows back out of the same port; rtprec-gen (memif client with rings of 2^--memif-rsize
slots, one lcore: 0, sending and receiving interleaved; --trials: one process and one
connection for every trial) sends FLOWS G.711 streams at a rate for SECONDS and matches
what comes back. A trial passes when the generator really offered the rate (memif pushes back
when rtprec is slow: a rate not achieved is a failure, not a pass) and at most
--loss-tolerance of the packets were lost. The rate is binary-searched between 0 and the
rate the generator reached unpaced ("max offered") until the step is below --resolution.

usage: ndr.py --rtprec BIN --gen BIN --flows N --out RESULT.json [--seconds 10] [--quick]
Prints one summary line; writes RESULT.json (every trial with the generator's JSON and
rtprec's worker counters over the trial).
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_bench import Proc, log, start_rtprec  # noqa: E402

RTPREC_MAC = "02:70:63:61:70:00"  # rtprec-gen's default --dst-mac
GEN_MAC = "02:00:00:00:00:01"


def rtprec_yaml(a, sock, workdir):
    table = 1
    while table < a.flows * 2:
        table *= 2
    eal = ["-l", "0-1", "--no-pci", f"--file-prefix={a.prefixes[0]}"] + shlex.split(a.mem_args) + [
        f"--vdev=net_memif0,role=server,socket={sock},mac={RTPREC_MAC}"]
    return "\n".join([
        "dpdk:", "  eal_args: " + json.dumps(eal),
        "ports:",
        '  - { name: m, device: net_memif0, ipv4: "192.0.2.10/24", gateway: "192.0.2.1", '
        f'gateway_mac: "{GEN_MAC}" }}',
        "workers: 1",
        f"recording: {{ dir: {json.dumps(str(workdir / 'rec'))} }}",
        f"dataplane: {{ flow_table_size: {table}, mbufs: 65535, mbuf_size: 512 }}",
        "flows:",
        "  - name: ndr",
        '    match: { dst: "192.0.2.10:30000", src: "100.64.0.1:4000" }',
        f"    count: {a.flows}", "    actions: [forward]",
        '    forward: { to: "203.0.113.7:40000", from: "192.0.2.10:40002", port: m }', ""])


def start_gen(a, sock, workdir):
    """rtprec-gen --trials: one process, one memif connection for every trial (with a new
    connection per trial rtprec's worker segfaulted in the memif PMD, DPDK 22.11.11)."""
    cmd = [a.gen, "-l", "0", "--no-pci", f"--file-prefix={a.prefixes[1]}"] + shlex.split(a.mem_args) + [
        f"--vdev=net_memif0,role=client,socket={sock},mac={GEN_MAC},rsize={a.memif_rsize}", "--", "--trials",
        "--streams", str(a.flows), "--dst", "192.0.2.10:30000", "--link-wait", "10", "--drain-ms", "500"]
    log("rtprec-gen: " + " ".join(cmd))
    return Proc(cmd, workdir / "gen.stderr", str(workdir), stdin=subprocess.PIPE)


def gen_trial(a, gen, rate, rtprec):
    """One trial at rate (pps or 'max'); returns the trial's record."""
    s1 = rtprec.snapshot()
    n = len(gen.events)
    gen.p.stdin.write(f"{rate} {a.seconds}\n")
    gen.p.stdin.flush()
    i = gen.wait(lambda e: "mode" in e, n, a.seconds + 60)
    s2 = rtprec.snapshot()
    if i is None:
        raise RuntimeError(f"rtprec-gen gave no result (exit {gen.p.poll()}); see its gen.stderr")
    g = gen.events[i]
    rx = s2["rx"] - s1["rx"]
    w = dict(rx=rx, tx=s2["tx"] - s1["tx"],
             cycles_per_pkt=(s2["busy"] - s1["busy"]) / rx if rx else None,
             drops={k: v - s1["drops"].get(k, 0) for k, v in s2["drops"].items() if v != s1["drops"].get(k, 0)})
    sent = g.get("sent", 0)
    achieved = rate == "max" or g.get("tx_pps", 0) >= rate * (1 - a.rate_slack)
    ok = sent > 0 and g.get("lost", sent) <= int(sent * a.loss_tolerance) and achieved
    t = dict(rate=rate, passed=ok, achieved=achieved, consistent=sent == g.get("received", -1) + g.get("lost", -1),
             gen=g, rtprec=w)
    log(f"trial rate={rate}: sent {sent} tx {g.get('tx_pps', 0) / 1e6:.3f} Mpps, lost {g.get('lost')}, "
        f"pace_late {g.get('pace_late')}, rtprec drops {w['drops'] or 0} -> {'pass' if ok else 'fail'}")
    return t


def search(a, gen, rtprec):
    trials = [gen_trial(a, gen, "max", rtprec)]
    top = int(trials[0]["gen"].get("tx_pps", 0))
    lo, hi, best = 0, top, None
    rate = top
    while top > 0 and len(trials) < a.max_trials:
        t = gen_trial(a, gen, rate, rtprec)
        trials.append(t)
        if t["passed"]:
            lo, best = rate, t
        else:
            hi = rate
        if hi - lo <= a.resolution * top:
            break
        rate = (lo + hi) // 2
    return trials, top, lo, best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rtprec", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--flows", type=int, default=1000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--resolution", type=float, default=0.01, help="stop when the step is below this share of max")
    ap.add_argument("--loss-tolerance", type=float, default=0.0, help="share of packets a passing trial may lose")
    ap.add_argument("--rate-slack", type=float, default=0.01, help="a trial must reach (1 - this) of its rate")
    ap.add_argument("--max-trials", type=int, default=20)
    ap.add_argument("--memif-rsize", type=int, default=12,
                    help="log2 of the memif ring size (the client sets it for both directions)")
    ap.add_argument("--ready-timeout", type=float, default=120.0)
    ap.add_argument("--mem-args", default="--in-memory")
    ap.add_argument("--quick", action="store_true", help="3 short trials; checks counts, no speed claim")
    a = ap.parse_args()
    a.rtprec, a.gen = str(Path(a.rtprec).resolve()), str(Path(a.gen).resolve())
    a.prefixes = [f"ndr{x}{uuid.uuid4().hex[:6]}" for x in "rg"]  # EAL runtime dirs, removed at the end
    if a.quick:
        a.seconds, a.max_trials, a.resolution = min(a.seconds, 1.0), 3, 0.25
    workdir = Path(a.out).resolve().parent / (Path(a.out).stem + ".d")
    workdir.mkdir(parents=True, exist_ok=True)
    sock = f"/run/rtprec-ndr-{os.getpid()}.sock"
    result = dict(flows=a.flows, frame_bytes=214, seconds=a.seconds, resolution=a.resolution,
                  loss_tolerance=a.loss_tolerance, rate_slack=a.rate_slack, port="net_memif (copy mode)",
                  memif_ring=2 ** a.memif_rsize,
                  lcores="rtprec-gen 0; rtprec worker 1, control plane 0 (shared with the generator)",
                  quick=a.quick, time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  git=subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd=Path(__file__).parent).stdout.strip())
    p = gen = None
    rc = 1
    try:
        p, errp = start_rtprec(a, workdir, "rtprec-ndr.yaml", rtprec_yaml(a, sock, workdir))
        if p.wait(lambda e: e.get("event") == "ready", 0, a.ready_timeout) is None:
            raise RuntimeError(f"rtprec not ready; see {errp}")
        gen = start_gen(a, sock, workdir)
        trials, top, ndr, best = search(a, gen, p)
        result.update(trials=trials, max_offered_pps=top, ndr_pps=ndr,
                      ndr_latency_us=best["gen"].get("latency_us") if best else None,
                      ndr_cycles_per_pkt=best["rtprec"]["cycles_per_pkt"] if best else None)
        bad = [t["rate"] for t in trials if not t["consistent"]]
        rc = 1 if bad else 0
        if bad:
            log(f"inconsistent counts (sent != received + lost) at rates {bad}")
        note = " (--quick: no speed claim)" if a.quick else ""
        print(f"ndr: {a.flows} flows, 214-byte G.711 frames, forward + rewrite over memif, zero-loss "
              f"{ndr / 1e6:.3f} Mpps ({len(trials)} trials, {a.seconds:g} s each, resolution "
              f"{a.resolution:.0%}, loss tolerance {a.loss_tolerance:g}), max offered {top / 1e6:.3f} Mpps; "
              f"gen lcore 0, rtprec worker lcore 1, control plane shares lcore 0{note}  ({a.out})", flush=True)
    except Exception as e:  # noqa: BLE001 - report, clean up, fail
        log(f"ndr failed: {e}")
        result["error"] = str(e)
    finally:
        if p is not None:  # rtprec first: the generator is idle when its peer goes
            result["rtprec_exit"] = p.stop()
            if result["rtprec_exit"] != 0:
                log(f"rtprec exit status {result['rtprec_exit']}")
                rc = 1
        if gen is not None:
            gen.p.stdin.close()
            try:
                gen.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            result["gen_exit"] = gen.stop(timeout=30)
        Path(sock).unlink(missing_ok=True)
        for x in a.prefixes:
            shutil.rmtree(f"/var/run/dpdk/{x}", ignore_errors=True)
        Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
