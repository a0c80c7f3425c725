/*
 * replica/sets/sets.h — sync sets (what each peer receives: tables, a
 * row filter, a column mask) and maps (a peer's table and columns
 * received under our names).  Docs: docs/state.md "Sync sets".
 *
 * Every function returns 0 or a negative MULE_E* code and fills `err`.
 * Include replica/replica.h rather than this file.
 */
#ifndef MULE_REPLICA_SETS_H
#define MULE_REPLICA_SETS_H

#include "replica/store/store.h"

/* ---- sync sets: what each peer receives (replica/sets/sets.c, replica/sets/map.c) ---- */

#define REPLICA_LEFT_PREFIX "_mule_left:"	/* segment of rows that left */

enum replica_colmode {
	REPLICA_COLS_ALL = 0,	/* every column goes */
	REPLICA_COLS_ONLY = 1,	/* only the listed ones (and the key) */
	REPLICA_COLS_EXCEPT = 2,	/* all but the listed ones */
};

/* One table's definition in a peer's sync set. */
struct replica_share {
	char *table;
	int shared;		/* 0: the table does not go to the peer */
	char *filter;		/* SQL expression over the row, or NULL */
	int colmode;		/* enum replica_colmode */
	size_t ncols;
	char **cols;		/* the listed columns */
};

/*
 * Shares `table` (tracked) with `peer`: rows where `filter` (NULL: every
 * row) is true, columns per colmode/cols.  Refuses an unknown peer or
 * table (MULE_ENOTFOUND), unknown or key columns in the list and a filter
 * that does not compile, uses anything but the row's own columns or
 * holds ';' or comments (MULE_EINVAL), changing nothing.  Once a peer has
 * any definition it receives only the tables shared with it.  Takes
 * effect at the next pack.  Runs its own transaction.
 */
int replica_share(struct replica *rp, const char *peer, const char *table,
    const char *filter, int colmode, const char *const *cols, size_t ncols,
    char *err);
/* Stops sharing `table` with `peer` (the peer keeps a sync set). */
int replica_unshare(struct replica *rp, const char *peer, const char *table,
    char *err);
/* Forgets the peer's sync set: it gets every tracked table in full. */
int replica_share_reset(struct replica *rp, const char *peer, char *err);
/* The peer's definitions by table name (*n 0: every table in full). */
int replica_shares(struct replica *rp, const char *peer,
    struct replica_share **out, size_t *n, char *err);
void replica_shares_free(struct replica_share *v, size_t n);

/* A receiving-side mapping of a peer's table (and columns) to ours. */
struct replica_map {
	char *rtable, *ltable;
	size_t ncols;
	char **rcols, **lcols;
};
/*
 * Rows of `rtable` from `peer` land in local table `ltable`, column
 * rcols[i] in lcols[i] (others keep their names).  Refuses an unknown
 * peer, a missing local table or column, and two remote columns landing
 * in one local column.  Replaces an earlier map of rtable.
 */
int replica_map(struct replica *rp, const char *peer, const char *rtable,
    const char *ltable, const char *const *rcols, const char *const *lcols,
    size_t ncols, char *err);
int replica_unmap(struct replica *rp, const char *peer, const char *rtable,
    char *err);
int replica_maps(struct replica *rp, const char *peer,
    struct replica_map **out, size_t *n, char *err);
void replica_maps_free(struct replica_map *v, size_t n);

/*
 * Packing for peers with sync sets.  replica_set_new reads the peers'
 * definitions; several peers in one bundle must all have none (each
 * recipient can read the whole bundle).  replica_changes_set is
 * replica_changes within the set: filtered-out rows and masked columns
 * are never handed to the sink, rows entering the set go in full, and
 * rows leaving it are remembered; replica_set_finish then hands those
 * over as a table named REPLICA_LEFT_PREFIX + table holding only keys,
 * and records what the peer was sent.  `held` (NULL: nothing) is what
 * every recipient has acknowledged holding: an edit of a row incarnation
 * it covers names its base by the row alone (docs/state.md "Baselines").
 * Inside the pack's transaction.
 */
struct replica_set;
int replica_set_new(struct replica *rp, const char *const *peers,
    size_t npeers, int full, struct replica_set **out, char *err);
int replica_changes_set(struct replica *rp, const struct vector *base,
    const struct vector *held, struct replica_set *set,
    const struct replica_out_sink *sink, replica_progress_fn progress,
    void *parg, char *err);
int replica_set_finish(struct replica_set *set,
    const struct replica_out_sink *sink, uint64_t *left, char *err);
void replica_set_free(struct replica_set *set);

/*
 * In a table of at least `rows` rows (0: never; not with --full or a
 * sync set), a row that is all baseline — every cell zero-stamped with a
 * base, as the table's first scan left it — does not go whole to the
 * peer just because its existence stamp is new to it.  A peer that is a
 * separately initialized copy holds it already; content digests find the
 * rows a peer lacks, and reconciliation sends those (docs/state.md
 * "Digests and reconciliation").  Smaller tables simply go.
 */
void replica_set_hold_baselines(struct replica_set *s, const char *peer,
    uint64_t rows);

/*
 * 1 when `peer` has no sync set and no map here: it is sent whole
 * tables and sends us whole tables, so that once both know the same
 * changes both hold the same rows (content digests compare, see
 * sync/reconcile.c); 0 otherwise.
 */
int replica_peer_plain(struct replica *rp, const char *peer);

/*
 * A bundle to `peer` was lost (replica_check_lost said so): at the next
 * pack, every row of its filtered sets is evaluated again and those in
 * the set go whole.  Inside the unpack's transaction.
 */
int replica_sets_lost(struct replica *rp, const char *peer, char *err);

#endif
