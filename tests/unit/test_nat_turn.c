/* SPDX-License-Identifier: BSD-3-Clause
 * nat_turn against a fake TURN server in simulated time: long-term
 * credentials (401, 438, MESSAGE-INTEGRITY both ways), error answers,
 * retransmissions, refresh timing, permissions and channels, release; the
 * Send/Data/ChannelData helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nat/nat_turn.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define SERVER IP(198, 51, 100, 1)
#define SERVER_PORT 3478
#define RELAY IP(203, 0, 113, 9)
#define RELAY_PORT 50000
#define MAPPED IP(203, 0, 113, 1)
#define MAPPED_PORT 40000
#define PEER IP(192, 0, 2, 10)
#define PEER2 IP(192, 0, 2, 11)
#define REALM "example.org"
#define SEC 1000u
#define RING 64

/* ---- the fake server ---------------------------------------------------- */

struct fake {
	/* behaviour */
	const char *password;      /* the server's idea of user's password */
	bool open;                 /* no credentials asked */
	int stale;                 /* 438 answers to give to good requests */
	bool drop;                 /* answer nothing */
	int drop_first;            /* lose this many requests first */
	bool bad_mi;               /* sign answers with a wrong key */
	bool unsigned_err;         /* error answers without MESSAGE-INTEGRITY */
	bool no_relayed, unknown_attr;
	uint32_t grant;            /* LIFETIME granted, 0: 600 */
	uint16_t err[16];          /* forced error code by method */
	/* state */
	uint32_t nonce;
	uint64_t now;
	uint64_t n_req, done;
	struct { uint8_t buf[NAT_TURN_REQ_MAX]; size_t len; uint64_t at; } reqs[RING];
	int by_method[16];
	uint32_t last_lifetime;    /* LIFETIME of the last Allocate/Refresh, ~0u when absent */
	struct nat_stun_addr last_peer;
	uint16_t last_channel;
};

static struct fake F;
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
	struct fake *f = arg;

	assert_int_equal(ip, SERVER);
	assert_int_equal(port, SERVER_PORT);
	assert_true(len <= NAT_TURN_REQ_MAX);
	memcpy(f->reqs[f->n_req % RING].buf, msg, len);
	f->reqs[f->n_req % RING].len = len;
	f->reqs[f->n_req % RING].at = f->now;
	f->n_req++;
}

static void key_of(const char *password, uint8_t key[NAT_STUN_LT_KEY_LEN])
{
	assert_int_equal(nat_stun_long_term_key("user", REALM, password, key), 0);
}

static void nonce_of(const struct fake *f, char out[16])
{
	snprintf(out, 16, "n%08x", f->nonce);
}

/* An answer to q: error code (0: success), the caller adds the rest. */
static void answer(struct nat_stun_builder *b, uint8_t *out, const struct nat_stun_msg *q,
		   uint16_t code)
{
	nat_stun_start(b, out, 1024, code ? NAT_STUN_ERROR_RESP : NAT_STUN_SUCCESS, q->method,
		       q->tid);
	if (code)
		nat_stun_add_error(b, code, code == 401 ? "Unauthorized" : "Some Error");
}

static int finish(const struct fake *f, struct nat_stun_builder *b, bool sign)
{
	uint8_t key[NAT_STUN_LT_KEY_LEN];

	if (sign && !f->open) {
		key_of(f->bad_mi ? "wrong" : f->password, key);
		nat_stun_add_integrity(b, key, sizeof(key));
	}
	return nat_stun_add_fingerprint(b);
}

static int challenge(struct fake *f, const struct nat_stun_msg *q, uint16_t code, uint8_t *out)
{
	struct nat_stun_builder b;
	char nonce[16];

	nonce_of(f, nonce);
	answer(&b, out, q, code);
	nat_stun_add_str(&b, NAT_STUN_A_REALM, REALM);
	nat_stun_add_str(&b, NAT_STUN_A_NONCE, nonce);
	return finish(f, &b, false);
}

