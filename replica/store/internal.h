/*
 * replica/store/internal.h — the store's private side: the open handle,
 * statement helpers, the per-row state, tracked-table helpers, vectors.
 * Private to replica/ (include replica/internal.h).
 */
#ifndef MULE_REPLICA_STORE_INTERNAL_H
#define MULE_REPLICA_STORE_INTERNAL_H

#include <sqlite3.h>

#include "replica/merge/merge.h"
#include "replica/replica.h"

/*
 * _mule_site.format: layout of the state tables.  3 adds the compact form
 * of a state blob (state.c); a replica of format 2 is read as it is and
 * marked 3 by its first write transaction (rp_begin).
 */
#define STATE_FORMAT 3
#define STATE_FORMAT_OLDEST 2	/* the oldest this mule opens */

struct replica {
	sqlite3 *db;
	char *path;
	int readonly;
	int format;		/* _mule_site.format when opened */
	uint8_t site_id[SITE_ID_LEN];
	int64_t me;		/* our index in _mule_origins */
	int64_t changes_at_begin; /* sqlite3_total_changes64 at BEGIN */
	int state_written;	/* this transaction may have written state */
	/* What the state's writers changed in each table's digest since
	 * the last rp_digest_flush (digest.c): per table, rows and sum to
	 * add. */
	struct rp_dpend *dpend;
	size_t ndpend, dpend_cap;
	/* Tables whose state this transaction writes straight into the
	 * main table, both tables having been empty (overlay.c). */
	int64_t *direct;
	size_t ndirect, direct_cap;
	/* While a peer's schema step runs for unpack --dry-run: where its
	 * statements are reported (replica/schema/catalog.c). */
	struct replica_step_report *report;
	uint32_t report_version;
};

/* Maps a SQLite result code to MULE_E* and fills err with the db message. */
int rp_dberr(struct replica *rp, int rc, char *err, const char *what);
int rp_sqlerr(sqlite3 *db, int rc, char *err, const char *what);
/* Prepares `sql` (MULE_EDB with the message on failure). */
int rp_prepare(struct replica *rp, const char *sql, sqlite3_stmt **st,
    char *err);
/* Runs SQL without results (no data is ever formatted into it). */
int rp_exec(struct replica *rp, const char *sql, char *err);
/* The database file's change counter (header offset 24). */
int rp_file_counter(struct replica *rp, int64_t *counter);
/* BEGIN IMMEDIATE (bounded busy wait), COMMIT, ROLLBACK. */
int rp_begin(struct replica *rp, char *err);
int rp_commit(struct replica *rp, char *err);
void rp_rollback(struct replica *rp);
/* Index of `site` in _mule_origins, adding it when new. */
int rp_origin_idx(struct replica *rp, const uint8_t site[SITE_ID_LEN],
    int64_t *idx, char *err);
/*
 * Runs a query that yields one integer, its ?1 (if any) bound to `arg`:
 * *out is the first column of the first row, or `dflt` when there is no
 * row.  0 or a MULE_E* code.
 */
int rp_scalar(struct replica *rp, const char *sql, int64_t arg, int64_t dflt,
    int64_t *out, char *err);
/*
 * Runs a statement without results, its text parameters ?1, ?2, ?3 bound
 * to a, b, c (a NULL one, and any the statement does not have, stays
 * NULL); `what` names the step in the error.  0 or a MULE_E* code.
 */
int rp_exec_text(struct replica *rp, const char *sql, const char *a,
    const char *b, const char *c, const char *what, char *err);
/*
 * Runs a query with text parameters ?1, ?2 bound as above: *value is a
 * heap copy of the first column of the first row, NULL when there is no
 * row.  0 or a MULE_E* code.
 */
int rp_text(struct replica *rp, const char *sql, const char *a, const char *b,
    char **value, const char *what, char *err);
