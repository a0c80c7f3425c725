/* replica/store/notes.c — conflict notes: the conflicts this site logged,
 * told back to the peer whose value won, and those notes recorded there
 * (see store.h, docs/decisions.md "Conflicts at both sites"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

/* The columns of a note, in the order they travel (id is the key). */
static const char *const note_cols[] = {
	"id", "tbl", "pk", "col", "local", "remote", "winner", "kind",
	"local_lamport", "local_origin", "remote_lamport", "remote_origin",
};
enum { N_ID, N_TBL, N_PK, N_COL, N_LOCAL, N_REMOTE, N_WINNER, N_KIND,
	N_LLAMPORT, N_LORIGIN, N_RLAMPORT, N_RORIGIN, N_COLS };

/* Where a site keeps the notes peers sent it. */
static const char notes_schema[] =
    "CREATE TABLE IF NOT EXISTS _mule_conflict_notes("
    " id INTEGER PRIMARY KEY, peer TEXT NOT NULL, their_id INTEGER NOT NULL,"
    " tbl TEXT NOT NULL, pk TEXT NOT NULL, col TEXT NOT NULL,"
    " local TEXT NOT NULL, local_lamport INTEGER, local_origin BLOB,"
    " remote TEXT NOT NULL, remote_lamport INTEGER, remote_origin BLOB,"
    " winner TEXT NOT NULL, kind INTEGER NOT NULL, bundle BLOB NOT NULL,"
    " UNIQUE(peer, their_id))";

int
replica_conflict_count_noted(struct replica *rp, uint64_t *n, char *err)
{
	int64_t v = 0;
	int r;

	*n = 0;
	if (!rp_has_table(rp, "_mule_conflict_notes"))
		return 0;
	if ((r = rp_scalar(rp, "SELECT count(*) FROM _mule_conflict_notes",
	    0, 0, &v, err)) == 0)
		*n = (uint64_t)v;
	return r;
}

/* A text cell of a note: the column's text, or when it is longer than
 * REPLICA_NOTE_MAX_TEXT or holds a NUL byte a stand-in saying how long
 * it is (into sb). */
static void
note_text(struct cell *c, uint32_t col, sqlite3_stmt *st, int i,
    struct strb *sb)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);

	c->col = col;
	c->v.type = MVAL_TEXT;
	if (s == NULL)
		s = (const unsigned char *)"";
	/* The receiver takes no NUL byte in a note's text (note_check). */
	if (n > REPLICA_NOTE_MAX_TEXT || memchr(s, 0, n) != NULL) {
		strb_reset(sb);
		strb_addf(sb, "<value of %zu bytes>", n);
		s = (const unsigned char *)strb_str(sb);
		n = strlen((const char *)s);
	}
	c->v.p = s;
	c->v.n = n;
}

/* An integer or site-id cell of a note. */
static void
note_other(struct cell *c, uint32_t col, sqlite3_stmt *st, int i, int blob)
{
	c->col = col;
	if (blob && sqlite3_column_bytes(st, i) == SITE_ID_LEN) {
		c->v.type = MVAL_BLOB;
		c->v.p = sqlite3_column_blob(st, i);
		c->v.n = SITE_ID_LEN;
	} else if (blob) {
		c->v.type = MVAL_NULL;
	} else {
		c->v.type = MVAL_INT;
		c->v.i = sqlite3_column_int64(st, i);
	}
}

/* One note row to the sink, from the current row of st (id, tbl, pk,
 * col, local, remote, winner, kind, lamports and origins). */
