"""Self-checks of ice_peer.py, the tests' ICE agent: its STUN encoding against the
RFC 5769 test vectors (the copies in tests/unit/test_stun.c), and two peers on
127.0.0.1 running ICE against each other (no rtprec, no root)."""
import re
import struct
import threading

import pytest

from conftest import REPO
import ice_peer as ip
from ice_peer import IcePeer

PWD = "VOkJxbRl1RmTxUk/WvJxBt"  # RFC 5769 section 2's short-term password


def rfc5769(name):
    """A vector as bytes, from the C string literal `name` in tests/unit/test_stun.c."""
    text = re.sub(r"/\*.*?\*/", "", (REPO / "tests" / "unit" / "test_stun.c").read_text(), flags=re.S)
    m = re.search(rf"\b{name}\s*=((?:\s*\"[^\"]*\")+)\s*;", text)
    assert m, f"{name} not in test_stun.c"
    return bytes.fromhex("".join(re.findall(r"\"([^\"]*)\"", m.group(1))).replace(" ", ""))


TID = bytes.fromhex("b7e7a701bc34d686fa87dfae")


def test_rfc5769_request_encoded_byte_for_byte():
    vec = rfc5769("rfc_req")
    # the vector puts SOFTWARE first and USERNAME last, and pads with spaces
    got = ip.encode(ip.BINDING_REQUEST, TID, [
        (ip.SOFTWARE, b"STUN test client"), (ip.PRIORITY, struct.pack("!I", 0x6E0001FF)),
        (ip.ICE_CONTROLLED, struct.pack("!Q", 0x932FF9B151263B36)), (ip.USERNAME, b"evtj:h6vY")],
        key=PWD, pad=b" ")
    assert got == vec, f"\n{got.hex()}\n{vec.hex()}"


def test_rfc5769_request_decoded():
    m = ip.decode(rfc5769("rfc_req"))
    assert (m.cls, m.method, m.tid) == ("request", 1, TID)
    assert m.software == "STUN test client" and m.username == "evtj:h6vY"
    assert m.priority == 0x6E0001FF and m.role == ("controlled", 0x932FF9B151263B36)
    assert not m.use_candidate
    assert m.fingerprint_ok() and m.integrity_ok(PWD)
    assert not m.integrity_ok("VOkJxbRl1RmTxUk/WvJxBT")


def test_binding_request_builder_layout():
    tid, raw = ip.binding_request(username="a:b", key="k" * 22, priority=7, controlling=True,
                                  tiebreaker=3, use_candidate=True)
    m = ip.decode(raw)
    assert [t for t, _, _ in m.attrs] == [ip.USERNAME, ip.PRIORITY, ip.ICE_CONTROLLING, ip.USE_CANDIDATE,
                                          ip.MESSAGE_INTEGRITY, ip.FINGERPRINT]
    assert m.tid == tid and m.role == ("controlling", 3) and m.use_candidate
    assert m.integrity_ok("k" * 22) and m.fingerprint_ok()
    # without FINGERPRINT, without MI
    m = ip.decode(ip.binding_request(username="a:b", fingerprint=False)[1])
    assert not m.fingerprint_ok() and not m.integrity_ok("x")


@pytest.mark.parametrize("name,addr", [
    ("rfc_resp4", ("192.0.2.1", 32853)),
    ("rfc_resp6", ("2001:db8:1234:5678:11:2233:4455:6677", 32853)),
])
def test_rfc5769_responses(name, addr):
    vec = rfc5769(name)
    m = ip.decode(vec)
    assert (m.cls, m.method, m.tid) == ("success", 1, TID)
    assert m.software == "test vector" and m.xor_mapped == addr
    assert m.fingerprint_ok() and m.integrity_ok(PWD)
    got = ip.encode(ip.BINDING_SUCCESS, TID, [(ip.SOFTWARE, b"test vector"),
                                             (ip.XOR_MAPPED_ADDRESS, ip.xor_address(*addr, TID))],
                    key=PWD, pad=b" ")
    assert got == vec, f"\n{got.hex()}\n{vec.hex()}"


def test_corrupted_messages():
    vec = bytearray(rfc5769("rfc_resp4"))
    assert ip.decode(bytes(vec[:-1])) is None           # length mismatch
    assert ip.decode(b"\x80" + bytes(vec[1:])) is None  # RTP-looking first byte
    vec[-1] ^= 1
    m = ip.decode(bytes(vec))
    assert not m.fingerprint_ok() and m.integrity_ok(PWD)  # FP after MI: MI still verifies
    vec[30] ^= 1
    assert not ip.decode(bytes(vec)).integrity_ok(PWD)


def test_error_response():
    m = ip.decode(ip.binding_error(b"x" * 12, 487, key="p" * 22))
    assert m.cls == "error" and m.error == (487, "Role Conflict") and m.integrity_ok("p" * 22)
    assert ip.decode(ip.binding_error(b"x" * 12, 401)).error == (401, "Unauthenticated")


def test_priority_and_candidates():
    assert ip.priority("host", 1) == (126 << 24) + (65535 << 8) + 255
    assert ip.split_priority(ip.priority("srflx", 2, 7)) == (100, 7, 2)
    line = "a=candidate:S1 1 UDP 1694498815 203.0.113.1 30000 typ srflx raddr 10.1.0.2 rport 30000"
    c = ip.parse_candidate(line)
    assert (c.typ, c.ip, c.port, c.raddr, c.rport, c.component) == ("srflx", "203.0.113.1", 30000,
                                                                    "10.1.0.2", 30000, 1)
    assert "a=" + ip.format_candidate(c) == line
    with pytest.raises(ValueError):
        ip.parse_candidate("a=candidate:1 1 UDP 5 1.2.3.4 5")


