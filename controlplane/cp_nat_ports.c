/* SPDX-License-Identifier: BSD-3-Clause
 * Per-port discovery: behind a NAT whose mapping is endpoint-independent but that does
 * not keep port numbers, the public port of each media port is learnt before the
 * answer with a Binding request from that very port (through the dataplane). */
#include <string.h>

#include "config/cfg_log.h"
#include "cp_nat_priv.h"
#include "nat/nat_stun.h"

bool cp_nat_ports_remapped(const struct cp_nat *n)
{
	return n->ext_known && n->ext_source == CFG_NAT_SRC_STUN &&
	       n->mapping == NAT_MAPPING_ENDPOINT_INDEPENDENT && n->ext_port != 0 &&
	       n->ext_port != n->cfg->stun_port && n->cfg->external_port_min == 0;
}

int cp_nat_map_port(struct cp_nat *n, uint16_t local_port, cp_nat_port_fn done, void *arg)
{
	struct nat_rto rto = { n->cfg->stun_rto_ms, 7, 16 };

	for (unsigned i = 0; i < CP_NAT_PORT_TXNS; i++) {
		struct cp_nat_port_txn *t = &n->ports[i];
		if (t->used)
			continue;
		if (nat_bind_init(&t->b, &rto, NULL, NULL) != 0 ||
		    nat_bind_start(&t->b, n->cfg->stun.ip, n->cfg->stun.port, 0, n->now_ms) != 0)
			return -1;
		t->used = true;
		t->local_port = local_port;
		t->done = done;
		t->arg = arg;
		n->port_lookups++;
		return 0;
	}
	return -1; /* all busy: the caller answers with the port as it is */
}

static void cp_nat_port_end(struct cp_nat *n, struct cp_nat_port_txn *t)
{
	uint16_t ext = t->b.state == NAT_BIND_OK ? t->b.mapped.port : 0;

	if (ext == 0) {
		n->port_failures++;
		LOG_WARN("nat: no public port for media port %u (%s): answered as it is",
			 t->local_port, nat_bind_state_name(t->b.state));
	}
	t->used = false;
	t->done(t->arg, t->local_port, ext);
}

bool cp_nat_ports_input(struct cp_nat *n, uint16_t dst_port, const struct nat_stun_msg *m)
{
	for (unsigned i = 0; i < CP_NAT_PORT_TXNS; i++) {
		struct cp_nat_port_txn *t = &n->ports[i];
		if (t->used && t->local_port == dst_port && nat_bind_input(&t->b, m)) {
			cp_nat_port_end(n, t);
			return true;
		}
	}
	return false;
}

void cp_nat_ports_tick(struct cp_nat *n)
{
	for (unsigned i = 0; i < CP_NAT_PORT_TXNS; i++) {
		struct cp_nat_port_txn *t = &n->ports[i];
		const uint8_t *msg;
		size_t len;
		if (!t->used)
			continue;
		if (nat_bind_tick(&t->b, n->now_ms, &msg, &len) == 1) {
			struct cp_udp_addr a = { n->local_ip, t->b.dst_ip, t->local_port, t->b.dst_port };
			if (cp_udp_send(n->cp, &a, msg, len) != 0)
				n->tx_dropped++;
		}
		if (t->b.state != NAT_BIND_RUNNING)
			cp_nat_port_end(n, t);
	}
}
