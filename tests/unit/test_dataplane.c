/* SPDX-License-Identifier: BSD-3-Clause
 * The real worker over net_ring ports: flows added and deleted many times
 * through the command ring while traffic runs (each with a next hop of its own,
 * so next-hop slots are reused); the flows nobody touched must lose nothing. TURN ChannelData, RTCP on the RTP flow (rtcp-mux), ICMP echo,
 * chained frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "config/cfg.h"
#include "controlplane/cp_priv.h"
#include "dataplane/dp.h"
#include "dataplane/dp_parse.h"
#include "dataplane/dp_rewrite.h"
#include "ut_ring.h"

#define N_STABLE 8
#define PKTS_PER_FLOW 2000
#define CHURN_ROUNDS 400
#define CHURN_FLOWS 16

static struct ut_port in, out;

static const char *cfg_fmt =
	"ports:\n"
	"  - { name: in, device: \"%s\", ipv4: 192.0.2.10/24 }\n"
	"  - { name: out, device: \"%s\", ipv4: 203.0.113.10/24, gateway: 203.0.113.1,\n"
	"      gateway_mac: \"02:00:00:00:00:01\" }\n"
	"workers: 1\n"
	"recording: { dir: /tmp }\n"
	"flows:\n";

static struct rte_mbuf *make_udp(uint16_t dport, uint16_t seq)
{
	return ut_udp(0xc6336405 /* 198.51.100.5 */, 0xc000020a /* 192.0.2.10 */, 4000, dport,
		      seq);
}

static void inject(struct cp_ctx *cp, struct rte_mbuf *m)
{
	while (rte_ring_sp_enqueue(in.rx[0], m) != 0)
		cp_poll(cp);
}

/* Count what came out per forwarded destination port (40000 + i). */
static void drain_out(uint64_t *got, uint64_t *other)
{
	void *objs[64];
	unsigned n;

	while ((n = rte_ring_sc_dequeue_burst(out.tx[0], objs, 64, NULL)) != 0) {
		for (unsigned i = 0; i < n; i++) {
			struct rte_mbuf *m = objs[i];
			struct dp_parsed p;
			enum dp_drop why;
			assert_int_equal(rte_pktmbuf_linearize(m), 0); /* a chained one */
			if (dp_parse(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m), &p,
				     &why) == DP_PKT_UDP4) {
				unsigned port = rte_be_to_cpu_16(p.dst_port);
				if (port >= 40000 && port < 40000 + N_STABLE)
					got[port - 40000]++;
				else
					(*other)++;
			}
			rte_pktmbuf_free(m);
		}
	}
}

/* Load yaml, make the dataplane and the control plane, launch the worker with its
 * static flows in and RX on. */
static struct cp_ctx *start_planes(const char *yaml, size_t len, struct cfg **cfg,
				   struct dp_ctx **dp)
{
	struct cp_ctx *cp;

	assert_int_equal(cfg_load_string("t", yaml, len, cfg, stderr), 0);
	assert_int_equal(dp_create(*cfg, dp), 0);
	cp = cp_create(*cfg, *dp, NULL);
	assert_non_null(cp);
	assert_int_equal(dp_launch(*dp), 0);
	assert_int_equal(cp_program_static_flows(cp), 0);
	assert_int_equal(cp_start_rx(cp), 0);
	return cp;
}

/* Churned flow k of round r: each with a next hop of its own (MAC given), so the
 * worker's 256 next-hop slots must be reused as flows go. */
static void churn_msg(struct dp_msg *m, int add, unsigned k, unsigned r)
{
	memset(m, 0, sizeof(*m));
	m->type = add ? DP_CMD_FLOW_ADD : DP_CMD_FLOW_DEL;
	if (add) {
		m->u.spec.key.dst_ip = rte_cpu_to_be_32(0xc000020a);
		m->u.spec.key.dst_port = rte_cpu_to_be_16((uint16_t)(50000 + k));
		m->u.spec.flow_id = 1000000 + k;
		m->u.spec.rec_id = DP_REC_NONE;
		m->u.spec.actions = DP_ACT_FORWARD;
		m->u.spec.out_port = 1;
		m->u.spec.fwd_dst_ip = rte_cpu_to_be_32(0xc6120007);
		m->u.spec.fwd_dst_port = rte_cpu_to_be_16(45000);
		m->u.spec.fwd_src_ip = rte_cpu_to_be_32(0xcb00710a);
		m->u.spec.nexthop_ip = rte_cpu_to_be_32(0xc6330000 + r * CHURN_FLOWS + k);
		m->u.spec.has_nexthop_mac = 1;
		memcpy(m->u.spec.nexthop_mac, "\x02\x00\x00\x00\x00\x01", 6);
	} else {
		m->u.del.key.dst_ip = rte_cpu_to_be_32(0xc000020a);
		m->u.del.key.dst_port = rte_cpu_to_be_16((uint16_t)(50000 + k));
		m->u.del.flow_id = 1000000 + k;
	}
}

