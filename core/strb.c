/* core/strb.c — string builder (see strb.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "strb.h"

void
strb_init(struct strb *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void
strb_release(struct strb *sb)
{
	free(sb->s);
	memset(sb, 0, sizeof(*sb));
}

void
strb_reset(struct strb *sb)
{
	sb->len = 0;
	if (sb->s != NULL)
		sb->s[0] = '\0';
}

static int
grow(struct strb *sb, size_t n)
{
	size_t ncap;
	char *ns;

	if (sb->err)
		return -1;
	if (sb->len + n + 1 <= sb->cap)
		return 0;
	ncap = sb->cap ? sb->cap : 64;
	while (ncap < sb->len + n + 1)
		ncap *= 2;
	if ((ns = realloc(sb->s, ncap)) == NULL) {
		sb->err = MULE_ENOMEM;
		return -1;
	}
	sb->s = ns;
	sb->cap = ncap;
	return 0;
}

void
strb_addn(struct strb *sb, const char *s, size_t n)
{
	if (grow(sb, n) != 0)
		return;
	memcpy(sb->s + sb->len, s, n);
	sb->len += n;
	sb->s[sb->len] = '\0';
}

void
strb_add(struct strb *sb, const char *s)
{
	strb_addn(sb, s, strlen(s));
}

void
strb_addc(struct strb *sb, char c)
{
	strb_addn(sb, &c, 1);
}

void
strb_addf(struct strb *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || grow(sb, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(sb->s + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

static void
add_quoted(struct strb *sb, const char *s, char q)
{
	strb_addc(sb, q);
	for (; *s != '\0'; s++) {
		if (*s == q)
			strb_addc(sb, q);
		strb_addc(sb, *s);
	}
	strb_addc(sb, q);
}

void
strb_add_ident(struct strb *sb, const char *id)
{
	add_quoted(sb, id, '"');
}

void
strb_add_sqlstr(struct strb *sb, const char *s)
{
	add_quoted(sb, s, '\'');
}

void
strb_add_hex(struct strb *sb, const void *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	const unsigned char *u = p;
	size_t i;

	for (i = 0; i < n; i++) {
		strb_addc(sb, hx[u[i] >> 4]);
		strb_addc(sb, hx[u[i] & 15]);
	}
}

const char *
strb_str(const struct strb *sb)
{
	return sb->s != NULL ? sb->s : "";
}

int
strb_error(const struct strb *sb)
{
	return sb->err;
}

char *
strb_detach(struct strb *sb)
{
	char *s;

	if (sb->err) {
		strb_release(sb);
		return NULL;
	}
	if (sb->s == NULL && grow(sb, 0) == 0)
		sb->s[0] = '\0';
	s = sb->s;
	memset(sb, 0, sizeof(*sb));
	return s;
}

void
strb_add_size(struct strb *sb, unsigned long long bytes)
{
	static const char *unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		strb_addf(sb, "%llu B", bytes);
		return;
	}
	/* 1023.95 and up would print as "1024.0": use the next unit. */
	while (v >= 1023.95 && u < 3) {
		v /= 1024;
		u++;
	}
	strb_addf(sb, "%.1f %s", v, unit[u]);
}

void
strb_add_count(struct strb *sb, unsigned long long n)
{
	char digits[32];
	int len, i;

	len = snprintf(digits, sizeof(digits), "%llu", n);
	for (i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			strb_addc(sb, ',');
		strb_addc(sb, digits[i]);
	}
}

void
strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
strv_push(char ***v, size_t n, const char *s)
{
	char **nv, *c;

	if ((c = strdup(s)) == NULL)
		return MULE_ENOMEM;
	if ((nv = realloc(*v, (n + 1) * sizeof(*nv))) == NULL) {
		free(c);
		return MULE_ENOMEM;
	}
	nv[n] = c;
	*v = nv;
	return 0;
}
