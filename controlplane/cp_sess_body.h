/* SPDX-License-Identifier: BSD-3-Clause
 * An INVITE/UPDATE body: SDP alone or multipart/mixed with SDP and
 * rs-metadata. */
#ifndef RTPREC_CP_SESS_BODY_H
#define RTPREC_CP_SESS_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "controlplane/siprec/cp_metadata.h"
#include "controlplane/siprec/cp_sdp.h"
#include "cp_sip.h"

struct cp_sess_body {
	bool has_sdp;
	struct cp_sdp_offer offer;
	const char *sdp;    /* into the request body */
	size_t sdp_len;
	bool has_md;
	struct cp_metadata md;
	const char *md_xml; /* into the request body */
	size_t md_len;
};

/* 0, or the status to refuse with (400, 415) and a reason in why. */
int cp_sess_body_parse(const struct cp_sip_request *req, struct cp_sess_body *b, char *why,
		       size_t why_len);

#endif
