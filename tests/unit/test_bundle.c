/*
 * tests/unit/test_bundle.c — unit tests for bundle/: round trips through
 * real files, tampering, truncation, wrong keys, and the MANIFEST and
 * segment parsers fed bad input.
 *
 * With MULE_FUZZ_SEEDS=DIR set, the tests also write small sample inputs
 * for the fuzz targets into DIR/bundle, DIR/manifest and DIR/segment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/scratch.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>

#include "bundle/bundle.h"
#include "bundle/internal.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/file.h"
#include "replica/internal.h"
#include "crypto/ident.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MIB (1024u * 1024u)

static struct ident_secret *alice, *bob, *carol, *dave, *eve;

/* ------------------------------------------------------------------ */
/* fixtures                                                            */
/* ------------------------------------------------------------------ */

static struct ident_secret *
mk_ident(uint8_t tag)
{
	uint8_t site[IDENT_SITE_LEN];
	struct ident_secret *s = NULL;
	char err[MULE_ERRLEN];

	memset(site, tag, sizeof(site));
	assert_int_equal(ident_generate(site, &s, err), 0);
	return s;
}

static int
setup(void **state)
{
	(void)state;
	if (scratch_setup("mule-bundle") != 0)
		return -1;
	if (ident_lib_init() != 0)
		return -1;
	alice = mk_ident(0xa1);
	bob = mk_ident(0xb0);
	carol = mk_ident(0xc0);
	dave = mk_ident(0xd0);
	eve = mk_ident(0xee);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	ident_secret_free(alice);
	ident_secret_free(bob);
	ident_secret_free(carol);
	ident_secret_free(dave);
	ident_secret_free(eve);
	scratch_teardown();
	return 0;
}

