/*
 * replica/track/internal.h — the scan's and the journal's private side
 * (replica/track/scan.c, changes.c).
 * Private to replica/ (include replica/internal.h).
 */
#ifndef MULE_REPLICA_TRACK_INTERNAL_H
#define MULE_REPLICA_TRACK_INTERNAL_H

#include "replica/store/internal.h"

/* Adds a journal entry (key bound as ?1 by the caller). */
int rp_journal_add(struct replica *rp, sqlite3_stmt *jrn, uint64_t lamport,
    int64_t tid, char *err);
/* The table's "next scan is its baseline" flag. */
int rp_table_flag(struct replica *rp, int64_t tid, int *baseline, char *err);
/* Clears that flag and raises the journal floor to `lamport`. */
int rp_baseline_done(struct replica *rp, int64_t tid, uint64_t lamport,
    char *err);
/*
 * The journal floor: below it the journal is no longer complete, and a
 * peer that needs older changes gets a full pass (docs/state.md).
 */
int rp_floor_raise(struct replica *rp, uint64_t lamport, char *err);
int rp_floor_get(struct replica *rp, uint64_t *floor, char *err);
/*
 * 1 when no other program wrote the database since mule's last commit
 * (the file change counter is the one predicted then): the scan can be
 * skipped.  Never 1 in WAL mode.
 */
int rp_unchanged_since_us(struct replica *rp);
/* Every origin's site id, indexed by origin index (heap array). */
int rp_origins_load(struct replica *rp, uint8_t (**sites)[SITE_ID_LEN],
    size_t *n, char *err);

/*
 * The scan proper (replica/track/scan.c): replica_scan without bringing
 * the state to the live layout first (the caller has done that).
 */
int rp_scan(struct replica *rp, int dry, struct replica_scan_stats *out,
    replica_progress_fn progress, void *parg, char *err);

/* ---- the full scan's search on two cores (replica/track/pscan.c) ---- */

#define PSCAN_MAX_KEYS (1u << 19)	/* keys a half may note (4 MiB) */
#define PSCAN_MIN_ROWS 65536		/* scan.parallel-rows when unset */

struct rp_pscan {
	int found;		/* 0: scan serially (see rp_pscan_find) */
	int64_t *keys;		/* keys of rows that may have changed, in order */
	size_t n;
	uint64_t rows;		/* data rows read */
};
/*
 * For rowid table t, whose data and state this transaction has not
 * written: reads both halves of the key range on two connections at once
 * and notes the keys whose row is new, changed or gone.  0 with
 * out->found = 0 when it could not or should not run (one core, not a
 * rowid table, fewer than two distinct keys, the second connection could
 * not read, more than PSCAN_MAX_KEYS keys in a half): the caller scans
 * serially.  Free with
 * rp_pscan_release.
 */
int rp_pscan_find(struct replica *rp, const struct replica_table *t,
    struct rp_pscan *out, char *err);
void rp_pscan_release(struct rp_pscan *p);

/* ---- trigger capture (replica/track/triggers.c) ---- */

enum { RP_CAPTURE_SCAN, RP_CAPTURE_DIRTY, RP_CAPTURE_FULL };
/*
 * How this scan visits table t: RP_CAPTURE_SCAN (not in trigger mode),
 * RP_CAPTURE_DIRTY (only the noted keys) or RP_CAPTURE_FULL (trigger
 * mode, but the whole table; *why says why, static text).  Unless `dry`,
 * missing or changed triggers are made again (their noted keys are lost:
 * that scan is full).
 */
int rp_capture_plan(struct replica *rp, const struct replica_table *t, int dry,
    int *mode, const char **why, char *err);
/* Prepares "SELECT k0, k1... FROM" t's dirty keys (finalize *st). */
int rp_capture_keys(struct replica *rp, const struct replica_table *t,
    sqlite3_stmt **st, char *err);
/* After a scan of t in trigger mode (not dry): noted keys forgotten. */
int rp_capture_done(struct replica *rp, const struct replica_table *t,
    int full, char *err);
/* Drops table tid's triggers and noted keys (untrack, --no-triggers). */
int rp_capture_drop(struct replica *rp, int64_t tid, char *err);

#endif
