/*
 * bundle/manifest.c — the MANIFEST member: a strict line-based text
 * format (see mule-bundle(5)), and the member list it carries.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/internal.h"
#include "core/error.h"

/* ---- small helpers ---- */

/* Decimal without sign or leading zeros: 0, -1 malformed, -2 above max. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	size_t i, len = strlen(s);

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x > max)
		return -2;
	*v = x;
	return 0;
}

/* ---- members ---- */

void
member_list_init(struct member_list *ml)
{
	memset(ml, 0, sizeof(*ml));
}

void
member_list_release(struct member_list *ml)
{
	if (ml == NULL)
		return;
	free(ml->m);
	member_list_init(ml);
}

int
member_list_add(struct member_list *ml, const struct bundle_member *mb)
{
	struct bundle_member *nm;
	size_t ncap;

	if (ml->n >= BUNDLE_MAX_MEMBERS)
		return MULE_ETOOLARGE;
	if (ml->n == ml->cap) {
		ncap = ml->cap ? ml->cap * 2 : 16;
		if ((nm = realloc(ml->m, ncap * sizeof(*nm))) == NULL)
			return MULE_ENOMEM;
		ml->m = nm;
		ml->cap = ncap;
	}
	ml->m[ml->n++] = *mb;
	switch (mb->kind) {
	case MEMBER_SCHEMA: ml->nschema++; break;
	case MEMBER_VALUE: ml->nvalues++; break;
	case MEMBER_ROWS: ml->nrows++; break;
	}
	return 0;
}

void
member_name(const struct bundle_member *mb, char out[MEMBER_NAME_MAX])
{
	char hx[2 * BUNDLE_HASH_LEN + 1];

	switch (mb->kind) {
	case MEMBER_SCHEMA:
		snprintf(out, MEMBER_NAME_MAX, "schema/%04" PRIu32 ".sql",
		    mb->seq);
		break;
	case MEMBER_VALUE:
		hex_encode(hx, mb->hash, BUNDLE_HASH_LEN);
		snprintf(out, MEMBER_NAME_MAX, "values/%s", hx);
		break;
	case MEMBER_ROWS:
		snprintf(out, MEMBER_NAME_MAX, "rows/%04" PRIu32, mb->seq);
		break;
	default:
		snprintf(out, MEMBER_NAME_MAX, "MANIFEST");
		break;
	}
}

uint64_t
member_limit(int kind)
{
	switch (kind) {
	case MEMBER_SCHEMA: return BUNDLE_MAX_SCHEMA_SQL + SCHEMA_HDR_MAX;
	case MEMBER_VALUE: return BUNDLE_MAX_VALUE;
	case MEMBER_ROWS: return BUNDLE_MAX_SEGMENT;
	default: return BUNDLE_MAX_MANIFEST;
	}
}

/* ---- struct manifest ---- */

void
manifest_init(struct manifest *m)
{
	memset(m, 0, sizeof(*m));
	vector_init(&m->refvec);
	vector_init(&m->base);
	vector_init(&m->top);
	vector_init(&m->ack);
	vector_init(&m->seen);
	vector_init(&m->recv);
}

void
manifest_release(struct manifest *m)
{
	if (m == NULL)
		return;
	free(m->from_name);
	free(m->to);
	free(m->cbase.e);
	free(m->ctop.e);
	free(m->cack.e);
	vector_release(&m->refvec);
	vector_release(&m->seen);
	vector_release(&m->base);
	vector_release(&m->top);
	vector_release(&m->ack);
	vector_release(&m->recv);
	manifest_init(m);
}

/* ---- encoding ---- */

static int
cmp_entry(const void *a, const void *b)
{
	return memcmp(((const struct vec_entry *)a)->origin,
	    ((const struct vec_entry *)b)->origin, SITE_ID_LEN);
}

static int
name_ok(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s);

	if (len == 0 || len > BUNDLE_MAX_NAME)
		return 0;
	for (; *u != '\0'; u++)
		if (*u < 0x20 || *u == 0x7f)
			return 0;
	return 1;
}

