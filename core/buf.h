/*
 * core/buf.h — bounded byte buffers for untrusted input and for output,
 * in the spirit of OpenSSH's sshbuf.
 *
 * A struct buf is either a reader over memory it does not own
 * (buf_init_ro) or a growable writer that owns its memory (buf_init).
 * Readers keep a read offset; every get/peek checks the remaining length
 * first and returns MULE_EINCOMPLETE instead of reading past the end, and
 * every length-prefixed or varint item is checked against a caller-named
 * maximum (MULE_ETOOLARGE) before anything is allocated or copied.  On
 * error the read offset does not move and output parameters are untouched.
 * Nothing else in mule indexes raw untrusted input.
 *
 * Integers are big-endian.  Varints are unsigned LEB128 of at most 10
 * bytes; a varint longer than that, or with bits beyond 64, is
 * MULE_EFORMAT, as is a non-minimal encoding (so each value has one form).
 * Length-prefixed byte strings ("str") are a varint length then the bytes.
 */
#ifndef MULE_CORE_BUF_H
#define MULE_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Writers grow up to this size unless buf_set_max says otherwise. */
#define BUF_DEFAULT_MAX ((size_t)256 << 20)

struct buf {
	uint8_t *d;		/* bytes; owned only when `owned` */
	size_t len;		/* bytes in use */
	size_t off;		/* read offset (readers and writers alike) */
	size_t cap;		/* allocated size (writers) */
	size_t max;		/* writers never grow beyond this */
	int owned;		/* 1 for writers */
};

/* Reader over `len` bytes at `data`; the memory must outlive the buf. */
void buf_init_ro(struct buf *b, const void *data, size_t len);
/* Empty growable writer (no allocation until the first put). */
void buf_init(struct buf *b);
/* Frees a writer's memory and zeroes the struct; fine on readers. */
void buf_release(struct buf *b);
/* Like buf_release but wipes the bytes first (for secrets). */
void buf_release_wipe(struct buf *b);
/* Caps a writer's size; puts beyond it return MULE_ETOOLARGE. */
void buf_set_max(struct buf *b, size_t max);
/* Empties a writer (keeps its memory) and resets the offset. */
void buf_reset(struct buf *b);

/* Bytes left to read, and a pointer to them. */
size_t buf_avail(const struct buf *b);
const uint8_t *buf_ptr(const struct buf *b);

/* Readers: 0, MULE_EINCOMPLETE, MULE_ETOOLARGE or MULE_EFORMAT. */
int buf_get_u8(struct buf *b, uint8_t *v);
int buf_get_u16(struct buf *b, uint16_t *v);
int buf_get_u32(struct buf *b, uint32_t *v);
int buf_get_u64(struct buf *b, uint64_t *v);
int buf_get_varint(struct buf *b, uint64_t *v);
/* A varint that must be <= max (MULE_ETOOLARGE otherwise). */
int buf_get_varint_max(struct buf *b, uint64_t max, uint64_t *v);
/* Copies exactly n bytes into out. */
int buf_get_bytes(struct buf *b, void *out, size_t n);
/* Points *p at the next n bytes (no copy) and skips them. */
int buf_get_ptr(struct buf *b, size_t n, const uint8_t **p);
/* Skips n bytes. */
int buf_skip(struct buf *b, size_t n);
/*
 * Length-prefixed string: *p points into the buffer, *n is its length,
 * which must be <= max.  No copy, no allocation.
 */
int buf_get_str(struct buf *b, size_t max, const uint8_t **p, size_t *n);
/*
 * Same, copied into a new NUL-terminated heap string the caller frees.
 * A string containing a NUL byte is MULE_EFORMAT.
 */
int buf_get_cstr(struct buf *b, size_t max, char **s);

/*
 * Lines.  buf_get_line takes the next line: *p points at its first byte in
 * the buffer (no copy), *n is its length without the line end, and the line
 * end is consumed too.  A line longer than `max` bytes (its end not
 * counted) is MULE_ETOOLARGE, found by looking no further than max plus
 * the line end.  With nothing left, or (without BUF_LINE_LAST) when the
 * bytes left have no "\n", it is MULE_EINCOMPLETE.  Flags:
 *   BUF_LINE_LF    the line ends in "\n"; a "\r" is part of the line
 *   BUF_LINE_CRLF  "\r\n" or "\n" ends the line; the "\r" is dropped
 *   BUF_LINE_LAST  bytes left without "\n" are the last line (with CRLF,
 *                  a "\r" at its end is dropped)
 * A caller names its limit (MANIFEST_MAX_LINE, ...); BUF_LINE_ANY is no
 * limit beyond the buffer's own length.
 */
#define BUF_LINE_LF	0
#define BUF_LINE_CRLF	1
#define BUF_LINE_LAST	2
#define BUF_LINE_ANY	((size_t)-1 >> 2)
int buf_get_line(struct buf *b, size_t max, int flags, const uint8_t **p,
    size_t *n);

/* Peeks do not move the offset. */
int buf_peek_u8(const struct buf *b, uint8_t *v);
int buf_peek_u32(const struct buf *b, uint32_t *v);
int buf_peek_varint(const struct buf *b, uint64_t *v);

/* Writers: 0, MULE_ENOMEM or MULE_ETOOLARGE. */
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_u16(struct buf *b, uint16_t v);
int buf_put_u32(struct buf *b, uint32_t v);
int buf_put_u64(struct buf *b, uint64_t v);
int buf_put_varint(struct buf *b, uint64_t v);
int buf_put(struct buf *b, const void *data, size_t n);
int buf_put_str(struct buf *b, const void *data, size_t n);
int buf_put_cstr(struct buf *b, const char *s);
/* Reserves n bytes at the end and points *p at them. */
int buf_reserve(struct buf *b, size_t n, uint8_t **p);

/* Number of bytes buf_put_varint(v) writes. */
size_t buf_varint_len(uint64_t v);

#endif
