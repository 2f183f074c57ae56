/* SPDX-License-Identifier: BSD-3-Clause
 * Frame classifier: Ethernet (+ up to two 802.1Q/802.1ad tags), ARP, IPv4
 * without options, UDP, ICMP. Never reads past the given length. */
#ifndef RTPREC_DP_PARSE_H
#define RTPREC_DP_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include "dp_drop.h"

enum dp_pkt_kind {
	DP_PKT_DROP = 0, /* *reason says why */
	DP_PKT_UDP4,
	DP_PKT_ARP,      /* well-formed Ethernet/IPv4 ARP, l3_off points at it */
	DP_PKT_ICMP4,    /* IPv4 ICMP, l4_off/l4_len at the ICMP message (>= 8 bytes) */
};

struct dp_parsed {
	uint16_t l3_off;   /* IPv4 or ARP header offset in the frame */
	uint16_t l4_off;   /* UDP or ICMP header offset */
	uint16_t l4_len;   /* UDP: the UDP length field (validated); ICMP: IP payload length */
	uint16_t ip_len;   /* IPv4 total length */
	/* network byte order, copied out of the headers */
	uint32_t src_ip;
	uint32_t dst_ip;
	uint16_t src_port; /* UDP only */
	uint16_t dst_port; /* UDP only */
};

#define DP_ETHERTYPE_VLAN 0x8100u /* 802.1Q */
#define DP_ETHERTYPE_QINQ 0x88a8u /* 802.1ad */
#define DP_VLAN_HLEN 4u

static inline bool dp_is_vlan_tpid(uint16_t et)
{
	return et == DP_ETHERTYPE_VLAN || et == DP_ETHERTYPE_QINQ;
}

/* The VLAN id of a frame's outer tag, 0 untagged (or priority-tagged). The frame
 * holds 14 bytes, 18 when tagged: any frame dp_parse did not drop does. */
static inline uint16_t dp_frame_vlan(const uint8_t *frame)
{
	if (!dp_is_vlan_tpid((uint16_t)(frame[12] << 8 | frame[13])))
		return 0;
	return (uint16_t)((frame[14] << 8 | frame[15]) & 0x0fffu);
}

/* What dp_parse and the per-packet path after it (UDP, STUN or RTP header) read at
 * most: a chained frame whose first segment holds that much is parsed whole. */
#define DP_PARSE_CONTIG 64u

/* Classify a frame of len bytes, of which the first min(len, DP_PARSE_CONTIG) are
 * contiguous (dp_parse reads no further: 50 bytes at most). */
enum dp_pkt_kind dp_parse(const uint8_t *frame, uint32_t len, struct dp_parsed *out,
			  enum dp_drop *reason);

#endif
