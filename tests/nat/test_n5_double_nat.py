"""N5: rtprec behind two NATs in a chain (both port-restricted masquerade: inside ->
router 1 -> 100.64.0.0/24 -> router 2 -> outside). STUN finds the outermost address
(not router 1's 100.64.0.2), RFC 5780 sees the two as one port-restricted cone, and the
keepalives open both."""
from matrix import behind_nat, sdp_addresses


def test_n5_double_nat(start_rtprec, tmp_path):
    res = behind_nat(start_rtprec, tmp_path, "double",
                     ("endpoint-independent", "address-and-port-dependent"), keepalives=2)
    res.check_streams(sdp_addresses())
    res.report("N5", "double NAT")
