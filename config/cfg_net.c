/* SPDX-License-Identifier: BSD-3-Clause
 * Strict parsers for the address forms the config uses, all host order:
 * "a.b.c.d", "a.b.c.d/len", "a.b.c.d:port", "xx:xx:xx:xx:xx:xx".
 */
#include <ctype.h>
#include <string.h>

#include "config/cfg_priv.h"

/* Decimal without sign, spaces or leading zeros, at most max; advances *s. */
static bool dec(const char **s, unsigned long max, unsigned long *out)
{
	const char *p = *s;
	unsigned long v = 0;
	if (!isdigit((unsigned char)*p) || (p[0] == '0' && isdigit((unsigned char)p[1])))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > max)
			return false;
	}
	*s = p;
	*out = v;
	return true;
}

static bool ipv4_prefix(const char **s, uint32_t *ip)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned long b;
		if (i && *(*s)++ != '.')
			return false;
		if (!dec(s, 255, &b))
			return false;
		v = v << 8 | (uint32_t)b;
	}
	*ip = v;
	return true;
}

bool cfg_parse_ipv4(const char *s, uint32_t *ip)
{
	return s && ipv4_prefix(&s, ip) && *s == '\0';
}

bool cfg_parse_cidr(const char *s, uint32_t *ip, uint8_t *len)
{
	unsigned long l;
	if (!s || !ipv4_prefix(&s, ip) || *s++ != '/' || !dec(&s, 32, &l) || *s || l < 1)
		return false;
	*len = (uint8_t)l;
	return true;
}

bool cfg_parse_addr(const char *s, struct cfg_addr *a)
{
	unsigned long port;
	if (!s || !ipv4_prefix(&s, &a->ip) || *s++ != ':' || !dec(&s, 65535, &port) || *s ||
	    port < 1)
		return false;
	a->port = (uint16_t)port;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

bool cfg_parse_mac(const char *s, uint8_t mac[6])
{
	if (!s || strlen(s) != 17)
		return false;
	for (int i = 0; i < 6; i++, s += 3) {
		int hi = hexval(s[0]), lo = hexval(s[1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

char *cfg_ip_str(uint32_t ip, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	return buf;
}
