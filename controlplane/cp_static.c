/* SPDX-License-Identifier: BSD-3-Clause
 * Static flows: the table of configured flows, their flow and recorder ids, and how they
 * are programmed through the workers' command rings (at start, and by a reload). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_byteorder.h>

#include "config/cfg_log.h"
#include "cp_priv.h"
#include "cp_session.h"

static unsigned cp_static_count(const struct cfg_flow *f)
{
	return f->count ? f->count : 1;
}

void cp_static_fill(struct cp_static_flow *e, const struct cfg_flow *f, uint32_t id_base)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", f->name);
	e->f = *f;
	e->f.name = NULL;
	memset(&e->f.match, 0, sizeof(e->f.match));
	memset(&e->f.forward, 0, sizeof(e->f.forward));
	e->f.actions = NULL;
	e->f.actions_count = 0;
	e->count = cp_static_count(f);
	e->id_base = id_base;
	e->rec_id = DP_REC_NONE;
}

int cp_static_init(struct cp_static *st, const struct cfg *cfg)
{
	unsigned slots = cfg_flow_rec_slots(cfg);

	memset(st, 0, sizeof(*st));
	st->cap = cfg->flows_count ? cfg->flows_count : 1;
	st->v = calloc(st->cap, sizeof(*st->v));
	st->rec_cap = slots;
	st->rec_free = calloc(slots, sizeof(*st->rec_free));
	if (st->v == NULL || st->rec_free == NULL) {
		cp_static_fini(st);
		return -ENOMEM;
	}
	/* at start a recorded flow's stream id is its index in the file */
	for (unsigned i = cfg->flows_count; i < slots; i++)
		cp_static_rec_put(st, i);
	for (unsigned i = 0; i < cfg->flows_count; i++) {
		struct cp_static_flow *e = &st->v[i];
		const struct cfg_flow *f = &cfg->flows[i];

		cp_static_fill(e, f, st->next_id);
		st->next_id += e->count;
		if (f->action_mask & CFG_ACT_RECORD)
			e->rec_id = i;
		else
			cp_static_rec_put(st, i);
	}
	st->n = cfg->flows_count;
	return 0;
}

void cp_static_fini(struct cp_static *st)
{
	free(st->v);
	free(st->rec_free);
	memset(st, 0, sizeof(*st));
}

uint32_t cp_static_rec_get(struct cp_static *st, const struct rec_ctx *rec)
{
	for (uint32_t n = st->rec_n; n > 0; n--) {
		uint32_t id = st->rec_free[st->rec_head];

		st->rec_head = (st->rec_head + 1) % st->rec_cap;
		st->rec_n--;
		if (rec == NULL || !rec_stream_closing(rec, id))
			return id;
		cp_static_rec_put(st, id); /* its old pcap is still being closed */
	}
	return DP_REC_NONE;
}

void cp_static_rec_put(struct cp_static *st, uint32_t id)
{
	if (id == DP_REC_NONE || st->rec_n == st->rec_cap)
		return;
	st->rec_free[(st->rec_head + st->rec_n) % st->rec_cap] = id;
	st->rec_n++;
}

struct cp_static_flow *cp_static_find(struct cp_static *st, uint32_t flow_id)
{
	unsigned lo = 0, hi = st->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		struct cp_static_flow *e = &st->v[mid];

		if (flow_id < e->id_base)
			hi = mid;
		else if (flow_id - e->id_base >= e->count)
			lo = mid + 1;
		else
			return e;
	}
	return NULL;
}

static void cp_static_agg_add(struct cp_flow_agg *a, const struct dp_flow_stats *s)
{
	a->packets += s->packets;
	a->bytes += s->bytes;
	a->rtp_received += s->rtp_received;
	a->rtp_expected += s->rtp_expected;
	a->rtp_lost += s->rtp_lost;
	a->rtp_reordered += s->rtp_reordered;
	a->rtp_duplicate += s->rtp_duplicate;
	a->record_drops += s->record_drops;
	if (s->jitter > a->jitter)
		a->jitter = s->jitter;
}

