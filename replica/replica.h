/*
 * replica/replica.h — the database side of mule: a SQLite database plus
 * mule's bookkeeping in tables named _mule_* inside it (DESIGN §5), so
 * that one SQLite transaction covers data and state together.
 *
 * replica/ knows nothing of files, media or email: bundles reach it as
 * struct rowchange values (core/change.h) through replica_apply_*, and
 * leave it through replica_changes_* iterators.
 *
 * Every function returns 0 or a negative MULE_E* code and fills `err`
 * (MULE_ERRLEN bytes, may be NULL) with specifics.
 */
#ifndef MULE_REPLICA_REPLICA_H
#define MULE_REPLICA_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#include "core/change.h"
#include "crypto/ident.h"

#define REPLICA_NAME_MAX 64	/* site and peer names */
#define REPLICA_BUSY_MS 5000	/* bounded wait for a locked database */

struct replica;

/* ---- opening ---- */

/*
 * Makes `path` a replica: creates the _mule_* tables and a new site id,
 * records `name` and the public identity `pub`.  Existing data is the
 * baseline; tables are tracked later (replica_track).  Refuses a file that
 * is not a SQLite database (MULE_ENOTDB), an existing replica
 * (MULE_EEXIST) and a database it cannot write (MULE_EREADONLY), changing
 * nothing.  `site_id` is the id the caller generated the identity for.
 */
int replica_init(const char *path, const char *name,
    const uint8_t site_id[SITE_ID_LEN], const struct ident_pub *pub,
    char *err);

/*
 * Opens an existing replica (MULE_ENOTREPLICA when mule's tables are
 * missing, MULE_ENOTFOUND when the file is missing).  `readonly` opens it
 * read-only.  Free with replica_close.
 */
int replica_open(const char *path, int readonly, struct replica **out,
    char *err);
void replica_close(struct replica *rp);

/* The site: id, name, public identity, lamport counter. */
struct replica_site {
	uint8_t id[SITE_ID_LEN];
	char name[REPLICA_NAME_MAX + 1];
	struct ident_pub pub;
	uint64_t lamport;
};
int replica_site(struct replica *rp, struct replica_site *out, char *err);

/* 0 if `name` is a valid site/peer name: 1–64 of [A-Za-z0-9._-]. */
int replica_check_name(const char *name, char *err);

/* ---- peers ---- */

struct replica_peer {
	char name[REPLICA_NAME_MAX + 1];
	struct ident_pub pub;
	int has_site;			/* site id learnt from a bundle */
	uint8_t site_id[SITE_ID_LEN];
};

/*
 * Trusts a peer.  Refuses a duplicate name or key (MULE_EEXIST) and our
 * own key (MULE_EINVAL).
 */
int replica_peer_add(struct replica *rp, const char *name,
    const struct ident_pub *pub, char *err);
int replica_peer_remove(struct replica *rp, const char *name, char *err);
/* Finds a peer by name / key id: MULE_ENOTFOUND when there is none. */
int replica_peer_get(struct replica *rp, const char *name,
    struct replica_peer *out, char *err);
int replica_peer_by_keyid(struct replica *rp,
    const uint8_t key_id[IDENT_KEYID_LEN], struct replica_peer *out,
    char *err);
/* All peers sorted by name; *out is a heap array the caller frees. */
int replica_peer_list(struct replica *rp, struct replica_peer **out,
    size_t *n, char *err);
/* Per-peer properties ("email" ...); value NULL deletes. */
int replica_peer_set(struct replica *rp, const char *name, const char *key,
    const char *value, char *err);
/* *value: heap string or NULL when unset. */
int replica_peer_prop(struct replica *rp, const char *name, const char *key,
    char **value, char *err);

#endif
