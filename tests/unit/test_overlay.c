/*
 * tests/unit/test_overlay.c — the state overlay (replica/store/overlay.c,
 * docs/state.md "The state overlay"): state writes land in _mule_l<tid>,
 * reads see the overlay row over the main row, the fold moves the
 * overlay into main, and the content digest kept by the state's writers
 * stays the sum over the EFFECTIVE state through writes, overlay-only
 * rows, folds, writes after a fold and deletions through the module's
 * delete-by-key.  Recomputations here read the two tables with SQL of
 * their own, not the module's.  No statement of the module sorts, a
 * fold's memory does not grow with the overlay, and cutting a range into
 * pieces walks it once.
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
#include "core/strb.h"
#include "crypto/ident.h"
#include "replica/internal.h"
#include "replica/replica.h"
#include "replica/schema.h"
#include "scratch.h"
#include "sqlhelp.h"

/* t: a rowid table (tid 1); w: a WITHOUT ROWID one with a text key (2). */
static const char schema_sql[] =
    "CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
    "WHERE i < 200) INSERT INTO t SELECT i, 'v' || i FROM s;"
    "CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
    "WHERE i < 100) INSERT INTO w SELECT 'k' || i, i FROM s;";

static const char *
db_path(void)
{
	return join_path(tmpdir, "o.db");
}

/* One transaction: a scan (after `sql`, run as an application would). */
static void
scan_commit(const char *sql)
{
	char err[MULE_ERRLEN] = "";
	struct replica_scan_stats st;
	struct replica *rp = NULL;

	memset(&st, 0, sizeof(st));
	if (sql != NULL)
		sql_exec(db_path(), sql);
	if (replica_open(db_path(), 0, &rp, err) != 0 ||
	    replica_begin(rp, err) != 0 ||
	    replica_scan(rp, 0, &st, NULL, NULL, err) != 0 ||
	    replica_commit(rp, err) != 0)
		fail_msg("scan: %s", err);
	replica_scan_stats_release(&st);
	replica_close(rp);
}

static int
setup(void **state)
{
	char err[MULE_ERRLEN] = "";
	struct replica_schema_sync ss;
	struct replica_scan_stats st;
	struct ident_secret *sec = NULL;
	struct replica *rp = NULL;
	uint8_t site[SITE_ID_LEN];
	int intkey, already;

	(void)state;
	memset(&ss, 0, sizeof(ss));
	memset(&st, 0, sizeof(st));
	replica_set_fold_rows(-1);
	if (scratch_setup("mule-overlay") != 0)
		return -1;
	sql_exec(db_path(), schema_sql);
	randombytes_buf(site, sizeof(site));
	if (ident_generate(site, &sec, err) != 0 ||
	    replica_init(db_path(), "site", site, &sec->pub, err) != 0 ||
	    replica_open(db_path(), 0, &rp, err) != 0 ||
	    replica_begin(rp, err) != 0 ||
	    replica_track(rp, "t", &intkey, &already, err) != 0 ||
	    replica_track(rp, "w", &intkey, &already, err) != 0 ||
	    replica_schema_sync(rp, &ss, err) != 0 ||
	    replica_scan(rp, 0, &st, NULL, NULL, err) != 0 ||
	    replica_commit(rp, err) != 0)
		fail_msg("a new replica: %s", err);
	ident_secret_free(sec);
	replica_scan_stats_release(&st);
	replica_schema_sync_release(&ss);
	replica_close(rp);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	replica_set_fold_rows(-1);
	scratch_teardown();
	return 0;
}

/* sum += h, both 16-byte little-endian integers. */
static void
add128(uint8_t sum[16], const uint8_t *h)
{
	unsigned x, carry = 0;
	int i;

	for (i = 0; i < 16; i++) {
		x = (unsigned)sum[i] + h[i] + carry;
		sum[i] = (uint8_t)x;
		carry = x >> 8;
	}
}