static bool text_is(struct nat_stun_text t, const char *s)
{
	return t.p && t.len == strlen(s) && memcmp(t.p, s, t.len) == 0;
}

static uint32_t u32_attr(const struct nat_stun_msg *q, uint16_t type, uint32_t absent)
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
static int check_auth(struct fake *f, const struct nat_stun_msg *q, uint8_t *out)
{
	uint8_t key[NAT_STUN_LT_KEY_LEN];
	char nonce[16];

	if (f->open)
		return 0;
	if (!q->mi_off)
		return challenge(f, q, 401, out);
	assert_true(text_is(q->username, "user"));
	assert_true(text_is(q->realm, REALM));
	key_of(f->password, key);
	if (nat_stun_check_integrity(q, key, sizeof(key)) != 0)
		return challenge(f, q, 401, out);
	nonce_of(f, nonce);
	if (!text_is(q->nonce, nonce))
		return challenge(f, q, 438, out);
	if (f->stale > 0) {
		f->stale--;
		f->nonce++;
		return challenge(f, q, 438, out);
	}
	return 0;
}

static void add_allocation(struct fake *f, struct nat_stun_builder *b, const struct nat_stun_msg *q)
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

static void take_peer(struct fake *f, const struct nat_stun_msg *q)
{
	assert_int_equal(nat_stun_find_xor_addr(q, NAT_TURN_A_XOR_PEER_ADDRESS, &f->last_peer), 0);
	f->last_channel = (uint16_t)(u32_attr(q, NAT_TURN_A_CHANNEL_NUMBER, 0) >> 16);
}

/* The answer to one request into out; 0 for none. */
static int handle(struct fake *f, const uint8_t *req, size_t len, uint8_t *out)
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
		answer(&b, out, &q, f->err[q.method]);
		return finish(f, &b, !f->unsigned_err);
	}
	answer(&b, out, &q, 0);
	if (q.method == NAT_STUN_ALLOCATE)
		add_allocation(f, &b, &q);
	if (q.method == NAT_STUN_ALLOCATE || q.method == NAT_STUN_REFRESH) {
		f->last_lifetime = u32_attr(&q, NAT_TURN_A_LIFETIME, ~0u);
		uint32_t grant = f->grant ? f->grant : 600;
		nat_stun_add_u32(&b, NAT_TURN_A_LIFETIME, f->last_lifetime == 0 ? 0 : grant);
	} else {
		take_peer(f, &q);
	}
	return finish(f, &b, true);
}

/* Hands every request sent so far to the server, its answers to t. */
static void pump(struct nat_turn *t)
{
	uint8_t out[1024];

	while (F.done < F.n_req) {
		uint64_t i = F.done++ % RING;
		int len = handle(&F, F.reqs[i].buf, F.reqs[i].len, out);
		if (len > 0)
			nat_turn_input(t, out, (size_t)len, F.now);
	}
}

/* Runs timers and the server until `until` (or until nothing is due). */
static void run_until(struct nat_turn *t, uint64_t until)
{
	for (int guard = 0;; guard++) {
		assert_true(guard < 100000);
		uint64_t d = nat_turn_deadline(t);
		if (d > until)
			break;
		assert_true(d >= F.now);
		F.now = d;
		nat_turn_tick(t, d);
		pump(t);
	}
	F.now = until;
}

static void fake_reset(void)
{
	memset(&F, 0, sizeof(F));
	F.password = "secret";
	F.nonce = 1;
	rng_n = 0;
}

static struct nat_turn_cfg cfg_default(void)
{
	return (struct nat_turn_cfg){
		.server_ip = SERVER, .server_port = SERVER_PORT,
		.username = "user", .password = "secret", .lifetime_s = 0,
		.software = "rtprec test", .send = capture, .send_arg = &F,
		.rng = counter_rng, .rng_arg = &rng_n,
	};
}

static void start(struct nat_turn *t, const struct nat_turn_cfg *c)
{
	assert_int_equal(nat_turn_start(t, c, F.now), 0);
	pump(t);
}

