/* SPDX-License-Identifier: BSD-3-Clause
 * TURN relays for call media (nat.turn, nat.relay): one allocation per media port,
 * made from that port through the dataplane; once allocated, a permission and a
 * channel for the SRC's SDP address, and a DP_ACT_TURN flow on every worker so the
 * ChannelData the relay sends is unwrapped into the SRC's own packets. The servers of
 * nat.turn are tried in order: an allocation that fails on one (no answer, credentials
 * refused, no quota) starts again on the next. An allocation lost later (a Refresh
 * refused after the server restarted, the lifetime run out) is logged once and counted,
 * its flow removed, and made again: at once on the next server of nat.turn if there is
 * one, else on the same after a back-off; a new relayed address is reported again. A
 * stopped relay stays in its slot until the server confirms the release (or a timeout),
 * and its media port out of the sessions' pool until then: the allocation may still send
 * ChannelData to that port (a new call there would latch on the TURN server and record
 * it), and a new Allocate from the same port to the same server is refused (437). */
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>

#include "config/cfg_log.h"
#include "cp_nat_priv.h"
#include "nat/nat_turn.h"

#define CP_RELAY_CHANNEL_WAIT_MS 3000 /* answer without a channel after this long */
#define CP_RELAY_BACKOFF_MIN_MS 1000  /* a lost relay: first wait before allocating again */
#define CP_RELAY_BACKOFF_MAX_MS 30000
#define CP_RELAY_RELEASE_MS 10000     /* a stopped relay waits this long for its release */

struct cp_relay {
	struct nat_turn t;
	struct cp_nat *n;
	unsigned idx;
	unsigned server;     /* index in nat.turn */
	uint32_t local_ip;   /* host order */
	uint16_t local_port;
	uint32_t peer_ip;    /* host order: the SRC's SDP address */
	uint16_t peer_port;
	uint64_t allocated_ms;
	bool flow_added;
	bool channel_set;
	bool reported;
	bool lost;           /* allocated and reported, then lost: being made again */
	bool releasing;      /* stopped: freed once RELEASED or at deadline_ms */
	uint32_t rep_ip;     /* the relayed address reported, 0: none */
	uint16_t rep_port;
	uint32_t backoff_ms;
	uint64_t retry_ms;   /* lost: the next Allocate is due then; 0: none waiting */
	uint64_t deadline_ms;
	cp_nat_relay_fn done;
	void *arg;
};

bool cp_nat_relay_wanted(const struct cp_nat *n)
{
	const struct cfg_nat *c = n->cfg;

	if (c->turn_count == 0 || c->relay_mode == CFG_RELAY_NEVER)
		return false;
	return c->relay_mode == CFG_RELAY_ALWAYS ||
	       n->mapping == NAT_MAPPING_ADDRESS_DEPENDENT ||
	       n->mapping == NAT_MAPPING_ADDRESS_PORT_DEPENDENT;
}

static void cp_relay_send(void *arg, uint32_t dst_ip, uint16_t dst_port, const uint8_t *msg,
			  size_t len)
{
	struct cp_relay *r = arg;
	struct cp_udp_addr a = { r->local_ip, dst_ip, r->local_port, dst_port };

	if (cp_udp_send(r->n->cp, &a, msg, len) != 0)
		r->n->tx_dropped++;
}

static const struct cfg_nat_turn *cp_relay_server(const struct cp_relay *r)
{
	return &r->n->cfg->turn[r->server];
}

/* The relay's flow on every worker: its key (relay server -> our media port). */
static void cp_relay_key(const struct cp_relay *r, struct dp_flow_key *k)
{
	const struct cfg_nat_turn *s = cp_relay_server(r);

	memset(k, 0, sizeof(*k));
	k->src_ip = rte_cpu_to_be_32(s->addr.ip);
	k->src_port = rte_cpu_to_be_16(s->addr.port);
	k->dst_ip = rte_cpu_to_be_32(r->local_ip);
	k->dst_port = rte_cpu_to_be_16(r->local_port);
}

static void cp_relay_broadcast(struct cp_relay *r, struct dp_msg *m)
{
	struct cp_ctx *cp = r->n->cp;

	for (unsigned w = 0; w < dp_worker_count(cp->dp); w++)
		if (cp_send(cp, w, m) != 0)
			LOG_ERR("nat: worker %u takes no commands for a TURN relay", w);
}

