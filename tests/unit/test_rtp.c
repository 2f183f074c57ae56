/* SPDX-License-Identifier: BSD-3-Clause
 * RTP statistics against hand-computed RFC 3550 A.1 / A.8 values.
 *
 * A.1 reminders used below: the first packet of a source starts probation
 * (MIN_SEQUENTIAL 2) and is not counted; the second in-sequence packet ends
 * probation with init_seq(seq): base_seq = seq, received = 1. From then on
 * expected = cycles + max_seq - base_seq + 1 and lost = expected - received.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dataplane/dp_rtp.h"

#define SSRC_A 0x11223344u
#define SSRC_B 0x55667788u

static void pkt(struct dp_rtp_stats *s, uint32_t ssrc, uint16_t seq, uint32_t ts, uint32_t arrival)
{
	uint8_t h[12] = {0x80, 0x00, (uint8_t)(seq >> 8), (uint8_t)seq,
			 (uint8_t)(ts >> 24), (uint8_t)(ts >> 16), (uint8_t)(ts >> 8), (uint8_t)ts,
			 (uint8_t)(ssrc >> 24), (uint8_t)(ssrc >> 16), (uint8_t)(ssrc >> 8),
			 (uint8_t)ssrc};
	dp_rtp_update(s, h, sizeof(h), arrival);
}

/* seq with ts = 160 * seq and arrival = ts: constant transit, no jitter */
static void seqp(struct dp_rtp_stats *s, uint16_t seq)
{
	pkt(s, SSRC_A, seq, 160u * seq, 160u * seq);
}

static void test_in_order(void **state)
{
	(void)state;
	struct dp_rtp_stats s;
	dp_rtp_init(&s);
	assert_int_equal(dp_rtp_expected(&s), 0);
	assert_int_equal(dp_rtp_lost(&s), 0);

	/* 1000: probation 2 -> 1, not counted; source not valid yet */
	seqp(&s, 1000);
	assert_int_equal(s.probation, 1);
	assert_int_equal(s.received, 0);
	assert_int_equal(dp_rtp_expected(&s), 0);
	/* 1001: probation ends, init_seq(1001): base 1001, received 1 */
	seqp(&s, 1001);
	assert_int_equal(s.probation, 0);
	assert_int_equal(s.base_seq, 1001);
	assert_int_equal(s.received, 1);
	assert_int_equal(dp_rtp_expected(&s), 1);
	/* 1002..1009: received 9, expected 1009 - 1001 + 1 = 9, lost 0 */
	for (uint16_t q = 1002; q <= 1009; q++)
		seqp(&s, q);
	assert_int_equal(s.max_seq, 1009);
	assert_int_equal(s.received, 9);
	assert_int_equal(dp_rtp_expected(&s), 9);
	assert_int_equal(dp_rtp_lost(&s), 0);
	assert_int_equal(s.reordered, 0);
	assert_int_equal(s.duplicate, 0);
	assert_int_equal(s.cycles, 0);
	assert_int_equal(dp_rtp_jitter(&s), 0);
	assert_int_equal(s.ssrc, SSRC_A);
	assert_int_equal(s.ssrc_changes, 0);
}

static void test_loss(void **state)
{
	(void)state;
	struct dp_rtp_stats s;
	dp_rtp_init(&s);
	/* 1000..1009 without 1005 and 1007: counted 1001..1004, 1006, 1008, 1009 = 7;
	 * expected 1009 - 1001 + 1 = 9; lost 2 */
	for (uint16_t q = 1000; q <= 1009; q++)
		if (q != 1005 && q != 1007)
			seqp(&s, q);
	assert_int_equal(s.received, 7);
	assert_int_equal(dp_rtp_expected(&s), 9);
	assert_int_equal(dp_rtp_lost(&s), 2);
	assert_int_equal(s.reordered, 0);
	assert_int_equal(s.duplicate, 0);
}

