/*
 * replica/track/scan.c — finding local edits (DESIGN §6).
 *
 * Every row of a tracked table is hashed and compared with its state row.
 * New, changed and vanished rows become one local commit: the lamport
 * counter goes up by one and every changed cell gets the stamp
 * (counter, this site) and, as causal context, the value it replaced
 * joined with that value's context; a vanished row's tombstone keeps what
 * the deletion knew of each column; a table's first scan records its data
 * as the baseline (zero-stamped cells, each its own base; see
 * docs/state.md "Merging").  Tables whose key is the rowid are walked in key
 * order next to their state (a merge join); others look each row's state
 * up by key, and look for vanished rows only when the counts say some
 * are missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

struct scanctx {
	struct replica *rp;
	struct replica_table *t;
	int dry;
	struct istamp now;		/* (L, me) */
	sqlite3_stmt *get, *put, *jrn;
	int baseline;			/* first scan of a newly tracked table */
	uint64_t fresh_cl;		/* a new row's causal length */
	struct replica_table_stats *ts;
	uint32_t *colhash;
	int64_t alive_delta;
	uint64_t matched;		/* data rows with an alive state */
	uint64_t rows;
	uint64_t expect;		/* rows alive at the last scan */
	int nullkey;			/* scan_dirty met a NULL in a key */
	int clean;			/* this transaction wrote nothing before */
	int64_t parallel_rows;		/* scan.parallel-rows (0: never) */
	replica_progress_fn progress;
	void *parg;
};

void
replica_scan_stats_release(struct replica_scan_stats *s)
{
	free(s->tables);
	memset(s, 0, sizeof(*s));
}

int
rp_journal_add(struct replica *rp, sqlite3_stmt *jrn, uint64_t lamport,
    int64_t tid, char *err)
{
	int rc;

	sqlite3_bind_int64(jrn, 2, (int64_t)lamport);
	sqlite3_bind_int64(jrn, 3, tid);
	rc = sqlite3_step(jrn);
	sqlite3_reset(jrn);
	sqlite3_clear_bindings(jrn);
	if (rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "write journal");
	return 0;
}

/* Whether the table's next scan records its baseline. */
int
rp_table_flag(struct replica *rp, int64_t tid, int *baseline, char *err)
{
	int64_t v;
	int r;

	if ((r = rp_scalar(rp, "SELECT baseline FROM _mule_tables WHERE "
	    "tid = ?", tid, 0, &v, err)) == 0)
		*baseline = v != 0;
	return r;
}

int
rp_baseline_done(struct replica *rp, int64_t tid, uint64_t lamport,
    char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = rp_prepare(rp, "UPDATE _mule_tables SET baseline = 0 WHERE "
	    "tid = ?", &st, err)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, tid);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "update tracked tables");
	return rp_floor_raise(rp, lamport, err);
}

int
rp_floor_raise(struct replica *rp, uint64_t lamport, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = rp_prepare(rp, "UPDATE _mule_site SET floor = max(floor, ?)",
	    &st, err)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)lamport);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "update journal floor");
	return 0;
}

/*
 * 1 when the database file is exactly as our last commit left it: its
 * change counter is the one we predicted, this transaction has written
 * nothing yet, and no table awaits its baseline.  Then there are no
 * unrecorded edits and the scan is skipped.
 */
int
rp_unchanged_since_us(struct replica *rp)
{
	sqlite3_stmt *st = NULL;
	int64_t fc, want = -1;
	int yes = 0;

	/* Only at the start of a transaction: our own writes would hide. */
	if (sqlite3_total_changes64(rp->db) != rp->changes_at_begin)
		return 0;
	/* In WAL mode the counter is not kept: never skip. */
	if (replica_wal(rp) || rp_file_counter(rp, &fc) != 0)
		return 0;
	if (rp_prepare(rp, "SELECT counter, (SELECT count(*) FROM "
	    "_mule_tables WHERE baseline) FROM _mule_site", &st, NULL) != 0)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 1) == 0)
		want = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	yes = want >= 0 && want == fc;
	return yes;
}

static int decode_state_row(sqlite3_stmt *st, int first, struct rowstate *s);

