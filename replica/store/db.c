/* replica/store/db.c — opening, creating and transactions (see replica.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

/* mule's bookkeeping; see docs/state.md for what each table holds. */
static const char *const state_sql[] = {
	"CREATE TABLE _mule_site("
	" id BLOB NOT NULL, name TEXT NOT NULL, lamport INTEGER NOT NULL,"
	" format INTEGER NOT NULL, key_id BLOB NOT NULL,"
	" sign_pk BLOB NOT NULL, box_pk BLOB NOT NULL,"
	" floor INTEGER NOT NULL DEFAULT 0, counter INTEGER NOT NULL"
	" DEFAULT -1)",
	"CREATE TABLE _mule_journal("
	" lamport INTEGER NOT NULL, tid INTEGER NOT NULL, pk NOT NULL,"
	" PRIMARY KEY(lamport, tid, pk)) WITHOUT ROWID",
	"CREATE TABLE _mule_origins("
	" idx INTEGER PRIMARY KEY, site BLOB NOT NULL UNIQUE)",
	"CREATE TABLE _mule_peers("
	" name TEXT PRIMARY KEY, key_id BLOB NOT NULL UNIQUE,"
	" sign_pk BLOB NOT NULL, box_pk BLOB NOT NULL, site BLOB)",
	"CREATE TABLE _mule_peer_props("
	" peer TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	" PRIMARY KEY(peer, key)) WITHOUT ROWID",
	"CREATE TABLE _mule_tables("
	" tid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" intpk INTEGER NOT NULL, cols TEXT NOT NULL, alive INTEGER NOT NULL"
	" DEFAULT 0, baseline INTEGER NOT NULL DEFAULT 1)",
	"CREATE TABLE _mule_vectors("
	" peer TEXT NOT NULL, kind TEXT NOT NULL, origin INTEGER NOT NULL,"
	" counter INTEGER NOT NULL, PRIMARY KEY(peer, kind, origin))"
	" WITHOUT ROWID",
	"CREATE TABLE _mule_bundles("
	" id INTEGER PRIMARY KEY, bundle BLOB NOT NULL, dir TEXT NOT NULL,"
	" peer TEXT NOT NULL, seq INTEGER, file TEXT, summary TEXT, top BLOB,"
	" at TEXT NOT NULL DEFAULT (datetime('now')), UNIQUE(bundle, dir))",
	"CREATE TABLE _mule_conflicts("
	" id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, pk TEXT NOT NULL,"
	" pkey BLOB NOT NULL, col TEXT NOT NULL, local TEXT NOT NULL,"
	" local_v, local_lamport INTEGER, local_origin BLOB,"
	" remote TEXT NOT NULL, remote_v, remote_lamport INTEGER,"
	" remote_origin BLOB, winner TEXT NOT NULL, bundle BLOB,"
	" resolved INTEGER NOT NULL DEFAULT 0,"
	" kind INTEGER NOT NULL DEFAULT 0)",
	"CREATE TABLE _mule_config(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
	NULL
};

