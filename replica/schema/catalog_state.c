/*
 * replica/schema/catalog_state.c — re-baselining the per-row state of tables a
 * schema change touched: remapping the position-indexed state to a
 * table's live column layout (see replica/schema.h and docs/state.md
 * "Table layouts").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"
#include "replica/schema.h"

/* A table's layout as the state was written: columns and key, by name. */
static const char layout_sql[] =
    "SELECT json_object('c', (SELECT json_group_array(name) FROM "
    "(SELECT name FROM pragma_table_info(?1) ORDER BY cid)), 'k', "
    "(SELECT json_group_array(name) FROM (SELECT name FROM "
    "pragma_table_info(?1) WHERE pk > 0 ORDER BY pk)))";

#define REBASE_BATCH 256

static int
layout_now(struct replica *rp, const char *table, char **out, char *err)
{
	/* One row always: a SELECT of json_object() without FROM. */
	return rp_text(rp, layout_sql, table, NULL, out, "read table layout",
	    err);
}

static int
layout_set(struct replica *rp, int64_t tid, const char *layout, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = rp_prepare(rp, "UPDATE _mule_tables SET cols = ? WHERE tid "
	    "= ?", &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, layout, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, tid);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rp_dberr(rp, rc, err,
	    "update tracked tables");
}

/* Column names of a stored layout (heap array). */
static int
layout_cols(struct replica *rp, const char *layout, char ***out, size_t *n,
    char *err)
{
	return rp_strings(rp, "SELECT value FROM json_each(?1, '$.c') ORDER BY "
	    "key", layout, NULL, out, n, "read table layout", err);
}

/* 1 when the two layouts have the same key columns. */
static int
layout_same_key(struct replica *rp, const char *a, const char *b)
{
	sqlite3_stmt *st = NULL;
	int same = 0;

	if (rp_prepare(rp, "SELECT json_extract(?1, '$.k') IS "
	    "json_extract(?2, '$.k')", &st, NULL) != 0)
		return 0;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		same = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return same;
}

/*
 * Short hash of column `col`'s default value (what ALTER TABLE ADD
 * COLUMN puts into existing rows); NULL's when it cannot be evaluated.
 */
static uint32_t
default_hash(struct replica *rp, const char *table, const char *col)
{
	sqlite3_stmt *st = NULL, *ev = NULL;
	struct strb sb;
	struct mval v;
	uint32_t h;

	memset(&v, 0, sizeof(v));
	v.type = MVAL_NULL;
	h = val_hash(&v);
	strb_init(&sb);
	if (rp_prepare(rp, "SELECT dflt_value FROM pragma_table_info(?1) "
	    "WHERE name = ?2", &st, NULL) != 0)
		goto out;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_type(st, 0) == SQLITE_NULL)
		goto out;
	/* The expression comes from the local schema, not from data. */
	strb_addf(&sb, "SELECT %s", (const char *)sqlite3_column_text(st, 0));
	if (strb_error(&sb) || sqlite3_prepare_v2(rp->db, strb_str(&sb), -1,
	    &ev, NULL) != SQLITE_OK || sqlite3_step(ev) != SQLITE_ROW)
		goto out;
	mval_from_stmt(&v, ev, 0);
	h = val_hash(&v);
out:
	sqlite3_finalize(st);
	sqlite3_finalize(ev);
	strb_release(&sb);
	return h;
}

/* One state row read in a batch. */
struct srow {
	sqlite3_value *pk;
	int64_t cl;
	uint8_t hash[ROW_HASH_LEN];
	void *st;
	size_t stlen;
};

static void
srows_free(struct srow *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		sqlite3_value_free(v[i].pk);
		free(v[i].st);
	}
}

