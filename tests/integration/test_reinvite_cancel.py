"""CANCEL of a re-INVITE still waiting for its answer (RFC 3261 9.2): the CANCEL gets
200, the re-INVITE 487, and the dialog stays up. A re-INVITE waits in rtprec while the
media ports of its new streams get TURN relays (nat.relay, cp_sess_map_ports): here
with nat.relay: always and a real coturn that is stopped (SIGSTOP) while the SRC adds
a stream (and pauses the first), so the allocation, and the answer, wait until the CANCEL
has come. The session then goes back to the offer/answer before the re-INVITE: the new
stream's relay is released, its port back in the pool, the first stream recorded again,
and the SRC's previous offer is taken again."""
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import NS_ADDR
from sip_uac import Uac
from test_pause import answer_dirs, answer_ports, offer
from test_siprec import session_dirs, start_srs, wait_for
from test_turn_relay import Turn, turn_entry

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("turnserver") or not shutil.which("ip"),
    reason="needs root, iproute2 and coturn")

TURN_PORT = 3478


class VethLab:
    """What test_turn_relay.Turn needs of a lab: coturn runs in the veth_ns namespace."""

    def __init__(self, ns):
        self.out = ns

    def nsx(self, ns, *cmd, timeout=20):
        return subprocess.run(["ip", "netns", "exec", ns, *cmd], capture_output=True,
                              text=True, timeout=timeout)


def send_reinvite(uac, sdp):
    """An in-dialog INVITE (no wait for its answer); its text."""
    body = sdp.replace("\r\n", "\n").replace("\n", "\r\n")
    text = (uac._head("INVITE") + f"Contact: <sip:src@127.0.0.1:{uac.lport}>;+sip.src\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}")
    uac.s.sendto(text.encode(), ("127.0.0.1", uac.port))
    return text


def same_txn(req, method):
    """CANCEL (or the ACK of a non-2xx) of the in-dialog INVITE req: its Via (branch),
    From, To, Call-ID and CSeq number (RFC 3261 9.1, 17.1.1.3)."""
    head = req.split("\r\n\r\n", 1)[0].split("\r\n")
    keep = [h for h in head[1:] if re.match(r"(Via|From|To|Call-ID|Max-Forwards):", h, re.I)]
    cseq = re.search(r"^CSeq: *(\d+)", req, re.M | re.I).group(1)
    return (f"{method} {head[0].split()[1]} SIP/2.0\r\n" + "\r\n".join(keep) +
            f"\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n")


def answers(uac, wait):
    """(status, CSeq method) of every response within wait seconds."""
    out, end = [], time.monotonic() + wait
    uac.s.settimeout(0.1)
    while time.monotonic() < end:
        try:
            msg = uac.s.recv(65535).decode(errors="replace")
        except OSError:
            continue
        m = re.search(r"^CSeq: *\d+ (\w+)", msg, re.M | re.I)
        if msg.startswith("SIP/2.0 ") and m:
            out.append((int(msg.split(" ", 2)[1]), m.group(1)))
    uac.s.settimeout(5.0)
    return out


@pytest.mark.timeout_s(120)
def test_cancel_pending_reinvite(start_rtprec, tmp_path, veth_ns):
    lab = VethLab(veth_ns["ns"])
    turn = Turn(lab, [NS_ADDR], TURN_PORT, NS_ADDR)
    try:
        r, port = start_srs(start_rtprec, tmp_path, veth_ns,
                            media_extra="nat:\n  relay: always\n  stun_rto_ms: 100\n  turn:\n"
                            + turn_entry(NS_ADDR, TURN_PORT))
        uac = Uac(port)
        one = offer(1, "sendonly", "sendonly").split("m=audio 40002")[0]
        two = offer(2, "inactive", "sendonly")  # pauses stream 1, adds stream 2
        code, resp = uac.invite(one)
        assert code == 200, resp + r.diag()
        assert f"c=IN IP4 {NS_ADDR}" in resp, resp  # relayed by coturn
        ports = answer_ports(resp)
        free_before = r.stats().by_type("sessions")[-1]["free_media_ports"]

        os.kill(turn.p.pid, signal.SIGSTOP)  # the new stream's allocation waits
        reinv = send_reinvite(uac, two)
        got = answers(uac, 1.0)
        assert got == [(100, "INVITE")], got  # pending: no final answer
        uac.s.sendto(same_txn(reinv, "CANCEL").encode(), ("127.0.0.1", port))
        got = answers(uac, 1.0)
        assert (200, "CANCEL") in got and (487, "INVITE") in got, got + [r.diag()]
        cancelled = time.time()
        uac.s.sendto(same_txn(reinv, "ACK").encode(), ("127.0.0.1", port))
        os.kill(turn.p.pid, signal.SIGCONT)  # the released allocation: nothing comes of it
        got = answers(uac, 2.0)
        assert not [a for a in got if a[1] == "INVITE" and a[0] != 487], got

        # the SRC's previous offer/answer stands: offering it again is taken at once (no
        # 488 for a "removed" m= line, no 500 for a request still at work), answered as
        # before (the first stream's relayed port), nothing allocated for it
        code, resp = uac.update(one, method="INVITE")
        assert code == 200, resp + r.diag()
        assert answer_ports(resp) == ports and answer_dirs(resp) == ["recvonly"], resp
        # the new stream given back: its port in the pool again once its relay's release
        # is done, the relay started for it counted, none since
        assert wait_for(lambda: r.stats().by_type("sessions")[-1]["free_media_ports"]
                        == free_before, 15), r.stats().by_type("sessions")[-1]
        nat = r.stats().by_type("nat")[-1]
        assert nat["relays"] == 2, nat
        code, resp = uac.update()  # a refresh (UPDATE without an offer)
        assert code == 200, resp + r.diag()
        assert uac.bye() == 200
        stats = r.stop()[1]
        sessions = stats.by_type("sessions")[0]
        assert sessions["total"] == 1 and sessions["active"] == 0, sessions
        assert wait_for(lambda: session_dirs(tmp_path) and
                        os.path.exists(session_dirs(tmp_path)[0] + "/session.json"))
        sess = json.load(open(session_dirs(tmp_path)[0] + "/session.json"))
        assert sess["end_reason"] == "bye", sess["end_reason"]
        assert [s["label"] for s in sess["streams"]] == ["1"], sess["streams"]
        # the cancelled pause was undone at the CANCEL, not by the later re-INVITE
        (pause,) = sess["streams"][0]["pauses"]
        end = datetime.datetime.strptime(pause["end"], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert end.replace(tzinfo=datetime.timezone.utc).timestamp() < cancelled + 0.5, pause
        uac.close()
    finally:
        os.kill(turn.p.pid, signal.SIGCONT)
        turn.stop()
