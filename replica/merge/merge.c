/*
 * replica/merge/merge.c — the merge rule (see merge.h and docs/state.md
 * "Merging"): cells are last-writer-wins registers ordered by stamp, a
 * row's existence is ordered by its causal length, and a local value is
 * logged when, and only when, the value that overwrites it (or the
 * deletion that removes it) was written without having seen it, as told
 * by the overwriting value's causal context.  Pure: no SQL, no I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "replica/merge/merge.h"

void
merge_ctx_release(struct merge_ctx *c)
{
	if (c == NULL)
		return;
	free(c->e);
	memset(c, 0, sizeof(*c));
}

int
merge_ctx_copy(struct merge_ctx *dst, const struct merge_ctx *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src == NULL)
		return 0;
	dst->base = src->base;
	dst->has_base = src->has_base;
	dst->base_row = src->base_row;
	if (src->n == 0)
		return 0;
	if ((dst->e = malloc(src->n * sizeof(*dst->e))) == NULL)
		return MULE_ENOMEM;
	memcpy(dst->e, src->e, src->n * sizeof(*dst->e));
	dst->n = src->n;
	return 0;
}

uint64_t
merge_ctx_get(const struct merge_ctx *c, int64_t origin)
{
	uint32_t i;

	for (i = 0; c != NULL && i < c->n; i++)
		if (c->e[i].origin == origin)
			return c->e[i].lamport;
	return 0;
}

int
merge_ctx_raise(struct merge_ctx *c, int64_t origin, uint64_t counter)
{
	struct istamp *ne;
	uint32_t i;

	if (counter == 0)
		return 0;
	for (i = 0; i < c->n; i++) {
		if (c->e[i].origin == origin) {
			if (c->e[i].lamport < counter)
				c->e[i].lamport = counter;
			return 0;
		}
	}
	if ((ne = realloc(c->e, (c->n + 1) * sizeof(*ne))) == NULL)
		return MULE_ENOMEM;
	c->e = ne;
	c->e[c->n].origin = origin;
	c->e[c->n].lamport = counter;
	c->n++;
	return 0;
}

int
merge_ctx_successor(const struct istamp *dot, const struct merge_ctx *ctx,
    uint32_t hash, int64_t writer, struct merge_ctx *out)
{
	struct merge_ctx k;
	uint32_t i, j;
	int r = MULE_ENOMEM;

	if (merge_ctx_copy(&k, ctx) != 0)
		goto out;
	if (dot == NULL) {
		k.base_row = 0;	/* a tombstone's knowledge, for a new row */
	} else if (dot->lamport == 0) {
		/* The held value is a baseline (or a default). */
		k.base_row = k.has_base && k.base_row && k.base == hash;
		k.base = hash;
		k.has_base = 1;
	} else if (merge_ctx_raise(&k, dot->origin, dot->lamport) != 0) {
		goto out;
	}
	for (i = 0, j = 0; i < k.n; i++)
		if (writer < 0 || k.e[i].origin != writer)
			k.e[j++] = k.e[i];
	k.n = j;
	*out = k;
	memset(&k, 0, sizeof(k));
	r = 0;
out:
	merge_ctx_release(&k);
	return r;
}

int
merge_ctx_min(const struct merge_ctx *a, const struct merge_ctx *b,
    struct merge_ctx *out)
{
	struct merge_ctx k;
	uint64_t ca, cb;
	uint32_t i;
	int r = MULE_ENOMEM;

	memset(&k, 0, sizeof(k));
	for (i = 0; a != NULL && i < a->n; i++) {
		ca = a->e[i].lamport;
		cb = merge_ctx_get(b, a->e[i].origin);
		if (merge_ctx_raise(&k, a->e[i].origin, ca < cb ? ca : cb) != 0)
			goto out;
	}
	if (a != NULL && b != NULL && a->has_base && b->has_base &&
	    a->base == b->base) {
		k.base = a->base;
		k.has_base = 1;
	}
	*out = k;
	memset(&k, 0, sizeof(k));
	r = 0;
out:
	merge_ctx_release(&k);
	return r;
}

/* A zero-stamped value that is a baseline (its own base), not a default. */
static int
is_baseline(const struct merge_cell_in *v)
{
	return v->st.lamport == 0 && v->ctx != NULL && v->ctx->has_base;
}

