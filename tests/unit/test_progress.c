/*
 * tests/unit/test_progress.c — core/progress.c: the progress line for
 * one report, by a table of cases (the elapsed time is given, so no case
 * depends on a clock).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/progress.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct line_case {
	const char *what;
	unsigned long long done, total;
	double elapsed;
	const char *want;
};

static const struct line_case cases[] = {
	/* A phase that only began. */
	{ PROGRESS_PACKING, 0, 0, 0, "packing..." },
	{ PROGRESS_VERIFYING, 0, 0, 3, "checking the signature..." },
	/* Rows: count of total and percent; no rate in the first 0.5 s. */
	{ PROGRESS_SCANNING, 0, 400000, 0, "scanning: 0 of 400000 rows (0%)" },
	{ PROGRESS_SCANNING, 131072, 400000, 0.4,
	  "scanning: 131072 of 400000 rows (32%)" },
	/* Then the rate and the time left (268928 rows at 52000/s: 5 s). */
	{ PROGRESS_SCANNING, 104000, 372928, 2,
	  "scanning: 104000 of 372928 rows (27%), 52000 rows/s, 0:05 left" },
	{ PROGRESS_APPLYING, 60000, 6060000, 1,
	  "applying: 60000 of 6060000 rows (0%), 60000 rows/s, 1:40 left" },
	/* Done: no time left. */
	{ PROGRESS_APPLYING, 60, 60, 2,
	  "applying: 60 of 60 rows (100%), 30 rows/s" },
	/* No total, or one the count passed (the scan's estimate). */
	{ PROGRESS_PACKING, 65536, 0, 0.1, "packing: 65536 rows" },
	{ PROGRESS_PACKING, 131072, 0, 2, "packing: 131072 rows, 65536 rows/s" },
	{ PROGRESS_SCANNING, 900, 700, 1, "scanning: 900 rows, 900 rows/s" },
	/* Bytes. */
	{ PROGRESS_PARTS, 0, 7025459, 0, "writing parts: 0 B of 6.7 MiB (0%)" },
	{ PROGRESS_PARTS, 2097152, 7025459, 2,
	  "writing parts: 2.0 MiB of 6.7 MiB (29%), 1.0 MiB/s, 0:05 left" },
	{ PROGRESS_SEALING, 512, 1024, 1,
	  "compressing and encrypting: 512 B of 1.0 KiB (50%), 512 B/s, "
	  "0:01 left" },
	{ PROGRESS_COMPRESSING, 3, 3, 0, "compressing: 3 B of 3 B (100%)" },
	{ PROGRESS_IMAGE, 1536, 1536, 0,
	  "writing image: 1.5 KiB of 1.5 KiB (100%)" },
};

static void
test_progress_lines(void **state)
{
	char line[160];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		progress_format(line, sizeof(line), cases[i].what,
		    cases[i].done, cases[i].total, cases[i].elapsed);
		assert_string_equal(line, cases[i].want);
	}
}

static void
test_progress_short_buffer(void **state)
{
	char line[12];

	(void)state;
	memset(line, 'Z', sizeof(line));
	progress_format(line, sizeof(line), PROGRESS_SCANNING, 104000, 372928,
	    2);
	assert_string_equal(line, "scanning: 1");
	progress_format(line, 1, PROGRESS_SCANNING, 5, 10, 2);
	assert_string_equal(line, "");
}

static void
test_progress_units(void **state)
{
	(void)state;
	assert_int_equal(progress_counts_bytes(PROGRESS_PARTS), 1);
	assert_int_equal(progress_counts_bytes(PROGRESS_MAIL), 1);
	assert_int_equal(progress_counts_bytes(PROGRESS_EML), 1);
	assert_int_equal(progress_counts_bytes(PROGRESS_SCANNING), 0);
	assert_int_equal(progress_counts_bytes("tables"), 0);
}

static int calls;

static void
count_calls(void *arg, const char *what, unsigned long long done,
    unsigned long long total)
{
	(void)arg;
	(void)what;
	(void)done;
	(void)total;
	calls++;
}

static void
test_progress_report(void **state)
{
	(void)state;
	progress_report(NULL, NULL, PROGRESS_PACKING, 1, 2);
	progress_report(count_calls, NULL, PROGRESS_PACKING, 1, 2);
	assert_int_equal(calls, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_progress_lines),
		cmocka_unit_test(test_progress_short_buffer),
		cmocka_unit_test(test_progress_units),
		cmocka_unit_test(test_progress_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
