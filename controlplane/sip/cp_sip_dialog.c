/* SPDX-License-Identifier: BSD-3-Clause
 * INVITE dialogs (UAS side), pending INVITE/UPDATE answers, 2xx
 * retransmission until ACK (RFC 3261 13.3.1.4) and the BYE we send. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_sip_priv.h"

/* ---- pending ---- */

struct cp_sip_pending *cp_sip_pending_new(struct cp_sip *s, osip_transaction_t *tr,
					  struct cp_sip_dialog *d, bool invite)
{
	struct cp_sip_pending *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->s = s;
	p->tr = tr;
	p->dialog = d;
	p->invite = invite;
	p->next = s->pending;
	if (s->pending)
		s->pending->prev = p;
	s->pending = p;
	s->n_pending++;
	return p;
}

void cp_sip_pending_detach(struct cp_sip_pending *p)
{
	if (p->tr) {
		struct cp_sip_txd *t = osip_transaction_get_reserved1(p->tr);

		if (t && t->pending == p)
			t->pending = NULL;
	}
	p->tr = NULL;
}

void cp_sip_pending_drop(struct cp_sip_pending *p)
{
	struct cp_sip *s = p->s;

	cp_sip_pending_detach(p);
	if (p->prev)
		p->prev->next = p->next;
	else
		s->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	s->n_pending--;
	free(p);
}

/* The pending INVITE or re-INVITE (p->dialog set) of the server transaction inv (the
 * one a CANCEL names: RFC 3261 9.2, same branch), or NULL: answered already. */
struct cp_sip_pending *cp_sip_pending_of(osip_transaction_t *inv)
{
	struct cp_sip_txd *t = osip_transaction_get_reserved1(inv);
	struct cp_sip_pending *p = t ? t->pending : NULL;

	if (!p || !p->invite || p->tr != inv)
		return NULL;
	return p;
}

void cp_sip_pending_set_data(struct cp_sip_pending *p, void *data) { p->data = data; }
void *cp_sip_pending_data(const struct cp_sip_pending *p) { return p->data; }
void cp_sip_dialog_set_data(struct cp_sip_dialog *d, void *data) { d->data = data; }
void *cp_sip_dialog_data(const struct cp_sip_dialog *d) { return d->data; }

/* ---- dialog table ---- */

unsigned cp_sip_hash_str(const char *str)
{
	uint32_t h = 2166136261u;

	while (*str)
		h = (h ^ (uint8_t)*str++) * 16777619u;
	return h;
}

static char *call_id_str(const osip_message_t *m)
{
	char *str = NULL;

	if (!m->call_id || osip_call_id_to_str(m->call_id, &str) != 0)
		return NULL;
	return str;
}

static struct cp_sip_dialog *lookup(struct cp_sip *s, const char *cid, const char *remote_tag,
				    const char *local_tag)
{
	for (struct cp_sip_dialog *d = s->dhash[cp_sip_hash_str(cid) & s->dhash_mask]; d; d = d->hnext)
		if (strcmp(d->call_id, cid) == 0 && remote_tag && strcmp(d->remote_tag, remote_tag) == 0 &&
		    (!local_tag || strcmp(d->local_tag, local_tag) == 0))
			return d;
	return NULL;
}

/* The dialog of m whose local tag is in header local, the remote one in remote. */
static struct cp_sip_dialog *find_tagged(struct cp_sip *s, const osip_message_t *m,
					 osip_from_t *local, osip_from_t *remote)
{
	char *cid = call_id_str(m);
	const char *lt = cp_sip_msg_tag(local);
	struct cp_sip_dialog *d = NULL;

	if (cid && lt)
		d = lookup(s, cid, cp_sip_msg_tag(remote), lt);
	osip_free(cid);
	return d;
}

struct cp_sip_dialog *cp_sip_dialog_find(struct cp_sip *s, const osip_message_t *req)
{
	return find_tagged(s, req, req->to, req->from);
}

/* The dialog of a response to our own request: its From tag is ours, its To tag theirs. */
struct cp_sip_dialog *cp_sip_dialog_of_response(struct cp_sip *s, const osip_message_t *resp)
{
	return find_tagged(s, resp, resp->from, resp->to);
}

