/* SPDX-License-Identifier: BSD-3-Clause
 * nat_ice_sdp: RFC 8839 attribute lines as Chrome, Firefox and Asterisk
 * write them, malformed ones, our own lines back through the parser, and
 * RFC 8445 priorities and foundations against hand-computed values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "nat/nat_ice_sdp.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static const struct {
	const char *line;
	enum nat_ice_sdp_res res;
	uint8_t type;
	uint16_t comp;
	uint32_t prio, ip;
	uint16_t port;
	uint32_t rel_ip;
	uint16_t rel_port;
} cands[] = {
	/* Chrome */
	{ "a=candidate:842163049 1 udp 2122260223 192.168.1.5 54321 typ host generation 0 "
	  "network-id 1 network-cost 10\r\n",
	  NAT_ICE_SDP_OK, NAT_ICE_HOST, 1, 2122260223, IP(192, 168, 1, 5), 54321, 0, 0 },
	{ "a=candidate:3471623853 1 udp 1686052607 203.0.113.4 46154 typ srflx raddr 192.168.1.5 "
	  "rport 54321 generation 0 network-id 1 network-cost 10",
	  NAT_ICE_SDP_OK, NAT_ICE_SRFLX, 1, 1686052607, IP(203, 0, 113, 4), 46154,
	  IP(192, 168, 1, 5), 54321 },
	{ "a=candidate:2157334355 1 udp 41885439 198.51.100.7 3478 typ relay raddr 203.0.113.4 "
	  "rport 46154 generation 0 ufrag EsAw network-id 1",
	  NAT_ICE_SDP_OK, NAT_ICE_RELAY, 1, 41885439, IP(198, 51, 100, 7), 3478,
	  IP(203, 0, 113, 4), 46154 },
	{ "a=candidate:1 1 udp 2122260223 4fd2a7bb-8b9c-4c3e-9f1a-0123456789ab.local 54321 typ host "
	  "generation 0", NAT_ICE_SDP_SKIPPED, 0, 0, 0, 0, 0, 0, 0 },
	{ "a=candidate:2 1 tcp 1518280447 192.168.1.5 9 typ host tcptype active generation 0",
	  NAT_ICE_SDP_SKIPPED, 0, 0, 0, 0, 0, 0, 0 },
	{ "a=candidate:3 1 udp 1686052607 203.0.113.4 46154 typ srflx raddr 0.0.0.0 rport 0",
	  NAT_ICE_SDP_OK, NAT_ICE_SRFLX, 1, 1686052607, IP(203, 0, 113, 4), 46154, 0, 0 },
	/* Firefox */
	{ "candidate:0 1 UDP 2122252543 192.168.1.5 54400 typ host", NAT_ICE_SDP_OK, NAT_ICE_HOST,
	  1, 2122252543, IP(192, 168, 1, 5), 54400, 0, 0 },
	{ "candidate:1 2 UDP 1686052862 203.0.113.4 54401 typ srflx raddr 192.168.1.5 rport 54401",
	  NAT_ICE_SDP_OK, NAT_ICE_SRFLX, 2, 1686052862, IP(203, 0, 113, 4), 54401,
	  IP(192, 168, 1, 5), 54401 },
	{ "candidate:2 1 UDP 2122187007 2001:db8::1 54402 typ host", NAT_ICE_SDP_SKIPPED,
	  0, 0, 0, 0, 0, 0, 0 },
	{ "candidate:3 1 TCP 2105524479 192.168.1.5 9 typ host tcptype active",
	  NAT_ICE_SDP_SKIPPED, 0, 0, 0, 0, 0, 0, 0 },
	{ "candidate:4 1 UDP 8265471 198.51.100.7 61234 typ relay raddr 198.51.100.7 rport 61234",
	  NAT_ICE_SDP_OK, NAT_ICE_RELAY, 1, 8265471, IP(198, 51, 100, 7), 61234,
	  IP(198, 51, 100, 7), 61234 },
	/* Asterisk (pjnath) */
	{ "a=candidate:Hc0a80105 1 UDP 2130706431 192.168.1.5 10000 typ host\n", NAT_ICE_SDP_OK,
	  NAT_ICE_HOST, 1, 2130706431, IP(192, 168, 1, 5), 10000, 0, 0 },
	{ "a=candidate:Scb007104 1 UDP 1694498815 203.0.113.4 10000 typ srflx raddr 192.168.1.5 "
	  "rport 10000", NAT_ICE_SDP_OK, NAT_ICE_SRFLX, 1, 1694498815, IP(203, 0, 113, 4), 10000,
	  IP(192, 168, 1, 5), 10000 },
	{ "a=candidate:Hc0a80105 2 UDP 2130706430 192.168.1.5 10001 typ host", NAT_ICE_SDP_OK,
	  NAT_ICE_HOST, 2, 2130706430, IP(192, 168, 1, 5), 10001, 0, 0 },
	/* case of the grammar's strings does not matter */
	{ "candidate:x 1 Udp 5 192.0.2.1 1 TYP HOST", NAT_ICE_SDP_OK, NAT_ICE_HOST, 1, 5,
	  IP(192, 0, 2, 1), 1, 0, 0 },
	{ "candidate:x 1 UDP 5 192.0.2.1 1 typ prflx raddr 10.0.0.1 rport 7", NAT_ICE_SDP_OK,
	  NAT_ICE_PRFLX, 1, 5, IP(192, 0, 2, 1), 1, IP(10, 0, 0, 1), 7 },
	/* skipped, not fatal */
	{ "candidate:1 1 UDP 2130706431 media.example.com 10000 typ host", NAT_ICE_SDP_SKIPPED,
	  0, 0, 0, 0, 0, 0, 0 },
	{ "candidate:1 1 UDP 2130706431 192.0.2.1 0 typ host", NAT_ICE_SDP_SKIPPED,
	  0, 0, 0, 0, 0, 0, 0 },
	{ "candidate:1 1 UDP 2130706431 192.0.2.1 10 typ tunnel", NAT_ICE_SDP_SKIPPED,
	  0, 0, 0, 0, 0, 0, 0 },
	{ "candidate:1 1 DCCP 2130706431 192.0.2.1 10 typ host", NAT_ICE_SDP_SKIPPED,
	  0, 0, 0, 0, 0, 0, 0 },
};