static void test_reorder(void **state)
{
	(void)state;
	struct dp_rtp_stats s;
	dp_rtp_init(&s);
	/* 1000 1001 1002 1004 1003 1005: 1003 is 1 behind max 1004, not seen before:
	 * reordered 1, counted as received (A.1). received 5 (1001..1005),
	 * expected 1005 - 1001 + 1 = 5, lost 0 */
	static const uint16_t q[] = {1000, 1001, 1002, 1004, 1003, 1005};
	for (unsigned i = 0; i < 6; i++)
		seqp(&s, q[i]);
	assert_int_equal(s.reordered, 1);
	assert_int_equal(s.duplicate, 0);
	assert_int_equal(s.received, 5);
	assert_int_equal(dp_rtp_expected(&s), 5);
	assert_int_equal(dp_rtp_lost(&s), 0);
	assert_int_equal(s.max_seq, 1005);
}

static void test_duplicate(void **state)
{
	(void)state;
	struct dp_rtp_stats s;
	dp_rtp_init(&s);
	/* 1000 1001 1002 1002 1003 1001:
	 * second 1002 = max_seq again: duplicate 1; 1001 late, already seen
	 * (bit 2 after max 1003): duplicate 2. A.1 counts both as received:
	 * received = 1001,1002,1002,1003,1001 = 5; expected 1003 - 1001 + 1 = 3;
	 * lost = 3 - 5 = -2 */
	static const uint16_t q[] = {1000, 1001, 1002, 1002, 1003, 1001};
	for (unsigned i = 0; i < 6; i++)
		seqp(&s, q[i]);
	assert_int_equal(s.duplicate, 2);
	assert_int_equal(s.reordered, 0);
	assert_int_equal(s.received, 5);
	assert_int_equal(dp_rtp_expected(&s), 3);
	assert_int_equal(dp_rtp_lost(&s), -2);
}

static void test_late_beyond_bitmap(void **state)
{
	(void)state;
	struct dp_rtp_stats s;
	dp_rtp_init(&s);
	/* 1000 (probation) 1001 (valid, base) 1101 (gap 100 < MAX_DROPOUT: max 1101,
	 * bitmap restarts) 1050 (51 behind, unseen: reordered 1) 1050 (now seen:
	 * duplicate 1) 1002 (99 behind, outside the 64 bitmap: reordered 2)
	 * 1001 (100 behind: udelta 65436 <= 65536 - MAX_MISORDER, a "jump":
	 * bad_seq = 1002, not counted).
	 * received = 1001,1101,1050,1050,1002 = 5; expected 1101 - 1001 + 1 = 101;
	 * lost 96 */
	static const uint16_t q[] = {1000, 1001, 1101, 1050, 1050, 1002, 1001};
	for (unsigned i = 0; i < 7; i++)
		seqp(&s, q[i]);
	assert_int_equal(s.reordered, 2);
	assert_int_equal(s.duplicate, 1);
	assert_int_equal(s.received, 5);
	assert_int_equal(s.bad_seq, 1002);
	assert_int_equal(dp_rtp_expected(&s), 101);
	assert_int_equal(dp_rtp_lost(&s), 96);
}

static void test_wrap(void **state)
{
	(void)state;
	struct dp_rtp_stats s;
	dp_rtp_init(&s);
	/* 65533 (probation) 65534 (base) 65535 0 1 2: at 0, udelta 1 and
	 * seq < max_seq: one cycle. expected = 65536 + 2 - 65534 + 1 = 5,
	 * received 5, lost 0 */
	static const uint16_t q[] = {65533, 65534, 65535, 0, 1, 2};
	for (unsigned i = 0; i < 6; i++)
		seqp(&s, q[i]);
	assert_int_equal(s.cycles, 1);
	assert_int_equal(s.base_seq, 65534);
	assert_int_equal(s.max_seq, 2);
	assert_int_equal(s.received, 5);
	assert_int_equal(dp_rtp_expected(&s), 5);
	assert_int_equal(dp_rtp_lost(&s), 0);
	/* 65535 late after the wrap: 3 behind max 2, seen -> duplicate */
	seqp(&s, 65535);
	assert_int_equal(s.duplicate, 1);
	assert_int_equal(s.cycles, 1);

	/* probation across the wrap (65535 then 0) is in sequence (mod 2^16) */
	dp_rtp_init(&s);
	seqp(&s, 65535);
	seqp(&s, 0);
	assert_int_equal(s.probation, 0);
	assert_int_equal(s.base_seq, 0);
	assert_int_equal(dp_rtp_expected(&s), 1);
}

