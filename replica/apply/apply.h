/*
 * replica/apply/apply.h — applying a bundle's row changes to the replica:
 * the SQL driver around the pure merge rule of merge.h (docs/state.md
 * "Merging").  sync_unpack calls these in order: new, then per table
 * table() and row() for each row (value() for large values first),
 * finish, free.
 *
 * Every function returns 0 or a negative MULE_E* code and fills `err`.
 * Include replica/replica.h rather than this file.
 */
#ifndef MULE_REPLICA_APPLY_H
#define MULE_REPLICA_APPLY_H

#include "replica/store/store.h"

/* ---- incoming changes (unpack) ---- */

/*
 * What applying a bundle did: rows read; rows inserted, updated (some
 * value written: only rows whose values changed), deleted; cells of alive
 * rows read; rows that changed no data (older, equal, or only their
 * stamps moved); conflicts logged.
 */
struct replica_apply_stats {
	uint64_t rows, inserted, updated, deleted, cells, ignored;
	uint64_t conflicts;
	uint64_t left;		/* rows removed: they left our set at the sender */
	uint64_t refused;	/* row changes outside what we share with the sender: logged, not written */
	uint64_t kept;		/* values of columns we keep from the sender: not written */
	uint64_t asked;		/* edits of rows we lack: the rows asked for whole */
	uint64_t forgotten;	/* rows deleted here, tombstone pruned: not brought back */
	int gap;		/* we lacked the bundle's base */
};

struct replica_apply;

/*
 * Starts applying a bundle from `peer` inside the current transaction.
 * `ack` is the sender's knowledge when it packed (it decides only which
 * rows leaving a set are kept; conflicts are told by the cells' causal
 * contexts), `bundle_id` goes into conflict records.  Free with replica_apply_free.
 */
int replica_apply_new(struct replica *rp, const char *peer,
    const uint8_t bundle_id[16], const struct vector *ack,
    struct replica_apply **out, char *err);
/* Remembers a large value sent by reference (kept in a temp table). */
int replica_apply_value(struct replica_apply *a,
    const uint8_t hash[VALUE_REF_LEN], int type, const uint8_t *p, size_t n,
    char *err);
/* The table the following rows belong to (columns as the sender has them). */
int replica_apply_table(struct replica_apply *a, const char *table,
    uint32_t ncols, const char *const *cols, uint32_t npk,
    const uint32_t *pkcols, char *err);
/* Merges one row change by the rule of docs/design.md §7. */
int replica_apply_row(struct replica_apply *a, const struct rowchange *rc,
    char *err);
/*
 * Finishes: raises our lamport counter past every stamp seen, raises our
 * vector to `top` where we had `base` (else stats->gap = 1), records the
 * sender's ack.  Fills *stats.
 */
int replica_apply_finish(struct replica_apply *a, const struct vector *base,
    const struct vector *top, struct replica_apply_stats *stats, char *err);
void replica_apply_free(struct replica_apply *a);
/*
 * (sync/) The sender's schema version, from the bundle's manifest: when
 * a table's layout does not match and the sender is at an older version
 * than ours, replica_apply_table's MULE_ESCHEMA message says so and what
 * to do.  Returns 0.
 */
/*
 * (replica/prune/prune.c) Guards the apply: an alive row it holds no
 * state for, created below `horizon` (rp_prune_forgotten), is taken for a
 * row deleted here whose tombstone was pruned: not written (counted in
 * `forgotten`); with `remake` (the sender lacks the deletions) the
 * deletion is made again with a fresh stamp, and the row's cells above
 * the horizon are logged as conflicts (edit lost to a deletion).  0 or
 * MULE_ENOMEM.
 */
int replica_apply_guard(struct replica_apply *a,
    const struct vector *horizon, int remake);
int replica_apply_sender_schema(struct replica_apply *a, uint32_t version,
    char *err);

#endif
