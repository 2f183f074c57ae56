/* SPDX-License-Identifier: BSD-3-Clause
 * Test bodies from tests/data/siprec/ (include after cmocka.h). */
#ifndef RTPREC_UT_DATA_H
#define RTPREC_UT_DATA_H

#include <stdio.h>
#include <stdlib.h>

/* The whole file, NUL-terminated; *len its size. The caller frees. */
static inline char *ut_slurp(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *b;
	long n;

	snprintf(path, sizeof(path), "%s/%s", CP_SIPREC_TESTDATA, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return b;
}

#endif
