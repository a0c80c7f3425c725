/*
 * bundle/internal.h — private interfaces between the bundle/ sources (and
 * the fuzz targets).  Not part of mule's public API.
 *
 *   manifest.c   MANIFEST text: encode, strict parse; the member list
 *   segment.c    rows/NNNN binary segments: encoder and decoder
 *   envelope.c   outer header, signature, payload source (decryption)
 *   container.c  libarchive glue: inner archive writer and reader
 *   writer.c     bundle_writer_*
 *   reader.c     bundle_read, bundle_write_raw
 */
#ifndef MULE_BUNDLE_INTERNAL_H
#define MULE_BUNDLE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "bundle/bundle.h"
#include "core/buf.h"
#include "core/hex.h"
#include "crypto/seal.h"
#include "crypto/sig.h"

/* ---- outer format ---- */

#define BUNDLE_MAGIC "MULEBNDL"
#define BUNDLE_MAGIC_LEN 8
#define BUNDLE_VERSION 1
#define BUNDLE_FLAG_ENCRYPTED 0x01
/* magic, version, flags, bundle id, sender site, sender key id, nrecip */
#define BUNDLE_FIXED_HDR (BUNDLE_MAGIC_LEN + 1 + 1 + BUNDLE_ID_LEN + \
    SITE_ID_LEN + IDENT_KEYID_LEN + 2)
#define BUNDLE_RECIP_LEN (IDENT_KEYID_LEN + SEAL_KEYBOX_LEN)
#define BUNDLE_BLOCK 65536		/* file read size */
#define BUNDLE_HASH_LEN 32		/* BLAKE2b-256 member hashes */
#define BUNDLE_ZSTD_LEVEL 19	/* zstd level of payloads up to 8 MiB */
#define BUNDLE_ZSTD_SEARCHLOG 4	/* its search depth: 2^4 (default 2^6+) */
#define BUNDLE_ZSTD_MAXLOG 21	/* window/table cap: ~28 MiB of state */

/* Header length for n recipients (encrypted adds the stream header). */
size_t envelope_header_len(size_t nrecipients, int encrypted);

/*
 * Parses an outer header at the start of p[0..n).  On success fills *info
 * (file_size untouched) and *hdrlen.  MULE_EFORMAT, MULE_EINCOMPLETE or
 * MULE_ETOOLARGE otherwise.
 */
int envelope_parse(const uint8_t *p, size_t n, struct bundle_info *info,
    size_t *hdrlen, char *err);

/*
 * Appends the outer header for `info` (version, flags from
 * info->encrypted, ids, recipients) to b.  keyboxes: one per recipient
 * (NULL: zeros, unencrypted); sealhdr: the stream header when encrypted.
 */
int envelope_encode(struct buf *b, const struct bundle_info *info,
    const uint8_t (*keyboxes)[SEAL_KEYBOX_LEN], const uint8_t *sealhdr);

/*
 * Parse only verified bytes: bundle_verify hashes the signed bytes in
 * blocks of `blocksize` (BUNDLE_BLOCK, doubled until there are at most
 * BUNDLE_MAX_BLOCKS of them) and keeps each block's BLAKE2b-256; the
 * payload source reads whole blocks again and hands out none whose hash
 * differs.  Storage that returns other bytes on the second read is thus
 * refused before any changed byte is decrypted or parsed, with at most
 * BUNDLE_MAX_BLOCKS * BLOCK_HASH_LEN bytes (2 MiB) of memory and no copy.
 */
#define BUNDLE_MAX_BLOCKS 65536
#define BLOCK_HASH_LEN 32

/* What the reader keeps; the public struct bundle_reader. */
struct bundle_reader {
	int fd;
	char *path;
	struct bundle_info info;
	uint8_t *hdr;			/* the outer header bytes */
	size_t hdrlen;
	uint64_t payload_len;
	int verified;
	size_t blocksize;		/* bytes per verified block */
	uint64_t nblocks;
	uint8_t (*blockhash)[BLOCK_HASH_LEN];	/* per block, from verify */
};

/*
 * A pull source of payload plaintext: reads the payload after the header
 * block by block, hands out (or decrypts) a block only once its hash is
 * the one bundle_verify saw, and so never a byte that was not verified.
 */
struct payload_source {
	struct bundle_reader *r;
	uint64_t end;			/* end of the signed bytes */
	uint64_t next;			/* next block to read */
	int encrypted;
	int dec_live;
	int final_done;
	struct seal_dec dec;
	struct buf pt;			/* decrypted plaintext waiting */
	int pt_given;			/* pt was handed out: reset it */
	uint8_t *blk;			/* the current verified block */
	size_t blen, bpos;		/* its length, bytes handed on */
};