static char *
tpath(const char *name)
{
	static char p[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
	return p[k];
}

static uint64_t
fsize(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/*
 * Copies a sample input for a fuzz target when MULE_FUZZ_SEEDS is set,
 * after a one-byte mode prefix unless `prefix` is negative.
 */
static void
seed(const char *target, const char *name, int prefix, const uint8_t *p,
    size_t n)
{
	const char *dir = getenv("MULE_FUZZ_SEEDS");
	char path[1024];
	uint8_t *q;

	if (dir == NULL || n > 64 * 1024)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	q = malloc(n + 1);
	q[0] = (uint8_t)prefix;
	memcpy(q + 1, p, n);
	if (prefix < 0)
		spit(path, p, n);
	else
		spit(path, q, n + 1);
	free(q);
}

/* ------------------------------------------------------------------ */
/* a deterministic data generator                                      */
/* ------------------------------------------------------------------ */

static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void
fill(uint8_t *p, size_t n, uint64_t seedv)
{
	size_t i;
	uint64_t x = seedv;

	for (i = 0; i < n; i++) {
		if (i % 8 == 0)
			x = mix(x + i);
		p[i] = (uint8_t)(x >> (8 * (i % 8)));
	}
}

#define BIG_LEN (3 * MIB)
static uint8_t *big, *big2, *mid;		/* 3 MiB, 3 MiB, 100 KiB */

static uint8_t origins[5][SITE_ID_LEN];

struct gtable {
	const char *name;
	uint32_t ncols;
	const char *cols[6];
	uint32_t npk;
	uint32_t pk[2];
	uint64_t nrows;
};

struct gen {
	const struct gtable *t;
	size_t nt;
	struct mval pk[2];
	struct cell cells[6];
	struct vec_entry ctx[6][2];	/* the cells' causal contexts */
	uint8_t bytes[6][80 * 1024];
	char text[6][64];
	struct rowchange rc;
};

static const struct gtable gtables_full[] = {
	{ "people", 5, { "id", "name", "photo", "score", "note" }, 1, { 0 },
	    64 },
	{ "pairs with space", 3, { "a", "b", "v" }, 2, { 1, 0 }, 50 },
	{ "empty", 2, { "k", "v" }, 1, { 0 }, 0 },
	{ "bulk", 2, { "k", "blob" }, 1, { 0 }, 260 },
	{ "small", 3, { "k", "x", "y" }, 1, { 0 }, 40000 },
};

static const struct gtable gtables_small[] = {
	{ "people", 5, { "id", "name", "photo", "score", "note" }, 1, { 0 },
	    24 },
	{ "pairs with space", 3, { "a", "b", "v" }, 2, { 1, 0 }, 10 },
};

static void
gen_globals(void)
{
	size_t i;

	for (i = 0; i < NELEM(origins); i++)
		memset(origins[i], (int)(0x10 * (i + 1)), SITE_ID_LEN);
	if (big == NULL) {
		big = malloc(BIG_LEN);
		big2 = malloc(BIG_LEN);
		mid = malloc(100 * 1024);
		fill(big, BIG_LEN, 1);
		fill(big2, BIG_LEN, 2);
		fill(mid, 100 * 1024, 3);
	}
}

static void
gen_init(struct gen *g, const struct gtable *t, size_t nt)
{
	memset(g, 0, sizeof(*g));
	g->t = t;
	g->nt = nt;
	gen_globals();
}

static void
set_int(struct mval *v, int64_t i)
{
	memset(v, 0, sizeof(*v));
	v->type = MVAL_INT;
	v->i = i;
}

static void
set_real(struct mval *v, double f)
{
	memset(v, 0, sizeof(*v));
	v->type = MVAL_REAL;
	v->f = f;
}

static void
set_bytes(struct mval *v, int type, const void *p, size_t n)
{
	memset(v, 0, sizeof(*v));
	v->type = type;
	v->p = p;
	v->n = n;
}

static void
set_stamp(struct stamp *st, uint64_t l, unsigned o)
{
	st->lamport = l;
	memcpy(st->origin, origins[o % NELEM(origins)], SITE_ID_LEN);
}

static const int64_t special_ints[] = {
	0, -1, 1, INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1, 63, -64,
	64, -65, 127, 128,
};

/* Gives cell n a context of k entries. */
static void
gen_ctx(struct gen *g, uint32_t n, uint64_t i, int k)
{
	struct stamp st;
	int e;

	g->cells[n].nctx = (uint32_t)k;
	g->cells[n].ctx = k ? g->ctx[n] : NULL;
	for (e = 0; e < k; e++) {
		set_stamp(&st, i + 7 - (uint64_t)e * 2, 2 + (unsigned)e);
		memcpy(g->ctx[n][e].origin, st.origin, SITE_ID_LEN);
		g->ctx[n][e].counter = st.lamport;
	}
}

/*
 * The cells of row i of table people (every type, the large values,
 * contexts and each kind of base) into g->cells; x is the row's mix.
 * Returns how many.
 */
static uint32_t
gen_people(struct gen *g, uint64_t i, uint64_t x)
{
	struct rowchange *rc = &g->rc;
	uint64_t nanbits = 0x7ff8dead0000beefULL;
	uint32_t n = 0;
	double nanv;

	memcpy(&nanv, &nanbits, sizeof(nanv));
	set_int(&g->pk[0], i < NELEM(special_ints) ?
	    special_ints[i] : (int64_t)(i * 7919) - 100000);
	if (rc->cl % 2 == 0 && i % 8 == 3) {
		/* A deletion saying what it knew of two columns. */
		g->cells[n].col = 1;
		g->cells[n].has_base = 1;
		g->cells[n].base = (uint32_t)(i * 2654435761u);
		if (i % 16 == 11) {
			/* ... of the incarnation it names. */
			rc->has_gone = 1;
			set_stamp(&rc->gone, i, 1);
			g->cells[n].has_base = CELL_BASE_ROW;
			g->cells[n].base = 0;
		}
		n++;
		g->cells[n].col = 4;
		gen_ctx(g, n, i, 2);
		n++;
	}
	if (rc->cl % 2 == 0)
		return n;
	if (i % 2 == 0 || i < 10) {
		snprintf(g->text[1], sizeof(g->text[1]),
		    "name-%llu é", (unsigned long long)i);
		set_bytes(&g->cells[n].v, MVAL_TEXT, g->text[1],
		    i % 5 == 0 ? 0 : strlen(g->text[1]));
		g->cells[n].col = 1;
		set_stamp(&g->cells[n].st, i, (unsigned)i);
		n++;
	}
	g->cells[n].col = 2;
	if (i == 10 || i == 20)
		set_bytes(&g->cells[n].v, MVAL_BLOB, big, BIG_LEN);
	else if (i == 12)
		set_bytes(&g->cells[n].v, MVAL_TEXT, big, BIG_LEN);
	else if (i == 30)
		set_bytes(&g->cells[n].v, MVAL_BLOB, big2, BIG_LEN);
	else if (i == 40)
		set_bytes(&g->cells[n].v, MVAL_BLOB, mid, 100 * 1024);
	else if (i == 41)	/* exactly the inline limit */
		set_bytes(&g->cells[n].v, MVAL_BLOB, mid,
		    BUNDLE_MAX_INLINE);
	else if (i == 42)	/* one byte above */
		set_bytes(&g->cells[n].v, MVAL_BLOB, mid,
		    BUNDLE_MAX_INLINE + 1);
	else if (i % 7 == 0)
		set_bytes(&g->cells[n].v, MVAL_BLOB, "", 0);
	else {
		fill(g->bytes[2], 100, x);
		set_bytes(&g->cells[n].v, MVAL_BLOB, g->bytes[2],
		    x % 100);
	}
	set_stamp(&g->cells[n].st, UINT64_MAX - i, (unsigned)i + 1);
	n++;
	if (i % 3 != 2) {
		g->cells[n].col = 3;
		if (i == 1)
			set_real(&g->cells[n].v, -0.0);
		else if (i == 2)
			set_real(&g->cells[n].v, nanv);
		else if (i == 3)
			set_real(&g->cells[n].v, INFINITY);
		else if (i == 4)
			set_real(&g->cells[n].v, -INFINITY);
		else if (i == 5)
			set_real(&g->cells[n].v, 5e-324);
		else
			set_real(&g->cells[n].v, 1.5 * (double)i);
		set_stamp(&g->cells[n].st, 0, 0);
		if (i % 6 == 1)	/* a baseline: its own base */
			g->cells[n].has_base = CELL_BASE_SELF;
		n++;
	}
	g->cells[n].col = 4;
	if (i % 3 == 0)
		memset(&g->cells[n].v, 0, sizeof(g->cells[n].v));
	else
		set_int(&g->cells[n].v, i < NELEM(special_ints) ?
		    special_ints[NELEM(special_ints) - 1 - i] :
		    -(int64_t)i);
	set_stamp(&g->cells[n].st, i, 4);
	/* Now and then a cell with a causal context and a base. */
	gen_ctx(g, n, i, i % 10 == 0 ? 2 : i % 5 == 0);
	if (i % 4 == 1) {
		g->cells[n].has_base = 1;
		g->cells[n].base = (uint32_t)i * 40503u;
	} else if (i % 8 == 6) {	/* its row's original baseline */
		g->cells[n].has_base = CELL_BASE_ROW;
	}
	n++;
	return n;
}

/*
 * A full live row of inline values gets its true hash (its receiver
 * computes it, replica/'s row_hash_vals defines it); any other keeps the
 * filled one, which travels.
 */
static void
gen_hash(struct rowchange *rc, uint32_t ncols)
{
	struct mval v[6];
	uint32_t i;

	if (rc->cl % 2 == 0 || rc->ncells != ncols || ncols > NELEM(v))
		return;
	for (i = 0; i < rc->ncells; i++) {
		if (rc->cells[i].col != i || rc->cells[i].v.type == MVAL_REF ||
		    ((rc->cells[i].v.type == MVAL_TEXT ||
		    rc->cells[i].v.type == MVAL_BLOB) &&
		    rc->cells[i].v.n > BUNDLE_MAX_INLINE))
			return;
		v[i] = rc->cells[i].v;
	}
	row_hash_vals(v, rc->ncells, rc->hash, NULL);
}

/* Makes row i of table t in g->rc. */
static void
gen_row(struct gen *g, size_t t, uint64_t i)
{
	struct rowchange *rc = &g->rc;
	uint64_t x = mix(t * 1000003 + i);
	uint32_t n = 0;

	memset(rc, 0, sizeof(*rc));
	memset(g->cells, 0, sizeof(g->cells));
	rc->pk = g->pk;
	rc->cells = g->cells;
	rc->npk = g->t[t].npk;
	rc->cl = (i % 4 == 3) ? 2 : (i % 4 == 1 ? 3 : 1);
	set_stamp(&rc->cl_stamp, i * 3 + t, (unsigned)(x % 5));
	if (rc->cl % 2 == 1)
		fill(rc->hash, ROW_HASH_LEN, x);
	switch (t) {
	case 0:		/* people: every type */
		n = gen_people(g, i, x);
		break;
	case 1:		/* pairs: composite key (b, a) */
		snprintf(g->text[0], sizeof(g->text[0]), "b %llu",
		    (unsigned long long)(i / 3));
		set_bytes(&g->pk[0], MVAL_TEXT, g->text[0],
		    strlen(g->text[0]));
		set_int(&g->pk[1], (int64_t)i % 3 - 1);
		if (rc->cl % 2 == 1) {
			g->cells[n].col = 2;
			if (i % 2)
				set_real(&g->cells[n].v, (double)i / 7.0);
			else
				memset(&g->cells[n].v, 0,
				    sizeof(g->cells[n].v));
			set_stamp(&g->cells[n].st, i, 2);
			n++;
		}
		break;
	case 3:		/* bulk: 40 KiB incompressible blobs */
		set_int(&g->pk[0], (int64_t)i);
		/* Alive rows only: a deletion's cells carry no value. */
		rc->cl |= 1;
		g->cells[n].col = 1;
		fill(g->bytes[1], 40 * 1024, x);
		set_bytes(&g->cells[n].v, MVAL_BLOB, g->bytes[1], 40 * 1024);
		set_stamp(&g->cells[n].st, i, 1);
		n++;
		break;
	default:	/* small rows */
		set_int(&g->pk[0], (int64_t)i);
		if (rc->cl % 2 == 1) {
			g->cells[n].col = 1;
			set_int(&g->cells[n].v, (int64_t)(x % 1000));
			set_stamp(&g->cells[n].st, i, 3);
			n++;
			if (i % 2) {
				g->cells[n].col = 2;
				snprintf(g->text[2], sizeof(g->text[2]),
				    "y%llu", (unsigned long long)(x % 97));
				set_bytes(&g->cells[n].v, MVAL_TEXT,
				    g->text[2], strlen(g->text[2]));
				set_stamp(&g->cells[n].st, i + 1, 2);
				n++;
			}
		}
		break;
	}
	rc->ncells = n;
	gen_hash(rc, (uint32_t)g->t[t].ncols);
}

/* ------------------------------------------------------------------ */
/* writing                                                             */
/* ------------------------------------------------------------------ */

static const char *schema_sql[] = {
	("CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, photo BLOB,"
	    " score REAL, note);"),
	"CREATE TABLE \"pairs with space\"(a, b, v, PRIMARY KEY(b, a));",
	"",
};

static void
mk_manifest(struct manifest *m, const struct ident_secret *const *to,
    size_t nto)
{
	size_t i;

	manifest_init(m);
	fill(m->bundle_id, BUNDLE_ID_LEN, 77);
	m->from_name = strdup("field site #1 (north)");
	m->nto = nto;
	m->to = calloc(nto ? nto : 1, SITE_ID_LEN);
	for (i = 0; i < nto; i++)
		memcpy(m->to[i], to[i]->site_id, SITE_ID_LEN);
	m->seq = 42;
	/* deliberately out of order: the writer sorts */
	vector_set(&m->base, origins[3], 5);
	vector_set(&m->base, origins[1], 0);
	vector_set(&m->top, origins[1], UINT64_MAX);
	vector_set(&m->top, origins[3], 9);
	vector_set(&m->top, origins[0], 1);
	vector_set(&m->ack, origins[2], 77);
	m->schema_from = 1;
	m->schema_to = 4;
	fill(m->fpr_from, BUNDLE_FPR_LEN, 5);
	fill(m->fpr_to, BUNDLE_FPR_LEN, 6);
	m->full = 1;
}

static uint64_t
write_bundle(const char *path, const struct gtable *t, size_t nt,
    const struct ident_secret *const *to, size_t nto, int encrypt,
    int schema)
{
	struct bundle_writer *w = NULL;
	struct ident_pub pubs[4];
	struct manifest m;
	struct bundle_schema s;
	struct gen *g;
	char err[MULE_ERRLEN] = "";
	uint64_t size = 0, i;
	size_t k;
	int r;

	for (k = 0; k < nto; k++)
		pubs[k] = to[k]->pub;
	g = calloc(1, sizeof(*g));
	gen_init(g, t, nt);
	r = bundle_writer_new(path, NULL, alice, pubs, nto, encrypt, &w, err);
	if (r != 0)
		fail_msg("writer_new: %s", err);
	for (k = 0; schema && k < NELEM(schema_sql); k++) {
		memset(&s, 0, sizeof(s));
		s.version = (uint32_t)k + 2;
		fill(s.fpr, BUNDLE_FPR_LEN, k);
		s.sql = (char *)(uintptr_t)schema_sql[k];
		s.len = strlen(schema_sql[k]);
		assert_int_equal(bundle_writer_add_schema(w, &s, err), 0);
	}
	for (k = 0; k < nt; k++) {
		r = bundle_writer_begin_table(w, t[k].name, t[k].ncols,
		    t[k].cols, t[k].npk, t[k].pk, err);
		if (r != 0)
			fail_msg("begin_table: %s", err);
		for (i = 0; i < t[k].nrows; i++) {
			gen_row(g, k, i);
			r = bundle_writer_add_row(w, &g->rc, err);
			if (r != 0)
				fail_msg("add_row %s %llu: %s", t[k].name,
				    (unsigned long long)i, err);
		}
	}
	mk_manifest(&m, to, nto);
	r = bundle_writer_finish(w, &m, &size, err);
	if (r != 0)
		fail_msg("finish: %s", err);
	assert_memory_equal(m.from, alice->site_id, SITE_ID_LEN);
	manifest_release(&m);
	bundle_writer_free(w);
	free(g);
	assert_int_equal(size, fsize(path));
	return size;
}

/* Verifies the bundle at path (from alice) and writes its raw payload,
 * as `me` reads it, to rawp. */
static void
write_raw_verified(const char *path, const struct ident_secret *me,
    const char *rawp)
{
	struct bundle_reader *r = NULL;
	char err[MULE_ERRLEN];
	int fd;

	assert_int_equal(bundle_open(path, &r, err), 0);
	assert_int_equal(bundle_verify(r, &alice->pub, err), 0);
	fd = open(rawp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(bundle_write_raw(r, me, fd, err), 0);
	close(fd);
	bundle_close(r);
}

/* Opens a raw payload file for reading: as a tar, or (raw) as one blob. */
static struct archive *
open_raw_payload(const char *rawp, int raw)
{
	struct archive *a = archive_read_new();

	if (raw)
		archive_read_support_format_raw(a);
	else
		archive_read_support_format_tar(a);
	archive_read_support_filter_zstd(a);
	assert_int_equal(archive_read_open_filename(a, rawp, 10240),
	    ARCHIVE_OK);
	return a;
}

/* ------------------------------------------------------------------ */
/* reading: a sink that checks everything against the generator       */
/* ------------------------------------------------------------------ */

struct seen_value {
	uint8_t hash[VALUE_REF_LEN];
	int type;
	uint8_t *p;
	size_t n;
};

struct check {
	struct gen *g;
	size_t t;		/* current table index (+1 after first) */
	int have_table;
	uint64_t row;
	int nmanifest, nschema, ntables;
	uint64_t nrows;
	struct seen_value vals[16];
	size_t nvals;
	int fail_at_row;	/* return MULE_ECONFLICT there (0: never) */
	int schema_expected;
};

static int
ck_manifest(void *arg, const struct manifest *m)
{
	struct check *c = arg;
	uint8_t id[BUNDLE_ID_LEN];

	assert_int_equal(c->nmanifest, 0);
	c->nmanifest++;
	fill(id, sizeof(id), 77);
	assert_memory_equal(m->bundle_id, id, BUNDLE_ID_LEN);
	assert_memory_equal(m->from, alice->site_id, SITE_ID_LEN);
	assert_string_equal(m->from_name, "field site #1 (north)");
	assert_int_equal(m->seq, 42);
	assert_int_equal(m->full, 1);
	assert_int_equal(m->schema_from, 1);
	assert_int_equal(m->schema_to, 4);
	/* A counter of 0 is no entry: the rebuilt base has one origin. */
	assert_int_equal(m->base.n, 1);
	assert_memory_equal(m->base.e[0].origin, origins[3], SITE_ID_LEN);
	assert_int_equal(m->base.e[0].counter, 5);
	assert_int_equal(m->ref, 0);
	assert_int_equal(m->coded, 0);
	assert_int_equal(m->top.n, 3);
	assert_true(vector_get(&m->top, origins[1]) == UINT64_MAX);
	assert_int_equal(vector_get(&m->top, origins[0]), 1);
	assert_int_equal(m->ack.n, 1);
	assert_int_equal(vector_get(&m->ack, origins[2]), 77);
	assert_int_equal(m->nschema, c->schema_expected ?
	    NELEM(schema_sql) : 0);
	return 0;
}

static int
ck_schema(void *arg, const struct bundle_schema *s)
{
	struct check *c = arg;
	uint8_t f[BUNDLE_FPR_LEN];

	assert_true(c->nmanifest == 1 && c->ntables == 0);
	assert_true((size_t)c->nschema < NELEM(schema_sql));
	assert_int_equal(s->version, c->nschema + 2);
	fill(f, sizeof(f), (uint64_t)c->nschema);
	assert_memory_equal(s->fpr, f, BUNDLE_FPR_LEN);
	assert_int_equal(s->len, strlen(schema_sql[c->nschema]));
	assert_string_equal(s->sql, schema_sql[c->nschema]);
	c->nschema++;
	return 0;
}

static int
ck_value(void *arg, const uint8_t hash[VALUE_REF_LEN], int type,
    const uint8_t *p, size_t n)
{
	struct check *c = arg;
	uint8_t h[VALUE_REF_LEN];
	size_t i;

	assert_true(c->nmanifest == 1 && c->ntables == 0);
	crypto_generichash(h, sizeof(h), p, n, NULL, 0);
	assert_memory_equal(h, hash, VALUE_REF_LEN);
	assert_true(type == MVAL_TEXT || type == MVAL_BLOB);
	for (i = 0; i < c->nvals; i++)
		assert_memory_not_equal(c->vals[i].hash, hash, VALUE_REF_LEN);
	assert_true(c->nvals < NELEM(c->vals));
	memcpy(c->vals[c->nvals].hash, hash, VALUE_REF_LEN);
	c->vals[c->nvals].type = type;
	c->vals[c->nvals].p = malloc(n ? n : 1);
	memcpy(c->vals[c->nvals].p, p, n);
	c->vals[c->nvals].n = n;
	c->nvals++;
	return 0;
}

static void
next_table(struct check *c)
{
	if (c->have_table)
		c->t++;
	c->have_table = 1;
	c->row = 0;
}

static int
ck_table(void *arg, const char *table, uint32_t ncols,
    const char *const *cols, uint32_t npk, const uint32_t *pkcols)
{
	struct check *c = arg;
	const struct gtable *t;
	uint32_t i;

	if (c->have_table)
		assert_int_equal(c->row, c->g->t[c->t].nrows);
	next_table(c);
	assert_true(c->t < c->g->nt);
	t = &c->g->t[c->t];
	assert_string_equal(table, t->name);
	assert_int_equal(ncols, t->ncols);
	for (i = 0; i < ncols; i++)
		assert_string_equal(cols[i], t->cols[i]);
	assert_int_equal(npk, t->npk);
	for (i = 0; i < npk; i++)
		assert_int_equal(pkcols[i], t->pk[i]);
	c->ntables++;
	return 0;
}

static void
same_value(struct check *c, const struct mval *got, const struct mval *want)
{
	size_t i;

	if (got->type == MVAL_REF) {
		assert_true(want->type == MVAL_TEXT ||
		    want->type == MVAL_BLOB);
		assert_int_equal(got->reftype, want->type);
		assert_int_equal(got->n, VALUE_REF_LEN);
		for (i = 0; i < c->nvals; i++)
			if (memcmp(c->vals[i].hash, got->p,
			    VALUE_REF_LEN) == 0)
				break;
		assert_true(i < c->nvals);
		assert_int_equal(c->vals[i].n, want->n);
		assert_memory_equal(c->vals[i].p, want->p, want->n);
		/* only large values travel by reference here */
		assert_true(want->n > BUNDLE_MAX_INLINE);
		return;
	}
	assert_int_equal(got->type, want->type);
	switch (want->type) {
	case MVAL_INT:
		assert_true(got->i == want->i);
		break;
	case MVAL_REAL:
		assert_memory_equal(&got->f, &want->f, sizeof(double));
		break;
	case MVAL_TEXT:
	case MVAL_BLOB:
		assert_int_equal(got->n, want->n);
		if (want->n > 0)
			assert_memory_equal(got->p, want->p, want->n);
		break;
	}
}

static int
ck_row(void *arg, const struct rowchange *rc)
{
	struct check *c = arg;
	struct rowchange *w;
	uint32_t i;

	assert_true(c->have_table);
	if (c->fail_at_row != 0 && c->nrows + 1 == (uint64_t)c->fail_at_row)
		return MULE_ECONFLICT;
	assert_true(c->row < c->g->t[c->t].nrows);
	gen_row(c->g, c->t, c->row);
	w = &c->g->rc;
	assert_int_equal(rc->npk, w->npk);
	for (i = 0; i < w->npk; i++)
		same_value(c, &rc->pk[i], &w->pk[i]);
	assert_int_equal(rc->cl, w->cl);
	assert_int_equal(stamp_cmp(&rc->cl_stamp, &w->cl_stamp), 0);
	assert_int_equal(rc->has_gone, w->has_gone);
	if (w->has_gone)
		assert_int_equal(stamp_cmp(&rc->gone, &w->gone), 0);
	assert_int_equal(rc->ncells, w->ncells);
	for (i = 0; i < w->ncells; i++) {
		assert_int_equal(rc->cells[i].col, w->cells[i].col);
		same_value(c, &rc->cells[i].v, &w->cells[i].v);
		assert_int_equal(stamp_cmp(&rc->cells[i].st,
		    &w->cells[i].st), 0);
		assert_int_equal(rc->cells[i].has_base, w->cells[i].has_base);
		if (w->cells[i].has_base)
			assert_int_equal(rc->cells[i].base, w->cells[i].base);
		assert_int_equal(rc->cells[i].nctx, w->cells[i].nctx);
		if (w->cells[i].nctx > 0)
			assert_memory_equal(rc->cells[i].ctx, w->cells[i].ctx,
			    w->cells[i].nctx * sizeof(*w->cells[i].ctx));
	}
	/* The row hash travels only with full rows. */
	if (w->cl % 2 == 1 && w->ncells == c->g->t[c->t].ncols) {
		assert_memory_equal(rc->hash, w->hash, ROW_HASH_LEN);
	} else {
		uint8_t zero[ROW_HASH_LEN] = { 0 };
		assert_memory_equal(rc->hash, zero, ROW_HASH_LEN);
	}
	c->row++;
	c->nrows++;
	return 0;
}

static void
check_init(struct check *c, const struct gtable *t, size_t nt)
{
	memset(c, 0, sizeof(*c));
	c->g = calloc(1, sizeof(*c->g));
	gen_init(c->g, t, nt);
	c->schema_expected = 1;
}

static void
check_release(struct check *c)
{
	size_t i;

	for (i = 0; i < c->nvals; i++)
		free(c->vals[i].p);
	free(c->g);
}

static void
check_done(struct check *c)
{
	size_t k;
	uint64_t total = 0;

	assert_int_equal(c->nmanifest, 1);
	assert_int_equal(c->nschema, c->schema_expected ?
	    NELEM(schema_sql) : 0);
	assert_int_equal(c->ntables, c->g->nt);
	for (k = 0; k < c->g->nt; k++)
		total += c->g->t[k].nrows;
	assert_int_equal(c->nrows, total);
}

static void
sink_for(struct bundle_sink *s, struct check *c)
{
	memset(s, 0, sizeof(*s));
	s->arg = c;
	s->manifest = ck_manifest;
	s->schema = ck_schema;
	s->value = ck_value;
	s->table = ck_table;
	s->row = ck_row;
}

/* Opens, verifies against alice and reads with `me`; returns the code. */
static int
read_bundle(const char *path, const struct ident_secret *me,
    const struct gtable *t, size_t nt, int schema, char *err)
{
	struct bundle_reader *r = NULL;
	struct bundle_sink s;
	struct check c;
	int rc;

	check_init(&c, t, nt);
	c.schema_expected = schema;
	sink_for(&s, &c);
	if ((rc = bundle_open(path, &r, err)) != 0)
		goto out;
	if ((rc = bundle_verify(r, &alice->pub, err)) != 0)
		goto out;
	if ((rc = bundle_read(r, me, &s, err)) != 0)
		goto out;
	check_done(&c);
out:
	bundle_close(r);
	check_release(&c);
	return rc;
}

/* ------------------------------------------------------------------ */
/* round trips                                                         */
/* ------------------------------------------------------------------ */

static void
test_roundtrip_full(void **state)
{
	const struct ident_secret *to[] = { bob };
	struct bundle_reader *r = NULL;
	const struct bundle_info *info;
	char err[MULE_ERRLEN] = "";
	const char *path = tpath("full.mule");
	uint64_t size;
	int rc;

	(void)state;
	size = write_bundle(path, gtables_full, NELEM(gtables_full), to, 1,
	    1, 1);
	/* big, big-as-TEXT (same bytes), big2, 100 KiB, limit+1: stored once */
	assert_true(size > 2 * BIG_LEN);
	assert_true(size < 3 * BIG_LEN + 16 * MIB);

	assert_int_equal(bundle_open(path, &r, err), 0);
	info = bundle_get_info(r);
	assert_int_equal(info->version, 1);
	assert_int_equal(info->encrypted, 1);
	assert_int_equal(info->nrecipients, 1);
	assert_memory_equal(info->recipient_keys[0], bob->pub.key_id,
	    IDENT_KEYID_LEN);
	assert_memory_equal(info->sender_site, alice->site_id, SITE_ID_LEN);
	assert_memory_equal(info->sender_key, alice->pub.key_id,
	    IDENT_KEYID_LEN);
	assert_int_equal(info->file_size, size);
	assert_true(bundle_is_recipient(r, &bob->pub));
	assert_false(bundle_is_recipient(r, &eve->pub));
	bundle_close(r);

	rc = read_bundle(path, bob, gtables_full, NELEM(gtables_full), 1, err);
	if (rc != 0)
		fail_msg("read: %s", err);
}

static void
count_values(const char *path, const struct ident_secret *me, size_t *nv)
{
	struct bundle_reader *r = NULL;
	struct bundle_sink s;
	struct check c;
	char err[MULE_ERRLEN];

	check_init(&c, gtables_full, NELEM(gtables_full));
	sink_for(&s, &c);
	assert_int_equal(bundle_open(path, &r, err), 0);
	assert_int_equal(bundle_verify(r, &alice->pub, err), 0);
	if (bundle_read(r, me, &s, err) != 0)
		fail_msg("read: %s", err);
	*nv = c.nvals;
	bundle_close(r);
	check_release(&c);
}

static void
test_values_once(void **state)
{
	const struct ident_secret *to[] = { bob };
	const char *path = tpath("full.mule");
	size_t nv = 0;

	(void)state;
	if (!file_exists(path))
		write_bundle(path, gtables_full, NELEM(gtables_full), to, 1,
		    1, 1);
	count_values(path, bob, &nv);
	/* big (BLOB and TEXT share bytes), big2, 100 KiB, limit+1 */
	assert_int_equal(nv, 4);

	/* "bulk" needs two segments: 6 rows/ members for 5 tables */
	{
		const char *rawp = tpath("full.tar.zst");
		struct archive *a;
		struct archive_entry *e;
		int nseg = 0, nval = 0;

		write_raw_verified(path, bob, rawp);
		a = open_raw_payload(rawp, 0);
		while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
			nseg += strncmp(archive_entry_pathname(e), "rows/",
			    5) == 0;
			nval += strncmp(archive_entry_pathname(e), "values/",
			    7) == 0;
			assert_true(archive_entry_size(e) <=
			    (la_int64_t)BUNDLE_MAX_SEGMENT ||
			    strncmp(archive_entry_pathname(e), "values/",
			    7) == 0);
		}
		archive_read_free(a);
		assert_int_equal(nseg, 6);
		assert_int_equal(nval, 4);
		unlink(rawp);
	}
}

static void
test_three_recipients(void **state)
{
	const struct ident_secret *to[] = { bob, carol, dave };
	const char *path = tpath("three.mule");
	struct bundle_reader *r = NULL;
	struct bundle_sink s;
	char err[MULE_ERRLEN] = "";
	size_t i;
	int rc;

	(void)state;
	write_bundle(path, gtables_small, NELEM(gtables_small), to, 3, 1, 1);
	for (i = 0; i < 3; i++) {
		rc = read_bundle(path, to[i], gtables_small,
		    NELEM(gtables_small), 1, err);
		if (rc != 0)
			fail_msg("recipient %zu: %s", i, err);
	}
	err[0] = '\0';
	assert_int_equal(read_bundle(path, eve, gtables_small,
	    NELEM(gtables_small), 1, err), MULE_ENOTRECIPIENT);
	assert_true(strlen(err) > 0);
	/* a key id that is listed but a keybox that does not open */
	assert_int_equal(bundle_open(path, &r, err), 0);
	assert_false(bundle_is_recipient(r, &eve->pub));
	assert_int_equal(bundle_verify(r, &alice->pub, err), 0);
	memset(&s, 0, sizeof(s));
	{
		struct ident_secret fake = *eve;

		memcpy(fake.pub.key_id, bob->pub.key_id, IDENT_KEYID_LEN);
		assert_int_equal(bundle_read(r, &fake, &s, err),
		    MULE_ENOTRECIPIENT);
	}
	bundle_close(r);
}

static void
test_unencrypted(void **state)
{
	const struct ident_secret *to[] = { bob, carol };
	const char *path = tpath("plain.mule");
	struct bundle_reader *r = NULL;
	char err[MULE_ERRLEN] = "";
	uint8_t *p;
	size_t n;
	int rc;

	(void)state;
	write_bundle(path, gtables_small, NELEM(gtables_small), to, 2, 0, 1);
	assert_int_equal(bundle_open(path, &r, err), 0);
	assert_int_equal(bundle_get_info(r)->encrypted, 0);
	assert_int_equal(bundle_get_info(r)->nrecipients, 2);
	assert_true(bundle_is_recipient(r, &carol->pub));
	bundle_close(r);
	/* anyone can read it, with or without a key */
	rc = read_bundle(path, eve, gtables_small, NELEM(gtables_small), 1,
	    err);
	if (rc != 0)
		fail_msg("read: %s", err);
	rc = read_bundle(path, NULL, gtables_small, NELEM(gtables_small), 1,
	    err);
	if (rc != 0)
		fail_msg("read: %s", err);
	p = slurp(path, &n);
	seed("bundle", "plain", 0, p, n);
	free(p);

	/* no recipients at all */
	path = tpath("plain0.mule");
	write_bundle(path, gtables_small, 1, NULL, 0, 0, 0);
	rc = read_bundle(path, NULL, gtables_small, 1, 0, err);
	if (rc != 0)
		fail_msg("read: %s", err);
}

static void
test_empty_bundle(void **state)
{
	const struct ident_secret *to[] = { bob };
	const char *path = tpath("empty.mule");
	char err[MULE_ERRLEN] = "";
	uint8_t *p;
	size_t n;
	int rc;

	(void)state;
	write_bundle(path, gtables_small, 0, to, 1, 1, 0);
	rc = read_bundle(path, bob, gtables_small, 0, 0, err);
	if (rc != 0)
		fail_msg("read: %s", err);
	p = slurp(path, &n);
	seed("bundle", "empty", 0, p, n);
	free(p);
}

static void
test_same_value_stored_once(void **state)
{
	static const struct gtable t[] = {
		{ "t", 2, { "k", "v" }, 1, { 0 }, 0 },
	};
	const char *path = tpath("dedupe.mule");
	struct bundle_writer *w = NULL;
	struct manifest m;
	struct rowchange rc;
	struct mval pk;
	struct cell cell;
	char err[MULE_ERRLEN];
	uint64_t size = 0;
	int i;

	(void)state;
	gen_globals();
	assert_int_equal(bundle_writer_new(path, tmpdir, alice, &bob->pub, 1,
	    1, &w, err), 0);
	assert_int_equal(bundle_writer_begin_table(w, "t", 2, t[0].cols, 1,
	    t[0].pk, err), 0);
	for (i = 0; i < 2; i++) {
		memset(&rc, 0, sizeof(rc));
		set_int(&pk, i);
		memset(&cell, 0, sizeof(cell));
		cell.col = 1;
		set_bytes(&cell.v, MVAL_BLOB, big, BIG_LEN);
		rc.npk = 1;
		rc.pk = &pk;
		rc.cl = 1;
		rc.ncells = 1;
		rc.cells = &cell;
		assert_int_equal(bundle_writer_add_row(w, &rc, err), 0);
	}
	manifest_init(&m);
	assert_int_equal(bundle_writer_finish(w, &m, &size, err), 0);
	assert_int_equal(m.nvalues, 1);
	assert_int_equal(m.nrows, 2);
	assert_int_equal(m.ncells, 2);
	assert_int_equal(m.ntables, 1);
	bundle_writer_free(w);
	manifest_release(&m);
	/* 3 MiB of incompressible bytes once, not twice */
	assert_true(size > BIG_LEN);
	assert_true(size < BIG_LEN + 64 * 1024);
	assert_int_equal(size, fsize(path));
}

/* A row far larger than a segment: its values move to values/. */
static void
test_huge_row(void **state)
{
	static const char *names[200];
	static char nbuf[200][8];
	const char *path = tpath("huge.mule");
	struct bundle_writer *w = NULL;
	struct bundle_reader *r = NULL;
	struct manifest m;
	struct rowchange rc;
	struct mval pk;
	struct cell *cells;
	uint32_t pkc = 0, i;
	char err[MULE_ERRLEN];
	uint64_t size = 0;
	uint8_t *vals;

	(void)state;
	for (i = 0; i < 200; i++) {
		snprintf(nbuf[i], sizeof(nbuf[i]), "c%u", i);
		names[i] = nbuf[i];
	}
	cells = calloc(200, sizeof(*cells));
	vals = malloc(200 * 60000);
	fill(vals, 200 * 60000, 9);
	assert_int_equal(bundle_writer_new(path, NULL, alice, &bob->pub, 1,
	    1, &w, err), 0);
	assert_int_equal(bundle_writer_begin_table(w, "wide", 200, names, 1,
	    &pkc, err), 0);
	memset(&rc, 0, sizeof(rc));
	set_int(&pk, 1);
	for (i = 1; i < 200; i++) {
		cells[i - 1].col = i;
		set_bytes(&cells[i - 1].v, MVAL_BLOB, vals + i * 60000, 60000);
	}
	rc.npk = 1;
	rc.pk = &pk;
	rc.cl = 1;
	rc.ncells = 199;
	rc.cells = cells;
	if (bundle_writer_add_row(w, &rc, err) != 0)
		fail_msg("add_row: %s", err);
	manifest_init(&m);
	assert_int_equal(bundle_writer_finish(w, &m, &size, err), 0);
	assert_int_equal(m.nvalues, 199);
	bundle_writer_free(w);
	manifest_release(&m);
	assert_int_equal(bundle_open(path, &r, err), 0);
	assert_int_equal(bundle_verify(r, &alice->pub, err), 0);
	{
		struct bundle_sink s;

		memset(&s, 0, sizeof(s));
		if (bundle_read(r, bob, &s, err) != 0)
			fail_msg("read: %s", err);
	}
	bundle_close(r);
	free(cells);
	free(vals);
}

/* ------------------------------------------------------------------ */
/* raw payload                                                         */
/* ------------------------------------------------------------------ */

static void
test_write_raw(void **state)
{
	const struct ident_secret *to[] = { bob };
	const char *path = tpath("raw.mule"), *rawp = tpath("raw.tar.zst");
	struct bundle_reader *r = NULL;
	struct archive *a;
	struct archive_entry *e;
	struct bundle_sink s;
	struct check c;
	char err[MULE_ERRLEN] = "";
	uint8_t *p;
	size_t n;
	int fd, k = 0;

	(void)state;
	write_bundle(path, gtables_small, NELEM(gtables_small), to, 1, 1, 1);
	assert_int_equal(bundle_open(path, &r, err), 0);
	fd = open(rawp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(bundle_write_raw(r, bob, fd, err), MULE_EINVAL);
	assert_int_equal(bundle_verify(r, &alice->pub, err), 0);
	assert_int_equal(bundle_write_raw(r, eve, fd, err),
	    MULE_ENOTRECIPIENT);
	if (bundle_write_raw(r, bob, fd, err) != 0)
		fail_msg("write_raw: %s", err);
	close(fd);
	bundle_close(r);

	/* it is a plain zstd tar: libarchive lists it, MANIFEST first */
	a = open_raw_payload(rawp, 0);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (k == 0)
			assert_string_equal(archive_entry_pathname(e),
			    "MANIFEST");
		if (k == 1)
			assert_string_equal(archive_entry_pathname(e),
			    "schema/0001.sql");
		k++;
	}
	assert_int_equal(archive_filter_code(a, 0), ARCHIVE_FILTER_ZSTD);
	archive_read_free(a);
	assert_true(k >= 1 + 3 + 1 + 2);

	/* and the fuzzing entry point parses it */
	p = slurp(rawp, &n);
	check_init(&c, gtables_small, NELEM(gtables_small));
	sink_for(&s, &c);
	if (bundle_parse_inner(p, n, 1, &s, err) != 0)
		fail_msg("parse_inner: %s", err);
	check_done(&c);
	check_release(&c);
	seed("bundle", "inner", 1, p, n);
	/* truncated inner archives never parse */
	{
		size_t cut;
		struct bundle_sink none;

		memset(&none, 0, sizeof(none));
		for (cut = 0; cut < n; cut += 1 + cut / 8)
			assert_int_not_equal(bundle_parse_inner(p, cut, 1,
			    &none, err), 0);
	}
	free(p);
}

/* Small samples of every input kind for the fuzz targets' corpora. */
static void
test_fuzz_seeds(void **state)
{
	static const struct gtable tiny[] = {
		{ "people", 5, { "id", "name", "photo", "score", "note" }, 1,
		    { 0 }, 8 },
		{ "pairs with space", 3, { "a", "b", "v" }, 2, { 1, 0 }, 4 },
	};
	const struct ident_secret *to[] = { bob };
	const char *pl = tpath("seed-plain.mule"), *enc = tpath("seed.mule");
	const char *rawp = tpath("seed.tar.zst");
	struct archive *a;
	struct archive_entry *e;
	struct bundle_sink s;
	struct buf tar;
	char err[MULE_ERRLEN];
	uint8_t *p, blk[4096];
	size_t n;
	la_ssize_t got;

	(void)state;
	write_bundle(pl, tiny, NELEM(tiny), to, 1, 0, 1);
	write_bundle(enc, tiny, NELEM(tiny), to, 1, 1, 1);
	p = slurp(pl, &n);
	seed("bundle", "plain", 0, p, n);
	seed("bundle", "plain-resigned", 3, p, n);
	free(p);
	p = slurp(enc, &n);
	seed("bundle", "encrypted", 0, p, n);
	free(p);
	write_raw_verified(pl, NULL, rawp);
	p = slurp(rawp, &n);
	memset(&s, 0, sizeof(s));
	assert_int_equal(bundle_parse_inner(p, n, 1, &s, err), 0);
	seed("bundle", "inner", 1, p, n);
	free(p);
	/* the same archive uncompressed, for the tar and MANIFEST paths */
	a = open_raw_payload(rawp, 1);
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
	buf_init(&tar);
	while ((got = archive_read_data(a, blk, sizeof(blk))) > 0)
		assert_int_equal(buf_put(&tar, blk, (size_t)got), 0);
	assert_int_equal(got, 0);
	archive_read_free(a);
	assert_int_equal(bundle_parse_inner(tar.d, tar.len, 0, &s, err), 0);
	assert_int_equal(bundle_parse_inner(tar.d, tar.len, 1, &s, err),
	    MULE_EFORMAT);
	seed("bundle", "tar", 2, tar.d, tar.len);
	buf_release(&tar);
}

/* ------------------------------------------------------------------ */
/* inner archive members                                               */
/* ------------------------------------------------------------------ */

struct mem {
	char name[MEMBER_NAME_MAX];
	uint8_t *p;
	size_t n;
	int symlink;
};

/* Reads the members of a tiny unencrypted bundle's inner archive. */
static size_t
load_members(struct mem *ms, size_t max)
{
	static const struct gtable tiny[] = {
		{ "people", 5, { "id", "name", "photo", "score", "note" }, 1,
		    { 0 }, 8 },
		{ "pairs with space", 3, { "a", "b", "v" }, 2, { 1, 0 }, 4 },
	};
	const struct ident_secret *to[] = { bob };
	const char *pl = tpath("members.mule"), *rawp = tpath("members.tzst");
	struct archive *a;
	struct archive_entry *e;
	size_t k = 0;

	write_bundle(pl, tiny, NELEM(tiny), to, 1, 0, 1);
	write_raw_verified(pl, NULL, rawp);
	a = open_raw_payload(rawp, 0);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		assert_true(k < max);
		snprintf(ms[k].name, sizeof(ms[k].name), "%s",
		    archive_entry_pathname(e));
		ms[k].n = (size_t)archive_entry_size(e);
		ms[k].p = malloc(ms[k].n + 1);
		assert_int_equal(archive_read_data(a, ms[k].p, ms[k].n),
		    (la_ssize_t)ms[k].n);
		ms[k].symlink = 0;
		k++;
	}
	archive_read_free(a);
	return k;
}

/* Writes members as a zstd tar into out (of cap bytes); its length. */
static size_t
pack_members(const struct mem *ms, size_t n, uint8_t *out, size_t cap)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t used = 0, k;

	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_zstd(a);
	assert_int_equal(archive_write_open_memory(a, out, cap, &used),
	    ARCHIVE_OK);
	for (k = 0; k < n; k++) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, ms[k].name);
		if (ms[k].symlink) {
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, "MANIFEST");
			archive_entry_set_size(e, 0);
		} else {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_size(e, (la_int64_t)ms[k].n);
		}
		archive_entry_set_perm(e, 0644);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (!ms[k].symlink && ms[k].n > 0)
			assert_int_equal(archive_write_data(a, ms[k].p,
			    ms[k].n), (la_ssize_t)ms[k].n);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	return used;
}

