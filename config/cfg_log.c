/* SPDX-License-Identifier: BSD-3-Clause
 * See cfg_log.h. */
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

/* syslog.h's LOG_ERR, LOG_INFO, LOG_DEBUG are names cfg_log.h takes for its macros */
static const int cfg_syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
static const int cfg_syslog_facility = LOG_DAEMON;
#undef LOG_ERR
#undef LOG_INFO
#undef LOG_DEBUG

#include "cfg_log.h"

enum cfg_log_level cfg_log_level_current = CFG_LOG_INFO;

static const char *const cfg_log_names[] = { "error", "warning", "info", "debug" };
static bool cfg_log_syslog, cfg_log_json;
static __thread char cfg_log_session[40];

const char *cfg_log_level_name(enum cfg_log_level l)
{
	return (unsigned)l < 4 ? cfg_log_names[l] : "info";
}

int cfg_log_level_parse(const char *s)
{
	for (int i = 0; s != NULL && i < 4; i++)
		if (strcasecmp(s, cfg_log_names[i]) == 0)
			return i;
	return -1;
}

void cfg_log_setup(const struct cfg_log *c)
{
	cfg_log_level_current = c->level_value;
	cfg_log_json = c->json;
	if (c->to_syslog && !cfg_log_syslog)
		openlog("rtprec", LOG_PID, cfg_syslog_facility);
	cfg_log_syslog = c->to_syslog;
}

void cfg_log_context(const char *session_id)
{
	snprintf(cfg_log_session, sizeof(cfg_log_session), "%s", session_id ? session_id : "");
}

/* msg as a JSON string body (quotes and control characters escaped) into out. */
static void cfg_log_escape(char *out, size_t cap, const char *msg)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)msg; *p && o + 7 < cap; p++) {
		if (*p == '"' || *p == '\\')
			o += (size_t)snprintf(out + o, cap - o, "\\%c", *p);
		else if (*p < 0x20)
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o] = '\0';
}

void cfg_log_emit(enum cfg_log_level lvl, const char *fmt, ...)
{
	char msg[1024], line[1400], esc[1200], when[40];
	bool ctx;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx = cfg_log_session[0] && strstr(msg, cfg_log_session) == NULL;
	if (cfg_log_json) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		cfg_log_escape(esc, sizeof(esc), msg);
		snprintf(line, sizeof(line),
			 "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\"%s%s%s,\"msg\":\"%s\"}", when, ts.tv_nsec / 1000000, cfg_log_level_name(lvl),
			 cfg_log_session[0] ? ",\"session\":\"" : "", cfg_log_session,
			 cfg_log_session[0] ? "\"" : "", esc);
	} else {
		snprintf(line, sizeof(line), "%s%s%s%s", msg, ctx ? " [session " : "",
			 ctx ? cfg_log_session : "", ctx ? "]" : "");
	}
	if (cfg_log_syslog)
		syslog(cfg_syslog_prio[(unsigned)lvl < 4 ? lvl : 2], "%s", line);
	else if (cfg_log_json)
		fprintf(stderr, "%s\n", line);
	else
		fprintf(stderr, "rtprec: %s: %s\n", cfg_log_level_name(lvl), line);
}