static void
put_line(struct buf *b, int *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
put_line(struct buf *b, int *r, const char *fmt, ...)
{
	char line[MANIFEST_MAX_LINE + 2];
	va_list ap;
	int n;

	if (*r != 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > MANIFEST_MAX_LINE) {
		*r = MULE_EINTERNAL;
		return;
	}
	line[n++] = '\n';
	*r = buf_put(b, line, (size_t)n);
}

static int
put_vector(struct buf *b, const char *key, const struct vector *v,
    char *err)
{
	struct vec_entry *s = NULL;
	char hx[2 * SITE_ID_LEN + 1];
	size_t i;
	int r = MULE_EINTERNAL;

	if (v->n > BUNDLE_MAX_VECTOR) {
		r = mule_errf(err, MULE_ETOOLARGE,
		    "%s vector has %zu origins (limit %d)", key, v->n,
		    BUNDLE_MAX_VECTOR);
		goto out;
	}
	if (v->n > 0) {
		if ((s = malloc(v->n * sizeof(*s))) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(s, v->e, v->n * sizeof(*s));
		qsort(s, v->n, sizeof(*s), cmp_entry);
	}
	r = 0;
	for (i = 0; i < v->n && r == 0; i++) {
		if (i > 0 && memcmp(s[i - 1].origin, s[i].origin,
		    SITE_ID_LEN) == 0) {
			r = mule_errf(err, MULE_EINVAL,
			    "%s vector names an origin twice", key);
			goto out;
		}
		hex_encode(hx, s[i].origin, SITE_ID_LEN);
		put_line(b, &r, "%s %s %" PRIu64, key, hx, s[i].counter);
	}
	if (r != 0)
		r = mule_errf(err, r, "MANIFEST exceeds %u bytes",
		    BUNDLE_MAX_MANIFEST);
out:
	free(s);
	return r;
}

/*
 * A sorted copy of v without its counters of 0 into *out (initialized).
 * MULE_EINVAL for an origin named twice, MULE_ETOOLARGE beyond
 * BUNDLE_MAX_VECTOR.
 */
static int
vec_sorted(const struct vector *v, struct vector *out, const char *key,
    char *err)
{
	size_t i;

	if (v->n > BUNDLE_MAX_VECTOR)
		return mule_errf(err, MULE_ETOOLARGE, "%s vector has %zu "
		    "origins (limit %d)", key, v->n, BUNDLE_MAX_VECTOR);
	if (v->n == 0)
		return 0;
	if ((out->e = malloc(v->n * sizeof(*out->e))) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	for (i = 0; i < v->n; i++)
		if (v->e[i].counter > 0)
			out->e[out->n++] = v->e[i];
	qsort(out->e, out->n, sizeof(*out->e), cmp_entry);
	for (i = 1; i < out->n; i++)
		if (memcmp(out->e[i - 1].origin, out->e[i].origin,
		    SITE_ID_LEN) == 0)
			return mule_errf(err, MULE_EINVAL,
			    "%s vector names an origin twice", key);
	return 0;
}

/*
 * The lines of `v` coded against `against` (mule-bundle(5)): one per
 * origin whose counter differs, in ascending order of origin; "#I" for
 * the I-th origin of `against`, the id for one it lacks.
 */
static int
put_coded(struct buf *b, const char *key, const struct vector *v,
    const struct vector *against, char *err)
{
	struct vector sv, sa;
	char hx[2 * SITE_ID_LEN + 1];
	size_t i = 0, j = 0, next = 0;	/* the index a gap of 0 names */
	uint64_t x, y;
	int c, r;

	vector_init(&sv);
	vector_init(&sa);
	if ((r = vec_sorted(v, &sv, key, err)) != 0 ||
	    (r = vec_sorted(against, &sa, key, err)) != 0)
		goto out;
	while (r == 0 && (i < sa.n || j < sv.n)) {
		c = i == sa.n ? 1 : j == sv.n ? -1 :
		    memcmp(sa.e[i].origin, sv.e[j].origin, SITE_ID_LEN);
		if (c < 0) {
			put_line(b, &r, "%s #%zu 0", key, i - next);
			next = ++i;
		} else if (c > 0) {
			hex_encode(hx, sv.e[j].origin, SITE_ID_LEN);
			put_line(b, &r, "%s %s %" PRIu64, key, hx,
			    sv.e[j].counter);
			j++;
		} else {
			x = sa.e[i].counter;
			y = sv.e[j].counter;
			if (x != y) {
				put_line(b, &r, "%s #%zu %c%" PRIu64, key,
				    i - next, y > x ? '+' : '-',
				    y > x ? y - x : x - y);
				next = i + 1;
			}
			i++;
			j++;
		}
	}
	if (r != 0)
		r = mule_errf(err, r, "MANIFEST exceeds %u bytes",
		    BUNDLE_MAX_MANIFEST);
out:
	vector_release(&sv);
	vector_release(&sa);
	return r;
}

/* What manifest_encode refuses to write: MULE_EINVAL or MULE_ETOOLARGE. */
static int
encode_check(const struct manifest *m, char *err)
{
	size_t i, j;

	if (m->from_name != NULL && m->from_name[0] != '\0' &&
	    !name_ok(m->from_name))
		return mule_errf(err, MULE_EINVAL, "site name is empty, longer "
		    "than %d bytes or has control characters",
		    BUNDLE_MAX_NAME);
	if (m->nto > BUNDLE_MAX_RECIPIENTS)
		return mule_errf(err, MULE_ETOOLARGE,
		    "%zu recipients (limit %d)", m->nto,
		    BUNDLE_MAX_RECIPIENTS);
	for (i = 0; i < m->nto; i++)
		for (j = 0; j < i; j++)
			if (memcmp(m->to[i], m->to[j], SITE_ID_LEN) == 0)
				return mule_errf(err, MULE_EINVAL,
				    "a recipient site is named twice");
	if (m->nschema > BUNDLE_MAX_SCHEMA_STEPS)
		return mule_errf(err, MULE_ETOOLARGE,
		    "%" PRIu64 " schema steps (limit %d)", m->nschema,
		    BUNDLE_MAX_SCHEMA_STEPS);
	return 0;
}

/* The "member" lines, through put_line (*r as there). */
static void
put_members(struct buf *out, int *r, const struct member_list *ml)
{
	char hx[2 * BUNDLE_HASH_LEN + 1], name[MEMBER_NAME_MAX];
	const struct bundle_member *mb;
	size_t i;

	for (i = 0; i < ml->n && *r == 0; i++) {
		mb = &ml->m[i];
		member_name(mb, name);
		hex_encode(hx, mb->hash, BUNDLE_HASH_LEN);
		if (mb->kind == MEMBER_VALUE)
			put_line(out, r, "member %s %" PRIu64 " %s %s", name,
			    mb->size, hx,
			    mb->vtype == MVAL_TEXT ? "text" : "blob");
		else
			put_line(out, r, "member %s %" PRIu64 " %s", name,
			    mb->size, hx);
	}
}

int
manifest_encode(const struct manifest *m, const struct member_list *ml,
    struct buf *out, char *err)
{
	char hx[2 * BUNDLE_HASH_LEN + 1];
	size_t i;
	int r = 0;

	buf_set_max(out, BUNDLE_MAX_MANIFEST);
	if ((r = encode_check(m, err)) != 0)
		goto out;
	put_line(out, &r, "%s", MANIFEST_FIRST_LINE);
	hex_encode(hx, m->bundle_id, BUNDLE_ID_LEN);
	put_line(out, &r, "bundle %s", hx);
	hex_encode(hx, m->from, SITE_ID_LEN);
	put_line(out, &r, "from %s", hx);
	if (m->from_name != NULL && m->from_name[0] != '\0')
		put_line(out, &r, "from-name %s", m->from_name);
	for (i = 0; i < m->nto; i++) {
		hex_encode(hx, m->to[i], SITE_ID_LEN);
		put_line(out, &r, "to %s", hx);
	}
	put_line(out, &r, "seq %" PRIu64, m->seq);
	put_line(out, &r, "full %d", m->full ? 1 : 0);
	hex_encode(hx, m->ref_id, BUNDLE_ID_LEN);
	if (m->ref == 0)
		put_line(out, &r, "ref 0");
	else
		put_line(out, &r, "ref %" PRIu64 " %s", m->ref, hx);
	hex_encode(hx, m->fpr_from, BUNDLE_FPR_LEN);
	put_line(out, &r, "schema-from %" PRIu32 " %s", m->schema_from, hx);
	hex_encode(hx, m->fpr_to, BUNDLE_FPR_LEN);
	put_line(out, &r, "schema-to %" PRIu32 " %s", m->schema_to, hx);
	if (r != 0)
		goto toolarge;
	if ((r = put_coded(out, "base", &m->base, &m->refvec, err)) != 0 ||
	    (r = put_coded(out, "top", &m->top, &m->base, err)) != 0 ||
	    (r = put_coded(out, "ack", &m->ack, &m->top, err)) != 0 ||
	    (r = put_vector(out, "seen", &m->seen, err)) != 0 ||
	    (r = put_vector(out, "recv", &m->recv, err)) != 0)
		goto out;
	put_line(out, &r, "tables %" PRIu64, m->ntables);
	put_line(out, &r, "rows %" PRIu64, m->nrows);
	put_line(out, &r, "cells %" PRIu64, m->ncells);
	put_line(out, &r, "values %" PRIu64, m->nvalues);
	put_line(out, &r, "schema %" PRIu64, m->nschema);
	put_members(out, &r, ml);
	put_line(out, &r, "end");
toolarge:
	if (r == MULE_ETOOLARGE)
		r = mule_errf(err, r, "MANIFEST exceeds %u bytes",
		    BUNDLE_MAX_MANIFEST);
	else if (r != 0)
		r = mule_errf(err, r, "cannot encode MANIFEST: %s",
		    mule_strerror(r));
out:
	return r;
}

/* ---- parsing ---- */

#define MAXTOK 6

struct lines {
	struct buf b;
	size_t lineno;
	int have;			/* a line is loaded */
	int eof;
	char line[MANIFEST_MAX_LINE + 1];
	char *tok[MAXTOK];
	size_t ntok;
};

/* Loads the next line (if none is loaded) and splits it on spaces. */
static int
line_peek(struct lines *L, char *err)
{
	const uint8_t *p;
	size_t len, i;
	char *s;
	int r;

	if (L->have || L->eof)
		return 0;
	if (buf_avail(&L->b) == 0) {
		L->eof = 1;
		return 0;
	}
	r = buf_get_line(&L->b, MANIFEST_MAX_LINE, BUF_LINE_LF, &p, &len);
	if (r == MULE_ETOOLARGE)
		return mule_errf(err, r,
		    "MANIFEST line %zu is longer than %d bytes",
		    L->lineno + 1, MANIFEST_MAX_LINE);
	if (r != 0)
		return mule_errf(err, MULE_EINCOMPLETE,
		    "MANIFEST line %zu has no end", L->lineno + 1);
	for (i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return mule_errf(err, MULE_EFORMAT,
			    "MANIFEST line %zu has a control character",
			    L->lineno + 1);
	memcpy(L->line, p, len);
	L->line[len] = '\0';
	L->lineno++;
	L->have = 1;
	L->ntok = 0;
	s = L->line;
	for (;;) {
		if (L->ntok == MAXTOK || *s == '\0' || *s == ' ')
			return mule_errf(err, MULE_EFORMAT,
			    "MANIFEST line %zu: bad spacing or too many fields",
			    L->lineno);
		L->tok[L->ntok++] = s;
		if ((s = strchr(s, ' ')) == NULL)
			break;
		*s++ = '\0';
		/* from-name takes the rest of the line verbatim. */
		if (L->ntok == 1 && strcmp(L->tok[0], "from-name") == 0) {
			if (*s == '\0')
				return mule_errf(err, MULE_EFORMAT,
				    "MANIFEST line %zu: empty name",
				    L->lineno);
			L->tok[L->ntok++] = s;
			break;
		}
	}
	return 0;
}

/* 1 if the loaded line has key `key`. */
static int
line_is(struct lines *L, const char *key)
{
	return L->have && strcmp(L->tok[0], key) == 0;
}

static int
bad_line(struct lines *L, char *err, const char *what)
{
	return mule_errf(err, MULE_EFORMAT, "MANIFEST line %zu: %s",
	    L->lineno, what);
}

/* Requires the next line to have key `key` and `ntok` fields in all. */
static int
line_expect(struct lines *L, const char *key, size_t ntok, char *err)
{
	int r;

	if ((r = line_peek(L, err)) != 0)
		return r;
	if (L->eof)
		return mule_errf(err, MULE_EINCOMPLETE,
		    "MANIFEST ends before \"%s\"", key);
	if (!line_is(L, key)) {
		char what[96];

		snprintf(what, sizeof(what), "expected \"%s\"", key);
		return bad_line(L, err, what);
	}
	if (L->ntok != ntok)
		return bad_line(L, err, "wrong number of fields");
	L->have = 0;
	return 0;
}

static int
get_hex(struct lines *L, const char *tok, uint8_t *out, size_t n, char *err)
{
	if (hex_decode(out, tok, n) != 0)
		return bad_line(L, err, "bad hexadecimal field");
	return 0;
}

static int
get_num(struct lines *L, const char *tok, uint64_t max, uint64_t *v,
    char *err)
{
	switch (parse_u64(tok, max, v)) {
	case 0:
		return 0;
	case -2:
		return mule_errf(err, MULE_ETOOLARGE, "MANIFEST line %zu: "
		    "number above its limit of %" PRIu64, L->lineno, max);
	}
	return bad_line(L, err, "bad number");
}

/* A 32-bit number: anything larger is malformed, not "too large". */
static int
get_u32(struct lines *L, const char *tok, uint64_t *v, char *err)
{
	if (parse_u64(tok, UINT32_MAX, v) != 0)
		return bad_line(L, err, "bad 32-bit number");
	return 0;
}

static int
parse_vector(struct lines *L, const char *key, struct vector *v, char *err)
{
	struct vec_entry *ne;
	size_t cap = 0;
	uint8_t origin[SITE_ID_LEN];
	uint64_t c;
	int r;

	for (;;) {
		if ((r = line_peek(L, err)) != 0)
			return r;
		if (!line_is(L, key))
			return 0;
		if ((r = line_expect(L, key, 3, err)) != 0 ||
		    (r = get_hex(L, L->tok[1], origin, SITE_ID_LEN, err)) != 0 ||
		    (r = get_num(L, L->tok[2], UINT64_MAX, &c, err)) != 0)
			return r;
		if (v->n >= BUNDLE_MAX_VECTOR)
			return mule_errf(err, MULE_ETOOLARGE,
			    "MANIFEST %s vector has more than %d origins", key,
			    BUNDLE_MAX_VECTOR);
		if (v->n > 0 && memcmp(v->e[v->n - 1].origin, origin,
		    SITE_ID_LEN) >= 0)
			return bad_line(L, err,
			    "vector origins not in ascending order");
		if (v->n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((ne = realloc(v->e, cap * sizeof(*ne))) == NULL)
				return mule_errf(err, MULE_ENOMEM,
				    "out of memory");
			v->e = ne;
		}
		memcpy(v->e[v->n].origin, origin, SITE_ID_LEN);
		v->e[v->n].counter = c;
		v->n++;
	}
}

/*
 * The counter field of a coded line into *e: "0", "+D" or "-D" (D > 0)
 * for an origin named by index, a number above 0 for one named by id.
 */
static int
get_counter(struct lines *L, const char *tok, struct vcode_entry *e,
    char *err)
{
	int r;

	if (!e->named && (tok[0] == '+' || tok[0] == '-')) {
		e->sign = tok[0] == '+' ? 1 : -1;
		tok++;
	}
	if ((r = get_num(L, tok, UINT64_MAX, &e->counter, err)) != 0)
		return r;
	if (e->named && e->counter == 0)
		return bad_line(L, err, "an origin named by its id with "
		    "counter 0");
	if (!e->named && (e->sign == 0) != (e->counter == 0))
		return bad_line(L, err, "an origin named by index takes 0, "
		    "+N or -N");
	return 0;
}

/*
 * The lines of a coded vector: "KEY #G C" (G: the gap in indexes since
 * the previous such line, C: 0, +N or -N) or "KEY HEX16 N".  Checked
 * here: the syntax, the limit, indexes within it, ids ascending; the
 * rest by vcode_apply, given the vector they are coded against.
 */
static int
parse_coded(struct lines *L, const char *key, struct vcode *c, char *err)
{
	struct vcode_entry e, *ne;
	size_t cap = 0, ln = SIZE_MAX;	/* the last line naming an id */
	uint64_t gap, next = 0;		/* the index a gap of 0 names */
	int r;

	for (;;) {
		if ((r = line_peek(L, err)) != 0)
			return r;
		if (!line_is(L, key))
			return 0;
		memset(&e, 0, sizeof(e));
		if ((r = line_expect(L, key, 3, err)) != 0)
			return r;
		if (L->tok[1][0] == '#') {
			if (parse_u64(L->tok[1] + 1, BUNDLE_MAX_VECTOR - 1,
			    &gap) != 0 || next + gap >= BUNDLE_MAX_VECTOR)
				return bad_line(L, err, "bad origin index");
			e.idx = (uint32_t)(next + gap);
			next = e.idx + 1;
		} else if ((r = get_hex(L, L->tok[1], e.origin, SITE_ID_LEN,
		    err)) != 0)
			return r;
		else
			e.named = 1;
		if ((r = get_counter(L, L->tok[2], &e, err)) != 0)
			return r;
		if (c->n >= BUNDLE_MAX_VECTOR)
			return mule_errf(err, MULE_ETOOLARGE,
			    "MANIFEST %s vector has more than %d lines", key,
			    BUNDLE_MAX_VECTOR);
		if (e.named && ln != SIZE_MAX && memcmp(c->e[ln].origin,
		    e.origin, SITE_ID_LEN) >= 0)
			return bad_line(L, err,
			    "vector origins not in ascending order");
		if (c->n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((ne = realloc(c->e, cap * sizeof(*ne))) == NULL)
				return mule_errf(err, MULE_ENOMEM,
				    "out of memory");
			c->e = ne;
		}
		if (e.named)
			ln = c->n;
		c->e[c->n++] = e;
	}
}

/* Whether sorted `a` holds origin o. */
static int
vec_has(const struct vector *a, const uint8_t o[SITE_ID_LEN])
{
	struct vec_entry key;

	memcpy(key.origin, o, SITE_ID_LEN);
	return a->n > 0 && bsearch(&key, a->e, a->n, sizeof(*a->e),
	    cmp_entry) != NULL;
}

/*
 * Rebuilds into *out (initialized) the vector `c` codes against `a`
 * (sorted, no counter of 0).  MULE_EFORMAT for a line that does not fit.
 */
static int
vcode_apply(const struct vcode *c, const struct vector *a,
    struct vector *out, const char *key, char *err)
{
	const struct vcode_entry *e;
	const uint8_t *o, *prev = NULL;
	size_t i = 0, k;

	if (a->n + c->n > 0 &&
	    (out->e = malloc((a->n + c->n) * sizeof(*out->e))) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	for (k = 0; k < c->n; k++) {
		e = &c->e[k];
		if (!e->named && e->idx >= a->n)
			return mule_errf(err, MULE_EFORMAT, "MANIFEST %s vector "
			    "names origin #%" PRIu32 " of a vector of %zu",
			    key, e->idx, a->n);
		if (!e->named && e->sign < 0 &&
		    e->counter >= a->e[e->idx].counter)
			return mule_errf(err, MULE_EFORMAT, "MANIFEST %s vector "
			    "takes origin #%" PRIu32 " to 0 or below", key,
			    e->idx);
		if (!e->named && e->sign > 0 &&
		    e->counter > UINT64_MAX - a->e[e->idx].counter)
			return mule_errf(err, MULE_EFORMAT, "MANIFEST %s vector "
			    "takes origin #%" PRIu32 " above 2^64-1", key,
			    e->idx);
		if (e->named && vec_has(a, e->origin))
			return mule_errf(err, MULE_EFORMAT, "MANIFEST %s vector "
			    "names by its id an origin it must name by index",
			    key);
		o = e->named ? e->origin : a->e[e->idx].origin;
		if (prev != NULL && memcmp(prev, o, SITE_ID_LEN) >= 0)
			return mule_errf(err, MULE_EFORMAT, "MANIFEST %s vector "
			    "origins not in ascending order", key);
		while (i < a->n && memcmp(a->e[i].origin, o, SITE_ID_LEN) < 0)
			out->e[out->n++] = a->e[i++];
		i += !e->named;		/* a->e[i] is the one replaced */
		if (e->counter > 0) {
			memcpy(out->e[out->n].origin, o, SITE_ID_LEN);
			out->e[out->n++].counter = e->named ? e->counter :
			    e->sign > 0 ? a->e[e->idx].counter + e->counter :
			    a->e[e->idx].counter - e->counter;
		}
		prev = o;
	}
	while (i < a->n)
		out->e[out->n++] = a->e[i++];
	if (out->n > BUNDLE_MAX_VECTOR)
		return mule_errf(err, MULE_ETOOLARGE, "MANIFEST %s vector has "
		    "more than %d origins", key, BUNDLE_MAX_VECTOR);
	return 0;
}

int
manifest_vectors(const struct manifest *m, const struct vector *ref,
    struct vector *base, struct vector *top, struct vector *ack, char *err)
{
	struct vector sr, b, t, a;
	int r;

	vector_init(&sr);
	vector_init(&b);
	vector_init(&t);
	vector_init(&a);
	vector_release(base);
	vector_release(top);
	vector_release(ack);
	if ((r = vec_sorted(ref, &sr, "reference", err)) != 0 ||
	    (r = vcode_apply(&m->cbase, &sr, &b, "base", err)) != 0 ||
	    (r = vcode_apply(&m->ctop, &b, &t, "top", err)) != 0 ||
	    (r = vcode_apply(&m->cack, &t, &a, "ack", err)) != 0)
		goto out;
	*base = b;
	*top = t;
	*ack = a;
	vector_init(&b);
	vector_init(&t);
	vector_init(&a);
out:
	vector_release(&sr);
	vector_release(&b);
	vector_release(&t);
	vector_release(&a);
	return r;
}

static int
parse_member(struct lines *L, struct member_list *ml, char *err)
{
	struct bundle_member mb, *prev;
	char want[MEMBER_NAME_MAX];
	const char *name;
	uint64_t size;
	int r;

	memset(&mb, 0, sizeof(mb));
	if (L->ntok != 4 && L->ntok != 5)
		return bad_line(L, err, "wrong number of fields");
	name = L->tok[1];
	prev = ml->n > 0 ? &ml->m[ml->n - 1] : NULL;
	if (strncmp(name, "schema/", 7) == 0) {
		mb.kind = MEMBER_SCHEMA;
		if (ml->nschema >= BUNDLE_MAX_SCHEMA_STEPS)
			return mule_errf(err, MULE_ETOOLARGE,
			    "MANIFEST lists more than %d schema members",
			    BUNDLE_MAX_SCHEMA_STEPS);
		mb.seq = (uint32_t)ml->nschema + 1;
	} else if (strncmp(name, "values/", 7) == 0) {
		mb.kind = MEMBER_VALUE;
		if ((r = get_hex(L, name + 7, mb.hash, BUNDLE_HASH_LEN,
		    err)) != 0)
			return r;
	} else if (strncmp(name, "rows/", 5) == 0) {
		mb.kind = MEMBER_ROWS;
		mb.seq = (uint32_t)ml->nrows + 1;
	} else
		return bad_line(L, err, "unknown member name");
	if (prev != NULL && prev->kind > mb.kind)
		return bad_line(L, err, "member out of order");
	member_name(&mb, want);
	if (strcmp(want, name) != 0)
		return bad_line(L, err, "member name out of sequence");
	if (mb.kind == MEMBER_VALUE && prev != NULL &&
	    prev->kind == MEMBER_VALUE &&
	    memcmp(prev->hash, mb.hash, BUNDLE_HASH_LEN) >= 0)
		return bad_line(L, err, "values not in ascending hash order");
	if ((r = get_num(L, L->tok[2], UINT64_MAX, &size, err)) != 0)
		return r;
	if (size > member_limit(mb.kind))
		return mule_errf(err, MULE_ETOOLARGE,
		    "MANIFEST line %zu: member %s is larger than its limit "
		    "of %" PRIu64 " bytes", L->lineno, name,
		    member_limit(mb.kind));
	mb.size = size;
	if (mb.kind == MEMBER_VALUE) {
		uint8_t h[BUNDLE_HASH_LEN];

		if (L->ntok != 5)
			return bad_line(L, err, "value member without type");
		if ((r = get_hex(L, L->tok[3], h, BUNDLE_HASH_LEN, err)) != 0)
			return r;
		if (memcmp(h, mb.hash, BUNDLE_HASH_LEN) != 0)
			return bad_line(L, err,
			    "value hash differs from its name");
		if (strcmp(L->tok[4], "text") == 0)
			mb.vtype = MVAL_TEXT;
		else if (strcmp(L->tok[4], "blob") == 0)
			mb.vtype = MVAL_BLOB;
		else
			return bad_line(L, err, "unknown value type");
	} else {
		if (L->ntok != 4)
			return bad_line(L, err, "wrong number of fields");
		if ((r = get_hex(L, L->tok[3], mb.hash, BUNDLE_HASH_LEN,
		    err)) != 0)
			return r;
	}
	if ((r = member_list_add(ml, &mb)) != 0)
		return mule_errf(err, r, "MANIFEST: %s",
		    r == MULE_ETOOLARGE ? "more than BUNDLE_MAX_MEMBERS members"
		    : "out of memory");
	L->have = 0;
	return 0;
}

/* The first line: "mule-manifest 2". */
static int
parse_magic(struct lines *L, char *err)
{
	int r;

	if ((r = line_peek(L, err)) != 0)
		return r;
	if (L->eof)
		return mule_errf(err, MULE_EINCOMPLETE, "MANIFEST is empty");
	if (L->ntok != 2 || strcmp(L->tok[0], "mule-manifest") != 0)
		return mule_errf(err, MULE_EFORMAT, "not a mule MANIFEST");
	if (strcmp(L->tok[1], MANIFEST_VERSION) != 0)
		return mule_errf(err, MULE_EFORMAT, "MANIFEST version %.16s is "
		    "not supported: this mule reads version %s%s", L->tok[1],
		    MANIFEST_VERSION, strcmp(L->tok[1], "1") == 0 ? " (the "
		    "bundle was made by an older mule; upgrade the sender)" :
		    "");
	L->have = 0;
	return 0;
}

/* "bundle", "from" and the optional "from-name". */
static int
parse_sender(struct lines *L, struct manifest *m, char *err)
{
	int r;

	if ((r = line_expect(L, "bundle", 2, err)) != 0 ||
	    (r = get_hex(L, L->tok[1], m->bundle_id, BUNDLE_ID_LEN,
	    err)) != 0)
		return r;
	if ((r = line_expect(L, "from", 2, err)) != 0 ||
	    (r = get_hex(L, L->tok[1], m->from, SITE_ID_LEN, err)) != 0)
		return r;
	if ((r = line_peek(L, err)) != 0)
		return r;
	if (!line_is(L, "from-name"))
		return 0;
	if ((r = line_expect(L, "from-name", 2, err)) != 0)
		return r;
	if (strlen(L->tok[1]) > BUNDLE_MAX_NAME)
		return mule_errf(err, MULE_ETOOLARGE, "MANIFEST line %zu: "
		    "name longer than %d bytes", L->lineno, BUNDLE_MAX_NAME);
	if ((m->from_name = strdup(L->tok[1])) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

/* The "to" lines: distinct recipients, at most BUNDLE_MAX_RECIPIENTS. */
static int
parse_recipients(struct lines *L, struct manifest *m, char *err)
{
	uint8_t (*nt)[SITE_ID_LEN];
	size_t i, tocap = 0;
	int r;

	for (;;) {
		if ((r = line_peek(L, err)) != 0)
			return r;
		if (!line_is(L, "to"))
			return 0;
		if ((r = line_expect(L, "to", 2, err)) != 0)
			return r;
		if (m->nto >= BUNDLE_MAX_RECIPIENTS)
			return mule_errf(err, MULE_ETOOLARGE,
			    "MANIFEST names more than %d recipients",
			    BUNDLE_MAX_RECIPIENTS);
		if (m->nto == tocap) {
			tocap = tocap ? tocap * 2 : 4;
			if ((nt = realloc(m->to, tocap * sizeof(*nt))) == NULL)
				return mule_errf(err, MULE_ENOMEM,
				    "out of memory");
			m->to = nt;
		}
		if ((r = get_hex(L, L->tok[1], m->to[m->nto], SITE_ID_LEN,
		    err)) != 0)
			return r;
		for (i = 0; i < m->nto; i++)
			if (memcmp(m->to[i], m->to[m->nto], SITE_ID_LEN) == 0)
				return bad_line(L, err,
				    "recipient named twice");
		m->nto++;
	}
}

/* "seq", "full", "schema-from" and "schema-to". */
static int
parse_sequence(struct lines *L, struct manifest *m, char *err)
{
	uint64_t v;
	int r;

	if ((r = line_expect(L, "seq", 2, err)) != 0 ||
	    (r = get_num(L, L->tok[1], UINT64_MAX, &m->seq, err)) != 0)
		return r;
	if ((r = line_expect(L, "full", 2, err)) != 0)
		return r;
	if (strcmp(L->tok[1], "0") != 0 && strcmp(L->tok[1], "1") != 0)
		return bad_line(L, err, "\"full\" must be 0 or 1");
	m->full = L->tok[1][0] == '1';
	/* "ref 0", or "ref N ID": the recipient's bundle number and id. */
	if ((r = line_peek(L, err)) != 0)
		return r;
	if ((r = line_expect(L, "ref", L->ntok == 3 ? 3 : 2, err)) != 0 ||
	    (r = get_num(L, L->tok[1], UINT64_MAX, &m->ref, err)) != 0)
		return r;
	if ((m->ref == 0) != (L->ntok == 2))
		return bad_line(L, err, "wrong number of fields");
	if (m->ref > 0 && (r = get_hex(L, L->tok[2], m->ref_id,
	    BUNDLE_ID_LEN, err)) != 0)
		return r;
	if ((r = line_expect(L, "schema-from", 3, err)) != 0 ||
	    (r = get_u32(L, L->tok[1], &v, err)) != 0 ||
	    (r = get_hex(L, L->tok[2], m->fpr_from, BUNDLE_FPR_LEN,
	    err)) != 0)
		return r;
	m->schema_from = (uint32_t)v;
	if ((r = line_expect(L, "schema-to", 3, err)) != 0 ||
	    (r = get_u32(L, L->tok[1], &v, err)) != 0 ||
	    (r = get_hex(L, L->tok[2], m->fpr_to, BUNDLE_FPR_LEN, err)) != 0)
		return r;
	m->schema_to = (uint32_t)v;
	return 0;
}

/* The four vectors and the counts. */
static int
parse_vectors_counts(struct lines *L, struct manifest *m, char *err)
{
	int r;

	if ((r = parse_coded(L, "base", &m->cbase, err)) != 0 ||
	    (r = parse_coded(L, "top", &m->ctop, err)) != 0 ||
	    (r = parse_coded(L, "ack", &m->cack, err)) != 0 ||
	    (r = parse_vector(L, "seen", &m->seen, err)) != 0 ||
	    (r = parse_vector(L, "recv", &m->recv, err)) != 0)
		return r;
	if ((r = line_expect(L, "tables", 2, err)) != 0 ||
	    (r = get_num(L, L->tok[1], UINT64_MAX, &m->ntables, err)) != 0 ||
	    (r = line_expect(L, "rows", 2, err)) != 0 ||
	    (r = get_num(L, L->tok[1], UINT64_MAX, &m->nrows, err)) != 0 ||
	    (r = line_expect(L, "cells", 2, err)) != 0 ||
	    (r = get_num(L, L->tok[1], UINT64_MAX, &m->ncells, err)) != 0 ||
	    (r = line_expect(L, "values", 2, err)) != 0 ||
	    (r = get_num(L, L->tok[1], BUNDLE_MAX_MEMBERS, &m->nvalues,
	    err)) != 0 ||
	    (r = line_expect(L, "schema", 2, err)) != 0 ||
	    (r = get_num(L, L->tok[1], BUNDLE_MAX_SCHEMA_STEPS, &m->nschema,
	    err)) != 0)
		return r;
	return 0;
}

/* The "member" lines, "end", and the counts checked against them. */
static int
parse_members(struct lines *L, const struct manifest *m,
    struct member_list *ml, char *err)
{
	int r;

	for (;;) {
		if ((r = line_peek(L, err)) != 0)
			return r;
		if (!line_is(L, "member"))
			break;
		if ((r = parse_member(L, ml, err)) != 0)
			return r;
	}
	if ((r = line_expect(L, "end", 1, err)) != 0)
		return r;
	if (buf_avail(&L->b) != 0)
		return mule_errf(err, MULE_EFORMAT,
		    "MANIFEST has data after \"end\"");
	if (ml->nschema != m->nschema || ml->nvalues != m->nvalues)
		return mule_errf(err, MULE_EFORMAT, "MANIFEST counts %" PRIu64
		    " schema steps and %" PRIu64 " values but lists %zu and "
		    "%zu", m->nschema, m->nvalues, ml->nschema, ml->nvalues);
	return 0;
}

int
manifest_parse(const uint8_t *p, size_t n, struct manifest *out,
    struct member_list *mlout, char *err)
{
	struct lines *L = NULL;
	struct manifest m;
	struct member_list ml;
	int r = MULE_EINTERNAL;

	manifest_init(&m);
	member_list_init(&ml);
	if (n > BUNDLE_MAX_MANIFEST) {
		r = mule_errf(err, MULE_ETOOLARGE,
		    "MANIFEST is larger than %u bytes", BUNDLE_MAX_MANIFEST);
		goto out;
	}
	if ((L = calloc(1, sizeof(*L))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	buf_init_ro(&L->b, p, n);
	if ((r = parse_magic(L, err)) != 0 ||
	    (r = parse_sender(L, &m, err)) != 0 ||
	    (r = parse_recipients(L, &m, err)) != 0 ||
	    (r = parse_sequence(L, &m, err)) != 0 ||
	    (r = parse_vectors_counts(L, &m, err)) != 0 ||
	    (r = parse_members(L, &m, &ml, err)) != 0)
		goto out;
	/* Without a reference the vectors are coded against nothing. */
	m.coded = m.ref != 0;
	if (!m.coded && (r = manifest_vectors(&m, &m.refvec, &m.base, &m.top,
	    &m.ack, err)) != 0)
		goto out;
	manifest_release(out);
	*out = m;
	manifest_init(&m);
	member_list_release(mlout);
	*mlout = ml;
	member_list_init(&ml);
	r = 0;
out:
	manifest_release(&m);
	member_list_release(&ml);
	free(L);
	return r;
}

int
schema_header_parse(const uint8_t *p, size_t n, uint32_t *version,
    uint8_t fpr[BUNDLE_FPR_LEN], size_t *hdrlen, char *err)
{
	static const char pre[] = "-- mule schema ";
	char line[SCHEMA_HDR_MAX + 1], *sp;
	uint8_t f[BUNDLE_FPR_LEN];
	const uint8_t *lp;
	struct buf b;
	size_t len;
	uint64_t v;
	int r;

	buf_init_ro(&b, p, n);
	r = buf_get_line(&b, SCHEMA_HDR_MAX - 1, BUF_LINE_LF, &lp, &len);
	if (r != 0)
		return mule_errf(err, r == MULE_EINCOMPLETE ? r : MULE_EFORMAT,
		    "schema member has no header line");
	memcpy(line, lp, len);
	line[len] = '\0';
	if (memchr(line, '\0', len) != NULL ||
	    strncmp(line, pre, sizeof(pre) - 1) != 0 ||
	    (sp = strchr(line + sizeof(pre) - 1, ' ')) == NULL)
		return mule_errf(err, MULE_EFORMAT,
		    "schema member has a bad header line");
	*sp++ = '\0';
	if (parse_u64(line + sizeof(pre) - 1, UINT32_MAX, &v) != 0 ||
	    hex_decode(f, sp, BUNDLE_FPR_LEN) != 0)
		return mule_errf(err, MULE_EFORMAT,
		    "schema member has a bad header line");
	memcpy(fpr, f, BUNDLE_FPR_LEN);
	*version = (uint32_t)v;
	*hdrlen = len + 1;
	return 0;
}
