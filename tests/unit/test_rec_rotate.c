/* SPDX-License-Identifier: BSD-3-Clause
 * The recorder's file writer without threads or EAL: batched writes of whole
 * records, rotation by size and by duration, sync modes, write errors
 * (/dev/full, a full tmpfs), and the on_close hook runner. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "recorder/rec_priv.h"

#define HZ 1000u /* fake TSC: 1000 ticks a second */

struct closed_log {
	unsigned n;
	char paths[64][512];
	unsigned failures;
	int last_err;
};

static void on_closed(void *arg, const struct rec_file *f, const char *path)
{
	struct closed_log *l = arg;

	(void)f;
	if (l->n < 64)
		snprintf(l->paths[l->n], sizeof(l->paths[0]), "%s", path);
	l->n++;
}

static void on_failed(void *arg, int err)
{
	struct closed_log *l = arg;

	l->failures++;
	l->last_err = err;
}

static void wctx(struct rec_wctx *w, struct closed_log *l, enum cfg_rec_sync sync,
		 uint64_t rotate_bytes, unsigned rotate_s, uint32_t buf)
{
	struct rec_params p = {
		.threads = 1, .max_streams = 1, .sync = sync, .sync_interval_ms = 1000,
		.rotate_bytes = rotate_bytes, .rotate_seconds = rotate_s, .file_mode = 0640,
		.write_buffer = buf, .buffer_limit = 1u << 30,
	};

	memset(l, 0, sizeof(*l));
	rec_wctx_init(w, &p, HZ);
	w->file_closed = on_closed;
	w->failed = on_failed;
	w->arg = l;
}

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/rtprec-rot-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void frame(uint8_t *p, uint32_t len, uint32_t seq)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seq * 7 + i);
}

/* Packets of a pcap (libpcap reads it to the end with no error), each
 * checked against frame(len, seq0 + i); returns the count. */
static unsigned pcap_check(const char *path, uint32_t len, uint32_t seq0)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	uint8_t want[2048];
	unsigned n = 0;
	int rc;

	if (p == NULL)
		fail_msg("%s: %s", path, err);
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		assert_int_equal(h->caplen, len);
		frame(want, len, seq0 + n);
		assert_memory_equal(d, want, len);
		assert_int_equal(h->ts.tv_sec, 1700000000 + (seq0 + n) / 50);
		n++;
	}
	assert_int_equal(rc, PCAP_ERROR_BREAK); /* the end, not a cut record */
	pcap_close(p);
	return n;
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void put(struct rec_wctx *w, struct rec_file *f, uint32_t seq, uint32_t len, uint64_t tsc)
{
	uint8_t d[2048];
	uint64_t ns = (1700000000ull + seq / 50) * 1000000000ull + (seq % 50) * 20000000ull;

	frame(d, len, seq);
	rec_file_append(w, f, tsc, ns, d, len, len);
}

/* 2000 records of 214 bytes through a 64 KiB buffer: a few large writes,
 * every one of them ending on a record boundary. */
static void test_batched_whole_records(void **state)
{
	struct rec_wctx w;
	struct closed_log l;
	struct rec_file f;
	char path[128];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/batch.pcap", tmpdir);
	wctx(&w, &l, CFG_REC_SYNC_NONE, 0, 0, 65536);
	assert_int_equal(rec_file_open(&w, &f, 7, path, 0), 0);
	assert_int_equal(file_size(path), REC_PCAP_HDR); /* the header goes at once */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	for (uint32_t i = 0; i < 2000; i++) {
		put(&w, &f, i, 214, i + 1);
		assert_int_equal((file_size(path) - REC_PCAP_HDR) % (REC_REC_HDR + 214), 0);
	}
	/* 2000 * 230 B = 460 KB through 64 KiB buffers: about 8 writes */
	assert_in_range(w.c.writes, 6, 9);
	assert_true(w.buf_bytes <= 65536);
	rec_file_close(&w, &f);
	assert_int_equal(w.c.packets, 2000);
	assert_int_equal(w.c.bytes, 2000 * 214);
	assert_int_equal(w.c.syncs, 0); /* sync none: never */
	assert_int_equal(w.buf_bytes, 0);
	assert_int_equal(w.c.open_files, 0);
	assert_int_equal(f.rep.packets, 2000);
	assert_int_equal(f.rep.files, 1);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.paths[0], path);
	assert_int_equal(pcap_check(path, 214, 0), 2000);
	rec_file_free(&f);
}

/* rotate_bytes: media.pcap, media.1.pcap, ... each within the limit and
 * each a complete pcap; the records continue across them in order. */
