"""N4: rtprec behind a symmetric NAT (masquerade fully-random: a new mapping per
destination), where no mapping the SRC could be told about lets its media in. With
nat.turn and nat.relay: auto, each media port allocates a TURN relay on coturn through
the dataplane; the answer carries the relayed addresses, and the workers unwrap the
relay's ChannelData into the SRC's own packets."""
from matrix import behind_nat, sdp_addresses
from nat_lab import STUN_IP

APD = "address-and-port-dependent"


def test_n4_symmetric_turn(start_rtprec, tmp_path):
    res = behind_nat(start_rtprec, tmp_path, "symmetric", (APD, APD), nat={"relay": "auto"},
                     turn=True, answer=STUN_IP)  # coturn's relay address
    # latched: the SRC's own address, not the relay's
    res.check_streams(sdp_addresses(), relays=[{"ip": STUN_IP, "port": p} for p in res.ports])
    nat = res.st.by_type("nat")[0]
    assert nat["relays"] == 2 and nat["relays_failed"] == 0, nat
    assert nat["relay_packets"] >= res.sent, nat
    res.report("N4", "symmetric NAT")
