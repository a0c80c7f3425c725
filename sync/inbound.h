/*
 * sync/inbound.h — one unpack run over many inputs: the bundles that
 * files, directories, ISO images, .eml files and the inbox hold
 * (transports/inbound.h gathers them), each applied with sync_unpack in
 * order; parts go to the spool, and the spooled bundles they complete are
 * rebuilt and applied after.
 *
 * Prints nothing: what happens to each input goes to an event callback,
 * in the order it happens; the totals come back in a result struct.
 */
#ifndef MULE_SYNC_INBOUND_H
#define MULE_SYNC_INBOUND_H

#include <stddef.h>

#include "sync/sync.h"
#include "transports/mailbox.h"
#include "transports/spool.h"

/* What happened to one input. */
enum sync_input_kind {
	SYNC_INPUT_APPLIED,	/* a bundle applied (or, dry, tried): res */
	SYNC_INPUT_ALREADY,	/* a named bundle applied before: path */
	SYNC_INPUT_FAILED,	/* a bundle, a part or a spooled bundle
				 * failed: code, err */
	SYNC_INPUT_WAITING,	/* a spooled bundle lacks parts: idhex, join */
	SYNC_INPUT_REBUILT,	/* a spooled bundle rebuilt from its parts
				 * (applied next): idhex, join */
	SYNC_INPUT_EXPIRED,	/* a bundle removed from the spool,
				 * incomplete after `days`: group */
};

/* One event; every pointer is valid during the callback only. */
struct sync_input_event {
	enum sync_input_kind kind;
	const char *path;	/* the file (APPLIED, ALREADY, FAILED) */
	const char *label;	/* how messages name it (APPLIED) */
	const struct sync_unpack_result *res;	/* APPLIED */
	int code;		/* FAILED: the MULE_E* code */
	const char *err;	/* FAILED: the message ("" when none) */
	const char *idhex;	/* WAITING, REBUILT: the bundle id in hex */
	const struct xport_spool_join *join;	/* WAITING, REBUILT */
	const struct xport_spool_group *group;	/* EXPIRED */
	unsigned days;		/* EXPIRED: spool.expire-days */
};

struct sync_inputs_opts {
	const struct ident_secret *me;	/* our key (must be the site's) */
	const char *db;		/* the database: scratch dirs and spool */
	char *const *operands;	/* files, directories, images, .eml files */
	size_t noperands;
	int mail;		/* also what the configured inbox holds */
	int dry;		/* apply, report and roll back each bundle */
	sync_progress_fn progress;	/* while a bundle is applied */
	void *parg;
	/* Each input's fate, in order (required). */
	void (*event)(void *arg, const struct sync_input_event *ev);
	/* Problems with single messages, and remarks (may be NULL). */
	xport_mail_note_fn note;
	void *arg;		/* for event and note */
};

struct sync_inputs_result {
	size_t found;		/* bundles and parts gathered */
	size_t applied;		/* bundles applied */
	size_t already;		/* found in a directory, applied before */
	size_t skipped;		/* found in a directory, for other sites */
	size_t skipped_parts;	/* parts of those, left where they are */
	/* The mail side (had_mail 0: no mail was read, the rest is 0). */
	int had_mail;
	int mail_code;		/* closing the inbox: 0 or a MULE_E* code */
	char mail_err[MULE_ERRLEN];
	struct xport_mail_fetch_summary mail;	/* what the fetch did */
};

/*
 * Checks o->me is the site's key, reads the spool settings, gathers the
 * inputs (sorted: each sender's bundles in sequence), removes bundles
 * that waited in the spool past spool.expire-days (unless dry), applies
 * the inputs one by one (each in its own transaction, through o->event;
 * a part goes to the spool only when its first part says it is for us
 * from a peer), then the spooled bundles the parts complete, and closes
 * the mail side (deleting what applied when mail.after-fetch says so).  Returns 0 once the inputs are gathered,
 * whatever each one's fate; else the error that stopped it (a bad key, a
 * bad spool setting, an operand that does not exist, the inbox
 * unreachable ...) with nothing applied.  *res (zero it before) is
 * filled in both cases; nothing in it needs freeing.
 */
int sync_unpack_inputs(struct replica *rp, const struct sync_inputs_opts *o,
    struct sync_inputs_result *res, char *err);

#endif
