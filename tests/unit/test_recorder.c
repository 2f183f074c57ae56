/* SPDX-License-Identifier: BSD-3-Clause
 * Recorder threads: items from the record rings land in per-stream pcap
 * files, bytes and nanosecond timestamps intact, each stream written by the
 * thread its rec_id maps to; periodic flushes per sync mode; a session close
 * reports what was written and runs the hook; write errors are counted and
 * raise the storage error. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

#define MAX_RINGS 8

static struct rte_mempool *pool;
static char dir[64];

struct rig {
	struct rte_ring *rings[MAX_RINGS];
	unsigned workers, threads;
	struct rec_params p;
	struct rec_ctx *r;
};

static void rig_init(struct rig *g, unsigned workers, unsigned threads, enum cfg_rec_sync sync,
		     unsigned interval_ms, const char *on_close)
{
	static unsigned seq;
	char name[32];

	memset(g, 0, sizeof(*g));
	g->workers = workers;
	g->threads = threads;
	for (unsigned i = 0; i < workers * threads; i++) {
		snprintf(name, sizeof(name), "ut_rec%u", seq++);
		g->rings[i] = rte_ring_create_elem(name, DP_REC_ITEM_SIZE, 1024, 0,
						   RING_F_SP_ENQ | RING_F_SC_DEQ);
		assert_non_null(g->rings[i]);
	}
	g->p = (struct rec_params){
		.threads = threads, .max_streams = 64, .sync = sync, .sync_interval_ms = interval_ms,
		.file_mode = 0600, .write_buffer = 256 * 1024, .buffer_limit = 64 << 20,
		.dir = dir, .on_close = on_close, .on_close_timeout_s = 5,
	};
	g->r = rec_create(&g->p, g->rings, workers);
	assert_non_null(g->r);
}

static void rig_fini(struct rig *g)
{
	rec_free(g->r);
	for (unsigned i = 0; i < g->workers * g->threads; i++) {
		assert_int_equal(rte_ring_count(g->rings[i]), 0);
		rte_ring_free(g->rings[i]);
	}
}

static struct rte_mbuf *frame(uint32_t len, uint8_t fill)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);

	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(fill + i);
	return m;
}

/* What a worker does: the ring of the stream's thread. */
static void put(struct rig *g, unsigned worker, uint32_t rec_id, struct rte_mbuf *m, uint64_t tsc)
{
	struct dp_rec_item it = {.m = m, .tsc = tsc, .rec_id = rec_id};
	struct rte_ring *ring = g->rings[worker * g->threads + dp_rec_thread(rec_id, g->threads)];

	while (rte_ring_sp_enqueue_elem(ring, &it, DP_REC_ITEM_SIZE) != 0)
		usleep(100);
}

