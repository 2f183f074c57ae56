/* SPDX-License-Identifier: BSD-3-Clause
 * rtprec-export: G.711 decoding against the G.711 table values, G.722
 * through spandsp's encoder and our decoder, payload type maps, RTP and
 * frame parsing, session.json, rotation file order, the timeline of a
 * track (loss, reorder, duplicates, wrap, pauses, jumps, SSRC changes),
 * WAV headers and the stereo alignment. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "export/exp.h"

#include <spandsp/telephony.h>
#include <spandsp/g722.h>

#define MS 1000000LL
#define T0 (1700000000LL * 1000000000LL)

/* ------------------------------------------------------------ codecs */
static int16_t dec1(uint8_t id, uint8_t code)
{
	int16_t out[1];
	uint32_t n = exp_decode(NULL, id, 8000, &code, 1, out, 8000);

	assert_int_equal(n, 1);
	return out[0];
}

static void test_g711_table(void **state)
{
	/* ITU-T G.711 decoder outputs, on the 16-bit scale (the 14/13-bit
	 * table values shifted left by 2/3) */
	static const struct {
		uint8_t code;
		int16_t lin;
	} ulaw[] = {
		{0x00, -32124}, {0x0f, -16764}, {0x10, -15996}, {0x70, -120}, {0x7e, -8},
		{0x7f, 0},      {0x80, 32124},  {0x8f, 16764},  {0xf0, 120},  {0xfe, 8},
		{0xff, 0},
	}, alaw[] = {
		{0xd5, 8},     {0x55, -8},    {0xd4, 24},   {0xaa, 32256}, {0x2a, -32256},
		{0x80, 5504},  {0x00, -5504}, {0xc5, 264},  {0xf5, 528},  {0xa5, 16896},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(ulaw) / sizeof(ulaw[0]); i++)
		assert_int_equal(dec1(EXP_CODEC_PCMU, ulaw[i].code), ulaw[i].lin);
	for (size_t i = 0; i < sizeof(alaw) / sizeof(alaw[0]); i++)
		assert_int_equal(dec1(EXP_CODEC_PCMA, alaw[i].code), alaw[i].lin);
	/* every code: sign symmetric, and monotonic within a sign */
	for (int c = 0; c < 128; c++) {
		assert_int_equal(dec1(EXP_CODEC_PCMU, (uint8_t)c), -dec1(EXP_CODEC_PCMU, (uint8_t)(c | 0x80)));
		assert_int_equal(dec1(EXP_CODEC_PCMA, (uint8_t)c), -dec1(EXP_CODEC_PCMA, (uint8_t)(c | 0x80)));
		if (c > 0)
			assert_true(dec1(EXP_CODEC_PCMU, (uint8_t)(0x80 | c)) <
				    dec1(EXP_CODEC_PCMU, (uint8_t)(0x80 | (c - 1))));
	}
}

static void test_upsample(void **state)
{
	uint8_t codes[3] = {0xd5, 0xd4, 0xd5}; /* A-law 8, 24, 8 */
	int16_t out[6];

	(void)state;
	assert_int_equal(exp_decode(NULL, EXP_CODEC_PCMA, 8000, codes, 3, out, 16000), 6);
	assert_int_equal(out[0], 8);
	assert_int_equal(out[1], 16); /* linear interpolation */
	assert_int_equal(out[2], 24);
	assert_int_equal(out[3], 16);
	assert_int_equal(out[4], 8);
	assert_int_equal(out[5], 8); /* the last one is held */
	assert_int_equal(exp_decode(NULL, EXP_CODEC_CN, 8000, codes, 3, out, 8000), 0);
}

static void test_g722(void **state)
{
	enum { N = 1600 }; /* 100 ms at 16 kHz */
	g722_encode_state_t *enc = g722_encode_init(NULL, 64000, 0);
	struct exp_decoder *dec = exp_decoder_new();
	int16_t in[N], out[N];
	uint8_t g[N / 2];
	int zc = 0, peak = 0;
	struct exp_codec c = exp_codec_by_name("g722", 8000);

	(void)state;
	assert_int_equal(c.id, EXP_CODEC_G722);
	assert_int_equal(c.clock, 8000);
	assert_int_equal(c.rate, 16000);
	for (int i = 0; i < N; i++)
		in[i] = (int16_t)lrint(10000 * sin(2 * M_PI * 1000 * i / 16000.0 + 0.4));
	assert_int_equal(g722_encode(enc, g, in, N), N / 2);
	/* in 160-byte packets, as RTP carries 20 ms */
	for (int p = 0; p < N / 320; p++)
		assert_int_equal(exp_decode(dec, EXP_CODEC_G722, 16000, g + 160 * p, 160, out + 320 * p,
					    16000),
				 320);
	for (int i = 400; i < N; i++) { /* past the codec's settling */
		if ((out[i] < 0) != (out[i - 1] < 0))
			zc++;
		if (abs(out[i]) > peak)
			peak = abs(out[i]);
		/* the codec delays by 22 samples */
		assert_true(abs(out[i] - in[i - 22]) < 1000);
	}
	assert_true(zc >= 148 && zc <= 152); /* 75 ms of 1 kHz */
	assert_true(peak > 9000 && peak < 11000);
	g722_encode_free(enc);
	exp_decoder_free(dec);
}

