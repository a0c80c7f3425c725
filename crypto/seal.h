/*
 * crypto/seal.h — multi-recipient encryption of a stream.
 *
 * A random 32-byte file key encrypts the payload with libsodium's
 * crypto_secretstream_xchacha20poly1305.  The file key is sealed to each
 * recipient's X25519 public key with crypto_box_seal (SEAL_KEYBOX_LEN bytes
 * per recipient).  The plaintext is cut into SEAL_CHUNK-byte chunks; each
 * becomes SEAL_CHUNK + SEAL_ABYTES bytes of ciphertext, the last one
 * (possibly shorter, possibly empty) carrying the FINAL tag.  A stream
 * without a FINAL chunk, with bytes after it, or with any bit changed is
 * refused (MULE_EVERIFY or MULE_EINCOMPLETE).
 */
#ifndef MULE_CRYPTO_SEAL_H
#define MULE_CRYPTO_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "crypto/ident.h"

#define SEAL_KEY_LEN 32
#define SEAL_KEYBOX_LEN (SEAL_KEY_LEN + crypto_box_SEALBYTES)	/* 80 */
#define SEAL_HEADER_LEN crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define SEAL_CHUNK 65536
#define SEAL_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES /* 17 */

/*
 * Output callback: receives ciphertext (encrypting) or plaintext
 * (decrypting).  Returns 0 or a MULE_E* code that aborts the stream.
 */
typedef int (*seal_out_fn)(void *arg, const uint8_t *p, size_t n);
/*
 * Placement callback (encrypting, optional): room for the next n bytes of
 * ciphertext (n <= SEAL_CHUNK + SEAL_ABYTES), or NULL for the encoder's
 * own buffer.  The chunk built there is then passed to the output
 * callback with that very pointer, so the caller can keep it without a
 * copy (crypto/sig.h sig_reserve).
 */
typedef uint8_t *(*seal_place_fn)(void *arg, size_t n);

struct seal_enc {
	crypto_secretstream_xchacha20poly1305_state st;
	uint8_t *key;		/* sodium_malloc'd file key */
	uint8_t *pt;		/* SEAL_CHUNK bytes of pending plaintext */
	size_t ptlen;
	uint8_t *ct;		/* SEAL_CHUNK + SEAL_ABYTES */
	seal_out_fn out;
	seal_place_fn place;	/* NULL: every chunk is built in ct */
	void *arg;
	int finished;
};

/* Makes a new random file key.  0 or MULE_ENOMEM. */
int seal_enc_init(struct seal_enc *e, seal_out_fn out, void *arg);
/*
 * Sets the placement callback (called with the `arg` of seal_enc_init);
 * any time before the first chunk.  Nothing to free.
 */
void seal_enc_place(struct seal_enc *e, seal_place_fn place);
/* Seals the file key to one recipient: keybox[SEAL_KEYBOX_LEN]. */
int seal_enc_keybox(struct seal_enc *e, const struct ident_pub *to,
    uint8_t keybox[SEAL_KEYBOX_LEN]);
/* Writes the stream header (call once, before any data). */
int seal_enc_header(struct seal_enc *e, uint8_t hdr[SEAL_HEADER_LEN]);
/* Buffers plaintext and emits every full chunk through `out`. */
int seal_enc_update(struct seal_enc *e, const void *p, size_t n);
/* Emits the last chunk with the FINAL tag. */
int seal_enc_final(struct seal_enc *e);
/* Wipes and frees (fine after a failure or on a zeroed struct). */
void seal_enc_release(struct seal_enc *e);

struct seal_dec {
	crypto_secretstream_xchacha20poly1305_state st;
	uint8_t *key;
	uint8_t *ct;		/* pending ciphertext, one chunk */
	size_t ctlen;
	uint8_t *pt;
	seal_out_fn out;
	void *arg;
	int started;
	int finished;		/* FINAL tag seen */
};

/*
 * Opens keybox with our secret key; MULE_ENOTRECIPIENT if it was not
 * sealed to us.
 */
int seal_dec_init(struct seal_dec *d, const struct ident_secret *me,
    const uint8_t keybox[SEAL_KEYBOX_LEN], seal_out_fn out, void *arg);
int seal_dec_header(struct seal_dec *d, const uint8_t hdr[SEAL_HEADER_LEN]);
/* Feeds ciphertext in any pieces; plaintext goes to `out` chunk by chunk. */
int seal_dec_update(struct seal_dec *d, const void *p, size_t n);
/* Ends the stream: MULE_EINCOMPLETE unless the FINAL chunk was seen. */
int seal_dec_final(struct seal_dec *d);
void seal_dec_release(struct seal_dec *d);

#endif
