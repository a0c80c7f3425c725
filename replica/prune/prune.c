/*
 * replica/prune/prune.c — forgetting what no peer can still need (see
 * prune.h and docs/state.md "Pruning").
 *
 * The horizon H is, per origin, the smallest counter of our own vector and
 * of every trusted peer's acked vector.  A tombstone whose deletion stamp
 * is below H is deleted: every peer had the deletion when it last packed
 * for us, so its state holds the tombstone (or a later incarnation, or it
 * pruned it by this same rule), and it never sends the older incarnation
 * again.  Every row pruned was created below H too (whoever knows the
 * deletion knows what it deleted), so the recorded horizon (the highest H
 * tombstones were deleted under, vector ('', 'horizon')) says which
 * incoming rows might be such a row: from a peer behind it, such a row is
 * not brought back (rp_prune_forgotten, replica/apply/apply.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/apply/apply.h"
#include "replica/internal.h"
#include "replica/prune/prune.h"

#define PRUNE_TOMBSTONES 4096	/* tombstones looked at per run, all tables */
#define PRUNE_LOG 1024		/* bundle log entries looked at per run */
#define PRUNE_LOG_CURSOR (-1)	/* _mule_prune.tid of the log's cursor */
#define PRUNE_BEHIND "_behind"	/* peer property: marked behind the horizon */

/* Where each table's pass stopped; made on first use. */
static int
prune_cursor_table(struct replica *rp, char *err)
{
	return rp_exec(rp, "CREATE TABLE IF NOT EXISTS _mule_prune("
	    "tid INTEGER PRIMARY KEY, pk, cl INTEGER NOT NULL DEFAULT 0)",
	    err);
}

