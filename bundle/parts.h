/*
 * bundle/parts.h — a bundle split into self-identifying parts, with
 * Reed-Solomon parity (Intel ISA-L), and joined back.
 *
 * Exact bytes: man/mule-bundle.5, section PARTS.  In short, a part file is
 * a fixed PARTS_HEADER_LEN-byte header followed by its payload:
 *
 *   magic "MULEPART", version 1, the bundle's id (a copy of bytes 10..25
 *   of the bundle), bundle size, BLAKE2b-256 of the bundle, ndata, nparity,
 *   this part's index, payload length, BLAKE2b-256 of the payload,
 *   BLAKE2b-256 of the header bytes before it.
 *
 * Data part i (0 <= i < ndata) holds bundle bytes [i*L, (i+1)*L), the last
 * one zero-padded to L = ceil(size / ndata); parity part ndata+p holds, byte
 * by byte, the GF(2^8) sum over the data parts of gf_inv((ndata+p) ^ j) *
 * data_j (ISA-L's Cauchy matrix, gf_gen_cauchy1_matrix).  Any ndata parts
 * with good payloads rebuild the bundle.
 *
 * Files are named BASE.dNNN-of-MMM.mule-part (data, NNN = index+1, MMM =
 * ndata) and BASE.pNNN-of-MMM.mule-part (parity, NNN = index-ndata+1, MMM =
 * nparity), three digits at least, so a directory listing sorts them data
 * first and in order.  Names are a convenience: only the header counts.
 *
 * Memory stays bounded by (ndata + nparity) * PARTS_STRIPE whatever the
 * bundle size: split and join work on PARTS_STRIPE bytes of each part at
 * a time.
 */
#ifndef MULE_BUNDLE_PARTS_H
#define MULE_BUNDLE_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "bundle/bundle.h"
#include "core/progress.h"

#define PARTS_MAGIC "MULEPART"
#define PARTS_MAGIC_LEN 8
#define PARTS_VERSION 1
#define PARTS_ID_LEN 16			/* = BUNDLE_ID_LEN */
#define PARTS_HASH_LEN 32		/* BLAKE2b-256 */
/*
 * magic 8, version 1, bundle id 16, bundle size 8, bundle hash 32,
 * ndata 2, nparity 2, index 2, payload length 8, payload hash 32,
 * header checksum 32.
 */
#define PARTS_HEADER_LEN 143
#define PARTS_SUFFIX ".mule-part"

/* Named limits on what a part header may say (checked before use). */
#define PARTS_MAX 255			/* ndata + nparity: GF(2^8) */
#define PARTS_MAX_PAYLOAD ((uint64_t)1 << 40)	/* bytes of one payload */
/* A bundle is at least its magic, version, flags and id. */
#define PARTS_MIN_BUNDLE 26
#define PARTS_STRIPE 65536		/* bytes of each part in memory */

/* What a part header says (parts_read_header). */
struct part_info {
	uint8_t bundle_id[PARTS_ID_LEN];
	uint64_t bundle_size;
	uint8_t bundle_hash[PARTS_HASH_LEN];
	uint16_t ndata;			/* 1.. */
	uint16_t nparity;		/* 0.., ndata + nparity <= PARTS_MAX */
	uint16_t index;			/* < ndata: data; else parity */
	uint64_t payload_len;		/* ceil(bundle_size / ndata) */
	uint8_t payload_hash[PARTS_HASH_LEN];
};

/* Per index, in struct parts_status. */
enum part_state {
	PART_MISSING = 0,		/* no file for this index */
	PART_GOOD = 1,			/* a file whose payload hash matches */
	PART_BAD = 2,			/* only files that failed their hash */
};

/*
 * Which parts of one bundle are at hand.  `info` holds the group's
 * parameters (its `index` and `payload_hash` are those of the first part
 * read and mean nothing for the group).
 */
struct parts_status {
	struct part_info info;
	unsigned ngood;			/* distinct indexes in state PART_GOOD */
	unsigned nneeded;		/* more good parts needed; 0: complete */
	uint8_t state[PARTS_MAX];	/* enum part_state, per index */
	size_t nunreadable;		/* files whose header was refused */
	size_t nforeign;		/* files of another bundle (ignored) */
	size_t nduplicate;		/* extra files for an index already good */
};

/*
 * Encodes `in` (index and all) as a part header, checksum included.
 * MULE_EINVAL if `in` breaks a rule parts_parse_header checks.
 */
int parts_encode_header(const struct part_info *in,
    uint8_t out[PARTS_HEADER_LEN], char *err);

/*
 * Parses a part header from the first n bytes of p (which may hold more).
 * Checks, in order: magic and version (MULE_EFORMAT), length
 * (MULE_EINCOMPLETE), checksum (MULE_EFORMAT), counts and lengths against
 * their limits (MULE_ETOOLARGE) and against each other (MULE_EFORMAT).
 */
int parts_parse_header(const uint8_t *p, size_t n, struct part_info *out,
    char *err);

/*
 * Reads and checks the header of the part file at `path` (a regular
 * file), and that the file holds exactly the header and payload_len bytes:
 * a shorter file is MULE_EINCOMPLETE, a longer one MULE_EFORMAT.  The
 * payload is not read (parts_status_compute with `verify` does that).
 */
