/*
 * tests/unit/test_merge.c — the merge rule by table (replica/merge/merge.c,
 * docs/state.md "Merging" and "Conflicts"): merging one cell, a deletion
 * meeting a local value, the existence merge of a row, causal contexts,
 * and the state encoding round trip.
 *
 * Sites: origin index 0 is the zero stamp's, 1 is A, 2 is B, 3 is C (site
 * ids ordered A < B < C).  Values are integers and a value's hash is the
 * integer itself, so a base names the baseline value it started from.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "replica/internal.h"
#include "replica/merge/merge.h"

#define A 1
#define B 2
#define C 3
#define NOBASE 0xffffffffu	/* in the tables: no base */

static const uint8_t sites[4][SITE_ID_LEN] = {
	{ 0 }, { 0x0a }, { 0x0b }, { 0x0c },
};

/* One side of a cell in a table row: value, dot, context, base. */
struct xcell {
	int64_t v;
	uint64_t l;
	int64_t o;
	struct istamp ctx[3];	/* lamport 0 ends it */
	uint32_t base;		/* NOBASE: none */
};

struct cell_case {
	const char *name;
	enum merge_row_case row;
	struct xcell local, in;
	enum merge_decision want;
	enum merge_conflict_kind conflict;
	int in_newer;		/* the incoming row's existence stamp is higher */
};

/* Baseline value 10 held by a table's first scan: its own base. */
#define BASE10 { 10, 0, 0, { { 0, 0 } }, 10 }