static void ok_retransmit(struct cp_sip_dialog *d)
{
	if (d->ok_buf)
		cp_sip_send_raw(d->s, &d->ok_peer, d->ok_buf, d->ok_len);
}

/* The dialog whose INVITE (the one its 2xx answers) req repeats, or NULL. */
static struct cp_sip_dialog *invite_dialog(struct cp_sip *s, const osip_message_t *req)
{
	char *cid = call_id_str(req);
	struct cp_sip_dialog *d = NULL;

	if (cid)
		d = lookup(s, cid, cp_sip_msg_tag(req->from), cp_sip_msg_tag(req->to));
	osip_free(cid);
	if (!d || strtoul(req->cseq->number, NULL, 10) != d->invite_cseq)
		return NULL;
	return d;
}

bool cp_sip_dialog_is_retrans_invite(struct cp_sip *s, const osip_message_t *req,
				     const struct cp_sip_peer *p)
{
	struct cp_sip_dialog *d = invite_dialog(s, req);

	(void)p;
	if (!d)
		return false;
	if (!d->acked)
		ok_retransmit(d);
	return true;
}

bool cp_sip_dialog_known(struct cp_sip *s, const osip_message_t *req)
{
	if (cp_sip_msg_tag(req->to))
		return cp_sip_dialog_find(s, req) != NULL;
	return MSG_IS_INVITE(req) && invite_dialog(s, req) != NULL;
}

/* Dialogs whose 2xx waits for its ACK: the only ones the timers look at. */
static void wait_add(struct cp_sip *s, struct cp_sip_dialog *d)
{
	if (d->waiting)
		return;
	d->waiting = true;
	d->wprev = NULL;
	d->wnext = s->waiting;
	if (s->waiting)
		s->waiting->wprev = d;
	s->waiting = d;
}

static void ok_stop(struct cp_sip_dialog *d)
{
	struct cp_sip *s = d->s;

	if (d->waiting) {
		if (d->wprev)
			d->wprev->wnext = d->wnext;
		else
			s->waiting = d->wnext;
		if (d->wnext)
			d->wnext->wprev = d->wprev;
		d->waiting = false;
	}
	free(d->ok_buf);
	d->ok_buf = NULL;
	d->ok_len = 0;
}

void cp_sip_dialog_ack(struct cp_sip *s, osip_message_t *ack)
{
	struct cp_sip_dialog *d = cp_sip_dialog_find(s, ack);

	if (!d || d->ending) {
		s->drops++;
		return;
	}
	if (strtoul(ack->cseq->number, NULL, 10) != d->invite_cseq || d->acked)
		return;
	d->acked = true;
	ok_stop(d);
	if (!d->bye_sent && s->app.on_ack) /* late: the call is ending */
		s->app.on_ack(s->app.ctx, d);
}

static void dialog_unlink(struct cp_sip *s, struct cp_sip_dialog *d)
{
	struct cp_sip_dialog **pp = &s->dhash[cp_sip_hash_str(d->call_id) & s->dhash_mask];

	while (*pp && *pp != d)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = d->hnext;
	if (d->prev)
		d->prev->next = d->next;
	else
		s->dialogs = d->next;
	if (d->next)
		d->next->prev = d->prev;
	s->n_dialogs--;
}

static void dialog_free(struct cp_sip *s, struct cp_sip_dialog *d)
{
	struct cp_sip_conn *c = cp_sip_conn_get(s, d->peer.conn_id);

	if (c && c->refs)
		c->refs--;
	if (d->bye_txd)
		d->bye_txd->bye_dialog = NULL;
	if (d->reinvite_txd)
		d->reinvite_txd->reinvite_dialog = NULL;
	cp_sip_reinvite_forget(d);
	free(d->offer);
	ok_stop(d);
	osip_free(d->call_id);
	free(d->local_tag);
	free(d->remote_tag);
	osip_free(d->local_hdr);
	osip_free(d->remote_hdr);
	osip_free(d->remote_target);
	for (unsigned i = 0; i < d->n_routes; i++)
		osip_free(d->routes[i]);
	free(d->routes);
	free(d);
}

