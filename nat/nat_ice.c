/* SPDX-License-Identifier: BSD-3-Clause
 * ICE agent: set-up, candidates, the checklist (RFC 8445 6.1.2), state
 * and selection (8.1). See nat_ice.h. */
#include <string.h>
#include <sys/random.h>

#include "nat_ice_priv.h"
#include "nat_name_priv.h"

uint64_t nat_ice_random(struct nat_ice *a)
{
	uint8_t r[8] = { 0 };
	uint64_t v = 0;

	if (a->cfg.rng)
		(void)a->cfg.rng(a->cfg.rng_arg, r, sizeof(r));
	else if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | r[i];
	return v;
}

static bool cred_ok(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	return n >= min && n <= max && nat_ice_chars(s, n);
}

int nat_ice_init(struct nat_ice *a, const struct nat_ice_cfg *cfg)
{
	memset(a, 0, sizeof(*a));
	a->cfg = *cfg;
	if (!a->cfg.components)
		a->cfg.components = 1;
	if (!cfg->send || a->cfg.components > NAT_ICE_MAX_COMPONENTS)
		return -1;
	if (cfg->rto.rto_ms && (!cfg->rto.rc || cfg->rto.rc > NAT_RTO_MAX_RC || !cfg->rto.rm))
		return -1;
	if (!a->cfg.ta_ms)
		a->cfg.ta_ms = NAT_ICE_TA_MS;
	if (!a->cfg.consent_ms)
		a->cfg.consent_ms = NAT_ICE_CONSENT_MS;
	if (!a->cfg.consent_timeout_ms)
		a->cfg.consent_timeout_ms = NAT_ICE_CONSENT_TIMEOUT_MS;
	if (!a->cfg.nominate_wait_ms)
		a->cfg.nominate_wait_ms = NAT_ICE_NOMINATE_WAIT_MS;
	a->role = cfg->lite ? NAT_ICE_CONTROLLED : cfg->role;
	a->stats.nomination_ms = -1;
	for (unsigned c = 0; c < NAT_ICE_MAX_COMPONENTS; c++)
		a->comp[c].selected = NAT_ICE_NONE;
	if (cfg->ufrag || cfg->pwd) {
		if (!cfg->ufrag || !cfg->pwd ||
		    !cred_ok(cfg->ufrag, NAT_ICE_UFRAG_MIN, NAT_ICE_UFRAG_MAX) ||
		    !cred_ok(cfg->pwd, NAT_ICE_PWD_MIN, NAT_ICE_PWD_MAX))
			return -1;
		strcpy(a->ufrag, cfg->ufrag);
		strcpy(a->pwd, cfg->pwd);
	} else if (nat_ice_gen_creds(cfg->rng, cfg->rng_arg, a->ufrag, a->pwd) != 0) {
		return -1;
	}
	a->tiebreaker = nat_ice_random(a);
	return 0;
}

/* ---- candidates ------------------------------------------------------- */

int nat_ice_base(const struct nat_ice *a, uint16_t local_port)
{
	int found = -1;

	/* the base itself (host, relay) rather than a reflexive candidate on it */
	for (unsigned i = 0; i < a->n_local; i++) {
		const struct nat_ice_cand *c = &a->local[i];
		if (c->base_port != local_port)
			continue;
		if (found < 0 || (c->ip == c->base_ip && c->port == c->base_port))
			found = (int)i;
	}
	return found;
}

int nat_ice_find_local(const struct nat_ice *a, unsigned comp, uint32_t ip, uint16_t port)
{
	for (unsigned i = 0; i < a->n_local; i++)
		if (a->local[i].component == comp && a->local[i].ip == ip && a->local[i].port == port)
			return (int)i;
	return -1;
}

int nat_ice_find_remote(const struct nat_ice *a, unsigned comp, uint32_t ip, uint16_t port)
{
	for (unsigned i = 0; i < a->n_remote; i++)
		if (a->remote[i].component == comp && a->remote[i].ip == ip &&
		    a->remote[i].port == port)
			return (int)i;
	return -1;
}