static void test_rotate_size(void **state)
{
	struct rec_wctx w;
	struct closed_log l;
	struct rec_file f;
	char path[128], part[160];
	unsigned seq = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/media.pcap", tmpdir);
	wctx(&w, &l, CFG_REC_SYNC_CLOSE, 10000, 0, 4096);
	assert_int_equal(rec_file_open(&w, &f, 1, path, REC_OPEN_SESSION), 0);
	for (uint32_t i = 0; i < 100; i++)
		put(&w, &f, i, 484, i + 1); /* 500-byte records: 19 per 10000-byte file */
	rec_file_close(&w, &f);
	assert_int_equal(f.rep.files, 6); /* ceil(100 / 19) */
	assert_int_equal(l.n, 6);
	assert_int_equal(w.c.syncs, 6); /* sync close: one fsync per closed file */
	for (unsigned k = 0; k < f.rep.files; k++) {
		rec_file_path(&f, k, part, sizeof(part));
		assert_string_equal(l.paths[k], part);
		assert_true(file_size(part) <= 10000);
		seq += pcap_check(part, 484, seq);
	}
	snprintf(part, sizeof(part), "%s/media.3.pcap", tmpdir);
	assert_int_equal(access(part, R_OK), 0);
	assert_int_equal(seq, 100);
	rec_file_free(&f);
}

/* rotate_seconds: a new file when a packet comes rotate_seconds after the
 * current file's first one. */
static void test_rotate_time(void **state)
{
	struct rec_wctx w;
	struct closed_log l;
	struct rec_file f;
	char path[128], part[160];
	unsigned seq = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/flow.pcap", tmpdir);
	wctx(&w, &l, CFG_REC_SYNC_INTERVAL, 0, 2, 65536);
	assert_int_equal(rec_file_open(&w, &f, 1, path, 0), 0);
	/* tsc 1000, 1500, ... 10500: 20 packets over 9.5 s -> files of 2 s */
	for (uint32_t i = 0; i < 20; i++)
		put(&w, &f, i, 100, 1000 + i * 500ull);
	assert_int_equal(rec_file_flush(&w, &f, true), 0); /* interval: written and synced */
	assert_true(w.c.syncs >= 1);
	rec_file_close(&w, &f);
	assert_int_equal(f.rep.files, 5);
	for (unsigned k = 0; k < 5; k++) {
		rec_file_path(&f, k, part, sizeof(part));
		assert_int_equal(pcap_check(part, 100, seq), 4);
		seq += 4;
	}
	rec_file_free(&f);
}

/* /dev/full: every write fails with ENOSPC: counted, reported once as the
 * first error, records counted as dropped, never a crash. */
static void test_write_error_dev_full(void **state)
{
	struct rec_wctx w;
	struct closed_log l;
	struct rec_file f;

	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	wctx(&w, &l, CFG_REC_SYNC_NONE, 0, 0, 4096);
	assert_int_equal(rec_file_open(&w, &f, 0, "/dev/full", 0), 0);
	assert_int_equal(l.failures, 1); /* the header */
	assert_int_equal(f.rep.error, ENOSPC);
	for (uint32_t i = 0; i < 100; i++)
		put(&w, &f, i, 200, i + 1);
	assert_int_equal(rec_file_flush(&w, &f, false), -ENOSPC); /* the last 10 */
	rec_file_close(&w, &f);
	assert_int_equal(f.rep.packets, 0);
	assert_int_equal(f.rep.dropped, 100);
	assert_true(f.rep.write_errors >= 5);
	assert_int_equal(w.c.dropped, 100);
	assert_int_equal(l.last_err, ENOSPC);
	rec_file_free(&f);
}

/* An unwritable path: open fails, the stream counts its packets dropped. */
static void test_open_error(void **state)
{
	struct rec_wctx w;
	struct closed_log l;
	struct rec_file f;

	(void)state;
	wctx(&w, &l, CFG_REC_SYNC_NONE, 0, 0, 4096);
	assert_int_equal(rec_file_open(&w, &f, 0, "/nonexistent-dir/x.pcap", 0), -ENOENT);
	put(&w, &f, 1, 60, 1);
	rec_file_close(&w, &f);
	assert_int_equal(f.rep.dropped, 1);
	assert_int_equal(f.rep.error, ENOENT);
	assert_int_equal(l.n, 0);
	rec_file_free(&f);
}

/* A part that cannot be created (rotation onto a path that is a directory)
 * or opened again after parking is tried again on the tick: once the storage
 * is usable, the stream records again in the same part. */
