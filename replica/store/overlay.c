/*
 * replica/store/overlay.c — the per-row state's I/O (docs/state.md
 * "Per-row state", "The state overlay").
 *
 * A tracked table's state is two tables of the same shape: the main
 * state _mule_s<tid> and the overlay _mule_l<tid>.  Every state write
 * goes to the overlay (an upsert); the effective state of a row is its
 * overlay row when there is one, else its main row.  The overlay stays
 * small, so a batch of writes spread over the whole key range touches
 * few pages; when it grows past a sixteenth of the table's rows alive,
 * the commit folds it into the main state (one ordered pass) and empties
 * it, so the scattered page writes are paid once per many transactions.
 *
 * Every reader and writer of the state goes through this file: point
 * lookups, ordered cursors (a merge of both tables, an overlay row hiding
 * the main row of its key), upserts, deletions, counts and the fold.  A
 * replica made before the overlay has none: it is made at the start of a
 * write transaction (rp_digest_begin); readers without it read the main
 * state alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

/* Fold threshold set by replica_set_fold_rows (-1: the rule). */
static int64_t fold_rows = -1;

void
replica_set_fold_rows(int64_t rows)
{
	fold_rows = rows;
}

const char *
overlay_table(int64_t tid, char buf[32])
{
	snprintf(buf, 32, "_mule_l%lld", (long long)tid);
	return buf;
}

/* The columns of both tables, after the name. */
static const char *
state_shape(int intpk)
{
	return intpk ? "(pk INTEGER PRIMARY KEY, cl INTEGER NOT NULL, "
	    "hash BLOB NOT NULL, st BLOB NOT NULL)" : "(pk BLOB PRIMARY KEY, "
	    "cl INTEGER NOT NULL, hash BLOB NOT NULL, st BLOB NOT NULL) "
	    "WITHOUT ROWID";
}

/* "CREATE TABLE [IF NOT EXISTS] name shape" run on the main database. */
static int
create_one(struct replica *rp, const char *name, int intpk, int ifnot,
    char *err)
{
	struct strb sb;
	int r;

	strb_init(&sb);
	strb_addf(&sb, "CREATE TABLE %smain.%s%s", ifnot ? "IF NOT EXISTS " :
	    "", name, state_shape(intpk));
	r = strb_error(&sb) ? mule_errf(err, MULE_ENOMEM, "out of memory") :
	    rp_exec(rp, strb_str(&sb), err);
	strb_release(&sb);
	return r;
}

int
rp_state_create(struct replica *rp, int64_t tid, int intpk, char *err)
{
	char sname[32], lname[32];
	int r;

	if ((r = create_one(rp, state_table(tid, sname), intpk, 0, err)) != 0)
		return r;
	return create_one(rp, overlay_table(tid, lname), intpk, 0, err);
}

int
rp_overlay_ensure(struct replica *rp, int64_t tid, int intpk, char *err)
{
	char lname[32];

	return create_one(rp, overlay_table(tid, lname), intpk, 1, err);
}

int
rp_state_drop(struct replica *rp, int64_t tid, char *err)
{
	char sql[80];
	int r;

	/* Fixed names made from a number, never data. */
	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS main._mule_l%lld",
	    (long long)tid);
	if ((r = rp_exec(rp, sql, err)) != 0)
		return r;
	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS main._mule_s%lld",
	    (long long)tid);
	return rp_exec(rp, sql, err);
}

/* 1 when table tid has its overlay (replicas older than it have none). */
static int
has_overlay(struct replica *rp, int64_t tid)
{
	char lname[32];

	return rp_has_table(rp, overlay_table(tid, lname));
}

void
rp_state_sql(struct replica *rp, struct strb *sb, int64_t tid,
    const char *cols, const char *cond)
{
	char sname[32], lname[32];

	state_table(tid, sname);
	overlay_table(tid, lname);
	if (!has_overlay(rp, tid)) {
		strb_addf(sb, "SELECT %s, 1 FROM main.%s WHERE %s", cols, sname,
		    cond);
		return;
	}
	strb_addf(sb, "SELECT %s, 0 FROM main.%s WHERE %s UNION ALL SELECT %s,"
	    " 1 FROM main.%s AS m WHERE %s AND NOT EXISTS (SELECT 1 FROM "
	    "main.%s AS o WHERE o.pk = m.pk)", cols, lname, cond, cols, sname,
	    cond, lname);
}

