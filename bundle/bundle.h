/*
 * bundle/bundle.h — the bundle file: writer and reader.
 *
 * Exact bytes: man/mule-bundle.5.  In short, a bundle file is
 *
 *   outer header   magic "MULEBNDL", format version, flags, bundle id,
 *                  sender site id and key id, recipients (key id + file
 *                  key sealed to it), secretstream header
 *   payload        the inner archive, encrypted with secretstream in 64 KiB
 *                  chunks (or plain with --no-encrypt)
 *   signature      Ed25519 over BLAKE2b-512 of every byte before it
 *
 * and the inner archive is a zstd-compressed pax tar (libarchive) with the
 * members, in this order: MANIFEST, schema/NNNN.sql, values/<hash>,
 * rows/NNNN (one per table segment, a table may have several).
 *
 * bundle/ knows nothing of SQLite: rows arrive and leave as struct
 * rowchange (core/change.h).  Nothing is decrypted or parsed before
 * bundle_verify has checked the signature; bundle_read refuses to run on an
 * unverified reader, and decrypts or parses only bytes that are the ones
 * verified (checked block by block as they are read again: storage that
 * returns other bytes the second time is refused before they are used).
 */
#ifndef MULE_BUNDLE_BUNDLE_H
#define MULE_BUNDLE_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/change.h"
#include "core/progress.h"
#include "crypto/ident.h"

#define BUNDLE_ID_LEN 16
#define BUNDLE_FPR_LEN 32		/* schema fingerprint bytes */

/* Named limits on everything read from a file (checked before use). */
#define BUNDLE_MAX_RECIPIENTS 256
#define BUNDLE_MAX_HEADER (64u << 10)
#define BUNDLE_MAX_MANIFEST (16u << 20)
#define BUNDLE_MAX_VECTOR 65536		/* origins per vector */
#define BUNDLE_MAX_NAME 1024		/* site, table, column names */
#define BUNDLE_MAX_COLUMNS 2000		/* SQLite's own default limit */
#define BUNDLE_MAX_SCHEMA_SQL (16u << 20)
#define BUNDLE_MAX_SCHEMA_STEPS 100000
#define BUNDLE_MAX_SEGMENT (8u << 20)	/* bytes of one rows/ member */
#define BUNDLE_MAX_VALUE (1u << 30)	/* one TEXT/BLOB value */
#define BUNDLE_MAX_INLINE (64u << 10)	/* larger values go to values/ */
#define BUNDLE_MAX_MEMBERS (1u << 24)

/* One schema migration step carried by a bundle. */
struct bundle_schema {
	uint32_t version;	/* the version this step creates */
	uint8_t fpr[BUNDLE_FPR_LEN];	/* fingerprint after the step */
	char *sql;		/* migration SQL (NUL-terminated) */
	size_t len;
};

/*
 * One line of a vector coded against another one, its "against" vector
 * (mule-bundle(5)): an origin the against vector has, named by its index
 * in that vector's ascending order, or one it lacks, named by its id; and
 * the counter the coded vector has for it: for an id, the counter; for an
 * index, 0 (none) or the difference from the against vector's (`sign`).
 */
struct vcode_entry {
	uint8_t origin[SITE_ID_LEN];	/* when `named` */
	uint32_t idx;			/* when not `named` */
	int named;
	int sign;			/* index: +1, -1, or 0 for none */
	uint64_t counter;		/* the counter, or the difference */
};

struct vcode {
	size_t n;
	struct vcode_entry *e;
};

