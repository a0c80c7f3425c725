/* core/buf.c — bounded byte buffers (see buf.h). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "error.h"

#define VARINT_MAXLEN 10

void
buf_init_ro(struct buf *b, const void *data, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->d = (uint8_t *)(uintptr_t)data;
	b->len = len;
	b->cap = len;
	b->max = len;
}

void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
	b->max = BUF_DEFAULT_MAX;
	b->owned = 1;
}

void
buf_release(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->owned)
		free(b->d);
	memset(b, 0, sizeof(*b));
}

void
buf_release_wipe(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->owned && b->d != NULL)
		sodium_memzero(b->d, b->cap);
	buf_release(b);
}

void
buf_set_max(struct buf *b, size_t max)
{
	b->max = max;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->off = 0;
}

size_t
buf_avail(const struct buf *b)
{
	return b->len - b->off;
}

const uint8_t *
buf_ptr(const struct buf *b)
{
	return b->d + b->off;
}

static int
peek_be(const struct buf *b, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (buf_avail(b) < n)
		return MULE_EINCOMPLETE;
	for (i = 0; i < n; i++)
		x = (x << 8) | b->d[b->off + i];
	*v = x;
	return 0;
}

int
buf_peek_u8(const struct buf *b, uint8_t *v)
{
	uint64_t x;
	int r = peek_be(b, 1, &x);

	if (r == 0)
		*v = (uint8_t)x;
	return r;
}

int
buf_peek_u32(const struct buf *b, uint32_t *v)
{
	uint64_t x;
	int r = peek_be(b, 4, &x);

	if (r == 0)
		*v = (uint32_t)x;
	return r;
}

int
buf_get_u8(struct buf *b, uint8_t *v)
{
	int r = buf_peek_u8(b, v);

	if (r == 0)
		b->off += 1;
	return r;
}

int
buf_get_u16(struct buf *b, uint16_t *v)
{
	uint64_t x;
	int r = peek_be(b, 2, &x);

	if (r == 0) {
		*v = (uint16_t)x;
		b->off += 2;
	}
	return r;
}

int
buf_get_u32(struct buf *b, uint32_t *v)
{
	int r = buf_peek_u32(b, v);

	if (r == 0)
		b->off += 4;
	return r;
}

int
buf_get_u64(struct buf *b, uint64_t *v)
{
	int r = peek_be(b, 8, v);

	if (r == 0)
		b->off += 8;
	return r;
}

/* Decodes a varint at the read offset without moving it; *used = bytes. */
static int
varint_decode(const struct buf *b, uint64_t *v, size_t *used)
{
	uint64_t x = 0;
	size_t i, avail = buf_avail(b);
	uint8_t c;

	for (i = 0; i < VARINT_MAXLEN; i++) {
		if (i >= avail)
			return MULE_EINCOMPLETE;
		c = b->d[b->off + i];
		if (i == VARINT_MAXLEN - 1 && (c & 0xfe) != 0)
			return MULE_EFORMAT;	/* bits beyond 64 */
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if ((c & 0x80) == 0) {
			if (c == 0 && i > 0)
				return MULE_EFORMAT;	/* non-minimal */
			*v = x;
			*used = i + 1;
			return 0;
		}
	}
	return MULE_EFORMAT;
}

int
buf_peek_varint(const struct buf *b, uint64_t *v)
{
	size_t used;

	return varint_decode(b, v, &used);
}

int
buf_get_varint(struct buf *b, uint64_t *v)
{
	size_t used;
	int r = varint_decode(b, v, &used);

	if (r == 0)
		b->off += used;
	return r;
}

int
buf_get_varint_max(struct buf *b, uint64_t max, uint64_t *v)
{
	uint64_t x;
	size_t used;
	int r = varint_decode(b, &x, &used);

	if (r != 0)
		return r;
	if (x > max)
		return MULE_ETOOLARGE;
	b->off += used;
	*v = x;
	return 0;
}

int
buf_get_bytes(struct buf *b, void *out, size_t n)
{
	if (buf_avail(b) < n)
		return MULE_EINCOMPLETE;
	if (n > 0)
		memcpy(out, b->d + b->off, n);
	b->off += n;
	return 0;
}

int
buf_get_ptr(struct buf *b, size_t n, const uint8_t **p)
{
	if (buf_avail(b) < n)
		return MULE_EINCOMPLETE;
	*p = b->d + b->off;
	b->off += n;
	return 0;
}

int
buf_skip(struct buf *b, size_t n)
{
	if (buf_avail(b) < n)
		return MULE_EINCOMPLETE;
	b->off += n;
	return 0;
}

