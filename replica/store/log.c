/* replica/store/log.c — the bundle log and the conflict log (see replica.h). */
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

static char *
dup_col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return strdup(s != NULL ? (const char *)s : "NULL");
}

void
replica_conflicts_free(struct replica_conflict *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].table);
		free(v[i].pk);
		free(v[i].col);
		free(v[i].local);
		free(v[i].remote);
	}
	free(v);
}

const char *
replica_conflict_kind_name(int kind)
{
	switch (kind) {
	case MERGE_CONFLICT_CELL_OVERWRITTEN:
		return "cell overwritten";
	case MERGE_CONFLICT_LOST_TO_DELETION:
		return "edit lost to a deletion";
	case MERGE_CONFLICT_COLLIDING_INSERT:
		return "colliding insert";
	case MERGE_CONFLICT_LEFT_SET:
		return "row left a set";
	case MERGE_CONFLICT_BASELINES_DIFFER:
		return "baselines differ";
	}
	return "unknown";
}

static int
conflict_fill(void *arg, sqlite3_stmt *st, void *elem, char *err)
{
	struct replica_conflict *c = elem;

	c->id = sqlite3_column_int64(st, 0);
	c->table = dup_col(st, 1);
	c->pk = dup_col(st, 2);
	c->col = dup_col(st, 3);
	c->local = dup_col(st, 4);
	c->remote = dup_col(st, 7);
	c->local_st.lamport = (uint64_t)sqlite3_column_int64(st, 5);
	if (sqlite3_column_bytes(st, 6) == SITE_ID_LEN)
		memcpy(c->local_st.origin, sqlite3_column_blob(st, 6),
		    SITE_ID_LEN);
	c->remote_st.lamport = (uint64_t)sqlite3_column_int64(st, 8);
	if (sqlite3_column_bytes(st, 9) == SITE_ID_LEN)
		memcpy(c->remote_st.origin, sqlite3_column_blob(st, 9),
		    SITE_ID_LEN);
	copy_col(c->winner, sizeof(c->winner), st, 10);
	if (sqlite3_column_bytes(st, 11) == 16)
		memcpy(c->bundle, sqlite3_column_blob(st, 11), 16);
	c->kind = sqlite3_column_int(st, 12);
	if (c->table == NULL || c->pk == NULL || c->col == NULL ||
	    c->local == NULL || c->remote == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

static void
conflict_release(void *v, size_t n)
{
	replica_conflicts_free(v, n);
}

int
replica_conflicts(struct replica *rp, struct replica_conflict **out,
    size_t *n, char *err)
{
	sqlite3_stmt *st = NULL;
	void *v;
	int r;

	if ((r = rp_prepare(rp, "SELECT id, tbl, pk, col, local, "
	    "local_lamport, local_origin, remote, remote_lamport, "
	    "remote_origin, winner, bundle, kind FROM _mule_conflicts "
	    "WHERE resolved = 0 ORDER BY id", &st, err)) != 0)
		return r;
	if ((r = rp_rows(rp, st, sizeof(**out), conflict_fill, NULL,
	    conflict_release, &v, n, "read conflicts", err)) == 0)
		*out = v;
	sqlite3_finalize(st);
	return r;
}

int
replica_conflict_count(struct replica *rp, uint64_t *n, char *err)
{
	int64_t v;
	int r;

	if ((r = rp_scalar(rp, "SELECT count(*) FROM _mule_conflicts WHERE "
	    "resolved = 0", 0, 0, &v, err)) == 0)
		*n = (uint64_t)v;
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
replica_conflict_resolve(struct replica *rp, int64_t id, const char *keep,
    const char *value, char *err)
{
	struct replica_table *t = NULL;
	sqlite3_stmt *st = NULL, *up = NULL;
	struct mval pk[64];
	struct strb sb;
	const char *col, *winner;
	uint32_t i;
	int rc, r = MULE_EINTERNAL, vcol, kind;

	strb_init(&sb);
	if ((r = rp_prepare(rp, "SELECT tbl, pkey, col, winner, local_v, "
	    "remote_v, resolved, kind FROM _mule_conflicts WHERE id = ?", &st,
	    err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? mule_errf(err, MULE_ENOTFOUND,
		    "no conflict #%lld; see 'mule conflicts'", (long long)id) :
		    rp_dberr(rp, rc, err, "read conflicts");
		goto out;
	}
	if (sqlite3_column_int(st, 6) != 0) {
		r = mule_errf(err, MULE_EINVAL, "conflict #%lld is resolved "
		    "already", (long long)id);
		goto out;
	}
	col = (const char *)sqlite3_column_text(st, 2);
	winner = (const char *)sqlite3_column_text(st, 3);
	vcol = keep == NULL ? -1 : strcmp(keep, "local") == 0 ? 4 : 5;
	kind = sqlite3_column_int(st, 7);
	if (kind == MERGE_CONFLICT_LOST_TO_DELETION ||
	    kind == MERGE_CONFLICT_LEFT_SET) {
		/* A whole row: only the winner can be kept (it is there). */
		if (keep == NULL || strcmp(keep, winner) != 0) {
			r = mule_errf(err, MULE_EINVAL, "conflict #%lld is about "
			    "a whole row (a deletion against an edit); only "
			    "--keep %s can be recorded, recreate the row by "
			    "hand otherwise", (long long)id, winner);
			goto out;
		}
		goto mark;
	}
	if ((r = rp_table_get(rp, (const char *)sqlite3_column_text(st, 0), &t,
	    err)) != 0)
		goto out;
	if (!rp_col_index(t, col, NULL) || t->npk > 64 ||
	    pk_decode(sqlite3_column_blob(st, 1),
	    (size_t)sqlite3_column_bytes(st, 1), pk, t->npk) != 0) {
		r = mule_errf(err, MULE_ESCHEMA, "conflict #%lld no longer "
		    "matches table %s", (long long)id, t->name);
		goto out;
	}
	strb_add(&sb, "UPDATE ");
	strb_add_ident(&sb, t->name);
	strb_add(&sb, " SET ");
	strb_add_ident(&sb, col);
	strb_add(&sb, " = ?1 WHERE ");
	sql_pk_where(&sb, t, 2);
	if ((r = rp_prepare(rp, strb_str(&sb), &up, err)) != 0)
		goto out;
	if (value != NULL)
		sqlite3_bind_text(up, 1, value, -1, SQLITE_STATIC);
	else
		sqlite3_bind_value(up, 1, sqlite3_column_value(st, vcol));
	for (i = 0; i < t->npk; i++)
		mval_bind(up, (int)i + 2, &pk[i]);
	if ((rc = sqlite3_step(up)) != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, t->name);
		goto out;
	}
	if (sqlite3_changes(rp->db) == 0) {
		r = mule_errf(err, MULE_ENOTFOUND, "the row of conflict #%lld "
		    "is gone", (long long)id);
		goto out;
	}
mark:
	sqlite3_finalize(up);
	up = NULL;
	if ((r = rp_prepare(rp, "UPDATE _mule_conflicts SET resolved = 1 "
	    "WHERE id = ?", &up, err)) != 0)
		goto out;
	sqlite3_bind_int64(up, 1, id);
	if ((rc = sqlite3_step(up)) != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "update conflicts");
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	strb_release(&sb);
	replica_table_free(t);
	return r;
}
