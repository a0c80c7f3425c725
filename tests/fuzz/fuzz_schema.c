/*
 * tests/fuzz/fuzz_schema.c — libFuzzer target for the SQL tokenizer
 * behind schema fingerprints (replica/schema/schema.c): normalizing and finding
 * the tables a script creates.
 *
 * Every input either fails cleanly (MULE_EFORMAT with a message) or
 * normalizes; the normal form normalizes without error again, and the
 * created-table scan accepts whatever the normalizer accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[MULE_ERRLEN], *sql, *norm = NULL, *again = NULL, **names;
	size_t n = 0;
	int r;

	if ((sql = malloc(size + 1)) == NULL)
		return 0;
	memcpy(sql, data, size);
	sql[size] = '\0';
	err[0] = '\0';
	r = schema_normalize(sql, &norm, err);
	if (r != 0) {
		if (r != MULE_EFORMAT || err[0] == '\0' || norm != NULL)
			abort();
		if (schema_created_tables(sql, &names, &n, err) !=
		    MULE_EFORMAT)
			abort();
		goto out;
	}
	if (schema_normalize(norm, &again, err) != 0)
		abort();
	if (schema_created_tables(sql, &names, &n, err) != 0)
		abort();
	strv_free(names, n);
out:
	free(sql);
	free(norm);
	free(again);
	return 0;
}
