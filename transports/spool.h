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

/* Removes one bundle's group from the spool (and the spool once empty). */
void xport_spool_remove(const char *db, const char *idhex);

#endif