/* Rewrites MANIFEST (ms[0]) to list the other members as they are now. */
static void
relist(struct mem *ms, size_t n)
{
	struct manifest m;
	struct member_list ml;
	struct buf b;
	char err[MULE_ERRLEN], name[MEMBER_NAME_MAX];
	size_t i, k;

	manifest_init(&m);
	member_list_init(&ml);
	assert_int_equal(manifest_parse(ms[0].p, ms[0].n, &m, &ml, err), 0);
	for (i = 0; i < ml.n; i++) {
		member_name(&ml.m[i], name);
		for (k = 1; k < n; k++)
			if (strcmp(ms[k].name, name) == 0)
				break;
		assert_true(k < n);
		ml.m[i].size = ms[k].n;
		crypto_generichash(ml.m[i].hash, BUNDLE_HASH_LEN, ms[k].p,
		    ms[k].n, NULL, 0);
	}
	buf_init(&b);
	assert_int_equal(manifest_encode(&m, &ml, &b, err), 0);
	free(ms[0].p);
	ms[0].p = malloc(b.len);
	memcpy(ms[0].p, b.d, b.len);
	ms[0].n = b.len;
	buf_release(&b);
	manifest_release(&m);
	member_list_release(&ml);
}

static int
parse_members(const struct mem *ms, size_t n, char *err)
{
	static uint8_t out[1 << 20];
	struct bundle_sink s;
	size_t len;

	memset(&s, 0, sizeof(s));
	len = pack_members(ms, n, out, sizeof(out));
	err[0] = '\0';
	return bundle_parse_inner(out, len, 1, &s, err);
}

