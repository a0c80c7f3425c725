/*
 * replica/store/digest.c — content digests of tracked tables and the
 * reconciliation queue (docs/state.md "Digests and reconciliation").
 *
 * The digest of a table is (n, sum): the rows alive in its state and the
 * sum, modulo 2^128, of their 16-byte row hashes read as little-endian
 * integers.  Addition is order-independent and can be undone, so the
 * digest follows every write of the state, inside the same transaction,
 * kept by the code that writes: each writer of the effective state knows
 * the row it replaces (rp_state_put's caller read it, a deletion returns
 * it) and notes the change in memory (rp_digest_note), added to
 * _mule_digests once (rp_digest_flush) before anything reads them,
 * before COMMIT and before a SAVEPOINT, forgotten on ROLLBACK (TO).  The
 * other writes leave the effective state as it was: a fold copies the
 * overlay into main, and pruning deletes only tombstones no overlay row
 * hides.  A table without a row in _mule_digests (new, or a replica older
 * than digests) gets one computed from its state the first time it is
 * asked for inside a write transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

static const char digest_schema[] =
    "CREATE TABLE IF NOT EXISTS main._mule_digests(tid INTEGER PRIMARY KEY,"
    " n INTEGER NOT NULL, sum BLOB NOT NULL)";

static const char recon_schema[] =
    "CREATE TABLE IF NOT EXISTS main._mule_recon(peer TEXT NOT NULL, "
    "tid INTEGER NOT NULL, kind INTEGER NOT NULL, lo, hi)";

/* sum += sign * h (mod 2^128); both little-endian 16-byte integers. */
static void
sum_add(uint8_t sum[REPLICA_DIGEST_LEN], const uint8_t *h, int sign)
{
	unsigned carry = 0, x;
	int i;

	if (sign == 0)
		return;
	if (sign > 0) {
		for (i = 0; i < REPLICA_DIGEST_LEN; i++) {
			x = (unsigned)sum[i] + h[i] + carry;
			sum[i] = (uint8_t)x;
			carry = x >> 8;
		}
		return;
	}
	for (i = 0; i < REPLICA_DIGEST_LEN; i++) {
		x = (unsigned)sum[i] - h[i] - carry;
		sum[i] = (uint8_t)x;
		carry = (x >> 8) & 1;
	}
}

/*
 * mule_dsum(sum, hash, sign, ...): the sum with each (hash, sign) pair
 * applied: added (1), taken (-1) or left out (0); a hash that is not
 * ROW_HASH_LEN bytes (NULL: no row) is left out.
 */
static void
fn_dsum(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	uint8_t sum[REPLICA_DIGEST_LEN] = { 0 };
	int i;

	if (sqlite3_value_bytes(argv[0]) == REPLICA_DIGEST_LEN)
		memcpy(sum, sqlite3_value_blob(argv[0]), REPLICA_DIGEST_LEN);
	for (i = 1; i + 1 < argc; i += 2)
		if (sqlite3_value_bytes(argv[i]) == ROW_HASH_LEN)
			sum_add(sum, sqlite3_value_blob(argv[i]),
			    sqlite3_value_int(argv[i + 1]));
	sqlite3_result_blob(ctx, sum, REPLICA_DIGEST_LEN, SQLITE_TRANSIENT);
}

/* mule_dsum_agg(hash): the sum of the hashes of a query's rows. */
static void
agg_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	uint8_t *sum = sqlite3_aggregate_context(ctx, REPLICA_DIGEST_LEN);

	(void)argc;
	if (sum != NULL && sqlite3_value_bytes(argv[0]) == ROW_HASH_LEN)
		sum_add(sum, sqlite3_value_blob(argv[0]), 1);
}

static void
agg_final(sqlite3_context *ctx)
{
	uint8_t zero[REPLICA_DIGEST_LEN] = { 0 };
	uint8_t *sum = sqlite3_aggregate_context(ctx, 0);

	sqlite3_result_blob(ctx, sum != NULL ? sum : zero, REPLICA_DIGEST_LEN,
	    SQLITE_TRANSIENT);
}

static int
digest_functions(struct replica *rp)
{
	sqlite3 *db = rp->db;
	int rc;

	rc = sqlite3_create_function(db, "mule_dsum", -1, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC, NULL, fn_dsum, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "mule_dsum_agg", 1,
		    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL, agg_step,
		    agg_final);
	return rc;
}

