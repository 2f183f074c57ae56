/* SPDX-License-Identifier: BSD-3-Clause
 * The peer's checks (RFC 8445 7.3, short-term credentials of RFC 8489
 * 9.1.3): authentication, role conflicts (7.3.1.1), the answer with
 * XOR-MAPPED-ADDRESS, peer-reflexive candidates (7.3.1.3), triggered checks
 * (7.3.1.4) and nomination by the controlling peer (7.3.1.5). */
#include <stdio.h>
#include <string.h>

#include "nat_ice_priv.h"

struct req {
	uint16_t port;          /* our base */
	uint32_t src_ip;
	uint16_t src_port;
	const struct nat_stun_msg *m;
};

/* A response to the request: success (code 0) or error; integrity with our
 * password unless the request failed authentication (RFC 8489 9.1.3). */
static void reply(struct nat_ice *a, const struct req *q, uint16_t code, bool mi)
{
	static const struct { uint16_t code; const char *reason; } reasons[] = {
		{ 400, "Bad Request" }, { 401, "Unauthenticated" },
		{ 420, "Unknown Attribute" }, { 487, "Role Conflict" },
	};
	struct nat_stun_addr src = { .family = NAT_STUN_FAM_IPV4, .port = q->src_port,
				     .ip4 = q->src_ip };
	uint8_t buf[NAT_ICE_MSG_MAX];
	struct nat_stun_builder b;

	nat_stun_start(&b, buf, sizeof(buf), code ? NAT_STUN_ERROR_RESP : NAT_STUN_SUCCESS,
		       NAT_STUN_BINDING, q->m->tid);
	if (!code)
		nat_stun_add_xor_addr(&b, NAT_STUN_A_XOR_MAPPED_ADDRESS, &src);
	for (size_t i = 0; code && i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == code)
			nat_stun_add_error(&b, code, reasons[i].reason);
	if (code == 420)
		nat_stun_add_unknown(&b, q->m->unknown, q->m->n_unknown);
	if (mi)
		nat_stun_add_integrity(&b, (const uint8_t *)a->pwd, strlen(a->pwd));
	int len = nat_stun_add_fingerprint(&b);
	if (len < 0)
		return;
	if (code)
		a->stats.requests_refused++;
	else
		a->stats.requests_answered++;
	a->cfg.send(a->cfg.send_arg, q->port, q->src_ip, q->src_port, buf, (size_t)len);
}

/* USERNAME is "our ufrag:their ufrag" */
static bool username_ok(const struct nat_ice *a, struct nat_stun_text u)
{
	char want[2 * NAT_ICE_UFRAG_MAX + 2];
	int n = snprintf(want, sizeof(want), "%s:%s", a->ufrag, a->rufrag);

	return n > 0 && u.len == (size_t)n && memcmp(u.p, want, u.len) == 0;
}

/* 7.3.1.1: true when the request loses the conflict and gets a 487; the
 * agent may switch roles instead. A lite agent cannot control: a peer that
 * wants it to learns so by a 487. */
static bool role_conflict(struct nat_ice *a, const struct nat_stun_msg *m)
{
	bool ours_bigger = a->tiebreaker >= m->tiebreaker;

	if (a->role == NAT_ICE_CONTROLLING && (m->flags & NAT_STUN_F_ICE_CONTROLLING)) {
		if (ours_bigger)
			return true;
	} else if (a->role == NAT_ICE_CONTROLLED && (m->flags & NAT_STUN_F_ICE_CONTROLLED)) {
		if (!ours_bigger || a->cfg.lite)
			return true;
	} else {
		return false;
	}
	nat_ice_switch_role(a);
	return false;
}

/* the remote candidate the request came from, learnt as peer-reflexive
 * when new; -1 when the table is full */
static int remote_of(struct nat_ice *a, const struct req *q, unsigned comp)
{
	int r = nat_ice_find_remote(a, comp, q->src_ip, q->src_port);

	if (r >= 0 || a->n_remote == NAT_ICE_MAX_REMOTE)
		return r;
	struct nat_ice_cand *c = &a->remote[a->n_remote];
	*c = (struct nat_ice_cand){ .type = NAT_ICE_PRFLX, .component = (uint16_t)comp,
				    .priority = q->m->priority, .ip = q->src_ip,
				    .port = q->src_port };
	snprintf(c->foundation, sizeof(c->foundation), "prflx%u", a->stats.prflx_remote);
	a->stats.prflx_remote++;
	return a->n_remote++;
}

/* lite: no checks, the pair a request arrives on is usable as it is */
static void lite_pair(struct nat_ice *a, unsigned i, bool use_cand, uint64_t now_ms)
{
	struct nat_ice_pair *p = &a->pairs[i];

	p->state = NAT_ICE_SUCCEEDED;
	p->valid = true;
	p->valid_idx = p->via = (uint8_t)i;
	nat_ice_consent_seen(a, i, now_ms);
	if (use_cand)
		nat_ice_nominate(a, i, now_ms);
}

/* 7.3.1.4 and 7.3.1.5 for a full agent */
static void full_pair(struct nat_ice *a, unsigned i, bool use_cand, uint64_t now_ms)
{
	struct nat_ice_pair *p = &a->pairs[i];

	if (p->state != NAT_ICE_SUCCEEDED) {
		if (!p->use_cand)
			nat_ice_trigger(a, i);
		p->nominate_ok |= use_cand;
	} else if (use_cand && p->valid_idx != NAT_ICE_NONE) {
		nat_ice_nominate(a, p->valid_idx, now_ms);
	}
}

static void learn(struct nat_ice *a, const struct req *q, uint64_t now_ms)
{
	int l = nat_ice_base(a, q->port);
	unsigned comp = a->local[l].component;
	int r = remote_of(a, q, comp);
	bool use_cand = (q->m->flags & NAT_STUN_F_USE_CANDIDATE) && a->role == NAT_ICE_CONTROLLED;

	if (r < 0)
		return;
	int i = nat_ice_find_pair(a, (unsigned)l, (unsigned)r);
	if (i < 0) {
		i = nat_ice_add_pair(a, (unsigned)l, (unsigned)r, true);
		if (i < 0)
			return;
	}
	if (a->cfg.lite)
		lite_pair(a, (unsigned)i, use_cand, now_ms);
	else
		full_pair(a, (unsigned)i, use_cand, now_ms);
}

void nat_ice_request(struct nat_ice *a, uint16_t local_port, uint32_t src_ip, uint16_t src_port,
		     const struct nat_stun_msg *m, uint64_t now_ms)
{
	const struct req q = { local_port, src_ip, src_port, m };

	a->stats.requests_rcvd++;
	/* ICE's usage of STUN requires FINGERPRINT (RFC 8445 7, RFC 8489
	 * 7.3): without it the request is not a check, and is dropped */
	if (!m->fp_off) {
		a->stats.dropped++;
		return;
	}
	if (!m->username.p || !m->mi_off)
		return reply(a, &q, 400, false);
	if (!username_ok(a, m->username) ||
	    nat_stun_check_integrity(m, (const uint8_t *)a->pwd, strlen(a->pwd)) != 0)
		return reply(a, &q, 401, false);
	if (m->n_unknown)
		return reply(a, &q, 420, true);
	if (!(m->flags & NAT_STUN_F_PRIORITY) || !m->priority)
		return reply(a, &q, 400, true);
	if (role_conflict(a, m)) {
		a->stats.role_conflicts++;
		return reply(a, &q, 487, true);
	}
	reply(a, &q, 0, true);
	learn(a, &q, now_ms);
	nat_ice_update(a, now_ms);
}
