/*
 * replica/schema/catalog.c — the catalogue of schema versions (_mule_schema),
 * recording changes, running migration steps, and re-baselining the
 * per-row state of the tables they change (see replica/schema.h and
 * docs/state.md "Schema").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/strb.h"
#include "replica/internal.h"
#include "replica/schema.h"

static const char catalog_sql[] =
    "CREATE TABLE IF NOT EXISTS _mule_schema("
    " version INTEGER PRIMARY KEY, fpr BLOB NOT NULL, sql TEXT NOT NULL,"
    " migration TEXT NOT NULL, handwritten INTEGER NOT NULL,"
    " checksum BLOB NOT NULL, at TEXT NOT NULL DEFAULT (datetime('now')))";


static int
cat_exists(struct replica *rp, int *yes, char *err)
{
	int64_t v;
	int r;

	if ((r = rp_scalar(rp, "SELECT count(*) FROM sqlite_schema WHERE "
	    "type = 'table' AND name = '_mule_schema'", 0, 0, &v, err)) == 0)
		*yes = v > 0;
	return r;
}

static int
cat_ensure(struct replica *rp, char *err)
{
	return rp_exec(rp, catalog_sql, err);
}

static void
cat_checksum(uint32_t version, const uint8_t fpr[SCHEMA_FPR_LEN],
    const char *sql, const char *migration, int handwritten,
    uint8_t out[SCHEMA_FPR_LEN])
{
	crypto_generichash_state h;
	uint8_t b[5];

	b[0] = (uint8_t)(version >> 24);
	b[1] = (uint8_t)(version >> 16);
	b[2] = (uint8_t)(version >> 8);
	b[3] = (uint8_t)version;
	b[4] = (uint8_t)(handwritten != 0);
	crypto_generichash_init(&h, NULL, 0, SCHEMA_FPR_LEN);
	crypto_generichash_update(&h, b, sizeof(b));
	crypto_generichash_update(&h, fpr, SCHEMA_FPR_LEN);
	crypto_generichash_update(&h, (const unsigned char *)sql,
	    strlen(sql) + 1);
	crypto_generichash_update(&h, (const unsigned char *)migration,
	    strlen(migration));
	crypto_generichash_final(&h, out, SCHEMA_FPR_LEN);
}

static int
cat_add(struct replica *rp, uint32_t version, const uint8_t fpr[SCHEMA_FPR_LEN],
    const char *sql, const char *migration, int handwritten, char *err)
{
	sqlite3_stmt *st = NULL;
	uint8_t sum[SCHEMA_FPR_LEN];
	int rc, r;

	cat_checksum(version, fpr, sql, migration, handwritten, sum);
	if ((r = rp_prepare(rp, "INSERT INTO _mule_schema(version, fpr, sql,"
	    " migration, handwritten, checksum) VALUES (?, ?, ?, ?, ?, ?)",
	    &st, err)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, version);
	sqlite3_bind_blob(st, 2, fpr, SCHEMA_FPR_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sql, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, migration, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, handwritten != 0);
	sqlite3_bind_blob(st, 6, sum, SCHEMA_FPR_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rp_dberr(rp, rc, err,
	    "record schema version");
}

void
replica_schema_version_release(struct replica_schema_version *v)
{
	free(v->sql);
	free(v->migration);
	memset(v, 0, sizeof(*v));
}

int
replica_schema_latest(struct replica *rp, uint32_t *version,
    uint8_t fpr[SCHEMA_FPR_LEN], char *err)
{
	sqlite3_stmt *st = NULL;
	uint8_t f[SCHEMA_FPR_LEN];
	uint32_t v = 0;
	int yes, rc, r;

	memset(f, 0, sizeof(f));
	if ((r = cat_exists(rp, &yes, err)) != 0 || !yes)
		goto out;
	if ((r = rp_prepare(rp, "SELECT version, fpr FROM _mule_schema ORDER "
	    "BY version DESC LIMIT 1", &st, err)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == SCHEMA_FPR_LEN) {
		v = (uint32_t)sqlite3_column_int64(st, 0);
		memcpy(f, sqlite3_column_blob(st, 1), SCHEMA_FPR_LEN);
	} else if (rc == SQLITE_ROW) {
		r = mule_errf(err, MULE_EDB, "the schema catalogue is damaged");
	} else if (rc != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "read schema catalogue");
	}
out:
	sqlite3_finalize(st);
	if (r == 0) {
		*version = v;
		memcpy(fpr, f, SCHEMA_FPR_LEN);
	}
	return r;
}

int
replica_schema_get(struct replica *rp, uint32_t version,
    struct replica_schema_version *out, char *err)
{
	struct replica_schema_version v;
	sqlite3_stmt *st = NULL;
	uint8_t sum[SCHEMA_FPR_LEN];
	int yes, rc, r = MULE_EINTERNAL;

	memset(&v, 0, sizeof(v));
	if ((r = cat_exists(rp, &yes, err)) != 0)
		goto out;
	if (!yes || version == 0) {
		r = mule_errf(err, MULE_ENOTFOUND, "no schema version %u; "
		    "see 'mule schema log'", version);
		goto out;
	}
	if ((r = rp_prepare(rp, "SELECT fpr, sql, migration, handwritten, "
	    "checksum, at FROM _mule_schema WHERE version = ?", &st, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, version);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? mule_errf(err, MULE_ENOTFOUND, "no "
		    "schema version %u; see 'mule schema log'", version) :
		    rp_dberr(rp, rc, err, "read schema catalogue");
		goto out;
	}
	if (sqlite3_column_bytes(st, 0) != SCHEMA_FPR_LEN) {
		r = mule_errf(err, MULE_EDB, "schema version %u is damaged",
		    version);
		goto out;
	}
	v.version = version;
	memcpy(v.fpr, sqlite3_column_blob(st, 0), SCHEMA_FPR_LEN);
	v.handwritten = sqlite3_column_int(st, 3);
	snprintf(v.at, sizeof(v.at), "%s",
	    (const char *)sqlite3_column_text(st, 5));
	if ((v.sql = strdup((const char *)sqlite3_column_text(st, 1))) ==
	    NULL || (v.migration = strdup((const char *)
	    sqlite3_column_text(st, 2))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	cat_checksum(version, v.fpr, v.sql, v.migration, v.handwritten, sum);
	v.checksum_ok = sqlite3_column_bytes(st, 4) == SCHEMA_FPR_LEN &&
	    memcmp(sqlite3_column_blob(st, 4), sum, SCHEMA_FPR_LEN) == 0;
	*out = v;
	memset(&v, 0, sizeof(v));
	r = 0;
out:
	sqlite3_finalize(st);
	replica_schema_version_release(&v);
	return r;
}

/* Appends what the statement st did to rp->report. */
static int
report_stmt(struct replica *rp, sqlite3_stmt *st, struct rp_guard *g,
    int64_t rows)
{
	struct replica_step_report *rep = rp->report;
	struct replica_stmt_report *v, *e;
	const char *sql = sqlite3_sql(st) != NULL ? sqlite3_sql(st) : "";

	sql += strspn(sql, " \t\r\n");
	if ((v = realloc(rep->v, (rep->n + 1) * sizeof(*v))) == NULL)
		return MULE_ENOMEM;
	rep->v = v;
	e = &v[rep->n];
	memset(e, 0, sizeof(*e));
	e->version = rp->report_version;
	e->rows = rows;
	if ((e->sql = strdup(sql)) == NULL || (e->tables = strdup(rp_guard_stmt_tables(g))) ==
	    NULL) {
		free(e->sql);
		free(e->tables);
		return MULE_ENOMEM;
	}
	rep->n++;
	return 0;
}

