/* cli/qr.c — QR codes of key strings (see qr.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <qrencode.h>

#include "cli/qr.h"
#include "core/error.h"
#include "core/file.h"

#define QR_TERM_MARGIN 2	/* modules of quiet zone on the terminal */
#define QR_PNG_MARGIN 4		/* and in the image (the standard's) */
#define QR_PNG_SCALE 8		/* pixels a module */

/* The QR code of `text` upper-cased (*out: free with QRcode_free). */
static int
qr_encode(const char *text, QRcode **out, char *err)
{
	char *up = NULL;
	size_t i;
	int r = MULE_EINTERNAL;

	if ((up = strdup(text)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; up[i] != '\0'; i++)
		up[i] = (char)toupper((unsigned char)up[i]);
	if ((*out = QRcode_encodeString(up, 0, QR_ECLEVEL_M, QR_MODE_8,
	    1)) == NULL) {
		r = mule_errf(err, MULE_EINTERNAL, "cannot make the QR code");
		goto out;
	}
	r = 0;
out:
	free(up);
	return r;
}

/* 1 if module (x, y) is dark; the quiet zone around the code is light. */
static int
qr_dark(const QRcode *q, int x, int y)
{
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[y * q->width + x] & 1;
}

int
qr_print(FILE *f, const char *text, int utf8, char *err)
{
	/* Indexed by (top light) << 1 | (bottom light). */
	static const char *const half[4] = { " ", "\u2584", "\u2580",
	    "\u2588" };
	QRcode *q = NULL;
	int x, y, m = QR_TERM_MARGIN, r;

	if ((r = qr_encode(text, &q, err)) != 0)
		return r;
	for (y = -m; y < q->width + m; y += utf8 ? 2 : 1) {
		for (x = -m; x < q->width + m; x++) {
			if (utf8)
				fputs(half[!qr_dark(q, x, y) << 1 |
				    !qr_dark(q, x, y + 1)], f);
			else
				fputs(qr_dark(q, x, y) ? "  " : "##", f);
		}
		fputc('\n', f);
	}
	QRcode_free(q);
	return 0;
}

/* The image: libpng's calls, which longjmp to png_try on failure. */
static void
png_body(png_structp png, png_infop info, png_bytep row, FILE *f,
    const QRcode *q)
{
	int side = (q->width + 2 * QR_PNG_MARGIN) * QR_PNG_SCALE;
	int x, y;

	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)side, (png_uint_32)side, 1,
	    PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
	    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (y = 0; y < side; y++) {
		memset(row, 0, (size_t)side / 8 + 1);
		for (x = 0; x < side; x++)
			if (!qr_dark(q, x / QR_PNG_SCALE - QR_PNG_MARGIN,
			    y / QR_PNG_SCALE - QR_PNG_MARGIN))
				row[x / 8] |= (png_byte)(0x80 >> (x % 8));
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
}

/* png_body, catching libpng's errors: 0 or -1. */
static int
png_try(png_structp png, png_infop info, png_bytep row, FILE *f,
    const QRcode *q)
{
	if (setjmp(png_jmpbuf(png)))
		return -1;
	png_body(png, info, row, f, q);
	return 0;
}

/* Encodes q as a PNG image into the stream f; 0 or -1 (libpng failed). */
static int
png_encode(FILE *f, const QRcode *q)
{
	png_structp png = NULL;
	png_infop info = NULL;
	png_bytep row = NULL;
	int side = (q->width + 2 * QR_PNG_MARGIN) * QR_PNG_SCALE;
	int r = -1;

	if ((png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL,
	    NULL)) != NULL && (info = png_create_info_struct(png)) != NULL &&
	    (row = malloc((size_t)side / 8 + 1)) != NULL)
		r = png_try(png, info, row, f, q);
	png_destroy_write_struct(&png, &info);
	free(row);
	return r;
}

int
qr_write_png(const char *path, const char *text, char *err)
{
	QRcode *q = NULL;
	FILE *mem = NULL;
	char *buf = NULL;
	size_t len = 0;
	int r = MULE_EINTERNAL;

	if ((r = qr_encode(text, &q, err)) != 0)
		goto out;
	if ((mem = open_memstream(&buf, &len)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	r = png_encode(mem, q);
	if (fclose(mem) != 0 || r != 0) {
		r = mule_errf(err, MULE_EINTERNAL, "cannot encode the PNG "
		    "image");
		goto out;
	}
	r = file_write_atomic(path, buf, len, 0644, 1, err);
	if (r == MULE_EEXIST)
		r = mule_errf(err, r, "%s exists already; it is not "
		    "overwritten", path);
out:
	if (q != NULL)
		QRcode_free(q);
	free(buf);
	return r;
}
