/*
 * replica/store/clone.c — a consistent copy of a replica, and the copy
 * made a site of its own (see store.h; the command is sync/clone.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "replica/internal.h"

#define COPY_WAIT_MS 50		/* between tries while the source is locked */

/* Creates `path`, a new empty file with the mode of `from`. */
static int
copy_create(const char *from, const char *path, char *err)
{
	struct stat sb;
	int fd = -1, r = MULE_EINTERNAL;

	if (stat(from, &sb) != 0) {
		r = mule_errf(err, file_errno_code(errno), "%s: %s", from,
		    strerror(errno));
		goto out;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		r = mule_errf(err, errno == EEXIST ? MULE_EEXIST :
		    file_errno_code(errno), "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fchmod(fd, sb.st_mode & 0777) != 0) {
		r = mule_errf(err, file_errno_code(errno), "%s: %s", path,
		    strerror(errno));
		unlink(path);
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* Runs the backup to its end, waiting a bounded time for locks. */
static int
copy_steps(struct replica *rp, sqlite3 *dst, sqlite3_backup *bk,
    const char *path, char *err)
{
	int rc, busy = 0, waited = 0;

	while ((rc = sqlite3_backup_step(bk, -1)) != SQLITE_DONE) {
		busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
		if (!busy || waited >= REPLICA_BUSY_MS)
			break;
		sqlite3_sleep(COPY_WAIT_MS);
		waited += COPY_WAIT_MS;
	}
	if (rc == SQLITE_DONE)
		return 0;
	return busy ? rp_dberr(rp, rc, err, rp->path) :
	    rp_sqlerr(dst, rc, err, path);
}

int
replica_data_version(struct replica *rp, int64_t *version, char *err)
{
	return rp_scalar(rp, "PRAGMA data_version", 0, 0, version, err);
}

/*
 * A second connection to rp's file with a read transaction open: the
 * snapshot the backup copies.  *raced: another program committed since
 * rp read data_version `since` (< 0: not asked).
 */
static int
copy_snapshot(struct replica *rp, int64_t since, sqlite3 **out, int *raced,
    char *err)
{
	sqlite3 *db = NULL;
	int64_t now;
	int rc, r = MULE_EINTERNAL;

	rc = sqlite3_open_v2(rp->path, &db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = rp_sqlerr(db, rc, err, rp->path);
		goto out;
	}
	sqlite3_busy_timeout(db, REPLICA_BUSY_MS);
	rc = sqlite3_exec(db, "BEGIN; SELECT count(*) FROM sqlite_schema",
	    NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		r = rp_sqlerr(db, rc, err, rp->path);
		goto out;
	}
	if (since >= 0 && (r = replica_data_version(rp, &now, err)) != 0)
		goto out;
	*raced = since >= 0 && now != since;
	*out = db;
	db = NULL;
	r = 0;
out:
	sqlite3_close(db);
	return r;
}

int
replica_copy(struct replica *rp, int64_t since, const char *path,
    int *raced, char *err)
{
	sqlite3_backup *bk = NULL;
	sqlite3 *src = NULL, *dst = NULL;
	int rc, r = MULE_EINTERNAL, made = 0;

	if ((r = copy_snapshot(rp, since, &src, raced, err)) != 0 || *raced)
		goto out;
	if ((r = copy_create(rp->path, path, err)) != 0)
		goto out;
	made = 1;
	rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = rp_sqlerr(dst, rc, err, path);
		goto out;
	}
	if ((bk = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		r = rp_sqlerr(dst, sqlite3_errcode(dst), err, path);
		goto out;
	}
	r = copy_steps(rp, dst, bk, path, err);
	rc = sqlite3_backup_finish(bk);
	bk = NULL;
	if (r == 0 && rc != SQLITE_OK)
		r = rp_sqlerr(dst, rc, err, path);
	if (r == 0 && (rc = sqlite3_close(dst)) != SQLITE_OK)
		r = rp_sqlerr(NULL, rc, err, path);
	if (r == 0)
		dst = NULL;
out:
	if (bk != NULL)
		sqlite3_backup_finish(bk);
	sqlite3_close(dst);
	if (src != NULL)
		sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(src);
	if (r != 0 && made)
		unlink(path);
	return r;
}

/*
 * What belongs to the site copied, not to its data: the bundle log, the
 * conflict log, the peers with everything kept about them (vectors but
 * our own, settings, sync sets, maps, schema steps held for review), and
 * the mail settings (docs/decisions.md "mule clone").  The tables made on
 * first use may be missing.
 */
static const char *const site_sql[] = {
	"DELETE FROM _mule_bundles",
	"DELETE FROM _mule_conflicts",
	"DELETE FROM _mule_peers",
	"DELETE FROM _mule_peer_props",
	"DELETE FROM _mule_vectors WHERE peer <> ''",
	"DELETE FROM _mule_config WHERE substr(key, 1, 5) = 'mail.'",
};
static const char *const site_tables[] = {
	"_mule_shares", "_mule_share_cols", "_mule_set_sent", "_mule_members",
	"_mule_maps", "_mule_map_cols", "_mule_schema_review",
};

/* Forgets what belonged to the site copied (site_sql, site_tables). */
static int
reset_forget(struct replica *rp, char *err)
{
	char sql[64];
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(site_sql) / sizeof(site_sql[0]) && r == 0; i++)
		r = rp_exec(rp, site_sql[i], err);
	for (i = 0; i < sizeof(site_tables) / sizeof(site_tables[0]) &&
	    r == 0; i++) {
		if (!rp_has_table(rp, site_tables[i]))
			continue;
		/* A fixed name from the list above, never data. */
		snprintf(sql, sizeof(sql), "DELETE FROM %s", site_tables[i]);
		r = rp_exec(rp, sql, err);
	}
	return r;
}

int
replica_clone_reset(struct replica *rp, const char *name,
    const uint8_t site_id[SITE_ID_LEN], const struct ident_pub *pub,
    char *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r = MULE_EINTERNAL;

	if ((r = replica_check_name(name, err)) != 0 ||
	    (r = reset_forget(rp, err)) != 0)
		goto out;
	/* counter -1: the next scan runs whatever the file's counter says. */
	if ((r = rp_prepare(rp, "UPDATE _mule_site SET id = ?, name = ?, "
	    "key_id = ?, sign_pk = ?, box_pk = ?, counter = -1", &st,
	    err)) != 0)
		goto out;
	sqlite3_bind_blob(st, 1, site_id, SITE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, pub->key_id, IDENT_KEYID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, pub->sign_pk, IDENT_PK_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, pub->box_pk, IDENT_PK_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, rp->path);
		goto out;
	}
	/* The copied site stays an origin (its stamps); we are a new one. */
	if ((r = rp_origin_idx(rp, site_id, &rp->me, err)) != 0)
		goto out;
	memcpy(rp->site_id, site_id, SITE_ID_LEN);
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}