static void allocate_for(struct nat_turn *t, uint32_t grant)
{
	struct nat_turn_cfg c = cfg_default();

	fake_reset();
	F.grant = grant;
	start(t, &c);
	assert_int_equal(t->state, NAT_TURN_ALLOCATED);
}

static void allocate(struct nat_turn *t)
{
	allocate_for(t, 600);
}

/* The last request the client sent, parsed. */
static const struct nat_stun_msg *last_req(void)
{
	static struct nat_stun_msg m;
	uint64_t i = (F.n_req - 1) % RING;

	assert_true(F.n_req > 0);
	assert_int_equal(nat_stun_parse(F.reqs[i].buf, F.reqs[i].len, &m), 0);
	return &m;
}

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
		struct nat_turn_cfg c = cfg_default();
		fake_reset();
		F.password = alloc_cases[i].server_password;
		F.stale = alloc_cases[i].stale;
		F.open = alloc_cases[i].open;
		F.no_relayed = alloc_cases[i].no_relayed;
		F.unknown_attr = alloc_cases[i].unknown_attr;
		F.unsigned_err = alloc_cases[i].unsigned_err;
		F.err[NAT_STUN_ALLOCATE] = alloc_cases[i].alloc_err;
		print_message("case %s\n", alloc_cases[i].name);
		start(&t, &c);
		assert_int_equal(t.state, alloc_cases[i].state);
		assert_int_equal(t.error, alloc_cases[i].error);
		assert_int_equal(t.error_code, alloc_cases[i].code);
		assert_int_equal(F.n_req, alloc_cases[i].requests);
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
	struct nat_turn_cfg c = cfg_default();
	uint8_t key[NAT_STUN_LT_KEY_LEN];

	fake_reset();
	c.lifetime_s = 1200;
	start(&t, &c);
	assert_int_equal(t.state, NAT_TURN_ALLOCATED);
	assert_int_equal(F.n_req, 2);
	/* the first without credentials, the second with them */
	assert_int_equal(nat_stun_parse(F.reqs[0].buf, F.reqs[0].len, &first), 0);
	assert_int_equal(first.method, NAT_STUN_ALLOCATE);
	assert_int_equal(first.mi_off, 0);
	assert_null(first.username.p);
	assert_true(text_is(first.software, "rtprec test"));
	assert_int_equal(u32_attr(&first, NAT_TURN_A_LIFETIME, 0), 1200);
	const struct nat_stun_msg *q = last_req();
	assert_memory_not_equal(q->tid, first.tid, NAT_STUN_TID_LEN);
	assert_true(text_is(q->username, "user"));
	assert_true(text_is(q->realm, REALM));
	assert_true(text_is(q->nonce, "n00000001"));
	key_of("secret", key);
	assert_int_equal(nat_stun_check_integrity(q, key, sizeof(key)), 0);
	assert_int_equal(F.last_lifetime, 1200);
	assert_int_equal(t.lifetime_s, 600);            /* what the server granted */
}

/* Answers that fail MESSAGE-INTEGRITY are dropped; the client keeps
 * retransmitting and then says why it gave up. */
static void test_bad_integrity(void **state)
{
	(void)state;
	struct nat_turn t;
	struct nat_turn_cfg c = cfg_default();

	fake_reset();
	F.bad_mi = true;
	start(&t, &c);
	assert_int_equal(t.state, NAT_TURN_ALLOCATING);
	run_until(&t, 60 * SEC);
	assert_int_equal(t.state, NAT_TURN_FAILED);
	assert_int_equal(t.error, NAT_TURN_ERR_INTEGRITY);
	assert_int_equal(F.n_req, 1 + 7);
	/* an error answer with a bad MAC is dropped too */
	fake_reset();
	F.bad_mi = true;
	F.err[NAT_STUN_ALLOCATE] = 486;
	start(&t, &c);
	assert_int_equal(t.state, NAT_TURN_ALLOCATING);
}

