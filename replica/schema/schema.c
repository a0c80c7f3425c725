/*
 * replica/schema/schema.c — schema text: normalizing, fingerprints, install
 * scripts and generated migrations (see replica/schema.h).
 *
 * A small tokenizer splits a statement into words, quoted identifiers,
 * strings, numbers, blobs and punctuation, dropping whitespace and
 * comments.  The normal form joins the tokens with one space: SQL
 * keywords upper-case, identifiers (bare or quoted in any of SQLite's
 * three styles) lower-case and quoted only when they need it, strings,
 * numbers and blobs verbatim, "IF NOT EXISTS" after CREATE ... dropped.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>
#include <sqlite3.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"
#include "replica/schema.h"

enum tok_kind { TK_WORD, TK_QID, TK_STR, TK_NUM, TK_BLOB, TK_PUNCT };

struct tok {
	int kind;
	size_t at, len;		/* in the source text */
};

struct toks {
	struct tok *v;
	size_t n, cap;
};

/* SQLite's keywords (https://sqlite.org/lang_keywords.html), sorted. */
static const char *const keywords[] = {
	"ABORT", "ACTION", "ADD", "AFTER", "ALL", "ALTER", "ALWAYS",
	"ANALYZE", "AND", "AS", "ASC", "ATTACH", "AUTOINCREMENT", "BEFORE",
	"BEGIN", "BETWEEN", "BY", "CASCADE", "CASE", "CAST", "CHECK",
	"COLLATE", "COLUMN", "COMMIT", "CONFLICT", "CONSTRAINT", "CREATE",
	"CROSS", "CURRENT", "CURRENT_DATE", "CURRENT_TIME",
	"CURRENT_TIMESTAMP", "DATABASE", "DEFAULT", "DEFERRABLE", "DEFERRED",
	"DELETE", "DESC", "DETACH", "DISTINCT", "DO", "DROP", "EACH", "ELSE",
	"END", "ESCAPE", "EXCEPT", "EXCLUDE", "EXCLUSIVE", "EXISTS",
	"EXPLAIN", "FAIL", "FILTER", "FIRST", "FOLLOWING", "FOR", "FOREIGN",
	"FROM", "FULL", "GENERATED", "GLOB", "GROUP", "GROUPS", "HAVING",
	"IF", "IGNORE", "IMMEDIATE", "IN", "INDEX", "INDEXED", "INITIALLY",
	"INNER", "INSERT", "INSTEAD", "INTERSECT", "INTO", "IS", "ISNULL",
	"JOIN", "KEY", "LAST", "LEFT", "LIKE", "LIMIT", "MATCH",
	"MATERIALIZED", "NATURAL", "NO", "NOT", "NOTHING", "NOTNULL", "NULL",
	"NULLS", "OF", "OFFSET", "ON", "OR", "ORDER", "OTHERS", "OUTER",
	"OVER", "PARTITION", "PLAN", "PRAGMA", "PRECEDING", "PRIMARY",
	"QUERY", "RAISE", "RANGE", "RECURSIVE", "REFERENCES", "REGEXP",
	"REINDEX", "RELEASE", "RENAME", "REPLACE", "RESTRICT", "RETURNING",
	"RIGHT", "ROLLBACK", "ROW", "ROWS", "SAVEPOINT", "SELECT", "SET",
	"TABLE", "TEMP", "TEMPORARY", "THEN", "TIES", "TO", "TRANSACTION",
	"TRIGGER", "UNBOUNDED", "UNION", "UNIQUE", "UPDATE", "USING",
	"VACUUM", "VALUES", "VIEW", "VIRTUAL", "WHEN", "WHERE", "WINDOW",
	"WITH", "WITHOUT",
};

static int
kw_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, *(const char *const *)b);
}

/* 1 when the word (any case, n bytes) is a keyword. */
static int
is_keyword(const char *w, size_t n)
{
	char up[32];
	size_t i;

	if (n == 0 || n >= sizeof(up))
		return 0;
	for (i = 0; i < n; i++)
		up[i] = (char)toupper((unsigned char)w[i]);
	up[n] = '\0';
	return bsearch(up, keywords, sizeof(keywords) / sizeof(keywords[0]),
	    sizeof(keywords[0]), kw_cmp) != NULL;
}

static int
word_char(int c, int first)
{
	return isalpha(c) || c == '_' || c >= 0x80 ||
	    (!first && (isdigit(c) || c == '$'));
}

static int
toks_push(struct toks *t, int kind, size_t at, size_t len)
{
	void *p;

	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		if ((p = realloc(t->v, t->cap * sizeof(*t->v))) == NULL)
			return MULE_ENOMEM;
		t->v = p;
	}
	t->v[t->n].kind = kind;
	t->v[t->n].at = at;
	t->v[t->n].len = len;
	t->n++;
	return 0;
}

