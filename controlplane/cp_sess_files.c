/* SPDX-License-Identifier: BSD-3-Clause
 * A session's folder: recording.dir/YYYY/MM/DD/<session-id>/ with
 * media.pcap (media.1.pcap, ... when it rotates; the recorder writes them),
 * metadata.xml and session.json. session.json is written by the recorder
 * thread once the pcaps are closed (so it can tell what they hold and
 * whether writing failed), into session.json.tmp, reserved with fallocate
 * when the call starts so that a full disk still gets it, then renamed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/cfg_log.h"
#include "cp_session_priv.h"

#define CP_SESS_JSON_RESERVE 8192

int cp_mkdir_p(const char *dir, unsigned mode)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return -ENAMETOOLONG;
	/* the usual case, one new call's dir under an existing day: one syscall */
	if (mkdir(dir, mode) == 0) {
		chmod(dir, mode);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, mode) == 0)
			chmod(path, mode); /* what the config says, whatever the umask */
		else if (errno != EEXIST)
			return -errno;
		*p = c;
		if (c == '\0')
			return 0;
	}
}

static void cp_sess_path(const struct cp_session *s, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", s->dir, name);
}

/* Space for the final session.json, taken now (best effort). */
static void cp_sess_json_reserve(const struct cp_ctx *cp, const struct cp_session *s)
{
	char tmp[PATH_MAX + 24];
	int fd;

	cp_sess_path(s, "session.json.tmp", tmp, sizeof(tmp));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, cp->cfg->recording.file_mode_bits);
	if (fd < 0)
		return;
	fchmod(fd, cp->cfg->recording.file_mode_bits);
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, CP_SESS_JSON_RESERVE) != 0)
		LOG_DEBUG("session %s: no space reserved for session.json: %s", s->id,
			  strerror(errno));
	close(fd);
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
	rc = cp_mkdir_p(s->dir, cp->cfg->recording.dir_mode_bits);
	if (rc != 0) {
		LOG_ERR("session %s: cannot create %s: %s", s->id, s->dir, strerror(-rc));
		return rc;
	}
	cp_sess_json_reserve(cp, s);
	cp_sess_path(s, "media.pcap", pcap, sizeof(pcap));
	return rec_stream_open(cp->rec, s->rec_id, pcap, REC_OPEN_SESSION);
}

void cp_sess_files_srtp(struct cp_ctx *cp, const struct cp_session *s)
{
	struct rec_srtp_key keys[REC_SRTP_MAX];
	unsigned n = 0;

	_Static_assert(sizeof(keys[0].key) == CP_SDP_KEY_LEN, "SDES key length");
	_Static_assert(sizeof(keys[0].mki) == CP_SDP_MKI_MAX, "SDES MKI length");
	if (cp->cfg->recording.srtp_mode != CFG_REC_SRTP_DECRYPT)
		return;
	memset(keys, 0, sizeof(keys));
	for (unsigned i = 0; i < s->n_streams && i < REC_SRTP_MAX; i++) {
		const struct cp_stream *st = &s->streams[i];
		const struct cp_sdp_crypto *c = &s->offer.streams[i].crypto;

		if (!st->in_use || c->suite == CP_SDP_SUITE_NONE)
			continue;
		keys[i].suite = c->suite == CP_SDP_AES_CM_128_HMAC_SHA1_32 ? REC_SRTP_AES128_SHA1_32
									    : REC_SRTP_AES128_SHA1_80;
		keys[i].rtp_port = st->port;
		keys[i].rtcp_port = st->rtcp_mux ? 0 : (uint16_t)(st->port + 1);
		memcpy(keys[i].key, c->key, sizeof(keys[i].key));
		keys[i].mki_len = c->mki_len;
		memcpy(keys[i].mki, c->mki, sizeof(keys[i].mki));
		n = i + 1;
	}
	if (n == 0)
		return;
	if (rec_stream_srtp(cp->rec, s->rec_id, keys, n) != 0)
		LOG_ERR("session %s: no memory for SRTP keys: media written as received", s->id);
}