void cp_sip_dialog_end(struct cp_sip_dialog *d, const char *why, bool by_bye)
{
	struct cp_sip *s = d->s;

	if (d->ending)
		return;
	d->ending = true;
	/* a re-INVITE/UPDATE still waiting for the app: 487, tell the app */
	for (struct cp_sip_pending *p = s->pending, *n; p; p = n) {
		n = p->next;
		if (p->dialog != d)
			continue;
		if (p->tr) {
			osip_message_t *r = NULL;

			if (cp_sip_msg_response(s, p->tr->orig_request, 487, NULL, &r) == 0)
				cp_sip_tx_event(s, p->tr, osip_new_outgoing_sipmessage(r));
		}
		if (s->app.on_cancel)
			s->app.on_cancel(s->app.ctx, p);
		cp_sip_pending_drop(p);
	}
	dialog_unlink(s, d);
	if (by_bye) {
		if (s->app.on_bye)
			s->app.on_bye(s->app.ctx, d);
	} else if (s->app.on_dialog_end) {
		s->app.on_dialog_end(s->app.ctx, d, why);
	}
	dialog_free(s, d);
}

void cp_sip_dialog_free_all(struct cp_sip *s)
{
	while (s->dialogs) {
		struct cp_sip_dialog *d = s->dialogs;

		dialog_unlink(s, d);
		dialog_free(s, d);
	}
}

/* No ACK for the dialog's 2xx in 64*T1: BYE (RFC 3261 13.3.1.4); the dialog ends
 * ("no ACK") when the BYE is answered or fails, or now when none can be sent. */
static void dialog_no_ack(struct cp_sip_dialog *d)
{
	ok_stop(d);
	d->bye_why = "no ACK";
	if (!d->bye_sent && cp_sip_send_bye(d, "no ACK") != 0)
		cp_sip_dialog_end(d, d->bye_why, false);
}

void cp_sip_dialog_timers(struct cp_sip *s, uint64_t now, uint64_t *next)
{
	for (struct cp_sip_dialog *d = s->waiting, *n; d; d = n) {
		n = d->wnext;
		if (d->acked || d->ending || !d->ok_start_ms)
			continue;
		if (now >= d->ok_start_ms + 64ull * s->t1_ms) {
			if (d->initial) {
				dialog_no_ack(d);
				continue;
			}
			d->acked = true; /* re-INVITE: stop retransmitting, keep the call */
			ok_stop(d);
			continue;
		}
		if (d->ok_buf && now >= d->ok_next_ms) {
			ok_retransmit(d);
			d->ok_interval_ms *= 2;
			if (d->ok_interval_ms > s->t2_ms)
				d->ok_interval_ms = s->t2_ms;
			d->ok_next_ms = now + d->ok_interval_ms;
		}
		uint64_t due = d->ok_start_ms + 64ull * s->t1_ms;

		if (d->ok_buf && d->ok_next_ms < due)
			due = d->ok_next_ms;
		if (due < *next)
			*next = due;
	}
	cp_sip_reinvite_timers(s, now, next);
}

/* ---- answering ---- */

