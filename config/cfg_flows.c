/* SPDX-License-Identifier: BSD-3-Clause
 * Step 5 for flows[]: names (they become file names), match, actions,
 * forward, clock_rate, and no two flows with the same match.
 */
#include <string.h>

#include "config/cfg_priv.h"

#define ADDR_FORM "(a.b.c.d:port, port 1..65535)"

struct flow_check {
	struct cfg_ctx *x;
	struct cfg *c;
	char path[CFG_PATH_MAX];
	struct cfg_map names, matches;
};

/* path += key for the duration of one check; restore with the return value. */
#define AT(fc, key) cfg_path_key((fc)->path, key)

static void check_name(struct flow_check *fc, struct cfg_flow *f, size_t i)
{
	size_t len = AT(fc, "name");
	const char *n = f->name;
	size_t bad = strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

	if (!n[0])
		cfg_errp(fc->x, fc->path, "must not be empty");
	else if (n[bad])
		cfg_errp(fc->x, fc->path, "'%.100s' may contain only letters, digits, '.', '_' "
			 "and '-'", n);
	else if (n[0] == '.')
		cfg_errp(fc->x, fc->path, "'%.100s' must not start with '.'", n);
	else if (strlen(n) > CFG_NAME_MAX - 1)
		cfg_errp(fc->x, fc->path, "'%.100s' is longer than %d characters", n,
			 CFG_NAME_MAX - 1);
	else /* a bad name is reported once, not again as a duplicate */
		cfg_check_unique(fc->x, &fc->names, fc->path, "flow name", n, "flows", i);
	fc->path[len] = '\0';
}

static bool check_addr(struct flow_check *fc, const char *key, const char *s, struct cfg_addr *a)
{
	size_t len = AT(fc, key);
	bool ok = cfg_parse_addr(s, a);
	if (!ok)
		cfg_errp(fc->x, fc->path, "'%.100s' is not an IPv4 address and port " ADDR_FORM, s);
	fc->path[len] = '\0';
	return ok;
}

static void check_match(struct flow_check *fc, struct cfg_flow *f, size_t i)
{
	size_t len = AT(fc, "match");
	bool ok = check_addr(fc, "dst", f->match.dst, &f->dst);
	if (f->match.src) {
		f->has_src = check_addr(fc, "src", f->match.src, &f->src);
		ok = ok && f->has_src;
	}
	if (ok) {
		char key[64], a[16], b[16];
		snprintf(key, sizeof(key), "%s:%u<-%s:%u", cfg_ip_str(f->dst.ip, a), f->dst.port,
			 f->has_src ? cfg_ip_str(f->src.ip, b) : "*", f->has_src ? f->src.port : 0);
		size_t first;
		if (cfg_map_add(&fc->matches, key, i, &first) > 0)
			cfg_errp(fc->x, fc->path, "same match as flows[%zu]", first);
	}
	fc->path[len] = '\0';
}

static void check_actions(struct flow_check *fc, struct cfg_flow *f)
{
	static const char *const names[] = { "record", "forward", "drop" };
	size_t len = AT(fc, "actions");

	if (f->actions_count == 0)
		cfg_errp(fc->x, fc->path, "at least one action is required (record, forward, drop)");
	for (size_t a = 0; a < f->actions_count; a++) {
		size_t l2 = cfg_path_index(fc->path, a);
		unsigned bit = 0;
		for (unsigned k = 0; k < 3; k++)
			if (!strcmp(f->actions[a], names[k]))
				bit = 1u << k;
		if (!bit)
			cfg_errp(fc->x, fc->path, "unknown action '%.100s' (record, forward, drop)",
				 f->actions[a]);
		else if (f->action_mask & bit)
			cfg_errp(fc->x, fc->path, "action '%s' is repeated", f->actions[a]);
		f->action_mask |= bit;
		fc->path[l2] = '\0';
	}
	if ((f->action_mask & CFG_ACT_DROP) && (f->action_mask & ~(unsigned)CFG_ACT_DROP))
		cfg_errp(fc->x, fc->path, "'drop' cannot be combined with other actions");
	fc->path[len] = '\0';
}