/* A server that never answers: RFC 8489 timing, then failed. */
static void test_retransmissions(void **state)
{
	(void)state;
	static const uint64_t want[] = { 0, 500, 1500, 3500, 7500, 15500, 31500 };
	struct nat_turn t;
	struct nat_turn_cfg c = cfg_default();

	fake_reset();
	F.drop = true;
	F.now = 1000;
	start(&t, &c);
	assert_int_equal(nat_turn_deadline(&t), 1500);
	run_until(&t, 100 * SEC);
	assert_int_equal(t.state, NAT_TURN_FAILED);
	assert_int_equal(t.error, NAT_TURN_ERR_TIMEOUT);
	assert_int_equal(F.n_req, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(F.reqs[i].at - 1000, want[i]);
		assert_memory_equal(F.reqs[i].buf, F.reqs[0].buf, F.reqs[0].len);
	}
	assert_int_equal(F.done, 7);
	/* a custom, quicker schedule */
	fake_reset();
	F.drop = true;
	c.rto = (struct nat_rto){ 100, 3, 4 };
	start(&t, &c);
	run_until(&t, 10 * SEC);
	assert_int_equal(F.n_req, 3);
	assert_int_equal(F.reqs[2].at, 300);
	assert_int_equal(t.state, NAT_TURN_FAILED);
	/* two losses, then answers: allocated, the retransmission had the same id */
	fake_reset();
	F.drop_first = 2;
	c = cfg_default();
	start(&t, &c);
	run_until(&t, 10 * SEC);
	assert_int_equal(t.state, NAT_TURN_ALLOCATED);
	assert_int_equal(F.n_req, 4);
	assert_int_equal(F.reqs[1].at, 500);
	assert_int_equal(F.reqs[2].len, F.reqs[0].len);
	assert_memory_equal(F.reqs[2].buf, F.reqs[0].buf, F.reqs[0].len);
}

static void test_bad_config(void **state)
{
	(void)state;
	struct nat_turn t;
	struct nat_turn_cfg c;
	char longname[NAT_TURN_USER_MAX + 2];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	fake_reset();
	c = cfg_default(); c.send = NULL;
	assert_int_equal(nat_turn_start(&t, &c, 0), -1);
	c = cfg_default(); c.server_port = 0;
	assert_int_equal(nat_turn_start(&t, &c, 0), -1);
	c = cfg_default(); c.username = "";
	assert_int_equal(nat_turn_start(&t, &c, 0), -1);
	c = cfg_default(); c.password = NULL;
	assert_int_equal(nat_turn_start(&t, &c, 0), -1);
	c = cfg_default(); c.username = longname;
	assert_int_equal(nat_turn_start(&t, &c, 0), -1);
	c = cfg_default(); c.rto = (struct nat_rto){ 100, 0, 1 };
	assert_int_equal(nat_turn_start(&t, &c, 0), -1);
	assert_int_equal(t.state, NAT_TURN_IDLE);
	assert_int_equal(F.n_req, 0);
	assert_int_equal(nat_turn_tick(&t, 0), NAT_TURN_IDLE);
	assert_true(nat_turn_deadline(&t) == UINT64_MAX);
	assert_int_equal(nat_turn_permit(&t, PEER, 0), -1);
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 1, 0), -1);
	/* getrandom() when no rng is given */
	c = cfg_default(); c.rng = NULL;
	assert_int_equal(nat_turn_start(&t, &c, 0), 0);
	assert_int_equal(F.n_req, 1);
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
		struct nat_turn_cfg c = cfg_default();
		fake_reset();
		F.grant = cases[i].grant;
		F.now = 5 * SEC;
		start(&t, &c);
		uint64_t at = 5 * SEC + (cases[i].grant == 1 ? 500 : cases[i].refresh_s * SEC);
		assert_int_equal(nat_turn_deadline(&t), at);
		assert_int_equal(t.expire_ms, 5 * SEC + cases[i].grant * SEC);
		run_until(&t, at - 1);
		assert_int_equal(F.by_method[NAT_STUN_REFRESH], 0);
		run_until(&t, at);
		assert_int_equal(F.by_method[NAT_STUN_REFRESH], 1);
		assert_int_equal(t.state, NAT_TURN_ALLOCATED);
		assert_int_equal(F.last_lifetime, ~0u);     /* none asked: the server's default */
		assert_int_equal(t.expire_ms, at + cases[i].grant * SEC);
		const struct nat_stun_msg *q = last_req();
		assert_int_equal(q->method, NAT_STUN_REFRESH);
		assert_int_not_equal(q->mi_off, 0);
	}
}

