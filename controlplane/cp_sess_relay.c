/* SPDX-License-Identifier: BSD-3-Clause
 * A call's TURN relays (nat.relay): one allocation per media port, RTP and RTCP (without
 * rtcp-mux) each with its own, possibly on different nat.turn servers and relayed
 * addresses. A stream is relayed with both or with neither: when one of the pair fails,
 * the other is released and the answer carries our own address. A relay that was lost
 * during the call and made again elsewhere reports its new address: the stream takes it
 * and the call is offered it in a re-INVITE, its ICE agent's relayed candidate moved
 * to it. Streams whose addresses differ get a c= line each in the answer. */
#include <stdio.h>
#include <string.h>

#include "config/cfg_log.h"
#include "cp_session_priv.h"

/* Which relay of st serves local_port: 0 (RTP), 1 (RTCP), -1: neither. */
static int cp_relay_comp(const struct cp_stream *st, uint16_t local_port)
{
	if (!st->in_use || !st->relayed)
		return -1;
	if (st->port == local_port)
		return 0;
	return !st->rtcp_mux && (uint16_t)(st->port + 1) == local_port ? 1 : -1;
}

static uint8_t cp_relay_need(const struct cp_stream *st)
{
	return st->rtcp_mux ? 1 : 3;
}

static void cp_relay_stop_stream(struct cp_ctx *cp, struct cp_stream *st)
{
	for (unsigned k = 0; k < 2; k++)
		if (st->relay[k] >= 0) {
			cp_nat_relay_stop(cp->nat, st->relay[k]);
			st->relay[k] = -1;
		}
}

/* Neither relay: the answer carries our own address. */
static void cp_relay_drop(struct cp_ctx *cp, struct cp_stream *st)
{
	cp_relay_stop_stream(cp, st);
	st->relay_ip = st->relay_rtcp_ip = 0;
	st->relay_port = st->relay_rtcp_port = 0;
	st->relay_failed = true;
}

/* Both results are in: relay the stream only when every allocation it needs worked. */
static void cp_relay_settle(struct cp_ctx *cp, const struct cp_session *s, struct cp_stream *st)
{
	bool rtp = st->relay_ip != 0 && st->relay_port != 0;
	bool rtcp = st->rtcp_mux || (st->relay_rtcp_ip != 0 && st->relay_rtcp_port != 0);

	if (rtp && rtcp)
		return;
	if (rtp || (!st->rtcp_mux && st->relay_rtcp_ip != 0))
		LOG_WARN("session %s stream %s: the TURN allocation of %s failed: %s released too",
			 s->id, st->label, rtp ? "RTCP" : "RTP", rtp ? "RTP's" : "RTCP's");
	cp_relay_drop(cp, st);
}

/* Take a result for relay k of st; true when it is a new address for a settled stream. */
static bool cp_relay_take(struct cp_stream *st, int k, uint32_t ip, uint16_t port)
{
	uint32_t *ipp = k == 0 ? &st->relay_ip : &st->relay_rtcp_ip;
	uint16_t *portp = k == 0 ? &st->relay_port : &st->relay_rtcp_port;
	bool settled = st->relay_got == cp_relay_need(st);
	bool changed = *ipp != ip || *portp != port;

	if (settled && (ip == 0 || st->relay_failed))
		return false;
	*ipp = ip;
	*portp = port;
	st->relay_got |= (uint8_t)(1u << k);
	return settled && changed;
}

void cp_sess_relay_result(struct cp_ctx *cp, struct cp_session *s, uint16_t local_port,
			  uint32_t ip, uint16_t port)
{
	for (unsigned i = 0; i < s->n_streams; i++) {
		struct cp_stream *st = &s->streams[i];
		int k = cp_relay_comp(st, local_port);
		bool settled = k >= 0 && st->relay_got == cp_relay_need(st);

		if (k < 0)
			continue;
		if (settled) { /* made again during the call: ICE and the SRC learn it */
			if (!cp_relay_take(st, k, ip, port))
				return;
			cp_sess_ice_relay_moved(cp, s, i);
			if (cp_sess_reoffer(cp, s))
				LOG_INFO("session %s: re-offered with a new TURN relayed address",
					 s->id);
			return;
		}
		cp_relay_take(st, k, ip, port);
		if (st->relay_got == cp_relay_need(st))
			cp_relay_settle(cp, s, st);
		break;
	}
	if (s->acks_pending > 0 && --s->acks_pending == 0)
		cp_sess_flows_settled(cp, s);
}

static void cp_relay_done(void *arg, uint16_t local_port, uint32_t ip, uint16_t port)
{
	struct cp_session *s = arg;

	cp_sess_relay_result(s->cp, s, local_port, ip, port);
}

