"""Session timers (RFC 4028) on SIPREC dialogs: a Session-Expires below sip.min_se gets
422 with Min-SE; one taken comes back in the 200 with the refresher; refreshes (UPDATE)
keep the call, and when they stop rtprec sends BYE ("session timer expired"); with
refresher=uas rtprec re-INVITEs by itself. sip.min_se is set far below RFC 4028's 90 s
so the test takes seconds."""
import json
import os
import re
import shutil
import time

import pytest

from sip_uac import Uac
from test_pause import MD, offer
from test_siprec import first_session, session_dirs, start_srs, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                                reason="needs root and iproute2")

MIN_SE = "  min_se: 3\n"


def header(resp, name):
    m = re.search(rf"^{name}: *(.*?)\r?$", resp.split("\r\n\r\n", 1)[0], re.M | re.I)
    return m.group(1) if m else None


def test_too_small_gets_422(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, sip_extra=MIN_SE)
    uac = Uac(port)
    code, resp = uac.invite(offer(1, "sendonly", "sendonly"), extra="Session-Expires: 2\r\n")
    assert code == 422 and header(resp, "Min-SE") == "3", resp
    assert r.stop()[1].by_type("sessions")[0]["refused"] == {"422": 1}
    uac.close()


def test_refreshes_keep_the_call_then_bye(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, sip_extra=MIN_SE)
    uac = Uac(port)
    code, resp = uac.invite(offer(1, "sendonly", "sendonly"),
                            extra="Supported: timer\r\nSession-Expires: 6;refresher=uac\r\n")
    assert code == 200, resp
    assert header(resp, "Session-Expires") == "6;refresher=uac", resp
    assert "timer" in header(resp, "Require"), resp
    start = time.monotonic()
    for _ in range(4):  # 8 s of refreshes every 2 s: longer than one interval
        time.sleep(2)
        code, resp = uac.update(extra="Session-Expires: 6;refresher=uac\r\n")
        assert code == 200 and header(resp, "Session-Expires") == "6;refresher=uac", resp
    last = time.monotonic()
    bye = uac.wait_request("BYE", timeout=10)
    waited = time.monotonic() - last
    assert 3 <= waited <= 6.5, (waited, time.monotonic() - start)  # 6 - min(32, 6/3) = 4 s
    uac.reply(bye, 200)
    stats = r.stop()[1]
    assert stats.by_type("sessions")[0]["timer_expired"] == 1
    assert wait_for(lambda: session_dirs(tmp_path) and
                    os.path.exists(session_dirs(tmp_path)[0] + "/session.json"))
    sess = json.load(open(session_dirs(tmp_path)[0] + "/session.json"))
    assert sess["end_reason"] == "session timer expired", sess["end_reason"]
    uac.close()


def test_rtprec_refreshes_as_uas(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, sip_extra=MIN_SE)
    uac = Uac(port)
    code, resp = uac.invite(offer(1, "sendonly", "sendonly"),
                            extra="Supported: timer\r\nSession-Expires: 4;refresher=uas\r\n")
    assert code == 200 and header(resp, "Session-Expires") == "4;refresher=uas", resp
    reinv = uac.wait_request("INVITE", timeout=6)  # at half the interval
    assert "m=audio" in reinv, reinv
    uac.reply(reinv, 200, sdp=offer(2, "sendonly", "sendonly"))
    assert uac.bye() == 200
    assert r.stop()[1].by_type("sessions")[0]["timer_refreshes"] >= 1
    uac.close()


def test_refused_reinvite_changes_nothing(start_rtprec, tmp_path, veth_ns):
    """A re-INVITE refused with 488 (its offer drops an m= line) leaves the session as it
    was (RFC 3261 14.2; RFC 4028 takes a Session-Expires only with a 2xx): its
    Session-Expires (rtprec to refresh, an hour) does not replace the call's, so the
    SRC's refresh is still due and its absence ends the call on time; its rs-metadata is
    not taken either."""
    r, port = start_srs(start_rtprec, tmp_path, veth_ns, sip_extra=MIN_SE)
    uac = Uac(port)
    code, resp = uac.invite(offer(1, "sendonly", "sendonly"),
                            extra="Supported: timer\r\nSession-Expires: 4;refresher=uac\r\n")
    assert code == 200, resp
    one = offer(2, "sendonly", "sendonly").split("m=audio 40002")[0]
    body = (f"--x\r\nContent-Type: application/sdp\r\n\r\n{one}\r\n--x\r\n"
            "Content-Type: application/rs-metadata+xml\r\nContent-Disposition: recording-session"
            f"\r\n\r\n{MD}\r\n--x--\r\n")
    code, resp = uac.update(body, ctype="multipart/mixed;boundary=x", method="INVITE",
                            extra="Supported: timer\r\nSession-Expires: 3600;refresher=uas\r\n")
    assert code == 488, resp
    uac.reply(uac.wait_request("BYE", timeout=6), 200)  # 4 - 4/3 s after the 200
    r.stop()
    sess = first_session(tmp_path)
    assert sess["end_reason"] == "session timer expired", sess["end_reason"]
    assert not sess["metadata"] and sess["recording_session_id"] == "", sess
    assert not os.path.exists(session_dirs(tmp_path)[0] + "/metadata.xml")
    uac.close()
