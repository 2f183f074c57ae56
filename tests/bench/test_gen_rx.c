/* SPDX-License-Identifier: BSD-3-Clause
 * rtprec-gen's receive accounting: frames from gen_pkt fed to gen_rx in order,
 * reordered, duplicated, dropped, far behind the window, and foreign frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bench/gen/gen.h"

#define STREAMS 3
#define ROUNDS 10
#define NOW 100000u

static struct gen_opts opts;
static struct gen_pkt_ctx pc;
static struct gen_rx_ctx rc;
static uint8_t frames[STREAMS * ROUNDS][GEN_FRAME_MAX];
static uint16_t lens[STREAMS * ROUNDS];

static int setup(void **state)
{
	char *argv[] = {"rtprec-gen", "--streams", "3", "--pcap-out", "/dev/null", NULL};
	struct gen_slot slot;

	(void)state;
	if (gen_args_parse(5, argv, &opts) != 0 || gen_pkt_init(&pc, &opts) != 0 ||
	    gen_rx_init(&rc, STREAMS) != 0)
		return -1;
	/* frame j: stream j % 3, its sequence j / 3, sent at TSC 1000 + j */
	for (unsigned j = 0; j < STREAMS * ROUNDS; j++)
		lens[j] = gen_pkt_next(&pc, frames[j], 1000 + j, &slot);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	gen_rx_free(&rc);
	gen_pkt_free(&pc);
	return 0;
}

static void feed(unsigned j)
{
	gen_rx_frame(&rc, frames[j], lens[j], NOW);
}

static void test_loss_reorder_dup(void **state)
{
	static const unsigned order[] = {0, 1, 2, 6, 4, 5, 3, 7, 8, 9, 9, 10, 11, 13, 14};
	uint8_t junk[64];

	(void)state;
	/* stream 0: sequences 0, 2, 1 (reordered), 3, 3 (duplicate), 4 lost (frame 12) */
	for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		feed(order[i]);
	for (unsigned j = 15; j < STREAMS * ROUNDS; j++)
		feed(j);
	memset(junk, 0, sizeof(junk));
	gen_rx_frame(&rc, junk, sizeof(junk), NOW);
	gen_rx_frame(&rc, frames[0], 40, NOW); /* cut short: not ours */

	assert_int_equal(rc.rx[0].received, ROUNDS - 1);
	assert_int_equal(rc.rx[0].reordered, 1);
	assert_int_equal(rc.rx[0].duplicates, 1);
	for (unsigned s = 1; s < STREAMS; s++) {
		assert_int_equal(rc.rx[s].received, ROUNDS);
		assert_int_equal(rc.rx[s].reordered, 0);
		assert_int_equal(rc.rx[s].duplicates, 0);
	}
	assert_int_equal(rc.received, STREAMS * ROUNDS - 1);
	assert_int_equal(rc.rx_other, 2);
	/* latency NOW - (1000 + j): stream 1's frames are j = 1, 4, ..., 28 */
	assert_int_equal(rc.rx[1].lat_n, ROUNDS);
	assert_int_equal(rc.rx[1].lat_min, NOW - 1000 - 28);
	assert_int_equal(rc.rx[1].lat_max, NOW - 1000 - 1);
}

static void test_far_behind_window(void **state)
{
	struct gen_rx_stream *r = &rc.rx[2];
	uint64_t before = r->reordered;

	(void)state;
	/* pretend stream 2 has seen sequence 200: its frame of sequence 3 is too old to
	 * tell from a duplicate and counts as reordered */
	r->next = 200;
	r->win = 1;
	feed(3 * STREAMS + 2);
	assert_int_equal(r->reordered, before + 1);
	assert_int_equal(r->duplicates, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loss_reorder_dup),
		cmocka_unit_test(test_far_behind_window),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
