/*
 * replica/sets/map.c — receiving-side mappings: a peer's table (and some of
 * its columns) land in a differently named local table (and columns).
 * Applied by replica_apply_table before the columns are matched.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

#define MAP_COLS_MAX 2000	/* column pairs in one map */

void
replica_maps_free(struct replica_map *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].rtable);
		free(v[i].ltable);
		strv_free(v[i].rcols, v[i].ncols);
		strv_free(v[i].lcols, v[i].ncols);
	}
	free(v);
}

/* Column pairs of a map: named, existing here, none named twice. */
static int
map_check_cols(const struct replica_table *t, const char *ltable,
    const char *const *rcols, const char *const *lcols, size_t ncols,
    char *err)
{
	size_t i, k;

	for (i = 0; i < ncols; i++) {
		if (*rcols[i] == '\0')
			return mule_errf(err, MULE_EINVAL, "an empty remote "
			    "column name");
		if (!rp_col_index(t, lcols[i], NULL))
			return mule_errf(err, MULE_EINVAL, "table %s has no "
			    "column '%s'", ltable, lcols[i]);
		for (k = 0; k < i; k++)
			if (strcmp(rcols[k], rcols[i]) == 0 ||
			    strcmp(lcols[k], lcols[i]) == 0)
				return mule_errf(err, MULE_EINVAL, "column "
				    "'%s' is named twice", strcmp(rcols[k],
				    rcols[i]) == 0 ? rcols[i] : lcols[i]);
	}
	return 0;
}

