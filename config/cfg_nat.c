/* SPDX-License-Identifier: BSD-3-Clause
 * Step 5 for nat: BEHIND_NAT / EXTERNAL_IP / INTERNAL_IP, where the external address
 * comes from (static, STUN through the media path, cloud metadata), the STUN server
 * and the timers. Runs after media: (stun_port defaults to media.port_max). */
#include <string.h>
#include <strings.h>

#include "config/cfg_priv.h"

static void validate_sources(struct cfg_ctx *x, struct cfg_nat *n)
{
	static const char *const names[] = { "static", "stun", "cloud", "none" };
	unsigned v[CFG_NAT_MAX_SOURCES];

	if (n->sources_count == 0) {
		/* default: the static address when there is one, else STUN when configured */
		if (n->has_external_ip)
			n->source_order[n->n_sources++] = CFG_NAT_SRC_STATIC;
		if (n->has_stun)
			n->source_order[n->n_sources++] = CFG_NAT_SRC_STUN;
		return;
	}
	n->n_sources = cfg_pick_list(x, "nat.sources", n->sources, n->sources_count, names, 4,
				 "static, stun, cloud, none", CFG_NAT_MAX_SOURCES, v);
	/* a source whose address is given but malformed has its own error already */
	for (unsigned i = 0; i < n->n_sources; i++) {
		n->source_order[i] = (enum cfg_nat_source)v[i];
		if (v[i] == CFG_NAT_SRC_STUN && n->stun_server == NULL)
			cfg_errp(x, "nat.sources", "'stun' needs nat.stun_server");
		if (v[i] == CFG_NAT_SRC_STATIC && n->external_ip == NULL)
			cfg_errp(x, "nat.sources", "'static' needs nat.external_ip (env EXTERNAL_IP)");
	}
}

static void validate_cloud(struct cfg_ctx *x, struct cfg_nat_cloud *cl)
{
	static const char *const names[] = { "gcp", "aws", "azure" };
	static const char *const keys[] = { "nat.cloud.gcp_url", "nat.cloud.aws_url",
					    "nat.cloud.azure_url" };
	char **urls[] = { &cl->gcp_url, &cl->aws_url, &cl->azure_url };
	unsigned v[CFG_CLOUD_MAX];

	cl->n_order = cfg_pick_list(x, "nat.cloud.providers", cl->providers,
				    cl->providers_count, names, 3, "gcp, aws, azure",
				    CFG_CLOUD_MAX, v);
	for (unsigned i = 0; i < cl->n_order; i++)
		cl->order[i] = (enum cfg_cloud)v[i];
	if (cl->providers_count == 0)
		for (cl->n_order = 0; cl->n_order < CFG_CLOUD_MAX; cl->n_order++)
			cl->order[cl->n_order] = (enum cfg_cloud)cl->n_order;
	for (unsigned i = 0; i < CFG_CLOUD_MAX; i++) {
		cfg_default_str(x, keys[i], urls[i], "http://169.254.169.254");
		if (*urls[i] && strncmp(*urls[i], "http://", 7) != 0)
			cfg_errp(x, keys[i], "'%.100s' is not an http:// URL", *urls[i]);
	}
	cfg_check_uint(x, "nat.cloud.timeout_ms", &cl->timeout_ms, 1000, 50, 30000);
}

static void validate_addresses(struct cfg_ctx *x, struct cfg *c)
{
	struct cfg_nat *n = &c->nat;

	if (n->external_ip) {
		n->has_external_ip = cfg_parse_ipv4(n->external_ip, &n->external_ip_addr);
		if (!n->has_external_ip)
			cfg_errp(x, "nat.external_ip", "'%.100s' is not an IPv4 address (a.b.c.d)",
				 n->external_ip);
	}
	if (n->internal_ip) {
		if (!cfg_parse_ipv4(n->internal_ip, &n->internal_ip_addr))
			cfg_errp(x, "nat.internal_ip", "'%.100s' is not an IPv4 address (a.b.c.d)",
				 n->internal_ip);
	} else if (c->ports_count && c->ports[0].prefix_len) {
		char buf[16];
		n->internal_ip_addr = c->ports[0].ip;
		if (cfg_set_str(&n->internal_ip, cfg_ip_str(n->internal_ip_addr, buf)) < 0)
			cfg_errp(x, "nat.internal_ip", "out of memory");
	}
	if (n->stun_server) {
		n->has_stun = cfg_parse_addr(n->stun_server, &n->stun);
		if (!n->has_stun)
			cfg_errp(x, "nat.stun_server", "'%.100s' is not an IPv4 address and port "
				 "(a.b.c.d:port)", n->stun_server);
	}
}

