/* SPDX-License-Identifier: BSD-3-Clause
 * nat_turn against the fake server (ut_turn.h): allocation with long-term
 * credentials and error answers, retransmissions, refresh timing, release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ut_turn.h"

/* ---- allocation --------------------------------------------------------- */

static const struct {
	const char *name;
	const char *server_password;
	int stale;
	bool open, no_relayed, unknown_attr, unsigned_err;
	uint16_t alloc_err;
	enum nat_turn_state state;
	enum nat_turn_error error;
	uint16_t code;
	int requests;
} alloc_cases[] = {
	{ "ok", "secret", 0, false, false, false, false, 0, NAT_TURN_ALLOCATED,
	  NAT_TURN_ERR_NONE, 0, 2 },
	{ "stale once", "secret", 1, false, false, false, false, 0, NAT_TURN_ALLOCATED,
	  NAT_TURN_ERR_NONE, 0, 3 },
	{ "stale thrice", "secret", 3, false, false, false, false, 0, NAT_TURN_ALLOCATED,
	  NAT_TURN_ERR_NONE, 0, 5 },
	{ "stale forever", "secret", 100, false, false, false, false, 0, NAT_TURN_FAILED,
	  NAT_TURN_ERR_STALE, 438, 5 },
	{ "wrong password", "other", 0, false, false, false, false, 0, NAT_TURN_FAILED,
	  NAT_TURN_ERR_AUTH, 401, 2 },
	{ "open server", "secret", 0, true, false, false, false, 0, NAT_TURN_ALLOCATED,
	  NAT_TURN_ERR_NONE, 0, 1 },
	{ "437", "secret", 0, false, false, false, false, 437, NAT_TURN_FAILED,
	  NAT_TURN_ERR_REJECTED, 437, 2 },
	{ "441", "secret", 0, false, false, false, false, 441, NAT_TURN_FAILED,
	  NAT_TURN_ERR_REJECTED, 441, 2 },
	{ "486", "secret", 0, false, false, false, false, 486, NAT_TURN_FAILED,
	  NAT_TURN_ERR_REJECTED, 486, 2 },
	{ "508 unsigned", "secret", 0, false, false, false, true, 508, NAT_TURN_FAILED,
	  NAT_TURN_ERR_REJECTED, 508, 2 },
	{ "no relayed address", "secret", 0, false, true, false, false, 0, NAT_TURN_FAILED,
	  NAT_TURN_ERR_RESPONSE, 0, 2 },
	{ "unknown attribute", "secret", 0, false, false, true, false, 0, NAT_TURN_FAILED,
	  NAT_TURN_ERR_RESPONSE, 0, 2 },
};

static void test_allocate_cases(void **state)
{
	(void)state;
	struct nat_turn t;

	for (size_t i = 0; i < sizeof(alloc_cases) / sizeof(alloc_cases[0]); i++) {
		struct nat_turn_cfg c = ut_turn_cfg_default();
		ut_turn_fake_reset();
		ut_tf.password = alloc_cases[i].server_password;
		ut_tf.stale = alloc_cases[i].stale;
		ut_tf.open = alloc_cases[i].open;
		ut_tf.no_relayed = alloc_cases[i].no_relayed;
		ut_tf.unknown_attr = alloc_cases[i].unknown_attr;
		ut_tf.unsigned_err = alloc_cases[i].unsigned_err;
		ut_tf.err[NAT_STUN_ALLOCATE] = alloc_cases[i].alloc_err;
		print_message("case %s\n", alloc_cases[i].name);
		ut_turn_start(&t, &c);
		assert_int_equal(t.state, alloc_cases[i].state);
		assert_int_equal(t.error, alloc_cases[i].error);
		assert_int_equal(t.error_code, alloc_cases[i].code);
		assert_int_equal(ut_tf.n_req, alloc_cases[i].requests);
		if (t.state == NAT_TURN_ALLOCATED) {
			assert_int_equal(t.relayed.ip4, RELAY);
			assert_int_equal(t.relayed.port, RELAY_PORT);
			assert_int_equal(t.mapped.ip4, MAPPED);
			assert_int_equal(t.mapped.port, MAPPED_PORT);
			assert_int_equal(t.lifetime_s, 600);
		} else {
			assert_true(nat_turn_deadline(&t) == UINT64_MAX);
		}
	}
}

