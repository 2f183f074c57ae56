/* SPDX-License-Identifier: BSD-3-Clause
 * nat_turn against the fake server (ut_turn.h): permissions, channels, the
 * Send/Data indication and ChannelData helpers, foreign answers, names. */
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

static void test_permission(void **state)
{
	(void)state;
	struct nat_turn t;

	ut_turn_allocate_for(&t, 3600);
	assert_int_equal(nat_turn_permit(&t, PEER, 0), 0);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_PENDING);
	const struct nat_stun_msg *q = ut_turn_last_req();
	assert_int_equal(q->method, NAT_STUN_CREATE_PERM);
	assert_int_not_equal(q->mi_off, 0);
	ut_turn_pump(&t);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_ACTIVE);
	assert_int_equal(ut_tf.last_peer.ip4, PEER);
	assert_int_equal(nat_turn_permit(&t, PEER, 0), 0);    /* already there: nothing sent */
	assert_int_equal(ut_tf.by_method[NAT_STUN_CREATE_PERM], 1);
	/* refreshed every 4 minutes */
	ut_turn_run_until(&t, 239 * SEC);
	assert_int_equal(ut_tf.by_method[NAT_STUN_CREATE_PERM], 1);
	ut_turn_run_until(&t, 240 * SEC);
	assert_int_equal(ut_tf.by_method[NAT_STUN_CREATE_PERM], 2);
	ut_turn_run_until(&t, 1000 * SEC);
	assert_int_equal(ut_tf.by_method[NAT_STUN_CREATE_PERM], 5);
	assert_int_equal(ut_tf.by_method[NAT_STUN_REFRESH], 0);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_ACTIVE);
	/* the server stops answering: the permission expires 5 minutes after
	 * its last success, although refreshes go on till then */
	ut_tf.drop = true;
	ut_turn_run_until(&t, 960 * SEC + 300 * SEC - 1);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_ACTIVE);
	ut_turn_run_until(&t, 960 * SEC + 300 * SEC);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_FAILED);
	assert_int_equal(t.perms[0].error, NAT_TURN_ERR_EXPIRED);
}

static void test_permission_errors(void **state)
{
	(void)state;
	struct nat_turn t;

	ut_turn_allocate(&t);
	ut_tf.err[NAT_STUN_CREATE_PERM] = 403;
	assert_int_equal(nat_turn_permit(&t, PEER, 0), 0);
	ut_turn_pump(&t);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_FAILED);
	assert_int_equal(t.perms[0].error_code, 403);
	assert_int_equal(t.state, NAT_TURN_ALLOCATED);
	ut_tf.err[NAT_STUN_CREATE_PERM] = 0;                      /* asking again retries */
	assert_int_equal(nat_turn_permit(&t, PEER, 0), 0);
	ut_turn_pump(&t);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_ACTIVE);
	/* slots run out */
	for (uint32_t i = 1; i < NAT_TURN_MAX_PERMS; i++)
		assert_int_equal(nat_turn_permit(&t, PEER + i, 0), 0);
	assert_int_equal(nat_turn_permit(&t, PEER + 100, 0), -1);
	/* 437 to a permission: the allocation is gone */
	ut_turn_allocate(&t);
	ut_tf.err[NAT_STUN_CREATE_PERM] = 437;
	assert_int_equal(nat_turn_permit(&t, PEER, 0), 0);
	ut_turn_pump(&t);
	assert_int_equal(t.state, NAT_TURN_FAILED);
	assert_int_equal(t.error_code, 437);
	/* no answer: failed after the transaction timed out */
	ut_turn_allocate(&t);
	ut_tf.drop = true;
	assert_int_equal(nat_turn_permit(&t, PEER, 0), 0);
	ut_turn_run_until(&t, 40 * SEC);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_FAILED);
	assert_int_equal(t.perms[0].error, NAT_TURN_ERR_TIMEOUT);
}

