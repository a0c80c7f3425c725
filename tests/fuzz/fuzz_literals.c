/*
 * tests/fuzz/fuzz_literals.c — libFuzzer target for replica_literals_parse
 * (replica/store/conflicts.c): 'mule conflicts --json' parses the values
 * of the conflict log back, and those of 'conflicts --peers' are text a
 * peer wrote into its conflict notes.  Each input is tried as a value, a
 * key and a row; whatever it is, the parse ends, never reads past the
 * string, and a value it accepts has TEXT and BLOB bytes inside what it
 * allocated (checked by AddressSanitizer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replica/replica.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct replica_literals l;
	volatile uint8_t sink = 0;
	char *s;
	size_t i, k;
	int form;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (form = 0; form < 3; form++) {
		memset(&l, 0, sizeof(l));
		if (replica_literals_parse(s, form, &l) == 0) {
			if (l.n == 0 || l.n > REPLICA_MAX_LITERALS ||
			    (form == 0 && l.n != 1))
				abort();
			for (i = 0; i < l.n; i++)
				if (l.v[i].type == MVAL_TEXT ||
				    l.v[i].type == MVAL_BLOB)
					for (k = 0; k < l.v[i].n; k++)
						sink ^= l.v[i].p[k];
		}
		replica_literals_release(&l);
	}
	(void)sink;
	free(s);
	return 0;
}
