/*
 * transports/mailbox.h — the mail side of pack and unpack, on top of
 * transports/mail.h: the mail settings and their checks, a bundle turned
 * into messages (sent by SMTP or written as .eml files), and the mule
 * attachments fetched from an inbox or read from .eml files into a
 * scratch directory.
 *
 * Like the rest of transports/, this knows nothing of replicas: the
 * settings arrive as plain values (sync/ reads them from the replica),
 * and it prints nothing: problems with single messages go to a note
 * callback, the caller shows them.
 */
#ifndef MULE_TRANSPORTS_MAILBOX_H
#define MULE_TRANSPORTS_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include "transports/mail.h"

#define XPORT_MAIL_DEFAULT_MAX_SIZE ((uint64_t)10 * 1024 * 1000) /* 10M */
#define XPORT_MAIL_MIN_MAX_SIZE ((uint64_t)64 * 1024)		/* 64k */
#define XPORT_MAIL_MAX_PASSWORD 4096	/* bytes of a password file */

/* ---- settings ---- */

/*
 * Checks a setting: 0, MULE_ENOTFOUND for an unknown key, MULE_EINVAL
 * for a bad value (message in err).  `value` may be rewritten into
 * *norm (heap, the caller frees it; NULL when unchanged), e.g. a password
 * file made absolute.
 */
int xport_mail_config_check(const char *key, const char *value, char **norm,
    char *err);

/* The settings as stored (heap strings or NULL when unset), and what is
 * derived from them by xport_mail_settings_finish. */
struct xport_mail_settings {
	char *smtp, *starttls, *from, *user, *pwfile, *inbox, *maxsize;
	char *after, *cafile;
	char *cleartext;	/* mail.allow-cleartext-password */
	char *password;		/* read from pwfile (wiped on release) */
	uint64_t max_size;	/* from maxsize, or the default */
};

/*
 * Parses max-size and reads the password file (refusing one others can
 * read or write: MULE_EKEYPERM).  0 or a MULE_E* code.
 */
int xport_mail_settings_finish(struct xport_mail_settings *ms, char *err);
void xport_mail_settings_release(struct xport_mail_settings *ms);

/* ---- pack --mail / --eml DIR ---- */

/* One recipient: its peer name, address (NULL: none set), key id. */
struct xport_mail_rcpt {
	const char *name;
	const char *addr;
	const uint8_t *key_id;	/* IDENT_KEYID_LEN bytes */
};

/*
 * What xport_mail_pack will need, checked before a bundle is made (its
 * number would be spent): a sender address, every recipient's address,
 * and with SMTP (emldir NULL) a server that can be reached and takes the
 * login (over TLS unless allowed otherwise; see xport_mail_send).
 * Nothing is sent.  0 or the code xport_mail_pack would fail with.
 */
int xport_mail_pack_check(const struct xport_mail_settings *ms,
    const struct xport_mail_rcpt *to, size_t nto, const char *emldir,
    char *err);

/*
 * Turns the bundle at `tmp` (named `base`.mule, id `idhex`, from `site`)
 * into one message per bundle or part (parts when the bundle does not fit
 * in mail.max-size) for each recipient; sends them by SMTP (emldir NULL)
 * or writes EMLDIR/NAME.eml files.  `scratch` is a directory to make and
 * remove for the parts.  Removes tmp.  *nmsgs counts the messages per
 * recipient; *where (heap, the caller frees it) says where they went.
 */
int xport_mail_pack(const struct xport_mail_settings *ms, const char *tmp,
    const char *scratch, const char *base, const char *idhex,
    const char *site, const struct xport_mail_rcpt *to, size_t nto,
    const char *emldir, size_t *nmsgs, char **where, char *err);

/* ---- unpack --mail, and .eml files ---- */

/*
 * A problem with one message, or a remark (code 0: information; else the
 * MULE_E* code of the problem); `msg` is valid during the call only.
 */
typedef void (*xport_mail_note_fn)(void *arg, int code, const char *msg);

/* The attachments fetched in one run, in a scratch directory. */
struct xport_mail_fetch;

/* What a fetch did, for the caller to report. */
struct xport_mail_fetch_summary {
	int inbox;		/* an inbox was read (else only .eml files) */
	int del;		/* applied messages were to be deleted */
	size_t nmule, nother, nbad, ndeleted;
	char where[XPORT_MAIL_MAX_URL];	/* the inbox URL */
};

/* 1 if the path names an .eml file. */
int xport_mail_is_eml(const char *path);

/*
 * A new fetch whose attachments go into the directory `scratch` (made
 * when the first one is saved).  Free with xport_mail_fetch_finish or
 * xport_mail_fetch_free.  0 or MULE_ENOMEM.
 */
int xport_mail_fetch_new(const char *scratch, struct xport_mail_fetch **out,
    char *err);

/*
 * Fetches the mule messages for the key id `keyhex` from ms->inbox and
 * saves their attachments; appends their paths to the heap array
 * *paths (*npaths).  Messages for other sites and other mail are left
 * alone; an unreadable message goes to note() and is left in the
 * mailbox.  With `dry` (or mail.after-fetch other than delete) nothing
 * will be deleted.  0, or the error that stopped the fetch (no inbox set,
 * the server unreachable ...).
 */
int xport_mail_fetch_inbox(struct xport_mail_fetch *mf,
    const struct xport_mail_settings *ms, const char *keyhex, int dry,
    char ***paths, size_t *npaths, xport_mail_note_fn note, void *narg,
    char *err);

/*
 * Replaces each .eml file in paths[0..*npaths) by its mule attachment;
 * an .eml file that is not a mule message for this site goes to note()
 * and is dropped from the list.  0, or an error that stopped it (the
 * list then still holds every path).
 */
int xport_mail_fetch_eml(struct xport_mail_fetch *mf,
    const struct xport_mail_settings *ms, const char *keyhex, char **paths,
    size_t *npaths, xport_mail_note_fn note, void *narg, char *err);

/* The result of unpacking `path` (0, MULE_EAPPLIED or an error). */
void xport_mail_fetch_result(struct xport_mail_fetch *mf, const char *path,
    int r);
/* The label for a fetched attachment (NULL for other paths). */
const char *xport_mail_fetch_label(const struct xport_mail_fetch *mf,
    const char *path);

/*
 * Deletes what applied (when asked to), closes the inbox, removes the
 * scratch files and frees mf; *sum says what happened.  0 or the error
 * closing the inbox; *sum is filled either way.  Fine on NULL.
 */
int xport_mail_fetch_finish(struct xport_mail_fetch *mf,
    struct xport_mail_fetch_summary *sum, char *err);
/* Frees without deleting anything; fine on NULL. */
void xport_mail_fetch_free(struct xport_mail_fetch *mf);

#endif
