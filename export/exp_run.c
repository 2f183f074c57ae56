/* SPDX-License-Identifier: BSD-3-Clause
 * The export of one call directory: session.json (optional), every pcap
 * file in order, one mono WAV per stream with audio and call.wav. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "exp.h"

#define EXP_ERR(...) fprintf(stderr, "rtprec-export: " __VA_ARGS__)
#define EXP_INFO(o, ...)                                                                  \
	do {                                                                               \
		if (!(o)->quiet)                                                           \
			EXP_ERR(__VA_ARGS__);                                              \
	} while (0)

static int exp_mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char end = *p;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = end;
		if (end == '\0')
			return 0;
	}
}

/* Reads every pcap of o->dir into c. 0, or 2 (nothing readable). */
static int exp_read_pcaps(const struct exp_opts *o, struct exp_call *c)
{
	char errbuf[PCAP_ERRBUF_SIZE], **paths;
	unsigned n, opened = 0;
	int rc = exp_pcap_list(o->dir, &paths, &n);

	if (rc == -ENOENT) {
		EXP_ERR("%s: no media.pcap\n", o->dir);
		return 2;
	}
	if (rc != 0) {
		EXP_ERR("%s: %s\n", o->dir, strerror(-rc));
		return 2;
	}
	for (unsigned i = 0; i < n; i++) {
		struct exp_pcap_counts cnt = {0};
		pcap_t *p = pcap_open_offline_with_tstamp_precision(
			paths[i], PCAP_TSTAMP_PRECISION_NANO, errbuf);
		if (p == NULL) {
			EXP_ERR("%s: %s (skipped)\n", paths[i], errbuf);
			continue;
		}
		opened++;
		if (exp_pcap_read(p, exp_call_udp, c, &cnt, errbuf, sizeof(errbuf)) != 0)
			EXP_ERR("%s: %s (using the %llu frames before it)\n", paths[i], errbuf,
				(unsigned long long)cnt.frames);
		pcap_close(p);
		if (cnt.frames > cnt.udp)
			EXP_INFO(o,
				 "%s: skipped %llu frame(s) that are not IPv4/UDP "
				 "(%llu other protocol, %llu fragment, %llu truncated)\n",
				 paths[i], (unsigned long long)(cnt.frames - cnt.udp),
				 (unsigned long long)(cnt.not_ipv4 + cnt.not_udp),
				 (unsigned long long)cnt.fragments,
				 (unsigned long long)cnt.truncated);
	}
	exp_pcap_list_free(paths, n);
	return opened ? 0 : 2;
}

enum exp_wav_kind { EXP_MONO, EXP_STEREO };

/* Write outdir/name.wav through a temporary file. 0, or -1 (reported). */
static int exp_write(const char *outdir, const char *name,
		     enum exp_wav_kind kind, const void *what, uint64_t frames)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.wav", outdir, name) >= sizeof(path)) {
		EXP_ERR("%s/%s.wav: name too long\n", outdir, name);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (f == NULL) {
		EXP_ERR("%s: %s\n", tmp, strerror(errno));
		return -1;
	}
	rc = kind == EXP_MONO ? exp_wav_mono(f, what, frames) : exp_wav_stereo(f, what, frames);
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0) {
		EXP_ERR("%s: write failed: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	printf("%s\n", path);
	return 0;
}

/* frames capped by the WAV limit and o->max_frames, with a warning. */
static uint64_t exp_cap(const struct exp_opts *o, const char *name, uint64_t frames,
			uint16_t channels)
{
	uint64_t max = exp_wav_max_frames(channels);

	if (o->max_frames && o->max_frames < max)
		max = o->max_frames;
	if (frames <= max)
		return frames;
	EXP_ERR("%s.wav: %llu frames cut to %llu (largest WAV)\n", name,
		(unsigned long long)frames, (unsigned long long)max);
	return max;
}

/* The index of the audio stream called name, or -1. */
static int exp_find(const struct exp_call *c, const char *name)
{
	for (unsigned i = 0; i < exp_call_n_audio(c); i++)
		if (strcmp(exp_call_stream_name(c, i), name) == 0)
			return (int)i;
	return -1;
}

static int exp_write_all(const struct exp_opts *o, const struct exp_call *c)
{
	const char *outdir = o->outdir ? o->outdir : o->dir;
	int li = 0, ri = exp_call_n_audio(c) > 1 ? 1 : -1, failed = 0;
	struct exp_stereo st;

	if (o->left && (li = exp_find(c, o->left)) < 0) {
		EXP_ERR("--channels: no stream with audio called \"%s\"\n", o->left);
		return 2;
	}
	if (o->right && (ri = exp_find(c, o->right)) < 0) {
		EXP_ERR("--channels: no stream with audio called \"%s\"\n", o->right);
		return 2;
	}
	if (o->outdir && (failed = exp_mkdir_p(o->outdir)) != 0) {
		EXP_ERR("%s: cannot create: %s\n", o->outdir, strerror(-failed));
		return 2;
	}
	for (unsigned i = 0; i < exp_call_n_audio(c); i++) {
		const struct exp_track *t = exp_call_track(c, i);
		const char *name = exp_call_stream_name(c, i);
		uint64_t frames = exp_cap(o, name, (uint64_t)exp_track_len(t), 1);
		failed |= exp_write(outdir, name, EXP_MONO, t, frames) != 0;
	}
	exp_stereo_plan(&st, exp_call_track(c, (unsigned)li),
			ri >= 0 ? exp_call_track(c, (unsigned)ri) : NULL);
	EXP_INFO(o, "call.wav: left = %s, right = %s, %u Hz\n", exp_call_stream_name(c, (unsigned)li),
		 ri >= 0 ? exp_call_stream_name(c, (unsigned)ri) : "(silence)", st.rate);
	failed |= exp_write(outdir, "call", EXP_STEREO, &st,
			    exp_cap(o, "call", st.frames, 2)) != 0;
	return failed ? 2 : 0;
}

int exp_run(const struct exp_opts *o)
{
	char path[PATH_MAX], err[256];
	struct exp_session sess;
	struct exp_call *c;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/session.json", o->dir) >= sizeof(path)) {
		EXP_ERR("%s: path too long\n", o->dir);
		return 2;
	}
	rc = exp_session_load(path, &sess, err, sizeof(err));
	if (rc == -ENOENT)
		EXP_INFO(o, "%s: no session.json, streams grouped by SSRC\n", o->dir);
	else if (rc != 0)
		EXP_ERR("%s: %s (ignored, streams grouped by SSRC)\n", path, err);
	c = exp_call_new(&sess, o->quiet);
	if (c == NULL) {
		EXP_ERR("out of memory\n");
		exp_session_free(&sess);
		return 2;
	}
	rc = exp_read_pcaps(o, c);
	if (rc == 0 && exp_call_finish(c) != 0) {
		EXP_ERR("out of memory\n");
		rc = 2;
	}
	if (rc == 0) {
		exp_call_report(c);
		if (exp_call_n_audio(c) == 0) {
			EXP_ERR("%s: nothing to export (no decodable audio)\n", o->dir);
			rc = 1;
		} else {
			rc = exp_write_all(o, c);
		}
	}
	exp_call_free(c);
	exp_session_free(&sess);
	return rc;
}
