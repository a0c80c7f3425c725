/*
 * cli/cmd_mail.h — the mail settings (mule config) and the mail side of
 * pack and unpack, on top of transports/mail.h.
 */
#ifndef MULE_CLI_CMD_MAIL_H
#define MULE_CLI_CMD_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "transports/mail.h"

#define MAIL_DEFAULT_MAX_SIZE ((uint64_t)10 * 1024 * 1000)	/* 10M */
#define MAIL_MIN_MAX_SIZE ((uint64_t)64 * 1024)		/* 64k */
#define MAIL_MAX_PASSWORD 4096		/* bytes of a password file */

/*
 * Checks a setting: 0, MULE_ENOTFOUND for an unknown key, MULE_EINVAL
 * for a bad value (message in err).  `value` may be rewritten into
 * *norm (heap; NULL when unchanged), e.g. a password file made absolute.
 */
int mail_config_check(const char *key, const char *value, char **norm,
    char *err);
/* The known keys, NULL-terminated, and their one-line descriptions. */
extern const char *const mail_config_keys[];
extern const char *const mail_config_help[];

/*
 * pack --mail / --eml DIR: turns the bundle at `tmp` (named `base`.mule,
 * id `idhex`) into one message per bundle or part for each peer, sends
 * them by SMTP (emldir NULL) or writes DIR/NAME.eml files.  Removes tmp.
 * *nmsgs counts the messages per peer; *where says where they went (heap).
 */
int mail_pack(struct replica *rp, const char *db, const char *tmp,
    const char *base, const char *idhex, const char *site,
    const struct replica_peer *peers, size_t npeers, const char *emldir,
    size_t *nmsgs, char **where, char *err);

/* State of one unpack --mail. */
struct mail_fetch;

/*
 * Fetches the mule messages for this site (key id `keyhex`) from the
 * configured inbox and writes their attachments into a scratch directory
 * beside the database; appends the paths to *paths (and 1s to *fromdir).
 * Problems with single messages are printed (and raise *worst); the
 * others go on.  *mf is used, or made when NULL; the caller ends it with
 * mail_fetch_finish even on failure.  Returns 0 or an exit status.
 */
int mail_fetch_run(struct cli *c, struct replica *rp, const char *keyhex,
    int dry, struct mail_fetch **mf, char ***paths, size_t *npaths,
    int **fromdir, int *worst);
/* The result of unpacking `path` (0, MULE_EAPPLIED or an error). */
void mail_fetch_result(struct mail_fetch *mf, const char *path, int r);
/* The label for a bundle fetched by mail (NULL for other paths). */
const char *mail_fetch_label(struct mail_fetch *mf, const char *path);

/* 1 if the path names an .eml file. */
int mail_is_eml(const char *path);

/*
 * Replaces each .eml file in paths[0..*npaths) by its mule attachment
 * (written to the scratch directory, *mf made when NULL); an .eml file
 * that is not a mule message for this site is reported (raising *worst)
 * and dropped from the list.  0 or an exit status.
 */
int mail_eml_expand(struct cli *c, struct replica *rp, const char *keyhex,
    struct mail_fetch **mf, char **paths, size_t *npaths, int *worst);

/* Deletes what applied (mail.after-fetch delete), reports, frees. */
int mail_fetch_finish(struct mail_fetch *mf);

#endif