/*
 * Runs a script statement by statement; foreign key violations fail.
 * With a guard (a peer's step), its authorizer is already in place;
 * without, this site's own script runs under rp_schema_authorizer.
 */
static int
exec_statements(struct replica *rp, const char *sql, struct rp_guard *g,
    char *err)
{
	sqlite3_stmt *st = NULL;
	const char *tail = sql;
	sqlite3_int64 before;
	int rc, r = 0, fk;

	if (g == NULL)
		sqlite3_set_authorizer(rp->db, rp_schema_authorizer, NULL);
	while (r == 0 && *tail != '\0') {
		const char *at = tail;
		rp_guard_stmt_reset(g);
		rc = sqlite3_prepare_v2(rp->db, tail, -1, &st, &tail);
		rp_guard_note(g, rc);
		if ((rc & 0xff) == SQLITE_AUTH) {
			while (*at == ' ' || *at == '\n' || *at == '\t')
				at++;
			r = mule_errf(err, MULE_EMIGRATION, "a migration may "
			    "not use transactions, ATTACH, PRAGMAs other than "
			    "foreign_key_check, or mule's own tables: "
			    "\"%.*s\"", (int)strcspn(at, "\n") < 60 ?
			    (int)strcspn(at, "\n") : 60, at);
			break;
		}
		if (rc != SQLITE_OK) {
			r = mule_errf(err, MULE_EMIGRATION, "%s",
			    sqlite3_errmsg(rp->db));
			break;
		}
		if (st == NULL)
			continue;	/* whitespace or a comment */
		fk = sqlite3_strnicmp(sqlite3_sql(st), "PRAGMA", 6) == 0 &&
		    strstr(sqlite3_sql(st), "foreign_key_check") != NULL;
		before = sqlite3_total_changes64(rp->db);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (fk) {
				r = mule_errf(err, MULE_EMIGRATION, "the "
				    "migration leaves rows of table '%s' "
				    "whose foreign key points nowhere",
				    (const char *)sqlite3_column_text(st, 0));
				break;
			}
		rp_guard_note(g, rc);
		if (r == 0 && rc != SQLITE_DONE)
			r = mule_errf(err, MULE_EMIGRATION, "%s",
			    sqlite3_errmsg(rp->db));
		if (r == 0 && g != NULL && rp->report != NULL &&
		    report_stmt(rp, st, g, sqlite3_total_changes64(rp->db) -
		    before) != 0)
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
		sqlite3_finalize(st);
		st = NULL;
	}
	if (g == NULL)
		sqlite3_set_authorizer(rp->db, NULL, NULL);
	return r;
}

/*
 * Runs a step's script: this site's own (peer = 0) under
 * rp_schema_authorizer, a peer's inside the trust boundary (guard.c).
 */