int
merge_seen(const struct merge_cell_in *v, const struct merge_cell_in *u)
{
	if (v->st.lamport == 0 && !is_baseline(v))
		return 1;	/* a default a row was filled with: nobody's */
	if (v->st.lamport == 0)	/* a baseline: seen when it is u's base */
		return u->ctx != NULL && u->ctx->has_base &&
		    u->ctx->base == v->hash;
	if (u->st.origin == v->st.origin && u->st.lamport >= v->st.lamport)
		return 1;	/* u's own write, or its site's later one */
	return merge_ctx_get(u->ctx, v->st.origin) >= v->st.lamport;
}

/* The bits of a number as an unsigned key (REAL by IEEE-754 order). */
static uint64_t
num_key(const struct mval *v)
{
	uint64_t u;

	if (v->type == MVAL_INT)
		return (uint64_t)v->i ^ ((uint64_t)1 << 63);
	memcpy(&u, &v->f, sizeof(u));
	return (u >> 63) ? ~u : u | ((uint64_t)1 << 63);
}

int
merge_value_cmp(const struct mval *a, const struct mval *b)
{
	uint64_t x, y;
	size_t n;
	int c;

	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	switch (a->type) {
	case MVAL_INT:
	case MVAL_REAL:
		x = num_key(a);
		y = num_key(b);
		return x < y ? -1 : x > y;
	case MVAL_TEXT:
	case MVAL_BLOB:
	case MVAL_REF:
		n = a->n < b->n ? a->n : b->n;
		if (n > 0 && (c = memcmp(a->p, b->p, n)) != 0)
			return c < 0 ? -1 : 1;
		return a->n < b->n ? -1 : a->n > b->n;
	}
	return 0;
}

int
istamp_cmp(const struct istamp *a, const struct istamp *b,
    const uint8_t (*sites)[SITE_ID_LEN])
{
	if (a->lamport != b->lamport)
		return a->lamport < b->lamport ? -1 : 1;
	if (a->origin == b->origin)
		return 0;
	return memcmp(sites[a->origin], sites[b->origin], SITE_ID_LEN);
}

static int
values_equal(const struct mval *a, const struct mval *b)
{
	return merge_value_cmp(a, b) == 0 && a->reftype == b->reftype;
}

/* Which side wins: >0 incoming, <0 local, 0 the same write. */
static int
cell_order(const struct merge_cell_in *l, const struct merge_cell_in *in,
    const struct merge_row_out *row, const uint8_t (*sites)[SITE_ID_LEN])
{
	int c;

	if (row->c == MERGE_ROW_INSERT || row->c == MERGE_ROW_RECREATED)
		return 1;	/* the row's existence decides */
	if (l->st.lamport == 0 && in->st.lamport == 0) {
		/* Zero stamps: a baseline beats a default, then the row decides. */
		if (is_baseline(l) != is_baseline(in))
			return is_baseline(in) ? 1 : -1;
		if (row->c == MERGE_ROW_COLLIDE && !values_equal(in->v, l->v))
			return row->in_newer ? 1 : -1;	/* the row decides */
		return merge_value_cmp(in->v, l->v);
	}
	/* One stamp, two values (a stamp used twice): the values decide. */
	if ((c = istamp_cmp(&in->st, &l->st, sites)) == 0)
		c = merge_value_cmp(in->v, l->v);
	return c;
}

/*
 * The row takes the incoming incarnation, whose original baseline is the
 * incoming cell (unedited there, base_row): a local base equal to it is the
 * original baseline of the row's incarnation (copies of one database,
 * initialized separately, hold their rows under different stamps).
 */
static int
same_base(const struct merge_cell_in *local, const struct merge_cell_in *in)
{
	return is_baseline(in) && in->ctx->base_row && local->ctx != NULL &&
	    local->ctx->has_base && local->ctx->base == in->ctx->base;
}

/*
 * A kept local value whose base is no longer the original baseline of the
 * row's incarnation: the same state, without the base_row claim.
 */
static int
drop_claim(const struct merge_cell_in *local, struct merge_cell_out *out)
{
	if (local->ctx == NULL || !local->ctx->base_row)
		return 0;
	out->state_changed = 1;
	if (merge_ctx_copy(&out->ctx, local->ctx) != 0)
		return MULE_ENOMEM;
	out->ctx.base_row = 0;
	return 0;
}

