/*
 * core/hex.h — bytes as lower-case hex and back.
 *
 * hex_encode writes 2n digits and a NUL, so `out` holds 2n + 1 bytes.
 * hex_decode accepts exactly 2n lower-case digits (what hex_encode
 * writes) and nothing else.
 */
#ifndef MULE_CORE_HEX_H
#define MULE_CORE_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of n bytes into out[2n + 1]. */
void hex_encode(char *out, const void *p, size_t n);
/* Exactly 2n lower-case hex digits into out[n]; 0 or -1. */
int hex_decode(uint8_t *out, const char *s, size_t n);

#endif
