/* sync/status.c — where this site stands with its peers (see sync.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/sync.h"

/* How far behind `have` is compared with `want`: origins it lacks. */
static uint64_t
vector_behind(const struct vector *have, const struct vector *want)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < want->n; i++)
		if (vector_get(have, want->e[i].origin) < want->e[i].counter)
			n++;
	return n;
}

/* Whether `name` is one of the '+'-separated names in `list`. */
static int
in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == list || p[-1] == '+') && (p[n] == '\0' ||
		    p[n] == '+'))
			return 1;
		p += n;
	}
	return 0;
}

/*
 * The newest bundle (highest number) sent to or received from `peer`: a
 * stale one read late does not count (seq 0 when none).
 */
static void
last_bundle(const struct replica_logent *v, size_t n, const char *peer,
    const char *dir, int64_t *seq, char at[32])
{
	size_t i;

	*seq = 0;
	at[0] = '\0';
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].dir, dir) != 0 || !in_list(v[i].peer, peer) ||
		    v[i].seq < *seq)
			continue;
		*seq = v[i].seq;
		snprintf(at, 32, "%s", v[i].at);
	}
}

/* A numeric peer property (0 when unset). */
static long long
peer_num(struct replica *rp, const char *peer, const char *key)
{
	char *v = NULL;
	long long n = 0;

	if (replica_peer_prop(rp, peer, key, &v, NULL) == 0 && v != NULL)
		n = atoll(v);
	free(v);
	return n;
}

/* Bundles sent to the peer that it has not acknowledged: how many, and
 * the oldest's name: "a-hq-0007" when pack named its file, else
 * "bundle #7 (FILE)". */
static int
status_unacked(struct replica *rp, struct sync_peer_status *ps,
    const struct vector *acked, char *err)
{
	struct replica_logent *e;
	const char *base;
	char num[32];
	size_t n;
	int r;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	if ((r = replica_log_unacked(rp, ps->peer.name, acked, e,
	    &ps->unacked, err)) == 0 && ps->unacked > 0) {
		ps->unacked_seq = e->seq;
		base = strrchr(e->file, '/') != NULL ? strrchr(e->file, '/') +
		    1 : e->file;
		n = strlen(base);
		snprintf(num, sizeof(num), "-%04lld.mule", (long long)e->seq);
		/* A name pack made, FROM-TO-NNNN.mule: that without .mule. */
		if (n > strlen(num) && n - 5 < sizeof(ps->unacked_name) &&
		    strcmp(base + n - strlen(num), num) == 0)
			snprintf(ps->unacked_name, sizeof(ps->unacked_name),
			    "%.*s", (int)(n - 5), base);
		else
			snprintf(ps->unacked_name, sizeof(ps->unacked_name),
			    "bundle #%lld (%.40s)", (long long)e->seq, base);
	}
	free(e);
	return r;
}

/* Counts the rows a pass over changes hands over. */
static int
count_table(void *arg, const struct replica_table *t)
{
	(void)arg;
	(void)t;
	return 0;
}

static int
count_row(void *arg, const struct rowchange *rc)
{
	(void)rc;
	(*(uint64_t *)arg)++;
	return 0;
}

/*
 * Recorded changes the next 'pack --to PEER' would carry: rows with a
 * change above what the peer acknowledged, raised by what we sent it (as
 * pack's base).  Not narrowed to the peer's sync set: for a peer with one
 * this is an upper bound (ps->unpacked_upto).
 */
static int
status_unpacked(struct replica *rp, struct sync_peer_status *ps,
    const struct vector *acked, char *err)
{
	struct replica_out_sink sink;
	struct vector base;
	size_t i;
	int r;

	vector_init(&base);
	ps->unpacked = 0;
	sink.arg = &ps->unpacked;
	sink.table = count_table;
	sink.row = count_row;
	if ((r = replica_peer_vector(rp, ps->peer.name, "sent", &base,
	    err)) != 0)
		goto out;
	for (i = 0; i < acked->n; i++)
		if (vector_get(&base, acked->e[i].origin) <
		    acked->e[i].counter && (r = vector_set(&base,
		    acked->e[i].origin, acked->e[i].counter)) != 0)
			goto out;
	r = replica_changes(rp, &base, &sink, NULL, NULL, err);
	ps->unpacked_upto = ps->nshares > 0;
out:
	vector_release(&base);
	return r;
}

/* Per peer: bundles both ways, acknowledgements, losses. */
static int
status_peers(struct replica *rp, struct sync_status *out,
    const struct replica_peer *peers, char *err)
{
	struct replica_logent *log = NULL;
	struct sync_peer_status *ps;
	struct vector known, acked;
	size_t i, nlog = 0;
	int r;

	vector_init(&known);
	vector_init(&acked);
	if ((r = replica_known(rp, &known, err)) != 0 ||
	    (r = replica_log_list(rp, &log, &nlog, err)) != 0)
		goto out;
	for (i = 0; i < out->npeers; i++) {
		ps = &out->peers[i];
		ps->peer = peers[i];
		if ((r = replica_peer_vector(rp, ps->peer.name, "acked",
		    &acked, err)) != 0)
			goto out;
		last_bundle(log, nlog, ps->peer.name, "sent", &ps->last_sent,
		    ps->sent_at);
		last_bundle(log, nlog, ps->peer.name, "recv", &ps->last_recv,
		    ps->recv_at);
		ps->behind = vector_behind(&acked, &known);
		ps->applied = peer_num(rp, ps->peer.name, "_applied");
		ps->lost = peer_num(rp, ps->peer.name, "_lost");
		if ((r = status_unacked(rp, ps, &acked, err)) != 0)
			goto out;
		if ((r = replica_shares(rp, ps->peer.name, &ps->shares,
		    &ps->nshares, err)) != 0 ||
		    (r = status_unpacked(rp, ps, &acked, err)) != 0 ||
		    (r = replica_recon_state(rp, ps->peer.name, &ps->differ,
		    &ps->recon_queued, err)) != 0)
			goto out;
		ps->unpacked += out->scan.inserted + out->scan.updated +
		    out->scan.deleted;
	}
	r = 0;
out:
	vector_release(&known);
	vector_release(&acked);
	free(log);
	return r;
}

int
sync_status(struct replica *rp, struct sync_status *out,
    sync_progress_fn progress, void *parg, char *err)
{
	struct replica_peer *peers = NULL;
	size_t np = 0;
	int r;

	out->wal = replica_wal(rp);
	if ((r = replica_site(rp, &out->site, err)) != 0 ||
	    (r = replica_scan(rp, 1, &out->scan, progress, parg, err)) != 0 ||
	    (r = replica_peer_list(rp, &peers, &np, err)) != 0 ||
	    (r = replica_conflict_count(rp, &out->conflicts, err)) != 0 ||
	    (r = replica_conflict_count_noted(rp, &out->conflicts_at_peers,
	    err)) != 0 ||
	    (r = replica_schema_info(rp, &out->schema, err)) != 0)
		goto out;
	if (np > 0 && (out->peers = calloc(np, sizeof(*out->peers))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	out->npeers = np;
	r = status_peers(rp, out, peers, err);
out:
	free(peers);
	return r;
}

void
sync_status_release(struct sync_status *s)
{
	size_t i;

	if (s == NULL)
		return;
	replica_scan_stats_release(&s->scan);
	for (i = 0; i < s->npeers; i++) {
		replica_shares_free(s->peers[i].shares, s->peers[i].nshares);
		free(s->peers[i].differ);
	}
	free(s->peers);
	memset(s, 0, sizeof(*s));
}
