/* SPDX-License-Identifier: BSD-3-Clause
 * Paused streams as SRCs signal them (RFC 7866 hold and vendor styles): a=inactive,
 * a=recvonly (the SRC will not send), or the old c=IN IP4 0.0.0.0 hold. Each pause is
 * kept as an interval of wall-clock time so session.json (and exports) show the gap. An
 * m= line a re-offer gives a port again after port 0 (RFC 3264 8.1: a removed stream
 * back, or a slot reused) is recorded again. */
#include <stdlib.h>
#include <string.h>

#include "config/cfg_log.h"
#include "cp_session_priv.h"

bool cp_sess_offer_paused(const struct cp_sdp_stream *o)
{
	return o->dir == CP_SDP_INACTIVE || o->dir == CP_SDP_RECVONLY || o->ip == 0;
}

void cp_sess_set_paused(struct cp_stream *st, bool paused, uint64_t now_ns)
{
	if (paused == st->paused)
		return;
	st->paused = paused;
	if (!paused) {
		cp_sess_stream_expect(st); /* media.timeout_s counts from the resume */
		if (st->n_pauses > 0)
			st->pauses[2 * st->n_pauses - 1] = now_ns;
		return;
	}
	if (st->n_pauses == CP_SESS_MAX_PAUSES) {
		/* bounded: the last interval stretches over this pause too */
		st->pauses[2 * st->n_pauses - 1] = 0;
		return;
	}
	if (st->n_pauses % 8 == 0) {
		uint64_t *p = realloc(st->pauses, sizeof(*p) * 2 * (st->n_pauses + 8));
		if (p == NULL)
			return;
		st->pauses = p;
	}
	st->pauses[2 * st->n_pauses] = now_ns;
	st->pauses[2 * st->n_pauses + 1] = 0;
	st->n_pauses++;
}

void cp_sess_pauses_free(struct cp_stream *st)
{
	free(st->pauses);
	st->pauses = NULL;
	st->n_pauses = 0;
}

bool cp_sess_offer_usable(const struct cp_ctx *cp, const struct cp_sdp_stream *o)
{
	/* a disabled m= line, not RTP over UDP (DTLS-SRTP would need a=fingerprint and a
	 * handshake, RFC 5763; TCP media the dataplane does not take), or a media type
	 * media.kinds leaves out: port 0 (RFC 3264 6) */
	if (o->port == 0 || !cp_sdp_is_rtp(o->proto) ||
	    !cfg_media_kind_ok(&cp->cfg->media, o->media))
		return false;
	/* SRTP without an acceptable a=crypto: port 0 (RFC 4568 7.1.2) */
	return !(cp_sdp_is_savp(o->proto) && o->crypto.suite == CP_SDP_SUITE_NONE);
}

void cp_sess_stream_offer(struct cp_stream *st, const struct cp_sdp_stream *o)
{
	_Static_assert(sizeof(st->label) == sizeof(o->label) &&
			       sizeof(st->media) == sizeof(o->media) &&
			       sizeof(st->fmts) == sizeof(o->fmts),
		       "stream fields mirror the SDP's");
	memcpy(st->label, o->label, sizeof(st->label));
	memcpy(st->media, o->media, sizeof(st->media));
	if (st->port == 0) /* else the same stream back (reenabled): its formats kept */
		memcpy(st->fmts, o->fmts, sizeof(st->fmts));
	else
		cp_sess_stream_history(st, o);
	st->offer_ip = o->ip;
	st->offer_port = o->port;
	st->rtcp_mux = o->rtcp_mux != 0;
}

void cp_sess_stream_reenable(struct cp_ctx *cp, struct cp_session *s, unsigned i)
{
	const struct cp_sdp_stream *o = &s->offer.streams[i];
	struct cp_stream *st = &s->streams[i];

	if (!cp_sess_offer_usable(cp, o))
		return;
	if (st->port != 0 && strcmp(st->label, o->label) != 0) {
		/* session.json has one record per m= line: the old stream's stays */
		LOG_WARN("session %s: m= line %u taken by another stream (label %s, was %s): "
			 "answered with port 0", s->id, i, o->label, st->label);
		return;
	}
	if (st->port == 0 && (st->port = cp_sess_port_take(cp, s)) == 0) {
		LOG_WARN("session %s: m= line %u: no free media port: answered with port 0", s->id,
			 i);
		return;
	}
	cp_sess_stream_offer(st, o);
	cp_sess_stream_expect(st);
	cp_sess_set_paused(st, cp_sess_offer_paused(o), cp_sess_now_ns());
	st->in_use = true;
	cp_sess_flows_add(cp, s, i);
}
