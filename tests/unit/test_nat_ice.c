/* SPDX-License-Identifier: BSD-3-Clause
 * nat_ice: two agents through an in-memory network (the SRC controlling,
 * rtprec controlled), once with the SRC behind a NAT so that rtprec learns
 * a peer-reflexive candidate; hand-made checks for 400/401/420/487 and a
 * missing FINGERPRINT; role conflicts; consent lost after 30 s; lite mode;
 * Ta pacing and the RTO formula. Time is simulated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ut_ice.h"

static const struct ut_ice_scen scens[] = {
	{ 1, false, false, NAT_ICE_CONTROLLING, NAT_ICE_CONTROLLED, 0, 0 },
	{ 2, false, false, NAT_ICE_CONTROLLING, NAT_ICE_CONTROLLED, 0, 0 },
	{ 1, true, false, NAT_ICE_CONTROLLING, NAT_ICE_CONTROLLED, 0, 0 },
	{ 2, true, false, NAT_ICE_CONTROLLING, NAT_ICE_CONTROLLED, 0, 0 },
	{ 1, false, true, NAT_ICE_CONTROLLING, NAT_ICE_CONTROLLED, 0, 0 },
	{ 2, true, true, NAT_ICE_CONTROLLING, NAT_ICE_CONTROLLED, 0, 0 },
	/* a misconfigured SRC: both controlled, or both controlling */
	{ 1, false, false, NAT_ICE_CONTROLLED, NAT_ICE_CONTROLLED, 0, 0 },
	{ 1, false, false, NAT_ICE_CONTROLLING, NAT_ICE_CONTROLLING, 0, 0 },
};

/* Every scenario ends with rtprec's selected pair pointing at where the
 * SRC's media comes from, on both components. */
static void test_nomination(void **state)
{
	(void)state;

	for (size_t k = 0; k < sizeof(scens) / sizeof(scens[0]); k++) {
		const struct ut_ice_scen *s = &scens[k];
		ut_ice_setup_pair(s);
		ut_ice_run(&ut_net, 3000);
		struct nat_ice *rec = &ut_net.ag[REC], *src = &ut_net.ag[SRC];
		if (rec->state != NAT_ICE_COMPLETED || src->state != NAT_ICE_COMPLETED)
			fail_msg("scenario %zu: rtprec %s, SRC %s", k, nat_ice_state_name(rec->state),
				 nat_ice_state_name(src->state));
		assert_int_not_equal(rec->role, src->role);
		for (unsigned c = 1; c <= s->components; c++) {
			const struct nat_ice_pair *p = nat_ice_selected(rec, c);
			assert_non_null(p);
			assert_true(p->nominated && p->valid);
			const struct nat_ice_cand *r = &rec->remote[p->remote];
			const struct nat_ice_cand *l = &rec->local[p->local];
			assert_int_equal(r->ip, s->natted ? NAT_IP : SRC_IP);
			assert_int_equal(r->port, SRC_PORT + c - 1 + (s->natted ? NAT_SHIFT : 0));
			assert_int_equal(r->type, s->natted ? NAT_ICE_PRFLX : NAT_ICE_HOST);
			assert_int_equal(l->type, NAT_ICE_HOST);
			assert_int_equal(l->port, REC_PORT + c - 1);
			/* and the SRC sends to rtprec's host */
			const struct nat_ice_pair *q = nat_ice_selected(src, c);
			assert_non_null(q);
			assert_int_equal(src->remote[q->remote].ip, REC_IP);
			assert_int_equal(src->local[q->local].type,
					 s->natted ? NAT_ICE_PRFLX : NAT_ICE_HOST);
		}
		assert_null(nat_ice_selected(rec, s->components + 1));
		assert_true(rec->stats.nomination_ms >= 0 && rec->stats.nomination_ms < 1000);
		assert_int_equal(rec->stats.prflx_remote, s->natted ? s->components : 0);
		assert_int_equal(src->stats.prflx_local, s->natted ? s->components : 0);
		assert_int_equal(rec->stats.offered[NAT_ICE_HOST], s->components);
		assert_true(rec->stats.requests_answered >= s->components);
		assert_int_equal(ut_net.side[REC].events[NAT_ICE_EV_SELECTED], s->components);
		assert_int_equal(ut_net.side[REC].events[NAT_ICE_EV_CONSENT_LOST], 0);
		if (s->lite) {
			/* lite: answers only, never a check of its own */
			assert_int_equal(ut_net.side[REC].requests, 0);
			assert_int_equal(rec->stats.checks_sent, 0);
		} else {
			assert_true(rec->stats.checks_sent >= s->components);
		}
		if (s->src_role == s->rec_role)
			assert_true(rec->stats.role_conflicts + src->stats.role_conflicts >= 1);
	}
}

