/* SPDX-License-Identifier: BSD-3-Clause
 * A session's flows on every worker: RTP (and RTCP unless rtcp-mux) per
 * stream, any source (the first packet's source is latched), recorded into
 * the session's pcap unless the stream is paused. */
#include <string.h>

#include <rte_byteorder.h>

#include "config/cfg_log.h"
#include "cp_session_priv.h"

uint32_t cp_sess_flow_id(const struct cp_session *s, unsigned stream, int rtcp)
{
	return CP_SESS_FLOW_BASE + s->slot * CP_SESS_FLOWS_PER + stream * 2 + (rtcp ? 1 : 0);
}

static void cp_sess_key(const struct cp_ctx *cp, const struct cp_session *s,
			const struct cp_stream *st, int rtcp, struct dp_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dst_ip = rte_cpu_to_be_32(cp_sess_local_ip(cp->sess, s));
	k->dst_port = rte_cpu_to_be_16((uint16_t)(st->port + (rtcp ? 1 : 0)));
	if (st->strict_ip != 0) { /* media.strict_source: the SDP's address only */
		k->src_ip = rte_cpu_to_be_32(st->strict_ip);
		k->src_port = rte_cpu_to_be_16(rtcp && st->strict_rtcp_port ? st->strict_rtcp_port
						       : (uint16_t)(st->strict_port + (rtcp ? 1 : 0)));
	}
}

/* Send one message to every worker (wait: for room, cp_send's bound; else -1 at once when
 * a ring is full); each answers once. */
static int cp_sess_send_all(struct cp_ctx *cp, struct cp_session *s, const struct dp_msg *m,
			    bool wait)
{
	for (unsigned w = 0; w < dp_worker_count(cp->dp); w++) {
		if (wait ? cp_send(cp, w, m) != 0 : dp_msg_send(dp_cmd_ring(cp->dp, w), m) != 0) {
			if (wait)
				LOG_ERR("session %s: worker %u takes no commands", s->id, w);
			return -1;
		}
		s->acks_pending++;
	}
	return 0;
}

static int cp_sess_broadcast(struct cp_ctx *cp, struct cp_session *s, const struct dp_msg *m)
{
	return cp_sess_send_all(cp, s, m, true);
}

static int cp_sess_flow_set(struct cp_ctx *cp, struct cp_session *s, unsigned i, int rtcp,
			    uint16_t type)
{
	const struct cp_stream *st = &s->streams[i];
	struct dp_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	if (type == DP_CMD_FLOW_ADD && !rtcp && cp->cfg->media.strict_source && !st->ice_keyed) {
		s->streams[i].strict_ip = st->offer_ip;
		s->streams[i].strict_port = st->offer_port;
	}
	cp_sess_key(cp, s, st, rtcp, &m.u.spec.key);
	m.u.spec.flow_id = cp_sess_flow_id(s, i, rtcp);
	m.u.spec.rec_id = s->rec_id;
	m.u.spec.actions = st->paused ? 0 : DP_ACT_RECORD;
	m.u.spec.clock_rate = s->offer.streams[i].clock_rate; /* jitter in its units */
	if (!rtcp) {
		m.u.spec.flags = DP_FLOW_F_LATCH;
		m.u.spec.relatch_pkts = (uint16_t)cp->cfg->media.relatch_packets;
		m.u.spec.idle_s = (uint16_t)cp->cfg->media.timeout_s;
	}
	return cp_sess_broadcast(cp, s, &m);
}

static int cp_sess_stream_flows(struct cp_ctx *cp, struct cp_session *s, unsigned i, uint16_t type)
{
	if (cp_sess_flow_set(cp, s, i, 0, type) != 0)
		return -1;
	if (!s->streams[i].rtcp_mux && cp_sess_flow_set(cp, s, i, 1, type) != 0)
		return -1;
	return 0;
}

/* The first source of a stream, or a new one that replaced it (media.relatch_packets). */
static void cp_sess_latched(const struct cp_session *s, struct cp_stream *st, const struct dp_msg *m)
{
	uint32_t ip = rte_be_to_cpu_32(m->u.latch.src_ip);
	uint16_t port = rte_be_to_cpu_16(m->u.latch.src_port);

	st->idle = false;
	if (st->latched_ip == ip && st->latched_port == port)
		return; /* another worker saw the same */
	if (st->latched_ip == 0)
		st->first_ns = cp_sess_now_ns();
	else if (m->u.latch.relatched)
		st->relatches++;
	else
		return; /* a second worker's first packet from another source */
	LOG_INFO("session %s stream %s: media %sfrom %u.%u.%u.%u:%u", s->id, st->label,
		 st->latched_ip ? "now " : "", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
		 ip & 255, port);
	st->latched_ip = ip;
	st->latched_port = port;
}

int cp_sess_flows_add(struct cp_ctx *cp, struct cp_session *s, unsigned stream)
{
	return cp_sess_stream_flows(cp, s, stream, DP_CMD_FLOW_ADD);
}

int cp_sess_flows_program(struct cp_ctx *cp, struct cp_session *s, unsigned first_stream)
{
	for (unsigned i = first_stream; i < s->n_streams; i++)
		if (s->streams[i].in_use && cp_sess_flows_add(cp, s, i) != 0)
			return -1;
	return 0;
}

int cp_sess_flows_update(struct cp_ctx *cp, struct cp_session *s, unsigned stream)
{
	return cp_sess_stream_flows(cp, s, stream, DP_CMD_FLOW_UPDATE);
}

