/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer: ICE. Input: a mode byte, a 16-bit length, that many bytes of
 * SDP attribute lines, then up to 8 steps of a flags byte, a 16-bit length
 * and one datagram.
 *  - every line goes through nat_ice_sdp_parse_line(); what it takes must
 *    format and parse back the same (mode 0x20: the lines then take the
 *    fixed offer's credentials where they have none);
 *  - the steps go to a controlled, a controlling and a lite agent, started
 *    with the fuzzed offer when it has credentials, else a fixed one. Step
 *    flags: 0x01 re-sign (attributes kept; USERNAME, MESSAGE-INTEGRITY and
 *    FINGERPRINT made right, a response takes the id of the agent's latest
 *    check), 0x02 with a wrong key, 0x04 from where that check went (else
 *    from the offer's host, or 0x20 an unknown address), 0x08 run time to
 *    the agent's deadline first, 0x40 to the RTCP port. So the fuzzer gets
 *    past authentication to nomination and consent. Time runs on at the end.
 *    Agents' invariants are checked after every step. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/nat_ice.h"

#define LOCAL_IP 0xC000020Au
#define LOCAL_PORT 40000

static const char *const fixed_offer[] = {
	"a=ice-ufrag:srcU", "a=ice-pwd:srcpassword/with+22chars",
	"a=candidate:1 1 UDP 2122260223 198.51.100.20 5000 typ host",
	"a=candidate:2 1 UDP 1686052607 203.0.113.4 6000 typ srflx raddr 10.0.0.1 rport 5000",
	"a=candidate:1 2 UDP 2122260222 198.51.100.20 5001 typ host",
};

struct sent {
	bool have;
	uint8_t tid[NAT_STUN_TID_LEN];  /* the latest check */
	uint32_t ip;
	uint16_t port, from;
};

static uint64_t seed;

static int rng(void *arg, uint8_t *buf, size_t len)
{
	(void)arg;
	for (size_t i = 0; i < len; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		buf[i] = (uint8_t)(seed >> 33);
	}
	return 0;
}

static void on_send(void *arg, uint16_t port, uint32_t ip, uint16_t dport, const uint8_t *msg,
		    size_t len)
{
	struct sent *s = arg;
	struct nat_stun_msg m;

	if (nat_stun_parse(msg, len, &m) != 0 || !m.fp_off || m.method != NAT_STUN_BINDING)
		abort();
	if (m.cls == NAT_STUN_REQUEST) {
		s->have = true;
		memcpy(s->tid, m.tid, NAT_STUN_TID_LEN);
		s->ip = ip;
		s->port = dport;
		s->from = port;
	}
}

static bool same_cand(const struct nat_ice_cand *a, const struct nat_ice_cand *b)
{
	return strcmp(a->foundation, b->foundation) == 0 && a->type == b->type &&
	       a->component == b->component && a->priority == b->priority && a->ip == b->ip &&
	       a->port == b->port && (a->type == NAT_ICE_HOST ||
				      (a->rel_ip == b->rel_ip && a->rel_port == b->rel_port));
}

static void parse_sdp(struct nat_ice_sdp *s, const uint8_t *d, size_t n)
{
	char buf[160];

	nat_ice_sdp_init(s);
	for (size_t i = 0; i < n;) {
		size_t e = i;
		while (e < n && d[e] != '\n')
			e++;
		uint8_t had = s->n_cands;
		enum nat_ice_sdp_res r = nat_ice_sdp_parse_line(s, (const char *)d + i, e - i);
		if (r < NAT_ICE_SDP_BAD || r > NAT_ICE_SDP_SKIPPED || (r == NAT_ICE_SDP_BAD && !s->err))
			abort();
		if (s->n_cands > NAT_ICE_SDP_MAX_CANDS)
			abort();
		if (s->n_cands > had) {
			struct nat_ice_sdp back;
			const struct nat_ice_cand *c = &s->cands[s->n_cands - 1];
			int len = nat_ice_sdp_fmt_cand(buf, sizeof(buf), c);
			nat_ice_sdp_init(&back);
			if (len < 0 || nat_ice_sdp_parse_line(&back, buf, (size_t)len) != NAT_ICE_SDP_OK ||
			    !same_cand(c, &back.cands[0]))
				abort();
		}
		i = e + 1;
	}
	if ((s->ufrag[0] && !nat_ice_chars(s->ufrag, strlen(s->ufrag))) ||
	    (s->pwd[0] && strlen(s->pwd) < NAT_ICE_PWD_MIN))
		abort();
}

/* The datagram's attributes up to MESSAGE-INTEGRITY, signed for agent a. */
static size_t resign(const struct nat_ice *a, const struct sent *s, const uint8_t *d, size_t n,
		     bool wrong, uint8_t *out, size_t cap)
{
	struct nat_stun_builder b;

	if (n < NAT_STUN_HDR_LEN)
		return 0;
	uint16_t t = (uint16_t)(d[0] << 8 | d[1]) & 0x3FFF;
	unsigned cls = ((t >> 7) & 2) | ((t >> 4) & 1);
	uint16_t method = (uint16_t)((t & 0xF) | ((t >> 1) & 0x70) | ((t >> 2) & 0xF80));
	bool req = cls == NAT_STUN_REQUEST;
	char user[2 * NAT_ICE_UFRAG_MAX + 2];
	const char *key = wrong ? "not-the-password-at-all" : req ? a->pwd : a->rpwd;

	nat_stun_start(&b, out, cap, (enum nat_stun_class)cls, method,
		       req || !s->have ? d + 8 : s->tid);
	if (req) {
		strcpy(user, a->ufrag);
		strcat(user, ":");
		strcat(user, a->rufrag);
		nat_stun_add_str(&b, NAT_STUN_A_USERNAME, user);
	}
	for (size_t i = NAT_STUN_HDR_LEN; i + 4 <= n;) {
		uint16_t type = (uint16_t)(d[i] << 8 | d[i + 1]), len = (uint16_t)(d[i + 2] << 8 | d[i + 3]);
		if (i + 4 + len > n || type == NAT_STUN_A_MESSAGE_INTEGRITY ||
		    type == NAT_STUN_A_MESSAGE_INTEGRITY_SHA256 || type == NAT_STUN_A_FINGERPRINT)
			break;
		if (type != NAT_STUN_A_USERNAME)
			nat_stun_add_raw(&b, type, d + i + 4, len);
		i += 4 + ((len + 3u) & ~3u);
	}
	nat_stun_add_integrity(&b, (const uint8_t *)key, strlen(key));
	int len = nat_stun_add_fingerprint(&b);
	return len > 0 ? (size_t)len : 0;
}

static void check(const struct nat_ice *a)
{
	if (a->n_pairs > NAT_ICE_MAX_PAIRS || a->n_local > NAT_ICE_MAX_LOCAL ||
	    a->n_remote > NAT_ICE_MAX_REMOTE || a->n_trig > a->n_pairs ||
	    !nat_ice_state_name(a->state) || !nat_ice_role_name(a->role))
		abort();
	unsigned queued = 0;
	for (unsigned i = 0; i < a->n_pairs; i++) {
		if (a->pairs[i].local >= a->n_local || a->pairs[i].remote >= a->n_remote ||
		    !nat_ice_pair_state_name((enum nat_ice_pair_state)a->pairs[i].state))
			abort();
		queued += a->pairs[i].triggered;
	}
	/* the triggered-check queue holds each flagged pair once */
	if (queued != a->n_trig)
		abort();
	for (unsigned i = 0; i < a->n_trig; i++)
		if (a->trig[i] >= a->n_pairs || !a->pairs[a->trig[i]].triggered)
			abort();
	for (unsigned c = 1; c <= a->cfg.components; c++) {
		const struct nat_ice_pair *p = nat_ice_selected(a, c);
		if (p && (!p->nominated || p->component != c))
			abort();
	}
	if (a->state == NAT_ICE_COMPLETED && a->stats.nomination_ms < 0)
		abort();
}

static uint64_t advance(struct nat_ice *a, uint64_t now)
{
	uint64_t dl = nat_ice_deadline(a);

	now = dl != UINT64_MAX && dl > now ? dl : now + 1;
	nat_ice_tick(a, now);
	check(a);
	return now;
}

static void step(struct nat_ice *a, const struct sent *s, uint8_t flags, const uint8_t *d,
		 size_t n, uint64_t now)
{
	static uint8_t buf[2048];
	size_t len = flags & 1 ? resign(a, s, d, n, flags & 2, buf, sizeof(buf)) : 0;
	bool back = (flags & 4) && s->have;
	uint32_t ip = back ? s->ip : flags & 0x20 ? 0xCB00714D : 0xC6336414;
	uint16_t port = back ? s->port : flags & 0x20 ? 7000 : 5000;
	uint16_t local = back ? s->from : (uint16_t)(LOCAL_PORT + !!(flags & 0x40));

	if (nat_ice_input(a, local, ip, port, len ? buf : d, len ? len : n, now) > 1)
		abort();
	check(a);
}

static void run_agent(unsigned kind, const struct nat_ice_sdp *offer, const uint8_t *d, size_t n)
{
	static struct nat_ice a;
	struct sent s = { 0 };
	struct nat_ice_cfg cfg = {
		.role = kind == 1 ? NAT_ICE_CONTROLLING : NAT_ICE_CONTROLLED, .lite = kind == 2,
		.components = 2, .ta_ms = 20, .send = on_send, .send_arg = &s, .rng = rng,
		.ufrag = "recU", .pwd = "rtprecpassword22chars+",
	};
	uint64_t now = 1000;

	seed = kind;
	if (nat_ice_init(&a, &cfg) != 0)
		abort();
	for (uint16_t c = 1; c <= 2; c++) {
		struct nat_ice_cand h = { .type = NAT_ICE_HOST, .component = c, .ip = LOCAL_IP,
					  .port = (uint16_t)(LOCAL_PORT + c - 1) };
		struct nat_ice_cand x = { .type = NAT_ICE_SRFLX, .component = c, .ip = 0xCB007109,
					  .port = (uint16_t)(41000 + c), .base_ip = LOCAL_IP,
					  .base_port = h.port, .server_ip = 0xC6336401 };
		if (nat_ice_add_local(&a, &h) < 0 || nat_ice_add_local(&a, &x) < 0)
			abort();
	}
	if (nat_ice_start(&a, offer, now) != 0)
		abort();
	for (unsigned k = 0; k < 8 && n >= 3; k++) {
		uint8_t flags = d[0];
		size_t len = (size_t)(d[1] << 8 | d[2]);
		d += 3;
		n -= 3;
		len = len < n ? len : n;
		now = flags & 8 ? advance(&a, now) : now + 10;
		step(&a, &s, flags, d, len, now);
		d += len;
		n -= len;
	}
	for (int i = 0; i < 40 && nat_ice_deadline(&a) != UINT64_MAX && now < 300000; i++)
		now = advance(&a, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct nat_ice_sdp fuzzed, fixed;

	if (n < 3)
		return 0;
	uint8_t mode = d[0];
	size_t sdp_len = (size_t)(d[1] << 8 | d[2]);
	d += 3;
	n -= 3;
	if (sdp_len > n)
		sdp_len = n;
	parse_sdp(&fuzzed, d, sdp_len);
	nat_ice_sdp_init(&fixed);
	for (size_t i = 0; i < sizeof(fixed_offer) / sizeof(fixed_offer[0]); i++)
		if (nat_ice_sdp_parse_line(&fixed, fixed_offer[i], strlen(fixed_offer[i])) !=
		    NAT_ICE_SDP_OK)
			abort();
	if (mode & 0x20)
		nat_ice_sdp_inherit(&fuzzed, &fixed);
	const struct nat_ice_sdp *offer = nat_ice_sdp_usable(&fuzzed) ? &fuzzed : &fixed;
	for (unsigned kind = 0; kind < 3; kind++)
		run_agent(kind, offer, d + sdp_len, n - sdp_len);
	return 0;
}
