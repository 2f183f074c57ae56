/* SPDX-License-Identifier: BSD-3-Clause
 * re-INVITE from rtprec (a new offer in an established dialog: our media address
 * changed, or a session refresh), and its UPDATE (a metadata request). An INVITE client transaction; the ACK of its 2xx is ours to send (RFC 3261
 * 13.2.2.4), again for each retransmitted 2xx; one re-INVITE at a time per dialog, a
 * newer offer waits for the running one and replaces an older waiting one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_log.h"
#include "cp_sip_priv.h"

static int cp_sip_reinvite_start(struct cp_sip_dialog *d)
{
	struct cp_sip_peer peer;
	osip_message_t *m = NULL;
	struct cp_sip_txd *t;
	char contact[256], len[16];

	if (cp_sip_dialog_request(d, "INVITE", ++d->local_cseq, &m, &peer) != 0)
		return -EINVAL;
	cp_sip_msg_contact(d->s, &peer, NULL, contact, sizeof(contact));
	osip_message_set_contact(m, contact);
	cp_sip_msg_add_caps(m);
	osip_message_set_content_type(m, "application/sdp");
	osip_message_set_body(m, d->offer, d->offer_len);
	snprintf(len, sizeof(len), "%zu", d->offer_len);
	osip_message_set_content_length(m, len);
	if (cp_sip_dialog_send(d->s, m, ICT, &peer, &t) != 0) {
		osip_message_free(m);
		return -ENOMEM;
	}
	t->reinvite_dialog = d;
	d->reinvite_txd = t;
	d->reinvite_cseq = d->local_cseq;
	d->offer_waiting = false;
	return 0;
}

/* 491 to our re-INVITE (glare, RFC 3261 14.1): the offer again after a random 0-2 s
 * (the SRC owns the Call-ID; 4 * T1), unless a newer one replaces it meanwhile. */
static void reinvite_retry_later(struct cp_sip_dialog *d)
{
	struct cp_sip *s = d->s;

	d->offer_waiting = true;
	if (d->retry_ms != 0)
		return;
	d->retry_ms = cp_sip_now_ms() + cp_sip_random(s) % (4ull * s->t1_ms + 1);
	d->retry_next = s->retrying;
	s->retrying = d;
}

int cp_sip_send_reinvite(struct cp_sip_dialog *d, const char *sdp, size_t len)
{
	char *copy;

	if (d->bye_sent || d->ending)
		return -EALREADY;
	copy = malloc(len + 1);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, sdp, len);
	copy[len] = '\0';
	free(d->offer);
	d->offer = copy;
	d->offer_len = len;
	d->offer_waiting = true;
	if (d->reinvite_txd != NULL || d->retry_ms != 0)
		return 0; /* sent when the running one ends, or at its retry */
	return cp_sip_reinvite_start(d);
}

int cp_sip_send_update(struct cp_sip_dialog *d, const char *ctype, const char *body, size_t len)
{
	struct cp_sip_peer peer;
	osip_message_t *m = NULL;
	struct cp_sip_txd *t;
	char contact[256], clen[16];

	if (d->bye_sent || d->ending)
		return -EALREADY;
	if (cp_sip_dialog_request(d, "UPDATE", ++d->local_cseq, &m, &peer) != 0)
		return -EINVAL;
	cp_sip_msg_contact(d->s, &peer, NULL, contact, sizeof(contact));
	osip_message_set_contact(m, contact);
	cp_sip_msg_add_caps(m);
	osip_message_set_content_type(m, ctype);
	osip_message_set_body(m, body, len);
	snprintf(clen, sizeof(clen), "%zu", len);
	osip_message_set_content_length(m, clen);
	if (cp_sip_dialog_send(d->s, m, NICT, &peer, &t) != 0) {
		osip_message_free(m);
		return -ENOMEM;
	}
	return 0;
}

/* ACK for the 2xx of our re-INVITE (each copy of it gets one). */
static void cp_sip_reinvite_ack(struct cp_sip_dialog *d)
{
	struct cp_sip_peer peer;
	osip_message_t *ack = NULL;

	if (cp_sip_dialog_request(d, "ACK", d->reinvite_cseq, &ack, &peer) != 0)
		return;
	osip_message_set_content_length(ack, "0");
	cp_sip_msg_send(d->s, ack, &peer);
	osip_message_free(ack);
}

void cp_sip_reinvite_result(struct cp_sip *s, osip_transaction_t *tr, const osip_message_t *m,
			    bool again)
{
	struct cp_sip_txd *t = osip_transaction_get_reserved1(tr);
	struct cp_sip_dialog *d = t ? t->reinvite_dialog : NULL;
	int status = m ? m->status_code : 408;

	(void)s;
	if (d == NULL)
		return;
	if (status >= 200 && status < 300)
		cp_sip_reinvite_ack(d);
	if (again)
		return;
	if (status >= 300)
		LOG_WARN("re-INVITE in call %s answered %d", d->call_id, status);
	t->reinvite_dialog = NULL;
	d->reinvite_txd = NULL;
	if (status == 491 && !d->ending && !d->bye_sent)
		reinvite_retry_later(d);
	else if (d->offer_waiting && !d->ending && !d->bye_sent)
		cp_sip_reinvite_start(d);
}

void cp_sip_reinvite_forget(struct cp_sip_dialog *d)
{
	struct cp_sip_dialog **pp = &d->s->retrying;

	while (*pp && *pp != d)
		pp = &(*pp)->retry_next;
	if (*pp)
		*pp = d->retry_next;
	d->retry_ms = 0;
}

void cp_sip_reinvite_timers(struct cp_sip *s, uint64_t now, uint64_t *next)
{
	for (struct cp_sip_dialog *d = s->retrying, *n; d; d = n) {
		n = d->retry_next;
		if (now < d->retry_ms) {
			if (d->retry_ms < *next)
				*next = d->retry_ms;
			continue;
		}
		cp_sip_reinvite_forget(d);
		if (d->offer_waiting && !d->reinvite_txd && !d->ending && !d->bye_sent &&
		    cp_sip_reinvite_start(d) == 0)
			*next = now; /* queued: the poll runs it at once */
	}
}

bool cp_sip_reinvite_stray_2xx(struct cp_sip *s, const osip_message_t *m)
{
	struct cp_sip_dialog *d;

	if (m->status_code < 200 || m->status_code >= 300 || !m->cseq || !m->cseq->method ||
	    strcmp(m->cseq->method, "INVITE") != 0)
		return false;
	d = cp_sip_dialog_of_response(s, m);
	if (d == NULL || strtoul(m->cseq->number, NULL, 10) != d->reinvite_cseq)
		return false;
	cp_sip_reinvite_ack(d);
	return true;
}
