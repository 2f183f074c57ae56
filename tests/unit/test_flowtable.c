/* SPDX-License-Identifier: BSD-3-Clause
 * Flow table unit tests (needs EAL: --no-huge --no-shconf). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <rte_eal.h>
#include <rte_byteorder.h>
#include <rte_memory.h>

#include "dataplane/dp_flowtable.h"

static struct dp_flow_key mk(uint32_t sip, uint16_t sport, uint32_t dip, uint16_t dport)
{
	struct dp_flow_key k;
	memset(&k, 0, sizeof(k));
	k.src_ip = rte_cpu_to_be_32(sip);
	k.dst_ip = rte_cpu_to_be_32(dip);
	k.src_port = rte_cpu_to_be_16(sport);
	k.dst_port = rte_cpu_to_be_16(dport);
	return k;
}

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static void test_add_find_del(void **state)
{
	(void)state;
	struct dp_flowtable *ft = dp_ft_create("ft_basic", 1024, SOCKET_ID_ANY);
	assert_non_null(ft);
	assert_int_equal(dp_ft_capacity(ft), 1024);
	assert_int_equal(dp_ft_count(ft), 0);

	struct dp_flow_key k = mk(IP(198, 51, 100, 5), 4000, IP(192, 0, 2, 10), 30000);
	int rep = -1, err = 1;
	struct dp_flow *f = dp_ft_add(ft, &k, &rep, &err);
	assert_non_null(f);
	assert_int_equal(rep, 0);
	assert_int_equal(err, 0);
	assert_int_equal(f->in_use, 1);
	assert_int_equal(f->packets, 0);
	assert_int_equal(dp_ft_count(ft), 1);
	assert_ptr_equal(dp_ft_find(ft, &k), f);

	/* the slot walk finds exactly this entry */
	unsigned seen = 0;
	for (uint32_t i = 0; i < dp_ft_capacity(ft); i++) {
		struct dp_flow *s = dp_ft_slot(ft, i);
		if (s) {
			assert_ptr_equal(s, f);
			seen++;
		}
	}
	assert_int_equal(seen, 1);
	assert_null(dp_ft_slot(ft, dp_ft_capacity(ft)));

	struct dp_flow_key other = mk(IP(198, 51, 100, 5), 4001, IP(192, 0, 2, 10), 30000);
	assert_null(dp_ft_find(ft, &other));
	assert_int_equal(dp_ft_del(ft, &other), -ENOENT);

	assert_int_equal(dp_ft_del(ft, &k), 0);
	assert_int_equal(f->in_use, 0);
	assert_int_equal(dp_ft_count(ft), 0);
	assert_null(dp_ft_find(ft, &k));
	assert_int_equal(dp_ft_del(ft, &k), -ENOENT);

	/* non-zero pad is refused */
	k.pad = 1;
	assert_null(dp_ft_add(ft, &k, &rep, &err));
	assert_int_equal(err, -EINVAL);
	dp_ft_free(ft);
}

static void test_replace_keeps_counters(void **state)
{
	(void)state;
	struct dp_flowtable *ft = dp_ft_create("ft_replace", 64, SOCKET_ID_ANY);
	assert_non_null(ft);
	struct dp_flow_key k = mk(IP(10, 0, 0, 1), 5000, IP(10, 0, 0, 2), 6000);
	int rep, err;
	struct dp_flow *f = dp_ft_add(ft, &k, &rep, &err);
	assert_non_null(f);
	f->spec.flow_id = 7;
	f->spec.actions = DP_ACT_RECORD;
	f->packets = 123;
	f->bytes = 45678;
	f->rtp.received = 99;

	struct dp_flow *g = dp_ft_add(ft, &k, &rep, &err);
	assert_ptr_equal(g, f);
	assert_int_equal(rep, 1);
	assert_int_equal(err, 0);
	assert_int_equal(g->packets, 123);
	assert_int_equal(g->bytes, 45678);
	assert_int_equal(g->rtp.received, 99);
	assert_int_equal(g->spec.flow_id, 7);
	assert_int_equal(g->in_use, 1);
	assert_int_equal(dp_ft_count(ft), 1);
	dp_ft_free(ft);
}

