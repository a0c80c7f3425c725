/* replica/store/log.c — the bundle log (see store.h); the conflict log is in
 * conflicts.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

int
replica_log_has(struct replica *rp, const uint8_t id[16], const char *dir,
    int *yes, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = rp_prepare(rp, "SELECT 1 FROM _mule_bundles WHERE bundle = ?"
	    " AND dir = ?", &st, err)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dir, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "read bundle log");
	*yes = rc == SQLITE_ROW;
	return 0;
}

/* A vector as a blob: per origin, 16 bytes of site id, 8 of counter. */
static int
vector_blob(const struct vector *v, struct buf *b)
{
	size_t i;
	int r = 0;

	buf_init(b);
	for (i = 0; i < v->n && r == 0; i++)
		if ((r = buf_put(b, v->e[i].origin, SITE_ID_LEN)) == 0)
			r = buf_put_u64(b, v->e[i].counter);
	return r;
}

static int
vector_unblob(const void *p, size_t n, struct vector *v)
{
	struct buf b;
	uint8_t o[SITE_ID_LEN];
	uint64_t c;

	buf_init_ro(&b, p, n);
	while (buf_avail(&b) > 0) {
		if (buf_get_bytes(&b, o, SITE_ID_LEN) != 0 ||
		    buf_get_u64(&b, &c) != 0)
			return MULE_EFORMAT;
		if (vector_set(v, o, c) != 0)
			return MULE_ENOMEM;
	}
	return 0;
}

int
replica_log_add(struct replica *rp, const uint8_t id[16], const char *dir,
    const char *peer, int64_t seq, const char *file, const char *summary,
    const struct vector *top, char *err)
{
	sqlite3_stmt *st = NULL;
	struct buf tb;
	int rc, r;

	if ((r = rp_prepare(rp, "INSERT INTO _mule_bundles(bundle, dir, peer,"
	    " seq, file, summary, top) VALUES (?, ?, ?, ?, ?, ?, ?)", &st,
	    err)) != 0)
		return r;
	if (top != NULL) {
		if (vector_blob(top, &tb) != 0) {
			sqlite3_finalize(st);
			buf_release(&tb);
			return mule_errf(err, MULE_ENOMEM, "out of memory");
		}
		sqlite3_bind_blob(st, 7, tb.d ? (const void *)tb.d : "",
		    (int)tb.len, SQLITE_TRANSIENT);
		buf_release(&tb);
	}
	sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dir, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, seq);
	sqlite3_bind_text(st, 5, file, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, summary, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "write bundle log");
	return 0;
}

int
replica_next_seq(struct replica *rp, int64_t *seq, char *err)
{
	return rp_scalar(rp, "SELECT coalesce(max(seq), 0) + 1 FROM "
	    "_mule_bundles WHERE dir IN ('sent', 'spent')", 0, 1, seq, err);
}

int
replica_log_sent_top(struct replica *rp, int64_t seq, const uint8_t id[16],
    struct vector *out, int *found, char *err)
{
	sqlite3_stmt *st = NULL;
	struct vector v;
	int rc, r;

	*found = 0;
	vector_init(&v);
	vector_release(out);
	if ((r = rp_prepare(rp, "SELECT top FROM _mule_bundles WHERE dir = "
	    "'sent' AND seq = ? AND bundle = ? AND top IS NOT NULL", &st,
	    err)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_blob(st, 2, id, 16, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = vector_unblob(sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), &v)) != 0)
			r = mule_errf(err, r == MULE_ENOMEM ? r : MULE_EDB,
			    r == MULE_ENOMEM ? "out of memory" :
			    "damaged bundle log");
		else
			*found = 1;
	} else if (rc != SQLITE_DONE)
		r = rp_dberr(rp, rc, err, "read bundle log");
	sqlite3_finalize(st);
	if (r == 0) {
		*out = v;
		vector_init(&v);
	}
	vector_release(&v);
	return r;
}

int
replica_log_restored_after(struct replica *rp, int64_t seq, int *yes,
    char *err)
{
	int64_t n = 0;
	int r;

	r = rp_scalar(rp, "SELECT count(*) FROM _mule_bundles WHERE dir = "
	    "'spent' AND file = '' AND seq > ?", seq, 1, &n, err);
	*yes = r == 0 && n > 0;
	return r;
}

int
replica_log_drop(struct replica *rp, const uint8_t id[16], const char *dir,
    char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = rp_prepare(rp, "DELETE FROM _mule_bundles WHERE bundle = ? "
	    "AND dir = ?", &st, err)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dir, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "write bundle log");
	return 0;
}

static void
copy_col(char *dst, size_t n, sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(dst, n, "%s", s != NULL ? (const char *)s : "");
}

static int
logent_fill(void *arg, sqlite3_stmt *st, void *elem, char *err)
{
	struct replica_logent *e = elem;

	e->id = sqlite3_column_int64(st, 0);
	if (sqlite3_column_bytes(st, 1) == 16)
		memcpy(e->bundle, sqlite3_column_blob(st, 1), 16);
	copy_col(e->dir, sizeof(e->dir), st, 2);
	copy_col(e->peer, sizeof(e->peer), st, 3);
	e->seq = sqlite3_column_int64(st, 4);
	copy_col(e->file, sizeof(e->file), st, 5);
	copy_col(e->summary, sizeof(e->summary), st, 6);
	copy_col(e->at, sizeof(e->at), st, 7);
	return 0;
}

static void
logent_release(void *v, size_t n)
{
	free(v);
}

