/* SPDX-License-Identifier: BSD-3-Clause
 * Our connectivity checks (RFC 8445 6.1.4, 7.2): one new check every Ta
 * (triggered first, then the best Waiting pair, then a Frozen one whose
 * foundation is idle), retransmissions by nat_bind, responses checked for
 * integrity and symmetry, valid pairs, and regular nomination when
 * controlling (8.1.1). */
#include <stdio.h>
#include <string.h>

#include "nat_ice_priv.h"

int nat_ice_send_check(struct nat_ice *a, const struct nat_ice_pair *p,
		       const uint8_t tid[NAT_STUN_TID_LEN], bool use_cand)
{
	const struct nat_ice_cand *l = &a->local[p->local], *r = &a->remote[p->remote];
	char user[2 * NAT_ICE_UFRAG_MAX + 2];
	uint8_t buf[NAT_ICE_MSG_MAX];
	struct nat_stun_builder b;

	snprintf(user, sizeof(user), "%s:%s", a->rufrag, a->ufrag);
	nat_stun_start(&b, buf, sizeof(buf), NAT_STUN_REQUEST, NAT_STUN_BINDING, tid);
	nat_stun_add_str(&b, NAT_STUN_A_USERNAME, user);
	/* 7.1.1: the priority a peer-reflexive candidate of this base would get */
	nat_stun_add_u32(&b, NAT_STUN_A_PRIORITY,
			 nat_ice_priority(NAT_ICE_PRFLX, l->local_pref, l->component));
	nat_stun_add_u64(&b, a->role == NAT_ICE_CONTROLLING ? NAT_STUN_A_ICE_CONTROLLING :
							       NAT_STUN_A_ICE_CONTROLLED,
			 a->tiebreaker);
	if (use_cand)
		nat_stun_add_raw(&b, NAT_STUN_A_USE_CANDIDATE, NULL, 0);
	nat_stun_add_integrity(&b, (const uint8_t *)a->rpwd, strlen(a->rpwd));
	int len = nat_stun_add_fingerprint(&b);
	if (len < 0)
		return -1;
	a->cfg.send(a->cfg.send_arg, l->base_port, r->ip, r->port, buf, (size_t)len);
	return 0;
}

/* off the triggered-check queue */
static void dequeue(struct nat_ice *a, unsigned i)
{
	unsigned k = 0;

	if (!a->pairs[i].triggered)
		return;
	a->pairs[i].triggered = false;
	for (unsigned j = 0; j < a->n_trig; j++)
		if (a->trig[j] != i)
			a->trig[k++] = a->trig[j];
	a->n_trig = (uint8_t)k;
}

void nat_ice_trigger(struct nat_ice *a, unsigned i)
{
	struct nat_ice_pair *p = &a->pairs[i];

	/* 7.3.1.4: a check in progress is cancelled for a fresh one: no more
	 * retransmissions, but its answer still counts */
	if (p->t.state == NAT_BIND_RUNNING) {
		memcpy(p->old_tid, p->t.tid, NAT_STUN_TID_LEN);
		p->has_old = true;
	}
	p->t.state = NAT_BIND_IDLE;
	p->state = NAT_ICE_WAITING;
	if (!p->triggered) {
		p->triggered = true;
		a->trig[a->n_trig++] = (uint8_t)i;
	}
}

static bool foundation_busy(const struct nat_ice *a, const struct nat_ice_pair *p)
{
	for (unsigned i = 0; i < a->n_pairs; i++) {
		const struct nat_ice_pair *q = &a->pairs[i];
		if ((q->state == NAT_ICE_WAITING || q->state == NAT_ICE_IN_PROGRESS) &&
		    nat_ice_same_foundation(a, p, q))
			return true;
	}
	return false;
}

