/* SPDX-License-Identifier: BSD-3-Clause
 * multipart/mixed splitter: see cp_multipart.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cp_multipart.h"


static int is_ws(char c) { return c == ' ' || c == '\t'; }
static int is_lws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* Find the boundary parameter of a Content-Type value; 0 on success. */
static int get_boundary(const char *ct, const char **b, size_t *blen)
{
	const char *p = ct;

	if (!ct)
		return -1;
	while ((p = strchr(p, ';')) != NULL) {
		p++;
		while (is_lws(*p))
			p++;
		if (strncasecmp(p, "boundary", 8) != 0)
			continue;
		p += 8;
		while (is_lws(*p))
			p++;
		if (*p != '=')
			continue;
		p++;
		while (is_lws(*p))
			p++;
		if (*p == '"') {
			const char *e = strchr(p + 1, '"');
			if (!e)
				return -1;
			*b = p + 1;
			*blen = (size_t)(e - p - 1);
		} else {
			size_t n = 0;
			while (p[n] && p[n] != ';' && !is_lws(p[n]))
				n++;
			*b = p;
			*blen = n;
		}
		/* trailing whitespace inside quotes is not part of it either */
		while (*blen && is_ws((*b)[*blen - 1]))
			(*blen)--;
		return (*blen == 0 || *blen > 200) ? -1 : 0;
	}
	return -1;
}

/* Is there a delimiter line at body[pos] (pos at a line start)? Returns 1 for
 * a delimiter, 2 for the close delimiter, 0 otherwise; *next = start of the
 * following line (or len). */
static int delim_at(const char *s, size_t len, size_t pos, const char *b, size_t blen,
		    size_t *next)
{
	int kind = 1;
	size_t p = pos;

	if (len - pos < blen + 2 || s[p] != '-' || s[p + 1] != '-' ||
	    memcmp(s + p + 2, b, blen) != 0)
		return 0;
	p += 2 + blen;
	if (len - p >= 2 && s[p] == '-' && s[p + 1] == '-') {
		kind = 2;
		p += 2;
	}
	while (p < len && (is_ws(s[p]) || s[p] == '\r'))
		p++;
	if (p < len && s[p] != '\n')
		return 0;
	*next = p < len ? p + 1 : len;
	return kind;
}

/* Offset of the next delimiter line at or after pos (pos at a line start);
 * *dstart = where the part content ends (the line end before the delimiter
 * belongs to it). Returns kind (1 or 2) or 0 if none. */
static int find_delim(const char *s, size_t len, size_t pos, const char *b, size_t blen,
		      size_t *dstart, size_t *next)
{
	size_t p = pos;

	while (p < len) {
		int k = delim_at(s, len, p, b, blen, next);
		if (k) {
			*dstart = p;
			return k;
		}
		const char *nl = memchr(s + p, '\n', len - p);
		if (!nl)
			break;
		p = (size_t)(nl - s) + 1;
	}
	return 0;
}

static int is_token_char(char c)
{
	return c > ' ' && c < 127 && c != ':';
}

/* Parse the part's header block; sets ctype/disp and returns the body start. */
static size_t part_headers(const char *s, size_t start, size_t end, struct cp_part *pt)
{
	size_t p = start;

	while (p < end) {
		size_t eol, nx, n = 0, v;
		const char *nl = memchr(s + p, '\n', end - p);

		eol = nl ? (size_t)(nl - s) : end;
		nx = nl ? eol + 1 : end;
		if (eol == p || (eol == p + 1 && s[p] == '\r'))
			return nx;               /* blank line: body follows */
		while (p + n < eol && is_token_char(s[p + n]))
			n++;
		v = p + n;
		while (v < eol && is_ws(s[v]))
			v++;
		if (n == 0 || v >= eol || s[v] != ':')
			return p;                /* not a header: body starts here */
		v++;
		/* value runs to the end of the line plus folded continuations */
		while (nx < end && is_ws(s[nx])) {
			nl = memchr(s + nx, '\n', end - nx);
			eol = nl ? (size_t)(nl - s) : end;
			nx = nl ? eol + 1 : end;
		}
		while (v < eol && is_lws(s[v]))
			v++;
		size_t ve = eol;
		while (ve > v && is_lws(s[ve - 1]))
			ve--;
		if ((n == 12 && strncasecmp(s + p, "content-type", 12) == 0) ||
		    (n == 1 && lower(s[p]) == 'c')) {
			pt->ctype = s + v;
			pt->ctype_len = ve - v;
		} else if (n == 19 && strncasecmp(s + p, "content-disposition", 19) == 0) {
			pt->disp = s + v;
			pt->disp_len = ve - v;
		}
		p = nx;
	}
	return end;
}