/* refused: a field out of its grammar or length, a control character */
static const char *const malformed[] = {
	"candidate:1 1 UDP 2130706431 192.0.2.1 10000 host",
	"candidate:1 1 UDP 2130706431 192.0.2.1 10000 type host",
	"candidate:123456789012345678901234567890123 1 UDP 1 192.0.2.1 1 typ host",
	"candidate:a-b 1 UDP 1 192.0.2.1 1 typ host",
	"candidate:1 0 UDP 1 192.0.2.1 1 typ host",
	"candidate:1 257 UDP 1 192.0.2.1 1 typ host",
	"candidate:1 1a UDP 1 192.0.2.1 1 typ host",
	"candidate:1 1 UDP 0 192.0.2.1 1 typ host",
	"candidate:1 1 UDP 2147483648 192.0.2.1 1 typ host",
	"candidate:1 1 UDP 00000000001 192.0.2.1 1 typ host",
	"candidate:1 1 UDP 1 192.0.2.256 1 typ host",
	"candidate:1 1 UDP 1 192.0.2 1 typ host",
	"candidate:1 1 UDP 1 192.0.2.1 65536 typ host",
	"candidate:1 1 UDP 1 192.0.2.1 -1 typ host",
	"candidate:1 1 UDP 1 192.0.2.1 1 typ srflx raddr",
	"candidate:1 1 UDP 1 192.0.2.1 1 typ srflx raddr 1.2.3.4 rport x",
	"candidate:1 1 UDP 1 192.0.2.1 1 typ srflx raddr 1.2.3.4/8 rport 1",
	"candidate:1 1 UDP 1 192.0.2.1 1 typ host\tgeneration 0",
	"candidate:1 1 UDP 1 bad!host 1 typ host",
	"candidate:",
	"candidate",
};

