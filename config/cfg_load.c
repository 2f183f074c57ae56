/* SPDX-License-Identifier: BSD-3-Clause
 * Entry points: walk (syntax + schema, with positions), libcyaml load,
 * environment overrides, defaults + validation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cfg_priv.h"

/* libcyaml's own messages: keep the first error line, print nothing. */
struct cyaml_log {
	char first[256];
};

static void swallow_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	struct cyaml_log *l = ctx;
	if (level < CYAML_LOG_ERROR || l->first[0])
		return;
	vsnprintf(l->first, sizeof(l->first), fmt, args);
	l->first[strcspn(l->first, "\n")] = '\0';
}

static struct cfg *cyaml_load(struct cfg_ctx *x, const char *yaml, size_t len)
{
	struct cyaml_log log = { .first = "" };
	cyaml_config_t conf;
	struct cfg *c = NULL;

	cfg_cyaml_config(&conf, &log, swallow_log);
	cyaml_err_t err = cyaml_load_data((const uint8_t *)yaml, len, &conf, &cfg_schema_top,
					  (cyaml_data_t **)&c, NULL);
	if (err != CYAML_OK) {
		cfg_err_mark(x, 1, 1, "cannot load: %s", log.first[0] ? log.first :
			     cyaml_strerror(err));
		if (c)
			cfg_free(c);
		return NULL;
	}
	return c;
}

int cfg_load_string_flags(const char *name, const char *yaml, size_t len, unsigned flags,
			  struct cfg **out, FILE *errf)
{
	struct cfg_ctx x;
	struct cfg *c = NULL;

	*out = NULL;
	cfg_ctx_init(&x, name, errf);
	x.flags = flags;
	cfg_walk(&x, yaml, len);
	if (!x.nerr)
		c = cyaml_load(&x, yaml, len);
	if (c) {
		cfg_env_apply(&x, c);
		cfg_validate(&x, c);
	}
	int nerr = x.nerr;
	cfg_ctx_fini(&x);
	if (nerr) {
		cfg_free(c);
		return nerr;
	}
	*out = c;
	return 0;
}

int cfg_load_string(const char *name, const char *yaml, size_t len, struct cfg **out, FILE *errf)
{
	return cfg_load_string_flags(name, yaml, len, 0, out, errf);
}

bool cfg_file_ok(const struct cfg_ctx *x, const char *path, int mode)
{
	return (x->flags & CFG_LOAD_RELOAD) || access(path, mode) == 0;
}

int cfg_load_file(const char *path, struct cfg **out, FILE *errf)
{
	return cfg_load_file_flags(path, 0, out, errf);
}

int cfg_load_file_flags(const char *path, unsigned flags, struct cfg **out, FILE *errf)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	int err = 0;

	*out = NULL;
	if (f) {
		FILE *mem = open_memstream(&buf, &len);
		char chunk[65536];
		size_t n;
		while (mem && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			if (fwrite(chunk, 1, n, mem) != n)
				break;
		err = ferror(f) ? errno : (mem ? 0 : ENOMEM);
		if (mem && fclose(mem) != 0 && !err)
			err = ENOMEM;
		fclose(f);
	} else {
		err = errno;
	}
	if (err) {
		fprintf(errf ? errf : stderr, "%s: cannot read: %s\n", path, strerror(err));
		free(buf);
		return 1;
	}
	int r = cfg_load_string_flags(path, buf, len, flags, out, errf);
	free(buf);
	return r;
}

void cfg_free(struct cfg *c)
{
	cyaml_config_t conf;
	if (!c)
		return;
	cfg_cyaml_config(&conf, NULL, NULL);
	cyaml_free(&conf, &cfg_schema_top, c, 0);
}

const char *cfg_default_yaml(void)
{
	return cfg_default_yaml_text;
}

int cfg_port_index(const struct cfg *c, const char *name)
{
	for (unsigned i = 0; c && name && i < c->ports_count; i++)
		if (c->ports[i].name && !strcmp(c->ports[i].name, name))
			return (int)i;
	return -1;
}