int
rp_digest_begin(struct replica *rp, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((rc = digest_functions(rp)) != SQLITE_OK)
		return rp_dberr(rp, rc, err, "digest functions");
	if (!rp_has_table(rp, "_mule_tables"))
		return 0;	/* not a replica yet (replica_init) */
	if ((r = rp_exec(rp, digest_schema, err)) != 0 ||
	    (r = rp_exec(rp, recon_schema, err)) != 0 ||
	    (r = rp_prepare(rp, "SELECT tid, intpk FROM _mule_tables", &st,
	    err)) != 0)
		goto out;
	/* Replicas older than the state overlay get it here. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = rp_overlay_ensure(rp, sqlite3_column_int64(st, 0),
		    sqlite3_column_int(st, 1) != 0, err)) != 0)
			goto out;
	r = rc == SQLITE_DONE ? 0 : rp_dberr(rp, rc, err, "digests");
out:
	sqlite3_finalize(st);
	return r;
}

int
rp_digest_forget(struct replica *rp, int64_t tid, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	if ((r = rp_digest_flush(rp, err)) != 0 ||
	    (r = rp_prepare(rp, "DELETE FROM _mule_digests WHERE tid = ?", &st,
	    err)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, tid);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = rp_dberr(rp, rc, err, "digests");
	sqlite3_finalize(st);
	return r;
}

int
replica_digest_reset(struct replica *rp, char *err)
{
	rp_digest_discard(rp);
	return rp_exec(rp, "DELETE FROM _mule_digests", err);
}

/* Binds a bound of a key range: NULL is open. */
static void
bind_bound(sqlite3_stmt *st, int i, const struct mval *b)
{
	if (b == NULL || b->type == MVAL_NULL)
		sqlite3_bind_null(st, i);
	else
		(void)mval_bind(st, i, b);
}

int
replica_digest_range(struct replica *rp, int64_t tid, const struct mval *lo,
    const struct mval *hi, struct replica_digest *d, char *err)
{
	sqlite3_stmt *st = NULL;
	struct strb sb;
	int rc, r = MULE_EINTERNAL;

	strb_init(&sb);
	strb_add(&sb, "SELECT count(*), mule_dsum_agg(hash) FROM (");
	rp_state_sql(rp, &sb, tid, "pk, cl, hash", "cl % 2 = 1 AND (?1 IS "
	    "NULL OR pk >= ?1) AND (?2 IS NULL OR pk < ?2)");
	strb_add(&sb, ")");
	if (strb_error(&sb)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = rp_prepare(rp, strb_str(&sb), &st, err)) != 0)
		goto out;
	bind_bound(st, 1, lo);
	bind_bound(st, 2, hi);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rp_dberr(rp, rc, err, "digest");
		goto out;
	}
	d->n = (uint64_t)sqlite3_column_int64(st, 0);
	memset(d->sum, 0, sizeof(d->sum));
	if (sqlite3_column_bytes(st, 1) == REPLICA_DIGEST_LEN)
		memcpy(d->sum, sqlite3_column_blob(st, 1), REPLICA_DIGEST_LEN);
	r = 0;
out:
	sqlite3_finalize(st);
	strb_release(&sb);
	return r;
}

