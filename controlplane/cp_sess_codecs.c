/* SPDX-License-Identifier: BSD-3-Clause
 * The payload formats a stream was recorded with: a re-INVITE may change the codecs and
 * their dynamic payload types, and the pcap keeps packets of every accepted offer. Each
 * stream keeps the payload types and rtpmap lines of the offers before the current one;
 * session.json's "formats" lists them all and "codecs" the current offer's lines then the
 * older rtpmaps of payload types the current offer does not map (rtprec-export reads
 * "codecs": packets from before the change still decode). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_session_priv.h"

static bool cp_sess_fmt_listed(const char *list, const char *pt, size_t len)
{
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, " ");
		if (n == len && strncmp(p, pt, len) == 0)
			return true;
		p += n + (p[n] == ' ');
	}
	return false;
}

/* "rtpmap:PT ..." -> PT's length (pt set), or 0. */
static size_t cp_rtpmap_pt(const char *line, const char **pt)
{
	if (strncmp(line, "rtpmap:", 7) != 0)
		return 0;
	*pt = line + 7;
	return strcspn(*pt, " \n");
}

bool cp_sess_fmt_mapped(const struct cp_sdp_stream *o, const char *pt, size_t len)
{
	for (unsigned a = 0; a < o->n_attrs; a++) {
		const char *q;
		size_t n = cp_rtpmap_pt(o->attrs[a], &q);
		if (n == len && strncmp(q, pt, len) == 0)
			return true;
	}
	return false;
}

static bool cp_maps_has(const char *maps, const char *pt, size_t len)
{
	for (const char *l = maps; *l != '\0'; l += strcspn(l, "\n") + 1) {
		const char *q;
		if (cp_rtpmap_pt(l, &q) == len && strncmp(q, pt, len) == 0)
			return true;
	}
	return false;
}

void cp_sess_fmts_union(char *list, size_t cap, const char *add)
{
	for (const char *p = add; *p != '\0';) {
		size_t n = strcspn(p, " "), len = strlen(list);
		if (n != 0 && !cp_sess_fmt_listed(list, p, n) && len + n + 2 <= cap)
			snprintf(list + len, cap - len, "%s%.*s", len ? " " : "", (int)n, p);
		p += n + (p[n] == ' ');
	}
}

void cp_sess_stream_history(struct cp_stream *st, const struct cp_sdp_stream *o)
{
	cp_sess_fmts_union(st->fmts, sizeof(st->fmts), o->fmts);
	for (unsigned a = 0; a < o->n_attrs; a++) {
		const char *pt;
		size_t n = cp_rtpmap_pt(o->attrs[a], &pt), len = strlen(st->maps);
		if (n != 0 && !cp_maps_has(st->maps, pt, n) &&
		    len + strlen(o->attrs[a]) + 2 <= sizeof(st->maps))
			snprintf(st->maps + len, sizeof(st->maps) - len, "%s\n", o->attrs[a]);
	}
}