/* The pair the next Ta slot checks, -1 when none (6.1.4.2). */
static int next_pair(const struct nat_ice *a)
{
	int best = -1;

	for (unsigned i = 0; i < a->n_trig; i++)
		if (a->pairs[a->trig[i]].triggered)
			return a->trig[i];
	for (int pass = 0; pass < 2 && best < 0; pass++) {
		for (unsigned i = 0; i < a->n_pairs; i++) {
			const struct nat_ice_pair *p = &a->pairs[i];
			if (!p->in_list || (best >= 0 && a->pairs[best].prio >= p->prio))
				continue;
			if (pass == 0 ? p->state == NAT_ICE_WAITING :
					p->state == NAT_ICE_FROZEN && !foundation_busy(a, p))
				best = (int)i;
		}
	}
	return best;
}

/* 14.3: RTO = MAX(500 ms, Ta x (Waiting + In-Progress)) unless configured */
static struct nat_rto check_rto(const struct nat_ice *a)
{
	uint64_t n = 0;

	if (a->cfg.rto.rto_ms)
		return a->cfg.rto;
	for (unsigned i = 0; i < a->n_pairs; i++)
		n += a->pairs[i].state == NAT_ICE_WAITING || a->pairs[i].state == NAT_ICE_IN_PROGRESS;
	uint64_t rto = a->ta_ms * n;
	struct nat_rto r = NAT_RTO_RFC8489;
	r.rto_ms = rto < r.rto_ms ? r.rto_ms : rto > 60000 ? 60000 : (uint32_t)rto;
	return r;
}

static void start_check(struct nat_ice *a, unsigned i, uint64_t now_ms)
{
	struct nat_ice_pair *p = &a->pairs[i];
	const struct nat_ice_cand *r = &a->remote[p->remote];
	struct nat_rto rto = check_rto(a);

	dequeue(a, i);
	p->state = NAT_ICE_IN_PROGRESS;
	p->req_controlling = a->role == NAT_ICE_CONTROLLING;
	if (nat_bind_init(&p->t, &rto, a->cfg.rng, a->cfg.rng_arg) != 0 ||
	    nat_bind_start(&p->t, r->ip, r->port, 0, now_ms) != 0) {
		p->state = NAT_ICE_PAIR_FAILED;
		return;
	}
	a->stats.checks_sent++;
}

static void check_failed(struct nat_ice *a, struct nat_ice_pair *p)
{
	p->state = NAT_ICE_PAIR_FAILED;
	p->t.state = NAT_BIND_IDLE;
	a->stats.checks_failed++;
	/* a nomination that failed: that valid pair is no use */
	if (p->use_cand && p->valid_idx != NAT_ICE_NONE)
		a->pairs[p->valid_idx].valid = false;
	p->use_cand = false;
	p->nominate_ok = false;
}

static void run_transactions(struct nat_ice *a, uint64_t now_ms)
{
	for (unsigned i = 0; i < a->n_pairs; i++) {
		struct nat_ice_pair *p = &a->pairs[i];
		const uint8_t *msg;
		size_t len;

		if (p->t.state != NAT_BIND_RUNNING)
			continue;
		if (nat_bind_tick(&p->t, now_ms, &msg, &len)) {
			a->stats.retransmits += p->t.sent > 1;
			nat_ice_send_check(a, p, p->t.tid, p->use_cand);
		} else if (p->t.state == NAT_BIND_TIMEOUT) {
			check_failed(a, p);
		}
	}
}

/* The best valid pair of a component, -1 when none. */
static int best_valid(const struct nat_ice *a, unsigned comp)
{
	int best = -1;

	for (unsigned i = 0; i < a->n_pairs; i++)
		if (a->pairs[i].valid && a->pairs[i].component == comp &&
		    (best < 0 || a->pairs[i].prio > a->pairs[best].prio))
			best = (int)i;
	return best;
}

/* When the controlling agent would nominate for comp: 0 now, UINT64_MAX
 * never (nothing valid yet, or a nomination already under way). */