static void test_ptmap(void **state)
{
	struct exp_ptmap m;

	(void)state;
	exp_ptmap_static(&m);
	assert_int_equal(m.pt[0].id, EXP_CODEC_PCMU);
	assert_int_equal(m.pt[8].id, EXP_CODEC_PCMA);
	assert_int_equal(m.pt[9].id, EXP_CODEC_G722);
	assert_int_equal(m.pt[9].rate, 16000);
	assert_int_equal(m.pt[13].id, EXP_CODEC_CN);
	assert_int_equal(m.pt[96].id, EXP_CODEC_UNKNOWN);
	assert_int_equal(exp_ptmap_rtpmap(&m, "rtpmap:101 telephone-event/8000"), 0);
	assert_int_equal(m.pt[101].id, EXP_CODEC_DTMF);
	assert_int_equal(exp_ptmap_rtpmap(&m, "rtpmap:96 PCMA/8000"), 0);
	assert_int_equal(m.pt[96].id, EXP_CODEC_PCMA);
	assert_int_equal(exp_ptmap_rtpmap(&m, "rtpmap:0 opus/48000/2"), 0); /* remapped away */
	assert_int_equal(m.pt[0].id, EXP_CODEC_UNKNOWN);
	assert_int_equal(exp_ptmap_rtpmap(&m, "rtpmap:97 PCMU/16000"), 0); /* no such PCMU */
	assert_int_equal(m.pt[97].id, EXP_CODEC_UNKNOWN);
	assert_int_equal(exp_ptmap_rtpmap(&m, "fmtp:101 0-15"), -1);
	assert_int_equal(exp_ptmap_rtpmap(&m, "rtpmap:128 PCMU/8000"), -1);
	assert_int_equal(exp_ptmap_rtpmap(&m, "rtpmap:x PCMU/8000"), -1);
	assert_int_equal(exp_ptmap_rtpmap(&m, "rtpmap:5 PCMU"), -1);
}

/* ------------------------------------------------------------ parsing */
static void test_rtp_parse(void **state)
{
	uint8_t p[64] = {0x80, 0x08, 0x12, 0x34, 0, 0, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef};
	struct exp_rtp r;

	(void)state;
	assert_int_equal(exp_rtp_parse(p, 12 + 20, &r), EXP_RTP_OK);
	assert_int_equal(r.pt, 8);
	assert_int_equal(r.seq, 0x1234);
	assert_int_equal(r.ts, 256);
	assert_int_equal(r.ssrc, 0xdeadbeef);
	assert_int_equal(r.len, 20);
	assert_ptr_equal(r.payload, p + 12);
	/* two CSRCs, an extension of one word, 3 bytes of padding */
	p[0] = 0x80 | 0x20 | 0x10 | 2;
	p[20 + 2] = 0;
	p[20 + 3] = 1;
	p[40 - 1] = 3;
	assert_int_equal(exp_rtp_parse(p, 40, &r), EXP_RTP_OK);
	assert_ptr_equal(r.payload, p + 12 + 8 + 8);
	assert_int_equal(r.len, 40 - 28 - 3);
	p[40 - 1] = 13; /* more padding than payload */
	assert_int_equal(exp_rtp_parse(p, 40, &r), EXP_RTP_NOT);
	assert_int_equal(exp_rtp_parse(p, 24, &r), EXP_RTP_NOT); /* extension cut */
	/* RTCP: 192..223 */
	uint8_t rr[8] = {0x80, 201, 0, 1, 1, 2, 3, 4};
	assert_int_equal(exp_rtp_parse(rr, 8, &r), EXP_RTP_RTCP);
	rr[1] = 200 | 0; /* SR */
	assert_int_equal(exp_rtp_parse(rr, 8, &r), EXP_RTP_RTCP);
	/* not version 2 (STUN), too short */
	uint8_t stun[20] = {0x00, 0x01};
	assert_int_equal(exp_rtp_parse(stun, 20, &r), EXP_RTP_NOT);
	assert_int_equal(exp_rtp_parse(p, 11, &r), EXP_RTP_NOT);
}

