/*
 * replica/schema/guard.c — the trust boundary around a peer's migration
 * (docs/design.md §14, docs/decisions.md "A peer's migration").
 *
 * A schema step that arrives in a bundle runs verbatim, but only inside
 * what this site accepts from a peer:
 *
 * - an allow-list authorizer: the step may read, write, create, alter and
 *   drop only tables this site tracks and tables the step itself creates
 *   (which become tracked); never mule's or SQLite's own tables (SQLite's
 *   own ALTER TABLE statements may read and update the schema tables,
 *   which a script cannot write itself), never the temp schema, no
 *   ATTACH, transactions, savepoints or PRAGMAs other than a few
 *   read-only ones, no load_extension;
 * - limits: SQLITE_DBCONFIG_DEFENSIVE, a heap limit (values can be no
 *   larger than half of it), and a time budget through a progress
 *   handler; each ends the step with a refusal that names it;
 * - checks after the step: mule's and SQLite's own objects are as they
 *   were (no table renamed into their names, no leftover rebuild copy),
 *   the temp schema is unchanged, and every trigger or view the step
 *   created or changed names only tables the step may touch — their
 *   bodies run later, when this site's own programs write, outside any
 *   authorizer, so what they name is checked now, conservatively: any
 *   word of the body that is the name of another table or view, or a
 *   name qualified by "temp.", refuses the step.
 *
 * A refused step changes nothing: the caller rolls the transaction back.
 */
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"
#include "replica/schema.h"

#define GUARD_CHECK_OPS 10000	/* VM steps between two looks at the clock */

struct rp_guard {
	struct replica *rp;
	char **allowed;		/* tracked tables and those the step made */
	size_t nallowed;
	char **existing;	/* tables and views there before the step */
	size_t nexisting;
	char **untracked;	/* tables untracked by hand (untracked:NAME) */
	size_t nuntracked;
	int accept_new;		/* tables.accept-new = yes */
	char *own_before;	/* mule's, SQLite's and temp objects */
	char **code_names;	/* triggers and views before: "type name" */
	char **code_sql;	/* ... and their SQL */
	size_t ncode;
	char **touched;		/* triggers and views the step made or dropped */
	size_t ntouched;
	struct timespec deadline;
	int timed_out, nomem;
	sqlite3_int64 old_heap;
	int old_length, old_defensive;
	char denied[200];	/* what the authorizer refused first */
	struct strb stmt_tables;	/* what the statement writes or changes */
};

/*
 * Everything of mule's and the temp schema, as one text (SQLite refuses
 * names starting with "sqlite_" itself).
 */
#define OWN_OBJECTS \
	"SELECT group_concat(o, char(30)) FROM (SELECT 'main' || char(31) || " \
	"type || char(31) || name || char(31) || tbl_name || char(31) || " \
	"ifnull(sql, '') AS o FROM main.sqlite_schema WHERE (lower(name) LIKE " \
	"'\\_mule\\_%' ESCAPE '\\' AND NOT (type = 'trigger' AND lower(name) " \
	"LIKE '\\_mule\\_cap\\_%' ESCAPE '\\')) OR lower(tbl_name) LIKE " \
	"'\\_mule\\_%' ESCAPE '\\' UNION ALL " \
	"SELECT 'temp' || char(31) || type || char(31) || name || char(31) " \
	"|| ifnull(sql, '') FROM temp.sqlite_schema ORDER BY 1)"

#define TABLES_AND_VIEWS \
	"SELECT name FROM main.sqlite_schema WHERE type IN ('table', 'view')"

#define CODE_FROM \
	" FROM main.sqlite_schema WHERE type IN ('trigger', 'view') " \
	"ORDER BY type, lower(name)"

static int
name_in(char **v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(v[i], name) == 0)
			return 1;
	return 0;
}

static int
guard_allowed(const struct rp_guard *g, const char *table)
{
	return name_in(g->allowed, g->nallowed, table);
}

static int
guard_allow(struct rp_guard *g, const char *table)
{
	if (guard_allowed(g, table))
		return 0;
	if (strv_push(&g->allowed, g->nallowed, table) != 0)
		return MULE_ENOMEM;
	g->nallowed++;
	return 0;
}

/* A trigger or view the step made or dropped (DROP VIEW deletes it). */
static int
touched(const struct rp_guard *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->ntouched; i++)
		if (strcasecmp(g->touched[i], name) == 0)
			return 1;
	return 0;
}

