/* SPDX-License-Identifier: BSD-3-Clause
 * The fake TURN server of ut_turn.h. */
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

/* ---- the fake server ---------------------------------------------------- */


struct ut_turn_fake ut_tf;
static uint8_t rng_n;

static int counter_rng(void *arg, uint8_t *buf, size_t len)
{
	uint8_t *n = arg;

	memset(buf, 0x5A, len);
	buf[0] = ++*n;
	buf[1] = (uint8_t)(*n >> 8);
	return 0;
}

static void capture(void *arg, uint32_t ip, uint16_t port, const uint8_t *msg, size_t len)
{
	struct ut_turn_fake *f = arg;

	assert_int_equal(ip, SERVER);
	assert_int_equal(port, SERVER_PORT);
	assert_true(len <= NAT_TURN_REQ_MAX);
	memcpy(f->reqs[f->n_req % RING].buf, msg, len);
	f->reqs[f->n_req % RING].len = len;
	f->reqs[f->n_req % RING].at = f->now;
	f->n_req++;
}

void ut_turn_key_of(const char *password, uint8_t key[NAT_STUN_LT_KEY_LEN])
{
	assert_int_equal(nat_stun_long_term_key("user", REALM, password, key), 0);
}

static void nonce_of(const struct ut_turn_fake *f, char out[16])
{
	snprintf(out, 16, "n%08x", f->nonce);
}

/* An answer to q: error code (0: success), the caller adds the rest. */
void ut_turn_answer(struct nat_stun_builder *b, uint8_t *out, const struct nat_stun_msg *q,
		   uint16_t code)
{
	nat_stun_start(b, out, 1024, code ? NAT_STUN_ERROR_RESP : NAT_STUN_SUCCESS, q->method,
		       q->tid);
	if (code)
		nat_stun_add_error(b, code, code == 401 ? "Unauthorized" : "Some Error");
}

static int finish(const struct ut_turn_fake *f, struct nat_stun_builder *b, bool sign)
{
	uint8_t key[NAT_STUN_LT_KEY_LEN];

	if (sign && !f->open) {
		ut_turn_key_of(f->bad_mi ? "wrong" : f->password, key);
		nat_stun_add_integrity(b, key, sizeof(key));
	}
	return nat_stun_add_fingerprint(b);
}

static int challenge(struct ut_turn_fake *f, const struct nat_stun_msg *q, uint16_t code, uint8_t *out)
{
	struct nat_stun_builder b;
	char nonce[16];

	nonce_of(f, nonce);
	ut_turn_answer(&b, out, q, code);
	nat_stun_add_str(&b, NAT_STUN_A_REALM, REALM);
	nat_stun_add_str(&b, NAT_STUN_A_NONCE, nonce);
	return finish(f, &b, false);
}

bool ut_turn_text_is(struct nat_stun_text t, const char *s)
{
	return t.p && t.len == strlen(s) && memcmp(t.p, s, t.len) == 0;
}