static void
test_inner_members(void **state)
{
	struct mem ms[16], t[16], extra;
	char err[MULE_ERRLEN];
	size_t n, k;
	uint8_t save;

	(void)state;
	n = load_members(ms, NELEM(ms));
	/* MANIFEST, 3 schema steps, rows/0001, rows/0002 */
	assert_int_equal(n, 6);
	assert_string_equal(ms[5].name, "rows/0002");
	assert_int_equal(parse_members(ms, n, err), 0);

	/* a member missing */
	assert_int_equal(parse_members(ms, n - 1, err), MULE_EINCOMPLETE);
	assert_non_null(strstr(err, "rows/0002"));
	/* no MANIFEST, or not first */
	assert_int_equal(parse_members(ms + 1, n - 1, err), MULE_EFORMAT);
	memcpy(t, ms, sizeof(t));
	t[0] = ms[1];
	t[1] = ms[0];
	assert_int_equal(parse_members(t, n, err), MULE_EFORMAT);
	/* an extra member at the end, a repeated one, two swapped */
	memcpy(t, ms, sizeof(t));
	extra = ms[5];
	snprintf(extra.name, sizeof(extra.name), "notes.txt");
	t[n] = extra;
	assert_int_equal(parse_members(t, n + 1, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "notes.txt"));
	t[n] = ms[5];
	assert_int_equal(parse_members(t, n + 1, err), MULE_EFORMAT);
	t[4] = ms[5];
	t[5] = ms[4];
	assert_int_equal(parse_members(t, n, err), MULE_EFORMAT);
	/* a symbolic link where a member should be */
	memcpy(t, ms, sizeof(t));
	t[5].symlink = 1;
	assert_int_equal(parse_members(t, n, err), MULE_EFORMAT);
	/* contents that do not match the hash in MANIFEST */
	save = ms[4].p[10];
	ms[4].p[10] ^= 1;
	assert_int_equal(parse_members(ms, n, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "hash"));
	ms[4].p[10] = save;
	/* rows/0002 (the second table) turned into a continuation: its rows
	 * come before any header of that table */
	memcpy(t, ms, sizeof(t));
	t[0].p = malloc(ms[0].n);
	memcpy(t[0].p, ms[0].p, ms[0].n);
	t[5].p = malloc(ms[5].n);
	memcpy(t[5].p, ms[5].p, ms[5].n);
	t[5].p[5] = SEGMENT_FLAG_CONT;
	relist(t, n);
	assert_int_equal(parse_members(t, n, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "continues"));
	free(t[0].p);
	free(t[5].p);
	/* counts that do not match the segments */
	memcpy(t, ms, sizeof(t));
	t[0].p = malloc(ms[0].n + 1);
	memcpy(t[0].p, ms[0].p, ms[0].n);
	t[0].p[ms[0].n] = '\0';
	{
		char *at = strstr((char *)t[0].p, "\nrows 12\n");

		assert_non_null(at);
		at[7] = '3';
	}
	assert_int_equal(parse_members(t, n, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "counts"));
	free(t[0].p);
	for (k = 0; k < n; k++)
		free(ms[k].p);
}

/* ------------------------------------------------------------------ */
/* attacks                                                             */
/* ------------------------------------------------------------------ */

/* 0 only when open and verify both succeed. */
static int
open_verify(const char *path, const struct ident_pub *who, int *stage)
{
	struct bundle_reader *r = NULL;
	char err[MULE_ERRLEN] = "";
	int rc;

	*stage = 0;
	if ((rc = bundle_open(path, &r, err)) != 0) {
		assert_true(strlen(err) > 0);
		return rc;
	}
	*stage = 1;
	rc = bundle_verify(r, who, err);
	if (rc != 0)
		assert_true(strlen(err) > 0);
	bundle_close(r);
	return rc;
}

static void
tamper_file(const char *src, const char *name)
{
	const char *dst = tpath(name);
	uint8_t *p;
	size_t n, pos, step;
	int bit = 0, stage, rc;

	p = slurp(src, &n);
	step = n / 97 + 1;
	for (pos = 0; pos < n; pos += (pos < 300 || pos > n - 100) ? 1 : step) {
		p[pos] ^= (uint8_t)(1u << bit);
		spit(dst, p, n);
		rc = open_verify(dst, &alice->pub, &stage);
		if (rc == 0)
			fail_msg("bit %d at %zu of %zu accepted", bit, pos, n);
		if (stage == 1)
			assert_int_equal(rc, MULE_EVERIFY);
		else
			assert_true(rc == MULE_EFORMAT ||
			    rc == MULE_ETOOLARGE || rc == MULE_EINCOMPLETE);
		p[pos] ^= (uint8_t)(1u << bit);
		bit = (bit + 1) % 8;
	}
	free(p);
}

static void
test_tamper(void **state)
{
	const struct ident_secret *to[] = { bob, carol };
	const char *enc = tpath("t-enc.mule"), *pl = tpath("t-plain.mule");

	(void)state;
	write_bundle(enc, gtables_small, NELEM(gtables_small), to, 2, 1, 1);
	write_bundle(pl, gtables_small, NELEM(gtables_small), to, 2, 0, 1);
	tamper_file(enc, "t-enc-x.mule");
	tamper_file(pl, "t-plain-x.mule");
}

/*
 * A bundle of several MiB is verified with the signature's hash in its
 * own thread (crypto/sig.c): a bit changed anywhere after the header
 * (on and around the hash ring's buffer edges, in the last ciphertext
 * byte, in the signature) or a shorter file is still refused with the
 * same error, and the untouched file still verifies and reads.
 */
static void
test_tamper_large(void **state)
{
	const struct ident_secret *to[] = { bob };
	const char *src = tpath("tl.mule"), *dst = tpath("tl-x.mule");
	struct bundle_reader *r = NULL;
	char err[MULE_ERRLEN] = "";
	size_t n, pos[12], i, k = 0;
	uint8_t *p;
	int stage;

	(void)state;
	write_bundle(src, gtables_full, NELEM(gtables_full), to, 1, 1, 1);
	p = slurp(src, &n);
	assert_true(n > 4 * SIG_RING_BUFS * SIG_RING_BUF);
	pos[k++] = SIG_RING_BUF - 1;
	pos[k++] = SIG_RING_BUF;
	pos[k++] = SIG_RING_BUFS * SIG_RING_BUF - 1;
	pos[k++] = SIG_RING_BUFS * SIG_RING_BUF;
	pos[k++] = SIG_RING_BUFS * SIG_RING_BUF + 1;
	pos[k++] = n / 2;
	pos[k++] = n - SIG_LEN - 1;	/* the last ciphertext byte */
	pos[k++] = n - SIG_LEN;		/* the signature */
	pos[k++] = n - 1;
	for (i = 0; i < 3; i++)
		pos[k++] = 1000 + randombytes_uniform((uint32_t)(n - 1000));
	for (i = 0; i < k; i++) {
		p[pos[i]] ^= 0x10;
		spit(dst, p, n);
		assert_int_equal(bundle_open(dst, &r, err), 0);
		assert_int_equal(bundle_verify(r, &alice->pub, err),
		    MULE_EVERIFY);
		assert_non_null(strstr(err, "bad signature"));
		bundle_close(r);
		r = NULL;
		p[pos[i]] ^= 0x10;
	}
	spit(dst, p, n - 1);
	assert_int_equal(open_verify(dst, &alice->pub, &stage), MULE_EVERIFY);
	spit(dst, p, n - SIG_RING_BUF);
	assert_int_equal(open_verify(dst, &alice->pub, &stage), MULE_EVERIFY);
	assert_int_equal(open_verify(src, &alice->pub, &stage), 0);
	if (read_bundle(src, bob, gtables_full, NELEM(gtables_full), 1,
	    err) != 0)
		fail_msg("read: %s", err);
	free(p);
}