/* Ethernet (with one VLAN tag when vlan) / IPv4 / UDP 1.2.3.4:5000 -> 5.6.7.8:6000. */
static uint32_t build_frame(uint8_t *f, int vlan, uint32_t plen)
{
	uint32_t o = 12;

	memset(f, 0, 14 + 4 + 28 + plen);
	if (vlan) {
		f[o] = 0x81;
		f[o + 1] = 0x00;
		o += 4;
	}
	f[o] = 0x08;
	f[o + 1] = 0x00;
	o += 2;
	uint8_t *ip = f + o;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((28 + plen) >> 8);
	ip[3] = (uint8_t)(28 + plen);
	ip[9] = 17;
	memcpy(ip + 12, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	uint8_t *u = ip + 20;
	u[0] = 5000 >> 8;
	u[1] = 5000 & 255;
	u[2] = 6000 >> 8;
	u[3] = 6000 & 255;
	u[4] = (uint8_t)((8 + plen) >> 8);
	u[5] = (uint8_t)(8 + plen);
	return o + 28 + plen;
}

static void test_frame_parse(void **state)
{
	uint8_t f[128];
	struct exp_udp u;
	uint32_t n;

	(void)state;
	for (int vlan = 0; vlan < 2; vlan++) {
		n = build_frame(f, vlan, 20);
		assert_int_equal(exp_frame_parse(1, f, n, &u), EXP_FRAME_OK);
		assert_int_equal(u.src_ip, 0x01020304);
		assert_int_equal(u.dst_ip, 0x05060708);
		assert_int_equal(u.src_port, 5000);
		assert_int_equal(u.dst_port, 6000);
		assert_int_equal(u.len, 20);
		assert_ptr_equal(u.payload, f + n - 20);
		assert_int_equal(exp_frame_parse(1, f, n - 1, &u), EXP_FRAME_SHORT);
	}
	n = build_frame(f, 0, 20);
	assert_int_equal(exp_frame_parse(12 /* DLT_RAW */, f + 14, n - 14, &u), EXP_FRAME_OK);
	f[14 + 6] = 0x20; /* MF */
	assert_int_equal(exp_frame_parse(1, f, n, &u), EXP_FRAME_FRAGMENT);
	f[14 + 6] = 0;
	f[14 + 9] = 6;
	assert_int_equal(exp_frame_parse(1, f, n, &u), EXP_FRAME_NOT_UDP);
	f[14 + 9] = 17;
	f[12] = 0x86; /* IPv6 ethertype */
	f[13] = 0xdd;
	assert_int_equal(exp_frame_parse(1, f, n, &u), EXP_FRAME_NOT_IPV4);
	assert_int_equal(exp_frame_parse(1, f, 10, &u), EXP_FRAME_SHORT);
	assert_int_equal(exp_frame_parse(147, f, n, &u), EXP_FRAME_NOT_IPV4);
}

static void test_session_json(void **state)
{
	static const char js[] =
		"{\"session_id\":\"s1\",\"call_id\":\"c\",\"participants\":[{\"id\":\"a\",\"name\":"
		"\"Alice\",\"aor\":\"sip:a@x\"}],\"streams\":["
		"{\"label\":\"1\",\"media\":\"audio\",\"formats\":\"0 101\",\"codecs\":"
		"[\"rtpmap:0 PCMU/8000\",\"rtpmap:101 telephone-event/8000\",\"fmtp:101 0-15\"],"
		"\"recorded\":true,\"local_port\":20000,\"rtcp_mux\":true,"
		"\"negotiated\":{\"ip\":\"198.18.0.1\",\"port\":40000},"
		"\"latched\":{\"ip\":\"198.18.0.9\",\"port\":40001},\"packets\":75},"
		"{\"label\":\"2\",\"codecs\":[\"rtpmap:96 G722/8000\"],\"local_port\":0,"
		"\"negotiated\":null,\"latched\":null}],\"end_reason\":\"bye\"}";
	struct exp_session s;
	char err[128];

	(void)state;
	assert_int_equal(exp_session_parse(js, strlen(js), &s, err, sizeof(err)), 0);
	assert_int_equal(s.n_streams, 2);
	assert_string_equal(s.streams[0].label, "1");
	assert_int_equal(s.streams[0].local_port, 20000);
	assert_int_equal(s.streams[0].negotiated.ip, 0xc6120001);
	assert_int_equal(s.streams[0].negotiated.port, 40000);
	assert_int_equal(s.streams[0].latched.ip, 0xc6120009);
	assert_int_equal(s.streams[0].latched.port, 40001);
	assert_int_equal(s.streams[0].map.pt[0].id, EXP_CODEC_PCMU);
	assert_int_equal(s.streams[0].map.pt[101].id, EXP_CODEC_DTMF);
	assert_int_equal(s.streams[0].map.pt[8].id, EXP_CODEC_PCMA); /* static types stay */
	assert_int_equal(s.streams[1].local_port, 0);
	assert_int_equal(s.streams[1].latched.ip, 0);
	assert_int_equal(s.streams[1].map.pt[96].id, EXP_CODEC_G722);
	exp_session_free(&s);

	assert_int_equal(exp_session_parse("{\"streams\":[", 12, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 1"));
	assert_int_equal(exp_session_parse("[1]", 3, &s, err, sizeof(err)), -1);
	/* no streams, or streams of the wrong type: parsed, nothing in it */
	assert_int_equal(exp_session_parse("{\"streams\":7}", 13, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n_streams, 0);
	exp_session_free(&s);
	assert_int_equal(exp_session_load("/nonexistent/session.json", &s, err, sizeof(err)),
			 -ENOENT);
}

static void test_pcap_list(void **state)
{
	char dir[] = "/tmp/test_export.XXXXXX", path[128];
	const char *names[] = {"media.10.pcap", "media.pcap", "media.2.pcap", "media.1.pcap",
			       "media.x.pcap", "media.3.pcap.tmp", "other.pcap", "media.-1.pcap"};
	char **paths;
	unsigned n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(exp_pcap_list(dir, &paths, &n), -ENOENT);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fclose(fopen(path, "w"));
	}
	assert_int_equal(exp_pcap_list(dir, &paths, &n), 0);
	assert_int_equal(n, 4);
	const char *want[] = {"media.pcap", "media.1.pcap", "media.2.pcap", "media.10.pcap"};
	for (unsigned i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, want[i]);
		assert_string_equal(paths[i], path);
	}
	exp_pcap_list_free(paths, n);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	assert_int_equal(exp_pcap_list(dir, &paths, &n), -ENOENT);
}

/* ------------------------------------------------------------ timeline */
static const struct exp_codec PCMU = {EXP_CODEC_PCMU, 8000, 8000};
static const struct exp_codec G722 = {EXP_CODEC_G722, 8000, 16000};

/* A PCMU packet of len samples, all the code c. */
static void add_len(struct exp_track *t, int64_t arr_ms, uint32_t ssrc, uint16_t seq,
		    uint32_t ts, uint8_t c, uint32_t len)
{
	uint8_t pl[480];
	struct exp_rtp r = {0, 0, seq, ts, ssrc, pl, len};

	assert_true(len <= sizeof(pl));
	memset(pl, c, len);
	assert_int_equal(exp_track_add(t, T0 + arr_ms * MS, &r, &PCMU), 0);
}

/* A 20 ms PCMU packet whose 160 samples are all the code c. */
static void add(struct exp_track *t, int64_t arr_ms, uint32_t ssrc, uint16_t seq, uint32_t ts,
		uint8_t c)
{
	add_len(t, arr_ms, ssrc, seq, ts, c, 160);
}

/* Place and render; returns the length. */
static int64_t finish(struct exp_track *t)
{
	exp_track_place(t);
	assert_int_equal(exp_track_render(t), 0);
	return exp_track_len(t);
}

/* Samples [a, b) of t are all the decoded code c (c < 0: silence). */
static void expect(const struct exp_track *t, int64_t a, int64_t b, int c)
{
	struct exp_reader r = {t, 0};
	int16_t want = c < 0 ? 0 : dec1(EXP_CODEC_PCMU, (uint8_t)c);

	for (int64_t i = a; i < b; i++)
		if (exp_reader_get(&r, i) != want) {
			fail_msg("sample %lld: %d, want %d", (long long)i, exp_reader_get(&r, i), want);
		}
}

/* codes 0x80 + k: distinct non-zero values */
#define CODE(k) ((uint8_t)(0x80 + (k)))

static void test_track_in_order_loss(void **state)
{
	struct exp_track t = {0};

	(void)state;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 5)
			add(&t, 20 * i, 7, (uint16_t)(100 + i), 1000 + 160u * i, CODE(i));
	assert_int_equal(finish(&t), 1600);
	assert_int_equal(t.rate, 8000);
	assert_int_equal(t.start_ns, T0);
	for (int i = 0; i < 10; i++)
		expect(&t, 160 * i, 160 * (i + 1), (i == 4 || i == 5) ? -1 : CODE(i));
	assert_int_equal(t.st.lost, 2);
	assert_int_equal(t.st.decoded, 8);
	assert_int_equal(t.st.pauses + t.st.jumps + t.st.ssrc_changes + t.st.dups, 0);
	exp_track_free(&t);
}

static void test_track_reorder_dup_wrap(void **state)
{
	struct exp_track t = {0};
	/* arrival order: 0 1 3 2 4 4(dup) 6 5 7; seq and ts wrap around 3 */
	static const int order[] = {0, 1, 3, 2, 4, 4, 6, 5, 7};

	(void)state;
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		int i = order[k];
		add(&t, 20 * (int64_t)k, 9, (uint16_t)(65533 + i), 0xfffffe00u + 160u * i, CODE(i));
	}
	assert_int_equal(finish(&t), 8 * 160);
	for (int i = 0; i < 8; i++)
		expect(&t, 160 * i, 160 * (i + 1), CODE(i));
	assert_int_equal(t.st.dups, 1);
	assert_int_equal(t.st.reordered, 2);
	assert_int_equal(t.st.lost, 0);
	assert_int_equal(t.st.decoded, 8);
	exp_track_free(&t);
}

