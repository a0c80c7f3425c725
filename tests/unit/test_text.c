/*
 * tests/unit/test_text.c — core/text.c: untrusted text (a mail server's
 * reply) made safe to print, by a table of cases and over random bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/text.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct text_case {
	const char *in;		/* NULL: a NULL source */
	size_t size;		/* of the destination */
	const char *want;
};

static const struct text_case cases[] = {
	{ NULL, 16, "" },
	{ "", 16, "" },
	{ "250 ok", 16, "250 ok" },
	/* Line breaks and tabs: one space per run, none at the ends. */
	{ "  a \r\n b\t\tc \n", 16, "a b c" },
	{ "one\ntwo\r\nthree", 32, "one two three" },
	{ "a\rb", 16, "a b" },			/* CR would rewrite the line */
	/* Escape sequences lose their ESC; other controls become '?'. */
	{ "\x1b[2J\x1b[1;1H", 32, "?[2J?[1;1H" },
	{ "\x1b]0;owned\x07", 32, "?]0;owned?" },
	{ "a\bb\x01\x1f", 16, "a?b??" },
	{ "\x7f", 16, "?" },
	/* C1 controls (CSI 0x9b) raw and in UTF-8; any other byte >= 0x80. */
	{ "\x9b" "31m", 16, "?31m" },
	{ "\xc2\x9b" "31m", 16, "??31m" },
	{ "caf\xc3\xa9", 16, "caf??" },
	{ "\xff\x80", 16, "??" },
	/* Cut to the buffer, with "..." to show it. */
	{ "abcdefghij", 8, "abcd..." },
	{ "abcdefg", 8, "abcdefg" },		/* fits exactly */
	{ "abcdefg \r\n", 8, "abcdefg" },	/* trailing blanks: dropped */
	{ "abc defgh", 8, "abc ..." },
	{ "abc", 3, "ab" },			/* no room for "..." */
	{ "abc", 1, "" },
};

static void
test_text_table(void **state)
{
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		memset(out, 'Z', sizeof(out));
		assert_ptr_equal(text_sanitize(out, cases[i].size, cases[i].in),
		    out);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, out,
			    cases[i].want);
		/* Nothing written past the buffer. */
		assert_int_equal(out[cases[i].size], 'Z');
	}
}

static void
test_text_size_zero(void **state)
{
	char out[4] = "xyz";

	(void)state;
	assert_ptr_equal(text_sanitize(out, 0, "abc"), out);
	assert_string_equal(out, "xyz");
}

/* Whatever the bytes, the result is printable ASCII and fits. */
static void
test_text_random(void **state)
{
	char in[300], out[TEXT_QUOTE_MAX];
	size_t i, j, n;

	(void)state;
	srand(13);
	for (i = 0; i < 2000; i++) {
		n = (size_t)rand() % (sizeof(in) - 1);
		for (j = 0; j < n; j++)
			in[j] = (char)(1 + rand() % 255);
		in[n] = '\0';
		text_sanitize(out, sizeof(out), in);
		assert_true(strlen(out) < sizeof(out));
		for (j = 0; out[j] != '\0'; j++)
			assert_true(out[j] >= 0x20 && out[j] <= 0x7e);
		assert_true(out[0] != ' ');
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_table),
		cmocka_unit_test(test_text_size_zero),
		cmocka_unit_test(test_text_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
