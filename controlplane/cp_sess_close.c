/* SPDX-License-Identifier: BSD-3-Clause
 * The end of a session: its flows deleted on every worker, then its files finished
 * (metadata.xml, session.json) and its slot, media ports and recorder id given back.
 * Two things may still be out when the flows' answers are in, and neither holds the
 * files back: STUN port lookups of a call that ended before its answer (cp_nat gives no
 * way to stop them; their results come within the STUN timeout and change nothing), and
 * flow deletes that a worker did not take (its command ring full for cp_send's 5 s). Until
 * both are through the session lingers, done but not freed: a recorder id, flow ids or a
 * media port given to another call while the worker still has the dead call's flows would
 * put the dead call's packets in the new call's pcap. The deletes are sent again every
 * tick (cp_sess_flows_retry) without waiting for room. */
#include <stdlib.h>

#include "config/cfg_log.h"
#include "cp_session_priv.h"

void cp_sess_free(struct cp_ctx *cp, struct cp_session *s)
{
	struct cp_sessions *ss = cp->sess;

	cp_sess_release_relays(cp, s);
	cp_sess_ice_free(cp, s);
	cp_sess_undo_drop(s);
	for (unsigned i = 0; i < CP_SESS_STREAMS; i++) {
		if (i < s->n_streams && s->streams[i].port != 0)
			cp_portpool_put(&ss->ports[s->addr], s->streams[i].port);
		cp_sess_pauses_free(&s->streams[i]);
	}
	for (unsigned i = 0; i < s->n_md; i++)
		free(s->md_bodies[i]);
	free(s->call_id);
	free(s->from);
	free(s->to);
	free(s->src);
	ss->rec_used[s->rec_id - ss->rec_base] = 0;
	ss->slots[s->slot] = NULL;
	ss->active--;
	ss->finished -= s->files_done;
	free(s);
}

void cp_sess_closed(struct cp_ctx *cp, struct cp_session *s)
{
	if (!s->files_done) {
		cp_sess_files_finish(cp, s);
		LOG_INFO("session %s ended: %s", s->id, s->end_reason);
		s->files_done = true;
		cp->sess->finished++;
		if (s->lookups != 0 || s->del_blocked)
			LOG_WARN("session %s: held until %s", s->id,
				 s->del_blocked ? "a worker takes its flow deletes"
						: "its STUN port lookups end");
	}
	if (s->lookups == 0 && !s->del_blocked && s->acks_pending == 0)
		cp_sess_free(cp, s);
}

void cp_sess_end(struct cp_ctx *cp, struct cp_session *s, const char *reason)
{
	if (s->state == CP_SESS_CLOSING)
		return;
	snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
	s->end_ns = cp_sess_now_ns();
	for (unsigned i = 0; i < s->n_streams; i++) /* a pause lasts until the end */
		if (s->streams[i].paused && s->streams[i].n_pauses > 0)
			s->streams[i].pauses[2 * s->streams[i].n_pauses - 1] = s->end_ns;
	if (s->pending != NULL) {
		cp_sess_answer(cp, s->pending, 500, NULL, reason);
		s->pending = NULL;
	}
	if (s->dialog != NULL)
		cp_sip_dialog_set_data(s->dialog, NULL);
	s->dialog = NULL;
	s->state = CP_SESS_CLOSING;
	for (unsigned i = 0; i < s->n_streams; i++) {
		if (s->streams[i].in_use || s->streams[i].del_failed)
			cp_sess_flows_delete(cp, s, i);
		cp_sess_relay_forget(cp, s, &s->streams[i]); /* no wait for allocations */
	}
	/* nor for public ports: the answer they were for will not be sent */
	s->acks_pending -= s->lookups < s->acks_pending ? s->lookups : s->acks_pending;
	if (s->acks_pending == 0)
		cp_sess_flows_settled(cp, s);
}