/* A 487 answers the loser when both claim control; it switches. */
static void test_role_conflict_487(void **state)
{
	(void)state;
	/* SRC loses: it must end controlled */
	const struct ut_ice_scen s = { 1, false, false, NAT_ICE_CONTROLLING, NAT_ICE_CONTROLLING,
				1000, 2000 };

	ut_ice_setup_pair(&s);
	ut_ice_run(&ut_net, 3000);
	assert_int_equal(ut_net.ag[REC].role, NAT_ICE_CONTROLLING);
	assert_int_equal(ut_net.ag[SRC].role, NAT_ICE_CONTROLLED);
	assert_true(ut_net.ag[REC].stats.requests_refused >= 1);   /* the 487 */
	assert_int_equal(ut_net.ag[REC].state, NAT_ICE_COMPLETED);
	assert_int_equal(ut_net.ag[SRC].state, NAT_ICE_COMPLETED);
}

/* ---- hand-made checks into one agent ---------------------------------- */

struct capture {
	unsigned n;
	uint16_t port;
	uint32_t dst_ip;
	uint16_t dst_port;
	size_t len;
	uint8_t buf[1024];
};

static void cap_send(void *arg, uint16_t port, uint32_t dst_ip, uint16_t dst_port,
		     const uint8_t *msg, size_t len)
{
	struct capture *c = arg;

	c->n++;
	c->port = port;
	c->dst_ip = dst_ip;
	c->dst_port = dst_port;
	c->len = len < sizeof(c->buf) ? len : sizeof(c->buf);
	memcpy(c->buf, msg, c->len);
}

#define REC_UFRAG "recU"
#define SRC_UFRAG "srcU"
#define SRC_PWD "srcpassword/with+22chars"

static struct capture cap;
static uint64_t cap_seed = 42;

/* rtprec, controlled (or as given), started with the SRC's offer of one
 * host candidate; nothing sent yet when the checks are paced far apart. */
static void one_agent(struct nat_ice *a, bool lite, enum nat_ice_role role)
{
	struct nat_ice_cfg cfg = { .role = role, .lite = lite, .send = cap_send, .send_arg = &cap,
				   .rng = ut_ice_xrng, .rng_arg = &cap_seed, .ufrag = REC_UFRAG,
				   .pwd = "rtprecpassword22chars+", .ta_ms = 60000 };
	struct nat_ice_cand h = { .type = NAT_ICE_HOST, .component = 1, .ip = REC_IP,
				  .port = REC_PORT };
	struct nat_ice_sdp offer;
	static const char *const lines[] = {
		"a=ice-ufrag:" SRC_UFRAG, "a=ice-pwd:" SRC_PWD,
		"a=candidate:1 1 UDP 2122260223 198.51.100.20 5000 typ host",
	};

	memset(&cap, 0, sizeof(cap));
	assert_int_equal(nat_ice_init(a, &cfg), 0);
	assert_int_equal(nat_ice_add_local(a, &h), 0);
	nat_ice_sdp_init(&offer);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(nat_ice_sdp_parse_line(&offer, lines[i], strlen(lines[i])),
				 NAT_ICE_SDP_OK);
	assert_int_equal(nat_ice_start(a, &offer, 0), 0);
	assert_int_equal(a->role, role);
	memset(&cap, 0, sizeof(cap));
}

enum {
	NO_USER = 1, BAD_USER = 2, NO_MI = 4, BAD_MI = 8, NO_FP = 16, NO_PRIO = 32,
	UNKNOWN = 64, CONTROLLED = 128, NO_ROLE = 256, USE_CAND = 512,
};

