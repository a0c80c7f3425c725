/*
 * tests/fuzz/fuzz_part.c — libFuzzer target for the part header parser.
 *
 * Every input either fails cleanly (a negative code and a message) or
 * parses; a parsed header must encode back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/parts.h"
#include "core/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct part_info pi;
	uint8_t again[PARTS_HEADER_LEN];
	char err[MULE_ERRLEN];
	int r;

	err[0] = '\0';
	r = parts_parse_header(data, size, &pi, err);
	if (r != 0) {
		if (err[0] == '\0' || r > 0)
			abort();
		return 0;
	}
	if (size < PARTS_HEADER_LEN ||
	    parts_encode_header(&pi, again, err) != 0 ||
	    memcmp(again, data, PARTS_HEADER_LEN) != 0)
		abort();
	return 0;
}