static void test_refresh_failures(void **state)
{
	(void)state;
	struct nat_turn t;

	/* the server forgot us */
	allocate(&t);
	F.err[NAT_STUN_REFRESH] = 437;
	run_until(&t, 600 * SEC);
	assert_int_equal(t.state, NAT_TURN_FAILED);
	assert_int_equal(t.error, NAT_TURN_ERR_REJECTED);
	assert_int_equal(t.error_code, 437);
	assert_string_equal(t.reason, "Some Error");
	/* a stale nonce during refresh is taken in stride */
	allocate(&t);
	F.stale = 1;
	run_until(&t, 540 * SEC);
	assert_int_equal(t.state, NAT_TURN_ALLOCATED);
	assert_int_equal(F.by_method[NAT_STUN_REFRESH], 2);
	/* silence: refreshing, retried while the allocation lasts, then expired */
	allocate(&t);
	F.drop = true;
	run_until(&t, 540 * SEC);
	assert_int_equal(t.state, NAT_TURN_REFRESHING);
	run_until(&t, 599 * SEC);
	assert_int_equal(t.state, NAT_TURN_REFRESHING);
	assert_int_equal(F.by_method[NAT_STUN_REFRESH], 7 + 6);  /* second try at 579.5 s */
	run_until(&t, 600 * SEC);
	assert_int_equal(t.state, NAT_TURN_FAILED);
	assert_int_equal(t.error, NAT_TURN_ERR_EXPIRED);
	assert_true(nat_turn_deadline(&t) == UINT64_MAX);
	/* a lost refresh answered on a retransmission */
	allocate(&t);
	F.drop_first = 3;
	run_until(&t, 560 * SEC);
	assert_int_equal(t.state, NAT_TURN_ALLOCATED);
	assert_int_equal(t.expire_ms, 543500 + 600 * SEC);
}

static void test_release(void **state)
{
	(void)state;
	struct nat_turn t;

	allocate(&t);
	assert_int_equal(nat_turn_permit(&t, PEER, 0), 0);
	pump(&t);
	assert_int_equal(nat_turn_release(&t, 10 * SEC), 0);
	assert_int_equal(t.state, NAT_TURN_RELEASING);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_FREE);
	const struct nat_stun_msg *q = last_req();
	assert_int_equal(q->method, NAT_STUN_REFRESH);
	assert_int_equal(u32_attr(q, NAT_TURN_A_LIFETIME, 99), 0);
	pump(&t);
	assert_int_equal(t.state, NAT_TURN_RELEASED);
	assert_true(nat_turn_deadline(&t) == UINT64_MAX);
	assert_int_equal(nat_turn_release(&t, 10 * SEC), 0);   /* again: nothing */
	/* the server is gone: released after the timeout anyway */
	allocate(&t);
	F.drop = true;
	assert_int_equal(nat_turn_release(&t, 0), 0);
	run_until(&t, 100 * SEC);
	assert_int_equal(t.state, NAT_TURN_RELEASED);
	/* before any allocation: nothing to send */
	fake_reset();
	F.drop = true;
	struct nat_turn_cfg c = cfg_default();
	start(&t, &c);
	assert_int_equal(nat_turn_release(&t, 0), 0);
	assert_int_equal(t.state, NAT_TURN_RELEASED);
	assert_int_equal(F.n_req, 1);
	/* release with 438: the new nonce, then released */
	allocate(&t);
	F.stale = 1;
	assert_int_equal(nat_turn_release(&t, 0), 0);
	pump(&t);
	assert_int_equal(t.state, NAT_TURN_RELEASED);
	assert_int_equal(F.by_method[NAT_STUN_REFRESH], 2);
}

