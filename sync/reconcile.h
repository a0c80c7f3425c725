/*
 * sync/reconcile.h — content digests and reconciliation in bundles
 * (docs/design.md §8a; docs/state.md "Digests and reconciliation").
 * Private to sync/.
 *
 * A bundle to one peer that shares whole tables with us (no sync set, no
 * map, either way) carries two pseudo-table segments besides the rows:
 *
 *   _mule_digest   (tbl, n, sum): per tracked table, what the sender
 *                  holds (replica_digest_get) at the bundle's top vector;
 *   _mule_summary  (i, tbl, lo, hi, n, sum, kind): per key range [lo, hi)
 *                  of a table being reconciled, the sender's digest of it
 *                  (kind 1), or a request for the recipient's rows of it
 *                  (kind 2, sent with the sender's own rows of it).
 *
 * The recipient compares digests only when it knows exactly what the
 * sender knew (its vector equals the bundle's top) at the same schema: a
 * difference then is divergence, and reconciliation starts by itself.
 * Summaries that differ are refined (the range cut in RECON_FANOUT by the
 * recipient's rows) until a range holds at most RECON_LEAF rows at the two
 * sites together; then both send those rows whole, and the merge rule
 * decides as for any change.  The bytes grow with the rows that differ.
 */
#ifndef MULE_SYNC_RECONCILE_H
#define MULE_SYNC_RECONCILE_H

#include "sync/sync.h"

#define RECON_DIGEST_TABLE "_mule_digest"
#define RECON_SUMMARY_TABLE "_mule_summary"
#define RECON_FANOUT 16		/* pieces a differing range is cut into */
#define RECON_LEAF 64		/* rows at both sites: exchange them */
/* Default of reconcile.whole-below: smaller tables send baselines whole. */
#define RECON_WHOLE_BELOW 1000
/* Named limits on what a bundle may carry (checked as it is read). */
#define RECON_MAX_DIGESTS 65536
#define RECON_MAX_SUMMARIES 65536
#define RECON_MAX_BOUND 65536	/* bytes of one key-range bound */

struct recon_digest {
	char *tbl;
	struct replica_digest d;
};

struct recon_summary {
	char *tbl;
	struct replica_range range;
	struct replica_digest d;
	int want;		/* kind 2: send us your rows of the range */
};

/* What one bundle carried, collected while it is read. */
struct recon_in {
	int mode;		/* segment being read: 0 rows, 1 digests, 2 summaries */
	struct recon_digest *dig;
	size_t ndig;
	struct recon_summary *sum;
	size_t nsum;
};

void recon_in_release(struct recon_in *in);

/*
 * 1 when `peer` and this site hold the same tables: no sync set or map
 * either way, not a schema of its own.  Only such peers get digests and
 * summaries.
 */
int recon_plain(struct replica *rp, const char *peer);
/* Queues a comparison of every tracked table with `peer` (*ntables, when
 * not NULL: how many).  0 or a MULE_E* code. */
int recon_compare_all(struct replica *rp, const char *peer, size_t *ntables,
    char *err);

/*
 * A segment begins: *taken = 1 when it is one of ours (then its rows go
 * to recon_row), after checking its columns; MULE_EFORMAT otherwise.
 */
int recon_table(struct recon_in *in, const char *table, uint32_t ncols,
    const char *const *cols, int *taken, char *err);
/* One row of our segment: checked (types, sizes, limits) and kept. */
int recon_row(struct recon_in *in, const struct rowchange *rc, char *err);

/*
 * After the bundle's rows were applied, inside its transaction: compares
 * digests when they are comparable, starts reconciliation of tables that
 * differ (unless the bundle carries the peer's own), answers summaries
 * (queued for the next bundle to `peer`), and fills the result's
 * reconciliation fields.
 */
int recon_unpack(struct replica *rp, const char *peer,
    const struct manifest *m, const struct recon_in *in,
    struct sync_unpack_result *res, char *err);

/*
 * Into a bundle to the one peer `peer`, inside the pack's transaction,
 * in two steps: first (before the changes, which may edit them) the
 * whole rows of the key ranges queued for it, into `rows`; last our
 * digests (to a peer sharing whole tables only) and the queued
 * summaries, after which the queue is emptied.  res->recon_rows and
 * res->recon_ranges count.
 */
int recon_pack_rows(struct replica *rp, const char *peer,
    const struct replica_out_sink *rows, struct sync_pack_result *res,
    char *err);
int recon_pack_notes(struct replica *rp, const char *peer,
    struct bundle_writer *w, struct sync_pack_result *res, char *err);

#endif