static void test_wildcard_fallback(void **state)
{
	(void)state;
	struct dp_flowtable *ft = dp_ft_create("ft_wild", 256, SOCKET_ID_ANY);
	assert_non_null(ft);
	int rep, err;
	struct dp_flow_key wild = mk(0, 0, IP(192, 0, 2, 10), 30000);
	struct dp_flow_key exact = mk(IP(198, 51, 100, 5), 4000, IP(192, 0, 2, 10), 30000);
	struct dp_flow *fw = dp_ft_add(ft, &wild, &rep, &err);
	struct dp_flow *fe = dp_ft_add(ft, &exact, &rep, &err);
	assert_non_null(fw);
	assert_non_null(fe);
	assert_ptr_not_equal(fw, fe);

	struct dp_flow_key q[4] = {
		exact,                                                 /* exact beats wildcard */
		mk(IP(203, 0, 113, 9), 1234, IP(192, 0, 2, 10), 30000), /* other source: wildcard */
		mk(IP(198, 51, 100, 5), 4000, IP(192, 0, 2, 10), 30001),/* other dst port: miss */
		wild,                                                  /* the wildcard key itself */
	};
	struct dp_flow *out[4];
	dp_ft_lookup_burst(ft, q, 4, out);
	assert_ptr_equal(out[0], fe);
	assert_ptr_equal(out[1], fw);
	assert_null(out[2]);
	assert_ptr_equal(out[3], fw);

	/* without the wildcard entry, the other source misses */
	assert_int_equal(dp_ft_del(ft, &wild), 0);
	dp_ft_lookup_burst(ft, q, 4, out);
	assert_ptr_equal(out[0], fe);
	assert_null(out[1]);
	assert_null(out[2]);
	assert_null(out[3]);
	dp_ft_free(ft);
}

static void test_full_enospc(void **state)
{
	(void)state;
	const uint32_t cap = 1000;
	struct dp_flowtable *ft = dp_ft_create("ft_full", cap, SOCKET_ID_ANY);
	assert_non_null(ft);
	int rep, err;
	uint32_t i;
	for (i = 0; i < cap; i++) {
		struct dp_flow_key k = mk(IP(10, 1, 0, 0) + i, 4000, IP(192, 0, 2, 10), 30000);
		struct dp_flow *f = dp_ft_add(ft, &k, &rep, &err);
		if (f == NULL)
			break;
		assert_int_equal(rep, 0);
	}
	assert_int_equal(i, cap);
	assert_int_equal(dp_ft_count(ft), cap);
	struct dp_flow_key k = mk(IP(10, 2, 0, 0), 4000, IP(192, 0, 2, 10), 30000);
	assert_null(dp_ft_add(ft, &k, &rep, &err));
	assert_int_equal(err, -ENOSPC);
	assert_int_equal(dp_ft_count(ft), cap);
	/* replacing an existing key still works when full */
	struct dp_flow_key k0 = mk(IP(10, 1, 0, 0), 4000, IP(192, 0, 2, 10), 30000);
	assert_non_null(dp_ft_add(ft, &k0, &rep, &err));
	assert_int_equal(rep, 1);
	/* every slot is in use, each one found by its key */
	uint32_t used = 0;
	for (i = 0; i < dp_ft_capacity(ft); i++)
		used += dp_ft_slot(ft, i) != NULL;
	assert_int_equal(used, cap);
	/* free one, the new key fits */
	assert_int_equal(dp_ft_del(ft, &k0), 0);
	assert_non_null(dp_ft_add(ft, &k, &rep, &err));
	assert_int_equal(rep, 0);
	dp_ft_free(ft);
}

static void test_burst_mixed(void **state)
{
	(void)state;
	struct dp_flowtable *ft = dp_ft_create("ft_burst", 4096, SOCKET_ID_ANY);
	assert_non_null(ft);
	int rep, err;
	struct dp_flow *ent[64];
	struct dp_flow_key q[64];
	/* even i: exact entry; i % 3 == 0 (odd): wildcard on dst port 20000+i; else miss */
	for (unsigned i = 0; i < 64; i++) {
		q[i] = mk(IP(198, 51, 100, 1) + i, (uint16_t)(5000 + i), IP(192, 0, 2, 10),
			  (uint16_t)(20000 + i));
		ent[i] = NULL;
		if (i % 2 == 0) {
			ent[i] = dp_ft_add(ft, &q[i], &rep, &err);
			assert_non_null(ent[i]);
			ent[i]->spec.flow_id = i;
		} else if (i % 3 == 0) {
			struct dp_flow_key w = mk(0, 0, IP(192, 0, 2, 10), (uint16_t)(20000 + i));
			ent[i] = dp_ft_add(ft, &w, &rep, &err);
			assert_non_null(ent[i]);
			ent[i]->spec.flow_id = 1000 + i;
		}
	}
	struct dp_flow *out[64];
	for (unsigned n = 1; n <= 64; n++) {
		memset(out, 0xa5, sizeof(out));
		dp_ft_lookup_burst(ft, q, n, out);
		for (unsigned i = 0; i < n; i++)
			assert_ptr_equal(out[i], ent[i]);
	}
	/* all hits: the second pass is skipped, results unchanged */
	struct dp_flow_key hits[32];
	for (unsigned i = 0; i < 32; i++)
		hits[i] = q[2 * i];
	dp_ft_lookup_burst(ft, hits, 32, out);
	for (unsigned i = 0; i < 32; i++) {
		assert_ptr_equal(out[i], ent[2 * i]);
		assert_int_equal(out[i]->spec.flow_id, 2 * i);
	}
	dp_ft_free(ft);
}

