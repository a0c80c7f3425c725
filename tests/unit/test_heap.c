/*
 * tests/unit/test_heap.c — SQLite's memory through replica/store/heap.c:
 * installed by the first replica opened (before anything else here uses
 * SQLite), it counts what SQLite holds without SQLite's statistics, and
 * its hard limit (migration.max-memory's, replica/schema/guard.c) makes
 * an allocation past it fail with SQLITE_NOMEM, and nothing after it is
 * lifted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "core/error.h"
#include "crypto/ident.h"
#include "replica/internal.h"
#include "replica/replica.h"
#include "scratch.h"

/* The code of one query that builds a blob of n bytes. */
static int
big_blob(sqlite3 *db, long long n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT length(randomblob(?))",
	    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, n);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		assert_int_equal(sqlite3_column_int64(st, 0), n);
	sqlite3_finalize(st);
	return rc;
}

static void
test_limit(void **state)
{
	char err[MULE_ERRLEN] = "", path[600];
	struct ident_secret *me = NULL;
	struct replica *rp = NULL;
	uint8_t id[SITE_ID_LEN];
	int64_t used;

	(void)state;
	assert_int_equal(ident_lib_init(), 0);
	assert_int_equal(scratch_setup("mule-heap"), 0);
	snprintf(path, sizeof(path), "%s/h.db", tmpdir);
	randombytes_buf(id, sizeof(id));
	if (ident_generate(id, &me, err) != 0 ||
	    replica_init(path, "h", id, &me->pub, err) != 0 ||
	    replica_open(path, 0, &rp, err) != 0)
		fail_msg("%s", err);
	/* Ours: SQLite keeps no count, heap.c does. */
	assert_int_equal(sqlite3_memory_used(), 0);
	used = rp_heap_used();
	assert_true(used > 0);
	assert_int_equal(big_blob(rp->db, 4000000), SQLITE_ROW);
	assert_int_equal(rp_heap_used(), used);	/* all given back */
	/* A limit 1 MB above what is held: 4 MB more fail, 64 KB do not. */
	assert_int_equal(rp_heap_limit(used + 1000000), 0);
	assert_int_equal(big_blob(rp->db, 4000000), SQLITE_NOMEM);
	assert_int_equal(big_blob(rp->db, 65536), SQLITE_ROW);
	/* Lifted: the previous limit comes back. */
	assert_int_equal(rp_heap_limit(0), used + 1000000);
	assert_int_equal(big_blob(rp->db, 4000000), SQLITE_ROW);
	assert_int_equal(rp_heap_limit(-1), 0);
	replica_close(rp);
	ident_secret_free(me);
	scratch_teardown();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
