"""ICE for SIPREC calls (RFC 8445, SDP per RFC 8839; nat.ice: full | lite | off): an
SRC that offers ICE (ice_peer.IcePeer in the media namespace of the veth pair) gets
rtprec's credentials and candidates in the answer; its checks are answered (or
refused) by rtprec, rtprec's own checks reach it, a pair is nominated, and media is
then taken from the selected pair's address only. Role conflicts follow the
tie-breaker (RFC 8445 7.3.1.1)."""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import DP_ADDR, NS_ADDR, sh
from ice_peer import IcePeer, ICE_CHARS, ice_lines, split_priority
from rtp_send import SRC_PORT0
from sip_uac import Uac
from test_siprec import SDP as PLAIN_SDP, session_dirs, start_srs, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                                reason="needs root and iproute2")

HERE = Path(__file__).resolve().parent
PY = "/usr/bin/python3"
TYPE_PREF = {"host": 126, "srflx": 100, "prflx": 110, "relay": 0}


# ---------------------------------------------------------------- helpers (also for tests/nat)
def srs(start_rtprec, tmp_path, v, ice=None, media_extra=""):
    """rtprec on the veth pair; ice: the nat.ice value (None: the default)."""
    nat = f"nat:\n  ice: {ice}\n" if ice else ""
    return start_srs(start_rtprec, tmp_path, v, media_extra=media_extra + nat)


def offer_call(sip_port, peer):
    """INVITE with the peer's offer, ACKed; the peer learns the answer.
    Returns (uac, answer SDP text, [Media])."""
    uac = Uac(sip_port)
    code, resp = uac.invite(peer.offer())
    assert code == 200, resp
    body = resp.split("\r\n\r\n", 1)[1]
    return uac, body, peer.set_answer(body)


def ice_stats(r):
    lines = r.stats().by_type("ice")
    return lines[0] if lines else {}


def wait_completed(r, n=1, timeout=10.0):
    ok = wait_for(lambda: ice_stats(r).get("completed", 0) >= n, timeout)
    assert ok, f"ice stats {ice_stats(r)} (want {n} completed)\n{r.diag()}"


def end_call(r, uac, tmp_path):
    """BYE, session.json, rtprec stopped: (session, final Stats)."""
    assert uac.bye() == 200
    uac.close()
    assert wait_for(lambda: session_dirs(tmp_path) and
                    os.path.exists(session_dirs(tmp_path)[0] + "/session.json")), r.diag()
    d = session_dirs(tmp_path)[0]
    _, final = r.stop()
    return json.load(open(d + "/session.json")), final, d


