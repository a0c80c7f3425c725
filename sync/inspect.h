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

#endif