static int
exec_script(struct replica *rp, const char *sql, int peer, char *err)
{
	struct rp_guard *g = NULL;
	int r;

	/*
	 * As in SQLite's table rebuild procedure: in a generated migration,
	 * renaming the new table must not trip over triggers and views (of
	 * untracked tables too) that name the table it replaces.  A
	 * hand-written script gets SQLite's default behaviour.
	 */
	if (strncmp(sql, SCHEMA_GENERATED, strlen(SCHEMA_GENERATED)) == 0 &&
	    (r = rp_exec(rp, "PRAGMA legacy_alter_table = ON", err)) != 0)
		return r;
	if (!peer)
		r = exec_statements(rp, sql, NULL, err);
	else if ((r = rp_guard_begin(rp, &g, err)) == 0)
		r = rp_guard_end(g, exec_statements(rp, sql, g, err), err);
	rp_guard_free(g);
	sqlite3_exec(rp->db, "PRAGMA legacy_alter_table = OFF", NULL, NULL,
	    NULL);
	return r;
}

/* Forgets a tracked table that no longer exists (its state goes). */
static int
forget_table(struct replica *rp, const char *name, char *err)
{
	sqlite3_stmt *st = NULL;
	int64_t tid;
	int rc, r;

	if ((r = rp_prepare(rp, "DELETE FROM _mule_tables WHERE name = ? "
	    "RETURNING tid", &st, err)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? 0 : rp_dberr(rp, rc, err, "untrack");
		goto out;
	}
	tid = sqlite3_column_int64(st, 0);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "untrack");
		goto out;
	}
	if ((r = rp_digest_forget(rp, tid, err)) == 0)
		r = rp_state_drop(rp, tid, err);
out:
	sqlite3_finalize(st);
	return r;
}

