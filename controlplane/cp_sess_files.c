/* SPDX-License-Identifier: BSD-3-Clause
 * A session's folder: recording.dir/YYYY/MM/DD/<session-id>/ with
 * media.pcap (the recorder writes it), metadata.xml and session.json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config/cfg_log.h"
#include "cp_session_priv.h"

int cp_mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0755);
		*p = '/';
		if (rc != 0 && errno != EEXIST)
			return -errno;
	}
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int cp_sess_files_open(struct cp_ctx *cp, struct cp_session *s)
{
	char pcap[PATH_MAX + 16];
	time_t t = (time_t)(s->start_ns / 1000000000ull);
	struct tm tm;
	int rc;

	gmtime_r(&t, &tm);
	snprintf(s->dir, sizeof(s->dir), "%s/%04d/%02d/%02d/%s", cp->cfg->recording.dir,
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, s->id);
	rc = cp_mkdir_p(s->dir);
	if (rc != 0) {
		LOG_ERR("session %s: cannot create %s: %s", s->id, s->dir, strerror(-rc));
		return rc;
	}
	snprintf(pcap, sizeof(pcap), "%s/media.pcap", s->dir);
	return rec_stream_open(cp->rec, cp->sess->rec_base + s->slot, pcap);
}

void cp_sess_keep_metadata(struct cp_session *s, const char *xml, size_t len)
{
	char *copy;

	if (s->n_md >= CP_SESS_MD_BODIES || (copy = malloc(len + 1)) == NULL)
		return;
	memcpy(copy, xml, len);
	copy[len] = '\0';
	s->md_times[s->n_md] = cp_sess_now_ns();
	s->md_bodies[s->n_md++] = copy;
}

static void cp_iso_time(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	gmtime_r(&t, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ns / 1000000ull % 1000));
}

/* Each rs-metadata body in the order received, inside one root so the file
 * stays well-formed XML; XML declarations are dropped. */
static void cp_write_metadata(const struct cp_session *s)
{
	char path[PATH_MAX + 16], when[40];
	FILE *f;

	if (s->n_md == 0)
		return;
	snprintf(path, sizeof(path), "%s/metadata.xml", s->dir);
	f = fopen(path, "w");
	if (f == NULL)
		return;
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rtprec-metadata>\n", f);
	for (unsigned i = 0; i < s->n_md; i++) {
		const char *b = s->md_bodies[i];
		if (strncmp(b, "<?xml", 5) == 0 && strstr(b, "?>"))
			b = strstr(b, "?>") + 2;
		cp_iso_time(s->md_times[i], when, sizeof(when));
		fprintf(f, "<received seq=\"%u\" time=\"%s\">\n%s\n</received>\n", i + 1, when, b);
	}
	fputs("</rtprec-metadata>\n", f);
	fclose(f);
}

static void cp_json_ip(FILE *f, const char *key, uint32_t ip, uint16_t port)
{
	if (ip == 0) {
		fprintf(f, "\"%s\":null", key);
		return;
	}
	fprintf(f, "\"%s\":{\"ip\":\"%u.%u.%u.%u\",\"port\":%u}", key, ip >> 24, (ip >> 16) & 255,
		(ip >> 8) & 255, ip & 255, port);
}

static void cp_json_time(FILE *f, const char *key, uint64_t ns)
{
	char buf[40];

	if (ns == 0) {
		fprintf(f, "\"%s\":null", key);
		return;
	}
	cp_iso_time(ns, buf, sizeof(buf));
	fprintf(f, "\"%s\":\"%s\"", key, buf);
}

static void cp_write_participants(FILE *f, const struct cp_metadata *md)
{
	fputs("\"participants\":[", f);
	for (unsigned i = 0; i < md->n_participants; i++) {
		fputs(i ? ",{\"id\":" : "{\"id\":", f);
		cp_json_str(f, md->participants[i].id);
		fputs(",\"name\":", f);
		cp_json_str(f, md->participants[i].name);
		fputs(",\"aor\":", f);
		cp_json_str(f, md->participants[i].aor);
		fputc('}', f);
	}
	fputs("]", f);
}

/* st with the codec lines of o, its m= line in the latest offer. */
static void cp_write_stream(FILE *f, const struct cp_sessions *ss, const struct cp_stream *st,
			    const struct cp_sdp_stream *o)
{
	fputs("{\"label\":", f);
	cp_json_str(f, st->label);
	fputs(",\"media\":", f);
	cp_json_str(f, st->media);
	fputs(",\"formats\":", f);
	cp_json_str(f, st->fmts);
	fputs(",\"codecs\":[", f);
	for (unsigned a = 0; a < o->n_attrs; a++) {
		if (a)
			fputc(',', f);
		cp_json_str(f, o->attrs[a]);
	}
	fprintf(f, "],\"recorded\":%s,\"local_port\":%u,\"rtcp_mux\":%s,",
		st->port ? "true" : "false", st->port, st->rtcp_mux ? "true" : "false");
	cp_json_ip(f, "negotiated", st->offer_ip, st->offer_port);
	fputc(',', f);
	cp_json_ip(f, "latched", st->latched_ip, st->latched_port);
	fprintf(f,
		",\"packets\":%llu,\"bytes\":%llu,\"rtp_expected\":%llu,\"lost\":%lld,"
		"\"jitter\":%u,",
		(unsigned long long)st->st.packets, (unsigned long long)st->st.bytes,
		(unsigned long long)st->st.rtp_expected, (long long)st->st.rtp_lost, st->st.jitter);
	cp_json_time(f, "first", st->first_ns);
	fputc(',', f);
	cp_json_time(f, "last", cp_sess_tsc_ns(ss, st->st.last_tsc));
	fputc('}', f);
}

static void cp_write_json(const struct cp_ctx *cp, const struct cp_session *s)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 24];
	FILE *f;

	snprintf(path, sizeof(path), "%s/session.json", s->dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL) {
		LOG_ERR("session %s: cannot write %s", s->id, tmp);
		return;
	}
	fputs("{\"session_id\":", f);
	cp_json_str(f, s->id);
	fputs(",\"call_id\":", f);
	cp_json_str(f, s->call_id);
	fputs(",\"from\":", f);
	cp_json_str(f, s->from);
	fputs(",\"to\":", f);
	cp_json_str(f, s->to);
	fputs(",\"source\":", f);
	cp_json_str(f, s->src ? s->src : "");
	fprintf(f, ",\"siprec\":%s,\"metadata\":%s,\"recording_session_id\":",
		s->siprec ? "true" : "false", s->has_md ? "true" : "false");
	cp_json_str(f, s->md.session_id);
	fputs(",\"group_id\":", f);
	cp_json_str(f, s->md.group_id);
	fputc(',', f);
	cp_write_participants(f, &s->md);
	fputs(",\"streams\":[", f);
	for (unsigned i = 0; i < s->n_streams; i++) {
		if (i)
			fputc(',', f);
		cp_write_stream(f, cp->sess, &s->streams[i], &s->offer.streams[i]);
	}
	fputs("],", f);
	cp_json_time(f, "start", s->start_ns);
	fputc(',', f);
	cp_json_time(f, "end", s->end_ns);
	fputs(",\"end_reason\":", f);
	cp_json_str(f, s->end_reason);
	fputs("}\n", f);
	if (fclose(f) == 0)
		rename(tmp, path);
}

void cp_sess_files_finish(struct cp_ctx *cp, struct cp_session *s)
{
	rec_stream_close(cp->rec, cp->sess->rec_base + s->slot);
	cp_write_metadata(s);
	cp_write_json(cp, s);
}
