/* SPDX-License-Identifier: BSD-3-Clause
 * The media port pool: even ports lowest first, taken ports left out, and a port given
 * back reused only after every other free one (late packets of an ended call must not
 * reach the next call). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "controlplane/cp_portpool.h"

static int taken_30004(unsigned port, void *ctx)
{
	(void)ctx;
	return port == 30004 || port == 30005;
}

static void test_order_and_reuse(void **state)
{
	struct cp_portpool pp;
	(void)state;

	assert_int_equal(cp_portpool_init(&pp, 30000, 30009, taken_30004, NULL), 0);
	assert_int_equal(pp.n_free, 4); /* 30000 30002 30006 30008 */
	assert_int_equal(cp_portpool_get(&pp), 30000);
	assert_int_equal(cp_portpool_get(&pp), 30002);
	cp_portpool_put(&pp, 30000); /* the call on 30000 ended */
	assert_int_equal(cp_portpool_get(&pp), 30006);
	assert_int_equal(cp_portpool_get(&pp), 30008);
	assert_int_equal(cp_portpool_get(&pp), 30000); /* only now */
	assert_int_equal(cp_portpool_get(&pp), 0);
	for (unsigned p = 30000; p <= 30008; p += 2) /* wraps around the ring */
		if (p != 30004)
			cp_portpool_put(&pp, (uint16_t)p);
	assert_int_equal(pp.n_free, 4);
	assert_int_equal(cp_portpool_get(&pp), 30000);
	cp_portpool_fini(&pp);
}

static int busy_30000(unsigned port, void *ctx)
{
	(*(unsigned *)ctx)++;
	return port == 30000;
}

/* A port a stopped TURN relay still holds is passed over (to the back of the queue). */
static void test_get_if(void **state)
{
	struct cp_portpool pp;
	unsigned asked = 0;
	(void)state;

	assert_int_equal(cp_portpool_init(&pp, 30000, 30005, NULL, NULL), 0);
	assert_int_equal(cp_portpool_get_if(&pp, busy_30000, &asked), 30002);
	assert_int_equal(asked, 2);
	assert_int_equal(pp.n_free, 2); /* 30004, then 30000 */
	assert_int_equal(cp_portpool_get(&pp), 30004);
	assert_int_equal(cp_portpool_get_if(&pp, busy_30000, &asked), 0); /* held: none */
	assert_int_equal(pp.n_free, 1);
	assert_int_equal(cp_portpool_get(&pp), 30000); /* released */
	assert_int_equal(cp_portpool_get_if(&pp, busy_30000, &asked), 0);
	cp_portpool_fini(&pp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_reuse),
		cmocka_unit_test(test_get_if),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
