/* SPDX-License-Identifier: BSD-3-Clause
 * ChannelData unwrapping, see dp_turn.h. */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "dp_turn.h"

static const struct dp_turn_chan *dp_turn_find(const struct dp_turn_chan *chans, unsigned n,
					       uint16_t channel)
{
	for (unsigned i = 0; i < n; i++)
		if (chans[i].channel == channel)
			return &chans[i];
	return NULL;
}

uint32_t dp_turn_unwrap(uint8_t *frame, uint32_t len, const struct dp_parsed *p,
			const struct dp_turn_chan *chans, unsigned n)
{
	uint32_t hdrs = (uint32_t)p->l4_off + sizeof(struct rte_udp_hdr);
	const uint8_t *u = frame + hdrs;
	uint32_t ulen = p->l4_len - (uint32_t)sizeof(struct rte_udp_hdr);
	const struct dp_turn_chan *c;
	uint16_t channel, dlen;
	uint8_t *out;

	if (ulen < DP_TURN_HDR || hdrs + ulen > len || (u[0] & 0xC0) != 0x40)
		return 0;
	channel = (uint16_t)(u[0] << 8 | u[1]);
	dlen = (uint16_t)(u[2] << 8 | u[3]);
	if (channel > 0x4FFF || dlen > ulen - DP_TURN_HDR || (c = dp_turn_find(chans, n, channel)) == NULL)
		return 0;
	memmove(frame + DP_TURN_HDR, frame, hdrs);
	out = frame + DP_TURN_HDR;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(out + p->l3_off);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(out + p->l4_off);
	ip->src_addr = c->peer_ip;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(hdrs - p->l3_off + dlen));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = c->peer_port;
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + dlen));
	udp->dgram_cksum = 0;
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	return hdrs + dlen;
}