/* 1 when a query with text ?1 bound to `a` yields a row; 0 otherwise. */
int rp_exists(struct replica *rp, const char *sql, const char *a);
/* 1 when table `name` exists in the database. */
int rp_has_table(struct replica *rp, const char *name);
/*
 * Reads every row of the prepared query `st` into a heap array of
 * elements of `size` bytes.  Each element is zeroed, then `fill` sets it
 * from the current row and returns 0 (keep it), 1 (skip the row) or a
 * negative MULE_E* code with err filled (stop).  On success *out is the
 * array (NULL when empty) and *n its length; the caller owns it.  On
 * failure `release(v, n)` frees what was read, the failed element
 * included (zeroed or partly filled), and *out, *n are untouched.  `what`
 * names the read in a database error.  The statement is reset, not
 * finalized.
 */
int rp_rows(struct replica *rp, sqlite3_stmt *st, size_t size,
    int (*fill)(void *arg, sqlite3_stmt *st, void *elem, char *err),
    void *arg, void (*release)(void *v, size_t n), void **out, size_t *n,
    const char *what, char *err);
/*
 * Like rp_text, but collects the first column of every row ("" for NULL)
 * into a heap array of *n heap strings (strv_free).
 */
int rp_strings(struct replica *rp, const char *sql, const char *a,
    const char *b, char ***out, size_t *n, const char *what, char *err);
/* Heap copy of column i's text in the current row ("" for NULL). */
char *rp_column_dup(sqlite3_stmt *st, int i);
/* Appends that copy to *v, n strings (strv_push): 0 or MULE_ENOMEM. */
int rp_column_push(char ***v, size_t n, sqlite3_stmt *st, int i);
/* Reads / writes the lamport counter inside the current transaction. */
int rp_lamport_get(struct replica *rp, uint64_t *l, char *err);
int rp_lamport_set(struct replica *rp, uint64_t l, char *err);

/* ---- digests (replica/store/digest.c) ---- */

/*
 * At the start of a write transaction (replica_begin): the SQL functions
 * mule_dsum() and mule_dsum_agg(), the digest tables, and the state
 * overlay of a replica made before it.
 */
int rp_digest_begin(struct replica *rp, char *err);
/* A state table dropped: its digest goes. */
int rp_digest_forget(struct replica *rp, int64_t tid, char *err);
/*
 * A state writer's share of the digest: a row of table tid whose effective
 * state held row hash `was` (NULL: no state, or a deletion) now holds
 * `now` (NULL: a deletion).  Kept in memory, added to _mule_digests by
 * rp_digest_flush: 0 or MULE_ENOMEM.
 */
int rp_digest_note(struct replica *rp, int64_t tid, const uint8_t *was,
    const uint8_t *now);
/*
 * Adds what rp_digest_note kept to _mule_digests (a table without a row
 * there has no digest yet: it is computed whole when first read).
 * Called before anything reads the digests, before COMMIT and before a
 * SAVEPOINT: 0 or MULE_EDB.
 */
int rp_digest_flush(struct replica *rp, char *err);
/* Forgets what was noted since the last flush (ROLLBACK, ROLLBACK TO). */
void rp_digest_discard(struct replica *rp);

/* ---- per-row state (replica/store/state.c) ---- */

#define COLHASH_LEN 4	/* bytes of a column's value hash in the state */
#define STATE_MAX_COLS 100000	/* columns a state blob may claim */

/*
 * The decoded state of one row (the `st` blob plus cl and hash).  Per
 * column: the value hash, the stamp (dot) and the causal context of the
 * value (replica/merge/merge.h).  In a tombstone (even cl) each column's
 * stamp is zero and its context is what the deletion knew of the column
 * (docs/state.md "Merging"); `gone` (with has_gone) is the existence
 * stamp of the incarnation it deleted, which its contexts' base_row refer
 * to.
 */
struct rowstate {
	uint64_t cl;
	struct istamp cl_st;
	struct istamp gone;
	int has_gone;
	uint32_t ncols;
	uint32_t *colhash;	/* ncols */
	struct istamp *colst;	/* ncols */
	struct merge_ctx *colctx;	/* ncols */
	uint8_t hash[ROW_HASH_LEN];
};

