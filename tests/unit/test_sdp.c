/* SPDX-License-Identifier: BSD-3-Clause
 * cp_sdp: SIPREC offers parsed with libosip2, answers built for recording. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ut_data.h"

#include "controlplane/siprec/cp_sdp.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))


static struct cp_sdp_offer off, off2;

static int parse(const char *s, struct cp_sdp_offer *o, const char **why)
{
	return cp_sdp_parse_offer(s, strlen(s), o, why);
}

static void load_offer(struct cp_sdp_offer *o)
{
	const char *why = NULL;
	size_t len;
	char *sdp = ut_slurp("offer_2streams.sdp", &len);

	assert_int_equal(cp_sdp_parse_offer(sdp, len, o, &why), 0);
	free(sdp);
}

static void test_two_streams(void **state)
{
	(void)state;
	load_offer(&off);

	assert_int_equal(off.ip, IP(198, 51, 100, 10));
	assert_int_equal(off.n_streams, 2);

	const struct cp_sdp_stream *a = &off.streams[0], *b = &off.streams[1];
	assert_string_equal(a->media, "audio");
	assert_string_equal(a->proto, "RTP/AVP");
	assert_int_equal(a->ip, IP(198, 51, 100, 20));   /* media-level c= */
	assert_int_equal(a->port, 30000);
	assert_int_equal(a->dir, CP_SDP_SENDONLY);
	assert_int_equal(a->rtcp_mux, 1);
	assert_string_equal(a->label, "1");
	assert_string_equal(a->fmts, "8 0 101");
	assert_int_equal(a->n_attrs, 5);
	assert_string_equal(a->attrs[0], "rtpmap:8 PCMA/8000");
	assert_string_equal(a->attrs[1], "rtpmap:0 PCMU/8000");
	assert_string_equal(a->attrs[2], "rtpmap:101 telephone-event/8000");
	assert_string_equal(a->attrs[3], "fmtp:101 0-15");
	assert_string_equal(a->attrs[4], "ptime:20");

	assert_int_equal(b->ip, IP(198, 51, 100, 10));   /* session-level c= */
	assert_int_equal(b->port, 30002);
	assert_int_equal(b->dir, CP_SDP_SENDONLY);
	assert_int_equal(b->rtcp_mux, 0);
	assert_string_equal(b->label, "2");
	assert_string_equal(b->fmts, "8 101");
	assert_int_equal(b->n_attrs, 3);
	assert_string_equal(b->attrs[2], "fmtp:101 0-15");
}

/* The RTP clock that jitter is measured in: the first format's rtpmap, a
 * static payload type's (RFC 3551), else 8000. */
static void test_clock_rate(void **state)
{
	const char *why = NULL;
	(void)state;

	assert_int_equal(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n"
			       "t=0 0\r\n"
			       "m=audio 4000 RTP/AVP 111 0\r\na=rtpmap:0 PCMU/8000\r\n"
			       "a=rtpmap:111 opus/48000/2\r\n"
			       "m=audio 4002 RTP/AVP 97 101\r\na=rtpmap:97 AMR-WB/16000\r\n"
			       "m=audio 4004 RTP/AVP 9\r\n"
			       "m=audio 4006 RTP/AVP 6 0\r\n"
			       "m=audio 4008 RTP/AVP 96\r\n"
			       "m=audio 4010 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n",
			       &off, &why), 0);
	assert_int_equal(off.n_streams, 6);
	assert_int_equal(off.streams[0].clock_rate, 48000);
	assert_int_equal(off.streams[1].clock_rate, 16000);
	assert_int_equal(off.streams[2].clock_rate, 8000);  /* G.722's RTP clock */
	assert_int_equal(off.streams[3].clock_rate, 16000); /* DVI4/16000 */
	assert_int_equal(off.streams[4].clock_rate, 8000);  /* no rtpmap */
	assert_int_equal(off.streams[5].clock_rate, 8000);
}

