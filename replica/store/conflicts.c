/* replica/store/conflicts.c — the conflict log, resolving a conflict, and
 * the history of resolutions (see store.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

/* What replica/apply/apply.c writes into _mule_conflicts. */
#define COL_ROW "*"		/* the conflict is about the whole row */
#define REMOTE_DELETED "(deleted)"

static void
copy_col(char *dst, size_t n, sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(dst, n, "%s", s != NULL ? (const char *)s : "");
}

static char *
dup_col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return strdup(s != NULL ? (const char *)s : "NULL");
}

/* A heap copy of column i, NULL when it is NULL (*bad set when out of
 * memory). */
static char *
dup_opt(sqlite3_stmt *st, int i, int *bad)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup((const char *)s)) == NULL)
		*bad = 1;
	return d;
}

void
replica_conflicts_free(struct replica_conflict *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].table);
		free(v[i].pk);
		free(v[i].col);
		free(v[i].local);
		free(v[i].remote);
		free(v[i].resolution);
		free(v[i].resolved_value);
		free(v[i].logged_by);
	}
	free(v);
}

const char *
replica_conflict_kind_name(int kind)
{
	switch (kind) {
	case MERGE_CONFLICT_CELL_OVERWRITTEN:
		return "cell overwritten";
	case MERGE_CONFLICT_LOST_TO_DELETION:
		return "edit lost to a deletion";
	case MERGE_CONFLICT_COLLIDING_INSERT:
		return "colliding insert";
	case MERGE_CONFLICT_LEFT_SET:
		return "row left a set";
	case MERGE_CONFLICT_BASELINES_DIFFER:
		return "baselines differ";
	case MERGE_CONFLICT_OUTSIDE_SET:
		return "outside the set";
	}
	return "unknown";
}

