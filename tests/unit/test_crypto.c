/* tests/unit/test_crypto.c — identities, key files, signatures, sealing. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/error.h"
#include "crypto/ident.h"
#include "crypto/seal.h"
#include "crypto/sig.h"

#define B32 "abcdefghijklmnopqrstuvwxyz234567"
#define KS_LEN 129		/* "mule1" + 124 */
#define CT_CHUNK (SEAL_CHUNK + SEAL_ABYTES)

/* ---- helpers ---------------------------------------------------------- */

static const uint8_t site_a[IDENT_SITE_LEN] = "site-a-site-a-aa";

static struct ident_secret *
new_ident(void)
{
	struct ident_secret *s = NULL;
	char err[MULE_ERRLEN] = "";

	assert_int_equal(ident_generate(site_a, &s, err), 0);
	assert_non_null(s);
	return s;
}

static void
hex_decode(const char *hex, uint8_t *out, size_t n)
{
	size_t i;
	unsigned v;

	assert_int_equal(strlen(hex), 2 * n);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* A growable output sink for seal callbacks; can fail on demand. */
struct sink {
	uint8_t *d;
	size_t len, cap;
	size_t calls;
	size_t fail_at_call;	/* 0: never fail */
};

static int
sink_out(void *arg, const uint8_t *p, size_t n)
{
	struct sink *k = arg;

	k->calls++;
	if (k->fail_at_call != 0 && k->calls == k->fail_at_call)
		return MULE_ENOSPACE;
	if (k->len + n > k->cap) {
		size_t c = k->cap ? k->cap : 1024;
		while (c < k->len + n)
			c *= 2;
		k->d = realloc(k->d, c);
		assert_non_null(k->d);
		k->cap = c;
	}
	if (n > 0)
		memcpy(k->d + k->len, p, n);
	k->len += n;
	return 0;
}

static void
sink_free(struct sink *k)
{
	free(k->d);
	memset(k, 0, sizeof(*k));
}

static size_t
piece_len(int mode, size_t left)
{
	size_t n;

	switch (mode) {
	case 0:
		n = left;			/* all at once */
		break;
	case 1:
		n = 1 + randombytes_uniform(70000);	/* random pieces */
		break;
	case 2:
		n = 1 + randombytes_uniform(13);	/* small pieces */
		break;
	default:
		n = 4096;
		break;
	}
	return n < left ? n : left;
}

/* A sealed stream, kept as its parts. */
struct sealed {
	uint8_t keybox[3][SEAL_KEYBOX_LEN];
	uint8_t hdr[SEAL_HEADER_LEN];
	struct sink ct;
};

static void
seal_buf(struct ident_secret **to, size_t nto, const uint8_t *pt, size_t n,
    int mode, struct sealed *out)
{
	struct seal_enc e;
	size_t i, off = 0, k;

	memset(out, 0, sizeof(*out));
	assert_int_equal(seal_enc_init(&e, sink_out, &out->ct), 0);
	for (i = 0; i < nto; i++)
		assert_int_equal(seal_enc_keybox(&e, &to[i]->pub,
		    out->keybox[i]), 0);
	assert_int_equal(seal_enc_header(&e, out->hdr), 0);
	while (off < n) {
		k = piece_len(mode, n - off);
		assert_int_equal(seal_enc_update(&e, pt + off, k), 0);
		off += k;
	}
	assert_int_equal(seal_enc_final(&e), 0);
	seal_enc_release(&e);
}

/*
 * Decrypts ct[0..n) as recipient `me` with keybox `kb`; returns the first
 * error (or 0), plaintext into *pt.
 */
static int
unseal_buf(const struct ident_secret *me, const uint8_t *kb,
    const uint8_t *hdr, const uint8_t *ct, size_t n, int mode,
    struct sink *pt)
{
	struct seal_dec d;
	size_t off = 0, k;
	int r;

	memset(pt, 0, sizeof(*pt));
	if ((r = seal_dec_init(&d, me, kb, sink_out, pt)) != 0)
		return r;
	if ((r = seal_dec_header(&d, hdr)) != 0)
		goto out;
	while (off < n) {
		k = piece_len(mode, n - off);
		if ((r = seal_dec_update(&d, ct + off, k)) != 0)
			goto out;
		off += k;
	}
	r = seal_dec_final(&d);
out:
	seal_dec_release(&d);
	return r;
}

static size_t
sealed_len(size_t n)
{
	return n + (n / SEAL_CHUNK + 1) * SEAL_ABYTES;
}

/* ---- key strings ------------------------------------------------------ */

static void
test_keystring_roundtrip(void **state)
{
	struct ident_secret *s = new_ident();
	struct ident_pub p;
	char ks[IDENT_KEYSTRING_MAX], padded[IDENT_KEYSTRING_MAX + 16];
	char err[MULE_ERRLEN] = "";
	size_t i;

	(void)state;
	ident_keystring(&s->pub, ks);
	assert_int_equal(strlen(ks), KS_LEN);
	assert_memory_equal(ks, "mule1", 5);
	for (i = 5; i < KS_LEN; i++)
		assert_non_null(strchr(B32, ks[i]));
	memset(&p, 0xaa, sizeof(p));
	assert_int_equal(ident_parse_keystring(ks, &p, err), 0);
	assert_memory_equal(&p, &s->pub, sizeof(p));

	snprintf(padded, sizeof(padded), " \t\n%s \r\n", ks);
	memset(&p, 0, sizeof(p));
	assert_int_equal(ident_parse_keystring(padded, &p, err), 0);
	assert_memory_equal(&p, &s->pub, sizeof(p));
	ident_secret_free(s);
}

/* Fixed keys, expected values computed independently (Python hashlib). */
static void
test_keystring_known_answer(void **state)
{
	static const char want_ks[] = "mule1ag3u6gwfxuwxr4idued3746occ7b24g5"
	    "ddtuxqezm7snmme3uugv6ho4qzsbevjrxb42mmpo3yn7tsmpcibszxvn2dt2a6"
	    "jzr7dynoemzbdozcnpqwsrvcgmlfea";
	struct ident_pub pub, p;
	uint8_t kid[IDENT_KEYID_LEN];
	char ks[IDENT_KEYSTRING_MAX], fpr[IDENT_FPR_MAX];
	char err[MULE_ERRLEN] = "";

	(void)state;
	memset(&pub, 0, sizeof(pub));
	hex_decode("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc866412"
	    "5531b8", pub.sign_pk, IDENT_PK_LEN);
	hex_decode("79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af"
	    "85a51a", pub.box_pk, IDENT_PK_LEN);
	hex_decode("b74f1ac5bd2d78f1", kid, IDENT_KEYID_LEN);
	ident_pub_set_keyid(&pub);
	assert_memory_equal(pub.key_id, kid, IDENT_KEYID_LEN);
	ident_keystring(&pub, ks);
	assert_string_equal(ks, want_ks);
	ident_fingerprint(&pub, fpr);
	assert_string_equal(fpr, "w5hr-vrn5-fv4p-d4kx-4sv6-6sdq-vksy-5jdq-"
	    "dkfo-cdcg");
	assert_int_equal(ident_parse_keystring(want_ks, &p, err), 0);
	assert_memory_equal(&p, &pub, sizeof(p));
}

static void
test_keystring_every_substitution(void **state)
{
	struct ident_secret *s = new_ident();
	struct ident_pub p;
	char ks[IDENT_KEYSTRING_MAX], bad[IDENT_KEYSTRING_MAX];
	char err[MULE_ERRLEN];
	size_t i, j, tried = 0;

	(void)state;
	ident_keystring(&s->pub, ks);
	for (i = 5; i < KS_LEN; i++) {
		for (j = 0; j < 32; j++) {
			if (B32[j] == ks[i])
				continue;
			memcpy(bad, ks, sizeof(bad));
			bad[i] = B32[j];
			err[0] = '\0';
			memset(&p, 0x5a, sizeof(p));
			assert_int_equal(ident_parse_keystring(bad, &p, err),
			    MULE_EKEYSTRING);
			assert_true(strlen(err) > 10);
			/* untouched on failure */
			assert_int_equal(p.key_id[0], 0x5a);
			tried++;
		}
	}
	assert_int_equal(tried, (KS_LEN - 5) * 31);

	/* A changed middle character is a checksum mismatch. */
	memcpy(bad, ks, sizeof(bad));
	bad[60] = bad[60] == 'a' ? 'b' : 'a';
	assert_int_equal(ident_parse_keystring(bad, &p, err), MULE_EKEYSTRING);
	assert_non_null(strstr(err, "checksum"));

	/* The last character's 4 pad bits must be zero. */
	memcpy(bad, ks, sizeof(bad));
	bad[KS_LEN - 1] = B32[(strchr(B32, bad[KS_LEN - 1]) - B32) ^ 1];
	assert_int_equal(ident_parse_keystring(bad, &p, err), MULE_EKEYSTRING);
	assert_non_null(strstr(err, "last character"));
	ident_secret_free(s);
}

static void
test_keystring_upper_case(void **state)
{
	struct ident_secret *s = new_ident();
	struct ident_pub p;
	char ks[IDENT_KEYSTRING_MAX];
	char err[MULE_ERRLEN] = "";
	size_t i;

	(void)state;
	ident_keystring(&s->pub, ks);
	for (i = 0; ks[i] != '\0'; i++)
		if (ks[i] >= 'a' && ks[i] <= 'z')
			ks[i] = (char)(ks[i] - 'a' + 'A');
	assert_memory_equal(ks, "MULE1", 5);
	assert_int_equal(ident_parse_keystring(ks, &p, err), 0);
	assert_memory_equal(&p, &s->pub, sizeof(p));
	ident_secret_free(s);
}

static void
expect_bad_keystring(const char *ks, const char *needle)
{
	struct ident_pub p;
	char err[MULE_ERRLEN] = "";

	memset(&p, 0x77, sizeof(p));
	assert_int_equal(ident_parse_keystring(ks, &p, err), MULE_EKEYSTRING);
	if (strstr(err, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err, needle);
	assert_int_equal(p.sign_pk[0], 0x77);
}

static void
test_keystring_rejects(void **state)
{
	struct ident_secret *s = new_ident();
	struct ident_pub pub;
	char ks[IDENT_KEYSTRING_MAX], bad[IDENT_KEYSTRING_MAX + 8];

	(void)state;
	ident_keystring(&s->pub, ks);

	expect_bad_keystring("", "empty");
	expect_bad_keystring("   \n", "empty");
	memcpy(bad, ks, sizeof(ks));
	bad[4] = '2';				/* mule2... */
	expect_bad_keystring(bad, "start with");
	memcpy(bad, ks, sizeof(ks));
	bad[0] = 'x';
	expect_bad_keystring(bad, "start with");
	expect_bad_keystring(ks + 1, "start with");
	expect_bad_keystring("mule", "start with");

	memcpy(bad, ks, sizeof(ks));
	bad[KS_LEN - 1] = '\0';			/* one short */
	expect_bad_keystring(bad, "missing");
	snprintf(bad, sizeof(bad), "%sa", ks);	/* one extra */
	expect_bad_keystring(bad, "extra");
	expect_bad_keystring("mule1", "missing");
	snprintf(bad, sizeof(bad), "%.64s %s", ks, ks + 64);	/* inner space */
	expect_bad_keystring(bad, "extra");

	memcpy(bad, ks, sizeof(ks));
	bad[20] = '0';
	expect_bad_keystring(bad, "bad character '0' at position 21");
	bad[20] = '\x01';
	expect_bad_keystring(bad, "0x01");
	memcpy(bad, ks, sizeof(ks));
	bad[KS_LEN - 1] = '=';
	expect_bad_keystring(bad, "bad character");

	/* Valid checksum, but a key id that is not the keys'. */
	pub = s->pub;
	pub.key_id[3] ^= 0x10;
	ident_keystring(&pub, bad);
	expect_bad_keystring(bad, "key id");

	/* Valid checksum over version 2 (computed with Python). */
	expect_bad_keystring("mule1ak3u6gwfxuwxr4idued3746occ7b24g5ddtuxqezm7"
	    "snmme3uugv6ho4qzsbevjrxb42mmpo3yn7tsmpcibszxvn2dt2a6jzr7dynoemz"
	    "bdozcnpqwsrvcmjfk6q", "version 2");
	ident_secret_free(s);
}

static void
test_fingerprint(void **state)
{
	struct ident_secret *a = new_ident(), *b = new_ident();
	char fa[IDENT_FPR_MAX], fa2[IDENT_FPR_MAX], fb[IDENT_FPR_MAX];
	size_t i;

	(void)state;
	ident_fingerprint(&a->pub, fa);
	ident_fingerprint(&a->pub, fa2);
	ident_fingerprint(&b->pub, fb);
	assert_int_equal(strlen(fa), 10 * 4 + 9);
	for (i = 0; i < strlen(fa); i++) {
		if (i % 5 == 4)
			assert_int_equal(fa[i], '-');
		else
			assert_non_null(strchr(B32, fa[i]));
	}
	assert_string_equal(fa, fa2);
	assert_string_not_equal(fa, fb);
	ident_secret_free(a);
	ident_secret_free(b);
}

/* ---- key files -------------------------------------------------------- */

struct tmpdir {
	char dir[64];
	char key[128];
};

static void
tmpdir_make(struct tmpdir *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/mule-test-crypto.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->key, sizeof(t->key), "%s/db.mule-key", t->dir);
}

static void
tmpdir_remove(struct tmpdir *t)
{
	unlink(t->key);
	assert_int_equal(rmdir(t->dir), 0);
}

static void
write_raw(const char *path, const void *p, size_t n, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void
read_raw(const char *path, uint8_t *p, size_t n)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(read(fd, p, n), (ssize_t)n);
	close(fd);
}

static void
test_keyfile_roundtrip(void **state)
{
	struct ident_secret *s = new_ident(), *t = NULL;
	struct tmpdir td;
	struct stat st;
	struct sig_ctx c;
	uint8_t sig[SIG_LEN];
	char err[MULE_ERRLEN] = "";

	(void)state;
	tmpdir_make(&td);
	assert_int_equal(ident_write_keyfile(s, td.key, err), 0);
	assert_int_equal(stat(td.key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 152);

	assert_int_equal(ident_read_keyfile(td.key, &t, err), 0);
	assert_non_null(t);
	assert_memory_equal(&t->pub, &s->pub, sizeof(s->pub));
	assert_memory_equal(t->site_id, s->site_id, IDENT_SITE_LEN);
	assert_memory_equal(t->sign_sk, s->sign_sk, IDENT_SIGN_SK_LEN);
	assert_memory_equal(t->box_sk, s->box_sk, IDENT_BOX_SK_LEN);

	/* The key read back signs what the original public key verifies. */
	sig_init(&c);
	sig_update(&c, "hello", 5);
	assert_int_equal(sig_sign(&c, t, sig), 0);
	sig_init(&c);
	sig_update(&c, "hello", 5);
	assert_int_equal(sig_verify(&c, &s->pub, sig), 0);

	ident_secret_free(t);
	ident_secret_free(s);
	tmpdir_remove(&td);
}

static void
test_keyfile_no_overwrite(void **state)
{
	struct ident_secret *s = new_ident(), *s2 = new_ident(), *t = NULL;
	struct tmpdir td;
	char err[MULE_ERRLEN] = "";

	(void)state;
	tmpdir_make(&td);
	assert_int_equal(ident_write_keyfile(s, td.key, err), 0);
	assert_int_equal(ident_write_keyfile(s2, td.key, err), MULE_EEXIST);
	assert_non_null(strstr(err, td.key));
	assert_int_equal(ident_read_keyfile(td.key, &t, err), 0);
	assert_memory_equal(&t->pub, &s->pub, sizeof(s->pub));
	ident_secret_free(t);
	ident_secret_free(s);
	ident_secret_free(s2);
	tmpdir_remove(&td);
}

static void
test_keyfile_permissions(void **state)
{
	struct ident_secret *s = new_ident(), *t = NULL;
	struct tmpdir td;
	char err[MULE_ERRLEN] = "";
	static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0620, 0602 };
	size_t i;

	(void)state;
	tmpdir_make(&td);
	assert_int_equal(ident_write_keyfile(s, td.key, err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(td.key, bad[i]), 0);
		err[0] = '\0';
		assert_int_equal(ident_read_keyfile(td.key, &t, err),
		    MULE_EKEYPERM);
		assert_null(t);
		assert_non_null(strstr(err, "chmod 600"));
		assert_non_null(strstr(err, td.key));
	}
	assert_int_equal(chmod(td.key, 0644), 0);
	assert_int_equal(ident_read_keyfile(td.key, &t, err), MULE_EKEYPERM);
	assert_non_null(strstr(err, "0644"));
	assert_int_equal(chmod(td.key, 0400), 0);
	assert_int_equal(ident_read_keyfile(td.key, &t, err), 0);
	assert_non_null(t);
	ident_secret_free(t);
	ident_secret_free(s);
	tmpdir_remove(&td);
}

static void
expect_keyfile(const char *path, int code)
{
	struct ident_secret *t = NULL;
	char err[MULE_ERRLEN] = "";

	assert_int_equal(ident_read_keyfile(path, &t, err), code);
	assert_null(t);
	assert_non_null(strstr(err, path));
}

static void
test_keyfile_garbage(void **state)
{
	struct ident_secret *s = new_ident();
	struct tmpdir td;
	uint8_t good[152], raw[200];
	char err[MULE_ERRLEN] = "";

	(void)state;
	tmpdir_make(&td);
	expect_keyfile(td.key, MULE_ENOTFOUND);

	randombytes_buf(raw, sizeof(raw));
	write_raw(td.key, raw, 152, 0600);	/* right size, bad magic */
	expect_keyfile(td.key, MULE_EFORMAT);
	write_raw(td.key, raw, 0, 0600);	/* empty */
	expect_keyfile(td.key, MULE_EFORMAT);
	write_raw(td.key, raw, 200, 0600);	/* too long */
	expect_keyfile(td.key, MULE_EFORMAT);
	memcpy(raw, "MULEKEY1", 8);
	write_raw(td.key, raw, 152, 0600);	/* magic, random keys */
	expect_keyfile(td.key, MULE_EFORMAT);

	unlink(td.key);
	assert_int_equal(ident_write_keyfile(s, td.key, err), 0);
	read_raw(td.key, good, sizeof(good));
	write_raw(td.key, good, 151, 0600);	/* truncated */
	expect_keyfile(td.key, MULE_EFORMAT);
	memcpy(raw, good, 152);
	raw[151] ^= 1;				/* box pk */
	write_raw(td.key, raw, 152, 0600);
	expect_keyfile(td.key, MULE_EFORMAT);
	memcpy(raw, good, 152);
	raw[8 + 16 + 40] ^= 1;			/* sign sk's public half */
	write_raw(td.key, raw, 152, 0600);
	expect_keyfile(td.key, MULE_EFORMAT);
	memcpy(raw, good, 152);
	raw[3] = 'x';				/* magic */
	write_raw(td.key, raw, 152, 0600);
	expect_keyfile(td.key, MULE_EFORMAT);

	/* A directory is not a key file. */
	unlink(td.key);
	assert_int_equal(mkdir(td.key, 0700), 0);
	expect_keyfile(td.key, MULE_EFORMAT);
	assert_int_equal(rmdir(td.key), 0);

	ident_secret_free(s);
	tmpdir_remove(&td);
}

/* An ident_pass_fn giving the string at arg. */
static int
give_pass(void *arg, const char *path, char *buf, size_t size, char *err)
{
	(void)path;
	(void)err;
	snprintf(buf, size, "%s", (const char *)arg);
	return 0;
}

static void
test_keyfile_passphrase(void **state)
{
	struct ident_secret *s = new_ident(), *t = NULL;
	struct tmpdir td;
	struct stat st;
	uint8_t raw[225];
	char err[MULE_ERRLEN] = "";

	(void)state;
	tmpdir_make(&td);
	assert_int_equal(ident_write_keyfile_pass(s, td.key, "correct horse",
	    0, err), 0);
	assert_int_equal(stat(td.key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 225);
	assert_int_equal(ident_keyfile_protected(td.key, err), 1);
	/* No passphrase, a wrong one: refused, nothing read. */
	assert_int_equal(ident_read_keyfile(td.key, &t, err),
	    MULE_EPASSPHRASE);
	assert_non_null(strstr(err, "protected by a passphrase"));
	assert_int_equal(ident_read_keyfile_pass(td.key, give_pass,
	    "correct horsf", &t, err), MULE_EPASSPHRASE);
	assert_non_null(strstr(err, "wrong passphrase"));
	assert_null(t);
	assert_int_equal(ident_read_keyfile_pass(td.key, give_pass,
	    "correct horse", &t, err), 0);
	assert_memory_equal(&t->pub, &s->pub, sizeof(s->pub));
	assert_memory_equal(t->sign_sk, s->sign_sk, IDENT_SIGN_SK_LEN);
	assert_memory_equal(t->box_sk, s->box_sk, IDENT_BOX_SK_LEN);
	ident_secret_free(t);
	t = NULL;
	/* A flipped byte of the sealed body fails like a wrong passphrase. */
	read_raw(td.key, raw, sizeof(raw));
	raw[200] ^= 1;
	write_raw(td.key, raw, sizeof(raw), 0600);
	assert_int_equal(ident_read_keyfile_pass(td.key, give_pass,
	    "correct horse", &t, err), MULE_EPASSPHRASE);
	/* Absurd limits are refused before any work. */
	raw[200] ^= 1;
	raw[9 + 8] = 0xff;
	write_raw(td.key, raw, sizeof(raw), 0600);
	assert_int_equal(ident_read_keyfile_pass(td.key, give_pass,
	    "correct horse", &t, err), MULE_EFORMAT);
	/* Replaced by an unprotected one. */
	assert_int_equal(ident_write_keyfile_pass(s, td.key, NULL, 0, err),
	    MULE_EEXIST);
	assert_int_equal(ident_write_keyfile_pass(s, td.key, NULL, 1, err),
	    0);
	assert_int_equal(ident_keyfile_protected(td.key, err), 0);
	assert_int_equal(ident_read_keyfile(td.key, &t, err), 0);
	ident_secret_free(t);
	ident_secret_free(s);
	tmpdir_remove(&td);
}

/* ---- signatures ------------------------------------------------------- */

static void
feed_random_pieces(struct sig_ctx *c, const uint8_t *p, size_t n)
{
	size_t off = 0, k;

	sig_init(c);
	while (off < n) {
		k = piece_len(randombytes_uniform(3), n - off);
		sig_update(c, p + off, k);
		off += k;
	}
}

static void
test_sig_roundtrip(void **state)
{
	struct ident_secret *s = new_ident(), *o = new_ident();
	struct sig_ctx c;
	size_t n = 300001;
	uint8_t *d = malloc(n), sig[SIG_LEN], sig2[SIG_LEN];

	(void)state;
	assert_non_null(d);
	randombytes_buf(d, n);
	feed_random_pieces(&c, d, n);
	assert_int_equal(sig_sign(&c, s, sig), 0);
	feed_random_pieces(&c, d, n);
	assert_int_equal(sig_verify(&c, &s->pub, sig), 0);
	/* Deterministic: different pieces, same signature. */
	feed_random_pieces(&c, d, n);
	assert_int_equal(sig_sign(&c, s, sig2), 0);
	assert_memory_equal(sig, sig2, SIG_LEN);
	/* Wrong key. */
	feed_random_pieces(&c, d, n);
	assert_int_equal(sig_verify(&c, &o->pub, sig), MULE_EVERIFY);
	/* Fewer bytes. */
	feed_random_pieces(&c, d, n - 1);
	assert_int_equal(sig_verify(&c, &s->pub, sig), MULE_EVERIFY);
	/* Empty input signs and verifies too. */
	sig_init(&c);
	assert_int_equal(sig_sign(&c, s, sig2), 0);
	sig_init(&c);
	assert_int_equal(sig_verify(&c, &s->pub, sig2), 0);
	sig_init(&c);
	sig_update(&c, "", 0);
	sig_update(&c, d, 1);
	assert_int_equal(sig_verify(&c, &s->pub, sig2), MULE_EVERIFY);
	free(d);
	ident_secret_free(s);
	ident_secret_free(o);
}

static void
test_sig_bitflips(void **state)
{
	struct ident_secret *s = new_ident();
	struct sig_ctx c;
	size_t n = 5000, i, bit;
	uint8_t *d = malloc(n), sig[SIG_LEN];

	(void)state;
	assert_non_null(d);
	randombytes_buf(d, n);
	sig_init(&c);
	sig_update(&c, d, n);
	assert_int_equal(sig_sign(&c, s, sig), 0);
	for (i = 0; i < 200; i++) {
		bit = i == 0 ? 0 : i == 1 ? n * 8 - 1 :
		    randombytes_uniform((uint32_t)(n * 8));
		d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		feed_random_pieces(&c, d, n);
		assert_int_equal(sig_verify(&c, &s->pub, sig), MULE_EVERIFY);
		d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (bit = 0; bit < SIG_LEN * 8; bit++) {
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		sig_init(&c);
		sig_update(&c, d, n);
		assert_int_equal(sig_verify(&c, &s->pub, sig), MULE_EVERIFY);
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	sig_init(&c);
	sig_update(&c, d, n);
	assert_int_equal(sig_verify(&c, &s->pub, sig), 0);
	free(d);
	ident_secret_free(s);
}

/* Feeds p[0..n) in random pieces into a context started threaded. */
static void
feed_threaded(struct sig_ctx *c, const uint8_t *p, size_t n, int mode)
{
	size_t off = 0, k;

	assert_int_equal(sig_init_threaded(c), 0);
	while (off < n) {
		k = piece_len(mode, n - off);
		sig_update(c, p + off, k);
		off += k;
	}
}

/*
 * The hash in a second thread signs exactly what the inline hash signs,
 * at every size around the ring's buffers (no thread, one buffer, the
 * ring wrapping several times), fed in any pieces; a changed byte or a
 * missing one still fails.
 */
static void
test_sig_threaded_same(void **state)
{
	static const size_t sizes[] = { 0, 1, SIG_RING_BUF - 1, SIG_RING_BUF,
	    SIG_RING_BUF + 1, SIG_RING_BUFS * SIG_RING_BUF,
	    3 * SIG_RING_BUFS * SIG_RING_BUF + 12345 };
	struct ident_secret *s = new_ident();
	struct sig_ctx c;
	size_t n = 3 * SIG_RING_BUFS * SIG_RING_BUF + 12345, i, bit;
	uint8_t *d = malloc(n), want[SIG_LEN], got[SIG_LEN];
	int mode;

	(void)state;
	assert_non_null(d);
	randombytes_buf(d, n);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		sig_init(&c);
		sig_update(&c, d, sizes[i]);
		assert_int_equal(sig_sign(&c, s, want), 0);
		for (mode = 0; mode < 4; mode++) {
			if (mode == 2 && sizes[i] > 2 * SIG_RING_BUF)
				continue;	/* tiny pieces: slow, nothing new */
			feed_threaded(&c, d, sizes[i], mode);
			assert_int_equal(sig_sign(&c, s, got), 0);
			assert_memory_equal(got, want, SIG_LEN);
			feed_threaded(&c, d, sizes[i], mode);
			assert_int_equal(sig_verify(&c, &s->pub, want), 0);
		}
		if (sizes[i] == 0)
			continue;
		bit = randombytes_uniform((uint32_t)(sizes[i] * 8));
		d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		feed_threaded(&c, d, sizes[i], 1);
		assert_int_equal(sig_verify(&c, &s->pub, want), MULE_EVERIFY);
		d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		feed_threaded(&c, d, sizes[i] - 1, 1);
		assert_int_equal(sig_verify(&c, &s->pub, want), MULE_EVERIFY);
	}
	free(d);
	ident_secret_free(s);
}

/*
 * Bytes built in the room sig_reserve gives and fed from there sign
 * exactly what the inline hash signs, mixed with copied pieces, at any
 * size up to a whole ring buffer, with rooms used only in part or not at
 * all; an inline context or a room larger than a buffer gets NULL.
 */
static void
test_sig_reserve_same(void **state)
{
	struct ident_secret *s = new_ident();
	struct sig_ctx c;
	size_t n = 3 * SIG_RING_BUFS * SIG_RING_BUF + 12345, off, k, used;
	uint8_t *d = malloc(n), *p, *q, want[SIG_LEN], got[SIG_LEN];
	int round;

	(void)state;
	assert_non_null(d);
	randombytes_buf(d, n);
	sig_init(&c);
	assert_null(sig_reserve(&c, 1));	/* inline: no ring */
	sig_update(&c, d, n);
	assert_int_equal(sig_sign(&c, s, want), 0);
	for (round = 0; round < 4; round++) {
		assert_int_equal(sig_init_threaded(&c), 0);
		assert_null(sig_reserve(&c, SIG_RING_BUF + 1));
		for (off = 0; off < n; off += used) {
			k = round == 3 ? SIG_RING_BUF :
			    1 + randombytes_uniform(round == 0 ? 70000 :
			    SIG_RING_BUF);
			if (k > n - off)
				k = n - off;
			if (round == 1 && randombytes_uniform(3) == 0) {
				sig_update(&c, d + off, k);	/* a copy */
				used = k;
				continue;
			}
			assert_non_null(p = sig_reserve(&c, k));
			/* A room not fed yet is offered again. */
			if (randombytes_uniform(4) == 0) {
				q = sig_reserve(&c, k);
				assert_ptr_equal(p, q);
			}
			used = round == 2 ? 1 + randombytes_uniform(
			    (uint32_t)k) : k;
			memcpy(p, d + off, used);
			sig_update(&c, p, used);
		}
		assert_int_equal(sig_sign(&c, s, got), 0);
		assert_memory_equal(got, want, SIG_LEN);
		assert_null(c.w);
	}
	/* A room reserved and abandoned: released cleanly (ASan). */
	assert_int_equal(sig_init_threaded(&c), 0);
	sig_update(&c, d, 2 * SIG_RING_BUF);
	assert_non_null(p = sig_reserve(&c, SIG_RING_BUF));
	memset(p, 0xa5, SIG_RING_BUF);
	sig_release(&c);
	assert_null(c.w);
	free(d);
	ident_secret_free(s);
}

/*
 * An abandoned threaded context is released (the thread ended, nothing
 * leaked: ASan checks), whether its thread started or not; sig_release
 * is fine twice, after a signature and on an inline context.
 */
static void
test_sig_threaded_release(void **state)
{
	struct ident_secret *s = new_ident();
	struct sig_ctx c;
	size_t n = 2 * SIG_RING_BUFS * SIG_RING_BUF + 1;
	uint8_t *d = malloc(n), sig[SIG_LEN];

	(void)state;
	assert_non_null(d);
	randombytes_buf(d, n);
	feed_threaded(&c, d, n, 1);	/* the thread runs */
	sig_release(&c);
	assert_null(c.w);
	sig_release(&c);
	feed_threaded(&c, d, 100, 0);	/* no thread yet */
	sig_release(&c);
	assert_null(c.w);
	feed_threaded(&c, d, n, 0);
	assert_int_equal(sig_sign(&c, s, sig), 0);
	assert_null(c.w);
	sig_release(&c);
	sig_init(&c);
	sig_update(&c, d, 10);
	sig_release(&c);
	free(d);
	ident_secret_free(s);
}

static void
test_sig_hash(void **state)
{
	uint8_t h[64], want[64];

	(void)state;
	hex_decode("786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f7"
	    "1f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701af"
	    "e9be2ce", want, 64);
	sig_hash(h, 64, "", 0);
	assert_memory_equal(h, want, 64);
	hex_decode("bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068"
	    "d52319", want, 32);
	sig_hash(h, 32, "abc", 3);
	assert_memory_equal(h, want, 32);
	sig_hash(h, 16, "abc", 3);
	assert_memory_not_equal(h, want, 16);	/* length is in the hash */
}

/* ---- sealing ---------------------------------------------------------- */

/* A placement callback with one room; counts where chunks were built. */
struct placer {
	struct sink ct;		/* first: sink_out gets it */
	uint8_t room[CT_CHUNK];
	size_t asked, placed, in_room;
	int every;		/* give the room to every `every`th chunk */
	uint8_t *last;
};

static uint8_t *
placer_place(void *arg, size_t n)
{
	struct placer *pl = arg;

	assert_true(n >= SEAL_ABYTES && n <= CT_CHUNK);
	pl->asked++;
	pl->last = pl->asked % (size_t)pl->every == 0 ? pl->room : NULL;
	if (pl->last != NULL)
		pl->placed++;
	return pl->last;
}

static int
placer_out(void *arg, const uint8_t *p, size_t n)
{
	struct placer *pl = arg;

	/* Built in the room when the room was given, elsewhere if not. */
	if (pl->last != NULL) {
		assert_ptr_equal(p, pl->room);
		pl->in_room++;
	} else
		assert_true(p != pl->room);
	return sink_out(&pl->ct, p, n);
}

/*
 * With a placement callback each chunk is encrypted where it says (or in
 * the encoder's buffer when it says NULL) and handed to the output at that
 * place; the stream is the same format: it decrypts to the plaintext.
 */
static void
test_seal_place(void **state)
{
	static const size_t sizes[] = { 0, 1, 65536, 3 * 65536 + 7 };
	struct ident_secret *r = new_ident();
	struct placer *pl = calloc(1, sizeof(*pl));
	struct seal_enc e;
	uint8_t kb[SEAL_KEYBOX_LEN], hdr[SEAL_HEADER_LEN];
	uint8_t *d = malloc(3 * 65536 + 7);
	struct sink pt;
	size_t si, chunks;
	int every;

	(void)state;
	assert_non_null(pl);
	assert_non_null(d);
	randombytes_buf(d, 3 * 65536 + 7);
	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		for (every = 1; every <= 2; every++) {
			memset(pl, 0, sizeof(*pl));
			pl->every = every;
			assert_int_equal(seal_enc_init(&e, placer_out, pl), 0);
			seal_enc_place(&e, placer_place);
			assert_int_equal(seal_enc_keybox(&e, &r->pub, kb), 0);
			assert_int_equal(seal_enc_header(&e, hdr), 0);
			assert_int_equal(seal_enc_update(&e, d, sizes[si]), 0);
			assert_int_equal(seal_enc_final(&e), 0);
			seal_enc_release(&e);
			chunks = sizes[si] / SEAL_CHUNK + 1;
			assert_int_equal(pl->asked, chunks);
			assert_int_equal(pl->in_room, pl->placed);
			assert_int_equal(pl->placed, chunks / (size_t)every);
			assert_int_equal(pl->ct.len, sealed_len(sizes[si]));
			assert_int_equal(unseal_buf(r, kb, hdr, pl->ct.d,
			    pl->ct.len, 1, &pt), 0);
			assert_int_equal(pt.len, sizes[si]);
			if (sizes[si] > 0)
				assert_memory_equal(pt.d, d, sizes[si]);
			sink_free(&pt);
			sink_free(&pl->ct);
		}
	}
	free(d);
	free(pl);
	ident_secret_free(r);
}

static void
test_seal_roundtrips(void **state)
{
	static const size_t sizes[] = { 0, 1, 65535, 65536, 65537,
	    3 * 65536, 200000 };
	struct ident_secret *r[3] = { new_ident(), new_ident(), new_ident() };
	struct sealed sd;
	struct sink pt;
	size_t nto, si, i;
	uint8_t *d = malloc(200000);
	int mode;

	(void)state;
	assert_non_null(d);
	randombytes_buf(d, 200000);
	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		for (mode = 0; mode < 4; mode++) {
			for (nto = 1; nto <= 3; nto += 2) {
				seal_buf(r, nto, d, sizes[si], mode, &sd);
				assert_int_equal(sd.ct.len,
				    sealed_len(sizes[si]));
				/* Not the plaintext. */
				if (sizes[si] >= 16)
					assert_memory_not_equal(sd.ct.d, d, 16);
				for (i = 0; i < nto; i++) {
					assert_int_equal(unseal_buf(r[i],
					    sd.keybox[i], sd.hdr, sd.ct.d,
					    sd.ct.len, (mode + 1 + (int)i) % 4,
					    &pt), 0);
					assert_int_equal(pt.len, sizes[si]);
					if (sizes[si] > 0)
						assert_memory_equal(pt.d, d,
						    sizes[si]);
					sink_free(&pt);
				}
				sink_free(&sd.ct);
			}
		}
	}
	free(d);
	for (i = 0; i < 3; i++)
		ident_secret_free(r[i]);
}

static void
test_seal_not_recipient(void **state)
{
	struct ident_secret *a = new_ident(), *b = new_ident(),
	    *c = new_ident();
	struct ident_secret *to[2] = { a, b };
	struct sealed sd;
	struct sink pt;
	struct seal_dec d;
	uint8_t kb[SEAL_KEYBOX_LEN];

	(void)state;
	seal_buf(to, 2, (const uint8_t *)"secret", 6, 0, &sd);
	assert_int_equal(unseal_buf(c, sd.keybox[0], sd.hdr, sd.ct.d,
	    sd.ct.len, 0, &pt), MULE_ENOTRECIPIENT);
	assert_int_equal(pt.len, 0);
	assert_int_equal(unseal_buf(c, sd.keybox[1], sd.hdr, sd.ct.d,
	    sd.ct.len, 0, &pt), MULE_ENOTRECIPIENT);
	/* a's box opened by b. */
	assert_int_equal(unseal_buf(b, sd.keybox[0], sd.hdr, sd.ct.d,
	    sd.ct.len, 0, &pt), MULE_ENOTRECIPIENT);
	/* A damaged key box. */
	memcpy(kb, sd.keybox[0], sizeof(kb));
	kb[40] ^= 4;
	assert_int_equal(unseal_buf(a, kb, sd.hdr, sd.ct.d, sd.ct.len, 0,
	    &pt), MULE_ENOTRECIPIENT);
	/* The struct is released and can be released again. */
	memset(&d, 0x33, sizeof(d));
	assert_int_equal(seal_dec_init(&d, c, sd.keybox[0], sink_out, &pt),
	    MULE_ENOTRECIPIENT);
	assert_null(d.key);
	seal_dec_release(&d);
	/* The rightful recipient still can. */
	assert_int_equal(unseal_buf(b, sd.keybox[1], sd.hdr, sd.ct.d,
	    sd.ct.len, 0, &pt), 0);
	assert_int_equal(pt.len, 6);
	assert_memory_equal(pt.d, "secret", 6);
	sink_free(&pt);
	sink_free(&sd.ct);
	ident_secret_free(a);
	ident_secret_free(b);
	ident_secret_free(c);
}

static void
test_seal_bitflips(void **state)
{
	struct ident_secret *a = new_ident();
	struct sealed sd;
	struct sink pt;
	size_t n = 200000, len, pos[64], npos = 0, i, k;
	uint8_t *d = malloc(n), hdr[SEAL_HEADER_LEN];
	int bit;

	(void)state;
	assert_non_null(d);
	randombytes_buf(d, n);
	seal_buf(&a, 1, d, n, 1, &sd);
	len = sd.ct.len;
	pos[npos++] = 0;
	pos[npos++] = len - 1;
	pos[npos++] = len - SEAL_ABYTES;
	for (k = 1; k * CT_CHUNK < len; k++) {
		pos[npos++] = k * CT_CHUNK - 1;
		pos[npos++] = k * CT_CHUNK;
		pos[npos++] = k * CT_CHUNK + 1;
		pos[npos++] = k * CT_CHUNK - SEAL_ABYTES;	/* tag area */
	}
	while (npos < 48)
		pos[npos++] = randombytes_uniform((uint32_t)len);
	for (i = 0; i < npos; i++) {
		bit = (int)randombytes_uniform(8);
		sd.ct.d[pos[i]] ^= (uint8_t)(1u << bit);
		assert_int_equal(unseal_buf(a, sd.keybox[0], sd.hdr, sd.ct.d,
		    len, (int)(i % 4), &pt), MULE_EVERIFY);
		sink_free(&pt);
		sd.ct.d[pos[i]] ^= (uint8_t)(1u << bit);
	}
	/* Every byte of the stream header matters too. */
	for (i = 0; i < SEAL_HEADER_LEN; i++) {
		memcpy(hdr, sd.hdr, sizeof(hdr));
		hdr[i] ^= 0x80;
		assert_int_equal(unseal_buf(a, sd.keybox[0], hdr, sd.ct.d,
		    len, 0, &pt), MULE_EVERIFY);
		sink_free(&pt);
	}
	/* Swapped chunks. */
	memcpy(d, sd.ct.d, CT_CHUNK);
	memcpy(sd.ct.d, sd.ct.d + CT_CHUNK, CT_CHUNK);
	memcpy(sd.ct.d + CT_CHUNK, d, CT_CHUNK);
	assert_int_equal(unseal_buf(a, sd.keybox[0], sd.hdr, sd.ct.d, len, 0,
	    &pt), MULE_EVERIFY);
	sink_free(&pt);
	memcpy(sd.ct.d + CT_CHUNK, sd.ct.d, CT_CHUNK);
	memcpy(sd.ct.d, d, CT_CHUNK);
	/* Restored: decrypts again. */
	assert_int_equal(unseal_buf(a, sd.keybox[0], sd.hdr, sd.ct.d, len, 0,
	    &pt), 0);
	sink_free(&pt);
	sink_free(&sd.ct);
	free(d);
	ident_secret_free(a);
}

static void
test_seal_truncation(void **state)
{
	static const size_t sizes[] = { 0, 100, 3 * 65536, 200000 };
	struct ident_secret *a = new_ident();
	struct sealed sd;
	struct sink pt;
	size_t si, n, len, k, cut;
	uint8_t *d = malloc(200000);
	int r;

	(void)state;
	assert_non_null(d);
	randombytes_buf(d, 200000);
	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		n = sizes[si];
		seal_buf(&a, 1, d, n, 0, &sd);
		len = sd.ct.len;
		/* At every chunk boundary: the FINAL chunk is missing. */
		for (k = 0; k * CT_CHUNK < len; k++) {
			r = unseal_buf(a, sd.keybox[0], sd.hdr, sd.ct.d,
			    k * CT_CHUNK, (int)(k % 4), &pt);
			assert_int_equal(r, MULE_EINCOMPLETE);
			sink_free(&pt);
		}
		/* Inside chunks and at the end. */
		for (cut = 1; cut < len; cut += cut < 64 ? 1 : 4999) {
			r = unseal_buf(a, sd.keybox[0], sd.hdr, sd.ct.d, cut,
			    (int)(cut % 4), &pt);
			assert_true(r == MULE_EINCOMPLETE || r == MULE_EVERIFY);
			sink_free(&pt);
		}
		for (cut = len > 40 ? len - 40 : 0; cut < len; cut++) {
			r = unseal_buf(a, sd.keybox[0], sd.hdr, sd.ct.d, cut,
			    0, &pt);
			assert_true(r == MULE_EINCOMPLETE || r == MULE_EVERIFY);
			sink_free(&pt);
		}
		/* Fewer than SEAL_ABYTES bytes of a last chunk. */
		k = (len - 1) / CT_CHUNK * CT_CHUNK;
		r = unseal_buf(a, sd.keybox[0], sd.hdr, sd.ct.d, k + 16, 0,
		    &pt);
		assert_int_equal(r, MULE_EINCOMPLETE);
		sink_free(&pt);
		/* The whole stream still works. */
		assert_int_equal(unseal_buf(a, sd.keybox[0], sd.hdr, sd.ct.d,
		    len, 0, &pt), 0);
		assert_int_equal(pt.len, n);
		sink_free(&pt);
		sink_free(&sd.ct);
	}
	free(d);
	ident_secret_free(a);
}

