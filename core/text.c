/* core/text.c — untrusted text made safe to show (see text.h). */
#include <string.h>

#include "core/text.h"

char *
text_sanitize(char *dst, size_t size, const char *src)
{
	const unsigned char *p = (const unsigned char *)(src != NULL ? src :
	    "");
	size_t n = 0;
	int space = 0, cut = 0;

	for (; size > 0 && *p != '\0'; p++) {
		unsigned char c = *p;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			/* Written before the next other byte: none at ends. */
			space = n > 0;
			continue;
		}
		if (c < 0x20 || c >= 0x7f)
			c = '?';
		if (n + (size_t)space + 1 >= size) {
			cut = 1;
			break;
		}
		if (space)
			dst[n++] = ' ';
		space = 0;
		dst[n++] = (char)c;
	}
	if (cut && size >= 4) {
		n = size - 4;
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	if (size > 0)
		dst[n] = '\0';
	return dst;
}