static size_t craft(uint8_t *buf, size_t cap_len, unsigned flags, uint64_t tie, uint8_t tid0)
{
	uint8_t tid[NAT_STUN_TID_LEN] = { tid0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	struct nat_stun_builder b;
	static const char pwd[] = "rtprecpassword22chars+";

	nat_stun_start(&b, buf, cap_len, NAT_STUN_REQUEST, NAT_STUN_BINDING, tid);
	if (!(flags & NO_USER))
		nat_stun_add_str(&b, NAT_STUN_A_USERNAME,
				 flags & BAD_USER ? "recX:" SRC_UFRAG : REC_UFRAG ":" SRC_UFRAG);
	if (!(flags & NO_PRIO))
		nat_stun_add_u32(&b, NAT_STUN_A_PRIORITY, 1862270975);
	if (!(flags & NO_ROLE))
		nat_stun_add_u64(&b, flags & CONTROLLED ? NAT_STUN_A_ICE_CONTROLLED :
							   NAT_STUN_A_ICE_CONTROLLING, tie);
	if (flags & USE_CAND)
		nat_stun_add_raw(&b, NAT_STUN_A_USE_CANDIDATE, NULL, 0);
	if (flags & UNKNOWN)
		nat_stun_add_u32(&b, 0x0042, 7);
	if (!(flags & NO_MI)) {
		const char *k = flags & BAD_MI ? "wrongpassword-wrong-wrong" : pwd;
		nat_stun_add_integrity(&b, (const uint8_t *)k, strlen(k));
	}
	int len = flags & NO_FP ? (int)b.len : nat_stun_add_fingerprint(&b);
	assert_true(len > 0 && !b.failed);
	return (size_t)len;
}

static const struct {
	const char *what;
	unsigned flags;
	int code;          /* 0 success, -1 no answer at all */
	bool mi;           /* the answer carries MESSAGE-INTEGRITY */
} requests[] = {
	{ "good check", 0, 0, true },
	{ "no role attribute", NO_ROLE, 0, true },
	{ "no FINGERPRINT: not a check", NO_FP, -1, false },
	{ "no USERNAME", NO_USER, 400, false },
	{ "no MESSAGE-INTEGRITY", NO_MI, 400, false },
	{ "wrong USERNAME", BAD_USER, 401, false },
	{ "wrong MESSAGE-INTEGRITY", BAD_MI, 401, false },
	{ "no PRIORITY", NO_PRIO, 400, true },
	{ "unknown comprehension-required attribute", UNKNOWN, 420, true },
};

static void test_request_checks(void **state)
{
	(void)state;
	struct nat_ice a;
	uint8_t req[512];
	struct nat_stun_msg m;

	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		one_agent(&a, false, NAT_ICE_CONTROLLED);
		uint8_t n_remote = a.n_remote, n_pairs = a.n_pairs;
		size_t len = craft(req, sizeof(req), requests[i].flags, 7, (uint8_t)i);
		/* from an address not in the offer: a peer-reflexive candidate */
		assert_int_equal(nat_ice_input(&a, REC_PORT, NAT_IP, 6000, req, len, 10), 1);
		if (requests[i].code < 0) {
			assert_int_equal(cap.n, 0);
			assert_int_equal(a.stats.dropped, 1);
			assert_int_equal(a.n_remote, n_remote);
			continue;
		}
		if (cap.n != 1)
			fail_msg("%s: %u answers", requests[i].what, cap.n);
		assert_int_equal(cap.port, REC_PORT);
		assert_int_equal(cap.dst_ip, NAT_IP);
		assert_int_equal(cap.dst_port, 6000);
		assert_int_equal(nat_stun_parse(cap.buf, cap.len, &m), 0);
		assert_memory_equal(m.tid, req + 8, NAT_STUN_TID_LEN);
		assert_int_not_equal(m.fp_off, 0);
		assert_int_equal(m.mi_off != 0, requests[i].mi);
		if (requests[i].mi)
			assert_int_equal(nat_stun_check_integrity(&m, (const uint8_t *)
								  "rtprecpassword22chars+", 22), 0);
		if (requests[i].code) {
			if (m.cls != NAT_STUN_ERROR_RESP || m.error_code != requests[i].code)
				fail_msg("%s: class %u code %u", requests[i].what, m.cls, m.error_code);
			assert_int_equal(a.n_remote, n_remote);      /* learnt nothing */
			assert_int_equal(a.n_pairs, n_pairs);
			assert_int_equal(a.stats.requests_refused, 1);
			continue;
		}
		assert_int_equal(m.cls, NAT_STUN_SUCCESS);
		assert_int_equal(m.xor_mapped.ip4, NAT_IP);
		assert_int_equal(m.xor_mapped.port, 6000);
		assert_int_equal(a.n_remote, n_remote + 1);      /* peer-reflexive */
		assert_int_equal(a.remote[n_remote].type, NAT_ICE_PRFLX);
		assert_int_equal(a.remote[n_remote].priority, 1862270975);
		assert_int_equal(a.n_pairs, n_pairs + 1);        /* and a triggered check */
		assert_true(a.pairs[n_pairs].triggered);
		assert_int_equal(a.stats.requests_answered, 1);
	}
	/* 420 lists the attribute */
	one_agent(&a, false, NAT_ICE_CONTROLLED);
	size_t len = craft(req, sizeof(req), UNKNOWN, 7, 1);
	nat_ice_input(&a, REC_PORT, NAT_IP, 6000, req, len, 10);
	assert_int_equal(nat_stun_parse(cap.buf, cap.len, &m), 0);
	uint16_t l;
	const uint8_t *u = nat_stun_find(&m, NAT_STUN_A_UNKNOWN_ATTRIBUTES, &l);
	assert_non_null(u);
	assert_int_equal(l, 2);
	assert_int_equal(u[0] << 8 | u[1], 0x0042);
}