static void
test_seal_appended(void **state)
{
	static const size_t sizes[] = { 0, 100, 3 * 65536, 200000 };
	static const size_t extra[] = { 1, SEAL_ABYTES, 1000, CT_CHUNK,
	    CT_CHUNK + 5 };
	struct ident_secret *a = new_ident();
	struct sealed sd;
	struct sink pt;
	size_t si, ei, len;
	uint8_t *d = malloc(200000), *big;
	int r;

	(void)state;
	assert_non_null(d);
	randombytes_buf(d, 200000);
	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		seal_buf(&a, 1, d, sizes[si], 0, &sd);
		len = sd.ct.len;
		for (ei = 0; ei < sizeof(extra) / sizeof(extra[0]); ei++) {
			big = malloc(len + extra[ei]);
			assert_non_null(big);
			memcpy(big, sd.ct.d, len);
			randombytes_buf(big + len, extra[ei]);
			r = unseal_buf(a, sd.keybox[0], sd.hdr, big,
			    len + extra[ei], (int)(ei % 4), &pt);
			assert_int_equal(r, MULE_EVERIFY);
			sink_free(&pt);
			free(big);
		}
		/* A second copy of the whole stream after the first. */
		big = malloc(2 * len);
		assert_non_null(big);
		memcpy(big, sd.ct.d, len);
		memcpy(big + len, sd.ct.d, len);
		assert_int_equal(unseal_buf(a, sd.keybox[0], sd.hdr, big,
		    2 * len, 1, &pt), MULE_EVERIFY);
		sink_free(&pt);
		free(big);
		sink_free(&sd.ct);
	}
	free(d);
	ident_secret_free(a);
}