static int cp_sess_flow_del(struct cp_ctx *cp, struct cp_session *s, unsigned i, int rtcp,
			    bool wait)
{
	struct dp_msg m;

	memset(&m, 0, sizeof(m));
	m.type = DP_CMD_FLOW_DEL;
	cp_sess_key(cp, s, &s->streams[i], rtcp, &m.u.del.key);
	m.u.del.flow_id = cp_sess_flow_id(s, i, rtcp);
	return cp_sess_send_all(cp, s, &m, wait);
}

/* Both flows of a stream deleted on every worker (a worker that had it already answers
 * -ENOENT, which changes nothing); false when one did not take it. */
static bool cp_sess_stream_del(struct cp_ctx *cp, struct cp_session *s, unsigned i, bool wait)
{
	struct cp_stream *st = &s->streams[i];

	st->del_failed = cp_sess_flow_del(cp, s, i, 0, wait) != 0 ||
			 (!st->rtcp_mux && cp_sess_flow_del(cp, s, i, 1, wait) != 0);
	return !st->del_failed;
}

int cp_sess_flows_delete(struct cp_ctx *cp, struct cp_session *s, unsigned stream)
{
	if (s->del_blocked && s->state == CP_SESS_CLOSING) {
		s->streams[stream].del_failed = true; /* for the retry, no 5 s more */
		return -1;
	}
	if (cp_sess_stream_del(cp, s, stream, true))
		return 0;
	s->del_blocked = true;
	return -1;
}

void cp_sess_flows_retry(struct cp_ctx *cp, struct cp_session *s)
{
	bool left = false;

	for (unsigned i = 0; i < s->n_streams; i++)
		if (s->streams[i].del_failed && (left || !cp_sess_stream_del(cp, s, i, false)))
			left = s->streams[i].del_failed = true;
	s->del_blocked = left;
	if (!left)
		LOG_INFO("session %s: flow deletes taken at last", s->id);
}

int cp_sess_flows_rekey(struct cp_ctx *cp, struct cp_session *s, unsigned stream, uint32_t ip,
			uint16_t port, uint16_t rtcp_port)
{
	struct cp_stream *st = &s->streams[stream];

	if (cp_sess_flows_delete(cp, s, stream) != 0)
		return -1;
	st->strict_ip = ip;
	st->strict_port = port;
	st->strict_rtcp_port = rtcp_port;
	st->ice_keyed = true;
	return cp_sess_stream_flows(cp, s, stream, DP_CMD_FLOW_ADD);
}

static void cp_sess_stats(struct cp_stream *st, const struct dp_flow_stats *f)
{
	st->st.packets += f->packets;
	st->st.bytes += f->bytes;
	st->st.rtp_expected += f->rtp_expected;
	st->st.rtp_received += f->rtp_received;
	st->st.rtp_lost += f->rtp_lost;
	st->st.rtcp_packets += f->rtcp_packets;
	if (f->jitter > st->st.jitter)
		st->st.jitter = f->jitter;
	if (f->last_tsc > st->st.last_tsc)
		st->st.last_tsc = f->last_tsc;
}

static uint32_t cp_sess_event_flow(const struct dp_msg *m)
{
	switch (m->type) {
	case DP_EV_FLOW_STATS:
	case DP_EV_FLOW_IDLE:
		return m->u.stats.flow_id;
	case DP_EV_FLOW_LATCHED:
		return m->u.latch.flow_id;
	case DP_EV_FLOW_ADDED:
	case DP_EV_FLOW_ADD_FAILED:
	case DP_EV_FLOW_DELETED:
	case DP_EV_FLOW_ACTIVE:
		return m->u.result.flow_id;
	default:
		return 0;
	}
}

bool cp_sessions_event(struct cp_ctx *cp, const struct dp_msg *m)
{
	struct cp_sessions *ss = cp->sess;
	uint32_t id = cp_sess_event_flow(m), k, slot;
	struct cp_session *s;
	struct cp_stream *st;
	bool gone;

	if (ss == NULL || id < CP_SESS_FLOW_BASE)
		return false;
	slot = (id - CP_SESS_FLOW_BASE) / CP_SESS_FLOWS_PER;
	k = (id - CP_SESS_FLOW_BASE) % CP_SESS_FLOWS_PER;
	if (slot >= ss->max || (s = ss->slots[slot]) == NULL || k / 2 >= CP_SESS_STREAMS)
		return true; /* a session already gone */
	st = &s->streams[k / 2];
	gone = k / 2 >= s->n_streams; /* a stream of a cancelled re-INVITE (cp_sess_undo.c) */
	switch (m->type) {
	case DP_EV_FLOW_ADD_FAILED:
		s->add_failed = s->add_failed || !gone;
		__attribute__((fallthrough));
	case DP_EV_FLOW_ADDED:
	case DP_EV_FLOW_DELETED:
		if (s->acks_pending > 0 && --s->acks_pending == 0)
			cp_sess_flows_settled(cp, s);
		return true;
	default:
		break;
	}
	if (gone)
		return true;
	switch (m->type) {
	case DP_EV_FLOW_STATS:
		if (m->u.stats.final && !(k & 1))
			cp_sess_stats(st, &m->u.stats);
		if (m->u.stats.final)
			st->st.record_drops += m->u.stats.record_drops;
		break;
	case DP_EV_FLOW_LATCHED:
		cp_sess_latched(s, st, m);
		break;
	case DP_EV_FLOW_IDLE:
		if (!(k & 1))
			st->idle = true;
		break;
	case DP_EV_FLOW_ACTIVE:
		if (!(k & 1))
			st->idle = false;
		break;
	default:
		break;
	}
	return true;
}
