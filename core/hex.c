/* core/hex.c — lower-case hex (see hex.h). */
#include <string.h>

#include "hex.h"

void
hex_encode(char *out, const void *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	const uint8_t *u = p;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[u[i] >> 4];
		out[2 * i + 1] = hx[u[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
hex_decode(uint8_t *out, const char *s, size_t n)
{
	size_t i;
	int hi, lo;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		hi = hexval(s[2 * i]);
		lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
