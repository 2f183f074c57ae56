/* SPDX-License-Identifier: BSD-3-Clause
 * Paused streams as SRCs signal them (RFC 7866 hold and vendor styles): a=inactive,
 * a=recvonly (the SRC will not send), or the old c=IN IP4 0.0.0.0 hold. Each pause is
 * kept as an interval of wall-clock time so session.json (and exports) show the gap. */
#include <stdlib.h>

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
