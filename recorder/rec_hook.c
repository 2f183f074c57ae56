/* SPDX-License-Identifier: BSD-3-Clause
 * recording.on_close: the command is split at spaces and tabs (no shell, no
 * quoting), {dir} and {file} are replaced inside each word, and the program
 * is started with posix_spawn: stdin /dev/null, stdout to rtprec's stderr
 * (stdout carries JSON lines only), no other descriptor, default signal
 * handling, its own process group. A thread of its own starts the queued
 * runs (at most REC_HOOK_RUNNING at once), reaps them and kills (the whole
 * group) those that run past the timeout. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/cfg_log.h"
#include "rec_priv.h"

#define REC_HOOK_RUNNING 16
#define REC_HOOK_POLL_MS 20
#define REC_HOOK_ARGS 64

extern char **environ;

struct rec_hook_job {
	struct rec_hook_job *next;
	char *argv[REC_HOOK_ARGS + 1];
};

struct rec_hook_run {
	pid_t pid;
	uint64_t deadline_ms;
	char *what; /* argv[0] and the last argument, for the log */
};

struct rec_hook {
	char *tmpl;
	unsigned timeout_s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rec_hook_job *head, *tail;
	bool stopping;
	struct rec_hook_run run[REC_HOOK_RUNNING];
	unsigned n_run;
	atomic_uint_fast64_t started, failed, killed;
};

static uint64_t rec_hook_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* word with {dir} and {file} replaced; NULL without memory. */
static char *rec_hook_word(const char *w, size_t n, const char *dir, const char *file)
{
	size_t cap = n + 1, o = 0;
	char *out;

	for (size_t i = 0; i < n; i++)
		if (w[i] == '{')
			cap += strlen(dir) + strlen(file);
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		const char *v = NULL;
		size_t skip = 0;
		if (n - i >= 5 && strncmp(w + i, "{dir}", 5) == 0)
			v = dir, skip = 5;
		else if (n - i >= 6 && strncmp(w + i, "{file}", 6) == 0)
			v = file, skip = 6;
		if (v != NULL) {
			memcpy(out + o, v, strlen(v));
			o += strlen(v);
			i += skip;
		} else {
			out[o++] = w[i++];
		}
	}
	out[o] = '\0';
	return out;
}

static void rec_hook_job_free(struct rec_hook_job *j)
{
	for (unsigned i = 0; j != NULL && j->argv[i] != NULL; i++)
		free(j->argv[i]);
	free(j);
}

static pid_t rec_hook_spawn(char *const *argv)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	pid_t pid = -1;
	int rc;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	rc = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		LOG_ERR("recording.on_close: cannot run %s: %s", argv[0], strerror(rc));
		return -1;
	}
	return pid;
}

/* Start queued jobs while there is room. Called with the lock held. */
static void rec_hook_start_jobs(struct rec_hook *h)
{
	while (h->head != NULL && h->n_run < REC_HOOK_RUNNING) {
		struct rec_hook_job *j = h->head;
		unsigned last = 0;
		h->head = j->next;
		if (h->head == NULL)
			h->tail = NULL;
		pthread_mutex_unlock(&h->lock);
		pid_t pid = rec_hook_spawn(j->argv);
		while (j->argv[last + 1] != NULL)
			last++;
		if (pid > 0) {
			struct rec_hook_run *r = &h->run[h->n_run++];
			size_t len = strlen(j->argv[0]) + strlen(j->argv[last]) + 2;
			r->pid = pid;
			r->deadline_ms = rec_hook_now_ms() + h->timeout_s * 1000ull;
			r->what = malloc(len);
			if (r->what != NULL)
				snprintf(r->what, len, "%s %s", j->argv[0], j->argv[last]);
			h->started++;
		} else {
			h->failed++;
		}
		rec_hook_job_free(j);
		pthread_mutex_lock(&h->lock);
	}
}

