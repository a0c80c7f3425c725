/*
 * transports/spool.h — where parts wait until their bundle can be
 * rebuilt: the directory DB.mule-spool beside the database, one
 * subdirectory per bundle id (hex) holding the parts received so far,
 * from any number of media and runs.
 */
#ifndef MULE_TRANSPORTS_SPOOL_H
#define MULE_TRANSPORTS_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bundle/bundle.h"

/*
 * What the spool takes in.  A part is refused before anything is written
 * when its bundle could never fit in spool.max-size, when the spool would
 * grow past it, when the disk would keep less than XPORT_SPOOL_KEEP_FREE
 * bytes free, or when XPORT_SPOOL_MAX_COPIES different copies of it are
 * there already.  Data part 1 carries the bundle's outer header: `check`
 * decides from it whether the bundle may wait here at all; when it may
 * not, the group's parts are removed and a marker (XPORT_SPOOL_MARK, the
 * part's header, the reason) makes the spool refuse the bundle's other
 * parts until a first part that passes arrives or the marker expires.
 */
#define XPORT_SPOOL_DEFAULT_MAX "1G"	/* sizes: xport_size_parse */
#define XPORT_SPOOL_DEFAULT_DAYS 30
#define XPORT_SPOOL_MAX_DAYS 3650
#define XPORT_SPOOL_KEEP_FREE ((uint64_t)32 << 20)
#define XPORT_SPOOL_MAX_COPIES 2
#define XPORT_SPOOL_MARK ".refused"

struct xport_spool_opts {
	uint64_t max_size;	/* bytes of all parts together */
	char max_text[32];	/* max_size as the setting says it */
	unsigned expire_days;	/* incomplete bundles older go */
	/*
	 * Whether the bundle whose outer header is `bi` (as its data part 1
	 * says) may wait in the spool: 0, or a MULE_E* code with the reason
	 * in `reason` ("not addressed to this site").  NULL: every one may.
	 */
	int (*check)(void *arg, const struct bundle_info *bi, char *reason);
	void *arg;
};

/* The defaults: XPORT_SPOOL_DEFAULT_MAX, _DAYS, no check. */
void xport_spool_opts_init(struct xport_spool_opts *o);

/*
 * Checks a spool setting (spool.max-size: a size from 1M to 1000G;
 * spool.expire-days: 1 to XPORT_SPOOL_MAX_DAYS).  0, MULE_ENOTFOUND for
 * another key, MULE_EINVAL with a message for a bad value.
 */
int xport_spool_config_check(const char *key, const char *value, char *err);

/*
 * Fills o's limits from the stored settings (NULL: unset, the default).
 * 0 or MULE_EINVAL for a value config would have refused.
 */
int xport_spool_settings(struct xport_spool_opts *o, const char *max_size,
    const char *expire_days, char *err);

/* Heap path of the spool (DB.mule-spool), or of one bundle's group in it
 * (idhex not NULL); NULL when out of memory.  The caller frees it. */
char *xport_spool_dir(const char *db, const char *idhex);

/*
 * Copies the part at `path` into the spool (unless an identical copy is
 * there), after the checks above; `label` names it in messages.
 * idhex[33] receives its bundle id in hex.  0, or a MULE_E* code: the
 * part's own (parts_read_header), MULE_ETOOLARGE (the bundle could never
 * fit), MULE_ENOSPACE (spool.max-size or the disk), MULE_EEXIST (copies),
 * or the check's code (MULE_ENOTRECIPIENT, MULE_EUNKNOWNSENDER ...).
 */
int xport_spool_add(const char *db, const char *path, const char *label,
    const struct xport_spool_opts *o, char idhex[33], char *err);

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
	unsigned ndata;		/* data parts of the bundle */
	time_t since;		/* when its first part came */
};

/*
 * The bundles waiting in the spool (groups whose parts cannot be read
 * are left out): a heap array of *n groups, freed with
 * xport_spool_status_free.  0 or MULE_ENOMEM.
 */
int xport_spool_status(const char *db, struct xport_spool_group **out,
    size_t *n, char *err);
void xport_spool_status_free(struct xport_spool_group *v, size_t n);

/*
 * Removes the bundles whose first part came `days` days or more before
 * `now` (and the markers of refused ones as old).  *gone: a heap array of
 * *n groups removed that had parts (as xport_spool_status says them),
 * freed with xport_spool_status_free.  0 or MULE_ENOMEM.
 */
int xport_spool_expire(const char *db, unsigned days, time_t now,
    struct xport_spool_group **gone, size_t *n, char *err);

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
