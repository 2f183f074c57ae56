/* SPDX-License-Identifier: BSD-3-Clause
 * The simulated network of ut_ice.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ut_ice.h"

int ut_ice_xrng(void *arg, uint8_t *buf, size_t len)
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

void ut_ice_on_event(void *arg, enum nat_ice_event ev, unsigned comp)
{
	struct ut_ice_side *s = arg;

	(void)comp;
	s->events[ev]++;
}

static bool ut_ice_contacted(const struct ut_ice_net *n, uint32_t ip)
{
	for (unsigned i = 0; i < n->n_contacted; i++)
		if (n->contacted[i] == ip)
			return true;
	return false;
}

static void ut_ice_note(struct ut_ice_side *s, const uint8_t *msg, size_t len)
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

void ut_ice_net_send(void *arg, uint16_t port, uint32_t dst_ip, uint16_t dst_port,
		     const uint8_t *msg, size_t len)
{
	struct ut_ice_side *s = arg;
	struct ut_ice_net *n = s->net;
	uint32_t src_ip = n->ip[s->idx];
	uint16_t src_port = port;
	int to = -1;

	ut_ice_note(s, msg, len);
	if (n->cut)
		return;
	if (s->idx == SRC && n->natted) {
		src_ip = NAT_IP;
		src_port = (uint16_t)(port + NAT_SHIFT);
		if (!ut_ice_contacted(n, dst_ip) && n->n_contacted < 8)
			n->contacted[n->n_contacted++] = dst_ip;
	}
	if (s->idx == SRC && dst_ip == n->ip[REC]) {
		to = REC;
	} else if (s->idx == REC && n->natted && dst_ip == NAT_IP && ut_ice_contacted(n, src_ip)) {
		to = SRC;
		dst_port = (uint16_t)(dst_port - NAT_SHIFT);
	} else if (s->idx == REC && !n->natted && dst_ip == n->ip[SRC]) {
		to = SRC;
	}
	if (to < 0)
		return;             /* a private address, or filtered by the NAT */
	assert_true(n->n < QMAX && len <= sizeof(n->q[0].data));
	struct ut_ice_pkt *p = &n->q[n->n++];
	p->to = to;
	p->port = dst_port;
	p->src_ip = src_ip;
	p->src_port = src_port;
	p->at = n->now + LATENCY;
	p->len = len;
	memcpy(p->data, msg, len);
}

static uint64_t ut_ice_min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void ut_ice_run(struct ut_ice_net *n, uint64_t until)
{
	for (unsigned guard = 0; guard < 2000000; guard++) {
		for (unsigned i = 0; i < n->n;) {
			if (n->q[i].at > n->now) {
				i++;
				continue;
			}
			struct ut_ice_pkt p = n->q[i];
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
			next = ut_ice_min64(next, n->q[i].at);
		next = ut_ice_min64(next, nat_ice_deadline(&n->ag[SRC]));
		next = ut_ice_min64(next, nat_ice_deadline(&n->ag[REC]));
		n->now = next > n->now ? next : n->now + 1;
	}
	fail_msg("the simulation does not settle");
}


static void ut_ice_agent(struct ut_ice_net *n, int idx, const struct ut_ice_scen *s)
{
	struct nat_ice_cfg cfg = {
		.role = idx == SRC ? s->src_role : s->rec_role,
		.lite = idx == REC && s->lite,
		.components = (uint8_t)s->components,
		.send = ut_ice_net_send, .send_arg = &n->side[idx],
		.on_event = ut_ice_on_event, .event_arg = &n->side[idx],
		.rng = ut_ice_xrng, .rng_arg = &n->seed[idx],
	};
	struct nat_ice *a = &n->ag[idx];
	uint32_t ip = idx == SRC ? (s->natted ? PRIV_IP : SRC_IP) : REC_IP;
	uint16_t port = idx == SRC ? SRC_PORT : REC_PORT;

	n->side[idx] = (struct ut_ice_side){ .net = n, .idx = idx };
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
static void ut_ice_sdp_of(const struct nat_ice *a, struct nat_ice_sdp *s)
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

struct ut_ice_net ut_net;

void ut_ice_setup_pair(const struct ut_ice_scen *s)
{
	struct nat_ice_sdp offer, answer;

	memset(&ut_net, 0, sizeof(ut_net));
	ut_net.natted = s->natted;
	ut_ice_agent(&ut_net, SRC, s);
	ut_ice_agent(&ut_net, REC, s);
	ut_ice_sdp_of(&ut_net.ag[SRC], &offer);
	ut_ice_sdp_of(&ut_net.ag[REC], &answer);
	assert_int_equal(nat_ice_start(&ut_net.ag[REC], &offer, 0), 0);   /* rtprec answers */
	assert_int_equal(nat_ice_start(&ut_net.ag[SRC], &answer, 0), 0);
	assert_int_equal(nat_ice_start(&ut_net.ag[REC], &offer, 0), -1);  /* once */
}
