/*
 * replica/merge/merge.h — the merge rule as pure functions: no SQL, no
 * I/O (docs/state.md "Merging" and "Conflicts" give the rule and its
 * proof sketch; tests/unit/test_merge.c is its table of cases).
 *
 * A cell value is known by its stamp (its dot: lamport counter and origin
 * index, the zero stamp marking a baseline value) and its causal context:
 * per origin, the newest write to this cell its writer had seen, plus the
 * value hash of the baseline its history started from.  A local value is a
 * conflict when, and only when, it is overwritten by a value whose writer
 * had not seen it.
 */
#ifndef MULE_REPLICA_MERGE_H
#define MULE_REPLICA_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/change.h"

/*
 * A stamp with its origin as an index into _mule_origins (0: the zero
 * stamp's origin).  In a context entry, `lamport` is the counter.
 */
struct istamp {
	uint64_t lamport;
	int64_t origin;
};

/*
 * A cell's causal context.  `e` (heap, n entries, distinct origins, each
 * counter > 0): the writer had seen every write to this cell by that
 * origin up to that counter.  With has_base, `base` is the value hash
 * (val_hash) of the baseline value the writer's history replaced, and
 * `base_row` says that this baseline is the original one of the row's
 * current incarnation (the one its existence stamp names, as its first
 * scan made it), so that a peer holding that incarnation knows it without
 * being told (docs/state.md "Baselines").  Release with merge_ctx_release;
 * a zeroed struct is the empty context.
 */
struct merge_ctx {
	uint32_t n;
	struct istamp *e;
	uint32_t base;
	int has_base;
	int base_row;
};

/* The kinds of conflict, as stored in _mule_conflicts.kind. */
enum merge_conflict_kind {
	MERGE_CONFLICT_NONE = 0,
	/* A local value overwritten by a newer one whose writer had not seen it. */
	MERGE_CONFLICT_CELL_OVERWRITTEN = 1,
	/* A local row deleted by a site that had not seen one of its values. */
	MERGE_CONFLICT_LOST_TO_DELETION = 2,
	/*
	 * Two sites inserted the same key (same causal length, different
	 * existence stamps); a local value lost to the other insert.
	 */
	MERGE_CONFLICT_COLLIDING_INSERT = 3,
	/* A row that left the sender's set was kept here (it holds our edit). */
	MERGE_CONFLICT_LEFT_SET = 4,
	/*
	 * A baseline value (zero stamp) overwritten by a value whose history
	 * started from another baseline, or by the other of two differing
	 * baselines (the one of the row with the higher existence stamp wins).
	 */
	MERGE_CONFLICT_BASELINES_DIFFER = 5,
};

/* What happens to the local cell. */
enum merge_decision {
	MERGE_KEEP = 0,		/* the local value stays */
	MERGE_TAKE = 1,		/* the incoming value replaces it */
	MERGE_EQUAL = 2,	/* same value: data unchanged, state may move */
};

/* One side of a cell merge.  Everything is borrowed. */
struct merge_cell_in {
	const struct mval *v;	/* the value */
	uint32_t hash;		/* its val_hash */
	struct istamp st;	/* its dot */
	const struct merge_ctx *ctx;	/* NULL: empty */
};

/* The result of merging one cell. */
struct merge_cell_out {
	enum merge_decision decision;
	enum merge_conflict_kind conflict;	/* for the local value */
	int state_changed;	/* st and ctx below replace the local ones */
	struct istamp st;
	struct merge_ctx ctx;	/* heap copy; merge_ctx_release */
};

/* The row's existence, one side. */
struct merge_row_in {
	uint64_t cl;		/* causal length; 0: no row (no state) */
	struct istamp cl_st;	/* existence stamp */
};

/* How a row change meets the local row. */
enum merge_row_case {
	MERGE_ROW_INSERT = 0,	/* incoming alive, not alive here: insert */
	MERGE_ROW_SAME = 1,	/* both alive, one incarnation: cells merge */
	MERGE_ROW_COLLIDE = 2,	/* both alive, same cl, two inserts */
	MERGE_ROW_RECREATED = 3, /* incoming alive, higher cl: its cells win */
	MERGE_ROW_DELETE = 4,	/* incoming deletion of a row alive here */
	MERGE_ROW_TOMBSTONE = 5, /* incoming deletion, no row alive here */
	MERGE_ROW_BOTH_DELETED = 6, /* the same deletion both sides */
	MERGE_ROW_OLDER = 7,	/* an older incarnation: nothing changes */
};

struct merge_row_out {
	enum merge_row_case c;
	uint64_t cl;		/* the row's causal length after the merge */
	struct istamp cl_st;	/* and existence stamp */
	int changed;		/* cl or cl_st differ from the local ones */
	int in_newer;		/* the incoming existence stamp is the higher */
	/* The kind of a local value lost to an incoming cell in this row. */
	enum merge_conflict_kind kind;
};

