/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef RTPREC_APP_USER_H
#define RTPREC_APP_USER_H

#include "config/cfg.h"

/* Switch to process.user (nothing without it). 0, or -1 (logged): rtprec must stop. */
int app_drop_privileges(const struct cfg *cfg);

#endif