bool cp_static_event(struct cp_ctx *cp, const struct dp_msg *m)
{
	struct cp_static *st = &cp->st;
	struct cp_static_flow *e;

	switch (m->type) {
	case DP_EV_FLOW_ADDED:
	case DP_EV_FLOW_DELETED:
		if (m->u.result.flow_id >= CP_SESS_FLOW_BASE)
			return false;
		st->answers++;
		return true;
	case DP_EV_FLOW_ADD_FAILED:
		if (m->u.result.flow_id >= CP_SESS_FLOW_BASE)
			return false;
		st->answers++;
		st->add_failed++;
		e = cp_static_find(st, m->u.result.flow_id);
		if (e != NULL && e->failed++ == 0)
			e->first_err = m->u.result.err;
		return true;
	case DP_EV_FLOW_STATS:
		if (m->u.stats.flow_id >= CP_SESS_FLOW_BASE)
			return false;
		e = cp_static_find(st, m->u.stats.flow_id);
		if (e != NULL)
			cp_static_agg_add(&e->agg, &m->u.stats);
		return true;
	default:
		return false;
	}
}

const struct cp_flow_agg *cp_static_agg(const struct cp_ctx *cp, unsigned i)
{
	return &cp->st.v[i].agg;
}

bool cp_static_holds(const struct cp_static *st, uint32_t ip, unsigned port)
{
	for (unsigned i = 0; i < st->n; i++)
		if (st->v[i].f.dst.ip == ip && st->v[i].f.dst.port == port)
			return true;
	return false;
}

/* Where the frame goes at L2: the destination itself when it is on the
 * port's subnet, else the port's gateway. */
static int cp_nexthop(const struct cp_static_flow *e, const struct cfg_port *p,
		      struct dp_flow_spec *s)
{
	uint32_t mask = p->prefix_len ? ~0u << (32 - p->prefix_len) : 0;

	if ((e->f.fwd_to.ip & mask) == (p->ip & mask)) {
		s->nexthop_ip = rte_cpu_to_be_32(e->f.fwd_to.ip);
	} else if (p->has_gateway) {
		s->nexthop_ip = rte_cpu_to_be_32(p->gateway_ip);
	} else {
		LOG_ERR("flow %s: forward.to is outside port %s's subnet and the port has no "
			"gateway", e->name, p->name);
		return -EHOSTUNREACH;
	}
	if (p->has_gateway_mac && s->nexthop_ip == rte_cpu_to_be_32(p->gateway_ip)) {
		s->has_nexthop_mac = 1;
		memcpy(s->nexthop_mac, p->gateway_mac_bytes, 6);
	}
	return 0;
}

/* The key of flow k of e (match.src + k). */
static void cp_static_key(const struct cp_static_flow *e, unsigned k, struct dp_flow_key *key)
{
	memset(key, 0, sizeof(*key));
	key->dst_ip = rte_cpu_to_be_32(e->f.dst.ip);
	key->dst_port = rte_cpu_to_be_16(e->f.dst.port);
	if (e->f.has_src) {
		key->src_ip = rte_cpu_to_be_32(e->f.src.ip + k);
		key->src_port = rte_cpu_to_be_16(e->f.src.port);
	}
}

static int cp_static_spec(const struct cfg *cfg, const struct cp_static_flow *e, unsigned k,
			  struct dp_flow_spec *s)
{
	const struct cfg_flow *f = &e->f;

	memset(s, 0, sizeof(*s));
	cp_static_key(e, k, &s->key);
	s->flow_id = e->id_base + k;
	s->rec_id = e->rec_id;
	s->actions = (uint8_t)f->action_mask; /* CFG_ACT_* == DP_ACT_* */
	s->clock_rate = f->clock_rate;
	if (!(f->action_mask & CFG_ACT_FORWARD))
		return 0;
	s->out_port = (uint8_t)f->out_port;
	s->fwd_src_ip = rte_cpu_to_be_32(f->fwd_from.ip);
	s->fwd_src_port = rte_cpu_to_be_16(f->fwd_from.port);
	s->fwd_dst_ip = rte_cpu_to_be_32(f->fwd_to.ip);
	s->fwd_dst_port = rte_cpu_to_be_16(f->fwd_to.port);
	return cp_nexthop(e, &cfg->ports[f->out_port], s);
}

static int cp_static_msg(struct cp_ctx *cp, const struct cp_static_flow *e, unsigned k,
			 bool add, struct dp_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (!add) {
		m->type = DP_CMD_FLOW_DEL;
		cp_static_key(e, k, &m->u.del.key);
		m->u.del.flow_id = e->id_base + k;
		return 0;
	}
	m->type = DP_CMD_FLOW_ADD;
	return cp_static_spec(cp->cfg, e, k, &m->u.spec);
}

