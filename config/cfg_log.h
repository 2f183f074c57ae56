/* SPDX-License-Identifier: BSD-3-Clause
 * Start-up and control-plane logging to stderr (never on the packet path). */
#ifndef RTPREC_CFG_LOG_H
#define RTPREC_CFG_LOG_H

#include <stdio.h>
#include "cfg.h"

extern enum cfg_log_level cfg_log_level_current;

#define cfg_log(lvl, tag, fmt, ...) \
	do { \
		if ((lvl) <= cfg_log_level_current) \
			fprintf(stderr, "rtprec: %s: " fmt "\n", (tag), ##__VA_ARGS__); \
	} while (0)

#define LOG_ERR(fmt, ...) cfg_log(CFG_LOG_ERROR, "error", fmt, ##__VA_ARGS__)
#define LOG_WARN(fmt, ...) cfg_log(CFG_LOG_WARNING, "warning", fmt, ##__VA_ARGS__)
#define LOG_INFO(fmt, ...) cfg_log(CFG_LOG_INFO, "info", fmt, ##__VA_ARGS__)
#define LOG_DEBUG(fmt, ...) cfg_log(CFG_LOG_DEBUG, "debug", fmt, ##__VA_ARGS__)

#endif
