/* SPDX-License-Identifier: BSD-3-Clause
 * Recorder threads: thread t drains ring t of every worker (the streams
 * whose rec_id % threads == t), appends whole pcap records to each stream's
 * buffer, and every sync_interval_ms writes the buffers (and fdatasyncs in
 * interval mode). Stream opens and closes arrive on a per-thread command
 * queue; a close first takes the stream's packets already in the rings. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "config/cfg_log.h"
#include "dataplane/dp_contract.h"
#include "rec_priv.h"
#include "rec_thread_priv.h"

#define REC_BURST 256
#define REC_PASS_MAX (4 * REC_BURST) /* per ring and loop, so commands are not starved */
#define REC_IDLE_US 100
#define REC_PREFETCH_AHEAD 4
#define REC_SPACE_MAX (64ull << 20)

void rec_params_from_cfg(struct rec_params *p, const struct cfg *cfg)
{
	const struct cfg_recording *c = &cfg->recording;

	memset(p, 0, sizeof(*p));
	p->threads = c->threads;
	p->max_streams = cfg_flow_rec_slots(cfg) + CFG_SESS_REC_IDS(cfg);
	p->sync = c->sync_mode;
	p->sync_interval_ms = c->sync_interval_ms;
	p->rotate_bytes = c->rotate_bytes;
	p->rotate_seconds = c->rotate_seconds;
	p->file_mode = c->file_mode_bits;
	p->write_buffer = c->write_buffer_kb * 1024u;
	p->buffer_limit = (uint64_t)c->buffer_mb << 20;
	p->dir = c->dir;
	p->on_close = c->on_close;
	p->on_close_timeout_s = c->on_close_timeout_s;
}

static uint64_t rec_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rec_tsc_ns(const struct rec_ctx *r, uint64_t tsc)
{
	__int128 d = (__int128)tsc - (__int128)r->base_tsc;
	return (uint64_t)((__int128)r->base_ns + d * 1000000000 / (__int128)r->tsc_hz);
}

/* ---------------------------------------------------------------- callbacks */

static void rec_on_failed(void *arg, int err)
{
	struct rec_thread *t = arg;

	t->r->errs++;
	atomic_store(&t->r->storage_err, err ? err : EIO);
}

/* Over the thread's descriptor budget: park every file that is idle (no
 * record since the last tick, nothing buffered). Calls that get no RTP cost
 * no descriptor this way, and a parked file is opened again on its next
 * record. */
static void rec_make_room(void *arg)
{
	struct rec_thread *t = arg;

	for (uint32_t i = 0; i < t->n_open; i++) {
		struct rec_file *f = t->open[i];

		if (!f->active)
			rec_file_park(&t->w, f);
	}
}

/* A static flow's file closed (rotation or close): the hook for that file. */
static void rec_on_file_closed(void *arg, const struct rec_file *f, const char *path)
{
	struct rec_thread *t = arg;
	char copy[PATH_MAX];

	if (t->r->hook == NULL || (f->flags & REC_OPEN_SESSION))
		return;
	snprintf(copy, sizeof(copy), "%s", path);
	rec_hook_run(t->r->hook, dirname(copy), path);
}

/* ---------------------------------------------------------------- streams */

static struct rec_file *rec_open_queued(struct rec_thread *t, uint32_t id);

static void rec_list_del(struct rec_thread *t, struct rec_file *f)
{
	struct rec_file *last = t->open[--t->n_open];

	t->open[f->slot] = last;
	last->slot = f->slot;
}

