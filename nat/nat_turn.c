/* SPDX-License-Identifier: BSD-3-Clause
 * One TURN allocation: Allocate, Refresh, release, the dispatch of answers
 * and timers. See nat_turn.h. */
#include <string.h>

#include "nat_name_priv.h"
#include "nat_stun_priv.h"
#include "nat_turn_priv.h"

/* Refresh a minute before expiry, at half the lifetime when it is short. */
static uint64_t refresh_after_ms(uint32_t lifetime_s)
{
	return lifetime_s > 120 ? (uint64_t)(lifetime_s - 60) * 1000 : (uint64_t)lifetime_s * 500;
}

static bool allocated(const struct nat_turn *t)
{
	return t->state == NAT_TURN_ALLOCATED || t->state == NAT_TURN_REFRESHING;
}

static int copy_str(char *dst, const char *src, bool required)
{
	size_t n = src ? strlen(src) : 0;

	if (n > NAT_TURN_USER_MAX || (required && !src))
		return -1;
	memcpy(dst, src ? src : "", n + 1);
	return 0;
}

int nat_turn_start(struct nat_turn *t, const struct nat_turn_cfg *cfg, uint64_t now_ms)
{
	struct nat_bind probe;

	memset(t, 0, sizeof(*t));
	if (!cfg->send || !cfg->server_port || !cfg->username || !cfg->username[0] ||
	    copy_str(t->user, cfg->username, true) || copy_str(t->pass, cfg->password, true) ||
	    copy_str(t->software, cfg->software, false) ||
	    nat_bind_init(&probe, &cfg->rto, cfg->rng, cfg->rng_arg) != 0 ||
	    probe.rng(probe.rng_arg, t->ind_tid, sizeof(t->ind_tid)) != 0) {
		memset(t, 0, sizeof(*t));
		return -1;
	}
	t->cfg = *cfg;
	t->cfg.username = t->cfg.password = t->cfg.software = NULL;
	t->cfg.rto = probe.rto;
	nat_turn_txn_init(t, &t->txn);
	for (size_t i = 0; i < NAT_TURN_N_PEERS; i++)
		nat_turn_txn_init(t, &nat_turn_peer_at(t, i)->txn);
	t->next_channel = NAT_TURN_CHANNEL_MIN;
	t->state = NAT_TURN_ALLOCATING;
	if (nat_turn_txn_begin(t, &t->txn, NAT_TURN_REQ_ALLOCATE, NULL, now_ms) != 0) {
		nat_turn_fail(t, &(struct nat_turn_result){ .error = NAT_TURN_ERR_LOCAL });
		return -1;
	}
	return 0;
}

static void set_reason(struct nat_turn *t, const struct nat_stun_msg *m)
{
	size_t n = 0;

	for (; m && n < m->error_reason.len && n + 1 < sizeof(t->reason); n++) {
		uint8_t c = m->error_reason.p[n];
		t->reason[n] = c >= 0x20 && c < 0x7F ? (char)c : '?';
	}
	t->reason[n] = 0;
}

void nat_turn_fail(struct nat_turn *t, const struct nat_turn_result *r)
{
	t->state = NAT_TURN_FAILED;
	t->error = r->error;
	t->error_code = r->code;
	set_reason(t, r->m);
	if (r->code == 300 && r->m)
		t->alternate = r->m->alternate_server;
	nat_turn_txn_stop(&t->txn);
	nat_turn_peers_drop(t);
}

static void fail_with(struct nat_turn *t, enum nat_turn_error e)
{
	nat_turn_fail(t, &(struct nat_turn_result){ .error = e });
}

static bool lifetime_of(const struct nat_stun_msg *m, uint32_t *s)
{
	uint16_t len;
	const uint8_t *v = nat_stun_find(m, NAT_TURN_A_LIFETIME, &len);

	if (!v || len != 4)
		return false;
	*s = nat_be32(v);
	return true;
}

