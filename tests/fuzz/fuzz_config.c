/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target: arbitrary bytes as a config file (walk, libcyaml load,
 * validation, error reporting). Errors go to /dev/null.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static FILE *devnull;
	struct cfg *c = NULL;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (cfg_load_string("fuzz", (const char *)d, n, &c, devnull) == 0)
		cfg_free(c);
	return 0;
}
