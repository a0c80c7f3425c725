/*
 * replica/store/tables.c — the tracked tables as the store knows them:
 * reading and describing them, their state tables, key SQL, live-row
 * counts (see replica.h, internal.h).  Choosing tables is track/track.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

const char *
state_table(int64_t tid, char buf[32])
{
	snprintf(buf, 32, "_mule_s%lld", (long long)tid);
	return buf;
}

void
replica_table_free(struct replica_table *t)
{
	uint32_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->ncols; i++)
		free(t->cols[i]);
	free(t->cols);
	free(t->pkcols);
	free(t->name);
	free(t);
}

void
replica_tables_free(struct replica_table **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		replica_table_free(v[i]);
	free(v);
}

void
replica_names_free(char **v, size_t n)
{
	strv_free(v, n);
}

int
rp_reserved_table(const char *name)
{
	return strncasecmp(name, "_mule_", 6) == 0 ||
	    strncasecmp(name, "sqlite_", 7) == 0;
}

int
replica_table_describe(struct replica *rp, const char *name,
    struct replica_table **out, char *err)
{
	struct replica_table *t = NULL;
	sqlite3_stmt *st = NULL;
	int rc, r = MULE_EINTERNAL, pkpos[BUFSIZ / 4];
	uint32_t i, npk = 0;
	void *p;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->name = strdup(name)) == NULL)
		goto nomem;
	if ((r = rp_prepare(rp, "SELECT name, pk FROM pragma_table_info(?)"
	    " ORDER BY cid", &st, err)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (t->ncols >= sizeof(pkpos) / sizeof(pkpos[0])) {
			r = mule_errf(err, MULE_ETOOLARGE,
			    "table %s has too many columns", name);
			goto out;
		}
		if ((p = realloc(t->cols, (t->ncols + 1) * sizeof(char *)))
		    == NULL)
			goto nomem;
		t->cols = p;
		if ((t->cols[t->ncols] = strdup((const char *)
		    sqlite3_column_text(st, 0))) == NULL)
			goto nomem;
		pkpos[t->ncols] = sqlite3_column_int(st, 1);
		if (pkpos[t->ncols] > 0)
			npk++;
		t->ncols++;
	}
	if (rc != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, name);
		goto out;
	}
	if (t->ncols == 0) {
		r = mule_errf(err, MULE_ENOTFOUND, "no table named '%s'", name);
		goto out;
	}
	if ((t->pkcols = calloc(npk ? npk : 1, sizeof(uint32_t))) == NULL)
		goto nomem;
	for (i = 0; i < t->ncols; i++)
		if (pkpos[i] > 0 && (uint32_t)pkpos[i] <= npk)
			t->pkcols[pkpos[i] - 1] = i;
	t->npk = npk;
	sqlite3_finalize(st);
	st = NULL;
	/* A single-column key without its own index is the rowid itself. */
	if (npk == 1) {
		if ((r = rp_prepare(rp, "SELECT count(*) FROM "
		    "pragma_index_list(?) WHERE origin = 'pk'", &st, err)) != 0)
			goto out;
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			t->intpk = sqlite3_column_int(st, 0) == 0;
	}
	*out = t;
	t = NULL;
	r = 0;
	goto out;
nomem:
	r = mule_errf(err, MULE_ENOMEM, "out of memory");
out:
	sqlite3_finalize(st);
	replica_table_free(t);
	return r;
}

