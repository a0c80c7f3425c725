/* crypto/ident.c — site identities, key files and key strings (see ident.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/file.h"
#include "crypto/ident.h"

#define KEYSTRING_PREFIX "mule1"
#define KEYSTRING_PREFIX_LEN 5
#define KEYSTRING_VERSION 1
#define KEYSTRING_CKSUM_LEN 4
/* version | key id | sign pk | box pk */
#define KEYSTRING_SIGNED_LEN (1 + IDENT_KEYID_LEN + 2 * IDENT_PK_LEN)
#define KEYSTRING_RAW_LEN (KEYSTRING_SIGNED_LEN + KEYSTRING_CKSUM_LEN)
#define B32_LEN(n) (((n) * 8 + 4) / 5)
#define KEYSTRING_BODY_LEN B32_LEN(KEYSTRING_RAW_LEN)	/* 124 */

#define KEYID_DOMAIN "mule key id"
#define KEYID_DOMAIN_LEN 11
#define FPR_BYTES 25
#define FPR_CHARS B32_LEN(FPR_BYTES)	/* 40 */
#define FPR_GROUP 4

#define KEYFILE_MAGIC "MULEKEY1"
#define KEYFILE_PMAGIC "MULEKEY2"	/* protected by a passphrase */
#define KEYFILE_MAGIC_LEN 8
/* site id | sign sk | box sk | box pk */
#define KEYFILE_BODY_LEN (IDENT_SITE_LEN + IDENT_SIGN_SK_LEN + \
    IDENT_BOX_SK_LEN + IDENT_PK_LEN)	/* 144 */
#define KEYFILE_LEN (KEYFILE_MAGIC_LEN + KEYFILE_BODY_LEN)	/* 152 */
/* magic | alg | opslimit | memlimit | salt | nonce | secretbox(body) */
#define KEYFILE_PALG 1		/* Argon2id v1.3, XSalsa20-Poly1305 */
#define KEYFILE_PHEAD_LEN (KEYFILE_MAGIC_LEN + 1 + 8 + 8 + \
    crypto_pwhash_SALTBYTES + crypto_secretbox_NONCEBYTES)
#define KEYFILE_PLEN (KEYFILE_PHEAD_LEN + crypto_secretbox_MACBYTES + \
    KEYFILE_BODY_LEN)	/* 225 */
#define KEYFILE_MAX KEYFILE_PLEN

static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

_Static_assert(KEYSTRING_PREFIX_LEN + KEYSTRING_BODY_LEN < IDENT_KEYSTRING_MAX,
    "key string buffer too small");
_Static_assert(FPR_CHARS + FPR_CHARS / FPR_GROUP - 1 < IDENT_FPR_MAX,
    "fingerprint buffer too small");

int
ident_lib_init(void)
{
	/* sodium_init is thread-safe and returns 1 when already done. */
	return sodium_init() < 0 ? MULE_ECRYPTO : 0;
}

/* Lower-case base32 without padding; writes B32_LEN(n) chars and a NUL. */
static void
b32_encode(char *out, const uint8_t *p, size_t n)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

/* The value of a base32 character (either case), or -1. */
static int
b32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/* BLAKE2b-256("mule key id" || sign pk || box pk). */
static void
ident_key_hash(const struct ident_pub *pub, uint8_t out[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)KEYID_DOMAIN,
	    KEYID_DOMAIN_LEN);
	crypto_generichash_update(&st, pub->sign_pk, IDENT_PK_LEN);
	crypto_generichash_update(&st, pub->box_pk, IDENT_PK_LEN);
	crypto_generichash_final(&st, out, 32);
}

void
ident_pub_set_keyid(struct ident_pub *pub)
{
	uint8_t h[32];

	ident_key_hash(pub, h);
	memcpy(pub->key_id, h, IDENT_KEYID_LEN);
}

