/* SPDX-License-Identifier: BSD-3-Clause
 * SIPREC sessions: new INVITEs checked and refused clearly, or answered once
 * their flows are on every worker; re-INVITE/UPDATE add, remove, pause and
 * resume streams; BYE, CANCEL, media timeout and shutdown end them. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "config/cfg_log.h"
#include "controlplane/siprec/cp_multipart.h"
#include "cp_sess_body.h"
#include "cp_session_priv.h"

uint64_t cp_sess_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t cp_sess_tsc_ns(const struct cp_sessions *ss, uint64_t tsc)
{
	if (tsc == 0)
		return 0;
	return ss->ns_base + (uint64_t)(((__int128)tsc - (__int128)ss->tsc_base) * 1000000000 /
					(__int128)ss->tsc_hz);
}

void cp_sess_answer(struct cp_ctx *cp, struct cp_sip_pending *p, int status, const char *reason,
		    const char *why)
{
	struct cp_sip_response r;
	char warn[300];

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.reason = reason;
	if (why != NULL) {
		snprintf(warn, sizeof(warn), "399 rtprec \"%s\"", why);
		r.warning = warn;
	}
	if (status == 503)
		r.retry_after = 5;
	if (status >= 300 && status < 700)
		cp->sess->refused[status]++;
	cp_sip_answer(p, &r, NULL);
}

/* 406 (RFC 3261 21.4.7): the request's Accept excludes application/sdp, the body
 * every answer to an offer or INVITE carries. */
static void cp_sess_refuse_accept(struct cp_ctx *cp, struct cp_sip_pending *p)
{
	cp_sess_answer(cp, p, 406, NULL, "Accept excludes application/sdp, the only answer body");
}

/* The port the SDP answer gives for our port: behind a 1:1 port-forwarding NAT
 * (nat.external_port_min) the public one. */
static uint16_t cp_sess_answer_port(const struct cp_ctx *cp, uint16_t port)
{
	unsigned ext = cp->cfg->nat.external_port_min;

	if (ext == 0 || cp->sess->external_ip == 0)
		return port;
	return (uint16_t)(port - cp->cfg->media.port_min + ext);
}

/* Our SDP for the session's current streams (a new version): its length, or -1. Each
 * relayed stream's media goes to its own relay: when the streams' addresses differ, every
 * m= section gets its own c= line (cp_sess_relay_answer). */
int cp_sess_current_sdp(struct cp_ctx *cp, struct cp_session *s, char *sdp, size_t len)
{
	uint16_t ports[CP_SDP_MAX_STREAMS];
	enum cp_sdp_dir dirs[CP_SDP_MAX_STREAMS];
	uint16_t rtcp[CP_SDP_MAX_STREAMS];
	uint32_t conn[CP_SDP_MAX_STREAMS];
	uint32_t ans = cp_sess_answer_ip(cp->sess, s), ip = ans;
	int n;

	for (unsigned i = 0; i < s->offer.n_streams; i++) {
		const struct cp_stream *st = &s->streams[i];
		bool ext = st->ext_port != 0 && cp->sess->external_ip != 0;
		ports[i] = !st->in_use ? 0 : ext ? st->ext_port : cp_sess_answer_port(cp, st->port);
		rtcp[i] = ext ? st->ext_rtcp_port : 0;
		dirs[i] = st->paused ? CP_SDP_INACTIVE : CP_SDP_RECVONLY;
		conn[i] = ans;
		if (st->in_use && st->relay_ip != 0) { /* through its TURN relay */
			ip = conn[i] = st->relay_ip;
			ports[i] = st->relay_port;
			rtcp[i] = st->relay_rtcp_port;
		}
	}
	n = cp_sdp_build_answer_nat(&s->offer, ip, ports, rtcp, dirs, s->slot + 1000,
				    ++s->sdp_version, sdp, len);
	n = cp_sess_relay_answer(s, ip, conn, sdp, len, n);
	return cp_sess_ice_answer(cp, s, conn, ports, rtcp, sdp, len, n);
}