static void test_churn_while_traffic(void **state)
{
	char yaml[4096];
	size_t len;
	struct cfg *cfg = NULL;
	struct dp_ctx *dp = NULL;
	struct cp_ctx *cp;
	uint64_t got[N_STABLE] = {0}, other = 0, churn_sent = 0;
	uint16_t seq[N_STABLE] = {0};
	struct dp_msg m;

	(void)state;
	len = (size_t)snprintf(yaml, sizeof(yaml), cfg_fmt, in.name, out.name);
	for (unsigned i = 0; i < N_STABLE; i++)
		len += (size_t)snprintf(yaml + len, sizeof(yaml) - len,
					"  - { name: s%u, match: { dst: \"192.0.2.10:%u\" }, actions: "
					"[forward], forward: { to: \"198.18.0.7:%u\", port: out } }\n",
					i, 30000 + i, 40000 + i);
	cp = start_planes(yaml, len, &cfg, &dp);

	for (unsigned r = 0; r < CHURN_ROUNDS; r++) {
		for (unsigned k = 0; k < CHURN_FLOWS; k++) {
			churn_msg(&m, 1, k, r);
			assert_int_equal(cp_send(cp, 0, &m), 0);
		}
		for (unsigned i = 0; i < N_STABLE; i++)
			for (unsigned j = 0; j < PKTS_PER_FLOW / CHURN_ROUNDS; j++)
				inject(cp, make_udp((uint16_t)(30000 + i), seq[i]++));
		for (unsigned k = 0; k < CHURN_FLOWS; k += 4, churn_sent++)
			inject(cp, make_udp((uint16_t)(50000 + k), 0));
		for (unsigned k = 0; k < CHURN_FLOWS; k++) {
			churn_msg(&m, 0, k, r);
			assert_int_equal(cp_send(cp, 0, &m), 0);
		}
		cp_poll(cp);
		drain_out(got, &other);
	}
	/* let the worker take everything, then stop it (final counters) */
	for (int i = 0; i < 2000 && dp_counters(dp, 0)->rx_packets <
						N_STABLE * PKTS_PER_FLOW + churn_sent; i++)
		usleep(1000);
	assert_int_equal(cp_collect_stats(cp, 1), 0);
	dp_wait(dp);
	drain_out(got, &other);

	const struct dp_worker_counters *c = dp_counters(dp, 0);
	for (unsigned i = 0; i < N_STABLE; i++) {
		assert_int_equal(got[i], PKTS_PER_FLOW);
		assert_int_equal(cp_static_agg(cp, i)->packets, PKTS_PER_FLOW);
		assert_int_equal(cp_static_agg(cp, i)->rtp_lost, 0);
	}
	assert_int_equal(c->rx_packets, N_STABLE * PKTS_PER_FLOW + churn_sent);
	/* a churned flow's packet is either forwarded or counted as no_flow */
	assert_int_equal(other + c->drops[0][DP_DROP_NO_FLOW], churn_sent);
	assert_int_equal(cp->st.add_failed, 0);
	cp_free(cp);
	dp_destroy(dp);
	cfg_free(cfg);
}

#define RELAY_IP 0xcb007163 /* 203.0.113.99 */
#define RELAY_PORT 3478

/* From the relay to 192.0.2.10:30000: ChannelData(channel) around an RTP packet with
 * sequence seq (first byte 0x80 without the header: not ChannelData at all). */
static struct rte_mbuf *make_channel_data(uint16_t channel, uint16_t seq)
{
	struct rte_mbuf *inner = ut_udp(0x01020304, 0xc000020a, 1, 30000, seq);
	struct rte_mbuf *m = rte_pktmbuf_alloc(ut_pool);
	const uint16_t plen = (uint16_t)(rte_pktmbuf_data_len(inner) - 42);
	const uint16_t hdr = channel ? 4 : 0;
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(42 + hdr + plen));
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + 14);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	memcpy(p, rte_pktmbuf_mtod(inner, uint8_t *), 42);
	memcpy(p + 42 + hdr, rte_pktmbuf_mtod(inner, uint8_t *) + 42, plen);
	rte_pktmbuf_free(inner);
	if (hdr) {
		p[42] = (uint8_t)(channel >> 8), p[43] = (uint8_t)channel;
		p[44] = (uint8_t)(plen >> 8), p[45] = (uint8_t)plen;
	}
	ip->src_addr = rte_cpu_to_be_32(RELAY_IP);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(28 + hdr + plen));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(RELAY_PORT);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(8 + hdr + plen));
	return m;
}

