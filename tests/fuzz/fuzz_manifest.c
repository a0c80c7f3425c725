/*
 * tests/fuzz/fuzz_manifest.c — libFuzzer target for the MANIFEST parser.
 *
 * Every input either fails cleanly (with a message) or parses; a parsed
 * MANIFEST must encode back to exactly the same bytes, since the format
 * has one spelling for each value.  Vectors coded against a reference
 * (a "ref N ID" line) are rebuilt against a fixed reference of 600
 * origins, the one tests/unit/test_bundle.c's "coded" seed is made with
 * (origin i: i in two big-endian bytes, then 0x5a; counter 10 + i), and
 * must then encode back the same way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/internal.h"
#include "core/error.h"

#define REF_ORIGINS 600

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fixed_ref(struct vector *v)
{
	uint8_t o[SITE_ID_LEN];
	size_t i;

	for (i = 0; i < REF_ORIGINS; i++) {
		memset(o, 0x5a, sizeof(o));
		o[0] = (uint8_t)(i >> 8);
		o[1] = (uint8_t)i;
		if (vector_set(v, o, 10 + i) != 0)
			return MULE_ENOMEM;
	}
	return 0;
}

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
	if (r == 0 && m.coded) {
		if (fixed_ref(&m.refvec) != 0)
			goto out;
		r = manifest_vectors(&m, &m.refvec, &m.base, &m.top, &m.ack,
		    err);
	}
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
