/* SPDX-License-Identifier: BSD-3-Clause
 * Recorder-side SRTP decryption (recorder/rec_srtp.c): frames protected here
 * with libsrtp2 and a known key come back as the original bytes, lengths fixed;
 * a corrupted tag is counted and the frame left as received. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <srtp2/srtp.h>

#include "recorder/rec_priv.h"

#define PORT 40000
#define L2 14
#define L3 20
#define L4 8
#define HDRS (L2 + L3 + L4)

static const uint8_t master[30] = {
	0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41,
	0x39, 0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet/IPv4/UDP around payload (UDP checksum 0, IPv4 checksum right). */
static unsigned frame(uint8_t *f, unsigned dport, const uint8_t *pl, unsigned plen)
{
	uint32_t sum = 0;

	memset(f, 0, HDRS);
	memset(f, 0x02, 12);
	put16(f + 12, 0x0800);
	f[L2] = 0x45;
	put16(f + L2 + 2, L3 + L4 + plen);
	f[L2 + 8] = 64;
	f[L2 + 9] = 17;
	memcpy(f + L2 + 12, (const uint8_t[]){198, 18, 0, 2, 198, 18, 0, 1}, 8);
	for (unsigned i = 0; i < L3; i += 2)
		sum += (uint32_t)(f[L2 + i] << 8 | f[L2 + i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(f + L2 + 10, ~sum & 0xffff);
	put16(f + L2 + L3, 5004);
	put16(f + L2 + L3 + 2, dport);
	put16(f + L2 + L3 + 4, L4 + plen);
	memcpy(f + HDRS, pl, plen);
	return HDRS + plen;
}

static unsigned rtp_packet(uint8_t *p, uint16_t seq)
{
	p[0] = 0x80;
	p[1] = 0;
	put16(p + 2, seq);
	memcpy(p + 4, (const uint8_t[]){0, 0, 0x10, 0, 0x12, 0x34, 0x56, 0x78}, 8);
	for (unsigned i = 0; i < 160; i++)
		p[12 + i] = (uint8_t)(i * 7 + seq);
	return 172;
}

/* A sender report (200), or with rtcp-mux a reduced-size feedback packet
 * (RFC 5506) of another type in RFC 5761's RTCP range 192..223 */
static unsigned rtcp_packet(uint8_t *p, uint8_t pt)
{
	memset(p, 0, 28);
	p[0] = 0x80;
	p[1] = pt;
	put16(p + 2, 6);
	memcpy(p + 4, (const uint8_t[]){0x12, 0x34, 0x56, 0x78, 0xaa, 0xbb}, 6);
	return 28;
}

/* The MKI (RFC 3711) of the tests that use one: its first mki bytes. */
static uint8_t mki_val[4] = {0x5a, 0x00, 0x01, 0x02};

/* mki: bytes of MKI in each packet (protected with srtp_protect_mki), 0 for none */
static srtp_t sender_mki(int suite32, const uint8_t *master_key, unsigned mki)
{
	srtp_policy_t pol;
	srtp_t s = NULL;
	uint8_t key[30];
	srtp_master_key_t mk = {.key = key, .mki_id = mki_val, .mki_size = mki};
	srtp_master_key_t *mks[1] = {&mk};

	memset(&pol, 0, sizeof(pol));
	memcpy(key, master_key, sizeof(key));
	if (suite32)
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol.rtp);
	else
		srtp_crypto_policy_set_rtp_default(&pol.rtp);
	srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
	pol.ssrc.type = ssrc_any_outbound;
	if (mki == 0) {
		pol.key = key;
	} else {
		pol.keys = mks;
		pol.num_master_keys = 1;
	}
	pol.window_size = 128;
	assert_int_equal(srtp_create(&s, &pol), srtp_err_status_ok);
	return s;
}

static srtp_t sender_key(int suite32, const uint8_t *master_key)
{
	return sender_mki(suite32, master_key, 0);
}

static srtp_t sender(int suite32)
{
	return sender_key(suite32, master);
}

/* entry 0: a plain stream; entry 1: ours */
static void receiver_keys(struct rec_srtp_key k[2], int suite32, int mux,
			  const uint8_t *master_key)
{
	memset(k, 0, 2 * sizeof(*k));
	k[1].suite = suite32 ? REC_SRTP_AES128_SHA1_32 : REC_SRTP_AES128_SHA1_80;
	k[1].rtp_port = PORT;
	k[1].rtcp_port = mux ? 0 : PORT + 1;
	memcpy(k[1].key, master_key, sizeof(master));
}

static struct rec_srtp *receiver_mki(int suite32, int mux, unsigned mki)
{
	struct rec_srtp_key k[2];

	receiver_keys(k, suite32, mux, master);
	k[1].mki_len = (uint8_t)mki;
	memcpy(k[1].mki, mki_val, mki);
	return rec_srtp_create(k, 2);
}

static struct rec_srtp *receiver(int suite32, int mux)
{
	return receiver_mki(suite32, mux, 0);
}

/* Protect plain (rtcp or not), frame it to dport, decrypt: original frame back. */
static void roundtrip(srtp_t tx, struct rec_srtp *rx, const uint8_t *plain, unsigned plen,
		      int rtcp, unsigned dport, unsigned mki)
{
	uint8_t pl[512], want[600], got[600];
	int n = (int)plen;
	unsigned wl, gl, out;

	memcpy(pl, plain, plen);
	if (rtcp)
		assert_int_equal(srtp_protect_rtcp_mki(tx, pl, &n, mki != 0, 0), srtp_err_status_ok);
	else
		assert_int_equal(srtp_protect_mki(tx, pl, &n, mki != 0, 0), srtp_err_status_ok);
	assert_true((unsigned)n > plen + mki);
	wl = frame(want, dport, plain, plen);
	gl = frame(got, dport, pl, (unsigned)n);
	out = rec_srtp_frame(rx, got, gl);
	assert_int_equal(out, wl);
	assert_memory_equal(got, want, wl);
}

static void test_rtp_rtcp(void **state, int suite32, int mux, unsigned mki)
{
	srtp_t tx = sender_mki(suite32, master, mki);
	struct rec_srtp *rx = receiver_mki(suite32, mux, mki);
	const struct rec_srtp_count *c;
	uint8_t p[256];
	unsigned n, plen;

	(void)state;
	for (uint16_t seq = 1; seq <= 3; seq++) {
		plen = rtp_packet(p, seq);
		roundtrip(tx, rx, p, plen, 0, PORT, mki);
	}
	plen = rtcp_packet(p, 200);
	roundtrip(tx, rx, p, plen, 1, mux ? PORT : PORT + 1, mki);
	plen = rtcp_packet(p, 206); /* PSFB */
	roundtrip(tx, rx, p, plen, 1, mux ? PORT : PORT + 1, mki);
	for (unsigned bad = 0; mki && bad < 2; bad++) {
		/* an MKI that is not the offered one, or the right MKI and a bad tag:
		 * counted, left as received */
		uint8_t f[600], copy[600];
		int len = (int)rtp_packet(p, (uint16_t)(4 + bad));
		unsigned fl;

		assert_int_equal(srtp_protect_mki(tx, p, &len, 1, 0), srtp_err_status_ok);
		p[len - (bad ? 1 : (suite32 ? 4 : 10) + 1)] ^= 0x80; /* MKI's or tag's last byte */
		fl = frame(f, PORT, p, (unsigned)len);
		memcpy(copy, f, fl);
		assert_int_equal(rec_srtp_frame(rx, f, fl), fl);
		assert_memory_equal(f, copy, fl);
	}
	c = rec_srtp_counts(rx, &n);
	assert_int_equal(n, 2);
	assert_int_equal(c[1].rtp_port, PORT);
	assert_int_equal(c[1].decrypted, 5);
	assert_int_equal(c[1].srtp_errors, mki ? 2 : 0);
	assert_int_equal(c[0].decrypted, 0);
	rec_srtp_free(rx);
	srtp_dealloc(tx);
}

static void test_sha1_80(void **state) { test_rtp_rtcp(state, 0, 0, 0); }
static void test_sha1_32(void **state) { test_rtp_rtcp(state, 1, 0, 0); }
static void test_rtcp_mux(void **state) { test_rtp_rtcp(state, 0, 1, 0); }
/* an MKI in each packet (a=crypto "|MKI:length"), 1 and 4 bytes */
static void test_mki1(void **state) { test_rtp_rtcp(state, 0, 0, 1); }
static void test_mki4(void **state) { test_rtp_rtcp(state, 1, 1, 4); }

static void test_bad_tag(void **state)
{
	srtp_t tx = sender(0);
	struct rec_srtp *rx = receiver(0, 0);
	const struct rec_srtp_count *c;
	uint8_t p[256], f[600], copy[600];
	int n;
	unsigned fl, cnt;

	(void)state;
	n = (int)rtp_packet(p, 7);
	assert_int_equal(srtp_protect(tx, p, &n), srtp_err_status_ok);
	p[n - 1] ^= 0x5a; /* the last byte of the tag */
	fl = frame(f, PORT, p, (unsigned)n);
	memcpy(copy, f, fl);
	assert_int_equal(rec_srtp_frame(rx, f, fl), fl); /* written as received */
	assert_memory_equal(f, copy, fl);
	/* another port: not touched, not counted */
	fl = frame(f, PORT + 10, p, (unsigned)n);
	memcpy(copy, f, fl);
	assert_int_equal(rec_srtp_frame(rx, f, fl), fl);
	assert_memory_equal(f, copy, fl);
	c = rec_srtp_counts(rx, &cnt);
	assert_int_equal(c[1].srtp_errors, 1);
	assert_int_equal(c[1].decrypted, 0);
	/* new keys (a re-INVITE): counters of the same entry kept */
	{
		struct rec_srtp_key k[2];
		memset(k, 0, sizeof(k));
		k[1].suite = REC_SRTP_AES128_SHA1_80;
		k[1].rtp_port = PORT;
		memcpy(k[1].key, master, sizeof(master));
		assert_int_equal(rec_srtp_set(rx, k, 2), 0);
		c = rec_srtp_counts(rx, &cnt);
		assert_int_equal(c[1].srtp_errors, 1);
	}
	rec_srtp_free(rx);
	srtp_dealloc(tx);
}

/* The same keys again (a re-INVITE): the context stays, so a replayed packet
 * is still refused; other keys: a new context. */
static void test_same_keys_kept(void **state)
{
	srtp_t tx = sender(0);
	struct rec_srtp *rx = receiver(0, 0);
	struct rec_srtp_key k[2];
	const struct rec_srtp_count *c;
	uint8_t p[256], f[600], copy[600];
	unsigned fl, cnt;
	int n;

	(void)state;
	n = (int)rtp_packet(p, 9);
	assert_int_equal(srtp_protect(tx, p, &n), srtp_err_status_ok);
	fl = frame(f, PORT, p, (unsigned)n);
	memcpy(copy, f, fl);
	assert_int_equal(rec_srtp_frame(rx, f, fl), fl - 10);
	receiver_keys(k, 0, 0, master);
	assert_int_equal(rec_srtp_set(rx, k, 2), 0);
	memcpy(f, copy, fl);
	assert_int_equal(rec_srtp_frame(rx, f, fl), fl); /* replay: refused */
	k[1].key[0] ^= 1;
	assert_int_equal(rec_srtp_set(rx, k, 2), 0);
	memcpy(f, copy, fl);
	assert_int_equal(rec_srtp_frame(rx, f, fl), fl); /* wrong key now */
	k[1].key[0] ^= 1;
	assert_int_equal(rec_srtp_set(rx, k, 2), 0);
	memcpy(f, copy, fl);
	assert_int_equal(rec_srtp_frame(rx, f, fl), fl - 10); /* a fresh context */
	c = rec_srtp_counts(rx, &cnt);
	assert_int_equal(c[1].decrypted, 2);
	assert_int_equal(c[1].srtp_errors, 2);
	rec_srtp_free(rx);
	srtp_dealloc(tx);
}

/* Tags in front of the IPv4 header: an 802.1ad S-tag alone, and QinQ (S-tag + C-tag,
 * or two 802.1Q tags): the dataplane records such frames, they are decrypted too. */
static void test_vlan_tags(void **state)
{
	static const uint16_t tpids[][2] = {{0x8100, 0}, {0x88a8, 0}, {0x88a8, 0x8100},
					    {0x8100, 0x8100}};
	srtp_t tx = sender(0);
	struct rec_srtp *rx = receiver(0, 0);
	const struct rec_srtp_count *c;
	uint8_t p[256], plain[256], f[600], want[600];
	unsigned cnt;

	(void)state;
	for (unsigned k = 0; k < sizeof(tpids) / sizeof(tpids[0]); k++) {
		unsigned plen = rtp_packet(plain, (uint16_t)(20 + k)), tags = tpids[k][1] ? 2 : 1;
		unsigned wl, fl, hl = 12 + 4 * tags;
		int n = (int)plen;

		memcpy(p, plain, plen);
		assert_int_equal(srtp_protect(tx, p, &n), srtp_err_status_ok);
		/* the untagged frames, then the tags put in after the MAC addresses */
		wl = frame(want, PORT, plain, plen);
		fl = frame(f, PORT, p, (unsigned)n);
		memmove(want + hl, want + 12, wl - 12);
		memmove(f + hl, f + 12, fl - 12);
		for (unsigned t = 0; t < tags; t++) {
			put16(want + 12 + 4 * t, tpids[k][t]);
			put16(f + 12 + 4 * t, tpids[k][t]);
			put16(want + 14 + 4 * t, 100 + t);
			put16(f + 14 + 4 * t, 100 + t);
		}
		wl += 4 * tags;
		fl += 4 * tags;
		assert_int_equal(rec_srtp_frame(rx, f, fl), wl);
		assert_memory_equal(f, want, wl);
	}
	c = rec_srtp_counts(rx, &cnt);
	assert_int_equal(c[1].decrypted, 4);
	assert_int_equal(c[1].srtp_errors, 0);
	rec_srtp_free(rx);
	srtp_dealloc(tx);
}

/* The sequence number wraps (the rollover counter goes to 1): packets on both sides
 * of 65535, with one lost and two swapped across the wrap, all decrypt. */
static void test_rollover(void **state)
{
	static const uint16_t order[] = {65530, 65531, 65532, 65534, 0, 65535, 1, 2, 4, 5};
	srtp_t tx = sender(0);
	struct rec_srtp *rx = receiver(0, 0);
	uint8_t p[256], prot[16][256];
	int len[16];
	const struct rec_srtp_count *c;
	unsigned cnt;

	(void)state;
	/* protected in sending order (65533 and 3 never arrive) */
	for (unsigned i = 0; i < 12; i++) {
		uint16_t seq = (uint16_t)(65530 + i);
		len[i] = (int)rtp_packet(prot[i], seq);
		assert_int_equal(srtp_protect(tx, prot[i], &len[i]), srtp_err_status_ok);
	}
	for (unsigned k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		unsigned i = (uint16_t)(order[k] - 65530), plen = rtp_packet(p, order[k]);
		uint8_t f[600], want[600];
		unsigned wl = frame(want, PORT, p, plen), fl = frame(f, PORT, prot[i], (unsigned)len[i]);

		assert_int_equal(rec_srtp_frame(rx, f, fl), wl);
		assert_memory_equal(f, want, wl);
	}
	c = rec_srtp_counts(rx, &cnt);
	assert_int_equal(c[1].decrypted, sizeof(order) / sizeof(order[0]));
	assert_int_equal(c[1].srtp_errors, 0);
	rec_srtp_free(rx);
	srtp_dealloc(tx);
}

/* Protect seq with tx, frame it, decrypt: the original frame back when ok, else the
 * frame as received. */
static void send_seq(srtp_t tx, struct rec_srtp *rx, uint16_t seq, int ok)
{
	uint8_t p[256], f[600], want[600];
	unsigned plen = rtp_packet(p, seq), wl = frame(want, PORT, p, plen), fl;
	int n = (int)plen;

	assert_int_equal(srtp_protect(tx, p, &n), srtp_err_status_ok);
	fl = frame(f, PORT, p, (unsigned)n);
	if (ok) {
		assert_int_equal(rec_srtp_frame(rx, f, fl), wl);
		assert_memory_equal(f, want, wl);
	} else {
		assert_int_equal(rec_srtp_frame(rx, f, fl), fl);
	}
}

/* New keys in a re-INVITE after the sequence number wrapped: a sender that goes on
 * with its rollover counter (RFC 3711) decrypts, so does one that restarts it. */
static void test_rekey_keeps_roc(void **state)
{
	uint8_t key_b[30], key_c[30];
	struct rec_srtp_key k[2];
	srtp_t tx = sender(0), tx_b, tx_c;
	struct rec_srtp *rx = receiver(0, 0);
	const struct rec_srtp_count *c;
	unsigned cnt;

	(void)state;
	memcpy(key_b, master, sizeof(key_b));
	key_b[0] ^= 0x55;
	memcpy(key_c, master, sizeof(key_c));
	key_c[3] ^= 0x55;
	for (unsigned i = 0; i < 10; i++) /* 65530 .. 3: the counter goes to 1 */
		send_seq(tx, rx, (uint16_t)(65530 + i), 1);
	/* key B: its sender at counter 1 too (packets protected but never sent) */
	tx_b = sender_key(0, key_b);
	for (unsigned i = 0; i < 7; i++) {
		uint8_t p[256];
		int n = (int)rtp_packet(p, (uint16_t)(65530 + i));

		assert_int_equal(srtp_protect(tx_b, p, &n), srtp_err_status_ok);
	}
	receiver_keys(k, 0, 0, key_b);
	assert_int_equal(rec_srtp_set(rx, k, 2), 0);
	for (uint16_t seq = 4; seq < 8; seq++)
		send_seq(tx_b, rx, seq, 1);
	send_seq(tx, rx, 8, 0); /* the old key is gone */
	/* key C: a sender that restarts at counter 0 */
	tx_c = sender_key(0, key_c);
	receiver_keys(k, 0, 0, key_c);
	assert_int_equal(rec_srtp_set(rx, k, 2), 0);
	for (uint16_t seq = 9; seq < 12; seq++)
		send_seq(tx_c, rx, seq, 1);
	c = rec_srtp_counts(rx, &cnt);
	assert_int_equal(c[1].decrypted, 17);
	assert_int_equal(c[1].srtp_errors, 1);
	rec_srtp_free(rx);
	srtp_dealloc(tx);
	srtp_dealloc(tx_b);
	srtp_dealloc(tx_c);
}

/* A short or non-UDP frame is left alone. */
static void test_not_udp(void **state)
{
	struct rec_srtp *rx = receiver(0, 0);
	uint8_t f[80];

	(void)state;
	memset(f, 0, sizeof(f));
	assert_int_equal(rec_srtp_frame(rx, f, 10), 10);
	put16(f + 12, 0x0806);
	assert_int_equal(rec_srtp_frame(rx, f, sizeof(f)), sizeof(f));
	rec_srtp_free(rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha1_80),
		cmocka_unit_test(test_sha1_32),
		cmocka_unit_test(test_rtcp_mux),
		cmocka_unit_test(test_mki1),
		cmocka_unit_test(test_mki4),
		cmocka_unit_test(test_bad_tag),
		cmocka_unit_test(test_same_keys_kept),
		cmocka_unit_test(test_not_udp),
		cmocka_unit_test(test_vlan_tags),
		cmocka_unit_test(test_rollover),
		cmocka_unit_test(test_rekey_keeps_roc),
	};

	assert_int_equal(rec_srtp_lib_init(), 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
