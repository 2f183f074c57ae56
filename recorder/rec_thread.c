/* SPDX-License-Identifier: BSD-3-Clause
 * Recorder thread: drains the workers' record rings, demultiplexes by
 * rec_id and writes pcap files; flushes every second and at stop. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "config/cfg_log.h"
#include "dataplane/dp_contract.h"
#include "rec.h"
#include "rec_priv.h"

#define REC_BURST 256
#define REC_CMD_RING 1024
#define REC_FLUSH_NS 1000000000ull

enum rec_cmd_type { REC_CMD_OPEN = 1, REC_CMD_CLOSE };

struct rec_cmd {
	enum rec_cmd_type type;
	uint32_t rec_id;
	char path[];
};

struct rec_ctx {
	struct rte_ring *rings[64];
	unsigned n_rings;
	struct rte_ring *cmd;
	struct rec_file *files; /* indexed by rec_id */
	uint32_t max_streams;
	pthread_t thread;
	bool started;
	atomic_int stop;
	/* TSC -> wall clock */
	uint64_t base_tsc;
	uint64_t base_ns;
	uint64_t tsc_hz;
	uint64_t last_flush_tsc;
	/* totals (written by the recorder thread, read after stop or racy-ok) */
	uint64_t packets;
	uint64_t bytes;
	uint64_t write_errors;
	uint8_t linear[65536]; /* for chained mbufs */
};

