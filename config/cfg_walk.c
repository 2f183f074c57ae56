/* SPDX-License-Identifier: BSD-3-Clause
 * Steps 1-2: parse with libyaml, then walk the document along the libcyaml
 * schema, reporting every unknown/duplicate/missing key, wrong node kind and
 * bad scalar at its line:column, and recording each node's position by path.
 */
#include <string.h>

#include <yaml.h>

#include "config/cfg_priv.h"

struct walk {
	struct cfg_ctx *x;
	yaml_document_t *doc;
	char path[CFG_PATH_MAX];
	/* Nodes we may still visit: aliases can make a small document expand
	 * quadratically ("billion laughs"); stop with one error instead. */
	size_t budget;
};

/* Each document node may be visited this many times through aliases. */
#define ALIAS_FACTOR 16

#define MAX_FIELDS 64

static unsigned line_of(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.line + 1;
}

static unsigned col_of(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.column + 1;
}

static const char *kind_name(yaml_node_type_t t)
{
	switch (t) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_SCALAR_NODE:
		return "a scalar";
	default:
		return "nothing";
	}
}

static bool expect_kind(struct walk *w, const yaml_node_t *n, yaml_node_type_t want)
{
	if (n->type == want)
		return true;
	cfg_err_mark(w->x, line_of(n), col_of(n), "%s: expected %s, got %s", cfg_where(w->path),
		     kind_name(want), kind_name(n->type));
	return false;
}

static void walk_value(struct walk *w, const cyaml_schema_value_t *s, yaml_node_t *n);

static void report_missing(struct walk *w, const cyaml_schema_field_t *fields, const bool *seen,
			   unsigned line, unsigned col)
{
	for (size_t i = 0; fields[i].key; i++)
		if (!seen[i] && !(fields[i].value.flags & CYAML_FLAG_OPTIONAL))
			cfg_err_mark(w->x, line, col, "missing key '%s' in %s", fields[i].key,
				     cfg_where(w->path));
}

static void walk_mapping(struct walk *w, const cyaml_schema_value_t *s, yaml_node_t *n)
{
	const cyaml_schema_field_t *fields = s->mapping.fields;
	bool seen[MAX_FIELDS] = { false };

	if (!expect_kind(w, n, YAML_MAPPING_NODE))
		return;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
		if (!k || !v)
			continue;
		if (k->type != YAML_SCALAR_NODE) {
			cfg_err_mark(w->x, line_of(k), col_of(k), "%s: keys must be scalars",
				     cfg_where(w->path));
			continue;
		}
		const char *key = (const char *)k->data.scalar.value;
		size_t i;
		for (i = 0; fields[i].key && strcmp(fields[i].key, key) != 0; i++)
			;
		if (!fields[i].key) {
			cfg_err_mark(w->x, line_of(k), col_of(k), "unknown key '%.100s' in %s", key,
				     cfg_where(w->path));
			continue;
		}
		if (seen[i]) {
			cfg_err_mark(w->x, line_of(k), col_of(k), "duplicate key '%s' in %s", key,
				     cfg_where(w->path));
			continue;
		}
		seen[i] = true;
		size_t len = cfg_path_key(w->path, key);
		walk_value(w, &fields[i].value, v);
		w->path[len] = '\0';
	}
	report_missing(w, fields, seen, line_of(n), col_of(n));
}

static void walk_sequence(struct walk *w, const cyaml_schema_value_t *s, yaml_node_t *n)
{
	if (!expect_kind(w, n, YAML_SEQUENCE_NODE))
		return;
	size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count < s->sequence.min)
		cfg_err_mark(w->x, line_of(n), col_of(n), "%s: needs at least %u entries, has %zu",
			     cfg_where(w->path), s->sequence.min, count);
	else if (count > s->sequence.max)
		cfg_err_mark(w->x, line_of(n), col_of(n), "%s: allows at most %u entries, has %zu",
			     cfg_where(w->path), s->sequence.max, count);
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *v = yaml_document_get_node(w->doc, n->data.sequence.items.start[i]);
		if (!v)
			continue;
		size_t len = cfg_path_index(w->path, i);
		walk_value(w, s->sequence.entry, v);
		w->path[len] = '\0';
	}
}

