/* SPDX-License-Identifier: BSD-3-Clause
 * Prometheus text exposition (version 0.0.4) of what the control plane can read without
 * asking the workers: port and worker counters (written by the workers, read here),
 * ring high-water marks, sessions, ICE, recorder, NAT and SIP. Served by app/app_ops.c
 * on metrics.listen. Names follow Prometheus conventions: rtprec_ prefix, _total for
 * counters, units in the name. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_ring.h>

#include "cp_nat_priv.h"
#include "cp_session_priv.h"
#include "nat/nat_behav.h"

static void m_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP rtprec_%s %s\n# TYPE rtprec_%s %s\n", name, help, name, type);
}

/* One sample: labels is "" or 'a="x",b="y"'. */
static void m_val(FILE *f, const char *name, const char *labels, uint64_t v)
{
	fprintf(f, "rtprec_%s%s%s%s %" PRIu64 "\n", name, *labels ? "{" : "", labels,
		*labels ? "}" : "", v);
}

static void m_one(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	m_head(f, name, type, help);
	m_val(f, name, "", v);
}

static void cp_metrics_ports(struct cp_ctx *cp, FILE *f)
{
	static const struct { const char *name, *help; } h[] = {
		{ "port_rx_packets_total", "Packets the workers received on the port" },
		{ "port_tx_packets_total", "Packets the workers sent on the port" },
		{ "port_nic_missed_total", "Packets the NIC dropped for want of descriptors" },
		{ "port_rx_nombuf_total", "Packets the port could not receive for want of mbufs" },
		{ "port_drops_total", "Packets dropped by the workers, by reason" },
	};
	unsigned np = dp_port_count(cp->dp), nw = dp_worker_count(cp->dp);
	char lab[160];

	for (unsigned k = 0; k < 5; k++) {
		m_head(f, h[k].name, "counter", h[k].help);
		for (unsigned p = 0; p < np; p++) {
			const struct dp_port_info *pi = dp_port(cp->dp, p);
			uint64_t v = 0;

			if (k == 2 || k == 3) {
				struct rte_eth_stats st;
				memset(&st, 0, sizeof(st));
				rte_eth_stats_get(pi->port_id, &st);
				v = k == 2 ? st.imissed : st.rx_nombuf;
			}
			for (unsigned w = 0; w < nw && k < 2; w++)
				v += k == 0 ? dp_counters(cp->dp, w)->port_rx[p]
					    : dp_counters(cp->dp, w)->port_tx[p];
			snprintf(lab, sizeof(lab), "port=\"%s\"", pi->cfg->name);
			if (k < 4) {
				m_val(f, h[k].name, lab, v);
				continue;
			}
			for (int d = 0; d < DP_DROP_MAX; d++) {
				v = 0;
				for (unsigned w = 0; w < nw; w++)
					v += dp_counters(cp->dp, w)->drops[p][d];
				snprintf(lab, sizeof(lab), "port=\"%s\",reason=\"%s\"", pi->cfg->name,
					 dp_drop_name((enum dp_drop)d));
				m_val(f, h[k].name, lab, v);
			}
		}
	}
}