/* Allocates ncols zeroed columns (one block, which rowstate_release frees):
 * 0 or MULE_ENOMEM. */
int rowstate_alloc(struct rowstate *s, uint32_t ncols);
void rowstate_release(struct rowstate *s);
/* Encodes s's stamps and column hashes into a heap blob. */
int rowstate_encode(const struct rowstate *s, uint8_t **blob, size_t *len);
/* Decodes an `st` blob (untrusted only in the sense of a damaged db). */
int rowstate_decode(struct rowstate *s, const void *blob, size_t len);

/*
 * Hashes columns [first, first + ncols) of the current row of `st`:
 * the row hash (BLAKE2b-128 of the canonical encoding) and each column's
 * short hash.
 */
void row_hash_stmt(sqlite3_stmt *st, int first, uint32_t ncols,
    uint8_t hash[ROW_HASH_LEN], uint32_t *colhash);
/* Only the column hashes. */
void col_hashes_stmt(sqlite3_stmt *st, int first, uint32_t ncols,
    uint32_t *colhash);
/* The same from values. */
void row_hash_vals(const struct mval *v, uint32_t ncols,
    uint8_t hash[ROW_HASH_LEN], uint32_t *colhash);
/*
 * Whether a written row can be hashed from the values bound instead of
 * read back (replica/apply/apply.c write_row): a value is stored as bound
 * (its storage class and bytes kept) when the column's affinity leaves it
 * so.  Affinities as SQLite gives them from a declared type; UNKNOWN (a
 * column not found) keeps nothing.
 */
enum {
	RP_AFF_UNKNOWN = 0,
	RP_AFF_BLOB,		/* "none": no conversion */
	RP_AFF_TEXT,
	RP_AFF_NUMERIC,
	RP_AFF_INTEGER,
	RP_AFF_REAL
};
/* The affinity of a declared column type (NULL or "": BLOB). */
int rp_affinity(const char *decl);
/*
 * 1 when v, bound to a column of affinity `aff`, is stored exactly as
 * bound: NULL unless `nonull` (a key or NOT NULL column); BLOB always;
 * INTEGER into INTEGER, NUMERIC or BLOB affinity; REAL into BLOB or REAL
 * affinity, but never NaN (binds as NULL) nor -0.0 into REAL (read back
 * as 0.0); TEXT into TEXT or BLOB affinity when `utf8` (the database's
 * encoding is UTF-8).  0 otherwise (read the row back), MVAL_REF too.
 * Conservative for STRICT tables (their types give these affinities, ANY
 * NUMERIC).
 */
int rp_stored_as_bound(int aff, int nonull, int utf8, const struct mval *v);
/* Per column of a table (arrays of t->ncols, the caller's): */
struct rp_store_shape {
	uint8_t *aff;		/* RP_AFF_* */
	uint8_t *nonull;	/* 1: part of the key, or NOT NULL */
	int utf8;		/* the database's encoding is UTF-8 */
	int plain;		/* no trigger but mule's on the table */
};
/*
 * Fills sh for table t from the live schema (sh->aff and sh->nonull
 * allocated by the caller).  0 or a MULE_E* code; a failed probe (of the
 * encoding or the triggers) leaves utf8 or plain 0, the safe answer.
 */
int rp_store_shape(struct replica *rp, const struct replica_table *t,
    struct rp_store_shape *sh, char *err);
/* 1 when two values are the same type and bytes. */
int mval_equal(const struct mval *a, const struct mval *b);
/* Short hash of one value. */
uint32_t val_hash(const struct mval *v);
/* Fills v from column i of the current row of st (bytes borrowed). */
void mval_from_stmt(struct mval *v, sqlite3_stmt *st, int i);
/* Binds v as parameter i. */
int mval_bind(sqlite3_stmt *st, int i, const struct mval *v);
/* Canonical key of pk values: heap blob. */
int pk_encode(const struct mval *pk, uint32_t npk, uint8_t **out,
    size_t *len);
