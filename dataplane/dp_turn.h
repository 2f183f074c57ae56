/* SPDX-License-Identifier: BSD-3-Clause
 * TURN ChannelData (RFC 8656 section 12.4) and Data indications (11.4, what a relay
 * sends for a peer with a permission but no channel) from a relay, unwrapped at line
 * rate into the datagram the peer sent, so the flow table, the RTP stats and the
 * recording see the peer's packet and not the TURN framing. No DPDK state: frames are
 * byte arrays. */
#ifndef RTPREC_DP_TURN_H
#define RTPREC_DP_TURN_H

#include <stdint.h>

#include "dp_parse.h"

#define DP_TURN_CHANNELS 4  /* bound channels per TURN flow (peers of one media port) */
#define DP_TURN_HDR 4       /* ChannelData header: channel number, length */

/* One bound channel: number (host order, 0x4000..0x4FFF; 0 = free slot) and the peer
 * it stands for (network order). */
struct dp_turn_chan {
	uint16_t channel;
	uint16_t peer_port;
	uint32_t peer_ip;
};

/* A STUN Data indication (after dp_is_stun() said STUN): the workers unwrap it
 * instead of punting it to the control plane. */
static inline int dp_turn_is_data_ind(const uint8_t *u)
{
	return u[0] == 0x00 && u[1] == 0x17;
}

/* frame (len bytes, parsed as p, a UDP datagram from the relay) carries ChannelData on
 * one of chans[0..n), or a Data indication (XOR-PEER-ADDRESS IPv4 and DATA; the relay
 * checked the permission): rewrite it in place into the peer's datagram. The headers
 * move *shift bytes on (DP_TURN_HDR for ChannelData), so the new frame starts at
 * frame + *shift; its source address and port become the peer's, IPv4 and UDP lengths
 * and checksums are set, and what follows the data (padding, attributes) is cut.
 * Returns the new frame's length, or 0 when it is neither ChannelData of a bound
 * channel nor a well-formed Data indication. */
uint32_t dp_turn_unwrap(uint8_t *frame, uint32_t len, const struct dp_parsed *p,
			const struct dp_turn_chan *chans, unsigned n, uint32_t *shift);

#endif
