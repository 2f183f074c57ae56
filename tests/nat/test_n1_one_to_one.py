"""N1: rtprec behind a 1:1 NAT (static dnat + snat: endpoint-independent mapping and
filtering); the external address comes from STUN through the media port. No keepalive
is needed (nat.keepalive: off): the SRC's media goes straight to the answer."""
from matrix import behind_nat, sdp_addresses

EI = "endpoint-independent"


def test_n1_one_to_one(start_rtprec, tmp_path):
    res = behind_nat(start_rtprec, tmp_path, "one-to-one", (EI, EI), nat={"keepalive": "off"})
    res.check_streams(sdp_addresses())
    assert res.keepalives() == 0
    res.report("N1", "1:1 NAT")
