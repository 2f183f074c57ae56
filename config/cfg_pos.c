/* SPDX-License-Identifier: BSD-3-Clause
 * Error context, position table (path -> line:col or env var) and path helpers.
 */
#include <stdlib.h>
#include <string.h>

#include "config/cfg_priv.h"

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h ^ (h >> 29) ^ (h >> 47); /* FNV's low bits alone cluster */
}

static struct cfg_map_slot *find_slot(struct cfg_map_slot *slots, size_t cap, const char *key)
{
	size_t i = hash_str(key) & (cap - 1);
	while (slots[i].key && strcmp(slots[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int grow(struct cfg_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct cfg_map_slot *s = calloc(cap, sizeof(*s));
	if (!s)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			*find_slot(s, cap, m->slots[i].key) = m->slots[i];
	free(m->slots);
	m->slots = s;
	m->cap = cap;
	return 0;
}

int cfg_map_add(struct cfg_map *m, const char *key, size_t val, size_t *old)
{
	if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
		return -1;
	struct cfg_map_slot *s = find_slot(m->slots, m->cap, key);
	if (s->key) {
		if (old)
			*old = s->val;
		return 1;
	}
	s->key = strdup(key);
	if (!s->key)
		return -1;
	s->val = val;
	m->n++;
	return 0;
}

bool cfg_map_get(const struct cfg_map *m, const char *key, size_t *val)
{
	if (!m->cap)
		return false;
	struct cfg_map_slot *s = find_slot(m->slots, m->cap, key);
	if (s->key && val)
		*val = s->val;
	return s->key != NULL;
}

void cfg_map_free(struct cfg_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

void cfg_ctx_init(struct cfg_ctx *x, const char *name, FILE *errf)
{
	memset(x, 0, sizeof(*x));
	x->name = name ? name : "<config>";
	x->errf = errf ? errf : stderr;
}

static int msg_cmp(const void *a, const void *b)
{
	const struct cfg_msg *m = a, *n = b;
	unsigned ml = m->line ? m->line : ~0u, nl = n->line ? n->line : ~0u;
	if (ml != nl)
		return ml < nl ? -1 : 1;
	if (m->col != n->col)
		return m->col < n->col ? -1 : 1;
	return m->seq < n->seq ? -1 : m->seq > n->seq;
}

void cfg_ctx_fini(struct cfg_ctx *x)
{
	size_t n = (size_t)x->nerr;
	if (n && x->msgs)
		qsort(x->msgs, n, sizeof(*x->msgs), msg_cmp);
	for (size_t i = 0; x->msgs && i < n; i++) {
		if (x->msgs[i].text)
			fprintf(x->errf, "%s\n", x->msgs[i].text);
		free(x->msgs[i].text);
	}
	if (n && !x->msgs)
		fprintf(x->errf, "%s: out of memory while reporting %zu errors\n", x->name, n);
	fflush(x->errf);
	free(x->msgs);
	for (size_t i = 0; i < x->npos; i++)
		free(x->pos[i].env);
	free(x->pos);
	cfg_map_free(&x->pos_idx);
}

static struct cfg_pos *pos_entry(struct cfg_ctx *x, const char *path)
{
	size_t idx;
	if (cfg_map_get(&x->pos_idx, path, &idx))
		return &x->pos[idx];
	if (x->npos == x->pos_cap) {
		size_t cap = x->pos_cap ? x->pos_cap * 2 : 64;
		struct cfg_pos *p = realloc(x->pos, cap * sizeof(*p));
		if (!p)
			return NULL;
		x->pos = p;
		x->pos_cap = cap;
	}
	if (cfg_map_add(&x->pos_idx, path, x->npos, NULL) < 0)
		return NULL;
	struct cfg_pos *p = &x->pos[x->npos++];
	memset(p, 0, sizeof(*p));
	return p;
}

void cfg_pos_set(struct cfg_ctx *x, const char *path, unsigned line, unsigned col)
{
	struct cfg_pos *p = pos_entry(x, path);
	if (p) {
		p->line = line;
		p->col = col;
	}
}

void cfg_pos_set_env(struct cfg_ctx *x, const char *path, const char *env)
{
	struct cfg_pos *p = pos_entry(x, path);
	if (p) {
		free(p->env);
		p->env = strdup(env);
	}
}

bool cfg_present(const struct cfg_ctx *x, const char *path)
{
	return cfg_map_get(&x->pos_idx, path, NULL);
}

/* The recorded position of path or of its closest ancestor. */
static const struct cfg_pos *pos_lookup(const struct cfg_ctx *x, const char *path)
{
	char p[CFG_PATH_MAX];
	size_t idx;
	snprintf(p, sizeof(p), "%s", path);
	for (;;) {
		if (cfg_map_get(&x->pos_idx, p, &idx))
			return &x->pos[idx];
		if (!p[0])
			return NULL;
		char *cut = strrchr(p, '.');
		char *br = strrchr(p, '[');
		if (br > cut)
			cut = br;
		if (cut)
			*cut = '\0';
		else
			p[0] = '\0';
	}
}

/* Room for one more message; false (and nothing kept) once memory ran out. */
static bool msg_room(struct cfg_ctx *x)
{
	if (x->msgs_cap == SIZE_MAX)
		return false;
	if ((size_t)x->nerr < x->msgs_cap)
		return true;
	size_t cap = x->msgs_cap ? 2 * x->msgs_cap : 16;
	struct cfg_msg *m = realloc(x->msgs, cap * sizeof(*m));
	if (m) {
		x->msgs = m;
		x->msgs_cap = cap;
		return true;
	}
	for (int i = 0; i < x->nerr; i++)
		free(x->msgs[i].text);
	free(x->msgs);
	x->msgs = NULL;
	x->msgs_cap = SIZE_MAX;
	return false;
}

static void verr(struct cfg_ctx *x, const struct cfg_pos *p, const char *prefix,
		 const char *fmt, va_list ap)
{
	char msg[1024];
	char *text = NULL;
	struct cfg_msg m = { .line = p ? p->line : 1, .col = p ? p->col : 1 };

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (p && p->env) {
		m.line = m.col = 0;
		if (asprintf(&text, "env:%s: %s%s", p->env, prefix, msg) < 0)
			text = NULL;
	} else if (asprintf(&text, "%s:%u:%u: %s%s", x->name, m.line, m.col, prefix, msg) < 0) {
		text = NULL;
	}
	if (msg_room(x)) {
		m.seq = (size_t)x->nerr;
		m.text = text;
		x->msgs[x->nerr] = m;
	} else {
		free(text);
	}
	x->nerr++;
}

void cfg_err_mark(struct cfg_ctx *x, unsigned line, unsigned col, const char *fmt, ...)
{
	struct cfg_pos p = { .line = line, .col = col };
	va_list ap;
	va_start(ap, fmt);
	verr(x, &p, "", fmt, ap);
	va_end(ap);
}

void cfg_err_at(struct cfg_ctx *x, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(x, pos_lookup(x, path), "", fmt, ap);
	va_end(ap);
}

void cfg_errp(struct cfg_ctx *x, const char *path, const char *fmt, ...)
{
	char prefix[CFG_PATH_MAX + 2];
	snprintf(prefix, sizeof(prefix), "%s: ", cfg_where(path));
	va_list ap;
	va_start(ap, fmt);
	verr(x, pos_lookup(x, path), prefix, fmt, ap);
	va_end(ap);
}

void cfg_err_env(struct cfg_ctx *x, const char *env, const char *fmt, ...)
{
	struct cfg_pos p = { .env = (char *)env };
	va_list ap;
	va_start(ap, fmt);
	verr(x, &p, "", fmt, ap);
	va_end(ap);
}

const char *cfg_where(const char *path)
{
	return path[0] ? path : "top level";
}

size_t cfg_path_key(char *path, const char *key)
{
	size_t len = strlen(path);
	snprintf(path + len, CFG_PATH_MAX - len, "%s%s", len ? "." : "", key);
	return len;
}

size_t cfg_path_index(char *path, size_t i)
{
	size_t len = strlen(path);
	snprintf(path + len, CFG_PATH_MAX - len, "[%zu]", i);
	return len;
}
