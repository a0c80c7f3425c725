/*
 * replica/schema.h — schema fingerprints, generated migrations and the
 * catalogue of schema versions (docs/design.md §9, docs/state.md "Schema").
 *
 * Two layers:
 *
 *  - schema_*: the schema of a set of tables as text.  A schema is the
 *    list of CREATE statements (sqlite_schema.sql) of the tracked tables,
 *    the indexes and triggers on them and every view.  Its fingerprint is
 *    BLAKE2b-256 of the normalized statements (whitespace and comments
 *    dropped, identifiers unquoted and lower-cased, keywords upper-cased),
 *    ordered by type and name, so that differences SQLite treats as equal
 *    do not change it.  schema_diff writes the migration between two
 *    schemas.
 *
 *  - replica_schema_*: the catalogue in the replica's _mule_schema table
 *    (version, fingerprint, full SQL, migration from the previous
 *    version, checksum), recording changes made by any program, running
 *    hand-written and received migration steps (replica/schema/catalog.c), and
 *    re-baselining the per-row state of the tables a migration changed
 *    (replica/schema/catalog_state.c).
 *
 * Every function returns 0 or a negative MULE_E* code and fills `err`
 * (MULE_ERRLEN bytes, may be NULL).
 */
#ifndef MULE_REPLICA_SCHEMA_H
#define MULE_REPLICA_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "replica/replica.h"

#define SCHEMA_FPR_LEN 32		/* fingerprint bytes (= BUNDLE_FPR_LEN) */
#define SCHEMA_MAX_SQL (16u << 20)	/* one script: record FILE, a step */
#define SCHEMA_MAX_OBJECTS 100000	/* objects in one schema */

/* Prefix of the first line of every migration mule generates. */
#define SCHEMA_GENERATED "-- mule: generated migration"
/* A generated migration's note that a table left the tracked set. */
#define SCHEMA_UNTRACK "-- mule: untrack "

/* One object of a schema. */
struct schema_obj {
	char type[8];		/* "table", "index", "trigger", "view" */
	char *name;
	char *tbl;		/* the table it belongs to (itself for tables) */
	char *sql;		/* as SQLite stores it */
	char *norm;		/* normalized */
};

struct schema {
	size_t n;
	struct schema_obj *v;	/* sorted by type (table, index, trigger,
				   view), then normalized name */
};

void schema_init(struct schema *s);
void schema_release(struct schema *s);

/*
 * Normalizes one SQL statement (see above): *out is a heap string.
 * MULE_EFORMAT for an unterminated quote or comment.
 */
int schema_normalize(const char *sql, char **out, char *err);

/*
 * Names of the tables a script creates ("CREATE TABLE name", "ALTER
 * TABLE x RENAME TO name"), unquoted, without sqlite_* and _mule_* ones:
 * a heap array of heap strings (strv_free).
 */
int schema_created_tables(const char *sql, char ***names, size_t *n,
    char *err);

/* The fingerprint of a schema. */
void schema_fingerprint(const struct schema *s, uint8_t fpr[SCHEMA_FPR_LEN]);

/*
 * The install script of a schema: every statement followed by ";\n",
 * tables first, then indexes, views and triggers.  *out is a heap string.
 */
int schema_install_sql(const struct schema *s, char **out, char *err);

/*
 * Parses an install script by running it in an empty in-memory database
 * (all its tables count as tracked).
 */
int schema_from_sql(const char *sql, struct schema *out, char *err);

/*
 * The schema of the database file `path` (opened read-only): its tracked
 * tables when it is a replica, else every table but sqlite_* ones.
 */
int schema_from_file(const char *path, struct schema *out, char *err);

/*
 * Writes the migration from `from` to `to` into *sql (heap): new and
 * dropped tables, ADD/DROP COLUMN, and the table rebuild (create new,
 * copy the common columns, drop, rename, recreate indexes, triggers and
 * views, PRAGMA foreign_key_check) for anything ALTER cannot do; indexes,
 * triggers and views dropped and created as they changed.  The result is
 * checked by running `from` and the migration in an in-memory database:
 * it must give `to`'s fingerprint.  `gone` (may be NULL) says whether a
 * table missing from `to` still exists (it was only untracked: no DROP).
 */
int schema_diff(const struct schema *from, const struct schema *to,
    int (*gone)(void *arg, const char *table), void *garg, char **sql,
    char *err);

/* ---- the catalogue ---- */

