/*
 * bundle/envelope.c — the outer header, the signature check and the
 * payload source (reading and decrypting the payload on demand).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/internal.h"
#include "core/error.h"
#include "core/file.h"

size_t
envelope_header_len(size_t nrecipients, int encrypted)
{
	return BUNDLE_FIXED_HDR + nrecipients * BUNDLE_RECIP_LEN +
	    (encrypted ? SEAL_HEADER_LEN : 0);
}

int
envelope_encode(struct buf *b, const struct bundle_info *info,
    const uint8_t (*keyboxes)[SEAL_KEYBOX_LEN], const uint8_t *sealhdr)
{
	static const uint8_t zero[SEAL_KEYBOX_LEN];
	size_t i;
	int r;

	if ((r = buf_put(b, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN)) != 0 ||
	    (r = buf_put_u8(b, BUNDLE_VERSION)) != 0 ||
	    (r = buf_put_u8(b, info->encrypted ? BUNDLE_FLAG_ENCRYPTED :
	    0)) != 0 ||
	    (r = buf_put(b, info->bundle_id, BUNDLE_ID_LEN)) != 0 ||
	    (r = buf_put(b, info->sender_site, SITE_ID_LEN)) != 0 ||
	    (r = buf_put(b, info->sender_key, IDENT_KEYID_LEN)) != 0 ||
	    (r = buf_put_u16(b, (uint16_t)info->nrecipients)) != 0)
		return r;
	for (i = 0; i < info->nrecipients; i++) {
		if ((r = buf_put(b, info->recipient_keys[i],
		    IDENT_KEYID_LEN)) != 0 ||
		    (r = buf_put(b, keyboxes != NULL ? keyboxes[i] : zero,
		    SEAL_KEYBOX_LEN)) != 0)
			return r;
	}
	if (info->encrypted)
		r = buf_put(b, sealhdr, SEAL_HEADER_LEN);
	return r;
}

/* The error for a header the reader b could not finish (code r). */
static int
header_short(int r, char *err)
{
	return mule_errf(err, r, r == MULE_EINCOMPLETE ?
	    "truncated bundle: the file ends inside its header" :
	    "bad bundle header: %s", mule_strerror(r));
}

/*
 * The nrec recipients of the header at b into info: distinct key ids,
 * and all-zero key boxes in an unencrypted bundle.
 */