static void test_disabled_and_directions(void **state)
{
	static const char sdp[] =
		"v=0\n"
		"o=- 1 1 IN IP4 192.0.2.1\n"
		"s=-\n"
		"t=0 0\n"
		"a=inactive\n"
		"m=audio 0 RTP/AVP 0\n"
		"c=IN IP4 192.0.2.2\n"
		"a=label:98765432109876543210\n"
		"m=audio 4000 RTP/AVP 9\n"
		"c=IN IP4 0.0.0.0\n"
		"a=rtpmap:9 G722/8000\n"
		"a=sendrecv\n"
		"m=video 5000 RTP/AVP 96\n"
		"c=IN IP6 2001:db8::1\n"
		"a=label:vid\n"
		"a=recvonly\n"
		"m=audio 6000 RTP/SAVP 18\n"
		"c=IN IP4 192.0.2.3\n"
		"a=fmtp:18 annexb=no";   /* no final line end */
	const char *why = NULL;
	(void)state;

	assert_int_equal(parse(sdp, &off, &why), 0);
	assert_int_equal(off.ip, 0);
	assert_int_equal(off.n_streams, 4);
	assert_int_equal(off.streams[0].port, 0);
	assert_int_equal(off.streams[0].ip, IP(192, 0, 2, 2));
	assert_int_equal(off.streams[0].dir, CP_SDP_INACTIVE); /* session-level */
	assert_string_equal(off.streams[0].label, "98765432109876543210");
	assert_int_equal(off.streams[1].ip, 0);                /* hold style c= */
	assert_int_equal(off.streams[1].dir, CP_SDP_SENDRECV);
	assert_string_equal(off.streams[1].attrs[0], "rtpmap:9 G722/8000");
	assert_string_equal(off.streams[2].media, "video");
	assert_int_equal(off.streams[2].ip, 0);                /* IPv6: not ours */
	assert_int_equal(off.streams[2].dir, CP_SDP_RECVONLY);
	assert_string_equal(off.streams[3].proto, "RTP/SAVP");
	assert_string_equal(off.streams[3].attrs[0], "fmtp:18 annexb=no");
	assert_int_equal(off.streams[3].dir, CP_SDP_INACTIVE);

	/* control characters are never echoed: such attributes are dropped */
	assert_int_equal(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n"
			       "t=0 0\r\nm=audio 7000 RTP/AVP 0 8\r\na=label:x\x01y\r\n"
			       "a=rtpmap:0 PCMU/8000\x7f\r\na=rtpmap:8 PCMA/8000\r\n", &off, &why), 0);
	assert_string_equal(off.streams[0].label, "");
	assert_int_equal(off.streams[0].n_attrs, 1);
	assert_string_equal(off.streams[0].attrs[0], "rtpmap:8 PCMA/8000");

	/* no direction anywhere: sendonly (issue 10) */
	assert_int_equal(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n"
			       "t=0 0\r\nm=audio 7000 RTP/AVP 0\r\n", &off, &why), 0);
	assert_int_equal(off.streams[0].dir, CP_SDP_SENDONLY);
	assert_int_equal(off.streams[0].n_attrs, 0);
	assert_string_equal(off.streams[0].label, "");
}