/*
 * Decodes a canonical pk blob into npk values pointing into `blob`.
 * MULE_EFORMAT when it does not hold exactly npk values.
 */
int pk_decode(const uint8_t *blob, size_t len, struct mval *pk, uint32_t npk);
/* Appends pk values as readable text ("42", "'v-01'", "x'00ff'"). */
struct strb;
void pk_text(struct strb *sb, const struct mval *pk, uint32_t npk);
void mval_text(struct strb *sb, const struct mval *v);

/* ---- tracked tables (replica/store/tables.c) ---- */

/* Name of the state table for tid ("_mule_s<tid>") into buf[32]. */
const char *state_table(int64_t tid, char buf[32]);
/* Looks a tracked table up by name; MULE_ENOTFOUND if untracked. */
int rp_table_get(struct replica *rp, const char *name,
    struct replica_table **out, char *err);
/* WHERE clause matching the pk columns: "\"a\" = ?1 AND \"b\" = ?2". */
void sql_pk_where(struct strb *sb, const struct replica_table *t, int first);
/* 1 when t has column `name` (its index in *idx unless NULL), else 0. */
int rp_col_index(const struct replica_table *t, const char *name,
    uint32_t *idx);
/* Quoted, comma-separated column list. */
void sql_cols(struct strb *sb, const struct replica_table *t);
/*
 * Prepares the row of t with a given key: "SELECT every column FROM t
 * WHERE key" with the key columns bound from ?1 on.  0 or a MULE_E* code.
 */
int rp_prepare_row_select(struct replica *rp, const struct replica_table *t,
    sqlite3_stmt **st, char *err);

/* ---- the per-row state and its overlay (replica/store/overlay.c) ----
 *
 * The state of table tid is the main table _mule_s<tid> and the overlay
 * _mule_l<tid> (same shape); a row's effective state is its overlay row
 * if any, else its main row.  Everything below reads or writes the
 * effective state; nothing else names the two tables.  Functions return
 * 0 or a MULE_E* code (err filled) unless said otherwise.
 */

/* The overlay is folded when it holds more than alive / this rows. */
#define RP_FOLD_DIVISOR 16

/* Name of the overlay table for tid ("_mule_l<tid>") into buf[32]. */
const char *overlay_table(int64_t tid, char buf[32]);
/* Creates both state tables of a newly tracked table. */
int rp_state_create(struct replica *rp, int64_t tid, int intpk, char *err);
/* Creates the overlay if missing (replicas older than it). */
int rp_overlay_ensure(struct replica *rp, int64_t tid, int intpk, char *err);
/* Drops both state tables (IF EXISTS). */
int rp_state_drop(struct replica *rp, int64_t tid, char *err);
/*
 * Prepares the point lookup of a row's effective state by key (?1):
 * columns (cl, hash, st), or (pk, cl, hash, st) with `withpk`; at most
 * one row.  The caller finalizes *st.
 */
int rp_state_prepare_get(struct replica *rp, int64_t tid, int withpk,
    sqlite3_stmt **st, char *err);
/*
 * Prepares the upsert of a state row into the overlay: (pk, cl, hash,
 * st) as ?1 to ?4.  Marks the transaction for the fold check at commit.
 */
int rp_prepare_state_put(struct replica *rp, int64_t tid, sqlite3_stmt **st,
    char *err);

/*
 * An ordered cursor over the effective state: rows (pk, cl, hash, st) in
 * key order, each key once (an overlay row hides the main row of its
 * key).  Open with optional bounds lo <= pk < hi (NULL or MVAL_NULL:
 * open; borrowed until close); step returns SQLITE_ROW, with the row's
 * columns on cur->st (which statement that is changes from row to row:
 * read it after each step), SQLITE_DONE or another SQLite code; close
 * always (also after a failed open).  State written at or before the
 * current key while the cursor is open is not seen again.
 */
