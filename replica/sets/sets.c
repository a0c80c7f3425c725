/*
 * replica/sets/sets.c — sync sets: per peer and table, whether the table is
 * shared, a row filter (an SQL expression over the row's own columns) and
 * a column mask; and, inside pack, which rows go, which go in full and
 * which left the peer's set.  The design is in docs/state.md, "Sync sets".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

#define SET_FILTER_MAX 4096	/* bytes of a row filter */
#define SET_COLS_MAX 2000	/* columns listed in one definition */
#define SET_KEY_ALL "*"		/* sent definition: every row, every column */
#define SET_KEY_NONE "-"	/* sent definition: the table does not go */

/* What the peer may hold of a table since the previous pack. */
enum { OLD_NONE = 0, OLD_ALL = 1, OLD_LISTED = 2 };

struct replica_set {
	struct replica *rp;
	char peer[REPLICA_NAME_MAX + 1];
	int active;		/* 0: every table in full, as without sets */
	int haveset;		/* the peer has definitions */
	int full;		/* pack --full */
	uint64_t hold;		/* tables with this many rows or more keep
				 * their pristine baselines here (0: none) */
	char agree[REPLICA_NAME_MAX + 1];	/* the one plain recipient */
};

static const char *const sets_schema[] = {
	"CREATE TABLE IF NOT EXISTS _mule_shares(peer TEXT NOT NULL, "
	    "tbl TEXT NOT NULL, shared INTEGER NOT NULL, filter TEXT, "
	    "colmode INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(peer, tbl))",
	"CREATE TABLE IF NOT EXISTS _mule_share_cols(peer TEXT NOT NULL, "
	    "tbl TEXT NOT NULL, col TEXT NOT NULL, PRIMARY KEY(peer, tbl, col))",
	"CREATE TABLE IF NOT EXISTS _mule_set_sent(peer TEXT NOT NULL, "
	    "tid INTEGER NOT NULL, def TEXT NOT NULL, PRIMARY KEY(peer, tid))",
	"CREATE TABLE IF NOT EXISTS _mule_members(peer TEXT NOT NULL, "
	    "tid INTEGER NOT NULL, pk NOT NULL, PRIMARY KEY(peer, tid, pk)) "
	    "WITHOUT ROWID",
	"CREATE TABLE IF NOT EXISTS _mule_maps(peer TEXT NOT NULL, "
	    "rtable TEXT NOT NULL, ltable TEXT NOT NULL, "
	    "PRIMARY KEY(peer, rtable))",
	"CREATE TABLE IF NOT EXISTS _mule_map_cols(peer TEXT NOT NULL, "
	    "rtable TEXT NOT NULL, rcol TEXT NOT NULL, lcol TEXT NOT NULL, "
	    "PRIMARY KEY(peer, rtable, rcol))",
};

/* Creates the set and map tables when missing (inside a transaction). */
int
rp_sets_ensure(struct replica *rp, char *err)
{
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(sets_schema) / sizeof(sets_schema[0]) &&
	    r == 0; i++)
		r = rp_exec(rp, sets_schema[i], err);
	return r;
}

/* ---- the filter: an expression over the row's own columns ---- */

/*
 * Refuses what could make the expression more than one expression: ';',
 * comments and unbalanced parentheses outside quotes.
 */
static int
filter_syntax(const char *expr, char *err)
{
	const char *p;
	char q = 0;
	int depth = 0;

	if (strlen(expr) > SET_FILTER_MAX)
		return mule_errf(err, MULE_EINVAL, "the filter is longer than "
		    "%d bytes", SET_FILTER_MAX);
	for (p = expr; *p == ' ' || *p == '\t' || *p == '\n'; p++)
		;
	if (*p == '\0')
		return mule_errf(err, MULE_EINVAL, "the filter is empty");
	for (p = expr; *p != '\0'; p++) {
		if (q != 0) {
			if (*p == q)
				q = 0;
			continue;
		}
		switch (*p) {
		case '\'': case '"': case '`':
			q = *p;
			break;
		case '[':
			q = ']';
			break;
		case '(':
			depth++;
			break;
		case ')':
			if (--depth < 0)
				return mule_errf(err, MULE_EINVAL, "the filter "
				    "has a ')' without its '('");
			break;
		case ';':
			return mule_errf(err, MULE_EINVAL, "the filter holds "
			    "';': it must be one expression, not statements");
		case '-':
		case '/':
			if ((*p == '-' && p[1] == '-') ||
			    (*p == '/' && p[1] == '*'))
				return mule_errf(err, MULE_EINVAL, "the filter "
				    "holds a comment; remove it");
			break;
		}
	}
	if (q != 0 || depth != 0)
		return mule_errf(err, MULE_EINVAL, "the filter has an unclosed "
		    "%s", q != 0 ? "quote" : "'('");
	return 0;
}

struct filter_auth {
	const char *table;
	char other[128];
	int bad;		/* 1: reads another table; 2: does more;
				 * 3: calls a function it may not */
	int selects;		/* SELECTs prepared: 1 is the filter's own,
				 * more are subqueries (refused after the
				 * prepare, so that a read of another table
				 * is named first) */
};

