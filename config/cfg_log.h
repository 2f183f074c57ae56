/* SPDX-License-Identifier: BSD-3-Clause
 * Start-up and control-plane logging (never on the packet path): stderr or syslog,
 * text or JSON lines (log.*), with the session a line is about when the caller set one. */
#ifndef RTPREC_CFG_LOG_H
#define RTPREC_CFG_LOG_H

#include <stdio.h>
#include "cfg.h"

extern enum cfg_log_level cfg_log_level_current;

void cfg_log_emit(enum cfg_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define cfg_log(lvl, fmt, ...) \
	do { \
		if ((lvl) <= cfg_log_level_current) \
			cfg_log_emit((lvl), fmt, ##__VA_ARGS__); \
	} while (0)

#define LOG_ERR(fmt, ...) cfg_log(CFG_LOG_ERROR, fmt, ##__VA_ARGS__)
#define LOG_WARN(fmt, ...) cfg_log(CFG_LOG_WARNING, fmt, ##__VA_ARGS__)
#define LOG_INFO(fmt, ...) cfg_log(CFG_LOG_INFO, fmt, ##__VA_ARGS__)
#define LOG_DEBUG(fmt, ...) cfg_log(CFG_LOG_DEBUG, fmt, ##__VA_ARGS__)

/* log.level, log.target, log.format from a loaded config. */
void cfg_log_setup(const struct cfg_log *c);
/* "error" ... "debug"; the level of a name, or -1. */
const char *cfg_log_level_name(enum cfg_log_level l);
int cfg_log_level_parse(const char *s);
/* The session lines logged by this thread are about from now on (NULL or "": none):
 * JSON lines get "session", text lines " [session ID]" unless they name it already. */
void cfg_log_context(const char *session_id);

#endif