/* Splits `s` into tokens; comments and whitespace are dropped. */
static int
tokenize(const char *s, struct toks *out, char *err)
{
	static const char *const ops[] = { "->>", "||", "<=", ">=", "<>",
	    "!=", "==", "<<", ">>", "->", NULL };
	size_t i = 0, j, k;
	int r = 0, c;
	char q;

	memset(out, 0, sizeof(*out));
	while (s[i] != '\0' && r == 0) {
		c = (unsigned char)s[i];
		if (isspace(c)) {
			i++;
		} else if (c == '-' && s[i + 1] == '-') {
			while (s[i] != '\0' && s[i] != '\n')
				i++;
		} else if (c == '/' && s[i + 1] == '*') {
			const char *e = strstr(s + i + 2, "*/");
			if (e == NULL) {
				r = MULE_EFORMAT;
				break;
			}
			i = (size_t)(e - s) + 2;
		} else if (c == '\'' || c == '"' || c == '`' || c == '[' ||
		    ((c == 'x' || c == 'X') && s[i + 1] == '\'')) {
			j = i + (c == 'x' || c == 'X');
			q = s[j] == '[' ? ']' : s[j];
			for (k = j + 1;; k++) {
				if (s[k] == '\0')
					break;
				if (s[k] == q) {
					if (q != ']' && s[k + 1] == q) {
						k++;
						continue;
					}
					break;
				}
			}
			if (s[k] == '\0') {
				r = MULE_EFORMAT;
				break;
			}
			r = toks_push(out, j > i ? TK_BLOB : c == '\'' ? TK_STR :
			    TK_QID, i, k + 1 - i);
			i = k + 1;
		} else if (word_char(c, 1)) {
			for (j = i + 1; word_char((unsigned char)s[j], 0); j++)
				;
			r = toks_push(out, TK_WORD, i, j - i);
			i = j;
		} else if (isdigit(c) || (c == '.' &&
		    isdigit((unsigned char)s[i + 1]))) {
			for (j = i + 1; isalnum((unsigned char)s[j]) ||
			    s[j] == '.' || ((s[j] == '+' || s[j] == '-') &&
			    (s[j - 1] == 'e' || s[j - 1] == 'E')); j++)
				;
			r = toks_push(out, TK_NUM, i, j - i);
			i = j;
		} else {
			for (k = 0; ops[k] != NULL; k++)
				if (strncmp(s + i, ops[k], strlen(ops[k])) == 0)
					break;
			j = ops[k] != NULL ? strlen(ops[k]) : 1;
			r = toks_push(out, TK_PUNCT, i, j);
			i += j;
		}
	}
	if (r != 0) {
		free(out->v);
		memset(out, 0, sizeof(*out));
		return r == MULE_EFORMAT ? mule_errf(err, r, "unterminated "
		    "quote or comment in SQL") : mule_errf(err, MULE_ENOMEM,
		    "out of memory");
	}
	return 0;
}