uint32_t ut_turn_u32_attr(const struct nat_stun_msg *q, uint16_t type, uint32_t absent)
{
	uint16_t len;
	const uint8_t *v = nat_stun_find(q, type, &len);

	if (!v)
		return absent;
	assert_int_equal(len, 4);
	return (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
}

/* Credentials as RFC 8489 9.2.4 checks them: 401 without, 401 for a bad
 * MAC, 438 for an old nonce or when told to. 0 when the request may go on. */
static int check_auth(struct ut_turn_fake *f, const struct nat_stun_msg *q, uint8_t *out)
{
	uint8_t key[NAT_STUN_LT_KEY_LEN];
	char nonce[16];

	if (f->open)
		return 0;
	if (!q->mi_off)
		return challenge(f, q, 401, out);
	assert_true(ut_turn_text_is(q->username, "user"));
	assert_true(ut_turn_text_is(q->realm, REALM));
	ut_turn_key_of(f->password, key);
	if (nat_stun_check_integrity(q, key, sizeof(key)) != 0)
		return challenge(f, q, 401, out);
	nonce_of(f, nonce);
	if (!ut_turn_text_is(q->nonce, nonce))
		return challenge(f, q, 438, out);
	if (f->stale > 0) {
		f->stale--;
		f->nonce++;
		return challenge(f, q, 438, out);
	}
	return 0;
}

static void add_allocation(struct ut_turn_fake *f, struct nat_stun_builder *b, const struct nat_stun_msg *q)
{
	static const uint8_t udp[4] = { 17, 0, 0, 0 };
	struct nat_stun_addr relay = { .family = NAT_STUN_FAM_IPV4, .port = RELAY_PORT, .ip4 = RELAY };
	struct nat_stun_addr mapped = { .family = NAT_STUN_FAM_IPV4, .port = MAPPED_PORT,
					.ip4 = MAPPED };
	uint16_t len;
	const uint8_t *rt = nat_stun_find(q, NAT_TURN_A_REQUESTED_TRANSPORT, &len);

	assert_non_null(rt);
	assert_memory_equal(rt, udp, 4);
	if (!f->no_relayed)
		nat_stun_add_xor_addr(b, NAT_TURN_A_XOR_RELAYED_ADDRESS, &relay);
	nat_stun_add_xor_addr(b, NAT_STUN_A_XOR_MAPPED_ADDRESS, &mapped);
	if (f->unknown_attr)
		nat_stun_add_raw(b, 0x7001, "x", 1);
}

static void take_peer(struct ut_turn_fake *f, const struct nat_stun_msg *q)
{
	assert_int_equal(nat_stun_find_xor_addr(q, NAT_TURN_A_XOR_PEER_ADDRESS, &f->last_peer), 0);
	f->last_channel = (uint16_t)(ut_turn_u32_attr(q, NAT_TURN_A_CHANNEL_NUMBER, 0) >> 16);
}

/* The answer to one request into out; 0 for none. */
int ut_turn_handle(struct ut_turn_fake *f, const uint8_t *req, size_t len, uint8_t *out)
{
	struct nat_stun_msg q;
	struct nat_stun_builder b;

	assert_int_equal(nat_stun_parse(req, len, &q), 0);
	assert_int_equal(q.cls, NAT_STUN_REQUEST);
	assert_int_not_equal(q.fp_off, 0);           /* FINGERPRINT on every request */
	assert_true(q.method < 16);
	f->by_method[q.method]++;
	if (f->drop || f->drop_first > 0) {
		f->drop_first--;
		return 0;
	}
	int rc = check_auth(f, &q, out);
	if (rc)
		return rc;
	if (f->err[q.method]) {
		ut_turn_answer(&b, out, &q, f->err[q.method]);
		return finish(f, &b, !f->unsigned_err);
	}
	ut_turn_answer(&b, out, &q, 0);
	if (q.method == NAT_STUN_ALLOCATE)
		add_allocation(f, &b, &q);
	if (q.method == NAT_STUN_ALLOCATE || q.method == NAT_STUN_REFRESH) {
		f->last_lifetime = ut_turn_u32_attr(&q, NAT_TURN_A_LIFETIME, ~0u);
		uint32_t grant = f->grant ? f->grant : 600;
		nat_stun_add_u32(&b, NAT_TURN_A_LIFETIME, f->last_lifetime == 0 ? 0 : grant);
	} else {
		take_peer(f, &q);
	}
	return finish(f, &b, true);
}

/* Hands every request sent so far to the server, its answers to t. */
void ut_turn_pump(struct nat_turn *t)
{
	uint8_t out[1024];

	while (ut_tf.done < ut_tf.n_req) {
		uint64_t i = ut_tf.done++ % RING;
		int len = ut_turn_handle(&ut_tf, ut_tf.reqs[i].buf, ut_tf.reqs[i].len, out);
		if (len > 0)
			nat_turn_input(t, out, (size_t)len, ut_tf.now);
	}
}

/* Runs timers and the server until `until` (or until nothing is due). */
void ut_turn_run_until(struct nat_turn *t, uint64_t until)
{
	for (int guard = 0;; guard++) {
		assert_true(guard < 100000);
		uint64_t d = nat_turn_deadline(t);
		if (d > until)
			break;
		assert_true(d >= ut_tf.now);
		ut_tf.now = d;
		nat_turn_tick(t, d);
		ut_turn_pump(t);
	}
	ut_tf.now = until;
}

void ut_turn_fake_reset(void)
{
	memset(&ut_tf, 0, sizeof(ut_tf));
	ut_tf.password = "secret";
	ut_tf.nonce = 1;
	rng_n = 0;
}

struct nat_turn_cfg ut_turn_cfg_default(void)
{
	return (struct nat_turn_cfg){
		.server_ip = SERVER, .server_port = SERVER_PORT,
		.username = "user", .password = "secret", .lifetime_s = 0,
		.software = "rtprec test", .send = capture, .send_arg = &ut_tf,
		.rng = counter_rng, .rng_arg = &rng_n,
	};
}

void ut_turn_start(struct nat_turn *t, const struct nat_turn_cfg *c)
{
	assert_int_equal(nat_turn_start(t, c, ut_tf.now), 0);
	ut_turn_pump(t);
}

void ut_turn_allocate_for(struct nat_turn *t, uint32_t grant)
{
	struct nat_turn_cfg c = ut_turn_cfg_default();

	ut_turn_fake_reset();
	ut_tf.grant = grant;
	ut_turn_start(t, &c);
	assert_int_equal(t->state, NAT_TURN_ALLOCATED);
}

void ut_turn_allocate(struct nat_turn *t)
{
	ut_turn_allocate_for(t, 600);
}

/* The last request the client sent, parsed. */
const struct nat_stun_msg *ut_turn_last_req(void)
{
	static struct nat_stun_msg m;
	uint64_t i = (ut_tf.n_req - 1) % RING;

	assert_true(ut_tf.n_req > 0);
	assert_int_equal(nat_stun_parse(ut_tf.reqs[i].buf, ut_tf.reqs[i].len, &m), 0);
	return &m;
}
