/* SPDX-License-Identifier: BSD-3-Clause
 * Frame classifier tests: hand-written frames, every drop reason, and
 * truncation at every length. Each frame is copied into an exactly-sized
 * malloc buffer so ASan catches any read past len. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dataplane/dp_drop.h"
#include "dataplane/dp_parse.h"

/* 02:00:00:00:00:01 -> 02:00:00:00:00:02, 198.51.100.5:4000 -> 192.0.2.10:30000,
 * IPv4 total length 40, UDP length 20, 12-byte RTP payload. 54 bytes. */
static const uint8_t udp_frame[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* MACs */
	0x08, 0x00,                                                             /* IPv4 */
	0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x40, 0x00, 0x40, 0x11, 0x4e, 0x81, /* ver..csum */
	0xc6, 0x33, 0x64, 0x05, 0xc0, 0x00, 0x02, 0x0a,                         /* src, dst */
	0x0f, 0xa0, 0x75, 0x30, 0x00, 0x14, 0xa5, 0x64,                         /* UDP */
	0x80, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x12, 0x34, 0x56, 0x78, /* RTP */
};
#define L3 14
#define L4 34

/* Same datagram behind one 802.1Q tag (VLAN 100). 58 bytes. */
static const uint8_t vlan1_frame[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x81, 0x00, 0x00, 0x64, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x40, 0x00, 0x40, 0x11, 0x4e, 0x81,
	0xc6, 0x33, 0x64, 0x05, 0xc0, 0x00, 0x02, 0x0a,
	0x0f, 0xa0, 0x75, 0x30, 0x00, 0x14, 0xa5, 0x64,
	0x80, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x12, 0x34, 0x56, 0x78,
};

/* QinQ: outer 802.1ad (0x88a8, VLAN 10), inner 802.1Q (VLAN 100). 62 bytes. */
static const uint8_t vlan2_frame[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x40, 0x00, 0x40, 0x11, 0x4e, 0x81,
	0xc6, 0x33, 0x64, 0x05, 0xc0, 0x00, 0x02, 0x0a,
	0x0f, 0xa0, 0x75, 0x30, 0x00, 0x14, 0xa5, 0x64,
	0x80, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x12, 0x34, 0x56, 0x78,
};

/* ARP request: who has 192.0.2.10? tell 192.0.2.1. 42 bytes. */
static const uint8_t arp_frame[] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,     /* htype, ptype, hlen, plen, op */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x02, 0x01, /* sha, spa */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x0a, /* tha, tpa */
};

/* ICMP echo request 198.51.100.5 -> 192.0.2.10, id 0x1234 seq 1, no data.
 * IPv4 total length 28. 42 bytes. */
static const uint8_t icmp_frame[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x00,
	0x45, 0x00, 0x00, 0x1c, 0x00, 0x02, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00,
	0xc6, 0x33, 0x64, 0x05, 0xc0, 0x00, 0x02, 0x0a,
	0x08, 0x00, 0xe5, 0xca, 0x12, 0x34, 0x00, 0x01,
};

/* Parse a len-byte copy of f (exact-size heap buffer). */
static enum dp_pkt_kind parse_copy(const uint8_t *f, uint32_t len, struct dp_parsed *p,
				   enum dp_drop *why)
{
	uint8_t *b = malloc(len ? len : 1);
	assert_non_null(b);
	memcpy(b, f, len);
	/* for len 0 hand out a pointer one past a 1-byte buffer: no byte readable */
	const uint8_t *start = len ? b : b + 1;
	enum dp_pkt_kind k = dp_parse(start, len, p, why);
	free(b);
	return k;
}

/* Parse a copy of f, which must be dropped; the reason. */
static enum dp_drop drop_of(const uint8_t *f, uint32_t len)
{
	struct dp_parsed p;
	enum dp_drop why = DP_DROP_MAX;
	assert_int_equal(parse_copy(f, len, &p, &why), DP_PKT_DROP);
	return why;
}