static int
conflict_fill(void *arg, sqlite3_stmt *st, void *elem, char *err)
{
	struct replica_conflict *c = elem;
	int bad = 0;

	c->id = sqlite3_column_int64(st, 0);
	c->table = dup_col(st, 1);
	c->pk = dup_col(st, 2);
	c->col = dup_col(st, 3);
	c->local = dup_col(st, 4);
	c->remote = dup_col(st, 7);
	c->local_st.lamport = (uint64_t)sqlite3_column_int64(st, 5);
	if (sqlite3_column_bytes(st, 6) == SITE_ID_LEN)
		memcpy(c->local_st.origin, sqlite3_column_blob(st, 6),
		    SITE_ID_LEN);
	c->remote_st.lamport = (uint64_t)sqlite3_column_int64(st, 8);
	if (sqlite3_column_bytes(st, 9) == SITE_ID_LEN)
		memcpy(c->remote_st.origin, sqlite3_column_blob(st, 9),
		    SITE_ID_LEN);
	copy_col(c->winner, sizeof(c->winner), st, 10);
	if (sqlite3_column_bytes(st, 11) == 16)
		memcpy(c->bundle, sqlite3_column_blob(st, 11), 16);
	c->kind = sqlite3_column_int(st, 12);
	c->resolved = sqlite3_column_int(st, 13) != 0;
	c->resolution = dup_opt(st, 14, &bad);
	c->resolved_value = dup_opt(st, 15, &bad);
	copy_col(c->resolved_at, sizeof(c->resolved_at), st, 16);
	copy_col(c->logged_at, sizeof(c->logged_at), st, 17);
	if (bad || c->table == NULL || c->pk == NULL || c->col == NULL ||
	    c->local == NULL || c->remote == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

static void
conflict_release(void *v, size_t n)
{
	replica_conflicts_free(v, n);
}

/*
 * Whether _mule_conflicts has the history columns (resolution,
 * resolved_value, resolved_at): a replica made before they existed gets
 * them with its first resolution (history_add).
 */
static int
history_has(struct replica *rp, int *has, char *err)
{
	int64_t n = 0;
	int r;

	r = rp_scalar(rp, "SELECT count(*) FROM pragma_table_info("
	    "'_mule_conflicts') WHERE name = 'resolution'", 0, 0, &n, err);
	*has = n > 0;
	return r;
}

static int
history_add(struct replica *rp, char *err)
{
	int has = 0, r;

	if ((r = history_has(rp, &has, err)) != 0 || has)
		return r;
	if ((r = rp_exec(rp, "ALTER TABLE _mule_conflicts ADD COLUMN "
	    "resolution TEXT", err)) != 0 ||
	    (r = rp_exec(rp, "ALTER TABLE _mule_conflicts ADD COLUMN "
	    "resolved_value TEXT", err)) != 0)
		return r;
	return rp_exec(rp, "ALTER TABLE _mule_conflicts ADD COLUMN "
	    "resolved_at TEXT", err);
}

/* When the bundle that brought conflict c was applied (UTC, ISO 8601). */
#define LOGGED_AT "(SELECT strftime('%Y-%m-%dT%H:%M:%SZ', b.at) FROM " \
	"_mule_bundles b WHERE b.bundle = c.bundle AND b.dir = 'recv')"

int
replica_conflicts(struct replica *rp, int all, struct replica_conflict **out,
    size_t *n, char *err)
{
	sqlite3_stmt *st = NULL;
	struct strb sql;
	void *v;
	int has = 0, r;

	strb_init(&sql);
	if ((r = history_has(rp, &has, err)) != 0)
		goto out;
	strb_add(&sql, "SELECT id, tbl, pk, col, local, local_lamport, "
	    "local_origin, remote, remote_lamport, remote_origin, winner, "
	    "bundle, kind, resolved, ");
	strb_add(&sql, has ? "resolution, resolved_value, resolved_at, " :
	    "NULL, NULL, NULL, ");
	strb_add(&sql, LOGGED_AT);
	strb_add(&sql, " FROM _mule_conflicts c WHERE resolved = 0 OR ?1 "
	    "ORDER BY id");
	if (strb_error(&sql)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = rp_prepare(rp, strb_str(&sql), &st, err)) != 0)
		goto out;
	sqlite3_bind_int(st, 1, all != 0);
	if ((r = rp_rows(rp, st, sizeof(**out), conflict_fill, NULL,
	    conflict_release, &v, n, "read conflicts", err)) == 0)
		*out = v;
out:
	sqlite3_finalize(st);
	strb_release(&sql);
	return r;
}

int
replica_conflict_count(struct replica *rp, uint64_t *n, char *err)
{
	int64_t v;
	int r;

	if ((r = rp_scalar(rp, "SELECT count(*) FROM _mule_conflicts WHERE "
	    "resolved = 0", 0, 0, &v, err)) == 0)
		*n = (uint64_t)v;
	return r;
}

/* ---- SQL literals ---- */

static int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A quoted literal at s (after its opening quote): text, or blob bytes
 * when hex.  Returns the end (after the closing quote) or NULL. */
static const char *
literal_quoted(const char *s, int hex, struct mval *v, uint8_t **mem)
{
	size_t n = 0;
	int hi, lo;

	if ((*mem = malloc(strlen(s) + 1)) == NULL)
		return NULL;
	for (; *s != '\0' && !(*s == '\'' && s[1] != '\''); s++) {
		if (hex) {
			if ((hi = hex_digit(s[0])) < 0 ||
			    (lo = hex_digit(s[1])) < 0)
				return NULL;
			(*mem)[n++] = (uint8_t)(hi << 4 | lo);
			s++;
			continue;
		}
		(*mem)[n++] = (uint8_t)*s;
		s += *s == '\'';	/* '' is one quote */
	}
	if (*s != '\'')
		return NULL;
	v->type = hex ? MVAL_BLOB : MVAL_TEXT;
	v->p = *mem;
	v->n = n;
	return s + 1;
}

/* A number at s: an integer, or a real when it has a point or exponent.
 * Returns its end or NULL (not a number, or out of range). */
static const char *
literal_number(const char *s, struct mval *v)
{
	const char *p = s + (*s == '-' || *s == '+');
	char *end;

	if (!isdigit((unsigned char)*p) && !(*p == '.' &&
	    isdigit((unsigned char)p[1])))
		return NULL;
	while (isdigit((unsigned char)*p))
		p++;
	errno = 0;
	if (*p == '.' || *p == 'e' || *p == 'E') {
		v->type = MVAL_REAL;
		v->f = strtod(s, &end);
	} else {
		v->type = MVAL_INT;
		v->i = strtoll(s, &end, 10);
	}
	return errno != 0 ? NULL : end;
}

/*
 * One SQL literal at *sp (blanks before it skipped): NULL, an integer, a
 * real, 'text' ('' for a quote inside) or x'hex'.  Text and blob bytes go
 * into a new heap block *mem that v->p points into (the caller frees it;
 * NULL for other types).  Advances *sp past it, to the next non-blank.
 * 0, or MULE_EINVAL when there is no literal there.
 */
static int
literal_parse(const char **sp, struct mval *v, uint8_t **mem)
{
	const char *s = *sp;

	memset(v, 0, sizeof(*v));
	*mem = NULL;
	while (isspace((unsigned char)*s))
		s++;
	if (strncasecmp(s, "NULL", 4) == 0 &&
	    !isalnum((unsigned char)s[4]) && s[4] != '_') {
		v->type = MVAL_NULL;
		s += 4;
	} else if (*s == '\'') {
		s = literal_quoted(s + 1, 0, v, mem);
	} else if ((*s == 'x' || *s == 'X') && s[1] == '\'') {
		s = literal_quoted(s + 2, 1, v, mem);
	} else {
		s = literal_number(s, v);
	}
	if (s == NULL)
		return MULE_EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	*sp = s;
	return 0;
}

int
replica_literal_check(const char *s, char *err)
{
	const char *p = s;
	struct mval v;
	uint8_t *mem = NULL;
	int r;

	r = literal_parse(&p, &v, &mem);
	free(mem);
	if (r == 0 && *p == '\0')
		return 0;
	return mule_errf(err, MULE_EINVAL, "%s is not an SQL literal: text "
	    "goes in single quotes ('like this'; in a shell: --value "
	    "\"'like this'\"), numbers as they are (42, -7, 4.5), NULL, or "
	    "a blob as x'00ff'", s);
}

/*
 * The values of a whole row as apply.c recorded it, "(v1, v2, ...)",
 * exactly n of them, into v[n] (their bytes in mem[n], freed by the
 * caller).  0 or MULE_EINVAL.
 */
static int
literal_row(const char *s, uint32_t n, struct mval *v, uint8_t **mem)
{
	uint32_t i;

	while (isspace((unsigned char)*s))
		s++;
	if (*s++ != '(')
		return MULE_EINVAL;
	for (i = 0; i < n; i++) {
		if (literal_parse(&s, &v[i], &mem[i]) != 0 ||
		    *s != (i + 1 < n ? ',' : ')'))
			return MULE_EINVAL;
		s++;
	}
	return *s == '\0' ? 0 : MULE_EINVAL;
}

void
replica_literals_release(struct replica_literals *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; l->mem != NULL && i < l->n; i++)
		free(l->mem[i]);
	free(l->mem);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* One more value at *sp into l (growing it).  0 or a MULE_E* code. */
static int
literals_push(struct replica_literals *l, const char **sp)
{
	struct mval *v;
	uint8_t **m;

	if (l->n >= REPLICA_MAX_LITERALS)
		return MULE_EINVAL;
	if ((v = realloc(l->v, (l->n + 1) * sizeof(*v))) == NULL)
		return MULE_ENOMEM;
	l->v = v;
	if ((m = realloc(l->mem, (l->n + 1) * sizeof(*m))) == NULL)
		return MULE_ENOMEM;
	l->mem = m;
	m[l->n] = NULL;
	l->n++;
	return literal_parse(sp, &v[l->n - 1], &m[l->n - 1]);
}

int
replica_literals_parse(const char *s, int form, struct replica_literals *out)
{
	int r = 0;

	out->form = form;
	while (isspace((unsigned char)*s))
		s++;
	if (form == 2 && *s++ != '(')
		return MULE_EINVAL;
	do {
		if ((r = literals_push(out, &s)) != 0)
			return r;
	} while (form != 0 && *s == ',' && s++ != NULL);
	if (form == 2 && *s++ != ')')
		return MULE_EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	return *s == '\0' ? 0 : MULE_EINVAL;
}

/* ---- resolving ---- */

/*
 * The row of t with key pk as SQL text: column `col` as a literal, or
 * the whole row "(v1, v2, ...)" when col is NULL.  *out is heap, NULL
 * when there is no such row.
 */
static int
current_text(struct replica *rp, const struct replica_table *t,
    const char *col, const struct mval *pk, char **out, char *err)
{
	sqlite3_stmt *st = NULL;
	struct strb sb;
	uint32_t i;
	int s, r;

	*out = NULL;
	strb_init(&sb);
	strb_add(&sb, "SELECT ");
	if (col != NULL) {
		strb_add(&sb, "quote(");
		strb_add_ident(&sb, col);
		strb_add(&sb, ")");
	} else {
		strb_add(&sb, "'('");
		for (i = 0; i < t->ncols; i++) {
			strb_add(&sb, i ? " || ', ' || quote(" : " || quote(");
			strb_add_ident(&sb, t->cols[i]);
			strb_add(&sb, ")");
		}
		strb_add(&sb, " || ')'");
	}
	strb_add(&sb, " FROM ");
	strb_add_ident(&sb, t->name);
	strb_add(&sb, " WHERE ");
	sql_pk_where(&sb, t, 1);
	if (strb_error(&sb)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = rp_prepare(rp, strb_str(&sb), &st, err)) != 0)
		goto out;
	for (i = 0; i < t->npk; i++)
		mval_bind(st, (int)i + 1, &pk[i]);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW && (*out = strdup((const char *)
	    sqlite3_column_text(st, 0))) == NULL)
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
	else if (s != SQLITE_ROW && s != SQLITE_DONE)
		r = rp_dberr(rp, s, err, t->name);
