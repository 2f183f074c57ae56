/* SPDX-License-Identifier: BSD-3-Clause
 * nat_cloud internals: the provider table, the transfer in flight and the
 * checks of an answer body. */
#ifndef RTPREC_NAT_CLOUD_PRIV_H
#define RTPREC_NAT_CLOUD_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "nat/cloud/nat_cloud.h"

/* curl's own timeouts end a request; this margin past them is a backstop */
#define NAT_CLOUD_GRACE_MS 250u
#define NAT_CLOUD_MAX_ERR 2048u
#define NAT_CLOUD_MAX_WHY 256u

/* step flags */
#define NAT_CLOUD_ANS_TOKEN 1u  /* the answer is an IMDSv2 token for the next step */
#define NAT_CLOUD_USE_TOKEN 2u  /* the header gets the token appended */
#define NAT_CLOUD_ANS_FLAVOR 4u /* the answer must carry Metadata-Flavor: Google */

/* One HTTP request of a provider's lookup. */
struct nat_cloud_step {
	const char *method;
	const char *path;   /* appended to the base URL */
	const char *header; /* the one request header the service requires */
	unsigned flags;
};

struct nat_cloud_def {
	const char *name;
	unsigned n_steps;
	struct nat_cloud_step steps[2];
};

extern const struct nat_cloud_def nat_cloud_defs[NAT_CLOUD_NPROVIDERS];

/* The request in flight. */
struct nat_cloud_xfer {
	CURL *easy;
	struct curl_slist *hdrs;
	char url[NAT_CLOUD_MAX_BASE + 128];
	char body[NAT_CLOUD_MAX_BODY + 1];
	size_t len;
	int too_big;
	char errbuf[CURL_ERROR_SIZE];
};

struct nat_cloud {
	struct nat_cloud_conf conf; /* base_url[] point into base[] */
	char base[NAT_CLOUD_NPROVIDERS][NAT_CLOUD_MAX_BASE];
	CURLM *multi;
	struct nat_cloud_xfer x;
	enum nat_cloud_status status;
	unsigned pos;  /* index in conf.order of the provider being asked */
	unsigned step; /* index in its steps */
	uint64_t deadline_ms;
	char token[NAT_CLOUD_MAX_BODY + 1];
	uint32_t addr;
	enum nat_cloud_provider answered;
	char err[NAT_CLOUD_MAX_ERR];
};

/* nat_cloud_xfer.c: build and add the request for (pos, step); 0 or -errno. */
int nat_cloud_xfer_open(struct nat_cloud *c);
void nat_cloud_xfer_close(struct nat_cloud *c);
/* 0 when the finished request got a 200 with the headers its step wants,
 * else -1 and the reason in why. */
int nat_cloud_xfer_check(struct nat_cloud *c, CURLcode rc, char *why, size_t n);

/* nat_cloud_answer.c: the body without surrounding white space. */
const char *nat_cloud_trim(const char *s, size_t n, size_t *out_n);
/* A usable unicast dotted IPv4 (network order in *addr): 0, else -1 + why. */
int nat_cloud_parse_ipv4(const char *s, size_t n, uint32_t *addr, char *why, size_t wn);
/* An IMDSv2 token: 1..n visible ASCII characters (it goes into a header). */
int nat_cloud_token_ok(const char *s, size_t n, char *why, size_t wn);

#endif