void
ident_fingerprint(const struct ident_pub *pub, char out[IDENT_FPR_MAX])
{
	uint8_t h[32];
	char txt[FPR_CHARS + 1];
	size_t i, o = 0;

	ident_key_hash(pub, h);
	b32_encode(txt, h, FPR_BYTES);
	for (i = 0; i < FPR_CHARS; i++) {
		if (i > 0 && i % FPR_GROUP == 0)
			out[o++] = '-';
		out[o++] = txt[i];
	}
	out[o] = '\0';
}

/* Fills raw[0..KEYSTRING_SIGNED_LEN) from pub (key id as given). */
static void
keystring_raw(const struct ident_pub *pub, uint8_t raw[KEYSTRING_RAW_LEN])
{
	uint8_t h[32];
	size_t o = 0;

	raw[o++] = KEYSTRING_VERSION;
	memcpy(raw + o, pub->key_id, IDENT_KEYID_LEN);
	o += IDENT_KEYID_LEN;
	memcpy(raw + o, pub->sign_pk, IDENT_PK_LEN);
	o += IDENT_PK_LEN;
	memcpy(raw + o, pub->box_pk, IDENT_PK_LEN);
	o += IDENT_PK_LEN;
	crypto_generichash(h, 32, raw, o, NULL, 0);
	memcpy(raw + o, h, KEYSTRING_CKSUM_LEN);
}

void
ident_keystring(const struct ident_pub *pub, char out[IDENT_KEYSTRING_MAX])
{
	uint8_t raw[KEYSTRING_RAW_LEN];

	keystring_raw(pub, raw);
	memcpy(out, KEYSTRING_PREFIX, KEYSTRING_PREFIX_LEN);
	b32_encode(out + KEYSTRING_PREFIX_LEN, raw, KEYSTRING_RAW_LEN);
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

/*
 * Decodes exactly KEYSTRING_BODY_LEN base32 characters into raw.  `pos` is
 * the 1-based position of body[0] in the (trimmed) key string, for messages.
 */
static int
keystring_decode(const char *body, size_t pos, uint8_t raw[KEYSTRING_RAW_LEN],
    char *err)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i, o = 0;
	int v, r = MULE_EINTERNAL;
	unsigned char c;

	for (i = 0; i < KEYSTRING_BODY_LEN; i++) {
		c = (unsigned char)body[i];
		if ((v = b32_value((char)c)) < 0) {
			if (c > 0x20 && c < 0x7f)
				r = mule_errf(err, MULE_EKEYSTRING,
				    "key string has a bad character '%c' at "
				    "position %zu (only a-z and 2-7 are used)",
				    c, pos + i);
			else
				r = mule_errf(err, MULE_EKEYSTRING,
				    "key string has a bad character (byte "
				    "0x%02x) at position %zu", c, pos + i);
			goto out;
		}
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			raw[o++] = (uint8_t)(acc >> bits);
		}
		acc &= (1u << bits) - 1;
	}
	if (o != KEYSTRING_RAW_LEN) {
		r = mule_errf(err, MULE_EINTERNAL, "key string decoder length");
		goto out;
	}
	if (acc != 0) {
		r = mule_errf(err, MULE_EKEYSTRING,
		    "key string's last character is invalid: a character is "
		    "mistyped");
		goto out;
	}
	r = 0;
out:
	return r;
}

/*
 * Finds the body of key string s (white space around it ignored, the
 * prefix in any case): *body points at its KEYSTRING_BODY_LEN characters.
 */
static int
keystring_body(const char *s, const char **body, char *err)
{
	size_t start, end, len;
	int r = MULE_EINTERNAL;

	if (s == NULL) {
		r = mule_errf(err, MULE_EKEYSTRING, "key string is empty");
		goto out;
	}
	end = strlen(s);
	for (start = 0; start < end && is_space(s[start]); start++)
		;
	while (end > start && is_space(s[end - 1]))
		end--;
	len = end - start;
	if (len == 0) {
		r = mule_errf(err, MULE_EKEYSTRING, "key string is empty");
		goto out;
	}
	if (len < KEYSTRING_PREFIX_LEN || strncasecmp(s + start,
	    KEYSTRING_PREFIX, KEYSTRING_PREFIX_LEN) != 0) {
		r = mule_errf(err, MULE_EKEYSTRING,
		    "not a mule key string: it must start with \"%s\"",
		    KEYSTRING_PREFIX);
		goto out;
	}
	if (len - KEYSTRING_PREFIX_LEN != KEYSTRING_BODY_LEN) {
		r = mule_errf(err, MULE_EKEYSTRING,
		    "key string has %zu characters after \"%s\"; expected %d "
		    "(part of it is %s)", len - KEYSTRING_PREFIX_LEN,
		    KEYSTRING_PREFIX, KEYSTRING_BODY_LEN,
		    len - KEYSTRING_PREFIX_LEN < KEYSTRING_BODY_LEN ?
		    "missing" : "extra");
		goto out;
	}
	*body = s + start + KEYSTRING_PREFIX_LEN;
	r = 0;
out:
	return r;
}

