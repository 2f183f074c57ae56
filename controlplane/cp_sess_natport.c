/* SPDX-License-Identifier: BSD-3-Clause
 * Public ports for an answer behind a NAT that keeps mappings endpoint-independent but
 * moves port numbers: each new media port (RTP, and RTCP without rtcp-mux) asks the
 * STUN server from itself (cp_nat_map_port) before the answer goes out; the session
 * waits for them like for its flows (acks_pending). Behind a NAT that maps per
 * destination (nat.relay), each port allocates a TURN relay instead and the answer
 * carries the relayed addresses. */
#include "cp_session_priv.h"

static void cp_sess_port_mapped(void *arg, uint16_t local_port, uint16_t ext_port)
{
	struct cp_session *s = arg;
	struct cp_ctx *cp = s->cp;

	for (unsigned i = 0; i < s->n_streams; i++) {
		struct cp_stream *st = &s->streams[i];
		if (st->port == local_port)
			st->ext_port = ext_port;
		else if (st->port + 1 == local_port)
			st->ext_rtcp_port = ext_port;
	}
	if (s->acks_pending > 0 && --s->acks_pending == 0)
		cp_sess_flows_settled(cp, s);
}

static void cp_sess_relayed(void *arg, uint16_t local_port, uint32_t ip, uint16_t port)
{
	struct cp_session *s = arg;

	for (unsigned i = 0; i < s->n_streams; i++) {
		struct cp_stream *st = &s->streams[i];
		if (st->port == local_port) {
			st->relay_ip = ip;
			st->relay_port = port;
			st->relay_failed = ip == 0; /* answered with our own address instead */
		} else if (st->port + 1 == local_port) {
			st->relay_rtcp_port = port;
		}
	}
	if (s->acks_pending > 0 && --s->acks_pending == 0)
		cp_sess_flows_settled(s->cp, s);
}

/* One relay per media port of the new streams; the count started. */
static unsigned cp_sess_relay_ports(struct cp_ctx *cp, struct cp_session *s)
{
	uint32_t local = cp_sess_local_ip(cp->sess, s);
	unsigned started = 0;

	for (unsigned i = 0; i < s->n_streams; i++) {
		struct cp_stream *st = &s->streams[i];
		if (!st->in_use || st->port == 0 || st->port_mapped)
			continue;
		st->port_mapped = true;
		st->relayed = true;
		st->relay[0] = cp_nat_relay_start(cp->nat, local, st->port, st->offer_ip,
						  st->offer_port, cp_sess_relayed, s);
		started += st->relay[0] >= 0;
		st->relay[1] = -1;
		if (!st->rtcp_mux) {
			st->relay[1] = cp_nat_relay_start(cp->nat, local, (uint16_t)(st->port + 1),
							  st->offer_ip, (uint16_t)(st->offer_port + 1),
							  cp_sess_relayed, s);
			started += st->relay[1] >= 0;
		}
	}
	return started;
}

void cp_sess_release_relays(struct cp_ctx *cp, struct cp_session *s)
{
	for (unsigned i = 0; i < s->n_streams; i++)
		for (unsigned k = 0; k < 2; k++)
			if (s->streams[i].relayed && s->streams[i].relay[k] >= 0) {
				cp_nat_relay_stop(cp->nat, s->streams[i].relay[k]);
				s->streams[i].relay[k] = -1;
			}
}

unsigned cp_sess_map_ports(struct cp_ctx *cp, struct cp_session *s)
{
	unsigned started = 0;

	if (cp_nat_relay_wanted(cp->nat)) {
		started = cp_sess_relay_ports(cp, s);
		s->acks_pending += started;
		return started;
	}
	if (cp->sess->external_ip == 0 || !cp_nat_ports_remapped(cp->nat))
		return 0;
	for (unsigned i = 0; i < s->n_streams; i++) {
		struct cp_stream *st = &s->streams[i];
		if (!st->in_use || st->port == 0 || st->port_mapped)
			continue;
		st->port_mapped = true;
		if (cp_nat_map_port(cp->nat, st->port, cp_sess_port_mapped, s) == 0)
			started++;
		if (!st->rtcp_mux &&
		    cp_nat_map_port(cp->nat, (uint16_t)(st->port + 1), cp_sess_port_mapped, s) == 0)
			started++;
	}
	s->acks_pending += started;
	return started;
}