static const struct cell_case cell_cases[] = {
	{ "newer, had seen ours", MERGE_ROW_SAME,
	    { 1, 3, A, { { 0, 0 } }, NOBASE },
	    { 2, 5, B, { { 3, A } }, NOBASE }, MERGE_TAKE, MERGE_CONFLICT_NONE, 0 },
	{ "newer, had not seen ours", MERGE_ROW_SAME,
	    { 1, 3, A, { { 0, 0 } }, NOBASE },
	    { 2, 5, B, { { 2, A } }, NOBASE }, MERGE_TAKE,
	    MERGE_CONFLICT_CELL_OVERWRITTEN, 0 },
	{ "newer, empty context", MERGE_ROW_SAME,
	    { 1, 3, A, { { 0, 0 } }, NOBASE },
	    { 2, 5, B, { { 0, 0 } }, NOBASE }, MERGE_TAKE,
	    MERGE_CONFLICT_CELL_OVERWRITTEN, 0 },
	{ "older incoming loses, no log here", MERGE_ROW_SAME,
	    { 1, 5, A, { { 0, 0 } }, NOBASE },
	    { 2, 3, B, { { 0, 0 } }, NOBASE }, MERGE_KEEP, MERGE_CONFLICT_NONE, 0 },
	{ "the same site's later write has seen its earlier one",
	    MERGE_ROW_SAME,
	    { 1, 3, A, { { 0, 0 } }, NOBASE },
	    { 2, 9, A, { { 0, 0 } }, NOBASE }, MERGE_TAKE, MERGE_CONFLICT_NONE, 0 },
	{ "equal values are never conflicts", MERGE_ROW_SAME,
	    { 7, 3, A, { { 0, 0 } }, NOBASE },
	    { 7, 5, B, { { 0, 0 } }, NOBASE }, MERGE_EQUAL,
	    MERGE_CONFLICT_NONE, 0 },
	{ "tie on lamport: the higher origin wins", MERGE_ROW_SAME,
	    { 1, 5, A, { { 0, 0 } }, NOBASE },
	    { 2, 5, B, { { 0, 0 } }, NOBASE }, MERGE_TAKE,
	    MERGE_CONFLICT_CELL_OVERWRITTEN, 0 },
	{ "tie on lamport: the lower origin loses", MERGE_ROW_SAME,
	    { 1, 5, B, { { 0, 0 } }, NOBASE },
	    { 2, 5, A, { { 0, 0 } }, NOBASE }, MERGE_KEEP, MERGE_CONFLICT_NONE, 0 },
	{ "the same write twice", MERGE_ROW_SAME,
	    { 1, 5, B, { { 0, 0 } }, NOBASE },
	    { 1, 5, B, { { 0, 0 } }, NOBASE }, MERGE_KEEP, MERGE_CONFLICT_NONE, 0 },
	/*
	 * One stamp, two values: a stamp used twice (a site restored from a
	 * backup, or copied with its key, before it was found out).  The
	 * value order decides, the same at every site, and the loser is
	 * logged.
	 */
	{ "one stamp, two values: the greater value wins, logged",
	    MERGE_ROW_SAME,
	    { 1, 5, B, { { 0, 0 } }, NOBASE },
	    { 2, 5, B, { { 0, 0 } }, NOBASE }, MERGE_TAKE,
	    MERGE_CONFLICT_CELL_OVERWRITTEN, 0 },
	{ "one stamp, two values: the lesser value loses, no log here",
	    MERGE_ROW_SAME,
	    { 2, 5, B, { { 0, 0 } }, NOBASE },
	    { 1, 5, B, { { 0, 0 } }, NOBASE }, MERGE_KEEP, MERGE_CONFLICT_NONE, 0 },
	/*
	 * Relay drop: C wrote 4 (4, C); at the hub B's (5, B) beat it, so the
	 * hub's value does not list C; A then overwrote the hub's value
	 * knowing it ({B:5}) though A's vector covers C's counter through
	 * other cells.  Where (4, C) is still held, A's value logs it.
	 */
	{ "relay drop: lost at a hub, overwritten by one who never saw it",
	    MERGE_ROW_SAME,
	    { 4, 4, C, { { 0, 0 } }, NOBASE },
	    { 6, 7, A, { { 5, B } }, NOBASE }, MERGE_TAKE,
	    MERGE_CONFLICT_CELL_OVERWRITTEN, 0 },
	{ "relay: the hub's value had replaced ours knowingly", MERGE_ROW_SAME,
	    { 4, 4, C, { { 0, 0 } }, NOBASE },
	    { 6, 7, A, { { 5, B }, { 4, C } }, NOBASE }, MERGE_TAKE,
	    MERGE_CONFLICT_NONE, 0 },
	{ "context older than ours", MERGE_ROW_SAME,
	    { 4, 6, C, { { 0, 0 } }, NOBASE },
	    { 6, 7, A, { { 5, C } }, NOBASE }, MERGE_TAKE,
	    MERGE_CONFLICT_CELL_OVERWRITTEN, 0 },
	{ "colliding insert: the other insert did not know ours",
	    MERGE_ROW_COLLIDE,
	    { 1, 2, A, { { 0, 0 } }, NOBASE },
	    { 2, 3, B, { { 0, 0 } }, NOBASE }, MERGE_TAKE,
	    MERGE_CONFLICT_COLLIDING_INSERT, 0 },
	{ "colliding insert: ours wins, no log here", MERGE_ROW_COLLIDE,
	    { 1, 4, A, { { 0, 0 } }, NOBASE },
	    { 2, 3, B, { { 0, 0 } }, NOBASE }, MERGE_KEEP, MERGE_CONFLICT_NONE, 0 },
	{ "insert: nothing alive here", MERGE_ROW_INSERT,
	    { 0, 0, 0, { { 0, 0 } }, NOBASE },
	    { 2, 3, B, { { 0, 0 } }, NOBASE }, MERGE_TAKE, MERGE_CONFLICT_NONE, 0 },
	{ "re-created elsewhere without our value", MERGE_ROW_RECREATED,
	    { 1, 9, A, { { 0, 0 } }, NOBASE },
	    { 2, 3, B, { { 4, A } }, NOBASE }, MERGE_TAKE,
	    MERGE_CONFLICT_CELL_OVERWRITTEN, 0 },
	{ "re-created by one who knew our value", MERGE_ROW_RECREATED,
	    { 1, 9, A, { { 0, 0 } }, NOBASE },
	    { 2, 3, B, { { 9, A } }, NOBASE }, MERGE_TAKE, MERGE_CONFLICT_NONE, 0 },
	{ "baselines equal", MERGE_ROW_COLLIDE, BASE10,
	    { 10, 0, 0, { { 0, 0 } }, 10 }, MERGE_KEEP, MERGE_CONFLICT_NONE, 0 },
	{ "baselines differ: the newer row's wins, logged", MERGE_ROW_COLLIDE,
	    BASE10, { 5, 0, 0, { { 0, 0 } }, 5 }, MERGE_TAKE,
	    MERGE_CONFLICT_BASELINES_DIFFER, 1 },
	{ "baselines differ: the older row's loses, no log here",
	    MERGE_ROW_COLLIDE,
	    BASE10, { 20, 0, 0, { { 0, 0 } }, 20 }, MERGE_KEEP,
	    MERGE_CONFLICT_NONE, 0 },
	{ "baselines differ in one incarnation: the higher value wins",
	    MERGE_ROW_SAME,
	    BASE10, { 20, 0, 0, { { 0, 0 } }, 20 }, MERGE_TAKE,
	    MERGE_CONFLICT_BASELINES_DIFFER, 0 },
	{ "baselines differ in one incarnation: the lower value loses",
	    MERGE_ROW_SAME,
	    { 20, 0, 0, { { 0, 0 } }, 20 }, BASE10, MERGE_KEEP,
	    MERGE_CONFLICT_NONE, 1 },
	{ "baselines equal, the other row newer", MERGE_ROW_COLLIDE, BASE10,
	    { 10, 0, 0, { { 0, 0 } }, 10 }, MERGE_KEEP, MERGE_CONFLICT_NONE,
	    1 },
	{ "an edit from the same baseline", MERGE_ROW_COLLIDE, BASE10,
	    { 11, 5, A, { { 0, 0 } }, 10 }, MERGE_TAKE, MERGE_CONFLICT_NONE, 0 },
	{ "an edit from another baseline", MERGE_ROW_COLLIDE, BASE10,
	    { 11, 5, A, { { 0, 0 } }, 30 }, MERGE_TAKE,
	    MERGE_CONFLICT_BASELINES_DIFFER, 0 },
	{ "an edit with no baseline over ours", MERGE_ROW_COLLIDE, BASE10,
	    { 11, 5, A, { { 0, 0 } }, NOBASE }, MERGE_TAKE,
	    MERGE_CONFLICT_BASELINES_DIFFER, 0 },
	{ "an edit over the same baseline value", MERGE_ROW_SAME, BASE10,
	    { 10, 5, A, { { 0, 0 } }, 10 }, MERGE_EQUAL,
	    MERGE_CONFLICT_NONE, 0 },
	{ "a zero-stamped default is nobody's value", MERGE_ROW_SAME,
	    { 0, 0, 0, { { 0, 0 } }, NOBASE },
	    { 11, 5, A, { { 0, 0 } }, NOBASE }, MERGE_TAKE,
	    MERGE_CONFLICT_NONE, 0 },
	{ "a baseline beats a default", MERGE_ROW_SAME,
	    { 99, 0, 0, { { 0, 0 } }, NOBASE }, BASE10, MERGE_TAKE,
	    MERGE_CONFLICT_NONE, 0 },
	{ "a default loses to a baseline", MERGE_ROW_SAME, BASE10,
	    { 99, 0, 0, { { 0, 0 } }, NOBASE }, MERGE_KEEP,
	    MERGE_CONFLICT_NONE, 0 },
	{ "a real edit beats a baseline, any value", MERGE_ROW_SAME,
	    { 5, 3, A, { { 0, 0 } }, 10 }, BASE10, MERGE_KEEP,
	    MERGE_CONFLICT_NONE, 0 },
};