int
ident_parse_keystring(const char *s, struct ident_pub *out, char *err)
{
	struct ident_pub pub;
	struct buf b;
	uint8_t raw[KEYSTRING_RAW_LEN], h[32], key_id[IDENT_KEYID_LEN];
	const uint8_t *cksum;
	const char *body = NULL;
	uint8_t version;
	int r = MULE_EINTERNAL;

	if ((r = keystring_body(s, &body, err)) != 0 ||
	    (r = keystring_decode(body, KEYSTRING_PREFIX_LEN + 1, raw,
	    err)) != 0)
		goto out;
	crypto_generichash(h, 32, raw, KEYSTRING_SIGNED_LEN, NULL, 0);
	buf_init_ro(&b, raw, sizeof(raw));
	if ((r = buf_get_u8(&b, &version)) != 0 ||
	    (r = buf_get_bytes(&b, key_id, IDENT_KEYID_LEN)) != 0 ||
	    (r = buf_get_bytes(&b, pub.sign_pk, IDENT_PK_LEN)) != 0 ||
	    (r = buf_get_bytes(&b, pub.box_pk, IDENT_PK_LEN)) != 0 ||
	    (r = buf_get_ptr(&b, KEYSTRING_CKSUM_LEN, &cksum)) != 0 ||
	    buf_avail(&b) != 0) {
		r = mule_errf(err, MULE_EINTERNAL, "key string layout");
		goto out;
	}
	if (sodium_memcmp(cksum, h, KEYSTRING_CKSUM_LEN) != 0) {
		r = mule_errf(err, MULE_EKEYSTRING,
		    "key string checksum does not match: a character is "
		    "mistyped");
		goto out;
	}
	if (version != KEYSTRING_VERSION) {
		r = mule_errf(err, MULE_EKEYSTRING,
		    "key string version %u is not supported (this mule reads "
		    "version %d)", version, KEYSTRING_VERSION);
		goto out;
	}
	ident_pub_set_keyid(&pub);
	if (sodium_memcmp(pub.key_id, key_id, IDENT_KEYID_LEN) != 0) {
		r = mule_errf(err, MULE_EKEYSTRING,
		    "key string's key id does not match its public keys");
		goto out;
	}
	if (crypto_core_ed25519_is_valid_point(pub.sign_pk) != 1) {
		r = mule_errf(err, MULE_EKEYSTRING,
		    "key string's signing key is not a valid public key");
		goto out;
	}
	*out = pub;
	r = 0;
out:
	return r;
}

/* A zeroed secret identity with its secret-key buffers allocated. */
static int
secret_new(struct ident_secret **out, char *err)
{
	struct ident_secret *s = NULL;
	int r = MULE_EINTERNAL;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->sign_sk = sodium_malloc(IDENT_SIGN_SK_LEN)) == NULL ||
	    (s->box_sk = sodium_malloc(IDENT_BOX_SK_LEN)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM,
		    "out of memory for secret keys");
		goto out;
	}
	*out = s;
	s = NULL;
	r = 0;
out:
	ident_secret_free(s);
	return r;
}

