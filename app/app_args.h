/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef RTPREC_APP_ARGS_H
#define RTPREC_APP_ARGS_H

#include "config/cfg.h"

struct app_args {
	const char *config;
	int check;
	int print_default;
	char **extra_eal; /* after "--" */
	int n_extra;
	char **eal_argv;  /* built by app_eal_init */
	int eal_argc;
	char *lcores;     /* the --lcores=... app_eal_init added (ours to free), or NULL */
};

/* -1: go on; otherwise the exit code (help, version, usage error). */
int app_args_parse(int argc, char **argv, struct app_args *a);
/* EAL arguments: dpdk.eal_args, then those after "--"; a core list for
 * workers + 1 lcores is added when neither gives one. 0 or -1. */
int app_eal_init(const struct cfg *cfg, struct app_args *a);
void app_args_free(struct app_args *a);

#endif