struct rp_state_cur {
	sqlite3_stmt *st;	/* holds the current row */
	sqlite3_stmt *ov, *main;	/* the two scans (ov NULL: none) */
	int ovr, mr;		/* their last sqlite3_step results */
	int adv_ov, adv_main;	/* to be stepped before the next row */
};
int rp_state_cur_open(struct replica *rp, int64_t tid, const struct mval *lo,
    const struct mval *hi, struct rp_state_cur *cur, char *err);
int rp_state_cur_step(struct rp_state_cur *cur);
void rp_state_cur_close(struct rp_state_cur *cur);
/*
 * The same on another connection to the replica's file (one that reads
 * it in a thread of its own: replica/track/pscan.c); `overlay`: whether
 * table tid has its overlay (rp_state_has_overlay).
 */
int rp_state_cur_open_db(sqlite3 *db, int64_t tid, int overlay,
    const struct mval *lo, const struct mval *hi, struct rp_state_cur *cur,
    char *err);
int rp_state_has_overlay(struct replica *rp, int64_t tid);

/*
 * Tombstones for pruning (replica/prune/prune.c).  rp_state_prepare_dead:
 * "SELECT pk, st" of table tid's main-table tombstones in key order, at
 * most ?2 of them, after key ?1 when `from`.  rp_state_prepare_del_dead:
 * "DELETE ... RETURNING cl" of the tombstone with key ?1, only when it is
 * the row's effective state (no overlay row).  The caller finalizes.
 */
int rp_state_prepare_dead(struct replica *rp, int64_t tid, int from,
    sqlite3_stmt **st, char *err);
int rp_state_prepare_del_dead(struct replica *rp, int64_t tid,
    sqlite3_stmt **st, char *err);
/*
 * Deleting rows' state (both tables): prepare once per table, delete by
 * key values (as rp_bind_statekey), release always.  The digest follows
 * (a row alive goes out of it).  Deleting a key with no state is not an
 * error.
 */
struct rp_state_del {
	int64_t tid;
	sqlite3_stmt *ov, *main;
};
int rp_state_del_prepare(struct replica *rp, int64_t tid,
    struct rp_state_del *d, char *err);
int rp_state_del_key(struct replica *rp, struct rp_state_del *d,
    const struct replica_table *t, const struct mval *pk, char *err);
void rp_state_del_release(struct rp_state_del *d);

/*
 * Appends to sb the effective state as a compound SELECT of `cols` and
 * one more column (0 for an overlay row, 1 for a main row): the overlay
 * rows, then the main rows no overlay row hides, both filtered by `cond`
 * (SQL over pk and cl; "1" for none).  An ORDER BY on the compound
 * merges the two ordered scans without sorting.
 */
void rp_state_sql(struct replica *rp, struct strb *sb, int64_t tid,
    const char *cols, const char *cond);
/* Rows of the effective state (only the alive ones with `alive`). */
int rp_state_count(struct replica *rp, int64_t tid, int alive, int64_t *n,
    char *err);
/* Moves table tid's overlay into its main state (same transaction). */
int rp_state_fold(struct replica *rp, int64_t tid, char *err);
/*
 * Before COMMIT of a transaction that wrote state: folds each table
 * whose overlay holds more than its rows alive / RP_FOLD_DIVISOR (or
 * the count set by replica_set_fold_rows).
 */
int rp_state_fold_due(struct replica *rp, char *err);

/*
 * 1 when `name` is one of mule's own tables (_mule_*) or SQLite's
 * (sqlite_*), in any letter case (SQLite's names are case-insensitive):
 * such a table is never tracked, shipped, mapped or written from a bundle.
 * The one place that decides it (replica/store/tables.c).
 */
