/* SPDX-License-Identifier: BSD-3-Clause
 * Step 5 for sip: and media: listeners, TLS files, allowed sources, limits,
 * the RTP port range and the media timeout. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* R_OK, X_OK */
#include <strings.h>

#include "config/cfg_priv.h"

static const char *const transports[] = {"udp", "tcp", "tls"};

/* "udp:a.b.c.d:port" */
static bool parse_listener(const char *s, struct cfg_sip_listener *l)
{
	const char *colon = strchr(s, ':');

	if (colon == NULL)
		return false;
	for (unsigned t = 0; t < 3; t++) {
		if ((size_t)(colon - s) == 3 && strncasecmp(s, transports[t], 3) == 0) {
			l->transport = (enum cfg_sip_transport)t;
			return cfg_parse_addr(colon + 1, &l->addr);
		}
	}
	return false;
}

static void validate_listen(struct cfg_ctx *x, struct cfg_sip *sp)
{
	char path[CFG_PATH_MAX] = "sip.listen";
	bool tls = false;

	if (sp->listen_count == 0 && !cfg_present(x, "sip.listen")) {
		sp->listeners[0].transport = CFG_SIP_UDP;
		sp->listeners[0].addr.ip = 0x7f000001;
		sp->listeners[0].addr.port = 5060;
		sp->n_listeners = 1;
	} else if (sp->listen_count > CFG_MAX_SIP_LISTEN) {
		cfg_errp(x, path, "at most %d listeners, got %u", CFG_MAX_SIP_LISTEN,
			 sp->listen_count);
		return;
	}
	for (unsigned i = 0; i < sp->listen_count; i++) {
		struct cfg_sip_listener *l = &sp->listeners[sp->n_listeners];
		size_t base = cfg_path_index(path, i);
		if (!parse_listener(sp->listen[i], l)) {
			cfg_errp(x, path, "'%.100s' is not udp:|tcp:|tls: followed by a.b.c.d:port",
				 sp->listen[i]);
		} else {
			for (unsigned k = 0; k < sp->n_listeners; k++)
				if (sp->listeners[k].transport == l->transport &&
				    sp->listeners[k].addr.ip == l->addr.ip &&
				    sp->listeners[k].addr.port == l->addr.port)
					cfg_errp(x, path, "'%.100s' is listed twice", sp->listen[i]);
			tls = tls || l->transport == CFG_SIP_TLS;
			sp->n_listeners++;
		}
		path[base] = '\0';
	}
	if (!tls)
		return;
	if (sp->tls_cert == NULL)
		cfg_err_at(x, "sip", "missing key 'tls_cert' in sip (a tls: listener needs it)");
	else if (!cfg_file_ok(x, sp->tls_cert, R_OK))
		cfg_errp(x, "sip.tls_cert", "cannot read '%.200s'", sp->tls_cert);
	if (sp->tls_key == NULL)
		cfg_err_at(x, "sip", "missing key 'tls_key' in sip (a tls: listener needs it)");
	else if (!cfg_file_ok(x, sp->tls_key, R_OK))
		cfg_errp(x, "sip.tls_key", "cannot read '%.200s'", sp->tls_key);
}

/* TLS options beyond the certificate: client verification, cipher lists
 * (checked by OpenSSL when the listener opens). */
static void validate_tls(struct cfg_ctx *x, struct cfg_sip *sp)
{
	static const char *const lists[] = { "sip.tls_ciphers", "sip.tls_ciphersuites" };
	const char *const vals[] = { sp->tls_ciphers, sp->tls_ciphersuites };

	if (sp->tls_ca != NULL && !cfg_file_ok(x, sp->tls_ca, R_OK))
		cfg_errp(x, "sip.tls_ca", "cannot read '%.200s'", sp->tls_ca);
	if (sp->tls_verify_client && sp->tls_ca == NULL)
		cfg_errp(x, "sip.tls_verify_client", "needs sip.tls_ca (the CA client "
			 "certificates must be signed by)");
	for (unsigned i = 0; i < 2; i++)
		if (vals[i] != NULL && vals[i][0] == '\0')
			cfg_errp(x, lists[i], "is empty (leave it out for OpenSSL's default)");
}