static void test_track_first_packet_late(void **state)
{
	struct exp_track t = {0};

	(void)state;
	add(&t, 0, 1, 11, 1160, CODE(1)); /* packet 0 arrives after packet 1 */
	add(&t, 5, 1, 10, 1000, CODE(0));
	add(&t, 20, 1, 12, 1320, CODE(2));
	assert_int_equal(finish(&t), 480);
	assert_int_equal(t.min_pos, -160);
	assert_int_equal(t.start_ns, T0 - 20 * MS);
	for (int i = 0; i < 3; i++)
		expect(&t, 160 * i, 160 * (i + 1), CODE(i));
	exp_track_free(&t);
}

static void test_track_pauses(void **state)
{
	struct exp_track t = {0};

	(void)state;
	/* 1 s pause with the timestamps going on: silence from the timestamps */
	add(&t, 0, 1, 1, 0, CODE(0));
	add(&t, 20, 1, 2, 160, CODE(1));
	add(&t, 1040, 1, 3, 320 + 8000, CODE(2));
	/* 1 s pause, the timestamps did not move: silence from arrival time */
	add(&t, 2060, 1, 4, 480 + 8000, CODE(3));
	add(&t, 2080, 1, 5, 640 + 8000, CODE(4));
	/* the timestamps jump by an hour, no pause: no silence */
	add(&t, 2100, 1, 6, 800 + 8000 + 3600 * 8000, CODE(5));
	add(&t, 2120, 1, 7, 960 + 8000 + 3600 * 8000, CODE(6));
	assert_int_equal(finish(&t), 7 * 160 + 2 * 8000);
	expect(&t, 0, 160, CODE(0));
	expect(&t, 160, 320, CODE(1));
	expect(&t, 320, 320 + 8000, -1);
	expect(&t, 8320, 8480, CODE(2));
	expect(&t, 8480, 8480 + 8000, -1);
	expect(&t, 16480, 16640, CODE(3));
	expect(&t, 16640, 16800, CODE(4));
	expect(&t, 16800, 16960, CODE(5));
	expect(&t, 16960, 17120, CODE(6));
	assert_int_equal(t.st.pauses, 1);
	assert_int_equal(t.st.jumps, 1);
	assert_int_equal(t.st.lost, 0);
	exp_track_free(&t);
}