int cp_static_program(struct cp_ctx *cp, struct cp_static_flow *const *e, unsigned n, bool add)
{
	unsigned nw = dp_worker_count(cp->dp);
	uint64_t want = 0, deadline;
	struct dp_msg m;
	int rc;

	_Static_assert(CFG_ACT_RECORD == DP_ACT_RECORD && CFG_ACT_FORWARD == DP_ACT_FORWARD &&
			       CFG_ACT_DROP == DP_ACT_DROP,
		       "config and dataplane action bits differ");
	cp->st.answers = 0;
	for (unsigned i = 0; i < n; i++) {
		for (unsigned k = 0; k < e[i]->count; k++) {
			rc = cp_static_msg(cp, e[i], k, add, &m);
			if (rc != 0)
				return rc;
			for (unsigned w = 0; w < nw; w++) {
				if (cp_send(cp, w, &m) != 0) {
					LOG_ERR("worker %u does not take commands", w);
					return -ETIMEDOUT;
				}
				want++;
			}
		}
	}
	deadline = cp_now_ms() + 10000 + want / 100;
	while (cp->st.answers < want && cp_now_ms() < deadline) {
		cp_poll(cp);
		usleep(100);
	}
	if (cp->st.answers < want) {
		LOG_ERR("workers answered %lu of %lu flow %s", (unsigned long)cp->st.answers,
			(unsigned long)want, add ? "additions" : "deletions");
		return -ETIMEDOUT;
	}
	return 0;
}

int cp_program_static_flows(struct cp_ctx *cp)
{
	struct cp_static *st = &cp->st;
	struct cp_static_flow **all = calloc(st->n ? st->n : 1, sizeof(*all));
	uint64_t failed = 0;
	int rc, err = 0;

	if (all == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < st->n; i++)
		all[i] = &st->v[i];
	rc = cp_static_program(cp, all, st->n, true);
	free(all);
	if (rc != 0)
		return rc;
	for (unsigned i = 0; i < st->n; i++) {
		if (st->v[i].failed != 0 && failed == 0)
			err = st->v[i].first_err;
		failed += st->v[i].failed;
	}
	if (failed != 0) {
		LOG_ERR("%lu flow additions failed (first: %s)", (unsigned long)failed,
			strerror(-err));
		return err ? err : -EIO;
	}
	LOG_INFO("%u static flows programmed on %u workers", st->next_id,
		 dp_worker_count(cp->dp));
	return 0;
}

/* Create path if it does not exist yet: 0, -EEXIST or another -errno (the
 * recorder's own open then reports it). */
static int cp_static_take_name(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int cp_static_open(struct cp_ctx *cp, const struct cp_static_flow *e)
{
	const char *dir = cp->cfg->recording.dir;
	mode_t mode = cp->cfg->recording.file_mode_bits;
	char path[PATH_MAX], stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	snprintf(path, sizeof(path), "%s/%s.pcap", dir, e->name);
	if (cp_static_take_name(path, mode) == -EEXIST) {
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(path, sizeof(path), "%s/%s.%s.pcap", dir, e->name, stamp);
		/* changed twice in one second: NAME.STAMP-2.pcap, ... The name is
		 * taken here (the recorder thread creates the file later), so a
		 * second change before it has cannot pick the same name. */
		for (unsigned k = 2; k < 100 && cp_static_take_name(path, mode) == -EEXIST; k++)
			snprintf(path, sizeof(path), "%s/%s.%s-%u.pcap", dir, e->name, stamp, k);
	}
	return rec_stream_open(cp->rec, e->rec_id, path, 0);
}

int cp_open_recordings(struct cp_ctx *cp)
{
	for (unsigned i = 0; i < cp->st.n; i++) {
		const struct cp_static_flow *e = &cp->st.v[i];
		int rc;

		if (e->rec_id == DP_REC_NONE)
			continue;
		rc = cp_static_open(cp, e);
		if (rc != 0) {
			LOG_ERR("flow %s: cannot open its pcap in %s: %s", e->name,
				cp->cfg->recording.dir, strerror(-rc));
			return rc;
		}
	}
	return 0;
}