int
rp_sqlerr(sqlite3 *db, int rc, char *err, const char *what)
{
	int code;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = MULE_EBUSY;
		break;
	case SQLITE_NOTADB:
		code = MULE_ENOTDB;
		break;
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		code = MULE_EREADONLY;
		break;
	case SQLITE_FULL:
		code = MULE_ENOSPACE;
		break;
	case SQLITE_NOMEM:
		code = MULE_ENOMEM;
		break;
	case SQLITE_IOERR:
		code = MULE_EIO;
		break;
	default:
		code = MULE_EDB;
	}
	if (code == MULE_EBUSY)
		return mule_errf(err, code,
		    "%s: database is locked by another program (waited %d s); "
		    "try again when it is done", what, REPLICA_BUSY_MS / 1000);
	return mule_errf(err, code, "%s: %s", what,
	    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

int
rp_dberr(struct replica *rp, int rc, char *err, const char *what)
{
	return rp_sqlerr(rp->db, rc, err, what);
}

int
rp_prepare(struct replica *rp, const char *sql, sqlite3_stmt **st, char *err)
{
	int rc = sqlite3_prepare_v2(rp->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK)
		return rp_dberr(rp, rc, err, "prepare");
	return 0;
}

int
rp_exec(struct replica *rp, const char *sql, char *err)
{
	int rc = sqlite3_exec(rp->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return rp_dberr(rp, rc, err, rp->path);
	return 0;
}

int
rp_begin(struct replica *rp, char *err)
{
	rp->changes_at_begin = sqlite3_total_changes64(rp->db);
	rp->state_written = 0;
	return rp_exec(rp, "BEGIN IMMEDIATE", err);
}

int
rp_file_counter(struct replica *rp, int64_t *counter)
{
	unsigned char b[4];
	int fd, ok;

	if ((fd = open(rp->path, O_RDONLY | O_CLOEXEC)) < 0)
		return MULE_EIO;
	ok = pread(fd, b, 4, 24) == 4;
	close(fd);
	if (!ok)
		return MULE_EIO;
	*counter = ((int64_t)b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
	return 0;
}

int
rp_commit(struct replica *rp, char *err)
{
	sqlite3_stmt *st = NULL;
	int64_t c;
	int rc, r;

	/*
	 * In rollback-journal mode our COMMIT raises the file change
	 * counter by exactly one; remembering that value lets the next scan
	 * see that no other program wrote since (see replica_scan).  In WAL
	 * mode the counter does not move, so the value never matches and
	 * scans always run.
	 */
	/* A state overlay grown past its threshold goes into main. */
	if ((r = rp_state_fold_due(rp, err)) != 0)
		return r;
	if (rp_file_counter(rp, &c) != 0)
		c = -2;
	if ((r = rp_prepare(rp, "UPDATE _mule_site SET counter = ?", &st,
	    err)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, c >= 0 ? (c + 1) & 0xffffffff : -1);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "commit");
	return rp_exec(rp, "COMMIT", err);
}

void
rp_rollback(struct replica *rp)
{
	if (!sqlite3_get_autocommit(rp->db))
		sqlite3_exec(rp->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Opens the SQLite file; `create` allows creating a missing file. */
static int
db_open(const char *path, int flags, sqlite3 **out, char *err)
{
	sqlite3 *db = NULL;
	int rc, r = MULE_EINTERNAL;

	rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = rp_sqlerr(db, rc, err, path);
		goto out;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, REPLICA_BUSY_MS);
	/* Reading the schema proves it is a SQLite database. */
	rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL,
	    NULL, NULL);
	if ((rc & 0xff) == SQLITE_NOTADB) {
		r = mule_errf(err, MULE_ENOTDB,
		    "%s is not a SQLite database", path);
		goto out;
	}
	if (rc != SQLITE_OK) {
		r = rp_sqlerr(db, rc, err, path);
		goto out;
	}
	*out = db;
	db = NULL;
	r = 0;
out:
	sqlite3_close(db);
	return r;
}

static int
has_state(sqlite3 *db, int *yes, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r = MULE_EINTERNAL;

	rc = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE "
	    "type = 'table' AND name = '_mule_site'", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		r = rp_sqlerr(db, rc, err, "read schema");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = rp_sqlerr(db, rc, err, "read schema");
		goto out;
	}
	*yes = rc == SQLITE_ROW;
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int
replica_check_name(const char *name, char *err)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > REPLICA_NAME_MAX)
		return mule_errf(err, MULE_EINVAL,
		    "name '%s' must be 1 to %d characters", name,
		    REPLICA_NAME_MAX);
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return mule_errf(err, MULE_EINVAL,
			    "name '%s' may hold only letters, digits, "
			    "'.', '_' and '-'", name);
	}
	return 0;
}

