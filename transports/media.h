/*
 * transports/media.h — removable media for pack and unpack: a bundle
 * split into parts with parity (bundle/parts.h, the part file format),
 * ISO 9660 images (transports/iso.h).  The parts that arrive wait in the
 * spool (transports/spool.h).
 */
#ifndef MULE_TRANSPORTS_MEDIA_H
#define MULE_TRANSPORTS_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "bundle/parts.h"
#include "core/progress.h"

/*
 * Turns the complete bundle at `tmp` into what the user asked for and
 * removes `tmp`: with `volume` > 0, parts of at most `volume` bytes plus
 * `parity` parity parts named BASE.dNNN-of-MMM.mule-part in `outdir`;
 * with `iso`, an ISO 9660 image holding the bundle (BASE.mule) or its
 * parts.  *nfiles is the number of parts written (1 for a whole bundle);
 * *bytes (when not NULL) their size in all, data and parity parts with
 * their headers.  Progress goes to `fn` (core/progress.h: PROGRESS_PARTS,
 * PROGRESS_IMAGE; NULL: none).  0 or a MULE_E* code (message in err).
 */
int xport_media_pack(const char *tmp, const char *outdir, const char *base,
    uint64_t volume, uint32_t parity, const char *iso, size_t *nfiles,
    uint64_t *bytes, progress_fn fn, void *parg, char *err);

/*
 * The bundle's name a part file carries ("hq-lap-0003" for
 * DIR/hq-lap-0003.d001-of-003.mule-part): a heap string, or NULL when
 * the name does not have that form or memory is out.  Only a hint for
 * messages: the part's header is what counts.
 */
char *xport_media_part_base(const char *path);

/* 1 if the file starts like a part / an ISO 9660 image, else 0. */
int xport_media_is_part(const char *path);
int xport_media_is_iso(const char *path);

/*
 * The names of the parts present (state PART_GOOD) or not (any other
 * state) as people read them: "d001 d003 p002".  Heap string (NULL when
 * out of memory); the caller frees it.
 */
char *xport_media_parts_list(const struct parts_status *st, int state);

/*
 * Parses a media or message size: digits, an optional fraction and a
 * unit k (1024 bytes), M (1000 k) or G (1000 M), so that 1440k and 1.44M
 * are a floppy, 650M a CD and 4G fits a FAT32 file.  0 or -1.
 */
int xport_size_parse(const char *s, uint64_t *out);

#endif
