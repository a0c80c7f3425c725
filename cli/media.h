/*
 * cli/media.h — removable media for pack and unpack: bundles split into
 * parts with parity (bundle/parts.h), ISO images (transports/iso.h), and
 * the spool where parts wait until their bundle can be rebuilt.
 *
 * The spool is the directory DB.mule-spool beside the database: one
 * subdirectory per bundle id (hex) holding the parts received so far.
 */
#ifndef MULE_CLI_MEDIA_H
#define MULE_CLI_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "bundle/parts.h"

/* Heap path of the spool (DB.mule-spool), or of one bundle's group in it. */
char *spool_dir(const char *db, const char *idhex);

/*
 * Turns the complete bundle at `tmp` into what the user asked for and
 * removes `tmp`: with `volume` > 0, parts of at most `volume` bytes plus
 * `parity` parity parts named BASE.dNNN-of-MMM.mule-part in `outdir`;
 * with `iso`, an ISO 9660 image holding the bundle (BASE.mule) or its
 * parts.  *nfiles is the number of parts written (1 for a whole bundle).
 */
int media_pack(const char *tmp, const char *outdir, const char *base,
    uint64_t volume, uint32_t parity, const char *iso, size_t *nfiles,
    char *err);

/* 1 if the file starts like a part / an ISO 9660 image. */
int media_is_part(const char *path);
int media_is_iso(const char *path);

/*
 * Copies the part at `path` into the spool (unless an identical copy is
 * there); idhex[33] receives its bundle id in hex.
 */
int spool_add(const char *db, const char *path, char idhex[33], char *err);

/* The part files of one spooled bundle (heap array; parts_paths_free). */
int spool_parts(const char *db, const char *idhex, char ***paths, size_t *n,
    char *err);

/* Removes one bundle's group from the spool. */
void spool_remove(const char *db, const char *idhex);

/* The bundle ids (hex, heap strings) waiting in the spool. */
int spool_groups(const char *db, char ***ids, size_t *n, char *err);

/* Human list of part names present/missing ("d001 d003 p002"). */
char *parts_list(const struct parts_status *st, int state);

#endif
