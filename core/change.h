/*
 * core/change.h — the neutral shapes shared by replica/ (which produces and
 * applies changes) and bundle/ (which encodes them), so neither needs the
 * other.
 *
 * A value is one SQLite cell value.  TEXT and BLOB bytes are borrowed: they
 * point into memory owned by whoever produced the value (a SQLite
 * statement, a bundle reader's buffer) and are valid until that producer's
 * next step.  A large value may travel by reference: MVAL_REF holds the
 * 32-byte BLAKE2b-256 hash of the value bytes in `p`/`n` (n == 32) and
 * `reftype` says whether the referenced bytes are TEXT or BLOB.
 */
#ifndef MULE_CORE_CHANGE_H
#define MULE_CORE_CHANGE_H

#include <stddef.h>
#include <stdint.h>

#define SITE_ID_LEN 16
#define ROW_HASH_LEN 16
#define VALUE_REF_LEN 32
/*
 * Entries of one cell's causal context: at most one per origin that ever
 * wrote the cell, so this bounds the writers of a cell, never drops one
 * (an encoder refuses a larger context; a decoder checks the count before
 * allocating).
 */
#define CELL_CTX_MAX 4096

enum mval_type {
	MVAL_NULL = 0,
	MVAL_INT = 1,
	MVAL_REAL = 2,
	MVAL_TEXT = 3,
	MVAL_BLOB = 4,
	MVAL_REF = 5,	/* large value stored elsewhere by its hash */
};

struct mval {
	int type;		/* enum mval_type */
	int reftype;		/* MVAL_TEXT or MVAL_BLOB when type == MVAL_REF */
	int64_t i;
	double f;
	const uint8_t *p;	/* TEXT/BLOB bytes, or the 32-byte ref hash */
	size_t n;
};

/* A logical clock value: (lamport counter, origin site id). */
struct stamp {
	uint64_t lamport;
	uint8_t origin[SITE_ID_LEN];
};

/* One entry of a version vector. */
struct vec_entry {
	uint8_t origin[SITE_ID_LEN];
	uint64_t counter;
};

/*
 * One cell of a row change: column index in the segment's column list,
 * value, stamp (its dot; the zero stamp marks a baseline value), and its
 * causal context (docs/state.md "Merging"): `ctx`, nctx entries (origin,
 * counter) saying that the value's writer had seen every write to this
 * cell by that origin up to that counter (its own origin's earlier writes
 * are implied by the stamp and not listed), and with has_base, `base`:
 * the 4-byte value hash (val_hash) of the baseline value the writer's
 * history started from.  `ctx` is borrowed like the value bytes.
 *
 * In a deletion (even causal length) the cells carry no value and a zero
 * stamp: each is what the deleter knew of that column (the held value's
 * dot joined with its context, and its base); a column without a cell is
 * one the deleter knew nothing of.
 */
struct cell {
	uint32_t col;
	struct mval v;
	struct stamp st;
	uint32_t nctx;			/* at most CELL_CTX_MAX */
	const struct vec_entry *ctx;
	uint32_t base;
	int has_base;			/* enum cell_base */
};

/*
 * has_base: CELL_BASE_NONE; CELL_BASE_HASH, `base` holds it; CELL_BASE_SELF,
 * the base is the cell's own value, the original baseline of the row's
 * incarnation (a baseline value sent with its row; the receiver hashes
 * the value, nothing else travels); or CELL_BASE_ROW, the base is the
 * original baseline of the incarnation the row's existence stamp names
 * (in a deletion: its `gone`): a receiver holding that incarnation knows
 * it, nothing travels (docs/state.md "Baselines").
 */
enum cell_base {
	CELL_BASE_NONE = 0,
	CELL_BASE_HASH = 1,
	CELL_BASE_SELF = 2,
	CELL_BASE_ROW = 3,
};

/*
 * One row change.  `pk` has one value per primary-key column (in the
 * segment's pk order).  `cl` is the causal length (odd: alive, even:
 * deleted).  `cl_stamp` orders the row's existence change.  In a deletion,
 * with has_gone, `gone` is the existence stamp of the incarnation it
 * deleted (what its cells' CELL_BASE_ROW refer to).  `hash` is the
 * sender's content hash of the whole row after the change (all zero for a
 * deleted row).
 */
struct rowchange {
	uint32_t npk;
	struct mval *pk;
	uint64_t cl;
	struct stamp cl_stamp;
	int has_gone;
	struct stamp gone;
	uint32_t ncells;
	struct cell *cells;
	uint8_t hash[ROW_HASH_LEN];
};

/* A version vector: per origin, the highest counter known.  Heap array. */
struct vector {
	size_t n;
	struct vec_entry *e;
};

void vector_init(struct vector *v);
void vector_release(struct vector *v);
/* Counter for origin (0 when absent). */
uint64_t vector_get(const struct vector *v, const uint8_t origin[SITE_ID_LEN]);
/* Sets origin's counter (adds the origin when new).  0 or MULE_ENOMEM. */
int vector_set(struct vector *v, const uint8_t origin[SITE_ID_LEN],
    uint64_t counter);
/* Copies src into dst (dst released first).  0 or MULE_ENOMEM. */
int vector_copy(struct vector *dst, const struct vector *src);
/* 1 when a >= b for every origin of b. */
int vector_covers(const struct vector *a, const struct vector *b);
/* Compares stamps: <0, 0, >0 (lamport first, then origin bytewise). */
int stamp_cmp(const struct stamp *a, const struct stamp *b);

#endif
