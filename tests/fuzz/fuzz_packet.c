/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target for the per-packet path: dp_parse on an exact-size copy;
 * for UDP also the RTP statistics over the payload and a NAT rewrite, after
 * which the frame must still parse as the same UDP datagram. No EAL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_parse.h"
#include "dataplane/dp_rewrite.h"
#include "dataplane/dp_rtp.h"
#include "dataplane/dp_turn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same datagram as ChannelData from a relay, whatever its channel (every slot is
 * taken by one input-chosen channel), or as a Data indication: the unwrapped frame must
 * parse as UDP (from the bound peer for ChannelData). */
static void fuzz_turn(uint8_t *frame, uint32_t len, const struct dp_parsed *p)
{
	const uint8_t *u = frame + p->l4_off + 8;
	struct dp_turn_chan c[DP_TURN_CHANNELS] = { 0 };
	struct dp_parsed in;
	enum dp_drop why;

	c[0].channel = p->l4_len >= 10 ? (uint16_t)(u[0] << 8 | u[1]) : 0x4000;
	c[0].peer_ip = 0x14710bcbu;
	c[0].peer_port = 0x409c;
	uint32_t shift = 0;
	uint32_t n = dp_turn_unwrap(frame, len, p, c, DP_TURN_CHANNELS, &shift);
	if (n == 0)
		return;
	if (n + shift > len || dp_parse(frame + shift, n, &in, &why) != DP_PKT_UDP4 ||
	    (shift == DP_TURN_HDR && (in.src_ip != c[0].peer_ip || in.src_port != c[0].peer_port)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dp_rtp_stats rtp; /* persists: exercises sequence state across inputs */
	static uint32_t arrival;
	struct dp_parsed p, q;
	enum dp_drop why = DP_DROP_MAX, why2;

	if (size > 65535 + 64)
		return 0;
	/* exact-size heap copy so ASan flags any read past the end */
	uint8_t *buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	if (size)
		memcpy(buf, data, size);
	const uint8_t *frame = size ? buf : buf + 1;
	uint32_t len = (uint32_t)size;

	enum dp_pkt_kind k = dp_parse(frame, len, &p, &why);
	switch (k) {
	case DP_PKT_DROP:
		if ((unsigned)why >= DP_DROP_MAX)
			abort();
		break;
	case DP_PKT_UDP4: {
		if ((uint32_t)p.l4_off + p.l4_len > len || p.l4_off != p.l3_off + 20 ||
		    (uint32_t)p.l3_off + p.ip_len > len || p.l4_len < 8)
			abort();
		arrival += 160 + (len & 0x3f);
		dp_rtp_update(&rtp, frame + p.l4_off + 8, p.l4_len - 8u, arrival);
		if (dp_rtp_jitter(&rtp) > (UINT32_MAX >> 4))
			abort();

		uint32_t sip = p.dst_ip ^ 0x01020304u, dip = p.src_ip + 0x0a000001u;
		uint16_t sp = (uint16_t)(p.dst_port + 1), dpt = (uint16_t)(p.src_port ^ 0x5a5a);
		uint8_t udp_csum_was_zero = buf[p.l4_off + 6] == 0 && buf[p.l4_off + 7] == 0;
		dp_rewrite_udp4(buf, &p, sip, dip, sp, dpt);
		if (dp_parse(frame, len, &q, &why2) != DP_PKT_UDP4)
			abort();
		if (q.l3_off != p.l3_off || q.l4_off != p.l4_off || q.l4_len != p.l4_len ||
		    q.ip_len != p.ip_len || q.src_ip != sip || q.dst_ip != dip ||
		    q.src_port != sp || q.dst_port != dpt)
			abort();
		uint8_t zero_now = buf[p.l4_off + 6] == 0 && buf[p.l4_off + 7] == 0;
		if (zero_now != udp_csum_was_zero)
			abort(); /* 0 stays 0, non-zero never becomes 0 */
		fuzz_turn(buf, len, &q);
		break;
	}
	case DP_PKT_ARP:
		if ((uint32_t)p.l3_off + 28 > len)
			abort();
		break;
	case DP_PKT_ICMP4:
		if ((uint32_t)p.l4_off + p.l4_len > len || p.l4_len < 8)
			abort();
		break;
	default:
		abort();
	}
	free(buf);
	return 0;
}
