/* SPDX-License-Identifier: BSD-3-Clause
 * session.json (controlplane/cp_sess_files.c writes it), read with jansson:
 * per stream its label, codec lines, local port and the negotiated
 * and latched addresses. Other keys are ignored. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exp.h"

/* {"ip":"a.b.c.d","port":N} or null; anything else reads as no address. */
static struct exp_addr exp_json_addr(const json_t *o)
{
	struct exp_addr a = {0, 0};
	const json_t *ip = json_object_get(o, "ip"), *port = json_object_get(o, "port");
	struct in_addr in;

	if (!json_is_string(ip) || !json_is_integer(port) ||
	    inet_pton(AF_INET, json_string_value(ip), &in) != 1)
		return a;
	if (json_integer_value(port) < 0 || json_integer_value(port) > 65535)
		return a;
	a.ip = ntohl(in.s_addr);
	a.port = (uint16_t)json_integer_value(port);
	return a;
}

/* {"mode":"decrypt"|"keep",...}; null or absent: not SRTP. Another mode reads
 * as keep: nothing says that its packets were decrypted. */
static uint8_t exp_json_srtp(const json_t *o)
{
	const char *mode = json_string_value(json_object_get(o, "mode"));

	if (!json_is_object(o))
		return EXP_SRTP_NONE;
	return mode != NULL && strcmp(mode, "decrypt") == 0 ? EXP_SRTP_DECRYPT : EXP_SRTP_KEEP;
}

static void exp_json_stream(const json_t *o, struct exp_sstream *st)
{
	const json_t *v, *codecs;
	size_t i;

	exp_ptmap_static(&st->map);
	if (!json_is_object(o))
		return;
	v = json_object_get(o, "label");
	if (json_is_string(v))
		snprintf(st->label, sizeof(st->label), "%s", json_string_value(v));
	v = json_object_get(o, "local_port");
	if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= 65535)
		st->local_port = (uint16_t)json_integer_value(v);
	st->negotiated = exp_json_addr(json_object_get(o, "negotiated"));
	st->latched = exp_json_addr(json_object_get(o, "latched"));
	st->srtp = exp_json_srtp(json_object_get(o, "srtp"));
	codecs = json_object_get(o, "codecs");
	json_array_foreach(codecs, i, v) {
		if (json_is_string(v))
			(void)exp_ptmap_rtpmap(&st->map, json_string_value(v));
	}
}

/* Takes root (a reference). */
static int exp_session_from(json_t *root, const json_error_t *je, struct exp_session *s,
			    char *err, size_t errlen)
{
	json_t *streams, *v;
	size_t i, n;

	memset(s, 0, sizeof(*s));
	if (root == NULL) {
		snprintf(err, errlen, "line %d: %s", je->line, je->text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object");
		json_decref(root);
		return -1;
	}
	streams = json_object_get(root, "streams");
	n = json_array_size(streams);
	if (n > 0 && (s->streams = calloc(n, sizeof(*s->streams))) == NULL) {
		snprintf(err, errlen, "out of memory");
		json_decref(root);
		return -1;
	}
	json_array_foreach(streams, i, v)
		exp_json_stream(v, &s->streams[i]);
	s->n_streams = (unsigned)n;
	json_decref(root);
	return 0;
}

int exp_session_parse(const char *buf, size_t len, struct exp_session *s, char *err,
		      size_t errlen)
{
	json_error_t je;

	return exp_session_from(json_loadb(buf, len, 0, &je), &je, s, err, errlen);
}

int exp_session_load(const char *path, struct exp_session *s, char *err, size_t errlen)
{
	json_error_t je;
	FILE *f = fopen(path, "rb");
	int rc;

	memset(s, 0, sizeof(*s));
	if (f == NULL) {
		rc = errno;
		snprintf(err, errlen, "%s", strerror(rc));
		return rc == ENOENT ? -ENOENT : -1;
	}
	rc = exp_session_from(json_loadf(f, 0, &je), &je, s, err, errlen);
	fclose(f);
	return rc;
}

void exp_session_free(struct exp_session *s)
{
	free(s->streams);
	s->streams = NULL;
	s->n_streams = 0;
}
