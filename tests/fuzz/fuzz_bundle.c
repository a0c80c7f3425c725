/*
 * tests/fuzz/fuzz_bundle.c — libFuzzer target for whole bundles.
 *
 * The first input byte picks what the rest is:
 *
 *   0  a bundle file: bundle_open, then bundle_verify against a key with
 *      the key id the header names (so the whole file is hashed; the
 *      signature itself cannot match a mutated input)
 *   1  an inner archive (zstd tar), parsed as bundle_read would
 *   2  an inner archive with any compression or none (tar, MANIFEST and
 *      segment parsers reached without zstd in the way)
 *   3  an unencrypted bundle file that is re-signed here with a fixed
 *      fuzzing identity, then opened, verified and read end to end
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "bundle/internal.h"
#include "core/error.h"
#include "crypto/ident.h"
#include "crypto/sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static struct ident_secret fz;

static void
setup(void)
{
	uint8_t seed[32];
	int fd;

	if (path[0] != '\0')
		return;
	if (ident_lib_init() != 0)
		abort();
	snprintf(path, sizeof(path), "/tmp/fuzz_bundle.XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		abort();
	close(fd);
	memset(seed, 0x5a, sizeof(seed));
	fz.sign_sk = sodium_malloc(IDENT_SIGN_SK_LEN);
	fz.box_sk = sodium_malloc(IDENT_BOX_SK_LEN);
	if (fz.sign_sk == NULL || fz.box_sk == NULL)
		abort();
	crypto_sign_seed_keypair(fz.pub.sign_pk, fz.sign_sk, seed);
	crypto_box_seed_keypair(fz.pub.box_pk, fz.box_sk, seed);
	ident_pub_set_keyid(&fz.pub);
	memset(fz.site_id, 0x5a, sizeof(fz.site_id));
}

static void
put_file(const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		abort();
	if (n > 0 && fwrite(p, 1, n, f) != n)
		abort();
	if (fclose(f) != 0)
		abort();
}

/* Sinks that look at everything they are handed. */
static volatile uint8_t sink_acc;

static int
s_manifest(void *arg, const struct manifest *m)
{
	(void)arg;
	sink_acc ^= m->bundle_id[0] ^ (uint8_t)m->base.n;
	return 0;
}

static int
s_schema(void *arg, const struct bundle_schema *s)
{
	(void)arg;
	if (s->sql[s->len] != '\0')
		abort();
	sink_acc ^= (uint8_t)s->len;
	return 0;
}

static int
s_value(void *arg, const uint8_t hash[VALUE_REF_LEN], int type,
    const uint8_t *p, size_t n)
{
	(void)arg;
	sink_acc ^= hash[0] ^ (uint8_t)type ^ (n ? p[n - 1] : 0);
	return 0;
}

static int
s_table(void *arg, const char *table, uint32_t ncols,
    const char *const *cols, uint32_t npk, const uint32_t *pkcols)
{
	(void)arg;
	if (pkcols[npk - 1] >= ncols)
		abort();
	sink_acc ^= (uint8_t)table[0] ^ (uint8_t)cols[ncols - 1][0];
	return 0;
}

static int
s_row(void *arg, const struct rowchange *rc)
{
	uint32_t i;

	(void)arg;
	for (i = 0; i < rc->ncells; i++)
		if (rc->cells[i].v.n > 0)
			sink_acc ^= rc->cells[i].v.p[rc->cells[i].v.n - 1];
	return 0;
}

static const struct bundle_sink sink = {
	NULL, s_manifest, s_schema, s_value, s_table, s_row,
};

static void
outer(const uint8_t *p, size_t n)
{
	struct bundle_reader *r = NULL;
	struct ident_pub who;
	char err[MULE_ERRLEN];

	put_file(p, n);
	err[0] = '\0';
	if (bundle_open(path, &r, err) != 0) {
		if (err[0] == '\0')
			abort();
		return;
	}
	who = fz.pub;
	memcpy(who.key_id, bundle_get_info(r)->sender_key, IDENT_KEYID_LEN);
	(void)bundle_is_recipient(r, &fz.pub);
	if (bundle_verify(r, &who, err) != 0) {
		if (err[0] == '\0')
			abort();
		/* Nothing is read from a bundle that failed verification. */
		if (bundle_read(r, &fz, &sink, err) != MULE_EINVAL)
			abort();
	} else
		(void)bundle_read(r, &fz, &sink, err);
	bundle_close(r);
}

static void
resigned(const uint8_t *p, size_t n)
{
	struct bundle_reader *r = NULL;
	struct sig_ctx sc;
	uint8_t *q;
	char err[MULE_ERRLEN];
	int rc;

	if (n < 52 + SIG_LEN)
		return;
	if ((q = malloc(n)) == NULL)
		abort();
	memcpy(q, p, n);
	memcpy(q + 42, fz.pub.key_id, IDENT_KEYID_LEN);
	sig_init(&sc);
	sig_update(&sc, q, n - SIG_LEN);
	if (sig_sign(&sc, &fz, q + n - SIG_LEN) != 0)
		abort();
	put_file(q, n);
	free(q);
	err[0] = '\0';
	if (bundle_open(path, &r, err) != 0)
		goto out;
	if (bundle_verify(r, &fz.pub, err) != 0)
		abort();	/* we just signed it */
	err[0] = '\0';
	rc = bundle_read(r, &fz, &sink, err);
	if (rc != 0 && (err[0] == '\0' || rc > 0))
		abort();
out:
	bundle_close(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[MULE_ERRLEN];
	int r;

	setup();
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		outer(data + 1, size - 1);
		break;
	case 1:
	case 2:
		err[0] = '\0';
		r = bundle_parse_inner(data + 1, size - 1, data[0] % 4 == 1,
		    &sink, err);
		if (r != 0 && (err[0] == '\0' || r > 0))
			abort();
		break;
	case 3:
		resigned(data + 1, size - 1);
		break;
	}
	return 0;
}
