/* sync/local.c — changes made at this site in one transaction (see
 * local.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "sync/local.h"

/* Tracks one table and tells `each`; with `all`, a table without a key
 * is skipped.  0 or a MULE_E* code. */
static int
track_one(struct replica *rp, const char *name, int all, sync_track_fn each,
    void *arg, char *err)
{
	int intkey = 0, already = 0, r;

	r = replica_track(rp, name, &intkey, &already, err);
	if (r == MULE_ENOPK && all) {
		each(arg, name, SYNC_TRACKED_NOPK, 0);
		r = 0;
	} else if (r == 0) {
		each(arg, name, already ? SYNC_TRACKED_ALREADY :
		    SYNC_TRACKED_NEW, intkey);
		/* A table named by hand is part of the tracked set again. */
		if (!all)
			r = replica_schema_exclude(rp, name, 0, err);
	}
	return r;
}

int
sync_track(struct replica *rp, const char *const *names, size_t n,
    sync_track_fn each, void *arg, sync_progress_fn progress, void *parg,
    size_t *ntables, uint64_t *baseline, char *err)
{
	struct replica_scan_stats st;
	struct replica_schema_sync ss;
	char **user = NULL;
	size_t i, nuser = 0;
	int r, all = names == NULL;

	memset(&st, 0, sizeof(st));
	memset(&ss, 0, sizeof(ss));
	if ((r = replica_begin(rp, err)) != 0 ||
	    (all && (r = replica_user_tables(rp, &user, &nuser, err)) != 0))
		goto out;
	if (all) {
		names = (const char *const *)user;
		n = nuser;
	}
	*ntables = n;
	for (i = 0; i < n && r == 0; i++)
		r = track_one(rp, names[i], all, each, arg, err);
	/* The tracked set is the schema: version 1, or a new version. */
	if (r == 0 && all)
		r = replica_schema_track_all(rp, err);
	if (r == 0)
		r = replica_schema_sync(rp, &ss, err);
	/* Existing rows become the baseline: one local commit. */
	if (r == 0)
		r = replica_scan(rp, 0, &st, progress, parg, err);
	if (r == 0 && (r = replica_commit(rp, err)) == 0)
		*baseline = st.inserted;
out:
	if (r != 0)
		replica_rollback(rp);
	replica_scan_stats_release(&st);
	replica_schema_sync_release(&ss);
	replica_names_free(user, nuser);
	return r;
}

int
sync_untrack(struct replica *rp, const char *table, char *err)
{
	int r;

	if ((r = replica_begin(rp, err)) != 0 ||
	    (r = replica_untrack(rp, table, err)) != 0 ||
	    (r = replica_schema_exclude(rp, table, 1, err)) != 0 ||
	    (r = replica_commit(rp, err)) != 0)
		replica_rollback(rp);
	return r;
}

int
sync_schema_record(struct replica *rp, const char *file, uint32_t *version,
    char *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	/* file_read_all ends the text with a NUL of its own. */
	if ((r = file_read_all(file, SCHEMA_MAX_SQL, &buf, &len, err)) != 0)
		goto out;
	if (memchr(buf, '\0', len) != NULL) {
		r = mule_errf(err, MULE_EINVAL, "%s: a SQL script cannot "
		    "hold NUL bytes", file);
		goto out;
	}
	if ((r = replica_begin(rp, err)) != 0 ||
	    (r = replica_schema_record(rp, (const char *)buf, version,
	    err)) != 0 ||
	    (r = replica_commit(rp, err)) != 0)
		replica_rollback(rp);
out:
	free(buf);
	return r;
}

int
sync_schema_decide(struct replica *rp, uint32_t version, int accept,
    size_t *n, char *err)
{
	int r;

	if ((r = replica_begin(rp, err)) != 0 ||
	    (r = replica_schema_review_decide(rp, version, accept, n,
	    err)) != 0 || (r = replica_commit(rp, err)) != 0)
		replica_rollback(rp);
	return r;
}

int
sync_schema_forget(struct replica *rp, uint32_t version, uint32_t *forgot,
    char *err)
{
	int r;

	if ((r = replica_begin(rp, err)) != 0 ||
	    (r = replica_schema_forget(rp, version, forgot, err)) != 0 ||
	    (r = replica_commit(rp, err)) != 0)
		replica_rollback(rp);
	return r;
}

int
sync_conflict_resolve(struct replica *rp, int64_t id, const char *keep,
    const char *value, struct replica_resolution *res,
    sync_progress_fn progress, void *parg, char *err)
{
	struct replica_scan_stats scan, again;
	struct replica_schema_sync ss;
	int r;

	memset(&scan, 0, sizeof(scan));
	memset(&again, 0, sizeof(again));
	memset(&ss, 0, sizeof(ss));
	/* Earlier edits first, then the resolution as a change of its own. */
	if ((r = replica_begin(rp, err)) != 0 ||
	    (r = replica_schema_sync(rp, &ss, err)) != 0 ||
	    (r = replica_scan(rp, 0, &scan, progress, parg, err)) != 0 ||
	    (r = replica_conflict_resolve(rp, id, keep, value, res,
	    err)) != 0 ||
	    (r = replica_scan(rp, 0, &again, progress, parg, err)) != 0 ||
	    (r = replica_commit(rp, err)) != 0)
		replica_rollback(rp);
	replica_scan_stats_release(&scan);
	replica_scan_stats_release(&again);
	replica_schema_sync_release(&ss);
	return r;
}

void
sync_site_name(struct replica *rp, const uint8_t id[SITE_ID_LEN], char *out,
    size_t n)
{
	struct replica_peer *v = NULL;
	struct replica_site site;
	const char *name = NULL;
	size_t i, np = 0;

	if (replica_site(rp, &site, NULL) == 0 &&
	    memcmp(site.id, id, SITE_ID_LEN) == 0)
		name = site.name;
	else if (replica_peer_list(rp, &v, &np, NULL) == 0)
		for (i = 0; i < np && name == NULL; i++)
			if (v[i].has_site &&
			    memcmp(v[i].site_id, id, SITE_ID_LEN) == 0)
				name = v[i].name;
	if (name != NULL)
		snprintf(out, n, "%s", name);
	else
		for (i = 0; i < 8 && 2 * i + 2 < n; i++)
			snprintf(out + 2 * i, 3, "%02x", id[i]);
	free(v);
}