/* Datagrams the agent leaves alone, and ports that are not its. */
static void test_not_for_ice(void **state)
{
	(void)state;
	struct nat_ice a;
	uint8_t req[512], rtp[172] = { 0x80, 0 };

	one_agent(&a, false, NAT_ICE_CONTROLLED);
	size_t len = craft(req, sizeof(req), 0, 7, 1);
	assert_int_equal(nat_ice_input(&a, REC_PORT + 7, NAT_IP, 6000, req, len, 10), 0);
	assert_int_equal(nat_ice_input(&a, REC_PORT, NAT_IP, 6000, rtp, sizeof(rtp), 10), 0);
	req[len - 1] ^= 1;      /* bad FINGERPRINT: dropped, still STUN */
	assert_int_equal(nat_ice_input(&a, REC_PORT, NAT_IP, 6000, req, len, 10), 1);
	assert_int_equal(cap.n, 0);
	/* an indication is a keepalive */
	uint8_t tid[NAT_STUN_TID_LEN] = { 0 };
	struct nat_stun_builder b;
	nat_stun_start(&b, req, sizeof(req), NAT_STUN_INDICATION, NAT_STUN_BINDING, tid);
	len = (size_t)nat_stun_add_fingerprint(&b);
	assert_int_equal(nat_ice_input(&a, REC_PORT, NAT_IP, 6000, req, len, 10), 1);
	assert_int_equal(cap.n, 0);
	assert_int_equal(a.stats.dropped, 1);
}

static const struct {
	enum nat_ice_role role;
	bool controlled_attr;      /* the request claims ICE-CONTROLLED */
	uint64_t ours, theirs;
	bool conflict_487;
	enum nat_ice_role after;
} conflicts[] = {
	/* 7.3.1.1: controlling vs ICE-CONTROLLING: ours >= theirs -> 487 */
	{ NAT_ICE_CONTROLLING, false, 500, 400, true, NAT_ICE_CONTROLLING },
	{ NAT_ICE_CONTROLLING, false, 500, 500, true, NAT_ICE_CONTROLLING },
	{ NAT_ICE_CONTROLLING, false, 400, 500, false, NAT_ICE_CONTROLLED },
	/* controlled vs ICE-CONTROLLED: ours >= theirs -> we take control */
	{ NAT_ICE_CONTROLLED, true, 500, 400, false, NAT_ICE_CONTROLLING },
	{ NAT_ICE_CONTROLLED, true, 400, 500, true, NAT_ICE_CONTROLLED },
	/* no conflict */
	{ NAT_ICE_CONTROLLED, false, 1, 2, false, NAT_ICE_CONTROLLED },
	{ NAT_ICE_CONTROLLING, true, 1, 2, false, NAT_ICE_CONTROLLING },
};

static void test_role_conflicts(void **state)
{
	(void)state;
	struct nat_ice a;
	uint8_t req[512];
	struct nat_stun_msg m;

	for (size_t i = 0; i < sizeof(conflicts) / sizeof(conflicts[0]); i++) {
		one_agent(&a, false, conflicts[i].role);
		a.tiebreaker = conflicts[i].ours;
		uint64_t prio_before = a.pairs[0].prio;
		size_t len = craft(req, sizeof(req), conflicts[i].controlled_attr ? CONTROLLED : 0,
				   conflicts[i].theirs, 3);
		assert_int_equal(nat_ice_input(&a, REC_PORT, SRC_IP, SRC_PORT, req, len, 10), 1);
		assert_int_equal(nat_stun_parse(cap.buf, cap.len, &m), 0);
		if (conflicts[i].conflict_487) {
			assert_int_equal(m.cls, NAT_STUN_ERROR_RESP);
			assert_int_equal(m.error_code, 487);
			assert_int_not_equal(m.mi_off, 0);
		} else {
			assert_int_equal(m.cls, NAT_STUN_SUCCESS);
		}
		assert_int_equal(a.role, conflicts[i].after);
		/* priorities follow the role: G and D swap, the +1 moves */
		if (conflicts[i].after != conflicts[i].role)
			assert_true(a.pairs[0].prio != prio_before);
	}
	/* a lite agent cannot take control: 487 whatever the tie-breakers */
	one_agent(&a, true, NAT_ICE_CONTROLLED);
	a.tiebreaker = UINT64_MAX;
	size_t len = craft(req, sizeof(req), CONTROLLED, 1, 3);
	nat_ice_input(&a, REC_PORT, SRC_IP, SRC_PORT, req, len, 10);
	assert_int_equal(nat_stun_parse(cap.buf, cap.len, &m), 0);
	assert_int_equal(m.error_code, 487);
	assert_int_equal(a.role, NAT_ICE_CONTROLLED);
}

/* Lite: a check without USE-CANDIDATE selects nothing; with it, the pair
 * it came on is selected at once. */
