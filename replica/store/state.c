/*
 * replica/store/state.c — the compact per-row state and content hashing.
 *
 * Canonical encoding of a value (hashed, and used for primary keys):
 * a type tag byte (core/change.h's MVAL_*), then NULL: nothing; INT and
 * REAL: 8 bytes big-endian (REAL as its IEEE-754 bits); TEXT and BLOB:
 * a varint length and the bytes.
 *
 * The `st` blob of a state row comes in two forms.  The full one (the
 * only one of STATE_FORMAT 2): varint ncols; the
 * existence stamp (varint lamport, varint origin index); the common stamp
 * most columns share (varint lamport, varint origin) — in a tombstone,
 * whose columns all have the zero stamp written out, the existence stamp
 * of the incarnation it deleted (zero: unknown); then per column:
 * COLHASH_LEN bytes of value hash (big-endian), varint x, where bit 0 says
 * a context follows, bits 1-2 the base: 0 none; 2 a base follows (4
 * bytes, a val_hash); 4 the base is the original baseline of the row's
 * incarnation (base_row) and is the column's own value hash (nothing
 * follows); 6 a base follows and is that incarnation's original
 * baseline; and x >> 3 is 0
 * when the column has the common stamp, else lamport + 1 followed by
 * varint origin; then the base if one follows, and with
 * bit 0 a varint count (1..CELL_CTX_MAX) and that many entries (varint
 * counter, varint origin).  An empty context and no base, or a baseline,
 * cost nothing beyond x.
 *
 * The compact form (STATE_FORMAT 3), for a row whose every column has the
 * common stamp, no context, and no base or its own value as the original
 * baseline (x is 0 or 4): the bytes 0x80 0x00 (a varint longer than it
 * need be, which the full form never starts with); varint (ncols << 1,
 * plus 1 when the common stamp is not zero); the existence stamp; the
 * common stamp when not zero; ceil(ncols / 8) bytes whose bit i % 8 of
 * byte i / 8 is x >> 2 of column i; then each column's value hash.  A row
 * as the first scan or an insert leaves it: 30 bytes for 6 columns
 * instead of 35.
 *
 * See merge.h for what stamps and contexts mean, docs/state.md "Merging"
 * for why.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

int
rowstate_alloc(struct rowstate *s, uint32_t ncols)
{
	size_t n = ncols ? ncols : 1;
	unsigned char *p;

	memset(s, 0, sizeof(*s));
	/* One block, most aligned first: contexts, stamps, hashes. */
	if ((p = calloc(n, sizeof(*s->colctx) + sizeof(*s->colst) +
	    sizeof(*s->colhash))) == NULL)
		return MULE_ENOMEM;
	s->ncols = ncols;
	s->colctx = (struct merge_ctx *)p;
	s->colst = (struct istamp *)(p + n * sizeof(*s->colctx));
	s->colhash = (uint32_t *)(p + n * (sizeof(*s->colctx) +
	    sizeof(*s->colst)));
	return 0;
}

void
rowstate_release(struct rowstate *s)
{
	uint32_t i;

	for (i = 0; s->colctx != NULL && i < s->ncols; i++)
		merge_ctx_release(&s->colctx[i]);
	free(s->colctx);	/* the block: colst and colhash too */
	memset(s, 0, sizeof(*s));
}

/* The stamp most columns share (the zero stamp for no columns). */
static struct istamp
common_stamp(const struct rowstate *s)
{
	struct istamp common = { 0, 0 };
	uint32_t i, j, best = 0, cnt;

	for (i = 0; i < s->ncols; i++) {
		cnt = 0;
		for (j = 0; j < s->ncols; j++)
			if (s->colst[j].lamport == s->colst[i].lamport &&
			    s->colst[j].origin == s->colst[i].origin)
				cnt++;
		if (cnt > best) {
			best = cnt;
			common = s->colst[i];
		}
		if (best * 2 > s->ncols)
			break;
	}
	return common;
}