int
rp_state_prepare_get(struct replica *rp, int64_t tid, int withpk,
    sqlite3_stmt **st, char *err)
{
	const char *cols = withpk ? "pk, cl, hash, st" : "cl, hash, st";
	char sname[32], lname[32];
	struct strb sb;
	int r;

	strb_init(&sb);
	state_table(tid, sname);
	overlay_table(tid, lname);
	/* Overlay first (its constant last column is 0): merged, no sort. */
	if (has_overlay(rp, tid))
		strb_addf(&sb, "SELECT %s, 0 FROM main.%s WHERE pk = ?1 UNION "
		    "ALL SELECT %s, 1 FROM main.%s WHERE pk = ?1 ORDER BY %d "
		    "LIMIT 1", cols, lname, cols, sname, withpk ? 5 : 4);
	else
		strb_addf(&sb, "SELECT %s FROM main.%s WHERE pk = ?1", cols,
		    sname);
	r = strb_error(&sb) ? mule_errf(err, MULE_ENOMEM, "out of memory") :
	    rp_prepare(rp, strb_str(&sb), st, err);
	strb_release(&sb);
	return r;
}

/*
 * Whether this transaction writes table tid's state straight into the
 * main table: it does once it found both tables empty (a first scan, a
 * first full bundle), and then for every statement until it ends, so
 * that no overlay row can hide a later write.  In key order into an
 * empty table the writes are not scattered, and the fold that would
 * copy them all at COMMIT (a quarter of a first scan) is not needed.
 */
static int
state_direct(struct replica *rp, int64_t tid, int *direct, char *err)
{
	char sql[128];
	int64_t *v, any;
	size_t i, cap;
	int r;

	for (i = 0; i < rp->ndirect; i++)
		if (rp->direct[i] == tid) {
			*direct = 1;
			return 0;
		}
	*direct = 0;
	/* Fixed names made from a number, never data. */
	snprintf(sql, sizeof(sql), "SELECT EXISTS (SELECT 1 FROM "
	    "main._mule_s%1$lld) OR EXISTS (SELECT 1 FROM main._mule_l%1$lld)",
	    (long long)tid);
	if ((r = rp_scalar(rp, sql, 0, 1, &any, err)) != 0 || any)
		return r;
	if (rp->ndirect == rp->direct_cap) {
		cap = rp->direct_cap ? rp->direct_cap * 2 : 4;
		if ((v = realloc(rp->direct, cap * sizeof(*v))) == NULL)
			return mule_errf(err, MULE_ENOMEM, "out of memory");
		rp->direct = v;
		rp->direct_cap = cap;
	}
	rp->direct[rp->ndirect++] = tid;
	*direct = 1;
	return 0;
}

int
rp_prepare_state_put(struct replica *rp, int64_t tid, sqlite3_stmt **st,
    char *err)
{
	struct strb sb;
	char name[32];
	int64_t intpk = 0;
	int r, direct = 0;

	strb_init(&sb);
	/* A read-only replica older than the overlay (a dry scan, which
	 * writes nothing): the statement names the main table. */
	if (rp->readonly && !has_overlay(rp, tid))
		state_table(tid, name);
	else if ((r = rp_scalar(rp, "SELECT intpk FROM _mule_tables WHERE "
	    "tid = ?", tid, 0, &intpk, err)) != 0 ||
	    (r = rp_overlay_ensure(rp, tid, intpk != 0, err)) != 0 ||
	    (!rp->readonly && (r = state_direct(rp, tid, &direct, err)) != 0))
		goto out;
	else if (direct)
		state_table(tid, name);
	else
		overlay_table(tid, name);
	/* An upsert (rp_state_put keeps the digest, digest.c). */
	strb_addf(&sb, "INSERT INTO main.%s(pk, cl, hash, st) VALUES (?1, ?2, "
	    "?3, ?4) ON CONFLICT(pk) DO UPDATE SET cl = excluded.cl, hash = "
	    "excluded.hash, st = excluded.st", name);
	r = strb_error(&sb) ? mule_errf(err, MULE_ENOMEM, "out of memory") :
	    rp_prepare(rp, strb_str(&sb), st, err);
	if (r == 0)
		rp->state_written = 1;
out:
	strb_release(&sb);
	return r;
}

/* ---- ordered cursors ---- */