static void test_allocate_requests(void **state)
{
	(void)state;
	struct nat_turn t;
	struct nat_stun_msg first;
	struct nat_turn_cfg c = ut_turn_cfg_default();
	uint8_t key[NAT_STUN_LT_KEY_LEN];

	ut_turn_fake_reset();
	c.lifetime_s = 1200;
	ut_turn_start(&t, &c);
	assert_int_equal(t.state, NAT_TURN_ALLOCATED);
	assert_int_equal(ut_tf.n_req, 2);
	/* the first without credentials, the second with them */
	assert_int_equal(nat_stun_parse(ut_tf.reqs[0].buf, ut_tf.reqs[0].len, &first), 0);
	assert_int_equal(first.method, NAT_STUN_ALLOCATE);
	assert_int_equal(first.mi_off, 0);
	assert_null(first.username.p);
	assert_true(ut_turn_text_is(first.software, "rtprec test"));
	assert_int_equal(ut_turn_u32_attr(&first, NAT_TURN_A_LIFETIME, 0), 1200);
	const struct nat_stun_msg *q = ut_turn_last_req();
	assert_memory_not_equal(q->tid, first.tid, NAT_STUN_TID_LEN);
	assert_true(ut_turn_text_is(q->username, "user"));
	assert_true(ut_turn_text_is(q->realm, REALM));
	assert_true(ut_turn_text_is(q->nonce, "n00000001"));
	ut_turn_key_of("secret", key);
	assert_int_equal(nat_stun_check_integrity(q, key, sizeof(key)), 0);
	assert_int_equal(ut_tf.last_lifetime, 1200);
	assert_int_equal(t.lifetime_s, 600);            /* what the server granted */
}

/* Answers that fail MESSAGE-INTEGRITY are dropped; the client keeps
 * retransmitting and then says why it gave up. */
static void test_bad_integrity(void **state)
{
	(void)state;
	struct nat_turn t;
	struct nat_turn_cfg c = ut_turn_cfg_default();

	ut_turn_fake_reset();
	ut_tf.bad_mi = true;
	ut_turn_start(&t, &c);
	assert_int_equal(t.state, NAT_TURN_ALLOCATING);
	ut_turn_run_until(&t, 60 * SEC);
	assert_int_equal(t.state, NAT_TURN_FAILED);
	assert_int_equal(t.error, NAT_TURN_ERR_INTEGRITY);
	assert_int_equal(ut_tf.n_req, 1 + 7);
	/* an error answer with a bad MAC is dropped too */
	ut_turn_fake_reset();
	ut_tf.bad_mi = true;
	ut_tf.err[NAT_STUN_ALLOCATE] = 486;
	ut_turn_start(&t, &c);
	assert_int_equal(t.state, NAT_TURN_ALLOCATING);
}

/* A server that never answers: RFC 8489 timing, then failed. */
static void test_retransmissions(void **state)
{
	(void)state;
	static const uint64_t want[] = { 0, 500, 1500, 3500, 7500, 15500, 31500 };
	struct nat_turn t;
	struct nat_turn_cfg c = ut_turn_cfg_default();

	ut_turn_fake_reset();
	ut_tf.drop = true;
	ut_tf.now = 1000;
	ut_turn_start(&t, &c);
	assert_int_equal(nat_turn_deadline(&t), 1500);
	ut_turn_run_until(&t, 100 * SEC);
	assert_int_equal(t.state, NAT_TURN_FAILED);
	assert_int_equal(t.error, NAT_TURN_ERR_TIMEOUT);
	assert_int_equal(ut_tf.n_req, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(ut_tf.reqs[i].at - 1000, want[i]);
		assert_memory_equal(ut_tf.reqs[i].buf, ut_tf.reqs[0].buf, ut_tf.reqs[0].len);
	}
	assert_int_equal(ut_tf.done, 7);
	/* a custom, quicker schedule */
	ut_turn_fake_reset();
	ut_tf.drop = true;
	c.rto = (struct nat_rto){ 100, 3, 4 };
	ut_turn_start(&t, &c);
	ut_turn_run_until(&t, 10 * SEC);
	assert_int_equal(ut_tf.n_req, 3);
	assert_int_equal(ut_tf.reqs[2].at, 300);
	assert_int_equal(t.state, NAT_TURN_FAILED);
	/* two losses, then answers: allocated, the retransmission had the same id */
	ut_turn_fake_reset();
	ut_tf.drop_first = 2;
	c = ut_turn_cfg_default();
	ut_turn_start(&t, &c);
	ut_turn_run_until(&t, 10 * SEC);
	assert_int_equal(t.state, NAT_TURN_ALLOCATED);
	assert_int_equal(ut_tf.n_req, 4);
	assert_int_equal(ut_tf.reqs[1].at, 500);
	assert_int_equal(ut_tf.reqs[2].len, ut_tf.reqs[0].len);
	assert_memory_equal(ut_tf.reqs[2].buf, ut_tf.reqs[0].buf, ut_tf.reqs[0].len);
}

