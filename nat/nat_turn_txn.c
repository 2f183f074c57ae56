/* SPDX-License-Identifier: BSD-3-Clause
 * TURN request transactions: building the request (long-term credentials,
 * FINGERPRINT), the RFC 8489 schedule of a nat_bind, answers matched and
 * checked (401 and 438 challenges, MESSAGE-INTEGRITY). See nat_turn.h. */
#include <string.h>

#include "nat_stun_priv.h"
#include "nat_turn_priv.h"

#define UDP_PROTO 17u

static const uint16_t req_method[] = {
	[NAT_TURN_REQ_ALLOCATE] = NAT_STUN_ALLOCATE,
	[NAT_TURN_REQ_REFRESH] = NAT_STUN_REFRESH,
	[NAT_TURN_REQ_RELEASE] = NAT_STUN_REFRESH,
	[NAT_TURN_REQ_PERMISSION] = NAT_STUN_CREATE_PERM,
	[NAT_TURN_REQ_CHANNEL] = NAT_STUN_CHANNEL_BIND,
};

void nat_turn_txn_init(struct nat_turn *t, struct nat_turn_txn *x)
{
	memset(x, 0, sizeof(*x));
	/* the rto was checked by nat_turn_start() */
	(void)nat_bind_init(&x->timer, &t->cfg.rto, t->cfg.rng, t->cfg.rng_arg);
}

/* What the request asks, before the credentials. */
static void add_body(const struct nat_turn *t, const struct nat_turn_txn *x,
		     const struct nat_turn_peer *p, struct nat_stun_builder *b)
{
	static const uint8_t udp[4] = { UDP_PROTO, 0, 0, 0 };
	struct nat_stun_addr peer = { .family = NAT_STUN_FAM_IPV4 };

	switch ((enum nat_turn_req)x->req) {
	case NAT_TURN_REQ_ALLOCATE:
		nat_stun_add_raw(b, NAT_TURN_A_REQUESTED_TRANSPORT, udp, sizeof(udp));
		if (t->software[0])
			nat_stun_add_str(b, NAT_STUN_A_SOFTWARE, t->software);
		/* and the lifetime asked for */
		/* fall through */
	case NAT_TURN_REQ_REFRESH:
		if (t->cfg.lifetime_s)
			nat_stun_add_u32(b, NAT_TURN_A_LIFETIME, t->cfg.lifetime_s);
		break;
	case NAT_TURN_REQ_RELEASE:
		nat_stun_add_u32(b, NAT_TURN_A_LIFETIME, 0);
		break;
	case NAT_TURN_REQ_CHANNEL:
		nat_stun_add_u32(b, NAT_TURN_A_CHANNEL_NUMBER, (uint32_t)p->channel << 16);
		peer.port = p->port;
		/* and the peer */
		/* fall through */
	case NAT_TURN_REQ_PERMISSION:
		peer.ip4 = p->ip;   /* a permission's port is ignored (RFC 8656 9.1) */
		nat_stun_add_xor_addr(b, NAT_TURN_A_XOR_PEER_ADDRESS, &peer);
		break;
	}
}

/* The request as it goes out now: the nonce may have changed since the
 * first transmission (438 to another request), the id has not. */
static int build(const struct nat_turn *t, const struct nat_turn_txn *x,
		 const struct nat_turn_peer *p, uint8_t *buf, size_t cap)
{
	struct nat_stun_builder b;

	nat_stun_start(&b, buf, cap, NAT_STUN_REQUEST, req_method[x->req], x->timer.tid);
	add_body(t, x, p, &b);
	if (x->authed) {
		nat_stun_add_str(&b, NAT_STUN_A_USERNAME, t->user);
		nat_stun_add_str(&b, NAT_STUN_A_REALM, t->realm);
		nat_stun_add_raw(&b, NAT_STUN_A_NONCE, t->nonce, t->nonce_len);
		nat_stun_add_integrity(&b, t->key, sizeof(t->key));
	}
	return nat_stun_add_fingerprint(&b);
}

static void flush(struct nat_turn *t, struct nat_turn_txn *x, const struct nat_turn_peer *p,
		  uint64_t now_ms)
{
	uint8_t buf[NAT_TURN_REQ_MAX];
	const uint8_t *unused;
	size_t unused_len;

	if (!nat_bind_tick(&x->timer, now_ms, &unused, &unused_len))
		return;
	int len = build(t, x, p, buf, sizeof(buf));
	if (len > 0)
		t->cfg.send(t->cfg.send_arg, t->cfg.server_ip, t->cfg.server_port, buf, (size_t)len);
}

int nat_turn_txn_begin(struct nat_turn *t, struct nat_turn_txn *x, enum nat_turn_req req,
		       const struct nat_turn_peer *p, uint64_t now_ms)
{
	x->req = (uint8_t)req;
	x->authed = t->have_key;
	x->stale = 0;
	x->bad_mi = 0;
	if (nat_bind_start(&x->timer, t->cfg.server_ip, t->cfg.server_port, 0, now_ms) != 0)
		return -1;
	flush(t, x, p, now_ms);
	return 0;
}

bool nat_turn_txn_running(const struct nat_turn_txn *x)
{
	return x->timer.state == NAT_BIND_RUNNING;
}

void nat_turn_txn_stop(struct nat_turn_txn *x)
{
	x->timer.state = NAT_BIND_IDLE;
	x->stale = 0;
}

static void end(struct nat_turn_txn *x, struct nat_turn_result *r, bool ok,
		enum nat_turn_error e, uint16_t code, const struct nat_stun_msg *m)
{
	nat_turn_txn_stop(x);
	*r = (struct nat_turn_result){ ok, e, code, m };
}

