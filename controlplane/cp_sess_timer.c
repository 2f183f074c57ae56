/* SPDX-License-Identifier: BSD-3-Clause
 * Session timers (RFC 4028) for SIPREC dialogs: an INVITE (or re-INVITE/UPDATE) with
 * Session-Expires gets it back in the 200 with the refresher; one shorter than
 * sip.min_se gets 422 with Min-SE. When the SRC refreshes, a refresh that does not come
 * in time ends the call (BYE, "session timer expired"); when rtprec refreshes, it
 * re-INVITEs with its current SDP at half the interval. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfg_log.h"
#include "cp_session_priv.h"

/* "1800;refresher=uac" -> 1800 and the refresher (0 none, 'c' uac, 's' uas); -1 bad. */
static long cp_timer_parse(const char *v, char *refresher)
{
	char *end;
	long se = strtol(v, &end, 10);
	const char *r;

	*refresher = 0;
	if (end == v || se <= 0)
		return -1;
	if ((r = strcasestr(end, "refresher=")) != NULL)
		*refresher = strncasecmp(r + 10, "uas", 3) == 0 ? 's'
			   : strncasecmp(r + 10, "uac", 3) == 0 ? 'c' : 0;
	return se;
}

static bool cp_timer_supported(const char *list)
{
	return list != NULL && strcasestr(list, "timer") != NULL;
}

int cp_sess_timer_request(struct cp_ctx *cp, struct cp_session *s, const struct cp_sip_request *req,
			  char *min_se, size_t len)
{
	char refresher;
	long se;

	if (req->session_expires == NULL)
		return 0; /* no timer asked: as before (an existing one keeps running) */
	se = cp_timer_parse(req->session_expires, &refresher);
	if (se < 0)
		return 400;
	if (se < (long)cp->cfg->sip.min_se) {
		snprintf(min_se, len, "%u", cp->cfg->sip.min_se);
		return 422;
	}
	s->se_s = (unsigned)(se > 86400 ? 86400 : se);
	/* the UAC refreshes unless it asked us to, or cannot (no timer support) */
	s->se_we_refresh = refresher == 's' || (refresher == 0 && !cp_timer_supported(req->supported));
	s->se_require = !s->se_we_refresh;
	return 0;
}

void cp_sess_timer_answer(struct cp_session *s, struct cp_sip_response *r)
{
	if (s->se_s == 0)
		return;
	snprintf(s->se_hdr, sizeof(s->se_hdr), "%u;refresher=%s", s->se_s,
		 s->se_we_refresh ? "uas" : "uac");
	r->session_expires = s->se_hdr;
	r->require = s->se_require ? "timer" : NULL;
	s->se_refreshed_ms = cp_now_ms();
}

bool cp_sess_timer_tick(struct cp_ctx *cp, struct cp_session *s, uint64_t now)
{
	uint64_t interval = s->se_s * 1000ull;

	if (s->se_s == 0 || s->state != CP_SESS_ACTIVE || s->dialog == NULL)
		return false;
	if (s->se_we_refresh) {
		char sdp[8192];
		int n;

		if (now - s->se_refreshed_ms < interval / 2)
			return false;
		s->se_refreshed_ms = now;
		n = cp_sess_current_sdp(cp, s, sdp, sizeof(sdp));
		if (n > 0 && cp_sip_send_reinvite(s->dialog, sdp, (size_t)n) == 0)
			cp->sess->timer_refreshes++;
		return false;
	}
	/* RFC 4028 10: BYE at expiry minus the lesser of 32 s and a third of it */
	if (now - s->se_refreshed_ms < interval - (interval / 3 < 32000 ? interval / 3 : 32000))
		return false;
	LOG_INFO("session %s: no session refresh within %u s", s->id, s->se_s);
	cp->sess->timer_expired++;
	cp_sip_send_bye(s->dialog, "session timer expired");
	cp_sess_end(cp, s, "session timer expired");
	return true;
}
