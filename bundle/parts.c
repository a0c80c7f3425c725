/*
 * bundle/parts.c — split a bundle into parts with Reed-Solomon parity and
 * join them back (see parts.h and the PARTS section of mule-bundle(5)).
 *
 * The code is systematic: parts 0..k-1 are the bundle's bytes, parts
 * k..m-1 parity, from ISA-L's Cauchy matrix (identity on top, so any k
 * rows of it are invertible).  Both directions walk the parts
 * PARTS_STRIPE bytes at a time, so memory is (k + p) stripes at most.
 *
 * Splitting reads the bundle three times (its hash; every part's payload
 * hash, which goes in the header before the payload; the writing pass,
 * which hashes again and must agree).  Joining reads every part once to
 * check its hash, then writes the bundle in order: good data parts are
 * copied, each missing one is computed stripe by stripe from k survivors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <isa-l/erasure_code.h>
#include <sodium.h>

#include "bundle/internal.h"
#include "bundle/parts.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/file.h"
#include "core/strb.h"
#include "crypto/sig.h"

/* Bytes of a part header before its checksum. */
#define PARTS_BODY_LEN (PARTS_HEADER_LEN - PARTS_HASH_LEN)
/* The bundle's outer header up to its id: magic, version, flags, id. */
#define BNDL_MAGIC "MULEBNDL"
#define BNDL_MAGIC_LEN 8
#define BNDL_ID_OFF 10
/* Per-file allowance when checking free space (one sector). */
#define PARTS_SECTOR 512