unsigned cp_sess_relay_ports(struct cp_ctx *cp, struct cp_session *s)
{
	uint32_t local = cp_sess_local_ip(cp->sess, s);
	unsigned started = 0;

	for (unsigned i = 0; i < s->n_streams; i++) {
		struct cp_stream *st = &s->streams[i];
		if (!st->in_use || st->port == 0 || st->port_mapped)
			continue;
		st->port_mapped = true;
		st->relayed = true;
		st->relay_got = 0;
		st->relay[1] = -1;
		st->relay[0] = cp_nat_relay_start(cp->nat, local, st->port, st->offer_ip,
						  st->offer_port, cp_relay_done, s);
		if (st->relay[0] >= 0 && !st->rtcp_mux)
			st->relay[1] = cp_nat_relay_start(cp->nat, local, (uint16_t)(st->port + 1),
							  st->offer_ip, (uint16_t)(st->offer_port + 1),
							  cp_relay_done, s);
		if (st->relay[0] < 0 || (!st->rtcp_mux && st->relay[1] < 0)) {
			LOG_WARN("session %s stream %s: no TURN relay could be started", s->id,
				 st->label);
			cp_relay_drop(cp, st); /* both or neither */
			continue;
		}
		started += st->rtcp_mux ? 1 : 2;
	}
	return started;
}

static int cp_relay_port_busy(unsigned port, void *arg)
{
	const struct cp_session *s = arg;
	const struct cp_ctx *cp = s->cp;

	return cp->nat != NULL && cp_nat_relay_holds(cp->nat, cp_sess_local_ip(cp->sess, s), port);
}

uint16_t cp_sess_port_take(struct cp_ctx *cp, struct cp_session *s)
{
	return cp_portpool_get_if(&cp->sess->ports[s->addr], cp_relay_port_busy, s);
}

void cp_sess_relay_forget(struct cp_ctx *cp, struct cp_session *s, struct cp_stream *st)
{
	unsigned waited = 0;

	if (!st->relayed)
		return;
	for (unsigned k = 0; k < 2; k++)
		if (st->relay[k] >= 0 && (k == 0 || !st->rtcp_mux) && !(st->relay_got & (1u << k)))
			waited++;
	cp_relay_stop_stream(cp, st);
	s->acks_pending -= waited < s->acks_pending ? waited : s->acks_pending;
}

void cp_sess_release_relays(struct cp_ctx *cp, struct cp_session *s)
{
	for (unsigned i = 0; i < s->n_streams; i++)
		if (s->streams[i].relayed)
			cp_relay_stop_stream(cp, &s->streams[i]);
}

/* " IN IP4 a.b.c.d" after the a=rtcp: line of [from, to), or a whole line at to. */
static int cp_relay_rtcp_line(char *sdp, size_t cap, int len, size_t from, size_t to,
			      const struct cp_stream *st)
{
	uint32_t a = st->relay_rtcp_ip;
	char text[64];
	int n;

	for (size_t p = from; p + 7 < to; p++) {
		const char *eol;
		if ((p != from && sdp[p - 1] != '\n') || strncmp(sdp + p, "a=rtcp:", 7) != 0)
			continue;
		eol = memchr(sdp + p, '\r', to - p);
		n = snprintf(text, sizeof(text), " IN IP4 %u.%u.%u.%u", a >> 24, (a >> 16) & 255,
			     (a >> 8) & 255, a & 255);
		return cp_sess_sdp_insert(sdp, cap, len, eol ? (size_t)(eol - sdp) : to, text, n);
	}
	n = snprintf(text, sizeof(text), "a=rtcp:%u IN IP4 %u.%u.%u.%u\r\n", st->relay_rtcp_port,
		     a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return cp_sess_sdp_insert(sdp, cap, len, to, text, n);
}

/* c=IN IP4 a after the m= line that starts at from. */
static int cp_relay_conn_line(char *sdp, size_t cap, int len, size_t from, uint32_t a)
{
	const char *eol = memchr(sdp + from, '\n', (size_t)len - from);
	char text[40];
	int n = snprintf(text, sizeof(text), "c=IN IP4 %u.%u.%u.%u\r\n", a >> 24, (a >> 16) & 255,
			 (a >> 8) & 255, a & 255);

	return cp_sess_sdp_insert(sdp, cap, len, eol ? (size_t)(eol - sdp) + 1 : (size_t)len, text,
				  n);
}

/* Do the streams in use have different addresses (relays on different servers, or one
 * relayed and one not)? */
static bool cp_relay_conn_differ(const struct cp_session *s, const uint32_t *conn)
{
	int first = -1;

	for (unsigned i = 0; i < s->offer.n_streams; i++) {
		if (!s->streams[i].in_use)
			continue;
		if (first < 0)
			first = (int)i;
		else if (conn[i] != conn[first])
			return true;
	}
	return false;
}

int cp_sess_relay_answer(const struct cp_session *s, uint32_t sess_ip, const uint32_t *conn,
			 char *sdp, size_t cap, int len)
{
	bool own_c = cp_relay_conn_differ(s, conn); /* RFC 4566 5.7: media-level c= lines */

	/* from the last m= section back, so earlier offsets stay valid */
	for (int i = (int)s->offer.n_streams - 1; i >= 0 && len >= 0; i--) {
		const struct cp_stream *st = &s->streams[i];
		size_t from = cp_sess_sdp_section_end(sdp, (size_t)len, i - 1);

		if (st->in_use && !st->rtcp_mux && st->relay_ip != 0 && st->relay_rtcp_ip != 0 &&
		    st->relay_rtcp_ip != conn[i])
			len = cp_relay_rtcp_line(sdp, cap, len, from,
						 cp_sess_sdp_section_end(sdp, (size_t)len, i), st);
		if (own_c && len >= 0)
			len = cp_relay_conn_line(sdp, cap, len, from, st->in_use ? conn[i] : sess_ip);
	}
	return len;
}
