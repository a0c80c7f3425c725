/*
 * crypto/ident.h — site identities: key pairs, key files, key strings.
 *
 * A site's identity is an Ed25519 key pair (signatures) and an X25519 key
 * pair (encryption), both from libsodium.  The public half travels as one
 * line, the key string:
 *
 *     mule1<base32 of: version(1)=1 | key id(8) | sign pk(32) | box pk(32)
 *           | checksum(4) = first 4 bytes of BLAKE2b-256 of what precedes>
 *
 * in lower-case RFC 4648 base32 without padding, so a mistyped character
 * fails the checksum.  The key id is the first 8 bytes of
 * BLAKE2b-256("mule key id" || sign pk || box pk).  The fingerprint a
 * person compares is BLAKE2b-256 of the same, shown as ten groups of four
 * base32 characters ("abcd-efgh-...").
 *
 * The secret key file (DB.mule-key) holds: magic "MULEKEY1", then its
 * body: the site id (16), sign sk (64), box sk (32), box pk (32), as raw
 * bytes (152 bytes in all).  A key file protected by a passphrase holds
 * magic "MULEKEY2", algorithm 1 (one byte), the Argon2id opslimit and
 * memlimit (8 bytes each, big-endian), a salt (16), a nonce (24), then the
 * body sealed with crypto_secretbox (XSalsa20-Poly1305) under the key
 * crypto_pwhash (Argon2id v1.3) derives from the passphrase and salt (225
 * bytes in all).  Key files are created mode 0600; one readable by group
 * or others is refused.
 */
#ifndef MULE_CRYPTO_IDENT_H
#define MULE_CRYPTO_IDENT_H

#include <stddef.h>
#include <stdint.h>

#define IDENT_KEYID_LEN 8
#define IDENT_PK_LEN 32
#define IDENT_SIGN_SK_LEN 64
#define IDENT_BOX_SK_LEN 32
#define IDENT_SITE_LEN 16
#define IDENT_KEYSTRING_MAX 160	/* longest key string plus NUL */
#define IDENT_FPR_MAX 64	/* fingerprint text plus NUL */
#define IDENT_PASS_MAX 1024	/* bytes of a passphrase */

/* The public identity of a site (ours or a peer's). */
struct ident_pub {
	uint8_t key_id[IDENT_KEYID_LEN];
	uint8_t sign_pk[IDENT_PK_LEN];
	uint8_t box_pk[IDENT_PK_LEN];
};

/*
 * A secret identity.  `sec` points to sodium_malloc memory holding the
 * secret keys; it is wiped and freed by ident_secret_free.
 */
struct ident_secret {
	struct ident_pub pub;
	uint8_t site_id[IDENT_SITE_LEN];
	uint8_t *sign_sk;	/* IDENT_SIGN_SK_LEN bytes, sodium_malloc */
	uint8_t *box_sk;	/* IDENT_BOX_SK_LEN bytes, sodium_malloc */
};

/* Calls sodium_init once; 0 or MULE_ECRYPTO. */
int ident_lib_init(void);

/*
 * Generates a new identity for `site_id` into a new heap object (*out, free
 * with ident_secret_free).
 */
int ident_generate(const uint8_t site_id[IDENT_SITE_LEN],
    struct ident_secret **out, char *err);
void ident_secret_free(struct ident_secret *s);

/* Writes the key file, mode 0600, never overwriting (MULE_EEXIST). */
int ident_write_keyfile(const struct ident_secret *s, const char *path,
    char *err);
/*
 * Writes the key file protected by `pass` (NULL or "": not protected),
 * mode 0600, through a safefile.  With `replace` an existing file is
 * replaced; without, it is MULE_EEXIST.  0 or a MULE_E* code.
 */
int ident_write_keyfile_pass(const struct ident_secret *s, const char *path,
    const char *pass, int replace, char *err);

/*
 * Supplies the passphrase of the protected key file `path`: writes it,
 * NUL-terminated, into buf (`size` bytes, IDENT_PASS_MAX + 1), wiped by
 * the caller.  Returns 0, or a MULE_E* code (MULE_EPASSPHRASE when there
 * is none to give) with the message in err.
 */
typedef int (*ident_pass_fn)(void *arg, const char *path, char *buf,
    size_t size, char *err);

/*
 * Reads a key file into a new heap object (*out, free with
 * ident_secret_free).  A protected one is unsealed with the passphrase
 * fn(arg, ...) gives (fn NULL: MULE_EPASSPHRASE, "protected by a
 * passphrase").  MULE_EPASSPHRASE also for a wrong passphrase;
 * MULE_EKEYPERM (with a message saying to chmod 600) when group or others
 * may read it; MULE_EFORMAT when it is not a mule key file;
 * MULE_ENOTFOUND when it is missing.
 */
int ident_read_keyfile_pass(const char *path, ident_pass_fn fn, void *arg,
    struct ident_secret **out, char *err);
/* ident_read_keyfile_pass without a passphrase. */
int ident_read_keyfile(const char *path, struct ident_secret **out,
    char *err);
/* 1 if the key file at path is protected by a passphrase, 0 if not, or
 * the errors of reading it (as ident_read_keyfile). */
int ident_keyfile_protected(const char *path, char *err);
/*
 * Copies the key file at path (checked as ident_read_keyfile checks it,
 * not unsealed) to dst, mode 0600, never overwriting (MULE_EEXIST).
 * 0 or a MULE_E* code.
 */
int ident_copy_keyfile(const char *path, const char *dst, char *err);

/* Computes pub->key_id from the two public keys. */
void ident_pub_set_keyid(struct ident_pub *pub);
/* Writes the key string (NUL-terminated) into out[IDENT_KEYSTRING_MAX]. */
void ident_keystring(const struct ident_pub *pub,
    char out[IDENT_KEYSTRING_MAX]);
/*
 * Parses a key string (surrounding white space allowed, upper or lower
 * case).  MULE_EKEYSTRING with a message for a wrong prefix, bad length,
 * bad character or checksum mismatch ("checksum mismatch: mistyped?").
 */
int ident_parse_keystring(const char *s, struct ident_pub *out, char *err);
/* Writes the fingerprint ("abcd-efgh-...") into out[IDENT_FPR_MAX]. */
void ident_fingerprint(const struct ident_pub *pub, char out[IDENT_FPR_MAX]);

#endif
