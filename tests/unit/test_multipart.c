/* SPDX-License-Identifier: BSD-3-Clause
 * cp_multipart: SIPREC multipart/mixed bodies, strict and lenient. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ut_data.h"

#include "controlplane/siprec/cp_multipart.h"


static void assert_span(const char *p, size_t n, const char *want)
{
	assert_int_equal(n, strlen(want));
	assert_memory_equal(p, want, n);
}

static int split(const char *ct, const char *body, struct cp_part *parts, const char **why)
{
	return cp_multipart_split(ct, body, strlen(body), parts, CP_MAX_PARTS, why);
}

/* The RFC 7866 style INVITE body: SDP with two labelled streams + rs-metadata. */
static void test_rfc7866_body(void **state)
{
	struct cp_part p[CP_MAX_PARTS];
	const char *why = NULL;
	size_t len, sdplen, mdlen;
	char *body = ut_slurp("invite_body.txt", &len);
	char *sdp = ut_slurp("offer_2streams.sdp", &sdplen);
	char *md = ut_slurp("metadata_snapshot.xml", &mdlen);
	char base[64];
	(void)state;

	int n = cp_multipart_split("multipart/mixed;boundary=uniqueBoundary", body, len, p,
				   CP_MAX_PARTS, &why);
	assert_int_equal(n, 2);
	assert_span(p[0].ctype, p[0].ctype_len, "application/sdp");
	assert_int_equal(p[0].disp_len, 0);
	/* the CRLF before the delimiter belongs to the delimiter */
	assert_int_equal(p[0].len, sdplen - 2);
	assert_memory_equal(p[0].body, sdp, sdplen - 2);
	assert_span(p[1].ctype, p[1].ctype_len, "application/rs-metadata+xml");
	assert_span(p[1].disp, p[1].disp_len, "recording-session");
	/* the metadata file has LF line ends, CRLF in the body, last one dropped */
	size_t lines = 0;
	for (size_t i = 0; i < mdlen; i++)
		lines += md[i] == '\n';
	assert_int_equal(lines, 42);
	assert_int_equal(p[1].len, mdlen + lines - 2);
	assert_memory_equal(p[1].body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n", 40);
	assert_memory_equal(p[1].body + p[1].len - 12, "</recording>", 12);
	assert_true(p[1].body > p[0].body);

	cp_ctype_base(p[1].ctype, p[1].ctype_len, base, sizeof(base));
	assert_string_equal(base, "application/rs-metadata+xml");
	assert_int_equal(cp_ctype_is_metadata(p[1].ctype, p[1].ctype_len), 1);
	assert_int_equal(cp_ctype_is_sdp(p[0].ctype, p[0].ctype_len), 1);
	assert_int_equal(cp_ctype_is_metadata(p[0].ctype, p[0].ctype_len), 0);
	free(body);
	free(sdp);
	free(md);
}

static const char two_parts_lf[] =
	"--b1\n"
	"Content-Type: application/sdp\n"
	"\n"
	"v=0\n"
	"--b1\n"
	"Content-Type: application/rs-metadata\n"
	"\n"
	"<recording/>\n"
	"--b1--\n";

static void test_quoted_boundary(void **state)
{
	struct cp_part p[CP_MAX_PARTS];
	const char *why = NULL;
	(void)state;

	static const char body[] =
		"--Bound ary'()+_,-./:=?\r\n"
		"content-type:application/sdp\r\n"
		"\r\n"
		"v=0\r\n"
		"--Bound ary'()+_,-./:=?\r\n"
		"CONTENT-TYPE:  application/rs-metadata+xml ; charset=utf-8\r\n"
		"\r\n"
		"<recording/>\r\n"
		"--Bound ary'()+_,-./:=?--\r\n";
	assert_int_equal(split("multipart/mixed; boundary=\"Bound ary'()+_,-./:=?\"", body, p,
			       &why), 2);
	assert_span(p[0].ctype, p[0].ctype_len, "application/sdp");
	assert_span(p[0].body, p[0].len, "v=0");
	assert_span(p[1].ctype, p[1].ctype_len, "application/rs-metadata+xml ; charset=utf-8");
	assert_span(p[1].body, p[1].len, "<recording/>");
	/* parameter name in any case, spaces around '=' */
	assert_int_equal(split("Multipart/Mixed ;BOUNDARY = b1", two_parts_lf, p, &why), 2);
}

static void test_lf_only(void **state)
{
	struct cp_part p[CP_MAX_PARTS];
	const char *why = NULL;
	char base[64];
	(void)state;

	assert_int_equal(split("multipart/mixed;boundary=b1", two_parts_lf, p, &why), 2);
	assert_span(p[0].body, p[0].len, "v=0");
	assert_span(p[1].body, p[1].len, "<recording/>");
	cp_ctype_base(p[1].ctype, p[1].ctype_len, base, sizeof(base));
	assert_string_equal(base, "application/rs-metadata");
	assert_int_equal(cp_ctype_is_metadata(p[1].ctype, p[1].ctype_len), 1);
}

static void test_preamble_and_epilogue(void **state)
{
	struct cp_part p[CP_MAX_PARTS];
	const char *why = NULL;
	(void)state;

	static const char body[] =
		"This is a multi-part message in MIME format.\r\n"
		"--b1 extra?\r\n"      /* not a delimiter: text after the boundary */
		"\r\n"
		"--b1\t \r\n"          /* trailing whitespace: a delimiter */
		"Content-Type: application/sdp\r\n"
		"\r\n"
		"v=0\r\n"
		"--b1--  \r\n"
		"epilogue, ignored\r\n"
		"--b1\r\n"
		"Content-Type: text/plain\r\n\r\nnot a part\r\n";
	assert_int_equal(split("multipart/mixed;boundary=b1", body, p, &why), 1);
	assert_span(p[0].ctype, p[0].ctype_len, "application/sdp");
	assert_span(p[0].body, p[0].len, "v=0");
}

static void test_missing_final_boundary(void **state)
{
	struct cp_part p[CP_MAX_PARTS];
	const char *why = NULL;
	(void)state;

	static const char body[] =
		"--b1\r\n"
		"Content-Type: application/sdp\r\n"
		"\r\n"
		"v=0\r\n"
		"--b1\r\n"
		"Content-Type: application/rs-metadata+xml\r\n"
		"\r\n"
		"<recording/>\r\n";
	assert_int_equal(split("multipart/mixed;boundary=b1", body, p, &why), 2);
	assert_span(p[1].body, p[1].len, "<recording/>\r\n");

	/* a dangling opening delimiter with nothing after it adds no part */
	static const char body2[] =
		"--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b1\r\n\r\n";
	assert_int_equal(split("multipart/mixed;boundary=b1", body2, p, &why), 1);
	assert_span(p[0].body, p[0].len, "v=0");
}

static void test_headers_lenient(void **state)
{
	struct cp_part p[CP_MAX_PARTS];
	const char *why = NULL;
	(void)state;

	static const char body[] =
		"--b1\r\n"
		"Content-Length: 3\r\n"
		"content-type :application/sdp\r\n"
		"Content-Disposition: session;\r\n"
		" handling=required\r\n"   /* folded */
		"\r\n"
		"v=0\r\n"
		"--b1\r\n"
		"\r\n"                     /* no headers at all */
		"plain\r\n"
		"--b1\r\n"
		"v=0\r\n"                  /* no header block nor blank line: body */
		"--b1--";
	assert_int_equal(split("multipart/mixed;boundary=b1", body, p, &why), 3);
	assert_span(p[0].ctype, p[0].ctype_len, "application/sdp");
	assert_span(p[0].disp, p[0].disp_len, "session;\r\n handling=required");
	assert_span(p[0].body, p[0].len, "v=0");
	assert_int_equal(p[1].ctype_len, 0);
	assert_span(p[1].body, p[1].len, "plain");
	/* "v=0" looks like no header (no ':') */
	assert_int_equal(p[2].ctype_len, 0);
	assert_span(p[2].body, p[2].len, "v=0");
}

static void test_no_boundary_param(void **state)
{
	struct cp_part p[CP_MAX_PARTS];
	const char *why = NULL;
	(void)state;

	assert_int_equal(split("multipart/mixed", two_parts_lf, p, &why), -1);
	assert_string_equal(why, "no boundary parameter");
	why = NULL;
	assert_int_equal(split("multipart/mixed;boundary=", two_parts_lf, p, &why), -1);
	assert_string_equal(why, "no boundary parameter");
	assert_int_equal(split("multipart/mixed;boundary=\"b1", two_parts_lf, p, &why), -1);
	assert_string_equal(why, "no boundary parameter");
	assert_int_equal(cp_multipart_split(NULL, "x", 1, p, CP_MAX_PARTS, &why), -1);
	/* NULL why is allowed */
	assert_int_equal(split("multipart/mixed", two_parts_lf, p, NULL), -1);
}

static void test_garbage(void **state)
{
	struct cp_part p[CP_MAX_PARTS];
	const char *why = NULL;
	(void)state;

	assert_int_equal(split("multipart/mixed;boundary=b1", "v=0\r\no=x\r\n", p, &why), -1);
	assert_string_equal(why, "boundary not found in body");
	assert_int_equal(split("multipart/mixed;boundary=b1", "--b1--\r\n", p, &why), -1);
	assert_string_equal(why, "no part found");
	assert_int_equal(split("multipart/mixed;boundary=b1", "--b1", p, &why), -1);
	assert_string_equal(why, "no part found");
	assert_int_equal(cp_multipart_split("multipart/mixed;boundary=b1", "", 0, p,
					    CP_MAX_PARTS, &why), -1);
	assert_string_equal(why, "empty body");
	assert_int_equal(split("multipart/mixed;boundary=b1", "--b\r\n--b1x\r\n--", p, &why), -1);
	assert_string_equal(why, "boundary not found in body");
}

static void make_parts(char *buf, size_t cap, int n)
{
	size_t o = 0;

	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, cap - o,
				      "--xx\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", i);
	snprintf(buf + o, cap - o, "--xx--\r\n");
}