static void test_lite_selects_on_use_candidate(void **state)
{
	(void)state;
	struct nat_ice a;
	uint8_t req[512];

	one_agent(&a, true, NAT_ICE_CONTROLLED);
	assert_int_equal(a.n_pairs, 0);                 /* no checklist */
	assert_true(nat_ice_deadline(&a) == UINT64_MAX); /* nothing to send */
	size_t len = craft(req, sizeof(req), 0, 7, 1);
	nat_ice_input(&a, REC_PORT, SRC_IP, SRC_PORT, req, len, 10);
	assert_null(nat_ice_selected(&a, 1));
	assert_int_equal(a.state, NAT_ICE_CONNECTED);
	len = craft(req, sizeof(req), USE_CAND, 7, 2);
	nat_ice_input(&a, REC_PORT, NAT_IP, 6000, req, len, 20);
	const struct nat_ice_pair *p = nat_ice_selected(&a, 1);
	assert_non_null(p);
	assert_int_equal(a.remote[p->remote].ip, NAT_IP);
	assert_int_equal(a.remote[p->remote].type, NAT_ICE_PRFLX);
	assert_int_equal(a.state, NAT_ICE_COMPLETED);
	assert_int_equal(a.stats.nomination_ms, 20);
	assert_int_equal(a.stats.checks_sent, 0);
	assert_int_equal(cap.n, 2);                     /* the answers, nothing else */
	/* liveness: the peer's checks keep it, 30 s without one lose it */
	nat_ice_tick(&a, 29000);
	assert_int_equal(a.state, NAT_ICE_COMPLETED);
	len = craft(req, sizeof(req), 0, 7, 3);
	nat_ice_input(&a, REC_PORT, NAT_IP, 6000, req, len, 29000);
	nat_ice_tick(&a, 58999);
	assert_int_equal(a.state, NAT_ICE_COMPLETED);
	assert_true(nat_ice_deadline(&a) == 59000);
	nat_ice_tick(&a, 59000);
	assert_int_equal(a.state, NAT_ICE_FAILED);
	assert_true(a.consent_lost);
}

/* Consent: checks every 4..6 s keep the pair; 30 s of silence lose it. */
static void test_consent(void **state)
{
	(void)state;
	const struct ut_ice_scen s = { 1, false, false, NAT_ICE_CONTROLLING, NAT_ICE_CONTROLLED, 0, 0 };

	ut_ice_setup_pair(&s);
	ut_ice_run(&ut_net, 1000);
	assert_int_equal(ut_net.ag[REC].state, NAT_ICE_COMPLETED);
	unsigned first = ut_net.side[REC].requests;
	ut_ice_run(&ut_net, 61000);
	struct nat_ice *rec = &ut_net.ag[REC];
	assert_int_equal(rec->state, NAT_ICE_COMPLETED);
	unsigned n = ut_net.side[REC].requests - first;
	assert_true(n >= 10 && n <= 15);                /* 60 s / 4..6 s */
	assert_int_equal(rec->stats.consent_sent, n);
	assert_true(rec->stats.consent_ok + 1 >= n);
	for (unsigned i = first + 1; i < ut_net.side[REC].requests; i++) {
		uint64_t gap = ut_net.side[REC].req_at[i] - ut_net.side[REC].req_at[i - 1];
		if (gap < 4000 || gap > 6000)
			fail_msg("consent gap %llu ms", (unsigned long long)gap);
	}
	/* the network goes away */
	ut_net.cut = true;
	uint64_t cut_at = ut_net.now, last_ok = rec->comp[0].consent_ok_ms;
	assert_true(last_ok + 6100 >= cut_at);
	ut_ice_run(&ut_net, last_ok + 29999);
	assert_int_equal(rec->state, NAT_ICE_COMPLETED);
	ut_ice_run(&ut_net, last_ok + 30000);
	assert_int_equal(rec->state, NAT_ICE_FAILED);
	assert_true(rec->consent_lost);
	assert_int_equal(ut_net.side[REC].events[NAT_ICE_EV_CONSENT_LOST], 1);
	assert_true(rec->stats.retransmits > 0);       /* consent checks are retransmitted */
	assert_true(nat_ice_deadline(rec) == UINT64_MAX);
	unsigned sent = ut_net.side[REC].requests;
	ut_ice_run(&ut_net, cut_at + 60000);
	assert_int_equal(ut_net.side[REC].requests, sent); /* silent once failed */
}