out:
	sqlite3_finalize(st);
	strb_release(&sb);
	return r;
}

/* Writes v into column col of the row of t with key pk; *changed 0 when
 * there is no such row. */
static int
cell_write(struct replica *rp, const struct replica_table *t,
    const char *col, const struct mval *pk, const struct mval *v,
    int *changed, char *err)
{
	sqlite3_stmt *st = NULL;
	struct strb sb;
	uint32_t i;
	int s, r;

	strb_init(&sb);
	strb_add(&sb, "UPDATE ");
	strb_add_ident(&sb, t->name);
	strb_add(&sb, " SET ");
	strb_add_ident(&sb, col);
	strb_add(&sb, " = ?1 WHERE ");
	sql_pk_where(&sb, t, 2);
	if (strb_error(&sb))
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
	else if ((r = rp_prepare(rp, strb_str(&sb), &st, err)) == 0) {
		mval_bind(st, 1, v);
		for (i = 0; i < t->npk; i++)
			mval_bind(st, (int)i + 2, &pk[i]);
		if ((s = sqlite3_step(st)) != SQLITE_DONE)
			r = rp_dberr(rp, s, err, t->name);
		*changed = sqlite3_changes(rp->db) > 0;
	}
	sqlite3_finalize(st);
	strb_release(&sb);
	return r;
}

