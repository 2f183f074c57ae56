/* SPDX-License-Identifier: BSD-3-Clause
 * The recorder threads' state, shared by rec_thread.c (the threads) and
 * rec_ctl.c (what other threads call: commands posted, counters read). */
#ifndef RTPREC_REC_THREAD_PRIV_H
#define RTPREC_REC_THREAD_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/cfg.h"
#include "rec_priv.h"

enum rec_cmd_type { REC_CMD_OPEN = 1, REC_CMD_CLOSE, REC_CMD_SRTP };

struct rec_cmd {
	struct rec_cmd *next;
	enum rec_cmd_type type;
	uint32_t rec_id;
	unsigned flags;
	rec_done_fn done;
	void *arg;
	char *dir;  /* session close: the hook's {dir} */
	unsigned n_keys; /* srtp: struct rec_srtp_key[n_keys] in path */
	_Alignas(8) char path[]; /* open */
};

#define REC_NSTATS (sizeof(struct rec_thread_stats) / sizeof(uint64_t))
_Static_assert(sizeof(struct rec_thread_stats) == REC_NSTATS * sizeof(uint64_t),
	       "rec_thread_stats holds uint64_t only");

struct rec_thread {
	struct rec_ctx *r;
	unsigned idx;
	pthread_t tid;
	struct rte_ring *rings[CFG_MAX_WORKERS];
	unsigned n_rings;
	pthread_mutex_t lock;
	struct rec_cmd *head, *tail;
	atomic_uint pending;
	struct rec_wctx w;
	struct rec_file **open; /* this thread's streams */
	uint32_t n_open, cap_open;
	uint64_t next_tick;
	uint64_t errs_seen;
	uint64_t pub[REC_NSTATS]; /* w.c (and buffer bytes) for other threads */
};

struct rec_ctx {
	struct rec_params p;
	struct rec_file **files; /* [max_streams]; files[id] belongs to thread id % threads */
	atomic_ushort *closing;  /* [max_streams]: closes of id posted and not yet done */
	struct rec_thread *th[CFG_MAX_REC_THREADS];
	unsigned n_threads;
	struct rec_hook *hook;
	uint64_t hook_final[3]; /* its counts once stopped */
	bool started;
	atomic_int stop;
	atomic_int storage_err;
	atomic_uint_fast64_t errs;
	uint64_t base_tsc, base_ns, tsc_hz, tick_tsc;
};

/* A stream's open, SRTP keys and close, run on its thread (or by the caller
 * before the threads start). */
int rec_do_open(struct rec_thread *t, uint32_t id, const char *path, unsigned flags);
void rec_do_srtp(struct rec_thread *t, uint32_t id, const struct rec_srtp_key *keys,
		 unsigned n);
void rec_do_close(struct rec_thread *t, uint32_t id, const struct rec_cmd *c);

#endif