static void check_forward(struct flow_check *fc, struct cfg_flow *f)
{
	struct cfg_flow_forward *fw = &f->forward;
	size_t len = AT(fc, "forward");
	bool given = cfg_present(fc->x, fc->path);

	if (!(f->action_mask & CFG_ACT_FORWARD)) {
		if (given)
			cfg_errp(fc->x, fc->path, "given but 'forward' is not in actions");
		goto out;
	}
	if (!given) {
		fc->path[len] = '\0';
		cfg_err_at(fc->x, fc->path, "missing key 'forward' in %s (the forward action needs it)",
			   fc->path);
		return;
	}
	check_addr(fc, "to", fw->to, &f->fwd_to);
	if (!fw->port) {
		if (fc->c->ports_count == 1) {
			f->out_port = 0;
			cfg_set_str(&fw->port, fc->c->ports[0].name);
		} else {
			cfg_err_at(fc->x, fc->path, "missing key 'port' in %s (there is more than "
				   "one port)", fc->path);
		}
	} else {
		int idx = cfg_port_index(fc->c, fw->port);
		size_t l2 = AT(fc, "port");
		if (idx < 0)
			cfg_errp(fc->x, fc->path, "no port named '%.100s'", fw->port);
		else
			f->out_port = (unsigned)idx;
		fc->path[l2] = '\0';
	}
	if (fw->from) {
		check_addr(fc, "from", fw->from, &f->fwd_from);
	} else if (f->out_port < fc->c->ports_count) {
		char buf[32], ip[16];
		f->fwd_from.ip = fc->c->ports[f->out_port].ip;
		f->fwd_from.port = f->dst.port;
		snprintf(buf, sizeof(buf), "%s:%u", cfg_ip_str(f->fwd_from.ip, ip), f->dst.port);
		cfg_set_str(&fw->from, buf);
	}
out:
	fc->path[len] = '\0';
}

/* count: N flows whose match.src address goes up by one each. */
static void check_count(struct flow_check *fc, struct cfg_flow *f)
{
	size_t len = AT(fc, "count");

	cfg_check_uint(fc->x, fc->path, &f->count, 1, 1, 16777216);
	if (f->count > 1 && !f->has_src)
		cfg_errp(fc->x, fc->path, "%u flows need match.src (its address is what varies)",
			 f->count);
	else if (f->count > 1 && f->src.ip > UINT32_MAX - (f->count - 1))
		cfg_errp(fc->x, fc->path, "%u flows from match.src run past 255.255.255.255",
			 f->count);
	fc->path[len] = '\0';
}

unsigned cfg_flow_total(const struct cfg *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->flows_count; i++)
		n += c->flows[i].count ? c->flows[i].count : 1;
	return n;
}

uint64_t cfg_mbufs_wanted(const struct cfg *c)
{
	const struct cfg_dataplane *d = &c->dataplane;
	uint64_t w = c->workers ? c->workers : 1, n = 0;

	for (unsigned p = 0; p < c->ports_count; p++)
		n += w * (c->ports[p].rx_desc + c->ports[p].tx_desc);
	n += w * (c->recording.threads ? c->recording.threads : 1) * d->record_ring_size;
	n += (w + 1) * 384; /* per-lcore caches: 1.5 x 256 */
	n += w * (d->burst + d->neigh_hold);
	return n;
}

unsigned cfg_flow_rec_slots(const struct cfg *c)
{
	return c->flows_count + CFG_FLOW_RELOAD_SPARE;
}

void cfg_validate_flows(struct cfg_ctx *x, struct cfg *c)
{
	struct flow_check fc = { .x = x, .c = c, .path = "flows" };

	for (size_t i = 0; i < c->flows_count; i++) {
		struct cfg_flow *f = &c->flows[i];
		size_t base = cfg_path_index(fc.path, i);
		size_t len;

		check_name(&fc, f, i);
		check_match(&fc, f, i);
		check_actions(&fc, f);
		check_forward(&fc, f);
		len = AT(&fc, "clock_rate");
		cfg_check_uint(x, fc.path, &f->clock_rate, 8000, 1000, 192000);
		fc.path[len] = '\0';
		check_count(&fc, f);
		fc.path[base] = '\0';
	}
	cfg_map_free(&fc.names);
	cfg_map_free(&fc.matches);
}