static void cp_metrics_workers(struct cp_ctx *cp, FILE *f)
{
	unsigned nw = dp_worker_count(cp->dp);
	char lab[64];

	m_head(f, "worker_cycles_total", "counter", "TSC cycles in the worker loop");
	for (unsigned w = 0; w < nw; w++) {
		snprintf(lab, sizeof(lab), "worker=\"%u\"", w);
		m_val(f, "worker_cycles_total", lab, dp_counters(cp->dp, w)->cycles);
	}
	m_head(f, "worker_busy_cycles_total", "counter", "TSC cycles spent on bursts with packets");
	for (unsigned w = 0; w < nw; w++) {
		snprintf(lab, sizeof(lab), "worker=\"%u\"", w);
		m_val(f, "worker_busy_cycles_total", lab, dp_counters(cp->dp, w)->busy_cycles);
	}
	/* each family's samples right after its own HELP/TYPE (the exposition format) */
	m_head(f, "worker_busy_ratio", "gauge", "Busy cycles over all cycles since start");
	for (unsigned w = 0; w < nw; w++) {
		const struct dp_worker_counters *c = dp_counters(cp->dp, w);
		fprintf(f, "rtprec_worker_busy_ratio{worker=\"%u\"} %.6f\n", w,
			c->cycles ? (double)c->busy_cycles / (double)c->cycles : 0.0);
	}
	m_head(f, "worker_cycles_per_packet", "gauge", "Busy cycles per received packet");
	for (unsigned w = 0; w < nw; w++) {
		const struct dp_worker_counters *c = dp_counters(cp->dp, w);
		fprintf(f, "rtprec_worker_cycles_per_packet{worker=\"%u\"} %.1f\n", w,
			c->rx_packets ? (double)c->busy_cycles / (double)c->rx_packets : 0.0);
	}
	for (int size = 0; size < 2; size++) {
		const char *name = size ? "ring_size_entries" : "ring_high_water_entries";
		m_head(f, name, "gauge",
		       size ? "Capacity of a worker's ring" : "Most entries seen in a worker's ring");
		for (unsigned w = 0; w < nw; w++) {
			const struct cp_ring_high *hi = &cp->high[w];
			const struct { const char *ring; uint64_t high; struct rte_ring *r; } rings[] = {
				{ "cmd", hi->cmd, dp_cmd_ring(cp->dp, w) },
				{ "event", hi->event, dp_event_ring(cp->dp, w) },
				{ "punt", hi->punt, dp_punt_ring(cp->dp, w) },
				{ "txreq", hi->txreq, dp_txreq_ring(cp->dp, w) },
				{ "record", dp_counters(cp->dp, w)->record_high,
				  dp_record_ring(cp->dp, w, 0) },
			};
			for (unsigned i = 0; i < sizeof(rings) / sizeof(rings[0]); i++) {
				snprintf(lab, sizeof(lab), "worker=\"%u\",ring=\"%s\"", w,
					 rings[i].ring);
				m_val(f, name, lab,
				      size ? rte_ring_get_capacity(rings[i].r) : rings[i].high);
			}
		}
	}
}

static void cp_metrics_sessions(struct cp_ctx *cp, FILE *f)
{
	const struct cp_sessions *ss = cp->sess;
	uint64_t streams = 0, relatches = 0, free_ports = 0;
	char lab[32];

	for (uint32_t i = 0; i < ss->max; i++) {
		const struct cp_session *s = ss->slots[i];
		for (unsigned k = 0; s != NULL && k < s->n_streams; k++) {
			streams += s->streams[k].in_use;
			relatches += s->streams[k].relatches;
		}
	}
	for (unsigned a = 0; a < ss->n_addr; a++)
		free_ports += ss->ports[a].n_free;
	m_one(f, "sessions_active", "gauge", "Recording sessions in progress", cp_sessions_active(cp));
	m_one(f, "sessions_total", "counter", "Recording sessions accepted since start", ss->total);
	m_one(f, "streams_active", "gauge", "Media streams recorded in active sessions", streams);
	m_one(f, "media_ports_free", "gauge", "Media ports left in the pools", free_ports);
	m_one(f, "latch_relatches", "gauge", "Re-latches in active sessions' streams", relatches);
	m_one(f, "nat_keepalives_total", "counter", "NAT keepalive datagrams sent", ss->keepalives);
	m_one(f, "session_timer_expired_total", "counter",
	      "Calls ended because the SRC's session refresh did not come", ss->timer_expired);
	m_head(f, "sessions_refused_total", "counter", "INVITEs refused, by status code");
	for (unsigned code = 0; code < sizeof(ss->refused) / sizeof(ss->refused[0]); code++)
		if (ss->refused[code] != 0) {
			snprintf(lab, sizeof(lab), "code=\"%u\"", code);
			m_val(f, "sessions_refused_total", lab, ss->refused[code]);
		}
	m_one(f, "ice_agents_total", "counter", "ICE agents started (one per stream)", ss->ice.agents);
	m_one(f, "ice_completed_total", "counter", "ICE agents that selected pairs",
	      ss->ice.completed);
	m_one(f, "ice_failed_total", "counter", "ICE agents where no pair worked", ss->ice.failed);
	m_one(f, "ice_consent_lost_total", "counter", "Selected pairs that lost consent",
	      ss->ice.consent_lost);
}