static int
ctx_put(struct buf *b, const struct merge_ctx *c, uint64_t fl)
{
	uint32_t k;
	int r = 0;

	if ((fl & 6) == 2 || (fl & 6) == 6)
		r |= buf_put_u32(b, c->base);
	if (c->n != 0)
		r |= buf_put_varint(b, c->n);
	for (k = 0; k < c->n; k++) {
		r |= buf_put_varint(b, c->e[k].lamport);
		r |= buf_put_varint(b, (uint64_t)c->e[k].origin);
	}
	return r;
}

/* 1 when the row fits the compact form (see the top). */
static int
fits_compact(const struct rowstate *s, struct istamp common)
{
	const struct merge_ctx *c;
	uint32_t i;

	if (s->ncols == 0)
		return 0;
	for (i = 0; i < s->ncols; i++) {
		c = &s->colctx[i];
		if (s->colst[i].lamport != common.lamport ||
		    s->colst[i].origin != common.origin || c->n != 0 ||
		    (c->has_base && (!c->base_row || c->base != s->colhash[i])))
			return 0;
	}
	return 1;
}

static int
put_compact(struct buf *b, const struct rowstate *s, struct istamp common)
{
	uint8_t bits = 0;
	uint32_t i;
	int r = 0, nz = common.lamport != 0 || common.origin != 0;

	r |= buf_put_u8(b, 0x80);
	r |= buf_put_u8(b, 0x00);
	r |= buf_put_varint(b, (uint64_t)s->ncols << 1 | (uint64_t)nz);
	r |= buf_put_varint(b, s->cl_st.lamport);
	r |= buf_put_varint(b, (uint64_t)s->cl_st.origin);
	if (nz) {
		r |= buf_put_varint(b, common.lamport);
		r |= buf_put_varint(b, (uint64_t)common.origin);
	}
	for (i = 0; i < s->ncols; i++) {
		if (s->colctx[i].has_base)
			bits |= (uint8_t)(1u << (i % 8));
		if (i % 8 == 7 || i + 1 == s->ncols) {
			r |= buf_put_u8(b, bits);
			bits = 0;
		}
	}
	for (i = 0; i < s->ncols; i++)
		r |= buf_put_u32(b, s->colhash[i]);
	return r;
}

static int
put_full(struct buf *b, const struct rowstate *s, struct istamp common)
{
	uint64_t fl;
	uint32_t i;
	int r = 0;

	r |= buf_put_varint(b, s->ncols);
	r |= buf_put_varint(b, s->cl_st.lamport);
	r |= buf_put_varint(b, (uint64_t)s->cl_st.origin);
	r |= buf_put_varint(b, common.lamport);
	r |= buf_put_varint(b, (uint64_t)common.origin);
	for (i = 0; i < s->ncols; i++) {
		if (s->colctx[i].n > CELL_CTX_MAX)
			r |= MULE_ETOOLARGE;
		fl = s->colctx[i].n != 0;
		if (s->colctx[i].has_base && s->colctx[i].base_row)
			fl |= s->colctx[i].base == s->colhash[i] ? 4 : 6;
		else if (s->colctx[i].has_base)
			fl |= 2;
		r |= buf_put_u32(b, s->colhash[i]);
		if (s->colst[i].lamport == common.lamport &&
		    s->colst[i].origin == common.origin) {
			r |= buf_put_varint(b, fl);
		} else {
			r |= buf_put_varint(b,
			    ((s->colst[i].lamport + 1) << 3) | fl);
			r |= buf_put_varint(b, (uint64_t)s->colst[i].origin);
		}
		r |= ctx_put(b, &s->colctx[i], fl);
	}
	return r;
}

int
rowstate_encode(const struct rowstate *s, uint8_t **blob, size_t *len)
{
	struct istamp common = common_stamp(s);
	struct buf b;
	int r;

	if (s->cl % 2 == 0 && s->has_gone)
		common = s->gone;
	buf_init(&b);
	r = fits_compact(s, common) ? put_compact(&b, s, common) :
	    put_full(&b, s, common);
	if (r != 0) {
		buf_release(&b);
		return MULE_ENOMEM;
	}
	*blob = b.d;
	*len = b.len;
	return 0;
}

