"""The control plane under valgrind (issue 8): rtprec starts on a net_null port without
hugepages, takes a SIPREC call (INVITE, ACK, BYE) and an OPTIONS, stops on SIGINT, and
valgrind reports no error and nothing definitely lost. Only for the normal build (an
ASan binary cannot run under valgrind)."""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid

import pytest

from conftest import ASAN_BUILD, BIN, free_port
from sip_uac import Uac
from test_pause import offer

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("valgrind") or ASAN_BUILD,
    reason="needs root, valgrind and a binary without ASan")


def test_start_call_stop_valgrind_clean(tmp_path):
    sip = free_port()
    cfg = tmp_path / "rtprec.yaml"
    cfg.write_text(
        "dpdk:\n  eal_args: [\"--no-pci\", \"--no-huge\", \"-m\", \"512\", "
        f"\"--file-prefix=vg{uuid.uuid4().hex[:8]}\", \"--vdev=net_null0,no-rx=1\", \"-l\", \"0-1\"]\n"
        "ports:\n  - name: media0\n    device: net_null0\n    ipv4: 198.18.0.10/24\n"
        # valgrind runs one thread at a time: a worker spinning on an empty port would
        # starve the control plane
        "dataplane:\n  idle_sleep_us: 1000\n"
        f"recording:\n  dir: \"{tmp_path / 'rec'}\"\n"
        f"sip:\n  listen: [\"udp:127.0.0.1:{sip}\"]\nflows: []\n")
    log = tmp_path / "valgrind.txt"
    p = subprocess.Popen(["valgrind", "--error-exitcode=9", "--leak-check=full",
                          "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
                          f"--log-file={log}", BIN, "--config", str(cfg)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ready = threading.Event()
    threading.Thread(target=lambda: [ready.set() for line in p.stdout
                                     if line.startswith('{"event":"ready"')], daemon=True).start()
    try:
        assert ready.wait(120), "rtprec under valgrind not ready in 120 s"
        uac = Uac(sip, timeout=20)
        code, resp = uac.invite(offer(1, "sendonly", "sendonly"))
        assert code == 200, resp
        assert uac.bye() == 200
        uac.close()
        time.sleep(1)
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    text = log.read_text()
    assert rc == 0, text[-3000:]
    assert re.search(r"ERROR SUMMARY: 0 errors", text), text[-3000:]
    assert re.search(r"definitely lost: 0 bytes", text) or "no leaks are possible" in text, \
        text[-3000:]
