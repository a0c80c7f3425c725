/*
 * sync/recover.c — a site restored from a backup (issue 14; docs/state.md
 * "Restored sites"): a peer's bundle says how far this site had gone
 * (the peer's knowledge of our changes, the highest of our bundle
 * numbers it applied); when that is beyond what this copy holds, this
 * site moves its counters and bundle numbers past its lost past, so no
 * stamp and no number is ever used twice for different contents, and a
 * full comparison with that peer brings back what the backup lost.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sync/reconcile.h"
#include "sync/recover.h"

#define RESTORED_KEY "restored"	/* _mule_config: set by mule recover */
/*
 * One peer's bundle says how far this site had gone as that peer saw it;
 * another may have seen more.  New counters and bundle numbers start this
 * far beyond the highest the site can see, so that they never meet what
 * its lost past used.
 */
#define RESTORE_COUNTER_GAP (1ULL << 24)
#define RESTORE_SEQ_GAP 1000

/*
 * The highest counter of our own changes this copy had sent to any peer:
 * every stamp of ours at or below it is the same at the peers (sent from
 * this very history); those above may have been reused since the restore.
 */
static int
recover_sent(struct replica *rp, const uint8_t me[SITE_ID_LEN],
    uint64_t *sent, char *err)
{
	struct replica_peer *peers = NULL;
	struct vector v;
	size_t i, np = 0;
	int r;

	*sent = 0;
	vector_init(&v);
	if ((r = replica_peer_list(rp, &peers, &np, err)) != 0)
		goto out;
	for (i = 0; i < np && r == 0; i++) {
		vector_release(&v);
		if ((r = replica_peer_vector(rp, peers[i].name, "sent", &v,
		    err)) == 0 && vector_get(&v, me) > *sent)
			*sent = vector_get(&v, me);
	}
out:
	vector_release(&v);
	free(peers);
	return r;
}

int
recover_own(struct replica *rp, uint64_t *own, char *err)
{
	struct replica_site me;
	struct vector known;
	int r;

	vector_init(&known);
	if ((r = replica_site(rp, &me, err)) == 0 &&
	    (r = replica_known(rp, &known, err)) == 0)
		*own = vector_get(&known, me.id);
	vector_release(&known);
	return r;
}

/*
 * Our next bundle to every peer sharing whole tables compares every
 * table (a full check): whatever the backup lost, some peer holds it.
 */
static int
recover_compare(struct replica *rp, char *err)
{
	struct replica_peer *peers = NULL;
	size_t j, np = 0;
	int r;

	if ((r = replica_peer_list(rp, &peers, &np, err)) != 0)
		return r;
	for (j = 0; j < np && r == 0; j++)
		if (recon_plain(rp, peers[j].name))
			r = recon_compare_all(rp, peers[j].name, NULL, err);
	free(peers);
	return r;
}

int
recover_after_unpack(struct replica *rp, const char *peer,
    const struct manifest *m, uint64_t own, struct sync_unpack_result *res,
    char *err)
{
	struct replica_site me;
	uint8_t id[16];
	uint64_t ack, recv, now, cells, sent;
	int64_t next;
	char *flag = NULL;
	int r, marked;

	if ((r = replica_site(rp, &me, err)) != 0 ||
	    (r = replica_next_seq(rp, &next, err)) != 0 ||
	    (r = replica_config_get(rp, RESTORED_KEY, &flag, err)) != 0)
		goto out;
	marked = flag != NULL;
	ack = vector_get(&m->ack, me.id);
	recv = vector_get(&m->recv, me.id);
	if (ack <= own && recv < (uint64_t)next && !marked) {
		r = 0;
		goto out;
	}
	if ((r = recover_sent(rp, me.id, &sent, err)) != 0 ||
	    (r = replica_restamp(rp, sent, ack > own ? ack : own,
	    RESTORE_COUNTER_GAP, &now, &cells, err)) != 0)
		goto out;
	randombytes_buf(id, sizeof(id));
	if ((r = replica_log_add(rp, id, "spent", peer, (int64_t)((recv >=
	    (uint64_t)next ? recv : (uint64_t)next) + RESTORE_SEQ_GAP), "",
	    "numbers this site may have used before it was restored from a "
	    "backup", NULL, err)) != 0)
		goto out;
	if ((r = recover_compare(rp, err)) != 0 ||
	    (marked && (r = replica_config_set(rp, RESTORED_KEY, NULL,
	    err)) != 0))
		goto out;
	res->restored = 1;
	res->restored_own = own;
	res->restored_ack = ack;
	res->restored_seq = recv;
	res->restamped = cells;
	r = 0;
out:
	free(flag);
	return r;
}

int
sync_recover_mark(struct replica *rp, char *err)
{
	int r;

	if ((r = replica_begin(rp, err)) != 0)
		return r;
	if ((r = replica_config_set(rp, RESTORED_KEY, "yes", err)) != 0 ||
	    (r = replica_commit(rp, err)) != 0)
		replica_rollback(rp);
	return r;
}

int
sync_recover_check(struct replica *rp, char *err)
{
	char *flag = NULL;
	int r;

	if ((r = replica_config_get(rp, RESTORED_KEY, &flag, err)) != 0)
		return r;
	if (flag != NULL)
		r = mule_errf(err, MULE_EINVAL, "this site was marked restored "
		    "from a backup ('mule recover'), and does not know yet how "
		    "far it had gone: nothing was packed.  Unpack a bundle from "
		    "a peer first (at the peer: mule pack --to THIS-SITE); it "
		    "moves this site past its lost past and starts a full "
		    "comparison, then pack");
	free(flag);
	return r;
}
