/*
 * tests/unit/test_scan.c — the scan's change detection (replica_scan,
 * docs/design.md §6) through the library, on temporary SQLite files.
 *
 * Each case gets a fresh replica tracking four tables (an INTEGER PRIMARY
 * KEY table, a WITHOUT ROWID table with a composite key, a table with a
 * text key holding spaces and quotes, and a table whose name and columns
 * need quoting).  Each step runs SQL on its own connection, as an
 * application would, then checks what one scan finds: the rows it counts
 * as inserted, updated and deleted (the dry scan `status` runs must agree),
 * and the rows, cells and deletions the changes since the step hand to a
 * pack.  A second scan right after must find nothing.
 *
 * Only counts are checked: stamps and the state encoding belong to the
 * merge code and may change under these tests.
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
#include "replica/replica.h"
#include "replica/schema.h"
#include "scratch.h"

#define ODD "odd \"name\" table"	/* a table name that needs quoting */

static const char *const tables[] = { "t", "w", "q", ODD };

/* 12 rows in all: the baseline of every case. */
static const char schema_sql[] =
    "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b, c);"
    "INSERT INTO t VALUES (1, 'x', 10, NULL), (2, 'y', 20, X'00ff'),"
    " (3, 1, 1.0, '1');"
    "CREATE TABLE w(k1 TEXT, k2 INTEGER, v, PRIMARY KEY (k1, k2))"
    " WITHOUT ROWID;"
    "INSERT INTO w VALUES ('a', 1, 'a1'), ('a', 2, 'a2'), ('b', 1, 'b1');"
    "CREATE TABLE q(id TEXT PRIMARY KEY, v);"
    "INSERT INTO q VALUES ('it''s a \"quoted\" key', 1), ('plain', 2),"
    " (' spaced  out ', 3);"
    "CREATE TABLE \"odd \"\"name\"\" table\"(\"a column\" INTEGER PRIMARY KEY,"
    " \"the value\" TEXT, \"it's\");"
    "INSERT INTO \"odd \"\"name\"\" table\" VALUES (1, 'one', NULL),"
    " (2, 'two', 2), (3, 'three', 3);";
#define BASELINE_ROWS 12

/*
 * What one scan finds.  ins/upd/del: replica_scan's counts; rows, cells,
 * gone: the changes above the vector we had before the scan, as a pack
 * would get them (alive rows, their cells, deleted rows).  `table`: where
 * every change must be (NULL: anywhere).
 */
struct found {
	uint64_t ins, upd, del;
	uint64_t rows, cells, gone;
	const char *table;
};

struct step {
	const char *sql;
	struct found want;
};

struct scase {
	const char *name;
	struct step steps[4];	/* up to the first with sql NULL */
};

