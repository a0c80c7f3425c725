/*
 * replica/sets/fence.c — the receiver's fence: what a peer may write in
 * one table here is what this site shares with it (DESIGN §14 "The trust
 * boundary"; docs/decisions.md "What a peer may write").  The sending
 * side of the same definitions is replica/sets/sets.c.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "replica/internal.h"

void
rp_fence_release(struct rp_fence *f)
{
	free(f->cols);
	sqlite3_finalize(f->filt);
	sqlite3_finalize(f->member);
	memset(f, 0, sizeof(*f));
}

int
rp_fence_open(struct replica *rp, const char *peer,
    const struct replica_table *t, struct rp_fence *f, char *err)
{
	char *filter = NULL;
	int r = MULE_EINTERNAL;

	memset(f, 0, sizeof(*f));
	f->t = t;
	if ((r = rp_set_definition(rp, peer, t, &f->shared, &filter, &f->cols,
	    err)) != 0 || filter == NULL || !f->shared)
		goto out;
	if ((r = rp_filter_prepare(rp, t, filter, 1, &f->filt, err)) != 0) {
		r = mule_errprefix(err, r, "the sync set of %s, table %s "
		    "(change it with 'mule share')", peer, t->name);
		goto out;
	}
	if ((r = rp_prepare(rp, "SELECT 1 FROM _mule_members WHERE peer = ?1 "
	    "AND tid = ?2 AND pk = ?3", &f->member, err)) != 0)
		goto out;
	sqlite3_bind_text(f->member, 1, peer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(f->member, 2, t->tid);
out:
	free(filter);
	if (r != 0)
		rp_fence_release(f);
	return r;
}

int
rp_fence_col(const struct rp_fence *f, uint32_t j)
{
	return f->shared && (f->cols == NULL || f->cols[j]);
}

int
rp_fence_row(struct replica *rp, struct rp_fence *f, const struct mval *pk,
    int *ok, char *err)
{
	const struct replica_table *t = f->t;
	uint32_t i;
	int rc, r = MULE_EINTERNAL;

	if (!f->shared) {
		*ok = 0;
		return 0;
	}
	if (f->filt == NULL) {
		*ok = 1;
		return 0;
	}
	for (i = 0; i < t->npk; i++)
		mval_bind(f->filt, (int)i + 1, &pk[i]);
	rc = sqlite3_step(f->filt);
	sqlite3_reset(f->filt);
	sqlite3_clear_bindings(f->filt);
	if (rc == SQLITE_DONE) {
		/* Outside the filter: the peer may still hold the row. */
		if ((r = rp_bind_statekey(f->member, 3, t, pk)) != 0)
			return mule_errf(err, r, "table %s: bad key", t->name);
		rc = sqlite3_step(f->member);
		sqlite3_reset(f->member);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "evaluate a sync set's filter");
	*ok = rc == SQLITE_ROW;
	return 0;
}