/* `me` may be NULL for an unencrypted bundle. */
int payload_source_open(struct payload_source *s, struct bundle_reader *r,
    const struct ident_secret *me, char *err);
/* Next piece of plaintext; *n == 0 at the end.  Valid until next call. */
int payload_source_next(struct payload_source *s, const uint8_t **p,
    size_t *n, char *err);
/*
 * Reads what is left (each block checked as well) and ends decryption.
 * MULE_EVERIFY when a block read now differs from the verified one.
 */
int payload_source_finish(struct payload_source *s, char *err);
void payload_source_release(struct payload_source *s);

/* ---- members and MANIFEST ---- */

/* 2: vectors coded against a reference (mule-bundle(5)); 1 is refused. */
#define MANIFEST_VERSION "2"
#define MANIFEST_FIRST_LINE "mule-manifest " MANIFEST_VERSION
#define MANIFEST_MAX_LINE 2048
#define SCHEMA_HDR_MAX 128		/* "-- mule schema V FPR\n" line */
#define MEMBER_NAME_MAX 96

enum member_kind {
	MEMBER_MANIFEST = 0,
	MEMBER_SCHEMA = 1,
	MEMBER_VALUE = 2,
	MEMBER_ROWS = 3,
};

struct bundle_member {
	uint64_t size;
	uint8_t hash[BUNDLE_HASH_LEN];	/* for values also the name */
	uint32_t seq;			/* NNNN of schema/ and rows/ */
	uint8_t kind;			/* enum member_kind */
	uint8_t vtype;			/* values: MVAL_TEXT or MVAL_BLOB */
};

struct member_list {
	size_t n, cap;
	struct bundle_member *m;
	size_t nschema, nvalues, nrows;
};

void member_list_init(struct member_list *ml);
void member_list_release(struct member_list *ml);
int member_list_add(struct member_list *ml, const struct bundle_member *mb);
/* Writes the member's archive path into out[MEMBER_NAME_MAX]. */
void member_name(const struct bundle_member *mb, char out[MEMBER_NAME_MAX]);
/* The named limit on a member's size. */
uint64_t member_limit(int kind);

/*
 * Encodes m and the member list as MANIFEST text into `out` (a writer
 * buf, appended).  Vectors are written sorted by origin.  MULE_EINVAL for
 * unencodable fields, MULE_ETOOLARGE beyond BUNDLE_MAX_MANIFEST.
 */
int manifest_encode(const struct manifest *m, const struct member_list *ml,
    struct buf *out, char *err);
/*
 * Parses MANIFEST text strictly.  On success *m (manifest_init'ed by the
 * caller; released first) and *ml (member_list_init'ed) are filled.
 */
int manifest_parse(const uint8_t *p, size_t n, struct manifest *m,
    struct member_list *ml, char *err);

/* "-- mule schema VERSION FPRHEX\n" */
int schema_header_parse(const uint8_t *p, size_t n, uint32_t *version,
    uint8_t fpr[BUNDLE_FPR_LEN], size_t *hdrlen, char *err);

/* ---- row segments ---- */

#define SEGMENT_MAGIC "MSEG"
#define SEGMENT_VERSION 3	/* 3: column-oriented streams */
#define SEGMENT_FLAG_CONT 0x01
#define SEGMENT_MAX_ORIGINS 65536	/* origin table entries */
#define SEGMENT_MAX_CL ((uint64_t)1 << 62)	/* causal length << 1 | full */

/*
 * The streams of a segment body, in order (mule-bundle(5)): the fixed
 * ones, then one value stream per column (SEG_S_VALUES + column index).
 */
enum segment_stream {
	SEG_S_ROWS = 0,		/* per row: causal length, cell count */
	SEG_S_KEYS = 1,		/* per row: the key values */
	SEG_S_STAMPS = 2,	/* every stamp, lamport delta-coded */
	SEG_S_CELLS = 3,	/* per cell: column gap and flags */
	SEG_S_BASES = 4,	/* per hashed base: 4 bytes */
	SEG_S_CTX = 5,		/* per cell with a context: its entries */
	SEG_S_HASHES = 6,	/* row hashes a receiver cannot compute */
	SEG_S_VALUES = 7
};

struct segment_hdr {
	char *table;
	uint32_t ncols;
	char **cols;
	uint32_t npk;
	uint32_t *pkcols;
};

void segment_hdr_release(struct segment_hdr *h);
int segment_hdr_copy(struct segment_hdr *dst, const char *table,
    uint32_t ncols, const char *const *cols, uint32_t npk,
    const uint32_t *pkcols);
