/*
 * tests/unit/test_bound.c — hashing a written row from the values bound
 * instead of reading it back (replica/apply/apply.c hash_bound, the rule
 * rp_stored_as_bound in replica/store/state.c).
 *
 * The rule: every column affinity (as SQLite gives it from a declared
 * type, checked against SQLite's own CREATE TABLE ... AS) and every
 * storage class, NOT NULL, a rowid key and STRICT tables, in a UTF-8 and a
 * UTF-16 database: where the rule says a value is stored as bound, its
 * hash from memory is bit-identical to row_hash_stmt of the stored row;
 * where it says not, some such values are really stored otherwise.
 *
 * Applying: rows written by replica_apply_row, whole (hashed from memory),
 * partly (a column left to its default: read back), updated with values
 * of every class into columns of every affinity, and in a table with a
 * trigger of the application's: afterwards each row's state hash and
 * column hashes are those of the row as stored, and the digest is the
 * recomputed one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "core/error.h"
#include "crypto/ident.h"
#include "replica/internal.h"
#include "replica/replica.h"
#include "replica/schema.h"
#include "scratch.h"
#include "sqlhelp.h"

/* ---- the rule, against SQLite ---- */

static const uint8_t bad_utf8[] = { 'a', 0xff, 0xfe, 0xc3 };
static const uint8_t with_nul[] = { 'a', 0, 'b' };
static const uint8_t bytes[] = { 0, 1, 0xff };

/* Every storage class, and the values affinities convert. */
static struct mval vals[32];
static size_t nvals;

static void
val_add(int type, int64_t i, double f, const void *p, size_t n)
{
	struct mval *v = &vals[nvals++];

	memset(v, 0, sizeof(*v));
	v->type = type;
	v->i = i;
	v->f = f;
	v->p = p;
	v->n = n;
}

static void
vals_make(void)
{
	nvals = 0;
	val_add(MVAL_NULL, 0, 0, NULL, 0);
	val_add(MVAL_INT, 0, 0, NULL, 0);
	val_add(MVAL_INT, 7, 0, NULL, 0);
	val_add(MVAL_INT, -1, 0, NULL, 0);
	val_add(MVAL_INT, INT64_MAX, 0, NULL, 0);
	val_add(MVAL_INT, INT64_MIN, 0, NULL, 0);
	val_add(MVAL_REAL, 0, 1.5, NULL, 0);
	val_add(MVAL_REAL, 0, 3.0, NULL, 0);
	val_add(MVAL_REAL, 0, 0.0, NULL, 0);
	val_add(MVAL_REAL, 0, -0.0, NULL, 0);
	val_add(MVAL_REAL, 0, NAN, NULL, 0);
	val_add(MVAL_REAL, 0, INFINITY, NULL, 0);
	val_add(MVAL_REAL, 0, -INFINITY, NULL, 0);
	val_add(MVAL_REAL, 0, 1e300, NULL, 0);
	val_add(MVAL_REAL, 0, 9.3e18, NULL, 0);
	val_add(MVAL_REAL, 0, -4503599627370497.0, NULL, 0);
	val_add(MVAL_TEXT, 0, 0, "abc", 3);
	val_add(MVAL_TEXT, 0, 0, "12", 2);
	val_add(MVAL_TEXT, 0, 0, "1.5", 3);
	val_add(MVAL_TEXT, 0, 0, " 7 ", 3);
	val_add(MVAL_TEXT, 0, 0, "1e3", 3);
	val_add(MVAL_TEXT, 0, 0, "", 0);
	val_add(MVAL_TEXT, 0, 0, bad_utf8, sizeof(bad_utf8));
	val_add(MVAL_TEXT, 0, 0, with_nul, sizeof(with_nul));
	val_add(MVAL_BLOB, 0, 0, bytes, sizeof(bytes));
	val_add(MVAL_BLOB, 0, 0, "12", 2);
	val_add(MVAL_BLOB, 0, 0, NULL, 0);
}

