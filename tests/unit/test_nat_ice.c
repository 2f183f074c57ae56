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

#include "nat/nat_ice.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define SRC_IP IP(198, 51, 100, 20)
#define PRIV_IP IP(10, 0, 0, 1)         /* the SRC's address behind the NAT */
#define NAT_IP IP(203, 0, 113, 5)
#define NAT_SHIFT 1000                  /* endpoint-independent: port + 1000 */
#define REC_IP IP(192, 0, 2, 10)
#define SRC_PORT 5000
#define REC_PORT 40000
#define LATENCY 5
#define QMAX 512
#define PKT_MAX 800

enum { SRC = 0, REC = 1 };

struct pkt {
	int to;
	uint16_t port;
	uint32_t src_ip;
	uint16_t src_port;
	uint64_t at;
	size_t len;
	uint8_t data[PKT_MAX];
};

struct side {
	struct net *net;
	int idx;
	unsigned events[3];
	unsigned requests, responses;   /* sent */
	uint64_t req_at[256];           /* when each new request (fresh id) left */
	uint8_t tids[256][NAT_STUN_TID_LEN];
};

struct net {
	struct nat_ice ag[2];
	struct side side[2];
	uint64_t seed[2];
	uint32_t ip[2];
	bool natted;                    /* the SRC is behind the NAT */
	uint32_t contacted[8];          /* address-dependent filter of the NAT */
	unsigned n_contacted;
	struct pkt q[QMAX];
	unsigned n;
	bool cut;
	uint64_t now;
};

static int xrng(void *arg, uint8_t *buf, size_t len)
{
	uint64_t *s = arg;

	for (size_t i = 0; i < len; i++) {
		*s ^= *s << 13;
		*s ^= *s >> 7;
		*s ^= *s << 17;
		buf[i] = (uint8_t)(*s >> 24);
	}
	return 0;
}

static void on_event(void *arg, enum nat_ice_event ev, unsigned comp)
{
	struct side *s = arg;

	(void)comp;
	s->events[ev]++;
}

static bool contacted(const struct net *n, uint32_t ip)
{
	for (unsigned i = 0; i < n->n_contacted; i++)
		if (n->contacted[i] == ip)
			return true;
	return false;
}

static void note(struct side *s, const uint8_t *msg, size_t len)
{
	struct nat_stun_msg m;

	assert_int_equal(nat_stun_parse(msg, len, &m), 0);
	assert_int_not_equal(m.fp_off, 0);                   /* always FINGERPRINT */
	if (m.cls != NAT_STUN_REQUEST) {
		s->responses++;
		return;
	}
	for (unsigned i = 0; i < s->requests; i++)
		if (memcmp(s->tids[i], m.tid, NAT_STUN_TID_LEN) == 0)
			return;         /* a retransmission */
	assert_true(s->requests < 256);
	s->req_at[s->requests] = s->net->now;
	memcpy(s->tids[s->requests++], m.tid, NAT_STUN_TID_LEN);
}