/* Close stream id; c (may be NULL) says what to do once it is closed. */
void rec_do_close(struct rec_thread *t, uint32_t id, const struct rec_cmd *c)
{
	struct rec_ctx *r = t->r;
	struct rec_file *f = id < r->p.max_streams ? r->files[id] : NULL;
	struct rec_report rep;
	struct rec_srtp_count srtp[REC_SRTP_MAX];
	char first[PATH_MAX], last[PATH_MAX];

	memset(&rep, 0, sizeof(rep));
	first[0] = last[0] = '\0';
	if (f != NULL) {
		rec_file_close(&t->w, f);
		rec_list_del(t, f);
		r->files[id] = NULL;
		rep = f->rep;
		rec_file_path(f, 0, first, sizeof(first));
		rec_file_path(f, f->part, last, sizeof(last));
		rep.path = first;
		if (f->srtp != NULL) {
			const struct rec_srtp_count *c = rec_srtp_counts(f->srtp, &rep.n_srtp);
			memcpy(srtp, c, rep.n_srtp * sizeof(*c));
			rep.srtp = srtp;
			rec_srtp_free(f->srtp);
			f->srtp = NULL;
		}
	} else {
		rep.error = ENOENT; /* never opened */
	}
	if (c != NULL && c->done != NULL)
		c->done(c->arg, &rep);
	if (c != NULL && c->dir != NULL && r->hook != NULL)
		rec_hook_run(r->hook, c->dir, last);
	if (f != NULL) {
		rec_file_free(f);
		free(f);
	}
}

int rec_do_open(struct rec_thread *t, uint32_t id, const char *path, unsigned flags)
{
	struct rec_ctx *r = t->r;
	struct rec_file *f;
	int rc;

	if (r->files[id] != NULL)
		rec_do_close(t, id, NULL);
	if (t->n_open == t->cap_open) {
		uint32_t cap = t->cap_open ? 2 * t->cap_open : 64;
		struct rec_file **p = realloc(t->open, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		t->open = p;
		t->cap_open = cap;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	rc = rec_file_open(&t->w, f, id, path, flags);
	if (f->base == NULL) {
		free(f);
		return rc;
	}
	f->slot = t->n_open;
	t->open[t->n_open++] = f;
	r->files[id] = f;
	return rc;
}

void rec_do_srtp(struct rec_thread *t, uint32_t id, const struct rec_srtp_key *keys,
		 unsigned n)
{
	struct rec_file *f = t->r->files[id];

	if (f == NULL)
		return;
	if (f->srtp == NULL)
		f->srtp = rec_srtp_create(keys, n);
	else
		rec_srtp_set(f->srtp, keys, n);
	if (f->srtp == NULL)
		LOG_ERR("recorder: no memory for SRTP keys: stream %u written as received", id);
}

/* ---------------------------------------------------------------- data */

static void rec_write_item(struct rec_thread *t, const struct dp_rec_item *it)
{
	struct rec_ctx *r = t->r;
	struct rte_mbuf *m = it->m;
	const struct dp_rec_saved *s = (it->flags & DP_REC_F_SAVED) ? rte_mbuf_to_priv(m) : NULL;
	struct rec_file *f = NULL;
	uint32_t len = s != NULL ? s->pkt_len : rte_pktmbuf_pkt_len(m);
	const void *src;
	uint8_t *p;

	if (it->rec_id < r->p.max_streams && dp_rec_thread(it->rec_id, r->n_threads) == t->idx) {
		f = r->files[it->rec_id];
		if (f == NULL)
			f = rec_open_queued(t, it->rec_id);
	}
	if (f == NULL) {
		t->w.c.dropped++; /* stream closed meanwhile */
		return;
	}
	p = rec_file_reserve(&t->w, f, it->tsc, rec_tsc_ns(r, it->tsc), len, len);
	if (p == NULL)
		return;
	if (s != NULL) {
		/* forwarded too: the headers as received are in the private area, the rest
		 * where it was received (the forward path may have moved the frame's start) */
		uint32_t h = RTE_MIN((uint32_t)s->len, len);
		memcpy(p, s->hdr, h);
		memcpy(p + h, (const uint8_t *)m->buf_addr + s->data_off + h, len - h);
	} else {
		src = rte_pktmbuf_read(m, 0, len, p); /* copies into p when the mbuf is chained */
		if (src != p)
			memcpy(p, src, len);
	}
	if (f->srtp != NULL) {
		uint32_t n = rec_srtp_frame(f->srtp, p, len);
		if (n != len) {
			rec_file_resize(f, n);
			len = n;
		}
	}
	rec_file_commit(f, len);
}

/* The first 256 bytes of a frame: a whole G.711 packet; and the saved headers. */
static inline void rec_prefetch_frame(const struct dp_rec_item *it)
{
	const uint8_t *p = rte_pktmbuf_mtod(it->m, const uint8_t *);

	for (unsigned off = 0; off < 256; off += RTE_CACHE_LINE_SIZE)
		rte_prefetch0(p + off);
	if (it->flags & DP_REC_F_SAVED) {
		const uint8_t *s = rte_mbuf_to_priv(it->m);
		rte_prefetch0(s);
		rte_prefetch0(s + sizeof(struct dp_rec_saved) - 1);
	}
}

/* Up to max items from one ring; returns how many. */
static unsigned rec_take(struct rec_thread *t, struct rte_ring *ring, unsigned max)
{
	struct dp_rec_item items[REC_BURST];
	struct rte_mbuf *mbufs[REC_BURST];
	unsigned total = 0;

	while (total < max) {
		unsigned want = RTE_MIN(max - total, (unsigned)REC_BURST);
		unsigned n = rte_ring_sc_dequeue_burst_elem(ring, items, DP_REC_ITEM_SIZE, want,
							    NULL);
		/* the frames were last touched on the worker's core: fetch the mbuf
		 * headers of the burst, then each frame a few items ahead of its copy */
		for (unsigned k = 0; k < n; k++)
			rte_prefetch0(items[k].m);
		for (unsigned k = 0; k < n && k < REC_PREFETCH_AHEAD; k++)
			rec_prefetch_frame(&items[k]);
		for (unsigned k = 0; k < n; k++) {
			if (k + REC_PREFETCH_AHEAD < n)
				rec_prefetch_frame(&items[k + REC_PREFETCH_AHEAD]);
			rec_write_item(t, &items[k]);
			mbufs[k] = items[k].m;
		}
		rte_pktmbuf_free_bulk(mbufs, n);
		total += n;
		if (n < want)
			break;
	}
	return total;
}

static unsigned rec_drain_pass(struct rec_thread *t, unsigned per_ring)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->n_rings; i++)
		n += rec_take(t, t->rings[i], per_ring);
	return n;
}

