/* SPDX-License-Identifier: BSD-3-Clause
 * SDP offer parsing with libosip2 and answer building: see cp_sdp.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <osipparser2/osip_port.h>
#include <osipparser2/sdp_message.h>

#include "cp_sdp.h"

#define CP_SDP_MAX_LEN (64u * 1024)
#define CP_SDP_PAD 16

const char *cp_sdp_dir_name(enum cp_sdp_dir d)
{
	switch (d) {
	case CP_SDP_SENDRECV: return "sendrecv";
	case CP_SDP_SENDONLY: return "sendonly";
	case CP_SDP_RECVONLY: return "recvonly";
	case CP_SDP_INACTIVE: return "inactive";
	}
	return "recvonly";
}

static int dir_of(const char *field, enum cp_sdp_dir *d)
{
	static const char *const names[] = { "sendrecv", "sendonly", "recvonly", "inactive" };

	for (int i = 0; i < 4; i++)
		if (strcasecmp(field, names[i]) == 0) {
			*d = (enum cp_sdp_dir)i;
			return 1;
		}
	return 0;
}

static uint32_t ip4_of(const sdp_connection_t *c)
{
	struct in_addr a;

	if (!c || !c->c_addr || (c->c_addrtype && strcasecmp(c->c_addrtype, "IP4") != 0))
		return 0;
	if (inet_pton(AF_INET, c->c_addr, &a) != 1)
		return 0;
	return ntohl(a.s_addr);
}

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* Nothing with control characters is echoed into an answer. */
static int has_ctl(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 1;
	return 0;
}

const char *cp_sdp_suite_name(enum cp_sdp_suite s)
{
	switch (s) {
	case CP_SDP_AES_CM_128_HMAC_SHA1_80: return "AES_CM_128_HMAC_SHA1_80";
	case CP_SDP_AES_CM_128_HMAC_SHA1_32: return "AES_CM_128_HMAC_SHA1_32";
	case CP_SDP_SUITE_NONE: break;
	}
	return NULL;
}

int cp_sdp_is_savp(const char *proto)
{
	return strcasecmp(proto, "RTP/SAVP") == 0 || strcasecmp(proto, "RTP/SAVPF") == 0;
}

int cp_sdp_is_rtp(const char *proto)
{
	return strcasecmp(proto, "RTP/AVP") == 0 || strcasecmp(proto, "RTP/AVPF") == 0 ||
	       cp_sdp_is_savp(proto);
}

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Decode exactly n chars of base64 (with '=' padding) into out (cap bytes): bytes or -1. */
static int b64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t o = 0, pad = 0;
	unsigned bits = 0;

	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *p = in[i] ? strchr(b64chars, in[i]) : NULL;
		if (in[i] == '=' && n - i <= 2) {
			pad++;
			continue;
		}
		if (p == NULL || pad)
			return -1;
		acc = (acc << 6) | (uint32_t)(p - b64chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)o;
}

static void b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
	}
	out[o] = '\0';
}

/* What follows the key: "[lifetime][|MKI:length]" (RFC 4568 9.2); the MKI into c. */
static int key_tail(const char *t, struct cp_sdp_crypto *c)
{
	const char *bar = strchr(t, '|'), *mki = t, *colon;
	unsigned long long val;
	unsigned long len;
	char *end;

	if (bar != NULL) { /* lifetime|MKI:length */
		if (memchr(t, ':', (size_t)(bar - t)) != NULL || strchr(bar + 1, '|') != NULL)
			return -1;
		mki = bar + 1;
	} else if (strchr(t, ':') == NULL) {
		return 0; /* a lifetime alone */
	}
	colon = strchr(mki, ':');
	if (colon == NULL || !isdigit((unsigned char)mki[0]) ||
	    !isdigit((unsigned char)colon[1]))
		return -1;
	errno = 0;
	val = strtoull(mki, &end, 10);
	if (end != colon || errno != 0)
		return -1;
	len = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || len == 0 || len > CP_SDP_MKI_MAX || (len < 8 && val >> (8 * len) != 0))
		return -1;
	c->mki_len = (uint8_t)len;
	for (unsigned i = 0; i < len; i++)
		c->mki[len - 1 - i] = (uint8_t)(val >> (8 * i));
	return 0;
}

