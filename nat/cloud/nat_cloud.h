/* SPDX-License-Identifier: BSD-3-Clause
 * nat_cloud: the public IPv4 of this instance from the cloud's instance
 * metadata service (GCP, AWS IMDSv2, Azure), asked with libcurl's multi
 * interface so the control-plane loop never waits: nat_cloud_start() begins
 * a lookup, nat_cloud_poll() on every loop pass moves it on. */
#ifndef RTPREC_NAT_CLOUD_H
#define RTPREC_NAT_CLOUD_H

#include <stdint.h>

enum nat_cloud_provider {
	NAT_CLOUD_GCP,
	NAT_CLOUD_AWS,
	NAT_CLOUD_AZURE,
	NAT_CLOUD_NPROVIDERS,
	NAT_CLOUD_NONE = -1,
};

enum nat_cloud_status {
	NAT_CLOUD_IDLE,    /* no lookup started */
	NAT_CLOUD_PENDING, /* a request is in flight: poll again */
	NAT_CLOUD_DONE,    /* nat_cloud_result() holds the address */
	NAT_CLOUD_FAILED,  /* every provider failed: see nat_cloud_error() */
};

#define NAT_CLOUD_DEFAULT_BASE "http://169.254.169.254"
#define NAT_CLOUD_DEFAULT_TIMEOUT_MS 1000u
#define NAT_CLOUD_MAX_BODY 4096u /* larger answers fail the provider */
#define NAT_CLOUD_MAX_BASE 256u  /* base URL length, '\0' included */

struct nat_cloud_conf {
	/* providers in the order they are asked; each at most once */
	enum nat_cloud_provider order[NAT_CLOUD_NPROVIDERS];
	unsigned n_order;
	/* per provider, NULL for NAT_CLOUD_DEFAULT_BASE ("http://host[:port]") */
	const char *base_url[NAT_CLOUD_NPROVIDERS];
	unsigned timeout_ms;         /* whole request; 0 for the default */
	unsigned connect_timeout_ms; /* 0: timeout_ms */
};

struct nat_cloud;

/* Defaults: {GCP, AWS, AZURE}, default base URLs, 1000 ms per request. */
void nat_cloud_conf_init(struct nat_cloud_conf *conf);
/* The conf is copied. NULL (errno set) on a bad conf or no memory. */
struct nat_cloud *nat_cloud_create(const struct nat_cloud_conf *conf);
void nat_cloud_free(struct nat_cloud *c);

/* Begin a lookup with the first provider, dropping one in flight.
 * 0 or -errno. now_ms: any monotonic millisecond clock, the same for poll. */
int nat_cloud_start(struct nat_cloud *c, uint64_t now_ms);
/* Moves the lookup on without waiting; returns an enum nat_cloud_status. */
int nat_cloud_poll(struct nat_cloud *c, uint64_t now_ms);
/* Longest the caller may sleep before the next poll; -1: no lookup running. */
long nat_cloud_timeout_ms(struct nat_cloud *c, uint64_t now_ms);

/* After DONE: the address (network order) and who gave it; else 0 / NONE. */
uint32_t nat_cloud_result(const struct nat_cloud *c);
enum nat_cloud_provider nat_cloud_answered(const struct nat_cloud *c);
/* One log line about the providers that failed in the last lookup
 * (provider, URL, HTTP status or curl error); "" when none did. */
const char *nat_cloud_error(const struct nat_cloud *c);

/* "gcp", "aws", "azure" (and back, case-insensitive; -1 if unknown). */
const char *nat_cloud_provider_name(enum nat_cloud_provider p);
int nat_cloud_provider_parse(const char *name);

#endif