static void cp_metrics_recorder(struct cp_ctx *cp, FILE *f)
{
	struct rec_totals rt;

	rec_get_totals(cp->rec, &rt);
	m_one(f, "recorder_packets_total", "counter", "Packets written to recordings", rt.packets);
	m_one(f, "recorder_bytes_total", "counter", "Bytes written to recordings", rt.bytes);
	m_one(f, "recorder_dropped_total", "counter", "Packets the recorder could not write",
	      rt.dropped);
	m_one(f, "recorder_write_errors_total", "counter", "Failed writes", rt.write_errors);
	m_one(f, "recorder_open_files", "gauge", "Recording files open", rt.open_files);
	m_one(f, "recorder_storage_error", "gauge", "1 while the storage keeps failing",
	      rt.storage_error != 0);
}

static void cp_metrics_nat(struct cp_ctx *cp, FILE *f)
{
	const struct cp_nat *n = cp->nat;
	char ip[INET_ADDRSTRLEN] = "", lab[200];
	struct in_addr a = { htonl(n->ext_ip) };

	if (n->ext_known)
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
	m_head(f, "nat_info", "gauge", "What NAT discovery found (labels), always 1");
	snprintf(lab, sizeof(lab), "external_ip=\"%s\",mapping=\"%s\",filtering=\"%s\"", ip,
		 nat_mapping_name(n->mapping), nat_filtering_name(n->filtering));
	m_val(f, "nat_info", lab, 1);
	m_one(f, "nat_address_changes_total", "counter", "External address changes", n->changes);
	m_one(f, "nat_discovery_failures_total", "counter", "Discoveries that failed", n->failures);
	m_one(f, "turn_allocations_total", "counter", "TURN relays started", n->relays_started);
	m_one(f, "turn_allocations_failed_total", "counter", "TURN relays that failed",
	      n->relays_failed);
	m_one(f, "turn_allocations_lost_total", "counter",
	      "TURN relays lost during a call (refresh refused, expired)", n->relays_lost);
	m_one(f, "turn_allocations_recovered_total", "counter",
	      "TURN relays lost, then allocated again", n->relays_recovered);
	m_one(f, "turn_relay_bytes_total", "counter", "Bytes received through TURN relays (ended)",
	      n->relay_bytes);
}

static void cp_metrics_sip(const struct cp_sip *sip, FILE *f)
{
	struct cp_sip_counters c;
	char lab[64];

	cp_sip_get_counters(sip, &c);
	m_one(f, "sip_requests_total", "counter", "SIP requests received", c.requests_in);
	m_one(f, "sip_parse_errors_total", "counter", "SIP messages that did not parse",
	      c.parse_errors);
	m_one(f, "sip_rate_limited_total", "counter", "Requests answered 503 by sip.rate_limit",
	      c.rate_limited);
	m_head(f, "sip_responses_total", "counter", "SIP responses sent, by method and code");
	for (unsigned m = 0; m < CP_SIP_N_METHODS; m++)
		for (unsigned code = 100; code <= 699; code++) {
			uint64_t v = cp_sip_responses(sip, m, code);
			if (v == 0)
				continue;
			snprintf(lab, sizeof(lab), "method=\"%s\",code=\"%u\"", cp_sip_method_names[m],
				 code);
			m_val(f, "sip_responses_total", lab, v);
		}
}

void cp_metrics_write(struct cp_ctx *cp, const struct cp_sip *sip, FILE *f)
{
	cp_metrics_ports(cp, f);
	cp_metrics_workers(cp, f);
	if (cp->sess != NULL)
		cp_metrics_sessions(cp, f);
	cp_metrics_recorder(cp, f);
	if (cp->nat != NULL)
		cp_metrics_nat(cp, f);
	if (sip != NULL)
		cp_metrics_sip(sip, f);
}