void
ident_secret_free(struct ident_secret *s)
{
	if (s == NULL)
		return;
	if (s->sign_sk != NULL)
		sodium_free(s->sign_sk);	/* wipes */
	if (s->box_sk != NULL)
		sodium_free(s->box_sk);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

int
ident_generate(const uint8_t site_id[IDENT_SITE_LEN],
    struct ident_secret **out, char *err)
{
	struct ident_secret *s = NULL;
	int r = MULE_EINTERNAL;

	if ((r = ident_lib_init()) != 0) {
		r = mule_errf(err, r, "cannot initialise libsodium");
		goto out;
	}
	if ((r = secret_new(&s, err)) != 0)
		goto out;
	memcpy(s->site_id, site_id, IDENT_SITE_LEN);
	if (crypto_sign_keypair(s->pub.sign_pk, s->sign_sk) != 0 ||
	    crypto_box_keypair(s->pub.box_pk, s->box_sk) != 0) {
		r = mule_errf(err, MULE_ECRYPTO, "cannot generate key pairs");
		goto out;
	}
	ident_pub_set_keyid(&s->pub);
	*out = s;
	s = NULL;
	r = 0;
out:
	ident_secret_free(s);
	return r;
}

/* The key file's body (KEYFILE_BODY_LEN bytes) from s into raw. */
static void
keyfile_body(const struct ident_secret *s, uint8_t *raw)
{
	size_t o = 0;

	memcpy(raw + o, s->site_id, IDENT_SITE_LEN);
	o += IDENT_SITE_LEN;
	memcpy(raw + o, s->sign_sk, IDENT_SIGN_SK_LEN);
	o += IDENT_SIGN_SK_LEN;
	memcpy(raw + o, s->box_sk, IDENT_BOX_SK_LEN);
	o += IDENT_BOX_SK_LEN;
	memcpy(raw + o, s->pub.box_pk, IDENT_PK_LEN);
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)(v & 0xff);
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* The secretbox key for `pass` with the salt and limits of a protected
 * key file's header `h` into key (crypto_secretbox_KEYBYTES). */
static int
keyfile_derive(const uint8_t *h, const char *pass, uint8_t *key, char *err)
{
	uint64_t ops = get_u64(h + KEYFILE_MAGIC_LEN + 1);
	uint64_t mem = get_u64(h + KEYFILE_MAGIC_LEN + 9);

	if (h[KEYFILE_MAGIC_LEN] != KEYFILE_PALG ||
	    ops < crypto_pwhash_OPSLIMIT_MIN ||
	    ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
	    mem < crypto_pwhash_MEMLIMIT_MIN ||
	    mem > crypto_pwhash_MEMLIMIT_SENSITIVE)
		return mule_errf(err, MULE_EFORMAT, "the key file's "
		    "passphrase parameters are not ones this mule uses");
	if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, pass, strlen(pass),
	    h + KEYFILE_MAGIC_LEN + 17, ops, (size_t)mem,
	    crypto_pwhash_ALG_ARGON2ID13) != 0)
		return mule_errf(err, MULE_ENOMEM, "not enough memory to "
		    "derive the key file's key from the passphrase");
	return 0;
}

/* A protected key file's bytes (KEYFILE_PLEN) for body under pass. */
static int
keyfile_seal(const uint8_t *body, const char *pass, uint8_t *raw, char *err)
{
	uint8_t *key = NULL;
	int r = MULE_EINTERNAL;

	memcpy(raw, KEYFILE_PMAGIC, KEYFILE_MAGIC_LEN);
	raw[KEYFILE_MAGIC_LEN] = KEYFILE_PALG;
	put_u64(raw + KEYFILE_MAGIC_LEN + 1,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE);
	put_u64(raw + KEYFILE_MAGIC_LEN + 9,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE);
	randombytes_buf(raw + KEYFILE_MAGIC_LEN + 17,
	    crypto_pwhash_SALTBYTES + crypto_secretbox_NONCEBYTES);
	if ((key = sodium_malloc(crypto_secretbox_KEYBYTES)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = keyfile_derive(raw, pass, key, err)) != 0)
		goto out;
	crypto_secretbox_easy(raw + KEYFILE_PHEAD_LEN, body, KEYFILE_BODY_LEN,
	    raw + KEYFILE_PHEAD_LEN - crypto_secretbox_NONCEBYTES, key);
	r = 0;
out:
	if (key != NULL)
		sodium_free(key);
	return r;
}