static uint64_t nominate_at(const struct nat_ice *a, unsigned comp)
{
	const struct nat_ice_comp *c = &a->comp[comp - 1];
	int best = best_valid(a, comp);

	if (a->role != NAT_ICE_CONTROLLING || c->selected != NAT_ICE_NONE || best < 0)
		return UINT64_MAX;
	for (unsigned i = 0; i < a->n_pairs; i++)
		if (a->pairs[i].component == comp && a->pairs[i].use_cand)
			return UINT64_MAX;
	/* wait a while for a better pair still being checked */
	for (unsigned i = 0; i < a->n_pairs; i++) {
		const struct nat_ice_pair *p = &a->pairs[i];
		if (p->component == comp && p->in_list && p->state <= NAT_ICE_IN_PROGRESS &&
		    p->prio > a->pairs[best].prio)
			return c->first_valid_ms + a->cfg.nominate_wait_ms;
	}
	return 0;
}

static void nominate(struct nat_ice *a, uint64_t now_ms)
{
	for (unsigned comp = 1; comp <= a->cfg.components; comp++) {
		if (nominate_at(a, comp) > now_ms)
			continue;
		const struct nat_ice_pair *v = &a->pairs[best_valid(a, comp)];
		unsigned via = v->via != NAT_ICE_NONE ? v->via : (unsigned)(v - a->pairs);
		a->pairs[via].use_cand = true;
		nat_ice_trigger(a, via);
	}
}

void nat_ice_checks_tick(struct nat_ice *a, uint64_t now_ms)
{
	nominate(a, now_ms);
	if (now_ms >= a->next_check_ms) {
		int i = next_pair(a);
		if (i >= 0) {
			start_check(a, (unsigned)i, now_ms);
			a->next_check_ms = now_ms + a->ta_ms;
		}
	}
	run_transactions(a, now_ms);
}

uint64_t nat_ice_checks_deadline(const struct nat_ice *a)
{
	uint64_t d = next_pair(a) >= 0 ? a->next_check_ms : UINT64_MAX;

	for (unsigned i = 0; i < a->n_pairs; i++) {
		uint64_t t = nat_bind_deadline(&a->pairs[i].t);
		d = t < d ? t : d;
	}
	for (unsigned comp = 1; comp <= a->cfg.components; comp++) {
		uint64_t t = nominate_at(a, comp);
		d = t < d ? t : d;
	}
	return d;
}

/* ---- responses -------------------------------------------------------- */

bool nat_ice_response_ok(const struct nat_ice *a, const struct nat_stun_msg *m)
{
	return m->fp_off && m->mi_off &&
	       nat_stun_check_integrity(m, (const uint8_t *)a->rpwd, strlen(a->rpwd)) == 0;
}

/* 7.2.5.3.1: the local candidate the mapped address names, learnt as
 * peer-reflexive when new (priority: what our request announced). */
static unsigned mapped_local(struct nat_ice *a, const struct nat_ice_pair *p,
			     const struct nat_stun_addr *m)
{
	int l = nat_ice_find_local(a, p->component, m->ip4, m->port);

	if (l >= 0)
		return (unsigned)l;
	if (a->n_local == NAT_ICE_MAX_LOCAL)
		return p->local;
	struct nat_ice_cand c = a->local[p->local];
	c.type = NAT_ICE_PRFLX;
	c.ip = m->ip4;
	c.port = m->port;
	c.server_ip = 0;
	c.priority = nat_ice_priority(NAT_ICE_PRFLX, c.local_pref, c.component);
	c.rel_ip = a->cfg.hide_raddr ? 0 : c.base_ip;
	c.rel_port = a->cfg.hide_raddr ? 0 : c.base_port;
	a->local[a->n_local] = c;
	nat_ice_foundation(a->local, a->n_local);
	a->stats.prflx_local++;
	return a->n_local++;
}

