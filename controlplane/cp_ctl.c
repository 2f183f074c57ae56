/* SPDX-License-Identifier: BSD-3-Clause
 * Operator commands (rtprecctl over the control socket, DPDK telemetry): one line in,
 * one JSON object out, run on the control-plane thread. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config/cfg_log.h"
#include "cp_ctl.h"
#include "cp_nat_priv.h"
#include "cp_session_priv.h"

static const char *const cp_state_names[] = { "free", "starting", "active", "updating",
					      "closing" };

static struct cp_session *cp_ctl_find(struct cp_ctx *cp, const char *id)
{
	struct cp_sessions *ss = cp->sess;

	for (uint32_t i = 0; ss != NULL && i < ss->max; i++)
		if (ss->slots[i] != NULL && strcmp(ss->slots[i]->id, id) == 0)
			return ss->slots[i];
	return NULL;
}

static void cp_ctl_status(struct cp_ctx *cp, FILE *out)
{
	const struct cp_sessions *ss = cp->sess;
	char ip[INET_ADDRSTRLEN];
	struct in_addr a = { htonl(cp->nat ? cp->nat->ext_ip : 0) };

	fprintf(out, "{\"ok\":true,\"version\":\"%s\",\"uptime_s\":%llu,\"workers\":%u,"
		"\"ports\":%u,\"sessions_active\":%u,\"sessions_total\":%llu,\"draining\":%s,"
		"\"external_ip\":", RTPREC_VERSION,
		(unsigned long long)((cp_now_ms() - cp->start_ms) / 1000), dp_worker_count(cp->dp),
		dp_port_count(cp->dp), cp_sessions_active(cp), (unsigned long long)(ss ? ss->total : 0),
		ss && ss->draining ? "true" : "false");
	if (cp->nat != NULL && cp->nat->ext_known && inet_ntop(AF_INET, &a, ip, sizeof(ip)))
		fprintf(out, "\"%s\"", ip);
	else
		fputs("null", out);
	fprintf(out, ",\"log_level\":\"%s\"}", cfg_log_level_name(cfg_log_level_current));
}

static void cp_ctl_sessions(struct cp_ctx *cp, FILE *out)
{
	const struct cp_sessions *ss = cp->sess;
	bool first = true;

	fputs("{\"ok\":true,\"sessions\":[", out);
	for (uint32_t i = 0; ss != NULL && i < ss->max; i++) {
		const struct cp_session *s = ss->slots[i];
		unsigned streams = 0;
		if (s == NULL)
			continue;
		for (unsigned k = 0; k < s->n_streams; k++)
			streams += s->streams[k].in_use;
		fprintf(out, "%s{\"id\":\"%s\",\"state\":\"%s\",\"streams\":%u,\"start_ns\":%llu,"
			"\"call_id\":", first ? "" : ",", s->id, cp_state_names[s->state], streams,
			(unsigned long long)s->start_ns);
		cp_json_str(out, s->call_id);
		fputs(",\"from\":", out);
		cp_json_str(out, s->from);
		fputs(",\"source\":", out);
		cp_json_str(out, s->src ? s->src : "");
		fputc('}', out);
		first = false;
	}
	fputs("]}", out);
}

/* "stats": every stats line (the sip line, then a fresh dump from the workers) as one
 * JSON array; "flows": the static flows' lines only; "nat": the nat line. */
static void cp_ctl_lines(struct cp_ctx *cp, const struct cp_sip *sip, const char *what,
			 FILE *out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	bool first = true;

	if (m == NULL) {
		fputs("{\"ok\":false,\"error\":\"out of memory\"}", out);
		return;
	}
	if (strcmp(what, "nat") == 0) {
		if (cp->nat != NULL)
			cp_nat_print(cp->nat, m, "{\"event\":\"stats\",\"type\":\"nat\"");
	} else if (cp_collect_stats(cp, 0) == 0) {
		if (sip != NULL && strcmp(what, "stats") == 0)
			cp_sip_print_stats(sip, m);
		cp_print_stats(cp, m, "ctl");
	}
	fclose(m);
	fprintf(out, "{\"ok\":true,\"%s\":[", what);
	for (char *line = text, *nl; line != NULL && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (strncmp(line, "{\"event\":\"stats\"", 16) != 0 ||
		    (strcmp(what, "flows") == 0 && strstr(line, "\"type\":\"flow\"") == NULL))
			continue;
		fprintf(out, "%s%s", first ? "" : ",", line);
		first = false;
	}
	fputs("]}", out);
	free(text);
}

static void cp_ctl_error(FILE *out, const char *why)
{
	fputs("{\"ok\":false,\"error\":", out);
	cp_json_str(out, why);
	fputc('}', out);
}

void cp_ctl_command(struct cp_ctx *cp, const struct cp_sip *sip, const char *line, FILE *out)
{
	char cmd[32] = "", arg[80] = "";
	struct cp_session *s;

	if (sscanf(line, "%31s %79s", cmd, arg) < 1)
		return cp_ctl_error(out, "empty command");
	if (strcmp(cmd, "status") == 0) {
		cp_ctl_status(cp, out);
	} else if (strcmp(cmd, "sessions") == 0) {
		cp_ctl_sessions(cp, out);
	} else if (strcmp(cmd, "stats") == 0 || strcmp(cmd, "flows") == 0 ||
		   strcmp(cmd, "nat") == 0) {
		cp_ctl_lines(cp, sip, cmd, out);
	} else if (strcmp(cmd, "session") == 0 || strcmp(cmd, "stop") == 0) {
		if ((s = cp_ctl_find(cp, arg)) == NULL)
			return cp_ctl_error(out, "no such session");
		if (strcmp(cmd, "session") == 0) {
			fputs("{\"ok\":true,\"session\":", out);
			cp_sess_write_json(out, cp, s);
			fputs("}}", out);
			return;
		}
		LOG_INFO("session %s: stopped by the operator", s->id);
		if (s->dialog != NULL)
			cp_sip_send_bye(s->dialog, "stopped by the operator");
		cp_sess_end(cp, s, "stopped by the operator");
		fputs("{\"ok\":true}", out);
	} else if (strcmp(cmd, "drain") == 0 || strcmp(cmd, "resume") == 0) {
		if (cp->sess != NULL)
			cp->sess->draining = strcmp(cmd, "drain") == 0;
		LOG_INFO("%s: new calls %s", cmd, strcmp(cmd, "drain") == 0 ? "refused (503)"
									   : "accepted again");
		fputs("{\"ok\":true}", out);
	} else if (strcmp(cmd, "nat-recheck") == 0) {
		if (cp->nat != NULL)
			cp_nat_recheck(cp->nat);
		fputs("{\"ok\":true}", out);
	} else if (strcmp(cmd, "log-level") == 0) {
		int lvl = cfg_log_level_parse(arg);
		if (lvl < 0)
			return cp_ctl_error(out, "log levels: error, warning, info, debug");
		cfg_log_level_current = (enum cfg_log_level)lvl;
		fputs("{\"ok\":true}", out);
	} else {
		cp_ctl_error(out, "unknown command (status, sessions, session ID, stop ID, stats, "
				  "flows, nat, drain, resume, nat-recheck, log-level LEVEL, reload)");
	}
}