static void
toks_release(struct toks *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* 1 when token i is the word `w` (any case). */
static int
tok_is(const char *s, const struct toks *t, size_t i, const char *w)
{
	return i < t->n && t->v[i].kind == TK_WORD &&
	    t->v[i].len == strlen(w) &&
	    strncasecmp(s + t->v[i].at, w, t->v[i].len) == 0;
}

static int
tok_punct(const char *s, const struct toks *t, size_t i, char c)
{
	return i < t->n && t->v[i].kind == TK_PUNCT && t->v[i].len == 1 &&
	    s[t->v[i].at] == c;
}

/*
 * Appends an identifier token's name, unquoted (quotes undoubled), to sb;
 * `lower` lower-cases ASCII letters.
 */
static void
ident_name(struct strb *sb, const char *s, const struct tok *k, int lower)
{
	size_t i, a = k->at, n = k->len;
	char q = 0, c;

	if (k->kind == TK_QID) {
		q = s[a] == '[' ? ']' : s[a];
		a++;
		n -= 2;
	}
	for (i = 0; i < n; i++) {
		c = s[a + i];
		if (q != 0 && q != ']' && c == q)
			i++;
		strb_addc(sb, lower ? (char)tolower((unsigned char)c) : c);
	}
}

int
rp_sql_names(const char *sql, char ***names, size_t *n, char *err)
{
	struct toks t;
	struct strb sb;
	char **v = NULL;
	size_t i, cnt = 0;
	int r;

	strb_init(&sb);
	if ((r = tokenize(sql, &t, err)) != 0)
		return r;
	for (i = 0; i < t.n && r == 0; i++) {
		if (t.v[i].kind != TK_WORD && t.v[i].kind != TK_QID &&
		    t.v[i].kind != TK_STR)
			continue;
		strb_reset(&sb);
		if (t.v[i].kind == TK_STR) {
			struct tok k = t.v[i];
			k.kind = TK_QID;	/* 'x' may name a table too */
			ident_name(&sb, sql, &k, 1);
		} else
			ident_name(&sb, sql, &t.v[i], 1);
		if (tok_punct(sql, &t, i + 1, '.'))
			strb_addc(&sb, '.');
		if (strb_error(&sb) || strv_push(&v, cnt, strb_str(&sb)) != 0)
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
		else
			cnt++;
	}
	toks_release(&t);
	strb_release(&sb);
	if (r == 0) {
		*names = v;
		*n = cnt;
		v = NULL;
		cnt = 0;
	}
	strv_free(v, cnt);
	return r;
}

/* Appends a normalized identifier: lower-case, quoted when needed. */
static void
add_norm_ident(struct strb *sb, const char *name)
{
	size_t i, n = strlen(name);
	int plain = n > 0 && !is_keyword(name, n) &&
	    word_char((unsigned char)name[0], 1) && (unsigned char)name[0] < 0x80;

	for (i = 1; plain && i < n; i++)
		plain = (isalnum((unsigned char)name[i]) || name[i] == '_');
	if (plain)
		strb_add(sb, name);
	else
		strb_add_ident(sb, name);
}

/* Appends the normal form of token k. */
static void
tok_norm(struct strb *sb, const char *s, const struct tok *k)
{
	struct strb id;
	size_t i;

	switch (k->kind) {
	case TK_WORD:
		if (is_keyword(s + k->at, k->len)) {
			for (i = 0; i < k->len; i++)
				strb_addc(sb, (char)toupper(
				    (unsigned char)s[k->at + i]));
			break;
		}
		/* FALLTHROUGH */
	case TK_QID:
		strb_init(&id);
		ident_name(&id, s, k, 1);
		add_norm_ident(sb, strb_str(&id));
		if (strb_error(&id))
			sb->err = MULE_ENOMEM;
		strb_release(&id);
		break;
	case TK_BLOB:
		strb_addc(sb, 'X');
		for (i = 1; i < k->len; i++)
			strb_addc(sb, (char)tolower(
			    (unsigned char)s[k->at + i]));
		break;
	default:
		strb_addn(sb, s + k->at, k->len);
	}
}

/* Normal form of tokens [a, b) into sb. */
static void
norm_range(struct strb *sb, const char *s, const struct toks *t, size_t a,
    size_t b)
{
	size_t i;

	for (i = a; i < b && i < t->n; i++) {
		if (i > a)
			strb_addc(sb, ' ');
		tok_norm(sb, s, &t->v[i]);
	}
}

/* Index of the TABLE/INDEX/VIEW/TRIGGER word of a CREATE, or t->n. */
static size_t
create_kind_at(const char *s, const struct toks *t)
{
	size_t i;

	if (!tok_is(s, t, 0, "CREATE"))
		return t->n;
	for (i = 1; i < 4 && i < t->n; i++)
		if (tok_is(s, t, i, "TABLE") || tok_is(s, t, i, "INDEX") ||
		    tok_is(s, t, i, "VIEW") || tok_is(s, t, i, "TRIGGER"))
			return i;
	return t->n;
}

int
schema_normalize(const char *sql, char **out, char *err)
{
	struct toks t;
	struct strb sb;
	size_t i, k, skip = (size_t)-1;
	int r;

	if ((r = tokenize(sql, &t, err)) != 0)
		return r;
	strb_init(&sb);
	k = create_kind_at(sql, &t);
	if (k < t.n && tok_is(sql, &t, k + 1, "IF") &&
	    tok_is(sql, &t, k + 2, "NOT") && tok_is(sql, &t, k + 3, "EXISTS"))
		skip = k + 1;
	for (i = 0; i < t.n; i++) {
		if (i == skip) {
			i += 2;
			continue;
		}
		if (sb.len > 0)
			strb_addc(&sb, ' ');
		tok_norm(&sb, sql, &t.v[i]);
	}
	toks_release(&t);
	if (strb_error(&sb)) {
		strb_release(&sb);
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	}
	*out = strb_detach(&sb);
	if (*out == NULL && (*out = strdup("")) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

int
schema_created_tables(const char *sql, char ***names, size_t *n, char *err)
{
	struct toks t;
	struct strb sb;
	char **v = NULL;
	size_t i, k, cnt = 0;
	int r;

	if ((r = tokenize(sql, &t, err)) != 0)
		return r;
	strb_init(&sb);
	for (i = 0; i + 2 < t.n && r == 0; i++) {
		k = t.n;
		if (tok_is(sql, &t, i, "CREATE")) {
			k = i + 1;
			if (tok_is(sql, &t, k, "TEMP") ||
			    tok_is(sql, &t, k, "TEMPORARY"))
				continue;
			if (!tok_is(sql, &t, k, "TABLE"))
				continue;
			k++;
			if (tok_is(sql, &t, k, "IF"))
				k += 3;
		} else if (tok_is(sql, &t, i, "RENAME") &&
		    tok_is(sql, &t, i + 1, "TO") && i >= 2 &&
		    tok_is(sql, &t, i - 2, "TABLE")) {
			k = i + 2;
		}
		if (k >= t.n || (t.v[k].kind != TK_WORD &&
		    t.v[k].kind != TK_QID))
			continue;
		strb_reset(&sb);
		ident_name(&sb, sql, &t.v[k], 0);
		if (strb_error(&sb) || rp_reserved_table(strb_str(&sb)))
			continue;
		if (strv_push(&v, cnt, strb_str(&sb)) != 0) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			break;
		}
		cnt++;
	}
	strb_release(&sb);
	toks_release(&t);
	if (r != 0) {
		strv_free(v, cnt);
		return r;
	}
	*names = v;
	*n = cnt;
	return 0;
}

/* ---- schemas ---- */

void
schema_init(struct schema *s)
{
	memset(s, 0, sizeof(*s));
}

void
schema_release(struct schema *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].name);
		free(s->v[i].tbl);
		free(s->v[i].sql);
		free(s->v[i].norm);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int
type_rank(const char *type)
{
	return strcmp(type, "table") == 0 ? 0 : strcmp(type, "index") == 0 ?
	    1 : strcmp(type, "view") == 0 ? 2 : 3;
}

static int
obj_cmp(const void *a, const void *b)
{
	const struct schema_obj *x = a, *y = b;
	int d = type_rank(x->type) - type_rank(y->type);

	return d != 0 ? d : strcmp(x->norm, y->norm);
}

/*
 * Reads the schema of `db`: tables for which want(arg, name) is 1 (all
 * but sqlite_* and _mule_* when want is NULL), their indexes and
 * triggers, and every view.
 */
int
rp_schema_read(sqlite3 *db, int (*want)(void *, const char *), void *arg,
    struct schema *out, char *err)
{
	struct schema s;
	struct schema_obj *o;
	sqlite3_stmt *st = NULL;
	const char *type, *name, *tbl, *sql;
	void *p;
	int rc, r = MULE_EINTERNAL;

	schema_init(&s);
	rc = sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, sql FROM "
	    "sqlite_schema WHERE sql IS NOT NULL AND type IN ('table', "
	    "'index', 'view', 'trigger') AND tbl_name NOT LIKE 'sqlite\\_%' "
	    "ESCAPE '\\' AND tbl_name NOT LIKE '\\_mule\\_%' ESCAPE '\\' "
	    /* mule's capture triggers (track --triggers) are not the user's */
	    "AND NOT (type = 'trigger' AND name LIKE '\\_mule\\_%' ESCAPE "
	    "'\\') ORDER BY rowid", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		r = mule_errf(err, MULE_EDB, "read schema: %s",
		    sqlite3_errmsg(db));
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		type = (const char *)sqlite3_column_text(st, 0);
		name = (const char *)sqlite3_column_text(st, 1);
		tbl = (const char *)sqlite3_column_text(st, 2);
		sql = (const char *)sqlite3_column_text(st, 3);
		if (strcmp(type, "view") != 0 && want != NULL &&
		    !want(arg, tbl))
			continue;
		if (s.n >= SCHEMA_MAX_OBJECTS) {
			r = mule_errf(err, MULE_ETOOLARGE, "the schema has more "
			    "than %d objects", SCHEMA_MAX_OBJECTS);
			goto out;
		}
		if ((p = realloc(s.v, (s.n + 1) * sizeof(*s.v))) == NULL)
			goto nomem;
		s.v = p;
		o = &s.v[s.n];
		memset(o, 0, sizeof(*o));
		s.n++;
		snprintf(o->type, sizeof(o->type), "%s", type);
		if ((o->name = strdup(name)) == NULL ||
		    (o->tbl = strdup(tbl)) == NULL ||
		    (o->sql = strdup(sql)) == NULL)
			goto nomem;
		if ((r = schema_normalize(sql, &o->norm, err)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = mule_errf(err, MULE_EDB, "read schema: %s",
		    sqlite3_errmsg(db));
		goto out;
	}
	if (s.n > 0)
		qsort(s.v, s.n, sizeof(*s.v), obj_cmp);
	*out = s;
	schema_init(&s);
	r = 0;
	goto out;
nomem:
	r = mule_errf(err, MULE_ENOMEM, "out of memory");
out:
	sqlite3_finalize(st);
	schema_release(&s);
	return r;
}

void
schema_fingerprint(const struct schema *s, uint8_t fpr[SCHEMA_FPR_LEN])
{
	crypto_generichash_state h;
	size_t i;

	crypto_generichash_init(&h, NULL, 0, SCHEMA_FPR_LEN);
	crypto_generichash_update(&h, (const unsigned char *)"mule-schema-1",
	    13);
	for (i = 0; i < s->n; i++) {
		/* Each statement with its terminator: no ambiguity. */
		crypto_generichash_update(&h,
		    (const unsigned char *)s->v[i].norm, strlen(s->v[i].norm));
		crypto_generichash_update(&h, (const unsigned char *)";\n", 2);
	}
	crypto_generichash_final(&h, fpr, SCHEMA_FPR_LEN);
}

int
schema_install_sql(const struct schema *s, char **out, char *err)
{
	static const char *const order[] = { "table", "index", "view",
	    "trigger" };
	struct strb sb;
	size_t i, k;

	strb_init(&sb);
	for (k = 0; k < 4; k++)
		for (i = 0; i < s->n; i++)
			if (strcmp(s->v[i].type, order[k]) == 0)
				strb_addf(&sb, "%s;\n", s->v[i].sql);
	if (strb_error(&sb)) {
		strb_release(&sb);
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	}
	*out = sb.s != NULL ? strb_detach(&sb) : strdup("");
	return *out != NULL ? 0 : mule_errf(err, MULE_ENOMEM, "out of memory");
}

/* Tables named in "-- mule: untrack" lines of a script are excluded. */
struct untracked {
	const char *sql;
};

/* 1 when `table` is named in an untrack line of a->sql. */
static int
in_untrack(const char *sql, const char *table)
{
	const char *p = sql;
	size_t n = strlen(SCHEMA_UNTRACK);
	struct strb sb;
	int yes = 0;

	strb_init(&sb);
	while (!yes && (p = strstr(p, SCHEMA_UNTRACK)) != NULL) {
		p += n;
		strb_reset(&sb);
		strb_add_ident(&sb, table);
		yes = strncmp(p, strb_str(&sb), sb.len) == 0 &&
		    (p[sb.len] == '\n' || p[sb.len] == '\0');
	}
	strb_release(&sb);
	return yes;
}

static int
want_not_untracked(void *arg, const char *table)
{
	const struct untracked *u = arg;

	return !rp_reserved_table(table) &&
	    (u->sql == NULL || !in_untrack(u->sql, table));
}

int
rp_schema_authorizer(void *arg, int action, const char *a1, const char *a2,
    const char *db, const char *trigger)
{
	static const char *const pragmas[] = { "foreign_key_check",
	    "foreign_key_list", "table_info", "table_xinfo", "index_list",
	    "index_info", "index_xinfo", NULL };
	const char *table = NULL;
	size_t i;

	(void)arg;
	(void)db;
	switch (action) {
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
		return SQLITE_DENY;
	case SQLITE_PRAGMA:
		for (i = 0; pragmas[i] != NULL; i++)
			if (a1 != NULL && strcasecmp(a1, pragmas[i]) == 0 &&
			    a2 == NULL)
				return SQLITE_OK;
		return SQLITE_DENY;
	case SQLITE_INSERT:
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
	case SQLITE_CREATE_TABLE:
	case SQLITE_DROP_TABLE:
		table = a1;
		break;
	case SQLITE_ALTER_TABLE:
	case SQLITE_CREATE_INDEX:
	case SQLITE_DROP_INDEX:
	case SQLITE_CREATE_TRIGGER:
	case SQLITE_DROP_TRIGGER:
		table = a2;
		break;
	}
	/* Capture triggers note keys; nobody else makes _mule_ triggers. */
	if (action == SQLITE_INSERT && trigger != NULL &&
	    strncasecmp(trigger, "_mule_cap_", 10) == 0 &&
	    strncasecmp(a1, "_mule_dirty_", 12) == 0)
		return SQLITE_OK;
	if (action == SQLITE_CREATE_TRIGGER && rp_reserved_table(a1))
		return SQLITE_DENY;
	/* mule's own tables, except a rebuild's transient copy. */
	if (table != NULL && strncasecmp(table, "_mule_", 6) == 0 &&
	    strncasecmp(table, "_mule_new_", 10) != 0)
		return SQLITE_DENY;
	return SQLITE_OK;
}

/* An empty in-memory database with `a` and then `b` (may be NULL) run. */
static int
mem_run(const char *a, const char *b, sqlite3 **out, char *err)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int r = MULE_EINTERNAL;

	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		r = mule_errf(err, MULE_ENOMEM, "cannot open an in-memory "
		    "database");
		goto out;
	}
	/* The same setting as for migrations run on replicas. */
	sqlite3_exec(db, "PRAGMA legacy_alter_table = ON", NULL, NULL, NULL);
	sqlite3_set_authorizer(db, rp_schema_authorizer, NULL);
	if (sqlite3_exec(db, a, NULL, NULL, &msg) != SQLITE_OK ||
	    (b != NULL && sqlite3_exec(db, b, NULL, NULL, &msg) !=
	    SQLITE_OK)) {
		r = mule_errf(err, MULE_EMIGRATION, "%s",
		    msg != NULL ? msg : "SQL failed");
		goto out;
	}
	sqlite3_set_authorizer(db, NULL, NULL);
	*out = db;
	db = NULL;
	r = 0;
out:
	sqlite3_free(msg);
	sqlite3_close(db);
	return r;
}