static void test_udp(void **state)
{
	(void)state;
	struct dp_parsed p;
	enum dp_drop why;
	assert_int_equal(parse_copy(udp_frame, sizeof(udp_frame), &p, &why), DP_PKT_UDP4);
	assert_int_equal(p.l3_off, 14);
	assert_int_equal(p.l4_off, 34);
	assert_int_equal(p.l4_len, 20);
	assert_int_equal(p.ip_len, 40);
	const uint8_t sip[4] = {198, 51, 100, 5}, dip[4] = {192, 0, 2, 10};
	assert_memory_equal(&p.src_ip, sip, 4);
	assert_memory_equal(&p.dst_ip, dip, 4);
	const uint8_t sp[2] = {0x0f, 0xa0}, dpt[2] = {0x75, 0x30};
	assert_memory_equal(&p.src_port, sp, 2);
	assert_memory_equal(&p.dst_port, dpt, 2);

	/* Ethernet padding to 60 bytes after the IP total length is fine */
	uint8_t pad[60];
	memset(pad, 0, sizeof(pad));
	memcpy(pad, udp_frame, sizeof(udp_frame));
	assert_int_equal(parse_copy(pad, sizeof(pad), &p, &why), DP_PKT_UDP4);
	assert_int_equal(p.ip_len, 40);
	assert_int_equal(p.l4_len, 20);

	/* UDP length shorter than the IP payload (trailing bytes) is accepted */
	memcpy(pad, udp_frame, sizeof(udp_frame));
	pad[L4 + 5] = 8;
	assert_int_equal(parse_copy(pad, sizeof(udp_frame), &p, &why), DP_PKT_UDP4);
	assert_int_equal(p.l4_len, 8);
}

static void test_vlan(void **state)
{
	(void)state;
	struct dp_parsed p;
	enum dp_drop why;
	assert_int_equal(parse_copy(vlan1_frame, sizeof(vlan1_frame), &p, &why), DP_PKT_UDP4);
	assert_int_equal(p.l3_off, 18);
	assert_int_equal(p.l4_off, 38);
	assert_int_equal(p.l4_len, 20);
	assert_int_equal(p.ip_len, 40);
	assert_int_equal(parse_copy(vlan2_frame, sizeof(vlan2_frame), &p, &why), DP_PKT_UDP4);
	assert_int_equal(p.l3_off, 22);
	assert_int_equal(p.l4_off, 42);
	assert_int_equal(p.l4_len, 20);

	/* two 802.1Q tags are fine too */
	uint8_t f[sizeof(vlan2_frame)];
	memcpy(f, vlan2_frame, sizeof(f));
	f[12] = 0x81;
	f[13] = 0x00;
	assert_int_equal(parse_copy(f, sizeof(f), &p, &why), DP_PKT_UDP4);
	assert_int_equal(p.l3_off, 22);

	/* a third tag is not IPv4 */
	uint8_t f3[66];
	memcpy(f3, vlan2_frame, 16);
	f3[16] = 0x81; f3[17] = 0x00; f3[18] = 0x00; f3[19] = 0x64;
	f3[20] = 0x81; f3[21] = 0x00; f3[22] = 0x00; f3[23] = 0x05;
	f3[24] = 0x08; f3[25] = 0x00;
	memcpy(f3 + 26, vlan2_frame + 22, 40);
	assert_int_equal(drop_of(f3, sizeof(f3)), DP_DROP_NOT_IPV4);
}

static void test_arp(void **state)
{
	(void)state;
	struct dp_parsed p;
	enum dp_drop why;
	assert_int_equal(parse_copy(arp_frame, sizeof(arp_frame), &p, &why), DP_PKT_ARP);
	assert_int_equal(p.l3_off, 14);

	/* ARP behind a VLAN tag */
	uint8_t v[46];
	memcpy(v, arp_frame, 12);
	v[12] = 0x81; v[13] = 0x00; v[14] = 0x00; v[15] = 0x64;
	memcpy(v + 16, arp_frame + 12, 30);
	assert_int_equal(parse_copy(v, sizeof(v), &p, &why), DP_PKT_ARP);
	assert_int_equal(p.l3_off, 18);

	/* padded to 60 bytes: fine */
	uint8_t pad[60];
	memset(pad, 0, sizeof(pad));
	memcpy(pad, arp_frame, sizeof(arp_frame));
	assert_int_equal(parse_copy(pad, sizeof(pad), &p, &why), DP_PKT_ARP);

	/* each of htype, ptype, hlen, plen wrong */
	static const unsigned at[] = {14, 15, 16, 17, 18, 19};
	for (unsigned i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		uint8_t f[sizeof(arp_frame)];
		memcpy(f, arp_frame, sizeof(f));
		f[at[i]] ^= 0x10;
		assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_ARP_MALFORMED);
	}
}