/* One column's base and context (flags x as in the blob). */
static int
ctx_get(struct buf *b, uint64_t x, uint32_t hash, struct merge_ctx *c)
{
	uint64_t n, k, l, o;

	if ((x & 2) && buf_get_u32(b, &c->base) != 0)
		return MULE_EFORMAT;
	if ((x & 6) == 4)
		c->base = hash;
	c->has_base = (x & 6) != 0;
	c->base_row = (x & 4) != 0;
	if ((x & 1) == 0)
		return 0;
	if (buf_get_varint_max(b, CELL_CTX_MAX, &n) != 0 || n == 0 ||
	    n > buf_avail(b) / 2)
		return MULE_EFORMAT;
	if ((c->e = calloc((size_t)n, sizeof(*c->e))) == NULL)
		return MULE_ENOMEM;
	c->n = (uint32_t)n;
	for (k = 0; k < n; k++) {
		if (buf_get_varint(b, &l) != 0 || buf_get_varint(b, &o) != 0 ||
		    l == 0 || o > INT64_MAX)
			return MULE_EFORMAT;
		c->e[k].lamport = l;
		c->e[k].origin = (int64_t)o;
	}
	return 0;
}

/* The full form (see the top). */
static int
decode_full(struct rowstate *s, const void *blob, size_t len)
{
	struct istamp common, cl_st;
	struct buf b;
	uint64_t n, x, o;
	uint32_t i, h;
	int r = MULE_EFORMAT;

	buf_init_ro(&b, blob, len);
	if (buf_get_varint_max(&b, STATE_MAX_COLS, &n) != 0 ||
	    buf_get_varint(&b, &cl_st.lamport) != 0 ||
	    buf_get_varint(&b, &o) != 0)
		return MULE_EFORMAT;
	cl_st.origin = (int64_t)o;
	if (buf_get_varint(&b, &common.lamport) != 0 ||
	    buf_get_varint(&b, &o) != 0)
		return MULE_EFORMAT;
	common.origin = (int64_t)o;
	if ((r = rowstate_alloc(s, (uint32_t)n)) != 0)
		return r;
	s->cl_st = cl_st;
	s->gone = common;	/* meaningful in a tombstone only */
	s->has_gone = common.lamport != 0;
	for (i = 0; i < n; i++) {
		if (buf_get_u32(&b, &h) != 0 || buf_get_varint(&b, &x) != 0)
			goto bad;
		s->colhash[i] = h;
		if ((x >> 3) == 0) {
			s->colst[i] = common;
		} else {
			if (buf_get_varint(&b, &o) != 0)
				goto bad;
			s->colst[i].lamport = (x >> 3) - 1;
			s->colst[i].origin = (int64_t)o;
		}
		if (ctx_get(&b, x, h, &s->colctx[i]) != 0)
			goto bad;
	}
	if (buf_avail(&b) != 0)
		goto bad;
	return 0;
bad:
	rowstate_release(s);
	return MULE_EFORMAT;
}

/* The compact form (see the top). */
static int
decode_compact(struct rowstate *s, const void *blob, size_t len)
{
	struct istamp common = { 0, 0 }, cl_st;
	const uint8_t *bits;
	struct buf b;
	uint64_t v, o;
	uint32_t i, n;
	int r;

	buf_init_ro(&b, blob, len);
	if (buf_get_ptr(&b, 2, &bits) != 0 || bits[0] != 0x80 ||
	    bits[1] != 0x00 ||
	    buf_get_varint_max(&b, 2 * STATE_MAX_COLS + 1, &v) != 0 ||
	    (v >> 1) == 0 || buf_get_varint(&b, &cl_st.lamport) != 0 ||
	    buf_get_varint(&b, &o) != 0)
		return MULE_EFORMAT;
	cl_st.origin = (int64_t)o;
	if ((v & 1) && (buf_get_varint(&b, &common.lamport) != 0 ||
	    buf_get_varint(&b, &o) != 0))
		return MULE_EFORMAT;
	if (v & 1)
		common.origin = (int64_t)o;
	n = (uint32_t)(v >> 1);
	if (buf_avail(&b) != (n + 7) / 8 + (size_t)n * COLHASH_LEN ||
	    buf_get_ptr(&b, (n + 7) / 8, &bits) != 0)
		return MULE_EFORMAT;
	if ((r = rowstate_alloc(s, n)) != 0)
		return r;
	s->cl_st = cl_st;
	s->gone = common;
	s->has_gone = common.lamport != 0;
	for (i = 0; i < n; i++) {
		(void)buf_get_u32(&b, &s->colhash[i]);	/* length checked */
		s->colst[i] = common;
		if (bits[i / 8] & (1u << (i % 8))) {
			s->colctx[i].has_base = 1;
			s->colctx[i].base_row = 1;
			s->colctx[i].base = s->colhash[i];
		}
	}
	return 0;
}