/* sip.limits and sip.rate_limit. */
static void validate_limits(struct cfg_ctx *x, struct cfg_sip *sp)
{
	struct cfg_sip_rate *r = &sp->rate_limit;

	cfg_check_uint(x, "sip.limits.tcp_idle_s", &sp->limits.tcp_idle_s, 60, 1, 86400);
	cfg_check_uint(x, "sip.limits.message_timeout_s", &sp->limits.message_timeout_s, 20, 1,
		       3600);
	cfg_check_uint(x, "sip.limits.tls_handshake_s", &sp->limits.tls_handshake_s, 5, 1, 300);
	cfg_check_uint(x, "sip.rate_limit.requests_per_s", &r->requests_per_s, 0, 0, 1000000);
	cfg_check_uint(x, "sip.rate_limit.burst", &r->burst, 0, 0, 1000000);
	if (r->burst == 0)
		r->burst = r->requests_per_s ? r->requests_per_s : 1;
}

static void validate_allow(struct cfg_ctx *x, struct cfg_sip *sp)
{
	char path[CFG_PATH_MAX] = "sip.allow";

	if (sp->allow_count > CFG_MAX_SIP_ALLOW) {
		cfg_errp(x, path, "at most %d networks, got %u", CFG_MAX_SIP_ALLOW,
			 sp->allow_count);
		return;
	}
	for (unsigned i = 0; i < sp->allow_count; i++) {
		size_t base = cfg_path_index(path, i);
		const char *s = sp->allow[i];
		if (strchr(s, '/') ? !cfg_parse_cidr(s, &sp->allow_ip[i], &sp->allow_prefix[i])
				   : !cfg_parse_ipv4(s, &sp->allow_ip[i]))
			cfg_errp(x, path, "'%.100s' is not an IPv4 address or network (a.b.c.d/len)",
				 s);
		else if (!strchr(s, '/'))
			sp->allow_prefix[i] = 32;
		path[base] = '\0';
	}
}

const char *const cfg_media_kinds[CFG_MEDIA_KINDS] = { "audio", "video", "text", "application",
							"image", "message" };

bool cfg_media_kind_ok(const struct cfg_media *m, const char *kind)
{
	for (unsigned i = 0; i < CFG_MEDIA_KINDS; i++)
		if (strcasecmp(kind, cfg_media_kinds[i]) == 0)
			return (m->kinds_mask >> i) & 1u;
	return false;
}

static void validate_media_kinds(struct cfg_ctx *x, struct cfg_media *m)
{
	unsigned v[CFG_MEDIA_KINDS];
	unsigned n;

	if (m->kinds_count == 0) {
		m->kinds_mask = 0x3; /* audio, video */
		return;
	}
	n = cfg_pick_list(x, "media.kinds", m->kinds, m->kinds_count, cfg_media_kinds,
			  CFG_MEDIA_KINDS, "audio, video, text, application, image, message",
			  CFG_MEDIA_KINDS, v);
	for (unsigned i = 0; i < n; i++)
		m->kinds_mask |= 1u << v[i];
}