static uint64_t rec_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct rec_ctx *rec_create(struct rte_ring *const *rings, unsigned n_rings, uint32_t max_streams)
{
	struct rec_ctx *r;
	char name[RTE_RING_NAMESIZE];
	static unsigned instance;

	if (n_rings > RTE_DIM(r->rings) || max_streams == 0) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->files = calloc(max_streams, sizeof(*r->files));
	snprintf(name, sizeof(name), "rec_cmd%u", instance++);
	r->cmd = rte_ring_create(name, REC_CMD_RING, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (r->files == NULL || r->cmd == NULL) {
		rec_free(r);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(r->rings, rings, n_rings * sizeof(*rings));
	r->n_rings = n_rings;
	r->max_streams = max_streams;
	r->tsc_hz = rte_get_tsc_hz();
	r->base_tsc = rte_rdtsc();
	r->base_ns = rec_now_ns();
	return r;
}

static int rec_do_open(struct rec_ctx *r, uint32_t id, const char *path)
{
	int rc;

	if (id >= r->max_streams)
		return -EINVAL;
	if (r->files[id].dumper != NULL)
		rec_file_close(&r->files[id]);
	rc = rec_file_open(&r->files[id], path);
	if (rc < 0)
		LOG_ERR("recorder: cannot open %s: %s", path, strerror(-rc));
	return rc;
}

static void rec_do_close(struct rec_ctx *r, uint32_t id)
{
	if (id < r->max_streams)
		rec_file_close(&r->files[id]);
}

static int rec_send_cmd(struct rec_ctx *r, enum rec_cmd_type type, uint32_t id, const char *path)
{
	size_t len = path ? strlen(path) + 1 : 1;
	struct rec_cmd *c = malloc(sizeof(*c) + len);

	if (c == NULL)
		return -ENOMEM;
	c->type = type;
	c->rec_id = id;
	memcpy(c->path, path ? path : "", len);
	if (rte_ring_sp_enqueue(r->cmd, c) != 0) {
		free(c);
		return -ENOBUFS;
	}
	return 0;
}

int rec_stream_open(struct rec_ctx *r, uint32_t rec_id, const char *path)
{
	if (!r->started)
		return rec_do_open(r, rec_id, path);
	return rec_send_cmd(r, REC_CMD_OPEN, rec_id, path);
}

int rec_stream_close(struct rec_ctx *r, uint32_t rec_id)
{
	if (!r->started) {
		rec_do_close(r, rec_id);
		return 0;
	}
	return rec_send_cmd(r, REC_CMD_CLOSE, rec_id, NULL);
}

static void rec_write_item(struct rec_ctx *r, const struct dp_rec_item *it)
{
	struct rte_mbuf *m = it->m;
	struct rec_file *f;
	const uint8_t *data;
	uint32_t len = rte_pktmbuf_pkt_len(m);
	uint32_t caplen = RTE_MIN(len, (uint32_t)sizeof(r->linear));
	uint64_t ns;

	if (it->rec_id >= r->max_streams || r->files[it->rec_id].dumper == NULL)
		return; /* stream closed meanwhile: nothing to write to */
	f = &r->files[it->rec_id];
	data = rte_pktmbuf_read(m, 0, caplen, r->linear);
	ns = r->base_ns +
	     (uint64_t)(((unsigned __int128)(it->tsc - r->base_tsc) * 1000000000ull) / r->tsc_hz);
	if (data == NULL || rec_file_write(f, ns, data, caplen, len) != 0) {
		r->write_errors++;
		if (!f->error_logged) {
			f->error_logged = true;
			LOG_ERR("recorder: write error on stream %u", it->rec_id);
		}
		return;
	}
	r->packets++;
	r->bytes += len;
}

/* One pass over every ring; returns how many items were written. */
static unsigned rec_drain_once(struct rec_ctx *r)
{
	struct dp_rec_item items[REC_BURST];
	struct rte_mbuf *mbufs[REC_BURST];
	unsigned total = 0;

	for (unsigned i = 0; i < r->n_rings; i++) {
		unsigned n = rte_ring_sc_dequeue_burst_elem(r->rings[i], items, DP_REC_ITEM_SIZE,
							    REC_BURST, NULL);
		for (unsigned k = 0; k < n; k++) {
			rec_write_item(r, &items[k]);
			mbufs[k] = items[k].m;
		}
		rte_pktmbuf_free_bulk(mbufs, n);
		total += n;
	}
	return total;
}

static void rec_handle_cmds(struct rec_ctx *r)
{
	void *p;

	while (rte_ring_sc_dequeue(r->cmd, &p) == 0) {
		struct rec_cmd *c = p;
		if (c->type == REC_CMD_OPEN) {
			rec_do_open(r, c->rec_id, c->path);
		} else {
			/* the stream's last packets were queued before its flows were
			 * deleted, hence before this command: take them first */
			while (rec_drain_once(r) != 0)
				;
			rec_do_close(r, c->rec_id);
		}
		free(c);
	}
}

static void rec_flush_all(struct rec_ctx *r)
{
	for (uint32_t i = 0; i < r->max_streams; i++)
		if (r->files[i].dumper != NULL && rec_file_flush(&r->files[i]) != 0)
			r->write_errors++;
}

static void *rec_main(void *arg)
{
	struct rec_ctx *r = arg;
	uint64_t flush_tsc = r->tsc_hz * (REC_FLUSH_NS / 1000000000ull);

	r->last_flush_tsc = rte_rdtsc();
	while (!atomic_load_explicit(&r->stop, memory_order_acquire)) {
		rec_handle_cmds(r);
		unsigned n = rec_drain_once(r);
		uint64_t now = rte_rdtsc();
		if (now - r->last_flush_tsc > flush_tsc) {
			rec_flush_all(r);
			r->last_flush_tsc = now;
		}
		if (n == 0)
			usleep(100);
	}
	/* workers are stopped: take what is left, then close everything */
	rec_handle_cmds(r);
	while (rec_drain_once(r) != 0)
		;
	return NULL;
}

int rec_start(struct rec_ctx *r)
{
	int rc = pthread_create(&r->thread, NULL, rec_main, r);
	if (rc != 0)
		return -rc;
	pthread_setname_np(r->thread, "rtprec-rec");
	r->started = true;
	return 0;
}

void rec_stop(struct rec_ctx *r)
{
	if (r->started) {
		atomic_store_explicit(&r->stop, 1, memory_order_release);
		pthread_join(r->thread, NULL);
		r->started = false;
	}
	for (uint32_t i = 0; i < r->max_streams; i++)
		rec_file_close(&r->files[i]);
}

void rec_free(struct rec_ctx *r)
{
	void *p;

	if (r == NULL)
		return;
	if (r->started)
		rec_stop(r);
	if (r->files != NULL)
		for (uint32_t i = 0; i < r->max_streams; i++)
			rec_file_close(&r->files[i]);
	if (r->cmd != NULL) {
		while (rte_ring_sc_dequeue(r->cmd, &p) == 0)
			free(p);
		rte_ring_free(r->cmd);
	}
	free(r->files);
	free(r);
}

void rec_get_totals(const struct rec_ctx *r, struct rec_totals *t)
{
	t->packets = r->packets;
	t->bytes = r->bytes;
	t->write_errors = r->write_errors;
}