static void test_channels(void **state)
{
	(void)state;
	struct nat_turn t;
	uint32_t ip;
	uint16_t port;

	ut_turn_allocate(&t);
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6000, 0), 0x4000);
	assert_int_equal(nat_turn_channel(&t, PEER, 6000), 0);        /* not confirmed yet */
	assert_int_equal(nat_turn_channel_peer(&t, 0x4000, &ip, &port), 0);
	ut_turn_pump(&t);
	assert_int_equal(nat_turn_channel(&t, PEER, 6000), 0x4000);
	assert_int_equal(ut_tf.last_channel, 0x4000);
	assert_int_equal(ut_tf.last_peer.ip4, PEER);
	assert_int_equal(ut_tf.last_peer.port, 6000);
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6000, 0), 0x4000);  /* same peer */
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6002, 0), 0x4001);
	assert_int_equal(nat_turn_bind_channel(&t, PEER2, 6000, 0), 0x4002);
	ut_turn_pump(&t);
	assert_int_equal(ut_tf.by_method[NAT_STUN_CHANNEL_BIND], 3);
	assert_int_equal(nat_turn_channel_peer(&t, 0x4002, &ip, &port), 0);
	assert_int_equal(ip, PEER2);
	assert_int_equal(port, 6000);
	assert_int_equal(nat_turn_channel_peer(&t, 0x4003, &ip, &port), -1);
	/* refreshed before the binding's 10 minutes (every 4, for the permission) */
	ut_turn_run_until(&t, 240 * SEC);
	assert_int_equal(ut_tf.by_method[NAT_STUN_CHANNEL_BIND], 6);
	assert_int_equal(ut_tf.last_channel, 0x4002);
	assert_int_equal(nat_turn_channel(&t, PEER, 6000), 0x4000);
	/* a rejected binding, then 437 that ends the allocation */
	ut_tf.err[NAT_STUN_CHANNEL_BIND] = 400;
	assert_int_equal(nat_turn_bind_channel(&t, PEER2, 7000, 250 * SEC), 0x4003);
	ut_turn_pump(&t);
	assert_int_equal(t.chans[3].state, NAT_TURN_PEER_FAILED);
	assert_int_equal(t.chans[3].error_code, 400);
	assert_int_equal(nat_turn_bind_channel(&t, PEER2, 7000, 250 * SEC), 0x4004);
	ut_tf.err[NAT_STUN_CHANNEL_BIND] = 437;
	ut_turn_pump(&t);
	assert_int_equal(t.state, NAT_TURN_FAILED);
	assert_int_equal(nat_turn_channel(&t, PEER, 6000), 0);
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6000, 0), -1);
}

/* A binding that got no answer is asked again with the same number (the
 * server may hold it), one that was refused with a new number. */
static void test_channel_retry(void **state)
{
	(void)state;
	struct nat_turn t;

	ut_turn_allocate_for(&t, 3600);
	ut_tf.drop = true;
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6000, 0), 0x4000);
	ut_turn_run_until(&t, 40 * SEC);
	assert_int_equal(t.chans[0].state, NAT_TURN_PEER_FAILED);
	assert_int_equal(t.chans[0].error, NAT_TURN_ERR_TIMEOUT);
	ut_tf.drop = false;
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6000, 40 * SEC), 0x4000);
	ut_turn_pump(&t);
	assert_int_equal(nat_turn_channel(&t, PEER, 6000), 0x4000);
	ut_tf.err[NAT_STUN_CHANNEL_BIND] = 400;
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6001, 40 * SEC), 0x4001);
	ut_turn_pump(&t);
	ut_tf.err[NAT_STUN_CHANNEL_BIND] = 0;
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6001, 40 * SEC), 0x4002);
	ut_turn_pump(&t);
	assert_int_equal(nat_turn_channel(&t, PEER, 6001), 0x4002);
}

static void test_channel_numbers_wrap(void **state)
{
	(void)state;
	struct nat_turn t;

	ut_turn_allocate(&t);
	t.next_channel = NAT_TURN_CHANNEL_MAX;
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 1, 0), 0x4FFF);
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 2, 0), 0x4000);
	t.next_channel = 0x4000;                       /* in use: skipped */
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 3, 0), 0x4001);
	for (uint16_t i = 4; i < 4 + NAT_TURN_MAX_CHANNELS - 3; i++)
		assert_true(nat_turn_bind_channel(&t, PEER, i, 0) > 0);
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 100, 0), -1);
}

