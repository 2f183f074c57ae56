/* SPDX-License-Identifier: BSD-3-Clause
 * Transaction glue: libosip2's send and event callbacks (IST, NIST, NICT,
 * kill) and the dispatch of requests to the application. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/time.h>

#include "controlplane/siprec/cp_multipart.h"
#include "cp_sip_priv.h"

/* ---- libosip2 callbacks ---- */

static int cb_send(osip_transaction_t *tr, osip_message_t *m, char *host, int port, int sock)
{
	struct cp_sip_txd *t = tr ? osip_transaction_get_reserved1(tr) : NULL;
	struct cp_sip *s = tr ? osip_get_application_context(tr->config) : NULL;
	struct cp_sip_peer p;
	struct in_addr a;

	(void)sock;
	if (!t || !s)
		return -1;
	p = t->peer;
	if (p.transport == CFG_SIP_UDP && MSG_IS_RESPONSE(m)) {
		if (!host || inet_pton(AF_INET, host, &a) != 1 || port <= 0 || port > 65535)
			return -1;
		p.ip = ntohl(a.s_addr);
		p.port = (uint16_t)port;
	}
	return cp_sip_msg_send(s, m, &p) == 0 ? 0 : -1;
}

/* A response in the transaction; caps: Allow, Supported, Accept; hname:
 * one more header (or NULL). */
static void respond_hdr(struct cp_sip *s, osip_transaction_t *tr, int status, const char *reason,
			bool caps, const char *hname, const char *hvalue)
{
	osip_message_t *r = NULL;

	if (cp_sip_msg_response(s, tr->orig_request, status, reason, &r) != 0)
		return;
	cp_sip_msg_add_tag(s, r, status);
	if (caps) {
		cp_sip_msg_add_caps(r);
		osip_message_set_header(r, "Accept", CP_SIP_ACCEPT);
	}
	if (hname)
		osip_message_set_header(r, hname, hvalue);
	cp_sip_tx_event(s, tr, osip_new_outgoing_sipmessage(r));
}

static void respond(struct cp_sip *s, osip_transaction_t *tr, int status, const char *reason,
		    bool caps)
{
	respond_hdr(s, tr, status, reason, caps, NULL, NULL);
}

/* Fill the application's view of a request; free with view_free. */
static void view_fill(struct cp_sip_request *v, osip_message_t *m, const struct cp_sip_txd *t,
		      char *ipbuf, struct cp_sip_dialog *d)
{
	osip_contact_t *ct = NULL;
	osip_body_t *body = NULL;
	char *str = NULL;
	const struct cp_sip_peer *p = &t->peer;
	struct in_addr a = { htonl(p->ip) };

	memset(v, 0, sizeof(*v));
	v->method = m->sip_method;
	osip_call_id_to_str(m->call_id, &str);
	v->call_id = str;
	str = NULL;
	osip_from_to_str(m->from, &str);
	v->from = str;
	str = NULL;
	osip_to_to_str(m->to, &str);
	v->to = str;
	v->from_tag = cp_sip_msg_tag(m->from);
	v->require = cp_sip_msg_join(m, "require");
	v->supported = cp_sip_msg_join_forms(m, "supported", "k");
	v->session_expires = cp_sip_msg_join(m, "session-expires");
	if (v->session_expires == NULL)
		v->session_expires = cp_sip_msg_join(m, "x"); /* the compact form */
	v->min_se = cp_sip_msg_join(m, "min-se");
	v->accept = cp_sip_msg_accepts(m);
	if (osip_message_get_contact(m, 0, &ct) >= 0 && ct) {
		str = NULL;
		osip_contact_to_str(ct, &str);
		v->contact = str;
	}
	if (m->content_type) {
		str = NULL;
		osip_content_type_to_str(m->content_type, &str);
		v->content_type = str;
	}
	if (t->body_len != 0) {
		v->body = t->body;
		v->body_len = t->body_len;
	} else if (osip_message_get_body(m, 0, &body) >= 0 && body && body->body) {
		v->body = body->body;
		v->body_len = body->length;
	}
	inet_ntop(AF_INET, &a, ipbuf, 16);
	v->src_ip = ipbuf;
	v->src_port = p->port;
	v->transport = cp_sip_transport_name(p->transport);
	v->dialog = d;
}

static void view_free(struct cp_sip_request *v)
{
	osip_free((char *)v->call_id);
	osip_free((char *)v->from);
	osip_free((char *)v->to);
	free((char *)v->require);
	free((char *)v->supported);
	free((char *)v->session_expires);
	free((char *)v->min_se);
	free((char *)v->accept);
	osip_free((char *)v->contact);
	osip_free((char *)v->content_type);
}