/* Declared types and the affinity SQLite gives each. */
static const struct {
	const char *decl;
	int aff;
} decls[] = {
	{ "INTEGER", RP_AFF_INTEGER }, { "INT", RP_AFF_INTEGER },
	{ "bigint", RP_AFF_INTEGER }, { "POINT", RP_AFF_INTEGER },
	{ "CHARINT", RP_AFF_INTEGER }, { "TEXT", RP_AFF_TEXT },
	{ "VARCHAR(20)", RP_AFF_TEXT }, { "clob", RP_AFF_TEXT },
	{ "BLOB", RP_AFF_BLOB }, { "", RP_AFF_BLOB },
	{ "REAL", RP_AFF_REAL }, { "DOUBLE PRECISION", RP_AFF_REAL },
	{ "FLOAT", RP_AFF_REAL }, { "NUMERIC", RP_AFF_NUMERIC },
	{ "DECIMAL(10,2)", RP_AFF_NUMERIC }, { "BOOLEAN", RP_AFF_NUMERIC },
	{ "DATE", RP_AFF_NUMERIC }, { "ANY", RP_AFF_NUMERIC },
	{ "STRING", RP_AFF_NUMERIC },
};

/* SQLite's own affinity of a declared type: CREATE TABLE ... AS names it. */
static int
sqlite_affinity(sqlite3 *db, const char *decl)
{
	static const struct {
		const char *name;
		int aff;
	} names[] = { { "INT", RP_AFF_INTEGER }, { "TEXT", RP_AFF_TEXT },
	    { "REAL", RP_AFF_REAL }, { "NUM", RP_AFF_NUMERIC },
	    { "", RP_AFF_BLOB } };
	char sql[200];
	sqlite3_stmt *st = NULL;
	const char *type;
	size_t i;
	int aff = -1;

	sqlite3_exec(db, "DROP TABLE IF EXISTS a; DROP TABLE IF EXISTS b",
	    NULL, NULL, NULL);
	snprintf(sql, sizeof(sql), "CREATE TABLE a(c %s); CREATE TABLE b AS "
	    "SELECT c FROM a", decl);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT type FROM "
	    "pragma_table_info('b')", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	type = (const char *)sqlite3_column_text(st, 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(type, names[i].name) == 0)
			aff = names[i].aff;
	sqlite3_finalize(st);
	return aff;
}

static void
test_affinity(void **state)
{
	sqlite3 *db = NULL;
	size_t i;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	for (i = 0; i < sizeof(decls) / sizeof(decls[0]); i++) {
		assert_int_equal(rp_affinity(decls[i].decl), decls[i].aff);
		assert_int_equal(sqlite_affinity(db, decls[i].decl),
		    decls[i].aff);
	}
	assert_int_equal(rp_affinity(NULL), RP_AFF_BLOB);
	sqlite3_close(db);
}

/* What the matrix saw. */
struct tally {
	int exact;		/* the rule said "as bound" (and it was) */
	int differs;		/* the rule said "read back", and it differed */
	int same;		/* the rule said "read back", needlessly */
};

/*
 * Writes every value into column c of a table `c DECL [NOT NULL]`
 * (STRICT, a rowid key as asked), reads it back and compares the hashes
 * with the rule's verdict.
 */
