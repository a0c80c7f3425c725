/*
 * crypto/seal.c — multi-recipient encryption of a stream (see seal.h).
 *
 * Encoder states: key == NULL before seal_enc_init; ct == NULL until
 * seal_enc_header has set up the secretstream state (so no data can be
 * encrypted under an uninitialised state); `finished` once the FINAL chunk
 * was emitted or a step failed.
 *
 * Decoder states: `started` is 0 before the header, 1 while streaming and
 * -1 after any failure (every later call fails, so seal_dec_final can never
 * report success for a stream that had an error); `finished` once the
 * FINAL chunk was authenticated.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/error.h"
#include "crypto/ident.h"
#include "crypto/seal.h"

#define SEAL_CT_CHUNK (SEAL_CHUNK + SEAL_ABYTES)

_Static_assert(SEAL_KEY_LEN == crypto_secretstream_xchacha20poly1305_KEYBYTES,
    "file key length");

/* Wipes and frees n bytes of malloc'd memory. */
static void
seal_free_wipe(uint8_t *p, size_t n)
{
	if (p != NULL) {
		sodium_memzero(p, n);
		free(p);
	}
}

int
seal_enc_init(struct seal_enc *e, seal_out_fn out, void *arg)
{
	int r = MULE_EINTERNAL;

	memset(e, 0, sizeof(*e));
	if ((r = ident_lib_init()) != 0)
		goto out;
	if ((e->key = sodium_malloc(SEAL_KEY_LEN)) == NULL ||
	    (e->pt = malloc(SEAL_CHUNK)) == NULL) {
		r = MULE_ENOMEM;
		goto out;
	}
	crypto_secretstream_xchacha20poly1305_keygen(e->key);
	e->out = out;
	e->arg = arg;
	r = 0;
out:
	if (r != 0)
		seal_enc_release(e);
	return r;
}

void
seal_enc_place(struct seal_enc *e, seal_place_fn place)
{
	e->place = place;
}

int
seal_enc_keybox(struct seal_enc *e, const struct ident_pub *to,
    uint8_t keybox[SEAL_KEYBOX_LEN])
{
	uint8_t box[SEAL_KEYBOX_LEN];
	int r = MULE_EINTERNAL;

	if (e->key == NULL) {
		r = MULE_EINVAL;
		goto out;
	}
	if (crypto_box_seal(box, e->key, SEAL_KEY_LEN, to->box_pk) != 0) {
		r = MULE_ECRYPTO;
		goto out;
	}
	memcpy(keybox, box, SEAL_KEYBOX_LEN);
	r = 0;
out:
	return r;
}

int
seal_enc_header(struct seal_enc *e, uint8_t hdr[SEAL_HEADER_LEN])
{
	uint8_t h[SEAL_HEADER_LEN];
	int r = MULE_EINTERNAL;

	if (e->key == NULL || e->ct != NULL || e->finished) {
		r = MULE_EINVAL;
		goto out;
	}
	if ((e->ct = malloc(SEAL_CT_CHUNK)) == NULL) {
		r = MULE_ENOMEM;
		goto out;
	}
	if (crypto_secretstream_xchacha20poly1305_init_push(&e->st, h,
	    e->key) != 0) {
		free(e->ct);
		e->ct = NULL;
		r = MULE_ECRYPTO;
		goto out;
	}
	memcpy(hdr, h, SEAL_HEADER_LEN);
	r = 0;
out:
	return r;
}

/*
 * Encrypts n bytes at p as one chunk with `tag`, where the placement
 * callback says (else into e->ct), and emits it.
 */
static int
seal_enc_chunk(struct seal_enc *e, const uint8_t *p, size_t n, uint8_t tag)
{
	unsigned long long clen = 0;
	uint8_t *c = NULL;
	int r = MULE_EINTERNAL;

	if (e->place != NULL)
		c = e->place(e->arg, n + SEAL_ABYTES);
	if (c == NULL)
		c = e->ct;
	if (crypto_secretstream_xchacha20poly1305_push(&e->st, c, &clen,
	    p, n, NULL, 0, tag) != 0 || clen != n + SEAL_ABYTES) {
		r = MULE_ECRYPTO;
		goto out;
	}
	r = e->out(e->arg, c, (size_t)clen);
out:
	return r;
}

int
seal_enc_update(struct seal_enc *e, const void *p, size_t n)
{
	const uint8_t *in = p;
	size_t take;
	int r = MULE_EINTERNAL;

	if (e->ct == NULL || e->finished) {
		r = MULE_EINVAL;
		goto out;
	}
	while (n > 0) {
		if (e->ptlen == 0 && n >= SEAL_CHUNK) {
			/* A whole chunk straight from the caller's bytes. */
			if ((r = seal_enc_chunk(e, in, SEAL_CHUNK,
			    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE))
			    != 0)
				goto out;
			in += SEAL_CHUNK;
			n -= SEAL_CHUNK;
			continue;
		}
		take = SEAL_CHUNK - e->ptlen;
		if (take > n)
			take = n;
		memcpy(e->pt + e->ptlen, in, take);
		e->ptlen += take;
		in += take;
		n -= take;
		if (e->ptlen == SEAL_CHUNK) {
			if ((r = seal_enc_chunk(e, e->pt, SEAL_CHUNK,
			    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE))
			    != 0)
				goto out;
			e->ptlen = 0;
		}
	}
	r = 0;
out:
	if (r != 0 && r != MULE_EINVAL)
		e->finished = 1;	/* the stream is broken; refuse more */
	return r;
}