static void
to_ctx(const struct xcell *x, struct merge_ctx *c, struct istamp *e)
{
	memset(c, 0, sizeof(*c));
	for (c->n = 0; c->n < 3 && x->ctx[c->n].lamport != 0; c->n++)
		e[c->n] = x->ctx[c->n];
	c->e = e;
	c->has_base = x->base != NOBASE;
	c->base = c->has_base ? x->base : 0;
}

static void
to_in(const struct xcell *x, struct mval *v, struct merge_ctx *c,
    struct istamp *e, struct merge_cell_in *in)
{
	memset(v, 0, sizeof(*v));
	v->type = MVAL_INT;
	v->i = x->v;
	to_ctx(x, c, e);
	memset(in, 0, sizeof(*in));
	in->v = v;
	in->hash = (uint32_t)x->v;
	in->st.lamport = x->l;
	in->st.origin = x->o;
	in->ctx = c;
}

static void
test_cell_table(void **state)
{
	const struct cell_case *k;
	struct merge_cell_in l, in;
	struct merge_cell_out out;
	struct merge_row_out row;
	struct merge_ctx lc, ic;
	struct istamp le[3], ie[3];
	struct mval lv, iv;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cell_cases) / sizeof(cell_cases[0]); i++) {
		k = &cell_cases[i];
		to_in(&k->local, &lv, &lc, le, &l);
		to_in(&k->in, &iv, &ic, ie, &in);
		memset(&row, 0, sizeof(row));
		row.c = k->row;
		row.in_newer = k->in_newer;
		row.kind = k->row == MERGE_ROW_COLLIDE ?
		    MERGE_CONFLICT_COLLIDING_INSERT :
		    MERGE_CONFLICT_CELL_OVERWRITTEN;
		assert_int_equal(merge_cell(&l, &in, &row, sites, &out), 0);
		if (out.decision != k->want || out.conflict != k->conflict)
			fail_msg("%s: decision %d conflict %d, wanted %d %d",
			    k->name, out.decision, out.conflict, k->want,
			    k->conflict);
		/* The winner keeps its own stamp and context, never a union. */
		if (out.decision != MERGE_KEEP) {
			assert_true(out.state_changed);
			assert_int_equal(out.st.lamport, in.st.lamport);
			assert_int_equal(out.st.origin, in.st.origin);
			assert_int_equal(out.ctx.n, ic.n);
			assert_int_equal(out.ctx.has_base, ic.has_base);
		} else {
			assert_false(out.state_changed);
		}
		merge_ctx_release(&out.ctx);
	}
}

/* A deletion meeting a local value: the deletion's knowledge of it. */
struct del_case {
	const char *name;
	struct xcell local;
	int has_known;
	struct xcell known;	/* ctx and base only */
	int loses;
};

static const struct del_case del_cases[] = {
	{ "deleter held our value", { 1, 3, A, { { 0, 0 } }, NOBASE }, 1,
	    { 0, 0, 0, { { 3, A } }, NOBASE }, 0 },
	{ "deleter held a later value of ours", { 1, 3, A, { { 0, 0 } },
	    NOBASE }, 1, { 0, 0, 0, { { 5, A } }, NOBASE }, 0 },
	{ "delete vs edit: deleter knew an older value", { 1, 3, A,
	    { { 0, 0 } }, NOBASE }, 1, { 0, 0, 0, { { 2, A } }, NOBASE }, 1 },
	{ "delete vs edit: deleter knew other sites only", { 1, 3, A,
	    { { 0, 0 } }, NOBASE }, 1, { 0, 0, 0, { { 9, B }, { 9, C } },
	    NOBASE }, 1 },
	{ "a column the deletion knew nothing of", { 1, 3, A, { { 0, 0 } },
	    NOBASE }, 0, { 0, 0, 0, { { 0, 0 } }, NOBASE }, 1 },
	{ "a baseline the deleter held too", BASE10, 1,
	    { 0, 0, 0, { { 0, 0 } }, 10 }, 0 },
	{ "a baseline the deleter did not hold", BASE10, 1,
	    { 0, 0, 0, { { 0, 0 } }, 20 }, 1 },
	{ "a baseline and no word of its column", BASE10, 0,
	    { 0, 0, 0, { { 0, 0 } }, NOBASE }, 1 },
	{ "a default and no word of its column", { 5, 0, 0, { { 0, 0 } },
	    NOBASE }, 0, { 0, 0, 0, { { 0, 0 } }, NOBASE }, 0 },
	{ "a default", { 5, 0, 0, { { 0, 0 } }, NOBASE }, 1,
	    { 0, 0, 0, { { 0, 0 } }, NOBASE }, 0 },
};

