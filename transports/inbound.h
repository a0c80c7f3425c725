/*
 * transports/inbound.h — the bundle files one unpack run looks at:
 * operands (files, directories, ISO images, .eml files) and a mailbox,
 * gathered into one list in the order to apply them (each sender's
 * bundles in sequence), with the parts among them going to the spool.
 *
 * Scratch directories beside the database hold what images and mail
 * carry (DB.mule-iso-PID, DB.mule-mail-PID); xport_inbound_release
 * removes them.  Nothing here prints: problems with single messages go to
 * the note callback.
 */
#ifndef MULE_TRANSPORTS_INBOUND_H
#define MULE_TRANSPORTS_INBOUND_H

#include <stddef.h>

#include "transports/mailbox.h"
#include "transports/spool.h"

struct xport_inbound {
	/* Set by the caller before the first add. */
	const char *db;		/* the database: scratch dirs and spool */
	const char *keyhex;	/* our key id (hex), to select mail */
	int dry;		/* nothing will be deleted from the inbox */
	/* Loads the mail settings, on first need (an .eml file, --mail). */
	int (*settings)(void *arg, struct xport_mail_settings *ms, char *err);
	void *sarg;
	xport_mail_note_fn note;	/* problems with single messages */
	void *narg;
	/* What the spool takes (xport_spool_opts_init, then the settings). */
	struct xport_spool_opts spool;
	/* The list (heap): paths to apply, each found in a directory or
	 * image (fromdir 1) or named (0); after xport_inbound_sort, in the
	 * order to apply them. */
	char **paths;
	int *fromdir;
	size_t n;
	/* Bundle ids (hex) whose parts went to the spool in this run. */
	char **groups;
	size_t ngroups;
	/* Internal. */
	char *isodir;
	char **isopaths, **isolabels;	/* "IMAGE: NAME" of each extracted */
	size_t niso;
	struct xport_mail_fetch *mf;
	struct xport_mail_settings ms;
	int have_ms;
};

/*
 * Adds what one operand names: a file; the bundles, parts and .eml files
 * of a directory; the bundles and parts of an ISO image.  .eml files are
 * replaced by their mule attachments (those that are not for us go to
 * note() and are dropped).  0 or a MULE_E* code (MULE_ENOTFOUND: no such
 * file or directory).
 */
int xport_inbound_add(struct xport_inbound *in, const char *operand,
    char *err);

/* Adds the mule attachments for us from the configured inbox. */
int xport_inbound_mail(struct xport_inbound *in, char *err);

/* Sorts the list in the order to apply it, across directories; the
 * first data parts go first, so that the spool knows, before the other
 * parts come, whether their bundles may wait in it. */
void xport_inbound_sort(struct xport_inbound *in);

/* 1 if paths[i] is a part (it goes to the spool, not to unpack). */
int xport_inbound_is_part(const struct xport_inbound *in, size_t i);

/* Copies part paths[i] into the spool (xport_spool_add, with `spool`)
 * and remembers its bundle id in groups; a bundle refused by its first
 * part leaves groups.  0 or a MULE_E* code. */
int xport_inbound_spool(struct xport_inbound *in, size_t i, char *err);

/* How paths[i] is named in messages and the bundle log. */
const char *xport_inbound_label(const struct xport_inbound *in, size_t i);

/* The result of applying paths[i] (0, MULE_EAPPLIED or an error): mail
 * that applied may be deleted from the inbox. */
void xport_inbound_result(struct xport_inbound *in, size_t i, int r);

/*
 * Ends the mail side, if any: deletes what applied (mail.after-fetch
 * delete) and closes the inbox; *sum says what the fetch did (sum->inbox
 * 0 when no inbox was read).  0 or the error closing the inbox.
 */
int xport_inbound_finish(struct xport_inbound *in,
    struct xport_mail_fetch_summary *sum, char *err);

/* Frees the lists, removes the scratch directories; fine after a failed
 * add.  The caller's fields (db, keyhex ...) are left alone. */
void xport_inbound_release(struct xport_inbound *in);

#endif