static void
truncate_file(const char *src, const char *name)
{
	const char *dst = tpath(name);
	uint8_t *p;
	size_t n, len;
	int stage, rc;

	p = slurp(src, &n);
	for (len = 0; len < n; len += (len < 400 || len > n - 200) ? 1 :
	    n / 61 + 1) {
		spit(dst, p, len);
		rc = open_verify(dst, &alice->pub, &stage);
		if (rc == 0)
			fail_msg("truncated to %zu of %zu: accepted", len, n);
		if (stage == 1)
			assert_int_equal(rc, MULE_EVERIFY);
		else
			assert_true(rc == MULE_EINCOMPLETE ||
			    (len == 0 && rc == MULE_EFORMAT));
	}
	/* and one byte too many */
	p = realloc(p, n + 1);
	p[n] = 0;
	spit(dst, p, n + 1);
	assert_int_equal(open_verify(dst, &alice->pub, &stage), MULE_EVERIFY);
	free(p);
}

static void
test_truncate(void **state)
{
	const struct ident_secret *to[] = { bob };
	const char *enc = tpath("tr-enc.mule"), *pl = tpath("tr-plain.mule");

	(void)state;
	write_bundle(enc, gtables_small, NELEM(gtables_small), to, 1, 1, 1);
	write_bundle(pl, gtables_small, NELEM(gtables_small), to, 1, 0, 1);
	truncate_file(enc, "tr-enc-x.mule");
	truncate_file(pl, "tr-plain-x.mule");
}

static void
test_wrong_sender(void **state)
{
	const struct ident_secret *to[] = { bob };
	const char *path = tpath("ws.mule");
	struct ident_pub forged;
	char err[MULE_ERRLEN] = "";
	int stage;

	(void)state;
	write_bundle(path, gtables_small, 1, to, 1, 1, 0);
	assert_int_equal(open_verify(path, &alice->pub, &stage), 0);
	assert_int_equal(open_verify(path, &bob->pub, &stage), MULE_EVERIFY);
	assert_int_equal(stage, 1);
	/* right key id, wrong signing key */
	forged = eve->pub;
	memcpy(forged.key_id, alice->pub.key_id, IDENT_KEYID_LEN);
	assert_int_equal(open_verify(path, &forged, &stage), MULE_EVERIFY);
	/* read after a failed verify is refused */
	{
		struct bundle_reader *r = NULL;
		struct bundle_sink s;

		memset(&s, 0, sizeof(s));
		assert_int_equal(bundle_open(path, &r, err), 0);
		assert_int_equal(bundle_verify(r, &forged, err), MULE_EVERIFY);
		assert_int_equal(bundle_read(r, bob, &s, err), MULE_EINVAL);
		bundle_close(r);
	}
}