static void
test_delete_table(void **state)
{
	const struct del_case *k;
	struct merge_cell_in l;
	struct merge_ctx lc, kc;
	struct istamp le[3], ke[3];
	struct mval lv;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(del_cases) / sizeof(del_cases[0]); i++) {
		k = &del_cases[i];
		to_in(&k->local, &lv, &lc, le, &l);
		to_ctx(&k->known, &kc, ke);
		if (merge_delete_loses(&l, k->has_known ? &kc : NULL) !=
		    k->loses)
			fail_msg("%s: wanted %d", k->name, k->loses);
	}
}

struct row_case {
	const char *name;
	uint64_t lcl, ll;
	int64_t lo;
	uint64_t icl, il;
	int64_t io;
	enum merge_row_case want;
	int changed;
	enum merge_conflict_kind kind;
};

static const struct row_case row_cases[] = {
	{ "a new row", 0, 0, 0, 1, 1, A, MERGE_ROW_INSERT, 1,
	    MERGE_CONFLICT_CELL_OVERWRITTEN },
	{ "the same incarnation", 1, 1, A, 1, 1, A, MERGE_ROW_SAME, 0,
	    MERGE_CONFLICT_CELL_OVERWRITTEN },
	{ "colliding insert, theirs newer", 1, 1, A, 1, 2, B,
	    MERGE_ROW_COLLIDE, 1, MERGE_CONFLICT_COLLIDING_INSERT },
	{ "colliding insert, ours newer", 1, 3, A, 1, 2, B,
	    MERGE_ROW_COLLIDE, 0, MERGE_CONFLICT_COLLIDING_INSERT },
	{ "a deletion of our row", 1, 1, A, 2, 4, B, MERGE_ROW_DELETE, 1,
	    MERGE_CONFLICT_CELL_OVERWRITTEN },
	{ "a deletion of a row we never had", 0, 0, 0, 2, 4, B,
	    MERGE_ROW_TOMBSTONE, 1, MERGE_CONFLICT_CELL_OVERWRITTEN },
	{ "a later deletion of a row deleted here", 2, 3, A, 4, 9, B,
	    MERGE_ROW_TOMBSTONE, 1, MERGE_CONFLICT_CELL_OVERWRITTEN },
	{ "two deletions, theirs stamped higher", 2, 3, A, 2, 4, B,
	    MERGE_ROW_BOTH_DELETED, 1, MERGE_CONFLICT_CELL_OVERWRITTEN },
	{ "two deletions, ours stamped higher", 2, 5, A, 2, 4, B,
	    MERGE_ROW_BOTH_DELETED, 0, MERGE_CONFLICT_CELL_OVERWRITTEN },
	{ "an edit of an incarnation we deleted", 2, 3, A, 1, 2, B,
	    MERGE_ROW_OLDER, 0, MERGE_CONFLICT_CELL_OVERWRITTEN },
	{ "re-created over our tombstone", 2, 3, A, 3, 5, B,
	    MERGE_ROW_INSERT, 1, MERGE_CONFLICT_CELL_OVERWRITTEN },
	{ "re-created over our older incarnation", 1, 1, A, 3, 5, B,
	    MERGE_ROW_RECREATED, 1, MERGE_CONFLICT_CELL_OVERWRITTEN },
	{ "a deletion of an incarnation we re-created", 3, 6, A, 2, 4, B,
	    MERGE_ROW_OLDER, 0, MERGE_CONFLICT_CELL_OVERWRITTEN },
};

static void
test_row_table(void **state)
{
	const struct row_case *k;
	struct merge_row_in l, in;
	struct merge_row_out out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(row_cases) / sizeof(row_cases[0]); i++) {
		k = &row_cases[i];
		l.cl = k->lcl;
		l.cl_st.lamport = k->ll;
		l.cl_st.origin = k->lo;
		in.cl = k->icl;
		in.cl_st.lamport = k->il;
		in.cl_st.origin = k->io;
		merge_row_existence(&l, &in, sites, &out);
		if (out.c != k->want || out.changed != k->changed ||
		    out.kind != k->kind)
			fail_msg("%s: case %d changed %d kind %d", k->name,
			    out.c, out.changed, out.kind);
		/* The causal length only grows; the stamp is the higher. */
		assert_true(out.cl >= l.cl);
		if (k->icl == k->lcl)
			assert_int_equal(out.cl_st.lamport,
			    k->il > k->ll ? k->il : k->ll);
	}
}