int rp_reserved_table(const char *name);
/* Keeps _mule_tables.alive (rows alive in the state) up to date. */
int rp_alive_add(struct replica *rp, int64_t tid, int64_t delta, char *err);
/* Rows of table tid alive at its last scan or apply (_mule_tables.alive). */
int rp_alive_get(struct replica *rp, int64_t tid, int64_t *n, char *err);
/* Reads a state row by key: 1 in *found, else 0. */
int rp_state_get(sqlite3_stmt *get, struct rowstate *s, int *found);
/*
 * Writes the state of a row of table tid (pk bound by the caller as ?1)
 * and notes its digest change (rp_digest_note): `was` is the row hash of
 * the row's effective state as last read or written in this transaction
 * when it was alive, else NULL.
 */
int rp_state_put(struct replica *rp, sqlite3_stmt *put, int64_t tid,
    const uint8_t *was, const struct rowstate *s, char *err);
/* Binds a table's key for state lookups: the integer or the pk blob. */
int rp_bind_statekey(sqlite3_stmt *st, int i, const struct replica_table *t,
    const struct mval *pk);

/*
 * Deletes a peer's rows from the store (peer, settings, vectors), inside
 * the caller's transaction (replica/store/peer.c).  0 or a MULE_E* code.
 */
int rp_peer_delete(struct replica *rp, const char *name, char *err);

/* ---- pruning (replica/store/horizon.c; the pruning is replica/prune/) ---- */

/*
 * The guard of a guarded apply (replica_apply_guard): 1 when an alive row
 * this site holds no state for, with existence stamp e, was made below
 * the recorded horizon: it was deleted here and its tombstone pruned (or
 * never reached this site; either way it is not brought back), else 0.
 */
int rp_prune_forgotten(const struct vector *horizon, const struct stamp *e);

/*
 * A fresh stamp of this site for a change it makes while applying (a
 * deletion made again, replica/apply/apply.c): the lamport counter and our
 * own entry of our vector move to it.  0 or a MULE_E* code.
 */
int rp_prune_stamp(struct replica *rp, struct istamp *st, char *err);

/*
 * The causal length of a row new to table tid's state (the scan's): 1,
 * or above every tombstone pruned in the table, since a key without state
 * may be one whose tombstone was pruned here while another site still
 * holds it; a re-insert with a lower length would lose to it.  0 or a
 * MULE_E* code.
 */
int rp_prune_fresh_cl(struct replica *rp, int64_t tid, uint64_t *cl,
    char *err);

/*
 * The bundle log's pruning (replica/store/log.c, log_keep: the one rule
 * for what it keeps): looks at up to `budget` entries with ids above
 * *cursor and deletes those the rule does not keep, given the horizon h
 * (replica_prune_horizon); *cursor becomes the last id looked at, or 0
 * when the log's end was reached.  *deleted counts the entries deleted.
 * 0 or a MULE_E* code.
 */
int rp_log_prune(struct replica *rp, const struct vector *h, uint64_t budget,
    int64_t *cursor, uint64_t *deleted, char *err);

/*
 * The journal counter a pack reads above (replica/track/changes.c): the
 * smallest of limit[1..nsites) (the bundle's base by origin index) over
 * origins the peers lack some of (limit below our vector); when they
 * lack none, our highest counter.  0 or a MULE_E* code.
 */
int rp_journal_from(struct replica *rp, uint8_t (*sites)[SITE_ID_LEN],
    size_t nsites, const uint64_t *limit, uint64_t *from, char *err);

/* *newer: 1 when a bundle from `peer` numbered above seq was applied. */
int rp_log_newer(struct replica *rp, const char *peer, uint64_t seq,
    int64_t *newer, char *err);

/* ---- vectors (replica/store/vector.c) ---- */
/* A vector from the rows (site id, counter) of a prepared statement. */
int rp_vector_rows(struct replica *rp, sqlite3_stmt *st, struct vector *out,
    char *err);
int rp_vector_get(struct replica *rp, const char *peer, const char *kind,
    struct vector *out, char *err);
int rp_vector_put(struct replica *rp, const char *peer, const char *kind,
    const struct vector *v, char *err);

#endif