int
rowstate_decode(struct rowstate *s, const void *blob, size_t len)
{
	const uint8_t *p = blob;

	if (len >= 2 && p[0] == 0x80 && p[1] == 0x00)
		return decode_compact(s, blob, len);
	return decode_full(s, blob, len);
}

/* FNV-1a, 64-bit, folded to 32: a fast change detector, not a MAC. */
static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *u = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= u[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Canonical encoding of the fixed part of a value into hdr; returns len. */
static size_t
val_header(const struct mval *v, uint8_t hdr[16])
{
	uint64_t x;
	size_t n = 0, len;
	int i;

	hdr[n++] = (uint8_t)v->type;
	switch (v->type) {
	case MVAL_INT:
	case MVAL_REAL:
		if (v->type == MVAL_INT)
			x = (uint64_t)v->i;
		else
			memcpy(&x, &v->f, sizeof(x));
		for (i = 7; i >= 0; i--)
			hdr[n++] = (uint8_t)(x >> (8 * i));
		break;
	case MVAL_TEXT:
	case MVAL_BLOB:
		len = v->n;
		do {
			hdr[n++] = (uint8_t)((len & 0x7f) | (len >= 0x80 ? 0x80 : 0));
			len >>= 7;
		} while (len != 0);
		break;
	}
	return n;
}

static int
val_has_bytes(const struct mval *v)
{
	return (v->type == MVAL_TEXT || v->type == MVAL_BLOB) && v->n > 0;
}

uint32_t
val_hash(const struct mval *v)
{
	uint8_t hdr[16];
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t n = val_header(v, hdr);

	h = fnv(h, hdr, n);
	if (val_has_bytes(v))
		h = fnv(h, v->p, v->n);
	return (uint32_t)(h ^ (h >> 32));
}

/*
 * The row hash's input, gathered so that a typical row costs one call of
 * BLAKE2b instead of two per column: bytes collect in `buf` and go to the
 * streaming state only once a row outgrows it (the hash of a byte string
 * does not depend on how it was cut).
 */
struct rowenc {
	crypto_generichash_state hs;
	int streaming;
	size_t n;
	uint8_t buf[512];
};

static void
rowenc_put(struct rowenc *e, const void *p, size_t n)
{
	if (!e->streaming && e->n + n > sizeof(e->buf)) {
		crypto_generichash_init(&e->hs, NULL, 0, ROW_HASH_LEN);
		crypto_generichash_update(&e->hs, e->buf, e->n);
		e->streaming = 1;
	}
	if (e->streaming)
		crypto_generichash_update(&e->hs, p, n);
	else {
		memcpy(e->buf + e->n, p, n);
		e->n += n;
	}
}

/* Feeds one value's canonical encoding to the row hash. */
static void
row_hash_add(struct rowenc *e, const struct mval *v)
{
	uint8_t hdr[16];
	size_t n = val_header(v, hdr);

	rowenc_put(e, hdr, n);
	if (val_has_bytes(v))
		rowenc_put(e, v->p, v->n);
}

static void
rowenc_final(struct rowenc *e, uint8_t hash[ROW_HASH_LEN])
{
	if (e->streaming)
		crypto_generichash_final(&e->hs, hash, ROW_HASH_LEN);
	else
		crypto_generichash(hash, ROW_HASH_LEN, e->buf, e->n, NULL, 0);
}

void
row_hash_vals(const struct mval *v, uint32_t ncols,
    uint8_t hash[ROW_HASH_LEN], uint32_t *colhash)
{
	struct rowenc e;
	uint32_t i;

	e.streaming = 0;
	e.n = 0;
	for (i = 0; i < ncols; i++) {
		row_hash_add(&e, &v[i]);
		if (colhash != NULL)
			colhash[i] = val_hash(&v[i]);
	}
	rowenc_final(&e, hash);
}

void
mval_from_stmt(struct mval *v, sqlite3_stmt *st, int i)
{
	memset(v, 0, sizeof(*v));
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		v->type = MVAL_INT;
		v->i = sqlite3_column_int64(st, i);
		break;
	case SQLITE_FLOAT:
		v->type = MVAL_REAL;
		v->f = sqlite3_column_double(st, i);
		break;
	case SQLITE_TEXT:
		v->type = MVAL_TEXT;
		v->p = sqlite3_column_text(st, i);
		v->n = (size_t)sqlite3_column_bytes(st, i);
		break;
	case SQLITE_BLOB:
		v->type = MVAL_BLOB;
		v->p = sqlite3_column_blob(st, i);
		v->n = (size_t)sqlite3_column_bytes(st, i);
		break;
	default:
		v->type = MVAL_NULL;
	}
}