/* "SELECT pk, cl, hash, st FROM main.NAME [bounds] ORDER BY pk". */
static int
cur_prepare(sqlite3 *db, const char *name, const struct mval *lo,
    const struct mval *hi, sqlite3_stmt **st, char *err)
{
	struct strb sb;
	int rc, r = 0;

	strb_init(&sb);
	strb_addf(&sb, "SELECT pk, cl, hash, st FROM main.%s WHERE %s%s ORDER "
	    "BY pk", name, lo != NULL ? "pk >= ?1" : "1", hi != NULL ?
	    " AND pk < ?2" : "");
	if (strb_error(&sb))
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
	else if ((rc = sqlite3_prepare_v2(db, strb_str(&sb), -1, st,
	    NULL)) != SQLITE_OK)
		r = rp_sqlerr(db, rc, err, "prepare");
	strb_release(&sb);
	if (r == 0 && ((lo != NULL && mval_bind(*st, 1, lo) != SQLITE_OK) ||
	    (hi != NULL && mval_bind(*st, 2, hi) != SQLITE_OK)))
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
	return r;
}

int
rp_state_cur_open_db(sqlite3 *db, int64_t tid, int overlay,
    const struct mval *lo, const struct mval *hi, struct rp_state_cur *cur,
    char *err)
{
	char name[32];
	int r;

	memset(cur, 0, sizeof(*cur));
	lo = lo != NULL && lo->type != MVAL_NULL ? lo : NULL;
	hi = hi != NULL && hi->type != MVAL_NULL ? hi : NULL;
	/* Two ordered scans merged here: cheaper than a compound SELECT,
	 * which copies every row between its subqueries. */
	if ((r = cur_prepare(db, state_table(tid, name), lo, hi, &cur->main,
	    err)) == 0 && overlay)
		r = cur_prepare(db, overlay_table(tid, name), lo, hi, &cur->ov,
		    err);
	if (r != 0)
		rp_state_cur_close(cur);
	else
		cur->adv_ov = cur->adv_main = 1;
	return r;
}

int
rp_state_cur_open(struct replica *rp, int64_t tid, const struct mval *lo,
    const struct mval *hi, struct rp_state_cur *cur, char *err)
{
	return rp_state_cur_open_db(rp->db, tid, has_overlay(rp, tid), lo, hi,
	    cur, err);
}

int
rp_state_has_overlay(struct replica *rp, int64_t tid)
{
	return has_overlay(rp, tid);
}

/* Orders two keys as SQLite does (numbers, then text, then blobs). */
static int
key_cmp(sqlite3_stmt *a, sqlite3_stmt *b)
{
	static const int rank[] = { 0, 1, 1, 2, 3, 0 };
	int ta = sqlite3_column_type(a, 0), tb = sqlite3_column_type(b, 0);
	int64_t x, y;
	size_t na, nb;
	int c;

	if (ta == SQLITE_INTEGER && tb == SQLITE_INTEGER) {
		x = sqlite3_column_int64(a, 0);
		y = sqlite3_column_int64(b, 0);
		return x < y ? -1 : x > y;
	}
	if (rank[ta] != rank[tb])
		return rank[ta] < rank[tb] ? -1 : 1;
	na = (size_t)sqlite3_column_bytes(a, 0);
	nb = (size_t)sqlite3_column_bytes(b, 0);
	c = na == 0 || nb == 0 ? 0 : memcmp(sqlite3_column_blob(a, 0),
	    sqlite3_column_blob(b, 0), na < nb ? na : nb);
	return c != 0 ? c : na < nb ? -1 : na > nb;
}

int
rp_state_cur_step(struct rp_state_cur *cur)
{
	int c;

	if (cur->adv_ov)
		cur->ovr = cur->ov != NULL ? sqlite3_step(cur->ov) : SQLITE_DONE;
	if (cur->adv_main)
		cur->mr = sqlite3_step(cur->main);
	cur->adv_ov = cur->adv_main = 0;
	if (cur->ovr != SQLITE_ROW && cur->ovr != SQLITE_DONE)
		return cur->ovr;
	if (cur->mr != SQLITE_ROW && cur->mr != SQLITE_DONE)
		return cur->mr;
	if (cur->ovr != SQLITE_ROW && cur->mr != SQLITE_ROW) {
		cur->st = NULL;
		return SQLITE_DONE;
	}
	/* The smaller key; on a tie the overlay row, its main row skipped. */
	c = cur->ovr != SQLITE_ROW ? 1 : cur->mr != SQLITE_ROW ? -1 :
	    key_cmp(cur->ov, cur->main);
	cur->adv_ov = c <= 0;
	cur->adv_main = c >= 0;
	cur->st = c <= 0 ? cur->ov : cur->main;
	return SQLITE_ROW;
}