static void validate_media(struct cfg_ctx *x, struct cfg *c)
{
	struct cfg_media *m = &c->media;

	validate_media_kinds(x, m);
	cfg_check_uint(x, "media.port_min", &m->port_min, 30000, 1024, 65534);
	cfg_check_uint(x, "media.port_max", &m->port_max, 39999, 1025, 65535);
	if (m->port_min % 2)
		cfg_errp(x, "media.port_min", "%u is odd (RTP takes the even port)", m->port_min);
	if (m->port_max <= m->port_min)
		cfg_errp(x, "media.port_max", "%u is not above media.port_min (%u)", m->port_max,
			 m->port_min);
	cfg_check_uint(x, "media.timeout_s", &m->timeout_s, 30, 0, 86400);
	cfg_check_uint(x, "media.relatch_packets", &m->relatch_packets, 5, 0, 1000);
	if (c->ports_count == 0)
		return;
	if (m->port == NULL) {
		if (cfg_set_str(&m->port, c->ports[0].name) < 0)
			cfg_errp(x, "media.port", "out of memory");
		m->port_index = 0;
		return;
	}
	int idx = cfg_port_index(c, m->port);
	if (idx < 0)
		cfg_errp(x, "media.port", "no port named '%.100s'", m->port);
	else
		m->port_index = (unsigned)idx;
}

/* media.addresses: more local addresses (each with the whole port range) so
 * that one recorder holds more calls than one address's ports allow. */
static void validate_media_addrs(struct cfg_ctx *x, struct cfg *c)
{
	struct cfg_media *m = &c->media;
	const struct cfg_port *pt;
	char path[CFG_PATH_MAX] = "media.addresses";

	if (c->ports_count == 0 || m->port_index >= c->ports_count)
		return;
	pt = &c->ports[m->port_index];
	m->n_addr = 1;
	m->addr_ip[0] = pt->ip;
	if (m->addresses_count == 0)
		return;
	if (m->addresses_count > CFG_MAX_MEDIA_ADDRS) {
		cfg_errp(x, path, "at most %d addresses, got %u", CFG_MAX_MEDIA_ADDRS,
			 m->addresses_count);
		return;
	}
	uint32_t mask = pt->prefix_len ? ~0u << (32 - pt->prefix_len) : 0;

	m->n_addr = 0;
	for (unsigned i = 0; i < m->addresses_count; i++) {
		size_t base = cfg_path_index(path, i);
		uint32_t ip;

		if (!cfg_parse_ipv4(m->addresses[i], &ip))
			cfg_errp(x, path, "'%.100s' is not an IPv4 address", m->addresses[i]);
		else if ((ip & mask) != (pt->ip & mask))
			cfg_errp(x, path, "%.100s is not in port %.60s's subnet (%.60s)",
				 m->addresses[i], pt->name, pt->ipv4);
		else
			m->addr_ip[m->n_addr++] = ip;
		for (unsigned k = 0; k + 1 < m->n_addr; k++)
			if (m->addr_ip[k] == ip) {
				cfg_errp(x, path, "%.100s is listed twice", m->addresses[i]);
				m->n_addr--;
				break;
			}
		path[base] = '\0';
	}
}

void cfg_validate_sip(struct cfg_ctx *x, struct cfg *c)
{
	struct cfg_sip *sp = &c->sip;

	validate_listen(x, sp);
	validate_allow(x, sp);
	validate_tls(x, sp);
	validate_limits(x, sp);
	cfg_check_uint(x, "sip.max_sessions", &sp->max_sessions, 1000, 1, 1000000);
	cfg_check_uint(x, "sip.min_se", &sp->min_se, 90, 1, 86400); /* below 90: tests only */
	cfg_check_uint(x, "sip.max_message", &sp->max_message, 65535, 1024, 1048576);
	cfg_check_uint(x, "sip.max_connections", &sp->max_connections, 1024, 1, 65536);
	if (sp->external_address) {
		const char *s = sp->external_address;
		sp->has_external = strchr(s, ':') ? cfg_parse_addr(s, &sp->external)
						  : cfg_parse_ipv4(s, &sp->external.ip);
		if (!sp->has_external)
			cfg_errp(x, "sip.external_address", "'%.100s' is not an IPv4 address "
				 "(a.b.c.d or a.b.c.d:port)", s);
	}
	validate_media(x, c);
	validate_media_addrs(x, c);
}
