/*
 * replica/sets/internal.h — sync sets inside a pack (replica/sets/sets.c,
 * for replica/track/changes.c) and maps at apply.
 * Private to replica/ (include replica/internal.h).
 */
#ifndef MULE_REPLICA_SETS_INTERNAL_H
#define MULE_REPLICA_SETS_INTERNAL_H

#include "replica/store/internal.h"

enum { SETROW_SKIP = 0, SETROW_NORMAL = 1, SETROW_FULL = 2 };

/* What a peer's set says about one table, for this pack. */
struct set_tab {
	const struct replica_table *t;
	int shared;		/* 0: nothing of the table goes */
	int all_rows;		/* visit every row: the definition changed */
	int rows;		/* ask rp_set_row about each visited row */
	uint8_t *send;		/* per column: 1 when it goes; NULL: all */
	int dirty;		/* sets.c's own from here on */
	int none;		/* no longer shared: rows only leave */
	int oldkind;
	sqlite3_stmt *filt, *mem_get, *mem_put, *mem_del, *old_get, *leave;
};

/* Fills *out for table t (every table once per pack; release below). */
/* Tables with at least this many rows keep rows that are all baseline
 * home (replica_set_hold_baselines); 0: none. */
uint64_t rp_set_holds_baselines(const struct replica_set *s);
/*
 * 1 when the content digests of `table` agreed at the last comparison
 * with the bundle's one recipient (replica_set_hold_baselines named it):
 * then a cell it holds unedited from its own first scan holds the same
 * baseline as ours, whatever the row's incarnation stamp.
 */
int rp_set_agreed(const struct replica_set *s, const char *table);
int rp_set_table(struct replica_set *s, const struct replica_table *t,
    struct set_tab *out, char *err);
void rp_set_tab_release(struct set_tab *tab);
/*
 * Decides how a row goes (SETROW_*), keeping the membership: `pk` the
 * row's key values, `alive` whether it exists here, `sent` whether its
 * existence stamp is within what the peer is known to have (so it may
 * hold the row).  A row leaving the set is remembered for
 * replica_set_finish and skipped (SETROW_SKIP).
 */
int rp_set_row(struct replica_set *s, struct set_tab *tab,
    const struct mval *pk, int alive, int sent, int *mode, char *err);
/*
 * Prepares SELECT 1 FROM t WHERE (expr), with the key condition first
 * when `withpk` (key values then bound as ?1...).  An expression that
 * reads anything but the row's own columns is refused (MULE_EINVAL).
 */
int rp_filter_prepare(struct replica *rp, const struct replica_table *t,
    const char *expr, int withpk, sqlite3_stmt **out, char *err);
/*
 * The peer's sync set for table t as it stands: *shared 0 when the table
 * does not go to the peer; *filter (heap, NULL: every row); *cols (heap,
 * per column 1 when it goes; NULL: every column).
 */
int rp_set_definition(struct replica *rp, const char *peer,
    const struct replica_table *t, int *shared, char **filter,
    uint8_t **cols, char *err);

/*
 * The receiver's fence (docs/decisions.md "What a peer may write"): what
 * `peer` may write in table t here is what this site shares with it —
 * the table, the columns it sends, and the rows of its filter or that the
 * peer holds (a row may leave the set by the peer's own edit).
 */
struct rp_fence {
	const struct replica_table *t;
	int shared;		/* 0: the peer may write nothing of t */
	uint8_t *cols;		/* per column: 1 writable; NULL: every one */
	sqlite3_stmt *filt;	/* the filter over the row by key, or NULL */
	sqlite3_stmt *member;	/* the peer holds the row (was sent it) */
};
/* Reads the fence for peer and t into *f (release below). */
int rp_fence_open(struct replica *rp, const char *peer,
    const struct replica_table *t, struct rp_fence *f, char *err);
void rp_fence_release(struct rp_fence *f);
/* 1 when the peer may write column j of t. */
int rp_fence_col(const struct rp_fence *f, uint32_t j);
/*
 * Whether the row with key pk, as it stands in the table now, is one the
 * peer may write: *ok 1 when there is no filter, the row matches it, or
 * the peer holds the row.  A row not in the table matches nothing.
 */
int rp_fence_row(struct replica *rp, struct rp_fence *f,
    const struct mval *pk, int *ok, char *err);

/* Local and incoming names of a mapped table (*ltable NULL: no map). */
int rp_map_names(struct replica *rp, const char *peer, const char *table,
    uint32_t ncols, const char *const *cols, char **ltable, char ***lcols,
    char *err);
/* What rp_peer_rows hands its fill function as `arg`. */
struct rp_peer_read {
	struct replica *rp;
	const char *peer;
};
/*
 * rp_rows over a per-peer table of the sets: `sql` with ?1 bound to
 * `peer` and ?2 to `key` (NULL: left NULL); nothing (*out NULL, *n 0)
 * when the table `tbl`, made on first use, does not exist yet.
 */
int rp_peer_rows(struct replica *rp, const char *tbl, const char *sql,
    const char *peer, const char *key, size_t size,
    int (*fill)(void *arg, sqlite3_stmt *st, void *elem, char *err),
    void (*release)(void *v, size_t n), void **out, size_t *n,
    const char *what, char *err);
/* Creates the set and map tables when missing (inside a transaction). */
int rp_sets_ensure(struct replica *rp, char *err);

#endif
