/* SPDX-License-Identifier: BSD-3-Clause
 * The static flows the workers hold: those of the config at start, then those a reload
 * added. Each configured flow (a name) is one entry: its expansion (count) takes a block
 * of flow ids, given out in increasing order and never reused, so an entry is found from
 * any of its flow ids by bisection; a recorded flow has a recorder stream id below
 * cfg_flow_rec_slots(), taken from a queue (an id given back is reused last). */
#ifndef RTPREC_CP_STATIC_H
#define RTPREC_CP_STATIC_H

#include <stdbool.h>
#include <stdint.h>

#include "config/cfg.h"

struct cp_ctx;
struct dp_msg;
struct rec_ctx;

/* Counters of one configured flow, summed over its expansion and workers. */
struct cp_flow_agg {
	uint64_t packets;
	uint64_t bytes;
	uint64_t rtp_received;
	uint64_t rtp_expected;
	int64_t rtp_lost;
	uint64_t rtp_reordered;
	uint64_t rtp_duplicate;
	uint64_t record_drops;
	uint32_t jitter; /* the largest of its parts */
};

struct cp_static_flow {
	char name[CFG_NAME_MAX];
	struct cfg_flow f;  /* the derived fields; the config's strings are not kept */
	uint32_t id_base;   /* flow ids id_base .. id_base + count - 1 */
	uint32_t count;
	uint32_t rec_id;    /* DP_REC_NONE: not recorded */
	uint64_t failed;    /* additions the workers refused */
	int first_err;
	struct cp_flow_agg agg;
};

struct cp_static {
	struct cp_static_flow *v; /* by id_base */
	unsigned n, cap;
	uint32_t next_id;         /* id_base of the next entry */
	uint64_t answers;         /* workers' answers to additions and deletions */
	uint64_t add_failed;      /* additions refused, since start */
	uint32_t *rec_free;       /* queue of free recorder stream ids */
	unsigned rec_head, rec_n, rec_cap;
};

/* The config's flows, not yet sent to the workers. 0 or -ENOMEM. */
int cp_static_init(struct cp_static *st, const struct cfg *cfg);
void cp_static_fini(struct cp_static *st);
/* The entry holding flow_id, or NULL. */
struct cp_static_flow *cp_static_find(struct cp_static *st, uint32_t flow_id);
/* A worker's answer or counters for a static flow id; false when m is not one. */
bool cp_static_event(struct cp_ctx *cp, const struct dp_msg *m);
/* Counters of entry i (0 <= i < n). */
const struct cp_flow_agg *cp_static_agg(const struct cp_ctx *cp, unsigned i);
/* Whether a static flow takes packets to ip:port (host order). */
bool cp_static_holds(const struct cp_static *st, uint32_t ip, unsigned port);

/* What a reload did to the static flows. */
struct cp_static_result {
	unsigned added, removed, changed, kept, refused;
	char why[160]; /* the first refusal, or why nothing changed */
};
/* Make the static flows those of n (a valid config read again): flows whose name is gone
 * are deleted and their pcaps closed, new names added, changed ones deleted and added
 * again (a new pcap; the old one is kept). A flow that cannot be added is refused and
 * the rest goes on. 0, or -EINVAL when nothing could change (res->why says why). */
int cp_static_reload(struct cp_ctx *cp, const struct cfg *n, struct cp_static_result *res);

/* Internal to cp_static*.c: e from the config's flow f, not recorded, ids from id_base. */
void cp_static_fill(struct cp_static_flow *e, const struct cfg_flow *f, uint32_t id_base);
/* Send FLOW_ADD (add) or FLOW_DEL for every flow of e to every
 * worker, then wait until the workers answered them all. 0 or -ETIMEDOUT. */
int cp_static_program(struct cp_ctx *cp, struct cp_static_flow *const *e, unsigned n, bool add);
/* Open e's pcap: dir/name.pcap, or when that exists (an earlier run's, or the flow
 * changed by a reload) dir/name.YYYYmmddTHHMMSSZ.pcap (-2, -3, ... added when that
 * exists too); the name is created at once (empty), before the recorder thread opens
 * it, so nothing recorded is overwritten. 0 or -errno. */
int cp_static_open(struct cp_ctx *cp, const struct cp_static_flow *e);
/* A free recorder stream id whose last pcap rec (may be NULL) has finished closing, or
 * DP_REC_NONE; give it back with cp_static_rec_put. */
uint32_t cp_static_rec_get(struct cp_static *st, const struct rec_ctx *rec);
void cp_static_rec_put(struct cp_static *st, uint32_t id);

#endif