static void cp_relay_flow(struct cp_relay *r, uint16_t type)
{
	struct dp_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	if (type == DP_CMD_FLOW_DEL) {
		cp_relay_key(r, &m.u.del.key);
		m.u.del.flow_id = CP_NAT_RELAY_FLOW_BASE + r->idx;
	} else {
		cp_relay_key(r, &m.u.spec.key);
		m.u.spec.flow_id = CP_NAT_RELAY_FLOW_BASE + r->idx;
		m.u.spec.rec_id = DP_REC_NONE;
		m.u.spec.actions = DP_ACT_TURN;
	}
	cp_relay_broadcast(r, &m);
}

static void cp_relay_channel(struct cp_relay *r, uint16_t channel)
{
	struct dp_msg m;

	memset(&m, 0, sizeof(m));
	m.type = DP_CMD_TURN_CHANNEL;
	cp_relay_key(r, &m.u.chan.key);
	m.u.chan.channel = channel;
	m.u.chan.peer_ip = rte_cpu_to_be_32(r->peer_ip);
	m.u.chan.peer_port = rte_cpu_to_be_16(r->peer_port);
	cp_relay_broadcast(r, &m);
}

/* A lost relay allocated again: true when its address is another one (to report). */
static bool cp_relay_recovered(struct cp_relay *r)
{
	uint32_t ip = r->t.relayed.ip4;

	r->lost = false;
	r->backoff_ms = 0;
	r->n->relays_recovered++;
	LOG_WARN("nat: TURN relay of media port %u allocated again on %s: %u.%u.%u.%u:%u",
		 r->local_port, cp_relay_server(r)->uri, ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
		 ip & 255, r->t.relayed.port);
	return ip != r->rep_ip || r->t.relayed.port != r->rep_port;
}

/* The first result (done is called last: it may stop the relay), or a new address. */
static void cp_relay_report(struct cp_relay *r, bool ok)
{
	if (r->reported && (!r->lost || !cp_relay_recovered(r)))
		return;
	r->reported = true;
	if (!ok) {
		r->n->relays_failed++;
		LOG_ERR("nat: TURN allocation for media port %u failed: %s %u %s", r->local_port,
			nat_turn_error_name(r->t.error), r->t.error_code, r->t.reason);
	}
	r->rep_ip = ok ? r->t.relayed.ip4 : 0;
	r->rep_port = ok ? r->t.relayed.port : 0;
	r->done(r->arg, r->local_port, r->rep_ip, r->rep_port);
}

/* An allocation on the relay's current server. 0 or -1. */
static int cp_relay_begin(struct cp_relay *r)
{
	const struct cfg_nat_turn *s = cp_relay_server(r);
	struct nat_turn_cfg tc = {
		.server_ip = s->addr.ip, .server_port = s->addr.port, .username = s->username,
		.password = s->password, .rto = { r->n->cfg->stun_rto_ms, 7, 16 },
		.send = cp_relay_send, .send_arg = r, .software = "rtprec",
	};

	return nat_turn_start(&r->t, &tc, r->n->now_ms);
}

/* The allocation failed: the next server of nat.turn, if any (true: started). */
static bool cp_relay_failover(struct cp_relay *r)
{
	while (r->server + 1 < r->n->cfg->turn_count) {
		LOG_WARN("nat: TURN allocation for media port %u failed on %s (%s %u %s): trying %s",
			 r->local_port, cp_relay_server(r)->uri, nat_turn_error_name(r->t.error),
			 r->t.error_code, r->t.reason, r->n->cfg->turn[r->server + 1].uri);
		r->server++;
		r->n->relay_failovers++;
		if (cp_relay_begin(r) == 0)
			return true;
	}
	return false;
}

/* The relay's flow leaves the workers (the worker forgets its channel with it). */
static void cp_relay_unflow(struct cp_relay *r)
{
	if (r->flow_added)
		cp_relay_flow(r, DP_CMD_FLOW_DEL);
	r->flow_added = false;
	r->channel_set = false;
}

/* A reported allocation lost (or its new one failed): the next Allocate, on the next
 * server of nat.turn at once the first time, else after a growing back-off. */