static struct cp_sip_dialog *dialog_new(struct cp_sip *s, const osip_message_t *req,
					osip_message_t *resp, const struct cp_sip_peer *peer)
{
	struct cp_sip_dialog *d = calloc(1, sizeof(*d));
	osip_contact_t *ct = NULL;
	char tag[20];

	if (!d)
		return NULL;
	d->s = s;
	cp_sip_msg_random_token(s, tag, sizeof(tag));
	osip_to_set_tag(resp->to, osip_strdup(tag));
	d->local_tag = strdup(tag);
	d->remote_tag = strdup(cp_sip_msg_tag(req->from));
	d->call_id = call_id_str(req);
	osip_to_to_str(resp->to, &d->local_hdr);
	osip_from_to_str(req->from, &d->remote_hdr);
	if (osip_message_get_contact(req, 0, &ct) >= 0 && ct && ct->url)
		osip_uri_to_str(ct->url, &d->remote_target);
	else if (req->from->url)
		osip_uri_to_str(req->from->url, &d->remote_target);
	/* RFC 3261 12.1.1: the UAS's route set is the Record-Route list as is */
	unsigned nr = (unsigned)osip_list_size(&req->record_routes);

	d->routes = nr ? calloc(nr, sizeof(*d->routes)) : NULL;
	for (unsigned i = 0; d->routes && i < nr; i++)
		if (osip_record_route_to_str(osip_list_get(&req->record_routes, (int)i),
					     &d->routes[d->n_routes]) == 0)
			d->n_routes++;
	d->remote_cseq = d->invite_cseq = (uint32_t)strtoul(req->cseq->number, NULL, 10);
	d->local_cseq = (uint32_t)(cp_sip_random(s) % 10000u) + 1;
	d->peer = *peer;
	d->initial = true;
	if (!d->local_tag || !d->remote_tag || !d->call_id || !d->local_hdr || !d->remote_hdr ||
	    !d->remote_target) {
		dialog_free(s, d);
		return NULL;
	}
	struct cp_sip_conn *c = cp_sip_conn_get(s, peer->conn_id);

	if (c)
		c->refs++;
	struct cp_sip_dialog **b = &s->dhash[cp_sip_hash_str(d->call_id) & s->dhash_mask];

	d->hnext = *b;
	*b = d;
	d->next = s->dialogs;
	if (s->dialogs)
		s->dialogs->prev = d;
	s->dialogs = d;
	s->n_dialogs++;
	return d;
}

/* A target refresh (re-INVITE, UPDATE) accepted: its Contact, when it has one, is the
 * dialog's remote target from now on (RFC 3261 12.2.2, RFC 3311 5.2). */
static void dialog_refresh_target(struct cp_sip_dialog *d, const osip_message_t *req)
{
	osip_contact_t *ct = NULL;
	char *target = NULL;

	if (osip_message_get_contact(req, 0, &ct) < 0 || !ct || !ct->url ||
	    osip_uri_to_str(ct->url, &target) != 0)
		return;
	osip_free(d->remote_target);
	d->remote_target = target;
}

int cp_sip_answer(struct cp_sip_pending *p, const struct cp_sip_response *r,
		  struct cp_sip_dialog **dialog)
{
	struct cp_sip *s = p->s;
	osip_transaction_t *tr = p->tr;
	struct cp_sip_txd *t = tr ? osip_transaction_get_reserved1(tr) : NULL;
	struct cp_sip_dialog *d = p->dialog;
	osip_message_t *resp = NULL;
	char buf[512];
	int rc = 0;

	if (dialog)
		*dialog = NULL;
	if (!r || r->status < 200 || r->status > 699)
		return -EINVAL;
	if (!tr) { /* a re-INVITE answered 487 (CANCEL) while the app was at work */
		cp_sip_pending_drop(p);
		return -ECANCELED;
	}
	if (!t || cp_sip_msg_response(s, tr->orig_request, r->status, r->reason, &resp) != 0) {
		cp_sip_pending_drop(p);
		return -EIO;
	}
	bool ok = r->status < 300;

