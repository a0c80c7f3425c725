/*
 * bundle/container.c — the inner archive: a zstd-compressed pax tar
 * written and read with libarchive through callbacks, so that the bytes
 * stream into the encryptor and out of the decryptor without a temporary
 * copy; and the reader's member-by-member checks against MANIFEST.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include "bundle/internal.h"
#include "core/error.h"

/* ---- writing ---- */

struct container_w {
	struct archive *a;
	struct archive_entry *e;
	ZSTD_CCtx *z;			/* compresses the tar stream */
	uint8_t *zbuf;
	size_t zcap;
	container_out_fn fn;
	void *arg;
	int code;			/* error from fn */
	char msg[MULE_ERRLEN];
	uint64_t left;			/* bytes still owed to the member */
	int in_member;
};

/* Compresses and hands on `n` bytes (or, with `end`, finishes the frame). */
static int
z_push(struct container_w *c, const void *p, size_t n, int end)
{
	ZSTD_inBuffer in = { p, n, 0 };
	ZSTD_outBuffer o;
	size_t left;
	int r;

	do {
		o.dst = c->zbuf;
		o.size = c->zcap;
		o.pos = 0;
		left = ZSTD_compressStream2(c->z, &o, &in,
		    end ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(left)) {
			snprintf(c->msg, sizeof(c->msg), "zstd: %s",
			    ZSTD_getErrorName(left));
			return MULE_EARCHIVE;
		}
		if (o.pos > 0 && (r = c->fn(c->arg, c->zbuf, o.pos,
		    c->msg)) != 0)
			return r;
	} while (end ? left != 0 : in.pos < in.size);
	return 0;
}

static la_ssize_t
w_cb(struct archive *a, void *ctx, const void *p, size_t n)
{
	struct container_w *c = ctx;
	int r;

	if ((r = z_push(c, p, n, 0)) != 0) {
		c->code = r;
		archive_set_error(a, EIO, "%s", c->msg);
		return -1;
	}
	return (la_ssize_t)n;
}

/*
 * zstd at level BUNDLE_ZSTD_LEVEL with a shallower search
 * (BUNDLE_ZSTD_SEARCHLOG; lower levels for bulk payloads over 8 MiB, so
 * a --full pack of a big database does not crawl), with its window and
 * tables cut to the payload's size so that memory stays under
 * BUNDLE_ZSTD_MAXLOG's worth (about 13 × 2^log bytes) however large the
 * bundle.
 */
static int
z_setup(struct container_w *c, uint64_t size_hint)
{
	unsigned wlog = 10;
	int level;

	while (wlog < BUNDLE_ZSTD_MAXLOG && ((uint64_t)1 << wlog) < size_hint)
		wlog++;
	/* The strongest level for everyday bundles, faster ones for bulk. */
	level = size_hint <= ((uint64_t)8 << 20) ? BUNDLE_ZSTD_LEVEL :
	    size_hint <= ((uint64_t)128 << 20) ? 12 : 6;
	if ((c->z = ZSTD_createCCtx()) == NULL ||
	    (c->zbuf = malloc(ZSTD_CStreamOutSize())) == NULL)
		return MULE_ENOMEM;
	c->zcap = ZSTD_CStreamOutSize();
	if (ZSTD_isError(ZSTD_CCtx_setParameter(c->z, ZSTD_c_compressionLevel,
	    level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->z, ZSTD_c_windowLog,
	    (int)wlog)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->z, ZSTD_c_chainLog,
	    (int)wlog + 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->z, ZSTD_c_hashLog,
	    (int)wlog)) ||
	    (level == BUNDLE_ZSTD_LEVEL && ZSTD_isError(ZSTD_CCtx_setParameter(
	    c->z, ZSTD_c_searchLog, BUNDLE_ZSTD_SEARCHLOG))) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->z, ZSTD_c_checksumFlag, 1)))
		return MULE_EARCHIVE;
	return 0;
}

/*
 * The error for a failed libarchive call on `a`: the code and message a
 * callback of ours left (code != 0) win over libarchive's own words.
 */
static int
archive_fail(struct archive *a, int code, const char *msg, char *err,
    const char *what)
{
	if (code != 0) {
		if (err != NULL)
			memcpy(err, msg, MULE_ERRLEN);
		return code;
	}
	return mule_errf(err, MULE_EARCHIVE, "%s: %s", what,
	    archive_error_string(a) ? archive_error_string(a) :
	    "libarchive failed");
}

