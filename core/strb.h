/*
 * core/strb.h — a growable NUL-terminated string builder.
 *
 * Errors are sticky: after an allocation failure every later call does
 * nothing and strb_error() returns MULE_ENOMEM, so callers may build a
 * whole string and check once at the end.
 */
#ifndef MULE_CORE_STRB_H
#define MULE_CORE_STRB_H

#include <stddef.h>

struct strb {
	char *s;	/* always NUL-terminated once anything was added */
	size_t len;
	size_t cap;
	int err;
};

void strb_init(struct strb *sb);
/* Frees the string and zeroes the struct. */
void strb_release(struct strb *sb);
void strb_reset(struct strb *sb);
void strb_add(struct strb *sb, const char *s);
void strb_addn(struct strb *sb, const char *s, size_t n);
void strb_addc(struct strb *sb, char c);
void strb_addf(struct strb *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends `id` as a SQL identifier in double quotes, doubling quotes. */
void strb_add_ident(struct strb *sb, const char *id);
/* Appends `s` as a SQL string literal in single quotes. */
void strb_add_sqlstr(struct strb *sb, const char *s);
/* Appends n bytes as lower-case hex. */
void strb_add_hex(struct strb *sb, const void *p, size_t n);
/* The string ("" when empty; never NULL). */
const char *strb_str(const struct strb *sb);
/* 0 or MULE_ENOMEM. */
int strb_error(const struct strb *sb);
/* Hands the heap string to the caller (who frees it); NULL on error. */
char *strb_detach(struct strb *sb);

/* Frees an array of n heap strings and the array; fine on NULL. */
void strv_free(char **v, size_t n);
/*
 * Appends a copy of s to the heap array *v of n strings (the caller then
 * counts n + 1).  0, or MULE_ENOMEM with *v still holding its n strings.
 */
int strv_push(char ***v, size_t n, const char *s);

/* Formats a byte count for people: "512 B", "48.2 KiB", "1.4 MiB". */
void strb_add_size(struct strb *sb, unsigned long long bytes);

/* Appends a count with thousands grouped: 1204 → "1,204". */
void strb_add_count(struct strb *sb, unsigned long long n);

#endif
