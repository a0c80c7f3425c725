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
/* 1 when table `name` exists in the database. */
int rp_has_table(struct replica *rp, const char *name);

#endif
