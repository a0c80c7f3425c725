/*
 * tests/fuzz/fuzz_recon.c — libFuzzer target for the reader of content
 * digests and key-range summaries (sync/reconcile.c: recon_table,
 * recon_row), fed the rows of a decoded segment as unpack feeds them.
 * Whatever the input: every failure has a message and a MULE_E* code;
 * what was kept is within the named limits and well formed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/internal.h"
#include "core/error.h"
#include "sync/reconcile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_kept(const struct recon_in *in)
{
	size_t i;

	if (in->ndig > RECON_MAX_DIGESTS || in->nsum > RECON_MAX_SUMMARIES)
		abort();
	for (i = 0; i < in->ndig; i++)
		if (in->dig[i].tbl == NULL || in->dig[i].tbl[0] == '\0')
			abort();
	for (i = 0; i < in->nsum; i++)
		if ((in->sum[i].range.lo.type == MVAL_BLOB &&
		    in->sum[i].range.lo.n > RECON_MAX_BOUND) ||
		    (in->sum[i].range.hi.type == MVAL_BLOB &&
		    in->sum[i].range.hi.n > RECON_MAX_BOUND))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct rowchange *rc;
	struct segment_dec d;
	struct recon_in in;
	char err[MULE_ERRLEN];
	int r, taken = 0;

	memset(&in, 0, sizeof(in));
	segment_dec_init(&d);
	err[0] = '\0';
	if (segment_dec_open(&d, data, size, err) != 0 ||
	    recon_table(&in, d.h.table, d.h.ncols,
	    (const char *const *)d.h.cols, &taken, err) != 0 || !taken)
		goto out;
	for (;;) {
		err[0] = '\0';
		if (segment_dec_next(&d, &rc, err) != 0 || rc == NULL)
			break;
		err[0] = '\0';
		if ((r = recon_row(&in, rc, err)) != 0) {
			if (r > 0 || err[0] == '\0')
				abort();
			break;
		}
	}
	check_kept(&in);
out:
	recon_in_release(&in);
	segment_dec_release(&d);
	return 0;
}
