/*
 * bundle/segment.c — rows/NNNN members: one table's column list, an
 * origin table, then the row changes split into streams (row lengths,
 * keys, stamps, cell flags, bases, contexts, row hashes, and one stream of
 * values per column) so that like bytes sit together for zstd; see
 * mule-bundle(5) for the bytes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bundle/internal.h"
#include "core/error.h"

/* ---- header ---- */

void
segment_hdr_release(struct segment_hdr *h)
{
	uint32_t i;

	if (h == NULL)
		return;
	free(h->table);
	if (h->cols != NULL)
		for (i = 0; i < h->ncols; i++)
			free(h->cols[i]);
	free(h->cols);
	free(h->pkcols);
	memset(h, 0, sizeof(*h));
}

int
segment_hdr_copy(struct segment_hdr *dst, const char *table, uint32_t ncols,
    const char *const *cols, uint32_t npk, const uint32_t *pkcols)
{
	struct segment_hdr h;
	uint32_t i;
	int r = MULE_ENOMEM;

	memset(&h, 0, sizeof(h));
	if ((h.table = strdup(table)) == NULL ||
	    (h.cols = calloc(ncols ? ncols : 1, sizeof(*h.cols))) == NULL ||
	    (h.pkcols = calloc(npk ? npk : 1, sizeof(*h.pkcols))) == NULL)
		goto out;
	h.ncols = ncols;
	for (i = 0; i < ncols; i++)
		if ((h.cols[i] = strdup(cols[i])) == NULL)
			goto out;
	h.npk = npk;
	if (npk > 0)
		memcpy(h.pkcols, pkcols, npk * sizeof(*pkcols));
	segment_hdr_release(dst);
	*dst = h;
	memset(&h, 0, sizeof(h));
	r = 0;
out:
	segment_hdr_release(&h);
	return r;
}

int
segment_hdr_equal(const struct segment_hdr *a, const struct segment_hdr *b)
{
	uint32_t i;

	if (strcmp(a->table, b->table) != 0 || a->ncols != b->ncols ||
	    a->npk != b->npk)
		return 0;
	for (i = 0; i < a->ncols; i++)
		if (strcmp(a->cols[i], b->cols[i]) != 0)
			return 0;
	for (i = 0; i < a->npk; i++)
		if (a->pkcols[i] != b->pkcols[i])
			return 0;
	return 1;
}

/* ---- values ---- */

static uint64_t
zigzag(int64_t v)
{
	uint64_t u = (uint64_t)v << 1;

	return v < 0 ? ~u : u;
}

