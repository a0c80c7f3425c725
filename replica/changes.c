/*
 * replica/changes.c — outgoing changes for pack (DESIGN §8): every cell
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
};

static int
above(const struct outctx *c, const struct istamp *s)
{
	if (s->origin < 0 || (size_t)s->origin >= c->nsites)
		return 1;	/* unknown origin: send (never drop) */
	return s->lamport > c->limit[s->origin];
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

static int
changes_table(struct outctx *c, const struct replica_table *t,
    const struct replica_out_sink *sink, replica_progress_fn progress,
    void *parg, char *err)
{
	sqlite3_stmt *state = NULL, *sel = NULL;
	struct rowstate rs;
	struct rowchange rc;
	struct strb sb;
	struct mval pk[64];
	struct cell *cells = NULL;
	char sname[32];
	uint64_t seen = 0;
	uint32_t i, n;
	int s, r = MULE_EINTERNAL, started = 0, send_cl;

	memset(&rs, 0, sizeof(rs));
	strb_init(&sb);
	if (t->npk > 64) {
		r = mule_errf(err, MULE_ETOOLARGE, "table %s: key has too many "
		    "columns", t->name);
		goto out;
	}
	if ((cells = calloc(t->ncols + 1, sizeof(*cells))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	strb_addf(&sb, "SELECT pk, cl, hash, st FROM %s",
	    state_table(t->tid, sname));
	if ((r = rp_prepare(c->rp, strb_str(&sb), &state, err)) != 0)
		goto out;
	strb_reset(&sb);
	strb_add(&sb, "SELECT ");
	sql_cols(&sb, t);
	strb_add(&sb, " FROM ");
	strb_add_ident(&sb, t->name);
	strb_add(&sb, " WHERE ");
	sql_pk_where(&sb, t, 1);
	if ((r = rp_prepare(c->rp, strb_str(&sb), &sel, err)) != 0)
		goto out;
	while ((s = sqlite3_step(state)) == SQLITE_ROW) {
		if (++seen % 65536 == 0 && progress != NULL)
			progress(parg, t->name, seen, 0);
		if (sqlite3_column_bytes(state, 2) != ROW_HASH_LEN ||
		    rowstate_decode(&rs, sqlite3_column_blob(state, 3),
		    (size_t)sqlite3_column_bytes(state, 3)) != 0) {
			r = mule_errf(err, MULE_EDB, "table %s: damaged state",
			    t->name);
			goto out;
		}
		rs.cl = (uint64_t)sqlite3_column_int64(state, 1);
		send_cl = above(c, &rs.cl_st);
		n = 0;
		if (rs.cl % 2 == 1)
			for (i = 0; i < rs.ncols && i < t->ncols; i++)
				if (above(c, &rs.colst[i]))
					n++;
		if (!send_cl && n == 0) {
			rowstate_release(&rs);
			continue;
		}
		memset(&rc, 0, sizeof(rc));
		if (t->intpk) {
			pk[0].type = MVAL_INT;
			pk[0].i = sqlite3_column_int64(state, 0);
			pk[0].p = NULL;
			pk[0].n = 0;
		} else if (pk_decode(sqlite3_column_blob(state, 0),
		    (size_t)sqlite3_column_bytes(state, 0), pk, t->npk) != 0) {
			r = mule_errf(err, MULE_EDB, "table %s: damaged key",
			    t->name);
			goto out;
		}
		rc.npk = t->npk;
		rc.pk = pk;
		rc.cl = rs.cl;
		to_stamp(c, &rs.cl_st, &rc.cl_stamp);
		memcpy(rc.hash, sqlite3_column_blob(state, 2), ROW_HASH_LEN);
		if (n > 0) {
			for (i = 0; i < t->npk; i++)
				mval_bind(sel, (int)i + 1, &pk[i]);
			if (sqlite3_step(sel) != SQLITE_ROW) {
				r = mule_errf(err, MULE_EINTERNAL, "table %s: "
				    "row in state but not in table", t->name);
				goto out;
			}
			n = 0;
			for (i = 0; i < rs.ncols && i < t->ncols; i++) {
				if (!above(c, &rs.colst[i]))
					continue;
				cells[n].col = i;
				mval_from_stmt(&cells[n].v, sel, (int)i);
				to_stamp(c, &rs.colst[i], &cells[n].st);
				n++;
			}
		}
		rc.ncells = n;
		rc.cells = cells;
		if (!started) {
			if ((r = sink->table(sink->arg, t)) != 0)
				goto out;
			started = 1;
		}
		r = sink->row(sink->arg, &rc);
		sqlite3_reset(sel);
		sqlite3_clear_bindings(sel);
		rowstate_release(&rs);
		if (r != 0)
			goto out;
	}
	if (s != SQLITE_DONE) {
		r = rp_dberr(c->rp, s, err, t->name);
		goto out;
	}
	r = 0;
out:
	rowstate_release(&rs);
	free(cells);
	sqlite3_finalize(state);
	sqlite3_finalize(sel);
	strb_release(&sb);
	return r;
}

int
replica_changes(struct replica *rp, const struct vector *base,
    const struct replica_out_sink *sink, replica_progress_fn progress,
    void *parg, char *err)
{
	struct replica_table **tabs = NULL;
	struct outctx c;
	size_t i, n = 0;
	int r = MULE_EINTERNAL;

	memset(&c, 0, sizeof(c));
	c.rp = rp;
	c.base = base;
	if ((r = rp_origins_load(rp, &c.sites, &c.nsites, err)) != 0 ||
	    (r = replica_tables(rp, &tabs, &n, err)) != 0)
		goto out;
	if ((c.limit = calloc(c.nsites + 1, sizeof(uint64_t))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < c.nsites; i++)
		c.limit[i] = vector_get(base, c.sites[i]);
	for (i = 0; i < n; i++)
		if ((r = changes_table(&c, tabs[i], sink, progress, parg,
		    err)) != 0)
			goto out;
	r = 0;
out:
	free(c.sites);
	free(c.limit);
	replica_tables_free(tabs, n);
	return r;
}