static void test_bad_config(void **state)
{
	(void)state;
	struct nat_turn t;
	struct nat_turn_cfg c;
	char longname[NAT_TURN_USER_MAX + 2];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	ut_turn_fake_reset();
	c = ut_turn_cfg_default(); c.send = NULL;
	assert_int_equal(nat_turn_start(&t, &c, 0), -1);
	c = ut_turn_cfg_default(); c.server_port = 0;
	assert_int_equal(nat_turn_start(&t, &c, 0), -1);
	c = ut_turn_cfg_default(); c.username = "";
	assert_int_equal(nat_turn_start(&t, &c, 0), -1);
	c = ut_turn_cfg_default(); c.password = NULL;
	assert_int_equal(nat_turn_start(&t, &c, 0), -1);
	c = ut_turn_cfg_default(); c.username = longname;
	assert_int_equal(nat_turn_start(&t, &c, 0), -1);
	c = ut_turn_cfg_default(); c.rto = (struct nat_rto){ 100, 0, 1 };
	assert_int_equal(nat_turn_start(&t, &c, 0), -1);
	assert_int_equal(t.state, NAT_TURN_IDLE);
	assert_int_equal(ut_tf.n_req, 0);
	assert_int_equal(nat_turn_tick(&t, 0), NAT_TURN_IDLE);
	assert_true(nat_turn_deadline(&t) == UINT64_MAX);
	assert_int_equal(nat_turn_permit(&t, PEER, 0), -1);
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 1, 0), -1);
	/* getrandom() when no rng is given */
	c = ut_turn_cfg_default(); c.rng = NULL;
	assert_int_equal(nat_turn_start(&t, &c, 0), 0);
	assert_int_equal(ut_tf.n_req, 1);
}

/* ---- refresh and release ------------------------------------------------ */

static void test_refresh_timing(void **state)
{
	(void)state;
	static const struct { uint32_t grant; uint64_t refresh_s; } cases[] = {
		{ 600, 540 }, { 3600, 3540 }, { 100, 50 }, { 121, 61 }, { 1, 0 },
	};
	struct nat_turn t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nat_turn_cfg c = ut_turn_cfg_default();
		ut_turn_fake_reset();
		ut_tf.grant = cases[i].grant;
		ut_tf.now = 5 * SEC;
		ut_turn_start(&t, &c);
		uint64_t at = 5 * SEC + (cases[i].grant == 1 ? 500 : cases[i].refresh_s * SEC);
		assert_int_equal(nat_turn_deadline(&t), at);
		assert_int_equal(t.expire_ms, 5 * SEC + cases[i].grant * SEC);
		ut_turn_run_until(&t, at - 1);
		assert_int_equal(ut_tf.by_method[NAT_STUN_REFRESH], 0);
		ut_turn_run_until(&t, at);
		assert_int_equal(ut_tf.by_method[NAT_STUN_REFRESH], 1);
		assert_int_equal(t.state, NAT_TURN_ALLOCATED);
		assert_int_equal(ut_tf.last_lifetime, ~0u);     /* none asked: the server's default */
		assert_int_equal(t.expire_ms, at + cases[i].grant * SEC);
		const struct nat_stun_msg *q = ut_turn_last_req();
		assert_int_equal(q->method, NAT_STUN_REFRESH);
		assert_int_not_equal(q->mi_off, 0);
	}
}