/* More than 2^16 cycles (2^32 sequence numbers) of one source, in steps of 2999 (the
 * largest in-order gap, MAX_DROPOUT - 1): expected keeps growing past 2^32. */
static void test_many_cycles(void **state)
{
	(void)state;
	const uint32_t k_max = 1432300; /* 1 + 2999 k_max > 2^32 + 2^17 */
	struct dp_rtp_stats s;
	dp_rtp_init(&s);
	seqp(&s, 0);
	seqp(&s, 1); /* base 1 */
	for (uint32_t k = 1; k <= k_max; k++)
		seqp(&s, (uint16_t)(1 + 2999u * k));
	assert_int_equal(s.received, k_max + 1);
	assert_int_equal(dp_rtp_expected(&s), 2999ull * k_max + 1);
	assert_int_equal(dp_rtp_lost(&s), 2998ll * k_max);
}

static void test_jump_resync(void **state)
{
	(void)state;
	struct dp_rtp_stats s;
	dp_rtp_init(&s);
	/* 1000..1004: received 4, expected 4 */
	for (uint16_t q = 1000; q <= 1004; q++)
		seqp(&s, q);
	assert_int_equal(s.received, 4);
	/* 20000: udelta 18996 >= MAX_DROPOUT: bad_seq = 20001, dropped */
	seqp(&s, 20000);
	assert_int_equal(s.bad_seq, 20001);
	assert_int_equal(s.received, 4);
	assert_int_equal(s.max_seq, 1004);
	assert_int_equal(dp_rtp_expected(&s), 4);
	/* 20001 == bad_seq: init_seq(20001): base 20001, received 0 + 1 */
	seqp(&s, 20001);
	assert_int_equal(s.base_seq, 20001);
	assert_int_equal(s.max_seq, 20001);
	assert_int_equal(s.received, 1);
	/* 20002, 20003: received 3, expected 20003 - 20001 + 1 = 3, lost 0 */
	seqp(&s, 20002);
	seqp(&s, 20003);
	assert_int_equal(s.received, 3);
	assert_int_equal(dp_rtp_expected(&s), 3);
	assert_int_equal(dp_rtp_lost(&s), 0);
	/* 20000 is one behind and was seen (as bad_seq - 1): duplicate */
	seqp(&s, 20000);
	assert_int_equal(s.duplicate, 1);

	/* a lone jump does not resync: 1000..1004, 30000, 1005 */
	dp_rtp_init(&s);
	for (uint16_t q = 1000; q <= 1004; q++)
		seqp(&s, q);
	seqp(&s, 30000);
	seqp(&s, 1005);
	assert_int_equal(s.base_seq, 1001);
	assert_int_equal(s.max_seq, 1005);
	assert_int_equal(s.received, 5);
	assert_int_equal(dp_rtp_expected(&s), 5);
	assert_int_equal(dp_rtp_lost(&s), 0);
}

static void test_ssrc_change(void **state)
{
	(void)state;
	struct dp_rtp_stats s;
	dp_rtp_init(&s);
	/* A: 1000..1003 -> received 3, expected 3 */
	for (uint16_t q = 1000; q <= 1003; q++)
		pkt(&s, SSRC_A, q, 160u * q, 160u * q);
	assert_int_equal(s.received, 3);
	/* B 5000: new source, probation again: expected 0, received 0 */
	pkt(&s, SSRC_B, 5000, 7, 1000);
	assert_int_equal(s.ssrc, SSRC_B);
	assert_int_equal(s.ssrc_changes, 1);
	assert_int_equal(s.probation, 1);
	assert_int_equal(s.received, 0);
	assert_int_equal(dp_rtp_expected(&s), 0);
	assert_int_equal(dp_rtp_lost(&s), 0);
	/* B 5001, 5002: base 5001, received 2, expected 2 */
	pkt(&s, SSRC_B, 5001, 167, 1160);
	pkt(&s, SSRC_B, 5002, 327, 1320);
	assert_int_equal(s.base_seq, 5001);
	assert_int_equal(s.received, 2);
	assert_int_equal(dp_rtp_expected(&s), 2);
	assert_int_equal(dp_rtp_lost(&s), 0);
	/* the new timestamp base did not disturb jitter (transit restarted) */
	assert_int_equal(s.jitter_q4, 0);
	/* back to A: another change, sequence state from scratch */
	pkt(&s, SSRC_A, 1004, 160u * 1004, 160u * 1004);
	assert_int_equal(s.ssrc_changes, 2);
	assert_int_equal(s.probation, 1);
}

