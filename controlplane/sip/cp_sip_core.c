/* SPDX-License-Identifier: BSD-3-Clause
 * cp_sip: life cycle, the poll loop, and the receive path from bytes to
 * libosip2 transactions (validation, 400/513, Via received/rport). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/time.h>

#include "cp_sip_priv.h"

uint64_t cp_sip_random(struct cp_sip *s)
{
	/* xorshift64*, seeded from getrandom at create */
	s->rnd ^= s->rnd >> 12;
	s->rnd ^= s->rnd << 25;
	s->rnd ^= s->rnd >> 27;
	return s->rnd * 2685821657736338717ull;
}

void cp_sip_kill_later(struct cp_sip *s, osip_transaction_t *tr)
{
	for (unsigned i = 0; i < s->n_dead; i++)
		if (s->dead[i] == tr)
			return;
	if (s->n_dead == s->cap_dead) {
		unsigned cap = s->cap_dead ? s->cap_dead * 2 : 64;
		osip_transaction_t **nd = realloc(s->dead, cap * sizeof(*nd));

		if (!nd)
			return; /* leaks one transaction rather than crash */
		s->dead = nd;
		s->cap_dead = cap;
	}
	s->dead[s->n_dead++] = tr;
}

static void free_dead(struct cp_sip *s)
{
	for (unsigned i = 0; i < s->n_dead; i++)
		cp_sip_tx_free(s, s->dead[i]);
	s->n_dead = 0;
}

void cp_sip_run(struct cp_sip *s)
{
	cp_sip_tx_run(s);
	free_dead(s);
}

/* ---- receive path ---- */

/* 0 when the message may go on, else the status a request is refused with
 * (responses that fail are dropped) and *why. */
static int validate(osip_message_t *m, unsigned flags, const char **why)
{
	*why = NULL;
	if (strcasecmp(m->sip_version, "SIP/2.0") != 0) {
		*why = "Version Not Supported"; /* RFC 3261 8.2.2.1 */
		return 505;
	}
	if (!m->from)
		*why = "Missing or bad From";
	else if (!m->to)
		*why = "Missing or bad To";
	else if (!m->call_id || !m->call_id->number)
		*why = "Missing or bad Call-ID";
	else if (!m->cseq || !m->cseq->number || !m->cseq->method)
		*why = "Missing or bad CSeq";
	else if (strspn(m->cseq->number, "0123456789") != strlen(m->cseq->number) ||
		 strlen(m->cseq->number) > 10 || strtoull(m->cseq->number, NULL, 10) > 0x7fffffffu)
		*why = "Bad CSeq number";
	else if (m->content_length && (!m->content_length->value || !*m->content_length->value ||
				       strspn(m->content_length->value, "0123456789") !=
					       strlen(m->content_length->value)))
		*why = "Bad Content-Length"; /* RFC 4475 3.1.2.3: -999 is no length */
	if (*why || !MSG_IS_REQUEST(m))
		return *why ? 400 : 0;
	if (!m->req_uri || !m->req_uri->scheme)
		*why = "Bad Request-URI";
	else if (strcmp(m->sip_method, m->cseq->method) != 0)
		*why = "CSeq method does not match";
	else if (!cp_sip_msg_tag(m->from))
		*why = "Missing From tag";
	else if (flags & CP_SIP_RX_NOCL)
		*why = "Missing Content-Length";
	if (*why)
		return 400;
	if (!cp_sip_msg_scheme_ok(m->req_uri->scheme, strlen(m->req_uri->scheme))) {
		*why = "Unsupported URI Scheme";
		return 416;
	}
	return 0;
}

static bool blank(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != '\r' && b[i] != '\n' && b[i] != ' ' && b[i] != '\t' && b[i] != 0)
			return false;
	return true;
}

/* The header block of buf with any Content-Length made 0 (to answer 513
 * for a message whose body is not all here). malloc'd, or NULL. */
static char *headers_only(const char *buf, size_t len, size_t *out_len)
{
	char *o = malloc(len + 24);
	size_t n = 0, i = 0;

	if (!o)
		return NULL;
	while (i < len) {
		size_t e = i;

		while (e < len && buf[e] != '\n')
			e++;
		size_t ll = e - i + (e < len);
		const char *l = buf + i;

		if (ll <= 2 && (l[0] == '\r' || l[0] == '\n'))
			break;
		bool is_cl = (ll > 15 && strncasecmp(l, "content-length", 14) == 0 &&
			      (l[14] == ':' || l[14] == ' ' || l[14] == '\t')) ||
			     (ll > 2 && (l[0] == 'l' || l[0] == 'L') &&
			      (l[1] == ':' || l[1] == ' ' || l[1] == '\t'));

		if (!is_cl) {
			memcpy(o + n, l, ll);
			n += ll;
		}
		i = e + 1;
	}
	static const char tail[] = "Content-Length: 0\r\n\r\n";

	memcpy(o + n, tail, sizeof(tail) - 1);
	*out_len = n + sizeof(tail) - 1;
	return o;
}

