/* SPDX-License-Identifier: BSD-3-Clause
 * A reload's change to the static flows: flows are told apart by name; a removed flow is
 * deleted from every worker before its pcap is closed (so its last packets are in it),
 * then new and changed flows get ids, a pcap and their FLOW_ADDs. Sessions and the
 * flows that did not change go on untouched. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_log.h"
#include "cp_priv.h"
#include "cp_session.h"

/* The ports a flow's out_port and next hop refer to: a reload cannot change them. */
static bool cp_static_ports_same(const struct cfg *a, const struct cfg *b)
{
	if (a->ports_count != b->ports_count)
		return false;
	for (unsigned i = 0; i < a->ports_count; i++) {
		const struct cfg_port *p = &a->ports[i], *q = &b->ports[i];
		if (strcmp(p->name, q->name) != 0 || strcmp(p->device, q->device) != 0 ||
		    p->ip != q->ip || p->prefix_len != q->prefix_len ||
		    p->has_gateway != q->has_gateway || p->gateway_ip != q->gateway_ip ||
		    p->has_gateway_mac != q->has_gateway_mac ||
		    memcmp(p->gateway_mac_bytes, q->gateway_mac_bytes, 6) != 0)
			return false;
	}
	return true;
}

static bool cp_addr_same(const struct cfg_addr *a, const struct cfg_addr *b)
{
	return a->ip == b->ip && a->port == b->port;
}

static bool cp_static_same(const struct cfg_flow *a, const struct cfg_flow *b)
{
	bool fwd = a->action_mask & CFG_ACT_FORWARD;

	return a->action_mask == b->action_mask && cp_addr_same(&a->dst, &b->dst) &&
	       a->has_src == b->has_src && (!a->has_src || cp_addr_same(&a->src, &b->src)) &&
	       (a->count ? a->count : 1) == (b->count ? b->count : 1) &&
	       a->clock_rate == b->clock_rate &&
	       (!fwd || (cp_addr_same(&a->fwd_to, &b->fwd_to) &&
			 cp_addr_same(&a->fwd_from, &b->fwd_from) && a->out_port == b->out_port));
}