int
rp_table_get(struct replica *rp, const char *name, struct replica_table **out,
    char *err)
{
	struct replica_table *t = NULL;
	sqlite3_stmt *st = NULL;
	int rc, r = MULE_EINTERNAL;

	if ((r = rp_prepare(rp, "SELECT tid FROM _mule_tables WHERE name = ?",
	    &st, err)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? mule_errf(err, MULE_ENOTFOUND,
		    "table '%s' is not tracked", name) :
		    rp_dberr(rp, rc, err, "read tracked tables");
		goto out;
	}
	if ((r = replica_table_describe(rp, name, &t, err)) != 0)
		goto out;
	t->tid = sqlite3_column_int64(st, 0);
	*out = t;
	t = NULL;
	r = 0;
out:
	sqlite3_finalize(st);
	replica_table_free(t);
	return r;
}

static int
table_fill(void *arg, sqlite3_stmt *st, void *elem, char *err)
{
	const char *name = (const char *)sqlite3_column_text(st, 1);
	struct replica_table **t = elem;
	int r;

	if ((r = replica_table_describe(arg, name, t, err)) == MULE_ENOTFOUND)
		r = mule_errf(err, MULE_ESCHEMA, "tracked table '%s' is gone "
		    "from the database; untrack it or recreate it", name);
	if (r == 0)
		(*t)->tid = sqlite3_column_int64(st, 0);
	return r;
}

static void
table_release(void *v, size_t n)
{
	replica_tables_free(v, n);
}

int
replica_tables(struct replica *rp, struct replica_table ***out, size_t *n,
    char *err)
{
	sqlite3_stmt *st = NULL;
	void *v;
	int r;

	if ((r = rp_prepare(rp, "SELECT tid, name FROM _mule_tables "
	    "ORDER BY name", &st, err)) != 0)
		return r;
	if ((r = rp_rows(rp, st, sizeof(**out), table_fill, rp,
	    table_release, &v, n, "read tracked tables", err)) == 0)
		*out = v;
	sqlite3_finalize(st);
	return r;
}

/* A user table's name (1: skip one of mule's or SQLite's own). */
static int
user_table_fill(void *arg, sqlite3_stmt *st, void *elem, char *err)
{
	if (rp_reserved_table((const char *)sqlite3_column_text(st, 0)))
		return 1;
	if ((*(char **)elem = rp_column_dup(st, 0)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

static void
names_release(void *v, size_t n)
{
	replica_names_free(v, n);
}

int
replica_user_tables(struct replica *rp, char ***names, size_t *n, char *err)
{
	sqlite3_stmt *st = NULL;
	void *v;
	int r;

	if ((r = rp_prepare(rp, "SELECT name FROM sqlite_schema WHERE "
	    "type = 'table' ORDER BY name", &st, err)) != 0)
		return r;
	if ((r = rp_rows(rp, st, sizeof(**names), user_table_fill, NULL,
	    names_release, &v, n, "read schema", err)) == 0)
		*names = v;
	sqlite3_finalize(st);
	return r;
}

void
sql_pk_where(struct strb *sb, const struct replica_table *t, int first)
{
	uint32_t i;

	for (i = 0; i < t->npk; i++) {
		if (i > 0)
			strb_add(sb, " AND ");
		strb_add_ident(sb, t->cols[t->pkcols[i]]);
		strb_addf(sb, " = ?%d", first + (int)i);
	}
}

int
rp_col_index(const struct replica_table *t, const char *name, uint32_t *idx)
{
	uint32_t j;

	for (j = 0; j < t->ncols; j++)
		if (strcmp(t->cols[j], name) == 0) {
			if (idx != NULL)
				*idx = j;
			return 1;
		}
	return 0;
}

void
sql_cols(struct strb *sb, const struct replica_table *t)
{
	uint32_t i;

	for (i = 0; i < t->ncols; i++) {
		if (i > 0)
			strb_add(sb, ", ");
		strb_add_ident(sb, t->cols[i]);
	}
}

/* Adds delta to a tracked table's count of live rows (see internal.h). */
int
rp_alive_get(struct replica *rp, int64_t tid, int64_t *n, char *err)
{
	return rp_scalar(rp, "SELECT alive FROM _mule_tables WHERE tid = ?",
	    tid, 0, n, err);
}

int
rp_alive_add(struct replica *rp, int64_t tid, int64_t delta, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (delta == 0)
		return 0;
	if ((r = rp_prepare(rp, "UPDATE _mule_tables SET alive = alive + ?"
	    " WHERE tid = ?", &st, err)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, delta);
	sqlite3_bind_int64(st, 2, tid);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "update table counts");
	return 0;
}

int
rp_prepare_row_select(struct replica *rp, const struct replica_table *t,
    sqlite3_stmt **st, char *err)
{
	struct strb sb;
	int r;

	strb_init(&sb);
	strb_add(&sb, "SELECT ");
	sql_cols(&sb, t);
	strb_add(&sb, " FROM ");
	strb_add_ident(&sb, t->name);
	strb_add(&sb, " WHERE ");
	sql_pk_where(&sb, t, 1);
	r = strb_error(&sb) ? mule_errf(err, MULE_ENOMEM, "out of memory") :
	    rp_prepare(rp, strb_str(&sb), st, err);
	strb_release(&sb);
	return r;
}
