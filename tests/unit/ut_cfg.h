/* SPDX-License-Identifier: BSD-3-Clause
 * Config test helpers shared by test_config.c and test_rec_config.c: load a
 * YAML text, expect exactly these errors, or expect it to load cleanly.
 * Include after cmocka.h and config/cfg.h. */
#ifndef RTPREC_UT_CFG_H
#define RTPREC_UT_CFG_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int ut_cfg_load(const char *yaml, struct cfg **c, char **out)
{
	size_t len;
	FILE *f = open_memstream(out, &len);
	int n;

	assert_non_null(f);
	n = cfg_load_string("t.yaml", yaml, strlen(yaml), c, f);
	fclose(f);
	return n;
}

static inline void expect_errors(const char *yaml, int nerr, const char *text)
{
	struct cfg *c = (struct cfg *)1;
	char *out = NULL;
	int n = ut_cfg_load(yaml, &c, &out);

	if (n != nerr || strcmp(out, text) != 0)
		print_error("yaml:\n%s\n-- got %d errors:\n%s-- expected %d:\n%s", yaml, n, out, nerr,
			    text);
	assert_int_equal(n, nerr);
	assert_string_equal(out, text);
	assert_null(c);
	free(out);
}

static inline struct cfg *expect_ok(const char *yaml)
{
	struct cfg *c = NULL;
	char *out = NULL;
	int n = ut_cfg_load(yaml, &c, &out);

	if (n)
		print_error("yaml:\n%s\n-- unexpected errors:\n%s", yaml, out);
	assert_int_equal(n, 0);
	assert_string_equal(out, "");
	assert_non_null(c);
	free(out);
	return c;
}

#endif