bool nat_turn_txn_poll(struct nat_turn *t, struct nat_turn_txn *x, const struct nat_turn_peer *p,
		       uint64_t now_ms, struct nat_turn_result *r)
{
	if (!nat_turn_txn_running(x))
		return false;
	flush(t, x, p, now_ms);
	if (x->timer.state != NAT_BIND_TIMEOUT)
		return false;
	/* RFC 8489 9.2.5: answers that all failed the integrity check are
	 * told apart from silence */
	end(x, r, false, x->bad_mi ? NAT_TURN_ERR_INTEGRITY : NAT_TURN_ERR_TIMEOUT, 0, NULL);
	return true;
}

bool nat_turn_txn_matches(const struct nat_turn_txn *x, const struct nat_stun_msg *m)
{
	return nat_turn_txn_running(x) && m->method == req_method[x->req] &&
	       (m->cls == NAT_STUN_SUCCESS || m->cls == NAT_STUN_ERROR_RESP) &&
	       memcmp(m->tid, x->timer.tid, NAT_STUN_TID_LEN) == 0;
}

/* REALM (when given: it must be there the first time) and NONCE of a 401
 * or 438; the key is derived again when the realm is new. */
static int take_challenge(struct nat_turn *t, const struct nat_stun_msg *m)
{
	struct nat_stun_text r = m->realm;

	if (!m->nonce.p || !m->nonce.len || (!r.p && !t->have_key))
		return -1;
	if (r.p && (r.len != strlen(t->realm) || memcmp(r.p, t->realm, r.len) != 0 ||
		    !t->have_key)) {
		if (!r.len || memchr(r.p, 0, r.len))
			return -1;
		memcpy(t->realm, r.p, r.len);
		t->realm[r.len] = 0;
		t->have_key = nat_stun_long_term_key(t->user, t->realm, t->pass, t->key) == 0;
		if (!t->have_key)
			return -1;
	}
	memcpy(t->nonce, m->nonce.p, m->nonce.len);
	t->nonce_len = m->nonce.len;
	return 0;
}

/* 401 to a request without credentials: add them; 438: a fresh nonce. The
 * request goes again as a new transaction (RFC 8489 9.2.5). */
static int challenge(struct nat_turn *t, struct nat_turn_txn *x, const struct nat_turn_peer *p,
		     const struct nat_stun_msg *m, uint64_t now_ms, struct nat_turn_result *r)
{
	uint16_t code = m->error_code;

	if (code == 401 && x->authed) {
		end(x, r, false, NAT_TURN_ERR_AUTH, code, m);
		return 1;
	}
	if (code == 438 && x->stale >= NAT_TURN_STALE_MAX) {
		end(x, r, false, NAT_TURN_ERR_STALE, code, m);
		return 1;
	}
	if (take_challenge(t, m) != 0) {
		end(x, r, false, NAT_TURN_ERR_RESPONSE, code, m);
		return 1;
	}
	uint8_t stale = (uint8_t)(x->stale + (code == 438));
	if (nat_turn_txn_begin(t, x, (enum nat_turn_req)x->req, p, now_ms) != 0) {
		end(x, r, false, NAT_TURN_ERR_LOCAL, 0, NULL);
		return 1;
	}
	x->stale = stale;
	return 0;
}

static bool turn_attr(uint16_t type)
{
	static const uint16_t types[] = {
		NAT_TURN_A_CHANNEL_NUMBER, NAT_TURN_A_LIFETIME, NAT_TURN_A_XOR_PEER_ADDRESS,
		NAT_TURN_A_DATA, NAT_TURN_A_XOR_RELAYED_ADDRESS,
		NAT_TURN_A_REQUESTED_ADDRESS_FAMILY, NAT_TURN_A_EVEN_PORT,
		NAT_TURN_A_REQUESTED_TRANSPORT, NAT_TURN_A_DONT_FRAGMENT,
		NAT_TURN_A_RESERVATION_TOKEN,
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i] == type)
			return true;
	return false;
}

bool nat_turn_known_attrs(const struct nat_stun_msg *m)
{
	for (uint16_t i = 0; i < m->n_unknown; i++)
		if (!turn_attr(m->unknown[i]))
			return false;
	return true;
}

/* Answers to a request with credentials carry MESSAGE-INTEGRITY made with
 * the same key. Error responses without one are taken (RFC 5766 servers
 * send some so); a wrong one is never. */
static bool integrity_ok(const struct nat_turn *t, const struct nat_stun_msg *m)
{
	int rc = nat_stun_check_integrity(m, t->key, sizeof(t->key));

	return rc == 0 || (rc == -2 && m->cls == NAT_STUN_ERROR_RESP);
}

int nat_turn_txn_answer(struct nat_turn *t, struct nat_turn_txn *x, const struct nat_turn_peer *p,
			const struct nat_stun_msg *m, uint64_t now_ms, struct nat_turn_result *r)
{
	bool err = m->cls == NAT_STUN_ERROR_RESP;

	if (err && (m->error_code == 401 || m->error_code == 438))
		return challenge(t, x, p, m, now_ms, r);
	if (x->authed && !integrity_ok(t, m)) {
		x->bad_mi++;
		return -1;
	}
	if (err)
		end(x, r, false, NAT_TURN_ERR_REJECTED, m->error_code, m);
	else if (!nat_turn_known_attrs(m))   /* RFC 8489 6.3.3 */
		end(x, r, false, NAT_TURN_ERR_RESPONSE, 0, m);
	else
		end(x, r, true, NAT_TURN_ERR_NONE, 0, m);
	return 1;
}