int
replica_digest_get(struct replica *rp, int64_t tid, struct replica_digest *d,
    char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r = MULE_EINTERNAL;

	if ((r = rp_digest_flush(rp, err)) != 0 ||
	    (r = rp_prepare(rp, "SELECT n, sum FROM _mule_digests WHERE "
	    "tid = ?", &st, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, tid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) ==
	    REPLICA_DIGEST_LEN) {
		d->n = (uint64_t)sqlite3_column_int64(st, 0);
		memcpy(d->sum, sqlite3_column_blob(st, 1), REPLICA_DIGEST_LEN);
		r = 0;
		goto out;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "digest");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* None yet: from the state, kept from now on by its writers. */
	if ((r = replica_digest_range(rp, tid, NULL, NULL, d, err)) != 0 ||
	    sqlite3_get_autocommit(rp->db))
		goto out;
	if ((r = rp_prepare(rp, "INSERT OR REPLACE INTO _mule_digests(tid, n, "
	    "sum) VALUES (?, ?, ?)", &st, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, tid);
	sqlite3_bind_int64(st, 2, (int64_t)d->n);
	sqlite3_bind_blob(st, 3, d->sum, REPLICA_DIGEST_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "digest");
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

/* ---- what the state's writers changed, until the next flush ---- */

struct rp_dpend {
	int64_t tid;
	int64_t n;
	uint8_t sum[REPLICA_DIGEST_LEN];
};

int
rp_digest_note(struct replica *rp, int64_t tid, const uint8_t *was,
    const uint8_t *now)
{
	struct rp_dpend *e = NULL, *v;
	size_t i, cap;

	for (i = rp->ndpend; i > 0 && e == NULL; i--)
		if (rp->dpend[i - 1].tid == tid)
			e = &rp->dpend[i - 1];
	if (e == NULL) {
		if (rp->ndpend == rp->dpend_cap) {
			cap = rp->dpend_cap ? rp->dpend_cap * 2 : 4;
			if ((v = realloc(rp->dpend, cap * sizeof(*v))) == NULL)
				return MULE_ENOMEM;
			rp->dpend = v;
			rp->dpend_cap = cap;
		}
		e = &rp->dpend[rp->ndpend++];
		memset(e, 0, sizeof(*e));
		e->tid = tid;
	}
	if (was != NULL) {
		e->n--;
		sum_add(e->sum, was, -1);
	}
	if (now != NULL) {
		e->n++;
		sum_add(e->sum, now, 1);
	}
	return 0;
}

int
rp_digest_flush(struct replica *rp, char *err)
{
	static const uint8_t zero[REPLICA_DIGEST_LEN];
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc, r = 0;

	for (i = 0; i < rp->ndpend && r == 0; i++) {
		if (rp->dpend[i].n == 0 && memcmp(rp->dpend[i].sum, zero,
		    sizeof(zero)) == 0)
			continue;
		if (st == NULL && (r = rp_prepare(rp, "UPDATE _mule_digests SET "
		    "n = n + ?2, sum = mule_dsum(sum, ?3, 1) WHERE tid = ?1",
		    &st, err)) != 0)
			break;
		sqlite3_bind_int64(st, 1, rp->dpend[i].tid);
		sqlite3_bind_int64(st, 2, rp->dpend[i].n);
		sqlite3_bind_blob(st, 3, rp->dpend[i].sum, REPLICA_DIGEST_LEN,
		    SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			r = rp_dberr(rp, rc, err, "digest");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (r == 0)
		rp->ndpend = 0;
	return r;
}

void
rp_digest_discard(struct replica *rp)
{
	rp->ndpend = 0;
}

/* ---- key ranges ---- */

static int
bound_copy(struct mval *dst, sqlite3_value *v)
{
	memset(dst, 0, sizeof(*dst));
	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
		dst->type = MVAL_INT;
		dst->i = sqlite3_value_int64(v);
		return 0;
	case SQLITE_BLOB:
		dst->type = MVAL_BLOB;
		dst->n = (size_t)sqlite3_value_bytes(v);
		if ((dst->p = malloc(dst->n ? dst->n : 1)) == NULL)
			return MULE_ENOMEM;
		memcpy((uint8_t *)dst->p, sqlite3_value_blob(v), dst->n);
		return 0;
	default:
		dst->type = MVAL_NULL;
		return 0;
	}
}

int
replica_bound_dup(struct mval *dst, const struct mval *src)
{
	*dst = *src;
	if (src->type != MVAL_BLOB && src->type != MVAL_TEXT)
		return 0;
	if ((dst->p = malloc(src->n ? src->n : 1)) == NULL)
		return MULE_ENOMEM;
	memcpy((uint8_t *)dst->p, src->p, src->n);
	return 0;
}

void
replica_ranges_free(struct replica_range *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		if (v[i].lo.type == MVAL_BLOB || v[i].lo.type == MVAL_TEXT)
			free((void *)v[i].lo.p);
		if (v[i].hi.type == MVAL_BLOB || v[i].hi.type == MVAL_TEXT)
			free((void *)v[i].hi.p);
	}
	free(v);
}

int
replica_digest_split(struct replica *rp, int64_t tid, const struct mval *lo,
    const struct mval *hi, uint64_t rows, uint32_t k,
    struct replica_range **out, size_t *nout, char *err)
{
	struct replica_range *v = NULL;
	sqlite3_stmt *st = NULL;
	struct strb sb;
	size_t n = 0;
	uint64_t i;
	uint32_t j;
	int rc = SQLITE_DONE, r = MULE_EINTERNAL;

	strb_init(&sb);
	if (k < 2 || rows < k)
		k = rows < 2 ? 1 : (uint32_t)rows;
	/*
	 * One walk in key order (the compound's ORDER BY merges the two
	 * ordered scans): piece j starts at the (rows * j / k)th row.  An
	 * OFFSET per piece would walk the range from its start each time.
	 */
	rp_state_sql(rp, &sb, tid, "pk", "cl % 2 = 1 AND (?1 IS NULL OR pk "
	    ">= ?1) AND (?2 IS NULL OR pk < ?2)");
	strb_add(&sb, " ORDER BY 1");
	if (strb_error(&sb) || (v = calloc(k, sizeof(*v))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = rp_prepare(rp, strb_str(&sb), &st, err)) != 0 ||
	    (lo != NULL && (r = replica_bound_dup(&v[0].lo, lo)) != 0))
		goto out;
	n = 1;
	bind_bound(st, 1, lo);
	bind_bound(st, 2, hi);
	for (i = 0, j = 1; j < k && (rc = sqlite3_step(st)) == SQLITE_ROW;
	    i++) {
		if (i != rows * j / k)
			continue;
		if ((r = bound_copy(&v[n - 1].hi, sqlite3_column_value(st,
		    0))) != 0 || (r = replica_bound_dup(&v[n].lo,
		    &v[n - 1].hi)) != 0) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		n++;
		j++;
	}
	if (j < k && rc != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "split a key range");
		goto out;
	}
	if (hi != NULL && (r = replica_bound_dup(&v[n - 1].hi, hi)) != 0)
		goto out;
	*out = v;
	*nout = n;
	v = NULL;
	r = 0;
out:
	if (r == MULE_ENOMEM)
		r = mule_errf(err, r, "out of memory");
	replica_ranges_free(v, n ? n : (v != NULL ? 1 : 0));
	sqlite3_finalize(st);
	strb_release(&sb);
	return r;
}

/* ---- the reconciliation queue ---- */

int
replica_recon_add(struct replica *rp, const char *peer, int64_t tid,
    int kind, const struct mval *lo, const struct mval *hi, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = rp_exec(rp, recon_schema, err)) != 0 ||
	    (r = rp_prepare(rp, "INSERT INTO _mule_recon(peer, tid, kind, lo, "
	    "hi) VALUES (?, ?, ?, ?, ?)", &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, tid);
	sqlite3_bind_int(st, 3, kind);
	bind_bound(st, 4, lo);
	bind_bound(st, 5, hi);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = rp_dberr(rp, rc, err, "reconciliation");
	sqlite3_finalize(st);
	return r;
}

static int
recon_fill(void *arg, sqlite3_stmt *st, void *elem, char *err)
{
	struct replica_recon *e = elem;

	(void)arg;
	e->tid = sqlite3_column_int64(st, 0);
	e->kind = sqlite3_column_int(st, 1);
	if (bound_copy(&e->range.lo, sqlite3_column_value(st, 2)) != 0 ||
	    bound_copy(&e->range.hi, sqlite3_column_value(st, 3)) != 0)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

void
replica_recon_free(struct replica_recon *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		if (v[i].range.lo.type == MVAL_BLOB)
			free((void *)v[i].range.lo.p);
		if (v[i].range.hi.type == MVAL_BLOB)
			free((void *)v[i].range.hi.p);
	}
	free(v);
}

static void
recon_release(void *v, size_t n)
{
	replica_recon_free(v, n);
}

int
replica_recon_list(struct replica *rp, const char *peer,
    struct replica_recon **out, size_t *n, char *err)
{
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	int r;

	*out = NULL;
	*n = 0;
	if (!rp_has_table(rp, "_mule_recon"))
		return 0;
	if ((r = rp_prepare(rp, "SELECT tid, kind, lo, hi FROM _mule_recon "
	    "WHERE peer = ? ORDER BY tid, rowid", &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	r = rp_rows(rp, st, sizeof(struct replica_recon), recon_fill, NULL,
	    recon_release, &v, n, "reconciliation", err);
	sqlite3_finalize(st);
	if (r == 0)
		*out = v;
	return r;
}

int
replica_recon_clear(struct replica *rp, const char *peer, char *err)
{
	if (!rp_has_table(rp, "_mule_recon"))
		return 0;
	return rp_exec_text(rp, "DELETE FROM _mule_recon WHERE peer = ?1",
	    peer, NULL, NULL, "reconciliation", err);
}

/* Rows queued for `peer` in _mule_recon. */
static int
recon_count(struct replica *rp, const char *peer, int64_t *n, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = rp_prepare(rp, "SELECT count(*) FROM _mule_recon WHERE "
	    "peer = ?", &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		r = rp_dberr(rp, rc, err, "reconciliation");
	sqlite3_finalize(st);
	return r;
}

int
replica_recon_state(struct replica *rp, const char *peer, char **differ,
    uint64_t *queued, char *err)
{
	sqlite3_stmt *st = NULL;
	struct strb sb;
	int64_t q = 0;
	int rc, r;

	strb_init(&sb);
	if ((r = rp_prepare(rp, "SELECT substr(key, 9) FROM _mule_peer_props "
	    "WHERE peer = ?1 AND key LIKE '\\_digest:%' ESCAPE '\\' AND "
	    "value = 'differs' ORDER BY key", &st, err)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		strb_add(&sb, sb.len ? ", " : "");
		strb_add(&sb, (const char *)sqlite3_column_text(st, 0));
	}
	if (rc != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "peer settings");
		goto out;
	}
	if (rp_has_table(rp, "_mule_recon") && (r = recon_count(rp, peer,
	    &q, err)) != 0)
		goto out;
	if (strb_error(&sb)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	*differ = sb.len ? strb_detach(&sb) : NULL;
	*queued = (uint64_t)q;
	r = 0;
out:
	sqlite3_finalize(st);
	strb_release(&sb);
	return r;
}
