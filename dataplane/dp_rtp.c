/* SPDX-License-Identifier: BSD-3-Clause
 * RTP receive statistics: RFC 3550 appendix A.1 (sequence validation,
 * extended max, expected, lost) and A.8 (interarrival jitter, integer form),
 * plus reordered / duplicate counts from a 64-packet seen bitmap.
 *
 * Notes on the A.1 code:
 * - The packet that starts probation is not counted in "received"; the one
 *   that ends it calls init_seq() and counts as the first (A.1 as written).
 * - "seq == max_seq + 1" is compared modulo 2^16 (the A.1 C code promotes to
 *   int, so a probation crossing 65535 -> 0 would restart; we do not).
 * - Duplicates and late packets inside MAX_MISORDER count as received (A.1),
 *   so lost = expected - received may go negative.
 * - cycles counts wraps, not wraps << 16 as in A.1, whose 32 bits wrap after 2^32
 *   packets (50 days of a 1000 packet/s stream): expected would fall by 2^32.
 */
#include <string.h>

#include "dp_rtp.h"

#define RTP_SEQ_MOD (1u << 16)
#define MAX_DROPOUT 3000u
#define MAX_MISORDER 100u
#define MIN_SEQUENTIAL 2u

#define unlikely_(x) __builtin_expect(!!(x), 0)

void dp_rtp_init(struct dp_rtp_stats *s)
{
	memset(s, 0, sizeof(*s));
}

static inline void init_seq(struct dp_rtp_stats *s, uint16_t seq)
{
	s->base_seq = seq;
	s->max_seq = seq;
	s->bad_seq = RTP_SEQ_MOD + 1; /* so seq == bad_seq is false */
	s->cycles = 0;
	s->received = 0;
}

/* A new source (first packet or new SSRC): A.1 "new source heard". */
static inline void new_source(struct dp_rtp_stats *s, uint32_t ssrc, uint16_t seq)
{
	s->ssrc = ssrc;
	init_seq(s, seq);
	s->max_seq = (uint16_t)(seq - 1);
	s->probation = MIN_SEQUENTIAL;
	s->seen_mask = 0;
	s->transit = 0;
	s->jitter_q4 = 0;
	s->has_transit = false;
	s->active = true;
}

/* Move max_seq forward by udelta (1..MAX_DROPOUT-1) in the seen bitmap. */
static inline void seen_advance(struct dp_rtp_stats *s, uint16_t udelta)
{
	s->seen_mask = udelta >= 64 ? 1 : (s->seen_mask << udelta) | 1;
}

/* A.1 update_seq() plus reorder/duplicate accounting. */
static inline void update_seq(struct dp_rtp_stats *s, uint16_t seq)
{
	uint16_t udelta = (uint16_t)(seq - s->max_seq);

	if (unlikely_(s->probation)) {
		/* Source is not valid until MIN_SEQUENTIAL packets in sequence. */
		if (seq == (uint16_t)(s->max_seq + 1)) {
			s->probation--;
			s->max_seq = seq;
			s->seen_mask = (s->seen_mask << 1) | 1;
			if (s->probation == 0) {
				init_seq(s, seq);
				s->received++;
			}
		} else {
			s->probation = MIN_SEQUENTIAL - 1;
			s->max_seq = seq;
			s->seen_mask = 1;
		}
		return;
	}
	if (udelta < MAX_DROPOUT) {
		/* in order, with permissible gap (udelta == 0: duplicate of max) */
		if (udelta == 0) {
			s->duplicate++;
		} else {
			if (seq < s->max_seq)
				s->cycles++; /* sequence number wrapped */
			s->max_seq = seq;
			seen_advance(s, udelta);
		}
	} else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
		/* the sequence number made a very large jump */
		if (seq == s->bad_seq) {
			/* Two sequential packets: assume the other side restarted
			 * without telling us, so just re-sync. */
			init_seq(s, seq);
			s->seen_mask = 3; /* this one and bad_seq - 1 */
		} else {
			s->bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1);
			return;
		}
	} else {
		/* duplicate or reordered packet: seq is behind max_seq */
		uint16_t back = (uint16_t)(s->max_seq - seq);
		if (back < 64) {
			uint64_t bit = 1ull << back;
			if (s->seen_mask & bit) {
				s->duplicate++;
			} else {
				s->seen_mask |= bit;
				s->reordered++;
			}
		} else {
			s->reordered++;
		}
	}
	s->received++;
}

void dp_rtp_update(struct dp_rtp_stats *s, const uint8_t *rtp, uint32_t len, uint32_t arrival)
{
	if (unlikely_(len < 12 || (rtp[0] >> 6) != 2))
		return;
	if (unlikely_(dp_rtp_is_rtcp(rtp))) {
		s->rtcp++; /* rtcp-mux: its SSRC and "seq" would restart the source */
		return;
	}

	uint16_t seq = (uint16_t)((uint16_t)rtp[2] << 8 | rtp[3]);
	uint32_t ts = (uint32_t)rtp[4] << 24 | (uint32_t)rtp[5] << 16 | (uint32_t)rtp[6] << 8 |
		      rtp[7];
	uint32_t ssrc = (uint32_t)rtp[8] << 24 | (uint32_t)rtp[9] << 16 |
			(uint32_t)rtp[10] << 8 | rtp[11];

	if (unlikely_(!s->active || ssrc != s->ssrc)) {
		if (s->active)
			s->ssrc_changes++;
		new_source(s, ssrc, seq);
	}
	update_seq(s, seq);

	/* A.8: transit = arrival - timestamp; J += (|D| - J) / 16, kept as J*16. */
	uint32_t transit = arrival - ts;
	if (s->has_transit) {
		int32_t d = (int32_t)(transit - s->transit);
		uint64_t ad = d < 0 ? (uint64_t)(-(int64_t)d) : (uint64_t)d;
		uint64_t j = (uint64_t)s->jitter_q4 + ad - ((s->jitter_q4 + 8ull) >> 4);
		s->jitter_q4 = j > UINT32_MAX ? UINT32_MAX : (uint32_t)j;
	}
	s->transit = transit;
	s->has_transit = true;
}

static inline int rtp_valid(const struct dp_rtp_stats *s)
{
	return s->active && s->probation == 0;
}

uint64_t dp_rtp_expected(const struct dp_rtp_stats *s)
{
	if (!rtp_valid(s))
		return 0;
	uint64_t extended_max = ((uint64_t)s->cycles << 16) + s->max_seq;
	return extended_max - s->base_seq + 1;
}

int64_t dp_rtp_lost(const struct dp_rtp_stats *s)
{
	if (!rtp_valid(s))
		return 0;
	return (int64_t)dp_rtp_expected(s) - (int64_t)s->received;
}

uint32_t dp_rtp_jitter(const struct dp_rtp_stats *s)
{
	return s->jitter_q4 >> 4;
}
