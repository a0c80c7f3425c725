/*
 * replica/track/pscan.c — the full scan's search, on two cores.
 *
 * Hashing every row is most of a full scan, and a scan with few changes
 * spends nearly all of it finding that rows did not change.  For a rowid
 * table, the key range is cut in two: this connection reads the lower
 * half next to its state, a second read-only connection on the same file
 * reads the upper half in a thread, and each notes the keys whose row
 * may have changed (new, hash differs, gone).  The scan then looks only
 * those keys up, as for trigger capture (scan.c).  Both connections read
 * the same committed database: the caller runs this only while its
 * transaction has written nothing, and the second connection's shared
 * lock keeps ours from spilling pages before the search ends.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

/* One half of the keys (below the split, or from it on) and its finds. */
struct half {
	sqlite3 *db;
	const char *path;		/* upper: its own connection's file */
	const struct replica_table *t;
	int overlay;			/* t's state has its overlay table */
	const char *data_sql;		/* keys >= ?1 (upper) or < ?1 (lower) */
	int upper;
	int64_t split;
	struct mval split_val;
	sqlite3_stmt *data;
	struct rp_state_cur cur;
	int64_t *keys;
	size_t n, cap;
	uint64_t rows;
	int full;			/* more than PSCAN_MAX_KEYS */
	int r;
	char err[MULE_ERRLEN];
};

static int
half_note(struct half *h, int64_t key)
{
	int64_t *k;
	size_t cap;

	if (h->n == h->cap) {
		if (h->cap >= PSCAN_MAX_KEYS) {
			h->full = 1;
			return 0;
		}
		cap = h->cap ? h->cap * 2 : 1024;
		if ((k = realloc(h->keys, cap * sizeof(*k))) == NULL)
			return MULE_ENOMEM;
		h->keys = k;
		h->cap = cap;
	}
	h->keys[h->n++] = key;
	return 0;
}

/*
 * Data (key, then every column) and effective state (pk, cl, hash, st)
 * of one half, both in key order: a merge join, as scan.c's, that only
 * compares.
 */
static int
half_merge(struct half *h, sqlite3_stmt *data, struct rp_state_cur *cur)
{
	uint8_t hash[ROW_HASH_LEN];
	int dr, sr, r = 0, same;
	int64_t dk = 0, sk = 0;

	dr = sqlite3_step(data);
	sr = rp_state_cur_step(cur);
	while (r == 0 && !h->full && (dr == SQLITE_ROW || sr == SQLITE_ROW)) {
		if (dr == SQLITE_ROW)
			dk = sqlite3_column_int64(data, 0);
		if (sr == SQLITE_ROW)
			sk = sqlite3_column_int64(cur->st, 0);
		if (dr == SQLITE_ROW && (sr != SQLITE_ROW || dk < sk)) {
			h->rows++;
			r = half_note(h, dk);	/* no state: new */
			dr = sqlite3_step(data);
		} else if (dr == SQLITE_ROW && dk == sk) {
			h->rows++;
			row_hash_stmt(data, 1, h->t->ncols, hash, NULL);
			same = sqlite3_column_int64(cur->st, 1) % 2 == 1 &&
			    sqlite3_column_bytes(cur->st, 2) == ROW_HASH_LEN &&
			    memcmp(sqlite3_column_blob(cur->st, 2), hash,
			    ROW_HASH_LEN) == 0;
			if (!same)
				r = half_note(h, dk);
			dr = sqlite3_step(data);
			sr = rp_state_cur_step(cur);
		} else {
			/* A state row with no data row: gone, if alive. */
			if (sqlite3_column_int64(cur->st, 1) % 2 == 1)
				r = half_note(h, sk);
			sr = rp_state_cur_step(cur);
		}
	}
	if (r != 0)
		return mule_errf(h->err, r, "out of memory");
	if (!h->full && (dr != SQLITE_DONE || sr != SQLITE_DONE))
		return rp_sqlerr(h->db, dr != SQLITE_DONE ? dr : sr, h->err,
		    h->t->name);
	return 0;
}

/* The half's statements on h->db: its rows and its state, in order. */
static int
half_prepare(struct half *h)
{
	int rc;

	h->split_val.type = MVAL_INT;
	h->split_val.i = h->split;
	if ((rc = sqlite3_prepare_v2(h->db, h->data_sql, -1, &h->data,
	    NULL)) != SQLITE_OK)
		return rp_sqlerr(h->db, rc, h->err, "prepare the scan");
	sqlite3_bind_int64(h->data, 1, h->split);
	return rp_state_cur_open_db(h->db, h->t->tid, h->overlay,
	    h->upper ? &h->split_val : NULL, h->upper ? NULL : &h->split_val,
	    &h->cur, h->err);
}

static void
half_release(struct half *h)
{
	sqlite3_finalize(h->data);
	rp_state_cur_close(&h->cur);
	h->data = NULL;
	if (h->path != NULL && h->db != NULL) {
		sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
		sqlite3_close(h->db);
	}
	h->db = NULL;
	free(h->keys);
	h->keys = NULL;
}

/*
 * The upper half's own connection, opened here (before the thread) so
 * that anything it cannot do sends the scan to one core before either
 * half has read a row: its read transaction and statements, with no busy
 * wait (a lock we cannot have now means "scan serially"); a schema this
 * transaction changed (a table not yet committed) fails to prepare.
 * Once prepared, its shared lock keeps ours from spilling pages.
 */