/*
 * libsodium ready, and the guarded buffer the key file's bytes and its
 * body go through: KEYFILE_MAX + KEYFILE_BODY_LEN bytes (sodium_free).
 */
static int
keyfile_buf(uint8_t **raw, char *err)
{
	int r;

	if ((r = ident_lib_init()) != 0)
		return mule_errf(err, r, "cannot initialise libsodium");
	if ((*raw = sodium_malloc(KEYFILE_MAX + KEYFILE_BODY_LEN)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

int
ident_write_keyfile_pass(const struct ident_secret *s, const char *path,
    const char *pass, int replace, char *err)
{
	uint8_t *raw = NULL;
	size_t len = KEYFILE_LEN;
	int r = MULE_EINTERNAL;

	if ((r = keyfile_buf(&raw, err)) != 0)
		goto out;
	if (pass == NULL || pass[0] == '\0') {
		memcpy(raw, KEYFILE_MAGIC, KEYFILE_MAGIC_LEN);
		keyfile_body(s, raw + KEYFILE_MAGIC_LEN);
	} else {
		/* The body goes after the file's bytes, then is sealed. */
		keyfile_body(s, raw + KEYFILE_MAX);
		if ((r = keyfile_seal(raw + KEYFILE_MAX, pass, raw, err)) != 0)
			goto out;
		len = KEYFILE_PLEN;
	}
	r = file_write_atomic(path, raw, len, 0600, !replace, err);
	if (r == MULE_EEXIST)
		r = mule_errf(err, r, "%s exists already; it is not "
		    "overwritten", path);
out:
	if (raw != NULL)
		sodium_free(raw);	/* wipes */
	return r;
}

int
ident_write_keyfile(const struct ident_secret *s, const char *path,
    char *err)
{
	return ident_write_keyfile_pass(s, path, NULL, 0, err);
}

/* Checks a key file's type, permissions and size from its stat. */
static int
keyfile_check_stat(const char *path, const struct stat *st, char *err)
{
	if (!S_ISREG(st->st_mode))
		return mule_errf(err, MULE_EFORMAT,
		    "key file %s is not a regular file", path);
	if ((st->st_mode & 077) != 0)
		return mule_errf(err, MULE_EKEYPERM,
		    "key file %s can be read or changed by others (mode "
		    "%04o); run: chmod 600 %s", path, (unsigned)(st->st_mode & 07777),
		    path);
	if (st->st_size != KEYFILE_LEN && st->st_size != KEYFILE_PLEN)
		return mule_errf(err, MULE_EFORMAT,
		    "%s is not a mule key file (%lld bytes; a key file has "
		    "%d, or %d with a passphrase)", path,
		    (long long)st->st_size, KEYFILE_LEN, KEYFILE_PLEN);
	return 0;
}

/*
 * Opens the key file at path for reading into *fdp, after checking it
 * (keyfile_check_stat) by name and again on the opened descriptor.
 */
static int
keyfile_open(const char *path, int *fdp, char *err)
{
	struct stat st, fst;
	int fd = -1, r = MULE_EINTERNAL;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			r = mule_errf(err, MULE_ENOTFOUND,
			    "key file %s does not exist: 'mule init' makes it "
			    "beside the database; if it is elsewhere, give it "
			    "with --key FILE (before the command)", path);
		else
			r = mule_errf(err, file_errno_code(errno),
			    "key file %s: %s", path, strerror(errno));
		goto out;
	}
	if ((r = keyfile_check_stat(path, &st, err)) != 0)
		goto out;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK))
	    < 0) {
		r = mule_errf(err, errno == ENOENT ? MULE_ENOTFOUND :
		    file_errno_code(errno), "open key file %s: %s", path,
		    strerror(errno));
		goto out;
	}
	/* Checked again on what we opened: the name may have changed. */
	if (fstat(fd, &fst) != 0) {
		r = mule_errf(err, MULE_EIO, "stat key file %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if ((r = keyfile_check_stat(path, &fst, err)) != 0)
		goto out;
	*fdp = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/*
 * Decodes the KEYFILE_BODY_LEN bytes at raw (a key file's body, after
 * its magic or unsealed) into s and checks that the keys
 * belong together (the signing key is its seed's, the X25519 public key
 * its secret key's).  `path` is for messages.
 */
static int
keyfile_decode(const char *path, const uint8_t *raw, struct ident_secret *s,
    char *err)
{
	struct buf b;
	uint8_t *scratch = NULL, box_pk[IDENT_PK_LEN], pk[IDENT_PK_LEN];
	int r = MULE_EINTERNAL;

	if ((scratch = sodium_malloc(crypto_sign_SEEDBYTES +
	    crypto_sign_SECRETKEYBYTES)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	buf_init_ro(&b, raw, KEYFILE_BODY_LEN);
	if ((r = buf_get_bytes(&b, s->site_id, IDENT_SITE_LEN)) != 0 ||
	    (r = buf_get_bytes(&b, s->sign_sk, IDENT_SIGN_SK_LEN)) != 0 ||
	    (r = buf_get_bytes(&b, s->box_sk, IDENT_BOX_SK_LEN)) != 0 ||
	    (r = buf_get_bytes(&b, box_pk, IDENT_PK_LEN)) != 0 ||
	    buf_avail(&b) != 0) {
		r = mule_errf(err, MULE_EFORMAT,
		    "%s is not a mule key file (bad size)", path);
		goto out;
	}
	/* The signing key must be the one its seed makes. */
	if (crypto_sign_ed25519_sk_to_seed(scratch, s->sign_sk) != 0 ||
	    crypto_sign_seed_keypair(pk, scratch + crypto_sign_SEEDBYTES,
	    scratch) != 0 ||
	    sodium_memcmp(scratch + crypto_sign_SEEDBYTES, s->sign_sk,
	    IDENT_SIGN_SK_LEN) != 0) {
		r = mule_errf(err, MULE_EFORMAT,
		    "key file %s is damaged: its signing key is inconsistent",
		    path);
		goto out;
	}
	if (crypto_sign_ed25519_sk_to_pk(s->pub.sign_pk, s->sign_sk) != 0 ||
	    crypto_scalarmult_base(pk, s->box_sk) != 0 ||
	    sodium_memcmp(pk, box_pk, IDENT_PK_LEN) != 0) {
		r = mule_errf(err, MULE_EFORMAT,
		    "key file %s is damaged: its encryption keys do not match",
		    path);
		goto out;
	}
	memcpy(s->pub.box_pk, box_pk, IDENT_PK_LEN);
	ident_pub_set_keyid(&s->pub);
	r = 0;
out:
	if (scratch != NULL)
		sodium_free(scratch);
	return r;
}

/*
 * The body of the key file whose `len` bytes are at raw, into body
 * (KEYFILE_BODY_LEN bytes): as it is, or unsealed with the passphrase
 * `fn` gives.
 */
static int
keyfile_unseal(const char *path, const uint8_t *raw, size_t len,
    ident_pass_fn fn, void *arg, uint8_t *body, char *err)
{
	uint8_t *key = NULL;
	char *pass = NULL;
	int r = MULE_EINTERNAL;

	if (len == KEYFILE_LEN &&
	    memcmp(raw, KEYFILE_MAGIC, KEYFILE_MAGIC_LEN) == 0) {
		memcpy(body, raw + KEYFILE_MAGIC_LEN, KEYFILE_BODY_LEN);
		r = 0;
		goto out;
	}
	if (len != KEYFILE_PLEN ||
	    memcmp(raw, KEYFILE_PMAGIC, KEYFILE_MAGIC_LEN) != 0) {
		r = mule_errf(err, MULE_EFORMAT,
		    "%s is not a mule key file (bad magic)", path);
		goto out;
	}
	if (fn == NULL) {
		r = mule_errf(err, MULE_EPASSPHRASE, "key file %s is "
		    "protected by a passphrase", path);
		goto out;
	}
	if ((pass = sodium_malloc(IDENT_PASS_MAX + 1)) == NULL ||
	    (key = sodium_malloc(crypto_secretbox_KEYBYTES)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	pass[0] = '\0';
	if ((r = fn(arg, path, pass, IDENT_PASS_MAX + 1, err)) != 0 ||
	    (r = keyfile_derive(raw, pass, key, err)) != 0)
		goto out;
	if (crypto_secretbox_open_easy(body, raw + KEYFILE_PHEAD_LEN,
	    KEYFILE_PLEN - KEYFILE_PHEAD_LEN, raw + KEYFILE_PHEAD_LEN -
	    crypto_secretbox_NONCEBYTES, key) != 0) {
		r = mule_errf(err, MULE_EPASSPHRASE, "wrong passphrase for "
		    "key file %s (or the file is damaged)", path);
		goto out;
	}
	r = 0;
out:
	if (pass != NULL)
		sodium_free(pass);
	if (key != NULL)
		sodium_free(key);
	return r;
}

/* Reads the whole key file at path (checked by keyfile_open) into raw
 * (KEYFILE_MAX bytes); its length in *len. */
static int
keyfile_load(const char *path, uint8_t *raw, size_t *len, char *err)
{
	uint8_t spare;
	size_t got = 0, more = 0;
	int fd = -1, r = MULE_EINTERNAL;

	if ((r = keyfile_open(path, &fd, err)) != 0 ||
	    (r = file_read_full(fd, raw, KEYFILE_MAX, &got, path, err)) != 0)
		goto out;
	/* One spare byte shows a file that grew since fstat. */
	if (got == KEYFILE_MAX && (r = file_read_full(fd, &spare, 1, &more,
	    path, err)) != 0)
		goto out;
	if ((got != KEYFILE_LEN && got != KEYFILE_PLEN) || more != 0) {
		r = mule_errf(err, MULE_EFORMAT,
		    "%s is not a mule key file (its size changed while "
		    "reading)", path);
		goto out;
	}
	*len = got;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int
ident_read_keyfile_pass(const char *path, ident_pass_fn fn, void *arg,
    struct ident_secret **out, char *err)
{
	struct ident_secret *s = NULL;
	uint8_t *raw = NULL;
	size_t len = 0;
	int r = MULE_EINTERNAL;

	/* The file's bytes, then its body. */
	if ((r = keyfile_buf(&raw, err)) != 0)
		goto out;
	if ((r = keyfile_load(path, raw, &len, err)) != 0 ||
	    (r = keyfile_unseal(path, raw, len, fn, arg, raw + KEYFILE_MAX,
	    err)) != 0 ||
	    (r = secret_new(&s, err)) != 0 ||
	    (r = keyfile_decode(path, raw + KEYFILE_MAX, s, err)) != 0)
		goto out;
	*out = s;
	s = NULL;
	r = 0;
out:
	ident_secret_free(s);
	if (raw != NULL)
		sodium_free(raw);
	return r;
}

int
ident_read_keyfile(const char *path, struct ident_secret **out, char *err)
{
	return ident_read_keyfile_pass(path, NULL, NULL, out, err);
}

int
ident_keyfile_protected(const char *path, char *err)
{
	uint8_t raw[KEYFILE_MAX];
	size_t len = 0;
	int r;

	if ((r = keyfile_load(path, raw, &len, err)) != 0)
		return r;
	r = len == KEYFILE_PLEN &&
	    memcmp(raw, KEYFILE_PMAGIC, KEYFILE_MAGIC_LEN) == 0;
	sodium_memzero(raw, sizeof(raw));
	return r;
}

int
ident_copy_keyfile(const char *path, const char *dst, char *err)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	int r = MULE_EINTERNAL;

	if ((raw = sodium_malloc(KEYFILE_MAX)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = keyfile_load(path, raw, &len, err)) != 0)
		goto out;
	r = file_write_atomic(dst, raw, len, 0600, 1, err);
	if (r == MULE_EEXIST)
		r = mule_errf(err, r, "%s exists already; it is not "
		    "overwritten", dst);
out:
	if (raw != NULL)
		sodium_free(raw);
	return r;
}