static void cp_relay_lost(struct cp_relay *r)
{
	struct cp_nat *n = r->n;
	unsigned count = n->cfg->turn_count;

	if (!r->lost) {
		LOG_WARN("nat: TURN relay %u.%u.%u.%u:%u of media port %u lost on %s (%s %u %s): "
			 "allocating again", r->rep_ip >> 24, (r->rep_ip >> 16) & 255,
			 (r->rep_ip >> 8) & 255, r->rep_ip & 255, r->rep_port, r->local_port,
			 cp_relay_server(r)->uri, nat_turn_error_name(r->t.error), r->t.error_code,
			 r->t.reason);
		n->relays_failed++;
		n->relays_lost++;
		r->lost = true;
		r->backoff_ms = count > 1 ? 0 : CP_RELAY_BACKOFF_MIN_MS;
	} else {
		r->backoff_ms = r->backoff_ms < CP_RELAY_BACKOFF_MIN_MS ? CP_RELAY_BACKOFF_MIN_MS
			      : r->backoff_ms >= CP_RELAY_BACKOFF_MAX_MS / 2 ? CP_RELAY_BACKOFF_MAX_MS
			      : r->backoff_ms * 2;
	}
	r->server = (r->server + 1) % count;
	r->retry_ms = n->now_ms + r->backoff_ms;
}

static void cp_relay_failed(struct cp_relay *r)
{
	cp_relay_unflow(r);
	if (r->rep_ip != 0)
		cp_relay_lost(r);
	else if (!r->reported && !cp_relay_failover(r))
		cp_relay_report(r, false);
}

/* A stopped relay: freed once its release is answered (or given up). */
static void cp_relay_releasing(struct cp_relay *r)
{
	struct cp_nat *n = r->n;

	if (nat_turn_tick(&r->t, n->now_ms) == NAT_TURN_RELEASING && n->now_ms < r->deadline_ms)
		return;
	n->relays_releasing--;
	n->relays[r->idx] = NULL;
	free(r);
}

static void cp_relay_step(struct cp_relay *r)
{
	struct cp_nat *n = r->n;
	enum nat_turn_state st;
	uint16_t channel;

	if (r->releasing) {
		cp_relay_releasing(r);
		return;
	}
	if (r->retry_ms != 0) { /* lost: waiting for the next Allocate */
		if (n->now_ms < r->retry_ms)
			return;
		r->retry_ms = 0;
		if (cp_relay_begin(r) != 0)
			cp_relay_lost(r);
		return;
	}
	st = nat_turn_tick(&r->t, n->now_ms);
	if (st == NAT_TURN_FAILED) {
		cp_relay_failed(r);
		return;
	}
	if (st != NAT_TURN_ALLOCATED && st != NAT_TURN_REFRESHING)
		return;
	if (!r->flow_added) {
		r->flow_added = true;
		r->allocated_ms = n->now_ms;
		cp_relay_flow(r, DP_CMD_FLOW_ADD);
		nat_turn_permit(&r->t, r->peer_ip, n->now_ms);
		nat_turn_bind_channel(&r->t, r->peer_ip, r->peer_port, n->now_ms);
	}
	channel = nat_turn_channel(&r->t, r->peer_ip, r->peer_port);
	if (channel != 0 && !r->channel_set) {
		r->channel_set = true;
		cp_relay_channel(r, channel);
	}
	if (r->channel_set || n->now_ms - r->allocated_ms > CP_RELAY_CHANNEL_WAIT_MS)
		cp_relay_report(r, true);
}

