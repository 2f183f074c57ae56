/* SPDX-License-Identifier: BSD-3-Clause
 * nat_cloud: what each metadata service is asked, and strict checks of what
 * it answers (libcurl does the HTTP; only the body is read here). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nat/cloud/nat_cloud_priv.h"

const struct nat_cloud_def nat_cloud_defs[NAT_CLOUD_NPROVIDERS] = {
	[NAT_CLOUD_GCP] = {
		.name = "gcp",
		.n_steps = 1,
		.steps = {{"GET",
			   "/computeMetadata/v1/instance/network-interfaces/0/"
			   "access-configs/0/external-ip",
			   "Metadata-Flavor: Google", NAT_CLOUD_ANS_FLAVOR}},
	},
	[NAT_CLOUD_AWS] = {
		.name = "aws",
		.n_steps = 2,
		.steps = {{"PUT", "/latest/api/token",
			   "X-aws-ec2-metadata-token-ttl-seconds: 21600", NAT_CLOUD_ANS_TOKEN},
			  {"GET", "/latest/meta-data/public-ipv4",
			   "X-aws-ec2-metadata-token: ", NAT_CLOUD_USE_TOKEN}},
	},
	[NAT_CLOUD_AZURE] = {
		.name = "azure",
		.n_steps = 1,
		.steps = {{"GET",
			   "/metadata/instance/network/interface/0/ipv4/ipAddress/0/"
			   "publicIpAddress?api-version=2021-02-01&format=text",
			   "Metadata: true", 0}},
	},
};

const char *nat_cloud_provider_name(enum nat_cloud_provider p)
{
	if ((unsigned)p >= NAT_CLOUD_NPROVIDERS)
		return "none";
	return nat_cloud_defs[p].name;
}

int nat_cloud_provider_parse(const char *name)
{
	for (int p = 0; p < NAT_CLOUD_NPROVIDERS; p++)
		if (name != NULL && strcasecmp(name, nat_cloud_defs[p].name) == 0)
			return p;
	return -1;
}

const char *nat_cloud_trim(const char *s, size_t n, size_t *out_n)
{
	static const char ws[] = " \t\r\n";

	while (n > 0 && memchr(ws, s[0], sizeof(ws) - 1) != NULL) {
		s++;
		n--;
	}
	while (n > 0 && memchr(ws, s[n - 1], sizeof(ws) - 1) != NULL)
		n--;
	*out_n = n;
	return s;
}

/* The start of the answer, printable, for an error message. */
static void nat_cloud_quote(char *dst, size_t dn, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < dn && i < 40; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[i] = '\0';
}

/* 0/8, 127/8, 169.254/16 and 224/3 are nobody's public address. */
static int nat_cloud_unusable(uint32_t host)
{
	unsigned a = host >> 24;

	return a == 0 || a == 127 || a >= 224 || (host >> 16) == 0xa9fe;
}

int nat_cloud_parse_ipv4(const char *s, size_t n, uint32_t *addr, char *why, size_t wn)
{
	char buf[INET_ADDRSTRLEN], q[48];
	struct in_addr in;

	nat_cloud_quote(q, sizeof(q), s, n);
	if (n == 0) {
		snprintf(why, wn, "empty answer (no public IPv4?)");
		return -1;
	}
	if (n >= sizeof(buf) || memchr(s, '\0', n) != NULL) {
		snprintf(why, wn, "answer is not an IPv4 address: \"%s\"", q);
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &in) != 1) {
		snprintf(why, wn, "answer is not an IPv4 address: \"%s\"", q);
		return -1;
	}
	if (nat_cloud_unusable(ntohl(in.s_addr))) {
		snprintf(why, wn, "answer %s is not a public unicast address", buf);
		return -1;
	}
	*addr = in.s_addr;
	return 0;
}

int nat_cloud_token_ok(const char *s, size_t n, char *why, size_t wn)
{
	if (n == 0) {
		snprintf(why, wn, "empty IMDSv2 token");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f) {
			snprintf(why, wn, "IMDSv2 token with a byte 0x%02x at %zu",
				 (unsigned char)s[i], i);
			return -1;
		}
	}
	return 0;
}