static void test_icmp(void **state)
{
	(void)state;
	struct dp_parsed p;
	enum dp_drop why;
	assert_int_equal(parse_copy(icmp_frame, sizeof(icmp_frame), &p, &why), DP_PKT_ICMP4);
	assert_int_equal(p.l3_off, 14);
	assert_int_equal(p.l4_off, 34);
	assert_int_equal(p.l4_len, 8);
	assert_int_equal(p.ip_len, 28);

	/* IP total length 24: a 4-byte ICMP message is malformed */
	uint8_t f[sizeof(icmp_frame)];
	memcpy(f, icmp_frame, sizeof(f));
	f[L3 + 3] = 24;
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_ICMP_MALFORMED);
	f[L3 + 3] = 20;
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_ICMP_MALFORMED);
}

static void test_drop_reasons(void **state)
{
	(void)state;
	uint8_t f[sizeof(udp_frame)];
#define RESET() memcpy(f, udp_frame, sizeof(f))

	RESET();
	assert_int_equal(drop_of(f, 13), DP_DROP_ETH_TRUNCATED);
	assert_int_equal(drop_of(f, 0), DP_DROP_ETH_TRUNCATED);

	/* IPv6 ethertype */
	RESET(); f[12] = 0x86; f[13] = 0xdd;
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_NOT_IPV4);
	/* a tag that says IPv6 */
	assert_int_equal(drop_of(vlan1_frame, 16), DP_DROP_VLAN_TRUNCATED);
	{
		uint8_t v[sizeof(vlan1_frame)];
		memcpy(v, vlan1_frame, sizeof(v));
		v[16] = 0x86; v[17] = 0xdd;
		assert_int_equal(drop_of(v, sizeof(v)), DP_DROP_NOT_IPV4);
	}

	RESET(); f[L3] = 0x65; /* version 6 */
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_IP_BAD_VERSION);
	/* a version byte present in a truncated header is still reported as version */
	assert_int_equal(drop_of(f, L3 + 1), DP_DROP_IP_BAD_VERSION);
	RESET();
	assert_int_equal(drop_of(f, L3 + 19), DP_DROP_IP_TRUNCATED);
	assert_int_equal(drop_of(f, L3), DP_DROP_IP_TRUNCATED);

	RESET(); f[L3] = 0x44;
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_IP_BAD_IHL);
	RESET(); f[L3] = 0x40;
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_IP_BAD_IHL);
	RESET(); f[L3] = 0x46;
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_IP_OPTIONS);
	RESET(); f[L3] = 0x4f;
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_IP_OPTIONS);

	RESET(); f[L3 + 2] = 0; f[L3 + 3] = 19; /* total length < 20 */
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_IP_BAD_LENGTH);
	RESET(); f[L3 + 3] = 41;                /* one more than the frame holds */
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_IP_BAD_LENGTH);
	RESET(); f[L3 + 2] = 0xff;
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_IP_BAD_LENGTH);

	RESET(); f[L3 + 6] = 0x20; f[L3 + 7] = 0x00; /* MF */
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_IP_FRAGMENT);
	RESET(); f[L3 + 6] = 0x00; f[L3 + 7] = 0x01; /* offset 8 */
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_IP_FRAGMENT);
	RESET(); f[L3 + 6] = 0x1f; f[L3 + 7] = 0xff; /* largest offset */
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_IP_FRAGMENT);
	RESET(); f[L3 + 6] = 0x80; /* reserved bit alone: not a fragment */
	{
		struct dp_parsed p;
		enum dp_drop why;
		assert_int_equal(parse_copy(f, sizeof(f), &p, &why), DP_PKT_UDP4);
	}

	RESET(); f[L3 + 9] = 6; /* TCP */
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_NOT_UDP);
	RESET(); f[L3 + 9] = 58;
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_NOT_UDP);

	RESET(); f[L3 + 3] = 27; /* 7 bytes of UDP */
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_UDP_TRUNCATED);
	RESET(); f[L3 + 3] = 20; /* no UDP at all */
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_UDP_TRUNCATED);
	RESET(); f[L4 + 5] = 7;  /* UDP length < 8 */
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_UDP_BAD_LENGTH);
	RESET(); f[L4 + 5] = 21; /* UDP length > IP payload */
	assert_int_equal(drop_of(f, sizeof(f)), DP_DROP_UDP_BAD_LENGTH);
	/* UDP length covers Ethernet padding but not the IP payload: bad */
	{
		uint8_t pad[60];
		memset(pad, 0, sizeof(pad));
		memcpy(pad, udp_frame, sizeof(udp_frame));
		pad[L4 + 5] = 26;
		assert_int_equal(drop_of(pad, sizeof(pad)), DP_DROP_UDP_BAD_LENGTH);
	}

	uint8_t a[sizeof(arp_frame)];
	memcpy(a, arp_frame, sizeof(a));
	assert_int_equal(drop_of(a, sizeof(a) - 1), DP_DROP_ARP_MALFORMED);
