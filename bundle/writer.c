/*
 * bundle/writer.c — bundle_writer_*: spools schema steps, large values and
 * row segments to unlinked temporary files, then writes the bundle in one
 * pass: header, inner archive (through the encryptor), signature.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/internal.h"
#include "core/error.h"
#include "core/file.h"
#include "core/strb.h"

struct spool {
	int fd;
	uint64_t size;
};

struct vrec {
	uint8_t hash[BUNDLE_HASH_LEN];
	uint64_t off, len;
	uint8_t type;
};

struct bundle_writer {
	struct safefile sf;
	int sf_open;
	char *tmpdir;
	const struct ident_secret *me;
	struct ident_pub *to;
	size_t nto;
	int encrypt;
	int failed;

	struct spool sp_schema, sp_values, sp_rows;
	struct member_list schema, rows;
	uint32_t last_version;		/* of the last schema step */

	struct vrec *vals;
	size_t nvals, valcap;
	uint32_t *vslots;		/* index + 1; 0 = empty */
	size_t nvslots;

	struct segment_enc seg;
	int in_table;
	struct cell *cells;		/* scratch: ncols cells */
	uint8_t (*refs)[VALUE_REF_LEN];
	struct buf hdr;			/* scratch: segment header */

	uint64_t ntables, nrows, ncells;

	progress_fn progress;		/* bundle_writer_progress */
	void *parg;
	const char *phase;
	uint64_t fed, feed;		/* payload bytes done, in all */
};

/* ---- spool files ---- */

