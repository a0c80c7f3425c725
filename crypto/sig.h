/*
 * crypto/sig.h — streaming signatures.
 *
 * A signature is Ed25519 (crypto_sign_detached) over the 64-byte
 * BLAKE2b-512 hash of the signed bytes, which are fed in pieces.
 */
#ifndef MULE_CRYPTO_SIG_H
#define MULE_CRYPTO_SIG_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "crypto/ident.h"

#define SIG_LEN 64
#define SIG_HASH_LEN 64

struct sig_ctx {
	crypto_generichash_state h;
};

void sig_init(struct sig_ctx *c);
void sig_update(struct sig_ctx *c, const void *p, size_t n);
/* Signs the hash of everything fed so far. */
int sig_sign(struct sig_ctx *c, const struct ident_secret *s,
    uint8_t sig[SIG_LEN]);
/* 0 if `sig` is the signature of the bytes fed by `pub`, else MULE_EVERIFY. */
int sig_verify(struct sig_ctx *c, const struct ident_pub *pub,
    const uint8_t sig[SIG_LEN]);

/* BLAKE2b with a given output length over one buffer (helper). */
void sig_hash(uint8_t *out, size_t outlen, const void *p, size_t n);

#endif