static void test_refresh_failures(void **state)
{
	(void)state;
	struct nat_turn t;

	/* the server forgot us */
	ut_turn_allocate(&t);
	ut_tf.err[NAT_STUN_REFRESH] = 437;
	ut_turn_run_until(&t, 600 * SEC);
	assert_int_equal(t.state, NAT_TURN_FAILED);
	assert_int_equal(t.error, NAT_TURN_ERR_REJECTED);
	assert_int_equal(t.error_code, 437);
	assert_string_equal(t.reason, "Some Error");
	/* a stale nonce during refresh is taken in stride */
	ut_turn_allocate(&t);
	ut_tf.stale = 1;
	ut_turn_run_until(&t, 540 * SEC);
	assert_int_equal(t.state, NAT_TURN_ALLOCATED);
	assert_int_equal(ut_tf.by_method[NAT_STUN_REFRESH], 2);
	/* silence: refreshing, retried while the allocation lasts, then expired */
	ut_turn_allocate(&t);
	ut_tf.drop = true;
	ut_turn_run_until(&t, 540 * SEC);
	assert_int_equal(t.state, NAT_TURN_REFRESHING);
	ut_turn_run_until(&t, 599 * SEC);
	assert_int_equal(t.state, NAT_TURN_REFRESHING);
	assert_int_equal(ut_tf.by_method[NAT_STUN_REFRESH], 7 + 6);  /* second try at 579.5 s */
	ut_turn_run_until(&t, 600 * SEC);
	assert_int_equal(t.state, NAT_TURN_FAILED);
	assert_int_equal(t.error, NAT_TURN_ERR_EXPIRED);
	assert_true(nat_turn_deadline(&t) == UINT64_MAX);
	/* a lost refresh answered on a retransmission */
	ut_turn_allocate(&t);
	ut_tf.drop_first = 3;
	ut_turn_run_until(&t, 560 * SEC);
	assert_int_equal(t.state, NAT_TURN_ALLOCATED);
	assert_int_equal(t.expire_ms, 543500 + 600 * SEC);
}

static void test_release(void **state)
{
	(void)state;
	struct nat_turn t;

	ut_turn_allocate(&t);
	assert_int_equal(nat_turn_permit(&t, PEER, 0), 0);
	ut_turn_pump(&t);
	assert_int_equal(nat_turn_release(&t, 10 * SEC), 0);
	assert_int_equal(t.state, NAT_TURN_RELEASING);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_FREE);
	const struct nat_stun_msg *q = ut_turn_last_req();
	assert_int_equal(q->method, NAT_STUN_REFRESH);
	assert_int_equal(ut_turn_u32_attr(q, NAT_TURN_A_LIFETIME, 99), 0);
	ut_turn_pump(&t);
	assert_int_equal(t.state, NAT_TURN_RELEASED);
	assert_true(nat_turn_deadline(&t) == UINT64_MAX);
	assert_int_equal(nat_turn_release(&t, 10 * SEC), 0);   /* again: nothing */
	/* the server is gone: released after the timeout anyway */
	ut_turn_allocate(&t);
	ut_tf.drop = true;
	assert_int_equal(nat_turn_release(&t, 0), 0);
	ut_turn_run_until(&t, 100 * SEC);
	assert_int_equal(t.state, NAT_TURN_RELEASED);
	/* before any allocation: nothing to send */
	ut_turn_fake_reset();
	ut_tf.drop = true;
	struct nat_turn_cfg c = ut_turn_cfg_default();
	ut_turn_start(&t, &c);
	assert_int_equal(nat_turn_release(&t, 0), 0);
	assert_int_equal(t.state, NAT_TURN_RELEASED);
	assert_int_equal(ut_tf.n_req, 1);
	/* release with 438: the new nonce, then released */
	ut_turn_allocate(&t);
	ut_tf.stale = 1;
	assert_int_equal(nat_turn_release(&t, 0), 0);
	ut_turn_pump(&t);
	assert_int_equal(t.state, NAT_TURN_RELEASED);
	assert_int_equal(ut_tf.by_method[NAT_STUN_REFRESH], 2);
}

/* ---- permissions and channels ------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allocate_cases),
		cmocka_unit_test(test_allocate_requests),
		cmocka_unit_test(test_bad_integrity),
		cmocka_unit_test(test_retransmissions),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_refresh_timing),
		cmocka_unit_test(test_refresh_failures),
		cmocka_unit_test(test_release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