static void test_track_jitter_no_epoch(void **state)
{
	struct exp_track t = {0};

	(void)state;
	/* up to 300 ms of jitter (below the tolerance) changes nothing */
	for (int i = 0; i < 50; i++)
		add(&t, 20 * i + (i % 7 == 3 ? 300 : i % 5 * 10), 3, (uint16_t)i, 160u * i,
		    CODE(i % 100));
	assert_int_equal(finish(&t), 50 * 160);
	for (int i = 0; i < 50; i++)
		expect(&t, 160 * i, 160 * (i + 1), CODE(i % 100));
	assert_int_equal(t.st.pauses + t.st.jumps, 0);
	exp_track_free(&t);
}

static void test_track_ssrc_change_late(void **state)
{
	struct exp_track t = {0};

	(void)state;
	add(&t, 0, 1, 100, 5000, CODE(0));
	add(&t, 20, 1, 101, 5160, CODE(1));
	/* a new SSRC 200 ms after the last packet's arrival: placed on arrival */
	add(&t, 220, 2, 7, 99999, CODE(2));
	add(&t, 240, 2, 8, 99999 + 160, CODE(3));
	/* an old packet of SSRC 2 from before its anchor: wrong side of an epoch
	 * only if a later epoch; here epoch 2, so dropped as late */
	add(&t, 250, 2, 6, 99999 - 160, CODE(9));
	/* back to SSRC 1 */
	add(&t, 260, 1, 102, 5320, CODE(4));
	assert_int_equal(finish(&t), 260 * 8 + 160);
	expect(&t, 0, 160, CODE(0));
	expect(&t, 160, 320, CODE(1));
	expect(&t, 320, 220 * 8, -1);
	expect(&t, 220 * 8, 220 * 8 + 160, CODE(2));
	expect(&t, 240 * 8, 240 * 8 + 160, CODE(3));
	expect(&t, 260 * 8, 260 * 8 + 160, CODE(4));
	assert_int_equal(t.st.ssrc_changes, 2);
	assert_int_equal(t.st.late, 1);
	assert_int_equal(t.st.ssrcs, 2);
	exp_track_free(&t);
}