static int
prune_cursor_get(struct replica *rp, int64_t tid, sqlite3_value **out,
    char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r = MULE_EINTERNAL;

	*out = NULL;
	if ((r = prune_cursor_table(rp, err)) != 0 ||
	    (r = rp_prepare(rp, "SELECT pk FROM _mule_prune WHERE tid = ?1",
	    &st, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, tid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    (*out = sqlite3_value_dup(sqlite3_column_value(st, 0))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "read pruning cursor");
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

/*
 * Stores where table tid's pass stopped: the state key `at`, else the
 * log id `id` when above 0; neither (NULL): the next pass starts at the
 * first.
 */
static int
prune_cursor_put(struct replica *rp, int64_t tid, sqlite3_value *at,
    int64_t id, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = rp_prepare(rp, "INSERT INTO _mule_prune(tid, pk) VALUES "
	    "(?1, ?2) ON CONFLICT(tid) DO UPDATE SET pk = excluded.pk", &st,
	    err)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, tid);
	if (at != NULL)
		sqlite3_bind_value(st, 2, at);
	else if (id > 0)
		sqlite3_bind_int64(st, 2, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rp_dberr(rp, rc, err,
	    "write pruning cursor");
}

/* Raises the highest causal length pruned in table tid to cl. */
static int
prune_maxcl_raise(struct replica *rp, int64_t tid, uint64_t cl, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = rp_prepare(rp, "INSERT INTO _mule_prune(tid, cl) VALUES (?1, "
	    "?2) ON CONFLICT(tid) DO UPDATE SET cl = max(cl, excluded.cl)",
	    &st, err)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, tid);
	sqlite3_bind_int64(st, 2, (int64_t)cl);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rp_dberr(rp, rc, err,
	    "write pruning state");
}

int
replica_prune_horizon(struct replica *rp, struct vector *out, char *err)
{
	struct replica_peer *peers = NULL;
	struct vector h, acked;
	size_t i, k, np = 0;
	uint64_t v;
	int r = MULE_EINTERNAL;

	vector_init(&h);
	vector_init(&acked);
	if ((r = replica_peer_list(rp, &peers, &np, err)) != 0 ||
	    (np > 0 && (r = rp_vector_get(rp, "", "known", &h, err)) != 0))
		goto out;
	for (i = 0; i < np; i++) {
		if ((r = rp_vector_get(rp, peers[i].name, "acked", &acked,
		    err)) != 0)
			goto out;
		for (k = 0; k < h.n; k++)
			if ((v = vector_get(&acked, h.e[k].origin)) <
			    h.e[k].counter)
				h.e[k].counter = v;
	}
	vector_release(out);
	*out = h;
	vector_init(&h);
	r = 0;
out:
	vector_release(&h);
	vector_release(&acked);
	free(peers);
	return r;
}

int
replica_prune_recorded(struct replica *rp, struct vector *out, char *err)
{
	return rp_vector_get(rp, "", "horizon", out, err);
}

/*
 * Deletes the state rows of table tid with the state keys pk[0..n) that
 * are tombstones: the one place pruning writes a state table (the
 * overlay's delete-by-key at merge).  *gone counts the rows deleted and
 * *maxcl is raised to their highest causal length.  0 or a MULE_E* code.
 */
static int
prune_state_delete(struct replica *rp, int64_t tid, sqlite3_value **pk,
    size_t n, uint64_t *gone, uint64_t *maxcl, char *err)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc, r = MULE_EINTERNAL;

	if (n > 0 && (r = rp_state_prepare_del_dead(rp, tid, &st, err)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		sqlite3_bind_value(st, 1, pk[i]);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			(*gone)++;
			if ((uint64_t)sqlite3_column_int64(st, 0) > *maxcl)
				*maxcl = (uint64_t)sqlite3_column_int64(st, 0);
			rc = sqlite3_step(st);
		}
		if (rc != SQLITE_DONE) {
			r = rp_dberr(rp, rc, err, "prune tombstone");
			goto out;
		}
		sqlite3_reset(st);
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

/*
 * The tombstones of table tid in key order from `from` (NULL: the first),
 * through a partial index that holds only them (made on first use).
 */
static int
prune_tombstones_prepare(struct replica *rp, int64_t tid,
    sqlite3_value *from, sqlite3_stmt **st, char *err)
{
	int r;

	if ((r = rp_state_prepare_dead(rp, tid, from != NULL, st, err)) == 0 &&
	    from != NULL)
		sqlite3_bind_value(*st, 1, from);
	return r;
}

/* Keys collected during a pass, deleted after it. */
struct deadlist {
	sqlite3_value **v;
	size_t n;
};

static void
deadlist_release(struct deadlist *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		sqlite3_value_free(d->v[i]);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* 1 when a tombstone's `st` blob has a deletion stamp below the horizon. */
static int
below_horizon(const void *blob, size_t len, const uint64_t *hz, size_t ns)
{
	struct rowstate s;
	int yes;

	memset(&s, 0, sizeof(s));
	if (rowstate_decode(&s, blob, len) != 0)
		return 0;	/* damaged: left alone */
	yes = s.cl_st.lamport > 0 && s.cl_st.origin > 0 &&
	    (size_t)s.cl_st.origin < ns &&
	    s.cl_st.lamport <= hz[s.cl_st.origin];
	rowstate_release(&s);
	return yes;
}

/*
 * One table's pass: at most `budget` tombstones from where the last pass
 * stopped; those below the horizon (hz, by origin index) go.
 */
static int
prune_table(struct replica *rp, int64_t tid, const uint64_t *hz, size_t ns,
    uint64_t budget, struct replica_prune_stats *stats, char *err)
{
	sqlite3_stmt *st = NULL;
	sqlite3_value *from = NULL, *last = NULL;
	struct deadlist dead;
	uint64_t seen = 0, maxcl = 0;
	void *p;
	int s, r = MULE_EINTERNAL;

	memset(&dead, 0, sizeof(dead));
	if ((r = prune_cursor_get(rp, tid, &from, err)) != 0 ||
	    (r = prune_tombstones_prepare(rp, tid, from, &st, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 2, (int64_t)budget);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		seen++;
		sqlite3_value_free(last);
		if ((last = sqlite3_value_dup(sqlite3_column_value(st, 0))) ==
		    NULL)
			goto nomem;
		if (!below_horizon(sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1), hz, ns))
			continue;
		if ((p = realloc(dead.v, (dead.n + 1) * sizeof(*dead.v))) ==
		    NULL)
			goto nomem;
		dead.v = p;
		if ((dead.v[dead.n] = sqlite3_value_dup(last)) == NULL)
			goto nomem;
		dead.n++;
	}
	if (s != SQLITE_DONE) {
		r = rp_dberr(rp, s, err, "read tombstones");
		goto out;
	}
	sqlite3_reset(st);
	if ((r = prune_state_delete(rp, tid, dead.v, dead.n,
	    &stats->tombstones, &maxcl, err)) != 0)
		goto out;
	stats->looked += seen;
	/* A pass that reached the end starts again from the first key. */
	if ((r = prune_cursor_put(rp, tid, seen < budget ? NULL : last, 0,
	    err)) != 0 || maxcl == 0)
		goto out;
	r = prune_maxcl_raise(rp, tid, maxcl, err);
	goto out;
nomem:
	r = mule_errf(err, MULE_ENOMEM, "out of memory");
out:
	deadlist_release(&dead);
	sqlite3_value_free(from);
	sqlite3_value_free(last);
	sqlite3_finalize(st);
	return r;
}

/* The horizon by origin index (index 0, the zero stamp's, stays 0). */
static int
horizon_by_index(struct replica *rp, const struct vector *h, uint64_t **hz,
    size_t *ns, char *err)
{
	uint8_t (*sites)[SITE_ID_LEN] = NULL;
	size_t i;
	int r;

	*hz = NULL;
	if ((r = rp_origins_load(rp, &sites, ns, err)) != 0)
		return r;
	if ((*hz = calloc(*ns + 1, sizeof(**hz))) == NULL)
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
	for (i = 1; r == 0 && i < *ns; i++)
		(*hz)[i] = vector_get(h, sites[i]);
	free(sites);
	return r;
}

/* Raises the recorded horizon to at least h. */
static int
horizon_record(struct replica *rp, const struct vector *h, char *err)
{
	struct vector rec;
	size_t k;
	int r;

	vector_init(&rec);
	if ((r = replica_prune_recorded(rp, &rec, err)) == 0) {
		for (k = 0; k < h->n && r == 0; k++)
			if (vector_get(&rec, h->e[k].origin) < h->e[k].counter &&
			    vector_set(&rec, h->e[k].origin,
			    h->e[k].counter) != 0)
				r = mule_errf(err, MULE_ENOMEM, "out of memory");
		if (r == 0)
			r = rp_vector_put(rp, "", "horizon", &rec, err);
	}
	vector_release(&rec);
	return r;
}

/* The bundle log's pass, from where the last one stopped. */
static int
prune_log(struct replica *rp, const struct vector *h,
    struct replica_prune_stats *stats, char *err)
{
	sqlite3_value *v = NULL;
	int64_t cursor = 0;
	int r;

	if ((r = prune_cursor_get(rp, PRUNE_LOG_CURSOR, &v, err)) != 0)
		return r;
	if (v != NULL)
		cursor = sqlite3_value_int64(v);
	sqlite3_value_free(v);
	v = NULL;
	if ((r = rp_log_prune(rp, h, PRUNE_LOG, &cursor, &stats->bundles,
	    err)) != 0)
		return r;
	return prune_cursor_put(rp, PRUNE_LOG_CURSOR, NULL, cursor, err);
}

/*
 * prune.tombstones: tombstones go only where the user asked for it.  A
 * row lost together with its state underneath mule and then brought
 * back first by a restored peer looks like a pruned deletion (t0007
 * seed 12 with pruning on): until that case is told apart, the
 * bounded-bookkeeping trade is the user's to make (docs/decisions.md).
 */
static int
tombstones_on(struct replica *rp)
{
	return replica_config_is(rp, "prune.tombstones", "yes");
}

int
replica_prune(struct replica *rp, struct replica_prune_stats *stats,
    char *err)
{
	struct replica_prune_stats local;
	struct replica_table **tabs = NULL;
	struct vector h;
	uint64_t *hz = NULL, budget = PRUNE_TOMBSTONES;
	size_t i, n = 0, ns = 0;
	int r = MULE_EINTERNAL;

	vector_init(&h);
	if (stats == NULL)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	if ((r = replica_prune_horizon(rp, &h, err)) != 0 ||
	    (r = prune_log(rp, &h, stats, err)) != 0)
		goto out;
	if (h.n == 0 || !tombstones_on(rp)) {
		r = 0;
		goto out;	/* no peer: nothing is known to be everywhere */
	}
	if ((r = horizon_by_index(rp, &h, &hz, &ns, err)) != 0 ||
	    (r = replica_tables(rp, &tabs, &n, err)) != 0)
		goto out;
	for (i = 0; i < n && budget > stats->looked; i++)
		if ((r = prune_table(rp, tabs[i]->tid, hz, ns,
		    budget - stats->looked, stats, err)) != 0)
			goto out;
	r = stats->tombstones > 0 ? horizon_record(rp, &h, err) : 0;
out:
	replica_tables_free(tabs, n);
	vector_release(&h);
	free(hz);
	return r;
}

int
replica_prune_mark(struct replica *rp, const char *peer, char *err)
{
	struct vector rec, acked;
	int r;

	vector_init(&rec);
	vector_init(&acked);
	if ((r = replica_prune_recorded(rp, &rec, err)) == 0 && rec.n > 0 &&
	    (r = rp_vector_get(rp, peer, "acked", &acked, err)) == 0 &&
	    !vector_covers(&acked, &rec))
		r = replica_peer_set(rp, peer, PRUNE_BEHIND, "1", err);
	vector_release(&rec);
	vector_release(&acked);
	return r;
}

int
replica_prune_guard(struct replica *rp, struct replica_apply *a,
    const char *peer, const struct vector *top, uint64_t seq, char *err)
{
	struct vector rec, acked;
	char *mark = NULL;
	int64_t newer = 0;
	int r;

	vector_init(&rec);
	vector_init(&acked);
	if ((r = replica_prune_recorded(rp, &rec, err)) != 0 || rec.n == 0)
		goto out;
	if ((r = replica_peer_prop(rp, peer, PRUNE_BEHIND, &mark, err)) != 0 ||
	    (r = rp_vector_get(rp, peer, "acked", &acked, err)) != 0 ||
	    (r = rp_log_newer(rp, peer, seq, &newer, err)) != 0)
		goto out;
	if (mark == NULL && vector_covers(top, &rec))
		goto out;	/* made with every deletion forgotten here */
	/*
	 * A bundle read after a newer one from the same peer, which had the
	 * deletions: the rows stay deleted, nothing more.  Otherwise the
	 * peer lacks them (marked, or restored: its newest word is below).
	 */
	if (replica_apply_guard(a, &rec, mark != NULL || !newer ||
	    !vector_covers(&acked, &rec)) != 0)
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
out:
	free(mark);
	vector_release(&rec);
	vector_release(&acked);
	return r;
}