int
schema_from_sql(const char *sql, struct schema *out, char *err)
{
	struct untracked u = { NULL };
	sqlite3 *db = NULL;
	int r;

	if ((r = mem_run(sql, NULL, &db, err)) == 0)
		r = rp_schema_read(db, want_not_untracked, &u, out, err);
	sqlite3_close(db);
	return r;
}

int
rp_want_listed(void *arg, const char *table)
{
	sqlite3_stmt *st = arg;
	int yes;

	sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
	yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return yes;
}

/* The live schema of the tracked tables (see replica/schema.h). */
int
replica_schema_live(struct replica *rp, struct schema *out,
    uint8_t fpr[SCHEMA_FPR_LEN], char *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = rp_prepare(rp, "SELECT 1 FROM _mule_tables WHERE name = ? "
	    "COLLATE NOCASE", &st, err)) != 0)
		return r;
	r = rp_schema_read(rp->db, rp_want_listed, st, out, err);
	sqlite3_finalize(st);
	if (r == 0 && fpr != NULL)
		schema_fingerprint(out, fpr);
	return r;
}

int
schema_from_file(const char *path, struct schema *out, char *err)
{
	struct untracked u = { NULL };
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc, r = MULE_EINTERNAL;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		r = mule_errf(err, MULE_ENOTFOUND, "%s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto out;
	}
	rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL,
	    NULL);
	if (rc != SQLITE_OK) {
		r = mule_errf(err, (rc & 0xff) == SQLITE_NOTADB ? MULE_ENOTDB :
		    MULE_EDB, "%s: %s", path, (rc & 0xff) == SQLITE_NOTADB ?
		    "not a SQLite database" : sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM _mule_tables WHERE name = ?",
	    -1, &st, NULL) == SQLITE_OK)
		r = rp_schema_read(db, rp_want_listed, st, out, err);
	else
		r = rp_schema_read(db, want_not_untracked, &u, out, err);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}