int
replica_init(const char *path, const char *name,
    const uint8_t site_id[SITE_ID_LEN], const struct ident_pub *pub,
    char *err)
{
	struct replica rp;
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	int i, yes, rc, r = MULE_EINTERNAL, began = 0;

	memset(&rp, 0, sizeof(rp));
	if ((r = replica_check_name(name, err)) != 0)
		goto out;
	if ((r = db_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    &db, err)) != 0)
		goto out;
	rp.db = db;
	rp.path = (char *)path;
	if ((r = has_state(db, &yes, err)) != 0)
		goto out;
	if (yes) {
		r = mule_errf(err, MULE_EEXIST,
		    "%s is already a mule replica", path);
		goto out;
	}
	if ((r = rp_begin(&rp, err)) != 0)
		goto out;
	began = 1;
	for (i = 0; state_sql[i] != NULL; i++)
		if ((r = rp_exec(&rp, state_sql[i], err)) != 0)
			goto out;
	if ((r = rp_prepare(&rp, "INSERT INTO _mule_site(id, name, lamport,"
	    " format, key_id, sign_pk, box_pk) VALUES (?, ?, 0, ?, ?, ?, ?)",
	    &st, err)) != 0)
		goto out;
	sqlite3_bind_blob(st, 1, site_id, SITE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, STATE_FORMAT);
	sqlite3_bind_blob(st, 4, pub->key_id, IDENT_KEYID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, pub->sign_pk, IDENT_PK_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, pub->box_pk, IDENT_PK_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = rp_dberr(&rp, rc, err, path);
		goto out;
	}
	memcpy(rp.site_id, site_id, SITE_ID_LEN);
	/* Origin 0 is the zero stamp's; we are origin 1. */
	{
		uint8_t zero[SITE_ID_LEN] = { 0 };
		int64_t idx;
		if ((r = rp_origin_idx(&rp, zero, &idx, err)) != 0 ||
		    (r = rp_origin_idx(&rp, site_id, &idx, err)) != 0)
			goto out;
	}
	if ((r = rp_commit(&rp, err)) != 0)
		goto out;
	began = 0;
	r = 0;
out:
	sqlite3_finalize(st);
	if (began)
		rp_rollback(&rp);
	sqlite3_close(db);
	return r;
}