/* The request offers SDP: its body is SDP, or a multipart body with an SDP part. */
static bool has_sdp(osip_transaction_t *tr)
{
	const struct cp_sip_txd *t = osip_transaction_get_reserved1(tr);
	const osip_content_type_t *ct = tr->orig_request->content_type;
	struct cp_part parts[CP_MAX_PARTS];
	char *cts = NULL;
	int n = -1;

	if (!ct || !ct->type || !ct->subtype)
		return false;
	if (strcasecmp(ct->type, "application") == 0)
		return strcasecmp(ct->subtype, "sdp") == 0;
	if (strcasecmp(ct->type, "multipart") == 0 && t &&
	    osip_content_type_to_str((osip_content_type_t *)ct, &cts) == 0)
		n = cp_multipart_split(cts, t->body, t->body_len, parts, CP_MAX_PARTS, NULL);
	osip_free(cts);
	for (int i = 0; i < n; i++)
		if (cp_ctype_is_sdp(parts[i].ctype, parts[i].ctype_len))
			return true;
	return false;
}

/* A re-INVITE or UPDATE in d that meets another exchange (RFC 3261 14.2, RFC 3311
 * 5.2): while our re-INVITE waits for its answer, 491 (an UPDATE only when it
 * offers); while the peer's previous one waits for ours, 500 with Retry-After
 * 0-10 s. True when answered so. */
static bool offers_cross(struct cp_sip *s, osip_transaction_t *tr, struct cp_sip_dialog *d,
			 bool invite)
{
	char ra[8];

	if (d->reinvite_txd && (invite || has_sdp(tr))) {
		respond(s, tr, 491, NULL, false);
		return true;
	}
	for (struct cp_sip_pending *q = s->pending; q; q = q->next)
		if (q->dialog == d) {
			snprintf(ra, sizeof(ra), "%u", (unsigned)(cp_sip_random(s) % 11u));
			respond_hdr(s, tr, 500, NULL, false, "Retry-After", ra);
			return true;
		}
	return false;
}

static void deliver_invite(struct cp_sip *s, osip_transaction_t *tr, struct cp_sip_dialog *d,
			   bool invite)
{
	struct cp_sip_txd *t = osip_transaction_get_reserved1(tr);
	struct cp_sip_pending *p;
	struct cp_sip_request v;
	char ip[16];

	if (d && offers_cross(s, tr, d, invite))
		return;
	if (s->n_pending >= s->max_pending) {
		osip_message_t *r = NULL;

		if (cp_sip_msg_response(s, tr->orig_request, 503, NULL, &r) == 0) {
			osip_message_set_header(r, "Retry-After", "5");
			if (!cp_sip_msg_tag(r->to))
				osip_to_set_tag(r->to, osip_strdup("busy"));
			cp_sip_tx_event(s, tr, osip_new_outgoing_sipmessage(r));
		}
		return;
	}
	p = cp_sip_pending_new(s, tr, d, invite);
	if (!p) {
		respond(s, tr, 500, NULL, false);
		return;
	}
	t->pending = p;
	view_fill(&v, tr->orig_request, t, ip, d);
	if (s->app.on_invite)
		s->app.on_invite(s->app.ctx, &v, p);
	else
		cp_sip_answer(p, &(struct cp_sip_response){ .status = 501 }, NULL);
	view_free(&v);
}

static struct cp_sip_dialog *in_dialog(struct cp_sip *s, osip_transaction_t *tr)
{
	osip_message_t *m = tr->orig_request;

	if (!cp_sip_msg_tag(m->to))
		return NULL;
	return cp_sip_dialog_find(s, m);
}

/* RFC 3261 12.2.2: a lower CSeq than the last one in the dialog gets 500. */
static bool cseq_in_order(struct cp_sip *s, osip_transaction_t *tr, struct cp_sip_dialog *d)
{
	uint32_t n = (uint32_t)strtoul(tr->orig_request->cseq->number, NULL, 10);

	if (n <= d->remote_cseq) {
		respond(s, tr, 500, "CSeq out of order", false);
		return false;
	}
	d->remote_cseq = n;
	return true;
}

/* RFC 3261 8.2.2.2: an INVITE outside a dialog with the Call-ID, From tag and CSeq of
 * one still waiting for its answer, on another transaction (a loop, or a request forked
 * to us twice): merged, not a second call. */
