/* SPDX-License-Identifier: BSD-3-Clause
 * Reload (rtprecctl reload, SIGHUP): the config file is read again and what can change
 * while running is applied — log level, target and format; sip.allow; sip.rate_limit.
 * Everything else needs a restart and is left as it is (a changed static flow list is
 * logged as such). A file with errors changes nothing. */
#include <string.h>

#include "app_reload.h"
#include "config/cfg_log.h"

static bool app_reload_flows_same(const struct cfg *a, const struct cfg *b)
{
	if (a->flows_count != b->flows_count)
		return false;
	for (unsigned i = 0; i < a->flows_count; i++)
		if (strcmp(a->flows[i].name, b->flows[i].name) != 0)
			return false;
	return true;
}

const char *app_reload(void *arg)
{
	struct app_reload_ctx *r = arg;
	struct cfg *n = NULL;
	struct cfg_sip *live = &r->cfg->sip;

	if (r->path == NULL)
		return "running on the embedded default config: nothing to reload";
	if (cfg_load_file(r->path, &n, stderr) != 0)
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
	if (!app_reload_flows_same(r->cfg, n))
		LOG_WARN("reload: the static flows changed: they take effect at the next restart");
	LOG_INFO("reload: %s read again (log, sip.allow, sip.rate_limit applied)", r->path);
	cfg_free(n);
	return NULL;
}
