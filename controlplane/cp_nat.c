/* SPDX-License-Identifier: BSD-3-Clause
 * cp_nat: which external address the media path has, from nat.sources in order,
 * rechecked every nat.recheck_s. A source that fails hands over to the next; when all
 * fail the last known address stays. See cp_nat.h. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_log.h"
#include "cp_nat_priv.h"
#include "cp_session.h"
#include "nat/cloud/nat_cloud.h"

static const char *const cp_nat_src_names[] = { "static", "stun", "cloud", "none" };

static void cp_nat_event(const struct cp_nat *n);

static const char *cp_ip_str(uint32_t host_ip, char *buf)
{
	struct in_addr a = { .s_addr = htonl(host_ip) };
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static struct nat_cloud *cp_nat_cloud_make(const struct cfg_nat_cloud *cc)
{
	struct nat_cloud_conf conf;
	const char *urls[CFG_CLOUD_MAX] = { cc->gcp_url, cc->aws_url, cc->azure_url };

	nat_cloud_conf_init(&conf);
	conf.n_order = cc->n_order;
	for (unsigned i = 0; i < cc->n_order; i++)
		conf.order[i] = (enum nat_cloud_provider)cc->order[i];
	for (unsigned i = 0; i < CFG_CLOUD_MAX; i++)
		conf.base_url[i] = urls[i];
	conf.timeout_ms = cc->timeout_ms;
	return nat_cloud_create(&conf);
}

struct cp_nat *cp_nat_create(struct cp_ctx *cp)
{
	struct cp_nat *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->cp = cp;
	n->cfg = &cp->cfg->nat;
	n->local_ip = n->cfg->internal_ip_addr;
	n->next_check_ms = UINT64_MAX;
	for (unsigned i = 0; i < n->cfg->n_sources; i++) {
		if (n->cfg->source_order[i] != CFG_NAT_SRC_CLOUD)
			continue;
		n->cloud = cp_nat_cloud_make(&n->cfg->cloud);
		if (n->cloud == NULL) {
			LOG_ERR("nat: cannot set up the cloud metadata client");
			free(n);
			return NULL;
		}
	}
	return n;
}

void cp_nat_free(struct cp_nat *n)
{
	if (n == NULL)
		return;
	nat_cloud_free(n->cloud);
	cp_nat_relays_free(n);
	free(n);
}

/* What SDP answers carry: the external address when behind NAT (yes, or auto and
 * the discovered address is not our own), else the local one (0). */
static void cp_nat_apply(struct cp_nat *n)
{
	uint32_t ip = 0;

	if (n->ext_known && n->cfg->behind == CFG_BEHIND_NAT_YES)
		ip = n->ext_ip;
	else if (n->ext_known && n->cfg->behind == CFG_BEHIND_NAT_AUTO && n->ext_ip != n->local_ip)
		ip = n->ext_ip;
	if (n->cp->sess != NULL)
		cp_sess_set_external(n->cp, ip);
}

/* ip:port is the external address; final: the discovery is over (else the RFC 5780
 * tests go on and the address is used meanwhile). */
static void cp_nat_found(struct cp_nat *n, uint32_t ip, uint16_t port, bool final)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	enum cfg_nat_source src = n->cfg->source_order[n->src_idx];

	if (n->ext_known && n->ext_ip != ip) {
		n->changes++;
		LOG_WARN("nat: external address changed from %s to %s", cp_ip_str(n->ext_ip, a),
			 cp_ip_str(ip, b));
	}
	if (!n->ext_known || n->ext_ip != ip || n->ext_source != src)
		LOG_INFO("nat: external address %s (from %s)", cp_ip_str(ip, a),
			 cp_nat_src_names[src]);
	n->ext_known = true;
	n->published = true;
	n->ext_ip = ip;
	n->ext_port = port;
	n->ext_source = src;
	if (final)
		n->phase = CP_NAT_IDLE;
	cp_nat_apply(n);
	cp_nat_event(n);
}

static void cp_nat_run_source(struct cp_nat *n);

/* The current source gave nothing: the next one, or give up until the recheck. */
static void cp_nat_next(struct cp_nat *n, const char *why)
{
	LOG_WARN("nat: source %s failed: %s", cp_nat_src_names[n->cfg->source_order[n->src_idx]],
		 why);
	n->phase = CP_NAT_IDLE;
	n->src_idx++;
	cp_nat_run_source(n);
}

