/*
 * replica/store/horizon.c — what pruning leaves for the layers under it
 * (replica/prune/prune.c does the pruning): a fresh stamp for a deletion
 * made again, where a pack starts reading the journal, the causal length
 * a new row starts at once tombstones of its table went, and whether a
 * stamp lies below the horizon.  See docs/state.md "Pruning".
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "replica/internal.h"

int
rp_prune_stamp(struct replica *rp, struct istamp *st, char *err)
{
	struct vector known;
	uint64_t l;
	int r;

	vector_init(&known);
	if ((r = rp_lamport_get(rp, &l, err)) != 0 ||
	    (r = rp_vector_get(rp, "", "known", &known, err)) != 0)
		goto out;
	/* Above every stamp we made or saw: both only grow. */
	if (vector_get(&known, rp->site_id) > l)
		l = vector_get(&known, rp->site_id);
	if (vector_set(&known, rp->site_id, l + 1) != 0) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = rp_lamport_set(rp, l + 1, err)) != 0 ||
	    (r = rp_vector_put(rp, "", "known", &known, err)) != 0)
		goto out;
	st->lamport = l + 1;
	st->origin = rp->me;
out:
	vector_release(&known);
	return r;
}

int
rp_journal_from(struct replica *rp, uint8_t (*sites)[SITE_ID_LEN],
    size_t nsites, const uint64_t *limit, uint64_t *from, char *err)
{
	struct vector known;
	uint64_t k, top = 0;
	size_t i;
	int r;

	*from = UINT64_MAX;
	vector_init(&known);
	if ((r = rp_vector_get(rp, "", "known", &known, err)) == 0) {
		for (i = 1; i < nsites; i++) {
			k = vector_get(&known, sites[i]);
			if (k > top)
				top = k;
			if (limit[i] < k && limit[i] < *from)
				*from = limit[i];
		}
		if (*from == UINT64_MAX)
			*from = top;
	}
	vector_release(&known);
	return r;
}

int
rp_prune_fresh_cl(struct replica *rp, int64_t tid, uint64_t *cl, char *err)
{
	int64_t v = 0;
	int r = 0;

	*cl = 1;
	if (rp_has_table(rp, "_mule_prune") && (r = rp_scalar(rp, "SELECT cl "
	    "FROM _mule_prune WHERE tid = ?1", tid, 0, &v, err)) == 0 && v > 0)
		*cl = (uint64_t)v | 1;	/* the odd length above it */
	return r;
}

int
rp_prune_forgotten(const struct vector *horizon, const struct stamp *e)
{
	return e->lamport > 0 && e->lamport <= vector_get(horizon, e->origin);
}
