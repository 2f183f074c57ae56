/* SPDX-License-Identifier: BSD-3-Clause
 * nat_cloud: one HTTP request to a metadata service as a libcurl easy handle
 * on the multi handle: plain HTTP, no proxy, no redirects, short timeouts,
 * a bounded body. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nat/cloud/nat_cloud_priv.h"

static const struct nat_cloud_step *nat_cloud_cur_step(const struct nat_cloud *c)
{
	return &nat_cloud_defs[c->conf.order[c->pos]].steps[c->step];
}

static size_t nat_cloud_on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct nat_cloud_xfer *x = ud;
	size_t n = size * nmemb;

	if (n > NAT_CLOUD_MAX_BODY - x->len) {
		x->too_big = 1;
		return 0; /* ends the transfer with CURLE_WRITE_ERROR */
	}
	memcpy(x->body + x->len, p, n);
	x->len += n;
	x->body[x->len] = '\0';
	return n;
}

static int nat_cloud_set_headers(struct nat_cloud *c, const struct nat_cloud_step *st)
{
	char line[NAT_CLOUD_MAX_BODY + 64];

	snprintf(line, sizeof(line), "%s%s", st->header,
		 (st->flags & NAT_CLOUD_USE_TOKEN) ? c->token : "");
	c->x.hdrs = curl_slist_append(NULL, line);
	return c->x.hdrs != NULL ? 0 : -ENOMEM;
}

static int nat_cloud_set_opts(struct nat_cloud *c, const struct nat_cloud_step *st)
{
	CURL *e = c->x.easy;
	CURLcode rc = CURLE_OK;

	rc |= curl_easy_setopt(e, CURLOPT_URL, c->x.url);
	rc |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, st->method);
	rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->x.hdrs);
	rc |= curl_easy_setopt(e, CURLOPT_PROXY, ""); /* not even from the environment */
	rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
	rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->conf.timeout_ms);
	rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->conf.connect_timeout_ms);
	rc |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE, (long)NAT_CLOUD_MAX_BODY);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, nat_cloud_on_body);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, &c->x);
	rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->x.errbuf);
	rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, "rtprec");
	return rc == CURLE_OK ? 0 : -EINVAL;
}

int nat_cloud_xfer_open(struct nat_cloud *c)
{
	const struct nat_cloud_step *st = nat_cloud_cur_step(c);
	struct nat_cloud_xfer *x = &c->x;
	int rc;

	x->len = 0;
	x->too_big = 0;
	x->body[0] = '\0';
	x->errbuf[0] = '\0';
	snprintf(x->url, sizeof(x->url), "%s%s", c->conf.base_url[c->conf.order[c->pos]],
		 st->path);
	x->easy = curl_easy_init();
	if (x->easy == NULL)
		return -ENOMEM;
	rc = nat_cloud_set_headers(c, st);
	if (rc == 0)
		rc = nat_cloud_set_opts(c, st);
	if (rc == 0 && curl_multi_add_handle(c->multi, x->easy) != CURLM_OK)
		rc = -ENOMEM;
	if (rc != 0)
		nat_cloud_xfer_close(c);
	return rc;
}

void nat_cloud_xfer_close(struct nat_cloud *c)
{
	if (c->x.easy != NULL) {
		curl_multi_remove_handle(c->multi, c->x.easy);
		curl_easy_cleanup(c->x.easy);
		c->x.easy = NULL;
	}
	curl_slist_free_all(c->x.hdrs);
	c->x.hdrs = NULL;
}

static int nat_cloud_curl_failed(const struct nat_cloud *c, CURLcode rc, char *why, size_t n)
{
	if (c->x.too_big || rc == CURLE_FILESIZE_EXCEEDED)
		snprintf(why, n, "answer larger than %u bytes", NAT_CLOUD_MAX_BODY);
	else
		snprintf(why, n, "%s", c->x.errbuf[0] ? c->x.errbuf : curl_easy_strerror(rc));
	return -1;
}

/* Google's own answers carry Metadata-Flavor: Google; anything else is not it. */
static int nat_cloud_flavor_ok(CURL *e)
{
	struct curl_header *h = NULL;

	return curl_easy_header(e, "Metadata-Flavor", 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
	       strcmp(h->value, "Google") == 0;
}

int nat_cloud_xfer_check(struct nat_cloud *c, CURLcode rc, char *why, size_t n)
{
	long status = 0;

	if (rc != CURLE_OK)
		return nat_cloud_curl_failed(c, rc, why, n);
	curl_easy_getinfo(c->x.easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(why, n, "HTTP %ld", status);
		return -1;
	}
	if ((nat_cloud_cur_step(c)->flags & NAT_CLOUD_ANS_FLAVOR) &&
	    !nat_cloud_flavor_ok(c->x.easy)) {
		snprintf(why, n, "HTTP 200 without Metadata-Flavor: Google");
		return -1;
	}
	return 0;
}