int cp_sdp_parse_crypto(const char *v, struct cp_sdp_crypto *c)
{
	char suite[40], params[sizeof(c->params)], rest[8];
	const char *b64, *bar;
	unsigned long tag;
	char *end;
	int n;

	memset(c, 0, sizeof(*c));
	tag = strtoul(v, &end, 10);
	if (end == v || end - v > 9 || *end != ' ')
		return -1;
	n = sscanf(end, " %39s %95s %7s", suite, params, rest);
	if (n != 2) /* no session parameters accepted */
		return -1;
	if (strcmp(suite, "AES_CM_128_HMAC_SHA1_80") == 0)
		c->suite = CP_SDP_AES_CM_128_HMAC_SHA1_80;
	else if (strcmp(suite, "AES_CM_128_HMAC_SHA1_32") == 0)
		c->suite = CP_SDP_AES_CM_128_HMAC_SHA1_32;
	else
		return -1;
	/* one key: "inline:<key||salt>[|lifetime][|MKI:length]"; no ';' (several keys) */
	if (strncmp(params, "inline:", 7) != 0 || strchr(params, ';') != NULL)
		goto bad;
	b64 = params + 7;
	bar = strchr(b64, '|');
	if (bar != NULL && key_tail(bar + 1, c) != 0)
		goto bad;
	if (b64_decode(b64, bar ? (size_t)(bar - b64) : strlen(b64), c->key, sizeof(c->key)) !=
	    CP_SDP_KEY_LEN)
		goto bad;
	c->tag = (unsigned)tag;
	snprintf(c->params, sizeof(c->params), "%s", params);
	return 0;
bad:
	memset(c, 0, sizeof(*c));
	return -1;
}

static int is_echoed(const char *field)
{
	return strcasecmp(field, "rtpmap") == 0 || strcasecmp(field, "fmtp") == 0 ||
	       strcasecmp(field, "ptime") == 0 || strcasecmp(field, "maxptime") == 0;
}

/* RFC 3551 table 4/5 clocks of static payload types that are not 8000 Hz */
static unsigned static_clock(unsigned pt)
{
	switch (pt) {
	case 6: return 16000;
	case 10: case 11: return 44100;
	case 16: return 11025;
	case 17: return 22050;
	case 14: case 25: case 26: case 28: case 31: case 32: case 33: case 34: return 90000;
	default: return 8000;
	}
}

/* The RTP clock of the stream's first (preferred) format: "rtpmap:PT NAME/RATE" */
static unsigned clock_of(const struct cp_sdp_stream *st)
{
	char *end;
	unsigned long pt = strtoul(st->fmts, &end, 10);

	if (end == st->fmts || (*end != ' ' && *end != '\0') || pt > 127)
		return 8000;
	for (unsigned k = 0; k < st->n_attrs; k++) {
		unsigned apt, rate;
		char name[64];

		if (sscanf(st->attrs[k], "rtpmap:%u %63[^/]/%u", &apt, name, &rate) == 3 &&
		    apt == pt && rate >= 1000 && rate <= 192000)
			return rate;
	}
	return pt < 96 ? static_clock((unsigned)pt) : 8000;
}

static int parse_media(const sdp_message_t *sdp, const sdp_media_t *m, enum cp_sdp_dir sdir,
		       struct cp_sdp_stream *st, const char **why)
{
	size_t fl = 0;

	memset(st, 0, sizeof(*st));
	if (!m->m_media || !m->m_proto || has_ctl(m->m_media) || has_ctl(m->m_proto)) {
		*why = "malformed m= line";
		return -1;
	}
	snprintf(st->media, sizeof(st->media), "%s", m->m_media);
	snprintf(st->proto, sizeof(st->proto), "%s", m->m_proto);
	if (parse_port(m->m_port, &st->port) != 0) {
		*why = "bad port in m= line";
		return -1;
	}
	if (osip_list_size(&m->c_connections) > 0)
		st->ip = ip4_of(osip_list_get(&m->c_connections, 0));
	else
		st->ip = ip4_of(sdp->c_connection);

	for (int i = 0; i < osip_list_size(&m->m_payloads); i++) {
		const char *pt = osip_list_get(&m->m_payloads, i);
		size_t l = pt ? strlen(pt) : 0;
		if (!l || has_ctl(pt) || fl + l + (fl ? 1 : 0) >= sizeof(st->fmts))
			continue;
		if (fl)
			st->fmts[fl++] = ' ';
		memcpy(st->fmts + fl, pt, l);
		fl += l;
		st->fmts[fl] = '\0';
	}

