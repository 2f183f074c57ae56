"""N8: an SRC offering ICE (RFC 8445). rtprec is behind a port-restricted cone NAT and
learns its public address by STUN (coturn), so its answer carries a host and a
server-reflexive candidate per stream. The SRC (ice_peer.IcePeer, full and
controlling, in the lab's outside namespace) checks both: the host one is not
reachable from outside, the srflx one gets through once rtprec's own checks toward
the SRC's candidate have opened the NAT's pinhole (keepalives are off, so only ICE
opens it). The SRC nominates, sends RTP on two streams from its nominated ports,
and every packet must be in the recording."""

from ice_peer import IcePeer
from matrix import DISCOVERY, SDP_PORTS, check_counts, discovery, ice_media_bye, report, start
from nat_lab import INSIDE_DP, ROUTER_OUT, SRC_IP, NatLab
from sip_uac import Uac
from test_ice import assert_answer_ice

N = 100


def test_n8_ice(start_rtprec, tmp_path):
    with NatLab("port-restricted") as lab:
        lab.start_coturn()
        r, sip_port = start(start_rtprec, tmp_path, lab, dict(DISCOVERY, keepalive="off"))
        _, ev = discovery(r)
        assert ev["external_ip"] == ROUTER_OUT and ev["mapping"] == "endpoint-independent", ev
        peer = IcePeer(SRC_IP, list(SDP_PORTS), ns=lab.out)
        uac = Uac(sip_port)
        try:
            code, resp = uac.invite(peer.offer())
            assert code == 200, resp
            media = peer.set_answer(resp.split("\r\n\r\n", 1)[1])
            assert len(media) == 2, resp
            assert_answer_ice(media, INSIDE_DP, rtcp_mux=True, srflx=ROUTER_OUT)
            # rtprec's checks first: each opens the NAT's pinhole for its port. Had the
            # SRC's check to a port reached the NAT first, conntrack would hold that
            # tuple and masquerade would give rtprec's check another port, which the SRC
            # then finds as a peer-reflexive candidate (its triggered check) instead
            assert peer.wait(lambda: {s.stream for s in peer.requests if s.answer == 200} == {0, 1}, 5), \
                f"rtprec's checks did not come through: {peer.requests_from()}\n{r.diag()}"
            sel = peer.connect(timeout=20)
            for i, m in enumerate(media):
                s = sel[(i, 1)]
                assert s["typ"] == "srflx" and s["addr"] == (ROUTER_OUT, m.port), s
                assert s["mapped"] == (SRC_IP, SDP_PORTS[i]), s  # no NAT on the SRC's side
            # rtprec's checks came through the NAT from its srflx address
            srcs = {s.src for s in peer.requests_from() if s.answer == 200}
            assert srcs >= {(ROUTER_OUT, m.port) for m in media}, srcs
            ice_media_bye(r, lab, uac, peer, ROUTER_OUT, media, N)
        finally:
            peer.close()
            uac.close()
        _, sess, st, counts = check_counts(r, tmp_path, N)
        types = set()
        for s, sdp_port in zip(sess["streams"], SDP_PORTS):
            ice = s["ice"]
            assert (ice["mode"], ice["role"], ice["state"]) == ("full", "controlled", "completed"), ice
            assert ice["local"]["host"] == 1 and ice["local"]["srflx"] == 1, ice
            sel = ice["selected"]
            # the valid pair's local candidate is the one the SRC's answer mapped to
            # (RFC 8445 7.2.5.3.2): rtprec's srflx
            assert sel["local"] == "srflx" and sel["remote"] == "host", ice
            assert (sel["ip"], sel["port"]) == (SRC_IP, sdp_port), ice
            assert s["latched"] == {"ip": SRC_IP, "port": sdp_port}, s
            types.add(sel["local"])
        assert st.by_type("sessions")[0].get("keepalives", 0) == 0  # ICE alone opened the NAT
        report("N8", "ICE", sum(counts), 2 * N, "ice " + "/".join(sorted(types)))