/*
 * The filter may read the row's own columns and call functions, no
 * more: no subquery (it could read other rows, and membership would then
 * change with rows no pack visits), no load_extension.
 */
static int
filter_authorize(void *arg, int action, const char *a1, const char *a2,
    const char *db, const char *trigger)
{
	struct filter_auth *fa = arg;

	(void)trigger;
	switch (action) {
	case SQLITE_SELECT:
		fa->selects++;
		return SQLITE_OK;
	case SQLITE_FUNCTION:
		if (a2 == NULL || (strcasecmp(a2, "load_extension") != 0 &&
		    strcasecmp(a2, "fts3_tokenizer") != 0))
			return SQLITE_OK;
		if (fa->bad == 0) {
			snprintf(fa->other, sizeof(fa->other), "%s", a2);
			fa->bad = 3;
		}
		return SQLITE_DENY;
	case SQLITE_READ:
		if (a1 != NULL && strcmp(a1, fa->table) == 0 &&
		    (db == NULL || strcmp(db, "main") == 0))
			return SQLITE_OK;
		if (fa->bad == 0) {
			snprintf(fa->other, sizeof(fa->other), "%s",
			    a1 != NULL ? a1 : "?");
			fa->bad = 1;
		}
		return SQLITE_DENY;
	default:
		if (fa->bad == 0)
			fa->bad = 2;
		return SQLITE_DENY;
	}
}

/* See internal.h. */
int
rp_filter_prepare(struct replica *rp, const struct replica_table *t,
    const char *expr, int withpk, sqlite3_stmt **out, char *err)
{
	struct filter_auth fa;
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	struct strb sb;
	int rc, r = MULE_EINTERNAL;

	memset(&fa, 0, sizeof(fa));
	fa.table = t->name;
	strb_init(&sb);
	if ((r = filter_syntax(expr, err)) != 0)
		goto out;
	strb_add(&sb, "SELECT 1 FROM ");
	strb_add_ident(&sb, t->name);
	strb_add(&sb, " WHERE ");
	if (withpk) {
		strb_addc(&sb, '(');
		sql_pk_where(&sb, t, 1);
		strb_add(&sb, ") AND ");
	}
	strb_add(&sb, "(");
	strb_add(&sb, expr);
	strb_add(&sb, "\n)");
	if (strb_error(&sb)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	sqlite3_set_authorizer(rp->db, filter_authorize, &fa);
	rc = sqlite3_prepare_v2(rp->db, strb_str(&sb), -1, &st, &tail);
	sqlite3_set_authorizer(rp->db, NULL, NULL);
	if (fa.bad == 1)
		r = mule_errf(err, MULE_EINVAL, "the filter may use only the "
		    "columns of table %s, but it reads table %s", t->name,
		    fa.other);
	else if (fa.bad == 2 || (rc == SQLITE_OK && fa.selects > 1))
		r = mule_errf(err, MULE_EINVAL, "the filter may only read the "
		    "row's own columns (no subqueries)");
	else if (fa.bad == 3)
		r = mule_errf(err, MULE_EINVAL, "the filter may not call %s()",
		    fa.other);
	else if (rc != SQLITE_OK)
		r = mule_errf(err, MULE_EINVAL, "the filter does not work on "
		    "table %s: %s", t->name, sqlite3_errmsg(rp->db));
	else if (st == NULL || (tail != NULL && *tail != '\0'))
		r = mule_errf(err, MULE_EINVAL, "the filter must be one "
		    "expression");
	else
		r = 0;
	if (r != 0)
		goto out;
	*out = st;
	st = NULL;
out:
	sqlite3_finalize(st);
	strb_release(&sb);
	return r;
}

/* ---- definitions ---- */

static int
is_pk(const struct replica_table *t, uint32_t j)
{
	uint32_t i;

	for (i = 0; i < t->npk; i++)
		if (t->pkcols[i] == j)
			return 1;
	return 0;
}

/* The peer must exist and the table must be tracked. */
static int
share_lookup(struct replica *rp, const char *peer, const char *table,
    struct replica_table **t, char *err)
{
	struct replica_peer p;
	int r;

	if ((r = replica_peer_get(rp, peer, &p, err)) != 0)
		return r;
	if (rp_table_get(rp, table, t, NULL) != 0)
		return mule_errf(err, MULE_ENOTFOUND, "no tracked table named "
		    "'%s' here ('mule track %s' starts tracking it)", table,
		    table);
	return 0;
}

static int
count_shares(struct replica *rp, const char *peer, int64_t *n, char *err)
{
	sqlite3_stmt *st = NULL;
	int64_t cnt = 0;
	int rc = SQLITE_ROW, r;

	if (rp_has_table(rp, "_mule_shares")) {
		if ((r = rp_prepare(rp, "SELECT count(*) FROM _mule_shares "
		    "WHERE peer = ?", &st, err)) != 0)
			return r;
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW)
			cnt = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_ROW)
		return rp_dberr(rp, rc, err, "read shares");
	*n = cnt;
	return 0;
}