static bool local_ok(const struct nat_ice *a, const struct nat_ice_cand *c)
{
	if (c->type == NAT_ICE_PRFLX || c->type >= NAT_ICE_N_TYPES || !c->ip || !c->port ||
	    c->component < 1 || c->component > a->cfg.components)
		return false;
	if (c->type == NAT_ICE_SRFLX && (!c->base_ip || !c->base_port))
		return false;
	/* a port names one base */
	for (unsigned i = 0; i < a->n_local; i++)
		if (a->local[i].base_port == c->base_port && a->local[i].base_ip != c->base_ip)
			return false;
	return true;
}

int nat_ice_add_local(struct nat_ice *a, const struct nat_ice_cand *in)
{
	struct nat_ice_cand c = *in;

	if (c.type != NAT_ICE_SRFLX) {
		c.base_ip = c.ip;   /* host and relayed candidates are their own base */
		c.base_port = c.port;
	}
	if (a->state != NAT_ICE_IDLE || !local_ok(a, &c))
		return -1;
	if (!c.local_pref)
		c.local_pref = 65535;
	if (!c.priority)
		c.priority = nat_ice_priority((enum nat_ice_type)c.type, c.local_pref, c.component);
	if (c.type == NAT_ICE_SRFLX) {
		c.rel_ip = c.base_ip;
		c.rel_port = c.base_port;
	} else if (c.type == NAT_ICE_HOST) {
		c.rel_ip = 0;
		c.rel_port = 0;
	}
	if (a->cfg.hide_raddr) {
		c.rel_ip = 0;
		c.rel_port = 0;
	}
	/* RFC 8445 5.1.3: same address and base is redundant, the higher
	 * priority one stays */
	int dup = nat_ice_find_local(a, c.component, c.ip, c.port);
	if (dup >= 0 && a->local[dup].base_ip == c.base_ip && a->local[dup].base_port == c.base_port) {
		if (a->local[dup].priority >= c.priority)
			return dup;
		a->local[dup] = c;
	} else if (dup >= 0 || a->n_local == NAT_ICE_MAX_LOCAL) {
		return -1;
	} else {
		dup = a->n_local;
		a->local[a->n_local++] = c;
	}
	for (unsigned i = 0; i < a->n_local; i++)
		nat_ice_foundation(a->local, i);
	return dup;
}

/* ---- pairs ------------------------------------------------------------ */

static uint64_t pair_prio(const struct nat_ice *a, unsigned l, unsigned r)
{
	uint32_t lp = a->local[l].priority, rp = a->remote[r].priority;

	return a->role == NAT_ICE_CONTROLLING ? nat_ice_pair_priority(lp, rp) :
						nat_ice_pair_priority(rp, lp);
}

int nat_ice_find_pair(const struct nat_ice *a, unsigned local, unsigned remote)
{
	for (unsigned i = 0; i < a->n_pairs; i++)
		if (a->pairs[i].local == local && a->pairs[i].remote == remote)
			return (int)i;
	return -1;
}

int nat_ice_add_pair(struct nat_ice *a, unsigned local, unsigned remote, bool in_list)
{
	if (a->n_pairs == NAT_ICE_MAX_PAIRS)
		return -1;
	struct nat_ice_pair *p = &a->pairs[a->n_pairs];
	*p = (struct nat_ice_pair){
		.local = (uint8_t)local, .remote = (uint8_t)remote,
		.component = (uint8_t)a->local[local].component, .state = NAT_ICE_FROZEN,
		.in_list = in_list, .valid_idx = NAT_ICE_NONE, .via = NAT_ICE_NONE,
		.prio = pair_prio(a, local, remote),
	};
	return a->n_pairs++;
}