static void walk_scalar(struct walk *w, const cyaml_schema_value_t *s, yaml_node_t *n)
{
	char buf[256];
	union cfg_scalar v;
	if (!expect_kind(w, n, YAML_SCALAR_NODE))
		return;
	const char *msg = cfg_scalar_parse(s, (const char *)n->data.scalar.value, &v, buf,
					   sizeof(buf));
	if (msg)
		cfg_err_mark(w->x, line_of(n), col_of(n), "%s: %s", cfg_where(w->path), msg);
}

static void walk_value(struct walk *w, const cyaml_schema_value_t *s, yaml_node_t *n)
{
	if (w->budget == 0)
		return;
	if (--w->budget == 0) {
		cfg_err_mark(w->x, line_of(n), col_of(n), "%s: aliases expand to too many nodes",
			     cfg_where(w->path));
		return;
	}
	cfg_pos_set(w->x, w->path, line_of(n), col_of(n));
	switch (s->type) {
	case CYAML_MAPPING:
		walk_mapping(w, s, n);
		break;
	case CYAML_SEQUENCE:
	case CYAML_SEQUENCE_FIXED:
		walk_sequence(w, s, n);
		break;
	case CYAML_IGNORE:
		break;
	default:
		walk_scalar(w, s, n);
		break;
	}
}

/* Reader errors (bad bytes) carry a byte offset instead of a mark. */
static void offset_to_mark(const char *yaml, size_t len, size_t off, unsigned *line, unsigned *col)
{
	*line = *col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (yaml[i] == '\n') {
			++*line;
			*col = 1;
		} else if (((unsigned char)yaml[i] & 0xc0) != 0x80) { /* count characters */
			++*col;
		}
	}
}

static void syntax_error(struct cfg_ctx *x, const yaml_parser_t *p, const char *yaml, size_t len)
{
	unsigned line = (unsigned)p->problem_mark.line + 1, col = (unsigned)p->problem_mark.column + 1;
	const char *problem = p->problem ? p->problem : "invalid YAML";

	if (p->error == YAML_MEMORY_ERROR) {
		cfg_err_mark(x, 1, 1, "out of memory while parsing");
		return;
	}
	if (p->error == YAML_READER_ERROR)
		offset_to_mark(yaml, len, p->problem_offset, &line, &col);
	if (p->context)
		cfg_err_mark(x, line, col, "syntax error: %s (%s)", problem, p->context);
	else
		cfg_err_mark(x, line, col, "syntax error: %s", problem);
}

/* A second document in the stream is an error (libcyaml reads only one). */
static void check_single_document(struct cfg_ctx *x, yaml_parser_t *parser, const char *yaml,
				  size_t len)
{
	yaml_document_t next;
	if (!yaml_parser_load(parser, &next)) {
		syntax_error(x, parser, yaml, len);
		return;
	}
	yaml_node_t *root = yaml_document_get_root_node(&next);
	if (root)
		cfg_err_mark(x, line_of(root), col_of(root),
			     "only one YAML document is allowed in a config file");
	yaml_document_delete(&next);
}

void cfg_walk(struct cfg_ctx *x, const char *yaml, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc;

	if (!yaml_parser_initialize(&parser)) {
		cfg_err_mark(x, 1, 1, "out of memory");
		return;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(x, &parser, yaml, len);
		yaml_parser_delete(&parser);
		return;
	}
	size_t nodes = (size_t)(doc.nodes.top - doc.nodes.start);
	struct walk w = { .x = x, .doc = &doc, .budget = ALIAS_FACTOR * nodes + 1024 };
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root) {
		walk_value(&w, &cfg_schema_top, root);
		check_single_document(x, &parser, yaml, len);
	} else {
		bool seen[MAX_FIELDS] = { false };
		cfg_pos_set(x, "", 1, 1);
		report_missing(&w, cfg_schema_top.mapping.fields, seen, 1, 1);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
}