/* What MANIFEST says.  Heap-owned fields are freed by manifest_release. */
struct manifest {
	uint8_t bundle_id[BUNDLE_ID_LEN];
	uint8_t from[SITE_ID_LEN];	/* sender site id */
	char *from_name;
	size_t nto;
	uint8_t (*to)[SITE_ID_LEN];	/* recipient site ids */
	uint64_t seq;			/* sender's bundle number for `to` */
	/*
	 * The vectors are coded (mule-bundle(5)): `base` against the
	 * reference, the `top` of the recipient's own bundle number `ref`
	 * (0: none, an empty vector), `top` against `base`, `ack` against
	 * `top`.  The writer codes from base, top, ack and `refvec`, which
	 * the caller fills; the parser keeps the lines in cbase, ctop and
	 * cack and, when `ref` is 0, rebuilds base, top and ack at once
	 * (`coded` 0); else `coded` is 1 until manifest_vectors is given
	 * the reference.  Counters of 0 are no entry: a rebuilt vector has
	 * none, sorted by origin.
	 */
	uint64_t ref;
	uint8_t ref_id[BUNDLE_ID_LEN];	/* that bundle's id (ref > 0) */
	struct vector refvec;		/* writer: the reference vector */
	int coded;			/* reader: base/top/ack not rebuilt */
	struct vcode cbase, ctop, cack;	/* reader: the coded lines */
	struct vector base;		/* what the sender assumed we had */
	struct vector top;		/* sender's vector when packing */
	struct vector ack;		/* sender's knowledge (ack to us) */
	/*
	 * In full, whatever the reference: ack's counters of the
	 * recipients' and the sender's own origins, so that a recipient
	 * that no longer holds the reference (restored from a backup) can
	 * still tell how far the sender had seen it.
	 */
	struct vector seen;
	/*
	 * Per recipient site, the highest bundle number of that site the
	 * sender has applied: with `ack`, it tells the recipient whether
	 * one of its bundles was lost on the way (docs/design.md §8).
	 */
	struct vector recv;
	uint32_t schema_from;		/* catalogue version before steps */
	uint32_t schema_to;
	uint8_t fpr_from[BUNDLE_FPR_LEN];
	uint8_t fpr_to[BUNDLE_FPR_LEN];
	uint64_t ntables, nrows, ncells, nvalues, nschema;
	int full;			/* packed with --full */
};

void manifest_init(struct manifest *m);
void manifest_release(struct manifest *m);

/*
 * Rebuilds the vectors a parsed manifest codes (m->cbase, ctop, cack)
 * against `ref`, the `top` of the recipient's bundle number m->ref, into
 * *base, *top and *ack (released first; sorted, without counters of 0).
 * MULE_EFORMAT, with a message, for a line that does not fit `ref` (an
 * index beyond it, an id it has, a counter equal to the one it holds,
 * origins out of order), MULE_ETOOLARGE beyond BUNDLE_MAX_VECTOR; the
 * outputs are then empty.
 */
int manifest_vectors(const struct manifest *m, const struct vector *ref,
    struct vector *base, struct vector *top, struct vector *ack, char *err);

/* The outer header, readable without any key (bundle_open). */
struct bundle_info {
	uint8_t version;
	int encrypted;
	uint8_t bundle_id[BUNDLE_ID_LEN];
	uint8_t sender_site[SITE_ID_LEN];
	uint8_t sender_key[IDENT_KEYID_LEN];
	size_t nrecipients;
	uint8_t recipient_keys[BUNDLE_MAX_RECIPIENTS][IDENT_KEYID_LEN];
	uint64_t file_size;
};

/* ---- writing ---- */

struct bundle_writer;

/*
 * Starts a bundle to `path` (written through core/file.h's safefile: a
 * temporary name, fsync, rename — nothing appears at `path` unless
 * bundle_writer_finish succeeds).  `tmpdir` holds spool files (NULL: the
 * directory of `path`); they are unlinked as soon as they are created.
 * With `encrypt` 0 the payload is signed only; the header still names the
 * recipients' key ids (`nto` may then be 0).  Recipients' public keys are
 * copied; `me` is borrowed and must outlive the writer.  *out is freed by
 * bundle_writer_free.  MULE_EINVAL for an encrypted bundle without
 * recipients or a recipient named twice.
 */
int bundle_writer_new(const char *path, const char *tmpdir,
    const struct ident_secret *me, const struct ident_pub *to, size_t nto,
    int encrypt, struct bundle_writer **out, char *err);

/*
 * Adds a migration step (copied to a spool file).  Versions must
 * increase from step to step; SQL must have no NUL byte and at most
 * BUNDLE_MAX_SCHEMA_SQL bytes.
 */
int bundle_writer_add_schema(struct bundle_writer *w,
    const struct bundle_schema *s, char *err);

/*
 * Starts a table segment: the table name, its columns (names in order)
 * and which of them form the primary key (indexes into `cols`, in key
 * order).  Following add_row calls belong to this table.
 */
int bundle_writer_begin_table(struct bundle_writer *w, const char *table,
    uint32_t ncols, const char *const *cols, uint32_t npk,
    const uint32_t *pkcols, char *err);

/*
 * Adds a row change.  TEXT/BLOB cells larger than BUNDLE_MAX_INLINE are
 * stored once in values/ and referenced by hash (as are, for a row too big
 * for one segment, its cells longer than 34 bytes).  Key values must be
 * inline (MULE_ETOOLARGE otherwise).  Cells must be in ascending column
 * order; `cl` must be at least 1.  A cell may be MVAL_REF only to a value
 * already added to this bundle.  Memory stays bounded: segments and values
 * are spooled to files in tmpdir.  After an I/O or memory failure the
 * writer refuses further calls; after MULE_EINVAL/MULE_ETOOLARGE for a bad
 * row it goes on.
 */