static const struct scase cases[] = {
	{ "insert a row", {
	    { "INSERT INTO t VALUES (10, 'new', 5, NULL)",
	      { 1, 0, 0, 1, 4, 0, "t" } } } },
	{ "insert two rows into two tables", {
	    { "INSERT INTO t(a) VALUES ('auto');"
	      "INSERT INTO w VALUES ('c', 1, 'c1')",
	      { 2, 0, 0, 2, 7, 0, NULL } } } },
	{ "update one column", {
	    { "UPDATE t SET a = 'z' WHERE id = 1",
	      { 0, 1, 0, 1, 1, 0, "t" } } } },
	{ "update several columns", {
	    { "UPDATE t SET a = 'q', b = 11, c = 'c' WHERE id = 1",
	      { 0, 1, 0, 1, 3, 0, "t" } } } },
	{ "update one column of every row", {
	    { "UPDATE t SET b = b + 1",
	      { 0, 3, 0, 3, 3, 0, "t" } } } },
	{ "update, then update again", {
	    { "UPDATE t SET a = 'first' WHERE id = 2",
	      { 0, 1, 0, 1, 1, 0, "t" } },
	    { "UPDATE t SET a = 'second', b = 0 WHERE id = 2",
	      { 0, 1, 0, 1, 2, 0, "t" } } } },
	{ "delete a row", {
	    { "DELETE FROM t WHERE id = 2",
	      { 0, 0, 1, 0, 0, 1, "t" } } } },
	{ "delete every row", {
	    { "DELETE FROM t", { 0, 0, 3, 0, 0, 3, "t" } } } },
	{ "delete, then re-insert the same key", {
	    { "DELETE FROM t WHERE id = 1", { 0, 0, 1, 0, 0, 1, "t" } },
	    { "INSERT INTO t VALUES (1, 'x', 10, NULL)",
	      { 1, 0, 0, 1, 4, 0, "t" } } } },
	{ "delete and re-insert the same row between scans", {
	    { "DELETE FROM t WHERE id = 1;"
	      "INSERT INTO t VALUES (1, 'x', 10, NULL)",
	      { 0, 0, 0, 0, 0, 0, NULL } } } },
	{ "delete and re-insert with one value changed", {
	    { "DELETE FROM t WHERE id = 1;"
	      "INSERT INTO t VALUES (1, 'x', 11, NULL)",
	      { 0, 1, 0, 1, 1, 0, "t" } } } },
	{ "insert and delete between scans", {
	    { "INSERT INTO t VALUES (10, 'brief', 0, 0);"
	      "DELETE FROM t WHERE id = 10",
	      { 0, 0, 0, 0, 0, 0, NULL } } } },
	{ "update and change back between scans", {
	    { "UPDATE t SET a = 'other' WHERE id = 1;"
	      "UPDATE t SET a = 'x' WHERE id = 1",
	      { 0, 0, 0, 0, 0, 0, NULL } } } },
	{ "change an integer key", {
	    { "UPDATE t SET id = 20 WHERE id = 1",
	      { 1, 0, 1, 1, 4, 1, "t" } } } },
	{ "update to the same value", {
	    { "UPDATE t SET a = a, b = b, c = c", { 0, 0, 0, 0, 0, 0, NULL } },
	    { "UPDATE t SET a = 'x', b = 10 WHERE id = 1",
	      { 0, 0, 0, 0, 0, 0, NULL } },
	    { "UPDATE t SET c = X'00ff' WHERE id = 2",
	      { 0, 0, 0, 0, 0, 0, NULL } },
	    { "UPDATE t SET a = 1, b = 1.0, c = '1' WHERE id = 3",
	      { 0, 0, 0, 0, 0, 0, NULL } } } },
	{ "NULL to a value and back", {
	    { "UPDATE t SET c = 'now' WHERE id = 1",
	      { 0, 1, 0, 1, 1, 0, "t" } },
	    { "UPDATE t SET c = NULL WHERE id = 1",
	      { 0, 1, 0, 1, 1, 0, "t" } },
	    { "UPDATE t SET a = NULL, b = NULL WHERE id = 1",
	      { 0, 1, 0, 1, 2, 0, "t" } } } },
	{ "NULL, empty text, empty blob and 0 differ", {
	    { "UPDATE t SET c = '' WHERE id = 1", { 0, 1, 0, 1, 1, 0, "t" } },
	    { "UPDATE t SET c = X'' WHERE id = 1", { 0, 1, 0, 1, 1, 0, "t" } },
	    { "UPDATE t SET c = 0 WHERE id = 1", { 0, 1, 0, 1, 1, 0, "t" } },
	    { "UPDATE t SET c = NULL WHERE id = 1",
	      { 0, 1, 0, 1, 1, 0, "t" } } } },
	{ "integer 1 becomes real 1.0, then text '1'", {
	    { "UPDATE t SET a = 1.0 WHERE id = 3", { 0, 1, 0, 1, 1, 0, "t" } },
	    { "UPDATE t SET a = '1' WHERE id = 3", { 0, 1, 0, 1, 1, 0, "t" } },
	    { "UPDATE t SET a = 1 WHERE id = 3",
	      { 0, 1, 0, 1, 1, 0, "t" } } } },
	{ "real 1.0 becomes integer 1; text '1' becomes integer 1", {
	    { "UPDATE t SET b = 1 WHERE id = 3", { 0, 1, 0, 1, 1, 0, "t" } },
	    { "UPDATE t SET c = 1 WHERE id = 3", { 0, 1, 0, 1, 1, 0, "t" } },
	    { "UPDATE t SET b = '1.0', c = X'31' WHERE id = 3",
	      { 0, 1, 0, 1, 2, 0, "t" } } } },
	{ "blobs", {
	    { "UPDATE t SET c = X'00fe' WHERE id = 2",
	      { 0, 1, 0, 1, 1, 0, "t" } },
	    { "UPDATE t SET c = X'00fe00' WHERE id = 2",
	      { 0, 1, 0, 1, 1, 0, "t" } },
	    { "UPDATE t SET a = X'79' WHERE id = 2",	/* 'y' as a blob */
	      { 0, 1, 0, 1, 1, 0, "t" } },
	    { "UPDATE t SET a = zeroblob(100000) WHERE id = 2",
	      { 0, 1, 0, 1, 1, 0, "t" } } } },
	{ "WITHOUT ROWID table with a composite key", {
	    { "UPDATE w SET v = 'A2' WHERE k1 = 'a' AND k2 = 2",
	      { 0, 1, 0, 1, 1, 0, "w" } },
	    { "INSERT INTO w VALUES ('a', 3, 'a3'), ('b', 2, NULL)",
	      { 2, 0, 0, 2, 6, 0, "w" } },
	    { "DELETE FROM w WHERE k1 = 'a' AND k2 = 1",
	      { 0, 0, 1, 0, 0, 1, "w" } },
	    { "UPDATE w SET k2 = 9 WHERE k1 = 'b' AND k2 = 1",
	      { 1, 0, 1, 1, 3, 1, "w" } } } },
	{ "composite key: same first part, delete and re-insert", {
	    { "DELETE FROM w WHERE k1 = 'a'", { 0, 0, 2, 0, 0, 2, "w" } },
	    { "INSERT INTO w VALUES ('a', 2, 'a2')",
	      { 1, 0, 0, 1, 3, 0, "w" } } } },
	{ "a key with spaces and quotes", {
	    { "UPDATE q SET v = 'changed' WHERE id = 'it''s a \"quoted\" key'",
	      { 0, 1, 0, 1, 1, 0, "q" } },
	    { "INSERT INTO q VALUES ('and \"another\" o''ne ', 4)",
	      { 1, 0, 0, 1, 2, 0, "q" } },
	    { "DELETE FROM q WHERE id = ' spaced  out '",
	      { 0, 0, 1, 0, 0, 1, "q" } },
	    { "DELETE FROM q WHERE id = 'it''s a \"quoted\" key'",
	      { 0, 0, 1, 0, 0, 1, "q" } } } },
	{ "a table whose name has spaces and quotes", {
	    { "UPDATE \"odd \"\"name\"\" table\" SET \"the value\" = 'uno'"
	      " WHERE \"a column\" = 1", { 0, 1, 0, 1, 1, 0, ODD } },
	    { "UPDATE \"odd \"\"name\"\" table\" SET \"it's\" = \"a column\"",
	      { 0, 1, 0, 1, 1, 0, ODD } },
	    { "INSERT INTO \"odd \"\"name\"\" table\" VALUES (4, 'four', 'x')",
	      { 1, 0, 0, 1, 3, 0, ODD } },
	    { "DELETE FROM \"odd \"\"name\"\" table\" WHERE \"a column\" < 3",
	      { 0, 0, 2, 0, 0, 2, ODD } } } },
	{ "edits in every table at once", {
	    { "UPDATE t SET a = 'e' WHERE id = 1;"
	      "DELETE FROM w WHERE k1 = 'b';"
	      "INSERT INTO q VALUES ('new', 5);"
	      "UPDATE \"odd \"\"name\"\" table\" SET \"the value\" = NULL,"
	      " \"it's\" = 0 WHERE \"a column\" = 3",
	      { 1, 2, 1, 3, 5, 1, NULL } } } },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* The case's database file. */
static const char *
db_path(void)
{
	return join_path(tmpdir, "site.db");
}

/* Runs SQL on a connection of its own, as an application would. */
static void
run_sql(const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(db_path(), &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg != NULL ? msg : "?");
	sqlite3_free(msg);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* The case's scratch directory and a replica that tracks every table. */
static int
setup(void **state)
{
	char err[MULE_ERRLEN] = "";
	struct replica_scan_stats st;
	struct replica_schema_sync ss;
	struct ident_secret *sec = NULL;
	struct replica *rp = NULL;
	uint8_t site[SITE_ID_LEN];
	int intkey, already;
	size_t i;

	(void)state;
	memset(&st, 0, sizeof(st));
	memset(&ss, 0, sizeof(ss));
	if (scratch_setup("mule-scan") != 0)
		return -1;
	run_sql(schema_sql);
	randombytes_buf(site, sizeof(site));
	if (ident_generate(site, &sec, err) != 0 ||
	    replica_init(db_path(), "site", site, &sec->pub, err) != 0 ||
	    replica_open(db_path(), 0, &rp, err) != 0 ||
	    replica_begin(rp, err) != 0)
		fail_msg("a new replica: %s", err);
	ident_secret_free(sec);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (replica_track(rp, tables[i], &intkey, &already, err) != 0)
			fail_msg("track %s: %s", tables[i], err);
	if (replica_schema_sync(rp, &ss, err) != 0 ||
	    replica_scan(rp, 0, &st, NULL, NULL, err) != 0 ||
	    replica_commit(rp, err) != 0)
		fail_msg("the baseline: %s", err);
	assert_int_equal(st.inserted, BASELINE_ROWS);
	assert_int_equal(st.updated + st.deleted, 0);
	replica_scan_stats_release(&st);
	replica_schema_sync_release(&ss);
	replica_close(rp);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	scratch_teardown();
	return 0;
}

/* Counts what replica_changes hands out, as a pack's sink would get it. */
struct tally {
	struct found f;
	char table[256];	/* the last table, or "*" after several */
	int ntables;
};

static int
tally_table(void *arg, const struct replica_table *t)
{
	struct tally *y = arg;

	if (y->ntables++ == 0)
		snprintf(y->table, sizeof(y->table), "%s", t->name);
	else if (strcmp(y->table, t->name) != 0)
		snprintf(y->table, sizeof(y->table), "*");
	return 0;
}

static int
tally_row(void *arg, const struct rowchange *rc)
{
	struct tally *y = arg;
	uint32_t i;

	if (rc->cl % 2 == 1) {
		y->f.rows++;
		y->f.cells += rc->ncells;
	} else {
		y->f.gone++;
		/* A deletion carries no values: only what it knew of each
		 * column (docs/state.md "Merging"). */
		for (i = 0; i < rc->ncells; i++)
			if (rc->cells[i].v.type != MVAL_NULL ||
			    rc->cells[i].st.lamport != 0)
				return MULE_EINTERNAL;
	}
	return 0;
}

/*
 * The table every change of a scan is in: the one changed table of the
 * stats (which must be the one the changes name), "" when nothing
 * changed, "*" when several did.
 */
static void
changed_table(const struct replica_scan_stats *st, const struct tally *y,
    char *out, size_t n)
{
	const struct replica_table_stats *ts;
	const char *name = "";
	size_t i;
	int k = 0;

	for (i = 0; i < st->ntables; i++) {
		ts = &st->tables[i];
		if (ts->inserted + ts->updated + ts->deleted == 0)
			continue;
		name = k++ == 0 ? ts->name : "*";
	}
	if (k == 1 && strcmp(name, y->table) != 0)
		snprintf(out, n, "stats say %s, changes say %s", name,
		    y->table);
	else
		snprintf(out, n, "%s", name);
}

/*
 * One dry scan, then one scan in a transaction, like pack: fills *got,
 * and `where` with the table every change is in (see changed_table).
 */
static void
scan_once(const char *what, struct found *got, char *where, size_t n)
{
	char err[MULE_ERRLEN] = "";
	struct replica_scan_stats dry, st;
	struct replica_out_sink sink;
	struct replica *rp = NULL;
	struct vector before;
	struct tally y;

	memset(&dry, 0, sizeof(dry));
	memset(&st, 0, sizeof(st));
	memset(&y, 0, sizeof(y));
	vector_init(&before);
	sink.arg = &y;
	sink.table = tally_table;
	sink.row = tally_row;
	if (replica_open(db_path(), 0, &rp, err) != 0 ||
	    replica_known(rp, &before, err) != 0 ||
	    replica_scan(rp, 1, &dry, NULL, NULL, err) != 0 ||
	    replica_begin(rp, err) != 0 ||
	    replica_scan(rp, 0, &st, NULL, NULL, err) != 0 ||
	    replica_changes(rp, &before, &sink, NULL, NULL, err) != 0 ||
	    replica_commit(rp, err) != 0)
		fail_msg("%s: scan: %s", what, err);
	if (dry.inserted != st.inserted || dry.updated != st.updated ||
	    dry.deleted != st.deleted)
		fail_msg("%s: the dry scan found %llu/%llu/%llu, the scan "
		    "%llu/%llu/%llu (inserted/updated/deleted)", what,
		    (unsigned long long)dry.inserted,
		    (unsigned long long)dry.updated,
		    (unsigned long long)dry.deleted,
		    (unsigned long long)st.inserted,
		    (unsigned long long)st.updated,
		    (unsigned long long)st.deleted);
	y.f.ins = st.inserted;
	y.f.upd = st.updated;
	y.f.del = st.deleted;
	*got = y.f;
	changed_table(&st, &y, where, n);
	vector_release(&before);
	replica_scan_stats_release(&dry);
	replica_scan_stats_release(&st);
	replica_close(rp);
}

/* Fails naming the case and step unless the scan found `want`. */
static void
check_found(const char *what, const struct found *want)
{
	struct found got;
	char where[600];
	const char *wt;

	scan_once(what, &got, where, sizeof(where));
	wt = want->table != NULL ? want->table :
	    want->ins + want->upd + want->del == 0 ? "" : NULL;
	if (got.ins != want->ins || got.upd != want->upd ||
	    got.del != want->del || got.rows != want->rows ||
	    got.cells != want->cells || got.gone != want->gone)
		fail_msg("%s: found inserted %llu, updated %llu, deleted %llu;"
		    " changes: %llu rows, %llu cells, %llu deletions — wanted"
		    " %llu, %llu, %llu; %llu, %llu, %llu", what,
		    (unsigned long long)got.ins, (unsigned long long)got.upd,
		    (unsigned long long)got.del, (unsigned long long)got.rows,
		    (unsigned long long)got.cells, (unsigned long long)got.gone,
		    (unsigned long long)want->ins, (unsigned long long)want->upd,
		    (unsigned long long)want->del,
		    (unsigned long long)want->rows,
		    (unsigned long long)want->cells,
		    (unsigned long long)want->gone);
	if (wt != NULL && strcmp(where, wt) != 0)
		fail_msg("%s: the changes are in table '%s', wanted '%s'", what,
		    where, wt);
}

static void
test_case(void **state)
{
	const struct scase *c = *state;
	static const struct found nothing;
	char what[1024];
	size_t i;

	for (i = 0; i < 4 && c->steps[i].sql != NULL; i++) {
		snprintf(what, sizeof(what), "%s, step %zu (%s)", c->name,
		    i + 1, c->steps[i].sql);
		run_sql(c->steps[i].sql);
		check_found(what, &c->steps[i].want);
		snprintf(what, sizeof(what), "%s, step %zu, scanning again",
		    c->name, i + 1);
		check_found(what, &nothing);
	}
}

/* A scan with no edits at all finds nothing, twice. */
static void
test_no_edits(void **state)
{
	static const struct found nothing;

	(void)state;
	check_found("no edits", &nothing);
	check_found("no edits, again", &nothing);
}

int
main(void)
{
	struct CMUnitTest tests[NCASES + 1];
	size_t i;

	if (sodium_init() < 0)
		return 1;
	memset(tests, 0, sizeof(tests));
	tests[0].name = "no edits";
	tests[0].test_func = test_no_edits;
	tests[0].setup_func = setup;
	tests[0].teardown_func = teardown;
	for (i = 0; i < NCASES; i++) {
		tests[i + 1].name = cases[i].name;
		tests[i + 1].test_func = test_case;
		tests[i + 1].setup_func = setup;
		tests[i + 1].teardown_func = teardown;
		tests[i + 1].initial_state = (void *)&cases[i];
	}
	return _cmocka_run_group_tests("scan", tests, NCASES + 1, NULL, NULL);
}
