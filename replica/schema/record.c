/*
 * replica/schema/record.c — recording local edits: the state is brought
 * to each tracked table's live column layout (a schema matter, see
 * catalog_state.c), then the tables are scanned (track/scan.c).  It lives
 * above both so that the scan needs nothing of the schema code.
 */
#include <sqlite3.h>

#include "core/error.h"
#include "replica/internal.h"

int
replica_scan(struct replica *rp, int dry, struct replica_scan_stats *out,
    replica_progress_fn progress, void *parg, char *err)
{
	int r;

	if (!dry && sqlite3_get_autocommit(rp->db))
		return mule_errf(err, MULE_EINTERNAL, "scan outside a "
		    "transaction");
	/* Nobody wrote since our last commit: no layout can have changed. */
	if (!dry && !rp_unchanged_since_us(rp) &&
	    (r = rp_layouts_update(rp, err)) != 0)
		return r;
	return rp_scan(rp, dry, out, progress, parg, err);
}
