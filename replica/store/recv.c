/*
 * replica/store/recv.c — one site, one history: a bundle whose number or
 * counters contradict the bundles received before from the same site is
 * refused (see store.h, replica_recv_check).
 */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "replica/internal.h"

/* What a "recv" entry's top holds: the sender's site id, then its own
 * counter as 8 big-endian bytes (the blob replica_log_add writes for a
 * vector of one entry). */
#define RECV_TOP_LEN (SITE_ID_LEN + 8)

static void
put_be64(uint8_t b[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)(v & 0xff);
}

static uint64_t
get_be64(const uint8_t *b)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

/* The refusal's common end: what it means and what to do. */
#define RECV_WHY "either %s was restored from a backup (then run 'mule " \
	"recover' there and send it a bundle from here: mule pack --to %s), " \
	"or its replica was copied with its key file to a second place (keep " \
	"one; a second site is made with 'mule clone').  Nothing was applied"

int
replica_recv_check(struct replica *rp, const char *peer,
    const uint8_t site[SITE_ID_LEN], const uint8_t bundle[16], uint64_t seq,
    uint64_t own, char *err)
{
	sqlite3_stmt *st = NULL;
	uint8_t be[8];
	uint64_t oseq, ocnt;
	int rc, r = MULE_EINTERNAL;

	/* Bundle numbers and a site's own counter grow together. */
	if ((r = rp_prepare(rp, "SELECT seq, substr(top, 17) FROM _mule_bundles"
	    " WHERE dir = 'recv' AND length(top) = ?5 AND substr(top, 1, 16) ="
	    " ?1 AND bundle <> ?2 AND (seq = ?3 OR (seq < ?3 AND"
	    " substr(top, 17) > ?4) OR (seq > ?3 AND substr(top, 17) < ?4))"
	    " ORDER BY seq = ?3 DESC, seq DESC LIMIT 1", &st, err)) != 0)
		goto out;
	put_be64(be, own);
	sqlite3_bind_blob(st, 1, site, SITE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, bundle, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)seq);
	sqlite3_bind_blob(st, 4, be, sizeof(be), SQLITE_STATIC);
	sqlite3_bind_int(st, 5, RECV_TOP_LEN);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = rp_dberr(rp, rc, err, "read bundle log");
		goto out;
	}
	if (sqlite3_column_bytes(st, 1) != 8) {
		r = mule_errf(err, MULE_EDB, "damaged bundle log");
		goto out;
	}
	oseq = (uint64_t)sqlite3_column_int64(st, 0);
	ocnt = get_be64(sqlite3_column_blob(st, 1));
	if (oseq == seq)
		r = mule_errf(err, MULE_EVERIFY, "this is bundle number %llu "
		    "from %s, and a different bundle with that number from %s "
		    "was applied here before: one site never makes two bundles "
		    "with one number, so " RECV_WHY, (unsigned long long)seq,
		    peer, peer, peer, peer);
	else
		r = mule_errf(err, MULE_EVERIFY, "this is bundle number %llu "
		    "from %s, whose own changes reach counter %llu, but its "
		    "bundle number %llu, applied here before, had reached "
		    "%llu: a site's counters never run backwards, so " RECV_WHY,
		    (unsigned long long)seq, peer, (unsigned long long)own,
		    (unsigned long long)oseq, (unsigned long long)ocnt, peer,
		    peer);
out:
	sqlite3_finalize(st);
	return r;
}
