/* SPDX-License-Identifier: BSD-3-Clause
 * SIP message helpers on top of libosip2's parser: responses, Via
 * received/rport, header joins, tags, Contact, sending a message. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cp_sip_priv.h"

static void ip_str(uint32_t ip, char *buf)
{
	struct in_addr a = { htonl(ip) };

	inet_ntop(AF_INET, &a, buf, 16);
}

void cp_sip_msg_random_token(struct cp_sip *s, char *buf, size_t n)
{
	snprintf(buf, n, "%016llx", (unsigned long long)cp_sip_random(s));
}

const char *cp_sip_msg_tag(osip_from_t *h)
{
	osip_generic_param_t *tag = NULL;

	if (!h || osip_from_get_tag(h, &tag) != 0 || !tag)
		return NULL;
	return tag->gvalue;
}

/* RFC 3261 18.2.1 and RFC 3581: received on the top Via when the sent-by
 * host is not the source address or when rport asks, rport filled in. */
void cp_sip_msg_fix_via(osip_message_t *req, const struct cp_sip_peer *p)
{
	osip_via_t *via = osip_list_get(&req->vias, 0);
	osip_generic_param_t *rport = NULL, *recv = NULL;
	char ip[16], port[8];

	if (!via)
		return;
	ip_str(p->ip, ip);
	osip_via_param_get_byname(via, "rport", &rport);
	osip_via_param_get_byname(via, "received", &recv);
	if (recv) {
		osip_free(recv->gvalue);
		recv->gvalue = osip_strdup(ip);
	} else if (rport || !via->host || strcmp(via->host, ip) != 0) {
		osip_via_set_received(via, osip_strdup(ip));
	}
	if (rport) {
		snprintf(port, sizeof(port), "%u", p->port);
		osip_free(rport->gvalue);
		rport->gvalue = osip_strdup(port);
	}
}

/* Append value to the ", "-joined list *out of *len bytes; false when out of memory. */
static bool join_append(char **out, size_t *len, const char *value)
{
	size_t vl = strlen(value);
	char *nb = realloc(*out, *len + vl + 3);

	if (!nb)
		return false;
	*out = nb;
	if (*len) {
		memcpy(nb + *len, ", ", 2);
		*len += 2;
	}
	memcpy(nb + *len, value, vl);
	*len += vl;
	nb[*len] = 0;
	return true;
}

static void join_named(const osip_message_t *m, const char *hname, char **out, size_t *len)
{
	osip_header_t *h = NULL;

	for (int pos = 0; (pos = osip_message_header_get_byname(m, hname, pos, &h)) >= 0; pos++)
		if (h && h->hvalue && !join_append(out, len, h->hvalue))
			break;
}

/* Values of every header named hname joined by ", "; malloc'd or NULL. */
char *cp_sip_msg_join(const osip_message_t *m, const char *hname)
{
	return cp_sip_msg_join_forms(m, hname, NULL);
}

char *cp_sip_msg_join_forms(const osip_message_t *m, const char *full, const char *compact)
{
	char *out = NULL;
	size_t len = 0;

	join_named(m, full, &out, &len);
	if (compact)
		join_named(m, compact, &out, &len);
	return out;
}

char *cp_sip_msg_accepts(const osip_message_t *m)
{
	osip_accept_t *a = NULL;
	char *out = NULL, *str;
	size_t len = 0;

	for (int pos = 0; osip_message_get_accept(m, pos, &a) >= 0 && a; pos++) {
		str = NULL;
		if (osip_accept_to_str(a, &str) != 0 || str == NULL)
			continue;
		bool ok = join_append(&out, &len, str);

		osip_free(str);
		if (!ok)
			break;
	}
	return out;
}

void cp_sip_msg_self(const struct cp_sip *s, const struct cp_sip_peer *p, char ip[16],
		     uint16_t *port)
{
	const struct cfg_sip *c = &s->cfg->sip;

	ip_str(c->has_external ? c->external.ip : p->local_ip, ip);
	*port = c->has_external && c->external.port ? c->external.port : p->local_port;
}

