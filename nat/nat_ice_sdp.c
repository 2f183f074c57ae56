/* SPDX-License-Identifier: BSD-3-Clause
 * Parser of the SDP ICE attributes (RFC 8839 5.1, 5.4 to 5.6): see
 * nat_ice_sdp.h. Grammar strings ("typ", "UDP", "host", ...) compare
 * without case as ABNF says; values (foundation, ufrag, pwd) exactly. */
#include <string.h>
#include <strings.h>

#include "nat_ice_sdp.h"

struct tok {
	const char *p;
	size_t n;
};

#define MAX_TOKS 64u   /* 8 fixed fields and up to 28 extension pairs */

static bool tok_is(struct tok t, const char *s)
{
	return t.n == strlen(s) && strncasecmp(t.p, s, t.n) == 0;
}

/* n decimal digits (1..max_digits) up to limit; -1 otherwise */
static int64_t tok_num(struct tok t, size_t max_digits, uint64_t limit)
{
	uint64_t v = 0;

	if (t.n == 0 || t.n > max_digits)
		return -1;
	for (size_t i = 0; i < t.n; i++) {
		if (t.p[i] < '0' || t.p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(t.p[i] - '0');
	}
	return v <= limit ? (int64_t)v : -1;
}

/* Strict dotted quad: four 1..3 digit octets up to 255. */
static bool tok_ip4(struct tok t, uint32_t *ip)
{
	uint32_t v = 0;
	size_t i = 0;

	for (int oct = 0; oct < 4; oct++) {
		size_t s = i;
		while (i < t.n && t.p[i] != '.')
			i++;
		int64_t o = tok_num((struct tok){ t.p + s, i - s }, 3, 255);
		if (o < 0 || (oct < 3) != (i < t.n))
			return false;
		v = v << 8 | (uint32_t)o;
		i++;
	}
	*ip = v;
	return true;
}

enum addr_kind { A_BAD, A_IP4, A_OTHER };   /* OTHER: IPv6, FQDN or mDNS name */

static enum addr_kind tok_addr(struct tok t, uint32_t *ip)
{
	if (tok_ip4(t, ip))
		return A_IP4;
	size_t digits = 0;

	while (digits < t.n && ((t.p[digits] >= '0' && t.p[digits] <= '9') || t.p[digits] == '.'))
		digits++;
	if (t.n == 0 || t.n > 255 || digits == t.n)
		return A_BAD;    /* empty, too long, or a broken dotted quad */
	for (size_t i = 0; i < t.n; i++) {
		char c = t.p[i];
		bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  c == '.' || c == '-' || c == ':' || c == '_' || c == '%';
		if (!ok)
			return A_BAD;
	}
	return A_OTHER;
}

static size_t split(const char *p, size_t n, struct tok *t, size_t max)
{
	size_t k = 0, i = 0;

	while (i < n) {
		while (i < n && p[i] == ' ')
			i++;
		if (i == n)
			break;
		if (k == max)
			return max + 1;
		size_t s = i;
		while (i < n && p[i] != ' ')
			i++;
		t[k++] = (struct tok){ p + s, i - s };
	}
	return k;
}

static enum nat_ice_sdp_res bad(struct nat_ice_sdp *s, const char *why)
{
	s->err = why;
	return NAT_ICE_SDP_BAD;
}

static enum nat_ice_sdp_res bad_cand(struct nat_ice_sdp *s, const char *why)
{
	s->n_bad++;
	return bad(s, why);
}

static int cand_type(struct tok t)
{
	static const char *const names[NAT_ICE_N_TYPES] = { "host", "srflx", "prflx", "relay" };

	for (int i = 0; i < NAT_ICE_N_TYPES; i++)
		if (tok_is(t, names[i]))
			return i;
	return -1;
}

/* raddr/rport and extension pairs after "typ <type>" */
static enum nat_ice_sdp_res cand_tail(struct nat_ice_sdp *s, struct nat_ice_cand *c,
				      const struct tok *t, size_t n)
{
	if (n % 2)
		return bad_cand(s, "candidate extension without a value");
	for (size_t i = 0; i < n; i += 2) {
		uint32_t ip;
		if (tok_is(t[i], "raddr")) {
			enum addr_kind k = tok_addr(t[i + 1], &ip);
			if (k == A_BAD)
				return bad_cand(s, "bad raddr");
			c->rel_ip = k == A_IP4 ? ip : 0;
		} else if (tok_is(t[i], "rport")) {
			int64_t p = tok_num(t[i + 1], 5, 65535);
			if (p < 0)
				return bad_cand(s, "bad rport");
			c->rel_port = (uint16_t)p;
		}
	}
	return NAT_ICE_SDP_OK;
}

static enum nat_ice_sdp_res skip(struct nat_ice_sdp *s)
{
	s->n_skipped++;
	return NAT_ICE_SDP_SKIPPED;
}

static enum nat_ice_sdp_res parse_cand(struct nat_ice_sdp *s, const char *v, size_t n)
{
	struct tok t[MAX_TOKS];
	struct nat_ice_cand c = { 0 };
	size_t k = split(v, n, t, MAX_TOKS);
	int64_t comp, prio, port;
	int type;
	uint32_t ip = 0;

	if (k < 8 || k > MAX_TOKS)
		return bad_cand(s, k < 8 ? "candidate: too few fields" : "candidate: too many fields");
	if (t[0].n > NAT_ICE_FOUNDATION_MAX || !nat_ice_chars(t[0].p, t[0].n))
		return bad_cand(s, "bad candidate foundation");
	if ((comp = tok_num(t[1], 3, 256)) < 1)
		return bad_cand(s, "bad candidate component");
	if ((prio = tok_num(t[3], 10, 0x7FFFFFFF)) < 1)
		return bad_cand(s, "bad candidate priority");
	enum addr_kind kind = tok_addr(t[4], &ip);
	if (kind == A_BAD)
		return bad_cand(s, "bad candidate address");
	if ((port = tok_num(t[5], 5, 65535)) < 0)
		return bad_cand(s, "bad candidate port");
	if (!tok_is(t[6], "typ"))
		return bad_cand(s, "candidate without typ");
	memcpy(c.foundation, t[0].p, t[0].n);
	c.component = (uint16_t)comp;
	c.priority = (uint32_t)prio;
	c.ip = ip;
	c.port = (uint16_t)port;
	enum nat_ice_sdp_res r = cand_tail(s, &c, t + 8, k - 8);
	if (r != NAT_ICE_SDP_OK)
		return r;
	type = cand_type(t[7]);
	/* other transports, unknown types, IPv6, FQDN and mDNS names: not ours */
	if (!tok_is(t[2], "UDP") || type < 0 || kind != A_IP4 || port == 0 ||
	    s->n_cands == NAT_ICE_SDP_MAX_CANDS)
		return skip(s);
	c.type = (uint8_t)type;
	s->cands[s->n_cands++] = c;
	s->n_by_type[type]++;
	return NAT_ICE_SDP_OK;
}

static enum nat_ice_sdp_res parse_cred(struct nat_ice_sdp *s, char *dst, const char *v,
				       size_t n, size_t min, size_t max, const char *why)
{
	if (n < min || n > max || !nat_ice_chars(v, n))
		return bad(s, why);
	if (dst[0] && (strlen(dst) != n || memcmp(dst, v, n) != 0))
		return bad(s, "conflicting ICE credentials");
	memcpy(dst, v, n);
	dst[n] = 0;
	return NAT_ICE_SDP_OK;
}

static enum nat_ice_sdp_res parse_options(struct nat_ice_sdp *s, const char *v, size_t n)
{
	static const struct { const char *tag; uint32_t bit; } known[] = {
		{ "trickle", NAT_ICE_OPT_TRICKLE }, { "ice2", NAT_ICE_OPT_ICE2 },
		{ "renomination", NAT_ICE_OPT_RENOMINATION },
	};
	struct tok t[MAX_TOKS];
	size_t k = split(v, n, t, MAX_TOKS);

	/* tags are 1*ice-char, but old Chrome wrote "google-ice": any token */
	if (k == 0 || k > MAX_TOKS)
		return bad(s, "bad ice-options");
	for (size_t i = 0; i < k; i++) {
		for (size_t j = 0; j < sizeof(known) / sizeof(known[0]); j++)
			if (t[i].n == strlen(known[j].tag) && memcmp(t[i].p, known[j].tag, t[i].n) == 0)
				s->options |= known[j].bit;
	}
	return NAT_ICE_SDP_OK;
}

static enum nat_ice_sdp_res parse_pacing(struct nat_ice_sdp *s, const char *v, size_t n)
{
	int64_t ms = tok_num((struct tok){ v, n }, 10, UINT32_MAX);

	if (ms < 0)
		return bad(s, "bad ice-pacing");
	s->pacing_ms = (uint32_t)ms;
	return NAT_ICE_SDP_OK;
}

/* Attribute names and whether they carry a value. */
enum attr { AT_CAND, AT_UFRAG, AT_PWD, AT_LITE, AT_OPTIONS, AT_PACING, AT_EOC, AT_UNUSED };

static const struct {
	const char *name;
	uint8_t attr;
	bool value;
} attrs[] = {
	{ "candidate", AT_CAND, true }, { "ice-ufrag", AT_UFRAG, true },
	{ "ice-pwd", AT_PWD, true }, { "ice-lite", AT_LITE, false },
	{ "ice-options", AT_OPTIONS, true }, { "ice-pacing", AT_PACING, true },
	{ "end-of-candidates", AT_EOC, false }, { "ice-mismatch", AT_UNUSED, false },
	{ "remote-candidates", AT_UNUSED, true },
};

static enum nat_ice_sdp_res dispatch(struct nat_ice_sdp *s, uint8_t attr, const char *v,
				     size_t n)
{
	switch (attr) {
	case AT_CAND:
		return parse_cand(s, v, n);
	case AT_UFRAG:
		return parse_cred(s, s->ufrag, v, n, NAT_ICE_UFRAG_MIN, NAT_ICE_UFRAG_MAX,
				  "bad ice-ufrag");
	case AT_PWD:
		return parse_cred(s, s->pwd, v, n, NAT_ICE_PWD_MIN, NAT_ICE_PWD_MAX, "bad ice-pwd");
	case AT_LITE:
		s->lite = true;
		return NAT_ICE_SDP_OK;
	case AT_OPTIONS:
		return parse_options(s, v, n);
	case AT_PACING:
		return parse_pacing(s, v, n);
	case AT_EOC:
		s->end_of_candidates = true;
		return NAT_ICE_SDP_OK;
	default:
		return NAT_ICE_SDP_SKIPPED;
	}
}

enum nat_ice_sdp_res nat_ice_sdp_parse_line(struct nat_ice_sdp *s, const char *line, size_t len)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len >= 2 && line[0] == 'a' && line[1] == '=') {
		line += 2;
		len -= 2;
	}
	size_t name = 0;
	while (name < len && line[name] != ':')
		name++;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		if (strlen(attrs[i].name) != name || memcmp(line, attrs[i].name, name) != 0)
			continue;
		bool has_value = name < len;
		const char *v = line + name + has_value;
		size_t n = has_value ? len - name - 1 : 0;
		const char *why = NULL;
		if (len > NAT_ICE_SDP_LINE_MAX)
			why = "line too long";
		for (size_t j = 0; j < n && !why; j++)
			if ((unsigned char)v[j] < 0x20 || (unsigned char)v[j] >= 0x7F)
				why = "control character";
		if (!why && has_value != attrs[i].value)
			why = has_value ? "unexpected value" : "missing value";
		if (why)
			return attrs[i].attr == AT_CAND ? bad_cand(s, why) : bad(s, why);
		return dispatch(s, attrs[i].attr, v, n);
	}
	return NAT_ICE_SDP_NOT_ICE;
}

void nat_ice_sdp_init(struct nat_ice_sdp *s)
{
	memset(s, 0, sizeof(*s));
}

void nat_ice_sdp_inherit(struct nat_ice_sdp *media, const struct nat_ice_sdp *session)
{
	if (!media->ufrag[0])
		memcpy(media->ufrag, session->ufrag, sizeof(media->ufrag));
	if (!media->pwd[0])
		memcpy(media->pwd, session->pwd, sizeof(media->pwd));
	if (!media->options)
		media->options = session->options;
	if (!media->pacing_ms)
		media->pacing_ms = session->pacing_ms;
	media->lite |= session->lite;
}

bool nat_ice_sdp_usable(const struct nat_ice_sdp *s)
{
	return s->ufrag[0] && s->pwd[0];
}