def test_sdp_parse_inherits_session_level():
    sdp = ("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=ice-lite\r\n"
           "a=ice-ufrag:sessUfrg\r\na=ice-pwd:sessionpasswordsession12\r\n"
           "m=audio 4000 RTP/AVP 0\r\na=candidate:H1 1 UDP 2130706431 10.0.0.1 4000 typ host\r\n"
           "a=candidate:H1 2 UDP 2130706430 10.0.0.1 4001 typ host\r\n"
           "m=audio 4002 RTP/AVP 0\r\na=ice-ufrag:mediaUfr\r\na=ice-pwd:mediapasswordmedia123456\r\n"
           "a=rtcp-mux\r\na=candidate:H1 1 UDP 2130706431 10.0.0.1 4002 typ host\r\n")
    sess, (m1, m2) = ip.parse_sdp(sdp)
    assert sess["lite"] and m1.lite and m2.lite
    assert (m1.ufrag, m1.pwd, m1.rtcp_mux, len(m1.cands)) == ("sessUfrg", "sessionpasswordsession12", False, 2)
    assert (m2.ufrag, m2.pwd, m2.rtcp_mux, m2.port) == ("mediaUfr", "mediapasswordmedia123456", True, 4002)
    assert len(ip.ice_lines(sdp)) == 8
    assert ip.ice_lines("v=0\nm=audio 1 RTP/AVP 0\na=sendonly\n") == []


def pair(lite_b=False, tb_a=None, tb_b=None, controlling_b=False):
    a = IcePeer("127.0.0.1", [0], tiebreaker=tb_a)
    b = IcePeer("127.0.0.1", [0], lite=lite_b, controlling=controlling_b, tiebreaker=tb_b)
    a.set_answer(b.offer())
    b.set_answer(a.offer())
    return a, b


def run_both(a, b, timeout=5.0):
    res = {}
    t = threading.Thread(target=lambda: res.setdefault("b", b.connect(timeout)), daemon=True)
    t.start()
    sel_a = a.connect(timeout)
    t.join(timeout + 1)
    return sel_a, res.get("b")


@pytest.mark.parametrize("lite_b", [False, True])
def test_two_peers_on_loopback(lite_b):
    a, b = pair(lite_b=lite_b)
    try:
        sel_a, sel_b = run_both(a, b)
        assert sel_a[(0, 1)]["addr"] == b.local_addr(0) and sel_a[(0, 1)]["typ"] == "host"
        assert sel_a[(0, 1)]["mapped"] == a.local_addr(0)
        assert sel_b[(0, 1)]["addr"] == a.local_addr(0)
        # B's checks (full) reached A and were answered; a lite B sent none
        from_b = [s for s in a.requests_from() if s.answer == 200]
        assert bool(from_b) == (not lite_b)
        assert all(s.msg.role[0] == "controlled" for s in from_b)
        a.send_rtp(0, 20, pace=0)
        assert b.wait(lambda: len(b.media) == 20, 3), len(b.media)
        assert all(src == a.local_addr(0) for _, _, src, _ in b.media)
    finally:
        a.close()
        b.close()


def test_refusals_by_the_peer():
    a, b = pair()
    try:
        dst = b.local_addr(0)
        assert a.check(0, 1, dst, username=f"wrong:{a.ufrag}").error[0] == 401
        assert a.check(0, 1, dst, key="x" * 22).error[0] == 401
        assert a.check(0, 1, dst, username=None).error[0] == 400
        assert a.check(0, 1, dst, fingerprint=False, timeout=0.5) is None  # ignored
        r = a.check(0, 1, dst)
        assert r.cls == "success" and r.integrity_ok(b.pwd) and r.fingerprint_ok()
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("tb_a,tb_b,want", [(9, 1, "switch"), (1, 9, 487)])
def test_role_conflict_both_controlling(tb_a, tb_b, want):
    a, b = pair(tb_a=tb_a, tb_b=tb_b, controlling_b=True)
    try:
        r = a.check(0, 1, b.local_addr(0))
        if want == 487:
            assert r.error[0] == 487 and b.controlling and b.role_switches == 0
        else:
            assert r.cls == "success" and not b.controlling and b.role_switches == 1
    finally:
        a.close()
        b.close()


def test_triggered_check_finds_peer_reflexive():
    """The controlling side's view of the other's candidate is wrong (a NAT moved the
    port): the other's check arrives from the real address, which becomes a
    peer-reflexive candidate, checked (triggered) and nominated."""
    a = IcePeer("127.0.0.1", [0])                     # controlling
    b = IcePeer("127.0.0.1", [0], controlling=False)  # full, controlled
    try:
        a.set_answer(b.offer().replace(f" {b.local_addr(0)[1]} typ host", " 9 typ host"))
        b.set_answer(a.offer())
        sel_a, sel_b = run_both(a, b)
        assert sel_a[(0, 1)]["typ"] == "prflx" and sel_a[(0, 1)]["addr"] == b.local_addr(0), sel_a
        assert sel_b[(0, 1)]["addr"] == a.local_addr(0), sel_b
    finally:
        a.close()
        b.close()