void
rp_state_cur_close(struct rp_state_cur *cur)
{
	sqlite3_finalize(cur->ov);
	sqlite3_finalize(cur->main);
	memset(cur, 0, sizeof(*cur));
}

/* ---- deletions ---- */

int
rp_state_del_prepare(struct replica *rp, int64_t tid, struct rp_state_del *d,
    char *err)
{
	char sql[96];
	int r;

	memset(d, 0, sizeof(*d));
	d->tid = tid;
	/* Each returns the row it deletes: the digest's share (digest.c). */
	if (has_overlay(rp, tid)) {
		snprintf(sql, sizeof(sql), "DELETE FROM main._mule_l%lld WHERE "
		    "pk = ?1 RETURNING cl, hash", (long long)tid);
		if ((r = rp_prepare(rp, sql, &d->ov, err)) != 0)
			return r;
	}
	snprintf(sql, sizeof(sql), "DELETE FROM main._mule_s%lld WHERE pk = ?1 "
	    "RETURNING cl, hash", (long long)tid);
	if ((r = rp_prepare(rp, sql, &d->main, err)) != 0) {
		rp_state_del_release(d);
		return r;
	}
	rp->state_written = 1;
	return 0;
}

/*
 * Runs one prepared deletion with parameter 1 bound; *found is set when
 * it deleted a row, and then *alive and hash[] say what that row held.
 */
static int
del_step(struct replica *rp, sqlite3_stmt *st, int *found, int *alive,
    uint8_t hash[ROW_HASH_LEN], char *err)
{
	int rc;

	*found = 0;
	if (st == NULL)
		return 0;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*found = 1;
		*alive = sqlite3_column_int64(st, 0) % 2 == 1;
		if (sqlite3_column_bytes(st, 1) == ROW_HASH_LEN)
			memcpy(hash, sqlite3_column_blob(st, 1), ROW_HASH_LEN);
		else	/* another program wrote it: the digest is stale
			 * anyway (docs/state.md), `mule check` redoes it */
			*alive = 0;
		rc = sqlite3_step(st);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : rp_dberr(rp, rc, err, "forget a row");
}