/* Ta pacing, the RFC 8445 14.3 RTO, then failure when nothing answers. */
static void test_pacing_and_failure(void **state)
{
	(void)state;
	struct nat_ice a;
	struct nat_ice_sdp offer;
	struct ut_ice_side side = { 0 };
	uint64_t seed = 7;
	struct nat_ice_cfg cfg = { .send = ut_ice_net_send, .send_arg = &side, .rng = ut_ice_xrng,
				   .rng_arg = &seed, .on_event = ut_ice_on_event, .event_arg = &side };
	struct nat_ice_cand h = { .type = NAT_ICE_HOST, .component = 1, .ip = REC_IP,
				  .port = REC_PORT };
	char line[128];

	memset(&ut_net, 0, sizeof(ut_net));
	ut_net.cut = true;
	side.net = &ut_net;
	assert_int_equal(nat_ice_init(&a, &cfg), 0);
	assert_int_equal(nat_ice_add_local(&a, &h), 0);
	nat_ice_sdp_init(&offer);
	assert_int_equal(nat_ice_sdp_parse_line(&offer, "a=ice-ufrag:abcd", 16), NAT_ICE_SDP_OK);
	assert_int_equal(nat_ice_sdp_parse_line(&offer, "a=ice-pwd:abcdefghijklmnopqrstuv", 32),
			 NAT_ICE_SDP_OK);
	for (unsigned i = 0; i < 12; i++) {
		int n = snprintf(line, sizeof(line), "a=candidate:f%u 1 UDP %u 198.51.100.%u 5000 typ host",
				 i, 2000000 - i, i + 1);
		assert_int_equal(nat_ice_sdp_parse_line(&offer, line, (size_t)n), NAT_ICE_SDP_OK);
	}
	assert_int_equal(nat_ice_start(&a, &offer, 0), 0);
	assert_int_equal(a.n_pairs, 12);
	for (unsigned i = 0; i < 12; i++)   /* distinct foundations: all wait */
		assert_int_equal(a.pairs[i].state, i ? NAT_ICE_WAITING : NAT_ICE_IN_PROGRESS);
	/* highest priority first */
	assert_int_equal(a.remote[a.pairs[0].remote].ip, IP(198, 51, 100, 1));
	/* RTO = MAX(500, 50 x (11 waiting + 1 in progress)) = 600 */
	assert_int_equal(a.pairs[0].t.rto.rto_ms, 600);
	unsigned sends = 0;
	uint64_t first_retx = 0;
	for (ut_net.now = 0; ut_net.now <= 60000 && a.state != NAT_ICE_FAILED; ut_net.now++) {
		unsigned before = a.stats.retransmits;
		nat_ice_tick(&a, ut_net.now);
		if (a.stats.retransmits > before && !first_retx)
			first_retx = ut_net.now;
		if (side.requests > sends) {
			if (side.requests <= 12)
				assert_int_equal(ut_net.now, 50 * (side.requests - 1));
			sends = side.requests;
		}
	}
	assert_int_equal(side.requests, 12);     /* new checks; retransmissions keep their id */
	assert_int_equal(first_retx, 600);
	assert_int_equal(a.state, NAT_ICE_FAILED);
	assert_int_equal(a.stats.checks_failed, 12);
	assert_int_equal(side.events[NAT_ICE_EV_STATE], 2);   /* checking, failed */
	assert_false(a.consent_lost);
}

struct mv_log {
	unsigned from[3]; /* requests from the host, the old relayed, the new relayed base */
};

static void mv_send(void *arg, uint16_t port, uint32_t dst_ip, uint16_t dst_port,
		    const uint8_t *msg, size_t len)
{
	struct mv_log *l = arg;

	(void)dst_ip, (void)dst_port, (void)msg, (void)len;
	l->from[port == 50000 ? 1 : port == 50100 ? 2 : 0]++;
}

/* The TURN relay was allocated again elsewhere: the relayed candidate takes the new
 * address (the SDP lines show it), its selected pair is dropped with its consent checks,
 * and the checks go out from the new base only. */
