/*
 * tests/unit/test_schema.c — unit tests for replica/schema/schema.c: the
 * normalizer and fingerprints (what SQLite treats as equal does not change
 * them; a real change does), created-table detection, and generated
 * migrations checked by running them.
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

#include "core/error.h"
#include "core/strb.h"
#include "replica/schema.h"

/* The fingerprint of the schema an install script makes. */
static void
fpr_of(const char *sql, uint8_t fpr[SCHEMA_FPR_LEN])
{
	char err[MULE_ERRLEN] = "";
	struct schema s;
	int r;

	schema_init(&s);
	r = schema_from_sql(sql, &s, err);
	if (r != 0)
		fail_msg("schema_from_sql: %s", err);
	schema_fingerprint(&s, fpr);
	schema_release(&s);
}

static int
same_fpr(const char *a, const char *b)
{
	uint8_t x[SCHEMA_FPR_LEN], y[SCHEMA_FPR_LEN];

	fpr_of(a, x);
	fpr_of(b, y);
	return memcmp(x, y, SCHEMA_FPR_LEN) == 0;
}

static void
norm_is(const char *sql, const char *want)
{
	char *got = NULL;

	assert_int_equal(schema_normalize(sql, &got, NULL), 0);
	assert_string_equal(got, want);
	free(got);
}

static void
test_normalize_basic(void **state)
{
	(void)state;
	norm_is("create table T(a integer primary key, b text)",
	    "CREATE TABLE t ( a integer PRIMARY KEY , b text )");
	norm_is("CREATE  TABLE\n\t\"T\" -- comment\n ( [a] INTEGER /* c */ "
	    "PRIMARY KEY, `b` TEXT )",
	    "CREATE TABLE t ( a integer PRIMARY KEY , b text )");
	/* Strings keep their case and spacing; blobs are one spelling. */
	norm_is("CREATE TABLE t(a DEFAULT 'Hello  World', b DEFAULT x'AbCd')",
	    "CREATE TABLE t ( a DEFAULT 'Hello  World' , b DEFAULT X'abcd' )");
	/* Names that need quotes keep them, in one style. */
	norm_is("CREATE TABLE [odd table](\"order\" INT, `it's` TEXT)",
	    "CREATE TABLE \"odd table\" ( \"order\" int , \"it's\" text )");
	norm_is("CREATE TABLE \"a\"\"b\"(x)", "CREATE TABLE \"a\"\"b\" ( x )");
	/* IF NOT EXISTS is not part of the object. */
	norm_is("CREATE INDEX IF NOT EXISTS i ON t(a)",
	    "CREATE INDEX i ON t ( a )");
	norm_is("CREATE VIEW v AS SELECT a||b, a<=b FROM t",
	    "CREATE VIEW v AS SELECT a || b , a <= b FROM t");
}

static void
test_normalize_errors(void **state)
{
	char err[MULE_ERRLEN] = "", *out = NULL;

	(void)state;
	assert_int_equal(schema_normalize("CREATE TABLE t(a DEFAULT 'x)",
	    &out, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "unterminated"));
	assert_null(out);
	assert_int_equal(schema_normalize("CREATE TABLE t(a) /* open",
	    &out, err), MULE_EFORMAT);
	assert_int_equal(schema_normalize("CREATE TABLE \"t(a)", &out, err),
	    MULE_EFORMAT);
}

static void
test_fingerprint_equal(void **state)
{
	(void)state;
	assert_true(same_fpr(
	    "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
	    "CREATE INDEX ib ON t(b);"
	    "CREATE VIEW v AS SELECT a FROM t;",
	    /* other order, spacing, quoting and keyword case */
	    "create view \"v\" as select A from T;"
	    "create table [t] (  a integer primary key,\n b text  );"
	    "create index `ib` on t (b);"));
	assert_true(same_fpr("CREATE TABLE t(a PRIMARY KEY) WITHOUT ROWID;",
	    "CREATE TABLE t(a PRIMARY KEY) without rowid;"));
	assert_true(same_fpr("", ""));
}

static void
test_fingerprint_differs(void **state)
{
	static const char *base =
	    "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);";

	(void)state;
	/* A column more, another type, a constraint, a default, an index. */
	assert_false(same_fpr(base,
	    "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c);"));
	assert_false(same_fpr(base,
	    "CREATE TABLE t(a INTEGER PRIMARY KEY, b BLOB);"));
	assert_false(same_fpr(base,
	    "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT NOT NULL);"));
	assert_false(same_fpr(base,
	    "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT DEFAULT 'x');"));
	assert_false(same_fpr(
	    "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT DEFAULT 'x');",
	    "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT DEFAULT 'X');"));
	assert_false(same_fpr(base, "CREATE TABLE t(a INTEGER PRIMARY KEY, "
	    "b TEXT); CREATE INDEX i ON t(b);"));
	assert_false(same_fpr(base,
	    "CREATE TABLE u(a INTEGER PRIMARY KEY, b TEXT);"));
}

