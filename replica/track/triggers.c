/*
 * replica/track/triggers.c — opt-in trigger capture (DESIGN §6,
 * docs/decisions.md "Trigger capture").
 *
 * A table in trigger mode has three AFTER triggers (_mule_cap_<tid>_i,
 * _u, _d) that note the key of every row an application inserts, updates
 * (old key, and the new one when it changed) or deletes in
 * _mule_dirty_<tid>, one column per key column, so that the scan visits
 * only those rows (each once: it reads them DISTINCT).  The trigger body
 * is a plain INSERT into a table with no constraint, index or trigger and
 * calls no function, so it cannot make an application's write fail (an
 * outer OR ABORT / OR ROLLBACK would apply to a constraint in the body:
 * there is none); it only needs its table.  Without an index a write
 * costs one append; a key written many times between two scans is noted
 * as many times.
 *
 * _mule_capture(tid, cols, scans, full) says which tables are in trigger
 * mode, the column layout seen by their last scan, the scans since the
 * last full one, and whether the next must be full.  The scan trusts the
 * dirty keys only when rp_capture_plan finds everything as mule made it;
 * otherwise, and every scan.full-every scans, it reads the whole table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

#define CAPTURE_FULL_EVERY 10	/* scan.full-every when unset */

static const char capture_schema[] =
    "CREATE TABLE IF NOT EXISTS main._mule_capture(tid INTEGER PRIMARY KEY,"
    " cols TEXT NOT NULL DEFAULT '', scans INTEGER NOT NULL DEFAULT 0,"
    " full INTEGER NOT NULL DEFAULT 1)";

/* The names of table tid's capture objects: which 0..3, into buf[48]. */
static const char *
obj_name(int64_t tid, int which, char buf[48])
{
	static const char *const pre[] = { "dirty", "cap", "cap", "cap" };
	static const char *const suf[] = { "", "_i", "_u", "_d" };

	snprintf(buf, 48, "_mule_%s_%lld%s", pre[which], (long long)tid,
	    suf[which]);
	return buf;
}

/* "k0, k1, ..." — the dirty table's columns. */
static void
key_cols(struct strb *sb, const struct replica_table *t)
{
	uint32_t i;

	for (i = 0; i < t->npk; i++)
		strb_addf(sb, "%sk%u", i ? ", " : "", i);
}

/*
 * Notes the key of row `ref` (NEW or OLD); with `changed`, only when it
 * differs from OLD's (an UPDATE that changed the key).
 */
static void
note_key(struct strb *sb, const struct replica_table *t, const char *ref,
    int changed)
{
	char dn[48];
	uint32_t i;

	obj_name(t->tid, 0, dn);
	strb_addf(sb, " INSERT INTO %s(", dn);
	key_cols(sb, t);
	strb_add(sb, ") SELECT ");
	for (i = 0; i < t->npk; i++) {
		strb_addf(sb, "%s%s.", i ? ", " : "", ref);
		strb_add_ident(sb, t->cols[t->pkcols[i]]);
	}
	for (i = 0; changed && i < t->npk; i++) {
		strb_add(sb, i ? " OR NEW." : " WHERE NEW.");
		strb_add_ident(sb, t->cols[t->pkcols[i]]);
		strb_add(sb, " IS NOT OLD.");
		strb_add_ident(sb, t->cols[t->pkcols[i]]);
	}
	strb_add(sb, ";");
}

/* The exact SQL of capture object `which` of table t. */
static void
obj_sql(struct strb *sb, const struct replica_table *t, int which)
{
	static const char *const ev[] = { "INSERT", "UPDATE", "DELETE" };
	char n[48];

	obj_name(t->tid, which, n);
	if (which == 0) {
		strb_addf(sb, "CREATE TABLE %s(", n);
		key_cols(sb, t);
		strb_add(sb, ")");
		return;
	}
	strb_addf(sb, "CREATE TRIGGER %s AFTER %s ON ", n, ev[which - 1]);
	strb_add_ident(sb, t->name);
	strb_add(sb, " BEGIN");
	if (which != 1)
		note_key(sb, t, "OLD", 0);
	if (which != 3)
		note_key(sb, t, "NEW", which == 2);
	strb_add(sb, " END");
}

/*
 * Drops table tid's triggers and, with `table`, its dirty table (which
 * cannot be dropped while the scan reads: SQLite says it is locked).
 */