bool nat_ice_same_foundation(const struct nat_ice *a, const struct nat_ice_pair *x,
			     const struct nat_ice_pair *y)
{
	return strcmp(a->local[x->local].foundation, a->local[y->local].foundation) == 0 &&
	       strcmp(a->remote[x->remote].foundation, a->remote[y->remote].foundation) == 0;
}

void nat_ice_switch_role(struct nat_ice *a)
{
	a->role = a->role == NAT_ICE_CONTROLLING ? NAT_ICE_CONTROLLED : NAT_ICE_CONTROLLING;
	a->stats.role_conflicts++;
	for (unsigned i = 0; i < a->n_pairs; i++) {
		struct nat_ice_pair *p = &a->pairs[i];
		p->prio = pair_prio(a, p->local, p->remote);
		/* nominations belong to the role that made them */
		p->use_cand = false;
		p->nominate_ok = false;
	}
}

/* RFC 8445 6.1.2.4: a srflx candidate is replaced by its base, so it pairs
 * only when no host candidate is that base. */
static bool pairable(const struct nat_ice *a, unsigned l)
{
	const struct nat_ice_cand *c = &a->local[l];

	if (c->type != NAT_ICE_SRFLX)
		return true;
	for (unsigned i = 0; i < a->n_local; i++)
		if (a->local[i].type == NAT_ICE_HOST && a->local[i].ip == c->base_ip &&
		    a->local[i].port == c->base_port)
			return false;
	return true;
}

/* RFC 8445 6.1.2.6: per foundation, the pair of the lowest component and
 * then the highest priority waits; the others are frozen. */
static void initial_states(struct nat_ice *a)
{
	for (unsigned i = 0; i < a->n_pairs; i++) {
		struct nat_ice_pair *p = &a->pairs[i];
		bool first = true;
		for (unsigned j = 0; j < a->n_pairs && first; j++) {
			const struct nat_ice_pair *q = &a->pairs[j];
			if (j != i && nat_ice_same_foundation(a, p, q) &&
			    (q->component < p->component || (q->component == p->component && j < i)))
				first = false;
		}
		p->state = first ? NAT_ICE_WAITING : NAT_ICE_FROZEN;
	}
}

/* Every local-remote combination of a component, the best
 * NAT_ICE_CHECKLIST_MAX of them by priority (6.1.2.5), in that order. */
static void form_checklist(struct nat_ice *a)
{
	struct { uint8_t l, r; uint64_t prio; } c[NAT_ICE_MAX_LOCAL * NAT_ICE_MAX_REMOTE];
	unsigned n = 0;

	for (unsigned l = 0; l < a->n_local; l++) {
		if (!pairable(a, l))
			continue;
		for (unsigned r = 0; r < a->n_remote; r++) {
			if (a->remote[r].component != a->local[l].component)
				continue;
			unsigned j = n++;
			uint64_t prio = pair_prio(a, l, r);
			for (; j > 0 && c[j - 1].prio < prio; j--)
				c[j] = c[j - 1];
			c[j].l = (uint8_t)l;
			c[j].r = (uint8_t)r;
			c[j].prio = prio;
		}
	}
	for (unsigned i = 0; i < n && i < NAT_ICE_CHECKLIST_MAX; i++)
		nat_ice_add_pair(a, c[i].l, c[i].r, true);
	initial_states(a);
}