/* A FINAL chunk of full size followed by more data (eager decryption). */
static void
test_seal_data_after_full_final(void **state)
{
	struct ident_secret *a = new_ident();
	crypto_secretstream_xchacha20poly1305_state st;
	struct seal_dec d;
	struct sink pt;
	uint8_t key[SEAL_KEY_LEN], kb[SEAL_KEYBOX_LEN], hdr[SEAL_HEADER_LEN];
	uint8_t *m = calloc(1, SEAL_CHUNK), *c = malloc(CT_CHUNK + 1);

	(void)state;
	assert_non_null(m);
	assert_non_null(c);
	crypto_secretstream_xchacha20poly1305_keygen(key);
	assert_int_equal(crypto_box_seal(kb, key, sizeof(key),
	    a->pub.box_pk), 0);
	crypto_secretstream_xchacha20poly1305_init_push(&st, hdr, key);
	crypto_secretstream_xchacha20poly1305_push(&st, c, NULL, m,
	    SEAL_CHUNK, NULL, 0, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
	c[CT_CHUNK] = 0;

	memset(&pt, 0, sizeof(pt));
	assert_int_equal(seal_dec_init(&d, a, kb, sink_out, &pt), 0);
	assert_int_equal(seal_dec_header(&d, hdr), 0);
	assert_int_equal(seal_dec_update(&d, c, CT_CHUNK), 0);
	assert_int_equal(pt.len, SEAL_CHUNK);
	assert_int_equal(seal_dec_update(&d, c + CT_CHUNK, 1), MULE_EVERIFY);
	/* After a failure nothing succeeds, not even final. */
	assert_int_equal(seal_dec_final(&d), MULE_EINVAL);
	seal_dec_release(&d);

	/* Without the extra byte the same stream is complete. */
	sink_free(&pt);
	assert_int_equal(unseal_buf(a, kb, hdr, c, CT_CHUNK, 0, &pt), 0);
	assert_int_equal(pt.len, SEAL_CHUNK);
	/* A short chunk tagged MESSAGE at the end is a missing FINAL. */
	sink_free(&pt);
	crypto_secretstream_xchacha20poly1305_init_push(&st, hdr, key);
	crypto_secretstream_xchacha20poly1305_push(&st, c, NULL, m, 10, NULL,
	    0, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
	assert_int_equal(unseal_buf(a, kb, hdr, c, 10 + SEAL_ABYTES, 0, &pt),
	    MULE_EINCOMPLETE);
	assert_int_equal(pt.len, 0);
	sink_free(&pt);
	free(m);
	free(c);
	ident_secret_free(a);
}

static void
test_seal_callback_errors(void **state)
{
	struct ident_secret *a = new_ident();
	struct seal_enc e;
	struct sealed sd;
	struct sink k, pt;
	struct seal_dec d;
	uint8_t hdr[SEAL_HEADER_LEN], kb[SEAL_KEYBOX_LEN];
	uint8_t *buf = calloc(1, 3 * SEAL_CHUNK);
	size_t off;

	(void)state;
	assert_non_null(buf);
	/* Encoder: the second chunk's output fails. */
	memset(&k, 0, sizeof(k));
	k.fail_at_call = 2;
	assert_int_equal(seal_enc_init(&e, sink_out, &k), 0);
	/* Data before the header is refused. */
	assert_int_equal(seal_enc_update(&e, buf, 1), MULE_EINVAL);
	assert_int_equal(seal_enc_final(&e), MULE_EINVAL);
	assert_int_equal(seal_enc_keybox(&e, &a->pub, kb), 0);
	assert_int_equal(seal_enc_header(&e, hdr), 0);
	assert_int_equal(seal_enc_header(&e, hdr), MULE_EINVAL);
	assert_int_equal(seal_enc_update(&e, buf, 3 * SEAL_CHUNK),
	    MULE_ENOSPACE);
	assert_int_equal(seal_enc_final(&e), MULE_EINVAL);
	seal_enc_release(&e);
	seal_enc_release(&e);
	sink_free(&k);

	/* Encoder: final's output fails. */
	memset(&k, 0, sizeof(k));
	k.fail_at_call = 1;
	assert_int_equal(seal_enc_init(&e, sink_out, &k), 0);
	assert_int_equal(seal_enc_header(&e, hdr), 0);
	assert_int_equal(seal_enc_update(&e, buf, 10), 0);
	assert_int_equal(seal_enc_final(&e), MULE_ENOSPACE);
	assert_int_equal(seal_enc_final(&e), MULE_EINVAL);
	seal_enc_release(&e);
	sink_free(&k);

	/* Decoder: the plaintext callback fails on the second chunk. */
	seal_buf(&a, 1, buf, 3 * SEAL_CHUNK, 0, &sd);
	memset(&pt, 0, sizeof(pt));
	pt.fail_at_call = 2;
	assert_int_equal(seal_dec_init(&d, a, sd.keybox[0], sink_out, &pt),
	    0);
	assert_int_equal(seal_dec_update(&d, sd.ct.d, 1), MULE_EINVAL);
	assert_int_equal(seal_dec_header(&d, sd.hdr), 0);
	assert_int_equal(seal_dec_header(&d, sd.hdr), MULE_EINVAL);
	for (off = 0; off < 2 * CT_CHUNK - 1; off += 1000)
		assert_int_equal(seal_dec_update(&d, sd.ct.d + off,
		    off + 1000 < 2 * CT_CHUNK - 1 ? 1000 :
		    2 * CT_CHUNK - 1 - off), 0);
	assert_int_equal(seal_dec_update(&d, sd.ct.d + 2 * CT_CHUNK - 1, 1),
	    MULE_ENOSPACE);
	assert_int_equal(seal_dec_update(&d, sd.ct.d + 2 * CT_CHUNK,
	    sd.ct.len - 2 * CT_CHUNK), MULE_EINVAL);
	assert_int_equal(seal_dec_final(&d), MULE_EINVAL);
	seal_dec_release(&d);
	seal_dec_release(&d);
	sink_free(&pt);
	sink_free(&sd.ct);
	free(buf);
	ident_secret_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keystring_roundtrip),
		cmocka_unit_test(test_keystring_known_answer),
		cmocka_unit_test(test_keystring_every_substitution),
		cmocka_unit_test(test_keystring_upper_case),
		cmocka_unit_test(test_keystring_rejects),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_keyfile_roundtrip),
		cmocka_unit_test(test_keyfile_no_overwrite),
		cmocka_unit_test(test_keyfile_permissions),
		cmocka_unit_test(test_keyfile_garbage),
		cmocka_unit_test(test_keyfile_passphrase),
		cmocka_unit_test(test_sig_roundtrip),
		cmocka_unit_test(test_sig_bitflips),
		cmocka_unit_test(test_sig_threaded_same),
		cmocka_unit_test(test_sig_threaded_release),
		cmocka_unit_test(test_sig_reserve_same),
		cmocka_unit_test(test_sig_hash),
		cmocka_unit_test(test_seal_roundtrips),
		cmocka_unit_test(test_seal_place),
		cmocka_unit_test(test_seal_not_recipient),
		cmocka_unit_test(test_seal_bitflips),
		cmocka_unit_test(test_seal_truncation),
		cmocka_unit_test(test_seal_appended),
		cmocka_unit_test(test_seal_data_after_full_final),
		cmocka_unit_test(test_seal_callback_errors),
	};

	if (ident_lib_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
