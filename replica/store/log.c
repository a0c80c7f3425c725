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
	/*
	 * It applied bundle k but lacks what k carried: one went missing, or
	 * it was restored from a backup.  What it acknowledged before counts
	 * no more (else our next bundle's base stays above what it holds,
	 * it never catches up, and pruning would count on what it lost).
	 */
	if ((r = rp_vector_put(rp, peer, "sent", ack, err)) != 0 ||
	    (r = rp_vector_put(rp, peer, "acked", ack, err)) != 0 ||
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

/* ---- pruning (rp_log_prune; docs/state.md "Pruning") ---- */

#define LOG_KEEP 1000	/* log.keep when unset */

/* What the rule needs of each trusted peer. */
struct logpeer {
	char name[REPLICA_NAME_MAX + 1];
	struct vector acked;
	int64_t newest_sent, newest_recv;	/* entry ids; 0: none */
	int64_t applied;	/* the newest of ours it applied; -1: unknown */
};

struct logrule {
	struct logpeer *p;
	size_t np;
	const struct vector *h;
	int64_t newest_seq;	/* our highest bundle number, sent or spent */
	int64_t recent;		/* entries from this id on are kept */
	sqlite3_stmt *cited;	/* a conflict or note names the bundle */
};

static void
logrule_release(struct logrule *lr)
{
	size_t i;

	for (i = 0; i < lr->np; i++)
		vector_release(&lr->p[i].acked);
	free(lr->p);
	sqlite3_finalize(lr->cited);
	memset(lr, 0, sizeof(*lr));
}

/* *out: the integer the query yields, ?1 = name, ?2 = arg (0: no row). */
static int
log_max_id(struct replica *rp, const char *sql, const char *name,
    int64_t arg, int64_t *out, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	*out = 0;
	if ((r = rp_prepare(rp, sql, &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) > 1)
		sqlite3_bind_int64(st, 2, arg);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		r = rp_dberr(rp, rc, err, "read bundle log");
	sqlite3_finalize(st);
	return r;
}

/*
 * The first id of the newest log.keep entries (LOG_KEEP when unset): the
 * log is also the user's history ('mule log'), and a bundle among them is
 * still "already applied" when it comes again.
 */
static int
log_recent(struct replica *rp, int64_t *recent, char *err)
{
	uint64_t keep = replica_config_num(rp, "log.keep", LOG_KEEP,
	    INT64_MAX);

	*recent = INT64_MAX;
	if (keep == 0)
		return 0;
	return rp_scalar(rp, "SELECT id FROM _mule_bundles ORDER BY id DESC"
	    " LIMIT 1 OFFSET ?1", (int64_t)keep - 1, 0, recent, err);
}

/* 1 when "a+b+c" names `name`. */
static int
names_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *s = list;
	int yes = 0;

	while (s != NULL && !yes) {
		yes = strncmp(s, name, n) == 0 && (s[n] == '+' || s[n] == '\0');
		if ((s = strchr(s, '+')) != NULL)
			s++;
	}
	return yes;
}

/* The newest of our bundles peer said it applied (-1: not said yet). */
static int
log_applied(struct replica *rp, const char *peer, int64_t *out, char *err)
{
	char *v = NULL;
	int r;

	*out = -1;
	if ((r = replica_peer_prop(rp, peer, "_applied", &v, err)) == 0 &&
	    v != NULL)
		*out = strtoll(v, NULL, 10);
	free(v);
	return r;
}

static int
logrule_load(struct replica *rp, const struct vector *h, struct logrule *lr,
    char *err)
{
	struct replica_peer *peers = NULL;
	size_t i, np = 0;
	int r;

	memset(lr, 0, sizeof(*lr));
	lr->h = h;
	if ((r = replica_peer_list(rp, &peers, &np, err)) != 0 ||
	    (r = rp_scalar(rp, "SELECT coalesce(max(seq), 0) FROM _mule_bundles"
	    " WHERE dir IN ('sent', 'spent')", 0, 0, &lr->newest_seq,
	    err)) != 0 ||
	    (r = rp_prepare(rp, rp_has_table(rp, "_mule_conflict_notes") ?
	    "SELECT 1 FROM _mule_conflicts WHERE bundle = ?1 UNION ALL "
	    "SELECT 1 FROM _mule_conflict_notes WHERE bundle = ?1" :
	    "SELECT 1 FROM _mule_conflicts WHERE bundle = ?1", &lr->cited,
	    err)) != 0)
		goto out;
	if ((r = log_recent(rp, &lr->recent, err)) != 0)
		goto out;
	if (np > 0 && (lr->p = calloc(np, sizeof(*lr->p))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < np; i++) {
		snprintf(lr->p[i].name, sizeof(lr->p[i].name), "%s",
		    peers[i].name);
		vector_init(&lr->p[i].acked);
		lr->np++;
		if ((r = rp_vector_get(rp, peers[i].name, "acked",
		    &lr->p[i].acked, err)) != 0 ||
		    (r = log_max_id(rp, "SELECT max(id) FROM _mule_bundles "
		    "WHERE dir = 'sent' AND instr('+' || peer || '+', '+' || ?1"
		    " || '+') > 0", peers[i].name, 0,
		    &lr->p[i].newest_sent, err)) != 0 ||
		    (r = log_max_id(rp, "SELECT max(id) FROM _mule_bundles "
		    "WHERE dir = 'recv' AND peer = ?1", peers[i].name, 0,
		    &lr->p[i].newest_recv, err)) != 0 ||
		    (r = log_applied(rp, peers[i].name, &lr->p[i].applied,
		    err)) != 0)
			goto out;
	}
	r = 0;
out:
	free(peers);
	return r;
}

/* 1 when a conflict or a conflict note still names the bundle. */
static int
log_cited(struct logrule *lr, const void *bundle, int n)
{
	int yes;

	sqlite3_bind_blob(lr->cited, 1, bundle, n, SQLITE_STATIC);
	yes = sqlite3_step(lr->cited) == SQLITE_ROW;
	sqlite3_reset(lr->cited);
	return yes;
}

/* A sent entry: kept while a recipient may still need it. */
static int
log_keep_sent(struct logrule *lr, int64_t id, int64_t seq, const char *to,
    const void *top, size_t ntop)
{
	struct vector v;
	size_t i;
	int keep = 0, bad;

	vector_init(&v);
	bad = top == NULL || vector_unblob(top, ntop, &v) != 0;
	for (i = 0; i < lr->np && !keep; i++) {
		if (!names_has(to, lr->p[i].name))
			continue;	/* not to this peer */
		/* From the newest it applied on: its bundles code their
		 * vectors against one of these (sync/unpack.c). */
		keep = id == lr->p[i].newest_sent || bad ||
		    !vector_covers(&lr->p[i].acked, &v) ||
		    lr->p[i].applied < 0 || seq >= lr->p[i].applied;
	}
	vector_release(&v);
	return keep;
}

/* A received entry: kept while its sender's counter is above the horizon. */
static int
log_keep_recv(struct logrule *lr, int64_t id, const char *from,
    const uint8_t *top, size_t ntop)
{
	uint64_t c = 0;
	size_t i;
	int keep = 0;

	for (i = 0; i < lr->np; i++)
		keep |= strcmp(lr->p[i].name, from) == 0 &&
		    id == lr->p[i].newest_recv;
	if (!keep && top != NULL && ntop == SITE_ID_LEN + 8) {
		for (i = 0; i < 8; i++)
			c = c << 8 | top[SITE_ID_LEN + i];
		keep = c > vector_get(lr->h, top);
	}
	return keep;
}

/*
 * THE rule for what the bundle log keeps (one place to change):
 *  - the newest log.keep entries, whatever they are (the user's history);
 *  - our highest bundle number, sent or spent (the next one follows it);
 *  - per trusted peer, the newest bundle sent to it and the newest
 *    received from it;
 *  - a sent bundle some trusted recipient has not acknowledged (its top
 *    not covered by the recipient's acked vector: lost-bundle detection
 *    and 'status' need it), or numbered from the newest one that
 *    recipient said it applied on (its bundles code their vectors against
 *    it: "Coded vectors" in mule-bundle(5));
 *  - a number spent without a file (a restore's marker, read by
 *    replica_log_restored_after);
 *  - a received bundle whose sender's own counter is above the horizon
 *    (so it is still "already applied" if it comes again), or that a
 *    logged conflict or conflict note names.
 * Everything else goes: older spent numbers, sent bundles everyone
 * acknowledged, received ones below the horizon.  Returns 1 to keep.
 */
static int
log_keep(struct logrule *lr, sqlite3_stmt *st)
{
	int64_t id = sqlite3_column_int64(st, 0);
	const char *dir = (const char *)sqlite3_column_text(st, 1);
	const char *peer = (const char *)sqlite3_column_text(st, 2);
	int64_t seq = sqlite3_column_int64(st, 3);
	const void *top = sqlite3_column_blob(st, 4);
	size_t ntop = (size_t)sqlite3_column_bytes(st, 4);
	int keep;

	if (dir == NULL || peer == NULL || id >= lr->recent)
		keep = 1;
	else if (strcmp(dir, "recv") != 0 && seq >= lr->newest_seq)
		keep = 1;
	else if (strcmp(dir, "sent") == 0)
		keep = log_keep_sent(lr, id, seq, peer, top, ntop);
	else if (strcmp(dir, "recv") == 0)
		keep = log_keep_recv(lr, id, peer, top, ntop) ||
		    log_cited(lr, sqlite3_column_blob(st, 5),
		    sqlite3_column_bytes(st, 5));
	else
		keep = strcmp(dir, "spent") != 0 ||
		    sqlite3_column_type(st, 6) == SQLITE_NULL ||
		    sqlite3_column_bytes(st, 6) == 0;
	return keep;
}

int
rp_log_prune(struct replica *rp, const struct vector *h, uint64_t budget,
    int64_t *cursor, uint64_t *deleted, char *err)
{
	struct logrule lr;
	sqlite3_stmt *st = NULL, *del = NULL;
	int64_t *drop = NULL, last = 0;
	uint64_t seen = 0;
	size_t i, n = 0;
	void *p;
	int s, r = MULE_EINTERNAL;

	if ((r = logrule_load(rp, h, &lr, err)) != 0 ||
	    (r = rp_prepare(rp, "SELECT id, dir, peer, seq, top, bundle, file "
	    "FROM _mule_bundles WHERE id > ?1 ORDER BY id LIMIT ?2", &st,
	    err)) != 0 ||
	    (r = rp_prepare(rp, "DELETE FROM _mule_bundles WHERE id = ?1",
	    &del, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, *cursor);
	sqlite3_bind_int64(st, 2, (int64_t)budget);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		seen++;
		last = sqlite3_column_int64(st, 0);
		if (log_keep(&lr, st))
			continue;
		if ((p = realloc(drop, (n + 1) * sizeof(*drop))) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		drop = p;
		drop[n++] = last;
	}
	if (s != SQLITE_DONE) {
		r = rp_dberr(rp, s, err, "read bundle log");
		goto out;
	}
	sqlite3_reset(st);
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(del, 1, drop[i]);
		if ((s = sqlite3_step(del)) != SQLITE_DONE) {
			r = rp_dberr(rp, s, err, "prune bundle log");
			goto out;
		}
		sqlite3_reset(del);
	}
	*deleted += n;
	*cursor = seen < budget ? 0 : last;
	r = 0;
out:
	free(drop);
	sqlite3_finalize(st);
	sqlite3_finalize(del);
	logrule_release(&lr);
	return r;
}

int
rp_log_newer(struct replica *rp, const char *peer, uint64_t seq,
    int64_t *newer, char *err)
{
	return log_max_id(rp, "SELECT 1 FROM _mule_bundles WHERE dir = 'recv'"
	    " AND peer = ?1 AND seq > ?2", peer, (int64_t)seq, newer, err);
}
