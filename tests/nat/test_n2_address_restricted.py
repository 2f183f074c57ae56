"""N2: rtprec behind an address-restricted cone NAT (endpoint-independent mapping,
address-dependent filtering: new inbound UDP only from addresses rtprec has sent to).
rtprec's keepalives (nat.keepalive: rtp, the default) toward the SRC's SDP address open
it; the SRC then sends from other ports than its SDP's, which this NAT lets in (a
port-restricted one would not) and latching follows."""
from matrix import SDP_PORTS, behind_nat, sdp_addresses
from nat_lab import SRC_IP


def test_n2_address_restricted(start_rtprec, tmp_path):
    # rtprec's own RFC 5780 tests see what the lab's nft rules make
    res = behind_nat(start_rtprec, tmp_path, "address-restricted",
                     ("endpoint-independent", "address-dependent"), sports=(0, 0), keepalives=2)
    res.check_streams([SRC_IP, SRC_IP])
    assert [s["negotiated"] for s in res.sess["streams"]] == sdp_addresses()
    assert all(s["latched"]["port"] not in SDP_PORTS for s in res.sess["streams"]), res.sess
    res.report("N2", "address-restricted cone NAT")