/* Binds the state key of the current data row (pk columns first). */
static int
bind_data_key(struct scanctx *c, sqlite3_stmt *data, sqlite3_stmt *st)
{
	struct mval pk[64];
	uint32_t i;

	if (c->t->npk > 64)
		return MULE_ETOOLARGE;
	for (i = 0; i < c->t->npk; i++)
		mval_from_stmt(&pk[i], data, (int)i);
	return rp_bind_statekey(st, 1, c->t, pk);
}

/*
 * A new row, or one back after a deletion (op the tombstone, or NULL).
 * Its existence gets the scan's stamp.  Its cells get it too, with as
 * context what the deletion knew of each column (docs/state.md
 * "Merging") — except in a table's first scan: data a table held when it
 * was first tracked is a baseline, nobody's edit, and has the zero stamp.
 */
static int
stamp_fresh(struct scanctx *c, const struct rowstate *op, struct rowstate *ns)
{
	uint32_t i;
	int r = 0;

	ns->cl = op == NULL ? c->fresh_cl : op->cl + 1;
	ns->cl_st = c->now;
	for (i = 0; i < ns->ncols && r == 0; i++) {
		if (c->baseline && op == NULL) {
			/* A baseline: zero stamp, and its own base. */
			ns->colctx[i].has_base = 1;
			ns->colctx[i].base_row = 1;
			ns->colctx[i].base = ns->colhash[i];
			continue;
		}
		ns->colst[i] = c->now;
		if (op != NULL && i < op->ncols)
			r = merge_ctx_successor(NULL, &op->colctx[i], 0,
			    c->now.origin, &ns->colctx[i]);
	}
	c->alive_delta++;
	return r;
}

/*
 * A changed row: each changed cell gets the scan's stamp, and as context
 * the value it replaced joined with that value's context (the writer saw
 * it); unchanged cells keep theirs.
 */
static int
stamp_changed(struct scanctx *c, const struct rowstate *op,
    struct rowstate *ns)
{
	uint32_t i, n = ns->ncols, changed = 0;
	int r = 0, all;

	ns->cl = op->cl;
	ns->cl_st = op->cl_st;
	for (i = 0; i < n; i++)
		if (op->ncols != n || op->colhash[i] != ns->colhash[i])
			changed++;
	/* A row hash change no column hash explains: stamp all. */
	all = changed == 0;
	for (i = 0; i < n && r == 0; i++) {
		if (!all && op->ncols == n && op->colhash[i] == ns->colhash[i]) {
			ns->colst[i] = op->colst[i];
			r = merge_ctx_copy(&ns->colctx[i], &op->colctx[i]);
			continue;
		}
		ns->colst[i] = c->now;
		if (i < op->ncols)
			r = merge_ctx_successor(&op->colst[i], &op->colctx[i],
			    op->colhash[i], c->now.origin, &ns->colctx[i]);
	}
	return r;
}

/*
 * One data row against its state: `state` is positioned on the state row
 * (columns first..first+2 = cl, hash, st), or NULL when there is none.
 * Value columns of `data` start at column c->t->npk.  The stored stamps
 * are decoded only for rows that changed.
 */