/* Reap what ended; kill what ran too long (or everything when force). */
static void rec_hook_reap(struct rec_hook *h, bool force)
{
	uint64_t now = rec_hook_now_ms();

	for (unsigned i = 0; i < h->n_run;) {
		struct rec_hook_run *r = &h->run[i];
		int st = 0;
		pid_t p = waitpid(r->pid, &st, WNOHANG);
		if (p == 0 && (force || now >= r->deadline_ms)) {
			LOG_ERR("recording.on_close: %s still running after %u s: killed",
				r->what ? r->what : "hook", h->timeout_s);
			kill(-r->pid, SIGKILL);
			kill(r->pid, SIGKILL);
			p = waitpid(r->pid, &st, 0);
			h->killed++;
		} else if (p > 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
			LOG_WARN("recording.on_close: %s exited with status %d",
				 r->what ? r->what : "hook",
				 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			h->failed++;
		}
		if (p == 0) {
			i++;
			continue;
		}
		free(r->what);
		h->run[i] = h->run[--h->n_run];
	}
}

static void *rec_hook_main(void *arg)
{
	struct rec_hook *h = arg;
	uint64_t stop_deadline = 0;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		rec_hook_start_jobs(h);
		if (h->stopping && h->head == NULL && h->n_run == 0)
			break;
		if (h->stopping && stop_deadline == 0)
			stop_deadline = rec_hook_now_ms() + h->timeout_s * 1000ull;
		if (h->n_run == 0 && h->head == NULL && !h->stopping) {
			pthread_cond_wait(&h->cond, &h->lock);
			continue;
		}
		pthread_mutex_unlock(&h->lock);
		usleep(REC_HOOK_POLL_MS * 1000);
		rec_hook_reap(h, stop_deadline != 0 && rec_hook_now_ms() >= stop_deadline);
		pthread_mutex_lock(&h->lock);
		if (stop_deadline != 0 && rec_hook_now_ms() >= stop_deadline) {
			while (h->head != NULL) { /* no time left for these */
				struct rec_hook_job *j = h->head;
				h->head = j->next;
				h->failed++;
				rec_hook_job_free(j);
			}
			h->tail = NULL;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

struct rec_hook *rec_hook_create(const char *tmpl, unsigned timeout_s)
{
	struct rec_hook *h = calloc(1, sizeof(*h));

	if (h == NULL || (h->tmpl = strdup(tmpl)) == NULL) {
		free(h);
		return NULL;
	}
	h->timeout_s = timeout_s ? timeout_s : 60;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (pthread_create(&h->thread, NULL, rec_hook_main, h) != 0) {
		free(h->tmpl);
		free(h);
		return NULL;
	}
	pthread_setname_np(h->thread, "rtprec-hook");
	return h;
}

void rec_hook_run(struct rec_hook *h, const char *dir, const char *file)
{
	struct rec_hook_job *j = calloc(1, sizeof(*j));
	const char *p = h->tmpl;
	unsigned n = 0;

	if (j == NULL)
		goto fail;
	for (;;) {
		p += strspn(p, " \t");
		size_t len = strcspn(p, " \t");
		if (len == 0 || n == REC_HOOK_ARGS)
			break;
		j->argv[n] = rec_hook_word(p, len, dir, file ? file : "");
		if (j->argv[n++] == NULL)
			goto fail;
		p += len;
	}
	if (n == 0)
		goto fail;
	pthread_mutex_lock(&h->lock);
	if (h->tail != NULL)
		h->tail->next = j;
	else
		h->head = j;
	h->tail = j;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return;
fail:
	h->failed++;
	rec_hook_job_free(j);
}

void rec_hook_stop(struct rec_hook *h, uint64_t counts[3])
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	rec_hook_counts(h, &counts[0], &counts[1], &counts[2]);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h->tmpl);
	free(h);
}

void rec_hook_counts(const struct rec_hook *h, uint64_t *started, uint64_t *failed,
		     uint64_t *killed)
{
	*started = h ? h->started : 0;
	*failed = h ? h->failed : 0;
	*killed = h ? h->killed : 0;
}
