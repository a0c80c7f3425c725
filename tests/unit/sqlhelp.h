/*
 * tests/unit/sqlhelp.h — running SQL on a database file outside mule, as
 * an application would, for the unit tests that exchange bundles.
 * Include after cmocka.h and scratch.h.
 */
#ifndef MULE_TESTS_SQLHELP_H
#define MULE_TESTS_SQLHELP_H

#include <sqlite3.h>

/* Runs SQL on the database file db. */
static SCRATCH_UNUSED void
sql_exec(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(h);
}

/* The first column of the first row of a query, as an integer (-1: none). */
static SCRATCH_UNUSED long long
sql_int(const char *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *h = NULL;
	long long v = -1;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

#endif