static int
scan_row(struct scanctx *c, sqlite3_stmt *data, sqlite3_stmt *state,
    int first, char *err)
{
	struct rowstate ns, old, *op = NULL;
	uint8_t hash[ROW_HASH_LEN];
	uint32_t n = c->t->ncols;
	uint64_t oldcl = 0;
	int r = MULE_EINTERNAL, fresh;

	memset(&ns, 0, sizeof(ns));
	memset(&old, 0, sizeof(old));
	c->rows++;
	row_hash_stmt(data, (int)c->t->npk, n, hash, NULL);
	if (state != NULL) {
		oldcl = (uint64_t)sqlite3_column_int64(state, first);
		if (oldcl % 2 == 1) {
			c->matched++;
			if (sqlite3_column_bytes(state, first + 1) ==
			    ROW_HASH_LEN && memcmp(sqlite3_column_blob(state,
			    first + 1), hash, ROW_HASH_LEN) == 0)
				return 0;	/* unchanged: cost a hash */
		}
	}
	fresh = state == NULL || oldcl % 2 == 0;
	if (fresh)
		c->ts->inserted++;
	else
		c->ts->updated++;
	if (c->dry)
		return 0;
	if (state != NULL) {
		if (decode_state_row(state, first, &old) != 0) {
			r = mule_errf(err, MULE_EDB, "table %s: damaged state",
			    c->t->name);
			goto out;
		}
		op = &old;
	}
	if ((r = rowstate_alloc(&ns, n)) != 0) {
		r = mule_errf(err, r, "out of memory");
		goto out;
	}
	memcpy(ns.hash, hash, ROW_HASH_LEN);
	col_hashes_stmt(data, (int)c->t->npk, n, ns.colhash);
	if ((r = (fresh ? stamp_fresh(c, op, &ns) : stamp_changed(c, op,
	    &ns))) != 0) {
		r = mule_errf(err, r, "out of memory");
		goto out;
	}
	if ((r = bind_data_key(c, data, c->put)) != 0) {
		r = mule_errf(err, r, "table %s: bad key", c->t->name);
		goto out;
	}
	if ((r = rp_state_put(c->rp, c->put, c->t->tid, op != NULL &&
	    old.cl % 2 == 1 ? old.hash : NULL, &ns, err)) != 0)
		goto out;
	if (!c->baseline) {
		if ((r = bind_data_key(c, data, c->jrn)) != 0) {
			r = mule_errf(err, r, "table %s: bad key", c->t->name);
			goto out;
		}
		r = rp_journal_add(c->rp, c->jrn, c->now.lamport, c->t->tid,
		    err);
	}
out:
	rowstate_release(&ns);
	rowstate_release(&old);
	return r;
}

/* A state row whose data row is gone: the row was deleted. */
static int
scan_gone(struct scanctx *c, sqlite3_stmt *state, struct rowstate *old,
    char *err)
{
	uint8_t was[ROW_HASH_LEN];
	struct merge_ctx k;
	uint32_t i;
	int r;

	if (old->cl % 2 == 0)
		return 0;	/* already a tombstone */
	c->ts->deleted++;
	if (c->dry)
		return 0;
	old->cl++;
	/* The tombstone keeps what the deletion knew of each column. */
	for (i = 0; i < old->ncols; i++) {
		if ((r = merge_ctx_successor(&old->colst[i], &old->colctx[i],
		    old->colhash[i], -1, &k)) != 0)
			return mule_errf(err, r, "out of memory");
		merge_ctx_release(&old->colctx[i]);
		old->colctx[i] = k;
		memset(&old->colst[i], 0, sizeof(old->colst[i]));
	}
	old->gone = old->cl_st;	/* what its knowledge's base_row refers to */
	old->has_gone = old->cl_st.lamport != 0;
	old->cl_st = c->now;
	memcpy(was, old->hash, ROW_HASH_LEN);
	memset(old->hash, 0, ROW_HASH_LEN);
	c->alive_delta--;
	sqlite3_bind_value(c->put, 1, sqlite3_column_value(state, 0));
	sqlite3_bind_value(c->jrn, 1, sqlite3_column_value(state, 0));
	if ((r = rp_state_put(c->rp, c->put, c->t->tid, was, old, err)) != 0)
		return r;
	return rp_journal_add(c->rp, c->jrn, c->now.lamport, c->t->tid, err);
}

static int
decode_state_row(sqlite3_stmt *st, int first, struct rowstate *s)
{
	int r;

	if (sqlite3_column_bytes(st, first + 1) != ROW_HASH_LEN)
		return MULE_EFORMAT;
	if ((r = rowstate_decode(s, sqlite3_column_blob(st, first + 2),
	    (size_t)sqlite3_column_bytes(st, first + 2))) != 0)
		return r;
	s->cl = (uint64_t)sqlite3_column_int64(st, first);
	memcpy(s->hash, sqlite3_column_blob(st, first + 1), ROW_HASH_LEN);
	return 0;
}

static void
tick(struct scanctx *c)
{
	if (c->progress != NULL && c->rows % 65536 == 0)
		c->progress(c->parg, PROGRESS_SCANNING, c->rows, c->expect);
}