/* Everything in the rings now (items enqueued before a close command was
 * posted), not what keeps arriving. */
static void rec_drain_snapshot(struct rec_thread *t)
{
	for (unsigned i = 0; i < t->n_rings; i++)
		rec_take(t, t->rings[i], rte_ring_count(t->rings[i]));
}

static void rec_run_cmd(struct rec_thread *t, struct rec_cmd *c)
{
	if (c->type == REC_CMD_OPEN) {
		rec_do_open(t, c->rec_id, c->path, c->flags);
	} else if (c->type == REC_CMD_SRTP) {
		rec_do_srtp(t, c->rec_id, (const struct rec_srtp_key *)(void *)c->path, c->n_keys);
	} else {
		rec_drain_snapshot(t);
		rec_do_close(t, c->rec_id, c);
		atomic_fetch_sub_explicit(&t->r->closing[c->rec_id], 1, memory_order_release);
	}
	free(c->dir);
	free(c);
}

/* The commands queued now, one at a time: the ones not yet run stay in the queue,
 * where rec_open_queued finds a stream's open when a close's drain meets its packets
 * (a call that ends while another begins). */
static void rec_handle_cmds(struct rec_thread *t)
{
	unsigned n = atomic_load_explicit(&t->pending, memory_order_acquire);

	while (n-- > 0) {
		struct rec_cmd *c;

		pthread_mutex_lock(&t->lock);
		c = t->head;
		if (c != NULL) {
			t->head = c->next;
			if (t->head == NULL)
				t->tail = NULL;
			atomic_fetch_sub_explicit(&t->pending, 1, memory_order_relaxed);
		}
		pthread_mutex_unlock(&t->lock);
		if (c == NULL)
			break;
		rec_run_cmd(t, c);
	}
}

/* An item for stream id, which has no file: its open may still be queued.
 * The control plane posts the open before it programs the flow, so the item
 * can reach this pass before the thread looks at its commands. Run the
 * stream's own queued commands now, in their order (open, SRTP keys), up to
 * a close of it: commands of other streams do not depend on them. */
static struct rec_file *rec_open_queued(struct rec_thread *t, uint32_t id)
{
	struct rec_cmd *mine = NULL, **mine_end = &mine, **pp, *c, *prev = NULL;
	unsigned taken = 0;

