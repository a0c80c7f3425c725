/*
 * sync/deliver.h — pack, with the bundle delivered as parts, an ISO
 * image or mail instead of one plain file: sync_pack with its deliver
 * step (sync.h) filled in from plain options.
 */
#ifndef MULE_SYNC_DELIVER_H
#define MULE_SYNC_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "sync/sync.h"

/* How the bundle goes (all 0/NULL: a plain file, o->out). */
struct sync_deliver_opts {
	const char *db;		/* the database: scratch files go beside it */
	uint64_t volume;	/* parts of at most this many bytes, in o->out
				 * (a directory; NULL: ".") */
	uint32_t parity;	/* parity parts among them */
	const char *iso;	/* an ISO 9660 image of the bundle or parts */
	int mail;		/* mailed to each recipient's address */
	const char *eml;	/* .eml messages written into this directory */
};

/* What delivery made. */
struct sync_delivered {
	size_t nfiles;		/* parts in the image, parts, or messages
				 * per recipient */
	uint64_t bytes;		/* parts or image: the files' size in all
				 * (parity parts and headers too) */
	char *where;		/* heap (mail, eml): where the messages went */
};

/*
 * sync_pack(rp, o, res, err) with the bundle delivered as d asks: when
 * it asks for parts, an image or mail, the bundle is written whole to a
 * temporary file beside d->db and handed over inside the pack's
 * transaction, so that "sent" advances only when delivery succeeds (the
 * temporary file is gone afterwards).  o->tmp, o->deliver and o->darg are
 * ignored.  Returns what sync_pack returns; *res as there, *out filled
 * on success (zero it before; release it with sync_delivered_release
 * either way).
 */
int sync_pack_deliver(struct replica *rp, const struct sync_pack_opts *o,
    const struct sync_deliver_opts *d, struct sync_pack_result *res,
    struct sync_delivered *out, char *err);
void sync_delivered_release(struct sync_delivered *out);

#endif
