/*
 * cli/qr.h — a key string as a QR code (libqrencode): drawn on the
 * terminal or written as a PNG image (libpng), for 'mule id --qr'.
 *
 * The key string is encoded in upper case: QR's alphanumeric mode holds
 * the upper-case base32 alphabet, so the code is smaller and scans more
 * easily, and 'mule peer add' reads key strings in either case.
 */
#ifndef MULE_CLI_QR_H
#define MULE_CLI_QR_H

#include <stdio.h>

/*
 * Draws the QR code of `text` on f with a quiet zone around it, light
 * modules drawn and dark ones blank (for a dark terminal background):
 * with `utf8`, two module rows per line in half blocks; without, one row
 * per line, "##" per light module.  0 or a MULE_E* code (message in err).
 */
int qr_print(FILE *f, const char *text, int utf8, char *err);

/*
 * Writes the QR code of `text` to `path` as a black-on-white 1-bit PNG
 * image (8 pixels a module, a 4-module quiet zone), mode 0644, never
 * overwriting a file (MULE_EEXIST).  0 or a MULE_E* code (message in
 * err).
 */
int qr_write_png(const char *path, const char *text, char *err);

#endif