	st->dir = sdir;
	for (int i = 0; i < osip_list_size(&m->a_attributes); i++) {
		const sdp_attribute_t *a = osip_list_get(&m->a_attributes, i);
		const char *f = a ? a->a_att_field : NULL, *v;
		if (!f)
			continue;
		v = a->a_att_value ? a->a_att_value : "";
		if (has_ctl(f) || has_ctl(v))
			continue;
		if (dir_of(f, &st->dir)) {
			/* media level wins over session level */
		} else if (strcasecmp(f, "rtcp-mux") == 0) {
			st->rtcp_mux = 1;
		} else if (strcasecmp(f, "label") == 0) {
			snprintf(st->label, sizeof(st->label), "%s", v);
		} else if (strcasecmp(f, "crypto") == 0) {
			if (st->crypto.suite == CP_SDP_SUITE_NONE)
				cp_sdp_parse_crypto(v, &st->crypto);
		} else if (is_echoed(f) && st->n_attrs < CP_SDP_MAX_ATTRS) {
			int n = snprintf(st->attrs[st->n_attrs], sizeof(st->attrs[0]), "%s%s%s",
					 f, *v ? ":" : "", v);
			/* never echo a truncated line */
			if (n > 0 && (size_t)n < sizeof(st->attrs[0]))
				st->n_attrs++;
		}
	}
	st->clock_rate = clock_of(st);
	if (!cp_sdp_is_savp(st->proto))
		memset(&st->crypto, 0, sizeof(st->crypto));
	else if (st->crypto.suite != CP_SDP_SUITE_NONE &&
		 getrandom(st->crypto.local_key, CP_SDP_KEY_LEN, 0) != CP_SDP_KEY_LEN) {
		*why = "no random bytes for an SRTP key";
		return -1;
	}
	return 0;
}

/* A copy for libosip2 with every line ended by CRLF and NUL padding: its
 * parser reads past the end of an LF-ended last line it cannot parse. */
static char *normalise(const char *sdp, size_t len)
{
	char *buf = malloc(2 * len + 2 + CP_SDP_PAD);
	size_t o = 0;

	if (!buf)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (sdp[i] == '\n' && (i == 0 || sdp[i - 1] != '\r'))
			buf[o++] = '\r';
		buf[o++] = sdp[i];
	}
	if (buf[o - 1] != '\n') {
		if (buf[o - 1] != '\r')
			buf[o++] = '\r';
		buf[o++] = '\n';
	}
	memset(buf + o, 0, CP_SDP_PAD);
	return buf;
}

/* Every m= line has media, port, proto and at least one format (RFC 4566);
 * libosip2 is not trusted with shorter ones. */
static int m_lines_complete(const char *buf)
{
	for (const char *p = buf; *p; ) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);

		if (n >= 2 && p[0] == 'm' && p[1] == '=') {
			unsigned fields = 0;
			int in = 0;
			for (size_t i = 2; i < n; i++) {
				int sp = p[i] == ' ' || p[i] == '\t' || p[i] == '\r';
				if (!sp && !in)
					fields++;
				in = !sp;
			}
			if (fields < 4)
				return 0;
		}
		p += n + (eol ? 1 : 0);
	}
	return 1;
}

int cp_sdp_parse_offer(const char *sdp, size_t len, struct cp_sdp_offer *o, const char **why)
{
	const char *dummy;
	sdp_message_t *msg = NULL;
	enum cp_sdp_dir sdir = CP_SDP_SENDONLY; /* no direction at all: sendonly (issue 10) */
	char *buf;
	int nm, rc = -1;

	if (!why)
		why = &dummy;
	memset(o, 0, sizeof(*o));
	if (!sdp || len == 0) {
		*why = "empty SDP";
		return -1;
	}
	if (len > CP_SDP_MAX_LEN) {
		*why = "SDP too large";
		return -1;
	}
	if (memchr(sdp, '\0', len)) {
		*why = "NUL in SDP";
		return -1;
	}
	buf = normalise(sdp, len);
	if (!buf) {
		*why = "out of memory";
		return -1;
	}
	if (!m_lines_complete(buf)) {
		*why = "malformed m= line";
		goto out;
	}

	if (sdp_message_init(&msg) != 0) {
		*why = "out of memory";
		goto out;
	}
	if (sdp_message_parse(msg, buf) != 0 || !msg->v_version) {
		*why = "malformed SDP";
		goto out;
	}
	o->ip = ip4_of(msg->c_connection);
	for (int i = 0; i < osip_list_size(&msg->a_attributes); i++) {
		const sdp_attribute_t *a = osip_list_get(&msg->a_attributes, i);
		if (a && a->a_att_field)
			dir_of(a->a_att_field, &sdir);
	}
	nm = osip_list_size(&msg->m_medias);
	if (nm > CP_SDP_MAX_STREAMS) {
		*why = "too many streams";
		goto out;
	}
	for (int i = 0; i < nm; i++) {
		const sdp_media_t *m = osip_list_get(&msg->m_medias, i);
		if (!m || parse_media(msg, m, sdir, &o->streams[i], why) != 0)
			goto out;
		o->n_streams++;
	}
	rc = 0;
out:
	if (rc != 0)
		memset(o, 0, sizeof(*o));
	if (msg)
		sdp_message_free(msg);
	free(buf);
	return rc;
}

