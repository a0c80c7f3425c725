/*
 * sync/inspect.h — what a bundle holds, for 'mule inspect': verified as
 * unpack verifies it (trusted signer, signature, manifest against the
 * signed header), counted, nothing applied.
 */
#ifndef MULE_SYNC_INSPECT_H
#define MULE_SYNC_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "sync/sync.h"

/* One table's row changes in the bundle. */
struct sync_inspect_table {
	char *name;		/* heap */
	uint64_t rows, deletes, cells;
};

struct sync_inspection {
	struct replica_peer peer;	/* the verified signer */
	struct bundle_info info;	/* the outer header */
	struct manifest m;	/* bundle id, sender, seq, full, schema
				 * versions, base, top and ack vectors */
	struct sync_inspect_table *t;	/* heap, nt, in bundle order */
	size_t nt;
	uint64_t schema;	/* schema migration steps */
	uint64_t values, value_bytes;	/* large values carried */
	/* Content digests (tables) and key-range summaries it carries. */
	uint64_t digests, summaries;
};

/*
 * Checks the bundle at `path` (signed by a trusted peer; when it is
 * encrypted, `me` must be a recipient: MULE_ENOTRECIPIENT otherwise) and
 * reads it into *out (zero it before; release it with
 * sync_inspection_release in every case).  With raw_fd >= 0 the inner
 * archive is written there instead and only out->peer and out->info are
 * filled.  0 or a MULE_E* code with the message in err.
 */
int sync_inspect(struct replica *rp, const struct ident_secret *me,
    const char *path, int raw_fd, struct sync_inspection *out, char *err);
void sync_inspection_release(struct sync_inspection *x);

/* One bundle among the operands of verify and inspect. */
struct sync_found {
	const char *path;	/* the bundle file to read; NULL when there
				 * is none (code says why) */
	const char *label;	/* how to name it: the operand, DIR/NAME,
				 * IMAGE:NAME, or "BASE (parts)" */
	int code;		/* 0, or MULE_EINCOMPLETE (parts missing),
				 * or what made the input unreadable */
	const char *err;	/* the message for code ("" for 0) */
};
/* Called once per bundle or problem; every pointer is valid during the
 * call only (a bundle rebuilt from parts is removed after it). */
typedef void (*sync_found_fn)(void *arg, const struct sync_found *f);

/*
 * Calls fn for each bundle the operands hold, in order: a file as it is;
 * every bundle and part of a directory (sorted by name); the bundles and
 * parts an ISO 9660 image holds (extracted into a scratch directory
 * beside `db`); the mule attachments of .eml files.  The parts of one
 * bundle, wherever among the operands they are, are joined into a
 * scratch file beside `db` when enough are there (path set), else
 * reported with MULE_EINCOMPLETE and a message saying which are missing.
 * Nothing goes to the spool and the replica is not changed.  Returns 0
 * once the operands are read, whatever each bundle's fate; else the error
 * that stopped it before fn was called (an operand that does not exist:
 * MULE_ENOTFOUND; an unreadable image ...), message in err.
 */
int sync_inspect_inputs(struct replica *rp, const char *db,
    char *const *operands, size_t n, sync_found_fn fn, void *arg,
    char *err);

/* When the message in err starts with "PATH: ", makes it "LABEL: "
 * (a scratch file's name replaced by what people know it as). */
void sync_found_relabel(char *err, const char *path, const char *label);

#endif
