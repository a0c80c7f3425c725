/*
 * replica/store/store.h — the store under every other part of replica/:
 * opening and creating a replica, the site, peers, settings, tracked
 * tables, transactions, vectors and the bundle log, all kept in _mule_*
 * tables inside the database (docs/state.md).
 *
 * Every function returns 0 or a negative MULE_E* code and fills `err`
 * (MULE_ERRLEN bytes, may be NULL) with specifics.  Include
 * replica/replica.h rather than this file.
 */
#ifndef MULE_REPLICA_STORE_H
#define MULE_REPLICA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/change.h"
#include "core/progress.h"
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

/*
 * 1 when the database is in WAL mode, else 0 (also when the mode cannot
 * be read).  SQLite keeps no change counter in WAL mode, so mule cannot
 * tell that nobody wrote since its last commit, and every pack and
 * unpack scans the tables not in trigger capture (docs/state.md).
 */
int replica_wal(struct replica *rp);

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
/*
 * Removes a peer with its vectors, settings, sync sets and maps (one
 * transaction; replica/sets/sets.c).  MULE_ENOTFOUND when there is none.
 */
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
/*
 * Checks the site id a bundle signed by peer `p` carries: the one `p` is
 * bound to, or, for a peer not bound yet, one that is neither this
 * site's nor another peer's.  0, or MULE_EVERIFY with a message.
 */
int replica_peer_check_site(struct replica *rp, const struct replica_peer *p,
    const uint8_t site[SITE_ID_LEN], char *err);
/* Remembers the site id a peer's bundles carry (checked first). */
int replica_peer_set_site(struct replica *rp, const char *peer,
    const uint8_t site[SITE_ID_LEN], char *err);
/*
 * The reference the vectors of bundles to `peer` are coded against
 * (mule-bundle(5)): the number, id and `top` vector of the newest bundle
 * of `peer` applied here.  *seq is 0 (and *top empty) when there is none.
 */
int replica_peer_ref(struct replica *rp, const char *peer, int64_t *seq,
    uint8_t id[16], struct vector *top, char *err);
/* Records bundle `seq` of `peer` as the reference unless a newer one is. */
int replica_set_peer_ref(struct replica *rp, const char *peer, int64_t seq,
    const uint8_t id[16], const struct vector *top, char *err);
/* Forgets every peer's reference (this site was restored: they are old). */
int replica_drop_peer_refs(struct replica *rp, char *err);
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
/*
 * A setting as a whole number from 0 to max: dflt when it is unset or not
 * such a number (cli/ checks values before they are set).
 */
uint64_t replica_config_num(struct replica *rp, const char *key,
    uint64_t dflt, uint64_t max);
/* 1 when setting `key` is exactly `value`. */
int replica_config_is(struct replica *rp, const char *key, const char *value);
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

/* Names of all user tables (not sqlite_*, not _mule_*); heap array. */
int replica_user_tables(struct replica *rp, char ***names, size_t *n,
    char *err);
void replica_names_free(char **v, size_t n);

/* ---- transactions for cli (one bundle = one transaction) ---- */
int replica_begin(struct replica *rp, char *err);
int replica_commit(struct replica *rp, char *err);
void replica_rollback(struct replica *rp);
/*
 * Testing: the state overlay (docs/state.md) is folded when it holds more
 * than `rows` rows instead of a sixteenth of the table's rows alive; -1
 * restores the rule.  Process-wide; cli sets it from MULE_FOLD_ROWS.
 */
void replica_set_fold_rows(int64_t rows);

/* ---- vectors (docs/design.md §8) ---- */

/* Our own vector: per origin, the highest counter we have contiguously. */
int replica_known(struct replica *rp, struct vector *out, char *err);
/* A peer's "sent" or "acked" vector. */
int replica_peer_vector(struct replica *rp, const char *peer,
    const char *kind, struct vector *out, char *err);
int replica_set_peer_vector(struct replica *rp, const char *peer,
    const char *kind, const struct vector *v, char *err);

/* ---- bundle log ---- */