static void test_move_relay(void **state)
{
	(void)state;
	struct nat_ice a;
	struct nat_ice_sdp offer;
	struct mv_log log = { { 0 } };
	uint64_t seed = 9;
	struct nat_ice_cfg cfg = { .send = mv_send, .send_arg = &log, .rng = ut_ice_xrng,
				   .rng_arg = &seed };
	struct nat_ice_cand h = { .type = NAT_ICE_HOST, .component = 1, .ip = REC_IP,
				  .port = REC_PORT };
	struct nat_ice_cand rl = { .type = NAT_ICE_RELAY, .component = 1, .ip = IP(203, 0, 113, 10),
				   .port = 50000, .server_ip = IP(203, 0, 113, 10) };
	char lines[2048];
	int rel, p = -1;

	assert_int_equal(nat_ice_init(&a, &cfg), 0);
	assert_int_equal(nat_ice_add_local(&a, &h), 0);
	rel = nat_ice_add_local(&a, &rl);
	assert_int_equal(rel, 1);
	nat_ice_sdp_init(&offer);
	assert_int_equal(nat_ice_sdp_parse_line(&offer, "a=ice-ufrag:abcd", 16), NAT_ICE_SDP_OK);
	assert_int_equal(nat_ice_sdp_parse_line(&offer, "a=ice-pwd:abcdefghijklmnopqrstuv", 32),
			 NAT_ICE_SDP_OK);
	assert_int_equal(nat_ice_sdp_parse_line(&offer,
		"a=candidate:1 1 UDP 2130706431 198.51.100.1 5000 typ host", 57), NAT_ICE_SDP_OK);
	assert_int_equal(nat_ice_start(&a, &offer, 0), 0);
	for (uint64_t t = 0; t <= 200; t++)
		nat_ice_tick(&a, t);
	assert_true(log.from[0] > 0 && log.from[1] > 0);
	for (unsigned i = 0; i < a.n_pairs; i++)
		p = a.pairs[i].local == rel ? (int)i : p;
	assert_true(p >= 0); /* as if the peer had nominated the relayed pair */
	a.pairs[p].state = NAT_ICE_SUCCEEDED;
	a.pairs[p].valid = a.pairs[p].nominated = true;
	a.pairs[p].t.state = NAT_BIND_IDLE;
	a.comp[0].selected = (uint8_t)p;
	assert_int_equal(nat_ice_move_relay(&a, 1, IP(203, 0, 113, 10), REC_PORT, 300), -1);
	assert_int_equal(nat_ice_move_relay(&a, 2, IP(203, 0, 113, 10), 50100, 300), -1);
	assert_int_equal(nat_ice_move_relay(&a, 1, IP(203, 0, 113, 10), 50100, 300), 0);
	assert_int_equal(a.local[rel].port, 50100);
	assert_int_equal(a.local[rel].base_port, 50100);
	assert_null(nat_ice_selected(&a, 1));
	assert_false(a.pairs[p].valid);
	assert_int_equal(a.pairs[p].state, NAT_ICE_WAITING);
	assert_true(nat_ice_sdp_media_lines(lines, sizeof(lines), a.ufrag, a.pwd, a.local,
					    a.n_local) > 0);
	assert_non_null(strstr(lines, "203.0.113.10 50100 typ relay"));
	assert_null(strstr(lines, " 50000 typ relay"));
	memset(&log, 0, sizeof(log));
	for (uint64_t t = 300; t <= 20000; t++)
		nat_ice_tick(&a, t);
	assert_true(log.from[2] > 0);
	assert_int_equal(log.from[1], 0);
	assert_int_equal(nat_ice_move_relay(&a, 1, IP(203, 0, 113, 10), 50100, 20000), 0);
}

/* 8 hosts x 16 remote candidates: the checklist keeps the best 48 pairs,
 * ordered by priority, and frozen by foundation (6.1.2.5, 6.1.2.6). */
static void test_checklist_limit(void **state)
{
	(void)state;
	struct nat_ice a;
	struct nat_ice_sdp offer;
	struct nat_ice_cfg cfg = { .send = cap_send, .send_arg = &cap, .rng = ut_ice_xrng,
				   .rng_arg = &cap_seed };
	char line[128];

	assert_int_equal(nat_ice_init(&a, &cfg), 0);
	for (unsigned i = 0; i < NAT_ICE_MAX_LOCAL; i++) {
		struct nat_ice_cand h = { .type = NAT_ICE_HOST, .component = 1, .ip = REC_IP + i,
					  .port = (uint16_t)(REC_PORT + i),
					  .local_pref = (uint16_t)(60000 + i) };
		assert_int_equal(nat_ice_add_local(&a, &h), (int)i);
	}
	struct nat_ice_cand one_more = { .type = NAT_ICE_HOST, .component = 1, .ip = NAT_IP,
					 .port = 9 };
	assert_int_equal(nat_ice_add_local(&a, &one_more), -1);
	nat_ice_sdp_init(&offer);
	assert_int_equal(nat_ice_sdp_parse_line(&offer, "a=ice-ufrag:abcd", 16), NAT_ICE_SDP_OK);
	assert_int_equal(nat_ice_sdp_parse_line(&offer, "a=ice-pwd:abcdefghijklmnopqrstuv", 32),
			 NAT_ICE_SDP_OK);
	for (unsigned i = 0; i < NAT_ICE_SDP_MAX_CANDS; i++) {
		int n = snprintf(line, sizeof(line), "a=candidate:%u 1 UDP %u 198.51.100.%u 5000 typ host",
				 i % 4, 2000000 + i, i + 1);
		assert_int_equal(nat_ice_sdp_parse_line(&offer, line, (size_t)n), NAT_ICE_SDP_OK);
	}
	assert_int_equal(nat_ice_start(&a, &offer, 0), 0);
	assert_int_equal(a.n_pairs, NAT_ICE_CHECKLIST_MAX);
	for (unsigned i = 1; i < a.n_pairs; i++)
		assert_true(a.pairs[i - 1].prio >= a.pairs[i].prio);
	/* the best local candidate (local_pref 60007) leads */
	assert_int_equal(a.pairs[0].local, NAT_ICE_MAX_LOCAL - 1);
	/* one pair per foundation (8 local x 4 remote) waits, the rest freeze */
	unsigned waiting = 0;
	for (unsigned i = 0; i < a.n_pairs; i++)
		waiting += a.pairs[i].state == NAT_ICE_WAITING || a.pairs[i].state == NAT_ICE_IN_PROGRESS;
	/* the remote priority is the smaller term and leads: remotes 10..15 stay,
	 * whose foundations are all four */
	assert_int_equal(waiting, 8 * 4);
	assert_int_equal(a.remote[a.pairs[47].remote].priority, 2000010);
}

