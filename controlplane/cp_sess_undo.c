/* SPDX-License-Identifier: BSD-3-Clause
 * A re-INVITE cancelled while it waits for its answer (its new streams' TURN relays or
 * public ports, or the workers' flow acks): the SIP layer answers 487 and the offer/answer
 * from before stands (RFC 3261 9.2, 14.1), so the session goes back to it. While a
 * re-INVITE is at work the session keeps the previous offer and what the new one may change
 * in the streams it had (allocated for the re-INVITE only, freed with its answer). On the
 * CANCEL: the new streams are given back (flows deleted, TURN relays released, ports back
 * to the pool, which skips a port while its relay's release is unconfirmed), ICE offers
 * kept for the answer dropped; streams the offer removed are added again, those it added
 * back removed again, pauses, resumes
 * and moves put back (a pause undone stays in session.json as the short interval it was);
 * the session timer is as before. Results still on their way (flow acks, STUN port
 * lookups) reach an active session and change nothing; the released relays' results never
 * come and are not waited for. The rs-metadata the re-INVITE carried stays: it was
 * received (metadata.xml keeps it with its time), it describes the call, not the media
 * offer, and an SRC that sends it again changes nothing by that (merged by id, or
 * replaced by a complete snapshot). */
#include <stdlib.h>
#include <string.h>

#include "config/cfg_log.h"
#include "cp_session_priv.h"

struct cp_sess_undo {
	struct cp_sdp_offer offer;
	unsigned n_streams;
	unsigned se_s;
	bool se_we_refresh;
	bool se_require;
	bool add_failed;
	struct {
		bool in_use;
		bool paused;
		uint32_t offer_ip;
		uint16_t offer_port;
	} st[CP_SESS_STREAMS];
};

int cp_sess_undo_keep(struct cp_session *s)
{
	struct cp_sess_undo *u = s->undo != NULL ? s->undo : malloc(sizeof(*u));

	if (u == NULL)
		return -1;
	u->offer = s->offer;
	u->n_streams = s->n_streams;
	u->se_s = s->se_s;
	u->se_we_refresh = s->se_we_refresh;
	u->se_require = s->se_require;
	u->add_failed = s->add_failed;
	for (unsigned i = 0; i < s->n_streams; i++) {
		u->st[i].in_use = s->streams[i].in_use;
		u->st[i].paused = s->streams[i].paused;
		u->st[i].offer_ip = s->streams[i].offer_ip;
		u->st[i].offer_port = s->streams[i].offer_port;
	}
	s->undo = u;
	return 0;
}

void cp_sess_undo_drop(struct cp_session *s)
{
	free(s->undo);
	s->undo = NULL;
}

/* Stream i (>= the count before the offer) given back as if never taken. */
static void cp_undo_new_stream(struct cp_ctx *cp, struct cp_session *s, unsigned i)
{
	struct cp_stream *st = &s->streams[i];

	if (st->in_use)
		cp_sess_flows_delete(cp, s, i);
	cp_sess_relay_forget(cp, s, st);
	if (st->port != 0)
		cp_portpool_put(&cp->sess->ports[s->addr], st->port);
	cp_sess_pauses_free(st);
	memset(st, 0, sizeof(*st));
}

/* Stream i of those before the offer as it was: removed again when the offer added it
 * back, added again when the offer removed it,
 * updated when it paused, resumed or moved it. */
static void cp_undo_old_stream(struct cp_ctx *cp, struct cp_session *s, unsigned i)
{
	const struct cp_sess_undo *u = s->undo;
	struct cp_stream *st = &s->streams[i];
	bool changed = st->paused != u->st[i].paused || st->offer_ip != u->st[i].offer_ip ||
		       st->offer_port != u->st[i].offer_port;

	if (!u->st[i].in_use && st->in_use) { /* its port (and relays) held until the end */
		cp_sess_flows_delete(cp, s, i);
		st->in_use = false;
		return;
	}
	if (!u->st[i].in_use || (st->in_use && !changed))
		return;
	cp_sess_set_paused(st, u->st[i].paused, cp_sess_now_ns());
	st->offer_ip = u->st[i].offer_ip;
	st->offer_port = u->st[i].offer_port;
	if (st->in_use) {
		cp_sess_flows_update(cp, s, i);
		return;
	}
	st->in_use = true;
	cp_sess_flows_add(cp, s, i);
}

void cp_sess_reinvite_cancel(void *ctx, struct cp_sip_pending *p)
{
	struct cp_ctx *cp = ctx;
	struct cp_session *s = cp_sip_pending_data(p);
	struct cp_sess_undo *u;

	if (s == NULL || s->pending != p)
		return;
	cfg_log_context(s->id);
	s->pending = NULL; /* the SIP layer answered 487 */
	s->answer_bare = false;
	s->state = CP_SESS_ACTIVE;
	if ((u = s->undo) != NULL) {
		cp_sess_ice_rollback(cp, s, u->n_streams); /* before the ports go */
		for (unsigned i = u->n_streams; i < s->n_streams; i++)
			cp_undo_new_stream(cp, s, i);
		s->offer = u->offer; /* the flows below take their clock rate from it */
		s->n_streams = u->n_streams;
		for (unsigned i = 0; i < s->n_streams; i++)
			cp_undo_old_stream(cp, s, i);
		s->se_s = u->se_s;
		s->se_we_refresh = u->se_we_refresh;
		s->se_require = u->se_require;
		s->add_failed = u->add_failed;
		cp_sess_undo_drop(s);
	}
	LOG_INFO("session %s: re-INVITE cancelled: back to the offer before it, %u stream(s)", s->id,
		 s->n_streams);
	cfg_log_context(NULL);
}