int
rp_state_del_key(struct replica *rp, struct rp_state_del *d,
    const struct replica_table *t, const struct mval *pk, char *err)
{
	uint8_t hov[ROW_HASH_LEN], hmain[ROW_HASH_LEN];
	int r, fov, fmain, aov = 0, amain = 0;

	if ((d->ov != NULL && (r = rp_bind_statekey(d->ov, 1, t, pk)) != 0) ||
	    (r = rp_bind_statekey(d->main, 1, t, pk)) != 0)
		return mule_errf(err, r, "table %s: bad key", t->name);
	if ((r = del_step(rp, d->ov, &fov, &aov, hov, err)) != 0 ||
	    (r = del_step(rp, d->main, &fmain, &amain, hmain, err)) != 0)
		return r;
	/* The effective row was the overlay's, if there was one. */
	if (fov ? !aov : !(fmain && amain))
		return 0;
	if (rp_digest_note(rp, d->tid, fov ? hov : hmain, NULL) != 0)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

void
rp_state_del_release(struct rp_state_del *d)
{
	sqlite3_finalize(d->ov);
	sqlite3_finalize(d->main);
	d->ov = d->main = NULL;
}

/* ---- tombstones, for pruning (replica/prune/prune.c) ---- */

int
rp_state_prepare_dead(struct replica *rp, int64_t tid, int from,
    sqlite3_stmt **st, char *err)
{
	struct strb sb;
	char name[32];
	int r;

	strb_init(&sb);
	state_table(tid, name);
	/* A partial index of the main table's tombstones, made on first use,
	 * so that a pass costs what it looks at. */
	strb_addf(&sb, "CREATE INDEX IF NOT EXISTS main.%s_dead ON %s(pk) "
	    "WHERE cl %% 2 = 0", name, name);
	if (strb_error(&sb))
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
	else if ((r = rp_exec(rp, strb_str(&sb), err)) == 0) {
		strb_reset(&sb);
		strb_addf(&sb, "SELECT pk, st FROM main.%s INDEXED BY %s_dead "
		    "WHERE cl %% 2 = 0%s ORDER BY pk LIMIT ?2", name, name,
		    from ? " AND pk > ?1" : "");
		r = strb_error(&sb) ? mule_errf(err, MULE_ENOMEM, "out of "
		    "memory") : rp_prepare(rp, strb_str(&sb), st, err);
	}
	strb_release(&sb);
	return r;
}

int
rp_state_prepare_del_dead(struct replica *rp, int64_t tid, sqlite3_stmt **st,
    char *err)
{
	struct strb sb;
	char name[32], lname[32];
	int r;

	strb_init(&sb);
	state_table(tid, name);
	/* Only a row whose effective state is that tombstone: an overlay
	 * row of the key (newer state) keeps it until the fold. */
	strb_addf(&sb, "DELETE FROM main.%s WHERE pk = ?1 AND cl %% 2 = 0", name);
	if (has_overlay(rp, tid))
		strb_addf(&sb, " AND NOT EXISTS (SELECT 1 FROM main.%s WHERE "
		    "pk = ?1)", overlay_table(tid, lname));
	strb_add(&sb, " RETURNING cl");
	r = strb_error(&sb) ? mule_errf(err, MULE_ENOMEM, "out of memory") :
	    rp_prepare(rp, strb_str(&sb), st, err);
	if (r == 0)
		rp->state_written = 1;
	strb_release(&sb);
	return r;
}

/* ---- counts and the fold ---- */

int
rp_state_count(struct replica *rp, int64_t tid, int alive, int64_t *n,
    char *err)
{
	struct strb sb;
	int r;

	strb_init(&sb);
	strb_add(&sb, "SELECT count(*) FROM (");
	rp_state_sql(rp, &sb, tid, "pk, cl", alive ? "cl % 2 = 1" : "1");
	strb_add(&sb, ")");
	r = strb_error(&sb) ? mule_errf(err, MULE_ENOMEM, "out of memory") :
	    rp_scalar(rp, strb_str(&sb), 0, 0, n, err);
	strb_release(&sb);
	return r;
}

int
rp_state_fold(struct replica *rp, int64_t tid, char *err)
{
	char sql[256];
	int r = 0;

	if (!has_overlay(rp, tid))
		goto out;
	/* In key order.  The effective state, and so the digest, stays. */
	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO main._mule_s%lld"
	    "(pk, cl, hash, st) SELECT pk, cl, hash, st FROM main._mule_l%lld"
	    " ORDER BY pk", (long long)tid, (long long)tid);
	if ((r = rp_exec(rp, sql, err)) != 0)
		goto out;
	/* Without a WHERE (and with no trigger on it) SQLite clears the
	 * table page by page, keeping no list of the keys it deletes. */
	snprintf(sql, sizeof(sql), "DELETE FROM main._mule_l%lld",
	    (long long)tid);
	r = rp_exec(rp, sql, err);
out:
	return r;
}

/* 1 when table tid's overlay holds more rows than the fold threshold. */
static int
fold_due(struct replica *rp, int64_t tid, int64_t alive, int *due,
    char *err)
{
	char sql[64];
	int64_t n = 0, limit;
	int r;

	*due = 0;
	if (!has_overlay(rp, tid))
		return 0;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM main._mule_l%lld",
	    (long long)tid);
	if ((r = rp_scalar(rp, sql, 0, 0, &n, err)) != 0)
		return r;
	limit = fold_rows >= 0 ? fold_rows : alive / RP_FOLD_DIVISOR;
	*due = n > limit;
	return 0;
}

int
rp_state_fold_due(struct replica *rp, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0, due;

	if (!rp->state_written || !rp_has_table(rp, "_mule_tables"))
		return 0;
	if ((r = rp_prepare(rp, "SELECT tid, alive FROM _mule_tables", &st,
	    err)) != 0)
		return r;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = fold_due(rp, sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1), &due, err);
		if (r == 0 && due)
			r = rp_state_fold(rp, sqlite3_column_int64(st, 0), err);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = rp_dberr(rp, rc, err, "fold the state");
	sqlite3_finalize(st);
	if (r == 0)
		rp->state_written = 0;
	return r;
}
