/* SPDX-License-Identifier: BSD-3-Clause
 * Step 5 for recording: the directory, recorder threads, sync policy,
 * rotation, file and directory modes, the post-close hook and buffers. */
#include <ctype.h>
#include <string.h>
#include <unistd.h> /* R_OK, X_OK */

#include "config/cfg_priv.h"

#define ROTATE_BYTES_MIN 1024ull
#define ROTATE_BYTES_MAX (1ull << 40)

/* "0640", "640", "0755": 1..4 octal digits, at most 0777. */
static bool mode_bits(struct cfg_ctx *x, const char *path, char **s, const char *def,
		      unsigned *out)
{
	unsigned v = 0;
	size_t n;

	cfg_default_str(x, path, s, def);
	if (*s == NULL || !**s)
		return false;
	n = strlen(*s);
	for (size_t i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '7' || n > 4) {
			cfg_errp(x, path, "'%.100s' is not an octal mode like \"0640\"", *s);
			return false;
		}
		v = v * 8 + (unsigned)((*s)[i] - '0');
	}
	if (v > 0777) {
		cfg_errp(x, path, "'%.100s' sets bits above 0777 (setuid, setgid, sticky)", *s);
		return false;
	}
	*out = v;
	return true;
}

/* The program (first word, an absolute path to an executable) and only the
 * {dir} and {file} placeholders. */
static void check_hook(struct cfg_ctx *x, const char *cmd)
{
	const char *p = cmd, *brace;
	char prog[1024];
	size_t n;

	while (isspace((unsigned char)*p))
		p++;
	n = strcspn(p, " \t");
	if (n == 0) {
		cfg_errp(x, "recording.on_close", "must not be empty");
		return;
	}
	if (n >= sizeof(prog)) {
		cfg_errp(x, "recording.on_close", "the program path is too long");
		return;
	}
	memcpy(prog, p, n);
	prog[n] = '\0';
	if (prog[0] != '/')
		cfg_errp(x, "recording.on_close", "'%.200s' is not an absolute path (no shell runs "
			 "the command)", prog);
	else if (!cfg_file_ok(x, prog, X_OK))
		cfg_errp(x, "recording.on_close", "'%.200s' is not an executable file", prog);
	for (p = cmd; (brace = strchr(p, '{')) != NULL; p = brace + 1)
		if (strncmp(brace, "{dir}", 5) != 0 && strncmp(brace, "{file}", 6) != 0)
			cfg_errp(x, "recording.on_close", "unknown placeholder at '%.20s' (only {dir} "
				 "and {file})", brace);
}

void cfg_validate_recording(struct cfg_ctx *x, struct cfg *c)
{
	static const char *const syncs[] = { "none", "interval", "close" };
	static const char *const srtps[] = { "decrypt", "keep" };
	struct cfg_recording *r = &c->recording;
	int i;

	cfg_default_str(x, "recording.dir", &r->dir, "./recordings");
	cfg_check_uint(x, "recording.threads", &r->threads, 1, 1, CFG_MAX_REC_THREADS);
	cfg_default_str(x, "recording.sync", &r->sync, "interval");
	i = cfg_pick(x, "recording.sync", r->sync, syncs, 3, "none, interval, close");
	r->sync_mode = i < 0 ? CFG_REC_SYNC_INTERVAL : (enum cfg_rec_sync)i;
	cfg_check_uint(x, "recording.sync_interval_ms", &r->sync_interval_ms, 1000, 10, 3600000);
	if (!cfg_present(x, "recording.rotate_bytes"))
		r->rotate_bytes = 0;
	else if (r->rotate_bytes != 0 &&
		 (r->rotate_bytes < ROTATE_BYTES_MIN || r->rotate_bytes > ROTATE_BYTES_MAX))
		cfg_errp(x, "recording.rotate_bytes", "%llu is out of range (0 = never, or %llu..%llu)",
			 (unsigned long long)r->rotate_bytes, ROTATE_BYTES_MIN, ROTATE_BYTES_MAX);
	cfg_check_uint(x, "recording.rotate_seconds", &r->rotate_seconds, 0, 0, 604800);
	mode_bits(x, "recording.file_mode", &r->file_mode, "0644", &r->file_mode_bits);
	if (mode_bits(x, "recording.dir_mode", &r->dir_mode, "0755", &r->dir_mode_bits) &&
	    (r->dir_mode_bits & 0300) != 0300)
		cfg_errp(x, "recording.dir_mode", "'%.100s' leaves the owner unable to write into "
			 "or enter the directories", r->dir_mode);
	if (r->on_close != NULL)
		check_hook(x, r->on_close);
	cfg_check_uint(x, "recording.on_close_timeout_s", &r->on_close_timeout_s, 60, 1, 86400);
	cfg_check_uint(x, "recording.write_buffer_kb", &r->write_buffer_kb, 256, 4, 65536);
	cfg_check_uint(x, "recording.buffer_mb", &r->buffer_mb, 512, 1, 1048576);
	cfg_default_str(x, "recording.srtp", &r->srtp, "decrypt");
	i = cfg_pick(x, "recording.srtp", r->srtp, srtps, 2, "decrypt, keep");
	r->srtp_mode = i < 0 ? CFG_REC_SRTP_DECRYPT : (enum cfg_rec_srtp)i;
}