/* Inserts a row of t from its recorded text "(v1, v2, ...)". */
static int
row_insert(struct replica *rp, const struct replica_table *t,
    const char *text, int64_t id, char *err)
{
	sqlite3_stmt *st = NULL;
	struct mval *v = calloc(t->ncols, sizeof(*v));
	uint8_t **mem = calloc(t->ncols, sizeof(*mem));
	struct strb sb;
	uint32_t i;
	int s, r = MULE_EINTERNAL;

	strb_init(&sb);
	if (v == NULL || mem == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if (literal_row(text, t->ncols, v, mem) != 0) {
		r = mule_errf(err, MULE_ESCHEMA, "conflict #%lld: the deleted "
		    "row cannot be re-created from what was recorded of it "
		    "(%s: a large value, or the table changed since); "
		    "re-create it by hand, then resolve with --keep remote",
		    (long long)id, text);
		goto out;
	}
	strb_add(&sb, "INSERT INTO ");
	strb_add_ident(&sb, t->name);
	strb_add(&sb, "(");
	sql_cols(&sb, t);
	strb_add(&sb, ") VALUES (");
	for (i = 0; i < t->ncols; i++)
		strb_addf(&sb, "%s?%u", i ? ", " : "", i + 1);
	strb_add(&sb, ")");
	if (strb_error(&sb)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = rp_prepare(rp, strb_str(&sb), &st, err)) != 0)
		goto out;
	for (i = 0; i < t->ncols; i++)
		mval_bind(st, (int)i + 1, &v[i]);
	if ((s = sqlite3_step(st)) != SQLITE_DONE) {
		r = rp_dberr(rp, s, err, t->name);
		goto out;
	}
	r = 0;
out:
	for (i = 0; mem != NULL && i < t->ncols; i++)
		free(mem[i]);
	free(mem);
	free(v);
	sqlite3_finalize(st);
	strb_release(&sb);
	return r;
}

/* The columns of the conflict's row in _mule_conflicts (resolve_get). */
enum { K_TBL, K_PKEY, K_COL, K_WINNER, K_LOCAL_V, K_REMOTE_V, K_RESOLVED,
	K_KIND, K_LOCAL, K_REMOTE, K_PK };

/*
 * A whole-row conflict: keeping the winner changes nothing (the row is
 * as it won); keeping the local side of an edit lost to a deletion
 * re-creates the row as recorded, a new change.  `was` is the row now
 * (NULL: gone).
 */
