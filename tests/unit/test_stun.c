/* SPDX-License-Identifier: BSD-3-Clause
 * nat_stun: RFC 5769 test vectors (parse, verify, rebuild byte for byte),
 * builder round trips and strict rejects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "nat/nat_stun.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

/* RFC 5769 section 2, one attribute a line */
static const char *const rfc_req =
	"0001 0058 2112a442 b7e7a701 bc34d686 fa87dfae"
	" 8022 0010 5354554e 20746573 7420636c 69656e74"       /* SOFTWARE "STUN test client" */
	" 0024 0004 6e0001ff"                                  /* PRIORITY */
	" 8029 0008 932ff9b1 51263b36"                         /* ICE-CONTROLLED */
	" 0006 0009 6576746a 3a683676 59202020"                /* USERNAME "evtj:h6vY" */
	" 0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2"
	" 8028 0004 e57a3bcf";
static const char *const rfc_resp4 =
	"0101 003c 2112a442 b7e7a701 bc34d686 fa87dfae"
	" 8022 000b 74657374 20766563 746f7220"                /* SOFTWARE "test vector" */
	" 0020 0008 0001a147 e112a643"                         /* XOR-MAPPED 192.0.2.1:32853 */
	" 0008 0014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7"
	" 8028 0004 c07d4c96";
static const char *const rfc_resp6 =
	"0101 0048 2112a442 b7e7a701 bc34d686 fa87dfae"
	" 8022 000b 74657374 20766563 746f7220"
	" 0020 0014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9"
	" 0008 0014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41"
	" 8028 0004 c8fb0b4c";
static const char *const rfc_ltc =
	"0001 0060 2112a442 78ad3433 c6ad72c0 29da412e"
	" 0006 0012 e3839ee3 8388e383 aae38383 e382afe3 82b90000"   /* USERNAME */
	" 0015 001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341"
	" 0014 000b 6578616d 706c652e 6f726700"                     /* REALM example.org */
	" 0008 0014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666";

static const char *const short_pw = "VOkJxbRl1RmTxUk/WvJxBt";
static const char *const ltc_user = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
static const char *const ltc_nonce = "f//499k954d6OL34oL9FSTvy64sA";

static uint8_t vec[512], out[512];

static size_t unhex(const char *s, uint8_t *o)
{
	size_t n = 0;

	for (; *s; s++) {
		if (*s == ' ')
			continue;
		unsigned v;
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		o[n++] = (uint8_t)v;
		s++;
	}
	return n;
}

static const uint8_t *tid_of(const uint8_t *msg)
{
	return msg + 8;
}

static void assert_text(struct nat_stun_text t, const char *s)
{
	assert_non_null(t.p);
	assert_int_equal(t.len, strlen(s));
	assert_memory_equal(t.p, s, t.len);
}

static void parse_ok(const uint8_t *p, size_t n, struct nat_stun_msg *m)
{
	assert_true(nat_stun_is_stun(p, n));
	assert_int_equal(nat_stun_parse(p, n, m), 0);
	assert_int_equal(m->n_unknown, 0);
}

