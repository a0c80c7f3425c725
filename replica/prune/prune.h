/*
 * replica/prune/prune.h — forgetting what no peer can still need: deleted
 * rows' state (tombstones), old bundle log entries, and the guard that
 * keeps a row deleted once its tombstone is gone (docs/state.md,
 * "Pruning").  Called by sync/pack.c and sync/unpack.c inside their
 * transactions.
 */
#ifndef MULE_REPLICA_PRUNE_H
#define MULE_REPLICA_PRUNE_H

#include <stdint.h>

#include "core/change.h"

struct replica;
struct replica_apply;

/* Work done by one replica_prune run. */
struct replica_prune_stats {
	uint64_t looked;	/* tombstones looked at */
	uint64_t tombstones;	/* tombstones deleted */
	uint64_t bundles;	/* bundle log entries deleted */
};

/*
 * The pruning horizon as it is now: per origin, the smallest counter of
 * our own vector and every trusted peer's acked vector (an origin one of
 * them lacks is 0).  Empty when there is no peer.  *out is replaced (the
 * caller releases it).  0 or a MULE_E* code.
 */
int replica_prune_horizon(struct replica *rp, struct vector *out, char *err);

/*
 * The recorded horizon: the highest horizon below which tombstones were
 * ever deleted here (empty when none was).  Every row whose tombstone was
 * pruned was created below it.  *out is replaced.  0 or a MULE_E* code.
 */
int replica_prune_recorded(struct replica *rp, struct vector *out,
    char *err);

/*
 * One bounded pruning run, inside the caller's write transaction: deletes
 * tombstones below the horizon (at most a few thousand looked at per
 * run, each table resuming where the last run stopped), raises the
 * recorded horizon when it deleted any, and deletes bundle log entries
 * the log rule no longer keeps.  `st` may be NULL.  0 or a MULE_E* code.
 */
int replica_prune(struct replica *rp, struct replica_prune_stats *st,
    char *err);

/*
 * At pack, for each recipient: a peer whose acked vector does not cover
 * the recorded horizon (new, added again, or behind) is marked, since
 * the bundle cannot carry the deletions forgotten here; every later
 * bundle from a marked peer is guarded (replica_prune_guard).  0 or a
 * MULE_E* code.
 */
int replica_prune_mark(struct replica *rp, const char *peer, char *err);

/*
 * At unpack, after the apply is made: guards it when the bundle's `top`
 * does not cover the recorded horizon (a bundle made before it: late, or
 * from a copy restored from a backup) or the peer is marked.  A guarded
 * apply does not bring back an alive row it holds no state for whose
 * existence stamp is below the recorded horizon: it was deleted here and
 * its tombstone pruned.  The deletion is also made again when the peer
 * lacks it (marked, or its acked vector below the horizon, or `seq` is
 * its newest bundle: not a late one), see replica_apply_guard.  0 or a
 * MULE_E* code.
 */
int replica_prune_guard(struct replica *rp, struct replica_apply *a,
    const char *peer, const struct vector *top, uint64_t seq, char *err);

#endif
