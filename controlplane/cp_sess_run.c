/* SPDX-License-Identifier: BSD-3-Clause
 * Sessions over time: a new external address re-offered to active calls, the
 * tick (keepalives, session timers, media timeouts), shutdown, the stats line.
 * Admission, offers and answers are in cp_session.c. */
#include <stdio.h>
#include <unistd.h>

#include "config/cfg_log.h"
#include "cp_session_priv.h"

bool cp_sess_reoffer(struct cp_ctx *cp, struct cp_session *s)
{
	char sdp[8192];
	int len;

	if (s->state != CP_SESS_ACTIVE || s->dialog == NULL)
		return false; /* an answer still to come carries the new addresses */
	len = cp_sess_current_sdp(cp, s, sdp, sizeof(sdp));
	if (len <= 0 || cp_sip_send_reinvite(s->dialog, sdp, (size_t)len) != 0)
		return false;
	cp->sess->reoffers++;
	return true;
}

void cp_sess_set_external(struct cp_ctx *cp, uint32_t ip)
{
	struct cp_sessions *ss = cp->sess;
	unsigned n = 0;

	if (ss->external_ip == ip)
		return;
	ss->external_ip = ip;
	if (!cp->cfg->nat.reinvite_on_change)
		return;
	/* nat.reinvite_on_change: active calls get the new address in a new offer */
	for (uint32_t i = 0; i < ss->max; i++)
		if (ss->slots[i] != NULL && cp_sess_reoffer(cp, ss->slots[i]))
			n++;
	if (n != 0)
		LOG_INFO("nat: %u active calls re-offered with the new address", n);
}

void cp_sess_stream_expect(struct cp_stream *st)
{
	st->expect_ms = cp_now_ms();
}

/* A stream due to send that has sent nothing for media.timeout_s: none since it was
 * added (its flow never reports idle without a first packet), or none since its flow
 * went idle, counted from when it was last added, resumed or moved (an idle report from
 * before a resume is stale). */
static bool cp_sess_stream_silent(const struct cp_stream *st, uint64_t now, uint64_t timeout)
{
	return now - st->expect_ms >= timeout && (st->idle || st->latched_ip == 0);
}

/* No RTP on any stream that is not paused for media.timeout_s: BYE. */
static bool cp_sess_timed_out(const struct cp_ctx *cp, const struct cp_session *s, uint64_t now)
{
	uint64_t timeout = cp->cfg->media.timeout_s * 1000ull;
	unsigned live = 0, silent = 0;

	for (unsigned i = 0; i < s->n_streams; i++) {
		const struct cp_stream *st = &s->streams[i];
		if (!st->in_use || st->paused)
			continue;
		live++;
		silent += cp_sess_stream_silent(st, now, timeout);
	}
	return live != 0 && silent == live;
}

void cp_sessions_tick(struct cp_ctx *cp)
{
	struct cp_sessions *ss = cp->sess;
	uint64_t now = cp_now_ms();

	if (ss == NULL)
		return;
	for (uint32_t i = 0; i < ss->max && ss->active; i++) {
		struct cp_session *s = ss->slots[i];
		if (s != NULL && s->state == CP_SESS_CLOSING && s->del_blocked)
			cp_sess_flows_retry(cp, s);
		if (s == NULL || s->state != CP_SESS_ACTIVE)
			continue;
		if (s->next_ka_ms != 0 && now >= s->next_ka_ms)
			cp_sess_keepalive(cp, s, now);
		if (cp_sess_timer_tick(cp, s, now))
			continue;
		if (cp->cfg->media.timeout_s == 0 || !cp_sess_timed_out(cp, s, now))
			continue;
		LOG_INFO("session %s: no media for %u s", s->id, cp->cfg->media.timeout_s);
		if (s->dialog != NULL)
			cp_sip_send_bye(s->dialog, "media timeout");
		cp_sess_end(cp, s, "media timeout");
	}
}

void cp_sessions_shutdown(struct cp_ctx *cp, unsigned timeout_ms)
{
	struct cp_sessions *ss = cp->sess;
	uint64_t deadline = cp_now_ms() + timeout_ms;

	if (ss == NULL)
		return;
	for (uint32_t i = 0; i < ss->max && ss->active; i++) {
		struct cp_session *s = ss->slots[i];
		if (s == NULL || s->state == CP_SESS_CLOSING)
			continue;
		/* a call not answered yet (its flows, relays or public ports still coming): 503
		 * with Retry-After, which an SRC or its proxy takes as "try another SRS now"
		 * (RFC 3261 21.5.4) rather than a failure; its folder still gets session.json */
		if (s->state == CP_SESS_STARTING && s->pending != NULL) {
			cp_sess_answer(cp, s->pending, 503, "Shutting Down", "shutting down");
			s->pending = NULL;
		}
		if (s->dialog != NULL)
			cp_sip_send_bye(s->dialog, "shutdown");
		cp_sess_end(cp, s, "shutdown");
	}
	/* until every session's files are done (some may be held: cp_sess_close.c) */
	while (ss->active > ss->finished && cp_now_ms() < deadline) {
		cp_poll(cp);
		usleep(200);
	}
}

void cp_sessions_print(const struct cp_ctx *cp, FILE *out)
{
	const struct cp_sessions *ss = cp->sess;
	bool first = true;
	unsigned free_ports = 0;

	if (ss == NULL)
		return;
	for (unsigned a = 0; a < ss->n_addr; a++)
		free_ports += ss->ports[a].n_free;
	fprintf(out,
		"{\"event\":\"stats\",\"type\":\"sessions\",\"active\":%u,\"total\":%llu,"
		"\"free_media_ports\":%u,\"keepalives\":%llu,\"reoffers\":%llu,"
		"\"timer_refreshes\":%llu,\"timer_expired\":%llu,\"refused\":{",
		ss->active - ss->finished, (unsigned long long)ss->total, free_ports,
		(unsigned long long)ss->keepalives, (unsigned long long)ss->reoffers,
		(unsigned long long)ss->timer_refreshes, (unsigned long long)ss->timer_expired);
	for (unsigned code = 0; code < sizeof(ss->refused) / sizeof(ss->refused[0]); code++) {
		if (ss->refused[code] == 0)
			continue;
		fprintf(out, "%s\"%u\":%llu", first ? "" : ",", code,
			(unsigned long long)ss->refused[code]);
		first = false;
	}
	fputs("}}\n", out);
}
