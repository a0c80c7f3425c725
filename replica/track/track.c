/* replica/track/track.c — choosing the tables to track (see replica.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

/* Whether pk column i is declared with INTEGER affinity. */
static int
pk_is_integer(struct replica *rp, const char *table, const char *col)
{
	sqlite3_stmt *st = NULL;
	int yes = 0;

	if (rp_prepare(rp, "SELECT type FROM pragma_table_info(?) WHERE "
	    "name = ?", &st, NULL) != 0)
		return 0;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *ty = (const char *)sqlite3_column_text(st, 0);
		yes = ty != NULL && strcasestr(ty, "INT") != NULL;
	}
	sqlite3_finalize(st);
	return yes;
}

int
replica_track(struct replica *rp, const char *name, int *intkey,
    int *already, char *err)
{
	struct replica_table *t = NULL;
	sqlite3_stmt *st = NULL;
	int64_t tid;
	int rc, r = MULE_EINTERNAL;

	*already = 0;
	*intkey = 0;
	if (rp_reserved_table(name)) {
		r = mule_errf(err, MULE_EINVAL,
		    "'%s' is an internal table and cannot be tracked", name);
		goto out;
	}
	if (rp_table_get(rp, name, &t, NULL) == 0) {
		*already = 1;
		r = 0;
		goto out;
	}
	if ((r = replica_table_describe(rp, name, &t, err)) != 0)
		goto out;
	if (t->npk == 0) {
		r = mule_errf(err, MULE_ENOPK, "table '%s' has no primary key: "
		    "mule identifies a record by its key, so that the same "
		    "record at two sites can be matched; add a PRIMARY KEY "
		    "(for example by rebuilding the table) and track it again",
		    name);
		goto out;
	}
	/* A lone integer key is usually assigned by the application. */
	if (t->npk == 1 && pk_is_integer(rp, name, t->cols[t->pkcols[0]]))
		*intkey = 1;
	if ((r = rp_prepare(rp, "INSERT INTO _mule_tables(name, intpk, cols)"
	    " VALUES (?, ?, '') RETURNING tid", &st, err)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, t->intpk);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rp_dberr(rp, rc, err, "track");
		goto out;
	}
	tid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if ((r = rp_state_create(rp, tid, t->intpk, err)) != 0)
		goto out;
	r = 0;
out:
	sqlite3_finalize(st);
	replica_table_free(t);
	return r;
}

int
replica_untrack(struct replica *rp, const char *name, char *err)
{
	struct replica_table *t = NULL;
	sqlite3_stmt *st = NULL;
	int rc, r = MULE_EINTERNAL;

	if ((r = rp_table_get(rp, name, &t, err)) != 0)
		goto out;
	if ((r = rp_digest_forget(rp, t->tid, err)) != 0 ||
	    (r = rp_capture_drop(rp, t->tid, err)) != 0 ||
	    (r = rp_state_drop(rp, t->tid, err)) != 0)
		goto out;
	if ((r = rp_prepare(rp, "DELETE FROM _mule_tables WHERE tid = ?", &st,
	    err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, t->tid);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "untrack");
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	replica_table_free(t);
	return r;
}