/* ts = base + 160 i, arrival = abase + 160 i + delay[i], so transit_i =
 * (abase - base) + delay[i] and D_i = delay[i] - delay[i-1].
 * delays 0 10 0 30 0 -> |D| = -, 10, 10, 30, 30:
 *   p0: transit only, J16 = 0
 *   p1: J16 += 10 - ((0 + 8) >> 4)  = 10 - 0 -> 10
 *   p2: J16 += 10 - ((10 + 8) >> 4) = 10 - 1 -> 19
 *   p3: J16 += 30 - ((19 + 8) >> 4) = 30 - 1 -> 48
 *   p4: J16 += 30 - ((48 + 8) >> 4) = 30 - 3 -> 75
 * jitter = 75 >> 4 = 4 (floating A.8: 0.625, 1.211, 3.010, 4.697 -> 4). */
static void jitter_run(uint32_t ts_base, uint32_t arr_base)
{
	static const uint32_t delay[] = {0, 10, 0, 30, 0};
	static const uint32_t j16[] = {0, 10, 19, 48, 75};
	struct dp_rtp_stats s;
	dp_rtp_init(&s);
	for (uint32_t i = 0; i < 5; i++) {
		pkt(&s, SSRC_A, (uint16_t)(100 + i), ts_base + 160 * i,
		    arr_base + 160 * i + delay[i]);
		assert_int_equal(s.jitter_q4, j16[i]);
	}
	assert_int_equal(dp_rtp_jitter(&s), 4);
}

static void test_jitter(void **state)
{
	(void)state;
	jitter_run(0, 0);
	jitter_run(123456, 1000);
	/* timestamps wrapping 2^32, arrival behind timestamp: same result */
	jitter_run(0xffffff00u, 50);
	jitter_run(50, 0xfffffff0u);
}

static void test_not_rtp_ignored(void **state)
{
	(void)state;
	struct dp_rtp_stats s, before;
	dp_rtp_init(&s);
	uint8_t h[12] = {0x80, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44};
	dp_rtp_update(&s, h, 11, 0); /* short */
	dp_rtp_update(&s, h, 0, 0);
	h[0] = 0x40;                 /* version 1 */
	dp_rtp_update(&s, h, 12, 0);
	h[0] = 0x00;                 /* version 0 (e.g. STUN-ish) */
	dp_rtp_update(&s, h, 12, 0);
	h[0] = 0xc0;                 /* version 3 */
	dp_rtp_update(&s, h, 12, 0);
	assert_false(s.active);
	assert_int_equal(s.received, 0);

	for (uint16_t q = 1000; q <= 1003; q++)
		seqp(&s, q);
	before = s;
	h[0] = 0x00;
	h[8] = 0x99; /* another "ssrc": must not count as an SSRC change */
	dp_rtp_update(&s, h, 12, 12345);
	h[0] = 0x80;
	dp_rtp_update(&s, h, 11, 12345);
	assert_memory_equal(&s, &before, sizeof(s));
	assert_int_equal(s.received, 3);
	assert_int_equal(s.ssrc_changes, 0);

	/* a header with padding/extension/CSRC bits set is still RTP */
	uint8_t x[12] = {0xbf, 0xff, 0x03, 0xec, 0, 0, 0x9d, 0x80, 0x11, 0x22, 0x33, 0x44};
	dp_rtp_update(&s, x, 12, 160u * 1004);
	assert_int_equal(s.received, 4);
}

/* An RTCP receiver report (RFC 3550 6.4.2) from SSRC_B about a stream 0xcafef00d: with
 * rtcp-mux (RFC 5761) it arrives on the RTP flow; bytes 2-3 and 8-11 are no seq / SSRC. */
