/*
 * sync/sync.h — the protocol as library operations (docs/design.md §8): what a
 * bundle to one or more peers holds, and applying one bundle.
 *
 * sync/ sits between the command line and the subsystems it combines:
 * cli → sync → replica, bundle, transports → crypto → core.  It prints
 * nothing: each operation returns 0 or a negative MULE_E* code, fills
 * `err` (MULE_ERRLEN bytes, may be NULL) and hands back a result struct
 * the caller prints from.  One bundle is one replica transaction: on any
 * failure nothing is committed.
 */
#ifndef MULE_SYNC_SYNC_H
#define MULE_SYNC_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "bundle/bundle.h"
#include "core/error.h"
#include "core/progress.h"
#include "crypto/ident.h"
#include "replica/replica.h"
#include "replica/schema.h"
#include "transports/mailbox.h"

#define SYNC_MAX_PEERS 64	/* recipients of one bundle */

/* Progress of a long step (core/progress.h: "scanning", "packing",
 * "compressing and encrypting", "writing parts", "applying" ...). */
typedef progress_fn sync_progress_fn;

/* ---- packing ---- */

struct sync_pack_result;

struct sync_pack_opts {
	const char *const *peers;	/* recipient names, distinct */
	size_t npeers;			/* 1 to SYNC_MAX_PEERS */
	const struct ident_secret *me;	/* our key (must be the site's) */
	const char *out;	/* -o: a file, a directory, or NULL (".") */
	/*
	 * When set (with deliver), the bundle is written to this temporary
	 * file instead and handed to deliver() (parts, an ISO image, mail)
	 * inside the pack's transaction, with *res filled but for summary;
	 * deliver consumes or removes it and returns 0 or a MULE_E* code
	 * (message in err).  "sent" advances only if deliver succeeds.
	 * deliver may leave in *logged (heap) how the bundle log names where
	 * the bundle went; sync_pack moves it into res->logged.
	 */
	const char *tmp;
	int (*deliver)(void *arg, const char *tmp,
	    const struct sync_pack_result *res, char *err);
	void *darg;
	char **logged;
	int full;		/* everything, not only what peers lack */
	int resend;		/* what peers have not acknowledged, whether
				 * sent already or not (pack --resend) */
	int force;		/* -o FILE may replace an existing file */
	int encrypt;		/* 0: signed only (--no-encrypt) */
	sync_progress_fn progress;
	void *parg;
};

struct sync_pack_result {
	struct replica_site site;	/* the sender (us) */
	struct replica_peer *peers;	/* heap, npeers: the recipients */
	size_t npeers;
	char *to;		/* heap: recipient names joined by "+" */
	char *path;		/* heap: the bundle's path (its name for tmp) */
	char *summary;		/* heap: "N changes in N tables, ..." */
	char *logged;		/* heap or NULL: where the bundle went, as
				 * the bundle log says it when delivered
				 * ("x.iso: hq-lap-0003.mule"; NULL: path) */
	uint8_t bundle_id[BUNDLE_ID_LEN];
	int64_t seq;		/* our bundle number */
	uint64_t rows, tables;	/* row changes and tables they are in */
	uint64_t left;		/* rows leaving a peer's sync set */
	uint64_t size;		/* bytes of the bundle file */
	size_t nsteps;		/* schema migration steps carried */
	uint64_t notes;		/* conflicts logged here from the peer's
				 * bundles, told to it (one recipient only) */
	struct replica_schema_sync schema;	/* what the schema sync did */
	/* Reconciliation (sync/reconcile.h): whole rows and key ranges. */
	uint64_t recon_rows, recon_ranges;
};

/*
 * Packs one bundle for o->peers: records schema drift and local edits,
 * takes every change above what the peers are known to have (what they
 * acknowledged, raised by what we sent them; only what they acknowledged
 * with o->resend; all with o->full) within their sync sets, the schema steps they lack, our
 * vectors and acks; writes the bundle (o->tmp, or the path made from
 * o->out: the file itself, or DIR/SITE-PEERS-NNNN.mule), then records it
 * as sent, logs it and prunes the journal, all in one transaction.
 * Refuses a key that is not the site's (MULE_EINVAL), unknown peers
 * (MULE_ENOTFOUND), an output directory that does not exist
 * (MULE_ENOTFOUND) and an existing -o FILE unless o->force (MULE_EEXIST),
 * these before anything changes.  *res is filled on success and on failure (release it
 * with sync_pack_result_release either way; zero it before).
 */
int sync_pack(struct replica *rp, const struct sync_pack_opts *o,
    struct sync_pack_result *res, char *err);
void sync_pack_result_release(struct sync_pack_result *res);

/* ---- unpacking ---- */