static void
test_read_before_verify(void **state)
{
	const struct ident_secret *to[] = { bob };
	const char *path = tpath("rbv.mule");
	struct bundle_reader *r = NULL;
	struct bundle_sink s;
	char err[MULE_ERRLEN] = "";

	(void)state;
	write_bundle(path, gtables_small, 1, to, 1, 1, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(bundle_open(path, &r, err), 0);
	err[0] = '\0';
	assert_int_equal(bundle_read(r, bob, &s, err), MULE_EINVAL);
	assert_true(strlen(err) > 0);
	bundle_close(r);
}

/* The file is changed after bundle_verify: bundle_read notices. */
static void
test_changed_after_verify(void **state)
{
	const struct ident_secret *to[] = { bob };
	const char *paths[2] = { tpath("cav-enc.mule"), tpath("cav-pl.mule") };
	struct bundle_reader *r = NULL;
	struct bundle_sink s;
	struct check c;
	char err[MULE_ERRLEN] = "";
	uint8_t *p;
	size_t n;
	int k, rc;

	(void)state;
	for (k = 0; k < 2; k++) {
		write_bundle(paths[k], gtables_small, NELEM(gtables_small), to,
		    1, k == 0, 1);
		assert_int_equal(bundle_open(paths[k], &r, err), 0);
		assert_int_equal(bundle_verify(r, &alice->pub, err), 0);
		p = slurp(paths[k], &n);
		p[n - SIG_LEN - 3] ^= 0x40;	/* rewrite in place */
		{
			int fd = open(paths[k], O_WRONLY);

			assert_true(fd >= 0);
			assert_int_equal(pwrite(fd, p, n, 0), (ssize_t)n);
			close(fd);
		}
		check_init(&c, gtables_small, NELEM(gtables_small));
		sink_for(&s, &c);
		s.row = NULL;	/* rows may differ now; only the end counts */
		rc = bundle_read(r, bob, &s, err);
		assert_int_not_equal(rc, 0);
		check_release(&c);
		bundle_close(r);
		free(p);
	}
}

/* What a sink saw of a swapped file: any schema step, any row. */
struct swap_seen {
	int manifests, evil, rows;
};

static int
swap_manifest(void *arg, const struct manifest *m)
{
	((struct swap_seen *)arg)->manifests++;
	return 0;
}

static int
swap_schema(void *arg, const struct bundle_schema *s)
{
	if (strstr(s->sql, "secret") != NULL)
		((struct swap_seen *)arg)->evil++;
	return 0;
}

static int
swap_row(void *arg, const struct rowchange *rc)
{
	((struct swap_seen *)arg)->rows++;
	return 0;
}

/* An unencrypted bundle from eve carrying one migration, "DROP TABLE". */
static void
write_evil(const char *path)
{
	struct bundle_writer *w = NULL;
	struct bundle_schema s;
	struct manifest m;
	char err[MULE_ERRLEN] = "";
	uint64_t size = 0;

	assert_int_equal(bundle_writer_new(path, NULL, eve, &bob->pub, 1, 0,
	    &w, err), 0);
	memset(&s, 0, sizeof(s));
	s.version = 2;
	s.sql = (char *)(uintptr_t)"DROP TABLE secret;";
	s.len = strlen(s.sql);
	assert_int_equal(bundle_writer_add_schema(w, &s, err), 0);
	mk_manifest(&m, NULL, 0);
	assert_int_equal(bundle_writer_finish(w, &m, &size, err), 0);
	manifest_release(&m);
	bundle_writer_free(w);
}

/*
 * Issue 13, item 7: storage that returns other bytes on the second read.
 * After bundle_verify has read alice's signed bundle, the file turns into
 * alice's header followed by the payload of eve's bundle (a migration
 * that drops a table), padded to the same size, as a hostile device or
 * network share would serve it.  bundle_read must refuse it before the
 * parser sees a byte of eve's: no MANIFEST, no migration, no row.
 */
static void
test_swapped_after_verify(void **state)
{
	const struct ident_secret *to[] = { bob };
	const char *path = tpath("swap.mule"), *evil = tpath("swap-evil.mule");
	struct bundle_reader *r = NULL;
	struct bundle_sink s;
	struct swap_seen seen;
	char err[MULE_ERRLEN] = "";
	uint8_t *a, *e;
	size_t na, ne, pl, pad, hl = envelope_header_len(1, 0);
	int fd;

	(void)state;
	write_bundle(path, gtables_small, NELEM(gtables_small), to, 1, 0, 0);
	write_evil(evil);
	a = slurp(path, &na);
	e = slurp(evil, &ne);
	assert_true(ne < na);
	memset(&seen, 0, sizeof(seen));
	memset(&s, 0, sizeof(s));
	s.arg = &seen;
	s.manifest = swap_manifest;
	s.schema = swap_schema;
	s.row = swap_row;
	/* eve's payload parses: read as her own bundle, the sink sees it */
	assert_int_equal(bundle_open(evil, &r, err), 0);
	assert_int_equal(bundle_verify(r, &eve->pub, err), 0);
	if (bundle_read(r, NULL, &s, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(seen.manifests, 1);
	assert_int_equal(seen.evil, 1);
	bundle_close(r);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(bundle_open(path, &r, err), 0);
	assert_int_equal(bundle_verify(r, &alice->pub, err), 0);
	/*
	 * alice's header, eve's payload, then a zstd skippable frame (which
	 * decoders pass over) up to where alice's signature starts.
	 */
	pl = ne - SIG_LEN - hl;
	pad = na - SIG_LEN - hl - pl;
	assert_true(pad >= 8);
	memcpy(a + hl, e + hl, pl);
	memset(a + hl + pl, 0, pad);
	memcpy(a + hl + pl, "\x50\x2a\x4d\x18", 4);
	a[hl + pl + 4] = (uint8_t)(pad - 8);
	a[hl + pl + 5] = (uint8_t)((pad - 8) >> 8);
	a[hl + pl + 6] = (uint8_t)((pad - 8) >> 16);
	a[hl + pl + 7] = (uint8_t)((pad - 8) >> 24);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, a, na, 0), (ssize_t)na);
	close(fd);
	assert_int_equal(bundle_read(r, NULL, &s, err), MULE_EVERIFY);
	assert_non_null(strstr(err, "changed after it was verified"));
	assert_int_equal(seen.manifests, 0);
	assert_int_equal(seen.evil, 0);
	assert_int_equal(seen.rows, 0);
	/* bundle_write_raw (mule inspect --raw) copies none of it either */
	fd = open(tpath("swap.raw"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(bundle_write_raw(r, NULL, fd, err), MULE_EVERIFY);
	close(fd);
	assert_int_equal(fsize(tpath("swap.raw")), 0);
	bundle_close(r);
	free(a);
	free(e);
}

/*
 * The same for an encrypted bundle (another recipient of it knows the file
 * key and could serve other ciphertext): a changed block is refused as a
 * changed file before the decryptor sees it, not as a decryption failure,
 * and nothing reaches the sink.
 */
static void
test_swapped_encrypted(void **state)
{
	const struct ident_secret *to[] = { bob, eve };
	const char *path = tpath("swap-enc.mule");
	struct bundle_reader *r = NULL;
	struct bundle_sink s;
	struct swap_seen seen;
	char err[MULE_ERRLEN] = "";
	size_t n, hl = envelope_header_len(2, 1);
	uint8_t *p;
	int fd;

	(void)state;
	write_bundle(path, gtables_small, NELEM(gtables_small), to, 2, 1, 1);
	p = slurp(path, &n);
	assert_int_equal(bundle_open(path, &r, err), 0);
	assert_int_equal(bundle_verify(r, &alice->pub, err), 0);
	p[hl + 20] ^= 0x01;		/* first ciphertext chunk */
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, p, n, 0), (ssize_t)n);
	close(fd);
	memset(&seen, 0, sizeof(seen));
	memset(&s, 0, sizeof(s));
	s.arg = &seen;
	s.manifest = swap_manifest;
	s.schema = swap_schema;
	s.row = swap_row;
	assert_int_equal(bundle_read(r, bob, &s, err), MULE_EVERIFY);
	assert_non_null(strstr(err, "changed after it was verified"));
	assert_null(strstr(err, "decryption"));
	assert_int_equal(seen.manifests + seen.rows, 0);
	bundle_close(r);
	free(p);
}

static void
test_not_a_bundle(void **state)
{
	const char *path = tpath("junk");
	struct bundle_reader *r = NULL;
	char err[MULE_ERRLEN];
	uint8_t junk[4096];

	(void)state;
	spit(path, NULL, 0);
	assert_int_equal(bundle_open(path, &r, err), MULE_EFORMAT);
	spit(path, (const uint8_t *)"MULE", 4);
	assert_int_equal(bundle_open(path, &r, err), MULE_EINCOMPLETE);
	spit(path, (const uint8_t *)"MULEBNDX", 8);
	assert_int_equal(bundle_open(path, &r, err), MULE_EFORMAT);
	fill(junk, sizeof(junk), 4);
	spit(path, junk, sizeof(junk));
	assert_int_equal(bundle_open(path, &r, err), MULE_EFORMAT);
	/* version 2 */
	memcpy(junk, "MULEBNDL\x02", 9);
	spit(path, junk, sizeof(junk));
	err[0] = '\0';
	assert_int_equal(bundle_open(path, &r, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "version"));
	/* version 1, unknown flag */
	memcpy(junk, "MULEBNDL\x01\x02", 10);
	spit(path, junk, sizeof(junk));
	assert_int_equal(bundle_open(path, &r, err), MULE_EFORMAT);
	/* too many recipients */
	memset(junk + 9, 0, sizeof(junk) - 9);
	junk[9] = 1;
	junk[50] = 0x01;
	junk[51] = 0x01;	/* 257 */
	spit(path, junk, sizeof(junk));
	assert_int_equal(bundle_open(path, &r, err), MULE_ETOOLARGE);
	/* encrypted, zero recipients */
	junk[50] = 0;
	junk[51] = 0;
	spit(path, junk, sizeof(junk));
	assert_int_equal(bundle_open(path, &r, err), MULE_EFORMAT);
	/* unencrypted, zero recipients, header fine: opens; verify fails */
	junk[9] = 0;
	spit(path, junk, sizeof(junk));
	assert_int_equal(bundle_open(path, &r, err), 0);
	assert_int_equal(bundle_verify(r, &alice->pub, err), MULE_EVERIFY);
	bundle_close(r);
	assert_int_equal(bundle_open(tpath("does-not-exist"), &r, err),
	    MULE_ENOTFOUND);
	assert_int_equal(bundle_open(tmpdir, &r, err), MULE_EINVAL);
}

static int
abort_row(void *arg, const struct rowchange *rc)
{
	(void)arg; (void)rc;
	return MULE_ECONFLICT;
}

static void
test_sink_stops(void **state)
{
	const struct ident_secret *to[] = { bob };
	const char *path = tpath("stop.mule");
	struct bundle_reader *r = NULL;
	struct bundle_sink s;
	char err[MULE_ERRLEN] = "";

	(void)state;
	write_bundle(path, gtables_small, NELEM(gtables_small), to, 1, 1, 0);
	memset(&s, 0, sizeof(s));
	s.row = abort_row;
	assert_int_equal(bundle_open(path, &r, err), 0);
	assert_int_equal(bundle_verify(r, &alice->pub, err), 0);
	assert_int_equal(bundle_read(r, bob, &s, err), MULE_ECONFLICT);
	/* a reader can be read again */
	s.row = NULL;
	if (bundle_read(r, bob, &s, err) != 0)
		fail_msg("read again: %s", err);
	bundle_close(r);
}

static void
test_writer_errors(void **state)
{
	static const char *cols[] = { "k", "v" };
	static const uint32_t pk0 = 0, pkbad = 2;
	const char *path = tpath("werr.mule");
	struct bundle_writer *w = NULL;
	struct rowchange rc;
	struct mval pk;
	struct cell cells[2];
	struct bundle_schema s;
	char err[MULE_ERRLEN];
	struct ident_pub two[2];
	uint8_t *huge;

	(void)state;
	assert_int_equal(bundle_writer_new(path, NULL, alice, NULL, 0, 1, &w,
	    err), MULE_EINVAL);
	two[0] = bob->pub;
	two[1] = bob->pub;
	assert_int_equal(bundle_writer_new(path, NULL, alice, two, 2, 1, &w,
	    err), MULE_EINVAL);
	assert_int_equal(bundle_writer_new(path, tpath("no/such/dir"), alice,
	    &bob->pub, 1, 1, &w, err), MULE_ENOTFOUND);

	assert_int_equal(bundle_writer_new(path, NULL, alice, &bob->pub, 1, 1,
	    &w, err), 0);
	memset(&rc, 0, sizeof(rc));
	set_int(&pk, 1);
	rc.npk = 1;
	rc.pk = &pk;
	rc.cl = 1;
	assert_int_equal(bundle_writer_add_row(w, &rc, err), MULE_EINVAL);
	assert_int_equal(bundle_writer_begin_table(w, "", 2, cols, 1, &pk0,
	    err), MULE_EINVAL);
	assert_int_equal(bundle_writer_begin_table(w, "t", 2, cols, 1, &pkbad,
	    err), MULE_EINVAL);
	assert_int_equal(bundle_writer_begin_table(w, "t", 0, cols, 1, &pk0,
	    err), MULE_EINVAL);
	assert_int_equal(bundle_writer_begin_table(w, "t", 2, cols, 0, &pk0,
	    err), MULE_EINVAL);
	assert_int_equal(bundle_writer_begin_table(w, "t", 2, cols, 1, &pk0,
	    err), 0);
	rc.cl = 0;
	assert_int_equal(bundle_writer_add_row(w, &rc, err), MULE_EINVAL);
	rc.cl = 1;
	rc.npk = 2;
	assert_int_equal(bundle_writer_add_row(w, &rc, err), MULE_EINVAL);
	rc.npk = 1;
	memset(cells, 0, sizeof(cells));
	cells[0].col = 1;
	cells[1].col = 1;
	rc.cells = cells;
	rc.ncells = 2;
	assert_int_equal(bundle_writer_add_row(w, &rc, err), MULE_EINVAL);
	cells[1].col = 0;
	assert_int_equal(bundle_writer_add_row(w, &rc, err), MULE_EINVAL);
	rc.ncells = 1;
	cells[0].v.type = 9;
	assert_int_equal(bundle_writer_add_row(w, &rc, err), MULE_EINVAL);
	/* a reference to a value that is not in the bundle */
	cells[0].v.type = MVAL_REF;
	cells[0].v.reftype = MVAL_BLOB;
	cells[0].v.p = big;
	cells[0].v.n = VALUE_REF_LEN;
	assert_int_equal(bundle_writer_add_row(w, &rc, err), MULE_EINVAL);
	/* a key value too large to be inline */
	huge = calloc(1, BUNDLE_MAX_INLINE + 1);
	rc.ncells = 0;
	set_bytes(&pk, MVAL_BLOB, huge, BUNDLE_MAX_INLINE + 1);
	assert_int_equal(bundle_writer_add_row(w, &rc, err), MULE_ETOOLARGE);
	free(huge);
	memset(&s, 0, sizeof(s));
	s.sql = (char *)(uintptr_t)"a\0b";
	s.len = 3;
	assert_int_equal(bundle_writer_add_schema(w, &s, err), MULE_EINVAL);
	s.sql = (char *)(uintptr_t)"SELECT 1;";
	s.len = 9;
	s.version = 5;
	assert_int_equal(bundle_writer_add_schema(w, &s, err), 0);
	assert_int_equal(bundle_writer_add_schema(w, &s, err), MULE_EINVAL);
	s.version = 6;
	assert_int_equal(bundle_writer_add_schema(w, &s, err), 0);
	/* nothing is written unless finished */
	bundle_writer_free(w);
	assert_false(file_exists(path));
	bundle_writer_free(NULL);
}

/* ------------------------------------------------------------------ */
/* MANIFEST                                                            */
/* ------------------------------------------------------------------ */

static void
sample_manifest(struct buf *out, struct manifest *m)
{
	const struct ident_secret *to[] = { bob, carol };
	struct member_list ml;
	struct bundle_member mb;
	char err[MULE_ERRLEN];
	int i;

	gen_globals();
	mk_manifest(m, to, 2);
	m->ntables = 2;
	m->nrows = 10;
	m->ncells = 20;
	m->nvalues = 2;
	m->nschema = 1;
	member_list_init(&ml);
	memset(&mb, 0, sizeof(mb));
	mb.kind = MEMBER_SCHEMA;
	mb.seq = 1;
	mb.size = 100;
	fill(mb.hash, sizeof(mb.hash), 1);
	assert_int_equal(member_list_add(&ml, &mb), 0);
	for (i = 0; i < 2; i++) {
		memset(&mb, 0, sizeof(mb));
		mb.kind = MEMBER_VALUE;
		mb.size = 70000;
		mb.vtype = i ? MVAL_TEXT : MVAL_BLOB;
		memset(mb.hash, 0x30 + i, sizeof(mb.hash));
		assert_int_equal(member_list_add(&ml, &mb), 0);
	}
	for (i = 0; i < 3; i++) {
		memset(&mb, 0, sizeof(mb));
		mb.kind = MEMBER_ROWS;
		mb.seq = (uint32_t)i + 1;
		mb.size = 1000;
		fill(mb.hash, sizeof(mb.hash), 10 + i);
		assert_int_equal(member_list_add(&ml, &mb), 0);
	}
	buf_init(out);
	assert_int_equal(manifest_encode(m, &ml, out, err), 0);
	member_list_release(&ml);
}

static int
parse_text(const char *s, char *err)
{
	struct manifest m;
	struct member_list ml;
	int r;

	manifest_init(&m);
	member_list_init(&ml);
	r = manifest_parse((const uint8_t *)s, strlen(s), &m, &ml, err);
	manifest_release(&m);
	member_list_release(&ml);
	return r;
}

/* Replaces the first `from` in the sample text by `to` and parses. */
static int
parse_edit(const struct buf *b, const char *from, const char *to)
{
	char *s = malloc(b->len + strlen(to) + 1), *at, err[MULE_ERRLEN];
	int r;

	memcpy(s, b->d, b->len);
	s[b->len] = '\0';
	at = strstr(s, from);
	assert_non_null(at);
	memmove(at + strlen(to), at + strlen(from),
	    strlen(at + strlen(from)) + 1);
	memcpy(at, to, strlen(to));
	err[0] = '\0';
	r = parse_text(s, err);
	if (r != 0)
		assert_true(strlen(err) > 0);
	free(s);
	return r;
}

static void
test_manifest_parse(void **state)
{
	struct manifest m, got;
	struct member_list ml;
	struct buf b;
	char err[MULE_ERRLEN], *big_text;
	size_t cut, i;
	int r;

	(void)state;
	sample_manifest(&b, &m);
	seed("manifest", "sample", -1, b.d, b.len);
	manifest_init(&got);
	member_list_init(&ml);
	assert_int_equal(manifest_parse(b.d, b.len, &got, &ml, err), 0);
	assert_memory_equal(got.bundle_id, m.bundle_id, BUNDLE_ID_LEN);
	assert_string_equal(got.from_name, m.from_name);
	assert_int_equal(got.nto, 2);
	assert_memory_equal(got.to[1], carol->site_id, SITE_ID_LEN);
	assert_int_equal(got.top.n, 3);
	assert_int_equal(got.ncells, 20);
	assert_int_equal(ml.n, 6);
	assert_int_equal(ml.nschema, 1);
	assert_int_equal(ml.nvalues, 2);
	assert_int_equal(ml.nrows, 3);
	assert_int_equal(ml.m[2].vtype, MVAL_TEXT);
	assert_int_equal(ml.m[5].seq, 3);
	manifest_release(&got);
	member_list_release(&ml);

	/* every truncation fails */
	for (cut = 0; cut < b.len; cut++) {
		manifest_init(&got);
		member_list_init(&ml);
		r = manifest_parse(b.d, cut, &got, &ml, err);
		assert_int_not_equal(r, 0);
		assert_true(r == MULE_EINCOMPLETE || r == MULE_EFORMAT);
		manifest_release(&got);
		member_list_release(&ml);
	}
	/* bit flips never crash; most fail */
	for (i = 0; i < b.len; i++) {
		b.d[i] ^= 0x20;
		manifest_init(&got);
		member_list_init(&ml);
		(void)manifest_parse(b.d, b.len, &got, &ml, err);
		manifest_release(&got);
		member_list_release(&ml);
		b.d[i] ^= 0x20;
	}
	/* the version before vectors were coded is refused */
	assert_int_equal(parse_edit(&b, "mule-manifest 2", "mule-manifest 1"),
	    MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "mule-manifest 2", "mule-manifest 3"),
	    MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "seq 42", "seq 042"), MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "seq 42", "seq  42"), MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "seq 42", "seq 42 "), MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "seq 42",
	    "seq 18446744073709551616"), MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "full 1", "full 2"), MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "seq 42\n", "seq 42\r\n"),
	    MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "end\n", "end\nx"), MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "end\n", "end"), MULE_EINCOMPLETE);
	assert_int_equal(parse_edit(&b, "end\n", ""), MULE_EINCOMPLETE);
	assert_int_equal(parse_edit(&b, "tables", "tablez"), MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "values 2", "values 3"), MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "schema 1\n", "schema 100001\n"),
	    MULE_ETOOLARGE);
	assert_int_equal(parse_edit(&b, "rows/0002", "rows/0003"),
	    MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "rows/0002", "rows/2"), MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "rows/0002", "tmp/0002"),
	    MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "3131313131 70000", "3131313131 x"),
	    MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, " text\n", " json\n"), MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, " text\n", "\n"), MULE_EFORMAT);
	/* values out of order */
	assert_int_equal(parse_edit(&b, "values/3131", "values/2f31"),
	    MULE_EFORMAT);
	/* a member larger than its limit */
	assert_int_equal(parse_edit(&b, " 1000 ", " 8388609 "),
	    MULE_ETOOLARGE);
	/* vector order */
	assert_int_equal(parse_edit(&b, "top 2020", "top 0020"),
	    MULE_EFORMAT);
	/* "ref 0" has no id */
	assert_int_equal(parse_edit(&b, "ref 0\n", "ref 0 0000\n"),
	    MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "ref 0\n", "ref 7\n"),
	    MULE_EFORMAT);
	/* unknown key, missing key */
	assert_int_equal(parse_edit(&b, "seq 42\n", "seq 42\ncolor blue\n"),
	    MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "full 1\n", ""), MULE_EFORMAT);
	/* a control character */
	assert_int_equal(parse_edit(&b, "north", "no\trth"), MULE_EFORMAT);
	/* hex in upper case */
	assert_int_equal(parse_edit(&b, "bundle ", "bundle A"), MULE_EFORMAT);
	/* a line longer than MANIFEST_MAX_LINE */
	big_text = malloc(MANIFEST_MAX_LINE + 64);
	memset(big_text, 'x', MANIFEST_MAX_LINE + 10);
	big_text[MANIFEST_MAX_LINE + 10] = '\0';
	assert_int_equal(parse_edit(&b, "north", big_text), MULE_ETOOLARGE);
	free(big_text);
	/* too many recipients */
	{
		struct buf t;
		char line[64];
		int k;

		buf_init(&t);
		assert_int_equal(buf_put(&t, "mule-manifest 2\nbundle ", 23),
		    0);
		buf_put(&t, "00000000000000000000000000000000\nfrom ", 38);
		buf_put(&t, "00000000000000000000000000000000\n", 33);
		for (k = 0; k <= BUNDLE_MAX_RECIPIENTS; k++) {
			snprintf(line, sizeof(line), "to %032x\n", k);
			buf_put(&t, line, strlen(line));
		}
		manifest_init(&got);
		member_list_init(&ml);
		assert_int_equal(manifest_parse(t.d, t.len, &got, &ml, err),
		    MULE_ETOOLARGE);
		manifest_release(&got);
		member_list_release(&ml);
		buf_release(&t);
	}
	/* oversized as a whole */
	manifest_init(&got);
	member_list_init(&ml);
	assert_int_equal(manifest_parse(b.d, (size_t)BUNDLE_MAX_MANIFEST + 1,
	    &got, &ml, err), MULE_ETOOLARGE);
	/* garbage */
	assert_int_equal(parse_text("\x7f" "ELF\n", err), MULE_EFORMAT);
	assert_int_equal(parse_text("", err), MULE_EINCOMPLETE);
	assert_int_equal(parse_text("\n", err), MULE_EFORMAT);
	buf_release(&b);
	manifest_release(&m);
}