int nat_ice_start(struct nat_ice *a, const struct nat_ice_sdp *r, uint64_t now_ms)
{
	if (a->state != NAT_ICE_IDLE || !nat_ice_sdp_usable(r))
		return -1;
	memcpy(a->rufrag, r->ufrag, sizeof(a->rufrag));
	memcpy(a->rpwd, r->pwd, sizeof(a->rpwd));
	a->remote_lite = r->lite;
	/* RFC 8445 6.1.1: with a lite peer the full agent controls */
	if (r->lite && !a->cfg.lite)
		a->role = NAT_ICE_CONTROLLING;
	for (unsigned i = 0; i < r->n_cands && a->n_remote < NAT_ICE_MAX_REMOTE; i++)
		if (r->cands[i].component <= a->cfg.components &&
		    nat_ice_find_remote(a, r->cands[i].component, r->cands[i].ip,
					r->cands[i].port) < 0)
			a->remote[a->n_remote++] = r->cands[i];
	memcpy(a->stats.offered, r->n_by_type, sizeof(a->stats.offered));
	a->stats.offered_skipped = (uint16_t)(r->n_skipped + r->n_bad);
	a->ta_ms = r->pacing_ms > a->cfg.ta_ms ? r->pacing_ms : a->cfg.ta_ms;
	a->start_ms = now_ms;
	a->next_check_ms = now_ms;
	if (!a->cfg.lite)
		form_checklist(a);
	nat_ice_set_state(a, NAT_ICE_CHECKING);
	nat_ice_tick(a, now_ms);
	return 0;
}

/* ---- selection and state ---------------------------------------------- */

void nat_ice_emit(struct nat_ice *a, enum nat_ice_event ev, unsigned component)
{
	if (a->cfg.on_event)
		a->cfg.on_event(a->cfg.event_arg, ev, component);
}

void nat_ice_set_state(struct nat_ice *a, enum nat_ice_state s)
{
	if (a->state == s)
		return;
	a->state = s;
	nat_ice_emit(a, NAT_ICE_EV_STATE, 0);
}

bool nat_ice_full(const struct nat_ice *a)
{
	return !a->cfg.lite && a->state != NAT_ICE_IDLE && a->state != NAT_ICE_FAILED;
}

/* the triggered-check queue without the pairs taken off it */
static void trig_compact(struct nat_ice *a)
{
	unsigned k = 0;

	for (unsigned i = 0; i < a->n_trig; i++)
		if (a->pairs[a->trig[i]].triggered)
			a->trig[k++] = a->trig[i];
	a->n_trig = (uint8_t)k;
}

/* RFC 8445 8.1.2: once a component has its pair, its other checks stop */
static void stop_component(struct nat_ice *a, unsigned comp)
{
	for (unsigned i = 0; i < a->n_pairs; i++) {
		struct nat_ice_pair *p = &a->pairs[i];
		if (p->component != comp || p->nominated || p->use_cand || p->nominate_ok)
			continue;
		if (p->state == NAT_ICE_FROZEN || p->state == NAT_ICE_WAITING) {
			p->state = NAT_ICE_PAIR_FAILED;
			p->triggered = false;
		}
		if (p->state == NAT_ICE_IN_PROGRESS && p->t.state == NAT_BIND_RUNNING) {
			p->t.state = NAT_BIND_IDLE;
			p->state = NAT_ICE_PAIR_FAILED;
		}
	}
	trig_compact(a);
}

void nat_ice_nominate(struct nat_ice *a, unsigned v, uint64_t now_ms)
{
	struct nat_ice_pair *p = &a->pairs[v];
	struct nat_ice_comp *c = &a->comp[p->component - 1];

	p->nominated = true;
	if (c->selected != NAT_ICE_NONE && a->pairs[c->selected].prio >= p->prio)
		return;
	bool first = c->selected == NAT_ICE_NONE;
	c->selected = (uint8_t)v;
	if (first)
		nat_ice_consent_begin(a, p->component, now_ms);
	else
		c->consent_ok_ms = now_ms;
	if (!a->cfg.lite)
		stop_component(a, p->component);
	nat_ice_emit(a, NAT_ICE_EV_SELECTED, p->component);
	nat_ice_update(a, now_ms);
}

/* A pair whose local base moved: checked again from the new base when it is on the
 * checklist, else (a valid pair learnt on the old base) failed. */