static void net_send(void *arg, uint16_t port, uint32_t dst_ip, uint16_t dst_port,
		     const uint8_t *msg, size_t len)
{
	struct side *s = arg;
	struct net *n = s->net;
	uint32_t src_ip = n->ip[s->idx];
	uint16_t src_port = port;
	int to = -1;

	note(s, msg, len);
	if (n->cut)
		return;
	if (s->idx == SRC && n->natted) {
		src_ip = NAT_IP;
		src_port = (uint16_t)(port + NAT_SHIFT);
		if (!contacted(n, dst_ip) && n->n_contacted < 8)
			n->contacted[n->n_contacted++] = dst_ip;
	}
	if (s->idx == SRC && dst_ip == n->ip[REC]) {
		to = REC;
	} else if (s->idx == REC && n->natted && dst_ip == NAT_IP && contacted(n, src_ip)) {
		to = SRC;
		dst_port = (uint16_t)(dst_port - NAT_SHIFT);
	} else if (s->idx == REC && !n->natted && dst_ip == n->ip[SRC]) {
		to = SRC;
	}
	if (to < 0)
		return;             /* a private address, or filtered by the NAT */
	assert_true(n->n < QMAX && len <= sizeof(n->q[0].data));
	struct pkt *p = &n->q[n->n++];
	p->to = to;
	p->port = dst_port;
	p->src_ip = src_ip;
	p->src_port = src_port;
	p->at = n->now + LATENCY;
	p->len = len;
	memcpy(p->data, msg, len);
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void run(struct net *n, uint64_t until)
{
	for (unsigned guard = 0; guard < 2000000; guard++) {
		for (unsigned i = 0; i < n->n;) {
			if (n->q[i].at > n->now) {
				i++;
				continue;
			}
			struct pkt p = n->q[i];
			memmove(&n->q[i], &n->q[i + 1], (n->n - i - 1) * sizeof(n->q[0]));
			n->n--;
			assert_int_equal(nat_ice_input(&n->ag[p.to], p.port, p.src_ip, p.src_port, p.data,
						       p.len, n->now), 1);
		}
		nat_ice_tick(&n->ag[SRC], n->now);
		nat_ice_tick(&n->ag[REC], n->now);
		if (n->now >= until)
			return;
		uint64_t next = until;
		for (unsigned i = 0; i < n->n; i++)
			next = min64(next, n->q[i].at);
		next = min64(next, nat_ice_deadline(&n->ag[SRC]));
		next = min64(next, nat_ice_deadline(&n->ag[REC]));
		n->now = next > n->now ? next : n->now + 1;
	}
	fail_msg("the simulation does not settle");
}

struct scen {
	unsigned components;
	bool natted;
	bool lite;
	enum nat_ice_role src_role, rec_role;
	uint64_t src_tie, rec_tie;     /* 0: drawn */
};

static void agent(struct net *n, int idx, const struct scen *s)
{
	struct nat_ice_cfg cfg = {
		.role = idx == SRC ? s->src_role : s->rec_role,
		.lite = idx == REC && s->lite,
		.components = (uint8_t)s->components,
		.send = net_send, .send_arg = &n->side[idx],
		.on_event = on_event, .event_arg = &n->side[idx],
		.rng = xrng, .rng_arg = &n->seed[idx],
	};
	struct nat_ice *a = &n->ag[idx];
	uint32_t ip = idx == SRC ? (s->natted ? PRIV_IP : SRC_IP) : REC_IP;
	uint16_t port = idx == SRC ? SRC_PORT : REC_PORT;

	n->side[idx] = (struct side){ .net = n, .idx = idx };
	n->seed[idx] = 0x9E3779B97F4A7C15ull * (uint64_t)(idx + 1);
	n->ip[idx] = ip;
	assert_int_equal(nat_ice_init(a, &cfg), 0);
	if (idx == SRC ? s->src_tie : s->rec_tie)
		a->tiebreaker = idx == SRC ? s->src_tie : s->rec_tie;
	for (unsigned c = 1; c <= cfg.components; c++) {
		struct nat_ice_cand h = { .type = NAT_ICE_HOST, .component = (uint16_t)c, .ip = ip,
					  .port = (uint16_t)(port + c - 1) };
		assert_int_equal(nat_ice_add_local(a, &h), (int)c - 1);
	}
}

/* a's answer or offer as SDP, parsed as its peer would */
static void sdp_of(const struct nat_ice *a, struct nat_ice_sdp *s)
{
	char buf[4096];
	int n = nat_ice_sdp_session_lines(buf, sizeof(buf), a->cfg.lite);

	assert_true(n >= 0);
	assert_true(nat_ice_sdp_media_lines(buf + n, sizeof(buf) - (size_t)n, a->ufrag, a->pwd,
					    a->local, a->n_local) > 0);
	nat_ice_sdp_init(s);
	for (char *l = buf, *e; (e = strstr(l, "\r\n")); l = e + 2)
		assert_int_equal(nat_ice_sdp_parse_line(s, l, (size_t)(e + 2 - l)), NAT_ICE_SDP_OK);
}

static struct net net;

static void setup_pair(const struct scen *s)
{
	struct nat_ice_sdp offer, answer;

	memset(&net, 0, sizeof(net));
	net.natted = s->natted;
	agent(&net, SRC, s);
	agent(&net, REC, s);
	sdp_of(&net.ag[SRC], &offer);
	sdp_of(&net.ag[REC], &answer);
	assert_int_equal(nat_ice_start(&net.ag[REC], &offer, 0), 0);   /* rtprec answers */
	assert_int_equal(nat_ice_start(&net.ag[SRC], &answer, 0), 0);
	assert_int_equal(nat_ice_start(&net.ag[REC], &offer, 0), -1);  /* once */
}

static const struct scen scens[] = {
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
		const struct scen *s = &scens[k];
		setup_pair(s);
		run(&net, 3000);
		struct nat_ice *rec = &net.ag[REC], *src = &net.ag[SRC];
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
		assert_int_equal(net.side[REC].events[NAT_ICE_EV_SELECTED], s->components);
		assert_int_equal(net.side[REC].events[NAT_ICE_EV_CONSENT_LOST], 0);
		if (s->lite) {
			/* lite: answers only, never a check of its own */
			assert_int_equal(net.side[REC].requests, 0);
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
	const struct scen s = { 1, false, false, NAT_ICE_CONTROLLING, NAT_ICE_CONTROLLING,
				1000, 2000 };

	setup_pair(&s);
	run(&net, 3000);
	assert_int_equal(net.ag[REC].role, NAT_ICE_CONTROLLING);
	assert_int_equal(net.ag[SRC].role, NAT_ICE_CONTROLLED);
	assert_true(net.ag[REC].stats.requests_refused >= 1);   /* the 487 */
	assert_int_equal(net.ag[REC].state, NAT_ICE_COMPLETED);
	assert_int_equal(net.ag[SRC].state, NAT_ICE_COMPLETED);
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
				   .rng = xrng, .rng_arg = &cap_seed, .ufrag = REC_UFRAG,
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
	const struct scen s = { 1, false, false, NAT_ICE_CONTROLLING, NAT_ICE_CONTROLLED, 0, 0 };

	setup_pair(&s);
	run(&net, 1000);
	assert_int_equal(net.ag[REC].state, NAT_ICE_COMPLETED);
	unsigned first = net.side[REC].requests;
	run(&net, 61000);
	struct nat_ice *rec = &net.ag[REC];
	assert_int_equal(rec->state, NAT_ICE_COMPLETED);
	unsigned n = net.side[REC].requests - first;
	assert_true(n >= 10 && n <= 15);                /* 60 s / 4..6 s */
	assert_int_equal(rec->stats.consent_sent, n);
	assert_true(rec->stats.consent_ok + 1 >= n);
	for (unsigned i = first + 1; i < net.side[REC].requests; i++) {
		uint64_t gap = net.side[REC].req_at[i] - net.side[REC].req_at[i - 1];
		if (gap < 4000 || gap > 6000)
			fail_msg("consent gap %llu ms", (unsigned long long)gap);
	}
	/* the network goes away */
	net.cut = true;
	uint64_t cut_at = net.now, last_ok = rec->comp[0].consent_ok_ms;
	assert_true(last_ok + 6100 >= cut_at);
	run(&net, last_ok + 29999);
	assert_int_equal(rec->state, NAT_ICE_COMPLETED);
	run(&net, last_ok + 30000);
	assert_int_equal(rec->state, NAT_ICE_FAILED);
	assert_true(rec->consent_lost);
	assert_int_equal(net.side[REC].events[NAT_ICE_EV_CONSENT_LOST], 1);
	assert_true(rec->stats.retransmits > 0);       /* consent checks are retransmitted */
	assert_true(nat_ice_deadline(rec) == UINT64_MAX);
	unsigned sent = net.side[REC].requests;
	run(&net, cut_at + 60000);
	assert_int_equal(net.side[REC].requests, sent); /* silent once failed */
}

/* Ta pacing, the RFC 8445 14.3 RTO, then failure when nothing answers. */
static void test_pacing_and_failure(void **state)
{
	(void)state;
	struct nat_ice a;
	struct nat_ice_sdp offer;
	struct side side = { 0 };
	uint64_t seed = 7;
	struct nat_ice_cfg cfg = { .send = net_send, .send_arg = &side, .rng = xrng,
				   .rng_arg = &seed, .on_event = on_event, .event_arg = &side };
	struct nat_ice_cand h = { .type = NAT_ICE_HOST, .component = 1, .ip = REC_IP,
				  .port = REC_PORT };
	char line[128];

	memset(&net, 0, sizeof(net));
	net.cut = true;
	side.net = &net;
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
	for (net.now = 0; net.now <= 60000 && a.state != NAT_ICE_FAILED; net.now++) {
		unsigned before = a.stats.retransmits;
		nat_ice_tick(&a, net.now);
		if (a.stats.retransmits > before && !first_retx)
			first_retx = net.now;
		if (side.requests > sends) {
			if (side.requests <= 12)
				assert_int_equal(net.now, 50 * (side.requests - 1));
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

/* 8 hosts x 16 remote candidates: the checklist keeps the best 48 pairs,
 * ordered by priority, and frozen by foundation (6.1.2.5, 6.1.2.6). */
static void test_checklist_limit(void **state)
{
	(void)state;
	struct nat_ice a;
	struct nat_ice_sdp offer;
	struct nat_ice_cfg cfg = { .send = cap_send, .send_arg = &cap, .rng = xrng,
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
		cmocka_unit_test(test_checklist_limit),
		cmocka_unit_test(test_setup_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