/* Writes one definition (inside a transaction). */
static int
share_put(struct replica *rp, const char *peer, const char *table,
    int shared, const char *filter, int colmode, const char *const *cols,
    size_t ncols, char *err)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc, r;

	if ((r = rp_sets_ensure(rp, err)) != 0 ||
	    (r = rp_exec_text(rp, "DELETE FROM _mule_share_cols WHERE peer = "
	    "?1 AND tbl = ?2", peer, table, NULL, "sync sets", err)) != 0)
		return r;
	if ((r = rp_prepare(rp, "INSERT OR REPLACE INTO _mule_shares(peer, "
	    "tbl, shared, filter, colmode) VALUES (?, ?, ?, ?, ?)", &st,
	    err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, shared);
	if (filter != NULL)
		sqlite3_bind_text(st, 4, filter, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, colmode);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "write share");
	if ((r = rp_prepare(rp, "INSERT OR IGNORE INTO _mule_share_cols(peer,"
	    " tbl, col) VALUES (?, ?, ?)", &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
	for (i = 0; i < ncols; i++) {
		sqlite3_bind_text(st, 3, cols[i], -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			break;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return i == ncols ? 0 : rp_dberr(rp, rc, err, "write share");
}

int
replica_share(struct replica *rp, const char *peer, const char *table,
    const char *filter, int colmode, const char *const *cols, size_t ncols,
    char *err)
{
	struct replica_table *t = NULL;
	sqlite3_stmt *st = NULL;
	uint32_t j;
	size_t i;
	int r = MULE_EINTERNAL, began = 0;

	if ((r = share_lookup(rp, peer, table, &t, err)) != 0)
		goto out;
	if (colmode < REPLICA_COLS_ALL || colmode > REPLICA_COLS_EXCEPT ||
	    ncols > SET_COLS_MAX || (colmode != REPLICA_COLS_ALL &&
	    ncols == 0)) {
		r = mule_errf(err, MULE_EINVAL, "bad column list");
		goto out;
	}
	for (i = 0; i < ncols; i++) {
		if (!rp_col_index(t, cols[i], &j)) {
			r = mule_errf(err, MULE_EINVAL, "table %s has no column "
			    "'%s'", table, cols[i]);
			goto out;
		}
		if (colmode == REPLICA_COLS_EXCEPT && is_pk(t, j)) {
			r = mule_errf(err, MULE_EINVAL, "column '%s' is part "
			    "of table %s's primary key: a key column always "
			    "goes with its row and cannot be left out",
			    cols[i], table);
			goto out;
		}
	}
	if (filter != NULL && (r = rp_filter_prepare(rp, t, filter, 0, &st,
	    err)) != 0)
		goto out;
	if ((r = rp_begin(rp, err)) != 0)
		goto out;
	began = 1;
	if ((r = share_put(rp, peer, table, 1, filter, colmode, cols, ncols,
	    err)) != 0 || (r = rp_commit(rp, err)) != 0)
		goto out;
	began = 0;
out:
	if (began)
		rp_rollback(rp);
	sqlite3_finalize(st);
	replica_table_free(t);
	return r;
}

int
replica_unshare(struct replica *rp, const char *peer, const char *table,
    char *err)
{
	struct replica_table *t = NULL;
	int64_t n;
	int r = MULE_EINTERNAL, began = 0;

	if ((r = share_lookup(rp, peer, table, &t, err)) != 0 ||
	    (r = count_shares(rp, peer, &n, err)) != 0)
		goto out;
	if (n == 0) {
		r = mule_errf(err, MULE_EINVAL, "%s has no sync set: it gets "
		    "every tracked table; choose what it gets with 'mule "
		    "share %s TABLE' instead", peer, peer);
		goto out;
	}
	if ((r = rp_begin(rp, err)) != 0)
		goto out;
	began = 1;
	if ((r = share_put(rp, peer, table, 0, NULL, REPLICA_COLS_ALL, NULL,
	    0, err)) != 0 || (r = rp_commit(rp, err)) != 0)
		goto out;
	began = 0;
out:
	if (began)
		rp_rollback(rp);
	replica_table_free(t);
	return r;
}

int
replica_share_reset(struct replica *rp, const char *peer, char *err)
{
	struct replica_peer p;
	int r, began = 0;

	if ((r = replica_peer_get(rp, peer, &p, err)) != 0)
		return r;
	if ((r = rp_begin(rp, err)) != 0)
		return r;
	began = 1;
	if ((r = rp_sets_ensure(rp, err)) != 0 ||
	    (r = rp_exec_text(rp, "DELETE FROM _mule_shares WHERE peer = ?1",
	    peer, NULL, NULL, "sync sets", err)) != 0 ||
	    (r = rp_exec_text(rp, "DELETE FROM _mule_share_cols WHERE peer = "
	    "?1", peer, NULL, NULL, "sync sets", err)) != 0 ||
	    (r = rp_commit(rp, err)) != 0)
		goto out;
	began = 0;
out:
	if (began)
		rp_rollback(rp);
	return r;
}

void
replica_shares_free(struct replica_share *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].table);
		free(v[i].filter);
		strv_free(v[i].cols, v[i].ncols);
	}
	free(v);
}

/* The listed columns of one definition. */
static int
share_cols(struct replica *rp, const char *peer, struct replica_share *sh,
    char *err)
{
	return rp_strings(rp, "SELECT col FROM _mule_share_cols WHERE peer = ? "
	    "AND tbl = ? ORDER BY col", peer, sh->table, &sh->cols, &sh->ncols,
	    "read shares", err);
}

static int
share_fill(void *arg, sqlite3_stmt *st, void *elem, char *err)
{
	const struct rp_peer_read *pr = arg;
	struct replica_share *sh = elem;

	sh->shared = sqlite3_column_int(st, 1);
	sh->colmode = sqlite3_column_int(st, 3);
	if ((sh->table = rp_column_dup(st, 0)) == NULL ||
	    (sqlite3_column_type(st, 2) != SQLITE_NULL &&
	    (sh->filter = rp_column_dup(st, 2)) == NULL))
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return share_cols(pr->rp, pr->peer, sh, err);
}

static void
share_release(void *v, size_t n)
{
	replica_shares_free(v, n);
}

int
rp_peer_rows(struct replica *rp, const char *tbl, const char *sql,
    const char *peer, const char *key, size_t size,
    int (*fill)(void *arg, sqlite3_stmt *st, void *elem, char *err),
    void (*release)(void *v, size_t n), void **out, size_t *n,
    const char *what, char *err)
{
	struct rp_peer_read pr = { rp, peer };
	sqlite3_stmt *st = NULL;
	int r;

	if (!rp_has_table(rp, tbl)) {
		*out = NULL;
		*n = 0;
		return 0;
	}
	if ((r = rp_prepare(rp, sql, &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	if (key != NULL)
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	r = rp_rows(rp, st, size, fill, &pr, release, out, n, what, err);
	sqlite3_finalize(st);
	return r;
}

/* Reads the peer's definitions; with `table`, only that one. */
static int
shares_read(struct replica *rp, const char *peer, const char *table,
    struct replica_share **out, size_t *n, char *err)
{
	void *v;
	int r;

	if ((r = rp_peer_rows(rp, "_mule_shares", "SELECT tbl, shared, "
	    "filter, colmode FROM _mule_shares WHERE peer = ?1 AND (?2 IS "
	    "NULL OR tbl = ?2) ORDER BY tbl", peer, table, sizeof(**out),
	    share_fill, share_release, &v, n, "read shares", err)) == 0)
		*out = v;
	return r;
}

int
replica_shares(struct replica *rp, const char *peer,
    struct replica_share **out, size_t *n, char *err)
{
	struct replica_peer p;
	int r;

	if ((r = replica_peer_get(rp, peer, &p, err)) != 0)
		return r;
	return shares_read(rp, peer, NULL, out, n, err);
}

/* Forgets sets, maps and memberships of a peer being removed. */
static int
sets_forget(struct replica *rp, const char *peer, char *err)
{
	static const char *const sql[] = {
		"DELETE FROM _mule_shares WHERE peer = ?1",
		"DELETE FROM _mule_share_cols WHERE peer = ?1",
		"DELETE FROM _mule_set_sent WHERE peer = ?1",
		"DELETE FROM _mule_members WHERE peer = ?1",
		"DELETE FROM _mule_maps WHERE peer = ?1",
		"DELETE FROM _mule_map_cols WHERE peer = ?1",
	};
	size_t i;
	int r = 0;

	if (!rp_has_table(rp, "_mule_shares"))
		return 0;
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]) && r == 0; i++)
		r = rp_exec_text(rp, sql[i], peer, NULL, NULL, "sync sets",
		    err);
	return r;
}

/*
 * Removing a peer lives here, above the store, because it forgets the
 * peer's sync sets and maps too (one transaction).
 */
int
replica_peer_remove(struct replica *rp, const char *name, char *err)
{
	struct replica_peer p;
	int r = MULE_EINTERNAL, began = 0;

	if ((r = replica_peer_get(rp, name, &p, err)) != 0)
		goto out;
	if ((r = rp_begin(rp, err)) != 0)
		goto out;
	began = 1;
	if ((r = rp_peer_delete(rp, name, err)) != 0 ||
	    (r = sets_forget(rp, name, err)) != 0 ||
	    (r = rp_commit(rp, err)) != 0)
		goto out;
	began = 0;
	r = 0;
out:
	if (began)
		rp_rollback(rp);
	return r;
}

/* ---- packing ---- */

int
replica_sets_lost(struct replica *rp, const char *peer, char *err)
{
	if (!rp_has_table(rp, "_mule_set_sent"))
		return 0;
	/* '!' before a filtered definition: re-evaluate every row. */
	return rp_exec_text(rp, "UPDATE _mule_set_sent SET def = '!' || def "
	    "WHERE peer = ?1 AND substr(def, 1, 1) = 'F'", peer, NULL, NULL,
	    "sync sets", err);
}


/* 1 when the peer has definitions or was last sent something partial. */
static int
peer_active(struct replica *rp, const char *peer, int *haveset, int *active,
    char *err)
{
	int64_t n;
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = count_shares(rp, peer, &n, err)) != 0)
		return r;
	rc = SQLITE_DONE;
	if (n == 0 && rp_has_table(rp, "_mule_set_sent")) {
		/* No set now, but the last pack sent part of something. */
		if ((r = rp_prepare(rp, "SELECT 1 FROM _mule_set_sent WHERE "
		    "peer = ? AND def <> '" SET_KEY_ALL "' LIMIT 1", &st,
		    err)) != 0)
			return r;
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "read sync sets");
	*haveset = n > 0;
	*active = n > 0 || rc == SQLITE_ROW;
	return 0;
}

