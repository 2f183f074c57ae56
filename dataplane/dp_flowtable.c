/* SPDX-License-Identifier: BSD-3-Clause
 * Per-worker flow table: an rte_hash of dp_flow_key (16 bytes, CRC hash)
 * whose key positions index an array of struct dp_flow. The owning worker is
 * the only reader and writer, so the hash has no concurrency flags. */
#include <errno.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dp_flowtable.h"

struct dp_flowtable {
	struct rte_hash *h;
	struct dp_flow *flows; /* [size], indexed by hash key position */
	uint32_t size;         /* entries of the hash and the array */
	uint32_t count;
	uint32_t n_wild; /* keys with a wildcard source */
};

/* The table's hash (rte_hash_crc, init 0), inline: no call per key. */
static inline hash_sig_t ft_sig(const struct dp_flow_key *k)
{
	return rte_hash_crc(k, sizeof(*k), 0);
}

static inline int ft_is_wild(const struct dp_flow_key *k)
{
	return k->src_ip == 0 && k->src_port == 0;
}

/* rte_hash needs at least one bucket's worth of entries. */
#define FT_MIN_ENTRIES 8u

struct dp_flowtable *dp_ft_create(const char *name, uint32_t capacity, int socket)
{
	struct dp_flowtable *ft;
	uint32_t size = capacity < FT_MIN_ENTRIES ? FT_MIN_ENTRIES : capacity;

	if (name == NULL || capacity == 0 || strlen(name) >= RTE_HASH_NAMESIZE ||
	    capacity > RTE_HASH_ENTRIES_MAX)
		return NULL;

	ft = rte_zmalloc_socket("dp_ft", sizeof(*ft), RTE_CACHE_LINE_SIZE, socket);
	if (ft == NULL)
		return NULL;
	ft->size = size;
	ft->flows = rte_zmalloc_socket("dp_ft_flows", (size_t)size * sizeof(struct dp_flow),
				       RTE_CACHE_LINE_SIZE, socket);
	if (ft->flows == NULL)
		goto fail;

	struct rte_hash_parameters hp = {
		.name = name,
		.entries = size,
		.key_len = sizeof(struct dp_flow_key),
		.hash_func = rte_hash_crc,
		.hash_func_init_val = 0,
		.socket_id = socket,
		.extra_flag = 0,
	};
	ft->h = rte_hash_create(&hp);
	if (ft->h == NULL)
		goto fail;
	return ft;
fail:
	rte_free(ft->flows);
	rte_free(ft);
	return NULL;
}

void dp_ft_free(struct dp_flowtable *ft)
{
	if (ft == NULL)
		return;
	rte_hash_free(ft->h);
	rte_free(ft->flows);
	rte_free(ft);
}

struct dp_flow *dp_ft_add(struct dp_flowtable *ft, const struct dp_flow_key *key, int *replaced,
			  int *err)
{
	int32_t pos;

	*replaced = 0;
	*err = 0;
	if (key->pad != 0) {
		*err = -EINVAL;
		return NULL;
	}
	hash_sig_t sig = ft_sig(key);
	pos = rte_hash_lookup_with_hash(ft->h, key, sig);
	if (pos >= 0) {
		*replaced = 1;
		return &ft->flows[pos];
	}
	if (ft->count >= ft->size) {
		*err = -ENOSPC;
		return NULL;
	}
	pos = rte_hash_add_key_with_hash(ft->h, key, sig);
	if (pos < 0) {
		*err = pos == -ENOSPC ? -ENOSPC : -EINVAL;
		return NULL;
	}
	struct dp_flow *f = &ft->flows[pos];
	memset(f, 0, sizeof(*f));
	f->in_use = 1;
	ft->count++;
	ft->n_wild += (uint32_t)ft_is_wild(key);
	return f;
}

int dp_ft_del(struct dp_flowtable *ft, const struct dp_flow_key *key)
{
	int32_t pos = rte_hash_del_key(ft->h, key);

	if (pos < 0)
		return -ENOENT;
	memset(&ft->flows[pos], 0, sizeof(ft->flows[pos]));
	ft->count--;
	ft->n_wild -= (uint32_t)ft_is_wild(key);
	return 0;
}

struct dp_flow *dp_ft_find(struct dp_flowtable *ft, const struct dp_flow_key *key)
{
	int32_t pos = rte_hash_lookup(ft->h, key);

	return pos >= 0 ? &ft->flows[pos] : NULL;
}

void dp_ft_lookup_burst(struct dp_flowtable *ft, const struct dp_flow_key *keys, unsigned n,
			struct dp_flow **out)
{
	const void *kp[RTE_HASH_LOOKUP_BULK_MAX];
	hash_sig_t sig[RTE_HASH_LOOKUP_BULK_MAX];
	int32_t pos[RTE_HASH_LOOKUP_BULK_MAX];
	struct dp_flow_key wk[RTE_HASH_LOOKUP_BULK_MAX];
	uint8_t widx[RTE_HASH_LOOKUP_BULK_MAX];
	unsigned i, nmiss = 0;

	if (n == 0)
		return;
	if (n > RTE_HASH_LOOKUP_BULK_MAX)
		n = RTE_HASH_LOOKUP_BULK_MAX;

	for (i = 0; i < n; i++) {
		kp[i] = &keys[i];
		sig[i] = ft_sig(&keys[i]);
	}
	rte_hash_lookup_with_hash_bulk(ft->h, kp, sig, n, pos);

	for (i = 0; i < n; i++) {
		if (pos[i] >= 0) {
			out[i] = &ft->flows[pos[i]];
			continue;
		}
		out[i] = NULL;
		if (ft_is_wild(&keys[i]))
			continue; /* already the wildcard key */
		wk[nmiss] = keys[i];
		wk[nmiss].src_ip = 0;
		wk[nmiss].src_port = 0;
		widx[nmiss] = (uint8_t)i;
		nmiss++;
	}
	if (nmiss == 0 || ft->n_wild == 0)
		return;

	for (i = 0; i < nmiss; i++) {
		kp[i] = &wk[i];
		sig[i] = ft_sig(&wk[i]);
	}
	rte_hash_lookup_with_hash_bulk(ft->h, kp, sig, nmiss, pos);
	for (i = 0; i < nmiss; i++)
		if (pos[i] >= 0)
			out[widx[i]] = &ft->flows[pos[i]];
}

uint32_t dp_ft_count(const struct dp_flowtable *ft)
{
	return ft->count;
}

uint32_t dp_ft_capacity(const struct dp_flowtable *ft)
{
	return ft->size;
}

struct dp_flow *dp_ft_slot(struct dp_flowtable *ft, uint32_t i)
{
	if (i >= ft->size || !ft->flows[i].in_use)
		return NULL;
	return &ft->flows[i];
}
