/*
 * replica/store/db.c — the SQL helpers every part of the store uses, the
 * site row, origins and the lamport counter (see internal.h).  Making and
 * opening a replica is open.c; transactions are txn.c.
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
replica_wal(struct replica *rp)
{
	sqlite3_stmt *st = NULL;
	int wal = 0;

	if (rp_prepare(rp, "PRAGMA journal_mode", &st, NULL) == 0 &&
	    sqlite3_step(st) == SQLITE_ROW)
		wal = sqlite3_strnicmp((const char *)sqlite3_column_text(st,
		    0), "wal", 3) == 0;
	sqlite3_finalize(st);
	return wal;
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