static int
note_row(const struct replica_out_sink *sink, sqlite3_stmt *st)
{
	struct cell cells[N_COLS - 1];
	struct strb big[N_WINNER];
	struct rowchange rc;
	struct mval key;
	uint32_t i;
	int r;

	memset(&rc, 0, sizeof(rc));
	memset(cells, 0, sizeof(cells));
	memset(&key, 0, sizeof(key));
	for (i = 0; i < N_WINNER; i++)
		strb_init(&big[i]);
	key.type = MVAL_INT;
	key.i = sqlite3_column_int64(st, 0);
	for (i = N_TBL; i <= N_WINNER; i++)
		note_text(&cells[i - 1], i, st, (int)i, &big[i - 1]);
	note_other(&cells[N_KIND - 1], N_KIND, st, N_KIND, 0);
	note_other(&cells[N_LLAMPORT - 1], N_LLAMPORT, st, N_LLAMPORT, 0);
	note_other(&cells[N_LORIGIN - 1], N_LORIGIN, st, N_LORIGIN, 1);
	note_other(&cells[N_RLAMPORT - 1], N_RLAMPORT, st, N_RLAMPORT, 0);
	note_other(&cells[N_RORIGIN - 1], N_RORIGIN, st, N_RORIGIN, 1);
	rc.npk = 1;
	rc.pk = &key;
	rc.cl = 1;
	rc.ncells = N_COLS - 1;
	rc.cells = cells;
	r = sink->row(sink->arg, &rc);
	for (i = 0; i < N_WINNER; i++)
		strb_release(&big[i]);
	return r;
}

/* The highest conflict id already told to peer (0: none). */
static int
notes_told(struct replica *rp, const char *peer, int64_t *last, char *err)
{
	char *v = NULL;
	int r;

	*last = 0;
	if ((r = replica_peer_prop(rp, peer, "_noted", &v, err)) == 0 &&
	    v != NULL)
		*last = strtoll(v, NULL, 10);
	free(v);
	return r;
}

int
replica_notes_out(struct replica *rp, const char *peer,
    const struct replica_out_sink *sink, uint64_t *n, char *err)
{
	static uint32_t pkcol = 0;
	struct replica_table t;
	sqlite3_stmt *st = NULL;
	int64_t last = 0;
	char num[32];
	int s, r;

	*n = 0;
	memset(&t, 0, sizeof(t));
	t.name = REPLICA_NOTES_TABLE;
	t.ncols = N_COLS;
	t.cols = (char **)note_cols;
	t.npk = 1;
	t.pkcols = &pkcol;
	/* Logged here from bundles the peer sent, not told to it yet. */
	if ((r = notes_told(rp, peer, &last, err)) != 0 ||
	    (r = rp_prepare(rp, "SELECT id, tbl, pk, col, local, remote, "
	    "winner, kind, local_lamport, local_origin, remote_lamport, "
	    "remote_origin FROM _mule_conflicts WHERE id > ?3 AND bundle IN "
	    "(SELECT bundle FROM _mule_bundles WHERE dir = 'recv' AND "
	    "peer = ?1) ORDER BY id LIMIT ?2", &st, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 3, last);
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, REPLICA_MAX_NOTES);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if ((*n == 0 && (r = sink->table(sink->arg, &t)) != 0) ||
		    (r = note_row(sink, st)) != 0)
			goto out;
		(*n)++;
		last = sqlite3_column_int64(st, 0);
	}
	if (s != SQLITE_DONE) {
		r = rp_dberr(rp, s, err, "read conflicts");
		goto out;
	}
	if (*n > 0) {
		snprintf(num, sizeof(num), "%lld", (long long)last);
		r = replica_peer_set(rp, peer, "_noted", num, err);
	}
out:
	sqlite3_finalize(st);
	return r;
}

int
replica_notes_table(const char *table, uint32_t ncols,
    const char *const *cols, uint32_t npk, const uint32_t *pkcols,
    char *err)
{
	uint32_t i;

	if (strcmp(table, REPLICA_NOTES_TABLE) != 0)
		return 0;
	if (ncols != N_COLS || npk != 1 || pkcols[0] != N_ID)
		return mule_errf(err, MULE_EFORMAT, "the bundle's conflict "
		    "notes have %u columns, not %u", ncols, (unsigned)N_COLS);
	for (i = 0; i < ncols; i++)
		if (strcmp(cols[i], note_cols[i]) != 0)
			return mule_errf(err, MULE_EFORMAT, "the bundle's "
			    "conflict notes: column %u is not %s", i,
			    note_cols[i]);
	return 1;
}