static int
resolve_row(struct replica *rp, const struct replica_table *t,
    sqlite3_stmt *k, int64_t id, const char *keep, const char *was,
    char *err)
{
	const char *winner = (const char *)sqlite3_column_text(k, K_WINNER);
	int kind = sqlite3_column_int(k, K_KIND);

	if (keep == NULL)
		return mule_errf(err, MULE_EINVAL, "conflict #%lld is about a "
		    "whole row (%s): resolve it with --keep local or --keep "
		    "remote, not --value", (long long)id,
		    replica_conflict_kind_name(kind));
	if (strcmp(keep, winner) == 0)
		return 0;
	if (kind != MERGE_CONFLICT_LOST_TO_DELETION)
		return mule_errf(err, MULE_EINVAL, "conflict #%lld (%s) can "
		    "only be resolved with --keep %s (the row stays as it "
		    "is)", (long long)id, replica_conflict_kind_name(kind),
		    winner);
	if (was != NULL)
		return mule_errf(err, MULE_EEXIST, "conflict #%lld: the row "
		    "%s was created again since; edit it by hand, then "
		    "resolve with --keep remote", (long long)id, was);
	return row_insert(rp, t, (const char *)sqlite3_column_text(k,
	    K_LOCAL), id, err);
}

/* One column: the kept side's recorded value, or `value`, written. */
static int
resolve_cell(struct replica *rp, const struct replica_table *t,
    sqlite3_stmt *k, const struct mval *pk, int64_t id, const char *keep,
    const char *value, char *err)
{
	const char *col = (const char *)sqlite3_column_text(k, K_COL);
	const char *remote = (const char *)sqlite3_column_text(k, K_REMOTE);
	const char *p = value;
	struct mval v;
	uint8_t *mem = NULL;
	int changed = 0, r;

	if (value != NULL) {
		if (literal_parse(&p, &v, &mem) != 0 || *p != '\0') {
			r = replica_literal_check(value, err);
			goto out;
		}
	} else if (strcmp(keep, "remote") == 0 &&
	    strcmp(remote, REMOTE_DELETED) == 0) {
		r = 0;	/* a re-created row without that value: as it is */
		goto out;
	} else {
		mval_from_stmt(&v, k, strcmp(keep, "local") == 0 ?
		    K_LOCAL_V : K_REMOTE_V);
	}
	if ((r = cell_write(rp, t, col, pk, &v, &changed, err)) == 0 &&
	    !changed)
		r = mule_errf(err, MULE_ENOTFOUND, "the row of conflict #%lld "
		    "is gone", (long long)id);
out:
	free(mem);
	return r;
}

/* Records how conflict id was resolved ("local", "remote" or "value")
 * and the value it now has. */