/* A TURN flow (the relay's address -> ours) with a bound channel: the peer's datagrams
 * come out of the ChannelData and go through the media flow; others are turn_bad. */
static void test_turn_channel_data(void **state)
{
	char yaml[4096];
	size_t len;
	struct cfg *cfg = NULL;
	struct dp_ctx *dp = NULL;
	struct cp_ctx *cp;
	uint64_t got[N_STABLE] = {0}, other = 0;
	struct dp_msg m;

	(void)state;
	/* fresh ring ports: the previous test's context closed its own */
	assert_int_equal(ut_port_create(&in, "ut_tin", 1), 0);
	assert_int_equal(ut_port_create(&out, "ut_tout", 1), 0);
	len = (size_t)snprintf(yaml, sizeof(yaml), cfg_fmt, in.name, out.name);
	len += (size_t)snprintf(yaml + len, sizeof(yaml) - len,
				"  - { name: media, match: { dst: \"192.0.2.10:30000\" }, actions: "
				"[forward], forward: { to: \"198.18.0.7:40000\", port: out } }\n");
	cp = start_planes(yaml, len, &cfg, &dp);

	const uint64_t answers0 = cp->st.answers;
	memset(&m, 0, sizeof(m));
	m.type = DP_CMD_FLOW_ADD;
	m.u.spec.key = (struct dp_flow_key){ rte_cpu_to_be_32(RELAY_IP), rte_cpu_to_be_32(0xc000020a),
					     rte_cpu_to_be_16(RELAY_PORT), rte_cpu_to_be_16(30000), 0 };
	m.u.spec.flow_id = 777;
	m.u.spec.rec_id = DP_REC_NONE;
	m.u.spec.actions = DP_ACT_TURN;
	assert_int_equal(cp_send(cp, 0, &m), 0);
	struct dp_flow_key key = m.u.spec.key;
	memset(&m, 0, sizeof(m));
	m.type = DP_CMD_TURN_CHANNEL;
	m.u.chan.key = key;
	m.u.chan.channel = 0x4001;
	m.u.chan.peer_ip = rte_cpu_to_be_32(0xc6336407);
	m.u.chan.peer_port = rte_cpu_to_be_16(5004);
	assert_int_equal(cp_send(cp, 0, &m), 0);
	/* the worker reads commands on its tick and packets on every pass: the relay's
	 * packets would match the media flow straight if they came before both answers */
	for (int i = 0; i < 2000 && cp->st.answers < answers0 + 2; i++) {
		cp_poll(cp);
		usleep(1000);
	}
	assert_int_equal(cp->st.answers, answers0 + 2);

	for (uint16_t s = 1; s <= 10; s++)
		inject(cp, make_channel_data(0x4001, s));
	inject(cp, make_channel_data(0x4002, 11)); /* no such channel */
	inject(cp, make_channel_data(0, 12));      /* RTP straight from the relay */
	for (int i = 0; i < 2000 && dp_counters(dp, 0)->rx_packets < 12; i++)
		usleep(1000);
	assert_int_equal(cp_collect_stats(cp, 1), 0);
	dp_wait(dp);
	drain_out(got, &other);

	const struct dp_worker_counters *c = dp_counters(dp, 0);
	assert_int_equal(got[0], 10);
	assert_int_equal(cp_static_agg(cp, 0)->packets, 10);
	assert_int_equal(cp_static_agg(cp, 0)->rtp_lost, 0);
	assert_int_equal(c->drops[0][DP_DROP_TURN_BAD], 2);
	assert_int_equal(cp->st.add_failed, 0);
	cp_free(cp);
	dp_destroy(dp);
	cfg_free(cfg);
}

/* Config with one forwarded flow 192.0.2.10:30000 -> 198.18.0.7:40000 on fresh ring ports
 * (the previous test's context closed its own). */
static struct cp_ctx *start_media(const char *tag_in, const char *tag_out, struct cfg **cfg,
				  struct dp_ctx **dp)
{
	char yaml[4096];
	size_t len;

