/* SPDX-License-Identifier: BSD-3-Clause
 * Answers to requests libosip2 cannot parse at all (a quote left open, a
 * display name with commas, two From headers, a NUL byte, a Request-Line
 * with extra spaces, an odd Request-URI: RFC 4475 3.1.2): RFC 3261 8.2
 * wants them refused rather than dropped. The response is made from the raw
 * text: its status from the Request-Line (501 for a method rtprec does not
 * know, 416 for a Request-URI scheme it does not take, else 400), the Vias
 * parsed one header at a time, From, To, Call-ID and CSeq copied as they
 * came. Responses, ACKs, lines that are no Request-Line and requests
 * without a Via that parses are dropped: there is nothing to answer.
 * Also where a raw message's header block ends and its body starts (stream
 * framing, whole bodies for SIPREC). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cp_sip_priv.h"

/* Length of the RFC 3261 token at the start of l, up to n. */
static size_t token_len(const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && l[i] && (isalnum((unsigned char)l[i]) || strchr("-.!%*_+`'~", l[i])))
		i++;
	return i;
}

/* n when uri[0..n) is an RFC 3986 scheme, else 0 (say "<sip"). */
static size_t scheme_len(const char *uri, size_t n)
{
	if (n == 0 || !isalpha((unsigned char)uri[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)uri[i]) && (!uri[i] || !strchr("+-.", uri[i])))
			return 0;
	return n;
}

/* The status for a Request-Line (without its CRLF), or 0: not one. */
static int line_status(const char *l, size_t n)
{
	size_t ml = token_len(l, n);
	const char *uri, *end = l + n, *sp, *colon;

	if (ml == 0 || ml >= n || l[ml] != ' ' || !memmem(l, n, " SIP/2.0", 8))
		return 0;
	if (ml == 3 && memcmp(l, "ACK", 3) == 0)
		return 0;
	if (!cp_sip_msg_method_known(l, ml))
		return 501; /* RFC 3261 8.2.1 comes before 8.2.2 */
	uri = l + ml + 1;
	sp = memchr(uri, ' ', (size_t)(end - uri));
	colon = memchr(uri, ':', (size_t)(end - uri));
	if (sp && end - sp == 8 && colon && colon < sp && scheme_len(uri, (size_t)(colon - uri)) &&
	    !cp_sip_msg_scheme_ok(uri, (size_t)(colon - uri)))
		return 416;
	return 400;
}

bool cp_sip_is_hdr(const char *name, size_t n, const char *full, char compact)
{
	return (n == strlen(full) && strncasecmp(name, full, n) == 0) ||
	       (compact && n == 1 && tolower((unsigned char)name[0]) == compact);
}

/* One header (name, value) into the response; false: a Via that does not
 * parse (then there is nowhere to send it). */
static bool add_header(struct cp_sip *s, osip_message_t *r, const char *name, size_t nl,
		       char *value)
{
	static const struct { const char *full; char compact; bool tag; } copied[] = {
		{ "From", 'f', false }, { "To", 't', true }, { "Call-ID", 'i', false },
		{ "CSeq", 0, false },
	};
	char via[] = "via", tag[20], *v;

	if (cp_sip_is_hdr(name, nl, "Via", 'v'))
		return osip_message_set_multiple_header(r, via, value) == 0;
	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		osip_header_t *h = NULL;

		if (!cp_sip_is_hdr(name, nl, copied[i].full, copied[i].compact) ||
		    osip_message_header_get_byname(r, copied[i].full, 0, &h) >= 0)
			continue; /* the first one only */
		if (copied[i].tag && !strcasestr(value, "tag=")) {
			cp_sip_msg_random_token(s, tag, sizeof(tag));
			v = malloc(strlen(value) + sizeof(tag) + 6);
			if (v) {
				strcat(strcat(strcpy(v, value), ";tag="), tag);
				osip_message_set_header(r, copied[i].full, v);
				free(v);
			}
		} else {
			osip_message_set_header(r, copied[i].full, value);
		}
	}
	return true;
}

