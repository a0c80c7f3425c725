/*
 * replica/store/restamp.c — a site restored from a backup moves its own
 * stamps past the ones its lost past used (see store.h,
 * replica_restamp; docs/state.md "Restored sites").
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

/* One state row to write again. */
struct restamped {
	sqlite3_value *pk;	/* a copy (sqlite3_value_dup) */
	int64_t cl;
	uint8_t hash[ROW_HASH_LEN];
	uint8_t *st;
	size_t stlen;
};

static void
restamped_free(struct restamped *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		sqlite3_value_free(v[i].pk);
		free(v[i].st);
	}
	free(v);
}

/* Moves own stamps in (from, to] to `now`; 1 when any moved. */
static int
restamp_row(struct rowstate *rs, int64_t me, uint64_t from, uint64_t to,
    uint64_t now, uint64_t *cells)
{
	uint32_t i;
	int moved = 0;

	if (rs->cl_st.origin == me && rs->cl_st.lamport > from &&
	    rs->cl_st.lamport <= to) {
		rs->cl_st.lamport = now;
		moved = 1;
	}
	for (i = 0; i < rs->ncols; i++)
		if (rs->colst[i].origin == me && rs->colst[i].lamport > from &&
		    rs->colst[i].lamport <= to) {
			rs->colst[i].lamport = now;
			(*cells)++;
			moved = 1;
		}
	return moved;
}

/* Reads the rows of one state table whose own stamps move. */
static int
restamp_read(struct replica *rp, int64_t tid, uint64_t from, uint64_t to,
    uint64_t now, struct restamped **out, size_t *n, uint64_t *cells,
    char *err)
{
	struct restamped *v = NULL, *e;
	struct rp_state_cur cur;
	sqlite3_stmt *st;
	struct rowstate rs;
	size_t cnt = 0;
	void *p;
	int rc, r = MULE_EINTERNAL;

	memset(&rs, 0, sizeof(rs));
	if ((r = rp_state_cur_open(rp, tid, NULL, NULL, &cur, err)) != 0)
		goto out;
	while ((rc = rp_state_cur_step(&cur)) == SQLITE_ROW) {
		st = cur.st;
		rowstate_release(&rs);
		if (sqlite3_column_bytes(st, 2) != ROW_HASH_LEN ||
		    rowstate_decode(&rs, sqlite3_column_blob(st, 3),
		    (size_t)sqlite3_column_bytes(st, 3)) != 0) {
			r = mule_errf(err, MULE_EDB, "damaged state");
			goto out;
		}
		if (!restamp_row(&rs, rp->me, from, to, now, cells))
			continue;
		if ((p = realloc(v, (cnt + 1) * sizeof(*v))) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		v = p;
		e = &v[cnt++];
		memset(e, 0, sizeof(*e));
		e->cl = sqlite3_column_int64(st, 1);
		memcpy(e->hash, sqlite3_column_blob(st, 2), ROW_HASH_LEN);
		if ((e->pk = sqlite3_value_dup(sqlite3_column_value(st,
		    0))) == NULL || rowstate_encode(&rs, &e->st,
		    &e->stlen) != 0) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "read state");
		goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
	r = 0;
out:
	restamped_free(v, cnt);
	rowstate_release(&rs);
	rp_state_cur_close(&cur);
	return r;
}

/* Writes them back, each with a journal entry at `now`. */
static int
restamp_write(struct replica *rp, int64_t tid, const struct restamped *v,
    size_t n, uint64_t now, char *err)
{
	sqlite3_stmt *put = NULL, *jrn = NULL;
	size_t i;
	int rc, r;

	if ((r = rp_prepare_state_put(rp, tid, &put, err)) != 0 ||
	    (r = rp_prepare(rp, "INSERT OR IGNORE INTO _mule_journal(pk, "
	    "lamport, tid) VALUES (?1, ?2, ?3)", &jrn, err)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		sqlite3_bind_value(put, 1, v[i].pk);
		sqlite3_bind_int64(put, 2, v[i].cl);
		sqlite3_bind_blob(put, 3, v[i].hash, ROW_HASH_LEN,
		    SQLITE_STATIC);
		sqlite3_bind_blob(put, 4, v[i].st, (int)v[i].stlen,
		    SQLITE_STATIC);
		sqlite3_bind_value(jrn, 1, v[i].pk);
		sqlite3_bind_int64(jrn, 2, (int64_t)now);
		sqlite3_bind_int64(jrn, 3, tid);
		if ((rc = sqlite3_step(put)) != SQLITE_DONE ||
		    (rc = sqlite3_step(jrn)) != SQLITE_DONE) {
			r = rp_dberr(rp, rc, err, "write state");
			goto out;
		}
		sqlite3_reset(put);
		sqlite3_reset(jrn);
	}
	r = 0;
out:
	sqlite3_finalize(put);
	sqlite3_finalize(jrn);
	return r;
}

int
replica_restamp(struct replica *rp, uint64_t from, uint64_t to,
    uint64_t gap, uint64_t *now, uint64_t *cells, char *err)
{
	struct replica_table **tabs = NULL;
	struct restamped *v = NULL;
	struct vector known;
	uint64_t l;
	size_t i, n = 0, nv = 0;
	int r;

	vector_init(&known);
	*cells = 0;
	if ((r = rp_lamport_get(rp, &l, err)) != 0 ||
	    (r = replica_tables(rp, &tabs, &n, err)) != 0)
		goto out;
	/* Past every counter the lost past may have used. */
	*now = (l > to ? l : to) + (gap > 0 ? gap : 1);
	for (i = 0; i < n && r == 0; i++) {
		if ((r = restamp_read(rp, tabs[i]->tid, from, to, *now, &v, &nv,
		    cells, err)) == 0)
			r = restamp_write(rp, tabs[i]->tid, v, nv, *now, err);
		restamped_free(v, nv);
		v = NULL;
		nv = 0;
	}
	if (r != 0 || (r = rp_lamport_set(rp, *now, err)) != 0 ||
	    (r = replica_known(rp, &known, err)) != 0)
		goto out;
	if (vector_set(&known, rp->site_id, *now) != 0) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	r = rp_vector_put(rp, "", "known", &known, err);
out:
	vector_release(&known);
	replica_tables_free(tabs, n);
	return r;
}