static void test_open_retry(void **state)
{
	struct rec_wctx w;
	struct closed_log l;
	struct rec_file f;
	char path[128], part1[160], aside[170];

	(void)state;
	snprintf(path, sizeof(path), "%s/retry.pcap", tmpdir);
	snprintf(part1, sizeof(part1), "%s/retry.1.pcap", tmpdir);
	snprintf(aside, sizeof(aside), "%s.aside", part1);
	wctx(&w, &l, CFG_REC_SYNC_NONE, 1000, 0, 4096);
	assert_int_equal(mkdir(part1, 0755), 0);
	assert_int_equal(rec_file_open(&w, &f, 0, path, 0), 0);
	for (uint32_t i = 0; i < 10; i++)
		put(&w, &f, i, 200, i + 1); /* 4 fit in the first part, 6 dropped */
	rec_file_retry(&w, &f);         /* still a directory */
	assert_int_equal(f.fd, -1);
	assert_int_equal(f.rep.dropped, 6);
	assert_int_equal(rmdir(part1), 0);
	rec_file_retry(&w, &f);
	assert_true(f.fd >= 0);
	for (uint32_t i = 10; i < 12; i++)
		put(&w, &f, i, 200, i + 1);
	assert_int_equal(rec_file_flush(&w, &f, false), 0);
	assert_int_equal(pcap_check(part1, 200, 10), 2);
	/* parked, then its file cannot be opened again for a while */
	assert_true(rec_file_park(&w, &f));
	assert_int_equal(rename(part1, aside), 0);
	assert_int_equal(mkdir(part1, 0755), 0);
	put(&w, &f, 12, 200, 13);
	assert_int_equal(f.fd, -1);
	assert_int_equal(f.rep.dropped, 7);
	assert_int_equal(rmdir(part1), 0);
	assert_int_equal(rename(aside, part1), 0);
	rec_file_retry(&w, &f);
	assert_true(f.fd >= 0);
	put(&w, &f, 12, 200, 14); /* the dropped one, again */
	rec_file_close(&w, &f);
	assert_int_equal(l.n, 2);
	/* appended to what the part held, not truncated */
	assert_int_equal(pcap_check(part1, 200, 10), 2 + 1);
	rec_file_free(&f);
}

/* A 64 KiB tmpfs that fills: the write that does not fit is cut back, the
 * file stays a valid pcap of whole records (libpcap reads it to the end). */
static void test_tmpfs_full(void **state)
{
	struct rec_wctx w;
	struct closed_log l;
	struct rec_file f;
	char mnt[128], path[160];
	unsigned n;

	(void)state;
	snprintf(mnt, sizeof(mnt), "%s/tiny", tmpdir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0) {
		rmdir(mnt);
		skip(); /* not root */
	}
	snprintf(path, sizeof(path), "%s/media.pcap", mnt);
	wctx(&w, &l, CFG_REC_SYNC_INTERVAL, 0, 0, 16384);
	assert_int_equal(rec_file_open(&w, &f, 0, path, 0), 0);
	for (uint32_t i = 0; i < 1000; i++)
		put(&w, &f, i, 300, i + 1);
	rec_file_close(&w, &f);
	assert_true(l.failures >= 1);
	assert_int_equal(l.last_err, ENOSPC);
	assert_true(f.rep.packets > 100 && f.rep.packets < 1000);
	assert_int_equal(f.rep.packets + f.rep.dropped, 1000);
	n = pcap_check(path, 300, 0);
	assert_int_equal(n, f.rep.packets);
	rec_file_free(&f);
	assert_int_equal(umount(mnt), 0);
	rmdir(mnt);
}

/* The hook: {dir} and {file} replaced, no shell; a hung one is killed. */
static void test_hook(void **state)
{
	char out[160], cmd[256];
	uint64_t started, failed, killed, counts[3];
	struct rec_hook *h;
	struct timespec t0, t1;

	(void)state;
	snprintf(out, sizeof(out), "%s/hooked", tmpdir);
	assert_int_equal(mkdir(out, 0700), 0);
	h = rec_hook_create("/usr/bin/touch {dir}/done-{file}", 5);
	assert_non_null(h);
	rec_hook_run(h, out, "a");
	rec_hook_run(h, out, "b c"); /* one argument, spaces and all */
	rec_hook_stop(h, counts);
	snprintf(cmd, sizeof(cmd), "%s/done-a", out);
	assert_int_equal(access(cmd, F_OK), 0);
	snprintf(cmd, sizeof(cmd), "%s/done-b c", out);
	assert_int_equal(access(cmd, F_OK), 0);

	h = rec_hook_create("/bin/sleep 30", 1);
	assert_non_null(h);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rec_hook_run(h, out, NULL);
	usleep(100000);
	rec_hook_counts(h, &started, &failed, &killed);
	assert_int_equal(started, 1);
	rec_hook_stop(h, counts); /* waits at most the timeout, then kills */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	assert_int_equal(counts[2], 1);

	h = rec_hook_create("/bin/false {dir}", 5);
	assert_non_null(h);
	rec_hook_run(h, out, NULL);
	rec_hook_stop(h, counts); /* waits for it */
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], 1); /* exit status 1 */
	assert_int_equal(counts[2], 0);
}

