/* SPDX-License-Identifier: BSD-3-Clause
 * ChannelData and Data indication unwrapping (dp_turn): the relay's datagram becomes the
 * peer's, byte for byte, with valid checksums; everything else is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "dataplane/dp_parse.h"
#include "dataplane/dp_turn.h"

#define RELAY_IP 0xcb00710aU /* 203.0.113.10 */
#define LOCAL_IP 0x0a010002U /* 10.1.0.2 */
#define PEER_IP 0xcb007114U  /* 203.0.113.20 */
#define CHANNEL 0x4001

static const uint8_t payload[] = "\x80\x00\x00\x07\x00\x00\x04\x60\x00\x00\x51\x51 G.711 bytes";

/* relay:3478 -> local:30000 carrying the n bytes of d; vlan: one 802.1Q tag. Returns
 * the frame length. */
static uint32_t relay_udp(uint8_t *f, const uint8_t *d, uint32_t n, int vlan)
{
	uint32_t l3 = vlan ? 18 : 14;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + l3);
	uint8_t *u = f + l3 + 20;

	memset(f, 0, 14);
	f[0] = 2, f[5] = 2, f[6] = 2, f[11] = 1;
	if (vlan) {
		f[12] = 0x81, f[13] = 0x00, f[14] = 0x00, f[15] = 0x64;
	}
	f[l3 - 2] = 0x08, f[l3 - 1] = 0x00;
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->time_to_live = 64;
	ip->next_proto_id = 17;
	ip->src_addr = rte_cpu_to_be_32(RELAY_IP);
	ip->dst_addr = rte_cpu_to_be_32(LOCAL_IP);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + 8 + n));
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	u[0] = 0x0d, u[1] = 0x96, u[2] = 0x75, u[3] = 0x30; /* 3478 -> 30000 */
	u[4] = (uint8_t)((8 + n) >> 8), u[5] = (uint8_t)(8 + n);
	u[6] = u[7] = 0;
	memcpy(u + 8, d, n);
	return l3 + 20 + 8 + n;
}

/* ChannelData(channel, dlen) + payload + pad bytes. */
static uint32_t relay_frame(uint8_t *f, uint16_t channel, uint16_t dlen, unsigned pad, int vlan)
{
	uint8_t d[128];
	uint32_t n = (uint32_t)sizeof(payload);

	d[0] = (uint8_t)(channel >> 8), d[1] = (uint8_t)channel;
	d[2] = (uint8_t)(dlen >> 8), d[3] = (uint8_t)dlen;
	memcpy(d + 4, payload, n);
	memset(d + 4 + n, 0xee, pad);
	return relay_udp(f, d, 4 + n + pad, vlan);
}

/* A Data indication from PEER_IP:40000 with the payload; attribute order as given:
 * peer_first, else DATA first; family 1 (IPv4) or another. */
static uint32_t data_ind_frame(uint8_t *f, int peer_first, uint8_t family)
{
	uint8_t d[160], *a = d + 20;
	uint32_t n = (uint32_t)sizeof(payload), dpad = (n + 3) & ~3u, peer_at, data_at;
	uint32_t xip = PEER_IP ^ 0x2112A442u;

	memset(d, 0, sizeof(d));
	d[1] = 0x17;
	d[4] = 0x21, d[5] = 0x12, d[6] = 0xA4, d[7] = 0x42;
	peer_at = peer_first ? 0 : 4 + dpad;
	data_at = peer_first ? 12 : 0;
	a[peer_at + 1] = 0x12, a[peer_at + 3] = 8;
	a[peer_at + 5] = family;
	a[peer_at + 6] = (uint8_t)((40000 ^ 0x2112) >> 8), a[peer_at + 7] = (uint8_t)(40000 ^ 0x2112);
	a[peer_at + 8] = (uint8_t)(xip >> 24), a[peer_at + 9] = (uint8_t)(xip >> 16);
	a[peer_at + 10] = (uint8_t)(xip >> 8), a[peer_at + 11] = (uint8_t)xip;
	a[data_at + 1] = 0x13, a[data_at + 3] = (uint8_t)n;
	memcpy(a + data_at + 4, payload, n);
	d[3] = (uint8_t)(12 + 4 + dpad);
	return relay_udp(f, d, 20 + 12 + 4 + dpad, 0);
}

static const struct dp_turn_chan chans[DP_TURN_CHANNELS] = {
	{ 0x4000, 0, 0 }, /* another peer */
	{ CHANNEL, 0 /* set below */, 0 },
};

static struct dp_turn_chan table[DP_TURN_CHANNELS];

static int setup(void **state)
{
	(void)state;
	memcpy(table, chans, sizeof(table));
	table[0].peer_ip = rte_cpu_to_be_32(0x01020304);
	table[0].peer_port = rte_cpu_to_be_16(1000);
	table[1].peer_ip = rte_cpu_to_be_32(PEER_IP);
	table[1].peer_port = rte_cpu_to_be_16(40000);
	return 0;
}

