"""shutdown.drain_s: a stop signal with calls active refuses new INVITEs (503) and
waits for the calls to end by themselves, at most drain_s; a second signal ends the
wait (rtprec then sends BYE to what is left)."""
import json
import os
import shutil
import signal
import time

import pytest

from conftest import NS_ADDR
from sip_uac import Uac
from test_siprec import session_dirs, start_srs, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                                reason="needs root and iproute2")

SDP = (f"v=0\no=SRC 1 1 IN IP4 {NS_ADDR}\ns=-\nc=IN IP4 {NS_ADDR}\nt=0 0\n"
       "m=audio 40000 RTP/AVP 0\na=label:1\na=sendonly\n")


def end_reason(tmp_path):
    assert wait_for(lambda: session_dirs(tmp_path) and
                    os.path.exists(session_dirs(tmp_path)[0] + "/session.json"))
    return json.load(open(session_dirs(tmp_path)[0] + "/session.json"))["end_reason"]


def test_drain_waits_for_calls(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, sip_extra="",
                        media_extra="shutdown:\n  drain_s: 30\n")
    uac = Uac(port)
    assert uac.invite(SDP)[0] == 200
    r.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert r.proc.poll() is None, r.diag()  # still serving the call
    late = Uac(port)
    code, resp = late.invite(SDP)
    assert code == 503 and "Retry-After:" in resp and "draining" in resp, resp
    assert uac.bye() == 200
    assert r.proc.wait(timeout=10) == 0
    assert end_reason(tmp_path) == "bye"
    assert "draining: 1 calls active" in r.stderr_text()


def test_second_signal_ends_drain(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns,
                        media_extra="shutdown:\n  drain_s: 30\n")
    uac = Uac(port)
    assert uac.invite(SDP)[0] == 200
    r.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    t0 = time.monotonic()
    r.proc.send_signal(signal.SIGTERM)
    assert r.proc.wait(timeout=15) == 0
    assert time.monotonic() - t0 < 10
    assert end_reason(tmp_path) == "shutdown"
