"""N9: ICE through a TURN relay. rtprec is behind a symmetric NAT (no mapping an SRC
could use), with nat.turn and nat.relay auto: each media port allocates a relay on
coturn and the answer carries, per stream, a host candidate and a relayed one (the
default in m=/c=). The router also drops whatever rtprec sends to the SRC directly (as
a NAT in front of the SRC would), so no peer-reflexive pair can form either. The SRC
(ice_peer.IcePeer, full and controlling) checks both candidates: the host one is
unreachable, the relayed one answers — its checks reach rtprec as
ChannelData that the workers unwrap and punt, and rtprec's answers and own checks go
back through the relay. The SRC nominates the relayed pair, its RTP is recorded, and
session.json says so."""

from ice_peer import IcePeer
from matrix import DISCOVERY, SDP_PORTS, check_counts, discovery, ice_media_bye, report, start
from nat_lab import INSIDE_DP, SRC_IP, STUN_IP, NatLab
from sip_uac import Uac

N = 100
APD = "address-and-port-dependent"


def test_n9_ice_turn(start_rtprec, tmp_path):
    with NatLab("symmetric") as lab:
        lab.start_coturn()
        r, sip_port = start(start_rtprec, tmp_path, lab,
                            dict(DISCOVERY, keepalive="off", relay="auto"), turn=True)
        _, ev = discovery(r)
        assert ev["mapping"] == APD, ev
        for rule in ("add table ip flt",
                     "add chain ip flt fw { type filter hook forward priority 0 ; }",
                     f"add rule ip flt fw ip daddr {SRC_IP} drop"):
            lab.nsx(lab.rt, "nft", rule)
        peer = IcePeer(SRC_IP, list(SDP_PORTS), ns=lab.out)
        uac = Uac(sip_port)
        try:
            code, resp = uac.invite(peer.offer())
            assert code == 200, resp + r.diag()
            media = peer.set_answer(resp.split("\r\n\r\n", 1)[1])
            assert len(media) == 2, resp
            for m in media:
                assert {c.typ for c in m.cands} == {"host", "relay"}, m.lines
                (rel,) = [c for c in m.cands if c.typ == "relay"]
                assert (rel.ip, rel.port) == (STUN_IP, m.port), m.lines  # the default
                (host,) = [c for c in m.cands if c.typ == "host"]
                assert host.ip == INSIDE_DP, m.lines
            try:
                sel = peer.connect(timeout=20)
            except AssertionError as e:
                st = r.stats()
                raise AssertionError(f"{e}\n{st.by_type('ice')}\n{st.by_type('nat')}\n"
                                     f"{st.workers}\n{r.diag()}")
            for i, m in enumerate(media):
                assert sel[(i, 1)]["typ"] == "relay", sel
            ice_media_bye(r, lab, uac, peer, STUN_IP, media, N)
        finally:
            peer.close()
            uac.close()
        _, sess, _, counts = check_counts(r, tmp_path, N)
        for s, sdp_port in zip(sess["streams"], SDP_PORTS):
            ice = s["ice"]
            assert ice["state"] == "completed" and ice["local"]["relay"] == 1, ice
            assert ice["selected"]["local"] == "relay", ice
            assert (ice["selected"]["ip"], ice["selected"]["port"]) == (SRC_IP, sdp_port), ice
            assert s["relay"]["ip"] == STUN_IP, s
        report("N9", "ICE via TURN", sum(counts), 2 * N, "ice relay " + STUN_IP)
