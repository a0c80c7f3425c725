/*
 * transports/iso.h — ISO 9660 images (libarchive) for CD/DVD burners.
 *
 * An image holds bundles and parts as plain files at its root, with Rock
 * Ridge and Joliet names (so long names such as
 * "hq-0007.d001-of-003.mule-part" survive on every system) and ISO level 3
 * (files over 4 GiB).  Reading extracts only members with a plain, safe
 * base name and a wanted suffix, into a directory the caller chose, never
 * anywhere else.
 */
#ifndef MULE_TRANSPORTS_ISO_H
#define MULE_TRANSPORTS_ISO_H

#include <stddef.h>
#include <stdint.h>

/* Named limits on what an image may hold (checked before use). */
#define XPORT_ISO_MAX_MEMBER ((uint64_t)64 << 30)	/* bytes of a member */
#define XPORT_ISO_MAX_MEMBERS 65536	/* members extracted from one image */
#define XPORT_ISO_MAX_NAME 255		/* bytes of a member name */
#define XPORT_ISO_LABEL_MAX 32		/* volume id (ISO 9660 limit) */

/*
 * Writes an ISO 9660 image to `iso_path` through a safefile (temporary
 * name, fsync, rename; mode 0644; an existing file is replaced) holding files[0..n) at its root under
 * their base names.  `volume_label` becomes the volume id: upper-cased,
 * characters other than A-Z, 0-9 and "_" replaced by "_", cut to
 * XPORT_ISO_LABEL_MAX; NULL or "" gives "MULE".  MULE_EINVAL for n == 0,
 * a base name xport_iso_name_ok refuses, or two files with the same base
 * name; MULE_ENOSPACE when the destination is too small (checked first
 * from the file sizes, and on a failed write); MULE_EARCHIVE for a
 * libarchive failure.  libarchive spools the file contents in $TMPDIR
 * while it builds the image.
 */
int xport_iso_write(const char *iso_path, const char *const *files, size_t n,
    const char *volume_label, char *err);

/*
 * Extracts from the image at `iso_path` every regular file at its root
 * whose name ends with `suffix1` or `suffix2` (either may be NULL; the
 * name must be longer than the suffix) into `dir`, a directory the caller
 * made, each through a safefile that never replaces an existing file.
 * Members whose name xport_iso_name_ok refuses (a "/" anywhere, "..",
 * empty, a leading ".") and other members are skipped: nothing is ever
 * written outside `dir`.  A member larger than XPORT_ISO_MAX_MEMBER or
 * more than XPORT_ISO_MAX_MEMBERS wanted ones is MULE_ETOOLARGE, a name
 * that appears twice MULE_EFORMAT, an unreadable image MULE_EARCHIVE.  On
 * failure the files already extracted are removed.  On success *paths is a
 * heap array of *n heap strings ("dir/name", in the order libarchive reads
 * them; NULL when *n is 0), freed with xport_iso_paths_free.
 */
int xport_iso_extract(const char *iso_path, const char *dir,
    const char *suffix1, const char *suffix2, char ***paths, size_t *n,
    char *err);

/* Frees an array from xport_iso_extract; fine on NULL. */
void xport_iso_paths_free(char **paths, size_t n);

/*
 * 1 if `name` is a plain base name mule will create: 1 to
 * XPORT_ISO_MAX_NAME bytes, no "/", no control characters, not starting
 * with "." (so neither "." nor ".." nor hidden or temporary names); else 0.
 */
int xport_iso_name_ok(const char *name);

#endif