struct sync_unpack_opts {
	const struct ident_secret *me;	/* our key: we must be a recipient */
	const char *path;		/* the bundle file */
	const char *label;	/* how messages and the bundle log name it
				 * (NULL: path) */
	const char *logged;	/* how the bundle log names it, when not as
				 * label (NULL: label) */
	int dry;		/* apply, report, and roll back */
	sync_progress_fn progress;
	void *parg;
};

struct sync_unpack_result {
	struct replica_peer peer;	/* the verified sender */
	struct replica_apply_stats st;	/* rows, conflicts, gap ... */
	uint64_t steps_run;	/* schema migrations applied here */
	int lost;		/* the sender lacks changes we sent it */
	uint64_t notes;		/* conflicts the sender logged where our
				 * value won (its notes, recorded here) */
	char *summary;		/* heap: "N inserted, N updated, ..." */
	/* --dry-run: each statement of the schema steps it would run. */
	struct replica_step_report steps;
	/*
	 * Content digests (sync/reconcile.h): tables compared, the names of
	 * those that differ (heap, ", "-joined, NULL when none), key ranges
	 * queued for our next bundle to the sender, and summaries ignored
	 * (a table not shared whole with the sender).
	 */
	uint64_t compared;
	char *diverged;
	uint64_t recon_ranges, recon_ignored;
	/*
	 * This site was restored from a backup (sync/recover.h): it held its
	 * own changes up to restored_own, the sender up to restored_ack, and
	 * our bundles up to number restored_seq; restamped cells of ours
	 * moved past them.
	 */
	int restored;
	uint64_t restored_own, restored_ack, restored_seq, restamped;
};

/*
 * Verifies and applies the bundle at o->path in one transaction: checks
 * it is addressed to us and signed by a trusted peer, that its manifest
 * agrees with the signed header, that it was not applied before; records
 * local schema drift and edits first; runs the schema steps (unless the
 * sender keeps a schema of its own), merges the rows, then does the
 * bookkeeping (sender's site id and schema version, bundle log, lost
 * bundles).  Returns 0; MULE_EAPPLIED when it was applied before (nothing
 * done); MULE_ENOTRECIPIENT, MULE_EUNKNOWNSENDER, MULE_EVERIFY for a
 * bundle refused before anything is read; other codes with the path in
 * the message.  *res is filled on success (zero it before; release it
 * with sync_unpack_result_release in every case).
 */
int sync_unpack(struct replica *rp, const struct sync_unpack_opts *o,
    struct sync_unpack_result *res, char *err);
void sync_unpack_result_release(struct sync_unpack_result *res);

/* ---- reconciliation ---- */

/*
 * `mule check PEER`: asks for a full comparison of every tracked table
 * with `peer`; the next bundle to it carries our digest of each, and the
 * exchange goes on by itself (sync/reconcile.h).  *ntables: how many.
 * MULE_ENOTFOUND for an unknown peer; MULE_EINVAL for a peer with a sync
 * set, a map or a schema of its own (nothing is meant to be equal).
 */
int sync_check(struct replica *rp, const char *peer, size_t *ntables,
    char *err);

/*
 * `mule recover`: marks this site restored from a backup.  Until a bundle
 * from a peer has been unpacked (which moves the site past its lost past,
 * sync/recover.h), sync_recover_check refuses (MULE_EINVAL, saying what
 * to do); pack calls it first.
 */
int sync_recover_mark(struct replica *rp, char *err);
int sync_recover_check(struct replica *rp, char *err);

/* ---- status ---- */

/* Where we stand with one peer. */
struct sync_peer_status {
	struct replica_peer peer;
	int64_t last_sent, last_recv;	/* newest bundle numbers (0: none) */
	char sent_at[32], recv_at[32];	/* when ("" when none) */
	long long applied;	/* our newest bundle it has applied (0) */
	long long lost;		/* a bundle before this one never reached it */
	uint64_t behind;	/* origins it has not acknowledged all of */
	uint64_t unacked;	/* bundles sent to it, not acknowledged yet */
	int64_t unacked_seq;	/* the oldest of them (0: none) */
	char unacked_name[64];	/* "a-hq-0007", or "bundle #7 (FILE)" when
				 * -o named the file ("" none) */
	struct replica_share *shares;	/* heap: its sync set (nshares 0:
					 * every tracked table in full) */
	size_t nshares;
	/* Changes the next 'pack --to' it would carry: recorded rows above
	 * what it acknowledged or was sent, plus the unrecorded edits. */
	uint64_t unpacked;
	int unpacked_upto;	/* it has a sync set: at most that many */
	/* Reconciliation (sync/reconcile.h): tables whose digests differed
	 * at the last comparison (heap, ", "-joined; NULL: none), and key
	 * ranges waiting for the next bundle to it. */
	char *differ;
	uint64_t recon_queued;
};