static void test_track_mixed_rates(void **state)
{
	struct exp_track t = {0};
	uint8_t pl[160];
	struct exp_rtp r = {9, 0, 2, 160, 5, pl, sizeof(pl)};

	(void)state;
	memset(pl, 0, sizeof(pl));
	add(&t, 0, 5, 1, 0, CODE(1));
	assert_int_equal(exp_track_add(&t, T0 + 20 * MS, &r, &G722), 0);
	add(&t, 40, 5, 3, 320, CODE(3));
	assert_int_equal(finish(&t), 3 * 320);
	assert_int_equal(t.rate, 16000);
	expect(&t, 0, 319, CODE(1)); /* 8 kHz samples doubled at 16 kHz */
	expect(&t, 640, 959, CODE(3));
	exp_track_free(&t);
}

/* 2 s of PCMU, then the same SSRC and sequence going on with the timestamps
 * moved by shift; with pause, a 1 s pause (timestamps not moving) in the
 * first part makes the restart happen in a later epoch. The second part must
 * follow the first by arrival. */
static void ts_restart(uint32_t shift, int pause)
{
	struct exp_track t = {0};
	int64_t gap = pause ? 8000 : 0;

	for (int i = 0; i < 200; i++) {
		int64_t arr = 20 * i + (pause && i >= 50 ? 1000 : 0);
		uint32_t ts = 160u * (uint32_t)i + (i >= 100 ? shift : 0);
		add(&t, arr, 4, (uint16_t)(500 + i), 7777 + ts, CODE(i % 64));
	}
	assert_int_equal(finish(&t), 200 * 160 + gap);
	for (int i = 0; i < 200; i++) {
		int64_t p = 160 * i + (pause && i >= 50 ? gap : 0);
		expect(&t, p, p + 160, CODE(i % 64));
	}
	if (pause)
		expect(&t, 50 * 160, 50 * 160 + gap, -1);
	assert_int_equal(t.st.jumps, 1);
	assert_int_equal(t.st.pauses, pause ? 1 : 0);
	assert_int_equal(t.st.reordered + t.st.late + t.st.lost + t.st.dups, 0);
	assert_int_equal(t.st.decoded, 200);
	exp_track_free(&t);
}

static void test_track_ts_restart(void **state)
{
	(void)state;
	ts_restart((uint32_t)-1000000, 0); /* lowered: was 127 s, "100 reordered" */
	ts_restart((uint32_t)-1000000, 1); /* in a later epoch: was "100 late" */
	ts_restart(3000000000u, 0);        /* forward by more than 2^31 */
	ts_restart(3000000000u, 1);
}

/* The sequence number jumps (same SSRC, timestamps going on) forward by
 * 40000, then back by 20000: three segments, one packet lost in each. */
static void test_track_seq_jump(void **state)
{
	struct exp_track t = {0};
	static const uint16_t base[3] = {1000, 41000, 21000};

	(void)state;
	for (int i = 0; i < 300; i++)
		if (i % 100 != 50)
			add(&t, 20 * i, 6, (uint16_t)(base[i / 100] + i), 160u * i, CODE(i % 64));
	assert_int_equal(finish(&t), 300 * 160);
	for (int i = 0; i < 300; i++)
		expect(&t, 160 * i, 160 * (i + 1), i % 100 == 50 ? -1 : CODE(i % 64));
	assert_int_equal(t.st.lost, 3);
	assert_int_equal(t.st.decoded, 297);
	assert_int_equal(t.st.dups + t.st.late + t.st.reordered + t.st.jumps + t.st.pauses, 0);
	exp_track_free(&t);
}

/* Overlapping chunks: A [0, 480) (60 ms in one packet), B [160, 320),
 * C [480, 640). The reader, moved back from C, must find A (the chunk that
 * starts first wins) where B has ended. */