/* ---- data helpers ------------------------------------------------------- */

static void test_channel_data(void **state)
{
	(void)state;
	static const size_t sizes[] = { 0, 1, 3, 4, 5, 160, 1200 };
	uint8_t payload[1200], out[1300];
	const uint8_t *p;
	size_t plen;
	uint16_t ch;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int n = nat_turn_wrap_channel(0x4001, payload, sizes[i], out, sizeof(out));
		assert_int_equal(n, 4 + sizes[i]);                    /* no padding */
		assert_int_equal(out[0], 0x40);
		assert_int_equal(out[1], 0x01);
		assert_int_equal(nat_turn_unwrap_channel(out, (size_t)n, &ch, &p, &plen), 0);
		assert_int_equal(ch, 0x4001);
		assert_int_equal(plen, sizes[i]);
		assert_ptr_equal(p, out + 4);
		assert_memory_equal(p, payload, sizes[i]);
		/* a peer's padding (up to a multiple of 4) is fine, more is not */
		size_t padded = 4 + ((sizes[i] + 3) & ~(size_t)3);
		assert_int_equal(nat_turn_unwrap_channel(out, padded, &ch, &p, &plen), 0);
		assert_int_equal(plen, sizes[i]);
		assert_int_equal(nat_turn_unwrap_channel(out, padded + 4, &ch, &p, &plen), -1);
	}
	/* in place: the payload already behind the header */
	memcpy(out + 4, "hello", 5);
	assert_int_equal(nat_turn_wrap_channel(0x4FFF, out + 4, 5, out, 9), 9);
	assert_int_equal(nat_turn_unwrap_channel(out, 9, &ch, &p, &plen), 0);
	assert_int_equal(ch, 0x4FFF);
	assert_memory_equal(p, "hello", 5);
}

static void test_channel_data_rejects(void **state)
{
	(void)state;
	static const struct { uint8_t b[8]; size_t len; } bad[] = {
		{ { 0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4 }, 8 },   /* length beyond the datagram */
		{ { 0x40, 0x00, 0xFF, 0xFF, 1, 2, 3, 4 }, 8 },
		{ { 0x50, 0x00, 0x00, 0x04, 1, 2, 3, 4 }, 8 },   /* 0x5000: not a channel (8656) */
		{ { 0x7F, 0xFF, 0x00, 0x04, 1, 2, 3, 4 }, 8 },   /* RFC 5766 range, not 8656's */
		{ { 0x3F, 0xFF, 0x00, 0x04, 1, 2, 3, 4 }, 8 },
		{ { 0x80, 0x00, 0x00, 0x04, 1, 2, 3, 4 }, 8 },
		{ { 0x00, 0x01, 0x00, 0x00 }, 4 },               /* STUN, not ChannelData */
		{ { 0x40, 0x00, 0x00 }, 3 },                     /* short */
		{ { 0x40, 0x00, 0x00, 0x00, 0, 0, 0, 0 }, 8 },   /* 4 bytes after an empty payload */
	};
	uint8_t out[16];
	const uint8_t *p;
	size_t plen;
	uint16_t ch;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(nat_turn_unwrap_channel(bad[i].b, bad[i].len, &ch, &p, &plen), -1);
	assert_int_equal(nat_turn_wrap_channel(0x3FFF, out, 1, out, sizeof(out)), -1);
	assert_int_equal(nat_turn_wrap_channel(0x5000, out, 1, out, sizeof(out)), -1);
	assert_int_equal(nat_turn_wrap_channel(0x4000, out, 13, out, sizeof(out)), -1);
	assert_int_equal(nat_turn_wrap_channel(0x4000, out, 0, out, 3), -1);
	assert_int_equal(nat_turn_wrap_channel(0x4000, NULL, 70000, out, sizeof(out)), -1);
}