int
seal_enc_final(struct seal_enc *e)
{
	int r = MULE_EINTERNAL;

	if (e->ct == NULL || e->finished) {
		r = MULE_EINVAL;
		goto out;
	}
	e->finished = 1;
	if ((r = seal_enc_chunk(e, e->pt, e->ptlen,
	    crypto_secretstream_xchacha20poly1305_TAG_FINAL)) != 0)
		goto out;
	sodium_memzero(e->pt, e->ptlen);
	e->ptlen = 0;
	r = 0;
out:
	return r;
}

void
seal_enc_release(struct seal_enc *e)
{
	if (e == NULL)
		return;
	if (e->key != NULL)
		sodium_free(e->key);	/* wipes */
	seal_free_wipe(e->pt, SEAL_CHUNK);
	free(e->ct);
	sodium_memzero(e, sizeof(*e));
}

int
seal_dec_init(struct seal_dec *d, const struct ident_secret *me,
    const uint8_t keybox[SEAL_KEYBOX_LEN], seal_out_fn out, void *arg)
{
	int r = MULE_EINTERNAL;

	memset(d, 0, sizeof(*d));
	if ((r = ident_lib_init()) != 0)
		goto out;
	if ((d->key = sodium_malloc(SEAL_KEY_LEN)) == NULL ||
	    (d->ct = malloc(SEAL_CT_CHUNK)) == NULL ||
	    (d->pt = malloc(SEAL_CHUNK)) == NULL) {
		r = MULE_ENOMEM;
		goto out;
	}
	if (me == NULL || me->box_sk == NULL) {
		r = MULE_EINVAL;
		goto out;
	}
	if (crypto_box_seal_open(d->key, keybox, SEAL_KEYBOX_LEN,
	    me->pub.box_pk, me->box_sk) != 0) {
		r = MULE_ENOTRECIPIENT;
		goto out;
	}
	d->out = out;
	d->arg = arg;
	r = 0;
out:
	if (r != 0)
		seal_dec_release(d);
	return r;
}

int
seal_dec_header(struct seal_dec *d, const uint8_t hdr[SEAL_HEADER_LEN])
{
	int r = MULE_EINTERNAL;

	if (d->key == NULL || d->started != 0) {
		r = MULE_EINVAL;
		goto out;
	}
	if (crypto_secretstream_xchacha20poly1305_init_pull(&d->st, hdr,
	    d->key) != 0) {
		r = MULE_EVERIFY;
		goto out;
	}
	d->started = 1;
	r = 0;
out:
	return r;
}

/*
 * Decrypts the d->ctlen buffered bytes as one chunk.  A FINAL chunk sets
 * d->finished; with `need_final`, any other tag means the stream ends
 * without its FINAL chunk.  The plaintext goes to the output callback.
 */
static int
seal_dec_chunk(struct seal_dec *d, int need_final)
{
	unsigned long long mlen = 0;
	unsigned char tag = 0;
	int r = MULE_EINTERNAL;

	if (crypto_secretstream_xchacha20poly1305_pull(&d->st, d->pt, &mlen,
	    &tag, d->ct, d->ctlen, NULL, 0) != 0) {
		r = MULE_EVERIFY;
		goto out;
	}
	if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
		d->finished = 1;
	} else if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
		r = MULE_EFORMAT;	/* authentic, but not what we write */
		goto out;
	} else if (need_final) {
		r = MULE_EINCOMPLETE;
		goto out;
	}
	d->ctlen = 0;
	if (mlen > 0 && (r = d->out(d->arg, d->pt, (size_t)mlen)) != 0)
		goto out;
	r = 0;
out:
	if (mlen > 0)
		sodium_memzero(d->pt, (size_t)mlen);
	return r;
}

int
seal_dec_update(struct seal_dec *d, const void *p, size_t n)
{
	const uint8_t *in = p;
	size_t take;
	int r = MULE_EINTERNAL;

	if (d->started != 1) {
		r = MULE_EINVAL;
		goto out;
	}
	while (n > 0) {
		if (d->finished) {
			r = MULE_EVERIFY;	/* data after the final chunk */
			goto out;
		}
		take = SEAL_CT_CHUNK - d->ctlen;
		if (take > n)
			take = n;
		memcpy(d->ct + d->ctlen, in, take);
		d->ctlen += take;
		in += take;
		n -= take;
		if (d->ctlen == SEAL_CT_CHUNK &&
		    (r = seal_dec_chunk(d, 0)) != 0)
			goto out;
	}
	r = 0;
out:
	if (r != 0 && d->started == 1)
		d->started = -1;
	return r;
}

int
seal_dec_final(struct seal_dec *d)
{
	int r = MULE_EINTERNAL;

	if (d->started != 1) {
		r = MULE_EINVAL;
		goto out;
	}
	if (d->finished) {
		r = d->ctlen == 0 ? 0 : MULE_EVERIFY;
		goto out;
	}
	if (d->ctlen < SEAL_ABYTES) {
		r = MULE_EINCOMPLETE;	/* truncated */
		goto out;
	}
	if ((r = seal_dec_chunk(d, 1)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0 && d->started == 1)
		d->started = -1;
	return r;
}

void
seal_dec_release(struct seal_dec *d)
{
	if (d == NULL)
		return;
	if (d->key != NULL)
		sodium_free(d->key);
	seal_free_wipe(d->pt, SEAL_CHUNK);
	free(d->ct);
	sodium_memzero(d, sizeof(*d));
}