static int
envelope_recipients(struct buf *b, struct bundle_info *info, uint16_t nrec,
    char *err)
{
	static const uint8_t zero[SEAL_KEYBOX_LEN];
	const uint8_t *kb;
	size_t i, j;
	int r = MULE_EINTERNAL;

	if (nrec > BUNDLE_MAX_RECIPIENTS) {
		r = mule_errf(err, MULE_ETOOLARGE, "bundle names %u "
		    "recipients (limit BUNDLE_MAX_RECIPIENTS = %d)", nrec,
		    BUNDLE_MAX_RECIPIENTS);
		goto out;
	}
	if (nrec == 0 && info->encrypted) {
		r = mule_errf(err, MULE_EFORMAT,
		    "encrypted bundle without recipients");
		goto out;
	}
	if (envelope_header_len(nrec, info->encrypted) > BUNDLE_MAX_HEADER) {
		r = mule_errf(err, MULE_ETOOLARGE, "bundle header too large");
		goto out;
	}
	info->nrecipients = nrec;
	for (i = 0; i < nrec; i++) {
		if ((r = buf_get_bytes(b, info->recipient_keys[i],
		    IDENT_KEYID_LEN)) != 0 ||
		    (r = buf_get_ptr(b, SEAL_KEYBOX_LEN, &kb)) != 0) {
			r = header_short(r, err);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (memcmp(info->recipient_keys[i],
			    info->recipient_keys[j], IDENT_KEYID_LEN) == 0) {
				r = mule_errf(err, MULE_EFORMAT, "bundle names "
				    "a recipient key twice");
				goto out;
			}
		if (!info->encrypted &&
		    memcmp(kb, zero, SEAL_KEYBOX_LEN) != 0) {
			r = mule_errf(err, MULE_EFORMAT, "unencrypted bundle "
			    "with a non-zero key box");
			goto out;
		}
	}
	r = 0;
out:
	return r;
}

int
envelope_parse(const uint8_t *p, size_t n, struct bundle_info *out,
    size_t *hdrlen, char *err)
{
	struct bundle_info *info = NULL;
	struct buf b;
	uint8_t magic[BUNDLE_MAGIC_LEN], flags;
	uint16_t nrec;
	int r = MULE_EINTERNAL;

	if (n < BUNDLE_MAGIC_LEN) {
		if (n > 0 && memcmp(p, BUNDLE_MAGIC, n) == 0)
			r = mule_errf(err, MULE_EINCOMPLETE,
			    "truncated bundle: the file ends inside its magic");
		else
			r = mule_errf(err, MULE_EFORMAT,
			    "not a mule bundle (%zu bytes)", n);
		goto out;
	}
	if ((info = calloc(1, sizeof(*info))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	buf_init_ro(&b, p, n);
	(void)buf_get_bytes(&b, magic, BUNDLE_MAGIC_LEN);
	if (memcmp(magic, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN) != 0) {
		r = mule_errf(err, MULE_EFORMAT,
		    "not a mule bundle (bad magic)");
		goto out;
	}
	if ((r = buf_get_u8(&b, &info->version)) != 0)
		goto trunc;
	if (info->version != BUNDLE_VERSION) {
		r = mule_errf(err, MULE_EFORMAT, "bundle format version %u is "
		    "not supported (this mule reads version %d)",
		    info->version, BUNDLE_VERSION);
		goto out;
	}
	if ((r = buf_get_u8(&b, &flags)) != 0)
		goto trunc;
	if ((flags & ~BUNDLE_FLAG_ENCRYPTED) != 0) {
		r = mule_errf(err, MULE_EFORMAT,
		    "bundle header has unknown flags 0x%02x", flags);
		goto out;
	}
	info->encrypted = (flags & BUNDLE_FLAG_ENCRYPTED) != 0;
	if ((r = buf_get_bytes(&b, info->bundle_id, BUNDLE_ID_LEN)) != 0 ||
	    (r = buf_get_bytes(&b, info->sender_site, SITE_ID_LEN)) != 0 ||
	    (r = buf_get_bytes(&b, info->sender_key, IDENT_KEYID_LEN)) != 0 ||
	    (r = buf_get_u16(&b, &nrec)) != 0)
		goto trunc;
	if ((r = envelope_recipients(&b, info, nrec, err)) != 0)
		goto out;
	if (info->encrypted && (r = buf_skip(&b, SEAL_HEADER_LEN)) != 0)
		goto trunc;
	*hdrlen = b.off;
	info->file_size = out->file_size;
	*out = *info;
	r = 0;
	goto out;
trunc:
	r = header_short(r, err);
out:
	free(info);
	return r;
}

int
bundle_open(const char *path, struct bundle_reader **out, char *err)
{
	struct bundle_reader *r = NULL;
	struct stat st;
	uint8_t *hb = NULL;
	size_t want;
	int rc = MULE_EINTERNAL;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		rc = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	r->fd = -1;
	if ((r->path = strdup(path)) == NULL) {
		rc = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = file_open_regular(path, &r->fd, &st, err)) != 0)
		goto out;
	r->info.file_size = (uint64_t)st.st_size;
	want = r->info.file_size < BUNDLE_MAX_HEADER ?
	    (size_t)r->info.file_size : BUNDLE_MAX_HEADER;
	if ((hb = malloc(want ? want : 1)) == NULL) {
		rc = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = file_read_exact_at(r->fd, hb, want, 0, path, err)) != 0)
		goto out;
	if ((rc = envelope_parse(hb, want, &r->info, &r->hdrlen, err)) != 0) {
		rc = mule_errprefix(err, rc, "%s", path);
		goto out;
	}
	if (r->info.file_size < r->hdrlen + SIG_LEN +
	    (r->info.encrypted ? SEAL_ABYTES : 0)) {
		rc = mule_errf(err, MULE_EINCOMPLETE, "%s: truncated bundle "
		    "(%" PRIu64 " bytes)", path, r->info.file_size);
		goto out;
	}
	r->payload_len = r->info.file_size - r->hdrlen - SIG_LEN;
	if ((r->hdr = malloc(r->hdrlen)) == NULL) {
		rc = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(r->hdr, hb, r->hdrlen);
	*out = r;
	r = NULL;
	rc = 0;
out:
	free(hb);
	bundle_close(r);
	return rc;
}

const struct bundle_info *
bundle_get_info(const struct bundle_reader *r)
{
	return &r->info;
}

void
bundle_close(struct bundle_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r->hdr);
	free(r->blockhash);
	free(r);
}

int
bundle_is_recipient(const struct bundle_reader *r,
    const struct ident_pub *me)
{
	size_t i;

	for (i = 0; i < r->info.nrecipients; i++)
		if (memcmp(r->info.recipient_keys[i], me->key_id,
		    IDENT_KEYID_LEN) == 0)
			return 1;
	return 0;
}

/* The error for a file that ends before `what` while being read. */
static int
verify_short(const struct bundle_reader *r, int rc, char *err)
{
	if (rc == MULE_EINCOMPLETE)
		rc = mule_errf(err, MULE_EVERIFY, "%s: the file shrank while it "
		    "was being read", r->path);
	return rc;
}

/*
 * The block size and count for `end` signed bytes (see BUNDLE_MAX_BLOCKS),
 * and the table of block hashes.
 */
static int
verify_blocks(struct bundle_reader *r, uint64_t end, char *err)
{
	size_t bs = BUNDLE_BLOCK;

	while ((end + bs - 1) / bs > BUNDLE_MAX_BLOCKS)
		bs *= 2;
	free(r->blockhash);
	r->blocksize = bs;
	r->nblocks = (end + bs - 1) / bs;
	if ((r->blockhash = calloc(r->nblocks ? (size_t)r->nblocks : 1,
	    BLOCK_HASH_LEN)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

/* The key id in the header must be the sender's. */
static int
verify_keyid(const struct bundle_reader *r, const struct ident_pub *sender,
    char *err)
{
	char want[2 * IDENT_KEYID_LEN + 1], got[2 * IDENT_KEYID_LEN + 1];

	if (memcmp(sender->key_id, r->info.sender_key, IDENT_KEYID_LEN) == 0)
		return 0;
	hex_encode(got, r->info.sender_key, IDENT_KEYID_LEN);
	hex_encode(want, sender->key_id, IDENT_KEYID_LEN);
	return mule_errf(err, MULE_EVERIFY, "%s: signed by key %s, not by the "
	    "expected key %s", r->path, got, want);
}

int
bundle_verify(struct bundle_reader *r, const struct ident_pub *sender,
    char *err)
{
	struct sig_ctx sc;
	struct stat st;
	uint8_t *blk = NULL, *p, sig[SIG_LEN];
	uint64_t off, end, i;
	size_t n;
	int rc = MULE_EINTERNAL;

	r->verified = 0;
	memset(&sc, 0, sizeof(sc));	/* sig_release is fine on it */
	if ((rc = verify_keyid(r, sender, err)) != 0)
		goto out;
	if (fstat(r->fd, &st) != 0 ||
	    (uint64_t)st.st_size != r->info.file_size) {
		rc = mule_errf(err, MULE_EVERIFY, "%s: the file changed while "
		    "it was being read", r->path);
		goto out;
	}
	end = r->info.file_size - SIG_LEN;
	if ((rc = verify_blocks(r, end, err)) != 0)
		goto out;
	if ((blk = malloc(r->blocksize)) == NULL) {
		rc = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	/* The signature's hash in a second thread, overlapping the reads
	 * and the block hashes (inline if no thread can start).  A block
	 * that fits in the thread's ring is read straight into it. */
	(void)sig_init_threaded(&sc);
	for (i = 0, off = 0; off < end; off += n, i++) {
		n = end - off < r->blocksize ? (size_t)(end - off) :
		    r->blocksize;
		if ((p = sig_reserve(&sc, n)) == NULL)
			p = blk;
		if ((rc = file_read_exact_at(r->fd, p, n, off, r->path,
		    err)) != 0) {
			rc = verify_short(r, rc, err);
			goto out;
		}
		/* The header we parsed must be the header we verify. */
		if (off < r->hdrlen && memcmp(p, r->hdr + off,
		    r->hdrlen - off < n ? (size_t)(r->hdrlen - off) : n) != 0) {
			rc = mule_errf(err, MULE_EVERIFY, "%s: the file changed "
			    "while it was being read", r->path);
			goto out;
		}
		/* Fed first (the thread starts sooner); the thread only reads
		 * p, and its buffer is not refilled before the next reserve. */
		sig_update(&sc, p, n);
		crypto_generichash(r->blockhash[i], BLOCK_HASH_LEN, p, n,
		    NULL, 0);
	}
	if ((rc = file_read_exact_at(r->fd, sig, SIG_LEN, end, r->path,
	    err)) != 0) {
		rc = verify_short(r, rc, err);
		goto out;
	}
	if (sig_verify(&sc, sender, sig) != 0) {
		rc = mule_errf(err, MULE_EVERIFY, "%s: bad signature: the "
		    "bundle was altered or truncated, or not signed by this "
		    "sender", r->path);
		goto out;
	}
	r->verified = 1;
	rc = 0;
out:
	sig_release(&sc);
	free(blk);
	return rc;
}

/* ---- payload source ---- */

static int
pt_out(void *arg, const uint8_t *p, size_t n)
{
	struct payload_source *s = arg;

	return buf_put(&s->pt, p, n);
}

/* Opens the file key sealed to `me` and starts decrypting. */
static int
source_decrypt_init(struct payload_source *s, const struct ident_secret *me,
    char *err)
{
	const struct bundle_reader *r = s->r;
	char kid[2 * IDENT_KEYID_LEN + 1];
	const uint8_t *kb = NULL;
	size_t i;
	int rc;

	if (me == NULL)
		return mule_errf(err, MULE_EINVAL, "%s: a key is needed to "
		    "decrypt the bundle", r->path);
	for (i = 0; i < r->info.nrecipients; i++)
		if (memcmp(r->info.recipient_keys[i], me->pub.key_id,
		    IDENT_KEYID_LEN) == 0)
			kb = r->hdr + BUNDLE_FIXED_HDR + i * BUNDLE_RECIP_LEN +
			    IDENT_KEYID_LEN;
	hex_encode(kid, me->pub.key_id, IDENT_KEYID_LEN);
	if (kb == NULL)
		return mule_errf(err, MULE_ENOTRECIPIENT, "%s: not addressed "
		    "to this site (key %s)", r->path, kid);
	if ((rc = seal_dec_init(&s->dec, me, kb, pt_out, s)) != 0)
		return mule_errf(err, rc, "%s: cannot open the file key sealed "
		    "to key %s: %s", r->path, kid, mule_strerror(rc));
	s->dec_live = 1;
	if ((rc = seal_dec_header(&s->dec, r->hdr + r->hdrlen -
	    SEAL_HEADER_LEN)) != 0)
		return mule_errf(err, rc, "%s: bad encryption header: %s",
		    r->path, mule_strerror(rc));
	return 0;
}

int
payload_source_open(struct payload_source *s, struct bundle_reader *r,
    const struct ident_secret *me, char *err)
{
	int rc = MULE_EINTERNAL;

	memset(s, 0, sizeof(*s));
	buf_init(&s->pt);
	buf_set_max(&s->pt, 8 * (size_t)SEAL_CHUNK);
	s->r = r;
	if (!r->verified) {
		rc = mule_errf(err, MULE_EINVAL, "%s: the bundle must be "
		    "verified before it is read", r->path);
		goto out;
	}
	s->encrypted = r->info.encrypted;
	s->end = r->info.file_size - SIG_LEN;
	if ((s->blk = malloc(r->blocksize)) == NULL) {
		rc = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if (s->encrypted && (rc = source_decrypt_init(s, me, err)) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		payload_source_release(s);
	return rc;
}

/*
 * Reads the next block into s->blk and checks it against the hash
 * bundle_verify kept; the payload starts after the header, inside block
 * 0.  *more is 0 when all blocks have been read.
 */
static int
source_block(struct payload_source *s, int *more, char *err)
{
	struct bundle_reader *r = s->r;
	uint8_t h[BLOCK_HASH_LEN];
	uint64_t off = s->next * r->blocksize;
	size_t n;
	int rc;

	*more = 0;
	if (off >= s->end || s->next >= r->nblocks)
		return 0;
	n = s->end - off < r->blocksize ? (size_t)(s->end - off) :
	    r->blocksize;
	if ((rc = file_read_exact_at(r->fd, s->blk, n, off, r->path,
	    err)) != 0) {
		if (rc == MULE_EINCOMPLETE)
			rc = mule_errf(err, MULE_EVERIFY, "%s: the file changed "
			    "after it was verified", r->path);
		return rc;
	}
	crypto_generichash(h, sizeof(h), s->blk, n, NULL, 0);
	if (sodium_memcmp(h, r->blockhash[s->next], BLOCK_HASH_LEN) != 0)
		return mule_errf(err, MULE_EVERIFY, "%s: the file changed after "
		    "it was verified (bytes %" PRIu64 " to %" PRIu64 " differ "
		    "now; they were not used)", r->path, off, off + n);
	s->blen = n;
	s->bpos = s->next == 0 ? r->hdrlen : 0;
	s->next++;
	*more = 1;
	return 0;
}

/*
 * Up to `max` verified payload bytes at *p (*n == 0 at the end of the
 * signed bytes).
 */
static int
source_take(struct payload_source *s, size_t max, const uint8_t **p,
    size_t *n, char *err)
{
	int rc, more = 1;

	while (s->bpos >= s->blen && more)
		if ((rc = source_block(s, &more, err)) != 0)
			return rc;
	*p = s->blk + s->bpos;
	*n = s->blen - s->bpos < max ? s->blen - s->bpos : max;
	if (!more)
		*n = 0;
	s->bpos += *n;
	return 0;
}

/* The next plaintext of an encrypted payload into s->pt. */
static int
source_decrypt(struct payload_source *s, char *err)
{
	const uint8_t *p;
	size_t n;
	int rc;

	while (s->pt.len == 0) {
		if ((rc = source_take(s, SEAL_CHUNK + SEAL_ABYTES, &p, &n,
		    err)) != 0)
			return rc;
		if (n == 0) {
			if (s->final_done)
				break;
			s->final_done = 1;
			if ((rc = seal_dec_final(&s->dec)) != 0)
				return mule_errf(err, rc, "%s: %s", s->r->path,
				    rc == MULE_EINCOMPLETE ? "the encrypted "
				    "payload is truncated" : "decryption failed");
			continue;
		}
		if ((rc = seal_dec_update(&s->dec, p, n)) != 0)
			return mule_errf(err, rc, "%s: decryption failed: %s",
			    s->r->path, mule_strerror(rc));
	}
	return 0;
}

int
payload_source_next(struct payload_source *s, const uint8_t **p, size_t *n,
    char *err)
{
	int rc;

	if (!s->encrypted)
		return source_take(s, SIZE_MAX, p, n, err);
	if (s->pt_given) {
		buf_reset(&s->pt);
		s->pt_given = 0;
	}
	if ((rc = source_decrypt(s, err)) != 0)
		return rc;
	s->pt_given = 1;
	*p = s->pt.len ? s->pt.d : s->blk;
	*n = s->pt.len;
	return 0;
}

int
payload_source_finish(struct payload_source *s, char *err)
{
	const uint8_t *p;
	size_t n;
	int rc;

	do {
		if ((rc = payload_source_next(s, &p, &n, err)) != 0)
			return rc;
	} while (n > 0);
	return 0;
}

void
payload_source_release(struct payload_source *s)
{
	if (s == NULL)
		return;
	if (s->dec_live)
		seal_dec_release(&s->dec);
	buf_release_wipe(&s->pt);
	free(s->blk);
	memset(s, 0, sizeof(*s));
}