static void
matrix_one(sqlite3 *db, const char *decl, int notnull, int strict, int key,
    int utf8, struct tally *tl)
{
	uint8_t hread[ROW_HASH_LEN], hmem[ROW_HASH_LEN];
	uint32_t cread, cmem;
	sqlite3_stmt *ins = NULL, *sel = NULL;
	char sql[200];
	size_t i;
	int exact, differ;

	sqlite3_exec(db, "DROP TABLE IF EXISTS m", NULL, NULL, NULL);
	if (key)
		snprintf(sql, sizeof(sql), "CREATE TABLE m(c %s PRIMARY KEY, "
		    "id INTEGER UNIQUE)%s", decl, strict ? " STRICT" : "");
	else
		snprintf(sql, sizeof(sql), "CREATE TABLE m(id INTEGER PRIMARY "
		    "KEY, c %s%s)%s", decl, notnull ? " NOT NULL" : "",
		    strict ? " STRICT" : "");
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO m(id, c) VALUES "
	    "(?1, ?2)", -1, &ins, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT c FROM m WHERE id = ?1",
	    -1, &sel, NULL), SQLITE_OK);
	for (i = 0; i < nvals; i++) {
		sqlite3_bind_int64(ins, 1, (int64_t)i);
		assert_int_equal(mval_bind(ins, 2, &vals[i]), SQLITE_OK);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			/* Refused (STRICT, NOT NULL, a key): never hashed. */
			sqlite3_reset(ins);
			continue;
		}
		sqlite3_reset(ins);
		sqlite3_bind_int64(sel, 1, (int64_t)i);
		assert_int_equal(sqlite3_step(sel), SQLITE_ROW);
		row_hash_stmt(sel, 0, 1, hread, &cread);
		sqlite3_reset(sel);
		row_hash_vals(&vals[i], 1, hmem, &cmem);
		exact = rp_stored_as_bound(rp_affinity(decl), notnull || key,
		    utf8, &vals[i]);
		differ = memcmp(hread, hmem, ROW_HASH_LEN) != 0;
		if (exact && (differ || cread != cmem))
			fail_msg("%s%s%s: value %zu (type %d) said stored as "
			    "bound, stored otherwise", decl, notnull ? " NOT "
			    "NULL" : "", strict ? " STRICT" : "", i,
			    vals[i].type);
		tl->exact += exact;
		tl->differs += !exact && differ;
		tl->same += !exact && !differ;
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(sel);
}

static void
matrix(const char *encoding, int utf8, struct tally *tl)
{
	static const char *const strict_types[] = { "INT", "INTEGER", "REAL",
	    "TEXT", "BLOB", "ANY" };
	char sql[80];
	sqlite3 *db = NULL;
	size_t i;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA encoding = '%s'", encoding);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	memset(tl, 0, sizeof(*tl));
	for (i = 0; i < sizeof(decls) / sizeof(decls[0]); i++) {
		matrix_one(db, decls[i].decl, 0, 0, 0, utf8, tl);
		matrix_one(db, decls[i].decl, 1, 0, 0, utf8, tl);
	}
	for (i = 0; i < sizeof(strict_types) / sizeof(strict_types[0]); i++) {
		matrix_one(db, strict_types[i], 0, 1, 0, utf8, tl);
		matrix_one(db, strict_types[i], 1, 1, 0, utf8, tl);
	}
	matrix_one(db, "INTEGER", 0, 0, 1, utf8, tl);	/* the rowid */
	matrix_one(db, "TEXT", 0, 0, 1, utf8, tl);
	sqlite3_close(db);
}

