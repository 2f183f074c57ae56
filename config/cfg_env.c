/* SPDX-License-Identifier: BSD-3-Clause
 * Step 4: environment overrides. Every scalar of the schema can be set with
 * RTPREC_<PATH> (path upper-cased, '.' and "[i]" turned into '_'), found by
 * walking the schema over the loaded struct (existing sequence entries only).
 * The operator names BEHIND_NAT, EXTERNAL_IP, INTERNAL_IP also work; the
 * RTPREC_ form wins when both are set.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_priv.h"

extern char **environ;

static const struct {
	const char *path, *env;
} aliases[] = {
	{ "nat.behind_nat", "BEHIND_NAT" },
	{ "nat.external_ip", "EXTERNAL_IP" },
	{ "nat.internal_ip", "INTERNAL_IP" },
};

struct envw {
	struct cfg_ctx *x;
	char path[CFG_PATH_MAX];
};

static void env_name(const char *path, char *out, size_t n)
{
	size_t o = (size_t)snprintf(out, n, "RTPREC_");
	for (const char *p = path; *p && o + 1 < n; p++) {
		if (*p == ']')
			continue;
		out[o++] = (*p == '.' || *p == '[') ? '_' : (char)toupper((unsigned char)*p);
	}
	out[o < n ? o : n - 1] = '\0';
}

/* Is any variable named prefix...? Lets us skip whole subtrees cheaply. */
static bool env_has_prefix(const char *prefix)
{
	size_t len = strlen(prefix);
	for (char **e = environ; e && *e; e++)
		if (!strncmp(*e, prefix, len))
			return true;
	return false;
}

static bool subtree_may_match(const char *path)
{
	char name[CFG_PATH_MAX + 16];
	env_name(path, name, sizeof(name));
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strncmp(aliases[i].path, path, strlen(path)))
			return true;
	return env_has_prefix(name);
}

static void env_scalar(struct envw *w, const cyaml_schema_value_t *s, uint8_t *data)
{
	char name[CFG_PATH_MAX + 16];
	const char *val;

	env_name(w->path, name, sizeof(name));
	val = getenv(name);
	for (size_t i = 0; !val && i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (!strcmp(aliases[i].path, w->path)) {
			snprintf(name, sizeof(name), "%s", aliases[i].env);
			val = getenv(name);
		}
	}
	if (!val)
		return;

	char buf[256];
	union cfg_scalar v;
	const char *msg = cfg_scalar_parse(s, val, &v, buf, sizeof(buf));
	if (msg) {
		cfg_err_env(w->x, name, "%s: %s", w->path, msg);
		return;
	}
	if (cfg_scalar_store(s, data, val, &v) < 0) {
		cfg_err_env(w->x, name, "%s: cannot store value", w->path);
		return;
	}
	cfg_pos_set_env(w->x, w->path, name);
}

static void env_value(struct envw *w, const cyaml_schema_value_t *s, uint8_t *data);

static void env_mapping(struct envw *w, const cyaml_schema_value_t *s, uint8_t *base)
{
	for (const cyaml_schema_field_t *f = s->mapping.fields; f->key; f++) {
		size_t len = cfg_path_key(w->path, f->key);
		uint8_t *data = base + f->data_offset;
		if (f->value.type == CYAML_SEQUENCE) {
			uint64_t count = 0;
			memcpy(&count, base + f->count_offset, f->count_size); /* little endian */
			uint8_t *entries = *(uint8_t **)data;
			size_t stride = cfg_entry_stride(f->value.sequence.entry);
			for (uint64_t i = 0; entries && i < count; i++) {
				size_t l2 = cfg_path_index(w->path, (size_t)i);
				env_value(w, f->value.sequence.entry, entries + i * stride);
				w->path[l2] = '\0';
			}
		} else {
			env_value(w, &f->value, data);
		}
		w->path[len] = '\0';
	}
}

static void env_value(struct envw *w, const cyaml_schema_value_t *s, uint8_t *data)
{
	if (!subtree_may_match(w->path))
		return;
	if (s->type == CYAML_MAPPING)
		env_mapping(w, s, data);
	else if (s->type != CYAML_SEQUENCE && s->type != CYAML_SEQUENCE_FIXED &&
		 s->type != CYAML_IGNORE)
		env_scalar(w, s, data);
}

void cfg_env_apply(struct cfg_ctx *x, struct cfg *c)
{
	struct envw w = { .x = x };
	env_mapping(&w, &cfg_schema_top, (uint8_t *)c);
}