static int
objs_drop(struct replica *rp, int64_t tid, int table, char *err)
{
	char sql[96], n[48];
	int i, r = 0;

	for (i = 3; i >= (table ? 0 : 1) && r == 0; i--) {
		snprintf(sql, sizeof(sql), "DROP %s IF EXISTS %s", i == 0 ?
		    "TABLE" : "TRIGGER", obj_name(tid, i, n));
		r = rp_exec(rp, sql, err);
	}
	return r;
}

/*
 * Whether capture object `which` of t is there with mule's exact SQL:
 * *state 1 (yes), 0 (absent) or -1 (there, but changed).
 */
static int
obj_state(struct replica *rp, const struct replica_table *t, int which,
    int *state, char *err)
{
	struct strb sb;
	char *have = NULL, n[48];
	int r;

	strb_init(&sb);
	obj_sql(&sb, t, which);
	if (strb_error(&sb))
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
	else
		r = rp_text(rp, "SELECT sql FROM main.sqlite_schema WHERE "
		    "name = ?1", obj_name(t->tid, which, n), NULL, &have,
		    "read the schema", err);
	if (r == 0)
		*state = have == NULL ? 0 : strcmp(have, strb_str(&sb)) == 0 ?
		    1 : -1;
	free(have);
	strb_release(&sb);
	return r;
}

/*
 * (Re)makes table t's triggers over an empty dirty table.  `scanning`: a
 * changed dirty table or index cannot be dropped now, MULE_EBUSY.
 */
static int
objs_make(struct replica *rp, const struct replica_table *t, int scanning,
    char *err)
{
	struct strb sb;
	char sql[64], n[48];
	int i, r, tab = 0;

	strb_init(&sb);
	if ((r = objs_drop(rp, t->tid, 0, err)) != 0 ||
	    (r = obj_state(rp, t, 0, &tab, err)) != 0)
		goto out;
	if (tab < 0) {
		if (scanning) {
			r = MULE_EBUSY;
			goto out;
		}
		if ((r = objs_drop(rp, t->tid, 1, err)) != 0)
			goto out;
		tab = 0;
	}
	if (tab > 0) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s",
		    obj_name(t->tid, 0, n));
		if ((r = rp_exec(rp, sql, err)) != 0)
			goto out;
	}
	for (i = 0; i < 4 && r == 0; i++) {
		if (i == 0 && tab > 0)
			continue;
		strb_reset(&sb);
		obj_sql(&sb, t, i);
		if (strb_error(&sb))
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
		else
			r = rp_exec(rp, strb_str(&sb), err);
	}
out:
	strb_release(&sb);
	return r;
}

/* 1 in *intact when every capture object of t is as mule made it. */
static int
objs_intact(struct replica *rp, const struct replica_table *t, char *err,
    int *intact)
{
	int i, st = 1, r = 0;

	for (i = 0; i < 4 && r == 0 && st == 1; i++)
		r = obj_state(rp, t, i, &st, err);
	*intact = st == 1;
	return r;
}

static long long
full_every(struct replica *rp)
{
	return (long long)replica_config_num(rp, "scan.full-every",
	    CAPTURE_FULL_EVERY, 1000000);
}