void
row_hash_stmt(sqlite3_stmt *st, int first, uint32_t ncols,
    uint8_t hash[ROW_HASH_LEN], uint32_t *colhash)
{
	struct rowenc e;
	struct mval v;
	uint32_t i;

	e.streaming = 0;
	e.n = 0;
	for (i = 0; i < ncols; i++) {
		mval_from_stmt(&v, st, first + (int)i);
		row_hash_add(&e, &v);
		if (colhash != NULL)
			colhash[i] = val_hash(&v);
	}
	rowenc_final(&e, hash);
}

void
col_hashes_stmt(sqlite3_stmt *st, int first, uint32_t ncols,
    uint32_t *colhash)
{
	struct mval v;
	uint32_t i;

	for (i = 0; i < ncols; i++) {
		mval_from_stmt(&v, st, first + (int)i);
		colhash[i] = val_hash(&v);
	}
}

int
rp_affinity(const char *decl)
{
	if (decl == NULL || *decl == '\0')
		return RP_AFF_BLOB;
	/* SQLite's rules, in its order (datatype3.html, 3.1). */
	if (strcasestr(decl, "INT") != NULL)
		return RP_AFF_INTEGER;
	if (strcasestr(decl, "CHAR") != NULL || strcasestr(decl, "CLOB") !=
	    NULL || strcasestr(decl, "TEXT") != NULL)
		return RP_AFF_TEXT;
	if (strcasestr(decl, "BLOB") != NULL)
		return RP_AFF_BLOB;
	if (strcasestr(decl, "REAL") != NULL || strcasestr(decl, "FLOA") !=
	    NULL || strcasestr(decl, "DOUB") != NULL)
		return RP_AFF_REAL;
	return RP_AFF_NUMERIC;
}

int
rp_stored_as_bound(int aff, int nonull, int utf8, const struct mval *v)
{
	switch (v->type) {
	case MVAL_NULL:
		/* A key (a rowid alias makes one up) or NOT NULL ON CONFLICT
		 * REPLACE (the default instead): read it back. */
		return aff != RP_AFF_UNKNOWN && !nonull;
	case MVAL_BLOB:
		return aff != RP_AFF_UNKNOWN;
	case MVAL_INT:
		return aff == RP_AFF_INTEGER || aff == RP_AFF_NUMERIC ||
		    aff == RP_AFF_BLOB;
	case MVAL_REAL:
		/* NaN binds as NULL; REAL affinity stores an integral value
		 * as an integer and reads it back as a REAL, -0.0 as 0.0. */
		if (v->f != v->f)
			return 0;
		return aff == RP_AFF_BLOB || (aff == RP_AFF_REAL &&
		    !(v->f == 0 && signbit(v->f)));
	case MVAL_TEXT:
		/* Another encoding converts it (not always back to these
		 * bytes); a numeric affinity may make it a number. */
		return utf8 && (aff == RP_AFF_TEXT || aff == RP_AFF_BLOB);
	}
	return 0;		/* MVAL_REF: not resolved */
}

