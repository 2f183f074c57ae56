"""N6: the SRC behind its own NAT (masquerade) offers its private address in the SDP;
rtprec (routed, no NAT of its own, nat.behind_nat: no) answers with its address, and
each stream latches onto the NAT's public address the media comes from."""
from matrix import run_call, sdp_addresses, start
from nat_lab import INSIDE_DP, SRC_NAT_OUT, SRC_PRIV, NatLab


def test_n6_src_latching(start_rtprec, tmp_path):
    with NatLab("routed", src_nat=True) as lab:
        r, sip_port = start(start_rtprec, tmp_path, lab, {"behind_nat": "no"})
        res = run_call(r, tmp_path, lab, sip_port, 50, ns=lab.src, src_ip=SRC_PRIV,
                       bind=SRC_PRIV)
    assert res.ip == INSIDE_DP
    assert [s["negotiated"] for s in res.sess["streams"]] == sdp_addresses(SRC_PRIV)
    res.check_streams([SRC_NAT_OUT, SRC_NAT_OUT])
    res.report("N6", "SRC behind NAT")