static void assert_short_term(const struct nat_stun_msg *m)
{
	assert_int_equal(nat_stun_check_integrity(m, (const uint8_t *)short_pw, strlen(short_pw)), 0);
	assert_int_equal(nat_stun_check_integrity(m, (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBT", 22), -1);
}

static void test_rfc_request(void **state)
{
	(void)state;
	struct nat_stun_msg m;
	size_t n = unhex(rfc_req, vec);

	assert_int_equal(n, 108);
	parse_ok(vec, n, &m);
	assert_int_equal(m.cls, NAT_STUN_REQUEST);
	assert_int_equal(m.method, NAT_STUN_BINDING);
	assert_memory_equal(m.tid, vec + 8, NAT_STUN_TID_LEN);
	assert_text(m.software, "STUN test client");
	assert_text(m.username, "evtj:h6vY");
	assert_int_equal(m.flags, NAT_STUN_F_PRIORITY | NAT_STUN_F_ICE_CONTROLLED);
	assert_int_equal(m.priority, 0x6e0001ff);
	assert_true(m.tiebreaker == 0x932ff9b151263b36ull);
	assert_int_equal(m.mi_off, 76);
	assert_int_equal(m.fp_off, 100);
	assert_int_equal(m.mi256_off, 0);
	assert_int_equal(m.xor_mapped.family, NAT_STUN_FAM_NONE);
	assert_short_term(&m);
}

static void test_rfc_resp4(void **state)
{
	(void)state;
	struct nat_stun_msg m;
	size_t n = unhex(rfc_resp4, vec);

	parse_ok(vec, n, &m);
	assert_int_equal(m.cls, NAT_STUN_SUCCESS);
	assert_int_equal(m.method, NAT_STUN_BINDING);
	assert_text(m.software, "test vector");
	assert_int_equal(m.xor_mapped.family, NAT_STUN_FAM_IPV4);
	assert_int_equal(m.xor_mapped.ip4, IP(192, 0, 2, 1));
	assert_int_equal(m.xor_mapped.port, 32853);
	assert_short_term(&m);
}

static const uint8_t rfc_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
				     0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 };

static void test_rfc_resp6(void **state)
{
	(void)state;
	struct nat_stun_msg m;
	size_t n = unhex(rfc_resp6, vec);

	parse_ok(vec, n, &m);
	assert_int_equal(m.xor_mapped.family, NAT_STUN_FAM_IPV6);
	assert_memory_equal(m.xor_mapped.ip6, rfc_ip6, 16);
	assert_int_equal(m.xor_mapped.port, 32853);
	assert_short_term(&m);
}

static void ltc_key(uint8_t key[NAT_STUN_LT_KEY_LEN])
{
	assert_int_equal(nat_stun_long_term_key(ltc_user, "example.org", "TheMatrIX", key), 0);
}

static void test_rfc_long_term(void **state)
{
	(void)state;
	struct nat_stun_msg m;
	uint8_t key[NAT_STUN_LT_KEY_LEN], bad[NAT_STUN_LT_KEY_LEN];
	size_t n = unhex(rfc_ltc, vec);

	parse_ok(vec, n, &m);
	assert_text(m.username, ltc_user);
	assert_text(m.nonce, ltc_nonce);
	assert_text(m.realm, "example.org");
	assert_int_equal(m.fp_off, 0);
	ltc_key(key);
	assert_int_equal(nat_stun_check_integrity(&m, key, sizeof(key)), 0);
	assert_int_equal(nat_stun_long_term_key(ltc_user, "example.org", "TheMatrix", bad), 0);
	assert_int_equal(nat_stun_check_integrity(&m, bad, sizeof(bad)), -1);
	/* a flipped MAC byte fails; nothing else notices without FINGERPRINT */
	vec[n - 1] ^= 1;
	parse_ok(vec, n, &m);
	assert_int_equal(nat_stun_check_integrity(&m, key, sizeof(key)), -1);
}

/* Rebuild a vector from its fields; padding is spaces in 2.1-2.3. */
static void rebuild_cmp(int len, const char *hex)
{
	size_t n = unhex(hex, vec);

	assert_int_equal(len, (int)n);
	assert_memory_equal(out, vec, n);
}

static void start_like(struct nat_stun_builder *b, const char *hex, enum nat_stun_class cls)
{
	unhex(hex, vec);
	assert_int_equal(nat_stun_start(b, out, sizeof(out), cls, NAT_STUN_BINDING, tid_of(vec)), 20);
	b->pad = ' ';
}

static void test_rebuild_request(void **state)
{
	(void)state;
	struct nat_stun_builder b;

	start_like(&b, rfc_req, NAT_STUN_REQUEST);
	nat_stun_add_str(&b, NAT_STUN_A_SOFTWARE, "STUN test client");
	nat_stun_add_u32(&b, NAT_STUN_A_PRIORITY, 0x6e0001ff);
	nat_stun_add_u64(&b, NAT_STUN_A_ICE_CONTROLLED, 0x932ff9b151263b36ull);
	nat_stun_add_str(&b, NAT_STUN_A_USERNAME, "evtj:h6vY");
	nat_stun_add_integrity(&b, (const uint8_t *)short_pw, strlen(short_pw));
	rebuild_cmp(nat_stun_add_fingerprint(&b), rfc_req);
}

static void rebuild_response(const struct nat_stun_addr *a, const char *hex)
{
	struct nat_stun_builder b;

	start_like(&b, hex, NAT_STUN_SUCCESS);
	nat_stun_add_str(&b, NAT_STUN_A_SOFTWARE, "test vector");
	nat_stun_add_xor_addr(&b, NAT_STUN_A_XOR_MAPPED_ADDRESS, a);
	nat_stun_add_integrity(&b, (const uint8_t *)short_pw, strlen(short_pw));
	rebuild_cmp(nat_stun_add_fingerprint(&b), hex);
}

static void test_rebuild_responses(void **state)
{
	(void)state;
	struct nat_stun_addr a4 = { .family = NAT_STUN_FAM_IPV4, .port = 32853,
				    .ip4 = IP(192, 0, 2, 1) };
	struct nat_stun_addr a6 = { .family = NAT_STUN_FAM_IPV6, .port = 32853 };

	memcpy(a6.ip6, rfc_ip6, 16);
	rebuild_response(&a4, rfc_resp4);
	rebuild_response(&a6, rfc_resp6);
}

static void test_rebuild_long_term(void **state)
{
	(void)state;
	struct nat_stun_builder b;
	uint8_t key[NAT_STUN_LT_KEY_LEN];

	ltc_key(key);
	start_like(&b, rfc_ltc, NAT_STUN_REQUEST);
	b.pad = 0;
	nat_stun_add_str(&b, NAT_STUN_A_USERNAME, ltc_user);
	nat_stun_add_str(&b, NAT_STUN_A_NONCE, ltc_nonce);
	nat_stun_add_str(&b, NAT_STUN_A_REALM, "example.org");
	rebuild_cmp(nat_stun_add_integrity(&b, key, sizeof(key)), rfc_ltc);
}

static int parse_err(const uint8_t *p, size_t n)
{
	struct nat_stun_msg m;

	return -nat_stun_parse(p, n, &m);
}

static void test_reject_framing(void **state)
{
	(void)state;
	size_t n = unhex(rfc_resp4, vec);

	assert_int_equal(parse_err(vec, 19), NAT_STUN_E_SHORT);
	assert_int_equal(parse_err(vec, 0), NAT_STUN_E_SHORT);
	assert_int_equal(parse_err(vec, n - 4), NAT_STUN_E_LENGTH);  /* truncated */
	vec[3] = 0x3d;                                                /* 61: not 4-aligned */
	assert_int_equal(parse_err(vec, n + 1), NAT_STUN_E_LENGTH);
	assert_false(nat_stun_is_stun(vec, n + 1));
	vec[3] = 0x3c;
	vec[0] |= 0x80;
	assert_int_equal(parse_err(vec, n), NAT_STUN_E_NOT_STUN);
	assert_false(nat_stun_is_stun(vec, n));
	vec[0] &= 0x3f;
	vec[7] ^= 1;                                                  /* cookie */
	assert_false(nat_stun_is_stun(vec, n));
	assert_int_equal(parse_err(vec, n), NAT_STUN_E_FINGERPRINT); /* the CRC covers it */
}

static void test_reject_attrs(void **state)
{
	(void)state;
	size_t n = unhex(rfc_resp4, vec);

	vec[n - 1] ^= 1;
	assert_int_equal(parse_err(vec, n), NAT_STUN_E_FINGERPRINT);
	vec[n - 1] ^= 1;
	vec[40] ^= 1;                                                /* inside MI */
	assert_int_equal(parse_err(vec, n), NAT_STUN_E_FINGERPRINT);
	vec[40] ^= 1;
	vec[23] = 0xff;                                              /* SOFTWARE length */
	assert_int_equal(parse_err(vec, n), NAT_STUN_E_ATTR_OVERRUN);
	vec[23] = 0x0b;
	vec[39] = 0x07;                                              /* XOR-MAPPED length 7 */
	assert_int_equal(parse_err(vec, n), NAT_STUN_E_ATTR_VALUE);
	vec[39] = 0x08;
	/* an attribute after FINGERPRINT, header length updated */
	memcpy(vec + n, "\x80\x22\x00\x01x\0\0\0", 8);
	vec[3] += 8;
	assert_int_equal(parse_err(vec, n + 8), NAT_STUN_E_AFTER_FINGERPRINT);
}

static const uint8_t tid0[NAT_STUN_TID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static void start_req(struct nat_stun_builder *b, size_t cap)
{
	nat_stun_start(b, out, cap, NAT_STUN_REQUEST, NAT_STUN_BINDING, tid0);
}

static void test_after_integrity_ignored(void **state)
{
	(void)state;
	struct nat_stun_builder b;
	struct nat_stun_addr a = { .family = NAT_STUN_FAM_IPV4, .port = 1234, .ip4 = 0xc0000207 };
	struct nat_stun_addr got;
	uint16_t l;

	/* RFC 8489 14.5: what follows MESSAGE-INTEGRITY (but SHA256 and FINGERPRINT)
	 * is ignored: the message parses and verifies, the trailing attributes are
	 * neither used nor listed as unknown */
	start_req(&b, sizeof(out));
	nat_stun_add_xor_addr(&b, NAT_STUN_A_XOR_MAPPED_ADDRESS, &a);
	nat_stun_add_integrity(&b, (const uint8_t *)"k", 1);
	nat_stun_add_str(&b, NAT_STUN_A_SOFTWARE, "late");
	nat_stun_add_raw(&b, 0x0777, NULL, 0); /* comprehension-required, unknown */
	int len = nat_stun_add_fingerprint(&b);
	struct nat_stun_msg m;
	assert_int_equal(nat_stun_parse(out, (size_t)len, &m), 0);
	assert_int_equal(m.n_unknown, 0);
	assert_int_equal(nat_stun_check_integrity(&m, (const uint8_t *)"k", 1), 0);
	assert_null(nat_stun_find(&m, NAT_STUN_A_SOFTWARE, &l));
	assert_int_equal(nat_stun_find_xor_addr(&m, NAT_STUN_A_XOR_MAPPED_ADDRESS, &got), 0);
	assert_int_equal(got.port, 1234);

	/* SHA256 may follow SHA1, then only FINGERPRINT; all three verify */
	start_req(&b, sizeof(out));
	nat_stun_add_integrity(&b, (const uint8_t *)"k", 1);
	nat_stun_add_integrity_sha256(&b, (const uint8_t *)"k", 1);
	len = nat_stun_add_fingerprint(&b);
	assert_int_equal(nat_stun_parse(out, (size_t)len, &m), 0);
	assert_int_equal(m.mi_off, 20);
	assert_int_equal(m.mi256_off, 44);
	assert_int_equal(nat_stun_check_integrity(&m, (const uint8_t *)"k", 1), 0);
	assert_int_equal(nat_stun_check_integrity(&m, (const uint8_t *)"K", 1), -1);
	assert_int_equal(parse_err(out, (size_t)len - 8), NAT_STUN_E_LENGTH);

	/* with both, SHA256 is the one checked */
	start_req(&b, sizeof(out));
	nat_stun_add_integrity(&b, (const uint8_t *)"x", 1);
	len = nat_stun_add_integrity_sha256(&b, (const uint8_t *)"k", 1);
	assert_int_equal(nat_stun_parse(out, (size_t)len, &m), 0);
	assert_int_equal(nat_stun_check_integrity(&m, (const uint8_t *)"k", 1), 0);
	assert_int_equal(nat_stun_check_integrity(&m, (const uint8_t *)"x", 1), -1);
	/* SHA1 after SHA256 is ignored: SHA256 is checked */
	start_req(&b, sizeof(out));
	nat_stun_add_integrity_sha256(&b, (const uint8_t *)"k", 1);
	len = nat_stun_add_integrity(&b, (const uint8_t *)"x", 1);
	assert_int_equal(nat_stun_parse(out, (size_t)len, &m), 0);
	assert_int_equal(m.mi_off, 0);
	assert_int_equal(nat_stun_check_integrity(&m, (const uint8_t *)"k", 1), 0);
}

static void test_unknown_listed(void **state)
{
	(void)state;
	struct nat_stun_builder b;
	struct nat_stun_msg m;

	start_req(&b, sizeof(out));
	nat_stun_add_raw(&b, 0x7777, "ab", 2);
	nat_stun_add_raw(&b, 0xC001, "x", 1);      /* comprehension-optional */
	nat_stun_add_raw(&b, 0x0777, NULL, 0);
	int len = nat_stun_add_raw(&b, 0x7777, "cd", 2);
	assert_int_equal(nat_stun_parse(out, (size_t)len, &m), 0);
	assert_int_equal(m.n_unknown, 2);
	assert_int_equal(m.unknown[0], 0x7777);
	assert_int_equal(m.unknown[1], 0x0777);
	assert_int_equal(nat_stun_check_integrity(&m, (const uint8_t *)"k", 1), -2);

	uint16_t l = 0;
	const uint8_t *v = nat_stun_find(&m, 0xC001, &l);
	assert_non_null(v);
	assert_int_equal(l, 1);
	assert_int_equal(v[0], 'x');
	assert_null(nat_stun_find(&m, 0x1234, &l));

	/* the 420 answer carries them back */
	nat_stun_start(&b, out, sizeof(out), NAT_STUN_ERROR_RESP, NAT_STUN_BINDING, tid0);
	nat_stun_add_error(&b, 420, "Unknown Attribute");
	len = nat_stun_add_unknown(&b, (uint16_t[]){ 0x7777, 0x0777 }, 2);
	assert_int_equal(nat_stun_parse(out, (size_t)len, &m), 0);
	assert_int_equal(m.cls, NAT_STUN_ERROR_RESP);
	assert_int_equal(m.error_code, 420);
	assert_text(m.error_reason, "Unknown Attribute");
	v = nat_stun_find(&m, NAT_STUN_A_UNKNOWN_ATTRIBUTES, &l);
	assert_int_equal(l, 4);
	assert_memory_equal(v, "\x77\x77\x07\x77", 4);
}

static void assert_addr(const struct nat_stun_addr *got, const struct nat_stun_addr *want)
{
	assert_int_equal(got->family, want->family);
	assert_int_equal(got->port, want->port);
	if (want->family == NAT_STUN_FAM_IPV4)
		assert_int_equal(got->ip4, want->ip4);
	else
		assert_memory_equal(got->ip6, want->ip6, 16);
}

static void test_addresses_round_trip(void **state)
{
	(void)state;
	struct nat_stun_builder b;
	struct nat_stun_msg m;
	struct nat_stun_addr o = { .family = NAT_STUN_FAM_IPV4, .port = 3479,
				   .ip4 = IP(198, 51, 100, 2) };
	struct nat_stun_addr r = { .family = NAT_STUN_FAM_IPV6, .port = 3478 };

	memcpy(r.ip6, rfc_ip6, 16);
	nat_stun_start(&b, out, sizeof(out), NAT_STUN_SUCCESS, NAT_STUN_BINDING, tid0);
	nat_stun_add_addr(&b, NAT_STUN_A_MAPPED_ADDRESS, &o);
	nat_stun_add_addr(&b, NAT_STUN_A_OTHER_ADDRESS, &o);
	nat_stun_add_addr(&b, NAT_STUN_A_RESPONSE_ORIGIN, &r);
	nat_stun_add_xor_addr(&b, NAT_STUN_A_XOR_MAPPED_ADDRESS, &r);
	nat_stun_add_u32(&b, NAT_STUN_A_CHANGE_REQUEST, NAT_STUN_CHANGE_IP);
	nat_stun_add_raw(&b, NAT_STUN_A_USE_CANDIDATE, NULL, 0);
	int len = nat_stun_add_u64(&b, NAT_STUN_A_ICE_CONTROLLING, 42);
	assert_int_equal(nat_stun_parse(out, (size_t)len, &m), 0);
	assert_addr(&m.mapped, &o);
	assert_addr(&m.other_address, &o);
	assert_addr(&m.response_origin, &r);
	assert_addr(&m.xor_mapped, &r);
	assert_int_equal(m.change_request, NAT_STUN_CHANGE_IP);
	assert_int_equal(m.flags, NAT_STUN_F_CHANGE_REQUEST | NAT_STUN_F_USE_CANDIDATE |
				  NAT_STUN_F_ICE_CONTROLLING);
	assert_true(m.tiebreaker == 42);
}

static void test_builder_limits(void **state)
{
	(void)state;
	struct nat_stun_builder b;
	struct nat_stun_addr none = { 0 };

	assert_int_equal(nat_stun_start(&b, out, 19, NAT_STUN_REQUEST, NAT_STUN_BINDING, tid0), -1);
	assert_int_equal(nat_stun_add_fingerprint(&b), -1);
	assert_int_equal(nat_stun_start(&b, out, 20, NAT_STUN_REQUEST, 0x1000, tid0), -1);
	start_req(&b, 28);
	assert_int_equal(nat_stun_add_u32(&b, NAT_STUN_A_PRIORITY, 1), 28);
	assert_int_equal(nat_stun_add_fingerprint(&b), -1);      /* full */
	start_req(&b, 64);
	assert_int_equal(nat_stun_add_raw(&b, 0x8001, "12345", 5), 32);
	assert_int_equal(nat_stun_add_raw(&b, 0x8001, out, 33), -1);
	assert_int_equal(nat_stun_add_u32(&b, NAT_STUN_A_PRIORITY, 1), -1);  /* sticky */
	start_req(&b, 64);
	assert_int_equal(nat_stun_add_addr(&b, NAT_STUN_A_MAPPED_ADDRESS, &none), -1);
	start_req(&b, 64);
	assert_int_equal(nat_stun_add_error(&b, 299, NULL), -1);
	start_req(&b, 64);
	assert_int_equal(nat_stun_add_error(&b, 699, NULL), 28);
	/* the 16-bit length bounds a message whatever the buffer */
	static uint8_t big[70000];
	static const uint8_t data[65528];
	nat_stun_start(&b, big, sizeof(big), NAT_STUN_INDICATION, NAT_STUN_SEND, tid0);
	assert_int_equal(nat_stun_add_raw(&b, 0x0013, data, sizeof(data)), 20 + 65532);
	assert_int_equal(nat_stun_add_raw(&b, 0x0013, NULL, 0), -1);
	struct nat_stun_msg m;
	assert_int_equal(nat_stun_parse(big, 20 + 65532, &m), 0);
	assert_int_equal(m.cls, NAT_STUN_INDICATION);
	assert_int_equal(m.method, NAT_STUN_SEND);
	assert_int_equal(m.n_unknown, 1);
}

static void test_classic(void **state)
{
	(void)state;
	struct nat_stun_builder b;
	struct nat_stun_msg m;
	struct nat_stun_addr a = { .family = NAT_STUN_FAM_IPV4, .port = 1, .ip4 = 2 };

	nat_stun_start(&b, out, sizeof(out), NAT_STUN_SUCCESS, NAT_STUN_BINDING, tid0);
	nat_stun_add_addr(&b, NAT_STUN_A_MAPPED_ADDRESS, &a);
	int len = nat_stun_add_xor_addr(&b, NAT_STUN_A_XOR_MAPPED_ADDRESS, &a);
	out[4] = 0x55;
	assert_false(nat_stun_is_stun(out, (size_t)len));
	assert_int_equal(nat_stun_parse(out, (size_t)len, &m), -NAT_STUN_E_CLASSIC);
	assert_true(m.classic);
	assert_int_equal(m.cls, NAT_STUN_SUCCESS);
	assert_int_equal(m.mapped.ip4, 2);
	assert_int_equal(m.xor_mapped.family, NAT_STUN_FAM_NONE);
}

static void test_bad_values(void **state)
{
	(void)state;
	static const struct { uint16_t type; const char *val; uint16_t len; } bad[] = {
		{ NAT_STUN_A_ERROR_CODE, "\0\0\x02\x00", 4 },         /* class 2 */
		{ NAT_STUN_A_ERROR_CODE, "\0\0\x04\x64", 4 },         /* number 100 */
		{ NAT_STUN_A_ERROR_CODE, "\0\0\x04", 3 },
		{ NAT_STUN_A_PRIORITY, "\0\0\0", 3 },
		{ NAT_STUN_A_ICE_CONTROLLED, "\0\0\0\0", 4 },
		{ NAT_STUN_A_USE_CANDIDATE, "\0", 1 },
		{ NAT_STUN_A_MESSAGE_INTEGRITY, "\0", 1 },
		{ NAT_STUN_A_MESSAGE_INTEGRITY_SHA256, "0123456789abcdef01", 18 },
		{ NAT_STUN_A_MESSAGE_INTEGRITY_SHA256, "0123456789ab", 12 },
		{ NAT_STUN_A_MAPPED_ADDRESS, "\0\x03\0\0\0\0\0\0", 8 },  /* family 3 */
		{ NAT_STUN_A_FINGERPRINT, "\0\0", 2 },
	};
	struct nat_stun_builder b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		start_req(&b, sizeof(out));
		int len = nat_stun_add_raw(&b, bad[i].type, bad[i].val, bad[i].len);
		assert_int_equal(parse_err(out, (size_t)len), NAT_STUN_E_ATTR_VALUE);
	}
	/* truncated SHA256 MACs of 16..28 bytes are legal */
	start_req(&b, sizeof(out));
	int len = nat_stun_add_raw(&b, NAT_STUN_A_MESSAGE_INTEGRITY_SHA256, out, 16);
	assert_int_equal(parse_err(out, (size_t)len), 0);
	/* a long USERNAME is refused */
	static char user[600];
	memset(user, 'u', sizeof(user) - 1);
	uint8_t big[700];
	nat_stun_start(&b, big, sizeof(big), NAT_STUN_REQUEST, NAT_STUN_BINDING, tid0);
	len = nat_stun_add_str(&b, NAT_STUN_A_USERNAME, user);
	assert_int_equal(parse_err(big, (size_t)len), NAT_STUN_E_ATTR_VALUE);
}

/* RFC 8489 14.6: a MAC cut to 16 bytes, computed with the length field
 * ending at the cut attribute */
static void test_truncated_sha256_verifies(void **state)
{
	(void)state;
	struct nat_stun_builder b;
	struct nat_stun_msg m;
	uint8_t mac[32] = { 0 };
	size_t n = 0;

	start_req(&b, sizeof(out));
	nat_stun_add_str(&b, NAT_STUN_A_SOFTWARE, "x");
	int len = nat_stun_add_raw(&b, NAT_STUN_A_MESSAGE_INTEGRITY_SHA256, mac, 16);
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, "pw", 2, out,
				  (size_t)len - 20, mac, sizeof(mac), &n));
	memcpy(out + len - 16, mac, 16);
	assert_int_equal(nat_stun_parse(out, (size_t)len, &m), 0);
	assert_int_equal(nat_stun_check_integrity(&m, (const uint8_t *)"pw", 2), 0);
	assert_int_equal(nat_stun_check_integrity(&m, (const uint8_t *)"pW", 2), -1);
}

