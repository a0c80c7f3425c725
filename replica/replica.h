/*
 * replica/replica.h — the database side of mule: a SQLite database plus
 * mule's bookkeeping in tables named _mule_* inside it (docs/design.md §5),
 * so that one SQLite transaction covers data and state together.
 *
 * replica/ knows nothing of files, media or email: bundles reach it as
 * struct rowchange values (core/change.h) through replica_apply_*, and
 * leave it through replica_changes_* iterators.  Its parts, bottom up
 * (each calls only those below it):
 *
 *   store/   site, peers, settings, tracked tables, per-row state,
 *            vectors, bundle log                    replica/store/store.h
 *   sets/    sync sets and maps                     replica/sets/sets.h
 *   track/   choosing tables, the scan, the journal replica/track/track.h
 *   schema/  schema text, catalogue, layouts        replica/schema.h
 *   merge/   applying a bundle's changes            (below)
 *
 * Every function returns 0 or a negative MULE_E* code and fills `err`
 * (MULE_ERRLEN bytes, may be NULL) with specifics.
 */
#ifndef MULE_REPLICA_REPLICA_H
#define MULE_REPLICA_REPLICA_H

#include "replica/store/store.h"
#include "replica/sets/sets.h"
#include "replica/track/track.h"

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
/* Merges one row change by the rule of DESIGN §7. */
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
int replica_apply_sender_schema(struct replica_apply *a, uint32_t version,
    char *err);

/* ---- conflicts ---- */

struct replica_conflict {
	int64_t id;
	char *table, *pk, *col;
	char *local, *remote;	/* values as SQL literals */
	struct stamp local_st, remote_st;
	char winner[8];		/* "local" or "remote" */
	uint8_t bundle[16];
	int kind;		/* enum merge_conflict_kind (replica/merge/merge.h) */
};
/*
 * The name of a conflict kind ("cell overwritten", "edit lost to a
 * deletion", "colliding insert", "row left a set", "baselines differ";
 * "unknown" otherwise): a static string.
 */
const char *replica_conflict_kind_name(int kind);
int replica_conflicts(struct replica *rp, struct replica_conflict **out,
    size_t *n, char *err);
void replica_conflicts_free(struct replica_conflict *v, size_t n);
int replica_conflict_count(struct replica *rp, uint64_t *n, char *err);
/*
 * Resolves conflict `id` by writing the kept value into the row: `keep`
 * "local" or "remote" (the value stored with the conflict), or `value`
 * (text; the column's affinity converts it).  Inside a transaction; the
 * caller's next scan records it as a new local change, which then
 * propagates.  A whole-row conflict can only keep its winner.
 */
int replica_conflict_resolve(struct replica *rp, int64_t id,
    const char *keep, const char *value, char *err);

#endif