/* ---- generated migrations ---- */

/* A parsed CREATE TABLE. */
struct coldef {
	char *name;		/* lower-cased, unquoted */
	char *orig;		/* unquoted, as written */
	char *norm;		/* normalized definition */
	size_t at, len;		/* definition text in the source */
	int generated;		/* GENERATED ALWAYS AS / AS (...) */
};

struct tabdef {
	size_t ncols;
	struct coldef *cols;
	char *cons;		/* normalized table constraints */
	char *opts;		/* normalized text after the column list */
	size_t name_tok_end;	/* source offset after the name */
};

static void
tabdef_release(struct tabdef *d)
{
	size_t i;

	for (i = 0; i < d->ncols; i++) {
		free(d->cols[i].name);
		free(d->cols[i].orig);
		free(d->cols[i].norm);
	}
	free(d->cols);
	free(d->cons);
	free(d->opts);
	memset(d, 0, sizeof(*d));
}

/* Appends the column defined by tokens [start, end): 0 or MULE_ENOMEM. */
static int
coldef_add(struct tabdef *d, const char *sql, const struct toks *t,
    size_t start, size_t end)
{
	struct coldef *c;
	struct strb sb;
	void *p;

	if ((p = realloc(d->cols, (d->ncols + 1) * sizeof(*d->cols))) == NULL)
		return MULE_ENOMEM;
	d->cols = p;
	c = &d->cols[d->ncols++];
	memset(c, 0, sizeof(*c));
	strb_init(&sb);
	ident_name(&sb, sql, &t->v[start], 1);
	c->name = strb_detach(&sb);
	strb_init(&sb);
	ident_name(&sb, sql, &t->v[start], 0);
	c->orig = strb_detach(&sb);
	strb_init(&sb);
	norm_range(&sb, sql, t, start, end);
	c->norm = strb_detach(&sb);
	if (c->name == NULL || c->orig == NULL || c->norm == NULL)
		return MULE_ENOMEM;
	c->at = t->v[start].at;
	c->len = t->v[end - 1].at + t->v[end - 1].len - c->at;
	c->generated = strstr(c->norm, " AS (") != NULL;
	return 0;
}