static void pair_moved(struct nat_ice *a, unsigned i, bool again)
{
	struct nat_ice_pair *p = &a->pairs[i];
	struct nat_ice_comp *c = &a->comp[p->component - 1];

	if (c->selected == i) { /* its consent checks go with it */
		c->selected = NAT_ICE_NONE;
		c->consent.state = NAT_BIND_IDLE;
		c->n_tids = 0;
	}
	p->valid = p->nominated = p->use_cand = p->nominate_ok = false;
	p->triggered = p->has_old = false;
	p->valid_idx = p->via = NAT_ICE_NONE;
	p->t.state = NAT_BIND_IDLE;
	p->state = again ? NAT_ICE_WAITING : NAT_ICE_PAIR_FAILED;
}

int nat_ice_move_relay(struct nat_ice *a, unsigned component, uint32_t ip, uint16_t port,
		       uint64_t now_ms)
{
	int l = -1;
	uint16_t old;

	for (unsigned i = 0; i < a->n_local && l < 0; i++)
		if (a->local[i].type == NAT_ICE_RELAY && a->local[i].component == component)
			l = (int)i;
	if (l < 0 || ip == 0 || port == 0)
		return -1;
	old = a->local[l].base_port;
	if (a->local[l].ip == ip && old == port)
		return 0;
	for (unsigned i = 0; i < a->n_local; i++) /* a port names one base */
		if ((int)i != l && a->local[i].base_port == port)
			return -1;
	a->local[l].ip = a->local[l].base_ip = a->local[l].server_ip = ip;
	a->local[l].port = a->local[l].base_port = port;
	for (unsigned i = 0; i < a->n_local; i++)
		nat_ice_foundation(a->local, i);
	/* its pairs, and those of peer-reflexive candidates learnt on the old base */
	for (unsigned i = 0; i < a->n_pairs; i++) {
		const struct nat_ice_pair *p = &a->pairs[i];
		if (p->local == l || a->local[p->local].base_port == old)
			pair_moved(a, i, p->local == l && p->in_list && !a->cfg.lite);
	}
	trig_compact(a);
	if (a->next_check_ms < now_ms)
		a->next_check_ms = now_ms;
	nat_ice_update(a, now_ms);
	return 0;
}

const struct nat_ice_pair *nat_ice_selected(const struct nat_ice *a, unsigned component)
{
	if (component < 1 || component > a->cfg.components ||
	    a->comp[component - 1].selected == NAT_ICE_NONE)
		return NULL;
	return &a->pairs[a->comp[component - 1].selected];
}

/* how long a check may take: the last send and Rm x RTO after it */
static uint64_t giveup_ms(const struct nat_ice *a)
{
	struct nat_rto r = a->cfg.rto.rto_ms ? a->cfg.rto : NAT_RTO_RFC8489;

	return (uint64_t)r.rto_ms * (((uint64_t)1 << (r.rc - 1)) - 1 + r.rm);
}

static bool pending(const struct nat_ice *a)
{
	if (a->n_trig)
		return true;
	for (unsigned i = 0; i < a->n_pairs; i++)
		if (a->pairs[i].state <= NAT_ICE_IN_PROGRESS)
			return true;
	return false;
}

void nat_ice_update(struct nat_ice *a, uint64_t now_ms)
{
	unsigned selected = 0, valid = 0;

	if (a->state == NAT_ICE_IDLE || a->state == NAT_ICE_FAILED)
		return;
	for (unsigned c = 1; c <= a->cfg.components; c++) {
		bool v = false;
		for (unsigned i = 0; i < a->n_pairs && !v; i++)
			v = a->pairs[i].valid && a->pairs[i].component == c;
		valid += v;
		selected += a->comp[c - 1].selected != NAT_ICE_NONE;
	}
	if (selected == a->cfg.components) {
		if (a->stats.nomination_ms < 0)
			a->stats.nomination_ms = (int64_t)(now_ms - a->start_ms);
		nat_ice_set_state(a, NAT_ICE_COMPLETED);
	} else if (valid == a->cfg.components) {
		nat_ice_set_state(a, NAT_ICE_CONNECTED);
	} else if (!a->cfg.lite && !pending(a) && now_ms >= a->start_ms + giveup_ms(a)) {
		/* nothing left to try, and the peer had a check's lifetime to
		 * reach us first */
		nat_ice_set_state(a, NAT_ICE_FAILED);
	} else {
		nat_ice_set_state(a, NAT_ICE_CHECKING);
	}
}

