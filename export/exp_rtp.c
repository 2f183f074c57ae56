/* SPDX-License-Identifier: BSD-3-Clause
 * RTP fixed header (RFC 3550 §5.1) and RTCP told apart by packet type
 * (RFC 5761 §4: RTCP types 192..223 are never used as RTP payload types). */
#include "dataplane/dp_rtp.h"
#include "exp.h"

int exp_rtp_parse(const uint8_t *p, uint32_t len, struct exp_rtp *r)
{
	uint32_t hl;

	if (len < 8 || (p[0] >> 6) != 2)
		return EXP_RTP_NOT;
	if (dp_rtp_is_rtcp(p))
		return EXP_RTP_RTCP;
	if (len < 12)
		return EXP_RTP_NOT;
	hl = 12u + 4u * (p[0] & 0x0f);
	if (len < hl)
		return EXP_RTP_NOT;
	if (p[0] & 0x10) { /* header extension: 4 bytes, then length words */
		if (len < hl + 4)
			return EXP_RTP_NOT;
		hl += 4 + 4u * (((uint32_t)p[hl + 2] << 8) | p[hl + 3]);
		if (len < hl)
			return EXP_RTP_NOT;
	}
	r->payload = p + hl;
	r->len = len - hl;
	if (p[0] & 0x20) { /* padding: the last byte counts it */
		uint8_t pad = p[len - 1];
		if (pad == 0 || pad > r->len)
			return EXP_RTP_NOT;
		r->len -= pad;
	}
	r->marker = p[1] >> 7;
	r->pt = p[1] & 0x7f;
	r->seq = (uint16_t)((p[2] << 8) | p[3]);
	r->ts = ((uint32_t)p[4] << 24) | ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7];
	r->ssrc = ((uint32_t)p[8] << 24) | ((uint32_t)p[9] << 16) | ((uint32_t)p[10] << 8) | p[11];
	return EXP_RTP_OK;
}