static void test_reader_overlap_back(void **state)
{
	struct exp_track t = {0};
	struct exp_reader r = {&t, 0};
	int16_t a = dec1(EXP_CODEC_PCMU, CODE(1)), c = dec1(EXP_CODEC_PCMU, CODE(3));

	(void)state;
	add_len(&t, 0, 2, 1, 0, CODE(1), 480);
	add_len(&t, 20, 2, 2, 160, CODE(2), 160);
	add_len(&t, 60, 2, 3, 480, CODE(3), 160);
	assert_int_equal(finish(&t), 640);
	expect(&t, 0, 480, CODE(1));
	expect(&t, 480, 640, CODE(3));
	assert_int_equal(exp_reader_get(&r, 500), c);
	assert_int_equal(exp_reader_get(&r, 400), a);
	assert_int_equal(exp_reader_get(&r, 600), c);
	assert_int_equal(exp_reader_get(&r, 200), a);
	assert_int_equal(exp_reader_get(&r, 479), a);
	assert_int_equal(exp_reader_get(&r, 640), 0);
	assert_int_equal(exp_reader_get(&r, 0), a);
	assert_int_equal(exp_reader_get(&r, -1), 0);
	for (int64_t i = 639; i >= 0; i--) /* backwards all the way */
		assert_int_equal(exp_reader_get(&r, i), i < 480 ? a : c);
	exp_track_free(&t);
}

/* ------------------------------------------------------------ a call */
/* One 20 ms PCMU packet (seq, all samples CODE-like c) in a frame to dport with
 * UDP checksum csum, handed to the call as the pcap reader does. */
static void call_packet(struct exp_call *c, uint16_t dport, uint16_t csum, uint16_t seq,
			uint8_t code)
{
	uint8_t f[256], *rtp;
	uint32_t n = build_frame(f, 0, 172);
	struct exp_udp u;

	f[14 + 20 + 2] = (uint8_t)(dport >> 8);
	f[14 + 20 + 3] = (uint8_t)dport;
	f[14 + 20 + 6] = (uint8_t)(csum >> 8);
	f[14 + 20 + 7] = (uint8_t)csum;
	rtp = f + n - 172;
	rtp[0] = 0x80;
	rtp[2] = (uint8_t)(seq >> 8);
	rtp[3] = (uint8_t)seq;
	rtp[6] = (uint8_t)((160 * seq) >> 8);
	rtp[7] = (uint8_t)(160 * seq);
	rtp[11] = (uint8_t)dport;
	memset(rtp + 12, code, 160);
	assert_int_equal(exp_frame_parse(1, f, n, &u), EXP_FRAME_OK);
	exp_call_udp(c, T0 + seq * 20 * MS, &u);
}

/* SRTP streams: with recording.srtp decrypt the recorder writes what it decrypted
 * with UDP checksum 0 and what failed (bad tag, replay, a key change) as received;
 * with keep everything is as received. Encrypted payloads are never decoded (they
 * would be loud noise in the WAV files); plain streams keep any checksum. */
static void test_call_srtp(void **state)
{
	static const char js[] =
		"{\"streams\":["
		"{\"label\":\"dec\",\"local_port\":20000,\"srtp\":{\"mode\":\"decrypt\",\"tag\":1,"
		"\"suite\":\"AES_CM_128_HMAC_SHA1_80\"}},"
		"{\"label\":\"keep\",\"local_port\":20002,\"srtp\":{\"mode\":\"keep\",\"tag\":1,"
		"\"suite\":\"AES_CM_128_HMAC_SHA1_80\",\"key_params\":\"inline:AAAA\"}},"
		"{\"label\":\"plain\",\"local_port\":20004}]}";
	struct exp_session s;
	struct exp_call *c;
	char err[128];

	(void)state;
	assert_int_equal(exp_session_parse(js, strlen(js), &s, err, sizeof(err)), 0);
	c = exp_call_new(&s, 1);
	assert_non_null(c);
	for (uint16_t seq = 1; seq <= 4; seq++) {
		/* the third one failed authentication: written as received */
		call_packet(c, 20000, seq == 3 ? 0xbeef : 0, seq, CODE(1));
		call_packet(c, 20002, seq == 2 ? 0 : 0x1234, seq, CODE(2));
		call_packet(c, 20004, 0x4321, seq, CODE(3));
	}
	assert_int_equal(exp_call_finish(c), 0);
	assert_int_equal(exp_call_n_audio(c), 2);
	assert_string_equal(exp_call_stream_name(c, 0), "dec");
	assert_string_equal(exp_call_stream_name(c, 1), "plain");
	const struct exp_track *t = exp_call_track(c, 0);
	assert_int_equal(t->st.packets, 3);
	expect(t, 0, 320, CODE(1));
	expect(t, 320, 480, -1); /* the one not decrypted: silence */
	expect(t, 480, 640, CODE(1));
	assert_int_equal(exp_call_track(c, 1)->st.packets, 4);
	exp_call_free(c);
	exp_session_free(&s);
}