static int
w_err(struct container_w *c, char *err, const char *what)
{
	return archive_fail(c->a, c->code, c->msg, err, what);
}

int
container_w_open(struct container_w **out, container_out_fn fn, void *arg,
    uint64_t size_hint, char *err)
{
	struct container_w *c;
	int r = MULE_EINTERNAL;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	c->fn = fn;
	c->arg = arg;
	if ((c->a = archive_write_new()) == NULL ||
	    (c->e = archive_entry_new()) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = z_setup(c, size_hint)) != 0) {
		r = mule_errf(err, r, "cannot start zstd");
		goto out;
	}
	/* The tar framing is libarchive's; the zstd layer is ours (above). */
	if (archive_write_set_format_pax_restricted(c->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(c->a, 1) != ARCHIVE_OK ||
	    archive_write_open(c->a, c, NULL, w_cb, NULL) != ARCHIVE_OK) {
		r = w_err(c, err, "cannot start the archive");
		goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	container_w_free(c);
	return r;
}

int
container_w_member(struct container_w *c, const char *name, uint64_t size,
    char *err)
{
	if (c->in_member && c->left != 0)
		return mule_errf(err, MULE_EINTERNAL, "archive member short");
	archive_entry_clear(c->e);
	archive_entry_set_pathname(c->e, name);
	archive_entry_set_size(c->e, (la_int64_t)size);
	archive_entry_set_filetype(c->e, AE_IFREG);
	archive_entry_set_perm(c->e, 0644);
	archive_entry_set_mtime(c->e, 0, 0);
	if (archive_write_header(c->a, c->e) != ARCHIVE_OK)
		return w_err(c, err, name);
	c->left = size;
	c->in_member = 1;
	return 0;
}

int
container_w_data(struct container_w *c, const void *p, size_t n, char *err)
{
	const uint8_t *u = p;
	la_ssize_t w;

	if (!c->in_member || n > c->left)
		return mule_errf(err, MULE_EINTERNAL,
		    "archive member overrun");
	while (n > 0) {
		w = archive_write_data(c->a, u, n);
		if (w <= 0)
			return w_err(c, err, "writing the archive");
		u += w;
		n -= (size_t)w;
		c->left -= (uint64_t)w;
	}
	if (c->left == 0) {
		c->in_member = 0;
		if (archive_write_finish_entry(c->a) != ARCHIVE_OK)
			return w_err(c, err, "writing the archive");
	}
	return 0;
}

int
container_w_close(struct container_w *c, char *err)
{
	if (c->in_member)
		return mule_errf(err, MULE_EINTERNAL, "archive member short");
	if (archive_write_close(c->a) != ARCHIVE_OK)
		return w_err(c, err, "finishing the archive");
	if ((c->code = z_push(c, NULL, 0, 1)) != 0)
		return w_err(c, err, "finishing the archive");
	return 0;
}

void
container_w_free(struct container_w *c)
{
	if (c == NULL)
		return;
	if (c->a != NULL)
		archive_write_free(c->a);
	if (c->e != NULL)
		archive_entry_free(c->e);
	ZSTD_freeCCtx(c->z);
	free(c->zbuf);
	free(c);
}

/* ---- reading ---- */

struct container_r {
	struct archive *a;
	container_in_fn fn;
	void *arg;
	int code;
	char msg[MULE_ERRLEN];

	const struct inner_opts *o;
	const struct bundle_sink *sink;
	struct manifest m;
	struct member_list ml;
	int have_manifest;
	size_t next;			/* next member index in ml */
	size_t vbeg, vend;		/* value members in ml */
	struct segment_hdr prev;
	int have_table;
	int have_schema;
	uint32_t last_version;
	uint64_t ntables, nrows, ncells;
};

static la_ssize_t
r_cb(struct archive *a, void *ctx, const void **bufp)
{
	struct container_r *c = ctx;
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = c->fn(c->arg, &p, &n, c->msg)) != 0) {
		c->code = r;
		archive_set_error(a, EIO, "%s", c->msg);
		return -1;
	}
	*bufp = p;
	return (la_ssize_t)n;
}

static int
r_err(struct container_r *c, char *err, const char *what)
{
	return archive_fail(c->a, c->code, c->msg, err, what);
}

static int
sink_err(char *err, int r, const char *name)
{
	return mule_errf(err, r, "while reading %s: %s", name,
	    mule_strerror(r));
}