	if (atomic_load_explicit(&t->pending, memory_order_acquire) == 0)
		return NULL;
	pthread_mutex_lock(&t->lock);
	for (pp = &t->head; (c = *pp) != NULL;) {
		if (c->rec_id == id && c->type == REC_CMD_CLOSE)
			break;
		if (c->rec_id != id) {
			prev = c;
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		if (t->tail == c)
			t->tail = prev;
		c->next = NULL;
		*mine_end = c;
		mine_end = &c->next;
		taken++;
	}
	atomic_fetch_sub_explicit(&t->pending, taken, memory_order_relaxed);
	pthread_mutex_unlock(&t->lock);
	while (mine != NULL) {
		c = mine->next;
		rec_run_cmd(t, mine);
		mine = c;
	}
	return t->r->files[id];
}

/* Free space in dir: at least 5 % of the file system, at most 64 MiB. */
static bool rec_space_back(const char *dir)
{
	struct statvfs sv;
	uint64_t avail, want;

	if (dir == NULL || statvfs(dir, &sv) != 0)
		return true;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	want = (uint64_t)sv.f_blocks * sv.f_frsize / 20;
	return avail >= RTE_MIN(want, REC_SPACE_MAX);
}

static void rec_publish(struct rec_thread *t)
{
	const uint64_t *src = (const uint64_t *)&t->w.c;

	t->w.c.buffer_bytes = t->w.buf_bytes;
	for (unsigned i = 0; i < REC_NSTATS; i++)
		__atomic_store_n(&t->pub[i], src[i], __ATOMIC_RELAXED);
}

/* Every sync_interval_ms: write the buffers (not with sync none), fdatasync
 * (interval), free the buffers of idle files, see whether storage is back. */
static void rec_tick(struct rec_thread *t)
{
	struct rec_ctx *r = t->r;
	bool write = r->p.sync != CFG_REC_SYNC_NONE, sync = r->p.sync == CFG_REC_SYNC_INTERVAL;

	for (uint32_t i = 0; i < t->n_open; i++) {
		struct rec_file *f = t->open[i];
		rec_file_retry(&t->w, f);
		if (write)
			rec_file_flush(&t->w, f, sync);
		if (!f->active)
			rec_file_trim(&t->w, f);
		f->active = false;
	}
	if (t->w.fd_budget != 0 && t->w.c.open_files > t->w.fd_budget * 7 / 8)
		rec_make_room(t);
	if (t->idx == 0 && atomic_load(&r->storage_err) != 0) {
		uint64_t e = r->errs;
		if (e == t->errs_seen && rec_space_back(r->p.dir)) {
			atomic_store(&r->storage_err, 0);
			LOG_INFO("recorder: no write error for %u ms and space in %s: storage usable "
				 "again", r->p.sync_interval_ms, r->p.dir ? r->p.dir : ".");
		}
		t->errs_seen = e;
	}
}

/* Descriptors a recorder thread may hold: the open files limit less room
 * for SIP connections and the control plane's short-lived files, shared
 * between the threads. */
static uint64_t rec_fd_budget(unsigned threads)
{
	struct rlimit rl;
	uint64_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	n = rl.rlim_cur > 2048 ? rl.rlim_cur - 1024 : rl.rlim_cur / 2;
	return n / (threads ? threads : 1);
}

static void *rec_main(void *arg)
{
	struct rec_thread *t = arg;
	struct rec_ctx *r = t->r;

	t->next_tick = rte_rdtsc() + r->tick_tsc;
	while (!atomic_load_explicit(&r->stop, memory_order_acquire)) {
		rec_handle_cmds(t);
		unsigned n = rec_drain_pass(t, REC_PASS_MAX);
		uint64_t now = rte_rdtsc();
		if (now >= t->next_tick) {
			rec_tick(t);
			t->next_tick = now + r->tick_tsc;
		}
		rec_publish(t);
		if (n == 0)
			usleep(REC_IDLE_US);
	}
	/* the workers are stopped: take everything left, then close every file */
	rec_handle_cmds(t);
	while (rec_drain_pass(t, REC_PASS_MAX) != 0)
		;
	rec_handle_cmds(t);
	while (t->n_open > 0)
		rec_do_close(t, t->open[0]->rec_id, NULL);
	rec_publish(t);
	return NULL;
}

/* ---------------------------------------------------------------- API */

struct rec_ctx *rec_create(const struct rec_params *p, struct rte_ring *const *rings,
			   unsigned n_workers)
{
	struct rec_ctx *r;

	if (p->threads == 0 || p->threads > CFG_MAX_REC_THREADS || n_workers > CFG_MAX_WORKERS ||
	    p->max_streams == 0) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->p = *p;
	r->n_threads = p->threads;
	r->files = calloc(p->max_streams, sizeof(*r->files));
	r->closing = calloc(p->max_streams, sizeof(*r->closing));
	if (r->files == NULL || r->closing == NULL)
		goto fail;
	r->tsc_hz = rte_get_tsc_hz();
	r->base_tsc = rte_rdtsc();
	r->base_ns = rec_now_ns();
	r->tick_tsc = r->tsc_hz / 1000 * (p->sync_interval_ms ? p->sync_interval_ms : 1000);
	for (unsigned i = 0; i < r->n_threads; i++) {
		struct rec_thread *t = calloc(1, sizeof(*t));
		if (t == NULL)
			goto fail;
		r->th[i] = t;
		t->r = r;
		t->idx = i;
		pthread_mutex_init(&t->lock, NULL);
		rec_wctx_init(&t->w, p, r->tsc_hz);
		t->w.failed = rec_on_failed;
		t->w.file_closed = rec_on_file_closed;
		t->w.make_room = rec_make_room;
		t->w.fd_budget = rec_fd_budget(r->n_threads);
		t->w.arg = t;
		for (unsigned w = 0; w < n_workers; w++)
			t->rings[t->n_rings++] = rings[w * p->threads + i];
	}
	return r;
fail:
	rec_free(r);
	errno = ENOMEM;
	return NULL;
}

int rec_start(struct rec_ctx *r)
{
	char name[16];

	if (r->p.on_close != NULL && r->p.on_close[0] != '\0') {
		r->hook = rec_hook_create(r->p.on_close, r->p.on_close_timeout_s);
		if (r->hook == NULL)
			return -ENOMEM;
	}
	r->started = true;
	for (unsigned i = 0; i < r->n_threads; i++) {
		/* an EAL control thread: on the cores no lcore uses (if any) */
		snprintf(name, sizeof(name), "rtprec-rec%u", i % 100u);
		int rc = rte_ctrl_thread_create(&r->th[i]->tid, name, NULL, rec_main, r->th[i]);
		if (rc != 0) {
			atomic_store(&r->stop, 1);
			for (unsigned k = 0; k < i; k++)
				pthread_join(r->th[k]->tid, NULL);
			r->started = false;
			return rc < 0 ? rc : -rc;
		}
	}
	return 0;
}

void rec_stop(struct rec_ctx *r)
{
	if (r->started) {
		atomic_store_explicit(&r->stop, 1, memory_order_release);
		for (unsigned i = 0; i < r->n_threads; i++)
			pthread_join(r->th[i]->tid, NULL);
		r->started = false;
	}
	/* what was opened without a thread (before rec_start) */
	for (unsigned i = 0; i < r->n_threads; i++) {
		struct rec_thread *t = r->th[i];
		while (t != NULL && t->n_open > 0)
			rec_do_close(t, t->open[0]->rec_id, NULL);
		if (t != NULL)
			rec_publish(t);
	}
	rec_hook_stop(r->hook, r->hook_final);
	r->hook = NULL;
}

void rec_free(struct rec_ctx *r)
{
	if (r == NULL)
		return;
	if (r->files != NULL)
		rec_stop(r);
	for (unsigned i = 0; i < r->n_threads; i++) {
		struct rec_thread *t = r->th[i];
		if (t == NULL)
			continue;
		while (t->head != NULL) {
			struct rec_cmd *c = t->head;
			t->head = c->next;
			free(c->dir);
			free(c);
		}
		pthread_mutex_destroy(&t->lock);
		free(t->open);
		free(t);
	}
	free(r->files);
	free((void *)r->closing);
	free(r);
}
