/*
 * replica/store/open.c — making a database a replica (its _mule_*
 * tables), opening and closing one (see store.h).
 */
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
	rp->format = sqlite3_column_int(st, 1);
	if (rp->format > STATE_FORMAT) {
		r = mule_errf(err, MULE_ENOTREPLICA, "%s keeps mule's state in "
		    "format %d, newer than this mule reads (%d to %d): it was "
		    "written by a newer mule; use that one", path, rp->format,
		    STATE_FORMAT_OLDEST, STATE_FORMAT);
		goto out;
	}
	if (rp->format < STATE_FORMAT_OLDEST) {
		r = mule_errf(err, MULE_ENOTREPLICA, "%s keeps mule's state in "
		    "format %d, and this mule reads formats %d to %d (they "
		    "record what each value's writer had seen); make the "
		    "replica again: keep a copy, then 'mule init' a copy of the "
		    "data and exchange a --full bundle with its peers", path,
		    rp->format, STATE_FORMAT_OLDEST, STATE_FORMAT);
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
	free(rp->dpend);
	free(rp->direct);
	free(rp->path);
	free(rp);
}
