/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <string.h>

#include "controlplane/siprec/cp_multipart.h"
#include "cp_sess_body.h"

static int cp_body_sdp(struct cp_sess_body *b, const char *sdp, size_t len, char *why,
		       size_t why_len)
{
	const char *w = NULL;

	if (cp_sdp_parse_offer(sdp, len, &b->offer, &w) != 0) {
		snprintf(why, why_len, "bad SDP: %s", w ? w : "unparsable");
		return 400;
	}
	b->has_sdp = true;
	b->sdp = sdp;
	b->sdp_len = len;
	return 0;
}

static int cp_body_md(struct cp_sess_body *b, const char *xml, size_t len, char *why,
		      size_t why_len)
{
	const char *w = NULL;

	if (cp_metadata_parse(xml, len, &b->md, &w) != 0) {
		snprintf(why, why_len, "bad rs-metadata: %s", w ? w : "unparsable");
		return 400;
	}
	b->has_md = true;
	b->md_xml = xml;
	b->md_len = len;
	return 0;
}

int cp_sess_body_parse(const struct cp_sip_request *req, struct cp_sess_body *b, char *why,
		       size_t why_len)
{
	struct cp_part parts[CP_MAX_PARTS];
	const char *ct = req->content_type, *w = NULL;
	char base[64];
	int n, rc;

	memset(b, 0, sizeof(*b));
	if (req->body == NULL || req->body_len == 0)
		return 0;
	if (ct == NULL) {
		snprintf(why, why_len, "a body without Content-Type");
		return 400;
	}
	cp_ctype_base(ct, strlen(ct), base, sizeof(base));
	if (cp_ctype_is_sdp(ct, strlen(ct)))
		return cp_body_sdp(b, req->body, req->body_len, why, why_len);
	if (cp_ctype_is_metadata(ct, strlen(ct)))
		return cp_body_md(b, req->body, req->body_len, why, why_len);
	if (strcmp(base, "multipart/mixed") != 0) {
		snprintf(why, why_len, "unsupported body type %.40s", base);
		return 415;
	}
	n = cp_multipart_split(ct, req->body, req->body_len, parts, CP_MAX_PARTS, &w);
	if (n < 0) {
		snprintf(why, why_len, "bad multipart body: %s", w ? w : "unparsable");
		return 400;
	}
	for (int i = 0; i < n; i++) {
		rc = 0;
		if (cp_ctype_is_sdp(parts[i].ctype, parts[i].ctype_len) && !b->has_sdp)
			rc = cp_body_sdp(b, parts[i].body, parts[i].len, why, why_len);
		else if (cp_ctype_is_metadata(parts[i].ctype, parts[i].ctype_len) && !b->has_md)
			rc = cp_body_md(b, parts[i].body, parts[i].len, why, why_len);
		if (rc != 0)
			return rc;
	}
	return 0;
}