/* ---- permissions and channels ------------------------------------------- */

static void test_permission(void **state)
{
	(void)state;
	struct nat_turn t;

	allocate_for(&t, 3600);
	assert_int_equal(nat_turn_permit(&t, PEER, 0), 0);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_PENDING);
	const struct nat_stun_msg *q = last_req();
	assert_int_equal(q->method, NAT_STUN_CREATE_PERM);
	assert_int_not_equal(q->mi_off, 0);
	pump(&t);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_ACTIVE);
	assert_int_equal(F.last_peer.ip4, PEER);
	assert_int_equal(nat_turn_permit(&t, PEER, 0), 0);    /* already there: nothing sent */
	assert_int_equal(F.by_method[NAT_STUN_CREATE_PERM], 1);
	/* refreshed every 4 minutes */
	run_until(&t, 239 * SEC);
	assert_int_equal(F.by_method[NAT_STUN_CREATE_PERM], 1);
	run_until(&t, 240 * SEC);
	assert_int_equal(F.by_method[NAT_STUN_CREATE_PERM], 2);
	run_until(&t, 1000 * SEC);
	assert_int_equal(F.by_method[NAT_STUN_CREATE_PERM], 5);
	assert_int_equal(F.by_method[NAT_STUN_REFRESH], 0);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_ACTIVE);
	/* the server stops answering: the permission expires 5 minutes after
	 * its last success, although refreshes go on till then */
	F.drop = true;
	run_until(&t, 960 * SEC + 300 * SEC - 1);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_ACTIVE);
	run_until(&t, 960 * SEC + 300 * SEC);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_FAILED);
	assert_int_equal(t.perms[0].error, NAT_TURN_ERR_EXPIRED);
}

static void test_permission_errors(void **state)
{
	(void)state;
	struct nat_turn t;

	allocate(&t);
	F.err[NAT_STUN_CREATE_PERM] = 403;
	assert_int_equal(nat_turn_permit(&t, PEER, 0), 0);
	pump(&t);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_FAILED);
	assert_int_equal(t.perms[0].error_code, 403);
	assert_int_equal(t.state, NAT_TURN_ALLOCATED);
	F.err[NAT_STUN_CREATE_PERM] = 0;                      /* asking again retries */
	assert_int_equal(nat_turn_permit(&t, PEER, 0), 0);
	pump(&t);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_ACTIVE);
	/* slots run out */
	for (uint32_t i = 1; i < NAT_TURN_MAX_PERMS; i++)
		assert_int_equal(nat_turn_permit(&t, PEER + i, 0), 0);
	assert_int_equal(nat_turn_permit(&t, PEER + 100, 0), -1);
	/* 437 to a permission: the allocation is gone */
	allocate(&t);
	F.err[NAT_STUN_CREATE_PERM] = 437;
	assert_int_equal(nat_turn_permit(&t, PEER, 0), 0);
	pump(&t);
	assert_int_equal(t.state, NAT_TURN_FAILED);
	assert_int_equal(t.error_code, 437);
	/* no answer: failed after the transaction timed out */
	allocate(&t);
	F.drop = true;
	assert_int_equal(nat_turn_permit(&t, PEER, 0), 0);
	run_until(&t, 40 * SEC);
	assert_int_equal(nat_turn_permission(&t, PEER), NAT_TURN_PEER_FAILED);
	assert_int_equal(t.perms[0].error, NAT_TURN_ERR_TIMEOUT);
}