/*
 * The cells of a note row by column (vals[N_COLS], NULL where absent),
 * checked: text columns TEXT of at most REPLICA_NOTE_MAX_TEXT bytes,
 * kind and lamports INTEGER, origins a site id or NULL.
 */
static int
note_check(const struct rowchange *rc, const struct mval **vals, char *err)
{
	const struct mval *v;
	uint32_t i;

	memset(vals, 0, N_COLS * sizeof(*vals));
	if (rc->npk != 1 || rc->pk[0].type != MVAL_INT || rc->cl != 1)
		return mule_errf(err, MULE_EFORMAT, "a conflict note with a "
		    "bad key");
	for (i = 0; i < rc->ncells; i++)
		if (rc->cells[i].col > N_ID && rc->cells[i].col < N_COLS)
			vals[rc->cells[i].col] = &rc->cells[i].v;
	for (i = N_TBL; i < N_COLS; i++) {
		v = vals[i];
		if (i <= N_WINNER && (v == NULL || v->type != MVAL_TEXT ||
		    v->n > REPLICA_NOTE_MAX_TEXT || memchr(v->p, 0, v->n)))
			break;
		if ((i == N_KIND || i == N_LLAMPORT || i == N_RLAMPORT) &&
		    (v == NULL || v->type != MVAL_INT || v->i < 0))
			break;
		if ((i == N_LORIGIN || i == N_RORIGIN) && v != NULL &&
		    v->type != MVAL_NULL && (v->type != MVAL_BLOB ||
		    v->n != SITE_ID_LEN))
			break;
	}
	if (i < N_COLS)
		return mule_errf(err, MULE_EFORMAT, "a conflict note whose %s "
		    "is not what it should be", note_cols[i]);
	if ((vals[N_WINNER]->n != 5 || memcmp(vals[N_WINNER]->p, "local",
	    5) != 0) && (vals[N_WINNER]->n != 6 ||
	    memcmp(vals[N_WINNER]->p, "remote", 6) != 0))
		return mule_errf(err, MULE_EFORMAT, "a conflict note whose "
		    "winner is neither local nor remote");
	return 0;
}

static void
bind_mtext(sqlite3_stmt *st, int i, const struct mval *v)
{
	sqlite3_bind_text(st, i, (const char *)v->p, (int)v->n,
	    SQLITE_STATIC);
}

static void
bind_origin(sqlite3_stmt *st, int i, const struct mval *v)
{
	if (v != NULL && v->type == MVAL_BLOB)
		sqlite3_bind_blob(st, i, v->p, (int)v->n, SQLITE_STATIC);
}