int
replica_open(const char *path, int readonly, struct replica **out,
    char *err)
{
	struct replica *rp = NULL;
	sqlite3_stmt *st = NULL;
	struct stat sb;
	int yes, rc, r = MULE_EINTERNAL;

	if (stat(path, &sb) != 0) {
		r = mule_errf(err, MULE_ENOTFOUND, "%s: %s", path,
		    strerror(errno));
		goto out;
	}
	if ((rp = calloc(1, sizeof(*rp))) == NULL ||
	    (rp->path = strdup(path)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	rp->readonly = readonly;
	if ((r = db_open(path, readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE, &rp->db, err)) != 0)
		goto out;
	if ((r = has_state(rp->db, &yes, err)) != 0)
		goto out;
	if (!yes) {
		r = mule_errf(err, MULE_ENOTREPLICA,
		    "%s is not a mule replica; run: mule init %s", path,
		    path);
		goto out;
	}
	if ((r = rp_prepare(rp, "SELECT id, format FROM _mule_site", &st,
	    err)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW || sqlite3_column_bytes(st, 0) != SITE_ID_LEN) {
		r = mule_errf(err, MULE_ENOTREPLICA,
		    "%s: mule's site record is missing or damaged", path);
		goto out;
	}
	if (sqlite3_column_int(st, 1) != STATE_FORMAT) {
		r = mule_errf(err, MULE_ENOTREPLICA, "%s keeps mule's state in "
		    "format %d, and this mule reads format %d (it records what "
		    "each value's writer had seen); make the replica again: "
		    "keep a copy, then 'mule init' a copy of the data and "
		    "exchange a --full bundle with its peers", path,
		    sqlite3_column_int(st, 1), STATE_FORMAT);
		goto out;
	}
	memcpy(rp->site_id, sqlite3_column_blob(st, 0), SITE_ID_LEN);
	sqlite3_finalize(st);
	st = NULL;
	/* Read-only, our index is looked up (1 unless made by mule clone). */
	if (!readonly) {
		if ((r = rp_origin_idx(rp, rp->site_id, &rp->me, err)) != 0)
			goto out;
	} else if ((r = rp_prepare(rp, "SELECT idx FROM _mule_origins WHERE "
	    "site = ?", &st, err)) == 0) {
		sqlite3_bind_blob(st, 1, rp->site_id, SITE_ID_LEN,
		    SQLITE_STATIC);
		rp->me = sqlite3_step(st) == SQLITE_ROW ?
		    sqlite3_column_int64(st, 0) : 1;
	} else {
		goto out;
	}
	*out = rp;
	rp = NULL;
	r = 0;
out:
	sqlite3_finalize(st);
	replica_close(rp);
	return r;
}

void
replica_close(struct replica *rp)
{
	if (rp == NULL)
		return;
	sqlite3_close(rp->db);
	free(rp->path);
	free(rp);
}

int
replica_site(struct replica *rp, struct replica_site *out, char *err)
{
	struct replica_site s;
	sqlite3_stmt *st = NULL;
	int r = MULE_EINTERNAL;

	memset(&s, 0, sizeof(s));
	if ((r = rp_prepare(rp, "SELECT id, name, lamport, key_id, sign_pk,"
	    " box_pk FROM _mule_site", &st, err)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_bytes(st, 0) != SITE_ID_LEN ||
	    sqlite3_column_bytes(st, 3) != IDENT_KEYID_LEN ||
	    sqlite3_column_bytes(st, 4) != IDENT_PK_LEN ||
	    sqlite3_column_bytes(st, 5) != IDENT_PK_LEN) {
		r = mule_errf(err, MULE_ENOTREPLICA,
		    "%s: mule's site record is damaged", rp->path);
		goto out;
	}
	memcpy(s.id, sqlite3_column_blob(st, 0), SITE_ID_LEN);
	snprintf(s.name, sizeof(s.name), "%s",
	    (const char *)sqlite3_column_text(st, 1));
	s.lamport = (uint64_t)sqlite3_column_int64(st, 2);
	memcpy(s.pub.key_id, sqlite3_column_blob(st, 3), IDENT_KEYID_LEN);
	memcpy(s.pub.sign_pk, sqlite3_column_blob(st, 4), IDENT_PK_LEN);
	memcpy(s.pub.box_pk, sqlite3_column_blob(st, 5), IDENT_PK_LEN);
	*out = s;
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int
rp_origin_idx(struct replica *rp, const uint8_t site[SITE_ID_LEN],
    int64_t *idx, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r = MULE_EINTERNAL;

	if ((r = rp_prepare(rp, "SELECT idx FROM _mule_origins WHERE site = ?",
	    &st, err)) != 0)
		goto out;
	sqlite3_bind_blob(st, 1, site, SITE_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*idx = sqlite3_column_int64(st, 0);
		r = 0;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((r = rp_prepare(rp, "INSERT INTO _mule_origins(idx, site) VALUES"
	    " ((SELECT coalesce(max(idx) + 1, 0) FROM _mule_origins), ?)"
	    " RETURNING idx", &st, err)) != 0)
		goto out;
	sqlite3_bind_blob(st, 1, site, SITE_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = rp_dberr(rp, rc, err, "record origin");
		goto out;
	}
	*idx = sqlite3_column_int64(st, 0);
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int
rp_scalar(struct replica *rp, const char *sql, int64_t arg, int64_t dflt,
    int64_t *out, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = rp_prepare(rp, sql, &st, err)) != 0)
		return r;
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, arg);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*out = dflt;
	else
		r = rp_dberr(rp, rc, err, "read");
	sqlite3_finalize(st);
	return r;
}

/* Binds a, b, c as text ?1, ?2, ?3 as far as the statement has them. */
static void
bind_texts(sqlite3_stmt *st, const char *a, const char *b, const char *c)
{
	const char *v[3] = { a, b, c };
	int i, n = sqlite3_bind_parameter_count(st);

	for (i = 0; i < n && i < 3; i++)
		if (v[i] != NULL)
			sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC);
}

int
rp_exec_text(struct replica *rp, const char *sql, const char *a,
    const char *b, const char *c, const char *what, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = rp_prepare(rp, sql, &st, err)) != 0)
		return r;
	bind_texts(st, a, b, c);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rp_dberr(rp, rc, err, what);
}

int
rp_text(struct replica *rp, const char *sql, const char *a, const char *b,
    char **value, const char *what, char *err)
{
	sqlite3_stmt *st = NULL;
	char *v = NULL;
	int rc, r = MULE_EINTERNAL;

	if ((r = rp_prepare(rp, sql, &st, err)) != 0)
		goto out;
	bind_texts(st, a, b, NULL);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && (v = rp_column_dup(st, 0)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, what);
		goto out;
	}
	*value = v;
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int
rp_has_table(struct replica *rp, const char *name)
{
	return rp_exists(rp, "SELECT 1 FROM sqlite_master WHERE type = "
	    "'table' AND name = ?", name);
}

int
rp_exists(struct replica *rp, const char *sql, const char *a)
{
	sqlite3_stmt *st = NULL;
	int yes = 0;

	if (rp_prepare(rp, sql, &st, NULL) == 0) {
		bind_texts(st, a, NULL, NULL);
		yes = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return yes;
}

int
rp_rows(struct replica *rp, sqlite3_stmt *st, size_t size,
    int (*fill)(void *arg, sqlite3_stmt *st, void *elem, char *err),
    void *arg, void (*release)(void *v, size_t n), void **out, size_t *n,
    const char *what, char *err)
{
	unsigned char *v = NULL;
	size_t cnt = 0, cap = 0;
	void *p;
	int rc, r = MULE_EINTERNAL;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			if ((p = realloc(v, cap * size)) == NULL) {
				r = mule_errf(err, MULE_ENOMEM, "out of memory");
				goto out;
			}
			v = p;
		}
		memset(v + cnt * size, 0, size);
		r = fill(arg, st, v + cnt * size, err);
		if (r < 0) {
			cnt++;	/* release what the failed row holds too */
			goto out;
		}
		if (r == 0)
			cnt++;
	}
	if (rc != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, what);
		goto out;
	}
	*out = cnt != 0 ? v : NULL;
	*n = cnt;
	if (cnt == 0)
		free(v);
	v = NULL;
	cnt = 0;
	r = 0;