struct sync_status {
	struct replica_site site;
	struct replica_scan_stats scan;	/* unrecorded edits (a dry scan) */
	struct replica_schema_info schema;
	int wal;			/* the database is in WAL mode */
	uint64_t conflicts;		/* unresolved, logged here */
	uint64_t conflicts_at_peers;	/* logged at peers, where a value
					 * from here won (their notes) */
	struct sync_peer_status *peers;	/* heap, npeers, by name */
	size_t npeers;
};

/*
 * What `mule status` shows: the site, unrecorded edits per table (the
 * scan runs dry: nothing is written, the replica may be read-only), the
 * schema version, unresolved conflicts, and per peer the bundles sent and
 * received, what it has acknowledged and its sync set.  Fills *out
 * (zero it before; release it with sync_status_release in every case).
 */
int sync_status(struct replica *rp, struct sync_status *out,
    sync_progress_fn progress, void *parg, char *err);
void sync_status_release(struct sync_status *s);

/* ---- mail (transports/mailbox.h) ---- */

/*
 * The mail settings stored in the replica (mule config mail.*), with
 * the password file read.  Zero *ms before; release it with
 * xport_mail_settings_release in every case.  0 or a MULE_E* code.
 */
int sync_mail_settings(struct replica *rp, struct xport_mail_settings *ms,
    char *err);

/*
 * Before pack --mail / --eml DIR spends a bundle number: the settings
 * and the recipients' addresses are there and, with --mail, the server
 * can be reached and takes the login (nothing is sent).  `peers`: the
 * recipients' names.  0 or the code the delivery would fail with.
 */
int sync_mail_check(struct replica *rp, const char *const *peers, size_t n,
    const char *emldir, char *err);

/*
 * pack --mail / --eml DIR, as sync_pack's deliver step: the bundle at
 * `tmp` (the one res describes; `base` its file name without .mule)
 * goes by mail to each recipient's 'email' address, or into .eml files
 * in `emldir`, through the directory `scratch` (made and removed).
 * *nmsgs and *where (heap) as for xport_mail_pack.  The phase
 * (PROGRESS_MAIL or PROGRESS_EML, bytes of the bundle) goes to
 * `progress` when it starts and when it is done (NULL: not).
 */
int sync_mail_pack(struct replica *rp, const struct sync_pack_result *res,
    const char *tmp, const char *scratch, const char *base,
    const char *emldir, size_t *nmsgs, char **where,
    sync_progress_fn progress, void *parg, char *err);

/* ---- checks shared by unpack, verify and inspect ---- */

/*
 * Opens `path`, checks it is addressed to `me` (skipped when NULL), that
 * its signer is a trusted peer (*peer), and that the signature matches.
 * Returns 0 with a verified reader in *out (bundle_close it), or
 * MULE_EVERIFY / MULE_ENOTRECIPIENT / MULE_EUNKNOWNSENDER / other codes
 * with a message naming the file and the problem.
 */
int sync_bundle_check(struct replica *rp, const struct ident_pub *me,
    const char *path, struct bundle_reader **out, struct replica_peer *peer,
    char *err);

/*
 * Every check of a manifest against the signed outer header: the bundle
 * id and the sender site.  0 or MULE_EFORMAT.
 */
int sync_manifest_check(const struct bundle_info *info,
    const struct manifest *m, char *err);

/*
 * 1 when `peer` keeps a schema of its own ('mule peer set PEER schema
 * separate', or a 'mule map' for it): schema steps are neither sent to it
 * nor taken from it, and its data is matched by table and column names.
 */
int sync_peer_separate(struct replica *rp, const char *peer);

/*
 * What this site does with `peer`'s schema steps ('mule peer set PEER
 * schema accept|review|refuse|separate'; unset: review, and 'shared', an
 * older name, is accept).  docs/decisions.md "Who may change the schema".
 */
enum sync_schema_authority {
	SYNC_SCHEMA_REVIEW = 0,		/* wait for mule schema accept */
	SYNC_SCHEMA_ACCEPT = 1,		/* run them */
	SYNC_SCHEMA_REFUSE = 2,		/* refuse bundles that carry them */
	SYNC_SCHEMA_SEPARATE = 3,	/* a schema of its own: ignore them */
};
int sync_peer_schema(struct replica *rp, const char *peer);
/* The value names of the setting, for messages and checks (NULL: none). */
int sync_schema_authority_parse(const char *v);

/* 0 if `me` is the key of the replica's site (*site filled), else
 * MULE_EINVAL ("the key file does not belong to this database"). */
int sync_key_check(struct replica *rp, const struct ident_secret *me,
    struct replica_site *site, char *err);

#endif