static void test_channel_data(void **state)
{
	(void)state;
	uint16_t ch = 0, n = 0;
	const uint8_t cd[] = { 0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0 };

	assert_true(nat_stun_is_channel_data(cd, 9, &ch, &n));
	assert_int_equal(ch, 0x4001);
	assert_int_equal(n, 5);
	assert_true(nat_stun_is_channel_data(cd, 12, &ch, &n));   /* padded */
	assert_false(nat_stun_is_channel_data(cd, 8, &ch, &n));   /* short */
	assert_false(nat_stun_is_channel_data(cd, 3, &ch, &n));
	const uint8_t hi[] = { 0x50, 0x00, 0x00, 0x00 };           /* reserved range */
	assert_false(nat_stun_is_channel_data(hi, 4, &ch, &n));
	const uint8_t big[] = { 0x4f, 0xff, 0x00, 0x00, 0, 0, 0, 0 };
	assert_false(nat_stun_is_channel_data(big, 8, &ch, &n));  /* too much padding */
	assert_true(nat_stun_is_channel_data(big, 4, &ch, &n));
	assert_int_equal(ch, 0x4fff);
	size_t len = unhex(rfc_req, vec);
	assert_false(nat_stun_is_channel_data(vec, len, &ch, &n));
}

static void test_err_names(void **state)
{
	(void)state;
	for (int e = 0; e < NAT_STUN_E_COUNT; e++) {
		assert_non_null(nat_stun_err_name(-e));
		assert_string_not_equal(nat_stun_err_name(-e), "unknown error");
	}
	assert_string_equal(nat_stun_err_name(-NAT_STUN_E_COUNT), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_request),
		cmocka_unit_test(test_rfc_resp4),
		cmocka_unit_test(test_rfc_resp6),
		cmocka_unit_test(test_rfc_long_term),
		cmocka_unit_test(test_rebuild_request),
		cmocka_unit_test(test_rebuild_responses),
		cmocka_unit_test(test_rebuild_long_term),
		cmocka_unit_test(test_reject_framing),
		cmocka_unit_test(test_reject_attrs),
		cmocka_unit_test(test_after_integrity_ignored),
		cmocka_unit_test(test_unknown_listed),
		cmocka_unit_test(test_addresses_round_trip),
		cmocka_unit_test(test_builder_limits),
		cmocka_unit_test(test_classic),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_truncated_sha256_verifies),
		cmocka_unit_test(test_channel_data),
		cmocka_unit_test(test_err_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
