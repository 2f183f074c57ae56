"""N3: rtprec behind a port-restricted cone NAT (masquerade: endpoint-independent
mapping, address-and-port-dependent filtering). rtprec's keepalives (nat.keepalive: rtp,
the default) from each media port toward the SRC's SDP address and port open the
pinholes its media comes through (tests/integration/test_nat.py shows the NAT drops the
media without them)."""
from matrix import behind_nat, sdp_addresses


def test_n3_port_restricted(start_rtprec, tmp_path):
    res = behind_nat(start_rtprec, tmp_path, "port-restricted",
                     ("endpoint-independent", "address-and-port-dependent"), keepalives=2)
    res.check_streams(sdp_addresses())
    res.report("N3", "port-restricted cone NAT")
