/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef RTPREC_APP_RELOAD_H
#define RTPREC_APP_RELOAD_H

#include "config/cfg.h"
#include "controlplane/cp_sip.h"

struct app_reload_ctx {
	struct cfg *cfg;     /* the live config, changed in place */
	const char *path;    /* NULL: the embedded default */
	struct cp_sip *sip;
	struct cp_ctx *cp;   /* NULL until the control plane runs */
};

/* An app_ops_reload_fn: NULL when applied (what the static flows did goes to out as
 * ,"flows":{...}; out may be NULL: the log only), else why not. */
const char *app_reload(void *arg, FILE *out);

#endif