	assert_int_equal(ut_port_create(&in, tag_in, 1), 0);
	assert_int_equal(ut_port_create(&out, tag_out, 1), 0);
	len = (size_t)snprintf(yaml, sizeof(yaml), cfg_fmt, in.name, out.name);
	len += (size_t)snprintf(yaml + len, sizeof(yaml) - len,
				"  - { name: media, match: { dst: \"192.0.2.10:30000\" }, actions: "
				"[forward], forward: { to: \"198.18.0.7:40000\", port: out } }\n");
	return start_planes(yaml, len, cfg, dp);
}

/* rtcp-mux: an RTCP receiver report on the RTP flow is forwarded like the RTP but must
 * not restart the flow's RTP statistics (its bytes 8-11 are no SSRC of the stream). */
static void test_rtcp_mux_stats(void **state)
{
	struct cfg *cfg = NULL;
	struct dp_ctx *dp = NULL;
	struct cp_ctx *cp;
	uint64_t got[N_STABLE] = {0}, other = 0, sent = 0;

	(void)state;
	cp = start_media("ut_rin", "ut_rout", &cfg, &dp);
	for (uint16_t q = 1; q <= 200; q++) {
		if (q % 10 != 5) {
			inject(cp, make_udp(30000, q));
			sent++;
		}
		if (q == 100) {
			struct rte_mbuf *m = make_udp(30000, 0);
			uint8_t *rr = rte_pktmbuf_mtod(m, uint8_t *) + 42;
			const uint8_t hdr[12] = {0x81, 201, 0x00, 0x07, 0x55, 0x66, 0x77, 0x88,
						 0xca, 0xfe, 0xf0, 0x0d};
			memcpy(rr, hdr, sizeof(hdr));
			inject(cp, m);
			sent++;
		}
	}
	for (int i = 0; i < 2000 && dp_counters(dp, 0)->rx_packets < sent; i++)
		usleep(1000);
	assert_int_equal(cp_collect_stats(cp, 1), 0);
	dp_wait(dp);
	drain_out(got, &other);

	const struct cp_flow_agg *a = cp_static_agg(cp, 0);
	assert_int_equal(got[0], sent); /* the RR went on too */
	assert_int_equal(a->packets, sent);
	/* 180 RTP packets (seq 1..200, every tenth lost), the first in probation:
	 * received 179, expected 200 - 2 + 1 = 199, lost 20 */
	assert_int_equal(a->rtp_received, 179);
	assert_int_equal(a->rtp_expected, 199);
	assert_int_equal(a->rtp_lost, 20);
	cp_free(cp);
	dp_destroy(dp);
	cfg_free(cfg);
}

/* Frames longer than an mbuf (dataplane.mbuf_size) come chained: forwarded whole,
 * with a UDP checksum that verifies, and counted in the RTP statistics; they were
 * dropped as ip_bad_length (the IPv4 length was checked against the first segment). */
static void test_chained_frame(void **state)
{
	struct cfg *cfg = NULL;
	struct dp_ctx *dp = NULL;
	struct cp_ctx *cp;
	uint64_t got[N_STABLE] = {0}, other = 0;
	void *objs[16];
	unsigned n_out = 0;

	(void)state;
	cp = start_media("ut_cin", "ut_cout", &cfg, &dp);
	for (uint16_t q = 1; q <= 10; q++) {
		struct rte_mbuf *m = make_udp(30000, q), *tail = rte_pktmbuf_alloc(ut_pool);
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
		const uint16_t head = 100, rest = (uint16_t)(rte_pktmbuf_data_len(m) - head);

		rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, 34)->dgram_cksum =
			rte_ipv4_udptcp_cksum(ip, ip + 1);
		memcpy(rte_pktmbuf_append(tail, rest), rte_pktmbuf_mtod_offset(m, void *, head),
		       rest);
		rte_pktmbuf_trim(m, rest);
		assert_int_equal(rte_pktmbuf_chain(m, tail), 0);
		inject(cp, m);
	}
	for (int i = 0; i < 2000 && rte_ring_count(out.tx[0]) < 10; i++)
		usleep(1000);
	for (unsigned n; (n = rte_ring_sc_dequeue_burst(out.tx[0], objs, 16, NULL)) != 0;) {
		for (unsigned i = 0; i < n; i++, n_out++) {
			struct rte_mbuf *m = objs[i];
			assert_int_equal(rte_pktmbuf_pkt_len(m), 214);
			assert_int_equal(rte_pktmbuf_linearize(m), 0);
			const struct rte_ipv4_hdr *ip =
				rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, 14);
			assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, ip + 1), 0);
			assert_int_equal(dp_ipv4_csum((const uint8_t *)ip, 20), 0);
			rte_pktmbuf_free(m);
		}
	}
	assert_int_equal(cp_collect_stats(cp, 1), 0);
	dp_wait(dp);
	drain_out(got, &other);
	assert_int_equal(n_out, 10);
	assert_int_equal(dp_counters(dp, 0)->drops[0][DP_DROP_IP_BAD_LENGTH], 0);
	assert_int_equal(cp_static_agg(cp, 0)->packets, 10);
	assert_int_equal(cp_static_agg(cp, 0)->rtp_received, 9); /* the first in probation */
	assert_int_equal(cp_static_agg(cp, 0)->rtp_lost, 0);
	cp_free(cp);
	dp_destroy(dp);
	cfg_free(cfg);
}