/* Parses "CREATE TABLE name (defs) opts"; MULE_EFORMAT when it is not. */
static int
tabdef_parse(const char *sql, struct tabdef *d, char *err)
{
	struct toks t;
	struct strb cons, sb;
	size_t i, start, open, depth = 0, k;
	int r = MULE_EFORMAT;

	memset(d, 0, sizeof(*d));
	strb_init(&cons);
	strb_init(&sb);
	if ((r = tokenize(sql, &t, err)) != 0)
		return r;
	r = MULE_EFORMAT;
	k = create_kind_at(sql, &t);
	for (open = k; open < t.n && !tok_punct(sql, &t, open, '('); open++)
		;
	if (k >= t.n || open >= t.n || open == k + 1) {
		mule_errf(err, r, "cannot parse table definition: %.80s", sql);
		goto out;
	}
	d->name_tok_end = t.v[open - 1].at + t.v[open - 1].len;
	start = open + 1;
	for (i = open + 1; i < t.n; i++) {
		if (tok_punct(sql, &t, i, '(')) {
			depth++;
			continue;
		}
		if (depth > 0 && tok_punct(sql, &t, i, ')')) {
			depth--;
			continue;
		}
		if (depth > 0 || !(tok_punct(sql, &t, i, ',') ||
		    tok_punct(sql, &t, i, ')')))
			continue;
		if (i == start) {
			mule_errf(err, r, "cannot parse table definition: "
			    "%.80s", sql);
			goto out;
		}
		if (tok_is(sql, &t, start, "CONSTRAINT") ||
		    tok_is(sql, &t, start, "PRIMARY") ||
		    tok_is(sql, &t, start, "UNIQUE") ||
		    tok_is(sql, &t, start, "CHECK") ||
		    tok_is(sql, &t, start, "FOREIGN")) {
			if (cons.len > 0)
				strb_add(&cons, " , ");
			norm_range(&cons, sql, &t, start, i);
		} else if (coldef_add(d, sql, &t, start, i) != 0)
			goto nomem;
		start = i + 1;
		if (tok_punct(sql, &t, i, ')'))
			break;
	}
	if (i >= t.n) {
		mule_errf(err, r, "cannot parse table definition: %.80s", sql);
		goto out;
	}
	strb_reset(&sb);
	norm_range(&sb, sql, &t, i + 1, t.n);
	d->opts = sb.s != NULL ? strb_detach(&sb) : strdup("");
	strb_init(&sb);
	d->cons = cons.s != NULL ? strb_detach(&cons) : strdup("");
	strb_init(&cons);
	if (d->opts == NULL || d->cons == NULL)
		goto nomem;
	r = 0;
	goto out;
nomem:
	r = mule_errf(err, MULE_ENOMEM, "out of memory");
out:
	if (r != 0)
		tabdef_release(d);
	toks_release(&t);
	strb_release(&cons);
	strb_release(&sb);
	return r;
}

static const struct schema_obj *
find_obj(const struct schema *s, const char *type, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].type, type) == 0 &&
		    strcasecmp(s->v[i].name, name) == 0)
			return &s->v[i];
	return NULL;
}

static const struct coldef *
find_col(const struct tabdef *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->ncols; i++)
		if (strcmp(d->cols[i].name, name) == 0)
			return &d->cols[i];
	return NULL;
}

/*
 * ALTER statements turning table `o` into `n`, or 1 when ALTER cannot
 * (a rebuild is needed): the kept columns must keep their definitions
 * and order, new columns come last, constraints and options unchanged.
 */