static int
cmp_value_hash(const void *key, const void *elem)
{
	return memcmp(key, ((const struct bundle_member *)elem)->hash,
	    BUNDLE_HASH_LEN);
}

static int
do_manifest(struct container_r *c, const uint8_t *p, size_t n, char *err)
{
	int r;

	if ((r = manifest_parse(p, n, &c->m, &c->ml, err)) != 0)
		return r;
	/* Whether it agrees with the signed header: sync_manifest_check. */
	c->vbeg = c->ml.nschema;
	c->vend = c->vbeg + c->ml.nvalues;
	c->have_manifest = 1;
	if (c->sink->manifest != NULL &&
	    (r = c->sink->manifest(c->sink->arg, &c->m)) != 0)
		return sink_err(err, r, "MANIFEST");
	return 0;
}

static int
do_schema(struct container_r *c, const char *name, uint8_t *p, size_t n,
    char *err)
{
	struct bundle_schema s;
	size_t hl;
	int r;

	memset(&s, 0, sizeof(s));
	if ((r = schema_header_parse(p, n, &s.version, s.fpr, &hl, err)) != 0)
		return mule_errprefix(err, r, "%s", name);
	s.sql = (char *)p + hl;
	s.len = n - hl;
	if (s.len > BUNDLE_MAX_SCHEMA_SQL)
		return mule_errf(err, MULE_ETOOLARGE, "%s: SQL longer than %u "
		    "bytes", name, BUNDLE_MAX_SCHEMA_SQL);
	if (memchr(s.sql, '\0', s.len) != NULL)
		return mule_errf(err, MULE_EFORMAT, "%s: SQL contains a NUL "
		    "byte", name);
	if (c->have_schema && s.version <= c->last_version)
		return mule_errf(err, MULE_EFORMAT, "%s: schema version %"
		    PRIu32 " does not follow %" PRIu32, name, s.version,
		    c->last_version);
	c->have_schema = 1;
	c->last_version = s.version;
	p[n] = '\0';
	if (c->sink->schema != NULL && (r = c->sink->schema(c->sink->arg,
	    &s)) != 0)
		return sink_err(err, r, name);
	return 0;
}

static int
do_rows(struct container_r *c, const char *name, const uint8_t *p, size_t n,
    char *err)
{
	struct segment_dec d;
	const struct rowchange *rc;
	uint32_t i;
	int r = MULE_EINTERNAL;

	segment_dec_init(&d);
	if ((r = segment_dec_open(&d, p, n, err)) != 0) {
		r = mule_errprefix(err, r, "%s", name);
		goto out;
	}
	if (!d.cont) {
		if ((r = segment_hdr_copy(&c->prev, d.h.table, d.h.ncols,
		    (const char *const *)d.h.cols, d.h.npk,
		    d.h.pkcols)) != 0) {
			r = mule_errf(err, r, "out of memory");
			goto out;
		}
		c->have_table = 1;
		c->ntables++;
		if (c->sink->table != NULL && (r = c->sink->table(c->sink->arg,
		    d.h.table, d.h.ncols, (const char *const *)d.h.cols,
		    d.h.npk, d.h.pkcols)) != 0) {
			r = sink_err(err, r, name);
			goto out;
		}
	} else if (!c->have_table || !segment_hdr_equal(&c->prev, &d.h)) {
		r = mule_errf(err, MULE_EFORMAT, "%s continues a table that "
		    "the previous segment did not start", name);
		goto out;
	}
	for (;;) {
		if ((r = segment_dec_next(&d, &rc, err)) != 0) {
			r = mule_errprefix(err, r, "%s", name);
			goto out;
		}
		if (rc == NULL)
			break;
		for (i = 0; i < rc->ncells; i++) {
			if (rc->cells[i].v.type != MVAL_REF)
				continue;
			if (bsearch(rc->cells[i].v.p, c->ml.m + c->vbeg,
			    c->vend - c->vbeg, sizeof(*c->ml.m),
			    cmp_value_hash) == NULL) {
				r = mule_errf(err, MULE_EFORMAT, "%s: table %s "
				    "refers to a value that is not in the "
				    "bundle", name, d.h.table);
				goto out;
			}
		}
		c->nrows++;
		c->ncells += rc->ncells;
		if (c->sink->row != NULL &&
		    (r = c->sink->row(c->sink->arg, rc)) != 0) {
			r = sink_err(err, r, name);
			goto out;
		}
	}
	r = 0;
out:
	segment_dec_release(&d);
	return r;
}

