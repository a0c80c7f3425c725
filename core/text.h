/*
 * core/text.h — untrusted text made safe to show on a terminal.
 *
 * A mail server's reply (or any text mule did not write) may hold control
 * characters and escape sequences that move the cursor, rewrite earlier
 * lines, set the window title or worse when printed raw.  Every message
 * that quotes such text passes it through text_sanitize first.
 */
#ifndef MULE_CORE_TEXT_H
#define MULE_CORE_TEXT_H

#include <stddef.h>

/* The size of a buffer for a quoted server reply (159 bytes and a NUL). */
#define TEXT_QUOTE_MAX 160

/*
 * Copies the untrusted, NUL-terminated text `src` (NULL reads as "") into
 * dst, a buffer of `size` bytes, as one line of printable ASCII:
 *   - each run of blanks (space, tab, CR, LF) becomes one space;
 *   - every other byte outside 0x20..0x7e (the other control characters,
 *     ESC among them, DEL, and all bytes from 0x80: C1 controls such as
 *     CSI 0x9b, and their UTF-8 forms) becomes '?';
 *   - blanks at both ends are dropped;
 *   - text longer than size - 1 bytes is cut and ends with "...".
 * Returns dst, always NUL-terminated when size > 0; nothing is written
 * when size is 0.  Nothing to free.
 */
char *text_sanitize(char *dst, size_t size, const char *src);

#endif