int
merge_cell(const struct merge_cell_in *local,
    const struct merge_cell_in *incoming, const struct merge_row_out *row,
    const uint8_t (*sites)[SITE_ID_LEN], struct merge_cell_out *out)
{
	int cmp, split;

	memset(out, 0, sizeof(*out));
	out->st = local->st;
	cmp = cell_order(local, incoming, row, sites);
	split = is_baseline(local) && is_baseline(incoming) &&
	    !values_equal(local->v, incoming->v);
	if (cmp <= 0) {
		out->decision = MERGE_KEEP;	/* ours wins */
		return (row->in_newer && !same_base(local, incoming)) || split ?
		    drop_claim(local, out) : 0;
	}
	/* The incoming value wins: it keeps its own context. */
	out->state_changed = 1;
	out->st = incoming->st;
	if (merge_ctx_copy(&out->ctx, incoming->ctx) != 0)
		return MULE_ENOMEM;
	if (split || (row->c != MERGE_ROW_INSERT && !row->in_newer &&
	    row->c != MERGE_ROW_SAME))
		out->ctx.base_row = 0;	/* the row keeps our incarnation */
	if (row->c == MERGE_ROW_INSERT) {
		out->decision = MERGE_TAKE;
		return 0;
	}
	if (values_equal(local->v, incoming->v)) {
		out->decision = MERGE_EQUAL;	/* equal values never conflict */
		return 0;
	}
	out->decision = MERGE_TAKE;
	/* Seen, unless it is another value under the very same stamp. */
	if (merge_seen(local, incoming) && (local->st.lamport == 0 ||
	    istamp_cmp(&local->st, &incoming->st, sites) != 0))
		return 0;
	out->conflict = is_baseline(local) ? MERGE_CONFLICT_BASELINES_DIFFER :
	    row->kind;
	return 0;
}

int
merge_cell_absent(const struct merge_cell_in *local,
    const struct merge_row_out *row, struct merge_cell_out *out)
{
	memset(out, 0, sizeof(*out));
	out->decision = MERGE_KEEP;
	out->st = local->st;
	if (row->c == MERGE_ROW_RECREATED) {
		out->state_changed = 1;
		memset(&out->st, 0, sizeof(out->st));
		if (local->st.lamport != 0)
			out->conflict = MERGE_CONFLICT_LOST_TO_DELETION;
		return 0;
	}
	return row->in_newer ? drop_claim(local, out) : 0;
}

int
merge_delete_loses(const struct merge_cell_in *local,
    const struct merge_ctx *known)
{
	struct merge_cell_in del;

	memset(&del, 0, sizeof(del));
	del.ctx = known;
	return !merge_seen(local, &del);
}

void
merge_row_existence(const struct merge_row_in *local,
    const struct merge_row_in *incoming, const uint8_t (*sites)[SITE_ID_LEN],
    struct merge_row_out *out)
{
	int lalive = local->cl % 2 == 1, ialive = incoming->cl % 2 == 1;

	memset(out, 0, sizeof(*out));
	out->cl = local->cl;
	out->cl_st = local->cl_st;
	out->kind = MERGE_CONFLICT_CELL_OVERWRITTEN;
	if (incoming->cl < local->cl) {
		out->c = MERGE_ROW_OLDER;
		return;
	}
	if (incoming->cl > local->cl) {
		out->cl = incoming->cl;
		out->cl_st = incoming->cl_st;
		out->changed = 1;
		out->in_newer = 1;
		if (ialive)
			out->c = lalive ? MERGE_ROW_RECREATED : MERGE_ROW_INSERT;
		else
			out->c = lalive ? MERGE_ROW_DELETE : MERGE_ROW_TOMBSTONE;
		return;
	}
	/* The same causal length: the higher existence stamp is kept. */
	if (istamp_cmp(&incoming->cl_st, &local->cl_st, sites) > 0) {
		out->cl_st = incoming->cl_st;
		out->changed = 1;
		out->in_newer = 1;
	}
	if (!ialive) {
		out->c = MERGE_ROW_BOTH_DELETED;
		return;
	}
	if (incoming->cl_st.lamport == local->cl_st.lamport &&
	    incoming->cl_st.origin == local->cl_st.origin) {
		out->c = MERGE_ROW_SAME;
		return;
	}
	out->c = MERGE_ROW_COLLIDE;
	out->kind = MERGE_CONFLICT_COLLIDING_INSERT;
}
