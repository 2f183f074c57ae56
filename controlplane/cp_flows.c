/* SPDX-License-Identifier: BSD-3-Clause
 * Static flows from the config, programmed through the workers' command
 * rings: the first sender of the ring contract. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_byteorder.h>

#include "config/cfg_log.h"
#include "cp_priv.h"

#define CP_SEND_TIMEOUT_MS 5000

uint64_t cp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static unsigned cp_flow_count(const struct cfg_flow *f)
{
	return f->count ? f->count : 1;
}

struct cp_ctx *cp_create(const struct cfg *cfg, struct dp_ctx *dp, struct rec_ctx *rec)
{
	struct cp_ctx *cp = calloc(1, sizeof(*cp));
	uint32_t n = 0;

	if (cp == NULL)
		return NULL;
	for (unsigned i = 0; i < cfg->flows_count; i++)
		n += cp_flow_count(&cfg->flows[i]);
	cp->cfg = cfg;
	cp->dp = dp;
	cp->rec = rec;
	cp->start_ms = cp_now_ms();
	cp->n_flow_ids = n;
	cp->flow_cfg = calloc(n ? n : 1, sizeof(*cp->flow_cfg));
	cp->agg = calloc(cfg->flows_count ? cfg->flows_count : 1, sizeof(*cp->agg));
	cp->nat = cp_nat_create(cp);
	if (cp->flow_cfg == NULL || cp->agg == NULL || cp->nat == NULL) {
		cp_free(cp);
		return NULL;
	}
	n = 0;
	for (unsigned i = 0; i < cfg->flows_count; i++)
		for (unsigned k = 0; k < cp_flow_count(&cfg->flows[i]); k++)
			cp->flow_cfg[n++] = i;
	return cp;
}

void cp_free(struct cp_ctx *cp)
{
	if (cp == NULL)
		return;
	cp_nat_free(cp->nat);
	free(cp->flow_cfg);
	free(cp->agg);
	free(cp);
}

int cp_open_recordings(struct cp_ctx *cp)
{
	const struct cfg *cfg = cp->cfg;
	char path[PATH_MAX];

	for (unsigned i = 0; i < cfg->flows_count; i++) {
		if (!(cfg->flows[i].action_mask & CFG_ACT_RECORD))
			continue;
		snprintf(path, sizeof(path), "%s/%s.pcap", cfg->recording.dir, cfg->flows[i].name);
		int rc = rec_stream_open(cp->rec, i, path, 0);
		if (rc != 0) {
			LOG_ERR("flow %s: cannot open %s: %s", cfg->flows[i].name, path,
				strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int cp_send(struct cp_ctx *cp, unsigned worker, const struct dp_msg *m)
{
	struct rte_ring *r = dp_cmd_ring(cp->dp, worker);
	uint64_t deadline = 0;

	while (dp_msg_send(r, m) != 0) {
		uint64_t now = cp_now_ms();
		if (deadline == 0)
			deadline = now + CP_SEND_TIMEOUT_MS;
		else if (now > deadline)
			return -ETIMEDOUT;
		cp_poll(cp); /* the worker may be waiting for room on its event ring */
		usleep(50);
	}
	cp_ring_note(&cp->high[worker].cmd, r);
	return 0;
}

/* Where the frame goes at L2: the destination itself when it is on the
 * port's subnet, else the port's gateway. */
static int cp_nexthop(const struct cfg_flow *f, const struct cfg_port *p, struct dp_flow_spec *s)
{
	uint32_t mask = p->prefix_len ? ~0u << (32 - p->prefix_len) : 0;

	if ((f->fwd_to.ip & mask) == (p->ip & mask)) {
		s->nexthop_ip = rte_cpu_to_be_32(f->fwd_to.ip);
	} else if (p->has_gateway) {
		s->nexthop_ip = rte_cpu_to_be_32(p->gateway_ip);
	} else {
		LOG_ERR("flow %s: forward.to is outside port %s's subnet and the port has no "
			"gateway", f->name, p->name);
		return -EHOSTUNREACH;
	}
	if (p->has_gateway_mac && s->nexthop_ip == rte_cpu_to_be_32(p->gateway_ip)) {
		s->has_nexthop_mac = 1;
		memcpy(s->nexthop_mac, p->gateway_mac_bytes, 6);
	}
	return 0;
}