/* 200 with the SDP answer for the session's current streams. */
static void cp_sess_answer_sdp(struct cp_ctx *cp, struct cp_session *s)
{
	char sdp[8192];
	struct cp_sip_response r;
	int n;

	cp_sess_files_srtp(cp, s);
	n = s->answer_bare ? 0 : cp_sess_current_sdp(cp, s, sdp, sizeof(sdp));
	if (n < 0) {
		cp_sess_answer(cp, s->pending, 500, NULL, "SDP answer too large");
		s->pending = NULL;
		cp_sess_end(cp, s, "answer failed");
		return;
	}
	memset(&r, 0, sizeof(r));
	r.status = 200;
	if (!s->answer_bare) { /* an UPDATE without an offer gets no SDP (RFC 3311) */
		r.content_type = "application/sdp";
		r.body = sdp;
		r.body_len = (size_t)n;
	}
	r.contact_params = ";+sip.srs";
	cp_sess_timer_answer(s, &r);
	if (s->state == CP_SESS_STARTING) {
		cp_sip_answer(s->pending, &r, &s->dialog);
		if (s->dialog != NULL)
			cp_sip_dialog_set_data(s->dialog, s);
	} else {
		cp_sip_answer(s->pending, &r, NULL);
	}
	s->pending = NULL;
	s->answer_bare = false;
	s->state = CP_SESS_ACTIVE;
	cp_sess_undo_drop(s);
	cp_sess_keepalive(cp, s, cp_now_ms());
}

void cp_sess_flows_settled(struct cp_ctx *cp, struct cp_session *s)
{
	switch (s->state) {
	case CP_SESS_STARTING:
	case CP_SESS_UPDATING:
		if (s->add_failed) {
			cp_sess_answer(cp, s->pending, 500, NULL, "dataplane refused the flows");
			s->pending = NULL;
			cp_sess_end(cp, s, "dataplane error");
			return;
		}
		if (cp_sess_map_ports(cp, s) != 0)
			return; /* answered once every public port is known */
		cp_sess_answer_sdp(cp, s);
		break;
	case CP_SESS_CLOSING:
		cp_sess_closed(cp, s);
		break;
	default:
		break;
	}
}

/* 422 (with Min-SE) or 400 for a Session-Expires rtprec does not take. */
static void cp_sess_refuse_timer(struct cp_ctx *cp, struct cp_sip_pending *p, int rc,
				 const char *min_se)
{
	struct cp_sip_response r = {
		.status = rc,
		.min_se = rc == 422 ? min_se : NULL,
		.warning = rc == 422 ? "399 rtprec \"Session-Expires below sip.min_se\""
				     : "399 rtprec \"bad Session-Expires\"",
	};

	cp->sess->refused[rc]++;
	cp_sip_answer(p, &r, NULL);
}

static bool cp_sess_allowed(const struct cfg_sip *sp, const char *ip_str)
{
	struct in_addr a;
	uint32_t ip;

	if (sp->allow_count == 0)
		return true;
	if (inet_pton(AF_INET, ip_str, &a) != 1)
		return false;
	ip = ntohl(a.s_addr);
	for (unsigned i = 0; i < sp->allow_count; i++) {
		uint32_t mask = sp->allow_prefix[i] ? ~0u << (32 - sp->allow_prefix[i]) : 0;
		if ((ip & mask) == (sp->allow_ip[i] & mask))
			return true;
	}
	return false;
}