#define SIP_MP_TYPES 8 /* multipart Content-Type headers renamed at most */

/* Next line of buf from *i: its start and length without the terminator (CRLF, CR or
 * LF, as libosip2 accepts them); false at the end of buf. */
static bool next_line(const char *buf, size_t len, size_t *i, size_t *start, size_t *ll)
{
	size_t e = *i;

	if (e >= len)
		return false;
	while (e < len && buf[e] != '\r' && buf[e] != '\n')
		e++;
	*start = *i;
	*ll = e - *i;
	if (e < len && buf[e] == '\r' && e + 1 < len && buf[e + 1] == '\n')
		e++;
	*i = e + 1;
	return true;
}

/* Offset of the value in the header line l (ll bytes) when it is a Content-Type (or
 * "c"), else -1. */
static long content_type_value(const char *l, size_t ll)
{
	const char *colon = memchr(l, ':', ll);
	size_t n;

	if (colon == NULL)
		return -1;
	n = (size_t)(colon - l);
	while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t'))
		n--;
	return cp_sip_is_hdr(l, n, "content-type", 'c') ? colon - l + 1 : -1;
}

/* Offsets in buf of the type of each multipart Content-Type on any line of buf (its
 * value may start on a folded line); -1 when there are more than max. Any line, not
 * only the header block: where libosip2 starts the headers is its own (a request line
 * without a version runs on over the next lines), and a part's headers in the body
 * count too. */
static int multipart_types(const char *buf, size_t len, size_t *pos, int max)
{
	size_t i = 0, st, ll, v;
	bool pending = false; /* a Content-Type whose value has not started yet */
	int n = 0;

	while (next_line(buf, len, &i, &st, &ll)) {
		const char *l = buf + st;
		bool folded = ll != 0 && (l[0] == ' ' || l[0] == '\t');
		long at = folded ? (pending ? 0 : -1) : content_type_value(l, ll);

		pending = false;
		if (at < 0)
			continue;
		for (v = (size_t)at; v < ll && (l[v] == ' ' || l[v] == '\t'); v++)
			;
		if (v == ll) {
			pending = true; /* the value may come on the next, folded, line */
			continue;
		}
		if (ll - v < 9 || strncasecmp(l + v, "multipart", 9) != 0)
			continue;
		if (n == max)
			return -1;
		pos[n++] = st + v;
	}
	return n;
}

/* libosip2 splits multipart bodies itself: it refuses the whole message when a quirk
 * of the SRC's (blanks after a delimiter, no final boundary, a boundary parameter with a
 * blank in it) puts it off, and it loses memory when a part has two Content-Type headers
 * (libosip2 5.3; found by fuzz_sip). rtprec has its own lenient splitter for the raw
 * body, so libosip2 never sees a multipart type: a copy of the message is parsed with
 * each multipart Content-Type renamed (same length: "xultipart") so that the body stays
 * opaque, and the type is put back on the parsed message (the body, at the same offset
 * in buf, is taken from buf as for any message). NULL when it does not parse. */