int
rp_store_shape(struct replica *rp, const struct replica_table *t,
    struct rp_store_shape *sh, char *err)
{
	sqlite3_stmt *st = NULL;
	uint32_t j;
	int rc, r;

	memset(sh->aff, RP_AFF_UNKNOWN, t->ncols);
	memset(sh->nonull, 1, t->ncols);
	/* Errors here only make it read rows back: rp_exists says 0. */
	sh->utf8 = rp_exists(rp, "SELECT 1 FROM pragma_encoding WHERE "
	    "encoding = 'UTF-8'", NULL);
	/* A trigger mule did not make may change the row it fires for. */
	sh->plain = rp_exists(rp, "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM "
	    "(SELECT name, tbl_name FROM main.sqlite_schema WHERE type = "
	    "'trigger' UNION ALL SELECT name, tbl_name FROM temp.sqlite_schema"
	    " WHERE type = 'trigger') WHERE tbl_name = ?1 COLLATE NOCASE AND "
	    "name NOT LIKE '\\_mule\\_cap\\_%' ESCAPE '\\')", t->name);
	if ((r = rp_prepare(rp, "SELECT name, type, \"notnull\" OR pk > 0 "
	    "FROM pragma_table_info(?1)", &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!rp_col_index(t, (const char *)sqlite3_column_text(st, 0),
		    &j))
			continue;
		sh->aff[j] = (uint8_t)rp_affinity((const char *)
		    sqlite3_column_text(st, 1));
		sh->nonull[j] = sqlite3_column_int(st, 2) != 0;
	}
	r = rc == SQLITE_DONE ? 0 : rp_dberr(rp, rc, err, t->name);
	sqlite3_finalize(st);
	return r;
}

int
mval_bind(sqlite3_stmt *st, int i, const struct mval *v)
{
	static const uint8_t empty[1];

	switch (v->type) {
	case MVAL_INT:
		return sqlite3_bind_int64(st, i, v->i);
	case MVAL_REAL:
		return sqlite3_bind_double(st, i, v->f);
	case MVAL_TEXT:
		return sqlite3_bind_text64(st, i, (const char *)v->p, v->n,
		    SQLITE_STATIC, SQLITE_UTF8);
	case MVAL_BLOB:
		return sqlite3_bind_blob64(st, i, v->n ? v->p : empty, v->n,
		    SQLITE_STATIC);
	}
	return sqlite3_bind_null(st, i);
}

int
pk_encode(const struct mval *pk, uint32_t npk, uint8_t **out, size_t *len)
{
	struct buf b;
	uint8_t hdr[16];
	uint32_t i;
	int r = 0;

	buf_init(&b);
	for (i = 0; i < npk; i++) {
		r |= buf_put(&b, hdr, val_header(&pk[i], hdr));
		if (val_has_bytes(&pk[i]))
			r |= buf_put(&b, pk[i].p, pk[i].n);
	}
	if (r != 0 || b.len == 0) {
		buf_release(&b);
		return MULE_ENOMEM;
	}
	*out = b.d;
	*len = b.len;
	return 0;
}

void
mval_text(struct strb *sb, const struct mval *v)
{
	switch (v->type) {
	case MVAL_INT:
		strb_addf(sb, "%lld", (long long)v->i);
		break;
	case MVAL_REAL:
		strb_addf(sb, "%.17g", v->f);
		break;
	case MVAL_TEXT:
		strb_addc(sb, '\'');
		{
			size_t i;
			for (i = 0; i < v->n; i++) {
				if (v->p[i] == '\'')
					strb_addc(sb, '\'');
				strb_addc(sb, (char)v->p[i]);
			}
		}
		strb_addc(sb, '\'');
		break;
	case MVAL_BLOB:
		strb_add(sb, "x'");
		strb_add_hex(sb, v->p, v->n);
		strb_addc(sb, '\'');
		break;
	case MVAL_REF:
		strb_add(sb, "<large value ");
		strb_add_hex(sb, v->p, 8);
		strb_add(sb, "...>");
		break;
	default:
		strb_add(sb, "NULL");
	}
}

void
pk_text(struct strb *sb, const struct mval *pk, uint32_t npk)
{
	uint32_t i;

	for (i = 0; i < npk; i++) {
		if (i > 0)
			strb_add(sb, ", ");
		mval_text(sb, &pk[i]);
	}
}

int
pk_decode(const uint8_t *blob, size_t len, struct mval *pk, uint32_t npk)
{
	struct buf b;
	uint64_t x, n;
	uint32_t i;
	uint8_t tag;
	const uint8_t *p;

	buf_init_ro(&b, blob, len);
	for (i = 0; i < npk; i++) {
		memset(&pk[i], 0, sizeof(pk[i]));
		if (buf_get_u8(&b, &tag) != 0)
			return MULE_EFORMAT;
		pk[i].type = tag;
		switch (tag) {
		case MVAL_NULL:
			break;
		case MVAL_INT:
		case MVAL_REAL:
			if (buf_get_u64(&b, &x) != 0)
				return MULE_EFORMAT;
			if (tag == MVAL_INT)
				pk[i].i = (int64_t)x;
			else
				memcpy(&pk[i].f, &x, sizeof(x));
			break;
		case MVAL_TEXT:
		case MVAL_BLOB:
			/* Lengths here were written by val_header (LEB128). */
			if (buf_get_varint(&b, &n) != 0 ||
			    buf_get_ptr(&b, (size_t)n, &p) != 0)
				return MULE_EFORMAT;
			pk[i].p = p;
			pk[i].n = (size_t)n;
			break;
		default:
			return MULE_EFORMAT;
		}
	}
	return buf_avail(&b) == 0 ? 0 : MULE_EFORMAT;
}

int
rp_bind_statekey(sqlite3_stmt *st, int i, const struct replica_table *t,
    const struct mval *pk)
{
	uint8_t *key;
	size_t len;
	int r;

	if (t->intpk) {
		if (pk[0].type != MVAL_INT)
			return MULE_EFORMAT;
		sqlite3_bind_int64(st, i, pk[0].i);
		return 0;
	}
	if ((r = pk_encode(pk, t->npk, &key, &len)) != 0)
		return r;
	sqlite3_bind_blob(st, i, key, (int)len, free);
	return 0;
}

int
rp_state_get(sqlite3_stmt *get, struct rowstate *s, int *found)
{
	int rc = sqlite3_step(get), r = 0;

	*found = 0;
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_bytes(get, 1) != ROW_HASH_LEN)
			r = MULE_EFORMAT;
		else if ((r = rowstate_decode(s, sqlite3_column_blob(get, 2),
		    (size_t)sqlite3_column_bytes(get, 2))) == 0) {
			s->cl = (uint64_t)sqlite3_column_int64(get, 0);
			memcpy(s->hash, sqlite3_column_blob(get, 1),
			    ROW_HASH_LEN);
			*found = 1;
		}
	} else if (rc != SQLITE_DONE) {
		r = MULE_EDB;
	}
	sqlite3_reset(get);
	return r;
}

