/* SPDX-License-Identifier: BSD-3-Clause
 * Two workers over two-queue net_ring ports: every flow is on both workers,
 * counters add up across them, and a next hop that one worker learns by ARP
 * releases the frames another worker held for it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>

#include "config/cfg.h"
#include "controlplane/cp_priv.h"
#include "dataplane/dp.h"
#include "dataplane/dp_parse.h"
#include "ut_ring.h"

#define IP_IN 0xc000020a    /* 192.0.2.10 */
#define IP_OUT 0xcb00710a   /* 203.0.113.10 */
#define IP_PEER 0xcb007107  /* 203.0.113.7: on the out subnet, resolved by ARP */
#define IP_SRC 0xc6336405   /* 198.51.100.5 */

static struct ut_port in, out;
static struct cfg *cfg;
static struct dp_ctx *dp;
static struct cp_ctx *cp;

static int setup(void **state)
{
	char yaml[2048];
	size_t len;

	(void)state;
	len = (size_t)snprintf(
		yaml, sizeof(yaml),
		"ports:\n"
		"  - { name: in, device: \"%s\", ipv4: 192.0.2.10/24 }\n"
		"  - { name: out, device: \"%s\", ipv4: 203.0.113.10/24 }\n"
		"workers: 2\n"
		"recording: { dir: /tmp }\n"
		"flows:\n"
		"  - { name: a, match: { dst: \"192.0.2.10:30000\" }, actions: [forward],\n"
		"      forward: { to: \"203.0.113.7:40000\", port: out } }\n"
		"  - { name: b, match: { dst: \"192.0.2.10:30002\" }, actions: [drop] }\n",
		in.name, out.name);
	if (cfg_load_string("workers", yaml, len, &cfg, stderr) != 0 || dp_create(cfg, &dp) != 0)
		return -1;
	cp = cp_create(cfg, dp, NULL);
	if (cp == NULL || dp_launch(dp) != 0 || cp_program_static_flows(cp) != 0 ||
	    cp_start_rx(cp) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cp_free(cp);
	dp_destroy(dp);
	cfg_free(cfg);
	return 0;
}

/* Take what a tx ring holds: UDP frames to 40000 checked and counted, ARP
 * requests for the peer counted. */
static void drain(struct rte_ring *r, const uint8_t *want_dst_mac, unsigned *udp, unsigned *arp)
{
	void *objs[64];
	unsigned n;

	while ((n = rte_ring_sc_dequeue_burst(r, objs, 64, NULL)) != 0) {
		for (unsigned i = 0; i < n; i++) {
			struct rte_mbuf *m = objs[i];
			const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
			struct dp_parsed p;
			enum dp_drop why;
			enum dp_pkt_kind k = dp_parse(f, rte_pktmbuf_data_len(m), &p, &why);
			if (k == DP_PKT_UDP4) {
				assert_int_equal(rte_be_to_cpu_32(p.dst_ip), IP_PEER);
				assert_int_equal(rte_be_to_cpu_16(p.dst_port), 40000);
				assert_memory_equal(f, want_dst_mac, 6);
				(*udp)++;
			} else if (k == DP_PKT_ARP) {
				assert_int_equal(rte_be_to_cpu_32(p.dst_ip), IP_PEER);
				assert_int_equal(rte_be_to_cpu_32(p.src_ip), IP_OUT);
				(*arp)++;
			}
			rte_pktmbuf_free(m);
		}
	}
}

static void test_two_workers_share_flows_and_neighbours(void **state)
{
	static const uint8_t peer_mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x07};
	unsigned udp = 0, arp[2] = {0, 0};

	(void)state;
	/* flow a on both queues (both workers), flow b only on queue 1 */
	for (uint16_t s = 0; s < 10; s++) {
		assert_int_equal(ut_put(in.rx[0], ut_udp(IP_SRC, IP_IN, 4000, 30000, s)), 0);
		assert_int_equal(ut_put(in.rx[1], ut_udp(IP_SRC + 1, IP_IN, 4000, 30000, s)), 0);
		assert_int_equal(ut_put(in.rx[1], ut_udp(IP_SRC, IP_IN, 4000, 30002, s)), 0);
	}
	/* both workers hold flow a's frames and ask for the peer's MAC */
	for (int i = 0; i < 2000 && (arp[0] == 0 || arp[1] == 0); i++) {
		usleep(1000);
		drain(out.tx[0], peer_mac, &udp, &arp[0]);
		drain(out.tx[1], peer_mac, &udp, &arp[1]);
	}
	assert_true(arp[0] >= 1 && arp[1] >= 1);
	assert_int_equal(udp, 0);
	/* the answer reaches worker 0 only (queue 0 of the out port) */
	assert_int_equal(ut_put(out.rx[0], ut_arp_reply(IP_PEER, peer_mac, IP_OUT)), 0);
	for (int i = 0; i < 2000 && udp < 20; i++) {
		cp_poll(cp); /* NEIGH_LEARNED from worker 0 -> NEIGH_SET to worker 1 */
		usleep(1000);
		drain(out.tx[0], peer_mac, &udp, &arp[0]);
		drain(out.tx[1], peer_mac, &udp, &arp[1]);
	}
	assert_int_equal(udp, 20);
	assert_int_equal(cp->neigh_learned, 1);

	assert_int_equal(cp_collect_stats(cp, 1), 0);
	dp_wait(dp);
	assert_int_equal(cp_static_agg(cp, 0)->packets, 20); /* 10 on each worker, summed */
	assert_int_equal(cp_static_agg(cp, 1)->packets, 10);
	assert_int_equal(dp_counters(dp, 0)->rx_packets, 10 + 1);
	assert_int_equal(dp_counters(dp, 1)->rx_packets, 20);
	assert_int_equal(dp_counters(dp, 1)->drops[0][DP_DROP_FLOW_DROP], 10);
	assert_int_equal(dp_counters(dp, 0)->port_tx[1] + dp_counters(dp, 1)->port_tx[1],
			 20 + arp[0] + arp[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_workers_share_flows_and_neighbours, setup,
						teardown),
	};

	/* three lcores on two CPUs: the workers share one, which is fine here */
	if (ut_eal_init("ut_workers", "0@0,1@1,2@1") != 0 ||
	    ut_port_create(&in, "ut_win", 2) != 0 || ut_port_create(&out, "ut_wout", 2) != 0) {
		fprintf(stderr, "EAL or ring ports could not be set up\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
