/* SPDX-License-Identifier: BSD-3-Clause
 * nat_bind: RFC 8489 retransmission schedule, answer matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nat/nat_bind.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define SERVER IP(198, 51, 100, 1)

/* Transaction ids 1, 2, 3, ... in the first byte, the rest fixed. */
static int counter_rng(void *arg, uint8_t *buf, size_t len)
{
	uint8_t *n = arg;

	memset(buf, 0xAB, len);
	buf[0] = ++*n;
	return 0;
}

static int failing_rng(void *arg, uint8_t *buf, size_t len)
{
	(void)arg;
	(void)buf;
	(void)len;
	return -1;
}

static uint8_t rng_state;
static uint8_t resp[256];

static void start(struct nat_bind *t, const struct nat_rto *rto, uint32_t change, uint64_t now)
{
	assert_int_equal(nat_bind_init(t, rto, counter_rng, &rng_state), 0);
	assert_int_equal(nat_bind_start(t, SERVER, 3478, change, now), 0);
	assert_int_equal(t->state, NAT_BIND_RUNNING);
}

/* Tick every millisecond from t0 until the transaction ends; returns the
 * number of sends, their times (relative to t0) in at[], *end when it ended. */
static int run_schedule(struct nat_bind *t, uint64_t t0, uint64_t at[], uint64_t *end)
{
	int n = 0;
	const uint8_t *msg;
	size_t len;

	for (uint64_t now = t0; t->state == NAT_BIND_RUNNING; now++) {
		if (nat_bind_tick(t, now, &msg, &len)) {
			assert_ptr_equal(msg, t->req);
			assert_int_equal(len, t->req_len);
			at[n++] = now - t0;
		}
		*end = now - t0;
		assert_true(now - t0 < 100000);
	}
	return n;
}

static void test_rfc_schedule(void **state)
{
	(void)state;
	static const uint64_t want[] = { 0, 500, 1500, 3500, 7500, 15500, 31500 };
	struct nat_bind t;
	uint64_t at[16], end = 0;

	start(&t, NULL, 0, 1000);
	assert_int_equal(nat_bind_deadline(&t), 1000);
	assert_int_equal(run_schedule(&t, 1000, at, &end), 7);
	assert_memory_equal(at, want, sizeof(want));
	assert_int_equal(end, 39500);                       /* 31500 + 16 x 500 */
	assert_int_equal(t.state, NAT_BIND_TIMEOUT);
	assert_true(nat_bind_deadline(&t) == UINT64_MAX);
}

static void test_custom_schedule(void **state)
{
	(void)state;
	static const uint64_t want[] = { 0, 10, 30 };
	struct nat_rto rto = { 10, 3, 4 };
	struct nat_bind t;
	uint64_t at[16], end = 0;

	start(&t, &rto, 0, 0);
	assert_int_equal(run_schedule(&t, 0, at, &end), 3);
	assert_memory_equal(at, want, sizeof(want));
	assert_int_equal(end, 70);
}

static void test_late_tick_keeps_slots(void **state)
{
	(void)state;
	struct nat_bind t;
	const uint8_t *msg;
	size_t len;

	start(&t, NULL, 0, 0);
	assert_int_equal(nat_bind_tick(&t, 0, &msg, &len), 1);
	assert_int_equal(nat_bind_tick(&t, 499, &msg, &len), 0);
	assert_int_equal(nat_bind_tick(&t, 900, &msg, &len), 1);   /* late */
	assert_int_equal(nat_bind_deadline(&t), 1500);
	assert_int_equal(nat_bind_tick(&t, 900, &msg, &len), 0);
}

static void test_bad_config(void **state)
{
	(void)state;
	struct nat_bind t;

	assert_int_equal(nat_bind_init(&t, &(struct nat_rto){ 100, 0, 16 }, NULL, NULL), -1);
	assert_int_equal(nat_bind_init(&t, &(struct nat_rto){ 100, 33, 16 }, NULL, NULL), -1);
	assert_int_equal(nat_bind_init(&t, &(struct nat_rto){ 100, 7, 0 }, NULL, NULL), -1);
	assert_int_equal(nat_bind_init(&t, &(struct nat_rto){ 0, 0, 0 }, NULL, NULL), 0);
	assert_int_equal(t.rto.rto_ms, 500);
	assert_int_equal(nat_bind_init(&t, NULL, failing_rng, NULL), 0);
	assert_int_equal(nat_bind_start(&t, SERVER, 3478, 0, 0), -1);
	/* getrandom() by default */
	assert_int_equal(nat_bind_init(&t, NULL, NULL, NULL), 0);
	assert_int_equal(nat_bind_start(&t, SERVER, 3478, 0, 0), 0);
}

static void test_request_bytes(void **state)
{
	(void)state;
	struct nat_bind t;
	struct nat_stun_msg m;

	start(&t, NULL, NAT_STUN_CHANGE_IP | NAT_STUN_CHANGE_PORT, 0);
	assert_int_equal(nat_stun_parse(t.req, t.req_len, &m), 0);
	assert_int_equal(m.cls, NAT_STUN_REQUEST);
	assert_int_equal(m.method, NAT_STUN_BINDING);
	assert_memory_equal(m.tid, t.tid, NAT_STUN_TID_LEN);
	assert_int_equal(m.change_request, NAT_STUN_CHANGE_IP | NAT_STUN_CHANGE_PORT);
	assert_int_not_equal(m.fp_off, 0);
	assert_int_equal(t.dst_ip, SERVER);
	assert_int_equal(t.dst_port, 3478);

	uint8_t first = t.tid[0];
	start(&t, NULL, 0, 0);
	assert_int_not_equal(t.tid[0], first);               /* a fresh id each time */
	assert_int_equal(nat_stun_parse(t.req, t.req_len, &m), 0);
	assert_int_equal(m.flags & NAT_STUN_F_CHANGE_REQUEST, 0);
}

