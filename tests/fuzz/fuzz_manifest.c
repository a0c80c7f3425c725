/*
 * tests/fuzz/fuzz_manifest.c — libFuzzer target for the MANIFEST parser.
 *
 * Every input either fails cleanly (with a message) or parses; a parsed
 * MANIFEST must encode back to exactly the same bytes, since the format
 * has one spelling for each value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/internal.h"
#include "core/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	struct member_list ml;
	struct buf out;
	char err[MULE_ERRLEN];
	int r;

	manifest_init(&m);
	member_list_init(&ml);
	buf_init(&out);
	err[0] = '\0';
	r = manifest_parse(data, size, &m, &ml, err);
	if (r != 0) {
		if (err[0] == '\0' || r > 0)
			abort();
		goto out;
	}
	if (manifest_encode(&m, &ml, &out, err) != 0)
		abort();
	if (out.len != size || memcmp(out.d, data, size) != 0)
		abort();
out:
	buf_release(&out);
	manifest_release(&m);
	member_list_release(&ml);
	return 0;
}
