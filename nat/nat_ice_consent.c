/* SPDX-License-Identifier: BSD-3-Clause
 * Consent freshness (RFC 7675) on each component's selected pair: a check
 * every consent_ms x 0.8..1.2 (a fresh transaction id each, retransmitted
 * by nat_bind until the next), consent refreshed by an authenticated,
 * symmetric success answering any of the recent ones, lost after
 * consent_timeout_ms without one or at once on an authenticated 403. A
 * lite agent sends no checks: it counts the peer's authenticated checks on
 * the selected pair instead (the full peer sends them every ~5 s). */
#include <string.h>

#include "nat_ice_priv.h"

static uint64_t interval(struct nat_ice *a)
{
	uint64_t base = a->cfg.consent_ms, r = nat_ice_random(a) & 0xFFFF;

	return base * 4 / 5 + ((base * 2 / 5 * r) >> 16);
}

void nat_ice_consent_begin(struct nat_ice *a, unsigned component, uint64_t now_ms)
{
	struct nat_ice_comp *c = &a->comp[component - 1];

	c->consent_ok_ms = now_ms;
	c->consent_next_ms = now_ms + interval(a);
	c->n_tids = 0;
}

static void lost(struct nat_ice *a, unsigned component)
{
	a->consent_lost = true;
	for (unsigned i = 0; i < a->n_pairs; i++)
		a->pairs[i].t.state = NAT_BIND_IDLE;
	for (unsigned k = 0; k < NAT_ICE_MAX_COMPONENTS; k++)
		a->comp[k].consent.state = NAT_BIND_IDLE;
	nat_ice_set_state(a, NAT_ICE_FAILED);
	nat_ice_emit(a, NAT_ICE_EV_CONSENT_LOST, component);
}

static void send_consent(struct nat_ice *a, struct nat_ice_comp *c, uint64_t now_ms)
{
	const struct nat_ice_pair *p = &a->pairs[c->selected];
	const struct nat_ice_cand *r = &a->remote[p->remote];
	const uint8_t *msg;
	size_t len;

	if (now_ms >= c->consent_next_ms) {
		c->consent_next_ms = now_ms + interval(a);
		if (nat_bind_init(&c->consent, NULL, a->cfg.rng, a->cfg.rng_arg) == 0 &&
		    nat_bind_start(&c->consent, r->ip, r->port, 0, now_ms) == 0) {
			memcpy(c->tids[c->n_tids++ % NAT_ICE_CONSENT_TIDS], c->consent.tid,
			       NAT_STUN_TID_LEN);
			a->stats.consent_sent++;
		}
	}
	if (nat_bind_tick(&c->consent, now_ms, &msg, &len)) {
		a->stats.retransmits += c->consent.sent > 1;
		nat_ice_send_check(a, p, c->consent.tid, false);
	}
}

void nat_ice_consent_tick(struct nat_ice *a, uint64_t now_ms)
{
	for (unsigned k = 0; k < a->cfg.components; k++) {
		struct nat_ice_comp *c = &a->comp[k];
		if (c->selected == NAT_ICE_NONE)
			continue;
		if (now_ms >= c->consent_ok_ms + a->cfg.consent_timeout_ms) {
			lost(a, k + 1);
			return;
		}
		if (!a->cfg.lite)
			send_consent(a, c, now_ms);
	}
}

uint64_t nat_ice_consent_deadline(const struct nat_ice *a)
{
	uint64_t d = UINT64_MAX;

	for (unsigned k = 0; k < a->cfg.components; k++) {
		const struct nat_ice_comp *c = &a->comp[k];
		if (c->selected == NAT_ICE_NONE)
			continue;
		uint64_t t = c->consent_ok_ms + a->cfg.consent_timeout_ms;
		d = t < d ? t : d;
		if (a->cfg.lite)
			continue;
		t = nat_bind_deadline(&c->consent);
		d = t < d ? t : d;
		d = c->consent_next_ms < d ? c->consent_next_ms : d;
	}
	return d;
}

static bool recent(const struct nat_ice_comp *c, const uint8_t *tid)
{
	unsigned n = c->n_tids < NAT_ICE_CONSENT_TIDS ? c->n_tids : NAT_ICE_CONSENT_TIDS;

	for (unsigned i = 0; i < n; i++)
		if (memcmp(c->tids[i], tid, NAT_STUN_TID_LEN) == 0)
			return true;
	return false;
}

int nat_ice_consent_response(struct nat_ice *a, uint16_t local_port, uint32_t src_ip,
			     uint16_t src_port, const struct nat_stun_msg *m, uint64_t now_ms)
{
	for (unsigned k = 0; k < a->cfg.components; k++) {
		struct nat_ice_comp *c = &a->comp[k];
		if (c->selected == NAT_ICE_NONE || !recent(c, m->tid))
			continue;
		if (!nat_ice_response_ok(a, m))
			return 0;
		const struct nat_ice_pair *p = &a->pairs[c->selected];
		if (src_ip != a->remote[p->remote].ip || src_port != a->remote[p->remote].port ||
		    local_port != a->local[p->local].base_port)
			return 1;   /* not from where consent is asked: no consent */
		nat_bind_input(&c->consent, m);
		if (m->cls == NAT_STUN_SUCCESS) {
			c->consent_ok_ms = now_ms;
			a->stats.consent_ok++;
		} else if (m->error_code == 403) {
			lost(a, k + 1);
		}
		return 1;
	}
	return 0;
}

void nat_ice_consent_seen(struct nat_ice *a, unsigned pair, uint64_t now_ms)
{
	struct nat_ice_comp *c = &a->comp[a->pairs[pair].component - 1];

	if (c->selected == pair)
		c->consent_ok_ms = now_ms;
}
