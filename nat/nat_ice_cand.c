/* SPDX-License-Identifier: BSD-3-Clause
 * Candidate numbers (RFC 8445 5.1.2, 5.1.1.3, 6.1.2.3), credentials (5.3)
 * and the SDP lines of an answer (RFC 8839 5.1): see nat_ice_sdp.h. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "nat_ice_sdp.h"
#include "nat_name_priv.h"

static const char ice_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

uint8_t nat_ice_type_pref(enum nat_ice_type type)
{
	static const uint8_t pref[NAT_ICE_N_TYPES] = {
		[NAT_ICE_HOST] = 126, [NAT_ICE_PRFLX] = 110, [NAT_ICE_SRFLX] = 100,
		[NAT_ICE_RELAY] = 0,
	};

	return (unsigned)type < NAT_ICE_N_TYPES ? pref[type] : 0;
}

uint32_t nat_ice_priority(enum nat_ice_type type, uint16_t local_pref, uint16_t component)
{
	if (component < 1 || component > 256)
		return 0;
	return (uint32_t)nat_ice_type_pref(type) << 24 | (uint32_t)local_pref << 8 |
	       (256u - component);
}

uint64_t nat_ice_pair_priority(uint32_t g, uint32_t d)
{
	uint64_t lo = g < d ? g : d, hi = g < d ? d : g;

	return (lo << 32) + 2 * hi + (g > d ? 1 : 0);
}

static bool same_key(const struct nat_ice_cand *a, const struct nat_ice_cand *b)
{
	return a->type == b->type && a->base_ip == b->base_ip && a->server_ip == b->server_ip;
}

void nat_ice_foundation(struct nat_ice_cand *c, size_t i)
{
	unsigned distinct = 0;

	for (size_t j = 0; j < i; j++) {
		if (same_key(&c[j], &c[i])) {
			memcpy(c[i].foundation, c[j].foundation, sizeof(c[i].foundation));
			return;
		}
		bool first = true;
		for (size_t k = 0; k < j && first; k++)
			first = !same_key(&c[k], &c[j]);
		distinct += first;
	}
	snprintf(c[i].foundation, sizeof(c[i].foundation), "%c%u",
		 "HSPR"[c[i].type < NAT_ICE_N_TYPES ? c[i].type : 0], distinct + 1);
}

bool nat_ice_chars(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!s[i] || !memchr(ice_chars, s[i], sizeof(ice_chars) - 1))
			return false;
	return true;
}

int nat_ice_gen_creds(nat_rng_fn rng, void *rng_arg, char *ufrag, char *pwd)
{
	uint8_t r[NAT_ICE_UFRAG_GEN + NAT_ICE_PWD_GEN];
	int ok = rng ? rng(rng_arg, r, sizeof(r)) :
		       (getrandom(r, sizeof(r), 0) == (ssize_t)sizeof(r) ? 0 : -1);

	if (ok != 0)
		return -1;
	/* 64 characters: the low six bits of a byte pick one without bias */
	for (size_t i = 0; i < NAT_ICE_UFRAG_GEN; i++)
		ufrag[i] = ice_chars[r[i] & 63];
	for (size_t i = 0; i < NAT_ICE_PWD_GEN; i++)
		pwd[i] = ice_chars[r[NAT_ICE_UFRAG_GEN + i] & 63];
	ufrag[NAT_ICE_UFRAG_GEN] = 0;
	pwd[NAT_ICE_PWD_GEN] = 0;
	return 0;
}

const char *nat_ice_type_name(enum nat_ice_type t)
{
	static const char *const names[NAT_ICE_N_TYPES] = { "host", "srflx", "prflx", "relay" };

	return NAT_NAME_OF(names, t);
}

#define IP4(ip) (unsigned)((ip) >> 24), (unsigned)((ip) >> 16 & 255), \
		(unsigned)((ip) >> 8 & 255), (unsigned)((ip) & 255)

static int fitted(int n, size_t cap)
{
	return n >= 0 && (size_t)n < cap ? n : -1;
}

int nat_ice_sdp_fmt_cand(char *buf, size_t cap, const struct nat_ice_cand *c)
{
	int n = snprintf(buf, cap, "candidate:%s %u UDP %u %u.%u.%u.%u %u typ %s", c->foundation,
			 c->component, c->priority, IP4(c->ip), c->port,
			 nat_ice_type_name((enum nat_ice_type)c->type));

	/* RFC 8839 5.1: rel-addr and rel-port for all but host candidates */
	if (fitted(n, cap) < 0 || c->type == NAT_ICE_HOST)
		return fitted(n, cap);
	int m = snprintf(buf + n, cap - (size_t)n, " raddr %u.%u.%u.%u rport %u", IP4(c->rel_ip),
			 c->rel_port);
	return fitted(m, cap - (size_t)n) < 0 ? -1 : n + m;
}

int nat_ice_sdp_session_lines(char *buf, size_t cap, bool lite)
{
	return fitted(snprintf(buf, cap, "%s", lite ? "a=ice-lite\r\n" : ""), cap);
}

int nat_ice_sdp_media_lines(char *buf, size_t cap, const char *ufrag, const char *pwd,
			    const struct nat_ice_cand *c, size_t n)
{
	int len = fitted(snprintf(buf, cap, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", ufrag, pwd), cap);

	for (size_t i = 0; i < n && len >= 0; i++) {
		size_t room = cap - (size_t)len;
		if (room < 2 + 2 + 1)
			return -1;
		memcpy(buf + len, "a=", 2);
		int l = nat_ice_sdp_fmt_cand(buf + len + 2, room - 2, &c[i]);
		if (l < 0 || (size_t)l + 2 + 2 >= room)
			return -1;
		len += 2 + l;
		memcpy(buf + len, "\r\n", 3);
		len += 2;
	}
	return len;
}