static int cp_static_index(const struct cfg *n, const char *name)
{
	for (unsigned i = 0; i < n->flows_count; i++)
		if (strcmp(n->flows[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void cp_static_refuse(struct cp_static_result *res, const char *name, const char *why)
{
	LOG_ERR("reload: flow %s not added: %s", name, why);
	if (res->refused++ == 0)
		snprintf(res->why, sizeof(res->why), "flow %s: %s", name, why);
}

/* Remove the entries marked in gone[] (keeping the order by id); their pcaps close. */
static void cp_static_drop(struct cp_ctx *cp, const bool *gone)
{
	struct cp_static *st = &cp->st;
	unsigned k = 0;

	for (unsigned i = 0; i < st->n; i++) {
		struct cp_static_flow *e = &st->v[i];
		if (!gone[i]) {
			if (k != i)
				st->v[k] = *e;
			k++;
			continue;
		}
		if (e->rec_id != DP_REC_NONE) {
			rec_stream_close(cp->rec, e->rec_id);
			cp_static_rec_put(st, e->rec_id);
		}
	}
	st->n = k;
}

/* Delete the marked entries from every worker, then from the table. */
static int cp_static_remove(struct cp_ctx *cp, const bool *gone)
{
	struct cp_static *st = &cp->st;
	struct cp_static_flow **list = calloc(st->n ? st->n : 1, sizeof(*list));
	unsigned n = 0;
	int rc;

	if (list == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < st->n; i++)
		if (gone[i])
			list[n++] = &st->v[i];
	rc = n ? cp_static_program(cp, list, n, false) : 0;
	free(list);
	if (rc == 0)
		cp_static_drop(cp, gone);
	return rc;
}

/* Append flow f as a new entry; false (and why) when it cannot be. */
static bool cp_static_append(struct cp_ctx *cp, const struct cfg_flow *f, const char **why)
{
	struct cp_static *st = &cp->st;
	struct cp_static_flow *e;
	unsigned count = f->count ? f->count : 1;
	int rc;

	if (cp_sessions_port_owned(cp, f->dst.ip, f->dst.port)) {
		*why = "match.dst is a media address and port the sessions use";
		return false;
	}
	if (count > CP_SESS_FLOW_BASE - st->next_id) {
		*why = "no flow ids left (restart rtprec)";
		return false;
	}
	e = &st->v[st->n];
	cp_static_fill(e, f, st->next_id);
	if (f->action_mask & CFG_ACT_RECORD) {
		e->rec_id = cp_static_rec_get(st, cp->rec);
		if (e->rec_id == DP_REC_NONE) {
			*why = "no recorder stream left (restart rtprec)";
			return false;
		}
		rc = cp_static_open(cp, e);
		if (rc != 0) {
			cp_static_rec_put(st, e->rec_id);
			*why = "its pcap cannot be opened";
			return false;
		}
	}
	st->next_id += count;
	st->n++;
	return true;
}

/* Add the flows n->flows[add[i]]; changed[i]: a flow of that name was just removed. */
static int cp_static_add(struct cp_ctx *cp, const struct cfg *n, const unsigned *add,
			 const bool *changed, unsigned n_add, struct cp_static_result *res)
{
	struct cp_static *st = &cp->st;
	unsigned first = st->n, n_new = 0, n_bad = 0;
	struct cp_static_flow **list = calloc(n_add, sizeof(*list));
	bool *was = calloc(n_add, sizeof(*was)), *bad = calloc(st->n + n_add, sizeof(*bad));
	const char *why;
	int rc = -ENOMEM;

	if (list == NULL || was == NULL || bad == NULL)
		goto out;
	for (unsigned i = 0; i < n_add; i++) {
		const struct cfg_flow *f = &n->flows[add[i]];
		if (cp_static_append(cp, f, &why)) {
			was[n_new] = changed[i];
			list[n_new++] = &st->v[st->n - 1];
		} else {
			cp_static_refuse(res, f->name, why);
			res->removed += changed[i];
		}
	}
	rc = n_new ? cp_static_program(cp, list, n_new, true) : 0;
	/* a flow some worker refused is taken back from all of them (a worker deletes a
	 * key only when the flow id is also the one it holds) */
	for (unsigned k = 0; rc == 0 && k < n_new; k++) {
		struct cp_static_flow *e = list[k];

		if (e->failed == 0) {
			res->added += !was[k];
			res->changed += was[k];
			continue;
		}
		bad[first + k] = true;
		list[n_bad++] = e; /* n_bad <= k: only entries already looked at are overwritten */
		cp_static_refuse(res, e->name, strerror(-e->first_err));
		res->removed += was[k];
	}
	if (n_bad != 0 && cp_static_program(cp, list, n_bad, false) == 0)
		cp_static_drop(cp, bad);
out:
	free(list);
	free(was);
	free(bad);
	return rc;
}

int cp_static_reload(struct cp_ctx *cp, const struct cfg *n, struct cp_static_result *res)
{
	struct cp_static *st = &cp->st;
	bool *gone, *changed, *seen;
	unsigned *add, n_add = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!cp_static_ports_same(cp->cfg, n)) {
		snprintf(res->why, sizeof(res->why),
			 "ports changed: static flows wait for a restart");
		return -EINVAL;
	}
	gone = calloc(st->n ? st->n : 1, sizeof(*gone));
	add = calloc(n->flows_count ? n->flows_count : 1, sizeof(*add));
	changed = calloc(n->flows_count ? n->flows_count : 1, sizeof(*changed));
	seen = calloc(n->flows_count ? n->flows_count : 1, sizeof(*seen));
	if (gone == NULL || add == NULL || changed == NULL || seen == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < st->n; i++) {
		int j = cp_static_index(n, st->v[i].name);
		if (j >= 0)
			seen[j] = true;
		if (j < 0) {
			gone[i] = true;
			res->removed++;
		} else if (!cp_static_same(&st->v[i].f, &n->flows[j])) {
			gone[i] = true;
			changed[n_add] = true;
			add[n_add++] = (unsigned)j;
		} else {
			res->kept++;
		}
	}
	for (unsigned j = 0; j < n->flows_count; j++)
		if (!seen[j])
			add[n_add++] = j;
	rc = cp_static_remove(cp, gone);
	if (rc == 0 && n_add != 0 && st->n + n_add > st->cap) {
		struct cp_static_flow *v = realloc(st->v, (st->n + n_add) * sizeof(*v));
		if (v == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		st->v = v;
		st->cap = st->n + n_add;
	}
	if (rc == 0 && n_add != 0)
		rc = cp_static_add(cp, n, add, changed, n_add, res);
	if (rc != 0)
		snprintf(res->why, sizeof(res->why), "the workers did not take the flows: %s",
			 strerror(-rc));
	else
		LOG_INFO("reload: static flows: %u added, %u removed, %u changed, %u kept, "
			 "%u refused", res->added, res->removed, res->changed, res->kept,
			 res->refused);
out:
	free(gone);
	free(add);
	free(changed);
	free(seen);
	return rc;
}
