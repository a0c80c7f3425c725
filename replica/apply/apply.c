/*
 * replica/apply/apply.c — applying a bundle's row changes (DESIGN §7): the
 * SQL driver around the pure merge in merge.c.  For each incoming row it
 * reads the row's state and the local row, asks merge_row_existence how
 * the change meets the row and merge_cell about each cell, then writes the
 * winning cells, the new state, the journal entry and any conflict (a
 * local value overwritten or deleted by a writer that had not seen it,
 * told by the incoming cell's causal context; docs/state.md "Merging" and
 * "Conflicts").  The sender's ack vector plays no part in conflicts; it
 * only decides which rows leaving a set are kept (apply_left).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"
#include "replica/schema.h"

struct replica_apply {
	struct replica *rp;
	char peer[REPLICA_NAME_MAX + 1];
	uint8_t bundle_id[16];
	struct vector ack;
	uint8_t (*sites)[SITE_ID_LEN];
	size_t nsites;
	uint64_t maxl;
	struct replica_apply_stats st;
	int have_values;
	/* The current table. */
	struct replica_table *t;
	uint32_t nin;		/* incoming columns */
	uint32_t *map;		/* incoming column → local column */
	int full;		/* incoming columns cover every local one */
	sqlite3_stmt *get, *put, *sel, *del, *val, *jrn;
	sqlite3_stmt *wst[2];	/* cached INSERT / UPDATE ... RETURNING */
	uint8_t *wmask[2];	/* the columns each was built for */
	uint8_t *ispk;		/* per local column: part of the key */
	uint8_t *needed;	/* per local column: NOT NULL, no default */
	struct rp_store_shape shape;	/* how columns store what is bound */
	struct mval *rowv;	/* the written row, hashed from memory */
	int64_t alive_delta;
	/* Per local column, the current incoming row's cell: */
	uint8_t *inhas;		/* 1: the row carries it */
	uint8_t *inout;		/* 1: it carries it, outside the fence */
	const struct mval **inval;	/* its value (NULL in a deletion) */
	struct istamp *instamp;	/* its stamp */
	struct merge_ctx *inctx;	/* its context */
	struct mval *inres;	/* a by-reference value, resolved */
	uint8_t **resbuf;	/* the bytes of inres (heap) */
	uint8_t *win;		/* per local column: incoming value written */
	int leaving;		/* rows that left our set at the sender */
	struct rp_state_del sdel; /* forgets a row's state (rows leaving) */
	struct rp_fence fence;	/* what the sender may write in the table */
	int has_sender_schema;	/* replica_apply_sender_schema was called */
	uint32_t sender_schema;	/* the sender's schema version */
	struct vector *guard;	/* pruning horizon rows must be above */
	int remake;		/* the sender lacks the deletions: make again */
	/* The row's state as last read or written: alive, with was_hash
	 * (rp_state_put keeps the digest from it). */
	int was_alive;
	uint8_t was_hash[ROW_HASH_LEN];
};

static int apply_schema_hint(struct replica_apply *a, int r, char *err);

/* The row's state as read (found) or written: what rp_state_put replaces. */
static void
note_was(struct replica_apply *a, const struct rowstate *s, int found)
{
	a->was_alive = found && s->cl % 2 == 1;
	if (a->was_alive)
		memcpy(a->was_hash, s->hash, ROW_HASH_LEN);
}

/* Forgets the current incoming row's cells (contexts, resolved values). */
static void
in_clear(struct replica_apply *a)
{
	uint32_t j;

	for (j = 0; a->t != NULL && a->inctx != NULL && j < a->t->ncols; j++) {
		merge_ctx_release(&a->inctx[j]);
		free(a->resbuf[j]);
		a->resbuf[j] = NULL;
		a->inhas[j] = 0;
		a->inout[j] = 0;
		a->inval[j] = NULL;
		a->win[j] = 0;
	}
}

static void
apply_table_release(struct replica_apply *a)
{
	int k;

	rp_fence_release(&a->fence);
	for (k = 0; k < 2; k++) {
		sqlite3_finalize(a->wst[k]);
		free(a->wmask[k]);
		a->wst[k] = NULL;
		a->wmask[k] = NULL;
	}
	free(a->ispk);
	free(a->needed);
	free(a->shape.aff);
	free(a->shape.nonull);
	free(a->rowv);
	a->ispk = NULL;
	a->needed = NULL;
	a->shape.aff = a->shape.nonull = NULL;
	a->rowv = NULL;
	sqlite3_finalize(a->get);
	sqlite3_finalize(a->put);
	sqlite3_finalize(a->sel);
	sqlite3_finalize(a->del);
	sqlite3_finalize(a->jrn);
	rp_state_del_release(&a->sdel);
	a->get = a->put = a->sel = a->del = a->jrn = NULL;
	in_clear(a);
	free(a->map);
	free(a->inhas);
	free(a->inout);
	free(a->inval);
	free(a->instamp);
	free(a->inctx);
	free(a->inres);
	free(a->resbuf);
	free(a->win);
	a->map = NULL;
	a->inhas = NULL;
	a->inout = NULL;
	a->inval = NULL;
	a->instamp = NULL;
	a->inctx = NULL;
	a->inres = NULL;
	a->resbuf = NULL;
	a->win = NULL;
	replica_table_free(a->t);
	a->t = NULL;
}

static int
flush_alive(struct replica_apply *a, char *err)
{
	int r = 0;

	if (a->t != NULL && a->alive_delta != 0)
		r = rp_alive_add(a->rp, a->t->tid, a->alive_delta, err);
	a->alive_delta = 0;
	return r;
}

void
replica_apply_free(struct replica_apply *a)
{
	if (a == NULL)
		return;
	apply_table_release(a);
	sqlite3_finalize(a->val);
	vector_release(&a->ack);
	if (a->guard != NULL)
		vector_release(a->guard);
	free(a->guard);
	free(a->sites);
	free(a);
}

int
replica_apply_new(struct replica *rp, const char *peer,
    const uint8_t bundle_id[16], const struct vector *ack,
    struct replica_apply **out, char *err)
{
	struct replica_apply *a = NULL;
	int r = MULE_EINTERNAL;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	a->rp = rp;
	snprintf(a->peer, sizeof(a->peer), "%s", peer);
	memcpy(a->bundle_id, bundle_id, 16);
	vector_init(&a->ack);
	if (vector_copy(&a->ack, ack) != 0) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = rp_origins_load(rp, &a->sites, &a->nsites, err)) != 0)
		goto out;
	*out = a;
	a = NULL;
	r = 0;
out:
	replica_apply_free(a);
	return r;
}

/* Origin index of a site, adding it (and to our cache) when new. */
static int
origin_of(struct replica_apply *a, const uint8_t site[SITE_ID_LEN],
    int64_t *idx, char *err)
{
	size_t i;
	void *p;
	int r;

	for (i = 0; i < a->nsites; i++) {
		if (memcmp(a->sites[i], site, SITE_ID_LEN) == 0) {
			*idx = (int64_t)i;
			return 0;
		}
	}
	if ((r = rp_origin_idx(a->rp, site, idx, err)) != 0)
		return r;
	if ((size_t)*idx >= a->nsites) {
		if ((p = realloc(a->sites, ((size_t)*idx + 1) * SITE_ID_LEN)) ==
		    NULL)
			return mule_errf(err, MULE_ENOMEM, "out of memory");
		a->sites = p;
		memset(a->sites[a->nsites], 0,
		    ((size_t)*idx + 1 - a->nsites) * SITE_ID_LEN);
		a->nsites = (size_t)*idx + 1;
	}
	memcpy(a->sites[*idx], site, SITE_ID_LEN);
	return 0;
}

static int
to_istamp(struct replica_apply *a, const struct stamp *s, struct istamp *out,
    char *err)
{
	int r;

	if ((r = origin_of(a, s->origin, &out->origin, err)) != 0)
		return r;
	out->lamport = s->lamport;
	if (s->lamport > a->maxl)
		a->maxl = s->lamport;
	return 0;
}

/*
 * Had the sender seen local stamp s when it packed?  (s <= ack[origin])
 * Used only for rows leaving a set.
 */
static int
ack_covers(const struct replica_apply *a, const struct istamp *s)
{
	if (s->lamport == 0)
		return 1;	/* the zero stamp: nobody's edit */
	return s->lamport <= vector_get(&a->ack, a->sites[s->origin]);
}