struct wbuf { char *p; size_t len, cap; int full; };

__attribute__((format(printf, 2, 3)))
static void put(struct wbuf *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->p + w->len, w->cap - w->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= w->cap - w->len) {
		w->full = 1;
		return;
	}
	w->len += (size_t)n;
}

static void put_ip(struct wbuf *w, uint32_t ip)
{
	put(w, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

int cp_sdp_build_answer(const struct cp_sdp_offer *o, uint32_t local_ip, const uint16_t *ports,
			const enum cp_sdp_dir *dirs, uint64_t sess_id, uint64_t sess_ver,
			char *out, size_t outlen)
{
	return cp_sdp_build_answer_nat(o, local_ip, ports, NULL, dirs, sess_id, sess_ver, out,
				       outlen);
}

int cp_sdp_build_answer_nat(const struct cp_sdp_offer *o, uint32_t local_ip,
			    const uint16_t *ports, const uint16_t *rtcp_ports,
			    const enum cp_sdp_dir *dirs, uint64_t sess_id, uint64_t sess_ver,
			    char *out, size_t outlen)
{
	struct wbuf w = { out, 0, outlen, 0 };

	if (!out || outlen == 0)
		return -1;
	out[0] = '\0';
	put(&w, "v=0\r\no=rtprec %" PRIu64 " %" PRIu64 " IN IP4 ", sess_id, sess_ver);
	put_ip(&w, local_ip);
	put(&w, "\r\ns=rtprec\r\nc=IN IP4 ");
	put_ip(&w, local_ip);
	put(&w, "\r\nt=0 0\r\n");
	for (unsigned i = 0; i < o->n_streams && i < CP_SDP_MAX_STREAMS; i++) {
		const struct cp_sdp_stream *s = &o->streams[i];
		uint16_t port = (ports && s->port) ? ports[i] : 0;
		enum cp_sdp_dir d = dirs ? dirs[i] : CP_SDP_RECVONLY;

		put(&w, "m=%s %u %s %s\r\n", s->media[0] ? s->media : "audio", port,
		    s->proto[0] ? s->proto : "RTP/AVP", s->fmts[0] ? s->fmts : "0");
		if (s->label[0])
			put(&w, "a=label:%s\r\n", s->label);
		if (port == 0)
			continue;
		for (unsigned k = 0; k < s->n_attrs && k < CP_SDP_MAX_ATTRS; k++)
			put(&w, "a=%s\r\n", s->attrs[k]);
		if (s->rtcp_mux)
			put(&w, "a=rtcp-mux\r\n");
		else if (rtcp_ports && rtcp_ports[i] && rtcp_ports[i] != port + 1)
			put(&w, "a=rtcp:%u\r\n", rtcp_ports[i]); /* RFC 3605 */
		if (cp_sdp_is_savp(s->proto) && s->crypto.suite != CP_SDP_SUITE_NONE) {
			char key[2 * CP_SDP_KEY_LEN];
			b64_encode(s->crypto.local_key, CP_SDP_KEY_LEN, key);
			put(&w, "a=crypto:%u %s inline:%s\r\n", s->crypto.tag,
			    cp_sdp_suite_name(s->crypto.suite), key);
		}
		put(&w, "a=%s\r\n", cp_sdp_dir_name(d));
	}
	if (w.full) {
		out[0] = '\0';
		return -1;
	}
	return (int)w.len;
}
