/*
 * replica/merge/apply.c — merging a bundle's row changes (DESIGN §7).
 *
 * Each cell is a last-writer-wins register ordered by its stamp (higher
 * lamport wins; on a tie, the higher origin site id).  A row's existence
 * is ordered by its causal length (odd alive, even deleted; higher wins);
 * a row that comes back to life takes the winning side's cells.  A local
 * value overwritten by one whose writer had not seen it (per the sender's
 * ack vector) is a conflict and goes to _mule_conflicts with both values.
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
	int64_t alive_delta;
	uint32_t *colhash;
	struct istamp *instamp;	/* per local column, incoming stamp */
	struct istamp (*inbeat)[CELL_BEATS];	/* per local column */
	struct istamp (*inprior)[CELL_PRIORS];	/* per local column, prior chain */
	uint8_t *lost;		/* per local column: incoming cell lost */
	struct istamp clbeat[CELL_BEATS];	/* the row's incoming cl_beat */
	struct vector known;	/* our vector before this bundle */
	const struct mval **inval;	/* per local column, incoming value */
	uint8_t *win;		/* per local column: incoming cell won */
	int leaving;		/* rows that left our set at the sender */
	sqlite3_stmt *sdel;	/* forgets a row's state (rows leaving) */
	int has_sender_schema;	/* replica_apply_sender_schema was called */
	uint32_t sender_schema;	/* the sender's schema version */
};

static int is_new(const struct replica_apply *a, const struct istamp *s);
static int apply_schema_hint(struct replica_apply *a, int r, char *err);

