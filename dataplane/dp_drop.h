/* SPDX-License-Identifier: BSD-3-Clause
 * Drop reasons: one X-macro gives the enum and the names used in counters. */
#ifndef RTPREC_DP_DROP_H
#define RTPREC_DP_DROP_H

#define DP_DROP_REASONS(X) \
	X(ETH_TRUNCATED, "eth_truncated") \
	X(VLAN_TRUNCATED, "vlan_truncated") \
	X(VLAN_OTHER, "vlan_other") \
	X(NOT_IPV4, "not_ipv4") \
	X(IP_TRUNCATED, "ip_truncated") \
	X(IP_BAD_VERSION, "ip_bad_version") \
	X(IP_BAD_IHL, "ip_bad_ihl") \
	X(IP_OPTIONS, "ip_options") \
	X(IP_BAD_LENGTH, "ip_bad_length") \
	X(IP_FRAGMENT, "ip_fragment") \
	X(NOT_UDP, "not_udp") \
	X(UDP_TRUNCATED, "udp_truncated") \
	X(UDP_BAD_LENGTH, "udp_bad_length") \
	X(ARP_MALFORMED, "arp_malformed") \
	X(ARP_NOT_FOR_US, "arp_not_for_us") \
	X(ICMP_MALFORMED, "icmp_malformed") \
	X(ICMP_NOT_FOR_US, "icmp_not_for_us") \
	X(ICMP_UNHANDLED, "icmp_unhandled") \
	X(NO_FLOW, "no_flow") \
	X(FLOW_DROP, "flow_drop") \
	X(NEIGH_HOLD_FULL, "neigh_hold_full") \
	X(NEIGH_TIMEOUT, "neigh_timeout") \
	X(TX_FULL, "tx_full") \
	X(RECORD_RING_FULL, "record_ring_full") \
	X(RECORD_NO_MBUF, "record_no_mbuf") \
	X(EVENT_RING_FULL, "event_ring_full") \
	X(PACE_MISSED, "pace_missed") \
	X(PUNT_RING_FULL, "punt_ring_full") \
	X(TXREQ_BAD, "txreq_bad") \
	X(LATCH_OTHER, "latch_other") \
	X(TURN_BAD, "turn_bad") \
	X(VLAN_NO_HEADROOM, "vlan_no_headroom")

enum dp_drop {
#define DP_DROP_ENUM(sym, name) DP_DROP_##sym,
	DP_DROP_REASONS(DP_DROP_ENUM)
#undef DP_DROP_ENUM
	DP_DROP_MAX
};

/* Counter name of a reason ("no_flow"), or "unknown". */
const char *dp_drop_name(enum dp_drop d);

#endif
