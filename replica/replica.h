/*
 * replica/replica.h — the database side of mule: a SQLite database plus
 * mule's bookkeeping in tables named _mule_* inside it (DESIGN §5), so
 * that one SQLite transaction covers data and state together.
 *
 * replica/ knows nothing of files, media or email: bundles reach it as
 * struct rowchange values (core/change.h) through replica_apply_*, and
 * leave it through replica_changes_* iterators.
 *
 * Every function returns 0 or a negative MULE_E* code and fills `err`
 * (MULE_ERRLEN bytes, may be NULL) with specifics.
 */
#ifndef MULE_REPLICA_REPLICA_H
#define MULE_REPLICA_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#include "core/change.h"
#include "crypto/ident.h"

#define REPLICA_NAME_MAX 64	/* site and peer names */
#define REPLICA_BUSY_MS 5000	/* bounded wait for a locked database */

struct replica;

/* ---- opening ---- */

/*
 * Makes `path` a replica: creates the _mule_* tables and a new site id,
 * records `name` and the public identity `pub`.  Existing data is the
 * baseline; tables are tracked later (replica_track).  Refuses a file that
 * is not a SQLite database (MULE_ENOTDB), an existing replica
 * (MULE_EEXIST) and a database it cannot write (MULE_EREADONLY), changing
 * nothing.  `site_id` is the id the caller generated the identity for.
 */
int replica_init(const char *path, const char *name,
    const uint8_t site_id[SITE_ID_LEN], const struct ident_pub *pub,
    char *err);

/*
 * Opens an existing replica (MULE_ENOTREPLICA when mule's tables are
 * missing, MULE_ENOTFOUND when the file is missing).  `readonly` opens it
 * read-only.  Free with replica_close.
 */
int replica_open(const char *path, int readonly, struct replica **out,
    char *err);
void replica_close(struct replica *rp);

/* The site: id, name, public identity, lamport counter. */
struct replica_site {
	uint8_t id[SITE_ID_LEN];
	char name[REPLICA_NAME_MAX + 1];
	struct ident_pub pub;
	uint64_t lamport;
};
int replica_site(struct replica *rp, struct replica_site *out, char *err);

/* 0 if `name` is a valid site/peer name: 1–64 of [A-Za-z0-9._-]. */
int replica_check_name(const char *name, char *err);

/* ---- peers ---- */

struct replica_peer {
	char name[REPLICA_NAME_MAX + 1];
	struct ident_pub pub;
	int has_site;			/* site id learnt from a bundle */
	uint8_t site_id[SITE_ID_LEN];
};

/*
 * Trusts a peer.  Refuses a duplicate name or key (MULE_EEXIST) and our
 * own key (MULE_EINVAL).
 */
int replica_peer_add(struct replica *rp, const char *name,
    const struct ident_pub *pub, char *err);
int replica_peer_remove(struct replica *rp, const char *name, char *err);
/* Finds a peer by name / key id: MULE_ENOTFOUND when there is none. */
int replica_peer_get(struct replica *rp, const char *name,
    struct replica_peer *out, char *err);
int replica_peer_by_keyid(struct replica *rp,
    const uint8_t key_id[IDENT_KEYID_LEN], struct replica_peer *out,
    char *err);
/* All peers sorted by name; *out is a heap array the caller frees. */
int replica_peer_list(struct replica *rp, struct replica_peer **out,
    size_t *n, char *err);
/* Remembers the site id a peer's bundles carry. */
int replica_peer_set_site(struct replica *rp, const char *peer,
    const uint8_t site[SITE_ID_LEN], char *err);
/* Per-peer properties ("email" ...); value NULL deletes. */
int replica_peer_set(struct replica *rp, const char *name, const char *key,
    const char *value, char *err);
/* *value: heap string or NULL when unset. */
int replica_peer_prop(struct replica *rp, const char *name, const char *key,
    char **value, char *err);

/* ---- settings (_mule_config) ---- */

/*
 * Settings are plain key/value text; replica/ does not interpret them
 * (cli/ checks keys and values).  replica_config_get: *value is a heap
 * string or NULL when unset.  replica_config_set: value NULL deletes.
 * replica_config_list: every setting sorted by key, as two heap arrays of
 * *n heap strings (free each with strv_free).
 */
int replica_config_get(struct replica *rp, const char *key, char **value,
    char *err);
int replica_config_set(struct replica *rp, const char *key,
    const char *value, char *err);
int replica_config_list(struct replica *rp, char ***keys, char ***values,
    size_t *n, char *err);

/* ---- tracked tables ---- */

/* A tracked table as mule sees it now. */
struct replica_table {
	int64_t tid;
	char *name;
	int intpk;		/* single INTEGER PRIMARY KEY (a rowid alias) */
	int without_rowid;
	uint32_t ncols;
	char **cols;		/* column names in table order */
	uint32_t npk;
	uint32_t *pkcols;	/* indexes into cols, in key order */
};

void replica_table_free(struct replica_table *t);
/* Reads a table's shape from the live schema (tracked or not). */
int replica_table_describe(struct replica *rp, const char *name,
    struct replica_table **out, char *err);
/* All tracked tables, by name; free each with replica_table_free. */
int replica_tables(struct replica *rp, struct replica_table ***out,
    size_t *n, char *err);
void replica_tables_free(struct replica_table **v, size_t n);

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
/* Names of all user tables (not sqlite_*, not _mule_*); heap array. */
int replica_user_tables(struct replica *rp, char ***names, size_t *n,
    char *err);