/* The digest recomputed from the effective state, with our own SQL. */
static void
recompute(int64_t tid, struct replica_digest *d)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *h = NULL;
	char sql[400];

	snprintf(sql, sizeof(sql), "SELECT cl, hash FROM _mule_l%lld UNION "
	    "ALL SELECT cl, hash FROM _mule_s%lld AS m WHERE NOT EXISTS "
	    "(SELECT 1 FROM _mule_l%lld AS o WHERE o.pk = m.pk)",
	    (long long)tid, (long long)tid, (long long)tid);
	memset(d, 0, sizeof(*d));
	assert_int_equal(sqlite3_open(db_path(), &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 0) % 2 == 0)
			continue;
		assert_int_equal(sqlite3_column_bytes(st, 1), 16);
		add128(d->sum, sqlite3_column_blob(st, 1));
		d->n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/*
 * The kept digest (_mule_digests, kept by the writers), the module's
 * range digest and the recomputation agree, and count the table's rows.
 */
static void
digest_exact(int64_t tid, const char *table)
{
	char err[MULE_ERRLEN] = "", sql[80];
	struct replica_digest kept, range, want;
	struct replica *rp = NULL;

	/* Committed: the first call stores the digest (computed from the
	 * state), which the writes after it must then keep. */
	if (replica_open(db_path(), 0, &rp, err) != 0 ||
	    replica_begin(rp, err) != 0 ||
	    replica_digest_get(rp, tid, &kept, err) != 0 ||
	    replica_digest_range(rp, tid, NULL, NULL, &range, err) != 0 ||
	    replica_commit(rp, err) != 0)
		fail_msg("digest: %s", err);
	replica_close(rp);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM _mule_digests WHERE "
	    "tid = %lld", (long long)tid);
	assert_int_equal(sql_int(db_path(), sql), 1);
	recompute(tid, &want);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	assert_int_equal(want.n, (uint64_t)sql_int(db_path(), sql));
	assert_int_equal(kept.n, want.n);
	assert_int_equal(range.n, want.n);
	assert_memory_equal(kept.sum, want.sum, 16);
	assert_memory_equal(range.sum, want.sum, 16);
}

static long long
rows_in(const char *table)
{
	char sql[80];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return sql_int(db_path(), sql);
}

/*
 * The digest follows the effective state: writes into the overlay only
 * (some rows written twice), a fold, writes after the fold.
 */
static void
test_digest_effective(void **state)
{
	(void)state;
	/* Made digests exist before the writes, so the writers keep them. */
	digest_exact(1, "t");
	digest_exact(2, "w");
	replica_set_fold_rows(1000000);
	scan_commit("UPDATE t SET v = v || '!' WHERE id % 7 = 0;"
	    "DELETE FROM t WHERE id % 11 = 0; INSERT INTO t VALUES (500, 'n');"
	    "UPDATE w SET v = v + 1 WHERE v % 3 = 0;"
	    "DELETE FROM w WHERE v = 50;");
	assert_true(rows_in("_mule_l1") > 0);
	assert_true(rows_in("_mule_l2") > 0);
	digest_exact(1, "t");
	digest_exact(2, "w");
	/* Overlay rows written again, main rows hidden by a tombstone. */
	scan_commit("UPDATE t SET v = 'again' WHERE id % 14 = 0;"
	    "DELETE FROM t WHERE id = 500; INSERT INTO t VALUES (22, 'back');"
	    "DELETE FROM w WHERE v = 4;");
	digest_exact(1, "t");
	digest_exact(2, "w");
	/* A fold: the overlay moves into main, the digest does not move. */
	replica_set_fold_rows(0);
	scan_commit("UPDATE t SET v = 'fold' WHERE id = 1;");
	assert_int_equal(rows_in("_mule_l1"), 0);
	assert_int_equal(rows_in("_mule_l2"), 0);
	digest_exact(1, "t");
	digest_exact(2, "w");
	/* Writes after the fold. */
	replica_set_fold_rows(1000000);
	scan_commit("UPDATE t SET v = 'after' WHERE id % 9 = 0;"
	    "DELETE FROM t WHERE id = 3; DELETE FROM w WHERE v = 10;"
	    "INSERT INTO w VALUES ('new', 1);");
	assert_true(rows_in("_mule_l1") > 0);
	digest_exact(1, "t");
	digest_exact(2, "w");
}