int
replica_set_new(struct replica *rp, const char *const *peers, size_t npeers,
    int full, struct replica_set **out, char *err)
{
	struct replica_set *s = NULL;
	size_t i;
	int haveset, active, r = MULE_EINTERNAL;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	s->rp = rp;
	s->full = full;
	for (i = 0; i < npeers; i++) {
		if ((r = peer_active(rp, peers[i], &haveset, &active,
		    err)) != 0)
			goto out;
		if (active && npeers > 1) {
			r = mule_errf(err, MULE_EINVAL, "%s has a sync set "
			    "('mule share %s --list') and every recipient can "
			    "read the whole bundle: pack for %s alone",
			    peers[i], peers[i], peers[i]);
			goto out;
		}
		if (active) {
			s->active = 1;
			s->haveset = haveset;
			snprintf(s->peer, sizeof(s->peer), "%s", peers[i]);
		}
	}
	if (s->active && ((r = rp_sets_ensure(rp, err)) != 0 ||
	    (r = rp_exec(rp, "CREATE TEMP TABLE IF NOT EXISTS mule_leaves("
	    "tid INTEGER, pk, PRIMARY KEY(tid, pk))", err)) != 0 ||
	    (r = rp_exec(rp, "CREATE TEMP TABLE IF NOT EXISTS mule_oldmem("
	    "tid INTEGER, pk, PRIMARY KEY(tid, pk))", err)) != 0 ||
	    (r = rp_exec(rp, "DELETE FROM temp.mule_leaves", err)) != 0 ||
	    (r = rp_exec(rp, "DELETE FROM temp.mule_oldmem", err)) != 0))
		goto out;
	*out = s;
	s = NULL;
	r = 0;
out:
	free(s);
	return r;
}