static int
upper_open(struct half *h)
{
	int rc;

	rc = sqlite3_open_v2(h->path, &h->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return rp_sqlerr(h->db, rc, h->err, h->path);
	if ((rc = sqlite3_exec(h->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
		return rp_sqlerr(h->db, rc, h->err, "begin");
	return half_prepare(h);
}

/* The upper half's thread. */
static void *
half_thread(void *arg)
{
	struct half *h = arg;

	h->r = half_merge(h, h->data, &h->cur);
	return NULL;
}

/*
 * Where to cut t's keys in two: halfway between its smallest and largest
 * key (*one: all rows have one key, or none).  The halves are open-ended,
 * so any cut is correct; this one is even for evenly spread keys.
 */
static int
key_split(struct replica *rp, const struct replica_table *t, int64_t *split,
    int *one, char *err)
{
	sqlite3_stmt *st = NULL;
	struct strb sb;
	const char *k = t->cols[t->pkcols[0]];
	int64_t lo, hi;
	int rc, r = MULE_EINTERNAL;

	/* Two subqueries: each is one seek, where min() and max() in one
	 * SELECT read every row. */
	strb_init(&sb);
	strb_add(&sb, "SELECT (SELECT min(");
	strb_add_ident(&sb, k);
	strb_add(&sb, ") FROM ");
	strb_add_ident(&sb, t->name);
	strb_add(&sb, "), (SELECT max(");
	strb_add_ident(&sb, k);
	strb_add(&sb, ") FROM ");
	strb_add_ident(&sb, t->name);
	strb_add(&sb, ")");
	if (strb_error(&sb)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = rp_prepare(rp, strb_str(&sb), &st, err)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rp_dberr(rp, rc, err, t->name);
		goto out;
	}
	lo = sqlite3_column_int64(st, 0);
	hi = sqlite3_column_int64(st, 1);
	*one = sqlite3_column_type(st, 0) == SQLITE_NULL || lo == hi;
	/* Unsigned, so that nothing overflows; lo < split <= hi. */
	*split = *one ? 0 : (int64_t)((uint64_t)lo +
	    ((uint64_t)hi - (uint64_t)lo) / 2 + 1);
	r = 0;
out:
	sqlite3_finalize(st);
	strb_release(&sb);
	return r;
}

/* SELECT of t's rows with keys >= ?1 (upper) or < ?1, in key order. */
static int
range_sql(const struct replica_table *t, int upper, struct strb *data)
{
	const char *k = t->cols[t->pkcols[0]];

	strb_add(data, "SELECT ");
	strb_add_ident(data, k);
	strb_add(data, ", ");
	sql_cols(data, t);
	strb_add(data, " FROM ");
	strb_add_ident(data, t->name);
	strb_add(data, " WHERE ");
	strb_add_ident(data, k);
	strb_add(data, upper ? " >= ?1 ORDER BY " : " < ?1 ORDER BY ");
	strb_add_ident(data, k);
	return strb_error(data) ? MULE_ENOMEM : 0;
}

int
rp_pscan_find(struct replica *rp, const struct replica_table *t,
    struct rp_pscan *out, char *err)
{
	struct half lower, upper;
	struct strb lsql, usql;
	pthread_t th;
	int64_t split = 0;
	int r = MULE_EINTERNAL, one = 1;

	memset(out, 0, sizeof(*out));
	memset(&lower, 0, sizeof(lower));
	memset(&upper, 0, sizeof(upper));
	strb_init(&lsql);
	strb_init(&usql);
	if (!t->intpk || sysconf(_SC_NPROCESSORS_ONLN) < 2 ||
	    sqlite3_threadsafe() == 0) {
		r = 0;		/* out->found stays 0: scan serially */
		goto out;
	}
	if ((r = key_split(rp, t, &split, &one, err)) != 0)
		goto out;
	if (one) {
		r = 0;		/* nothing to share between two cores */
		goto out;
	}
	if ((r = range_sql(t, 0, &lsql)) != 0 ||
	    (r = range_sql(t, 1, &usql)) != 0) {
		r = mule_errf(err, r, "out of memory");
		goto out;
	}
	lower.t = upper.t = t;
	lower.overlay = upper.overlay = rp_state_has_overlay(rp, t->tid);
	lower.split = upper.split = split;
	lower.data_sql = strb_str(&lsql);
	upper.data_sql = strb_str(&usql);
	upper.upper = 1;
	lower.db = rp->db;
	upper.path = rp->path;
	if (upper_open(&upper) != 0) {
		r = 0;		/* the second connection cannot read: serially */
		goto out;
	}
	if ((r = half_prepare(&lower)) != 0) {
		r = mule_errf(err, r, "%s", lower.err);
		goto out;
	}
	if (pthread_create(&th, NULL, half_thread, &upper) != 0) {
		r = 0;		/* no thread: scan serially */
		goto out;
	}
	lower.r = half_merge(&lower, lower.data, &lower.cur);
	pthread_join(th, NULL);
	if (lower.r != 0) {
		r = mule_errf(err, lower.r, "%s", lower.err);
		goto out;
	}
	/* The second connection failed, or too much changed (faster in one
	 * ordered pass): serially. */
	if (upper.r != 0 || lower.full || upper.full) {
		r = 0;
		goto out;
	}
	/* Keys in order: the lower half's, then the upper half's. */
	if (upper.n > 0) {
		int64_t *k = realloc(lower.keys, (lower.n + upper.n) * sizeof(*k));

		if (k == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(k + lower.n, upper.keys, upper.n * sizeof(*k));
		lower.keys = k;
		lower.n += upper.n;
	}
	out->keys = lower.keys;
	out->n = lower.n;
	out->rows = lower.rows + upper.rows;
	out->found = 1;
	lower.keys = NULL;
	r = 0;
out:
	half_release(&lower);
	half_release(&upper);
	strb_release(&lsql);
	strb_release(&usql);
	return r;
}

void
rp_pscan_release(struct rp_pscan *p)
{
	free(p->keys);
	memset(p, 0, sizeof(*p));
}