/* Writes a map's column pairs (inside the caller's transaction). */
static int
map_write_cols(struct replica *rp, const char *peer, const char *rtable,
    const char *const *rcols, const char *const *lcols, size_t ncols,
    char *err)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc, r;

	if ((r = rp_prepare(rp, "INSERT INTO _mule_map_cols(peer, rtable, "
	    "rcol, lcol) VALUES (?, ?, ?, ?)", &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rtable, -1, SQLITE_STATIC);
	for (i = 0; i < ncols && r == 0; i++) {
		sqlite3_bind_text(st, 3, rcols[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, lcols[i], -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			r = rp_dberr(rp, rc, err, "write map");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return r;
}

int
replica_map(struct replica *rp, const char *peer, const char *rtable,
    const char *ltable, const char *const *rcols, const char *const *lcols,
    size_t ncols, char *err)
{
	struct replica_table *t = NULL;
	struct replica_peer p;
	sqlite3_stmt *st = NULL;
	int rc, r = MULE_EINTERNAL, began = 0;

	if ((r = replica_peer_get(rp, peer, &p, err)) != 0)
		goto out;
	if (*rtable == '\0' || rp_reserved_table(rtable)) {
		r = mule_errf(err, MULE_EINVAL, "'%s' is not a table name a "
		    "peer can send", rtable);
		goto out;
	}
	if (replica_table_describe(rp, ltable, &t, NULL) != 0 ||
	    rp_reserved_table(ltable)) {
		r = mule_errf(err, MULE_ENOTFOUND, "no table named '%s' here; "
		    "create it first", ltable);
		goto out;
	}
	if (ncols > MAP_COLS_MAX) {
		r = mule_errf(err, MULE_ETOOLARGE, "more than %d column pairs",
		    MAP_COLS_MAX);
		goto out;
	}
	if ((r = map_check_cols(t, ltable, rcols, lcols, ncols, err)) != 0)
		goto out;
	if ((r = rp_begin(rp, err)) != 0)
		goto out;
	began = 1;
	if ((r = rp_sets_ensure(rp, err)) != 0 ||
	    (r = rp_exec_text(rp, "DELETE FROM _mule_map_cols WHERE peer = ?1 "
	    "AND rtable = ?2", peer, rtable, NULL, "write map", err)) != 0 ||
	    (r = rp_prepare(rp, "INSERT OR REPLACE INTO _mule_maps(peer, "
	    "rtable, ltable) VALUES (?, ?, ?)", &st, err)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rtable, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ltable, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "write map");
		goto out;
	}
	if ((r = map_write_cols(rp, peer, rtable, rcols, lcols, ncols,
	    err)) != 0 || (r = rp_commit(rp, err)) != 0)
		goto out;
	began = 0;
	r = 0;
out:
	sqlite3_finalize(st);
	if (began)
		rp_rollback(rp);
	replica_table_free(t);
	return r;
}

int
replica_unmap(struct replica *rp, const char *peer, const char *rtable,
    char *err)
{
	struct replica_peer p;
	int r, began = 0;

	if ((r = replica_peer_get(rp, peer, &p, err)) != 0)
		return r;
	if (!rp_has_table(rp, "_mule_maps"))
		return mule_errf(err, MULE_ENOTFOUND, "no map of %s's table "
		    "'%s'", peer, rtable);
	if ((r = rp_begin(rp, err)) != 0)
		return r;
	began = 1;
	if ((r = rp_exec_text(rp, "DELETE FROM _mule_maps WHERE peer = ?1 AND "
	    "rtable = ?2", peer, rtable, NULL, "write map", err)) != 0)
		goto out;
	if (sqlite3_changes(rp->db) == 0) {
		r = mule_errf(err, MULE_ENOTFOUND, "no map of %s's table '%s'",
		    peer, rtable);
		goto out;
	}
	if ((r = rp_exec_text(rp, "DELETE FROM _mule_map_cols WHERE peer = ?1 "
	    "AND rtable = ?2", peer, rtable, NULL, "write map", err)) != 0 ||
	    (r = rp_commit(rp, err)) != 0)
		goto out;
	began = 0;
out:
	if (began)
		rp_rollback(rp);
	return r;
}

/* The column pairs of one map. */
static int
map_cols(struct replica *rp, const char *peer, struct replica_map *m,
    char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	if ((r = rp_prepare(rp, "SELECT rcol, lcol FROM _mule_map_cols WHERE "
	    "peer = ? AND rtable = ? ORDER BY rcol", &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->rtable, -1, SQLITE_STATIC);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (rp_column_push(&m->rcols, m->ncols, st, 0) != 0) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			break;
		}
		if (rp_column_push(&m->lcols, m->ncols, st, 1) != 0) {
			free(m->rcols[m->ncols]);
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			break;
		}
		m->ncols++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = rp_dberr(rp, rc, err, "read maps");
	sqlite3_finalize(st);
	return r;
}

static int
map_fill(void *arg, sqlite3_stmt *st, void *elem, char *err)
{
	const struct rp_peer_read *pr = arg;
	struct replica_map *m = elem;

	if ((m->rtable = rp_column_dup(st, 0)) == NULL ||
	    (m->ltable = rp_column_dup(st, 1)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return map_cols(pr->rp, pr->peer, m, err);
}

static void
map_release(void *v, size_t n)
{
	replica_maps_free(v, n);
}

/* Maps of `peer`; with rtable, only that one. */
static int
maps_read(struct replica *rp, const char *peer, const char *rtable,
    struct replica_map **out, size_t *n, char *err)
{
	void *v;
	int r;

	if ((r = rp_peer_rows(rp, "_mule_maps", "SELECT rtable, ltable FROM "
	    "_mule_maps WHERE peer = ?1 AND (?2 IS NULL OR rtable = ?2) "
	    "ORDER BY rtable", peer, rtable, sizeof(**out), map_fill,
	    map_release, &v, n, "read maps", err)) == 0)
		*out = v;
	return r;
}

int
replica_maps(struct replica *rp, const char *peer, struct replica_map **out,
    size_t *n, char *err)
{
	struct replica_peer p;
	int r;

	if ((r = replica_peer_get(rp, peer, &p, err)) != 0)
		return r;
	return maps_read(rp, peer, NULL, out, n, err);
}

int
rp_map_names(struct replica *rp, const char *peer, const char *table,
    uint32_t ncols, const char *const *cols, char **ltable, char ***lcols,
    char *err)
{
	struct replica_map *m = NULL;
	char **v = NULL;
	size_t n = 0, k;
	uint32_t i, j;
	int r;

	if ((r = maps_read(rp, peer, table, &m, &n, err)) != 0)
		goto out;
	if (n == 0) {
		*ltable = NULL;
		*lcols = NULL;
		goto out;
	}
	if ((v = calloc(ncols + 1, sizeof(*v))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < ncols; i++) {
		for (k = 0; k < m[0].ncols; k++)
			if (strcmp(m[0].rcols[k], cols[i]) == 0)
				break;
		if ((v[i] = strdup(k < m[0].ncols ? m[0].lcols[k] :
		    cols[i])) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(v[j], v[i]) == 0) {
				r = mule_errf(err, MULE_ESCHEMA, "table '%s' "
				    "from %s: two columns land in column '%s' "
				    "of %s; fix the map ('mule map %s --list')",
				    table, peer, v[i], m[0].ltable, peer);
				goto out;
			}
		}
	}
	*ltable = m[0].ltable;
	m[0].ltable = NULL;
	*lcols = v;
	v = NULL;
out:
	strv_free(v, ncols);
	replica_maps_free(m, n);
	return r;
}
