"""Calls without recording metadata (issue 10): recorded anyway by default ("metadata":
false in session.json); refused 400 + Warning 399 with siprec.require_metadata; with
siprec.request_metadata rtprec asks the SRC for a snapshot in an UPDATE carrying an
application/rs-metadata-request body once the call is up, and the metadata the SRC
then sends in an UPDATE lands in session.json."""
import json
import os
import shutil

import pytest

from sip_uac import Uac
from test_pause import MD, offer
from test_siprec import session_dirs, start_srs, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                                reason="needs root and iproute2")


def session(tmp_path):
    assert wait_for(lambda: session_dirs(tmp_path) and
                    os.path.exists(session_dirs(tmp_path)[0] + "/session.json"))
    return json.load(open(session_dirs(tmp_path)[0] + "/session.json"))


def test_no_metadata_recorded_anyway(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns)
    uac = Uac(port)
    assert uac.invite(offer(1, "sendonly", "sendonly"))[0] == 200
    assert uac.bye() == 200
    r.stop()
    sess = session(tmp_path)
    assert sess["metadata"] is False and sess["metadata_requested"] is False, sess
    uac.close()


def test_require_metadata_refuses(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns,
                        sip_extra="siprec:\n  require_metadata: true\n")
    uac = Uac(port)
    code, resp = uac.invite(offer(1, "sendonly", "sendonly"))
    assert code == 400 and 'Warning: 399 rtprec "no rs-metadata in the INVITE"' in resp, resp
    r.stop()
    uac.close()


def test_request_metadata_update(start_rtprec, tmp_path, veth_ns):
    r, port = start_srs(start_rtprec, tmp_path, veth_ns,
                        sip_extra="siprec:\n  request_metadata: true\n")
    uac = Uac(port)
    assert uac.invite(offer(1, "sendonly", "sendonly"))[0] == 200
    req = uac.wait_request("UPDATE", timeout=5)
    head, body = req.split("\r\n\r\n", 1)
    assert "Content-Type: application/rs-metadata-request" in head, req
    assert body.strip(), req
    uac.reply(req, 200)
    code, resp = uac.update(MD, ctype="application/rs-metadata+xml")
    assert code == 200, resp
    assert uac.bye() == 200
    r.stop()
    sess = session(tmp_path)
    assert sess["metadata"] is True and sess["metadata_requested"] is True, sess
    assert sess["recording_session_id"] == "s1", sess
    uac.close()
