/* SPDX-License-Identifier: BSD-3-Clause
 * Step 5: defaults and semantic checks (ports, workers, recording,
 * dataplane, log; flows in cfg_flows.c, nat in cfg_nat.c). Every error is reported at
 * the offending value, or at the parent mapping when the key is absent.
 */
#include <pwd.h>
#include <string.h>
#include <strings.h>

#include "config/cfg_priv.h"

void cfg_check_uint(struct cfg_ctx *x, const char *path, unsigned *v, unsigned def, unsigned lo,
		    unsigned hi)
{
	if (!cfg_present(x, path))
		*v = def;
	else if (*v < lo || *v > hi)
		cfg_errp(x, path, "%u is out of range (%u..%u)", *v, lo, hi);
}

void cfg_check_unique(struct cfg_ctx *x, struct cfg_map *m, const char *path, const char *what,
		      const char *val, const char *seq, size_t i)
{
	size_t first;
	int r = cfg_map_add(m, val, i, &first);
	if (r < 0)
		cfg_errp(x, path, "out of memory");
	else if (r > 0)
		cfg_errp(x, path, "duplicate %s '%.100s' (first used in %s[%zu])", what, val, seq,
			 first);
}

void cfg_default_str(struct cfg_ctx *x, const char *path, char **s, const char *def)
{
	if (!*s && cfg_set_str(s, def) < 0)
		cfg_errp(x, path, "out of memory");
	else if (!**s)
		cfg_errp(x, path, "must not be empty");
}

static void validate_port(struct cfg_ctx *x, struct cfg_port *p, char *path)
{
	size_t len;

	len = cfg_path_key(path, "ipv4");
	if (!cfg_parse_cidr(p->ipv4, &p->ip, &p->prefix_len))
		cfg_errp(x, path, "'%.100s' is not an IPv4 address with prefix length "
			 "(a.b.c.d/len, len 1..32)", p->ipv4);
	path[len] = '\0';

	len = cfg_path_key(path, "gateway");
	if (p->gateway) {
		p->has_gateway = cfg_parse_ipv4(p->gateway, &p->gateway_ip);
		uint32_t mask = p->prefix_len ? ~0u << (32 - p->prefix_len) : 0;
		if (!p->has_gateway)
			cfg_errp(x, path, "'%.100s' is not an IPv4 address (a.b.c.d)", p->gateway);
		else if (p->prefix_len && (p->gateway_ip & mask) != (p->ip & mask))
			cfg_errp(x, path, "%s is outside the port's subnet %s", p->gateway,
				 p->ipv4);
	}
	path[len] = '\0';

	len = cfg_path_key(path, "gateway_mac");
	if (p->gateway_mac) {
		p->has_gateway_mac = cfg_parse_mac(p->gateway_mac, p->gateway_mac_bytes);
		if (!p->has_gateway_mac)
			cfg_errp(x, path, "'%.100s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
				 p->gateway_mac);
	}
	path[len] = '\0';

	len = cfg_path_key(path, "rx_desc");
	cfg_check_uint(x, path, &p->rx_desc, 1024, 64, 16384);
	path[len] = '\0';
	len = cfg_path_key(path, "tx_desc");
	cfg_check_uint(x, path, &p->tx_desc, 1024, 64, 16384);
	path[len] = '\0';
	len = cfg_path_key(path, "vlan");
	cfg_check_uint(x, path, &p->vlan, 0, 0, 4094);
	path[len] = '\0';
}

static void validate_ports(struct cfg_ctx *x, struct cfg *c)
{
	struct cfg_map names = { 0 }, devices = { 0 };
	char path[CFG_PATH_MAX] = "ports";

	if (c->ports_count == 0)
		cfg_errp(x, "ports", "at least one port is required");
	else if (c->ports_count > CFG_MAX_PORTS)
		cfg_errp(x, "ports", "at most %d ports are supported, got %u", CFG_MAX_PORTS,
			 c->ports_count);
	for (size_t i = 0; i < c->ports_count; i++) {
		struct cfg_port *p = &c->ports[i];
		size_t base = cfg_path_index(path, i), len;

		len = cfg_path_key(path, "name");
		if (!p->name[0])
			cfg_errp(x, path, "must not be empty");
		cfg_check_unique(x, &names, path, "port name", p->name, "ports", i);
		path[len] = '\0';
		len = cfg_path_key(path, "device");
		if (!p->device[0])
			cfg_errp(x, path, "must not be empty");
		cfg_check_unique(x, &devices, path, "device", p->device, "ports", i);
		path[len] = '\0';
		validate_port(x, p, path);
		path[base] = '\0';
	}
	cfg_map_free(&names);
	cfg_map_free(&devices);
}