static int cp_flow_spec(const struct cfg *cfg, unsigned idx, unsigned k, uint32_t flow_id,
			struct dp_flow_spec *s)
{
	const struct cfg_flow *f = &cfg->flows[idx];

	memset(s, 0, sizeof(*s));
	s->key.dst_ip = rte_cpu_to_be_32(f->dst.ip);
	s->key.dst_port = rte_cpu_to_be_16(f->dst.port);
	if (f->has_src) {
		s->key.src_ip = rte_cpu_to_be_32(f->src.ip + k);
		s->key.src_port = rte_cpu_to_be_16(f->src.port);
	}
	s->flow_id = flow_id;
	s->rec_id = (f->action_mask & CFG_ACT_RECORD) ? idx : DP_REC_NONE;
	s->actions = (uint8_t)f->action_mask; /* CFG_ACT_* == DP_ACT_* */
	s->clock_rate = f->clock_rate;
	if (!(f->action_mask & CFG_ACT_FORWARD))
		return 0;
	s->out_port = (uint8_t)f->out_port;
	s->fwd_src_ip = rte_cpu_to_be_32(f->fwd_from.ip);
	s->fwd_src_port = rte_cpu_to_be_16(f->fwd_from.port);
	s->fwd_dst_ip = rte_cpu_to_be_32(f->fwd_to.ip);
	s->fwd_dst_port = rte_cpu_to_be_16(f->fwd_to.port);
	return cp_nexthop(f, &cfg->ports[f->out_port], s);
}

int cp_program_static_flows(struct cp_ctx *cp)
{
	const struct cfg *cfg = cp->cfg;
	unsigned nw = dp_worker_count(cp->dp);
	uint64_t want = (uint64_t)cp->n_flow_ids * nw, deadline;
	struct dp_msg m;
	uint32_t id = 0;
	int rc;

	_Static_assert(CFG_ACT_RECORD == DP_ACT_RECORD && CFG_ACT_FORWARD == DP_ACT_FORWARD &&
			       CFG_ACT_DROP == DP_ACT_DROP,
		       "config and dataplane action bits differ");
	cp->acks = 0;
	cp->add_failed = 0;
	for (unsigned i = 0; i < cfg->flows_count; i++) {
		for (unsigned k = 0; k < cp_flow_count(&cfg->flows[i]); k++, id++) {
			memset(&m, 0, sizeof(m));
			m.type = DP_CMD_FLOW_ADD;
			rc = cp_flow_spec(cfg, i, k, id, &m.u.spec);
			if (rc != 0)
				return rc;
			for (unsigned w = 0; w < nw; w++) {
				rc = cp_send(cp, w, &m);
				if (rc != 0) {
					LOG_ERR("worker %u does not take commands", w);
					return rc;
				}
			}
		}
	}
	deadline = cp_now_ms() + 10000 + want / 100;
	while (cp->acks + cp->add_failed < want && cp_now_ms() < deadline) {
		cp_poll(cp);
		usleep(100);
	}
	if (cp->add_failed != 0) {
		LOG_ERR("%lu flow additions failed (first: %s)", (unsigned long)cp->add_failed,
			strerror(-cp->first_add_err));
		return cp->first_add_err ? cp->first_add_err : -EIO;
	}
	if (cp->acks < want) {
		LOG_ERR("workers answered %lu of %lu flow additions", (unsigned long)cp->acks,
			(unsigned long)want);
		return -ETIMEDOUT;
	}
	LOG_INFO("%u static flows programmed on %u workers", cp->n_flow_ids, nw);
	return 0;
}

int cp_start_rx(struct cp_ctx *cp)
{
	struct dp_msg m;

	memset(&m, 0, sizeof(m));
	m.type = DP_CMD_RX_START;
	for (unsigned w = 0; w < dp_worker_count(cp->dp); w++)
		if (cp_send(cp, w, &m) != 0)
			return -ETIMEDOUT;
	cp_nat_start(cp->nat, cp_now_ms());
	return 0;
}