static void cp_nat_start_stun(struct cp_nat *n)
{
	struct nat_rto rto = { n->cfg->stun_rto_ms, 7, 16 };
	int rc;

	if (n->cfg->behaviour_on) {
		/* the last complete discovery, for a recheck's filtering (nat_behav.h) */
		struct nat_behav_result last = n->behav.res;
		struct nat_behav_cfg bc = {
			.server_ip = n->cfg->stun.ip, .server_port = n->cfg->stun.port,
			.local_ip = n->local_ip, .local_port = (uint16_t)n->cfg->stun_port,
			.rto = rto, .send = cp_nat_send, .send_arg = n,
			.prev = n->behav.state == NAT_BEHAV_DONE ? &last : NULL,
		};
		rc = nat_behav_start(&n->behav, &bc, n->now_ms);
	} else {
		rc = nat_bind_init(&n->bind, &rto, NULL, NULL);
		if (rc == 0)
			rc = nat_bind_start(&n->bind, n->cfg->stun.ip, n->cfg->stun.port, 0, n->now_ms);
	}
	if (rc != 0) {
		cp_nat_next(n, "cannot start a STUN transaction");
		return;
	}
	n->phase = CP_NAT_STUN;
}

static void cp_nat_run_source(struct cp_nat *n)
{
	if (n->src_idx >= n->cfg->n_sources) {
		n->failures += n->cfg->n_sources != 0;
		if (n->cfg->n_sources != 0)
			LOG_ERR("nat: no source gave an external address%s",
				n->ext_known ? ": keeping the last one" : "");
		n->phase = CP_NAT_IDLE;
		cp_nat_apply(n);
		if (n->cfg->n_sources != 0)
			cp_nat_event(n);
		return;
	}
	switch (n->cfg->source_order[n->src_idx]) {
	case CFG_NAT_SRC_STATIC:
		cp_nat_found(n, n->cfg->external_ip_addr, 0, true);
		break;
	case CFG_NAT_SRC_STUN:
		cp_nat_start_stun(n);
		break;
	case CFG_NAT_SRC_CLOUD:
		if (nat_cloud_start(n->cloud, n->now_ms) != 0)
			cp_nat_next(n, "cannot start a metadata lookup");
		else
			n->phase = CP_NAT_CLOUD;
		break;
	case CFG_NAT_SRC_NONE:
		n->ext_known = false;
		n->phase = CP_NAT_IDLE;
		cp_nat_apply(n);
		cp_nat_event(n);
		break;
	}
}

void cp_nat_start(struct cp_nat *n, uint64_t now_ms)
{
	n->now_ms = now_ms;
	n->checks++;
	n->src_idx = 0;
	n->published = false;
	n->next_check_ms = n->cfg->recheck_s ? now_ms + n->cfg->recheck_s * 1000ull : UINT64_MAX;
	cp_nat_run_source(n);
}

static void cp_nat_stun_result(struct cp_nat *n, const struct nat_behav_result *r)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	n->mapping = r->mapping;
	n->filtering = r->filtering;
	LOG_INFO("nat: %s:%u maps to %s:%u; mapping %s, filtering %s%s",
		 cp_ip_str(n->local_ip, a), n->cfg->stun_port, cp_ip_str(r->mapped_ip, b),
		 r->mapped_port, nat_mapping_name(r->mapping), nat_filtering_name(r->filtering),
		 !r->other_known ? " (the server gave no OTHER-ADDRESS)" :
		 n->behav.filtering_kept ? " (as found before: the same mapping, whose filter may "
					   "still let the server's other address in)" : "");
	cp_nat_found(n, r->mapped_ip, r->mapped_port, true);
}