static void set_lifetime(struct nat_turn *t, uint32_t s, uint64_t now_ms)
{
	t->lifetime_s = s;
	t->expire_ms = now_ms + (uint64_t)s * 1000;
	t->refresh_ms = now_ms + refresh_after_ms(s);
	t->state = NAT_TURN_ALLOCATED;
}

static bool take_allocation(struct nat_turn *t, const struct nat_stun_msg *m, uint64_t now_ms)
{
	struct nat_stun_addr relayed;
	uint32_t s;

	if (nat_stun_find_xor_addr(m, NAT_TURN_A_XOR_RELAYED_ADDRESS, &relayed) != 0 ||
	    relayed.family != NAT_STUN_FAM_IPV4 || !lifetime_of(m, &s) || !s)
		return false;
	t->relayed = relayed;
	t->mapped = m->xor_mapped;
	set_lifetime(t, s, now_ms);
	return true;
}

static void begin_or_fail(struct nat_turn *t, enum nat_turn_req req, uint64_t now_ms)
{
	if (nat_turn_txn_begin(t, &t->txn, req, NULL, now_ms) != 0)
		fail_with(t, NAT_TURN_ERR_LOCAL);
}

static void refresh_done(struct nat_turn *t, const struct nat_turn_result *r, uint64_t now_ms)
{
	uint32_t s = t->lifetime_s;

	if (r->ok) {
		(void)lifetime_of(r->m, &s);   /* absent: as before */
		if (s)
			set_lifetime(t, s, now_ms);
		else
			fail_with(t, NAT_TURN_ERR_EXPIRED);
	} else if (r->error == NAT_TURN_ERR_TIMEOUT && now_ms < t->expire_ms) {
		begin_or_fail(t, NAT_TURN_REQ_REFRESH, now_ms);   /* try again while it lasts */
	} else {
		nat_turn_fail(t, r);
	}
}

static void alloc_done(struct nat_turn *t, const struct nat_turn_result *r, uint64_t now_ms)
{
	switch ((enum nat_turn_req)t->txn.req) {
	case NAT_TURN_REQ_ALLOCATE:
		if (!r->ok)
			nat_turn_fail(t, r);
		else if (!take_allocation(t, r->m, now_ms))
			fail_with(t, NAT_TURN_ERR_RESPONSE);
		break;
	case NAT_TURN_REQ_REFRESH:
		refresh_done(t, r, now_ms);
		break;
	default:   /* release: done whatever the answer */
		t->state = NAT_TURN_RELEASED;
		break;
	}
}

int nat_turn_input(struct nat_turn *t, const uint8_t *msg, size_t len, uint64_t now_ms)
{
	struct nat_stun_msg m;
	struct nat_turn_result r;

	if (t->state < NAT_TURN_ALLOCATING || t->state > NAT_TURN_RELEASING ||
	    nat_stun_parse(msg, len, &m) != 0)
		return 0;
	if (nat_turn_txn_matches(&t->txn, &m)) {
		int rc = nat_turn_txn_answer(t, &t->txn, NULL, &m, now_ms, &r);
		if (rc == 1)
			alloc_done(t, &r, now_ms);
		return rc >= 0;
	}
	for (size_t i = 0; i < NAT_TURN_N_PEERS; i++) {
		struct nat_turn_peer *p = nat_turn_peer_at(t, i);
		if (!nat_turn_txn_matches(&p->txn, &m))
			continue;
		int rc = nat_turn_txn_answer(t, &p->txn, p, &m, now_ms, &r);
		if (rc == 1)
			nat_turn_peer_done(t, p, &r, now_ms);
		return rc >= 0;
	}
	return 0;
}

enum nat_turn_state nat_turn_tick(struct nat_turn *t, uint64_t now_ms)
{
	struct nat_turn_result r;