int
rp_capture_plan(struct replica *rp, const struct replica_table *t, int dry,
    int *mode, const char **why, char *err)
{
	sqlite3_stmt *st = NULL;
	long long every;
	int64_t scans = 0;
	int rc, full = 0, same = 0, intact = 0, r = MULE_EINTERNAL;

	*mode = RP_CAPTURE_SCAN;
	*why = NULL;
	if (!rp_has_table(rp, "_mule_capture")) {
		r = 0;
		goto out;
	}
	if ((r = rp_prepare(rp, "SELECT c.scans, c.full, c.cols = t.cols "
	    "FROM _mule_capture c JOIN _mule_tables t USING (tid) WHERE "
	    "tid = ?", &st, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, t->tid);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? 0 : rp_dberr(rp, rc, err, "read "
		    "capture");
		goto out;
	}
	scans = sqlite3_column_int64(st, 0);
	full = sqlite3_column_int(st, 1);
	same = sqlite3_column_int(st, 2);
	if ((r = objs_intact(rp, t, err, &intact)) != 0)
		goto out;
	every = full_every(rp);
	*mode = RP_CAPTURE_FULL;
	if (!intact) {
		*why = "its triggers were missing or changed";
		if (!dry && (r = objs_make(rp, t, 1, err)) == MULE_EBUSY) {
			/*
			 * Its dirty table was changed by someone else: the
			 * table goes back to full scans, with no triggers
			 * that could fail a write ('mule track --triggers'
			 * starts afresh).
			 */
			*mode = RP_CAPTURE_SCAN;
			*why = NULL;
			r = rp_scalar(rp, "DELETE FROM _mule_capture WHERE "
			    "tid = ?1 RETURNING tid", t->tid, 0, &scans, err);
			goto out;
		}
		if (r != 0)
			goto out;
	} else if (full) {
		*why = "triggers just added";
	} else if (!same) {
		*why = "its columns changed";
	} else if (every > 0 && scans + 1 >= every) {
		*why = "periodic (scan.full-every)";
	} else {
		*mode = RP_CAPTURE_DIRTY;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int
rp_capture_keys(struct replica *rp, const struct replica_table *t,
    sqlite3_stmt **st, char *err)
{
	struct strb sb;
	char n[48];
	int r;

	strb_init(&sb);
	strb_add(&sb, "SELECT DISTINCT ");
	key_cols(&sb, t);
	strb_addf(&sb, " FROM %s", obj_name(t->tid, 0, n));
	r = strb_error(&sb) ? mule_errf(err, MULE_ENOMEM, "out of memory") :
	    rp_prepare(rp, strb_str(&sb), st, err);
	strb_release(&sb);
	return r;
}

int
rp_capture_done(struct replica *rp, const struct replica_table *t, int full,
    char *err)
{
	sqlite3_stmt *st = NULL;
	char sql[64], n[48];
	int rc, r;

	snprintf(sql, sizeof(sql), "DELETE FROM %s", obj_name(t->tid, 0, n));
	if ((r = rp_exec(rp, sql, err)) != 0 ||
	    (r = rp_prepare(rp, "UPDATE _mule_capture SET full = 0, scans = "
	    "CASE WHEN ?2 THEN 0 ELSE scans + 1 END, cols = (SELECT cols FROM "
	    "_mule_tables WHERE tid = ?1) WHERE tid = ?1", &st, err)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, t->tid);
	sqlite3_bind_int(st, 2, full);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "update capture");
	return 0;
}

int
rp_capture_drop(struct replica *rp, int64_t tid, char *err)
{
	int r;

	if (!rp_has_table(rp, "_mule_capture"))
		return 0;
	if ((r = objs_drop(rp, tid, 1, err)) != 0)
		return r;
	return rp_scalar(rp, "DELETE FROM _mule_capture WHERE tid = ?1 "
	    "RETURNING tid", tid, 0, &(int64_t){ 0 }, err);
}

/* Puts table `name` in trigger mode (on) or back to full scans. */
static int
capture_one(struct replica *rp, const char *name, int on, int *changed,
    char *err)
{
	struct replica_table *t = NULL;
	int64_t had = 0;
	int r;

	*changed = 0;
	if ((r = rp_table_get(rp, name, &t, err)) != 0) {
		if (r == MULE_ENOTFOUND)
			r = mule_errf(err, r, "table '%s' is not tracked (see "
			    "'mule track')", name);
		goto out;
	}
	if ((r = rp_scalar(rp, "SELECT 1 FROM _mule_capture WHERE tid = ?1",
	    t->tid, 0, &had, err)) != 0)
		goto out;
	if ((had != 0) == (on != 0)) {
		r = 0;
		goto out;
	}
	*changed = 1;
	if (!on) {
		r = rp_capture_drop(rp, t->tid, err);
		goto out;
	}
	/* Writes before the triggers existed: the next scan is full. */
	if ((r = rp_scalar(rp, "INSERT INTO _mule_capture(tid) VALUES (?1) "
	    "RETURNING tid", t->tid, 0, &had, err)) != 0)
		goto out;
	r = objs_make(rp, t, 0, err);
out:
	replica_table_free(t);
	return r;
}

int
replica_capture_set(struct replica *rp, const char *const *names, size_t n,
    int on, replica_capture_fn each, void *arg, char *err)
{
	struct replica_table **tabs = NULL;
	size_t i, ntabs = 0;
	int changed, r;

	if ((r = replica_begin(rp, err)) != 0)
		return r;
	if ((r = rp_exec(rp, capture_schema, err)) != 0)
		goto out;
	if (names == NULL && (r = replica_tables(rp, &tabs, &ntabs,
	    err)) != 0)
		goto out;
	for (i = 0; i < (names == NULL ? ntabs : n) && r == 0; i++) {
		const char *name = names == NULL ? tabs[i]->name : names[i];

		if ((r = capture_one(rp, name, on, &changed, err)) == 0 &&
		    each != NULL)
			each(arg, name, on, changed);
	}
	if (r == 0)
		r = replica_commit(rp, err);
out:
	if (r != 0)
		replica_rollback(rp);
	replica_tables_free(tabs, ntabs);
	return r;
}