out:
	if (v != NULL)
		release(v, cnt);
	sqlite3_reset(st);
	return r;
}

static int
fill_string(void *arg, sqlite3_stmt *st, void *elem, char *err)
{
	if ((*(char **)elem = rp_column_dup(st, 0)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

static void
release_strings(void *v, size_t n)
{
	strv_free(v, n);
}

int
rp_strings(struct replica *rp, const char *sql, const char *a, const char *b,
    char ***out, size_t *n, const char *what, char *err)
{
	sqlite3_stmt *st = NULL;
	void *v;
	int r;

	if ((r = rp_prepare(rp, sql, &st, err)) != 0)
		return r;
	bind_texts(st, a, b, NULL);
	if ((r = rp_rows(rp, st, sizeof(char *), fill_string, NULL,
	    release_strings, &v, n, what, err)) == 0)
		*out = v;
	sqlite3_finalize(st);
	return r;
}

char *
rp_column_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return strdup(s != NULL ? (const char *)s : "");
}

int
rp_column_push(char ***v, size_t n, sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return strv_push(v, n, s != NULL ? (const char *)s : "");
}

int
rp_lamport_get(struct replica *rp, uint64_t *l, char *err)
{
	int64_t v;
	int r;

	if ((r = rp_scalar(rp, "SELECT lamport FROM _mule_site", 0, -1, &v,
	    err)) != 0)
		return r;
	if (v < 0)
		return mule_errf(err, MULE_ENOTREPLICA, "site record missing");
	*l = (uint64_t)v;
	return 0;
}

int
rp_lamport_set(struct replica *rp, uint64_t l, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r = MULE_EINTERNAL;

	if ((r = rp_prepare(rp, "UPDATE _mule_site SET lamport = ?", &st,
	    err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)l);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "update lamport");
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}