static bool merged_invite(const struct cp_sip *s, const osip_transaction_t *tr)
{
	const osip_message_t *m = tr->orig_request;

	for (const struct cp_sip_pending *p = s->pending; p; p = p->next) {
		const osip_message_t *o = p->tr ? p->tr->orig_request : NULL;

		if (o && p->tr != tr && !p->dialog && o->call_id && m->call_id &&
		    osip_call_id_match(o->call_id, m->call_id) == 0 &&
		    osip_from_tag_match(o->from, m->from) == 0 &&
		    osip_cseq_match(o->cseq, m->cseq) == 0)
			return true;
	}
	return false;
}

static void cb_ist(int type, osip_transaction_t *tr, osip_message_t *m)
{
	struct cp_sip *s = osip_get_application_context(tr->config);
	struct cp_sip_dialog *d = NULL;

	(void)m;
	if (type != OSIP_IST_INVITE_RECEIVED)
		return;
	respond(s, tr, 100, NULL, false);
	if (!cp_sip_msg_tag(tr->orig_request->to) && merged_invite(s, tr)) {
		respond(s, tr, 482, NULL, false);
		return;
	}
	if (cp_sip_msg_tag(tr->orig_request->to)) {
		d = in_dialog(s, tr);
		if (!d) {
			respond(s, tr, 481, NULL, false);
			return;
		}
		if (!cseq_in_order(s, tr, d))
			return;
	}
	deliver_invite(s, tr, d, true);
}

/* RFC 3261 9.2: a CANCEL whose INVITE transaction is there gets 200; the INVITE
 * 487 only while it waits for its answer (a CANCEL crossing the final answer has
 * no effect). No INVITE transaction: 481. A cancelled re-INVITE leaves the dialog
 * up, its previous offer/answer standing: the app goes back to it (on_reinvite_cancel;
 * on_cancel ends a call); an app without that callback is not told, its answer, when
 * it comes, is dropped. */
static void nist_cancel(struct cp_sip *s, osip_transaction_t *tr, osip_message_t *m)
{
	osip_transaction_t *inv = cp_sip_tx_find(s, m, "INVITE");
	struct cp_sip_pending *p;

	if (!inv) {
		respond(s, tr, 481, NULL, false);
		return;
	}
	respond(s, tr, 200, NULL, false);
	p = cp_sip_pending_of(inv);
	if (!p)
		return;
	respond(s, inv, 487, NULL, false);
	if (p->dialog && !s->app.on_reinvite_cancel) {
		cp_sip_pending_detach(p);
		return;
	}
	if (p->dialog)
		s->app.on_reinvite_cancel(s->app.ctx, p);
	else if (s->app.on_cancel)
		s->app.on_cancel(s->app.ctx, p);
	cp_sip_pending_drop(p);
}

static void cb_nist(int type, osip_transaction_t *tr, osip_message_t *m)
{
	struct cp_sip *s = osip_get_application_context(tr->config);
	const char *method = m->sip_method;
	struct cp_sip_dialog *d;

	if (type == OSIP_NIST_REQUEST_RECEIVED_AGAIN || !method)
		return;
	if (strcmp(method, "CANCEL") != 0) {
		/* RFC 3261 8.2.2.3 (INVITEs: the application decides) */
		char *unsupported = cp_sip_msg_unsupported(m);

		if (unsupported) {
			respond_hdr(s, tr, 420, NULL, false, "Unsupported", unsupported);
			free(unsupported);
			return;
		}
	}
	if (strcmp(method, "CANCEL") != 0 && cp_sip_msg_tag(m->to) && !in_dialog(s, tr)) {
		respond(s, tr, 481, NULL, false); /* RFC 3261 12.2.2, an in-dialog OPTIONS too */
	} else if (strcmp(method, "OPTIONS") == 0) {
		if (s->app.draining && s->app.draining(s->app.ctx))
			respond_hdr(s, tr, 503, "Draining", true, "Retry-After", "30");
		else
			respond(s, tr, 200, NULL, true);
	} else if (strcmp(method, "CANCEL") == 0) {
		nist_cancel(s, tr, m);
	} else if (strcmp(method, "BYE") == 0) {
		d = in_dialog(s, tr);
		if (!d) {
			respond(s, tr, 481, NULL, false);
			return;
		}
		if (!cseq_in_order(s, tr, d))
			return;
		respond(s, tr, 200, NULL, false);
		cp_sip_dialog_end(d, "BYE", true);
	} else if (strcmp(method, "UPDATE") == 0) {
		d = in_dialog(s, tr);
		if (!d) {
			respond(s, tr, 481, NULL, false);
			return;
		}
		if (cseq_in_order(s, tr, d))
			deliver_invite(s, tr, d, false);
	} else {
		respond(s, tr, cp_sip_msg_method_known(method, strlen(method)) ? 405 : 501, NULL, true);
	}
}