void cp_sip_msg_contact(const struct cp_sip *s, const struct cp_sip_peer *p, const char *params,
			char *buf, size_t n)
{
	char ip[16];
	uint16_t port;
	const char *tp = p->transport == CFG_SIP_TCP ? "tcp" : p->transport == CFG_SIP_TLS ? "tls" : "udp";

	cp_sip_msg_self(s, p, ip, &port);
	snprintf(buf, n, "<sip:rtprec@%s:%u;transport=%s>%s", ip, port, tp, params ? params : "");
}

void cp_sip_msg_add_caps(osip_message_t *m)
{
	osip_message_set_header(m, "Allow", CP_SIP_ALLOW);
	osip_message_set_header(m, "Supported", "siprec, timer");
}

/* RFC 3261 8.2.1: a method rtprec knows (refused with 405 when it does not
 * serve it) or not (501). Methods are case-sensitive. */
bool cp_sip_msg_method_known(const char *m, size_t n)
{
	static const char *const known[] = { "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "UPDATE",
					     "REGISTER", "PRACK", "SUBSCRIBE", "NOTIFY", "PUBLISH",
					     "INFO", "REFER", "MESSAGE" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == n && memcmp(known[i], m, n) == 0)
			return true;
	return false;
}

/* RFC 3261 8.2.2.1: Request-URI schemes rtprec takes; others get 416. */
bool cp_sip_msg_scheme_ok(const char *scheme, size_t n)
{
	return (n == 3 && (strncasecmp(scheme, "sip", 3) == 0 || strncasecmp(scheme, "tel", 3) == 0)) ||
	       (n == 4 && strncasecmp(scheme, "sips", 4) == 0);
}

/* RFC 3261 8.2.2.3: the Require option tags rtprec does not support (any
 * but siprec and timer), joined by ", "; malloc'd, or NULL when there is none. */
char *cp_sip_msg_unsupported(const osip_message_t *m)
{
	char *req = cp_sip_msg_join(m, "require");
	char *out = req ? malloc(2 * strlen(req) + 1) : NULL;
	size_t o = 0;

	for (const char *p = req; out && *p;) {
		size_t tl;

		p += strspn(p, ", \t");
		tl = strcspn(p, ", \t");
		if (tl && !(tl == 6 && strncasecmp(p, "siprec", 6) == 0) &&
		    !(tl == 5 && strncasecmp(p, "timer", 5) == 0)) {
			if (o) {
				memcpy(out + o, ", ", 2);
				o += 2;
			}
			memcpy(out + o, p, tl);
			o += tl;
		}
		p += tl;
	}
	free(req);
	if (out && o == 0) {
		free(out);
		out = NULL;
	}
	if (out)
		out[o] = 0;
	return out;
}

/* A To tag on a final response that has none (RFC 3261 8.2.6.2). */
void cp_sip_msg_add_tag(struct cp_sip *s, osip_message_t *r, int status)
{
	char tag[20];

	if (status <= 100 || !r->to || cp_sip_msg_tag(r->to))
		return;
	cp_sip_msg_random_token(s, tag, sizeof(tag));
	osip_to_set_tag(r->to, osip_strdup(tag));
}

/* A response to req with Via/From/To/Call-ID/CSeq copied. */
int cp_sip_msg_response(struct cp_sip *s, const osip_message_t *req, int status,
			const char *reason, osip_message_t **out)
{
	osip_message_t *r;
	int rc;

	(void)s;
	if (osip_list_size(&req->vias) < 1)
		return -1;
	if (osip_message_init(&r) != 0)
		return -1;
	osip_message_set_version(r, osip_strdup("SIP/2.0"));
	osip_message_set_status_code(r, status);
	if (!reason)
		reason = osip_message_get_reason(status);
	osip_message_set_reason_phrase(r, osip_strdup(reason ? reason : "Unknown"));
	rc = osip_list_clone(&req->vias, &r->vias, (int (*)(void *, void **))osip_via_clone);
	if (req->from)
		rc |= osip_from_clone(req->from, &r->from);
	if (req->to)
		rc |= osip_to_clone(req->to, &r->to);
	if (req->call_id)
		rc |= osip_call_id_clone(req->call_id, &r->call_id);
	if (req->cseq)
		rc |= osip_cseq_clone(req->cseq, &r->cseq);
	if (rc != 0) {
		osip_message_free(r);
		return -1;
	}
	osip_message_set_header(r, "Server", CP_SIP_AGENT);
	*out = r;
	return 0;
}

