/*
 * replica/track/changes.c — outgoing changes for pack (DESIGN §8): every cell
 * and existence change whose stamp (origin, counter) is above what the
 * peer is known to have.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

/* Loads every origin's site id, indexed by origin index. */
int
rp_origins_load(struct replica *rp, uint8_t (**sites)[SITE_ID_LEN],
    size_t *n, char *err)
{
	uint8_t (*v)[SITE_ID_LEN] = NULL;
	sqlite3_stmt *st = NULL;
	size_t cnt = 0;
	int64_t idx;
	void *p;
	int rc, r = MULE_EINTERNAL;

	if ((r = rp_prepare(rp, "SELECT idx, site FROM _mule_origins ORDER BY"
	    " idx", &st, err)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		idx = sqlite3_column_int64(st, 0);
		if (idx < 0 || idx > 1000000 ||
		    sqlite3_column_bytes(st, 1) != SITE_ID_LEN) {
			r = mule_errf(err, MULE_EDB, "damaged origin table");
			goto out;
		}
		if ((size_t)idx >= cnt) {
			if ((p = realloc(v, ((size_t)idx + 1) * SITE_ID_LEN)) ==
			    NULL) {
				r = mule_errf(err, MULE_ENOMEM, "out of memory");
				goto out;
			}
			v = p;
			memset(v[cnt], 0, ((size_t)idx + 1 - cnt) * SITE_ID_LEN);
			cnt = (size_t)idx + 1;
		}
		memcpy(v[idx], sqlite3_column_blob(st, 1), SITE_ID_LEN);
	}
	if (rc != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "read origins");
		goto out;
	}
	*sites = v;
	*n = cnt;
	v = NULL;
	r = 0;
out:
	free(v);
	sqlite3_finalize(st);
	return r;
}

struct outctx {
	struct replica *rp;
	const struct vector *base;
	uint8_t (*sites)[SITE_ID_LEN];
	size_t nsites;
	uint64_t *limit;	/* per origin index: base counter */
	uint64_t *held;		/* per origin index: what every peer holds */
	struct replica_set *set;	/* the peer's sync set, or NULL */
	uint64_t hold;		/* tables this big keep all-baseline rows */
	uint64_t seen;		/* state rows read by full passes, for
				 * progress */
};

static int
above(const struct outctx *c, const struct istamp *s)
{
	if (s->origin < 0 || (size_t)s->origin >= c->nsites)
		return 1;	/* unknown origin: send (never drop) */
	return s->lamport > c->limit[s->origin];
}

/*
 * Does every peer hold the row incarnation whose existence stamp is s?
 * Its acknowledgement covers s: when it packed, it held s or a later
 * incarnation, which that bundle (applied here) brought us too, so ours is
 * s only if theirs was.
 */
static int
held(const struct outctx *c, const struct istamp *s)
{
	if (c->held == NULL || s->lamport == 0 || s->origin < 0 ||
	    (size_t)s->origin >= c->nsites)
		return 0;
	return s->lamport <= c->held[s->origin];
}

static void
to_stamp(const struct outctx *c, const struct istamp *s, struct stamp *out)
{
	out->lamport = s->lamport;
	if (s->origin >= 0 && (size_t)s->origin < c->nsites)
		memcpy(out->origin, c->sites[s->origin], SITE_ID_LEN);
	else
		memset(out->origin, 0, SITE_ID_LEN);
}

/* Per-table emission state. */
struct outtable {
	const struct replica_table *t;
	sqlite3_stmt *sel;	/* the data row by key */
	struct cell *cells;
	uint32_t *scol;		/* per cell: its column in the state */
	struct vec_entry *ctx;	/* the cells' contexts, one row's worth */
	size_t ctxcap;
	int started;
	struct set_tab *tab;	/* the sync set's word on the table */
	int hold;		/* its all-baseline rows stay home */
	int agreed;		/* its digests agreed with the recipient */
	/* With masked columns: the table as sent, and where each goes. */
	struct replica_table proj;
	uint32_t *pos;		/* per column: index in proj (when sent) */
	struct mval *hv;	/* the sent values, for their row hash */
};

