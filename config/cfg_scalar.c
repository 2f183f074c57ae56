/* SPDX-License-Identifier: BSD-3-Clause
 * Scalars against their schema type, shared by the YAML walk and the
 * environment overrides. Integers are read the way libcyaml reads them
 * (strtoll base 0), but the whole text must be the number, and a leading 0
 * (octal in libcyaml) is refused so that "010" never silently means 8.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfg_priv.h"

static bool strict_number(const char *t, bool allow_sign)
{
	if (allow_sign && *t == '-')
		t++;
	if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
		if (!t[2])
			return false;
		for (t += 2; *t; t++)
			if (!isxdigit((unsigned char)*t))
				return false;
		return true;
	}
	if (!isdigit((unsigned char)t[0]) || (t[0] == '0' && t[1]))
		return false;
	for (; *t; t++)
		if (!isdigit((unsigned char)*t))
			return false;
	return true;
}

static const char *parse_int(const cyaml_schema_value_t *s, const char *t, union cfg_scalar *out,
			     char *buf, size_t n)
{
	unsigned bits = s->data_size * 8;
	if (!strict_number(t, true)) {
		snprintf(buf, n, "'%.80s' is not an integer", t);
		return buf;
	}
	int64_t max = (int64_t)((~(uint64_t)0) >> (64 - bits + 1));
	errno = 0;
	long long v = strtoll(t, NULL, 0);
	if (errno == ERANGE || v > max || v < -max - 1) {
		snprintf(buf, n, "'%.80s' is out of range (%lld..%lld)", t, (long long)-max - 1,
			 (long long)max);
		return buf;
	}
	out->i = v;
	return NULL;
}

static const char *parse_uint(const cyaml_schema_value_t *s, const char *t, union cfg_scalar *out,
			      char *buf, size_t n)
{
	unsigned bits = s->data_size * 8;
	if (!strict_number(t, false)) {
		snprintf(buf, n, "'%.80s' is not an unsigned integer", t);
		return buf;
	}
	uint64_t max = (~(uint64_t)0) >> (64 - bits);
	errno = 0;
	long long v = strtoll(t, NULL, 0); /* libcyaml reads uint with strtoll too */
	if (errno == ERANGE || v < 0 || (uint64_t)v > max) {
		snprintf(buf, n, "'%.80s' is out of range (0..%llu)", t, (unsigned long long)max);
		return buf;
	}
	out->u = (uint64_t)v;
	return NULL;
}

static const char *parse_bool(const char *t, union cfg_scalar *out, char *buf, size_t n)
{
	static const char *const yes[] = { "true", "yes", "on", "enable", "enabled", "1" };
	static const char *const no[] = { "false", "no", "off", "disable", "disabled", "0" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(t, yes[i]) || !strcasecmp(t, no[i])) {
			out->b = !strcasecmp(t, yes[i]);
			return NULL;
		}
	}
	snprintf(buf, n, "'%.80s' is not a boolean (true or false)", t);
	return buf;
}

static const char *parse_enum(const cyaml_schema_value_t *s, const char *t, union cfg_scalar *out,
			      char *buf, size_t n)
{
	size_t len = 0;
	for (uint32_t i = 0; i < s->enumeration.count; i++) {
		if (!strcmp(t, s->enumeration.strings[i].str)) {
			out->i = s->enumeration.strings[i].val;
			return NULL;
		}
	}
	len = (size_t)snprintf(buf, n, "'%.80s' is not one of", t);
	for (uint32_t i = 0; i < s->enumeration.count && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s %s", i ? "," : "",
					s->enumeration.strings[i].str);
	return buf;
}

const char *cfg_scalar_parse(const cyaml_schema_value_t *s, const char *text,
			     union cfg_scalar *out, char *buf, size_t buflen)
{
	memset(out, 0, sizeof(*out));
	switch (s->type) {
	case CYAML_INT:
		return parse_int(s, text, out, buf, buflen);
	case CYAML_UINT:
		return parse_uint(s, text, out, buf, buflen);
	case CYAML_BOOL:
		return parse_bool(text, out, buf, buflen);
	case CYAML_ENUM:
		return parse_enum(s, text, out, buf, buflen);
	case CYAML_STRING: {
		size_t len = strlen(text);
		if (len < s->string.min || len > s->string.max) {
			snprintf(buf, buflen, "length %zu is out of range (%u..%u)", len,
				 s->string.min, s->string.max);
			return buf;
		}
		return NULL;
	}
	default:
		snprintf(buf, buflen, "this key cannot be set from a scalar");
		return buf;
	}
}

static void write_int(uint8_t *data, uint32_t size, uint64_t v)
{
	switch (size) {
	case 1: { uint8_t x = (uint8_t)v; memcpy(data, &x, 1); break; }
	case 2: { uint16_t x = (uint16_t)v; memcpy(data, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(data, &x, 4); break; }
	default: memcpy(data, &v, 8); break;
	}
}

int cfg_scalar_store(const cyaml_schema_value_t *s, uint8_t *data, const char *text,
		     const union cfg_scalar *v)
{
	switch (s->type) {
	case CYAML_INT:
	case CYAML_ENUM:
		write_int(data, s->data_size, (uint64_t)v->i);
		return 0;
	case CYAML_UINT:
		write_int(data, s->data_size, v->u);
		return 0;
	case CYAML_BOOL:
		write_int(data, s->data_size, v->b);
		return 0;
	case CYAML_STRING:
		if (s->flags & CYAML_FLAG_POINTER)
			return cfg_set_str((char **)data, text);
		if (strlen(text) > s->string.max)
			return -1;
		strcpy((char *)data, text);
		return 0;
	default:
		return -1;
	}
}

int cfg_set_str(char **dst, const char *s)
{
	char *copy = strdup(s);
	if (!copy)
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

unsigned cfg_pick_list(struct cfg_ctx *x, const char *key, char **vals, unsigned n,
		       const char *const *names, unsigned n_names, const char *list, unsigned max,
		       unsigned *out)
{
	char path[CFG_PATH_MAX];
	unsigned got = 0;

	snprintf(path, sizeof(path), "%s", key);
	if (n > max) {
		cfg_errp(x, path, "at most %u entries, got %u", max, n);
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		size_t base = cfg_path_index(path, i);
		int v = cfg_pick(x, path, vals[i], names, n_names, list);
		bool dup = false;
		for (unsigned k = 0; v >= 0 && k < got; k++)
			dup |= out[k] == (unsigned)v;
		if (dup)
			cfg_errp(x, path, "'%.50s' is listed twice", vals[i]);
		else if (v >= 0)
			out[got++] = (unsigned)v;
		path[base] = '\0';
	}
	return got;
}