/* The headers from p (after the start line) to the blank line, folded lines
 * joined with a space, into r. false: a Via that does not parse. */
static bool add_headers(struct cp_sip *s, osip_message_t *r, const char *p, const char *end)
{
	char *val = malloc((size_t)(end - p) + 1);
	const char *name = NULL;
	size_t nl = 0, vl = 0;
	bool ok = val != NULL, last = false;

	while (ok && !last) {
		const char *e = memchr(p, '\n', (size_t)(end - p)), *colon;
		size_t ll = (size_t)((e ? e : end) - p);
		bool folded;

		last = e == NULL;
		if (ll && p[ll - 1] == '\r')
			ll--;
		folded = name && ll && (p[0] == ' ' || p[0] == '\t');
		if (name && !folded) {
			val[vl] = 0;
			ok = add_header(s, r, name, nl, val);
			name = NULL;
		}
		if (ll == 0)
			break; /* the blank line */
		if (folded) {
			while (ll && (*p == ' ' || *p == '\t'))
				p++, ll--;
			val[vl++] = ' ';
			memcpy(val + vl, p, ll);
			vl += ll;
		} else if ((colon = memchr(p, ':', ll)) != NULL) {
			name = p;
			for (nl = (size_t)(colon - p); nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t');)
				nl--;
			ll -= (size_t)(colon + 1 - p);
			p = colon + 1;
			while (ll && (*p == ' ' || *p == '\t'))
				p++, ll--;
			memcpy(val, p, ll);
			vl = ll;
		}
		if (e)
			p = e + 1;
	}
	if (ok && name) {
		val[vl] = 0;
		ok = add_header(s, r, name, nl, val);
	}
	free(val);
	return ok;
}

bool cp_sip_raw_reply(struct cp_sip *s, const char *buf, size_t len,
		      const struct cp_sip_peer *from)
{
	const char *end = buf + len, *eol = memchr(buf, '\n', len);
	size_t ll = eol ? (size_t)(eol - buf) : len;
	osip_message_t *r = NULL;
	int status;

	if (ll && buf[ll - 1] == '\r')
		ll--;
	status = eol ? line_status(buf, ll) : 0;
	if (status == 0 || osip_message_init(&r) != 0)
		return false;
	if (!add_headers(s, r, eol + 1, end) || osip_list_size(&r->vias) < 1) {
		osip_message_free(r);
		return false;
	}
	osip_message_set_version(r, osip_strdup("SIP/2.0"));
	osip_message_set_status_code(r, status);
	osip_message_set_reason_phrase(r, osip_strdup(osip_message_get_reason(status)));
	osip_message_set_header(r, "Server", CP_SIP_AGENT);
	cp_sip_msg_fix_via(r, from);
	cp_sip_msg_send_stateless(s, r, status, status == 400 ? "Malformed message" : NULL, from);
	return true;
}

/* A message's header block ends at its first empty line, CRLF or a bare LF (RFC 3261 7.5:
 * some stacks end lines with LF only; the first blank line, not the first CRLFCRLF, which
 * may be in a multipart body); line ends before the start line are no empty line. */
size_t cp_sip_hdr_end(const char *buf, size_t len)
{
	const char *end = buf + len, *p = buf;

	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p++;
		if (p < end && *p == '\n')
			return (size_t)(p + 1 - buf);
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			return (size_t)(p + 2 - buf);
	}
	return 0;
}

size_t cp_sip_raw_body(const char *buf, size_t len, const osip_message_t *m, const char **body)
{
	size_t hl = cp_sip_hdr_end(buf, len), clen = len - hl;

	if (hl == 0)
		return 0;
	if (m->content_length != NULL && m->content_length->value != NULL) {
		size_t want = strtoul(m->content_length->value, NULL, 10);

		if (want < clen)
			clen = want;
	}
	*body = buf + hl;
	return clen;
}
