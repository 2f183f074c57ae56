/* SPDX-License-Identifier: BSD-3-Clause
 * nat_cloud: the lookup, provider after provider, driven by nat_cloud_poll()
 * from the control-plane loop (curl_multi_perform never waits). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nat/cloud/nat_cloud_priv.h"

void nat_cloud_conf_init(struct nat_cloud_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	for (unsigned p = 0; p < NAT_CLOUD_NPROVIDERS; p++)
		conf->order[p] = (enum nat_cloud_provider)p;
	conf->n_order = NAT_CLOUD_NPROVIDERS;
	conf->timeout_ms = NAT_CLOUD_DEFAULT_TIMEOUT_MS;
}

static int nat_cloud_order_ok(const struct nat_cloud_conf *conf)
{
	unsigned seen = 0;

	if (conf->n_order == 0 || conf->n_order > NAT_CLOUD_NPROVIDERS)
		return 0;
	for (unsigned i = 0; i < conf->n_order; i++) {
		unsigned p = (unsigned)conf->order[i];

		if (p >= NAT_CLOUD_NPROVIDERS || (seen & (1u << p)))
			return 0;
		seen |= 1u << p;
	}
	return 1;
}

/* Copy the base URLs (defaults filled in, one trailing '/' dropped). */
static int nat_cloud_copy_bases(struct nat_cloud *c, const struct nat_cloud_conf *conf)
{
	for (unsigned p = 0; p < NAT_CLOUD_NPROVIDERS; p++) {
		const char *b = conf->base_url[p] ? conf->base_url[p] : NAT_CLOUD_DEFAULT_BASE;
		size_t n = strlen(b);

		if (n >= NAT_CLOUD_MAX_BASE || strncasecmp(b, "http://", 7) != 0)
			return -EINVAL;
		if (n > 7 && b[n - 1] == '/')
			n--;
		memcpy(c->base[p], b, n);
		c->base[p][n] = '\0';
		c->conf.base_url[p] = c->base[p];
	}
	return 0;
}

static int nat_cloud_init(struct nat_cloud *c, const struct nat_cloud_conf *conf)
{
	if (!nat_cloud_order_ok(conf))
		return -EINVAL;
	c->conf = *conf;
	if (c->conf.timeout_ms == 0)
		c->conf.timeout_ms = NAT_CLOUD_DEFAULT_TIMEOUT_MS;
	if (c->conf.connect_timeout_ms == 0 || c->conf.connect_timeout_ms > c->conf.timeout_ms)
		c->conf.connect_timeout_ms = c->conf.timeout_ms;
	c->answered = NAT_CLOUD_NONE;
	return nat_cloud_copy_bases(c, conf);
}