/*
 * Reads the current entry's `size` bytes into a new buffer (*out, with
 * one spare byte).  The buffer grows with the bytes that actually arrive,
 * so a header claiming a huge size costs nothing until the data is there.
 */
static int
read_member(struct container_r *c, size_t size, uint8_t **out,
    const char *name, char *err)
{
	uint8_t *p = NULL, *np;
	size_t got = 0, cap = size < (1u << 20) ? size : (1u << 20);
	la_ssize_t n;
	int r = MULE_EINTERNAL;

	if ((p = malloc(cap + 1)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory for %s", name);
		goto out;
	}
	while (got < size) {
		if (got == cap) {
			cap = cap > size / 2 ? size : cap * 2;
			if ((np = realloc(p, cap + 1)) == NULL) {
				r = mule_errf(err, MULE_ENOMEM,
				    "out of memory for %s", name);
				goto out;
			}
			p = np;
		}
		n = archive_read_data(c->a, p + got, cap - got);
		if (n < 0) {
			r = r_err(c, err, name);
			goto out;
		}
		if (n == 0) {
			r = mule_errf(err, MULE_EINCOMPLETE,
			    "archive member %s is truncated", name);
			goto out;
		}
		got += (size_t)n;
	}
	p[size] = '\0';
	*out = p;
	p = NULL;
	r = 0;
out:
	free(p);
	return r;
}

/*
 * Checks archive member e (called `name`) against what comes next: a
 * regular file, MANIFEST first and then the members it lists in order,
 * within its limit and of the size MANIFEST gives.  Sets *mb (NULL for
 * MANIFEST), *kind and *size.
 */
static int
entry_check(struct container_r *c, struct archive_entry *e, const char *name,
    const struct bundle_member **mb, int *kind, la_int64_t *size, char *err)
{
	const struct bundle_member *m = NULL;
	char want[MEMBER_NAME_MAX];
	la_int64_t n;
	int k, r = MULE_EINTERNAL;

	if (archive_entry_filetype(e) != AE_IFREG ||
	    archive_entry_hardlink(e) != NULL ||
	    archive_entry_symlink(e) != NULL) {
		r = mule_errf(err, MULE_EFORMAT, "archive member %.100s is "
		    "not a regular file", name);
		goto out;
	}
	if (!c->have_manifest) {
		k = MEMBER_MANIFEST;
		snprintf(want, sizeof(want), "MANIFEST");
	} else if (c->next < c->ml.n) {
		m = &c->ml.m[c->next];
		k = m->kind;
		member_name(m, want);
	} else {
		r = mule_errf(err, MULE_EFORMAT, "unexpected archive member "
		    "%.100s after the last one MANIFEST lists", name);
		goto out;
	}
	if (strcmp(name, want) != 0) {
		r = mule_errf(err, MULE_EFORMAT, "archive member %.100s where "
		    "%s was expected", name, want);
		goto out;
	}
	n = archive_entry_size(e);
	if (!archive_entry_size_is_set(e) || n < 0) {
		r = mule_errf(err, MULE_EFORMAT, "archive member %s has no "
		    "size", name);
		goto out;
	}
	if ((uint64_t)n > member_limit(k)) {
		r = mule_errf(err, MULE_ETOOLARGE, "archive member %s has %"
		    PRId64 " bytes (limit %" PRIu64 ")", name, (int64_t)n,
		    member_limit(k));
		goto out;
	}
	if (m != NULL && (uint64_t)n != m->size) {
		r = mule_errf(err, MULE_EFORMAT, "archive member %s has %"
		    PRId64 " bytes, MANIFEST says %" PRIu64, name,
		    (int64_t)n, m->size);
		goto out;
	}
	*mb = m;
	*kind = k;
	*size = n;
	r = 0;
out:
	return r;
}

static int
do_entry(struct container_r *c, struct archive_entry *e, char *err)
{
	const struct bundle_member *mb = NULL;
	uint8_t h[BUNDLE_HASH_LEN], *data = NULL;
	const char *name;
	la_int64_t size = 0;
	int kind = MEMBER_MANIFEST, r = MULE_EINTERNAL;

	if ((name = archive_entry_pathname(e)) == NULL) {
		r = mule_errf(err, MULE_EFORMAT, "archive member without a "
		    "name");
		goto out;
	}
	if ((r = entry_check(c, e, name, &mb, &kind, &size, err)) != 0)
		goto out;
	if ((r = read_member(c, (size_t)size, &data, name, err)) != 0)
		goto out;
	if (mb != NULL) {
		crypto_generichash(h, sizeof(h), data, (size_t)size, NULL, 0);
		if (sodium_memcmp(h, mb->hash, BUNDLE_HASH_LEN) != 0) {
			r = mule_errf(err, MULE_EFORMAT, "archive member %s does "
			    "not match its hash in MANIFEST", name);
			goto out;
		}
		c->next++;
	}
	switch (kind) {
	case MEMBER_MANIFEST:
		r = do_manifest(c, data, (size_t)size, err);
		break;
	case MEMBER_SCHEMA:
		r = do_schema(c, name, data, (size_t)size, err);
		break;
	case MEMBER_VALUE:
		r = 0;
		if (c->sink->value != NULL && (r = c->sink->value(c->sink->arg,
		    mb->hash, mb->vtype, data, (size_t)size)) != 0)
			r = sink_err(err, r, name);
		break;
	case MEMBER_ROWS:
		r = do_rows(c, name, data, (size_t)size, err);
		break;
	}
out:
	free(data);
	return r;
}

int
container_read(container_in_fn fn, void *arg, const struct inner_opts *o,
    const struct bundle_sink *sink, char *err)
{
	struct container_r c;
	struct archive_entry *e;
	int ar, r = MULE_EINTERNAL;

	memset(&c, 0, sizeof(c));
	c.fn = fn;
	c.arg = arg;
	c.o = o;
	c.sink = sink;
	manifest_init(&c.m);
	member_list_init(&c.ml);
	if ((c.a = archive_read_new()) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if (archive_read_support_format_tar(c.a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(c.a) != ARCHIVE_OK ||
	    archive_read_open(c.a, &c, NULL, r_cb, NULL) != ARCHIVE_OK) {
		r = r_err(&c, err, "cannot read the payload archive");
		goto out;
	}
	for (;;) {
		ar = archive_read_next_header(c.a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK) {
			r = r_err(&c, err, "payload archive");
			goto out;
		}
		if (o->require_zstd && (archive_filter_count(c.a) != 2 ||
		    archive_filter_code(c.a, 0) != ARCHIVE_FILTER_ZSTD)) {
			r = mule_errf(err, MULE_EFORMAT, "the payload is not a "
			    "zstd-compressed archive");
			goto out;
		}
		if ((r = do_entry(&c, e, err)) != 0)
			goto out;
	}
	if (!c.have_manifest) {
		r = mule_errf(err, MULE_EFORMAT, "the payload archive has no "
		    "MANIFEST");
		goto out;
	}
	if (c.next != c.ml.n) {
		char want[MEMBER_NAME_MAX];

		member_name(&c.ml.m[c.next], want);
		r = mule_errf(err, MULE_EINCOMPLETE, "the payload archive "
		    "ends before member %s", want);
		goto out;
	}
	if (c.ntables != c.m.ntables || c.nrows != c.m.nrows ||
	    c.ncells != c.m.ncells) {
		r = mule_errf(err, MULE_EFORMAT, "MANIFEST counts %" PRIu64
		    " tables, %" PRIu64 " rows, %" PRIu64 " cells; the "
		    "segments hold %" PRIu64 ", %" PRIu64 ", %" PRIu64,
		    c.m.ntables, c.m.nrows, c.m.ncells, c.ntables, c.nrows,
		    c.ncells);
		goto out;
	}
	r = 0;
out:
	if (c.a != NULL)
		archive_read_free(c.a);
	segment_hdr_release(&c.prev);
	manifest_release(&c.m);
	member_list_release(&c.ml);
	return r;
}

/* ---- in-memory source (fuzzing, tests) ---- */

struct mem_src {
	const uint8_t *p;
	size_t n;
	int done;
};

static int
mem_next(void *arg, const uint8_t **p, size_t *n, char *err)
{
	struct mem_src *m = arg;

	(void)err;
	*p = m->p;
	*n = m->done ? 0 : m->n;
	m->done = 1;
	return 0;
}

int
bundle_parse_inner(const uint8_t *p, size_t n, int require_zstd,
    const struct bundle_sink *sink, char *err)
{
	struct mem_src m = { p, n, 0 };
	struct inner_opts o;

	memset(&o, 0, sizeof(o));
	o.require_zstd = require_zstd;
	return container_read(mem_next, &m, &o, sink, err);
}