	if (nat_turn_txn_poll(t, &t->txn, NULL, now_ms, &r))
		alloc_done(t, &r, now_ms);
	if (t->state == NAT_TURN_ALLOCATED && now_ms >= t->refresh_ms) {
		t->state = NAT_TURN_REFRESHING;
		begin_or_fail(t, NAT_TURN_REQ_REFRESH, now_ms);
	}
	if (allocated(t) && now_ms >= t->expire_ms)
		fail_with(t, NAT_TURN_ERR_EXPIRED);
	if (allocated(t))
		nat_turn_peers_tick(t, now_ms);
	return t->state;
}

uint64_t nat_turn_deadline(const struct nat_turn *t)
{
	uint64_t d = nat_bind_deadline(&t->txn.timer);

	if (t->state == NAT_TURN_ALLOCATED)
		d = nat_turn_min(d, t->refresh_ms);
	if (allocated(t)) {
		d = nat_turn_min(d, t->expire_ms);
		d = nat_turn_min(d, nat_turn_peers_deadline(t));
	}
	return d;
}

int nat_turn_release(struct nat_turn *t, uint64_t now_ms)
{
	/* an Allocate with credentials may have made an allocation already */
	bool live = allocated(t) || (t->state == NAT_TURN_ALLOCATING && t->txn.authed);

	if (!live && t->state != NAT_TURN_ALLOCATING)
		return 0;
	nat_turn_peers_drop(t);
	nat_turn_txn_stop(&t->txn);
	t->state = live ? NAT_TURN_RELEASING : NAT_TURN_RELEASED;
	if (live && nat_turn_txn_begin(t, &t->txn, NAT_TURN_REQ_RELEASE, NULL, now_ms) != 0) {
		t->state = NAT_TURN_RELEASED;
		return -1;
	}
	return 0;
}

const char *nat_turn_state_name(enum nat_turn_state s)
{
	static const char *const names[] = {
		[NAT_TURN_IDLE] = "idle", [NAT_TURN_ALLOCATING] = "allocating",
		[NAT_TURN_ALLOCATED] = "allocated", [NAT_TURN_REFRESHING] = "refreshing",
		[NAT_TURN_RELEASING] = "releasing", [NAT_TURN_RELEASED] = "released",
		[NAT_TURN_FAILED] = "failed",
	};

	return NAT_NAME_OF(names, s);
}

const char *nat_turn_error_name(enum nat_turn_error e)
{
	static const char *const names[] = {
		[NAT_TURN_ERR_NONE] = "none", [NAT_TURN_ERR_TIMEOUT] = "timeout",
		[NAT_TURN_ERR_INTEGRITY] = "integrity", [NAT_TURN_ERR_AUTH] = "bad-credentials",
		[NAT_TURN_ERR_STALE] = "stale-nonce", [NAT_TURN_ERR_REJECTED] = "rejected",
		[NAT_TURN_ERR_RESPONSE] = "bad-response", [NAT_TURN_ERR_EXPIRED] = "expired",
		[NAT_TURN_ERR_LOCAL] = "local",
	};

	return NAT_NAME_OF(names, e);
}

const char *nat_turn_peer_state_name(enum nat_turn_peer_state s)
{
	static const char *const names[] = {
		[NAT_TURN_PEER_FREE] = "free", [NAT_TURN_PEER_PENDING] = "pending",
		[NAT_TURN_PEER_ACTIVE] = "active", [NAT_TURN_PEER_FAILED] = "failed",
	};

	return NAT_NAME_OF(names, s);
}

const char *nat_turn_code_name(uint16_t code)
{
	static const struct { uint16_t code; const char *name; } codes[] = {
		{ 300, "try-alternate" }, { 400, "bad-request" }, { 401, "unauthenticated" },
		{ 403, "forbidden" }, { 420, "unknown-attribute" },
		{ 437, "allocation-mismatch" }, { 438, "stale-nonce" },
		{ 440, "address-family-not-supported" }, { 441, "wrong-credentials" },
		{ 442, "unsupported-transport-protocol" },
		{ 443, "peer-address-family-mismatch" }, { 486, "allocation-quota-reached" },
		{ 500, "server-error" }, { 508, "insufficient-capacity" },
	};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return codes[i].name;
	return code ? "error" : "none";
}