static void
test_created_tables(void **state)
{
	char **v = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(schema_created_tables(
	    "CREATE TABLE a(x); create table if not exists \"B c\"(y);"
	    "CREATE TEMP TABLE tmp(z); CREATE TABLE _mule_new_a(x);"
	    "ALTER TABLE _mule_new_a RENAME TO a2; CREATE INDEX i ON a(x);",
	    &v, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "B c");
	assert_string_equal(v[2], "a2");
	strv_free(v, n);
}

/* diff(from, to), then from + migration must have to's fingerprint. */
static char *
diff_of(const char *from, const char *to)
{
	char err[MULE_ERRLEN] = "", *sql = NULL;
	struct schema a, b;

	schema_init(&a);
	schema_init(&b);
	assert_int_equal(schema_from_sql(from, &a, err), 0);
	assert_int_equal(schema_from_sql(to, &b, err), 0);
	if (schema_diff(&a, &b, NULL, NULL, &sql, err) != 0)
		fail_msg("schema_diff: %s", err);
	schema_release(&a);
	schema_release(&b);
	return sql;
}

static void
test_diff_kinds(void **state)
{
	char *sql;

	(void)state;
	sql = diff_of("CREATE TABLE t(a INTEGER PRIMARY KEY, b);",
	    "CREATE TABLE t(a INTEGER PRIMARY KEY, b, c TEXT DEFAULT 'x');");
	assert_non_null(strstr(sql, "ADD COLUMN c TEXT DEFAULT 'x'"));
	assert_null(strstr(sql, "RENAME"));
	free(sql);
	sql = diff_of("CREATE TABLE t(a INTEGER PRIMARY KEY, b, c);",
	    "CREATE TABLE t(a INTEGER PRIMARY KEY, c);");
	assert_non_null(strstr(sql, "DROP COLUMN \"b\""));
	free(sql);
	/* A type change is a rebuild. */
	sql = diff_of("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
	    "CREATE INDEX i ON t(b); CREATE VIEW v AS SELECT b FROM t;",
	    "CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER NOT NULL);"
	    "CREATE INDEX i ON t(b); CREATE VIEW v AS SELECT b FROM t;");
	assert_non_null(strstr(sql, "INSERT INTO \"_mule_new_t\"(\"a\", "
	    "\"b\") SELECT"));
	assert_non_null(strstr(sql, "RENAME TO \"t\""));
	assert_non_null(strstr(sql, "CREATE INDEX IF NOT EXISTS i ON t(b)"));
	assert_non_null(strstr(sql, "foreign_key_check"));
	free(sql);
	/* A default ADD COLUMN cannot fill in on rows: a rebuild. */
	sql = diff_of("CREATE TABLE t(a INTEGER PRIMARY KEY);",
	    "CREATE TABLE t(a INTEGER PRIMARY KEY, at TEXT DEFAULT "
	    "CURRENT_TIMESTAMP);");
	assert_null(strstr(sql, "ADD COLUMN"));
	assert_non_null(strstr(sql, "RENAME TO"));
	free(sql);
	/* Indexes, views, triggers come and go. */
	sql = diff_of("CREATE TABLE t(a PRIMARY KEY); CREATE INDEX i ON t(a);",
	    "CREATE TABLE t(a PRIMARY KEY); CREATE VIEW v AS SELECT * FROM t;"
	    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;");
	assert_non_null(strstr(sql, "DROP INDEX IF EXISTS \"i\""));
	assert_non_null(strstr(sql, "CREATE VIEW IF NOT EXISTS v"));
	assert_non_null(strstr(sql, "CREATE TRIGGER IF NOT EXISTS tr"));
	free(sql);
	/* Nothing to do: only the header line. */
	sql = diff_of("CREATE TABLE t(a PRIMARY KEY);",
	    "create table t (a primary key);");
	assert_string_equal(sql, SCHEMA_GENERATED "\n");
	free(sql);
}

static void
test_install_roundtrip(void **state)
{
	static const char *sql =
	    "CREATE TABLE \"odd table\"(k1, k2, PRIMARY KEY(k1, k2));"
	    "CREATE TABLE t(a INTEGER PRIMARY KEY, b);"
	    "CREATE VIEW v AS SELECT * FROM t;"
	    "CREATE TRIGGER tr INSTEAD OF INSERT ON v BEGIN SELECT 1; END;"
	    "CREATE INDEX i ON t(b);";
	char err[MULE_ERRLEN] = "", *inst = NULL;
	struct schema s;

	(void)state;
	schema_init(&s);
	assert_int_equal(schema_from_sql(sql, &s, err), 0);
	assert_int_equal(s.n, 5);
	assert_int_equal(schema_install_sql(&s, &inst, err), 0);
	assert_true(same_fpr(sql, inst));
	free(inst);
	schema_release(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_basic),
		cmocka_unit_test(test_normalize_errors),
		cmocka_unit_test(test_fingerprint_equal),
		cmocka_unit_test(test_fingerprint_differs),
		cmocka_unit_test(test_created_tables),
		cmocka_unit_test(test_diff_kinds),
		cmocka_unit_test(test_install_roundtrip),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