/*
 * Coded vectors (mule-bundle(5)).  The reference: `n` origins, origin i
 * being i in its first two bytes (big-endian) then 0x5a, counter 10 + i;
 * tests/fuzz/fuzz_manifest.c rebuilds against the same vector of 600.
 */
static void
ref_vector(struct vector *v, size_t n)
{
	uint8_t o[SITE_ID_LEN];
	size_t i;

	vector_init(v);
	for (i = 0; i < n; i++) {
		memset(o, 0x5a, sizeof(o));
		o[0] = (uint8_t)(i >> 8);
		o[1] = (uint8_t)i;
		assert_int_equal(vector_set(v, o, 10 + i), 0);
	}
}

/*
 * A manifest coded against the reference of `n` origins: base moves
 * origin 5 to 20, lacks origin 7 and adds one origin the reference lacks
 * (counter 3); top adds one change of origin 0 (the sender); ack = top.
 */
static void
coded_manifest(struct manifest *m, size_t n, struct buf *out)
{
	const struct ident_secret *to[] = { bob };
	struct member_list ml;
	uint8_t x[SITE_ID_LEN];
	char err[MULE_ERRLEN];

	mk_manifest(m, to, 1);
	vector_release(&m->base);
	vector_release(&m->top);
	vector_release(&m->ack);
	ref_vector(&m->refvec, n);
	ref_vector(&m->base, n);
	m->base.e[5].counter = 20;
	m->base.e[7].counter = 0;
	memset(x, 0xee, sizeof(x));
	assert_int_equal(vector_set(&m->base, x, 3), 0);
	assert_int_equal(vector_copy(&m->top, &m->base), 0);
	m->top.e[0].counter++;
	assert_int_equal(vector_copy(&m->ack, &m->top), 0);
	assert_int_equal(vector_set(&m->seen, bob->site_id, 4), 0);
	assert_int_equal(vector_set(&m->recv, bob->site_id, 6), 0);
	m->ref = 7;
	fill(m->ref_id, BUNDLE_ID_LEN, 8);
	member_list_init(&ml);
	buf_init(out);
	assert_int_equal(manifest_encode(m, &ml, out, err), 0);
}

/* A copy of b with the first `from` replaced by `to`. */
static struct buf
edit_text(const struct buf *b, const char *from, const char *to)
{
	struct buf out;
	const uint8_t *at = memmem(b->d, b->len, from, strlen(from));
	size_t off;

	assert_non_null(at);
	off = (size_t)(at - b->d);
	buf_init(&out);
	assert_int_equal(buf_put(&out, b->d, off), 0);
	assert_int_equal(buf_put(&out, to, strlen(to)), 0);
	assert_int_equal(buf_put(&out, at + strlen(from),
	    b->len - off - strlen(from)), 0);
	return out;
}

/* Parses text that must parse, coded, and rebuilds it against `ref`. */
static int
rebuild(const struct buf *b, const struct vector *ref, struct manifest *got,
    char *err)
{
	struct member_list ml;
	int r;

	manifest_init(got);
	member_list_init(&ml);
	assert_int_equal(manifest_parse(b->d, b->len, got, &ml, err), 0);
	member_list_release(&ml);
	assert_int_equal(got->coded, 1);
	assert_int_equal(got->base.n + got->top.n + got->ack.n, 0);
	r = manifest_vectors(got, ref, &got->base, &got->top, &got->ack, err);
	if (r != 0)
		assert_int_equal(got->base.n + got->top.n + got->ack.n, 0);
	return r;
}

static void
same_vector(const struct vector *a, const struct vector *b)
{
	size_t i, n = 0;

	for (i = 0; i < b->n; i++)
		n += b->e[i].counter > 0;
	assert_int_equal(a->n, n);
	for (i = 0; i < a->n; i++)
		assert_true(vector_get(a, a->e[i].origin) ==
		    vector_get(b, a->e[i].origin));
}

static void
test_manifest_coded(void **state)
{
	struct manifest m, got, full;
	struct member_list ml;
	struct vector ref;
	struct buf b, again, fb, edited;
	char err[MULE_ERRLEN], *txt;
	size_t i, off;

	(void)state;
	gen_globals();
	coded_manifest(&m, 500, &b);
	seed("manifest", "coded", -1, b.d, b.len);
	/* 500 origins cost four lines: base 3, top 1, ack none. */
	assert_non_null(memmem(b.d, b.len, "\nbase #5 +5\nbase #1 0\nbase eeee",
	    31));
	assert_non_null(memmem(b.d, b.len, "\ntop #0 +1\nseen ", 16));
	assert_true(b.len < 1024);
	/* The same vectors in full (no reference) take tens of KB. */
	manifest_init(&full);
	coded_manifest(&full, 500, &fb);
	buf_release(&fb);
	vector_release(&full.refvec);
	full.ref = 0;
	member_list_init(&ml);
	buf_init(&fb);
	assert_int_equal(manifest_encode(&full, &ml, &fb, err), 0);
	assert_true(fb.len > 20 * b.len);
	manifest_release(&full);
	buf_release(&fb);

	/* Rebuilt exactly, and encoded again to the same bytes. */
	ref_vector(&ref, 500);
	assert_int_equal(rebuild(&b, &ref, &got, err), 0);
	assert_int_equal(got.ref, 7);
	assert_memory_equal(got.ref_id, m.ref_id, BUNDLE_ID_LEN);
	same_vector(&got.base, &m.base);
	same_vector(&got.top, &m.top);
	same_vector(&got.ack, &m.ack);
	assert_int_equal(vector_get(&got.seen, bob->site_id), 4);
	assert_int_equal(vector_get(&got.recv, bob->site_id), 6);
	assert_int_equal(vector_copy(&got.refvec, &ref), 0);
	buf_init(&again);
	assert_int_equal(manifest_encode(&got, &ml, &again, err), 0);
	assert_int_equal(again.len, b.len);
	assert_memory_equal(again.d, b.d, b.len);
	buf_release(&again);
	manifest_release(&got);
	vector_release(&ref);

	/* A reference that does not fit: refused, nothing rebuilt. */
	ref_vector(&ref, 6);		/* index 7 is beyond it */
	assert_int_equal(rebuild(&b, &ref, &got, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "names origin #7 of a vector of 6"));
	manifest_release(&got);
	vector_release(&ref);
	ref_vector(&ref, 500);
	ref.e[0].counter = 1;		/* "-10" would take it below 0 */
	edited = edit_text(&b, "top #0 +1", "top #0 -10");
	assert_int_equal(rebuild(&edited, &ref, &got, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "takes origin #0 to 0 or below"));
	manifest_release(&got);
	buf_release(&edited);
	ref.e[0].counter = 10;
	memset(ref.e[499].origin, 0xee, SITE_ID_LEN);	/* the id it adds */
	assert_int_equal(rebuild(&b, &ref, &got, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "by its id an origin"));
	manifest_release(&got);
	vector_release(&ref);

	/* Malformed lines. */
	assert_int_equal(parse_edit(&b, "base #5 +5", "base #05 +5"),
	    MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "base #5 +5", "base #x5 +5"),
	    MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "base #5 +5", "base #65536 +5"),
	    MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "base #1 0", "base #65530 0"),
	    MULE_EFORMAT);		/* the gaps add up beyond the limit */
	assert_int_equal(parse_edit(&b, "base #5 +5", "base #5 20"),
	    MULE_EFORMAT);		/* an index with a counter, not +N */
	assert_int_equal(parse_edit(&b, "base #5 +5", "base #5 +0"),
	    MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "base #5 +5", "base #5 +05"),
	    MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "eeeeeeee 3\n", "eeeeeeee 0\n"),
	    MULE_EFORMAT);		/* an id with counter 0 */
	assert_int_equal(parse_edit(&b, "eeeeeeee 3\n", "eeeeeeee +3\n"),
	    MULE_EFORMAT);		/* an id with a difference */
	assert_int_equal(parse_edit(&b, "base #5 +5", "base #5"),
	    MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "ref 7 ", "ref 7 zz"), MULE_EFORMAT);
	assert_int_equal(parse_edit(&b, "ref 7 ", "ref 0 "), MULE_EFORMAT);
	/* More lines than BUNDLE_MAX_VECTOR: refused by its limit. */
	off = (size_t)((uint8_t *)memmem(b.d, b.len, "base #5", 7) - b.d);
	txt = malloc(off + (size_t)(BUNDLE_MAX_VECTOR + 1) * 48 + 1);
	memcpy(txt, b.d, off);
	for (i = 0; i <= BUNDLE_MAX_VECTOR; i++)
		off += (size_t)sprintf(txt + off, "base %032zx 1\n", i);
	assert_int_equal(manifest_parse((uint8_t *)txt, off, &got, &ml, err),
	    MULE_ETOOLARGE);
	manifest_release(&got);
	member_list_release(&ml);
	free(txt);
	buf_release(&b);
	manifest_release(&m);
}

/* ------------------------------------------------------------------ */
/* segments                                                            */
/* ------------------------------------------------------------------ */

static void
sample_segment(struct buf *out)
{
	struct segment_enc e;
	struct gen *g = calloc(1, sizeof(*g));
	char err[MULE_ERRLEN];
	uint64_t i;
	int added;

	gen_init(g, gtables_full, NELEM(gtables_full));
	segment_enc_init(&e);
	assert_int_equal(segment_enc_begin(&e, "people", 5,
	    gtables_full[0].cols, 1, gtables_full[0].pk, err), 0);
	for (i = 0; i < 24; i++) {
		gen_row(g, 0, i);
		if (i == 10 || i == 12 || i == 20)
			continue;	/* 3 MiB values: not inline */
		assert_int_equal(segment_enc_row(&e, &g->rc, &added, err), 0);
		assert_true(added);
	}
	buf_init(out);
	assert_int_equal(segment_enc_header(&e, out, err), 0);
	segment_enc_release(&e);
	free(g);
}

static int
decode_all(const uint8_t *p, size_t n, uint64_t *rows, char *err)
{
	struct segment_dec d;
	const struct rowchange *rc;
	int r;

	*rows = 0;
	segment_dec_init(&d);
	if ((r = segment_dec_open(&d, p, n, err)) != 0)
		goto out;
	for (;;) {
		if ((r = segment_dec_next(&d, &rc, err)) != 0)
			goto out;
		if (rc == NULL)
			break;
		(*rows)++;
	}
out:
	segment_dec_release(&d);
	return r;
}

/*
 * Resets t to the start of a segment (flags: 1 for a continuation) of
 * table "t" with one column "k", the key, announcing nrows rows.
 */
static void
seg_one_key(struct buf *t, uint8_t flags, uint64_t nrows)
{
	buf_reset(t);
	buf_put(t, "MSEG\x03", 5);
	buf_put_u8(t, flags);
	buf_put_cstr(t, "t");
	buf_put_varint(t, 1);
	buf_put_cstr(t, "k");
	buf_put_varint(t, 1);
	buf_put_varint(t, 0);
	buf_put_varint(t, nrows);
}

/*
 * Appends an origin table of norig origins and the 8 streams of a
 * one-column segment (rows, keys, stamps, cells, bases, ctx, hashes,
 * values of k), each given as bytes and length.
 */
static void
seg_streams(struct buf *t, uint64_t norig, const char *const st[8],
    const size_t len[8])
{
	size_t i, k;

	buf_put_varint(t, norig);
	for (k = 0; k < norig; k++)
		for (i = 0; i < SITE_ID_LEN; i++)
			buf_put_u8(t, (uint8_t)(k + 1));
	for (i = 0; i < 8; i++) {
		buf_put_varint(t, len[i]);
		buf_put(t, st[i], len[i]);
	}
}

static void
test_segment_decode(void **state)
{
	struct buf b, t;
	char err[MULE_ERRLEN];
	uint64_t rows;
	size_t cut, i;
	int r, bit;

	(void)state;
	sample_segment(&b);
	seed("segment", "sample", -1, b.d, b.len);
	assert_int_equal(decode_all(b.d, b.len, &rows, err), 0);
	assert_int_equal(rows, 21);
	for (cut = 0; cut < b.len; cut++) {
		err[0] = '\0';
		r = decode_all(b.d, cut, &rows, err);
		assert_int_not_equal(r, 0);
		assert_true(strlen(err) > 0);
	}
	for (i = 0; i < b.len; i++)
		for (bit = 0; bit < 8; bit += 3) {
			b.d[i] ^= (uint8_t)(1u << bit);
			(void)decode_all(b.d, b.len, &rows, err);
			b.d[i] ^= (uint8_t)(1u << bit);
		}
	/* trailing bytes */
	buf_init(&t);
	buf_put(&t, b.d, b.len);
	buf_put_u8(&t, 0);
	assert_int_equal(decode_all(t.d, t.len, &rows, err), MULE_EFORMAT);
	buf_release(&t);
	/* bad magic, version, flags */
	b.d[0] = 'X';
	assert_int_equal(decode_all(b.d, b.len, &rows, err), MULE_EFORMAT);
	b.d[0] = 'M';
	b.d[4] = 4;
	assert_int_equal(decode_all(b.d, b.len, &rows, err), MULE_EFORMAT);
	/* the previous (row-oriented) version: refused, naming both */
	b.d[4] = 2;
	err[0] = '\0';
	assert_int_equal(decode_all(b.d, b.len, &rows, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "version 2"));
	assert_non_null(strstr(err, "version 3"));
	assert_non_null(strstr(err, "older mule"));
	b.d[4] = 3;
	b.d[5] = 0x80;
	assert_int_equal(decode_all(b.d, b.len, &rows, err), MULE_EFORMAT);
	b.d[5] = 0;
	buf_release(&b);
}

