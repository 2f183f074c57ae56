/* SPDX-License-Identifier: BSD-3-Clause
 * ChannelData unwrapping (dp_turn): the relay's datagram becomes the peer's, byte for
 * byte, with valid checksums; everything else is refused. */
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

/* relay:3478 -> local:30000 carrying ChannelData(channel, dlen) + payload + pad bytes;
 * vlan: one 802.1Q tag. Returns the frame length. */
static uint32_t relay_frame(uint8_t *f, uint16_t channel, uint16_t dlen, unsigned pad, int vlan)
{
	uint32_t l3 = vlan ? 18 : 14, n = (uint32_t)sizeof(payload);
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
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + 8 + 4 + n + pad));
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	u[0] = 0x0d, u[1] = 0x96, u[2] = 0x75, u[3] = 0x30; /* 3478 -> 30000 */
	u[4] = (uint8_t)((8 + 4 + n + pad) >> 8), u[5] = (uint8_t)(8 + 4 + n + pad);
	u[8] = (uint8_t)(channel >> 8), u[9] = (uint8_t)channel;
	u[10] = (uint8_t)(dlen >> 8), u[11] = (uint8_t)dlen;
	memcpy(u + 12, payload, n);
	memset(u + 12 + n, 0xee, pad);
	return l3 + 20 + 8 + 4 + n + pad;
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

/* Unwrap; 0 or the parsed peer's datagram in *in (frame at f + 4). */
static uint32_t unwrap(uint8_t *f, uint32_t len, struct dp_parsed *in)
{
	struct dp_parsed p;
	enum dp_drop why;

	assert_int_equal(dp_parse(f, len, &p, &why), DP_PKT_UDP4);
	uint32_t n = dp_turn_unwrap(f, len, &p, table, DP_TURN_CHANNELS);
	if (n != 0)
		assert_int_equal(dp_parse(f + DP_TURN_HDR, n, in, &why), DP_PKT_UDP4);
	return n;
}

static void check_peer_datagram(uint8_t *f, uint32_t n, const struct dp_parsed *in)
{
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + DP_TURN_HDR + in->l3_off);
	const uint8_t *u = f + DP_TURN_HDR + in->l4_off;

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_unwrap, setup),
		cmocka_unit_test_setup(test_padding_cut, setup),
		cmocka_unit_test_setup(test_refused, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