/* Read a pcap: count packets, check each frame's bytes and ns timestamps. */
static unsigned check_pcap(const char *path, uint8_t fill0, uint32_t len)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	unsigned n = 0;
	long prev_ns = -1;

	if (p == NULL)
		fail_msg("%s: %s", path, err);
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
	return n;
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Two threads, two workers: streams 0 and 3 on different threads (stream 0
 * from worker 0, stream 3 from worker 1: one worker keeps a stream's order);
 * a stray item for a stream that is not open is dropped. */
static void test_two_streams(void **state)
{
	char a[256], b[256];
	struct rec_totals t;
	struct rec_thread_stats s0, s1;
	struct rig g;

	(void)state;
	snprintf(a, sizeof(a), "%s/a.pcap", dir);
	snprintf(b, sizeof(b), "%s/b.pcap", dir);
	rig_init(&g, 2, 2, CFG_REC_SYNC_INTERVAL, 1000, NULL);
	assert_int_equal(rec_stream_open(g.r, 0, a, 0), 0);
	assert_int_equal(rec_start(g.r), 0);
	assert_int_equal(rec_stream_open(g.r, 3, b, 0), 0); /* through the command queue */
	usleep(20000);
	for (unsigned i = 0; i < 300; i++)
		put(&g, i % 2, i % 2 ? 3 : 0, frame(i % 2 ? 214 : 60, (uint8_t)(i / 2)),
		    rte_rdtsc() + i * 1000);
	put(&g, 0, 2, frame(60, 0), rte_rdtsc());
	rec_stop(g.r);
	rec_get_totals(g.r, &t);
	rec_get_thread_stats(g.r, 0, &s0);
	rec_get_thread_stats(g.r, 1, &s1);
	assert_int_equal(t.packets, 300);
	assert_int_equal(s0.packets, 150); /* rec_id 0 */
	assert_int_equal(s1.packets, 150); /* rec_id 3 */
	assert_int_equal(t.dropped, 1);
	assert_int_equal(t.write_errors, 0);
	assert_int_equal(t.open_files, 0);
	assert_int_equal(t.buffer_bytes, 0);
	assert_int_equal(t.storage_error, 0);
	assert_int_equal(check_pcap(a, 0, 60), 150);
	assert_int_equal(check_pcap(b, 0, 214), 150);
	rig_fini(&g);
}

static void test_unwritable_dir(void **state)
{
	struct rig g;

	(void)state;
	rig_init(&g, 1, 1, CFG_REC_SYNC_NONE, 1000, NULL);
	assert_true(rec_stream_open(g.r, 0, "/nonexistent-dir/x.pcap", 0) < 0);
	assert_true(rec_stream_open(g.r, 64, "/tmp/x.pcap", 0) < 0); /* id out of range */
	assert_int_equal(rec_storage_error(g.r), ENOENT);
	rig_fini(&g);
}

/* interval/close: the records reach the file within sync_interval_ms while
 * the stream stays open; none: they wait for a full buffer or the close. */
static void test_periodic_flush(void **state)
{
	const enum cfg_rec_sync modes[] = {CFG_REC_SYNC_INTERVAL, CFG_REC_SYNC_CLOSE,
					   CFG_REC_SYNC_NONE};
	char path[256];

	(void)state;
	for (unsigned k = 0; k < 3; k++) {
		struct rig g;
		struct rec_thread_stats s;
		snprintf(path, sizeof(path), "%s/flush%u.pcap", dir, k);
		rig_init(&g, 1, 1, modes[k], 50, NULL);
		assert_int_equal(rec_stream_open(g.r, 1, path, 0), 0);
		assert_int_equal(rec_start(g.r), 0);
		for (unsigned i = 0; i < 10; i++)
			put(&g, 0, 1, frame(60, (uint8_t)i), rte_rdtsc() + i);
		usleep(300000);
		if (modes[k] == CFG_REC_SYNC_NONE)
			assert_int_equal(file_size(path), 24);
		else
			assert_int_equal(file_size(path), 24 + 10 * (16 + 60));
		rec_get_thread_stats(g.r, 0, &s);
		assert_int_equal(s.open_files, 1);
		if (modes[k] == CFG_REC_SYNC_INTERVAL)
			assert_true(s.syncs >= 1);
		else
			assert_int_equal(s.syncs, 0);
		rec_stop(g.r);
		assert_int_equal(file_size(path), 24 + 10 * (16 + 60));
		rig_fini(&g);
	}
}

static struct rec_report got;
static unsigned got_calls;
static void *got_arg;

static void on_done(void *arg, const struct rec_report *rep)
{
	got = *rep;
	got.path = NULL;
	got_arg = arg;
	got_calls++;
}

/* A session close: its queued packets first, then done() with the report,
 * then the hook with {dir}. */
static void test_session_close(void **state)
{
	char sdir[128], path[256], mark[256];
	static int token;
	struct rig g;

	(void)state;
	snprintf(sdir, sizeof(sdir), "%s/sess", dir);
	assert_int_equal(mkdir(sdir, 0700), 0);
	snprintf(path, sizeof(path), "%s/media.pcap", sdir);
	snprintf(mark, sizeof(mark), "%s/closed-media.pcap", sdir);
	rig_init(&g, 1, 2, CFG_REC_SYNC_CLOSE, 1000, "/usr/bin/touch {dir}/closed-media.pcap");
	assert_int_equal(rec_start(g.r), 0);
	assert_int_equal(rec_stream_open(g.r, 5, path, REC_OPEN_SESSION), 0);
	usleep(10000);
	for (unsigned i = 0; i < 40; i++)
		put(&g, 0, 5, frame(100, (uint8_t)i), rte_rdtsc() + i);
	got_calls = 0;
	assert_int_equal(rec_session_close(g.r, 5, sdir, on_done, &token), 0);
	for (int i = 0; i < 200 && got_calls == 0; i++)
		usleep(10000);
	assert_int_equal(got_calls, 1);
	assert_ptr_equal(got_arg, &token);
	assert_int_equal(got.packets, 40);
	assert_int_equal(got.bytes, 4000);
	assert_int_equal(got.files, 1);
	assert_int_equal(got.error, 0);
	assert_int_equal(check_pcap(path, 0, 100), 40);
	assert_int_equal(file_size(path), 24 + 40 * 116);
	rec_stop(g.r); /* waits for the hook */
	assert_int_equal(access(mark, F_OK), 0);
	/* closing a stream that was never opened still reports */
	got_calls = 0;
	assert_int_equal(rec_session_close(g.r, 6, NULL, on_done, &token), 0);
	assert_int_equal(got_calls, 1);
	assert_int_equal(got.error, ENOENT);
	rig_fini(&g);
}

/* Writes that fail: counted, the session's report has the errno, and the
 * recorder says storage is failing. */
static void test_write_errors(void **state)
{
	struct rec_totals t;
	struct rig g;

	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	rig_init(&g, 1, 1, CFG_REC_SYNC_INTERVAL, 20, NULL);
	assert_int_equal(rec_start(g.r), 0);
	assert_int_equal(rec_stream_open(g.r, 2, "/dev/full", 0), 0);
	usleep(10000);
	for (unsigned i = 0; i < 20; i++)
		put(&g, 0, 2, frame(80, (uint8_t)i), rte_rdtsc() + i);
	for (int i = 0; i < 100 && rec_storage_error(g.r) == 0; i++)
		usleep(10000);
	assert_int_equal(rec_storage_error(g.r), ENOSPC);
	got_calls = 0;
	assert_int_equal(rec_session_close(g.r, 2, NULL, on_done, NULL), 0);
	for (int i = 0; i < 200 && got_calls == 0; i++)
		usleep(10000);
	assert_int_equal(got_calls, 1);
	assert_int_equal(got.error, ENOSPC);
	assert_int_equal(got.packets, 0);
	assert_int_equal(got.dropped, 20);
	assert_true(got.write_errors >= 1);
	rec_stop(g.r);
	rec_get_totals(g.r, &t);
	assert_true(t.write_errors >= 1);
	assert_int_equal(t.dropped, 20);
	rig_fini(&g);
}

/* Streams opened while the thread is busy writing another: each open is
 * queued, the stream's first packets come right behind it on the ring (as
 * when a worker's flow is programmed at once), and none may be lost because
 * the thread took them in the same pass, before it looked at its commands.
 * close_previous: the stream before is closed just before (a call ends as the
 * next begins), so the close's drain meets the new stream's packets. */
static void busy_opens(bool close_previous)
{
	enum { N = 48 };
	char path[N][256];
	struct rec_totals t;
	struct rig g;
	uint64_t tsc = rte_rdtsc();

	rig_init(&g, 1, 1, CFG_REC_SYNC_CLOSE, 1000, NULL);
	snprintf(path[0], sizeof(path[0]), "%s/busy.pcap", dir);
	assert_int_equal(rec_stream_open(g.r, 0, path[0], 0), 0);
	assert_int_equal(rec_start(g.r), 0);
	for (uint32_t id = 1; id < N; id++) {
		for (unsigned i = 0; i < 600; i++)
			put(&g, 0, 0, frame(60, 0), tsc += 1000);
		if (close_previous && id > 1)
			assert_int_equal(rec_stream_close(g.r, id - 1), 0);
		snprintf(path[id], sizeof(path[id]), "%s/late%u.pcap", dir, id);
		assert_int_equal(rec_stream_open(g.r, id, path[id], 0), 0);
		for (unsigned i = 0; i < 20; i++)
			put(&g, 0, id, frame(80, (uint8_t)i), tsc += 1000);
	}
	rec_stop(g.r);
	rec_get_totals(g.r, &t);
	assert_int_equal(t.dropped, 0);
	assert_int_equal(t.packets, (N - 1) * 620);
	for (uint32_t id = 1; id < N; id++)
		assert_int_equal(check_pcap(path[id], 0, 80), 20);
	rig_fini(&g);
}

static void test_open_while_busy(void **state)
{
	(void)state;
	busy_opens(false);
}

static void test_handover_while_busy(void **state)
{
	(void)state;
	busy_opens(true);
}

/* A frame shared with the forward path (DP_REC_F_SAVED): its first bytes were rewritten
 * after the worker saved them in the private area; the pcap gets the frame as received,
 * and the recorder drops only its own reference. */
static void test_saved_headers(void **state)
{
	enum { N = 20, HDR = 42, LEN = 214 };
	struct rte_mbuf *fwd[N];
	char path[256];
	struct rec_totals t;
	struct rig g;

	(void)state;
	snprintf(path, sizeof(path), "%s/saved.pcap", dir);
	rig_init(&g, 1, 1, CFG_REC_SYNC_INTERVAL, 1000, NULL);
	assert_int_equal(rec_stream_open(g.r, 0, path, 0), 0);
	assert_int_equal(rec_start(g.r), 0);
	for (unsigned i = 0; i < N; i++) {
		struct rte_mbuf *m = frame(LEN, (uint8_t)i);
		struct dp_rec_saved *sv = rte_mbuf_to_priv(m);
		struct dp_rec_item it = {.m = m, .tsc = rte_rdtsc() + i, .flags = DP_REC_F_SAVED};

		sv->len = HDR;
		sv->data_off = m->data_off;
		sv->pkt_len = rte_pktmbuf_pkt_len(m);
		memcpy(sv->hdr, rte_pktmbuf_mtod(m, void *), HDR);
		memset(rte_pktmbuf_mtod(m, void *), 0xEE, HDR); /* the rewrite */
		/* and a VLAN tag taken out or put in: the frame's start moves */
		if (i % 2)
			assert_non_null(rte_pktmbuf_adj(m, 4));
		else
			memset(rte_pktmbuf_prepend(m, 4), 0xEE, 4);
		rte_mbuf_refcnt_update(m, 1);
		fwd[i] = m;
		while (rte_ring_sp_enqueue_elem(g.rings[0], &it, DP_REC_ITEM_SIZE) != 0)
			usleep(100);
	}
	rec_stop(g.r);
	rec_get_totals(g.r, &t);
	assert_int_equal(t.packets, N);
	assert_int_equal(check_pcap(path, 0, LEN), N);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(rte_mbuf_refcnt_read(fwd[i]), 1);
		rte_pktmbuf_free(fwd[i]);
	}
	rig_fini(&g);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rtprec-rec-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	char *argv[] = {"test", "--no-huge", "-m", "128", "--no-pci", "--file-prefix=ut_rec",
			"--log-level=lib.*:error"};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_streams),
		cmocka_unit_test(test_unwritable_dir),
		cmocka_unit_test(test_periodic_flush),
		cmocka_unit_test(test_session_close),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_open_while_busy),
		cmocka_unit_test(test_handover_while_busy),
		cmocka_unit_test(test_saved_headers),
	};

	if (rte_eal_init(RTE_DIM(argv), argv) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("ut_rec_pool", 2047, 0,
				       RTE_ALIGN(sizeof(struct dp_rec_saved), RTE_MBUF_PRIV_ALIGN),
				       RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (pool == NULL)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