int
rp_state_put(struct replica *rp, sqlite3_stmt *put, int64_t tid,
    const uint8_t *was, const struct rowstate *s, char *err)
{
	uint8_t *blob = NULL;
	size_t len;
	int rc, r;

	if ((r = rowstate_encode(s, &blob, &len)) != 0)
		return mule_errf(err, r, "out of memory");
	sqlite3_bind_int64(put, 2, (int64_t)s->cl);
	sqlite3_bind_blob(put, 3, s->hash, ROW_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(put, 4, blob, (int)len, free);
	rc = sqlite3_step(put);
	sqlite3_reset(put);
	sqlite3_clear_bindings(put);
	if (rc != SQLITE_DONE)
		return rp_dberr(rp, rc, err, "write state");
	if (rp_digest_note(rp, tid, was, s->cl % 2 == 1 ? s->hash : NULL) !=
	    0)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

int
mval_equal(const struct mval *a, const struct mval *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case MVAL_INT:
		return a->i == b->i;
	case MVAL_REAL:
		return memcmp(&a->f, &b->f, sizeof(a->f)) == 0;
	case MVAL_TEXT:
	case MVAL_BLOB:
	case MVAL_REF:
		return a->n == b->n && (a->n == 0 ||
		    memcmp(a->p, b->p, a->n) == 0);
	}
	return 1;
}
