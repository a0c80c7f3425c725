/*
 * transports/dir.h — the directory transport: bundles and parts as files
 * in a directory (a USB stick, a shared folder, a scratch directory).
 */
#ifndef MULE_TRANSPORTS_DIR_H
#define MULE_TRANSPORTS_DIR_H

#include <stddef.h>

/*
 * Appends to the heap array *v of *n strings the paths (DIR/NAME) of the
 * entries of `dir` whose name `want` accepts (NULL: every entry), never
 * those starting with "."; the new ones are sorted by name, numbers
 * compared as numbers (SITE-PEER-0010 after SITE-PEER-0009).  A missing
 * directory adds nothing.  0, MULE_EIO or MULE_ENOMEM (then *v still holds
 * *n valid strings; the caller frees them with strv_free either way).
 */
int xport_dir_list(const char *dir, int (*want)(const char *name),
    char ***v, size_t *n, char *err);

/* Orders two paths by their file names as xport_dir_list does (qsort
 * comparator over char *). */
int xport_dir_cmp(const void *a, const void *b);

/* A scratch name beside the database: DB.mule-WHAT-PID (heap, the
 * caller frees it; NULL when out of memory). */
char *xport_scratch_name(const char *db, const char *what);

/*
 * Removes what crashed commands left beside the database: given one of
 * our scratch names DB.mule-WHAT-PID, the files DB.mule-{tmp,mail,iso}-N
 * and directories DB.mule-{tmp,mail,iso}-N[.d] (with the regular files in
 * them) owned by this user whose process N no longer runs
 * (file_pid_gone), and safefile temporaries ".DB.mule-*.PID.XXXXXX" of
 * such processes (file_sweep_temps).  Best effort: errors are ignored.
 */
void xport_scratch_sweep(const char *scratch);

/* Removes the files in `dir`, then `dir` itself if it is then empty. */
void xport_dir_remove(const char *dir);

#endif