static void test_churn_no_leak(void **state)
{
	(void)state;
	const uint32_t cap = 512;
	struct dp_flowtable *ft = dp_ft_create("ft_churn", cap, SOCKET_ID_ANY);
	assert_non_null(ft);
	int rep, err;
	/* a resident set that must survive the churn */
	for (uint32_t i = 0; i < 100; i++) {
		struct dp_flow_key k = mk(IP(172, 16, 0, 0) + i, 1, IP(192, 0, 2, 10), 2);
		struct dp_flow *f = dp_ft_add(ft, &k, &rep, &err);
		assert_non_null(f);
		f->packets = i;
	}
	for (uint32_t c = 0; c < 100000; c++) {
		struct dp_flow_key k = mk(IP(10, 0, 0, 0) + c, (uint16_t)c, IP(192, 0, 2, 10),
					  (uint16_t)(c >> 3));
		struct dp_flow *f = dp_ft_add(ft, &k, &rep, &err);
		assert_non_null(f);
		assert_int_equal(rep, 0);
		assert_int_equal(f->packets, 0);
		f->packets = 1;
		assert_int_equal(dp_ft_del(ft, &k), 0);
	}
	assert_int_equal(dp_ft_count(ft), 100);
	for (uint32_t i = 0; i < 100; i++) {
		struct dp_flow_key k = mk(IP(172, 16, 0, 0) + i, 1, IP(192, 0, 2, 10), 2);
		struct dp_flow *f = dp_ft_find(ft, &k);
		assert_non_null(f);
		assert_int_equal(f->packets, i);
	}
	/* the full capacity is still available */
	uint32_t added = 0;
	for (uint32_t i = 0; i < cap; i++) {
		struct dp_flow_key k = mk(IP(10, 200, 0, 0) + i, 7, IP(192, 0, 2, 10), 8);
		if (dp_ft_add(ft, &k, &rep, &err) == NULL) {
			assert_int_equal(err, -ENOSPC);
			break;
		}
		added++;
	}
	assert_int_equal(added, cap - 100);
	assert_int_equal(dp_ft_count(ft), cap);
	dp_ft_free(ft);
}

static void test_create_args(void **state)
{
	(void)state;
	assert_null(dp_ft_create("ft_zero", 0, SOCKET_ID_ANY));
	assert_null(dp_ft_create("ft_name_much_too_long_for_rte_hash_names", 64, SOCKET_ID_ANY));
	/* tiny tables are rounded up to one hash bucket (8) */
	struct dp_flowtable *ft = dp_ft_create("ft_tiny", 2, SOCKET_ID_ANY);
	assert_non_null(ft);
	assert_int_equal(dp_ft_capacity(ft), 8);
	dp_ft_free(ft);
}

int main(void)
{
	/* DPDK 22.11 refuses --no-huge together with --in-memory ("--legacy-mem
	 * is not compatible with --in-memory"), so --no-shconf keeps the run
	 * from leaving runtime files instead. */
	char *argv[] = {"test", "--no-huge", "--no-pci", "-m", "256", "--no-shconf",
			"--file-prefix=ut_ft", "--log-level=lib.*:error", NULL};
	if (rte_eal_init(8, argv) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_del),
		cmocka_unit_test(test_replace_keeps_counters),
		cmocka_unit_test(test_wildcard_fallback),
		cmocka_unit_test(test_full_enospc),
		cmocka_unit_test(test_burst_mixed),
		cmocka_unit_test(test_churn_no_leak),
		cmocka_unit_test(test_create_args),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