static void test_candidates(void **state)
{
	(void)state;
	struct nat_ice_sdp s;
	unsigned ok = 0, skipped = 0, bad = 0;

	nat_ice_sdp_init(&s);
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		enum nat_ice_sdp_res r = nat_ice_sdp_parse_line(&s, cands[i].line,
								strlen(cands[i].line));
		if (r != cands[i].res)
			fail_msg("line %zu \"%s\": %d, want %d", i, cands[i].line, r, cands[i].res);
		ok += r == NAT_ICE_SDP_OK;
		skipped += r == NAT_ICE_SDP_SKIPPED;
		if (r != NAT_ICE_SDP_OK)
			continue;
		const struct nat_ice_cand *c = &s.cands[s.n_cands - 1];
		assert_int_equal(c->type, cands[i].type);
		assert_int_equal(c->component, cands[i].comp);
		assert_int_equal(c->priority, cands[i].prio);
		assert_int_equal(c->ip, cands[i].ip);
		assert_int_equal(c->port, cands[i].port);
		assert_int_equal(c->rel_ip, cands[i].rel_ip);
		assert_int_equal(c->rel_port, cands[i].rel_port);
	}
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		s.err = NULL;
		if (nat_ice_sdp_parse_line(&s, malformed[i], strlen(malformed[i])) != NAT_ICE_SDP_BAD)
			fail_msg("\"%s\" taken", malformed[i]);
		assert_non_null(s.err);
		bad++;
	}
	assert_int_equal(s.n_cands, ok);
	assert_int_equal(s.n_skipped, skipped);
	assert_int_equal(s.n_bad, bad);
	assert_string_equal(s.cands[0].foundation, "842163049");
	assert_string_equal(s.cands[7].foundation, "Hc0a80105");
	assert_int_equal(s.n_by_type[NAT_ICE_HOST] + s.n_by_type[NAT_ICE_SRFLX] +
			 s.n_by_type[NAT_ICE_PRFLX] + s.n_by_type[NAT_ICE_RELAY], ok);
	assert_int_equal(s.n_by_type[NAT_ICE_RELAY], 2);
	assert_int_equal(s.n_by_type[NAT_ICE_PRFLX], 1);
}

static const struct {
	const char *line;
	enum nat_ice_sdp_res res;
} others[] = {
	{ "a=ice-ufrag:F7gI", NAT_ICE_SDP_OK },
	{ "a=ice-ufrag:F7gI\r\n", NAT_ICE_SDP_OK },           /* the same again is fine */
	{ "a=ice-ufrag:G8hJ", NAT_ICE_SDP_BAD },              /* a different one is not */
	{ "a=ice-pwd:x9cml/YzichV2+XlhiMu8g", NAT_ICE_SDP_OK },
	{ "a=ice-lite", NAT_ICE_SDP_OK },
	{ "a=ice-options:trickle ice2", NAT_ICE_SDP_OK },
	{ "a=ice-options:trickle google-ice", NAT_ICE_SDP_OK },  /* old Chrome's tag */
	{ "a=ice-options:", NAT_ICE_SDP_BAD },
	{ "a=ice-pacing:50", NAT_ICE_SDP_OK },
	{ "a=ice-pacing:fast", NAT_ICE_SDP_BAD },
	{ "a=ice-pacing:99999999999", NAT_ICE_SDP_BAD },
	{ "a=end-of-candidates", NAT_ICE_SDP_OK },
	{ "a=ice-lite:yes", NAT_ICE_SDP_BAD },
	{ "a=ice-mismatch", NAT_ICE_SDP_SKIPPED },
	{ "a=remote-candidates:1 192.0.2.1 1", NAT_ICE_SDP_SKIPPED },
	{ "a=rtpmap:0 PCMU/8000", NAT_ICE_SDP_NOT_ICE },
	{ "a=ice-ufragx:abcd", NAT_ICE_SDP_NOT_ICE },
	{ "a=candidates:1 1 UDP 1 192.0.2.1 1 typ host", NAT_ICE_SDP_NOT_ICE },
	{ "a=rtcp-mux", NAT_ICE_SDP_NOT_ICE },
	{ "", NAT_ICE_SDP_NOT_ICE },
};

static const struct {
	const char *line;
	enum nat_ice_sdp_res res;
} creds[] = {
	{ "a=ice-ufrag:abc", NAT_ICE_SDP_BAD },               /* 4..256 */
	{ "a=ice-ufrag:ab:cd", NAT_ICE_SDP_BAD },             /* ':' is no ice-char */
	{ "a=ice-pwd:x9cml/YzichV2+XlhiMu8", NAT_ICE_SDP_BAD }, /* 21 < 22 */
	{ "a=ice-pwd:x9cml/YzichV2+XlhiMu8 ", NAT_ICE_SDP_BAD },
	{ "ice-ufrag:abcd", NAT_ICE_SDP_OK },
	{ "ice-pwd:asd88fgpdd777uzjYhagZgasd88fgpdd777uzjYhagZg", NAT_ICE_SDP_OK },
};

