/* SPDX-License-Identifier: BSD-3-Clause
 * Worker events and counters: aggregation per configured flow, JSON lines
 * on SIGUSR1 and at exit. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_ring.h>

#include "config/cfg_log.h"
#include "cp_priv.h"
#include "cp_session.h"

/* A JSON string value, escaped. */
void cp_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

/* A worker learnt a next hop: tell the others. */
static void cp_neigh_broadcast(struct cp_ctx *cp, const struct dp_msg *ev)
{
	struct dp_msg m;

	memset(&m, 0, sizeof(m));
	m.type = DP_CMD_NEIGH_SET;
	m.u.neigh = ev->u.neigh;
	cp->neigh_learned++;
	for (unsigned w = 0; w < dp_worker_count(cp->dp); w++)
		if (w != ev->worker && dp_msg_send(dp_cmd_ring(cp->dp, w), &m) != 0)
			LOG_WARN("worker %u command ring full: next hop update lost", w);
}

void cp_handle_event(struct cp_ctx *cp, const struct dp_msg *m)
{
	if (cp_nat_relay_event(cp->nat, m) || cp_sessions_event(cp, m) || cp_static_event(cp, m))
		return;
	switch (m->type) {
	case DP_EV_FLOW_IDLE:
		cp->idle_events++;
		LOG_DEBUG("flow %u idle on worker %u", m->u.stats.flow_id, m->worker);
		break;
	case DP_EV_DUMP_DONE:
		if (m->u.dump.req_id == cp->req_id)
			cp->dumps_done++;
		break;
	case DP_EV_STOPPED:
		cp->stopped++;
		break;
	case DP_EV_NEIGH_LEARNED:
		cp_neigh_broadcast(cp, m);
		break;
	default:
		break;
	}
}

void cp_poll(struct cp_ctx *cp)
{
	struct dp_msg m;

	uint64_t now = cp_now_ms();

	cp_nat_poll(cp->nat, now);
	cp_sessions_ice_poll(cp, now);
	for (unsigned w = 0; w < dp_worker_count(cp->dp); w++) {
		struct rte_ring *r = dp_event_ring(cp->dp, w);
		cp_ring_note(&cp->high[w].event, r);
		for (unsigned i = 0; i < 4096 && dp_msg_recv(r, &m); i++)
			cp_handle_event(cp, &m);
	}
}

int cp_collect_stats(struct cp_ctx *cp, int stop)
{
	unsigned nw = dp_worker_count(cp->dp);
	uint64_t deadline = cp_now_ms() + 10000 + cp->st.next_id / 100;
	struct dp_msg m;

	for (unsigned i = 0; i < cp->st.n; i++)
		memset(&cp->st.v[i].agg, 0, sizeof(cp->st.v[i].agg));
	memset(&m, 0, sizeof(m));
	m.type = stop ? DP_CMD_STOP : DP_CMD_STATS_DUMP;
	m.u.dump.req_id = ++cp->req_id;
	cp->dumps_done = 0;
	cp->stopped = 0;
	for (unsigned w = 0; w < nw; w++)
		if (cp_send(cp, w, &m) != 0)
			return -ETIMEDOUT;
	while ((stop ? cp->stopped : cp->dumps_done) < nw) {
		if (cp_now_ms() > deadline) {
			LOG_ERR("workers did not answer the stats request in time");
			return -ETIMEDOUT;
		}
		cp_poll(cp);
		usleep(100);
	}
	return 0;
}

static void cp_print_drops(FILE *out, const uint64_t *drops)
{
	fputs("\"drops\":{", out);
	for (int d = 0; d < DP_DROP_MAX; d++)
		fprintf(out, "%s\"%s\":%" PRIu64, d ? "," : "", dp_drop_name((enum dp_drop)d),
			drops[d]);
	fputc('}', out);
}