	if (ok && p->invite && !d) {
		d = dialog_new(s, tr->orig_request, resp, &t->peer);
		if (!d) {
			osip_message_free(resp);
			cp_sip_msg_response(s, tr->orig_request, 500, NULL, &resp);
			ok = false;
			rc = -ENOMEM;
		}
	}
	if (!cp_sip_msg_tag(resp->to)) {
		cp_sip_msg_random_token(s, buf, 20);
		osip_to_set_tag(resp->to, osip_strdup(buf));
	}
	if (ok && p->invite)
		osip_list_clone(&tr->orig_request->record_routes, &resp->record_routes,
				(int (*)(void *, void **))osip_record_route_clone);
	if (ok && p->dialog)
		dialog_refresh_target(d, tr->orig_request);
	if (ok) {
		cp_sip_msg_contact(s, &t->peer, r->contact_params, buf, sizeof(buf));
		osip_message_set_contact(resp, buf);
		cp_sip_msg_add_caps(resp);
	} else {
		osip_message_set_header(resp, "Supported", "siprec");
	}
	if (r->warning)
		osip_message_set_header(resp, "Warning", r->warning);
	if (r->unsupported)
		osip_message_set_header(resp, "Unsupported", r->unsupported);
	if (r->session_expires)
		osip_message_set_header(resp, "Session-Expires", r->session_expires);
	if (r->min_se)
		osip_message_set_header(resp, "Min-SE", r->min_se);
	if (r->require)
		osip_message_set_header(resp, "Require", r->require);
	if (r->retry_after) {
		snprintf(buf, sizeof(buf), "%u", r->retry_after);
		osip_message_set_header(resp, "Retry-After", buf);
	}
	if (rc == 0 && r->content_type && r->body && r->body_len) {
		osip_message_set_content_type(resp, r->content_type);
		osip_message_set_body(resp, r->body, r->body_len);
	}
	if (ok && p->invite && d) {
		/* kept for retransmission until ACK, over TCP and TLS too: the UAS core sends
		 * it again whatever the transport (RFC 3261 13.3.1.4, a proxy on the way may
		 * forward it on UDP) */
		char *str = NULL;
		size_t len = 0;

		ok_stop(d);
		if (osip_message_to_str(resp, &str, &len) == 0) {
			d->ok_buf = malloc(len);
			if (d->ok_buf) {
				memcpy(d->ok_buf, str, len);
				d->ok_len = len;
			}
			osip_free(str);
		}
		cp_sip_msg_response_peer(tr->orig_request, &t->peer, &d->ok_peer);
		d->invite_cseq = (uint32_t)strtoul(tr->orig_request->cseq->number, NULL, 10);
		d->acked = false;
		wait_add(s, d);
		d->ok_start_ms = cp_sip_now_ms();
		d->ok_interval_ms = s->t1_ms;
		d->ok_next_ms = d->ok_start_ms + s->t1_ms;
		if (p->dialog)
			d->initial = false;
		if (dialog)
			*dialog = d;
	}
	cp_sip_tx_event(s, tr, osip_new_outgoing_sipmessage(resp));
	cp_sip_pending_drop(p);
	if (!s->in_poll)
		cp_sip_run(s);
	return rc;
}

/* ---- requests from us in a dialog ---- */

/* method (BYE, INVITE, ACK) in dialog d with CSeq cseq: Request-URI the remote target,
 * Route set, Via (a fresh branch, our external address if configured), From, To,
 * Call-ID, CSeq, Max-Forwards, User-Agent. *peer: where it goes (the first route,
 * or over UDP when the dialog's connection is gone). 0 or -errno. */
int cp_sip_dialog_request(struct cp_sip_dialog *d, const char *method, uint32_t cseq,
			  osip_message_t **out, struct cp_sip_peer *peer)
{
	struct cp_sip *s = d->s;
	osip_message_t *m = NULL;
	char buf[512], ip[16], br[20];
	struct in_addr a;
	uint16_t via_port;

	*peer = d->peer;
	if (peer->transport != CFG_SIP_UDP && !cp_sip_conn_get(s, peer->conn_id)) {
		peer->transport = CFG_SIP_UDP;
		peer->conn_id = 0;
		peer->listener = 0;
		for (unsigned i = 0; i < s->n_lis; i++)
			if (s->lis[i].transport == CFG_SIP_UDP) {
				peer->listener = i;
				peer->local_port = s->lis[i].addr.port;
				break;
			}
	}
	if (osip_message_init(&m) != 0)
		return -ENOMEM;
	osip_message_set_method(m, osip_strdup(method));
	osip_message_set_version(m, osip_strdup("SIP/2.0"));
	if (osip_uri_init(&m->req_uri) != 0 || osip_uri_parse(m->req_uri, d->remote_target) != 0)
		goto bad;
	/* loose routing: the request goes to the first route, if any */
	const osip_uri_t *hop = m->req_uri;
	osip_route_t *first = NULL;

	for (unsigned i = 0; i < d->n_routes; i++)
		osip_message_set_route(m, d->routes[i]);
	if (osip_message_get_route(m, 0, &first) >= 0 && first && first->url)
		hop = first->url;
	if (peer->transport == CFG_SIP_UDP && hop->host && inet_pton(AF_INET, hop->host, &a) == 1) {
		peer->ip = ntohl(a.s_addr);
		peer->port = hop->port ? (uint16_t)atoi(hop->port) : 5060;
	}
	cp_sip_msg_self(s, peer, ip, &via_port);
	cp_sip_msg_random_token(s, br, sizeof(br));
	snprintf(buf, sizeof(buf), "SIP/2.0/%s %s:%u;branch=z9hG4bK%s;rport",
		 cp_sip_transport_name(peer->transport), ip, via_port, br);
	if (osip_message_set_via(m, buf) != 0 || osip_message_set_from(m, d->local_hdr) != 0 ||
	    osip_message_set_to(m, d->remote_hdr) != 0 ||
	    osip_message_set_call_id(m, d->call_id) != 0)
		goto bad;
	snprintf(buf, sizeof(buf), "%u %s", cseq, method);
	osip_message_set_cseq(m, buf);
	osip_message_set_max_forwards(m, "70");
	osip_message_set_header(m, "User-Agent", CP_SIP_AGENT);
	*out = m;
	return 0;
bad:
	osip_message_free(m);
	return -EINVAL;
}

