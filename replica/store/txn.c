/*
 * replica/store/txn.c — mule's transactions: BEGIN IMMEDIATE (which
 * marks a replica of an older state format with the current one), and a
 * COMMIT that first adds the digest changes kept in memory (digest.c),
 * folds state overlays grown past their threshold (overlay.c) and
 * records the file change counter the commit leaves (see replica_scan).
 */
#include <sqlite3.h>

#include "core/error.h"
#include "replica/internal.h"

int
rp_begin(struct replica *rp, char *err)
{
	int64_t done;
	int r;

	rp->state_written = 0;
	rp->ndirect = 0;
	if ((r = rp_exec(rp, "BEGIN IMMEDIATE", err)) != 0)
		return r;
	/*
	 * Blobs of the compact form may be written from now on (an opened
	 * replica of an older format; the UPDATE goes with the transaction).
	 */
	if (rp->format != 0 && rp->format < STATE_FORMAT &&
	    (r = rp_scalar(rp, "UPDATE _mule_site SET format = ?1 WHERE "
	    "format < ?1", STATE_FORMAT, 0, &done, err)) != 0)
		return r;
	/* Written nothing yet (the mark is not an edit: scans may skip). */
	rp->changes_at_begin = sqlite3_total_changes64(rp->db);
	return 0;
}

int
rp_commit(struct replica *rp, char *err)
{
	sqlite3_stmt *st = NULL;
	int64_t c;
	int rc, r;

	/*
	 * In rollback-journal mode our COMMIT raises the file change
	 * counter by exactly one; remembering that value lets the next scan
	 * see that no other program wrote since (see replica_scan).  In WAL
	 * mode the counter does not move, so the value never matches and
	 * scans always run.
	 */
	/* A state overlay grown past its threshold goes into main. */
	if ((r = rp_digest_flush(rp, err)) != 0 ||
	    (r = rp_state_fold_due(rp, err)) != 0)
		return r;
	if (rp_file_counter(rp, &c) != 0)
		c = -2;
	if ((r = rp_prepare(rp, "UPDATE _mule_site SET counter = ?", &st,
	    err)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, c >= 0 ? (c + 1) & 0xffffffff : -1);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "commit");
	return rp_exec(rp, "COMMIT", err);
}

void
rp_rollback(struct replica *rp)
{
	rp_digest_discard(rp);
	if (!sqlite3_get_autocommit(rp->db))
		sqlite3_exec(rp->db, "ROLLBACK", NULL, NULL, NULL);
}