void replica_names_free(char **v, size_t n);
/* Stops tracking (forgets the table's state).  MULE_ENOTFOUND if untracked. */
int replica_untrack(struct replica *rp, const char *name, char *err);

/* ---- scanning (DESIGN §6) ---- */

struct replica_table_stats {
	char name[256];
	uint64_t inserted, updated, deleted;
};

struct replica_scan_stats {
	uint64_t rows;		/* rows looked at */
	uint64_t inserted, updated, deleted;
	size_t ntables;
	struct replica_table_stats *tables;	/* heap, ntables entries */
	uint64_t lamport;	/* the commit's counter (0: nothing changed) */
};

void replica_scan_stats_release(struct replica_scan_stats *s);

typedef void (*replica_progress_fn)(void *arg, const char *what,
    unsigned long long done, unsigned long long total);

/*
 * Records unrecorded local edits of every tracked table as one local
 * commit (the lamport counter goes up by one when anything changed).
 * Must run inside a transaction (replica_begin) unless `dry` is set, in
 * which case only the statistics are computed and nothing is written.
 */
int replica_scan(struct replica *rp, int dry, struct replica_scan_stats *st,
    replica_progress_fn progress, void *parg, char *err);

/* ---- transactions for cli (one bundle = one transaction) ---- */
int replica_begin(struct replica *rp, char *err);
int replica_commit(struct replica *rp, char *err);
void replica_rollback(struct replica *rp);

/* ---- vectors (DESIGN §8) ---- */

/* Our own vector: per origin, the highest counter we have contiguously. */
int replica_known(struct replica *rp, struct vector *out, char *err);
/* A peer's "sent" or "acked" vector. */
int replica_peer_vector(struct replica *rp, const char *peer,
    const char *kind, struct vector *out, char *err);
int replica_set_peer_vector(struct replica *rp, const char *peer,
    const char *kind, const struct vector *v, char *err);

/* ---- outgoing changes (pack) ---- */

/*
 * Iterates every row holding a cell or existence change whose stamp is
 * above `base` (per origin), table by table.  For each table with
 * changes, table() is called first, then row() for each row.  The
 * rowchange and everything it points to are valid only during the call.
 */
struct replica_out_sink {
	void *arg;
	int (*table)(void *arg, const struct replica_table *t);
	int (*row)(void *arg, const struct rowchange *rc);
};
int replica_changes(struct replica *rp, const struct vector *base,
    const struct replica_out_sink *sink, replica_progress_fn progress,
    void *parg, char *err);

/*
 * Forgets journal entries every peer has been sent (after a pack); a
 * peer that later needs older changes gets them from a full pass.
 */
int replica_journal_prune(struct replica *rp, char *err);

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

/* ---- bundle log ---- */

struct replica_logent {
	int64_t id;
	uint8_t bundle[16];
	char dir[8];		/* "sent" or "recv" */
	char peer[REPLICA_NAME_MAX + 1];
	int64_t seq;
	char file[1024];
	char summary[512];
	char at[32];
};
/* 1 in *yes when bundle `id` was already received. */
int replica_log_has(struct replica *rp, const uint8_t id[16], const char *dir,
    int *yes, char *err);
/* `top`: for sent bundles, the vector they brought peers up to (or NULL). */
int replica_log_add(struct replica *rp, const uint8_t id[16], const char *dir,
    const char *peer, int64_t seq, const char *file, const char *summary,
    const struct vector *top, char *err);
/* This site's next bundle number (1, 2, ...; one sequence for all peers). */
int replica_next_seq(struct replica *rp, int64_t *seq, char *err);
/*
 * For a manifest's `recv`: per peer whose site id we know, the highest
 * bundle number of theirs we applied.
 */
int replica_recv_seqs(struct replica *rp, struct vector *out, char *err);
/*
 * After applying a bundle from `peer`: `recv` and `ack` are its manifest's.
 * When the peer has applied our bundle number recv[our site] but its ack
 * does not cover what that bundle brought it up to, something we sent
 * never arrived: "sent" falls back to the ack, so the next pack carries
 * the missing changes again (*lost = 1).  Remembers, as the peer's
 * properties "_applied" and "_lost", the last bundle of ours it applied
 * and the one after which something was lost (cleared by the next pack).
 * A stale bundle — `seq` below one of the peer's already applied — tells
 * nothing new and changes nothing.
 */
int replica_check_lost(struct replica *rp, const char *peer, uint64_t seq,
    const struct vector *recv, const struct vector *ack, int *lost,
    char *err);
int replica_log_list(struct replica *rp, struct replica_logent **out,
    size_t *n, char *err);

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
/* Forgets sets, maps and memberships of a peer being removed. */
int replica_sets_forget(struct replica *rp, const char *peer, char *err);

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
 * and records what the peer was sent.  Inside the pack's transaction.
 */
struct replica_set;
int replica_set_new(struct replica *rp, const char *const *peers,
    size_t npeers, int full, struct replica_set **out, char *err);
int replica_changes_set(struct replica *rp, const struct vector *base,
    struct replica_set *set, const struct replica_out_sink *sink,
    replica_progress_fn progress, void *parg, char *err);
int replica_set_finish(struct replica_set *set,
    const struct replica_out_sink *sink, uint64_t *left, char *err);
void replica_set_free(struct replica_set *set);

#endif
