/* SPDX-License-Identifier: BSD-3-Clause
 * Per-flow RTP statistics: RFC 3550 appendix A.1 (sequence, expected, lost)
 * and A.8 (interarrival jitter), plus reordered and duplicate counts. */
#ifndef RTPREC_DP_RTP_H
#define RTPREC_DP_RTP_H

#include <stdbool.h>
#include <stdint.h>

struct dp_rtp_stats {
	uint32_t ssrc;
	uint16_t max_seq;    /* highest seq number seen */
	bool active;         /* a first packet was seen */
	bool has_transit;
	uint32_t cycles;     /* seq number cycles (A.1 keeps them shifted: 2^32 packets) */
	uint32_t base_seq;
	uint32_t bad_seq;    /* last 'bad' seq number + 1 */
	uint32_t probation;  /* sequential packets till source is valid */
	uint32_t transit;    /* relative transit time of the previous packet */
	uint32_t jitter_q4;  /* jitter * 16 (RFC 3550 A.8 integer form) */
	uint32_t reordered;
	uint32_t duplicate;
	uint32_t ssrc_changes;
	uint32_t rtcp;       /* RTCP packets (rtcp-mux) left out of the stats above */
	uint64_t seen_mask;  /* bit i: seq (max_seq - i) seen; for duplicates */
	uint64_t received;
};
_Static_assert(sizeof(struct dp_rtp_stats) == 64, "RTP state must stay one cache line");

/* RTCP rather than RTP, for a version-2 packet of at least 2 bytes: the second
 * byte (RTP marker + payload type, RTCP packet type) in 192..223, the range
 * RFC 5761 section 4 keeps free of RTP payload types for rtcp-mux. One compare. */
static inline bool dp_rtp_is_rtcp(const uint8_t *u)
{
	return (uint8_t)(u[1] - 192u) < 32u;
}

/* RTP version 2 with a full header and not RTCP (e.g. worth latching on). */
static inline bool dp_rtp_plausible(const uint8_t *u, uint32_t len)
{
	return len >= 12 && (u[0] & 0xC0) == 0x80 && !dp_rtp_is_rtcp(u);
}

void dp_rtp_init(struct dp_rtp_stats *s);

/* Account one packet whose UDP payload is rtp[0..len). Payloads that are not
 * RTP version 2 with a full 12-byte header are ignored; RTCP (rtcp-mux, see
 * dp_rtp_is_rtcp) is only counted in rtcp. arrival is the arrival time in RTP
 * timestamp units (see dp_rtp_arrival). */
void dp_rtp_update(struct dp_rtp_stats *s, const uint8_t *rtp, uint32_t len, uint32_t arrival);

uint64_t dp_rtp_expected(const struct dp_rtp_stats *s);
int64_t dp_rtp_lost(const struct dp_rtp_stats *s);
uint32_t dp_rtp_jitter(const struct dp_rtp_stats *s); /* timestamp units */

/* Multiplier turning TSC ticks into RTP clock units: (rate << 32) / hz. */
static inline uint64_t dp_rtp_clock_mult(uint32_t rate, uint64_t tsc_hz)
{
	return (uint64_t)(((unsigned __int128)rate << 32) / tsc_hz);
}

static inline uint32_t dp_rtp_arrival(uint64_t tsc, uint64_t mult)
{
	return (uint32_t)(((unsigned __int128)tsc * mult) >> 32);
}

#endif
