/* SPDX-License-Identifier: BSD-3-Clause
 * Reload (rtprecctl reload, SIGHUP): the config file is read again and what can change
 * while running is applied — log level, target and format; sip.allow; sip.rate_limit;
 * the static flows (added, removed, changed: cp_static_reload). Everything else needs a
 * restart and is left as it is. A file with errors changes nothing. */
#include <string.h>

#include "app_reload.h"
#include "config/cfg_log.h"
#include "controlplane/cp.h"
#include "controlplane/cp_static.h"

/* The static flows as the file now has them; what changed goes to out (may be NULL). */
static void app_reload_flows(struct app_reload_ctx *r, const struct cfg *n, FILE *out)
{
	struct cp_static_result res;

	if (r->cp == NULL)
		return;
	cp_static_reload(r->cp, n, &res);
	if (res.why[0] != '\0')
		LOG_WARN("reload: static flows: %s", res.why);
	if (out == NULL)
		return;
	fprintf(out,
		",\"flows\":{\"added\":%u,\"removed\":%u,\"changed\":%u,\"kept\":%u,"
		"\"refused\":%u",
		res.added, res.removed, res.changed, res.kept, res.refused);
	if (res.why[0] != '\0') {
		fputs(",\"why\":", out);
		cp_json_str(out, res.why);
	}
	fputc('}', out);
}

const char *app_reload(void *arg, FILE *out)
{
	struct app_reload_ctx *r = arg;
	struct cfg *n = NULL;
	struct cfg_sip *live = &r->cfg->sip;

	if (r->path == NULL)
		return "running on the embedded default config: nothing to reload";
	if (cfg_load_file_flags(r->path, CFG_LOAD_RELOAD, &n, stderr) != 0)
		return "the config file has errors (see the log): nothing changed";
	cfg_log_setup(&n->log);
	r->cfg->log.level_value = n->log.level_value;
	/* the ACL: the session layer reads these at each INVITE; the strings are swapped so
	 * that each config frees its own */
	char **allow = live->allow;
	unsigned allow_count = live->allow_count;
	memcpy(live->allow_ip, n->sip.allow_ip, sizeof(live->allow_ip));
	memcpy(live->allow_prefix, n->sip.allow_prefix, sizeof(live->allow_prefix));
	live->allow = n->sip.allow;
	live->allow_count = n->sip.allow_count;
	n->sip.allow = allow;
	n->sip.allow_count = allow_count;
	if (n->sip.rate_limit.requests_per_s != live->rate_limit.requests_per_s ||
	    n->sip.rate_limit.burst != live->rate_limit.burst) {
		live->rate_limit = n->sip.rate_limit;
		if (r->sip != NULL)
			cp_sip_set_rate_limit(r->sip, live->rate_limit.requests_per_s,
					      live->rate_limit.burst);
	}
	app_reload_flows(r, n, out);
	LOG_INFO("reload: %s read again (log, sip.allow, sip.rate_limit, flows applied)", r->path);
	cfg_free(n);
	return NULL;
}