/* Tracked tables whose table no longer exists are forgotten. */
static int
untrack_gone(struct replica *rp, char *err)
{
	char **names = NULL;
	size_t i, n = 0;
	int r;

	if ((r = rp_strings(rp, "SELECT name FROM _mule_tables WHERE name NOT "
	    "IN (SELECT name FROM sqlite_schema WHERE type = 'table')", NULL,
	    NULL, &names, &n, "read tracked tables", err)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++)
		r = forget_table(rp, names[i], err);
	strv_free(names, n);
	return r;
}

/* 1 when `table` still exists in the database (only untracked). */
static int
table_exists(void *arg, const char *table)
{
	/* schema_diff asks whether it is gone */
	return !rp_exists(arg, "SELECT 1 FROM sqlite_schema WHERE type = "
	    "'table' AND name = ? COLLATE NOCASE", table);
}

int
replica_schema_track_all(struct replica *rp, char *err)
{
	int r;

	if ((r = rp_exec(rp, "DELETE FROM _mule_config WHERE key LIKE "
	    "'untracked:%'", err)) != 0)
		return r;
	return rp_exec(rp, "INSERT OR REPLACE INTO _mule_config(key, value) "
	    "VALUES ('track-all', '1')", err);
}

int
replica_schema_exclude(struct replica *rp, const char *table, int exclude,
    char *err)
{
	return rp_exec_text(rp, exclude ? "INSERT OR REPLACE INTO "
	    "_mule_config(key, value) VALUES ('untracked:' || ?, '1')" :
	    "DELETE FROM _mule_config WHERE key = 'untracked:' || ?", table,
	    NULL, NULL, "untrack", err);
}

/* 1 when the table was untracked by hand. */
static int
excluded(struct replica *rp, const char *table)
{
	return rp_exists(rp, "SELECT 1 FROM _mule_config WHERE key = "
	    "'untracked:' || ?", table);
}

void
replica_schema_sync_release(struct replica_schema_sync *s)
{
	strv_free(s->tracked, s->ntracked);
	memset(s, 0, sizeof(*s));
}

/* With track --all: new tables with a key become tracked. */
static int
track_new(struct replica *rp, struct replica_schema_sync *out, char *err)
{
	char **names = NULL;
	size_t i, n = 0;
	int64_t all;
	void *p;
	int r, intkey, already;

	if ((r = rp_scalar(rp, "SELECT value = '1' FROM _mule_config WHERE "
	    "key = 'track-all'", 0, 0, &all, err)) != 0 || !all)
		return r;
	if ((r = replica_user_tables(rp, &names, &n, err)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		if (excluded(rp, names[i]))
			continue;
		r = replica_track(rp, names[i], &intkey, &already, NULL);
		if (r == MULE_ENOPK) {
			r = 0;
			continue;
		}
		if (r != 0) {
			r = mule_errf(err, r, "cannot track new table '%s'",
			    names[i]);
			break;
		}
		if (already)
			continue;
		if ((p = realloc(out->tracked, (out->ntracked + 1) *
		    sizeof(char *))) == NULL ||
		    ((out->tracked = p), (out->tracked[out->ntracked] =
		    strdup(names[i])) == NULL)) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			break;
		}
		out->ntracked++;
	}
	replica_names_free(names, n);
	return r;
}

/*
 * The migration from the latest recorded version (*latest; 0: none) to
 * `live`, whose fingerprint is fpr: *mig NULL when there is nothing to
 * record (no change, or nothing tracked yet: no version 1).
 */
static int
diff_latest(struct replica *rp, const struct schema *live,
    const uint8_t fpr[SCHEMA_FPR_LEN], uint32_t *latest, char **mig,
    char *err)
{
	struct schema old, empty;
	struct replica_schema_version prev;
	uint8_t lfpr[SCHEMA_FPR_LEN];
	char *m = NULL;
	uint32_t l;
	int r;

	schema_init(&old);
	schema_init(&empty);
	memset(&prev, 0, sizeof(prev));
	if ((r = replica_schema_latest(rp, &l, lfpr, err)) != 0)
		goto out;
	if ((l == 0 && live->n == 0) ||
	    (l > 0 && memcmp(fpr, lfpr, SCHEMA_FPR_LEN) == 0))
		goto done;
	if (l > 0 && ((r = replica_schema_get(rp, l, &prev, err)) != 0 ||
	    (r = schema_from_sql(prev.sql, &old, err)) != 0))
		goto out;
	if ((r = schema_diff(l > 0 ? &old : &empty, live, table_exists, rp,
	    &m, err)) != 0)
		goto out;
done:
	*latest = l;
	*mig = m;
	m = NULL;
out:
	schema_release(&old);
	schema_release(&empty);
	replica_schema_version_release(&prev);
	free(m);
	return r;
}

/* Records the live schema as the next version when it changed. */
static int
record_pending(struct replica *rp, uint32_t *recorded, char *err)
{
	struct schema live;
	uint8_t fpr[SCHEMA_FPR_LEN];
	char *mig = NULL, *inst = NULL;
	uint32_t latest;
	int r;

	schema_init(&live);
	*recorded = 0;
	if ((r = replica_schema_live(rp, &live, fpr, err)) != 0 ||
	    (r = diff_latest(rp, &live, fpr, &latest, &mig, err)) != 0 ||
	    mig == NULL)
		goto out;
	if ((r = schema_install_sql(&live, &inst, err)) != 0 ||
	    (r = cat_add(rp, latest + 1, fpr, inst, mig, 0, err)) != 0)
		goto out;
	*recorded = latest + 1;
out:
	schema_release(&live);
	free(mig);
	free(inst);
	return r;
}

/* want(): tracked tables, and those the next sync would track. */
struct pending {
	struct replica *rp;
	sqlite3_stmt *tracked;
	int all;
};

static int excluded(struct replica *rp, const char *table);

static int
want_pending(void *arg, const char *table)
{
	struct pending *p = arg;
	sqlite3_stmt *st = NULL;
	int64_t npk = 0;

	if (rp_want_listed(p->tracked, table))
		return 1;
	if (!p->all || excluded(p->rp, table) ||
	    rp_reserved_table(table))
		return 0;
	if (rp_prepare(p->rp, "SELECT count(*) FROM pragma_table_info(?) "
	    "WHERE pk > 0", &st, NULL) != 0)
		return 0;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		npk = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return npk > 0;
}

/* The live schema as the next sync will see it (new tables included). */
static int
live_pending(struct replica *rp, struct schema *out,
    uint8_t fpr[SCHEMA_FPR_LEN], char *err)
{
	struct pending p;
	int64_t all = 0;
	int r;

	p.rp = rp;
	p.tracked = NULL;
	if ((r = rp_scalar(rp, "SELECT value = '1' FROM _mule_config WHERE "
	    "key = 'track-all'", 0, 0, &all, err)) != 0 ||
	    (r = rp_prepare(rp, "SELECT 1 FROM _mule_tables WHERE name = ? "
	    "COLLATE NOCASE", &p.tracked, err)) != 0)
		return r;
	p.all = all != 0;
	r = rp_schema_read(rp->db, want_pending, &p, out, err);
	sqlite3_finalize(p.tracked);
	if (r == 0)
		schema_fingerprint(out, fpr);
	return r;
}

int
replica_schema_info(struct replica *rp, struct replica_schema_info *out,
    char *err)
{
	struct replica_schema_info in;
	struct schema live;
	int r;

	memset(&in, 0, sizeof(in));
	schema_init(&live);
	if ((r = live_pending(rp, &live, in.live, err)) != 0 ||
	    (r = replica_schema_latest(rp, &in.version, in.fpr, err)) != 0)
		goto out;
	in.objects = live.n;
	in.unrecorded = in.version == 0 ? live.n > 0 :
	    memcmp(in.fpr, in.live, SCHEMA_FPR_LEN) != 0;
	*out = in;
out:
	schema_release(&live);
	return r;
}

int
replica_schema_pending(struct replica *rp, char **sql, char *err)
{
	struct schema live;
	uint8_t fpr[SCHEMA_FPR_LEN];
	uint32_t latest;
	int r;

	schema_init(&live);
	if ((r = live_pending(rp, &live, fpr, err)) == 0)
		r = diff_latest(rp, &live, fpr, &latest, sql, err);
	schema_release(&live);
	return r;
}

int
replica_schema_sync(struct replica *rp, struct replica_schema_sync *out,
    char *err)
{
	struct replica_schema_sync s;
	uint8_t fpr[SCHEMA_FPR_LEN];
	int r;

	memset(&s, 0, sizeof(s));
	if ((r = cat_ensure(rp, err)) != 0 ||
	    (r = untrack_gone(rp, err)) != 0 ||
	    (r = track_new(rp, &s, err)) != 0 ||
	    (r = record_pending(rp, &s.recorded, err)) != 0 ||
	    (r = rp_rebaseline_all(rp, 0, NULL, err)) != 0 ||
	    (r = replica_schema_latest(rp, &s.version, fpr, err)) != 0)
		goto out;
	*out = s;
	memset(&s, 0, sizeof(s));
out:
	replica_schema_sync_release(&s);
	return r;
}

/* Tables a script creates become tracked (when they have a key). */
static int
track_created(struct replica *rp, const char *sql, char *err)
{
	char **names = NULL;
	size_t i, n = 0;
	int r, intkey, already;

	if ((r = schema_created_tables(sql, &names, &n, err)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		r = replica_track(rp, names[i], &intkey, &already, NULL);
		if (r == MULE_ENOPK || r == MULE_ENOTFOUND)
			r = 0;
		else if (r != 0)
			r = mule_errf(err, r, "cannot track table '%s'",
			    names[i]);
	}
	strv_free(names, n);
	return r;
}

/* Tables a generated step says are no longer tracked. */
static int
untrack_listed(struct replica *rp, const char *sql, char *err)
{
	struct replica_table **tabs = NULL;
	struct strb sb;
	size_t i, n = 0;
	const char *p;
	int r;

	if ((r = replica_tables(rp, &tabs, &n, err)) != 0)
		return r;
	strb_init(&sb);
	for (i = 0; i < n && r == 0; i++) {
		strb_reset(&sb);
		strb_add(&sb, SCHEMA_UNTRACK);
		strb_add_ident(&sb, tabs[i]->name);
		strb_addc(&sb, '\n');
		p = strstr(sql, strb_str(&sb));
		if (p != NULL && (p == sql || p[-1] == '\n') &&
		    (r = replica_untrack(rp, tabs[i]->name, err)) == 0)
			r = replica_schema_exclude(rp, tabs[i]->name, 1, err);
	}
	strb_release(&sb);
	replica_tables_free(tabs, n);
	return r;
}

static int run_step_sql(struct replica *rp, const char *sql, int peer,
    char *err);

/*
 * Runs a step's SQL and brings the tracked set and the state after it:
 * tables it created are tracked, tables it dropped or untracked are
 * forgotten, and the state of the tables it changed (of all, for a
 * hand-written step) is re-baselined from the data.
 */
static int
run_step(struct replica *rp, const char *sql, int peer, char *err)
{
	struct schema before;
	int r, generated = strncmp(sql, SCHEMA_GENERATED,
	    strlen(SCHEMA_GENERATED)) == 0;

	schema_init(&before);
	if (generated && (r = replica_schema_live(rp, &before, NULL,
	    err)) != 0)
		return r;
	r = run_step_sql(rp, sql, peer, err);
	if (r == 0)
		r = rp_rebaseline_all(rp, 1, generated ? &before : NULL, err);
	schema_release(&before);
	return r;
}

static int
run_step_sql(struct replica *rp, const char *sql, int peer, char *err)
{
	int r;

	if ((r = exec_script(rp, sql, peer, err)) != 0 ||
	    (r = untrack_gone(rp, err)) != 0 ||
	    (r = untrack_listed(rp, sql, err)) != 0 ||
	    (r = track_created(rp, sql, err)) != 0)
		return r;
	return 0;
}

int
replica_schema_record(struct replica *rp, const char *sql,
    uint32_t *version, char *err)
{
	struct replica_schema_sync s;
	struct schema live;
	uint8_t fpr[SCHEMA_FPR_LEN];
	char *inst = NULL, e2[MULE_ERRLEN];
	uint32_t v;
	int r;

	schema_init(&live);
	memset(&s, 0, sizeof(s));
	if (strlen(sql) > SCHEMA_MAX_SQL) {
		r = mule_errf(err, MULE_ETOOLARGE, "the script is longer than "
		    "SCHEMA_MAX_SQL (%u bytes)", SCHEMA_MAX_SQL);
		goto out;
	}
	if (strncmp(sql, SCHEMA_GENERATED, strlen(SCHEMA_GENERATED)) == 0) {
		r = mule_errf(err, MULE_EINVAL, "the script starts like a "
		    "generated migration; remove its first line");
		goto out;
	}
	if ((r = replica_schema_sync(rp, &s, err)) != 0)
		goto out;
	if ((r = run_step(rp, sql, 0, e2)) != 0) {
		r = mule_errf(err, r, "the script failed, nothing was changed: "
		    "%s", e2);
		goto out;
	}
	if ((r = replica_schema_live(rp, &live, fpr, err)) != 0 ||
	    (r = schema_install_sql(&live, &inst, err)) != 0 ||
	    (r = replica_schema_latest(rp, &v, (uint8_t[SCHEMA_FPR_LEN]){ 0 },
	    err)) != 0 ||
	    (r = cat_add(rp, v + 1, fpr, inst, sql, 1, err)) != 0)
		goto out;
	*version = v + 1;
out:
	replica_schema_sync_release(&s);
	schema_release(&live);
	free(inst);
	return r;
}

void
replica_schema_steps_free(struct replica_schema_step *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i].sql);
	free(v);
}