/*
 * Rowid tables: data and effective state (replica/store/overlay.c) both
 * in key order, one pass.
 */
static int
scan_merge(struct scanctx *c, sqlite3_stmt *data, struct rp_state_cur *cur,
    char *err)
{
	struct rowstate old;
	sqlite3_stmt *state;
	int dr, sr, r = 0, cmp;
	int64_t dk = 0, sk = 0;

	memset(&old, 0, sizeof(old));
	dr = sqlite3_step(data);
	sr = rp_state_cur_step(cur);
	while (r == 0 && (dr == SQLITE_ROW || sr == SQLITE_ROW)) {
		state = cur->st;	/* the overlay's or main's statement */
		if (dr == SQLITE_ROW)
			dk = sqlite3_column_int64(data, 0);
		if (sr == SQLITE_ROW)
			sk = sqlite3_column_int64(state, 0);
		if (dr != SQLITE_ROW)
			cmp = 1;
		else if (sr != SQLITE_ROW)
			cmp = -1;
		else
			cmp = dk < sk ? -1 : dk > sk;
		if (cmp < 0) {
			r = scan_row(c, data, NULL, 0, err);
			dr = sqlite3_step(data);
		} else if (cmp == 0) {
			r = scan_row(c, data, state, 1, err);
			dr = sqlite3_step(data);
			sr = rp_state_cur_step(cur);
		} else {
			if (sqlite3_column_int64(state, 1) % 2 == 1) {
				if ((r = decode_state_row(state, 1, &old)) != 0) {
					r = mule_errf(err, MULE_EDB, "table %s: "
					    "damaged state row %lld", c->t->name,
					    (long long)sk);
					break;
				}
				r = scan_gone(c, state, &old, err);
				rowstate_release(&old);
			}
			sr = rp_state_cur_step(cur);
		}
		tick(c);
	}
	if (r == 0 && (dr != SQLITE_DONE || sr != SQLITE_DONE))
		r = rp_dberr(c->rp, dr != SQLITE_DONE ? dr : sr, err,
		    c->t->name);
	return r;
}

