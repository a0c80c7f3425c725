/*
 * crypto/sig.h — streaming signatures.
 *
 * A signature is Ed25519 (crypto_sign_detached) over the 64-byte
 * BLAKE2b-512 hash of the signed bytes, which are fed in pieces.
 *
 * The hash can run in a second thread (sig_init_threaded), overlapping
 * whatever the caller does between sig_update calls (encrypting, reading,
 * writing).  The signed bytes and the signature are the same either way.
 * The worker copies what sig_update feeds into a ring of SIG_RING_BUFS
 * buffers of SIG_RING_BUF bytes (bounded memory); the thread starts only
 * once a first buffer is handed over, so small inputs never start one, and
 * when it cannot start the hash runs inline.  A producer that can build
 * its bytes in place (an encryptor writing its ciphertext, a read())
 * asks sig_reserve for room in the ring and feeds them from there: then
 * nothing is copied.
 */
#ifndef MULE_CRYPTO_SIG_H
#define MULE_CRYPTO_SIG_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "crypto/ident.h"

#define SIG_LEN 64
#define SIG_HASH_LEN 64

#define SIG_RING_BUFS 4
/* A little over 256 KiB, so that four sealed 64 KiB chunks (crypto/seal.h:
 * 4 x 65553 bytes) fit in one buffer. */
#define SIG_RING_BUF (257 * 1024)

struct sig_worker;

struct sig_ctx {
	crypto_generichash_state h;
	struct sig_worker *w;	/* NULL: the hash runs inline */
};

/* Starts an inline hash; nothing to release. */
void sig_init(struct sig_ctx *c);
/*
 * Starts a hash that runs in a second thread.  0, or MULE_ENOMEM (then c
 * is a plain inline context, still usable).  sig_sign / sig_verify end the
 * thread and free the worker; sig_release does it for a context that is
 * abandoned.
 */
int sig_init_threaded(struct sig_ctx *c);
void sig_update(struct sig_ctx *c, const void *p, size_t n);
/*
 * Room for the next n bytes to be fed, inside the worker's ring: the
 * caller may build them there and then feed them with sig_update(c, ret,
 * k), k <= n, before any other sig_update; they are not copied.  Until
 * then the room is the caller's to write and read.  NULL when c hashes
 * inline (no worker) or n > SIG_RING_BUF: build the bytes elsewhere.
 * The ring belongs to c (freed by sig_sign, sig_verify, sig_release).
 */
uint8_t *sig_reserve(struct sig_ctx *c, size_t n);
/* Signs the hash of everything fed so far (and ends any worker). */
int sig_sign(struct sig_ctx *c, const struct ident_secret *s,
    uint8_t sig[SIG_LEN]);
/*
 * 0 if `sig` is the signature of the bytes fed by `pub`, else MULE_EVERIFY
 * (ends any worker).
 */
int sig_verify(struct sig_ctx *c, const struct ident_pub *pub,
    const uint8_t sig[SIG_LEN]);
/*
 * Ends the worker of an abandoned context, if any, and wipes the state.
 * Fine on any context initialised by sig_init*, signed or not, and twice.
 */
void sig_release(struct sig_ctx *c);

/* BLAKE2b with a given output length over one buffer (helper). */
void sig_hash(uint8_t *out, size_t outlen, const void *p, size_t n);

#endif