static void
test_matrix(void **state)
{
	struct tally tl;
	struct mval v;

	(void)state;
	vals_make();
	matrix("UTF-8", 1, &tl);
	/* Most values are hashed from memory, and the rule is needed. */
	assert_true(tl.exact > 450);
	assert_true(tl.differs > 300);
	/* The cases that must be read back, one by one. */
	memset(&v, 0, sizeof(v));
	v.type = MVAL_REAL;
	v.f = -0.0;
	assert_false(rp_stored_as_bound(RP_AFF_REAL, 0, 1, &v));
	assert_true(rp_stored_as_bound(RP_AFF_BLOB, 0, 1, &v));
	v.f = NAN;
	assert_false(rp_stored_as_bound(RP_AFF_BLOB, 0, 1, &v));
	v.f = 3.0;
	assert_true(rp_stored_as_bound(RP_AFF_REAL, 0, 1, &v));
	assert_false(rp_stored_as_bound(RP_AFF_NUMERIC, 0, 1, &v));
	v.type = MVAL_INT;
	assert_false(rp_stored_as_bound(RP_AFF_REAL, 0, 1, &v));
	assert_false(rp_stored_as_bound(RP_AFF_TEXT, 0, 1, &v));
	assert_false(rp_stored_as_bound(RP_AFF_UNKNOWN, 0, 1, &v));
	v.type = MVAL_NULL;
	assert_true(rp_stored_as_bound(RP_AFF_INTEGER, 0, 1, &v));
	assert_false(rp_stored_as_bound(RP_AFF_INTEGER, 1, 1, &v));
	v.type = MVAL_TEXT;
	v.p = (const uint8_t *)"12";
	v.n = 2;
	assert_true(rp_stored_as_bound(RP_AFF_TEXT, 0, 1, &v));
	assert_false(rp_stored_as_bound(RP_AFF_TEXT, 0, 0, &v));
	assert_false(rp_stored_as_bound(RP_AFF_NUMERIC, 0, 1, &v));
	v.type = MVAL_REF;
	assert_false(rp_stored_as_bound(RP_AFF_BLOB, 0, 1, &v));
	/* UTF-16: text is always read back, the rest as in UTF-8. */
	matrix("UTF-16le", 0, &tl);
	assert_true(tl.exact > 350);
}

/* ---- applying ---- */

static struct replica *rp;
static struct ident_secret *north;
static uint64_t lamport = 100;

static const char schema_sql[] =
    "CREATE TABLE m(id INTEGER PRIMARY KEY, i INTEGER, r REAL, n NUMERIC,"
    " t TEXT, b BLOB, x, s VARCHAR(8) NOT NULL DEFAULT 'd');"
    "INSERT INTO m VALUES (1, 1, 1.5, 2, 'one', x'01', 'x', 's');"
    "CREATE TABLE g(id INTEGER PRIMARY KEY, v TEXT, w INTEGER);"
    "CREATE TRIGGER g_count AFTER UPDATE OF v ON g BEGIN "
    "UPDATE g SET w = coalesce(w, 0) + 1 WHERE id = NEW.id; END;"
    "INSERT INTO g VALUES (1, 'a', 0);";

static const char *const mcols[] = { "id", "i", "r", "n", "t", "b", "x",
    "s" };
static const char *const gcols[] = { "id", "v", "w" };