static void test_other_attributes(void **state)
{
	(void)state;
	struct nat_ice_sdp s;
	char longer[300];

	nat_ice_sdp_init(&s);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (nat_ice_sdp_parse_line(&s, others[i].line, strlen(others[i].line)) != others[i].res)
			fail_msg("\"%s\"", others[i].line);
	assert_string_equal(s.ufrag, "F7gI");
	assert_string_equal(s.pwd, "x9cml/YzichV2+XlhiMu8g");
	assert_true(s.lite);
	assert_true(s.end_of_candidates);
	assert_int_equal(s.options, NAT_ICE_OPT_TRICKLE | NAT_ICE_OPT_ICE2);
	assert_int_equal(s.pacing_ms, 50);
	assert_true(nat_ice_sdp_usable(&s));

	for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
		nat_ice_sdp_init(&s);
		if (nat_ice_sdp_parse_line(&s, creds[i].line, strlen(creds[i].line)) != creds[i].res)
			fail_msg("\"%s\"", creds[i].line);
	}
	/* 256 characters are fine, 257 are not */
	nat_ice_sdp_init(&s);
	memcpy(longer, "a=ice-ufrag:", 12);
	memset(longer + 12, 'u', 257);
	assert_int_equal(nat_ice_sdp_parse_line(&s, longer, 12 + 257), NAT_ICE_SDP_BAD);
	assert_int_equal(nat_ice_sdp_parse_line(&s, longer, 12 + 256), NAT_ICE_SDP_OK);
	assert_int_equal(strlen(s.ufrag), 256);
	assert_false(nat_ice_sdp_usable(&s));
}

static void test_limits(void **state)
{
	(void)state;
	struct nat_ice_sdp s;
	char line[1200];

	nat_ice_sdp_init(&s);
	for (unsigned i = 0; i < NAT_ICE_SDP_MAX_CANDS + 2; i++) {
		int n = snprintf(line, sizeof(line), "a=candidate:%u 1 UDP %u 192.0.2.%u 4000 typ host",
				 i, 100 + i, i + 1);
		assert_int_equal(nat_ice_sdp_parse_line(&s, line, (size_t)n),
				 i < NAT_ICE_SDP_MAX_CANDS ? NAT_ICE_SDP_OK : NAT_ICE_SDP_SKIPPED);
	}
	assert_int_equal(s.n_cands, NAT_ICE_SDP_MAX_CANDS);
	assert_int_equal(s.n_skipped, 2);

	/* too many extension fields, too long a line */
	int n = snprintf(line, sizeof(line), "candidate:1 1 UDP 1 192.0.2.1 1 typ host");
	while (n < 400)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " a b");
	assert_int_equal(nat_ice_sdp_parse_line(&s, line, (size_t)n), NAT_ICE_SDP_BAD);
	memset(line + n, 'x', sizeof(line) - (size_t)n);
	assert_int_equal(nat_ice_sdp_parse_line(&s, line, sizeof(line)), NAT_ICE_SDP_BAD);
	/* a NUL inside is a control character, not the end */
	static const char nul[] = "candidate:1 1 UDP 1 192.0.2.1 1 typ host\0x";
	assert_int_equal(nat_ice_sdp_parse_line(&s, nul, sizeof(nul) - 1), NAT_ICE_SDP_BAD);
	assert_int_equal(s.n_bad, 3);
}

static void test_inherit(void **state)
{
	(void)state;
	struct nat_ice_sdp sess, media;

	nat_ice_sdp_init(&sess);
	nat_ice_sdp_init(&media);
	assert_int_equal(nat_ice_sdp_parse_line(&sess, "a=ice-lite", 10), NAT_ICE_SDP_OK);
	assert_int_equal(nat_ice_sdp_parse_line(&sess, "a=ice-ufrag:sess", 16), NAT_ICE_SDP_OK);
	assert_int_equal(nat_ice_sdp_parse_line(&sess, "a=ice-pwd:sessionpasswordsession22",
						34), NAT_ICE_SDP_OK);
	assert_int_equal(nat_ice_sdp_parse_line(&media, "a=ice-ufrag:medi", 16), NAT_ICE_SDP_OK);
	assert_false(nat_ice_sdp_usable(&media));
	nat_ice_sdp_inherit(&media, &sess);
	assert_string_equal(media.ufrag, "medi");                /* media level wins */
	assert_string_equal(media.pwd, "sessionpasswordsession22");
	assert_true(media.lite);
	assert_true(nat_ice_sdp_usable(&media));
}

