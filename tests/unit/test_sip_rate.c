/* SPDX-License-Identifier: BSD-3-Clause
 * sip.rate_limit's token buckets (cp_sip_rate.c): burst, refill, 503s
 * limited in turn, sources apart, a bounded table that forgets the least
 * recently seen source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "controlplane/sip/cp_sip_rate_priv.h"

#define IP_A 0x7f000001u
#define IP_B 0x7f000002u

static unsigned run(struct cp_sip_rate *r, uint32_t ip, uint64_t now, unsigned n,
		    enum cp_sip_rate_verdict want)
{
	unsigned got = 0, retry;

	for (unsigned i = 0; i < n; i++)
		got += cp_sip_rate_check(r, ip, now, &retry) == want;
	return got;
}

static void test_off(void **state)
{
	struct cp_sip_rate r;

	(void)state;
	assert_int_equal(cp_sip_rate_init(&r, 0, 10, 64, 1), 0);
	assert_int_equal(run(&r, IP_A, 0, 100000, CP_SIP_RATE_PASS), 100000);
	assert_int_equal(r.n_used, 0);
	cp_sip_rate_fini(&r);
}

static void test_burst_refuse_drop(void **state)
{
	struct cp_sip_rate r;
	unsigned retry = 0;

	(void)state;
	assert_int_equal(cp_sip_rate_init(&r, 10, 5, 64, 7), 0);
	/* a full bucket: 5 at once, then 5 refusals (503), then silence */
	assert_int_equal(run(&r, IP_A, 1000, 5, CP_SIP_RATE_PASS), 5);
	assert_int_equal(cp_sip_rate_check(&r, IP_A, 1000, &retry), CP_SIP_RATE_REFUSE);
	assert_int_equal(retry, 1);
	assert_int_equal(run(&r, IP_A, 1000, 4, CP_SIP_RATE_REFUSE), 4);
	assert_int_equal(run(&r, IP_A, 1000, 50, CP_SIP_RATE_DROP), 50);
	/* another source is apart */
	assert_int_equal(run(&r, IP_B, 1000, 5, CP_SIP_RATE_PASS), 5);
	/* 10/s: one request per 100 ms comes back (and one 503) */
	assert_int_equal(cp_sip_rate_check(&r, IP_A, 1050, &retry), CP_SIP_RATE_DROP);
	assert_int_equal(cp_sip_rate_check(&r, IP_A, 1100, &retry), CP_SIP_RATE_PASS);
	assert_int_equal(cp_sip_rate_check(&r, IP_A, 1100, &retry), CP_SIP_RATE_REFUSE);
	assert_int_equal(cp_sip_rate_check(&r, IP_A, 1100, &retry), CP_SIP_RATE_DROP);
	/* a quiet second fills both buckets again, never beyond the burst */
	assert_int_equal(run(&r, IP_A, 60000, 5, CP_SIP_RATE_PASS), 5);
	assert_int_equal(cp_sip_rate_check(&r, IP_A, 60000, &retry), CP_SIP_RATE_REFUSE);
	assert_int_equal(r.n_used, 2);
	cp_sip_rate_fini(&r);
}

static void test_retry_after(void **state)
{
	struct cp_sip_rate r;
	unsigned retry = 0;

	(void)state;
	/* one request a second: Retry-After says how long until the next */
	assert_int_equal(cp_sip_rate_init(&r, 1, 1, 64, 3), 0);
	assert_int_equal(cp_sip_rate_check(&r, IP_A, 0, &retry), CP_SIP_RATE_PASS);
	assert_int_equal(cp_sip_rate_check(&r, IP_A, 200, &retry), CP_SIP_RATE_REFUSE);
	assert_int_equal(retry, 1);
	assert_int_equal(cp_sip_rate_check(&r, IP_A, 1000, &retry), CP_SIP_RATE_PASS);
	cp_sip_rate_fini(&r);
}

static void test_bounded_table(void **state)
{
	struct cp_sip_rate r;
	unsigned retry;

	(void)state;
	assert_int_equal(cp_sip_rate_init(&r, 1, 1, 16, 5), 0);
	/* A spends its token and is remembered while it keeps coming back... */
	assert_int_equal(cp_sip_rate_check(&r, IP_A, 0, &retry), CP_SIP_RATE_PASS);
	for (uint32_t ip = 0x0a000000; ip < 0x0a000000 + 100000; ip++) {
		cp_sip_rate_check(&r, ip, 1 + (ip & 1), &retry);
		assert_true(r.n_used <= 16);
	}
	assert_int_equal(r.n_used, 16);
	/* ...but 100000 newer sources push it out: it starts again with a full bucket */
	assert_int_equal(cp_sip_rate_check(&r, IP_A, 3, &retry), CP_SIP_RATE_PASS);
	assert_int_equal(cp_sip_rate_check(&r, IP_A, 3, &retry), CP_SIP_RATE_REFUSE);
	cp_sip_rate_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_burst_refuse_drop),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_bounded_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