struct replica_schema_version {
	uint32_t version;
	uint8_t fpr[SCHEMA_FPR_LEN];
	int handwritten;	/* recorded with `schema record` (verbatim) */
	int checksum_ok;	/* the stored checksum matches */
	char at[32];
	char *sql;		/* full schema (install script) */
	char *migration;	/* from the previous version */
};

void replica_schema_version_release(struct replica_schema_version *v);

/* The latest version (0 and a zero fingerprint while there is none). */
int replica_schema_latest(struct replica *rp, uint32_t *version,
    uint8_t fpr[SCHEMA_FPR_LEN], char *err);

/*
 * The latest version and its fingerprint, and the live schema as the next
 * pack will record it (tables `track --all` will pick up included):
 * its fingerprint, number of objects, and whether it differs.
 */
struct replica_schema_info {
	uint32_t version;
	uint8_t fpr[SCHEMA_FPR_LEN];
	uint8_t live[SCHEMA_FPR_LEN];
	size_t objects;
	int unrecorded;
};
int replica_schema_info(struct replica *rp, struct replica_schema_info *out,
    char *err);

/* One version; MULE_ENOTFOUND when there is none. */
int replica_schema_get(struct replica *rp, uint32_t version,
    struct replica_schema_version *out, char *err);

/* The live schema of the tracked tables (and its fingerprint). */
int replica_schema_live(struct replica *rp, struct schema *out,
    uint8_t fpr[SCHEMA_FPR_LEN], char *err);

/*
 * The migration the next pack would record for changes not yet in the
 * catalogue (*sql heap, or NULL when the live schema is the latest
 * version's), new tables that `track --all` will pick up included.
 * Read-only.
 */
int replica_schema_pending(struct replica *rp, char **sql, char *err);

/* What replica_schema_sync did. */
struct replica_schema_sync {
	uint32_t recorded;	/* versions added (0 or 1) */
	uint32_t version;	/* the latest version afterwards */
	char **tracked;		/* tables tracked automatically (--all) */
	size_t ntracked;
};
void replica_schema_sync_release(struct replica_schema_sync *s);

/*
 * Inside a transaction: with `track --all` in effect, tracks new tables
 * that have a primary key; then records the live schema as a new version
 * when its fingerprint differs from the latest (version 1 when the
 * catalogue is empty), with a generated migration; and remaps the
 * per-row state of tables whose columns changed, so that the next scan
 * sees only real edits (docs/design.md §9).
 */
int replica_schema_sync(struct replica *rp, struct replica_schema_sync *out,
    char *err);

/*
 * Inside a transaction: records local changes first (as sync does), then
 * runs `sql` and records it verbatim as the next version; tables it
 * creates are tracked, and the state of every tracked table is
 * re-baselined (the script's side effects are not changes to send).
 */
int replica_schema_record(struct replica *rp, const char *sql,
    uint32_t *version, char *err);

/*
 * Remembers that the replica tracks --all (new tables get tracked), and
 * forgets the tables untracked by hand.
 */
int replica_schema_track_all(struct replica *rp, char *err);
/*
 * `exclude` 1: table untracked by hand, which --all must not track again;
 * 0: tracked by hand again.
 */
int replica_schema_exclude(struct replica *rp, const char *table,
    int exclude, char *err);

/*
 * The migration steps a bundle carries to a peer whose version is
 * `from`: versions from+1 .. latest, each with its fingerprint after it
 * and its SQL.  Heap array; free with replica_schema_steps_free.
 */
struct replica_schema_step {
	uint32_t version;
	uint8_t fpr[SCHEMA_FPR_LEN];
	char *sql;
};
int replica_schema_steps(struct replica *rp, uint32_t from,
    struct replica_schema_step **out, size_t *n, char *err);
void replica_schema_steps_free(struct replica_schema_step *v, size_t n);

/* ---- steps that wait for a person (replica/schema/review.c) ---- */

enum replica_review_state {
	REPLICA_REVIEW_NONE = 0,	/* never held here */
	REPLICA_REVIEW_PENDING = 1,	/* waits: mule schema review */
	REPLICA_REVIEW_ACCEPTED = 2,	/* runs when its bundle comes again */
	REPLICA_REVIEW_REJECTED = 3,	/* its bundle is refused */
};

/* One step from a peer held for review. */
struct replica_review {
	char *peer;
	uint32_t version;
	uint8_t fpr[SCHEMA_FPR_LEN];
	char *sql;
	int state;		/* enum replica_review_state */
};