static int
setup(void **state)
{
	char err[MULE_ERRLEN] = "", path[600];
	struct ident_secret *me = NULL;
	struct replica_schema_sync ss;
	struct replica_scan_stats st;
	uint8_t id[SITE_ID_LEN];
	int intkey, already;

	(void)state;
	if (ident_lib_init() != 0 || scratch_setup("mule-bound") != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/b.db", tmpdir);
	sql_exec(path, schema_sql);
	memset(&ss, 0, sizeof(ss));
	memset(&st, 0, sizeof(st));
	randombytes_buf(id, sizeof(id));
	if (ident_generate(id, &me, err) != 0 ||
	    replica_init(path, "hq", id, &me->pub, err) != 0 ||
	    replica_open(path, 0, &rp, err) != 0)
		goto bad;
	randombytes_buf(id, sizeof(id));
	if (ident_generate(id, &north, err) != 0 ||
	    replica_peer_add(rp, "north", &north->pub, err) != 0 ||
	    replica_begin(rp, err) != 0 ||
	    replica_track(rp, "m", &intkey, &already, err) != 0 ||
	    replica_track(rp, "g", &intkey, &already, err) != 0 ||
	    replica_schema_sync(rp, &ss, err) != 0 ||
	    replica_scan(rp, 0, &st, NULL, NULL, err) != 0 ||
	    replica_commit(rp, err) != 0)
		goto bad;
	replica_schema_sync_release(&ss);
	replica_scan_stats_release(&st);
	ident_secret_free(me);
	return 0;
bad:
	fprintf(stderr, "setup: %s\n", err);
	return -1;
}

static int
teardown(void **state)
{
	(void)state;
	replica_close(rp);
	ident_secret_free(north);
	scratch_teardown();
	return 0;
}

/* A row change from north: key id, cells for columns `cols` (indexes into
 * the table's columns) with values v, a new stamp each. */
static void
row_make(struct rowchange *rc, struct mval *pk, struct cell *cells,
    int64_t id, const uint32_t *cols, const struct mval *v, uint32_t n)
{
	uint32_t k;

	memset(rc, 0, sizeof(*rc));
	memset(pk, 0, sizeof(*pk));
	pk->type = MVAL_INT;
	pk->i = id;
	lamport++;
	for (k = 0; k < n; k++) {
		memset(&cells[k], 0, sizeof(cells[k]));
		cells[k].col = cols[k];
		cells[k].v = cols[k] == 0 ? *pk : v[k];
		cells[k].st.lamport = lamport;
		memcpy(cells[k].st.origin, north->site_id, SITE_ID_LEN);
	}
	rc->npk = 1;
	rc->pk = pk;
	rc->cl = 1;
	rc->cl_stamp = cells[0].st;
	rc->ncells = n;
	rc->cells = cells;
	row_hash_vals(v, n, rc->hash, NULL);
}

/* Applies one row change to `table` (columns as here) in a transaction. */
static void
apply_one(const char *table, const char *const *cols, uint32_t ncols,
    const struct rowchange *rc)
{
	char err[MULE_ERRLEN] = "";
	struct replica_apply *a = NULL;
	struct replica_apply_stats st;
	struct vector ack;
	uint8_t bid[16] = { 7 };
	const uint32_t pkcol = 0;

	vector_init(&ack);
	if (replica_begin(rp, err) != 0 ||
	    replica_apply_new(rp, "north", bid, &ack, &a, err) != 0 ||
	    replica_apply_table(a, table, ncols, cols, 1, &pkcol, err) != 0 ||
	    replica_apply_row(a, rc, err) != 0 ||
	    replica_apply_finish(a, &ack, &ack, &st, err) != 0 ||
	    replica_commit(rp, err) != 0)
		fail_msg("apply to %s (lamport %llu): %s", table,
		    (unsigned long long)lamport, err);
	replica_apply_free(a);
	vector_release(&ack);
}

/*
 * Every row of table tid: its state hash and column hashes are the
 * stored row's, and the kept digest is the recomputed one.
 */
static void
state_matches(const char *table, int64_t tid, uint32_t ncols)
{
	char err[MULE_ERRLEN] = "", sql[100];
	uint8_t h[ROW_HASH_LEN];
	uint32_t ch[8], j;
	struct rowstate s;
	struct replica_digest kept, fresh;
	sqlite3_stmt *rows = NULL, *get = NULL;
	int found, n = 0;

	snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY id", table);
	assert_int_equal(sqlite3_prepare_v2(rp->db, sql, -1, &rows, NULL),
	    SQLITE_OK);
	assert_int_equal(rp_state_prepare_get(rp, tid, 0, &get, err), 0);
	while (sqlite3_step(rows) == SQLITE_ROW) {
		row_hash_stmt(rows, 0, ncols, h, ch);
		sqlite3_bind_int64(get, 1, sqlite3_column_int64(rows, 0));
		memset(&s, 0, sizeof(s));
		assert_int_equal(rp_state_get(get, &s, &found), 0);
		assert_true(found);
		if (memcmp(s.hash, h, ROW_HASH_LEN) != 0)
			fail_msg("%s row %lld: the state's hash is not the "
			    "stored row's", table, (long long)
			    sqlite3_column_int64(rows, 0));
		for (j = 0; j < ncols; j++)
			assert_int_equal(s.colhash[j], ch[j]);
		rowstate_release(&s);
		n++;
	}
	assert_true(n > 0);
	sqlite3_finalize(rows);
	sqlite3_finalize(get);
	/* Committed: the first call stores the digest (computed from the
	 * state), which every apply after it must then keep. */
	if (replica_begin(rp, err) != 0 ||
	    replica_digest_get(rp, tid, &kept, err) != 0 ||
	    replica_digest_range(rp, tid, NULL, NULL, &fresh, err) != 0 ||
	    replica_commit(rp, err) != 0)
		fail_msg("digest: %s", err);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM _mule_digests WHERE "
	    "tid = %lld", (long long)tid);
	assert_int_equal(sql_int(rp->path, sql), 1);
	assert_int_equal(kept.n, fresh.n);
	assert_memory_equal(kept.sum, fresh.sum, REPLICA_DIGEST_LEN);
}