/* A second scan finds nothing: the merged state matches the data. */
static void
test_rescan_clean(void **state)
{
	char err[MULE_ERRLEN] = "";
	struct replica_scan_stats st;
	struct replica *rp = NULL;

	(void)state;
	replica_set_fold_rows(1000000);
	scan_commit("UPDATE t SET v = 1 WHERE id < 50; DELETE FROM t WHERE "
	    "id > 190; UPDATE w SET v = 0 WHERE v < 20;");
	memset(&st, 0, sizeof(st));
	if (replica_open(db_path(), 1, &rp, err) != 0 ||
	    replica_scan(rp, 1, &st, NULL, NULL, err) != 0)
		fail_msg("dry scan: %s", err);
	assert_int_equal(st.inserted + st.updated + st.deleted, 0);
	replica_scan_stats_release(&st);
	replica_close(rp);
	/* The overlay hides main: main still holds the old rows. */
	assert_int_equal(sql_int(db_path(), "SELECT count(*) FROM _mule_s1 "
	    "WHERE pk > 190 AND cl % 2 = 1"), 10);
	assert_int_equal(sql_int(db_path(), "SELECT count(*) FROM _mule_l1 "
	    "WHERE pk > 190 AND cl % 2 = 0"), 10);
}

/* The delete-by-key (a row leaving a set) takes its state from both tables
 * and its share of the digest. */
static void
test_delete_by_key(void **state)
{
	char err[MULE_ERRLEN] = "";
	struct replica_table *t = NULL;
	struct rp_state_del d;
	struct replica *rp = NULL;
	struct mval pk;

	(void)state;
	digest_exact(1, "t");
	replica_set_fold_rows(0);
	scan_commit("DELETE FROM t WHERE id IN (5, 6, 7)");
	replica_set_fold_rows(1000000);
	scan_commit("DELETE FROM t WHERE id = 8; UPDATE t SET v = 0 WHERE "
	    "id = 9");
	/*
	 * 5: a tombstone in main only; 8: deleted in the overlay, alive in
	 * main; 9: alive in both (the overlay's hash counts); 10: alive in
	 * main only; 404: neither.
	 */
	memset(&pk, 0, sizeof(pk));
	pk.type = MVAL_INT;
	if (replica_open(db_path(), 0, &rp, err) != 0 ||
	    replica_begin(rp, err) != 0 ||
	    rp_table_get(rp, "t", &t, err) != 0 ||
	    rp_state_del_prepare(rp, t->tid, &d, err) != 0)
		fail_msg("prepare: %s", err);
	for (pk.i = 5; pk.i <= 10; pk.i++)
		assert_int_equal(rp_state_del_key(rp, &d, t, &pk, err), 0);
	pk.i = 404;
	assert_int_equal(rp_state_del_key(rp, &d, t, &pk, err), 0);
	rp_state_del_release(&d);
	assert_int_equal(replica_commit(rp, err), 0);
	replica_table_free(t);
	replica_close(rp);
	assert_int_equal(sql_int(db_path(), "SELECT count(*) FROM (SELECT pk "
	    "FROM _mule_s1 UNION ALL SELECT pk FROM _mule_l1) WHERE pk BETWEEN "
	    "5 AND 10"), 0);
	/* Rows 9 and 10 were alive: the data still holds them, the digest
	 * lost them. */
	sql_exec(db_path(), "DELETE FROM t WHERE id IN (9, 10)");
	digest_exact(1, "t");
}