#undef RESET
}

/* Every strict prefix of a valid frame: never classified as what the whole
 * frame is, never UDP, and the exact reason for each header boundary. */
struct trunc_case {
	const uint8_t *f;
	uint32_t len;
	uint32_t eth_end;   /* first length past all tags (14, 18, 22) */
	int is_arp;
};

static void test_truncation_every_length(void **state)
{
	(void)state;
	const struct trunc_case cases[] = {
		{udp_frame, sizeof(udp_frame), 14, 0},
		{vlan1_frame, sizeof(vlan1_frame), 18, 0},
		{vlan2_frame, sizeof(vlan2_frame), 22, 0},
		{icmp_frame, sizeof(icmp_frame), 14, 0},
		{arp_frame, sizeof(arp_frame), 14, 1},
	};
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct trunc_case *tc = &cases[c];
		for (uint32_t len = 0; len < tc->len; len++) {
			struct dp_parsed p;
			enum dp_drop why = DP_DROP_MAX;
			enum dp_pkt_kind k = parse_copy(tc->f, len, &p, &why);
			assert_int_equal(k, DP_PKT_DROP);
			enum dp_drop want;
			if (len < 14)
				want = DP_DROP_ETH_TRUNCATED;
			else if (len < tc->eth_end)
				want = DP_DROP_VLAN_TRUNCATED;
			else if (tc->is_arp)
				want = DP_DROP_ARP_MALFORMED;
			else if (len < tc->eth_end + 20)
				want = DP_DROP_IP_TRUNCATED;
			else
				want = DP_DROP_IP_BAD_LENGTH; /* total length > bytes present */
			assert_int_equal(why, want);
		}
	}
}

static void test_drop_names(void **state)
{
	(void)state;
	assert_string_equal(dp_drop_name(DP_DROP_ETH_TRUNCATED), "eth_truncated");
	assert_string_equal(dp_drop_name(DP_DROP_NO_FLOW), "no_flow");
	assert_string_equal(dp_drop_name(DP_DROP_EVENT_RING_FULL), "event_ring_full");
	assert_string_equal(dp_drop_name(DP_DROP_MAX), "unknown");
	assert_string_equal(dp_drop_name((enum dp_drop)-1), "unknown");
	for (int i = 0; i < DP_DROP_MAX; i++) {
		assert_non_null(dp_drop_name((enum dp_drop)i));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(dp_drop_name((enum dp_drop)i),
						dp_drop_name((enum dp_drop)j));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_drop_reasons),
		cmocka_unit_test(test_truncation_every_length),
		cmocka_unit_test(test_drop_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