static void test_channels(void **state)
{
	(void)state;
	struct nat_turn t;
	uint32_t ip;
	uint16_t port;

	allocate(&t);
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6000, 0), 0x4000);
	assert_int_equal(nat_turn_channel(&t, PEER, 6000), 0);        /* not confirmed yet */
	assert_int_equal(nat_turn_channel_peer(&t, 0x4000, &ip, &port), 0);
	pump(&t);
	assert_int_equal(nat_turn_channel(&t, PEER, 6000), 0x4000);
	assert_int_equal(F.last_channel, 0x4000);
	assert_int_equal(F.last_peer.ip4, PEER);
	assert_int_equal(F.last_peer.port, 6000);
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6000, 0), 0x4000);  /* same peer */
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6002, 0), 0x4001);
	assert_int_equal(nat_turn_bind_channel(&t, PEER2, 6000, 0), 0x4002);
	pump(&t);
	assert_int_equal(F.by_method[NAT_STUN_CHANNEL_BIND], 3);
	assert_int_equal(nat_turn_channel_peer(&t, 0x4002, &ip, &port), 0);
	assert_int_equal(ip, PEER2);
	assert_int_equal(port, 6000);
	assert_int_equal(nat_turn_channel_peer(&t, 0x4003, &ip, &port), -1);
	/* refreshed before the binding's 10 minutes (every 4, for the permission) */
	run_until(&t, 240 * SEC);
	assert_int_equal(F.by_method[NAT_STUN_CHANNEL_BIND], 6);
	assert_int_equal(F.last_channel, 0x4002);
	assert_int_equal(nat_turn_channel(&t, PEER, 6000), 0x4000);
	/* a rejected binding, then 437 that ends the allocation */
	F.err[NAT_STUN_CHANNEL_BIND] = 400;
	assert_int_equal(nat_turn_bind_channel(&t, PEER2, 7000, 250 * SEC), 0x4003);
	pump(&t);
	assert_int_equal(t.chans[3].state, NAT_TURN_PEER_FAILED);
	assert_int_equal(t.chans[3].error_code, 400);
	assert_int_equal(nat_turn_bind_channel(&t, PEER2, 7000, 250 * SEC), 0x4004);
	F.err[NAT_STUN_CHANNEL_BIND] = 437;
	pump(&t);
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

	allocate_for(&t, 3600);
	F.drop = true;
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6000, 0), 0x4000);
	run_until(&t, 40 * SEC);
	assert_int_equal(t.chans[0].state, NAT_TURN_PEER_FAILED);
	assert_int_equal(t.chans[0].error, NAT_TURN_ERR_TIMEOUT);
	F.drop = false;
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6000, 40 * SEC), 0x4000);
	pump(&t);
	assert_int_equal(nat_turn_channel(&t, PEER, 6000), 0x4000);
	F.err[NAT_STUN_CHANNEL_BIND] = 400;
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6001, 40 * SEC), 0x4001);
	pump(&t);
	F.err[NAT_STUN_CHANNEL_BIND] = 0;
	assert_int_equal(nat_turn_bind_channel(&t, PEER, 6001, 40 * SEC), 0x4002);
	pump(&t);
	assert_int_equal(nat_turn_channel(&t, PEER, 6001), 0x4002);
}

static void test_channel_numbers_wrap(void **state)
{
	(void)state;
	struct nat_turn t;

	allocate(&t);
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

	allocate(&t);
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
	allocate(&t);
	n = data_ind(buf, NAT_STUN_INDICATION, NAT_STUN_DATA, true, true, 0, false);
	assert_int_equal(nat_turn_input(&t, buf, n, 0), 0);
}

/* Answers that are not for us change nothing. */
static void test_foreign_answers(void **state)
{
	(void)state;
	struct nat_turn t;
	struct nat_turn_cfg c = cfg_default();
	uint8_t out[1024];

	fake_reset();
	F.drop = true;
	start(&t, &c);
	F.drop = false;
	uint64_t i = F.n_req - 1;
	int len = handle(&F, F.reqs[i].buf, F.reqs[i].len, out);   /* a 401 */
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
		cmocka_unit_test(test_allocate_cases),
		cmocka_unit_test(test_allocate_requests),
		cmocka_unit_test(test_bad_integrity),
		cmocka_unit_test(test_retransmissions),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_refresh_timing),
		cmocka_unit_test(test_refresh_failures),
		cmocka_unit_test(test_release),
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