static uint64_t
ceil_div(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Checks the rules every header obeys (limits first, then relations). */
static int
check_info(const struct part_info *in, int bad, char *err)
{
	unsigned m = (unsigned)in->ndata + in->nparity;

	if (in->ndata == 0)
		return mule_errf(err, bad, "part header says 0 data parts");
	if (m > PARTS_MAX)
		return mule_errf(err, bad == MULE_EINVAL ? bad : MULE_ETOOLARGE,
		    "%u data + %u parity parts exceed the limit of %d parts",
		    in->ndata, in->nparity, PARTS_MAX);
	if (in->payload_len > PARTS_MAX_PAYLOAD)
		return mule_errf(err, bad == MULE_EINVAL ? bad : MULE_ETOOLARGE,
		    "part payload of %" PRIu64 " bytes exceeds the limit of %"
		    PRIu64, in->payload_len, PARTS_MAX_PAYLOAD);
	if (in->index >= m)
		return mule_errf(err, bad, "part index %u is not below %u",
		    in->index, m);
	if (in->bundle_size < PARTS_MIN_BUNDLE)
		return mule_errf(err, bad,
		    "part header gives a bundle size of %" PRIu64 " bytes",
		    in->bundle_size);
	if (in->payload_len != ceil_div(in->bundle_size, in->ndata) ||
	    (uint64_t)(in->ndata - 1) * in->payload_len >= in->bundle_size)
		return mule_errf(err, bad,
		    "part payload length %" PRIu64 " does not fit a %" PRIu64
		    "-byte bundle in %u data parts", in->payload_len,
		    in->bundle_size, in->ndata);
	return 0;
}

int
parts_encode_header(const struct part_info *in,
    uint8_t out[PARTS_HEADER_LEN], char *err)
{
	struct buf b;
	uint8_t *sum;
	int r = MULE_EINTERNAL;

	buf_init(&b);
	if ((r = check_info(in, MULE_EINVAL, err)) != 0)
		goto out;
	if ((r = buf_put(&b, PARTS_MAGIC, PARTS_MAGIC_LEN)) != 0 ||
	    (r = buf_put_u8(&b, PARTS_VERSION)) != 0 ||
	    (r = buf_put(&b, in->bundle_id, PARTS_ID_LEN)) != 0 ||
	    (r = buf_put_u64(&b, in->bundle_size)) != 0 ||
	    (r = buf_put(&b, in->bundle_hash, PARTS_HASH_LEN)) != 0 ||
	    (r = buf_put_u16(&b, in->ndata)) != 0 ||
	    (r = buf_put_u16(&b, in->nparity)) != 0 ||
	    (r = buf_put_u16(&b, in->index)) != 0 ||
	    (r = buf_put_u64(&b, in->payload_len)) != 0 ||
	    (r = buf_put(&b, in->payload_hash, PARTS_HASH_LEN)) != 0 ||
	    (r = buf_reserve(&b, PARTS_HASH_LEN, &sum)) != 0) {
		r = mule_errf(err, r, "cannot encode a part header");
		goto out;
	}
	if (b.len != PARTS_HEADER_LEN) {
		r = mule_errf(err, MULE_EINTERNAL, "part header is %zu bytes",
		    b.len);
		goto out;
	}
	sig_hash(sum, PARTS_HASH_LEN, b.d, PARTS_BODY_LEN);
	memcpy(out, b.d, PARTS_HEADER_LEN);
	r = 0;
out:
	buf_release(&b);
	return r;
}

int
parts_parse_header(const uint8_t *p, size_t n, struct part_info *out,
    char *err)
{
	struct part_info info;
	struct buf b, hb;
	const uint8_t *mag, *body, *sum;
	uint8_t ver, want[PARTS_HASH_LEN];
	size_t k;
	int r = MULE_EINTERNAL;

	memset(&info, 0, sizeof(info));
	buf_init_ro(&b, p, n);
	k = min_u64(buf_avail(&b), PARTS_MAGIC_LEN);
	if ((r = buf_get_ptr(&b, k, &mag)) != 0)
		goto out;
	if (k == 0 || memcmp(mag, PARTS_MAGIC, k) != 0) {
		r = mule_errf(err, MULE_EFORMAT, "not a mule part (bad magic)");
		goto out;
	}
	if (k < PARTS_MAGIC_LEN || buf_get_u8(&b, &ver) != 0) {
		r = mule_errf(err, MULE_EINCOMPLETE,
		    "part header truncated after %zu bytes", n);
		goto out;
	}
	if (ver != PARTS_VERSION) {
		r = mule_errf(err, MULE_EFORMAT,
		    "unsupported part format version %u", ver);
		goto out;
	}
	if (n < PARTS_HEADER_LEN) {
		r = mule_errf(err, MULE_EINCOMPLETE,
		    "part header truncated: %zu of %d bytes", n,
		    PARTS_HEADER_LEN);
		goto out;
	}
	buf_init_ro(&hb, p, PARTS_HEADER_LEN);
	if ((r = buf_get_ptr(&hb, PARTS_BODY_LEN, &body)) != 0 ||
	    (r = buf_get_ptr(&hb, PARTS_HASH_LEN, &sum)) != 0)
		goto out;
	sig_hash(want, sizeof(want), body, PARTS_BODY_LEN);
	if (memcmp(want, sum, PARTS_HASH_LEN) != 0) {
		r = mule_errf(err, MULE_EFORMAT,
		    "part header checksum does not match (damaged header)");
		goto out;
	}
	if ((r = buf_get_bytes(&b, info.bundle_id, PARTS_ID_LEN)) != 0 ||
	    (r = buf_get_u64(&b, &info.bundle_size)) != 0 ||
	    (r = buf_get_bytes(&b, info.bundle_hash, PARTS_HASH_LEN)) != 0 ||
	    (r = buf_get_u16(&b, &info.ndata)) != 0 ||
	    (r = buf_get_u16(&b, &info.nparity)) != 0 ||
	    (r = buf_get_u16(&b, &info.index)) != 0 ||
	    (r = buf_get_u64(&b, &info.payload_len)) != 0 ||
	    (r = buf_get_bytes(&b, info.payload_hash, PARTS_HASH_LEN)) != 0) {
		r = mule_errf(err, r, "part header truncated");
		goto out;
	}
	if ((r = check_info(&info, MULE_EFORMAT, err)) != 0)
		goto out;
	*out = info;
	r = 0;
out:
	return r;
}

/* Reads and checks the header of the open part file fd. */
static int
header_fd(int fd, const char *path, struct part_info *out, char *err)
{
	struct part_info info;
	struct stat st;
	uint8_t hdr[PARTS_HEADER_LEN];
	size_t n = 0;
	int r = MULE_EINTERNAL;

	if (fstat(fd, &st) != 0) {
		r = mule_errf(err, MULE_EIO, "stat %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if ((r = file_read_at(fd, hdr, sizeof(hdr), 0, &n, path, err)) != 0)
		goto out;
	if ((r = parts_parse_header(hdr, n, &info, err)) != 0) {
		mule_errprefix(err, r, "%s", path);
		goto out;
	}
	if ((uint64_t)st.st_size < PARTS_HEADER_LEN + info.payload_len) {
		r = mule_errf(err, MULE_EINCOMPLETE,
		    "%s is truncated: %" PRIu64 " of %" PRIu64 " bytes", path,
		    (uint64_t)st.st_size, PARTS_HEADER_LEN + info.payload_len);
		goto out;
	}
	if ((uint64_t)st.st_size > PARTS_HEADER_LEN + info.payload_len) {
		r = mule_errf(err, MULE_EFORMAT,
		    "%s has %" PRIu64 " bytes after its payload", path,
		    (uint64_t)st.st_size - PARTS_HEADER_LEN - info.payload_len);
		goto out;
	}
	*out = info;
	r = 0;
out:
	return r;
}

int
parts_read_header(const char *path, struct part_info *out, char *err)
{
	struct stat st;
	int fd = -1, r;

	if ((r = file_open_regular(path, &fd, &st, err)) != 0)
		goto out;
	r = header_fd(fd, path, out, err);
out:
	if (fd >= 0)
		close(fd);
	return r;
}

char *
parts_name(const char *basename, unsigned index, unsigned ndata,
    unsigned nparity)
{
	struct strb sb;

	if (ndata == 0 || ndata + nparity > PARTS_MAX ||
	    index >= ndata + nparity)
		return NULL;
	strb_init(&sb);
	if (index < ndata)
		strb_addf(&sb, "%s.d%03u-of-%03u%s", basename, index + 1, ndata,
		    PARTS_SUFFIX);
	else
		strb_addf(&sb, "%s.p%03u-of-%03u%s", basename,
		    index - ndata + 1, nparity, PARTS_SUFFIX);
	return strb_detach(&sb);
}

void
parts_paths_free(char **paths, size_t n)
{
	strv_free(paths, n);
}

/* ------------------------------------------------------------------ */
/* splitting                                                           */
/* ------------------------------------------------------------------ */

struct split {
	int fd;				/* the bundle */
	const char *path;
	uint64_t size;
	unsigned k, p, m;
	uint64_t len;			/* payload length */
	uint8_t *tables;		/* ec tables for the parity rows */
	uint8_t *bufs;			/* m stripes */
	uint8_t *ptrs[PARTS_MAX];	/* into bufs */
	crypto_generichash_state *hs;	/* m hash states */
	progress_fn progress;		/* parts_split_progress */
	void *parg;
};

/* Checks the bundle's magic and takes its id. */
static int
split_read_id(struct split *s, uint8_t id[PARTS_ID_LEN], char *err)
{
	uint8_t head[PARTS_MIN_BUNDLE];
	struct buf b;
	const uint8_t *mag;
	int r = MULE_EINTERNAL;

	if ((r = file_read_exact_at(s->fd, head, sizeof(head), 0, s->path,
	    err)) != 0)
		goto out;
	buf_init_ro(&b, head, sizeof(head));
	if ((r = buf_get_ptr(&b, BNDL_MAGIC_LEN, &mag)) != 0 ||
	    (r = buf_skip(&b, BNDL_ID_OFF - BNDL_MAGIC_LEN)) != 0 ||
	    (r = buf_get_bytes(&b, id, PARTS_ID_LEN)) != 0)
		goto out;
	if (memcmp(mag, BNDL_MAGIC, BNDL_MAGIC_LEN) != 0) {
		r = mule_errf(err, MULE_EFORMAT, "%s is not a mule bundle",
		    s->path);
		goto out;
	}
	r = 0;
out:
	return r;
}

/*
 * Hashes len bytes of fd from offset start, PARTS_STRIPE at a time
 * through buf (at least PARTS_STRIPE bytes).
 */
static int
hash_range(int fd, const char *path, uint64_t start, uint64_t len,
    uint8_t *buf, uint8_t hash[PARTS_HASH_LEN], char *err)
{
	crypto_generichash_state h;
	uint64_t off;
	size_t n;
	int r = MULE_EINTERNAL;

	crypto_generichash_init(&h, NULL, 0, PARTS_HASH_LEN);
	for (off = 0; off < len; off += n) {
		n = (size_t)min_u64(PARTS_STRIPE, len - off);
		if ((r = file_read_exact_at(fd, buf, n, start + off, path,
		    err)) != 0)
			goto out;
		crypto_generichash_update(&h, buf, n);
	}
	crypto_generichash_final(&h, hash, PARTS_HASH_LEN);
	r = 0;
out:
	return r;
}

/*
 * One pass over the stripes: reads the data, computes parity, hashes every
 * part's payload into hashes[], and with sfs writes each part's stripe.
 */
static int
split_pass(struct split *s, struct safefile *sfs,
    uint8_t (*hashes)[PARTS_HASH_LEN], char *err)
{
	uint64_t off, start, avail;
	size_t n;
	unsigned i;
	int r = MULE_EINTERNAL;

	for (i = 0; i < s->m; i++)
		crypto_generichash_init(&s->hs[i], NULL, 0, PARTS_HASH_LEN);
	for (off = 0; off < s->len; off += n) {
		n = (size_t)min_u64(PARTS_STRIPE, s->len - off);
		for (i = 0; i < s->k; i++) {
			start = (uint64_t)i * s->len + off;
			avail = start < s->size ? min_u64(n, s->size - start) :
			    0;
			if (avail > 0 && (r = file_read_exact_at(s->fd,
			    s->ptrs[i], (size_t)avail, start, s->path,
			    err)) != 0)
				goto out;
			memset(s->ptrs[i] + avail, 0, n - (size_t)avail);
		}
		if (s->p > 0)
			ec_encode_data((int)n, (int)s->k, (int)s->p, s->tables,
			    s->ptrs, s->ptrs + s->k);
		for (i = 0; i < s->m; i++) {
			crypto_generichash_update(&s->hs[i], s->ptrs[i], n);
			if (sfs != NULL && (r = safefile_write(&sfs[i],
			    s->ptrs[i], n, err)) != 0)
				goto out;
		}
		if (sfs != NULL && ((off + n) % (16 * PARTS_STRIPE) == 0 ||
		    off + n == s->len))
			progress_report(s->progress, s->parg, PROGRESS_PARTS,
			    (off + n) * s->m, s->len * s->m);
	}
	for (i = 0; i < s->m; i++)
		crypto_generichash_final(&s->hs[i], hashes[i], PARTS_HASH_LEN);
	r = 0;
out:
	return r;
}

/* The smallest volume size that splits `size` bytes. */
static uint64_t
split_min_volume(uint64_t size, uint32_t nparity)
{
	return PARTS_HEADER_LEN + ceil_div(size, PARTS_MAX - nparity);
}

int
parts_plan(uint64_t bundle_size, uint64_t volume_size, uint32_t nparity,
    unsigned *ndata, uint64_t *payload_len, char *err)
{
	struct strb sb;
	uint64_t cap, k, minvol;
	int r = MULE_EINTERNAL;

	strb_init(&sb);
	if (nparity >= PARTS_MAX) {
		r = mule_errf(err, MULE_EINVAL,
		    "%" PRIu32 " parity parts: at most %d are possible",
		    nparity, PARTS_MAX - 1);
		goto out;
	}
	if (bundle_size < PARTS_MIN_BUNDLE) {
		r = mule_errf(err, MULE_EINVAL,
		    "a %" PRIu64 "-byte file is not a bundle", bundle_size);
		goto out;
	}
	minvol = split_min_volume(bundle_size, nparity);
	if (minvol - PARTS_HEADER_LEN > PARTS_MAX_PAYLOAD) {
		r = mule_errf(err, MULE_ETOOLARGE,
		    "a %" PRIu64 "-byte bundle is too large to split into at "
		    "most %d parts", bundle_size, PARTS_MAX);
		goto out;
	}
	cap = volume_size > PARTS_HEADER_LEN ?
	    min_u64(volume_size - PARTS_HEADER_LEN, PARTS_MAX_PAYLOAD) : 0;
	k = cap > 0 ? ceil_div(bundle_size, cap) : 0;
	if (cap == 0 || k + nparity > PARTS_MAX) {
		strb_add_size(&sb, minvol);
		if (strb_error(&sb)) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		if (cap == 0)
			r = mule_errf(err, MULE_EINVAL,
			    "volume size %" PRIu64 " is too small: a part's "
			    "header alone takes %d bytes; the smallest usable "
			    "volume size for this %" PRIu64 "-byte bundle with "
			    "%" PRIu32 " parity parts is %" PRIu64 " bytes (%s)",
			    volume_size, PARTS_HEADER_LEN, bundle_size, nparity,
			    minvol, strb_str(&sb));
		else
			r = mule_errf(err, MULE_EINVAL,
			    "volume size %" PRIu64 " is too small: this %" PRIu64
			    "-byte bundle would need %" PRIu64 " data + %" PRIu32
			    " parity parts, more than %d; the smallest usable "
			    "volume size is %" PRIu64 " bytes (%s)", volume_size,
			    bundle_size, k, nparity, PARTS_MAX, minvol,
			    strb_str(&sb));
		goto out;
	}
	*ndata = (unsigned)k;
	*payload_len = ceil_div(bundle_size, k);
	r = 0;
out:
	strb_release(&sb);
	return r;
}

/* outdir/name for every part; all must be free. */
static int
split_names(const struct split *s, const char *outdir, const char *basename,
    char **paths, char *err)
{
	struct strb sb;
	char *name = NULL;
	unsigned i;
	int r = MULE_EINTERNAL;

	strb_init(&sb);
	for (i = 0; i < s->m; i++) {
		strb_reset(&sb);
		free(name);
		if ((name = parts_name(basename, i, s->k, s->p)) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		strb_addf(&sb, "%s/%s", outdir, name);
		if (strb_error(&sb) ||
		    (paths[i] = strdup(strb_str(&sb))) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		if (file_exists(paths[i])) {
			r = mule_errf(err, MULE_EEXIST, "%s already exists",
			    paths[i]);
			goto out;
		}
	}
	r = 0;
out:
	free(name);
	strb_release(&sb);
	return r;
}

static int
split_check_space(const struct split *s, const char *outdir, char *err)
{
	struct strb need_s, avail_s;
	uint64_t avail, need, each;
	int r = MULE_EINTERNAL;

	strb_init(&need_s);
	strb_init(&avail_s);
	if ((r = file_free_space(outdir, &avail, err)) != 0)
		goto out;
	each = ceil_div(PARTS_HEADER_LEN + s->len, PARTS_SECTOR) *
	    PARTS_SECTOR;
	need = each * s->m;
	if (need > avail) {
		strb_add_size(&need_s, need);
		strb_add_size(&avail_s, avail);
		r = mule_errf(err, MULE_ENOSPACE,
		    "%s has too little free space: the %u parts need %s, "
		    "only %s is free", outdir, s->m, strb_str(&need_s),
		    strb_str(&avail_s));
		goto out;
	}
	r = 0;
out:
	strb_release(&need_s);
	strb_release(&avail_s);
	return r;
}

static int
valid_basename(const char *b)
{
	return b != NULL && b[0] != '\0' && b[0] != '.' &&
	    strchr(b, '/') == NULL;
}

/*
 * The stripe buffers, hash states and erasure-code tables of a split whose
 * k, p and m are set; freed by split_release.
 */
static int
split_alloc(struct split *s, char *err)
{
	uint8_t *matrix = NULL;
	unsigned i;
	int r = MULE_EINTERNAL;

	s->bufs = aligned_alloc(64, (size_t)s->m * PARTS_STRIPE);
	s->hs = aligned_alloc(64, s->m * sizeof(*s->hs));
	matrix = malloc((size_t)s->m * s->k);
	s->tables = malloc((size_t)32 * s->k * (s->p > 0 ? s->p : 1));
	if (s->bufs == NULL || s->hs == NULL || matrix == NULL ||
	    s->tables == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < s->m; i++)
		s->ptrs[i] = s->bufs + (size_t)i * PARTS_STRIPE;
	if (s->p > 0) {
		gf_gen_cauchy1_matrix(matrix, (int)s->m, (int)s->k);
		ec_init_tables((int)s->k, (int)s->p,
		    matrix + (size_t)s->k * s->k, s->tables);
	}
	r = 0;
out:
	free(matrix);
	return r;
}

static void
split_release(struct split *s)
{
	free(s->bufs);
	free(s->hs);
	free(s->tables);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/*
 * Opens the m part files names[i] (exclusive, with `mode`) as sfs[i] and
 * writes each one's header, whose payload hash is hashes[i].
 */
static int
split_open_parts(const struct split *s, struct part_info *info,
    uint8_t (*hashes)[PARTS_HASH_LEN], char **names, struct safefile *sfs,
    mode_t mode, char *err)
{
	uint8_t hdr[PARTS_HEADER_LEN];
	unsigned i;
	int r = MULE_EINTERNAL;

	info->bundle_size = s->size;
	info->ndata = (uint16_t)s->k;
	info->nparity = (uint16_t)s->p;
	info->payload_len = s->len;
	for (i = 0; i < s->m; i++) {
		info->index = (uint16_t)i;
		memcpy(info->payload_hash, hashes[i], PARTS_HASH_LEN);
		if ((r = parts_encode_header(info, hdr, err)) != 0 ||
		    (r = safefile_open(&sfs[i], names[i], mode, 1, err)) != 0 ||
		    (r = safefile_write(&sfs[i], hdr, sizeof(hdr), err)) != 0)
			goto out;
	}
	r = 0;
out:
	return r;
}

int
parts_split(const char *bundle_path, uint64_t volume_size,
    uint32_t nparity, const char *outdir, const char *basename,
    char ***paths, size_t *npaths, char *err)
{
	return parts_split_progress(bundle_path, volume_size, nparity, outdir,
	    basename, paths, npaths, NULL, NULL, err);
}

int
parts_split_progress(const char *bundle_path, uint64_t volume_size,
    uint32_t nparity, const char *outdir, const char *basename,
    char ***paths, size_t *npaths, progress_fn fn, void *parg, char *err)
{
	struct split s;
	struct stat st;
	struct part_info info;
	struct safefile *sfs = NULL;
	uint8_t (*h1)[PARTS_HASH_LEN] = NULL, (*h2)[PARTS_HASH_LEN] = NULL;
	char **names = NULL;
	unsigned i, ncommitted = 0;
	int r = MULE_EINTERNAL;

	memset(&s, 0, sizeof(s));
	s.fd = -1;
	s.path = bundle_path;
	s.progress = fn;
	s.parg = parg;
	memset(&info, 0, sizeof(info));
	if (!valid_basename(basename)) {
		r = mule_errf(err, MULE_EINVAL, "bad part base name \"%s\"",
		    basename != NULL ? basename : "");
		goto out;
	}
	if ((r = file_open_regular(bundle_path, &s.fd, &st, err)) != 0)
		goto out;
	s.size = (uint64_t)st.st_size;
	if (s.size < PARTS_MIN_BUNDLE) {
		r = mule_errf(err, MULE_EFORMAT,
		    "%s is not a mule bundle (%" PRIu64 " bytes)", bundle_path,
		    s.size);
		goto out;
	}
	if ((r = split_read_id(&s, info.bundle_id, err)) != 0 ||
	    (r = parts_plan(s.size, volume_size, nparity, &s.k, &s.len,
	    err)) != 0)
		goto out;
	s.p = nparity;
	s.m = s.k + s.p;
	names = calloc(s.m, sizeof(*names));
	sfs = calloc(s.m, sizeof(*sfs));
	h1 = calloc(s.m, sizeof(*h1));
	h2 = calloc(s.m, sizeof(*h2));
	if (names == NULL || sfs == NULL || h1 == NULL || h2 == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < s.m; i++)
		sfs[i].fd = -1;
	if ((r = split_alloc(&s, err)) != 0 ||
	    (r = split_names(&s, outdir, basename, names, err)) != 0 ||
	    (r = split_check_space(&s, outdir, err)) != 0)
		goto out;
	/* A first pass for the hashes the headers carry, then the writing. */
	progress_report(fn, parg, PROGRESS_PARTS, 0, s.len * s.m);
	if ((r = hash_range(s.fd, s.path, 0, s.size, s.bufs,
	    info.bundle_hash, err)) != 0 ||
	    (r = split_pass(&s, NULL, h1, err)) != 0 ||
	    (r = split_open_parts(&s, &info, h1, names, sfs,
	    st.st_mode & 0777, err)) != 0 ||
	    (r = split_pass(&s, sfs, h2, err)) != 0)
		goto out;
	if (memcmp(h1, h2, (size_t)s.m * PARTS_HASH_LEN) != 0) {
		r = mule_errf(err, MULE_EIO, "%s changed while it was split",
		    bundle_path);
		goto out;
	}
	for (i = 0; i < s.m; i++) {
		if ((r = safefile_commit(&sfs[i], err)) != 0)
			goto out;
		ncommitted++;
	}
	*paths = names;
	*npaths = s.m;
	names = NULL;
	r = 0;
out:
	if (r != 0) {
		for (i = 0; i < ncommitted; i++)
			unlink(names[i]);
		for (i = 0; sfs != NULL && i < s.m; i++)
			safefile_abort(&sfs[i]);
	}
	parts_paths_free(names, s.m);
	free(sfs);
	free(h1);
	free(h2);
	split_release(&s);
	return r;
}

/* forward: defined with joining */
static int check_payload(int fd, const char *path,
    const struct part_info *info, uint8_t *buf, char *err);

int
parts_read_bundle_head(const char *path, struct part_info *pi,
    struct bundle_info *bi, char *err)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t n, hdrlen = 0;
	int fd = -1, r = MULE_EINTERNAL;

	if ((r = file_open_regular(path, &fd, &st, err)) != 0 ||
	    (r = header_fd(fd, path, pi, err)) != 0)
		goto out;
	if (pi->index != 0) {
		r = mule_errf(err, MULE_ENOTFOUND, "%s is not data part 1 of "
		    "its bundle", path);
		goto out;
	}
	if ((buf = malloc(PARTS_STRIPE)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = check_payload(fd, path, pi, buf, err)) != 0)
		goto out;
	/* The header is at most BUNDLE_MAX_HEADER <= PARTS_STRIPE bytes. */
	n = (size_t)min_u64(min_u64(pi->payload_len, pi->bundle_size),
	    min_u64(BUNDLE_MAX_HEADER, PARTS_STRIPE));
	memset(bi, 0, sizeof(*bi));
	if ((r = file_read_exact_at(fd, buf, n, PARTS_HEADER_LEN, path,
	    err)) != 0)
		goto out;
	if ((r = envelope_parse(buf, n, bi, &hdrlen, err)) != 0) {
		mule_errprefix(err, r, "%s: its payload does not start with "
		    "a bundle header", path);
		goto out;
	}
	if (memcmp(bi->bundle_id, pi->bundle_id, PARTS_ID_LEN) != 0) {
		r = mule_errf(err, MULE_EFORMAT, "%s: the bundle in it has "
		    "another id than its part header names", path);
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

/* ------------------------------------------------------------------ */
/* status and joining                                                  */
/* ------------------------------------------------------------------ */

/* Whether b belongs to the group of a (same bundle, same layout). */
static int
same_group(const struct part_info *a, const struct part_info *b)
{
	return memcmp(a->bundle_id, b->bundle_id, PARTS_ID_LEN) == 0 &&
	    a->bundle_size == b->bundle_size &&
	    memcmp(a->bundle_hash, b->bundle_hash, PARTS_HASH_LEN) == 0 &&
	    a->ndata == b->ndata && a->nparity == b->nparity &&
	    a->payload_len == b->payload_len;
}

/* Hashes the payload of the open part fd and compares with the header. */
static int
check_payload(int fd, const char *path, const struct part_info *info,
    uint8_t *buf, char *err)
{
	uint8_t got[PARTS_HASH_LEN];
	int r = MULE_EINTERNAL;

	if ((r = hash_range(fd, path, PARTS_HEADER_LEN, info->payload_len,
	    buf, got, err)) != 0)
		goto out;
	if (memcmp(got, info->payload_hash, PARTS_HASH_LEN) != 0) {
		r = mule_errf(err, MULE_EVERIFY,
		    "%s: payload hash does not match (damaged part)", path);
		goto out;
	}
	r = 0;
out:
	return r;
}

/*
 * parts_status_compute, also giving which path holds each good index
 * (chosen[index], or (size_t)-1).
 */
static int
status_scan(const char *const *paths, size_t n, int verify,
    struct parts_status *st, size_t chosen[PARTS_MAX], char *err)
{
	struct parts_status s;
	struct part_info info;
	struct stat sb;
	char first_err[MULE_ERRLEN], e[MULE_ERRLEN];
	uint8_t *buf = NULL;
	size_t i;
	int fd = -1, r = MULE_EINTERNAL, first_r = 0, have = 0;
	unsigned j;

	memset(&s, 0, sizeof(s));
	first_err[0] = '\0';
	for (j = 0; j < PARTS_MAX; j++)
		chosen[j] = (size_t)-1;
	if (n == 0) {
		r = mule_errf(err, MULE_EINVAL, "no part files given");
		goto out;
	}
	if (verify && (buf = malloc(PARTS_STRIPE)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (fd >= 0)
			close(fd);
		fd = -1;
		e[0] = '\0';
		if ((r = file_open_regular(paths[i], &fd, &sb, e)) != 0 ||
		    (r = header_fd(fd, paths[i], &info, e)) != 0) {
			if (r == MULE_ENOMEM) {
				r = mule_errf(err, r, "%s", e);
				goto out;
			}
			if (first_r == 0) {
				first_r = r;
				memcpy(first_err, e, sizeof(e));
			}
			s.nunreadable++;
			continue;
		}
		if (!have) {
			s.info = info;
			have = 1;
		} else if (!same_group(&s.info, &info)) {
			s.nforeign++;
			continue;
		}
		if (s.state[info.index] == PART_GOOD) {
			s.nduplicate++;
			continue;
		}
		if (verify && check_payload(fd, paths[i], &info, buf, e) != 0) {
			s.state[info.index] = PART_BAD;
			continue;
		}
		s.state[info.index] = PART_GOOD;
		chosen[info.index] = i;
		s.ngood++;
	}
	if (!have) {
		r = first_r;
		if (err != NULL)
			memcpy(err, first_err, MULE_ERRLEN);
		goto out;
	}
	s.nneeded = s.ngood >= s.info.ndata ? 0 : s.info.ndata - s.ngood;
	*st = s;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

int
parts_status_compute(const char *const *paths, size_t n, int verify,
    struct parts_status *st, char *err)
{
	size_t chosen[PARTS_MAX];

	return status_scan(paths, n, verify, st, chosen, err);
}

/* "missing d002 p001, damaged d003" for an incomplete bundle. */
static int
incomplete_error(const struct parts_status *s, char *err)
{
	struct strb sb, miss, bad;
	unsigned i, m = (unsigned)s->info.ndata + s->info.nparity;
	int r;

	strb_init(&sb);
	strb_init(&miss);
	strb_init(&bad);
	for (i = 0; i < m; i++) {
		struct strb *t;

		if (s->state[i] == PART_GOOD)
			continue;
		t = s->state[i] == PART_BAD ? &bad : &miss;
		if (t->len > 0)
			strb_addc(t, ' ');
		if (i < s->info.ndata)
			strb_addf(t, "d%03u", i + 1);
		else
			strb_addf(t, "p%03u", i - s->info.ndata + 1);
	}
	strb_add(&sb, "bundle ");
	strb_add_hex(&sb, s->info.bundle_id, 8);
	strb_addf(&sb, ": %u of the %u parts needed are here",
	    s->ngood, s->info.ndata);
	if (miss.len > 0)
		strb_addf(&sb, "; missing %s", strb_str(&miss));
	if (bad.len > 0)
		strb_addf(&sb, "; damaged %s", strb_str(&bad));
	strb_addf(&sb, "; %u more part%s needed", s->nneeded,
	    s->nneeded == 1 ? " is" : "s are");
	r = mule_errf(err, MULE_EINCOMPLETE, "%s",
	    strb_error(&sb) || strb_error(&miss) || strb_error(&bad) ?
	    "parts missing" : strb_str(&sb));
	strb_release(&sb);
	strb_release(&miss);
	strb_release(&bad);
	return r;
}

struct join {
	struct parts_status st;
	unsigned k, m;
	unsigned rows[PARTS_MAX];	/* the k survivors' indexes */
	unsigned slot[PARTS_MAX];	/* index -> survivor, for good data */
	int fds[PARTS_MAX];		/* per survivor */
	const char *paths[PARTS_MAX];	/* per survivor */
	uint8_t *bufs;			/* k + 1 stripes */
	uint8_t *srcs[PARTS_MAX];
	uint8_t *tables;		/* 32 * k per data index */
	struct safefile sf;
	crypto_generichash_state h;
	uint8_t head[PARTS_MIN_BUNDLE];	/* the bundle's first bytes */
	uint64_t written;
};

/* Writes rebuilt bytes: hashed, and the first ones kept for the id check. */
static int
join_emit(struct join *j, const uint8_t *p, size_t n, char *err)
{
	size_t c;

	if (j->written < PARTS_MIN_BUNDLE) {
		c = (size_t)min_u64(n, PARTS_MIN_BUNDLE - j->written);
		memcpy(j->head + j->written, p, c);
	}
	crypto_generichash_update(&j->h, p, n);
	j->written += n;
	return safefile_write(&j->sf, p, n, err);
}

/* Builds decode tables for every missing data index. */
static int
join_tables(struct join *j, char *err)
{
	uint8_t *enc = NULL, *b = NULL, *inv = NULL;
	unsigned t, c, d;
	int r = MULE_EINTERNAL;

	enc = malloc((size_t)j->m * j->k);
	b = malloc((size_t)j->k * j->k);
	inv = malloc((size_t)j->k * j->k);
	if (enc == NULL || b == NULL || inv == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	gf_gen_cauchy1_matrix(enc, (int)j->m, (int)j->k);
	for (t = 0; t < j->k; t++)
		for (c = 0; c < j->k; c++)
			b[t * j->k + c] = enc[(size_t)j->rows[t] * j->k + c];
	if (gf_invert_matrix(b, inv, (int)j->k) != 0) {
		r = mule_errf(err, MULE_EINTERNAL,
		    "parity matrix is not invertible");
		goto out;
	}
	for (d = 0; d < j->k; d++)
		if (j->st.state[d] != PART_GOOD)
			ec_init_tables((int)j->k, 1, inv + (size_t)d * j->k,
			    j->tables + (size_t)32 * j->k * d);
	r = 0;
out:
	free(enc);
	free(b);
	free(inv);
	return r;
}

/* Data part d: copied from its file, or recomputed from the survivors. */
static int
join_data_part(struct join *j, unsigned d, char *err)
{
	const struct part_info *in = &j->st.info;
	uint64_t real, off;
	uint8_t *out = j->bufs + (size_t)j->k * PARTS_STRIPE;
	size_t n, w;
	unsigned t;
	int r = MULE_EINTERNAL;

	real = min_u64(in->payload_len, in->bundle_size -
	    (uint64_t)d * in->payload_len);
	for (off = 0; off < real; off += n) {
		n = (size_t)min_u64(PARTS_STRIPE, in->payload_len - off);
		w = (size_t)min_u64(n, real - off);
		if (j->st.state[d] == PART_GOOD) {
			t = j->slot[d];
			if ((r = file_read_exact_at(j->fds[t], out, w,
			    PARTS_HEADER_LEN + off, j->paths[t], err)) != 0)
				goto out;
		} else {
			for (t = 0; t < j->k; t++)
				if ((r = file_read_exact_at(j->fds[t],
				    j->srcs[t], n, PARTS_HEADER_LEN + off,
				    j->paths[t], err)) != 0)
					goto out;
			ec_encode_data((int)n, (int)j->k, 1,
			    j->tables + (size_t)32 * j->k * d, j->srcs, &out);
		}
		if ((r = join_emit(j, out, w, err)) != 0)
			goto out;
	}
	r = 0;
out:
	return r;
}

/* Checks the rebuilt bytes against the headers. */
static int
join_check(struct join *j, char *err)
{
	struct buf b;
	uint8_t hash[PARTS_HASH_LEN], id[PARTS_ID_LEN];
	const uint8_t *mag;
	int r = MULE_EINTERNAL;

	crypto_generichash_final(&j->h, hash, sizeof(hash));
	if (j->written != j->st.info.bundle_size ||
	    memcmp(hash, j->st.info.bundle_hash, PARTS_HASH_LEN) != 0) {
		r = mule_errf(err, MULE_EVERIFY,
		    "the rebuilt bundle does not match its parts' hash");
		goto out;
	}
	buf_init_ro(&b, j->head, sizeof(j->head));
	if ((r = buf_get_ptr(&b, BNDL_MAGIC_LEN, &mag)) != 0 ||
	    (r = buf_skip(&b, BNDL_ID_OFF - BNDL_MAGIC_LEN)) != 0 ||
	    (r = buf_get_bytes(&b, id, PARTS_ID_LEN)) != 0)
		goto out;
	if (memcmp(mag, BNDL_MAGIC, BNDL_MAGIC_LEN) != 0 ||
	    memcmp(id, j->st.info.bundle_id, PARTS_ID_LEN) != 0) {
		r = mule_errf(err, MULE_EVERIFY,
		    "the rebuilt file is not the bundle its parts name");
		goto out;
	}
	r = 0;
out:
	return r;
}

/*
 * Opens the first k good parts of the group j->st describes (every good
 * data part, then parity; paths[chosen[index]] holds each index) and
 * checks their headers again; *missing counts the parity parts used.
 */
static int
join_open(struct join *j, const char *const *paths, const size_t *chosen,
    unsigned *missing, char *err)
{
	struct part_info info;
	struct stat sb;
	unsigned i, t;
	int r = MULE_EINTERNAL;

	for (i = 0, t = 0; i < j->m && t < j->k; i++)
		if (j->st.state[i] == PART_GOOD)
			j->rows[t++] = i;
	for (t = 0; t < j->k; t++) {
		j->paths[t] = paths[chosen[j->rows[t]]];
		if ((r = file_open_regular(j->paths[t], &j->fds[t], &sb,
		    err)) != 0 ||
		    (r = header_fd(j->fds[t], j->paths[t], &info, err)) != 0)
			goto out;
		if (!same_group(&j->st.info, &info) ||
		    info.index != j->rows[t]) {
			r = mule_errf(err, MULE_EIO, "%s changed while read",
			    j->paths[t]);
			goto out;
		}
		j->slot[j->rows[t]] = t;
		if (j->rows[t] >= j->k)
			(*missing)++;
	}
	r = 0;
out:
	return r;
}

int
parts_join(const char *const *paths, size_t n, const char *out_path,
    struct parts_status *st, char *err)
{
	struct join *j = NULL;
	size_t chosen[PARTS_MAX];
	unsigned i, t, missing = 0;
	int r = MULE_EINTERNAL;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	j->sf.fd = -1;
	for (i = 0; i < PARTS_MAX; i++)
		j->fds[i] = -1;
	if ((r = status_scan(paths, n, 1, &j->st, chosen, err)) != 0)
		goto out;
	if (j->st.nneeded > 0) {
		r = incomplete_error(&j->st, err);
		if (st != NULL)
			*st = j->st;
		goto out;
	}
	j->k = j->st.info.ndata;
	j->m = j->k + j->st.info.nparity;
	if ((r = join_open(j, paths, chosen, &missing, err)) != 0)
		goto out;
	j->bufs = aligned_alloc(64, ((size_t)j->k + 1) * PARTS_STRIPE);
	j->tables = malloc((size_t)32 * j->k * j->k);
	if (j->bufs == NULL || j->tables == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (t = 0; t < j->k; t++)
		j->srcs[t] = j->bufs + (size_t)t * PARTS_STRIPE;
	if (missing > 0 && (r = join_tables(j, err)) != 0)
		goto out;

	if ((r = safefile_open(&j->sf, out_path, 0600, 0, err)) != 0)
		goto out;
	crypto_generichash_init(&j->h, NULL, 0, PARTS_HASH_LEN);
	for (i = 0; i < j->k; i++)
		if ((r = join_data_part(j, i, err)) != 0)
			goto out;
	if ((r = join_check(j, err)) != 0 ||
	    (r = safefile_commit(&j->sf, err)) != 0)
		goto out;
	if (st != NULL)
		*st = j->st;
	r = 0;
out:
	if (j != NULL) {
		safefile_abort(&j->sf);
		for (t = 0; t < PARTS_MAX; t++)
			if (j->fds[t] >= 0)
				close(j->fds[t]);
		free(j->bufs);
		free(j->tables);
		free(j);
	}
	return r;
}
