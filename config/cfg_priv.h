/* SPDX-License-Identifier: BSD-3-Clause
 * config/ internals: error context, position table, schema, helpers.
 */
#ifndef RTPREC_CFG_PRIV_H
#define RTPREC_CFG_PRIV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cyaml/cyaml.h>

#include "config/cfg.h"

/* Longest path we build ("flows[123].forward.from"); longer is truncated. */
#define CFG_PATH_MAX 256

/* String -> size_t hash map (open addressing); keys are copied. */
struct cfg_map_slot {
	char *key;
	size_t val;
};
struct cfg_map {
	struct cfg_map_slot *slots;
	size_t cap, n;
};
/* 1 if key was already there (*old gets its value), 0 if added, -1 no memory. */
int cfg_map_add(struct cfg_map *m, const char *key, size_t val, size_t *old);
bool cfg_map_get(const struct cfg_map *m, const char *key, size_t *val);
void cfg_map_free(struct cfg_map *m);

/* Where a value came from: a YAML line/column (1-based) or an env var. */
struct cfg_pos {
	unsigned line, col;
	char *env; /* set when an environment variable overrode the value */
};

/* One error, kept until cfg_ctx_fini prints them all in file order. */
struct cfg_msg {
	unsigned line, col; /* 0:0 for environment errors: printed last */
	size_t seq;
	char *text;
};

struct cfg_ctx {
	const char *name; /* printed as FILE */
	FILE *errf;
	unsigned flags;   /* CFG_LOAD_* */
	int nerr;
	struct cfg_msg *msgs;
	size_t msgs_cap;
	struct cfg_map pos_idx; /* path -> index in pos[] */
	struct cfg_pos *pos;
	size_t npos, pos_cap;
};

void cfg_ctx_init(struct cfg_ctx *x, const char *name, FILE *errf);
/* Prints the errors (sorted by line, column; env errors last) and frees. */
void cfg_ctx_fini(struct cfg_ctx *x);

/* Record (or replace) the position of path. */
void cfg_pos_set(struct cfg_ctx *x, const char *path, unsigned line, unsigned col);
void cfg_pos_set_env(struct cfg_ctx *x, const char *path, const char *env);
/* access(path, mode) == 0, or true without asking on a reload (CFG_LOAD_RELOAD). */
bool cfg_file_ok(const struct cfg_ctx *x, const char *path, int mode);
/* True if the key at path was given in the YAML or the environment. */
bool cfg_present(const struct cfg_ctx *x, const char *path);

/* "FILE:LINE:COL: message". */
void cfg_err_mark(struct cfg_ctx *x, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* At the position of path (or of its closest recorded ancestor). */
void cfg_err_at(struct cfg_ctx *x, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, with "path: " in front of the message. */
void cfg_errp(struct cfg_ctx *x, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "env:NAME: message". */
void cfg_err_env(struct cfg_ctx *x, const char *env, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "top level" for the root path, else the path itself. */
const char *cfg_where(const char *path);
/* Append ".key" (or "key" at the root) / "[i]" to path; returns the old length. */
size_t cfg_path_key(char *path, const char *key);
size_t cfg_path_index(char *path, size_t i);

/* The libcyaml schema for struct cfg and the matching libcyaml config. */
extern const cyaml_schema_value_t cfg_schema_top;
void cfg_cyaml_config(cyaml_config_t *conf, void *log_ctx,
		      void (*log_fn)(cyaml_log_t, void *, const char *, va_list));

/* Storage stride of one sequence entry. */
size_t cfg_entry_stride(const cyaml_schema_value_t *entry);

/* A scalar parsed against a schema value. */
union cfg_scalar {
	int64_t i;
	uint64_t u;
	bool b;
};
/* NULL if text is a valid value of schema type s (result in *out), else a
 * message like "'abc' is not an unsigned integer" in buf. */
const char *cfg_scalar_parse(const cyaml_schema_value_t *s, const char *text,
			     union cfg_scalar *out, char *buf, size_t buflen);
/* Store a parsed scalar (or, for strings, a copy of text) at data. 0 or -1. */
int cfg_scalar_store(const cyaml_schema_value_t *s, uint8_t *data, const char *text,
		     const union cfg_scalar *v);

/* Step 1-2: libyaml parse + schema walk; fills the position table. */
void cfg_walk(struct cfg_ctx *x, const char *yaml, size_t len);
/* Step 4: environment overrides. */
void cfg_env_apply(struct cfg_ctx *x, struct cfg *c);
/* Step 5: defaults and semantic checks. */
void cfg_validate(struct cfg_ctx *x, struct cfg *c);
void cfg_validate_flows(struct cfg_ctx *x, struct cfg *c);
void cfg_validate_sip(struct cfg_ctx *x, struct cfg *c);
void cfg_validate_recording(struct cfg_ctx *x, struct cfg *c);
/* After the ports and media: nat.* (cfg_nat.c). */
void cfg_validate_nat(struct cfg_ctx *x, struct cfg *c);
/* Default an absent unsigned key, or check a present one against lo..hi. */
void cfg_check_uint(struct cfg_ctx *x, const char *path, unsigned *v, unsigned def, unsigned lo,
		    unsigned hi);
/* Default an absent string key to def (a copy); error if it is empty. */
void cfg_default_str(struct cfg_ctx *x, const char *path, char **s, const char *def);
/* Index of s (case-insensitive) in names[n], or -1 with an error at path
 * naming list. */
int cfg_pick(struct cfg_ctx *x, const char *path, const char *s, const char *const *names,
	     size_t n, const char *list);
/* The n strings vals[] (a sequence at key) as indexes in names[n_names] into out[]
 * (at most max: more is an error); unknown names (list names the known ones) and
 * duplicates are errors. Returns how many went into out. */
unsigned cfg_pick_list(struct cfg_ctx *x, const char *key, char **vals, unsigned n,
		       const char *const *names, unsigned n_names, const char *list, unsigned max,
		       unsigned *out);
/* Error at path if val was already seen in m (as entry "<seq>[i]"). */
void cfg_check_unique(struct cfg_ctx *x, struct cfg_map *m, const char *path, const char *what,
		      const char *val, const char *seq, size_t i);

/* Value parsers (strict); true on success. */
bool cfg_parse_ipv4(const char *s, uint32_t *ip);
bool cfg_parse_cidr(const char *s, uint32_t *ip, uint8_t *len);
bool cfg_parse_addr(const char *s, struct cfg_addr *a);
bool cfg_parse_mac(const char *s, uint8_t mac[6]);

/* Replace *dst with a copy of s (freed by cfg_free). 0 or -1. */
int cfg_set_str(char **dst, const char *s);

/* Generated from config/default.yaml by tools/embed.py. */
extern const char cfg_default_yaml_text[];

#endif