/*
 * Inside a trigger or view of this site's own (there before the step and
 * not touched by it), the receiver's own code runs: it is not the peer's.
 */
static int
own_code(const struct rp_guard *g, const char *name)
{
	size_t i;

	if (name == NULL || touched(g, name))
		return 0;
	for (i = 0; i < g->ncode; i++)
		if (strcasecmp(strchr(g->code_names[i], ' ') + 1, name) == 0)
			return 1;
	return 0;
}

static int
touch(struct rp_guard *g, const char *name)
{
	if (name == NULL || strv_push(&g->touched, g->ntouched, name) != 0)
		return SQLITE_DENY;
	g->ntouched++;
	return SQLITE_OK;
}

static int
deny(struct rp_guard *g, const char *what, const char *name)
{
	if (g->denied[0] == '\0')
		snprintf(g->denied, sizeof(g->denied), "%s%s%s%s", what,
		    name != NULL ? " '" : "", name != NULL ? name : "",
		    name != NULL ? "'" : "");
	return SQLITE_DENY;
}

/* A table the step may touch: tracked, made by the step, or a rebuild's. */
static int
table_ok(struct rp_guard *g, const char *table)
{
	if (table == NULL)
		return 1;
	/*
	 * SQLite's own statements for ALTER TABLE read and write the schema
	 * table through the authorizer; a script cannot write it itself
	 * (no writable_schema: PRAGMAs are denied and DEFENSIVE is on).
	 * sqlite_sequence is not among them: AUTOINCREMENT keeps it without
	 * asking, and a script must not reset other tables' counters.
	 */
	if (strcasecmp(table, "sqlite_master") == 0 ||
	    strcasecmp(table, "sqlite_schema") == 0 ||
	    strcasecmp(table, "sqlite_temp_master") == 0 ||
	    strcasecmp(table, "sqlite_temp_schema") == 0 ||
	    strncasecmp(table, "_mule_new_", 10) == 0)
		return 1;
	return !rp_reserved_table(table) && (guard_allowed(g, table) ||
	    touched(g, table));
}

/* Notes that the statement being prepared writes or changes `name`. */
static void
note_table(struct rp_guard *g, const char *name)
{
	const char *p = strb_str(&g->stmt_tables);
	size_t n;

	if (name == NULL || rp_reserved_table(name))
		return;
	n = strlen(name);
	for (; *p != '\0'; p += strcspn(p, ",") +
	    (p[strcspn(p, ",")] == ',' ? 2 : 0))
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return;
	if (g->stmt_tables.len > 0)
		strb_add(&g->stmt_tables, ", ");
	strb_add(&g->stmt_tables, name);
}

const char *
rp_guard_stmt_tables(struct rp_guard *g)
{
	return g != NULL ? strb_str(&g->stmt_tables) : "";
}

void
rp_guard_stmt_reset(struct rp_guard *g)
{
	if (g != NULL)
		strb_reset(&g->stmt_tables);
}