/* A replica made before the overlay: read without it, made at a write. */
static void
test_old_replica(void **state)
{
	char err[MULE_ERRLEN] = "";
	struct replica_scan_stats st;
	struct rp_state_cur cur;
	struct replica *rp = NULL;
	int64_t n = 0, seen = 0;

	(void)state;
	replica_set_fold_rows(0);
	scan_commit("UPDATE t SET v = 'x' WHERE id = 2");
	sql_exec(db_path(), "DROP TABLE _mule_l1; DROP TABLE _mule_l2");
	if (replica_open(db_path(), 1, &rp, err) != 0 ||
	    rp_state_count(rp, 1, 1, &n, err) != 0 ||
	    rp_state_cur_open(rp, 1, NULL, NULL, &cur, err) != 0)
		fail_msg("read: %s", err);
	while (rp_state_cur_step(&cur) == SQLITE_ROW)
		seen++;
	rp_state_cur_close(&cur);
	/* A dry scan (status) of it, read-only: it finds the edit. */
	sql_exec(db_path(), "UPDATE t SET v = 'dry' WHERE id = 4");
	memset(&st, 0, sizeof(st));
	if (replica_scan(rp, 1, &st, NULL, NULL, err) != 0)
		fail_msg("dry scan: %s", err);
	assert_int_equal(st.updated, 1);
	replica_scan_stats_release(&st);
	replica_close(rp);
	assert_int_equal(n, 200);
	assert_int_equal(seen, 200);
	replica_set_fold_rows(1000000);
	scan_commit("UPDATE t SET v = 'y' WHERE id = 2");
	assert_int_equal(rows_in("_mule_l1"), 2);	/* rows 2 and 4 */
	assert_int_equal(rows_in("_mule_l2"), 0);
	digest_exact(1, "t");
	digest_exact(2, "w");
}

