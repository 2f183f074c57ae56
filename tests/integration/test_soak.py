"""Soak (tests/soak.sh MINUTES, or SOAK_MINUTES=N with pytest): SIPp places SIPREC calls
at SOAK_CPS (default 4) with RTP on both streams for the given time against one rtprec;
rtprec's resident memory and open file descriptors are sampled every 10 s. Asserts: 0
failed calls, every call finalised with end_reason bye and all its packets, memory growth
after the first sample below SOAK_RSS_MB (default 32), and as many fds at the end as at
the start. Skipped unless SOAK_MINUTES is set."""
import glob
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import DP_ADDR, free_port
from test_siprec import PY, SIPP_DIR, session_dirs, start_srs, wait_for

MINUTES = float(os.environ.get("SOAK_MINUTES", "0"))
pytestmark = pytest.mark.skipif(MINUTES <= 0 or os.geteuid() != 0 or not shutil.which("sipp"),
                                reason="soak: set SOAK_MINUTES (tests/soak.sh)")
HERE = Path(__file__).resolve().parent


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_soak(start_rtprec, tmp_path, veth_ns):
    cps = float(os.environ.get("SOAK_CPS", "4"))
    calls = int(MINUTES * 60 * cps)
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, media_extra="  timeout_s: 60\n")
    pid = r.proc.pid
    rtpcmd = f"ip netns exec {veth_ns['ns']} {PY} {HERE / 'rtp_send.py'} {DP_ADDR}"
    fd0 = fds(pid)
    cmd = ["sipp", "-sf", str(SIPP_DIR / "siprec_soak_uac.xml"), "-r", str(cps), "-m", str(calls),
           "-l", "50", "-t", "u1", "-nostdin", "-timeout", f"{int(MINUTES * 60 + 60)}s", "-timeout_error",
           "-trace_err", "-key", "rtpcmd", rtpcmd, "-p", str(free_port()), f"127.0.0.1:{port}"]
    sipp = subprocess.Popen(cmd, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    samples = []
    deadline = time.monotonic() + MINUTES * 60 + 120
    while sipp.poll() is None and time.monotonic() < deadline:
        samples.append((time.monotonic(), rss_kb(pid), fds(pid)))
        time.sleep(10)
    if sipp.poll() is None:
        sipp.kill()
    out = sipp.communicate(timeout=30)[0]
    assert sipp.returncode == 0, f"SIPp failed:\n{out[-3000:]}\n{r.diag()}"
    assert wait_for(lambda: len(glob.glob(str(tmp_path / "rec/*/*/*/*/session.json"))) == calls,
                    timeout=30), r.diag()
    rss_end, fd_end = rss_kb(pid), fds(pid)
    growth_mb = (rss_end - samples[0][1]) / 1024 if samples else 0
    print(f"soak: {calls} calls at {cps}/s; RSS {samples[0][1] // 1024 if samples else 0} -> "
          f"{rss_end // 1024} MB; fds {fd0} -> {fd_end}; samples {[(s[1] // 1024, s[2]) for s in samples]}")
    assert growth_mb < float(os.environ.get("SOAK_RSS_MB", "32")), samples
    assert fd_end == fd0, (fd0, fd_end, samples)
    bad = []
    for d in session_dirs(tmp_path):
        sess = json.load(open(d + "/session.json"))
        got = [st["packets"] for st in sess["streams"]]
        if sess["end_reason"] != "bye" or got != [10, 10]:
            bad.append((d, sess["end_reason"], got))
    assert not bad, bad[:5]
    r.stop()
