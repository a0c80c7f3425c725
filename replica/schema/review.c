/*
 * replica/schema/review.c — schema steps from peers that wait for a
 * person (peer setting `schema review`; docs/decisions.md "Who may change
 * the schema").  One row per peer and version in _mule_schema_review,
 * made on first use: the step's fingerprint and SQL, and whether it is
 * pending, accepted or rejected.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "replica/internal.h"
#include "replica/schema.h"

static const char review_schema[] =
    "CREATE TABLE IF NOT EXISTS _mule_schema_review(peer TEXT NOT NULL, "
    "version INTEGER NOT NULL, fpr BLOB NOT NULL, sql TEXT NOT NULL, "
    "state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', "
    "'rejected')), PRIMARY KEY (peer, version))";

static const char *const state_names[] = { "none", "pending", "accepted",
    "rejected" };

const char *
replica_review_state_name(int state)
{
	return state >= 0 && state <= REPLICA_REVIEW_REJECTED ?
	    state_names[state] : "unknown";
}

static int
state_of(const char *s)
{
	int i;

	for (i = REPLICA_REVIEW_PENDING; s != NULL &&
	    i <= REPLICA_REVIEW_REJECTED; i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return REPLICA_REVIEW_NONE;
}

int
replica_schema_review_state(struct replica *rp, const char *peer,
    uint32_t version, const uint8_t fpr[SCHEMA_FPR_LEN], int *state,
    char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r = MULE_EINTERNAL, s = REPLICA_REVIEW_NONE;

	if (!rp_has_table(rp, "_mule_schema_review")) {
		r = 0;
		goto out;
	}
	if ((r = rp_prepare(rp, "SELECT state FROM _mule_schema_review WHERE "
	    "peer = ?1 AND version = ?2 AND fpr = ?3", &st, err)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_blob(st, 3, fpr, SCHEMA_FPR_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		s = state_of((const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "read schema reviews");
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	if (r == 0)
		*state = s;
	return r;
}

int
replica_schema_review_hold(struct replica *rp, const char *peer,
    uint32_t version, const uint8_t fpr[SCHEMA_FPR_LEN], const char *sql,
    char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	/* A step with another fingerprint replaces an older wait for it. */
	if ((r = rp_exec(rp, review_schema, err)) != 0 ||
	    (r = rp_prepare(rp, "INSERT INTO _mule_schema_review(peer, version, "
	    "fpr, sql, state) VALUES (?1, ?2, ?3, ?4, 'pending') ON CONFLICT "
	    "(peer, version) DO UPDATE SET fpr = excluded.fpr, sql = "
	    "excluded.sql, state = 'pending' WHERE fpr <> excluded.fpr",
	    &st, err)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_blob(st, 3, fpr, SCHEMA_FPR_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, sql, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = rp_dberr(rp, rc, err, "record a schema step to review");
out:
	sqlite3_finalize(st);
	return r;
}

static int
review_fill(void *arg, sqlite3_stmt *st, void *elem, char *err)
{
	struct replica_review *v = elem;
	const char *peer = (const char *)sqlite3_column_text(st, 0);
	const char *sql = (const char *)sqlite3_column_text(st, 3);

	(void)arg;
	v->version = (uint32_t)sqlite3_column_int64(st, 1);
	if (sqlite3_column_bytes(st, 2) == SCHEMA_FPR_LEN)
		memcpy(v->fpr, sqlite3_column_blob(st, 2), SCHEMA_FPR_LEN);
	v->state = state_of((const char *)sqlite3_column_text(st, 4));
	if ((v->peer = strdup(peer != NULL ? peer : "")) == NULL ||
	    (v->sql = strdup(sql != NULL ? sql : "")) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

void
replica_schema_reviews_free(struct replica_review *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].peer);
		free(v[i].sql);
	}
	free(v);
}

static void
reviews_release(void *v, size_t n)
{
	replica_schema_reviews_free(v, n);
}

int
replica_schema_reviews(struct replica *rp, struct replica_review **out,
    size_t *n, char *err)
{
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	int r;

	*out = NULL;
	*n = 0;
	if (!rp_has_table(rp, "_mule_schema_review"))
		return 0;
	if ((r = rp_prepare(rp, "SELECT peer, version, fpr, sql, state FROM "
	    "_mule_schema_review ORDER BY version, peer", &st, err)) == 0 &&
	    (r = rp_rows(rp, st, sizeof(struct replica_review), review_fill,
	    NULL, reviews_release, &v, n, "read schema reviews", err)) == 0)
		*out = v;
	sqlite3_finalize(st);
	return r;
}

int
replica_schema_review_decide(struct replica *rp, uint32_t version,
    int accept, size_t *n, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r = MULE_EINTERNAL;

	if (!rp_has_table(rp, "_mule_schema_review")) {
		r = mule_errf(err, MULE_ENOTFOUND, "no schema step waits for "
		    "review here");
		goto out;
	}
	if ((r = rp_prepare(rp, "UPDATE _mule_schema_review SET state = ?1 "
	    "WHERE version = ?2 AND state = 'pending'", &st, err)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, accept ? "accepted" : "rejected", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, version);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "decide a schema review");
		goto out;
	}
	if (sqlite3_changes(rp->db) == 0) {
		r = mule_errf(err, MULE_ENOTFOUND, "no schema step %u waits "
		    "for review (mule schema review lists them)", version);
		goto out;
	}
	*n = (size_t)sqlite3_changes(rp->db);
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}