int cp_multipart_split(const char *content_type, const char *body, size_t len,
		       struct cp_part *parts, int max_parts, const char **why)
{
	const char *b, *dummy;
	size_t blen, dstart, next, pos;
	int n = 0, kind;

	if (!why)
		why = &dummy;
	if (get_boundary(content_type, &b, &blen) != 0) {
		*why = "no boundary parameter";
		return -1;
	}
	if (!body || len == 0) {
		*why = "empty body";
		return -1;
	}
	/* preamble: skipped up to the first delimiter */
	kind = find_delim(body, len, 0, b, blen, &dstart, &next);
	if (kind == 0) {
		*why = "boundary not found in body";
		return -1;
	}
	while (kind == 1) {
		size_t start = next, end, bstart;
		struct cp_part pt = { "", 0, "", 0, NULL, 0 };

		pos = next;
		kind = find_delim(body, len, pos, b, blen, &dstart, &next);
		if (kind) {
			end = dstart;
			/* the line end before the delimiter belongs to the delimiter */
			if (end > start && body[end - 1] == '\n')
				end--;
			if (end > start && body[end - 1] == '\r')
				end--;
		} else {
			/* missing final boundary: the part runs to the end */
			end = len;
			size_t w = start;
			while (w < end && is_lws(body[w]))
				w++;
			if (w == end)
				break;   /* nothing but whitespace after the last delimiter */
		}
		if (end < start)
			end = start;
		bstart = part_headers(body, start, end, &pt);
		if (bstart > end)
			bstart = end;
		pt.body = body + bstart;
		pt.len = end - bstart;
		if (n >= max_parts) {
			*why = "too many parts";
			return -1;
		}
		parts[n++] = pt;
	}
	if (n == 0) {
		*why = "no part found";
		return -1;
	}
	return n;
}

void cp_ctype_base(const char *ctype, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (!out || outlen == 0)
		return;
	if (!ctype)
		len = 0;
	while (i < len && is_lws(ctype[i]))
		i++;
	while (i < len && ctype[i] != ';' && !is_lws(ctype[i]) && o + 1 < outlen)
		out[o++] = lower(ctype[i++]);
	out[o] = '\0';
}

int cp_ctype_is_metadata(const char *ctype, size_t len)
{
	char base[64];

	cp_ctype_base(ctype, len, base, sizeof(base));
	return strcmp(base, "application/rs-metadata+xml") == 0 ||
	       strcmp(base, "application/rs-metadata") == 0;
}

int cp_ctype_is_sdp(const char *ctype, size_t len)
{
	char base[32];

	cp_ctype_base(ctype, len, base, sizeof(base));
	return strcmp(base, "application/sdp") == 0;
}

/* 1 when a media range's parameters give q=0 ("not acceptable", RFC 3261 20.1). */
static int accept_q_zero(const char *range)
{
	for (const char *q = strchr(range, ';'); q != NULL; q = strchr(q + 1, ';')) {
		const char *v = q + 1;
		char *end;
		double val;

		while (is_lws(*v))
			v++;
		if (lower(*v) != 'q')
			continue;
		v++;
		while (is_lws(*v))
			v++;
		if (*v != '=')
			continue;
		val = strtod(v + 1, &end);
		return end != v + 1 && val == 0.0;
	}
	return 0;
}

int cp_ctype_accepts_sdp(const char *accept)
{
	/* the most specific range that covers application/sdp decides */
	static const char *const covers[] = { "*/*", "application/*", "application/sdp" };
	int best = -1, best_zero = 0, ranges = 0;

	if (accept == NULL)
		return 1;
	for (const char *p = accept; *p != '\0';) {
		size_t n = strcspn(p, ",");
		char range[128], base[32];

		snprintf(range, sizeof(range), "%.*s", (int)(n < sizeof(range) ? n : sizeof(range) - 1),
			 p);
		p += n + (p[n] == ',');
		cp_ctype_base(range, strlen(range), base, sizeof(base));
		if (base[0] == '\0')
			continue;
		ranges++;
		for (int i = 2; i > best; i--)
			if (strcmp(base, covers[i]) == 0) {
				best = i;
				best_zero = accept_q_zero(range);
				break;
			}
	}
	return ranges == 0 || (best >= 0 && !best_zero);
}
