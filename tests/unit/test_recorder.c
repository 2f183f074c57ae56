/* SPDX-License-Identifier: BSD-3-Clause
 * Recorder: items from a record ring land in per-stream pcap files, bytes
 * and nanosecond timestamps intact, complete after rec_stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/dp_contract.h"
#include "recorder/rec.h"

static struct rte_mempool *pool;

static struct rte_mbuf *frame(uint32_t len, uint8_t fill)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);

	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(fill + i);
	return m;
}

/* Read a pcap: count packets, check each frame's bytes and ns timestamps. */
static int check_pcap(const char *path, unsigned want, uint8_t fill0, uint32_t len)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	unsigned n = 0;
	long prev_ns = -1;

	assert_non_null(p);
	assert_int_equal(pcap_get_tstamp_precision(p), PCAP_TSTAMP_PRECISION_NANO);
	while (pcap_next_ex(p, &h, &d) == 1) {
		long ns = (long)h->ts.tv_sec * 1000000000L + h->ts.tv_usec;
		assert_int_equal(h->caplen, len);
		for (uint32_t i = 0; i < len; i++)
			assert_int_equal(d[i], (uint8_t)(fill0 + n + i));
		assert_true(ns > prev_ns); /* distinct TSCs give increasing times */
		prev_ns = ns;
		n++;
	}
	pcap_close(p);
	assert_int_equal(n, want);
	return 0;
}

static void test_two_streams(void **state)
{
	char dir[] = "/tmp/rtprec-rec-XXXXXX", a[256], b[256];
	struct rte_ring *ring;
	struct rec_ctx *r;
	struct rec_totals t;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a.pcap", dir);
	snprintf(b, sizeof(b), "%s/b.pcap", dir);
	ring = rte_ring_create_elem("ut_rec", DP_REC_ITEM_SIZE, 1024, 0,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	assert_non_null(ring);
	r = rec_create(&ring, 1, 4);
	assert_non_null(r);
	assert_int_equal(rec_stream_open(r, 0, a), 0);
	assert_int_equal(rec_start(r), 0);
	assert_int_equal(rec_stream_open(r, 3, b), 0); /* through the command ring */
	usleep(20000);
	for (unsigned i = 0; i < 300; i++) {
		struct dp_rec_item it = {
			.m = frame(i % 2 ? 214 : 60, (uint8_t)(i / 2)),
			.tsc = rte_rdtsc() + i * 1000,
			.rec_id = i % 2 ? 3 : 0,
		};
		while (rte_ring_sp_enqueue_elem(ring, &it, DP_REC_ITEM_SIZE) != 0)
			usleep(100);
	}
	/* an item for a stream that is not open is dropped, not a crash */
	struct dp_rec_item stray = {.m = frame(60, 0), .tsc = rte_rdtsc(), .rec_id = 2};
	assert_int_equal(rte_ring_sp_enqueue_elem(ring, &stray, DP_REC_ITEM_SIZE), 0);
	rec_stop(r);
	rec_get_totals(r, &t);
	assert_int_equal(t.packets, 300);
	assert_int_equal(t.write_errors, 0);
	assert_int_equal(rte_ring_count(ring), 0);
	check_pcap(a, 150, 0, 60);
	check_pcap(b, 150, 0, 214);
	rec_free(r);
	rte_ring_free(ring);
	unlink(a);
	unlink(b);
	rmdir(dir);
}

static void test_unwritable_dir(void **state)
{
	struct rte_ring *ring = rte_ring_create_elem("ut_rec2", DP_REC_ITEM_SIZE, 64, 0,
						     RING_F_SP_ENQ | RING_F_SC_DEQ);
	struct rec_ctx *r = rec_create(&ring, 1, 1);

	(void)state;
	assert_non_null(r);
	assert_true(rec_stream_open(r, 0, "/nonexistent-dir/x.pcap") < 0);
	assert_true(rec_stream_open(r, 5, "/tmp/x.pcap") < 0); /* id out of range */
	rec_free(r);
	rte_ring_free(ring);
}

int main(void)
{
	char *argv[] = {"test", "--no-huge", "-m", "128", "--no-pci", "--file-prefix=ut_rec",
			"--log-level=lib.*:error"};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_streams),
		cmocka_unit_test(test_unwritable_dir),
	};

	if (rte_eal_init(RTE_DIM(argv), argv) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("ut_rec_pool", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (pool == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