static int
alter_plan(struct strb *sb, const char *table, const struct schema_obj *o,
    const struct schema_obj *n, char *err)
{
	struct tabdef a, b;
	const struct coldef *c;
	size_t i, k = 0;
	int r;

	if ((r = tabdef_parse(o->sql, &a, err)) != 0)
		return r;
	if ((r = tabdef_parse(n->sql, &b, err)) != 0) {
		tabdef_release(&a);
		return r;
	}
	r = 1;
	if (strcmp(a.cons, b.cons) != 0 || strcmp(a.opts, b.opts) != 0)
		goto out;
	/* Kept columns, in order, unchanged; then only new ones. */
	for (i = 0; i < a.ncols; i++) {
		if ((c = find_col(&b, a.cols[i].name)) == NULL)
			continue;
		if (k >= b.ncols || strcmp(b.cols[k].name, a.cols[i].name) != 0 ||
		    strcmp(c->norm, a.cols[i].norm) != 0)
			goto out;
		k++;
	}
	for (i = k; i < b.ncols; i++) {
		if (find_col(&a, b.cols[i].name) != NULL)
			goto out;
		/*
		 * ADD COLUMN refuses, on a table with rows, a default that is
		 * not a constant: a rebuild evaluates it per row.
		 */
		if (strstr(b.cols[i].norm, "DEFAULT (") != NULL ||
		    strstr(b.cols[i].norm, "CURRENT_") != NULL ||
		    b.cols[i].generated)
			goto out;
	}
	for (i = 0; i < a.ncols; i++)
		if (find_col(&b, a.cols[i].name) == NULL) {
			strb_add(sb, "ALTER TABLE ");
			strb_add_ident(sb, table);
			strb_add(sb, " DROP COLUMN ");
			strb_add_ident(sb, a.cols[i].orig);
			strb_add(sb, ";\n");
		}
	for (i = k; i < b.ncols; i++) {
		strb_add(sb, "ALTER TABLE ");
		strb_add_ident(sb, table);
		strb_add(sb, " ADD COLUMN ");
		strb_addn(sb, n->sql + b.cols[i].at, b.cols[i].len);
		strb_add(sb, ";\n");
	}
	r = 0;
out:
	tabdef_release(&a);
	tabdef_release(&b);
	return r;
}

/* The rebuild of `table` from `o` to `n` (docs/design.md §9). */
static int
rebuild_plan(struct strb *sb, const char *table, const struct schema_obj *o,
    const struct schema_obj *n, char *err)
{
	struct tabdef a, b;
	struct strb tmp, cols;
	size_t i, k = 0;
	int r;

	strb_init(&tmp);
	strb_init(&cols);
	if ((r = tabdef_parse(o->sql, &a, err)) != 0)
		return r;
	if ((r = tabdef_parse(n->sql, &b, err)) != 0) {
		tabdef_release(&a);
		return r;
	}
	strb_addf(&tmp, "_mule_new_%s", table);
	for (i = 0; i < b.ncols; i++) {
		const struct coldef *c = find_col(&a, b.cols[i].name);
		if (c == NULL || c->generated || b.cols[i].generated)
			continue;
		if (k++ > 0)
			strb_add(&cols, ", ");
		strb_add_ident(&cols, b.cols[i].orig);
	}
	strb_add(sb, "CREATE TABLE ");
	strb_add_ident(sb, strb_str(&tmp));
	strb_add(sb, n->sql + b.name_tok_end);
	strb_add(sb, ";\n");
	if (k > 0) {
		strb_add(sb, "INSERT INTO ");
		strb_add_ident(sb, strb_str(&tmp));
		strb_addf(sb, "(%s) SELECT %s FROM ", strb_str(&cols),
		    strb_str(&cols));
		strb_add_ident(sb, table);
		strb_add(sb, ";\n");
	}
	strb_add(sb, "DROP TABLE ");
	strb_add_ident(sb, table);
	strb_add(sb, ";\nALTER TABLE ");
	strb_add_ident(sb, strb_str(&tmp));
	strb_add(sb, " RENAME TO ");
	strb_add_ident(sb, table);
	strb_add(sb, ";\n");
	tabdef_release(&a);
	tabdef_release(&b);
	strb_release(&tmp);
	strb_release(&cols);
	return 0;
}

/* "CREATE X IF NOT EXISTS rest": the statement made idempotent. */
static void
add_create(struct strb *sb, const char *sql)
{
	struct toks t;
	size_t k;

	if (tokenize(sql, &t, NULL) != 0) {
		sb->err = MULE_ENOMEM;
		return;
	}
	k = create_kind_at(sql, &t);
	if (k < t.n && !tok_is(sql, &t, k + 1, "IF")) {
		strb_addn(sb, sql, t.v[k].at + t.v[k].len);
		strb_add(sb, " IF NOT EXISTS");
		strb_add(sb, sql + t.v[k].at + t.v[k].len);
	} else {
		strb_add(sb, sql);
	}
	strb_add(sb, ";\n");
	toks_release(&t);
}

/* Whether o's table is being rebuilt (listed in `rebuilt`, "\n"-ended). */
static int
in_list(const char *list, const char *name)
{
	const char *p = list;
	size_t n = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == list || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p += n;
	}
	return 0;
}

/* What the table part of a generated migration decided. */
struct gen_plan {
	struct strb tables;	/* the statements for the tables */
	struct strb rebuilt;	/* names of rebuilt tables, one a line */
	int heavy;		/* a table changed: views and triggers go */
	int anyrebuild;
};

/* Drops, ALTERs or rebuilds changed tables; creates new ones. */
static int
gen_tables(const struct schema *from, const struct schema *to,
    int (*gone)(void *, const char *), void *garg, int force_rebuild,
    struct gen_plan *p, char *err)
{
	const struct schema_obj *o, *n;
	size_t i;
	int r = 0, k;