struct nat_cloud *nat_cloud_create(const struct nat_cloud_conf *conf)
{
	struct nat_cloud *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL)
		return NULL;
	rc = nat_cloud_init(c, conf);
	if (rc == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		rc = -ENOMEM;
	if (rc != 0) {
		free(c);
		errno = -rc;
		return NULL;
	}
	c->multi = curl_multi_init();
	if (c->multi == NULL) {
		nat_cloud_free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void nat_cloud_free(struct nat_cloud *c)
{
	if (c == NULL)
		return;
	nat_cloud_xfer_close(c);
	curl_multi_cleanup(c->multi);
	curl_global_cleanup();
	free(c);
}

/* Note why the provider being asked failed, in the error line. */
static void nat_cloud_note(struct nat_cloud *c, const char *why)
{
	size_t used = strlen(c->err);

	snprintf(c->err + used, sizeof(c->err) - used, "%s%s %s: %s", used ? "; " : "",
		 nat_cloud_provider_name(c->conf.order[c->pos]), c->x.url, why);
}

/* Open the request for (pos, step), going on to the next providers while
 * one cannot even be set up; FAILED when none is left. */
static void nat_cloud_open(struct nat_cloud *c, uint64_t now_ms)
{
	while (c->pos < c->conf.n_order) {
		int rc = nat_cloud_xfer_open(c);

		if (rc == 0) {
			c->deadline_ms = now_ms + c->conf.timeout_ms + NAT_CLOUD_GRACE_MS;
			c->status = NAT_CLOUD_PENDING;
			return;
		}
		nat_cloud_note(c, rc == -ENOMEM ? "out of memory" : "libcurl refused an option");
		c->pos++;
		c->step = 0;
	}
	c->status = NAT_CLOUD_FAILED;
}

static void nat_cloud_next_provider(struct nat_cloud *c, const char *why, uint64_t now_ms)
{
	nat_cloud_note(c, why);
	nat_cloud_xfer_close(c);
	c->pos++;
	c->step = 0;
	nat_cloud_open(c, now_ms);
}

int nat_cloud_start(struct nat_cloud *c, uint64_t now_ms)
{
	nat_cloud_xfer_close(c);
	c->pos = 0;
	c->step = 0;
	c->addr = 0;
	c->answered = NAT_CLOUD_NONE;
	c->err[0] = '\0';
	c->x.url[0] = '\0';
	nat_cloud_open(c, now_ms);
	return c->status == NAT_CLOUD_PENDING ? 0 : -ENOMEM;
}

/* The body of a good answer: a token for the next step, or the address. */
static int nat_cloud_take_answer(struct nat_cloud *c, char *why, size_t wn)
{
	const struct nat_cloud_def *d = &nat_cloud_defs[c->conf.order[c->pos]];
	size_t n;
	const char *s = nat_cloud_trim(c->x.body, c->x.len, &n);

	if (!(d->steps[c->step].flags & NAT_CLOUD_ANS_TOKEN))
		return nat_cloud_parse_ipv4(s, n, &c->addr, why, wn);
	if (nat_cloud_token_ok(s, n, why, wn) != 0)
		return -1;
	memcpy(c->token, s, n);
	c->token[n] = '\0';
	return 0;
}

static void nat_cloud_finished(struct nat_cloud *c, CURLcode rc, uint64_t now_ms)
{
	char why[NAT_CLOUD_MAX_WHY];
	const struct nat_cloud_def *d = &nat_cloud_defs[c->conf.order[c->pos]];

	if (nat_cloud_xfer_check(c, rc, why, sizeof(why)) != 0 ||
	    nat_cloud_take_answer(c, why, sizeof(why)) != 0) {
		nat_cloud_next_provider(c, why, now_ms);
		return;
	}
	nat_cloud_xfer_close(c);
	if (++c->step < d->n_steps) {
		nat_cloud_open(c, now_ms);
		return;
	}
	c->answered = c->conf.order[c->pos];
	c->status = NAT_CLOUD_DONE;
}

int nat_cloud_poll(struct nat_cloud *c, uint64_t now_ms)
{
	CURLMsg *m;
	int running, left;

	if (c->status != NAT_CLOUD_PENDING)
		return c->status;
	curl_multi_perform(c->multi, &running);
	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (m->msg == CURLMSG_DONE && m->easy_handle == c->x.easy) {
			nat_cloud_finished(c, m->data.result, now_ms);
			break; /* the handle is gone; a new one reports later */
		}
	}
	if (c->status == NAT_CLOUD_PENDING && now_ms >= c->deadline_ms) {
		char why[64];

		snprintf(why, sizeof(why), "no answer within %u ms", c->conf.timeout_ms);
		nat_cloud_next_provider(c, why, now_ms);
	}
	return c->status;
}

long nat_cloud_timeout_ms(struct nat_cloud *c, uint64_t now_ms)
{
	long t = -1;
	long left;

	if (c->status != NAT_CLOUD_PENDING)
		return -1;
	left = now_ms >= c->deadline_ms ? 0 : (long)(c->deadline_ms - now_ms);
	if (curl_multi_timeout(c->multi, &t) != CURLM_OK || t < 0 || t > left)
		t = left;
	return t;
}

uint32_t nat_cloud_result(const struct nat_cloud *c)
{
	return c->status == NAT_CLOUD_DONE ? c->addr : 0;
}

enum nat_cloud_provider nat_cloud_answered(const struct nat_cloud *c)
{
	return c->status == NAT_CLOUD_DONE ? c->answered : NAT_CLOUD_NONE;
}

const char *nat_cloud_error(const struct nat_cloud *c)
{
	return c->err;
}