int segment_hdr_equal(const struct segment_hdr *a,
    const struct segment_hdr *b);

/*
 * Delta state shared by encoder and decoder: the previous INT of each key
 * column (prev[0..npk)) and value column (prev[npk..npk+ncols)), and the
 * previous stamp's lamport.
 */
struct segment_delta {
	int64_t *prev;
	uint32_t nprev;
	uint64_t lamport;
};

struct segment_enc {
	struct segment_hdr h;
	int cont;
	int stuck;			/* a row did not fit: call _next */
	uint64_t nrows;
	struct buf *s;			/* SEG_S_VALUES + ncols streams */
	size_t *mark;			/* per stream: length before the row */
	uint32_t ns;
	size_t body;			/* bytes in all streams */
	struct segment_delta dl;
	size_t hdrsize;			/* encoded header without nrows */
	uint8_t (*orig)[SITE_ID_LEN];
	uint32_t norig, origcap;
	uint32_t *slots;		/* hash slots: index + 1, 0 = empty */
	uint32_t nslots;
};

void segment_enc_init(struct segment_enc *e);
void segment_enc_release(struct segment_enc *e);
/* Starts a new table (not a continuation).  Validates the header. */
int segment_enc_begin(struct segment_enc *e, const char *table,
    uint32_t ncols, const char *const *cols, uint32_t npk,
    const uint32_t *pkcols, char *err);
/*
 * Encodes one row.  TEXT/BLOB must be at most BUNDLE_MAX_INLINE bytes
 * (larger ones must already be MVAL_REF).  *added is 0 when the row does
 * not fit in this segment; then nothing more is added until
 * segment_enc_next (or, when the segment is still empty, it is unchanged
 * and another row may be tried).
 */
int segment_enc_row(struct segment_enc *e, const struct rowchange *rc,
    int *added, char *err);
/*
 * The whole encoded segment (header with nrows, origin table, streams)
 * appended to out.
 */
int segment_enc_header(const struct segment_enc *e, struct buf *out,
    char *err);
/* After the segment was written: next segment continues the table. */
void segment_enc_next(struct segment_enc *e);

struct segment_dec {
	struct buf b;			/* the whole segment */
	int cont;
	uint64_t nrows, left;
	struct segment_hdr h;
	const uint8_t *orig;		/* origin table (borrowed), 16 each */
	size_t norig;
	size_t nused;			/* origins met so far */
	struct buf *s;			/* the streams (borrowed bytes) */
	uint32_t ns;
	struct segment_delta dl;
	struct mval *pk;
	struct cell *cells;
	struct vec_entry *ctx;		/* the current row's cell contexts */
	size_t nctx, ctxcap;
	struct rowchange rc;
};

void segment_dec_init(struct segment_dec *d);
void segment_dec_release(struct segment_dec *d);
/*
 * Parses the header, origin table and stream lengths of the segment at
 * p[0..n) (borrowed).
 */
int segment_dec_open(struct segment_dec *d, const uint8_t *p, size_t n,
    char *err);
/*
 * Decodes the next row into *out (valid until the next call); *out is
 * NULL after the last row, when every stream must also end exactly.
 */
int segment_dec_next(struct segment_dec *d, const struct rowchange **out,
    char *err);

/* ---- inner archive ---- */

struct container_w;

/* write callback target: 0 or MULE_E* */
typedef int (*container_out_fn)(void *arg, const uint8_t *p, size_t n,
    char *err);

int container_w_open(struct container_w **out, container_out_fn fn,
    void *arg, uint64_t size_hint, char *err);
/* Starts a member of `size` bytes. */
int container_w_member(struct container_w *c, const char *name,
    uint64_t size, char *err);
int container_w_data(struct container_w *c, const void *p, size_t n,
    char *err);
int container_w_close(struct container_w *c, char *err);
void container_w_free(struct container_w *c);

/* Pull callback for reading: like payload_source_next. */
typedef int (*container_in_fn)(void *arg, const uint8_t **p, size_t *n,
    char *err);

struct inner_opts {
	int require_zstd;		/* refuse anything but zstd(tar) */
};

/*
 * Reads an inner archive from `fn`, checks it completely against its
 * MANIFEST and calls the sink.
 */
int container_read(container_in_fn fn, void *arg,
    const struct inner_opts *o, const struct bundle_sink *sink, char *err);

/*
 * For fuzzing and tests only: parses an inner archive held in memory
 * (no outer header, no signature).
 */
int bundle_parse_inner(const uint8_t *p, size_t n, int require_zstd,
    const struct bundle_sink *sink, char *err);

#endif