static void test_max_parts(void **state)
{
	struct cp_part p[CP_MAX_PARTS];
	const char *why = NULL;
	char buf[2048];
	(void)state;

	make_parts(buf, sizeof(buf), CP_MAX_PARTS);
	assert_int_equal(split("multipart/mixed;boundary=xx", buf, p, &why), CP_MAX_PARTS);
	assert_span(p[7].body, p[7].len, "part 7");

	make_parts(buf, sizeof(buf), 9);
	why = NULL;
	assert_int_equal(split("multipart/mixed;boundary=xx", buf, p, &why), -1);
	assert_string_equal(why, "too many parts");
	/* a smaller array is respected */
	assert_int_equal(cp_multipart_split("multipart/mixed;boundary=xx", buf, strlen(buf), p,
					    2, &why), -1);
}

static void test_ctype_base(void **state)
{
	char out[16];
	(void)state;

	cp_ctype_base("  Application/SDP;charset=x", 27, out, sizeof(out));
	assert_string_equal(out, "application/sdp");
	cp_ctype_base("application/sdp ", 16, out, sizeof(out));
	assert_string_equal(out, "application/sdp");
	cp_ctype_base("application/rs-metadata+xml", 27, out, sizeof(out));
	assert_string_equal(out, "application/rs-"); /* truncated to outlen - 1 */
	cp_ctype_base("application/sdp", 11, out, sizeof(out));
	assert_string_equal(out, "application");    /* honours len */
	cp_ctype_base(NULL, 0, out, sizeof(out));
	assert_string_equal(out, "");
	cp_ctype_base("text/plain", 10, out, 0);     /* no room: untouched, no crash */
}