/* A hook that hangs is killed, and counted so. */
static void test_hook_killed(void **state)
{
	uint64_t started, failed, killed, counts[3];
	struct rec_hook *h = rec_hook_create("/bin/sleep 30", 1);

	(void)state;
	assert_non_null(h);
	rec_hook_run(h, "/tmp", NULL);
	sleep(2); /* past its timeout: the reaper kills it */
	rec_hook_counts(h, &started, &failed, &killed);
	assert_int_equal(started, 1);
	assert_int_equal(killed, 1);
	rec_hook_stop(h, counts);
}

/* The descriptor budget: an idle file is parked (descriptor closed) and
 * opened again for its next records, which continue the same pcap. */
static void test_park(void **state)
{
	struct rec_wctx w;
	struct closed_log l;
	struct rec_file f;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/park.pcap", tmpdir);
	wctx(&w, &l, CFG_REC_SYNC_CLOSE, 0, 0, 65536);
	assert_int_equal(rec_file_open(&w, &f, 1, path, 0), 0);
	assert_int_equal(w.c.open_files, 1);
	for (uint32_t i = 0; i < 10; i++)
		put(&w, &f, i, 200, i + 1);
	assert_false(rec_file_park(&w, &f)); /* records buffered: not idle */
	assert_int_equal(rec_file_flush(&w, &f, false), 0);
	assert_true(rec_file_park(&w, &f));
	assert_int_equal(w.c.open_files, 0);
	assert_int_equal(w.c.syncs, 1); /* sync close: on disk before the fd goes */
	assert_false(rec_file_park(&w, &f));
	for (uint32_t i = 10; i < 25; i++)
		put(&w, &f, i, 200, i + 1);
	assert_int_equal(w.c.reopens, 1);
	assert_int_equal(w.c.open_files, 1);
	assert_true(rec_file_park(&w, &f) == false); /* buffered again */
	rec_file_close(&w, &f);
	assert_int_equal(w.c.open_files, 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(pcap_check(path, 200, 0), 25);
	rec_file_free(&f);
	/* parked when closed: closing needs no descriptor */
	assert_int_equal(rec_file_open(&w, &f, 2, path, 0), 0);
	put(&w, &f, 0, 200, 1);
	rec_file_flush(&w, &f, false);
	assert_true(rec_file_park(&w, &f));
	rec_file_close(&w, &f);
	assert_int_equal(w.c.open_files, 0);
	assert_int_equal(pcap_check(path, 200, 0), 1);
	rec_file_free(&f);
}

static int spare_fd = -1;

/* make_room as the thread does it: here it gives back one descriptor. */
static void give_room(void *arg)
{
	(void)arg;
	if (spare_fd >= 0)
		close(spare_fd);
	spare_fd = -1;
}

/* The process is out of descriptors when a parked file gets its next record:
 * room is made (idle files parked) and the reopen tried again, as a create does,
 * rather than dropping what the stream records until then. */
static void test_unpark_emfile(void **state)
{
	struct rec_wctx w;
	struct closed_log l;
	struct rec_file f;
	struct rlimit old, low;
	char path[128];
	int hog[256], n = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/emfile.pcap", tmpdir);
	wctx(&w, &l, CFG_REC_SYNC_NONE, 0, 0, 4096);
	w.make_room = give_room;
	assert_int_equal(rec_file_open(&w, &f, 0, path, 0), 0);
	put(&w, &f, 0, 200, 1);
	assert_int_equal(rec_file_flush(&w, &f, false), 0);
	assert_true(rec_file_park(&w, &f));
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < 256 && (hog[n] = open("/dev/null", O_RDONLY)) >= 0)
		n++;
	assert_true(n > 0 && n < 256);
	spare_fd = hog[--n]; /* the one make_room gives back */
	put(&w, &f, 1, 200, 2);
	while (n > 0)
		close(hog[--n]);
	give_room(NULL);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_true(f.fd >= 0);
	assert_int_equal(f.rep.dropped, 0);
	assert_int_equal(f.rep.write_errors, 0);
	rec_file_close(&w, &f);
	assert_int_equal(pcap_check(path, 200, 0), 2);
	rec_file_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batched_whole_records),
		cmocka_unit_test(test_rotate_size),
		cmocka_unit_test(test_rotate_time),
		cmocka_unit_test(test_park),
		cmocka_unit_test(test_unpark_emfile),
		cmocka_unit_test(test_write_error_dev_full),
		cmocka_unit_test(test_open_error),
		cmocka_unit_test(test_open_retry),
		cmocka_unit_test(test_tmpfs_full),
		cmocka_unit_test(test_hook),
		cmocka_unit_test(test_hook_killed),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