/* ------------------------------------------------------------ WAV */
static void test_wav_header(void **state)
{
	static const uint8_t want[EXP_WAV_HEADER] = {
		'R', 'I', 'F', 'F', 36 + 200, 0, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ',
		16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0, 2, 0, 16, 0,
		'd', 'a', 't', 'a', 200, 0, 0, 0};
	uint8_t h[EXP_WAV_HEADER];

	(void)state;
	exp_wav_header(h, 8000, 1, 100);
	assert_memory_equal(h, want, sizeof(want));
	exp_wav_header(h, 16000, 2, 16000); /* 1 s stereo 16 kHz */
	assert_int_equal(h[22], 2);
	assert_int_equal(h[24] | h[25] << 8, 16000);
	assert_int_equal(h[28] | h[29] << 8 | h[30] << 16, 64000);
	assert_int_equal(h[32], 4);
	assert_int_equal(h[40] | h[41] << 8 | h[42] << 16, 64000);
	assert_int_equal(h[4] | h[5] << 8 | h[6] << 16, 64036);
	assert_int_equal(exp_wav_max_frames(1), (0xffffffffull - 36) / 2);
}

static void test_wav_files(void **state)
{
	struct exp_track a = {0}, b = {0};
	struct exp_stereo s;
	uint8_t buf[65536];
	FILE *f;
	size_t n;

	(void)state;
	/* a: 2 PCMU packets; b: G.722-rate track (16 kHz) starting 10 ms later */
	add(&a, 0, 1, 1, 0, CODE(1));
	add(&a, 20, 1, 2, 160, CODE(2));
	finish(&a);
	{
		uint8_t pl[80];
		struct exp_rtp r = {9, 0, 1, 0, 2, pl, sizeof(pl)};
		memset(pl, 0, sizeof(pl));
		assert_int_equal(exp_track_add(&b, T0 + 10 * MS, &r, &G722), 0);
		finish(&b);
	}
	f = tmpfile();
	assert_int_equal(exp_wav_mono(f, &a, 320), 0);
	rewind(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(n, 44 + 640);
	assert_int_equal((int16_t)(buf[44] | buf[45] << 8), dec1(EXP_CODEC_PCMU, CODE(1)));
	assert_int_equal((int16_t)(buf[44 + 638] | buf[44 + 639] << 8), dec1(EXP_CODEC_PCMU, CODE(2)));

	exp_stereo_plan(&s, &a, &b);
	assert_int_equal(s.rate, 16000);
	assert_int_equal(s.off[0], 0);
	assert_int_equal(s.off[1], 160); /* 10 ms at 16 kHz */
	assert_int_equal(s.len[0], 640);
	assert_int_equal(s.len[1], 160);
	assert_int_equal(s.frames, 640);
	f = tmpfile();
	assert_int_equal(exp_wav_stereo(f, &s, s.frames), 0);
	rewind(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(n, 44 + 640 * 4);
	int16_t v1 = dec1(EXP_CODEC_PCMU, CODE(1)), v2 = dec1(EXP_CODEC_PCMU, CODE(2));
#define L(k) ((int16_t)(buf[44 + 4 * (k)] | buf[45 + 4 * (k)] << 8))
	assert_int_equal(L(0), v1);
	assert_int_equal(L(1), v1);
	assert_int_equal(L(318), v1);
	assert_int_equal(L(319), v1 + (v2 - v1) / 2); /* interpolated across packets */
	assert_int_equal(L(320), v2);
	assert_int_equal(L(639), v2);
#undef L
	/* one track only: the other channel silent */
	exp_stereo_plan(&s, &a, NULL);
	assert_int_equal(s.rate, 8000);
	assert_int_equal(s.frames, 320);
	exp_track_free(&a);
	exp_track_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_g711_table),
		cmocka_unit_test(test_upsample),
		cmocka_unit_test(test_g722),
		cmocka_unit_test(test_ptmap),
		cmocka_unit_test(test_rtp_parse),
		cmocka_unit_test(test_frame_parse),
		cmocka_unit_test(test_session_json),
		cmocka_unit_test(test_pcap_list),
		cmocka_unit_test(test_track_in_order_loss),
		cmocka_unit_test(test_track_reorder_dup_wrap),
		cmocka_unit_test(test_track_first_packet_late),
		cmocka_unit_test(test_track_pauses),
		cmocka_unit_test(test_track_jitter_no_epoch),
		cmocka_unit_test(test_track_ssrc_change_late),
		cmocka_unit_test(test_track_mixed_rates),
		cmocka_unit_test(test_track_ts_restart),
		cmocka_unit_test(test_track_seq_jump),
		cmocka_unit_test(test_reader_overlap_back),
		cmocka_unit_test(test_call_srtp),
		cmocka_unit_test(test_wav_header),
		cmocka_unit_test(test_wav_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