/* A response of class cls to tid, with an XOR-MAPPED and/or MAPPED address. */
static struct nat_stun_msg *answer(const uint8_t *tid, enum nat_stun_class cls, uint16_t method,
				   bool xor, bool plain, uint16_t err)
{
	static struct nat_stun_msg m;
	struct nat_stun_builder b;
	struct nat_stun_addr x = { .family = NAT_STUN_FAM_IPV4, .port = 40000,
				   .ip4 = IP(203, 0, 113, 7) };
	struct nat_stun_addr p = { .family = NAT_STUN_FAM_IPV4, .port = 40001,
				   .ip4 = IP(203, 0, 113, 8) };

	nat_stun_start(&b, resp, sizeof(resp), cls, method, tid);
	if (xor)
		nat_stun_add_xor_addr(&b, NAT_STUN_A_XOR_MAPPED_ADDRESS, &x);
	if (plain)
		nat_stun_add_addr(&b, NAT_STUN_A_MAPPED_ADDRESS, &p);
	if (err)
		nat_stun_add_error(&b, err, "Unauthenticated");
	int len = nat_stun_add_fingerprint(&b);
	assert_int_equal(nat_stun_parse(resp, (size_t)len, &m), 0);
	return &m;
}

static void test_wrong_answers_ignored(void **state)
{
	(void)state;
	struct nat_bind t;
	uint8_t other[NAT_STUN_TID_LEN];

	start(&t, NULL, 0, 0);
	memcpy(other, t.tid, sizeof(other));
	other[11] ^= 1;
	assert_int_equal(nat_bind_input(&t, answer(other, NAT_STUN_SUCCESS, NAT_STUN_BINDING,
						   true, false, 0)), 0);
	assert_int_equal(nat_bind_input(&t, answer(t.tid, NAT_STUN_REQUEST, NAT_STUN_BINDING,
						   true, false, 0)), 0);
	assert_int_equal(nat_bind_input(&t, answer(t.tid, NAT_STUN_SUCCESS, NAT_STUN_REFRESH,
						   true, false, 0)), 0);
	assert_int_equal(t.state, NAT_BIND_RUNNING);
}

/* Answers to the running transaction and what they leave behind. */
static const struct {
	enum nat_stun_class cls;
	bool xor, plain;
	uint16_t err;
	enum nat_bind_state state;
	uint32_t ip;
	uint16_t port, code;
} answers[] = {
	{ NAT_STUN_SUCCESS, true, true, 0, NAT_BIND_OK, IP(203, 0, 113, 7), 40000, 0 },  /* XOR wins */
	{ NAT_STUN_SUCCESS, false, true, 0, NAT_BIND_OK, IP(203, 0, 113, 8), 40001, 0 }, /* fallback */
	{ NAT_STUN_ERROR_RESP, false, false, 401, NAT_BIND_ERROR, 0, 0, 401 },
	{ NAT_STUN_SUCCESS, false, false, 0, NAT_BIND_ERROR, 0, 0, 0 },  /* no address: no use */
};

static void test_answers(void **state)
{
	(void)state;
	struct nat_bind t;
	const uint8_t *msg;
	size_t len;

	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		start(&t, NULL, 0, 0);
		assert_int_equal(nat_bind_input(&t, answer(t.tid, answers[i].cls, NAT_STUN_BINDING,
							   answers[i].xor, answers[i].plain,
							   answers[i].err)), 1);
		assert_int_equal(t.state, answers[i].state);
		assert_int_equal(t.mapped.ip4, answers[i].ip);
		assert_int_equal(t.mapped.port, answers[i].port);
		assert_int_equal(t.error_code, answers[i].code);
		/* finished: the same answer again is not ours, nothing more to send */
		assert_int_equal(nat_bind_input(&t, answer(t.tid, NAT_STUN_SUCCESS, NAT_STUN_BINDING,
							   true, false, 0)), 0);
		assert_int_equal(nat_bind_tick(&t, 100000, &msg, &len), 0);
	}
	assert_string_equal(nat_bind_state_name(NAT_BIND_OK), "ok");
	assert_string_equal(nat_bind_state_name(NAT_BIND_TIMEOUT), "timeout");
	assert_string_equal(nat_bind_state_name((enum nat_bind_state)99), "unknown");
}

/* RFC 8489 6.3.3: unknown comprehension-required attributes in a success
 * response fail the transaction */
static void test_unknown_in_success(void **state)
{
	(void)state;
	struct nat_bind t;
	struct nat_stun_builder b;
	struct nat_stun_msg m;
	struct nat_stun_addr x = { .family = NAT_STUN_FAM_IPV4, .port = 1, .ip4 = 2 };

	start(&t, NULL, 0, 0);
	nat_stun_start(&b, resp, sizeof(resp), NAT_STUN_SUCCESS, NAT_STUN_BINDING, t.tid);
	nat_stun_add_xor_addr(&b, NAT_STUN_A_XOR_MAPPED_ADDRESS, &x);
	int len = nat_stun_add_raw(&b, 0x7001, "?", 1);
	assert_int_equal(nat_stun_parse(resp, (size_t)len, &m), 0);
	assert_int_equal(nat_bind_input(&t, &m), 1);
	assert_int_equal(t.state, NAT_BIND_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_schedule),
		cmocka_unit_test(test_custom_schedule),
		cmocka_unit_test(test_late_tick_keeps_slots),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_request_bytes),
		cmocka_unit_test(test_wrong_answers_ignored),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_unknown_in_success),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