/*
 * Every count and length in a segment header or stream is checked
 * before anything is allocated or read past: oversized counts, streams
 * longer than the segment, and the rest of the malformed shapes.
 */
static void
test_segment_decode_limits(void **state)
{
	static const char *const none[8] = { "", "", "", "", "", "", "", "" };
	static const size_t zero[8] = { 0 };
	struct buf t;
	struct segment_dec d;
	char err[MULE_ERRLEN];
	uint64_t rows;
	size_t i;

	(void)state;
	/* oversized counts */
	buf_init(&t);
	buf_put(&t, "MSEG\x03\x00", 6);
	buf_put_cstr(&t, "t");
	buf_put_varint(&t, BUNDLE_MAX_COLUMNS + 1);
	assert_int_equal(decode_all(t.d, t.len, &rows, err), MULE_ETOOLARGE);
	buf_reset(&t);
	buf_put(&t, "MSEG\x03\x00", 6);
	buf_put_varint(&t, BUNDLE_MAX_NAME + 1);
	assert_int_equal(decode_all(t.d, t.len, &rows, err), MULE_ETOOLARGE);
	/* a row count that cannot fit its rows stream */
	seg_one_key(&t, 0, 1000000);
	seg_streams(&t, 0, none, zero);
	assert_int_equal(decode_all(t.d, t.len, &rows, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "1000000 rows"));
	/* origins beyond the limit, or more than the bytes hold */
	seg_one_key(&t, 0, 0);
	buf_put_varint(&t, SEGMENT_MAX_ORIGINS + 1);
	assert_int_equal(decode_all(t.d, t.len, &rows, err), MULE_EFORMAT);
	seg_one_key(&t, 0, 0);
	buf_put_varint(&t, 1000);
	for (i = 0; i < 100; i++)
		buf_put_u8(&t, 0);
	assert_int_equal(decode_all(t.d, t.len, &rows, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "1000 origins"));
	/* a stream longer than the segment */
	seg_one_key(&t, 0, 0);
	buf_put_varint(&t, 0);
	buf_put_varint(&t, 0x7fffffff);
	buf_put_u8(&t, 0);
	assert_int_equal(decode_all(t.d, t.len, &rows, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "stream length"));
	{
		/* one row: a key, cl 1, no cells, a stamp of origin 0 */
		static const char *const ok[8] = { "\x02\x00", "\x01\x02",
		    "\x0a\x00", "", "", "", "", "" };
		static const size_t okl[8] = { 2, 2, 2, 0, 0, 0, 0, 0 };
		static const char *const toobig[8] = { "\x02\x00",
		    "\x04\x81\x80\x04", "\x0a\x00", "", "", "", "", "" };
		static const size_t bigl[8] = { 2, 4, 2, 0, 0, 0, 0, 0 };
		static const char *const skip[8] = { "\x02\x00", "\x01\x02",
		    "\x0a\x01", "", "", "", "", "" };
		static const char *const extra[8] = { "\x02\x00", "\x01\x02",
		    "\x0a\x00", "", "", "", "", "\x01" };
		static const size_t extral[8] = { 2, 2, 2, 0, 0, 0, 0, 1 };
		static const char *const refkey[8] = { "\x02\x00",
		    "\x05\x03", "\x0a\x00", "", "", "", "", "" };

		seg_one_key(&t, 0, 1);
		seg_streams(&t, 1, ok, okl);
		assert_int_equal(decode_all(t.d, t.len, &rows, err), 0);
		assert_int_equal(rows, 1);
		/* an inline value beyond BUNDLE_MAX_INLINE */
		seg_one_key(&t, 0, 1);
		seg_streams(&t, 1, toobig, bigl);
		assert_int_equal(decode_all(t.d, t.len, &rows, err),
		    MULE_ETOOLARGE);
		/* an origin index beyond the table */
		seg_one_key(&t, 0, 1);
		seg_streams(&t, 1, skip, okl);
		assert_int_equal(decode_all(t.d, t.len, &rows, err),
		    MULE_EFORMAT);
		assert_non_null(strstr(err, "bad stamp"));
		/* origins numbered out of first-use order; one never used */
		seg_one_key(&t, 0, 1);
		seg_streams(&t, 2, skip, okl);
		assert_int_equal(decode_all(t.d, t.len, &rows, err),
		    MULE_EFORMAT);
		assert_non_null(strstr(err, "bad stamp"));
		seg_one_key(&t, 0, 1);
		seg_streams(&t, 2, ok, okl);
		assert_int_equal(decode_all(t.d, t.len, &rows, err),
		    MULE_EFORMAT);
		assert_non_null(strstr(err, "names 2 origins but uses 1"));
		/* a stream with bytes after the last row */
		seg_one_key(&t, 0, 1);
		seg_streams(&t, 1, extra, extral);
		assert_int_equal(decode_all(t.d, t.len, &rows, err),
		    MULE_EFORMAT);
		assert_non_null(strstr(err, "stream 7 has 1 bytes"));
		/* the full bit must match the cell count of a live row */
		{
			static const char *const f1[8] = { "\x03\x00",
			    "\x01\x02", "\x0a\x00", "", "", "", "", "" };
			static const char *const f0[8] = { "\x02\x01",
			    "\x01\x02", "\x0a\x00\x00\x00", "\x00", "", "",
			    "", "\x00" };
			static const char *const fok[8] = { "\x03\x01",
			    "\x01\x02", "\x0a\x00\x00\x00", "\x00", "", "",
			    "", "\x00" };
			static const size_t f0l[8] = { 2, 2, 4, 1, 0, 0, 0, 1 };

			seg_one_key(&t, 0, 1);
			seg_streams(&t, 1, f1, okl);
			assert_int_equal(decode_all(t.d, t.len, &rows, err),
			    MULE_EFORMAT);
			assert_non_null(strstr(err, "bad cell count"));
			seg_one_key(&t, 0, 1);
			seg_streams(&t, 1, f0, f0l);
			assert_int_equal(decode_all(t.d, t.len, &rows, err),
			    MULE_EFORMAT);
			seg_one_key(&t, 0, 1);
			seg_streams(&t, 1, fok, f0l);
			assert_int_equal(decode_all(t.d, t.len, &rows, err), 0);
		}
		/* a reference in the key */
		seg_one_key(&t, 0, 1);
		seg_streams(&t, 1, refkey, okl);
		assert_int_equal(decode_all(t.d, t.len, &rows, err),
		    MULE_EFORMAT);
	}
	/* a continuation segment decodes by itself */
	seg_one_key(&t, 1, 0);
	seg_streams(&t, 0, none, zero);
	segment_dec_init(&d);
	assert_int_equal(segment_dec_open(&d, t.d, t.len, err), 0);
	assert_int_equal(d.cont, 1);
	segment_dec_release(&d);
	buf_release(&t);
}

/* An encoder fills segments and reports when a row does not fit. */
static void
test_segment_full(void **state)
{
	static const char *cols[] = { "k", "v" };
	static const uint32_t pk0 = 0;
	struct segment_enc e;
	struct rowchange rc;
	struct mval pk;
	struct cell cell;
	struct buf out;
	uint8_t *v = calloc(1, BUNDLE_MAX_INLINE);
	char err[MULE_ERRLEN];
	uint64_t rows;
	int added = 1, n = 0;

	(void)state;
	segment_enc_init(&e);
	assert_int_equal(segment_enc_begin(&e, "t", 2, cols, 1, &pk0, err), 0);
	memset(&rc, 0, sizeof(rc));
	set_int(&pk, 1);
	memset(&cell, 0, sizeof(cell));
	cell.col = 1;
	set_bytes(&cell.v, MVAL_BLOB, v, BUNDLE_MAX_INLINE);
	rc.npk = 1;
	rc.pk = &pk;
	rc.cl = 1;
	rc.ncells = 1;
	rc.cells = &cell;
	while (added) {
		assert_int_equal(segment_enc_row(&e, &rc, &added, err), 0);
		n += added;
	}
	assert_int_equal(n, BUNDLE_MAX_SEGMENT / (BUNDLE_MAX_INLINE + 40));
	/* Once full, a smaller row is not added either (deltas moved). */
	cell.v.n = 1;
	assert_int_equal(segment_enc_row(&e, &rc, &added, err), 0);
	assert_false(added);
	buf_init(&out);
	assert_int_equal(segment_enc_header(&e, &out, err), 0);
	assert_true(out.len <= BUNDLE_MAX_SEGMENT);
	assert_int_equal(decode_all(out.d, out.len, &rows, err), 0);
	assert_int_equal(rows, (uint64_t)n);
	buf_release(&out);
	segment_enc_next(&e);
	assert_int_equal(segment_enc_row(&e, &rc, &added, err), 0);
	assert_true(added);
	segment_enc_release(&e);
	free(v);
}

/*
 * Integer keys and values travel as deltas (a dense key costs a byte),
 * a full row of inline values carries no hash (the receiver computes
 * replica/'s row hash), and a full row holding a reference carries it.
 */
static void
test_segment_deltas(void **state)
{
	static const char *cols[] = { "k", "v", "w" };
	static const uint32_t pk0 = 0;
	static const int64_t ks[] = { 5, 6, 7, INT64_MAX, INT64_MIN, -1, 0 };
	struct segment_enc e;
	struct segment_dec d;
	const struct rowchange *got;
	struct rowchange rc;
	struct mval pk, hv[3];
	struct cell cells[3];
	struct buf out;
	uint8_t ref[VALUE_REF_LEN], want[NELEM(ks)][ROW_HASH_LEN];
	char err[MULE_ERRLEN];
	size_t i;
	int added;

	(void)state;
	fill(ref, sizeof(ref), 9);
	segment_enc_init(&e);
	assert_int_equal(segment_enc_begin(&e, "t", 3, cols, 1, &pk0, err), 0);
	for (i = 0; i < NELEM(ks); i++) {
		memset(&rc, 0, sizeof(rc));
		memset(cells, 0, sizeof(cells));
		set_int(&pk, ks[i]);
		cells[0].v = pk;
		set_int(&cells[1].v, ks[NELEM(ks) - 1 - i]);
		set_bytes(&cells[2].v, MVAL_TEXT, "note", 4);
		if (i == 2) {	/* a reference: the hash travels */
			memset(&cells[2].v, 0, sizeof(cells[2].v));
			cells[2].v.type = MVAL_REF;
			cells[2].v.reftype = MVAL_TEXT;
			cells[2].v.p = ref;
			cells[2].v.n = VALUE_REF_LEN;
		}
		cells[1].col = 1;
		cells[2].col = 2;
		set_stamp(&cells[1].st, 100 + i, 1);
		set_stamp(&rc.cl_stamp, 100, 1);
		rc.npk = 1;
		rc.pk = &pk;
		rc.cl = 1;
		rc.ncells = 3;
		rc.cells = cells;
		hv[0] = cells[0].v;
		hv[1] = cells[1].v;
		hv[2] = cells[2].v;
		if (i == 2)
			fill(rc.hash, ROW_HASH_LEN, 3);
		else
			row_hash_vals(hv, 3, rc.hash, NULL);
		memcpy(want[i], rc.hash, ROW_HASH_LEN);
		assert_int_equal(segment_enc_row(&e, &rc, &added, err), 0);
		assert_true(added);
	}
	/* keys 5, 6, 7: a type byte and one delta byte each */
	assert_int_equal(memcmp(e.s[SEG_S_KEYS].d, "\x01\x0a\x01\x02\x01\x02",
	    6), 0);
	assert_int_equal(e.s[SEG_S_HASHES].len, ROW_HASH_LEN);
	buf_init(&out);
	assert_int_equal(segment_enc_header(&e, &out, err), 0);
	segment_enc_release(&e);
	segment_dec_init(&d);
	assert_int_equal(segment_dec_open(&d, out.d, out.len, err), 0);
	for (i = 0; i < NELEM(ks); i++) {
		assert_int_equal(segment_dec_next(&d, &got, err), 0);
		assert_non_null(got);
		assert_int_equal(got->pk[0].i, ks[i]);
		assert_int_equal(got->cells[1].v.i, ks[NELEM(ks) - 1 - i]);
		assert_int_equal(got->cells[1].st.lamport, 100 + i);
		assert_memory_equal(got->hash, want[i], ROW_HASH_LEN);
	}
	assert_int_equal(segment_dec_next(&d, &got, err), 0);
	assert_null(got);
	segment_dec_release(&d);
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_full),
		cmocka_unit_test(test_values_once),
		cmocka_unit_test(test_three_recipients),
		cmocka_unit_test(test_unencrypted),
		cmocka_unit_test(test_empty_bundle),
		cmocka_unit_test(test_same_value_stored_once),
		cmocka_unit_test(test_huge_row),
		cmocka_unit_test(test_write_raw),
		cmocka_unit_test(test_fuzz_seeds),
		cmocka_unit_test(test_inner_members),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_tamper_large),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_wrong_sender),
		cmocka_unit_test(test_read_before_verify),
		cmocka_unit_test(test_changed_after_verify),
		cmocka_unit_test(test_not_a_bundle),
		cmocka_unit_test(test_sink_stops),
		cmocka_unit_test(test_writer_errors),
		cmocka_unit_test(test_swapped_after_verify),
		cmocka_unit_test(test_swapped_encrypted),
		cmocka_unit_test(test_manifest_parse),
		cmocka_unit_test(test_manifest_coded),
		cmocka_unit_test(test_segment_decode),
		cmocka_unit_test(test_segment_decode_limits),
		cmocka_unit_test(test_segment_deltas),
		cmocka_unit_test(test_segment_full),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