/* ---- driving ---------------------------------------------------------- */

int nat_ice_input(struct nat_ice *a, uint16_t local_port, uint32_t src_ip, uint16_t src_port,
		  const uint8_t *msg, size_t len, uint64_t now_ms)
{
	struct nat_stun_msg m;

	if (!nat_stun_is_stun(msg, len) || nat_ice_base(a, local_port) < 0)
		return 0;
	if (nat_stun_parse(msg, len, &m) != 0) {
		a->stats.dropped++;
		return 1;
	}
	if (m.method != NAT_STUN_BINDING)
		return 0;       /* TURN and other usages are the caller's */
	if (a->state == NAT_ICE_IDLE || a->state == NAT_ICE_FAILED ||
	    m.cls == NAT_STUN_INDICATION) {
		a->stats.dropped += m.cls != NAT_STUN_INDICATION;
		return 1;
	}
	if (m.cls == NAT_STUN_REQUEST)
		nat_ice_request(a, local_port, src_ip, src_port, &m, now_ms);
	else if (!nat_ice_consent_response(a, local_port, src_ip, src_port, &m, now_ms) &&
		 !nat_ice_check_response(a, local_port, src_ip, src_port, &m, now_ms))
		a->stats.dropped++;
	nat_ice_tick(a, now_ms);
	return 1;
}

void nat_ice_tick(struct nat_ice *a, uint64_t now_ms)
{
	if (a->state == NAT_ICE_IDLE || a->state == NAT_ICE_FAILED)
		return;
	nat_ice_consent_tick(a, now_ms);
	if (nat_ice_full(a))
		nat_ice_checks_tick(a, now_ms);
	nat_ice_update(a, now_ms);
}

uint64_t nat_ice_deadline(const struct nat_ice *a)
{
	if (a->state == NAT_ICE_IDLE || a->state == NAT_ICE_FAILED)
		return UINT64_MAX;
	uint64_t d = nat_ice_consent_deadline(a);
	if (!a->cfg.lite) {
		uint64_t c = nat_ice_checks_deadline(a);
		d = c < d ? c : d;
		if (a->state == NAT_ICE_CHECKING && !pending(a)) {
			uint64_t g = a->start_ms + giveup_ms(a);
			d = g < d ? g : d;
		}
	}
	return d;
}

const char *nat_ice_state_name(enum nat_ice_state s)
{
	static const char *const names[] = {
		[NAT_ICE_IDLE] = "idle", [NAT_ICE_CHECKING] = "checking",
		[NAT_ICE_CONNECTED] = "connected", [NAT_ICE_COMPLETED] = "completed",
		[NAT_ICE_FAILED] = "failed",
	};

	return NAT_NAME_OF(names, s);
}

const char *nat_ice_pair_state_name(enum nat_ice_pair_state s)
{
	static const char *const names[] = {
		[NAT_ICE_FROZEN] = "frozen", [NAT_ICE_WAITING] = "waiting",
		[NAT_ICE_IN_PROGRESS] = "in-progress", [NAT_ICE_SUCCEEDED] = "succeeded",
		[NAT_ICE_PAIR_FAILED] = "failed",
	};

	return NAT_NAME_OF(names, s);
}

const char *nat_ice_role_name(enum nat_ice_role r)
{
	static const char *const names[] = {
		[NAT_ICE_CONTROLLED] = "controlled", [NAT_ICE_CONTROLLING] = "controlling",
	};

	return NAT_NAME_OF(names, r);
}