static int
guard_authorizer(void *arg, int action, const char *a1, const char *a2,
    const char *db, const char *trigger)
{
	static const char *const pragmas[] = { "foreign_key_check",
	    "foreign_key_list", "table_info", "table_xinfo", "index_list",
	    "index_info", "index_xinfo", NULL };
	struct rp_guard *g = arg;
	char what[64];
	size_t i;

	if (action == SQLITE_INSERT || action == SQLITE_UPDATE ||
	    action == SQLITE_DELETE || action == SQLITE_CREATE_TABLE ||
	    action == SQLITE_DROP_TABLE || action == SQLITE_CREATE_VIEW ||
	    action == SQLITE_DROP_VIEW)
		note_table(g, a1);
	else if (action == SQLITE_ALTER_TABLE || action == SQLITE_CREATE_INDEX ||
	    action == SQLITE_DROP_INDEX || action == SQLITE_CREATE_TRIGGER ||
	    action == SQLITE_DROP_TRIGGER)
		note_table(g, a2);
	switch (action) {
	case SQLITE_PRAGMA:
		for (i = 0; pragmas[i] != NULL; i++)
			if (a1 != NULL && strcasecmp(a1, pragmas[i]) == 0 &&
			    a2 == NULL)
				return SQLITE_OK;
		return deny(g, "use PRAGMA", a1);
	case SQLITE_SELECT:
	case SQLITE_RECURSIVE:
	case SQLITE_REINDEX:	/* CREATE INDEX asks for it */
		return SQLITE_OK;
	case SQLITE_FUNCTION:
		if (a2 != NULL && (strcasecmp(a2, "load_extension") == 0 ||
		    strcasecmp(a2, "fts3_tokenizer") == 0))
			return deny(g, "call", a2);
		return SQLITE_OK;
	case SQLITE_READ:
	case SQLITE_INSERT:
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
		/* Nothing of the temp schema but SQLite's own table. */
		if (db != NULL && strcmp(db, "temp") == 0 &&
		    !rp_reserved_table(a1))
			return deny(g, "use the temp table", a1);
		if (own_code(g, trigger) && !rp_reserved_table(a1))
			return SQLITE_OK;
		/* Capture triggers (track --triggers) note keys: allowed. */
		if (own_code(g, trigger) && action != SQLITE_UPDATE &&
		    action != SQLITE_DELETE && strncasecmp(trigger,
		    "_mule_cap_", 10) == 0 && strncasecmp(a1, "_mule_dirty_",
		    12) == 0)
			return SQLITE_OK;
		/* FALLTHROUGH */
	case SQLITE_DROP_TABLE:
		return table_ok(g, a1) ? SQLITE_OK : deny(g, action ==
		    SQLITE_READ ? "read table" : "write table", a1);
	case SQLITE_CREATE_TABLE:
		/* sqlite_sequence: SQLite makes it for the first AUTOINCREMENT
		 * table (a script cannot name a table sqlite_*). */
		if (strcasecmp(a1, "sqlite_sequence") == 0)
			return SQLITE_OK;
		if (rp_reserved_table(a1) && strncasecmp(a1, "_mule_new_",
		    10) != 0)
			return deny(g, "create table", a1);
		/*
		 * CREATE TABLE IF NOT EXISTS of a table this site has but does
		 * not track would make the step track it: only with
		 * tables.accept-new, never one untracked by hand.
		 */
		if (!guard_allowed(g, a1) && name_in(g->existing,
		    g->nexisting, a1) && (!g->accept_new ||
		    name_in(g->untracked, g->nuntracked, a1))) {
			if (g->denied[0] == '\0')
				snprintf(g->denied, sizeof(g->denied), "take "
				    "table '%s', which this site does not track "
				    "(to take it: mule track %s, then unpack "
				    "again)", a1, a1);
			return SQLITE_DENY;
		}
		return guard_allow(g, a1) == 0 ? SQLITE_OK :
		    deny(g, "(out of memory)", NULL);
	case SQLITE_CREATE_TRIGGER:
		if (rp_reserved_table(a1))
			return deny(g, "create trigger", a1);
		/* FALLTHROUGH */
	case SQLITE_DROP_TRIGGER:
		if (touch(g, a1) != SQLITE_OK)
			return deny(g, "(out of memory)", NULL);
		/* FALLTHROUGH */
	case SQLITE_ALTER_TABLE:
	case SQLITE_CREATE_INDEX:
	case SQLITE_DROP_INDEX:
		return table_ok(g, a2) ? SQLITE_OK : deny(g, "change table",
		    a2);
	case SQLITE_CREATE_TEMP_INDEX:
	case SQLITE_CREATE_TEMP_TABLE:
	case SQLITE_CREATE_TEMP_TRIGGER:
	case SQLITE_CREATE_TEMP_VIEW:
		return deny(g, "create temporary objects", NULL);
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
		return deny(g, "attach databases", NULL);
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
		return deny(g, "control transactions", NULL);
	case SQLITE_CREATE_VIEW:
	case SQLITE_DROP_VIEW:
		if (rp_reserved_table(a1))
			return deny(g, "create view", a1);
		return touch(g, a1) == SQLITE_OK ? SQLITE_OK :
		    deny(g, "(out of memory)", NULL);
	default:
		/* ATTACH, DETACH, transactions, savepoints, temp objects,
		 * virtual tables, ANALYZE and anything newer. */
		snprintf(what, sizeof(what), "use this kind of statement "
		    "(SQLite authorizer action %d)", action);
		return deny(g, what, NULL);
	}
}

static int
guard_progress(void *arg)
{
	struct rp_guard *g = arg;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > g->deadline.tv_sec || (now.tv_sec ==
	    g->deadline.tv_sec && now.tv_nsec > g->deadline.tv_nsec)) {
		g->timed_out = 1;
		return 1;
	}
	return 0;
}