/* Accept (RFC 3261 20.1): does the request admit an SDP answer? */
static void test_accepts_sdp(void **state)
{
	(void)state;

	assert_true(cp_ctype_accepts_sdp(NULL));                 /* no Accept header */
	assert_true(cp_ctype_accepts_sdp(""));                   /* names nothing: lenient */
	assert_true(cp_ctype_accepts_sdp("application/sdp"));
	assert_true(cp_ctype_accepts_sdp("Application/SDP; level=1"));
	assert_true(cp_ctype_accepts_sdp("application/rs-metadata+xml, application/sdp"));
	assert_true(cp_ctype_accepts_sdp("text/html, application/*"));
	assert_true(cp_ctype_accepts_sdp("*/*"));
	assert_true(cp_ctype_accepts_sdp("application/sdp; q=0.5"));
	assert_false(cp_ctype_accepts_sdp("text/nobodyKnowsThis")); /* RFC 4475 3.3.15 */
	assert_false(cp_ctype_accepts_sdp("application/rs-metadata+xml, text/plain"));
	assert_false(cp_ctype_accepts_sdp("application/sdp;q=0"));
	assert_false(cp_ctype_accepts_sdp("application/sdp; Q = 0.000"));
	assert_false(cp_ctype_accepts_sdp("application/sdpx, sdp, application/sd"));
	/* the most specific range decides, whatever the order */
	assert_false(cp_ctype_accepts_sdp("*/*, application/sdp;q=0"));
	assert_false(cp_ctype_accepts_sdp("application/sdp;q=0, application/*"));
	assert_true(cp_ctype_accepts_sdp("application/*;q=0, application/sdp"));
	assert_true(cp_ctype_accepts_sdp("*/*;q=0, application/*;q=0.1"));
	assert_false(cp_ctype_accepts_sdp("application/*;q=0, */*"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7866_body),
		cmocka_unit_test(test_quoted_boundary),
		cmocka_unit_test(test_lf_only),
		cmocka_unit_test(test_preamble_and_epilogue),
		cmocka_unit_test(test_missing_final_boundary),
		cmocka_unit_test(test_headers_lenient),
		cmocka_unit_test(test_no_boundary_param),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_max_parts),
		cmocka_unit_test(test_ctype_base),
		cmocka_unit_test(test_accepts_sdp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
