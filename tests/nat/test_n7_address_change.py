"""N7: the NAT's public address changes during a call (the router's outside address is
replaced). nat.recheck_s runs discovery again and sees it; with nat.reinvite_on_change
the call gets a re-INVITE carrying the new address (SIPp answers it), keepalives
(every nat.keepalive_s) open the port-restricted NAT again under the new address, and
the SRC's media, sent to the old address before and to the new one after, is all
recorded."""
from matrix import (DISCOVERY, Result, SippCall, check_recording, discovery, media, sdp_addresses,
                    sessions, start, wait_keepalives)
from nat_lab import ROUTER_OUT, NatLab

N = 30  # packets per stream before the change, and again after
NEW_OUT = "203.0.113.2"


def test_n7_address_change(start_rtprec, tmp_path):
    with NatLab("port-restricted") as lab:
        lab.start_coturn()
        cfg = dict(DISCOVERY, behaviour="no", recheck_s=5, reinvite_on_change="true",
                   keepalive="rtp", keepalive_s=1)
        r, sip_port = start(start_rtprec, tmp_path, lab, cfg)
        i, ev = discovery(r)
        assert ev["external_ip"] == ROUTER_OUT and ev["changes"] == 0, ev
        call = SippCall(sip_port, tmp_path)
        try:
            ip, ports = call.answer()
            assert ip == ROUTER_OUT
            wait_keepalives(r, 2)
            media(r, lab, lab.out, ip, ports, N)
            lab.change_outside(NEW_OUT)  # the old address's NAT mappings go with it
            ka = sessions(r.stats())["keepalives"]
            _, ev = discovery(r, start=i + 1, timeout=15)
            assert ev["external_ip"] == NEW_OUT and ev["changes"] == 1, ev
            ip2, ports2 = call.answer("reinvite", timeout=10)
            assert ip2 == NEW_OUT and ports2 == ports
            # a round of keepalives (both ports) after the change opens the NAT again
            wait_keepalives(r, ka + 2, timeout=5)
            media(r, lab, lab.out, ip2, ports2, N, seq0=N)
            call.go()
            call.finish()
        finally:
            call.kill()
        d, sess, st, counts = check_recording(r, tmp_path, 2 * N)
    res = Result(r=r, ip=ip, ports=ports, dir=d, sess=sess, st=st, counts=counts, sent=4 * N)
    res.check_streams(sdp_addresses())
    assert sessions(st)["reoffers"] == 1, sessions(st)
    res.report("N7", "external address change")