int
replica_note_in(struct replica *rp, const char *peer,
    const uint8_t bundle[16], const struct rowchange *rc, char *err)
{
	const struct mval *v[N_COLS];
	sqlite3_stmt *st = NULL;
	int s, r, lwon;

	if ((r = note_check(rc, v, err)) != 0 ||
	    (r = rp_exec(rp, notes_schema, err)) != 0)
		return r;
	/* Seen from here: the peer's "local" is our "remote". */
	lwon = v[N_WINNER]->n == 5;
	if ((r = rp_prepare(rp, "INSERT OR IGNORE INTO _mule_conflict_notes("
	    "peer, their_id, tbl, pk, col, local, local_lamport, local_origin, "
	    "remote, remote_lamport, remote_origin, winner, kind, bundle) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14)", &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, rc->pk[0].i);
	bind_mtext(st, 3, v[N_TBL]);
	bind_mtext(st, 4, v[N_PK]);
	bind_mtext(st, 5, v[N_COL]);
	bind_mtext(st, 6, v[N_REMOTE]);
	sqlite3_bind_int64(st, 7, v[N_RLAMPORT]->i);
	bind_origin(st, 8, v[N_RORIGIN]);
	bind_mtext(st, 9, v[N_LOCAL]);
	sqlite3_bind_int64(st, 10, v[N_LLAMPORT]->i);
	bind_origin(st, 11, v[N_LORIGIN]);
	sqlite3_bind_text(st, 12, lwon ? "remote" : "local", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 13, v[N_KIND]->i);
	sqlite3_bind_blob(st, 14, bundle, 16, SQLITE_STATIC);
	if ((s = sqlite3_step(st)) != SQLITE_DONE)
		r = rp_dberr(rp, s, err, "record a conflict note");
	sqlite3_finalize(st);
	return r;
}

static int
note_fill(void *arg, sqlite3_stmt *st, void *elem, char *err)
{
	struct replica_conflict *c = elem;
	const unsigned char *t[6];
	int i;

	(void)arg;
	c->id = sqlite3_column_int64(st, 0);
	for (i = 0; i < 6; i++)
		if ((t[i] = sqlite3_column_text(st, i + 1)) == NULL)
			t[i] = (const unsigned char *)"";
	c->logged_by = strdup((const char *)t[0]);
	c->table = strdup((const char *)t[1]);
	c->pk = strdup((const char *)t[2]);
	c->col = strdup((const char *)t[3]);
	c->local = strdup((const char *)t[4]);
	c->remote = strdup((const char *)t[5]);
	c->local_st.lamport = (uint64_t)sqlite3_column_int64(st, 7);
	if (sqlite3_column_bytes(st, 8) == SITE_ID_LEN)
		memcpy(c->local_st.origin, sqlite3_column_blob(st, 8),
		    SITE_ID_LEN);
	c->remote_st.lamport = (uint64_t)sqlite3_column_int64(st, 9);
	if (sqlite3_column_bytes(st, 10) == SITE_ID_LEN)
		memcpy(c->remote_st.origin, sqlite3_column_blob(st, 10),
		    SITE_ID_LEN);
	snprintf(c->winner, sizeof(c->winner), "%s",
	    (const char *)sqlite3_column_text(st, 11));
	c->kind = sqlite3_column_int(st, 12);
	if (sqlite3_column_bytes(st, 13) == 16)
		memcpy(c->bundle, sqlite3_column_blob(st, 13), 16);
	if ((t[0] = sqlite3_column_text(st, 14)) != NULL)
		snprintf(c->logged_at, sizeof(c->logged_at), "%s",
		    (const char *)t[0]);
	if (c->logged_by == NULL || c->table == NULL || c->pk == NULL ||
	    c->col == NULL || c->local == NULL || c->remote == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

static void
note_release(void *v, size_t n)
{
	replica_conflicts_free(v, n);
}

int
replica_conflict_notes(struct replica *rp, struct replica_conflict **out,
    size_t *n, char *err)
{
	sqlite3_stmt *st = NULL;
	void *v;
	int r;

	*out = NULL;
	*n = 0;
	if (!rp_has_table(rp, "_mule_conflict_notes"))
		return 0;
	if ((r = rp_prepare(rp, "SELECT id, peer, tbl, pk, col, local, "
	    "remote, local_lamport, local_origin, remote_lamport, "
	    "remote_origin, winner, kind, bundle, (SELECT strftime("
	    "'%Y-%m-%dT%H:%M:%SZ', b.at) FROM _mule_bundles b WHERE "
	    "b.bundle = n.bundle AND b.dir = 'recv') FROM "
	    "_mule_conflict_notes n ORDER BY id", &st, err)) != 0)
		return r;
	if ((r = rp_rows(rp, st, sizeof(**out), note_fill, NULL,
	    note_release, &v, n, "read conflict notes", err)) == 0)
		*out = v;
	sqlite3_finalize(st);
	return r;
}