int bundle_writer_add_row(struct bundle_writer *w,
    const struct rowchange *rc, char *err);

/*
 * Has bundle_writer_finish report its one pass over the payload to `fn`
 * (core/progress.h: PROGRESS_SEALING, or PROGRESS_COMPRESSING when not
 * encrypted; bytes of the payload before compression).  NULL: silent.
 */
void bundle_writer_progress(struct bundle_writer *w, progress_fn fn,
    void *arg);

/*
 * Writes the file: outer header, MANIFEST (m, with `from` and the counts
 * filled in by the writer), schema, values, rows, signature; then commits
 * it.  Vectors are written sorted by origin.  On success *size is the
 * final file size and m's `from` and counts hold what was written.
 */
int bundle_writer_finish(struct bundle_writer *w, struct manifest *m,
    uint64_t *size, char *err);

/* Removes spool files and any unfinished output; fine on NULL. */
void bundle_writer_free(struct bundle_writer *w);

/* ---- reading ---- */

struct bundle_reader;

/*
 * Opens `path` and parses the outer header only (magic, version, limits).
 * MULE_EFORMAT / MULE_EINCOMPLETE / MULE_ETOOLARGE for a file that is not a
 * bundle or is truncated before the end of its header.
 */
int bundle_open(const char *path, struct bundle_reader **out, char *err);
const struct bundle_info *bundle_get_info(const struct bundle_reader *r);

/*
 * Reads the whole file once and checks the signature against `sender`,
 * keeping a BLAKE2b-256 of each block of the signed bytes (at most 2 MiB
 * of them) so that bundle_read can use only those bytes.  MULE_EVERIFY for
 * a bad signature (tampered or truncated file), or when `sender`'s key id
 * is not the one the header names.
 */
int bundle_verify(struct bundle_reader *r, const struct ident_pub *sender,
    char *err);

/*
 * Whether `me` is among the recipients the outer header names (by key
 * id).  An unencrypted bundle names them too, but anyone can read it; the
 * MANIFEST's `to` lists the recipient site ids as well.
 */
int bundle_is_recipient(const struct bundle_reader *r,
    const struct ident_pub *me);

/*
 * Callbacks for bundle_read.  Each returns 0 or a MULE_E* code that stops
 * reading.  Pointers passed in are valid only during the call.
 */
struct bundle_sink {
	void *arg;
	/* Always first. */
	int (*manifest)(void *arg, const struct manifest *m);
	int (*schema)(void *arg, const struct bundle_schema *s);
	/*
	 * A large value: its hash (BLAKE2b-256 of the bytes), type, bytes.
	 * Identical bytes are stored once even when cells use them as TEXT
	 * and as BLOB: `type` is the first use's, each MVAL_REF cell says
	 * its own.  Values come before all tables and rows.
	 */
	int (*value)(void *arg, const uint8_t hash[VALUE_REF_LEN], int type,
	    const uint8_t *p, size_t n);
	int (*table)(void *arg, const char *table, uint32_t ncols,
	    const char *const *cols, uint32_t npk, const uint32_t *pkcols);
	int (*row)(void *arg, const struct rowchange *rc);
};

/*
 * Decrypts (with `me`, which must be a recipient of an encrypted bundle;
 * NULL is fine for an unencrypted one), decompresses and parses the
 * payload, streaming, and calls the sink.  Also checks the per-member
 * hashes and counts listed in MANIFEST.  MULE_EINVAL if bundle_verify has
 * not succeeded on `r`; MULE_ENOTRECIPIENT if `me` cannot open the file
 * key; MULE_EVERIFY if the file changed since bundle_verify (noticed at
 * the first changed block, before any of its bytes is decrypted or given
 * to the parser; the sink may have seen the verified bytes before it, so
 * the caller must not commit what the sink did then); a sink's
 * own code stops reading and is returned.  May be called again.  The
 * MANIFEST is not compared with the outer header here: the manifest sink
 * does that (sync_manifest_check).
 */
int bundle_read(struct bundle_reader *r, const struct ident_secret *me,
    const struct bundle_sink *sink, char *err);

/*
 * Writes the decrypted inner archive (zstd-compressed tar) to `fd`, for
 * `mule inspect --raw`.  Requires a verified reader.
 */
int bundle_write_raw(struct bundle_reader *r, const struct ident_secret *me,
    int fd, char *err);

void bundle_close(struct bundle_reader *r);

#endif