static void
apply_table_release(struct replica_apply *a)
{
	int k;

	for (k = 0; k < 2; k++) {
		sqlite3_finalize(a->wst[k]);
		free(a->wmask[k]);
		a->wst[k] = NULL;
		a->wmask[k] = NULL;
	}
	free(a->ispk);
	a->ispk = NULL;
	sqlite3_finalize(a->get);
	sqlite3_finalize(a->put);
	sqlite3_finalize(a->sel);
	sqlite3_finalize(a->del);
	sqlite3_finalize(a->jrn);
	sqlite3_finalize(a->sdel);
	a->get = a->put = a->sel = a->del = a->jrn = a->sdel = NULL;
	free(a->map);
	free(a->colhash);
	free(a->instamp);
	free(a->inbeat);
	free(a->inprior);
	free(a->lost);
	free(a->inval);
	free(a->win);
	a->map = NULL;
	a->colhash = NULL;
	a->instamp = NULL;
	a->inbeat = NULL;
	a->inprior = NULL;
	a->lost = NULL;
	a->inval = NULL;
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
	vector_release(&a->known);
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
	vector_init(&a->known);
	if ((r = replica_known(rp, &a->known, err)) != 0)
		goto out;
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
 * Had the writer of a value whose prior chain is `p` seen local stamp s?
 * Yes when s is in the chain (its counters fall from link to link).  A
 * complete chain that does not name s says no; a full one (older links
 * dropped) covers what is older than its oldest link.
 */
static int
prior_knows(const struct istamp p[CELL_PRIORS], const struct istamp *s)
{
	int k;

	for (k = 0; k < CELL_PRIORS && p[k].lamport != 0; k++) {
		if (p[k].lamport == s->lamport && p[k].origin == s->origin)
			return 1;
		if (p[k].lamport < s->lamport)
			return 0;
	}
	return k == CELL_PRIORS && p[k - 1].lamport > s->lamport;
}

/* Had the sender seen local stamp s when it wrote?  (s <= ack[origin]) */
static int
sender_saw(const struct replica_apply *a, const struct istamp *s)
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

/* Makes an untracked local table tracked (a peer shares it with us). */
static int
ensure_tracked(struct replica_apply *a, const char *table, char *err)
{
	int intkey, already, r;

	r = rp_table_get(a->rp, table, &a->t, NULL);
	if (r == 0)
		return 0;
	r = replica_track(a->rp, table, &intkey, &already, err);
	if (r == MULE_ENOTFOUND)
		return mule_errf(err, MULE_ESCHEMA, "the bundle has changes "
		    "for table '%s', which this database does not have; "
		    "create it with the sender's schema first", table);
	if (r != 0)
		return r;
	return rp_table_get(a->rp, table, &a->t, err);
}

int
replica_apply_table(struct replica_apply *a, const char *table,
    uint32_t ncols, const char *const *cols, uint32_t npk,
    const uint32_t *pkcols, char *err)
{
	struct replica_table *t;
	struct strb sb;
	char sname[32], *ltable = NULL, **lcols = NULL;
	uint32_t i, j, covered = 0;
	int r = MULE_EINTERNAL;

	strb_init(&sb);
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
	a->nin = ncols;
	if ((a->map = calloc(ncols + 1, sizeof(*a->map))) == NULL ||
	    (a->colhash = calloc(t->ncols + 1, sizeof(*a->colhash))) == NULL ||
	    (a->instamp = calloc(t->ncols + 1, sizeof(*a->instamp))) == NULL ||
	    (a->inbeat = calloc(t->ncols + 1, sizeof(*a->inbeat))) == NULL ||
	    (a->inprior = calloc(t->ncols + 1, sizeof(*a->inprior))) == NULL ||
	    (a->lost = calloc(t->ncols + 1, 1)) == NULL ||
	    (a->inval = calloc(t->ncols + 1, sizeof(*a->inval))) == NULL ||
	    (a->win = calloc(t->ncols + 1, 1)) == NULL ||
	    (a->ispk = calloc(t->ncols + 1, 1)) == NULL ||
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
	state_table(t->tid, sname);
	strb_addf(&sb, "SELECT cl, hash, st FROM %s WHERE pk = ?1", sname);
	if ((r = rp_prepare(a->rp, strb_str(&sb), &a->get, err)) != 0)
		goto out;
	strb_reset(&sb);
	strb_addf(&sb, "INSERT OR REPLACE INTO %s(pk, cl, hash, st) "
	    "VALUES (?1, ?2, ?3, ?4)", sname);
	if ((r = rp_prepare(a->rp, strb_str(&sb), &a->put, err)) != 0)
		goto out;
	if ((r = rp_prepare(a->rp, "INSERT OR IGNORE INTO _mule_journal(pk,"
	    " lamport, tid) VALUES (?1, ?2, ?3)", &a->jrn, err)) != 0)
		goto out;
	strb_reset(&sb);
	strb_add(&sb, "SELECT ");
	sql_cols(&sb, t);
	strb_add(&sb, " FROM ");
	strb_add_ident(&sb, t->name);
	strb_add(&sb, " WHERE ");
	sql_pk_where(&sb, t, 1);
	if ((r = rp_prepare(a->rp, strb_str(&sb), &a->sel, err)) != 0)
		goto out;
	strb_reset(&sb);
	strb_add(&sb, "DELETE FROM ");
	strb_add_ident(&sb, t->name);
	strb_add(&sb, " WHERE ");
	sql_pk_where(&sb, t, 1);
	if ((r = rp_prepare(a->rp, strb_str(&sb), &a->del, err)) != 0)
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
	strb_release(&sb);
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
		strb_add(&sb, "INSERT OR REPLACE INTO ");
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
		strb_add(&sb, ")");
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

/*
 * Inserts the row (winning cells plus the key; other columns take their
 * defaults) or updates its winning cells, and hashes the row as written
 * into ns.
 */
static int
write_row(struct replica_apply *a, const struct rowchange *rc, int kind,
    struct rowstate *ns, char *err)
{
	const struct replica_table *t = a->t;
	sqlite3_stmt *st;
	struct mval keyv;
	uint32_t j, k = 0, p;
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
		if (a->inval[j] == NULL) {
			/* A key column the cells did not carry. */
			for (p = 0; p < t->npk && t->pkcols[p] != j; p++)
				;
			keyv = rc->pk[p];
			r = bind_value(a, st, (int)++k, &keyv, err);
		} else {
			r = bind_value(a, st, (int)++k, a->inval[j], err);
		}
		if (r != 0)
			goto out;
	}
	if (kind == W_UPDATE)
		bind_pk(a, st, (int)k + 1, rc);
	s = sqlite3_step(st);
	if (s != SQLITE_DONE) {
		r = rp_dberr(a->rp, s, err, t->name);
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
 * Records a conflict: the local value (text for people, `lv` the value
 * itself, NULL for a whole row) and the remote one, with their stamps and
 * the winner ("local" or "remote").
 */
static int
log_conflict(struct replica_apply *a, const struct rowchange *rc,
    const char *col, const char *local, const struct mval *lv,
    const struct istamp *lst, const char *remote, const struct mval *rv,
    const struct istamp *rst, const char *winner, char *err)
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
	    " remote_v, remote_lamport, remote_origin, winner, bundle)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st,
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
 * An edit reaching a row deleted by someone who may not have seen it: the
 * deletion wins (higher causal length).  Adds such edits to `set` (1 when
 * any was added); the tombstone remembers them as beaten, so
 * that the sites that still hold the edit log it when the deletion
 * reaches them.  An edit the row held here before it was deleted (its
 * last value or one in that value's chain), or one made earlier by the
 * deleting site itself, was known; any other counts, even one our vector
 * covers (a value that lost at a hub is never relayed, its counter is):
 * when in doubt, a conflict entry too many is better than a value lost
 * without a trace.
 */
static int
delete_beats(struct replica_apply *a, const struct rowstate *old,
    struct istamp set[CELL_BEATS])
{
	uint32_t j;
	int added = 0;

	for (j = 0; j < a->t->ncols; j++) {
		if (a->inval[j] == NULL || a->instamp[j].lamport == 0 ||
		    (j < old->ncols && ((old->colst[j].lamport ==
		    a->instamp[j].lamport && old->colst[j].origin ==
		    a->instamp[j].origin) || prior_knows(old->colprior[j],
		    &a->instamp[j]))) ||
		    (old->cl_st.origin == a->instamp[j].origin &&
		    old->cl_st.lamport > a->instamp[j].lamport) ||
		    beats_has(set, &a->instamp[j]))
			continue;
		beats_add(set, &a->instamp[j]);
		added = 1;
	}
	return added;
}

/* Whether we had not seen stamp s before this bundle. */
static int
is_new(const struct replica_apply *a, const struct istamp *s)
{
	if (s->lamport == 0)
		return 0;
	return s->lamport > vector_get(&a->known, a->sites[s->origin]);
}

/*
 * Concurrent values of one row (a->sel positioned on the local row):
 * - a local value about to be overwritten by one whose writer had not
 *   seen it (the sender's ack lacks it, or the incoming cell says it beat
 *   exactly this stamp) is logged, and the winner remembers what it beat;
 * - an incoming value that loses against a local one written without
 *   knowing it is remembered as beaten, so that the sites still holding
 *   it log the conflict when our value reaches them (*beaten = 1).
 * Equal values are not conflicts.
 */
static int
cell_conflicts(struct replica_apply *a, const struct rowchange *rc,
    const struct rowstate *old, struct rowstate *ns, int *beaten, char *err)
{
	struct strb lv, rv;
	struct mval v;
	const struct istamp *ls;
	uint32_t j;
	int r = 0;

	strb_init(&lv);
	strb_init(&rv);
	for (j = 0; j < a->t->ncols && j < old->ncols && r == 0; j++) {
		ls = &old->colst[j];
		if ((!a->win[j] && !a->lost[j]) || ls->lamport == 0)
			continue;
		mval_from_stmt(&v, a->sel, (int)j);
		if (mval_equal(&v, a->inval[j]))
			continue;	/* the same value: no conflict */
		if (a->lost[j]) {
			beats_add(ns->colbeat[j], &a->instamp[j]);
			*beaten = 1;
			continue;
		}
		/*
		 * Knowingly overwritten: the sender had it, it is in the
		 * chain of values the new value's writer replaced, and the
		 * new value says it beat nothing of ours.
		 */
		if (sender_saw(a, ls) && prior_knows(a->inprior[j], ls) &&
		    !beats_has(a->inbeat[j], ls) && !beats_has(a->clbeat, ls))
			continue;
		beats_add(ns->colbeat[j], ls);
		strb_reset(&lv);
		strb_reset(&rv);
		mval_text(&lv, &v);
		mval_text(&rv, a->inval[j]);
		r = log_conflict(a, rc, a->t->cols[j], strb_str(&lv), &v, ls,
		    strb_str(&rv), a->inval[j], &a->instamp[j], "remote", err);
	}
	strb_release(&lv);
	strb_release(&rv);
	return r;
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
	if ((r = rp_state_put(a->rp, a->put, ns, err)) != 0)
		return r;
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
	char sname[32];
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
	if (!found || old.cl % 2 == 0 || old.cl_st.origin == a->rp->me) {
		a->st.ignored++;
		r = 0;
		goto out;
	}
	for (j = 0; j < old.ncols && j < t->ncols; j++)
		if (old.colst[j].origin == a->rp->me &&
		    !sender_saw(a, &old.colst[j]) && (mine == UINT32_MAX ||
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
		r = log_conflict(a, rc, "*", strb_str(&lv), NULL,
		    &old.colst[mine], strb_str(&sql), NULL, &zero, "local",
		    err);
		a->st.ignored++;
		goto out;
	}
	sqlite3_reset(a->sel);
	if ((r = delete_data_row(a, rc, err)) != 0)
		goto out;
	if (a->sdel == NULL) {
		strb_addf(&sql, "DELETE FROM %s WHERE pk = ?",
		    state_table(t->tid, sname));
		if ((r = rp_prepare(a->rp, strb_str(&sql), &a->sdel,
		    err)) != 0)
			goto out;
	}
	if ((r = rp_bind_statekey(a->sdel, 1, t, rc->pk)) != 0) {
		r = mule_errf(err, r, "table %s: bad key", t->name);
		goto out;
	}
	s = sqlite3_step(a->sdel);
	sqlite3_reset(a->sdel);
	if (s != SQLITE_DONE) {
		r = rp_dberr(a->rp, s, err, "forget a row");
		goto out;
	}
	a->alive_delta--;
	a->st.left++;
	r = 0;
out:
	strb_release(&lv);
	strb_release(&sql);
	rowstate_release(&old);
	return r;
}

int
replica_apply_row(struct replica_apply *a, const struct rowchange *rc,
    char *err)
{
	struct replica_table *t = a->t;
	struct rowstate old, ns;
	struct istamp clst;
	struct strb lv;
	uint32_t i, j, k, nwin = 0, nlost = 0;
	int found, r = MULE_EINTERNAL, s, local_alive, in_alive, check, cmp;
	int beaten = 0;

	memset(&old, 0, sizeof(old));
	memset(&ns, 0, sizeof(ns));
	strb_init(&lv);
	if (a->leaving == 2) {
		a->st.ignored++;
		r = 0;
		goto out;
	}
	if (t == NULL || rc->npk != t->npk) {
		r = mule_errf(err, MULE_EFORMAT, "row without its table");
		goto out;
	}
	if (a->leaving) {
		r = apply_left(a, rc, err);
		goto out;
	}
	a->st.rows++;
	if ((r = to_istamp(a, &rc->cl_stamp, &clst, err)) != 0)
		goto out;
	memset(a->inval, 0, t->ncols * sizeof(*a->inval));
	memset(a->win, 0, t->ncols);
	memset(a->lost, 0, t->ncols);
	for (i = 0; i < rc->ncells; i++) {
		if (rc->cells[i].col >= a->nin) {
			r = mule_errf(err, MULE_EFORMAT, "cell column out of "
			    "range");
			goto out;
		}
		j = a->map[rc->cells[i].col];
		a->inval[j] = &rc->cells[i].v;
		if ((r = to_istamp(a, &rc->cells[i].st, &a->instamp[j],
		    err)) != 0)
			goto out;
		memset(a->inbeat[j], 0, sizeof(a->inbeat[j]));
		for (k = 0; k < CELL_BEATS; k++) {
			if (rc->cells[i].beat[k].lamport == 0)
				continue;
			if ((r = origin_of(a, rc->cells[i].beat[k].origin,
			    &a->inbeat[j][k].origin, err)) != 0)
				goto out;
			a->inbeat[j][k].lamport = rc->cells[i].beat[k].lamport;
		}
		memset(a->inprior[j], 0, sizeof(a->inprior[j]));
		for (k = 0; k < CELL_PRIORS; k++) {
			if (rc->cells[i].prior[k].lamport == 0)
				break;
			if ((r = origin_of(a, rc->cells[i].prior[k].origin,
			    &a->inprior[j][k].origin, err)) != 0)
				goto out;
			a->inprior[j][k].lamport = rc->cells[i].prior[k].lamport;
		}
	}
	a->st.cells += rc->ncells;
	if ((r = rp_bind_statekey(a->get, 1, t, rc->pk)) != 0 ||
	    (r = rp_state_get(a->get, &old, &found)) != 0) {
		r = mule_errf(err, r == MULE_EDB ? MULE_EDB : MULE_EFORMAT,
		    "table %s: cannot read the row's state", t->name);
		goto out;
	}
	if (!found && (r = rowstate_alloc(&old, t->ncols)) != 0) {
		r = mule_errf(err, r, "out of memory");
		goto out;
	}
	memset(a->clbeat, 0, sizeof(a->clbeat));
	for (k = 0; k < CELL_BEATS; k++) {
		if (rc->cl_beat[k].lamport == 0)
			continue;
		if ((r = origin_of(a, rc->cl_beat[k].origin,
		    &a->clbeat[k].origin, err)) != 0)
			goto out;
		a->clbeat[k].lamport = rc->cl_beat[k].lamport;
	}
	local_alive = old.cl % 2 == 1;
	in_alive = rc->cl % 2 == 1;
	if ((r = rowstate_alloc(&ns, t->ncols)) != 0) {
		r = mule_errf(err, r, "out of memory");
		goto out;
	}
	ns.cl = old.cl;
	ns.cl_st = old.cl_st;
	memcpy(ns.cl_beat, old.cl_beat, sizeof(ns.cl_beat));
	ns.cl_prior = old.cl_prior;
	for (j = 0; j < t->ncols && j < old.ncols; j++) {
		ns.colst[j] = old.colst[j];
		memcpy(ns.colbeat[j], old.colbeat[j], sizeof(ns.colbeat[j]));
		memcpy(ns.colprior[j], old.colprior[j],
		    sizeof(ns.colprior[j]));
	}

	if (rc->cl < old.cl || (rc->cl == old.cl && !in_alive)) {
		/* An older incarnation, or both deleted: no data changes. */
		int restore = 0;

		/*
		 * Edits to an older incarnation: our deletion (or the
		 * deletion before our re-creation) beat them.
		 */
		if (in_alive)
			restore = delete_beats(a, &old, ns.cl_beat);
		if (rc->cl == old.cl &&
		    istamp_cmp(&clst, &old.cl_st, (const void *)a->sites) > 0) {
			ns.cl_st = clst;
			restore = 1;
		}
		/*
		 * The same deletion twice (two sites deleted the row): the
		 * row was deleted knowing only what the less informed one
		 * knew, and both beat what either beat.
		 */
		if (rc->cl == old.cl && !in_alive) {
			if (rc->cl_prior != 0 && (old.cl_prior == 0 ||
			    rc->cl_prior < old.cl_prior)) {
				ns.cl_prior = rc->cl_prior;
				restore = 1;
			}
			for (k = 0; k < CELL_BEATS; k++) {
				if (a->clbeat[k].lamport == 0 ||
				    beats_has(ns.cl_beat, &a->clbeat[k]))
					continue;
				beats_add(ns.cl_beat, &a->clbeat[k]);
				restore = 1;
			}
		}
		if (restore) {
			memcpy(ns.hash, old.hash, ROW_HASH_LEN);
			memcpy(ns.colhash, old.colhash,
			    (old.ncols < t->ncols ? old.ncols : t->ncols) *
			    sizeof(uint32_t));
			if ((r = store_state(a, rc, &ns, 0, err)) != 0)
				goto out;
		}
		a->st.ignored++;
		r = 0;
		goto out;
	}

	if (rc->cl > old.cl && !in_alive) {
		/* The row was deleted (causally after what we have). */
		if (local_alive) {
			bind_pk(a, a->sel, 1, rc);
			s = sqlite3_step(a->sel);
			if (s == SQLITE_ROW) {
				for (j = 0; j < t->ncols && j < old.ncols; j++)
					if (!sender_saw(a, &old.colst[j]) ||
					    (old.colst[j].lamport > 0 &&
					    rc->cl_prior <
					    old.colst[j].lamport) ||
					    beats_has(a->clbeat, &old.colst[j]))
						break;
				if (j < t->ncols && j < old.ncols) {
					row_text(a, &lv);
					sqlite3_reset(a->sel);
					if ((r = log_conflict(a, rc, "*",
					    strb_str(&lv), NULL, &old.colst[j],
					    "(deleted)", NULL, &clst, "remote",
					    err)) != 0)
						goto out;
				}
			}
			sqlite3_reset(a->sel);
			if ((r = delete_data_row(a, rc, err)) != 0)
				goto out;
			a->alive_delta--;
			a->st.deleted++;
		}
		ns.cl = rc->cl;
		ns.cl_st = clst;
		/* What an older deletion of ours beat still counts. */
		memcpy(ns.cl_beat, a->clbeat, sizeof(ns.cl_beat));
		for (k = 0; !local_alive && k < CELL_BEATS; k++)
			beats_add(ns.cl_beat, &old.cl_beat[k]);
		/*
		 * What our values had beaten, the deletion beats too, so the
		 * sites still holding it log the conflict when the deletion
		 * reaches them (as for cells below).
		 */
		for (j = 0; local_alive && j < t->ncols && j < old.ncols; j++)
			for (k = 0; k < CELL_BEATS; k++)
				beats_add(ns.cl_beat, &old.colbeat[j][k]);
		ns.cl_prior = rc->cl_prior;
		memset(ns.hash, 0, ROW_HASH_LEN);
		memcpy(ns.colhash, old.colhash, (old.ncols < t->ncols ?
		    old.ncols : t->ncols) * sizeof(uint32_t));
		r = store_state(a, rc, &ns, 0, err);
		goto out;
	}

	/* The incoming row is alive and at least as new as ours. */
	for (j = 0; j < t->ncols; j++) {
		if (a->inval[j] == NULL)
			continue;
		cmp = rc->cl > old.cl || j >= old.ncols ? 1 :
		    istamp_cmp(&a->instamp[j], &old.colst[j],
		    (const void *)a->sites);
		if (cmp > 0) {
			a->win[j] = 1;
			ns.colst[j] = a->instamp[j];
			memcpy(ns.colbeat[j], a->inbeat[j],
			    sizeof(ns.colbeat[j]));
			memcpy(ns.colprior[j], a->inprior[j],
			    sizeof(ns.colprior[j]));
			/*
			 * What our value had beaten, the new value beats too.
			 * The sender's vector cannot say whether its writer
			 * saw it: a value that lost at a hub is never relayed,
			 * although its origin's counter is.
			 */
			for (k = 0; j < old.ncols && k < CELL_BEATS; k++)
				beats_add(ns.colbeat[j], &old.colbeat[j][k]);
			nwin++;
		} else if (cmp < 0 && is_new(a, &a->instamp[j])) {
			a->lost[j] = 1;	/* perhaps concurrent: see below */
			nlost++;
		}
	}
	check = a->full && nwin == rc->ncells && rc->ncells == t->ncols;
	if (local_alive) {
		if (nwin > 0 || nlost > 0) {
			bind_pk(a, a->sel, 1, rc);
			s = sqlite3_step(a->sel);
			r = s == SQLITE_ROW ? cell_conflicts(a, rc, &old, &ns,
			    &beaten, err) : 0;
			sqlite3_reset(a->sel);
			if (r != 0)
				goto out;
		}
		if (nwin > 0) {
			if ((r = write_row(a, rc, W_UPDATE, &ns, err)) != 0)
				goto out;
			a->st.updated++;
		} else {
			a->st.ignored++;
			if (beaten) {
				/* Only the record of a beaten value changed. */
				memcpy(ns.hash, old.hash, ROW_HASH_LEN);
				memcpy(ns.colhash, old.colhash, (old.ncols <
				    t->ncols ? old.ncols : t->ncols) *
				    sizeof(uint32_t));
				r = store_state(a, rc, &ns, 0, err);
				goto out;
			}
		}
	} else {
		/* Not here (never seen, or deleted): insert the winner's row. */
		for (j = 0; j < t->ncols; j++)
			if (!a->win[j])
				a->inval[j] = NULL;
		if ((r = write_row(a, rc, W_INSERT, &ns, err)) != 0)
			goto out;
		a->alive_delta++;
		a->st.inserted++;
	}
	ns.cl = rc->cl > old.cl ? rc->cl : old.cl;
	if (rc->cl > old.cl)
		ns.cl_st = clst;
	if (nwin == 0 && rc->cl == old.cl) {
		r = 0;
		goto out;
	}
	r = store_state(a, rc, &ns, check, err);
out:
	strb_release(&lv);
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