struct replica_logent {
	int64_t id;
	uint8_t bundle[16];
	char dir[8];		/* "sent", "recv" or "spent" (see next_seq) */
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
/*
 * This site's next bundle number (1, 2, ...; one sequence for all peers):
 * one above every number sent or spent.  A pack spends its number (a
 * "spent" entry, committed before it writes) so that a crash after its
 * file appeared never lets another bundle carry the same number.
 */
int replica_next_seq(struct replica *rp, int64_t *seq, char *err);
/*
 * The vector this site's sent bundle `seq` with id `id` brought its peers
 * up to (its `top`), into *out (released first), for the vectors a peer
 * codes against it (mule-bundle(5)).  *found is 0, *out empty, when the
 * log holds no such bundle.  MULE_EDB for a damaged entry.
 */
int replica_log_sent_top(struct replica *rp, int64_t seq,
    const uint8_t id[16], struct vector *out, int *found, char *err);
/*
 * 1 in *yes when this site was restored from a backup after number `seq`:
 * the numbers a restore puts out of use (a "spent" entry without a file,
 * sync/recover.c) lie above it, so bundle `seq` may be one the backup lost.
 */
int replica_log_restored_after(struct replica *rp, int64_t seq, int *yes,
    char *err);
/* Removes the log entry of bundle `id` in direction `dir` (none: 0). */
int replica_log_drop(struct replica *rp, const uint8_t id[16],
    const char *dir, char *err);
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
 * nothing new and changes nothing.  The caller then tells the sync sets
 * (replica_sets_lost), which live above the store.
 */
int replica_check_lost(struct replica *rp, const char *peer, uint64_t seq,
    const struct vector *recv, const struct vector *ack, int *lost,
    char *err);
/*
 * The bundles sent to `peer` (alone or with other recipients) whose
 * vector `ack` — what the peer acknowledged — does not cover: *n of them,
 * the oldest in *first (seq, file, at; zeroed when *n is 0).  A bundle
 * that arrived is covered once the peer answers.  0 or a MULE_E* code.
 */
int replica_log_unacked(struct replica *rp, const char *peer,
    const struct vector *ack, struct replica_logent *first, uint64_t *n,
    char *err);
/* Every entry of the bundle log, oldest first: a heap array of *n (free
 * it).  0 or a MULE_E* code. */
int replica_log_list(struct replica *rp, struct replica_logent **out,
    size_t *n, char *err);
/*
 * The newest `limit` entries of the bundle log (limit <= 0: all), those
 * naming `peer` among their peers only when it is not NULL; newest first,
 * or oldest first when `oldest_first`.  A heap array of *n (the caller
 * frees it).  0 or a MULE_E* code.
 */
int replica_log_query(struct replica *rp, const char *peer, int64_t limit,
    int oldest_first, struct replica_logent **out, size_t *n, char *err);
/*
 * One site, one history (replica/store/recv.c).  Before bundle `bundle`,
 * number `seq`, from `peer` (site id `site`, its own counter `own` =
 * its manifest's top[site]) is applied: refuses it (MULE_EVERIFY, with a
 * message that names the likely cause and 'mule clone') when a different
 * bundle from that site with the same number was applied here, or one
 * whose number and own counter are in the opposite order (a lower number
 * with a higher counter, or the reverse): two copies of one site are in
 * use.  It compares with the "recv" entries whose `top` is the one-entry
 * vector {site: own} (sync/unpack.c logs each bundle so); entries without
 * one (logged by older versions) are not compared.  0 otherwise.
 */
int replica_recv_check(struct replica *rp, const char *peer,
    const uint8_t site[SITE_ID_LEN], const uint8_t bundle[16], uint64_t seq,
    uint64_t own, char *err);

/* ---- making a new site from a replica (replica/store/clone.c) ---- */

/*
 * PRAGMA data_version of rp's connection: it changes when another
 * connection (another program) commits to the database.
 */
int replica_data_version(struct replica *rp, int64_t *version, char *err);
/*
 * Copies the replica `rp` into `path`, a new file (MULE_EEXIST when it
 * exists; it gets rp's file mode), with SQLite's online backup API from a
 * second, read-only connection: one consistent snapshot, taken while other
 * programs may be using the replica (a lock is waited for,
 * REPLICA_BUSY_MS at most).  With `since` >= 0 (rp's data version after
 * its last commit), *raced = 1 and nothing is copied when another program
 * committed between that commit and the snapshot (the copy would hold
 * edits rp has not recorded); with `since` < 0 the copy is made whatever
 * happened (*raced = 0).  On failure `path` is removed.  The copy is the
 * same site still: make it another with replica_clone_reset before use.
 */
int replica_copy(struct replica *rp, int64_t since, const char *path,
    int *raced, char *err);
/*
 * Inside a transaction of `rp`, a fresh copy (replica_copy): makes it
 * the site `site_id` named `name` with the public identity `pub`, and
 * forgets what belonged to the site it was copied from — the bundle log,
 * the conflict log, every peer with its vectors, settings, sync sets,
 * maps and schema steps held for review, and the mail.* settings.  Data,
 * state, schema catalogue, our own vector ("known"), the journal and the
 * other settings stay.  The next scan runs in full.  On failure roll back
 * and close `rp`.
 */
int replica_clone_reset(struct replica *rp, const char *name,
    const uint8_t site_id[SITE_ID_LEN], const struct ident_pub *pub,
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
	int resolved;		/* 1 once resolved */
	char *resolution;	/* "local", "remote", "value"; NULL (unresolved,
				 * or resolved before the history was kept) */
	char *resolved_value;	/* the value (or row) it got, as SQL; or NULL */
	char resolved_at[32];	/* "2026-12-03T10:00:00Z"; "" when unknown */
	char logged_at[32];	/* when the bundle that brought it was
				 * applied, "2026-12-03T10:00:00Z" ("") */
	char *logged_by;	/* the peer that logged it and told us (its
				 * note); NULL: logged here */
};
/*
 * The name of a conflict kind ("cell overwritten", "edit lost to a
 * deletion", "colliding insert", "row left a set", "baselines differ";
 * "unknown" otherwise): a static string.
 */
const char *replica_conflict_kind_name(int kind);
/*
 * The unresolved conflicts, oldest first; with `all`, the resolved ones
 * too (their history).  *out is a heap array of *n (NULL when empty): free
 * it with replica_conflicts_free.  0 or a MULE_E* code.
 */
int replica_conflicts(struct replica *rp, int all,
    struct replica_conflict **out, size_t *n, char *err);
void replica_conflicts_free(struct replica_conflict *v, size_t n);
int replica_conflict_count(struct replica *rp, uint64_t *n, char *err);
/*
 * 0 when `s` is exactly one SQL literal: NULL, an integer, a real,
 * 'text' (with '' for a quote) or x'hex'; MULE_EINVAL otherwise, with a
 * message saying how to write one.
 */
int replica_literal_check(const char *s, char *err);
/*
 * A value as the conflict log writes it, parsed back: one SQL literal
 * (n 1, form 0), a key "v1, v2" (form 1), or a whole row "(v1, v2, ...)"
 * (form 2), at most REPLICA_MAX_LITERALS values.  v[i] points into
 * mem[i] for TEXT and BLOB.  0, MULE_EINVAL when s is none of these (such
 * as "(deleted)" or "<large value ...>"), MULE_ENOMEM.  Zero *out before;
 * release it with replica_literals_release in every case.
 */
#define REPLICA_MAX_LITERALS 2000
struct replica_literals {
	size_t n;
	int form;
	struct mval *v;		/* heap, n */
	uint8_t **mem;		/* heap, n (entries NULL but for TEXT, BLOB) */
};
int replica_literals_parse(const char *s, int form,
    struct replica_literals *out);
void replica_literals_release(struct replica_literals *l);

/*
 * What conflict id's cell (or its whole row, column "*") holds now, as
 * SQL text in *now (heap; "(deleted)" when the row is not there).
 * MULE_ENOTFOUND, or MULE_ESCHEMA when the table is no longer tracked or
 * no longer has that column.
 */
int replica_conflict_current(struct replica *rp, int64_t id, char **now,
    char *err);

/* What a resolution did (heap strings; replica_resolution_release). */
struct replica_resolution {
	char *table, *pk, *col;	/* col "*": the whole row */
	char *was, *now;	/* the value (or row) before and after, as SQL;
				 * "(deleted)" when the row is not there */
};
void replica_resolution_release(struct replica_resolution *res);
/*
 * Resolves conflict `id`: `keep` "local" or "remote" writes that side's
 * recorded value into the row, or `value` (one SQL literal, see
 * replica_literal_check; the column's affinity applies) is written; one
 * of keep and value is NULL.  A whole-row conflict (column "*") takes
 * --keep only: keeping the side that won changes nothing; keeping the
 * local side of an edit lost to a deletion re-creates the row as it was
 * recorded.  Marks the conflict resolved and records how, when, and the
 * value it now has (history for replica_conflicts with `all`).  Inside a
 * transaction; the caller's next scan records the write as a new local
 * change, which then propagates.  Fills *res (zero it before; release it
 * in every case).  MULE_ENOTFOUND (no such conflict, or the row is gone),
 * MULE_EINVAL (resolved already, a side that cannot be kept, a bad
 * literal), MULE_EEXIST (a deleted row that exists again), MULE_ESCHEMA.
 */
int replica_conflict_resolve(struct replica *rp, int64_t id,
    const char *keep, const char *value, struct replica_resolution *res,
    char *err);

/* ---- content digests and reconciliation (replica/store/digest.c) ---- */

#define REPLICA_DIGEST_LEN 16

/*
 * What a site holds of a table: the rows alive and the sum, modulo
 * 2^128, of their row hashes (order-independent; docs/state.md
 * "Digests and reconciliation").
 */
struct replica_digest {
	uint64_t n;
	uint8_t sum[REPLICA_DIGEST_LEN];
};

/*
 * The digest of tracked table `tid`, kept up to date by every write of
 * its state (computed from the state the first time, and stored when
 * inside a write transaction).  0 or a MULE_E* code.
 */
int replica_digest_get(struct replica *rp, int64_t tid,
    struct replica_digest *d, char *err);
/*
 * Forgets every stored digest: each is computed again from the state
 * when next asked for (mule check trusts nothing).
 */
int replica_digest_reset(struct replica *rp, char *err);
/*
 * The digest of the rows whose state key is in [lo, hi) (NULL or an
 * MVAL_NULL bound is open; keys are INTEGER for a rowid table, else the
 * canonical key encoding as BLOB), computed from the state.
 */
int replica_digest_range(struct replica *rp, int64_t tid,
    const struct mval *lo, const struct mval *hi, struct replica_digest *d,
    char *err);

/* A key range [lo, hi); bounds own their bytes (replica_ranges_free). */
struct replica_range {
	struct mval lo, hi;
};

/* Copies a bound, its bytes on the heap: 0 or MULE_ENOMEM. */
int replica_bound_dup(struct mval *dst, const struct mval *src);
void replica_ranges_free(struct replica_range *v, size_t n);
/*
 * Cuts [lo, hi), which holds `rows` alive rows here, into at most k
 * consecutive ranges of about equal counts (at least one): *out, *n on
 * success (replica_ranges_free).
 */
int replica_digest_split(struct replica *rp, int64_t tid,
    const struct mval *lo, const struct mval *hi, uint64_t rows, uint32_t k,
    struct replica_range **out, size_t *n, char *err);

/* What the next bundle to a peer does about one key range of a table. */
enum replica_recon_kind {
	RECON_COMPARE = 1,	/* send our digest of the range */
	RECON_EXCHANGE = 2,	/* send our rows of it, and ask for theirs */
	RECON_SEND = 3,		/* send our rows of it (they asked) */
};

struct replica_recon {
	int64_t tid;
	int kind;		/* enum replica_recon_kind */
	struct replica_range range;
};

/* Queues one item for the next bundle to `peer`. */
int replica_recon_add(struct replica *rp, const char *peer, int64_t tid,
    int kind, const struct mval *lo, const struct mval *hi, char *err);
/* The items queued for `peer`, by table: *out (replica_recon_free). */
int replica_recon_list(struct replica *rp, const char *peer,
    struct replica_recon **out, size_t *n, char *err);
void replica_recon_free(struct replica_recon *v, size_t n);
/*
 * Where reconciliation with `peer` stands: *differ, the tables whose
 * digests differed at the last comparison (heap, ", "-joined; NULL when
 * none), and *queued, the key ranges waiting for our next bundle to it.
 */
int replica_recon_state(struct replica *rp, const char *peer, char **differ,
    uint64_t *queued, char *err);
/* Forgets them (the bundle that carries them is written). */
int replica_recon_clear(struct replica *rp, const char *peer, char *err);

/*
 * A site restored from a backup (replica/store/restamp.c): every stamp
 * of this site's own origin with a counter in (from, to] — edits made
 * after the restore may reuse counters its lost past had used — moves to
 * a new counter *now, `gap` above both `to` and the lamport counter (one
 * commit, journaled, so that it goes out again); the lamport counter and
 * our own vector entry become *now.  *cells counts the cells moved.
 */
int replica_restamp(struct replica *rp, uint64_t from, uint64_t to,
    uint64_t gap, uint64_t *now, uint64_t *cells, char *err);

/* ---- shapes shared by the passes over changes (track/, sets/) ---- */

/*
 * Where a pass over changes (replica_changes, replica_changes_set)
 * sends them.  For each table with changes, table() is called first,
 * then row() for each row.  The rowchange and everything it points to
 * are valid only during the call.
 */
struct replica_out_sink {
	void *arg;
	int (*table)(void *arg, const struct replica_table *t);
	int (*row)(void *arg, const struct rowchange *rc);
};

/* ---- conflict notes (replica/store/notes.c) ---- */

/*
 * A site that logs a conflict tells the peer whose bundle brought the
 * winning value: the next bundle to that peer carries the conflicts
 * logged here from its bundles as a segment named REPLICA_NOTES_TABLE,
 * at most REPLICA_MAX_NOTES per bundle (the rest go with the next one),
 * each text field at most REPLICA_NOTE_MAX_TEXT bytes (a longer value
 * travels as "<value of N bytes>"); the peer property "_noted" is the
 * highest conflict id told.  The peer keeps them in
 * _mule_conflict_notes, apart from its own conflict log: 'mule conflicts
 * --peers' shows them, 'status' counts them; they are resolved (or not)
 * where they were logged.
 */
#define REPLICA_NOTES_TABLE "_mule_notes:conflicts"
#define REPLICA_MAX_NOTES 10000
#define REPLICA_NOTE_MAX_TEXT 4096

/*
 * Inside the pack's transaction, for a bundle to `peer` alone: hands the
 * conflicts logged here from its bundles and not yet told to it to
 * `sink` (one table, then a row each; nothing when there are none) and
 * marks them told.  *n: how many.  0 or a MULE_E* code.
 */
int replica_notes_out(struct replica *rp, const char *peer,
    const struct replica_out_sink *sink, uint64_t *n, char *err);
/*
 * Applying a bundle: 1 when `table` is the notes segment with the
 * columns it must have, 0 when it is another table, MULE_EFORMAT for a
 * notes segment of another shape.
 */
int replica_notes_table(const char *table, uint32_t ncols,
    const char *const *cols, uint32_t npk, const uint32_t *pkcols,
    char *err);
/*
 * Records one note row of the notes segment from `peer` (the bundle
 * `bundle`) in the conflict log, seen from here (its "local" is our
 * "remote").  MULE_EFORMAT for a row that is not a valid note; 0 or
 * another MULE_E* code.
 */
int replica_note_in(struct replica *rp, const char *peer,
    const uint8_t bundle[16], const struct rowchange *rc, char *err);
/* Conflicts peers told us of (0 when none). */
int replica_conflict_count_noted(struct replica *rp, uint64_t *n,
    char *err);
/*
 * Those notes, oldest first, as conflicts seen from here (logged_by the
 * peer, logged_at when the note came; never resolved here).  *out as for
 * replica_conflicts (free with replica_conflicts_free).
 */
int replica_conflict_notes(struct replica *rp, struct replica_conflict **out,
    size_t *n, char *err);

/* Called now and then by long scans and passes (core/progress.h). */
typedef progress_fn replica_progress_fn;

#endif