static int
resolve_mark(struct replica *rp, int64_t id, const char *how,
    const char *now, char *err)
{
	sqlite3_stmt *st = NULL;
	int s, r;

	if ((r = history_add(rp, err)) != 0 ||
	    (r = rp_prepare(rp, "UPDATE _mule_conflicts SET resolved = 1, "
	    "resolution = ?1, resolved_value = ?2, resolved_at = "
	    "strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?3", &st,
	    err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, how, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	if ((s = sqlite3_step(st)) != SQLITE_DONE)
		r = rp_dberr(rp, s, err, "update conflicts");
	sqlite3_finalize(st);
	return r;
}

/* Reads conflict id into *k (positioned on its row), refusing one that
 * does not exist or is resolved already. */
static int
resolve_get(struct replica *rp, int64_t id, sqlite3_stmt **k, char *err)
{
	int s, r;

	if ((r = rp_prepare(rp, "SELECT tbl, pkey, col, winner, local_v, "
	    "remote_v, resolved, kind, local, remote, pk FROM _mule_conflicts "
	    "WHERE id = ?", k, err)) != 0)
		return r;
	sqlite3_bind_int64(*k, 1, id);
	if ((s = sqlite3_step(*k)) != SQLITE_ROW)
		return s == SQLITE_DONE ? mule_errf(err, MULE_ENOTFOUND,
		    "no conflict #%lld; see 'mule conflicts'", (long long)id) :
		    rp_dberr(rp, s, err, "read conflicts");
	if (sqlite3_column_int(*k, K_RESOLVED) != 0)
		return mule_errf(err, MULE_EINVAL, "conflict #%lld is resolved "
		    "already (see 'mule conflicts --all')", (long long)id);
	return 0;
}

int
replica_conflict_resolve(struct replica *rp, int64_t id, const char *keep,
    const char *value, struct replica_resolution *res, char *err)
{
	struct replica_table *t = NULL;
	sqlite3_stmt *k = NULL;
	struct mval pk[64];
	const char *col;
	int whole, r = MULE_EINTERNAL;

	if ((keep == NULL) == (value == NULL) || (keep != NULL &&
	    strcmp(keep, "local") != 0 && strcmp(keep, "remote") != 0)) {
		r = mule_errf(err, MULE_EINVAL, "resolve keeps local or "
		    "remote, or sets a value");
		goto out;
	}
	if ((r = resolve_get(rp, id, &k, err)) != 0)
		goto out;
	col = (const char *)sqlite3_column_text(k, K_COL);
	whole = strcmp(col, COL_ROW) == 0;
	if ((res->table = strdup((const char *)sqlite3_column_text(k,
	    K_TBL))) == NULL || (res->col = strdup(col)) == NULL ||
	    (res->pk = strdup((const char *)sqlite3_column_text(k,
	    K_PK))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = rp_table_get(rp, res->table, &t, err)) != 0)
		goto out;
	if ((!whole && !rp_col_index(t, col, NULL)) || t->npk > 64 ||
	    pk_decode(sqlite3_column_blob(k, K_PKEY),
	    (size_t)sqlite3_column_bytes(k, K_PKEY), pk, t->npk) != 0) {
		r = mule_errf(err, MULE_ESCHEMA, "conflict #%lld no longer "
		    "matches table %s", (long long)id, t->name);
		goto out;
	}
	if ((r = current_text(rp, t, whole ? NULL : col, pk, &res->was,
	    err)) != 0 ||
	    (r = whole ? resolve_row(rp, t, k, id, keep, res->was, err) :
	    resolve_cell(rp, t, k, pk, id, keep, value, err)) != 0 ||
	    (r = current_text(rp, t, whole ? NULL : col, pk, &res->now,
	    err)) != 0)
		goto out;
	if ((res->was == NULL && (res->was = strdup(REMOTE_DELETED)) == NULL) ||
	    (res->now == NULL && (res->now = strdup(REMOTE_DELETED)) == NULL)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	r = resolve_mark(rp, id, keep != NULL ? keep : "value", res->now, err);
out:
	sqlite3_finalize(k);
	replica_table_free(t);
	return r;
}

int
replica_conflict_current(struct replica *rp, int64_t id, char **now,
    char *err)
{
	struct replica_table *t = NULL;
	sqlite3_stmt *k = NULL;
	struct mval pk[64];
	const char *col;
	int s, r = MULE_EINTERNAL;

	*now = NULL;
	if ((r = rp_prepare(rp, "SELECT tbl, pkey, col FROM _mule_conflicts "
	    "WHERE id = ?", &k, err)) != 0)
		goto out;
	sqlite3_bind_int64(k, 1, id);
	if ((s = sqlite3_step(k)) != SQLITE_ROW) {
		r = s == SQLITE_DONE ? mule_errf(err, MULE_ENOTFOUND, "no "
		    "conflict #%lld", (long long)id) : rp_dberr(rp, s, err,
		    "read conflicts");
		goto out;
	}
	col = (const char *)sqlite3_column_text(k, 2);
	if ((r = rp_table_get(rp, (const char *)sqlite3_column_text(k, 0), &t,
	    err)) != 0)
		goto out;
	if ((strcmp(col, COL_ROW) != 0 && !rp_col_index(t, col, NULL)) ||
	    t->npk > 64 || pk_decode(sqlite3_column_blob(k, 1),
	    (size_t)sqlite3_column_bytes(k, 1), pk, t->npk) != 0) {
		r = mule_errf(err, MULE_ESCHEMA, "conflict #%lld no longer "
		    "matches table %s", (long long)id, t->name);
		goto out;
	}
	if ((r = current_text(rp, t, strcmp(col, COL_ROW) == 0 ? NULL : col,
	    pk, now, err)) == 0 && *now == NULL &&
	    (*now = strdup(REMOTE_DELETED)) == NULL)
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
out:
	sqlite3_finalize(k);
	replica_table_free(t);
	return r;
}

void
replica_resolution_release(struct replica_resolution *res)
{
	if (res == NULL)
		return;
	free(res->table);
	free(res->col);
	free(res->pk);
	free(res->was);
	free(res->now);
	memset(res, 0, sizeof(*res));
}