static const uint8_t rtcp_rr[32] = {0x81, 201, 0x00, 0x07, 0x55, 0x66, 0x77, 0x88,
				    0xca, 0xfe, 0xf0, 0x0d, 0x00, 0x00, 0x00, 0x05};

/* 1000 RTP packets (seq 1000..1999, every tenth lost) with one RR after the 900th:
 * the RR must not look like a new source and reset the counters. */
static void test_rtcp_mux_ignored(void **state)
{
	(void)state;
	struct dp_rtp_stats s;
	dp_rtp_init(&s);
	for (unsigned i = 0; i < 1000; i++) {
		if (i % 10 != 5)
			seqp(&s, (uint16_t)(1000 + i));
		if (i == 900)
			dp_rtp_update(&s, rtcp_rr, sizeof(rtcp_rr), 160u * (1000 + i));
	}
	/* 900 sent; the first is probation: received 899, expected 1999 - 1001 + 1 = 999 */
	assert_int_equal(s.received, 899);
	assert_int_equal(dp_rtp_expected(&s), 999);
	assert_int_equal(dp_rtp_lost(&s), 100);
	assert_int_equal(s.ssrc, SSRC_A);
	assert_int_equal(s.ssrc_changes, 0);
	assert_int_equal(dp_rtp_jitter(&s), 0);
}

/* RFC 5761 section 4: second byte 192..223 is RTCP (payload types 64..95 with the
 * marker); it is counted apart, and not plausible for latching. */
static void test_rtcp_classify(void **state)
{
	(void)state;
	uint8_t h[12] = {0x80, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44};
	struct dp_rtp_stats s, before;

	for (unsigned b = 0; b < 256; b++) {
		h[1] = (uint8_t)b;
		assert_int_equal(dp_rtp_is_rtcp(h), b >= 192 && b <= 223);
		assert_int_equal(dp_rtp_plausible(h, 12), b < 192 || b > 223);
	}
	h[1] = 0;
	assert_false(dp_rtp_plausible(h, 11));
	h[0] = 0x40;
	assert_false(dp_rtp_plausible(h, 12));

	dp_rtp_init(&s);
	for (uint16_t q = 1000; q <= 1003; q++)
		seqp(&s, q);
	before = s;
	dp_rtp_update(&s, rtcp_rr, sizeof(rtcp_rr), 12345);
	h[0] = 0x80;
	h[1] = 200; /* SR */
	dp_rtp_update(&s, h, 12, 12345);
	assert_int_equal(s.rtcp, 2);
	before.rtcp = 2;
	assert_memory_equal(&s, &before, sizeof(s));
	/* PT 96 with the marker (0xe0): RTP, seq 1004, ts 160 * 1004 = 0x27380 */
	const uint8_t m96[12] = {0x80, 0xe0, 0x03, 0xec, 0x00, 0x02, 0x73, 0x80,
				 0x11, 0x22, 0x33, 0x44};
	dp_rtp_update(&s, m96, sizeof(m96), 160u * 1004);
	assert_int_equal(s.received, 4);
	assert_int_equal(s.rtcp, 2);
}

static void test_arrival_clock(void **state)
{
	(void)state;
	/* 8 kHz on a 2 GHz TSC: mult = floor(8000 * 2^32 / 2e9) = 17179
	 * (exact 17179.87); one second = 2e9 * 17179 / 2^32 = 7999.94 -> 7999;
	 * ten seconds + 125 us: 20000250000 * 17179 / 2^32 = 79996.4 -> 79996
	 * (the truncated multiplier loses ~5e-5, irrelevant for jitter deltas) */
	uint64_t mult = dp_rtp_clock_mult(8000, 2000000000ull);
	assert_int_equal(mult, 17179);
	assert_int_equal(dp_rtp_arrival(2000000000ull, mult), 7999);
	assert_int_equal(dp_rtp_arrival(2000000000ull * 10 + 250000, mult), 79996);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_late_beyond_bitmap),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_many_cycles),
		cmocka_unit_test(test_jump_resync),
		cmocka_unit_test(test_ssrc_change),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_not_rtp_ignored),
		cmocka_unit_test(test_arrival_clock),
		cmocka_unit_test(test_rtcp_mux_ignored),
		cmocka_unit_test(test_rtcp_classify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