static void test_setup_errors(void **state)
{
	(void)state;
	struct nat_ice a;
	struct nat_ice_sdp empty;
	struct nat_ice_cfg cfg = { .send = cap_send, .send_arg = &cap };
	struct nat_ice_cand h = { .type = NAT_ICE_HOST, .component = 1, .ip = REC_IP,
				  .port = REC_PORT };
	struct nat_ice_cand s = { .type = NAT_ICE_SRFLX, .component = 1, .ip = REC_IP,
				  .port = REC_PORT, .base_ip = REC_IP, .base_port = REC_PORT };
	struct nat_ice_cand s2 = { .type = NAT_ICE_SRFLX, .component = 1, .ip = NAT_IP,
				   .port = 7000, .base_ip = REC_IP, .base_port = REC_PORT,
				   .server_ip = IP(198, 51, 100, 99) };

	assert_int_equal(nat_ice_init(&a, &(struct nat_ice_cfg){ 0 }), -1);
	assert_int_equal(nat_ice_init(&a, &(struct nat_ice_cfg){ .send = cap_send,
								 .components = 3 }), -1);
	assert_int_equal(nat_ice_init(&a, &(struct nat_ice_cfg){ .send = cap_send, .ufrag = "abc",
								 .pwd = SRC_PWD }), -1);
	assert_int_equal(nat_ice_init(&a, &(struct nat_ice_cfg){ .send = cap_send, .ufrag = "abcd",
								 .pwd = "short" }), -1);
	assert_int_equal(nat_ice_init(&a, &(struct nat_ice_cfg){ .send = cap_send,
								 .rto = { 100, 0, 1 } }), -1);
	assert_int_equal(nat_ice_init(&a, &cfg), 0);   /* generated credentials */
	assert_int_equal(strlen(a.ufrag), NAT_ICE_UFRAG_GEN);
	assert_int_equal(strlen(a.pwd), NAT_ICE_PWD_GEN);
	assert_int_equal(a.role, NAT_ICE_CONTROLLED);
	assert_string_equal(nat_ice_state_name(a.state), "idle");
	assert_int_equal(nat_ice_add_local(&a, &h), 0);
	assert_int_equal(nat_ice_add_local(&a, &s), 0);    /* srflx equal to its base: redundant */
	assert_int_equal(nat_ice_add_local(&a, &s2), 1);
	assert_int_equal(a.n_local, 2);
	assert_int_equal(a.local[1].rel_ip, REC_IP);       /* raddr: the base */
	assert_string_equal(a.local[0].foundation, "H1");
	assert_string_equal(a.local[1].foundation, "S2");
	assert_int_equal(a.local[1].priority, 1694498815);
	h.component = 2;                                   /* one component only */
	assert_int_equal(nat_ice_add_local(&a, &h), -1);
	h.component = 1;
	h.ip = NAT_IP;                                      /* a port names one base */
	assert_int_equal(nat_ice_add_local(&a, &h), -1);
	nat_ice_sdp_init(&empty);
	assert_int_equal(nat_ice_start(&a, &empty, 0), -1);
	assert_int_equal(nat_ice_input(&a, REC_PORT, 1, 2, (const uint8_t *)"x", 1, 0), 0);
	assert_true(nat_ice_deadline(&a) == UINT64_MAX);
	assert_string_equal(nat_ice_state_name(NAT_ICE_COMPLETED), "completed");
	assert_string_equal(nat_ice_state_name((enum nat_ice_state)42), "unknown");
	assert_string_equal(nat_ice_pair_state_name(NAT_ICE_IN_PROGRESS), "in-progress");
	assert_string_equal(nat_ice_role_name(NAT_ICE_CONTROLLING), "controlling");

	/* hidden raddr */
	cfg.hide_raddr = true;
	assert_int_equal(nat_ice_init(&a, &cfg), 0);
	h.ip = REC_IP;
	assert_int_equal(nat_ice_add_local(&a, &h), 0);
	assert_int_equal(nat_ice_add_local(&a, &s2), 1);
	assert_int_equal(a.local[1].rel_ip, 0);
	assert_int_equal(a.local[1].rel_port, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nomination),
		cmocka_unit_test(test_role_conflict_487),
		cmocka_unit_test(test_request_checks),
		cmocka_unit_test(test_not_for_ice),
		cmocka_unit_test(test_role_conflicts),
		cmocka_unit_test(test_lite_selects_on_use_candidate),
		cmocka_unit_test(test_consent),
		cmocka_unit_test(test_pacing_and_failure),
		cmocka_unit_test(test_move_relay),
		cmocka_unit_test(test_checklist_limit),
		cmocka_unit_test(test_setup_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
