/*
 * replica/track/track.h — choosing the tables to track, the scan that
 * records local edits as one local commit, and the changes above a vector
 * that a bundle carries (the journal).  How a tracked table looks is the
 * store's (store.h, "tracked tables").
 *
 * Every function returns 0 or a negative MULE_E* code and fills `err`.
 * Include replica/replica.h rather than this file.
 */
#ifndef MULE_REPLICA_TRACK_H
#define MULE_REPLICA_TRACK_H

#include "replica/store/store.h"

/* ---- choosing tables (replica/track/track.c) ---- */

/*
 * Starts tracking `name`: refuses a table without a primary key
 * (MULE_ENOPK, explaining), a missing table (MULE_ENOTFOUND) and mule's
 * own tables.  Existing rows become the baseline (one local commit).
 * *intkey is set to 1 when the key is an integer the application
 * probably assigns locally (independent inserts at two sites can collide).
 * Tracking a tracked table is a no-op (*already = 1).
 */
int replica_track(struct replica *rp, const char *name, int *intkey,
    int *already, char *err);
/* Stops tracking (forgets the table's state).  MULE_ENOTFOUND if untracked. */
int replica_untrack(struct replica *rp, const char *name, char *err);

/* ---- trigger capture (replica/track/triggers.c) ---- */

/* Told for each table: its name, on, and whether its mode changed. */
typedef void (*replica_capture_fn)(void *arg, const char *name, int on,
    int changed);

/*
 * Puts tracked tables in trigger mode (on: AFTER INSERT/UPDATE/DELETE
 * triggers note changed keys so that a scan visits only those rows) or
 * back to full scans (on = 0: triggers and noted keys dropped).  `names`
 * NULL: every tracked table.  Runs its own transaction; MULE_ENOTFOUND
 * for an untracked table (nothing changed).  `each` may be NULL.  The
 * first scan after the triggers are added reads the whole table, and so
 * does any scan that finds them missing or changed (they are put back),
 * the table's columns changed, the row count disagreeing with the state
 * after the noted rows, or scan.full-every scans since the last full one.
 */
int replica_capture_set(struct replica *rp, const char *const *names,
    size_t n, int on, replica_capture_fn each, void *arg, char *err);

/* ---- scanning (docs/design.md §6) ---- */

struct replica_table_stats {
	char name[256];
	uint64_t inserted, updated, deleted;
	int triggers;		/* 1: in trigger mode (replica_capture_set) */
	const char *full_why;	/* trigger mode, read whole: why (static) */
	int cores;		/* 2: read on two cores (scan.parallel-rows) */
};

struct replica_scan_stats {
	uint64_t rows;		/* rows looked at */
	uint64_t inserted, updated, deleted;
	size_t ntables;
	struct replica_table_stats *tables;	/* heap, ntables entries */
	uint64_t lamport;	/* the commit's counter (0: nothing changed) */
};

void replica_scan_stats_release(struct replica_scan_stats *s);

/*
 * Records unrecorded local edits of every tracked table as one local
 * commit (the lamport counter goes up by one when anything changed).
 * Must run inside a transaction (replica_begin) unless `dry` is set, in
 * which case only the statistics are computed and nothing is written.
 * The state is first brought to the tables' live column layout
 * (replica/schema/record.c; the scan itself is replica/track/scan.c).
 */
int replica_scan(struct replica *rp, int dry, struct replica_scan_stats *st,
    replica_progress_fn progress, void *parg, char *err);

/* ---- outgoing changes (pack) ---- */

/*
 * Iterates every row holding a cell or existence change whose stamp is
 * above `base` (per origin), table by table, into `sink` (store.h).
 */
int replica_changes(struct replica *rp, const struct vector *base,
    const struct replica_out_sink *sink, replica_progress_fn progress,
    void *parg, char *err);

/*
 * Every row of tracked table `tid` whose state key is in [lo, hi) (NULL
 * or MVAL_NULL bounds are open; see replica_digest_range), alive or
 * deleted, whole — every cell with its stamp and context — into `sink`,
 * for reconciliation.  *rows counts them.  Nothing for an untracked tid.
 */
int replica_changes_range(struct replica *rp, int64_t tid,
    const struct mval *lo, const struct mval *hi,
    const struct replica_out_sink *sink, uint64_t *rows, char *err);

/*
 * Forgets journal entries every peer has been sent (after a pack); a
 * peer that later needs older changes gets them from a full pass.
 */
int replica_journal_prune(struct replica *rp, char *err);

#endif
