/*
 * tests/fuzz/fuzz_segment.c — libFuzzer target for the row segment
 * decoder.  Decodes every row; a decoded segment is re-encoded and must
 * decode to the same rows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/internal.h"
#include "core/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same_value(const struct mval *a, const struct mval *b)
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
		return a->n == b->n && (a->n == 0 ||
		    memcmp(a->p, b->p, a->n) == 0);
	case MVAL_REF:
		return a->reftype == b->reftype &&
		    memcmp(a->p, b->p, VALUE_REF_LEN) == 0;
	}
	return 1;
}

static int
same_row(const struct rowchange *a, const struct rowchange *b)
{
	uint32_t i;

	if (a->npk != b->npk || a->cl != b->cl || a->ncells != b->ncells ||
	    stamp_cmp(&a->cl_stamp, &b->cl_stamp) != 0 ||
	    memcmp(a->hash, b->hash, ROW_HASH_LEN) != 0)
		return 0;
	for (i = 0; i < a->npk; i++)
		if (!same_value(&a->pk[i], &b->pk[i]))
			return 0;
	for (i = 0; i < a->ncells; i++)
		if (a->cells[i].col != b->cells[i].col ||
		    !same_value(&a->cells[i].v, &b->cells[i].v) ||
		    stamp_cmp(&a->cells[i].st, &b->cells[i].st) != 0)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct segment_dec d, d2;
	struct segment_enc e;
	const struct rowchange *rc, *rc2;
	struct buf out;
	char err[MULE_ERRLEN];
	int r, added;

	segment_dec_init(&d);
	segment_dec_init(&d2);
	segment_enc_init(&e);
	buf_init(&out);
	err[0] = '\0';
	if ((r = segment_dec_open(&d, data, size, err)) != 0)
		goto fail;
	if (segment_enc_begin(&e, d.h.table, d.h.ncols,
	    (const char *const *)d.h.cols, d.h.npk, d.h.pkcols, err) != 0)
		abort();
	for (;;) {
		err[0] = '\0';
		if ((r = segment_dec_next(&d, &rc, err)) != 0)
			goto fail;
		if (rc == NULL)
			break;
		if (segment_enc_row(&e, rc, &added, err) != 0 || !added)
			abort();
	}
	/* Decode the re-encoding of the (complete, valid) input again. */
	e.cont = d.cont;
	if (segment_enc_header(&e, &out, err) != 0)
		abort();
	if (out.len > size)
		abort();	/* the encoder never spends more bytes */
	segment_dec_release(&d);
	segment_dec_init(&d);
	if (segment_dec_open(&d, data, size, err) != 0 ||
	    segment_dec_open(&d2, out.d, out.len, err) != 0)
		abort();
	for (;;) {
		if (segment_dec_next(&d, &rc, err) != 0 ||
		    segment_dec_next(&d2, &rc2, err) != 0)
			abort();
		if ((rc == NULL) != (rc2 == NULL))
			abort();
		if (rc == NULL)
			break;
		if (!same_row(rc, rc2))
			abort();
	}
	goto out;
fail:
	if (err[0] == '\0' || r > 0)
		abort();
out:
	buf_release(&out);
	segment_enc_release(&e);
	segment_dec_release(&d);
	segment_dec_release(&d2);
	return 0;
}
