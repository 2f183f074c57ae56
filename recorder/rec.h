/* SPDX-License-Identifier: BSD-3-Clause
 * Recorder: one thread drains the workers' record rings (dp_rec_item) and
 * writes one libpcap file (nanosecond timestamps) per recording stream. */
#ifndef RTPREC_REC_H
#define RTPREC_REC_H

#include <stdint.h>

struct rte_ring;
struct rec_ctx;

/* rings: the workers' record rings (read by the recorder thread only).
 * max_streams: rec_id must stay below it. NULL on failure (errno set). */
struct rec_ctx *rec_create(struct rte_ring *const *rings, unsigned n_rings, uint32_t max_streams);

/* Open stream rec_id writing to path. Before rec_start: done at once;
 * after: handed to the recorder thread through its command ring.
 * 0 or -errno. */
int rec_stream_open(struct rec_ctx *r, uint32_t rec_id, const char *path);
int rec_stream_close(struct rec_ctx *r, uint32_t rec_id);

int rec_start(struct rec_ctx *r);
/* Drain every ring (workers must be stopped first), flush and close all
 * files, join the thread. */
void rec_stop(struct rec_ctx *r);
void rec_free(struct rec_ctx *r);

struct rec_totals {
	uint64_t packets;
	uint64_t bytes;
	uint64_t write_errors;
};
void rec_get_totals(const struct rec_ctx *r, struct rec_totals *t);

#endif