void
replica_set_free(struct replica_set *s)
{
	free(s);
}

void
rp_set_tab_release(struct set_tab *tab)
{
	free(tab->send);
	sqlite3_finalize(tab->filt);
	sqlite3_finalize(tab->mem_get);
	sqlite3_finalize(tab->mem_put);
	sqlite3_finalize(tab->mem_del);
	sqlite3_finalize(tab->old_get);
	sqlite3_finalize(tab->leave);
	memset(tab, 0, sizeof(*tab));
}

/*
 * The definition in effect for table t as a string, so that a change is
 * a different string: "-" not shared, "*" everything, else "F" + filter
 * + per masked column "\x1f" + its name.  *filter and *send (heap,
 * NULL when every column goes) describe it.
 */
static int
set_current(struct replica_set *s, const struct replica_table *t,
    struct strb *key, char **filter, uint8_t **send, char *err)
{
	struct replica_share *sh = NULL;
	uint8_t *v = NULL;
	size_t n = 0, i;
	uint32_t j, masked = 0;
	int listed, r;

	*filter = NULL;
	*send = NULL;
	if (!s->haveset) {
		strb_add(key, SET_KEY_ALL);
		return 0;
	}
	if ((r = shares_read(s->rp, s->peer, t->name, &sh, &n, err)) != 0)
		return r;
	if (n == 0 || !sh[0].shared) {
		strb_add(key, SET_KEY_NONE);
		goto done;
	}
	if ((v = calloc(t->ncols + 1, 1)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto done;
	}
	for (j = 0; j < t->ncols; j++) {
		for (i = 0, listed = 0; i < sh[0].ncols && !listed; i++)
			listed = strcmp(sh[0].cols[i], t->cols[j]) == 0;
		v[j] = is_pk(t, j) || (sh[0].colmode == REPLICA_COLS_ALL) ||
		    (sh[0].colmode == REPLICA_COLS_ONLY && listed) ||
		    (sh[0].colmode == REPLICA_COLS_EXCEPT && !listed);
		masked += !v[j];
	}
	if (sh[0].filter == NULL && masked == 0) {
		strb_add(key, SET_KEY_ALL);
		goto done;
	}
	strb_addc(key, 'F');
	if (sh[0].filter != NULL)
		strb_add(key, sh[0].filter);
	for (j = 0; j < t->ncols; j++) {
		if (v[j])
			continue;
		strb_addc(key, '\x1f');
		strb_add(key, t->cols[j]);
	}
	if (masked > 0) {
		*send = v;
		v = NULL;
	}
	*filter = sh[0].filter;
	sh[0].filter = NULL;
done:
	free(v);
	replica_shares_free(sh, n);
	if (r == 0 && strb_error(key))
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
	return r;
}

static int
has_filter(const char *key)
{
	return key[0] == 'F' && key[1] != '\0' && key[1] != '\x1f';
}

/* Prepares sql binding ?1 = peer, ?2 = tid (both stay bound). */
static int
prep_pt(struct replica_set *s, const char *sql, int64_t tid,
    sqlite3_stmt **st, char *err)
{
	int r;

	if ((r = rp_prepare(s->rp, sql, st, err)) != 0)
		return r;
	sqlite3_bind_text(*st, 1, s->peer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(*st, 2, tid);
	return 0;
}

/* Runs sql with ?1 = peer, ?2 = tid. */
static int
exec_pt(struct replica_set *s, const char *sql, int64_t tid, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = prep_pt(s, sql, tid, &st, err)) != 0)
		return r;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rp_dberr(s->rp, rc, err, "sync sets");
}