static void cb_nict(int type, osip_transaction_t *tr, osip_message_t *m)
{
	struct cp_sip *s = osip_get_application_context(tr->config);

	if (type == OSIP_NICT_STATUS_TIMEOUT)
		cp_sip_bye_result(s, tr, 408);
	else if (m && m->status_code >= 200 && type != OSIP_NICT_STATUS_2XX_RECEIVED_AGAIN &&
		 type != OSIP_NICT_STATUS_3456XX_RECEIVED_AGAIN)
		cp_sip_bye_result(s, tr, m->status_code);
}

static void cb_ict(int type, osip_transaction_t *tr, osip_message_t *m)
{
	struct cp_sip *s = osip_get_application_context(tr->config);

	if (type == OSIP_ICT_STATUS_TIMEOUT)
		cp_sip_reinvite_result(s, tr, NULL, false);
	else if (m && m->status_code >= 200)
		cp_sip_reinvite_result(s, tr, m, type == OSIP_ICT_STATUS_2XX_RECEIVED_AGAIN ||
						    type == OSIP_ICT_STATUS_3456XX_RECEIVED_AGAIN);
}

static void cb_kill(int type, osip_transaction_t *tr)
{
	struct cp_sip *s = osip_get_application_context(tr->config);
	struct cp_sip_txd *t = osip_transaction_get_reserved1(tr);

	if (t && t->pending && t->pending->tr == tr) {
		/* IST/NIST gone under a pending request (transport error) */
		struct cp_sip_pending *p = t->pending;

		if (s->app.on_cancel)
			s->app.on_cancel(s->app.ctx, p);
		cp_sip_pending_drop(p);
	}
	if (type == OSIP_NICT_KILL_TRANSACTION && t && t->bye_dialog)
		cp_sip_bye_result(s, tr, 408);
	if (type == OSIP_ICT_KILL_TRANSACTION && t && t->reinvite_dialog)
		cp_sip_reinvite_result(s, tr, NULL, false);
	cp_sip_tx_kill(s, tr);
	cp_sip_kill_later(s, tr);
}

static void cb_transport_error(int type, osip_transaction_t *tr, int err)
{
	(void)type;
	(void)tr;
	(void)err;
}

static void trace_none(const char *fi, int li, osip_trace_level_t level, const char *chfr,
		       va_list ap)
{
	(void)fi;
	(void)li;
	(void)level;
	(void)chfr;
	(void)ap;
}

int cp_sip_osip_setup(struct cp_sip *s)
{
	osip_trace_initialize_func(TRACE_LEVEL0, trace_none);
	/* libosip2's own stderr trace is noise here: bad input is counted */
	for (int l = TRACE_LEVEL0; l < END_TRACE_LEVEL; l++)
		osip_trace_disable_level((osip_trace_level_t)l);
	if (osip_init(&s->osip) != 0)
		return -ENOMEM;
	osip_set_application_context(s->osip, s);
	osip_set_cb_send_message(s->osip, cb_send);
	osip_set_message_callback(s->osip, OSIP_IST_INVITE_RECEIVED, cb_ist);
	for (int t = OSIP_NIST_REGISTER_RECEIVED; t <= OSIP_NIST_REQUEST_RECEIVED_AGAIN; t++)
		osip_set_message_callback(s->osip, t, cb_nist);
	for (int t = OSIP_NICT_STATUS_1XX_RECEIVED; t <= OSIP_NICT_STATUS_3456XX_RECEIVED_AGAIN; t++)
		osip_set_message_callback(s->osip, t, cb_nict);
	osip_set_message_callback(s->osip, OSIP_NICT_STATUS_TIMEOUT, cb_nict);
	for (int t = OSIP_ICT_STATUS_1XX_RECEIVED; t <= OSIP_ICT_STATUS_3456XX_RECEIVED_AGAIN; t++)
		osip_set_message_callback(s->osip, t, cb_ict);
	osip_set_message_callback(s->osip, OSIP_ICT_STATUS_TIMEOUT, cb_ict);
	for (int t = 0; t < OSIP_KILL_CALLBACK_COUNT; t++) {
		osip_set_kill_transaction_callback(s->osip, t, cb_kill);
		osip_set_transport_error_callback(s->osip, t, cb_transport_error);
	}
	return 0;
}