static void test_malformed(void **state)
{
	const char *why = NULL;
	char big[4096];
	size_t o = 0;
	(void)state;

	assert_int_equal(parse("hello world", &off, &why), -1);
	assert_non_null(why);
	why = NULL;
	assert_int_equal(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
			       "m=audio 70000 RTP/AVP 0\r\n", &off, &why), -1);
	assert_string_equal(why, "bad port in m= line");
	assert_int_equal(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
			       "m=audio x RTP/AVP 0\r\n", &off, &why), -1);
	assert_int_equal(off.n_streams, 0);
	assert_int_equal(cp_sdp_parse_offer("", 0, &off, &why), -1);
	assert_string_equal(why, "empty SDP");
	assert_int_equal(cp_sdp_parse_offer("v=0\0x", 5, &off, &why), -1);

	/* fuzz finding: libosip2 read past the buffer on a short, LF-ended last
	 * m= line; refused before it gets there */
	assert_int_equal(parse("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=video 5000 cvonly\n",
			       &off, &why), -1);
	assert_string_equal(why, "malformed m= line");
	assert_int_equal(parse("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=audio 0 \xff\xffRTP/AVP 0\n"
			       "m=video 50\x98\x98\x98" "00 cvonly\n", &off, &why), -1);
	assert_int_equal(parse("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=audio 5000 RTP/AVP\n",
			       &off, &why), -1);
	assert_string_equal(why, "malformed m= line");

	o += (size_t)snprintf(big + o, sizeof(big) - o,
			      "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n");
	for (int i = 0; i < CP_SDP_MAX_STREAMS + 1; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o,
				      "m=audio %d RTP/AVP 0\r\na=label:%d\r\n", 10000 + 2 * i, i);
	assert_int_equal(cp_sdp_parse_offer(big, o, &off, &why), -1);
	assert_string_equal(why, "too many streams");
}

static const char expected_answer[] =
	"v=0\r\n"
	"o=rtprec 1234 1 IN IP4 10.0.0.5\r\n"
	"s=rtprec\r\n"
	"c=IN IP4 10.0.0.5\r\n"
	"t=0 0\r\n"
	"m=audio 40000 RTP/AVP 8 0 101\r\n"
	"a=label:1\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=ptime:20\r\n"
	"a=rtcp-mux\r\n"
	"a=recvonly\r\n"
	"m=audio 40002 RTP/AVP 8 101\r\n"
	"a=label:2\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=recvonly\r\n";

static void test_answer(void **state)
{
	static const uint16_t ports[] = { 40000, 40002 };
	static const enum cp_sdp_dir dirs[] = { CP_SDP_RECVONLY, CP_SDP_RECVONLY };
	char out[2048];
	(void)state;

	load_offer(&off);
	int n = cp_sdp_build_answer(&off, IP(10, 0, 0, 5), ports, dirs, 1234, 1, out, sizeof(out));
	assert_int_equal(n, (int)strlen(expected_answer));
	assert_string_equal(out, expected_answer);
	/* dirs NULL: recvonly */
	char out2[2048];
	assert_int_equal(cp_sdp_build_answer(&off, IP(10, 0, 0, 5), ports, NULL, 1234, 1, out2,
					     sizeof(out2)), n);
	assert_string_equal(out2, expected_answer);
}

/* Behind a NAT that moves ports: a=rtcp (RFC 3605) when RTCP's public port is not RTP's
 * + 1; nothing when it is, or when none is known. */
static void test_answer_rtcp_port(void **state)
{
	static const uint16_t ports[] = { 21000, 21002 };
	static const uint16_t moved[] = { 24567, 24569 }; /* stream 1 has rtcp-mux */
	static const uint16_t kept[] = { 24567, 21003 };
	char out[2048];
	(void)state;

	load_offer(&off);
	assert_true(cp_sdp_build_answer_nat(&off, IP(10, 0, 0, 5), ports, moved, NULL, 1, 1, out,
					    sizeof(out)) > 0);
	assert_non_null(strstr(out, "a=fmtp:101 0-15\r\na=rtcp:24569\r\na=recvonly\r\n"));
	assert_null(strstr(out, "a=rtcp:24567"));
	assert_true(cp_sdp_build_answer_nat(&off, IP(10, 0, 0, 5), ports, kept, NULL, 1, 1, out,
					    sizeof(out)) > 0);
	assert_null(strstr(out, "a=rtcp:"));
}