/*
 * Compares the definition in effect (`key`) with the one the peer was
 * last sent: sets tab->dirty and tab->oldkind, then records `key` as
 * sent.
 */
static int
set_compare_sent(struct replica_set *s, const struct replica_table *t,
    const char *key, const char *filter, struct set_tab *tab, char *err)
{
	sqlite3_stmt *st = NULL;
	const char *old = SET_KEY_ALL;
	int rc, r;

	if ((r = prep_pt(s, "SELECT def FROM _mule_set_sent WHERE peer = ?1 "
	    "AND tid = ?2", t->tid, &st, err)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		old = (const char *)sqlite3_column_text(st, 0);
	else if (rc != SQLITE_DONE) {
		r = rp_dberr(s->rp, rc, err, "read sync sets");
		goto out;
	}
	if (old == NULL)
		old = SET_KEY_ALL;
	tab->dirty = strcmp(old, key) != 0 || (s->full && filter != NULL);
	if (old[0] == '!')
		old++;	/* a bundle was lost: dirty, memberships as they are */
	tab->oldkind = strcmp(old, SET_KEY_NONE) == 0 ? OLD_NONE :
	    has_filter(old) ? OLD_LISTED : OLD_ALL;
	sqlite3_finalize(st);
	st = NULL;
	/* The peer will have been sent this definition. */
	if ((r = prep_pt(s, "INSERT OR REPLACE INTO _mule_set_sent(peer, tid, "
	    "def) VALUES (?1, ?2, ?3)", t->tid, &st, err)) != 0)
		goto out;
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = rp_dberr(s->rp, rc, err, "write sync sets");
out:
	sqlite3_finalize(st);
	return r;
}

/*
 * A filtered set (or one no longer shared, tab->none): the filter and
 * the membership statements; a changed definition keeps the old
 * memberships aside (temp.mule_oldmem) and starts them over.
 */
static int
set_prepare_rows(struct replica_set *s, const struct replica_table *t,
    const char *filter, struct set_tab *tab, char *err)
{
	int r;

	tab->rows = 1;
	if (!tab->none && (r = rp_filter_prepare(s->rp, t, filter, 1, &tab->filt,
	    err)) != 0)
		return mule_errprefix(err, r, "the sync set of %s, table %s "
		    "(change it with 'mule share')", s->peer, t->name);
	if ((r = prep_pt(s, "SELECT 1 FROM _mule_members WHERE peer = ?1 AND "
	    "tid = ?2 AND pk = ?3", t->tid, &tab->mem_get, err)) != 0 ||
	    (r = prep_pt(s, "INSERT OR IGNORE INTO _mule_members(peer, tid, "
	    "pk) VALUES (?1, ?2, ?3)", t->tid, &tab->mem_put, err)) != 0 ||
	    (r = prep_pt(s, "DELETE FROM _mule_members WHERE peer = ?1 AND "
	    "tid = ?2 AND pk = ?3", t->tid, &tab->mem_del, err)) != 0 ||
	    (r = prep_pt(s, "INSERT OR IGNORE INTO temp.mule_leaves(tid, pk) "
	    "VALUES (?2, ?3)", t->tid, &tab->leave, err)) != 0)
		return r;
	if (!tab->dirty)
		return 0;
	tab->all_rows = 1;
	if (tab->oldkind == OLD_LISTED &&
	    ((r = exec_pt(s, "INSERT OR IGNORE INTO temp.mule_oldmem"
	    "(tid, pk) SELECT tid, pk FROM _mule_members WHERE peer = "
	    "?1 AND tid = ?2", t->tid, err)) != 0 ||
	    (r = prep_pt(s, "SELECT 1 FROM temp.mule_oldmem WHERE tid "
	    "= ?2 AND pk = ?3 AND ?1 IS NOT NULL", t->tid,
	    &tab->old_get, err)) != 0))
		return r;
	return exec_pt(s, "DELETE FROM _mule_members WHERE peer = ?1 AND "
	    "tid = ?2", t->tid, err);
}

int
rp_set_definition(struct replica *rp, const char *peer,
    const struct replica_table *t, int *shared, char **filter,
    uint8_t **cols, char *err)
{
	struct replica_set s;
	struct strb key;
	int active, r;

	memset(&s, 0, sizeof(s));
	strb_init(&key);
	*shared = 1;
	*filter = NULL;
	*cols = NULL;
	s.rp = rp;
	snprintf(s.peer, sizeof(s.peer), "%s", peer);
	if ((r = peer_active(rp, peer, &s.haveset, &active, err)) == 0 &&
	    (r = set_current(&s, t, &key, filter, cols, err)) == 0)
		*shared = strcmp(strb_str(&key), SET_KEY_NONE) != 0;
	strb_release(&key);
	return r;
}

int
rp_set_table(struct replica_set *s, const struct replica_table *t,
    struct set_tab *out, char *err)
{
	struct set_tab tb, *tab = &tb;
	struct strb key;
	char *filter = NULL;
	int r = 0;

	memset(tab, 0, sizeof(*tab));
	tab->t = t;
	tab->shared = 1;
	strb_init(&key);
	if (s == NULL || !s->active)
		goto out;
	if ((r = set_current(s, t, &key, &filter, &tab->send, err)) != 0 ||
	    (r = set_compare_sent(s, t, strb_str(&key), filter, tab,
	    err)) != 0)
		goto out;
	if (strcmp(strb_str(&key), SET_KEY_NONE) == 0) {
		free(tab->send);
		tab->send = NULL;
		if (!tab->dirty || tab->oldkind == OLD_NONE) {
			tab->shared = 0;
			r = exec_pt(s, "DELETE FROM _mule_members WHERE peer = "
			    "?1 AND tid = ?2", t->tid, err);
			goto out;
		}
		/* No longer shared: every row the peer may hold leaves. */
		tab->none = 1;
	} else if (filter == NULL) {
		/* Every row: only a changed definition needs a visit. */
		if (tab->dirty) {
			tab->all_rows = 1;
			tab->rows = 1;
			r = exec_pt(s, "DELETE FROM _mule_members WHERE peer = "
			    "?1 AND tid = ?2", t->tid, err);
		}
		goto out;
	}
	r = set_prepare_rows(s, t, filter, tab, err);
out:
	if (r == 0)
		*out = tb;
	else
		rp_set_tab_release(&tb);
	free(filter);
	strb_release(&key);
	return r;
}

/* Steps a lookup keyed by the row (?3): 1 found, 0 not, or an error. */
static int
step_key(struct replica_set *s, sqlite3_stmt *st,
    const struct replica_table *t, const struct mval *pk, int *found,
    char *err)
{
	int rc, r;

	if ((r = rp_bind_statekey(st, 3, t, pk)) != 0)
		return mule_errf(err, r, "table %s: bad key", t->name);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rp_dberr(s->rp, rc, err, "sync sets");
	if (found != NULL)
		*found = rc == SQLITE_ROW;
	return 0;
}

int
rp_set_row(struct replica_set *s, struct set_tab *tab, const struct mval *pk,
    int alive, int sent, int *mode, char *err)
{
	const struct replica_table *t = tab->t;
	uint32_t i;
	int member = 0, in, m = SETROW_NORMAL, rc, r = 0;

	if (!tab->rows)
		goto out;
	if (tab->filt == NULL && !tab->none) {
		/* The definition changed, every row goes: send them whole. */
		m = alive ? SETROW_FULL : SETROW_NORMAL;
		goto out;
	}
	if (!tab->dirty)
		r = step_key(s, tab->mem_get, t, pk, &member, err);
	else if (tab->oldkind == OLD_LISTED)
		r = step_key(s, tab->old_get, t, pk, &member, err);
	else	/* every row went: the peer holds those it was sent */
		member = tab->oldkind == OLD_ALL && sent;
	if (r != 0)
		goto out;
	if (tab->none) {
		/* The table is no longer shared: nothing goes, rows leave. */
		m = SETROW_SKIP;
		if (alive && member)
			r = step_key(s, tab->leave, t, pk, NULL, err);
		goto out;
	}
	if (!alive) {
		/* A deletion goes only where the row went. */
		m = member ? SETROW_NORMAL : SETROW_SKIP;
		if (member && !tab->dirty)
			r = step_key(s, tab->mem_del, t, pk, NULL, err);
		goto out;
	}
	for (i = 0; i < t->npk; i++)
		mval_bind(tab->filt, (int)i + 1, &pk[i]);
	rc = sqlite3_step(tab->filt);
	sqlite3_reset(tab->filt);
	sqlite3_clear_bindings(tab->filt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = rp_dberr(s->rp, rc, err, "evaluate a sync set's filter");
		goto out;
	}
	in = rc == SQLITE_ROW;
	if (in && member && !tab->dirty) {
		m = SETROW_NORMAL;
	} else if (in) {
		/* Entering the set (or a new definition): the whole row. */
		m = SETROW_FULL;
		r = step_key(s, tab->mem_put, t, pk, NULL, err);
	} else {
		m = SETROW_SKIP;
		if (member)
			r = step_key(s, tab->leave, t, pk, NULL, err);
		if (r == 0 && member && !tab->dirty)
			r = step_key(s, tab->mem_del, t, pk, NULL, err);
	}
out:
	if (r == 0)
		*mode = m;
	return r;
}

/* The table the rows that left go in: the key columns only. */
static int
left_table(const struct replica_table *t, struct replica_table *lt,
    struct strb *name, char *err)
{
	uint32_t i;

	memset(lt, 0, sizeof(*lt));
	strb_add(name, REPLICA_LEFT_PREFIX);
	strb_add(name, t->name);
	if ((lt->cols = calloc(t->npk + 1, sizeof(*lt->cols))) == NULL ||
	    (lt->pkcols = calloc(t->npk + 1, sizeof(*lt->pkcols))) == NULL ||
	    strb_error(name))
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	lt->tid = t->tid;
	lt->name = (char *)strb_str(name);
	lt->intpk = t->intpk;
	lt->without_rowid = t->without_rowid;
	lt->ncols = t->npk;
	lt->npk = t->npk;
	for (i = 0; i < t->npk; i++) {
		lt->cols[i] = t->cols[t->pkcols[i]];
		lt->pkcols[i] = i;
	}
	return 0;
}

int
replica_set_finish(struct replica_set *s,
    const struct replica_out_sink *sink, uint64_t *left, char *err)
{
	struct replica_table **tabs = NULL, *t = NULL, lt;
	struct rowchange rc;
	struct mval pk[64];
	sqlite3_stmt *st = NULL;
	struct strb name;
	int64_t tid, cur = -1;
	uint64_t cnt = 0;
	size_t i, n = 0;
	int s_rc, r = MULE_EINTERNAL;

	memset(&lt, 0, sizeof(lt));
	strb_init(&name);
	if (s == NULL || !s->active) {
		*left = 0;
		return 0;
	}
	if ((r = replica_tables(s->rp, &tabs, &n, err)) != 0 ||
	    (r = rp_prepare(s->rp, "SELECT tid, pk FROM temp.mule_leaves "
	    "ORDER BY tid, pk", &st, err)) != 0)
		goto out;
	while ((s_rc = sqlite3_step(st)) == SQLITE_ROW) {
		tid = sqlite3_column_int64(st, 0);
		if (tid != cur) {
			cur = tid;
			for (i = 0, t = NULL; i < n && t == NULL; i++)
				if (tabs[i]->tid == tid)
					t = tabs[i];
			if (t == NULL || t->npk > 64)
				continue;
			free(lt.cols);
			free(lt.pkcols);
			strb_reset(&name);
			if ((r = left_table(t, &lt, &name, err)) != 0 ||
			    (r = sink->table(sink->arg, &lt)) != 0)
				goto out;
		}
		if (t == NULL || t->npk > 64)
			continue;
		memset(&rc, 0, sizeof(rc));
		if (t->intpk) {
			memset(&pk[0], 0, sizeof(pk[0]));
			pk[0].type = MVAL_INT;
			pk[0].i = sqlite3_column_int64(st, 1);
		} else if (pk_decode(sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1), pk, t->npk) != 0) {
			r = mule_errf(err, MULE_EDB, "table %s: damaged key",
			    t->name);
			goto out;
		}
		rc.npk = t->npk;
		rc.pk = pk;
		rc.cl = 1;
		if ((r = sink->row(sink->arg, &rc)) != 0)
			goto out;
		cnt++;
	}
	if (s_rc != SQLITE_DONE) {
		r = rp_dberr(s->rp, s_rc, err, "read rows leaving the set");
		goto out;
	}
	if ((r = rp_exec(s->rp, "DELETE FROM temp.mule_leaves", err)) != 0 ||
	    (r = rp_exec(s->rp, "DELETE FROM temp.mule_oldmem", err)) != 0)
		goto out;
	*left = cnt;
	r = 0;
out:
	free(lt.cols);
	free(lt.pkcols);
	strb_release(&name);
	sqlite3_finalize(st);
	replica_tables_free(tabs, n);
	return r;
}

int
replica_peer_plain(struct replica *rp, const char *peer)
{
	if (rp_has_table(rp, "_mule_shares") && rp_exists(rp, "SELECT 1 FROM "
	    "_mule_shares WHERE peer = ?1", peer))
		return 0;
	if (rp_has_table(rp, "_mule_maps") && rp_exists(rp, "SELECT 1 FROM "
	    "_mule_maps WHERE peer = ?1", peer))
		return 0;
	return 1;
}

void
replica_set_hold_baselines(struct replica_set *s, const char *peer,
    uint64_t rows)
{
	s->hold = s->full || s->active ? 0 : rows;
	snprintf(s->agree, sizeof(s->agree), "%s", peer);
}

int
rp_set_agreed(const struct replica_set *s, const char *table)
{
	sqlite3_stmt *st = NULL;
	int yes;

	if (s == NULL || s->agree[0] == '\0' || rp_prepare(s->rp, "SELECT 1 "
	    "FROM _mule_peer_props WHERE peer = ?1 AND key = '_digest:' || ?2 "
	    "AND value = 'same'", &st, NULL) != 0)
		return 0;
	sqlite3_bind_text(st, 1, s->agree, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
	yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

uint64_t
rp_set_holds_baselines(const struct replica_set *s)
{
	return s != NULL ? s->hold : 0;
}