/* An ICMP echo request 198.51.100.5 -> 192.0.2.10 with the given TTL, id 0x1234 seq 1,
 * 8 bytes of data (zero: id 0, seq 0, zero data, so the reply is zeros but for its
 * checksum), valid checksums. */
static struct rte_mbuf *make_echo(uint8_t ttl, bool zero)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(ut_pool);
	const uint16_t len = 14 + 20 + 8 + 8;
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, len);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + 14);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);

	memset(p, 0, len);
	p[12] = 0x08;
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(len - 14);
	ip->time_to_live = ttl;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = rte_cpu_to_be_32(0xc6336405);
	ip->dst_addr = rte_cpu_to_be_32(0xc000020a);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	if (!zero) {
		icmp->icmp_ident = rte_cpu_to_be_16(0x1234);
		icmp->icmp_seq_nb = rte_cpu_to_be_16(1);
		memcpy(icmp + 1, "rtprec!", 8);
	}
	icmp->icmp_cksum = dp_ipv4_csum((const uint8_t *)icmp, 16);
	return m;
}

/* The echo reply to a request that came with a nearly spent TTL leaves with a fresh
 * one (64) and IPv4 and ICMP checksums that verify, also the all-zero reply's (0xFFFF:
 * RFC 1624's incremental update gives 0x0000, which sums to +0 and fails). */
static void test_icmp_echo_ttl(void **state)
{
	static const uint8_t ttls[] = {1, 2, 64, 255};
	struct cfg *cfg = NULL;
	struct dp_ctx *dp = NULL;
	struct cp_ctx *cp;
	unsigned n_replies = 0;
	void *objs[8];

	(void)state;
	cp = start_media("ut_iin", "ut_iout", &cfg, &dp);
	for (unsigned i = 0; i < RTE_DIM(ttls); i++)
		inject(cp, make_echo(ttls[i], i == 1));
	for (int i = 0; i < 2000 && rte_ring_count(in.tx[0]) < RTE_DIM(ttls); i++) {
		cp_poll(cp);
		usleep(1000);
	}
	assert_int_equal(cp_collect_stats(cp, 1), 0);
	dp_wait(dp);
	for (unsigned n; (n = rte_ring_sc_dequeue_burst(in.tx[0], objs, 8, NULL)) != 0;) {
		for (unsigned i = 0; i < n; i++, n_replies++) {
			struct rte_mbuf *m = objs[i];
			uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
			const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + 14);
			const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)(ip + 1);

			assert_int_equal(rte_pktmbuf_data_len(m), 50);
			assert_int_equal(ip->time_to_live, 64);
			assert_int_equal(ip->next_proto_id, IPPROTO_ICMP);
			assert_int_equal(dp_ipv4_csum((const uint8_t *)ip, 20), 0);
			assert_int_equal(ip->src_addr, rte_cpu_to_be_32(0xc000020a));
			assert_int_equal(ip->dst_addr, rte_cpu_to_be_32(0xc6336405));
			assert_int_equal(icmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
			assert_int_equal(dp_ipv4_csum((const uint8_t *)icmp, 16), 0);
			rte_pktmbuf_free(m);
		}
	}
	assert_int_equal(n_replies, RTE_DIM(ttls));
	cp_free(cp);
	dp_destroy(dp);
	cfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_churn_while_traffic),
		cmocka_unit_test(test_turn_channel_data),
		cmocka_unit_test(test_rtcp_mux_stats),
		cmocka_unit_test(test_icmp_echo_ttl),
		cmocka_unit_test(test_chained_frame),
	};
	if (ut_eal_init("ut_dp", "0@0,1@1") != 0 || ut_port_create(&in, "ut_in", 1) != 0 ||
	    ut_port_create(&out, "ut_out", 1) != 0) {
		fprintf(stderr, "EAL or ring ports could not be set up\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