static void cp_print_ports(struct cp_ctx *cp, FILE *out)
{
	for (unsigned p = 0; p < dp_port_count(cp->dp); p++) {
		const struct dp_port_info *pi = dp_port(cp->dp, p);
		struct rte_eth_stats st;
		uint64_t drops[DP_DROP_MAX] = {0}, rx = 0, tx = 0;

		memset(&st, 0, sizeof(st));
		rte_eth_stats_get(pi->port_id, &st);
		for (unsigned w = 0; w < dp_worker_count(cp->dp); w++) {
			const struct dp_worker_counters *c = dp_counters(cp->dp, w);
			rx += c->port_rx[p];
			tx += c->port_tx[p];
			for (int d = 0; d < DP_DROP_MAX; d++)
				drops[d] += c->drops[p][d];
		}
		fputs("{\"event\":\"stats\",\"type\":\"port\",\"port\":", out);
		cp_json_str(out, pi->cfg->name);
		fprintf(out,
			",\"rx_packets\":%" PRIu64
			",\"tx_packets\":%" PRIu64 ",\"nic_ipackets\":%" PRIu64
			",\"nic_opackets\":%" PRIu64 ",\"nic_imissed\":%" PRIu64
			",\"nic_rx_nombuf\":%" PRIu64 ",\"nic_ierrors\":%" PRIu64
			",\"nic_oerrors\":%" PRIu64 ",",
			rx, tx, st.ipackets, st.opackets, st.imissed, st.rx_nombuf, st.ierrors,
			st.oerrors);
		cp_print_drops(out, drops);
		fputs("}\n", out);
	}
}

void cp_ring_note(uint32_t *high, const struct rte_ring *r)
{
	unsigned n = rte_ring_count(r);

	if (n > *high)
		*high = n;
}

/* "rings":{"cmd":{"size":N,"high":N},...}: each ring's capacity and high-water mark. */
static void cp_print_rings(struct cp_ctx *cp, FILE *out, unsigned w,
			   const struct dp_worker_counters *c)
{
	const struct cp_ring_high *h = &cp->high[w];
	unsigned rec_size = rte_ring_get_capacity(dp_record_ring(cp->dp, w, 0));

	fprintf(out,
		"\"rings\":{\"cmd\":{\"size\":%u,\"high\":%u},\"event\":{\"size\":%u,\"high\":%u},"
		"\"punt\":{\"size\":%u,\"high\":%u},\"txreq\":{\"size\":%u,\"high\":%u},"
		"\"record\":{\"size\":%u,\"high\":%" PRIu64 "}},",
		rte_ring_get_capacity(dp_cmd_ring(cp->dp, w)), h->cmd,
		rte_ring_get_capacity(dp_event_ring(cp->dp, w)), h->event,
		rte_ring_get_capacity(dp_punt_ring(cp->dp, w)), h->punt,
		rte_ring_get_capacity(dp_txreq_ring(cp->dp, w)), h->txreq, rec_size, c->record_high);
}

static void cp_print_workers(struct cp_ctx *cp, FILE *out)
{
	for (unsigned w = 0; w < dp_worker_count(cp->dp); w++) {
		const struct dp_worker_counters *c = dp_counters(cp->dp, w);
		uint64_t drops[DP_DROP_MAX] = {0};

		for (unsigned p = 0; p < dp_port_count(cp->dp); p++)
			for (int d = 0; d < DP_DROP_MAX; d++)
				drops[d] += c->drops[p][d];
		fprintf(out,
			"{\"event\":\"stats\",\"type\":\"worker\",\"worker\":%u,\"lcore\":%u,"
			"\"rx_packets\":%" PRIu64 ",\"tx_packets\":%" PRIu64 ",\"cycles\":%" PRIu64
			",\"busy_cycles\":%" PRIu64 ",\"punted\":%" PRIu64 ",\"txreq\":%" PRIu64 ",",
			w, dp_worker_lcore(cp->dp, w), c->rx_packets, c->tx_packets, c->cycles,
			c->busy_cycles, c->punted, c->txreq);
		cp_print_rings(cp, out, w, c);
		cp_print_drops(out, drops);
		fputs("}\n", out);
	}
}

static void cp_print_flows(struct cp_ctx *cp, FILE *out)
{
	for (unsigned i = 0; i < cp->st.n; i++) {
		const struct cp_flow_agg *a = &cp->st.v[i].agg;
		fprintf(out,
			"{\"event\":\"stats\",\"type\":\"flow\",\"flow\":\"%s\",\"packets\":%" PRIu64
			",\"bytes\":%" PRIu64 ",\"rtp_received\":%" PRIu64 ",\"rtp_expected\":%" PRIu64
			",\"rtp_lost\":%" PRId64 ",\"jitter\":%u,\"rtp_reordered\":%" PRIu64
			",\"rtp_duplicate\":%" PRIu64 ",\"record_drops\":%" PRIu64 "}\n",
			cp->st.v[i].name, a->packets, a->bytes, a->rtp_received,
			a->rtp_expected, a->rtp_lost, a->jitter, a->rtp_reordered, a->rtp_duplicate,
			a->record_drops);
	}
}