static void test_answer_reject_and_pause(void **state)
{
	static const uint16_t ports[] = { 0, 40002 };
	static const enum cp_sdp_dir dirs[] = { CP_SDP_RECVONLY, CP_SDP_INACTIVE };
	static const char want[] =
		"v=0\r\n"
		"o=rtprec 18446744073709551615 2 IN IP4 192.168.1.254\r\n"
		"s=rtprec\r\n"
		"c=IN IP4 192.168.1.254\r\n"
		"t=0 0\r\n"
		"m=audio 0 RTP/AVP 8 0 101\r\n"
		"a=label:1\r\n"
		"m=audio 40002 RTP/AVP 8 101\r\n"
		"a=label:2\r\n"
		"a=rtpmap:8 PCMA/8000\r\n"
		"a=rtpmap:101 telephone-event/8000\r\n"
		"a=fmtp:101 0-15\r\n"
		"a=inactive\r\n";
	char out[1024];
	(void)state;

	load_offer(&off);
	assert_int_equal(cp_sdp_build_answer(&off, IP(192, 168, 1, 254), ports, dirs, UINT64_MAX, 2,
					     out, sizeof(out)), (int)strlen(want));
	assert_string_equal(out, want);

	/* a stream the offerer disabled stays disabled whatever port we pick */
	off.streams[1].port = 0;
	static const uint16_t ports2[] = { 40000, 40002 };
	assert_true(cp_sdp_build_answer(&off, IP(192, 168, 1, 254), ports2, dirs, 1, 1, out,
					sizeof(out)) > 0);
	assert_non_null(strstr(out, "m=audio 40000 RTP/AVP 8 0 101\r\n"));
	assert_non_null(strstr(out, "m=audio 0 RTP/AVP 8 101\r\na=label:2\r\n"));
}

static void test_answer_too_small(void **state)
{
	static const uint16_t ports[] = { 40000, 40002 };
	char out[sizeof(expected_answer)];
	(void)state;

	load_offer(&off);
	/* exactly enough: length + NUL */
	assert_int_equal(cp_sdp_build_answer(&off, IP(10, 0, 0, 5), ports, NULL, 1234, 1, out,
					     sizeof(out)), (int)strlen(expected_answer));
	for (size_t cap = 0; cap < sizeof(out); cap++) {
		memset(out, 'Z', sizeof(out));
		assert_int_equal(cp_sdp_build_answer(&off, IP(10, 0, 0, 5), ports, NULL, 1234, 1,
						     out, cap), -1);
		if (cap)
			assert_int_equal(out[0], '\0');
	}
}

