/*
 * sync/local.h — changes made at this site that take several library
 * calls, most in one transaction: making the replica, tracking tables,
 * recording or forgetting schema versions, resolving a conflict, sharing
 * and mapping tables.  Each returns 0 or a negative MULE_E* code with the
 * message in `err` (MULE_ERRLEN bytes); on failure the transaction is
 * rolled back and nothing changed.  Nothing prints.
 */
#ifndef MULE_SYNC_LOCAL_H
#define MULE_SYNC_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "sync/sync.h"

/*
 * Makes `db` a replica named `name` (a database file that does not exist
 * yet is created; its data is left as it is) with a new site id and key
 * pair.  The key file goes first (mode 0600): a replica never exists
 * without its key, and when making the replica fails the key file is
 * removed.  Refuses, before creating anything, a database that is a
 * replica already and a key file that exists (MULE_EEXIST).  `pass`
 * (NULL: none) protects the key file (ident_write_keyfile_pass).  *pub:
 * the new public key.  (sync/init.c)
 */
int sync_init(const char *db, const char *name, const char *keyfile,
    const char *pass, struct ident_pub *pub, char *err);

/* What mule clone made. */
struct sync_clone_result {
	struct replica_site src;	/* the site copied */
	uint8_t site[SITE_ID_LEN];	/* the new site's id */
	struct ident_pub pub;		/* the new site's public key */
	uint32_t schema;		/* the schema version both hold */
};

/*
 * Makes the new replica `dst`, site `name`, from the replica `src`
 * (sync/clone.c): records src's unrecorded edits, copies it with SQLite's
 * online backup API (a consistent copy, while other programs may use
 * src), gives the copy a new site id and key pair (the key file
 * `keyfile`, mode 0600) and forgets there what belonged to src's site
 * (replica_clone_reset: bundle log, conflicts, peers, mail settings).
 * Then each site trusts the other (dst names src by src's site name, src
 * names dst `name`), bound to its site id, and knows that it holds
 * everything the copy held: its acknowledged and sent vectors are the
 * copy's own vector, its schema version the copy's; so the first bundle
 * either way carries only what changed since.  Refuses, changing
 * nothing: an invalid `name` (MULE_EINVAL), `dst` or `keyfile` existing
 * (MULE_EEXIST), src not a replica (MULE_ENOTREPLICA, MULE_ENOTFOUND),
 * `name` being src's site name (MULE_EINVAL) or the name of one of its
 * peers (MULE_EEXIST).  When a later step fails, dst and the key file are
 * removed and src trusts nothing new.  *res is filled on success.
 */
int sync_clone(const char *src, const char *dst, const char *name,
    const char *keyfile, struct sync_clone_result *res, char *err);

/* What tracking did with one table. */
enum sync_tracked {
	SYNC_TRACKED_NEW,	/* now tracked */
	SYNC_TRACKED_ALREADY,	/* it was tracked before */
	SYNC_TRACKED_NOPK,	/* skipped (--all): it has no primary key */
};

/* Called for each table as it is tracked: `intkey` 1 when its key is an
 * integer the application probably assigns locally (inserts at two
 * sites can collide).  `name` is valid during the call only. */
typedef void (*sync_track_fn)(void *arg, const char *name,
    enum sync_tracked what, int intkey);

/*
 * Tracks the tables `names` (n of them), or with names NULL every user
 * table (those without a primary key are skipped, and new tables are
 * tracked from then on: replica_schema_track_all); records the tracked
 * set as a schema version; existing rows become the baseline (one local
 * commit).  *ntables: how many tables were looked at; *baseline: rows
 * recorded as the baseline.
 */
int sync_track(struct replica *rp, const char *const *names, size_t n,
    sync_track_fn each, void *arg, sync_progress_fn progress, void *parg,
    size_t *ntables, uint64_t *baseline, char *err);

/* Stops tracking `table` (its rows stay) and keeps it out of the
 * tracked set. */
int sync_untrack(struct replica *rp, const char *table, char *err);

/*
 * Reads the SQL script `file` (no NUL bytes) and records it, run
 * verbatim, as the next schema version (*version), after recording local
 * changes first.
 */
int sync_schema_record(struct replica *rp, const char *file,
    uint32_t *version, char *err);

/*
 * Accepts (accept 1) or rejects the schema step `version` that waits for
 * review (*n: from how many peers).  One transaction.
 */
int sync_schema_decide(struct replica *rp, uint32_t version, int accept,
    size_t *n, char *err);

/* Forgets the schema versions above `version` (*forgot: how many). */
int sync_schema_forget(struct replica *rp, uint32_t version,
    uint32_t *forgot, char *err);

/*
 * Resolves conflict `id` keeping "local" or "remote" (keep) or setting
 * `value` (an SQL literal), as replica_conflict_resolve (*res: what it
 * did; zero it before, release it in every case): earlier edits are
 * recorded first, then the resolution as a local change of its own,
 * which goes to peers with the next pack.  All or nothing.
 */
int sync_conflict_resolve(struct replica *rp, int64_t id, const char *keep,
    const char *value, struct replica_resolution *res,
    sync_progress_fn progress, void *parg, char *err);

/*
 * The name of a site id, into out[n]: ours, a trusted peer's, or the
 * first 8 bytes in hex when it is neither.
 */
void sync_site_name(struct replica *rp, const uint8_t id[SITE_ID_LEN],
    char *out, size_t n);

/* ---- sync sets and maps (sync/sets.c) ---- */

/*
 * Shares `table` with `peer` (replica_share: `where`, and the columns
 * `cols` by `colmode`).  *others: when this is the peer's first
 * definition, how many other tracked tables it stops getting (0 when it
 * had a sync set before, or there are none).  A refusal's message reads
 * "cannot share TABLE with PEER: why".
 */
int sync_share(struct replica *rp, const char *peer, const char *table,
    const char *where, int colmode, const char *const *cols, size_t ncols,
    size_t *others, char *err);

/*
 * Maps `peer`'s `rtable` to our `ltable`, column rcols[i] to lcols[i]
 * (replica_map), and marks the peer as keeping a schema of its own (its
 * names differ).  A refusal's message reads "cannot map PEER's RTABLE to
 * LTABLE: why".
 */
int sync_map(struct replica *rp, const char *peer, const char *rtable,
    const char *ltable, const char *const *rcols, const char *const *lcols,
    size_t ncols, char *err);

#endif
