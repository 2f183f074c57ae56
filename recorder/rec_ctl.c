/* SPDX-License-Identifier: BSD-3-Clause
 * The recorder as other threads see it: stream opens, SRTP keys and closes
 * posted to the thread that owns the stream (rec_id % threads), the threads'
 * counters read, the open-files limit raised. The threads are rec_thread.c. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "config/cfg_log.h"
#include "dataplane/dp_contract.h"
#include "rec_priv.h"
#include "rec_thread_priv.h"

static struct rec_thread *rec_thread_for(struct rec_ctx *r, uint32_t id)
{
	return r->th[dp_rec_thread(id, r->n_threads)];
}

static void rec_enqueue(struct rec_thread *t, struct rec_cmd *c);

static int rec_post(struct rec_ctx *r, enum rec_cmd_type type, uint32_t id, const char *path,
		    unsigned flags, const char *dir, rec_done_fn done, void *arg)
{
	size_t len = path ? strlen(path) + 1 : 1;
	struct rec_cmd *c = calloc(1, sizeof(*c) + len);
	struct rec_thread *t = rec_thread_for(r, id);

	if (c == NULL || (dir != NULL && (c->dir = strdup(dir)) == NULL)) {
		free(c);
		return -ENOMEM;
	}
	c->type = type;
	c->rec_id = id;
	c->flags = flags;
	c->done = done;
	c->arg = arg;
	memcpy(c->path, path ? path : "", len);
	if (type == REC_CMD_CLOSE)
		atomic_fetch_add_explicit(&r->closing[id], 1, memory_order_relaxed);
	rec_enqueue(t, c);
	return 0;
}

static void rec_enqueue(struct rec_thread *t, struct rec_cmd *c)
{
	pthread_mutex_lock(&t->lock);
	if (t->tail != NULL)
		t->tail->next = c;
	else
		t->head = c;
	t->tail = c;
	atomic_fetch_add_explicit(&t->pending, 1, memory_order_release);
	pthread_mutex_unlock(&t->lock);
}

int rec_stream_open(struct rec_ctx *r, uint32_t rec_id, const char *path, unsigned flags)
{
	if (rec_id >= r->p.max_streams)
		return -EINVAL;
	if (!r->started)
		return rec_do_open(rec_thread_for(r, rec_id), rec_id, path, flags);
	return rec_post(r, REC_CMD_OPEN, rec_id, path, flags, NULL, NULL, NULL);
}

int rec_stream_srtp(struct rec_ctx *r, uint32_t rec_id, const struct rec_srtp_key *keys,
		    unsigned n)
{
	struct rec_thread *t;
	struct rec_cmd *c;

	if (rec_id >= r->p.max_streams)
		return -EINVAL;
	if (n > REC_SRTP_MAX)
		n = REC_SRTP_MAX;
	t = rec_thread_for(r, rec_id);
	if (!r->started) {
		rec_do_srtp(t, rec_id, keys, n);
		return 0;
	}
	c = calloc(1, sizeof(*c) + n * sizeof(*keys) + 1);
	if (c == NULL)
		return -ENOMEM;
	c->type = REC_CMD_SRTP;
	c->rec_id = rec_id;
	c->n_keys = n;
	if (n)
		memcpy(c->path, keys, n * sizeof(*keys));
	rec_enqueue(t, c);
	return 0;
}

int rec_stream_close(struct rec_ctx *r, uint32_t rec_id)
{
	return rec_session_close(r, rec_id, NULL, NULL, NULL);
}

int rec_session_close(struct rec_ctx *r, uint32_t rec_id, const char *dir, rec_done_fn done,
		      void *arg)
{
	if (rec_id >= r->p.max_streams)
		return -EINVAL;
	if (!r->started) {
		struct rec_cmd c = {.type = REC_CMD_CLOSE, .rec_id = rec_id, .done = done,
				    .arg = arg, .dir = (char *)dir};
		rec_do_close(rec_thread_for(r, rec_id), rec_id, &c);
		return 0;
	}
	return rec_post(r, REC_CMD_CLOSE, rec_id, NULL, 0, dir, done, arg);
}

bool rec_stream_closing(const struct rec_ctx *r, uint32_t rec_id)
{
	return rec_id < r->p.max_streams &&
	       atomic_load_explicit(&r->closing[rec_id], memory_order_acquire) != 0;
}

unsigned rec_thread_count(const struct rec_ctx *r)
{
	return r->n_threads;
}

void rec_get_thread_stats(const struct rec_ctx *r, unsigned t, struct rec_thread_stats *s)
{
	uint64_t *dst = (uint64_t *)s;

	memset(s, 0, sizeof(*s));
	if (t >= r->n_threads || r->th[t] == NULL)
		return;
	for (unsigned i = 0; i < REC_NSTATS; i++)
		dst[i] = __atomic_load_n(&r->th[t]->pub[i], __ATOMIC_RELAXED);
}

void rec_get_totals(const struct rec_ctx *r, struct rec_totals *t)
{
	struct rec_thread_stats s;

	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < r->n_threads; i++) {
		rec_get_thread_stats(r, i, &s);
		t->packets += s.packets;
		t->bytes += s.bytes;
		t->dropped += s.dropped;
		t->write_errors += s.write_errors;
		t->open_files += s.open_files;
		t->parked += s.parked;
		t->reopens += s.reopens;
		t->buffer_bytes += s.buffer_bytes;
	}
	if (r->hook != NULL) {
		rec_hook_counts(r->hook, &t->hooks_started, &t->hooks_failed, &t->hooks_killed);
	} else {
		t->hooks_started = r->hook_final[0];
		t->hooks_failed = r->hook_final[1];
		t->hooks_killed = r->hook_final[2];
	}
	t->storage_error = rec_storage_error(r);
}

int rec_storage_error(const struct rec_ctx *r)
{
	return atomic_load(&((struct rec_ctx *)r)->storage_err);
}

int rec_raise_nofile(uint64_t want)
{
	struct rlimit rl;
	rlim_t cur;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -errno;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return 0;
	cur = want;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		struct rlimit up = {.rlim_cur = want, .rlim_max = want};
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return 0;
		cur = rl.rlim_max; /* as far as an unprivileged process may go */
	}
	rl.rlim_cur = cur;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || cur < want) {
		int err = errno ? errno : EPERM;
		getrlimit(RLIMIT_NOFILE, &rl);
		LOG_WARN("cannot raise the open files limit to %llu (now %llu, hard %llu): "
			 "recording more streams at once than that fails",
			 (unsigned long long)want, (unsigned long long)rl.rlim_cur,
			 (unsigned long long)rl.rlim_max);
		return -err;
	}
	return 0;
}