/* "turn:a.b.c.d[:port][?transport=udp]" (RFC 7065, UDP and IPv4 literals only). */
static void validate_turn(struct cfg_ctx *x, struct cfg_nat *n)
{
	static const char *const modes[] = { "auto", "always", "never" };
	char path[CFG_PATH_MAX] = "nat.turn", host[64];
	int i;

	for (unsigned k = 0; k < n->turn_count; k++) {
		struct cfg_nat_turn *t = &n->turn[k];
		size_t base = cfg_path_index(path, k);
		const char *u = t->uri, *q = strchr(u, '?');
		size_t hl = q ? (size_t)(q - u) : strlen(u);
		cfg_path_key(path, "uri");
		if (strncmp(u, "turn:", 5) != 0 || hl - 5 >= sizeof(host) ||
		    (q && strcmp(q, "?transport=udp") != 0)) {
			cfg_errp(x, path, "'%.100s' is not turn:a.b.c.d[:port][?transport=udp]", u);
		} else {
			memcpy(host, u + 5, hl - 5);
			host[hl - 5] = '\0';
			t->addr.port = 3478;
			if (!(strchr(host, ':') ? cfg_parse_addr(host, &t->addr)
						: cfg_parse_ipv4(host, &t->addr.ip)))
				cfg_errp(x, path, "'%.100s': the host must be an IPv4 address", u);
		}
		path[base] = '\0';
	}
	cfg_default_str(x, "nat.relay", &n->relay, "auto");
	i = cfg_pick(x, "nat.relay", n->relay, modes, 3, "auto, always, never");
	n->relay_mode = i < 0 ? CFG_RELAY_AUTO : (enum cfg_relay)i;
	if (n->relay_mode == CFG_RELAY_ALWAYS && n->turn_count == 0)
		cfg_errp(x, "nat.relay", "'always' needs a server in nat.turn");
}

void cfg_validate_nat(struct cfg_ctx *x, struct cfg *c)
{
	static const char *const names[] = { "no", "yes", "auto", "false", "true" };
	static const enum cfg_behind_nat vals[] = { CFG_BEHIND_NAT_NO, CFG_BEHIND_NAT_YES,
						    CFG_BEHIND_NAT_AUTO, CFG_BEHIND_NAT_NO,
						    CFG_BEHIND_NAT_YES };
	static const char *const yesno[] = { "no", "yes", "false", "true" };
	struct cfg_nat *n = &c->nat;
	int i;

	cfg_default_str(x, "nat.behind_nat", &n->behind_nat, "no");
	i = cfg_pick(x, "nat.behind_nat", n->behind_nat, names, 5, "no, yes, auto, true, false");
	n->behind = i < 0 ? CFG_BEHIND_NAT_NO : vals[i];
	validate_addresses(x, c);
	validate_sources(x, n);
	validate_cloud(x, &n->cloud);
	validate_turn(x, n);
	cfg_check_uint(x, "nat.stun_port", &n->stun_port, c->media.port_max, 1024, 65535);
	cfg_check_uint(x, "nat.stun_rto_ms", &n->stun_rto_ms, 500, 50, 5000);
	cfg_check_uint(x, "nat.recheck_s", &n->recheck_s, 300, 0, 86400);
	if (n->recheck_s != 0 && n->recheck_s < 5)
		cfg_errp(x, "nat.recheck_s", "%u is out of range (0 = never, or 5..86400)",
			 n->recheck_s);
	if (c->media.n_addr > 1 && n->behind != CFG_BEHIND_NAT_NO && n->has_external_ip)
		cfg_errp(x, "media.addresses", "one address only behind a static NAT "
			 "(nat.external_ip maps one internal address)");
	cfg_check_uint(x, "nat.external_port_min", &n->external_port_min, 0, 0, 65535);
	if (n->external_port_min != 0 &&
	    (n->external_port_min < 1024 ||
	     n->external_port_min + (c->media.port_max - c->media.port_min) > 65535))
		cfg_errp(x, "nat.external_port_min", "%u: the forwarded range (%u ports) must lie "
			 "in 1024..65535", n->external_port_min,
			 c->media.port_max - c->media.port_min + 1);
	cfg_default_str(x, "nat.keepalive", &n->keepalive, "rtp");
	i = cfg_pick(x, "nat.keepalive", n->keepalive, (const char *const[]){ "off", "rtp", "stun" },
		     3, "off, rtp, stun");
	n->keepalive_kind = i < 0 ? CFG_KEEPALIVE_OFF : (enum cfg_keepalive)i;
	cfg_check_uint(x, "nat.keepalive_s", &n->keepalive_s, 20, 1, 3600);
	cfg_check_uint(x, "nat.ice_consent_timeout_s", &n->ice_consent_timeout_s, 30, 6, 3600);
	cfg_default_str(x, "nat.ice", &n->ice, "full");
	i = cfg_pick(x, "nat.ice", n->ice, (const char *const[]){ "full", "lite", "off" }, 3,
		     "full, lite, off");
	n->ice_mode = i < 0 ? CFG_ICE_OFF : (enum cfg_ice)i;
	cfg_default_str(x, "nat.behaviour", &n->behaviour, "yes");
	i = cfg_pick(x, "nat.behaviour", n->behaviour, yesno, 4, "yes, no");
	n->behaviour_on = i == 1 || i == 3;
}