bool cp_sess_recording_refused(const struct cp_ctx *cp)
{
	return cp->cfg->recording.refuse_when_full && rec_storage_error(cp->rec) != 0;
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

/* ,"pauses":[{"start":..,"end":..},...]: end null while paused */
static void cp_write_pauses(FILE *f, const struct cp_stream *st)
{
	fputs(",\"pauses\":[", f);
	for (unsigned i = 0; i < st->n_pauses; i++) {
		fputs(i ? ",{" : "{", f);
		cp_json_time(f, "start", st->pauses[2 * i]);
		fputc(',', f);
		cp_json_time(f, "end", st->pauses[2 * i + 1]);
		fputc('}', f);
	}
	fputc(']', f);
}

struct cp_ext_out {
	FILE *f;
	unsigned n;
};

static void cp_write_ext(void *arg, const char *xml, size_t len)
{
	struct cp_ext_out *o = arg;
	char *s = strndup(xml, len);

	if (s == NULL)
		return;
	fputs(o->n++ ? "," : "", o->f);
	cp_json_str(o->f, s);
	free(s);
}

/* ,"metadata_extensions":[raw XML, ...]: vendor blocks of every body received, verbatim. */
static void cp_write_extensions(FILE *f, const struct cp_session *s)
{
	struct cp_ext_out o = { f, 0 };

	fputs(",\"metadata_extensions\":[", f);
	for (unsigned i = 0; i < s->n_md; i++)
		(void)cp_metadata_extensions(s->md_bodies[i], strlen(s->md_bodies[i]), cp_write_ext,
					     &o);
	fputc(']', f);
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

/* ,"srtp":{...} for an SDES stream: the keys with recording.srtp keep. */
static void cp_write_crypto(FILE *f, const struct cp_ctx *cp, const struct cp_sdp_stream *o)
{
	bool keep = cp->cfg->recording.srtp_mode == CFG_REC_SRTP_KEEP;

	if (o->crypto.suite == CP_SDP_SUITE_NONE)
		return;
	fprintf(f, ",\"srtp\":{\"mode\":\"%s\",\"tag\":%u,\"suite\":", keep ? "keep" : "decrypt",
		o->crypto.tag);
	cp_json_str(f, cp_sdp_suite_name(o->crypto.suite));
	if (keep) {
		fputs(",\"key_params\":", f);
		cp_json_str(f, o->crypto.params);
	}
	fputc('}', f);
}

/* ,"formats":"PT PT ...","codecs":[...: every accepted offer's (cp_sess_codecs.c) */
static void cp_sess_write_codecs(FILE *f, const struct cp_stream *st,
				 const struct cp_sdp_stream *o)
{
	char fmts[sizeof(st->fmts)], line[sizeof(st->maps)];
	unsigned n = 0;

	snprintf(fmts, sizeof(fmts), "%s", st->fmts);
	cp_sess_fmts_union(fmts, sizeof(fmts), o->fmts);
	fputs(",\"formats\":", f);
	cp_json_str(f, fmts);
	fputs(",\"codecs\":[", f);
	for (unsigned a = 0; a < o->n_attrs; a++) {
		fputs(n++ ? "," : "", f);
		cp_json_str(f, o->attrs[a]);
	}
	for (const char *l = st->maps; *l != '\0'; l += strcspn(l, "\n") + 1) {
		size_t len = strcspn(l, "\n");
		if (cp_sess_fmt_mapped(o, l + 7, strcspn(l + 7, " \n")))
			continue; /* the current offer maps that payload type */
		snprintf(line, sizeof(line), "%.*s", (int)len, l);
		fputs(n++ ? "," : "", f);
		cp_json_str(f, line);
	}
}

/* st with the codec lines of o, its m= line in the latest offer. */
static void cp_write_stream(FILE *f, const struct cp_ctx *cp, const struct cp_session *s,
			    const struct cp_stream *st, const struct cp_sdp_stream *o)
{
	const struct cp_sessions *ss = cp->sess;

	fputs("{\"label\":", f);
	cp_json_str(f, st->label);
	fputs(",\"media\":", f);
	cp_json_str(f, st->media);
	cp_sess_write_codecs(f, st, o);
	fprintf(f, "],\"recorded\":%s,\"local_port\":%u,\"rtcp_mux\":%s,",
		st->port ? "true" : "false", st->port, st->rtcp_mux ? "true" : "false");
	cp_json_ip(f, "local", st->port ? cp_sess_local_ip(ss, s) : 0, st->port);
	fputc(',', f);
	cp_json_ip(f, "negotiated", st->offer_ip, st->offer_port);
	fputc(',', f);
	cp_json_ip(f, "latched", st->latched_ip, st->latched_port);
	fprintf(f, ",\"relatches\":%u,", st->relatches);
	cp_json_ip(f, "relay", st->relay_ip, st->relay_port); /* the TURN relay's address, or null */
	/* TURN per stream: none, allocated or failed; what came through it (the peer's
	 * packets unwrapped: this stream's own counters) */
	fprintf(f, ",\"turn\":\"%s\",\"relay_bytes\":%llu",
		!st->relayed ? "none" : st->relay_failed ? "failed" : "allocated",
		(unsigned long long)(st->relay_ip ? st->st.bytes : 0));
	fprintf(f,
		",\"packets\":%llu,\"bytes\":%llu,\"rtp_expected\":%llu,\"lost\":%lld,"
		"\"jitter\":%u,\"rtcp_packets\":%u,\"record_drops\":%llu,",
		(unsigned long long)st->st.packets, (unsigned long long)st->st.bytes,
		(unsigned long long)st->st.rtp_expected, (long long)st->st.rtp_lost, st->st.jitter,
		st->st.rtcp_packets, (unsigned long long)st->st.record_drops);
	cp_json_time(f, "first", st->first_ns);
	fputc(',', f);
	cp_json_time(f, "last", cp_sess_tsc_ns(ss, st->st.last_tsc));
	cp_write_pauses(f, st);
	cp_write_crypto(f, cp, o);
	cp_sess_ice_json(f, cp, s, (unsigned)(st - s->streams));
	fputc('}', f);
}

/* session.json as the control plane knows it, without the closing brace:
 * the recorder thread adds what it wrote. */
void cp_sess_write_json(FILE *f, const struct cp_ctx *cp, const struct cp_session *s)
{
	uint64_t drops = 0;

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
	fprintf(f, ",\"siprec\":%s,\"metadata\":%s,\"metadata_requested\":%s,"
		"\"recording_session_id\":", s->siprec ? "true" : "false",
		s->has_md ? "true" : "false", s->md_requested ? "true" : "false");
	cp_json_str(f, s->md.session_id);
	fputs(",\"group_id\":", f);
	cp_json_str(f, s->md.group_id);
	fputc(',', f);
	cp_write_participants(f, &s->md);
	cp_write_extensions(f, s);
	fputs(",\"streams\":[", f);
	for (unsigned i = 0; i < s->n_streams; i++) {
		if (i)
			fputc(',', f);
		cp_write_stream(f, cp, s, &s->streams[i], &s->offer.streams[i]);
		drops += s->streams[i].st.record_drops;
	}
	fputs("],", f);
	cp_json_time(f, "start", s->start_ns);
	fputc(',', f);
	cp_json_time(f, "end", s->end_ns);
	fputs(",\"end_reason\":", f);
	cp_json_str(f, s->end_reason);
	fprintf(f, ",\"record_drops\":%llu", (unsigned long long)drops);
}

/* What the recorder thread needs to finish session.json. */
struct cp_sess_json_job {
	char *text; /* cp_write_json's output */
	size_t len;
	unsigned mode;
	bool sync;
	char id[33];
	char dir[];
};

/* "recording_error" and "recording": the pcaps, as the recorder wrote them. */
static void cp_write_recording(FILE *f, const struct rec_report *rep)
{
	char err[128];

	fprintf(f, ",\"recording_error\":%s,\"recording\":{\"files\":[",
		rep->write_errors != 0 || rep->error != 0 ? "true" : "false");
	for (unsigned i = 0; i < rep->files; i++) {
		if (i == 0)
			fputs("\"media.pcap\"", f);
		else
			fprintf(f, ",\"media.%u.pcap\"", i);
	}
	fprintf(f, "],\"packets\":%llu,\"bytes\":%llu,\"dropped\":%llu,\"write_errors\":%llu,"
		"\"error\":", (unsigned long long)rep->packets, (unsigned long long)rep->bytes,
		(unsigned long long)rep->dropped, (unsigned long long)rep->write_errors);
	if (rep->error != 0)
		cp_json_str(f, strerror_r(rep->error, err, sizeof(err)));
	else
		fputs("null", f);
	if (rep->n_srtp != 0) {
		bool first = true;
		fputs(",\"srtp\":[", f);
		for (unsigned i = 0; i < rep->n_srtp; i++) {
			const struct rec_srtp_count *c = &rep->srtp[i];
			if (c->rtp_port == 0)
				continue;
			fprintf(f, "%s{\"stream\":%u,\"local_port\":%u,\"decrypted\":%llu,"
				"\"srtp_errors\":%llu}", first ? "" : ",", i, c->rtp_port,
				(unsigned long long)c->decrypted, (unsigned long long)c->srtp_errors);
			first = false;
		}
		fputc(']', f);
	}
	fputc('}', f);
}

/* Into the reserved session.json.tmp (no O_TRUNC: truncating would give
 * the reserved blocks back), cut to size, then renamed over session.json. */
static void cp_sess_json_store(const struct cp_sess_json_job *j, const char *out, size_t len)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 24];
	bool ok = false;
	int fd;

	snprintf(path, sizeof(path), "%s/session.json", j->dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, j->mode);
	if (fd >= 0) {
		fchmod(fd, j->mode);
		ok = rec_pwrite_all(fd, out, len, 0) == (ssize_t)len && ftruncate(fd, (off_t)len) == 0 &&
		     (!j->sync || fdatasync(fd) == 0);
		ok = close(fd) == 0 && ok;
	}
	if (ok && rename(tmp, path) == 0)
		return;
	LOG_ERR("session %s: cannot write %s: %s", j->id, path, strerror(errno));
	unlink(tmp);
}