/* RFC 8445 5.1.2.1 and 6.1.2.3, computed by hand */
static void test_priorities(void **state)
{
	(void)state;
	static const struct {
		enum nat_ice_type type;
		uint16_t lp, comp;
		uint32_t prio;
	} t[] = {
		{ NAT_ICE_HOST, 65535, 1, 2130706431 },    /* 126<<24 | 65535<<8 | 255 */
		{ NAT_ICE_HOST, 65535, 2, 2130706430 },
		{ NAT_ICE_SRFLX, 65535, 1, 1694498815 },   /* 100<<24 | ... */
		{ NAT_ICE_PRFLX, 65535, 1, 1862270975 },   /* 110<<24 | ... */
		{ NAT_ICE_RELAY, 65535, 1, 16777215 },     /* 0 | 65535<<8 | 255 */
		{ NAT_ICE_HOST, 32542, 1, 2122260223 },    /* Chrome's host above */
		{ NAT_ICE_HOST, 32512, 1, 2122252543 },    /* Firefox's */
		{ NAT_ICE_HOST, 0, 256, 2113929216 },
		{ NAT_ICE_HOST, 1, 0, 0 },                 /* no component 0 */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(nat_ice_priority(t[i].type, t[i].lp, t[i].comp), t[i].prio);
	/* G host, D srflx: 2^32 D + 2 G + 1; swapped roles lose the +1 */
	assert_true(nat_ice_pair_priority(2130706431, 1694498815) == 7277816997797167103ull);
	assert_true(nat_ice_pair_priority(1694498815, 2130706431) == 7277816997797167102ull);
	assert_true(nat_ice_pair_priority(5, 5) == (5ull << 32) + 10);
	assert_int_equal(nat_ice_type_pref(NAT_ICE_PRFLX), 110);
	assert_string_equal(nat_ice_type_name(NAT_ICE_RELAY), "relay");
	assert_string_equal(nat_ice_type_name((enum nat_ice_type)9), "unknown");
}

static void test_foundations(void **state)
{
	(void)state;
	struct nat_ice_cand c[] = {
		{ .type = NAT_ICE_HOST, .base_ip = IP(10, 0, 0, 1) },
		{ .type = NAT_ICE_SRFLX, .base_ip = IP(10, 0, 0, 1), .server_ip = IP(198, 51, 100, 1) },
		{ .type = NAT_ICE_SRFLX, .base_ip = IP(10, 0, 0, 1), .server_ip = IP(198, 51, 100, 2) },
		{ .type = NAT_ICE_HOST, .base_ip = IP(10, 0, 0, 2) },
		{ .type = NAT_ICE_RELAY, .base_ip = IP(198, 51, 100, 9), .server_ip = IP(198, 51, 100, 9) },
		{ .type = NAT_ICE_HOST, .base_ip = IP(10, 0, 0, 1), .component = 2 },
		{ .type = NAT_ICE_SRFLX, .base_ip = IP(10, 0, 0, 1), .server_ip = IP(198, 51, 100, 1),
		  .component = 2 },
		{ .type = NAT_ICE_PRFLX, .base_ip = IP(10, 0, 0, 1) },
	};
	static const char *const want[] = { "H1", "S2", "S3", "H4", "R5", "H1", "S2", "P6" };

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		nat_ice_foundation(c, i);
		assert_string_equal(c[i].foundation, want[i]);
	}
}

static int seq_rng(void *arg, uint8_t *buf, size_t len)
{
	(void)arg;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i + 64 * (i & 1));   /* high bits must not matter */
	return 0;
}

