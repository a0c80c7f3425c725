/* crypto/sig.c — streaming signatures (see sig.h). */
#include <string.h>

#include <sodium.h>

#include "core/error.h"
#include "crypto/ident.h"
#include "crypto/sig.h"

void
sig_init(struct sig_ctx *c)
{
	crypto_generichash_init(&c->h, NULL, 0, SIG_HASH_LEN);
}

void
sig_update(struct sig_ctx *c, const void *p, size_t n)
{
	if (n > 0)
		crypto_generichash_update(&c->h, p, n);
}

int
sig_sign(struct sig_ctx *c, const struct ident_secret *s,
    uint8_t sig[SIG_LEN])
{
	uint8_t hash[SIG_HASH_LEN], out[SIG_LEN];
	int r = MULE_EINTERNAL;

	if ((r = ident_lib_init()) != 0)
		goto out;
	if (s == NULL || s->sign_sk == NULL) {
		r = MULE_EINVAL;
		goto out;
	}
	if (crypto_generichash_final(&c->h, hash, sizeof(hash)) != 0 ||
	    crypto_sign_detached(out, NULL, hash, sizeof(hash),
	    s->sign_sk) != 0) {
		r = MULE_ECRYPTO;
		goto out;
	}
	memcpy(sig, out, SIG_LEN);
	r = 0;
out:
	sodium_memzero(hash, sizeof(hash));
	return r;
}

int
sig_verify(struct sig_ctx *c, const struct ident_pub *pub,
    const uint8_t sig[SIG_LEN])
{
	uint8_t hash[SIG_HASH_LEN];
	int r = MULE_EINTERNAL;

	if ((r = ident_lib_init()) != 0)
		goto out;
	if (crypto_generichash_final(&c->h, hash, sizeof(hash)) != 0) {
		r = MULE_ECRYPTO;
		goto out;
	}
	if (crypto_sign_verify_detached(sig, hash, sizeof(hash),
	    pub->sign_pk) != 0) {
		r = MULE_EVERIFY;
		goto out;
	}
	r = 0;
out:
	return r;
}

void
sig_hash(uint8_t *out, size_t outlen, const void *p, size_t n)
{
	/* outlen outside 1..64 is a caller bug; libsodium then writes nothing. */
	(void)crypto_generichash(out, outlen, p, n, NULL, 0);
}