static int
spool_open(struct spool *sp, const char *dir, char *err)
{
	struct strb sb;
	int r = MULE_EINTERNAL;

	sp->fd = -1;
	sp->size = 0;
	strb_init(&sb);
	strb_addf(&sb, "%s/.mule-spool-XXXXXX", dir);
	if (strb_error(&sb)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((sp->fd = mkstemp(sb.s)) < 0) {
		r = mule_errf(err, file_errno_code(errno), "cannot write in "
		    "%s: %s", dir, strerror(errno));
		goto out;
	}
	unlink(sb.s);
	r = 0;
out:
	strb_release(&sb);
	return r;
}

static void
spool_close(struct spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
}

static int
spool_write(struct spool *sp, const void *p, size_t n, char *err)
{
	int r;

	if ((r = file_write_at(sp->fd, p, n, sp->size, "a spool file",
	    err)) != 0)
		return r;
	sp->size += (uint64_t)n;
	return 0;
}

/* A spool is only read back where it was written: an early end is EIO. */
static int
spool_read(struct spool *sp, uint64_t off, void *p, size_t n, char *err)
{
	int r = file_read_exact_at(sp->fd, p, n, off, "a spool file", err);

	if (r == MULE_EINCOMPLETE)
		r = mule_errf(err, MULE_EIO,
		    "reading a spool file: short read");
	return r;
}

/* ---- the value set ---- */

static uint32_t
vhash(const uint8_t *h)
{
	return (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
	    (uint32_t)h[3] << 24;
}

static struct vrec *
vset_find(struct bundle_writer *w, const uint8_t *h)
{
	size_t m, s;

	if (w->nvslots == 0)
		return NULL;
	m = w->nvslots - 1;
	for (s = vhash(h) & m; w->vslots[s] != 0; s = (s + 1) & m)
		if (memcmp(w->vals[w->vslots[s] - 1].hash, h,
		    BUNDLE_HASH_LEN) == 0)
			return &w->vals[w->vslots[s] - 1];
	return NULL;
}

static void
vset_slot(struct bundle_writer *w, size_t idx)
{
	size_t m = w->nvslots - 1, s = vhash(w->vals[idx].hash) & m;

	while (w->vslots[s] != 0)
		s = (s + 1) & m;
	w->vslots[s] = (uint32_t)idx + 1;
}

static int
vset_add(struct bundle_writer *w, const struct vrec *v)
{
	struct vrec *nv;
	uint32_t *ns;
	size_t i, ncap;

	if (w->nvals >= BUNDLE_MAX_MEMBERS)
		return MULE_ETOOLARGE;
	if (w->nvals == w->valcap) {
		ncap = w->valcap ? w->valcap * 2 : 64;
		if ((nv = realloc(w->vals, ncap * sizeof(*nv))) == NULL)
			return MULE_ENOMEM;
		w->vals = nv;
		w->valcap = ncap;
	}
	if ((w->nvals + 1) * 2 > w->nvslots) {
		ncap = w->nvslots ? w->nvslots * 2 : 128;
		if ((ns = calloc(ncap, sizeof(*ns))) == NULL)
			return MULE_ENOMEM;
		free(w->vslots);
		w->vslots = ns;
		w->nvslots = ncap;
		for (i = 0; i < w->nvals; i++)
			vset_slot(w, i);
	}
	w->vals[w->nvals] = *v;
	vset_slot(w, w->nvals);
	w->nvals++;
	return 0;
}

/* Stores a TEXT/BLOB value once; its hash goes to ref. */
static int
value_store(struct bundle_writer *w, const struct mval *v,
    uint8_t ref[VALUE_REF_LEN], char *err)
{
	struct vrec rec;
	int r;

	if (v->n > BUNDLE_MAX_VALUE)
		return mule_errf(err, MULE_ETOOLARGE, "a value of %zu bytes "
		    "exceeds BUNDLE_MAX_VALUE (%u bytes)", v->n,
		    BUNDLE_MAX_VALUE);
	if (v->n > 0 && v->p == NULL)
		return mule_errf(err, MULE_EINVAL, "value without bytes");
	crypto_generichash(ref, VALUE_REF_LEN, v->p, v->n, NULL, 0);
	if (vset_find(w, ref) != NULL)
		return 0;
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.hash, ref, VALUE_REF_LEN);
	rec.off = w->sp_values.size;
	rec.len = v->n;
	rec.type = (uint8_t)v->type;
	if ((r = spool_write(&w->sp_values, v->p, v->n, err)) != 0)
		return r;
	if ((r = vset_add(w, &rec)) != 0)
		return mule_errf(err, r, r == MULE_ETOOLARGE ? "more than "
		    "BUNDLE_MAX_MEMBERS values" : "out of memory");
	return 0;
}

/* ---- writer ---- */

int
bundle_writer_new(const char *path, const char *tmpdir,
    const struct ident_secret *me, const struct ident_pub *to, size_t nto,
    int encrypt, struct bundle_writer **out, char *err)
{
	struct bundle_writer *w = NULL;
	char *copy = NULL;
	size_t i, j;
	int r = MULE_EINTERNAL;

	if (path == NULL || me == NULL || (nto > 0 && to == NULL)) {
		r = mule_errf(err, MULE_EINVAL, "bundle_writer_new: missing "
		    "argument");
		goto out;
	}
	if (nto > BUNDLE_MAX_RECIPIENTS) {
		r = mule_errf(err, MULE_ETOOLARGE, "%zu recipients (limit %d)",
		    nto, BUNDLE_MAX_RECIPIENTS);
		goto out;
	}
	if (encrypt && nto == 0) {
		r = mule_errf(err, MULE_EINVAL, "an encrypted bundle needs at "
		    "least one recipient");
		goto out;
	}
	for (i = 0; i < nto; i++)
		for (j = 0; j < i; j++)
			if (memcmp(to[i].key_id, to[j].key_id,
			    IDENT_KEYID_LEN) == 0) {
				r = mule_errf(err, MULE_EINVAL, "a recipient "
				    "key is named twice");
				goto out;
			}
	if ((r = ident_lib_init()) != 0) {
		r = mule_errf(err, r, "cannot initialise libsodium");
		goto out;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	w->sp_schema.fd = w->sp_values.fd = w->sp_rows.fd = -1;
	w->sf.fd = -1;
	member_list_init(&w->schema);
	member_list_init(&w->rows);
	segment_enc_init(&w->seg);
	buf_init(&w->hdr);
	w->me = me;
	w->encrypt = encrypt != 0;
	if (nto > 0) {
		if ((w->to = calloc(nto, sizeof(*w->to))) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(w->to, to, nto * sizeof(*to));
	}
	w->nto = nto;
	if (tmpdir != NULL)
		w->tmpdir = strdup(tmpdir);
	else if ((copy = strdup(path)) != NULL)
		w->tmpdir = strdup(dirname(copy));
	if (w->tmpdir == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = spool_open(&w->sp_schema, w->tmpdir, err)) != 0 ||
	    (r = spool_open(&w->sp_values, w->tmpdir, err)) != 0 ||
	    (r = spool_open(&w->sp_rows, w->tmpdir, err)) != 0)
		goto out;
	if ((r = safefile_open(&w->sf, path, w->encrypt ? 0644 : 0600, 0,
	    err)) != 0)
		goto out;
	w->sf_open = 1;
	*out = w;
	w = NULL;
	r = 0;
out:
	free(copy);
	bundle_writer_free(w);
	return r;
}

void
bundle_writer_free(struct bundle_writer *w)
{
	if (w == NULL)
		return;
	if (w->sf_open)
		safefile_abort(&w->sf);
	spool_close(&w->sp_schema);
	spool_close(&w->sp_values);
	spool_close(&w->sp_rows);
	member_list_release(&w->schema);
	member_list_release(&w->rows);
	segment_enc_release(&w->seg);
	buf_release(&w->hdr);
	free(w->vals);
	free(w->vslots);
	free(w->cells);
	free(w->refs);
	free(w->to);
	free(w->tmpdir);
	free(w);
}

static int
writer_usable(struct bundle_writer *w, char *err)
{
	if (w->failed)
		return mule_errf(err, MULE_EINVAL, "the bundle writer failed "
		    "earlier");
	if (!w->sf_open)
		return mule_errf(err, MULE_EINVAL, "the bundle is finished");
	return 0;
}

int
bundle_writer_add_schema(struct bundle_writer *w,
    const struct bundle_schema *s, char *err)
{
	struct bundle_member mb;
	crypto_generichash_state hs;
	char line[SCHEMA_HDR_MAX], hx[2 * BUNDLE_FPR_LEN + 1];
	int n, r = MULE_EINTERNAL;

	if ((r = writer_usable(w, err)) != 0)
		goto out;
	if (s->sql == NULL && s->len > 0) {
		r = mule_errf(err, MULE_EINVAL, "schema step without SQL");
		goto out;
	}
	if (s->len > BUNDLE_MAX_SCHEMA_SQL) {
		r = mule_errf(err, MULE_ETOOLARGE, "schema step %" PRIu32 ": "
		    "SQL longer than BUNDLE_MAX_SCHEMA_SQL (%u bytes)",
		    s->version, BUNDLE_MAX_SCHEMA_SQL);
		goto out;
	}
	if (s->len > 0 && memchr(s->sql, '\0', s->len) != NULL) {
		r = mule_errf(err, MULE_EINVAL, "schema step %" PRIu32 ": SQL "
		    "contains a NUL byte", s->version);
		goto out;
	}
	if (w->schema.n >= BUNDLE_MAX_SCHEMA_STEPS) {
		r = mule_errf(err, MULE_ETOOLARGE, "more than "
		    "BUNDLE_MAX_SCHEMA_STEPS (%d) schema steps",
		    BUNDLE_MAX_SCHEMA_STEPS);
		goto out;
	}
	if (w->schema.n > 0 && s->version <= w->last_version) {
		r = mule_errf(err, MULE_EINVAL, "schema step %" PRIu32 " does "
		    "not follow step %" PRIu32, s->version, w->last_version);
		goto out;
	}
	hex_encode(hx, s->fpr, BUNDLE_FPR_LEN);
	n = snprintf(line, sizeof(line), "-- mule schema %" PRIu32 " %s\n",
	    s->version, hx);
	memset(&mb, 0, sizeof(mb));
	mb.kind = MEMBER_SCHEMA;
	mb.seq = (uint32_t)w->schema.n + 1;
	mb.size = (uint64_t)n + s->len;
	crypto_generichash_init(&hs, NULL, 0, BUNDLE_HASH_LEN);
	crypto_generichash_update(&hs, (const uint8_t *)line, (size_t)n);
	crypto_generichash_update(&hs, (const uint8_t *)s->sql, s->len);
	crypto_generichash_final(&hs, mb.hash, BUNDLE_HASH_LEN);
	if ((r = spool_write(&w->sp_schema, line, (size_t)n, err)) != 0 ||
	    (r = spool_write(&w->sp_schema, s->sql, s->len, err)) != 0)
		goto out;
	if ((r = member_list_add(&w->schema, &mb)) != 0) {
		r = mule_errf(err, r, "out of memory");
		goto out;
	}
	w->last_version = s->version;
	r = 0;
out:
	if (r != 0 && r != MULE_EINVAL && r != MULE_ETOOLARGE)
		w->failed = 1;
	return r;
}

/* Writes the current segment to the rows spool as one member. */
static int
segment_flush(struct bundle_writer *w, char *err)
{
	struct bundle_member mb;
	crypto_generichash_state hs;
	int r;

	buf_reset(&w->hdr);
	if ((r = segment_enc_header(&w->seg, &w->hdr, err)) != 0)
		return r;
	memset(&mb, 0, sizeof(mb));
	mb.kind = MEMBER_ROWS;
	mb.seq = (uint32_t)w->rows.n + 1;
	mb.size = w->hdr.len;
	if (mb.size > BUNDLE_MAX_SEGMENT)
		return mule_errf(err, MULE_EINTERNAL, "segment overflow");
	crypto_generichash_init(&hs, NULL, 0, BUNDLE_HASH_LEN);
	crypto_generichash_update(&hs, w->hdr.d, w->hdr.len);
	crypto_generichash_final(&hs, mb.hash, BUNDLE_HASH_LEN);
	if ((r = spool_write(&w->sp_rows, w->hdr.d, w->hdr.len, err)) != 0)
		return r;
	if ((r = member_list_add(&w->rows, &mb)) != 0)
		return mule_errf(err, r, r == MULE_ETOOLARGE ? "too many "
		    "segments" : "out of memory");
	segment_enc_next(&w->seg);
	return 0;
}

int
bundle_writer_begin_table(struct bundle_writer *w, const char *table,
    uint32_t ncols, const char *const *cols, uint32_t npk,
    const uint32_t *pkcols, char *err)
{
	struct cell *nc;
	uint8_t (*nr)[VALUE_REF_LEN];
	int r = MULE_EINTERNAL;

	if ((r = writer_usable(w, err)) != 0)
		goto out;
	if (w->in_table) {
		if ((r = segment_flush(w, err)) != 0)
			goto fail;
		w->in_table = 0;
	}
	if ((r = segment_enc_begin(&w->seg, table, ncols, cols, npk, pkcols,
	    err)) != 0)
		goto out;
	if ((nc = realloc(w->cells, ncols * sizeof(*nc))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto fail;
	}
	w->cells = nc;
	if ((nr = realloc(w->refs, ncols * sizeof(*nr))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto fail;
	}
	w->refs = nr;
	w->in_table = 1;
	w->ntables++;
	r = 0;
	goto out;
fail:
	w->failed = 1;
out:
	return r;
}

/*
 * Copies rc's cells into w->cells, replacing TEXT/BLOB values longer than
 * `inline_max` by references to values/ (storing them).
 */
static int
row_prepare(struct bundle_writer *w, const struct rowchange *rc,
    size_t inline_max, struct rowchange *lr, char *err)
{
	const struct mval *v;
	struct cell *c;
	uint32_t i;
	int r;

	*lr = *rc;
	lr->cells = w->cells;
	for (i = 0; i < rc->ncells; i++) {
		c = &w->cells[i];
		*c = rc->cells[i];
		v = &rc->cells[i].v;
		if ((v->type == MVAL_TEXT || v->type == MVAL_BLOB) &&
		    v->n > inline_max) {
			if ((r = value_store(w, v, w->refs[i], err)) != 0)
				return r;
			memset(&c->v, 0, sizeof(c->v));
			c->v.type = MVAL_REF;
			c->v.reftype = v->type;
			c->v.p = w->refs[i];
			c->v.n = VALUE_REF_LEN;
		} else if (v->type == MVAL_REF && v->n == VALUE_REF_LEN &&
		    v->p != NULL && vset_find(w, v->p) == NULL) {
			return mule_errf(err, MULE_EINVAL, "a row refers to a "
			    "value that was not added to this bundle");
		}
	}
	return 0;
}

int
bundle_writer_add_row(struct bundle_writer *w, const struct rowchange *rc,
    char *err)
{
	struct rowchange lr;
	size_t inline_max = BUNDLE_MAX_INLINE;
	int added = 0, r = MULE_EINTERNAL;

	if ((r = writer_usable(w, err)) != 0)
		goto out;
	if (!w->in_table) {
		r = mule_errf(err, MULE_EINVAL, "a row before any table");
		goto out;
	}
	if (rc->ncells > w->seg.h.ncols) {
		r = mule_errf(err, MULE_EINVAL, "table %s: a row has more "
		    "cells than the table has columns", w->seg.h.table);
		goto out;
	}
	for (;;) {
		if ((r = row_prepare(w, rc, inline_max, &lr, err)) != 0)
			goto out;
		if ((r = segment_enc_row(&w->seg, &lr, &added, err)) != 0)
			goto out;
		if (added)
			break;
		if (w->seg.nrows > 0) {
			if ((r = segment_flush(w, err)) != 0) {
				w->failed = 1;
				goto out;
			}
		} else if (inline_max > VALUE_REF_LEN + 2) {
			/* A huge row: move every longer value to values/. */
			inline_max = VALUE_REF_LEN + 2;
		} else {
			r = mule_errf(err, MULE_ETOOLARGE, "table %s: a row "
			    "does not fit in a segment of %u bytes",
			    w->seg.h.table, BUNDLE_MAX_SEGMENT);
			goto out;
		}
	}
	w->nrows++;
	w->ncells += rc->ncells;
	r = 0;
out:
	if (r == MULE_EIO || r == MULE_ENOSPACE || r == MULE_ENOMEM)
		w->failed = 1;
	return r;
}

/* ---- finishing ---- */

/*
 * Ciphertext built in the hash thread's ring is written in runs of
 * consecutive chunks (one write() for several): `run` is the start of the
 * bytes fed but not written yet, at most SIG_RING_BUF of them, so they lie
 * in the last two ring buffers filled, which the encryptor does not fill
 * again before it has filled another one.
 */
_Static_assert(SIG_RING_BUFS >= 3, "a run must not meet the buffer refilled");

struct wout {
	struct bundle_writer *w;
	struct sig_ctx sc;
	struct seal_enc enc;
	int enc_live;
	uint8_t *placed;	/* the chunk being built, if in the ring */
	const uint8_t *run;	/* unwritten ciphertext in the ring */
	size_t nrun;
	int code;
	char msg[MULE_ERRLEN];
};

/* Hashes and writes n bytes (the header, an unencrypted payload). */
static int
raw_out(struct wout *o, const uint8_t *p, size_t n, char *err)
{
	sig_update(&o->sc, p, n);
	return safefile_write(&o->w->sf, p, n, err);
}

/* Writes the pending run of ciphertext, if any. */
static int
run_flush(struct wout *o, char *err)
{
	int r = 0;

	if (o->nrun > 0)
		r = safefile_write(&o->w->sf, o->run, o->nrun, err);
	o->nrun = 0;
	return r;
}

/*
 * A chunk of ciphertext: hashed now, written now or with the next ones
 * when it was built in the ring right after them.  Fed first, so that a
 * full ring buffer goes to the hash thread without waiting for the
 * write; the thread only reads it.
 */
static int
enc_out(void *arg, const uint8_t *p, size_t n)
{
	struct wout *o = arg;
	int r = MULE_EINTERNAL;

	sig_update(&o->sc, p, n);
	if (p == o->placed && o->nrun > 0 && p == o->run + o->nrun &&
	    o->nrun + n <= SIG_RING_BUF) {
		o->nrun += n;
		r = 0;
		goto out;
	}
	if ((r = run_flush(o, o->msg)) != 0)
		goto out;
	if (p == o->placed) {
		o->run = p;
		o->nrun = n;
	} else if ((r = safefile_write(&o->w->sf, p, n, o->msg)) != 0)
		goto out;
	r = 0;
out:
	o->placed = NULL;
	if (r != 0)
		o->code = r;
	return r;
}

/* Each chunk of ciphertext is built in the hash thread's ring (no copy). */
static uint8_t *
enc_place(void *arg, size_t n)
{
	struct wout *o = arg;

	o->placed = sig_reserve(&o->sc, n);
	return o->placed;
}

static int
archive_out(void *arg, const uint8_t *p, size_t n, char *err)
{
	struct wout *o = arg;
	int r;

	if (!o->w->encrypt)
		return raw_out(o, p, n, err);
	if ((r = seal_enc_update(&o->enc, p, n)) != 0) {
		if (o->code != 0) {
			if (err != NULL)
				memcpy(err, o->msg, MULE_ERRLEN);
			return o->code;
		}
		return mule_errf(err, r, "encryption failed: %s",
		    mule_strerror(r));
	}
	return 0;
}

void
bundle_writer_progress(struct bundle_writer *w, progress_fn fn, void *arg)
{
	w->progress = fn;
	w->parg = arg;
}

/* n more payload bytes went into the archive. */
static void
fed(struct bundle_writer *w, uint64_t n)
{
	uint64_t before = w->fed;

	w->fed += n;
	if (before / (1 << 20) != w->fed / (1 << 20) || w->fed == w->feed)
		progress_report(w->progress, w->parg, w->phase, w->fed,
		    w->feed);
}

static int
copy_spool(struct bundle_writer *w, struct container_w *c, struct spool *sp,
    uint64_t off, uint64_t len, uint8_t *blk, char *err)
{
	size_t n;
	int r;

	while (len > 0) {
		n = len < BUNDLE_BLOCK ? (size_t)len : BUNDLE_BLOCK;
		if ((r = spool_read(sp, off, blk, n, err)) != 0 ||
		    (r = container_w_data(c, blk, n, err)) != 0)
			return r;
		fed(w, n);
		off += n;
		len -= n;
	}
	return 0;
}

static int
cmp_vrec(const void *a, const void *b)
{
	return memcmp(((const struct vrec *)a)->hash,
	    ((const struct vrec *)b)->hash, BUNDLE_HASH_LEN);
}

/* Writes the members, in order, into the archive. */
static int
write_members(struct bundle_writer *w, struct container_w *c,
    const struct buf *mf, char *err)
{
	struct bundle_member mb;
	char name[MEMBER_NAME_MAX];
	uint8_t *blk = NULL;
	uint64_t off;
	size_t i;
	int r = MULE_EINTERNAL;

	if ((blk = malloc(BUNDLE_BLOCK)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = container_w_member(c, "MANIFEST", mf->len, err)) != 0 ||
	    (r = container_w_data(c, mf->d, mf->len, err)) != 0)
		goto out;
	fed(w, mf->len);
	for (i = 0, off = 0; i < w->schema.n; i++) {
		member_name(&w->schema.m[i], name);
		if ((r = container_w_member(c, name, w->schema.m[i].size,
		    err)) != 0 || (r = copy_spool(w, c, &w->sp_schema, off,
		    w->schema.m[i].size, blk, err)) != 0)
			goto out;
		off += w->schema.m[i].size;
	}
	for (i = 0; i < w->nvals; i++) {
		memset(&mb, 0, sizeof(mb));
		mb.kind = MEMBER_VALUE;
		memcpy(mb.hash, w->vals[i].hash, BUNDLE_HASH_LEN);
		member_name(&mb, name);
		if ((r = container_w_member(c, name, w->vals[i].len,
		    err)) != 0 || (r = copy_spool(w, c, &w->sp_values,
		    w->vals[i].off, w->vals[i].len, blk, err)) != 0)
			goto out;
	}
	for (i = 0, off = 0; i < w->rows.n; i++) {
		member_name(&w->rows.m[i], name);
		if ((r = container_w_member(c, name, w->rows.m[i].size,
		    err)) != 0 || (r = copy_spool(w, c, &w->sp_rows, off,
		    w->rows.m[i].size, blk, err)) != 0)
			goto out;
		off += w->rows.m[i].size;
	}
	r = 0;
out:
	free(blk);
	return r;
}

/* Builds the MANIFEST text (values sorted by hash). */
static int
build_manifest(struct bundle_writer *w, const struct manifest *m,
    struct buf *mf, char *err)
{
	struct member_list ml;
	struct bundle_member mb;
	size_t i;
	int r = MULE_EINTERNAL;

	member_list_init(&ml);
	if (w->nvals > 1)
		qsort(w->vals, w->nvals, sizeof(*w->vals), cmp_vrec);
	/* The hash slots index the old order; they are not needed now. */
	free(w->vslots);
	w->vslots = NULL;
	w->nvslots = 0;
	for (i = 0; i < w->schema.n && r != MULE_ENOMEM; i++)
		r = member_list_add(&ml, &w->schema.m[i]);
	for (i = 0; i < w->nvals && r != MULE_ENOMEM; i++) {
		memset(&mb, 0, sizeof(mb));
		mb.kind = MEMBER_VALUE;
		mb.size = w->vals[i].len;
		mb.vtype = w->vals[i].type;
		memcpy(mb.hash, w->vals[i].hash, BUNDLE_HASH_LEN);
		r = member_list_add(&ml, &mb);
	}
	for (i = 0; i < w->rows.n && r != MULE_ENOMEM; i++)
		r = member_list_add(&ml, &w->rows.m[i]);
	if (r == MULE_ENOMEM || r == MULE_ETOOLARGE) {
		r = mule_errf(err, r, r == MULE_ENOMEM ? "out of memory" :
		    "more than BUNDLE_MAX_MEMBERS archive members");
		goto out;
	}
	r = manifest_encode(m, &ml, mf, err);
out:
	member_list_release(&ml);
	return r;
}

/*
 * Starts the output o of writer w: fills the outer header for bundle
 * `id`, starts the encryption and seals the file key to each recipient,
 * and writes the header.  On failure o->enc_live says whether o->enc
 * needs releasing.
 */
static int
write_envelope(struct bundle_writer *w, struct wout *o,
    const uint8_t id[BUNDLE_ID_LEN], char *err)
{
	struct bundle_info *info = NULL;
	uint8_t (*kb)[SEAL_KEYBOX_LEN] = NULL;
	uint8_t sealhdr[SEAL_HEADER_LEN];
	struct buf hb;
	size_t i;
	int r = MULE_EINTERNAL;

	buf_init(&hb);
	if ((info = calloc(1, sizeof(*info))) == NULL ||
	    (w->nto > 0 && (kb = calloc(w->nto, sizeof(*kb))) == NULL)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	info->version = BUNDLE_VERSION;
	info->encrypted = w->encrypt;
	memcpy(info->bundle_id, id, BUNDLE_ID_LEN);
	memcpy(info->sender_site, w->me->site_id, SITE_ID_LEN);
	memcpy(info->sender_key, w->me->pub.key_id, IDENT_KEYID_LEN);
	info->nrecipients = w->nto;
	for (i = 0; i < w->nto; i++)
		memcpy(info->recipient_keys[i], w->to[i].key_id,
		    IDENT_KEYID_LEN);
	if (w->encrypt) {
		if ((r = seal_enc_init(&o->enc, enc_out, o)) != 0) {
			r = mule_errf(err, r, "cannot start encryption: %s",
			    mule_strerror(r));
			goto out;
		}
		o->enc_live = 1;
		seal_enc_place(&o->enc, enc_place);
		for (i = 0; i < w->nto; i++)
			if ((r = seal_enc_keybox(&o->enc, &w->to[i],
			    kb[i])) != 0) {
				r = mule_errf(err, r, "cannot seal the file key: "
				    "%s", mule_strerror(r));
				goto out;
			}
		if ((r = seal_enc_header(&o->enc, sealhdr)) != 0) {
			r = mule_errf(err, r, "cannot start encryption: %s",
			    mule_strerror(r));
			goto out;
		}
	}
	if ((r = envelope_encode(&hb, info, w->encrypt ?
	    (const uint8_t (*)[SEAL_KEYBOX_LEN])kb : NULL, sealhdr)) != 0) {
		r = mule_errf(err, r, "out of memory");
		goto out;
	}
	if ((r = raw_out(o, hb.d, hb.len, err)) != 0)
		goto out;
	r = 0;
out:
	free(info);
	free(kb);
	buf_release(&hb);
	return r;
}

/* Ends the encryption, signs, and commits the file; *total its size. */
static int
write_signature(struct bundle_writer *w, struct wout *o, uint64_t *total,
    char *err)
{
	uint8_t sig[SIG_LEN];
	int r = MULE_EINTERNAL;

	if (w->encrypt && (r = seal_enc_final(&o->enc)) != 0) {
		if (o->code != 0) {
			r = o->code;
			if (err != NULL)
				memcpy(err, o->msg, MULE_ERRLEN);
		} else
			r = mule_errf(err, r, "encryption failed: %s",
			    mule_strerror(r));
		goto out;
	}
	if ((r = run_flush(o, err)) != 0)
		goto out;
	if ((r = sig_sign(&o->sc, w->me, sig)) != 0) {
		r = mule_errf(err, r, "cannot sign the bundle: %s",
		    mule_strerror(r));
		goto out;
	}
	if ((r = safefile_write(&w->sf, sig, SIG_LEN, err)) != 0)
		goto out;
	*total = w->sf.written;
	w->sf_open = 0;
	if ((r = safefile_commit(&w->sf, err)) != 0)
		goto out;
	r = 0;
out:
	return r;
}

int
bundle_writer_finish(struct bundle_writer *w, struct manifest *m,
    uint64_t *size, char *err)
{
	struct wout *o = NULL;
	struct container_w *c = NULL;
	struct manifest mc;
	struct buf mf;
	uint64_t total = 0;
	int r = MULE_EINTERNAL;

	buf_init(&mf);
	if ((r = writer_usable(w, err)) != 0)
		goto out;
	if (w->in_table) {
		if ((r = segment_flush(w, err)) != 0)
			goto out;
		w->in_table = 0;
	}
	/* A shallow copy: the heap fields stay the caller's. */
	mc = *m;
	memcpy(mc.from, w->me->site_id, SITE_ID_LEN);
	mc.ntables = w->ntables;
	mc.nrows = w->nrows;
	mc.ncells = w->ncells;
	mc.nvalues = w->nvals;
	mc.nschema = w->schema.n;
	if ((r = build_manifest(w, &mc, &mf, err)) != 0)
		goto out;
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	o->w = w;
	/* The signature's hash runs in a second thread, overlapping the
	 * encryption and the writes (inline if no thread can start). */
	(void)sig_init_threaded(&o->sc);
	if ((r = write_envelope(w, o, mc.bundle_id, err)) != 0)
		goto out;
	w->phase = w->encrypt ? PROGRESS_SEALING : PROGRESS_COMPRESSING;
	w->feed = w->sp_schema.size + w->sp_values.size + w->sp_rows.size +
	    mf.len;
	w->fed = 0;
	progress_report(w->progress, w->parg, w->phase, 0, w->feed);
	if ((r = container_w_open(&c, archive_out, o, w->sp_schema.size +
	    w->sp_values.size + w->sp_rows.size + mf.len, err)) != 0 ||
	    (r = write_members(w, c, &mf, err)) != 0 ||
	    (r = container_w_close(c, err)) != 0)
		goto out;
	if ((r = write_signature(w, o, &total, err)) != 0)
		goto out;
	memcpy(m->from, mc.from, SITE_ID_LEN);
	m->ntables = mc.ntables;
	m->nrows = mc.nrows;
	m->ncells = mc.ncells;
	m->nvalues = mc.nvalues;
	m->nschema = mc.nschema;
	*size = total;
	r = 0;
out:
	if (r != 0)
		w->failed = 1;
	container_w_free(c);
	if (o != NULL) {
		sig_release(&o->sc);
		if (o->enc_live)
			seal_enc_release(&o->enc);
		sodium_memzero(o, sizeof(*o));
		free(o);
	}
	buf_release(&mf);
	return r;
}