/* The recorder: totals, copies the workers could not hand over, storage
 * state, hooks, and each thread's counters and memory. */
static void cp_print_recorder(struct cp_ctx *cp, FILE *out)
{
	struct rec_totals rt;
	struct rec_thread_stats ts;
	uint64_t worker_drops = 0;
	char err[128];

	memset(&rt, 0, sizeof(rt));
	if (cp->rec != NULL)
		rec_get_totals(cp->rec, &rt);
	for (unsigned w = 0; w < dp_worker_count(cp->dp); w++)
		for (unsigned p = 0; p < dp_port_count(cp->dp); p++)
			worker_drops += dp_counters(cp->dp, w)->drops[p][DP_DROP_RECORD_RING_FULL] +
					dp_counters(cp->dp, w)->drops[p][DP_DROP_RECORD_NO_MBUF];
	fprintf(out,
		"{\"event\":\"stats\",\"type\":\"recorder\",\"packets\":%" PRIu64
		",\"bytes\":%" PRIu64 ",\"write_errors\":%" PRIu64 ",\"dropped\":%" PRIu64
		",\"worker_drops\":%" PRIu64 ",\"open_files\":%" PRIu64 ",\"buffer_bytes\":%" PRIu64
		",\"storage_error\":",
		rt.packets, rt.bytes, rt.write_errors, rt.dropped, worker_drops, rt.open_files,
		rt.buffer_bytes);
	if (rt.storage_error != 0)
		cp_json_str(out, strerror_r(rt.storage_error, err, sizeof(err)));
	else
		fputs("null", out);
	fprintf(out,
		",\"hooks\":{\"started\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"killed\":%" PRIu64
		"},\"threads\":[",
		rt.hooks_started, rt.hooks_failed, rt.hooks_killed);
	for (unsigned t = 0; cp->rec != NULL && t < rec_thread_count(cp->rec); t++) {
		rec_get_thread_stats(cp->rec, t, &ts);
		fprintf(out,
			"%s{\"thread\":%u,\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
			",\"dropped\":%" PRIu64 ",\"write_errors\":%" PRIu64 ",\"writes\":%" PRIu64
			",\"syncs\":%" PRIu64 ",\"files_opened\":%" PRIu64 ",\"open_files\":%" PRIu64
			",\"parked\":%" PRIu64 ",\"reopens\":%" PRIu64 ",\"buffer_bytes\":%" PRIu64 "}",
			t ? "," : "", t, ts.packets, ts.bytes, ts.dropped, ts.write_errors, ts.writes,
			ts.syncs, ts.files_opened, ts.open_files, ts.parked, ts.reopens,
			ts.buffer_bytes);
	}
	fputs("]}\n", out);
}

void cp_print_stats(struct cp_ctx *cp, FILE *out, const char *reason)
{
	cp_print_ports(cp, out);
	cp_print_workers(cp, out);
	cp_print_flows(cp, out);
	cp_print_recorder(cp, out);
	cp_sessions_print(cp, out);
	cp_sessions_ice_print(cp, out);
	cp_nat_print(cp->nat, out, "{\"event\":\"stats\",\"type\":\"nat\"");
	fprintf(out, "{\"event\":\"stats_end\",\"reason\":\"%s\"}\n", reason);
	fflush(out);
}

void cp_print_ready(struct cp_ctx *cp, FILE *out)
{
	fputs("{\"event\":\"ready\",\"ports\":[", out);
	for (unsigned p = 0; p < dp_port_count(cp->dp); p++) {
		const struct dp_port_info *pi = dp_port(cp->dp, p);
		const uint8_t *a = pi->mac;
		fputs(p ? ",{\"name\":" : "{\"name\":", out);
		cp_json_str(out, pi->cfg->name);
		fputs(",\"device\":", out);
		cp_json_str(out, pi->cfg->device);
		fputs(",\"ipv4\":", out);
		cp_json_str(out, pi->cfg->ipv4);
		fprintf(out, ",\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\",\"vlan\":%u}", a[0], a[1],
			a[2], a[3], a[4], a[5], pi->vlan);
	}
	fprintf(out, "],\"workers\":%u,\"flows\":%u,\"recording_dir\":",
		dp_worker_count(cp->dp), cp->st.n);
	cp_json_str(out, cp->cfg->recording.dir);
	fputs("}\n", out);
	fflush(out);
}