/* Option tags of Require other than siprec, into out ("" if none). */
static void cp_sess_unknown_require(const char *req, char *out, size_t len)
{
	char buf[512], *save = NULL;
	size_t o = 0;

	out[0] = '\0';
	if (req == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", req);
	for (char *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
		if (strcasecmp(t, "siprec") != 0 && strcasecmp(t, "timer") != 0 &&
		    o + strlen(t) + 3 < len)
			o += (size_t)snprintf(out + o, len - o, "%s%s", o ? ", " : "", t);
}

static bool cp_has_token(const char *list, const char *tok)
{
	return list != NULL && strcasestr(list, tok) != NULL;
}

static char *cp_strdup0(const char *s)
{
	return strdup(s ? s : "");
}

/* Streams from the offer, from index `from` on; 0, or 488/503. */
static int cp_sess_take_streams(struct cp_ctx *cp, struct cp_session *s, unsigned from,
				char *why, size_t why_len)
{
	unsigned usable = 0;

	if (from == 0) { /* a new call: the media address with the most free ports */
		struct cp_sessions *ss = cp->sess;

		s->addr = 0;
		for (unsigned a = 1; a < ss->n_addr; a++)
			if (ss->ports[a].n_free > ss->ports[s->addr].n_free)
				s->addr = a;
	}
	s->n_streams = s->offer.n_streams;
	for (unsigned i = from; i < s->offer.n_streams; i++) {
		const struct cp_sdp_stream *o = &s->offer.streams[i];
		struct cp_stream *st = &s->streams[i];
		memset(st, 0, sizeof(*st));
		cp_sess_stream_offer(st, o);
		cp_sess_stream_expect(st);
		cp_sess_set_paused(st, cp_sess_offer_paused(o), from == 0 ? s->start_ns
									 : cp_sess_now_ns());
		if (!cp_sess_offer_usable(cp, o))
			continue;
		st->port = cp_sess_port_take(cp, s);
		if (st->port == 0) {
			snprintf(why, why_len, "no free media port");
			return 503;
		}
		st->in_use = true;
		usable++;
	}
	if (from == 0 && usable == 0) {
		snprintf(why, why_len, "no usable media stream in the offer");
		return 488;
	}
	return 0;
}

/* A re-offer's new streams could not all get a port: none of them is recorded, each
 * is answered with port 0 (RFC 3264 6: rejected), the ports taken go back. */
static void cp_sess_refuse_new_streams(struct cp_ctx *cp, struct cp_session *s, unsigned from,
				       const char *why)
{
	for (unsigned i = from; i < s->n_streams; i++) {
		struct cp_stream *st = &s->streams[i];

		if (st->port != 0)
			cp_portpool_put(&cp->sess->ports[s->addr], st->port);
		st->port = 0;
		st->in_use = false;
	}
	LOG_WARN("re-offer with %u new stream(s): %s: they are answered with port 0",
		 s->n_streams - from, why);
}

/* A recorder stream id that no live session holds and whose last recording the
 * recorder has finished closing (an ended call's packets still on their way to its
 * files must not reach the next call's); UINT32_MAX when the recorder is so far
 * behind that every free id still waits for its close. */
static uint32_t cp_sess_rec_take(struct cp_ctx *cp)
{
	struct cp_sessions *ss = cp->sess;

	for (uint32_t n = 0; n < ss->rec_ids; n++) {
		uint32_t i = ss->rec_hint;

		ss->rec_hint = i + 1 == ss->rec_ids ? 0 : i + 1;
		if (ss->rec_used[i] == 0 &&
		    (cp->rec == NULL || !rec_stream_closing(cp->rec, ss->rec_base + i))) {
			ss->rec_used[i] = 1;
			return ss->rec_base + i;
		}
	}
	return UINT32_MAX;
}

static struct cp_session *cp_sess_alloc(struct cp_ctx *cp, const struct cp_sip_request *req)
{
	struct cp_sessions *ss = cp->sess;
	struct cp_session *s;
	uint8_t rnd[16];
	uint32_t slot, rec_id;

	if (ss->active >= ss->max) {
		errno = ENOSPC;
		return NULL;
	}
	rec_id = cp_sess_rec_take(cp);
	if (rec_id == UINT32_MAX) {
		errno = EAGAIN;
		return NULL;
	}
	/* next free slot from where the last one was taken: O(1) on average */
	for (slot = ss->hint; ss->slots[slot] != NULL; slot = slot + 1 == ss->max ? 0 : slot + 1)
		;
	ss->hint = slot + 1 == ss->max ? 0 : slot + 1;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		ss->rec_used[rec_id - ss->rec_base] = 0;
		errno = ENOMEM;
		return NULL;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		for (unsigned i = 0; i < sizeof(rnd); i++)
			rnd[i] = (uint8_t)((ss->counter + i) * 131 + (uint64_t)time(NULL));
	for (unsigned i = 0; i < sizeof(rnd); i++)
		snprintf(s->id + 2 * i, 3, "%02x", rnd[i]);
	s->cp = cp;
	s->slot = slot;
	s->rec_id = rec_id;
	s->state = CP_SESS_STARTING;
	s->call_id = cp_strdup0(req->call_id);
	s->from = cp_strdup0(req->from);
	s->to = cp_strdup0(req->to);
	s->src = malloc(96);
	if (s->src != NULL)
		snprintf(s->src, 96, "%s:%u %s", req->src_ip, req->src_port, req->transport);
	s->start_ns = cp_sess_now_ns();
	ss->slots[slot] = s;
	ss->active++;
	ss->total++;
	ss->counter++;
	return s;
}

static void cp_sess_new(struct cp_ctx *cp, const struct cp_sip_request *req,
			struct cp_sip_pending *p, struct cp_sess_body *b)
{
	struct cp_sessions *ss = cp->sess;
	char why[256], unknown[256];
	struct cp_session *s;
	int rc;

	if (!cp_sess_allowed(&cp->cfg->sip, req->src_ip))
		return cp_sess_answer(cp, p, 403, "Source Not Allowed", "source not allowed");
	cp_sess_unknown_require(req->require, unknown, sizeof(unknown));
	if (unknown[0]) {
		struct cp_sip_response r = {.status = 420, .unsupported = unknown};
		ss->refused[420]++;
		cp_sip_answer(p, &r, NULL);
		return;
	}
	if (!cp_ctype_accepts_sdp(req->accept))
		return cp_sess_refuse_accept(cp, p);
	if (ss->draining)
		return cp_sess_answer(cp, p, 503, "Shutting Down", "draining for shutdown");
	if (ss->active >= ss->max)
		return cp_sess_answer(cp, p, 503, "Session Limit Reached", "session limit reached");
	if (cp_sess_recording_refused(cp)) /* recording.refuse_when_full */
		return cp_sess_answer(cp, p, 503, "Recording Unavailable", "recording storage failing");
	rc = cp_sess_body_parse(req, b, why, sizeof(why));
	if (rc != 0)
		return cp_sess_answer(cp, p, rc, NULL, why);
	if (!b->has_sdp)
		return cp_sess_answer(cp, p, 400, NULL, "no SDP offer in the INVITE");
	if (!b->has_md && cp->cfg->siprec.require_metadata)
		return cp_sess_answer(cp, p, 400, NULL, "no rs-metadata in the INVITE");
	s = cp_sess_alloc(cp, req);
	if (s == NULL)
		return cp_sess_answer(cp, p, 503, "Session Limit Reached",
				      errno == EAGAIN ? "recorder still closing ended calls"
						      : "no session slot");
	cfg_log_context(s->id);
	rc = cp_sess_timer_request(cp, s, req, why, sizeof(why));
	if (rc != 0) {
		cp_sess_refuse_timer(cp, p, rc, why);
		snprintf(s->end_reason, sizeof(s->end_reason), "refused %d", rc);
		cp_sess_free(cp, s);
		return;
	}
	s->offer = b->offer;
	s->siprec = cp_has_token(req->require, "siprec") || cp_has_token(req->supported, "siprec") ||
		    cp_has_token(req->contact, "+sip.src") || cp_has_token(req->contact, ";src") ||
		    b->has_md;
	rc = cp_sess_take_streams(cp, s, 0, why, sizeof(why));
	if (rc == 0 && cp_sess_ice_offer(cp, s, b->sdp, b->sdp_len) != 0) {
		rc = 500;
		snprintf(why, sizeof(why), "out of memory");
	}
	if (rc == 0 && cp_sess_files_open(cp, s) != 0) {
		rc = 500;
		snprintf(why, sizeof(why), "cannot create the recording");
	}
	if (rc != 0) {
		cp_sess_answer(cp, p, rc, NULL, why);
		snprintf(s->end_reason, sizeof(s->end_reason), "refused %d", rc);
		cp_sess_free(cp, s);
		return;
	}
	if (b->has_md) {
		s->md = b->md;
		s->has_md = true;
		cp_sess_keep_metadata(s, b->md_xml, b->md_len);
	}
	s->pending = p;
	cp_sip_pending_set_data(p, s);
	LOG_INFO("session %s: call %s from %s, %u streams", s->id, s->call_id, s->src,
		 s->n_streams);
	if (cp_sess_flows_program(cp, s, 0) != 0)
		s->add_failed = true;
	if (s->acks_pending == 0)
		cp_sess_flows_settled(cp, s);
}

/* re-INVITE or UPDATE: new streams added, removed ones deleted, paused
 * (a=inactive) and resumed ones updated. */
static void cp_sess_update(struct cp_ctx *cp, struct cp_session *s, struct cp_sip_pending *p,
			   const struct cp_sip_request *req, struct cp_sess_body *b)
{
	char why[256];
	unsigned old_n = s->n_streams;
	int rc;

	if (s->state != CP_SESS_ACTIVE)
		return cp_sess_answer(cp, p, 491, NULL, "another request is in progress");
	rc = cp_sess_body_parse(req, b, why, sizeof(why));
	if (rc != 0)
		return cp_sess_answer(cp, p, rc, NULL, why);
	/* the answer carries SDP, but for an UPDATE without an offer */
	if ((b->has_sdp || strcmp(req->method, "UPDATE") != 0) && !cp_ctype_accepts_sdp(req->accept))
		return cp_sess_refuse_accept(cp, p);
	/* refused before anything is taken from it: a refused offer leaves the session, its
	 * session timer and its metadata as they were (RFC 3261 14.2, RFC 4028 only on 2xx) */
	if (b->has_sdp && b->offer.n_streams < old_n)
		return cp_sess_answer(cp, p, 488, NULL, "an offer may not remove m= lines");
	/* a re-INVITE may be cancelled while it waits: the session then goes back */
	if (strcmp(req->method, "INVITE") == 0 && cp_sess_undo_keep(s) != 0)
		return cp_sess_answer(cp, p, 500, NULL, "out of memory");
	rc = cp_sess_timer_request(cp, s, req, why, sizeof(why));
	if (rc != 0) {
		cp_sess_undo_drop(s);
		return cp_sess_refuse_timer(cp, p, rc, why);
	}
	if (b->has_md) {
		cp_metadata_apply(&s->md, &b->md);
		s->has_md = true;
		cp_sess_keep_metadata(s, b->md_xml, b->md_len);
	}
	s->pending = p;
	cp_sip_pending_set_data(p, s);
	s->state = CP_SESS_UPDATING;
	s->answer_bare = !b->has_sdp && strcmp(req->method, "UPDATE") == 0;
	if (b->has_sdp) {
		for (unsigned i = 0; i < old_n; i++)
			if (s->streams[i].in_use)
				cp_sess_stream_history(&s->streams[i], &s->offer.streams[i]);
		s->offer = b->offer;
		for (unsigned i = 0; i < old_n; i++) {
			const struct cp_sdp_stream *o = &s->offer.streams[i];
			struct cp_stream *st = &s->streams[i];
			bool paused = cp_sess_offer_paused(o);
			/* the SRC moved its media: the flows latch again on the next packet (a
			 * c=0.0.0.0 hold is a pause, not a move) */
			bool moved = o->ip != 0 && (o->ip != st->offer_ip || o->port != st->offer_port);
			if (!st->in_use) {
				if (o->port != 0) /* port 0 before: added again */
					cp_sess_stream_reenable(cp, s, i);
				continue;
			}
			if (o->port == 0) {
				cp_sess_flows_delete(cp, s, i);
				st->in_use = false;
			} else if (paused != st->paused || moved) {
				cp_sess_set_paused(st, paused, cp_sess_now_ns());
				if (moved) {
					st->offer_ip = o->ip;
					st->offer_port = o->port;
					cp_sess_stream_expect(st);
				}
				cp_sess_flows_update(cp, s, i);
			}
		}
		if (cp_sess_take_streams(cp, s, old_n, why, sizeof(why)) != 0)
			cp_sess_refuse_new_streams(cp, s, old_n, why);
		(void)cp_sess_ice_offer(cp, s, b->sdp, b->sdp_len);
		cp_sess_flows_program(cp, s, old_n);
	}
	if (s->acks_pending == 0)
		cp_sess_flows_settled(cp, s);
}

static void cp_app_invite(void *ctx, const struct cp_sip_request *req, struct cp_sip_pending *p)
{
	struct cp_ctx *cp = ctx;
	struct cp_sess_body *b = malloc(sizeof(*b));
	struct cp_session *s = req->dialog ? cp_sip_dialog_data(req->dialog) : NULL;

	if (b == NULL) {
		cp_sess_answer(cp, p, 500, NULL, "out of memory");
		return;
	}
	cfg_log_context(s ? s->id : NULL);
	if (req->dialog == NULL)
		cp_sess_new(cp, req, p, b);
	else if (s == NULL)
		cp_sess_answer(cp, p, 481, NULL, "session already ended");
	else
		cp_sess_update(cp, s, p, req, b);
	cfg_log_context(NULL);
	free(b);
}

static void cp_app_cancel(void *ctx, struct cp_sip_pending *p)
{
	struct cp_session *s = cp_sip_pending_data(p);

	if (s == NULL)
		return;
	/* a re-INVITE/UPDATE cut short (the dialog's end, a transport error): back to the
	 * offer before it, as for its CANCEL; the dialog's end callback, when one comes,
	 * ends the call with its own reason */
	if (s->state != CP_SESS_STARTING) {
		cp_sess_reinvite_cancel(ctx, p);
		return;
	}
	s->pending = NULL; /* the SIP layer answered 487 */
	cp_sess_end(ctx, s, "cancel");
}

/* RFC 7866 7.2: ask the SRC for a metadata snapshot (siprec.request_metadata), once. */
static void cp_sess_request_metadata(struct cp_ctx *cp, struct cp_session *s)
{
	static const char why[] = "SRS has no recording metadata for this session\r\n";

	if (!cp->cfg->siprec.request_metadata || s->has_md || s->md_requested || s->dialog == NULL)
		return;
	s->md_requested = true;
	if (cp_sip_send_update(s->dialog, "application/rs-metadata-request", why,
			       sizeof(why) - 1) == 0)
		LOG_INFO("session %s: no metadata, asked the SRC for it", s->id);
}

static void cp_app_ack(void *ctx, struct cp_sip_dialog *d)
{
	struct cp_session *s = cp_sip_dialog_data(d);

	if (s == NULL)
		return;
	cp_sess_request_metadata(ctx, s);
}

static void cp_app_bye(void *ctx, struct cp_sip_dialog *d)
{
	struct cp_session *s = cp_sip_dialog_data(d);

	if (s == NULL)
		return;
	cfg_log_context(s->id);
	cp_sess_end(ctx, s, "bye");
	cfg_log_context(NULL);
}

static void cp_app_dialog_end(void *ctx, struct cp_sip_dialog *d, const char *why)
{
	struct cp_session *s = cp_sip_dialog_data(d);

	if (s != NULL)
		cp_sess_end(ctx, s, why ? why : "dialog ended");
}

static bool cp_app_draining(void *ctx)
{
	const struct cp_ctx *cp = ctx;

	return cp->sess != NULL && cp->sess->draining;
}

struct cp_sess_taken {
	const struct cp_ctx *cp;
	uint32_t ip;
};

/* Ports the static flows hold on a media address stay out of its pool. */
static int cp_sess_port_taken(unsigned port, void *ctx)
{
	const struct cp_sess_taken *t = ctx;
	const struct cp_ctx *cp = t->cp;
	uint32_t ip = t->ip;

	return cp_static_holds(&cp->st, ip, port);
}

bool cp_sessions_port_owned(const struct cp_ctx *cp, uint32_t ip, unsigned port)
{
	const struct cp_sessions *ss = cp->sess;
	const struct cfg *cfg = cp->cfg;

	for (unsigned a = 0; ss != NULL && a < ss->n_addr; a++)
		if (ss->media_ip[a] == ip)
			return (port >= cfg->media.port_min && port <= cfg->media.port_max + 1u) ||
			       port == cfg->nat.stun_port;
	return false;
}

int cp_sessions_create(struct cp_ctx *cp)
{
	const struct cfg *cfg = cp->cfg;
	struct cp_sessions *ss = calloc(1, sizeof(*ss));

	if (ss == NULL)
		return -ENOMEM;
	cp->sess = ss;
	ss->max = cfg->sip.max_sessions;
	ss->slots = calloc(ss->max, sizeof(*ss->slots));
	ss->rec_base = cfg_flow_rec_slots(cfg);
	ss->rec_ids = CFG_SESS_REC_IDS(cfg);
	ss->rec_used = calloc(ss->rec_ids, sizeof(*ss->rec_used));
	ss->n_addr = cfg->media.n_addr ? cfg->media.n_addr : 1;
	ss->media_ip[0] = cfg->ports[cfg->media.port_index].ip;
	for (unsigned a = 0; a < cfg->media.n_addr; a++)
		ss->media_ip[a] = cfg->media.addr_ip[a];
	if (cfg->nat.behind != CFG_BEHIND_NAT_NO && cfg->nat.has_external_ip)
		ss->external_ip = cfg->nat.external_ip_addr;
	ss->tsc_hz = rte_get_tsc_hz();
	ss->tsc_base = rte_rdtsc();
	ss->ns_base = cp_sess_now_ns();
	ss->app = (struct cp_sip_app){
		.ctx = cp,
		.on_invite = cp_app_invite,
		.on_cancel = cp_app_cancel,
		.on_reinvite_cancel = cp_sess_reinvite_cancel,
		.on_ack = cp_app_ack,
		.on_bye = cp_app_bye,
		.on_dialog_end = cp_app_dialog_end,
		.draining = cp_app_draining,
	};
	if (ss->slots == NULL || ss->rec_used == NULL) {
		cp_sessions_free(cp);
		return -ENOMEM;
	}
	for (unsigned a = 0; a < ss->n_addr; a++) {
		struct cp_sess_taken t = { cp, ss->media_ip[a] };

		if (cp_portpool_init(&ss->ports[a], cfg->media.port_min, cfg->media.port_max,
				     cp_sess_port_taken, &t) != 0) {
			cp_sessions_free(cp);
			return -ENOMEM;
		}
	}
	return 0;
}

void cp_sessions_free(struct cp_ctx *cp)
{
	struct cp_sessions *ss = cp->sess;

	if (ss == NULL)
		return;
	for (uint32_t i = 0; ss->slots && i < ss->max; i++)
		if (ss->slots[i] != NULL)
			cp_sess_free(cp, ss->slots[i]);
	for (unsigned a = 0; a < CFG_MAX_MEDIA_ADDRS; a++)
		cp_portpool_fini(&ss->ports[a]);
	free(ss->slots);
	free(ss->rec_used);
	free(ss->ice_port);
	free(ss);
	cp->sess = NULL;
}

const struct cp_sip_app *cp_sessions_app(struct cp_ctx *cp)
{
	return &cp->sess->app;
}

unsigned cp_sessions_active(const struct cp_ctx *cp)
{
	return cp->sess ? cp->sess->active - cp->sess->finished : 0;
}

void cp_sessions_drain(struct cp_ctx *cp)
{
	if (cp->sess != NULL)
		cp->sess->draining = true;
}