/* The answer is itself valid SDP: parsed back, same labels and our ports. */
static void test_round_trip(void **state)
{
	static const uint16_t ports[] = { 40000, 0 };
	static const enum cp_sdp_dir dirs[] = { CP_SDP_RECVONLY, CP_SDP_RECVONLY };
	const char *why = NULL;
	char out[2048];
	(void)state;

	load_offer(&off);
	int n = cp_sdp_build_answer(&off, IP(10, 0, 0, 5), ports, dirs, 7, 7, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(cp_sdp_parse_offer(out, (size_t)n, &off2, &why), 0);
	assert_int_equal(off2.ip, IP(10, 0, 0, 5));
	assert_int_equal(off2.n_streams, 2);
	assert_string_equal(off2.streams[0].label, "1");
	assert_int_equal(off2.streams[0].port, 40000);
	assert_int_equal(off2.streams[0].ip, IP(10, 0, 0, 5));
	assert_int_equal(off2.streams[0].dir, CP_SDP_RECVONLY);
	assert_int_equal(off2.streams[0].rtcp_mux, 1);
	assert_string_equal(off2.streams[0].fmts, "8 0 101");
	assert_int_equal(off2.streams[0].n_attrs, off.streams[0].n_attrs);
	for (unsigned i = 0; i < off.streams[0].n_attrs; i++)
		assert_string_equal(off2.streams[0].attrs[i], off.streams[0].attrs[i]);
	assert_string_equal(off2.streams[1].label, "2");
	assert_int_equal(off2.streams[1].port, 0);
	assert_string_equal(off2.streams[1].fmts, "8 101");
}


#define KEY_B64 "4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm"
static const uint8_t key_bytes[30] = {
	0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41,
	0x39, 0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
};

/* One a=crypto value: accepted suites, one inline key of 30 bytes, lifetime, an MKI of
 * 1..8 bytes (RFC 4568 9.2: "|MKI:length", after the lifetime if there is one). */
static void test_crypto_line(void **state)
{
	struct cp_sdp_crypto c;

	(void)state;
	assert_int_equal(cp_sdp_parse_crypto("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64, &c), 0);
	assert_int_equal(c.tag, 1);
	assert_int_equal(c.suite, CP_SDP_AES_CM_128_HMAC_SHA1_80);
	assert_memory_equal(c.key, key_bytes, 30);
	assert_string_equal(c.params, "inline:" KEY_B64);
	assert_int_equal(cp_sdp_parse_crypto("7 AES_CM_128_HMAC_SHA1_32 inline:" KEY_B64 "|2^20",
					     &c), 0);
	assert_int_equal(c.tag, 7);
	assert_int_equal(c.suite, CP_SDP_AES_CM_128_HMAC_SHA1_32);
	assert_memory_equal(c.key, key_bytes, 30);
	assert_int_equal(c.mki_len, 0);
	assert_int_equal(cp_sdp_parse_crypto("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64
					     "|2^20|258:4", &c), 0);
	assert_int_equal(c.mki_len, 4);
	assert_memory_equal(c.mki, ((const uint8_t[]){0, 0, 1, 2}), 4);
	assert_string_equal(c.params, "inline:" KEY_B64 "|2^20|258:4");
	assert_int_equal(cp_sdp_parse_crypto("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "|255:1",
					     &c), 0);
	assert_int_equal(c.mki_len, 1);
	assert_int_equal(c.mki[0], 255);
	static const char *const bad[] = {
		"1 AES_256_CM_HMAC_SHA1_80 inline:" KEY_B64,             /* suite */
		"1 F8_128_HMAC_SHA1_80 inline:" KEY_B64,
		"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "|1:9",      /* MKI too long */
		"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "|256:1",    /* MKI over its length */
		"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "|1:0",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "|x:4",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "|1:4x",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "|1:4|2^20", /* MKI first */
		"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "|2^20|1:4|", /* three fields */
		"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "|99999999999999999999:8",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 " UNENCRYPTED_SRTP", /* session param */
		"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 ";inline:" KEY_B64,  /* two keys */
		"1 AES_CM_128_HMAC_SHA1_80 inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7r", /* short */
		"1 AES_CM_128_HMAC_SHA1_80 inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqv!",
		"1 AES_CM_128_HMAC_SHA1_80 " KEY_B64,                    /* no inline: */
		"x AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64,             /* tag */
		"1234567890 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64,
		"1 AES_CM_128_HMAC_SHA1_80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cp_sdp_parse_crypto(bad[i], &c) == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(c.suite, CP_SDP_SUITE_NONE);
	}
	assert_string_equal(cp_sdp_suite_name(CP_SDP_AES_CM_128_HMAC_SHA1_32),
			    "AES_CM_128_HMAC_SHA1_32");
	assert_null(cp_sdp_suite_name(CP_SDP_SUITE_NONE));
}

static int b64val(char ch)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(t, ch);
	return p && ch ? (int)(p - t) : -1;
}

/* Offer: the first acceptable line per SAVP stream; answer: that tag and suite, our key. */
static void test_crypto_offer_answer(void **state)
{
	static const char sdp[] =
		"v=0\r\no=src 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
		"m=audio 6000 RTP/SAVP 0\r\n"
		"a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:" KEY_B64 KEY_B64 "\r\n"
		"a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" KEY_B64 "|2^31\r\n"
		"a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "\r\n"
		"a=label:1\r\na=sendonly\r\n"
		"m=audio 6002 RTP/SAVP 0\r\n"
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "|2^20|1:9\r\n"
		"a=label:2\r\na=sendonly\r\n"
		"m=audio 6004 RTP/AVP 0\r\n"
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64 "\r\n"
		"a=label:3\r\na=sendonly\r\n";
	uint16_t ports[3] = {7000, 0, 7004};
	char out[4096];
	const char *why = NULL, *p;
	uint8_t got[30];
	int n;

	(void)state;
	assert_int_equal(cp_sdp_parse_offer(sdp, strlen(sdp), &off, &why), 0);
	assert_int_equal(off.n_streams, 3);
	assert_true(cp_sdp_is_savp(off.streams[0].proto));
	assert_false(cp_sdp_is_savp(off.streams[2].proto));
	assert_int_equal(off.streams[0].crypto.tag, 2);
	assert_int_equal(off.streams[0].crypto.suite, CP_SDP_AES_CM_128_HMAC_SHA1_32);
	assert_memory_equal(off.streams[0].crypto.key, key_bytes, 30);
	assert_memory_not_equal(off.streams[0].crypto.local_key, key_bytes, 30);
	assert_int_equal(off.streams[1].crypto.suite, CP_SDP_SUITE_NONE); /* 9-byte MKI */
	assert_int_equal(off.streams[2].crypto.suite, CP_SDP_SUITE_NONE); /* RTP/AVP */

	n = cp_sdp_build_answer(&off, IP(10, 0, 0, 5), ports, NULL, 1, 1, out, sizeof(out));
	assert_true(n > 0);
	assert_non_null(strstr(out, "m=audio 7000 RTP/SAVP 0\r\n"));
	assert_non_null(strstr(out, "m=audio 0 RTP/SAVP 0\r\n"));
	assert_non_null(strstr(out, "m=audio 7004 RTP/AVP 0\r\n"));
	p = strstr(out, "a=crypto:");
	assert_non_null(p);
	assert_null(strstr(p + 1, "a=crypto:")); /* one line, stream 0 only */
	assert_true(p < strstr(out, "m=audio 0 "));
	p += strlen("a=crypto:");
	assert_memory_equal(p, "2 AES_CM_128_HMAC_SHA1_32 inline:", 33);
	p += 33;
	assert_memory_equal(p + 40, "\r\n", 2);
	for (int i = 0, k = 0; i < 40; i += 4) {
		uint32_t v = 0;
		for (int j = 0; j < 4; j++) {
			assert_true(b64val(p[i + j]) >= 0);
			v = v << 6 | (uint32_t)b64val(p[i + j]);
		}
		got[k++] = (uint8_t)(v >> 16);
		got[k++] = (uint8_t)(v >> 8);
		got[k++] = (uint8_t)v;
	}
	assert_memory_equal(got, off.streams[0].crypto.local_key, 30);
}

static void test_dir_names(void **state)
{
	(void)state;
	assert_string_equal(cp_sdp_dir_name(CP_SDP_SENDRECV), "sendrecv");
	assert_string_equal(cp_sdp_dir_name(CP_SDP_SENDONLY), "sendonly");
	assert_string_equal(cp_sdp_dir_name(CP_SDP_RECVONLY), "recvonly");
	assert_string_equal(cp_sdp_dir_name(CP_SDP_INACTIVE), "inactive");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_streams),
		cmocka_unit_test(test_clock_rate),
		cmocka_unit_test(test_answer_rtcp_port),
		cmocka_unit_test(test_disabled_and_directions),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_answer_reject_and_pause),
		cmocka_unit_test(test_answer_too_small),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_dir_names),
		cmocka_unit_test(test_crypto_line),
		cmocka_unit_test(test_crypto_offer_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