/* What a setting says, or dflt (also for 0 or a value not a number). */
static long long
setting(struct replica *rp, const char *key, long long dflt)
{
	uint64_t n = replica_config_num(rp, key, 0, LLONG_MAX);

	return n == 0 ? dflt : (long long)n;
}

void
rp_guard_free(struct rp_guard *g)
{
	if (g == NULL)
		return;
	strv_free(g->allowed, g->nallowed);
	strv_free(g->touched, g->ntouched);
	strv_free(g->existing, g->nexisting);
	strv_free(g->untracked, g->nuntracked);
	strv_free(g->code_names, g->ncode);
	strv_free(g->code_sql, g->ncode);
	free(g->own_before);
	strb_release(&g->stmt_tables);
	free(g);
}

/* The triggers and views there are now: parallel arrays, by name. */
static int
code_objects(struct replica *rp, char ***names, char ***sql, size_t *n,
    char *err)
{
	size_t n2 = 0;
	int r;

	if ((r = rp_strings(rp, "SELECT type || ' ' || lower(name)" CODE_FROM,
	    NULL, NULL, names, n, "read the schema", err)) != 0)
		return r;
	if ((r = rp_strings(rp, "SELECT sql" CODE_FROM, NULL, NULL, sql, &n2,
	    "read the schema", err)) != 0 || n2 != *n) {
		strv_free(*names, *n);
		if (r == 0) {
			strv_free(*sql, n2);
			r = mule_errf(err, MULE_EDB, "the schema changed while "
			    "read");
		}
	}
	return r;
}