	for (i = 0; i < from->n && r == 0; i++) {
		o = &from->v[i];
		if (strcmp(o->type, "table") != 0)
			continue;
		n = find_obj(to, "table", o->name);
		if (n == NULL) {
			p->heavy = 1;
			if (gone != NULL && !gone(garg, o->name)) {
				strb_add(&p->tables, SCHEMA_UNTRACK);
				strb_add_ident(&p->tables, o->name);
				strb_add(&p->tables, "\n");
			} else {
				strb_add(&p->tables, "DROP TABLE IF EXISTS ");
				strb_add_ident(&p->tables, o->name);
				strb_add(&p->tables, ";\n");
			}
			continue;
		}
		if (strcmp(o->norm, n->norm) == 0)
			continue;
		p->heavy = 1;
		k = force_rebuild ? 1 : alter_plan(&p->tables, n->name, o, n,
		    err);
		if (k < 0)
			return k;
		if (k == 1) {
			p->anyrebuild = 1;
			strb_addf(&p->rebuilt, "%s\n", o->name);
			r = rebuild_plan(&p->tables, n->name, o, n, err);
		}
	}
	for (i = 0; i < to->n; i++) {
		n = &to->v[i];
		if (strcmp(n->type, "table") == 0 &&
		    find_obj(from, "table", n->name) == NULL)
			add_create(&p->tables, n->sql);
	}
	return r;
}

/* Drops the views, triggers and indexes that change or go. */
static void
gen_drops(const struct schema *from, const struct schema *to,
    const struct gen_plan *p, struct strb *sb)
{
	const struct schema_obj *o, *n;
	size_t i;

	for (i = 0; i < from->n; i++) {
		o = &from->v[i];
		if (strcmp(o->type, "table") == 0)
			continue;
		n = find_obj(to, o->type, o->name);
		if (!(n == NULL || strcmp(n->norm, o->norm) != 0 ||
		    (p->heavy && strcmp(o->type, "index") != 0)))
			continue;
		strb_addf(sb, "DROP %s IF EXISTS ", strcmp(o->type, "index") ==
		    0 ? "INDEX" : strcmp(o->type, "view") == 0 ? "VIEW" :
		    "TRIGGER");
		strb_add_ident(sb, o->name);
		strb_add(sb, ";\n");
	}
}

/* Creates what is new or changed, in install order. */
static void
gen_creates(const struct schema *from, const struct schema *to,
    const struct gen_plan *p, struct strb *sb)
{
	const struct schema_obj *o, *n;
	size_t i;
	int k;

	for (k = 1; k < 4; k++) {
		const char *type = k == 1 ? "index" : k == 2 ? "view" :
		    "trigger";
		for (i = 0; i < to->n; i++) {
			n = &to->v[i];
			if (strcmp(n->type, type) != 0)
				continue;
			o = find_obj(from, n->type, n->name);
			if (o != NULL && strcmp(o->norm, n->norm) == 0 &&
			    !(p->heavy && k > 1) &&
			    !(k == 1 && in_list(strb_str(&p->rebuilt),
			    n->tbl)))
				continue;
			add_create(sb, n->sql);
		}
	}
}

static int
gen(const struct schema *from, const struct schema *to,
    int (*gone)(void *, const char *), void *garg, int force_rebuild,
    struct strb *sb, char *err)
{
	struct gen_plan p;
	int r;

	memset(&p, 0, sizeof(p));
	strb_init(&p.tables);
	strb_init(&p.rebuilt);
	strb_add(sb, SCHEMA_GENERATED "\n");
	/* Table changes first, to know whether views and triggers go. */
	r = gen_tables(from, to, gone, garg, force_rebuild, &p, err);
	gen_drops(from, to, &p, sb);
	strb_add(sb, strb_str(&p.tables));
	gen_creates(from, to, &p, sb);
	if (p.anyrebuild)
		strb_add(sb, "PRAGMA foreign_key_check;\n");
	if (r == 0 && (strb_error(sb) || strb_error(&p.tables) ||
	    strb_error(&p.rebuilt)))
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
	strb_release(&p.tables);
	strb_release(&p.rebuilt);
	return r;
}

/* 0 when running from's install script and `sql` gives to's fingerprint. */
static int
check_migration(const struct schema *from, const struct schema *to,
    const char *sql, char *err)
{
	struct untracked u = { sql };
	struct schema got;
	uint8_t a[SCHEMA_FPR_LEN], b[SCHEMA_FPR_LEN];
	sqlite3 *db = NULL;
	char *inst = NULL;
	int r;

	schema_init(&got);
	if ((r = schema_install_sql(from, &inst, err)) != 0 ||
	    (r = mem_run(inst, sql, &db, err)) != 0 ||
	    (r = rp_schema_read(db, want_not_untracked, &u, &got, err)) != 0)
		goto out;
	schema_fingerprint(&got, a);
	schema_fingerprint(to, b);
	if (memcmp(a, b, sizeof(a)) != 0)
		r = mule_errf(err, MULE_EMIGRATION, "the generated migration "
		    "does not reproduce the new schema");
out:
	schema_release(&got);
	sqlite3_close(db);
	free(inst);
	return r;
}

int
schema_diff(const struct schema *from, const struct schema *to,
    int (*gone)(void *arg, const char *table), void *garg, char **sql,
    char *err)
{
	struct strb sb;
	char e2[MULE_ERRLEN];
	int r, pass;

	strb_init(&sb);
	for (pass = 0; pass < 2; pass++) {
		strb_reset(&sb);
		if ((r = gen(from, to, gone, garg, pass, &sb, err)) != 0)
			goto out;
		if ((r = check_migration(from, to, strb_str(&sb), e2)) == 0)
			break;
	}
	if (r != 0) {
		r = mule_errf(err, MULE_EMIGRATION, "cannot generate a "
		    "migration for this schema change (%s); undo the change "
		    "and make it with 'mule schema record FILE.sql' instead",
		    e2);
		goto out;
	}
	*sql = strb_detach(&sb);
	r = *sql != NULL ? 0 : mule_errf(err, MULE_ENOMEM, "out of memory");
out:
	strb_release(&sb);
	return r;
}