static void cp_nat_poll_stun(struct cp_nat *n)
{
	const uint8_t *msg;
	size_t len;

	if (n->cfg->behaviour_on) {
		enum nat_behav_state st = nat_behav_tick(&n->behav, n->now_ms);
		const struct nat_behav_result *r = &n->behav.res;
		if (st == NAT_BEHAV_RUNNING && r->mapped_known && !n->published)
			cp_nat_found(n, r->mapped_ip, r->mapped_port, false);
		if (st == NAT_BEHAV_DONE)
			cp_nat_stun_result(n, &n->behav.res);
		else if (st != NAT_BEHAV_RUNNING)
			cp_nat_next(n, nat_behav_state_name(st));
		return;
	}
	if (nat_bind_tick(&n->bind, n->now_ms, &msg, &len) == 1)
		cp_nat_send(n, n->bind.dst_ip, n->bind.dst_port, msg, len);
	if (n->bind.state == NAT_BIND_OK)
		cp_nat_found(n, n->bind.mapped.ip4, n->bind.mapped.port, true);
	else if (n->bind.state != NAT_BIND_RUNNING)
		cp_nat_next(n, nat_bind_state_name(n->bind.state));
}

static void cp_nat_poll_cloud(struct cp_nat *n)
{
	int st = nat_cloud_poll(n->cloud, n->now_ms);

	if (st == NAT_CLOUD_DONE) {
		if (*nat_cloud_error(n->cloud))
			LOG_INFO("nat: cloud metadata: %s", nat_cloud_error(n->cloud));
		cp_nat_found(n, ntohl(nat_cloud_result(n->cloud)), 0, true);
	}
	else if (st == NAT_CLOUD_FAILED)
		cp_nat_next(n, nat_cloud_error(n->cloud));
}

void cp_nat_poll(struct cp_nat *n, uint64_t now_ms)
{
	n->now_ms = now_ms;
	cp_nat_drain(n);
	cp_nat_ports_tick(n);
	cp_nat_relays_tick(n);
	if (n->phase == CP_NAT_STUN)
		cp_nat_poll_stun(n);
	else if (n->phase == CP_NAT_CLOUD)
		cp_nat_poll_cloud(n);
	else if (now_ms >= n->next_check_ms)
		cp_nat_start(n, now_ms);
}

void cp_nat_recheck(struct cp_nat *n)
{
	if (n->phase == CP_NAT_IDLE && n->cfg->n_sources != 0)
		n->next_check_ms = 0;
}

bool cp_nat_busy(const struct cp_nat *n)
{
	return n->phase != CP_NAT_IDLE;
}

void cp_nat_print(const struct cp_nat *n, FILE *out, const char *head)
{
	char a[INET_ADDRSTRLEN];

	fputs(head, out);
	fputs(",\"external_ip\":", out);
	if (n->ext_known)
		fprintf(out, "\"%s\",\"source\":\"%s\"", cp_ip_str(n->ext_ip, a),
			cp_nat_src_names[n->ext_source]);
	else
		fputs("null,\"source\":null", out);
	fprintf(out, ",\"complete\":%s,\"mapped_port\":%u,\"mapping\":\"%s\",\"filtering\":\"%s\",\"checks\":%llu,"
		"\"changes\":%llu,\"failures\":%llu,\"stun_in\":%llu,\"stun_unmatched\":%llu,"
		"\"tx_dropped\":%llu,\"port_lookups\":%llu,\"port_failures\":%llu,"
		"\"relays\":%llu,\"relays_failed\":%llu,\"relay_failovers\":%llu,\"relays_lost\":%llu,"
		"\"relays_recovered\":%llu,\"relay_packets\":%llu,\"relay_bytes\":%llu}\n", n->phase == CP_NAT_IDLE ? "true" : "false", n->ext_port, nat_mapping_name(n->mapping),
		nat_filtering_name(n->filtering), (unsigned long long)n->checks,
		(unsigned long long)n->changes, (unsigned long long)n->failures,
		(unsigned long long)n->stun_in, (unsigned long long)n->stun_unmatched,
		(unsigned long long)n->tx_dropped, (unsigned long long)n->port_lookups,
		(unsigned long long)n->port_failures, (unsigned long long)n->relays_started,
		(unsigned long long)n->relays_failed, (unsigned long long)n->relay_failovers,
		(unsigned long long)n->relays_lost, (unsigned long long)n->relays_recovered,
		(unsigned long long)n->relay_packets,
		(unsigned long long)n->relay_bytes);
}

static void cp_nat_event(const struct cp_nat *n)
{
	cp_nat_print(n, stdout, "{\"event\":\"nat\"");
	fflush(stdout);
}