/* Start a client transaction (NICT or ICT) for m, owned by a new txd. It is only
 * queued: the next cp_sip_run (cp_sip_poll) sends it, never this call, so the
 * caller names its owner (bye_dialog, reinvite_dialog) before it can run, and a
 * send that fails at once (no route, sendto refused) ends it from within the poll
 * through the kill callback, not under an application that called us. 0 or -errno;
 * m stays the caller's on failure. */
int cp_sip_dialog_send(struct cp_sip *s, osip_message_t *m, osip_fsm_type_t type,
		       const struct cp_sip_peer *peer, struct cp_sip_txd **out)
{
	osip_transaction_t *tr = NULL;
	struct cp_sip_txd *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	if (osip_transaction_init(&tr, type, s->osip, m) != 0) {
		free(t);
		return -ENOMEM;
	}
	t->peer = *peer;
	if (cp_sip_tx_adopt(s, tr, t) != 0) {
		cp_sip_kill_later(s, tr);
		return -ENOMEM;
	}
	cp_sip_tx_event(s, tr, osip_new_outgoing_sipmessage(m));
	*out = t;
	return 0;
}

int cp_sip_send_bye(struct cp_sip_dialog *d, const char *reason)
{
	struct cp_sip_peer peer;
	osip_message_t *m = NULL;
	struct cp_sip_txd *t;
	char buf[256];

	if (d->bye_sent || d->ending)
		return -EALREADY;
	if (cp_sip_dialog_request(d, "BYE", ++d->local_cseq, &m, &peer) != 0)
		return -EINVAL;
	if (reason && *reason) {
		snprintf(buf, sizeof(buf), "SIP;cause=200;text=\"%.200s\"", reason);
		for (char *c = buf + 20; *c; c++)
			if (*c == '"' && c[1] != 0)
				*c = '\'';
		osip_message_set_header(m, "Reason", buf);
	}
	if (cp_sip_dialog_send(d->s, m, NICT, &peer, &t) != 0) {
		osip_message_free(m);
		return -ENOMEM;
	}
	t->bye_dialog = d;
	d->bye_txd = t;
	d->bye_sent = true;
	return 0;
}

void cp_sip_bye_result(struct cp_sip *s, osip_transaction_t *tr, int status)
{
	struct cp_sip_txd *t = osip_transaction_get_reserved1(tr);
	struct cp_sip_dialog *d = t ? t->bye_dialog : NULL;
	char why[48];

	(void)s;
	if (!d)
		return;
	t->bye_dialog = NULL;
	d->bye_txd = NULL;
	if (d->bye_why)
		snprintf(why, sizeof(why), "%s", d->bye_why);
	else if (status == 408)
		snprintf(why, sizeof(why), "BYE timeout");
	else if (status < 300)
		snprintf(why, sizeof(why), "BYE answered");
	else
		snprintf(why, sizeof(why), "BYE answered %d", status);
	cp_sip_dialog_end(d, why, false);
}