static void
test_apply(void **state)
{
	static const uint32_t all[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	static const uint32_t part[] = { 0, 1, 4 };
	struct mval pk, v[8];
	struct cell cells[8];
	struct rowchange rc;
	uint32_t c, k;

	(void)state;
	vals_make();
	/* A whole new row, every value stored as bound: from memory. */
	memset(v, 0, sizeof(v));
	v[1].type = MVAL_INT;
	v[1].i = 5;
	v[2].type = MVAL_REAL;
	v[2].f = 2.25;
	v[3].type = MVAL_INT;
	v[3].i = 9;
	v[4].type = MVAL_TEXT;
	v[4].p = (const uint8_t *)"four";
	v[4].n = 4;
	v[5].type = MVAL_BLOB;
	v[5].p = bytes;
	v[5].n = sizeof(bytes);
	v[6].type = MVAL_REAL;
	v[6].f = -0.0;
	v[7].type = MVAL_TEXT;
	v[7].p = (const uint8_t *)"seven";
	v[7].n = 5;
	v[0].type = MVAL_INT;
	v[0].i = 2;
	row_make(&rc, &pk, cells, 2, all, v, 8);
	apply_one("m", mcols, 8, &rc);
	assert_int_equal(sql_int(rp->path, "SELECT count(*) FROM m WHERE "
	    "id = 2 AND t = 'four'"), 1);
	state_matches("m", 1, 8);
	/* A new row without s: its default, read back. */
	v[0].i = 3;
	v[1] = v[4];
	row_make(&rc, &pk, cells, 3, part, v, 3);
	apply_one("m", mcols, 8, &rc);
	assert_int_equal(sql_int(rp->path, "SELECT count(*) FROM m WHERE "
	    "id = 3 AND s = 'd'"), 1);
	state_matches("m", 1, 8);
	/* Every value into every column of rows 1 and 2 (but NULL into s,
	 * NOT NULL: a NaN binds as NULL too; refused, never hashed). */
	for (c = 1; c < 8; c++) {
		for (k = 0; k < nvals; k++) {
			const uint32_t cols[2] = { 0, c };

			if (c == 7 && (vals[k].type == MVAL_NULL ||
			    (vals[k].type == MVAL_REAL && isnan(vals[k].f))))
				continue;
			v[0].i = 1 + (int64_t)(k % 2);
			v[1] = vals[k];
			row_make(&rc, &pk, cells, v[0].i, cols, v, 2);
			apply_one("m", mcols, 8, &rc);
			state_matches("m", 1, 8);
		}
	}
	/* The application's trigger changes w as v is written: read back. */
	v[0].i = 1;
	v[1].type = MVAL_TEXT;
	v[1].p = (const uint8_t *)"b";
	v[1].n = 1;
	row_make(&rc, &pk, cells, 1, all, v, 2);
	apply_one("g", gcols, 3, &rc);
	assert_int_equal(sql_int(rp->path, "SELECT w FROM g WHERE id = 1"), 1);
	state_matches("g", 2, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_affinity),
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_apply),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