static void test_credentials(void **state)
{
	(void)state;
	char ufrag[NAT_ICE_UFRAG_GEN + 1], pwd[NAT_ICE_PWD_GEN + 1];

	assert_int_equal(nat_ice_gen_creds(seq_rng, NULL, ufrag, pwd), 0);
	assert_string_equal(ufrag, "ABCDEFGH");
	assert_string_equal(pwd, "IJKLMNOPQRSTUVWXYZabcdef");
	assert_int_equal(nat_ice_gen_creds(NULL, NULL, ufrag, pwd), 0);
	assert_int_equal(strlen(ufrag), NAT_ICE_UFRAG_GEN);
	assert_int_equal(strlen(pwd), NAT_ICE_PWD_GEN);
	assert_true(nat_ice_chars(ufrag, strlen(ufrag)) && nat_ice_chars(pwd, strlen(pwd)));
	assert_true(nat_ice_chars("+/09azAZ", 8));
	assert_false(nat_ice_chars("a=b", 3));
}

/* Our lines go through our parser and come back the same. */
static void test_round_trip(void **state)
{
	(void)state;
	struct nat_ice_cand c[3] = {
		{ .foundation = "H1", .type = NAT_ICE_HOST, .component = 1, .priority = 2130706431,
		  .ip = IP(192, 0, 2, 10), .port = 40000 },
		{ .foundation = "S2", .type = NAT_ICE_SRFLX, .component = 1, .priority = 1694498815,
		  .ip = IP(203, 0, 113, 9), .port = 41000, .rel_ip = IP(192, 0, 2, 10),
		  .rel_port = 40000 },
		{ .foundation = "R3", .type = NAT_ICE_RELAY, .component = 2, .priority = 16777214,
		  .ip = IP(198, 51, 100, 7), .port = 50001 },
	};
	char buf[1024], one[128];
	struct nat_ice_sdp s;

	assert_int_equal(nat_ice_sdp_fmt_cand(one, sizeof(one), &c[1]),
			 strlen("candidate:S2 1 UDP 1694498815 203.0.113.9 41000 typ srflx "
				"raddr 192.0.2.10 rport 40000"));
	assert_string_equal(one, "candidate:S2 1 UDP 1694498815 203.0.113.9 41000 typ srflx "
				 "raddr 192.0.2.10 rport 40000");
	assert_int_equal(nat_ice_sdp_fmt_cand(one, 20, &c[1]), -1);
	assert_int_equal(nat_ice_sdp_fmt_cand(one, 70, &c[1]), -1);

	int n = nat_ice_sdp_session_lines(buf, sizeof(buf), true);
	assert_string_equal(buf, "a=ice-lite\r\n");
	int m = nat_ice_sdp_media_lines(buf + n, sizeof(buf) - (size_t)n, "F7gI",
					"x9cml/YzichV2+XlhiMu8g", c, 3);
	assert_true(m > 0);
	assert_int_equal(strlen(buf), (size_t)(n + m));
	assert_int_equal(nat_ice_sdp_session_lines(buf + 600, 8, false), 0);
	assert_int_equal(nat_ice_sdp_session_lines(one, 5, true), -1);

	nat_ice_sdp_init(&s);
	for (char *l = buf, *e; (e = strstr(l, "\r\n")); l = e + 2)
		assert_int_equal(nat_ice_sdp_parse_line(&s, l, (size_t)(e + 2 - l)), NAT_ICE_SDP_OK);
	assert_true(s.lite);
	assert_string_equal(s.ufrag, "F7gI");
	assert_string_equal(s.pwd, "x9cml/YzichV2+XlhiMu8g");
	assert_int_equal(s.n_cands, 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(s.cands[i].foundation, c[i].foundation);
		assert_int_equal(s.cands[i].type, c[i].type);
		assert_int_equal(s.cands[i].component, c[i].component);
		assert_int_equal(s.cands[i].priority, c[i].priority);
		assert_int_equal(s.cands[i].ip, c[i].ip);
		assert_int_equal(s.cands[i].port, c[i].port);
		assert_int_equal(s.cands[i].rel_ip, c[i].rel_ip);
		assert_int_equal(s.cands[i].rel_port, c[i].rel_port);
	}
	/* too small for everything */
	for (size_t cap = 0; cap < (size_t)m; cap += 7)
		assert_int_equal(nat_ice_sdp_media_lines(buf, cap, "F7gI", "x9cml/YzichV2+XlhiMu8g",
							 c, 3), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_candidates),
		cmocka_unit_test(test_other_attributes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_inherit),
		cmocka_unit_test(test_priorities),
		cmocka_unit_test(test_foundations),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