static void
test_ctx_successor(void **state)
{
	struct istamp e[2] = { { 2, B }, { 1, A } }, dot = { 3, A };
	struct istamp zero = { 0, 0 };
	struct merge_ctx c = { 2, e, 0, 0, 0 }, out;

	(void)state;
	/* A's own write drops A's entries: its stamp implies them. */
	assert_int_equal(merge_ctx_successor(&dot, &c, 0, A, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(merge_ctx_get(&out, B), 2);
	assert_int_equal(merge_ctx_get(&out, A), 0);
	assert_false(out.has_base);
	merge_ctx_release(&out);
	/* Another writer keeps the held dot as an entry. */
	assert_int_equal(merge_ctx_successor(&dot, &c, 0, C, &out), 0);
	assert_int_equal(merge_ctx_get(&out, A), 3);
	assert_int_equal(merge_ctx_get(&out, B), 2);
	merge_ctx_release(&out);
	/* A tombstone's knowledge keeps everything. */
	assert_int_equal(merge_ctx_successor(&dot, &c, 0, -1, &out), 0);
	assert_int_equal(out.n, 2);
	assert_int_equal(merge_ctx_get(&out, A), 3);
	merge_ctx_release(&out);
	/* Replacing a baseline records it as the base. */
	assert_int_equal(merge_ctx_successor(&zero, NULL, 77, A, &out), 0);
	assert_int_equal(out.n, 0);
	assert_true(out.has_base);
	assert_int_equal(out.base, 77);
	merge_ctx_release(&out);
	/* Re-creating from a tombstone: its knowledge, less our own. */
	assert_int_equal(merge_ctx_successor(NULL, &c, 0, A, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(merge_ctx_get(&out, B), 2);
	merge_ctx_release(&out);
}

/*
 * base_row: "my base is the original baseline of the row's incarnation".
 * An edit from such a baseline (or from an edit of it) keeps the claim;
 * an edit from a default, a changed baseline or a tombstone has none.
 */
static void
test_ctx_base_row(void **state)
{
	struct istamp zero = { 0, 0 }, dot = { 3, A };
	struct merge_ctx orig = { 0, NULL, 77, 1, 1 }, edit = { 0, NULL, 77,
	    1, 1 }, plain = { 0, NULL, 77, 1, 0 }, out;

	(void)state;
	assert_int_equal(merge_ctx_successor(&zero, &orig, 77, B, &out), 0);
	assert_true(out.has_base && out.base_row && out.base == 77);
	merge_ctx_release(&out);
	assert_int_equal(merge_ctx_successor(&dot, &edit, 5, B, &out), 0);
	assert_true(out.has_base && out.base_row && out.base == 77);
	merge_ctx_release(&out);
	/* A baseline a migration changed (hash no longer its base). */
	assert_int_equal(merge_ctx_successor(&zero, &orig, 78, B, &out), 0);
	assert_true(out.has_base && !out.base_row && out.base == 78);
	merge_ctx_release(&out);
	assert_int_equal(merge_ctx_successor(&zero, &plain, 77, B, &out), 0);
	assert_true(out.has_base && !out.base_row);
	merge_ctx_release(&out);
	/* A default: a base (its hash), never the row's baseline. */
	assert_int_equal(merge_ctx_successor(&zero, NULL, 9, B, &out), 0);
	assert_true(out.has_base && !out.base_row);
	merge_ctx_release(&out);
	/* A tombstone's knowledge given to a new incarnation. */
	assert_int_equal(merge_ctx_successor(NULL, &edit, 0, B, &out), 0);
	assert_true(out.has_base && !out.base_row);
	merge_ctx_release(&out);
	assert_int_equal(merge_ctx_min(&edit, &edit, &out), 0);
	assert_true(out.has_base && !out.base_row);
	merge_ctx_release(&out);
}

/*
 * Where base_row survives a cell merge: on the side whose incarnation the
 * row keeps, and nowhere two differing baselines met.
 */
struct base_row_case {
	const char *name;
	enum merge_row_case row;
	int in_newer;
	int64_t lv; uint64_t ll;	/* local value, lamport (origin A) */
	int64_t iv; uint64_t il;	/* incoming value, lamport (origin B) */
	enum merge_decision want;
	int changed;			/* out.state_changed */
	int base_row;			/* out.ctx.base_row when changed */
};

static const struct base_row_case base_row_cases[] = {
	{ "same incarnation: the edit keeps it", MERGE_ROW_SAME, 0,
	    10, 0, 11, 5, MERGE_TAKE, 1, 1 },
	{ "same incarnation: ours kept as it is", MERGE_ROW_SAME, 0,
	    11, 6, 12, 5, MERGE_KEEP, 0, 0 },
	{ "insert: the row is the incoming one", MERGE_ROW_INSERT, 1,
	    0, 0, 11, 5, MERGE_TAKE, 1, 1 },
	{ "collide, ours kept: the incoming edit loses it", MERGE_ROW_COLLIDE,
	    0, 10, 0, 11, 5, MERGE_TAKE, 1, 0 },
	{ "collide, theirs kept: the incoming edit keeps it",
	    MERGE_ROW_COLLIDE, 1, 10, 0, 11, 5, MERGE_TAKE, 1, 1 },
	{ "collide, theirs kept: our winning edit loses it", MERGE_ROW_COLLIDE,
	    1, 11, 6, 12, 5, MERGE_KEEP, 1, 0 },
	{ "two differing baselines in one incarnation", MERGE_ROW_SAME, 0,
	    10, 0, 20, 0, MERGE_TAKE, 1, 0 },
	{ "two differing baselines, ours kept", MERGE_ROW_SAME, 0,
	    20, 0, 10, 0, MERGE_KEEP, 1, 0 },
};

/*
 * A local cell the incoming row carries no cell for.  A re-creation that
 * does not bring it leaves a placeholder (zero stamp, no base: the real
 * value wins when it comes) and reports a real value lost; otherwise only
 * a base_row claim can change.
 */
static void
test_cell_absent(void **state)
{
	struct merge_ctx ctx = { 0, NULL, 10, 1, 1 };
	struct merge_cell_in l, in;
	struct merge_cell_out out;
	struct merge_row_out row;
	struct mval v, iv;

	(void)state;
	memset(&v, 0, sizeof(v));
	v.type = MVAL_INT;
	v.i = 5;
	memset(&l, 0, sizeof(l));
	l.v = &v;
	l.hash = 5;
	l.st.lamport = 17;
	l.st.origin = C;
	l.ctx = &ctx;
	memset(&row, 0, sizeof(row));
	row.c = MERGE_ROW_RECREATED;
	row.in_newer = 1;
	assert_int_equal(merge_cell_absent(&l, &row, &out), 0);
	assert_int_equal(out.decision, MERGE_KEEP);
	assert_true(out.state_changed);
	assert_int_equal(out.st.lamport, 0);
	assert_int_equal(out.ctx.n, 0);
	assert_false(out.ctx.has_base);
	assert_int_equal(out.conflict, MERGE_CONFLICT_LOST_TO_DELETION);
	merge_ctx_release(&out.ctx);
	/* The placeholder loses to the real value when it arrives. */
	iv = v;
	iv.i = 6;
	memset(&in, 0, sizeof(in));
	in.v = &iv;
	in.hash = 6;
	in.st.lamport = 13;
	in.st.origin = A;
	l.st = out.st;
	l.ctx = NULL;
	row.c = MERGE_ROW_SAME;
	row.in_newer = 0;
	assert_int_equal(merge_cell(&l, &in, &row, sites, &out), 0);
	assert_int_equal(out.decision, MERGE_TAKE);
	assert_int_equal(out.conflict, MERGE_CONFLICT_NONE);
	merge_ctx_release(&out.ctx);
	/* A default (zero stamp) re-created away: nobody's, not reported. */
	memset(&l.st, 0, sizeof(l.st));
	row.c = MERGE_ROW_RECREATED;
	row.in_newer = 1;
	assert_int_equal(merge_cell_absent(&l, &row, &out), 0);
	assert_int_equal(out.conflict, MERGE_CONFLICT_NONE);
	merge_ctx_release(&out.ctx);
	/* The same incarnation: nothing changes. */
	l.st.lamport = 17;
	l.ctx = &ctx;
	row.c = MERGE_ROW_SAME;
	row.in_newer = 0;
	assert_int_equal(merge_cell_absent(&l, &row, &out), 0);
	assert_false(out.state_changed);
	assert_int_equal(out.conflict, MERGE_CONFLICT_NONE);
	/* Another incarnation kept by its existence stamp: the claim goes. */
	row.c = MERGE_ROW_COLLIDE;
	row.in_newer = 1;
	assert_int_equal(merge_cell_absent(&l, &row, &out), 0);
	assert_true(out.state_changed);
	assert_int_equal(out.st.lamport, 17);
	assert_true(out.ctx.has_base && !out.ctx.base_row);
	assert_int_equal(out.conflict, MERGE_CONFLICT_NONE);
	merge_ctx_release(&out.ctx);
}

static void
test_base_row_table(void **state)
{
	const struct base_row_case *k;
	struct merge_ctx lc, ic;
	struct merge_cell_in l, in;
	struct merge_cell_out out;
	struct merge_row_out row;
	struct mval lv, iv;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(base_row_cases) / sizeof(base_row_cases[0]);
	    i++) {
		k = &base_row_cases[i];
		memset(&lv, 0, sizeof(lv));
		memset(&iv, 0, sizeof(iv));
		lv.type = iv.type = MVAL_INT;
		lv.i = k->lv;
		iv.i = k->iv;
		/* Both sides start from (or are) their row's baseline. */
		memset(&lc, 0, sizeof(lc));
		memset(&ic, 0, sizeof(ic));
		lc.has_base = ic.has_base = lc.base_row = ic.base_row = 1;
		lc.base = k->ll == 0 ? (uint32_t)k->lv : 10;
		ic.base = k->il == 0 ? (uint32_t)k->iv : 10;
		memset(&l, 0, sizeof(l));
		memset(&in, 0, sizeof(in));
		l.v = &lv;
		l.hash = (uint32_t)k->lv;
		l.st.lamport = k->ll;
		l.st.origin = k->ll ? A : 0;
		l.ctx = &lc;
		in.v = &iv;
		in.hash = (uint32_t)k->iv;
		in.st.lamport = k->il;
		in.st.origin = k->il ? B : 0;
		in.ctx = &ic;
		memset(&row, 0, sizeof(row));
		row.c = k->row;
		row.in_newer = k->in_newer;
		row.kind = MERGE_CONFLICT_CELL_OVERWRITTEN;
		assert_int_equal(merge_cell(&l, &in, &row, sites, &out), 0);
		if (out.decision != k->want || out.state_changed != k->changed ||
		    (k->changed && out.ctx.base_row != k->base_row))
			fail_msg("%s: decision %d changed %d base_row %d",
			    k->name, out.decision, out.state_changed,
			    out.ctx.base_row);
		merge_ctx_release(&out.ctx);
	}
}

static void
test_ctx_min(void **state)
{
	struct istamp ea[2] = { { 3, A }, { 5, B } };
	struct istamp eb[2] = { { 4, A }, { 1, C } };
	struct merge_ctx a = { 2, ea, 10, 1, 1 }, b = { 2, eb, 10, 1, 1 }, out, out2;

	(void)state;
	assert_int_equal(merge_ctx_min(&a, &b, &out), 0);
	assert_int_equal(merge_ctx_get(&out, A), 3);
	assert_int_equal(merge_ctx_get(&out, B), 0);
	assert_int_equal(merge_ctx_get(&out, C), 0);
	assert_true(out.has_base);
	/* Either order gives the same knowledge. */
	assert_int_equal(merge_ctx_min(&b, &a, &out2), 0);
	assert_int_equal(out2.n, out.n);
	assert_int_equal(merge_ctx_get(&out2, A), 3);
	merge_ctx_release(&out);
	merge_ctx_release(&out2);
	b.base = 11;
	assert_int_equal(merge_ctx_min(&a, &b, &out), 0);
	assert_false(out.has_base);
	merge_ctx_release(&out);
}

/*
 * Two deletions of one row, applied in either order, leave the lesser
 * knowledge, so an edit either deleter had not seen is logged wherever it
 * is held.
 */
static void
test_two_deletions(void **state)
{
	struct istamp e1[1] = { { 5, A } }, e2[1] = { { 3, A } };
	struct merge_ctx d1 = { 1, e1, 0, 0, 0 }, d2 = { 1, e2, 0, 0, 0 }, m;
	struct merge_cell_in l;
	struct mval v;

	(void)state;
	memset(&v, 0, sizeof(v));
	v.type = MVAL_INT;
	memset(&l, 0, sizeof(l));
	l.v = &v;
	l.st.lamport = 4;
	l.st.origin = A;
	assert_false(merge_delete_loses(&l, &d1));
	assert_true(merge_delete_loses(&l, &d2));
	assert_int_equal(merge_ctx_min(&d1, &d2, &m), 0);
	assert_true(merge_delete_loses(&l, &m));
	merge_ctx_release(&m);
	assert_int_equal(merge_ctx_min(&d2, &d1, &m), 0);
	assert_true(merge_delete_loses(&l, &m));
	merge_ctx_release(&m);
}

static void
test_value_order(void **state)
{
	struct mval a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.type = b.type = MVAL_INT;
	a.i = -5;
	b.i = 3;
	assert_true(merge_value_cmp(&a, &b) < 0);
	assert_true(merge_value_cmp(&b, &a) > 0);
	a.type = b.type = MVAL_TEXT;
	a.p = (const uint8_t *)"abc";
	a.n = 3;
	b.p = (const uint8_t *)"abd";
	b.n = 3;
	assert_true(merge_value_cmp(&a, &b) < 0);
	b.n = 2;
	assert_true(merge_value_cmp(&a, &b) > 0);
	a.type = MVAL_NULL;
	assert_true(merge_value_cmp(&a, &b) < 0);
	a.type = b.type = MVAL_REAL;
	a.f = -0.0;
	b.f = 0.0;
	assert_true(merge_value_cmp(&a, &b) != 0);
	b.f = -0.0;
	assert_int_equal(merge_value_cmp(&a, &b), 0);
}

/* The state blob: encode, decode, compare; an empty context is free. */
static void
test_state_roundtrip(void **state)
{
	struct rowstate s, d, e;
	uint8_t *blob = NULL, *blob2 = NULL;
	size_t len, len2;
	uint32_t i;

	(void)state;
	assert_int_equal(rowstate_alloc(&s, 4), 0);
	s.cl_st.lamport = 7;
	s.cl_st.origin = 2;
	for (i = 0; i < 4; i++) {
		s.colhash[i] = 0x11111111u * (i + 1);
		s.colst[i].lamport = 9;
		s.colst[i].origin = 1;
	}
	s.colst[1].lamport = 12;
	s.colst[1].origin = 3;
	assert_int_equal(merge_ctx_raise(&s.colctx[1], 2, 8), 0);
	assert_int_equal(merge_ctx_raise(&s.colctx[1], 4, 300), 0);
	s.colctx[1].has_base = 1;
	s.colctx[1].base = 0xdeadbeef;
	memset(&s.colst[2], 0, sizeof(s.colst[2]));	/* a baseline */
	s.colctx[2].has_base = 1;
	s.colctx[2].base_row = 1;	/* the original one: no base bytes */
	s.colctx[2].base = s.colhash[2];
	s.colctx[3].has_base = 1;	/* an edit from the original one */
	s.colctx[3].base_row = 1;
	s.colctx[3].base = 0x12345678;
	assert_int_equal(rowstate_encode(&s, &blob, &len), 0);
	assert_int_equal(rowstate_decode(&d, blob, len), 0);
	assert_int_equal(d.ncols, 4);
	assert_int_equal(d.cl_st.lamport, 7);
	assert_int_equal(d.cl_st.origin, 2);
	for (i = 0; i < 4; i++) {
		assert_int_equal(d.colhash[i], s.colhash[i]);
		assert_int_equal(d.colst[i].lamport, s.colst[i].lamport);
		assert_int_equal(d.colst[i].origin, s.colst[i].origin);
		assert_int_equal(d.colctx[i].n, s.colctx[i].n);
		assert_int_equal(d.colctx[i].has_base, s.colctx[i].has_base);
		assert_int_equal(d.colctx[i].base, s.colctx[i].base);
		assert_int_equal(d.colctx[i].base_row, s.colctx[i].base_row);
		if (s.colctx[i].n > 0)
			assert_memory_equal(d.colctx[i].e, s.colctx[i].e,
			    s.colctx[i].n * sizeof(*s.colctx[i].e));
	}
	/* Truncated blobs are refused. */
	for (len2 = 0; len2 < len; len2++)
		assert_int_equal(rowstate_decode(&e, blob, len2), MULE_EFORMAT);
	rowstate_release(&d);
	/* No context, no base, one stamp: the compact form, 4 hash bytes a
	 * column after its mark, (ncols, common), both stamps, the bitmap. */
	for (i = 0; i < 4; i++) {
		merge_ctx_release(&s.colctx[i]);
		s.colst[i] = s.colst[0];
	}
	assert_int_equal(rowstate_encode(&s, &blob2, &len2), 0);
	assert_int_equal(len2, 2 + 1 + 2 + 2 + 1 + 4 * 4);
	free(blob);
	free(blob2);
	rowstate_release(&s);
}

/* Decodes blob and checks it against s, cell by cell. */
static void
state_same(const struct rowstate *s, const uint8_t *blob, size_t len)
{
	struct rowstate d;
	uint32_t i;

	assert_int_equal(rowstate_decode(&d, blob, len), 0);
	assert_int_equal(d.ncols, s->ncols);
	assert_int_equal(d.cl_st.lamport, s->cl_st.lamport);
	assert_int_equal(d.cl_st.origin, s->cl_st.origin);
	for (i = 0; i < s->ncols; i++) {
		assert_int_equal(d.colhash[i], s->colhash[i]);
		assert_int_equal(d.colst[i].lamport, s->colst[i].lamport);
		assert_int_equal(d.colst[i].origin, s->colst[i].origin);
		assert_int_equal(d.colctx[i].n, 0);
		assert_int_equal(d.colctx[i].has_base, s->colctx[i].has_base);
		assert_int_equal(d.colctx[i].base_row, s->colctx[i].base_row);
		assert_int_equal(d.colctx[i].base, s->colctx[i].base);
	}
	rowstate_release(&d);
}

/*
 * The two forms of a state blob (replica/store/state.c): rows as a first
 * scan or an insert leaves them take the compact one (marked 0x80 0x00);
 * blobs of the full form, as format 2 wrote them, still read the same,
 * among them rows of no columns (a leading 0).
 */
static void
test_state_forms(void **state)
{
	/* A baseline row of the bench's table, written by format 2. */
	static const uint8_t v2[] = {
		0x06, 0x01, 0x02, 0x00, 0x00,
		0xDD, 0x6F, 0x18, 0x83, 0x04, 0x4C, 0x19, 0xB8, 0x78, 0x04,
		0xA5, 0x96, 0x83, 0x33, 0x04, 0x7C, 0xA3, 0xFF, 0x68, 0x04,
		0xAE, 0x31, 0xDC, 0xAB, 0x04, 0xDD, 0x6F, 0x1A, 0x25, 0x04,
	};
	static const uint8_t empty[] = { 0x00, 0x07, 0x02, 0x00, 0x00 };
	struct rowstate s, d;
	uint8_t *blob = NULL, *more;
	size_t len, k;
	uint32_t i;

	(void)state;
	/* The baseline row: 30 bytes instead of 35, the same cells. */
	assert_int_equal(rowstate_decode(&d, v2, sizeof(v2)), 0);
	assert_int_equal(rowstate_encode(&d, &blob, &len), 0);
	assert_int_equal(len, 2 + 1 + 2 + 1 + 6 * 4);
	assert_int_equal(blob[0], 0x80);
	assert_int_equal(blob[1], 0x00);
	state_same(&d, blob, len);
	assert_int_equal(d.colctx[0].has_base, 1);
	assert_int_equal(d.colhash[0], 0xDD6F1883u);
	/* Cut short or one byte too long: refused. */
	for (k = 0; k < len; k++)
		assert_int_equal(rowstate_decode(&s, blob, k), MULE_EFORMAT);
	assert_non_null(more = malloc(len + 1));
	memcpy(more, blob, len);
	more[len] = 0;
	assert_int_equal(rowstate_decode(&s, more, len + 1), MULE_EFORMAT);
	free(more);
	free(blob);
	rowstate_release(&d);

	/* Nine columns inserted at (5, 1), bases on the last two: a common
	 * stamp written out, two bytes of bitmap (the first >= 0x80). */
	assert_int_equal(rowstate_alloc(&s, 9), 0);
	s.cl_st.lamport = 5;
	s.cl_st.origin = 1;
	for (i = 0; i < 9; i++) {
		s.colhash[i] = 0x01020304u * (i + 1);
		s.colst[i] = s.cl_st;
	}
	for (i = 7; i < 9; i++) {
		s.colctx[i].has_base = 1;
		s.colctx[i].base_row = 1;
		s.colctx[i].base = s.colhash[i];
	}
	assert_int_equal(rowstate_encode(&s, &blob, &len), 0);
	assert_int_equal(len, 2 + 1 + 2 + 2 + 2 + 9 * 4);
	assert_int_equal(blob[7], 0x80);
	assert_int_equal(blob[8], 0x01);
	state_same(&s, blob, len);
	free(blob);
	/* One column of its own stamp: the full form. */
	s.colst[4].lamport = 6;
	assert_int_equal(rowstate_encode(&s, &blob, &len), 0);
	assert_int_equal(blob[0], 9);
	state_same(&s, blob, len);
	free(blob);
	rowstate_release(&s);

	/* The full form of no columns. */
	assert_int_equal(rowstate_decode(&d, empty, sizeof(empty)), 0);
	assert_int_equal(d.ncols, 0);
	assert_int_equal(d.cl_st.lamport, 7);
	assert_int_equal(d.cl_st.origin, 2);
	rowstate_release(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cell_table),
		cmocka_unit_test(test_delete_table),
		cmocka_unit_test(test_row_table),
		cmocka_unit_test(test_ctx_successor),
		cmocka_unit_test(test_ctx_base_row),
		cmocka_unit_test(test_base_row_table),
		cmocka_unit_test(test_cell_absent),
		cmocka_unit_test(test_ctx_min),
		cmocka_unit_test(test_two_deletions),
		cmocka_unit_test(test_value_order),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_state_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
