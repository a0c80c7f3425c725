/*
 * transports/spool.h — where parts wait until their bundle can be
 * rebuilt: the directory DB.mule-spool beside the database, one
 * subdirectory per bundle id (hex) holding the parts received so far,
 * from any number of media and runs.
 */
#ifndef MULE_TRANSPORTS_SPOOL_H
#define MULE_TRANSPORTS_SPOOL_H

#include <stddef.h>

/* Heap path of the spool (DB.mule-spool), or of one bundle's group in it
 * (idhex not NULL); NULL when out of memory.  The caller frees it. */
char *xport_spool_dir(const char *db, const char *idhex);

/*
 * Copies the part at `path` into the spool (unless an identical copy is
 * there); idhex[33] receives its bundle id in hex.  0 or a MULE_E* code.
 */
int xport_spool_add(const char *db, const char *path, char idhex[33],
    char *err);

/* The part files of one spooled bundle: a heap array of *n heap paths
 * (strv_free).  0 or a MULE_E* code. */
int xport_spool_parts(const char *db, const char *idhex, char ***paths,
    size_t *n, char *err);

/* The bundle ids (hex) waiting in the spool: a heap array of *n heap
 * strings (strv_free).  0 or a MULE_E* code. */
int xport_spool_groups(const char *db, char ***ids, size_t *n, char *err);

/* One bundle waiting in the spool, as `mule status` shows it. */
struct xport_spool_group {
	char *id;		/* bundle id, hex */
	char *have, *missing;	/* part names: "d001 d003 p002" */
	unsigned nneeded;	/* parts still needed to rebuild it */
};

/*
 * The bundles waiting in the spool (groups whose parts cannot be read
 * are left out): a heap array of *n groups, freed with
 * xport_spool_status_free.  0 or MULE_ENOMEM.
 */
int xport_spool_status(const char *db, struct xport_spool_group **out,
    size_t *n, char *err);
void xport_spool_status_free(struct xport_spool_group *v, size_t n);

/* One spooled bundle, rebuilt or still waiting. */
struct xport_spool_join {
	char *path;		/* heap: the rebuilt bundle, or NULL */
	char *have, *missing;	/* heap, while waiting: part names */
	unsigned ngood;		/* good parts found */
	unsigned ndata, nparity;	/* parts the bundle was split into */
	unsigned nneeded;	/* more parts needed (0: rebuilt) */
};

/*
 * Rebuilds the bundle `idhex` from its spooled parts when enough of them
 * are here (j->path, inside the group's directory: the caller unlinks it
 * after use); otherwise says what is there and what is missing.  0 or a
 * MULE_E* code.  Release *j with xport_spool_join_release either way.
 */
int xport_spool_join(const char *db, const char *idhex,
    struct xport_spool_join *j, char *err);
void xport_spool_join_release(struct xport_spool_join *j);

/* Removes one bundle's group from the spool (and the spool once empty). */
void xport_spool_remove(const char *db, const char *idhex);

#endif