static void check_succeeded(struct nat_ice *a, unsigned i, const struct nat_stun_addr *mapped,
			    bool old, uint64_t now_ms)
{
	struct nat_ice_pair *p = &a->pairs[i];
	struct nat_ice_comp *c = &a->comp[p->component - 1];
	unsigned l = mapped_local(a, p, mapped);
	int v = nat_ice_find_pair(a, l, p->remote);

	p->state = NAT_ICE_SUCCEEDED;
	a->stats.checks_ok++;
	if (v < 0) {
		v = nat_ice_add_pair(a, l, p->remote, false);
		if (v < 0)
			v = (int)i;
		a->pairs[v].state = NAT_ICE_SUCCEEDED;
	}
	a->pairs[v].valid = true;
	a->pairs[v].via = (uint8_t)i;
	p->valid_idx = (uint8_t)v;
	if (!c->first_valid_ms)
		c->first_valid_ms = now_ms ? now_ms : 1;
	/* 7.2.5.3.3: the foundation works, its frozen pairs may go */
	for (unsigned j = 0; j < a->n_pairs; j++)
		if (a->pairs[j].state == NAT_ICE_FROZEN && nat_ice_same_foundation(a, p, &a->pairs[j]))
			a->pairs[j].state = NAT_ICE_WAITING;
	if (c->selected == v)
		c->consent_ok_ms = now_ms;
	/* only a check that carried USE-CANDIDATE nominates for the controlling
	 * side; the controlled one nominates on any success (7.3.1.5) */
	bool nominated = a->role == NAT_ICE_CONTROLLING ? p->use_cand && !old : p->nominate_ok;
	if (!p->use_cand) {
		p->t.state = NAT_BIND_IDLE;    /* a newer check of the pair is moot */
		dequeue(a, i);
	}
	if (nominated || a->role == NAT_ICE_CONTROLLED) {
		p->use_cand = false;
		p->nominate_ok = false;
	}
	if (nominated)
		nat_ice_nominate(a, (unsigned)v, now_ms);
}

/* the pair whose check (running, or cancelled: *old) has this id */
static int match(const struct nat_ice *a, const uint8_t *tid, bool *old)
{
	for (unsigned i = 0; i < a->n_pairs; i++) {
		const struct nat_ice_pair *p = &a->pairs[i];
		if (p->t.state == NAT_BIND_RUNNING && memcmp(p->t.tid, tid, NAT_STUN_TID_LEN) == 0) {
			*old = false;
			return (int)i;
		}
		if (p->has_old && memcmp(p->old_tid, tid, NAT_STUN_TID_LEN) == 0) {
			*old = true;
			return (int)i;
		}
	}
	return -1;
}

int nat_ice_check_response(struct nat_ice *a, uint16_t local_port, uint32_t src_ip,
			   uint16_t src_port, const struct nat_stun_msg *m, uint64_t now_ms)
{
	bool old = false;
	int i = match(a, m->tid, &old);

	/* 7.2.5.2: unauthenticated answers are as if never received */
	if (i < 0 || !nat_ice_response_ok(a, m))
		return 0;
	struct nat_ice_pair *p = &a->pairs[i];
	const struct nat_ice_cand *l = &a->local[p->local], *r = &a->remote[p->remote];
	const struct nat_stun_addr *mapped = m->xor_mapped.family ? &m->xor_mapped : &m->mapped;
	if (old) {
		p->has_old = false;
		if (m->cls != NAT_STUN_SUCCESS)
			return 1;           /* the running check will have its own */
	} else {
		nat_bind_input(&p->t, m);
	}
	if (src_ip != r->ip || src_port != r->port || local_port != l->base_port) {
		check_failed(a, p);         /* 7.2.5.2.1: not symmetric */
	} else if (m->cls == NAT_STUN_ERROR_RESP && m->error_code == 487) {
		/* 7.2.5.1: switch to the role the peer did not claim, unless an
		 * earlier conflict already did, and check again */
		if (p->req_controlling == (a->role == NAT_ICE_CONTROLLING)) {
			nat_ice_switch_role(a);
			a->tiebreaker = nat_ice_random(a);
		}
		nat_ice_trigger(a, (unsigned)i);
	} else if (m->cls != NAT_STUN_SUCCESS || mapped->family != NAT_STUN_FAM_IPV4 ||
		   m->n_unknown) {
		check_failed(a, p);
	} else {
		check_succeeded(a, (unsigned)i, mapped, old, now_ms);
	}
	return 1;
}