/* Releases a context's entries (a NULL or zeroed one is fine). */
void merge_ctx_release(struct merge_ctx *c);
/* Copies src (NULL: empty) into *dst (not released first). 0 or MULE_ENOMEM. */
int merge_ctx_copy(struct merge_ctx *dst, const struct merge_ctx *src);
/* The counter of origin in c (0 when absent or c is NULL). */
uint64_t merge_ctx_get(const struct merge_ctx *c, int64_t origin);
/* Raises origin's entry to at least counter (adds it). 0 or MULE_ENOMEM. */
int merge_ctx_raise(struct merge_ctx *c, int64_t origin, uint64_t counter);
/*
 * What a writer knows after replacing (or deleting) the held value whose
 * dot is `dot`, context `ctx` and value hash `hash`: ctx joined with the
 * dot, and as base the baseline it started from (the held value's hash
 * when the dot is zero, else the held value's base; base_row goes with
 * it).  `dot` NULL: ctx is already such knowledge (a tombstone's) and is
 * only copied, for a new incarnation (base_row cleared).  Entries of
 * origin `writer` (>= 0) are dropped: the new value's own stamp implies
 * them.  *out is overwritten.  0 or MULE_ENOMEM.
 */
int merge_ctx_successor(const struct istamp *dot, const struct merge_ctx *ctx,
    uint32_t hash, int64_t writer, struct merge_ctx *out);
/*
 * The lesser knowledge of two deletions: per origin the smaller counter
 * (absent in either: absent), the base only when both have the same one
 * (base_row cleared).  *out is overwritten.  0 or MULE_ENOMEM.
 */
int merge_ctx_min(const struct merge_ctx *a, const struct merge_ctx *b,
    struct merge_ctx *out);
/*
 * 1 when the value `v` had been seen by the writer of `u` (u's dot, or an
 * earlier write of u's origin, or an entry of u's context covers it; a
 * baseline value — zero stamp, with a base — when it is u's base).  A
 * zero-stamped value without a base is a default, nobody's value, and
 * always counts as seen.  u->v is not used; u->st may be the zero stamp
 * (a deletion's knowledge).
 */
int merge_seen(const struct merge_cell_in *v, const struct merge_cell_in *u);
/*
 * A total order on values (type, then number or bytes): <0, 0, >0.  It
 * breaks the last tie between two differing zero-stamped values.
 */
int merge_value_cmp(const struct mval *a, const struct mval *b);
/* Compares stamps: lamport, then origin site id bytewise (sites[origin]). */
int istamp_cmp(const struct istamp *a, const struct istamp *b,
    const uint8_t (*sites)[SITE_ID_LEN]);
/*
 * Merges one incoming cell into the local one, in a row whose existence
 * merge gave `row` (MERGE_ROW_INSERT: `local` is ignored; otherwise its
 * value must be set).  The higher stamp wins (MERGE_ROW_INSERT and
 * MERGE_ROW_RECREATED: the incoming cell, whatever the stamps); between
 * two zero stamps a baseline beats a default, then the baseline of the
 * row with the higher existence stamp (row->in_newer) wins, so that the
 * choice travels with the row (zero-stamped cells go only with their row);
 * should both existence stamps be equal, the higher value in
 * merge_value_cmp order.  A winning incoming value keeps its own stamp
 * and context.  When it replaces a different local value it had not seen
 * (merge_seen), out->conflict says of what kind (row->kind, or
 * MERGE_CONFLICT_BASELINES_DIFFER for a baseline).  base_row survives
 * only on the side whose incarnation the row keeps (a kept local value
 * whose row takes the incoming incarnation gets state_changed with it
 * cleared), and never where two differing baselines met.  Fills *out
 * (out->ctx is a heap copy to release).  0 or MULE_ENOMEM.
 */
int merge_cell(const struct merge_cell_in *local,
    const struct merge_cell_in *incoming, const struct merge_row_out *row,
    const uint8_t (*sites)[SITE_ID_LEN], struct merge_cell_out *out);
/*
 * A local cell the incoming row carries no cell for.  In a re-creation
 * (MERGE_ROW_RECREATED) the value belongs to the incarnation that was
 * deleted, and the new one's value for it has not arrived (the sender
 * thought we held the new incarnation): it stays in the table as a
 * placeholder, zero-stamped with no base (nobody's value: the real one
 * wins whenever it comes, and wherever the row goes whole the placeholder
 * never beats anything), and a value with a real stamp is reported lost
 * (out->conflict MERGE_CONFLICT_LOST_TO_DELETION: the re-creator's
 * knowledge of it is unknown here; an entry too many, never one lost).
 * Where the row takes another incarnation otherwise, a base_row claim is
 * dropped.  Fills *out (decision MERGE_KEEP; state_changed with st and
 * ctx when the local state must change).  0 or MULE_ENOMEM.
 */
int merge_cell_absent(const struct merge_cell_in *local,
    const struct merge_row_out *row, struct merge_cell_out *out);
/*
 * A deletion reaching a local value: 1 when the deleter had not seen it
 * (a conflict), else 0.  `known` is the deletion's knowledge of that
 * column (NULL: none, the empty context).  A default is never lost.
 */
int merge_delete_loses(const struct merge_cell_in *local,
    const struct merge_ctx *known);
/* The existence merge of one row.  Fills *out. */
void merge_row_existence(const struct merge_row_in *local,
    const struct merge_row_in *incoming, const uint8_t (*sites)[SITE_ID_LEN],
    struct merge_row_out *out);

#endif