int cp_sip_msg_send(struct cp_sip *s, const osip_message_t *m, const struct cp_sip_peer *p)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (osip_message_to_str((osip_message_t *)m, &buf, &len) != 0 || !buf)
		return -1;
	rc = cp_sip_send_raw(s, p, buf, len);
	osip_free(buf);
	if (rc == 0 && MSG_IS_RESPONSE(m)) {
		s->ctr.responses_out++;
		if (m->status_code >= 100 && m->status_code <= 699)
			s->by_method[cp_sip_method_index(m->cseq ? m->cseq->method : NULL)]
				    [m->status_code - 100]++;
	}
	return rc;
}

/* Where a response goes, RFC 3261 18.2.2 / RFC 3581: on the connection for
 * TCP/TLS, else to received (or sent-by) and rport (or sent-by port). */
void cp_sip_msg_response_peer(const osip_message_t *req, const struct cp_sip_peer *in,
			      struct cp_sip_peer *out)
{
	*out = *in;
	if (in->transport != CFG_SIP_UDP)
		return;
	osip_via_t *via = osip_list_get(&req->vias, 0);
	osip_generic_param_t *rport = NULL;
	struct in_addr a;

	if (!via)
		return;
	osip_via_param_get_byname(via, "rport", &rport);
	if (rport && rport->gvalue)
		return; /* source address and port */
	if (via->port) {
		int port = atoi(via->port);

		if (port > 0 && port < 65536)
			out->port = (uint16_t)port;
	} else {
		out->port = 5060;
	}
	osip_generic_param_t *recv = NULL;

	osip_via_param_get_byname(via, "received", &recv);
	if (!recv && via->host && inet_pton(AF_INET, via->host, &a) == 1)
		out->ip = ntohl(a.s_addr);
}

/* Send a response made outside any transaction and free it: a Warning on
 * refusals, to where its top Via (the request's, received/rport set) says. */
void cp_sip_msg_send_stateless(struct cp_sip *s, osip_message_t *r, int status,
			       const char *reason, const struct cp_sip_peer *p)
{
	struct cp_sip_peer to;

	if (status == 405 || status == 501 || status == 200)
		cp_sip_msg_add_caps(r);
	if (status >= 400 && reason != NULL) {
		char warn[256];
		snprintf(warn, sizeof(warn), "399 rtprec \"%s\"", reason);
		osip_message_set_header(r, "Warning", warn);
	}
	cp_sip_msg_response_peer(r, p, &to);
	cp_sip_msg_send(s, r, &to);
	osip_message_free(r);
}

void cp_sip_msg_reply_stateless(struct cp_sip *s, osip_message_t *req, int status,
				const char *reason, const struct cp_sip_peer *p)
{
	osip_message_t *r = NULL;

	if (cp_sip_msg_response(s, req, status, reason, &r) != 0)
		return;
	cp_sip_msg_add_tag(s, r, status);
	cp_sip_msg_send_stateless(s, r, status, reason, p);
}

void cp_sip_msg_reply_busy(struct cp_sip *s, osip_message_t *req, unsigned retry_s,
			   const struct cp_sip_peer *p)
{
	osip_message_t *r = NULL;
	char ra[16];

	if (cp_sip_msg_response(s, req, 503, "Rate Limited", &r) != 0)
		return;
	snprintf(ra, sizeof(ra), "%u", retry_s);
	osip_message_set_header(r, "Retry-After", ra);
	cp_sip_msg_add_tag(s, r, 503);
	cp_sip_msg_send_stateless(s, r, 503, NULL, p);
}
