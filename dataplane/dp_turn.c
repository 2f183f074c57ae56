/* SPDX-License-Identifier: BSD-3-Clause
 * ChannelData and Data indication unwrapping, see dp_turn.h. */
#include <stdbool.h>
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

#define DP_TURN_COOKIE 0x2112A442u
#define DP_TURN_XOR_PEER 0x0012
#define DP_TURN_DATA 0x0013

/* A Data indication in u[0..ulen): the peer (network order) and where DATA's value
 * starts (its length in *dlen); 0 when it is not a well-formed one. */
static uint32_t dp_turn_data_ind(const uint8_t *u, uint32_t ulen, struct dp_turn_chan *peer,
				 uint16_t *dlen)
{
	uint32_t mlen, doff = 0;
	bool have_peer = false;

	if (ulen < 20 || !dp_turn_is_data_ind(u) ||
	    ((uint32_t)u[4] << 24 | (uint32_t)u[5] << 16 | (uint32_t)u[6] << 8 | u[7]) != DP_TURN_COOKIE)
		return 0;
	mlen = (uint32_t)(u[2] << 8 | u[3]);
	if ((mlen & 3) != 0 || 20 + mlen > ulen)
		return 0;
	for (uint32_t off = 20; off + 4 <= 20 + mlen;) {
		uint16_t t = (uint16_t)(u[off] << 8 | u[off + 1]);
		uint16_t l = (uint16_t)(u[off + 2] << 8 | u[off + 3]);
		if (off + 4 + l > 20 + mlen)
			return 0;
		if (t == DP_TURN_XOR_PEER && l == 8 && u[off + 5] == 0x01) {
			uint32_t ip = ((uint32_t)u[off + 8] << 24 | (uint32_t)u[off + 9] << 16 |
				       (uint32_t)u[off + 10] << 8 | u[off + 11]) ^ DP_TURN_COOKIE;
			peer->peer_port = rte_cpu_to_be_16((uint16_t)((u[off + 6] << 8 | u[off + 7]) ^
								      (DP_TURN_COOKIE >> 16)));
			peer->peer_ip = rte_cpu_to_be_32(ip);
			have_peer = true;
		} else if (t == DP_TURN_DATA && doff == 0) {
			doff = off + 4;
			*dlen = l;
		}
		off += 4 + (((uint32_t)l + 3) & ~3u);
	}
	return have_peer ? doff : 0;
}

uint32_t dp_turn_unwrap(uint8_t *frame, uint32_t len, const struct dp_parsed *p,
			const struct dp_turn_chan *chans, unsigned n, uint32_t *shift)
{
	uint32_t hdrs = (uint32_t)p->l4_off + sizeof(struct rte_udp_hdr);
	const uint8_t *u = frame + hdrs;
	uint32_t ulen = p->l4_len - (uint32_t)sizeof(struct rte_udp_hdr);
	const struct dp_turn_chan *c;
	struct dp_turn_chan ind;
	uint16_t channel, dlen = 0;
	uint8_t *out;

	if (ulen < DP_TURN_HDR || hdrs + ulen > len)
		return 0;
	if ((u[0] & 0xC0) == 0x40) {
		channel = (uint16_t)(u[0] << 8 | u[1]);
		dlen = (uint16_t)(u[2] << 8 | u[3]);
		if (channel > 0x4FFF || dlen > ulen - DP_TURN_HDR ||
		    (c = dp_turn_find(chans, n, channel)) == NULL)
			return 0;
		*shift = DP_TURN_HDR;
	} else if ((*shift = dp_turn_data_ind(u, ulen, &ind, &dlen)) != 0) {
		c = &ind;
	} else {
		return 0;
	}
	memmove(frame + *shift, frame, hdrs);
	out = frame + *shift;
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