int
replica_apply_value(struct replica_apply *a,
    const uint8_t hash[VALUE_REF_LEN], int type, const uint8_t *p, size_t n,
    char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (!a->have_values) {
		if ((r = rp_exec(a->rp, "CREATE TEMP TABLE IF NOT EXISTS "
		    "mule_values(hash BLOB PRIMARY KEY, type INTEGER, v BLOB)",
		    err)) != 0)
			return r;
		a->have_values = 1;
	}
	if ((r = rp_prepare(a->rp, "INSERT OR IGNORE INTO temp.mule_values("
	    "hash, type, v) VALUES (?, ?, ?)", &st, err)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, hash, VALUE_REF_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, type);
	sqlite3_bind_blob64(st, 3, n ? (const void *)p : "", n, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rp_dberr(a->rp, rc, err, "store large value");
	return 0;
}

/* Binds v, resolving a by-reference value from temp.mule_values. */
static int
bind_value(struct replica_apply *a, sqlite3_stmt *st, int i,
    const struct mval *v, char *err)
{
	int rc, r;

	if (v->type != MVAL_REF)
		return mval_bind(st, i, v) == SQLITE_OK ? 0 :
		    mule_errf(err, MULE_EDB, "bind value");
	if (!a->have_values)
		return mule_errf(err, MULE_EFORMAT, "bundle references a large "
		    "value it does not carry");
	if (a->val == NULL && (r = rp_prepare(a->rp, "SELECT v FROM "
	    "temp.mule_values WHERE hash = ?", &a->val, err)) != 0)
		return r;
	sqlite3_bind_blob(a->val, 1, v->p, VALUE_REF_LEN, SQLITE_STATIC);
	rc = sqlite3_step(a->val);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(a->val);
		return mule_errf(err, MULE_EFORMAT, "bundle references a large "
		    "value it does not carry");
	}
	if (v->reftype == MVAL_TEXT)
		rc = sqlite3_bind_text64(st, i, sqlite3_column_blob(a->val, 0),
		    (sqlite3_uint64)sqlite3_column_bytes(a->val, 0),
		    SQLITE_TRANSIENT, SQLITE_UTF8);
	else
		rc = sqlite3_bind_blob64(st, i, sqlite3_column_blob(a->val, 0),
		    (sqlite3_uint64)sqlite3_column_bytes(a->val, 0),
		    SQLITE_TRANSIENT);
	sqlite3_reset(a->val);
	return rc == SQLITE_OK ? 0 : mule_errf(err, MULE_ENOMEM,
	    "out of memory");
}

/*
 * The tracked table the bundle's rows are for.  A table this site has but
 * does not track is refused, naming the table and `mule track`: a peer
 * does not decide what this site tracks.  With the setting
 * tables.accept-new = yes, tables never tracked here are tracked on
 * arrival; one untracked by hand (untracked:NAME) never is.
 */
static int
ensure_tracked(struct replica_apply *a, const char *table, char *err)
{
	struct replica_table *t = NULL;
	char *accept = NULL, *untracked = NULL, key[300];
	int intkey, already, r;

	if (rp_table_get(a->rp, table, &a->t, NULL) == 0)
		return 0;
	if (rp_reserved_table(table) ||
	    replica_table_describe(a->rp, table, &t, NULL) != 0) {
		r = rp_reserved_table(table) ?
		    replica_track(a->rp, table, &intkey, &already, err) :
		    mule_errf(err, MULE_ESCHEMA, "the bundle has changes for "
		    "table '%s', which this database does not have; create "
		    "it with the sender's schema first", table);
		goto out;
	}
	snprintf(key, sizeof(key), "untracked:%s", table);
	if ((r = replica_config_get(a->rp, "tables.accept-new", &accept,
	    err)) != 0 ||
	    (r = replica_config_get(a->rp, key, &untracked, err)) != 0)
		goto out;
	if (accept == NULL || strcmp(accept, "yes") != 0 ||
	    untracked != NULL) {
		r = mule_errf(err, MULE_ESCHEMA, "the bundle from %s has "
		    "changes for table '%s', which this site does not track; "
		    "nothing was applied.  To take them: mule track %s, then "
		    "unpack again", a->peer, table, table);
		goto out;
	}
	if ((r = replica_track(a->rp, table, &intkey, &already, err)) == 0)
		r = rp_table_get(a->rp, table, &a->t, err);
out:
	replica_table_free(t);
	free(accept);
	free(untracked);
	return r;
}

/* The statements for the current table: state, journal, data row. */
/* The columns a new row cannot be written without (a->needed). */
static int
needed_columns(struct replica_apply *a, char *err)
{
	sqlite3_stmt *st = NULL;
	uint32_t j;
	int rc, r;

	if ((a->needed = calloc(a->t->ncols + 1, 1)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	if ((r = rp_prepare(a->rp, "SELECT name FROM pragma_table_info(?1) "
	    "WHERE \"notnull\" AND dflt_value IS NULL AND pk = 0", &st,
	    err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, a->t->name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (rp_col_index(a->t, (const char *)sqlite3_column_text(st,
		    0), &j))
			a->needed[j] = 1;
	r = rc == SQLITE_DONE ? 0 : rp_dberr(a->rp, rc, err, a->t->name);
	sqlite3_finalize(st);
	return r;
}

static int
table_prepare(struct replica_apply *a, char *err)
{
	const struct replica_table *t = a->t;
	struct strb sb;
	int r;

	strb_init(&sb);
	if ((r = rp_state_prepare_get(a->rp, t->tid, 0, &a->get, err)) != 0)
		goto out;
	if ((r = rp_prepare_state_put(a->rp, t->tid, &a->put, err)) != 0)
		goto out;
	if ((r = rp_prepare(a->rp, "INSERT OR IGNORE INTO _mule_journal(pk,"
	    " lamport, tid) VALUES (?1, ?2, ?3)", &a->jrn, err)) != 0)
		goto out;
	if ((r = rp_prepare_row_select(a->rp, t, &a->sel, err)) != 0)
		goto out;
	strb_reset(&sb);
	strb_add(&sb, "DELETE FROM ");
	strb_add_ident(&sb, t->name);
	strb_add(&sb, " WHERE ");
	sql_pk_where(&sb, t, 1);
	if ((r = rp_prepare(a->rp, strb_str(&sb), &a->del, err)) == 0 &&
	    (r = needed_columns(a, err)) == 0)
		r = rp_store_shape(a->rp, t, &a->shape, err);
out:
	strb_release(&sb);
	return r;
}

/*
 * What the sender may write in the table (replica/sets/fence.c): a table
 * not shared with it refuses the bundle; rows leaving such a table remove
 * nothing (a->leaving 2).
 */
static int
table_fence(struct replica_apply *a, const char *table, char *err)
{
	int r;

	if ((r = rp_fence_open(a->rp, a->peer, a->t, &a->fence, err)) != 0 ||
	    a->fence.shared)
		return r;
	if (a->leaving) {
		a->leaving = 2;	/* we share none of it: nothing to remove */
		return 0;
	}
	return mule_errf(err, MULE_EREFUSED, "the bundle from %s has changes "
	    "for table '%s', which this site does not share with %s, so %s "
	    "may not write it; nothing was applied.  To accept them: mule "
	    "share %s %s, then unpack again", a->peer, table, a->peer,
	    a->peer, a->peer, table);
}

int
replica_apply_table(struct replica_apply *a, const char *table,
    uint32_t ncols, const char *const *cols, uint32_t npk,
    const uint32_t *pkcols, char *err)
{
	struct replica_table *t;
	char *ltable = NULL, **lcols = NULL;
	uint32_t i, j, covered = 0;
	int r = MULE_EINTERNAL;

	if ((r = flush_alive(a, err)) != 0)
		goto out;
	apply_table_release(a);
	/* Sync sets: keys of rows that left our set, and mapped names. */
	a->leaving = strncmp(table, REPLICA_LEFT_PREFIX,
	    strlen(REPLICA_LEFT_PREFIX)) == 0;
	if (a->leaving)
		table += strlen(REPLICA_LEFT_PREFIX);
	if ((r = rp_map_names(a->rp, a->peer, table, ncols, cols, &ltable,
	    &lcols, err)) != 0)
		goto out;
	if (ltable != NULL) {
		table = ltable;
		cols = (const char *const *)lcols;
	}
	if (a->leaving) {
		if (rp_table_get(a->rp, table, &a->t, NULL) != 0) {
			a->leaving = 2;	/* not tracked here: nothing to remove */
			r = 0;
			goto out;
		}
	} else if ((r = ensure_tracked(a, table, err)) != 0) {
		goto out;
	}
	t = a->t;
	if ((r = table_fence(a, table, err)) != 0 || a->leaving == 2)
		goto out;
	a->nin = ncols;
	if ((a->map = calloc(ncols + 1, sizeof(*a->map))) == NULL ||
	    (a->inhas = calloc(t->ncols + 1, 1)) == NULL ||
	    (a->inout = calloc(t->ncols + 1, 1)) == NULL ||
	    (a->instamp = calloc(t->ncols + 1, sizeof(*a->instamp))) == NULL ||
	    (a->inctx = calloc(t->ncols + 1, sizeof(*a->inctx))) == NULL ||
	    (a->inres = calloc(t->ncols + 1, sizeof(*a->inres))) == NULL ||
	    (a->resbuf = calloc(t->ncols + 1, sizeof(*a->resbuf))) == NULL ||
	    (a->inval = calloc(t->ncols + 1, sizeof(*a->inval))) == NULL ||
	    (a->win = calloc(t->ncols + 1, 1)) == NULL ||
	    (a->ispk = calloc(t->ncols + 1, 1)) == NULL ||
	    (a->shape.aff = calloc(t->ncols + 1, 1)) == NULL ||
	    (a->shape.nonull = calloc(t->ncols + 1, 1)) == NULL ||
	    (a->rowv = calloc(t->ncols + 1, sizeof(*a->rowv))) == NULL ||
	    (a->wmask[0] = calloc(t->ncols + 1, 1)) == NULL ||
	    (a->wmask[1] = calloc(t->ncols + 1, 1)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < ncols; i++) {
		for (j = 0; j < t->ncols; j++)
			if (strcmp(cols[i], t->cols[j]) == 0)
				break;
		if (j == t->ncols) {
			r = mule_errf(err, MULE_ESCHEMA, "table '%s': the "
			    "bundle has column '%s', which this database "
			    "lacks; the schemas differ", table, cols[i]);
			goto out;
		}
		a->map[i] = j;
		covered++;
	}
	a->full = covered == t->ncols;
	for (i = 0; ltable != NULL && i < ncols; i++)
		if (a->map[i] != i)
			a->full = 0;	/* mapped: the sender hashed another order */
	for (i = 0; i < t->npk; i++)
		a->ispk[t->pkcols[i]] = 1;
	if (npk != t->npk) {
		r = mule_errf(err, MULE_ESCHEMA, "table '%s': the bundle's "
		    "primary key differs from this database's", table);
		goto out;
	}
	for (i = 0; i < npk; i++) {
		if (pkcols[i] >= ncols || a->map[pkcols[i]] != t->pkcols[i]) {
			r = mule_errf(err, MULE_ESCHEMA, "table '%s': the "
			    "bundle's primary key differs from this "
			    "database's", table);
			goto out;
		}
	}
	if ((r = table_prepare(a, err)) != 0)
		goto out;
	if (a->leaving && ncols != npk) {
		r = mule_errf(err, MULE_EFORMAT, "table '%s': rows that left "
		    "the set carry more than their key", table);
		goto out;
	}
	r = 0;
out:
	if (r == MULE_ESCHEMA)
		r = apply_schema_hint(a, r, err);
	free(ltable);
	strv_free(lcols, ncols);
	return r;
}

static void
bind_pk(struct replica_apply *a, sqlite3_stmt *st, int first,
    const struct rowchange *rc)
{
	uint32_t i;

	(void)a;
	for (i = 0; i < rc->npk; i++)
		mval_bind(st, first + (int)i, &rc->pk[i]);
}

enum { W_INSERT = 0, W_UPDATE = 1 };

/* What _mule_conflicts says (mule conflicts prints these as they are). */
#define COL_ROW "*"		/* the conflict is about the whole row */
#define WINNER_LOCAL "local"
#define WINNER_REMOTE "remote"
#define REMOTE_DELETED "(deleted)"

/* Builds INSERT (kind 0) or UPDATE (kind 1) for the columns in mask. */
static int
write_prepare(struct replica_apply *a, int kind, const uint8_t *mask,
    char *err)
{
	const struct replica_table *t = a->t;
	struct strb sb;
	uint32_t j, k = 0;
	int r;

	sqlite3_finalize(a->wst[kind]);
	a->wst[kind] = NULL;
	strb_init(&sb);
	if (kind == W_INSERT) {
		/*
		 * An upsert on the key, never OR REPLACE: a conflict on another
		 * UNIQUE index must fail, not delete some other row.
		 */
		strb_add(&sb, "INSERT INTO ");
		strb_add_ident(&sb, t->name);
		strb_add(&sb, "(");
		for (j = 0; j < t->ncols; j++) {
			if (!mask[j])
				continue;
			strb_add(&sb, k++ ? ", " : "");
			strb_add_ident(&sb, t->cols[j]);
		}
		strb_add(&sb, ") VALUES (");
		for (j = 0; j < k; j++)
			strb_addf(&sb, "%s?%u", j ? ", " : "", j + 1);
		strb_add(&sb, ") ON CONFLICT(");
		for (j = 0; j < t->npk; j++) {
			strb_add(&sb, j ? ", " : "");
			strb_add_ident(&sb, t->cols[t->pkcols[j]]);
		}
		strb_add(&sb, ") DO ");
		for (j = 0, k = 0; j < t->ncols; j++) {
			if (!mask[j] || a->ispk[j])
				continue;
			strb_add(&sb, k++ ? ", " : "UPDATE SET ");
			strb_add_ident(&sb, t->cols[j]);
			strb_add(&sb, " = excluded.");
			strb_add_ident(&sb, t->cols[j]);
		}
		if (k == 0)
			strb_add(&sb, "NOTHING");
	} else {
		strb_add(&sb, "UPDATE ");
		strb_add_ident(&sb, t->name);
		strb_add(&sb, " SET ");
		for (j = 0; j < t->ncols; j++) {
			if (!mask[j])
				continue;
			strb_add(&sb, k ? ", " : "");
			strb_add_ident(&sb, t->cols[j]);
			strb_addf(&sb, " = ?%u", ++k);
		}
		strb_add(&sb, " WHERE ");
		sql_pk_where(&sb, t, (int)k + 1);
	}
	if (strb_error(&sb))
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
	else
		r = rp_prepare(a->rp, strb_str(&sb), &a->wst[kind], err);
	strb_release(&sb);
	if (r == 0)
		memcpy(a->wmask[kind], mask, t->ncols);
	return r;
}

/* The value bound for column j: the row's key, or the incoming value. */
static const struct mval *
bound_value(const struct replica_apply *a, const struct rowchange *rc,
    uint32_t j)
{
	uint32_t p;

	if (!a->ispk[j])
		return &a->inres[j];
	/* A key column: always the row's key (read_incoming). */
	for (p = 0; p < a->t->npk && a->t->pkcols[p] != j; p++)
		;
	return &rc->pk[p];
}

/*
 * Hashes the row write_row is about to write into ns from the values it
 * binds (a->win, the key in an insert) and, for an update, the unwritten
 * columns of the local row, the current row of a->sel: 1 done, 0 when
 * some column may store another value than the one bound (an insert
 * leaving a column to its default, an affinity that converts, a trigger
 * of the application's), which write_row then reads back.
 */
static int
hash_bound(struct replica_apply *a, const struct rowchange *rc, int kind,
    struct rowstate *ns)
{
	const struct replica_table *t = a->t;
	const struct mval *v;
	uint32_t j;

	if (!a->shape.plain)
		return 0;
	for (j = 0; j < t->ncols; j++) {
		if (!a->win[j] && !(kind == W_INSERT && a->ispk[j])) {
			if (kind == W_INSERT)
				return 0;	/* its default */
			mval_from_stmt(&a->rowv[j], a->sel, (int)j);
			continue;
		}
		v = bound_value(a, rc, j);
		if (!rp_stored_as_bound(a->shape.aff[j], a->shape.nonull[j],
		    a->shape.utf8, v))
			return 0;
		a->rowv[j] = *v;
	}
	row_hash_vals(a->rowv, t->ncols, ns->hash, ns->colhash);
	return 1;
}

/*
 * Inserts the row (winning cells plus the key; other columns take their
 * defaults) or updates its winning cells; unless `hashed` (hash_bound
 * did), hashes the row as written into ns, read back.
 */
static int
write_row(struct replica_apply *a, const struct rowchange *rc, int kind,
    int hashed, struct rowstate *ns, char *err)
{
	const struct replica_table *t = a->t;
	sqlite3_stmt *st;
	uint32_t j, k = 0;
	int s, r;

	for (j = 0; j < t->ncols; j++)
		a->win[j] = a->win[j] || (kind == W_INSERT && a->ispk[j]);
	if (a->wst[kind] == NULL || memcmp(a->wmask[kind], a->win, t->ncols))
		if ((r = write_prepare(a, kind, a->win, err)) != 0)
			return r;
	st = a->wst[kind];
	for (j = 0; j < t->ncols; j++) {
		if (!a->win[j])
			continue;
		if ((r = bind_value(a, st, (int)++k, a->ispk[j] ?
		    bound_value(a, rc, j) : a->inval[j], err)) != 0)
			goto out;
	}
	if (kind == W_UPDATE)
		bind_pk(a, st, (int)k + 1, rc);
	s = sqlite3_step(st);
	if (s != SQLITE_DONE || hashed) {
		r = s == SQLITE_DONE ? 0 : rp_dberr(a->rp, s, err, t->name);
		goto out;
	}
	/*
	 * Hash the row as stored, read back: RETURNING would be cheaper but
	 * reports a REAL column's integral value as an INTEGER.
	 */
	bind_pk(a, a->sel, 1, rc);
	s = sqlite3_step(a->sel);
	if (s == SQLITE_ROW)
		row_hash_stmt(a->sel, 0, t->ncols, ns->hash, ns->colhash);
	r = s == SQLITE_ROW ? 0 : s == SQLITE_DONE ? mule_errf(err,
	    MULE_EINTERNAL, "table %s: the written row is missing", t->name) :
	    rp_dberr(a->rp, s, err, t->name);
	sqlite3_reset(a->sel);
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

/*
 * Records a conflict of `kind`: the local value (text for people, `lv`
 * the value itself, NULL for a whole row) and the remote one, with their
 * stamps and the winner (WINNER_LOCAL or WINNER_REMOTE).
 */
static int
log_conflict(struct replica_apply *a, const struct rowchange *rc,
    enum merge_conflict_kind kind, const char *col, const char *local,
    const struct mval *lv, const struct istamp *lst, const char *remote,
    const struct mval *rv, const struct istamp *rst, const char *winner,
    char *err)
{
	sqlite3_stmt *st = NULL;
	struct strb pk;
	uint8_t *key = NULL;
	size_t keylen;
	int s, r;

	strb_init(&pk);
	pk_text(&pk, rc->pk, rc->npk);
	if ((r = pk_encode(rc->pk, rc->npk, &key, &keylen)) != 0) {
		r = mule_errf(err, r, "out of memory");
		goto out;
	}
	if ((r = rp_prepare(a->rp, "INSERT INTO _mule_conflicts(tbl, pk, pkey,"
	    " col, local, local_v, local_lamport, local_origin, remote,"
	    " remote_v, remote_lamport, remote_origin, winner, bundle, kind)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st,
	    err)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, a->t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, strb_str(&pk), -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, key, (int)keylen, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, col, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, local, -1, SQLITE_STATIC);
	if (lv != NULL && (r = bind_value(a, st, 6, lv, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 7, (int64_t)lst->lamport);
	sqlite3_bind_blob(st, 8, a->sites[lst->origin], SITE_ID_LEN,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 9, remote, -1, SQLITE_STATIC);
	if (rv != NULL && (r = bind_value(a, st, 10, rv, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 11, (int64_t)rst->lamport);
	sqlite3_bind_blob(st, 12, a->sites[rst->origin], SITE_ID_LEN,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 13, winner, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 14, a->bundle_id, 16, SQLITE_STATIC);
	sqlite3_bind_int(st, 15, (int)kind);
	if ((s = sqlite3_step(st)) != SQLITE_DONE) {
		r = rp_dberr(a->rp, s, err, "record conflict");
		goto out;
	}
	a->st.conflicts++;
	r = 0;
out:
	sqlite3_finalize(st);
	strb_release(&pk);
	free(key);
	return r;
}

/* The local row as text "(a, 'b', NULL)" from a->sel's current row. */
static void
row_text(struct replica_apply *a, struct strb *sb)
{
	struct mval v;
	uint32_t j;

	strb_addc(sb, '(');
	for (j = 0; j < a->t->ncols; j++) {
		if (j > 0)
			strb_add(sb, ", ");
		mval_from_stmt(&v, a->sel, (int)j);
		mval_text(sb, &v);
	}
	strb_addc(sb, ')');
}

/*
 * Stores the row's state (ns->hash set by write_row, or zero for a
 * deleted row) and its journal entry.  With check_hash, the written row
 * must hash to what the sender had.
 */
static int
store_state(struct replica_apply *a, const struct rowchange *rc,
    struct rowstate *ns, int check_hash, char *err)
{
	struct strb pk;
	uint64_t lmax = ns->cl_st.lamport;
	uint32_t j;
	int r = 0;

	if (check_hash && memcmp(ns->hash, rc->hash, ROW_HASH_LEN) != 0) {
		strb_init(&pk);
		pk_text(&pk, rc->pk, rc->npk);
		r = mule_errf(err, MULE_EVERIFY, "table %s, key (%s): the row "
		    "differs from the sender's after applying (content hash "
		    "mismatch); the bundle or a schema is inconsistent",
		    a->t->name, strb_str(&pk));
		strb_release(&pk);
		return r;
	}
	if ((r = rp_bind_statekey(a->put, 1, a->t, rc->pk)) != 0)
		return mule_errf(err, r, "table %s: bad key", a->t->name);
	if ((r = rp_state_put(a->rp, a->put, a->t->tid, a->was_alive ?
	    a->was_hash : NULL, ns, err)) != 0)
		return r;
	note_was(a, ns, 1);
	/* Journal: relays find the row from its newest stamp. */
	for (j = 0; j < ns->ncols; j++)
		if (ns->colst[j].lamport > lmax)
			lmax = ns->colst[j].lamport;
	if ((r = rp_bind_statekey(a->jrn, 1, a->t, rc->pk)) != 0)
		return mule_errf(err, r, "table %s: bad key", a->t->name);
	return rp_journal_add(a->rp, a->jrn, lmax, a->t->tid, err);
}

/* Deletes the data row with rc's key. */
static int
delete_data_row(struct replica_apply *a, const struct rowchange *rc,
    char *err)
{
	int s;

	bind_pk(a, a->del, 1, rc);
	s = sqlite3_step(a->del);
	sqlite3_reset(a->del);
	return s == SQLITE_DONE ? 0 : rp_dberr(a->rp, s, err, a->t->name);
}

/*
 * A row that left the set the sender shares with us: it goes (data and
 * state, so that nothing of it propagates: no tombstone, no journal
 * entry) unless it is ours — created here, or holding an edit of ours
 * the sender had not seen when packing; then it stays, and an unseen
 * edit is logged as a conflict saying why.  Docs: docs/state.md.
 */
static int
apply_left(struct replica_apply *a, const struct rowchange *rc, char *err)
{
	struct replica_table *t = a->t;
	struct rowstate old;
	struct istamp zero;
	struct strb lv, sql;
	uint32_t j, mine = UINT32_MAX;
	int found, s, r = MULE_EINTERNAL;

	memset(&old, 0, sizeof(old));
	memset(&zero, 0, sizeof(zero));
	strb_init(&lv);
	strb_init(&sql);
	a->st.rows++;
	if ((r = rp_bind_statekey(a->get, 1, t, rc->pk)) != 0 ||
	    (r = rp_state_get(a->get, &old, &found)) != 0) {
		r = mule_errf(err, r == MULE_EDB ? MULE_EDB : MULE_EFORMAT,
		    "table %s: cannot read the row's state", t->name);
		goto out;
	}
	note_was(a, &old, found);
	if (!found || old.cl % 2 == 0 || old.cl_st.origin == a->rp->me) {
		a->st.ignored++;
		r = 0;
		goto out;
	}
	for (j = 0; j < old.ncols && j < t->ncols; j++)
		if (old.colst[j].origin == a->rp->me &&
		    !ack_covers(a, &old.colst[j]) && (mine == UINT32_MAX ||
		    old.colst[j].lamport > old.colst[mine].lamport))
			mine = j;
	bind_pk(a, a->sel, 1, rc);
	s = sqlite3_step(a->sel);
	if (s != SQLITE_ROW) {
		sqlite3_reset(a->sel);
		a->st.ignored++;
		r = s == SQLITE_DONE ? 0 : rp_dberr(a->rp, s, err, t->name);
		goto out;
	}
	if (mine != UINT32_MAX) {
		row_text(a, &lv);
		sqlite3_reset(a->sel);
		strb_addf(&sql, "(left the set %s shares with this site; kept: "
		    "edited here since)", a->peer);
		r = log_conflict(a, rc, MERGE_CONFLICT_LEFT_SET, COL_ROW,
		    strb_str(&lv), NULL, &old.colst[mine], strb_str(&sql), NULL,
		    &zero, WINNER_LOCAL, err);
		a->st.ignored++;
		goto out;
	}
	sqlite3_reset(a->sel);
	if ((r = delete_data_row(a, rc, err)) != 0)
		goto out;
	if ((a->sdel.main == NULL && (r = rp_state_del_prepare(a->rp, t->tid,
	    &a->sdel, err)) != 0) ||
	    (r = rp_state_del_key(a->rp, &a->sdel, t, rc->pk, err)) != 0)
		goto out;
	a->alive_delta--;
	a->st.left++;
	r = 0;
out:
	strb_release(&lv);
	strb_release(&sql);
	rowstate_release(&old);
	return r;
}

/*
 * Incoming value j resolved into a->inres[j]: a by-reference value gets
 * its bytes (from temp.mule_values, copied to a->resbuf[j]) so that it
 * compares and hashes like the local value; any other is itself.
 */
static int
resolve_ref(struct replica_apply *a, uint32_t j, char *err)
{
	const struct mval *v = a->inval[j];
	int rc, r;

	a->inres[j] = *v;
	if (v->type != MVAL_REF || !a->have_values)
		return 0;
	if (a->val == NULL && (r = rp_prepare(a->rp, "SELECT v FROM "
	    "temp.mule_values WHERE hash = ?", &a->val, err)) != 0)
		return r;
	sqlite3_bind_blob(a->val, 1, v->p, VALUE_REF_LEN, SQLITE_STATIC);
	rc = sqlite3_step(a->val);
	if (rc == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(a->val, 0);

		if ((a->resbuf[j] = malloc(n ? n : 1)) == NULL) {
			sqlite3_reset(a->val);
			return mule_errf(err, MULE_ENOMEM, "out of memory");
		}
		if (n > 0)
			memcpy(a->resbuf[j], sqlite3_column_blob(a->val, 0), n);
		a->inres[j].type = v->reftype;
		a->inres[j].reftype = 0;
		a->inres[j].p = a->resbuf[j];
		a->inres[j].n = n;
	}
	sqlite3_reset(a->val);
	return 0;
}

/* A cell of key column j holds the row's key value (type and bytes). */
static int
key_cell_ok(const struct replica_apply *a, const struct rowchange *rc,
    uint32_t j, const struct mval *v)
{
	uint32_t p;

	for (p = 0; p < a->t->npk && a->t->pkcols[p] != j; p++)
		;
	return p < rc->npk && mval_equal(v, &rc->pk[p]);
}

/*
 * Reads the incoming row's cells into the per-column arrays (local column
 * order): which columns it carries, their values, stamps and contexts.
 */
static int
read_incoming(struct replica_apply *a, const struct rowchange *rc, char *err)
{
	const struct cell *c;
	struct istamp e;
	uint32_t i, j, k;
	int r;

	in_clear(a);
	for (i = 0; i < rc->ncells; i++) {
		c = &rc->cells[i];
		if (c->col >= a->nin)
			return mule_errf(err, MULE_EFORMAT, "cell column out "
			    "of range");
		j = a->map[c->col];
		a->inval[j] = rc->cl % 2 == 1 ? &c->v : NULL;
		if (a->inval[j] != NULL && a->ispk[j] &&
		    !key_cell_ok(a, rc, j, &c->v))
			return mule_errf(err, MULE_EFORMAT, "table %s: a row's "
			    "cell for key column %s differs from its key",
			    a->t->name, a->t->cols[j]);
		if ((r = to_istamp(a, &c->st, &a->instamp[j], err)) != 0 ||
		    (a->inval[j] != NULL && (r = resolve_ref(a, j, err)) != 0))
			return r;
		if (!rp_fence_col(&a->fence, j)) {
			/* A column we keep from the sender: never written. */
			a->inout[j] = a->inval[j] != NULL;
			continue;
		}
		a->inhas[j] = 1;
		/* CELL_BASE_ROW: base_row without a base, see resolve_bases. */
		a->inctx[j].has_base = c->has_base == CELL_BASE_HASH ||
		    c->has_base == CELL_BASE_SELF;
		a->inctx[j].base_row = c->has_base == CELL_BASE_SELF ||
		    c->has_base == CELL_BASE_ROW;
		a->inctx[j].base = c->has_base == CELL_BASE_SELF ?
		    val_hash(&a->inres[j]) : c->base;
		for (k = 0; k < c->nctx; k++) {
			struct stamp s;

			s.lamport = c->ctx[k].counter;
			memcpy(s.origin, c->ctx[k].origin, SITE_ID_LEN);
			if ((r = to_istamp(a, &s, &e, err)) != 0)
				return r;
			if (merge_ctx_raise(&a->inctx[j], e.origin,
			    e.lamport) != 0)
				return mule_errf(err, MULE_ENOMEM, "out of "
				    "memory");
		}
	}
	return 0;
}

/*
 * Incoming cells whose base is the original baseline of the incarnation
 * their row names (CELL_BASE_ROW; `named`: the row's existence stamp, or
 * the incarnation a deletion deleted, NULL when it names none): where we
 * hold that incarnation, our cell's base (a baseline, or an edit from it)
 * is that baseline.  Where we hold the row from our own first scan under
 * another stamp (a copy initialized separately) and our cell is still
 * that baseline, it is the same one: the sender claims a row base for
 * such a row only once the table's digests agreed with us (changes.c,
 * claims), and a cell unedited here then held the sender's value, itself
 * unedited since (our row must be one the sender knew of: a table tracked
 * again since is not).  Else the base is unknown here, and a baseline it
 * overwrites is logged.
 */
static void
resolve_bases(struct replica_apply *a, const struct rowchange *rc,
    const struct istamp *named, const struct rowstate *old)
{
	const struct merge_ctx *l;
	uint32_t j;
	int same = named != NULL && old->cl % 2 == 1 &&
	    old->cl == rc->cl - (rc->cl % 2 == 0) &&
	    old->cl_st.lamport == named->lamport &&
	    old->cl_st.origin == named->origin;
	/* Our own first scan's row, which the sender knew of. */
	int own = old->cl % 2 == 1 && old->cl_st.origin == a->rp->me &&
	    ack_covers(a, &old->cl_st);

	for (j = 0; j < a->t->ncols; j++) {
		if (!a->inhas[j] || a->inctx[j].has_base ||
		    !a->inctx[j].base_row)
			continue;
		l = j < old->ncols ? &old->colctx[j] : NULL;
		if (l != NULL && l->has_base && l->base_row && (same ||
		    (own && old->colst[j].lamport == 0))) {
			a->inctx[j].has_base = 1;
			a->inctx[j].base = l->base;
		} else {
			a->inctx[j].base_row = 0;
		}
	}
}

/* The new state starts as a copy of the old one (ncols of the table). */
static int
state_copy(const struct rowstate *old, struct rowstate *ns, uint32_t ncols)
{
	uint32_t j;
	int r;

	if ((r = rowstate_alloc(ns, ncols)) != 0)
		return r;
	ns->cl = old->cl;
	ns->cl_st = old->cl_st;
	ns->gone = old->gone;
	ns->has_gone = old->has_gone;
	memcpy(ns->hash, old->hash, ROW_HASH_LEN);
	for (j = 0; j < ncols && j < old->ncols; j++) {
		ns->colhash[j] = old->colhash[j];
		ns->colst[j] = old->colst[j];
		if ((r = merge_ctx_copy(&ns->colctx[j], &old->colctx[j])) != 0)
			return r;
	}
	return 0;
}

/* Sets column j's state to stamp st and a copy of ctx (NULL: empty). */
static int
state_set(struct rowstate *ns, uint32_t j, const struct istamp *st,
    const struct merge_ctx *ctx)
{
	merge_ctx_release(&ns->colctx[j]);
	ns->colst[j] = *st;
	return merge_ctx_copy(&ns->colctx[j], ctx);
}

/* The local cell j of the row a->sel is positioned on, with its state. */
static void
local_cell(struct replica_apply *a, const struct rowstate *old, uint32_t j,
    struct mval *v, struct merge_cell_in *in)
{
	static const struct istamp zero;

	mval_from_stmt(v, a->sel, (int)j);
	memset(in, 0, sizeof(*in));
	in->v = v;
	in->hash = j < old->ncols ? old->colhash[j] : val_hash(v);
	in->st = j < old->ncols ? old->colst[j] : zero;
	in->ctx = j < old->ncols ? &old->colctx[j] : NULL;
}

/* Logs local value v of column j, overwritten by the incoming one. */
static int
log_cell(struct replica_apply *a, const struct rowchange *rc, uint32_t j,
    const struct merge_cell_in *local, enum merge_conflict_kind kind,
    char *err)
{
	struct strb lv, rv;
	int r;

	strb_init(&lv);
	strb_init(&rv);
	mval_text(&lv, local->v);
	mval_text(&rv, a->inval[j]);
	r = log_conflict(a, rc, kind, a->t->cols[j], strb_str(&lv), local->v,
	    &local->st, strb_str(&rv), a->inval[j], &a->instamp[j],
	    WINNER_REMOTE, err);
	strb_release(&lv);
	strb_release(&rv);
	return r;
}

/*
 * Logs local value `local` of column j, whose incarnation a re-creation
 * (existence stamp clst) replaced without bringing that column's value.
 */
static int
log_absent(struct replica_apply *a, const struct rowchange *rc, uint32_t j,
    const struct merge_cell_in *local, const struct istamp *clst, char *err)
{
	struct strb lv;
	int r;

	strb_init(&lv);
	mval_text(&lv, local->v);
	r = log_conflict(a, rc, MERGE_CONFLICT_LOST_TO_DELETION,
	    a->t->cols[j], strb_str(&lv), local->v, &local->st,
	    REMOTE_DELETED, NULL, clst, WINNER_REMOTE, err);
	strb_release(&lv);
	return r;
}

/*
 * Merges each incoming cell with the local row (a->sel positioned on
 * it): marks the winners in a->win (*nwin of them), moves the state, logs
 * the local values lost; *moved is 1 when some cell's state changed.  A
 * column the row carries no cell for goes through merge_cell_absent.
 */
static int
merge_cells(struct replica_apply *a, const struct rowchange *rc,
    const struct rowstate *old, const struct merge_row_out *row,
    struct rowstate *ns, uint32_t *nwin, int *moved, char *err)
{
	struct merge_cell_in lin, iin;
	struct merge_cell_out out;
	struct mval v;
	uint32_t j;
	int r = 0;

	for (j = 0; j < a->t->ncols && r == 0; j++) {
		if (!rp_fence_col(&a->fence, j))
			continue;	/* the sender's changes never reach it */
		local_cell(a, old, j, &v, &lin);
		memset(&iin, 0, sizeof(iin));
		iin.v = &a->inres[j];
		iin.st = a->instamp[j];
		iin.ctx = &a->inctx[j];
		if ((r = a->inhas[j] ? merge_cell(&lin, &iin, row,
		    (const void *)a->sites, &out) : merge_cell_absent(&lin, row,
		    &out)) != 0) {
			r = mule_errf(err, r, "out of memory");
			break;
		}
		if (out.state_changed) {
			merge_ctx_release(&ns->colctx[j]);
			ns->colst[j] = out.st;
			ns->colctx[j] = out.ctx;
			memset(&out.ctx, 0, sizeof(out.ctx));
			*moved = 1;
		}
		merge_ctx_release(&out.ctx);
		if (out.decision == MERGE_TAKE) {
			a->win[j] = 1;
			(*nwin)++;
		}
		if (out.conflict != MERGE_CONFLICT_NONE && a->inhas[j])
			r = log_cell(a, rc, j, &lin, out.conflict, err);
		else if (out.conflict != MERGE_CONFLICT_NONE)
			r = log_absent(a, rc, j, &lin, &ns->cl_st, err);
	}
	return r;
}

/*
 * An incoming alive row meeting ours (the same incarnation, a colliding
 * insert, or a re-creation): cells merge, winners are written.
 */
static int
apply_cells(struct replica_apply *a, const struct rowchange *rc,
    const struct rowstate *old, const struct merge_row_out *row,
    struct rowstate *ns, char *err)
{
	uint32_t nwin = 0;
	int s, r, moved = row->changed, check, hashed = 0;

	bind_pk(a, a->sel, 1, rc);
	s = sqlite3_step(a->sel);
	if (s != SQLITE_ROW) {
		sqlite3_reset(a->sel);
		return s == SQLITE_DONE ? mule_errf(err, MULE_EDB, "table %s: "
		    "a row in the state is missing from the table",
		    a->t->name) : rp_dberr(a->rp, s, err, a->t->name);
	}
	r = merge_cells(a, rc, old, row, ns, &nwin, &moved, err);
	if (r == 0 && nwin != 0)
		hashed = hash_bound(a, rc, W_UPDATE, ns);
	sqlite3_reset(a->sel);
	if (r != 0)
		return r;
	if (nwin == 0) {
		a->st.ignored++;
		return moved ? store_state(a, rc, ns, 0, err) : 0;
	}
	check = a->full && nwin == rc->ncells && rc->ncells == a->t->ncols;
	if ((r = write_row(a, rc, W_UPDATE, hashed, ns, err)) != 0)
		return r;
	a->st.updated++;
	return store_state(a, rc, ns, check, err);
}

/* An incoming alive row where ours is not alive: insert its cells. */
static int
apply_insert(struct replica_apply *a, const struct rowchange *rc,
    struct rowstate *ns, char *err)
{
	static const struct istamp zero;
	uint32_t j, nwin = 0;
	int r;

	for (j = 0; j < a->t->ncols; j++) {
		a->win[j] = a->inhas[j];
		nwin += a->inhas[j];
		r = a->inhas[j] ? state_set(ns, j, &a->instamp[j],
		    &a->inctx[j]) : state_set(ns, j, &zero, NULL);
		if (r != 0)
			return mule_errf(err, r, "out of memory");
	}
	if ((r = write_row(a, rc, W_INSERT, hash_bound(a, rc, W_INSERT, ns),
	    ns, err)) != 0)
		return r;
	a->alive_delta++;
	a->st.inserted++;
	return store_state(a, rc, ns, a->full && nwin == rc->ncells &&
	    rc->ncells == a->t->ncols, err);
}

/*
 * The tombstone of an incoming deletion: per column what the deletion
 * knew (its own knowledge, never joined with what lost here; nothing for
 * a column it sent no cell for).
 */
static int
tombstone_set(struct replica_apply *a, const struct istamp *gone,
    struct rowstate *ns)
{
	static const struct istamp zero;
	uint32_t j;
	int r = 0;

	memset(ns->hash, 0, ROW_HASH_LEN);
	ns->has_gone = gone != NULL;
	ns->gone = gone != NULL ? *gone : zero;
	for (j = 0; j < a->t->ncols && r == 0; j++)
		r = state_set(ns, j, &zero, a->inhas[j] ? &a->inctx[j] : NULL);
	return r;
}

/*
 * An incoming deletion of a row alive here: the first local value the
 * deleter had not seen makes the whole row a conflict; the row goes.
 * `gone`: the incarnation the deletion names (NULL: none).
 */
static int
apply_delete(struct replica_apply *a, const struct rowchange *rc,
    const struct rowstate *old, const struct istamp *clst,
    const struct istamp *gone, struct rowstate *ns, char *err)
{
	struct merge_cell_in lin;
	struct strb lv;
	struct mval v;
	uint32_t j;
	int s, r = 0;

	strb_init(&lv);
	bind_pk(a, a->sel, 1, rc);
	s = sqlite3_step(a->sel);
	for (j = 0; s == SQLITE_ROW && j < a->t->ncols; j++) {
		local_cell(a, old, j, &v, &lin);
		if (merge_delete_loses(&lin, &a->inctx[j]))
			break;
	}
	if (s == SQLITE_ROW && j < a->t->ncols) {
		row_text(a, &lv);
		r = log_conflict(a, rc, MERGE_CONFLICT_LOST_TO_DELETION,
		    COL_ROW, strb_str(&lv), NULL, &lin.st, REMOTE_DELETED, NULL,
		    clst, WINNER_REMOTE, err);
	}
	sqlite3_reset(a->sel);
	strb_release(&lv);
	if (r != 0 || (r = delete_data_row(a, rc, err)) != 0)
		return r;
	a->alive_delta--;
	a->st.deleted++;
	if ((r = tombstone_set(a, gone, ns)) != 0)
		return mule_errf(err, r, "out of memory");
	return store_state(a, rc, ns, 0, err);
}

/*
 * The same deletion on both sides: the tombstone keeps, per column, the
 * lesser knowledge of the two, so that a value either deleter had not
 * seen is logged wherever it is held.
 */
static int
apply_both_deleted(struct replica_apply *a, const struct rowchange *rc,
    const struct merge_row_out *row, const struct istamp *gone,
    struct rowstate *ns, char *err)
{
	struct merge_ctx m;
	uint32_t j;
	int moved = row->changed, r;

	if (ns->has_gone && (gone == NULL || gone->lamport !=
	    ns->gone.lamport || gone->origin != ns->gone.origin)) {
		ns->has_gone = 0;	/* two deletions of two incarnations */
		moved = 1;
	}
	for (j = 0; j < a->t->ncols; j++) {
		if ((r = merge_ctx_min(&ns->colctx[j], &a->inctx[j], &m)) != 0)
			return mule_errf(err, r, "out of memory");
		if (m.n != ns->colctx[j].n || m.has_base !=
		    ns->colctx[j].has_base || m.base != ns->colctx[j].base ||
		    (m.n > 0 && memcmp(m.e, ns->colctx[j].e, m.n *
		    sizeof(*m.e)) != 0))
			moved = 1;
		merge_ctx_release(&ns->colctx[j]);
		ns->colctx[j] = m;
	}
	a->st.ignored++;
	return moved ? store_state(a, rc, ns, 0, err) : 0;
}

#define REMOTE_OUTSIDE "(outside the set shared with the sender)"

/*
 * The fence for one row change (docs/decisions.md "What a peer may
 * write"): cells of columns we keep from the sender are counted, never
 * written; a row alive here that the sender may not write (outside the
 * filter of the set we share with it, and not one it holds) is logged
 * whole and *refused set.
 */
static int
fence_check(struct replica_apply *a, const struct rowchange *rc,
    const struct rowstate *old, const struct istamp *clst, int *refused,
    char *err)
{
	uint32_t j;
	int ok = 1, r = 0;

	*refused = 0;
	if (old->cl % 2 == 1 &&
	    (r = rp_fence_row(a->rp, &a->fence, rc->pk, &ok, err)) != 0)
		return r;
	if (!ok) {
		*refused = 1;
		a->st.refused++;
		return log_conflict(a, rc, MERGE_CONFLICT_OUTSIDE_SET, COL_ROW,
		    "(kept)", NULL, &old->cl_st, rc->cl % 2 == 1 ?
		    REMOTE_OUTSIDE : REMOTE_DELETED, NULL, clst, WINNER_LOCAL,
		    err);
	}
	/*
	 * A column we keep from the sender: its value is its own, not ours
	 * (it may not know our mask), so it is counted, not logged.
	 */
	for (j = 0; j < a->t->ncols; j++)
		a->st.kept += a->inout[j];
	return r;
}

/*
 * A row new here in a table whose set has a filter was written inside
 * savepoint mule_fence: kept when the sender may write it, else undone
 * (the data, its state and the counts) and logged.
 */
static int
fence_new_row(struct replica_apply *a, const struct rowchange *rc,
    const struct replica_apply_stats *st0, int64_t alive0,
    const struct istamp *clst, char *err)
{
	static const struct istamp zero;
	int ok = 0, r;

	if ((r = rp_fence_row(a->rp, &a->fence, rc->pk, &ok, err)) != 0)
		return r;
	if (ok)
		return rp_exec(a->rp, "RELEASE mule_fence", err);
	if ((r = rp_exec(a->rp, "ROLLBACK TO mule_fence", err)) != 0 ||
	    (r = rp_exec(a->rp, "RELEASE mule_fence", err)) != 0)
		return r;
	rp_digest_discard(a->rp);	/* flushed at the SAVEPOINT */
	a->st = *st0;
	a->alive_delta = alive0;
	a->st.refused++;
	return log_conflict(a, rc, MERGE_CONFLICT_OUTSIDE_SET, COL_ROW,
	    "(none)", NULL, &zero, REMOTE_OUTSIDE, NULL, clst, WINNER_LOCAL,
	    err);
}

/* Reads the row's state into *old (allocated empty when there is none). */
static int
read_state(struct replica_apply *a, const struct rowchange *rc,
    struct rowstate *old, char *err)
{
	int found, r;

	if ((r = rp_bind_statekey(a->get, 1, a->t, rc->pk)) != 0 ||
	    (r = rp_state_get(a->get, old, &found)) != 0)
		return mule_errf(err, r == MULE_EDB ? MULE_EDB : MULE_EFORMAT,
		    "table %s: cannot read the row's state", a->t->name);
	note_was(a, old, found);
	if (!found && (r = rowstate_alloc(old, a->t->ncols)) != 0)
		return mule_errf(err, r, "out of memory");
	return 0;
}

/*
 * An edit of a row this site never held (the sender thought we had it: a
 * baseline that stays home, a bundle not applied yet or lost): the cells
 * are written as they come (the rest of the row merges in whenever it
 * arrives, in any order), and the row is also asked for whole in our next
 * bundle to the sender (reconciliation of that one key,
 * replica/store/digest.c).
 */
static int
ask_row(struct replica_apply *a, const struct rowchange *rc, char *err)
{
	struct mval lo, hi;
	uint8_t *key = NULL, *next = NULL;
	size_t n = 0;
	int r;

	memset(&lo, 0, sizeof(lo));
	memset(&hi, 0, sizeof(hi));
	if (a->t->intpk) {
		lo = rc->pk[0];
		if (lo.i < INT64_MAX) {
			hi.type = MVAL_INT;
			hi.i = lo.i + 1;
		}
	} else {
		if (pk_encode(rc->pk, rc->npk, &key, &n) != 0 ||
		    (next = malloc(n + 1)) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		/* The least key above it: the same bytes and a zero byte. */
		memcpy(next, key, n);
		next[n] = 0;
		lo.type = hi.type = MVAL_BLOB;
		lo.p = key;
		lo.n = n;
		hi.p = next;
		hi.n = n + 1;
	}
	if ((r = replica_recon_add(a->rp, a->peer, a->t->tid, RECON_EXCHANGE,
	    &lo, &hi, err)) == 0)
		a->st.asked++;
out:
	free(key);
	free(next);
	return r;
}

/*
 * May the incoming cells be written as a new row alone?  Not when the
 * table has a NOT NULL column without a default they lack: then the
 * fragment waits for the whole row, which ask_row asked for.
 */
static int
fragment_fits(const struct replica_apply *a)
{
	uint32_t j;

	for (j = 0; j < a->t->ncols; j++)
		if (a->needed[j] && !a->inhas[j])
			return 0;
	return 1;
}

/*
 * An older incarnation of a row deleted here whose tombstone was pruned
 * (replica/prune/prune.c): the deletion wins as the tombstone would have
 * made it win.  When the sender lacks the deletion (restored, added
 * again), it is made again (a fresh stamp of ours, no knowledge) as news
 * that reaches the sender, which still holds the row, and every site that
 * does; the incoming cells written after the horizon are logged here too,
 * since their writer may be a site that never learns of it.
 */
static int
apply_forgotten(struct replica_apply *a, const struct rowchange *rc,
    const struct istamp *named, char *err)
{
	static const struct istamp zero;
	const struct istamp *s;
	struct rowstate ns;
	struct strb rv;
	uint32_t j;
	int r = 0;

	memset(&ns, 0, sizeof(ns));
	strb_init(&rv);
	a->st.forgotten++;
	if (!a->remake)
		goto out;	/* a late bundle: its sender had the deletion */
	for (j = 0; j < a->t->ncols && r == 0; j++) {
		s = &a->instamp[j];
		if (!a->inhas[j] || a->inval[j] == NULL || s->lamport == 0 ||
		    s->lamport <= vector_get(a->guard, a->sites[s->origin]))
			continue;
		strb_reset(&rv);
		mval_text(&rv, a->inval[j]);
		r = log_conflict(a, rc, MERGE_CONFLICT_LOST_TO_DELETION,
		    a->t->cols[j], REMOTE_DELETED, NULL, &zero, strb_str(&rv),
		    a->inval[j], s, WINNER_LOCAL, err);
	}
	if (r != 0)
		goto out;
	if (rowstate_alloc(&ns, a->t->ncols) != 0) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = rp_prune_stamp(a->rp, &ns.cl_st, err)) != 0)
		goto out;
	ns.cl = rc->cl + 1;
	ns.has_gone = 1;
	ns.gone = *named;
	r = store_state(a, rc, &ns, 0, err);
out:
	strb_release(&rv);
	rowstate_release(&ns);
	return r;
}

int
replica_apply_row(struct replica_apply *a, const struct rowchange *rc,
    char *err)
{
	struct rowstate old, ns;
	struct merge_row_in lrow, irow;
	struct merge_row_out row;
	struct replica_apply_stats st0;
	struct istamp gone, *named;
	int64_t alive0;
	int r = MULE_EINTERNAL, refused, fenced;

	memset(&old, 0, sizeof(old));
	memset(&ns, 0, sizeof(ns));
	if (a->leaving == 2) {
		a->st.ignored++;
		r = 0;
		goto out;
	}
	if (a->t == NULL || rc->npk != a->t->npk) {
		r = mule_errf(err, MULE_EFORMAT, "row without its table");
		goto out;
	}
	if (a->leaving) {
		r = apply_left(a, rc, err);
		goto out;
	}
	a->st.rows++;
	if (rc->cl % 2 == 1)
		a->st.cells += rc->ncells;
	if ((r = read_incoming(a, rc, err)) != 0 ||
	    (r = to_istamp(a, &rc->cl_stamp, &irow.cl_st, err)) != 0 ||
	    (rc->has_gone && (r = to_istamp(a, &rc->gone, &gone, err)) != 0) ||
	    (r = read_state(a, rc, &old, err)) != 0)
		goto out;
	/* The incarnation the row's cells refer to (a deletion: it names). */
	named = rc->cl % 2 == 1 ? &irow.cl_st : rc->has_gone ? &gone : NULL;
	/* A row deleted here whose tombstone is gone stays deleted. */
	if (a->guard != NULL && old.cl == 0 && rc->cl % 2 == 1 &&
	    rp_prune_forgotten(a->guard, &rc->cl_stamp)) {
		r = apply_forgotten(a, rc, named, err);
		goto out;
	}
	if ((r = fence_check(a, rc, &old, &irow.cl_st, &refused, err)) != 0 ||
	    refused)
		goto out;
	if (rc->cl % 2 == 1 && old.cl == 0 && rc->ncells < a->nin) {
		if ((r = ask_row(a, rc, err)) != 0 || !fragment_fits(a))
			goto out;	/* it waits for the whole row */
	}
	/* A new row in a filtered set: written, then judged (see above). */
	fenced = a->fence.filt != NULL && old.cl % 2 == 0 && rc->cl % 2 == 1;
	st0 = a->st;
	alive0 = a->alive_delta;
	if (fenced && ((r = rp_digest_flush(a->rp, err)) != 0 ||
	    (r = rp_exec(a->rp, "SAVEPOINT mule_fence", err)) != 0))
		goto out;
	resolve_bases(a, rc, named, &old);
	irow.cl = rc->cl;
	lrow.cl = old.cl;
	lrow.cl_st = old.cl_st;
	merge_row_existence(&lrow, &irow, (const void *)a->sites, &row);
	if ((r = state_copy(&old, &ns, a->t->ncols)) != 0) {
		r = mule_errf(err, r, "out of memory");
		goto out;
	}
	ns.cl = row.cl;
	ns.cl_st = row.cl_st;
	switch (row.c) {
	case MERGE_ROW_OLDER:
		a->st.ignored++;
		r = 0;
		break;
	case MERGE_ROW_BOTH_DELETED:
		r = apply_both_deleted(a, rc, &row, named, &ns, err);
		break;
	case MERGE_ROW_DELETE:
		r = apply_delete(a, rc, &old, &irow.cl_st, named, &ns, err);
		break;
	case MERGE_ROW_TOMBSTONE:
		r = tombstone_set(a, named, &ns);
		r = r != 0 ? mule_errf(err, r, "out of memory") :
		    store_state(a, rc, &ns, 0, err);
		break;
	case MERGE_ROW_INSERT:
		r = apply_insert(a, rc, &ns, err);
		break;
	default:
		r = apply_cells(a, rc, &old, &row, &ns, err);
		break;
	}
	if (fenced && r == 0)
		r = fence_new_row(a, rc, &st0, alive0, &irow.cl_st, err);
out:
	rowstate_release(&old);
	rowstate_release(&ns);
	return r;
}

int
replica_apply_finish(struct replica_apply *a, const struct vector *base,
    const struct vector *top, struct replica_apply_stats *stats, char *err)
{
	struct vector known;
	uint64_t l;
	size_t i;
	int r = MULE_EINTERNAL;

	vector_init(&known);
	if ((r = flush_alive(a, err)) != 0)
		goto out;
	if ((r = rp_lamport_get(a->rp, &l, err)) != 0)
		goto out;
	if (a->maxl > l && (r = rp_lamport_set(a->rp, a->maxl, err)) != 0)
		goto out;
	if ((r = replica_known(a->rp, &known, err)) != 0)
		goto out;
	if (vector_covers(&known, base)) {
		for (i = 0; i < top->n; i++) {
			if (memcmp(top->e[i].origin, a->rp->site_id,
			    SITE_ID_LEN) == 0)
				continue;	/* only we advance our own */
			if (vector_get(&known, top->e[i].origin) <
			    top->e[i].counter &&
			    vector_set(&known, top->e[i].origin,
			    top->e[i].counter) != 0) {
				r = mule_errf(err, MULE_ENOMEM, "out of memory");
				goto out;
			}
		}
		if ((r = rp_vector_put(a->rp, "", "known", &known, err)) != 0)
			goto out;
	} else {
		a->st.gap = 1;
	}
	/* Acks only grow: a stale bundle read late does not lower them. */
	vector_release(&known);
	if ((r = rp_vector_get(a->rp, a->peer, "acked", &known, err)) != 0)
		goto out;
	for (i = 0; i < known.n; i++)
		if (vector_get(&a->ack, known.e[i].origin) <
		    known.e[i].counter && vector_set(&a->ack,
		    known.e[i].origin, known.e[i].counter) != 0) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
	if ((r = rp_vector_put(a->rp, a->peer, "acked", &a->ack, err)) != 0)
		goto out;
	if (a->have_values) {
		if ((r = rp_exec(a->rp, "DELETE FROM temp.mule_values",
		    err)) != 0)
			goto out;
	}
	*stats = a->st;
	r = 0;
out:
	vector_release(&known);
	return r;
}

int
replica_apply_guard(struct replica_apply *a, const struct vector *horizon,
    int remake)
{
	int r = MULE_ENOMEM;

	a->remake = remake;
	if (a->guard == NULL && (a->guard = calloc(1, sizeof(*a->guard))) !=
	    NULL)
		vector_init(a->guard);
	if (a->guard != NULL && vector_copy(a->guard, horizon) == 0)
		r = 0;
	return r;
}

int
replica_apply_sender_schema(struct replica_apply *a, uint32_t version,
    char *err)
{
	(void)err;
	a->has_sender_schema = 1;
	a->sender_schema = version;
	return 0;
}

/*
 * Rows in the layout of an older schema version than ours: the message
 * says so and what to do.  Returns r.
 */
static int
apply_schema_hint(struct replica_apply *a, int r, char *err)
{
	char e2[MULE_ERRLEN];
	uint8_t fpr[SCHEMA_FPR_LEN];
	uint32_t have = 0;

	if (!a->has_sender_schema || err == NULL ||
	    replica_schema_latest(a->rp, &have, fpr, NULL) != 0 ||
	    a->sender_schema >= have)
		return r;
	memcpy(e2, err, sizeof(e2));
	return mule_errf(err, r, "%s (the sender is at schema version %u, "
	    "this database at %u: once it has applied this site's "
	    "migrations, ask it for a bundle made with --full)", e2,
	    a->sender_schema, have);
}