int cp_nat_relay_start(struct cp_nat *n, uint32_t local_ip, uint16_t local_port, uint32_t peer_ip,
		       uint16_t peer_port, cp_nat_relay_fn done, void *arg)
{
	struct cp_relay *r;
	unsigned i;

	for (i = 0; i < CP_NAT_RELAYS && n->relays[i] != NULL; i++)
		;
	if (i == CP_NAT_RELAYS || (r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	*r = (struct cp_relay){ .n = n, .idx = i, .local_ip = local_ip, .local_port = local_port,
				.peer_ip = peer_ip, .peer_port = peer_port, .done = done, .arg = arg };
	if (cp_relay_begin(r) != 0) {
		free(r);
		return -1;
	}
	n->relays[i] = r;
	n->relays_started++;
	return (int)i;
}

int cp_nat_relay_send(struct cp_nat *n, int handle, uint32_t peer_ip, uint16_t peer_port,
		      const uint8_t *msg, size_t len)
{
	struct cp_relay *r = handle >= 0 && handle < CP_NAT_RELAYS ? n->relays[handle] : NULL;
	struct nat_stun_addr peer = { .family = NAT_STUN_FAM_IPV4, .ip4 = peer_ip, .port = peer_port };
	uint8_t out[NAT_TURN_REQ_MAX];
	uint16_t channel;
	int k;

	if (r == NULL || !r->flow_added || r->releasing)
		return -1;
	if (nat_turn_permission(&r->t, peer_ip) == NAT_TURN_PEER_FREE &&
	    nat_turn_permit(&r->t, peer_ip, n->now_ms) != 0)
		return -1;
	channel = nat_turn_channel(&r->t, peer_ip, peer_port);
	k = channel ? nat_turn_wrap_channel(channel, msg, len, out, sizeof(out))
		    : nat_turn_wrap_send(&r->t, &peer, msg, len, out, sizeof(out));
	if (k < 0)
		return -1;
	cp_relay_send(r, cp_relay_server(r)->addr.ip, cp_relay_server(r)->addr.port, out, (size_t)k);
	return 0;
}

void cp_nat_relay_stop(struct cp_nat *n, int idx)
{
	struct cp_relay *r = idx >= 0 && idx < CP_NAT_RELAYS ? n->relays[idx] : NULL;

	if (r == NULL || r->releasing)
		return;
	cp_relay_unflow(r);
	r->releasing = true;
	n->relays_releasing++;
	r->retry_ms = 0;
	r->deadline_ms = n->now_ms + CP_RELAY_RELEASE_MS;
	nat_turn_release(&r->t, n->now_ms); /* retransmitted by nat_turn_tick */
}

bool cp_nat_relay_holds(const struct cp_nat *n, uint32_t local_ip, unsigned port)
{
	for (unsigned i = 0; i < CP_NAT_RELAYS && n->relays_releasing > 0; i++) {
		const struct cp_relay *r = n->relays[i];
		if (r != NULL && r->releasing && r->local_ip == local_ip &&
		    (r->local_port == port || r->local_port == port + 1))
			return true;
	}
	return false;
}

bool cp_nat_relay_input(struct cp_nat *n, uint32_t src_ip, uint16_t src_port, uint16_t dst_port,
			const uint8_t *msg, size_t len)
{
	for (unsigned i = 0; i < CP_NAT_RELAYS; i++) {
		struct cp_relay *r = n->relays[i];
		if (r != NULL && r->local_port == dst_port &&
		    cp_relay_server(r)->addr.ip == src_ip && cp_relay_server(r)->addr.port == src_port &&
		    nat_turn_input(&r->t, msg, len, n->now_ms) == 1)
			return true;
	}
	return false;
}

void cp_nat_relays_tick(struct cp_nat *n)
{
	for (unsigned i = 0; i < CP_NAT_RELAYS; i++)
		if (n->relays[i] != NULL)
			cp_relay_step(n->relays[i]);
}

bool cp_nat_relay_event(struct cp_nat *n, const struct dp_msg *m)
{
	uint32_t id = m->type == DP_EV_FLOW_STATS || m->type == DP_EV_FLOW_IDLE ? m->u.stats.flow_id
										   : m->u.result.flow_id;

	if (id < CP_NAT_RELAY_FLOW_BASE || id >= CP_NAT_RELAY_FLOW_BASE + CP_NAT_RELAYS)
		return false;
	if (m->type == DP_EV_FLOW_ADD_FAILED)
		LOG_ERR("nat: a worker refused a TURN relay flow (%d)", m->u.result.err);
	if (m->type == DP_EV_FLOW_STATS && m->u.stats.final) {
		n->relay_packets += m->u.stats.packets;
		n->relay_bytes += m->u.stats.bytes;
	}
	return true;
}

void cp_nat_relays_free(struct cp_nat *n)
{
	for (unsigned i = 0; i < CP_NAT_RELAYS; i++) {
		free(n->relays[i]);
		n->relays[i] = NULL;
	}
}