static void test_send_indication(void **state)
{
	(void)state;
	struct nat_turn t;
	struct nat_stun_msg m;
	struct nat_stun_addr peer = { .family = NAT_STUN_FAM_IPV4, .port = 6000, .ip4 = PEER }, got;
	uint8_t out[256], out2[256];
	uint16_t len;

	ut_turn_allocate(&t);
	int n = nat_turn_wrap_send(&t, &peer, (const uint8_t *)"media", 5, out, sizeof(out));
	assert_int_equal(n, 20 + 12 + 4 + 8);
	assert_int_equal(nat_stun_parse(out, (size_t)n, &m), 0);
	assert_int_equal(m.cls, NAT_STUN_INDICATION);
	assert_int_equal(m.method, NAT_STUN_SEND);
	assert_int_equal(nat_stun_find_xor_addr(&m, NAT_TURN_A_XOR_PEER_ADDRESS, &got), 0);
	assert_int_equal(got.ip4, PEER);
	assert_int_equal(got.port, 6000);
	const uint8_t *d = nat_stun_find(&m, NAT_TURN_A_DATA, &len);
	assert_non_null(d);
	assert_int_equal(len, 5);
	assert_memory_equal(d, "media", 5);
	/* each indication has its own id */
	assert_int_equal(nat_turn_wrap_send(&t, &peer, (const uint8_t *)"media", 5, out2,
					    sizeof(out2)), n);
	assert_memory_not_equal(out + 8, out2 + 8, NAT_STUN_TID_LEN);
	assert_int_equal(nat_turn_wrap_send(&t, &peer, out2, 200, out, 100), -1);
	peer.family = 0;
	assert_int_equal(nat_turn_wrap_send(&t, &peer, out2, 2, out, sizeof(out)), -1);
}

/* A Data indication as a server sends it. */
static size_t data_ind(uint8_t *out, enum nat_stun_class cls, uint16_t method, bool peer,
		       bool data, uint16_t extra, bool fp)
{
	static const uint8_t tid[NAT_STUN_TID_LEN] = { 1, 2, 3 };
	struct nat_stun_addr a = { .family = NAT_STUN_FAM_IPV4, .port = 6000, .ip4 = PEER };
	struct nat_stun_builder b;

	int n = nat_stun_start(&b, out, 256, cls, method, tid);
	if (peer)
		n = nat_stun_add_xor_addr(&b, NAT_TURN_A_XOR_PEER_ADDRESS, &a);
	if (data)
		n = nat_stun_add_raw(&b, NAT_TURN_A_DATA, "rtp!x", 5);
	if (extra)
		n = nat_stun_add_raw(&b, extra, "", 0);
	if (fp)
		n = nat_stun_add_fingerprint(&b);
	assert_true(n > 0);
	return (size_t)n;
}

static void test_data_indication(void **state)
{
	(void)state;
	static const struct {
		enum nat_stun_class cls;
		uint16_t method;
		bool peer, data;
		uint16_t extra;
		bool fp;
		int rc;
	} cases[] = {
		{ NAT_STUN_INDICATION, NAT_STUN_DATA, true, true, 0, false, 0 },
		{ NAT_STUN_INDICATION, NAT_STUN_DATA, true, true, 0, true, 0 },
		{ NAT_STUN_INDICATION, NAT_STUN_DATA, true, true, NAT_TURN_A_DONT_FRAGMENT, true, 0 },
		{ NAT_STUN_INDICATION, NAT_STUN_DATA, true, true, 0x8050, false, 0 },  /* optional */
		{ NAT_STUN_INDICATION, NAT_STUN_DATA, true, true, 0x7001, false, -1 }, /* required */
		{ NAT_STUN_INDICATION, NAT_STUN_DATA, false, true, 0, false, -1 },
		{ NAT_STUN_INDICATION, NAT_STUN_DATA, true, false, 0, false, -1 },
		{ NAT_STUN_INDICATION, NAT_STUN_SEND, true, true, 0, false, -1 },
		{ NAT_STUN_SUCCESS, NAT_STUN_DATA, true, true, 0, false, -1 },
	};
	uint8_t buf[256];
	struct nat_stun_addr peer;
	const uint8_t *p;
	size_t plen;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = data_ind(buf, cases[i].cls, cases[i].method, cases[i].peer,
				    cases[i].data, cases[i].extra, cases[i].fp);
		assert_int_equal(nat_turn_unwrap_data(buf, n, &peer, &p, &plen), cases[i].rc);
		if (cases[i].rc)
			continue;
		assert_int_equal(peer.ip4, PEER);
		assert_int_equal(peer.port, 6000);
		assert_int_equal(plen, 5);
		assert_memory_equal(p, "rtp!x", 5);
	}
	/* a broken FINGERPRINT, a truncated datagram */
	size_t n = data_ind(buf, NAT_STUN_INDICATION, NAT_STUN_DATA, true, true, 0, true);
	buf[n - 1] ^= 1;
	assert_int_equal(nat_turn_unwrap_data(buf, n, &peer, &p, &plen), -1);
	assert_int_equal(nat_turn_unwrap_data(buf, n - 4, &peer, &p, &plen), -1);
	/* a Data indication is not an answer */
	struct nat_turn t;
	ut_turn_allocate(&t);
	n = data_ind(buf, NAT_STUN_INDICATION, NAT_STUN_DATA, true, true, 0, false);
	assert_int_equal(nat_turn_input(&t, buf, n, 0), 0);
}