/* Other tables: each data row's state by key, then vanished rows. */
static int
scan_lookup(struct scanctx *c, sqlite3_stmt *data, char *err)
{
	struct rowstate old;
	struct rp_state_cur cur;
	sqlite3_stmt *alive, *exists = NULL;
	struct strb sb;
	struct mval pk[64];
	int64_t count = 0;
	int rc, r = 0, found;
	uint32_t i;

	strb_init(&sb);
	memset(&cur, 0, sizeof(cur));
	while ((rc = sqlite3_step(data)) == SQLITE_ROW) {
		if ((r = bind_data_key(c, data, c->get)) != 0) {
			r = mule_errf(err, r, "table %s: bad key", c->t->name);
			goto out;
		}
		found = sqlite3_step(c->get);
		if (found != SQLITE_ROW && found != SQLITE_DONE) {
			r = rp_dberr(c->rp, found, err, "read state");
			goto out;
		}
		r = scan_row(c, data, found == SQLITE_ROW ? c->get : NULL, 0,
		    err);
		sqlite3_reset(c->get);
		if (r != 0)
			goto out;
		tick(c);
	}
	if (rc != SQLITE_DONE) {
		r = rp_dberr(c->rp, rc, err, c->t->name);
		goto out;
	}
	/* Vanished rows exist only when fewer alive rows were matched. */
	if ((r = rp_alive_get(c->rp, c->t->tid, &count, err)) != 0)
		goto out;
	if ((uint64_t)count <= c->matched)
		goto out;
	if ((r = rp_state_cur_open(c->rp, c->t->tid, NULL, NULL, &cur,
	    err)) != 0)
		goto out;
	strb_add(&sb, "SELECT 1 FROM ");
	strb_add_ident(&sb, c->t->name);
	strb_add(&sb, " WHERE ");
	sql_pk_where(&sb, c->t, 1);
	if ((r = rp_prepare(c->rp, strb_str(&sb), &exists, err)) != 0)
		goto out;
	while ((rc = rp_state_cur_step(&cur)) == SQLITE_ROW) {
		alive = cur.st;
		if (sqlite3_column_int64(alive, 1) % 2 == 0)
			continue;	/* a tombstone */
		if (pk_decode(sqlite3_column_blob(alive, 0),
		    (size_t)sqlite3_column_bytes(alive, 0), pk, c->t->npk) != 0) {
			r = mule_errf(err, MULE_EDB, "table %s: damaged key in "
			    "state", c->t->name);
			goto out;
		}
		for (i = 0; i < c->t->npk; i++)
			mval_bind(exists, (int)i + 1, &pk[i]);
		rc = sqlite3_step(exists);
		sqlite3_reset(exists);
		if (rc == SQLITE_ROW)
			continue;
		if ((r = decode_state_row(alive, 1, &old)) != 0) {
			r = mule_errf(err, MULE_EDB, "table %s: damaged state",
			    c->t->name);
			goto out;
		}
		r = scan_gone(c, alive, &old, err);
		rowstate_release(&old);
		if (r != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = rp_dberr(c->rp, rc, err, c->t->name);
out:
	rp_state_cur_close(&cur);
	sqlite3_finalize(exists);
	strb_release(&sb);
	return r;
}

/* Statements that read one row and its state by key (scan_key). */
static int
prepare_lookup(struct scanctx *c, sqlite3_stmt **data, sqlite3_stmt **state,
    char *err)
{
	struct strb sb;
	uint32_t i;
	int r;

	strb_init(&sb);
	strb_add(&sb, "SELECT ");
	for (i = 0; i < c->t->npk; i++) {
		strb_add_ident(&sb, c->t->cols[c->t->pkcols[i]]);
		strb_add(&sb, ", ");
	}
	sql_cols(&sb, c->t);
	strb_add(&sb, " FROM ");
	strb_add_ident(&sb, c->t->name);
	strb_add(&sb, " WHERE ");
	sql_pk_where(&sb, c->t, 1);
	if ((r = rp_prepare(c->rp, strb_str(&sb), data, err)) == 0)
		r = rp_state_prepare_get(c->rp, c->t->tid, 1, state, err);
	strb_release(&sb);
	return r;
}

/*
 * One key whose row may have changed: `data` has been stepped (rc: its
 * row, or SQLITE_DONE when the row is gone) and `state` is bound to the
 * key.  New or changed: scan_row; gone with an alive state: scan_gone.
 */
static int
scan_key(struct scanctx *c, sqlite3_stmt *data, int rc, sqlite3_stmt *state,
    char *err)
{
	struct rowstate old;
	int sr, r = 0;

	memset(&old, 0, sizeof(old));
	sr = sqlite3_step(state);
	if (sr != SQLITE_ROW && sr != SQLITE_DONE)
		r = rp_dberr(c->rp, sr, err, "read state");
	else if (rc == SQLITE_ROW)
		r = scan_row(c, data, sr == SQLITE_ROW ? state : NULL, 1, err);
	else if (sr == SQLITE_ROW && sqlite3_column_int64(state, 1) % 2 == 1) {
		if (decode_state_row(state, 1, &old) != 0)
			r = mule_errf(err, MULE_EDB, "table %s: damaged state",
			    c->t->name);
		else
			r = scan_gone(c, state, &old, err);
		rowstate_release(&old);
	}
	return r;
}

/*
 * Trigger mode: only the rows whose keys the triggers noted, each looked
 * up in the table (there: new or changed; gone: deleted) and its state.
 */
static int
scan_dirty(struct scanctx *c, char *err)
{
	sqlite3_stmt *keys = NULL, *data = NULL, *state = NULL;
	struct mval pk[64];
	uint32_t i;
	int rc, r = MULE_EINTERNAL;

	if (c->t->npk > 64) {
		r = mule_errf(err, MULE_ETOOLARGE, "table %s: too many key "
		    "columns", c->t->name);
		goto out;
	}
	if ((r = prepare_lookup(c, &data, &state, err)) != 0 ||
	    (r = rp_capture_keys(c->rp, c->t, &keys, err)) != 0)
		goto out;
	while (r == 0 && (rc = sqlite3_step(keys)) == SQLITE_ROW) {
		for (i = 0; i < c->t->npk; i++) {
			if (sqlite3_column_type(keys, (int)i) == SQLITE_NULL)
				c->nullkey = 1;
			sqlite3_bind_value(data, (int)i + 1,
			    sqlite3_column_value(keys, (int)i));
		}
		/* "= NULL" finds no row: such keys go by a full scan. */
		if (c->nullkey)
			break;
		if ((rc = sqlite3_step(data)) == SQLITE_ROW) {
			r = bind_data_key(c, data, state);
		} else {
			for (i = 0; i < c->t->npk; i++)
				mval_from_stmt(&pk[i], keys, (int)i);
			r = rp_bind_statekey(state, 1, c->t, pk);
		}
		if (r != 0 || (rc != SQLITE_ROW && rc != SQLITE_DONE)) {
			r = r != 0 ? mule_errf(err, r, "table %s: bad key",
			    c->t->name) : rp_dberr(c->rp, rc, err, c->t->name);
			break;
		}
		r = scan_key(c, data, rc, state, err);
		sqlite3_reset(data);
		sqlite3_reset(state);
		tick(c);
	}
	if (r == 0 && rc != SQLITE_DONE && !c->nullkey)
		r = rp_dberr(c->rp, rc, err, c->t->name);
out:
	sqlite3_finalize(keys);
	sqlite3_finalize(data);
	sqlite3_finalize(state);
	return r;
}

/* The keys the search on two cores noted (pscan.c), each looked up. */
static int
scan_found(struct scanctx *c, const struct rp_pscan *p, char *err)
{
	sqlite3_stmt *data = NULL, *state = NULL;
	size_t i;
	int rc, r;

	if ((r = prepare_lookup(c, &data, &state, err)) != 0)
		goto out;
	for (i = 0; i < p->n && r == 0; i++) {
		sqlite3_bind_int64(data, 1, p->keys[i]);
		sqlite3_bind_int64(state, 1, p->keys[i]);
		rc = sqlite3_step(data);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			r = rp_dberr(c->rp, rc, err, c->t->name);
		else
			r = scan_key(c, data, rc, state, err);
		sqlite3_reset(data);
		sqlite3_reset(state);
	}
	c->rows += p->rows;
	progress_report(c->progress, c->parg, PROGRESS_SCANNING, c->rows,
	    c->expect);
out:
	sqlite3_finalize(data);
	sqlite3_finalize(state);
	return r;
}

/*
 * After a dirty-key pass (before its alive_delta is written): 1 in *ok
 * when the table holds as many rows as its state will say are alive (a
 * write past the triggers that added or removed a row shows here).
 */
static int
count_agrees(struct scanctx *c, int *ok, char *err)
{
	struct strb sb;
	int64_t alive = 0, rows = 0;
	int r;

	strb_init(&sb);
	strb_add(&sb, "SELECT count(*) FROM ");
	strb_add_ident(&sb, c->t->name);
	if ((r = rp_alive_get(c->rp, c->t->tid, &alive, err)) == 0 &&
	    (r = rp_scalar(c->rp, strb_str(&sb), 0, 0, &rows, err)) == 0)
		*ok = rows == alive + (c->dry ? (int64_t)c->ts->inserted -
		    (int64_t)c->ts->deleted : c->alive_delta);
	strb_release(&sb);
	return r;
}

/*
 * A rowid table of scan.parallel-rows rows or more, not its baseline,
 * read while this transaction has written nothing: searched on two cores
 * (pscan.c), then only the keys found are looked up.  1 when the search
 * did not run and the caller scans serially.
 */
static int
scan_parallel(struct scanctx *c, char *err)
{
	struct rp_pscan p;
	int64_t alive = 0;
	int r;

	memset(&p, 0, sizeof(p));
	if (c->baseline || !c->clean || c->parallel_rows == 0)
		return 1;
	if ((r = rp_alive_get(c->rp, c->t->tid, &alive, err)) != 0)
		return r;
	if (alive < c->parallel_rows)
		return 1;
	if ((r = rp_pscan_find(c->rp, c->t, &p, err)) == 0)
		r = p.found ? scan_found(c, &p, err) : 1;
	c->ts->cores = r == 0 ? 2 : 1;
	rp_pscan_release(&p);
	return r;
}

/* The whole table against its state (the statements are prepared). */
static int
scan_full(struct scanctx *c, char *err)
{
	sqlite3_stmt *data = NULL;
	struct rp_state_cur cur;
	struct strb sb;
	uint32_t i;
	int r = MULE_EINTERNAL;

	strb_init(&sb);
	memset(&cur, 0, sizeof(cur));
	if (c->t->intpk && (r = scan_parallel(c, err)) != 1)
		goto counted;	/* searched on two cores, or failed */
	strb_add(&sb, "SELECT ");
	for (i = 0; i < c->t->npk; i++) {
		strb_add_ident(&sb, c->t->cols[c->t->pkcols[i]]);
		strb_add(&sb, ", ");
	}
	sql_cols(&sb, c->t);
	strb_add(&sb, " FROM ");
	strb_add_ident(&sb, c->t->name);
	if (c->t->intpk) {
		strb_add(&sb, " ORDER BY ");
		strb_add_ident(&sb, c->t->cols[c->t->pkcols[0]]);
	}
	if ((r = rp_prepare(c->rp, strb_str(&sb), &data, err)) != 0)
		goto out;
	if (c->t->intpk) {
		if ((r = rp_state_cur_open(c->rp, c->t->tid, NULL, NULL, &cur,
		    err)) != 0)
			goto out;
		r = scan_merge(c, data, &cur, err);
	} else {
		r = scan_lookup(c, data, err);
	}
counted:
	if (r == 0 && !c->dry)
		r = rp_alive_add(c->rp, c->t->tid, c->alive_delta, err);
out:
	sqlite3_finalize(data);
	rp_state_cur_close(&cur);
	strb_release(&sb);
	return r;
}

/*
 * One table: in trigger mode its noted keys, when they can be trusted
 * and the row count then agrees; else (and otherwise) the whole table.
 */
static int
scan_table(struct scanctx *c, char *err)
{
	int r = MULE_EINTERNAL, mode, ok = 0;

	c->alive_delta = 0;
	c->matched = 0;
	c->nullkey = 0;
	if ((c->colhash = calloc(c->t->ncols + 1, sizeof(uint32_t))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = rp_prepare_state_put(c->rp, c->t->tid, &c->put, err)) != 0)
		goto out;
	if ((r = rp_prepare(c->rp, "INSERT OR IGNORE INTO _mule_journal(pk,"
	    " lamport, tid) VALUES (?1, ?2, ?3)", &c->jrn, err)) != 0)
		goto out;
	if ((r = rp_table_flag(c->rp, c->t->tid, &c->baseline, err)) != 0 ||
	    (r = rp_prune_fresh_cl(c->rp, c->t->tid, &c->fresh_cl, err)) != 0)
		goto out;
	/* A row's state by key: cl, hash, st (scan_lookup). */
	if ((r = rp_state_prepare_get(c->rp, c->t->tid, 0, &c->get,
	    err)) != 0)
		goto out;
	if ((r = rp_capture_plan(c->rp, c->t, c->dry, &mode, &c->ts->full_why,
	    err)) != 0)
		goto out;
	c->ts->triggers = mode != RP_CAPTURE_SCAN;
	if (mode == RP_CAPTURE_DIRTY && c->baseline) {
		mode = RP_CAPTURE_FULL;
		c->ts->full_why = "first scan";
	}
	if (mode == RP_CAPTURE_DIRTY) {
		if ((r = scan_dirty(c, err)) != 0 ||
		    (r = count_agrees(c, &ok, err)) != 0)
			goto out;
		if (!ok || c->nullkey) {
			/* Rows written past the triggers: read it all. */
			mode = RP_CAPTURE_FULL;
			c->ts->full_why = c->nullkey ? "a key holds NULL" :
			    "rows written past the triggers";
			if (!c->dry && (r = rp_alive_add(c->rp, c->t->tid,
			    c->alive_delta, err)) != 0)
				goto out;
			if (c->dry)
				c->ts->inserted = c->ts->updated =
				    c->ts->deleted = 0;
			c->alive_delta = 0;
		} else if (!c->dry && (r = rp_alive_add(c->rp, c->t->tid,
		    c->alive_delta, err)) != 0) {
			goto out;
		}
	}
	if (mode != RP_CAPTURE_DIRTY && (r = scan_full(c, err)) != 0)
		goto out;
	if (!c->dry && mode != RP_CAPTURE_SCAN &&
	    (r = rp_capture_done(c->rp, c->t, mode == RP_CAPTURE_FULL,
	    err)) != 0)
		goto out;
	/* A baseline is found by a full scan, never through the journal. */
	if (!c->dry && c->baseline)
		r = rp_baseline_done(c->rp, c->t->tid, c->now.lamport, err);
out:
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	sqlite3_finalize(c->jrn);
	c->get = c->put = c->jrn = NULL;
	free(c->colhash);
	c->colhash = NULL;
	return r;
}

int
rp_scan(struct replica *rp, int dry, struct replica_scan_stats *out,
    replica_progress_fn progress, void *parg, char *err)
{
	struct replica_scan_stats st;
	struct replica_table **tabs = NULL;
	struct scanctx c;
	struct vector known;
	size_t i, n = 0;
	int64_t expect;
	uint64_t l;
	int r = MULE_EINTERNAL;

	memset(&st, 0, sizeof(st));
	memset(&c, 0, sizeof(c));
	vector_init(&known);
	if (!dry && sqlite3_get_autocommit(rp->db)) {
		r = mule_errf(err, MULE_EINTERNAL, "scan outside a transaction");
		goto out;
	}
	if ((r = rp_lamport_get(rp, &l, err)) != 0)
		goto out;
	if (!dry && rp_unchanged_since_us(rp)) {
		*out = st;	/* nobody wrote since our last commit */
		r = 0;
		goto out;
	}
	if ((r = replica_tables(rp, &tabs, &n, err)) != 0 ||
	    (r = rp_scalar(rp, "SELECT coalesce(sum(alive), 0) FROM "
	    "_mule_tables", 0, 0, &expect, err)) != 0)
		goto out;
	if ((st.tables = calloc(n ? n : 1, sizeof(*st.tables))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	st.ntables = n;
	c.rp = rp;
	c.dry = dry;
	c.now.lamport = l + 1;
	c.now.origin = rp->me;
	c.progress = progress;
	c.parg = parg;
	c.expect = expect > 0 ? (uint64_t)expect : 0;
	c.clean = sqlite3_get_autocommit(rp->db) ||
	    sqlite3_total_changes64(rp->db) == rp->changes_at_begin;
	/* scan.parallel-rows: tables this big are searched on two cores. */
	c.parallel_rows = (int64_t)replica_config_num(rp, "scan.parallel-rows",
	    PSCAN_MIN_ROWS, INT64_MAX);
	progress_report(progress, parg, PROGRESS_SCANNING, 0, c.expect);
	for (i = 0; i < n; i++) {
		c.t = tabs[i];
		c.ts = &st.tables[i];
		snprintf(c.ts->name, sizeof(c.ts->name), "%s", tabs[i]->name);
		if ((r = scan_table(&c, err)) != 0)
			goto out;
		st.inserted += c.ts->inserted;
		st.updated += c.ts->updated;
		st.deleted += c.ts->deleted;
	}
	st.rows = c.rows;
	progress_report(progress, parg, PROGRESS_SCANNING, c.rows,
	    c.rows > c.expect ? c.rows : c.expect);
	if (st.inserted + st.updated + st.deleted > 0) {
		st.lamport = l + 1;
		if (!dry) {
			if ((r = rp_lamport_set(rp, l + 1, err)) != 0 ||
			    (r = replica_known(rp, &known, err)) != 0)
				goto out;
			if (vector_set(&known, rp->site_id, l + 1) != 0) {
				r = mule_errf(err, MULE_ENOMEM, "out of memory");
				goto out;
			}
			if ((r = rp_vector_put(rp, "", "known", &known,
			    err)) != 0)
				goto out;
		}
	}
	*out = st;
	memset(&st, 0, sizeof(st));
	r = 0;
out:
	vector_release(&known);
	replica_scan_stats_release(&st);
	replica_tables_free(tabs, n);
	return r;
}