static void
outtable_release(struct outtable *o)
{
	sqlite3_finalize(o->sel);
	free(o->cells);
	free(o->ctx);
	free(o->scol);
	free(o->proj.cols);
	free(o->proj.pkcols);
	free(o->pos);
	free(o->hv);
	memset(o, 0, sizeof(*o));
}

/* The table as the peer sees it: only the columns that go. */
static int
outtable_project(struct outtable *o, char *err)
{
	const struct replica_table *t = o->t;
	uint32_t i, n = 0;

	o->proj = *t;
	o->proj.cols = NULL;
	o->proj.pkcols = NULL;
	if ((o->pos = calloc(t->ncols + 1, sizeof(*o->pos))) == NULL ||
	    (o->hv = calloc(t->ncols + 1, sizeof(*o->hv))) == NULL ||
	    (o->proj.cols = calloc(t->ncols + 1, sizeof(char *))) == NULL ||
	    (o->proj.pkcols = calloc(t->npk + 1, sizeof(uint32_t))) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	for (i = 0; i < t->ncols; i++) {
		if (!o->tab->send[i])
			continue;
		o->pos[i] = n;
		o->proj.cols[n++] = t->cols[i];
	}
	o->proj.ncols = n;
	for (i = 0; i < t->npk; i++)
		o->proj.pkcols[i] = o->pos[t->pkcols[i]];
	return 0;
}

static int
outtable_init(struct outctx *c, struct outtable *o,
    const struct replica_table *t, struct set_tab *tab, char *err)
{
	int r;

	memset(o, 0, sizeof(*o));
	o->t = t;
	o->tab = tab;
	if (t->npk > 64)
		return mule_errf(err, MULE_ETOOLARGE, "table %s: key has too "
		    "many columns", t->name);
	if ((o->cells = calloc(t->ncols + 1, sizeof(*o->cells))) == NULL ||
	    (o->scol = calloc(t->ncols + 1, sizeof(*o->scol))) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	if (tab != NULL && tab->send != NULL &&
	    (r = outtable_project(o, err)) != 0)
		return r;
	o->agreed = rp_set_agreed(c->set, t->name);
	if (c->hold > 0) {
		int64_t alive = 0;
		if ((r = rp_alive_get(c->rp, t->tid, &alive, err)) != 0)
			return r;
		o->hold = (uint64_t)alive >= c->hold;
	}
	r = rp_prepare_row_select(c->rp, t, &o->sel, err);
	return r;
}

/*
 * A cell goes out when its stamp is above the base, and a zero-stamped
 * one (its value made by a schema migration) also with a row sent whole:
 * a site that gets the row after running the migration needs it too.
 */
static int
cell_wanted(const struct outctx *c, const struct rowstate *rs, uint32_t i,
    int send_cl)
{
	return above(c, &rs->colst[i]) ||
	    (send_cl && rs->colst[i].lamport == 0);
}

/*
 * A live row of its table's first scan: some cell still holds the
 * incarnation's original baseline (zero stamp, base_row).  Inserted and
 * re-created rows have no such cell.
 */
static int
baseline_row(const struct rowstate *rs)
{
	uint32_t i;

	if (rs->cl % 2 == 0)
		return 0;
	for (i = 0; i < rs->ncols; i++)
		if (rs->colst[i].lamport == 0 && rs->colctx[i].has_base &&
		    rs->colctx[i].base_row)
			return 1;
	return 0;
}

/* Room in o->ctx for n more entries after `used`: 0 or MULE_ENOMEM. */
static int
ctx_room(struct outtable *o, size_t used, size_t n)
{
	struct vec_entry *ne;
	size_t cap = o->ctxcap ? o->ctxcap : 64;

	if (used + n <= o->ctxcap)
		return 0;
	while (cap < used + n)
		cap *= 2;
	if ((ne = realloc(o->ctx, cap * sizeof(*ne))) == NULL)
		return MULE_ENOMEM;
	o->ctx = ne;
	o->ctxcap = cap;
	return 0;
}

/*
 * How column j's base travels: the original baseline sent with its row
 * says only that it is its own base; an edit from its incarnation's
 * original baseline (or a deletion's knowledge of it) says only that,
 * unless the peer may not hold that incarnation (`whole`: the row goes
 * whole, or the deleted incarnation is not known to the peer): then it
 * gets the hash, to keep and relay.
 */
static int
cell_base(const struct rowstate *rs, uint32_t j, int whole)
{
	const struct merge_ctx *x = &rs->colctx[j];
	int alive = rs->cl % 2 == 1;

	if (!x->has_base)
		return CELL_BASE_NONE;
	if (alive && x->base_row && rs->colst[j].lamport == 0 &&
	    x->base == rs->colhash[j])
		return CELL_BASE_SELF;
	if (x->base_row && !whole && (!alive || rs->colst[j].lamport != 0))
		return CELL_BASE_ROW;
	return CELL_BASE_HASH;
}

/*
 * May edits of this row name their base by the row's incarnation `s`
 * (CELL_BASE_ROW)?  When every recipient holds it (held).  An
 * incarnation of a first scan (its cells keep base_row) may also be held
 * by a copy that was initialized separately under its own stamp: then
 * only when the table's digests agreed with the recipient.
 */
static int
claims(const struct outctx *c, const struct outtable *o,
    const struct rowstate *rs, const struct istamp *s)
{
	uint32_t i;

	if (!held(c, s) || o->agreed)
		return held(c, s);
	for (i = 0; i < rs->ncols; i++)
		if (rs->colctx[i].base_row)
			return 0;
	return 1;
}

/* A tombstone names the incarnation it deleted when the peer holds it. */
static int
names_gone(const struct outctx *c, const struct outtable *o,
    const struct rowstate *rs)
{
	return rs->cl % 2 == 0 && rs->has_gone && claims(c, o, rs, &rs->gone);
}

/*
 * Copies the contexts of the n cells of o->cells (their col set to the
 * state's column in `scol`) into o->ctx and points the cells at them.
 */
static int
cells_ctx(const struct outctx *c, struct outtable *o, const struct rowstate *rs,
    const uint32_t *scol, uint32_t n, int whole)
{
	const struct merge_ctx *x;
	size_t used = 0, k;
	uint32_t i, j;
	int r;

	for (i = 0; i < n; i++) {
		x = &rs->colctx[scol[i]];
		if (x->n > CELL_CTX_MAX)
			return MULE_ETOOLARGE;
		if ((r = ctx_room(o, used, x->n)) != 0)
			return r;
		for (k = 0; k < x->n; k++) {
			struct stamp s;

			to_stamp(c, &x->e[k], &s);
			memcpy(o->ctx[used + k].origin, s.origin, SITE_ID_LEN);
			o->ctx[used + k].counter = s.lamport;
		}
		j = scol[i];
		o->cells[i].nctx = x->n;
		o->cells[i].base = x->base;
		o->cells[i].has_base = cell_base(rs, j, whole);
		used += x->n;
	}
	for (i = 0, used = 0; i < n; used += o->cells[i].nctx, i++)
		o->cells[i].ctx = o->cells[i].nctx ? o->ctx + used : NULL;
	return 0;
}

/*
 * A deletion's cells: per column sent that the deletion knew something
 * of, no value, and as context what it knew.
 */
static int
tomb_cells(const struct outctx *c, struct outtable *o,
    const struct rowstate *rs, uint32_t *n)
{
	const uint8_t *send = o->tab != NULL ? o->tab->send : NULL;
	uint32_t i, k = 0;

	for (i = 0; i < rs->ncols && i < o->t->ncols; i++) {
		if ((send != NULL && !send[i]) || (rs->colctx[i].n == 0 &&
		    !rs->colctx[i].has_base))
			continue;
		memset(&o->cells[k], 0, sizeof(o->cells[k]));
		o->cells[k].col = send != NULL ? o->pos[i] : i;
		o->scol[k++] = i;
	}
	*n = k;
	return cells_ctx(c, o, rs, o->scol, k, !names_gone(c, o, rs));
}

/* An alive row's cells that go, with their values read from the table. */
static int
live_cells(const struct outctx *c, struct outtable *o,
    const struct rowstate *rs, const struct mval *pk, int mode, int send_cl,
    uint32_t *n, char *err)
{
	const struct replica_table *t = o->t;
	const uint8_t *send = o->tab != NULL ? o->tab->send : NULL;
	uint32_t i, k = 0;

	for (i = 0; i < t->npk; i++)
		mval_bind(o->sel, (int)i + 1, &pk[i]);
	if (sqlite3_step(o->sel) != SQLITE_ROW)
		return mule_errf(err, MULE_EINTERNAL, "table %s: row in "
		    "state but not in table", t->name);
	for (i = 0; i < rs->ncols && i < t->ncols; i++) {
		if (send != NULL && !send[i])
			continue;
		if (mode == SETROW_FULL ? rs->colst[i].lamport == 0 &&
		    !send_cl : !cell_wanted(c, rs, i, send_cl))
			continue;
		memset(&o->cells[k], 0, sizeof(o->cells[k]));
		o->cells[k].col = send != NULL ? o->pos[i] : i;
		mval_from_stmt(&o->cells[k].v, o->sel, (int)i);
		to_stamp(c, &rs->colst[i], &o->cells[k].st);
		o->scol[k++] = i;
	}
	*n = k;
	return cells_ctx(c, o, rs, o->scol, k, send_cl || mode == SETROW_FULL ||
	    !claims(c, o, rs, &rs->cl_st));
}

/*
 * Sends the state row `state` is positioned on (columns pk, cl, hash, st)
 * when any of its stamps is above the base.
 */
static int
emit_row(struct outctx *c, struct outtable *o, sqlite3_stmt *state,
    const struct replica_out_sink *sink, char *err)
{
	const struct replica_table *t = o->t;
	const uint8_t *send = o->tab != NULL ? o->tab->send : NULL;
	struct rowstate rs;
	struct rowchange rc;
	struct mval pk[64];
	uint32_t i, n = 0;
	int r = MULE_EINTERNAL, send_cl, mode = SETROW_NORMAL;

	memset(&rs, 0, sizeof(rs));
	if (sqlite3_column_bytes(state, 2) != ROW_HASH_LEN ||
	    rowstate_decode(&rs, sqlite3_column_blob(state, 3),
	    (size_t)sqlite3_column_bytes(state, 3)) != 0)
		return mule_errf(err, MULE_EDB, "table %s: damaged state",
		    t->name);
	rs.cl = (uint64_t)sqlite3_column_int64(state, 1);
	send_cl = above(c, &rs.cl_st);
	/*
	 * A row of the table's first scan does not go whole for its new
	 * existence stamp (a copy holds it): only its edits go; a peer that
	 * lacks the row asks for it (replica/apply/apply.c, ask_row).
	 */
	if (o->hold && send_cl && baseline_row(&rs))
		send_cl = 0;
	for (i = 0; rs.cl % 2 == 1 && i < rs.ncols && i < t->ncols; i++)
		if (cell_wanted(c, &rs, i, send_cl) &&
		    (send == NULL || send[i]))
			n++;
	if (!send_cl && n == 0 && (o->tab == NULL || !o->tab->all_rows)) {
		r = 0;
		goto out;
	}
	memset(&rc, 0, sizeof(rc));
	if (t->intpk) {
		memset(&pk[0], 0, sizeof(pk[0]));
		pk[0].type = MVAL_INT;
		pk[0].i = sqlite3_column_int64(state, 0);
	} else if (pk_decode(sqlite3_column_blob(state, 0),
	    (size_t)sqlite3_column_bytes(state, 0), pk, t->npk) != 0) {
		r = mule_errf(err, MULE_EDB, "table %s: damaged key", t->name);
		goto out;
	}
	/* The peer's sync set: skip the row, or send it whole. */
	if (o->tab != NULL && o->tab->rows && (r = rp_set_row(c->set, o->tab,
	    pk, rs.cl % 2 == 1, !send_cl, &mode, err)) != 0)
		goto out;
	if (mode == SETROW_FULL) {
		send_cl = rs.cl_st.lamport > 0;
		for (i = 0, n = 0; i < rs.ncols && i < t->ncols; i++)
			if ((rs.colst[i].lamport > 0 || send_cl) &&
			    (send == NULL || send[i]))
				n++;
	}
	if (mode == SETROW_SKIP || (!send_cl && n == 0)) {
		r = 0;
		goto out;
	}
	rc.npk = t->npk;
	rc.pk = pk;
	rc.cl = rs.cl;
	to_stamp(c, &rs.cl_st, &rc.cl_stamp);
	if ((rc.has_gone = names_gone(c, o, &rs)) != 0)
		to_stamp(c, &rs.gone, &rc.gone);
	memcpy(rc.hash, sqlite3_column_blob(state, 2), ROW_HASH_LEN);
	r = 0;
	if (rs.cl % 2 == 0)
		r = tomb_cells(c, o, &rs, &n);
	else if (n > 0)
		r = live_cells(c, o, &rs, pk, mode, send_cl, &n, err);
	if (r != 0) {
		if (r == MULE_ENOMEM || r == MULE_ETOOLARGE)
			r = mule_errf(err, r, "table %s: cell contexts: %s",
			    t->name, mule_strerror(r));
		goto out;
	}
	rc.ncells = n;
	rc.cells = o->cells;
	/*
	 * Masked columns: the row hash covers what is sent (and nothing of
	 * what is not), so that a peer holding just these columns can check.
	 */
	if (send != NULL) {
		memset(rc.hash, 0, ROW_HASH_LEN);
		if (rs.cl % 2 == 1 && n == o->proj.ncols) {
			for (i = 0; i < n; i++)
				o->hv[i] = o->cells[i].v;
			row_hash_vals(o->hv, n, rc.hash, NULL);
		}
	}
	if (!o->started) {
		if ((r = sink->table(sink->arg, send != NULL ? &o->proj :
		    t)) != 0)
			goto out;
		o->started = 1;
	}
	r = sink->row(sink->arg, &rc);
out:
	sqlite3_reset(o->sel);
	sqlite3_clear_bindings(o->sel);
	rowstate_release(&rs);
	return r;
}

/* Every state row of one table (a full pass). */
static int
changes_table(struct outctx *c, const struct replica_table *t,
    struct set_tab *tab, const struct replica_out_sink *sink,
    replica_progress_fn progress, void *parg, char *err)
{
	struct rp_state_cur cur;
	struct outtable o;
	int s, r = MULE_EINTERNAL;

	memset(&cur, 0, sizeof(cur));
	if ((r = outtable_init(c, &o, t, tab, err)) != 0)
		goto out;
	if ((r = rp_state_cur_open(c->rp, t->tid, NULL, NULL, &cur,
	    err)) != 0)
		goto out;
	while ((s = rp_state_cur_step(&cur)) == SQLITE_ROW) {
		if (++c->seen % 65536 == 0 && progress != NULL)
			progress(parg, PROGRESS_PACKING, c->seen, 0);
		if ((r = emit_row(c, &o, cur.st, sink, err)) != 0)
			goto out;
	}
	r = s == SQLITE_DONE ? 0 : rp_dberr(c->rp, s, err, t->name);
out:
	outtable_release(&o);
	rp_state_cur_close(&cur);
	return r;
}

/* Only the rows the journal lists above `from` (DESIGN §13 budgets). */
static int
changes_journal(struct outctx *c, struct replica_table **tabs,
    struct set_tab *sets, size_t n, uint64_t from,
    const struct replica_out_sink *sink, char *err)
{
	sqlite3_stmt *jrn = NULL, *get = NULL;
	struct outtable o;
	int64_t tid, cur = -1;
	size_t i;
	int s, r = MULE_EINTERNAL;

	memset(&o, 0, sizeof(o));
	if ((r = rp_prepare(c->rp, "SELECT DISTINCT tid, pk FROM _mule_journal"
	    " WHERE lamport > ? ORDER BY tid, pk", &jrn, err)) != 0)
		goto out;
	sqlite3_bind_int64(jrn, 1, (int64_t)from);
	while ((s = sqlite3_step(jrn)) == SQLITE_ROW) {
		tid = sqlite3_column_int64(jrn, 0);
		if (tid != cur) {
			outtable_release(&o);
			sqlite3_finalize(get);
			get = NULL;
			cur = tid;
			for (i = 0; i < n && tabs[i]->tid != tid; i++)
				;
			if (i == n)
				continue;	/* untracked since */
			if (!sets[i].shared || sets[i].all_rows)
				continue;	/* not in the set; or a full pass */
			if ((r = outtable_init(c, &o, tabs[i], &sets[i],
			    err)) != 0)
				goto out;
			if ((r = rp_state_prepare_get(c->rp, tid, 1, &get,
			    err)) != 0)
				goto out;
		}
		if (get == NULL)
			continue;
		sqlite3_bind_value(get, 1, sqlite3_column_value(jrn, 1));
		s = sqlite3_step(get);
		if (s == SQLITE_ROW)
			r = emit_row(c, &o, get, sink, err);
		else
			r = s == SQLITE_DONE ? 0 : rp_dberr(c->rp, s, err,
			    "read state");
		sqlite3_reset(get);
		if (r != 0)
			goto out;
	}
	r = s == SQLITE_DONE ? 0 : rp_dberr(c->rp, s, err, "read journal");
out:
	outtable_release(&o);
	sqlite3_finalize(get);
	sqlite3_finalize(jrn);
	return r;
}

int
replica_changes_range(struct replica *rp, int64_t tid, const struct mval *lo,
    const struct mval *hi, const struct replica_out_sink *sink,
    uint64_t *rows, char *err)
{
	struct replica_table **tabs = NULL;
	struct rp_state_cur cur;
	struct outtable o;
	struct outctx c;
	size_t i, n = 0;
	int s, r = MULE_EINTERNAL;

	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	memset(&cur, 0, sizeof(cur));
	c.rp = rp;
	*rows = 0;
	if ((r = rp_origins_load(rp, &c.sites, &c.nsites, err)) != 0 ||
	    (r = replica_tables(rp, &tabs, &n, err)) != 0)
		goto out;
	for (i = 0; i < n && tabs[i]->tid != tid; i++)
		;
	/* No base: every stamp is above it, so each row goes whole. */
	if (i == n || (c.limit = calloc(c.nsites + 1,
	    sizeof(uint64_t))) == NULL) {
		r = i == n ? 0 : mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = outtable_init(&c, &o, tabs[i], NULL, err)) != 0)
		goto out;
	if ((r = rp_state_cur_open(rp, tid, lo, hi, &cur, err)) != 0)
		goto out;
	while ((s = rp_state_cur_step(&cur)) == SQLITE_ROW) {
		if ((r = emit_row(&c, &o, cur.st, sink, err)) != 0)
			goto out;
		(*rows)++;
	}
	r = s == SQLITE_DONE ? 0 : rp_dberr(rp, s, err, tabs[i]->name);
out:
	outtable_release(&o);
	rp_state_cur_close(&cur);
	free(c.sites);
	free(c.limit);
	replica_tables_free(tabs, n);
	return r;
}

int
replica_changes(struct replica *rp, const struct vector *base,
    const struct replica_out_sink *sink, replica_progress_fn progress,
    void *parg, char *err)
{
	return replica_changes_set(rp, base, NULL, NULL, sink, progress, parg,
	    err);
}

int
replica_changes_set(struct replica *rp, const struct vector *base,
    const struct vector *held, struct replica_set *set,
    const struct replica_out_sink *sink, replica_progress_fn progress,
    void *parg, char *err)
{
	struct replica_table **tabs = NULL;
	struct set_tab *sets = NULL;
	struct outctx c;
	uint64_t from = 0, floor = 0;
	size_t i, n = 0;
	int r = MULE_EINTERNAL;

	memset(&c, 0, sizeof(c));
	c.rp = rp;
	c.base = base;
	c.set = set;
	c.hold = rp_set_holds_baselines(set);
	if ((r = rp_origins_load(rp, &c.sites, &c.nsites, err)) != 0 ||
	    (r = replica_tables(rp, &tabs, &n, err)) != 0)
		goto out;
	if ((c.limit = calloc(c.nsites + 1, sizeof(uint64_t))) == NULL ||
	    (held != NULL && (c.held = calloc(c.nsites + 1,
	    sizeof(uint64_t))) == NULL) ||
	    (sets = calloc(n + 1, sizeof(*sets))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((r = rp_set_table(set, tabs[i], &sets[i], err)) != 0)
			goto out;
	for (i = 0; i < c.nsites; i++) {
		c.limit[i] = vector_get(base, c.sites[i]);
		if (c.held != NULL)
			c.held[i] = vector_get(held, c.sites[i]);
	}
	/*
	 * Every cell to send has a stamp above the smallest base counter of
	 * any real origin (index 0 is the zero stamp's) the peers lack some
	 * of, so the journal finds them all, unless it was pruned below that
	 * point.  An origin they hold all of we know (a site gone quiet, a
	 * hub that writes nothing) does not hold the journal back.
	 */
	if ((r = rp_journal_from(rp, c.sites, c.nsites, c.limit, &from,
	    err)) != 0 || (r = rp_floor_get(rp, &floor, err)) != 0)
		goto out;
	if (c.nsites > 1 && from >= floor) {
		if ((r = changes_journal(&c, tabs, sets, n, from, sink,
		    err)) != 0)
			goto out;
		/* Tables whose set definition changed: every row. */
		for (i = 0; i < n; i++)
			if (sets[i].shared && sets[i].all_rows &&
			    (r = changes_table(&c, tabs[i], &sets[i], sink,
			    progress, parg, err)) != 0)
				goto out;
		r = 0;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (sets[i].shared && (r = changes_table(&c, tabs[i], &sets[i],
		    sink, progress, parg, err)) != 0)
			goto out;
	r = 0;
out:
	for (i = 0; sets != NULL && i < n; i++)
		rp_set_tab_release(&sets[i]);
	free(sets);
	free(c.sites);
	free(c.limit);
	free(c.held);
	replica_tables_free(tabs, n);
	return r;
}

int
rp_floor_get(struct replica *rp, uint64_t *floor, char *err)
{
	int64_t v;
	int r;

	if ((r = rp_scalar(rp, "SELECT floor FROM _mule_site", 0, -1, &v,
	    err)) != 0)
		return r;
	if (v < 0)
		return rp_dberr(rp, SQLITE_ERROR, err, "read site");
	*floor = (uint64_t)v;
	return 0;
}

int
replica_journal_prune(struct replica *rp, char *err)
{
	struct replica_peer *peers = NULL;
	uint8_t (*sites)[SITE_ID_LEN] = NULL;
	struct vector sent, known;
	sqlite3_stmt *st = NULL;
	uint64_t keep = UINT64_MAX, v;
	size_t i, k, np = 0, ns = 0;
	int rc, r = MULE_EINTERNAL;

	vector_init(&sent);
	vector_init(&known);
	if ((r = replica_peer_list(rp, &peers, &np, err)) != 0 ||
	    (r = rp_origins_load(rp, &sites, &ns, err)) != 0)
		goto out;
	/*
	 * Entries every peer has been sent are needed by none; an origin
	 * every peer was sent all of we know holds nothing back.
	 */
	if ((r = rp_vector_get(rp, "", "known", &known, err)) != 0)
		goto out;
	for (i = 0; i < np; i++) {
		if ((r = rp_vector_get(rp, peers[i].name, "sent", &sent,
		    err)) != 0)
			goto out;
		for (k = 1; k < ns; k++) {
			v = vector_get(&sent, sites[k]);
			if (v < keep && v < vector_get(&known, sites[k]))
				keep = v;
		}
	}
	if (keep == UINT64_MAX)	/* every peer was sent all we know */
		for (k = 1, keep = 0; k < ns; k++)
			if (vector_get(&known, sites[k]) > keep)
				keep = vector_get(&known, sites[k]);
	if (np == 0 || ns < 2 || keep == 0 || keep == UINT64_MAX) {
		r = 0;
		goto out;
	}
	if ((r = rp_prepare(rp, "DELETE FROM _mule_journal WHERE lamport <= ?",
	    &st, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)keep);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "prune journal");
		goto out;
	}
	r = rp_floor_raise(rp, keep, err);
out:
	sqlite3_finalize(st);
	vector_release(&sent);
	vector_release(&known);
	free(peers);
	free(sites);
	return r;
}