static uint32_t shift;

/* Unwrap; 0 or the parsed peer's datagram in *in (frame at f + shift). */
static uint32_t unwrap(uint8_t *f, uint32_t len, struct dp_parsed *in)
{
	struct dp_parsed p;
	enum dp_drop why;

	assert_int_equal(dp_parse(f, len, &p, &why), DP_PKT_UDP4);
	shift = 0;
	uint32_t n = dp_turn_unwrap(f, len, &p, table, DP_TURN_CHANNELS, &shift);
	if (n != 0)
		assert_int_equal(dp_parse(f + shift, n, in, &why), DP_PKT_UDP4);
	return n;
}

static void check_peer_datagram(uint8_t *f, uint32_t n, const struct dp_parsed *in)
{
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + shift + in->l3_off);
	const uint8_t *u = f + shift + in->l4_off;

	assert_int_equal(in->src_ip, rte_cpu_to_be_32(PEER_IP));
	assert_int_equal(in->src_port, rte_cpu_to_be_16(40000));
	assert_int_equal(in->dst_ip, rte_cpu_to_be_32(LOCAL_IP));
	assert_int_equal(in->dst_port, rte_cpu_to_be_16(30000));
	assert_int_equal(in->l4_len, 8 + sizeof(payload));
	assert_int_equal(n, in->l4_off + 8 + sizeof(payload));
	assert_memory_equal(u + 8, payload, sizeof(payload));
	assert_int_equal(rte_ipv4_cksum(ip), 0);
	assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, u), 0);
}

static void test_unwrap(void **state)
{
	uint8_t f[256];
	struct dp_parsed in;
	(void)state;

	for (int vlan = 0; vlan < 2; vlan++) {
		uint32_t len = relay_frame(f, CHANNEL, sizeof(payload), 0, vlan);
		uint32_t n = unwrap(f, len, &in);
		assert_int_equal(n, len - DP_TURN_HDR);
		check_peer_datagram(f, n, &in);
	}
}

/* Padding after the data (TCP-style, or a sloppy relay) is cut. */
static void test_padding_cut(void **state)
{
	uint8_t f[256];
	struct dp_parsed in;
	(void)state;

	uint32_t len = relay_frame(f, CHANNEL, sizeof(payload), 3, 0);
	uint32_t n = unwrap(f, len, &in);
	assert_int_equal(n, len - DP_TURN_HDR - 3);
	check_peer_datagram(f, n, &in);
}

static void test_refused(void **state)
{
	uint8_t f[256], before[256];
	struct dp_parsed in;
	(void)state;
	static const struct { uint16_t channel, dlen; } bad[] = {
		{ 0x4002, sizeof(payload) },     /* no such channel */
		{ CHANNEL, sizeof(payload) + 1 }, /* longer than the datagram */
		{ 0x5001, sizeof(payload) },     /* beyond 0x4FFF */
		{ 0x0001, sizeof(payload) },     /* STUN-like first bits */
		{ 0x8001, sizeof(payload) },     /* RTP-like first bits */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t len = relay_frame(f, bad[i].channel, bad[i].dlen, 0, 0);
		memcpy(before, f, len);
		assert_int_equal(unwrap(f, len, &in), 0);
		assert_memory_equal(f, before, len); /* untouched */
	}
}

/* Data indications (no channel needed): either attribute order; the payload's padding
 * is cut; IPv6 peers and a missing DATA or peer are refused. */
static void test_data_indication(void **state)
{
	uint8_t f[256], before[256];
	struct dp_parsed in;
	uint32_t len;
	(void)state;

	memset(table, 0, sizeof(table)); /* no channel bound */
	for (int peer_first = 0; peer_first < 2; peer_first++) {
		len = data_ind_frame(f, peer_first, 1);
		uint32_t n = unwrap(f, len, &in);
		assert_int_not_equal(n, 0);
		assert_int_equal(shift, peer_first ? 20 + 12 + 4 : 20 + 4);
		check_peer_datagram(f, n, &in);
	}
	len = data_ind_frame(f, 1, 2); /* IPv6 family in an 8-byte attribute */
	memcpy(before, f, len);
	assert_int_equal(unwrap(f, len, &in), 0);
	assert_memory_equal(f, before, len);
	len = data_ind_frame(f, 1, 1);
	f[14 + 20 + 8 + 20 + 1] = 0x99; /* XOR-PEER-ADDRESS becomes an unknown attribute */
	assert_int_equal(unwrap(f, len, &in), 0);
	len = data_ind_frame(f, 1, 1);
	f[14 + 20 + 8 + 3] += 4; /* message length past the datagram */
	assert_int_equal(unwrap(f, len, &in), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_unwrap, setup),
		cmocka_unit_test_setup(test_padding_cut, setup),
		cmocka_unit_test_setup(test_refused, setup),
		cmocka_unit_test_setup(test_data_indication, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