/* Answers that are not for us change nothing. */
static void test_foreign_answers(void **state)
{
	(void)state;
	struct nat_turn t;
	struct nat_turn_cfg c = ut_turn_cfg_default();
	uint8_t out[1024];

	ut_turn_fake_reset();
	ut_tf.drop = true;
	ut_turn_start(&t, &c);
	ut_tf.drop = false;
	uint64_t i = ut_tf.n_req - 1;
	int len = ut_turn_handle(&ut_tf, ut_tf.reqs[i].buf, ut_tf.reqs[i].len, out);   /* a 401 */
	assert_true(len > 0);
	out[8] ^= 1;                                                /* another id */
	assert_int_equal(nat_turn_input(&t, out, (size_t)len, 0), 0);
	assert_int_equal(nat_turn_input(&t, out, 10, 0), 0);
	out[8] ^= 1;
	out[0] ^= 0x01;                          /* another method: FINGERPRINT breaks too */
	assert_int_equal(nat_turn_input(&t, out, (size_t)len, 0), 0);
	out[0] ^= 0x01;
	assert_int_equal(nat_turn_input(&t, out, (size_t)len, 0), 1);
	assert_int_equal(t.state, NAT_TURN_ALLOCATING);
	assert_true(t.have_key);
	assert_int_equal(nat_turn_input(&t, out, (size_t)len, 0), 0);   /* that id is done */
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(nat_turn_state_name(NAT_TURN_ALLOCATING), "allocating");
	assert_string_equal(nat_turn_state_name(NAT_TURN_ALLOCATED), "allocated");
	assert_string_equal(nat_turn_state_name(NAT_TURN_REFRESHING), "refreshing");
	assert_string_equal(nat_turn_state_name(NAT_TURN_RELEASED), "released");
	assert_string_equal(nat_turn_state_name(NAT_TURN_FAILED), "failed");
	assert_string_equal(nat_turn_state_name((enum nat_turn_state)99), "unknown");
	assert_string_equal(nat_turn_error_name(NAT_TURN_ERR_AUTH), "bad-credentials");
	assert_string_equal(nat_turn_error_name(NAT_TURN_ERR_TIMEOUT), "timeout");
	assert_string_equal(nat_turn_error_name((enum nat_turn_error)99), "unknown");
	assert_string_equal(nat_turn_peer_state_name(NAT_TURN_PEER_ACTIVE), "active");
	assert_string_equal(nat_turn_code_name(437), "allocation-mismatch");
	assert_string_equal(nat_turn_code_name(441), "wrong-credentials");
	assert_string_equal(nat_turn_code_name(486), "allocation-quota-reached");
	assert_string_equal(nat_turn_code_name(508), "insufficient-capacity");
	assert_string_equal(nat_turn_code_name(499), "error");
	assert_string_equal(nat_turn_code_name(0), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_permission),
		cmocka_unit_test(test_permission_errors),
		cmocka_unit_test(test_channels),
		cmocka_unit_test(test_channel_retry),
		cmocka_unit_test(test_channel_numbers_wrap),
		cmocka_unit_test(test_channel_data),
		cmocka_unit_test(test_channel_data_rejects),
		cmocka_unit_test(test_send_indication),
		cmocka_unit_test(test_data_indication),
		cmocka_unit_test(test_foreign_answers),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