static bool is_pow2(unsigned v)
{
	return v && !(v & (v - 1));
}

static void validate_dataplane(struct cfg_ctx *x, struct cfg *c)
{
	struct cfg_dataplane *d = &c->dataplane;

	cfg_check_uint(x, "dataplane.flow_table_size", &d->flow_table_size, 65536, 64, 16777216);
	if (d->flow_table_size >= 64 && d->flow_table_size < cfg_flow_total(c))
		cfg_errp(x, "dataplane.flow_table_size", "%u is less than the number of flows (%u)",
			 d->flow_table_size, cfg_flow_total(c));
	cfg_check_uint(x, "dataplane.mbufs", &d->mbufs, 32767, 1023, 4194303);
	cfg_check_uint(x, "dataplane.record_ring_size", &d->record_ring_size, 16384, 1024,
		       4194304);
	if (!is_pow2(d->record_ring_size))
		cfg_errp(x, "dataplane.record_ring_size", "%u is not a power of two",
			 d->record_ring_size);
	cfg_check_uint(x, "dataplane.neigh_hold", &d->neigh_hold, 64, 0, 4096);
	cfg_check_uint(x, "dataplane.burst", &d->burst, 32, 1, 64);
	cfg_check_uint(x, "dataplane.mbuf_size", &d->mbuf_size, 2176, 384, 65535);
	cfg_check_uint(x, "dataplane.idle_sleep_us", &d->idle_sleep_us, 0, 0, 10000);
	cfg_check_uint(x, "dataplane.rx_pace_pps", &d->rx_pace_pps, 0, 0, 1000000000);
}

int cfg_pick(struct cfg_ctx *x, const char *path, const char *s, const char *const *names,
	     size_t n, const char *list)
{
	for (size_t i = 0; i < n; i++)
		if (s && !strcasecmp(s, names[i]))
			return (int)i;
	cfg_errp(x, path, "'%.100s' is not one of %s", s ? s : "", list);
	return -1;
}

static void validate_log(struct cfg_ctx *x, struct cfg *c)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	cfg_default_str(x, "log.level", &c->log.level, "info");
	int i = cfg_pick(x, "log.level", c->log.level, names, 4, "error, warning, info, debug");
	c->log.level_value = i < 0 ? CFG_LOG_INFO : (enum cfg_log_level)i;
	cfg_default_str(x, "log.target", &c->log.target, "stderr");
	c->log.to_syslog = cfg_pick(x, "log.target", c->log.target,
				    (const char *const[]){ "stderr", "syslog" }, 2, "stderr, syslog") == 1;
	cfg_default_str(x, "log.format", &c->log.format, "text");
	c->log.json = cfg_pick(x, "log.format", c->log.format, (const char *const[]){ "text", "json" },
			       2, "text, json") == 1;
}

static void validate_ops(struct cfg_ctx *x, struct cfg *c)
{
	if (c->metrics.listen != NULL) {
		c->ops.has_metrics = cfg_parse_addr(c->metrics.listen, &c->ops.metrics) &&
				     c->ops.metrics.port != 0;
		if (!c->ops.has_metrics)
			cfg_errp(x, "metrics.listen", "'%.60s' is not a.b.c.d:port",
				 c->metrics.listen);
	}
	if (c->process.user != NULL && getpwnam(c->process.user) == NULL)
		cfg_errp(x, "process.user", "no user '%.40s' on this system", c->process.user);
	if (c->control.socket != NULL &&
	    (c->control.socket[0] == '\0' || strlen(c->control.socket) >= 100))
		cfg_errp(x, "control.socket", "a path of 1..99 characters");
}

void cfg_validate(struct cfg_ctx *x, struct cfg *c)
{
	validate_ports(x, c);
	cfg_check_uint(x, "workers", &c->workers, 1, 1, CFG_MAX_WORKERS);
	cfg_validate_recording(x, c);
	cfg_validate_flows(x, c);
	validate_dataplane(x, c);
	validate_log(x, c);
	cfg_validate_sip(x, c);
	cfg_validate_nat(x, c); /* after media: stun_port defaults to media.port_max */
	cfg_check_uint(x, "shutdown.drain_s", &c->shutdown.drain_s, 0, 0, 86400);
	validate_ops(x, c);
}