int
replica_schema_steps(struct replica *rp, uint32_t from,
    struct replica_schema_step **out, size_t *n, char *err)
{
	struct replica_schema_step *v = NULL;
	sqlite3_stmt *st = NULL;
	size_t cnt = 0;
	void *p;
	int yes, rc, r;

	if ((r = cat_exists(rp, &yes, err)) != 0)
		return r;
	if (!yes) {
		*out = NULL;
		*n = 0;
		return 0;
	}
	if ((r = rp_prepare(rp, "SELECT version, fpr, migration FROM "
	    "_mule_schema WHERE version > ? ORDER BY version", &st, err)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, from);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != SCHEMA_FPR_LEN) {
			r = mule_errf(err, MULE_EDB, "schema catalogue damaged");
			break;
		}
		if ((p = realloc(v, (cnt + 1) * sizeof(*v))) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			break;
		}
		v = p;
		v[cnt].version = (uint32_t)sqlite3_column_int64(st, 0);
		memcpy(v[cnt].fpr, sqlite3_column_blob(st, 1), SCHEMA_FPR_LEN);
		if ((v[cnt].sql = strdup((const char *)sqlite3_column_text(st,
		    2))) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			break;
		}
		cnt++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = rp_dberr(rp, rc, err, "read schema catalogue");
	sqlite3_finalize(st);
	if (r != 0) {
		replica_schema_steps_free(v, cnt);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* The refusal for a version this site has with another fingerprint. */
static int
clash(uint32_t version, const uint8_t here[SCHEMA_FPR_LEN],
    const uint8_t there[SCHEMA_FPR_LEN], char *err)
{
	char h1[2 * SCHEMA_FPR_LEN + 1], h2[2 * SCHEMA_FPR_LEN + 1];

	hex_encode(h1, here, 8);
	hex_encode(h2, there, 8);
	if (version == 1)
		return mule_errf(err, MULE_ESCHEMA, "the sites started from "
		    "different schemas: version 1 is %s… here but %s… at the "
		    "sender (tracked tables, their indexes and triggers, and "
		    "views must be the same); nothing was applied.  Make them "
		    "the same ('mule schema install 1' at the sender prints "
		    "its schema), set this site up from an empty database, or, "
		    "when the sender keeps a schema of its own, run 'mule peer "
		    "set SENDER schema separate' at both sites", h1, h2);
	return mule_errf(err, MULE_ESCHEMA, "both sites changed the schema "
	    "independently: version %u is %s… here but %s… at the sender; "
	    "nothing was applied.  Agree on one schema: at one site, undo "
	    "its change and run 'mule schema forget %u' there, then "
	    "exchange bundles again", version, h1, h2, version - 1);
}

/*
 * A step at a version this site has: 0 when it is the same step (same
 * fingerprint), else the refusal that says why they differ.
 */
static int
step_known(struct replica *rp, uint32_t version,
    const uint8_t fpr[SCHEMA_FPR_LEN], uint32_t unrecorded_from, char *err)
{
	struct replica_schema_version have;
	char h1[2 * SCHEMA_FPR_LEN + 1], h2[2 * SCHEMA_FPR_LEN + 1];
	int r;

	memset(&have, 0, sizeof(have));
	if ((r = replica_schema_get(rp, version, &have, err)) != 0)
		goto out;
	if (memcmp(have.fpr, fpr, SCHEMA_FPR_LEN) == 0)
		goto out;	/* we have it */
	hex_encode(h1, have.fpr, 8);
	hex_encode(h2, fpr, 8);
	if (unrecorded_from > 0 && version >= unrecorded_from)
		r = mule_errf(err, MULE_ESCHEMA, "this database's schema "
		    "drifted from version %u, which the bundle's migration to "
		    "version %u expects: it is %s… here, the sender's is %s…; "
		    "nothing was applied.  Undo the local schema change ('mule "
		    "schema diff' shows it) and unpack again", version - 1,
		    version, h1, h2);
	else
		r = clash(version, have.fpr, fpr, err);
out:
	replica_schema_version_release(&have);
	return r;
}

/*
 * Runs the step from `before` (the live fingerprint, the latest
 * version's) and checks it gives the sender's fingerprint; *live is then
 * the new schema.
 */
static int
step_run(struct replica *rp, uint32_t version,
    const uint8_t before[SCHEMA_FPR_LEN], const uint8_t fpr[SCHEMA_FPR_LEN],
    const char *sql, struct schema *live, char *err)
{
	uint8_t now[SCHEMA_FPR_LEN];
	char h1[2 * SCHEMA_FPR_LEN + 1], h2[2 * SCHEMA_FPR_LEN + 1];
	char e2[MULE_ERRLEN];
	int r;

	if ((r = run_step(rp, sql, 1, e2)) == MULE_EREFUSED)
		return mule_errf(err, r, "the bundle's migration to schema "
		    "version %u was refused here: %s; nothing was applied",
		    version, e2);
	if (r != 0) {
		hex_encode(h1, before, 8);
		hex_encode(h2, fpr, 8);
		return mule_errf(err, MULE_EMIGRATION, "the bundle's migration "
		    "to schema version %u failed here: %s; nothing was "
		    "applied (the schema stays %s…, the sender's is %s…).  "
		    "Fix the data it trips on (or ask the sender for a "
		    "migration that handles it), then unpack again", version,
		    e2, h1, h2);
	}
	if ((r = replica_schema_live(rp, live, now, err)) != 0)
		return r;
	if (memcmp(now, fpr, SCHEMA_FPR_LEN) != 0) {
		hex_encode(h1, now, 8);
		hex_encode(h2, fpr, 8);
		return mule_errf(err, MULE_EMIGRATION, "the bundle's migration "
		    "to schema version %u gave fingerprint %s… here, not the "
		    "sender's %s…; nothing was applied.  Compare the schemas "
		    "('mule schema status' at both sites)", version, h1, h2);
	}
	return 0;
}

void
replica_step_report_release(struct replica_step_report *rep)
{
	size_t i;

	for (i = 0; rep != NULL && i < rep->n; i++) {
		free(rep->v[i].sql);
		free(rep->v[i].tables);
	}
	if (rep != NULL) {
		free(rep->v);
		memset(rep, 0, sizeof(*rep));
	}
}

int
replica_schema_apply_step(struct replica *rp, uint32_t version,
    const uint8_t fpr[SCHEMA_FPR_LEN], const char *sql,
    uint32_t unrecorded_from, struct replica_step_report *report,
    int *applied, char *err)
{
	struct schema live;
	uint8_t lfpr[SCHEMA_FPR_LEN], now[SCHEMA_FPR_LEN];
	char h1[2 * SCHEMA_FPR_LEN + 1], h2[2 * SCHEMA_FPR_LEN + 1];
	char *inst = NULL;
	uint32_t latest;
	int r;

	schema_init(&live);
	if ((r = cat_ensure(rp, err)) != 0 ||
	    (r = replica_schema_latest(rp, &latest, lfpr, err)) != 0)
		goto out;
	if (version <= latest) {
		if ((r = step_known(rp, version, fpr, unrecorded_from,
		    err)) == 0)
			*applied = 0;
		goto out;
	}
	if (version > latest + 1) {
		r = mule_errf(err, MULE_ESCHEMA, "the bundle's schema steps "
		    "start at version %u but this database is at version %u; "
		    "apply the sender's earlier bundles first, or ask it for "
		    "a bundle made with --full", version, latest);
		goto out;
	}
	if ((r = replica_schema_live(rp, &live, now, err)) != 0)
		goto out;
	if (latest > 0 && memcmp(now, lfpr, SCHEMA_FPR_LEN) != 0) {
		hex_encode(h1, now, 8);
		hex_encode(h2, lfpr, 8);
		r = mule_errf(err, MULE_ESCHEMA, "this database's schema (%s…) "
		    "drifted from version %u (%s…), which the bundle's "
		    "migration to version %u expects; nothing was applied.  "
		    "Undo the local schema change, or record it ('mule schema "
		    "diff', 'mule pack') and agree on one schema with the "
		    "sender", h1, latest, h2, version);
		goto out;
	}
	schema_release(&live);
	rp->report = report;
	rp->report_version = version;
	r = step_run(rp, version, now, fpr, sql, &live, err);
	rp->report = NULL;
	if (r != 0 ||
	    (r = schema_install_sql(&live, &inst, err)) != 0 ||
	    (r = cat_add(rp, version, fpr, inst, sql, strncmp(sql,
	    SCHEMA_GENERATED, strlen(SCHEMA_GENERATED)) != 0, err)) != 0)
		goto out;
	*applied = 1;
out:
	schema_release(&live);
	free(inst);
	return r;
}

int
replica_schema_check_peer(struct replica *rp, uint32_t version,
    const uint8_t fpr[SCHEMA_FPR_LEN], char *err)
{
	struct replica_schema_version have;
	char h2[2 * SCHEMA_FPR_LEN + 1];
	uint8_t lfpr[SCHEMA_FPR_LEN];
	uint32_t latest;
	int r = 0;

	memset(&have, 0, sizeof(have));
	if (version == 0)
		goto out;	/* a sender without a catalogue */
	if ((r = replica_schema_latest(rp, &latest, lfpr, err)) != 0)
		goto out;
	if (version > latest) {
		hex_encode(h2, fpr, 8);
		r = mule_errf(err, MULE_ESCHEMA, "the bundle was made with "
		    "schema version %u (%s…), which this database does not "
		    "have (it is at version %u) and the bundle does not "
		    "carry; nothing was applied.  Ask the sender for a new "
		    "bundle: it will carry the migrations", version, h2,
		    latest);
		goto out;
	}
	if ((r = replica_schema_get(rp, version, &have, err)) != 0)
		goto out;
	if (memcmp(have.fpr, fpr, SCHEMA_FPR_LEN) != 0)
		r = clash(version, have.fpr, fpr, err);
out:
	replica_schema_version_release(&have);
	return r;
}

int
replica_schema_forget(struct replica *rp, uint32_t version, uint32_t *forgot,
    char *err)
{
	struct replica_schema_version v;
	struct replica_peer *peers = NULL;
	struct schema live;
	uint8_t now[SCHEMA_FPR_LEN], lfpr[SCHEMA_FPR_LEN];
	char h1[2 * SCHEMA_FPR_LEN + 1], h2[2 * SCHEMA_FPR_LEN + 1];
	sqlite3_stmt *st = NULL;
	uint32_t latest, pv;
	size_t i, np = 0;
	int rc, r;

	memset(&v, 0, sizeof(v));
	schema_init(&live);
	if ((r = replica_schema_latest(rp, &latest, lfpr, err)) != 0)
		goto out;
	if (version >= latest) {
		r = mule_errf(err, MULE_EINVAL, "this database is at schema "
		    "version %u: there is nothing above version %u to forget",
		    latest, version);
		goto out;
	}
	if ((r = replica_schema_get(rp, version, &v, err)) != 0 ||
	    (r = replica_schema_live(rp, &live, now, err)) != 0)
		goto out;
	if (memcmp(now, v.fpr, SCHEMA_FPR_LEN) != 0) {
		hex_encode(h1, now, 8);
		hex_encode(h2, v.fpr, 8);
		r = mule_errf(err, MULE_ESCHEMA, "the live schema (%s…) is not "
		    "version %u's (%s…); undo the later changes first ('mule "
		    "schema upgrade %u %u' shows them)", h1, version, h2,
		    version, latest);
		goto out;
	}
	if ((r = replica_peer_list(rp, &peers, &np, err)) != 0)
		goto out;
	for (i = 0; i < np; i++) {
		if ((r = replica_schema_peer_version(rp, peers[i].name, &pv,
		    err)) != 0)
			goto out;
		if (pv > version) {
			r = mule_errf(err, MULE_ECONFLICT, "peer %s already has "
			    "schema version %u; forgetting it here would split "
			    "the sites' histories", peers[i].name, pv);
			goto out;
		}
	}
	if ((r = rp_prepare(rp, "DELETE FROM _mule_schema WHERE version > ?",
	    &st, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, version);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "forget schema versions");
		goto out;
	}
	*forgot = latest - version;
out:
	sqlite3_finalize(st);
	free(peers);
	schema_release(&live);
	replica_schema_version_release(&v);
	return r;
}

int
replica_schema_peer_version(struct replica *rp, const char *peer,
    uint32_t *version, char *err)
{
	char *v = NULL;
	int r;

	if ((r = replica_peer_prop(rp, peer, "_schema", &v, err)) != 0)
		return r;
	*version = v != NULL ? (uint32_t)strtoul(v, NULL, 10) : 0;
	free(v);
	return 0;
}

int
replica_schema_set_peer_version(struct replica *rp, const char *peer,
    uint32_t version, char *err)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", version);
	return replica_peer_set(rp, peer, "_schema", buf, err);
}

/* Appends the diff between two versions' full schemas. */
static int
diff_versions(struct replica *rp, uint32_t i, uint32_t j, struct strb *sb,
    char *err)
{
	struct replica_schema_version a, b;
	struct schema sa, sbb;
	char *mig = NULL;
	int r;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	schema_init(&sa);
	schema_init(&sbb);
	if ((r = replica_schema_get(rp, i, &a, err)) != 0 ||
	    (r = replica_schema_get(rp, j, &b, err)) != 0 ||
	    (r = schema_from_sql(a.sql, &sa, err)) != 0 ||
	    (r = schema_from_sql(b.sql, &sbb, err)) != 0 ||
	    (r = schema_diff(&sa, &sbb, NULL, NULL, &mig, err)) != 0)
		goto out;
	strb_add(sb, mig);
out:
	replica_schema_version_release(&a);
	replica_schema_version_release(&b);
	schema_release(&sa);
	schema_release(&sbb);
	free(mig);
	return r;
}

int
replica_schema_upgrade(struct replica *rp, uint32_t i, uint32_t j,
    char **out, char *err)
{
	struct replica_schema_version v;
	struct strb sb;
	uint32_t k, at = i;
	int r = 0;

	memset(&v, 0, sizeof(v));
	strb_init(&sb);
	if (i >= j) {
		r = mule_errf(err, MULE_EINVAL, "upgrade needs a lower and a "
		    "higher version, e.g. 'upgrade 1 4'");
		goto out;
	}
	if ((r = replica_schema_get(rp, i, &v, err)) != 0)
		goto out;
	replica_schema_version_release(&v);
	for (k = i + 1; k <= j && r == 0; k++) {
		if ((r = replica_schema_get(rp, k, &v, err)) != 0)
			break;
		if (v.handwritten) {
			/* Verbatim, between diffs before and after it. */
			if (k - 1 > at)
				r = diff_versions(rp, at, k - 1, &sb, err);
			strb_addf(&sb, "-- mule: hand-written step %u, "
			    "verbatim\n%s\n", k, v.migration);
			at = k;
		}
		replica_schema_version_release(&v);
	}
	if (r == 0 && at < j)
		r = diff_versions(rp, at, j, &sb, err);
	if (r != 0)
		goto out;
	if (strb_error(&sb)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	*out = strb_detach(&sb);
out:
	replica_schema_version_release(&v);
	strb_release(&sb);
	return r;
}

/* Objects two schemas share (by normalized statement). */
static size_t
shared_objects(const struct schema *a, const struct schema *b)
{
	size_t i, k, n = 0;

	for (i = 0; i < a->n; i++)
		for (k = 0; k < b->n; k++)
			if (strcmp(a->v[i].norm, b->v[k].norm) == 0) {
				n++;
				break;
			}
	return n;
}

int
replica_schema_identify(struct replica *rp, const char *path,
    uint32_t *version, uint32_t *closest, uint8_t fpr[SCHEMA_FPR_LEN],
    char *err)
{
	struct replica_schema_version v;
	struct schema file, s;
	uint8_t f[SCHEMA_FPR_LEN], latest_fpr[SCHEMA_FPR_LEN];
	uint32_t k, latest, found = 0, best = 0;
	long score, top = -1;
	int r;

	memset(&v, 0, sizeof(v));
	schema_init(&file);
	schema_init(&s);
	if ((r = schema_from_file(path, &file, err)) != 0 ||
	    (r = replica_schema_latest(rp, &latest, latest_fpr, err)) != 0)
		goto out;
	schema_fingerprint(&file, f);
	for (k = 1; k <= latest && r == 0; k++) {
		if ((r = replica_schema_get(rp, k, &v, err)) != 0)
			break;
		if (memcmp(v.fpr, f, SCHEMA_FPR_LEN) == 0)
			found = k;	/* the latest match wins */
		if ((r = schema_from_sql(v.sql, &s, err)) == 0) {
			score = 2 * (long)shared_objects(&file, &s) -
			    (long)s.n - (long)file.n;
			if (score >= top) {
				top = score;
				best = k;
			}
		}
		schema_release(&s);
		replica_schema_version_release(&v);
	}
	if (r != 0)
		goto out;
	*version = found;
	*closest = found ? found : best;
	memcpy(fpr, f, SCHEMA_FPR_LEN);
out:
	replica_schema_version_release(&v);
	schema_release(&file);
	schema_release(&s);
	return r;
}