def rtp_rows(pcap, port):
    """(source ip, source port, RTP seq) of each packet to UDP port `port` in a pcap."""
    out = subprocess.run(["tshark", "-n", "-r", pcap, "-d", f"udp.port=={port},rtp",
                          "-Y", f"udp.dstport=={port} && rtp", "-T", "fields",
                          "-e", "ip.src", "-e", "udp.srcport", "-e", "rtp.seq"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [(a, int(p), int(s)) for a, p, s in (l.split("\t") for l in out.stdout.split("\n") if l)]


def assert_answer_ice(media, ip, rtcp_mux, srflx=None):
    """Per m= line: rtprec's ufrag (8) and pwd (24) of ice-chars, a host candidate per
    component (2 at port+1 unless rtcp-mux) with RFC 8445 priorities, and a
    server-reflexive one per component when srflx (the external ip) is given."""
    for m in media:
        assert m.ufrag and len(m.ufrag) == 8 and set(m.ufrag) <= set(ICE_CHARS), m.lines
        assert m.pwd and len(m.pwd) == 24 and set(m.pwd) <= set(ICE_CHARS), m.lines
        comps = (1,) if rtcp_mux else (1, 2)
        hosts = sorted((c for c in m.cands if c.typ == "host"), key=lambda c: c.component)
        assert [(c.component, c.ip, c.port) for c in hosts] == [
            (k, ip, m.port + k - 1) for k in comps], m.lines
        want = {"host"} | ({"srflx"} if srflx else set())
        assert {c.typ for c in m.cands} == want, m.lines
        for c in m.cands:
            assert c.transport.upper() == "UDP", c
            tpref, lpref, comp = split_priority(c.priority)
            assert (tpref, comp) == (TYPE_PREF[c.typ], c.component) and 0 <= lpref <= 65535, c
        for c in (c for c in m.cands if c.typ == "srflx"):
            host = next(h for h in hosts if h.component == c.component)
            assert c.ip == srflx and (c.raddr, c.rport) == (host.ip, host.port), c


# ---------------------------------------------------------------- (a) the answer
@pytest.mark.parametrize("ice,offer", [(None, "ice"), ("full", "ice no rtcp-mux"), ("lite", "ice"),
                                       ("off", "ice"), (None, "no ice")])
def test_answer(start_rtprec, tmp_path, veth_ns, ice, offer):
    """A two-stream offer with ICE gets rtprec's ICE lines per m= line (a=ice-lite at
    session level with nat.ice lite); with nat.ice off or an offer without ICE the
    answer has none and rtprec sends no checks."""
    r, port = srs(start_rtprec, tmp_path, veth_ns, ice)
    rtcp_mux = offer != "ice no rtcp-mux"
    peer = IcePeer(NS_ADDR, [SRC_PORT0, SRC_PORT0 + 2], ns=veth_ns["ns"], rtcp_mux=rtcp_mux)
    try:
        uac = Uac(port)
        code, resp = uac.invite(PLAIN_SDP if offer == "no ice" else peer.offer())
        assert code == 200, resp
        body = resp.split("\r\n\r\n", 1)[1]
        if ice == "off" or offer == "no ice":
            assert ice_lines(body) == [], body
            time.sleep(1.0)
            assert peer.requests_from() == [], peer.requests_from()
        else:
            media = peer.set_answer(body)
            assert len(media) == 2 and all(m.port for m in media), body
            assert_answer_ice(media, DP_ADDR, rtcp_mux)
            head, rest = body.split("\r\nm=", 1)
            assert ("a=ice-lite" in head.split("\r\n")) == (ice == "lite"), body
            assert "a=ice-lite" not in rest, body  # session level only
        uac.bye()
        uac.close()
    finally:
        peer.close()


# ---------------------------------------------------------------- (b) checks answered
@pytest.mark.parametrize("ice", ["full", "lite"])
def test_checks_answered_and_refused(start_rtprec, tmp_path, veth_ns, ice):
    r, port = srs(start_rtprec, tmp_path, veth_ns, ice)
    peer = IcePeer(NS_ADDR, [SRC_PORT0], ns=veth_ns["ns"])
    try:
        uac, body, (m,) = offer_call(port, peer)
        dst = (DP_ADDR, m.port)
        t = peer.pump([peer.start_check(0, 1, dst)], 3.0)[0]
        resp = t.resp
        assert resp is not None and resp.cls == "success", (resp, body)
        assert t.resp_src == dst, t.resp_src  # symmetric: from the port we sent to
        assert resp.integrity_ok(m.pwd), "MESSAGE-INTEGRITY does not verify with the answer's pwd"
        assert resp.fingerprint_ok()
        assert resp.xor_mapped == (NS_ADDR, SRC_PORT0)
        refusals = {
            "wrong ufrag": dict(username=f"{'X' * 8}:{peer.ufrag}"),
            "bad integrity": dict(key="W" * 24),
            "no username": dict(username=None),
        }
        got = {k: peer.check(0, 1, dst, **kw) for k, kw in refusals.items()}
        assert {k: v.error[0] if v is not None and v.error else v for k, v in got.items()} == {
            "wrong ufrag": 401, "bad integrity": 401, "no username": 400}, got
        assert peer.check(0, 1, dst, fingerprint=False, timeout=1.0) is None  # ignored
        if ice == "lite":  # a lite agent sends no checks
            time.sleep(1.0)
            assert peer.requests_from() == [], peer.requests_from()
        else:  # rtprec's checks: "<peer ufrag>:<rtprec ufrag>", MI with the peer's pwd
            assert peer.wait(lambda: any(s.answer == 200 for s in peer.requests), 5), peer.requests
            for s in peer.requests_from():
                assert s.src == dst and s.answer == 200, s
                assert s.msg.username == f"{peer.ufrag}:{m.ufrag}", s.msg.username
                assert s.msg.role[0] == "controlled" and s.msg.priority, s.msg
        st = ice_stats(r)
        assert st.get("requests_answered", 0) >= 1 and st.get("requests_refused", 0) >= 3, st
        uac.bye()
        uac.close()
    finally:
        peer.close()


# ---------------------------------------------------------------- (c) nomination, media
def send_rtp_ns(v, dst, port, count, seq0, anyport=False):
    """rtp_send.py from the namespace: one stream from NS_ADDR:SRC_PORT0 (or an
    ephemeral port with anyport)."""
    sh(["ip", "netns", "exec", v["ns"], PY, str(HERE / "rtp_send.py"), dst, str(port), str(port),
        str(count), str(seq0), "first"] + (["anyport"] if anyport else []), timeout=30)


@pytest.mark.parametrize("ice,rtcp_mux", [("full", True), ("full", False), ("lite", True)])
def test_nomination_and_media_from_selected_pair(start_rtprec, tmp_path, veth_ns, ice, rtcp_mux):
    """The peer (full, controlling) checks rtprec's candidates and nominates; rtprec
    (controlled; full: checking the peer too, lite: only answering) completes; RTP from
    the selected pair's address is recorded, from another source port it is not."""
    r, port = srs(start_rtprec, tmp_path, veth_ns, ice)
    peer = IcePeer(NS_ADDR, [SRC_PORT0], ns=veth_ns["ns"], rtcp_mux=rtcp_mux)
    try:
        uac, body, (m,) = offer_call(port, peer)
        sel = peer.connect(timeout=10)
        for comp in peer.comps:
            s = sel[(0, comp)]
            assert s["addr"] == (DP_ADDR, m.port + comp - 1) and s["typ"] == "host", s
            assert s["mapped"] == (NS_ADDR, SRC_PORT0 + comp - 1)
        wait_completed(r)
        mine = [s for s in peer.requests_from() if s.answer == 200]
        if ice == "full":  # rtprec checked the peer's candidates as the controlled agent
            assert {s.comp for s in mine} == set(peer.comps), mine
            assert all(s.msg.role[0] == "controlled" and not s.msg.use_candidate for s in mine), mine
        else:
            assert peer.requests_from() == [], peer.requests_from()
    finally:
        peer.close()  # frees SRC_PORT0 for rtp_send.py
    # drops from here on (net_af_packet also takes what other interfaces carried
    # before its socket was bound, e.g. loopback traffic, as no_flow at start-up)
    before = r.stats().worker_drops()
    send_rtp_ns(veth_ns, DP_ADDR, m.port, 50, 1)
    send_rtp_ns(veth_ns, DP_ADDR, m.port, 30, 51, anyport=True)  # another source port
    time.sleep(0.3)
    sess, final, d = end_call(r, uac, tmp_path)
    st = sess["streams"][0]
    info = st.get("ice")
    assert info, json.dumps(st, indent=1)
    assert (info["mode"], info["role"], info["state"]) == (ice, "controlled", "completed"), info
    assert info["selected"] == {"local": "host", "remote": "host", "ip": NS_ADDR, "port": SRC_PORT0}, info
    assert info["offered"]["host"] == len(peer.comps) and info["local"]["host"] == len(peer.comps), info
    assert info["nomination_ms"] is not None and info["consent_lost"] is False, info
    assert (info["checks_sent"] >= len(peer.comps)) == (ice == "full"), info
    assert info["requests_answered"] >= 2 * len(peer.comps), info
    assert st["packets"] == 50, json.dumps(st, indent=1)
    rows = rtp_rows(d + "/media.pcap", st["local_port"])
    assert rows == [(NS_ADDR, SRC_PORT0, s) for s in range(1, 51)], rows[:3] + rows[-3:]
    line = final.by_type("ice")[0]
    assert line["agents"] == 1 and line["completed"] == 1 and line["failed"] == 0, line
    drops = {k: v - before.get(k, 0) for k, v in final.worker_drops().items() if v != before.get(k, 0)}
    assert drops.get("latch_other", 0) + drops.get("no_flow", 0) == 30, drops  # the other source's


def test_lite_peer_rtprec_nominates(start_rtprec, tmp_path, veth_ns):
    """The offer has a=ice-lite: rtprec (full) is controlling and nominates with
    USE-CANDIDATE; the media then flows from the peer's own socket."""
    r, port = srs(start_rtprec, tmp_path, veth_ns)
    peer = IcePeer(NS_ADDR, [SRC_PORT0], ns=veth_ns["ns"], lite=True)
    try:
        uac, body, (m,) = offer_call(port, peer)
        sel = peer.connect(timeout=10)[(0, 1)]
        assert sel["addr"] == (DP_ADDR, m.port) and sel["typ"] == "host", sel
        reqs = [s for s in peer.requests_from() if s.answer == 200]
        assert all(s.msg.role[0] == "controlling" for s in reqs), reqs
        assert any(s.msg.use_candidate for s in reqs), reqs
        wait_completed(r)
        peer.send_rtp(0, 40)
        time.sleep(0.3)
    finally:
        peer.close()
    sess, _, d = end_call(r, uac, tmp_path)
    st = sess["streams"][0]
    assert (st["ice"]["role"], st["ice"]["state"]) == ("controlling", "completed"), st["ice"]
    assert st["packets"] == 40, json.dumps(st, indent=1)


# ---------------------------------------------------------------- (d) role conflict
@pytest.mark.parametrize("tiebreaker,want", [(0, "switch"), (2**64 - 1, 487)])
def test_role_conflict(start_rtprec, tmp_path, veth_ns, tiebreaker, want):
    """Both sides claim controlled (RFC 8445 7.3.1.1): rtprec, controlled, switches to
    controlling when its tie-breaker is >= the request's (always, against 0), and
    answers 487 when it is smaller (always, against 2^64-1)."""
    r, port = srs(start_rtprec, tmp_path, veth_ns)
    peer = IcePeer(NS_ADDR, [SRC_PORT0], ns=veth_ns["ns"], tiebreaker=tiebreaker)
    try:
        uac, body, (m,) = offer_call(port, peer)
        peer.controlling = want == 487  # claims controlled; keeps it when rtprec switches
        peer.conflicts = False  # rtprec's checks in flight get no 487 from the peer
        resp = peer.check(0, 1, (DP_ADDR, m.port), controlling=False)
        assert resp is not None, "no answer to the check"
        if want == 487:
            assert resp.cls == "error" and resp.error[0] == 487, resp.error
            assert resp.fingerprint_ok()
            # rtprec stays controlled: its checks after the conflict still say so
            n = len(peer.requests_from())
            peer.wait(lambda: len(peer.requests) > n, 3)
            assert all(s.msg.role[0] == "controlled" for s in peer.requests_from()[n:])
        else:
            assert resp.cls == "success" and resp.integrity_ok(m.pwd), resp
            peer.wait_nominated(10)  # rtprec now controls and nominates
            later = [s for s in peer.requests_from() if s.msg.use_candidate]
            assert later and all(s.msg.role[0] == "controlling" for s in later), later
            wait_completed(r)
    finally:
        peer.close()
    sess, _, _ = end_call(r, uac, tmp_path)
    assert sess["streams"][0]["ice"]["role"] == ("controlled" if want == 487 else "controlling"), \
        sess["streams"][0]["ice"]


# ---------------------------------------------------------------- (e) consent
def test_consent_checks_on_selected_pair(start_rtprec, tmp_path, veth_ns):
    """RFC 7675: after nomination rtprec keeps checking the selected pair, every ~5 s
    (4..6 s), authenticated like its connectivity checks."""
    r, port = srs(start_rtprec, tmp_path, veth_ns)
    peer = IcePeer(NS_ADDR, [SRC_PORT0], ns=veth_ns["ns"])
    try:
        uac, body, (m,) = offer_call(port, peer)
        peer.connect(timeout=10)
        wait_completed(r)
        t0, n = time.monotonic(), len(peer.requests_from())
        assert peer.wait(lambda: len(peer.requests) > n, 8), "no consent check within 8 s"
        took = time.monotonic() - t0
        s = peer.requests_from()[n]
        assert took <= 7.0, took
        assert s.src == (DP_ADDR, m.port) and s.answer == 200, s
        assert s.msg.username == f"{peer.ufrag}:{m.ufrag}" and not s.msg.use_candidate, s.msg
        uac.bye()
        uac.close()
    finally:
        peer.close()


def test_consent_lost(start_rtprec, tmp_path, veth_ns):
    """RFC 7675 with nat.ice_consent_timeout_s: 8: once the peer stops answering rtprec's
    consent checks, consent is lost no sooner than 8 s after the last answer and no later
    than a few checks after that; the ice line counts it and session.json has the stream's
    ICE failed with consent_lost."""
    r, port = start_srs(start_rtprec, tmp_path, veth_ns,
                        media_extra="nat:\n  ice_consent_timeout_s: 8\n")
    peer = IcePeer(NS_ADDR, [SRC_PORT0], ns=veth_ns["ns"])
    try:
        uac, body, (m,) = offer_call(port, peer)
        peer.connect(timeout=10)
        wait_completed(r)
        # the last answer rtprec gets: to the next consent check
        n = len(peer.requests_from())
        assert peer.wait(lambda: len(peer.requests) > n, 8), "no consent check within 8 s"
        peer.answering = False
        t0 = time.monotonic()
        assert wait_for(lambda: ice_stats(r).get("consent_lost", 0) == 1, 20), ice_stats(r)
        took = time.monotonic() - t0
        assert 7.0 <= took <= 15.0, took
        # counted as consent lost, not as an ICE that never completed
        assert (ice_stats(r)["completed"], ice_stats(r)["failed"]) == (1, 0), ice_stats(r)
    finally:
        peer.close()
    sess, _, _ = end_call(r, uac, tmp_path)
    info = sess["streams"][0]["ice"]
    assert info["state"] == "failed" and info["consent_lost"] is True, info