int
replica_log_list(struct replica *rp, struct replica_logent **out, size_t *n,
    char *err)
{
	sqlite3_stmt *st = NULL;
	void *v;
	int r;

	if ((r = rp_prepare(rp, "SELECT id, bundle, dir, peer, seq, file, "
	    "summary, at FROM _mule_bundles ORDER BY id", &st, err)) != 0)
		return r;
	if ((r = rp_rows(rp, st, sizeof(**out), logent_fill, NULL,
	    logent_release, &v, n, "read bundle log", err)) == 0)
		*out = v;
	sqlite3_finalize(st);
	return r;
}

int
replica_log_query(struct replica *rp, const char *peer, int64_t limit,
    int oldest_first, struct replica_logent **out, size_t *n, char *err)
{
	sqlite3_stmt *st = NULL;
	void *v;
	int r;

	/* A bundle to several peers names them all ("a+b"). */
	if ((r = rp_prepare(rp, oldest_first ?
	    "SELECT * FROM (SELECT id, bundle, dir, peer, seq, file, summary,"
	    " at FROM _mule_bundles WHERE ?1 IS NULL OR instr('+' || peer ||"
	    " '+', '+' || ?1 || '+') > 0 ORDER BY id DESC LIMIT ?2) ORDER BY"
	    " id" :
	    "SELECT id, bundle, dir, peer, seq, file, summary, at FROM "
	    "_mule_bundles WHERE ?1 IS NULL OR instr('+' || peer || '+', '+'"
	    " || ?1 || '+') > 0 ORDER BY id DESC LIMIT ?2", &st, err)) != 0)
		return r;
	if (peer != NULL)
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	if ((r = rp_rows(rp, st, sizeof(**out), logent_fill, NULL,
	    logent_release, &v, n, "read bundle log", err)) == 0)
		*out = v;
	sqlite3_finalize(st);
	return r;
}

int
replica_peer_set_site(struct replica *rp, const char *peer,
    const uint8_t site[SITE_ID_LEN], char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = rp_prepare(rp, "UPDATE _mule_peers SET site = ? WHERE "
	    "name = ?", &st, err)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, site, SITE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "update peer");
	return 0;
}

int
replica_recv_seqs(struct replica *rp, struct vector *out, char *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = rp_prepare(rp, "SELECT p.site, max(b.seq) FROM _mule_bundles b"
	    " JOIN _mule_peers p ON p.name = b.peer WHERE b.dir = 'recv' AND"
	    " p.site IS NOT NULL GROUP BY p.site", &st, err)) != 0)
		return r;
	r = rp_vector_rows(rp, st, out, err);
	sqlite3_finalize(st);
	return r;
}

int
replica_check_lost(struct replica *rp, const char *peer, uint64_t seq,
    const struct vector *recv, const struct vector *ack, int *lost,
    char *err)
{
	sqlite3_stmt *st = NULL;
	struct vector top;
	char num[32];
	uint64_t k;
	int r = 0;

	*lost = 0;
	vector_init(&top);
	if ((r = rp_prepare(rp, "SELECT 1 FROM _mule_bundles WHERE dir = "
	    "'recv' AND peer = ? AND seq > ?", &st, err)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)seq);
	if (sqlite3_step(st) == SQLITE_ROW)
		goto out;	/* stale: a newer one was applied */
	sqlite3_finalize(st);
	st = NULL;
	if ((k = vector_get(recv, rp->site_id)) == 0)
		goto out;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)k);
	if ((r = replica_peer_set(rp, peer, "_applied", num, err)) != 0)
		goto out;
	if ((r = rp_prepare(rp, "SELECT top FROM _mule_bundles WHERE dir = "
	    "'sent' AND seq = ?", &st, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)k);
	if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) !=
	    SQLITE_BLOB)
		goto out;	/* unknown to us: nothing to conclude */
	if ((r = vector_unblob(sqlite3_column_blob(st, 0),
	    (size_t)sqlite3_column_bytes(st, 0), &top)) != 0) {
		r = mule_errf(err, MULE_EDB, "damaged bundle log");
		goto out;
	}
	if (vector_covers(ack, &top))
		goto out;
	/* It applied bundle k but lacks what k carried: one went missing. */
	if ((r = rp_vector_put(rp, peer, "sent", ack, err)) != 0 ||
	    (r = replica_peer_set(rp, peer, "_lost", num, err)) != 0)
		goto out;
	*lost = 1;
out:
	vector_release(&top);
	sqlite3_finalize(st);
	return r;
}

int
replica_log_unacked(struct replica *rp, const char *peer,
    const struct vector *ack, struct replica_logent *first, uint64_t *n,
    char *err)
{
	sqlite3_stmt *st = NULL;
	struct vector top;
	int s, r = 0;

	*n = 0;
	memset(first, 0, sizeof(*first));
	vector_init(&top);
	/* Bundles to `peer`, alone or with others ("a+b"), oldest first. */
	if ((r = rp_prepare(rp, "SELECT top, seq, file, at FROM _mule_bundles "
	    "WHERE dir = 'sent' AND top IS NOT NULL AND instr('+' || peer || "
	    "'+', '+' || ?1 || '+') > 0 ORDER BY seq", &st, err)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		vector_release(&top);
		vector_init(&top);
		if (vector_unblob(sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), &top) != 0) {
			r = mule_errf(err, MULE_EDB, "damaged bundle log");
			goto out;
		}
		if (vector_covers(ack, &top))
			continue;
		if ((*n)++ > 0)
			continue;
		first->seq = sqlite3_column_int64(st, 1);
		copy_col(first->file, sizeof(first->file), st, 2);
		copy_col(first->at, sizeof(first->at), st, 3);
		snprintf(first->dir, sizeof(first->dir), "sent");
		snprintf(first->peer, sizeof(first->peer), "%s", peer);
	}
	if (s != SQLITE_DONE)
		r = rp_dberr(rp, s, err, "read bundle log");
out:
	vector_release(&top);
	sqlite3_finalize(st);
	return r;
}
