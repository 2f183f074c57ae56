/* SPDX-License-Identifier: BSD-3-Clause
 * A call's pcap files (media.pcap, then the rotation files media.N.pcap)
 * and their frames down to UDP. libpcap reads the files. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "exp.h"

#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

static uint16_t exp_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t exp_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Offset of the IPv4 header behind the link header, or an exp_frame_rc. */
static int exp_link_skip(int linktype, const uint8_t *d, uint32_t caplen)
{
	uint32_t off;
	uint16_t type;

	switch (linktype) {
	case DLT_EN10MB:
		off = 12;
		for (;;) {
			if (caplen < off + 2)
				return EXP_FRAME_SHORT;
			type = exp_be16(d + off);
			if (type != 0x8100 && type != 0x88a8)
				break;
			off += 4; /* a VLAN tag */
		}
		off += 2;
		break;
	case DLT_LINUX_SLL:
		if (caplen < 16)
			return EXP_FRAME_SHORT;
		type = exp_be16(d + 14);
		off = 16;
		break;
	case DLT_LINUX_SLL2:
		if (caplen < 20)
			return EXP_FRAME_SHORT;
		type = exp_be16(d);
		off = 20;
		break;
	case DLT_RAW:
	case DLT_IPV4:
		return 0;
	default:
		return EXP_FRAME_NOT_IPV4;
	}
	return type == 0x0800 ? (int)off : EXP_FRAME_NOT_IPV4;
}

int exp_frame_parse(int linktype, const uint8_t *d, uint32_t caplen, struct exp_udp *u)
{
	int off = exp_link_skip(linktype, d, caplen);
	uint32_t ihl, tot, ulen;
	const uint8_t *ip, *udp;

	if (off < 0)
		return off;
	ip = d + off;
	caplen -= (uint32_t)off;
	if (caplen < 20)
		return EXP_FRAME_SHORT;
	if ((ip[0] >> 4) != 4)
		return EXP_FRAME_NOT_IPV4;
	ihl = 4u * (ip[0] & 0x0f);
	tot = exp_be16(ip + 2);
	if (ihl < 20 || tot < ihl)
		return EXP_FRAME_NOT_IPV4;
	if (caplen < tot)
		return EXP_FRAME_SHORT;
	if (ip[9] != 17)
		return EXP_FRAME_NOT_UDP;
	if (exp_be16(ip + 6) & 0x3fff) /* MF or a fragment offset */
		return EXP_FRAME_FRAGMENT;
	if (tot < ihl + 8)
		return EXP_FRAME_SHORT;
	udp = ip + ihl;
	ulen = exp_be16(udp + 4);
	if (ulen < 8 || ulen > tot - ihl)
		return EXP_FRAME_SHORT;
	u->src_ip = exp_be32(ip + 12);
	u->dst_ip = exp_be32(ip + 16);
	u->src_port = exp_be16(udp);
	u->dst_port = exp_be16(udp + 2);
	u->csum = exp_be16(udp + 6);
	u->payload = udp + 8;
	u->len = ulen - 8;
	return EXP_FRAME_OK;
}

int exp_pcap_read(struct pcap *p, exp_udp_cb cb, void *ctx, struct exp_pcap_counts *c,
		  char *errbuf, size_t errlen)
{
	int link = pcap_datalink(p), rc;
	struct pcap_pkthdr *h;
	const u_char *data;
	struct exp_udp u;

	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		int64_t ns = (int64_t)h->ts.tv_sec * 1000000000 + (int64_t)h->ts.tv_usec;
		c->frames++;
		switch (exp_frame_parse(link, data, h->caplen, &u)) {
		case EXP_FRAME_OK:
			c->udp++;
			cb(ctx, ns, &u);
			break;
		case EXP_FRAME_NOT_UDP:
			c->not_udp++;
			break;
		case EXP_FRAME_FRAGMENT:
			c->fragments++;
			break;
		case EXP_FRAME_SHORT:
			c->truncated++;
			break;
		default:
			c->not_ipv4++;
			break;
		}
	}
	if (rc == PCAP_ERROR) {
		snprintf(errbuf, errlen, "%s", pcap_geterr(p));
		return -1;
	}
	return 0;
}

struct exp_rot {
	long n;
	char *path;
};

static int exp_rot_cmp(const void *a, const void *b)
{
	const struct exp_rot *x = a, *y = b;
	return (x->n > y->n) - (x->n < y->n);
}

/* Sort key: 0 for "media.pcap", N + 1 for "media.N.pcap" (digits only),
 * -1 for other names. */
static long exp_rot_index(const char *name)
{
	char *end;
	unsigned long n;

	if (strcmp(name, "media.pcap") == 0)
		return 0;
	if (strncmp(name, "media.", 6) != 0 || name[6] < '0' || name[6] > '9')
		return -1;
	errno = 0;
	n = strtoul(name + 6, &end, 10);
	if (errno != 0 || n >= LONG_MAX || strcmp(end, ".pcap") != 0)
		return -1;
	return (long)n + 1;
}

int exp_pcap_list(const char *dir, char ***paths, unsigned *n)
{
	struct exp_rot *rot = NULL;
	size_t nrot = 0, cap = 0;
	struct dirent *e;
	DIR *dh = opendir(dir);
	int rc = 0;

	*paths = NULL;
	*n = 0;
	if (dh == NULL)
		return -errno;
	while ((e = readdir(dh)) != NULL) {
		long idx = exp_rot_index(e->d_name);
		if (idx < 0)
			continue;
		if (nrot == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct exp_rot *r = realloc(rot, nc * sizeof(*r));
			if (r == NULL) {
				rc = -ENOMEM;
				break;
			}
			rot = r;
			cap = nc;
		}
		if (asprintf(&rot[nrot].path, "%s/%s", dir, e->d_name) < 0) {
			rc = -ENOMEM;
			break;
		}
		rot[nrot++].n = idx;
	}
	closedir(dh);
	if (rc == 0 && nrot == 0)
		rc = -ENOENT;
	if (rc == 0 && (*paths = malloc(nrot * sizeof(char *))) == NULL)
		rc = -ENOMEM;
	if (rc != 0) {
		for (size_t i = 0; i < nrot; i++)
			free(rot[i].path);
		free(rot);
		return rc;
	}
	qsort(rot, nrot, sizeof(*rot), exp_rot_cmp);
	for (size_t i = 0; i < nrot; i++)
		(*paths)[i] = rot[i].path;
	*n = (unsigned)nrot;
	free(rot);
	return 0;
}

void exp_pcap_list_free(char **paths, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}
