/*
 * replica/schema/internal.h — schema text, layouts and the boundary around
 * a peer's migration (replica/schema/).
 * Private to replica/ (include replica/internal.h).
 */
#ifndef MULE_REPLICA_SCHEMA_INTERNAL_H
#define MULE_REPLICA_SCHEMA_INTERNAL_H

#include "replica/store/internal.h"

/* ---- a peer's migration (replica/schema/guard.c) ---- */

#define MIGRATION_MAX_SECONDS 600	/* default migration.max-seconds */
#define MIGRATION_MAX_MEMORY (512LL << 20) /* default migration.max-memory */

struct rp_guard;
/*
 * Puts the trust boundary around a peer's schema step (see guard.c):
 * the allow-list authorizer, the limits, and what the checks after the
 * step compare with.  0 or a MULE_E* code; *out is freed by
 * rp_guard_free after rp_guard_end.
 */
int rp_guard_begin(struct replica *rp, struct rp_guard **out, char *err);
/* Notes a statement's SQLite result (out of memory is the heap limit). */
void rp_guard_note(struct rp_guard *g, int sqlite_rc);
/*
 * Takes the boundary off.  step_rc is what running the step returned:
 * a refusal of the authorizer, the time or memory budget replaces it
 * with a message naming the cause; a step that ran (0) is checked
 * (mule's own objects, the temp schema, triggers and views it made).
 * 0 or MULE_EMIGRATION.
 */
int rp_guard_end(struct rp_guard *g, int step_rc, char *err);
void rp_guard_free(struct rp_guard *g);
/*
 * The tables and views the statement last prepared under the guard
 * writes, creates, changes or drops (", "-separated; "" for none or a NULL
 * guard), and forgetting them before the next statement.
 */
const char *rp_guard_stmt_tables(struct rp_guard *g);
void rp_guard_stmt_reset(struct rp_guard *g);
/*
 * Every word, quoted name and string of `sql`, unquoted and lower-cased,
 * in order; one followed by a '.' (a qualifier such as "temp.") keeps
 * the dot.  *names is a heap array (strv_free).  replica/schema/schema.c.
 */
int rp_sql_names(const char *sql, char ***names, size_t *n, char *err);

/* ---- schema (replica/schema/schema.c, replica/schema/catalog.c) ---- */
struct schema;
/*
 * Reads the schema of db: the tables for which want(arg, name) is 1 (all
 * but sqlite_* and _mule_* when want is NULL), their indexes and
 * triggers, and every view.
 */
int rp_schema_read(sqlite3 *db, int (*want)(void *, const char *),
    void *arg, struct schema *out, char *err);
/*
 * want() for rp_schema_read: arg is a prepared statement whose ?1 is a
 * table name; 1 when it yields a row (a table listed in _mule_tables).
 */
int rp_want_listed(void *arg, const char *table);
/*
 * SQLite authorizer for migration scripts: no ATTACH/DETACH, no
 * transaction control (the script runs inside mule's transaction), only
 * read-only PRAGMAs such as foreign_key_check, and no change to mule's
 * _mule_* tables.
 */
int rp_schema_authorizer(void *arg, int action, const char *a1,
    const char *a2, const char *db, const char *trigger);
/*
 * Brings every tracked table's state to its live column layout (see
 * docs/state.md "Table layouts"); a no-op when no layout changed.
 */
int rp_layouts_update(struct replica *rp, char *err);
/*
 * Re-baselines the tracked tables (replica/schema/catalog_state.c): with
 * `trust`, from the data, those whose definition differs from `before`
 * (all when `before` is NULL); else only those whose layout changed.
 */
int rp_rebaseline_all(struct replica *rp, int trust,
    const struct schema *before, char *err);

#endif