int
rp_guard_begin(struct replica *rp, struct rp_guard **out, char *err)
{
	struct replica_table **tabs = NULL;
	struct rp_guard *g;
	size_t i, n = 0;
	long long secs, mem;
	int r;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	g->rp = rp;
	if ((r = replica_tables(rp, &tabs, &n, err)) != 0)
		goto out;
	for (i = 0; i < n && r == 0; i++)
		if (guard_allow(g, tabs[i]->name) != 0)
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
	if (r != 0 ||
	    (r = rp_text(rp, OWN_OBJECTS, NULL, NULL, &g->own_before,
	    "read the schema", err)) != 0 ||
	    (r = code_objects(rp, &g->code_names, &g->code_sql, &g->ncode,
	    err)) != 0 ||
	    (r = rp_strings(rp, TABLES_AND_VIEWS, NULL, NULL, &g->existing,
	    &g->nexisting, "read the schema", err)) != 0 ||
	    (r = rp_strings(rp, "SELECT substr(key, 11) FROM _mule_config "
	    "WHERE key LIKE 'untracked:%'", NULL, NULL, &g->untracked,
	    &g->nuntracked, "read settings", err)) != 0)
		goto out;
	g->accept_new = replica_config_is(rp, "tables.accept-new", "yes");
	secs = setting(rp, "migration.max-seconds", MIGRATION_MAX_SECONDS);
	mem = setting(rp, "migration.max-memory", MIGRATION_MAX_MEMORY);
	clock_gettime(CLOCK_MONOTONIC, &g->deadline);
	g->deadline.tv_sec += secs;
	g->old_heap = sqlite3_hard_heap_limit64(-1);
	sqlite3_hard_heap_limit64(mem);
	g->old_length = sqlite3_limit(rp->db, SQLITE_LIMIT_LENGTH,
	    (int)(mem / 2 < 0x7fffffff ? mem / 2 : 0x7fffffff));
	sqlite3_db_config(rp->db, SQLITE_DBCONFIG_DEFENSIVE, -1,
	    &g->old_defensive);
	sqlite3_db_config(rp->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_progress_handler(rp->db, GUARD_CHECK_OPS, guard_progress, g);
	sqlite3_set_authorizer(rp->db, guard_authorizer, g);
	*out = g;
	g = NULL;
	r = 0;
out:
	replica_tables_free(tabs, n);
	rp_guard_free(g);
	return r;
}

/* Takes the limits off again (called whatever the step did). */
static void
guard_release(struct rp_guard *g)
{
	sqlite3 *db = g->rp->db;

	sqlite3_set_authorizer(db, NULL, NULL);
	sqlite3_progress_handler(db, 0, NULL, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, g->old_defensive,
	    NULL);
	sqlite3_limit(db, SQLITE_LIMIT_LENGTH, g->old_length);
	sqlite3_hard_heap_limit64(g->old_heap);
}

/* Was this trigger or view there before, with the same SQL? */
static int
code_unchanged(const struct rp_guard *g, const char *name, const char *sql)
{
	size_t i;

	for (i = 0; i < g->ncode; i++)
		if (strcmp(g->code_names[i], name) == 0)
			return strcmp(g->code_sql[i], sql) == 0;
	return 0;
}

/*
 * A trigger or view the step made or changed: every word of its SQL that
 * names a table or view must name one the step may touch (or a view the
 * step made, checked in turn).
 */
static int
code_check(struct rp_guard *g, const char *what, const char *sql,
    char **others, size_t nothers, char *err)
{
	char **names = NULL;
	size_t i, k, n = 0;
	int r;

	if ((r = rp_sql_names(sql, &names, &n, err)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		/* "temp." qualifies a name; a column called temp is fine. */
		if (strcmp(names[i], "temp.") == 0 ||
		    (rp_reserved_table(names[i]) && !table_ok(g, names[i]))) {
			r = mule_errf(err, MULE_EMIGRATION, "the %s names "
			    "'%s', which a peer's migration may not reach",
			    what, names[i]);
			break;
		}
		for (k = 0; k < nothers; k++)
			if (strcasecmp(others[k], names[i]) == 0 &&
			    !guard_allowed(g, names[i])) {
				r = mule_errf(err, MULE_EMIGRATION, "the %s "
				    "names '%s', which this site does not "
				    "share with its peers", what, names[i]);
				break;
			}
	}
	strv_free(names, n);
	return r;
}

/* The checks after a step that ran to its end. */
static int
guard_after(struct rp_guard *g, char *err)
{
	char *own = NULL, **names = NULL, **sql = NULL, **others = NULL;
	size_t i, n = 0, nothers = 0;
	int r;

	if ((r = rp_text(g->rp, OWN_OBJECTS, NULL, NULL, &own,
	    "read the schema", err)) != 0)
		goto out;
	if ((own == NULL) != (g->own_before == NULL) || (own != NULL &&
	    strcmp(own, g->own_before) != 0)) {
		r = mule_errf(err, MULE_EMIGRATION, "it changed mule's or "
		    "SQLite's own tables or the temp schema (for instance, "
		    "renamed a table into their names)");
		goto out;
	}
	/* Tables and views the step may not name: everything else. */
	if ((r = rp_strings(g->rp, TABLES_AND_VIEWS, NULL, NULL, &others,
	    &nothers, "read the schema", err)) != 0 ||
	    (r = code_objects(g->rp, &names, &sql, &n, err)) != 0)
		goto out;
	for (i = 0; i < n && r == 0; i++) {
		if (code_unchanged(g, names[i], sql[i]))
			continue;
		if (strncmp(names[i], "view ", 5) == 0 &&
		    guard_allow(g, names[i] + 5) != 0)
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
	}
	for (i = 0; i < n && r == 0; i++)
		if (!code_unchanged(g, names[i], sql[i]))
			r = code_check(g, names[i], sql[i], others, nothers,
			    err);
out:
	free(own);
	strv_free(names, n);
	strv_free(sql, n);
	strv_free(others, nothers);
	return r;
}

void
rp_guard_note(struct rp_guard *g, int sqlite_rc)
{
	if (g != NULL && ((sqlite_rc & 0xff) == SQLITE_NOMEM ||
	    (sqlite_rc & 0xff) == SQLITE_TOOBIG))
		g->nomem = 1;
}

int
rp_guard_end(struct rp_guard *g, int step_rc, char *err)
{
	int r = step_rc;

	guard_release(g);
	if (g->nomem)
		r = mule_errf(err, MULE_EMIGRATION, "it needed more memory "
		    "than migration.max-memory allows (%lld bytes, a value "
		    "at most half of it; 'mule config migration.max-memory N' "
		    "raises it)",
		    setting(g->rp, "migration.max-memory",
		    MIGRATION_MAX_MEMORY));
	else if (g->timed_out)
		r = mule_errf(err, MULE_EMIGRATION, "it ran longer than "
		    "migration.max-seconds allows (%lld s; 'mule config "
		    "migration.max-seconds N' raises it)",
		    setting(g->rp, "migration.max-seconds",
		    MIGRATION_MAX_SECONDS));
	else if (g->denied[0] != '\0' && r != 0)
		r = mule_errf(err, MULE_EREFUSED, "a peer's migration may "
		    "not %s", g->denied);
	else if (r == 0)
		r = guard_after(g, err);
	return r;
}