int
buf_get_line(struct buf *b, size_t max, int flags, const uint8_t **p,
    size_t *n)
{
	const uint8_t *s = b->d + b->off, *nl;
	size_t avail = buf_avail(b), look, len, take;
	int crlf = (flags & BUF_LINE_CRLF) != 0;

	if (avail == 0)
		return MULE_EINCOMPLETE;
	/* The longest line, then an optional "\r", then the "\n". */
	look = max > BUF_LINE_ANY ? BUF_LINE_ANY : max;
	look += crlf ? 2 : 1;
	if (look > avail)
		look = avail;
	nl = memchr(s, '\n', look);
	len = nl != NULL ? (size_t)(nl - s) : look;
	take = nl != NULL ? len + 1 : look;
	if (crlf && len > 0 && s[len - 1] == '\r')
		len--;
	/* No end within the window: the line is too long for it. */
	if (len > max || (nl == NULL && look < avail))
		return MULE_ETOOLARGE;
	if (nl == NULL && !(flags & BUF_LINE_LAST))
		return MULE_EINCOMPLETE;
	b->off += take;
	*p = s;
	*n = len;
	return 0;
}

int
buf_get_str(struct buf *b, size_t max, const uint8_t **p, size_t *n)
{
	uint64_t len;
	size_t used;
	int r = varint_decode(b, &len, &used);

	if (r != 0)
		return r;
	if (len > max)
		return MULE_ETOOLARGE;
	if (buf_avail(b) - used < len)
		return MULE_EINCOMPLETE;
	*p = b->d + b->off + used;
	*n = (size_t)len;
	b->off += used + (size_t)len;
	return 0;
}

int
buf_get_cstr(struct buf *b, size_t max, char **s)
{
	struct buf save = *b;
	const uint8_t *p;
	size_t n;
	char *out;
	int r;

	if ((r = buf_get_str(b, max, &p, &n)) != 0)
		return r;
	if (n > 0 && memchr(p, 0, n) != NULL) {
		*b = save;
		return MULE_EFORMAT;
	}
	if ((out = malloc(n + 1)) == NULL) {
		*b = save;
		return MULE_ENOMEM;
	}
	if (n > 0)
		memcpy(out, p, n);
	out[n] = '\0';
	*s = out;
	return 0;
}

int
buf_reserve(struct buf *b, size_t n, uint8_t **p)
{
	size_t want, ncap;
	uint8_t *nd;

	if (!b->owned)
		return MULE_EINTERNAL;
	if (n > b->max || b->len > b->max - n)
		return MULE_ETOOLARGE;
	want = b->len + n;
	if (want > b->cap) {
		ncap = b->cap < 256 ? 256 : b->cap;
		while (ncap < want)
			ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
		if (ncap > b->max)
			ncap = b->max;
		if ((nd = realloc(b->d, ncap)) == NULL)
			return MULE_ENOMEM;
		b->d = nd;
		b->cap = ncap;
	}
	*p = b->d + b->len;
	b->len += n;
	return 0;
}

static int
put_be(struct buf *b, uint64_t v, size_t n)
{
	uint8_t *p;
	size_t i;
	int r;

	if ((r = buf_reserve(b, n, &p)) != 0)
		return r;
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return 0;
}

int buf_put_u8(struct buf *b, uint8_t v) { return put_be(b, v, 1); }
int buf_put_u16(struct buf *b, uint16_t v) { return put_be(b, v, 2); }
int buf_put_u32(struct buf *b, uint32_t v) { return put_be(b, v, 4); }
int buf_put_u64(struct buf *b, uint64_t v) { return put_be(b, v, 8); }

size_t
buf_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

int
buf_put_varint(struct buf *b, uint64_t v)
{
	uint8_t *p;
	size_t i, n = buf_varint_len(v);
	int r;

	if ((r = buf_reserve(b, n, &p)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		p[i] = (uint8_t)(v & 0x7f) | (i + 1 < n ? 0x80 : 0);
		v >>= 7;
	}
	return 0;
}

int
buf_put(struct buf *b, const void *data, size_t n)
{
	uint8_t *p;
	int r;

	if (n == 0)
		return 0;
	if ((r = buf_reserve(b, n, &p)) != 0)
		return r;
	memcpy(p, data, n);
	return 0;
}

int
buf_put_str(struct buf *b, const void *data, size_t n)
{
	size_t save = b->len;
	int r;

	if ((r = buf_put_varint(b, n)) != 0)
		return r;
	if ((r = buf_put(b, data, n)) != 0)
		b->len = save;
	return r;
}

int
buf_put_cstr(struct buf *b, const char *s)
{
	return buf_put_str(b, s, strlen(s));
}