static osip_event_t *sip_parse(const char *buf, size_t len)
{
	size_t pos[SIP_MP_TYPES];
	int n = multipart_types(buf, len, pos, SIP_MP_TYPES);
	osip_content_type_t *ct;
	osip_event_t *ev;
	char *c;

	if (n == 0)
		return osip_parse(buf, len);
	if (n < 0 || (c = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(c, buf, len);
	c[len] = '\0';
	for (int k = 0; k < n; k++)
		c[pos[k]] = 'x';
	ev = osip_parse(c, len);
	free(c);
	if (ev == NULL || ev->sip == NULL)
		goto fail;
	ct = ev->sip->content_type;
	if (ct != NULL && ct->type != NULL && strcasecmp(ct->type, "xultipart") == 0) {
		osip_free(ct->type);
		if ((ct->type = osip_strdup("multipart")) == NULL)
			goto fail;
	}
	return ev;
fail:
	if (ev)
		osip_event_free(ev);
	return NULL;
}

/* libosip2 refuses the whole message when its body does not parse (say a
 * multipart type without a boundary): answer 400 from the headers alone;
 * when those do not parse either, from the raw text (cp_sip_raw.c). */
static void reply_bad_body(struct cp_sip *s, const char *buf, size_t len,
			   const struct cp_sip_peer *from)
{
	size_t hl;
	char *h = headers_only(buf, len, &hl);
	osip_event_t *ev = h ? osip_parse(h, hl) : NULL;
	osip_message_t *m = ev ? ev->sip : NULL;

	free(h);
	s->ctr.parse_errors++;
	if (m && MSG_IS_REQUEST(m) && m->sip_method && strcmp(m->sip_method, "ACK") != 0 &&
	    osip_list_size(&m->vias) >= 1) {
		cp_sip_msg_fix_via(m, from);
		cp_sip_msg_reply_stateless(s, m, 400, "Malformed body", from);
	} else if (m || !cp_sip_raw_reply(s, buf, len, from)) {
		s->drops++;
	}
	if (ev)
		osip_event_free(ev);
}

/* Not a new out-of-dialog request: it meets its server transaction (a
 * retransmission), a CANCEL its INVITE's, or it belongs to a known dialog (in it,
 * or the dialog's INVITE again). */
static bool rate_exempt(struct cp_sip *s, osip_message_t *m)
{
	if (cp_sip_tx_find(s, m, NULL))
		return true;
	if (MSG_IS_CANCEL(m) && cp_sip_tx_find(s, m, "INVITE"))
		return true;
	return cp_sip_dialog_known(s, m);
}

/* sip.rate_limit on new out-of-dialog requests: responses and ACKs (told from their
 * first bytes) and requests of exchanges under way (rate_exempt; m: the message when
 * it parsed and is valid, else NULL) pass uncounted, so an SBC's retransmissions,
 * CANCELs and BYEs are not refused with its new calls. */
static enum cp_sip_rate_verdict rate_check(struct cp_sip *s, const char *buf, size_t len,
					   osip_message_t *m, const struct cp_sip_peer *from,
					   unsigned *retry_s)
{
	size_t i = 0;

	if (s->rate.rate == 0)
		return CP_SIP_RATE_PASS;
	while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if ((len - i >= 4 && strncmp(buf + i, "SIP/", 4) == 0) ||
	    (len - i >= 4 && strncmp(buf + i, "ACK ", 4) == 0) || (m && rate_exempt(s, m)))
		return CP_SIP_RATE_PASS;
	return cp_sip_rate_check(&s->rate, from->ip, cp_sip_now_ms(), retry_s);
}

/* A request over sip.rate_limit: 503 with Retry-After (REFUSE, valid) or nothing. */
static void rate_refuse(struct cp_sip *s, osip_message_t *m, enum cp_sip_rate_verdict rv,
			bool valid, unsigned retry_s, const struct cp_sip_peer *from)
{
	if (rv == CP_SIP_RATE_REFUSE && valid && MSG_IS_REQUEST(m) && !MSG_IS_ACK(m)) {
		cp_sip_msg_fix_via(m, from);
		cp_sip_msg_reply_busy(s, m, retry_s, from);
		s->ctr.rate_limited++;
	} else {
		s->ctr.rate_dropped++;
	}
}

/* A valid message to its transaction, or a new one for it (owns ev). */
static void receive_dispatch(struct cp_sip *s, osip_event_t *ev, const struct cp_sip_peer *from,
			     const char *body, size_t body_len)
{
	osip_message_t *m = ev->sip;
	osip_transaction_t *tr = cp_sip_tx_find(s, m, NULL);
	struct cp_sip_txd *t;

	if (tr) {
		cp_sip_tx_event(s, tr, ev); /* retransmission or response */
		return;
	}
	if (MSG_IS_RESPONSE(m)) {
		if (!cp_sip_reinvite_stray_2xx(s, m))
			s->drops++; /* stray response */
		osip_event_free(ev);
		return;
	}
	if (MSG_IS_ACK(m)) {
		cp_sip_dialog_ack(s, m);
		osip_event_free(ev);
		return;
	}
	if (MSG_IS_INVITE(m) && cp_sip_dialog_is_retrans_invite(s, m, from)) {
		osip_event_free(ev);
		return;
	}
	tr = osip_create_transaction(s->osip, ev);
	if (!tr) {
		s->drops++;
		osip_event_free(ev);
		return;
	}
	t = calloc(1, sizeof(*t) + body_len + 1);
	if (!t) {
		osip_event_free(ev);
		cp_sip_kill_later(s, tr);
		return;
	}
	t->peer = *from;
	if (body_len != 0)
		memcpy(t->body, body, body_len);
	t->body_len = body_len;
	if (cp_sip_tx_adopt(s, tr, t) != 0) {
		s->drops++;
		osip_event_free(ev);
		cp_sip_kill_later(s, tr);
		return;
	}
	cp_sip_tx_event(s, tr, ev);
}

void cp_sip_receive(struct cp_sip *s, const char *buf, size_t len, unsigned flags,
		    const struct cp_sip_peer *from)
{
	bool truncated = flags & CP_SIP_RX_TOOBIG;
	char *hb = NULL;
	const char *body = NULL, *why = NULL;
	size_t body_len = 0;
	osip_message_t *m;
	osip_event_t *ev;
	unsigned retry_s = 1;
	int status = -1;

	if (blank(buf, len))
		return;
	if (truncated) {
		hb = headers_only(buf, len, &len);
		if (!hb)
			return;
		buf = hb;
	}
	ev = sip_parse(buf, len);
	m = ev ? ev->sip : NULL;
	if (m && m->sip_version && (!MSG_IS_REQUEST(m) || m->sip_method) &&
	    osip_list_size(&m->vias) >= 1)
		status = validate(m, flags, &why);
	else if (m)
		m = NULL; /* unusable */
	if (m && !truncated)
		body_len = cp_sip_raw_body(buf, len, m, &body);
	enum cp_sip_rate_verdict rv =
		rate_check(s, buf, len, status == 0 && !truncated ? m : NULL, from, &retry_s);

	free(hb);
	if (m && MSG_IS_REQUEST(m) && rv != CP_SIP_RATE_DROP)
		s->ctr.requests_in++;
	if (rv != CP_SIP_RATE_PASS) {
		rate_refuse(s, m, rv, status == 0 && !truncated, retry_s, from);
	} else if (ev == NULL && !truncated) {
		reply_bad_body(s, buf, len, from);
		return;
	} else if (!m) {
		s->ctr.parse_errors++;
		s->drops++;
	} else if (status || truncated) {
		s->ctr.parse_errors += status != 0;
		if (MSG_IS_REQUEST(m) && !MSG_IS_ACK(m)) {
			cp_sip_msg_fix_via(m, from);
			cp_sip_msg_reply_stateless(s, m, status ? status : 513, why, from);
		} else {
			s->drops++;
		}
	} else {
		if (MSG_IS_REQUEST(m))
			cp_sip_msg_fix_via(m, from);
		receive_dispatch(s, ev, from, body, body_len);
		return;
	}
	if (ev)
		osip_event_free(ev);
}

/* ---- public ---- */

int cp_sip_create(const struct cfg *cfg, const struct cp_sip_app *app, struct cp_sip **out)
{
	struct cp_sip *s = calloc(1, sizeof(*s));
	unsigned buckets = 1024;
	int rc;

	if (!s)
		return -ENOMEM;
	s->cfg = cfg;
	if (app)
		s->app = *app;
	s->max_message = cfg->sip.max_message ? cfg->sip.max_message : 65535;
	s->max_conns = cfg->sip.max_connections ? cfg->sip.max_connections : 1024;
	if (s->max_conns > (1u << 20))
		s->max_conns = 1u << 20;
	unsigned ms = cfg->sip.max_sessions ? cfg->sip.max_sessions : 1000;

	s->max_pending = ms < 256 ? 256 : ms;
	while (buckets < ms && buckets < (1u << 20))
		buckets <<= 1;
	s->dhash_mask = buckets - 1;
	s->t1_ms = CP_SIP_T1_MS;
	s->t2_ms = CP_SIP_T2_MS;
	s->idle_ms = cfg->sip.limits.tcp_idle_s ? cfg->sip.limits.tcp_idle_s * 1000u : CP_SIP_IDLE_MS;
	s->msg_limit_ms = cfg->sip.limits.message_timeout_s ? cfg->sip.limits.message_timeout_s * 1000u
							    : CP_SIP_MSG_MS;
	s->hs_ms = cfg->sip.limits.tls_handshake_s ? cfg->sip.limits.tls_handshake_s * 1000u
						   : CP_SIP_TLS_HANDSHAKE_MS;
	if (getrandom(&s->rnd, sizeof(s->rnd), 0) != sizeof(s->rnd) || !s->rnd)
		s->rnd = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)s;
	s->udp_buf = malloc(s->max_message + 1);
	s->conns = calloc(s->max_conns, sizeof(*s->conns));
	s->dhash = calloc(buckets, sizeof(*s->dhash));
	s->pfd = calloc(CFG_MAX_SIP_LISTEN + s->max_conns, sizeof(*s->pfd));
	s->pfd_slot = calloc(CFG_MAX_SIP_LISTEN + s->max_conns, sizeof(*s->pfd_slot));
	if (!s->udp_buf || !s->conns || !s->dhash || !s->pfd || !s->pfd_slot ||
	    cp_sip_tx_init(s, buckets) != 0 ||
	    cp_sip_rate_init(&s->rate, cfg->sip.rate_limit.requests_per_s,
			     cfg->sip.rate_limit.burst, CP_SIP_RATE_SOURCES, (uint32_t)s->rnd) != 0) {
		cp_sip_free(s);
		return -ENOMEM;
	}
	rc = cp_sip_osip_setup(s);
	if (rc == 0)
		rc = cp_sip_transport_open(s);
	if (rc < 0) {
		cp_sip_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void cp_sip_free(struct cp_sip *s)
{
	if (!s)
		return;
	if (s->osip) {
		free_dead(s);
		while (s->pending)
			cp_sip_pending_drop(s->pending);
		cp_sip_dialog_free_all(s);
		free_dead(s);
		cp_sip_tx_free_all(s);
		osip_release(s->osip);
	}
	if (s->conns)
		cp_sip_transport_close(s);
	free(s->dead);
	free(s->udp_buf);
	free(s->conns);
	free(s->dhash);
	free(s->pfd);
	free(s->pfd_slot);
	cp_sip_rate_fini(&s->rate);
	free(s);
}

void cp_sip_poll(struct cp_sip *s, int timeout_ms)
{
	uint64_t now = cp_sip_now_ms(), next = now + (timeout_ms > 0 ? (uint64_t)timeout_ms : 0);
	unsigned n;
	int wait;

	s->in_poll++;
	uint64_t ot = cp_sip_tx_next_ms(s);

	ot = ot == UINT64_MAX ? UINT64_MAX : now + ot;
	if (cp_sip_tx_busy(s))
		ot = now;
	if (ot < next)
		next = ot;
	cp_sip_dialog_timers(s, now, &next);
	cp_sip_transport_timers(s, now, &next);
	wait = next > now ? (int)(next - now) : 0;
	n = cp_sip_transport_pollfds(s, s->pfd, CFG_MAX_SIP_LISTEN + s->max_conns);
	if (poll(s->pfd, n, wait) > 0)
		cp_sip_transport_events(s, s->pfd, n);
	cp_sip_tx_timers(s);
	cp_sip_run(s);
	now = cp_sip_now_ms();
	next = UINT64_MAX;
	cp_sip_dialog_timers(s, now, &next);
	cp_sip_transport_timers(s, now, &next);
	cp_sip_run(s);
	s->in_poll--;
}

void cp_sip_get_counters(const struct cp_sip *s, struct cp_sip_counters *c)
{
	*c = s->ctr;
}

void cp_sip_set_timers(struct cp_sip *s, unsigned t1_ms, unsigned t2_ms, unsigned idle_ms)
{
	if (t1_ms)
		s->t1_ms = t1_ms;
	if (t2_ms)
		s->t2_ms = t2_ms;
	if (idle_ms)
		s->idle_ms = idle_ms;
}

int cp_sip_feed_datagram(struct cp_sip *s, const void *buf, size_t len,
			 const struct sockaddr_in *src)
{
	struct cp_sip_peer p = { .transport = CFG_SIP_UDP };

	for (unsigned i = 0; i < s->n_lis; i++)
		if (s->lis[i].transport == CFG_SIP_UDP) {
			p.listener = i;
			p.local_ip = s->lis[i].addr.ip;
			p.local_port = s->lis[i].addr.port;
			break;
		}
	p.ip = ntohl(src->sin_addr.s_addr);
	p.port = ntohs(src->sin_port);
	s->in_poll++;
	if (len > s->max_message)
		cp_sip_receive(s, buf, s->max_message, true, &p);
	else
		cp_sip_receive(s, buf, len, false, &p);
	cp_sip_run(s);
	s->in_poll--;
	return 0;
}
