/* sync/sets.c — sharing tables with a peer and mapping its tables to
 * ours, with what follows from it (see local.h). */
#include <stdio.h>
#include <string.h>

#include "sync/local.h"

int
sync_share(struct replica *rp, const char *peer, const char *table,
    const char *where, int colmode, const char *const *cols, size_t ncols,
    size_t *others, char *err)
{
	char why[MULE_ERRLEN] = "";
	struct replica_share *had = NULL;
	struct replica_table **tabs = NULL;
	size_t nhad = 0, ntabs = 0;
	int r;

	*others = 0;
	if ((r = replica_shares(rp, peer, &had, &nhad, err)) != 0 ||
	    (r = replica_tables(rp, &tabs, &ntabs, err)) != 0)
		goto out;
	if ((r = replica_share(rp, peer, table, where, colmode, cols, ncols,
	    why)) != 0) {
		r = mule_errf(err, r, "cannot share %s with %s: %s", table,
		    peer, why);
		goto out;
	}
	/* The first definition: the other tables no longer go. */
	if (nhad == 0 && ntabs > 1)
		*others = ntabs - 1;
out:
	replica_shares_free(had, nhad);
	replica_tables_free(tabs, ntabs);
	return r;
}

int
sync_map(struct replica *rp, const char *peer, const char *rtable,
    const char *ltable, const char *const *rcols, const char *const *lcols,
    size_t ncols, char *err)
{
	char why[MULE_ERRLEN] = "";
	int r;

	/* A peer whose names differ keeps a schema of its own. */
	r = replica_map(rp, peer, rtable, ltable, rcols, lcols, ncols, why);
	if (r != 0)
		r = mule_errf(err, r, "cannot map %s's %s to %s: %s", peer,
		    rtable, ltable, why);
	else if (!sync_peer_separate(rp, peer))
		r = replica_peer_set(rp, peer, "schema", "separate", err);
	return r;
}