/* "pending", "accepted", ... */
const char *replica_review_state_name(int state);
/* What was decided about `peer`'s step `version` with fingerprint fpr. */
int replica_schema_review_state(struct replica *rp, const char *peer,
    uint32_t version, const uint8_t fpr[SCHEMA_FPR_LEN], int *state,
    char *err);
/*
 * Inside a transaction: holds `peer`'s step (version, fpr, sql) for
 * review, pending; a held step with another fingerprint is replaced.
 */
int replica_schema_review_hold(struct replica *rp, const char *peer,
    uint32_t version, const uint8_t fpr[SCHEMA_FPR_LEN], const char *sql,
    char *err);
/* Every held step, by version (*out heap: replica_schema_reviews_free). */
int replica_schema_reviews(struct replica *rp, struct replica_review **out,
    size_t *n, char *err);
void replica_schema_reviews_free(struct replica_review *v, size_t n);
/*
 * Inside a transaction: accepts (or rejects) every pending step numbered
 * `version` (*n of them); MULE_ENOTFOUND when none is pending.
 */
int replica_schema_review_decide(struct replica *rp, uint32_t version,
    int accept, size_t *n, char *err);

/* What one statement of a peer's schema step did (unpack --dry-run). */
struct replica_stmt_report {
	uint32_t version;	/* the step */
	char *sql;		/* the statement, as written (heap) */
	char *tables;		/* the tables and views it wrote, created,
				 * changed or dropped, ", "-separated (heap) */
	int64_t rows;		/* rows it inserted, updated or deleted,
				 * triggers included */
};
struct replica_step_report {
	size_t n;
	struct replica_stmt_report *v;	/* heap */
};
void replica_step_report_release(struct replica_step_report *rep);

/*
 * Inside a transaction, before any row of the bundle: applies one step
 * received from a peer (with `report`, not NULL, each statement it ran is
 * appended there).  Steps this replica already has (same version,
 * same fingerprint) are skipped (*applied = 0).  Refuses
 * (MULE_ESCHEMA) a live schema that drifted from the latest version, a
 * step whose version this replica has with another fingerprint (two sites
 * changed the schema independently) and a gap; MULE_EMIGRATION when the
 * SQL fails or gives another fingerprint than the step's.  Versions from
 * `unrecorded_from` on (0: none) were recorded just before from local
 * changes nobody had recorded: a clash there is this database's drift.
 */
int replica_schema_apply_step(struct replica *rp, uint32_t version,
    const uint8_t fpr[SCHEMA_FPR_LEN], const char *sql,
    uint32_t unrecorded_from, struct replica_step_report *report,
    int *applied, char *err);

/*
 * Before a bundle's rows: the sender was at `version` with fingerprint
 * `fpr` after its steps.  Fine when this replica's catalogue has that
 * version with that fingerprint (the sender may be behind); else
 * MULE_ESCHEMA naming both fingerprints.
 */
int replica_schema_check_peer(struct replica *rp, uint32_t version,
    const uint8_t fpr[SCHEMA_FPR_LEN], char *err);

/*
 * Inside a transaction: forgets the versions above `version`, after two
 * sites changed the schema independently and this one undid its change:
 * the live schema must be `version`'s again (MULE_ESCHEMA otherwise),
 * and no peer may be known to have a later version (MULE_ECONFLICT).
 * *forgot: how many versions went.
 */
int replica_schema_forget(struct replica *rp, uint32_t version,
    uint32_t *forgot, char *err);

/* The schema version a peer is known to have (0: unknown) / set it. */
int replica_schema_peer_version(struct replica *rp, const char *peer,
    uint32_t *version, char *err);
int replica_schema_set_peer_version(struct replica *rp, const char *peer,
    uint32_t version, char *err);

/*
 * Script from version i to j (i < j): the diff of the two versions'
 * full schemas, so that objects created and dropped in between do not
 * appear; a hand-written step in the range is included verbatim, with
 * diffs before and after it.  *out is a heap string.
 */
int replica_schema_upgrade(struct replica *rp, uint32_t i, uint32_t j,
    char **out, char *err);

/*
 * Which version the database file `path` is at, by fingerprint: *version
 * 0 when none matches, and then *closest is the version whose schema
 * shares the most objects with it.
 */
int replica_schema_identify(struct replica *rp, const char *path,
    uint32_t *version, uint32_t *closest, uint8_t fpr[SCHEMA_FPR_LEN],
    char *err);

#endif