static int64_t
unzigzag(uint64_t u)
{
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static uint64_t
real_bits(double f)
{
	uint64_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static double
bits_real(uint64_t u)
{
	double f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* Checks a value the writer was given; `pk` forbids references. */
static int
value_check(const struct mval *v, int pk, char *err)
{
	switch (v->type) {
	case MVAL_NULL:
	case MVAL_INT:
	case MVAL_REAL:
		return 0;
	case MVAL_TEXT:
	case MVAL_BLOB:
		if (v->n > BUNDLE_MAX_INLINE)
			return mule_errf(err, MULE_ETOOLARGE, "%s value of "
			    "%zu bytes is too large to store inline (limit "
			    "%u)", pk ? "primary key" : "inline", v->n,
			    BUNDLE_MAX_INLINE);
		if (v->n > 0 && v->p == NULL)
			return mule_errf(err, MULE_EINVAL,
			    "value without bytes");
		return 0;
	case MVAL_REF:
		if (pk)
			return mule_errf(err, MULE_EINVAL,
			    "primary key value cannot be a reference");
		if ((v->reftype != MVAL_TEXT && v->reftype != MVAL_BLOB) ||
		    v->n != VALUE_REF_LEN || v->p == NULL)
			return mule_errf(err, MULE_EINVAL,
			    "malformed value reference");
		return 0;
	}
	return mule_errf(err, MULE_EINVAL, "unknown value type %d", v->type);
}

/* ---- delta state ---- */

static int
delta_alloc(struct segment_delta *dl, uint32_t n)
{
	free(dl->prev);
	dl->nprev = 0;
	if ((dl->prev = calloc(n ? n : 1, sizeof(*dl->prev))) == NULL)
		return MULE_ENOMEM;
	dl->nprev = n;
	dl->lamport = 0;
	return 0;
}

static void
delta_reset(struct segment_delta *dl)
{
	if (dl->prev != NULL)
		memset(dl->prev, 0, dl->nprev * sizeof(*dl->prev));
	dl->lamport = 0;
}

/* v - prev as the two's complement difference, zigzagged. */
static uint64_t
delta_put(int64_t *prev, int64_t v)
{
	uint64_t d = (uint64_t)v - (uint64_t)*prev;

	*prev = v;
	return zigzag((int64_t)d);
}

static int64_t
delta_get(int64_t *prev, uint64_t u)
{
	*prev = (int64_t)((uint64_t)*prev + (uint64_t)unzigzag(u));
	return *prev;
}

/* A value: its type, then INT as a delta against *prev (see above). */
static int
value_put(struct buf *b, const struct mval *v, int64_t *prev)
{
	int r;

	if ((r = buf_put_u8(b, (uint8_t)v->type)) != 0)
		return r;
	switch (v->type) {
	case MVAL_INT:
		return buf_put_varint(b, delta_put(prev, v->i));
	case MVAL_REAL:
		return buf_put_u64(b, real_bits(v->f));
	case MVAL_TEXT:
	case MVAL_BLOB:
		return buf_put_str(b, v->p, v->n);
	case MVAL_REF:
		if ((r = buf_put_u8(b, (uint8_t)v->reftype)) != 0)
			return r;
		return buf_put(b, v->p, VALUE_REF_LEN);
	}
	return 0;
}

/* ---- encoder ---- */

void
segment_enc_init(struct segment_enc *e)
{
	memset(e, 0, sizeof(*e));
}

static void
streams_free(struct segment_enc *e)
{
	uint32_t i;

	for (i = 0; e->s != NULL && i < e->ns; i++)
		buf_release(&e->s[i]);
	free(e->s);
	free(e->mark);
	e->s = NULL;
	e->mark = NULL;
	e->ns = 0;
}

void
segment_enc_release(struct segment_enc *e)
{
	if (e == NULL)
		return;
	segment_hdr_release(&e->h);
	streams_free(e);
	free(e->dl.prev);
	free(e->orig);
	free(e->slots);
	memset(e, 0, sizeof(*e));
}

static uint32_t
origin_hash(const uint8_t o[SITE_ID_LEN])
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < SITE_ID_LEN; i++)
		h = (h ^ o[i]) * 16777619u;
	return h;
}

static void
slots_insert(struct segment_enc *e, uint32_t idx)
{
	uint32_t m = e->nslots - 1, s = origin_hash(e->orig[idx]) & m;

	while (e->slots[s] != 0)
		s = (s + 1) & m;
	e->slots[s] = idx + 1;
}

static int
slots_rebuild(struct segment_enc *e, uint32_t nslots)
{
	uint32_t *ns, i;

	if ((ns = calloc(nslots, sizeof(*ns))) == NULL)
		return MULE_ENOMEM;
	free(e->slots);
	e->slots = ns;
	e->nslots = nslots;
	for (i = 0; i < e->norig; i++)
		slots_insert(e, i);
	return 0;
}

static void
origins_reset(struct segment_enc *e)
{
	e->norig = 0;
	if (e->slots != NULL)
		memset(e->slots, 0, e->nslots * sizeof(*e->slots));
}

/* Index of origin o in the segment's table, adding it when new. */
static int
origin_index(struct segment_enc *e, const uint8_t o[SITE_ID_LEN],
    uint32_t *idx)
{
	uint8_t (*no)[SITE_ID_LEN];
	uint32_t m, s, ncap;
	int r;

	if (e->nslots != 0) {
		m = e->nslots - 1;
		for (s = origin_hash(o) & m; e->slots[s] != 0; s = (s + 1) & m)
			if (memcmp(e->orig[e->slots[s] - 1], o,
			    SITE_ID_LEN) == 0) {
				*idx = e->slots[s] - 1;
				return 0;
			}
	}
	if (e->norig == e->origcap) {
		ncap = e->origcap ? e->origcap * 2 : 16;
		if ((no = realloc(e->orig, ncap * sizeof(*no))) == NULL)
			return MULE_ENOMEM;
		e->orig = no;
		e->origcap = ncap;
	}
	if ((e->norig + 1) * 2 > e->nslots &&
	    (r = slots_rebuild(e, e->nslots ? e->nslots * 2 : 64)) != 0)
		return r;
	memcpy(e->orig[e->norig], o, SITE_ID_LEN);
	slots_insert(e, e->norig);
	*idx = e->norig++;
	return 0;
}

/* A stamp: lamport as a delta against the previous stamp, origin index. */
static int
stamp_put(struct segment_enc *e, const struct stamp *st)
{
	struct buf *b = &e->s[SEG_S_STAMPS];
	uint64_t d = st->lamport - e->dl.lamport;
	uint32_t idx;
	int r;

	e->dl.lamport = st->lamport;
	if ((r = origin_index(e, st->origin, &idx)) != 0 ||
	    (r = buf_put_varint(b, zigzag((int64_t)d))) != 0)
		return r;
	return buf_put_varint(b, idx);
}

static size_t
str_len(size_t n)
{
	return buf_varint_len(n) + n;
}

static int
streams_alloc(struct segment_enc *e, uint32_t ncols)
{
	uint32_t i;

	streams_free(e);
	if ((e->s = calloc(SEG_S_VALUES + ncols, sizeof(*e->s))) == NULL ||
	    (e->mark = calloc(SEG_S_VALUES + ncols, sizeof(*e->mark))) ==
	    NULL)
		return MULE_ENOMEM;
	e->ns = SEG_S_VALUES + ncols;
	for (i = 0; i < e->ns; i++)
		buf_init(&e->s[i]);
	return 0;
}

static void
streams_reset(struct segment_enc *e)
{
	uint32_t i;

	for (i = 0; i < e->ns; i++)
		buf_reset(&e->s[i]);
	e->body = 0;
}

/* Validates a table's header: name, columns, key columns. */
static int
hdr_check(const char *table, uint32_t ncols, const char *const *cols,
    uint32_t npk, const uint32_t *pkcols, size_t *hdrsize, char *err)
{
	uint8_t *seen = NULL;
	size_t len;
	uint32_t i;
	int r = MULE_EINTERNAL;

	len = table != NULL ? strlen(table) : 0;
	if (len == 0 || len > BUNDLE_MAX_NAME) {
		r = mule_errf(err, MULE_EINVAL, "table name is empty or "
		    "longer than %d bytes", BUNDLE_MAX_NAME);
		goto out;
	}
	if (ncols == 0 || ncols > BUNDLE_MAX_COLUMNS) {
		r = mule_errf(err, ncols ? MULE_ETOOLARGE : MULE_EINVAL,
		    "table %s has %" PRIu32 " columns (1 to %d allowed)",
		    table, ncols, BUNDLE_MAX_COLUMNS);
		goto out;
	}
	if (npk == 0 || npk > ncols) {
		r = mule_errf(err, MULE_EINVAL, "table %s: %" PRIu32
		    " primary key columns of %" PRIu32, table, npk, ncols);
		goto out;
	}
	*hdrsize = 4 + 1 + 1 + str_len(len) + buf_varint_len(ncols) +
	    buf_varint_len(npk);
	for (i = 0; i < ncols; i++) {
		if (cols[i] == NULL || strlen(cols[i]) > BUNDLE_MAX_NAME) {
			r = mule_errf(err, MULE_EINVAL, "table %s: column %"
			    PRIu32 " has no name or one longer than %d bytes",
			    table, i, BUNDLE_MAX_NAME);
			goto out;
		}
		*hdrsize += str_len(strlen(cols[i]));
	}
	if ((seen = calloc(ncols, 1)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < npk; i++) {
		if (pkcols[i] >= ncols || seen[pkcols[i]]) {
			r = mule_errf(err, MULE_EINVAL, "table %s: bad primary "
			    "key column index %" PRIu32, table, pkcols[i]);
			goto out;
		}
		seen[pkcols[i]] = 1;
		*hdrsize += buf_varint_len(pkcols[i]);
	}
	/* Room for nrows, the origin count and every stream's length. */
	*hdrsize += 10 + 5 + (size_t)(SEG_S_VALUES + ncols) * 4;
	if (*hdrsize > BUNDLE_MAX_SEGMENT) {
		r = mule_errf(err, MULE_ETOOLARGE, "table %s: column list "
		    "does not fit a segment", table);
		goto out;
	}
	r = 0;
out:
	free(seen);
	return r;
}

int
segment_enc_begin(struct segment_enc *e, const char *table, uint32_t ncols,
    const char *const *cols, uint32_t npk, const uint32_t *pkcols,
    char *err)
{
	size_t hdrsize = 0;
	int r = MULE_EINTERNAL;

	if ((r = hdr_check(table, ncols, cols, npk, pkcols, &hdrsize,
	    err)) != 0)
		goto out;
	if ((r = segment_hdr_copy(&e->h, table, ncols, cols, npk,
	    pkcols)) != 0 || (r = streams_alloc(e, ncols)) != 0 ||
	    (r = delta_alloc(&e->dl, npk + ncols)) != 0) {
		r = mule_errf(err, r, "out of memory");
		goto out;
	}
	e->hdrsize = hdrsize;
	e->cont = 0;
	e->stuck = 0;
	e->nrows = 0;
	e->body = 0;
	origins_reset(e);
	r = 0;
out:
	return r;
}

static int
row_check(const struct segment_enc *e, const struct rowchange *rc,
    char *err)
{
	uint32_t i;
	int r;

	if (e->h.table == NULL)
		return mule_errf(err, MULE_EINVAL, "row before any table");
	if (rc->npk != e->h.npk)
		return mule_errf(err, MULE_EINVAL, "table %s: row has %" PRIu32
		    " key values, the key has %" PRIu32 " columns", e->h.table,
		    rc->npk, e->h.npk);
	if (rc->cl == 0)
		return mule_errf(err, MULE_EINVAL,
		    "table %s: causal length 0", e->h.table);
	if (rc->ncells > e->h.ncols)
		return mule_errf(err, MULE_EINVAL, "table %s: row has more "
		    "cells than columns", e->h.table);
	for (i = 0; i < rc->npk; i++)
		if ((r = value_check(&rc->pk[i], 1, err)) != 0)
			return mule_errprefix(err, r, "table %s", e->h.table);
	for (i = 0; i < rc->ncells; i++) {
		if (rc->cells[i].col >= e->h.ncols ||
		    (i > 0 && rc->cells[i].col <= rc->cells[i - 1].col))
			return mule_errf(err, MULE_EINVAL, "table %s: cell "
			    "columns out of range or not ascending",
			    e->h.table);
		if ((r = value_check(&rc->cells[i].v, 0, err)) != 0)
			return mule_errprefix(err, r, "table %s, column %s",
			    e->h.table, e->h.cols[rc->cells[i].col]);
	}
	return 0;
}

/*
 * One cell: the column gap and flags (cells stream), the value (its
 * column's stream) and stamp of a live row, the base, the context.
 * `next` is the column the cell would have without a gap.
 */
static int
cell_put(struct segment_enc *e, const struct cell *c, uint32_t next,
    int alive, int gone)
{
	struct stamp st;
	struct buf *x = &e->s[SEG_S_CTX];
	uint32_t k, idx;
	int r;

	if (c->nctx > CELL_CTX_MAX)
		return MULE_ETOOLARGE;
	if (c->has_base == CELL_BASE_SELF && (!alive || c->st.lamport != 0))
		return MULE_EINVAL;	/* only a baseline value is its own base */
	if (c->has_base == CELL_BASE_ROW && (alive ? c->st.lamport == 0 :
	    !gone))
		return MULE_EINVAL;	/* an edit of a named incarnation only */
	if ((r = buf_put_varint(&e->s[SEG_S_CELLS],
	    ((uint64_t)(c->col - next) << 3) |
	    ((uint64_t)(c->has_base == CELL_BASE_SELF ||
	    c->has_base == CELL_BASE_ROW) << 2) |
	    ((uint64_t)(c->has_base == CELL_BASE_HASH ||
	    c->has_base == CELL_BASE_ROW) << 1) |
	    (c->nctx != 0))) != 0)
		return r;
	if (alive && ((r = value_put(&e->s[SEG_S_VALUES + c->col], &c->v,
	    &e->dl.prev[e->h.npk + c->col])) != 0 ||
	    (r = stamp_put(e, &c->st)) != 0))
		return r;
	if (c->has_base == CELL_BASE_HASH &&
	    (r = buf_put_u32(&e->s[SEG_S_BASES], c->base)) != 0)
		return r;
	if (c->nctx != 0 && (r = buf_put_varint(x, c->nctx)) != 0)
		return r;
	for (k = 0; k < c->nctx; k++) {
		if (c->ctx[k].counter == 0)
			return MULE_EINVAL;
		memcpy(st.origin, c->ctx[k].origin, SITE_ID_LEN);
		if ((r = origin_index(e, st.origin, &idx)) != 0 ||
		    (r = buf_put_varint(x, c->ctx[k].counter)) != 0 ||
		    (r = buf_put_varint(x, idx)) != 0)
			return r;
	}
	return 0;
}

/* 1 when a live row's cells hold a reference (its hash must travel). */
static int
has_ref(const struct rowchange *rc)
{
	uint32_t i;

	for (i = 0; i < rc->ncells; i++)
		if (rc->cells[i].v.type == MVAL_REF)
			return 1;
	return 0;
}

/* Appends the row to the streams (marks taken by the caller). */
static int
row_put(struct segment_enc *e, const struct rowchange *rc)
{
	uint32_t i, next = 0;
	uint64_t full;
	int alive = rc->cl % 2 == 1, r = 0;

	for (i = 0; i < rc->npk && r == 0; i++)
		r = value_put(&e->s[SEG_S_KEYS], &rc->pk[i], &e->dl.prev[i]);
	/*
	 * The full bit: a live row with every column (its hash can be
	 * checked), or a deletion naming the incarnation it deleted.
	 */
	full = alive ? rc->ncells == e->h.ncols : rc->has_gone != 0;
	if (r == 0)
		r = buf_put_varint(&e->s[SEG_S_ROWS], (rc->cl << 1) | full);
	if (r == 0)
		r = buf_put_varint(&e->s[SEG_S_ROWS], rc->ncells);
	if (r == 0)
		r = stamp_put(e, &rc->cl_stamp);
	if (r == 0 && !alive && full)
		r = stamp_put(e, &rc->gone);
	for (i = 0; i < rc->ncells && r == 0; i++) {
		r = cell_put(e, &rc->cells[i], next, alive, !alive && full);
		next = rc->cells[i].col + 1;
	}
	/* The receiver computes the hash of a full row of inline values. */
	if (r == 0 && alive && full && has_ref(rc))
		r = buf_put(&e->s[SEG_S_HASHES], rc->hash, ROW_HASH_LEN);
	return r;
}

/* Cells of the row touch these streams (and their values' columns). */
static const int fixed_streams[] = { SEG_S_ROWS, SEG_S_KEYS, SEG_S_STAMPS,
    SEG_S_CELLS, SEG_S_BASES, SEG_S_CTX, SEG_S_HASHES };
#define NFIXED (sizeof(fixed_streams) / sizeof(fixed_streams[0]))

static void
marks_take(struct segment_enc *e, const struct rowchange *rc)
{
	uint32_t i;

	for (i = 0; i < NFIXED; i++)
		e->mark[fixed_streams[i]] = e->s[fixed_streams[i]].len;
	for (i = 0; i < rc->ncells; i++)
		e->mark[SEG_S_VALUES + rc->cells[i].col] =
		    e->s[SEG_S_VALUES + rc->cells[i].col].len;
}

/* Bytes the row added; with `undo`, truncates the streams back. */
static size_t
marks_diff(struct segment_enc *e, const struct rowchange *rc, int undo)
{
	size_t n = 0, k;
	uint32_t i;

	for (i = 0; i < NFIXED + rc->ncells; i++) {
		k = i < NFIXED ? (size_t)fixed_streams[i] :
		    SEG_S_VALUES + rc->cells[i - NFIXED].col;
		n += e->s[k].len - e->mark[k];
		if (undo)
			e->s[k].len = e->mark[k];
	}
	return n;
}

int
segment_enc_row(struct segment_enc *e, const struct rowchange *rc,
    int *added, char *err)
{
	uint32_t norig0 = e->norig;
	size_t n;
	int r = MULE_EINTERNAL;

	*added = 0;
	if ((r = row_check(e, rc, err)) != 0)
		goto out;
	if (e->stuck) {
		r = 0;
		goto out;
	}
	marks_take(e, rc);
	if ((r = row_put(e, rc)) != 0) {
		r = mule_errf(err, r, "encoding a row of %s: %s", e->h.table,
		    mule_strerror(r));
		goto rollback;
	}
	n = marks_diff(e, rc, 0);
	if (e->hdrsize + (size_t)e->norig * SITE_ID_LEN + e->body + n >
	    BUNDLE_MAX_SEGMENT || e->norig > SEGMENT_MAX_ORIGINS) {
		r = 0;
		goto rollback;
	}
	e->body += n;
	e->nrows++;
	*added = 1;
	r = 0;
	goto out;
rollback:
	marks_diff(e, rc, 1);
	/* The delta state moved: start again empty, or stop here. */
	if (e->nrows == 0)
		delta_reset(&e->dl);
	else
		e->stuck = 1;
	if (e->norig != norig0) {
		e->norig = norig0;
		if (slots_rebuild(e, e->nslots) != 0)
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
	}
out:
	return r;
}

int
segment_enc_header(const struct segment_enc *e, struct buf *out,
    char *err)
{
	uint32_t i;
	int r;

	if ((r = buf_put(out, SEGMENT_MAGIC, 4)) == 0 &&
	    (r = buf_put_u8(out, SEGMENT_VERSION)) == 0 &&
	    (r = buf_put_u8(out, e->cont ? SEGMENT_FLAG_CONT : 0)) == 0 &&
	    (r = buf_put_cstr(out, e->h.table)) == 0)
		r = buf_put_varint(out, e->h.ncols);
	for (i = 0; i < e->h.ncols && r == 0; i++)
		r = buf_put_cstr(out, e->h.cols[i]);
	if (r == 0)
		r = buf_put_varint(out, e->h.npk);
	for (i = 0; i < e->h.npk && r == 0; i++)
		r = buf_put_varint(out, e->h.pkcols[i]);
	if (r == 0)
		r = buf_put_varint(out, e->nrows);
	if (r == 0)
		r = buf_put_varint(out, e->norig);
	if (r == 0 && e->norig > 0)
		r = buf_put(out, e->orig, (size_t)e->norig * SITE_ID_LEN);
	for (i = 0; i < e->ns && r == 0; i++)
		if ((r = buf_put_varint(out, e->s[i].len)) == 0 &&
		    e->s[i].len > 0)
			r = buf_put(out, e->s[i].d, e->s[i].len);
	if (r != 0)
		return mule_errf(err, r, "segment: %s", mule_strerror(r));
	return 0;
}

void
segment_enc_next(struct segment_enc *e)
{
	e->cont = 1;
	e->stuck = 0;
	e->nrows = 0;
	streams_reset(e);
	delta_reset(&e->dl);
	origins_reset(e);
}

/* ---- decoder ---- */

void
segment_dec_init(struct segment_dec *d)
{
	memset(d, 0, sizeof(*d));
}

void
segment_dec_release(struct segment_dec *d)
{
	if (d == NULL)
		return;
	segment_hdr_release(&d->h);
	free(d->s);
	free(d->dl.prev);
	free(d->pk);
	free(d->cells);
	free(d->ctx);
	memset(d, 0, sizeof(*d));
}

static int
dec_err(char *err, int r, const char *what)
{
	return mule_errf(err, r, "segment %s: %s", what, mule_strerror(r));
}

/* Magic, version, flags and table name. */
static int
open_start(struct segment_dec *s, char *err)
{
	uint8_t magic[4], ver, flags;
	int r;

	if ((r = buf_get_bytes(&s->b, magic, 4)) != 0)
		return dec_err(err, r, "magic");
	if (memcmp(magic, SEGMENT_MAGIC, 4) != 0)
		return mule_errf(err, MULE_EFORMAT, "not a row segment (bad "
		    "magic)");
	if ((r = buf_get_u8(&s->b, &ver)) != 0 ||
	    (r = buf_get_u8(&s->b, &flags)) != 0)
		return dec_err(err, r, "header");
	if (ver != SEGMENT_VERSION)
		return mule_errf(err, MULE_EFORMAT, "row segment version %u "
		    "is not supported: this mule reads version %u%s", ver,
		    SEGMENT_VERSION, ver < SEGMENT_VERSION ? " (the bundle "
		    "was made by an older mule; upgrade the sender)" : "");
	if ((flags & ~SEGMENT_FLAG_CONT) != 0)
		return mule_errf(err, MULE_EFORMAT, "row segment has unknown "
		    "flags 0x%02x", flags);
	s->cont = (flags & SEGMENT_FLAG_CONT) != 0;
	if ((r = buf_get_cstr(&s->b, BUNDLE_MAX_NAME, &s->h.table)) != 0)
		return dec_err(err, r, "table name");
	if (s->h.table[0] == '\0')
		return mule_errf(err, MULE_EFORMAT, "segment has an empty "
		    "table name");
	return 0;
}

/* Column names and key columns. */
static int
open_columns(struct segment_dec *s, char *err)
{
	uint8_t *seen = NULL;
	uint64_t v;
	uint32_t i;
	int r = MULE_EINTERNAL;

	if ((r = buf_get_varint_max(&s->b, BUNDLE_MAX_COLUMNS, &v)) != 0) {
		r = dec_err(err, r, "column count");
		goto out;
	}
	if (v == 0) {
		r = mule_errf(err, MULE_EFORMAT, "segment has no columns");
		goto out;
	}
	if ((s->h.cols = calloc((size_t)v, sizeof(*s->h.cols))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	s->h.ncols = (uint32_t)v;
	for (i = 0; i < s->h.ncols; i++)
		if ((r = buf_get_cstr(&s->b, BUNDLE_MAX_NAME,
		    &s->h.cols[i])) != 0) {
			r = dec_err(err, r, "column name");
			goto out;
		}
	if ((r = buf_get_varint_max(&s->b, s->h.ncols, &v)) != 0) {
		r = dec_err(err, r == MULE_ETOOLARGE ? MULE_EFORMAT : r,
		    "key column count");
		goto out;
	}
	if (v == 0) {
		r = mule_errf(err, MULE_EFORMAT, "segment has no key columns");
		goto out;
	}
	s->h.npk = (uint32_t)v;
	if ((s->h.pkcols = calloc(s->h.npk, sizeof(*s->h.pkcols))) == NULL ||
	    (seen = calloc(s->h.ncols, 1)) == NULL ||
	    (s->pk = calloc(s->h.npk, sizeof(*s->pk))) == NULL ||
	    (s->cells = calloc(s->h.ncols, sizeof(*s->cells))) == NULL ||
	    (s->s = calloc(SEG_S_VALUES + s->h.ncols, sizeof(*s->s))) ==
	    NULL || delta_alloc(&s->dl, s->h.npk + s->h.ncols) != 0) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	s->ns = SEG_S_VALUES + s->h.ncols;
	for (i = 0; i < s->h.npk; i++) {
		if ((r = buf_get_varint_max(&s->b, s->h.ncols - 1, &v)) != 0) {
			r = dec_err(err, r == MULE_ETOOLARGE ? MULE_EFORMAT : r,
			    "key column index");
			goto out;
		}
		if (seen[v]) {
			r = mule_errf(err, MULE_EFORMAT, "segment names a key "
			    "column twice");
			goto out;
		}
		seen[v] = 1;
		s->h.pkcols[i] = (uint32_t)v;
	}
	r = 0;
out:
	free(seen);
	return r;
}

/* Row count, origin table, and the streams, which must end the segment. */
static int
open_streams(struct segment_dec *s, char *err)
{
	const uint8_t *p;
	uint64_t v;
	uint32_t i;
	int r;

	if ((r = buf_get_varint(&s->b, &s->nrows)) != 0)
		return dec_err(err, r, "row count");
	if ((r = buf_get_varint_max(&s->b, SEGMENT_MAX_ORIGINS, &v)) != 0)
		return dec_err(err, r == MULE_ETOOLARGE ? MULE_EFORMAT : r,
		    "origin count");
	if (v > buf_avail(&s->b) / SITE_ID_LEN)
		return mule_errf(err, MULE_EFORMAT, "segment claims %" PRIu64
		    " origins in %zu bytes", v, buf_avail(&s->b));
	s->norig = (size_t)v;
	if ((r = buf_get_ptr(&s->b, s->norig * SITE_ID_LEN, &s->orig)) != 0)
		return dec_err(err, r, "origin table");
	for (i = 0; i < s->ns; i++) {
		if ((r = buf_get_varint_max(&s->b, buf_avail(&s->b), &v)) != 0)
			return dec_err(err, r == MULE_ETOOLARGE ? MULE_EFORMAT :
			    r, "stream length");
		if ((r = buf_get_ptr(&s->b, (size_t)v, &p)) != 0)
			return dec_err(err, r, "stream");
		buf_init_ro(&s->s[i], p, (size_t)v);
	}
	if (buf_avail(&s->b) != 0)
		return mule_errf(err, MULE_EFORMAT, "segment has %zu bytes "
		    "after its last stream", buf_avail(&s->b));
	/*
	 * Each row takes at least 2 bytes of the rows stream (causal
	 * length, cell count): refuse counts that cannot fit.
	 */
	if (s->nrows > buf_avail(&s->s[SEG_S_ROWS]) / 2)
		return mule_errf(err, MULE_EFORMAT, "segment claims %" PRIu64
		    " rows in %zu bytes", s->nrows,
		    buf_avail(&s->s[SEG_S_ROWS]));
	return 0;
}

int
segment_dec_open(struct segment_dec *d, const uint8_t *p, size_t n,
    char *err)
{
	struct segment_dec s;
	int r = MULE_EINTERNAL;

	segment_dec_init(&s);
	buf_init_ro(&s.b, p, n);
	if (n > BUNDLE_MAX_SEGMENT) {
		r = mule_errf(err, MULE_ETOOLARGE, "segment larger than %u "
		    "bytes", BUNDLE_MAX_SEGMENT);
		goto out;
	}
	if ((r = open_start(&s, err)) != 0 ||
	    (r = open_columns(&s, err)) != 0 ||
	    (r = open_streams(&s, err)) != 0)
		goto out;
	s.left = s.nrows;
	s.rc.pk = s.pk;
	s.rc.cells = s.cells;
	segment_dec_release(d);
	*d = s;
	segment_dec_init(&s);
	r = 0;
out:
	segment_dec_release(&s);
	return r;
}

static int
value_get(struct buf *b, int pk, int64_t *prev, struct mval *v)
{
	uint8_t tag, rt;
	uint64_t u;
	int r;

	memset(v, 0, sizeof(*v));
	if ((r = buf_get_u8(b, &tag)) != 0)
		return r;
	v->type = tag;
	switch (tag) {
	case MVAL_NULL:
		return 0;
	case MVAL_INT:
		if ((r = buf_get_varint(b, &u)) != 0)
			return r;
		v->i = delta_get(prev, u);
		return 0;
	case MVAL_REAL:
		if ((r = buf_get_u64(b, &u)) != 0)
			return r;
		v->f = bits_real(u);
		return 0;
	case MVAL_TEXT:
	case MVAL_BLOB:
		return buf_get_str(b, BUNDLE_MAX_INLINE, &v->p, &v->n);
	case MVAL_REF:
		if (pk)
			return MULE_EFORMAT;
		if ((r = buf_get_u8(b, &rt)) != 0)
			return r;
		if (rt != MVAL_TEXT && rt != MVAL_BLOB)
			return MULE_EFORMAT;
		v->reftype = rt;
		v->n = VALUE_REF_LEN;
		return buf_get_ptr(b, VALUE_REF_LEN, &v->p);
	}
	return MULE_EFORMAT;
}

/* An origin index of the segment's table. */
static int
origin_get(struct segment_dec *d, struct buf *b, uint8_t o[SITE_ID_LEN])
{
	uint64_t idx;
	int r;

	if ((r = buf_get_varint(b, &idx)) != 0)
		return r;
	/* Numbered as first met: a new origin is the next of the table. */
	if (idx > d->nused || idx >= d->norig)
		return MULE_EFORMAT;
	if (idx == d->nused)
		d->nused++;
	memcpy(o, d->orig + idx * SITE_ID_LEN, SITE_ID_LEN);
	return 0;
}

static int
stamp_get(struct segment_dec *d, struct stamp *st)
{
	struct buf *b = &d->s[SEG_S_STAMPS];
	uint64_t u;
	int r;

	if ((r = buf_get_varint(b, &u)) != 0)
		return r;
	d->dl.lamport += (uint64_t)unzigzag(u);
	st->lamport = d->dl.lamport;
	return origin_get(d, b, st->origin);
}

/* Appends n context entries of one cell to the row's pool. */
static int
ctx_get(struct segment_dec *d, uint64_t n)
{
	struct buf *b = &d->s[SEG_S_CTX];
	struct vec_entry *ne;
	size_t ncap;
	uint64_t k;
	int r;

	/* Each entry takes at least two bytes: refuse counts that cannot fit. */
	if (n > buf_avail(b) / 2)
		return MULE_EFORMAT;
	if (d->nctx + n > d->ctxcap) {
		ncap = d->ctxcap ? d->ctxcap : 16;
		while (ncap < d->nctx + n)
			ncap *= 2;
		if ((ne = realloc(d->ctx, ncap * sizeof(*ne))) == NULL)
			return MULE_ENOMEM;
		d->ctx = ne;
		d->ctxcap = ncap;
	}
	for (k = 0; k < n; k++) {
		if ((r = buf_get_varint(b, &d->ctx[d->nctx].counter)) != 0 ||
		    (r = origin_get(d, b, d->ctx[d->nctx].origin)) != 0)
			return r;
		if (d->ctx[d->nctx].counter == 0)
			return MULE_EFORMAT;
		d->nctx++;
	}
	return 0;
}

/*
 * Cell i of the current row; `alive`: it carries a value and a stamp;
 * `next`: its column without a gap.
 */
static int
cell_get(struct segment_dec *d, uint32_t i, uint32_t next, int alive,
    int gone, const char **what)
{
	struct cell *c = &d->cells[i];
	uint64_t v, n = 0;
	int r;

	memset(c, 0, sizeof(*c));
	*what = "cell column";
	if (next >= d->h.ncols)
		return MULE_EFORMAT;
	if ((r = buf_get_varint_max(&d->s[SEG_S_CELLS],
	    ((uint64_t)(d->h.ncols - next) << 3) - 1, &v)) != 0)
		return r == MULE_ETOOLARGE ? MULE_EFORMAT : r;
	c->col = next + (uint32_t)(v >> 3);
	if ((v & 4) && !alive && ((v & 6) != 6 || !gone))
		return MULE_EFORMAT;	/* a deletion: a row base if named */
	c->has_base = (v & 6) == 6 ? CELL_BASE_ROW : (v & 4) ? CELL_BASE_SELF :
	    (v & 2) ? CELL_BASE_HASH : CELL_BASE_NONE;
	*what = "cell value";
	if (alive && (r = value_get(&d->s[SEG_S_VALUES + c->col], 0,
	    &d->dl.prev[d->h.npk + c->col], &c->v)) != 0)
		return r;
	*what = "cell stamp";
	if (alive && (r = stamp_get(d, &c->st)) != 0)
		return r;
	*what = "cell base";
	if ((c->has_base == CELL_BASE_SELF && c->st.lamport != 0) ||
	    (c->has_base == CELL_BASE_ROW && alive && c->st.lamport == 0))
		return MULE_EFORMAT;
	if (c->has_base == CELL_BASE_HASH &&
	    (r = buf_get_u32(&d->s[SEG_S_BASES], &c->base)) != 0)
		return r;
	if ((v & 1) == 0)
		return 0;
	*what = "cell context";
	if ((r = buf_get_varint_max(&d->s[SEG_S_CTX], CELL_CTX_MAX, &n)) != 0)
		return r == MULE_ETOOLARGE ? MULE_EFORMAT : r;
	if (n == 0)
		return MULE_EFORMAT;
	c->nctx = (uint32_t)n;
	return ctx_get(d, n);
}

/*
 * The row hash of a full row of inline values, as its sender computes it:
 * BLAKE2b-128 over each column's value in order, each as its type byte,
 * then INT and REAL as 8 bytes big-endian (REAL: its IEEE 754 bits), TEXT
 * and BLOB as their length in LEB128 and their bytes (mule-bundle(5)).
 */
static void
row_hash(const struct cell *c, uint32_t n, uint8_t out[ROW_HASH_LEN])
{
	crypto_generichash_state hs;
	uint8_t hdr[16];
	uint64_t x;
	size_t k, len;
	uint32_t i;
	int j;

	crypto_generichash_init(&hs, NULL, 0, ROW_HASH_LEN);
	for (i = 0; i < n; i++) {
		k = 0;
		hdr[k++] = (uint8_t)c[i].v.type;
		if (c[i].v.type == MVAL_INT || c[i].v.type == MVAL_REAL) {
			x = c[i].v.type == MVAL_INT ? (uint64_t)c[i].v.i :
			    real_bits(c[i].v.f);
			for (j = 7; j >= 0; j--)
				hdr[k++] = (uint8_t)(x >> (8 * j));
		} else if (c[i].v.type == MVAL_TEXT ||
		    c[i].v.type == MVAL_BLOB) {
			len = c[i].v.n;
			do {
				hdr[k++] = (uint8_t)((len & 0x7f) |
				    (len >= 0x80 ? 0x80 : 0));
				len >>= 7;
			} while (len != 0);
		}
		crypto_generichash_update(&hs, hdr, k);
		if ((c[i].v.type == MVAL_TEXT || c[i].v.type == MVAL_BLOB) &&
		    c[i].v.n > 0)
			crypto_generichash_update(&hs, c[i].v.p, c[i].v.n);
	}
	crypto_generichash_final(&hs, out, ROW_HASH_LEN);
}

/* After the last row: every stream must have ended exactly. */
static int
dec_end(struct segment_dec *d, char *err)
{
	uint32_t i;

	if (d->nused != d->norig)
		return mule_errf(err, MULE_EFORMAT, "segment names %zu origins "
		    "but uses %zu", d->norig, d->nused);
	for (i = 0; i < d->ns; i++)
		if (buf_avail(&d->s[i]) != 0)
			return mule_errf(err, MULE_EFORMAT, "segment stream %"
			    PRIu32 " has %zu bytes after its last row", i,
			    buf_avail(&d->s[i]));
	return 0;
}

/* The row's cells and, for a full live row, its hash. */
static int
cells_get(struct segment_dec *d, int full, const char **what)
{
	struct rowchange *rc = &d->rc;
	uint32_t i, next = 0;
	uint64_t k;
	int r, alive = rc->cl % 2 == 1;

	d->nctx = 0;
	for (i = 0; i < rc->ncells; i++) {
		if ((r = cell_get(d, i, next, alive, rc->has_gone,
		    what)) != 0)
			return r;
		next = rc->cells[i].col + 1;
	}
	/* The pool is complete: point each cell at its entries. */
	for (i = 0, k = 0; i < rc->ncells; k += rc->cells[i].nctx, i++)
		rc->cells[i].ctx = rc->cells[i].nctx ? d->ctx + k : NULL;
	*what = "row hash";
	memset(rc->hash, 0, ROW_HASH_LEN);
	if (!full || !alive)
		return 0;
	for (i = 0; i < rc->ncells; i++)
		if (rc->cells[i].v.type == MVAL_REF)
			return buf_get_bytes(&d->s[SEG_S_HASHES], rc->hash,
			    ROW_HASH_LEN);
	row_hash(rc->cells, rc->ncells, rc->hash);
	return 0;
}

int
segment_dec_next(struct segment_dec *d, const struct rowchange **out,
    char *err)
{
	struct rowchange *rc = &d->rc;
	struct buf *rows = &d->s[SEG_S_ROWS];
	uint64_t v, rowno = d->nrows - d->left + 1;
	uint32_t i;
	const char *what = "key value";
	int r = MULE_EINTERNAL, full;

	if (d->h.table == NULL) {
		r = mule_errf(err, MULE_EINVAL, "segment not opened");
		goto out;
	}
	if (d->left == 0) {
		if ((r = dec_end(d, err)) == 0)
			*out = NULL;
		goto out;
	}
	rc->npk = d->h.npk;
	for (i = 0; i < d->h.npk; i++)
		if ((r = value_get(&d->s[SEG_S_KEYS], 1, &d->dl.prev[i],
		    &d->pk[i])) != 0)
			goto bad;
	what = "causal length";
	if ((r = buf_get_varint_max(rows, SEGMENT_MAX_CL, &v)) != 0)
		goto bad;
	rc->cl = v >> 1;
	full = (int)(v & 1);
	if (rc->cl == 0) {
		r = MULE_EFORMAT;
		goto bad;
	}
	what = "cell count";
	if ((r = buf_get_varint_max(rows, d->h.ncols, &v)) != 0) {
		if (r == MULE_ETOOLARGE)
			r = MULE_EFORMAT;
		goto bad;
	}
	rc->ncells = (uint32_t)v;
	if (rc->cl % 2 == 1 && full != (rc->ncells == d->h.ncols)) {
		r = MULE_EFORMAT;
		goto bad;
	}
	what = "stamp";
	if ((r = stamp_get(d, &rc->cl_stamp)) != 0)
		goto bad;
	/* In a deletion the bit says that the deleted incarnation follows. */
	rc->has_gone = rc->cl % 2 == 0 && full;
	memset(&rc->gone, 0, sizeof(rc->gone));
	what = "deleted incarnation";
	if (rc->has_gone && (r = stamp_get(d, &rc->gone)) != 0)
		goto bad;
	if ((r = cells_get(d, full, &what)) != 0)
		goto bad;
	d->left--;
	*out = rc;
	r = 0;
	goto out;
bad:
	r = mule_errf(err, r, "table %s, row %" PRIu64 ": bad %s: %s",
	    d->h.table, rowno, what, mule_strerror(r));
out:
	return r;
}