/* No statement of the module sorts: EXPLAIN QUERY PLAN has no temp B-tree. */
static void
plan_unsorted(const char *sql)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *h = NULL;
	char *q;

	q = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
	assert_non_null(q);
	assert_int_equal(sqlite3_open(db_path(), &h), SQLITE_OK);
	if (sqlite3_prepare_v2(h, q, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", q, sqlite3_errmsg(h));
	while (sqlite3_step(st) == SQLITE_ROW)
		if (strstr((const char *)sqlite3_column_text(st, 3),
		    "TEMP B-TREE") != NULL)
			fail_msg("sorts: %s", sql);
	sqlite3_finalize(st);
	sqlite3_close(h);
	sqlite3_free(q);
}

static void
test_no_sort(void **state)
{
	char err[MULE_ERRLEN] = "";
	struct rp_state_cur cur;
	struct replica *rp = NULL;
	struct mval lo, hi;
	sqlite3_stmt *get = NULL;
	struct strb sb;
	int64_t tid;
	int withpk;

	(void)state;
	memset(&lo, 0, sizeof(lo));
	lo.type = MVAL_INT;
	hi = lo;
	hi.i = 50;
	if (replica_open(db_path(), 0, &rp, err) != 0)
		fail_msg("open: %s", err);
	for (tid = 1; tid <= 2; tid++) {
		for (withpk = 0; withpk < 2; withpk++) {
			assert_int_equal(rp_state_prepare_get(rp, tid, withpk,
			    &get, err), 0);
			plan_unsorted(sqlite3_sql(get));
			sqlite3_finalize(get);
		}
		assert_int_equal(rp_state_cur_open(rp, tid, &lo, &hi, &cur,
		    err), 0);
		assert_non_null(cur.ov);
		plan_unsorted(sqlite3_sql(cur.ov));
		plan_unsorted(sqlite3_sql(cur.main));
		rp_state_cur_close(&cur);
		/* As digest.c walks split points. */
		strb_init(&sb);
		rp_state_sql(rp, &sb, tid, "pk", "cl % 2 = 1 AND (?1 IS NULL "
		    "OR pk >= ?1) AND (?2 IS NULL OR pk < ?2)");
		strb_add(&sb, " ORDER BY 1");
		plan_unsorted(strb_str(&sb));
		strb_release(&sb);
	}
	replica_close(rp);
}

/*
 * A fold's memory does not grow with the overlay: 400,000 overlay rows
 * (tombstones of keys the table never had, written here with SQL) are
 * folded, and SQLite's peak allocation stays under 8 MiB.  Emptying the
 * overlay in one DELETE made SQLite keep every deleted key in memory
 * first (about 10 MiB here, 220 MiB for a full bundle of 10M rows).
 */
static void
test_fold_memory(void **state)
{
	sqlite3_int64 before, peak;

	(void)state;
	sql_exec(db_path(), "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL "
	    "SELECT i + 1 FROM s WHERE i < 400000) INSERT INTO _mule_l1(pk, "
	    "cl, hash, st) SELECT 1000 + i, 2, randomblob(16), x'' FROM s");
	replica_set_fold_rows(0);
	before = sqlite3_memory_used();
	(void)sqlite3_memory_highwater(1);
	scan_commit(NULL);
	peak = sqlite3_memory_highwater(0);
	assert_int_equal(rows_in("_mule_l1"), 0);
	assert_int_equal(sql_int(db_path(), "SELECT count(*) FROM _mule_s1 "
	    "WHERE pk > 1000"), 400000);
	print_message("fold of 400000 rows: SQLite's peak %lld KiB above "
	    "what it held before\n", (long long)(peak - before) / 1024);
	assert_true(peak - before < 8 * 1024 * 1024);
}

/* Counts SQLite's progress callbacks: its virtual machine's work. */
static int
count_work(void *arg)
{
	(*(long long *)arg)++;
	return 0;
}

/*
 * replica_digest_split cuts the effective state (main rows, overlay rows
 * over them, deletions left out) into 16 pieces of equal counts, and
 * walks the range once: SQLite's work stays under one progress callback
 * (1,000 virtual machine instructions) per 20 rows; 960 for these 39,195.
 * A query with an OFFSET per piece walked the range from its start for
 * each of them: 7,975.
 */
static void
test_split_walk(void **state)
{
	char err[MULE_ERRLEN] = "";
	struct replica_range *parts = NULL;
	struct replica *rp = NULL;
	long long work = 0, alive, got;
	size_t i, n = 0;
	char sql[400];

	(void)state;
	/* 40,000 more rows in main; every tenth overwritten in the overlay,
	 * every fourth of those a deletion. */
	sql_exec(db_path(), "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL "
	    "SELECT i + 1 FROM s WHERE i < 40000) INSERT INTO _mule_s1(pk, "
	    "cl, hash, st) SELECT 1000 + i, 1, randomblob(16), x'' FROM s; "
	    "INSERT INTO _mule_l1(pk, cl, hash, st) SELECT pk, CASE WHEN "
	    "pk % 40 = 0 THEN 2 ELSE 1 END, randomblob(16), x'' FROM "
	    "_mule_s1 WHERE pk % 10 = 0");
	alive = sql_int(db_path(), "SELECT count(*) FROM (SELECT cl FROM "
	    "_mule_l1 UNION ALL SELECT cl FROM _mule_s1 AS m WHERE NOT EXISTS "
	    "(SELECT 1 FROM _mule_l1 AS o WHERE o.pk = m.pk)) WHERE cl % 2");
	if (replica_open(db_path(), 0, &rp, err) != 0)
		fail_msg("open: %s", err);
	sqlite3_progress_handler(rp->db, 1000, count_work, &work);
	if (replica_digest_split(rp, 1, NULL, NULL, (uint64_t)alive, 16,
	    &parts, &n, err) != 0)
		fail_msg("split: %s", err);
	sqlite3_progress_handler(rp->db, 0, NULL, NULL);
	replica_close(rp);
	print_message("split of %lld rows: %lld progress callbacks\n", alive,
	    work);
	assert_true(work < alive / 20);
	assert_int_equal(n, 16);
	for (i = 0; i < n; i++) {
		/* Open at both ends; consecutive pieces share their bound. */
		assert_int_equal(parts[i].lo.type, i == 0 ? MVAL_NULL :
		    MVAL_INT);
		assert_int_equal(parts[i].hi.type, i == n - 1 ? MVAL_NULL :
		    MVAL_INT);
		if (i > 0)
			assert_int_equal(parts[i].lo.i, parts[i - 1].hi.i);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM (SELECT pk, "
		    "cl FROM _mule_l1 UNION ALL SELECT pk, cl FROM _mule_s1 AS "
		    "m WHERE NOT EXISTS (SELECT 1 FROM _mule_l1 AS o WHERE o.pk "
		    "= m.pk)) WHERE cl %% 2 AND pk >= %lld AND pk < %lld",
		    i == 0 ? (long long)INT64_MIN : (long long)parts[i].lo.i,
		    i == n - 1 ? (long long)INT64_MAX : (long long)parts[i].hi.i);
		got = sql_int(db_path(), sql);
		assert_true(got == alive / 16 || got == alive / 16 + 1);
	}
	replica_ranges_free(parts, n);
}

/*
 * A replica of state format 2, as an older mule left it (its predicted
 * file change counter matching the file): the first write transaction
 * marks it 3 and may still skip the scan (the mark is not an edit).
 */
static void
test_format_mark(void **state)
{
	char err[MULE_ERRLEN] = "", sql[120];
	struct replica *rp = NULL;
	int64_t fc;

	(void)state;
	if (replica_open(db_path(), 1, &rp, err) != 0)
		fail_msg("open: %s", err);
	assert_int_equal(rp_file_counter(rp, &fc), 0);
	replica_close(rp);
	rp = NULL;
	/* One transaction: the file's counter becomes fc + 1. */
	snprintf(sql, sizeof(sql), "UPDATE _mule_site SET format = 2, "
	    "counter = %lld", (long long)(fc + 1));
	sql_exec(db_path(), sql);
	if (replica_open(db_path(), 0, &rp, err) != 0 ||
	    replica_begin(rp, err) != 0)
		fail_msg("open: %s", err);
	assert_int_equal(rp_unchanged_since_us(rp), 1);
	if (replica_commit(rp, err) != 0)
		fail_msg("commit: %s", err);
	replica_close(rp);
	assert_int_equal(sql_int(db_path(), "SELECT format FROM _mule_site"),
	    3);
}

/* Writes state row pk of table tid with statement put: alive, hash h. */
static void
put_row(struct replica *rp, sqlite3_stmt *put, int64_t tid, int64_t pk,
    uint8_t h)
{
	char err[MULE_ERRLEN] = "";
	struct rowstate s;

	assert_int_equal(rowstate_alloc(&s, 1), 0);
	s.cl = 1;
	memset(s.hash, h, sizeof(s.hash));
	sqlite3_bind_int64(put, 1, pk);
	if (rp_state_put(rp, put, tid, NULL, &s, err) != 0)
		fail_msg("put: %s", err);
	rowstate_release(&s);
}

/*
 * State written into empty tables goes straight into the main table (a
 * first scan leaves no overlay to fold, and no free pages behind it),
 * for every statement of the transaction: a second statement prepared
 * once main holds rows must not write into the overlay, whose row would
 * hide the first statement's later write of the same key.
 */
static void
test_state_direct(void **state)
{
	char err[MULE_ERRLEN] = "";
	sqlite3_stmt *a = NULL, *b = NULL;
	struct replica_table *t = NULL;
	struct replica *rp = NULL;
	int intkey, already;

	(void)state;
	assert_int_equal(sql_int(db_path(), "SELECT count(*) FROM _mule_l1"),
	    0);
	assert_int_equal(sql_int(db_path(), "PRAGMA freelist_count"), 0);
	sql_exec(db_path(), "CREATE TABLE e(id INTEGER PRIMARY KEY, v)");
	if (replica_open(db_path(), 0, &rp, err) != 0 ||
	    replica_begin(rp, err) != 0 ||
	    replica_track(rp, "e", &intkey, &already, err) != 0 ||
	    replica_commit(rp, err) != 0 ||
	    replica_begin(rp, err) != 0 ||
	    rp_table_get(rp, "e", &t, err) != 0 ||
	    rp_prepare_state_put(rp, t->tid, &a, err) != 0)
		fail_msg("prepare: %s", err);
	put_row(rp, a, t->tid, 1, 0x11);
	if (rp_prepare_state_put(rp, t->tid, &b, err) != 0)
		fail_msg("prepare: %s", err);
	put_row(rp, b, t->tid, 5, 0x22);
	put_row(rp, a, t->tid, 5, 0x33);
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	assert_int_equal(replica_commit(rp, err), 0);
	replica_close(rp);
	assert_int_equal(sql_int(db_path(), "SELECT count(*) FROM _mule_l3"),
	    0);
	assert_int_equal(sql_int(db_path(), "SELECT hex(hash) = "
	    "'33333333333333333333333333333333' FROM _mule_s3 WHERE pk = 5"),
	    1);
	replica_table_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_digest_effective, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rescan_clean, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delete_by_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_old_replica, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_sort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fold_memory, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_split_walk, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_format_mark, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_state_direct, setup,
		    teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
