/*
 * replica/internal.h — private to replica/: the open handle and helpers
 * shared by its files.  Not part of the public API.
 */
#ifndef MULE_REPLICA_INTERNAL_H
#define MULE_REPLICA_INTERNAL_H

#include <sqlite3.h>

#include "replica/replica.h"

#define STATE_FORMAT 1	/* _mule_site.format: layout of the state tables */

struct replica {
	sqlite3 *db;
	char *path;
	int readonly;
	uint8_t site_id[SITE_ID_LEN];
	int64_t me;		/* our index in _mule_origins */
};

/* Maps a SQLite result code to MULE_E* and fills err with the db message. */
int rp_dberr(struct replica *rp, int rc, char *err, const char *what);
int rp_sqlerr(sqlite3 *db, int rc, char *err, const char *what);
/* Prepares `sql` (MULE_EDB with the message on failure). */
int rp_prepare(struct replica *rp, const char *sql, sqlite3_stmt **st,
    char *err);
/* Runs SQL without results (no data is ever formatted into it). */
int rp_exec(struct replica *rp, const char *sql, char *err);
/* BEGIN IMMEDIATE (bounded busy wait), COMMIT, ROLLBACK. */
int rp_begin(struct replica *rp, char *err);
int rp_commit(struct replica *rp, char *err);
void rp_rollback(struct replica *rp);
/* Index of `site` in _mule_origins, adding it when new. */
int rp_origin_idx(struct replica *rp, const uint8_t site[SITE_ID_LEN],
    int64_t *idx, char *err);
/* Site id of an origin index. */
int rp_origin_site(struct replica *rp, int64_t idx, uint8_t site[SITE_ID_LEN],
    char *err);
/* Reads / writes the lamport counter inside the current transaction. */
int rp_lamport_get(struct replica *rp, uint64_t *l, char *err);
int rp_lamport_set(struct replica *rp, uint64_t l, char *err);

#endif
