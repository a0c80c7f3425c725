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
#define CELL_BEATS 4	/* concurrent values a cell remembers beating */
#define CELL_PRIORS 4	/* values a cell remembers having replaced */

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

/*
 * One changed cell of a row: column index in the segment's column list,
 * value, stamp, and `beat`: the stamps of up to CELL_BEATS concurrent
 * values this one won against (lamport 0 when unused), so that a site still holding that value
 * records the conflict when this one arrives.  `prior` is the chain of
 * values this one knowingly replaced, newest first: the stamp of the value
 * its writer replaced, then that value's own prior, and so on (lamport 0
 * ends the chain).  A local value not in a complete chain was not seen by
 * the writer.
 */
struct cell {
	uint32_t col;
	struct mval v;
	struct stamp st;
	struct stamp beat[CELL_BEATS];	/* unused entries: lamport 0 */
	struct stamp prior[CELL_PRIORS];	/* replaced values, newest first */
};

/*
 * One row change.  `pk` has one value per primary-key column (in the
 * segment's pk order).  `cl` is the causal length (odd: alive, even:
 * deleted).  `cl_stamp` orders the row's existence change; `cl_beat`, on a
 * deletion, holds the stamps of concurrent edits it overrode (lamport 0:
 * unused).  `hash` is the
 * sender's content hash of the whole row after the change (all zero for a
 * deleted row).
 */
struct rowchange {
	uint32_t npk;
	struct mval *pk;
	uint64_t cl;
	struct stamp cl_stamp;
	struct stamp cl_beat[CELL_BEATS];	/* edits a deletion beat */
	uint64_t cl_prior;	/* newest cell lamport the deleter knew */
	uint32_t ncells;
	struct cell *cells;
	uint8_t hash[ROW_HASH_LEN];
};

/* One entry of a version vector. */
struct vec_entry {
	uint8_t origin[SITE_ID_LEN];
	uint64_t counter;
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