int parts_read_header(const char *path, struct part_info *out, char *err);

/*
 * What data part 1 (index 0) at `path` says of its bundle: its part
 * header in *pi, and the bundle's outer header (bundle/bundle.h: sender,
 * recipients' key ids; file_size 0), which the first bytes of its payload
 * are, in *bi.  The payload is hashed first, so a damaged part says
 * nothing; still, nothing here is signed: this tells what the part
 * claims, not who made it.  Errors: those of parts_read_header;
 * MULE_ENOTFOUND for another part than data part 1; MULE_EVERIFY when
 * the payload does not match its hash (a damaged part); MULE_EINCOMPLETE
 * when the payload ends before the outer header does (parts smaller than
 * the header); MULE_EFORMAT when the payload does not start with a bundle
 * header of this bundle id.
 */
int parts_read_bundle_head(const char *path, struct part_info *pi,
    struct bundle_info *bi, char *err);

/*
 * How a bundle of `bundle_size` bytes splits into volumes of at most
 * `volume_size` bytes with `nparity` parity parts: *ndata data parts of
 * *payload_len payload bytes each (every part file is PARTS_HEADER_LEN +
 * *payload_len bytes; there are *ndata + nparity of them).  The errors
 * are parts_split's MULE_EINVAL, saying the smallest usable volume size.
 */
int parts_plan(uint64_t bundle_size, uint64_t volume_size, uint32_t nparity,
    unsigned *ndata, uint64_t *payload_len, char *err);

/*
 * Splits the bundle at `bundle_path` (which must start with the bundle
 * magic "MULEBNDL") into parts of at most `volume_size` bytes each (header
 * included), plus `nparity` parity parts, written to `outdir` as
 * BASE.dNNN-of-MMM.mule-part / BASE.pNNN-of-MMM.mule-part (see above;
 * `basename` is BASE as given: no "/", not empty, not starting with ".").
 * ndata = ceil(size / (volume_size - PARTS_HEADER_LEN)).
 *
 * MULE_EINVAL (saying the smallest usable volume size) if a part cannot
 * hold a byte or ndata + nparity would exceed PARTS_MAX; MULE_EFORMAT if
 * the file is not a bundle; MULE_EEXIST if a part name is taken;
 * MULE_ENOSPACE, before writing anything, if `outdir` lacks the space.
 * Each part is written through a safefile (temporary name, fsync, rename)
 * with the bundle's permission bits; on any failure the parts already
 * written are removed.
 *
 * On success *paths is a heap array of *npaths heap strings, data parts
 * first then parity, in index order; free it with parts_paths_free.
 */
int parts_split(const char *bundle_path, uint64_t volume_size,
    uint32_t nparity, const char *outdir, const char *basename,
    char ***paths, size_t *npaths, char *err);
/*
 * parts_split, reporting to `fn` (core/progress.h, PROGRESS_PARTS: bytes
 * of all the parts' payloads written so far, of all of them; once at 0
 * before the bundle is hashed).  NULL: silent, as parts_split.
 */
int parts_split_progress(const char *bundle_path, uint64_t volume_size,
    uint32_t nparity, const char *outdir, const char *basename,
    char ***paths, size_t *npaths, progress_fn fn, void *parg, char *err);

/* Frees an array from parts_split; fine on NULL. */
void parts_paths_free(char **paths, size_t n);

/*
 * Says which parts of a bundle the files at paths[0..n) provide: any order,
 * duplicates allowed.  The group is the bundle named by the first file
 * whose header reads; files of other bundles, or whose header disagrees
 * with the group's sizes, hashes or counts, are counted in `nforeign`;
 * unreadable ones in `nunreadable`.  With `verify`, every payload is read
 * and hashed and a part whose hash does not match counts as missing
 * (PART_BAD); without, a readable header is enough for PART_GOOD.
 * Returns 0 and fills *st (even when parts are missing: see st->nneeded);
 * MULE_EINVAL for n == 0; for no readable header at all, the error of the
 * first file.
 */
int parts_status_compute(const char *const *paths, size_t n, int verify,
    struct parts_status *st, char *err);

/*
 * Rebuilds the bundle from the part files at paths[0..n) (as in
 * parts_status_compute, verifying every payload hash), recovering missing
 * data parts from parity, and writes it to `out_path` through a safefile
 * (mode 0600, replacing an existing file).  The rebuilt bundle's
 * BLAKE2b-256 and id must match the headers' (MULE_EVERIFY otherwise,
 * nothing written).  Fewer than ndata good parts is MULE_EINCOMPLETE with
 * the missing indexes in the message.  `st` (may be NULL) is filled on
 * success and on MULE_EINCOMPLETE.
 */
int parts_join(const char *const *paths, size_t n, const char *out_path,
    struct parts_status *st, char *err);

/*
 * The file name (no directory) of part `index` of a bundle split into
 * ndata + nparity parts: a new heap string the caller frees, or NULL when
 * out of memory or the numbers are out of range.
 */
char *parts_name(const char *basename, unsigned index, unsigned ndata,
    unsigned nparity);

#endif
