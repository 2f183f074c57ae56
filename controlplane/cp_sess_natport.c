/* SPDX-License-Identifier: BSD-3-Clause
 * Public ports for an answer behind a NAT that keeps mappings endpoint-independent but
 * moves port numbers: each new media port (RTP, and RTCP without rtcp-mux) asks the
 * STUN server from itself (cp_nat_map_port) before the answer goes out; the session
 * waits for them like for its flows (acks_pending). Behind a NAT that maps per
 * destination (nat.relay), each port allocates a TURN relay instead and the answer
 * carries the relayed addresses (cp_sess_relay.c). */
#include "cp_session_priv.h"

static void cp_sess_port_mapped(void *arg, uint16_t local_port, uint16_t ext_port)
{
	struct cp_session *s = arg;
	struct cp_ctx *cp = s->cp;

	s->lookups -= s->lookups != 0;
	if (s->state == CP_SESS_CLOSING) { /* no longer waited for (cp_sess_end) */
		if (s->files_done && s->acks_pending == 0)
			cp_sess_closed(cp, s);
		return;
	}
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
	s->lookups += started;
	return started;
}
