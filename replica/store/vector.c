/*
 * replica/store/vector.c — version vectors in _mule_vectors.  Our own vector is
 * stored under peer '' and kind 'known'; per peer, kinds 'sent',
 * 'acked' and 'ref' (the reference, replica_peer_ref).  Origins are
 * stored by their _mule_origins index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hex.h"
#include "replica/internal.h"

int
rp_vector_rows(struct replica *rp, sqlite3_stmt *st, struct vector *out,
    char *err)
{
	struct vector v;
	int rc, r = MULE_EINTERNAL;

	vector_init(&v);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != SITE_ID_LEN)
			continue;
		if (vector_set(&v, sqlite3_column_blob(st, 0),
		    (uint64_t)sqlite3_column_int64(st, 1)) != 0) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "read vectors");
		goto out;
	}
	vector_release(out);
	*out = v;
	vector_init(&v);
	r = 0;
out:
	vector_release(&v);
	return r;
}

int
rp_vector_get(struct replica *rp, const char *peer, const char *kind,
    struct vector *out, char *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = rp_prepare(rp, "SELECT o.site, v.counter FROM _mule_vectors v"
	    " JOIN _mule_origins o ON o.idx = v.origin"
	    " WHERE v.peer = ? AND v.kind = ?", &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	r = rp_vector_rows(rp, st, out, err);
	sqlite3_finalize(st);
	return r;
}

int
rp_vector_put(struct replica *rp, const char *peer, const char *kind,
    const struct vector *v, char *err)
{
	sqlite3_stmt *del = NULL, *ins = NULL;
	int64_t idx;
	size_t i;
	int rc, r = MULE_EINTERNAL;

	if ((r = rp_prepare(rp, "DELETE FROM _mule_vectors WHERE peer = ? AND"
	    " kind = ?", &del, err)) != 0 ||
	    (r = rp_prepare(rp, "INSERT INTO _mule_vectors(peer, kind, origin,"
	    " counter) VALUES (?, ?, ?, ?)", &ins, err)) != 0)
		goto out;
	sqlite3_bind_text(del, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(del, 2, kind, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(del)) != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "write vectors");
		goto out;
	}
	for (i = 0; i < v->n; i++) {
		if ((r = rp_origin_idx(rp, v->e[i].origin, &idx, err)) != 0)
			goto out;
		sqlite3_bind_text(ins, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, kind, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, idx);
		sqlite3_bind_int64(ins, 4, (int64_t)v->e[i].counter);
		if ((rc = sqlite3_step(ins)) != SQLITE_DONE) {
			r = rp_dberr(rp, rc, err, "write vectors");
			goto out;
		}
		sqlite3_reset(ins);
	}
	r = 0;
out:
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	return r;
}

int
replica_known(struct replica *rp, struct vector *out, char *err)
{
	return rp_vector_get(rp, "", "known", out, err);
}

int
replica_peer_vector(struct replica *rp, const char *peer, const char *kind,
    struct vector *out, char *err)
{
	return rp_vector_get(rp, peer, kind, out, err);
}

int
replica_set_peer_vector(struct replica *rp, const char *peer,
    const char *kind, const struct vector *v, char *err)
{
	return rp_vector_put(rp, peer, kind, v, err);
}

/* The "_ref" property: "SEQ IDHEX". */
#define REF_KEY "_ref"

int
replica_peer_ref(struct replica *rp, const char *peer, int64_t *seq,
    uint8_t id[16], struct vector *top, char *err)
{
	char *s = NULL, hx[33];
	long long n;
	int r;

	*seq = 0;
	vector_release(top);
	if ((r = replica_peer_prop(rp, peer, REF_KEY, &s, err)) != 0 ||
	    s == NULL)
		goto out;
	/* Anything else is no reference: the next bundle goes in full. */
	if (sscanf(s, "%lld %32s", &n, hx) != 2 || n <= 0 ||
	    strlen(hx) != 32 || hex_decode(id, hx, 16) != 0)
		goto out;
	if ((r = rp_vector_get(rp, peer, "ref", top, err)) == 0)
		*seq = n;
out:
	free(s);
	return r;
}

int
replica_set_peer_ref(struct replica *rp, const char *peer, int64_t seq,
    const uint8_t id[16], const struct vector *top, char *err)
{
	struct vector old;
	uint8_t oid[16];
	char val[64], hx[33];
	int64_t have;
	int r;

	vector_init(&old);
	if ((r = replica_peer_ref(rp, peer, &have, oid, &old, err)) != 0 ||
	    have >= seq)
		goto out;
	hex_encode(hx, id, 16);
	snprintf(val, sizeof(val), "%lld %s", (long long)seq, hx);
	if ((r = rp_vector_put(rp, peer, "ref", top, err)) == 0)
		r = replica_peer_set(rp, peer, REF_KEY, val, err);
out:
	vector_release(&old);
	return r;
}

int
replica_drop_peer_refs(struct replica *rp, char *err)
{
	int r;

	if ((r = rp_exec(rp, "DELETE FROM _mule_vectors WHERE kind = 'ref'",
	    err)) == 0)
		r = rp_exec(rp, "DELETE FROM _mule_peer_props WHERE key = '"
		    REF_KEY "'", err);
	return r;
}

int
replica_begin(struct replica *rp, char *err)
{
	int r;

	if ((r = rp_begin(rp, err)) != 0)
		return r;
	/* Digests follow every write of the state (replica/store/digest.c). */
	if ((r = rp_digest_begin(rp, err)) != 0)
		rp_rollback(rp);
	return r;
}

int
replica_commit(struct replica *rp, char *err)
{
	return rp_commit(rp, err);
}

void
replica_rollback(struct replica *rp)
{
	rp_rollback(rp);
}
