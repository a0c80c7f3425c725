/*
 * sync/recover.h — sites restored from a backup (sync/recover.c).
 * Private to sync/; the public side is sync_recover_* in sync.h.
 */
#ifndef MULE_SYNC_RECOVER_H
#define MULE_SYNC_RECOVER_H

#include "sync/sync.h"

/* This site's counter of its own changes (its entry in its vector). */
int recover_own(struct replica *rp, uint64_t *own, char *err);

/*
 * After a bundle from `peer` was applied, inside its transaction: when
 * the sender knows more of this site than `own` (what this site held of
 * its own changes before the bundle), or has applied a bundle number of
 * ours we have not reached, or the site was marked with mule recover:
 * own stamps in (own, the sender's knowledge] move past it
 * (replica_restamp), our bundle numbers continue after the sender's
 * highest, a full comparison with `peer` is queued, and res->restored*
 * say so.  0 or a MULE_E* code.
 */
int recover_after_unpack(struct replica *rp, const char *peer,
    const struct manifest *m, uint64_t own, struct sync_unpack_result *res,
    char *err);

#endif