/* rec_done_fn: on a recorder thread, once the session's pcaps are closed. */
static void cp_sess_json_done(void *arg, const struct rec_report *rep)
{
	struct cp_sess_json_job *j = arg;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (f != NULL) {
		fwrite(j->text, 1, j->len, f);
		cp_write_recording(f, rep);
		fputs("}\n", f);
		if (fclose(f) == 0)
			cp_sess_json_store(j, out, len);
	}
	free(out);
	free(j->text);
	free(j);
}

static struct cp_sess_json_job *cp_sess_json_job(const struct cp_ctx *cp,
						 const struct cp_session *s)
{
	struct cp_sess_json_job *j = calloc(1, sizeof(*j) + strlen(s->dir) + 1);
	FILE *f;

	if (j == NULL)
		return NULL;
	f = open_memstream(&j->text, &j->len);
	if (f == NULL) {
		free(j);
		return NULL;
	}
	cp_sess_write_json(f, cp, s);
	if (fclose(f) != 0) {
		free(j->text);
		free(j);
		return NULL;
	}
	j->mode = cp->cfg->recording.file_mode_bits;
	j->sync = cp->cfg->recording.sync_mode != CFG_REC_SYNC_NONE;
	memcpy(j->id, s->id, sizeof(j->id));
	strcpy(j->dir, s->dir);
	return j;
}

void cp_sess_files_finish(struct cp_ctx *cp, struct cp_session *s)
{
	uint32_t id = s->rec_id;
	struct cp_sess_json_job *j;
	struct rec_report none = {.error = ENOMEM};

	cp_write_metadata(s);
	j = cp_sess_json_job(cp, s);
	if (j == NULL) {
		LOG_ERR("session %s: out of memory: no session.json", s->id);
		rec_session_close(cp->rec, id, s->dir, NULL, NULL);
	} else if (rec_session_close(cp->rec, id, s->dir, cp_sess_json_done, j) != 0) {
		cp_sess_json_done(j, &none);
	}
}