/* Binds the key of a state row to the pk columns of a data query. */
static int
bind_state_key(const struct replica_table *t, sqlite3_stmt *data,
    sqlite3_value *pk)
{
	struct mval k[64];
	uint32_t i;

	if (t->intpk) {
		sqlite3_bind_value(data, 1, pk);
		return 0;
	}
	if (t->npk > 64 || pk_decode(sqlite3_value_blob(pk),
	    (size_t)sqlite3_value_bytes(pk), k, t->npk) != 0)
		return MULE_EFORMAT;
	for (i = 0; i < t->npk; i++)
		mval_bind(data, (int)i + 1, &k[i]);
	return 0;
}

struct rebase {
	struct replica *rp;
	struct replica_table *t;
	int trust;		/* data is the truth (received or recorded) */
	int32_t *map;		/* new column -> old column, or -1 */
	uint32_t *dflt;		/* detect mode: hash of a new column's default */
	uint32_t nold;
	sqlite3_stmt *data, *put;
	int64_t alive_delta;
};

/* Remaps one state row to the new layout (see remap_table). */
static int
remap_row(struct rebase *b, struct srow *sr, char *err)
{
	struct rowstate old, ns;
	uint8_t cur[ROW_HASH_LEN];
	uint32_t *curcol = NULL, j, n = b->t->ncols;
	int r, rc, same;

	memset(&old, 0, sizeof(old));
	memset(&ns, 0, sizeof(ns));
	if ((r = rowstate_decode(&old, sr->st, sr->stlen)) != 0) {
		r = mule_errf(err, MULE_EDB, "table %s: damaged state",
		    b->t->name);
		goto out;
	}
	if ((r = rowstate_alloc(&ns, n)) != 0 ||
	    (curcol = calloc(n + 1, sizeof(*curcol))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	ns.cl = (uint64_t)sr->cl;
	ns.cl_st = old.cl_st;
	ns.gone = old.gone;
	ns.has_gone = old.has_gone;
	memcpy(ns.hash, sr->hash, ROW_HASH_LEN);
	for (j = 0; j < n; j++) {
		int32_t i = b->map[j];
		if (i >= 0 && (uint32_t)i < old.ncols) {
			ns.colhash[j] = old.colhash[i];
			ns.colst[j] = old.colst[i];
			/* The context moves with the column (by name). */
			ns.colctx[j] = old.colctx[i];
			memset(&old.colctx[i], 0, sizeof(old.colctx[i]));
		} else {
			/* Made by DDL: the zero stamp, so any write wins. */
			ns.colhash[j] = b->dflt[j];
		}
	}
	if (ns.cl % 2 == 1) {
		if ((r = bind_state_key(b->t, b->data, sr->pk)) != 0) {
			r = mule_errf(err, r, "table %s: damaged key in state",
			    b->t->name);
			goto out;
		}
		rc = sqlite3_step(b->data);
		if (rc == SQLITE_ROW) {
			row_hash_stmt(b->data, 0, n, cur, curcol);
			if (b->trust) {
				/*
				 * A baseline the migration changed is no
				 * longer the one its incarnation began with.
				 */
				for (j = 0; j < n; j++)
					if (curcol[j] != ns.colhash[j])
						ns.colctx[j].base_row = 0;
				memcpy(ns.colhash, curcol, n * sizeof(*curcol));
				memcpy(ns.hash, cur, ROW_HASH_LEN);
			} else {
				/*
				 * Values that differ from what the DDL left
				 * are edits: a hash no row has makes the
				 * next scan compare the column hashes.
				 */
				for (same = 1, j = 0; j < n && same; j++)
					same = curcol[j] == ns.colhash[j];
				if (same)
					memcpy(ns.hash, cur, ROW_HASH_LEN);
				else
					memset(ns.hash, 0, ROW_HASH_LEN);
			}
		} else if (rc != SQLITE_DONE) {
			r = rp_dberr(b->rp, rc, err, b->t->name);
		}
		sqlite3_reset(b->data);
		sqlite3_clear_bindings(b->data);
		if (r != 0)
			goto out;
	}
	sqlite3_bind_value(b->put, 1, sr->pk);
	r = rp_state_put(b->rp, b->put, b->t->tid, sr->cl % 2 == 1 ? sr->hash :
	    NULL, &ns, err);
out:
	free(curcol);
	rowstate_release(&old);
	rowstate_release(&ns);
	return r;
}

/* Data rows without state (made by a migration): zero-stamped state. */
static int
fill_missing(struct rebase *b, char *err)
{
	struct replica_table *t = b->t;
	sqlite3_stmt *all = NULL, *probe = NULL;
	struct rowstate ns;
	struct strb sb;
	struct mval pk[64];
	uint32_t i;
	int rc, r = 0;

	memset(&ns, 0, sizeof(ns));
	strb_init(&sb);
	if (t->npk > 64) {
		r = mule_errf(err, MULE_ETOOLARGE, "table %s: key too wide",
		    t->name);
		goto out;
	}
	strb_add(&sb, "SELECT ");
	for (i = 0; i < t->npk; i++) {
		strb_add_ident(&sb, t->cols[t->pkcols[i]]);
		strb_add(&sb, ", ");
	}
	sql_cols(&sb, t);
	strb_add(&sb, " FROM ");
	strb_add_ident(&sb, t->name);
	if ((r = rp_prepare(b->rp, strb_str(&sb), &all, err)) != 0)
		goto out;
	if ((r = rp_state_prepare_get(b->rp, t->tid, 0, &probe, err)) != 0)
		goto out;
	if ((r = rowstate_alloc(&ns, t->ncols)) != 0) {
		r = mule_errf(err, r, "out of memory");
		goto out;
	}
	while ((rc = sqlite3_step(all)) == SQLITE_ROW) {
		for (i = 0; i < t->npk; i++)
			mval_from_stmt(&pk[i], all, (int)i);
		if ((r = rp_bind_statekey(probe, 1, t, pk)) != 0) {
			r = mule_errf(err, r, "table %s: bad key", t->name);
			goto out;
		}
		rc = sqlite3_step(probe);
		sqlite3_reset(probe);
		if (rc == SQLITE_ROW)
			continue;
		ns.cl = 1;
		row_hash_stmt(all, (int)t->npk, t->ncols, ns.hash, ns.colhash);
		if ((r = rp_bind_statekey(b->put, 1, t, pk)) != 0 ||
		    (r = rp_state_put(b->rp, b->put, t->tid, NULL, &ns, err)) !=
		    0)
			goto out;
		b->alive_delta++;
	}
	if (rc != SQLITE_DONE)
		r = rp_dberr(b->rp, rc, err, t->name);
out:
	rowstate_release(&ns);
	sqlite3_finalize(all);
	sqlite3_finalize(probe);
	strb_release(&sb);
	return r;
}

/*
 * Rewrites every state row of table t (live shape) from the column
 * layout `oldcols` to the table's: cells keep their stamps by column
 * name; cells of new columns get the zero stamp.  With `trust` the
 * column and row hashes are taken from the data (the migration's
 * effects are the new baseline, not changes) and rows without state get
 * zero-stamped state; otherwise (changes another program made before
 * they were recorded) values that differ from what the DDL would have
 * left are left for the next scan to find as edits.
 */
static int
remap_table(struct replica *rp, struct replica_table *t, char **oldcols,
    size_t nold, int trust, char *err)
{
	struct rebase b;
	struct srow rows[REBASE_BATCH];
	sqlite3_stmt *first = NULL, *next = NULL, *cur;
	struct strb sb;
	sqlite3_value *last = NULL;
	char sname[32];
	size_t i, k, nrows = 0;
	uint32_t j;
	int rc, r = MULE_EINTERNAL;

	memset(&b, 0, sizeof(b));
	strb_init(&sb);
	b.rp = rp;
	b.t = t;
	b.trust = trust;
	b.nold = (uint32_t)nold;
	if ((b.map = calloc(t->ncols + 1, sizeof(*b.map))) == NULL ||
	    (b.dflt = calloc(t->ncols + 1, sizeof(*b.dflt))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (j = 0; j < t->ncols; j++) {
		b.map[j] = -1;
		for (k = 0; k < nold; k++)
			if (strcasecmp(oldcols[k], t->cols[j]) == 0)
				b.map[j] = (int32_t)k;
		if (b.map[j] < 0 && !trust)
			b.dflt[j] = default_hash(rp, t->name, t->cols[j]);
	}
	/* Main alone is read, in batches; the rows written go to the
	 * overlay (replica/store/overlay.c), emptied first. */
	if ((r = rp_state_fold(rp, t->tid, err)) != 0)
		goto out;
	state_table(t->tid, sname);
	strb_addf(&sb, "SELECT pk, cl, hash, st FROM %s ORDER BY pk LIMIT %d",
	    sname, REBASE_BATCH);
	if ((r = rp_prepare(rp, strb_str(&sb), &first, err)) != 0)
		goto out;
	strb_reset(&sb);
	strb_addf(&sb, "SELECT pk, cl, hash, st FROM %s WHERE pk > ?1 ORDER "
	    "BY pk LIMIT %d", sname, REBASE_BATCH);
	if ((r = rp_prepare(rp, strb_str(&sb), &next, err)) != 0)
		goto out;
	if ((r = rp_prepare_state_put(rp, t->tid, &b.put, err)) != 0 ||
	    (r = rp_prepare_row_select(rp, t, &b.data, err)) != 0)
		goto out;
	cur = first;
	for (;;) {
		nrows = 0;
		if (last != NULL)
			sqlite3_bind_value(next, 1, last);
		while ((rc = sqlite3_step(cur)) == SQLITE_ROW) {
			struct srow *s = &rows[nrows];
			memset(s, 0, sizeof(*s));
			s->pk = sqlite3_value_dup(sqlite3_column_value(cur, 0));
			s->cl = sqlite3_column_int64(cur, 1);
			if (sqlite3_column_bytes(cur, 2) == ROW_HASH_LEN)
				memcpy(s->hash, sqlite3_column_blob(cur, 2),
				    ROW_HASH_LEN);
			s->stlen = (size_t)sqlite3_column_bytes(cur, 3);
			s->st = malloc(s->stlen + 1);
			nrows++;
			if (s->pk == NULL || s->st == NULL) {
				sqlite3_reset(cur);
				r = mule_errf(err, MULE_ENOMEM, "out of memory");
				goto out;
			}
			if (s->stlen > 0)
				memcpy(s->st, sqlite3_column_blob(cur, 3),
				    s->stlen);
		}
		sqlite3_reset(cur);
		if (rc != SQLITE_DONE) {
			r = rp_dberr(rp, rc, err, "read state");
			goto out;
		}
		for (i = 0; i < nrows; i++)
			if ((r = remap_row(&b, &rows[i], err)) != 0)
				goto out;
		if (nrows < REBASE_BATCH)
			break;
		sqlite3_value_free(last);
		last = rows[nrows - 1].pk;
		rows[nrows - 1].pk = NULL;
		srows_free(rows, nrows);
		nrows = 0;
		cur = next;
	}
	if (trust && (r = fill_missing(&b, err)) != 0)
		goto out;
	if ((r = rp_alive_add(rp, t->tid, b.alive_delta, err)) != 0)
		goto out;
	r = 0;
out:
	srows_free(rows, nrows);
	sqlite3_value_free(last);
	sqlite3_finalize(first);
	sqlite3_finalize(next);
	sqlite3_finalize(b.put);
	sqlite3_finalize(b.data);
	free(b.map);
	free(b.dflt);
	strb_release(&sb);
	return r;
}

/*
 * Brings table `name`'s state to its live layout.  A changed key means
 * other rows: the state starts over (untrack, track).  With `trust`
 * everything the data holds now is the baseline.
 */
static int
rebaseline(struct replica *rp, const char *name, int trust, char *err)
{
	struct replica_table *t = NULL;
	sqlite3_stmt *st = NULL;
	char *stored = NULL, *now = NULL, **old = NULL;
	size_t nold = 0;
	int64_t tid;
	int rc, r, intkey, already, intpk;

	if ((r = rp_prepare(rp, "SELECT tid, cols, intpk FROM _mule_tables "
	    "WHERE name = ?", &st, err)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? 0 : rp_dberr(rp, rc, err, name);
		goto out;
	}
	tid = sqlite3_column_int64(st, 0);
	intpk = sqlite3_column_int(st, 2);
	if ((stored = strdup((const char *)sqlite3_column_text(st, 1))) ==
	    NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((r = layout_now(rp, name, &now, err)) != 0 ||
	    (r = rp_table_get(rp, name, &t, err)) != 0)
		goto out;
	if (stored[0] == '\0') {
		/* Tracked before layouts were recorded: the state is live. */
		free(stored);
		if ((stored = strdup(now)) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		if ((r = layout_set(rp, tid, now, err)) != 0)
			goto out;
	}
	if (!trust && strcmp(stored, now) == 0) {
		r = 0;
		goto out;
	}
	if (intpk != t->intpk || !layout_same_key(rp, stored, now)) {
		if ((r = replica_untrack(rp, name, err)) != 0 ||
		    (r = replica_track(rp, name, &intkey, &already, err)) != 0)
			goto out;
		replica_table_free(t);
		t = NULL;
		if ((r = rp_table_get(rp, name, &t, err)) != 0)
			goto out;
		tid = t->tid;
		strv_free(old, nold);
		old = NULL;
		nold = 0;
		if (!trust) {
			r = layout_set(rp, tid, now, err);
			goto out;
		}
	} else if ((r = layout_cols(rp, stored, &old, &nold, err)) != 0) {
		goto out;
	}
	if ((r = remap_table(rp, t, old, nold, trust, err)) != 0 ||
	    (r = layout_set(rp, tid, now, err)) != 0)
		goto out;
	/* A table made by the migration has its baseline now. */
	if (trust) {
		if ((r = rp_prepare(rp, "UPDATE _mule_tables SET baseline = 0 "
		    "WHERE tid = ?", &st, err)) != 0)
			goto out;
		sqlite3_bind_int64(st, 1, tid);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
			r = rp_dberr(rp, rc, err, "update tracked tables");
			goto out;
		}
	}
	r = 0;
out:
	sqlite3_finalize(st);
	replica_table_free(t);
	strv_free(old, nold);
	free(stored);
	free(now);
	return r;
}

/* 1 when schema s has table o with the same definition. */
static int
table_same(const struct schema *s, const struct schema_obj *o)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].type, "table") == 0 &&
		    strcasecmp(s->v[i].name, o->name) == 0)
			return strcmp(s->v[i].norm, o->norm) == 0;
	return 0;
}

/*
 * Re-baselines the tracked tables: with `trust`, those whose definition
 * differs from `before` (all of them when `before` is NULL, after a
 * hand-written script that may have changed any data); else those whose
 * layout changed.
 */
int
rp_rebaseline_all(struct replica *rp, int trust, const struct schema *before,
    char *err)
{
	struct replica_table **tabs = NULL;
	struct schema now;
	size_t i, k, n = 0;
	int r, same;

	schema_init(&now);
	if ((r = replica_tables(rp, &tabs, &n, err)) != 0)
		return r;
	if (trust && before != NULL &&
	    (r = replica_schema_live(rp, &now, NULL, err)) != 0)
		goto out;
	for (i = 0; i < n && r == 0; i++) {
		same = 0;
		for (k = 0; trust && before != NULL && k < before->n; k++)
			if (strcmp(before->v[k].type, "table") == 0 &&
			    strcasecmp(before->v[k].name, tabs[i]->name) == 0)
				same = table_same(&now, &before->v[k]);
		if (!same)
			r = rebaseline(rp, tabs[i]->name, trust, err);
	}
out:
	schema_release(&now);
	replica_tables_free(tabs, n);
	return r;
}

int
rp_layouts_update(struct replica *rp, char *err)
{
	return rp_rebaseline_all(rp, 0, NULL, err);
}

