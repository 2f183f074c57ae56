/* SPDX-License-Identifier: BSD-3-Clause
 * multipart/mixed splitter for SIPREC bodies (RFC 2046, RFC 7866 section 9).
 * No allocation: parts point into the caller's body. Lenient by design
 * (issue 10 point 3): what real SRCs send is accepted when it can be made
 * sense of. */
#ifndef CP_MULTIPART_H
#define CP_MULTIPART_H

#include <stddef.h>

struct cp_part {
	const char *ctype; size_t ctype_len;   /* the part's Content-Type value (params included), may be 0-length */
	const char *disp; size_t disp_len;     /* Content-Disposition value, may be 0-length */
	const char *body; size_t len;          /* part body, pointing into the input */
};
#define CP_MAX_PARTS 8
/* Split body by the boundary of content_type (a multipart/mixed value, e.g.
 * `multipart/mixed;boundary=foobar` or quoted). Returns the number of parts (>= 1)
 * or -1 with *why = a short static reason ("no boundary parameter", "no part found", ...).
 * Lenient: CRLF or LF line ends, a preamble, a missing final boundary, trailing
 * whitespace after boundaries, header names in any case, no space after ':'.
 * More parts than max_parts: -1 "too many parts". */
int cp_multipart_split(const char *content_type, const char *body, size_t len,
                       struct cp_part *parts, int max_parts, const char **why);
/* Media type of a Content-Type value, lowercased, without parameters, into out. */
void cp_ctype_base(const char *ctype, size_t len, char *out, size_t outlen);

/* Extra helpers (not in the first face, additive): 1 when the Content-Type
 * value is an rs-metadata type (`application/rs-metadata+xml` or
 * `application/rs-metadata`, issue 10 point 2), 1 for application/sdp. */
int cp_ctype_is_metadata(const char *ctype, size_t len);
int cp_ctype_is_sdp(const char *ctype, size_t len);
/* 1 when an Accept value (ranges joined by ", "; NULL: no Accept header)
 * admits application/sdp: the most specific range present that covers it
 * (application/sdp, then application/ with any subtype, then any type) decides,
 * q=0 excludes; an Accept that names no range admits it (lenient). */
int cp_ctype_accepts_sdp(const char *accept);

#endif
